from __future__ import annotations

from math import exp, log, sqrt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.risk.diversity import group_counts, is_ordered, l_diversity, t_closeness, top_share


def test_l_diversity_by_hand() -> None:
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3])
    values = pd.Series(["a", "a", "b", None, "x", "y", "z", None, "a", "a", "a", "a", "a", "b"])
    gc = group_counts(groups, values)
    distinct, entropy, recursive = l_diversity(gc, c=2.0)
    # group 0: a, a, b and a missing value (counted as one more value): 3 distinct
    assert distinct.tolist() == [3, 3, 0, 2]
    assert entropy[0] == pytest.approx(2 * sqrt(2))  # exp(-(.5 ln .5 + 2 * .25 ln .25))
    assert entropy[1] == pytest.approx(3.0)
    assert entropy[2] == 1.0  # only missing values: exp(0), as sdcMicro
    assert entropy[3] == pytest.approx(exp(-(5 / 6 * log(5 / 6) + 1 / 6 * log(1 / 6))))
    # recursive (2, l): group 0 counts (2, 1): 2 < 2 * 1 fails -> 1; group 1 (1, 1, 1) -> 3;
    # group 3 (5, 1) -> 1; group 2 has no value -> 0
    assert recursive.tolist() == [1, 3, 0, 1]
    _, _, loose = l_diversity(gc, c=3.0)
    assert loose.tolist() == [2, 3, 0, 1]  # 2 < 3 * 1 holds for group 0
    np.testing.assert_allclose(top_share(gc), [2 / 3, 1 / 3, np.nan, 5 / 6])


def test_t_closeness_ordered_salary_example() -> None:
    # Li, Li & Venkatasubramanian (2007), section 4: salaries 3k..11k, one record each;
    # the group {3k, 4k, 5k} is at distance 0.375 and {6k, 8k, 11k} at 0.167 from the table
    values = pd.Series([3, 4, 5, 6, 8, 11, 7, 9, 10])
    groups = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
    gc = group_counts(groups, values)
    assert gc.ordered
    emd = t_closeness(gc)
    assert emd[0] == pytest.approx(0.375)
    assert emd[1] == pytest.approx(1 / 6)
    # {7k, 9k, 10k} by hand: |P(i) - Q(i)| = (1, 2, 3, 4, 2, 3, 1, 1) / 9, summed over 8
    assert emd[2] == pytest.approx(17 / 72)


def test_t_closeness_ordered_by_brute_force_with_repeats() -> None:
    rng = np.random.default_rng(5)
    values = pd.Series(rng.integers(0, 6, 200).astype(float))
    values[rng.random(200) < 0.1] = np.nan
    groups = rng.integers(0, 15, 200)
    gc = group_counts(groups, values)
    emd = t_closeness(gc)
    levels = np.sort(values.dropna().unique())
    q = np.array([(values == v).sum() for v in levels], dtype=float)
    q /= q.sum()
    for g in range(15):
        vals = values[groups == g].dropna()
        if len(vals) == 0:
            assert np.isnan(emd[g])
            continue
        p = np.array([(vals == v).sum() for v in levels], dtype=float) / len(vals)
        expected = np.abs(np.cumsum(p - q))[:-1].sum() / (len(levels) - 1)
        assert emd[g] == pytest.approx(expected, abs=1e-12)


def test_t_closeness_categorical_equal_distance() -> None:
    values = pd.Series(["a", "a", "b", "b", "c", "a"])
    groups = np.array([0, 0, 1, 1, 1, 2])
    gc = group_counts(groups, values)
    assert not gc.ordered
    q = {"a": 0.5, "b": 2 / 6, "c": 1 / 6}
    emd = t_closeness(gc)
    assert emd[0] == pytest.approx(0.5 * (0.5 + q["b"] + q["c"]))
    assert emd[1] == pytest.approx(0.5 * (q["a"] + abs(2 / 3 - q["b"]) + abs(1 / 3 - q["c"])))
    assert emd[2] == pytest.approx(emd[0])


def test_single_value_and_all_missing() -> None:
    gc = group_counts(np.array([0, 0, 1]), pd.Series([2.0, 2.0, np.nan]))
    emd = t_closeness(gc)
    assert emd[0] == 0.0 and np.isnan(emd[1])
    gc = group_counts(np.array([0, 1]), pd.Series([np.nan, np.nan]))
    assert np.isnan(t_closeness(gc)).all()


def test_is_ordered() -> None:
    assert is_ordered(pd.Series([1.5, 2.0]))
    assert not is_ordered(pd.Series([True, False]))
    assert not is_ordered(pd.Series(["a", "b"]))


@given(
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", "c", "d", None])), min_size=1)
)
@settings(max_examples=100, deadline=None)
def test_measures_stay_in_range(rows: list[tuple[int, str | None]]) -> None:
    groups = pd.factorize(pd.Series([g for g, _ in rows]))[0]
    values = pd.Series([v for _, v in rows], dtype=object)
    gc = group_counts(groups, values)
    distinct, entropy, recursive = l_diversity(gc)
    assert (gc.size >= 1).all() and gc.size.sum() == len(rows)
    assert (recursive <= np.maximum(distinct, 0)).all()
    assert (entropy <= distinct + 1e-9)[distinct > 0].all()
    assert ((entropy >= 1 - 1e-12) | (distinct == 0)).all()
    emd = t_closeness(gc)
    ok = ~np.isnan(emd)
    assert ((emd[ok] >= 0) & (emd[ok] <= 1)).all()
