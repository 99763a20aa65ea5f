from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.pram import invariant_matrix, pram
from sdc.errors import DataError, PolicyError


@pytest.fixture
def survey() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame(
        {
            "religion": rng.choice(["a", "b", "c", "d"], p=[0.6, 0.25, 0.1, 0.05], size=2000),
            "region": rng.choice(["north", "south"], size=2000),
            "n": np.arange(2000),
        }
    )


def test_invariant_matrix_hand_computed() -> None:
    # two categories with shares 0.75/0.25, p = 0.8, alpha = 1:
    # P = [[.8, .2], [.2, .8]]; lam = pi P = [.65, .35];
    # Q[0] = [.8*.75/.65, .2*.25/.65], Q[1] = [.2*.75/.35, .8*.25/.35]; R = P Q.
    P = np.array([[0.8, 0.2], [0.2, 0.8]])
    pi = np.array([0.75, 0.25])
    Q = np.array([[0.6 / 0.65, 0.05 / 0.65], [0.15 / 0.35, 0.2 / 0.35]])
    expected = P @ Q
    got = invariant_matrix(np.array([3, 1]), 0.8, alpha=1.0)
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(pi @ got, pi)
    half = invariant_matrix(np.array([3, 1]), 0.8, alpha=0.5)
    np.testing.assert_allclose(half, 0.5 * expected + 0.5 * np.eye(2))
    assert invariant_matrix(np.array([7]), 0.8).tolist() == [[1.0]]


@settings(max_examples=60, deadline=None)
@given(
    counts=st.lists(st.integers(1, 500), min_size=2, max_size=8),
    p=st.floats(0.05, 0.95),
    alpha=st.floats(0.05, 1.0),
)
def test_property_matrix_is_stochastic_and_invariant(
    counts: list[int], p: float, alpha: float
) -> None:
    R = invariant_matrix(np.array(counts), p, alpha)
    pi = np.array(counts) / sum(counts)
    assert (R >= -1e-12).all()
    np.testing.assert_allclose(R.sum(axis=1), 1.0)
    np.testing.assert_allclose(pi @ R, pi, atol=1e-12)


def test_pram_keeps_expected_marginals_over_many_seeds(survey: pd.DataFrame) -> None:
    original = survey["religion"].value_counts().sort_index()
    totals = pd.Series(0.0, index=original.index)
    runs = 200
    for seed in range(runs):
        out, _ = pram(survey, "religion", 0.7, seed=seed)
        totals += out["religion"].value_counts().reindex(original.index, fill_value=0)
    mean = totals / runs
    # the mean over 200 runs is within 1 % of the original counts (sd of a count/sqrt(200))
    np.testing.assert_allclose(mean.to_numpy(), original.to_numpy(), rtol=0.01, atol=2)


def test_pram_record_and_reproducibility(survey: pd.DataFrame) -> None:
    out1, rec = pram(survey, "religion", 0.8, seed=42)
    out2, _ = pram(survey, "religion", 0.8, seed=42)
    pd.testing.assert_frame_equal(out1, out2)
    assert out1["religion"].dtype == survey["religion"].dtype
    pd.testing.assert_series_equal(out1["n"], survey["n"])
    d = json.loads(json.dumps(rec.to_dict()))
    assert "private" not in d and "seed" not in json.dumps(d)
    assert rec.private == {"seed": 42}
    assert d["parameters"] == {"p": 0.8, "alpha": 0.5, "strata": [], "invariant": True}
    assert sorted(d["details"]["categories"]) == ["a", "b", "c", "d"]
    matrix = np.array(d["details"]["matrix"])
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    changed = int((out1["religion"] != survey["religion"]).sum())
    assert rec.changed == {"religion": changed}
    # expected retention = sum pi_i R_ii; observed close to it
    assert abs(d["details"]["observed_retention"] - d["details"]["expected_retention"]) < 0.03
    assert d["details"]["expected_retention"] > 0.8  # alpha = 0.5 halves the perturbation


def test_pram_fresh_seed_is_recorded(survey: pd.DataFrame) -> None:
    out, rec = pram(survey, "religion", 0.5)
    again, _ = pram(survey, "religion", 0.5, seed=rec.private["seed"])
    pd.testing.assert_frame_equal(out, again)


def test_pram_within_strata(survey: pd.DataFrame) -> None:
    out, rec = pram(survey, "religion", 0.6, seed=1, strata=["region"])
    strata = rec.details["strata"]
    assert sorted(s["stratum"] for s in strata) == ["north", "south"]
    for s in strata:
        sub = survey[survey["region"] == s["stratum"]]["religion"].value_counts()
        pi = sub.reindex(s["categories"]).to_numpy() / len(sub)
        np.testing.assert_allclose(pi @ np.array(s["matrix"]), pi, atol=1e-9)
    assert (out["region"] == survey["region"]).all()


def test_pram_missing_values_and_single_category() -> None:
    df = pd.DataFrame({"c": ["x", None, "y", "", "x", "y"], "one": [1, 1, 1, 1, 1, 1]})
    out, rec = pram(df, "c", 0.5, seed=3)
    assert out["c"].isna().tolist()[1] and out["c"][3] == ""
    assert set(out["c"].dropna()) <= {"x", "y", ""}
    out, rec = pram(df, "one", 0.5, seed=3)
    assert out["one"].tolist() == [1] * 6 and rec.changed == {"one": 0}
    assert rec.details["matrix"] == ((1.0,),)


def test_pram_integer_codes_keep_their_type() -> None:
    df = pd.DataFrame({"code": [1, 2, 3, 1, 2, 3] * 50})
    out, rec = pram(df, "code", 0.5, alpha=1.0, seed=9)
    assert out["code"].dtype == df["code"].dtype
    assert set(out["code"]) <= {1, 2, 3}
    assert rec.changed["code"] > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"p": 1.0},
            PolicyError,
            r"^pram\.p \(the retention probability\) must be in \(0, 1\), got 1\.0$",
        ),
        (
            {"p": 0.5, "alpha": 0},
            PolicyError,
            r"^pram\.alpha \(amount of perturbation\) must be in \(0, 1\]",
        ),
        (
            {"p": 0.5, "seed": -1},
            PolicyError,
            r"^the PRAM seed must be a whole number >= 0, got -1$",
        ),
        ({"p": 0.5, "strata": ["zz"]}, DataError, r"^column\(s\) 'zz' are not in the data"),
    ],
)
def test_bad_parameters(survey: pd.DataFrame, kwargs: dict, error: type, message: str) -> None:
    p = kwargs.pop("p")
    with pytest.raises(error, match=message):
        pram(survey, "religion", p, **kwargs)


def test_invariant_matrix_rejects_bad_shares() -> None:
    with pytest.raises(ValueError, match="shares"):
        invariant_matrix(np.array([1, 0]), 0.5)
