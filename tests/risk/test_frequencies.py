from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.risk.frequencies import combine_codes, encode_keys, key_frequencies

DATA = Path(__file__).parent.parent / "data"
KEYS = ["Key1", "Key2", "Key3", "Key4"]


def reference(codes: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """O(n^2) sdcMicro freqCalc: wildcard matching, all-missing keys not counted by complete
    keys (unless there is a single key variable)."""
    n, m = codes.shape
    fk = np.zeros(n)
    Fk = np.zeros(n)
    for i in range(n):
        for j in range(n):
            if m > 1 and (codes[i] >= 0).all() and (codes[j] < 0).all():
                continue
            ok = all(
                codes[i, v] < 0 or codes[j, v] < 0 or codes[i, v] == codes[j, v] for v in range(m)
            )
            if ok:
                fk[i] += 1
                Fk[i] += w[j]
    return fk, Fk


@pytest.fixture
def francdat() -> pd.DataFrame:
    return pd.read_csv(DATA / "francdat.csv")


def test_francdat_frequencies(francdat: pd.DataFrame) -> None:
    # sdcMicro: freqCalc(francdat, keyVars = c(2, 4, 5, 6), w = 8)
    codes = encode_keys(francdat, KEYS, "wildcard")
    f = key_frequencies(codes, francdat["w"].to_numpy())
    assert f.fk.tolist() == [2, 2, 2, 1, 1, 1, 1, 2]
    assert f.Fk.tolist() == [110.0, 84.5, 84.5, 17.0, 541.0, 8.0, 5.0, 110.0]


def test_francdat_with_missing_values(francdat: pd.DataFrame) -> None:
    # freqCalc's own example: x[3,5] <- NA; x[4,2] <- x[4,4] <- NA; x[5,6] <- NA; x[6,2] <- NA
    x = francdat.astype({k: "float64" for k in KEYS})
    x.loc[2, "Key3"] = np.nan
    x.loc[3, ["Key1", "Key2"]] = np.nan  # two missing values in one record
    x.loc[4, "Key4"] = np.nan
    x.loc[5, "Key1"] = np.nan
    f = key_frequencies(encode_keys(x, KEYS, "wildcard"), x["w"].to_numpy())
    # worked out by hand: e.g. record 4 (NA, NA, 1, 5) matches records 4, 5 (4, 3, 1, NA)
    # and 7 (6, 2, 1, 5)
    assert f.fk.tolist() == [3, 2, 4, 3, 3, 2, 2, 3]
    assert f.Fk.tolist() == [149.0, 84.5, 194.5, 563.0, 566.0, 549.0, 22.0, 149.0]


def test_category_rule_counts_missing_as_a_value(francdat: pd.DataFrame) -> None:
    x = francdat.astype({k: "float64" for k in KEYS})
    x.loc[[0, 7], "Key3"] = np.nan
    x.loc[2, "Key3"] = np.nan
    f = key_frequencies(encode_keys(x, KEYS, "category"), None, "category")
    # records 0, 2 and 7 become (1, 2, NA, 1); record 1 keeps (1, 2, 1, 1) to itself
    assert f.fk.tolist() == [3, 1, 3, 1, 1, 1, 1, 3]
    assert f.Fk.tolist() == f.fk.tolist()


def test_all_missing_key_as_sdcmicro() -> None:
    codes = np.array([[0, 0], [0, 0], [-1, -1], [0, -1], [1, 1]])
    f = key_frequencies(codes)
    # the all-missing record matches everyone; complete records do not count it (sdcMicro),
    # the partly missing record does
    assert f.fk.tolist() == [3, 3, 5, 4, 1]


def test_single_key_variable_counts_missing_everywhere() -> None:
    codes = np.array([[0], [0], [-1], [1]])
    f = key_frequencies(codes, np.array([1.0, 2.0, 3.0, 4.0]))
    assert f.fk.tolist() == [3, 3, 4, 2]
    assert f.Fk.tolist() == [6.0, 6.0, 10.0, 7.0]


def test_encode_keys_treats_empty_strings_as_missing() -> None:
    df = pd.DataFrame({"a": ["x", "", None, "x"], "b": [1.0, 2.0, np.nan, 1.0]})
    wild = encode_keys(df, ["a", "b"], "wildcard")
    assert wild[:, 0].tolist() == [0, -1, -1, 0]
    assert wild[:, 1].tolist() == [0, 1, -1, 0]
    cat = encode_keys(df, ["a", "b"], "category")
    assert (cat >= 0).all()


def test_combine_codes_wide_keys_do_not_overflow() -> None:
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 2**20, size=(500, 6))
    codes[250:] = codes[:250]
    key = combine_codes(codes)
    assert key.max() == 249
    assert (key[:250] == key[250:]).all()
    assert combine_codes(np.zeros((3, 0), dtype=np.int64)).tolist() == [0, 0, 0]


def test_wide_codes_take_the_fallback_path() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 2**16, size=(60, 5))
    codes[30:] = codes[:30]
    codes[::7, 1] = -1
    w = rng.uniform(1, 5, 60)
    f = key_frequencies(codes, w)
    fk, Fk = reference(codes, w)
    assert f.fk.tolist() == fk.tolist()
    np.testing.assert_allclose(f.Fk, Fk)


@st.composite
def code_matrices(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 25))
    m = draw(st.integers(1, 4))
    cells = draw(st.lists(st.integers(-1, 2), min_size=n * m, max_size=n * m))
    weights = draw(st.lists(st.floats(0.5, 100), min_size=n, max_size=n))
    return np.array(cells, dtype=np.int64).reshape(n, m), np.array(weights)


@given(code_matrices())
@settings(max_examples=150, deadline=None)
def test_wildcard_matches_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    codes, w = data
    f = key_frequencies(codes, w)
    fk, Fk = reference(codes, w)
    assert f.fk.tolist() == fk.astype(int).tolist()
    np.testing.assert_allclose(f.Fk, Fk, rtol=1e-12)
    assert (f.fk >= 1).all()


@given(code_matrices())
@settings(max_examples=100, deadline=None)
def test_category_rule_is_exact_grouping(data: tuple[np.ndarray, np.ndarray]) -> None:
    codes, w = data
    f = key_frequencies(codes, w, "category")
    keys = [tuple(r) for r in codes.tolist()]
    assert f.fk.tolist() == [keys.count(k) for k in keys]
    assert f.fk.sum() == sum(keys.count(k) for k in keys)
    # sum consistency: over the distinct keys, the sample sizes add up to n, weights to sum(w)
    first = {k: i for i, k in reversed(list(enumerate(keys)))}
    assert sum(f.fk[i] for i in first.values()) == len(keys)
    assert np.isclose(sum(f.Fk[i] for i in first.values()), w.sum())


@given(code_matrices(), st.data())
@settings(max_examples=100, deadline=None)
def test_suppressing_a_value_never_lowers_the_records_frequency(
    data: tuple[np.ndarray, np.ndarray], draw: st.DataObject
) -> None:
    codes, w = data
    n, m = codes.shape
    i = draw.draw(st.integers(0, n - 1))
    v = draw.draw(st.integers(0, m - 1))
    before = key_frequencies(codes, w)
    suppressed = codes.copy()
    suppressed[i, v] = -1
    after = key_frequencies(suppressed, w)
    assert after.fk[i] >= before.fk[i]
    assert after.Fk[i] >= before.Fk[i] - 1e-9
    assert 1 / after.fk[i] <= 1 / before.fk[i]


def _generic(codes: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The generic (wide-key) path per record: distinct rows first, as its callers do."""
    from sdc.risk.frequencies import _wildcard_generic

    rows, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    count = np.bincount(inverse).astype(float)
    weight = np.bincount(inverse, weights=w)
    f, F = _wildcard_generic(rows, count, weight)
    return np.rint(f[inverse]).astype(np.int64), F[inverse]


def test_large_input_hash_path_agrees_with_generic_path() -> None:
    from sdc.risk.frequencies import _wildcard_frequencies

    rng = np.random.default_rng(11)
    codes = rng.integers(0, 6, size=(30_000, 4))
    codes[rng.random(codes.shape) < 0.1] = -1
    codes[:3] = -1  # a few records missing entirely
    w = rng.uniform(1, 50, 30_000)
    fast = _wildcard_frequencies(codes, w)
    slow_fk, slow_Fk = _generic(codes, w)
    assert fast.fk.tolist() == slow_fk.tolist()
    np.testing.assert_allclose(fast.Fk, slow_Fk, rtol=1e-12)
    assert fast.fk[0] == 30_000


@given(code_matrices())
@settings(max_examples=60, deadline=None)
def test_generic_path_matches_brute_force(data: tuple[np.ndarray, np.ndarray]) -> None:
    codes, w = data
    if not (codes < 0).any():
        return
    got_fk, got_Fk = _generic(codes, w)
    fk, Fk = reference(codes, w)
    assert got_fk.tolist() == fk.astype(int).tolist()
    np.testing.assert_allclose(got_Fk, Fk, rtol=1e-12)


@given(code_matrices())
@settings(max_examples=60, deadline=None)
def test_distinct_key_frequencies_in_any_order(data: tuple[np.ndarray, np.ndarray]) -> None:
    # What the counting engines do: aggregate to distinct keys (in whatever order the
    # database returns them), then count; each key's figures are its records' figures.
    from sdc.risk.frequencies import wildcard_key_frequencies

    codes, w = data
    rows, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    order = np.random.default_rng(len(rows)).permutation(len(rows))
    where = np.argsort(order)
    count = np.bincount(inverse).astype(float)[order]
    weight = np.bincount(inverse, weights=w)[order]
    f, F = wildcard_key_frequencies(rows[order], count, weight)
    fk, Fk = reference(codes, w)
    assert np.rint(f[where[inverse]]).astype(int).tolist() == fk.astype(int).tolist()
    np.testing.assert_allclose(F[where[inverse]], Fk, rtol=1e-12)


@pytest.mark.parametrize(("n_src", "n_tgt"), [(25_000, 30_000), (40_000, 21_000), (50, 80)])
def test_match_sums_hash_and_sort_paths(n_src: int, n_tgt: int) -> None:
    from sdc.risk.frequencies import _match_sums

    rng = np.random.default_rng(n_src)
    src = rng.integers(0, 5_000, n_src)
    tgt = rng.integers(0, 6_000, n_tgt)
    count = rng.integers(1, 4, n_src).astype(float)
    weight = rng.uniform(1, 9, n_src)
    f, F = _match_sums(src, tgt, count, weight)
    by_key = pd.DataFrame({"k": src, "c": count, "w": weight}).groupby("k").sum()
    expected = by_key.reindex(tgt).fillna(0.0)
    np.testing.assert_allclose(f, expected["c"].to_numpy())
    np.testing.assert_allclose(F, expected["w"].to_numpy())


@pytest.mark.parametrize("n_uniq", [3, 700, 50_000])
def test_lookup_with_and_without_the_bitmap_filter(n_uniq: int) -> None:
    from sdc.risk.frequencies import _lookup

    rng = np.random.default_rng(n_uniq)
    uniq = rng.choice(2**40, n_uniq, replace=False).astype(np.int64)
    # half present, half absent (absent keys share the bitmap with present ones at times)
    keys = np.concatenate([rng.choice(uniq, 100_000), rng.integers(0, 2**40, 100_000)])
    expected = pd.Index(uniq).get_indexer(keys)
    assert (_lookup(uniq, keys) == expected).all()
    assert (expected >= 0).sum() >= 100_000
