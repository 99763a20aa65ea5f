from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.anonymize.suppress import local_suppression, set_missing, suppression_order
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.risk.frequencies import encode_keys, key_frequencies, protection_counts
from tests.anonymize._sdcmicro_style import sdcmicro_style

DATA = Path(__file__).parent.parent / "data"
KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]


@pytest.fixture(scope="module")
def testdata() -> pd.DataFrame:
    return pd.read_csv(DATA / "sdcmicro_testdata_keys.csv")


def fk_after(df: pd.DataFrame, quasi: list[str], rule: str = "category") -> np.ndarray:
    """The counts release and check accept k by (all-blank records count n)."""
    return protection_counts(encode_keys(df, quasi, "wildcard"), rule)  # type: ignore[arg-type]


def sdcmicro_fk(df: pd.DataFrame, quasi: list[str]) -> np.ndarray:
    """sdcMicro's freqCalc counts (blanks match everything, loophole included)."""
    return key_frequencies(encode_keys(df, quasi, "wildcard")).fk


# --------------------------------------------------------------------------- hand examples


@pytest.mark.parametrize("rule", ["category", "wildcard"])
def test_a_record_is_never_protected_by_others_blanks(rule: str) -> None:
    df = pd.DataFrame({"a": [1, 1, 1, 1], "b": ["x", "x", "y", "z"], "c": [5, 5, 5, 5]})
    # records 2 and 3 are unique. sdcMicro suppresses b in record 2 only: it then matches
    # all four, and record 3 (still saying z) is "protected" by record 2's blank. An
    # attacker who knows the target's b is z finds one record saying z: both are blanked.
    out, rec = local_suppression(df, ["a", "b", "c"], 2, missing=rule)  # type: ignore[arg-type]
    assert rec.total == 2
    assert rec.per_variable == {"a": 0, "b": 2, "c": 0}
    assert out["b"].isna().tolist() == [False, False, True, True]
    assert fk_after(out, ["a", "b", "c"], rule).min() >= 2


def test_california_record_is_suppressed_under_the_wildcard_rule() -> None:
    # The EIA pattern: the only CA record, two Alaska records of the same (1, 4, 1) whose
    # state is blank. Under sdcMicro's count the CA record has f_k = 3; it is suppressed.
    df = pd.DataFrame(
        {
            "state": ["CA", None, None, "NY", "NY", "NY"],
            "x": [1, 1, 1, 2, 2, 2],
            "y": [4, 4, 4, 5, 5, 5],
        }
    )
    assert sdcmicro_fk(df, ["state", "x", "y"]).tolist() == [3, 3, 3, 3, 3, 3]
    out, rec = local_suppression(df, ["state", "x", "y"], 3, missing="wildcard")
    assert rec.total >= 1 and out.loc[0, ["state", "x", "y"]].isna().any()
    assert fk_after(out, ["state", "x", "y"], "wildcard").min() >= 3


def test_least_important_variable_goes_first() -> None:
    # the unique record (1, 2) reaches f_k = 4 by suppressing a (matching the three
    # (2, 2)) or b (matching the three (1, 1)): the importance decides.
    df = pd.DataFrame({"a": [1, 1, 1, 2, 2, 2, 1], "b": [1, 1, 1, 2, 2, 2, 2]})
    out, rec = local_suppression(df, ["a", "b"], 3, importance={"a": 1, "b": 2}, missing="wildcard")
    assert rec.per_variable == {"a": 0, "b": 1}
    assert pd.isna(out.loc[6, "b"])
    out, rec = local_suppression(df, ["a", "b"], 3, importance={"a": 2, "b": 1}, missing="wildcard")
    assert rec.per_variable == {"a": 1, "b": 0}
    assert rec.to_dict()["details"]["order"] == ["a", "b"]


def test_category_rule_meets_halfway_in_the_least_important_variable() -> None:
    # (1, 1) x2 and (1, 2), (1, 3): the two unique records blank b together and form the
    # key (1, blank) of 2 records; a (more important) keeps its values.
    df = pd.DataFrame({"a": [1, 1, 1, 1], "b": [1, 1, 2, 3]})
    out, rec = local_suppression(df, ["a", "b"], 2, importance={"a": 1, "b": 2})
    assert rec.per_variable == {"a": 0, "b": 2}
    assert out["a"].tolist() == [1, 1, 1, 1]
    assert fk_after(out, ["a", "b"]).tolist() == [2, 2, 2, 2]


def test_fewest_suppressions_beat_importance_order() -> None:
    # Suppressing b (least important) alone does not help the unique record; a alone does.
    df = pd.DataFrame({"a": [1, 1, 2, 3], "b": [7, 7, 7, 8]})
    out, rec = local_suppression(df, ["a", "b"], 2, importance={"a": 1, "b": 2}, missing="wildcard")
    assert fk_after(out, ["a", "b"], "wildcard").min() >= 2
    # record 2 (2, 7) gets a suppressed, although a is more important: b cannot help it
    assert pd.isna(out.loc[2, "a"]) and out.loc[2, "b"] == 7


@pytest.mark.parametrize("rule", ["category", "wildcard"])
def test_already_k_anonymous_data_is_unchanged(rule: str) -> None:
    df = pd.DataFrame({"a": [1, 1, 2, 2], "b": ["x", "x", "y", "y"], "w": [1.5, 2, 3, 4]})
    out, rec = local_suppression(df, ["a", "b"], 2, missing=rule)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(out, df)
    assert rec.total == 0 and rec.share == 0.0
    assert rec.details["violating_before"] == 0 and rec.details["iterations"] == 0


def test_existing_blanks_do_not_protect_complete_records() -> None:
    df = pd.DataFrame({"a": [1, 2, None], "b": ["x", "x", "x"]})
    # sdcMicro: record 2 (a missing) matches both others, f_k = 2, 2, 3: nothing to do.
    assert sdcmicro_fk(df, ["a", "b"]).tolist() == [2, 2, 3]
    # Here records 0 and 1 say a = 1 and a = 2 alone: both lose a.
    out, rec = local_suppression(df, ["a", "b"], 2, missing="wildcard")
    assert rec.total == 2
    assert fk_after(out, ["a", "b"], "wildcard").tolist() == [3, 3, 3]
    out, rec = local_suppression(df, ["a", "b"], 2, missing="category")
    assert rec.total == 2 and out["a"].isna().all()


@pytest.mark.parametrize("rule", ["category", "wildcard"])
def test_everything_suppressed_when_needed(rule: str) -> None:
    df = pd.DataFrame({"a": [1, 2, 3], "b": [4, 5, 6]})
    out, rec = local_suppression(df, ["a", "b"], 3, missing=rule)  # type: ignore[arg-type]
    assert fk_after(out, ["a", "b"], rule).min() == 3
    assert rec.total >= 3


def test_strata_are_respected_and_never_suppressed() -> None:
    df = pd.DataFrame({"a": [1, 1, 2, 1, 2, 2], "s": ["n", "n", "n", "m", "m", "m"], "v": range(6)})
    out, rec = local_suppression(df, ["a"], 2, strata=["s"])
    assert out["s"].tolist() == df["s"].tolist()
    shown = out["a"].notna()
    fk = key_frequencies(encode_keys(out, ["a", "s"], "category"), missing="category").fk
    assert fk[shown.to_numpy()].min() >= 2
    assert rec.parameters["strata"] == ("s",)


def test_integer_columns_become_nullable_and_keep_values() -> None:
    df = pd.DataFrame({"a": [1, 1, 2], "flag": [True, True, True], "x": [0.5, 1.5, 2.5]})
    out, rec = local_suppression(df, ["a", "flag"], 2, missing="wildcard")
    assert rec.per_variable == {"a": 1, "flag": 0}
    assert out["a"].dtype == "Int64" and out["a"].tolist()[:2] == [1, 1]
    df = pd.DataFrame({"a": [1, 1, 1, 1], "flag": [True, True, False, False]})
    out, rec = local_suppression(df, ["a", "flag"], 3)
    assert rec.per_variable == {"a": 0, "flag": 4}
    assert out["flag"].dtype == "boolean"


def test_set_missing_types() -> None:
    s = set_missing(pd.Series([1, 2, 3]), np.array([False, True, False]))
    assert s.dtype == "Int64" and s.isna().tolist() == [False, True, False]
    b = set_missing(pd.Series([True, False]), np.array([True, False]))
    assert b.dtype == "boolean" and pd.isna(b[0])
    t = set_missing(pd.Series(["x", "y"]), np.array([False, True]))
    assert t.tolist()[0] == "x" and pd.isna(t[1])


def test_record_is_json_serialisable(testdata: pd.DataFrame) -> None:
    _, rec = local_suppression(testdata, KEYS, 3)
    d = json.loads(json.dumps(rec.to_dict()))
    assert d["name"] == "local_suppression"
    assert d["details"]["total"] == sum(d["changed"].values())
    assert d["details"]["cells"] == len(testdata) * len(KEYS)
    assert d["parameters"]["k"] == 3


def test_suppression_order_default_follows_sdcmicro(testdata: pd.DataFrame) -> None:
    # sdcMicro: more categories = less important = suppressed first; ties: later column.
    assert suppression_order(testdata, KEYS) == [
        "relat", "water", "roof", "electcon", "walls", "sex", "urbrur"
    ]  # fmt: skip
    assert suppression_order(testdata, KEYS, {"relat": 1})[-1] == "relat"
    assert suppression_order(testdata, KEYS, {"sex": 1, "water": 2})[-2:] == ["water", "sex"]


# --------------------------------------------------------------------------- reference data


@pytest.mark.parametrize("k", [2, 3, 5])
def test_testdata_closes_sdcmicro_styles_loophole_at_about_its_cost(
    testdata: pd.DataFrame, k: int
) -> None:
    # sdcMicro-style suppression leaves 21, 36 and 90 records (k = 2, 3, 5) covered only by
    # other records' blanks; ours leaves none, with 159 vs 157, 287 vs 293, 478 vs 500 values
    out, rec = local_suppression(testdata, KEYS, k, missing="wildcard")
    assert fk_after(out, KEYS, "wildcard").min() >= k
    codes = encode_keys(testdata, KEYS, "wildcard")
    order = [KEYS.index(c) for c in suppression_order(testdata, KEYS)]
    baseline = sdcmicro_style(codes, k, order)
    assert key_frequencies(baseline).fk.min() >= k
    assert (protection_counts(baseline, "wildcard") < k).sum() > 0
    baseline_total = int(((baseline < 0) & (codes >= 0)).sum())
    assert rec.total <= 1.02 * baseline_total
    # untouched columns
    pd.testing.assert_series_equal(out["age"], testdata["age"])


def test_testdata_k3_figures(testdata: pd.DataFrame) -> None:
    out, rec = local_suppression(testdata, KEYS, 3)
    assert rec.details["violating_before"] == 281
    assert rec.total == int(sum(out[c].isna().sum() for c in KEYS))
    assert rec.share == pytest.approx(rec.total / (len(testdata) * 7))


# --------------------------------------------------------------------------- counting core


# --------------------------------------------------------------------------- properties

records = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", None]),
        st.integers(0, 3),
        st.sampled_from(["x", "y"]),
        st.integers(0, 100),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=records, k=st.integers(1, 6), use_importance=st.booleans())
def test_property_every_record_reaches_k(
    rows: list[tuple[str | None, int, str, int]], k: int, use_importance: bool
) -> None:
    df = pd.DataFrame(rows, columns=["q1", "q2", "q3", "other"])
    quasi = ["q1", "q2", "q3"]
    importance = {"q1": 1, "q2": 3, "q3": 2} if use_importance else None
    if len(df) < k:
        with pytest.raises(PolicyNotMet):
            local_suppression(df, quasi, k, importance=importance)
        return
    out, rec = local_suppression(df, quasi, k, importance=importance)
    assert fk_after(out, quasi).min() >= k
    pd.testing.assert_series_equal(out["other"], df["other"])
    # only suppressions: a value is either unchanged or newly missing
    for col in quasi:
        was, now = df[col], out[col]
        same = (was.astype(object) == now.astype(object)) | now.isna()
        assert same.all()
        assert rec.per_variable[col] == int((now.isna() & was.notna()).sum())


def test_wildcard_rule_costs_little_more_than_sdcmicro_style() -> None:
    # sdcMicro's pass leaves records that reach k only through other records' blanks; ours
    # leaves none, at some extra cost in suppressed values over many seeded datasets (2,850
    # against 2,236: the blanks sdcMicro counts as neighbours must be paid for).
    rng = np.random.default_rng(0)
    ours = theirs = exposed = 0
    for _ in range(100):
        n, m, k = int(rng.integers(5, 80)), int(rng.integers(2, 5)), int(rng.integers(2, 5))
        df = pd.DataFrame({f"q{j}": rng.integers(0, int(rng.integers(2, 6)), n) for j in range(m)})
        quasi = list(df.columns)
        out, rec = local_suppression(df, quasi, k, missing="wildcard")
        assert fk_after(out, quasi, "wildcard").min() >= k
        codes = encode_keys(df, quasi, "wildcard")
        order = [quasi.index(c) for c in suppression_order(df, quasi)]
        baseline = sdcmicro_style(codes, k, order)
        exposed += int((protection_counts(baseline, "wildcard") < k).sum())
        ours += rec.total
        theirs += int(((baseline < 0) & (codes >= 0)).sum())
    assert exposed > 0  # sdcMicro's pass leaves records covered only by others' blanks
    assert ours < 1.35 * theirs


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"k": 0}, PolicyError, r"^k must be a whole number >= 1, got 0$"),
        ({"k": 2.5}, PolicyError, r"^k must be a whole number >= 1, got 2\.5$"),
        (
            {"k": 2, "missing": "drop"},
            PolicyError,
            r"^missing must be 'category' or 'wildcard', got 'drop'$",
        ),
        ({"k": 2, "importance": {"zz": 1}}, PolicyError, r"^importance is given for 'zz'"),
        (
            {"k": 2, "importance": {"a": 0}},
            PolicyError,
            r"^importance of 'a' must be a whole number >= 1 \(1 = most important\), got 0$",
        ),
        ({"k": 2, "strata": ["a"]}, PolicyError, r"cannot be both quasi-identifier and stratum"),
        ({"k": 2, "strata": ["nope"]}, DataError, r"^column\(s\) 'nope' are not in the data"),
        (
            {"k": 9},
            PolicyNotMet,
            r"^k=9 needs at least 9 records but the data has 4; lower k or release more records$",
        ),
        (
            {"k": 3, "strata": ["s"]},
            PolicyNotMet,
            r"^2 stratum/strata of s hold fewer than k=3 records \(the smallest has 2\)",
        ),
    ],
)
def test_bad_parameters(kwargs: dict, error: type[Exception], message: str) -> None:
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 1, 2, 2], "s": ["x", "x", "y", "y"]})
    k = kwargs.pop("k")
    with pytest.raises(error, match=message):
        local_suppression(df, ["a", "b"], k, **kwargs)


def test_duplicate_quasi_identifiers_rejected() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    with pytest.raises(PolicyError, match="listed twice"):
        local_suppression(df, ["a", "a"], 1)


def test_empty_data_and_no_quasi() -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype="int64")})
    out, rec = local_suppression(df, ["a"], 3)
    assert len(out) == 0 and rec.share == 0.0
    out, rec = local_suppression(pd.DataFrame({"a": [1, 2, 3]}), [], 2)
    assert rec.total == 0 and rec.details["cells"] == 0


def test_nearest_rows_by_levels_equal_pairwise() -> None:
    """The distance-level search picks the same variable as comparing every pair of rows."""
    from sdc.anonymize.suppress import (
        _match_counts,
        _Matcher,
        _nearest_by_levels,
        _nearest_pairwise,
    )

    rng = np.random.default_rng(5)
    for _ in range(200):
        m, strata = int(rng.integers(1, 6)), int(rng.integers(0, 2))
        data = rng.integers(-1 if strata else 0, int(rng.integers(1, 4)), (60, m + strata))
        data[:, :m][rng.random((60, m)) < rng.random() * 0.5] = -1
        data = np.unique(data, axis=0)
        rows = data[rng.choice(len(data), int(rng.integers(1, len(data) + 1)), replace=False)]
        pos = rng.permutation(m)
        want = _nearest_pairwise(rows, data, m, pos, 10_000)
        np.testing.assert_array_equal(_nearest_by_levels(rows, data, m, pos), want)
        np.testing.assert_array_equal(_Matcher(data, m).counts(rows), _match_counts(data, rows, m))


def test_suppression_is_the_same_whichever_nearest_search(monkeypatch: pytest.MonkeyPatch) -> None:
    import sdc.anonymize.suppress as suppress

    rng = np.random.default_rng(3)
    df = pd.DataFrame({c: rng.integers(0, 6, 3000) for c in "abcdef"})
    df.loc[rng.random(3000) < 0.05, "c"] = np.nan
    pairwise, _ = local_suppression(df, list("abcdef"), 3)
    monkeypatch.setattr(suppress, "_PAIRWISE_LIMIT", 0)
    levels, record = local_suppression(df, list("abcdef"), 3)
    pd.testing.assert_frame_equal(levels, pairwise)
    assert record.total > 0
