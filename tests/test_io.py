from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.io import read_table, sniff_delimiter, write_csv, write_parquet, write_text, write_text_new


def test_reads_csv_with_semicolons_and_reports_utf8(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a;b\n1;x\n2;\n", encoding="utf-8")
    table = read_table(path)
    assert list(table.frame.columns) == ["a", "b"]
    assert table.frame["b"].isna().tolist() == [False, True]
    assert table.encoding == "utf-8"
    assert table.notes == ()
    assert len(table.sha256) == 64


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes("\ufeffnom,âge\nÉlise,3\n".encode())
    table = read_table(path)
    assert list(table.frame.columns) == ["nom", "âge"]
    assert table.encoding == "utf-8-sig"


def test_latin1_fallback_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes("nom,ville\nJosé,Bogotá\n".encode("cp1252"))
    table = read_table(path)
    assert table.frame.loc[0, "nom"] == "José"
    assert table.encoding == "cp1252"
    assert "not UTF-8" in table.notes[0]


def test_na_markers_are_missing_but_other_text_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("a,b\nNA,none\n,x\n", encoding="utf-8")
    frame = read_table(path).frame
    assert frame["a"].isna().all()
    assert frame["b"].tolist() == ["none", "x"]


@pytest.mark.parametrize(
    ("sample", "expected"),
    [("a,b\n1,2\n", ","), ("a;b\n1;2\n", ";"), ("a\tb\n1\t2\n", "\t"), ("a|b\n1|2\n", "|")],
)
def test_sniff_delimiter(sample: str, expected: str) -> None:
    assert sniff_delimiter(sample) == expected


def test_single_column_csv(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("age\n1\n2\n", encoding="utf-8")
    assert read_table(path).frame["age"].tolist() == [1, 2]


def test_parquet_xlsx_stata_round_trip(tmp_path: Path, survey_df: pd.DataFrame) -> None:
    write_parquet(survey_df, tmp_path / "s.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "s.parquet").frame, survey_df)
    survey_df.to_excel(tmp_path / "s.xlsx", index=False, sheet_name="roster")
    assert read_table(tmp_path / "s.xlsx").frame.shape == survey_df.shape
    assert read_table(tmp_path / "s.xlsx", sheet="roster").frame.shape == survey_df.shape
    labelled = survey_df.assign(sex=pd.Categorical(survey_df["sex"]))[["age", "sex"]]
    labelled.to_stata(tmp_path / "s.dta", write_index=False)
    stata = read_table(tmp_path / "s.dta").frame
    assert stata["sex"].astype(str).tolist() == survey_df["sex"].tolist()


def test_spss_value_labels_are_kept(tmp_path: Path) -> None:
    import pyreadstat

    frame = pd.DataFrame({"sex": [1.0, 2.0, 1.0], "age": [20.0, 30.0, 40.0]})
    path = tmp_path / "s.sav"
    pyreadstat.write_sav(
        frame, str(path), variable_value_labels={"sex": {1.0: "male", 2.0: "female"}}
    )
    table = read_table(path)
    assert table.format == "spss"
    assert table.frame["sex"].tolist() == ["male", "female", "male"]


def test_write_csv_leaves_suppressed_values_empty(tmp_path: Path) -> None:
    write_csv(pd.DataFrame({"a": [1, None], "b": ["x", None]}), tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text() == "a,b\n1,x\n,\n"


def test_write_text_new_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    write_text_new(path, "one")
    with pytest.raises(DataError, match="already exists"):
        write_text_new(path, "two")
    assert path.read_text() == "one"
    assert [p.name for p in tmp_path.iterdir()] == ["p.yaml"]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, r"missing.csv: no such file$"),
        ("empty.csv", b"", r"^empty.csv: the file is empty$"),
        ("blank.csv", b"\n\n  \n", r"^blank.csv: the file is empty$"),
        ("header.csv", b"a,b\n", r"^header.csv: has a header but no records$"),
        ("dupes.csv", b"a,b,a\n1,2,3\n", r"^dupes.csv: duplicate column names 'a'"),
        ("binary.csv", b"\x00\x01\x02PK\x00", r"^binary.csv: not a text file"),
        ("data.json", b"{}", r"^data.json: unknown file type '.json'"),
        ("ragged.csv", b"a,b\n1,2\n1,2,3,4\n", r"^ragged.csv: not a consistent table"),
        ("bad.parquet", b"not parquet", r"^bad.parquet: not a readable Parquet file"),
        ("bad.xlsx", b"not a workbook", r"^bad.xlsx: not a readable Excel workbook"),
        ("bad.dta", b"not stata", r"^bad.dta: not a readable Stata file"),
        ("bad.sav", b"not spss", r"^bad.sav: not a readable SPSS file"),
    ],
)
def test_bad_files_raise_one_clear_data_error(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_unknown_sheet(tmp_path: Path, survey_df: pd.DataFrame) -> None:
    survey_df.to_excel(tmp_path / "s.xlsx", index=False, sheet_name="roster")
    with pytest.raises(DataError, match=r"no sheet named 'other'; the sheets are \['roster'\]"):
        read_table(tmp_path / "s.xlsx", sheet="other")


def test_folder_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_codes_with_leading_zeros_stay_text_and_numbers_are_numbers(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text("post,age,income,mixed\n01234,30,1.5,a\n20000,,2e3,1\n", encoding="utf-8")
    frame = read_table(path).frame
    assert frame["post"].tolist() == ["01234", "20000"]
    assert frame["age"].tolist()[0] == 30 and frame["age"].isna().tolist() == [False, True]
    assert frame["income"].tolist() == [1.5, 2000.0]
    assert frame["mixed"].tolist() == ["a", "1"]
    assert str(read_table(path).frame["age"].dtype) == "float64"


def test_write_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DataError, match=r"afile/x.csv: cannot write \("):
        write_csv(pd.DataFrame({"a": [1]}), tmp_path / "afile" / "x.csv")
    with pytest.raises(DataError, match=r": cannot write \(Is a directory\)"):
        write_text(tmp_path, "x")


def test_whole_float_codes_are_written_as_integers(tmp_path: Path) -> None:
    write_csv(pd.DataFrame({"code": [4.0, None, 2.0], "x": [0.5, None, 1.0]}), tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text() == "code,x\n4,0.5\n,\n2,1.0\n"
