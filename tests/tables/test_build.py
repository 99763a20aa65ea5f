from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc.errors import DataError, PolicyError
from sdc.tables import (
    FLAGS,
    TableSpec,
    audit_suppression,
    build_table,
    build_tables,
    to_pivot,
)

from .conftest import microdata


@pytest.fixture
def survey_df() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame(
        {
            "district": rng.choice(["north", "south"], n),
            "sex": rng.choice(["F", "M"], n),
            "age": rng.choice([20, 35, 50], n),
            "income": rng.gamma(2.0, 500.0, n).round(),
            "wgt": rng.uniform(1, 3, n),
        }
    )
    df.loc[:3, "sex"] = None
    return df


def test_tidy_format_exact(survey_df: pd.DataFrame) -> None:
    t = build_table(survey_df, TableSpec(by=("district", "sex"), count=True, min_cell=5))
    assert list(t.table.columns) == ["district", "sex", "count", "flag"]
    assert t.table[["district", "sex"]].values.tolist() == [
        ["north", "F"],
        ["north", "M"],
        ["north", "Total"],
        ["south", "F"],
        ["south", "M"],
        ["south", "Total"],
        ["Total", "F"],
        ["Total", "M"],
        ["Total", "Total"],
    ]
    assert t.table["count"].dtype == "Int64"
    assert set(t.table["flag"]) <= set(FLAGS)
    assert t.dropped_rows == 4
    assert t.table["count"].iloc[-1] == len(survey_df) - 4
    assert dict(t.flag_counts) == {
        "published": 9,
        "primary": 0,
        "secondary": 0,
        "rounded": 0,
        "dp": 0,
    }
    assert t.summary() == {
        "name": "count_by_district_sex",
        "by": ["district", "sex"],
        "statistic": "count",
        "variable": None,
        "cells": 9,
        "flags": dict(t.flag_counts),
        "epsilon": 0.0,
        "delta": 0.0,
        "mechanism": "rules min_cell 5: 0 sensitive cells; optimal secondary "
        "suppression (HiGHS, cost value): 0 more; interval audit passed",
        "audit_passed": True,
        "dropped_rows": 4,
    }
    csv = t.table.to_csv(index=False)
    assert csv.splitlines()[0] == "district,sex,count,flag"


def test_suppressed_values_are_empty_in_csv() -> None:
    df = microdata(
        {("A", "M"): 2, ("A", "F"): 10, ("B", "M"): 12, ("B", "F"): 15}, ("village", "sex")
    )
    t = build_table(df, TableSpec(by=("village", "sex"), count=True, min_cell=5))
    lines = t.table.to_csv(index=False).splitlines()
    assert lines[1] == "A,F,,secondary"
    assert lines[2] == "A,M,,primary"
    assert lines[3] == "A,Total,12,published"
    pivot = t.pivot
    assert list(pivot.columns) == ["F", "M", "Total"]
    assert pivot.loc["A"].tolist() == ["x", "x", "12"]
    assert pivot.loc["Total"].tolist() == ["25", "14", "39"]


def test_magnitude_table_p_percent_end_to_end() -> None:
    # sector a: one firm dominates (p% rule), the others are safe.
    rows = [
        ("a", "x", 900.0),
        ("a", "x", 50.0),
        ("a", "y", 300.0),
        ("a", "y", 310.0),
        ("a", "y", 290.0),
        ("b", "x", 200.0),
        ("b", "x", 210.0),
        ("b", "x", 190.0),
        ("b", "y", 400.0),
        ("b", "y", 380.0),
        ("b", "y", 420.0),
    ]
    df = pd.DataFrame(rows, columns=["sector", "region", "turnover"])
    spec = TableSpec(by=("sector", "region"), sum="turnover", p_percent=0.1)
    t = build_table(df, spec)
    prim = t.table[t.table["flag"] == "primary"][["sector", "region"]].values.tolist()
    # (a, x): X = 950, x1 = 900, x2 = 50 -> remainder 0 < 90. (Total, x)? remainder
    # 950 + 600 - 900 - 210 = 440 >= 90: safe. Others safe.
    assert prim == [["a", "x"]]
    assert t.flag_counts["secondary"] == 3
    assert t.passed
    assert t.mechanism.startswith("rules p_percent 0.1: 1 sensitive cells;")
    assert t.table["sum"].dtype == float
    audit = audit_suppression(t.table)
    assert all(c.protected for c in audit)
    p = next(c for c in t.audit if c.flag == "primary")
    assert p.required_upper == pytest.approx(950 + 90)


def test_mean_table_protected_through_sums(survey_df: pd.DataFrame) -> None:
    spec = TableSpec(by=("district", "age"), mean="income", min_cell=60)
    t = build_table(survey_df, spec)
    assert list(t.table.columns) == ["district", "age", "mean", "flag"]
    published = t.table[t.table["flag"] == "published"]
    for row in published.itertuples(index=False):
        sel = survey_df
        if row.district != "Total":
            sel = sel[sel["district"] == row.district]
        if row.age != "Total":
            sel = sel[sel["age"].astype(str) == row.age]
        assert row.mean == pytest.approx(sel["income"].mean())
    assert t.table.loc[t.table["flag"] != "published", "mean"].isna().all()
    assert t.passed
    with pytest.raises(DataError, match="means are not additive"):
        audit_suppression(t.table)


def test_weighted_mean_and_plain_table(survey_df: pd.DataFrame) -> None:
    t = build_table(survey_df, TableSpec(by=("district",), mean="income", weight="wgt"))
    north = survey_df[survey_df["district"] == "north"]
    expected = (north["income"] * north["wgt"]).sum() / north["wgt"].sum()
    assert t.table.loc[0, "mean"] == pytest.approx(expected)
    assert t.mechanism == "none"
    assert list(t.pivot.columns) == ["mean"]
    assert t.pivot.index.tolist() == ["north", "south", "Total"]


def test_three_and_four_dimensions(survey_df: pd.DataFrame) -> None:
    survey_df = survey_df.dropna()
    survey_df = survey_df.assign(band=np.where(survey_df["income"] > 800, "hi", "lo"))
    t3 = build_table(survey_df, TableSpec(by=("district", "sex", "age"), count=True, min_cell=3))
    assert len(t3.table) == 3 * 3 * 4
    assert t3.passed
    t4 = build_table(
        survey_df, TableSpec(by=("district", "sex", "age", "band"), count=True, min_cell=4)
    )
    assert len(t4.table) == 3 * 3 * 4 * 3
    assert t4.passed
    assert t4.pivot.index.nlevels == 3


def test_codebook_orders_and_adds_categories(survey_df: pd.DataFrame) -> None:
    t = build_table(
        survey_df, TableSpec(by=("sex",), count=True), codebook={"sex": ["M", "F", "X"]}
    )
    assert t.table["sex"].tolist() == ["M", "F", "X", "Total"]
    assert t.table["count"].tolist()[2] == 0


def test_errors(survey_df: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"column\(s\) \['village'\] are not in the data"):
        build_table(survey_df, TableSpec(by=("village",), count=True))
    with pytest.raises(DataError, match="summed column 'sex' must be numeric"):
        build_table(survey_df, TableSpec(by=("district",), sum="sex"))
    with pytest.raises(DataError, match="column 'sex' has no values"):
        build_table(survey_df.assign(sex=None), TableSpec(by=("sex",), count=True))
    with pytest.raises(PolicyError, match="two tables are named 'count_by_sex'"):
        build_tables(survey_df, [TableSpec(by=("sex",), count=True)] * 2)
    with pytest.raises(DataError, match="tidy count or sum table"):
        audit_suppression(pd.DataFrame({"a": ["x"], "count": [1]}))


def test_build_tables_and_pivot_helper(survey_df: pd.DataFrame) -> None:
    specs = [
        TableSpec(by=("district", "sex"), count=True, min_cell=5),
        TableSpec(by=("district",), sum="income", rounding=1000),
    ]
    out = build_tables(survey_df, specs, seed=1)
    assert [t.name for t in out] == ["count_by_district_sex", "sum_income_by_district"]
    assert (out[1].table["sum"] % 1000 == 0).all()
    wide = to_pivot(out[0].table)
    assert wide.shape == (3, 3)
    assert out[1].pivot.loc["Total", "sum"].endswith("000")


def test_audit_of_published_table_flags_recoverable_cell() -> None:
    # A hand-made bad release: only the primary cell is suppressed.
    tidy = pd.DataFrame(
        {
            "a": ["x", "y", "Total"],
            "count": [None, 10, 13],
            "flag": ["primary", "published", "published"],
        }
    )
    (cell,) = audit_suppression(tidy)
    assert cell.cell == ("x",) and (cell.lower, cell.upper) == (3.0, 3.0)
    assert not cell.protected
    tidy.loc[1, "count"] = None
    tidy.loc[1, "flag"] = "secondary"
    cells = audit_suppression(tidy)
    assert all(c.protected for c in cells)
    assert cells[0].upper == 13.0
    bad = tidy.assign(count=[None, None, -5])
    with pytest.raises(DataError, match="inconsistent"):
        audit_suppression(bad)
