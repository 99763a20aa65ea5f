"""tau-Argus export: the files an office loads to cross-check our pattern."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sdc.tables import TableSpec, build_table
from sdc.tables.argus import write_argus
from sdc.tables.spec import CellControl
from tests.cli._runner import run

from .conftest import microdata

COUNTS = {
    ("A", "M"): 2, ("A", "F"): 10, ("B1", "M"): 12, ("B1", "F"): 15,
    ("B2", "M"): 9, ("B2", "F"): 30, ("C", "M"): 11, ("C", "F"): 14,
}  # fmt: skip
HIER = {"branch": {"B1": "B", "B2": "B"}}


def test_files_of_a_hierarchical_count_table(tmp_path: Path) -> None:
    df = microdata(COUNTS, ("branch", "sex"))
    keep = CellControl(where=(("branch", "C"), ("sex", "F")), status="publish")
    spec = TableSpec(by=("branch", "sex"), count=True, min_cell=5, cells=(keep,))
    t = build_table(df, spec, hierarchies=HIER)
    paths = write_argus(t, tmp_path, HIER)
    assert [p.name for p in paths] == [
        "count_by_branch_sex.tab",
        "count_by_branch_sex.rda",
        "count_by_branch_sex.hst",
        "branch.hrc",
        "count_by_branch_sex.pattern.csv",
    ]
    assert (tmp_path / "count_by_branch_sex.rda").read_text() == (
        '   <SEPARATOR> ";"\n   <SAFE> "s"\n   <UNSAFE> "u"\n   <PROTECT> "p"\n'
        'branch\n  <RECODEABLE>\n  <TOTCODE> "Total"\n  <HIERARCHICAL>\n'
        '  <HIERCODELIST> "branch.hrc"\n  <HIERLEADSTRING> "@"\n'
        'sex\n  <RECODEABLE>\n  <TOTCODE> "Total"\n'
        "value\n  <NUMERIC>\n  <DECIMALS> 0\nfreq\n  <FREQUENCY>\n"
    )
    assert (tmp_path / "branch.hrc").read_text() == "A\nB\n@B1\n@B2\nC\n"
    assert (tmp_path / "count_by_branch_sex.hst").read_text() == "A,M,u\nC,F,p\n"
    tab = pd.read_csv(tmp_path / "count_by_branch_sex.tab", sep=";", header=None)
    assert len(tab) == len(t.table) == 6 * 3
    row = tab[(tab[0] == "B") & (tab[1] == "Total")]
    assert row[2].tolist() == [66] and row[3].tolist() == [66]
    pattern = pd.read_csv(tmp_path / "count_by_branch_sex.pattern.csv")
    assert pattern["flag"].tolist() == t.table["flag"].tolist()


def test_magnitude_tables_carry_the_largest_contributions(tmp_path: Path) -> None:
    df = pd.DataFrame({"sector": ["a"] * 3 + ["b"] * 4, "turnover": [90.0, 5, 5, 30, 30, 30, 30]})
    t = build_table(df, TableSpec(by=("sector",), sum="turnover", dominance=(1, 0.8)))
    write_argus(t, tmp_path, None)
    rda = (tmp_path / "sum_turnover_by_sector.rda").read_text()
    assert rda.endswith("freq\n  <FREQUENCY>\ntop1\n  <MAXSCORE>\n  <DECIMALS> 6\n")
    tab = pd.read_csv(tmp_path / "sum_turnover_by_sector.tab", sep=";", header=None)
    assert tab.iloc[0].tolist() == ["a", 100, 3, 90]


POLICY = """\
version: 1
name: argus
columns:
  branch: {role: quasi}
  sex: {role: quasi}
outputs:
  tables:
    - {by: [branch, sex], count: true, min_cell: 5}
"""


def test_cli_writes_the_files_and_never_into_a_bundle(tmp_path: Path) -> None:
    microdata(COUNTS, ("branch", "sex")).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY)
    out = tmp_path / "argus"
    code, stdout, _ = run(
        "argus",
        str(tmp_path / "survey.csv"),
        "--policy",
        str(tmp_path / "p.yaml"),
        "--out",
        str(out),
    )
    assert code == 0
    assert stdout.splitlines()[0] == f"  {out / 'count_by_branch_sex.tab'}"
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "manifest.json").write_text("{}")
    code, _, stderr = run(
        "argus",
        str(tmp_path / "survey.csv"),
        "--policy",
        str(tmp_path / "p.yaml"),
        "--out",
        str(tmp_path / "bundle"),
    )
    assert code == 2
    assert stderr == (
        f"Error: {tmp_path / 'bundle'} is a release bundle; the tau-Argus files hold every "
        "true cell value, suppressed ones included: write them to a folder of their own\n"
    )


def test_cli_needs_a_suppression_table(tmp_path: Path) -> None:
    microdata(COUNTS, ("branch", "sex")).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY.replace(", min_cell: 5", ", rounding: {base: 3}"))
    code, _, stderr = run(
        "argus",
        str(tmp_path / "survey.csv"),
        "--policy",
        str(tmp_path / "p.yaml"),
        "--out",
        str(tmp_path / "a"),
    )
    assert code == 2
    assert stderr == (
        f"Error: {tmp_path / 'p.yaml'} has no table protected by cell suppression (min_cell, "
        "dominance, p_percent, pq, group_share or cells: status suppress) to export\n"
    )
