"""Messages a data steward can act on: each names the place, the problem and the fix."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from sdc.anonymize._treatment import Treatment
from sdc.cli import cli
from sdc.policy import PolicyError, parse_policy
from sdc.report.summary import treatment_lines

POLICY = """\
version: 1
name: t
columns:
  Age: {role: quasi}
  village: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [suppress]}
"""
DATA = "Age,village,hiv\n30,A,neg\n30,A,pos\n40,B,neg\n40,B,neg\n"


def _setup(tmp: Path, policy: str = POLICY) -> None:
    (tmp / "survey.csv").write_text(DATA)
    (tmp / "policy.yaml").write_text(policy)


def test_a_tab_in_the_policy_is_explained(tmp_path: Path) -> None:
    _setup(tmp_path, POLICY.replace("  village:", "\tvillage:"))
    result = CliRunner().invoke(cli, ["policy", "validate", str(tmp_path / "policy.yaml")])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: policy.yaml line 5: a tab character is used for indentation; YAML needs "
        "spaces: replace the tab with two spaces\n"
    )


def test_a_tab_after_spaces_names_its_line() -> None:
    text = "version: 1\nname: t\ncolumns:\n  age:\n  \trole: quasi\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text, Path("p.yaml"))
    assert str(info.value) == (
        "p.yaml line 5: a tab character is used for indentation; YAML needs spaces: "
        "replace the tab with two spaces"
    )


def test_a_column_differing_only_in_case_is_suggested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(tmp_path, POLICY.replace("  Age:", "  AGE:"))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["risk", "survey.csv", "--policy", "policy.yaml"])
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: policy.yaml line 4: columns.AGE is not a column of survey.csv "
        "(did you mean 'Age'?)\n"
    )


def test_a_case_difference_beats_a_closer_spelling() -> None:
    policy = parse_policy(POLICY.replace("  Age:", "  HIV2:"), Path("p.yaml"))
    with pytest.raises(PolicyError) as info:
        policy.check_against(["Age", "village", "hiv", "hiv2"], "survey.csv")
    assert str(info.value) == (
        "p.yaml line 4: columns.HIV2 is not a column of survey.csv (did you mean 'hiv2'?)"
    )


def test_an_existing_out_folder_suggests_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _setup(tmp_path)
    (tmp_path / "rel").mkdir()
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["release", "survey.csv", "--policy", "policy.yaml", "--out", "rel"]
    )
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: rel: already exists and a release is never overwritten unless asked: add "
        "--force to replace an earlier release bundle, or choose a new folder\n"
    )


def test_sdc_help_shows_the_workflow_with_an_example_each() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    assert (
        "  Workflow: scan → risk → release → check\n"
        "    sdc scan survey.csv -o policy.yaml          draft a policy, then edit it\n"
        "    sdc risk survey.csv --policy policy.yaml    who could be singled out\n"
        "    sdc release survey.csv --policy policy.yaml --out release/\n"
        "                                                treat the data, write a bundle\n"
        "    sdc check release/ --policy policy.yaml     verify the bundle\n"
    ) in result.output


def _all_commands(command: click.Command, path: list[str]) -> list[list[str]]:
    found = [path]
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            found += _all_commands(command.commands[name], [*path, name])
    return found


@pytest.mark.parametrize("path", _all_commands(cli, []), ids=lambda p: " ".join(["sdc", *p]))
def test_every_help_ends_with_its_exit_codes(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0
    last = result.output.rstrip("\n").split("\n")[-1]
    assert last.startswith("  Exit codes: 0 "), result.output
    assert last.endswith(", 2 bad usage or input (the message says what to fix)."), last


def test_release_help_names_all_three_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["release", "--help"], terminal_width=200)
    assert result.output.endswith(
        "  Exit codes: 0 released, 1 the data do not meet the policy or the privacy budget "
        "(nothing written), 2 bad usage or input (the message says what to fix).\n"
    )


def test_an_l_breach_names_the_sensitive_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "policy.yaml").write_text(
        "version: 1\nname: t\ncolumns:\n  age: {role: quasi, recode: {bands: [0, 50]}}\n"
        "  violence: {role: sensitive}\nthresholds: {k: 2, l: 2}\n"
        "outputs:\n  microdata: {treatments: [recode]}\n"
    )
    (tmp_path / "survey.csv").write_text("age,violence\n30,yes\n31,yes\n60,no\n61,yes\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["release", "survey.csv", "--policy", "policy.yaml", "--out", "rel"]
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: after treatment the data still fails the policy: l is 1 for violence "
        "(limit 2). Recode the quasi-identifiers more coarsely, use generalize: auto or add "
        "suppress to the treatments\n"
    )
    assert not (tmp_path / "rel").exists()
    risk = CliRunner().invoke(cli, ["risk", "survey.csv", "--policy", "policy.yaml"])
    assert risk.exit_code == 1
    assert risk.output.endswith(
        "Over the policy's thresholds after its recodes:\n  - l: 1 for violence (limit 2)\n\n"
    )


def test_release_ends_with_a_short_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "policy.yaml").write_text(
        "version: 1\nname: t\ncolumns:\n  name: {role: direct}\n"
        "  age: {role: quasi, recode: {bands: [0, 40]}}\n  village: {role: quasi}\n"
        "  hiv: {role: sensitive}\nthresholds: {k: 2, max_suppression: 0.5}\n"
        "outputs:\n  microdata: {treatments: [recode, suppress]}\n"
    )
    (tmp_path / "survey.csv").write_text(
        "name,age,village,hiv\nAna,30,A,neg\nBo,31,A,pos\nCy,45,B,neg\nDi,50,B,pos\nEd,60,C,neg\n"
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        cli, ["release", "survey.csv", "--policy", "policy.yaml", "--out", "rel"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "Summary:\n"
        "  rows: 5 in, 5 out\n"
        "  columns: removed name\n"
        "  recode: age to 2 bands\n"
        "  suppression: 1 record (20.0%) lost a value\n"
        "  verdict: PASS: every threshold of the policy holds (smallest group 2, k = 2)\n"
        "  bundle: rel/\n"
        "  biggest cost: 1 respondent has every quasi-identifier blank: they reveal no key and "
        "count as suppressed.\n"
    )


def test_treatment_lines_say_what_each_kind_did() -> None:
    steps = [
        Treatment("pseudonymize", ("resp_id",)),
        Treatment("drop", ("phone",)),
        Treatment("recode.bands", ("age",), details={"bands": {"0-17": 3, "18+": 5}}),
        Treatment("recode.map", ("village",), details={"categories_after": 4}),
        Treatment("top_code", ("income",), parameters={"value": 100}, changed={"income": 7}),
        Treatment("drop", ("notes",)),
        Treatment("local_suppression", ("age",), changed={"age": 3}),
        Treatment("pram", ("disability",), changed={"disability": 12}),
    ]
    assert treatment_lines(steps) == [
        "columns: removed phone, notes; pseudonymised resp_id",
        "recode: age to 2 bands, village to 4 categories, income top-coded at 100",
        "pram: disability (12 values changed)",
    ]
