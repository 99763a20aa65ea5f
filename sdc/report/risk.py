"""Renderings of a :class:`~sdc.risk.RiskReport`: terminal text, JSON dict and HTML.

Nothing here prints a value of any record: findings count respondents and name variables,
so the text and the HTML page can leave the organisation. Per-record risks stay in
``report.records``, which only the steward sees.

``sdc risk`` measures a policy's data twice when the policy recodes: as collected and after
the policy's deterministic recodes. Each rendering then shows both, labelled, with the
recodes in between; the advice ("Recode first") comes from the recoded data only and never
names a variable the policy already recodes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from markupsafe import Markup

from sdc.anonymize._treatment import Treatment
from sdc.i18n import _, ngettext
from sdc.i18n import decimal as _dec
from sdc.i18n import general as _gen
from sdc.i18n import integer as _int
from sdc.i18n import percent as _pct
from sdc.io import Reading
from sdc.report.html import render_page
from sdc.report.reading import reading_lines
from sdc.report.svg import bar_chart
from sdc.risk.assess import RISK_BINS, RiskReport

AS_COLLECTED = "as collected"
AFTER_RECODES = "after the policy's recodes"


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table: a measure, its value, the limit and the status."""

    measure: str
    value: str
    limit: str
    status: str


def risk_json(
    report: RiskReport,
    *,
    after_recodes: RiskReport | None = None,
    recodes: Sequence[Treatment] = (),
) -> dict[str, Any]:
    """The JSON rendering: the report's versioned dict (schema ``sdc.risk/1``).

    Args:
        report: the risk of the data as collected (the top level, unchanged).
        after_recodes: the risk after the policy's deterministic recodes; when given it is
            added under ``"after_recodes"`` (same schema, its ``recode_first`` without the
            recoded variables) and the recodes under ``"recodes"`` (as in the manifest).
            ``sdc risk``'s exit code follows ``after_recodes.passed`` then.
        recodes: the recodes applied, in order.
    """
    document = report.to_dict()
    if after_recodes is not None:
        recoded = recoded_variables(recodes)
        after = after_recodes.to_dict()
        after["recode_first"] = [v for v in after["recode_first"] if v not in recoded]
        document["after_recodes"] = after
        document["recodes"] = [t.to_dict() for t in recodes]
    return document


def recoded_variables(recodes: Sequence[Treatment]) -> tuple[str, ...]:
    """The columns the recodes changed, each once, in the order first recoded."""
    return tuple(dict.fromkeys(c for t in recodes for c in t.columns))


def describe_recode(t: Treatment) -> str:
    """One recode in a few words: ``visit: dates cut to the year (900 values changed)``.

    Only the policy's parameters and counts appear, never a value of the data.
    """
    p = t.to_dict()["parameters"]
    d = t.to_dict()["details"]
    if t.name == "recode.bands":
        what = _("bands starting at {breaks}").format(
            breaks=", ".join(_number(b) for b in p.get("breaks", []))
        )
        if p.get("top_code") is not None:
            what += _(", values above {value} counted as {value}").format(
                value=_number(p["top_code"])
            )
        if p.get("bottom_code") is not None:
            what += _(", values below {value} counted as {value}").format(
                value=_number(p["bottom_code"])
            )
    elif t.name == "recode.map":
        what = _("level {level} of {hierarchy}").format(
            level=p.get("level"), hierarchy=PurePath(str(p.get("hierarchy", ""))).name
        )
        before, after = d.get("categories_before"), d.get("categories_after")
        if isinstance(before, int) and isinstance(after, int):
            what += _(", {before} categories become {after}").format(
                before=_int(before), after=_int(after)
            )
    elif t.name == "recode.prefix":
        what = _("only the first {length} characters kept").format(length=p.get("length"))
    elif t.name == "recode.date":
        what = (
            _("dates cut to the year") if p.get("unit") == "year" else _("dates cut to the month")
        )
    elif t.name == "recode.grid":
        what = _("coordinates moved to a grid of {step} degrees").format(
            step=_number(p.get("step", 0))
        )
    elif t.name in ("top_code", "bottom_code"):
        template = (
            _("values above {value} set to {value}")
            if t.name == "top_code"
            else _("values below {value} set to {value}")
        )
        what = template.format(value=_number(p.get("value", 0)))
    else:
        what = t.name
    n = t.total_changed
    changed = ngettext("{n} value changed", "{n} values changed", n).format(n=_int(n))
    return f"{', '.join(t.columns)}: {what} ({changed})"


def recodes_effect(collected: RiskReport, after: RiskReport) -> str:
    """What the recodes change, in one sentence of figures."""
    return _(
        "With them, unique respondents go from {u_before} to {u_after} and expected "
        "re-identifications from {e_before} to {e_after}."
    ).format(
        u_before=_int(collected.sample_uniques),
        u_after=_int(after.sample_uniques),
        e_before=_dec(collected.expected_reidentifications, 2),
        e_after=_dec(after.expected_reidentifications, 2),
    )


def summary_rows(report: RiskReport) -> list[SummaryRow]:
    """The summary table shared by the text and HTML renderings."""
    th = report.thresholds
    failed = {b.name for b in report.breaches}
    n = report.n_records

    def status(name: str, checked: bool) -> str:
        if not checked:
            return ""
        return _("FAIL") if name in failed else _("ok")

    min_fk = int(report.records["f_k"].min()) if n else 0
    rows = [
        SummaryRow(_("records"), _int(n), "", ""),
        SummaryRow(_("smallest group (k-anonymity)"), _int(min_fk), f"{th.k}", status("k", True)),
        SummaryRow(_("sample uniques"), _count_share(report.sample_uniques, n), "", ""),
    ]
    for ka in report.k_anonymity:
        rows.append(
            SummaryRow(
                _("records below k = {k}").format(k=ka.k), _count_share(ka.violations, n), "", ""
            )
        )
    rows += [
        SummaryRow(_("global risk (mean)"), _pct(report.global_risk, 2), "", ""),
        SummaryRow(
            _("expected re-identifications"),
            _dec(report.expected_reidentifications, 2),
            _opt(th.max_expected_reidentifications),
            status("max_expected_reidentifications", th.max_expected_reidentifications is not None),
        ),
        SummaryRow(
            _("highest individual risk"),
            _dec(report.max_risk, 3),
            _opt(th.max_individual_risk),
            status("max_individual_risk", th.max_individual_risk is not None),
        ),
    ]
    if report.household_risk is not None:
        hh = report.household_risk
        rows.append(
            SummaryRow(
                _("household re-identifications"), _dec(hh.expected_reidentifications, 2), "", ""
            )
        )
    for ld in report.l_diversity:
        rows.append(
            SummaryRow(
                _("l-diversity of {variable} (distinct, min)").format(variable=ld.variable),
                f"{ld.distinct_min}",
                _opt(th.l),
                status("l", th.l is not None),
            )
        )
    for tc in report.t_closeness:
        rows.append(
            SummaryRow(
                _("t-closeness of {variable} (max EMD)").format(variable=tc.variable),
                _dec(tc.max_distance, 3),
                _opt(th.t),
                status("t", th.t is not None),
            )
        )
    if report.suda is not None:
        rows.append(
            SummaryRow(
                _("records with special uniques (SUDA)"),
                _count_share(report.suda.records_with_msu, n),
                "",
                "",
            )
        )
    return rows


def findings(report: RiskReport) -> list[str]:
    """Plain-language findings, most important first. They name no respondent."""
    if report.n_records == 0:
        return [_("The file has no records.")]
    out = _uniqueness_findings(report)
    out += _reidentification_findings(report)
    out += _attribute_findings(report)
    out += numeric_findings(report)
    return out


def numeric_findings(report: RiskReport) -> list[str]:
    """Record linkage (and interval disclosure) of the numeric columns, beside k-anonymity.

    On data as collected the share is 100% by definition (every record is its own nearest
    neighbour); the sentence says so and points to the release, which measures it after
    treatment.
    """
    num = report.numeric
    if num is None or num.relinked_share is None:
        return []
    facts = {"columns": _join(num.columns), "share": _pct(num.relinked_share, 1)}
    if not num.treated:
        return [
            _(
                "Numbers in {columns} are as collected: an intruder holding their original "
                "values re-links {share} of the records by the nearest values (distance-based "
                "record linkage). The policy's treatment of them lowers this; the release "
                "report gives the share after it."
            ).format(**facts)
        ]
    text = _(
        "Share of records an intruder with the original numeric values ({columns}) re-links "
        "to their own by the nearest values: {share} (distance-based record linkage)."
    ).format(**facts)
    if num.interval_disclosure is not None:
        text += " " + _(
            "For {interval} of the records the original values lie within {width} of a "
            "standard deviation of the treated ones in all but at most one of these columns "
            "(interval disclosure, sdcMicro's dRisk)."
        ).format(interval=_pct(num.interval_disclosure, 1), width=_pct(0.05, 0))
    return [text]


def _uniqueness_findings(report: RiskReport) -> list[str]:
    """Who is unique, and who is in a group smaller than k."""
    keys = _join(report.quasi)
    th = report.thresholds
    u = report.sample_uniques
    out: list[str] = []
    if u:
        facts = (
            _("this fact")
            if len(report.quasi) == 1
            else _("these {n} facts").format(n=_number_word(len(report.quasi)))
        )
        out.append(
            ngettext(
                "{n} respondent is the only person with their combination of {keys}; anyone "
                "who knows {facts} about them can find their record.",
                "{n} respondents are the only person with their combination of {keys}; anyone "
                "who knows {facts} about them can find their record.",
                u,
            ).format(n=_int(u), keys=keys, facts=facts)
        )
    else:
        out.append(
            _("No respondent is the only person with their combination of {keys}.").format(
                keys=keys
            )
        )
    below_k = next(ka for ka in report.k_anonymity if ka.k == th.k)
    if below_k.violations > u:
        out.append(
            _(
                "{n} respondents ({share}) share their combination with fewer than {others} "
                "others; the policy asks for groups of at least {k}."
            ).format(
                n=_int(below_k.violations),
                share=_pct(below_k.share, 1),
                others=th.k - 1,
                k=th.k,
            )
        )
    return out


def _reidentification_findings(report: RiskReport) -> list[str]:
    """Expected re-identifications, high-risk records, the global-risk goal, households."""
    out: list[str] = []
    figures = {
        "expected": _dec(report.expected_reidentifications, 1),
        "share": _pct(report.global_risk, 2),
        "max": _pct(report.max_risk, 1),
    }
    if report.risk_method == "benedetti-franconi":
        out.append(
            _(
                "Taking the sampling weights into account, an intruder who tried every record "
                "would correctly re-identify about {expected} respondents ({share} of the file); "
                "the riskiest record's chance of being re-identified is {max}."
            ).format(**figures)
        )
    else:
        out.append(
            _(
                "Without sampling weights the file is treated as the whole population: an "
                "intruder would correctly re-identify about {expected} respondents ({share} of "
                "the file)."
            ).format(**figures)
        )
    if report.high_risk_records:
        out.append(
            ngettext(
                "{n} record has a much higher risk than the rest of the file (above 0.1 and far "
                "above the typical record).",
                "{n} records have a much higher risk than the rest of the file (above 0.1 and "
                "far above the typical record).",
                report.high_risk_records,
            ).format(n=_int(report.high_risk_records))
        )
    threshold = report.global_threshold
    if threshold is not None:
        goal = _gen(report.max_global_risk * 100)
        if threshold > 0:
            above = int((report.records["r_k"] > threshold).sum())
            out.append(
                ngettext(
                    "{n} record has an individual risk above {threshold}; they would need "
                    "treatment to bring the global risk down to {goal}%.",
                    "{n} records have an individual risk above {threshold}; they would need "
                    "treatment to bring the global risk down to {goal}%.",
                    above,
                ).format(n=_int(above), threshold=_gen(threshold, 4), goal=goal)
            )
        else:
            out.append(
                _(
                    "Every record would need treatment to bring the global risk down to {goal}%."
                ).format(goal=goal)
            )
    if report.household_risk is not None:
        hh = report.household_risk
        out.append(
            _(
                "Counting households ({households}), a member of a household can be found "
                "through any other member: about {expected} re-identifications when households "
                "are taken into account."
            ).format(
                households=_int(hh.households), expected=_dec(hh.expected_reidentifications, 1)
            )
        )
    return out


def _attribute_findings(report: RiskReport) -> list[str]:
    """l-diversity, group disclosure, t-closeness and SUDA, where they find something."""
    out: list[str] = []
    th = report.thresholds
    for ld in report.l_diversity:
        if ld.keys_below_l:
            out.append(
                _(
                    "In {groups} ({respondents}) fewer than {l} different values of {variable} "
                    "occur: knowing that someone is in such a group narrows down their "
                    "{variable}."
                ).format(
                    groups=_groups(ld.keys_below_l),
                    respondents=_resp(ld.records_below_l or 0),
                    l=th.l,
                    variable=ld.variable,
                )
            )
    for g in report.group_disclosure:
        if g.keys:
            out.append(
                _(
                    "In {groups} of two or more respondents ({respondents}) at least {share} "
                    "have the same {variable}: knowing someone's {keys} reveals their "
                    "{variable} even though nobody is singled out."
                ).format(
                    groups=_groups(g.keys),
                    respondents=_resp(g.records),
                    share=_pct(g.share, 0),
                    variable=g.variable,
                    keys=_join(report.quasi),
                )
            )
    for tc in report.t_closeness:
        if tc.keys_above_t:
            out.append(
                _(
                    "In {groups} ({respondents}) the distribution of {variable} differs from the "
                    "whole file by more than t = {t}."
                ).format(
                    groups=_groups(tc.keys_above_t),
                    respondents=_resp(tc.records_above_t or 0),
                    variable=tc.variable,
                    t=_gen(th.t or 0),
                )
            )
    suda = report.suda
    if suda is not None and suda.records_with_msu:
        out.append(
            ngettext(
                "{n} respondent has a special unique: a small combination of at most {size} of "
                "these facts that nobody else has (highest DIS-SUDA score {score}).",
                "{n} respondents have a special unique: a small combination of at most {size} "
                "of these facts that nobody else has (highest DIS-SUDA score {score}).",
                suda.records_with_msu,
            ).format(
                n=_int(suda.records_with_msu),
                size=suda.max_msu,
                score=_dec(suda.max_dis_score, 4, group=False),
            )
        )
    return out


def recommendations(report: RiskReport, recoded: Collection[str] = ()) -> list[str]:
    """Which variables to recode, most useful first, with what each would change.

    Args:
        report: the risk report the advice is for.
        recoded: variables the policy already recodes (before ``report`` was measured);
            they are never named: the advice is about what the policy does not do yet.
    """
    if report.skipped is not None and "contributions" in report.skipped.measures:
        return []  # not measured: skipped_note says how to get them
    by_name = {c.variable: c for c in report.contributions}
    out = []
    for name in report.recode_first:
        if name in recoded:
            continue
        c = by_name[name]
        parts = []
        if c.uniques_drop > 0:
            parts.append(_("{n} fewer unique respondents").format(n=_int(c.uniques_drop)))
        if c.reidentifications_drop > 0:
            parts.append(
                _("{n} fewer expected re-identifications").format(
                    n=_dec(c.reidentifications_drop, 2)
                )
            )
        text = _("{variable}: without it, {effects}").format(variable=name, effects=_join(parts))
        if c.suda:
            text += _("; it is in {share} of the SUDA score").format(share=_pct(c.suda / 100, 0))
        if c.importance is not None:
            text += _(" (the policy marks it important: {importance})").format(
                importance=c.importance
            )
        out.append(text + ".")
    if out or not report.sample_uniques:
        return out
    if any(name in recoded for name in report.recode_first):
        return [
            _(
                "The variables that still create uniques are ones the policy already recodes: "
                "recode them more coarsely, or leave the rest to local suppression or "
                "generalize: auto."
            )
        ]
    return [
        _(
            "No single variable creates the uniques: recode several variables together or "
            "suppress values locally."
        )
    ]


def skipped_note(report: RiskReport) -> str | None:
    """What was left out for the file's size and how to get it, or None."""
    skipped = report.skipped
    if skipped is None:
        return None
    facts = {
        "n": _int(report.n_records),
        "limit": _int(skipped.records_limit),
        "option": skipped.option,
    }
    if "suda" in skipped.measures:
        return _(
            "SUDA and the per-variable contributions (which variables to recode first) were "
            "not computed: the file has {n} records, more than {limit}, and they take longer "
            "than every other measure together. Run sdc risk with {option} to compute them."
        ).format(**facts)
    return _(
        "The per-variable contributions (which variables to recode first) were not computed: "
        "the file has {n} records, more than {limit}. Run sdc risk with {option} to compute "
        "them."
    ).format(**facts)


def risk_text(
    report: RiskReport,
    *,
    after_recodes: RiskReport | None = None,
    recodes: Sequence[Treatment] = (),
) -> str:
    """A terminal rendering: summary table, findings, what to recode, breaches.

    With ``after_recodes`` (the risk after the policy's deterministic ``recodes``) the text
    shows the risk as collected, the recodes and the risk after them, in that order; the
    advice is given for the recoded data only and skips the recoded variables.
    """
    if after_recodes is None:
        return _report_text(report)
    lines = [_report_text(report, stage=AS_COLLECTED, advice=False)]
    lines.append(
        _(
            "The policy's recodes (the first step of `sdc release`; its other treatments are "
            "not applied here):"
        )
    )
    lines += [f"  - {describe_recode(t)}" for t in recodes]
    lines += [recodes_effect(report, after_recodes), ""]
    recoded = recoded_variables(recodes)
    lines.append(_report_text(after_recodes, stage=AFTER_RECODES, recoded=recoded))
    return "\n".join(lines)


def _report_text(
    report: RiskReport,
    *,
    stage: str | None = None,
    advice: bool = True,
    recoded: Collection[str] = (),
) -> str:
    rows = summary_rows(report)
    w0 = max(len(r.measure) for r in rows)
    w1 = max(len(r.value) for r in rows)
    head_measure, head_value, head_limit = _("measure"), _("value"), _("limit")
    w0 = max([len(r.measure) for r in rows] + [len(head_measure)])
    w1 = max([len(r.value) for r in rows] + [len(head_value)])
    w2 = max([len(r.limit) for r in rows] + [5, len(head_limit)])
    facts = {"n": _int(report.n_records), "key": ", ".join(report.quasi)}
    if stage == AS_COLLECTED:
        head = _("Risk as collected: {n} records, key: {key}").format(**facts)
    elif stage == AFTER_RECODES:
        head = _("Risk after the policy's recodes: {n} records, key: {key}").format(**facts)
    else:
        head = _("Risk of {n} records, key: {key}").format(**facts)
    if report.weight:
        head += _("; weight: {weight}").format(weight=report.weight)
    lines = [head, ""]
    lines.append(f"  {head_measure:<{w0}}  {head_value:>{w1}}  {head_limit:>{w2}}  {_('status')}")
    for r in rows:
        lines.append(f"  {r.measure:<{w0}}  {r.value:>{w1}}  {r.limit:>{w2}}  {r.status}".rstrip())
    lines += ["", _("Findings:")]
    lines += [f"  - {f}" for f in findings(report)]
    recs = recommendations(report, recoded) if advice else []
    if recs:
        lines += ["", _("Recode first:")]
        lines += [f"  {i}. {r}" for i, r in enumerate(recs, 1)]
    note = skipped_note(report) if advice else None
    if note:
        lines += ["", note]
    breaches = report.breaches
    lines.append("")
    ok, over = _verdicts(stage)
    if breaches:
        lines.append(over)
        for b in breaches:
            lines.append(
                "  - "
                + _("{name}: {value} (limit {limit})").format(
                    name=b.name, value=_fmt(b.value) + b.subject, limit=_fmt(b.limit)
                )
            )
    else:
        lines.append(ok)
    return "\n".join(lines) + "\n"


def _verdicts(stage: str | None) -> tuple[str, str]:
    """The verdict lines (thresholds hold, thresholds exceeded) of a report at a stage."""
    if stage == AS_COLLECTED:
        return (
            _("Every threshold of the policy holds as collected."),
            _("Over the policy's thresholds as collected:"),
        )
    if stage == AFTER_RECODES:
        return (
            _("Every threshold of the policy holds after its recodes."),
            _("Over the policy's thresholds after its recodes:"),
        )
    return (_("Every threshold of the policy holds."), _("Over the policy's thresholds:"))


def risk_labels(edges: Sequence[float] = RISK_BINS) -> list[str]:
    """Labels of the individual-risk histogram bars, as percentages.

    A bar holds the risks above its lower edge up to and including its upper edge, so a
    risk of exactly 1 (a sample unique without weights) is in the top bar, "50% – 100%",
    and no bar goes above 100%: a risk is a probability.

    Args:
        edges: the bars' upper edges, increasing (the report's ``risk_histogram`` edges).
    """
    labels = [_("up to {share}").format(share=_percent(edges[0]))] if edges else []
    for lower, upper in zip(edges, edges[1:], strict=False):
        labels.append(f"{_percent(lower)} – {_percent(upper)}")
    return labels


def breach_label(name: str) -> str:
    """A breach's name in words: a raw key such as ``village|sex|age`` as its column labels.

    Measures computed per combination of columns carry the combination as one key string;
    a reader sees "village, sex and age" instead.

    Examples:
        >>> breach_label("k on village|sex|age")
        'k on village, sex and age'
        >>> breach_label("l")
        'l'
    """
    words = name.split(" ")
    out = []
    for w in words:
        parts = [p for p in w.split("|") if p]
        if len(parts) > 1:
            w = _join(tuple(parts))
        out.append(w)
    return " ".join(out)


def risk_context(
    report: RiskReport,
    heading: str | None = None,
    *,
    stage: str | None = None,
    advice: bool = True,
    recoded: Collection[str] = (),
) -> dict[str, Any]:
    """Everything the ``risk_section`` template macro needs (reused by release reports).

    Args:
        report: the report to show.
        heading: the section heading (default "Disclosure risk", translated).
        stage: :data:`AS_COLLECTED` or :data:`AFTER_RECODES` when ``sdc risk`` shows both;
            it labels the verdict.
        advice: whether to show "Recode first".
        recoded: variables the policy already recodes, left out of the advice.
    """
    n = report.n_records
    risk_chart = bar_chart(
        risk_labels([e for e, _c in report.risk_histogram]),
        [c for _e, c in report.risk_histogram],
        title=_("Records by individual re-identification risk"),
        value_label=_("records"),
        highlight=[
            report.thresholds.max_individual_risk is not None
            and e > report.thresholds.max_individual_risk
            for e, _c in report.risk_histogram
        ],
    )
    classes = [lo for lo, _c in report.fk_histogram]
    fk_labels = []
    for i, lo in enumerate(classes):
        hi = classes[i + 1] - 1 if i + 1 < len(classes) else None
        fk_labels.append(
            f"{lo}"
            if hi == lo
            else (f"{lo}–{hi}" if hi is not None else _("{n} or more").format(n=lo))
        )
    fk_chart = bar_chart(
        fk_labels,
        [c for _lo, c in report.fk_histogram],
        title=_("Records by size of their group (f_k); red: below k"),
        value_label=_("records (groups below k = {k} in red)").format(k=report.thresholds.k),
        highlight=[lo < report.thresholds.k for lo in classes],
    )
    contrib_chart = bar_chart(
        [c.variable for c in report.contributions],
        [max(c.uniques_drop, 0) for c in report.contributions],
        title=_("Fewer sample uniques when each variable is left out"),
        value_label=_("fewer unique respondents without the variable"),
    )
    return {
        "heading": heading if heading is not None else _("Disclosure risk"),
        "n_records": n,
        "quasi": ", ".join(report.quasi),
        "weight": report.weight,
        "passed": report.passed,
        "verdict_ok": _verdicts(stage)[0],
        "verdict_over": _verdicts(stage)[1],
        "breaches": [
            {
                "name": breach_label(b.name),
                "value": _fmt(b.value) + b.subject,
                "limit": _fmt(b.limit),
            }
            for b in report.breaches
        ],
        "rows": summary_rows(report),
        "findings": findings(report),
        "recommendations": recommendations(report, recoded) if advice else [],
        "skipped": skipped_note(report) if advice else None,
        "charts": {
            "risk": Markup(risk_chart),  # noqa: S704 - built from escaped text only
            "fk": Markup(fk_chart),  # noqa: S704
            "contributions": Markup(contrib_chart) if report.contributions else None,  # noqa: S704
        },
    }


def risk_title(data_name: str) -> str:
    """The title of ``sdc risk --html``'s page: ``Disclosure risk of survey.csv``."""
    return _("Disclosure risk of {name}").format(name=data_name)


def risk_html(
    report: RiskReport,
    title: str,
    *,
    after_recodes: RiskReport | None = None,
    recodes: Sequence[Treatment] = (),
    reading: Reading | None = None,
) -> str:
    """A self-contained HTML page (inline CSS and SVG, no external resources, printable).

    With ``after_recodes`` the page leads with the verdict after the policy's recodes,
    lists the recodes, then shows the risk as collected and after the recodes, each
    labelled; the advice is in the second section only. It ends with how the file was
    read (``reading``), when there is something to say.
    """
    read = reading_lines(reading)
    if after_recodes is None:
        return render_page(
            "risk.html", title=title, risk=risk_context(report), recoded=None, reading=read
        )
    names = recoded_variables(recodes)
    recoded = {
        "passed": after_recodes.passed,
        "recodes": [describe_recode(t) for t in recodes],
        "effect": recodes_effect(report, after_recodes),
        "after": risk_context(
            after_recodes,
            _("Disclosure risk after the policy's recodes"),
            stage=AFTER_RECODES,
            recoded=names,
        ),
    }
    collected = risk_context(
        report, _("Disclosure risk as collected"), stage=AS_COLLECTED, advice=False
    )
    return render_page("risk.html", title=title, risk=collected, recoded=recoded, reading=read)


def _groups(n: int) -> str:
    return ngettext("{n} group", "{n} groups", n).format(n=_int(n))


def _resp(n: int) -> str:
    return ngettext("{n} respondent", "{n} respondents", n).format(n=_int(n))


def _count_share(count: int, n: int) -> str:
    return f"{_int(count)} ({_pct(count / n, 1)})" if n else _int(count)


def _opt(value: float | int | None) -> str:
    return "" if value is None else _gen(value)


def _number(value: float) -> str:
    return _gen(value)


def _percent(share: float) -> str:
    return _("{value}%").format(value=_gen(share * 100))


def _fmt(value: float) -> str:
    return _int(value) if isinstance(value, int) else _gen(value, 4)


def _number_word(n: int) -> str:
    """``three`` for 3 (up to ten), else the digits."""
    words = (
        _("no"),
        _("one"),
        _("two"),
        _("three"),
        _("four"),
        _("five"),
        _("six"),
        _("seven"),
        _("eight"),
        _("nine"),
        _("ten"),
    )
    return words[n] if 0 <= n < len(words) else f"{n}"


def _join(names: Sequence[str]) -> str:
    """``a, b and c`` (``a, b et c``, ``a, b y c``)."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return _("{items} and {last}").format(items=", ".join(names[:-1]), last=names[-1])
