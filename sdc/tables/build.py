"""Build and protect tables: the library entry points.

:func:`build_table` turns microdata and a :class:`~sdc.tables.spec.TableSpec` into a
:class:`ProtectedTable`: a tidy DataFrame as the release bundle holds it, a pivoted
readable version, the flag counts, the privacy budget spent and the interval audit.

The tidy format (DESIGN.md): one row per cell, margins included; one column per ``by``
variable, ``Total`` in margins; the value column named after the statistic (``count``,
``sum``, ``mean``); ``flag`` in ``published``, ``primary``, ``secondary``, ``rounded``,
``dp``; a suppressed cell has an empty value. DP tables add ``noise_scale``, ``ci_low`` and
``ci_high``.

Categories: for traditional tables those observed in the data (natural order), plus any a
``codebook`` lists; records with a missing ``by`` value are left out and counted in
``dropped_rows``. DP tables take their categories from ``dp.keys`` or the codebook only.

Mean tables are protected through their sums: the primary rules look at the
contributions, secondary suppression and the audit work on the (additive) sums, and the
means are published with the same pattern.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sdc.budget import Budget
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.io import first_non_number
from sdc.risk.engines.base import CountingEngine, DataSource
from sdc.tables._cube import TOTAL, Cube, build_dimension, categories_of, encode_leaves
from sdc.tables.dp import DpCells, dp_cells, dp_cells_from_aggregates, sum_step, truncate_units
from sdc.tables.linked import cell_keys, joint_problem, link_group, linked_sets
from sdc.tables.rounding import controlled_rounding, random_rounding
from sdc.tables.rules import (
    CellStats,
    apply_controls,
    compute_stats,
    primary_cells,
    stats_from_groups,
)
from sdc.tables.spec import TableSpec
from sdc.tables.suppression import (
    Reach,
    SolverFailed,
    SuppressionProblem,
    audit_pattern,
    secondary_suppression,
)

if TYPE_CHECKING:
    import scipy.sparse as sp

FLAGS = ("published", "primary", "secondary", "rounded", "dp")
Hierarchies = Mapping[str, Mapping[str, str]]
Codebook = Mapping[str, Sequence[Any]]


# The most cells (margins included) one table may have: its relations and LPs stay in memory.
MAX_CELLS = 2_000_000


@dataclass(frozen=True)
class CellInterval:
    """What an intruder can learn about one suppressed cell.

    Attributes:
        cell: the cell's ``by`` labels (``Total`` in margins).
        flag: ``primary`` or ``secondary``.
        value: the true value (None when auditing a published table alone).
        lower: smallest value consistent with the published table and its relations.
        upper: largest such value (``inf`` if unbounded).
        required_lower: the interval must reach at least this low (value - LPL), or None.
        required_upper: the interval must reach at least this high (value + UPL), or None.
    """

    cell: tuple[str, ...]
    flag: str
    value: float | None
    lower: float
    upper: float
    required_lower: float | None
    required_upper: float | None

    @property
    def protected(self) -> bool:
        """Whether the feasible interval covers the protection interval.

        Secondary cells need no protection of their own. Without known protection levels
        a primary cell is protected when it cannot be recomputed exactly.
        """
        if self.flag != "primary":
            return True
        if self.required_lower is None or self.required_upper is None:
            return self.upper - self.lower > 1e-6 * max(1.0, abs(self.upper), abs(self.lower))
        tol_l = 1e-6 * max(1.0, abs(self.required_lower))
        tol_u = 1e-6 * max(1.0, abs(self.required_upper))
        return (
            self.lower <= self.required_lower + tol_l and self.upper >= self.required_upper - tol_u
        )


@dataclass(frozen=True, eq=False)
class ProtectedTable:
    """A built and protected table.

    Attributes:
        spec: what was asked.
        name: output name (``spec.table_name``).
        table: the tidy DataFrame (see the module docstring).
        pivot: the readable version (:func:`to_pivot`).
        flag_counts: number of cells per flag (every flag listed, zeros included).
        budget: privacy budget spent (zero for traditional tables).
        audit: the interval audit of every suppressed cell (empty without suppression).
        mechanism: how the table was protected, for the manifest.
        dropped_rows: records left out for a missing category (None for DP tables, where
            the number itself would be an unprotected statistic).
    """

    spec: TableSpec
    name: str
    table: pd.DataFrame
    pivot: pd.DataFrame
    flag_counts: Mapping[str, int]
    budget: Budget
    audit: tuple[CellInterval, ...]
    mechanism: str
    dropped_rows: int | None
    _problem: SuppressionProblem | None = field(default=None, repr=False)
    _suppressed: np.ndarray | None = field(default=None, repr=False)
    _labels: pd.DataFrame | None = field(default=None, repr=False)
    _stats: CellStats | None = field(default=None, repr=False)

    @property
    def passed(self) -> bool:
        """Whether every suppressed primary cell passes the interval audit."""
        return all(c.protected for c in self.audit)

    def summary(self) -> dict[str, Any]:
        """JSON-ready facts for the manifest and reports (no cell values)."""
        return {
            "name": self.name,
            "by": list(self.spec.by),
            "statistic": self.spec.statistic,
            "variable": self.spec.variable,
            "cells": len(self.table),
            "flags": dict(self.flag_counts),
            "epsilon": self.budget.epsilon,
            "delta": self.budget.delta,
            "mechanism": self.mechanism,
            "audit_passed": self.passed,
            "dropped_rows": self.dropped_rows,
        }


def tables_budget(specs: Sequence[TableSpec]) -> Budget:
    """Total privacy budget the DP tables of ``specs`` will spend (check it before building)."""
    total = Budget.zero()
    for spec in specs:
        if spec.dp is not None:
            total = total + Budget(spec.dp.epsilon, spec.dp.delta)
    return total


def _check_columns(df: pd.DataFrame, spec: TableSpec) -> None:
    needed = list(spec.by) + [c for c in (spec.variable, spec.weight) if c]
    if spec.dp is not None and spec.dp.unit_column:
        needed.append(spec.dp.unit_column)
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise DataError(
            f"table {spec.table_name}: column(s) {missing} are not in the data; "
            f"available: {list(df.columns)[:20]}"
        )


def _numeric(df: pd.DataFrame, col: str, what: str) -> np.ndarray:
    try:
        values = pd.to_numeric(df[col], errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        where = first_non_number(df, col) or f" ({exc})"
        raise DataError(f"{what} column {col!r} must be numeric{where}") from exc
    return values


def check_finite(df: pd.DataFrame, spec: TableSpec) -> None:
    """Refuse infinite values in the column a table sums or averages.

    A blank is a missing value and stays out of the cell; ``inf`` is not missing but
    broken data. Dropping it silently would publish a sum that leaves a record out
    without saying so, and in a DP table clamping it to the bound would invent a value.
    Called before any privacy budget is charged.

    Args:
        df: the microdata.
        spec: the table.

    Raises:
        DataError: naming the column, the table and how many values are infinite.
    """
    column = spec.variable
    if column is None or column not in df.columns:
        return
    values = _numeric(df, column, "summed")
    infinite = int(np.isinf(values).sum())
    if infinite:
        many = "value is" if infinite == 1 else "values are"
        raise DataError(
            f"column {column!r}: {infinite} {many} infinite (inf), and table {spec.table_name} "
            f"takes its {spec.statistic}; correct them or leave them blank (missing)"
        )


def _dimensions(
    df: pd.DataFrame, spec: TableSpec, codebook: Codebook | None, hierarchies: Hierarchies | None
) -> Cube:
    dims = []
    for col in spec.by:
        cats: list[str] | None = None
        if spec.dp is not None:
            listed = spec.dp.keys_for(col)
            if listed is None and codebook is not None and col in codebook:
                listed = tuple(str(c) for c in codebook[col])
            if listed is None:
                raise PolicyError(
                    f"table {spec.table_name}: the categories of {col!r} must be listed "
                    "(dp.keys in the policy or a codebook); sdc never takes DP keys from the "
                    "private data, because the list of categories present would itself leak"
                )
            cats = list(listed)
        else:
            observed = categories_of(df[col])
            if codebook is not None and col in codebook:
                listed_cb = [str(c) for c in codebook[col]]
                cats = listed_cb + [c for c in observed if c not in set(listed_cb)]
            else:
                cats = observed
        if not cats:
            raise DataError(f"table {spec.table_name}: column {col!r} has no values")
        hier = hierarchies.get(col) if hierarchies else None
        dims.append(build_dimension(col, cats, hier))
    return Cube(tuple(dims))


def to_pivot(table: pd.DataFrame, by: Sequence[str] | None = None) -> pd.DataFrame:
    """A readable cross-tabulation of a tidy table.

    Rows are the first ``by`` variables, columns the last one (one column named after the
    statistic for one-way tables). Suppressed cells show ``x``; numbers are formatted as
    text (counts as integers, other values with up to 2 decimals). Row and column order is
    the tidy order (``Total`` last).

    Args:
        table: a tidy table from :func:`build_table`.
        by: its classification variables (default: the columns before the value column).
    """
    stat = next(c for c in ("count", "sum", "mean") if c in table.columns)
    if by is None:
        by = list(table.columns[: list(table.columns).index(stat)])
    by = list(by)
    values = table[stat]
    integral = stat == "count" and bool(np.all(np.isclose(values.dropna().astype(float) % 1, 0)))

    def fmt(v: Any) -> str:
        if pd.isna(v):
            return "x"
        if integral:
            return f"{int(round(float(v)))}"
        return f"{float(v):,.2f}".rstrip("0").rstrip(".")

    text = values.map(fmt).astype(object)
    frame = table[by].copy()
    frame["_v"] = text
    for col in by:
        frame[col] = pd.Categorical(frame[col], categories=list(dict.fromkeys(frame[col])))
    if len(by) == 1:
        out = frame.set_index(by[0])[["_v"]].rename(columns={"_v": stat})
        return out
    wide = frame.pivot_table(
        index=by[:-1], columns=by[-1], values="_v", aggfunc="first", observed=True, sort=False
    )
    wide.columns.name = by[-1]
    return wide


def _describe_rules(spec: TableSpec) -> str:
    parts = []
    if spec.min_cell is not None:
        parts.append(f"min_cell {spec.min_cell}")
    if spec.dominance is not None:
        parts.append(f"dominance n={spec.dominance[0]} k={spec.dominance[1]:g}")
    if spec.p_percent is not None:
        parts.append(f"p_percent {spec.p_percent:g}")
    if spec.pq is not None:
        parts.append(f"pq p={spec.pq[0]:g} q={spec.pq[1]:g}")
    if spec.group_share is not None:
        parts.append(f"group_share {spec.group_share:g} of {spec.sensitive}")
    if spec.cells:
        parts.append(f"{len(spec.cells)} manual cell rule(s)")
    return ", ".join(parts)


def _flag_counts(flags: pd.Series) -> dict[str, int]:
    counts = flags.value_counts()
    return {f: int(counts.get(f, 0)) for f in FLAGS}


def build_table(
    df: DataSource,
    spec: TableSpec,
    *,
    seed: int | None = None,
    codebook: Codebook | None = None,
    hierarchies: Hierarchies | None = None,
    time_limit: float = 120.0,
    engine: CountingEngine | None = None,
) -> ProtectedTable:
    """Build one table with all its margins and protect it as ``spec`` says.

    Protection is, by the spec: primary rules + optimal secondary suppression (audited),
    rounding to a base, differential privacy (OpenDP), or none (a plain table).

    With a counting ``engine`` the interior cells' aggregates (records, weighted counts
    and sums, the largest contributions for the dominance and p% rules; for DP tables the
    counts and clamped sums after keeping at most ``contribution_bound`` records per unit)
    come from ``engine.grouped_sums`` where the data are, and only those aggregates enter
    Python; the margins, the protection and the DP measurement run here, on the same code
    as the in-memory path, and give the same table. Differences: the engines refuse
    weights that are missing, non-positive or infinite (the in-memory path drops records
    with a non-finite weight), and their sums may differ in the last bits where the values
    are not exact in floating point (summation order).

    Args:
        df: the microdata: a DataFrame, or (read through ``engine``, or the pandas engine
            when no engine is given) the path of a CSV or Parquet file.
        spec: the table spec.
        seed: seed for random rounding (DP noise is never seeded).
        codebook: categories per column: their order, empty categories, and the DP keys
            when ``dp.keys`` does not list them.
        hierarchies: per ``by`` column, child -> parent labels for nested margins (village
            -> district); chains give several levels.
        time_limit: seconds allowed for secondary suppression.
        engine: a counting engine (``sdc.risk.engines.get_engine(...)``), or None to
            compute in memory from the DataFrame.

    Returns:
        The :class:`ProtectedTable`.

    Raises:
        DataError: a column is missing or not numeric.
        PolicyError: DP keys not listed, or an invalid hierarchy.
        PolicyNotMet: no suppression pattern or controlled rounding exists.
    """
    frame, groups = _input(df, spec, engine)
    cube = _dimensions(frame, spec, codebook, hierarchies)
    if cube.n_cells > MAX_CELLS:
        raise PolicyError(
            f"table {spec.table_name} would have {cube.n_cells:,} cells with its margins (at "
            f"most {MAX_CELLS:,}); use fewer 'by' variables or coarser categories"
        )
    labels = cube.labels()
    if spec.dp is not None:
        if groups is not None:
            cells = _dp_from_groups(groups, spec, cube)
        else:
            var = _numeric(frame, spec.variable, "summed") if spec.variable else None
            cells = _dp_from_frame(frame, spec, cube, var)
        return _finish_dp(spec, labels, cells)
    if groups is not None:
        stats, nonneg, dropped = _stats_from_groups(groups, spec, cube)
    else:
        stats, nonneg, dropped = _stats_from_frame(frame, spec, cube)
    relations = cube.relations()
    published = _published(stats, spec.statistic, cube.n_cells)
    integral = spec.weight is None and spec.statistic == "count"
    if spec.rounding is not None:
        if spec.rounding_method == "random":
            rounded = random_rounding(published, spec.rounding, np.random.default_rng(seed))
        else:
            rounded = controlled_rounding(published, spec.rounding, relations)
        flags = np.full(cube.n_cells, "rounded", dtype=object)
        mechanism = f"{spec.rounding_method} rounding to base {spec.rounding}"
        return _finish(
            spec, labels, rounded, flags, Budget.zero(), (), mechanism, dropped, integral=integral
        )
    if not spec.has_primary_rules:
        flags = np.full(cube.n_cells, "published", dtype=object)
        return _finish(
            spec, labels, published, flags, Budget.zero(), (), "none", dropped, integral=integral
        )
    lower = np.zeros(cube.n_cells) if nonneg else np.full(cube.n_cells, -np.inf)
    problem = _suppression_problem(spec, cube, labels, stats, relations, lower)
    return _suppressed_table(spec, labels, stats, published, problem, dropped, time_limit)


def _input(
    df: DataSource, spec: TableSpec, engine: CountingEngine | None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The frame the table is built from, and the engine's interior aggregates (or None).

    A file without an engine is read by the pandas engine; a DataFrame without one is
    checked and used as it is.
    """
    if engine is None and not isinstance(df, pd.DataFrame):
        from sdc.risk.engines.pandas_engine import PandasEngine

        engine = PandasEngine()
    if engine is not None:
        groups = _engine_groups(engine, df, spec)
        return groups, groups
    assert isinstance(df, pd.DataFrame)
    _check_columns(df, spec)
    check_finite(df, spec)
    return df, None


def _published(stats: CellStats, stat: str, n_cells: int) -> np.ndarray:
    """The value each cell would publish: the statistic (a mean divides by the weight)."""
    if stat != "mean":
        return stats.value.copy()
    return np.divide(
        stats.value,
        stats.weight_total,
        out=np.full(n_cells, np.nan),
        where=stats.weight_total > 0,
    )


def _suppression_problem(
    spec: TableSpec,
    cube: Cube,
    labels: pd.DataFrame,
    stats: CellStats,
    relations: sp.csr_matrix,
    lower: np.ndarray,
) -> SuppressionProblem:
    """The primary cells (rules, then the office's cell controls) and the MILP to solve."""
    prim, keep = apply_controls(
        primary_cells(cube, stats, spec, lower, spec.weight is not None),
        labels,
        spec,
        stats.value,
    )
    cost = np.ones(cube.n_cells) if spec.cost == "cells" else np.abs(stats.value) + 1.0
    return SuppressionProblem(
        values=stats.value,
        lower=lower,
        upper=np.full(cube.n_cells, np.inf),
        relations=relations,
        primary=prim.primary,
        upl=prim.upl,
        lpl=prim.lpl,
        cost=cost,
        keep=keep,
    )


def _suppressed_table(
    spec: TableSpec,
    labels: pd.DataFrame,
    stats: CellStats,
    published: np.ndarray,
    problem: SuppressionProblem,
    dropped: int | None,
    time_limit: float,
) -> ProtectedTable:
    """Secondary suppression, the interval audit and the table with its flags."""
    primary = problem.primary
    suppressed, reaches = _protect(problem, _describe_cell(labels), time_limit)
    audit = _intervals(problem, reaches, labels)
    flags = np.where(primary, "primary", np.where(suppressed, "secondary", "published"))
    value = np.where(suppressed, np.nan, published)
    mechanism = (
        f"rules {_describe_rules(spec)}: {int(primary.sum())} sensitive cells; "
        f"optimal secondary suppression (HiGHS, cost {spec.cost}): "
        f"{int((suppressed & ~primary).sum())} more; interval audit "
        f"{'passed' if all(c.protected for c in audit) else 'FAILED'}"
    )
    table = _finish(
        spec,
        labels,
        value,
        flags.astype(object),
        Budget.zero(),
        audit,
        mechanism,
        dropped,
        integral=spec.weight is None and spec.statistic == "count",
    )
    return dataclasses.replace(
        table, _problem=problem, _suppressed=suppressed, _labels=labels, _stats=stats
    )


def _protect(
    problem: SuppressionProblem, describe: Callable[[int], str], time_limit: float
) -> tuple[np.ndarray, dict[int, Reach]]:
    """Secondary suppression and the intervals of its cells; solver trouble names the cell."""
    try:
        suppressed = secondary_suppression(problem, time_limit=time_limit)
        return suppressed, audit_pattern(problem, suppressed)
    except SolverFailed as exc:
        raise PolicyNotMet(
            f"the LP solver could not bound the cell {describe(exc.cell)} of this table, so "
            "its protection cannot be proven; nothing was published. Publish it in coarser "
            "units or categories, or use rounding"
        ) from exc


def _describe_cell(labels: pd.DataFrame) -> Callable[[int], str]:
    return lambda cell: " × ".join(str(v) for v in labels.iloc[cell])


def _n_top(spec: TableSpec) -> int:
    """How many largest contributions per cell the primary rules need."""
    n_top = spec.dominance[0] if spec.dominance is not None else 0
    if spec.p_percent is not None or spec.pq is not None:
        n_top = max(n_top, 2)
    return n_top


def _engine_groups(engine: CountingEngine, source: DataSource, spec: TableSpec) -> pd.DataFrame:
    """The per-group aggregates a table needs, computed by ``engine``."""
    if spec.dp is not None:
        var = spec.variable if spec.statistic != "count" else None
        return engine.grouped_sums(
            source,
            list(spec.by),
            var,
            None,
            clamp=spec.dp.bounds if var is not None else None,
            unit=spec.dp.unit_column,
            contribution_bound=spec.dp.contribution_bound,
            clamp_step=(
                sum_step(spec.dp.bounds) if var is not None and spec.dp.bounds is not None else None
            ),
        )
    return engine.grouped_sums(
        source,
        list(spec.by),
        spec.variable,
        spec.weight,
        top=_n_top(spec) if spec.has_primary_rules else 0,
        value_detail=spec.variable is not None,
    )


def _stats_from_frame(df: pd.DataFrame, spec: TableSpec, cube: Cube) -> tuple[CellStats, bool, int]:
    """Cell aggregates from the records in memory: stats, non-negativity, dropped records."""
    var = _numeric(df, spec.variable, "summed") if spec.variable else None
    weights = _numeric(df, spec.weight, "weight") if spec.weight else np.ones(len(df))
    codes, keep = encode_leaves(df, cube.dims)
    keep &= np.isfinite(weights)
    if var is not None:
        keep &= np.isfinite(var)
    dropped = int((~keep).sum())
    codes, weights = codes[keep], weights[keep]
    contribution = weights if var is None else weights * var[keep]
    stats = compute_stats(cube, codes, contribution, weights, _n_top(spec))
    return stats, bool((contribution >= 0).all()), dropped


def _stats_from_groups(
    groups: pd.DataFrame, spec: TableSpec, cube: Cube
) -> tuple[CellStats, bool, int]:
    """Cell aggregates from an engine's groups: stats, non-negativity, dropped records.

    Weights are positive (the engines refuse others), so a contribution is negative
    exactly when its value is.
    """
    codes, keep = encode_leaves(groups, cube.dims)
    if spec.variable is not None:
        records = groups["value_count"].to_numpy(dtype=float)
        weight_total = groups["value_weighted_count"].to_numpy(dtype=float)
        value = groups["weighted_sum"].fillna(0.0).to_numpy(dtype=float)
        low = groups["value_min"].to_numpy(dtype=float)[keep]
        nonneg = bool(np.all(np.isnan(low) | (low >= 0)))
    else:
        records = groups["count"].to_numpy(dtype=float)
        weight_total = value = groups["weighted_count"].to_numpy(dtype=float)
        nonneg = True
    top_cols = [c for c in groups.columns if str(c).startswith("top_")]
    tops = groups[top_cols].to_numpy(dtype=float) if top_cols else np.zeros((len(groups), 0))
    stats = stats_from_groups(
        cube, codes[keep], records[keep], value[keep], weight_total[keep], tops[keep]
    )
    dropped = int(groups["count"].sum() - records[keep].sum())
    return stats, nonneg, dropped


def _dp_from_frame(
    df: pd.DataFrame, spec: TableSpec, cube: Cube, var: np.ndarray | None
) -> DpCells:
    assert spec.dp is not None
    keep_unit, d_in = truncate_units(df, spec.dp)
    codes, keep = encode_leaves(df, cube.dims)
    keep &= keep_unit
    if var is not None:
        keep &= np.isfinite(var)
    return dp_cells(
        cube, codes[keep], None if var is None else var[keep], spec.statistic, spec.dp, d_in
    )


def _dp_from_groups(groups: pd.DataFrame, spec: TableSpec, cube: Cube) -> DpCells:
    """DP cells from an engine's truncated, clamped aggregates (records never leave it)."""
    assert spec.dp is not None
    d_in = spec.dp.contribution_bound if spec.dp.unit_column is not None else 1
    codes, keep = encode_leaves(groups, cube.dims)
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    size = int(np.prod(n_leaves))
    flat = (
        np.ravel_multi_index(tuple(codes[keep].T), n_leaves)
        if keep.any()
        else np.zeros(0, dtype=np.int64)
    )
    column = "clamped_count" if "clamped_count" in groups.columns else "count"
    counts = np.bincount(flat, weights=groups[column].to_numpy(dtype=float)[keep], minlength=size)
    sums = None
    if "clamped_units" in groups.columns:
        # Integer grid sums, added exactly (np.bincount would go through float64).
        sums = np.zeros(size, dtype=np.int64)
        np.add.at(sums, flat, groups["clamped_units"].to_numpy(dtype=np.int64)[keep])
    return dp_cells_from_aggregates(cube, counts, sums, spec.statistic, spec.dp, d_in)


def _finish_dp(spec: TableSpec, labels: pd.DataFrame, cells: DpCells) -> ProtectedTable:
    flags = np.full(len(labels), "dp", dtype=object)
    return _finish(
        spec,
        labels,
        cells.value,
        flags,
        cells.budget,
        (),
        cells.mechanism,
        None,
        integral=spec.statistic == "count",
        extra={
            "noise_scale": cells.noise_scale,
            "ci_low": cells.ci_low,
            "ci_high": cells.ci_high,
        },
    )


def _finish(
    spec: TableSpec,
    labels: pd.DataFrame,
    value: np.ndarray,
    flags: np.ndarray,
    budget: Budget,
    audit: tuple[CellInterval, ...],
    mechanism: str,
    dropped: int | None,
    *,
    integral: bool,
    extra: Mapping[str, np.ndarray] | None = None,
) -> ProtectedTable:
    table = labels.copy()
    stat = spec.statistic
    if integral:
        table[stat] = pd.array(np.where(np.isnan(value), np.nan, np.rint(value)), dtype="Int64")
    else:
        table[stat] = value.astype(float)
    table["flag"] = pd.Series(flags, dtype="str")
    for col, arr in (extra or {}).items():
        table[col] = arr.astype(float)
    return ProtectedTable(
        spec=spec,
        name=spec.table_name,
        table=table,
        pivot=to_pivot(table, spec.by),
        flag_counts=_flag_counts(table["flag"]),
        budget=budget,
        audit=audit,
        mechanism=mechanism,
        dropped_rows=dropped,
    )


def _intervals(
    problem: SuppressionProblem, reaches: Mapping[int, Reach], labels: pd.DataFrame
) -> tuple[CellInterval, ...]:
    """The audit of every suppressed cell: its feasible interval and what it must reach."""
    rows = labels.to_numpy(dtype=object)
    out = []
    for cell, reach in sorted(reaches.items()):
        v = float(problem.values[cell])
        is_primary = bool(problem.primary[cell])
        out.append(
            CellInterval(
                cell=tuple(str(x) for x in rows[cell]),
                flag="primary" if is_primary else "secondary",
                value=v,
                lower=v - reach.lower,
                upper=v + reach.upper,
                required_lower=v - float(problem.lpl[cell]) if is_primary else None,
                required_upper=v + float(problem.upl[cell]) if is_primary else None,
            )
        )
    return tuple(out)


def build_tables(
    df: DataSource,
    specs: Sequence[TableSpec],
    *,
    seed: int | None = None,
    codebook: Codebook | None = None,
    hierarchies: Hierarchies | None = None,
    time_limit: float = 120.0,
    engine: CountingEngine | None = None,
) -> list[ProtectedTable]:
    """Build several tables (see :func:`build_table`); names must be distinct.

    Raises:
        PolicyError: if two specs have the same name.
    """
    names = [s.table_name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise PolicyError(f"outputs.tables: two tables are named {dupes[0]!r}; give one a name")
    built = [
        build_table(
            df,
            s,
            seed=seed,
            codebook=codebook,
            hierarchies=hierarchies,
            time_limit=time_limit,
            engine=engine,
        )
        for s in specs
    ]
    return link_tables(built, time_limit=time_limit)


def link_tables(
    tables: Sequence[ProtectedTable], *, time_limit: float = 120.0
) -> list[ProtectedTable]:
    """Protect the suppression tables of one release as one system (see :mod:`linked`).

    Tables of the same quantity that share a cell get one pattern: a shared cell has one
    status in every table, and the audit covers every primary cell against all of them
    together. Other tables are returned unchanged.
    """
    out = list(tables)
    groups = [link_group(t.spec) if t._problem is not None else None for t in tables]
    keys = [set(cell_keys(t._labels)) if t._labels is not None else set() for t in tables]
    for members in linked_sets(groups, keys):
        parts = [(out[i]._problem, out[i]._labels) for i in members]
        joint, maps = joint_problem(parts)  # type: ignore[arg-type]
        suppressed, reaches = _protect(
            joint, _describe_joint([out[i] for i in members], maps), time_limit
        )
        names = [out[i].name for i in members]
        for i, m in zip(members, maps, strict=True):
            out[i] = _relinked(out[i], joint, suppressed, reaches, m, names)
    return out


def _describe_joint(
    tables: Sequence[ProtectedTable], maps: Sequence[np.ndarray]
) -> Callable[[int], str]:
    """A joint cell's labels in the first table that has it."""
    where = {int(j): (k, loc) for k, m in enumerate(maps) for loc, j in enumerate(m)}

    def describe(cell: int) -> str:
        k, loc = where[cell]
        labels = tables[k]._labels
        assert labels is not None
        return f"{_describe_cell(labels)(loc)} (table {tables[k].name})"

    return describe


def _relinked(
    table: ProtectedTable,
    joint: SuppressionProblem,
    suppressed: np.ndarray,
    reaches: Mapping[int, Reach],
    cells: np.ndarray,
    names: Sequence[str],
) -> ProtectedTable:
    """One table of a linked set, with the joint pattern and its share of the audit."""
    assert table._problem is not None and table._labels is not None
    spec, problem = table.spec, table._problem
    primary, sup = joint.primary[cells], suppressed[cells]
    local = dataclasses.replace(
        problem, primary=primary, upl=joint.upl[cells], lpl=joint.lpl[cells]
    )
    mine = {int(loc): reaches[int(cells[loc])] for loc in np.flatnonzero(sup)}
    audit = _intervals(local, mine, table._labels)
    flags = np.where(primary, "primary", np.where(sup, "secondary", "published")).astype(object)
    others = ", ".join(n for n in names if n != table.name)
    mechanism = (
        f"rules {_describe_rules(spec)}: {int(primary.sum())} sensitive cells; optimal "
        f"secondary suppression (HiGHS, cost {spec.cost}) linked with {others}: "
        f"{int((sup & ~primary).sum())} more; joint interval audit "
        f"{'passed' if all(c.protected for c in audit) else 'FAILED'}"
    )
    finished = _finish(
        spec,
        table._labels,
        np.where(sup, np.nan, problem.values),
        flags,
        Budget.zero(),
        audit,
        mechanism,
        table.dropped_rows,
        integral=spec.weight is None and spec.statistic == "count",
    )
    return dataclasses.replace(
        finished, _problem=local, _suppressed=sup, _labels=table._labels, _stats=table._stats
    )


def audit_suppression(
    table: ProtectedTable | pd.DataFrame,
    *,
    hierarchies: Hierarchies | None = None,
    nonnegative: bool = True,
) -> list[CellInterval]:
    """Compute the feasible interval of every suppressed cell by linear programming.

    For a :class:`ProtectedTable` the true values and protection levels are known, so each
    primary cell is checked against its protection interval. For a published tidy table
    (e.g. read back from a bundle) only the published numbers are known: the intervals
    are those an intruder can compute, and a primary cell counts as protected when it
    cannot be recomputed exactly.

    Args:
        table: a protected table, or a tidy DataFrame of a count or sum table.
        hierarchies: the hierarchies the table was built with (tidy input only).
        nonnegative: whether cells are known to be >= 0 (tidy input only).

    Raises:
        DataError: if the tidy table is not a complete count or sum table.
    """
    if isinstance(table, ProtectedTable):
        if table._problem is None or table._suppressed is None or table._labels is None:
            return []
        reaches = audit_pattern(table._problem, table._suppressed)
        return list(_intervals(table._problem, reaches, table._labels))
    return _audit_tidy(table, hierarchies, nonnegative)


def _audit_tidy(
    tidy: pd.DataFrame, hierarchies: Hierarchies | None, nonnegative: bool
) -> list[CellInterval]:
    problem, suppressed, labels = _tidy_problem(tidy, hierarchies, nonnegative)
    return audit_published([(problem, suppressed, labels)])[0]


def audit_linked(
    tables: Sequence[tuple[pd.DataFrame, Hierarchies | None]], *, nonnegative: bool = True
) -> list[list[CellInterval]]:
    """Audit published tables of one quantity together, as an intruder holding all of them.

    A cell suppressed in one table but published in another (a common margin) is known
    exactly; the relations of every table are combined.

    Args:
        tables: each tidy table (count or sum, with its ``flag`` column) and its hierarchies.
        nonnegative: whether cells are known to be >= 0.

    Returns:
        Per table, the intervals of its suppressed cells.

    Raises:
        DataError: if a table is not a complete count or sum table.
    """
    return audit_published([_tidy_problem(t, h, nonnegative) for t, h in tables])


def audit_published(
    parts: Sequence[tuple[SuppressionProblem, np.ndarray, pd.DataFrame]],
) -> list[list[CellInterval]]:
    """The intervals of the suppressed cells of published tables (values unknown: NaN)."""
    joint, maps = joint_problem([(p, labels) for p, _, labels in parts])
    published = np.zeros(joint.n_cells, dtype=bool)
    for (_, sup, _), m in zip(parts, maps, strict=True):
        published[m[~sup]] = True
    hidden = ~published
    joint = dataclasses.replace(joint, values=np.nan_to_num(joint.values, nan=0.0))
    joint = _feasible_point(joint, hidden)
    reaches = audit_pattern(joint, hidden)
    out = []
    for (problem, sup, labels), m in zip(parts, maps, strict=True):
        rows = labels.to_numpy(dtype=object)
        intervals = []
        for loc in np.flatnonzero(sup):
            j = int(m[loc])
            point = float(joint.values[j])
            reach = reaches.get(j, Reach(lower=0.0, upper=0.0))  # published elsewhere
            intervals.append(
                CellInterval(
                    cell=tuple(str(x) for x in rows[loc]),
                    flag="primary" if problem.primary[loc] else "secondary",
                    value=None,
                    lower=point - reach.lower,
                    upper=point + reach.upper,
                    required_lower=None,
                    required_upper=None,
                )
            )
        out.append(intervals)
    return out


def _tidy_problem(
    tidy: pd.DataFrame, hierarchies: Hierarchies | None, nonnegative: bool
) -> tuple[SuppressionProblem, np.ndarray, pd.DataFrame]:
    """A published tidy table as a problem (suppressed values NaN), its mask and labels."""
    stat = next((c for c in ("count", "sum") if c in tidy.columns), None)
    if stat is None or "flag" not in tidy.columns:
        raise DataError(
            "audit needs a tidy count or sum table with a 'flag' column (means are not "
            "additive: audit the sum table they come from)"
        )
    by = list(tidy.columns[: list(tidy.columns).index(stat)])
    dims = []
    for col in by:
        labels = [str(v) for v in dict.fromkeys(tidy[col].astype(str))]
        hier = dict(hierarchies.get(col, {})) if hierarchies else {}
        parents = {par for child, par in hier.items() if child != par}
        leaves = [v for v in labels if v != TOTAL and v not in parents]
        dims.append(build_dimension(col, leaves, hier or None))
    cube = Cube(tuple(dims))
    cell_labels = cube.labels()
    index = {tuple(row): i for i, row in enumerate(cell_labels.itertuples(index=False))}
    pos = np.full(len(tidy), -1, dtype=np.int64)
    for i, row in enumerate(tidy[by].astype(str).itertuples(index=False)):
        pos[i] = index.get(tuple(row), -1)
    if (pos < 0).any() or len(np.unique(pos)) != cube.n_cells or len(tidy) != cube.n_cells:
        raise DataError(
            "audit needs every cell of the table, margins included, exactly once; "
            "is the hierarchy the one the table was built with?"
        )
    values = np.zeros(cube.n_cells)
    values[pos] = pd.to_numeric(tidy[stat], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    flags = np.empty(cube.n_cells, dtype=object)
    flags[pos] = tidy["flag"].astype(str).to_numpy()
    lower = np.zeros(cube.n_cells) if nonnegative else np.full(cube.n_cells, -np.inf)
    problem = SuppressionProblem(
        values=values,
        lower=lower,
        upper=np.full(cube.n_cells, np.inf),
        relations=cube.relations(),
        primary=flags == "primary",
        upl=np.zeros(cube.n_cells),
        lpl=np.zeros(cube.n_cells),
        cost=np.ones(cube.n_cells),
    )
    return problem, np.isnan(values), cell_labels


def _feasible_point(problem: SuppressionProblem, suppressed: np.ndarray) -> SuppressionProblem:
    """Put the unknown suppressed cells at some values consistent with the published ones.

    The attacker LP measures how far suppressed cells can move from a feasible table; for
    a published table any feasible completion serves (the reach is then reported as an
    absolute interval).
    """
    from scipy.optimize import linprog

    rel = problem.relations
    sup = np.flatnonzero(suppressed)
    pub = ~suppressed
    rhs = -(rel[:, pub] @ problem.values[pub])
    sub = rel[:, sup]
    rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
    point = problem.values.copy()
    if len(sup) and len(rows):
        bounds = [(problem.lower[j], None) for j in sup]
        res = linprog(
            np.zeros(len(sup)), A_eq=sub[rows], b_eq=rhs[rows], bounds=bounds, method="highs"
        )
        if res.status != 0:
            raise DataError(
                "the published table is inconsistent: its margins do not add up for any "
                "non-negative values of the suppressed cells (was it built with a hierarchy "
                "that the audit was not given?)"
            )
        point[sup] = res.x
    return SuppressionProblem(
        values=point,
        lower=problem.lower,
        upper=problem.upper,
        relations=rel,
        primary=problem.primary,
        upl=problem.upl,
        lpl=problem.lpl,
        cost=problem.cost,
    )
