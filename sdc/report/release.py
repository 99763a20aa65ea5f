"""The release report: a self-contained HTML page for the bundle (``report.html``).

It shows what was released, what was done to the data, what it cost, the risk before
and after (the same section as ``sdc risk --html``), each table and the privacy budget.
Like every shareable report it prints no raw values of risky records: tables show only
their protected cells, and risk sections only aggregate figures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from sdc.report.html import render_page
from sdc.report.risk import risk_context

if TYPE_CHECKING:
    from sdc.release.pipeline import ReleaseResult

MAX_TABLE_ROWS = 200


def release_html(result: ReleaseResult, data_name: str) -> str:
    """Render the bundle's ``report.html``."""
    manifest = result.manifest
    outputs = [
        {
            "name": name,
            "rows": "" if o["rows"] is None else f"{o['rows']:,}",
            "sha": o["sha256"][:16],
        }
        for name, o in manifest["outputs"].items()
    ]
    context: dict[str, Any] = {
        "summary": _summary(result, data_name),
        "outputs": outputs,
        "treatments": [],
        "utility": [],
        "suppression": "",
        "before": risk_context(result.before, "Risk before treatment (the input data)"),
        "after": risk_context(result.after, "Risk after treatment (the released microdata)")
        if result.after
        else None,
        "tables": [_table(t) for t in result.tables],
        "synthetic": _synthetic(result),
        "privacy": _privacy(result),
    }
    if result.microdata is not None:
        md = result.microdata
        context["treatments"] = [
            {
                "name": t.name,
                "columns": ", ".join(t.columns),
                "parameters": ", ".join(f"{k}={v}" for k, v in t.to_dict()["parameters"].items()),
                "changed": f"{sum(t.changed.values()):,}",
            }
            for t in md.treatments
        ]
        context["suppression"] = (
            f"{md.suppressed_records:,} records ({md.suppression_share:.1%}) lost at least one "
            "quasi-identifier value to suppression (an empty cell in the released file)."
        )
        before, after = result.before, result.after
        context["utility"] = [
            {
                "name": q,
                "before": _distinct(result, q, before=True),
                "after": _distinct(result, q, before=False),
                "suppressed": f"{md.suppressed_values.get(q, 0):,}",
            }
            for q in (after.quasi if after else before.quasi)
        ]
    return render_page("release.html", title=f"Release of {data_name}", **context)


def _distinct(result: ReleaseResult, column: str, *, before: bool) -> str:
    """Number of categories of a quasi-identifier before or after treatment."""
    md = result.microdata
    if md is None:
        return ""
    if before:
        value = md.distinct_before.get(column)
    else:
        value = int(md.frame[column].nunique()) if column in md.frame.columns else None
    return "" if value is None else f"{value:,}"


def _summary(result: ReleaseResult, data_name: str) -> str:
    parts = []
    if result.microdata is not None and result.after is not None:
        parts.append(
            f"The microdata of {data_name} ({result.before.n_records:,} records) were treated; "
            f"every policy threshold holds after treatment (smallest group "
            f"{int(result.after.records['f_k'].min())}, k = {result.after.thresholds.k})."
        )
    if result.tables:
        parts.append(f"{len(result.tables)} protected table(s).")
    if result.synthetic is not None:
        parts.append(f"{len(result.synthetic.data):,} synthetic records.")
    return " ".join(parts)


def _table(t: Any) -> dict[str, Any]:
    frame = t.table
    rows = [
        ["" if pd.isna(v) else (f"{v:,.4g}" if isinstance(v, float) else str(v)) for v in row]
        for row in frame.head(MAX_TABLE_ROWS).itertuples(index=False)
    ]
    flags = ", ".join(f"{n} {k}" for k, n in t.flag_counts.items() if n)
    return {
        "name": t.name,
        "statistic": t.spec.statistic,
        "by": ", ".join(t.spec.by),
        "mechanism": t.mechanism,
        "flags": flags,
        "dp": t.spec.dp is not None,
        "columns": list(map(str, frame.columns)),
        "rows": rows,
        "truncated": len(frame) > MAX_TABLE_ROWS,
        "total": len(frame),
    }


def _synthetic(result: ReleaseResult) -> dict[str, Any] | None:
    if result.synthetic is None or result.evaluation is None:
        return None
    ev = result.evaluation.to_dict()
    figures = [(k, _fmt(v)) for k, v in ev.items() if isinstance(v, int | float)]
    return {
        "summary": (
            f"{len(result.synthetic.data):,} records drawn from a model fitted to noisy "
            f"marginals (MST, epsilon {result.synthetic.epsilon:g}). No record is a real person; "
            "the figures compare them with the real data."
        ),
        "figures": figures,
    }


def _fmt(value: float) -> str:
    return f"{value:,}" if isinstance(value, int) else f"{value:.4g}"


def _privacy(result: ReleaseResult) -> str:
    spent = result.budget
    if spent.epsilon <= 0:
        return ""
    cap = result.manifest["privacy"]["cap"]
    return (
        f"This release spent epsilon {spent.epsilon:g}"
        + (f" and delta {spent.delta:g}" if spent.delta else "")
        + f" of the policy's cap of epsilon {cap['epsilon']:g} for this dataset; the spending "
        "is recorded in the budget ledger (see `sdc budget`)."
    )
