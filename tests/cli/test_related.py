"""``sdc release`` with related tables (repeat groups): every refusal, word for word."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.cli._runner import run
from tests.release._repeat_surveys import KOBO_POLICY, ODK_POLICY, kobo_workbook, odk_csvs


@pytest.fixture
def kobo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    monkeypatch.chdir(tmp_path)
    kobo_workbook(tmp_path)
    return tmp_path


def _release(folder: Path, policy: str, data: str = "survey.xlsx") -> tuple[int, str]:
    (folder / "kobo.yaml").write_text(policy)
    args = [data, "--policy", "kobo.yaml", "--out", "rel"]
    if data.endswith(".xlsx"):
        args += ["--sheet", "survey"]
    code, _, err = run("release", *args)
    assert not (folder / "rel").exists() or code == 0
    return code, err


CASES = [
    (
        "an unknown link column",
        KOBO_POLICY.replace("column: _parent_index", "column: _parent_idx"),
        "Error: kobo.yaml line 14: related.0.link.column '_parent_idx' is not a column of "
        "members (sheet 'members' of survey.xlsx) (did you mean '_parent_index'?)\n",
    ),
    (
        "an unknown parent key",
        KOBO_POLICY.replace("to: _index", "to: _idx"),
        "Error: kobo.yaml line 14: related.0.link.to is not a column of survey.xlsx "
        "(did you mean '_index'?)\n",
    ),
    (
        "an unknown sheet",
        KOBO_POLICY.replace("sheet: members", "sheet: membres"),
        "Error: kobo.yaml line 12: related.0 (members) cannot be read: survey.xlsx: no sheet "
        "named 'membres'; the sheets are ['survey', 'members']\n",
    ),
    (
        "a submission uuid left unnamed",
        KOBO_POLICY.replace("      _submission__uuid: {role: direct}\n", ""),
        "Error: kobo.yaml line 15: 1 column(s) of members (sheet 'members' of survey.xlsx) are "
        "not in the policy: '_submission__uuid' (direct: survey-tool metadata: the submission's id: it links the "
        "record to the server's copy); "
        "add them under columns (role: direct drops them) or set unlisted: drop\n",
    ),
    (
        "no microdata output",
        KOBO_POLICY.replace(
            "  microdata: {treatments: [recode, suppress]}", "  tables: [{by: [sex], count: true}]"
        ),
        "Error: kobo.yaml line 12: related tables are released beside the main records: add "
        "outputs.microdata\n",
    ),
    (
        "the parent key with a role",
        KOBO_POLICY.replace(
            "  sex: {role: quasi}", "  _index: {role: quasi}\n  sex: {role: quasi}"
        ),
        "Error: kobo.yaml line 5: '_index' is the key that related.0 links to (related.0.link.to); "
        "it is released as a keyed pseudonym: give it role: other or leave it out of columns\n",
    ),
    (
        "the link column with a role",
        KOBO_POLICY.replace("      _index: {role: direct}", "      _parent_index: {role: direct}"),
        "Error: kobo.yaml line 16: '_parent_index' is the link column of related.0 "
        "(related.0.link.column); it is released as a keyed pseudonym: give it role: other or "
        "leave it out of columns\n",
    ),
    (
        "a repeat's own row number kept",
        KOBO_POLICY.replace("      _index: {role: direct}", "      _index: {role: other}"),
        "Error: kobo.yaml line 16: '_index' is an id the Kobo or ODK export gives each record; "
        "released, it would link members to the raw export: give it role: direct\n",
    ),
    (
        "neither data nor sheet",
        KOBO_POLICY.replace("    sheet: members\n", ""),
        "Error: kobo.yaml line 12: related.0: give data: FILE (beside the policy) or sheet: NAME "
        "(a sheet of the main input's workbook)\n",
    ),
    (
        "a reserved name",
        KOBO_POLICY.replace("name: members", "name: microdata"),
        "Error: kobo.yaml line 12: related.0.name: 'microdata' is the name of a file of the "
        "bundle itself; choose another\n",
    ),
    (
        "noise on a related column",
        KOBO_POLICY.replace("m_sex: {role: quasi}", "m_sex: {role: quasi, pram: {p: 0.8}}"),
        "Error: kobo.yaml line 12: related.0: m_sex: a related table's columns take recode, "
        "top_code and bottom_code only (no pram, noise or microaggregation)\n",
    ),
]


@pytest.mark.parametrize(("case", "policy", "message"), CASES, ids=[c[0] for c in CASES])
def test_refusals(kobo: Path, case: str, policy: str, message: str) -> None:
    code, err = _release(kobo, policy)
    assert (code, err) == (2, message)


def test_links_without_a_parent_are_refused(kobo: Path) -> None:
    survey = pd.read_excel(kobo / "survey.xlsx", sheet_name="survey")
    members = pd.read_excel(kobo / "survey.xlsx", sheet_name="members")
    members.loc[[3, 4], "_parent_index"] = 9999
    with pd.ExcelWriter(kobo / "survey.xlsx") as writer:
        survey.to_excel(writer, sheet_name="survey", index=False)
        members.to_excel(writer, sheet_name="members", index=False)
    code, err = _release(kobo, KOBO_POLICY)
    assert code == 2
    assert err == (
        f"Error: members (sheet 'members' of survey.xlsx): 2 of {len(members)} record(s) have a "
        "_parent_index that no record of survey.xlsx has as _index; remove them or export the "
        "main records and the repeat group together\n"
    )


def test_a_sheet_of_a_csv_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    monkeypatch.chdir(tmp_path)
    odk_csvs(tmp_path, n=60)
    policy = ODK_POLICY.replace("    data: survey-incidents.csv", "    sheet: incidents")
    code, err = _release(tmp_path, policy, data="survey.csv")
    assert (code, err) == (
        2,
        "Error: kobo.yaml line 12: related.0 names only a sheet ('incidents') but survey.csv is "
        "not a workbook; give data: FILE\n",
    )


def test_too_much_suppression_on_the_joined_view_is_refused(kobo: Path) -> None:
    policy = KOBO_POLICY.replace("max_suppression: 0.3", "max_suppression: 0.01")
    code, err = _release(kobo, policy)
    assert code == 1
    assert err.startswith("Error: joined with members, k = 3 needs ")
    assert err.endswith(
        "with a suppressed value (theirs or a related record's), above max_suppression 1.0%; "
        "recode the related tables' quasi-identifiers more coarsely (recode: bands or map), give "
        "them fewer quasi-identifiers, or raise thresholds.max_suppression\n"
    )


def test_release_and_check_succeed(kobo: Path) -> None:
    code, err = _release(kobo, KOBO_POLICY)
    assert code == 0, err
    code, out, err = run(
        "check", "rel", "--policy", "kobo.yaml", "--data", "survey.xlsx", "--sheet", "survey"
    )
    assert code == 0, out + err
    assert "PASS  joined view" in out and "PASS  row order" in out


def test_risk_notes_the_joined_view(kobo: Path) -> None:
    (kobo / "kobo.yaml").write_text(KOBO_POLICY)
    code, _, err = run("risk", "survey.xlsx", "--sheet", "survey", "--policy", "kobo.yaml")
    assert code == 0
    assert (
        "Note: joined with members (as anyone can join the released files), 60 of 400 "
        "households (15.0%) have a joined key shared by fewer than k = 3 households and 22 are "
        "unique (their own quasi-identifiers and their related records'); a release blanks the "
        "related records' quasi-identifiers of these households first, within "
        "thresholds.max_suppression\n"
    ) in err


def test_policy_validate_checks_the_related_tables(kobo: Path) -> None:
    policy = KOBO_POLICY.replace("column: _parent_index", "column: _parent_idx")
    (kobo / "kobo.yaml").write_text(policy)
    code, _, err = run(
        "policy", "validate", "kobo.yaml", "--data", "survey.xlsx", "--sheet", "survey"
    )
    assert (code, err) == (
        2,
        "Error: kobo.yaml line 14: related.0.link.column '_parent_idx' is not a column of "
        "members (sheet 'members' of survey.xlsx) (did you mean '_parent_index'?)\n",
    )
