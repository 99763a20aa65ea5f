"""SUDA2: hand-computed cases, sdcMicro's own published figures and a brute-force reference."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sdc.errors import DataError
from sdc.risk.frequencies import encode_keys
from sdc.risk.suda import SudaResult, suda2

DATA = Path(__file__).resolve().parents[1] / "data"


def _codes(df: pd.DataFrame) -> np.ndarray:
    return encode_keys(df, list(df.columns), "wildcard")


# --------------------------------------------------------------------------------------------
# Brute-force reference: enumerate every itemset of every record, check minimality directly.
# --------------------------------------------------------------------------------------------


def _brute_force(
    codes: np.ndarray, max_msu: int | None = None, dis_fraction: float = 0.01
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, float]]:
    n, m = codes.shape
    top = m if max_msu is None else min(max_msu, m)
    m_eff = max(m, 3)
    weight = {k: float(math.factorial(m_eff - k)) for k in range(1, m_eff + 1)}

    def holders(i: int, subset: tuple[int, ...]) -> int:
        return sum(all(codes[j, v] == codes[i, v] for v in subset) for j in range(n))

    # perfectly correlated items (sdcMicro's representative = lowest variable index)
    def record_set(v: int, value: int) -> frozenset[int]:
        return frozenset(j for j in range(n) if codes[j, v] == value)

    def item_class(i: int, v: int) -> list[int]:
        mine = record_set(v, codes[i, v])
        if len(mine) < 2:
            return [v]
        return [u for u in range(m) if codes[i, u] >= 0 and record_set(u, codes[i, u]) == mine]

    counts = np.zeros((n, top), dtype=np.int64)
    contrib = np.zeros((n, m))
    score = np.zeros(n)
    for i in range(n):
        observed = [v for v in range(m) if codes[i, v] >= 0]
        unique = {
            s: holders(i, s) == 1
            for k in range(1, top + 1)
            for s in itertools.combinations(observed, k)
        }
        for s, is_unique in unique.items():
            k = len(s)
            if not is_unique:
                continue
            if k > 1 and any(unique[tuple(x for x in s if x != v)] for v in s):
                continue
            counts[i, k - 1] += 1
            score[i] += weight[k]
            classes = [item_class(i, v) for v in s]
            if any(min(c) != v for c, v in zip(classes, s, strict=True)):
                continue  # sdcMicro credits this MSU through its representative
            sizes = [len(c) for c in classes]
            if k == 1:
                contrib[i, s[0]] += weight[1]
            elif k == 2:
                contrib[i, s[0]] += sizes[1] * weight[2]
                contrib[i, s[1]] += sizes[0] * weight[2]
                for c in classes:
                    for z in c[1:]:
                        contrib[i, z] += weight[2]
            else:
                for v in s:
                    contrib[i, v] += math.prod(sizes) * weight[k]
    total = score.sum()
    contributions = {v: (100 * contrib[:, v].sum() / total if total > 0 else 0.0) for v in range(m)}
    # DIS-SUDA in plain double precision: U / dis - U == P (1 - f) / f
    keys = [tuple(row) for row in codes]
    mult = {key: keys.count(key) for key in keys}
    pairs = sum(1 for key in keys if mult[key] == 2)
    q = 1 + (8 - m_eff) / 20
    pos = score > 0
    dis = np.zeros(n)
    if pos.any():
        adj = np.sum(score[pos] ** -q)
        spread = pairs * (1 - dis_fraction) / dis_fraction
        dis[pos] = 1 / (1 + spread / (score[pos] ** q * adj))
    return score, counts, dis, contributions


def _assert_matches_reference(codes: np.ndarray, max_msu: int | None = None) -> None:
    res = suda2(codes, max_msu=max_msu)
    score, counts, dis, contributions = _brute_force(codes, max_msu)
    np.testing.assert_array_equal(res.msu_counts, counts)
    np.testing.assert_array_equal(res.score, score)
    np.testing.assert_allclose(res.dis_score, dis, rtol=1e-5, atol=0)
    assert res.contributions.keys() == contributions.keys()
    for v, value in contributions.items():
        assert res.contributions[v] == pytest.approx(value, rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------------------------
# Hand-computed and published examples
# --------------------------------------------------------------------------------------------


@pytest.fixture
def guideline_df() -> pd.DataFrame:
    """Table 4.5 of the SDC Practice Guide (IHSN/World Bank), also a sdcMicro unit test."""
    return pd.DataFrame(
        {
            "Residence": ["Urban"] * 4 + ["Rural"] + ["Urban"] * 5,
            "Gender": ["Female", "Female", "Female", "Male", "Female", "Male", "Female", "Male"]
            + ["Female", "Female"],
            "Education": [
                "Secondary incomplete",
                "Secondary incomplete",
                "Primary incomplete",
                "Secondary complete",
                "Secondary complete",
                "Secondary complete",
                "Primary complete",
                "Post-secondary",
                "Secondary incomplete",
                "Secondary incomplete",
            ],
            "Labor": ["Employed", "Employed", "Non-LF", "Employed", "Unemployed", "Employed"]
            + ["Non-LF", "Unemployed", "Non-LF", "Non-LF"],
        }
    )


def test_guideline_scores_by_hand(guideline_df: pd.DataFrame) -> None:
    # m = 4 keys: an MSU of size 1 weighs 3! = 6, of size 2 weighs 2! = 2.
    # record 3: {Primary incomplete}; record 5: {Rural}, {Sec. complete, Unemployed},
    # {Female, Unemployed}, {Female, Sec. complete}; record 7: {Primary complete};
    # record 8: {Post-secondary}, {Urban, Unemployed}, {Male, Unemployed}.
    res = suda2(_codes(guideline_df))
    np.testing.assert_array_equal(res.score, [0, 0, 6, 0, 12, 0, 6, 10, 0, 0])
    assert res.msu_counts.shape == (10, 4)
    np.testing.assert_array_equal(res.msu_counts[4], [1, 3, 0, 0])
    np.testing.assert_array_equal(res.msu_counts[7], [1, 2, 0, 0])
    assert res.msu_counts[[0, 1, 3, 5, 8, 9]].sum() == 0
    assert res.max_msu == 4
    # contributions: Residence 6 (r5) + 2 (r8) = 8; Gender 2+2 (r5) + 2 (r8) = 6;
    # Education 6 (r3) + 2+2 (r5) + 6 (r7) + 6 (r8) = 22; Labor 2+2 (r5) + 2+2 (r8) = 8;
    # total score 34.
    expected = {0: 800 / 34, 1: 600 / 34, 2: 2200 / 34, 3: 800 / 34}
    assert res.contributions == pytest.approx(expected, rel=1e-14)


def test_guideline_dis_suda_by_hand(guideline_df: pd.DataFrame) -> None:
    # three keys occur exactly twice (records 1/2, 4/6, 9/10): P = 6 records, f = 0.01,
    # U / dis - U = P (1 - f) / f = 594, Q = 1 + (8 - 4) / 20 = 1.2.
    res = suda2(_codes(guideline_df))
    scores = np.array([6.0, 12.0, 6.0, 10.0])
    adj = np.sum(scores**-1.2)
    expected = 1 / (1 + 594 / (scores**1.2 * adj))
    np.testing.assert_allclose(res.dis_score[[2, 4, 6, 7]], expected, rtol=1e-6)
    assert res.dis_score[[0, 1, 3, 5, 8, 9]].sum() == 0


def test_guideline_published_dis_suda_with_ihsn_scores(guideline_df: pd.DataFrame) -> None:
    # The guide's Table 4.5 prints DIS-SUDA 0.0051, 0.0107, 0.0051, 0.0088; they come from the
    # IHSN score weights sdcMicro used before 5.0.2 (original_scores = FALSE).
    res = suda2(_codes(guideline_df), original_scores=False)
    np.testing.assert_allclose(res.score[[2, 4, 6, 7]], [1.75, 3.25, 1.75, 2.75])
    np.testing.assert_array_equal(
        np.round(res.dis_score[[2, 4, 6, 7]], 4), [0.0051, 0.0107, 0.0051, 0.0088]
    )


def test_sdcmicro_book_example() -> None:
    # sdcMicro tests/testthat/test_suda2.R, "suda2 book example": scores[5:8] == c(4, 2, 6, 8)
    tab = pd.DataFrame(
        {
            "age": ["20s"] * 7 + ["60s"],
            "gender": ["male"] * 4 + ["female"] * 3 + ["male"],
            "income": ["50k+"] * 2 + ["50k-"] * 6,
            "education": ["highschool"] * 4
            + ["university", "highschool", "middleschool"]
            + ["university"],
        }
    )
    res = suda2(_codes(tab))
    np.testing.assert_array_equal(res.score, [0, 0, 0, 0, 4, 2, 6, 8])


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        (["a", "b", "c"], [50.0, 37.5, 37.5]),
        (["a", "c", "b"], [50.0, 37.5, 37.5]),
        (["c", "a", "b"], [37.5, 50.0, 37.5]),
        (["c", "b", "a"], [37.5, 37.5, 50.0]),
    ],
)
def test_sdcmicro_contribution_examples(order: list[str], expected: list[float]) -> None:
    # sdcMicro tests/testthat/test_suda2.R, "suda2 simple example contrubtion" 1-4.
    df = pd.DataFrame({"a": [2, 1, 1], "b": [0, 3, 0], "c": [0, 6, 0]})[order]
    res = suda2(_codes(df))
    assert [res.contributions[v] for v in range(3)] == expected
    np.testing.assert_array_equal(res.score, [2, 4, 2])


@pytest.fixture
def testdata2_keys() -> pd.DataFrame:
    return pd.read_csv(DATA / "suda_testdata2_keys.csv")


def test_sdcmicro_testdata2_five_keys(testdata2_keys: pd.DataFrame) -> None:
    # sdcMicro test "suda2 data frame": score[1] == 2 with urbrur, roof, walls, water, sex.
    res = suda2(_codes(testdata2_keys[["urbrur", "roof", "walls", "water", "sex"]]))
    assert res.score[0] == 2


def test_sdcmicro_testdata2_seven_keys(testdata2_keys: pd.DataFrame) -> None:
    # sdcMicro tests "suda2 sdcObject original scores" (180) and "non original scores" (2.73).
    codes = _codes(testdata2_keys)
    assert suda2(codes).score[0] == 180
    assert round(suda2(codes, original_scores=False).score[0], 2) == 2.73


def test_testdata2_matches_brute_force(testdata2_keys: pd.DataFrame) -> None:
    _assert_matches_reference(_codes(testdata2_keys))


def test_testdata2_with_missing_values_matches_brute_force(testdata2_keys: pd.DataFrame) -> None:
    codes = _codes(testdata2_keys)
    rng = np.random.default_rng(11)
    codes[rng.random(codes.shape) < 0.1] = -1
    _assert_matches_reference(codes)
    _assert_matches_reference(codes, max_msu=2)


def test_correlated_items_credit_like_sdcmicro() -> None:
    # v1 = 7 and v2 = 8 are held by exactly records {0, 1}: perfectly correlated items, so
    # record 0's MSUs {v1, v3} and {v2, v3} are one representative MSU (v1, v3) times two.
    codes = np.array(
        [
            [7, 8, 1, 0],
            [7, 8, 2, 0],
            [1, 1, 1, 0],
            [2, 2, 2, 0],
            [1, 2, 1, 0],
        ]
    )
    res = suda2(codes)
    _assert_matches_reference(codes)
    # record 0: {v1=7, v3=1} and {v2=8, v3=1}: two MSUs of size 2 (weight 2! = 2)
    np.testing.assert_array_equal(res.msu_counts[0], [0, 2, 0, 0])
    assert res.score[0] == 4


def test_three_item_msu_with_correlated_class() -> None:
    # A size-3 MSU whose first item has a correlated twin: sdcMicro credits the
    # representative variable with both copies and the twin with nothing.
    rng = np.random.default_rng(5)
    for _ in range(30):
        codes = rng.integers(0, 2, size=(9, 4))
        codes[:, 3] = codes[:, 0]  # every item of v0 is perfectly correlated with v3
        _assert_matches_reference(codes)


# --------------------------------------------------------------------------------------------
# Missing values, few keys, max_msu
# --------------------------------------------------------------------------------------------


def test_missing_values_are_not_items() -> None:
    codes = np.array(
        [
            [0, 0, 0],
            [0, 1, -1],
            [1, 1, 0],
            [1, 0, 0],
            [0, -1, 0],
        ]
    )
    res = suda2(codes)
    # record 1 (0, 1, missing): no value of its own is unique; {v0=0, v1=1} is held by it alone
    # (record 4's missing v1 matches nothing) -> one MSU of size 2, weight 1! = 1.
    np.testing.assert_array_equal(res.msu_counts[1], [0, 1, 0])
    # record 4 (0, missing, 0): {v0=0, v2=0} is shared with record 0 -> no MSU at all.
    np.testing.assert_array_equal(res.msu_counts[4], [0, 0, 0])
    _assert_matches_reference(codes)


def test_all_missing_record_has_no_msu() -> None:
    codes = np.array([[-1, -1, -1], [0, 0, 0], [0, 0, 0]])
    res = suda2(codes)
    np.testing.assert_array_equal(res.score, [0, 0, 0])
    np.testing.assert_array_equal(res.dis_score, [0, 0, 0])
    assert res.contributions == {0: 0.0, 1: 0.0, 2: 0.0}


@pytest.mark.parametrize("m", [1, 2])
def test_fewer_than_three_keys_use_sdcmicro_dummy_weights(m: int) -> None:
    # sdcMicro pads to three variables with constant dummies: weights (3 - k)! and Q = 1.25
    codes = np.array([[0, 0], [0, 1], [1, 0], [1, 0], [2, 2]])[:, :m]
    res = suda2(codes)
    _assert_matches_reference(codes)
    if m == 1:
        np.testing.assert_array_equal(res.score, [0, 0, 0, 0, 2])
    else:
        # record 4: two 1-MSUs (2! each); record 1: {v1=1} unique (2); record 0: {0,0} unique
        # on both variables only -> one MSU of size 2 (1! = 1)
        np.testing.assert_array_equal(res.score, [1, 2, 0, 0, 4])
    assert res.msu_counts.shape == (5, m)


def test_max_msu_truncates_and_clamps(testdata2_keys: pd.DataFrame) -> None:
    codes = _codes(testdata2_keys)
    full = suda2(codes)
    assert full.max_msu == 7
    assert suda2(codes, max_msu=99).max_msu == 7
    np.testing.assert_array_equal(suda2(codes, max_msu=99).score, full.score)
    three = suda2(codes, max_msu=3)
    assert three.max_msu == 3
    np.testing.assert_array_equal(three.msu_counts, full.msu_counts[:, :3])
    # weights stay (m - k)!: only the MSUs above size 3 are dropped
    weights = np.array([720.0, 120.0, 24.0])
    np.testing.assert_array_equal(three.score, three.msu_counts @ weights)
    _assert_matches_reference(codes, max_msu=3)


def test_sparse_codes_match_dense_codes() -> None:
    dense = np.array([[0, 0, 0], [1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 0]])
    sparse = dense * (2**40) + 7
    a, b = suda2(dense), suda2(sparse)
    np.testing.assert_array_equal(a.score, b.score)
    np.testing.assert_array_equal(a.msu_counts, b.msu_counts)


def test_msu_of_all_seven_keys_over_a_huge_key_space() -> None:
    # 600 filler records (value i in every column), record A = (600, ..., 600) and, for each
    # variable v, a record B_v equal to A except 601 on v. A is matched on every proper subset
    # (by the B_v off it), so its only MSU is all seven keys; 602**7 > 2**62 takes the
    # re-factorising key path.
    m = 7
    filler = np.repeat(np.arange(600)[:, None], m, axis=1)
    a = np.full((1, m), 600)
    b = np.full((m, m), 600) + np.eye(m, dtype=np.int64)
    res = suda2(np.vstack([filler, a, b]))
    np.testing.assert_array_equal(res.msu_counts[600], [0, 0, 0, 0, 0, 0, 1])
    assert res.score[600] == 1  # 0!
    np.testing.assert_array_equal(res.msu_counts[601:, 0], 1)  # B_v: {v = 601}
    np.testing.assert_array_equal(res.msu_counts[:600, 0], m)  # fillers: every value unique
    assert res.msu_counts[601:, 1:].sum() == 0


def test_single_record() -> None:
    res = suda2(np.array([[0, 3, 1]]))
    np.testing.assert_array_equal(res.msu_counts, [[3, 0, 0]])
    assert res.score[0] == 6  # three 1-MSUs of weight 2!
    assert res.dis_score[0] == 1.0  # no pairs: dis = 1


def test_triplicates_are_never_unique_and_not_pairs() -> None:
    codes = np.array([[0, 0, 0]] * 3 + [[1, 1, 1]] * 2 + [[2, 0, 1]])
    res = suda2(codes)
    np.testing.assert_array_equal(res.score[:5], 0)
    # record 5 has the 1-MSU {v0 = 2} and, among the rest, {v1=0, v2=1}
    np.testing.assert_array_equal(res.msu_counts[5], [1, 1, 0])
    _assert_matches_reference(codes)


def test_dis_fraction_one_gives_probability_one() -> None:
    res = suda2(np.array([[0, 0, 0], [0, 0, 0], [1, 0, 0]]), dis_fraction=1.0)
    np.testing.assert_array_equal(res.dis_score, [0, 0, 1])


def test_result_is_frozen() -> None:
    res = suda2(np.array([[0, 0, 0], [1, 0, 0]]))
    assert isinstance(res, SudaResult)
    with pytest.raises(AttributeError):
        res.max_msu = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("codes", "kwargs", "message"),
    [
        (np.zeros(3, dtype=np.int64), {}, r"^SUDA2 needs a 2-D matrix of key codes"),
        (np.zeros((3, 0), dtype=np.int64), {}, r"^SUDA2 needs at least one key variable"),
        (np.zeros((0, 3), dtype=np.int64), {}, r"^SUDA2 needs at least one record"),
        (np.zeros((2, 3)), {}, r"^SUDA2 key codes must be integers"),
        (np.full((2, 3), -2), {}, r"^SUDA2 key codes must be >= 0, or -1"),
        (np.zeros((2, 3), dtype=np.int64), {"max_msu": 0}, r"^max_msu must be at least 1"),
        (np.zeros((2, 3), dtype=np.int64), {"max_msu": 2.5}, r"^max_msu must be a whole"),
        (np.zeros((2, 3), dtype=np.int64), {"max_msu": True}, r"^max_msu must be a whole"),
        (np.zeros((2, 3), dtype=np.int64), {"dis_fraction": 0.0}, r"^dis_fraction is the"),
        (np.zeros((2, 3), dtype=np.int64), {"dis_fraction": 1.5}, r"^dis_fraction is the"),
        (np.zeros((2, 3), dtype=np.int64), {"dis_fraction": float("nan")}, r"^dis_fraction"),
        (np.zeros((2, 3), dtype=np.int64), {"dis_fraction": "0.1"}, r"^dis_fraction is the"),
    ],
)
def test_bad_input_raises_data_error(codes: np.ndarray, kwargs: dict, message: str) -> None:
    with pytest.raises(DataError, match=message):
        suda2(codes, **kwargs)


def _msu_counts_without_pruning(codes: np.ndarray, top: int) -> np.ndarray:
    """MSU counts from uniqueness on every subset over all records (no candidate pruning)."""
    n, m = codes.shape
    unique: dict[tuple[int, ...], np.ndarray] = {}
    counts = np.zeros((n, top), dtype=np.int64)
    for k in range(1, top + 1):
        for s in itertools.combinations(range(m), k):
            sub = codes[:, list(s)]
            observed = (sub >= 0).all(axis=1)
            _, inv, cnt = np.unique(sub, axis=0, return_inverse=True, return_counts=True)
            uniq = observed & (cnt[inv.ravel()] == 1)
            unique[s] = uniq
            minimal = uniq.copy()
            if k > 1:
                for v in s:
                    minimal &= ~unique[tuple(x for x in s if x != v)]
            counts[:, k - 1] += minimal
    return counts


@pytest.mark.parametrize("seed", [0, 1])
def test_larger_data_match_unpruned_search(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, cards = 3000, [2, 6, 11, 4, 30, 3]
    codes = np.column_stack(
        [rng.choice(c, size=n, p=(p := 1 / np.arange(1, c + 1)) / p.sum()) for c in cards]
    )
    codes[rng.random(codes.shape) < 0.03] = -1
    res = suda2(codes)
    expected = _msu_counts_without_pruning(codes, 6)
    np.testing.assert_array_equal(res.msu_counts, expected)
    np.testing.assert_array_equal(res.score, expected @ np.array([120.0, 24, 6, 2, 1, 1]))


# --------------------------------------------------------------------------------------------
# Property test against the brute force
# --------------------------------------------------------------------------------------------


@st.composite
def _code_matrices(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(1, 5))
    hi = draw(st.integers(1, 4))
    lo = draw(st.sampled_from([-1, 0]))
    return draw(arrays(np.int64, (n, m), elements=st.integers(lo, hi)))


@settings(max_examples=150, deadline=None)
@given(codes=_code_matrices(), max_msu=st.one_of(st.none(), st.integers(1, 6)))
def test_matches_brute_force(codes: np.ndarray, max_msu: int | None) -> None:
    _assert_matches_reference(codes, max_msu)


@settings(max_examples=40, deadline=None)
@given(codes=_code_matrices(), data=st.data())
def test_invariant_to_relabelling_and_row_order(codes: np.ndarray, data: st.DataObject) -> None:
    res = suda2(codes)
    perm = data.draw(st.permutations(range(codes.shape[0])))
    shifted = np.where(codes >= 0, codes * 3 + 5, -1)  # relabel every observed value
    other = suda2(shifted[list(perm)])
    np.testing.assert_array_equal(other.score, res.score[list(perm)])
    # the DIS normaliser is a sum over records in input order: rounding may differ
    np.testing.assert_allclose(other.dis_score, res.dis_score[list(perm)], rtol=1e-13)
    assert other.contributions == pytest.approx(res.contributions, rel=1e-12, abs=1e-12)


def test_progress_counts_every_subset_up_to_max_msu(testdata2_keys: pd.DataFrame) -> None:
    codes = encode_keys(testdata2_keys, list(testdata2_keys.columns)[:5], "wildcard")
    calls: list[tuple[str, int, int]] = []
    plain = suda2(codes, max_msu=3)
    followed = suda2(codes, max_msu=3, progress=lambda *a: calls.append(a))
    assert np.array_equal(plain.score, followed.score)
    total = 5 + 10 + 10  # subsets of 1, 2 and 3 of the 5 keys
    assert {label for label, _done, _total in calls} == {"SUDA2"}
    assert {t for _label, _done, t in calls} == {total}
    done = [d for _label, d, _total in calls]
    assert done == sorted(done) and done[-1] == total


def test_unpacked_counting_gives_the_same_scores(
    testdata2_keys: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files of 2**26 records or more count records and single keys in two passes."""
    import sdc.risk.suda as suda_module

    codes = _codes(testdata2_keys)
    codes[::7, 2] = -1
    packed = suda2(codes)
    monkeypatch.setattr(suda_module, "_COUNT_BITS", 1)  # every file is "too large" to pack
    unpacked = suda2(codes)
    assert np.array_equal(packed.score, unpacked.score)
    assert np.array_equal(packed.msu_counts, unpacked.msu_counts)
    assert packed.contributions == unpacked.contributions
