"""Reading files as stewards have them: delimiters, decimal commas, encodings, header rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.io import ReadOptions, read_table


def _write(tmp_path: Path, name: str, data: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def test_decimal_comma_is_read_as_numbers_with_the_option(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.csv", "id;wgt\n1;12,5\n2;10\n3;-0,25\n")
    table = read_table(path, options=ReadOptions(decimal=","))
    assert table.frame["wgt"].tolist() == [12.5, 10.0, -0.25]
    assert table.notes == ()


def test_decimal_comma_without_the_option_is_explained_in_a_note(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.csv", "id;wgt\n1;12,5\n2;10\n")
    table = read_table(path)
    assert table.frame["wgt"].tolist() == ["12,5", "10"]
    assert table.notes == (
        "w.csv: column 'wgt' holds numbers written with a decimal comma (e.g. '12,5'), read "
        "as text; if they are numbers, rerun with --decimal , (or add decimal: ',' under "
        "data: in the policy)",
    )


def test_decimal_point_given_means_no_note(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.csv", "id;code\n1;1,2\n2;3\n")
    assert read_table(path, options=ReadOptions(decimal=".")).notes == ()


def test_text_with_commas_is_not_taken_for_decimal_commas(tmp_path: Path) -> None:
    path = _write(tmp_path, "w.csv", "id;answer\n1;1,2\n2;none\n")
    assert read_table(path).notes == ()


def test_semicolon_delimiter_given(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.csv", "a;b,c\n1;x,y\n2;z\n")
    frame = read_table(path, options=ReadOptions(delimiter=";")).frame
    assert list(frame.columns) == ["a", "b,c"]
    assert frame["b,c"].tolist() == ["x,y", "z"]


def test_tab_delimiter_written_as_backslash_t(tmp_path: Path) -> None:
    path = _write(tmp_path, "s.txt", "a\tb\n1\t2\n")
    frame = read_table(path, options=ReadOptions(delimiter="\\t")).frame
    assert frame.to_dict("list") == {"a": [1], "b": [2]}


def test_latin1_with_encoding(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.csv", "nom,ville\nZoé,Bafoussam\nAndré,Dschang\n".encode("latin-1"))
    table = read_table(path, options=ReadOptions(encoding="latin-1"))
    assert table.frame["nom"].tolist() == ["Zoé", "André"]
    assert table.encoding == "latin-1"
    assert table.notes == ()


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "l.csv", "nom\nAna\nZoé\n".encode("latin-1"))
    with pytest.raises(DataError) as caught:
        read_table(path, options=ReadOptions(encoding="utf-8"))
    assert str(caught.value) == (
        "l.csv line 3: not valid utf-8 text; check the --encoding option "
        "(e.g. utf-8, latin-1 or cp1252)"
    )


def test_header_row_of_a_csv(tmp_path: Path) -> None:
    path = _write(tmp_path, "h.csv", "Survey 2026\n\nid,age\n1,30\n2,40\n")
    frame = read_table(path, options=ReadOptions(header_row=3)).frame
    assert frame.to_dict("list") == {"id": [1, 2], "age": [30, 40]}


def test_header_row_past_the_end(tmp_path: Path) -> None:
    path = _write(tmp_path, "h.csv", "id\n1\n")
    with pytest.raises(DataError) as caught:
        read_table(path, options=ReadOptions(header_row=9))
    assert str(caught.value) == "h.csv: --header-row 9 is past the end of the file (2 lines)"


def test_header_row_of_a_workbook(tmp_path: Path) -> None:
    path = tmp_path / "h.xlsx"
    rows = [["Survey 2026", None], ["id", "age"], [1, 30], [2, 40]]
    pd.DataFrame(rows).to_excel(path, index=False, header=False)
    frame = read_table(path, options=ReadOptions(header_row=2)).frame
    assert frame.to_dict("list") == {"id": [1, 2], "age": [30, 40]}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"delimiter": ";;"},
            "--delimiter must be one character, not ';;' (for a tab, give '\\t')",
        ),
        ({"decimal": ";"}, "--decimal must be '.' or ',', not ';'"),
        ({"header_row": 0}, "--header-row must be 1 or more (rows are numbered from 1), not 0"),
        (
            {"encoding": "latin-9x"},
            "--encoding 'latin-9x' is not a known text encoding; try utf-8, latin-1 or cp1252",
        ),
    ],
)
def test_impossible_options_are_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(DataError) as caught:
        ReadOptions(**options)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_command_line_options_stand_over_the_policy() -> None:
    policy = ReadOptions(delimiter=";", decimal=",", sheet="a", header_row=2)
    given = ReadOptions(decimal=".", sheet="b")
    assert given.over(policy) == ReadOptions(delimiter=";", decimal=".", sheet="b", header_row=2)


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


def test_merged_two_row_header_uses_the_second_row(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Respondent", None, None, "Answers"],
        ["id", "sex", "age", "hiv"],
        [1, "F", 30, "neg"],
        [2, "M", 40, "pos"],
    ]
    table = read_table(_workbook(tmp_path / "m.xlsx", rows))
    assert table.frame.to_dict("list") == {
        "id": [1, 2],
        "sex": ["F", "M"],
        "age": [30, 40],
        "hiv": ["neg", "pos"],
    }
    assert table.notes == (
        "m.xlsx: row 1 names only 2 of 4 columns (a merged or two-row header); used row 2 as "
        "the column names (give --header-row N if another row holds them)",
    )
    assert table.row_numbers == (3, 4)
    assert table.describe_row(1) == "row 4"


def test_unclear_header_asks_for_header_row(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["Respondent", None, None, None],
        ["id", None, "age", None],
        [1, "F", 30, "neg"],
    ]
    with pytest.raises(DataError) as caught:
        read_table(_workbook(tmp_path / "m.xlsx", rows))
    assert str(caught.value) == (
        "m.xlsx: row 1 names only 1 of 4 columns (a merged or two-row header?) and the next "
        "row does not name them all; give --header-row N, the spreadsheet row with one name "
        "per column"
    )


def test_header_row_given_overrides_the_guess(tmp_path: Path) -> None:
    rows: list[list[object]] = [["Survey"], ["id", "age"], [1, 30]]
    path = _workbook(tmp_path / "m.xlsx", rows)
    table = read_table(path, options=ReadOptions(header_row=2))
    assert (table.frame.to_dict("list"), table.notes) == ({"id": [1], "age": [30]}, ())


def test_leading_blank_rows_are_skipped_with_a_note(tmp_path: Path) -> None:
    rows: list[list[object]] = [[], [], ["id", "age"], [1, 30], [2, 40]]
    table = read_table(_workbook(tmp_path / "b.xlsx", rows))
    assert table.frame.to_dict("list") == {"id": [1, 2], "age": [30, 40]}
    assert table.notes == ("b.xlsx: rows 1 to 2 are blank; used row 3 as the column names",)
    assert table.row_numbers == (4, 5)


def test_blank_rows_are_left_out_and_counted(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        ["id", "sex", "age"],
        [1, "F", 30],
        [None, "  ", None],
        [2, "M", 40],
        [3, "F", 50],
        [None, " ", None],
        [None, "\t", None],
    ]
    table = read_table(_workbook(tmp_path / "b.xlsx", rows))
    assert table.frame.to_dict("list") == {
        "id": [1, 2, 3],
        "sex": ["F", "M", "F"],
        "age": [30, 40, 50],
    }
    assert table.notes == ("b.xlsx: left out 3 fully blank rows (rows 3, 6, 7)",)
    assert table.row_numbers == (2, 4, 5)


@pytest.mark.parametrize("label", ["TOTAL", "Total", "Totaux", "Total général", "Grand total"])
def test_total_row_at_the_bottom_is_left_out(tmp_path: Path, label: str) -> None:
    rows: list[list[object]] = [
        ["village", "sex", "wgt"],
        ["A", "F", 10.5],
        ["B", "M", 12],
        [label, None, 22.5],
        [],
    ]
    table = read_table(_workbook(tmp_path / "t.xlsx", rows))
    assert table.frame.to_dict("list") == {
        "village": ["A", "B"],
        "sex": ["F", "M"],
        "wgt": [10.5, 12.0],
    }
    assert table.notes == (
        f"t.xlsx: left out row 4 ({label!r}), a total of the rows above, not a record",
    )


def test_a_record_named_total_is_kept_when_its_numbers_are_not_sums(tmp_path: Path) -> None:
    rows: list[list[object]] = [["shop", "n"], ["A", 3], ["B", 4], ["Total", 5]]
    table = read_table(_workbook(tmp_path / "t.xlsx", rows))
    assert table.frame["shop"].tolist() == ["A", "B", "Total"]
    assert table.notes == ()


def test_csv_records_are_named_by_their_line_counting_the_header(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "c.csv", "id\n7\n\n8\n"))
    assert (table.row_numbers, table.describe_row(1)) == ((2, 4), "line 4")


@pytest.mark.parametrize("label", ["TOTAL", "Total", "Totaux", "Total general", "Suma"])
def test_total_line_at_the_bottom_of_a_csv_is_left_out(tmp_path: Path, label: str) -> None:
    text = f"village;n;wgt\nA;3;10,5\nB;4;12\n\n{label};7;22,5\n"
    table = read_table(_write(tmp_path, "t.csv", text), options=ReadOptions(decimal=","))
    assert table.frame.to_dict("list") == {"village": ["A", "B"], "n": [3, 4], "wgt": [10.5, 12]}
    assert table.frame["n"].dtype == "int64"
    assert table.notes == (
        f"t.csv: left out line 5 ({label!r}), a total of the rows above, not a record",
    )
    reading = table.reading
    assert (reading.total_row, reading.total_label, reading.row_kind) == (
        5,
        label,
        "line",
    )


def test_a_csv_line_named_total_is_kept_when_its_numbers_are_not_sums(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "t.csv", "shop,n\nA,3\nB,4\nTotal,5\n"))
    assert table.frame["shop"].tolist() == ["A", "B", "Total"]
    assert (table.notes, table.reading.total_row) == ((), None)


def test_blank_csv_rows_are_left_out_and_counted(tmp_path: Path) -> None:
    table = read_table(_write(tmp_path, "b.csv", "id,sex\n1,F\n,\n2,M\n , \n"))
    assert table.frame.to_dict("list") == {"id": [1, 2], "sex": ["F", "M"]}
    assert table.notes == ("b.csv: left out 2 fully blank rows (lines 3, 5)",)
    assert (table.row_numbers, table.reading.blank_rows) == ((2, 4), (3, 5))


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_spss_and_stata_value_labels_are_kept_as_labels(tmp_path: Path, suffix: str) -> None:
    import pyreadstat

    frame = pd.DataFrame(
        {
            "sex": [1.0, 2.0, 1.0, 3.0],  # 3 has no label: kept as the code
            "region": [1.0, 2.0, 2.0, 1.0],
            "age": [30.0, 41.0, 52.0, 63.0],  # no labels: numbers
            "income": [10.5, None, 12.0, 9.0],
        }
    )
    labels = {"sex": {1: "Male", 2: "Female"}, "region": {1: "North", 2: "South"}}
    path = tmp_path / f"s{suffix}"
    write = pyreadstat.write_sav if suffix == ".sav" else pyreadstat.write_dta
    write(frame, str(path), variable_value_labels=labels)
    read = read_table(path).frame
    assert read.to_dict("list") == {
        "sex": ["Male", "Female", "Male", "3"],
        "region": ["North", "South", "South", "North"],
        "age": [30, 41, 52, 63],
        "income": pytest.approx([10.5, float("nan"), 12.0, 9.0], nan_ok=True),
    }
    assert read["age"].dtype == "int64"
    assert read["sex"].dtype == object
