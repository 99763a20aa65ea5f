"""The global risk threshold from distinct risks equals the per-record routine.

Risks are dyadic fractions so that every sum is exact and ties resolve the same way.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.risk.individual import global_risk_threshold
from sdc.risk.scale import weighted_global_threshold


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.0, 0.0625, 0.125, 0.25, 0.5, 1.0]), st.integers(1, 30)),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([0.01, 0.05, 0.1, 0.3, 0.6]),
)
def test_matches_per_record_routine(pairs: list[tuple[float, int]], limit: float) -> None:
    risk = np.array([r for r, _ in pairs])
    count = np.array([c for _, c in pairs])
    expanded = np.repeat(risk, count)
    expected = global_risk_threshold(expanded, limit)
    got = weighted_global_threshold(risk, count, limit)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_empty_is_none() -> None:
    assert weighted_global_threshold(np.array([]), np.array([]), 0.01) is None
