"""sdcMicro's IL_correl (Mlodak): loss of the correlation structure, by hand and by property."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.utility import il_correl, utility_summary
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release


def _vif(frame: pd.DataFrame) -> np.ndarray:
    """1 / (1 - R^2) of each column regressed on the others (least squares with intercept)."""
    out = []
    for column in frame.columns:
        y = frame[column].to_numpy()
        x = np.column_stack([np.ones(len(frame)), frame.drop(columns=column).to_numpy()])
        fitted = x @ np.linalg.lstsq(x, y, rcond=None)[0]
        r2 = 1 - np.sum((y - fitted) ** 2) / np.sum((y - y.mean()) ** 2)
        out.append(1 / (1 - r2))
    return np.array(out)


def _frame(seed: int, n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": 0.8 * a + rng.normal(size=n), "c": rng.normal(size=n)})


def test_il_correl_by_hand_through_regressions() -> None:
    before = _frame(0)
    after = before.assign(b=before["b"] + np.random.default_rng(1).normal(0, 2, len(before)))
    d1, d2 = _vif(before), _vif(after)
    want = np.linalg.norm(d1 / np.linalg.norm(d1) - d2 / np.linalg.norm(d2)) / math.sqrt(2)
    assert il_correl(before, after, ["a", "b", "c"]) == pytest.approx(want, rel=1e-9)
    assert want > 0.05


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), noise=st.floats(0, 5))
def test_zero_when_kept_order_free_and_at_most_one(seed: int, noise: float) -> None:
    before = _frame(seed)
    rng = np.random.default_rng(seed)
    assert il_correl(before, before.sample(frac=1, random_state=1), ["a", "b", "c"]) == (
        pytest.approx(0, abs=1e-12)
    )
    after = before + rng.normal(0, noise, before.shape)
    assert 0 <= il_correl(before, after, ["a", "b", "c"]) <= 1


def test_none_for_one_column_or_a_singular_matrix() -> None:
    before = _frame(2)
    assert il_correl(before, before, ["a"]) is None
    assert il_correl(before.assign(c=before["a"] * 2), before, ["a", "b", "c"]) is None
    assert utility_summary(before, before, [], ["a", "b"])["il_correl"] == pytest.approx(0)


POLICY = """\
version: 1
name: noisy
columns:
  region: {role: quasi}
  income: {role: sensitive, noise: {sd: 0.5}}
  savings: {role: sensitive, noise: {sd: 0.1}}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, noise, suppress]}
"""


def test_report_gives_the_correlation_loss(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    income = rng.gamma(2, 500, 400)
    df = pd.DataFrame(
        {
            "region": rng.choice(["a", "b"], 400),
            "income": income,
            "savings": income * 0.3 + rng.normal(0, 50, 400),
        }
    )
    df.to_csv(tmp_path / "s.csv", index=False)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    release(read_table(tmp_path / "s.csv"), policy, tmp_path / "out", ledger=Ledger(tmp_path / "l"))
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Correlation loss IL_correl (sdcMicro" in html
