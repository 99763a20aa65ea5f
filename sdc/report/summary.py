"""The few closing lines of ``sdc release``: what went in, what was done, what came out.

A steward reads the file list and the notes, then this summary: rows in and out, one line
per kind of treatment, the verdict, where the bundle is and the biggest cost. It repeats no
figure a report holds in full; it says where to look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sdc.anonymize._treatment import Treatment
    from sdc.release.pipeline import ReleaseResult

_REMOVED = ("drop",)
_RECODED = ("recode.", "top_code", "bottom_code", "generalize.")


def release_summary(result: ReleaseResult, costs: Sequence[str] = ()) -> list[str]:
    """The closing summary of a release, at most about ten lines.

    Args:
        result: the written release.
        costs: the costs a steward must see, biggest first (as
            :func:`sdc.report.release.release_warnings` lists them); the first is shown.

    Returns:
        The lines, without trailing newlines; the first is the heading ``Summary:``.
    """
    lines = ["Summary:"]
    md = result.microdata
    rows_in = result.before.n_records
    if md is None:
        lines.append(f"  rows: {rows_in:,} in; no microdata released")
    else:
        lines.append(f"  rows: {rows_in:,} in, {len(md.frame):,} out")
        lines += [f"  {line}" for line in treatment_lines(md.treatments)]
        if md.suppressed_records:
            n = md.suppressed_records
            lines.append(
                f"  suppression: {n:,} record{'' if n == 1 else 's'} "
                f"({md.suppression_share:.1%}) lost a value"
            )
    linked = result.related
    if linked is not None:
        files = ", ".join(f"{t.name} ({len(t.frame):,} rows)" for t in linked.tables)
        n = linked.suppressed_households
        lines.append(
            f"  related: {files}, linked by one per-release pseudonym; joined view: smallest "
            f"joined key {linked.view.smallest_key}, {n:,} household{'' if n == 1 else 's'} "
            f"({linked.suppression_share:.1%}) with a suppressed value"
        )
    if result.tables:
        lines.append(f"  tables: {', '.join(t.name for t in result.tables)}")
    if result.synthetic is not None:
        lines.append("  synthetic data: written (differentially private)")
    lines.append(f"  verdict: {_verdict(result)}")
    lines.append(f"  bundle: {result.out}/")
    lines.append(f"  biggest cost: {costs[0] if costs else 'none above the warning levels'}")
    return lines


def treatment_lines(treatments: Sequence[Treatment]) -> list[str]:
    """One line per kind of treatment, in the order first applied.

    Removed and pseudonymised columns share one line, by name; recodes say how many bands or
    categories are left (``age to 4 bands``); perturbations say how many values changed.
    Local suppression is left out: the summary counts its records separately.
    """
    groups: dict[str, list[str]] = {}
    for step in treatments:
        if step.name == "local_suppression":
            continue
        if step.name in _REMOVED:
            groups.setdefault("removed", []).extend(step.columns)
        elif step.name == "pseudonymize":
            groups.setdefault("pseudonymised", []).extend(step.columns)
        elif step.name.startswith(_RECODED):
            groups.setdefault("recode", []).extend(_recoded(step))
        else:
            changed = sum(step.changed.values())
            groups.setdefault(step.name, []).append(
                f"{', '.join(step.columns)} ({changed:,} values changed)"
            )
    ids = [f"{k} {', '.join(groups.pop(k))}" for k in ("removed", "pseudonymised") if k in groups]
    lines = [f"columns: {'; '.join(ids)}"] if ids else []
    return lines + [f"{kind}: {', '.join(parts)}" for kind, parts in groups.items()]


def _recoded(step: Treatment) -> list[str]:
    """``age to 4 bands`` for one recode step (one entry per column)."""
    col = step.columns[0] if step.columns else "?"
    bands = step.details.get("bands")
    if step.name == "recode.bands" and isinstance(bands, Mapping):
        return [f"{col} to {len(bands)} bands"]
    after = step.details.get("categories_after")
    if isinstance(after, int):
        return [f"{col} to {after} categories"]
    if step.name in ("top_code", "bottom_code"):
        value = step.parameters.get("value")
        return [f"{col} {step.name.replace('_', '-')}d at {value:g}"] if value is not None else []
    return [f"{c} ({n:,} values changed)" for c, n in step.changed.items()]


def _verdict(result: ReleaseResult) -> str:
    after = result.after
    if after is None:
        return "PASS (no microdata, so no risk thresholds to check)"
    rule = after.k_rule
    smallest = rule.smallest_key if rule is not None else None
    group = f"smallest group {smallest}, " if smallest is not None else ""
    return f"PASS: every threshold of the policy holds ({group}k = {after.thresholds.k})"
