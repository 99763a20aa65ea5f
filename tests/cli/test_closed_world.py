"""Columns nobody looked at, and identifiers posing as quasi-identifiers, end to end.

A new form version adds an emergency contact's name and phone: `policy validate --data`,
`risk` and `release` refuse the columns the policy does not name (exit 2, one line), unless
the policy says `unlisted: drop` (dropped from every output, recorded) or `unlisted: keep`
(kept, but never one that looks like an identifier). A unique respondent id given role quasi
is refused without a recode. The policies here recode only (no suppression), so that k holds
by the bands alone.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli._runner import run

POLICY = """\
version: 1
name: closed
columns:
  resp_id: {role: direct}
  sex: {role: quasi}
  village: {role: quasi}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  hiv: {role: sensitive}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode]}
"""

NOT_IN_POLICY = (
    "2 column(s) of survey.csv are not in the policy: 'contact_name' (direct: looks like "
    "personal names (two or more capitalised words)), 'contact_phone' (direct: looks like "
    "phone numbers); add them under columns (role: direct drops them) or set unlisted: drop\n"
)


def survey(n: int = 60) -> pd.DataFrame:
    """Every (sex, village, age band) key is shared by at least 3 records."""
    rows = []
    for i in range(n):
        rows.append(
            {
                "resp_id": f"R{i:04d}",
                "sex": "fm"[i % 2],
                "village": "ABC"[(i // 2) % 3],
                "age": [25, 45, 70][(i // 6) % 3] + i % 5,
                "hiv": "pos" if i % 4 == 0 else "neg",
                "contact_name": f"Contact Person{chr(65 + i % 26)} {chr(65 + i // 26)}x",
                "contact_phone": f"+254 7{i:02d} {i * 7 % 1000:03d} {i * 13 % 1000:03d}",
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    survey().to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def with_line(after: str, line: str, name: str) -> None:
    """Write POLICY with ``line`` inserted after the line ``after`` to ``name``."""
    text = POLICY.replace(f"{after}\n", f"{after}\n{line}\n", 1)
    assert text != POLICY
    Path(name).write_text(text)


# ---- unlisted: refuse (the default) ---------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["policy", "validate", "policy.yaml", "--data", "survey.csv"],
        ["risk", "survey.csv", "--policy", "policy.yaml"],
        ["release", "survey.csv", "--policy", "policy.yaml", "--out", "rel"],
    ],
    ids=["validate", "risk", "release"],
)
def test_columns_the_policy_does_not_name_are_refused(workdir: Path, command: list[str]) -> None:
    code, out, err = run(*command)
    assert (code, out, err) == (2, "", "Error: policy.yaml: " + NOT_IN_POLICY)
    assert not (workdir / "rel").exists()


def test_an_explicit_unlisted_refuse_names_its_line(workdir: Path) -> None:
    with_line("name: closed", "unlisted: refuse", "p.yaml")
    code, _, err = run("policy", "validate", "p.yaml", "--data", "survey.csv")
    assert (code, err) == (2, "Error: p.yaml line 3: " + NOT_IN_POLICY)


def test_naming_the_new_columns_is_enough(workdir: Path) -> None:
    with_line("  resp_id: {role: direct}", "  contact_name: {role: direct}", "p.yaml")
    text = (
        Path("p.yaml")
        .read_text()
        .replace("columns:\n", "columns:\n  contact_phone: {role: drop}\n")
    )
    Path("p.yaml").write_text(text)
    code, out, _ = run("policy", "validate", "p.yaml", "--data", "survey.csv")
    assert (code, out) == (0, "p.yaml: valid policy 'closed' (version 1)\n")


def test_many_unlisted_columns_are_summed_up(workdir: Path) -> None:
    frame = survey()
    for j in range(12):
        frame[f"q{j:02d}"] = [i % 3 for i in range(len(frame))]
    frame.to_csv("wide.csv", index=False)
    code, _, err = run("policy", "validate", "policy.yaml", "--data", "wide.csv")
    assert code == 2
    assert err.startswith("Error: policy.yaml: 14 column(s) of wide.csv are not in the policy: ")
    assert err.endswith(
        "'q07' (quasi: a code with few values (3): may combine with others) and 4 more "
        "(`sdc scan` lists them all); add them under columns (role: direct drops them) or set "
        "unlisted: drop\n"
    )


# ---- unlisted: drop --------------------------------------------------------------------------


def test_unlisted_drop_removes_them_from_the_release_and_records_it(workdir: Path) -> None:
    with_line("name: closed", "unlisted: drop", "drop.yaml")
    code, _, err = run("release", "survey.csv", "--policy", "drop.yaml", "--out", "rel")
    assert code == 0, err
    released = pd.read_csv(workdir / "rel" / "microdata.csv")
    assert sorted(released.columns) == ["age", "hiv", "sex", "village"]
    manifest = json.loads((workdir / "rel" / "manifest.json").read_text())
    dropped = [t for t in manifest["microdata"]["treatments"] if t["name"] == "drop"]
    assert {"columns": ["contact_name", "contact_phone"], "role": "unlisted"} in [
        {"columns": t["columns"], "role": t["parameters"]["role"]} for t in dropped
    ]
    code, out, _ = run("check", "rel", "--policy", "drop.yaml")
    assert code == 0, out
    assert (
        "PASS  columns      every released column is named by the policy; no quasi-identifier "
        "is identifier-like\n"
    ) in out


# ---- unlisted: keep --------------------------------------------------------------------------


def test_unlisted_keep_still_refuses_identifiers(workdir: Path) -> None:
    with_line("name: closed", "unlisted: keep", "keep.yaml")
    code, out, err = run("release", "survey.csv", "--policy", "keep.yaml", "--out", "rel")
    assert (code, out) == (2, "")
    assert err == (
        "Error: keep.yaml line 3: unlisted: keep, but 2 column(s) of survey.csv that the policy "
        "does not name look like identifiers: 'contact_name' (direct: looks like personal names "
        "(two or more capitalised words)), 'contact_phone' (direct: looks like phone numbers); "
        "add them under columns (role: direct drops them)\n"
    )
    assert not (workdir / "rel").exists()


def test_unlisted_keep_refuses_a_mostly_unique_measure(workdir: Path) -> None:
    frame = survey().drop(columns=["contact_name", "contact_phone"])
    frame["score"] = [round(0.37 * i + 0.011 * i * i, 3) for i in range(len(frame))]
    frame.to_csv("survey.csv", index=False)
    with_line("name: closed", "unlisted: keep", "keep.yaml")
    code, _, err = run("policy", "validate", "keep.yaml", "--data", "survey.csv")
    assert (code, err) == (
        2,
        "Error: keep.yaml line 3: unlisted: keep, but 1 column(s) of survey.csv that the policy "
        "does not name look like identifiers: 'score' (other: a measure with nearly all values "
        "different; 100% of its 60 values are unique); add them under columns (role: direct "
        "drops them)\n",
    )


def test_unlisted_keep_keeps_harmless_columns(workdir: Path) -> None:
    frame = survey().drop(columns=["contact_name", "contact_phone"])
    frame["roof"] = ["tin", "thatch", "tile"] * 20
    frame.to_csv("survey.csv", index=False)
    with_line("name: closed", "unlisted: keep", "keep.yaml")
    code, _, err = run("release", "survey.csv", "--policy", "keep.yaml", "--out", "rel")
    assert code == 0, err
    assert "roof" in pd.read_csv(workdir / "rel" / "microdata.csv").columns
    code, out, _ = run("check", "rel", "--policy", "keep.yaml")
    assert code == 0, out
    assert (
        "PASS  columns      no released column that the policy does not name looks like an "
        "identifier; no quasi-identifier is identifier-like\n"
    ) in out


# ---- identifier-like quasi-identifiers -------------------------------------------------------


def test_a_unique_id_as_quasi_identifier_is_refused(workdir: Path) -> None:
    with_line("name: closed", "unlisted: drop", "p.yaml")
    text = Path("p.yaml").read_text().replace("resp_id: {role: direct}", "resp_id: {role: quasi}")
    Path("p.yaml").write_text(text)
    expected = (
        "Error: p.yaml line 5: quasi-identifier 'resp_id' is an identifier: 100% of its 60 values "
        "are unique; give it role: direct (dropped) or recode it (bands, map, prefix)\n"
    )
    for command in (
        ["policy", "validate", "p.yaml", "--data", "survey.csv"],
        ["release", "survey.csv", "--policy", "p.yaml", "--out", "rel"],
    ):
        code, out, err = run(*command)
        assert (code, out, err) == (2, "", expected)
    assert not (workdir / "rel").exists()


def test_a_recoded_identifier_like_quasi_identifier_is_accepted(workdir: Path) -> None:
    with_line("name: closed", "unlisted: drop", "p.yaml")
    text = Path("p.yaml").read_text()
    Path("p.yaml").write_text(
        text.replace("resp_id: {role: direct}", "resp_id: {role: quasi, recode: {prefix: 1}}")
    )
    code, out, _ = run("policy", "validate", "p.yaml", "--data", "survey.csv")
    assert (code, out) == (0, "p.yaml: valid policy 'closed' (version 1)\n")


def test_a_mostly_missing_identifier_counts_only_its_values(workdir: Path) -> None:
    frame = survey().drop(columns=["contact_name", "contact_phone"])
    clinic: list[str | None] = [None] * len(frame)
    for j in range(12):
        clinic[j * 5] = f"Clinic {j}"
    frame["clinic"] = clinic
    frame.to_csv("survey.csv", index=False)
    text = POLICY.replace(
        "  hiv: {role: sensitive}\n", "  hiv: {role: sensitive}\n  clinic: {role: quasi}\n"
    )
    Path("p.yaml").write_text(text)
    code, _, err = run("policy", "validate", "p.yaml", "--data", "survey.csv")
    assert (code, err) == (
        2,
        "Error: p.yaml line 9: quasi-identifier 'clinic' is an identifier: 100% of its 12 values "
        "are unique; give it role: direct (dropped) or recode it (bands, map, prefix)\n",
    )


# ---- scan --------------------------------------------------------------------------------


def test_scan_reports_rare_values_of_a_mostly_missing_column(workdir: Path) -> None:
    clinic: list[str | None] = [None] * 2000
    for j in range(20):
        clinic[j * 97] = f"Clinic {j % 15}"
    frame = pd.DataFrame({"hiv_clinic": clinic, "sex": ["m", "f"] * 1000})
    frame.to_csv("clinics.csv", index=False)
    code, out, _ = run("scan", "clinics.csv", "-o", "draft.yaml")
    assert code == 0
    assert (
        "Take care:\n  - the 1% of respondents with a hiv_clinic value are easy to single out: "
        "10 of these 20 records hold a value no one else has (15 values in all)\n"
    ) in out
    assert "#   the 1% of respondents with a hiv_clinic value" in Path("draft.yaml").read_text()
