"""Tables of one release protected and audited together (a common margin links them)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc.tables import TableSpec, audit_linked, build_table, build_tables, link_tables
from sdc.tables.linked import cell_keys, joint_problem


def survey(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 120))
    return pd.DataFrame(
        {
            "region": rng.choice(list("ABCD"), n, p=[0.1, 0.2, 0.3, 0.4]),
            "sex": rng.choice(["m", "f"], n),
            "age": rng.choice(["y", "o"], n, p=[0.3, 0.7]),
        }
    )


SPECS = (
    TableSpec(by=("region", "sex"), count=True, min_cell=4),
    TableSpec(by=("region", "age"), count=True, min_cell=4),
)


def exposed(tables: list) -> list:
    audits = audit_linked([(t.table, None) for t in tables])
    return [c for audit in audits for c in audit if not c.protected]


def test_protected_separately_the_common_margin_gives_a_cell_away() -> None:
    # Seed 30: each table alone passes its audit, but region × Total is published in one
    # and suppressed in the other; with both tables a primary cell is recomputed exactly.
    df = survey(30)
    alone = [build_table(df, s) for s in SPECS]
    assert all(t.passed for t in alone)
    leaks = exposed(alone)
    assert leaks and all(c.lower == c.upper for c in leaks)
    linked = link_tables(alone)
    assert all(t.passed for t in linked) and not exposed(linked)
    assert all("linked with" in t.mechanism for t in linked)


@pytest.mark.parametrize("seed", range(40))
def test_linked_tables_pass_the_joint_audit_and_shared_cells_have_one_status(seed: int) -> None:
    df = survey(seed)
    tables = build_tables(df, SPECS)
    assert all(t.passed for t in tables)
    assert not exposed(tables)
    status: dict[tuple, set[str]] = {}
    for t in tables:
        keys = cell_keys(t.table[list(t.spec.by)])
        suppressed = t.table["flag"].isin(["primary", "secondary"]).to_numpy()
        for key, sup in zip(keys, suppressed, strict=True):
            status.setdefault(key, set()).add("suppressed" if sup else "published")
    assert all(len(s) == 1 for s in status.values())


def test_joint_problem_identifies_margins_by_labels_and_value() -> None:
    df = survey(3)
    t1, t2 = (build_table(df, s) for s in SPECS)
    joint, (m1, m2) = joint_problem([(t1._problem, t1._labels), (t2._problem, t2._labels)])
    # region margins (4 + Total) are shared: 15 + 15 - 5 cells
    assert joint.n_cells == 25
    shared = np.intersect1d(m1, m2)
    assert len(shared) == 5
    assert (joint.relations @ joint.values == 0).all()


def test_margins_of_different_quantities_stay_apart() -> None:
    # A record with a blank age is left out of the region × age table only: its region
    # margins count different people and are not the same cell.
    df = survey(3)
    df.loc[0, "age"] = None
    t1, t2 = (build_table(df, s) for s in SPECS)
    joint, (m1, m2) = joint_problem([(t1._problem, t1._labels), (t2._problem, t2._labels)])
    region = df.loc[0, "region"]
    l1 = t1._labels.index[(t1._labels["region"] == region) & (t1._labels["sex"] == "Total")]
    l2 = t2._labels.index[(t2._labels["region"] == region) & (t2._labels["age"] == "Total")]
    assert m1[l1[0]] != m2[l2[0]]


def test_tables_of_other_quantities_are_not_linked() -> None:
    df = survey(30).assign(income=1.0)
    specs = (SPECS[0], TableSpec(by=("region", "age"), sum="income", min_cell=4))
    tables = build_tables(df, specs)
    assert not any("linked" in t.mechanism for t in tables)
