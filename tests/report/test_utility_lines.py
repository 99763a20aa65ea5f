"""The release report gives sdcMicro's IL1s and eigenvalue measure for perturbed numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release

POLICY = """\
version: 1
name: noisy
columns:
  region: {role: quasi}
  income: {role: sensitive, noise: {sd: 0.2}}
  savings: {role: sensitive, rank_swap: {p: 10}}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, noise, rank_swap, suppress]}
"""


def test_report_gives_il1s_and_eigen(tmp_path: Path) -> None:
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
    (tmp_path / "p.yaml").write_text(POLICY)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    release(read_table(tmp_path / "s.csv"), policy, tmp_path / "out", ledger=Ledger(tmp_path / "l"))
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Information loss IL1s (sdcMicro&#39;s measure" in html or (
        "Information loss IL1s (sdcMicro's measure" in html
    )
    assert "Change of the correlation structure (sum of the relative changes" in html
    assert "Risk left in these numbers: an intruder holding the original values re-links" in html
