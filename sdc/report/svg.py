"""Hand-written SVG charts for the HTML reports: small, dependency-free and deterministic.

Every function returns an ``<svg>`` element as a string with its text escaped, ready to be
placed inline in a page (no external resources, prints well, no JavaScript).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

_FONT = "font-family:system-ui,sans-serif;font-size:11px"


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    value_label: str,
    highlight: Sequence[bool] | None = None,
    fmt: str = "{:,.0f}",
    width: int = 560,
) -> str:
    """A horizontal bar chart, one bar per label.

    Args:
        labels: bar labels (escaped here).
        values: bar lengths (>= 0).
        title: accessible title of the chart.
        value_label: what the values are, written under the bars.
        highlight: bars to draw in the warning colour (e.g. classes that break k).
        fmt: format of the value printed at the end of each bar.
        width: width of the chart in pixels.
    """
    bar_h, gap, left, right, top = 18, 6, 150, 70, 8
    height = top + len(labels) * (bar_h + gap) + 28
    vmax = max([float(v) for v in values] + [0.0]) or 1.0
    span = width - left - right
    hl = list(highlight) if highlight is not None else [False] * len(labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" style="{_FONT}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * (bar_h + gap)
        w = max(float(value) / vmax * span, 0.0)
        colour = "#c0392b" if hl[i] else "#2c6fad"
        parts.append(
            f'<text x="{left - 6}" y="{y + bar_h - 5}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 5}">{escape(fmt.format(value))}</text>'
        )
    axis_y = top + len(labels) * (bar_h + gap)
    parts.append(
        f'<line x1="{left}" y1="{axis_y}" x2="{left + span}" y2="{axis_y}" stroke="#999"/>'
        f'<text x="{left + span / 2:.0f}" y="{axis_y + 18}" text-anchor="middle" '
        f'fill="#555">{escape(value_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
