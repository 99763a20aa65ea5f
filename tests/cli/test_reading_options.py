"""The reading options on every command that reads data, and the policy's data: keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli._runner import run

POLICY = """\
version: 1
name: t
data: {{weight: wgt{extra}}}
columns:
  id: {{role: drop}}
  sex: {{role: quasi}}
  age: {{role: quasi}}
thresholds: {{k: 2}}
outputs:
  microdata: {{treatments: [suppress]}}
"""
DATA = "id;sex;age;wgt\n1;F;30;12,5\n2;F;30;10\n3;M;40;8,25\n4;M;40;9\n"


def _files(tmp_path: Path, extra: str = "") -> tuple[str, str]:
    (tmp_path / "survey.csv").write_text(DATA)
    (tmp_path / "policy.yaml").write_text(POLICY.format(extra=extra))
    return str(tmp_path / "survey.csv"), str(tmp_path / "policy.yaml")


DECIMAL_COMMA = (
    "Error: policy.yaml line 3: weight column 'wgt' is written with decimal commas "
    "(e.g. '12,5'); rerun with --decimal , (or add decimal: ',' under data: in the policy)\n"
)


def test_decimal_commas_in_weights_are_explained(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    code, out, err = run("risk", data, "--policy", policy)
    assert (code, out, err) == (2, "", DECIMAL_COMMA)


def test_decimal_option_reads_the_weights(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    code, out, _ = run("risk", data, "--policy", policy, "--decimal", ",")
    assert code == 0
    assert out.startswith("Risk of 4 records, key: sex, age; weight: wgt\n")


def test_policy_data_keys_read_the_file(tmp_path: Path) -> None:
    data, policy = _files(tmp_path, extra=", decimal: ',', delimiter: ';'")
    assert run("risk", data, "--policy", policy)[0] == 0
    code, out, _ = run("policy", "validate", policy, "--data", data)
    assert (code, out) == (0, f"{policy}: valid policy 't' (version 1)\n")


def test_command_line_stands_over_the_policy(tmp_path: Path) -> None:
    data, policy = _files(tmp_path, extra=", decimal: ','")
    code, out, err = run("risk", data, "--policy", policy, "--decimal", ".")
    assert (code, err) == (2, DECIMAL_COMMA)


def test_policy_validate_takes_the_reading_options(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    assert run("policy", "validate", policy, "--data", data)[2] == DECIMAL_COMMA
    code, out, _ = run("policy", "validate", policy, "--data", data, "--decimal", ",")
    assert code == 0


def test_release_and_check_take_the_reading_options(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    out = str(tmp_path / "bundle")
    code, _, err = run("release", data, "--policy", policy, "--out", out, "--decimal", ",")
    assert code == 0, err
    args = ("check", out, "--policy", policy, "--data", data, "--decimal", ",")
    assert run(*args)[0] == 0
    assert run(*args[:-2])[0] == 1  # the input read without it is not the released one


def test_scan_with_delimiter_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "l.csv"
    path.write_bytes("nom|ville\nZoé|Dschang\nAndré|Buea\n".encode("latin-1"))
    code, out, err = run("scan", str(path), "--delimiter", "|", "--encoding", "latin-1")
    assert (code, err) == (0, "")
    assert "nom" in out and "ville" in out


def test_policy_with_a_bad_decimal_key(tmp_path: Path) -> None:
    data, policy = _files(tmp_path, extra=", decimal: ';'")
    code, _, err = run("policy", "validate", policy)
    assert code == 2
    assert err.startswith("Error: policy.yaml line 3: data.decimal")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--decimal", ";"), "Invalid value for '--decimal': ';' is not one of '.', ','."),
        (
            ("--delimiter", "ab"),
            "Error: --delimiter must be one character, not 'ab' (for a tab, give '\\t')\n",
        ),
        (
            ("--header-row", "0"),
            "Error: --header-row must be 1 or more (rows are numbered from 1), not 0\n",
        ),
        (
            ("--encoding", "nope"),
            "Error: --encoding 'nope' is not a known text encoding; try utf-8, latin-1 or cp1252\n",
        ),
    ],
)
def test_bad_reading_options_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    data, policy = _files(tmp_path)
    code, _, err = run("risk", data, "--policy", policy, *args)
    assert code == 2
    assert message in err


def _workbook(path: Path, rows: list[list[object]]) -> str:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for i, row in enumerate(rows, start=1):
        for j, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=i, column=j).value = value  # type: ignore[assignment]
    book.save(path)
    return str(path)


SHEET: list[list[object]] = [
    ["Respondent", None, None, "Weight"],
    ["id", "sex", "age", "wgt"],
    [1, "F", 30, 10],
    [],
    [2, "F", 30, 12],
    [3, "M", 40, 8],
    [4, "M", 40, 9],
    ["Total", None, None, 39],
]


def test_excel_notes_on_scan(tmp_path: Path) -> None:
    data = _workbook(tmp_path / "s.xlsx", SHEET)
    code, _, err = run("scan", data)
    assert (code, err) == (
        0,
        "Note: s.xlsx: row 1 names only 2 of 4 columns (a merged or two-row header); used row "
        "2 as the column names (give --header-row N if another row holds them)\n"
        "Note: s.xlsx: left out 1 fully blank row (row 4)\n"
        "Note: s.xlsx: left out row 8 ('Total'), a total of the rows above, not a record\n",
    )


def test_excel_row_numbers_in_a_weight_error(tmp_path: Path) -> None:
    rows = [list(row) for row in SHEET[:-1]]
    rows[5][3] = "eight"
    data = _workbook(tmp_path / "s.xlsx", rows)
    _, policy = _files(tmp_path)
    code, out, err = run("risk", data, "--policy", policy)
    assert (code, out, err) == (
        2,
        "",
        "Error: policy.yaml line 3: weight column 'wgt' has 1 missing, non-numeric, "
        "non-positive or infinite values (first: row 6, 'eight'); every record needs a positive weight\n",
    )


def test_merged_header_with_header_row_option(tmp_path: Path) -> None:
    data = _workbook(tmp_path / "s.xlsx", SHEET)
    _, policy = _files(tmp_path)
    code, out, err = run("risk", data, "--policy", policy, "--header-row", "2")
    assert code == 0, err
    assert err == (
        "Note: s.xlsx: left out 1 fully blank row (row 4)\n"
        "Note: s.xlsx: left out row 8 ('Total'), a total of the rows above, not a record\n"
    )
    assert out.startswith("Risk of 4 records, key: sex, age; weight: wgt\n")


def test_out_of_core_engine_refuses_reading_options(tmp_path: Path) -> None:
    data, policy = _files(tmp_path)
    code, out, err = run("risk", data, "--policy", policy, "--engine", "duckdb", "--decimal", ",")
    assert (code, out, err) == (
        2,
        "",
        "Error: the duckdb engine reads the file itself and cannot follow --decimal (or the "
        "same keys under data: in the policy); convert the file to UTF-8 CSV with a header in "
        "row 1, or run without --engine\n",
    )
