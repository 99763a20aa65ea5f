"""`sdc risk --policy` measures the data as collected and as the policy's recodes leave it.

Also: sampling weights below 1 are refused by every command that reads data with a policy.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from sdc import workflow
from sdc.report import risk_json, risk_text
from tests.cli._runner import run

# visit is an exact date (every respondent unique as collected); the policy cuts it to the
# year and bands age, after which every combination is shared by at least 3 respondents.
POLICY = """\
version: 1
name: recoded
data: {weight: w}
columns:
  name: {role: direct}
  visit: {role: quasi, recode: {date: year}}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi}
  district: {role: quasi}
  income: {role: sensitive}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode]}
"""

DATA = Path(__file__).parent.parent / "data"

WEIGHTS_BELOW_ONE = (
    "Error: policy.yaml line 3: weight column 'w' has {n} {values} below 1 (first: line 2, 0.85); sampling weights "
    "are expansion weights (each record stands for w >= 1 people): give the weights as "
    "collected, not normalised\n"
)


def survey(n: int = 40) -> pd.DataFrame:
    start = date(2024, 1, 1)
    rows = []
    for i in range(n):
        combo = i % 12  # 3 age bands x 2 sexes x 2 districts
        rows.append(
            {
                "name": f"Person {i}",
                "visit": (start + timedelta(days=i)).isoformat(),
                "age": (15, 45, 75)[combo % 3] + i % 5,
                "sex": "fm"[combo // 3 % 2],
                "district": "NS"[combo // 6],
                "income": 100 + 10 * i,
                "w": 10.0 + i % 3,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    survey().to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def section(text: str, start: str, end: str) -> str:
    """The text from the line starting with ``start`` up to the next line starting ``end``."""
    begin = text.index(start)
    return text[begin : text.index(end, begin + len(start))]


# -- as collected and after the policy's recodes --------------------------------------------


def test_both_measures_labelled_and_the_exit_follows_the_recodes(workdir: Path) -> None:
    code, out, err = run("risk", "survey.csv", "--policy", "policy.yaml")
    assert code == 0, out + err  # as collected every respondent is unique; recoded, k = 3
    assert err == ""
    assert out.startswith(
        "Risk as collected: 40 records, key: visit, age, sex, district; weight: w\n"
    )
    assert "  - 40 respondents are the only person with their combination" in out
    assert "Over the policy's thresholds as collected:\n  - k: 1 (limit 2)\n" in out
    assert (
        "The policy's recodes (the first step of `sdc release`; its other treatments are not "
        "applied here):\n"
        "  - visit: dates cut to the year (40 values changed)\n"
        "  - age: bands starting at 0, 30, 60 (40 values changed)\n"
        "With them, unique respondents go from 40 to 0 and expected re-identifications from "
    ) in out
    after = out[out.index("Risk after the policy's recodes: 40 records") :]
    assert after.startswith(
        "Risk after the policy's recodes: 40 records, key: visit, age, sex, district; weight: w\n"
    )
    assert "No respondent is the only person with their combination" in after
    assert after.endswith("Every threshold of the policy holds after its recodes.\n\n")


def test_advice_never_names_a_variable_the_policy_recodes(workdir: Path) -> None:
    outcome = workflow.run_risk(Path("survey.csv"), Path("policy.yaml"))
    assert outcome.after_recodes is not None
    # the recoded age still carries risk, so the measure alone would advise recoding it
    assert "age" in outcome.after_recodes.recode_first
    code, out, _ = run("risk", "survey.csv", "--policy", "policy.yaml", "--json", "r.json")
    assert out.count("Recode first:") == 1  # only after the recodes
    advice = section(out, "Recode first:", "Every threshold")
    assert advice.startswith("Recode first:\n  1. ")
    assert not re.search(r"\b(age|visit)\b", advice)
    document = json.loads((workdir / "r.json").read_text())
    assert document["after_recodes"]["recode_first"] == [
        v for v in outcome.after_recodes.recode_first if v not in ("age", "visit")
    ]


def test_when_only_recoded_variables_create_uniques(workdir: Path) -> None:
    # bands too wide to help: age alone separates respondents after the recode
    frame = survey(12).assign(age=[5, 35, 65, 95] * 3, sex="f", district="N")
    frame.to_csv(workdir / "survey.csv", index=False)
    (workdir / "policy.yaml").write_text(
        POLICY.replace("bands: [0, 30, 60]", "bands: [0, 30, 60, 90]")
    )
    code, out, _ = run("risk", "survey.csv", "--policy", "policy.yaml")
    assert code == 0
    assert "Recode first:" not in out
    # one respondent aged 90 or more: unique after the recode, through age alone
    frame.iloc[:7].assign(age=[5, 35, 65, 95, 6, 36, 66]).to_csv(
        workdir / "survey.csv", index=False
    )
    code, out, _ = run("risk", "survey.csv", "--policy", "policy.yaml")
    assert code == 1
    assert (
        "Recode first:\n  1. The variables that still create uniques are ones the policy "
        "already recodes: recode them more coarsely, or leave the rest to local suppression "
        "or generalize: auto.\n"
    ) in out


def test_exit_1_when_the_recodes_break_a_threshold(workdir: Path) -> None:
    # top coding the sensitive income leaves one income per sex: l-diversity 2 -> 1
    (workdir / "policy.yaml").write_text(
        "version: 1\nname: l\ndata: {weight: w}\ncolumns:\n  sex: {role: quasi}\n"
        "  income: {role: sensitive, top_code: 100}\n  name: {role: drop}\n"
        "  visit: {role: drop}\n  age: {role: drop}\n  district: {role: drop}\n"
        "thresholds: {k: 2, l: 2}\noutputs:\n  microdata: {treatments: [recode]}\n"
    )
    code, out, _ = run("risk", "survey.csv", "--policy", "policy.yaml")
    assert code == 1
    assert "Every threshold of the policy holds as collected.\n" in out
    assert "  - income: values above 100 set to 100 (39 values changed)\n" in out
    assert out.endswith(
        "Over the policy's thresholds after its recodes:\n  - l: 1 for income (limit 2)\n\n"
    )


def test_json_keeps_the_report_and_adds_the_recoded_one(workdir: Path) -> None:
    code, _, _ = run("risk", "survey.csv", "--policy", "policy.yaml", "--json", "r.json")
    assert code == 0
    document = json.loads((workdir / "r.json").read_text())
    outcome = workflow.run_risk(Path("survey.csv"), Path("policy.yaml"))
    assert outcome.after_recodes is not None
    collected = outcome.report.to_dict()
    assert {k: v for k, v in document.items() if k not in ("after_recodes", "recodes")} == (
        json.loads(json.dumps(collected))
    )
    assert document["schema"] == document["after_recodes"]["schema"] == "sdc.risk/1"
    assert document["passed"] is False and document["after_recodes"]["passed"] is True
    assert document["sample_uniques"]["count"] == 40
    assert document["after_recodes"]["sample_uniques"]["count"] == 0
    assert [(r["name"], r["columns"]) for r in document["recodes"]] == [
        ("recode.date", ["visit"]),
        ("recode.bands", ["age"]),
    ]
    assert document["recodes"][0]["parameters"] == {"unit": "year"}
    assert "Person" not in (workdir / "r.json").read_text()


def test_after_recodes_is_what_a_recode_only_release_measures(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(workdir / "ledger.jsonl"))
    code, _, _ = run("risk", "survey.csv", "--policy", "policy.yaml", "--json", "r.json")
    assert code == 0
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel")
    assert code == 0, err
    measured = json.loads((workdir / "r.json").read_text())["after_recodes"]
    released = json.loads((workdir / "rel" / "risk-after.json").read_text())
    assert released["recode_first"] == ["age", *measured["recode_first"]]
    del measured["recode_first"], released["recode_first"]
    assert measured == released


def test_html_shows_both_labelled(workdir: Path) -> None:
    code, _, _ = run("risk", "survey.csv", "--policy", "policy.yaml", "--html", "r.html")
    assert code == 0
    page = (workdir / "r.html").read_text()
    order = [
        "Every threshold of the policy holds after its recodes.",
        "<h2>The policy's recodes</h2>",
        "<li>visit: dates cut to the year (40 values changed)</li>",
        "<li>age: bands starting at 0, 30, 60 (40 values changed)</li>",
        "<h2>Disclosure risk as collected</h2>",
        "Over the policy&#39;s thresholds as collected:",
        "<h2>Disclosure risk after the policy&#39;s recodes</h2>",
        "<h3>Recode first</h3>",
    ]
    at = [page.index(text) for text in order]
    assert at == sorted(at)
    assert page.count("<h3>Recode first</h3>") == 1
    assert page.count("<svg") == 6
    for value in ("Person", "2024-01-0"):
        assert value not in page


def test_records_file_holds_the_risks_after_the_recodes(workdir: Path) -> None:
    code, _, _ = run("risk", "survey.csv", "--policy", "policy.yaml", "--records", "rec.csv")
    assert code == 0
    records = pd.read_csv(workdir / "rec.csv")
    assert records["row"].tolist() == list(range(40))
    assert records["f_k"].min() == 3


def test_without_recodes_the_output_is_one_report(workdir: Path) -> None:
    # the raw visit date would be an identifier as a quasi-identifier: leave it out
    plain = (
        POLICY.replace(", recode: {date: year}", "")
        .replace(", recode: {bands: [0, 30, 60]}", "")
        .replace("visit: {role: quasi}", "visit: {role: drop}")
    )
    (workdir / "plain.yaml").write_text(plain)
    code, out, _ = run("risk", "survey.csv", "--policy", "plain.yaml", "--json", "r.json")
    assert code == 1
    table, policy = workflow.load_inputs(Path("survey.csv"), Path("plain.yaml"))
    report = workflow.assess(table.frame, policy)
    assert out == risk_text(report) + "\nWrote r.json\n"
    assert out.startswith("Risk of 40 records, key: age, sex, district; weight: w\n")
    document = json.loads((workdir / "r.json").read_text())
    assert document == json.loads(json.dumps(risk_json(report)))


def test_a_policy_whose_release_does_not_recode_is_measured_once(workdir: Path) -> None:
    (workdir / "norecode.yaml").write_text(POLICY.replace("[recode]", "[pram]"))
    code, out, _ = run("risk", "survey.csv", "--policy", "norecode.yaml")
    assert code == 1
    assert out.startswith("Risk of 40 records") and "recodes" not in out


def test_recodes_of_unmeasured_columns_leave_one_report(workdir: Path) -> None:
    # the raw visit date would be an identifier as a quasi-identifier: leave it out
    plain = (
        POLICY.replace(", recode: {date: year}", "")
        .replace(", recode: {bands: [0, 30, 60]}", "")
        .replace("visit: {role: quasi}", "visit: {role: drop}")
    )
    other = plain.replace("income: {role: sensitive}", "income: {role: other, top_code: 200}")
    (workdir / "other.yaml").write_text(other)
    code, out, _ = run("risk", "survey.csv", "--policy", "other.yaml")
    assert code == 1
    assert out.startswith("Risk of 40 records") and "recodes" not in out


def test_a_policy_without_microdata_output_is_measured_with_its_recodes(workdir: Path) -> None:
    # a risk-only policy: its recodes say how the microdata would be released
    (workdir / "riskonly.yaml").write_text(POLICY.split("outputs:")[0])
    code, out, _ = run("risk", "survey.csv", "--policy", "riskonly.yaml")
    assert code == 0
    assert out.startswith("Risk as collected: 40 records")


def test_out_of_core_engine_says_it_does_not_recode(workdir: Path) -> None:
    code, out, err = run("risk", "survey.csv", "--policy", "policy.yaml", "--engine", "duckdb")
    assert code == 1  # as collected: every respondent unique
    assert err == (
        "Note: the duckdb engine measures the data as collected: the policy's recodes of "
        "visit, age are not applied; run without --engine to see the risk after them\n"
    )


# -- weights below 1 ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "below", "expected"),
    [
        (["risk", "survey.csv", "--policy", "policy.yaml"], 12, "12 values"),
        (["risk", "survey.csv", "--policy", "policy.yaml"], 1, "1 value"),
        (["release", "survey.csv", "--policy", "policy.yaml", "--out", "rel"], 12, "12 values"),
        (["policy", "validate", "policy.yaml", "--data", "survey.csv"], 3, "3 values"),
    ],
)
def test_weights_below_one_are_refused(
    workdir: Path, command: list[str], below: int, expected: str
) -> None:
    frame = survey()
    frame.loc[: below - 1, "w"] = 0.85  # normalised weights
    frame.to_csv(workdir / "survey.csv", index=False)
    code, out, err = run(*command)
    assert code == 2
    assert out == ""
    n, values = expected.split()
    assert err == WEIGHTS_BELOW_ONE.format(n=n, values=values)
    assert not (workdir / "rel").exists()


def test_out_of_core_engine_refuses_normalised_weights(workdir: Path) -> None:
    frame = survey()
    frame.assign(w=frame["w"] / frame["w"].mean()).to_csv(workdir / "survey.csv", index=False)
    code, out, err = run("risk", "survey.csv", "--policy", "policy.yaml", "--engine", "duckdb")
    assert code == 2
    assert out == ""
    assert err == (
        "Error: the sampling weights of some keys sum to less than their number of records "
        "(F_k < f_k); sampling weights are expansion weights (each record stands for w >= 1 "
        "people): give the weights as collected, not normalised\n"
    )


def test_weights_of_one_within_rounding_are_expansion_weights(workdir: Path) -> None:
    frame = survey().assign(w=1 - 1e-12)  # 1.0 as a computed ratio may come out so
    frame.to_csv(workdir / "survey.csv", index=False)
    code, out, _ = run("risk", "survey.csv", "--policy", "policy.yaml", "--records", "r.csv")
    assert code == 0, out
    assert pd.read_csv(workdir / "r.csv")["r_k"].max() <= 1 / 3


TESTDATA_KEYS = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]


@pytest.mark.parametrize(
    ("data", "weight", "quasi"),
    [
        ("scan_testdata_every8th.csv", "sampling_weight", TESTDATA_KEYS),
        ("scan_testdata_every8th.csv", "household_weights", TESTDATA_KEYS),
        ("francdat.csv", "w", ["Key1", "Key2", "Key3", "Key4"]),
    ],
)
def test_sdcmicro_example_weights_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data: str, weight: str, quasi: list[str]
) -> None:
    frame = pd.read_csv(DATA / data)
    frame[[*quasi, weight]].to_csv(tmp_path / data, index=False)
    columns = "".join(f"  {q}: {{role: quasi}}\n" for q in quasi)
    (tmp_path / "p.yaml").write_text(
        f"version: 1\nname: ex\ndata: {{weight: {weight}}}\ncolumns:\n{columns}"
        "thresholds: {k: 2}\n"
    )
    monkeypatch.chdir(tmp_path)
    code, out, err = run("risk", data, "--policy", "p.yaml", "--records", "r.csv")
    assert code in (0, 1), err
    assert err == ""
    assert out.startswith(f"Risk of {len(frame):,} records")
    risks = pd.read_csv(tmp_path / "r.csv")["r_k"]
    assert 0 < risks.min() and risks.max() <= 1
