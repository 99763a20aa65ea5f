"""Table specifications: what to tabulate and how to protect it.

A :class:`TableSpec` mirrors one entry of the policy's ``outputs.tables``::

    {by: [village, sex], count: true, min_cell: 5}
    {by: [district, sex], sum: income, dominance: {n: 1, k: 0.8}, p_percent: 0.1}
    {by: [village], mean: income, dp: {epsilon: 0.5}}

Parameters given as shares are fractions, as in the policy: ``k: 0.8`` means the n largest
contributions may hold at most 80% of the cell total, ``p_percent: 0.1`` is the 10% rule,
``group_share: 0.9`` flags a cell where 90% or more of a group share one sensitive value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sdc.errors import PolicyError

Mechanism = Literal["laplace", "gaussian"]
PrivacyUnit = Literal["individual", "household"]
RoundingMethod = Literal["random", "controlled"]
Statistic = Literal["count", "sum", "mean"]
SuppressionCost = Literal["value", "cells"]


def _freeze_keys(
    keys: Mapping[str, Sequence[Any]] | Sequence[tuple[str, Sequence[Any]]] | None,
) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    if keys is None:
        return None
    items = keys.items() if isinstance(keys, Mapping) else keys
    out = []
    for col, cats in items:
        if isinstance(cats, str) or not isinstance(cats, Sequence):
            raise PolicyError(f"dp.keys.{col} must be a list of categories, got {cats!r}")
        labels = tuple(str(c) for c in cats)
        if len(set(labels)) != len(labels):
            raise PolicyError(f"dp.keys.{col} lists a category twice; list each once")
        if not labels:
            raise PolicyError(f"dp.keys.{col} is empty; list the categories of {col}")
        out.append((str(col), labels))
    return tuple(out)


@dataclass(frozen=True)
class DpSpec:
    """Differential privacy for one table.

    Attributes:
        epsilon: privacy loss of the whole table (all cells, all margins).
        delta: > 0 only for the Gaussian mechanism.
        mechanism: ``laplace`` (discrete Laplace for counts, pure DP) or ``gaussian``
            (discrete Gaussian for counts, (epsilon, delta)-DP via zCDP).
        bounds: public clamping bounds ``(lo, hi)`` of the summed variable (sums, means);
            never taken from the data.
        unit: the privacy unit: one ``individual`` (a record) or one ``household``.
        unit_column: the household identifier column (required for ``household``).
        contribution_bound: most records one unit may contribute; extra records of a unit
            are dropped before aggregation (default 1 for individuals).
        keys: the categories of every ``by`` variable, from the policy or a codebook,
            as ``((column, (category, ...)), ...)``; a mapping is accepted and frozen.
    """

    epsilon: float
    delta: float = 0.0
    mechanism: Mechanism = "laplace"
    bounds: tuple[float, float] | None = None
    unit: PrivacyUnit = "individual"
    unit_column: str | None = None
    contribution_bound: int = 1
    keys: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _freeze_keys(self.keys))
        if not (isinstance(self.epsilon, int | float) and math.isfinite(self.epsilon)):
            raise PolicyError(f"dp.epsilon must be a number, got {self.epsilon!r}")
        if self.epsilon <= 0:
            raise PolicyError(f"dp.epsilon must be > 0, got {self.epsilon!r}")
        if self.mechanism not in ("laplace", "gaussian"):
            raise PolicyError(
                f"dp.mechanism must be 'laplace' or 'gaussian', got {self.mechanism!r}"
            )
        if self.mechanism == "gaussian" and not 0 < self.delta < 1:
            raise PolicyError(
                f"dp.delta must be in (0, 1) for the gaussian mechanism, got {self.delta!r}; "
                "e.g. delta: 1e-6"
            )
        if self.mechanism == "laplace" and self.delta != 0:
            raise PolicyError(
                "dp.delta applies to the gaussian mechanism only; remove it or set "
                "mechanism: gaussian"
            )
        if self.bounds is not None:
            lo, hi = (float(b) for b in self.bounds)
            if not (math.isfinite(lo) and math.isfinite(hi)) or lo >= hi:
                raise PolicyError(f"dp.bounds must be [lo, hi] with lo < hi, got {self.bounds!r}")
            object.__setattr__(self, "bounds", (lo, hi))
        if self.unit not in ("individual", "household"):
            raise PolicyError(f"dp.unit must be 'individual' or 'household', got {self.unit!r}")
        if self.unit == "household" and not self.unit_column:
            raise PolicyError(
                "dp.unit household needs the household column: set data.household in the policy"
            )
        if (
            isinstance(self.contribution_bound, bool)
            or not isinstance(self.contribution_bound, int)
            or self.contribution_bound < 1
        ):
            raise PolicyError(
                f"dp.contribution_bound must be an integer >= 1, got {self.contribution_bound!r}"
            )

    def keys_for(self, column: str) -> tuple[str, ...] | None:
        """The listed categories of ``column``, or None."""
        for col, cats in self.keys or ():
            if col == column:
                return cats
        return None


@dataclass(frozen=True)
class CellControl:
    """The office's own say on some cells of a suppression table.

    Attributes:
        where: ``(column, label)`` pairs a cell must show (other ``by`` columns free, so
            ``{region: North}`` covers every North cell, margins included).
        status: ``suppress`` (a sensitive cell whatever the rules say) or ``publish`` (never
            chosen as a secondary suppression; a cell the rules find sensitive cannot be
            published this way and is refused), or None.
        protection: protection level of the matching sensitive cells as a share of their
            value (both directions; at least 1 for counts); the rules' levels still apply
            when larger. A manually suppressed cell without it gets 0.1.
    """

    where: tuple[tuple[str, str], ...]
    status: Literal["suppress", "publish"] | None = None
    protection: float | None = None

    def describe(self) -> str:
        """The cells it covers, e.g. ``region=North, sector=Mining``."""
        return ", ".join(f"{c}={v}" for c, v in self.where)


@dataclass(frozen=True)
class TableSpec:
    """One table to build and protect.

    Exactly one statistic: ``count=True``, ``sum="col"`` or ``mean="col"``.

    Attributes:
        by: one or more classification variables (the cells, margins included, must
            number at most ``sdc.tables.build.MAX_CELLS``).
        count: a frequency table (weighted with ``weight``).
        sum: the variable summed in a magnitude table.
        mean: the variable averaged in a magnitude table.
        weight: sampling-weight column; counts become sums of weights.
        min_cell: threshold rule: a cell with 1 to ``min_cell - 1`` contributing records is
            sensitive.
        dominance: ``(n, k)``: a cell is sensitive when its ``n`` largest contributions make
            more than the share ``k`` (a fraction) of its total.
        p_percent: p% rule with p as a fraction (0.1 = 10%): a cell is sensitive when
            ``total - x1 - x2 < p * x1``.
        pq: ``(p, q)``, the pq rule (fractions, ``p < q``): contributors know each other's
            values within ``q``; a cell is sensitive when ``q * (total - x1 - x2) < p * x1``
            (the p% rule is the pq rule with ``q = 1``).
        group_share: group-disclosure rule: in a frequency table broken down by the
            ``sensitive`` variable, a cell holding this share or more of its group is
            sensitive.
        sensitive: the sensitive variable (one of ``by``) for ``group_share``.
        rounding: round every cell to this base (3, 5, 10, ...) instead of suppressing.
        rounding_method: ``random`` (unbiased, seeded) or ``controlled`` (additive).
        dp: differential privacy instead of suppression or rounding.
        cost: what secondary suppression minimises: the suppressed ``value`` (default, as
            tau-Argus) or the number of ``cells``.
        name: output name; default from the statistic and ``by``.
    """

    by: tuple[str, ...]
    count: bool = False
    sum: str | None = None
    mean: str | None = None
    weight: str | None = None
    min_cell: int | None = None
    dominance: tuple[int, float] | None = None
    p_percent: float | None = None
    pq: tuple[float, float] | None = None
    cells: tuple[CellControl, ...] = ()
    group_share: float | None = None
    sensitive: str | None = None
    rounding: int | None = None
    rounding_method: RoundingMethod = "random"
    dp: DpSpec | None = None
    cost: SuppressionCost = "value"
    name: str | None = field(default=None)

    def __post_init__(self) -> None:
        by = (self.by,) if isinstance(self.by, str) else tuple(self.by)
        object.__setattr__(self, "by", by)
        where = f"table by {list(by)}"
        if not by:
            raise PolicyError(f"{where}: a table needs at least one 'by' variable")
        if len(set(by)) != len(by):
            raise PolicyError(f"{where}: a 'by' variable is listed twice")
        n_stats = int(bool(self.count)) + int(self.sum is not None) + int(self.mean is not None)
        if n_stats != 1:
            raise PolicyError(
                f"{where}: give exactly one statistic: count: true, sum: COLUMN or mean: COLUMN"
            )
        if self.min_cell is not None and (
            isinstance(self.min_cell, bool) or not isinstance(self.min_cell, int)
        ):
            raise PolicyError(f"{where}: min_cell must be an integer, got {self.min_cell!r}")
        if self.min_cell is not None and self.min_cell < 2:
            raise PolicyError(f"{where}: min_cell must be >= 2, got {self.min_cell}")
        if self.dominance is not None:
            dom = self.dominance
            if isinstance(dom, Mapping):
                dom = (dom.get("n"), dom.get("k"))
            n, k = dom
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise PolicyError(f"{where}: dominance.n must be an integer >= 1, got {n!r}")
            if not isinstance(k, int | float) or not 0 < k < 1:
                raise PolicyError(
                    f"{where}: dominance.k is a share in (0, 1), e.g. 0.8 for 80%; got {k!r}"
                )
            object.__setattr__(self, "dominance", (int(n), float(k)))
        if self.p_percent is not None and not 0 < self.p_percent < 1:
            raise PolicyError(
                f"{where}: p_percent is a fraction in (0, 1), e.g. 0.1 for the 10% rule; "
                f"got {self.p_percent!r}"
            )
        if self.pq is not None:
            p, q = self.pq
            if not 0 < p < q <= 1:
                raise PolicyError(
                    f"{where}: the pq rule needs 0 < p < q <= 1 (fractions), got p={p!r} q={q!r}"
                )
            object.__setattr__(self, "pq", (float(p), float(q)))
        self._check_cells(where, by)
        if self.group_share is not None:
            if not 0 < self.group_share <= 1:
                raise PolicyError(
                    f"{where}: group_share is a fraction in (0, 1], got {self.group_share!r}"
                )
            if self.sensitive is None:
                raise PolicyError(f"{where}: group_share needs sensitive: COLUMN")
        if self.sensitive is not None:
            if self.sensitive not in by:
                raise PolicyError(
                    f"{where}: sensitive variable {self.sensitive!r} must be one of 'by' "
                    "(the table breaks the groups down by it)"
                )
            if len(by) < 2:
                raise PolicyError(
                    f"{where}: group disclosure needs a group variable besides {self.sensitive!r}"
                )
            if not self.count:
                raise PolicyError(f"{where}: group disclosure applies to count tables")
        magnitude_rules = any(x is not None for x in (self.dominance, self.p_percent, self.pq))
        if magnitude_rules and self.count:
            raise PolicyError(
                f"{where}: dominance, p_percent and pq apply to sum or mean tables, not counts"
            )
        suppression_rules = (
            self.min_cell is not None or magnitude_rules or self.group_share is not None
        )
        if self.rounding is not None:
            if isinstance(self.rounding, bool) or not isinstance(self.rounding, int):
                raise PolicyError(f"{where}: rounding is an integer base, got {self.rounding!r}")
            if self.rounding < 2:
                raise PolicyError(f"{where}: rounding base must be >= 2, got {self.rounding}")
            if self.mean is not None:
                raise PolicyError(f"{where}: rounding applies to count and sum tables")
            if suppression_rules:
                raise PolicyError(
                    f"{where}: rounding replaces suppression; remove min_cell, dominance, "
                    "p_percent and group_share or remove rounding"
                )
        if self.rounding_method not in ("random", "controlled"):
            raise PolicyError(
                f"{where}: rounding_method must be 'random' or 'controlled', "
                f"got {self.rounding_method!r}"
            )
        if self.dp is not None:
            if suppression_rules or self.rounding is not None:
                raise PolicyError(
                    f"{where}: a DP table is protected by its noise; remove min_cell, "
                    "dominance, p_percent, group_share and rounding"
                )
            if self.weight is not None:
                raise PolicyError(
                    f"{where}: DP tables cannot use sampling weights (their sensitivity is "
                    "unbounded); remove weight"
                )
            if self.count is False and self.dp.bounds is None:
                col = self.sum or self.mean
                raise PolicyError(
                    f"{where}: a DP {self.statistic} needs public bounds for {col!r}: "
                    f"set columns.{col}.bounds: [lo, hi] in the policy"
                )
        if self.cost not in ("value", "cells"):
            raise PolicyError(f"{where}: cost must be 'value' or 'cells', got {self.cost!r}")

    @property
    def statistic(self) -> Statistic:
        """``count``, ``sum`` or ``mean``: also the name of the value column."""
        if self.count:
            return "count"
        return "sum" if self.sum is not None else "mean"

    @property
    def variable(self) -> str | None:
        """The summed or averaged column (None for counts)."""
        return self.sum if self.sum is not None else self.mean

    @property
    def table_name(self) -> str:
        """``name`` or e.g. ``count_by_village_sex``, ``sum_income_by_district_sex``."""
        if self.name:
            return self.name
        var = f"_{self.variable}" if self.variable else ""
        return f"{self.statistic}{var}_by_{'_'.join(self.by)}"

    @property
    def has_primary_rules(self) -> bool:
        """Whether any suppression rule (or a manually suppressed cell) is set."""
        manual = any(c.status == "suppress" for c in self.cells)
        return manual or any(
            x is not None
            for x in (self.min_cell, self.dominance, self.p_percent, self.pq, self.group_share)
        )

    def _check_cells(self, where: str, by: tuple[str, ...]) -> None:
        for control in self.cells:
            unknown = [c for c, _ in control.where if c not in by]
            if not control.where or unknown:
                raise PolicyError(
                    f"{where}: cells.where names {unknown or 'no column'}; use the by "
                    f"variables {list(by)}"
                )
            if control.status is None and control.protection is None:
                raise PolicyError(
                    f"{where}: the cells {control.describe()} need status: suppress | publish "
                    "or protection: SHARE"
                )
            if control.protection is not None and not 0 < control.protection <= 10:
                raise PolicyError(
                    f"{where}: cells protection is a share of the cell's value in (0, 10], "
                    f"got {control.protection!r}"
                )
            if control.status == "publish" and control.protection is not None:
                raise PolicyError(
                    f"{where}: the cells {control.describe()} are to be published: a "
                    "protection level applies to suppressed cells only"
                )
        if self.cells and (self.dp is not None or self.rounding is not None):
            raise PolicyError(
                f"{where}: cells (manual status and protection) apply to suppression tables, "
                "not to DP or rounded tables"
            )

    @classmethod
    def from_policy(cls, entry: Mapping[str, Any], **defaults: Any) -> TableSpec:
        """Build from a policy entry such as ``{by: [village], mean: income, dp: {epsilon: 1}}``.

        Args:
            entry: the mapping from ``outputs.tables``.
            **defaults: DP settings from elsewhere in the policy that the entry may leave out:
                ``bounds`` (of the summed column), ``unit``, ``unit_column``, ``keys``.

        Raises:
            PolicyError: for unknown keys or invalid values.
        """
        allowed = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise PolicyError(
                f"outputs.tables: unknown key(s) {unknown}; allowed: {sorted(allowed)}"
            )
        kwargs = dict(entry)
        dp_entry = kwargs.pop("dp", None)
        dominance = kwargs.get("dominance")
        if isinstance(dominance, Mapping):
            kwargs["dominance"] = (dominance.get("n"), dominance.get("k"))
        if dp_entry is not None:
            dp_allowed = set(DpSpec.__dataclass_fields__)
            dp_unknown = sorted(set(dp_entry) - dp_allowed)
            if dp_unknown:
                raise PolicyError(
                    f"outputs.tables.dp: unknown key(s) {dp_unknown}; allowed: {sorted(dp_allowed)}"
                )
            dp_kwargs = {k: v for k, v in defaults.items() if k in dp_allowed}
            dp_kwargs.update(dp_entry)
            if "bounds" in dp_kwargs and dp_kwargs["bounds"] is not None:
                dp_kwargs["bounds"] = tuple(dp_kwargs["bounds"])
            kwargs["dp"] = DpSpec(**dp_kwargs)
        return cls(**kwargs)
