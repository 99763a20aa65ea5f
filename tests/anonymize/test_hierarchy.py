from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdc.errors import PolicyError
from sdc.hierarchy import Hierarchy, normalize_value

DATA = Path(__file__).parent.parent / "data"


def write(tmp_path: Path, text: str, name: str = "h.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def age_hierarchy() -> Hierarchy:
    return Hierarchy.from_csv(DATA / "adult_hierarchy_age.csv")


def test_adult_age_file(age_hierarchy: Hierarchy) -> None:
    h = age_hierarchy
    assert h.levels == 5
    assert len(h.values) == 100
    assert h.labels(4) == ("*",)
    assert h.labels(1)[:2] == ("0-4", "5-9")
    assert h.leaf_counts(3).tolist() == [20, 20, 20, 20, 20]
    assert h.leaf_counts(0).tolist() == [1] * 100


def test_numeric_data_matches_string_hierarchy(age_hierarchy: Hierarchy) -> None:
    ints = pd.Series([39, 50, 17], name="age")
    floats = pd.Series([39.0, np.nan, 17.0], name="age")
    assert age_hierarchy.generalize(ints, 1).tolist() == [
        "35-39",
        "45-49",
        "15-19",
    ]  # the file bands 46-50 as "45-49"
    out = age_hierarchy.generalize(floats, 2)
    assert out.iloc[0] == "30-39" and pd.isna(out.iloc[1]) and out.iloc[2] == "10-19"
    assert age_hierarchy.missing_values(floats) == []


def test_level_zero_is_identity(age_hierarchy: Hierarchy) -> None:
    s = pd.Series([39, 50], name="age", index=[5, 7])
    out = age_hierarchy.generalize(s, 0)
    pd.testing.assert_series_equal(out, s)
    assert out is not s


def test_generalize_keeps_index_name_and_str_dtype(age_hierarchy: Hierarchy) -> None:
    s = pd.Series(["39", " 40 ", None, ""], index=[10, 11, 12, 13], name="age")
    out = age_hierarchy.generalize(s, 4)
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.name == "age"
    assert out.dtype == "str"
    assert out.tolist()[:2] == ["*", "*"]
    assert out.isna().tolist() == [False, False, True, True]


@pytest.mark.parametrize("sep", [";", ","])
def test_separator_is_sniffed(tmp_path: Path, sep: str) -> None:
    text = f"a{sep}x{sep}*\nb{sep} x {sep}*\n\nc{sep}y{sep}*\n"
    h = Hierarchy.from_csv(write(tmp_path, text))
    assert h.levels == 3
    assert h.rows == (("a", "x", "*"), ("b", "x", "*"), ("c", "y", "*"))
    assert h.generalize(pd.Series(["a", "b", "c"]), 1).tolist() == ["x", "x", "y"]


def test_semicolon_file_with_commas_in_values(tmp_path: Path) -> None:
    h = Hierarchy.from_csv(write(tmp_path, "a;Married, spouse present;*\nb;Single;*\n"))
    assert h.labels(1) == ("Married, spouse present", "Single")


def test_bom_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_bytes("\ufeffa;x;*\r\nb;y;*\r\n".encode())
    assert Hierarchy.from_csv(p).values == ("a", "b")


def test_cp1252_fallback(tmp_path: Path) -> None:
    p = tmp_path / "h.csv"
    p.write_bytes("Bogot\xe1;South America;*\n".encode("cp1252"))
    assert Hierarchy.from_csv(p).values == ("Bogotá",)


def test_single_column_file_has_one_level(tmp_path: Path) -> None:
    h = Hierarchy.from_csv(write(tmp_path, "a\nb\n"))
    assert h.levels == 1


def test_missing_values_reports_uncovered(age_hierarchy: Hierarchy) -> None:
    s = pd.Series([39, 120, 0, None, 39.5, 120], name="age")
    assert age_hierarchy.missing_values(s) == ["0", "120", "39.5"]


def test_generalize_uncovered_value_raises(age_hierarchy: Hierarchy) -> None:
    s = pd.Series([39, 120, 130, 140, 150, 160, 170], name="age")
    with pytest.raises(PolicyError, match=r"does not cover 6 value\(s\) of column 'age'") as e:
        age_hierarchy.generalize(s, 1)
    assert "and 1 more" in str(e.value)
    with pytest.raises(PolicyError, match="of the data: '120'"):
        age_hierarchy.generalize(pd.Series([120]), 1)


def test_level_codes(tmp_path: Path) -> None:
    h = Hierarchy.from_csv(write(tmp_path, "a;x;*\nb;x;*\nc;y;*\n"))
    codes = h.level_codes(pd.Series(["c", None, "a", "b"]))
    assert codes.tolist() == [[2, -1, 0, 1], [1, -1, 0, 0], [0, -1, 0, 0]]
    assert h.leaf_counts(1).tolist() == [2, 1]


def test_from_frame() -> None:
    df = pd.DataFrame({"v": [1, 2, 3], "l1": ["1-2", "1-2", "3"], "l2": ["*"] * 3})
    h = Hierarchy.from_frame(df, source="frame")
    assert h.levels == 3
    assert h.generalize(pd.Series([3.0, 1.0]), 1).tolist() == ["3", "1-2"]


def test_exact_duplicate_rows_are_merged(tmp_path: Path) -> None:
    h = Hierarchy.from_csv(write(tmp_path, "a;x;*\na;x;*\nb;y;*\n"))
    assert h.values == ("a", "b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"is empty"),
        ("\n  \n", r"is empty"),
        ("a;x;*\nb;*\n", r"is ragged: row 2 \('b'\) has 2 columns but row 1 has 3"),
        ("a,x,*\nb,*\n", r"is ragged: row 2"),
        ("a;;*\n", r"row 1 \('a'\) has an empty cell in column 2"),
        ("a;x;*\na;y;*\n", r"defines 'a' twice with different generalisations"),
        ("a;x;p;*\nb;x;q;*\n", r"not a tree: 'x' at level 1 generalises to both 'p' and 'q'"),
    ],
)
def test_invalid_files(tmp_path: Path, text: str, message: str) -> None:
    p = write(tmp_path, text)
    with pytest.raises(PolicyError, match=message) as e:
        Hierarchy.from_csv(p)
    assert str(p) in str(e.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"cannot be read"):
        Hierarchy.from_csv(tmp_path / "nope.csv")


def test_empty_frame() -> None:
    with pytest.raises(PolicyError, match="<frame> is empty"):
        Hierarchy.from_frame(pd.DataFrame({"v": []}))


def test_bad_level(age_hierarchy: Hierarchy) -> None:
    with pytest.raises(PolicyError, match="has levels 0 to 4; level 5 does not exist"):
        age_hierarchy.generalize(pd.Series([1]), 5)
    with pytest.raises(PolicyError, match="level -1 does not exist"):
        age_hierarchy.labels(-1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (39, "39"),
        (np.int32(7), "7"),
        (39.0, "39"),
        (39.5, "39.5"),
        (np.float64(2.0), "2"),
        (float("nan"), None),
        (None, None),
        (pd.NA, None),
        ("  x ", "x"),
        ("", None),
        (True, "True"),
    ],
)
def test_normalize_value(value: object, expected: str | None) -> None:
    assert normalize_value(value) == expected


def test_all_adult_hierarchies_cover_sample() -> None:
    df = pd.read_csv(DATA / "adult_sample.csv", sep=";")
    for col in df.columns:
        h = Hierarchy.from_csv(DATA / f"adult_hierarchy_{col}.csv")
        assert h.missing_values(df[col]) == []
        assert h.labels(h.levels - 1) == ("*",)


@given(st.lists(st.sampled_from(["a", "b", "c", "d", None]), max_size=30), st.integers(0, 2))
def test_generalize_agrees_with_row_lookup(values: list[str | None], level: int) -> None:
    rows = (("a", "ab", "*"), ("b", "ab", "*"), ("c", "cd", "*"), ("d", "cd", "*"))
    h = Hierarchy(rows=rows)
    out = h.generalize(pd.Series(values, dtype=object), level)
    lookup = {r[0]: r[level] for r in rows}
    for v, o in zip(values, out.tolist(), strict=True):
        if v is None:
            assert pd.isna(o)
        else:
            assert o == lookup[v]
