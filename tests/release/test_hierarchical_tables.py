"""Tables with nested margins (village within district) through the policy."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sdc.errors import PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release, table_hierarchies

POLICY = """\
version: 1
name: nested
columns:
  village: {role: quasi, recode: {map: village.csv}}
  sex: {role: quasi}
outputs:
  tables:
    - {by: [village, sex], count: true, min_cell: 3, hierarchical: true}
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "village.csv").write_text("A;North;*\nB;North;*\nC;South;*\nD;South;*\n")
    counts = {
        ("A", "f"): 5,
        ("A", "m"): 2,
        ("B", "f"): 6,
        ("B", "m"): 7,
        ("C", "f"): 4,
        ("C", "m"): 9,
        ("D", "f"): 8,
        ("D", "m"): 5,
    }
    rows = [{"village": v, "sex": s} for (v, s), n in counts.items() for _ in range(n)]
    pd.DataFrame(rows).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY)
    return tmp_path / "survey.csv", tmp_path / "p.yaml"


def test_nested_margins_are_published_and_audited(setup: tuple[Path, Path], tmp_path: Path) -> None:
    data, policy_path = setup
    policy = parse_policy(policy_path.read_text(), source=policy_path)
    assert table_hierarchies(policy, 0) == {
        "village": {"A": "North", "B": "North", "C": "South", "D": "South"}
    }
    release(read_table(data), policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"))
    tidy = pd.read_csv(tmp_path / "out" / "tables" / "count_by_village_sex.csv")
    north = tidy[(tidy["village"] == "North") & (tidy["sex"] == "Total")]["count"].tolist()
    assert north == [20]
    assert tidy.loc[(tidy["village"] == "A") & (tidy["sex"] == "m"), "flag"].item() == "primary"
    # the suppression stays within the district: A's partner cells are in North
    suppressed = tidy[tidy["flag"].isin(["primary", "secondary"])]
    assert set(suppressed["village"]) <= {"A", "B", "North"}
    assert check_bundle(tmp_path / "out", policy).passed


def test_hierarchical_needs_a_hierarchy(tmp_path: Path) -> None:
    text = POLICY.replace("{role: quasi, recode: {map: village.csv}}", "{role: quasi}")
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    with pytest.raises(PolicyError, match=r"^p.yaml line 8: hierarchical margins need a by column"):
        table_hierarchies(policy, 0)


def test_flat_tables_have_no_hierarchy(tmp_path: Path) -> None:
    policy = parse_policy(POLICY.replace(", hierarchical: true", ""), source=tmp_path / "p.yaml")
    assert table_hierarchies(policy, 0) is None


def test_unbalanced_hierarchy_file_releases_and_checks(tmp_path: Path) -> None:
    # A and C have no sub-levels: ARX writes them on every level (A;A;*).
    (tmp_path / "village.csv").write_text("A;A;*\nB1;B;*\nB2;B;*\nC;C;*\n")
    counts = {("A", "f"): 9, ("A", "m"): 8, ("B1", "f"): 2, ("B1", "m"): 7}
    counts |= {("B2", "f"): 6, ("B2", "m"): 5, ("C", "f"): 4, ("C", "m"): 9}
    rows = [{"village": v, "sex": s} for (v, s), n in counts.items() for _ in range(n)]
    pd.DataFrame(rows).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    assert table_hierarchies(policy, 0) == {"village": {"B1": "B", "B2": "B"}}
    release(
        read_table(tmp_path / "survey.csv"),
        policy,
        tmp_path / "out",
        ledger=Ledger(tmp_path / "l.jsonl"),
    )
    tidy = pd.read_csv(tmp_path / "out" / "tables" / "count_by_village_sex.csv")
    assert sorted(set(tidy["village"])) == ["A", "B", "B1", "B2", "C", "Total"]
    assert tidy.loc[(tidy["village"] == "B1") & (tidy["sex"] == "f"), "flag"].item() == "primary"
    assert check_bundle(tmp_path / "out", policy).passed
