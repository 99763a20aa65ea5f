"""KoboToolbox and ODK exports end to end: scan flags every identifying column, the draft
releases as it is, a multiple-choice question is one variable (issue 18, items 1 and 3).

The exports are generated (tests/kobo_fixtures.py): a French Kobo XLSX with XML-name and
with label headers, Spanish and Portuguese ODK Central CSVs; 1,500 respondents each.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.cli._runner import run
from tests.kobo_fixtures import (
    identifying_columns,
    kobo_frame,
    odk_frame,
    write_kobo_xlsx,
    write_odk_csv,
)

EXPORTS = {
    "kobo-fr-xml": ("survey.xlsx", lambda p: write_kobo_xlsx(p, "fr", headers="xml")),
    "kobo-fr-label": ("survey.xlsx", lambda p: write_kobo_xlsx(p, "fr", headers="label")),
    "odk-es": ("survey.csv", lambda p: write_odk_csv(p, "es")),
    "odk-pt": ("survey.csv", lambda p: write_odk_csv(p, "pt")),
}
FRAMES = {
    "kobo-fr-xml": lambda: kobo_frame("fr", headers="xml"),
    "kobo-fr-label": lambda: kobo_frame("fr", headers="label"),
    "odk-es": lambda: odk_frame("es"),
    "odk-pt": lambda: odk_frame("pt"),
}
LANG = {"kobo-fr-xml": "fr", "kobo-fr-label": "fr", "odk-es": "es", "odk-pt": "pt"}
TOOL_TIMES = ("start", "end", "today", "SubmissionDate", "_submission_time")
TOOL_IDS = ("deviceid", "DeviceID", "username", "_submitted_by", "SubmitterID", "SubmitterName")


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    return tmp_path


def _scanned(workdir: Path, export: str) -> tuple[str, dict]:
    name, write = EXPORTS[export]
    write(workdir / name)
    code, out, err = run("scan", name, "-o", "draft.yaml")
    assert (code, err) == (0, ""), err
    return name, yaml.safe_load((workdir / "draft.yaml").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("export", list(EXPORTS))
def test_scan_flags_every_identifying_column_and_the_draft_releases(
    workdir: Path, export: str
) -> None:
    name, draft = _scanned(workdir, export)
    columns = draft["columns"]
    frame = FRAMES[export]()
    headers = "label" if export.endswith("label") else "xml"
    wanted = identifying_columns(frame, LANG[export], headers)  # type: ignore[arg-type]
    assert len(wanted) >= 18
    missed = {c: columns[c]["role"] for c in wanted if columns[c]["role"] not in ("direct", "drop")}
    assert missed == {}
    # timestamps and device or submitter ids are never quasi-identifiers
    tool = [c for c in (*TOOL_TIMES, *TOOL_IDS) if c in columns]
    assert tool and all(columns[c]["role"] in ("direct", "drop") for c in tool)
    # the released draft: no edits
    code, out, err = run("release", name, "--policy", "draft.yaml", "--out", "rel")
    assert (code, err) == (0, ""), err
    released = pd.read_csv(workdir / "rel" / "microdata.csv")
    assert not set(wanted) & set(released.columns)
    code, out, err = run("check", "rel", "--policy", "draft.yaml", "--data", name)
    assert code == 0, out


@pytest.mark.parametrize("export", list(EXPORTS))
def test_scan_drafts_the_select_multiple_question_as_one_variable(
    workdir: Path, export: str
) -> None:
    frame = FRAMES[export]()
    question = next(c for c in frame.columns if "dific" in c.lower() or "difficult" in c.lower())
    options = [c for c in frame.columns if c != question and c.startswith(question)]
    assert len(options) == 6
    from sdc.scan import draft_policy, scan

    draft = yaml.safe_load(draft_policy(scan(frame), "survey.csv"))
    entry = draft["columns"][question]
    assert entry["role"] == "quasi"
    assert entry["recode"] == {"count": True}
    assert entry["multiple"]["options"] == options
    assert not set(options) & set(draft["columns"])


POLICY = """\
version: 1
name: kobo
unlisted: drop
columns:
  identification/region: {role: quasi}
  demographie/sexe: {role: quasi}
  handicap/difficultes:
    role: quasi
    multiple:
      options: [handicap/difficultes/voir, handicap/difficultes/entendre, handicap/difficultes/marcher,
                handicap/difficultes/memoire, handicap/difficultes/soins, handicap/difficultes/communiquer]
    recode: {RECODE}
  sante/statut_vih: {role: sensitive}
thresholds: {k: 3, max_suppression: 0.1}
outputs:
  microdata: {treatments: [recode, suppress]}
"""


def _kobo_csv(workdir: Path) -> None:
    kobo_frame("fr", n=1500).to_csv(workdir / "kobo.csv", index=False)


def test_the_risk_counts_one_quasi_identifier_for_the_question(workdir: Path) -> None:
    _kobo_csv(workdir)
    Path("p.yaml").write_text(POLICY.replace("    recode: {RECODE}\n", ""))
    code, out, err = run("risk", "kobo.csv", "--policy", "p.yaml", "--json", "r.json")
    report = json.loads(Path("r.json").read_text())
    quasi = report["before"]["quasi"] if "before" in report else report["quasi"]
    assert quasi == ["identification/region", "demographie/sexe", "handicap/difficultes"]


@pytest.mark.parametrize(
    ("recode", "kept"),
    [
        ("{count: true}", []),
        (
            "{any_of: {mobilite: [marcher, soins], sens: [voir, entendre]}}",
            ["memoire", "communiquer"],
        ),
        ("{rare_to_other: 250}", ["voir", "entendre", "marcher"]),
    ],
)
def test_released_option_columns_agree_with_the_set(
    workdir: Path, recode: str, kept: list[str]
) -> None:
    _kobo_csv(workdir)
    Path("p.yaml").write_text(POLICY.replace("{RECODE}", recode))
    code, out, err = run("release", "kobo.csv", "--policy", "p.yaml", "--out", "rel")
    assert (code, err) == (0, ""), err
    released = pd.read_csv("rel/microdata.csv")
    options = [c for c in released.columns if c.startswith("handicap/difficultes/")]
    assert options == [f"handicap/difficultes/{k}" for k in kept]
    code, out, err = run("check", "rel", "--policy", "p.yaml", "--data", "kobo.csv")
    assert code == 0, out
    assert "PASS  multiple choice" in out
    if options:  # tamper: an option column that disagrees with the set fails the check
        released.loc[released[options[0]].notna().idxmax(), options[0]] = 7
        released.to_csv("rel/microdata.csv", index=False)
        code, out, err = run("check", "rel", "--policy", "p.yaml")
        assert code == 1
        line = next(x for x in out.splitlines() if x.startswith("FAIL  multiple choice"))
        assert line == (
            f"FAIL  multiple choice  {options[0]}: 1 value(s) disagree with handicap/difficultes "
            "(1 where its code is chosen, 0 where not, blank where the answer is blank)"
        )


def test_an_option_column_that_is_not_zero_one_is_refused(workdir: Path) -> None:
    frame = kobo_frame("fr", n=300)
    frame.loc[[3, 4], "handicap/difficultes/voir"] = 2
    frame.to_csv("kobo.csv", index=False)
    Path("p.yaml").write_text(POLICY.replace("{RECODE}", "{count: true}"))
    code, out, err = run("release", "kobo.csv", "--policy", "p.yaml", "--out", "rel")
    assert (code, out) == (2, "")
    assert err == (
        "Error: option column 'handicap/difficultes/voir' holds 2 value(s) other than 0 and 1; "
        "a select_multiple option column holds 1 (chosen), 0 (not chosen) or a blank\n"
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("handicap/difficultes/communiquer]", "handicap/difficultes/communiqer]"),
            "Error: p.yaml line 10: columns.handicap/difficultes.multiple.options is not a column "
            "of kobo.csv (did you mean 'handicap/difficultes/communiquer'?)\n",
        ),
        (
            ("{RECODE}", "{any_of: {mobilite: [marcher, grimper]}}"),
            "Error: p.yaml line 12: 'grimper' in any_of.mobilite is not an option code of "
            "handicap/difficultes; its codes: voir, entendre, marcher, memoire, soins, "
            "communiquer\n",
        ),
        (
            ("{RECODE}", "{count: true}\n    top_code: 3"),
            "Error: p.yaml line 7: columns.handicap/difficultes: a multiple-choice question "
            "takes no top_code: its value is a set of answers (recode it with count, any_of or "
            "rare_to_other)\n",
        ),
    ],
)
def test_policy_validate_refuses_a_malformed_question(
    workdir: Path, change: tuple[str, str], message: str
) -> None:
    _kobo_csv(workdir)
    Path("p.yaml").write_text(POLICY.replace(*change).replace("{RECODE}", "{count: true}"))
    code, out, err = run("policy", "validate", "p.yaml", "--data", "kobo.csv")
    assert (code, out, err) == (2, "", message)


def test_an_out_of_core_engine_refuses_a_multiple_choice_question(workdir: Path) -> None:
    pytest.importorskip("duckdb")
    _kobo_csv(workdir)
    Path("p.yaml").write_text(POLICY.replace("{RECODE}", "{count: true}"))
    code, out, err = run("risk", "kobo.csv", "--policy", "p.yaml", "--engine", "duckdb")
    assert (code, out) == (2, "")
    assert err == (
        "Error: p.yaml line 9: the duckdb engine reads the file as it is and cannot read a "
        "multiple-choice question as one set of answers; run sdc risk without --engine\n"
    )


def test_a_table_by_the_question_counts_canonical_sets(workdir: Path) -> None:
    frame = kobo_frame("fr", n=600)
    # Kobo writes the codes in the order ticked: "marcher voir" and "voir marcher" are one set
    frame["handicap/difficultes"] = (
        frame["handicap/difficultes"].str.split().str[::-1].str.join(" ")
    )
    frame.to_csv("kobo.csv", index=False)
    policy = POLICY.replace("    recode: {RECODE}\n", "").replace(
        "  microdata: {treatments: [recode, suppress]}\n",
        "  tables:\n    - {by: [handicap/difficultes], count: true, name: sets}\n",
    )
    Path("p.yaml").write_text(policy)
    code, out, err = run("release", "kobo.csv", "--policy", "p.yaml", "--out", "rel")
    assert (code, err) == (0, ""), err
    table = pd.read_csv("rel/tables/sets.csv")
    assert "voir marcher" in set(table["handicap/difficultes"])
    assert "marcher voir" not in set(table["handicap/difficultes"])
