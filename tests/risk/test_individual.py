from __future__ import annotations

from math import log
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.risk.frequencies import encode_keys, key_frequencies
from sdc.risk.individual import high_risk_count, household_risk, individual_risk

DATA = Path(__file__).parent.parent / "data"


def test_closed_forms_by_hand() -> None:
    fk = np.array([1, 2, 3, 5])
    Fk = np.array([17.0, 110.0, 30.0, 50.0])
    r = individual_risk(fk, Fk)
    p1, p2, p3 = 1 / 17, 2 / 110, 3 / 30
    assert r[0] == pytest.approx(p1 / (1 - p1) * log(1 / p1), rel=1e-14)  # = log(17)/16
    assert r[0] == pytest.approx(log(17) / 16, rel=1e-14)
    assert r[1] == pytest.approx(p2 / (1 - p2) - (p2 / (1 - p2)) ** 2 * log(1 / p2), rel=1e-14)
    assert r[2] == pytest.approx(p3 / (3 - (1 - p3)), rel=1e-14)  # 0.1 / 2.1
    assert r[3] == pytest.approx(0.1 / 4.1, rel=1e-14)


def test_census_keys_get_one_over_fk() -> None:
    # F_k == f_k (every weight 1): sdcMicro sets r = 1/f_k instead of the formulas
    r = individual_risk(np.array([1, 2, 4]), np.array([1.0, 2.0, 4.0]))
    assert r.tolist() == [1.0, 0.5, 0.25]


def test_unweighted_risk_is_one_over_fk() -> None:
    assert individual_risk(np.array([1, 2, 8])).tolist() == [1.0, 0.5, 0.125]


def test_francdat_individual_risk() -> None:
    # sdcMicro: indivRisk(freqCalc(francdat, keyVars = c(2, 4, 5, 6), w = 8))$rk,
    # worked out by hand from f_k = (2, 2, 2, 1, 1, 1, 1, 2) and
    # F_k = (110, 84.5, 84.5, 17, 541, 8, 5, 110)
    df = pd.read_csv(DATA / "francdat.csv")
    f = key_frequencies(encode_keys(df, ["Key1", "Key2", "Key3", "Key4"], "wildcard"), df["w"])
    r = individual_risk(f.fk, f.Fk)

    def two(F: float) -> float:
        o = 2 / (F - 2)
        return o - o**2 * log(F / 2)

    expected = [
        two(110),
        two(84.5),
        two(84.5),
        log(17) / 16,
        log(541) / 540,
        log(8) / 7,
        log(5) / 4,
        two(110),
    ]
    np.testing.assert_allclose(r, expected, rtol=1e-13)
    np.testing.assert_allclose(
        r,
        [0.017144, 0.022042, 0.022042, 0.177076, 0.011654, 0.297063, 0.402359, 0.017144],
        atol=5e-7,
    )
    assert r.sum() == pytest.approx(0.966526, abs=1e-6)


def test_household_risk_by_hand() -> None:
    r = np.array([0.5, 0.2, 0.5, 0.1])
    hh = pd.Series(["a", "b", "a", None])
    out = household_risk(r, hh)
    np.testing.assert_allclose(out, [0.75, 0.2, 0.75, 0.1])
    assert household_risk(np.zeros(0), pd.Series([], dtype=object)).tolist() == []


def test_high_risk_count_median_plus_three_mad() -> None:
    r = np.array([0.01] * 20 + [0.05, 0.5, 0.9])
    # median 0.01, MAD 0: the three records above 0.01 count only when also above 0.1
    assert high_risk_count(r) == 2
    assert high_risk_count(np.zeros(0)) == 0


@given(st.lists(st.tuples(st.integers(1, 6), st.floats(1.0, 500.0)), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_risk_is_a_probability_with_weights_at_least_one(pairs: list[tuple[int, float]]) -> None:
    fk = np.array([f for f, _ in pairs])
    Fk = np.array([f * w for f, w in pairs])  # every weight >= 1
    r = individual_risk(fk, Fk)
    assert np.all(r >= 0)
    assert np.all(r <= 1 / fk + 1e-6)


def test_weights_within_rounding_of_one_are_a_census() -> None:
    r = individual_risk(np.array([2, 1]), np.array([2.0000000000000004, 1.0 + 1e-12]))
    assert r.tolist() == [0.5, 1.0]
