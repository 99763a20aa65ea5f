"""sdcMicro's dUtility measures: IL1s and the eigenvalue measure, by hand and by property."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.utility import (
    eigen_change,
    il1s,
    interval_disclosure,
    relinked_share,
    utility_summary,
)


def test_il1s_by_hand() -> None:
    before = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [10.0, 10, 20, 20]})
    after = pd.DataFrame({"a": [1.0, 2, 3, 5], "b": [10.0, 12, 20, 20]})
    sd_a, sd_b = np.std([1, 2, 3, 4], ddof=1), np.std([10, 10, 20, 20], ddof=1)
    want = (1 / sd_a + 2 / sd_b) * math.sqrt(2) / (2 * 4)
    assert il1s(before, after, ["a", "b"]) == pytest.approx(want, rel=1e-12)


def test_eigen_by_hand_for_two_columns() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    before = pd.DataFrame({"a": x[:, 0], "b": x[:, 0] * 0.6 + x[:, 1]})
    after = pd.DataFrame({"a": x[:, 0], "b": x[:, 1]})
    r, s = before.corr().iloc[0, 1], after.corr().iloc[0, 1]
    # a 2 x 2 correlation matrix has eigenvalues 1 + |r| and 1 - |r|
    e1, e2 = np.array([1 + abs(r), 1 - abs(r)]), np.array([1 + abs(s), 1 - abs(s)])
    want = float(np.sum(np.abs(e1 - e2) / e1))
    assert eigen_change(before, after, ["a", "b"]) == pytest.approx(want, rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    scale=st.floats(0.1, 100),
    shift=st.floats(-1000, 1000),
)
def test_unchanged_data_lose_nothing_and_rescaling_keeps_the_structure(
    seed: int, scale: float, shift: float
) -> None:
    rng = np.random.default_rng(seed)
    before = pd.DataFrame(rng.normal(size=(50, 3)), columns=list("abc"))
    assert il1s(before, before, list("abc")) == 0
    assert eigen_change(before, before, list("abc")) == pytest.approx(0, abs=1e-9)
    rescaled = before * scale + shift
    assert eigen_change(before, rescaled, list("abc")) == pytest.approx(0, abs=1e-7)


def test_in_the_utility_summary() -> None:
    before = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [10.0, 10, 20, 20], "q": list("xxyy")})
    after = before.assign(a=[1.0, 2, 3, 5])
    summary = utility_summary(before, after, ["q"], ["a", "b"])
    assert summary["il1s"] == pytest.approx(il1s(before, after, ["a", "b"]))
    assert summary["eigen"] == pytest.approx(eigen_change(before, after, ["a", "b"]))
    assert utility_summary(before, after, ["q"], [])["il1s"] is None


def test_interval_disclosure_by_hand() -> None:
    # released sds: a 1.257 (half-width 0.063), b 5.0 (half-width 0.25)
    before = pd.DataFrame({"a": [1.0, 2.0, 3.0, 9.0], "b": [10.0, 10.0, 30.0, 50.0]})
    after = pd.DataFrame({"a": [1.0, 2.5, 3.05, 4.0], "b": [10.0, 20.0, 20.0, 20.0]})
    # record 0: inside both; 1: outside both; 2: a inside, b outside; 3: outside both
    assert interval_disclosure(before, after, ["a", "b"]) == pytest.approx(2 / 4)


def test_record_linkage_share() -> None:
    rng = np.random.default_rng(3)
    before = pd.DataFrame(rng.normal(size=(500, 3)), columns=list("abc"))
    assert relinked_share(before, before, list("abc")) == 1.0
    light = before + rng.normal(0, 0.01, size=(500, 3))
    heavy = before + rng.normal(0, 3, size=(500, 3))
    assert relinked_share(before, light, list("abc")) > 0.95
    assert relinked_share(before, heavy, list("abc")) < 0.1
    # a record whose released values match another original record exactly is not re-linked
    swapped = before.copy()
    swapped.iloc[[0, 1]] = before.iloc[[1, 0]].to_numpy()
    assert relinked_share(before, swapped, list("abc")) == pytest.approx(498 / 500)
