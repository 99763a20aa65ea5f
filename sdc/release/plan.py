"""The release plan: what a policy's treatments can produce, in one place.

``sdc release`` executes a policy and ``sdc check`` verifies a bundle against it; both need
the same translation of the policy into treatments. This module holds it:

- :func:`table_spec` / :func:`table_hierarchies` / :func:`codebook`: the tables module's
  spec of each ``outputs.tables`` entry (release builds the tables from them);
- :func:`risk_thresholds` / :func:`assess`: the risk measures under the policy's
  quasi-identifiers, weights and thresholds (release, risk and check measure alike);
- :func:`release_plan`: per recoded column the values its recode can produce (band labels
  as :mod:`sdc.anonymize.recode` writes them, hierarchy levels, top and bottom codes, code
  prefixes, date formats, grid points), per table its method, statistic, ``by``, epsilon
  and ``min_cell``; the columns that are removed, pseudonymised or perturbed.

It stands below ``workflow`` and the CLI, and imports the tables module (scipy, OpenDP)
only when a table spec is asked for.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from sdc.anonymize.multiple import canonical_sets
from sdc.anonymize.policy_recodes import recoded_columns
from sdc.anonymize.recode import band_labels
from sdc.errors import PolicyError
from sdc.hierarchy import Hierarchy, normalize_value
from sdc.policy import REPORTED_GROUP_SHARE, Policy
from sdc.risk import RiskReport, RiskThresholds, assess_risk
from sdc.risk.assess import Progress
from sdc.risk.numeric import numeric_columns, numeric_risk

if TYPE_CHECKING:  # the tables module loads scipy and OpenDP: only when a table is planned
    from sdc.risk.engines import CountingEngine
    from sdc.tables import TableSpec

__all__ = [
    "Admits",
    "ReleasePlan",
    "SyntheticPlan",
    "TablePlan",
    "ValuePlan",
    "assess",
    "assess_policy_has_quasi",
    "canonical",
    "codebook",
    "release_plan",
    "risk_thresholds",
    "suda_max_msu",
    "suda_note",
    "synthetic_plan",
    "table_hierarchies",
    "table_spec",
    "texts",
]

#: Whether each (normalised, non-blank) text is a value a recode can produce.
Admits = Callable[[np.ndarray], np.ndarray]
TableMethod = Literal["dp", "rounding", "suppression", "none"]

#: The cell flags each table method writes.
METHOD_FLAGS: dict[str, frozenset[str]] = {
    "dp": frozenset({"dp"}),
    "rounding": frozenset({"rounded"}),
    "suppression": frozenset({"published", "primary", "secondary"}),
    "none": frozenset({"published"}),
}


# ---- risk under a policy -----------------------------------------------------------------


def risk_thresholds(policy: Policy) -> RiskThresholds:
    """The policy's thresholds as the risk engine's value object."""
    t = policy.thresholds
    return RiskThresholds(
        k=t.k,
        l=t.l,
        t=t.t,
        max_individual_risk=t.max_individual_risk,
        max_expected_reidentifications=t.max_expected_reidentifications,
        group_share=REPORTED_GROUP_SHARE if t.group_share is None else t.group_share,
        group_share_enforced=t.group_share is not None,
        l_diversity=t.l_diversity,
        recursive_c=t.recursive_c,
        max_global_risk=t.max_global_risk,
    )


def assess_policy_has_quasi(policy: Policy) -> None:
    """Risk is measured on the quasi-identifiers: a policy without any cannot be assessed."""
    if not policy.quasi:
        raise PolicyError(
            f"{policy.where('columns')}: no column has role: quasi; risk is measured on the "
            "quasi-identifiers, so mark the ones an outsider could know (age, sex, village...)"
        )


#: Without ``suda.max_msu`` in the policy, SUDA2 searches the largest MSU size whose
#: combinations of quasi-identifiers number at most this many: every size up to 14
#: quasi-identifiers, 4 of 24 (a full search of 24 takes minutes on 1,500 records).
SUDA_COMBINATIONS = 20_000


def suda_max_msu(policy: Policy) -> int | None:
    """The largest MSU size SUDA2 searches under the policy (None: every size).

    ``suda.max_msu`` when the policy sets it; else every size unless the combinations of
    quasi-identifiers exceed :data:`SUDA_COMBINATIONS`, then the largest size within it.
    """
    if policy.suda.max_msu is not None:
        return policy.suda.max_msu
    q = len(policy.quasi)
    total = 0
    for size in range(1, q + 1):
        total += math.comb(q, size)
        if total > SUDA_COMBINATIONS:
            return max(size - 1, 1)
    return None


def suda_note(policy: Policy) -> tuple[str, ...]:
    """A note when SUDA2 does not search every size (the policy did not ask for a limit)."""
    size = suda_max_msu(policy)
    if policy.suda.max_msu is not None or size is None:
        return ()
    return (
        f"SUDA looked for special uniques among combinations of up to {size} of the "
        f"{len(policy.quasi)} quasi-identifiers (every size would take too long with so many); "
        "set suda.max_msu in the policy to choose",
    )


def assess(
    frame: pd.DataFrame,
    policy: Policy,
    *,
    suda: bool = True,
    engine: CountingEngine | None = None,
    skip_above: int | None = None,
    progress: Progress | None = None,
    numeric_from: pd.DataFrame | None = None,
) -> RiskReport:
    """Risk report of a DataFrame under a policy (its quasi-identifiers, weights, thresholds).

    ``skip_above`` and ``progress`` are :func:`~sdc.risk.assess.assess_risk`'s. With
    ``numeric_from`` (the original records, in the same order as ``frame``) the report
    also holds the record linkage and interval disclosure of the policy's numeric columns
    (:func:`sdc.risk.numeric.numeric_columns`): of ``frame`` against those originals, or,
    when ``numeric_from`` is ``frame`` itself, of the data as collected (1 by definition).
    """
    assess_policy_has_quasi(policy)
    numeric = None
    columns = numeric_columns(policy) if numeric_from is not None else []
    if numeric_from is not None and columns:
        numeric = numeric_risk(numeric_from, frame, columns, treated=numeric_from is not frame)
    frame = canonical_sets(frame, policy)  # a multiple-choice question is one set value
    importance = {
        name: col.importance for name, col in policy.columns.items() if col.importance is not None
    }
    report = assess_risk(
        frame,
        quasi=policy.quasi,
        weight=policy.data.weight,
        household=policy.data.household,
        sensitive=[s for s in policy.sensitive if s in frame.columns],
        missing=policy.missing,
        thresholds=risk_thresholds(policy),
        max_msu=suda_max_msu(policy),
        dis_fraction=policy.suda.dis_fraction,
        suda=suda,
        importance=importance or None,
        engine=engine,
        skip_above=skip_above,
        progress=progress,
    )
    return report if numeric is None else replace(report, numeric=numeric)


# ---- tables --------------------------------------------------------------------------------


def codebook(policy: Policy) -> dict[str, list[object]]:
    """Public categories per column: the policy's ``categories``, else a hierarchy's values."""
    book: dict[str, list[object]] = {}
    for name, col in policy.columns.items():
        if col.categories is not None:
            book[name] = list(col.categories)
        elif col.recode is not None and col.recode.map is not None:
            hierarchy = policy.hierarchy(name)
            if hierarchy is not None:
                book[name] = list(hierarchy.values)
    return book


@dataclass(frozen=True)
class SyntheticPlan:
    """What ``outputs.synthetic`` synthesises, from public facts of the policy only.

    Attributes:
        columns: the synthesised columns (``columns``, else the quasi-identifiers and the
            sensitive columns), in order.
        domains: the category list of each categorical column (:func:`codebook`).
        bounds: the public bounds of each numeric column.
        types: the public type of each column the policy names.
    """

    columns: tuple[str, ...]
    domains: dict[str, list[object]]
    bounds: dict[str, tuple[float, float]]
    types: dict[str, Literal["integer", "number", "category", "date"]]


def synthetic_plan(policy: Policy) -> SyntheticPlan | None:
    """The columns, category lists, bounds and types of the synthesis (None without one)."""
    spec = policy.outputs.synthetic
    if spec is None:
        return None
    columns = tuple(spec.columns or [*policy.quasi, *policy.sensitive])
    book = codebook(policy)
    bounds = {
        c: b for c in columns if c in policy.columns and (b := policy.columns[c].bounds) is not None
    }
    return SyntheticPlan(
        columns=columns,
        domains={c: book[c] for c in columns if c in book and c not in bounds},
        bounds=bounds,
        types={c: policy.columns[c].value_type for c in columns if c in policy.columns},
    )


def table_hierarchies(policy: Policy, index: int) -> dict[str, dict[str, str]] | None:
    """Nested margins of ``outputs.tables[index]`` when it says ``hierarchical: true``.

    Each ``by`` column with a hierarchy file (``recode.map``) gets margins at every coarser
    level below the top ``*`` (village -> district): ``{column: {child: parent}}``.
    """
    entry = policy.outputs.tables[index]
    if not entry.hierarchical:
        return None
    found: dict[str, dict[str, str]] = {}
    for column in entry.by:
        hierarchy = policy.hierarchy(column) if column in policy.columns else None
        if hierarchy is None:
            continue
        links = _hierarchy_links(hierarchy)
        if links:
            found[column] = links
    if not found:
        raise PolicyError(
            f"{policy.where('outputs', 'tables', str(index), 'hierarchical')}: hierarchical "
            "margins need a by column with recode: {map: FILE} of three or more levels"
        )
    return found


def _hierarchy_links(hierarchy: Hierarchy) -> dict[str, str]:
    """Child -> parent labels of a hierarchy file below its top.

    A label repeated on the next level (``A;A;*``: A has no sub-levels) is one node, so an
    unbalanced hierarchy gives leaves at different depths.
    """
    links: dict[str, str] = {}
    for level in range(hierarchy.levels - 1):
        if len(hierarchy.labels(level + 1)) <= 1:
            break  # the top level (usually '*') is the table's own Total
        for row in hierarchy.rows:
            child, par = str(row[level]), str(row[level + 1])
            if child != par:  # the loader already refuses a value with two parents
                links[child] = par
    return links


def table_spec(policy: Policy, index: int) -> TableSpec:
    """The tables module's spec for ``outputs.tables[index]`` (DP bounds and unit filled in)."""
    from sdc.tables import DpSpec, TableSpec
    from sdc.tables._cube import category_label
    from sdc.tables.spec import CellControl

    entry = policy.outputs.tables[index]
    dp = None
    if entry.dp is not None:
        variable = entry.sum or entry.mean
        bounds = policy.columns[variable].bounds if variable in policy.columns else None
        if variable is not None and bounds is None:
            raise PolicyError(
                f"{policy.where('outputs', 'tables', str(index), 'dp')}: a DP {entry.statistic} "
                f"needs public bounds: add bounds: [low, high] to columns.{variable}"
            )
        household = policy.privacy.unit == "household"
        dp = DpSpec(
            epsilon=entry.dp.epsilon,
            delta=entry.dp.delta,
            mechanism=entry.dp.mechanism,
            bounds=bounds,
            unit=policy.privacy.unit,
            unit_column=policy.data.household if household else None,
            contribution_bound=policy.privacy.contribution,
        )
    return TableSpec(
        by=tuple(entry.by),
        count=entry.count,
        sum=entry.sum,
        mean=entry.mean,
        weight=policy.data.weight if entry.weighted else None,
        min_cell=entry.min_cell,
        dominance=(entry.dominance.n, entry.dominance.k) if entry.dominance else None,
        p_percent=entry.p_percent,
        pq=(entry.pq.p, entry.pq.q) if entry.pq else None,
        cells=tuple(
            CellControl(
                where=tuple((col, category_label(v)) for col, v in rule.where.items()),
                status=rule.status,
                protection=rule.protection,
            )
            for rule in entry.cells
        ),
        group_share=(policy.thresholds.group_share or REPORTED_GROUP_SHARE)
        if entry.sensitive
        else None,
        sensitive=entry.sensitive,
        rounding=entry.rounding.base if entry.rounding else None,
        rounding_method=entry.rounding.method if entry.rounding else "random",
        dp=dp,
        name=entry.name,
    )


@dataclass(frozen=True)
class TablePlan:
    """What one ``outputs.tables`` entry must look like in a bundle.

    Attributes:
        index: its position in ``outputs.tables``.
        spec: the tables module's spec (:func:`table_spec`).
        method: ``dp``, ``rounding``, ``suppression`` (primary rules and secondary
            suppression) or ``none`` (no rule: every cell published).
    """

    index: int
    spec: TableSpec
    method: TableMethod

    @property
    def name(self) -> str:
        """The table's name: ``tables/NAME.csv`` in the bundle."""
        return self.spec.table_name

    @property
    def flags(self) -> frozenset[str]:
        """The cell flags the method writes."""
        return METHOD_FLAGS[self.method]

    def describe(self) -> str:
        """The method in words, e.g. ``dp (laplace, epsilon 0.4)``."""
        dp = self.spec.dp
        if dp is not None:
            delta = f", delta {dp.delta:g}" if dp.delta else ""
            return f"dp ({dp.mechanism}, epsilon {dp.epsilon:g}{delta})"
        if self.method == "rounding":
            return f"{self.spec.rounding_method} rounding to base {self.spec.rounding}"
        if self.method == "suppression":
            return "suppression"
        return "no protection rule"

    def smallest_noise_sd(self) -> float | None:
        """The noise sd of one interior cell, where the mechanism fixes it in closed form.

        Laplace counts get discrete Laplace noise of scale ``d_in / epsilon``, Laplace sums
        continuous Laplace noise of scale ``d_in * max|bound| / epsilon``; every published
        cell sums one or more interior cells' noise, so the smallest ``noise_scale`` of the
        table is this sd. Gaussian scales come from OpenDP's search and means mix two
        measurements: None for them.
        """
        dp = self.spec.dp
        if dp is None or dp.mechanism != "laplace" or self.spec.statistic == "mean":
            return None
        d_in = dp.contribution_bound if dp.unit_column is not None else 1
        if self.spec.statistic == "count":
            q = math.exp(-dp.epsilon / d_in)  # scale d_in / epsilon
            return math.sqrt(2.0 * q) / (1.0 - q)
        if dp.bounds is None:
            return None
        scale = d_in * max(abs(dp.bounds[0]), abs(dp.bounds[1])) / dp.epsilon
        return math.sqrt(2.0) * scale


# ---- values a recode can produce -----------------------------------------------------------


def texts(values: pd.Series) -> np.ndarray:
    """Each value as the text it is compared under (:func:`canonical`); None if blank.

    A released CSV is read with type inference and a hierarchy is text: ``39``, ``39.0``
    and ``"39"`` are all ``"39"``.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([canonical(v) for v in uniques] + [None], dtype=object)
    return np.asarray(table[np.where(codes < 0, len(uniques), codes)])


def canonical(value: object) -> str | None:
    """The text of a value, numbers written one way (``"1.0"``, ``1.0`` and ``1`` are ``"1"``).

    A value is compared as it was released, and a released CSV is read back with type
    inference: a hierarchy label ``1.0`` comes back as the number 1.
    """
    text = normalize_value(value)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return normalize_value(number) if math.isfinite(number) else text


def _among(labels: tuple[str, ...] | list[str]) -> Admits:
    allowed = frozenset(canonical(label) for label in labels)
    return lambda values: np.array([v in allowed for v in values], dtype=bool)


def _numbers(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=float)


def _in_range(lo: float | None, hi: float | None) -> Admits:
    def admits(values: np.ndarray) -> np.ndarray:
        x = _numbers(values)
        ok = np.isfinite(x)
        if lo is not None:
            ok &= x >= lo
        if hi is not None:
            ok &= x <= hi
        return np.asarray(ok)

    return admits


def _on_grid(step: float, lo: float | None, hi: float | None) -> Admits:
    def snap(v: float) -> float:
        return round(v / step) * step

    tol = step * 1e-6
    inside = _in_range(
        None if lo is None else snap(lo) - tol, None if hi is None else snap(hi) + tol
    )

    def admits(values: np.ndarray) -> np.ndarray:
        x = _numbers(values)
        cells = x / step
        on = np.isfinite(x) & (np.abs(cells - np.round(cells)) <= 1e-6)
        return np.asarray(on & inside(values))

    return admits


def _matching(pattern: str) -> Admits:
    regex = re.compile(pattern)
    return lambda values: np.array([regex.fullmatch(str(v)) is not None for v in values])


def _short(length: int) -> Admits:
    return lambda values: np.array([len(str(v)) <= length for v in values], dtype=bool)


@dataclass(frozen=True)
class ValuePlan:
    """The values a recoded column can hold in a release.

    A recode can produce one of several value sets (``alternatives``): bands are labelled as
    integer ranges or as intervals, depending on the data; ``generalize: auto`` chooses one
    level of a hierarchy. The released values must all come from ONE of them.

    Attributes:
        column: the column.
        description: the recode in words, e.g. ``bands [0, 18, 30, 45, 60]``.
        alternatives: ``(name, admits)`` per value set; ``admits`` tells, for normalised
            non-blank texts, which the set holds.
        hierarchy: the hierarchy of a map recode, with ``levels`` the levels it may use.
        levels: the hierarchy levels allowed (in the order of ``alternatives``).
    """

    column: str
    description: str
    alternatives: tuple[tuple[str, Admits], ...]
    hierarchy: Hierarchy | None = None
    levels: tuple[int, ...] = ()

    def foreign(self, values: pd.Series) -> tuple[int, int, str]:
        """Non-blank values outside the best-fitting value set.

        Returns:
            ``(foreign, non_blank, alternative)``: how many non-blank values no single
            value set admits (the fewest over the alternatives), how many are non-blank,
            and the name of the best alternative.
        """
        text = texts(values)
        present = text[pd.notna(text)]
        distinct, counts = np.unique(present.astype(str), return_counts=True)
        best = (len(present) + 1, "")
        for name, admits in self.alternatives:
            ok = admits(distinct) if len(distinct) else np.zeros(0, dtype=bool)
            bad = int(counts[~ok].sum())
            if bad < best[0]:
                best = (bad, name)
        return best[0], len(present), best[1]

    def fitting_levels(self, values: pd.Series) -> list[int]:
        """The hierarchy levels whose values hold every non-blank value (map recodes)."""
        text = texts(values)
        distinct = np.unique(text[pd.notna(text)].astype(str))
        return [
            level
            for level, (_, admits) in zip(self.levels, self.alternatives, strict=True)
            if admits(distinct).all()
        ]


def _value_plan(policy: Policy, name: str, auto: bool) -> ValuePlan:
    col = policy.columns[name]
    recode = col.recode
    top, bottom = col.top_code, col.bottom_code
    coded = "".join(
        f", {key} {value:g}"
        for key, value in (("top_code", top), ("bottom_code", bottom))
        if value is not None
    )
    if recode is not None and recode.bands is not None:
        breaks = [float(b) for b in recode.bands]
        sets: list[tuple[str, Admits]] = []
        for labels_kind in ("integer", "interval"):
            if labels_kind == "integer" and not all(b.is_integer() for b in breaks):
                continue
            labels = band_labels(
                breaks, integer=labels_kind == "integer", top_code=top, bottom_code=bottom
            )
            edges = np.asarray(breaks)
            first = 0 if bottom is None else int(np.searchsorted(edges, bottom, side="right"))
            last = len(labels) - 1
            if top is not None:
                last = int(np.searchsorted(edges, top, side="right"))
            sets.append((f"{labels_kind} labels", _among(labels[first : last + 1])))
        shown = ", ".join(f"{b:g}" for b in breaks)
        return ValuePlan(name, f"bands [{shown}]{coded}", tuple(sets))
    if recode is not None and recode.map is not None:
        hierarchy = policy.hierarchy(name)
        assert hierarchy is not None
        if recode.level is not None:
            levels: tuple[int, ...] = (recode.level,)
            what = f"level {recode.level} of {recode.map.as_posix()}"
        elif auto:
            cap = hierarchy.levels - 1 if recode.max_level is None else recode.max_level
            levels = tuple(range(min(cap, hierarchy.levels - 1) + 1))
            what = f"one level (0 to {levels[-1]}) of {recode.map.as_posix()}"
        else:  # a map without a level serves only generalize: auto; the column stays as is
            levels = (0,)
            what = f"the values of {recode.map.as_posix()}"
        levelled = tuple((f"level {level}", _among(hierarchy.labels(level))) for level in levels)
        return ValuePlan(name, what, levelled, hierarchy, levels)
    if recode is not None and recode.prefix is not None:
        return ValuePlan(
            name, f"prefix of {recode.prefix} characters", (("prefix", _short(recode.prefix)),)
        )
    if recode is not None and recode.date is not None:
        pattern = r"\d{4}-(0[1-9]|1[0-2])" if recode.date == "month" else r"\d{4}"
        shape = "YYYY-MM" if recode.date == "month" else "YYYY"
        return ValuePlan(name, f"dates as {shape}", ((shape, _matching(pattern)),))
    if recode is not None and recode.grid is not None:
        grid = recode.grid
        return ValuePlan(name, f"grid {grid:g}{coded}", (("grid", _on_grid(grid, bottom, top)),))
    return ValuePlan(name, coded.lstrip(", "), (("codes", _in_range(bottom, top)),))


@dataclass(frozen=True)
class ReleasePlan:
    """A policy turned into what its release must hold.

    Attributes:
        policy: the policy.
        steps: the microdata treatments in the order applied (empty without microdata).
        generalize: whether ``generalize: auto`` chooses hierarchy levels.
        values: per recoded column, the values its recode can produce.
        removed: direct identifiers (not pseudonymised) and ``drop`` columns.
        pseudonymised: direct identifiers released as keyed pseudonyms.
        perturbed: columns PRAM, noise, microaggregation or multivariate top coding change
            (not compared value by value with the input's recodes).
        tables: one plan per ``outputs.tables`` entry, in policy order.
        swapped: columns rank swapping or shuffling moves between records (each column's
            values are the input's, but not record by record).
        relocated: the geography columns record swapping exchanges between households
            (``outputs.microdata.swap``: its level and carry columns).
    """

    policy: Policy
    steps: tuple[str, ...]
    generalize: bool
    values: dict[str, ValuePlan]
    removed: tuple[str, ...]
    pseudonymised: tuple[str, ...]
    perturbed: tuple[str, ...]
    tables: tuple[TablePlan, ...]
    swapped: tuple[str, ...] = ()
    relocated: tuple[str, ...] = ()

    @property
    def deterministic(self) -> bool:
        """Whether the policy's deterministic recodes run (``recode`` is a treatment)."""
        return "recode" in self.steps

    def table(self, name: str) -> TablePlan | None:
        """The plan of the table called ``name`` (None if the policy has none)."""
        return next((t for t in self.tables if t.name == name), None)


def _table_method(spec: TableSpec) -> TableMethod:
    if spec.dp is not None:
        return "dp"
    if spec.rounding is not None:
        return "rounding"
    return "suppression" if spec.has_primary_rules else "none"


def release_plan(policy: Policy, *, tables: bool = True) -> ReleasePlan:
    """Turn a policy into the release plan: recoded values, removed columns, table methods.

    Args:
        policy: the validated policy (its hierarchy files are read).
        tables: also plan the tables (imports the tables module).

    Raises:
        PolicyError: a hierarchy file cannot be read, or a DP table lacks bounds.
    """
    spec = policy.outputs.microdata
    steps = tuple(spec.treatments) if spec is not None else ()
    auto = spec is not None and spec.generalize == "auto"
    values: dict[str, ValuePlan] = {}
    if "recode" in steps:
        for name in recoded_columns(policy):
            values[name] = _value_plan(policy, name, auto)
    if spec is not None:
        for name in policy.quasi:
            recode = policy.columns[name].recode
            if recode is not None and recode.map is not None and recode.level is None:
                values[name] = _value_plan(policy, name, auto)
    keyed = tuple(
        n for n, c in policy.columns.items() if c.role == "direct" and c.action == "pseudonymize"
    )
    removed = tuple(
        n for n in policy.columns_with("direct") + policy.columns_with("drop") if n not in keyed
    )
    perturbed = tuple(
        n
        for n, c in policy.columns.items()
        if (c.pram is not None and "pram" in steps)
        or (c.noise is not None and "noise" in steps)
        or (c.microaggregation is not None and "microaggregation" in steps)
        or (c.mv_top_code is not None and "mv_top_code" in steps)
    )
    planned: tuple[TablePlan, ...] = ()
    if tables:
        specs = [table_spec(policy, i) for i in range(len(policy.outputs.tables))]
        planned = tuple(TablePlan(i, s, _table_method(s)) for i, s in enumerate(specs))
    return ReleasePlan(
        policy=policy,
        steps=steps,
        generalize=auto,
        values=values,
        removed=removed,
        pseudonymised=keyed,
        perturbed=perturbed,
        tables=planned,
        swapped=tuple(
            n
            for n, c in policy.columns.items()
            if (c.rank_swap is not None and "rank_swap" in steps)
            or (c.shuffle and "shuffle" in steps)
        ),
        relocated=(spec.swap.level, *spec.swap.carry) if spec and spec.swap else (),
    )
