"""The language of the reports: English (the default), French or Spanish.

Sentences a report shows are marked with :func:`_` (or :func:`ngettext` when they depend on a
count) and translated through gettext catalogs in ``sdc/locale/<lang>/LC_MESSAGES/sdc.mo``,
compiled from the ``.po`` files beside them (``scripts/i18n.py`` extracts, updates and
compiles them with Babel). The language is set for a stretch of code with :func:`language`;
everything rendered inside it (HTML report, terminal summary, breach clauses) follows it.
Outside it the language is English, so error messages stay English.

Numbers follow the language too: :func:`integer`, :func:`decimal` and :func:`percent` format
them as Python does in English (``1,234.5``, ``12.3%``) and with Babel's locale data in French
(``1 234,5``, ``12,3 %``) and Spanish (``1234,5``, ``12,3 %``).

This module sits below every layer: it imports nothing of sdc.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

#: The languages a report can be written in; English is the default.
LANGUAGES = ("en", "fr", "es")
DEFAULT = "en"
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "sdc"

_current: ContextVar[str] = ContextVar("sdc_report_language", default=DEFAULT)


def check_language(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`, else ValueError with the choices."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown report language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


@contextmanager
def language(lang: str | None) -> Iterator[str]:
    """Render in ``lang`` (None: English) inside the ``with`` block."""
    token = _current.set(check_language(lang or DEFAULT))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def current() -> str:
    """The language in force."""
    return _current.get()


@lru_cache(maxsize=len(LANGUAGES))
def _catalog(lang: str) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (English: none; the messages are English)."""
    if lang == DEFAULT:
        return _gettext.NullTranslations()
    return _gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[lang])


def _(message: str) -> str:
    """``message`` in the language in force."""
    return _catalog(_current.get()).gettext(message)


def gettext(message: str) -> str:
    """``message`` in the language in force (the name Jinja's i18n extension calls)."""
    return _(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for ``n`` in the language in force."""
    return _catalog(_current.get()).ngettext(singular, plural, n)


# --------------------------------------------------------------------------- numbers


def integer(n: int) -> str:
    """A whole number with the language's grouping: ``1,234``, ``1 234``, ``1234``."""
    lang = _current.get()
    if lang == DEFAULT:
        return f"{n:,}"
    from babel.numbers import format_decimal

    return str(format_decimal(n, format="#,##0", locale=lang))


def decimal(x: float, places: int, *, group: bool = True) -> str:
    """``x`` with exactly ``places`` decimals: ``1,234.57``, ``1 234,57``."""
    lang = _current.get()
    if lang == DEFAULT:
        return f"{x:,.{places}f}" if group else f"{x:.{places}f}"
    from babel.numbers import format_decimal

    pattern = ("#,##0" if group else "0") + ("." + "0" * places if places else "")
    return str(format_decimal(x, format=pattern, locale=lang, decimal_quantization=True))


def general(x: float, digits: int = 6) -> str:
    """``x`` as Python's ``:g`` gives it (``0.25``, ``1e-05``), with the language's comma."""
    text = f"{x:.{digits}g}"
    lang = _current.get()
    if lang == DEFAULT:
        return text
    from babel.numbers import get_decimal_symbol

    return text.replace(".", get_decimal_symbol(lang))


def percent(share: float, places: int = 1) -> str:
    """A share as a percentage: ``12.3%``, ``12,3 %``."""
    lang = _current.get()
    if lang == DEFAULT:
        return f"{share:.{places}%}"
    from babel import Locale
    from babel.numbers import format_percent

    pattern = str(Locale.parse(lang).percent_formats[None].pattern)  # fr: "#,##0\u00a0%"
    if places:
        pattern = pattern.replace("#,##0", "#,##0." + "0" * places, 1)
    return str(format_percent(share, format=pattern, locale=lang, decimal_quantization=True))


def N_(message: str) -> str:  # noqa: N802 - the usual name of gettext's no-op marker
    """Mark ``message`` for translation where it is defined; translate it with :func:`_`."""
    return message
