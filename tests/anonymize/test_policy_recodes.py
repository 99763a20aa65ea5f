"""The policy's deterministic recodes: exactly the release's ``recode`` step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.policy_recodes import deterministic_recodes, recoded_columns
from sdc.errors import DataError
from sdc.policy import Policy, parse_policy
from sdc.release.microdata import remove_identifiers, treat_microdata

POLICY = """\
version: 1
name: recodes
columns:
  name: {{role: direct}}
  age: {{role: quasi, recode: {{bands: [0, 30, 60]}}, top_code: 80}}
  village: {{role: quasi, recode: {{map: village.csv{level}}}}}
  postcode: {{role: quasi, recode: {{prefix: 2}}}}
  visit: {{role: quasi, recode: {{date: year}}}}
  lat: {{role: other, recode: {{grid: 0.5}}}}
  sex: {{role: quasi}}
  income: {{role: sensitive, top_code: 4000, bottom_code: 100}}
  notes: {{role: drop}}
thresholds: {{k: 2}}
outputs:
  microdata: {{treatments: [recode]{auto}}}
"""


def survey(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    return pd.DataFrame(
        {
            "name": [f"Person {i}" for i in range(n)],
            "age": rng.integers(16, 95, n),
            "village": rng.choice(list("ABCD"), n),
            "postcode": rng.choice(["41230", "41277", "52110"], n),
            "visit": [f"202{i % 3}-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
            "lat": np.round(rng.uniform(-3.0, -1.0, n), 4),
            "sex": rng.choice(["f", "m"], n),
            "income": rng.integers(0, 5000, n),
            "notes": ["n"] * n,
        }
    )


def policy(tmp_path: Path, *, level: str = ", level: 1", auto: str = "") -> Policy:
    (tmp_path / "village.csv").write_text("A;North;*\nB;North;*\nC;South;*\nD;South;*\n")
    text = POLICY.format(level=level, auto=auto)
    return parse_policy(text, source=tmp_path / "policy.yaml")


def test_the_same_as_the_release_recode_step(tmp_path: Path) -> None:
    p = policy(tmp_path)
    frame = survey()
    treated = treat_microdata(frame, p, seed=1)
    base, removed = remove_identifiers(frame, p)
    recoded, done = deterministic_recodes(base, p)
    pd.testing.assert_frame_equal(recoded, treated.frame)
    assert [t.to_dict() for t in (*removed, *done)] == [t.to_dict() for t in treated.treatments]
    assert [(t.name, t.columns) for t in done] == [
        ("recode.bands", ("age",)),
        ("recode.map", ("village",)),
        ("recode.prefix", ("postcode",)),
        ("recode.date", ("visit",)),
        ("recode.grid", ("lat",)),
        ("bottom_code", ("income",)),
        ("top_code", ("income",)),
    ]
    assert recoded["visit"].isin(["2020", "2021", "2022"]).all()
    assert frame["visit"].str.len().eq(10).all()  # the input is untouched


def test_a_map_without_level_is_left_to_the_search(tmp_path: Path) -> None:
    p = policy(tmp_path, level="", auto=", generalize: auto")
    assert recoded_columns(p) == ["age", "postcode", "visit", "lat", "income"]
    frame = survey()
    recoded, done = deterministic_recodes(frame, p)
    assert "village" not in {c for t in done for c in t.columns}
    assert recoded["village"].tolist() == frame["village"].tolist()
    # removed columns are not recoded, and are left as they are
    assert recoded["name"].tolist() == frame["name"].tolist()


def test_nothing_to_recode_returns_the_input(tmp_path: Path) -> None:
    p = parse_policy("version: 1\nname: n\ncolumns:\n  sex: {role: quasi}\n")
    frame = survey()
    recoded, done = deterministic_recodes(frame, p)
    assert recoded is frame and done == []
    assert recoded_columns(p) == []


def test_a_recode_that_does_not_fit_the_data_is_an_error(tmp_path: Path) -> None:
    p = parse_policy(
        "version: 1\nname: n\ncolumns:\n  sex: {role: quasi, recode: {bands: [0, 10]}}\n"
    )
    with pytest.raises(DataError, match=r"^column 'sex' must be numeric but 60 value\(s\) are"):
        deterministic_recodes(survey(), p)
