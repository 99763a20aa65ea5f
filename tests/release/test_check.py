"""``check_bundle``: a good bundle passes; tampering, weaker policies and dishonest tables fail."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.io import file_sha256, read_table
from sdc.policy import Policy, parse_policy
from sdc.release.check import CheckResult, check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release

POLICY = """\
version: 1
name: checked
columns:
  name: {role: direct}
  pid: {role: direct, action: pseudonymize}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi, categories: [f, m]}
  village: {role: quasi, categories: [A, B, C, D]}
  hiv: {role: sensitive}
  income: {role: sensitive, bounds: [0, 1000]}
thresholds: {k: 2, max_suppression: 0.5}
outputs:
  microdata: {treatments: [recode, suppress]}
  tables:
    - {by: [village, sex], count: true, min_cell: 3}
    - {by: [village], sum: income, dp: {epsilon: 0.4}}
privacy: {budget: 1.0, dataset: survey}
"""

COUNT = "tables/count_by_village_sex.csv"
DP = "tables/sum_income_by_village.csv"


def survey(n: int = 60) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "name": f"Zq Person {i}",
                "pid": f"P{i:03d}",
                "age": 18 + (i * 7) % 70,
                "sex": "f" if i % 2 else "m",
                "village": "D" if i >= n - 3 else "ABC"[i % 3],
                "hiv": "pos" if i % 5 == 0 else "neg",
                "income": (i * 37) % 900,
            }
        )
    return pd.DataFrame(rows)


def policy_from(folder: Path, text: str, name: str = "p.yaml") -> Policy:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return parse_policy(text, source=path)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """One good bundle made under POLICY (copied by each test before tampering)."""
    folder = tmp_path_factory.mktemp("made")
    mp = pytest.MonkeyPatch()
    mp.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
    try:
        frame = survey()
        frame.to_csv(folder / "survey.csv", index=False)
        policy = policy_from(folder, POLICY)
        release(
            read_table(folder / "survey.csv"),
            policy,
            folder / "rel",
            seed=3,
            ledger=Ledger(folder / "ledger.jsonl"),
        )
    finally:
        mp.undo()
    return folder / "rel", frame


@pytest.fixture
def bundle(made: tuple[Path, pd.DataFrame], tmp_path: Path) -> Path:
    target = tmp_path / "rel"
    shutil.copytree(made[0], target)
    return target


@pytest.fixture
def policy(tmp_path: Path) -> Policy:
    return policy_from(tmp_path, POLICY)


def item(result: CheckResult, name: str) -> Any:
    found = [i for i in result.items if i.name == name]
    assert len(found) == 1, [i.name for i in result.items]
    return found[0]


def failed(result: CheckResult) -> set[str]:
    return {i.name for i in result.items if not i.passed}


def rehash(bundle: Path, *names: str) -> None:
    """What a dishonest tool would do: make the manifest match the edited files."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in names:
        manifest["outputs"][name]["sha256"] = file_sha256(bundle / name)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


def edit_manifest(bundle: Path, change: Any) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    change(manifest)
    (bundle / "manifest.json").write_text(json.dumps(manifest))


# --------------------------------------------------------------------------- good bundle


def test_a_good_bundle_passes(bundle: Path, policy: Policy) -> None:
    result = check_bundle(bundle, policy)
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    names = [i.name for i in result.items]
    assert names == [
        "hashes",
        "policy",
        "identifiers",
        "risk",
        "suppression",
        "recodes",
        "rows",
        "columns",
        "table count_by_village_sex",
        "table sum_income_by_village",
        "budget",
    ]
    assert item(result, "hashes").detail.endswith("files match their SHA-256 in the manifest")
    assert "smallest group" in item(result, "risk").detail
    assert item(result, "budget").detail == "epsilon 0.4 spent of 1"
    data = result.to_dict()
    assert data["schema"] == "sdc.check/1" and data["passed"] is True
    assert len(data["checks"]) == len(names)
    json.dumps(data)


def test_the_count_table_really_has_suppressed_cells(bundle: Path) -> None:
    tidy = pd.read_csv(bundle / COUNT, keep_default_na=False, na_values=[""])
    assert set(tidy["flag"]) == {"published", "primary", "secondary"}


# --------------------------------------------------------------------------- hashes


def _replace_first(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


TAMPER = {
    "microdata": lambda b: _replace_first(b / "microdata.csv", "f", "m"),
    "parquet": lambda b: (b / "microdata.parquet").write_bytes(
        (b / "microdata.parquet").read_bytes() + b"\0"
    ),
    "table": lambda b: _replace_first(b / COUNT, "published", "primary"),
    "pivot": lambda b: (b / "tables" / "count_by_village_sex-pivot.csv").write_text("x\n1\n"),
    "risk json": lambda b: _replace_first(b / "risk-after.json", '"passed": true', '"passed": 1'),
    "risk before": lambda b: (b / "risk-before.json").write_text("{}"),
    "report": lambda b: _replace_first(b / "report.html", "</body>", "<img src=x></body>"),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_a_changed_output_fails_the_hashes(bundle: Path, policy: Policy, kind: str) -> None:
    TAMPER[kind](bundle)
    result = check_bundle(bundle, policy)
    assert not result.passed
    hashes = item(result, "hashes")
    assert not hashes.passed
    assert "was changed after the release (SHA-256 differs)" in hashes.detail


def test_a_deleted_file_fails_the_hashes(bundle: Path, policy: Policy) -> None:
    (bundle / "risk-before.json").unlink()
    result = check_bundle(bundle, policy)
    assert item(result, "hashes").detail == "risk-before.json is missing"
    assert failed(result) == {"hashes"}


def test_a_deleted_table_fails_hashes_and_table(bundle: Path, policy: Policy) -> None:
    (bundle / COUNT).unlink()
    result = check_bundle(bundle, policy)
    assert failed(result) == {"hashes", "table count_by_village_sex"}
    assert item(result, "table count_by_village_sex").detail == "the table file is missing"


def test_an_unlisted_file_fails_the_hashes(bundle: Path, policy: Policy) -> None:
    (bundle / "tables" / "extra.csv").write_text("village,count\nA,1\n")
    result = check_bundle(bundle, policy)
    assert item(result, "hashes").detail == "tables/extra.csv is not listed in the manifest"
    assert failed(result) == {"hashes"}


# --------------------------------------------------------------------------- policy


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{k: 2, max_suppression: 0.5}", "{k: 3, max_suppression: 0.5}", "k was 2 (policy: 3)"),
        ("{k: 2, max_suppression: 0.5}", "{k: 2, l: 2, max_suppression: 0.5}", "l was not set"),
        (
            "{k: 2, max_suppression: 0.5}",
            "{k: 2, max_suppression: 0.2}",
            "max_suppression was 0.5 (policy: 0.2)",
        ),
        (
            "{k: 2, max_suppression: 0.5}",
            "{k: 2, max_suppression: 0.5, max_individual_risk: 0.5}",
            "max_individual_risk was not set (policy: 0.5)",
        ),
        ("  name: {role: direct}\n", "  name: {role: direct}\n  hiv2: {role: quasi}\n", None),
    ],
    ids=["smaller k", "missing l", "more suppression", "no risk limit", "unknown quasi"],
)
def test_a_weaker_policy_fails(
    bundle: Path, tmp_path: Path, old: str, new: str, message: str | None
) -> None:
    stricter = policy_from(tmp_path, POLICY.replace(old, new), "strict.yaml")
    result = check_bundle(bundle, stricter)
    check = item(result, "policy")
    assert not check.passed
    assert check.detail.startswith("the bundle was made under a weaker policy: ")
    assert (message or "not treated as quasi-identifiers: hiv2") in check.detail


def test_a_bundle_made_with_fewer_quasi_identifiers_fails(tmp_path: Path) -> None:
    weak_text = POLICY.replace(
        "  village: {role: quasi, categories: [A, B, C, D]}",
        "  village: {role: other, categories: [A, B, C, D]}",
    )
    (tmp_path / "w").mkdir()
    survey().to_csv(tmp_path / "w" / "survey.csv", index=False)
    weak = policy_from(tmp_path / "w", weak_text)
    mp = pytest.MonkeyPatch()
    mp.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
    try:
        release(
            read_table(tmp_path / "w" / "survey.csv"),
            weak,
            tmp_path / "weak",
            ledger=Ledger(tmp_path / "l"),
        )
    finally:
        mp.undo()
    assert check_bundle(tmp_path / "weak", weak).passed
    result = check_bundle(tmp_path / "weak", policy_from(tmp_path, POLICY))
    assert "not treated as quasi-identifiers: village" in item(result, "policy").detail
    assert not result.passed


def test_a_stricter_bundle_passes_a_weaker_policy(bundle: Path, tmp_path: Path) -> None:
    lenient = policy_from(
        tmp_path, POLICY.replace("max_suppression: 0.5", "max_suppression: 0.9"), "len.yaml"
    )
    assert item(check_bundle(bundle, lenient), "policy").passed


# --------------------------------------------------------------------------- microdata


def test_a_restored_identifier_column_fails(bundle: Path, policy: Policy) -> None:
    frame = read_table(bundle / "microdata.csv").frame
    frame["name"] = "someone"
    frame.to_csv(bundle / "microdata.csv", index=False)
    frame.to_parquet(bundle / "microdata.parquet", index=False)  # a thorough forger edits both
    rehash(bundle, "microdata.csv", "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"identifiers"}
    assert "columns that must be removed are present: name" in item(result, "identifiers").detail


def test_a_unique_record_fails_the_recomputed_risk(bundle: Path, policy: Policy) -> None:
    frame = read_table(bundle / "microdata.csv").frame
    frame.loc[0, ["age", "sex", "village"]] = ["0-29", "f", "Z"]
    frame.to_csv(bundle / "microdata.csv", index=False)
    frame.to_parquet(bundle / "microdata.parquet", index=False)  # a thorough forger edits both
    rehash(bundle, "microdata.csv", "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"risk"}
    assert "k is 1 (limit 2)" in item(result, "risk").detail


def test_a_missing_quasi_identifier_column_fails(bundle: Path, policy: Policy) -> None:
    frame = read_table(bundle / "microdata.csv").frame.drop(columns=["village"])
    frame.to_csv(bundle / "microdata.csv", index=False)
    frame.to_parquet(bundle / "microdata.parquet", index=False)  # a thorough forger edits both
    rehash(bundle, "microdata.csv", "microdata.parquet")
    result = check_bundle(bundle, policy)
    assert failed(result) == {"risk"}
    assert "missing from the microdata" in item(result, "risk").detail


def test_suppression_over_the_limit_fails(bundle: Path, tmp_path: Path, policy: Policy) -> None:
    share = json.loads((bundle / "manifest.json").read_text())["microdata"]["suppression_share"]
    assert 0 < share <= 0.5
    tight = policy_from(
        tmp_path, POLICY.replace("max_suppression: 0.5", f"max_suppression: {share / 2}"), "t.yaml"
    )
    result = check_bundle(bundle, tight)
    assert {"suppression", "policy"} <= failed(result)

    def drop_share(m: dict[str, Any]) -> None:
        del m["microdata"]["suppression_share"]

    edit_manifest(bundle, drop_share)
    result = check_bundle(bundle, policy)
    assert item(result, "suppression").detail == "the manifest records no suppression share"


# --------------------------------------------------------------------------- tables


def test_a_recomputable_primary_cell_fails_the_table_audit(
    bundle: Path, policy: Policy, made: tuple[Path, pd.DataFrame]
) -> None:
    """A dishonest tool publishes the secondary cells: the primary cells can be recomputed."""
    frame = made[1]
    tidy = pd.read_csv(bundle / COUNT, keep_default_na=False, na_values=[""])
    truth = frame.groupby(["village", "sex"]).size()
    secondary = tidy["flag"] == "secondary"
    assert secondary.any()
    for i in tidy.index[secondary]:
        village, sex = tidy.at[i, "village"], tidy.at[i, "sex"]
        if village == "Total":
            value = int((frame["sex"] == sex).sum())
        elif sex == "Total":
            value = int((frame["village"] == village).sum())
        else:
            value = int(truth.get((village, sex), 0))
        tidy.at[i, "count"] = value
        tidy.at[i, "flag"] = "published"
    tidy.to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"table count_by_village_sex"}
    assert "suppressed primary cell(s) can be recomputed from the published cells" in (
        item(result, "table count_by_village_sex").detail
    )


def test_a_published_small_cell_fails(bundle: Path, policy: Policy) -> None:
    tidy = pd.read_csv(bundle / COUNT, keep_default_na=False, na_values=[""])
    i = tidy.index[tidy["flag"] == "primary"][0]
    tidy.at[i, "count"] = 1
    tidy.at[i, "flag"] = "published"
    tidy.to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    detail = item(check_bundle(bundle, policy), "table count_by_village_sex").detail
    assert "a published count is below min_cell 3" in detail


def test_a_suppressed_cell_with_a_value_fails(bundle: Path, policy: Policy) -> None:
    tidy = pd.read_csv(bundle / COUNT, keep_default_na=False, na_values=[""])
    i = tidy.index[tidy["flag"] == "secondary"][0]
    tidy.at[i, "count"] = 7
    tidy.to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    detail = item(check_bundle(bundle, policy), "table count_by_village_sex").detail
    assert "a suppressed cell shows a value" in detail


def test_dp_cells_without_intervals_fail(bundle: Path, policy: Policy) -> None:
    tidy = pd.read_csv(bundle / DP)
    tidy.drop(columns=["ci_low", "ci_high"]).to_csv(bundle / DP, index=False)
    rehash(bundle, DP)
    detail = item(check_bundle(bundle, policy), "table sum_income_by_village").detail
    assert detail == "DP cells lack noise_scale or their 95% interval"


def test_a_table_without_its_statistic_fails(bundle: Path, policy: Policy) -> None:
    tidy = pd.read_csv(bundle / COUNT)
    tidy.rename(columns={"count": "n"}).to_csv(bundle / COUNT, index=False)
    rehash(bundle, COUNT)
    assert item(check_bundle(bundle, policy), "table count_by_village_sex").detail == (
        "no count column"
    )


def test_a_table_the_policy_names_must_be_there(bundle: Path, tmp_path: Path) -> None:
    text = POLICY.replace(
        "    - {by: [village], sum:",
        "    - {by: [sex], count: true, name: by_sex}\n    - {by: [village], sum:",
    )
    result = check_bundle(bundle, policy_from(tmp_path, text, "more.yaml"))
    assert item(result, "tables").detail == "tables missing: ['by_sex']"


# --------------------------------------------------------------------------- budget


def test_spending_over_the_policy_budget_fails(bundle: Path, policy: Policy) -> None:
    def overspend(m: dict[str, Any]) -> None:
        m["tables"][1]["budget"]["epsilon"] = 1.5
        m["privacy"]["spent"]["epsilon"] = 1.5

    edit_manifest(bundle, overspend)
    result = check_bundle(bundle, policy)
    assert failed(result) == {"budget", "table sum_income_by_village"}
    assert item(result, "budget").detail == "epsilon 1.5 spent, above the policy's budget 1"
    assert item(result, "table sum_income_by_village").detail == "epsilon 1.5 (policy: 0.4)"


def test_spending_that_does_not_add_up_fails(bundle: Path, policy: Policy) -> None:
    def hide(m: dict[str, Any]) -> None:
        m["privacy"]["spent"]["epsilon"] = 0.1

    edit_manifest(bundle, hide)
    detail = item(check_bundle(bundle, policy), "budget").detail
    assert detail == "the outputs add up to epsilon 0.4 but the manifest says 0.1"


# --------------------------------------------------------------------------- not a bundle


def test_not_a_bundle(tmp_path: Path, policy: Policy) -> None:
    with pytest.raises(DataError, match="no such release folder"):
        check_bundle(tmp_path / "nope", policy)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"not a release bundle \(no manifest.json\)"):
        check_bundle(tmp_path / "empty", policy)
    (tmp_path / "empty" / "manifest.json").write_text("{not json")
    with pytest.raises(DataError, match="not valid JSON"):
        check_bundle(tmp_path / "empty", policy)
    (tmp_path / "empty" / "manifest.json").write_text('{"schema": "other"}')
    with pytest.raises(DataError, match="not an sdc manifest"):
        check_bundle(tmp_path / "empty", policy)
