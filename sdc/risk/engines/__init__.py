"""Counting engines: key frequencies and grouped sums where the data are.

``get_engine("pandas")`` (default, in memory), ``get_engine("duckdb")`` (embedded,
out-of-core, reads CSV/Parquet directly) and ``get_engine("spark", master=...)`` (a Spark
cluster, or local mode) give identical numbers; see :mod:`sdc.risk.engines.base` for the
interface and how results stay inside the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sdc.risk.engines.base import (
    CountingEngine,
    DataSource,
    EngineName,
    FrequencyResult,
    FrequencySummary,
    RiskFunction,
)
from sdc.risk.engines.pandas_engine import PandasEngine

if TYPE_CHECKING:
    from sdc.risk.engines.duckdb_engine import DuckDBEngine, csv_to_parquet

__all__ = [
    "CountingEngine",
    "DataSource",
    "DuckDBEngine",
    "EngineName",
    "FrequencyResult",
    "FrequencySummary",
    "PandasEngine",
    "RiskFunction",
    "csv_to_parquet",
    "get_engine",
]

ENGINES: tuple[EngineName, ...] = ("pandas", "duckdb", "spark")


def __getattr__(name: str) -> Any:
    """DuckDB loads only when its engine is used (it costs the CLI's start 50 ms)."""
    if name in ("DuckDBEngine", "csv_to_parquet"):
        from sdc.risk.engines import duckdb_engine

        return getattr(duckdb_engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_engine(name: EngineName = "pandas", **options: Any) -> CountingEngine:
    """Return the counting engine called ``name``, configured by ``options``.

    Args:
        name: ``"pandas"`` (no options), ``"duckdb"`` (``memory_limit``,
            ``temp_directory``, ``threads``) or ``"spark"`` (``master``, default
            ``"local[2]"``; ``app_name``; ``config``: extra Spark settings).
        **options: passed to the engine's constructor.

    Raises:
        ValueError: an unknown engine name or option.
        DataError: the Spark engine is asked for but pyspark or Java is missing.
    """
    if name == "pandas":
        if options:
            raise ValueError(f"the pandas engine takes no options, got {sorted(options)}")
        return PandasEngine()
    if name == "duckdb":
        from sdc.risk.engines.duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from sdc.risk.engines.spark_engine import SparkEngine

        return SparkEngine(**options)
    raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
