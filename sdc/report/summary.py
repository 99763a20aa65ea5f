"""The few closing lines of ``sdc release``: what went in, what was done, what came out.

A steward reads the file list and the notes, then this summary: rows in and out, one line
per kind of treatment, the verdict, where the bundle is and the biggest cost. It repeats no
figure a report holds in full; it says where to look.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from sdc.i18n import _, general, integer, ngettext, percent

if TYPE_CHECKING:
    from sdc.anonymize._treatment import Treatment
    from sdc.release.pipeline import ReleaseResult

_REMOVED = ("drop",)
_RECODED = ("recode.", "top_code", "bottom_code", "generalize.")


def release_summary(result: ReleaseResult, costs: Sequence[str] = ()) -> list[str]:
    """The closing summary of a release, at most about ten lines.

    In the report language in force (:func:`sdc.i18n.language`).

    Args:
        result: the written release.
        costs: the costs a steward must see, biggest first (as
            :func:`sdc.report.release.release_warnings` lists them); the first is shown.

    Returns:
        The lines, without trailing newlines; the first is the heading ``Summary:``.
    """
    lines = [_("Summary:")]
    md = result.microdata
    rows_in = integer(result.before.n_records)
    if md is None:
        lines.append("  " + _("rows: {n} in; no microdata released").format(n=rows_in))
    else:
        lines.append(
            "  " + _("rows: {n} in, {out} out").format(n=rows_in, out=integer(len(md.frame)))
        )
        lines += [f"  {line}" for line in treatment_lines(md.treatments)]
        if md.suppressed_records:
            n = md.suppressed_records
            lines.append(
                "  "
                + ngettext(
                    "suppression: {n} record ({share}) lost a value",
                    "suppression: {n} records ({share}) lost a value",
                    n,
                ).format(n=integer(n), share=percent(md.suppression_share, 1))
            )
    linked = result.related
    if linked is not None:
        files = ", ".join(
            ngettext("{name} ({n} row)", "{name} ({n} rows)", len(t.frame)).format(
                name=t.name, n=integer(len(t.frame))
            )
            for t in linked.tables
        )
        n = linked.suppressed_households
        lines.append(
            "  "
            + ngettext(
                "related: {files}, linked by one per-release pseudonym; joined view: smallest "
                "joined key {k}, {n} household ({share}) with a suppressed value",
                "related: {files}, linked by one per-release pseudonym; joined view: smallest "
                "joined key {k}, {n} households ({share}) with a suppressed value",
                n,
            ).format(
                files=files,
                k=linked.view.smallest_key,
                n=integer(n),
                share=percent(linked.suppression_share, 1),
            )
        )
    if result.tables:
        tables = ", ".join(t.name for t in result.tables)
        lines.append("  " + _("tables: {names}").format(names=tables))
    if result.synthetic is not None:
        lines.append("  " + _("synthetic data: written (differentially private)"))
    lines.append("  " + _("verdict: {verdict}").format(verdict=_verdict(result)))
    lines.append("  " + _("bundle: {folder}/").format(folder=result.out))
    cost = costs[0] if costs else _("none above the warning levels")
    lines.append("  " + _("biggest cost: {cost}").format(cost=cost))
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
            groups.setdefault(step.name, []).append(_changed(", ".join(step.columns), changed))
    labels = {"removed": _("removed {columns}"), "pseudonymised": _("pseudonymised {columns}")}
    ids = [
        labels[k].format(columns=", ".join(groups.pop(k)))
        for k in ("removed", "pseudonymised")
        if k in groups
    ]
    lines = [_("columns: {what}").format(what="; ".join(ids))] if ids else []
    kinds = {"recode": _("recode")}
    return lines + [
        _("{kind}: {items}").format(kind=kinds.get(kind, kind), items=", ".join(parts))
        for kind, parts in groups.items()
    ]


def _changed(columns: str, n: int) -> str:
    """``income (12 values changed)``."""
    return ngettext("{columns} ({n} value changed)", "{columns} ({n} values changed)", n).format(
        columns=columns, n=integer(n)
    )


def _recoded(step: Treatment) -> list[str]:
    """``age to 4 bands`` for one recode step (one entry per column)."""
    col = step.columns[0] if step.columns else "?"
    bands = step.details.get("bands")
    if step.name == "recode.bands" and isinstance(bands, Mapping):
        return [_("{column} to {n} bands").format(column=col, n=len(bands))]
    after = step.details.get("categories_after")
    if isinstance(after, int):
        return [_("{column} to {n} categories").format(column=col, n=integer(after))]
    if step.name in ("top_code", "bottom_code"):
        value = step.parameters.get("value")
        if value is None:
            return []
        template = (
            _("{column} top-coded at {value}")
            if step.name == "top_code"
            else _("{column} bottom-coded at {value}")
        )
        return [template.format(column=col, value=general(value))]
    return [_changed(c, n) for c, n in step.changed.items()]


def _verdict(result: ReleaseResult) -> str:
    after = result.after
    if after is None:
        return _("PASS (no microdata, so no risk thresholds to check)")
    rule = after.k_rule
    smallest = rule.smallest_key if rule is not None else None
    if smallest is not None:
        return _(
            "PASS: every threshold of the policy holds (smallest group {smallest}, k = {k})"
        ).format(smallest=smallest, k=after.thresholds.k)
    return _("PASS: every threshold of the policy holds (k = {k})").format(k=after.thresholds.k)
