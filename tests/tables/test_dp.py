from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sdc.budget import Budget
from sdc.errors import PolicyError
from sdc.tables import DpSpec, TableSpec, build_table, tables_budget
from sdc.tables.dp import noise_quantile, noise_sd

# A fixed number of cells per draw and of draws: the tests are statistical, with loose
# bounds (about 4 standard errors), so they fail only if the noise has the wrong scale.
N_CATS = 600
PER_CELL = 40


def _big(seed: int = 0) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    cats = [f"c{i:03d}" for i in range(N_CATS)]
    df = pd.DataFrame({"cat": np.repeat(cats, PER_CELL)})
    rng = np.random.default_rng(seed)
    df["income"] = rng.uniform(0, 100, len(df))
    return df, {"cat": cats}


def test_discrete_laplace_counts_have_declared_scale() -> None:
    df, keys = _big()
    spec = TableSpec(by=("cat",), count=True, dp=DpSpec(epsilon=0.5, keys=keys))
    t = build_table(df, spec)
    cells = t.table[t.table["cat"] != "Total"]
    noise = cells["count"].to_numpy(float) - PER_CELL
    declared = cells["noise_scale"].iloc[0]
    # discrete Laplace with scale 1 / 0.5 = 2: sd = sqrt(2 a) / (1 - a), a = exp(-1/2)
    a = math.exp(-0.5)
    assert declared == pytest.approx(math.sqrt(2 * a) / (1 - a))
    assert np.std(noise) == pytest.approx(declared, rel=0.15)
    assert abs(np.mean(noise)) < 4 * declared / math.sqrt(N_CATS)
    inside = (cells["ci_low"] <= PER_CELL) & (PER_CELL <= cells["ci_high"])
    assert 0.91 <= inside.mean() <= 0.995
    assert t.budget == Budget(0.5)
    assert set(t.table["flag"]) == {"dp"}
    assert "make_count_by_categories >> make_laplace" in t.mechanism


def test_discrete_gaussian_counts_have_declared_scale() -> None:
    df, keys = _big()
    dp_spec = DpSpec(epsilon=1.0, delta=1e-6, mechanism="gaussian", keys=keys)
    t = build_table(df, TableSpec(by=("cat",), count=True, dp=dp_spec))
    cells = t.table[t.table["cat"] != "Total"]
    noise = cells["count"].to_numpy(float) - PER_CELL
    sigma = cells["noise_scale"].iloc[0]
    assert 3 < sigma < 6  # sigma for (1, 1e-6) at sensitivity 1 is about 4.4
    assert np.std(noise) == pytest.approx(sigma, rel=0.15)
    assert t.budget.epsilon <= 1.0 + 1e-9 and t.budget.delta == pytest.approx(1e-6)


def test_laplace_sums_have_declared_scale() -> None:
    df, keys = _big()
    dp_spec = DpSpec(epsilon=1.0, bounds=(0, 100), keys=keys)
    t = build_table(df, TableSpec(by=("cat",), sum="income", dp=dp_spec))
    truth = df.groupby("cat")["income"].sum()
    cells = t.table[t.table["cat"] != "Total"].set_index("cat")
    noise = cells["sum"] - truth.loc[cells.index]
    # scale = 100 / 1 -> sd = sqrt(2) * 100
    assert cells["noise_scale"].iloc[0] == pytest.approx(math.sqrt(2) * 100)
    assert np.std(noise) == pytest.approx(math.sqrt(2) * 100, rel=0.15)


def test_empty_cells_get_noise_and_margins_add_up() -> None:
    df = pd.DataFrame({"v": ["a"] * 30 + ["b"] * 20, "s": ["F", "M"] * 25})
    keys = {"v": ["a", "b"] + [f"e{i}" for i in range(60)], "s": ["F", "M"]}
    t = build_table(df, TableSpec(by=("v", "s"), count=True, dp=DpSpec(epsilon=1.0, keys=keys)))
    tab = t.table
    empty = tab[tab["v"].str.startswith("e") & (tab["s"] != "Total")]
    assert len(empty) == 120
    assert (empty["count"] > 0).any()  # P(all 120 zero) = 0.73 ** 120, negligible
    assert (tab["count"] >= 0).all()
    assert tab["count"].dtype == "Int64"
    inner = tab[(tab["v"] != "Total") & (tab["s"] != "Total")]
    by_v = inner.groupby("v", sort=False)["count"].sum()
    totals = tab[(tab["s"] == "Total") & (tab["v"] != "Total")].set_index("v")["count"]
    assert (by_v == totals.loc[by_v.index]).all()
    assert tab.iloc[-1]["count"] == inner["count"].sum()
    # A margin carries the sum of its cells' noises: sd grows with sqrt(cells).
    cell_sd = tab.loc[0, "noise_scale"]
    assert tab.iloc[-1]["noise_scale"] == pytest.approx(cell_sd * math.sqrt(124))
    assert list(tab.columns) == ["v", "s", "count", "flag", "noise_scale", "ci_low", "ci_high"]


def test_dp_mean_splits_the_budget_and_stays_in_bounds() -> None:
    df, keys = _big()
    dp_spec = DpSpec(epsilon=1.0, bounds=(0, 100), keys=keys)
    t = build_table(df, TableSpec(by=("cat",), mean="income", dp=dp_spec))
    assert t.budget == Budget(1.0)
    assert "noisy sum / noisy count" in t.mechanism
    tab = t.table
    assert tab["mean"].between(0, 100).all()
    assert (tab["ci_low"] <= tab["mean"]).all() and (tab["mean"] <= tab["ci_high"]).all()
    truth = df.groupby("cat")["income"].mean()
    cells = tab[tab["cat"] != "Total"].set_index("cat")
    inside = (cells["ci_low"] <= truth) & (truth <= cells["ci_high"])
    assert inside.mean() >= 0.9  # Bonferroni intervals are conservative
    total = tab.iloc[-1]
    assert total["mean"] == pytest.approx(df["income"].mean(), abs=1.0)


def test_household_unit_truncates_contributions() -> None:
    df = pd.DataFrame({"v": ["a"] * 12, "hh": [1] * 10 + [2, 3]})
    keys = {"v": ["a"]}
    dp_spec = DpSpec(
        epsilon=50.0, keys=keys, unit="household", unit_column="hh", contribution_bound=2
    )
    t = build_table(df, TableSpec(by=("v",), count=True, dp=dp_spec))
    # household 1 keeps 2 of its 10 records: 4 records remain; epsilon 50 -> scale 0.04
    assert t.table.loc[0, "count"] == 4
    assert "d_in 2 records" in t.mechanism
    assert t.dropped_rows is None


def test_unknown_categories_are_left_out() -> None:
    df = pd.DataFrame({"v": ["a"] * 5 + ["zz"] * 50})
    t = build_table(
        df, TableSpec(by=("v",), count=True, dp=DpSpec(epsilon=50.0, keys={"v": ["a"]}))
    )
    assert t.table["v"].tolist() == ["a", "Total"]
    assert t.table.loc[0, "count"] == 5


def test_keys_must_be_listed() -> None:
    df = pd.DataFrame({"v": ["a", "b"], "s": ["F", "M"]})
    spec = TableSpec(by=("v", "s"), count=True, dp=DpSpec(epsilon=1.0, keys={"v": ["a", "b"]}))
    with pytest.raises(PolicyError, match=r"the categories of 's' must be listed"):
        build_table(df, spec)
    # A codebook can supply them.
    t = build_table(df, spec, codebook={"s": ["F", "M", "X"]})
    assert t.table["s"].drop_duplicates().tolist() == ["F", "M", "X", "Total"]


def test_tables_budget_sums_dp_specs() -> None:
    specs = [
        TableSpec(by=("v",), count=True, dp=DpSpec(epsilon=0.5, keys={"v": ["a"]})),
        TableSpec(by=("v",), count=True, min_cell=5),
        TableSpec(
            by=("v",),
            count=True,
            dp=DpSpec(epsilon=0.25, delta=1e-7, mechanism="gaussian", keys={"v": ["a"]}),
        ),
    ]
    assert tables_budget(specs) == Budget(0.75, 1e-7)


@pytest.mark.parametrize("scale", [0.5, 2.0, 7.0])
def test_noise_quantile_discrete_laplace_exact(scale: float) -> None:
    q = noise_quantile("discrete_laplace", scale, 1)
    a = math.exp(-1 / scale)
    cover = lambda j: 1 - 2 * a ** (j + 1) / (1 + a)  # noqa: E731
    assert cover(q) >= 0.95 and (q == 0 or cover(q - 1) < 0.95)


def test_noise_quantile_sums_and_continuous() -> None:
    assert noise_quantile("laplace", 1.0, 1) == pytest.approx(math.log(20))
    assert noise_quantile("gaussian", 2.0, 4) == pytest.approx(1.959964 * 2 * 2, rel=1e-5)
    # sum of two Laplace(1): P(|X| > q) = exp(-q) (1 + q/2) = 0.05 at q ~ 4.114
    assert noise_quantile("laplace", 1.0, 2) == pytest.approx(4.114, abs=0.06)
    # many terms: normal approximation
    sd = noise_sd("discrete_laplace", 2.0)
    assert noise_quantile("discrete_laplace", 2.0, 400) == pytest.approx(1.96 * sd * 20, rel=1e-3)
    # sum of 3 discrete Gaussians is close to a normal with sd * sqrt(3)
    sd_g = noise_sd("discrete_gaussian", 3.0)
    assert sd_g == pytest.approx(3.0, rel=1e-3)
    assert noise_quantile("discrete_gaussian", 3.0, 3) == pytest.approx(
        1.96 * sd_g * math.sqrt(3), abs=1.0
    )


def test_gaussian_sums_with_negative_bounds() -> None:
    df, keys = _big()
    df["income"] = df["income"] - 50
    dp_spec = DpSpec(epsilon=1.0, delta=1e-6, mechanism="gaussian", bounds=(-50, 50), keys=keys)
    t = build_table(df, TableSpec(by=("cat",), sum="income", dp=dp_spec))
    truth = df.groupby("cat")["income"].sum()
    cells = t.table[t.table["cat"] != "Total"].set_index("cat")
    noise = cells["sum"] - truth.loc[cells.index]
    sigma = cells["noise_scale"].iloc[0]
    assert np.std(noise) == pytest.approx(sigma, rel=0.15)
    assert (cells["sum"] < 0).any()  # no clamping at 0 for a variable that can be negative
    assert (cells["ci_low"] < cells["sum"]).all()
    assert t.budget.delta == pytest.approx(1e-6)
