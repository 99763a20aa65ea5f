"""``sdc check`` verifies that the policy's treatments were applied (the release plan).

Each attack forges a bundle as a dishonest tool would: it edits the outputs and recomputes
every hash in the manifest (``rehash``), so only the plan - what the policy's recodes and
table methods can produce - and, with ``--data``, the input can tell.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sdc.io import read_table
from sdc.policy import Policy
from sdc.release.check import check_bundle
from sdc.release.plan import release_plan
from tests.cli._runner import run
from tests.release.test_check import POLICY, policy_from
from tests.release.test_check_hardening import (
    KEY,
    edit_manifest,
    failed,
    item,
    make_bundle,
    microdata,
    rehash,
    replace_microdata,
)

COUNT = "tables/count_by_village_sex.csv"
DP = "tables/sum_income_by_village.csv"

# --------------------------------------------------------------------------- the forgery

#: The issue's case: ages that already meet k = 5 unbanded, a policy that says bands.
BANDED = """\
version: 1
name: banded
columns:
  age: {role: quasi, recode: {bands: [0, 18, 30, 45, 60]}}
  sex: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 5}
outputs:
  microdata: {treatments: [recode, suppress]}
"""


def ages_survey(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "age": rng.choice([16, 22, 27, 33, 38, 44, 51, 58, 63, 70], size=n),
            "sex": rng.choice(["f", "m"], size=n),
            "hiv": rng.choice(["neg", "pos"], size=n, p=[0.9, 0.1]),
        }
    )


@pytest.fixture(scope="module")
def made_banded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sdc.release.ledger import Ledger
    from sdc.release.pipeline import release

    folder = tmp_path_factory.mktemp("banded")
    ages_survey().to_csv(folder / "survey.csv", index=False)
    release(
        read_table(folder / "survey.csv"),
        policy_from(folder, BANDED),
        folder / "rel",
        seed=1,
        ledger=Ledger(folder / "l.jsonl"),
    )
    return folder


@pytest.fixture
def banded(made_banded: Path, tmp_path: Path) -> Path:
    shutil.copytree(made_banded, tmp_path / "in")
    return tmp_path / "in"


def test_the_honest_banded_bundle_passes(banded: Path) -> None:
    policy = policy_from(banded, BANDED)
    result = check_bundle(banded / "rel", policy, read_table(banded / "survey.csv"))
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    assert item(result, "recodes").detail == (
        "every released value is one the policy's recode can produce: "
        "age (bands [0, 18, 30, 45, 60], integer labels)"
    )
    assert item(result, "rows").detail == "microdata.csv has 3000 records, as the manifest says"
    assert item(result, "input").detail == (
        "survey.csv has the SHA-256 the manifest records; 3000 records released of 3000"
    )
    assert item(result, "input values").detail == (
        "the released values of 3 column(s) are those of survey.csv after the policy's "
        "recodes (compared as multisets: records are released in random order)"
    )


def test_raw_ages_where_the_policy_says_bands_fail(banded: Path) -> None:
    """The issue's forged bundle: raw ages (k = 5 holds) and every hash recomputed."""
    raw = ages_survey()
    frame = microdata(banded / "rel")
    frame["age"] = raw["age"].to_numpy()
    replace_microdata(banded / "rel", frame)
    policy = policy_from(banded, BANDED)
    result = check_bundle(banded / "rel", policy)
    assert failed(result) == {"recodes"}
    detail = item(result, "recodes").detail
    assert detail == (
        "age: 3000 of 3000 value(s) are not values of the policy's recode "
        "(bands [0, 18, 30, 45, 60])"
    )
    for age in raw["age"].unique():
        assert str(age) not in detail.replace("3000", "").replace("18, 30, 45, 60", "")
    with_data = check_bundle(banded / "rel", policy, read_table(banded / "survey.csv"))
    assert failed(with_data) == {"recodes", "input values"}
    assert item(with_data, "input values").detail == (
        "age: 3000 released value(s) are not the recode of an input record's value"
    )


def test_a_few_raw_values_among_bands_fail(banded: Path) -> None:
    frame = microdata(banded / "rel")
    frame["age"] = frame["age"].astype(object)
    frame.loc[:4, "age"] = "44"
    replace_microdata(banded / "rel", frame)
    detail = item(check_bundle(banded / "rel", policy_from(banded, BANDED)), "recodes").detail
    assert detail == (
        "age: 5 of 3000 value(s) are not values of the policy's recode (bands [0, 18, 30, 45, 60])"
    )


def test_the_cli_checks_against_the_input(banded: Path) -> None:
    args = ["check", str(banded / "rel"), "--policy", str(banded / "p.yaml")]
    (banded / "p.yaml").write_text(BANDED)
    code, out, _ = run(*args, "--data", str(banded / "survey.csv"))
    assert code == 0, out
    assert "PASS  input values  the released values of 3 column(s)" in out
    code, _, err = run(*args, "--data", str(banded / "nowhere.csv"))
    assert code == 2
    assert err.startswith("Error: ") and "nowhere.csv" in err and "Traceback" not in err


# --------------------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("made"), POLICY)


@pytest.fixture
def bundle(made: Path, tmp_path: Path) -> Path:
    shutil.copytree(made.parent, tmp_path / "in")
    return tmp_path / "in" / "rel"


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return policy_from(tmp_path, POLICY)


def test_the_reference_bundle_passes_with_its_input(bundle: Path, policy: Policy) -> None:
    result = check_bundle(bundle, policy, read_table(bundle.parent / "survey.csv"))
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    assert item(result, "table count_by_village_sex").detail.endswith(
        "; suppression as the policy says; audit passed"
    )
    assert "dp (laplace, epsilon 0.4) as the policy says" in (
        item(result, "table sum_income_by_village").detail
    )
    assert item(result, "input values").detail.endswith(
        "; not compared (pseudonyms or perturbed): pid"
    )


def test_a_count_table_relabelled_dp_fails(bundle: Path, policy: Policy) -> None:
    tidy = pd.read_csv(bundle / COUNT, keep_default_na=False, na_values=[""])
    shown = tidy["flag"] == "published"
    tidy.loc[shown, "flag"] = "dp"
    tidy["noise_scale"], tidy["ci_low"], tidy["ci_high"] = 1.0, 0.0, 9.0
    tidy.to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"table count_by_village_sex"}
    assert item(result, "table count_by_village_sex").detail == (
        f"{int(shown.sum())} cell(s) flagged dp, but the policy protects this table by suppression"
    )


def test_a_dp_table_with_another_epsilon_fails(tmp_path: Path, policy: Policy) -> None:
    other = make_bundle(tmp_path / "eps", POLICY.replace("epsilon: 0.4", "epsilon: 0.8"))
    result = check_bundle(other, policy)
    assert failed(result) == {"table sum_income_by_village"}
    assert item(result, "table sum_income_by_village").detail == (
        "epsilon 0.8 (policy: 0.4); the smallest noise_scale is 1767.77, not 3535.53 as "
        "epsilon 0.4 gives"
    )


def test_an_epsilon_edited_in_the_manifest_fails_on_the_noise_scale(
    bundle: Path, tmp_path: Path
) -> None:
    """A forger who lowers the manifest's epsilon to the policy's leaves the noise as it was."""
    other = make_bundle(tmp_path / "eps", POLICY.replace("epsilon: 0.4", "epsilon: 0.8"))

    def claim(m: dict[str, object]) -> None:
        m["tables"][1]["budget"]["epsilon"] = 0.4  # type: ignore[index]
        m["privacy"]["spent"]["epsilon"] = 0.4  # type: ignore[index]

    edit_manifest(other, claim)
    result = check_bundle(other, policy_from(tmp_path, POLICY))
    assert failed(result) == {"table sum_income_by_village"}
    assert item(result, "table sum_income_by_village").detail == (
        "the smallest noise_scale is 1767.77, not 3535.53 as epsilon 0.4 gives"
    )


ROUNDED = POLICY.replace("count: true, min_cell: 3", "count: true, rounding: {base: 5}")


def test_a_rounded_table_where_the_policy_says_min_cell_fails(
    tmp_path: Path, policy: Policy
) -> None:
    rounded = make_bundle(tmp_path / "rounded", ROUNDED)
    assert check_bundle(rounded, policy_from(tmp_path, ROUNDED, "r.yaml")).passed
    result = check_bundle(rounded, policy)
    assert failed(result) == {"table count_by_village_sex"}
    cells = len(pd.read_csv(rounded / COUNT))
    assert item(result, "table count_by_village_sex").detail == (
        "made by 'random rounding to base 5', not by the policy's suppression; "
        f"{cells} cell(s) flagged rounded, but the policy protects this table by suppression"
    )


def test_rounded_values_must_be_multiples_of_the_base(tmp_path: Path) -> None:
    rounded = make_bundle(tmp_path / "rounded", ROUNDED)
    tidy = pd.read_csv(rounded / COUNT)
    tidy.loc[0, "count"] = 7
    tidy.to_csv(rounded / COUNT, index=False)
    rehash(rounded, COUNT)
    result = check_bundle(rounded, policy_from(tmp_path, ROUNDED))
    assert item(result, "table count_by_village_sex").detail == (
        "1 rounded value(s) are not multiples of 5"
    )


def test_a_table_with_other_by_variables_fails(bundle: Path, policy: Policy) -> None:
    edit_manifest(bundle, lambda m: m["tables"][0].__setitem__("by", ["sex", "village"]))
    detail = item(check_bundle(bundle, policy), "table count_by_village_sex").detail
    assert detail.startswith("the by variables are ['sex', 'village'] (policy: ['village', 'sex'])")


def test_a_table_the_policy_does_not_have_fails(bundle: Path, policy: Policy) -> None:
    shutil.copy(bundle / COUNT, bundle / "tables" / "extra.csv")
    edit_manifest(bundle, lambda m: m["tables"].append({**m["tables"][0], "name": "extra"}))
    rehash(bundle, "tables/extra.csv")
    assert item(check_bundle(bundle, policy), "table extra").detail == (
        "the policy has no table of this name"
    )


# --------------------------------------------------------------------------- rows and --data


def test_a_record_count_that_differs_from_the_manifest_fails(bundle: Path, policy: Policy) -> None:
    replace_microdata(bundle, microdata(bundle).iloc[1:])
    result = check_bundle(bundle, policy, read_table(bundle.parent / "survey.csv"))
    assert item(result, "rows").detail == (
        "microdata.csv has 59 records but the manifest's microdata.rows says 60; input.rows says 60"
    )
    assert item(result, "input").detail == (
        "the released microdata have 59 records but survey.csv has 60"
    )


def test_a_released_record_not_from_the_input_fails(bundle: Path, policy: Policy) -> None:
    """One record's age band replaced by another band: valid labels, not the input's.

    Here suppression left fewer ``60+`` than the input has, so the column alone cannot
    tell; the record, whole, is no input record.
    """
    frame = microdata(bundle)
    complete = frame.drop(columns=["pid"]).notna().all(axis=1).to_numpy()
    row = int(np.flatnonzero(complete & (frame["age"].astype(str) == "0-29").to_numpy())[0])
    frame.loc[row, "age"] = "60+"
    replace_microdata(bundle, frame)
    result = check_bundle(bundle, policy, read_table(bundle.parent / "survey.csv"))
    assert "input values" in failed(result) and "recodes" not in failed(result)
    assert item(result, "input values").detail == (
        "1 released record(s) with no blank are not an input record after the policy's recodes"
    )


def test_a_band_more_often_than_in_the_input_fails(banded: Path) -> None:
    frame = microdata(banded / "rel")
    row = int(np.flatnonzero((frame["age"] == "18-29").to_numpy())[0])
    frame.loc[row, "age"] = "60+"
    replace_microdata(banded / "rel", frame)
    policy = policy_from(banded, BANDED)
    result = check_bundle(banded / "rel", policy, read_table(banded / "survey.csv"))
    assert failed(result) == {"input values"}
    assert item(result, "input values").detail == (
        "age: 1 released value(s) are not the recode of an input record's value"
    )


def test_values_swapped_between_records_fail(bundle: Path, policy: Policy) -> None:
    """Each column keeps its values, but two records no longer are input records."""
    frame = microdata(bundle)
    complete = frame.drop(columns=["pid"]).notna().all(axis=1).to_numpy()
    f, m = (int(np.flatnonzero(complete & (frame["sex"] == sex).to_numpy())[0]) for sex in "fm")
    frame.loc[[f, m], "sex"] = ["m", "f"]
    replace_microdata(bundle, frame)
    result = check_bundle(bundle, policy, read_table(bundle.parent / "survey.csv"))
    assert item(result, "input values").detail == (
        "2 released record(s) with no blank are not an input record after the policy's recodes"
    )


def test_another_input_fails_its_hash(bundle: Path, policy: Policy) -> None:
    other = bundle.parent / "other.csv"
    read_table(bundle.parent / "survey.csv").frame.iloc[::-1].to_csv(other, index=False)
    result = check_bundle(bundle, policy, read_table(other))
    assert item(result, "input").detail == (
        "other.csv is not the bundle's input: its SHA-256 differs from the manifest's"
    )
    assert item(result, "input values").passed  # the same records, in another order


def test_a_keyed_input_hash_is_not_compared(bundle: Path, policy: Policy) -> None:
    edit_manifest(bundle, lambda m: m.__setitem__("input", {"keyed_sha256": "ab" * 32}))
    result = check_bundle(bundle, policy, read_table(bundle.parent / "survey.csv"))
    assert item(result, "input").passed
    assert item(result, "input").detail == (
        "the manifest identifies its input by a keyed hash (a DP bundle) and no input key was "
        "found (rel.input-key beside the bundle, or --input-key FILE): the hash is not "
        "compared; 60 records released of 60"
    )


def test_an_input_the_recodes_do_not_fit_fails_without_a_traceback(
    bundle: Path, policy: Policy
) -> None:
    bad = bundle.parent / "bad.csv"
    read_table(bundle.parent / "survey.csv").frame.assign(age="old").to_csv(bad, index=False)
    detail = item(check_bundle(bundle, policy, read_table(bad)), "input values").detail
    assert detail.startswith("the policy's recodes fail on bad.csv: column 'age' must be numeric")


# --------------------------------------------------------------------------- generalize: auto

AUTO = """\
version: 1
name: auto
columns:
  age: {role: quasi, recode: {map: age.csv}}
  sex: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 5, max_suppression: 0.1}
outputs:
  microdata: {generalize: auto}
"""


def age_hierarchy(folder: Path) -> None:
    rows = [f"{a};{a // 10 * 10}s;{'young' if a < 40 else 'old'};*" for a in range(10, 80)]
    (folder / "age.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def made_auto(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("auto")
    age_hierarchy(folder)
    frame = ages_survey(400)
    frame.to_csv(folder / "survey.csv", index=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("SDC_PSEUDONYM_KEY", KEY)
    try:
        from sdc.release.ledger import Ledger
        from sdc.release.pipeline import release

        release(
            read_table(folder / "survey.csv"),
            policy_from(folder, AUTO),
            folder / "rel",
            seed=1,
            ledger=Ledger(folder / "l.jsonl"),
        )
    finally:
        mp.undo()
    return folder


def test_generalize_auto_values_come_from_one_level(made_auto: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(made_auto, folder)
    policy = policy_from(folder, AUTO)
    result = check_bundle(folder / "rel", policy, read_table(folder / "survey.csv"))
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    assert item(result, "recodes").detail.startswith(
        "every released value is one the policy's recode can produce: age (one level "
        "(0 to 3) of age.csv: level "
    )
    frame = microdata(folder / "rel")
    levels = release_plan(policy).values["age"]
    level = levels.fitting_levels(frame["age"])[0]
    other = "young" if level != 2 else "10s"
    frame["age"] = [None if pd.isna(v) else str(v) for v in frame["age"]]
    frame.loc[:2, "age"] = other
    replace_microdata(folder / "rel", frame)
    assert item(check_bundle(folder / "rel", policy), "recodes").detail == (
        "age: 3 of 400 value(s) are not values of the policy's recode "
        "(one level (0 to 3) of age.csv)"
    )


def test_max_level_caps_the_levels_check_accepts(made_auto: Path, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    shutil.copytree(made_auto, folder)
    frame = microdata(folder / "rel")
    frame["age"] = "*"
    replace_microdata(folder / "rel", frame)
    capped = policy_from(folder, AUTO.replace("map: age.csv}", "map: age.csv, max_level: 2}"))
    assert item(check_bundle(folder / "rel", capped), "recodes").detail == (
        "age: 400 of 400 value(s) are not values of the policy's recode "
        "(one level (0 to 2) of age.csv)"
    )


# --------------------------------------------------------------------------- the plan itself

EVERY_RECODE = """\
version: 1
name: every-recode
columns:
  age: {role: quasi, recode: {bands: [0, 18, 30, 45, 60]}, top_code: 50, bottom_code: 20}
  score: {role: quasi, recode: {bands: [0.5, 1.5, 2.5]}}
  post: {role: quasi, recode: {prefix: 3}}
  born: {role: quasi, recode: {date: month}}
  seen: {role: quasi, recode: {date: year}}
  lat: {role: quasi, recode: {grid: 0.1}, top_code: 10}
  income: {role: sensitive, top_code: 5000, bottom_code: 10}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode]}
"""


def raw_records() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [3, 19, 25, 44, 58, 77, None],
            "score": [0.2, 0.7, 1.5, 2.4, 3.9, 1.0, 2.0],
            "post": ["10115", "10117", "20095", "8", "30159", None, "10115"],
            "born": ["1990-03-15", "1985-12-01", "2001-07-30", None, "1990-01-02"] + [None] * 2,
            "seen": ["2020-01-01", "2021-06-30", "2019-02-03", "2020-05-05", None, None, None],
            "lat": [12.3456, -0.04, 9.96, 3.0, None, 7.77, 1.25],
            "income": [4, 10, 999, 5000, 123456, None, 50],
        }
    )


def test_every_recode_produces_only_values_the_plan_admits(tmp_path: Path) -> None:
    """What recode.py writes is exactly what the plan admits (no false failures)."""
    from sdc.anonymize.policy_recodes import deterministic_recodes

    policy = policy_from(tmp_path, EVERY_RECODE)
    plan = release_plan(policy)
    recoded, _ = deterministic_recodes(raw_records(), policy)
    assert sorted(plan.values) == sorted(raw_records().columns)
    for name, values in plan.values.items():
        assert values.foreign(recoded[name])[0] == 0, name


@pytest.mark.parametrize(
    ("column", "foreign", "description"),
    [
        ("age", 6, "bands [0, 18, 30, 45, 60], top_code 50, bottom_code 20"),
        ("score", 7, "bands [0.5, 1.5, 2.5]"),
        ("post", 5, "prefix of 3 characters"),
        ("born", 4, "dates as YYYY-MM"),
        ("seen", 4, "dates as YYYY"),
        ("lat", 5, "grid 0.1, top_code 10"),
        ("income", 2, "top_code 5000, bottom_code 10"),
    ],
)
def test_raw_values_are_foreign_to_every_recode(
    tmp_path: Path, column: str, foreign: int, description: str
) -> None:
    values = release_plan(policy_from(tmp_path, EVERY_RECODE)).values[column]
    assert values.description == description
    assert values.foreign(raw_records()[column])[0] == foreign


def test_a_table_with_cells_removed_fails_its_row_count(bundle: Path, policy: Policy) -> None:
    tidy = pd.read_csv(bundle / DP, keep_default_na=False, na_values=[""])
    tidy.iloc[1:].to_csv(bundle / DP, index=False)
    rehash(bundle, DP)  # a forger's rehash drops the row count; the honest one is put back
    edit_manifest(bundle, lambda m: m["outputs"][DP].__setitem__("rows", len(tidy)))
    assert item(check_bundle(bundle, policy), "table sum_income_by_village").detail == (
        f"the table has {len(tidy) - 1} cells but the manifest says {len(tidy)}"
    )


@settings(max_examples=60, deadline=None)
@given(
    breaks=st.lists(st.integers(-50, 150), min_size=2, max_size=6, unique=True).map(sorted),
    values=st.lists(
        st.one_of(st.none(), st.integers(-100, 200), st.floats(-100, 200, allow_nan=False)),
        min_size=1,
        max_size=30,
    ),
    top=st.one_of(st.none(), st.integers(-60, 160)),
    bottom=st.one_of(st.none(), st.integers(-60, 160)),
)
def test_bands_with_codes_admit_whatever_the_recode_writes(
    breaks: list[int], values: list[float | None], top: int | None, bottom: int | None
) -> None:
    from sdc.anonymize.policy_recodes import deterministic_recodes
    from sdc.policy import parse_policy

    assume(top is None or bottom is None or bottom < top)
    codes = "".join(
        f", {key}: {value}"
        for key, value in (("top_code", top), ("bottom_code", bottom))
        if value is not None
    )
    policy = parse_policy(
        "version: 1\nname: p\ncolumns:\n"
        f"  x: {{role: quasi, recode: {{bands: {breaks}}}{codes}}}\n"
        "outputs:\n  microdata: {treatments: [recode]}\n"
    )
    recoded, _ = deterministic_recodes(pd.DataFrame({"x": values}), policy)
    assert release_plan(policy).values["x"].foreign(recoded["x"])[0] == 0


def test_numeric_hierarchy_labels_match_as_the_csv_reads_them_back(tmp_path: Path) -> None:
    """A label ``1.0`` is released as text and read back from the CSV as the number 1."""
    (tmp_path / "zone.csv").write_text("a;1.0;*\nb;1.0;*\nc;2.50;*\n")
    text = (
        "version: 1\nname: z\ncolumns:\n"
        "  zone: {role: quasi, recode: {map: zone.csv, level: 1}}\n"
        "outputs:\n  microdata: {treatments: [recode]}\n"
    )
    values = release_plan(policy_from(tmp_path, text)).values["zone"]
    assert values.description == "level 1 of zone.csv"
    assert values.foreign(pd.Series([1, 2.5, None, 1]))[0] == 0
    assert values.foreign(pd.Series(["a", 3]))[:2] == (2, 2)


def test_records_dropped_from_the_input_fail_the_row_count(bundle: Path, policy: Policy) -> None:
    """A forger who drops records and fixes the microdata's counts, not the input's."""
    replace_microdata(bundle, microdata(bundle).iloc[2:])
    edit_manifest(bundle, lambda m: m["microdata"].__setitem__("rows", 58))
    assert item(check_bundle(bundle, policy), "rows").detail == (
        "microdata.csv has 58 records but the manifest's input.rows says 60"
    )


WEIGHTED = BANDED.replace("version: 1\n", "version: 1\ndata: {weight: w}\n").replace(
    "  hiv: {role: sensitive}\n", "  hiv: {role: sensitive}\n  w: {role: other}\n"
)


def test_weights_must_be_the_inputs(tmp_path: Path) -> None:
    from sdc.release.ledger import Ledger
    from sdc.release.pipeline import release

    frame = ages_survey(600).assign(w=np.tile([1.5, 2.0, 10.25], 200))
    frame.to_csv(tmp_path / "survey.csv", index=False)
    policy = policy_from(tmp_path, WEIGHTED)
    release(
        read_table(tmp_path / "survey.csv"),
        policy,
        tmp_path / "rel",
        seed=1,
        ledger=Ledger(tmp_path / "l.jsonl"),
    )
    data = read_table(tmp_path / "survey.csv")
    assert item(check_bundle(tmp_path / "rel", policy, data), "input weights").detail == (
        "w: the released weights are those of survey.csv"
    )
    released = microdata(tmp_path / "rel")
    released.loc[released.index[:3], "w"] = 40.0
    replace_microdata(tmp_path / "rel", released)
    result = check_bundle(tmp_path / "rel", policy, data)
    assert failed(result) == {"input weights"}
    assert item(result, "input weights").detail == (
        "w: 3 released weight(s) are not an input record's weight"
    )
