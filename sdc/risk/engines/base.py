"""The counting layer every engine implements, and the pieces the engines share.

Risk measures need only a few numbers from the data: each record's key frequency ``f_k`` and
weighted frequency ``F_k`` (see :mod:`sdc.risk.frequencies` for the definitions and the
missing-value wildcard rule), and, for tables, counts and sums per cell. An engine computes
them where the data are (in memory, in DuckDB, on a Spark cluster) and returns only small
results to Python:

- summary figures computed inside the engine (:class:`FrequencySummary`);
- the distinct ``(f_k, F_k)`` pairs with the number of records holding each pair. Every
  individual-risk estimator used here (Benedetti-Franconi, ``1/f_k``) is a function of
  ``(f_k, F_k)`` only, so it is evaluated once per pair in Python and never per record;
- per-record results in input order, either as numpy arrays or, for data that do not fit
  in memory, written by the engine to a Parquet file (columns ``row``, ``f_k``, ``F_k`` and,
  on request, ``r_k`` and ``household_risk``).

Under the wildcard rule the SQL and Spark engines aggregate the records to their distinct
keys (with counts and weight sums) and match those keys across missing-value patterns with
:func:`sdc.risk.frequencies.wildcard_key_frequencies`, the code the pandas engine runs on
the records: one implementation of the rule, and work that grows with distinct keys x
patterns, not records.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias, runtime_checkable

import numpy as np
import pandas as pd

from sdc.errors import DataError
from sdc.risk.frequencies import MissingRule, wildcard_key_frequencies

if TYPE_CHECKING:
    import pyarrow as pa

#: Where the data are: an in-memory DataFrame, or the path of a CSV or Parquet file.
DataSource: TypeAlias = pd.DataFrame | str | os.PathLike[str]

#: A vectorised risk estimator: ``risk(f_k, F_k) -> r_k`` on arrays of equal length.
RiskFunction: TypeAlias = Callable[[np.ndarray, np.ndarray], np.ndarray]

EngineName = Literal["pandas", "duckdb", "spark"]

#: Names of the per-record output columns, in the order engines write them.
RECORD_COLUMNS = ("row", "f_k", "F_k", "r_k", "household_risk")

_CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
_PARQUET_SUFFIXES = {".parquet", ".pq"}


@dataclass(frozen=True)
class FrequencySummary:
    """Figures about the key frequencies, computed inside the engine.

    Attributes:
        records: number of records.
        keys: number of distinct combinations of key values (a missing value counts as one
            more value here, whatever the missing rule).
        sample_uniques: records with ``f_k == 1``.
        fk_below_3: records with ``f_k < 3``.
        k: the k the caller asked about, or None.
        fk_below_k: records with ``f_k < k`` (None without ``k``).
        sum_inv_fk: sum over records of ``1 / f_k`` (the expected re-identifications of an
            unweighted sample).
        mean_inv_fk: ``sum_inv_fk / records`` (0.0 for no records).
        risk_sum: sum of the individual risks (expected re-identifications), when a risk
            function was given, else None.
        risk_max: the largest individual risk, when a risk function was given, else None.
        households: with a household column, the number of households (a record without a
            household id is a household of its own), else None.
        household_risk_sum: the sum over records of the household risk ``1 - prod(1 - r_i)``
            of each record's household (the expected household re-identifications).
        household_risk_max: the largest household risk.
    """

    records: int
    keys: int
    sample_uniques: int
    fk_below_3: int
    k: int | None = None
    fk_below_k: int | None = None
    sum_inv_fk: float = 0.0
    mean_inv_fk: float = 0.0
    risk_sum: float | None = None
    risk_max: float | None = None
    households: int | None = None
    household_risk_sum: float | None = None
    household_risk_max: float | None = None

    @property
    def risk_mean(self) -> float | None:
        """Global risk: the mean individual risk (None without a risk function)."""
        if self.risk_sum is None:
            return None
        return self.risk_sum / self.records if self.records else 0.0


@dataclass(frozen=True)
class FrequencyResult:
    """What an engine returns for :meth:`CountingEngine.key_frequencies`.

    Attributes:
        engine: name of the engine that computed it.
        summary: figures computed inside the engine.
        pairs: one row per distinct ``(f_k, F_k)`` pair, sorted by ``f_k`` then ``F_k``, with
            columns ``f_k`` (int64), ``F_k`` (float64), ``records`` (int64: how many records
            have the pair) and, when a risk function was given, ``r_k`` (float64).
        fk: per-record ``f_k`` (int64) in input order, or None when written to ``out_path``
            or not asked for (``per_record=False``).
        Fk: per-record ``F_k`` (float64; equal to ``f_k`` without weights), or None.
        rk: per-record individual risk when a risk function was given, else None.
        household_risk: per-record household risk when a household column was given.
        out_path: the Parquet file (or, for Spark, Parquet folder; a string when it is a
            URI such as ``hdfs://...``) holding the per-record results, when asked for.
    """

    engine: str
    summary: FrequencySummary
    pairs: pd.DataFrame = field(repr=False)
    fk: np.ndarray | None = field(default=None, repr=False)
    Fk: np.ndarray | None = field(default=None, repr=False)
    rk: np.ndarray | None = field(default=None, repr=False)
    household_risk: np.ndarray | None = field(default=None, repr=False)
    out_path: Path | str | None = None


@dataclass(frozen=True)
class DiversitySummary:
    """l-diversity and group disclosure of one sensitive variable, counted by an engine.

    The definitions are :mod:`sdc.risk.diversity`'s, over the key groups (records with the
    same key values, a missing key value being one more value): distinct, entropy and
    recursive (c, l) l per group, judged on the groups that have an observed sensitive value
    and are not all blank in the key (every group when none is), and the share of the most
    frequent observed value in each group of two or more observed values.

    Attributes:
        variable: the sensitive column.
        distinct_min, entropy_min, recursive_min: the smallest l over the judged groups.
        keys_below_l, records_below_l: judged groups (and their records) whose l, in the
            sense asked for, is below ``l``; None without ``l``.
        share: the group-share limit asked about.
        share_keys, share_records: groups of 2 or more observed values (and their records)
            where one value covers at least ``share``.
        worst_share: the largest such share over those groups (0.0 when there is none).
    """

    variable: str
    distinct_min: int
    entropy_min: float
    recursive_min: int
    keys_below_l: int | None
    records_below_l: int | None
    share: float
    share_keys: int
    share_records: int
    worst_share: float


#: Which l ``keys_below_l`` compares: distinct, entropy or recursive (c, l).
LMeasure = Literal["distinct", "entropy", "recursive"]


@runtime_checkable
class CountingEngine(Protocol):
    """The narrow interface risk and table code use to count, whatever the engine."""

    name: str

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
        """Count every record's key.

        Args:
            source: a DataFrame or the path of a CSV or Parquet file.
            quasi: the key (quasi-identifier) columns.
            weight: the sampling-weight column, or None (then ``F_k = f_k``).
            missing: ``"wildcard"`` or ``"category"``, as in :mod:`sdc.risk.frequencies`.
            k: also count the records with ``f_k < k``.
            risk: a vectorised ``risk(f_k, F_k)``, evaluated once per distinct pair.
            household: household id column; needs ``risk``. Adds ``household_risk``
                (``1 - prod(1 - r_i)`` over the household; a record without a household id
                is a household of its own).
            out_path: write the per-record results to this Parquet file instead of
                returning arrays.
            per_record: False to skip per-record results altogether (only the summary and
                the pairs), the fastest way to assess a census file.
        """
        ...

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
        """l-diversity and group disclosure of each sensitive column over the key groups.

        Key groups are the records with equal ``quasi`` values, a missing value (null, NaN
        or empty text) being one more value whatever the missing-value rule, as in
        :func:`sdc.risk.assess.assess_risk`. Only the figures leave the engine.

        Args:
            source: a DataFrame or the path of a CSV or Parquet file.
            quasi: the key (quasi-identifier) columns.
            sensitive: the sensitive columns, one summary each, in this order.
            l: count the groups whose l is below this (None: do not count).
            l_measure: which l ``l`` is compared with.
            recursive_c: the constant c of recursive (c, l)-diversity.
            group_share: the share of one value that makes group disclosure.
        """
        ...

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
        """Counts, weighted counts and sums per cell of ``by``, for tables.

        Returns one row per cell present in the data, sorted by the ``by`` columns (a
        missing value - null, NaN or empty text - forms its own cell, sorted last), with
        columns ``by...``, ``count`` (int64), ``weighted_count`` (float64; the count
        without weights) and, with ``value``, ``sum`` and ``weighted_sum`` (float64;
        missing values - null, NaN, infinite - are skipped; ``weighted_sum`` equals ``sum``
        without weights). The optional columns, in this order, follow:

        - ``value_detail=True`` (needs ``value``): ``value_count`` (int64, records with a
          value), ``value_weighted_count`` (float64, their weights) and ``value_min``
          (float64, NaN for none).
        - ``top > 0``: ``top_1`` ... ``top_<top>`` (float64), the largest contributions of
          the cell in decreasing order, NaN where the cell has fewer. A record's
          contribution is ``value * weight`` (``value`` without weights, ``weight``
          without a value, 1 with neither); records without a value contribute nothing.
        - ``unit`` or ``clamp`` given: the privacy-unit columns for DP tables. With
          ``unit``, each unit (records with equal ``unit``; records without one form a
          single unit) keeps only its first ``contribution_bound`` records in input order,
          counted over all records before any grouping; without ``unit`` every record is
          kept. ``clamped_count`` (int64) counts the kept records (those with a value when
          ``value`` is given) and, with ``clamp = (lo, hi)``, ``clamped_sum`` (float64;
          0.0 for none) adds their values clipped to ``[lo, hi]``. Weights are not used.
        - ``clamp_step`` given (needs ``clamp``; a public power of two): ``clamped_units``
          (int64) adds, over the kept records, the integers ``floor(c / clamp_step + 0.5)``
          of their clipped values ``c``. Integer sums are exact in every engine and in any
          order, so a DP sum measured on them has an exact sensitivity (no float rounding).
        """
        ...


def diversity_sql(
    relation: str,
    keys: Sequence[str],
    *,
    l: int | None,  # noqa: E741 - the measure is called l
    measure: LMeasure,
    c: float,
    share: float,
) -> str:
    """One SQL query (DuckDB and Spark SQL) for :class:`DiversitySummary`'s figures.

    ``relation`` has the key columns ``keys`` and the sensitive value ``__v``, every kind
    of missing value as NULL. The query counts each (key group, value) pair, ranks the
    observed values of each group by count for recursive (c, l), reduces to one row per
    group and then to one row of figures, each twice: over the judged groups (suffix
    ``_j``) and over all groups (``_a``), for files where no group is judged. Only that
    row leaves the engine.
    """
    if not keys:
        raise ValueError("l-diversity needs at least one key variable")
    ks = ", ".join(keys)
    part = f"PARTITION BY {ks}, (__v IS NULL)"
    blank = " AND ".join(f"{k} IS NULL" for k in keys)
    pick = {"entropy": "el", "recursive": "rl"}.get(measure, "dl")
    below = f"{pick} < {int(l)}" if l is not None else "FALSE"
    per_group = [
        "min(dl) FILTER (WHERE {w}) AS dmin{s}",
        "min(el) FILTER (WHERE {w}) AS emin{s}",
        "min(rl) FILTER (WHERE {w}) AS rmin{s}",
        f"count(*) FILTER (WHERE {{w}} AND {below}) AS kb{{s}}",
        f"coalesce(sum(size) FILTER (WHERE {{w}} AND {below}), 0) AS rb{{s}}",
    ]
    figures = [
        item.format(w=w, s=s) for w, s in (("judged", "_j"), ("TRUE", "_a")) for item in per_group
    ]
    return f"""
WITH pairs AS (
  SELECT {ks}, __v, count(*) AS c FROM {relation} GROUP BY {ks}, __v
), ranked AS (
  SELECT {ks}, __v, c,
    sum(c) OVER (PARTITION BY {ks}) AS gsize,
    sum(c) OVER ({part}) AS pobs,
    max(c) OVER ({part}) AS largest,
    row_number() OVER ({part} ORDER BY c DESC) AS rk,
    coalesce(sum(c) OVER ({part} ORDER BY c DESC
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
  FROM pairs
), groups AS (
  SELECT
    sum(c) AS size,
    coalesce(sum(CASE WHEN __v IS NOT NULL THEN c END), 0) AS obs,
    count(__v) AS dist,
    max(CASE WHEN __v IS NULL THEN 1 ELSE 0 END) AS miss,
    sum((CAST(c AS DOUBLE) / gsize) * ln(CAST(c AS DOUBLE) / gsize)) AS plogp,
    max(CASE WHEN __v IS NOT NULL THEN c END) AS top,
    sum(CASE WHEN __v IS NOT NULL AND rk >= 2 AND largest < {float(c)!r} * (pobs - before)
        THEN 1 ELSE 0 END) AS holds,
    max(CASE WHEN {blank} THEN 1 ELSE 0 END) AS blank
  FROM ranked GROUP BY {ks}
), scored AS (
  SELECT size, obs,
    dist + CASE WHEN miss = 1 AND dist > 0 THEN 1 ELSE 0 END AS dl,
    exp(-plogp) AS el,
    CASE WHEN dist > 0 THEN 1 + holds ELSE 0 END AS rl,
    obs > 0 AND blank = 0 AS judged,
    obs >= 2 AND blank = 0 AS eligible,
    CASE WHEN obs > 0 THEN CAST(top AS DOUBLE) / obs END AS sh
  FROM groups
)
SELECT count(*) FILTER (WHERE judged) AS nj, {", ".join(figures)},
  count(*) FILTER (WHERE eligible AND sh >= {float(share)!r}) AS sk,
  coalesce(sum(size) FILTER (WHERE eligible AND sh >= {float(share)!r}), 0) AS sr,
  coalesce(max(sh) FILTER (WHERE eligible), 0.0) AS ws
FROM scored"""


def check_diversity_request(
    quasi: Sequence[str],
    sensitive: Sequence[str],
    l: int | None,  # noqa: E741
    l_measure: str,
    recursive_c: float,
    group_share: float,
) -> None:
    """Validate the arguments of ``attribute_disclosure`` that do not depend on the data."""
    if not quasi:
        raise ValueError("l-diversity needs at least one key variable")
    both = sorted(set(quasi) & set(sensitive))
    if both:
        raise ValueError(f"{', '.join(map(repr, both))} is both a key and sensitive")
    if len(set(sensitive)) != len(sensitive) or len(set(quasi)) != len(quasi):
        raise ValueError(f"a column is listed twice: {list(quasi)}, {list(sensitive)}")
    if l_measure not in ("distinct", "entropy", "recursive"):
        raise ValueError(f"l_measure must be distinct, entropy or recursive, not {l_measure!r}")
    if l is not None and (isinstance(l, bool) or not isinstance(l, int) or l < 2):
        raise ValueError(f"l must be a whole number of at least 2, not {l!r}")
    if not (math.isfinite(recursive_c) and recursive_c > 0):
        raise ValueError(f"recursive_c must be a positive number, not {recursive_c!r}")
    if not 0.5 < group_share <= 1:
        raise ValueError(f"group_share must be in (0.5, 1], not {group_share!r}")


def diversity_summary(
    variable: str,
    row: Sequence[object],
    l: int | None,  # noqa: E741 - the measure is called l
    share: float,
) -> DiversitySummary | None:
    """A :class:`DiversitySummary` from the one row :func:`diversity_sql` returns.

    None for data without records (no key group), as the in-memory report has no entry.
    """
    if row[6] is None:
        return None
    judged = int(row[0] or 0) > 0  # type: ignore[call-overload]
    base = 1 if judged else 6
    dmin, emin, rmin, kb, rb = row[base : base + 5]
    return DiversitySummary(
        variable=variable,
        distinct_min=int(dmin),  # type: ignore[call-overload]
        entropy_min=float(emin),  # type: ignore[arg-type]
        recursive_min=int(rmin),  # type: ignore[call-overload]
        keys_below_l=None if l is None else int(kb),  # type: ignore[call-overload]
        records_below_l=None if l is None else int(rb),  # type: ignore[call-overload]
        share=float(share),
        share_keys=int(row[11]),  # type: ignore[call-overload]
        share_records=int(row[12]),  # type: ignore[call-overload]
        worst_share=float(row[13]),  # type: ignore[arg-type]
    )


def source_kind(source: DataSource) -> Literal["frame", "csv", "parquet"]:
    """Say whether a source is a DataFrame, a CSV file or a Parquet file.

    Raises:
        DataError: the file does not exist or is neither CSV nor Parquet.
    """
    if isinstance(source, pd.DataFrame):
        return "frame"
    path = Path(source)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return "csv"
    if suffix in _PARQUET_SUFFIXES or path.is_dir():
        return "parquet"
    raise DataError(
        f"{path.name}: the counting engines read CSV (.csv, .tsv, .txt) or Parquet "
        "(.parquet, .pq) files; convert it with `sdc.io.read_table` first"
    )


def check_columns(available: Sequence[str], wanted: Sequence[str | None], name: str) -> None:
    """Raise DataError naming the first wanted column that the data do not have."""
    have = set(available)
    for col in wanted:
        if col is not None and col not in have:
            raise DataError(
                f"{col!r} is not a column of {name} (it has: {', '.join(map(str, available))})"
            )


def check_request(
    quasi: Sequence[str],
    missing: str,
    k: int | None,
    risk: RiskFunction | None,
    household: str | None,
) -> None:
    """Validate the arguments of ``key_frequencies`` that do not depend on the data."""
    if missing not in ("wildcard", "category"):
        raise ValueError(f"missing must be 'wildcard' or 'category', not {missing!r}")
    if k is not None and k < 1:
        raise ValueError(f"k must be at least 1, not {k}")
    if household is not None and risk is None:
        raise ValueError("household risk needs a risk function: pass risk=...")
    if len(set(quasi)) != len(quasi):
        raise ValueError(f"quasi-identifiers are listed twice: {list(quasi)}")


def weight_error(weight: str, name: str, bad: int) -> DataError:
    """The error for a weight column with ``bad`` unusable values (the in-memory wording)."""
    return DataError(
        f"weight column {weight!r} of {name} has {bad} missing, non-numeric, non-positive or "
        "infinite values; every record needs a positive weight"
    )


def check_rows(records: int, bad_weights: int, weight: str | None, name: str, file: bool) -> None:
    """Refuse a file without records and a weight column with unusable values.

    Args:
        records: number of records the engine counted.
        bad_weights: records whose weight is missing, not a number, not positive or infinite.
        weight: the weight column, or None.
        name: the data's name for messages.
        file: whether the data came from a file (an empty DataFrame is allowed: it gives
            empty results, while an empty file is refused as :func:`sdc.io.read_table` does).

    Raises:
        DataError: the file has no records, or some weight is unusable.
    """
    if file and records == 0:
        raise DataError(f"{name}: has a header but no records")
    if weight is not None and bad_weights:
        raise weight_error(weight, name, bad_weights)


def engine_error(name: str, engine: str, exc: BaseException) -> DataError:
    """One line for an engine failure on the user's data: ``DATA: cannot be read by ...``."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return DataError(f"{name}: cannot be read by the {engine} engine ({first})")


def source_name(source: DataSource) -> str:
    """A short name for messages: the file name, or ``the data`` for a DataFrame."""
    return "the data" if isinstance(source, pd.DataFrame) else Path(source).name


def evaluate_pairs(pairs: pd.DataFrame, risk: RiskFunction | None) -> pd.DataFrame:
    """Add the ``r_k`` column to a pairs table (unchanged without a risk function)."""
    if risk is None:
        return pairs
    f = pairs["f_k"].to_numpy(dtype=np.int64)
    F = pairs["F_k"].to_numpy(dtype=np.float64)
    r = np.asarray(risk(f, F), dtype=np.float64)
    if r.shape != f.shape:
        raise ValueError(f"the risk function returned shape {r.shape} for {f.shape} pairs")
    return pairs.assign(r_k=r)


def summary_from(
    *,
    records: int,
    keys: int,
    sample_uniques: int,
    fk_below_3: int,
    k: int | None,
    fk_below_k: int | None,
    sum_inv_fk: float,
    pairs: pd.DataFrame,
) -> FrequencySummary:
    """Assemble a summary; the risk figures come from the (small) pairs table."""
    risk_sum: float | None = None
    risk_max: float | None = None
    if "r_k" in pairs.columns:
        r = pairs["r_k"].to_numpy(dtype=np.float64)
        n = pairs["records"].to_numpy(dtype=np.float64)
        risk_sum = float(np.dot(r, n))
        risk_max = float(r.max()) if len(r) else 0.0
    return FrequencySummary(
        records=int(records),
        keys=int(keys),
        sample_uniques=int(sample_uniques),
        fk_below_3=int(fk_below_3),
        k=k,
        fk_below_k=None if k is None else int(fk_below_k or 0),
        sum_inv_fk=float(sum_inv_fk),
        mean_inv_fk=float(sum_inv_fk) / records if records else 0.0,
        risk_sum=risk_sum,
        risk_max=risk_max,
    )


def empty_pairs() -> pd.DataFrame:
    """A pairs table with no rows and the right dtypes."""
    return pd.DataFrame(
        {
            "f_k": np.empty(0, dtype=np.int64),
            "F_k": np.empty(0, dtype=np.float64),
            "records": np.empty(0, dtype=np.int64),
        }
    )


def check_grouped_request(
    value: str | None,
    top: int,
    value_detail: bool,
    clamp: tuple[float, float] | None,
    contribution_bound: int,
    clamp_step: float | None = None,
) -> None:
    """Validate the optional arguments of ``grouped_sums``."""
    if clamp_step is not None:
        if clamp is None:
            raise ValueError("clamp_step needs clamp")
        if not (math.isfinite(clamp_step) and clamp_step > 0):
            raise ValueError(f"clamp_step must be a finite number > 0, not {clamp_step!r}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 0:
        raise ValueError(f"top must be an integer >= 0, not {top!r}")
    if value_detail and value is None:
        raise ValueError("value_detail needs a value column")
    if clamp is not None:
        if value is None:
            raise ValueError("clamp needs a value column")
        lo, hi = clamp
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
            raise ValueError(f"clamp must be finite bounds (lo, hi) with lo <= hi, not {clamp!r}")
    if (
        isinstance(contribution_bound, bool)
        or not isinstance(contribution_bound, int)
        or contribution_bound < 1
    ):
        raise ValueError(f"contribution_bound must be an integer >= 1, not {contribution_bound!r}")


def grouped_columns(
    by: Sequence[str],
    value: str | None,
    top: int,
    value_detail: bool,
    clamp: tuple[float, float] | None,
    unit: str | None,
    clamp_step: float | None = None,
) -> list[str]:
    """The columns ``grouped_sums`` returns, in order."""
    names = [*by, "count", "weighted_count"]
    if value is not None:
        names += ["sum", "weighted_sum"]
    if value_detail:
        names += ["value_count", "value_weighted_count", "value_min"]
    names += [f"top_{i}" for i in range(1, top + 1)]
    if unit is not None or clamp is not None:
        names.append("clamped_count")
        if clamp is not None:
            names.append("clamped_sum")
            if clamp_step is not None:
                names.append("clamped_units")
    return names


#: Integer columns of ``grouped_sums``; every other statistic is float64.
GROUPED_INT_COLUMNS = frozenset({"count", "value_count", "clamped_count", "clamped_units"})


def grouped_dtypes(out: pd.DataFrame, n_by: int) -> pd.DataFrame:
    """Give the statistics of a ``grouped_sums`` result their documented dtypes."""
    for stat in out.columns[n_by:]:
        if stat in GROUPED_INT_COLUMNS:
            out[stat] = out[stat].fillna(0).astype(np.int64)
        else:
            out[stat] = out[stat].astype(np.float64)
    return out


def wildcard_cells(cells: pa.Table, keys: Sequence[str]) -> pa.Table:
    """``cf`` (f_k) and ``cw`` (F_k) of each distinct key under the wildcard rule.

    ``cells`` holds one row per distinct key as an engine aggregated it: ``cell`` (its id),
    the key columns (null for a missing value), ``n`` (records) and ``ws`` (weight sum).
    The keys are matched across missing-value patterns by
    :func:`~sdc.risk.frequencies.wildcard_key_frequencies`, the in-memory code, so the work
    grows with distinct keys x patterns, not with records.

    Returns:
        A table of ``cell``, ``cf`` (int64) and ``cw`` (float64).
    """
    import pyarrow as pa  # only the out-of-core engines, which load it anyway

    rows = np.empty((cells.num_rows, len(keys)), dtype=np.int64)
    for j, kc in enumerate(keys):
        rows[:, j], _ = pd.factorize(cells.column(kc).to_pandas(), use_na_sentinel=True)
    count = cells.column("n").to_numpy().astype(np.float64)
    weight = cells.column("ws").to_numpy().astype(np.float64)
    f, F = wildcard_key_frequencies(rows, count, weight)
    return pa.table(
        {
            "cell": cells.column("cell").cast(pa.int64()),
            "cf": pa.array(np.rint(f).astype(np.int64)),
            "cw": pa.array(F),
        }
    )
