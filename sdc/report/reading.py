"""The reports' "How the file was read" block: the few facts a steward should check.

Which line or row held the column names, a delimiter, decimal mark or encoding other than
the usual, and what was left out (fully blank rows, a total row at the bottom). The
sentences are built here, in one function, and shown by the ``_reading.html`` partial; they
are translated (:mod:`sdc.i18n`) in the language the report is rendered in.
"""

from __future__ import annotations

from sdc.i18n import N_, _, ngettext
from sdc.i18n import integer as _int
from sdc.io import Reading

_DELIMITER_NAMES = {";": N_("semicolons"), "\t": N_("tabs"), "|": N_("vertical bars (|)")}
_UNREMARKABLE_ENCODINGS = (None, "utf-8", "utf-8-sig")


def reading_lines(reading: Reading | None, *, counts: bool = True) -> list[str]:
    """Short sentences on how the input file was read; empty when there is nothing to say.

    Args:
        reading: what :func:`sdc.io.read_table` learnt, or None (data not read from a file).
        counts: give the number and the lines or rows of the records left out. False for a
            differentially private bundle, whose report publishes no exact count of the
            private data (a total row's line number would give the number of records).
    """
    if reading is None:
        return []
    rows = reading.row_kind == "row"
    lines: list[str] = []
    if reading.header_row is not None:
        where = _("row {n}") if rows else _("line {n}")
        lines.append(
            _("Column names taken from {where}.").format(
                where=where.format(n=_int(reading.header_row))
            )
        )
    if reading.delimiter is not None and reading.delimiter != ",":
        known = _DELIMITER_NAMES.get(reading.delimiter)
        name = _(known) if known is not None else repr(reading.delimiter)
        lines.append(_("Fields separated by {name}.").format(name=name))
    if reading.encoding not in _UNREMARKABLE_ENCODINGS:
        lines.append(_("Text read as {encoding}, not UTF-8.").format(encoding=reading.encoding))
    if reading.comma_columns:
        lines.append(
            _("Numbers written with a decimal comma (12,5) read as numbers in: {names}.").format(
                names=", ".join(reading.comma_columns)
            )
        )
    if reading.blank_rows:
        lines.append(_blank_sentence(reading.blank_rows, rows, counts))
    if reading.total_row is not None:
        lines.append(_total_sentence(reading, rows, counts))
    return lines


def _total_sentence(reading: Reading, rows: bool, counts: bool) -> str:
    label = repr(reading.total_label)
    if not counts:
        return _("A total row at the bottom ({label}) left out: it sums the records above.").format(
            label=label
        )
    where = _("row {n}") if rows else _("line {n}")
    return _(
        "A total row at the bottom ({where}, {label}) left out: it sums the records above."
    ).format(where=where.format(n=_int(reading.total_row or 0)), label=label)


def _blank_sentence(found: tuple[int, ...], rows: bool, counts: bool) -> str:
    if not counts:
        return _("Fully blank rows ignored.")
    shown = ", ".join(map(str, found[:5])) + (", ..." if len(found) > 5 else "")
    if rows:
        text = ngettext(
            "{count} fully blank row ignored (row {shown}).",
            "{count} fully blank rows ignored (rows {shown}).",
            len(found),
        )
    else:
        text = ngettext(
            "{count} fully blank row ignored (line {shown}).",
            "{count} fully blank rows ignored (lines {shown}).",
            len(found),
        )
    return text.format(count=_int(len(found)), shown=shown)
