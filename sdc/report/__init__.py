"""Terminal, JSON and self-contained HTML renderings of reports."""

from sdc.report.html import render_page
from sdc.report.risk import risk_html, risk_json, risk_text

__all__ = ["render_page", "risk_html", "risk_json", "risk_text"]
