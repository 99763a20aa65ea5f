"""Multivariate top coding: robust Mahalanobis outliers pulled onto the ellipsoid; checked."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from sdc.anonymize.mv_top_code import mv_top_code, robust_center_scatter
from sdc.errors import PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release


def _cloud(n: int = 4000, seed: int = 0, outliers: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal([50, 20], [[25, 9], [9, 4]], size=n)
    x[:outliers] = rng.normal([120, 60], 5, size=(outliers, 2))
    return pd.DataFrame(x, columns=["area", "herd"])


def test_the_estimate_resists_outliers_and_the_moves_are_radial() -> None:
    df = _cloud()
    center, scatter = robust_center_scatter(df.to_numpy())
    assert np.allclose(center, [50, 20], atol=0.3)
    assert np.allclose(scatter, [[25, 9], [9, 4]], rtol=0.1)
    out, record = mv_top_code(df, ["area", "herd"], 0.025)
    bound = chi2.ppf(0.975, 2)
    assert record.parameters["bound"] == pytest.approx(bound)
    moved = (out != df).any(axis=1).to_numpy()
    assert moved[:40].all()  # every planted outlier
    assert record.details["outliers"] == moved.sum() < 0.05 * len(df)
    diff = np.linalg.pinv(scatter)
    d2 = lambda v: np.einsum("ij,jk,ik->i", v - center, diff, v - center)  # noqa: E731
    # moved records lie on the ellipsoid, on the line from the centre through their value
    assert np.allclose(d2(out.to_numpy()[moved]), bound)
    before, after = df.to_numpy()[moved] - center, out.to_numpy()[moved] - center
    ratio = after / before
    assert np.allclose(ratio[:, 0], ratio[:, 1]) and (ratio < 1).all() and (ratio > 0).all()
    assert np.array_equal(out.to_numpy()[~moved], df.to_numpy()[~moved])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32), alpha=st.floats(0.001, 0.2))
def test_deterministic_and_nothing_beyond_the_bound(seed: int, alpha: float) -> None:
    df = _cloud(300, seed, 5)
    df.loc[3, "herd"] = np.nan
    a, record = mv_top_code(df, ["area", "herd"], alpha)
    b, _ = mv_top_code(df, ["area", "herd"], alpha)
    assert a.equals(b)
    assert a.loc[3].equals(df.loc[3])  # a record with a missing value is left alone
    center, scatter = robust_center_scatter(df.dropna().to_numpy())
    v = a.dropna().to_numpy() - center
    assert (
        np.einsum("ij,jk,ik->i", v, np.linalg.pinv(scatter), v) <= record.parameters["bound"] + 1e-6
    ).all()


def test_integers_stay_integers() -> None:
    df = _cloud(500).round().astype(int)
    out, _ = mv_top_code(df, ["area", "herd"])
    assert out.dtypes.tolist() == [np.int64, np.int64]


@pytest.mark.parametrize(("alpha", "columns"), [(0.5, ["a", "b"]), (0.0, ["a", "b"]), (0.1, ["a"])])
def test_bad_parameters(alpha: float, columns: list[str]) -> None:
    with pytest.raises(PolicyError) as err:
        mv_top_code(pd.DataFrame({"a": [1.0], "b": [2.0]}), columns, alpha)
    assert str(err.value) == (
        "mv_top_code needs alpha in (0, 0.5) and at least two numeric columns, got alpha "
        f"{alpha!r} and {len(columns)} column(s)"
    )


POLICY = """\
version: 1
name: farms
columns:
  region: {role: quasi}
  area: {role: sensitive, mv_top_code: {alpha: 0.01}}
  herd: {role: sensitive, mv_top_code: {alpha: 0.01}}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, mv_top_code, suppress]}
"""


def test_a_lone_column_is_refused(tmp_path: Path) -> None:
    text = POLICY.replace(
        "herd: {role: sensitive, mv_top_code: {alpha: 0.01}}", "herd: {role: sensitive}"
    )
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source=tmp_path / "p.yaml")
    assert str(err.value) == (
        "p.yaml line 5: mv_top_code treats numeric columns together: give at least two columns "
        "mv_top_code with the same alpha"
    )


def test_release_records_it_and_check_recomputes_it(tmp_path: Path) -> None:
    df = _cloud(800).round(2).assign(region=lambda f: np.where(f.index % 2, "a", "b"))
    df.to_csv(tmp_path / "farms.csv", index=False)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    table = read_table(tmp_path / "farms.csv")
    result = release(table, policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"))
    record = next(t for t in result.microdata.treatments if t.name == "mv_top_code")
    assert record.parameters["alpha"] == 0.01 and record.details["outliers"] >= 40
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert all(i.passed for i in items.values()), [i.detail for i in items.values() if not i.passed]
    assert items["input mv top code"].detail == (
        "area, herd: the released values are farms.csv's after multivariate top coding, "
        "recomputed (compared as multisets)"
    )
    # An outlier left where it was is caught with the input ...
    released = pd.read_csv(tmp_path / "out" / "microdata.csv")
    far = released["area"].idxmax()
    released.loc[far, "area"] = df["area"].max()
    released.to_csv(tmp_path / "out" / "microdata.csv", index=False)
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert items["input mv top code"].detail == (
        "1 released record(s) of area, herd are not the input's after multivariate top coding "
        "at alpha 0.01"
    )
    # ... and a manifest claiming a looser alpha without it.
    path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(path.read_text())
    for t in manifest["microdata"]["treatments"]:
        if t["name"] == "mv_top_code":
            t["parameters"]["alpha"] = 0.001
    path.write_text(json.dumps(manifest))
    items = {i.name: i for i in check_bundle(path.parent, policy).items}
    assert items["column treatments"].detail == (
        "area: mv_top_code ran with alpha 0.001 (policy: 0.01); herd: mv_top_code ran with "
        "alpha 0.001 (policy: 0.01)"
    )
