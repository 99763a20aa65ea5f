"""Microaggregation options: method pca, strata and sampling weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.microaggregation import microaggregate, pca_groups
from sdc.errors import DataError, PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release


def test_pca_hand_example() -> None:
    # points on the diagonal, given out of order: sorted along it, groups of 3, the last
    # group takes the remainder (4 records)
    df = pd.DataFrame({"a": [12.0, 1, 13, 3, 10, 2, 11], "b": [12.0, 1, 13, 3, 10, 2, 11]})
    out, record = microaggregate(df, ["a", "b"], 3, "pca")
    assert out["a"].tolist() == [11.5, 2.0, 11.5, 2.0, 11.5, 2.0, 11.5]
    assert out["b"].tolist() == out["a"].tolist()
    assert json.loads(json.dumps(record.to_dict()))["parameters"] == {
        "k": 3,
        "method": "pca",
        "standardised": True,
        "strata": [],
        "weights": None,
    }
    assert record.details == {"groups": 2, "smallest_group": 3, "largest_group": 4, "suppressed": 0}


def test_pca_follows_the_first_component_not_a_column() -> None:
    # b follows a up to a little noise: the first component is their common direction, and
    # the records are sorted along it (by a)
    rng = np.random.default_rng(3)
    a = rng.permutation(12).astype(float)
    x = np.column_stack([a, 3 * a + rng.normal(0, 0.5, 12)])
    group = pca_groups((x - x.mean(0)) / x.std(0), 4)
    assert [set(a[group == g]) for g in range(3)] == [{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9, 10, 11}]


def test_strata_by_hand() -> None:
    df = pd.DataFrame(
        {
            "region": ["a"] * 6 + ["b"] * 3 + ["c"] * 2,
            "x": [1.0, 2, 3, 4, 5, 6, 100, 101, 102, 7, 8],
        }
    )
    out, record = microaggregate(df, ["x"], 3, strata=["region"])
    assert out["x"].tolist()[:9] == [2.0, 2, 2, 5, 5, 5, 101, 101, 101]
    assert out["x"].iloc[9:].isna().all()  # region c has fewer than k records
    assert record.details == {
        "groups": 3,
        "smallest_group": 3,
        "largest_group": 3,
        "suppressed": 2,
        "strata": 3,
    }
    assert list(record.parameters["strata"]) == ["region"]


def test_weighted_means_by_hand() -> None:
    df = pd.DataFrame({"x": [1.0, 2, 3, 4], "w": [1.0, 3, 1, 1]})
    out, record = microaggregate(df, ["x"], 2, "individual", weights="w")
    # groups {1, 2} and {3, 4}: (1*1 + 3*2) / 4 = 1.75 and (3 + 4) / 2 = 3.5
    assert out["x"].tolist() == [1.75, 1.75, 3.5, 3.5]
    assert (out["x"] * df["w"]).sum() == (df["x"] * df["w"]).sum() == 14.0
    assert record.parameters["weights"] == "w"


def test_a_bad_weight_is_refused() -> None:
    df = pd.DataFrame({"x": [1.0, 2, 3, 4], "w": [1.0, 0, np.nan, 1]})
    with pytest.raises(DataError) as err:
        microaggregate(df, ["x"], 2, weights="w")
    assert str(err.value) == (
        "microaggregation weights 'w': 2 record(s) have a missing, non-numeric or non-positive "
        "weight; every weight must be a positive number"
    )


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(6, 70),
    d=st.integers(1, 3),
    k=st.integers(2, 4),
    method=st.sampled_from(["mdav", "pca", "individual"]),
    weighted=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_groups_within_strata_and_totals_kept(
    n: int, d: int, k: int, method: str, weighted: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    cols = [f"c{j}" for j in range(d)]
    df = pd.DataFrame(rng.normal(50, 10, (n, d)).round(1), columns=cols)
    df["s"] = rng.choice(["a", "b", "c"], n)
    df["w"] = rng.uniform(1, 5, n)
    out, record = microaggregate(
        df, cols, k, method, strata=["s"], weights="w" if weighted else None
    )
    for _stratum, part in out.groupby("s"):
        original = df.loc[part.index]
        if len(part) < k:  # too small a stratum: suppressed
            assert part[cols].isna().all().all()
            continue
        keys = [[c] for c in cols] if method == "individual" else [cols]
        for key in keys:
            assert part.groupby(key).size().min() >= k
        w = part["w"] if weighted else pd.Series(1.0, index=part.index)
        np.testing.assert_allclose(
            (part[cols].mul(w, axis=0)).sum().to_numpy(),
            (original[cols].mul(w, axis=0)).sum().to_numpy(),
            rtol=1e-9,
        )
    assert record.details["smallest_group"] >= k or record.details["groups"] == 0


POLICY = """\
version: 1
name: farms
data: {weight: w}
columns:
  region: {role: other}
  w: {role: other}
  area: {role: sensitive, microaggregation: {k: 3, method: pca, strata: [region], weighted: true}}
  herd: {role: sensitive, microaggregation: {k: 3, method: pca, strata: [region], weighted: true}}
  kind: {role: quasi}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, microaggregation, suppress]}
"""


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "strata: [region], weighted: true}}\n  herd",
            "strata: [regio], weighted: true}}\n  herd",
            "p.yaml line 7: microaggregation.strata 'regio' is not a released column of the "
            "policy; strata must be columns kept in the release (other than the microaggregated column itself)",
        ),
        (
            "data: {weight: w}\n",
            "",
            "p.yaml line 6: microaggregation.weighted: true uses the sampling weights: add data: "
            "{weight: COLUMN}, or leave weighted out",
        ),
        (
            "method: pca, strata",
            "method: rmd, strata",
            "p.yaml line 7: columns.area.microaggregation.method must be one of 'mdav', 'pca' "
            "or 'individual' (got 'rmd')",
        ),
    ],
)
def test_bad_policies(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in POLICY
    with pytest.raises(PolicyError) as err:
        parse_policy(POLICY.replace(old, new, 1), source=tmp_path / "p.yaml")
    assert str(err.value) == message


def _farms(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 200
    frame = pd.DataFrame(
        {
            "region": rng.choice(["north", "south"], n),
            "kind": rng.choice(["dairy", "beef"], n),
            "w": rng.integers(1, 20, n).astype(float),
            "area": rng.lognormal(3, 1, n).round(2),
            "herd": rng.integers(0, 300, n).astype(float),
        }
    )
    frame.to_csv(tmp_path / "farms.csv", index=False)
    return tmp_path / "farms.csv"


def test_release_records_the_options_and_check_verifies_the_groups(tmp_path: Path) -> None:
    path = _farms(tmp_path)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    table = read_table(path)
    release(table, policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"))
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    record = next(t for t in manifest["microdata"]["treatments"] if t["name"] == "microaggregation")
    assert record["parameters"] == {
        "k": 3,
        "method": "pca",
        "standardised": True,
        "strata": ["region"],
        "weights": "w",
    }
    assert record["details"]["strata"] == 2
    html = (tmp_path / "out" / "report.html").read_text()
    assert (
        "(PCA microaggregation); 399 values changed. Groups were formed within each value of "
        "region. Each average is weighted by the sampling weights (w), so weighted totals are "
        "kept."
    ) in html
    released = pd.read_csv(tmp_path / "out" / "microdata.csv")
    original = pd.read_csv(path)
    for column in ("area", "herd"):  # weighted totals per region are kept
        np.testing.assert_allclose(
            (released[column] * released["w"]).groupby(released["region"]).sum().to_numpy(),
            (original[column] * original["w"]).groupby(original["region"]).sum().to_numpy(),
            rtol=1e-9,
        )
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert all(i.passed for i in items.values()), [i.detail for i in items.values() if not i.passed]
    assert items["microaggregation"].detail == (
        "every released value group holds at least k records: area, herd (pca, k 3 within "
        "region): smallest group 3"
    )
    assert items["input numeric risk"].passed
    assert "the treatment re-run on farms.csv gives the released rows" in (
        items["input numeric risk"].detail
    )
    # a record moved to the other region leaves a group of 2 there
    released.loc[0, "region"] = "south" if released.loc[0, "region"] == "north" else "north"
    released.to_csv(tmp_path / "out" / "microdata.csv", index=False)
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy).items}
    assert items["microaggregation"].passed is False
    assert items["microaggregation"].detail == (
        "area, herd (pca, k 3 within region): 3 released record(s) share their values with "
        "fewer than 3 records"
    )
