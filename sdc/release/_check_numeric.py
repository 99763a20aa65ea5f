"""``sdc check`` of the numeric risk and utility figures the manifest records.

From the bundle alone (item ``numeric risk``): the manifest measures exactly the numeric
columns the officer's policy perturbs or top codes (:func:`sdc.risk.numeric.numeric_columns`),
after treatment (``risk.after.numeric_risk``) and as collected (``risk.before``, where both
shares are 1 by definition: every record is its own nearest neighbour), and its utility
figures (``microdata.utility``) name the same columns. The figures are informational, not
thresholds: a manifest without any of them (an older bundle) passes with a note; one that
holds only some of them fails.

With the input (item ``input numeric risk``): the measures that need no pairing of records
(the eigenvalue measure and IL_correl) are recomputed from the input and the released file.
Record linkage, interval disclosure and IL1s compare each released record with its own
original, and the release shuffles the records; so they are recomputed only when nothing
random treats the columns (top coding, microaggregation, multivariate top coding): the
treatment is re-run on the input, the released rows of those columns must be its rows (as
multisets), and the figures of the re-run must be the manifest's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from sdc.anonymize.utility import numeric_utility
from sdc.io import Table
from sdc.policy import Policy
from sdc.release.check import CheckItem, _excess, _rows
from sdc.release.manifest import ManifestFieldError, NumericRisk, NumericUtility, read_model
from sdc.release.plan import texts
from sdc.risk.numeric import numeric_columns, numeric_risk

__all__ = ["check_microaggregation", "check_numeric_input", "check_numeric_risk"]

#: Figures agree when within this relative (and absolute) tolerance: a CSV round trip
#: keeps every digit, but sums may be added in another order.
_TOLERANCE = 1e-9


def _claims(manifest: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``risk.before.numeric_risk``, ``risk.after.numeric_risk``, ``microdata.utility``."""
    risk = manifest.get("risk") if isinstance(manifest.get("risk"), dict) else {}
    micro = manifest.get("microdata") if isinstance(manifest.get("microdata"), dict) else {}
    found = []
    for where, section, key, model in (
        ("risk.before", (risk or {}).get("before"), "numeric_risk", NumericRisk),
        ("risk.after", (risk or {}).get("after"), "numeric_risk", NumericRisk),
        ("microdata", micro, "utility", NumericUtility),
    ):
        value = section.get(key) if isinstance(section, dict) else None
        found.append(None if value is None else read_model(model, value, f"{where}.{key}"))
    return found[0], found[1], found[2]


def check_numeric_risk(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    """The ``numeric risk`` item (empty when neither the policy nor the bundle has any)."""
    wanted = numeric_columns(policy)
    try:
        before, after, utility = _claims(manifest)
    except ManifestFieldError as exc:
        return [CheckItem("numeric risk", False, str(exc))]
    if not wanted and after is None and utility is None:
        return []
    if before is None and after is None and utility is None:
        # Informational figures, not a threshold: a bundle made before sdc measured them
        # is not refused for lacking them (one that holds only some of them is).
        return [
            CheckItem(
                "numeric risk",
                True,
                f"the manifest records no numeric risk or utility of {_names(wanted)} (a "
                "bundle made before sdc measured them): nothing to verify",
            )
        ]
    problems: list[str] = []
    for label, claim in (
        ("risk.after.numeric_risk", after),
        ("risk.before.numeric_risk", before),
        ("microdata.utility", utility),
    ):
        if claim is None:
            problems.append(f"the manifest has no {label} (the policy perturbs {_names(wanted)})")
        elif list(claim.columns) != wanted:
            problems.append(
                f"{label} measures {_names(claim.columns)} but the policy perturbs or top codes "
                f"{_names(wanted)}"
            )
    if after is not None and not after.treated:
        problems.append("risk.after.numeric_risk is not marked as measured after treatment")
    if before is not None:
        for name in ("relinked_share", "interval_disclosure"):
            value = getattr(before, name)
            if before.treated or (value is not None and value != 1):
                problems.append(
                    f"risk.before.numeric_risk.{name} is {value!r}: before treatment every "
                    "record is its own nearest (1 by definition)"
                )
    if problems:
        return [CheckItem("numeric risk", False, "; ".join(problems))]
    assert after is not None
    return [
        CheckItem(
            "numeric risk",
            True,
            f"{_names(wanted)}: an intruder with the original values re-links "
            f"{_share(after.relinked_share)} of the records (manifest; record linkage), "
            f"interval disclosure {_share(after.interval_disclosure)}",
        )
    ]


def check_numeric_input(
    manifest: dict[str, Any], policy: Policy, released: pd.DataFrame, data: Table
) -> list[CheckItem]:
    """The ``input numeric risk`` item: the manifest's figures recomputed where possible."""
    from sdc.release.microdata import recompute_numeric

    wanted = [c for c in numeric_columns(policy) if c in released.columns]
    try:
        _, after, utility = _claims(manifest)
    except ManifestFieldError:
        return []  # the numeric risk item says so
    if not wanted or after is None or utility is None:
        return []
    name = data.path.name
    problems: list[str] = []
    order_free = numeric_utility(data.frame, released, wanted) or {}
    for key in ("eigen", "il_correl"):
        problems += _differs(f"microdata.utility.{key}", getattr(utility, key), order_free.get(key))
    recomputed = recompute_numeric(data.frame, policy, wanted)
    if recomputed is None:
        note = (
            "record linkage, interval disclosure and IL1s pair each released record with its "
            "original, which a random treatment and the released order hide: not recomputed"
        )
    else:
        excess = _excess(
            _rows([texts(released[c]) for c in wanted]),
            _rows([texts(recomputed[c]) for c in wanted]),
        )
        if excess:
            problems.append(
                f"{excess} released record(s) of {_names(wanted)} are not {name}'s after the "
                "policy's treatment of them, recomputed"
            )
        risk = numeric_risk(data.frame, recomputed, wanted)
        full = numeric_utility(data.frame, recomputed, wanted) or {}
        if risk is not None:
            problems += _differs(
                "risk.after.numeric_risk.relinked_share", after.relinked_share, risk.relinked_share
            )
            problems += _differs(
                "risk.after.numeric_risk.interval_disclosure",
                after.interval_disclosure,
                risk.interval_disclosure,
            )
        problems += _differs("microdata.utility.il1s", utility.il1s, full.get("il1s"))
        note = (
            f"the treatment re-run on {name} gives the released rows and re-links "
            f"{_share(after.relinked_share)} of the records, as the manifest says"
        )
    if problems:
        return [CheckItem("input numeric risk", False, "; ".join(problems))]
    return [
        CheckItem(
            "input numeric risk",
            True,
            f"{_names(wanted)}: eigenvalue measure and IL_correl recomputed from {name} and "
            f"the released file, as the manifest says; {note}",
        )
    ]


def _differs(label: str, claimed: float | None, actual: float | None) -> list[str]:
    if claimed is None and actual is None:
        return []
    if (
        claimed is None
        or actual is None
        or not math.isclose(claimed, actual, rel_tol=_TOLERANCE, abs_tol=_TOLERANCE)
    ):
        return [f"{label} is {claimed!r} but recomputed {actual!r}"]
    return []


def _names(columns: Any) -> str:
    return ", ".join(columns) if columns else "no column"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def check_microaggregation(released: pd.DataFrame, policy: Policy) -> list[CheckItem]:
    """The ``microaggregation`` item: every released value group holds at least ``k`` records.

    From the released file alone. For ``mdav`` and ``pca`` each combination of the
    microaggregated columns' values (a blank is a value; records blank in all of them are
    left out) must be shared by at least ``k`` records, for ``individual`` each value of
    each column; with ``strata``, within each stratum (the strata columns join the key,
    unless a later step changes them). Columns a later step changes (noise, swapping,
    suppression of a quasi-identifier, a later recode) are not checked, and say so.
    """
    from sdc.release.microdata import microaggregation_groups

    spec = policy.outputs.microdata
    if spec is None or "microaggregation" not in spec.treatments:
        return []
    later = spec.treatments[spec.treatments.index("microaggregation") + 1 :]
    shown, problems, skipped = [], [], []
    for (k, method, strata, _weighted), names in microaggregation_groups(policy).items():
        if not all(c in released.columns for c in names):
            continue  # the columns item names a missing column
        if any(_changed_after(policy, c, later) for c in names):
            skipped += names
            continue
        within = [
            s for s in strata if s in released.columns and not _changed_after(policy, s, later)
        ]
        keys = [[*within, *names]] if method != "individual" else [[*within, c] for c in names]
        smallest: int | None = None
        below = 0
        for key in keys:
            counts = _group_counts(released, key, len(within))
            if len(counts):
                smallest = (
                    int(counts.min()) if smallest is None else min(smallest, int(counts.min()))
                )
                below += int(counts[counts < k].sum())
        where = f" within {', '.join(within)}" if within else ""
        label = f"{', '.join(names)} ({method}, k {k}{where})"
        if below:
            problems.append(
                f"{label}: {below} released record(s) share their values with fewer than {k} "
                "records"
            )
        else:
            shown.append(f"{label}: smallest group {smallest if smallest is not None else 0}")
    if problems:
        return [CheckItem("microaggregation", False, "; ".join(problems))]
    if not shown and not skipped:
        return []
    detail = "every released value group holds at least k records: " + (
        "; ".join(shown) if shown else "no column left as microaggregation made it"
    )
    if skipped:
        detail += f"; not checked (changed after microaggregation): {', '.join(skipped)}"
    return [CheckItem("microaggregation", True, detail)]


def _group_counts(frame: pd.DataFrame, key: list[str], n_strata: int) -> pd.Series:
    """Records per released combination of ``key`` (blank a value; blank aggregates left out)."""
    parts = [pd.Series(texts(frame[c])).fillna("\x00blank") for c in key]
    aggregated = pd.concat(parts[n_strata:], axis=1)
    keep = ~(aggregated == "\x00blank").all(axis=1)
    joined = pd.concat(parts, axis=1)[keep.to_numpy()]
    return joined.value_counts()


def _changed_after(policy: Policy, name: str, later: Sequence[str]) -> bool:
    """Whether a step after microaggregation may change the values of column ``name``."""
    spec = policy.outputs.microdata
    assert spec is not None
    col = policy.columns[name]
    recoded = col.recode is not None or col.top_code is not None or col.bottom_code is not None
    return (
        (col.noise is not None and "noise" in later)
        or (col.rank_swap is not None and "rank_swap" in later)
        or (col.shuffle and "shuffle" in later)
        or (col.mv_top_code is not None and "mv_top_code" in later)
        or (col.pram is not None and "pram" in later)
        or (recoded and "recode" in later)
        or (col.role == "quasi" and ("suppress" in later or spec.generalize == "auto"))
    )
