from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.errors import DataError, PolicyError
from sdc.synth import SynthResult, _dp, synthesize
from sdc.synth.mst import _compress, _decompress

from .conftest import DOMAINS, TREE_EDGES, tvd_to_truth


def _synth(df: pd.DataFrame, epsilon: float, rows: int = 20_000, **kw: object) -> SynthResult:
    return synthesize(
        df,
        columns=list(DOMAINS),
        domains=DOMAINS,
        bounds={},
        epsilon=epsilon,
        delta=1e-9,
        rows=rows,
        seed=1,
        **kw,  # type: ignore[arg-type]
    )


def test_marginals_approach_the_truth_as_epsilon_grows(tree_df: pd.DataFrame) -> None:
    # Bounds measured over 30 runs each (DP noise is not seeded): mean 2-way TVD to the true
    # model was 0.14-0.25 at epsilon 0.01, 0.007-0.017 at 0.3, 0.0091-0.0095 at 30 (the floor
    # of 20,000 real and 20,000 synthetic records). The bounds below leave wide margins.
    means = {}
    for eps in (0.01, 0.3, 30.0):
        tvd = tvd_to_truth(_synth(tree_df, eps).data)
        means[eps] = np.mean(list(tvd.values()))
        if eps == 30.0:
            assert max(tvd.values()) < 0.025
    assert means[30.0] < 0.015
    assert means[0.3] < 0.04
    assert means[0.01] > 0.06


def test_the_true_tree_is_selected(tree_df: pd.DataFrame) -> None:
    result = _synth(tree_df, 5.0, rows=10)
    assert {frozenset(e) for e in result.tree} == TREE_EDGES


def test_budget_is_spent_exactly(tree_df: pd.DataFrame) -> None:
    result = _synth(tree_df, 1.0, rows=100)
    rho = _dp.rho_from_epsilon_delta(1.0, 1e-9)
    assert result.rho == rho
    assert result.rho_spent <= rho
    assert result.rho_spent == pytest.approx(rho, rel=1e-9)
    assert result.epsilon_spent <= 1.0
    assert result.epsilon_spent == pytest.approx(1.0, rel=1e-6)
    assert result.rho_spent == pytest.approx(sum(m.rho for m in result.measurements))
    kinds = [m.kind for m in result.measurements]
    assert kinds == ["1-way"] * 4 + ["select"] * 3 + ["2-way"] * 3
    by_kind = {k: sum(m.rho for m in result.measurements if m.kind == k) for k in set(kinds)}
    for share in by_kind.values():
        assert share == pytest.approx(rho / 3, rel=1e-9)
    assert result.sigma_1way == pytest.approx((3 * 4 / (2 * rho)) ** 0.5, rel=1e-9)
    assert result.sigma_2way == pytest.approx((3 * 3 / (2 * rho)) ** 0.5, rel=1e-9)
    assert result.selection_scale == pytest.approx(2 / (8 * rho / 9) ** 0.5, rel=1e-9)


def test_one_column_spends_everything_on_its_marginal(tree_df: pd.DataFrame) -> None:
    result = synthesize(
        tree_df,
        columns=["A"],
        domains=DOMAINS,
        bounds={},
        epsilon=1.0,
        delta=1e-9,
        rows=50,
        seed=3,
    )
    assert result.tree == ()
    assert [m.kind for m in result.measurements] == ["1-way"]
    assert result.rho_spent == pytest.approx(result.rho, rel=1e-9)
    assert result.sigma_2way == 0.0
    assert result.selection_scale == 0.0


def test_two_columns_need_no_selection(tree_df: pd.DataFrame) -> None:
    result = synthesize(
        tree_df,
        columns=["A", "B"],
        domains=DOMAINS,
        bounds={},
        epsilon=1.0,
        delta=1e-9,
        rows=50,
        seed=3,
    )
    assert result.tree == (("A", "B"),)
    assert [m.kind for m in result.measurements] == ["1-way", "1-way", "2-way"]
    assert result.rho_spent == pytest.approx(result.rho, rel=1e-9)


def test_rows_columns_and_codebook_are_respected(tree_df: pd.DataFrame) -> None:
    df = tree_df.head(3000).copy()
    df["age"] = np.random.default_rng(0).integers(0, 120, len(df))
    df.loc[:9, "A"] = "not-in-codebook"
    df.loc[10:14, "B"] = None
    result = synthesize(
        df,
        columns=["age", "A", "B", "C"],
        domains=DOMAINS,
        bounds={"age": (18, 80)},
        epsilon=2.0,
        delta=1e-9,
        rows=777,
        seed=2,
        types={"age": "integer"},
    )
    out = result.data
    assert len(out) == 777
    assert list(out.columns) == ["age", "A", "B", "C"]
    for col in ("A", "B", "C"):
        assert set(out[col]) <= set(DOMAINS[col])
    assert out["age"].dtype == np.int64
    assert out["age"].between(18, 80).all()
    assert result.dropped == {"age": 0, "A": 10, "B": 5, "C": 0}
    assert result.records_used == 3000 - 15
    assert result.clamped == {"age": int(((df["age"] < 18) | (df["age"] > 80)).sum())}


def test_seed_none_is_allowed(tree_df: pd.DataFrame) -> None:
    result = synthesize(
        tree_df,
        columns=["A", "C"],
        domains=DOMAINS,
        bounds={},
        epsilon=1.0,
        delta=1e-9,
        rows=200,
        seed=None,
    )
    assert result.seed is None
    assert len(result.data) == 200


def test_to_dict_is_json_and_leaves_out_private_counts(tree_df: pd.DataFrame) -> None:
    result = _synth(tree_df, 1.0, rows=100)
    d = result.to_dict()
    json.dumps(d)
    assert d["method"] == "mst"
    assert d["rho_spent"] == result.rho_spent
    assert d["columns"] == list(DOMAINS)
    assert len(d["measurements"]) == 10
    for private in ("records_used", "dropped", "clamped"):
        assert private not in d


def test_rare_categories_are_merged_and_mapped_back_within_the_codebook() -> None:
    rng = np.random.default_rng(4)
    n = 2000
    town = rng.choice(["big", "mid"], size=n)
    town[:3] = "tiny1"
    town[3:5] = "tiny2"
    df = pd.DataFrame({"town": town, "x": rng.choice(["p", "q"], size=n)})
    domains = {"town": ["big", "mid", "tiny1", "tiny2", "never"], "x": ["p", "q"]}
    result = synthesize(
        df,
        columns=["town", "x"],
        domains=domains,
        bounds={},
        epsilon=0.5,
        delta=1e-9,
        rows=5000,
        seed=0,
    )
    # sigma of a 1-way cell is about 20: noisy cells under 60 are merged. The ~1000-record
    # towns never are; each small one is with probability >= 0.998 (the DP noise cannot be
    # seeded, so the test asks only what holds but once in 10^8 runs: at least one is)
    merged = set(result.merged["town"])
    assert merged <= {"tiny1", "tiny2", "never"} and merged
    assert set(result.data["town"]) <= set(domains["town"])


def test_compress_and_decompress_by_hand() -> None:
    comp = _compress(np.array([100.0, 2.0, 50.0, -4.0, 6.0]), sigma=10.0)
    assert comp.forward.tolist() == [0, 2, 1, 2, 2]
    assert comp.merged == (1, 3, 4)
    assert comp.noisy.tolist() == [100.0, 50.0, 4.0]
    assert comp.variance.tolist() == [100.0, 100.0, 300.0]
    assert comp.weights.tolist() == pytest.approx([0.25, 0.0, 0.75])
    codes = np.array([[0], [1], [2], [2], [2], [2]] * 1000)
    back = _decompress(codes, [comp], np.random.default_rng(0))[:, 0]
    assert (back[codes[:, 0] == 0] == 0).all()
    assert (back[codes[:, 0] == 1] == 2).all()
    assert set(back[codes[:, 0] == 2].tolist()) == {1, 4}


def test_compress_keeps_everything_when_at_most_one_cell_is_small() -> None:
    comp = _compress(np.array([100.0, 2.0]), sigma=10.0)
    assert comp.merged == ()
    assert comp.forward.tolist() == [0, 1]
    assert comp.noisy.tolist() == [100.0, 2.0]


def test_compress_spreads_uniformly_when_no_merged_count_is_positive() -> None:
    comp = _compress(np.array([100.0, -2.0, -1.0]), sigma=10.0)
    assert comp.weights.tolist() == [0.5, 0.5]


def test_all_small_cells_merge_into_one() -> None:
    comp = _compress(np.array([1.0, 2.0, 3.0]), sigma=10.0)
    assert comp.size == 1
    assert comp.forward.tolist() == [0, 0, 0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"method": "pategan"},
            "synthetic: unknown method 'pategan'; the available methods are 'mst' and 'aim'",
        ),
        ({"epsilon": 0.0}, "synthetic: epsilon must be a positive number, got 0.0"),
        ({"epsilon": float("nan")}, "synthetic: epsilon must be a positive number, got nan"),
        ({"delta": 0.0}, "synthetic: delta must be between 0 and 1 (exclusive), got 0.0"),
        ({"delta": 1.0}, "synthetic: delta must be between 0 and 1 (exclusive), got 1.0"),
        ({"rows": 0}, "synthetic: rows must be a whole number >= 1, got 0"),
        ({"rows": True}, "synthetic: rows must be a whole number >= 1, got True"),
        ({"rows": 2.5}, "synthetic: rows must be a whole number >= 1, got 2.5"),
        ({"seed": -1}, "synthetic: seed must be a whole number >= 0 or empty, got -1"),
        ({"seed": "x"}, "synthetic: seed must be a whole number >= 0 or empty, got x"),
    ],
)
def test_parameter_errors(tree_df: pd.DataFrame, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "columns": ["A"],
        "domains": DOMAINS,
        "bounds": {},
        "epsilon": 1.0,
        "delta": 1e-9,
        "rows": 10,
        "seed": 0,
    }
    args.update(kwargs)
    with pytest.raises(PolicyError, match="^" + re.escape(message) + "$"):
        synthesize(tree_df, **args)  # type: ignore[arg-type]


def test_no_record_in_the_codebook_is_a_data_error(tree_df: pd.DataFrame) -> None:
    with pytest.raises(
        DataError,
        match=re.escape(
            "synthetic: no record has all its values in the codebook; check that the category "
            "lists match the data (values outside them per column: {'A': 20000})"
        ),
    ):
        synthesize(
            tree_df,
            columns=["A"],
            domains={"A": ["zz"]},
            bounds={},
            epsilon=1.0,
            delta=1e-9,
            rows=10,
            seed=0,
        )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n=st.integers(1, 60),
    k=st.integers(1, 5),
    outside=st.integers(0, 3),
    eps=st.sampled_from([0.05, 1.0, 20.0]),
    rows=st.integers(1, 300),
    seed=st.integers(0, 2**31),
)
def test_output_stays_within_codebook_and_bounds(
    n: int, k: int, outside: int, eps: float, rows: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    domain = [f"v{i}" for i in range(k)]
    values = rng.choice(domain + [f"out{i}" for i in range(outside)], size=n)
    values[0] = domain[0]  # at least one record fits the codebook
    df = pd.DataFrame(
        {
            "c": values,
            "x": rng.normal(0, 10, n),
            "i": rng.integers(-5, 5, n),
        }
    )
    result = synthesize(
        df,
        columns=["c", "x", "i"],
        domains={"c": domain},
        bounds={"x": (-3.0, 3.0), "i": (0, 3)},
        epsilon=eps,
        delta=1e-9,
        rows=rows,
        seed=seed,
        bins=4,
    )
    out = result.data
    assert len(out) == rows
    assert set(out["c"]) <= set(domain)
    assert out["x"].between(-3.0, 3.0).all()
    assert out["i"].between(0, 3).all()
    assert result.rho_spent <= result.rho
