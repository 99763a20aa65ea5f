"""Record linkage and interval disclosure of numeric columns (sdc.risk.numeric)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.policy import parse_policy
from sdc.risk.numeric import numeric_columns, numeric_risk, relinked_share


def test_interval_disclosure_by_hand() -> None:
    before = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [0.0, 1.0, 2.0, 3.0]})
    after = pd.DataFrame({"a": [0.2, 1.0, 2.0, 3.0], "b": [0.2, 1.0, 2.04, 3.0]})
    # sd(after.a) = 1.2152, sd(after.b) = 1.2203: intervals +-0.0608 and +-0.0610; record 0
    # is outside in both columns, record 2 in none (0.04 < 0.0610): 3 of 4 disclosed
    risk = numeric_risk(before, after, ["a", "b"])
    assert risk is not None and risk.interval_disclosure == 0.75


def test_linkage_by_hand() -> None:
    before = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0]})
    after = pd.DataFrame({"a": [0.2, 1.6, 1.9, 3.0]})
    # 0.2 -> 0 (its own), 1.6 -> 2 (not its own 1), 1.9 -> 2 (own), 3 -> 3 (own)
    risk = numeric_risk(before, after, ["a", "absent"])
    assert risk is not None
    assert risk.to_dict() == {
        "columns": ["a"],
        "records": 4,
        "treated": True,
        "relinked_share": 0.75,
        # one column: a record is disclosed unless outside its interval in two columns
        "interval_disclosure": 1.0,
    }


def test_ties_count_as_relinked_and_missing_values_are_left_out() -> None:
    before = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, np.nan], "b": [0.0, 0.0, 1.0, 1.0, 5.0]})
    # records 0 and 1 share their mean: each is as near its own original as the other's
    after = pd.DataFrame({"a": [1.5, 1.5, 3.5, 3.5, 1.0], "b": [0.0, 0.0, 1.0, 1.0, 5.0]})
    risk = numeric_risk(before, after, ["a", "b"])
    assert risk is not None and risk.records == 4 and risk.relinked_share == 1.0


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 60), st.integers(1, 3), st.integers(0, 10_000))
def test_as_collected_every_record_relinks(n: int, d: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.integers(0, 5, size=(n, d)), columns=[f"c{i}" for i in range(d)])
    risk = numeric_risk(frame, frame, list(frame.columns), treated=False)
    assert risk is not None and not risk.treated
    assert risk.relinked_share == 1.0 and risk.interval_disclosure == 1.0


def test_a_permutation_relinks_only_fixed_points() -> None:
    before = pd.DataFrame({"a": np.arange(10.0)})
    after = pd.DataFrame({"a": np.r_[np.arange(5.0), np.arange(9.0, 4.0, -1.0)]})
    # 5..9 reversed: only 7 stays where it was
    assert relinked_share(before, after, ["a"]) == pytest.approx(6 / 10)


def test_none_without_columns_or_records() -> None:
    frame = pd.DataFrame({"a": [1.0]})
    assert numeric_risk(frame, frame, ["z"]) is None
    risk = numeric_risk(frame, frame, ["a"])
    assert risk is not None and risk.relinked_share is None


POLICY = """\
version: 1
name: marks
columns:
  id: {role: direct}
  region: {role: quasi}
  age: {role: quasi, top_code: 90}
  income: {role: sensitive, microaggregation: {k: 3}}
  spend: {role: other, noise: {sd: 0.1}}
  rent: {role: other, rank_swap: {p: 5}}
  notes: {role: drop}
outputs:
  microdata: {treatments: [TREATMENTS]}
"""


@pytest.mark.parametrize(
    ("treatments", "expected"),
    [
        (
            "recode, microaggregation, noise, rank_swap, suppress",
            ["age", "income", "spend", "rent"],
        ),
        ("microaggregation", ["income"]),
        ("recode, suppress", ["age"]),
        ("pram", []),
    ],
)
def test_the_columns_are_those_the_treatments_perturb(
    tmp_path: Path, treatments: str, expected: list[str]
) -> None:
    policy = parse_policy(POLICY.replace("TREATMENTS", treatments), source=tmp_path / "p.yaml")
    assert numeric_columns(policy) == expected


def test_no_columns_without_microdata(tmp_path: Path) -> None:
    text = POLICY.replace(
        "  microdata: {treatments: [TREATMENTS]}", "  tables: [{by: [region], count: true}]"
    )
    assert numeric_columns(parse_policy(text, source=tmp_path / "p.yaml")) == []
