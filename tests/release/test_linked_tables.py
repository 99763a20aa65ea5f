"""Two tables with a common margin in one release: protected together, checked together."""

from __future__ import annotations

import json
from pathlib import Path

from sdc.io import file_sha256, read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from sdc.release.plan import table_spec
from sdc.tables import build_table
from tests.tables.test_linked import survey

POLICY = """\
version: 1
name: linked
columns:
  region: {role: quasi}
  sex: {role: quasi}
  age: {role: quasi}
outputs:
  tables:
    - {by: [region, sex], count: true, min_cell: 4}
    - {by: [region, age], count: true, min_cell: 4}
"""
NAMES = ("count_by_region_sex", "count_by_region_age")


def test_release_links_the_tables_and_check_audits_them_together(tmp_path: Path) -> None:
    survey(30).to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    release(
        read_table(tmp_path / "survey.csv"),
        policy,
        tmp_path / "out",
        ledger=Ledger(tmp_path / "l.jsonl"),
    )
    result = check_bundle(tmp_path / "out", policy)
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    joint = next(i for i in result.items if i.name.startswith("tables "))
    assert joint.name == f"tables {NAMES[0]}, {NAMES[1]} together"
    assert joint.detail == "every suppressed primary cell keeps an interval against all of them"

    # A tool that protects each table on its own (each passes alone) is caught.
    df = survey(30)
    bundle = tmp_path / "out"
    manifest = json.loads((bundle / "manifest.json").read_text())
    for i, name in enumerate(NAMES):
        alone = build_table(df, table_spec(policy, i))
        alone.table.to_csv(bundle / "tables" / f"{name}.csv", index=False)
        manifest["outputs"][f"tables/{name}.csv"]["sha256"] = file_sha256(
            bundle / "tables" / f"{name}.csv"
        )
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    forged = check_bundle(bundle, policy)
    failed = {i.name: i.detail for i in forged.items if not i.passed}
    assert list(failed) == [f"tables {NAMES[0]}, {NAMES[1]} together"]
    assert failed[f"tables {NAMES[0]}, {NAMES[1]} together"].startswith(
        "1 suppressed primary cell(s) can be recomputed from the published tables together"
    )
