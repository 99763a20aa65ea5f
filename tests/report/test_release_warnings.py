"""The costs and risks a release names first: report headline and terminal summary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from sdc.cli import cli
from sdc.errors import PolicyNotMet
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import ReleaseResult, release
from sdc.report.release import release_html, release_warnings

AGES = "".join(f"{a};{a // 10 * 10}-{a // 10 * 10 + 9};*\n" for a in range(18, 80))


def survey(n: int = 120, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "sex": rng.choice(["f", "m"], n),
            "village": rng.choice(["a", "b", "c"], n),
            "violence": rng.choice(["yes", "no"], n, p=[0.3, 0.7]),
        }
    )


def run(folder: Path, frame: pd.DataFrame, policy: str) -> ReleaseResult:
    (folder / "age.csv").write_text(AGES)
    (folder / "p.yaml").write_text(policy)
    frame.to_csv(folder / "survey.csv", index=False)
    return release(
        read_table(folder / "survey.csv"),
        parse_policy(policy, source=folder / "p.yaml"),
        folder / "out",
        ledger=Ledger(folder / "ledger.jsonl"),
        seed=1,
    )


POLICY = """\
version: 1
name: warn
columns:
  age: {{role: quasi, recode: {{map: age.csv, level: {level}}}}}
  sex: {{role: quasi}}
  village: {{role: quasi}}
  violence: {{role: sensitive}}
thresholds: {{k: {k}, max_suppression: {max_suppression}}}
outputs:
  microdata: {{treatments: [recode, suppress]}}
"""


def test_a_variable_generalised_to_its_top_is_named_removed(tmp_path: Path) -> None:
    result = run(tmp_path, survey(), POLICY.format(level=2, k=3, max_suppression=0.5))
    warnings = release_warnings(result)
    assert warnings[0] == (
        "age removed entirely (every record says *): it no longer tells any respondent apart."
    )
    html = release_html(result, "survey.csv")
    lead = html[html.index('class="verdict ok"') : html.index('class="glance"')]
    assert "age removed entirely" in lead


def test_all_blank_records_and_mostly_blanked_variables_are_named(tmp_path: Path) -> None:
    # ten-year bands of 3 villages x 2 sexes in 40 records: most keys are rare at k = 4
    result = run(tmp_path, survey(40), POLICY.format(level=1, k=4, max_suppression=1.0))
    assert result.microdata is not None and result.after is not None
    warnings = release_warnings(result)
    n = len(result.microdata.frame)
    blank = result.microdata.frame[["age", "sex", "village"]].isna().all(axis=1).sum()
    assert blank > 0
    assert (
        f"{blank} respondents have every quasi-identifier blank: they reveal no key and "
        "count as suppressed."
    ) in warnings
    for col, count in result.microdata.suppressed_values.items():
        if result.microdata.frame[col].notna().sum() == 0:
            assert f"{col} removed entirely: it no longer tells any respondent apart." in warnings
            continue
        named = f"{col} blanked in {count / n:.0%} of the records."
        assert (named in warnings) == (count / n > 0.5)


def test_grown_attribute_disclosure_is_named(tmp_path: Path) -> None:
    # each age alone is unique (no group of two discloses anything); in ten-year bands the
    # three people in their twenties form one group that all answered "no"
    frame = pd.DataFrame(
        {
            "age": [20, 21, 22, 30, 31, 32],
            "sex": ["f"] * 6,
            "village": ["a"] * 6,
            "violence": ["no", "no", "no", "yes", "no", "yes"],
        }
    )
    result = run(tmp_path, frame, POLICY.format(level=1, k=3, max_suppression=0.5))
    assert release_warnings(result) == [
        "Attribute disclosure grew: in the worst group the largest share of one violence "
        "value went from 0.0% to 100.0%."
    ]


def test_nothing_to_name_when_nothing_grew(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "age": [20] * 3 + [30] * 3,
            "sex": ["f"] * 6,
            "village": ["a"] * 6,
            "violence": ["no", "yes", "no", "yes", "no", "yes"],
        }
    )
    assert (
        release_warnings(run(tmp_path, frame, POLICY.format(level=0, k=3, max_suppression=0.5)))
        == []
    )


def test_cli_release_prints_the_notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    (tmp_path / "age.csv").write_text(AGES)
    (tmp_path / "p.yaml").write_text(POLICY.format(level=2, k=3, max_suppression=0.5))
    survey().to_csv(tmp_path / "survey.csv", index=False)
    res = CliRunner().invoke(
        cli,
        [
            "release",
            str(tmp_path / "survey.csv"),
            "--policy",
            str(tmp_path / "p.yaml"),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert res.exit_code == 0, res.output
    assert (
        "Note: age removed entirely (every record says *): it no longer tells any respondent "
        "apart.\n"
    ) in res.output


def test_risk_limits_are_met_by_raising_k(tmp_path: Path) -> None:
    policy = POLICY.format(level=1, k=2, max_suppression=1.0).replace(
        "max_suppression: 1.0", "max_suppression: 1.0, max_individual_risk: 0.2"
    )
    result = run(tmp_path, survey(), policy)
    assert result.after is not None and result.after.max_risk <= 0.2
    record = next(t for t in result.microdata.treatments if t.name == "local_suppression")  # type: ignore[union-attr]
    assert record.parameters["policy_k"] == 2 and record.parameters["k"] >= 5
    assert record.parameters["raised_for"] == ("max_individual_risk",)


def test_refusal_names_the_risk_limit_k_was_raised_for(tmp_path: Path) -> None:
    policy = POLICY.format(level=1, k=2, max_suppression=0.1).replace(
        "max_suppression: 0.1", "max_suppression: 0.1, max_individual_risk: 0.05"
    )
    with pytest.raises(
        PolicyNotMet,
        match=r"^k = 2 \(raised to k = \d+ for max_individual_risk\) "
        r"needs \d+ records \(\d+\.\d%\) with a suppressed value, above "
        r"max_suppression 10\.0%; ",
    ):
        run(tmp_path, survey(), policy)
    assert not (tmp_path / "out").exists()


def test_refusal_names_every_threshold_and_does_not_advise_what_is_done(tmp_path: Path) -> None:
    policy = POLICY.format(level=0, k=2, max_suppression=1.0).replace(
        "treatments: [recode, suppress]", "treatments: [recode]"
    )
    with pytest.raises(PolicyNotMet) as err:
        run(tmp_path, survey(), policy)
    assert str(err.value) == (
        "after treatment the data still fails the policy: k is 1 (limit 2). Recode the "
        "quasi-identifiers more coarsely, use generalize: auto or add suppress to the treatments"
    )
    assert not (tmp_path / "out").exists()
