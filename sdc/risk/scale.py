"""Risk of census-size files through a counting engine (``sdc risk --engine duckdb|spark``).

Files larger than memory never come back to Python: the engine counts keys where the data
are and returns its summary figures and the distinct ``(f_k, F_k)`` pairs with their
multiplicities. Every frequency-based measure follows from those: k-anonymity, sample
uniques, individual risk (Benedetti-Franconi is a function of ``(f_k, F_k)`` alone), global
risk and expected re-identifications, and the histograms. l-diversity and group
disclosure of the sensitive columns are counted by the engine too (one row of figures per
column, :meth:`~sdc.risk.engines.CountingEngine.attribute_disclosure`). Measures that need
the records themselves (t-closeness, SUDA2, variable contributions) are left to the
in-memory engine and listed as not computed, never silently zero; household risk is counted
by the engine when the policy names a household column.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import DataError
from sdc.i18n import _
from sdc.risk.assess import (
    FK_CLASSES,
    RISK_BINS,
    SCHEMA,
    Breach,
    GroupDisclosure,
    HouseholdRisk,
    LDiversity,
    RiskThresholds,
)
from sdc.risk.engines.base import (
    CountingEngine,
    DataSource,
    DiversitySummary,
    FrequencyResult,
    source_name,
)
from sdc.risk.frequencies import MissingRule
from sdc.risk.individual import individual_risk

#: Measures only the in-memory engine computes.
IN_MEMORY_ONLY = ("t_closeness", "suda", "contributions")


@dataclass(frozen=True)
class ScaleRiskReport:
    """Frequency-based risk figures of a file counted by an engine.

    Attributes:
        engine: the engine that counted (``pandas``, ``duckdb`` or ``spark``).
        n_records, quasi, weight, household, missing, thresholds: what was measured.
        keys: distinct combinations of key values.
        sample_uniques: records with ``f_k == 1``.
        below_k: records with ``f_k < k`` for k = 2, 3 and the policy's k.
        min_fk: the smallest key frequency.
        global_risk, expected_reidentifications, max_risk: as in :class:`RiskReport`.
        risk_method: ``benedetti-franconi`` with weights, ``1/fk`` without.
        records_above_max_risk: records over ``max_individual_risk`` (if set).
        global_threshold: sdcMicro's risk threshold for ``thresholds.max_global_risk``.
        risk_histogram, fk_histogram: as in :class:`RiskReport`.
        records_path: the Parquet file of per-record results, when asked for.
        sensitive: the sensitive columns.
        l_diversity, group_disclosure: one entry per sensitive column, as in
            :class:`RiskReport` (counted by the engine).

    With a household column the engine also counts household risk (sdcMicro's
    ``1 - prod(1 - r_i)`` over each household's members, :class:`HouseholdRisk`), judged
    against the same limits as in memory.
    """

    engine: str
    n_records: int
    quasi: tuple[str, ...]
    weight: str | None
    household: str | None
    missing: MissingRule
    thresholds: RiskThresholds
    keys: int
    sample_uniques: int
    below_k: tuple[tuple[int, int], ...]
    min_fk: int
    risk_method: str
    global_risk: float
    expected_reidentifications: float
    max_risk: float
    records_above_max_risk: int | None
    global_threshold: float | None
    risk_histogram: tuple[tuple[float, int], ...]
    fk_histogram: tuple[tuple[int, int], ...]
    records_path: str | None = field(default=None)
    sensitive: tuple[str, ...] = ()
    l_diversity: tuple[LDiversity, ...] = ()
    group_disclosure: tuple[GroupDisclosure, ...] = ()
    household_risk: HouseholdRisk | None = None

    @property
    def not_computed(self) -> tuple[str, ...]:
        """Measures of the in-memory report this one leaves out."""
        missing_household = self.household is not None and self.household_risk is None
        return IN_MEMORY_ONLY + (("household_risk",) if missing_household else ())

    @property
    def breaches(self) -> list[Breach]:
        """Frequency-based thresholds that do not hold (a NaN figure never passes)."""
        th = self.thresholds
        out = []
        if self.n_records and not (self.min_fk >= th.k):
            out.append(Breach("k", self.min_fk, th.k))
        out += self._attribute_breaches()
        limit = th.max_individual_risk
        if limit is not None and not (self.max_risk <= limit):
            out.append(Breach("max_individual_risk", self.max_risk, limit))
        limit = th.max_expected_reidentifications
        if limit is not None and not (self.expected_reidentifications <= limit):
            out.append(
                Breach("max_expected_reidentifications", self.expected_reidentifications, limit)
            )
        return out + self._household_breaches()

    def _household_breaches(self) -> list[Breach]:
        """Every risk limit holds for households too, as :attr:`RiskReport.breaches` says."""
        th, hh = self.thresholds, self.household_risk
        if hh is None:
            return []
        out = []
        if th.max_individual_risk is not None and not (hh.max_risk <= th.max_individual_risk):
            out.append(Breach("max_household_risk", hh.max_risk, th.max_individual_risk))
        limit = th.max_expected_reidentifications
        if limit is not None and not (hh.expected_reidentifications <= limit):
            out.append(
                Breach(
                    "max_expected_household_reidentifications", hh.expected_reidentifications, limit
                )
            )
        return out

    def _attribute_breaches(self) -> list[Breach]:
        """The l and group-share limits, judged as :attr:`RiskReport.breaches` judges them."""
        th = self.thresholds
        out = []
        if th.l is not None and self.l_diversity:
            measure = {"entropy": "entropy_min", "recursive": "recursive_min"}.get(
                th.l_diversity, "distinct_min"
            )
            least = min(self.l_diversity, key=lambda ld: getattr(ld, measure))
            if getattr(least, measure) < th.l:
                out.append(Breach("l", getattr(least, measure), th.l, least.variable))
        if th.group_share_enforced and any(g.keys for g in self.group_disclosure):
            worst = max(self.group_disclosure, key=lambda g: g.worst_share)
            out.append(Breach("group_share", worst.worst_share, th.group_share, worst.variable))
        return out

    @property
    def passed(self) -> bool:
        """Whether every frequency-based threshold holds."""
        return not self.breaches

    def to_dict(self) -> dict[str, Any]:
        """The JSON report: the ``sdc.risk/1`` fields an engine can compute, plus ``engine``."""
        n = self.n_records
        return {
            "schema": SCHEMA,
            "engine": self.engine,
            "records": n,
            "quasi": list(self.quasi),
            "weight": self.weight,
            "household": self.household,
            "missing": self.missing,
            "thresholds": self.thresholds.to_dict(),
            "passed": self.passed,
            "breaches": [b.to_dict() for b in self.breaches],
            "keys": self.keys,
            "sample_uniques": {
                "count": self.sample_uniques,
                "share": _share(self.sample_uniques, n),
            },
            "k_anonymity": [
                {"k": k, "violations": v, "share": _share(v, n)} for k, v in self.below_k
            ],
            "individual_risk": {
                "method": self.risk_method,
                "global_risk": self.global_risk,
                "expected_reidentifications": self.expected_reidentifications,
                "max_individual_risk": self.max_risk,
                "records_above_max_individual_risk": self.records_above_max_risk,
                "global_threshold": self.global_threshold,
                "max_global_risk": self.thresholds.max_global_risk,
                "histogram": [{"up_to": e, "records": c} for e, c in self.risk_histogram],
            },
            "key_sizes": [{"from": lo, "records": c} for lo, c in self.fk_histogram],
            "sensitive": list(self.sensitive),
            "l_diversity": [
                {
                    "variable": ld.variable,
                    "distinct_min": ld.distinct_min,
                    "entropy_min": ld.entropy_min,
                    "recursive_min": ld.recursive_min,
                    "recursive_c": self.thresholds.recursive_c,
                    "keys_below_l": ld.keys_below_l,
                    "records_below_l": ld.records_below_l,
                }
                for ld in self.l_diversity
            ],
            "group_disclosure": [
                {
                    "variable": g.variable,
                    "share": g.share,
                    "keys": g.keys,
                    "records": g.records,
                    "worst_share": g.worst_share,
                }
                for g in self.group_disclosure
            ],
            "household_risk": None
            if self.household_risk is None
            else {
                "households": self.household_risk.households,
                "global_risk": self.household_risk.global_risk,
                "expected_reidentifications": self.household_risk.expected_reidentifications,
                "max_risk": self.household_risk.max_risk,
            },
            "not_computed": list(self.not_computed),
            "records_path": self.records_path,
        }


def assess_at_scale(
    source: DataSource,
    *,
    quasi: Sequence[str],
    weight: str | None = None,
    missing: MissingRule = "wildcard",
    thresholds: RiskThresholds = RiskThresholds(),  # noqa: B008 - frozen, immutable default
    counter: CountingEngine,
    records_path: str | os.PathLike[str] | None = None,
    household: str | None = None,
    sensitive: Sequence[str] = (),
) -> ScaleRiskReport:
    """Measure the frequency-based risk of a file with a counting engine.

    Args:
        source: a CSV or Parquet path (or a DataFrame).
        quasi: the quasi-identifiers.
        weight: the sampling-weight column, or None.
        missing: the missing-value rule.
        thresholds: the limits to check.
        counter: the counting engine (:func:`sdc.risk.engines.get_engine`).
        records_path: write per-record ``row, f_k, F_k, r_k`` to this Parquet file.
        household: the household-id column, or None; adds household risk, counted by the
            engine.
        sensitive: sensitive columns; l-diversity and group disclosure of each are counted
            by the engine, with the thresholds' l, l_diversity, recursive_c and group_share.

    Raises:
        DataError: the data have no records, a weight is missing, not a number, not
            positive or infinite, or the engine cannot read the file.
    """
    if isinstance(source, pd.DataFrame) and len(source) == 0:
        raise DataError("the data have no records; there is nothing to assess")
    result = counter.key_frequencies(
        source,
        list(quasi),
        weight,
        missing,
        k=thresholds.k,
        risk=individual_risk,
        household=household,
        out_path=records_path,
        per_record=records_path is not None,
    )
    if result.summary.records == 0:
        # Engines refuse empty files themselves; this guards any other source.
        raise DataError(f"{source_name(source)}: has no records; there is nothing to assess")
    report = _report(result, quasi, weight, household, missing, thresholds)
    if not sensitive:
        return report
    figures = counter.attribute_disclosure(
        source,
        list(quasi),
        list(sensitive),
        l=thresholds.l,
        l_measure=thresholds.l_diversity,
        recursive_c=thresholds.recursive_c,
        group_share=thresholds.group_share,
    )
    return replace(
        report,
        sensitive=tuple(sensitive),
        l_diversity=tuple(_l_diversity(f) for f in figures),
        group_disclosure=tuple(_group_disclosure(f) for f in figures),
    )


def _l_diversity(f: DiversitySummary) -> LDiversity:
    return LDiversity(
        f.variable,
        f.distinct_min,
        f.entropy_min,
        f.recursive_min,
        f.keys_below_l,
        f.records_below_l,
    )


def _group_disclosure(f: DiversitySummary) -> GroupDisclosure:
    return GroupDisclosure(f.variable, f.share, f.share_keys, f.share_records, f.worst_share)


def _report(
    result: FrequencyResult,
    quasi: Sequence[str],
    weight: str | None,
    household: str | None,
    missing: MissingRule,
    thresholds: RiskThresholds,
) -> ScaleRiskReport:
    summary = result.summary
    pairs = result.pairs
    fk = pairs["f_k"].to_numpy(dtype=np.int64)
    count = pairs["records"].to_numpy(dtype=np.int64)
    risk = pairs["r_k"].to_numpy(dtype=np.float64)
    n = summary.records
    below = tuple((k, int(count[fk < k].sum())) for k in sorted({2, 3, thresholds.k}))
    edges = np.asarray(RISK_BINS)
    risk_bin = np.minimum(np.searchsorted(edges, risk, side="left"), len(edges) - 1)
    risk_hist = np.bincount(risk_bin, weights=count, minlength=len(edges)).astype(np.int64)
    classes = np.asarray(FK_CLASSES)
    fk_bin = np.searchsorted(classes, fk, side="right") - 1
    fk_hist = np.bincount(fk_bin, weights=count, minlength=len(classes)).astype(np.int64)
    limit = thresholds.max_individual_risk
    return ScaleRiskReport(
        engine=result.engine,
        n_records=n,
        quasi=tuple(quasi),
        weight=weight,
        household=household,
        missing=missing,
        thresholds=thresholds,
        keys=summary.keys,
        sample_uniques=summary.sample_uniques,
        below_k=below,
        min_fk=int(fk.min()) if len(fk) else 0,
        risk_method="benedetti-franconi" if weight else "1/fk",
        global_risk=float(summary.risk_mean or 0.0),
        expected_reidentifications=float(summary.risk_sum or 0.0),
        max_risk=float(summary.risk_max or 0.0),
        records_above_max_risk=int(count[~(risk <= limit)].sum()) if limit is not None else None,
        global_threshold=weighted_global_threshold(risk, count, thresholds.max_global_risk),
        risk_histogram=tuple((float(e), int(c)) for e, c in zip(edges, risk_hist, strict=True)),
        fk_histogram=tuple((int(lo), int(c)) for lo, c in zip(classes, fk_hist, strict=True)),
        records_path=str(result.out_path) if result.out_path is not None else None,
        household_risk=_household(result, n),
    )


def _household(result: FrequencyResult, n: int) -> HouseholdRisk | None:
    """The household figures the engine counted, as the in-memory report holds them."""
    s = result.summary
    if s.households is None:
        return None
    total = float(s.household_risk_sum or 0.0)
    return HouseholdRisk(
        households=s.households,
        global_risk=total / n if n else 0.0,
        expected_reidentifications=total,
        max_risk=float(s.household_risk_max or 0.0),
    )


def weighted_global_threshold(
    risk: np.ndarray, count: np.ndarray, max_global_risk: float
) -> float | None:
    """The global risk threshold of sdcMicro, from distinct risks and their record counts.

    The same rule as :func:`sdc.risk.individual.global_risk_threshold` (which walks the
    sorted per-record risks), computed per distinct risk so that census files never expand
    to one value per record: at each drop in the sorted risks, the global sum with the
    records above capped at that risk is compared with ``max_global_risk * n``. Sums are
    accumulated per distinct value, so a tie exactly at the limit may resolve differently.
    """
    if len(risk) == 0 or count.sum() == 0:
        return None
    order = np.argsort(-risk, kind="stable")
    values, first = np.unique(-risk[order], return_index=True)
    values = -values  # distinct risks, high to low
    counts = np.add.reduceat(count[order].astype(np.float64), first)
    n = counts.sum()
    target = max_global_risk * n
    mass = values * counts
    total = float(mass.sum())
    if total < target:
        return None
    above = np.concatenate(([0.0], np.cumsum(counts)[:-1]))  # records with a higher risk
    removed = np.concatenate(([0.0], np.cumsum(mass)[:-1]))
    capped = (total - removed) + above * values
    below = np.flatnonzero(capped[1:] < target) + 1
    if len(below):
        return float(values[below[0]])
    return None if values[-1] == 0.0 else 0.0


def _share(count: int, n: int) -> float:
    return count / n if n else 0.0


def scale_text(report: ScaleRiskReport) -> str:
    """A short terminal summary (no record values: only counts and rates)."""
    th = report.thresholds
    rows = [
        ("records", f"{report.n_records:,}", ""),
        ("smallest group (k-anonymity)", f"{report.min_fk:,}", str(th.k)),
        ("sample uniques", _count_share(report.sample_uniques, report.n_records), ""),
    ]
    rows += [
        (f"records below k = {k}", _count_share(v, report.n_records), "") for k, v in report.below_k
    ]
    rows += [
        ("global risk (mean)", f"{report.global_risk:.2%}", ""),
        (
            "expected re-identifications",
            f"{report.expected_reidentifications:,.2f}",
            _opt(th.max_expected_reidentifications),
        ),
        ("highest individual risk", f"{report.max_risk:.3g}", _opt(th.max_individual_risk)),
    ]
    hh = report.household_risk
    if hh is not None:
        rows += [
            ("households", f"{hh.households:,}", ""),
            (
                "expected household re-identifications",
                f"{hh.expected_reidentifications:,.2f}",
                _opt(th.max_expected_reidentifications),
            ),
            ("highest household risk", f"{hh.max_risk:.3g}", _opt(th.max_individual_risk)),
        ]
    rows += _attribute_rows(report)
    failed = {b.name for b in report.breaches}
    names = {
        "smallest group (k-anonymity)": "k",
        "expected re-identifications": "max_expected_reidentifications",
        "highest individual risk": "max_individual_risk",
        "expected household re-identifications": "max_expected_household_reidentifications",
        "highest household risk": "max_household_risk",
    }
    for ld, g in zip(report.l_diversity, report.group_disclosure, strict=True):
        names[_("l-diversity of {variable} (distinct, min)").format(variable=ld.variable)] = "l"
        names[_group_label(g)] = "group_share"
    rows.insert(0, ("measure", "value", "limit"))
    width = max(len(r[0]) for r in rows)
    lines = [
        f"Risk of {report.n_records:,} records counted with the {report.engine} engine; "
        f"key: {', '.join(report.quasi)}" + (f"; weight: {report.weight}" if report.weight else ""),
        "",
    ]
    for label, value, limit in rows:
        status = "status" if label == "measure" else ""
        if limit and label != "measure":
            status = "FAIL" if names.get(label) in failed else "ok"
        lines.append(f"  {label.ljust(width)}  {value:>16}  {limit:>6}  {status}")
    lines.append("")
    lines.append(
        "Not computed by this engine (they need the records in memory): "
        + ", ".join(m.replace("_", "-") for m in report.not_computed)
        + ". Run without --engine on a sample for them."
    )
    if report.records_path:
        lines.append(f"Per-record risks (steward only): {report.records_path}")
    return "\n".join(lines)


def _attribute_rows(report: ScaleRiskReport) -> list[tuple[str, str, str]]:
    """Rows of the l-diversity and group-disclosure figures, one of each per variable."""
    th = report.thresholds
    rows = []
    for ld, g in zip(report.l_diversity, report.group_disclosure, strict=True):
        rows.append(
            (
                _("l-diversity of {variable} (distinct, min)").format(variable=ld.variable),
                f"{ld.distinct_min:,}",
                _opt(th.l),
            )
        )
        rows.append(
            (
                _group_label(g),
                f"{g.keys:,}",
                _opt(th.group_share) if th.group_share_enforced else "",
            )
        )
    return rows


def _group_label(g: GroupDisclosure) -> str:
    return _("groups where one value of {variable} covers {share} or more").format(
        variable=g.variable, share=f"{g.share:.0%}"
    )


def _count_share(count: int, n: int) -> str:
    return f"{count:,} ({_share(count, n):.1%})"


def _opt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
