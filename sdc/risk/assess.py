"""``assess_risk``: every risk figure of a file in one frozen :class:`RiskReport`.

The CLI's ``sdc risk`` calls :func:`assess_risk` and renders the report; ``sdc release``
calls it before and after treatment. The report holds figures only; per-record values (which
a steward may follow up, but which never leave the organisation) are in ``report.records``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from sdc.errors import DataError, PolicyError
from sdc.i18n import _, general
from sdc.io import first_bad
from sdc.risk.diversity import group_counts, l_diversity, t_closeness, top_share
from sdc.risk.engines.base import CountingEngine
from sdc.risk.frequencies import (
    MissingRule,
    all_blank,
    blank_keys_match_all,
    combine_codes,
    encode_keys,
    key_frequencies,
    protection_counts,
)
from sdc.risk.individual import (
    global_risk_threshold,
    high_risk_count,
    household_risk,
    individual_risk,
)
from sdc.risk.numeric import NumericRisk

SCHEMA = "sdc.risk/1"

#: Upper edges of the bins of the individual-risk histogram (the last bin is "> 0.5").
RISK_BINS: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Lower edges of the key-size (f_k) classes of the k-anonymity chart.
FK_CLASSES: tuple[int, ...] = (1, 2, 3, 5, 10, 20, 50)

#: Above this many records ``sdc risk`` leaves SUDA2 and the per-variable contributions out
#: unless asked (``--suda``). Measured with benchmarks/bench_risk_cli.py (8 quasi-identifiers,
#: a weight, one sensitive column, 2 cores): at 250,000 records the whole report with them
#: takes 1.7 s (no blanks) and 7.9 s (5% blanks, wildcard rule) of CPU, within the 2.5 s and
#: 10 s that the report without them takes at 1,000,000 records.
FULL_REPORT_RECORDS = 250_000

#: A progress callback: ``(label, done, total)``; the CLI draws a bar on a terminal.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class RiskThresholds:
    """Limits the data must meet; a limit set to None is reported but not checked.

    Attributes:
        k: every record's key must be shared by at least k records (k-anonymity), >= 2.
        l: minimum distinct l-diversity of every key group for each sensitive variable.
        t: maximum earth mover's distance of a key group to the whole file (t-closeness).
        max_individual_risk: maximum re-identification risk of any record, in (0, 1].
        max_expected_reidentifications: maximum sum of the individual risks.
        group_share: a key group whose most common sensitive value covers at least this
            share is reported as group (attribute) disclosure; in (0.5, 1], default 0.9.
        recursive_c: the constant c of recursive (c, l)-diversity (sdcMicro's default 2).
        max_global_risk: the global risk (mean individual risk) the global risk threshold is
            computed for, in (0, 1), sdcMicro's default 0.01; reported, not checked.
    """

    k: int = 3
    l: int | None = None  # noqa: E741 - the measure is called l
    t: float | None = None
    max_individual_risk: float | None = None
    max_expected_reidentifications: float | None = None
    group_share: float = 0.9
    recursive_c: float = 2.0
    max_global_risk: float = 0.01
    group_share_enforced: bool = False
    l_diversity: Literal["distinct", "entropy", "recursive"] = "distinct"

    def __post_init__(self) -> None:
        problems = []
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 2:
            problems.append(f"k must be a whole number of at least 2, got {self.k!r}")
        if self.l is not None and (
            isinstance(self.l, bool) or not isinstance(self.l, int) or self.l < 2
        ):
            problems.append(f"l must be a whole number of at least 2, got {self.l!r}")
        if self.t is not None and not 0 < self.t <= 1:
            problems.append(f"t must be in (0, 1], got {self.t!r}")
        if self.max_individual_risk is not None and not 0 < self.max_individual_risk <= 1:
            problems.append(
                f"max_individual_risk must be in (0, 1], got {self.max_individual_risk!r}"
            )
        if (
            self.max_expected_reidentifications is not None
            and not self.max_expected_reidentifications >= 0
        ):
            problems.append(
                "max_expected_reidentifications must be 0 or more, got "
                f"{self.max_expected_reidentifications!r}"
            )
        if not 0.5 < self.group_share <= 1:
            problems.append(f"group_share must be in (0.5, 1], got {self.group_share!r}")
        if not self.recursive_c > 0:
            problems.append(f"recursive_c must be positive, got {self.recursive_c!r}")
        if not 0 < self.max_global_risk < 1:
            problems.append(f"max_global_risk must be in (0, 1), got {self.max_global_risk!r}")
        if problems:
            raise PolicyError("thresholds: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The thresholds as a JSON-ready dict (None for limits that are not set)."""
        return {
            "k": self.k,
            "l": self.l,
            "t": self.t,
            "max_individual_risk": self.max_individual_risk,
            "max_expected_reidentifications": self.max_expected_reidentifications,
            "group_share": self.group_share,
            "group_share_enforced": self.group_share_enforced,
            "l_diversity": self.l_diversity,
            "recursive_c": self.recursive_c,
        }


@dataclass(frozen=True)
class KAnonymity:
    """Records whose key is shared by fewer than k records (f_k < k)."""

    k: int
    violations: int
    share: float


@dataclass(frozen=True)
class KRule:
    """k-anonymity as ``release`` and ``check`` accept it under one missing-value rule.

    Attributes:
        rule: ``"category"`` (a blank is one more value) or ``"wildcard"`` (a blank matches
            every value, but never makes a record without blanks of its own reach k, and
            records that are all blank are nobody's neighbour).
        records_below_k: records that reveal a key shared by fewer than k records.
        smallest_key: the smallest such count over records that reveal a key (None when
            every record is all blank).
        suppressed_records: records whose quasi-identifiers are all blank (they reveal no
            key and count toward ``max_suppression``).
    """

    rule: MissingRule
    records_below_k: int
    smallest_key: int | None
    suppressed_records: int


@dataclass(frozen=True)
class HouseholdRisk:
    """Household (hierarchical) risk: sdcMicro's ``hier_risk``, ``hier_risk_ER``."""

    households: int
    global_risk: float
    expected_reidentifications: float
    max_risk: float


@dataclass(frozen=True)
class LDiversity:
    """l-diversity of one sensitive variable over the key groups.

    ``keys_below_l`` / ``records_below_l`` count groups (and their records) whose distinct
    l-diversity is below the policy's l; they are None when no l is set.
    """

    variable: str
    distinct_min: int
    entropy_min: float
    recursive_min: int
    keys_below_l: int | None
    records_below_l: int | None


@dataclass(frozen=True)
class TCloseness:
    """t-closeness of one sensitive variable: the largest EMD of a key group to the file."""

    variable: str
    distance: Literal["ordered", "equal"]
    max_distance: float
    keys_above_t: int | None
    records_above_t: int | None


@dataclass(frozen=True)
class GroupDisclosure:
    """Key groups (of 2 or more records) where one value covers at least ``share``.

    ``worst_share`` is the largest share of one value in any such key group (of 2 or more
    records with the value observed), whether or not it reaches ``share``.
    """

    variable: str
    share: float
    keys: int
    records: int
    worst_share: float = 0.0


@dataclass(frozen=True)
class VariableContribution:
    """What leaving one quasi-identifier out of the key would change.

    Attributes:
        variable: the quasi-identifier.
        sample_uniques_without: sample uniques with the variable left out.
        uniques_drop: fewer sample uniques without it (its contribution to uniqueness).
        expected_reidentifications_without: expected re-identifications without it.
        reidentifications_drop: the drop in expected re-identifications.
        suda: the variable's share of the total SUDA score (None without SUDA).
        importance: the policy's importance of the variable (1 = most important), if any.
    """

    variable: str
    sample_uniques_without: int
    uniques_drop: int
    expected_reidentifications_without: float
    reidentifications_drop: float
    suda: float | None
    importance: int | None


@dataclass(frozen=True)
class SudaSummary:
    """Summary of the SUDA2 scores (per-record scores are in ``records``)."""

    max_msu: int
    dis_fraction: float
    records_with_msu: int
    max_score: float
    max_dis_score: float
    mean_dis_score: float


@dataclass(frozen=True)
class Breach:
    """A policy threshold that does not hold: the measured value against the limit.

    Attributes:
        name: the threshold's policy key (``k``, ``l``, ``group_share``...); JSON readers
            key on it, so it never carries the column.
        value: the measured value.
        limit: the policy's limit.
        variable: the sensitive column the worst value belongs to (``l``, ``t`` and
            ``group_share``), so a steward knows which column to look at; None otherwise.
    """

    name: str
    value: float
    limit: float
    variable: str | None = None

    @property
    def subject(self) -> str:
        """`` for violence`` when the breach belongs to a column, else empty."""
        return _(" for {variable}").format(variable=self.variable) if self.variable else ""

    def describe(self) -> str:
        """One clause for messages, e.g. ``l is 1 for violence (limit 2)``.

        In the report language in force (:func:`sdc.i18n.language`; English outside one).
        """
        return _("{name} is {value}{subject} (limit {limit})").format(
            name=self.name,
            value=general(self.value),
            subject=self.subject,
            limit=general(self.limit),
        )

    def to_dict(self) -> dict[str, Any]:
        """The breach as a JSON-ready dict."""
        return {
            "name": self.name,
            "value": _jsonable(self.value),
            "limit": _jsonable(self.limit),
            "variable": self.variable,
        }


@dataclass(frozen=True)
class SkippedForSize:
    """Measures left out because the file is large (``sdc risk`` without ``--suda``).

    Attributes:
        measures: what was left out: ``"suda"`` and ``"contributions"``.
        records_limit: the size above which they are left out unless asked.
        option: the option of ``sdc risk`` that computes them anyway.
    """

    measures: tuple[str, ...]
    records_limit: int
    option: str = "--suda"

    def to_dict(self) -> dict[str, Any]:
        """The skipped measures as a JSON-ready dict."""
        return {
            "measures": list(self.measures),
            "reason": "size",
            "records_limit": self.records_limit,
            "option": self.option,
        }


@dataclass(frozen=True, eq=False)
class RiskReport:
    """Every risk figure of one file. Build it with :func:`assess_risk`.

    Attributes:
        n_records: number of records.
        quasi, weight, household, sensitive, missing: what was measured and how.
        thresholds: the limits checked.
        n_keys: number of different keys (missing values as a category).
        sample_uniques: records whose key no other record shares (f_k == 1).
        k_anonymity: violations of 2-, 3- and the policy's k-anonymity.
        risk_method: ``"benedetti-franconi"`` with weights, ``"1/fk"`` without.
        global_risk: mean individual risk.
        expected_reidentifications: sum of the individual risks.
        max_risk: the largest individual risk.
        high_risk_records: records with risk > median + 3 MAD and > 0.1 (sdcMicro's count).
        records_above_max_risk: records with risk above ``max_individual_risk`` (if set).
        global_threshold: sdcMicro's global risk threshold: capping every record whose risk is
            above it at it brings the global risk below ``thresholds.max_global_risk``; None
            when the file is already below it (see
            :func:`~sdc.risk.individual.global_risk_threshold`).
        household_risk: household risk figures, or None without a household column.
        l_diversity, t_closeness, group_disclosure: one entry per sensitive variable; key
            groups whose quasi-identifiers are all blank (suppressed records) are left out.
        k_rules: k-anonymity under both missing-value rules (the policy's rule first); the
            ``k`` breach follows the policy's rule.
        contributions: one entry per quasi-identifier, in ``quasi`` order.
        recode_first: quasi-identifiers to recode first, most useful first.
        suda: SUDA2 summary, or None when SUDA was not run.
        skipped: SUDA and the contributions when they were left out for the file's size
            (then ``suda`` is None and ``contributions`` and ``recode_first`` are empty).
        numeric: record linkage and interval disclosure of the numeric columns the policy
            perturbs (:mod:`sdc.risk.numeric`), or None without any; set by the caller,
            which holds the original values.
        risk_histogram: (upper bin edge, records) for the individual risks.
        fk_histogram: (smallest f_k of the class, records) for the key sizes.
        records: one row per input record, in input order: ``row``, ``f_k``, ``F_k``,
            ``r_k``, ``household_risk`` (with a household), ``suda``, ``dis_suda`` (with
            SUDA). Steward-only: never put it in a report that leaves the organisation.
    """

    n_records: int
    quasi: tuple[str, ...]
    weight: str | None
    household: str | None
    sensitive: tuple[str, ...]
    missing: MissingRule
    thresholds: RiskThresholds
    n_keys: int
    sample_uniques: int
    k_anonymity: tuple[KAnonymity, ...]
    risk_method: str
    global_risk: float
    expected_reidentifications: float
    max_risk: float
    high_risk_records: int
    records_above_max_risk: int | None
    global_threshold: float | None
    household_risk: HouseholdRisk | None
    l_diversity: tuple[LDiversity, ...]
    t_closeness: tuple[TCloseness, ...]
    group_disclosure: tuple[GroupDisclosure, ...]
    contributions: tuple[VariableContribution, ...]
    recode_first: tuple[str, ...]
    suda: SudaSummary | None
    risk_histogram: tuple[tuple[float, int], ...]
    fk_histogram: tuple[tuple[int, int], ...]
    records: pd.DataFrame = field(repr=False)
    k_rules: tuple[KRule, ...] = ()
    skipped: SkippedForSize | None = None
    numeric: NumericRisk | None = None

    @property
    def k_rule(self) -> KRule | None:
        """k-anonymity under the policy's missing-value rule."""
        return next((r for r in self.k_rules if r.rule == self.missing), None)

    @property
    def breaches(self) -> list[Breach]:
        """The thresholds that do not hold (empty when every one holds)."""
        th = self.thresholds
        out: list[Breach] = []
        rule = self.k_rule
        if rule is not None and rule.records_below_k and rule.smallest_key is not None:
            out.append(Breach("k", rule.smallest_key, th.k))
        if th.l is not None and self.l_diversity:
            least = min(self.l_diversity, key=lambda ld: _l_of(ld, th.l_diversity))
            worst_l = _l_of(least, th.l_diversity)
            if worst_l < th.l:
                out.append(Breach("l", worst_l, th.l, least.variable))
        if th.t is not None and self.t_closeness:
            farthest = max(self.t_closeness, key=lambda tc: tc.max_distance)
            if farthest.max_distance > th.t:
                out.append(Breach("t", farthest.max_distance, th.t, farthest.variable))
        if th.group_share_enforced and self.group_disclosure:
            worst = max(self.group_disclosure, key=lambda g: g.worst_share)
            if any(g.keys for g in self.group_disclosure):
                out.append(Breach("group_share", worst.worst_share, th.group_share, worst.variable))
        if th.max_individual_risk is not None and self.max_risk > th.max_individual_risk:
            out.append(Breach("max_individual_risk", self.max_risk, th.max_individual_risk))
        limit = th.max_expected_reidentifications
        if limit is not None and self.expected_reidentifications > limit:
            out.append(
                Breach("max_expected_reidentifications", self.expected_reidentifications, limit)
            )
        hh = self.household_risk
        if hh is not None:
            # Every risk threshold holds for households as well: one re-identified member
            # exposes the whole household.
            if th.max_individual_risk is not None and hh.max_risk > th.max_individual_risk:
                out.append(Breach("max_household_risk", hh.max_risk, th.max_individual_risk))
            if limit is not None and hh.expected_reidentifications > limit:
                out.append(
                    Breach(
                        "max_expected_household_reidentifications",
                        hh.expected_reidentifications,
                        limit,
                    )
                )
        return out

    @property
    def max_global_risk(self) -> float:
        """The global risk the global threshold is computed for (``thresholds``)."""
        return self.thresholds.max_global_risk

    @property
    def passed(self) -> bool:
        """True when every threshold holds."""
        return not self.breaches

    def to_dict(self) -> dict[str, Any]:
        """Every figure as a stable, versioned, JSON-serialisable dict (``sdc.risk/1``)."""
        n = self.n_records
        return {
            "schema": SCHEMA,
            "records": n,
            "quasi": list(self.quasi),
            "weight": self.weight,
            "household": self.household,
            "sensitive": list(self.sensitive),
            "missing": self.missing,
            "thresholds": self.thresholds.to_dict(),
            "passed": self.passed,
            "breaches": [b.to_dict() for b in self.breaches],
            "keys": self.n_keys,
            "sample_uniques": {
                "count": self.sample_uniques,
                "share": _share(self.sample_uniques, n),
            },
            "k_anonymity": [
                {"k": ka.k, "violations": ka.violations, "share": _num(ka.share)}
                for ka in self.k_anonymity
            ],
            "k_rules": {
                r.rule: {
                    "k": self.thresholds.k,
                    "records_below_k": r.records_below_k,
                    "smallest_key": r.smallest_key,
                    "suppressed_records": r.suppressed_records,
                }
                for r in self.k_rules
            },
            "individual_risk": {
                "method": self.risk_method,
                "global_risk": _num(self.global_risk),
                "expected_reidentifications": _num(self.expected_reidentifications),
                "max_individual_risk": _num(self.max_risk),
                "high_risk_records": self.high_risk_records,
                "records_above_max_individual_risk": self.records_above_max_risk,
                "global_threshold": _num(self.global_threshold),
                "max_global_risk": _num(self.max_global_risk),
                "histogram": [{"upto": _num(e), "records": c} for e, c in self.risk_histogram],
            },
            "household_risk": None
            if self.household_risk is None
            else {
                "households": self.household_risk.households,
                "global_risk": _num(self.household_risk.global_risk),
                "expected_reidentifications": _num(self.household_risk.expected_reidentifications),
                "max_risk": _num(self.household_risk.max_risk),
            },
            "key_sizes": [{"from": f, "records": c} for f, c in self.fk_histogram],
            "l_diversity": [
                {
                    "variable": ld.variable,
                    "distinct_min": ld.distinct_min,
                    "entropy_min": _num(ld.entropy_min),
                    "recursive_min": ld.recursive_min,
                    "recursive_c": _num(self.thresholds.recursive_c),
                    "keys_below_l": ld.keys_below_l,
                    "records_below_l": ld.records_below_l,
                }
                for ld in self.l_diversity
            ],
            "t_closeness": [
                {
                    "variable": tc.variable,
                    "distance": tc.distance,
                    "max_distance": _num(tc.max_distance),
                    "keys_above_t": tc.keys_above_t,
                    "records_above_t": tc.records_above_t,
                }
                for tc in self.t_closeness
            ],
            "group_disclosure": [
                {
                    "variable": g.variable,
                    "share": _num(g.share),
                    "keys": g.keys,
                    "records": g.records,
                    "worst_share": _num(g.worst_share),
                }
                for g in self.group_disclosure
            ],
            "contributions": [
                {
                    "variable": c.variable,
                    "sample_uniques_without": c.sample_uniques_without,
                    "uniques_drop": c.uniques_drop,
                    "expected_reidentifications_without": _num(
                        c.expected_reidentifications_without
                    ),
                    "reidentifications_drop": _num(c.reidentifications_drop),
                    "suda": _num(c.suda),
                    "importance": c.importance,
                }
                for c in self.contributions
            ],
            "recode_first": list(self.recode_first),
            "numeric_risk": None if self.numeric is None else self.numeric.to_dict(),
            "suda": None
            if self.suda is None
            else {
                "max_msu": self.suda.max_msu,
                "dis_fraction": _num(self.suda.dis_fraction),
                "records_with_msu": self.suda.records_with_msu,
                "max_score": _num(self.suda.max_score),
                "max_dis_score": _num(self.suda.max_dis_score),
                "mean_dis_score": _num(self.suda.mean_dis_score),
            },
            "skipped": None if self.skipped is None else self.skipped.to_dict(),
        }


def assess_risk(
    df: pd.DataFrame,
    *,
    quasi: Sequence[str],
    weight: str | None = None,
    household: str | None = None,
    sensitive: Sequence[str] = (),
    missing: MissingRule = "wildcard",
    thresholds: RiskThresholds = RiskThresholds(),  # noqa: B008 - frozen, immutable default
    max_msu: int | None = None,
    dis_fraction: float = 0.01,
    suda: bool = True,
    importance: Mapping[str, int] | None = None,
    engine: CountingEngine | None = None,
    skip_above: int | None = None,
    progress: Progress | None = None,
) -> RiskReport:
    """Measure the disclosure risk of a file.

    Args:
        df: the data, one row per respondent.
        quasi: quasi-identifiers (the key).
        weight: sampling-weight column; without it the risk is 1/f_k.
        household: household-id column; adds household risk.
        sensitive: sensitive columns for l-diversity, t-closeness and group disclosure.
        missing: ``"wildcard"`` (a missing value matches any value, sdcMicro's rule) or
            ``"category"`` (missing is one more value).
        thresholds: the limits to check.
        max_msu: largest minimal sample unique SUDA2 looks for; None (the default) searches
            every size, as sdcMicro's suda2 does.
        dis_fraction: sampling fraction for the DIS-SUDA score.
        suda: run SUDA2.
        importance: policy importance per quasi-identifier (1 = most important, recode last).
        engine: the counting engine for the key frequencies (default: in-memory numpy);
            every engine gives the same numbers.
        skip_above: with more records than this, SUDA2 and the per-variable contributions
            are left out and ``report.skipped`` says so (``sdc risk`` passes
            :data:`FULL_REPORT_RECORDS` unless ``--suda``); None computes them at any size.
        progress: called as ``(label, done, total)`` during SUDA2 and the contributions.

    Returns:
        The :class:`RiskReport`.

    Raises:
        DataError: a column is missing, a weight is not a positive number, roles overlap.
    """
    quasi = tuple(quasi)
    sensitive = tuple(sensitive)
    _check_columns(df, quasi, weight, household, sensitive, missing)
    importance = dict(importance or {})
    n = len(df)
    weights = _weights(df, weight) if weight is not None else None

    blanks = encode_keys(df, quasi, "wildcard")
    blank = all_blank(blanks)
    # Under the category rule a blank is one more code (the same partition as factorising
    # with missing values kept); SUDA and the contributions work on these codes.
    codes = blanks if missing == "wildcard" else _blank_as_code(blanks)
    # The exact keys (a blank one more value): the key groups of l-diversity, the counts
    # of the category rule, and of the wildcard rule when nothing is blank.
    groups = combine_codes(blanks + 1)
    exact = np.bincount(groups)
    if (engine is None or engine.name == "pandas") and (
        missing == "category" or not (blanks < 0).any()
    ):
        fk = exact[groups]
        Fk = fk.astype(np.float64) if weights is None else np.bincount(groups, weights)[groups]
        if missing == "category":
            fk, Fk = blank_keys_match_all(fk, Fk, blank, weights)
    else:
        fk, Fk = _frequencies(df, quasi, weight, weights, missing, codes, blank, engine)
    risk = individual_risk(fk, Fk if weights is not None else None)

    records = pd.DataFrame({"row": np.arange(n, dtype=np.int64), "f_k": fk, "F_k": Fk, "r_k": risk})
    hh: HouseholdRisk | None = None
    if household is not None:
        hrisk = household_risk(risk, df[household])
        records["household_risk"] = hrisk
        hh = HouseholdRisk(
            households=int(df[household].nunique(dropna=True)) + int(df[household].isna().sum()),
            global_risk=_mean(hrisk),
            expected_reidentifications=float(hrisk.sum()),
            max_risk=_max(hrisk),
        )

    n_keys = len(exact)
    ldiv, tclose, gdisc = _attribute_disclosure(df, groups, sensitive, thresholds, blank)
    k_rules = _k_rules(blanks, missing, thresholds.k, exact[groups])

    skipped = None
    if skip_above is not None and n > skip_above:
        measures = ("suda", "contributions") if suda else ("contributions",)
        skipped = SkippedForSize(measures, skip_above)
    suda_summary: SudaSummary | None = None
    suda_contrib: dict[str, float] = {}
    if suda and skipped is None:
        suda_summary, suda_contrib = _run_suda(
            codes, quasi, records, max_msu, dis_fraction, progress
        )

    sample_uniques = int(np.count_nonzero(fk == 1))
    expected = float(risk.sum())
    contributions: tuple[VariableContribution, ...] = ()
    if skipped is None:
        contributions = _contributions(
            codes,
            weights,
            missing,
            quasi,
            (sample_uniques, expected),
            suda_contrib,
            importance,
            progress,
        )
    ks = sorted({2, 3, thresholds.k})
    k_anonymity = tuple(
        KAnonymity(k, int(np.count_nonzero(fk < k)), _share(int(np.count_nonzero(fk < k)), n))
        for k in ks
    )
    above = (
        None
        if thresholds.max_individual_risk is None
        else int(np.count_nonzero(risk > thresholds.max_individual_risk))
    )
    return RiskReport(
        n_records=n,
        quasi=quasi,
        weight=weight,
        household=household,
        sensitive=sensitive,
        missing=missing,
        thresholds=thresholds,
        n_keys=n_keys,
        sample_uniques=sample_uniques,
        k_anonymity=k_anonymity,
        risk_method="benedetti-franconi" if weights is not None else "1/fk",
        global_risk=_mean(risk),
        expected_reidentifications=expected,
        max_risk=_max(risk),
        high_risk_records=high_risk_count(risk),
        records_above_max_risk=above,
        global_threshold=global_risk_threshold(risk, thresholds.max_global_risk),
        household_risk=hh,
        l_diversity=ldiv,
        t_closeness=tclose,
        group_disclosure=gdisc,
        contributions=contributions,
        recode_first=_recode_first(contributions),
        suda=suda_summary,
        risk_histogram=_risk_histogram(risk),
        fk_histogram=_fk_histogram(fk),
        records=records,
        k_rules=k_rules,
        skipped=skipped,
    )


def _check_columns(
    df: pd.DataFrame,
    quasi: tuple[str, ...],
    weight: str | None,
    household: str | None,
    sensitive: tuple[str, ...],
    missing: str,
) -> None:
    if missing not in ("wildcard", "category"):
        raise DataError(f"missing must be 'wildcard' or 'category', got {missing!r}")
    if not quasi:
        raise DataError("no quasi-identifiers given; name at least one column with role: quasi")
    named = [*quasi, *sensitive] + [c for c in (weight, household) if c is not None]
    absent = [c for c in named if c not in df.columns]
    if absent:
        raise DataError(
            f"{', '.join(map(repr, absent))} not among the data's columns "
            f"({', '.join(map(str, df.columns))}); check the names in the policy"
        )
    dup = sorted({c for c in quasi if quasi.count(c) > 1})
    if dup:
        raise DataError(f"quasi-identifier {', '.join(map(repr, dup))} given more than once")
    both = sorted(set(quasi) & set(sensitive))
    if both:
        raise DataError(
            f"{', '.join(map(repr, both))} is both quasi-identifier and sensitive; "
            "give each column one role"
        )
    for role, col in (("weight", weight), ("household", household)):
        if col is not None and (col in quasi or col in sensitive):
            raise DataError(f"{col!r} is the {role} column and cannot also be a key or sensitive")


def _weights(df: pd.DataFrame, weight: str) -> np.ndarray:
    values = pd.to_numeric(df[weight], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        raise DataError(
            f"weight column {weight!r} must hold positive numbers; {int(bad.sum())} rows do not "
            f"(first: {first_bad(df, bad, weight)}); fix or drop them, or leave out the weight"
        )
    return values


def _frequencies(
    df: pd.DataFrame,
    quasi: tuple[str, ...],
    weight: str | None,
    weights: np.ndarray | None,
    missing: MissingRule,
    codes: np.ndarray,
    blank: np.ndarray,
    engine: CountingEngine | None,
) -> tuple[np.ndarray, np.ndarray]:
    """f_k and F_k of every record under the rule; an all-blank key matches everyone."""
    if engine is None or engine.name == "pandas":
        freq = key_frequencies(codes, weights, missing)
        fk, Fk = freq.fk, freq.Fk
    else:
        counted = engine.key_frequencies(df, list(quasi), weight, missing)
        assert counted.fk is not None and counted.Fk is not None
        fk, Fk = counted.fk, counted.Fk
    if missing == "category":
        fk, Fk = blank_keys_match_all(fk, Fk, blank, weights)
    return fk, Fk


@dataclass(frozen=True)
class RiskLevels:
    """The risk figures that thresholds limit, as :func:`assess_risk` computes them."""

    max_risk: float
    expected_reidentifications: float
    max_household_risk: float | None
    expected_household_reidentifications: float | None

    def breaches(self, th: RiskThresholds) -> list[str]:
        """Names of the risk thresholds (individual and household) these figures break."""
        out = []
        top, total = th.max_individual_risk, th.max_expected_reidentifications
        if top is not None and self.max_risk > top:
            out.append("max_individual_risk")
        if total is not None and self.expected_reidentifications > total:
            out.append("max_expected_reidentifications")
        if top is not None and (self.max_household_risk or 0.0) > top:
            out.append("max_household_risk")
        if total is not None and (self.expected_household_reidentifications or 0.0) > total:
            out.append("max_expected_household_reidentifications")
        return out


def risk_levels(
    df: pd.DataFrame,
    *,
    quasi: Sequence[str],
    weight: str | None = None,
    household: str | None = None,
    missing: MissingRule = "category",
) -> RiskLevels:
    """Only the individual and household risk figures: what a treatment loop needs."""
    quasi = tuple(quasi)
    weights = _weights(df, weight) if weight is not None else None
    blanks = encode_keys(df, quasi, "wildcard")
    codes = blanks if missing == "wildcard" else _blank_as_code(blanks)
    fk, Fk = _frequencies(df, quasi, weight, weights, missing, codes, all_blank(blanks), None)
    risk = individual_risk(fk, Fk if weights is not None else None)
    hrisk = household_risk(risk, df[household]) if household is not None else None
    return RiskLevels(
        max_risk=_max(risk),
        expected_reidentifications=float(risk.sum()),
        max_household_risk=None if hrisk is None else _max(hrisk),
        expected_household_reidentifications=None if hrisk is None else float(hrisk.sum()),
    )


def _blank_as_code(codes: np.ndarray) -> np.ndarray:
    """Codes with a blank (-1) as one more code of its variable (the category rule)."""
    if not (codes < 0).any():
        return codes
    return np.where(codes < 0, codes.max(axis=0, initial=0) + 1, codes)


def _k_rules(
    blanks: np.ndarray, missing: MissingRule, k: int, exact: np.ndarray
) -> tuple[KRule, ...]:
    """k-anonymity under both rules, the policy's first.

    ``exact`` counts each record's exact key (a blank one more value): the category rule's
    count, and the wildcard rule's when nothing is blank.
    """
    blank = all_blank(blanks)
    n = len(blank)
    rules: list[KRule] = []
    for rule in (missing, "wildcard" if missing == "category" else "category"):
        if rule == "wildcard" and (blanks < 0).any():
            counts = protection_counts(blanks, rule)
        else:
            counts = np.where(blank, n, exact)
        shown = counts[~blank]
        rules.append(
            KRule(
                rule=rule,
                records_below_k=int(np.count_nonzero(shown < k)),
                smallest_key=int(shown.min()) if len(shown) else None,
                suppressed_records=int(blank.sum()),
            )
        )
    return tuple(rules)


def _l_of(ld: LDiversity, kind: str) -> float:
    """The smallest l of one sensitive variable in the policy's sense of l-diversity."""
    if kind == "entropy":
        return ld.entropy_min
    if kind == "recursive":
        return ld.recursive_min
    return ld.distinct_min


def attribute_disclosure(
    df: pd.DataFrame,
    quasi: Sequence[str],
    sensitive: Sequence[str],
    thresholds: RiskThresholds,
) -> tuple[tuple[LDiversity, ...], tuple[TCloseness, ...], tuple[GroupDisclosure, ...]]:
    """l-diversity, t-closeness and group disclosure as :func:`assess_risk` reports them.

    Key groups are the records with equal ``quasi`` values, a blank being one more value;
    the counting engines compute the same figures out of core.
    """
    blanks = encode_keys(df, tuple(quasi), "wildcard")
    groups = combine_codes(blanks + 1)
    return _attribute_disclosure(df, groups, tuple(sensitive), thresholds, all_blank(blanks))


def _attribute_disclosure(
    df: pd.DataFrame,
    groups: np.ndarray,
    sensitive: tuple[str, ...],
    th: RiskThresholds,
    blank: np.ndarray,
) -> tuple[tuple[LDiversity, ...], tuple[TCloseness, ...], tuple[GroupDisclosure, ...]]:
    ldiv, tclose, gdisc = [], [], []
    if len(groups) == 0:
        return (), (), ()
    # Records whose key is all blank reveal no key: their group discloses nothing.
    suppressed_group = np.zeros(int(groups.max()) + 1, dtype=bool)
    suppressed_group[groups[blank]] = True
    for var in sensitive:
        gc = group_counts(groups, df[var])
        distinct, entropy, recursive = l_diversity(gc, th.recursive_c)
        # A group whose sensitive values are all missing discloses nothing about them, so
        # l-diversity is judged on the groups with at least one observed value.
        judged = (gc.observed > 0) & ~suppressed_group
        if not judged.any():
            judged = np.ones_like(judged)
        keys_below = records_below = None
        if th.l is not None:
            measure = {"entropy": entropy, "recursive": recursive}.get(th.l_diversity, distinct)
            below = (measure < th.l) & judged
            keys_below = int(below.sum())
            records_below = int(gc.size[below].sum())
        ldiv.append(
            LDiversity(
                var,
                int(distinct[judged].min()),
                float(entropy[judged].min()),
                int(recursive[judged].min()),
                keys_below,
                records_below,
            )
        )
        emd = t_closeness(gc)
        keys_above = records_above = None
        if th.t is not None:
            far = np.nan_to_num(emd, nan=0.0) > th.t
            keys_above = int(far.sum())
            records_above = int(gc.size[far].sum())
        tclose.append(
            TCloseness(
                var,
                "ordered" if gc.ordered else "equal",
                float(np.nanmax(emd)) if np.isfinite(emd).any() else 0.0,
                keys_above,
                records_above,
            )
        )
        share = np.nan_to_num(top_share(gc), nan=0.0)
        eligible = (gc.observed >= 2) & ~suppressed_group
        flagged = eligible & (share >= th.group_share)
        worst = float(share[eligible].max()) if eligible.any() else 0.0
        gdisc.append(
            GroupDisclosure(
                var, th.group_share, int(flagged.sum()), int(gc.size[flagged].sum()), worst
            )
        )
    return tuple(ldiv), tuple(tclose), tuple(gdisc)


def _run_suda(
    codes: np.ndarray,
    quasi: tuple[str, ...],
    records: pd.DataFrame,
    max_msu: int | None,
    dis_fraction: float,
    progress: Progress | None,
) -> tuple[SudaSummary, dict[str, float]]:
    from sdc.risk.suda import suda2  # imported lazily: SUDA2 lives in its own module

    result = suda2(codes, max_msu=max_msu, dis_fraction=dis_fraction, progress=progress)
    score = np.asarray(result.score, dtype=np.float64)
    dis = np.asarray(result.dis_score, dtype=np.float64)
    records["suda"] = score
    records["dis_suda"] = dis
    summary = SudaSummary(
        max_msu=result.max_msu,
        dis_fraction=dis_fraction,
        records_with_msu=int(np.count_nonzero(score > 0)),
        max_score=_max(score),
        max_dis_score=_max(dis),
        mean_dis_score=_mean(dis),
    )
    return summary, {q: float(result.contributions.get(j, 0.0)) for j, q in enumerate(quasi)}


def _contributions(
    codes: np.ndarray,
    weights: np.ndarray | None,
    missing: MissingRule,
    quasi: tuple[str, ...],
    base: tuple[int, float],
    suda_contrib: Mapping[str, float],
    importance: Mapping[str, int],
    progress: Progress | None = None,
) -> tuple[VariableContribution, ...]:
    """What leaving out each quasi-identifier changes; ``base`` = (uniques, expected)."""
    uniques, expected = base
    m = codes.shape[1]
    without = _figures_without if (codes >= 0).all() else _wildcard_figures_without
    table: tuple[Any, ...]
    if without is _figures_without:
        # Keys without blanks: count on the distinct keys, once each, not on the records.
        row_id = combine_codes(codes)
        distinct = np.unique(row_id, return_index=True)[1]
        table = (
            codes[distinct],
            np.bincount(row_id).astype(np.float64),
            None if weights is None else np.bincount(row_id, weights=weights),
        )
        # The same sum over the same groups: a variable that changes nothing drops 0.0.
        expected = _figures_without(table, None)[1]
    else:
        table = (codes, weights, missing)
    out = []
    for j, var in enumerate(quasi):
        u, e = without(table, j)
        out.append(
            VariableContribution(
                variable=var,
                sample_uniques_without=u,
                uniques_drop=uniques - u,
                expected_reidentifications_without=e,
                reidentifications_drop=expected - e,
                suda=suda_contrib.get(var),
                importance=importance.get(var),
            )
        )
        if progress is not None:
            progress("per-variable contributions", j + 1, m)
    return tuple(out)


def _figures_without(table: tuple[Any, ...], j: int | None) -> tuple[int, float]:
    """Sample uniques and expected re-identifications on distinct keys without variable j.

    ``table`` is (distinct keys, records per key, weight per key or None); j None keeps
    every variable.
    """
    keys, count, weight = table
    rest = keys if j is None else np.delete(keys, j, axis=1)
    group = combine_codes(rest)
    fk = np.bincount(group, weights=count)
    Fk = None if weight is None else np.bincount(group, weights=weight)
    risk = individual_risk(fk, Fk)
    return int(np.count_nonzero(fk == 1)), float(fk @ risk)


def _wildcard_figures_without(table: tuple[Any, ...], j: int | None) -> tuple[int, float]:
    """The same on the records, under the wildcard rule (keys with blanks)."""
    codes, weights, missing = table
    rest = codes if j is None else np.delete(codes, j, axis=1)
    freq = key_frequencies(rest, weights, missing)
    risk = individual_risk(freq.fk, freq.Fk if weights is not None else None)
    return int(np.count_nonzero(freq.fk == 1)), float(risk.sum())


def _recode_first(contributions: tuple[VariableContribution, ...]) -> tuple[str, ...]:
    """Variables worth recoding: those that create uniques or risk, least important first.

    Variables without a policy importance come first, then those with the largest importance
    number (least important); within each, the larger drop in sample uniques (then in
    expected re-identifications) first.
    """
    useful = [c for c in contributions if c.uniques_drop > 0 or c.reidentifications_drop > 1e-12]

    def order(c: VariableContribution) -> tuple[float, float, float]:
        rank = -math.inf if c.importance is None else -float(c.importance)
        return (rank, -c.uniques_drop, -c.reidentifications_drop)

    return tuple(c.variable for c in sorted(useful, key=order))


def _risk_histogram(risk: np.ndarray) -> tuple[tuple[float, int], ...]:
    edges = np.asarray(RISK_BINS)
    idx = np.searchsorted(edges, risk, side="left")
    counts = np.bincount(np.minimum(idx, len(edges) - 1), minlength=len(edges))
    return tuple((float(e), int(c)) for e, c in zip(edges, counts, strict=True))


def _fk_histogram(fk: np.ndarray) -> tuple[tuple[int, int], ...]:
    lows = np.asarray(FK_CLASSES)
    idx = np.searchsorted(lows, fk, side="right") - 1
    counts = np.bincount(idx, minlength=len(lows))
    return tuple((int(lo), int(c)) for lo, c in zip(lows, counts, strict=True))


def _share(count: int, n: int) -> float:
    return count / n if n else 0.0


def _mean(a: np.ndarray) -> float:
    return float(a.mean()) if len(a) else 0.0


def _max(a: np.ndarray) -> float:
    return float(a.max()) if len(a) else 0.0


def _jsonable(x: float) -> int | float | None:
    """Whole numbers (k, l) stay ints; other values go through :func:`_num`."""
    return x if isinstance(x, int) else _num(x)


def _num(x: float | None) -> float | None:
    """A JSON-safe float: None for None and NaN."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x
