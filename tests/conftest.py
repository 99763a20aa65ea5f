"""Shared fixtures: small data files and policies written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"

SMALL_POLICY = """\
version: 1
name: small-survey
data: {weight: wgt, household: hh}
columns:
  name: {role: direct}
  age: {role: quasi}
  sex: {role: quasi}
  village: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 2}
"""


@pytest.fixture(autouse=True)
def _ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real ~/.sdc ledger from a test."""
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path_factory.mktemp("ledger") / "ledger.jsonl"))


@pytest.fixture
def survey_df() -> pd.DataFrame:
    """Ten respondents in three households, with a weight and a sensitive column."""
    return pd.DataFrame(
        {
            "name": [f"Person {i}" for i in range(10)],
            "age": [23, 23, 23, 45, 45, 67, 67, 67, 89, 23],
            "sex": ["f", "f", "m", "m", "m", "f", "f", "f", "m", "f"],
            "village": ["A", "A", "A", "B", "B", "B", "B", "B", "C", "A"],
            "hiv": ["neg", "pos", "neg", "neg", "neg", "pos", "neg", "neg", "neg", "neg"],
            "wgt": [10.0, 10, 10, 20, 20, 20, 20, 20, 50, 10],
            "hh": [1, 1, 1, 2, 2, 3, 3, 3, 4, 1],
        }
    )


@pytest.fixture
def survey_csv(tmp_path: Path, survey_df: pd.DataFrame) -> Path:
    path = tmp_path / "survey.csv"
    survey_df.to_csv(path, index=False)
    return path


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yaml"
    path.write_text(SMALL_POLICY, encoding="utf-8")
    return path
