"""The commands end to end on small data: risk, release, check, budget, demo, policy."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.cli._runner import run

POLICY = """\
version: 1
name: small
data: {weight: wgt, household: hh}
columns:
  name: {role: direct}
  pid: {role: direct, action: pseudonymize}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi}
  village: {role: quasi, categories: [A, B, C]}
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


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rows = []
    for i in range(60):
        rows.append(
            {
                "name": f"Person {i}",
                "pid": f"P{i:03d}",
                "age": 20 + (i * 7) % 60,
                "sex": "f" if i % 3 else "m",
                "village": "ABC"[i % 3] if i < 57 else "C",
                "hiv": "pos" if i % 5 == 0 else "neg",
                "income": (i * 37) % 900,
                "wgt": 10.0 + i % 4,
                "hh": i // 3,
            }
        )
    pd.DataFrame(rows).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
    return tmp_path


def test_risk_exit_1_over_threshold_and_outputs(workdir: Path) -> None:
    code, out, _ = run(
        "risk",
        "survey.csv",
        "--policy",
        "policy.yaml",
        "--json",
        "r.json",
        "--html",
        "r.html",
        "--records",
        "rec.csv",
    )
    assert code == 1
    assert "Over the policy's thresholds" in out
    assert "Person" not in out and "P00" not in out
    data = json.loads((workdir / "r.json").read_text())
    assert data["schema"] == "sdc.risk/1"
    records = pd.read_csv(workdir / "rec.csv")
    assert list(records.columns) == [
        "row",
        "f_k",
        "F_k",
        "r_k",
        "household_risk",
        "suda",
        "dis_suda",
    ]
    assert records["row"].tolist() == list(range(60))
    html = (workdir / "r.html").read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org", "")


def test_risk_exit_0_when_thresholds_hold(workdir: Path) -> None:
    lenient = POLICY.replace("  age: {role: quasi, recode: {bands: [0, 30, 60]}}\n", "")
    lenient = lenient.replace("  sex: {role: quasi}\n", "")
    lenient = lenient.replace("name: small\n", "name: small\nunlisted: drop\n")
    (workdir / "lenient.yaml").write_text(lenient)
    code, out, _ = run("risk", "survey.csv", "--policy", "lenient.yaml")
    assert code == 0, out


def test_release_check_budget_round_trip(workdir: Path) -> None:
    before = (workdir / "survey.csv").read_bytes()
    code, out, err = run(
        "release", "survey.csv", "--policy", "policy.yaml", "--out", "rel", "--seed", "3"
    )
    assert code == 0, err
    assert (workdir / "survey.csv").read_bytes() == before
    released = pd.read_csv(workdir / "rel" / "microdata.csv")
    assert "name" not in released.columns
    assert released["pid"].str.fullmatch(r"[0-9a-f]{16}").all()
    manifest = json.loads((workdir / "rel" / "manifest.json").read_text())
    assert manifest["input"]["sha256"]
    assert set(manifest["outputs"]) >= {
        "microdata.csv",
        "microdata.parquet",
        "risk-before.json",
        "risk-after.json",
        "report.html",
        "tables/count_by_village_sex.csv",
    }
    assert manifest["privacy"]["spent"]["epsilon"] == pytest.approx(0.4)
    assert "a-test-key" not in (workdir / "rel" / "manifest.json").read_text()
    dp = pd.read_csv(workdir / "rel" / "tables" / "sum_income_by_village.csv")
    assert set(dp["flag"]) == {"dp"} and {"noise_scale", "ci_low", "ci_high"} <= set(dp.columns)

    code, out, _ = run("check", "rel", "--policy", "policy.yaml")
    assert code == 0, out
    assert "FAIL" not in out

    code, out, _ = run("budget")
    assert code == 0 and "survey " in out and "0.4" in out

    # a second release spends 0.4 more (0.8 of 1.0); a third would pass the cap and is refused
    assert run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel2")[0] == 0
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel3")
    assert code == 1
    assert err.startswith("Error: release needs epsilon 0.4")
    assert "0.2" in err and "is left for dataset survey;" in err
    assert not (workdir / "rel3").exists()


def test_check_catches_tampering_and_weaker_policy(workdir: Path) -> None:
    assert run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel")[0] == 0
    stricter = POLICY.replace("{k: 2, max_suppression: 0.5}", "{k: 4, max_suppression: 0.5}")
    (workdir / "strict.yaml").write_text(stricter)
    code, out, _ = run("check", "rel", "--policy", "strict.yaml")
    assert code == 1
    assert "FAIL  policy" in out and "k was 2 (policy: 4)" in out

    path = workdir / "rel" / "microdata.csv"
    path.write_text(path.read_text().replace(",", ";", 1))
    code, out, _ = run("check", "rel", "--policy", "policy.yaml", "--json", "c.json")
    assert code == 1
    assert "microdata.csv was changed after the release" in out
    assert json.loads((workdir / "c.json").read_text())["passed"] is False


def test_release_refuses_unmeetable_policy_and_writes_nothing(workdir: Path) -> None:
    strict = POLICY.replace("{k: 2, max_suppression: 0.5}", "{k: 20, max_suppression: 0.01}")
    (workdir / "strict.yaml").write_text(strict)
    code, _, err = run("release", "survey.csv", "--policy", "strict.yaml", "--out", "rel")
    assert code == 1
    assert err.startswith("Error: k = 20 cannot be reached within max_suppression 1.0%: ")
    assert "raise thresholds.max_suppression" in err
    assert not (workdir / "rel").exists()
    assert [p.name for p in workdir.iterdir() if p.name.startswith(".rel")] == []


def test_release_force_replaces_only_an_earlier_bundle(workdir: Path) -> None:
    (workdir / "mine").mkdir()
    (workdir / "mine" / "precious.txt").write_text("keep")
    code, _, err = run(
        "release", "survey.csv", "--policy", "policy.yaml", "--out", "mine", "--force"
    )
    assert code == 2 and "--force only replaces an earlier release bundle" in err
    assert (workdir / "mine" / "precious.txt").read_text() == "keep"
    assert run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel")[0] == 0
    (workdir / "rel" / "old.txt").write_text("old")
    code, _, _ = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel", "--force")
    assert code == 0
    assert not (workdir / "rel" / "old.txt").exists()
    assert (workdir / "rel" / "manifest.json").exists()


def test_release_never_deletes_a_folder_holding_its_inputs(workdir: Path) -> None:
    (workdir / "sub").mkdir()
    (workdir / "sub" / "d.csv").write_bytes((workdir / "survey.csv").read_bytes())
    code, _, err = run("release", "sub/d.csv", "--policy", "policy.yaml", "--out", ".", "--force")
    assert code == 2 and "refusing to write a release over the input" in err
    assert (workdir / "sub" / "d.csv").exists()


def test_categories_must_cover_the_data(workdir: Path) -> None:
    (workdir / "cat.yaml").write_text(POLICY.replace("categories: [A, B, C]", "categories: [A, B]"))
    code, _, err = run("risk", "survey.csv", "--policy", "cat.yaml")
    assert code == 2
    assert (
        err
        == "Error: cat.yaml line 9: 'village' has values not in its categories: 'C' (first: line 4); list every category (quote yes/no)\n"
    )


def test_release_never_writes_over_the_input(workdir: Path) -> None:
    code, _, err = run(
        "release", "survey.csv", "--policy", "policy.yaml", "--out", "survey.csv", "--force"
    )
    assert code == 2
    assert "refusing to write a release over the input" in err


def test_policy_show_and_validate(workdir: Path) -> None:
    code, out, _ = run("policy", "show", "policy.yaml")
    assert code == 0 and "group_share: null" in out and "engine: pandas" in out
    assert "missing: category\nunlisted: refuse\n" in out
    code, out, _ = run("policy", "validate", "policy.yaml", "--data", "survey.csv")
    assert code == 0 and out == "policy.yaml: valid policy 'small' (version 1)\n"


def test_demo_refuses_fewer_rows_than_its_policy_needs(tmp_path: Path) -> None:
    code, out, err = run("demo", "--out", str(tmp_path / "demo"), "--rows", "2999")
    assert (code, out, err) == (
        2,
        "",
        "Error: --rows must be from 3000 to 20000, not 2999: with fewer than 3000 rows the "
        "demo survey does not always meet its own policy\n",
    )
    assert not (tmp_path / "demo").exists()


@pytest.mark.slow
def test_demo_runs_end_to_end_at_its_smallest_size(tmp_path: Path) -> None:
    code, out, err = run("demo", "--out", str(tmp_path / "demo"), "--rows", "3000")
    assert code == 0, err
    assert "`sdc check` on the bundle: PASS" in out
    for name in (
        "survey.csv",
        "policy.yaml",
        "draft-policy.yaml",
        "risk.html",
        "release/manifest.json",
        "release.pseudonym-key",
    ):
        assert (tmp_path / "demo" / name).exists(), name
    assert "  release.pseudonym-key its pseudonym key (private: never share it)\n" in out
    assert not (tmp_path / "demo" / "pseudonym.key").exists()
    code, _, err = run("demo", "--out", str(tmp_path / "demo"))
    assert code == 2 and "already exists" in err
