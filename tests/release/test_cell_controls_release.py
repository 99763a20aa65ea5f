"""Manual cell status through the policy: released as asked, verified by check."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdc.errors import PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from tests.release.test_check import rehash

POLICY = """\
version: 1
name: controls
columns:
  village: {role: quasi}
  sex: {role: quasi}
outputs:
  tables:
    - by: [village, sex]
      count: true
      min_cell: 5
      cells:
        - {where: {village: C, sex: M}, status: suppress}
        - {where: {village: B}, status: publish}
"""
COUNTS = {("A", "M"): 2, ("A", "F"): 10, ("B", "M"): 12, ("B", "F"): 15}
COUNTS |= {("C", "M"): 9, ("C", "F"): 30, ("D", "M"): 11, ("D", "F"): 14}
TABLE = "tables/count_by_village_sex.csv"


def test_manual_status_is_released_and_checked(tmp_path: Path) -> None:
    rows = [{"village": v, "sex": s} for (v, s), n in COUNTS.items() for _ in range(n)]
    pd.DataFrame(rows).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    out = tmp_path / "out"
    release(read_table(tmp_path / "survey.csv"), policy, out, ledger=Ledger(tmp_path / "l.jsonl"))
    tidy = pd.read_csv(out / TABLE)
    flag = {(r.village, r.sex): r.flag for r in tidy.itertuples(index=False)}
    assert flag[("C", "M")] == "primary"
    assert all(f == "published" for (v, _), f in flag.items() if v == "B")
    assert check_bundle(out, policy).passed

    # A tool that ignores the office's choice is caught.
    tidy.loc[(tidy["village"] == "C") & (tidy["sex"] == "M"), ["count", "flag"]] = [9, "published"]
    tidy.to_csv(out / TABLE, index=False)
    rehash(out, TABLE)
    result = check_bundle(out, policy)
    details = [i.detail for i in result.items if not i.passed]
    assert any("the policy suppresses village=C, sex=M, but it is published" in d for d in details)


def test_policy_cells_name_by_variables(tmp_path: Path) -> None:
    text = POLICY.replace("{village: B}", "{region: B}")
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source=tmp_path / "p.yaml")
    assert str(err.value) == (
        "p.yaml line 8: outputs.tables.0: cells.where names ['region']; use the by variables ['village', 'sex']"
    )
