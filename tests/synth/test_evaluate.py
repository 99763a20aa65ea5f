from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.synth import evaluate
from sdc.synth.evaluate import _cramers_v, distance_summary, nearest_distances


def test_tvd_hand_computed() -> None:
    real = pd.DataFrame({"a": ["x", "x", "y", "y"], "b": ["p", "q", "p", "q"]})
    synth = pd.DataFrame({"a": ["x", "x", "x", "y"], "b": ["p", "p", "q", "q"]})
    ev = evaluate(real, synth, ["a", "b"])
    assert ev.tvd_1way == {"a": 0.25, "b": 0.0}
    assert ev.tvd_1way_mean == 0.125
    # real pairs xp xq yp yq (1/4 each); synth xp xp xq yq -> |1/2-1/4| + |0-1/4| over 2
    assert ev.tvd_2way == {("a", "b"): 0.25}
    assert ev.tvd_2way_mean == 0.25
    assert ev.holdout_to_real is None
    assert ev.correlation_diff == {}
    assert ev.correlation_diff_mean is None


def test_identical_data_scores_perfectly() -> None:
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.choice(list("xyz"), 500), "b": rng.integers(0, 50, 500)})
    ev = evaluate(real, real.copy(), ["a", "b"], bounds={"b": (0, 49)}, bins=5)
    assert ev.tvd_2way_mean == 0.0
    assert ev.pmse < 1e-8
    assert ev.cramers_v_diff_mean == pytest.approx(0.0, abs=1e-12)
    assert ev.synthetic_to_real.exact_match_share == 1.0
    assert ev.synthetic_to_real.mean == 0.0


def test_separable_data_have_a_large_pmse() -> None:
    real = pd.DataFrame({"a": ["x"] * 200})
    synth = pd.DataFrame({"a": ["y"] * 200})
    ev = evaluate(real, synth, ["a"])
    assert ev.tvd_1way["a"] == 1.0
    assert ev.tvd_2way_mean is None
    # perfectly separable with c = 1/2: pMSE -> c (1 - c) = 0.25
    assert ev.pmse > 0.24
    # one free parameter beyond the intercept: null = 1 * (1/2)**2 * (1/2) / 400
    assert ev.pmse_null == pytest.approx(0.125 / 400)
    assert ev.pmse_ratio > 100
    assert ev.synthetic_to_real.exact_match_share == 0.0
    assert ev.synthetic_to_real.mean == 1.0


def test_correlation_of_numeric_pairs() -> None:
    x = np.arange(100.0)
    real = pd.DataFrame({"x": x, "y": 2 * x, "z": np.ones(100)})
    synth = pd.DataFrame({"x": x, "y": -x, "z": np.ones(100)})
    ev = evaluate(real, synth, ["x", "y", "z"], bounds={"x": (0, 99), "y": (-99, 198), "z": (0, 2)})
    assert ev.correlation_diff[("x", "y")] == pytest.approx(2.0)
    # a constant column has correlation 0 by convention
    assert ev.correlation_diff[("x", "z")] == 0.0
    assert ev.correlation_diff_mean == pytest.approx(2.0 / 3.0)


def test_missing_values_are_a_category_of_their_own() -> None:
    real = pd.DataFrame({"a": ["x", None], "n": [1.0, np.nan]})
    synth = pd.DataFrame({"a": ["x", "x"], "n": [1.0, 1.0]})
    ev = evaluate(real, synth, ["a", "n"], bounds={"n": (0, 2)}, bins=2)
    assert ev.tvd_1way == {"a": 0.5, "n": 0.5}


def test_holdout_baseline() -> None:
    real = pd.DataFrame({"a": list("xxyy"), "b": list("pqpq")})
    holdout = pd.DataFrame({"a": ["x", "z"], "b": ["p", "r"]})
    synth = real.copy()
    ev = evaluate(real, synth, ["a", "b"], holdout)
    assert ev.holdout_to_real is not None
    assert ev.holdout_to_real.exact_match_share == 0.5
    assert ev.holdout_to_real.shares == {"0": 0.5, "1": 0.0, "2": 0.5, "more": 0.0}
    assert ev.holdout_to_real.mean == 0.5
    d = ev.to_dict()
    json.dumps(d)
    assert d["holdout_to_real"]["exact_match_share"] == 0.5
    assert d["tvd_2way"] == [{"columns": ["a", "b"], "value": 0.0}]


def test_nearest_distances_hand_computed() -> None:
    reference = np.array([[0, 0, 0], [1, 1, 1]])
    query = np.array([[0, 0, 0], [0, 0, 1], [0, 1, 2], [2, 2, 2]])
    dist, limit = nearest_distances(query, reference)
    assert limit == 3
    assert dist.tolist() == [0, 1, 2, 3]


def test_nearest_distances_agrees_with_brute_force() -> None:
    rng = np.random.default_rng(1)
    reference = rng.integers(0, 3, (300, 6))
    query = rng.integers(0, 3, (200, 6))
    dist, limit = nearest_distances(query, reference)
    brute = (query[:, None, :] != reference[None, :, :]).sum(axis=2).min(axis=1)
    assert limit == 6
    assert dist.tolist() == brute.tolist()


def test_nearest_distances_are_censored_by_the_work_limit() -> None:
    reference = np.zeros((1, 5), dtype=np.int64)
    query = np.ones((2, 5), dtype=np.int64)
    query[0, 0] = 0
    query[0, 1] = 0
    query[0, 2] = 0
    query[0, 3] = 0  # distance 1
    dist, limit = nearest_distances(query, reference, max_subsets=1 + 5 + 10)
    assert limit == 2
    assert dist.tolist() == [1, 3]
    summary = distance_summary(query, reference)
    assert summary.censored_above == 5
    assert summary.median == 3.0


def test_cramers_v() -> None:
    # perfectly associated 2x2 table
    assert _cramers_v(np.array([0, 3, 0, 3]), 2, 2) == pytest.approx(1.0)
    # a constant column gives 0
    assert _cramers_v(np.array([0, 1, 0, 1]), 2, 2) == 0.0


@pytest.mark.parametrize(
    ("real", "synth", "columns", "message"),
    [
        (
            pd.DataFrame({"a": [1]}),
            pd.DataFrame({"b": [1]}),
            ["a"],
            "evaluate: columns ['a'] are not in the synthetic data",
        ),
        (
            pd.DataFrame({"a": []}),
            pd.DataFrame({"a": [1]}),
            ["a"],
            "evaluate: the real data has no records",
        ),
        (pd.DataFrame({"a": [1]}), pd.DataFrame({"a": [1]}), [], "evaluate: no columns to compare"),
    ],
)
def test_errors(real: pd.DataFrame, synth: pd.DataFrame, columns: list[str], message: str) -> None:
    with pytest.raises(DataError, match="^" + re.escape(message) + "$"):
        evaluate(real, synth, columns)


def test_pmse_matches_the_saturated_logistic_fit_by_hand() -> None:
    # One binary column: the fitted propensity of a level is its synthetic share.
    # 'x': 50 real, 80 synthetic -> 80/130; 'y': 50 real, 20 synthetic -> 20/70; c = 1/2.
    real = pd.DataFrame({"a": ["x"] * 50 + ["y"] * 50})
    synth = pd.DataFrame({"a": ["x"] * 80 + ["y"] * 20})
    ev = evaluate(real, synth, ["a"])
    expected = (130 * (80 / 130 - 0.5) ** 2 + 70 * (20 / 70 - 0.5) ** 2) / 200
    assert ev.pmse == pytest.approx(expected, rel=1e-4)
    assert ev.pmse_null == pytest.approx(1 * 0.25 * 0.5 / 200)
