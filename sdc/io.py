"""Reading and writing survey files.

Survey files come from many tools: CSV exported by spreadsheets in whatever encoding the
laptop uses, Excel workbooks, Stata and SPSS files with value labels, Parquet from data
pipelines. :func:`read_table` reads them all into a DataFrame and says what it had to
guess (encoding, delimiter) so that the steward can check. Every problem a user can fix
raises :class:`~sdc.errors.DataError` with one clear sentence.
"""

from __future__ import annotations

import csv
import hashlib
import io as _io
import itertools
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import DataError

#: Text that stands for a missing value in CSV files (besides an empty field).
MISSING_MARKERS = ["", "NA", "N/A", "NaN", "nan", "NULL", "null", "."]

_FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".dta": "stata",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
}

_DELIMITERS = ",;\t|"

#: A number written with a decimal comma and no thousands separator: ``12,5``, ``-0,25``.
_DECIMAL_COMMA = re.compile(r"^[+-]?\d*,\d+$")


@dataclass(frozen=True)
class ReadOptions:
    """How to read a data file, when guessing is not enough.

    Each option is None when not given: the delimiter is then sniffed, the encoding tried
    as UTF-8 then Windows-1252, the first sheet and the first row used.

    Attributes:
        delimiter: the CSV field separator (``;`` for most European exports).
        decimal: ``.`` or ``,``: the decimal mark of numbers in a CSV file.
        encoding: the text encoding of a CSV file (``latin-1``, ``cp1252``, ``utf-16``...).
        sheet: the sheet of an Excel workbook.
        header_row: the row holding the column names, numbered from 1 as a spreadsheet
            numbers its rows.
    """

    delimiter: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    header_row: int | None = None

    def __post_init__(self) -> None:
        """Refuse options that cannot be right, naming the option."""
        if self.delimiter is not None and len(self.separator or "") != 1:
            raise DataError(
                f"--delimiter must be one character, not {self.delimiter!r} (for a tab, give '\\t')"
            )
        if self.decimal is not None and self.decimal not in (".", ","):
            raise DataError(f"--decimal must be '.' or ',', not {self.decimal!r}")
        if self.header_row is not None and self.header_row < 1:
            raise DataError(
                f"--header-row must be 1 or more (rows are numbered from 1), not {self.header_row}"
            )
        if self.encoding is not None:
            import codecs

            try:
                codecs.lookup(self.encoding)
            except LookupError as exc:
                raise DataError(
                    f"--encoding {self.encoding!r} is not a known text encoding; "
                    "try utf-8, latin-1 or cp1252"
                ) from exc

    @property
    def separator(self) -> str | None:
        """The delimiter as a character (``\\t`` written on a command line is a tab)."""
        return "\t" if self.delimiter == "\\t" else self.delimiter

    def over(self, base: ReadOptions) -> ReadOptions:
        """These options, each falling back to ``base``'s where not given.

        The command line's options stand over the policy's ``data:`` keys.
        """
        return ReadOptions(
            delimiter=self.delimiter if self.delimiter is not None else base.delimiter,
            decimal=self.decimal if self.decimal is not None else base.decimal,
            encoding=self.encoding if self.encoding is not None else base.encoding,
            sheet=self.sheet if self.sheet is not None else base.sheet,
            header_row=self.header_row if self.header_row is not None else base.header_row,
        )


#: The key of ``DataFrame.attrs`` holding a frame's :class:`SourceRows`.
SOURCE_ROWS = "sdc.source_rows"


_READS = itertools.count(1)


class SourceRows(str):
    """Where each record of a frame read from a file was in that file.

    :func:`read_table` puts one in the frame's ``attrs``; pandas carries ``attrs`` over to
    copies and selections, so a message about a value of any frame derived from it can
    name the record as the user's program shows it (:func:`describe_row`).

    It is a short text tag (unique per read) carrying the numbers: pandas writes a frame's
    ``attrs`` into Parquet metadata as JSON, which then holds the tag only, and ``concat``
    of frames from different reads, whose tags differ, keeps none.

    Attributes:
        kind: ``line`` (a CSV file's line, the header counted), ``row`` (a spreadsheet's
            row) or ``record`` (counted from 1, for files without lines or rows).
        numbers: the line, row or record number of each record, by original position.
    """

    kind: str
    numbers: np.ndarray

    def __new__(cls, kind: str, numbers: np.ndarray) -> SourceRows:
        """Tag ``numbers`` (one per record) as ``kind`` numbers of one read."""
        self = super().__new__(cls, f"sdc {kind} numbers #{next(_READS)}")
        self.kind = kind
        self.numbers = numbers
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> SourceRows:
        """Shared, never copied: pandas deep-copies ``attrs`` with every derived frame."""
        return self

    def __reduce__(self) -> tuple[type[SourceRows], tuple[str, np.ndarray]]:
        """Pickled with its numbers (a frame sent to a worker process keeps them)."""
        return (SourceRows, (self.kind, self.numbers))


def describe_row(frame: pd.DataFrame, position: int) -> str:
    """``line 7`` (CSV), ``row 7`` (workbook) or ``record 3``: the record at ``position``.

    The record is named as the user's program shows it when the frame (or the frame it
    was derived from by copying, selecting or filtering, keeping its index) was read by
    :func:`read_table`; otherwise by its position counted from 1.
    """
    source = frame.attrs.get(SOURCE_ROWS)
    index = frame.index
    if isinstance(source, SourceRows):
        n = len(source.numbers)
        # A selection keeps the labels; 0, 1, 2... over fewer records may be renumbered.
        reset = isinstance(index, pd.RangeIndex) and index.start == 0 and len(index) < n
        label = index[position]
        if not reset and isinstance(label, int | np.integer) and 0 <= label < n:
            return f"{source.kind} {int(source.numbers[label])}"
    return f"record {position + 1}"


def first_row(frame: pd.DataFrame, bad: np.ndarray | pd.Series) -> str:
    """:func:`describe_row` of the first record where ``bad`` (a mask over rows) is true."""
    return describe_row(frame, int(np.flatnonzero(np.asarray(bad, dtype=bool))[0]))


def first_bad(frame: pd.DataFrame, bad: np.ndarray | pd.Series, column: str | None = None) -> str:
    """``line 7`` or ``line 7, 'abc'``: the first record where ``bad`` is true, and its value.

    Args:
        frame: the data the mask is over.
        bad: a mask over the frame's rows, true for an unusable value.
        column: the column whose value to show, or None to name the record only.
    """
    position = int(np.flatnonzero(np.asarray(bad, dtype=bool))[0])
    where = describe_row(frame, position)
    if column is None:
        return where
    return f"{where}, {_shown(frame[column].iloc[position])}"


def _shown(value: object) -> str:
    """A cell for a message: text quoted, ``0.85`` not ``np.float64(0.85)``, ``empty``."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if pd.api.types.is_scalar(value) and pd.isna(value):  # type: ignore[call-overload]
        return "empty"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return f"{float(value):.15g}"
    return repr(str(value))


def first_non_number(frame: pd.DataFrame, column: str) -> str:
    """`` (first non-number: line 7, 'n/a')`` for a text column; empty when all are numbers."""
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values):
        return ""
    present = values.notna().to_numpy()
    try:
        numbers = pd.to_numeric(values.astype(object), errors="coerce")
    except TypeError:  # values pandas cannot even try (lists, dates): every one is bad
        numbers = pd.Series(np.nan, index=values.index)
    bad = present & numbers.isna().to_numpy()
    if not bad.any():
        return ""
    return f" (first non-number: {first_bad(frame, bad, column)})"


@dataclass(frozen=True)
class Reading:
    """How a file was read: the facts behind the report's "How the file was read" block.

    Attributes:
        header_row: the line (CSV) or row (workbook) holding the column names.
        delimiter: a CSV file's field separator.
        decimal: ``,`` when numbers written with a decimal comma were read as numbers.
        encoding: a CSV file's text encoding.
        row_kind: how records are numbered in messages (see :class:`SourceRows`).
        blank_rows: the lines or rows left out as fully blank.
        total_row: the line or row of a total row left out at the bottom, if any.
        total_label: that row's label (``TOTAL``, ``Totaux``...).
        comma_columns: the columns whose decimal commas were read as numbers.
    """

    header_row: int | None = None
    delimiter: str | None = None
    decimal: str = "."
    encoding: str | None = None
    row_kind: str = "record"
    blank_rows: tuple[int, ...] = ()
    total_row: int | None = None
    total_label: str | None = None
    comma_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    """A data file read into memory, with what was learnt while reading it.

    Attributes:
        frame: the data, one row per record, columns named as in the file; its ``attrs``
            hold the :class:`SourceRows` that messages name records by.
        path: where it was read from.
        format: ``csv``, ``xlsx``, ``stata``, ``spss`` or ``parquet``.
        sha256: hash of the file's bytes, recorded in manifests and the budget ledger.
        encoding: the text encoding used for CSV files, else None.
        notes: things the user should know, e.g. an encoding fallback.
        reading: how the file was read (header row, blank and total rows left out...).
    """

    frame: pd.DataFrame
    path: Path
    format: str
    sha256: str
    encoding: str | None = None
    notes: tuple[str, ...] = ()
    reading: Reading = Reading()

    @property
    def row_numbers(self) -> tuple[int, ...]:
        """The line (CSV) or row (workbook) of each record; empty for other files."""
        source = self.frame.attrs.get(SOURCE_ROWS)
        if not isinstance(source, SourceRows) or source.kind == "record":
            return ()
        return tuple(int(v) for v in source.numbers)

    def describe_row(self, position: int) -> str:
        """``line 7``, ``row 7`` or ``record 3``: see :func:`describe_row`."""
        return describe_row(self.frame, position)


def file_sha256(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, read in chunks so large files fit in memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def detect_format(path: Path) -> str:
    """Return the file format from the extension, or raise DataError naming the known ones."""
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise DataError(
            f"{path.name}: unknown file type {path.suffix or '(no extension)'!r}; "
            f"use one of {known}"
        )
    return fmt


def read_table(
    path: str | Path, *, sheet: str | None = None, options: ReadOptions | None = None
) -> Table:
    """Read a survey file into a :class:`Table`.

    Args:
        path: a CSV, XLSX, Stata (.dta), SPSS (.sav) or Parquet file.
        sheet: for XLSX, the sheet name (default: the first sheet).
        options: delimiter, decimal mark, encoding, sheet and header row, where the file
            needs them; ``options.sheet`` stands over ``sheet``.

    Raises:
        DataError: the file is missing, empty, not a table, has duplicate column names,
            or cannot be decoded.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a data file")
    fmt = detect_format(path)
    if path.stat().st_size == 0:
        raise DataError(f"{path.name}: the file is empty")
    if options is None:
        options = ReadOptions(sheet=sheet)
    elif options.sheet is None and sheet is not None:
        options = ReadOptions(sheet=sheet).over(options)
    sha256: str | None = None
    numbers: np.ndarray | None = None
    reading = Reading()
    if fmt == "csv":
        raw = path.read_bytes()
        sha256 = hashlib.sha256(raw).hexdigest()  # the bytes are in memory: hash them once
        frame, notes, reading, numbers = _read_csv(raw, path, options)
    elif fmt == "xlsx":
        frame, notes, reading, numbers = _read_excel(path, options)
    elif fmt == "stata":
        frame, notes = _read_with(path, "Stata", lambda: _read_stata(path)), ()
    elif fmt == "spss":
        frame, notes = _read_with(path, "SPSS", lambda: _read_spss(path)), ()
    else:
        frame, notes = _read_with(path, "Parquet", lambda: pd.read_parquet(path)), ()
    _check_frame(frame, path)
    if numbers is not None:
        frame.attrs[SOURCE_ROWS] = SourceRows(reading.row_kind, numbers)
    sha256 = sha256 or file_sha256(path)
    return Table(frame, path, fmt, sha256, reading.encoding, notes, reading)


def _read_with(path: Path, kind: str, reader: object) -> pd.DataFrame:
    try:
        frame = reader()  # type: ignore[operator]
    except DataError:
        raise
    except Exception as exc:  # the readers raise many unrelated types for a bad file
        raise DataError(f"{path.name}: not a readable {kind} file ({_first_line(exc)})") from exc
    return frame


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read_spss(path: Path) -> pd.DataFrame:
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(path))
    return _apply_labels(frame, meta.variable_value_labels)


def _read_stata(path: Path) -> pd.DataFrame:
    import pyreadstat

    frame, meta = pyreadstat.read_dta(str(path))
    return _apply_labels(frame, meta.variable_value_labels)


def _apply_labels(frame: pd.DataFrame, labels: Mapping[str, Mapping[Any, str]]) -> pd.DataFrame:
    """Value labels in place of their codes; codes without a label kept as numbers.

    SPSS and Stata store categories as numeric codes with labels (1 = ``Male``): the
    labels are what the steward knows and what a release shows. In a column where some
    codes have no label, those codes are kept, written as numbers (``3``, not ``3.0``).
    Columns without labels holding only whole numbers become integers, as in a CSV file.
    """
    for column in frame.columns:
        values = frame[column]
        mapping = labels.get(str(column))
        if mapping:
            named = values.map(mapping)
            unlabelled = values.notna() & named.isna()
            out = named.astype(object)
            if unlabelled.any():
                out[unlabelled] = _code_text(values[unlabelled])
            frame[column] = out
        elif pd.api.types.is_float_dtype(values.dtype) and values.notna().all():
            if len(values) and bool((values % 1 == 0).all()):
                frame[column] = values.astype("int64")
    return frame


def _code_text(codes: pd.Series) -> pd.Series:
    """Codes as the text a user writes them: ``3`` for 3.0, ``2.5`` stays ``2.5``."""
    if pd.api.types.is_numeric_dtype(codes.dtype):
        whole = codes % 1 == 0
        text = codes.astype(str)
        text[whole] = codes[whole].astype("int64").astype(str)
        return text
    return codes.astype(str)


def _read_excel(
    path: Path, options: ReadOptions
) -> tuple[pd.DataFrame, tuple[str, ...], Reading, np.ndarray]:
    """Read a sheet: find its header row, leave out blank rows and a total row at the bottom.

    Returns:
        The records, notes on what was left out or guessed, how the sheet was read, and
        the spreadsheet row of each record.
    """
    sheet = options.sheet
    try:
        book = pd.ExcelFile(path, engine="openpyxl")
    except Exception as exc:
        raise DataError(f"{path.name}: not a readable Excel workbook ({_first_line(exc)})") from exc
    names = [str(name) for name in book.sheet_names]
    if sheet is not None and sheet not in names:
        raise DataError(f"{path.name}: no sheet named {sheet!r}; the sheets are {names}")
    sheet_name: str | int = sheet if sheet is not None else 0
    notes: list[str] = []
    if options.header_row is not None:
        header = options.header_row - 1
    else:
        # The header is near the top: reading a few rows keeps a large sheet read once.
        raw = pd.read_excel(book, sheet_name=sheet_name, header=None, nrows=_HEADER_SEARCH)
        header, note = _find_header(raw, path)
        if note:
            notes.append(note)
    frame = pd.read_excel(book, sheet_name=sheet_name, header=header)
    _check_header(path, [str(c) for c in frame.columns])
    # pandas counts rows from 0 and the header takes one: record i is spreadsheet row h+2+i.
    rows = np.arange(header + 2, header + 2 + len(frame), dtype=np.int64)
    frame, rows, left = _leave_out(frame, rows, path, "row")
    reading = left.reading(header_row=header + 1, row_kind="row")
    return frame, (*notes, *left.notes), reading, rows


@dataclass(frozen=True)
class _LeftOut:
    """Fully blank rows and a bottom total row left out of a file's records."""

    blank: tuple[int, ...] = ()
    total_row: int | None = None
    total_label: str | None = None
    notes: tuple[str, ...] = ()

    def reading(self, **facts: Any) -> Reading:
        """The :class:`Reading` of the file, with what was left out."""
        return Reading(
            blank_rows=self.blank,
            total_row=self.total_row,
            total_label=self.total_label,
            **facts,
        )


def _leave_out(
    frame: pd.DataFrame, rows: np.ndarray, path: Path, kind: str
) -> tuple[pd.DataFrame, np.ndarray, _LeftOut]:
    """Leave out fully blank rows and a total row at the bottom, saying so in notes.

    Args:
        frame: the records read.
        rows: the line (``kind`` ``line``) or row (``row``) of each record in the file.
        path: the file, named in the notes.
        kind: ``line`` for a CSV file, ``row`` for a workbook.
    """
    notes: list[str] = []
    blank = _blank_rows(frame).to_numpy()
    shown = tuple(int(r) for r in rows[blank])
    if shown:
        listed = ", ".join(map(str, shown[:5])) + (", ..." if len(shown) > 5 else "")
        what = (
            f"1 fully blank row ({kind} {listed})"
            if len(shown) == 1
            else f"{len(shown)} fully blank rows ({kind}s {listed})"
        )
        notes.append(f"{path.name}: left out {what}")
        rows = rows[~blank]
        frame = frame.loc[~blank].reset_index(drop=True)
    label = _total_row(frame)
    total: int | None = None
    if label is not None:
        total = int(rows[-1])
        notes.append(
            f"{path.name}: left out {kind} {total} ({label!r}), a total of the rows above, "
            "not a record"
        )
        rows = rows[:-1]
        frame = frame.iloc[:-1].reset_index(drop=True)
    if shown or label is not None:  # what is left may now be all numbers
        for column in frame.columns:
            values = frame[column]
            if _textual(values) or pd.api.types.is_float_dtype(values.dtype):
                frame[column] = _infer_column(values)
    return frame, rows, _LeftOut(shown, total, label, tuple(notes))


#: How many rows at the top of a sheet are looked at to find its header.
_HEADER_SEARCH = 30


def _textual(values: pd.Series) -> bool:
    return values.dtype == object or pd.api.types.is_string_dtype(values.dtype)


def _is_blank(value: object) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return bool(pd.isna(value))  # type: ignore[call-overload]


def _blank_rows(frame: pd.DataFrame) -> pd.Series:
    """Which rows have nothing in any cell (empty or only spaces).

    Only the rows whose every present value is text are looked at cell by cell (few in a
    survey file); the others are decided by their missing values alone.
    """
    missing = frame.isna()
    text = [c for c, values in frame.items() if _textual(values)]
    textual = set(text)
    others = [c for c in frame.columns if c not in textual]
    blank = missing.all(axis=1)
    maybe = ~blank & missing[others].all(axis=1) if others else ~blank
    if text and maybe.any():
        cells = frame.loc[maybe, text]
        blank[maybe] = cells.map(_is_blank).all(axis=1)
    return blank


def _find_header(raw: pd.DataFrame, path: Path) -> tuple[int, str | None]:
    """The 0-based row holding the column names of a sheet read without a header.

    The first row that is not blank is the header, unless it names fewer than half of the
    columns that hold data: then it is the upper half of a merged or two-row header (a
    title, a group label over several columns), and the next row is used when it names
    every column, once each.

    Raises:
        DataError: neither row names the columns; the user must say which row does.
    """
    used = [c for c in raw.columns if not raw[c].map(_is_blank).all()]
    if not used or len(raw) < 2:
        return 0, None
    filled = raw[used].map(lambda v: not _is_blank(v))
    first = int(filled.any(axis=1).to_numpy().nonzero()[0][0])
    named = int(filled.iloc[first].sum())
    if named * 2 > len(used):
        if first == 0:
            return 0, None
        blank = "row 1 is blank" if first == 1 else f"rows 1 to {first} are blank"
        return first, f"{path.name}: {blank}; used row {first + 1} as the column names"
    below = first + 1
    names = [str(v).strip() for v in raw[used].iloc[below]] if below < len(raw) else []
    if names and all(filled.iloc[below]) and len(set(names)) == len(names):
        return below, (
            f"{path.name}: row {first + 1} names only {named} of {len(used)} columns (a merged "
            f"or two-row header); used row {below + 1} as the column names (give "
            "--header-row N if another row holds them)"
        )
    raise DataError(
        f"{path.name}: row {first + 1} names only {named} of {len(used)} columns (a merged "
        "or two-row header?) and the next row does not name them all; give --header-row N, "
        "the spreadsheet row with one name per column"
    )


#: Labels of a total row, compared in lower case without accents or surrounding spaces.
_TOTAL_LABELS = re.compile(
    r"^(grand |sub-?|sous-)?(total|totals|totaux|totales|totale|suma|somme|sum|summe)"
    r"( general| generale| generaux| geral)?:?$"
)


def _total_row(frame: pd.DataFrame) -> str | None:
    """The label of a total row at the bottom of a sheet, or None when there is none.

    A total row has a label such as ``Total``, ``TOTAL``, ``Totaux``, ``Total general`` or
    ``Suma``
    in its first text cell and, in every other cell, either nothing or the sum of the
    column over the rows above.
    """
    if len(frame) < 2:
        return None
    last = frame.iloc[-1]
    above = frame.iloc[:-1]
    label: str | None = None
    for column in frame.columns:
        value = last[column]
        if _is_blank(value):
            continue
        if label is None and isinstance(value, str):
            plain = unicodedata.normalize("NFKD", value.strip().lower())
            plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
            if not _TOTAL_LABELS.match(plain):
                return None
            label = value.strip()
            continue
        if isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.number):
            return None
        column_sum = float(pd.to_numeric(above[column], errors="coerce").sum())
        if abs(float(value) - column_sum) > 1e-6 * max(1.0, abs(column_sum)):
            return None
    return label


def _decode(
    raw: bytes, path: Path, encoding: str | None = None
) -> tuple[str, str, tuple[str, ...]]:
    if encoding is not None:
        try:
            return raw.decode(encoding), encoding, ()
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            raise DataError(
                f"{path.name} line {line}: not valid {encoding} text; "
                "check the --encoding option (e.g. utf-8, latin-1 or cp1252)"
            ) from exc
    if b"\x00" in raw[:4096]:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            try:
                return raw.decode("utf-16"), "utf-16", ()
            except UnicodeDecodeError:
                pass
        raise DataError(f"{path.name}: not a text file; is it a spreadsheet saved as .csv?")
    if b"\x00" in raw:
        # Past the first few kilobytes, a NUL is a damaged or padded file, never a value:
        # pandas would cut the field there or keep an invisible character in it.
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise DataError(
            f"{path.name} line {line}: holds a NUL byte, which no text value contains; "
            "the file is damaged or not plain text: export it again as CSV (UTF-8)"
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8-sig", ()
    try:
        return raw.decode("utf-8"), "utf-8", ()
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
        enc = "cp1252"
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
        enc = "latin-1"
    note = f"{path.name} is not UTF-8; read it as {enc} (Windows/Latin-1). Check accented names."
    return text, enc, (note,)


def sniff_delimiter(sample: str) -> str:
    """Guess the delimiter of a CSV sample among comma, semicolon, tab and pipe."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        counts = Counter({d: lines[0].count(d) for d in _DELIMITERS})
        best, n = counts.most_common(1)[0]
        return best if n else ","


#: From this many columns on, a CSV file is parsed in one piece: pandas' chunks by rows
#: would cost a round of calls per column and chunk.
_WIDE = 1000

#: A line break as pandas reads CSV files: ``\r\n``, ``\n`` or ``\r``.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _read_csv(
    raw: bytes, path: Path, options: ReadOptions
) -> tuple[pd.DataFrame, tuple[str, ...], Reading, np.ndarray | None]:
    """Read a CSV file's records; see :func:`_read_excel` for what is returned."""
    text, encoding, notes = _decode(raw, path, options.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    skipped = 0
    if options.header_row is not None and options.header_row > 1:
        skipped = options.header_row - 1
        breaks = [m.end() for _, m in zip(range(skipped), _LINE_BREAK.finditer(text), strict=False)]
        rest = text[breaks[-1] :] if breaks else text
        if len(breaks) < skipped or not rest:
            count = len(breaks) + (1 if rest else 0)
            raise DataError(
                f"{path.name}: --header-row {options.header_row} is past the end of the file "
                f"({count} lines)"
            )
        text = rest
    if not text.strip():
        raise DataError(f"{path.name}: the file is empty")
    delimiter = options.separator or sniff_delimiter(text[:65536])
    header = _header(text, delimiter, path)
    _check_header(path, header)
    try:
        frame = pd.read_csv(
            _io.StringIO(text),
            sep=delimiter,
            keep_default_na=False,
            na_values=MISSING_MARKERS,
            skipinitialspace=True,
            dtype=str,
            low_memory=len(header) < _WIDE,
        )
    except pd.errors.ParserError as exc:
        raise DataError(f"{path.name}: not a consistent table ({_first_line(exc)})") from exc
    header_line, lines = _record_lines(text, skipped, len(frame))
    frame, converted, comma_columns = _csv_numbers(frame, options.decimal)
    if comma_columns:
        notes = (*notes, _comma_note(frame, comma_columns, path))
    kind = "line" if lines is not None else "record"
    rows = lines if lines is not None else np.arange(1, len(frame) + 1, dtype=np.int64)
    frame, rows, left = _leave_out(frame, rows, path, kind)
    reading = left.reading(
        header_row=header_line,
        delimiter=delimiter,
        decimal="," if converted else ".",
        encoding=encoding,
        row_kind=kind,
        comma_columns=converted,
    )
    return frame, (*notes, *left.notes), reading, rows


def _record_lines(text: str, skipped: int, records: int) -> tuple[int, np.ndarray | None]:
    """The header's line and each record's line in the file (lines counted from 1).

    pandas skips empty lines; a record is every other line after the header's. When the
    count differs from the records read (a quoted value spanning lines), records are
    numbered from 1 instead (None).
    """
    lines = pd.Series(_LINE_BREAK.split(text), dtype=object)
    filled = np.flatnonzero(lines.str.strip().ne("").to_numpy()) + skipped + 1
    if len(filled) - 1 != records:
        return int(filled[0]), None
    return int(filled[0]), filled[1:].astype(np.int64)


def _csv_numbers(
    frame: pd.DataFrame, decimal: str | None
) -> tuple[pd.DataFrame, tuple[str, ...], list[str]]:
    """Numbers read as numbers; decimal commas converted when ``decimal`` is ``,``.

    Returns:
        The frame, the columns whose decimal commas were converted, and those holding
        decimal commas left as text (``decimal`` not given).
    """
    if decimal != ",":
        whole = _whole_file_numbers(frame, decimal is None)
        if whole is not None:
            return whole
    converted: list[str] = []
    comma_columns: list[str] = []
    for column in frame.columns:
        if decimal == ",":
            values = _comma_to_point(frame[column])
            if values is not frame[column]:
                converted.append(str(column))
            frame[column] = _infer_column(values)
            continue
        frame[column] = _infer_column(frame[column])
        if decimal is None and decimal_commas(frame[column]):
            comma_columns.append(str(column))
    return frame, tuple(converted), comma_columns


#: Numbers beyond this magnitude are not all exact as float64: such columns go one by one.
_EXACT_FLOAT = 2.0**53


def text_chunks(values: pd.Series) -> list[Any]:
    """The pyarrow arrays (chunks) of a pyarrow text column, as large strings."""
    import pyarrow as pa

    data = pa.array(values.array)
    chunks = data.chunks if isinstance(data, pa.ChunkedArray) else [data]
    return [c.cast(pa.large_string()) for c in chunks]


def _whole_file_numbers(
    frame: pd.DataFrame, commas: bool
) -> tuple[pd.DataFrame, tuple[str, ...], list[str]] | None:
    """:func:`_infer_column` and :func:`decimal_commas` on every column at once.

    The tests run once on the file's distinct values (one pyarrow dictionary for all the
    cells), so a file of 10,000 columns costs no more than one of 10,000 rows. None when the
    columns are not pyarrow text (then they go one by one).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not all(isinstance(v.array, pd.arrays.ArrowStringArray) for _, v in frame.items()):
        return None
    chunks = [c for _, values in frame.items() for c in text_chunks(values)]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.large_string()).combine_chunks())
    rows, width = frame.shape
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).reshape(width, rows)
    distinct = pd.Series(encoded.dictionary.to_pylist(), dtype=object).astype(str)
    if distinct.empty:  # every cell missing: every column stays as it is
        return frame, (), []
    numbers = pd.to_numeric(distinct, errors="coerce").to_numpy(dtype=np.float64)
    present = codes >= 0
    at = np.where(present, codes, 0)

    def every(test: np.ndarray) -> np.ndarray:  # test holds for every present value
        return np.all(~present | test[at], axis=1) if len(test) else np.ones(width, bool)

    def some(test: np.ndarray) -> np.ndarray:  # test holds for a present value
        return np.any(present & test[at], axis=1) if len(test) else np.zeros(width, bool)

    zeros = distinct.str.match(r"^[+-]?0\d").to_numpy(dtype=bool)
    numeric = present.any(axis=1) & ~some(zeros) & every(~np.isnan(numbers))
    cells = np.where(present, numbers[at], np.nan)
    columns: dict[int, Any] = {}
    for i, (_, values) in enumerate(frame.items()):
        if not numeric[i]:
            columns[i] = values
        elif np.nanmax(np.abs(cells[i])) >= _EXACT_FLOAT:
            columns[i] = _infer_column(values)
        elif present[i].all() and (cells[i] % 1 == 0).all():
            columns[i] = cells[i].astype(np.int64)
        else:
            columns[i] = cells[i]
    out = pd.DataFrame(columns, index=frame.index)
    out.columns = frame.columns
    out.attrs = frame.attrs
    if not commas:
        return out, (), []
    stripped = distinct.str.strip()
    comma = stripped.str.match(_DECIMAL_COMMA.pattern).to_numpy(dtype=bool)
    plain = ~pd.to_numeric(stripped, errors="coerce").isna().to_numpy()
    with_commas = ~numeric & some(comma) & every(comma | plain)
    return out, (), [str(c) for c, yes in zip(frame.columns, with_commas, strict=True) if yes]


def _comma_note(frame: pd.DataFrame, comma_columns: list[str], path: Path) -> str:
    example = next(v for v in frame[comma_columns[0]].dropna().astype(str) if "," in v)
    names = ", ".join(repr(c) for c in comma_columns)
    one = len(comma_columns) == 1
    return (
        f"{path.name}: {'column' if one else 'columns'} {names} "
        f"{'holds' if one else 'hold'} numbers written with a decimal "
        f"comma (e.g. {example!r}), read as text; if they are numbers, rerun with "
        "--decimal , (or add decimal: ',' under data: in the policy)"
    )


def decimal_commas(values: pd.Series) -> bool:
    """Whether a text column holds numbers that parse only with a decimal comma (``12,5``)."""
    if not (pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values)):
        return False
    present = values.dropna()
    if present.empty:
        return False
    distinct = pd.Series(pd.unique(present), dtype=object).astype(str).str.strip()
    commas = distinct.str.match(_DECIMAL_COMMA.pattern)
    if not commas.any():
        return False
    others = distinct[~commas]
    return not pd.to_numeric(others, errors="coerce").isna().any()


def _comma_to_point(values: pd.Series) -> pd.Series:
    """``12,5`` as ``12.5`` where the whole value is a decimal-comma number."""
    text = values.astype("string").str.strip()
    commas = text.str.match(_DECIMAL_COMMA.pattern).fillna(False).astype(bool)
    if not commas.any():
        return values
    out = values.copy()
    out[commas] = text[commas].str.replace(",", ".", regex=False)
    return out


def _infer_column(values: pd.Series) -> pd.Series:
    """Numbers become numbers, except codes with leading zeros (postcodes, admin codes).

    ``01234`` read as the number 1234 would lose the digits that prefix recoding keeps, and
    merge unrelated areas, so a column with any such value stays text.
    """
    present = values.dropna()
    if present.empty:
        return values
    # Tested on the distinct values: a survey column repeats a few values many times.
    distinct = pd.Series(pd.unique(present), dtype=object).astype(str)
    if distinct.str.match(r"^[+-]?0\d").any():
        return values
    if pd.to_numeric(distinct, errors="coerce").isna().any():
        return values
    numbers = pd.to_numeric(values, errors="coerce")
    if (numbers.dropna() % 1 == 0).all() and not numbers.isna().any():
        return numbers.astype("int64")
    return numbers


def _header(text: str, delimiter: str, path: Path) -> list[str]:
    """The first row of a CSV text, or a DataError when it is not parseable as CSV."""
    try:
        return next(csv.reader(_io.StringIO(text, newline=""), delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise DataError(f"{path.name}: not a consistent table ({_first_line(exc)})") from exc


def _check_header(path: Path, header: list[str]) -> None:
    names = [h.strip() for h in header]
    if not any(names):
        raise DataError(f"{path.name}: the first row has no column names")
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise DataError(
            f"{path.name}: duplicate column names {', '.join(map(repr, dupes))}; "
            "rename them so each column has its own name"
        )


def _check_frame(frame: pd.DataFrame, path: Path) -> None:
    if frame.shape[1] == 0:
        raise DataError(f"{path.name}: no columns found")
    if len(frame) == 0:
        raise DataError(f"{path.name}: has a header but no records")
    frame.columns = [str(c).strip() for c in frame.columns]
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:")]
    if unnamed and len(unnamed) == frame.shape[1]:
        raise DataError(f"{path.name}: the first row has no column names")


def read_columns(path: str | Path) -> list[str]:
    """Column names of a CSV or Parquet file, without reading its records.

    Used by the out-of-core engines, which read the file themselves: the policy is checked
    against the columns before any counting starts.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file")
    fmt = detect_format(path)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return [str(name) for name in pq.read_schema(path).names]
        except Exception as exc:
            raise DataError(
                f"{path.name}: not a readable Parquet file ({_first_line(exc)})"
            ) from exc
    if fmt != "csv":
        raise DataError(
            f"{path.name}: the duckdb and spark engines read CSV or Parquet; convert the "
            f"{fmt} file first, or use --engine pandas"
        )
    with open(path, "rb") as handle:
        head = handle.read(65536)
    if not head.strip():
        raise DataError(f"{path.name}: the file is empty")
    if b"\n" in head:
        head = head[: head.rindex(b"\n")]  # whole lines only: never half a UTF-8 character
    text, _, _ = _decode(head, path)
    delimiter = sniff_delimiter(text)
    header = _header(text, delimiter, path)
    _check_header(path, header)
    return [h.strip() for h in header]


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """Turn a file-system failure (a folder in the way, no permission) into one clear error."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or _first_line(exc)
        raise DataError(f"{path}: cannot write ({reason})") from exc


def _whole_numbers_as_integers(frame: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers (codes with a blank) as nullable integers.

    pandas stores an integer code column with one missing value as floats, which a CSV
    would show as ``4.0``; the released file keeps the codes as the input wrote them.
    """
    floats = [i for i, dtype in enumerate(frame.dtypes) if pd.api.types.is_float_dtype(dtype)]
    if not floats:
        return frame
    block = frame.iloc[:, floats].to_numpy(dtype=np.float64, na_value=np.nan)
    blank = np.isnan(block)
    known = np.where(blank, 0.0, block)
    with np.errstate(invalid="ignore"):
        whole = np.all(known % 1 == 0, axis=0) & (np.abs(known).max(axis=0, initial=0) < 2**53)
    wanted = whole & blank.any(axis=0) & ~blank.all(axis=0)
    chosen = [i for i, yes in zip(floats, wanted, strict=True) if yes]
    if not chosen:
        return frame
    out = frame.copy()
    for i in chosen:  # by position: one column each, never a name's duplicates
        out.isetitem(i, frame.iloc[:, i].astype("Int64").array)
    return out


#: Text a spreadsheet may run as a formula when a CSV cell starts with it (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

#: What a formula-like text cell is prefixed with in a CSV output: a spreadsheet shows the
#: text instead of running it.
FORMULA_ESCAPE = "'"

# A number as text, also with thousands separators (a pivot's "-1,234.5"): it runs nothing.
_PLAIN_NUMBER = re.compile(
    r"[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d*)?([eE][+-]?\d+)?|[+-]?\.\d+([eE][+-]?\d+)?"
)


def _escapes(text: str) -> bool:
    """Whether a text cell needs the prefix: it starts (after any quotes) like a formula.

    Cells already starting with the prefix before such a character get one more, so that
    :func:`unescape_formulas` gives back exactly what was written. Text that is a plain
    number (``-3``, ``+1.5``, ``-1,234``) runs nothing and stays as it is.
    """
    rest = text.lstrip(FORMULA_ESCAPE)
    return rest.startswith(FORMULA_STARTS) and _PLAIN_NUMBER.fullmatch(rest) is None


def _escape(value: object) -> object:
    if isinstance(value, str) and _escapes(value):
        return FORMULA_ESCAPE + value
    return value


def _unescape(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_ESCAPE) and _escapes(value[1:]):
        return value[1:]
    return value


def _map_text(frame: pd.DataFrame, change: Callable[[object], object]) -> pd.DataFrame:
    """Apply ``change`` to every text cell and column name; numbers are never touched.

    Columns of text (object, string or categorical) keep their dtype where no cell changes;
    a changed categorical column becomes plain text.
    """
    out = frame
    names = [change(c) for c in frame.columns]
    if names != list(frame.columns) and not isinstance(frame.columns, pd.MultiIndex):
        out = frame.copy()
        out.columns = pd.Index(names, dtype=object)
    unchanged = _unchanged_text(frame, change)
    for i in range(frame.shape[1]):
        if i in unchanged:
            continue
        values = frame.iloc[:, i]
        dtype = values.dtype
        textual = (
            pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
            or isinstance(dtype, pd.CategoricalDtype)
        )
        if not textual:
            continue
        cells = values.to_numpy(dtype=object)
        new = [change(v) for v in cells]
        positions = [j for j, (n, v) in enumerate(zip(new, cells, strict=True)) if n is not v]
        if not positions:
            continue
        if out is frame:
            out = frame.copy()
        fixed = values.astype(object) if isinstance(dtype, pd.CategoricalDtype) else values.copy()
        fixed.iloc[positions] = [new[j] for j in positions]
        out[out.columns[i]] = fixed
    return out


def _unchanged_text(frame: pd.DataFrame, change: Callable[[object], object]) -> set[int]:
    """Positions of the pyarrow text columns where ``change`` leaves every cell as it is.

    ``change`` runs once on each distinct value of all these columns together (one pyarrow
    dictionary), so a wide file costs no Python call per cell or per column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {
        i: values
        for i, (_, values) in enumerate(frame.items())
        if isinstance(values.array, pd.arrays.ArrowStringArray)
    }
    if not columns:
        return set()
    positions = list(columns)
    chunks = [c for values in columns.values() for c in text_chunks(values)]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.large_string()).combine_chunks())
    distinct = encoded.dictionary.to_pylist()
    changed = np.array([change(v) is not v for v in distinct] + [False], dtype=bool)
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    touched = changed[codes].reshape(len(positions), len(frame)).any(axis=1)
    return {i for i, hit in zip(positions, touched, strict=True) if not hit}


def escape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with ``'``.

    A released CSV is opened in Excel or LibreOffice by people who trust it; a cell such as
    ``=HYPERLINK(...)`` or ``@SUM(...)`` coming from a free-text answer would run there
    (formula injection). Only text cells and column names are changed; numbers (``-3``)
    never are. The Parquet copy keeps the raw values.
    """
    return _map_text(frame, _escape)


def unescape_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Undo :func:`escape_formulas` on a CSV read back (``sdc check`` compares it).

    Returns:
        The frame with one leading ``'`` removed from every text cell and column name that
        :func:`escape_formulas` would have prefixed.
    """
    return _map_text(frame, _unescape)


def write_csv(frame: pd.DataFrame, path: Path, *, escape: bool = True) -> None:
    """Write a DataFrame as UTF-8 CSV; missing and suppressed values become empty fields.

    Args:
        frame: the data.
        path: the file to write.
        escape: prefix formula-like text cells with ``'`` (see :func:`escape_formulas`);
            only a file meant to be read back as data verbatim turns it off.
    """
    out = _whole_numbers_as_integers(frame)
    if escape:
        out = escape_formulas(out)
    with _writing(path):
        out.to_csv(
            path, index=False, na_rep="", encoding="utf-8", chunksize=_csv_chunk(out.shape[1])
        )


#: Cells pandas formats at a time when writing CSV; its default (100,000) makes chunks of
#: 10 rows in a file of 10,000 columns, each paying a round of calls per column.
_CSV_CHUNK_CELLS = 5_000_000


def _csv_chunk(columns: int) -> int:
    """Rows per chunk of :meth:`DataFrame.to_csv`: about :data:`_CSV_CHUNK_CELLS` cells."""
    return max(1, _CSV_CHUNK_CELLS // max(columns, 1))


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet (pyarrow), keeping column names and types.

    The frame's ``attrs`` (where its records were in the input file) are not written.
    """
    plain = frame.copy(deep=False)
    plain.attrs = {}
    with _writing(path):
        plain.to_parquet(path, index=False)


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file (a report), creating its folder."""
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def write_text_new(path: Path, text: str, *, mode: int = 0o644) -> None:
    """Write a text file that must not exist yet (created exclusively, never overwritten).

    Args:
        path: the file to create.
        text: its content.
        mode: its permissions, set when it is created (``0o600`` for a secret: a file
            chmod-ed afterwards is readable by others in between).

    Raises:
        DataError: the file already exists; nothing is overwritten.
    """
    exists = f"{path}: already exists; choose another name or remove it first"
    if path.exists():
        raise DataError(exists)
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # never overwrite
        except FileExistsError as exc:
            raise DataError(exists) from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
        except BaseException:
            path.unlink(missing_ok=True)  # no half-written file
            raise


def fsync_folder(folder: Path) -> None:
    """Make a new file's name durable too (best effort: not every system allows it)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
