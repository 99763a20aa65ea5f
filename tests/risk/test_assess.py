from __future__ import annotations

import json
from math import log
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.errors import DataError, PolicyError
from sdc.risk import RiskThresholds, assess_risk

DATA = Path(__file__).parent.parent / "data"
KEYS = ["Key1", "Key2", "Key3", "Key4"]


@pytest.fixture
def francdat() -> pd.DataFrame:
    return pd.read_csv(DATA / "francdat.csv")


@pytest.fixture
def survey_df() -> pd.DataFrame:
    """12 respondents in 5 households; hand-countable keys."""
    return pd.DataFrame(
        {
            "age": [
                "20-29",
                "20-29",
                "20-29",
                "30-39",
                "30-39",
                "30-39",
                "30-39",
                "40-49",
                "40-49",
                "40-49",
                "50-59",
                None,
            ],
            "sex": ["f", "f", "f", "m", "m", "m", "f", "f", "f", "m", "m", "f"],
            "hh": [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5],
            "hiv": ["no", "no", "no", "yes", "no", "yes", "no", "no", "yes", "no", "no", "yes"],
            "income": [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100, 1200],
        }
    )


def test_francdat_report(francdat: pd.DataFrame) -> None:
    r = assess_risk(francdat, quasi=KEYS, weight="w", suda=False)
    assert r.n_records == 8
    assert r.n_keys == 6
    assert r.sample_uniques == 4
    assert [(k.k, k.violations) for k in r.k_anonymity] == [(2, 4), (3, 8)]
    assert r.risk_method == "benedetti-franconi"
    assert r.max_risk == pytest.approx(log(5) / 4)
    assert r.expected_reidentifications == pytest.approx(r.records["r_k"].sum())
    assert r.global_risk == pytest.approx(r.expected_reidentifications / 8)
    assert r.high_risk_records == 3
    assert list(r.records.columns) == ["row", "f_k", "F_k", "r_k"]
    assert r.records["row"].tolist() == list(range(8))
    assert r.records["F_k"].tolist() == [110.0, 84.5, 84.5, 17.0, 541.0, 8.0, 5.0, 110.0]
    assert [b.name for b in r.breaches] == ["k"]
    assert not r.passed
    # without Key4 the keys are (1,2,5) x2, (1,2,1) x2, (3,3,1), (4,3,1) x2, (6,2,1): 2 uniques
    contrib = {c.variable: c for c in r.contributions}
    assert contrib["Key4"].sample_uniques_without == 2
    assert contrib["Key4"].uniques_drop == 2
    assert contrib["Key1"].uniques_drop == 0
    assert r.recode_first[0] == "Key4"


def test_unweighted_household_and_sensitive(survey_df: pd.DataFrame) -> None:
    th = RiskThresholds(k=2, l=2, t=0.3, max_individual_risk=0.5, max_expected_reidentifications=3)
    r = assess_risk(
        survey_df,
        quasi=["age", "sex"],
        household="hh",
        sensitive=["hiv", "income"],
        thresholds=th,
        suda=False,
    )
    # keys: (20-29,f) x3, (30-39,m) x3, (30-39,f) x1, (40-49,f) x2, (40-49,m) x1, (50-59,m) x1,
    # and (None,f), whose missing age matches every f record: 7 (3 + 1 + 2 + itself); every
    # f record also counts it
    assert r.records["f_k"].tolist() == [4, 4, 4, 3, 3, 3, 2, 3, 3, 1, 1, 7]
    assert r.records["r_k"].tolist() == pytest.approx([1 / f for f in r.records["f_k"]])
    assert r.sample_uniques == 2
    assert r.expected_reidentifications == pytest.approx(3 / 4 + 3 / 3 + 1 / 2 + 2 / 3 + 2 + 1 / 7)
    # household 5 holds records 9, 10, 11: 1 - (1 - 1)(1 - 1)(1 - 1/7) = 1
    hh = r.records["household_risk"].tolist()
    assert hh[0] == pytest.approx(1 - 0.75**2)
    assert hh[2] == pytest.approx(1 - 0.75 * (2 / 3))
    assert hh[9:] == [1.0, 1.0, 1.0]
    assert r.household_risk is not None and r.household_risk.households == 5
    # l-diversity over exact key groups (missing age is its own group)
    hiv = r.l_diversity[0]
    assert hiv.variable == "hiv" and hiv.distinct_min == 1
    # groups with a single hiv value: (20-29,f) 3 rec, (30-39,f), (40-49,m), (50-59,m), (None,f)
    assert (hiv.keys_below_l, hiv.records_below_l) == (5, 7)
    assert r.t_closeness[1].distance == "ordered"
    assert r.t_closeness[0].distance == "equal"
    gd = r.group_disclosure[0]
    assert (gd.keys, gd.records) == (1, 3)  # only (20-29, f): all three "no"
    names = [b.name for b in r.breaches]
    assert names == [
        "k",
        "l",
        "t",
        "max_individual_risk",
        "max_expected_reidentifications",
        "max_household_risk",
        "max_expected_household_reidentifications",
    ]
    d = r.to_dict()
    assert d["breaches"][0] == {"name": "k", "value": 1, "limit": 2, "variable": None}
    l_breach = r.breaches[1]
    assert l_breach.to_dict() == {"name": "l", "value": 1, "limit": 2, "variable": "hiv"}
    assert l_breach.describe() == "l is 1 for hiv (limit 2)"


def test_passes_when_every_threshold_holds() -> None:
    df = pd.DataFrame({"a": ["x"] * 4 + ["y"] * 4, "s": ["p", "q"] * 4})
    r = assess_risk(
        df, quasi=["a"], sensitive=["s"], thresholds=RiskThresholds(k=3, l=2), suda=False
    )
    assert r.passed and r.breaches == []
    assert r.recode_first == ("a",)  # leaving it out halves every risk


def test_category_rule(survey_df: pd.DataFrame) -> None:
    r = assess_risk(survey_df, quasi=["age", "sex"], missing="category", suda=False)
    assert r.records["f_k"].tolist()[-1] == 1
    assert r.sample_uniques == 4  # (30-39,f), (40-49,m), (50-59,m) and (missing,f)


def test_to_dict_is_stable_json(francdat: pd.DataFrame) -> None:
    r = assess_risk(
        francdat, quasi=KEYS, weight="w", sensitive=["Num1"], suda=False, importance={"Key1": 1}
    )
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text) == d
    assert d["schema"] == "sdc.risk/1"
    assert list(d)[:3] == ["schema", "records", "quasi"]
    assert d["thresholds"]["k"] == 3
    assert d["individual_risk"]["max_individual_risk"] == pytest.approx(log(5) / 4)
    assert d["suda"] is None and d["household_risk"] is None
    assert sum(h["records"] for h in d["individual_risk"]["histogram"]) == 8
    assert sum(h["records"] for h in d["key_sizes"]) == 8
    assert d["contributions"][0]["importance"] == 1


def test_suda_fields(francdat: pd.DataFrame) -> None:
    r = assess_risk(francdat, quasi=KEYS, weight="w")
    assert list(r.records.columns) == ["row", "f_k", "F_k", "r_k", "suda", "dis_suda"]
    assert r.suda is not None and r.suda.max_msu == 4
    assert r.suda.records_with_msu == int((r.records["suda"] > 0).sum())
    assert all(c.suda is not None for c in r.contributions)
    assert r.to_dict()["suda"]["max_msu"] == 4


def test_recode_order_puts_important_variables_last(francdat: pd.DataFrame) -> None:
    r = assess_risk(francdat, quasi=KEYS, weight="w", suda=False, importance={"Key4": 1})
    assert r.recode_first == ("Key3", "Key4")


def test_empty_data() -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype=object), "s": pd.Series([], dtype=object)})
    r = assess_risk(df, quasi=["a"], sensitive=["s"], suda=False)
    assert r.n_records == 0 and r.passed and r.global_risk == 0.0
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 1}, r"^thresholds: k must be a whole number of at least 2, got 1$"),
        ({"l": 1}, r"^thresholds: l must be a whole number of at least 2, got 1$"),
        ({"t": 0.0}, r"^thresholds: t must be in \(0, 1\], got 0.0$"),
        ({"max_individual_risk": 1.5}, r"max_individual_risk must be in \(0, 1\], got 1.5$"),
        ({"max_expected_reidentifications": -1}, r"must be 0 or more, got -1$"),
        ({"group_share": 0.5}, r"group_share must be in \(0.5, 1\], got 0.5$"),
        ({"recursive_c": 0}, r"recursive_c must be positive, got 0$"),
        ({"k": True}, r"k must be a whole number"),
        ({"max_global_risk": 0.0}, r"max_global_risk must be in \(0, 1\), got 0.0$"),
        ({"max_global_risk": 1.0}, r"max_global_risk must be in \(0, 1\), got 1.0$"),
    ],
)
def test_threshold_validation(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        RiskThresholds(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quasi": []}, r"^no quasi-identifiers given"),
        ({"quasi": ["agee"]}, r"^'agee' not among the data's columns"),
        ({"quasi": ["age", "age"]}, r"^quasi-identifier 'age' given more than once$"),
        ({"quasi": ["age"], "sensitive": ["age"]}, r"both quasi-identifier and sensitive"),
        ({"quasi": ["age"], "weight": "age"}, r"^'age' is the weight column"),
        ({"quasi": ["age"], "weight": "w"}, r"^weight column 'w' must hold positive numbers; 1"),
        ({"quasi": ["age"], "missing": "drop"}, r"^missing must be 'wildcard' or 'category'"),
    ],
)
def test_data_errors(kwargs: dict[str, object], message: str) -> None:
    df = pd.DataFrame({"age": [1, 2], "w": [1.0, 0.0]})
    with pytest.raises(DataError, match=message):
        assess_risk(df, suda=False, **kwargs)  # type: ignore[arg-type]


@given(
    st.lists(
        st.tuples(st.integers(0, 2), st.integers(0, 2), st.booleans()), min_size=1, max_size=20
    ),
    st.data(),
)
@settings(max_examples=60, deadline=None)
def test_suppression_never_raises_the_records_risk(
    rows: list[tuple[int, int, bool]], data: st.DataObject
) -> None:
    df = pd.DataFrame(rows, columns=["a", "b", "c"]).astype(float)
    before = assess_risk(df, quasi=["a", "b", "c"], suda=False)
    i = data.draw(st.integers(0, len(df) - 1))
    col = data.draw(st.sampled_from(["a", "b", "c"]))
    df.loc[i, col] = np.nan
    after = assess_risk(df, quasi=["a", "b", "c"], suda=False)
    assert after.records["r_k"][i] <= before.records["r_k"][i]
    assert (after.records["f_k"] >= 1).all()
    assert after.expected_reidentifications == pytest.approx(after.records["r_k"].sum())


def test_groups_with_only_missing_sensitive_values_do_not_set_l() -> None:
    df = pd.DataFrame(
        {
            "q": ["a", "a", "b", "b"],
            "s": ["x", "y", None, None],
        }
    )
    report = assess_risk(
        df, quasi=["q"], sensitive=["s"], thresholds=RiskThresholds(k=2, l=2), suda=False
    )
    assert report.l_diversity[0].distinct_min == 2
    assert report.l_diversity[0].keys_below_l == 0
    assert report.passed


def test_global_threshold_in_report(francdat: pd.DataFrame) -> None:
    # francdat risks sorted: .402359, .297063, .177076, .022042 x2, .017144 x2, .011654;
    # default 1%: ER = .08 is not reached by any drop (the last gives .093232) -> 0.0
    r = assess_risk(francdat, quasi=KEYS, weight="w", suda=False)
    assert r.global_threshold == 0.0
    assert r.max_global_risk == 0.01
    d = r.to_dict()["individual_risk"]
    assert d["global_threshold"] == 0.0 and d["max_global_risk"] == 0.01
    # 10%: ER = .8; capping the two records above .177076 gives .621256 < .8
    th = RiskThresholds(k=2, max_global_risk=0.1)
    r = assess_risk(francdat, quasi=KEYS, weight="w", suda=False, thresholds=th)
    assert r.global_threshold == pytest.approx(log(17) / 16, rel=1e-14)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))["individual_risk"]
    assert d["global_threshold"] == pytest.approx(log(17) / 16, rel=1e-14)
    assert d["max_global_risk"] == 0.1
    # 15%: ER = 1.2 > S = .966526, already below: null
    th = RiskThresholds(k=2, max_global_risk=0.15)
    r = assess_risk(francdat, quasi=KEYS, weight="w", suda=False, thresholds=th)
    assert r.global_threshold is None
    assert r.to_dict()["individual_risk"]["global_threshold"] is None


def test_global_threshold_unweighted(survey_df: pd.DataFrame) -> None:
    # wildcard keys: risks 1/f_k; threshold against the record-by-record definition
    th = RiskThresholds(max_global_risk=0.2)
    r = assess_risk(survey_df, quasi=["age", "sex"], suda=False, thresholds=th)
    risk = np.sort(r.records["r_k"].to_numpy())[::-1]
    target = 0.2 * len(risk)
    assert risk.sum() >= target
    # sorted 1, 1, .5, 1/3 x5, .25 x3, 1/7; S = 5.0595, ER = 2.4; drops: to .5 -> 3.0595 + 2 * .5,
    # to 1/3 -> 2.5595 + 3/3, to .25 -> .8929 + 8 * .25 = 2.8929, to 1/7 -> 1/7 + 11/7 < 2.4
    t = r.global_threshold
    assert t == pytest.approx(1 / 7, rel=1e-15)
    assert np.minimum(risk, t).sum() < target
    # the next larger risk value would not be enough
    larger = np.unique(risk[risk > t])
    if len(larger):
        assert np.minimum(risk, larger.min()).sum() >= target
    assert assess_risk(pd.DataFrame({"a": []}), quasi=["a"], suda=False).global_threshold is None


# ---- large files: SUDA and contributions left out, and the contributions on distinct keys


def test_skip_above_leaves_suda_and_contributions_out(francdat: pd.DataFrame) -> None:
    kwargs = {"quasi": KEYS, "weight": "w", "missing": "wildcard"}
    full = assess_risk(francdat, skip_above=len(francdat), **kwargs)
    assert full.skipped is None and full.suda is not None and len(full.contributions) == 4
    calls: list[tuple[str, int, int]] = []
    large = assess_risk(
        francdat, skip_above=len(francdat) - 1, progress=lambda *a: calls.append(a), **kwargs
    )
    assert calls == []  # nothing long was run
    assert large.suda is None and large.contributions == () and large.recode_first == ()
    assert "suda" not in large.records.columns
    assert large.to_dict()["skipped"] == {
        "measures": ["suda", "contributions"],
        "reason": "size",
        "records_limit": len(francdat) - 1,
        "option": "--suda",
    }
    # every other figure is the full report's
    same = {k: v for k, v in full.to_dict().items() if k not in SKIPPED_FIELDS}
    assert {k: v for k, v in large.to_dict().items() if k not in SKIPPED_FIELDS} == same
    no_suda = assess_risk(francdat, suda=False, skip_above=1, **kwargs)
    assert no_suda.skipped is not None and no_suda.skipped.measures == ("contributions",)


SKIPPED_FIELDS = {"suda", "contributions", "recode_first", "skipped"}


def test_progress_reports_each_contribution(francdat: pd.DataFrame) -> None:
    calls: list[tuple[str, int, int]] = []
    assess_risk(francdat, quasi=KEYS, suda=False, progress=lambda *a: calls.append(a))
    assert calls == [("per-variable contributions", j, 4) for j in range(1, 5)]


def _record_level_contributions(
    df: pd.DataFrame, quasi: list[str], weight: str | None
) -> list[tuple[int, float]]:
    """Sample uniques and expected re-identifications without each variable, per record."""
    from sdc.risk.frequencies import encode_keys, key_frequencies
    from sdc.risk.individual import individual_risk

    codes = encode_keys(df, quasi, "category")
    w = None if weight is None else df[weight].to_numpy(dtype=np.float64)
    out = []
    for j in range(len(quasi)):
        freq = key_frequencies(np.delete(codes, j, axis=1), w, "category")
        risk = individual_risk(freq.fk, None if w is None else freq.Fk)
        out.append((int(np.count_nonzero(freq.fk == 1)), float(risk.sum())))
    return out


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 80),
    weighted=st.booleans(),
    blanks=st.booleans(),
)
def test_contributions_on_distinct_keys_equal_the_record_count(
    seed: int, n: int, weighted: bool, blanks: bool
) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "a": rng.choice(["x", "y", "z"], n),
            "b": rng.choice(["p", "q"], n),
            "c": rng.choice(["1", "2", "3", "4"], n),
            "constant": ["same"] * n,  # leaving it out changes nothing
            "w": rng.uniform(1, 30, n),
        }
    )
    if blanks:
        df.loc[rng.random(n) < 0.2, "a"] = None
    quasi = ["a", "b", "c", "constant"]
    weight = "w" if weighted else None
    report = assess_risk(df, quasi=quasi, weight=weight, missing="category", suda=False)
    expected = _record_level_contributions(df, quasi, weight)
    for c, (u, e) in zip(report.contributions, expected, strict=True):
        assert c.sample_uniques_without == u
        assert c.expected_reidentifications_without == pytest.approx(e, rel=1e-12, abs=1e-12)
    constant = report.contributions[-1]
    assert constant.uniques_drop == 0
    assert constant.reidentifications_drop == 0.0  # exactly: same groups, same sums
    assert "constant" not in report.recode_first
