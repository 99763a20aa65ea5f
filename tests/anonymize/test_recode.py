from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.recode import (
    band_labels,
    bottom_code,
    recode_bands,
    recode_column,
    recode_date,
    recode_grid,
    recode_map,
    recode_prefix,
    top_code,
)
from sdc.errors import DataError, PolicyError
from sdc.hierarchy import Hierarchy

DATA = Path(__file__).parent.parent / "data"
BANDS = [0, 18, 30, 45, 60]


@pytest.fixture
def ages() -> pd.DataFrame:
    return pd.DataFrame({"age": [0, 17, 18, 29, 30, 44, 45, 59, 60, 85, -1, None], "x": range(12)})


def test_bands_hand_computed(ages: pd.DataFrame) -> None:
    out, rec = recode_bands(ages, "age", BANDS)
    assert out["age"].tolist()[:11] == [
        "0-17", "0-17", "18-29", "18-29", "30-44", "30-44", "45-59", "45-59", "60+", "60+", "<0"
    ]  # fmt: skip
    assert pd.isna(out["age"][11])
    assert out["x"].tolist() == list(range(12))
    assert rec.changed == {"age": 11}
    assert rec.details["bands"] == {
        "<0": 1, "0-17": 2, "18-29": 2, "30-44": 2, "45-59": 2, "60+": 2
    }  # fmt: skip
    assert json.loads(json.dumps(rec.to_dict()))["parameters"]["breaks"] == BANDS


def test_bands_with_top_and_bottom_code(ages: pd.DataFrame) -> None:
    out, _ = recode_bands(ages, "age", BANDS, top_code=50)
    assert out["age"].tolist()[6:10] == ["45+", "45+", "45+", "45+"]
    out, _ = recode_bands(ages, "age", BANDS, top_code=80)  # above the last break: no effect
    assert out["age"][9] == "60+"
    out, _ = recode_bands(ages, "age", BANDS, bottom_code=20)
    assert out["age"].tolist()[:4] == ["<30", "<30", "<30", "<30"]
    assert out["age"][10] == "<30"
    out, rec = recode_bands(ages, "age", BANDS, bottom_code=0, top_code=59)
    assert out["age"][10] == "<18" and out["age"][9] == "45+"  # the bottom band is open
    assert rec.parameters["top_code"] == 59


def test_bands_non_integer_labels() -> None:
    df = pd.DataFrame({"h": [1.2, 1.5, 1.75, 2.0, 0.3]})
    out, rec = recode_bands(df, "h", [0.5, 1.5, 2])
    assert out["h"].tolist() == ["[0.5, 1.5)", "[1.5, 2)", "[1.5, 2)", ">=2", "<0.5"]
    assert rec.parameters["labels"] == "interval"
    assert band_labels([1, 2, 3]) == ["<1", "1", "2", "3+"]


def test_bands_of_numeric_text() -> None:
    df = pd.DataFrame({"age": ["17", "45", "", None]})
    out, _ = recode_bands(df, "age", BANDS)
    assert out["age"].tolist()[:2] == ["0-17", "45-59"]
    assert out["age"].isna().tolist() == [False, False, True, True]


@pytest.mark.parametrize(
    ("breaks", "message"),
    [
        ([18], r"^bands must be at least two increasing numbers"),
        (
            [0, 30, 18],
            r"^bands must be increasing, e\.g\. \[0, 18, 30, 45, 60\]; got \[0, 30, 18\]$",
        ),
        ([0, "a"], r"^bands must be at least two increasing numbers"),
        ([0, float("inf")], r"^bands must be at least two"),
    ],
)
def test_bad_bands(ages: pd.DataFrame, breaks: list, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        recode_bands(ages, "age", breaks)


def test_bands_reject_text_and_missing_column() -> None:
    df = pd.DataFrame({"age": ["12", "old", "x"]})
    with pytest.raises(
        DataError,
        match=r"^column 'age' must be numeric but 2 value\(s\) are not numbers \(first: record 2, 'old'\)$",
    ):
        recode_bands(df, "age", BANDS)
    with pytest.raises(DataError, match=r"^column 'agee' is not in the data; it has age$"):
        recode_bands(df, "agee", BANDS)
    with pytest.raises(PolicyError, match=r"^bottom_code \(50\) must be below top_code \(40\)$"):
        recode_bands(pd.DataFrame({"age": [1]}), "age", BANDS, top_code=40, bottom_code=50)


def test_top_and_bottom_code(ages: pd.DataFrame) -> None:
    df = pd.DataFrame({"inc": [10, 500, 90000, 120000]})
    out, rec = top_code(df, "inc", 100000)
    assert out["inc"].tolist() == [10, 500, 90000, 100000]
    assert out["inc"].dtype == df["inc"].dtype
    assert rec.to_dict() == {
        "name": "top_code",
        "columns": ["inc"],
        "parameters": {"value": 100000},
        "changed": {"inc": 1},
        "details": {},
    }
    out, rec = bottom_code(df, "inc", 100)
    assert out["inc"].tolist() == [100, 500, 90000, 120000] and rec.changed == {"inc": 1}
    out, _ = top_code(df, "inc", 99.5)
    assert out["inc"].tolist() == [10, 99.5, 99.5, 99.5]
    out, rec = top_code(ages, "age", 80)
    assert out["age"][9] == 80 and pd.isna(out["age"][11]) and rec.changed == {"age": 1}
    _, rec = top_code(df, "inc", 10**7)
    assert rec.changed == {"inc": 0}
    with pytest.raises(PolicyError, match=r"^top_code of 'inc' must be a finite number, got 'x'$"):
        top_code(df, "inc", "x")  # type: ignore[arg-type]


def test_map_with_hierarchy() -> None:
    hierarchy = Hierarchy.from_csv(DATA / "adult_hierarchy_education.csv")
    df = pd.DataFrame({"education": ["Bachelors", "Masters", "Preschool", None]})
    out, rec = recode_map(df, "education", hierarchy, 1)
    expected = [hierarchy.generalize(pd.Series([v]), 1)[0] for v in df["education"][:3]]
    assert out["education"].tolist()[:3] == expected
    assert pd.isna(out["education"][3])
    assert rec.parameters["level"] == 1
    assert rec.changed["education"] == sum(
        a != b for a, b in zip(expected, df["education"][:3], strict=True)
    )
    out, rec = recode_map(df, "education", hierarchy, 0)
    assert rec.changed == {"education": 0}
    with pytest.raises(PolicyError, match="does not cover"):
        recode_map(pd.DataFrame({"education": ["Nope"]}), "education", hierarchy, 1)


def test_prefix() -> None:
    df = pd.DataFrame({"pc": ["10115", "10117", None, "8001", 22, 10115.0]})
    out, rec = recode_prefix(df, "pc", 3)
    assert out["pc"].tolist()[:2] == ["101", "101"]
    assert pd.isna(out["pc"][2])
    assert out["pc"].tolist()[3:] == ["800", "22", "101"]
    assert rec.changed == {"pc": 4}
    out, rec = recode_prefix(df, "pc", 3, mask="*")
    assert out["pc"].tolist()[3:] == ["800*", "22", "101**"]
    with pytest.raises(PolicyError, match=r"^prefix of 'pc' must be a whole number >= 1, got 0$"):
        recode_prefix(df, "pc", 0)
    with pytest.raises(PolicyError, match=r"^the prefix mask must be one character, got '\*\*'$"):
        recode_prefix(df, "pc", 2, mask="**")


def test_dates() -> None:
    df = pd.DataFrame({"d": ["2021-03-15", "2020-12-01", None, ""]})
    out, rec = recode_date(df, "d", "month")
    assert out["d"].tolist()[:2] == ["2021-03", "2020-12"]
    assert out["d"].isna().tolist()[2:] == [True, True]
    assert rec.changed == {"d": 2}
    out, _ = recode_date(df, "d", "year")
    assert out["d"].tolist()[:2] == ["2021", "2020"]
    dt = pd.DataFrame({"d": pd.to_datetime(["2019-07-04", None])})
    out, _ = recode_date(dt, "d", "month")
    assert out["d"][0] == "2019-07" and pd.isna(out["d"][1])
    with pytest.raises(
        DataError,
        match=r"^column 'd' has 1 value\(s\) that are not dates \(first: record 2, 'soon'\)",
    ):
        recode_date(pd.DataFrame({"d": ["2020-01-01", "soon"]}), "d", "year")
    with pytest.raises(PolicyError, match=r"^date recoding takes 'month' or 'year', got 'day'$"):
        recode_date(df, "d", "day")  # type: ignore[arg-type]


def test_grid() -> None:
    df = pd.DataFrame({"lat": [12.3456, -0.05, 0.04999, None, 7.0]})
    out, rec = recode_grid(df, "lat", 0.1)
    assert out["lat"].tolist()[:3] == [12.3, 0.0, 0.0]
    assert str(out["lat"][1]) == "0.0"  # no negative zero
    assert pd.isna(out["lat"][3]) and out["lat"][4] == 7.0
    assert rec.changed == {"lat": 3}
    out, _ = recode_grid(df, "lat", 0.25)
    assert out["lat"][0] == 12.25
    out, _ = recode_grid(df, "lat", 5)
    assert out["lat"].tolist()[:3] == [10.0, 0.0, 0.0]
    with pytest.raises(PolicyError, match=r"^grid step of 'lat' must be a positive number, got 0$"):
        recode_grid(df, "lat", 0)


def test_recode_column_dispatch(ages: pd.DataFrame) -> None:
    out, recs = recode_column(ages, "age", bands=BANDS, top_code=50)
    assert [r.name for r in recs] == ["recode.bands"] and out["age"][9] == "45+"
    out, recs = recode_column(ages, "age", top_code=80, bottom_code=0)
    assert [r.name for r in recs] == ["bottom_code", "top_code"]
    assert out["age"][9] == 80 and out["age"][10] == 0
    out, recs = recode_column(ages, "age", grid=10)
    assert [r.name for r in recs] == ["recode.grid"] and out["age"][1] == 20
    out, recs = recode_column(ages, "age")
    assert recs == [] and out.equals(ages) and out is not ages
    codes = pd.DataFrame({"pc": ["12345"], "d": ["2020-02-02"]})
    assert recode_column(codes, "pc", prefix=2)[0]["pc"][0] == "12"
    assert recode_column(codes, "d", date="year")[0]["d"][0] == "2020"
    hierarchy = Hierarchy.from_csv(DATA / "adult_hierarchy_sex.csv")
    sexes = pd.DataFrame({"sex": ["Male", "Female"]})
    out, recs = recode_column(sexes, "sex", hierarchy=hierarchy, level=1)
    assert out["sex"].nunique() == 1 and recs[0].name == "recode.map"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"bands": BANDS, "grid": 1.0},
            r"^column 'age': give one way of recoding, got bands, grid$",
        ),
        ({"level": 1}, r"^column 'age': level only applies to recode\.map"),
        (
            {"hierarchy": Hierarchy(rows=(("1", "*"),))},
            r"^column 'age': recode\.map needs a level, or let the optimal search choose it",
        ),
    ],
)
def test_recode_column_errors(ages: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        recode_column(ages, "age", **kwargs)


def test_inputs_are_not_modified(ages: pd.DataFrame) -> None:
    before = ages.copy()
    recode_bands(ages, "age", BANDS)
    top_code(ages, "age", 10)
    recode_grid(ages, "age", 5)
    pd.testing.assert_frame_equal(ages, before)
    assert np.isnan(ages["age"][11])
