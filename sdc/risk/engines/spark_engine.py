"""Spark engine: the same counting plan on a Spark cluster (or local mode).

The plan is the DuckDB engine's (see :mod:`sdc.risk.engines.duckdb_engine`), written with
the DataFrame API: distinct cells with their missing pattern, under the wildcard rule the
cells matched across patterns on the driver (the in-memory code), summary figures and
distinct ``(f_k, F_k)`` pairs as aggregates over the cells; per-record results only on
request, either collected (small data) or written by the executors as a Parquet folder
(``out_path``), sorted by row.

Record order: Parquet gives ``_metadata.row_index`` per file; a CSV file gives its split
offset and, within a split, Spark's monotonically increasing id, which follows the read
order. Either way the row number is exact and computed without a single-partition sort.

``pyspark`` is an optional dependency (``pip install 'sdc[spark]'``) and needs Java 17.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sdc.errors import DataError
from sdc.risk.engines.base import (
    DataSource,
    DiversitySummary,
    FrequencyResult,
    LMeasure,
    RiskFunction,
    check_columns,
    check_diversity_request,
    check_grouped_request,
    check_request,
    check_rows,
    diversity_sql,
    diversity_summary,
    engine_error,
    evaluate_pairs,
    grouped_columns,
    grouped_dtypes,
    source_kind,
    source_name,
    summary_from,
    wildcard_cells,
)
from sdc.risk.frequencies import MissingRule

if TYPE_CHECKING:
    from pyspark.sql import Column, SparkSession
    from pyspark.sql import DataFrame as SparkFrame

#: Text that stands for a missing value in CSV files, as :data:`sdc.io.MISSING_MARKERS`.
_CSV_MISSING = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "."]
_ROW = "__sdc_row"


def spark_unavailable() -> str | None:
    """Why the Spark engine cannot run here (pyspark or Java missing), or None."""
    if importlib.util.find_spec("pyspark") is None:
        return "pyspark is not installed; install it with: pip install 'sdc[spark]'"
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        return "Java is not installed; Spark needs Java 17 (set JAVA_HOME or put java on PATH)"
    return None


def _is_uri(source: object) -> bool:
    return isinstance(source, str) and "://" in source


def _display_name(source: DataSource) -> str:
    return str(source).rsplit("/", 1)[-1] if _is_uri(source) else source_name(source)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _spark_errors() -> tuple[type[BaseException], ...]:
    """The exceptions Spark raises for data it cannot read or process."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    return (PySparkException, Py4JJavaError)


_NUMBER_TYPES = frozenset(
    ("boolean", "tinyint", "smallint", "int", "bigint", "float", "double", "decimal", "string")
)


def _as_double(col: str, dtype: str) -> Any:
    """A weight column as double; null where it is not a number (never an ANSI error).

    Types Spark cannot cast to a number (dates...) go through their text, giving null.
    """
    from pyspark.sql import functions as F

    column = F.col(col)
    if dtype.split("(")[0] not in _NUMBER_TYPES:
        column = column.cast("string")
    return column.try_cast("double")


def _check_rows(src: SparkFrame, weight: str | None, name: str, file: bool) -> None:
    """Count the records and the unusable weights in one job; refuse either problem."""
    from pyspark.sql import functions as F

    w = F.col("__w")
    bad = w.isNull() | F.isnan(w) | (F.abs(w) == float("inf")) | (w <= 0)
    row = src.agg(
        F.count(F.lit(1)), F.coalesce(F.sum(F.when(bad, 1).otherwise(0)), F.lit(0))
    ).collect()[0]
    check_rows(int(row[0]), int(row[1]), weight, name, file)


class SparkEngine:
    """Counting engine on Apache Spark.

    Args:
        master: the Spark master URL: ``local[2]`` (default: local mode with two cores),
            ``spark://host:7077``, ``yarn``, ``k8s://...``. An already running Spark session
            is reused as it is.
        app_name: the application name shown in the Spark UI.
        config: extra Spark settings, e.g. ``{"spark.executor.memory": "8g"}``.

    Raises:
        DataError: pyspark or Java is missing.
    """

    name = "spark"

    def __init__(
        self,
        *,
        master: str = "local[2]",
        app_name: str = "sdc",
        config: dict[str, str] | None = None,
    ) -> None:
        why = spark_unavailable()
        if why is not None:
            raise DataError(f"the spark engine cannot start: {why}")
        self.master = master
        self.app_name = app_name
        self.config = dict(config or {})
        self._session: SparkSession | None = None

    @property
    def spark(self) -> SparkSession:
        """The Spark session, started on first use."""
        if self._session is None:
            from pyspark.sql import SparkSession

            builder = SparkSession.builder.master(self.master).appName(self.app_name)
            for key, value in self.config.items():
                builder = builder.config(key, value)
            self._session = builder.getOrCreate()
            for key, value in self.config.items():
                if key.startswith("spark.sql."):
                    self._session.conf.set(key, value)
        return self._session

    def _start(self) -> None:
        """Start the session now, so a failure says so rather than blaming the data."""
        try:
            _ = self.spark
        except _spark_errors() as exc:
            raise DataError(f"the spark engine cannot start ({_first_line(exc)})") from exc

    # -- reading --------------------------------------------------------------------------

    def _source(
        self, source: DataSource, wanted: Sequence[str | None]
    ) -> tuple[SparkFrame, dict[str, tuple[str, str]]]:
        """A Spark DataFrame with ``__sdc_row`` and the wanted columns (SQL name, type)."""
        from pyspark.sql import functions as F

        need = list(dict.fromkeys(c for c in wanted if c is not None))
        name = _display_name(source)
        if isinstance(source, pd.DataFrame):
            check_columns([str(c) for c in source.columns], need, name)
            arrays = [_arrow_column(source[c]) for c in need]
            arrays.append(pa.array(np.arange(len(source), dtype=np.int64)))
            names = [f"c{i}" for i in range(len(need))] + [_ROW]
            frame = self.spark.createDataFrame(pa.table(arrays, names=names))
            sql_names = {c: f"c{i}" for i, c in enumerate(need)}
        else:
            kind = _uri_kind(str(source)) if _is_uri(source) else source_kind(source)
            path = str(source)
            if kind == "csv":
                frame, sql_names = self._read_csv(path, need, name)
            else:
                raw = self.spark.read.parquet(path)
                check_columns(raw.columns, need, name)
                meta = raw.select(
                    *[F.col(f"`{c}`") for c in need],
                    F.col("_metadata.file_path").alias("__seg"),
                    F.col("_metadata.row_index").alias("__pos"),
                )
                frame = _number_rows(meta)
                sql_names = {c: c for c in need}
        types = dict(frame.dtypes)
        return frame, {c: (sql_names[c], types[sql_names[c]]) for c in need}

    def _read_csv(self, path: str, need: list[str], name: str) -> tuple[SparkFrame, dict[str, str]]:
        """Read a CSV file as :func:`sdc.io.read_table` would: markers, spaces, numbers."""
        from pyspark.sql import functions as F

        delimiter = ","
        if not _is_uri(path):
            from sdc.io import sniff_delimiter

            with open(path, "rb") as handle:
                delimiter = sniff_delimiter(handle.read(65536).decode("utf-8", errors="replace"))
        raw = self.spark.read.options(header=True, inferSchema=False, sep=delimiter).csv(path)
        stripped = {c.strip(): c for c in raw.columns}
        check_columns(list(stripped), need, name)
        cleaned = []
        for i, col in enumerate(need):
            text = F.ltrim(F.col(f"`{stripped[col]}`"))
            cleaned.append(F.when(text.isin(_CSV_MISSING), None).otherwise(text).alias(f"c{i}"))
        frame = raw.select(
            *cleaned,
            F.col("_metadata.file_path").alias("__seg"),
            F.col("_metadata.file_block_start").alias("__block"),
            F.monotonically_increasing_id().alias("__mono"),
        )
        # Numbers as pandas reads them: a column is numeric when every value parses.
        checks = []
        for i in range(len(need)):
            c = F.col(f"c{i}")
            checks.append(F.count(c).alias(f"t{i}"))
            checks.append(F.count(F.expr(f"try_cast(c{i} AS DOUBLE)")).alias(f"d{i}"))
        counts = frame.agg(*checks).collect()[0] if need else None
        numeric = [i for i in range(len(need)) if counts and counts[f"t{i}"] == counts[f"d{i}"]]
        for i in numeric:
            frame = frame.withColumn(f"c{i}", F.expr(f"try_cast(c{i} AS DOUBLE)"))
        # Row numbers: (file, split) segments in order; within a split, the read order.
        seg = F.concat_ws("#", F.col("__seg"), F.lpad(F.col("__block").cast("string"), 20, "0"))
        frame = frame.withColumn("__seg", seg)
        first = frame.groupBy("__seg").agg(F.min("__mono").alias("__first"))
        frame = frame.join(F.broadcast(first), "__seg").withColumn(
            "__pos", F.col("__mono") - F.col("__first")
        )
        frame = _number_rows(frame.drop("__block", "__mono", "__first"))
        return frame, {c: f"c{i}" for i, c in enumerate(need)}

    # -- key frequencies ------------------------------------------------------------------

    def key_frequencies(
        self,
        source: DataSource,
        quasi: Sequence[str],
        weight: str | None = None,
        missing: MissingRule = "wildcard",
        *,
        k: int | None = None,
        risk: RiskFunction | None = None,
        household: str | None = None,
        out_path: str | os.PathLike[str] | None = None,
        per_record: bool = True,
    ) -> FrequencyResult:
        """Count every record's key in Spark; see :class:`~sdc.risk.engines.CountingEngine`.

        With ``out_path`` the per-record results are written by the executors as a Parquet
        folder (part files in row order; ``pandas.read_parquet`` reads it back in order).
        """
        quasi = list(quasi)
        check_request(quasi, missing, k, risk, household)
        if out_path is not None and not _is_uri(out_path) and Path(out_path).exists():
            raise DataError(f"{out_path}: already exists; choose a new name for the results")
        self._start()
        try:
            return self._key_frequencies(
                source, quasi, weight, missing, k, risk, household, out_path, per_record
            )
        except _spark_errors() as exc:
            raise engine_error(_display_name(source), self.name, exc) from exc

    def _key_frequencies(
        self,
        source: DataSource,
        quasi: list[str],
        weight: str | None,
        missing: MissingRule,
        k: int | None,
        risk: RiskFunction | None,
        household: str | None,
        out_path: str | os.PathLike[str] | None,
        per_record: bool,
    ) -> FrequencyResult:
        from pyspark import StorageLevel
        from pyspark.sql import functions as F

        frame, cols = self._source(source, [*quasi, weight, household])
        m = len(quasi)
        keys = [f"k{j}" for j in range(m)]
        select = [F.col(_ROW)]
        select += [_clean(*cols[q]).alias(kc) for q, kc in zip(quasi, keys, strict=True)]
        select.append(
            _as_double(*cols[weight]).alias("__w")
            if weight is not None
            else F.lit(1.0).alias("__w")
        )
        if household is not None:
            select.append(_nan_to_null(*cols[household]).alias("__hh"))
        src = frame.select(*select)
        _check_rows(src, weight, _display_name(source), not isinstance(source, pd.DataFrame))

        if missing == "wildcard" and m:
            pat: Column = sum(
                (F.when(F.col(kc).isNull(), 0).otherwise(1 << j) for j, kc in enumerate(keys)),
                F.lit(0),
            )
        else:
            pat = F.lit((1 << m) - 1)
        cells = (
            src.withColumn("pat", pat)
            .groupBy(*keys, "pat")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("__w").alias("ws"))
            .withColumn("cell", F.monotonically_increasing_id())
            .persist(StorageLevel.MEMORY_AND_DISK)
        )
        cached = [cells]
        try:
            cellfreq = _frequencies(cells, keys).persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(cellfreq)
            n = F.col("n")
            stats = cellfreq.agg(
                F.count(F.lit(1)),
                F.coalesce(F.sum(n), F.lit(0)),
                F.coalesce(F.sum(F.when(F.col("cf") == 1, n)), F.lit(0)),
                F.coalesce(F.sum(F.when(F.col("cf") < 3, n)), F.lit(0)),
                F.coalesce(F.sum(F.when(F.col("cf") < int(k or 0), n)), F.lit(0)),
                F.coalesce(F.sum(n / F.col("cf")), F.lit(0.0)),
            ).collect()[0]
            raw = (
                cellfreq.groupBy("cf", "cw")
                .agg(F.sum("n").alias("records"))
                .orderBy("cf", "cw")
                .toArrow()
            )
            pairs = pd.DataFrame(
                {
                    "f_k": raw.column("cf").to_numpy().astype(np.int64),
                    "F_k": raw.column("cw").to_numpy().astype(np.float64),
                    "records": raw.column("records").to_numpy().astype(np.int64),
                }
            )
            pairs = evaluate_pairs(pairs, risk)
            summary = summary_from(
                records=int(stats[1]),
                keys=int(stats[0]),
                sample_uniques=int(stats[2]),
                fk_below_3=int(stats[3]),
                k=k,
                fk_below_k=int(stats[4]),
                sum_inv_fk=float(stats[5]),
                pairs=pairs,
            )
            if out_path is None and not per_record and household is None:
                return FrequencyResult(self.name, summary, pairs)
            records, names, figures = self._records(src, cellfreq, keys, pairs, risk, household)
            if figures is not None:
                hh = figures.collect()[0]
                summary = replace(
                    summary,
                    households=int(hh[0]),
                    household_risk_sum=float(hh[1] or 0.0),
                    household_risk_max=float(hh[2] or 0.0),
                )
            if out_path is None and not per_record:
                return FrequencyResult(self.name, summary, pairs)
            if out_path is not None:
                self._write(records, names, str(out_path))
                where: Path | str = str(out_path) if _is_uri(out_path) else Path(out_path)
                return FrequencyResult(self.name, summary, pairs, out_path=where)
            table = records.toArrow()
            arrays = {
                name: table.column(i).to_numpy(zero_copy_only=False) for i, name in enumerate(names)
            }
            return FrequencyResult(
                self.name,
                summary,
                pairs,
                fk=np.asarray(arrays["f_k"], dtype=np.int64),
                Fk=np.asarray(arrays["F_k"], dtype=np.float64),
                rk=None if risk is None else np.asarray(arrays["r_k"], dtype=np.float64),
                household_risk=(
                    None
                    if household is None
                    else np.asarray(arrays["household_risk"], dtype=np.float64)
                ),
            )
        finally:
            for frame_ in cached:
                frame_.unpersist()

    def _records(
        self,
        src: SparkFrame,
        cellfreq: SparkFrame,
        keys: list[str],
        pairs: pd.DataFrame,
        risk: RiskFunction | None,
        household: str | None,
    ) -> tuple[SparkFrame, list[str], SparkFrame | None]:
        """Per-record results in row order, their final names, and household figures.

        With a household column the third item is one row: households, and the sum and
        largest household risk over the records; else None.
        """
        from pyspark.sql import functions as F

        cells = cellfreq
        if risk is not None:
            per_pair = pa.table(
                {
                    "pf": pairs["f_k"].to_numpy(),
                    "pw": pairs["F_k"].to_numpy(),
                    "pr": pairs["r_k"].to_numpy(),
                }
            )
            table = self.spark.createDataFrame(per_pair)
            cells = cellfreq.join(
                table, (cellfreq["cf"] == table["pf"]) & (cellfreq["cw"] == table["pw"])
            )
        s, c = src.alias("s"), cells.alias("c")
        conds = [F.col(f"s.{kc}").eqNullSafe(F.col(f"c.{kc}")) for kc in keys]
        if conds:
            cond = conds[0]
            for eq in conds[1:]:
                cond = cond & eq
            joined = s.join(c, on=cond, how="inner")
        else:
            joined = s.crossJoin(c)
        cols = [F.col(f"s.{_ROW}").alias("rw"), F.col("c.cf"), F.col("c.cw")]
        names = ["row", "f_k", "F_k"]
        if risk is not None:
            cols.append(F.col("c.pr"))
            names.append("r_k")
        if household is not None:
            cols.append(F.col("s.__hh"))
        recs = joined.select(*cols)
        if household is not None:
            hh = (
                recs.filter(F.col("__hh").isNotNull())
                .groupBy("__hh")
                .agg((1 - F.product(1 - F.col("pr"))).alias("hr"))
            )
            both = recs.join(hh, "__hh", "left").withColumn(
                "hrisk", F.coalesce(F.col("hr"), F.col("pr"))
            )
            figures = both.agg(
                F.countDistinct("__hh") + F.sum(F.when(F.col("__hh").isNull(), 1).otherwise(0)),
                F.sum("hrisk"),
                F.max("hrisk"),
            )
            names.append("household_risk")
            return both.select("rw", "cf", "cw", "pr", "hrisk").orderBy("rw"), names, figures
        return recs.orderBy("rw"), names, None

    def _write(self, records: SparkFrame, names: list[str], path: str) -> None:
        """Write the records under their final names (``f_k`` and ``F_k`` need case)."""
        conf = self.spark.conf
        before = conf.get("spark.sql.caseSensitive")
        conf.set("spark.sql.caseSensitive", "true")
        try:
            records.toDF(*names).write.parquet(path)
        finally:
            conf.set("spark.sql.caseSensitive", before or "false")

    # -- l-diversity and group disclosure ----------------------------------------------------

    def attribute_disclosure(
        self,
        source: DataSource,
        quasi: Sequence[str],
        sensitive: Sequence[str],
        *,
        l: int | None = None,  # noqa: E741 - the measure is called l
        l_measure: LMeasure = "distinct",
        recursive_c: float = 2.0,
        group_share: float = 0.9,
    ) -> tuple[DiversitySummary, ...]:
        """l-diversity and group disclosure in Spark, with the DuckDB engine's query.

        See :class:`~sdc.risk.engines.CountingEngine`. Only one row per sensitive column is
        collected.
        """
        quasi, sensitive = list(quasi), list(sensitive)
        check_diversity_request(quasi, sensitive, l, l_measure, recursive_c, group_share)
        self._start()
        name = _display_name(source)
        try:
            frame, cols = self._source(source, [*quasi, *sensitive])
            records = frame.count()
            check_rows(records, 0, None, name, not isinstance(source, pd.DataFrame))
            keys = [f"k{j}" for j in range(len(quasi))]
            select = [_clean(*cols[q]).alias(kc) for q, kc in zip(quasi, keys, strict=True)]
            out = []
            for var in sensitive:
                view = f"__sdc_diversity_{id(frame)}"
                frame.select(*select, _clean(*cols[var]).alias("__v")).createOrReplaceTempView(view)
                sql = diversity_sql(
                    view, keys, l=l, measure=l_measure, c=recursive_c, share=group_share
                )
                figures = tuple(self.spark.sql(sql).collect()[0])
                self.spark.catalog.dropTempView(view)
                summary = diversity_summary(var, figures, l, group_share)
                if summary is not None:
                    out.append(summary)
            return tuple(out)
        except _spark_errors() as exc:
            raise engine_error(name, self.name, exc) from exc

    # -- grouped sums -----------------------------------------------------------------------

    def grouped_sums(
        self,
        source: DataSource,
        by: Sequence[str],
        value: str | None = None,
        weight: str | None = None,
        *,
        top: int = 0,
        value_detail: bool = False,
        clamp: tuple[float, float] | None = None,
        unit: str | None = None,
        contribution_bound: int = 1,
        clamp_step: float | None = None,
    ) -> pd.DataFrame:
        """Counts and sums per cell in Spark; see :class:`~sdc.risk.engines.CountingEngine`.

        The contribution bound and the top contributions are windows evaluated by the
        executors before the group-by; only per-cell aggregates are collected.
        """
        by = list(by)
        check_grouped_request(value, top, value_detail, clamp, contribution_bound, clamp_step)
        self._start()
        try:
            return self._grouped_sums(
                source,
                by,
                value,
                weight,
                top,
                value_detail,
                clamp,
                unit,
                contribution_bound,
                clamp_step,
            )
        except _spark_errors() as exc:
            raise engine_error(_display_name(source), self.name, exc) from exc

    def _grouped_sums(
        self,
        source: DataSource,
        by: list[str],
        value: str | None,
        weight: str | None,
        top: int,
        value_detail: bool,
        clamp: tuple[float, float] | None,
        unit: str | None,
        contribution_bound: int,
        clamp_step: float | None = None,
    ) -> pd.DataFrame:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        frame, cols = self._source(source, [*by, value, weight, unit])
        w = _as_double(*cols[weight]) if weight is not None else None
        checked = frame.select((w if w is not None else F.lit(1.0)).alias("__w"))
        _check_rows(checked, weight, _display_name(source), not isinstance(source, pd.DataFrame))
        keys = [f"g{i}" for i in range(len(by))]
        select = [_clean(*cols[b]).alias(k) for b, k in zip(by, keys, strict=True)]
        select.append((w if w is not None else F.lit(1.0)).alias("__w"))
        if value is not None:
            raw = _nan_to_null(*cols[value]).cast("double")
            finite = raw.isNotNull() & ~F.isnan(raw) & (F.abs(raw) != float("inf"))
            select.append(F.when(finite, raw).alias("__v"))
        if unit is not None:
            per_unit = Window.partitionBy(_nan_to_null(*cols[unit])).orderBy(F.col(_ROW))
            select.append(F.row_number().over(per_unit).alias("__rk"))
        work = frame.select(*select)
        v = F.col("__v") if value is not None else None
        wc = F.col("__w")
        if top > 0:
            c = wc if v is None else (v * wc if w is not None else v)
            work = work.withColumn("__c", c)
            by_cell = Window.partitionBy(*keys) if keys else Window.partitionBy(F.lit(0))
            work = work.withColumn(
                "__crk", F.row_number().over(by_cell.orderBy(F.col("__c").desc_nulls_last()))
            )
        aggs = [
            F.count(F.lit(1)).alias("n"),
            (F.coalesce(F.sum(wc), F.lit(0.0)) if w is not None else F.count(F.lit(1)))
            .cast("double")
            .alias("wn"),
        ]
        if v is not None:
            aggs.append(F.sum(v).alias("s"))
            aggs.append(F.sum(v * wc if w is not None else v).alias("ws"))
        if value_detail:
            assert v is not None
            aggs.append(F.count(v).alias("vc"))
            aggs.append(F.coalesce(F.sum(F.when(v.isNotNull(), wc)), F.lit(0.0)).alias("vw"))
            aggs.append(F.min(v).alias("vmin"))
        if top > 0:
            best = F.when((F.col("__crk") <= top) & F.col("__c").isNotNull(), F.col("__c"))
            listed = F.sort_array(F.collect_list(best), asc=False)
            aggs += [F.get(listed, i).alias(f"t{i}") for i in range(top)]
        if unit is not None or clamp is not None:
            keep = F.lit(True)
            if unit is not None:
                keep = keep & (F.col("__rk") <= contribution_bound)
            if v is not None:
                keep = keep & v.isNotNull()
            aggs.append(F.count(F.when(keep, F.lit(1))).alias("cc"))
            if clamp is not None:
                assert v is not None
                clipped = F.least(F.greatest(v, F.lit(float(clamp[0]))), F.lit(float(clamp[1])))
                aggs.append(F.coalesce(F.sum(F.when(keep, clipped)), F.lit(0.0)).alias("cs"))
                if clamp_step is not None:
                    units = F.floor(clipped / F.lit(float(clamp_step)) + F.lit(0.5)).cast("long")
                    aggs.append(F.coalesce(F.sum(F.when(keep, units)), F.lit(0)).alias("cu"))
        if keys:
            grouped = work.groupBy(*keys).agg(*aggs)
            grouped = grouped.orderBy(*[F.col(k).asc_nulls_last() for k in keys])
        else:
            grouped = work.agg(*aggs)
        out = grouped.toArrow().to_pandas()
        out.columns = pd.Index(
            grouped_columns(by, value, top, value_detail, clamp, unit, clamp_step)
        )
        return grouped_dtypes(out, len(by))


def _frequencies(cells: SparkFrame, keys: list[str]) -> SparkFrame:
    """Cells with ``cf`` (f_k) and ``cw`` (F_k).

    With one missing-value pattern (always under the category rule) they are the cell's
    own count and weight. Otherwise the distinct cells (not the records) are collected to
    the driver and matched across patterns by
    :func:`~sdc.risk.frequencies.wildcard_key_frequencies`, the in-memory code, and the
    per-cell results are joined back: the work grows with distinct keys x patterns, not
    with records (a census of 10M records has a few million distinct keys).
    """
    from pyspark.sql import functions as F

    patterns = cells.select("pat").distinct().limit(2).count()
    m = len(keys)
    if patterns > 1:
        return _wildcard_cells(cells, keys)
    # A key blank in every variable reveals nothing: it matches every record (as in
    # memory), rather than being a key of its own.
    if not m:
        return cells.withColumn("cf", F.col("n")).withColumn("cw", F.col("ws"))
    blank = F.lit(True)
    for kc in keys:
        blank = blank & F.col(kc).isNull()
    totals = cells.agg(F.sum("n").alias("tn"), F.sum("ws").alias("tw"))
    return (
        cells.crossJoin(F.broadcast(totals))
        .withColumn("cf", F.when(blank, F.col("tn")).otherwise(F.col("n")))
        .withColumn("cw", F.when(blank, F.col("tw")).otherwise(F.col("ws")))
        .drop("tn", "tw")
    )


def _wildcard_cells(cells: SparkFrame, keys: list[str]) -> SparkFrame:
    """The wildcard rule's ``cf``/``cw`` per cell, computed on the driver (see above)."""
    table = cells.select("cell", *keys, "n", "ws").toArrow()
    result = wildcard_cells(table, keys)
    del table
    freq = cells.sparkSession.createDataFrame(result)
    return cells.join(freq, "cell")


def _number_rows(frame: SparkFrame) -> SparkFrame:
    """Replace (``__seg``, ``__pos``) by a global 0-based ``__sdc_row`` in segment order."""
    from pyspark.sql import functions as F

    sizes = frame.groupBy("__seg").agg(F.count(F.lit(1)).alias("size")).toArrow().to_pandas()
    sizes = sizes.sort_values("__seg", kind="stable")
    counts = sizes["size"].to_numpy(dtype=np.int64)
    offsets = np.cumsum(counts) - counts  # no segments at all for a file without records
    table = pa.table(
        {"__seg": sizes["__seg"].astype(str).to_numpy(), "__offset": offsets.astype(np.int64)}
    )
    spark = frame.sparkSession
    starts = spark.createDataFrame(table)
    joined = frame.join(F.broadcast(starts), "__seg")
    return joined.withColumn(_ROW, F.col("__offset") + F.col("__pos")).drop(
        "__seg", "__pos", "__offset"
    )


def _arrow_column(values: pd.Series) -> pa.Array:
    """A column for Spark; an all-missing column becomes text (Spark has no null type)."""
    array = pa.array(values, from_pandas=True)
    return array.cast(pa.string()) if pa.types.is_null(array.type) else array


def _uri_kind(uri: str) -> str:
    suffix = Path(uri.rsplit("/", 1)[-1]).suffix.lower()
    return "csv" if suffix in {".csv", ".tsv", ".txt"} else "parquet"


def _clean(col: str, dtype: str) -> Any:
    """A key column with every kind of missing value (NULL, NaN, empty text) as NULL."""
    from pyspark.sql import functions as F

    if dtype == "string":
        return F.when(F.col(col) == "", None).otherwise(F.col(col))
    return _nan_to_null(col, dtype)


def _nan_to_null(col: str, dtype: str) -> Any:
    from pyspark.sql import functions as F

    if dtype in ("double", "float"):
        return F.when(F.isnan(F.col(col)), None).otherwise(F.col(col))
    return F.col(col)
