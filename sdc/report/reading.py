"""The reports' "How the file was read" block: the few facts a steward should check.

Which line or row held the column names, a delimiter, decimal mark or encoding other than
the usual, and what was left out (fully blank rows, a total row at the bottom). The
sentences are built here, in one function, and shown by the ``_reading.html`` partial, so
that a translation wraps them in one place.
"""

from __future__ import annotations

from sdc.io import Reading

_DELIMITER_NAMES = {";": "semicolons", "\t": "tabs", "|": "vertical bars (|)"}
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
    unit = {"line": "line", "row": "row"}.get(reading.row_kind, "line")
    lines: list[str] = []
    if reading.header_row is not None:
        lines.append(f"Column names taken from {unit} {reading.header_row}.")
    if reading.delimiter is not None and reading.delimiter != ",":
        name = _DELIMITER_NAMES.get(reading.delimiter, repr(reading.delimiter))
        lines.append(f"Fields separated by {name}.")
    if reading.encoding not in _UNREMARKABLE_ENCODINGS:
        lines.append(f"Text read as {reading.encoding}, not UTF-8.")
    if reading.comma_columns:
        names = ", ".join(reading.comma_columns)
        lines.append(f"Numbers written with a decimal comma (12,5) read as numbers in: {names}.")
    if reading.blank_rows:
        lines.append(_blank_sentence(reading.blank_rows, unit, counts))
    if reading.total_row is not None:
        where = f"{unit} {reading.total_row}, " if counts else ""
        lines.append(
            f"A total row at the bottom ({where}{reading.total_label!r}) left out: "
            "it sums the records above."
        )
    return lines


def _blank_sentence(rows: tuple[int, ...], unit: str, counts: bool) -> str:
    if not counts:
        return "Fully blank rows ignored."
    shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
    if len(rows) == 1:
        return f"1 fully blank row ignored ({unit} {shown})."
    return f"{len(rows)} fully blank rows ignored ({unit}s {shown})."
