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
from sdc.report.html import render_page
from sdc.report.risk import risk_context
from sdc.risk.assess import RiskReport

if TYPE_CHECKING:
    from sdc.anonymize._treatment import Treatment
    from sdc.release.microdata import TreatedMicrodata
    from sdc.release.pipeline import ReleaseResult
    from sdc.tables import ProtectedTable

MAX_TABLE_ROWS = 200

_FLAG_WORDS = {
    "published": "published as computed",
    "primary": "suppressed: the cell itself is too small or dominated",
    "secondary": "suppressed so that a primary cell cannot be worked out from the totals",
    "rounded": "rounded",
    "dp": "noisy (differential privacy); see its 95% interval",
}


def release_html(
    result: ReleaseResult, data_name: str, *, original: pd.DataFrame | None = None
) -> str:
    """Render the bundle's ``report.html``.

    Args:
        result: the release, with its manifest (``outputs`` may still be the hashes of the
            files written before the report).
        data_name: the input file's name, for headings.
        original: the input data, to measure information loss per variable (entropy,
            changed values, means and correlations); without it the loss section shows
            categories and suppressions only.
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
        "policy_sha": str(manifest.get("policy_sha256", ""))[:16],
        # Without released microdata the exact risk figures of the input stay out of the
        # report: next to DP outputs they would be unprotected statistics of the data.
        "before": risk_context(
            result.before,
            "Risk before treatment (the input data, not released)",
            advice=False,
        )
        if result.after
        else None,
        "after": risk_context(
            result.after, "Risk after treatment (the released microdata)", advice=False
        )
        if result.after
        else None,
    }
    return render_page("release.html", title=f"Release of {data_name}", **context)


# --------------------------------------------------------------------------- summary


def scope_lines(result: ReleaseResult) -> list[str]:
    """What the bundle's guarantee covers, for the headline (empty when nothing is DP).

    A bundle mixing differentially private and classically protected outputs says so first,
    naming each kind: the DP guarantee covers only the DP outputs. A DP bundle says what it
    keeps out (the record count, the evaluation against the real records) and where the
    steward's files are.
    """
    guarantee = result.manifest.get("guarantee")
    dp = [f"table {t.name}" for t in result.tables if t.spec.dp is not None]
    sdc_ = [f"table {t.name}" for t in result.tables if t.spec.dp is None]
    if result.synthetic is not None:
        dp.append("the synthetic records")
    if result.microdata is not None:
        sdc_.insert(0, "the microdata")
    out: list[str] = []
    if guarantee == "mixed":
        out.append(
            "Mixed bundle: only "
            + _and(dp)
            + " "
            + ("is" if len(dp) == 1 else "are")
            + " differentially private; "
            + _and(sdc_)
            + " "
            + ("is" if len(sdc_) == 1 else "are")
            + " protected by disclosure-control rules, which give no differential-privacy "
            "guarantee."
        )
    if result.input_key is not None:
        out.append(
            "DP bundle: the exact number of input records is not published, and the input is "
            f"identified by a keyed hash whose key the steward keeps in {result.input_key.name} "
            "(beside the bundle; never publish it)."
        )
    if result.evaluation_file is not None:
        out.append(
            "The evaluation of the synthetic records against the real ones is computed on the "
            f"real data without noise: it is kept for the steward in "
            f"{result.evaluation_file.name}, beside the bundle, and must not be published."
        )
    return out


def _input_meta(section: dict[str, Any]) -> str:
    """The report's line about the input: name, size and hash (keyed in a DP bundle)."""
    name = section.get("name", "")
    if section.get("keyed_sha256"):
        return (
            f"{name} (record count not published; keyed hash HMAC-SHA256 "
            f"{str(section['keyed_sha256'])[:16]})"
        )
    rows = section.get("rows")
    size = f"{rows:,}" if isinstance(rows, int) else "?"
    return f"{name} ({size} records, SHA-256 {str(section.get('sha256') or '')[:16]})"


def _verdict(result: ReleaseResult) -> str:
    name = result.manifest.get("policy", {}).get("name", "")
    return (
        f"This bundle meets every threshold of the policy “{name}”."
        if name
        else ("This bundle meets every threshold of its policy.")
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
            what = f"{col} removed entirely"
            if left == 1 and len(shown) == n:
                what += f" (every record says {shown.iloc[0]!s})"
            out.append(what + ": it no longer tells any respondent apart.")
            continue
        blanked = md.suppressed_values.get(col, 0)
        if n and blanked / n > HEADLINE_SUPPRESSION_SHARE:
            out.append(f"{col} blanked in {blanked / n:.0%} of the records.")
    rule = after.k_rule
    if rule is not None and rule.suppressed_records:
        out.append(
            f"{_resp(rule.suppressed_records)} {'has' if rule.suppressed_records == 1 else 'have'}"
            " every quasi-identifier blank: they reveal no key and count as suppressed."
        )
    grew = {g.variable: g for g in before.group_disclosure}
    for g in after.group_disclosure:
        was = grew.get(g.variable)
        if was is not None and g.worst_share > was.worst_share + 1e-9:
            out.append(
                f"Attribute disclosure grew: in the worst group the largest share of one "
                f"{g.variable} value went from {was.worst_share:.1%} to {g.worst_share:.1%}."
            )
    return out


def _summary(result: ReleaseResult, data_name: str) -> list[str]:
    """Plain-language paragraphs: what was released, what changed, what it cost."""
    out: list[str] = []
    before, after, md = result.before, result.after, result.microdata
    made = []
    if md is not None:
        made.append(f"a treated copy of the microdata ({len(md.frame):,} records)")
    if result.tables:
        made.append(f"{_n(len(result.tables), 'protected table')}")
    if result.synthetic is not None:
        made.append(f"{len(result.synthetic.data):,} synthetic records")
    size = f" ({before.n_records:,} records)" if md is not None else ""
    out.append(f"From {data_name}{size} this bundle releases " + _and(made) + ".")
    keys = _and(list(before.quasi))
    if md is not None and after is not None:
        rule = after.k_rule
        min_after = rule.smallest_key if rule is not None and rule.smallest_key else 0
        out.append(
            f"Before treatment {_resp(before.sample_uniques)} "
            f"{'was' if before.sample_uniques == 1 else 'were'} the only person with their "
            f"combination of {keys}, and an intruder could expect to re-identify about "
            f"{before.expected_reidentifications:,.1f} respondents. After treatment "
            + (
                "nobody is unique"
                if after.sample_uniques == 0
                else f"{_resp(after.sample_uniques)} remain unique"
            )
            + f", every combination is shared by at least {min_after} records (the policy "
            f"asks for {after.thresholds.k}), and about "
            f"{after.expected_reidentifications:,.1f} re-identifications are expected."
        )
        out.append(_cost_sentence(md))
    if result.tables:
        suppressed = sum(
            t.flag_counts.get("primary", 0) + t.flag_counts.get("secondary", 0)
            for t in result.tables
        )
        dp = [t for t in result.tables if t.spec.dp is not None]
        parts = []
        if suppressed:
            parts.append(f"{_n(suppressed, 'table cell')} suppressed")
        if dp:
            parts.append(f"{_n(len(dp), 'table')} published with noise (differential privacy)")
        if parts:
            out.append("In the tables: " + _and(parts) + ".")
    out.append(_signed_sentence(result.manifest))
    if result.budget.epsilon > 0:
        cap = result.manifest.get("privacy", {}).get("cap", {}).get("epsilon")
        out.append(
            f"The differentially private outputs spent a privacy budget of epsilon "
            f"{result.budget.epsilon:g}"
            + (f" of the {cap:g} the policy allows for this file." if cap else ".")
        )
    return out


def _signed_sentence(manifest: dict[str, Any]) -> str:
    """Who signed the bundle (the key's fingerprint), or that nobody did."""
    signer = manifest.get("signer")
    if isinstance(signer, dict) and signer.get("fingerprint"):
        return (
            f"The manifest is signed with the Ed25519 key {signer['fingerprint']}: "
            "`sdc check --trust` with that key's public file proves that no file of the "
            "bundle changed since it was signed."
        )
    return "The bundle is not signed: `sdc check` verifies its contents, but not who made it."


def _cost_sentence(md: TreatedMicrodata) -> str:
    changes = []
    for t in md.treatments:
        if t.name in ("recode.bands", "recode.map"):
            col = t.columns[0]
            before = md.distinct_before.get(col)
            now = int(md.frame[col].nunique()) if col in md.frame else None
            if before is not None and now is not None:
                changes.append(f"{col} went from {before:,} to {now:,} categories")
    values = sum(md.suppressed_values.values())
    text = "The price: " + (_and(changes) + "; " if changes else "")
    text += (
        f"{_n(values, 'value')} in {_n(md.suppressed_records, 'record')} "
        f"({md.suppression_share:.1%}) {'was' if values == 1 else 'were'} blanked."
        if values
        else "no value was blanked."
    )
    return text


def _glance(result: ReleaseResult) -> list[dict[str, str]]:
    """Four key figures for the boxes at the top."""
    before, after, md = result.before, result.after, result.microdata
    cards = []
    if after is not None:
        cards.append(
            {
                "label": "unique respondents",
                "value": f"{before.sample_uniques:,} → {after.sample_uniques:,}",
            }
        )
        cards.append(
            {
                "label": "expected re-identifications",
                "value": f"{before.expected_reidentifications:,.1f} → "
                f"{after.expected_reidentifications:,.1f}",
            }
        )
    if md is not None:
        cards.append(
            {
                "label": "records with a blanked value",
                "value": f"{md.suppressed_records:,} ({md.suppression_share:.1%})",
            }
        )
    if result.tables:
        cells = sum(
            len(t.table) - t.flag_counts.get("primary", 0) - t.flag_counts.get("secondary", 0)
            for t in result.tables
        )
        cards.append({"label": "table cells published", "value": f"{cells:,}"})
    cap = result.manifest.get("privacy", {}).get("cap", {}).get("epsilon")
    if result.budget.epsilon > 0 or result.synthetic is not None:
        cards.append(
            {
                "label": "privacy budget spent (epsilon)",
                "value": f"{result.budget.epsilon:g}" + (f" of {cap:g}" if cap else ""),
            }
        )
    return cards


def _attention(result: ReleaseResult) -> list[str]:
    """What a clearance officer should look at although every threshold holds."""
    out: list[str] = []
    after = result.after
    if after is not None:
        th = after.thresholds
        keys = _and(list(after.quasi))
        for g in after.group_disclosure:
            if g.records:
                out.append(
                    f"In {_n(g.keys, 'group')} of the released file ({_resp(g.records)}, "
                    f"{g.records / after.n_records:.1%}) at least {g.share:.0%} have the same "
                    f"{g.variable}: knowing someone's {keys} reveals their {g.variable}. "
                    + (
                        "The policy sets no l-diversity; consider thresholds.l or coarser recoding."
                        if th.l is None
                        else "l-diversity holds, but the groups are still dominated by one value."
                    )
                )
        if after.suda is not None and after.suda.records_with_msu:
            out.append(
                f"{_resp(after.suda.records_with_msu)} still "
                f"{'has' if after.suda.records_with_msu == 1 else 'have'} a special unique "
                f"(SUDA): a combination of at most {after.suda.max_msu} of these facts that "
                "nobody else has, once blanks are taken literally."
            )
    for t in result.tables:
        if t.spec.dp is None or not {"ci_low", "ci_high"} <= set(t.table.columns):
            continue
        stat = t.spec.statistic
        width = (t.table["ci_high"] - t.table["ci_low"]).astype(float)
        value = t.table[stat].astype(float).abs()
        noisy = int((width > value).sum())
        if noisy:
            out.append(
                f"Table {t.name}: in {noisy:,} of {len(t.table):,} cells the 95% interval is "
                "wider than the published number itself; those cells say little. A larger "
                "epsilon or coarser categories would help."
            )
    return out


# --------------------------------------------------------------------------- comparison


def _comparison(before: RiskReport, after: RiskReport) -> list[dict[str, str]]:
    """Every risk measure before and after, with the policy's limit and the verdict."""
    th = after.thresholds
    failed = {b.name for b in after.breaches}
    rows: list[dict[str, str]] = []

    def add(measure: str, b: str, a: str, limit: str = "", check: str | None = None) -> None:
        status = "" if check is None else ("FAIL" if check in failed else "ok")
        rows.append({"measure": measure, "before": b, "after": a, "limit": limit, "status": status})

    add("records", f"{before.n_records:,}", f"{after.n_records:,}")
    add(
        "smallest group (k-anonymity)",
        f"{_min_fk(before):,}",
        f"{_min_fk(after):,}",
        f"at least {th.k}",
        "k",
    )
    add(
        "sample uniques",
        _share(before.sample_uniques, before.n_records),
        _share(after.sample_uniques, after.n_records),
    )
    add(
        f"records in groups smaller than {th.k}",
        _share(_below(before, th.k), before.n_records),
        _share(_below(after, th.k), after.n_records),
    )
    add(
        "global risk (mean individual risk)",
        f"{before.global_risk:.2%}",
        f"{after.global_risk:.2%}",
    )
    add(
        "expected re-identifications",
        f"{before.expected_reidentifications:,.2f}",
        f"{after.expected_reidentifications:,.2f}",
        _limit(th.max_expected_reidentifications, "at most {:g}"),
        "max_expected_reidentifications" if th.max_expected_reidentifications is not None else None,
    )
    add(
        "highest individual risk",
        f"{before.max_risk:.3f}",
        f"{after.max_risk:.3f}",
        _limit(th.max_individual_risk, "at most {:g}"),
        "max_individual_risk" if th.max_individual_risk is not None else None,
    )
    if before.household_risk is not None and after.household_risk is not None:
        add(
            "expected re-identifications counting households",
            f"{before.household_risk.expected_reidentifications:,.2f}",
            f"{after.household_risk.expected_reidentifications:,.2f}",
        )
    if before.suda is not None and after.suda is not None:
        add(
            "records with a special unique (SUDA)",
            _share(before.suda.records_with_msu, before.n_records),
            _share(after.suda.records_with_msu, after.n_records),
        )
    after_l = {ld.variable: ld for ld in after.l_diversity}
    for ld in before.l_diversity:
        la = after_l.get(ld.variable)
        if la is None:
            continue
        add(
            f"l-diversity of {ld.variable} (fewest distinct values in a group)",
            f"{ld.distinct_min}",
            f"{la.distinct_min}",
            _limit(th.l, "at least {}"),
            "l" if th.l is not None else None,
        )
    after_g = {g.variable: g for g in after.group_disclosure}
    for g in before.group_disclosure:
        ga = after_g.get(g.variable)
        if ga is None:
            continue
        add(
            f"records in groups where at least {g.share:.0%} have the same {g.variable}",
            _share(g.records, before.n_records),
            _share(ga.records, after.n_records),
        )
    after_t = {tc.variable: tc for tc in after.t_closeness}
    for tc in before.t_closeness:
        ta = after_t.get(tc.variable)
        if ta is None:
            continue
        add(
            f"t-closeness of {tc.variable} (largest distance)",
            f"{tc.max_distance:.3f}",
            f"{ta.max_distance:.3f}",
            _limit(th.t, "at most {:g}"),
            "t" if th.t is not None else None,
        )
    return rows


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
    d = t.to_dict()["details"]
    cols = _and([f"{c}" for c in t.columns])
    n = t.total_changed
    name = t.name
    if name == "pseudonymize":
        # A record without "linkable" predates per-release keys: its key was the steward's.
        linkable = p.get("linkable", True)
        scope = (
            "the same identifier gets the same code in every release made with the steward's "
            "key, so releases can be linked on it"
            if linkable
            else "the key is new for this release, so these codes cannot be linked to those "
            "of any other release"
        )
        return (
            f"Replaced {cols} by keyed pseudonyms ({p.get('algorithm', 'HMAC')}): {scope}. "
            "Without the key, which the data steward keeps and which is not in this bundle, "
            "nobody can recover the original."
        )
    if name == "drop":
        if p.get("role") == "direct":
            return f"Removed the direct identifiers {cols}."
        return f"Removed {cols}, which the policy marks to be left out."
    if name == "recode.bands":
        breaks = ", ".join(_num(b) for b in p.get("breaks", []))
        extra = []
        if p.get("top_code") is not None:
            extra.append(f"values above {_num(p['top_code'])} counted as {_num(p['top_code'])}")
        if p.get("bottom_code") is not None:
            extra.append(
                f"values below {_num(p['bottom_code'])} counted as {_num(p['bottom_code'])}"
            )
        bands = len(d.get("bands", {})) if isinstance(d.get("bands"), dict) else None
        return (
            f"Grouped {cols} into {_n(bands, 'band') if bands else 'bands'} starting at "
            f"{breaks}" + (f" ({'; '.join(extra)})" if extra else "") + "."
        )
    if name == "recode.map":
        source = PurePath(str(p.get("hierarchy", ""))).name
        before_c, after_c = d.get("categories_before"), d.get("categories_after")
        change = (
            f": {before_c:,} categories became {after_c:,}"
            if isinstance(before_c, int) and isinstance(after_c, int)
            else ""
        )
        return (
            f"Replaced {cols} by level {p.get('level')} of the hierarchy {source} "
            f"(level 0 is the original value){change}."
        )
    if name == "recode.prefix":
        return f"Kept only the first {p.get('length')} characters of {cols}."
    if name == "recode.date":
        return f"Coarsened the dates in {cols} to the {p.get('unit')}."
    if name == "recode.grid":
        return f"Moved the coordinates in {cols} to a grid of {_num(p.get('step'))} degrees."
    if name in ("top_code", "bottom_code"):
        side = "above" if name == "top_code" else "below"
        return (
            f"{'Top' if name == 'top_code' else 'Bottom'}-coded {cols}: {_n(n, 'value')} "
            f"{side} {_num(p.get('value'))} set to {_num(p.get('value'))}."
        )
    if name == "local_suppression":
        per = [f"{c} {v:,}" for c, v in t.changed.items() if v]
        return (
            f"Blanked {_n(n, 'value')} of the quasi-identifiers so that every combination "
            f"of {_and(list(before.quasi))} is shared by at least {p.get('k')} records (a "
            "blank matches any value, so it hides the record among more people)"
            + (f"; per variable: {', '.join(per)}" if per else "")
            + "."
        )
    if name == "pram":
        return (
            f"Randomly reclassified {cols} (PRAM): each value was kept with a probability "
            f"of about {p.get('p')} or else swapped for another category, in a way that "
            f"keeps the expected frequencies; {_n(n, 'value')} changed. The random draws "
            "cannot be replayed without the seed, which stays with the data steward."
        )
    if name == "microaggregation":
        return (
            f"Replaced {cols} by the average of groups of at least {p.get('k')} similar "
            f"records (MDAV microaggregation); {_n(n, 'value')} changed."
        )
    if name == "noise":
        bounds = " and kept within the public bounds" if p.get("bounds") else ""
        return (
            f"Added random noise to {cols} (standard deviation {p.get('sd')} times the "
            f"column's own standard deviation){bounds}; the seed stays with the data steward."
        )
    if name == "generalize.auto":
        levels = d.get("levels", {})
        chosen = _and([f"{c} at level {lv}" for c, lv in levels.items()])
        return (
            f"Searched {d.get('nodes_checked', '?')} of {d.get('lattice_size', '?')} "
            "combinations of hierarchy levels for the one that keeps most information "
            f"while every group has at least {p.get('k')} records"
            + (f" and {p.get('l')} different sensitive values" if p.get("l") else "")
            + f": {chosen}; {_n(d.get('suppressed_records', 0), 'record')} blanked entirely."
        )
    return f"Applied {name} to {cols}; {_n(n, 'value')} changed."


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
                "changed": f"{t.total_changed:,}",
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
        if t.name in ("noise", "microaggregation", "top_code", "bottom_code"):
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
                    "suppressed": f"{md.suppressed_values.get(q, 0):,}",
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
                "before": f"{f['categories_before']:,}",
                "after": f"{f['categories_after']:,}",
                "entropy": f"{f['entropy_before']:.2f} → {f['entropy_after']:.2f} bits "
                f"({f['entropy_loss']:.0%} lost)",
                "suppressed": f"{f['suppressed']:,}",
                "changed": f"{f['changed']:,}",
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
                "mean_change": "" if f["mean_change"] is None else f"{f['mean_change']:+.2%}",
                "changed": f"{f['changed']:,}",
            }
        )
    biggest = summary.get("max_correlation_change")
    return {
        "full": True,
        "categorical": cat_rows,
        "numeric": num_rows,
        "correlation": None if biggest is None else f"{biggest:.3f}",
    }


# --------------------------------------------------------------------------- tables


def _table(t: ProtectedTable) -> dict[str, Any]:
    frame = t.table
    spec = t.spec
    stat = spec.statistic
    dp = spec.dp is not None
    by = list(spec.by)
    head = [*by, stat, *(["95% interval"] if dp else []), "flag"]
    rows = []
    for rec in frame.head(MAX_TABLE_ROWS).to_dict("records"):
        flag = str(rec.get("flag", ""))
        value = rec.get(stat)
        shown = "suppressed" if _missing(value) else _num(value)
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
        "title": f"{stat} of {spec.variable} by {' × '.join(by)}"
        if spec.variable
        else f"{stat} by {' × '.join(by)}",
        "protection": _protection(t),
        "mechanism": t.mechanism,
        "flags": ", ".join(f"{n:,} {k}" for k, n in counts.items()),
        "legend": [(k, _FLAG_WORDS.get(k, k)) for k in counts],
        "head": head,
        "rows": rows,
        "grid": grid,
        "truncated": len(frame) > MAX_TABLE_ROWS,
        "total": len(frame),
        "epsilon": t.budget.epsilon,
    }


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
        return (
            f"Every number carries random noise from OpenDP ({spec.dp.mechanism} mechanism, "
            f"epsilon {spec.dp.epsilon:g}), so no single respondent changes it by much. The "
            "95% interval shows how far the published number may be from the true one; "
            "categories come from the policy, never from the data."
        )
    parts = []
    if spec.min_cell:
        parts.append(f"cells with fewer than {spec.min_cell} respondents are suppressed")
    if spec.dominance:
        n, k = spec.dominance
        who = "the largest contributor holds" if n == 1 else f"the {n} largest contributors hold"
        parts.append(f"cells where {who} more than {k:.0%} of the total are suppressed")
    if spec.p_percent:
        parts.append(
            f"cells where the second-largest contributor could estimate the largest within "
            f"{spec.p_percent:.0%} are suppressed"
        )
    if spec.group_share is not None and spec.sensitive:
        parts.append(
            f"cells where at least {spec.group_share:.0%} share one {spec.sensitive} are suppressed"
        )
    if spec.rounding:
        parts.append(f"counts are rounded to a multiple of {spec.rounding}")
    rules = _and(parts)
    text = (rules[:1].upper() + rules[1:] + ". ") if parts else "No disclosure rule applies. "
    primary = t.flag_counts.get("primary", 0)
    if primary:
        text += (
            "Further cells are suppressed (secondary) so that the hidden ones cannot be "
            "worked out from the totals; "
            + (
                "a linear-programming audit confirmed that none can be recomputed."
                if t.passed
                else "the audit found cells that can be recomputed."
            )
        )
    return text


# --------------------------------------------------------------------------- synthetic


_SYNTH_FIGURES = (
    ("tvd_1way_mean", "difference of single-variable distributions (TVD; 0 = identical)"),
    ("tvd_2way_mean", "difference of two-variable distributions (TVD; 0 = identical)"),
    ("cramers_v_diff_mean", "change in association between pairs of variables (Cramér's V)"),
    ("correlation_diff_mean", "change in correlation between numeric variables"),
    (
        "pmse_ratio",
        "how well a model tells synthetic from real records (pMSE ratio; 1 = not at all)",
    ),
)


def _synthetic(result: ReleaseResult) -> dict[str, Any] | None:
    if result.synthetic is None or result.evaluation is None:
        return None
    syn = result.synthetic
    if result.evaluation_file is not None:  # a DP bundle: no figure of the real records
        return {
            "summary": (
                f"{len(syn.data):,} records of {_and(list(map(str, syn.data.columns)))} drawn "
                "from a statistical model fitted to noisy summaries of the real data "
                f"({syn.method.upper()}, epsilon {syn.epsilon:g}, delta {syn.delta:g}). No "
                "synthetic record is a real person; relationships the model did not capture "
                "are weakened. How close they come to the real records is measured on the "
                "real data without noise, so it is not in this bundle: the steward keeps it "
                f"in {result.evaluation_file.name}, which must not be published."
            ),
            "figures": [],
            "per_column": [],
        }
    ev = result.evaluation.to_dict()
    figures = [
        (label, _fig(ev.get(key))) for key, label in _SYNTH_FIGURES if ev.get(key) is not None
    ]
    close = ev.get("synthetic_to_real") or {}
    if close:
        figures.append(
            (
                "synthetic records identical to a real record (after binning numbers)",
                f"{close.get('exact_match_share', 0.0):.1%}",
            )
        )
        figures.append(
            (
                "average share of columns in which a synthetic record differs from the "
                "closest real one",
                _fig(close.get("mean")),
            )
        )
    hold = ev.get("holdout_to_real")
    if hold:
        figures.append(
            ("the same for real records kept out of the model (baseline)", _fig(hold.get("mean")))
        )
    per_column = [(c, _fig(v)) for c, v in ev.get("tvd_1way", {}).items()]
    return {
        "summary": (
            f"{len(syn.data):,} records of {_and(list(map(str, syn.data.columns)))} drawn from "
            "a statistical model fitted to noisy summaries of the real data "
            f"({syn.method.upper()}, epsilon {syn.epsilon:g}, delta {syn.delta:g}). "
            "No synthetic record is a real person; relationships the model did not capture "
            "are weakened. The figures below "
            "compare the synthetic records with the real ones (they are computed on the real "
            "data and are for the clearance officer, not differentially private)."
        ),
        "figures": figures,
        "per_column": per_column,
    }


# --------------------------------------------------------------------------- privacy budget


def _privacy(result: ReleaseResult) -> dict[str, Any]:
    privacy = result.manifest.get("privacy", {})
    cap = privacy.get("cap", {})
    rows = [
        {
            "output": t.name,
            "mechanism": (t.spec.dp.mechanism if t.spec.dp else ""),
            "epsilon": f"{t.budget.epsilon:g}",
            "delta": f"{t.budget.delta:g}",
        }
        for t in result.tables
        if t.budget.epsilon > 0
    ]
    if result.synthetic is not None:
        rows.append(
            {
                "output": "synthetic records",
                "mechanism": f"Gaussian (zCDP), {result.synthetic.method.upper()}",
                "epsilon": f"{result.synthetic.epsilon:g}",
                "delta": f"{result.synthetic.delta:g}",
            }
        )
    spent = result.budget
    if spent.epsilon <= 0:
        text = "No output of this bundle uses differential privacy, so no privacy budget was spent."
    else:
        text = (
            "Differential privacy adds calibrated noise so that no single respondent's answers "
            "change a published number by much. Epsilon measures the largest privacy loss any "
            f"respondent can suffer (smaller is safer). This release spent epsilon "
            f"{spent.epsilon:g}"
            + (f" and delta {spent.delta:g}" if spent.delta else "")
            + f" of the policy's cap of epsilon {cap.get('epsilon', 0):g} for this data file "
            f"(privacy unit: {privacy.get('unit', 'individual')}). Releases of the same file "
            "add up: the spending is recorded in the budget ledger, which refuses any release "
            "that would pass the cap (see `sdc budget`)."
        )
    return {
        "text": text,
        "rows": rows,
        "spent": f"{spent.epsilon:g}",
        "spent_delta": f"{spent.delta:g}",
        "cap": f"{cap.get('epsilon', 0):g}",
        "cap_delta": f"{cap.get('delta', 0):g}",
    }


def _outputs(manifest: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {
            "name": name,
            "rows": "" if o.get("rows") is None else f"{o['rows']:,}",
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
        return f"{int(x):,}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:.3g}"


def _fig(value: Any) -> str:
    return "" if value is None else f"{float(value):.3f}"


def _opt_int(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _opt_num(value: float | None) -> str:
    return "–" if value is None else _num(value)


def _limit(value: float | int | None, fmt: str) -> str:
    return "" if value is None else fmt.format(value)


def _share(count: int, n: int) -> str:
    return f"{count:,} ({count / n:.1%})" if n else f"{count:,}"


def _n(count: int | None, noun: str) -> str:
    count = int(count or 0)
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _resp(count: int) -> str:
    return _n(count, "respondent")


def _and(items: list[str]) -> str:
    items = [i for i in items if i]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
