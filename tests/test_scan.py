"""Column profiling and the draft policy."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.demo import DEMO_POLICY, make_survey
from sdc.errors import DataError
from sdc.policy import parse_policy
from sdc.scan import (
    ColumnProfile,
    ScanResult,
    draft_policy,
    format_share,
    scan,
    value_uniqueness,
)
from sdc.workflow import check_identifier_like, check_unlisted, release_refusal, scan_file

DATA = Path(__file__).parent / "data"
N = 200
RNG = np.random.default_rng(7)


# --- generators of column contents (N values each) -------------------------------------------


def _names() -> list[str]:
    first = ["Amina", "John", "María", "Jean-Luc", "Wanjiru", "Kofi", "Li", "Olúwaseun"]
    last = ["Otieno", "Smith", "García", "Dupont", "Mensah", "O'Brien", "de la Cruz", "Nguyen"]
    return [f"{first[i % 8]} {last[(i // 8) % 8]} {chr(65 + i % 26)}." for i in range(N)]


def _phones() -> list[str]:
    return [f"+33 6 {i:02d} {i * 7 % 100:02d} {i * 13 % 100:02d} 1" for i in range(N)]


def _emails() -> list[str]:
    return [f"user{i}@example.org" for i in range(N)]


def _ids() -> list[str]:
    return [f"AB{100000 + i * 37}" for i in range(N)]


def _dates() -> list[str]:
    return [f"19{50 + i % 50}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(N)]


def _codes(k: int) -> list[int]:
    return [int(v) for v in RNG.integers(1, k + 1, size=N)]


def _cats(*values: str) -> list[str]:
    return [values[i % len(values)] for i in range(N)]


def _skewed() -> list[float]:
    return [float(v) for v in np.round(RNG.lognormal(8, 1, size=N), 2)]


def _floats_few_decimals() -> list[float]:
    return [float(v) for v in np.round(RNG.normal(50, 10, size=N), 1)]


def _coords(lo: float, hi: float) -> list[float]:
    return [float(v) for v in np.round(RNG.uniform(lo, hi, size=N), 6)]


def _notes() -> list[str | None]:
    return [
        f"Visited on day {i}, the respondent was at the market with her sister" if i % 3 else None
        for i in range(N)
    ]


Gen = Callable[[], list]

CASES: list[tuple[str, Gen, str]] = [
    # direct identifiers: by content
    ("col_a", _names, "direct"),
    ("contact", _phones, "direct"),
    ("x1", _emails, "direct"),
    ("ref", _ids, "direct"),
    ("y", lambda: _coords(-3.5, -3.2), "direct"),
    # direct identifiers: by name
    ("full_name", _names, "direct"),
    ("nombre", _names, "direct"),
    ("Prénom", lambda: [f"Name{i}" for i in range(N)], "direct"),
    ("telephone", lambda: [str(600000000 + i) for i in range(N)], "direct"),
    ("phone_number", lambda: [600000000 + i for i in range(N)], "direct"),
    ("Teléfono", _phones, "direct"),
    ("e_mail", lambda: [f"u{i}" for i in range(N)], "direct"),
    ("correo", _emails, "direct"),
    ("adresse", lambda: [f"{i} rue du Port" for i in range(N)], "direct"),
    ("calle", lambda: [f"C{i % 80}" for i in range(N)], "direct"),
    ("latitude", lambda: _coords(10, 11), "direct"),
    ("gps_lon", lambda: _coords(30, 31), "direct"),
    ("LONG", lambda: _coords(30, 31), "direct"),
    ("passport_no", lambda: [f"P{i:07d}" for i in range(N)], "direct"),
    ("cedula", lambda: list(range(10_000_000, 10_000_000 + N * 3, 3)), "direct"),
    ("national_id", _ids, "direct"),
    ("resp_id", lambda: list(range(1, N + 1)), "direct"),
    ("row_number", lambda: list(range(5, N + 5)), "direct"),
    ("free_code", lambda: [f"q{i}z" for i in range(N)], "direct"),  # near-unique text
    # free text
    ("notes", _notes, "drop"),
    ("comentarios", _notes, "drop"),
    # sensitive: by name, three languages
    ("hiv_status", lambda: _cats("positive", "negative", "unknown"), "sensitive"),
    ("VIH", lambda: _cats("oui", "non"), "sensitive"),
    ("santé", lambda: _cats("bonne", "mauvaise"), "sensitive"),
    ("salud_mental", lambda: _cats("si", "no"), "sensitive"),
    ("violence", lambda: _cats("yes", "no"), "sensitive"),
    ("violencia_domestica", lambda: _cats("si", "no"), "sensitive"),
    ("income", _skewed, "sensitive"),
    ("revenu_mensuel", _skewed, "sensitive"),
    ("salaire", _skewed, "sensitive"),
    ("ingreso", _skewed, "sensitive"),
    ("salario", _skewed, "sensitive"),
    ("salary-class", lambda: _cats("<=50K", ">50K"), "sensitive"),
    ("expend", lambda: list(range(1000, 1000 + N * 17, 17)), "sensitive"),
    ("savings", _skewed, "sensitive"),
    ("religion", lambda: _cats("a", "b", "c"), "sensitive"),
    ("religión", lambda: _cats("a", "b"), "sensitive"),
    ("orientation_sexuelle", lambda: _cats("a", "b"), "quasi"),
    ("sexual_orientation", lambda: _cats("a", "b"), "quasi"),
    ("orientación_sexual", lambda: _cats("a", "b"), "quasi"),
    ("gender_identity", lambda: _cats("a", "b", "c"), "quasi"),
    ("identité_de_genre", lambda: _cats("a", "b"), "quasi"),
    ("political_party", lambda: _cats("a", "b"), "sensitive"),
    ("weight_kg", _floats_few_decimals, "sensitive"),  # a body weight: health
    ("poids_naissance", _floats_few_decimals, "sensitive"),
    ("bmi", _floats_few_decimals, "sensitive"),
    ("sex_work", lambda: _cats("yes", "no"), "sensitive"),
    ("income_source", lambda: _cats("farm", "trade"), "sensitive"),
    # sensitive: by content
    ("q17", lambda: _cats("Christian", "Muslim", "Hindu", "None"), "sensitive"),
    # gender identity and orientation: quasi (often known to neighbours) and sensitive
    ("q18", lambda: _cats("heterosexual", "gay", "lesbian", "bisexual"), "quasi"),
    ("result", lambda: _cats("positive", "negative"), "sensitive"),
    # quasi-identifiers: by name
    ("age", lambda: _codes(90), "quasi"),
    ("edad", lambda: _codes(90), "quasi"),
    ("sex", lambda: _codes(2), "quasi"),
    ("sexe", lambda: _cats("H", "F"), "quasi"),
    ("gender", lambda: _cats("man", "woman", "other"), "quasi"),
    ("marital-status", lambda: _cats("single", "married"), "quasi"),
    ("estado_civil", lambda: _cats("a", "b"), "quasi"),
    ("race", lambda: _cats("a", "b"), "quasi"),
    ("ethnicity", lambda: _cats("a", "b"), "quasi"),
    ("etnia", lambda: _cats("a", "b"), "quasi"),
    ("native-country", lambda: _cats("a", "b"), "quasi"),
    ("village", lambda: _cats("Upper Kanda", "Lower Kanda", "Kisiwa Juu"), "quasi"),
    ("district", lambda: _cats("a", "b"), "quasi"),
    ("région", lambda: _cats("a", "b"), "quasi"),
    ("province", lambda: _cats("a", "b"), "quasi"),
    ("municipio", lambda: [f"m{i % 60}" for i in range(N)], "quasi"),
    ("commune", lambda: _cats("a", "b"), "quasi"),
    ("country", lambda: _cats("a", "b"), "quasi"),
    ("village_name", lambda: _cats("Upper Kanda", "Lower Kanda"), "quasi"),
    ("education", lambda: _cats("a", "b"), "quasi"),
    ("niveau_education", lambda: _cats("a", "b"), "quasi"),
    ("occupation", lambda: _cats("a", "b"), "quasi"),
    ("workclass", lambda: _cats("a", "b"), "quasi"),
    ("profesión", lambda: _cats("a", "b"), "quasi"),
    ("hh_size", lambda: _codes(12), "quasi"),
    ("taille_menage", lambda: _codes(12), "quasi"),
    ("disability", lambda: _cats("none", "seeing", "walking"), "quasi"),
    ("handicap", lambda: _cats("oui", "non"), "quasi"),
    ("discapacidad", lambda: _cats("si", "no"), "quasi"),
    ("date_of_birth", _dates, "quasi"),
    ("urbrur", lambda: _codes(2), "quasi"),
    ("relat", lambda: _codes(9), "quasi"),
    # quasi-identifiers: by content and shape
    ("q3", lambda: _cats("male", "female"), "quasi"),
    ("interview_day", _dates, "drop"),  # when someone was met: never a quasi-identifier
    ("roof", lambda: _codes(5), "quasi"),
    ("toilet", lambda: _cats("flush", "pit", "none", "other"), "quasi"),
    ("OCCUCODE", lambda: [100 + i % 150 for i in range(N)], "quasi"),
    ("has_radio", lambda: [i % 2 == 0 for i in range(N)], "quasi"),
    ("has_phone", lambda: _cats("yes", "no"), "quasi"),  # about a phone, not a phone number
    ("gps_taken", lambda: [i % 3 == 0 for i in range(N)], "quasi"),
    ("email_ok", lambda: _codes(2), "quasi"),
    ("pays_naissance", lambda: _cats("Mali", "Niger", "Senegal"), "quasi"),
    ("lugar_de_nacimiento", lambda: _cats("a", "b"), "quasi"),
    ("year_of_birth", lambda: [1940 + i % 60 for i in range(N)], "quasi"),
    ("age_group", lambda: _cats("0-17", "18-29", "30+"), "quasi"),
    ("hh_head_sex", lambda: _cats("m", "f"), "quasi"),
    ("district_id", lambda: _codes(8), "quasi"),
    # other
    ("score", _floats_few_decimals, "other"),
    ("constant", lambda: [1] * N, "other"),
    ("empty", lambda: [None] * N, "other"),
    ("measure", _skewed, "other"),
    ("count_items", lambda: [i % 50 for i in range(N)], "other"),
    ("long_labels", lambda: [f"label {i % 150}" for i in range(N)], "other"),
    ("share_spent", lambda: [float(v) for v in np.round(RNG.random(N), 6)], "other"),
    ("haz", lambda: [float(v) for v in np.round(RNG.normal(0, 1.2, N), 6)], "other"),
    ("x", lambda: [float(v) for v in np.round(RNG.normal(0, 1.2, N), 2)], "other"),
]


@pytest.mark.parametrize(("name", "gen", "role"), CASES, ids=[c[0] for c in CASES])
def test_role_by_name_and_content(name: str, gen: Gen, role: str) -> None:
    df = pd.DataFrame({name: gen()})
    profile = scan(df)[name]
    assert profile.role == role, profile.reason
    assert profile.data_role is None
    assert profile.reason


@pytest.mark.parametrize(
    ("columns", "weight", "household"),
    [
        ({"wgt": [1.5] * N, "hh_id": _codes(50)}, "wgt", "hh_id"),
        ({"poids": [2.0] * N, "id_menage": _codes(50)}, "poids", "id_menage"),
        ({"peso": [2.0] * N, "id_hogar": _codes(50)}, "peso", "id_hogar"),
        ({"factor": [2.0] * N, "hogar": _codes(50)}, "factor", "hogar"),
        ({"weight": [2.0] * N, "household": _codes(50)}, "weight", "household"),
        ({"WEIGHT": [2.0] * N, "HHID": _codes(50)}, "WEIGHT", "HHID"),
        ({"ori_hid": _codes(50), "sampling_weight": [100] * N}, "sampling_weight", "ori_hid"),
        (
            {"household_weights": [25.0] * N, "sampling_weight": [100] * N},
            "sampling_weight",
            None,
        ),
        ({"w": [3.0] * N, "ménage": _codes(40)}, "w", "ménage"),
        ({"weight": [-1.0] * N, "hh_size": _codes(8)}, None, None),  # not positive
        ({"weight": ["heavy"] * N}, None, None),  # not numeric
    ],
)
def test_weight_and_household(
    columns: dict[str, list[object]], weight: str | None, household: str | None
) -> None:
    result = scan(pd.DataFrame(columns))
    assert result.weight == weight
    assert result.household == household
    if weight:
        assert result[weight].data_role == "weight"
        assert result[weight].role == "other"
    if household:
        assert result[household].data_role == "household"


def test_second_weight_column_is_other() -> None:
    df = pd.DataFrame({"sampling_weight": [100] * N, "household_weights": [25.0] * N})
    profile = scan(df)["household_weights"]
    assert profile.role == "other"
    assert profile.data_role is None
    assert "sampling_weight" in profile.reason


# --- profile statistics ----------------------------------------------------------------------


def test_profile_statistics_hand_computed() -> None:
    df = pd.DataFrame(
        {
            "village": ["A", "A", "B", None, "", "C", "C", "C"],
            "age": [1.0, 2.0, 2.0, np.nan, 5.0, 5.0, 5.0, 5.0],
            "born": pd.to_datetime(["2000-01-01"] * 4 + ["2001-01-01"] * 4),
            "flag": [True, False] * 4,
        }
    )
    result = scan(df)
    v = result["village"]
    assert (v.kind, v.n_distinct, v.missing_share) == ("text", 3, 0.25)  # "" is missing
    assert v.uniqueness == pytest.approx(3 / 6)
    a = result["age"]
    assert (a.kind, a.n_distinct, a.missing_share) == ("numeric", 3, 0.125)
    assert a.uniqueness == pytest.approx(3 / 7)
    assert result["born"].kind == "date"
    assert result["born"].role == "quasi"
    assert result["flag"].kind == "bool"
    assert result["flag"].role == "quasi"
    assert result.n_rows == 8
    assert len(result) == 4
    assert [p.name for p in result] == ["village", "age", "born", "flag"]


def test_unknown_column_raises_key_error() -> None:
    with pytest.raises(KeyError):
        scan(pd.DataFrame({"a": [1, 2]}))["b"]


def test_names_by_role() -> None:
    result = scan(make_survey(2000))
    assert result.names("sensitive") == ("hiv", "violence", "income")
    assert result.names("drop") == ("notes",)


def test_age_suggestions() -> None:
    old = scan(pd.DataFrame({"age": list(range(0, 100))}))["age"]
    assert old.suggestions == {
        "recode": {"bands": [0, 18, 30, 45, 60]},
        "top_code": 80,
        "bounds": [0, 110],
    }
    young = scan(pd.DataFrame({"age": list(range(0, 60))}))["age"]
    assert "top_code" not in young.suggestions
    assert young.suggestions["bounds"] == [0, 110]


def test_date_suggests_year() -> None:
    profile = scan(pd.DataFrame({"fecha_nacimiento": _dates()}))["fecha_nacimiento"]
    assert profile.role == "quasi"
    assert profile.suggestions == {"recode": {"date": "year"}}


def test_record_id_is_pseudonymised_official_id_dropped() -> None:
    result = scan(pd.DataFrame({"resp_id": _ids(), "national_id": _ids(), "cedula": _ids()}))
    assert result["resp_id"].suggestions == {"action": "pseudonymize"}
    assert "action" not in result["national_id"].suggestions
    assert "action" not in result["cedula"].suggestions


def test_geography_with_many_places_gets_a_hierarchy_hint() -> None:
    profile = scan(pd.DataFrame({"commune": [f"c{i % 40}" for i in range(N)]}))["commune"]
    assert any("hierarchies/commune.csv" in h for h in profile.hints)


def test_sensitive_measure_asks_for_public_bounds() -> None:
    profile = scan(pd.DataFrame({"income": _skewed()}))["income"]
    assert any("bounds" in h for h in profile.hints)
    assert "bounds" not in profile.suggestions  # never taken from the data


def test_reasons_never_quote_values() -> None:
    df = make_survey(2000)
    for profile in scan(df):
        for value in df[profile.name].dropna().astype(str).unique()[:50]:
            if len(value) > 3:
                assert value not in profile.reason, (profile.name, value)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("df", "message"),
    [
        (pd.DataFrame(), r"^the table has no columns; is it a survey file\?$"),
        (pd.DataFrame({"a": []}), r"^the table has no rows: there is nothing to scan$"),
        (
            pd.DataFrame([[1, 2]], columns=["a", "a"]),
            r"^duplicate column names \['a'\]; rename them so that every column has its own name$",
        ),
    ],
)
def test_bad_tables(df: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        scan(df)


# --- reference data ------------------------------------------------------------------------


def test_demo_survey_roles() -> None:
    result = scan(make_survey(5000))
    expected = {
        "resp_id": "direct",
        "full_name": "direct",
        "phone": "direct",
        "national_id": "direct",
        "gps_lat": "direct",
        "gps_lon": "direct",
        "district": "quasi",
        "village": "quasi",
        "ethnicity": "quasi",
        "hh_size": "quasi",
        "age": "quasi",
        "sex": "quasi",
        "disability": "quasi",
        "education": "quasi",
        "occupation": "quasi",
        "hiv": "sensitive",
        "violence": "sensitive",
        "income": "sensitive",
        "notes": "drop",
        "hh_id": "other",
        "wgt": "other",
    }
    assert {p.name: p.role for p in result} == expected
    assert (result.weight, result.household) == ("wgt", "hh_id")
    assert result["resp_id"].suggestions == {"action": "pseudonymize"}


def test_demo_scan_agrees_with_demo_policy() -> None:
    policy = parse_policy(DEMO_POLICY)
    result = scan(make_survey(3000, seed=5))
    for name, column in policy.columns.items():
        if column.role == "other":
            continue  # the demo keeps hh_size, education, occupation as they are, by choice
        assert result[name].role == column.role, name
    assert (result.weight, result.household) == (policy.data.weight, policy.data.household)


def test_adult_roles() -> None:
    df = pd.read_csv(DATA / "scan_adult_head300.csv", sep=";")
    roles = {p.name: p.role for p in scan(df)}
    assert roles == {
        "sex": "quasi",
        "age": "quasi",
        "race": "quasi",
        "marital-status": "quasi",
        "education": "quasi",
        "native-country": "quasi",
        "workclass": "quasi",
        "occupation": "quasi",
        "salary-class": "sensitive",  # income information
    }


def test_sdcmicro_testdata_roles() -> None:
    df = pd.read_csv(DATA / "scan_testdata_every8th.csv")
    result = scan(df)
    assert result.weight == "sampling_weight"
    assert result.household == "ori_hid"
    roles = {p.name: p.role for p in result}
    for key in ("urbrur", "roof", "walls", "water", "electcon", "relat", "sex", "age", "hhcivil"):
        assert roles[key] == "quasi", key
    for col in ("income", "expend", "savings"):
        assert roles[col] == "sensitive", col
    assert roles["household_weights"] == "other"


# --- draft policy --------------------------------------------------------------------------

ALLOWED_TOP = {"version", "name", "data", "missing", "unlisted", "columns", "thresholds", "outputs"}
ALLOWED_COLUMN = {"role", "action", "recode", "top_code", "bounds"}


def _check_draft(result: ScanResult, text: str) -> dict:
    raw = yaml.safe_load(text)
    assert set(raw) <= ALLOWED_TOP
    assert raw["version"] == 1
    assert list(raw["columns"]) == [p.name for p in result]
    for spec in raw["columns"].values():
        assert set(spec) <= ALLOWED_COLUMN
    assert raw["outputs"] == {"microdata": {"treatments": ["recode", "suppress"]}}
    parse_policy(text)  # the lead's loader accepts it
    return raw


def test_draft_policy_for_the_demo() -> None:
    df = make_survey(2000)
    result = scan(df)
    text = draft_policy(result, "/tmp/out/survey.csv")
    raw = _check_draft(result, text)
    assert raw["name"] == "survey-draft"
    assert raw["data"] == {"weight": "wgt", "household": "hh_id"}
    assert raw["missing"] == "category"
    assert raw["unlisted"] == "refuse"
    assert raw["columns"]["resp_id"] == {"role": "direct", "action": "pseudonymize"}
    assert raw["columns"]["age"] == {
        "role": "quasi",
        "recode": {"bands": [0, 18, 30, 45, 60]},
        "top_code": 80,
        "bounds": [0, 110],
    }
    assert raw["columns"]["notes"] == {"role": "drop"}
    assert raw["thresholds"] == {
        "k": 5,
        "l": 2,
        "group_share": 0.9,  # violence: 89.1% "no" in the whole file, below 90%
        "max_individual_risk": 0.2,
        "max_suppression": 0.05,
    }
    parse_policy(text).check_against(df.columns)
    # every column line carries its reason as a comment
    for p in result:
        line = next(ln for ln in text.splitlines() if ln.startswith(f"  {p.name}:"))
        assert "# " + p.reason.split(":")[0] in line
    assert text.startswith("# Draft disclosure-control policy for survey.csv")
    assert text.endswith("\n")


def test_draft_policy_without_weights_or_sensitive_columns() -> None:
    df = pd.DataFrame({"age": _codes(90), "sex": _codes(2)})
    result = scan(df)
    text = draft_policy(result, "people.xlsx")
    raw = _check_draft(result, text)
    assert "data" not in raw
    assert "l" not in raw["thresholds"]
    assert "group_share" not in raw["thresholds"]
    assert "# l: not drafted" not in text and "# group_share: not drafted" not in text
    assert "# data: {weight: COLUMN, household: COLUMN}" in text
    assert raw["name"] == "people-draft"


def test_draft_policy_quotes_awkward_column_names() -> None:
    awkward = ["a: b", "# c", "yes", "1", "Año de nacimiento", "- x", "[y]", "o'k", "z'"]
    df = pd.DataFrame({name: _codes(3) for name in awkward})
    result = scan(df)
    _check_draft(result, draft_policy(result, "odd name.csv"))


def test_draft_policy_notes_missing_share() -> None:
    df = pd.DataFrame({"education": ["a", "b", None, "c"] * 50})
    text = draft_policy(scan(df), "d.csv")
    assert "25% missing" in text


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    names=st.lists(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1),
        min_size=1,
        max_size=5,
        unique=True,
    ),
)
def test_any_table_gives_profiles_and_a_valid_draft(data: st.DataObject, names: list[str]) -> None:
    n = data.draw(st.integers(1, 30))
    values = st.one_of(
        st.lists(st.integers(-5, 5) | st.none(), min_size=n, max_size=n),
        st.lists(st.floats(-1e6, 1e6) | st.none(), min_size=n, max_size=n),
        st.lists(st.text(max_size=12) | st.none(), min_size=n, max_size=n),
        st.lists(st.booleans(), min_size=n, max_size=n),
    )
    df = pd.DataFrame({name: data.draw(values) for name in names})
    result = scan(df)
    assert [p.name for p in result] == names
    for p in result:
        assert isinstance(p, ColumnProfile)
        assert 0.0 <= p.uniqueness <= 1.0
        assert 0.0 <= p.missing_share <= 1.0
        assert p.role in ("direct", "quasi", "sensitive", "drop", "other")
    text = draft_policy(result, "x.csv")
    raw = yaml.safe_load(text)
    assert list(raw["columns"]) == names
    # the draft names every column and never keeps an identifier as a quasi-identifier
    policy = parse_policy(text)
    check_unlisted(policy, df)
    check_identifier_like(policy, df)


# --- identifier-like columns and rare values -------------------------------------------------


def test_value_uniqueness_hand_computed() -> None:
    column = pd.Series(["a", "b", "b", None, "", "  ", "c", "d", "d", "d"])
    u = value_uniqueness(column)
    # present: a b b c d d d (blank text is missing); unique: a, c
    assert (u.n_records, u.n_present, u.n_distinct, u.n_unique, u.n_top) == (10, 7, 4, 2, 3)
    assert u.share == pytest.approx(2 / 7)
    assert u.top_share == pytest.approx(3 / 7)
    assert u.missing_share == pytest.approx(0.3)
    assert not u.identifier_like
    empty = value_uniqueness(pd.Series([None, None], dtype=object))
    assert (empty.n_present, empty.share, empty.top_share) == (0, 0.0, 0.0)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(0, 12) | st.none(), max_size=60))
def test_value_uniqueness_counts_like_a_counter(values: list[int | None]) -> None:
    present = [v for v in values if v is not None]
    counts = {v: present.count(v) for v in set(present)}
    u = value_uniqueness(pd.Series(values, dtype="Int64"))
    assert u.n_present == len(present)
    assert u.n_distinct == len(counts)
    assert u.n_unique == sum(1 for c in counts.values() if c == 1)
    assert u.n_top == max(counts.values(), default=0)
    assert u.identifier_like == (len(present) >= 10 and u.n_unique / len(present) > 0.5)


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (1.0, "100%"),
        (0.5, "50%"),
        (0.0, "0%"),
        (0.504, "50.4%"),
        (0.4996, "49.96%"),
        (0.9996, "99.96%"),
        (0.999999, "over 99.99%"),
        (0.0075, "1%"),
        (0.004, "0.4%"),
        (0.01, "1%"),
        (0.731, "73%"),
    ],
)
def test_format_share_never_rounds_to_a_misleading_figure(share: float, text: str) -> None:
    assert format_share(share) == text


def test_a_quasi_identifier_with_mostly_unique_values_is_a_likely_identifier() -> None:
    # a place by its column name, but 170 places in 200 records: 140 of them unique
    df = pd.DataFrame({"village": [f"v{i % 170}" for i in range(N)]})
    profile = scan(df)["village"]
    assert profile.role == "direct"
    assert profile.reason == (
        "70% of its 200 values are unique: it singles people out like an ID, so it is a "
        "likely identifier, not a quasi-identifier"
    )
    assert profile.unique_share == pytest.approx(140 / 200)
    text = draft_policy(scan(df), "d.csv")
    assert "  village: {role: direct}" in text


def test_exactly_half_unique_stays_a_quasi_identifier() -> None:
    # 100 of 200 records unique: exactly half, not more
    half = pd.DataFrame(
        {"village": [f"v{i}" for i in range(50)] * 2 + [f"w{i}" for i in range(100)]}
    )
    assert scan(half)["village"].role == "quasi"


def test_an_identifier_like_date_keeps_its_recode_and_a_hint() -> None:
    profile = scan(pd.DataFrame({"date_of_birth": _dates()}))["date_of_birth"]
    assert profile.role == "quasi"
    assert profile.suggestions == {"recode": {"date": "year"}}
    assert profile.hints[-1] == (
        "100% of its 200 values are unique: keep the recode, or it singles people out like an ID"
    )


def _clinic_survey(pairs: int) -> pd.DataFrame:
    """2000 records; 15 clinics: 15 - pairs attended by one person, ``pairs`` by two."""
    clinic: list[str | None] = [None] * 2000
    visits = [f"Clinic {i}" for i in range(15)] + [f"Clinic {i}" for i in range(pairs)]
    for j, name in enumerate(visits):
        clinic[j * 97] = name
    return pd.DataFrame({"hiv_clinic": clinic, "sex": _cats("m", "f") * 10})


def test_a_mostly_missing_column_of_unique_values_is_reported_in_plain_words() -> None:
    profile = scan(_clinic_survey(0))["hiv_clinic"]
    assert profile.finding == (
        "the 1% of respondents with a hiv_clinic value are unique (15 values in 15 records)"
    )
    profile = scan(_clinic_survey(5))["hiv_clinic"]
    assert profile.finding == (
        "the 1% of respondents with a hiv_clinic value are easy to single out: 10 of these 20 "
        "records hold a value no one else has (15 values in all)"
    )
    text = draft_policy(scan(_clinic_survey(5)), "survey.csv")
    assert "#   the 1% of respondents with a hiv_clinic value are easy to single out" in text


def test_common_values_of_a_mostly_missing_column_are_not_a_finding() -> None:
    column: list[str | None] = [None] * 2000
    for j in range(40):
        column[j * 50] = "yes" if j % 2 else "no"
    assert scan(pd.DataFrame({"pregnant": column}))["pregnant"].finding is None
    assert scan(pd.DataFrame({"sex": _cats("m", "f")}))["sex"].finding is None


# --- drafted thresholds ---------------------------------------------------------------------


def test_l_is_not_drafted_when_a_sensitive_column_has_one_value() -> None:
    # scan itself calls a one-value column "other"; a hand-made profile can still be sensitive
    hiv = ColumnProfile("hiv", "text", 1, 0.5, 0.01, "sensitive", "health", top_share=1.0)
    age = ColumnProfile("age", "numeric", 90, 0.0, 0.45, "quasi", "age")
    text = draft_policy(ScanResult(200, (age, hiv)), "d.csv")
    raw = yaml.safe_load(text)
    assert "l" not in raw["thresholds"] and "group_share" not in raw["thresholds"]
    assert (
        "  # l: not drafted: hiv hold(s) fewer than 2 different values\n"
        "  #   in the whole file, so no group can hold 2 of them\n"
        "  # group_share: not drafted: 100% of the records with a hiv value\n"
        "  #   have the same one, so some group always reaches a limit of 90%\n"
    ) in text
    parse_policy(text)


def test_group_share_is_not_drafted_when_one_value_covers_the_file() -> None:
    df = pd.DataFrame({"age": _codes(90), "violence": ["no"] * 190 + ["yes"] * 10})
    text = draft_policy(scan(df), "d.csv")
    raw = yaml.safe_load(text)
    assert raw["thresholds"]["l"] == 2
    assert "group_share" not in raw["thresholds"]
    assert (
        "  # group_share: not drafted: 95% of the records with a violence value\n"
        "  #   have the same one, so some group always reaches a limit of 90%\n"
    ) in text


@settings(max_examples=60, deadline=None)
@given(
    no=st.integers(0, 60),
    yes=st.integers(0, 60),
    blank=st.integers(0, 20),
)
def test_drafted_sensitive_thresholds_are_possible_on_the_whole_file(
    no: int, yes: int, blank: int
) -> None:
    values = ["no"] * no + ["yes"] * yes + [None] * blank
    if not values:
        return
    df = pd.DataFrame({"age": [i % 7 for i in range(len(values))], "violence": values})
    policy = parse_policy(draft_policy(scan(df), "d.csv"))
    present = no + yes
    if policy.thresholds.l is not None:
        assert (no > 0) + (yes > 0) >= policy.thresholds.l
    if policy.thresholds.group_share is not None:
        assert present and max(no, yes) / present < policy.thresholds.group_share


@pytest.mark.parametrize(("rows", "seed"), [(2000, 1), (4000, 3), (5000, 1)])
def test_the_draft_for_the_demo_protects_its_sensitive_columns(rows: int, seed: int) -> None:
    df = make_survey(rows, seed=seed)
    policy = parse_policy(draft_policy(scan(df), "survey.csv"))
    assert policy.sensitive == ["hiv", "violence", "income"]
    assert policy.thresholds.l is not None or policy.thresholds.group_share is not None
    assert (policy.missing, policy.unlisted) == ("category", "refuse")


def test_the_draft_passes_the_closed_world_and_identifier_checks() -> None:
    df = make_survey(2000)
    df["village_code"] = [f"v{i}" for i in range(len(df))]  # identifier-like: scan drops it
    policy = parse_policy(draft_policy(scan(df), "survey.csv"))
    assert policy.columns["village_code"].role == "direct"
    check_unlisted(policy, df)
    check_identifier_like(policy, df)


def test_mostly_unique_text_is_a_likely_identifier_but_a_measure_is_not() -> None:
    df = pd.DataFrame(
        {
            "label": [f"lbl-{i % 170}" for i in range(N)],  # 140 of 200 unique
            "score": _floats_few_decimals(),
        }
    )
    result = scan(df)
    assert result["label"].role == "direct"
    assert result["label"].reason.startswith("70% of its 200 values are unique: ")
    assert result["score"].role == "other"


def _skewed_survey(tmp_path: Path) -> Path:
    """Four groups of 50 (sex x district); in one of them 94% have the same hiv status."""
    rows = []
    for g, (sex, district) in enumerate([("f", "A"), ("f", "B"), ("m", "A"), ("m", "B")]):
        positives = 3 if g == 0 else 10
        for i in range(50):
            rows.append(
                {"sex": sex, "district": district, "hiv": "pos" if i < positives else "neg"}
            )
    path = tmp_path / "survey.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_scan_leaves_out_a_group_share_a_release_cannot_meet(tmp_path: Path) -> None:
    outcome = scan_file(_skewed_survey(tmp_path))
    text = outcome.policy_text
    assert "\n  l: 2 " in text
    assert "\n  group_share: 0.9 " not in text
    assert "\n  # group_share: 0.9 not drafted: a trial release refused it: k = 5, l = 2," in text
    assert "A release of this data under this draft is refused" not in text
    # the draft as written releases the data
    assert release_refusal(outcome.table.frame, text, outcome.table.path) is None


def test_scan_says_when_k_itself_cannot_be_met(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "district": np.repeat(list("ABCDEFGHIJKLMNOPQRST"), 3),  # 3 records each
            "hiv": rng.choice(["pos", "neg"], 60),
        }
    )
    frame.to_csv(tmp_path / "s.csv", index=False)
    text = scan_file(tmp_path / "s.csv").policy_text
    assert "\n  # A release of this data under this draft is refused: k = 5" in text
    parse_policy(text)  # still a valid policy


def test_scan_leaves_out_quasi_identifiers_until_k_can_be_met(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], 200),
            "district": rng.choice(list("ABC"), 200),
            "ethnicity": rng.choice(list("pqrstu"), 200),
            "marital": rng.choice(list("wxyz"), 200),
            "hiv": rng.choice(["pos", "neg"], 200),
        }
    )
    frame.to_csv(tmp_path / "s.csv", index=False)
    text = scan_file(tmp_path / "s.csv").policy_text
    policy = parse_policy(text)
    assert policy.columns["sex"].role == policy.columns["district"].role == "quasi"
    left_out = [n for n in ("ethnicity", "marital") if policy.columns[n].role == "drop"]
    assert left_out
    assert (
        "left out: with the other quasi-identifiers it leaves too many of the 200 records" in text
    )
    assert "under this draft is refused" not in text


# ---- KoboToolbox and ODK exports, phones, names, free text (issue 18) ----------------------

_KOBO_CASES = [
    # survey-tool metadata: ids direct, timestamps and server status dropped
    ("deviceid", lambda: _cats("collect:a1", "collect:b2"), "direct"),
    ("_submitted_by", lambda: _cats("enq1", "enq2", "enq3"), "direct"),
    ("SubmitterName", lambda: _cats("ana", "luis"), "direct"),
    ("meta-instanceID", lambda: [f"uuid:{i:032x}" for i in range(N)], "direct"),
    ("_parent_index", lambda: list(range(1, N + 1)), "direct"),
    ("_submission__uuid", lambda: [f"{i:032x}" for i in range(N)], "direct"),
    ("ReviewState", lambda: _cats("approved", "hasIssues"), "drop"),
    ("__version__", lambda: _cats("vA", "vB"), "drop"),
    (
        "start",
        lambda: [f"2026-03-{1 + i % 28:02d}T08:{i % 60:02d}:00.000+00:00" for i in range(N)],
        "drop",
    ),
    ("fecha_entrevista", lambda: [f"2026-03-{1 + i % 28:02d}" for i in range(N)], "drop"),
    ("_gps_altitude", lambda: [300.5 + i for i in range(N)], "direct"),
    ("grp-gps-Accuracy", lambda: [3.5 + i % 20 for i in range(N)], "drop"),
    ("grp-gps-Altitude", lambda: [300.5 + i for i in range(N)], "direct"),
    ("ubicacion", lambda: [f"17.{i:04d} -96.{i:04d} 1500 5.0" for i in range(N)], "direct"),
    # phones stored as numbers (8 digits, few prefixes), and as digit strings
    ("contact_om", lambda: [70_000_000 + 7919 * i for i in range(N)], "direct"),
    ("numero", lambda: [f"+2267{i:07d}" for i in range(N)], "direct"),
    # names under a respondent header, nicknames, other-specify text
    ("Enquêté(e)", lambda: [f"{n}" for n in _first_names()], "direct"),
    ("datos-apodo", lambda: _cats("El Güero", "Chino", "La Flaca"), "direct"),
    ("Autre, précisez", lambda: _cats("béquilles", "asthme", ""), "drop"),
    # Portuguese headers
    ("Idade", lambda: _codes(90), "quasi"),
    ("Bairro", lambda: _cats("Centro", "Boa Vista", "Várzea"), "quasi"),
    ("Renda", _skewed, "sensitive"),
    ("Escolaridade", lambda: _cats("fundamental", "medio", "superior"), "quasi"),
    ("identidade_de_genero", lambda: _cats("a", "b"), "quasi"),
]


def _first_names() -> list[str]:
    names = "Aminata Salif Ousmane Awa Issa Mariam Adama Bintou Moussa Fanta Seydou Alima".split()
    return [names[i % len(names)] for i in range(N)]


@pytest.mark.parametrize(("name", "gen", "role"), _KOBO_CASES, ids=[c[0] for c in _KOBO_CASES])
def test_survey_tool_exports_by_name_and_content(name: str, gen: Gen, role: str) -> None:
    profile = scan(pd.DataFrame({name: gen()}))[name]
    assert profile.role == role, profile.reason


def test_eight_digit_amounts_are_not_phone_numbers() -> None:
    rng = np.random.default_rng(3)
    amounts = rng.integers(10_000_000, 99_999_999, 500)  # all two-digit prefixes
    assert scan(pd.DataFrame({"montant": amounts}))["montant"].role != "direct"


def test_a_weight_beside_a_height_is_a_body_weight() -> None:
    frame = pd.DataFrame(
        {
            "Peso": [60.5 + i % 30 for i in range(N)],
            "Altura": [1.5 + i % 40 / 100 for i in range(N)],
        }
    )
    result = scan(frame)
    assert result.weight is None
    assert result["Peso"].role == "sensitive"
    assert scan(frame[["Peso"]]).weight == "Peso"  # alone, it is a sampling weight


def test_a_select_multiple_question_is_found_with_any_separator() -> None:
    for sep in "/.-_":
        frame = pd.DataFrame(
            {
                "q": ["a b", "b", "", "a"] * 10,
                f"q{sep}a": [1, 0, 0, 1] * 10,
                f"q{sep}b": [1, 1, 0, 0] * 10,
            }
        )
        result = scan(frame)
        assert dict(result["q"].suggestions)["multiple"] == {"options": [f"q{sep}a", f"q{sep}b"]}
        assert result[f"q{sep}a"].option_of == "q"


def test_label_headers_with_spaces_get_code_column_pairs(tmp_path: Path) -> None:
    question = "Quelles difficultés ?"
    frame = pd.DataFrame(
        {
            "sexe": ["homme", "femme"] * 50,
            question: ["Voir", "Voir Marcher", "", "Marcher"] * 25,
            f"{question}/Difficulté à voir": [1, 1, 0, 0] * 25,
            f"{question}/Marcher": [0, 1, 0, 1] * 25,
        }
    )
    text = draft_policy(scan(frame), "s.csv")
    (tmp_path / "p.yaml").write_text(text)
    policy = parse_policy(text)
    assert policy.options(question) == {
        "difficulte-a-voir": f"{question}/Difficulté à voir",
        "marcher": f"{question}/Marcher",
    }
