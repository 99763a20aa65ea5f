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
from sdc.io import Reading
from sdc.report.html import render_page
from sdc.report.reading import reading_lines
from sdc.report.svg import bar_chart
from sdc.risk.assess import RISK_BINS, RiskReport

_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")

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
        what = "bands starting at " + ", ".join(_number(b) for b in p.get("breaks", []))
        if p.get("top_code") is not None:
            what += f", values above {_number(p['top_code'])} counted as {_number(p['top_code'])}"
        if p.get("bottom_code") is not None:
            value = _number(p["bottom_code"])
            what += f", values below {value} counted as {value}"
    elif t.name == "recode.map":
        what = f"level {p.get('level')} of {PurePath(str(p.get('hierarchy', ''))).name}"
        before, after = d.get("categories_before"), d.get("categories_after")
        if isinstance(before, int) and isinstance(after, int):
            what += f", {before:,} categories become {after:,}"
    elif t.name == "recode.prefix":
        what = f"only the first {p.get('length')} characters kept"
    elif t.name == "recode.date":
        what = f"dates cut to the {p.get('unit')}"
    elif t.name == "recode.grid":
        what = f"coordinates moved to a grid of {_number(p.get('step', 0))} degrees"
    elif t.name in ("top_code", "bottom_code"):
        side = "above" if t.name == "top_code" else "below"
        what = f"values {side} {_number(p.get('value', 0))} set to {_number(p.get('value', 0))}"
    else:
        what = t.name
    n = t.total_changed
    return f"{', '.join(t.columns)}: {what} ({n:,} {'value' if n == 1 else 'values'} changed)"


def recodes_effect(collected: RiskReport, after: RiskReport) -> str:
    """What the recodes change, in one sentence of figures."""
    return (
        f"With them, unique respondents go from {collected.sample_uniques:,} to "
        f"{after.sample_uniques:,} and expected re-identifications from "
        f"{collected.expected_reidentifications:,.2f} to {after.expected_reidentifications:,.2f}."
    )


def summary_rows(report: RiskReport) -> list[SummaryRow]:
    """The summary table shared by the text and HTML renderings."""
    th = report.thresholds
    failed = {b.name for b in report.breaches}
    n = report.n_records

    def status(name: str, checked: bool) -> str:
        if not checked:
            return ""
        return "FAIL" if name in failed else "ok"

    min_fk = int(report.records["f_k"].min()) if n else 0
    rows = [
        SummaryRow("records", f"{n:,}", "", ""),
        SummaryRow("smallest group (k-anonymity)", f"{min_fk:,}", f"{th.k}", status("k", True)),
        SummaryRow("sample uniques", _count_share(report.sample_uniques, n), "", ""),
    ]
    for ka in report.k_anonymity:
        rows.append(SummaryRow(f"records below k = {ka.k}", _count_share(ka.violations, n), "", ""))
    rows += [
        SummaryRow("global risk (mean)", f"{report.global_risk:.2%}", "", ""),
        SummaryRow(
            "expected re-identifications",
            f"{report.expected_reidentifications:,.2f}",
            _opt(th.max_expected_reidentifications, "{:g}"),
            status("max_expected_reidentifications", th.max_expected_reidentifications is not None),
        ),
        SummaryRow(
            "highest individual risk",
            f"{report.max_risk:.3f}",
            _opt(th.max_individual_risk, "{:g}"),
            status("max_individual_risk", th.max_individual_risk is not None),
        ),
    ]
    if report.household_risk is not None:
        hh = report.household_risk
        rows.append(
            SummaryRow(
                "household re-identifications", f"{hh.expected_reidentifications:,.2f}", "", ""
            )
        )
    for ld in report.l_diversity:
        rows.append(
            SummaryRow(
                f"l-diversity of {ld.variable} (distinct, min)",
                f"{ld.distinct_min}",
                _opt(th.l, "{}"),
                status("l", th.l is not None),
            )
        )
    for tc in report.t_closeness:
        rows.append(
            SummaryRow(
                f"t-closeness of {tc.variable} (max EMD)",
                f"{tc.max_distance:.3f}",
                _opt(th.t, "{:g}"),
                status("t", th.t is not None),
            )
        )
    if report.suda is not None:
        rows.append(
            SummaryRow(
                "records with special uniques (SUDA)",
                _count_share(report.suda.records_with_msu, n),
                "",
                "",
            )
        )
    return rows


def findings(report: RiskReport) -> list[str]:
    """Plain-language findings, most important first. They name no respondent."""
    out: list[str] = []
    n = report.n_records
    keys = _join(report.quasi)
    facts = _number_word(len(report.quasi))
    th = report.thresholds
    u = report.sample_uniques
    if u:
        who = "respondent is" if u == 1 else "respondents are"
        out.append(
            f"{u:,} {who} the only person with their combination of {keys}; anyone who knows "
            f"{'this fact' if len(report.quasi) == 1 else f'these {facts} facts'} about "
            f"them can find their record."
        )
    else:
        out.append(f"No respondent is the only person with their combination of {keys}.")
    below_k = next(ka for ka in report.k_anonymity if ka.k == th.k)
    if below_k.violations > u:
        out.append(
            f"{below_k.violations:,} respondents ({below_k.share:.1%}) share their combination "
            f"with fewer than {th.k - 1} others; the policy asks for groups of at least {th.k}."
        )
    if report.risk_method == "benedetti-franconi":
        out.append(
            f"Taking the sampling weights into account, an intruder who tried every record "
            f"would correctly re-identify about {report.expected_reidentifications:,.1f} "
            f"respondents ({report.global_risk:.2%} of the file); the riskiest record's chance "
            f"of being re-identified is {report.max_risk:.1%}."
        )
    else:
        out.append(
            f"Without sampling weights the file is treated as the whole population: an intruder "
            f"would correctly re-identify about {report.expected_reidentifications:,.1f} "
            f"respondents ({report.global_risk:.2%} of the file)."
        )
    if report.high_risk_records:
        out.append(
            f"{_records(report.high_risk_records)} {_have(report.high_risk_records)} a much "
            "higher risk than the rest "
            "of the file (above 0.1 and far above the typical record)."
        )
    threshold = report.global_threshold
    if threshold is not None:
        goal = f"to bring the global risk down to {report.max_global_risk * 100:g}%"
        if threshold > 0:
            above = int((report.records["r_k"] > threshold).sum())
            out.append(
                f"{_records(above)} {_have(above)} an individual risk above {threshold:.4g}; "
                f"they would need treatment {goal}."
            )
        else:
            out.append(f"Every record would need treatment {goal}.")
    if report.household_risk is not None:
        hh = report.household_risk
        out.append(
            f"Counting households ({hh.households:,}), a member of a household can be found "
            f"through any other member: about {hh.expected_reidentifications:,.1f} "
            "re-identifications when households are taken into account."
        )
    for ld in report.l_diversity:
        if ld.keys_below_l:
            out.append(
                f"In {_groups(ld.keys_below_l)} ({_resp(ld.records_below_l or 0)}) fewer "
                f"than {th.l} different values of {ld.variable} occur: knowing that someone is "
                f"in such a group narrows down their {ld.variable}."
            )
    for g in report.group_disclosure:
        if g.keys:
            out.append(
                f"In {_groups(g.keys)} of two or more respondents ({_resp(g.records)}) at "
                f"least {g.share:.0%} have the same {g.variable}: knowing someone's {keys} "
                f"reveals their {g.variable} even though nobody is singled out."
            )
    for tc in report.t_closeness:
        if tc.keys_above_t:
            out.append(
                f"In {_groups(tc.keys_above_t)} ({_resp(tc.records_above_t or 0)}) the "
                f"distribution of {tc.variable} differs from the whole file by more than "
                f"t = {th.t:g}."
            )
    if report.suda is not None and report.suda.records_with_msu:
        out.append(
            f"{_resp(report.suda.records_with_msu)} {_have(report.suda.records_with_msu)} a "
            "special unique: a small "
            f"combination of at most {report.suda.max_msu} of these facts that nobody else has "
            f"(highest DIS-SUDA score {report.suda.max_dis_score:.4f})."
        )
    if n == 0:
        return ["The file has no records."]
    return out


def recommendations(report: RiskReport, recoded: Collection[str] = ()) -> list[str]:
    """Which variables to recode, most useful first, with what each would change.

    Args:
        report: the risk report the advice is for.
        recoded: variables the policy already recodes (before ``report`` was measured);
            they are never named: the advice is about what the policy does not do yet.
    """
    by_name = {c.variable: c for c in report.contributions}
    out = []
    for name in report.recode_first:
        if name in recoded:
            continue
        c = by_name[name]
        parts = []
        if c.uniques_drop > 0:
            parts.append(f"{c.uniques_drop:,} fewer unique respondents")
        if c.reidentifications_drop > 0:
            parts.append(f"{c.reidentifications_drop:,.2f} fewer expected re-identifications")
        text = f"{name}: without it, {' and '.join(parts)}"
        if c.suda:
            text += f"; it is in {c.suda:.0f}% of the SUDA score"
        if c.importance is not None:
            text += f" (the policy marks it important: {c.importance})"
        out.append(text + ".")
    if out or not report.sample_uniques:
        return out
    if any(name in recoded for name in report.recode_first):
        return [
            "The variables that still create uniques are ones the policy already recodes: "
            "recode them more coarsely, or leave the rest to local suppression or "
            "generalize: auto."
        ]
    return [
        "No single variable creates the uniques: recode several variables together or "
        "suppress values locally."
    ]


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
        "The policy's recodes (the first step of `sdc release`; its other treatments are not "
        "applied here):"
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
    w2 = max([len(r.limit) for r in rows] + [5])
    if stage is None:
        head = f"Risk of {report.n_records:,} records, key: {', '.join(report.quasi)}"
    else:
        head = f"Risk {stage}: {report.n_records:,} records, key: {', '.join(report.quasi)}"
    if report.weight:
        head += f"; weight: {report.weight}"
    lines = [head, ""]
    lines.append(f"  {'measure':<{w0}}  {'value':>{w1}}  {'limit':>{w2}}  status")
    for r in rows:
        lines.append(f"  {r.measure:<{w0}}  {r.value:>{w1}}  {r.limit:>{w2}}  {r.status}".rstrip())
    lines += ["", "Findings:"]
    lines += [f"  - {f}" for f in findings(report)]
    recs = recommendations(report, recoded) if advice else []
    if recs:
        lines += ["", "Recode first:"]
        lines += [f"  {i}. {r}" for i, r in enumerate(recs, 1)]
    breaches = report.breaches
    lines.append("")
    ok, over = _verdicts(stage)
    if breaches:
        lines.append(over)
        for b in breaches:
            lines.append(f"  - {b.name}: {_fmt(b.value)}{b.subject} (limit {_fmt(b.limit)})")
    else:
        lines.append(ok)
    return "\n".join(lines) + "\n"


def _verdicts(stage: str | None) -> tuple[str, str]:
    """The verdict lines (thresholds hold, thresholds exceeded) of a report at a stage."""
    where = {None: "", AS_COLLECTED: " as collected", AFTER_RECODES: " after its recodes"}
    return (
        f"Every threshold of the policy holds{where[stage]}.",
        f"Over the policy's thresholds{where[stage]}:",
    )


def risk_labels(edges: Sequence[float] = RISK_BINS) -> list[str]:
    """Labels of the individual-risk histogram bars, as percentages.

    A bar holds the risks above its lower edge up to and including its upper edge, so a
    risk of exactly 1 (a sample unique without weights) is in the top bar, "50% – 100%",
    and no bar goes above 100%: a risk is a probability.

    Args:
        edges: the bars' upper edges, increasing (the report's ``risk_histogram`` edges).
    """
    labels = [f"up to {_percent(edges[0])}"] if edges else []
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
            w = ", ".join(parts[:-1]) + " and " + parts[-1]
        out.append(w)
    return " ".join(out)


def risk_context(
    report: RiskReport,
    heading: str = "Disclosure risk",
    *,
    stage: str | None = None,
    advice: bool = True,
    recoded: Collection[str] = (),
) -> dict[str, Any]:
    """Everything the ``risk_section`` template macro needs (reused by release reports).

    Args:
        report: the report to show.
        heading: the section heading.
        stage: :data:`AS_COLLECTED` or :data:`AFTER_RECODES` when ``sdc risk`` shows both;
            it labels the verdict.
        advice: whether to show "Recode first".
        recoded: variables the policy already recodes, left out of the advice.
    """
    n = report.n_records
    risk_chart = bar_chart(
        risk_labels([e for e, _ in report.risk_histogram]),
        [c for _, c in report.risk_histogram],
        title="Records by individual re-identification risk",
        value_label="records",
        highlight=[
            report.thresholds.max_individual_risk is not None
            and e > report.thresholds.max_individual_risk
            for e, _ in report.risk_histogram
        ],
    )
    classes = [lo for lo, _ in report.fk_histogram]
    fk_labels = []
    for i, lo in enumerate(classes):
        hi = classes[i + 1] - 1 if i + 1 < len(classes) else None
        fk_labels.append(
            f"{lo}" if hi == lo else (f"{lo}–{hi}" if hi is not None else f"{lo} or more")
        )
    fk_chart = bar_chart(
        fk_labels,
        [c for _, c in report.fk_histogram],
        title="Records by size of their group (f_k); red: below k",
        value_label=f"records (groups below k = {report.thresholds.k} in red)",
        highlight=[lo < report.thresholds.k for lo in classes],
    )
    contrib_chart = bar_chart(
        [c.variable for c in report.contributions],
        [max(c.uniques_drop, 0) for c in report.contributions],
        title="Fewer sample uniques when each variable is left out",
        value_label="fewer unique respondents without the variable",
    )
    return {
        "heading": heading,
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
        "charts": {
            "risk": Markup(risk_chart),  # noqa: S704 - built from escaped text only
            "fk": Markup(fk_chart),  # noqa: S704
            "contributions": Markup(contrib_chart),  # noqa: S704
        },
    }


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
            "Disclosure risk after the policy's recodes",
            stage=AFTER_RECODES,
            recoded=names,
        ),
    }
    collected = risk_context(
        report, "Disclosure risk as collected", stage=AS_COLLECTED, advice=False
    )
    return render_page("risk.html", title=title, risk=collected, recoded=recoded, reading=read)


def _groups(n: int) -> str:
    return f"{n:,} group" if n == 1 else f"{n:,} groups"


def _resp(n: int) -> str:
    return f"{n:,} respondent" if n == 1 else f"{n:,} respondents"


def _records(n: int) -> str:
    return f"{n:,} record" if n == 1 else f"{n:,} records"


def _have(n: int) -> str:
    return "has" if n == 1 else "have"


def _count_share(count: int, n: int) -> str:
    return f"{count:,} ({count / n:.1%})" if n else f"{count:,}"


def _opt(value: float | int | None, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


def _number(value: float) -> str:
    return f"{value:g}"


def _percent(share: float) -> str:
    return f"{share * 100:g}%"


def _fmt(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _number_word(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else f"{n}"


def _join(names: tuple[str, ...]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
