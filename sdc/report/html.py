"""The HTML page machinery shared by every report: one base template, reusable sections.

Templates live in ``sdc/report/templates``. ``base.html`` holds the page (inline CSS, print
styles, no external resource); sections are Jinja macros (``_risk.html`` has
``risk_section``), so a release report can show the risk before and after treatment by
calling the same macro twice.

Text in the templates is marked with ``{% trans %}`` or ``_()`` (Jinja's ``jinja2.ext.i18n``)
and translated by the catalogs of :mod:`sdc.i18n`, in the language in force when the page is
rendered; ``<html lang>`` says which.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import jinja2

import sdc
from sdc import i18n


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja environment over the package's templates (autoescaping, gettext)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("sdc.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
    )
    env.policies["ext.i18n.trimmed"] = True  # one msgid per sentence, whatever the line breaks
    # newstyle: {{ _("... %(n)s ...", n=x) }} formats and escapes the arguments itself.
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True
    )
    env.filters["int"] = i18n.integer
    return env


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
        .render(
            title=title,
            generated=generated,
            version=sdc.__version__,
            lang=i18n.current(),
            **context,
        )
    )
