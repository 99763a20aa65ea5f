"""The fake community survey: shape, reproducibility, structure, correlations, rare cases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.demo import (
    COLUMNS,
    DEMO_POLICY,
    DISABILITY_TYPES,
    EDUCATION_LEVELS,
    OCCUPATIONS,
    demo_policy_text,
    make_survey,
    village_hierarchy,
    village_hierarchy_csv,
)
from sdc.errors import DataError
from sdc.policy import parse_policy


@pytest.fixture(scope="module")
def survey() -> pd.DataFrame:
    return make_survey()


# --- size and errors ---------------------------------------------------------------------


@pytest.mark.parametrize("rows", [2000, 3333, 20000])
def test_exact_number_of_rows_and_promised_columns(rows: int) -> None:
    df = make_survey(rows, seed=3)
    assert len(df) == rows
    assert tuple(df.columns) == COLUMNS


def test_default_size_is_5000(survey: pd.DataFrame) -> None:
    assert len(survey) == 5000


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (1999, r"^the demo survey has 2000 to 20000 rows, got 1999; choose a size in that range$"),
        (20001, r"got 20001"),
        (0, r"got 0"),
        (-5, r"got -5"),
        (5000.0, r"^rows must be a whole number from 2000 to 20000, got 5000\.0$"),
        (True, r"whole number"),
        ("5000", r"whole number"),
    ],
)
def test_bad_sizes_raise_data_error(rows: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        make_survey(rows)  # type: ignore[arg-type]


def test_numpy_integer_size_is_accepted() -> None:
    assert len(make_survey(np.int64(2000))) == 2000  # type: ignore[arg-type]


# --- reproducibility -----------------------------------------------------------------------


def test_same_seed_same_data(survey: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(make_survey(5000, seed=1), survey)


def test_other_seed_other_data(survey: pd.DataFrame) -> None:
    other = make_survey(5000, seed=2)
    assert not other["full_name"].equals(survey["full_name"])
    assert not other["age"].equals(survey["age"])


# --- types and value sets --------------------------------------------------------------------


def test_dtypes(survey: pd.DataFrame) -> None:
    for col in ("age", "hh_size", "hh_id"):
        assert survey[col].dtype == np.int64, col
    for col in ("income", "wgt", "gps_lat", "gps_lon"):
        assert survey[col].dtype == np.float64, col
    for col in ("resp_id", "full_name", "phone", "national_id", "village", "sex", "notes"):
        assert pd.api.types.is_string_dtype(survey[col].dtype), col


def test_value_sets(survey: pd.DataFrame) -> None:
    assert set(survey["sex"]) == {"female", "male"}
    assert set(survey["disability"]) == set(DISABILITY_TYPES)
    assert set(survey["hiv"]) == {"positive", "negative", "unknown"}
    assert set(survey["violence"]) == {"yes", "no"}
    assert set(survey["education"].dropna()) == set(EDUCATION_LEVELS)
    assert set(survey["occupation"].dropna()) == set(OCCUPATIONS)
    assert survey["age"].between(0, 104).all()
    assert (survey["income"].dropna() >= 0).all()


def test_geography_is_nested(survey: pd.DataFrame) -> None:
    assert 3 <= survey["district"].nunique() <= 5
    assert 15 <= survey["village"].nunique() <= 30
    assert (survey.groupby("village")["district"].nunique() == 1).all()


def test_identifier_patterns(survey: pd.DataFrame) -> None:
    assert survey["resp_id"].is_unique
    assert survey["resp_id"].str.fullmatch(r"R\d{6}").all()
    phones = survey["phone"].dropna()
    assert phones.str.fullmatch(r"(07\d{2}|\+255 7\d{2}) \d{3} \d{3}").all()
    ids = survey["national_id"].dropna()
    assert ids.str.fullmatch(r"\d{8}-\d{5}-\d{5}-\d{2}").all()
    assert ids.is_unique
    # the ID starts with the birth year (survey year 2024 minus age)
    born = ids.str[:4].astype(int)
    assert ((born + survey.loc[ids.index, "age"]) == 2024).all()
    assert survey["full_name"].str.fullmatch(r"\S+( \S+)+").all()


def test_children_have_no_phone_or_id(survey: pd.DataFrame) -> None:
    assert survey.loc[survey["age"] < 15, "phone"].isna().all()
    assert survey.loc[survey["age"] < 18, "national_id"].isna().all()


def test_gps_near_village_centre(survey: pd.DataFrame) -> None:
    spread = survey.groupby("village")[["gps_lat", "gps_lon"]].std()
    assert (spread < 0.03).all().all()  # a few km around the village centre
    assert survey["gps_lat"].between(-90, 90).all()
    assert survey["gps_lon"].between(-180, 180).all()


# --- households --------------------------------------------------------------------------


def test_household_members_share_household_values(survey: pd.DataFrame) -> None:
    shared = ["village", "district", "ethnicity", "hh_size", "wgt", "gps_lat", "gps_lon"]
    assert (survey.groupby("hh_id")[shared].nunique() == 1).all().all()


def test_household_size_is_the_number_of_members(survey: pd.DataFrame) -> None:
    counts = survey.groupby("hh_id")["hh_size"].agg(["size", "first"])
    assert (counts["size"] == counts["first"]).all()
    sizes = counts["size"]
    assert 3.5 <= sizes.mean() <= 5.5  # realistic rural household size
    assert (sizes == 1).mean() > 0.02
    assert sizes.max() >= 10


def test_household_members_are_contiguous(survey: pd.DataFrame) -> None:
    runs = (survey["hh_id"] != survey["hh_id"].shift()).sum()
    assert runs == survey["hh_id"].nunique()


def test_members_usually_share_the_surname(survey: pd.DataFrame) -> None:
    surname = survey["full_name"].str.split().str[-1]
    share = surname.groupby(survey["hh_id"]).transform(lambda s: (s == s.iloc[0]).mean())
    big = survey["hh_size"] >= 2
    assert share[big].mean() > 0.75


def test_every_household_has_an_adult_head(survey: pd.DataFrame) -> None:
    assert (survey.groupby("hh_id")["age"].max() >= 18).all()


# --- weights --------------------------------------------------------------------------------


def test_weights_realistic_and_vary_by_district(survey: pd.DataFrame) -> None:
    assert survey["wgt"].between(50, 400).all()
    by_district = survey.groupby("district")["wgt"].mean()
    assert by_district.max() / by_district.min() > 2.5


# --- correlations --------------------------------------------------------------------------


def test_disability_rises_with_age(survey: pd.DataFrame) -> None:
    disabled = survey["disability"] != "none"
    young = disabled[survey["age"] < 30].mean()
    old = disabled[survey["age"] >= 65].mean()
    assert old > 3 * young
    assert 0.02 < disabled.mean() < 0.15


def test_education_depends_on_age(survey: pd.DataFrame) -> None:
    edu = survey["education"]
    assert (edu[survey["age"] < 6].dropna() == "none").all()
    assert not edu[survey["age"] < 14].isin(["secondary", "tertiary"]).any()
    young = edu[survey["age"].between(20, 35)].dropna()
    old = edu[survey["age"] >= 60].dropna()
    assert (young == "none").mean() < (old == "none").mean() / 2


def test_occupation_depends_on_age_and_education(survey: pd.DataFrame) -> None:
    occ = survey["occupation"]
    assert (survey.loc[occ == "retired", "age"] >= 60).all()
    assert (occ[survey["age"] < 6].dropna() == "none").all()
    assert (occ[survey["age"].between(6, 17)].dropna() == "student").mean() > 0.7
    teachers = survey.loc[occ.isin(["teacher", "civil servant", "health worker"]), "education"]
    assert teachers.dropna().isin(["secondary", "tertiary"]).mean() > 0.8


def test_income_depends_on_occupation(survey: pd.DataFrame) -> None:
    median = survey.groupby("occupation")["income"].median()
    assert median["civil servant"] > 3 * median["farmer"]
    assert median["student"] == 0
    assert (survey.loc[survey["age"] < 15, "income"].dropna() == 0).all()
    earners = survey.loc[survey["income"] > 0, "income"]
    assert earners.mean() > 1.2 * earners.median()  # skewed to the right


def test_ethnicity_depends_on_village(survey: pd.DataFrame) -> None:
    shares = pd.crosstab(survey["village"], survey["ethnicity"], normalize="index")
    majority = shares.idxmax(axis=1)
    assert majority.nunique() >= 3  # different villages, different majorities


# --- rare combinations and missing values ----------------------------------------------------


def test_rare_combinations_exist(survey: pd.DataFrame) -> None:
    band = pd.cut(survey["age"], [0, 18, 30, 45, 60, 200], right=False)
    key = survey.assign(band=band)[["band", "sex", "village", "disability"]]
    counts = key.value_counts(dropna=False)
    assert (counts == 1).sum() >= 20  # sample uniques: where the risk lives


def test_a_few_very_old_people(survey: pd.DataFrame) -> None:
    very_old = (survey["age"] >= 95).sum()
    assert 3 <= very_old <= 15


def test_rare_ethnicity_in_few_villages(survey: pd.DataFrame) -> None:
    counts = survey["ethnicity"].value_counts()
    rare = counts.idxmin()
    assert counts[rare] < 0.01 * len(survey)
    assert survey.loc[survey["ethnicity"] == rare, "village"].nunique() <= 2


def test_rare_disability_types(survey: pd.DataFrame) -> None:
    counts = survey["disability"].value_counts()
    assert counts[["self-care", "communication"]].max() < 0.01 * len(survey)


def test_missing_values(survey: pd.DataFrame) -> None:
    for col in ("education", "occupation", "income"):
        assert 0.01 < survey[col].isna().mean() < 0.07, col
    complete = ["resp_id", "hh_id", "age", "sex", "village", "district", "disability", "wgt"]
    assert survey[complete].notna().all().all()


def test_notes_are_sparse_free_text_naming_people(survey: pd.DataFrame) -> None:
    notes = survey["notes"]
    assert 0.15 < notes.notna().mean() < 0.35
    named = notes.str.extract(r"(?:Neighbour|household|ask for) (\S+ \S+?)[ ;.]")[0].dropna()
    assert len(named) > 0
    assert named.isin(set(survey["full_name"])).all()


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.integers(2000, 4000), seed=st.integers(0, 2**32 - 1))
def test_structure_holds_for_any_seed(rows: int, seed: int) -> None:
    df = make_survey(rows, seed)
    assert len(df) == rows
    sizes = df.groupby("hh_id")["hh_size"].agg(["size", "first"])
    assert (sizes["size"] == sizes["first"]).all()
    assert df["resp_id"].is_unique
    assert (df["age"] >= 95).sum() >= 3
    assert df["wgt"].between(50, 400).all()
    assert (df.groupby("village")["district"].nunique() == 1).all()


# --- hierarchy and policy ------------------------------------------------------------------


def test_village_hierarchy_covers_the_data(survey: pd.DataFrame) -> None:
    table = village_hierarchy(survey)
    assert list(table.columns) == ["village", "district", "top"]
    assert set(table["village"]) == set(survey["village"])
    pairs = survey[["village", "district"]].drop_duplicates().set_index("village")["district"]
    assert (table.set_index("village")["district"] == pairs[table["village"]]).all()
    assert (table["top"] == "*").all()


def test_village_hierarchy_without_data_lists_all_villages() -> None:
    assert len(village_hierarchy()) == 20


def test_village_hierarchy_only_lists_villages_in_the_data(survey: pd.DataFrame) -> None:
    part = survey[survey["district"] == "Kanda"]
    assert set(village_hierarchy(part)["district"]) == {"Kanda"}


def test_village_hierarchy_csv_text(survey: pd.DataFrame) -> None:
    text = village_hierarchy_csv(survey)
    lines = text.splitlines()
    assert len(lines) == survey["village"].nunique()
    assert all(re.fullmatch(r"[^;]+;[^;]+;\*", line) for line in lines)
    assert text.endswith("\n")
    assert "Kanda Juu;Kanda;*" in lines


def test_village_hierarchy_rejects_other_data() -> None:
    with pytest.raises(DataError, match=r"not demo villages"):
        village_hierarchy(pd.DataFrame({"village": ["Atlantis"]}))
    with pytest.raises(DataError, match=r"no 'village' column"):
        village_hierarchy(pd.DataFrame({"town": ["A"]}))


def test_demo_policy_is_valid_and_fits_the_survey(survey: pd.DataFrame) -> None:
    assert demo_policy_text() == DEMO_POLICY
    raw = yaml.safe_load(DEMO_POLICY)
    assert raw["version"] == 1
    assert raw["data"] == {"weight": "wgt", "household": "hh_id"}
    policy = parse_policy(DEMO_POLICY)
    policy.check_against(survey.columns)
    assert set(policy.columns_with("direct")) == {
        "full_name",
        "phone",
        "national_id",
        "gps_lat",
        "gps_lon",
        "resp_id",
    }
    assert policy.columns["resp_id"].action == "pseudonymize"
    assert policy.columns_with("drop") == ["notes"]
    assert {"age", "sex", "village", "disability"} <= set(policy.quasi)
    assert set(policy.sensitive) == {"hiv", "violence", "income"}
    age = policy.columns["age"]
    assert age.recode is not None and age.recode.bands == [0, 18, 35, 60]
    assert age.top_code == 80 and age.bounds == (0, 110)
    village = policy.columns["village"]
    assert village.recode is not None and str(village.recode.map) == "hierarchies/village.csv"
    assert policy.thresholds.k in (3, 5)
    assert policy.thresholds.l == 2  # the sensitive answers are protected, not only k
    assert policy.thresholds.max_suppression == 0.3
    assert policy.outputs.microdata is not None
    assert policy.outputs.microdata.treatments == ["recode", "suppress"]
    assert any(t.count for t in policy.outputs.tables)
    assert any(t.dp for t in policy.outputs.tables)
    assert policy.columns["district"].categories == sorted(set(survey["district"]))
    assert policy.dp_epsilon <= policy.privacy.budget


def test_demo_policy_release_passes_on_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the survey fails the policy before treatment and passes after it."""
    from sdc.io import read_table
    from sdc.policy import load_policy
    from sdc.release.pipeline import release

    monkeypatch.setenv("SDC_PSEUDONYM_KEY", "demo-key-" + "x" * 32)
    df = make_survey(5000)
    df.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "policy.yaml").write_text(DEMO_POLICY, encoding="utf-8")
    (tmp_path / "hierarchies").mkdir()
    (tmp_path / "hierarchies" / "village.csv").write_text(village_hierarchy_csv(), "utf-8")
    table = read_table(tmp_path / "survey.csv")
    policy = load_policy(tmp_path / "policy.yaml")
    policy.check_against(table.frame.columns)
    release(table, policy, tmp_path / "out")
    before = json.loads((tmp_path / "out" / "risk-before.json").read_text("utf-8"))
    after = json.loads((tmp_path / "out" / "risk-after.json").read_text("utf-8"))
    assert not before["passed"]
    assert {b["name"] for b in before["breaches"]} >= {"k", "max_individual_risk"}
    assert after["passed"]
    released = pd.read_csv(tmp_path / "out" / "microdata.csv")
    assert not {"full_name", "phone", "national_id", "gps_lat", "notes"} & set(released.columns)
    assert set(released["village"].dropna()) <= set(df["district"])
