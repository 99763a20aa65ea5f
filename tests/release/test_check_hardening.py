"""``check_bundle`` on bundles that break the officer's policy, and on corrupt bundles.

A bundle is untrusted input: every test here must end in failed check items (or, for a
manifest that cannot be read at all, a :class:`DataError`), never in a traceback.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.cli import cli
from sdc.errors import DataError
from sdc.io import file_sha256, read_table
from sdc.policy import Policy, parse_policy
from sdc.release.check import CheckItem, CheckResult, check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from tests.release.test_check import POLICY, policy_from, survey

KEY = "a-test-key-of-32-characters-long!"


#: The same outputs without microdata: a bundle of tables only.
TABLES_ONLY = POLICY.replace("  microdata: {treatments: [recode, suppress]}\n", "")
#: The officer also wants DP synthetic data.
WITH_SYNTHETIC = POLICY.replace(
    "privacy: {budget: 1.0, dataset: survey}",
    "  synthetic: {method: mst, epsilon: 0.5, delta: 1.0e-9, rows: 50, seed: 1}\n"
    "privacy: {budget: 1.0, dataset: survey}",
)

COUNT = "tables/count_by_village_sex.csv"
DP = "tables/sum_income_by_village.csv"


def make_bundle(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    survey().to_csv(folder / "survey.csv", index=False)
    mp = pytest.MonkeyPatch()
    mp.setenv("SDC_PSEUDONYM_KEY", KEY)
    try:
        release(
            read_table(folder / "survey.csv"),
            policy_from(folder, text),
            folder / "rel",
            seed=1,
            ledger=Ledger(folder / "l.jsonl"),
        )
    finally:
        mp.undo()
    return folder / "rel"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("made"), POLICY)


@pytest.fixture(scope="module")
def made_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("tables"), TABLES_ONLY)


@pytest.fixture
def bundle(made: Path, tmp_path: Path) -> Path:
    target = tmp_path / "rel"
    shutil.copytree(made, target)
    return target


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return policy_from(tmp_path, POLICY)


def item(result: CheckResult, name: str) -> CheckItem:
    found = [i for i in result.items if i.name == name]
    assert len(found) == 1, [(i.name, i.detail) for i in result.items]
    return found[0]


def failed(result: CheckResult) -> set[str]:
    return {i.name for i in result.items if not i.passed}


def manifest_of(bundle: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((bundle / "manifest.json").read_text())
    return data


def edit_manifest(bundle: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = manifest_of(bundle)
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def rehash(bundle: Path, *names: str) -> None:
    """What a dishonest tool would do: make the manifest match the edited files."""

    def change(m: dict[str, Any]) -> None:
        for name in names:
            m["outputs"][name] = {"sha256": file_sha256(bundle / name), "rows": None}

    edit_manifest(bundle, change)


def replace_microdata(bundle: Path, frame: pd.DataFrame, *, parquet: bool = True) -> None:
    """Rewrite microdata.csv (and its Parquet copy) and make the hashes match."""
    frame.to_csv(bundle / "microdata.csv", index=False)
    if parquet:
        frame.to_parquet(bundle / "microdata.parquet", index=False)
    rehash(bundle, "microdata.csv", "microdata.parquet")


def microdata(bundle: Path) -> pd.DataFrame:
    return read_table(bundle / "microdata.csv").frame


def test_the_reference_bundle_passes(bundle: Path, policy: Policy) -> None:
    result = check_bundle(bundle, policy)
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    assert "pid hold(s) keyed pseudonyms" in item(result, "identifiers").detail
    assert "microdata" not in {i.name for i in result.items}


# --------------------------------------------------------------------------- 1a outputs


def test_a_tables_only_bundle_fails_a_policy_that_wants_microdata(
    made_tables: Path, policy: Policy, tmp_path: Path
) -> None:
    assert check_bundle(made_tables, policy_from(tmp_path, TABLES_ONLY, "t.yaml")).passed
    result = check_bundle(made_tables, policy)
    assert failed(result) == {"microdata"}
    assert item(result, "microdata").detail == (
        "the policy asks for microdata (outputs.microdata) but there is no microdata.csv"
    )


def test_microdata_the_policy_does_not_allow_fails(bundle: Path, tmp_path: Path) -> None:
    result = check_bundle(bundle, policy_from(tmp_path, TABLES_ONLY, "t.yaml"))
    assert "microdata" in failed(result)
    assert "the policy has no outputs.microdata" in item(result, "microdata").detail


def test_a_bundle_without_synthetic_data_fails_a_policy_that_wants_it(
    bundle: Path, tmp_path: Path
) -> None:
    result = check_bundle(bundle, policy_from(tmp_path, WITH_SYNTHETIC, "s.yaml"))
    assert "synthetic" in failed(result)
    assert item(result, "synthetic").detail == (
        "the policy asks for synthetic data (outputs.synthetic) but there is no synthetic.csv"
    )


def add_synthetic(bundle: Path, frame: pd.DataFrame, parquet: pd.DataFrame | None = None) -> None:
    frame.to_csv(bundle / "synthetic.csv", index=False)
    (parquet if parquet is not None else frame).to_parquet(
        bundle / "synthetic.parquet", index=False
    )
    rehash(bundle, "synthetic.csv", "synthetic.parquet")


def test_synthetic_files_are_read_and_compared(bundle: Path, tmp_path: Path) -> None:
    wants = policy_from(tmp_path, WITH_SYNTHETIC, "s.yaml")
    fake = pd.DataFrame({"age": [20, 40, 70], "sex": ["f", "m", "f"], "hiv": ["neg"] * 3})
    add_synthetic(bundle, fake)
    result = check_bundle(bundle, wants)
    # Readable, but not what the policy synthesises (tests/release/test_check_synthetic.py).
    assert item(result, "synthetic").detail == (
        "synthetic.csv has the columns ['age', 'sex', 'hiv'], not the policy's synthetic "
        "columns ['age', 'sex', 'village', 'hiv', 'income']; manifest.json has no synthetic "
        "account (synthetic)"
    )

    # the same file against a policy without synthetic output
    unwanted = check_bundle(bundle, policy_from(tmp_path, POLICY))
    assert "the policy has no outputs.synthetic" in item(unwanted, "synthetic").detail

    add_synthetic(bundle, fake.assign(name="x"), parquet=fake.iloc[:2])
    detail = item(check_bundle(bundle, wants), "synthetic").detail
    assert "columns that must be removed are present: name" in detail
    assert "synthetic.parquet and synthetic.csv have different columns" in detail

    (bundle / "synthetic.csv").write_bytes(b"")
    rehash(bundle, "synthetic.csv")
    detail = item(check_bundle(bundle, wants), "synthetic").detail
    assert detail.startswith("synthetic.csv cannot be read: ") and "empty" in detail


# --------------------------------------------------------------------------- 1b pseudonyms


def test_raw_values_in_a_pseudonymised_column_fail(bundle: Path, policy: Policy) -> None:
    frame = microdata(bundle)
    frame["pid"] = [f"P{i:03d}" for i in range(len(frame))]
    replace_microdata(bundle, frame)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"identifiers"}
    detail = item(result, "identifiers").detail
    assert detail == (
        f"pid: {len(frame)} value(s) are not keyed pseudonyms (16 lowercase hex digits)"
    )
    assert "P00" not in json.dumps(result.to_dict())


def test_one_raw_value_among_pseudonyms_fails(bundle: Path, policy: Policy) -> None:
    frame = microdata(bundle)
    frame["pid"] = frame["pid"].astype(object)
    frame.loc[3, "pid"] = "Zq Person 3"
    frame.loc[4, "pid"] = None  # a missing value is allowed
    replace_microdata(bundle, frame)
    detail = item(check_bundle(bundle, policy), "identifiers").detail
    assert detail == "pid: 1 value(s) are not keyed pseudonyms (16 lowercase hex digits)"


def test_phone_numbers_in_a_pseudonymised_column_fail(bundle: Path, policy: Policy) -> None:
    """Digit strings match [0-9a-f]: numbers of the pseudonym length are still refused."""
    frame = microdata(bundle)
    frame["pid"] = [f"{2547000000000000 + i}" for i in range(len(frame))]
    replace_microdata(bundle, frame)
    detail = item(check_bundle(bundle, policy), "identifiers").detail
    assert detail == "pid: every value is a plain number, not a keyed pseudonym"


def test_pseudonyms_of_another_length_than_recorded_fail(bundle: Path, policy: Policy) -> None:
    frame = microdata(bundle)
    frame["pid"] = frame["pid"].str[:10]
    replace_microdata(bundle, frame)
    assert "pid: 60 value(s) are not keyed pseudonyms" in (
        item(check_bundle(bundle, policy), "identifiers").detail
    )


def test_without_a_valid_length_any_8_to_64_hex_digits_pass(bundle: Path, policy: Policy) -> None:
    def no_length(m: dict[str, Any]) -> None:
        for t in m["microdata"]["treatments"]:
            if t["name"] == "pseudonymize":
                t["parameters"]["length"] = "sixteen"

    edit_manifest(bundle, no_length)
    assert item(check_bundle(bundle, policy), "identifiers").passed
    frame = microdata(bundle)
    frame["pid"] = frame["pid"].str[:7]
    replace_microdata(bundle, frame)
    assert (
        "(8 to 64 lowercase hex digits)" in item(check_bundle(bundle, policy), "identifiers").detail
    )


def test_a_pseudonymised_column_needs_its_treatment_in_the_manifest(
    bundle: Path, policy: Policy
) -> None:
    def forget(m: dict[str, Any]) -> None:
        m["microdata"]["treatments"] = [
            t for t in m["microdata"]["treatments"] if t["name"] != "pseudonymize"
        ]

    edit_manifest(bundle, forget)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"identifiers"}
    assert item(result, "identifiers").detail == (
        "pid must be pseudonymised but no pseudonymize treatment in the manifest names it"
    )


def test_a_dropped_pseudonym_column_is_fine(bundle: Path, policy: Policy) -> None:
    replace_microdata(bundle, microdata(bundle).drop(columns=["pid"]))
    result = check_bundle(bundle, policy)
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    assert item(result, "identifiers").detail == "no direct identifier or dropped column is present"


# --------------------------------------------------------------------------- 1c parquet


def test_a_parquet_copy_with_other_columns_fails(bundle: Path, policy: Policy) -> None:
    frame = microdata(bundle)
    frame.assign(name="someone").to_parquet(bundle / "microdata.parquet", index=False)
    rehash(bundle, "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"microdata"}
    assert item(result, "microdata").detail == (
        "microdata.parquet and microdata.csv have different columns (only in the Parquet "
        "file: ['name']; only in the CSV: [])"
    )
    frame[list(reversed(frame.columns))].to_parquet(bundle / "microdata.parquet", index=False)
    rehash(bundle, "microdata.parquet")
    assert (
        "the same columns in another order"
        in item(check_bundle(bundle, policy), "microdata").detail
    )


def test_a_parquet_copy_with_other_rows_fails(bundle: Path, policy: Policy) -> None:
    frame = microdata(bundle)
    frame.iloc[:-1].to_parquet(bundle / "microdata.parquet", index=False)
    rehash(bundle, "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"microdata"}
    assert item(result, "microdata").detail == (
        f"microdata.parquet has {len(frame) - 1} records but microdata.csv has {len(frame)}"
    )


def test_a_parquet_copy_with_other_values_fails(bundle: Path, policy: Policy) -> None:
    frame = pd.read_parquet(bundle / "microdata.parquet")
    frame.loc[0, "sex"] = "m" if frame.loc[0, "sex"] == "f" else "f"
    frame.to_parquet(bundle / "microdata.parquet", index=False)
    rehash(bundle, "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert item(result, "microdata").detail == (
        "microdata.parquet and microdata.csv hold different values in ['sex']"
    )


def test_numbers_and_missing_values_compare_across_formats(bundle: Path, policy: Policy) -> None:
    """Integers stored as floats, and missing vs empty, are the same values."""
    frame = pd.read_parquet(bundle / "microdata.parquet")
    frame["income"] = frame["income"].astype(float)
    frame.to_parquet(bundle / "microdata.parquet", index=False)
    rehash(bundle, "microdata.parquet")
    assert check_bundle(bundle, policy).passed
    assert microdata(bundle).isna().any().any()  # suppressed values: empty in the CSV


def test_an_unreadable_parquet_copy_fails(bundle: Path, policy: Policy) -> None:
    (bundle / "microdata.parquet").write_bytes(b"PAR1 not really")
    rehash(bundle, "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"microdata"}
    assert item(result, "microdata").detail.startswith("microdata.parquet cannot be read: ")


def test_a_bundle_without_a_parquet_copy_is_checked_on_the_csv(
    bundle: Path, policy: Policy
) -> None:
    (bundle / "microdata.parquet").unlink()
    edit_manifest(bundle, lambda m: m["outputs"].pop("microdata.parquet"))
    assert check_bundle(bundle, policy).passed


# --------------------------------------------------------------------------- 1d delta


def spend_delta(delta: float, listed: float | None = None) -> Callable[[dict[str, Any]], None]:
    def change(m: dict[str, Any]) -> None:
        m["tables"][1]["budget"]["delta"] = delta
        m["privacy"]["spent"]["delta"] = delta if listed is None else listed

    return change


def test_delta_over_the_policy_cap_fails(bundle: Path, policy: Policy) -> None:
    assert policy.privacy.delta == 1e-6
    edit_manifest(bundle, spend_delta(1e-5))
    result = check_bundle(bundle, policy)
    assert failed(result) == {"budget", "table sum_income_by_village"}
    assert item(result, "table sum_income_by_village").detail == "delta 1e-05 (policy: 0)"
    assert item(result, "budget").detail == (
        "delta 1e-05 spent, above the policy's privacy.delta 1e-06"
    )


def test_delta_within_the_cap_passes(bundle: Path, policy: Policy) -> None:
    edit_manifest(bundle, spend_delta(1e-6))
    detail = item(check_bundle(bundle, policy), "budget").detail
    assert detail == "epsilon 0.4 spent of 1; delta 1e-06 of 1e-06"


def test_delta_that_does_not_add_up_fails(bundle: Path, policy: Policy) -> None:
    edit_manifest(bundle, spend_delta(5e-7, listed=1e-7))
    assert item(check_bundle(bundle, policy), "budget").detail == (
        "the outputs add up to delta 5e-07 but the manifest says 1e-07"
    )


def test_synthetic_budget_counts(bundle: Path, policy: Policy) -> None:
    def add(m: dict[str, Any]) -> None:
        m["synthetic"] = {"method": "mst", "epsilon": 0.5, "delta": 1e-9}

    edit_manifest(bundle, add)
    detail = item(check_bundle(bundle, policy), "budget").detail
    assert detail.startswith("the outputs add up to epsilon 0.9 but the manifest says 0.4")
    assert "delta 1e-09 but the manifest says 0" in detail


# --------------------------------------------------------------------------- 2 corrupt tables


def test_a_table_without_a_flag_column_fails(bundle: Path, policy: Policy) -> None:
    pd.read_csv(bundle / COUNT).drop(columns=["flag"]).to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"table count_by_village_sex"}
    assert item(result, "table count_by_village_sex").detail == "no flag column"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"village,sex,count,flag\n\xff\xfeA,f,3,published\n", "can't decode byte"),
        (b"", "No columns to parse from file"),
        (b'village,sex,count,flag\n"A,f,3,published\n', "EOF inside string"),
    ],
    ids=["not utf-8", "empty", "unclosed quote"],
)
def test_an_unreadable_table_fails(
    bundle: Path, policy: Policy, content: bytes, expected: str
) -> None:
    (bundle / COUNT).write_bytes(content)
    rehash(bundle, COUNT)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"table count_by_village_sex"}
    detail = item(result, "table count_by_village_sex").detail
    assert detail.startswith("count_by_village_sex.csv cannot be read as a UTF-8 CSV table (")
    assert expected in detail


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.assign(flag="hidden"), "unknown cell flag(s) ['hidden']"),
        (lambda t: t.drop(columns=["sex"]), "no column for the by variable(s) ['sex']"),
        (
            lambda t: t.assign(count=t["count"].astype(str).replace("nan", "")).assign(
                count=lambda x: x["count"].where(x["flag"] != "published", "many")
            ),
            "a published cell has no number",
        ),
        (
            lambda t: t[["sex", "village", "count", "flag"]],
            "the columns before count are not the by variables ['village', 'sex']",
        ),
        (
            lambda t: t.iloc[1:],
            "suppression pattern cannot be audited: audit needs every cell of the table",
        ),
    ],
    ids=["flag", "by column", "text value", "column order", "missing cell"],
)
def test_a_malformed_table_fails(
    bundle: Path, policy: Policy, edit: Callable[[pd.DataFrame], pd.DataFrame], expected: str
) -> None:
    tidy = pd.read_csv(bundle / COUNT, keep_default_na=False, na_values=[""])
    edit(tidy).to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"table count_by_village_sex"}
    assert expected in item(result, "table count_by_village_sex").detail


def test_a_table_folder_in_place_of_a_file_fails(bundle: Path, policy: Policy) -> None:
    (bundle / COUNT).unlink()
    (bundle / COUNT).mkdir()
    result = check_bundle(bundle, policy)
    assert (
        "cannot be read as a UTF-8 CSV table" in item(result, "table count_by_village_sex").detail
    )


# --------------------------------------------------------------------------- 2 corrupt microdata


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "microdata.csv cannot be read: microdata.csv: the file is empty"),
        (b"age,sex,village\n", "microdata.csv cannot be read: microdata.csv: has a header"),
        (b"\x00\x01\x02", "microdata.csv cannot be read: microdata.csv: not a text file"),
    ],
    ids=["empty", "header only", "binary"],
)
def test_unreadable_microdata_fails(
    bundle: Path, policy: Policy, content: bytes, expected: str
) -> None:
    (bundle / "microdata.csv").write_bytes(content)
    rehash(bundle, "microdata.csv")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"microdata"}
    assert item(result, "microdata").detail.startswith(expected)
    assert not {"identifiers", "risk", "suppression"} & {i.name for i in result.items}


def test_a_weight_column_that_is_not_numeric_fails_the_risk(bundle: Path, tmp_path: Path) -> None:
    weighted = policy_from(
        tmp_path, POLICY.replace("columns:\n", "data: {weight: wgt}\ncolumns:\n"), "w.yaml"
    )
    frame = microdata(bundle).assign(wgt="heavy")
    replace_microdata(bundle, frame)
    detail = item(check_bundle(bundle, weighted), "risk").detail
    assert detail.startswith("the risk cannot be recomputed: ")


# --------------------------------------------------------------------------- 2 corrupt manifest


MANIFEST_EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "outputs a list": (
        lambda m: m.__setitem__("outputs", [1]),
        "hashes",
        "manifest.json: outputs: Input should be a JSON object",
    ),
    "outputs missing": (lambda m: m.pop("outputs"), "hashes", "manifest.json has no 'outputs'"),
    "sha256 a number": (
        lambda m: m["outputs"]["report.html"].__setitem__("sha256", 5),
        "hashes",
        "manifest.json: outputs.report.html.sha256: Input should be a valid string",
    ),
    "k a string": (
        lambda m: m["policy"]["thresholds"].__setitem__("k", "2"),
        "policy",
        "manifest.json: policy.thresholds.k: Input should be a valid number",
    ),
    "k true": (
        lambda m: m["policy"]["thresholds"].__setitem__("k", True),
        "policy",
        "manifest.json: policy.thresholds.k: Input should be a valid number",
    ),
    "thresholds a list": (
        lambda m: m["policy"].__setitem__("thresholds", [2]),
        "policy",
        "manifest.json: policy.thresholds: Input should be a JSON object",
    ),
    "column a string": (
        lambda m: m["policy"]["columns"].__setitem__("age", "quasi"),
        "policy",
        "manifest.json: policy.columns.age: Input should be a JSON object",
    ),
    "policy missing": (lambda m: m.pop("policy"), "policy", "manifest.json has no 'policy'"),
    "share a string": (
        lambda m: m["microdata"].__setitem__("suppression_share", "0.1"),
        "microdata",
        "manifest.json: microdata.suppression_share: Input should be a valid number",
    ),
    "share over 1": (
        lambda m: m["microdata"].__setitem__("suppression_share", 2),
        "microdata",
        "manifest.json: microdata.suppression_share: Input should be less than or equal to 1",
    ),
    "treatments a dict": (
        lambda m: m["microdata"].__setitem__("treatments", {"a": 1}),
        "microdata",
        "manifest.json: microdata.treatments: Input should be a valid list",
    ),
    "epsilon a string": (
        lambda m: m["privacy"]["spent"].__setitem__("epsilon", "0.4"),
        "budget",
        "manifest.json: privacy.spent.epsilon: Input should be a valid number",
    ),
    "epsilon NaN": (
        lambda m: m["privacy"]["spent"].__setitem__("epsilon", float("nan")),
        "budget",
        "manifest.json: privacy.spent.epsilon: Input should be a finite number",
    ),
    "epsilon negative": (
        lambda m: m["privacy"]["spent"].__setitem__("epsilon", -1),
        "budget",
        "manifest.json: privacy.spent.epsilon: Input should be greater than or equal to 0",
    ),
    "privacy missing": (lambda m: m.pop("privacy"), "budget", "manifest.json has no 'privacy'"),
    "synthetic a number": (
        lambda m: m.__setitem__("synthetic", 1),
        "budget",
        "manifest.json: synthetic: Input should be a JSON object",
    ),
    "tables a dict": (
        lambda m: m.__setitem__("tables", {"a": 1}),
        "tables",
        "manifest.json: tables: Input should be a valid list",
    ),
    "table budget a string": (
        lambda m: m["tables"][1]["budget"].__setitem__("epsilon", "0.4"),
        "table sum_income_by_village",
        "manifest.json: tables[1].budget.epsilon: Input should be a valid number",
    ),
    "table entry a number": (
        lambda m: m["tables"].__setitem__(0, 7),
        "tables[0]",
        "manifest.json: tables[0]: Input should be a JSON object",
    ),
    "table name escapes": (
        lambda m: m["tables"][0].__setitem__("name", "../../etc/passwd"),
        "table ../../etc/passwd",
        "manifest.json: tables[0].name: String should match pattern",
    ),
}


@pytest.mark.parametrize("kind", list(MANIFEST_EDITS))
def test_a_malformed_manifest_field_fails_its_check(
    bundle: Path, policy: Policy, kind: str
) -> None:
    change, name, expected = MANIFEST_EDITS[kind]
    edit_manifest(bundle, change)
    result = check_bundle(bundle, policy)
    assert not result.passed
    assert name in failed(result)
    assert item(result, name).detail.startswith(expected), item(result, name).detail
    json.dumps(result.to_dict())


def test_the_budget_fails_when_a_table_entry_is_malformed(bundle: Path, policy: Policy) -> None:
    edit_manifest(bundle, MANIFEST_EDITS["table budget a string"][0])
    detail = item(check_bundle(bundle, policy), "budget").detail
    assert detail.startswith("manifest.json: tables[1].budget.epsilon: Input should be a valid")


def test_a_listed_output_outside_the_bundle_is_refused(
    bundle: Path, policy: Policy, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")

    def point_outside(m: dict[str, Any]) -> None:
        m["outputs"]["../secret.txt"] = {"sha256": file_sha256(secret), "rows": None}
        m["outputs"][str(secret)] = {"sha256": file_sha256(secret), "rows": None}

    edit_manifest(bundle, point_outside)
    detail = item(check_bundle(bundle, policy), "hashes").detail
    assert detail == (
        f"../secret.txt is not a path inside the bundle; {secret} is not a path inside the bundle"
    )


def test_a_manifest_that_is_not_an_object_is_a_data_error(bundle: Path, policy: Policy) -> None:
    (bundle / "manifest.json").write_text("[1, 2]")
    with pytest.raises(DataError, match="not an sdc manifest"):
        check_bundle(bundle, policy)
    (bundle / "manifest.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(DataError, match="not valid JSON"):
        check_bundle(bundle, policy)


# --------------------------------------------------------------------------- never a traceback

_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*prefix, i))
    return found


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_corrupted_manifest_field_gives_check_items(
    made: Path, tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    """Replace one field of a real manifest by arbitrary JSON: items or a DataError only."""
    folder = tmp_path_factory.mktemp("fuzz") / "rel"
    shutil.copytree(made, folder)
    manifest = manifest_of(folder)
    paths = [p for p in _paths(manifest) if p[0] != "schema"]
    where = data.draw(st.sampled_from(paths))
    value = data.draw(_JSON)
    target: Any = manifest
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    (folder / "manifest.json").write_text(json.dumps(manifest))
    policy = parse_policy(POLICY)
    result = check_bundle(folder, policy)
    json.dumps(result.to_dict())
    assert all(isinstance(i.detail, str) and i.detail for i in result.items)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(content=st.binary(max_size=200), which=st.sampled_from([COUNT, DP, "microdata.csv"]))
def test_any_bytes_in_an_output_give_check_items(
    made: Path, tmp_path_factory: pytest.TempPathFactory, content: bytes, which: str
) -> None:
    folder = tmp_path_factory.mktemp("bytes") / "rel"
    shutil.copytree(made, folder)
    (folder / which).write_bytes(content)
    result = check_bundle(folder, parse_policy(POLICY))
    assert not result.passed


def test_the_cli_reports_a_corrupt_bundle_without_a_traceback(bundle: Path, tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(POLICY)
    pd.read_csv(bundle / COUNT).drop(columns=["flag"]).to_csv(bundle / COUNT, index=False)
    edit_manifest(bundle, lambda m: m.__setitem__("outputs", [1]))
    (bundle / "microdata.csv").write_bytes(b"")
    result = CliRunner().invoke(cli, ["check", str(bundle), "--policy", str(tmp_path / "p.yaml")])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "no flag column" in result.output
    assert "outputs: Input should be a JSON object" in result.output


# --------------------------------------------------------------------------- 3 closed world

#: Recoding only (no suppression): k = 2 holds by the age bands alone. The officer's
#: policy drops what it does not name (village, income).
RECODE_ONLY = """\
version: 1
name: recoded
unlisted: drop
columns:
  name: {role: direct}
  pid: {role: direct, action: pseudonymize}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode]}
"""


@pytest.fixture(scope="module")
def made_recoded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_bundle(tmp_path_factory.mktemp("recoded"), RECODE_ONLY)


@pytest.fixture
def recoded(made_recoded: Path, tmp_path: Path) -> Path:
    target = tmp_path / "rel"
    shutil.copytree(made_recoded, target)
    return target


def test_unlisted_columns_are_dropped_and_the_bundle_passes(recoded: Path, tmp_path: Path) -> None:
    result = check_bundle(recoded, policy_from(tmp_path, RECODE_ONLY))
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    assert sorted(microdata(recoded).columns) == ["age", "hiv", "pid", "sex"]
    assert item(result, "columns").detail == (
        "every released column is named by the policy; no quasi-identifier is identifier-like"
    )
    dropped = [t for t in manifest_of(recoded)["microdata"]["treatments"] if t["name"] == "drop"]
    assert ["income", "village"] in [sorted(t["columns"]) for t in dropped]


def test_a_released_column_the_policy_does_not_name_fails(recoded: Path, tmp_path: Path) -> None:
    frame = microdata(recoded)
    frame["contact_phone"] = [f"+254 7{i:02d} {i * 7 % 1000:03d} 111" for i in range(len(frame))]
    frame["roof"] = ["tin", "tile", "thatch"] * (len(frame) // 3)
    replace_microdata(recoded, frame)
    result = check_bundle(recoded, policy_from(tmp_path, RECODE_ONLY))
    assert failed(result) == {"columns"}
    assert item(result, "columns").detail == (
        "columns the policy does not name: 'contact_phone' (direct: looks like phone numbers), "
        "'roof' (quasi: a category with 3 values: may combine with others)"
    )


def test_with_unlisted_keep_only_identifier_like_columns_fail(
    recoded: Path, tmp_path: Path
) -> None:
    keep = policy_from(tmp_path, RECODE_ONLY.replace("unlisted: drop", "unlisted: keep"), "k.yaml")
    frame = microdata(recoded)
    frame["roof"] = ["tin", "tile", "thatch"] * (len(frame) // 3)
    replace_microdata(recoded, frame)
    assert check_bundle(recoded, keep).passed
    assert item(check_bundle(recoded, keep), "columns").detail == (
        "no released column that the policy does not name looks like an identifier; "
        "no quasi-identifier is identifier-like"
    )
    frame["contact_phone"] = [f"+254 7{i:02d} {i * 7 % 1000:03d} 111" for i in range(len(frame))]
    replace_microdata(recoded, frame)
    result = check_bundle(recoded, keep)
    assert failed(result) == {"columns"}
    assert item(result, "columns").detail == (
        "columns the policy does not name that look like identifiers: 'contact_phone' "
        "(direct: looks like phone numbers)"
    )


def test_an_identifier_like_quasi_identifier_fails_even_among_blanks(
    recoded: Path, tmp_path: Path
) -> None:
    """The attack of issue 12: a few ids blanked, the rest released as they are."""
    frame = microdata(recoded)
    frame["age"] = [None] * 8 + [f"{1000 + i}" for i in range(len(frame) - 8)]
    replace_microdata(recoded, frame)
    result = check_bundle(recoded, policy_from(tmp_path, RECODE_ONLY))
    assert "columns" in failed(result)
    assert item(result, "columns").detail == (
        "quasi-identifier 'age' is an identifier: 100% of its 52 values are unique"
    )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=st.lists(
        st.sampled_from(["age", "sex", "hiv", "pid", "x", "phone"]), min_size=1, max_size=4
    ),
    cells=st.lists(st.text(alphabet="ab1 +", max_size=5), max_size=12),
)
def test_any_released_columns_give_a_columns_item(
    made_recoded: Path,
    tmp_path_factory: pytest.TempPathFactory,
    header: list[str],
    cells: list[str],
) -> None:
    folder = tmp_path_factory.mktemp("cols") / "rel"
    shutil.copytree(made_recoded, folder)
    lines = [",".join(header)] + [
        ",".join(cells[(i + j) % len(cells)] if cells else "" for j in range(len(header)))
        for i in range(len(cells))
    ]
    (folder / "microdata.csv").write_text("\n".join(lines) + "\n")
    result = check_bundle(folder, parse_policy(RECODE_ONLY))
    json.dumps(result.to_dict())
    assert all(isinstance(i.detail, str) and i.detail for i in result.items)
    assert not result.passed  # the file no longer matches its hash
