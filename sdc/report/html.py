"""The HTML page machinery shared by every report: one base template, reusable sections.

Templates live in ``sdc/report/templates``. ``base.html`` holds the page (inline CSS, print
styles, no external resource); sections are Jinja macros (``_risk.html`` has
``risk_section``), so a release report can show the risk before and after treatment by
calling the same macro twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jinja2

import sdc


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment over the package's templates (autoescaping on)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("sdc.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def render_page(template: str, *, title: str, **context: Any) -> str:
    """Render a page template that extends ``base.html``.

    Args:
        template: template file name, e.g. ``"risk.html"``.
        title: the page title and heading.
        **context: the template's variables.
    """
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        environment()
        .get_template(template)
        .render(title=title, generated=generated, version=sdc.__version__, **context)
    )
