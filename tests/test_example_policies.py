"""The example policies in policies/ are valid and release the demo survey."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdc.demo import make_survey
from sdc.io import read_table
from sdc.policy import load_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from sdc.workflow import load_inputs

POLICIES = sorted((Path(__file__).resolve().parents[1] / "policies").glob("*.yaml"))


def test_there_are_documented_examples() -> None:
    assert len(POLICIES) >= 3
    for path in POLICIES:
        assert path.read_text().startswith("# "), (
            f"{path.name} needs a comment saying when to use it"
        )


@pytest.fixture(scope="module")
def demo_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "survey.csv"
    make_survey(rows=4000, seed=3).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("policy_path", POLICIES, ids=[p.stem for p in POLICIES])
def test_example_policy_releases_the_demo(
    policy_path: Path, demo_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", "an-example-key-0123456789")
    table, policy = load_inputs(demo_csv, policy_path)
    ledger = Ledger(tmp_path / "ledger.jsonl")
    result = release(table, policy, tmp_path / "out", ledger=ledger, seed=1)
    assert (tmp_path / "out" / "manifest.json").exists()
    assert check_bundle(tmp_path / "out", load_policy(policy_path)).passed
    assert result.budget.epsilon <= policy.privacy.budget
    assert read_table(demo_csv).sha256 == table.sha256
