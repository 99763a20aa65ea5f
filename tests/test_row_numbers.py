"""Every message about a data value names its record as the user's program shows it.

A CSV file's line (the header counted, blank lines counted), a workbook's row (its header
rows and left-out blank rows counted); a record number from 1 for other files and for
frames not read from a file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.recode import recode_bands, recode_date
from sdc.errors import DataError
from sdc.io import ReadOptions, describe_row, first_non_number, read_table
from sdc.risk.assess import assess_risk as assess
from tests.cli._runner import run

# Line 1 a title (skipped with --header-row 2), line 2 the header, line 4 blank.
CSV = "Survey 2024\nid,age,seen,w\n1,30,2021-03-01,10\n\n2,old,soon,-1\n3,40,2021-05-02,9\n"

POLICY = """\
version: 1
name: rows
data: {weight: w, header_row: 2}
columns:
  id: {role: drop}
  seen: {role: quasi, recode: {date: year}}
  age: {role: quasi}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode]}
"""


def _csv(tmp_path: Path, text: str = CSV) -> Path:
    path = tmp_path / "s.csv"
    path.write_text(text)
    return path


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=i, column=j).value = value  # type: ignore[assignment]
    book.save(path)
    return path


# Row 1 a merged group label, row 2 the header, row 4 blank, row 7 a total.
SHEET: list[list[object]] = [
    ["Respondent", None, None],
    ["id", "age", "w"],
    [1, 30, 10],
    [],
    [2, "old", 12],
    [3, 40, 0],
    ["Total", None, 22],
]


def test_csv_lines_count_the_header_and_blank_lines(tmp_path: Path) -> None:
    frame = read_table(_csv(tmp_path), options=ReadOptions(header_row=2)).frame
    with pytest.raises(DataError) as caught:
        recode_bands(frame, "age", [0, 30, 60])
    assert str(caught.value) == (
        "column 'age' must be numeric but 1 value(s) are not numbers (first: line 5, 'old')"
    )
    with pytest.raises(DataError) as caught:
        recode_date(frame, "seen", "year")
    assert str(caught.value) == (
        "column 'seen' has 1 value(s) that are not dates (first: line 5, 'soon'); "
        "write dates as YYYY-MM-DD"
    )
    with pytest.raises(DataError) as caught:
        assess(frame, quasi=["id"], weight="w")
    assert str(caught.value) == (
        "weight column 'w' must hold positive numbers; 1 rows do not (first: line 5, -1); "
        "fix or drop them, or leave out the weight"
    )


def test_sheet_rows_count_header_rows_and_blank_rows(tmp_path: Path) -> None:
    frame = read_table(_workbook(tmp_path / "s.xlsx", SHEET)).frame
    assert len(frame) == 3  # the blank row and the total row are not records
    with pytest.raises(DataError) as caught:
        recode_bands(frame, "age", [0, 30, 60])
    assert str(caught.value) == (
        "column 'age' must be numeric but 1 value(s) are not numbers (first: row 5, 'old')"
    )
    with pytest.raises(DataError) as caught:
        assess(frame, quasi=["id"], weight="w")
    assert str(caught.value) == (
        "weight column 'w' must hold positive numbers; 1 rows do not (first: row 6, 0); "
        "fix or drop them, or leave out the weight"
    )


def test_rows_survive_copies_and_selections(tmp_path: Path) -> None:
    frame = read_table(_csv(tmp_path), options=ReadOptions(header_row=2)).frame
    later = frame[frame["id"] > 1].copy()[["id", "age"]]
    assert (describe_row(later, 0), describe_row(later, 1)) == ("line 5", "line 6")
    assert first_non_number(later, "age") == " (first non-number: line 5, 'old')"
    # Renumbered after a selection, the records can no longer be traced: counted from 1.
    assert describe_row(later.reset_index(drop=True), 1) == "record 2"


def test_frames_not_read_from_a_file_count_records_from_one() -> None:
    frame = pd.DataFrame({"age": [30, np.nan, "x"]})
    assert describe_row(frame, 2) == "record 3"
    assert first_non_number(frame, "age") == " (first non-number: record 3, 'x')"


def test_a_quoted_value_over_two_lines_falls_back_to_record_numbers(tmp_path: Path) -> None:
    table = read_table(_csv(tmp_path, 'id,note\n1,"two\nlines"\n2,x\n'))
    assert (table.reading.row_kind, table.describe_row(1)) == ("record", "record 2")


def test_release_names_the_csv_line_of_a_value_that_is_not_a_date(tmp_path: Path) -> None:
    _csv(tmp_path, CSV.replace("2,old,soon,-1", "2,50,soon,5"))
    (tmp_path / "p.yaml").write_text(POLICY)
    code, out, err = run(
        "release", str(tmp_path / "s.csv"), "--policy", str(tmp_path / "p.yaml"), "--out",
        str(tmp_path / "rel"),
    )  # fmt: skip
    assert (code, out, err) == (
        2,
        "",
        "Error: column 'seen' has 1 value(s) that are not dates (first: line 5, 'soon'); "
        "write dates as YYYY-MM-DD\n",
    )


def test_risk_names_the_sheet_row_of_a_bad_weight(tmp_path: Path) -> None:
    data = _workbook(tmp_path / "s.xlsx", SHEET)
    (tmp_path / "p.yaml").write_text(
        POLICY.replace(", header_row: 2", "").replace(
            "  seen: {role: quasi, recode: {date: year}}\n", ""
        )
    )
    code, out, err = run("risk", str(data), "--policy", str(tmp_path / "p.yaml"))
    assert (code, out) == (2, "")
    assert err.endswith(
        "weight column 'w' has 1 missing, non-numeric, non-positive or infinite values "
        "(first: row 6, 0); every record needs a positive weight\n"
    )
