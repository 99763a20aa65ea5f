"""Synthetic outputs with a hold-out: the privacy check gets its baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release

POLICY = """\
version: 1
name: synth
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s, e]}
  age: {role: quasi, bounds: [0, 100]}
outputs:
  synthetic: {epsilon: 1.0, rows: 300, seed: 3, holdout: HOLD}
privacy: {dataset: synth}
"""


def _release(tmp_path: Path, hold: str) -> dict:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], 500),
            "region": rng.choice(["n", "s", "e"], 500),
            "age": rng.integers(0, 100, 500),
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    policy = parse_policy(POLICY.replace("HOLD", hold), source=tmp_path / "p.yaml")
    release(read_table(tmp_path / "d.csv"), policy, tmp_path / "out", ledger=Ledger(tmp_path / "l"))
    return json.loads((tmp_path / "out.evaluation.json").read_text())


def test_holdout_gives_the_distance_baseline(tmp_path: Path) -> None:
    evaluation = _release(tmp_path, "0.2")
    assert evaluation["holdout_to_real"] is not None
    assert len(pd.read_csv(tmp_path / "out" / "synthetic.csv")) == 300


def test_without_holdout_there_is_no_baseline(tmp_path: Path) -> None:
    assert _release(tmp_path, "0.0")["holdout_to_real"] is None
