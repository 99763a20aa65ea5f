"""The release report: a self-contained HTML page for the bundle (``report.html``).

Written for the NSO clearance officer and the data steward. From the top: a verdict and a
plain-language summary, the key figures at a glance, a before/after comparison of every
risk measure, what was done to the data (in words, then the technical record), what it
cost in information, each table with its flags (and DP intervals), the synthetic data's
evaluation, the privacy budget, the files of the bundle, and finally the full risk
sections before and after (the same macro as ``sdc risk --html``).

Like every shareable report it prints no value of any record: tables show only their
protected cells, categories and figures are aggregates, and no microdata row appears.
Seeds and the pseudonymisation key never reach it.
"""

from __future__ import annotations

import math
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdc.anonymize.utility import utility_summary
from sdc.i18n import N_, _, ngettext
from sdc.i18n import decimal as _dec
from sdc.i18n import general as _gen
from sdc.i18n import integer as _int
from sdc.i18n import percent as _pct
from sdc.io import Reading
from sdc.report.html import render_page
from sdc.report.reading import reading_lines
from sdc.report.risk import risk_context
from sdc.risk.assess import RiskReport

if TYPE_CHECKING:
    from sdc.anonymize._treatment import Treatment
    from sdc.release.microdata import TreatedMicrodata
    from sdc.release.pipeline import ReleaseResult
    from sdc.tables import ProtectedTable

MAX_TABLE_ROWS = 200

_FLAG_WORDS = {
    "published": N_("published as computed"),
    "primary": N_("suppressed: the cell itself is too small or dominated"),
    "secondary": N_("suppressed so that a primary cell cannot be worked out from the totals"),
    "rounded": N_("rounded"),
    "dp": N_("noisy (differential privacy); see its {level} interval"),
}


def release_html(
    result: ReleaseResult,
    data_name: str,
    *,
    original: pd.DataFrame | None = None,
    reading: Reading | None = None,
) -> str:
    """Render the bundle's ``report.html``.

    Args:
        result: the release, with its manifest (``outputs`` may still be the hashes of the
            files written before the report).
        data_name: the input file's name, for headings.
        original: the input data, to measure information loss per variable (entropy,
            changed values, means and correlations); without it the loss section shows
            categories and suppressions only.
        reading: how the input file was read, for the "How the file was read" block; in
            a differentially private bundle it gives no count of the private records.
    """
    manifest = result.manifest
    policy = manifest.get("policy", {})
    md = result.microdata
    context: dict[str, Any] = {
        "policy_name": policy.get("name", ""),
        "verdict": _verdict(result),
        "headline": scope_lines(result) + release_warnings(result),
        "summary": _summary(result, data_name),
        "glance": _glance(result),
        "comparison": _comparison(result.before, result.after) if result.after else [],
        "attention": _attention(result),
        "treatments": _treatment_sentences(md, result.before) if md else [],
        "technical": _technical(md) if md else [],
        "seeded": _seeded(md) if md else False,
        "utility": _utility(result, original) if md else None,
        "tables": [_table(t) for t in result.tables],
        "synthetic": _synthetic(result),
        "privacy": _privacy(result),
        "outputs": _outputs(manifest),
        "input": manifest.get("input", {}),
        "input_meta": _input_meta(manifest.get("input", {})),
        "reading": reading_lines(reading, counts=not _private_count(manifest)),
        "policy_sha": str(manifest.get("policy_sha256", ""))[:16],
        # Without released microdata the exact risk figures of the input stay out of the
        # report: next to DP outputs they would be unprotected statistics of the data.
        "before": risk_context(
            result.before,
            _("Risk before treatment (the input data, not released)"),
            advice=False,
        )
        if result.after
        else None,
        "after": risk_context(
            result.after, _("Risk after treatment (the released microdata)"), advice=False
        )
        if result.after
        else None,
    }
    title = _("Release of {name}").format(name=data_name)
    return render_page("release.html", title=title, **context)


# --------------------------------------------------------------------------- summary


def scope_lines(result: ReleaseResult) -> list[str]:
    """What the bundle's guarantee covers, for the headline (empty when nothing is DP).

    A bundle mixing differentially private and classically protected outputs says so first,
    naming each kind: the DP guarantee covers only the DP outputs. A DP bundle says what it
    keeps out (the record count, the evaluation against the real records) and where the
    steward's files are.
    """
    guarantee = result.manifest.get("guarantee")
    dp = [_("table {name}").format(name=t.name) for t in result.tables if t.spec.dp is not None]
    sdc_ = [_("table {name}").format(name=t.name) for t in result.tables if t.spec.dp is None]
    if result.synthetic is not None:
        dp.append(_("the synthetic records"))
    if result.microdata is not None:
        sdc_.insert(0, _("the microdata"))
    out: list[str] = []
    if guarantee == "mixed":
        dp_part = ngettext(
            "only {outputs} is differentially private",
            "only {outputs} are differentially private",
            len(dp),
        ).format(outputs=_and(dp))
        sdc_part = ngettext(
            "{outputs} is protected by disclosure-control rules",
            "{outputs} are protected by disclosure-control rules",
            len(sdc_),
        ).format(outputs=_and(sdc_))
        out.append(
            _("Mixed bundle: {dp}; {sdc}, which give no differential-privacy guarantee.").format(
                dp=dp_part, sdc=sdc_part
            )
        )
    if result.input_key is not None:
        out.append(
            _(
                "DP bundle: the exact number of input records is not published, and the input "
                "is identified by a keyed hash whose key the steward keeps in {file} (beside "
                "the bundle; never publish it)."
            ).format(file=result.input_key.name)
        )
    if result.evaluation_file is not None:
        out.append(
            _(
                "The evaluation of the synthetic records against the real ones is computed on "
                "the real data without noise: it is kept for the steward in {file}, beside the "
                "bundle, and must not be published."
            ).format(file=result.evaluation_file.name)
        )
    return out


def _private_count(manifest: dict[str, Any]) -> bool:
    """Whether the number of input records is kept out of the bundle (a DP bundle)."""
    return manifest.get("guarantee") == "dp" or bool(manifest.get("input", {}).get("keyed_sha256"))


def _input_meta(section: dict[str, Any]) -> str:
    """The report's line about the input: name, size and hash (keyed in a DP bundle)."""
    name = section.get("name", "")
    if section.get("keyed_sha256"):
        return _("{name} (record count not published; keyed hash HMAC-SHA256 {hash})").format(
            name=name, hash=str(section["keyed_sha256"])[:16]
        )
    rows = section.get("rows")
    size = _int(rows) if isinstance(rows, int) else "?"
    return _("{name} ({n} records, SHA-256 {hash})").format(
        name=name, n=size, hash=str(section.get("sha256") or "")[:16]
    )


def _verdict(result: ReleaseResult) -> str:
    name = result.manifest.get("policy", {}).get("name", "")
    return (
        _("This bundle meets every threshold of the policy “{name}”.").format(name=name)
        if name
        else _("This bundle meets every threshold of its policy.")
    )


#: A variable blanked in more than this share of the records is named in the headline.
HEADLINE_SUPPRESSION_SHARE = 0.5


def release_warnings(result: ReleaseResult) -> list[str]:
    """Costs and risks a steward must see first, even when every threshold holds.

    Named: a quasi-identifier removed entirely (generalised to its top level, or left with
    no value that tells records apart), one blanked in more than half of the records,
    records whose quasi-identifiers are all blank (they count as suppressed), and every
    sensitive column whose worst share of one value in a key group grew from before to
    after treatment. The terminal summary of ``sdc release`` prints the same lines.
    """
    out: list[str] = []
    md, before, after = result.microdata, result.before, result.after
    if md is None or after is None:
        return out
    n = len(md.frame)
    for col in after.quasi:
        if col not in md.frame:
            continue
        had = md.distinct_before.get(col, 0)
        shown = md.frame[col].dropna()
        left = int(shown.nunique())
        if had > 1 and left <= 1:
            if left == 1 and len(shown) == n:
                what = _(
                    "{column} removed entirely (every record says {value}): it no longer tells "
                    "any respondent apart."
                ).format(column=col, value=str(shown.iloc[0]))
            else:
                what = _(
                    "{column} removed entirely: it no longer tells any respondent apart."
                ).format(column=col)
            out.append(what)
            continue
        blanked = md.suppressed_values.get(col, 0)
        if n and blanked / n > HEADLINE_SUPPRESSION_SHARE:
            out.append(
                _("{column} blanked in {share} of the records.").format(
                    column=col, share=_pct(blanked / n, 0)
                )
            )
    rule = after.k_rule
    if rule is not None and rule.suppressed_records:
        out.append(
            ngettext(
                "{n} respondent has every quasi-identifier blank: they reveal no key and count "
                "as suppressed.",
                "{n} respondents have every quasi-identifier blank: they reveal no key and "
                "count as suppressed.",
                rule.suppressed_records,
            ).format(n=_int(rule.suppressed_records))
        )
    grew = {g.variable: g for g in before.group_disclosure}
    for g in after.group_disclosure:
        was = grew.get(g.variable)
        if was is not None and g.worst_share > was.worst_share + 1e-9:
            out.append(
                _(
                    "Attribute disclosure grew: in the worst group the largest share of one "
                    "{variable} value went from {before} to {after}."
                ).format(
                    variable=g.variable,
                    before=_pct(was.worst_share, 1),
                    after=_pct(g.worst_share, 1),
                )
            )
    return out


def _summary(result: ReleaseResult, data_name: str) -> list[str]:
    """Plain-language paragraphs: what was released, what changed, what it cost."""
    out: list[str] = []
    before, after, md = result.before, result.after, result.microdata
    made = []
    if md is not None:
        made.append(
            _("a treated copy of the microdata ({n} records)").format(n=_int(len(md.frame)))
        )
    if result.tables:
        made.append(
            ngettext("{n} protected table", "{n} protected tables", len(result.tables)).format(
                n=_int(len(result.tables))
            )
        )
    if result.synthetic is not None:
        made.append(_("{n} synthetic records").format(n=_int(len(result.synthetic.data))))
    if md is not None:
        out.append(
            _("From {data} ({n} records) this bundle releases {outputs}.").format(
                data=data_name, n=_int(before.n_records), outputs=_and(made)
            )
        )
    else:
        out.append(
            _("From {data} this bundle releases {outputs}.").format(
                data=data_name, outputs=_and(made)
            )
        )
    if md is not None and after is not None:
        out.append(_risk_sentence(before, after))
        out.append(_cost_sentence(md))
    if result.tables:
        out += _tables_sentence(result)
    out.append(_signed_sentence(result.manifest))
    if result.budget.epsilon > 0:
        cap = result.manifest.get("privacy", {}).get("cap", {}).get("epsilon")
        spent = _gen(result.budget.epsilon)
        out.append(
            _(
                "The differentially private outputs spent a privacy budget of epsilon {spent} "
                "of the {cap} the policy allows for this file."
            ).format(spent=spent, cap=_gen(cap))
            if cap
            else _(
                "The differentially private outputs spent a privacy budget of epsilon {spent}."
            ).format(spent=spent)
        )
    return out


def _risk_sentence(before: RiskReport, after: RiskReport) -> str:
    """Uniques and expected re-identifications before and after treatment, in words."""
    rule = after.k_rule
    min_after = rule.smallest_key if rule is not None and rule.smallest_key else 0
    was = ngettext(
        "Before treatment {n} respondent was the only person with their combination of "
        "{keys}, and an intruder could expect to re-identify about {expected} respondents.",
        "Before treatment {n} respondents were the only person with their combination of "
        "{keys}, and an intruder could expect to re-identify about {expected} respondents.",
        before.sample_uniques,
    ).format(
        n=_int(before.sample_uniques),
        keys=_and(list(before.quasi)),
        expected=_dec(before.expected_reidentifications, 1),
    )
    unique = (
        _("nobody is unique")
        if after.sample_uniques == 0
        else ngettext(
            "{n} respondent remains unique", "{n} respondents remain unique", after.sample_uniques
        ).format(n=_int(after.sample_uniques))
    )
    now = _(
        "After treatment {unique}, every combination is shared by at least {smallest} records "
        "(the policy asks for {k}), and about {expected} re-identifications are expected."
    ).format(
        unique=unique,
        smallest=min_after,
        k=after.thresholds.k,
        expected=_dec(after.expected_reidentifications, 1),
    )
    return f"{was} {now}"


def _tables_sentence(result: ReleaseResult) -> list[str]:
    """How many table cells were suppressed and how many tables carry DP noise."""
    suppressed = sum(
        t.flag_counts.get("primary", 0) + t.flag_counts.get("secondary", 0) for t in result.tables
    )
    dp = [t for t in result.tables if t.spec.dp is not None]
    parts = []
    if suppressed:
        parts.append(
            ngettext("{n} table cell suppressed", "{n} table cells suppressed", suppressed).format(
                n=_int(suppressed)
            )
        )
    if dp:
        parts.append(
            ngettext(
                "{n} table published with noise (differential privacy)",
                "{n} tables published with noise (differential privacy)",
                len(dp),
            ).format(n=_int(len(dp)))
        )
    return [_("In the tables: {what}.").format(what=_and(parts))] if parts else []


def _signed_sentence(manifest: dict[str, Any]) -> str:
    """Who signed the bundle (the key's fingerprint), or that nobody did."""
    signer = manifest.get("signer")
    if isinstance(signer, dict) and signer.get("fingerprint"):
        return _(
            "The manifest is signed with the Ed25519 key {fingerprint}: `sdc check --trust` "
            "with that key's public file proves that no file of the bundle changed since it "
            "was signed."
        ).format(fingerprint=signer["fingerprint"])
    return _("The bundle is not signed: `sdc check` verifies its contents, but not who made it.")


def _cost_sentence(md: TreatedMicrodata) -> str:
    changes = []
    for t in md.treatments:
        if t.name in ("recode.bands", "recode.map"):
            col = t.columns[0]
            before = md.distinct_before.get(col)
            now = int(md.frame[col].nunique()) if col in md.frame else None
            if before is not None and now is not None:
                changes.append(
                    _("{column} went from {before} to {after} categories").format(
                        column=col, before=_int(before), after=_int(now)
                    )
                )
    values = sum(md.suppressed_values.values())
    if values:
        blanked = ngettext(
            "{values} in {records} ({share}) was blanked.",
            "{values} in {records} ({share}) were blanked.",
            values,
        ).format(
            values=_values(values),
            records=_records(md.suppressed_records),
            share=_pct(md.suppression_share, 1),
        )
    else:
        blanked = _("no value was blanked.")
    if changes:
        return _("The price: {changes}; {blanked}").format(changes=_and(changes), blanked=blanked)
    return _("The price: {blanked}").format(blanked=blanked)


def _glance(result: ReleaseResult) -> list[dict[str, str]]:
    """Four key figures for the boxes at the top."""
    before, after, md = result.before, result.after, result.microdata
    cards = []
    if after is not None:
        cards.append(
            {
                "label": _("unique respondents"),
                "value": f"{_int(before.sample_uniques)} → {_int(after.sample_uniques)}",
            }
        )
        cards.append(
            {
                "label": _("expected re-identifications"),
                "value": f"{_dec(before.expected_reidentifications, 1)} → "
                f"{_dec(after.expected_reidentifications, 1)}",
            }
        )
    if md is not None:
        cards.append(
            {
                "label": _("records with a blanked value"),
                "value": f"{_int(md.suppressed_records)} ({_pct(md.suppression_share, 1)})",
            }
        )
    if result.tables:
        cells = sum(
            len(t.table) - t.flag_counts.get("primary", 0) - t.flag_counts.get("secondary", 0)
            for t in result.tables
        )
        cards.append({"label": _("table cells published"), "value": _int(cells)})
    cap = result.manifest.get("privacy", {}).get("cap", {}).get("epsilon")
    if result.budget.epsilon > 0 or result.synthetic is not None:
        spent = _gen(result.budget.epsilon)
        cards.append(
            {
                "label": _("privacy budget spent (epsilon)"),
                "value": _("{spent} of {cap}").format(spent=spent, cap=_gen(cap)) if cap else spent,
            }
        )
    return cards


def _attention(result: ReleaseResult) -> list[str]:
    """What a clearance officer should look at although every threshold holds."""
    out: list[str] = []
    after = result.after
    if after is not None:
        out += _attention_groups(after)
    for t in result.tables:
        if t.spec.dp is None or not {"ci_low", "ci_high"} <= set(t.table.columns):
            continue
        stat = t.spec.statistic
        width = (t.table["ci_high"] - t.table["ci_low"]).astype(float)
        value = t.table[stat].astype(float).abs()
        noisy = int((width > value).sum())
        if noisy:
            out.append(
                _(
                    "Table {name}: in {noisy} of {cells} cells the {level} interval is wider than "
                    "the published number itself; those cells say little. A larger epsilon or "
                    "coarser categories would help."
                ).format(
                    name=t.name, noisy=_int(noisy), cells=_int(len(t.table)), level=_pct(0.95, 0)
                )
            )
    return out


def _attention_groups(after: RiskReport) -> list[str]:
    """Groups dominated by one sensitive value, and special uniques left after treatment."""
    out: list[str] = []
    th = after.thresholds
    keys = _and(list(after.quasi))
    for g in after.group_disclosure:
        if g.records:
            advice = (
                _("The policy sets no l-diversity; consider thresholds.l or coarser recoding.")
                if th.l is None
                else _("l-diversity holds, but the groups are still dominated by one value.")
            )
            out.append(
                _(
                    "In {groups} of the released file ({respondents}, {share}) at least "
                    "{dominant} have the same {variable}: knowing someone's {keys} reveals "
                    "their {variable}."
                ).format(
                    groups=_groups(g.keys),
                    respondents=_resp(g.records),
                    share=_pct(g.records / after.n_records, 1),
                    dominant=_pct(g.share, 0),
                    variable=g.variable,
                    keys=keys,
                )
                + " "
                + advice
            )
    suda = after.suda
    if suda is not None and suda.records_with_msu:
        out.append(
            ngettext(
                "{n} respondent still has a special unique (SUDA): a combination of at most "
                "{size} of these facts that nobody else has, once blanks are taken literally.",
                "{n} respondents still have a special unique (SUDA): a combination of at most "
                "{size} of these facts that nobody else has, once blanks are taken literally.",
                suda.records_with_msu,
            ).format(n=_int(suda.records_with_msu), size=suda.max_msu)
        )
    return out


# --------------------------------------------------------------------------- comparison


def _comparison(before: RiskReport, after: RiskReport) -> list[dict[str, str]]:
    """Every risk measure before and after, with the policy's limit and the verdict."""
    th = after.thresholds
    failed = {b.name for b in after.breaches}
    rows: list[dict[str, str]] = []

    def add(measure: str, b: str, a: str, limit: str = "", check: str | None = None) -> None:
        status = "" if check is None else (_("FAIL") if check in failed else _("ok"))
        rows.append({"measure": measure, "before": b, "after": a, "limit": limit, "status": status})

    at_most = _("at most {limit}")
    add(_("records"), _int(before.n_records), _int(after.n_records))
    add(
        _("smallest group (k-anonymity)"),
        _int(_min_fk(before)),
        _int(_min_fk(after)),
        _("at least {limit}").format(limit=th.k),
        "k",
    )
    add(
        _("sample uniques"),
        _share(before.sample_uniques, before.n_records),
        _share(after.sample_uniques, after.n_records),
    )
    add(
        _("records in groups smaller than {k}").format(k=th.k),
        _share(_below(before, th.k), before.n_records),
        _share(_below(after, th.k), after.n_records),
    )
    add(
        _("global risk (mean individual risk)"),
        _pct(before.global_risk, 2),
        _pct(after.global_risk, 2),
    )
    add(
        _("expected re-identifications"),
        _dec(before.expected_reidentifications, 2),
        _dec(after.expected_reidentifications, 2),
        _limit(th.max_expected_reidentifications, at_most),
        "max_expected_reidentifications" if th.max_expected_reidentifications is not None else None,
    )
    add(
        _("highest individual risk"),
        _dec(before.max_risk, 3),
        _dec(after.max_risk, 3),
        _limit(th.max_individual_risk, at_most),
        "max_individual_risk" if th.max_individual_risk is not None else None,
    )
    if before.household_risk is not None and after.household_risk is not None:
        add(
            _("expected re-identifications counting households"),
            _dec(before.household_risk.expected_reidentifications, 2),
            _dec(after.household_risk.expected_reidentifications, 2),
        )
    if before.suda is not None and after.suda is not None:
        add(
            _("records with a special unique (SUDA)"),
            _share(before.suda.records_with_msu, before.n_records),
            _share(after.suda.records_with_msu, after.n_records),
        )
    nb, na = before.numeric, after.numeric
    if nb is not None and na is not None and na.relinked_share is not None:
        add(
            _("records an intruder with the original numbers re-links (record linkage)"),
            _opt_share(nb.relinked_share) or "",
            _opt_share(na.relinked_share) or "",
        )
        add(
            _("interval disclosure of the numbers (dRisk)"),
            _opt_share(nb.interval_disclosure) or "",
            _opt_share(na.interval_disclosure) or "",
        )
    _compare_attributes(before, after, add)
    return rows


def _compare_attributes(before: RiskReport, after: RiskReport, add: Any) -> None:
    """The l-diversity, group-share and t-closeness rows of the comparison."""
    th = after.thresholds
    after_l = {ld.variable: ld for ld in after.l_diversity}
    for ld in before.l_diversity:
        la = after_l.get(ld.variable)
        if la is None:
            continue
        add(
            _("l-diversity of {variable} (fewest distinct values in a group)").format(
                variable=ld.variable
            ),
            f"{ld.distinct_min}",
            f"{la.distinct_min}",
            _limit(th.l, _("at least {limit}")),
            "l" if th.l is not None else None,
        )
    after_g = {g.variable: g for g in after.group_disclosure}
    for g in before.group_disclosure:
        ga = after_g.get(g.variable)
        if ga is None:
            continue
        add(
            _("records in groups where at least {share} have the same {variable}").format(
                share=_pct(g.share, 0), variable=g.variable
            ),
            _share(g.records, before.n_records),
            _share(ga.records, after.n_records),
        )
    after_t = {tc.variable: tc for tc in after.t_closeness}
    for tc in before.t_closeness:
        ta = after_t.get(tc.variable)
        if ta is None:
            continue
        add(
            _("t-closeness of {variable} (largest distance)").format(variable=tc.variable),
            _dec(tc.max_distance, 3),
            _dec(ta.max_distance, 3),
            _limit(th.t, _("at most {limit}")),
            "t" if th.t is not None else None,
        )


def _min_fk(report: RiskReport) -> int:
    return int(report.records["f_k"].min()) if report.n_records else 0


def _below(report: RiskReport, k: int) -> int:
    return int((report.records["f_k"] < k).sum()) if report.n_records else 0


# --------------------------------------------------------------------------- treatments


def _treatment_sentences(md: TreatedMicrodata, before: RiskReport) -> list[str]:
    """One plain sentence per treatment, in the order applied."""
    return [_describe(t, before) for t in md.treatments]


def _describe(t: Treatment, before: RiskReport) -> str:
    p = t.to_dict()["parameters"]
    cols = _and([f"{c}" for c in t.columns])
    if t.name == "pseudonymize":
        return _describe_pseudonyms(cols, p)
    if t.name == "drop":
        if p.get("role") == "direct":
            return _("Removed the direct identifiers {columns}.").format(columns=cols)
        return _("Removed {columns}, which the policy marks to be left out.").format(columns=cols)
    if t.name.startswith("recode.") or t.name in ("top_code", "bottom_code"):
        return _describe_recode(t, cols)
    return _describe_perturbation(t, cols, before)


def _describe_pseudonyms(cols: str, p: dict[str, Any]) -> str:
    # A record without "linkable" predates per-release keys: its key was the steward's.
    scope = (
        _(
            "the same identifier gets the same code in every release made with the steward's "
            "key, so releases can be linked on it"
        )
        if p.get("linkable", True)
        else _(
            "the key is new for this release, so these codes cannot be linked to those of any "
            "other release"
        )
    )
    return _(
        "Replaced {columns} by keyed pseudonyms ({algorithm}): {scope}. Without the key, which "
        "the data steward keeps and which is not in this bundle, nobody can recover the "
        "original."
    ).format(columns=cols, algorithm=p.get("algorithm", "HMAC"), scope=scope)


def _describe_recode(t: Treatment, cols: str) -> str:
    p = t.to_dict()["parameters"]
    d = t.to_dict()["details"]
    if t.name == "recode.bands":
        extra = []
        if p.get("top_code") is not None:
            extra.append(
                _("values above {value} counted as {value}").format(value=_num(p["top_code"]))
            )
        if p.get("bottom_code") is not None:
            extra.append(
                _("values below {value} counted as {value}").format(value=_num(p["bottom_code"]))
            )
        bands = len(d.get("bands", {})) if isinstance(d.get("bands"), dict) else None
        text = (
            ngettext(
                "Grouped {columns} into {n} band starting at {breaks}",
                "Grouped {columns} into {n} bands starting at {breaks}",
                bands,
            )
            if bands
            else _("Grouped {columns} into bands starting at {breaks}")
        ).format(
            columns=cols, n=_int(bands or 0), breaks=", ".join(_num(b) for b in p.get("breaks", []))
        )
        return text + (f" ({'; '.join(extra)})" if extra else "") + "."
    if t.name == "recode.map":
        before_c, after_c = d.get("categories_before"), d.get("categories_after")
        change = (
            _(": {before} categories became {after}").format(
                before=_int(before_c), after=_int(after_c)
            )
            if isinstance(before_c, int) and isinstance(after_c, int)
            else ""
        )
        return _(
            "Replaced {columns} by level {level} of the hierarchy {source} (level 0 is the "
            "original value){change}."
        ).format(
            columns=cols,
            level=p.get("level"),
            source=PurePath(str(p.get("hierarchy", ""))).name,
            change=change,
        )
    if t.name == "recode.prefix":
        return _("Kept only the first {length} characters of {columns}.").format(
            length=p.get("length"), columns=cols
        )
    if t.name == "recode.date":
        if p.get("unit") == "year":
            return _("Coarsened the dates in {columns} to the year.").format(columns=cols)
        return _("Coarsened the dates in {columns} to the month.").format(columns=cols)
    if t.name == "recode.grid":
        return _("Moved the coordinates in {columns} to a grid of {step} degrees.").format(
            columns=cols, step=_num(p.get("step"))
        )
    if t.name in ("top_code", "bottom_code"):
        template = (
            _("Top-coded {columns}: {values} above {value} set to {value}.")
            if t.name == "top_code"
            else _("Bottom-coded {columns}: {values} below {value} set to {value}.")
        )
        return template.format(
            columns=cols, values=_values(t.total_changed), value=_num(p.get("value"))
        )
    return _apply(t, cols)


def _describe_perturbation(t: Treatment, cols: str, before: RiskReport) -> str:
    p = t.to_dict()["parameters"]
    d = t.to_dict()["details"]
    values = _values(t.total_changed)
    if t.name == "local_suppression":
        per = [f"{c} {_int(v)}" for c, v in t.changed.items() if v]
        text = _(
            "Blanked {values} of the quasi-identifiers so that every combination of {keys} is "
            "shared by at least {k} records (a blank matches any value, so it hides the record "
            "among more people)"
        ).format(values=values, keys=_and(list(before.quasi)), k=p.get("k"))
        if per:
            text += _("; per variable: {counts}").format(counts=", ".join(per))
        return text + "."
    if t.name == "pram" and p.get("matrix") is not None:
        return _(
            "Randomly reclassified {columns} (PRAM) by the transition matrix the policy gives; "
            "{values} changed. The random draws cannot be replayed without the seed, which "
            "stays with the data steward."
        ).format(columns=cols, values=values)
    if t.name == "pram":
        return _(
            "Randomly reclassified {columns} (PRAM): each value was kept with a probability of "
            "about {p} or else swapped for another category, in a way that keeps the expected "
            "frequencies; {values} changed. The random draws cannot be replayed without the "
            "seed, which stays with the data steward."
        ).format(columns=cols, p=_param(p.get("p")), values=values)
    if t.name in ("rank_swap", "record_swap", "shuffle"):
        return _describe_swap(t, cols)
    if t.name == "mv_top_code":
        outliers = int(t.to_dict()["details"].get("outliers", 0))
        return _(
            "Pulled {records} that lay far out in {columns} together (multivariate top "
            "coding: robust Mahalanobis distance beyond the {share} ellipsoid) back onto "
            "that boundary, towards the centre of the data; {values} changed."
        ).format(
            records=_records(outliers),
            columns=cols,
            share=_pct(1 - float(p.get("alpha", 0.025)), 1),
            values=values,
        )
    if t.name == "microaggregation":
        return _microaggregation_sentence(p, cols, values)
    if t.name == "noise":
        template = (
            _(
                "Added random noise to {columns} (standard deviation {sd} times the column's "
                "own standard deviation) and kept within the public bounds; the seed stays with "
                "the data steward."
            )
            if p.get("bounds")
            else _(
                "Added random noise to {columns} (standard deviation {sd} times the column's "
                "own standard deviation); the seed stays with the data steward."
            )
        )
        return template.format(columns=cols, sd=_param(p.get("sd")))
    if t.name == "generalize.auto":
        levels = d.get("levels", {})
        chosen = _and(
            [_("{column} at level {level}").format(column=c, level=lv) for c, lv in levels.items()]
        )
        sensitive = (
            _(" and {l} different sensitive values").format(l=p.get("l")) if p.get("l") else ""
        )
        return _(
            "Searched {checked} of {size} combinations of hierarchy levels for the one that "
            "keeps most information while every group has at least {k} records{sensitive}: "
            "{chosen}; {records} blanked entirely."
        ).format(
            checked=d.get("nodes_checked", "?"),
            size=d.get("lattice_size", "?"),
            k=p.get("k"),
            sensitive=sensitive,
            chosen=chosen,
            records=_records(int(d.get("suppressed_records", 0) or 0)),
        )
    return _apply(t, cols)


def _microaggregation_sentence(p: Any, cols: str, values: str) -> str:
    """What microaggregation did, by its method, with its strata and weights."""
    if p.get("method") == "individual":
        text = _(
            "Replaced each value of {columns} by the average of the {k} or more values next to "
            "it in that column's own order (individual ranking); {values} changed. Each column "
            "is grouped on its own, so a record's combination of values is not shared by {k} "
            "records."
        )
    elif p.get("method") == "pca":
        text = _(
            "Replaced {columns} by the average of groups of at least {k} records next to each "
            "other along their first principal component (PCA microaggregation); {values} "
            "changed."
        )
    else:
        text = _(
            "Replaced {columns} by the average of groups of at least {k} similar records (MDAV "
            "microaggregation); {values} changed."
        )
    text = text.format(columns=cols, k=p.get("k"), values=values)
    if p.get("strata"):
        text += " " + _("Groups were formed within each value of {strata}.").format(
            strata=", ".join(map(str, p["strata"]))
        )
    if p.get("weights"):
        text += " " + _(
            "Each average is weighted by the sampling weights ({weight}), so weighted totals "
            "are kept."
        ).format(weight=p["weights"])
    return text


def _describe_swap(t: Treatment, cols: str) -> str:
    """Rank swapping, record swapping and shuffling: values moved between records."""
    p = t.to_dict()["parameters"]
    d = t.to_dict()["details"]
    values = _values(t.total_changed)
    if t.name == "rank_swap":
        return _(
            "Swapped the values of {columns} among records of close rank (rank swapping, "
            "within about {p}% of the records); {values} moved to another record. Each "
            "column keeps exactly its values, so its mean and spread are unchanged; the seed "
            "stays with the data steward."
        ).format(columns=cols, p=_param(p.get("p")), values=values)
    if t.name == "record_swap":
        return _describe_record_swap(cols, p, d)
    if t.name == "shuffle":
        return _(
            "Shuffled {columns} (data shuffling): each record received another record's "
            "original value, chosen by a model of {predictors} so that their relations are "
            "kept; {values} moved. Each column keeps exactly its values; the seed stays with "
            "the data steward."
        ).format(
            columns=cols,
            predictors=_and([str(c) for c in p.get("predictors", [])]) or _("nothing else"),
            values=values,
        )
    return _apply(t, cols)


def _describe_record_swap(cols: str, p: dict[str, Any], d: dict[str, Any]) -> str:
    similar = _and([str(c) for c in p.get("similar", [])])
    figures = {
        "columns": cols,
        "swapped": _int(int(d.get("swapped_units", 0))),
        "units": _int(int(d.get("units", 0))),
        "unit": _("households") if p.get("unit") == "household" else _("records"),
        "rate": _param(p.get("rate")),
        "similar": similar,
        "risky": _int(int(d.get("risky_swapped", 0))),
        "all_risky": _int(int(d.get("risky_units", 0))),
        "k": p.get("k"),
    }
    if not similar:
        return _(
            "Swapped {columns} between {swapped} of {units} {unit} (targeted record swapping, "
            "rate {rate}), each pair from two different areas; {risky} of the {all_risky} at "
            "risk (their key is shared by fewer than {k} records) were among them. The counts "
            "per area are unchanged; the seed stays with the data steward."
        ).format(**figures)
    return _(
        "Swapped {columns} between {swapped} of {units} {unit} (targeted record swapping, "
        "rate {rate}), each pair from two different areas and with the same {similar}; "
        "{risky} of the {all_risky} at risk (their key is shared by fewer than {k} records) "
        "were among them. The counts per area and their cross-tabulation with {similar} are "
        "unchanged; the seed stays with the data steward."
    ).format(**figures)


def _apply(t: Treatment, cols: str) -> str:
    return _("Applied {name} to {columns}; {values} changed.").format(
        name=t.name, columns=cols, values=_values(t.total_changed)
    )


def _technical(md: TreatedMicrodata) -> list[dict[str, str]]:
    """The treatment records as in the manifest (parameters only; never seeds)."""
    rows = []
    for t in md.treatments:
        params = t.to_dict()["parameters"]
        if "hierarchy" in params:
            params["hierarchy"] = PurePath(str(params["hierarchy"])).name
        rows.append(
            {
                "name": t.name,
                "columns": ", ".join(t.columns),
                "parameters": ", ".join(f"{k}={_param(v)}" for k, v in params.items()),
                "changed": _int(t.total_changed),
            }
        )
    return rows


def _seeded(md: TreatedMicrodata) -> bool:
    """Whether a random treatment ran with a seed the steward keeps (PRAM, noise).

    The report mentions withheld seeds only then: a sentence about seeds after a release
    without randomness would send the reader looking for something that does not exist.
    """
    return any("seed" in t.private for t in md.treatments)


def _param(value: Any) -> str:
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, list):
        return "[" + ", ".join(_param(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_param(v)}" for k, v in value.items()) + "}"
    return str(value)


# --------------------------------------------------------------------------- information loss


def _utility(result: ReleaseResult, original: pd.DataFrame | None) -> dict[str, Any]:
    md = result.microdata
    assert md is not None
    quasi = list(result.before.quasi)
    categorical = list(quasi)
    numeric: list[str] = []
    for t in md.treatments:
        if t.name == "pram":
            categorical += [c for c in t.columns if c not in categorical]
        if t.name in (
            "noise",
            "microaggregation",
            "top_code",
            "bottom_code",
            "rank_swap",
            "shuffle",
            "mv_top_code",
        ):
            numeric += [c for c in t.columns if c not in numeric and c not in quasi]
    if original is None or len(original) != len(md.frame):
        return {
            "full": False,
            "categorical": [
                {
                    "name": q,
                    "before": _opt_int(md.distinct_before.get(q)),
                    "after": _opt_int(
                        int(md.frame[q].nunique()) if q in md.frame.columns else None
                    ),
                    "entropy": "",
                    "suppressed": _int(md.suppressed_values.get(q, 0)),
                    "changed": "",
                }
                for q in quasi
            ],
            "numeric": [],
            "correlation": None,
        }
    present = [c for c in categorical if c in original.columns]
    nums = [c for c in numeric if c in original.columns]
    summary = utility_summary(original, md.frame, present, nums)
    cat_rows = []
    for col in present:
        f = summary["quasi"][col]
        if f.get("removed"):
            continue
        cat_rows.append(
            {
                "name": col,
                "before": _int(f["categories_before"]),
                "after": _int(f["categories_after"]),
                "entropy": _("{before} → {after} bits ({loss} lost)").format(
                    before=_dec(f["entropy_before"], 2),
                    after=_dec(f["entropy_after"], 2),
                    loss=_pct(f["entropy_loss"], 0),
                ),
                "suppressed": _int(f["suppressed"]),
                "changed": _int(f["changed"]),
            }
        )
    num_rows = []
    for col in nums:
        f = summary["numeric"][col]
        if f.get("removed"):
            continue
        num_rows.append(
            {
                "name": col,
                "mean": f"{_opt_num(f['mean_before'])} → {_opt_num(f['mean_after'])}",
                "sd": f"{_opt_num(f['sd_before'])} → {_opt_num(f['sd_after'])}",
                "mean_change": "" if f["mean_change"] is None else _signed_pct(f["mean_change"]),
                "changed": _int(f["changed"]),
            }
        )
    biggest = summary.get("max_correlation_change")
    # The measures of the manifest (microdata.utility, risk.after.numeric_risk), computed
    # once by the release on the columns the policy perturbs or top codes.
    util = (result.manifest.get("microdata") or {}).get("utility") or {}
    linked = result.after.numeric if result.after is not None else None
    return {
        "full": True,
        "categorical": cat_rows,
        "numeric": num_rows,
        "correlation": None if biggest is None else _dec(biggest, 3),
        "il1s": _opt_dec(util.get("il1s")),
        "eigen": _opt_dec(util.get("eigen")),
        "il_correl": _opt_dec(util.get("il_correl")),
        "relinked": _opt_share(linked.relinked_share if linked else None),
        "interval": _opt_share(linked.interval_disclosure if linked else None),
    }


def _opt_dec(x: float | None) -> str | None:
    return None if x is None else _dec(x, 3)


def _opt_share(x: float | None) -> str | None:
    return None if x is None else _pct(x, 1)


# --------------------------------------------------------------------------- tables


def _table(t: ProtectedTable) -> dict[str, Any]:
    frame = t.table
    spec = t.spec
    stat = spec.statistic
    dp = spec.dp is not None
    by = list(spec.by)
    head = [
        *by,
        stat,
        *([_("{level} interval").format(level=_pct(0.95, 0))] if dp else []),
        _("flag"),
    ]
    rows = []
    for rec in frame.head(MAX_TABLE_ROWS).to_dict("records"):
        flag = str(rec.get("flag", ""))
        value = rec.get(stat)
        shown = _("suppressed") if _missing(value) else _num(value)
        cells = [{"text": str(rec.get(b, "")), "cls": ""} for b in by]
        cells.append({"text": shown, "cls": "num value"})
        if dp:
            lo, hi = rec.get("ci_low"), rec.get("ci_high")
            interval = "" if _missing(lo) or _missing(hi) else f"{_num(lo)} – {_num(hi)}"
            cells.append({"text": interval, "cls": "num"})
        cells.append({"text": flag, "cls": f"flag-{flag}"})
        rows.append({"cells": cells, "flag": flag, "suppressed": _missing(value)})
    counts = {k: v for k, v in t.flag_counts.items() if v}
    grid = _grid(frame, by, stat) if len(by) == 2 and not dp else None
    return {
        "name": t.name,
        "title": _("{statistic} of {variable} by {groups}").format(
            statistic=_statistic(stat), variable=spec.variable, groups=" × ".join(by)
        )
        if spec.variable
        else _("{statistic} by {groups}").format(statistic=_statistic(stat), groups=" × ".join(by)),
        "protection": _protection(t),
        "mechanism": t.mechanism,
        "flags": ", ".join(f"{_int(n)} {k}" for k, n in counts.items()),
        "legend": [(k, _flag_words(k)) for k in counts],
        "head": head,
        "rows": rows,
        "grid": grid,
        "truncated": len(frame) > MAX_TABLE_ROWS,
        "total": len(frame),
        "total_text": _int(len(frame)),
        "epsilon": t.budget.epsilon,
    }


def _statistic(stat: str) -> str:
    """A table's statistic in words (``count``, ``sum``, ``mean``)."""
    words = {"count": _("count"), "sum": _("sum"), "mean": _("mean")}
    return words.get(stat, stat)


def _unit(unit: str) -> str:
    """The privacy unit in words."""
    return {"individual": _("individual"), "household": _("household")}.get(unit, unit)


def _flag_words(flag: str) -> str:
    """What a table flag means, in words."""
    if flag not in _FLAG_WORDS:
        return flag
    return _(_FLAG_WORDS[flag]).format(level=_pct(0.95, 0))


def _grid(frame: pd.DataFrame, by: list[str], stat: str) -> dict[str, Any] | None:
    """A two-way table laid out as rows x columns (margins last), each cell with its flag."""
    rows_var, cols_var = by
    row_labels = list(dict.fromkeys(frame[rows_var].astype(str)))
    col_labels = list(dict.fromkeys(frame[cols_var].astype(str)))
    if len(row_labels) > MAX_TABLE_ROWS or len(col_labels) > 12:
        return None
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for rec in frame.to_dict("records"):
        flag = str(rec.get("flag", ""))
        value = rec.get(stat)
        text = flag if _missing(value) else _num(value)
        if flag == "rounded" and not _missing(value):
            text += " (r)"
        cells[(str(rec[rows_var]), str(rec[cols_var]))] = {
            "text": text,
            "cls": f"num flag-{flag}" + (" suppressed" if _missing(value) else ""),
        }
    empty = {"text": "", "cls": ""}
    return {
        "corner": f"{rows_var} \\ {cols_var}",
        "columns": col_labels,
        "rows": [
            {"label": r, "cells": [cells.get((r, c), empty) for c in col_labels]}
            for r in row_labels
        ],
    }


def _protection(t: ProtectedTable) -> str:
    spec = t.spec
    if spec.dp is not None:
        return _(
            "Every number carries random noise from OpenDP ({mechanism} mechanism, epsilon "
            "{epsilon}), so no single respondent changes it by much. The {level} interval shows "
            "how far the published number may be from the true one; categories come from the "
            "policy, never from the data."
        ).format(mechanism=spec.dp.mechanism, epsilon=_gen(spec.dp.epsilon), level=_pct(0.95, 0))
    parts = []
    if spec.min_cell:
        parts.append(
            _("cells with fewer than {n} respondents are suppressed").format(n=spec.min_cell)
        )
    if spec.dominance:
        n, k = spec.dominance
        parts.append(
            ngettext(
                "cells where the largest contributor holds more than {share} of the total are "
                "suppressed",
                "cells where the {n} largest contributors hold more than {share} of the total "
                "are suppressed",
                n,
            ).format(n=n, share=_pct(k, 0))
        )
    if spec.p_percent:
        parts.append(
            _(
                "cells where the second-largest contributor could estimate the largest within "
                "{share} are suppressed"
            ).format(share=_pct(spec.p_percent, 0))
        )
    if spec.pq:
        p, q = spec.pq
        parts.append(
            _(
                "cells where a contributor who knows the others' values within {q} could "
                "estimate the largest within {p} are suppressed"
            ).format(q=_pct(q, 0), p=_pct(p, 0))
        )
    if spec.group_share is not None and spec.sensitive:
        parts.append(
            _("cells where at least {share} share one {variable} are suppressed").format(
                share=_pct(spec.group_share, 0), variable=spec.sensitive
            )
        )
    if spec.rounding:
        parts.append(_("counts are rounded to a multiple of {n}").format(n=spec.rounding))
    rules = _and(parts)
    text = (
        (rules[:1].upper() + rules[1:] + ". ") if parts else _("No disclosure rule applies.") + " "
    )
    primary = t.flag_counts.get("primary", 0)
    if primary:
        text += (
            _(
                "Further cells are suppressed (secondary) so that the hidden ones cannot be "
                "worked out from the totals; a linear-programming audit confirmed that none can "
                "be recomputed."
            )
            if t.passed
            else _(
                "Further cells are suppressed (secondary) so that the hidden ones cannot be "
                "worked out from the totals; the audit found cells that can be recomputed."
            )
        )
    return text


# --------------------------------------------------------------------------- synthetic


_SYNTH_FIGURES = (
    ("tvd_1way_mean", N_("difference of single-variable distributions (TVD; 0 = identical)")),
    ("tvd_2way_mean", N_("difference of two-variable distributions (TVD; 0 = identical)")),
    ("cramers_v_diff_mean", N_("change in association between pairs of variables (Cramér's V)")),
    ("correlation_diff_mean", N_("change in correlation between numeric variables")),
    (
        "pmse_ratio",
        N_("how well a model tells synthetic from real records (pMSE ratio; 1 = not at all)"),
    ),
)


def _synthetic(result: ReleaseResult) -> dict[str, Any] | None:
    if result.synthetic is None or result.evaluation is None:
        return None
    syn = result.synthetic
    model = _(
        "{n} records of {columns} drawn from a statistical model fitted to noisy summaries of "
        "the real data ({method}, epsilon {epsilon}, delta {delta}). No synthetic record is a "
        "real person; relationships the model did not capture are weakened."
    ).format(
        n=_int(len(syn.data)),
        columns=_and(list(map(str, syn.data.columns))),
        method=syn.method.upper(),
        epsilon=_gen(syn.epsilon),
        delta=_gen(syn.delta),
    )
    if result.evaluation_file is not None:  # a DP bundle: no figure of the real records
        kept = _(
            "How close they come to the real records is measured on the real data without "
            "noise, so it is not in this bundle: the steward keeps it in {file}, which must not "
            "be published."
        ).format(file=result.evaluation_file.name)
        return {"summary": f"{model} {kept}", "figures": [], "per_column": []}
    ev = result.evaluation.to_dict()
    figures = [
        (_(label), _fig(ev.get(key))) for key, label in _SYNTH_FIGURES if ev.get(key) is not None
    ]
    close = ev.get("synthetic_to_real") or {}
    if close:
        figures.append(
            (
                _("synthetic records identical to a real record (after binning numbers)"),
                _pct(close.get("exact_match_share", 0.0), 1),
            )
        )
        figures.append(
            (
                _(
                    "average share of columns in which a synthetic record differs from the "
                    "closest real one"
                ),
                _fig(close.get("mean")),
            )
        )
    hold = ev.get("holdout_to_real")
    if hold:
        figures.append(
            (
                _("the same for real records kept out of the model (baseline)"),
                _fig(hold.get("mean")),
            )
        )
    per_column = [(c, _fig(v)) for c, v in ev.get("tvd_1way", {}).items()]
    compared = _(
        "The figures below compare the synthetic records with the real ones (they are computed "
        "on the real data and are for the clearance officer, not differentially private)."
    )
    return {"summary": f"{model} {compared}", "figures": figures, "per_column": per_column}


# --------------------------------------------------------------------------- privacy budget


def _privacy(result: ReleaseResult) -> dict[str, Any]:
    privacy = result.manifest.get("privacy", {})
    cap = privacy.get("cap", {})
    rows = [
        {
            "output": t.name,
            "mechanism": (t.spec.dp.mechanism if t.spec.dp else ""),
            "epsilon": _gen(t.budget.epsilon),
            "delta": _gen(t.budget.delta),
        }
        for t in result.tables
        if t.budget.epsilon > 0
    ]
    if result.synthetic is not None:
        rows.append(
            {
                "output": _("synthetic records"),
                "mechanism": f"Gaussian (zCDP), {result.synthetic.method.upper()}",
                "epsilon": _gen(result.synthetic.epsilon),
                "delta": _gen(result.synthetic.delta),
            }
        )
    spent = result.budget
    if spent.epsilon <= 0:
        text = _(
            "No output of this bundle uses differential privacy, so no privacy budget was spent."
        )
    else:
        spending = (
            _("epsilon {epsilon} and delta {delta}").format(
                epsilon=_gen(spent.epsilon), delta=_gen(spent.delta)
            )
            if spent.delta
            else _("epsilon {epsilon}").format(epsilon=_gen(spent.epsilon))
        )
        text = _(
            "Differential privacy adds calibrated noise so that no single respondent's answers "
            "change a published number by much. Epsilon measures the largest privacy loss any "
            "respondent can suffer (smaller is safer). This release spent {spending} of the "
            "policy's cap of epsilon {cap} for this data file (privacy unit: {unit}). Releases "
            "of the same file add up: the spending is recorded in the budget ledger, which "
            "refuses any release that would pass the cap (see `sdc budget`)."
        ).format(
            spending=spending,
            cap=_gen(cap.get("epsilon", 0)),
            unit=_unit(str(privacy.get("unit", "individual"))),
        )
    return {
        "text": text,
        "rows": rows,
        "spent": _gen(spent.epsilon),
        "spent_delta": _gen(spent.delta),
        "cap": _gen(cap.get("epsilon", 0)),
        "cap_delta": _gen(cap.get("delta", 0)),
    }


def _outputs(manifest: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "rows": "" if o.get("rows") is None else _int(o["rows"]),
            "sha": str(o.get("sha256", ""))[:16],
        }
        for name, o in manifest.get("outputs", {}).items()
    ]


# --------------------------------------------------------------------------- formatting


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _num(value: Any) -> str:
    """A number for people: whole numbers with separators, others to a sensible precision."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(x):
        return str(value)
    if x.is_integer():
        return _int(int(x))
    if abs(x) >= 100:
        return _dec(x, 0)
    if abs(x) >= 1:
        return _dec(x, 2)
    return _gen(x, 3)


def _signed_pct(share: float) -> str:
    """``+1.25%`` / ``-0.50%``: a change of a mean."""
    return ("+" if share >= 0 else "-") + _pct(abs(share), 2)


def _fig(value: Any) -> str:
    return "" if value is None else _dec(float(value), 3, group=False)


def _opt_int(value: int | None) -> str:
    return "" if value is None else _int(value)


def _opt_num(value: float | None) -> str:
    return "–" if value is None else _num(value)


def _limit(value: float | int | None, template: str) -> str:
    return "" if value is None else template.format(limit=_gen(value))


def _share(count: int, n: int) -> str:
    return f"{_int(count)} ({_pct(count / n, 1)})" if n else _int(count)


def _values(count: int) -> str:
    return ngettext("{n} value", "{n} values", count).format(n=_int(count))


def _records(count: int) -> str:
    return ngettext("{n} record", "{n} records", count).format(n=_int(count))


def _groups(count: int) -> str:
    return ngettext("{n} group", "{n} groups", count).format(n=_int(count))


def _resp(count: int) -> str:
    return ngettext("{n} respondent", "{n} respondents", count).format(n=_int(count))


def _and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return _("{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])
