from __future__ import annotations

from decimal import Decimal, localcontext
from math import log
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.errors import DataError, PolicyError
from sdc.risk.frequencies import encode_keys, key_frequencies
from sdc.risk.individual import (
    global_risk_threshold,
    high_risk_count,
    household_risk,
    individual_risk,
)

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


def _threshold_loop(risk: list[float], max_global_risk: float) -> float | None:
    """sdcMicro's measure_threshold + measure_riskWORK, record by record (test reference)."""
    r = sorted(risk, reverse=True)
    n = len(r)
    target = max_global_risk * n
    total = 0.0
    for x in r:
        total += x
    unsafe = r[0] if r else 0.0
    threshold = 0.0
    if total < target:
        threshold = unsafe
    else:
        remaining, above = total, 0
        for x in r:
            if x != unsafe:
                if remaining + x * above < target:
                    threshold = x
                    break
                unsafe = x
            above += 1
            remaining -= x
    return None if unsafe == threshold else threshold


def test_global_threshold_by_hand() -> None:
    # sorted: 1, .5, .25, .125, .125, 0, 0, 0; S = 2, ER = 0.125 * 8 = 1
    # drop to .5:   (2 - 1) + 1 * .5 = 1.5     not < 1
    # drop to .25:  (1 - .5) + 2 * .25 = 1.0   not < 1 (strict)
    # drop to .125: (.5 - .25) + 3 * .125 = .625 < 1  -> threshold .125
    risk = np.array([0.125, 0, 1, 0.125, 0, 0.25, 0.5, 0])
    assert global_risk_threshold(risk, 0.125) == 0.125
    # ER = 1.5 + 1e-9 * 8: the drop to .5 gives 1.5 < ER -> threshold .5
    assert global_risk_threshold(risk, 0.1875 + 1e-9) == 0.5


def test_global_threshold_can_be_zero() -> None:
    # the drop to risk 0 is the first below ER = 0.02: capping at 0 -> threshold 0.0
    assert global_risk_threshold(np.array([0.0, 1.0])) == 0.0
    # no drop gets below ER = 0.02 (1 + 0.5 * 1 = 1.5): sdcMicro returns 0.0, not NA
    assert global_risk_threshold(np.array([1.0, 0.5])) == 0.0
    # every risk equal and S = ER exactly (not below): no drop at all -> 0.0
    assert global_risk_threshold(np.full(4, 0.25), 0.25) == 0.0
    # all sample uniques without weights
    assert global_risk_threshold(np.ones(10)) == 0.0


def test_global_threshold_na_cases() -> None:
    # no records
    assert global_risk_threshold(np.zeros(0)) is None
    # already below the limit: S = 0.02 < ER = 0.04
    assert global_risk_threshold(np.full(4, 0.005)) is None
    assert global_risk_threshold(np.zeros(3)) is None
    # the last drop is to 0 but the running sum left over by rounding is not below ER:
    # S = .9 + .8 = 1.7000000000000002, S - .9 - .8 = 1.1e-16 >= ER = 3e-17 -> threshold 0
    # equals the last risk seen (0) -> NA; with ER = 3e-15 the same drop is below -> 0.0
    risk = np.array([0.8, 0.0, 0.9])
    assert global_risk_threshold(risk, 1e-17) is None
    assert global_risk_threshold(risk, 1e-15) == 0.0


def test_global_threshold_francdat() -> None:
    # francdat risks (see test_francdat_individual_risk), S = 0.966526, n = 8
    df = pd.read_csv(DATA / "francdat.csv")
    f = key_frequencies(encode_keys(df, ["Key1", "Key2", "Key3", "Key4"], "wildcard"), df["w"])
    r = individual_risk(f.fk, f.Fk)
    # ER = 0.8: drop to .297063 -> .564167 + .297063 = .86123; to .177076 -> .267104 +
    # 2 * .177076 = .621256 < .8 -> log(17)/16
    assert global_risk_threshold(r, 0.1) == pytest.approx(log(17) / 16, rel=1e-14)
    # ER = 0.4: the drop to .022042 gives .090028 + 3 * .022042 = .156154 < .4
    assert global_risk_threshold(r, 0.05) == pytest.approx(0.022042, abs=5e-7)
    # ER = 0.08: the last drop (to .011654) still gives .093232 -> 0.0
    assert global_risk_threshold(r) == 0.0
    # ER = 1.2 > S: already safe
    assert global_risk_threshold(r, 0.15) is None


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5])
def test_global_threshold_rejects_limit_outside_open_unit_interval(bad: float) -> None:
    with pytest.raises(PolicyError, match="max_global_risk"):
        global_risk_threshold(np.array([0.5]), bad)


def test_global_threshold_rejects_nan() -> None:
    with pytest.raises(DataError, match="NaN"):
        global_risk_threshold(np.array([0.5, np.nan]))


@given(
    st.lists(st.sampled_from([0.0, 0.01, 0.02, 0.1, 0.25, 1 / 3, 0.5, 1.0]), max_size=40)
    | st.lists(st.floats(0.0, 1.0), max_size=40),
    st.floats(1e-4, 0.9),
)
@settings(max_examples=300, deadline=None)
def test_global_threshold_matches_record_by_record(risk: list[float], limit: float) -> None:
    got = global_risk_threshold(np.array(risk, dtype=np.float64), limit)
    assert got == _threshold_loop(risk, limit)
    if got is not None and got > 0:
        # capping every record above the threshold at it brings the global risk below limit
        assert np.minimum(risk, got).mean() < limit + 1e-12
        # and the threshold is a record's risk
        assert got in risk


# -- a risk is a probability, even for keys whose weights are barely above 1 ---------------------

# How far F_k is above f_k, relative: from "barely" (a weight of 1.0000001, where the textbook
# f_k = 2 formula cancels catastrophically) to a sample of one in a thousand.
excess = st.one_of(
    st.floats(0.0, 1e-6),
    st.floats(1e-6, 1e-2),
    st.floats(1e-2, 1e3),
    st.integers(-12, 3).map(lambda e: 10.0**e),
)


@given(st.lists(st.tuples(st.integers(1, 60), excess), min_size=1, max_size=40))
@settings(max_examples=400, deadline=None)
def test_no_individual_risk_exceeds_one(pairs: list[tuple[int, float]]) -> None:
    fk = np.array([f for f, _ in pairs], dtype=np.int64)
    Fk = np.array([f * (1.0 + e) for f, e in pairs])  # F_k >= f_k: every weight >= 1
    r = individual_risk(fk, Fk)
    assert np.isfinite(r).all()
    assert (r > 0).all()
    assert (r <= 1.0).all()
    assert (r <= 1.0 / fk).all()  # never above the risk of the same key in a census


def _two_exact(F: Decimal) -> Decimal:
    """The f_k = 2 risk to 60 digits: odds - odds**2 * log(1/p), p = 2/F."""
    with localcontext() as ctx:
        ctx.prec = 60
        p = Decimal(2) / F
        odds = p / (1 - p)
        return odds - odds**2 * (1 / p).ln()


@pytest.mark.parametrize("q", [1e-9 * 1.5, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 9.99e-4, 1e-3, 0.01, 0.5])
def test_two_record_keys_are_exact_near_a_census(q: float) -> None:
    # the textbook form gives 1.5 at F_k = 2 * (1 + 2e-9) and 0.5008 at 1e-7
    F = 2.0 * (1.0 + q)
    r = individual_risk(np.array([2]), np.array([F]))[0]
    assert float(_two_exact(Decimal(F))) == pytest.approx(r, rel=1e-12)
    assert r < 0.5


def test_weights_summing_below_the_records_are_refused() -> None:
    # normalised weights (mean 1, some below 1): the formulas would give 110.9% for f_k = 1
    with pytest.raises(
        DataError,
        match=r"^the sampling weights of some keys sum to less than their number of records "
        r"\(F_k < f_k\); sampling weights are expansion weights \(each record stands for "
        r"w >= 1 people\): give the weights as collected, not normalised$",
    ):
        individual_risk(np.array([1, 2]), np.array([0.8, 40.0]))
    # within rounding of f_k is a census key, not a refusal
    assert individual_risk(np.array([2]), np.array([2.0 * (1 - 1e-12)])).tolist() == [0.5]
