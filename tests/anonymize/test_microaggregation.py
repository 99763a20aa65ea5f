from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sdc.anonymize.microaggregation import mdav_groups, microaggregate
from sdc.errors import DataError, PolicyError


def test_mdav_hand_example() -> None:
    # two well separated clusters of three points on a line, k = 3
    x = np.array([[0.0], [1.0], [2.0], [100.0], [101.0], [102.0]])
    g = mdav_groups(x, 3)
    assert len(set(g[:3])) == 1 and len(set(g[3:])) == 1 and g[0] != g[3]


def test_mdav_last_groups() -> None:
    x = np.arange(10, dtype=float)[:, None]
    assert sorted(np.bincount(mdav_groups(x, 3))) == [3, 3, 4]
    assert np.bincount(mdav_groups(x[:5], 3)).tolist() == [5]  # fewer than 2k: one group
    assert sorted(np.bincount(mdav_groups(x[:7], 3))) == [3, 4]  # 2k..3k-1: two groups
    same = np.ones((10, 2))
    assert sorted(np.bincount(mdav_groups(same, 3))) == [3, 3, 4]


@settings(max_examples=60, deadline=None)
@given(
    x=arrays(
        np.float64,
        st.tuples(st.integers(2, 80), st.integers(1, 3)),
        elements=st.floats(-1e6, 1e6, allow_nan=False),
    ),
    k=st.integers(2, 6),
)
def test_property_group_sizes_and_means(x: np.ndarray, k: int) -> None:
    df = pd.DataFrame(x, columns=[f"c{j}" for j in range(x.shape[1])])
    if len(df) < k:
        with pytest.raises(DataError):
            microaggregate(df, list(df.columns), k)
        return
    out, rec = microaggregate(df, list(df.columns), k)
    sizes = out.groupby(list(out.columns)).size()
    # every published vector is shared by at least k records (groups may coincide)
    assert sizes.min() >= k
    g = mdav_groups((x - x.mean(0)) / np.where(x.std(0) > 0, x.std(0), 1), k)
    counts = np.bincount(g)
    assert counts.min() >= k and counts.max() <= max(2 * k - 1, k)
    assert rec.details["smallest_group"] >= k
    assert rec.details["largest_group"] <= 2 * k - 1 or len(df) < 2 * k
    np.testing.assert_allclose(out.mean().to_numpy(), df.mean().to_numpy(), rtol=1e-9, atol=1e-6)


def test_microaggregate_record_and_types() -> None:
    df = pd.DataFrame(
        {"inc": [10, 11, 12, 50, 52, 54], "age": [20, 21, 22, 60, 61, 62], "id": range(6)}
    )
    out, rec = microaggregate(df, ["inc", "age"], 3)
    assert out["inc"].tolist() == [11.0, 11.0, 11.0, 52.0, 52.0, 52.0]
    assert out["age"].tolist() == [21.0, 21.0, 21.0, 61.0, 61.0, 61.0]
    assert out["id"].tolist() == list(range(6))
    d = json.loads(json.dumps(rec.to_dict()))
    assert d == {
        "name": "microaggregation",
        "columns": ["inc", "age"],
        "parameters": {
            "k": 3,
            "method": "mdav",
            "standardised": True,
            "strata": [],
            "weights": None,
        },
        "changed": {"inc": 4, "age": 4},
        "details": {"groups": 2, "smallest_group": 3, "largest_group": 3, "suppressed": 0},
    }


def test_microaggregate_missing_patterns() -> None:
    df = pd.DataFrame(
        {
            "a": [1.0, 2, 3, 4, 5, 6, np.nan, np.nan, np.nan, 7, np.nan],
            "b": [1.0, 2, 3, 4, 5, 6, 10, 11, 12, np.nan, np.nan],
        }
    )
    out, rec = microaggregate(df, ["a", "b"], 3)
    # rows 6-8 (a missing) form their own group on b; row 9 (b missing) is alone: suppressed
    assert out["b"][6:9].tolist() == [11.0, 11.0, 11.0]
    assert out["a"][6:9].isna().all()
    assert pd.isna(out["a"][9]) and pd.isna(out["b"][9])
    assert rec.details["suppressed"] == 1
    assert out.iloc[10].isna().all()


@pytest.mark.parametrize(
    ("k", "columns", "error", "message"),
    [
        (1, ["a"], PolicyError, r"^microaggregation\.k must be a whole number >= 2, got 1$"),
        (3, [], PolicyError, r"^microaggregation needs at least one numeric column$"),
        (3, ["zz"], DataError, r"^column\(s\) 'zz' are not in the data"),
        (3, ["s"], DataError, r"^microaggregation needs numeric columns but 's' holds"),
        (9, ["a"], DataError, r"^microaggregation with k=9 needs at least 9 records with values"),
    ],
)
def test_bad_parameters(k: int, columns: list[str], error: type, message: str) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "s": ["x", "y", "z"]})
    with pytest.raises(error, match=message):
        microaggregate(df, columns, k)


@pytest.mark.slow
def test_mdav_30000_rows_is_fast() -> None:
    import time

    x = np.random.default_rng(0).normal(size=(30_000, 3))
    start = time.perf_counter()
    g = mdav_groups(x, 3)
    assert time.perf_counter() - start < 10
    assert np.bincount(g).min() == 3
