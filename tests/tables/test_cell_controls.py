"""The office's own say: manual suppression, cells kept published, per-cell protection."""

from __future__ import annotations

import pandas as pd
import pytest

from sdc.errors import PolicyError, PolicyNotMet
from sdc.tables import TableSpec, build_table
from sdc.tables.spec import CellControl

from .conftest import microdata

COUNTS = {
    ("A", "M"): 2, ("A", "F"): 10, ("B", "M"): 12, ("B", "F"): 15,
    ("C", "M"): 9, ("C", "F"): 30,
}  # fmt: skip


def flags(t: object) -> dict[tuple[str, str], str]:
    table = t.table  # type: ignore[attr-defined]
    return {(r.village, r.sex): r.flag for r in table.itertuples(index=False)}


def spec(*cells: CellControl, min_cell: int | None = 5) -> TableSpec:
    return TableSpec(by=("village", "sex"), count=True, min_cell=min_cell, cells=cells)


def test_a_manual_suppression_is_primary_and_protected() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    t = build_table(
        df, spec(CellControl(where=(("village", "C"), ("sex", "M")), status="suppress"))
    )
    f = flags(t)
    assert f[("C", "M")] == "primary" and f[("A", "M")] == "primary"
    assert t.passed
    cm = next(c for c in t.audit if c.cell == ("C", "M"))
    # default protection: 10% of 9, at least 1 for counts -> [8, 10] at least
    assert (cm.required_lower, cm.required_upper) == (8.0, 10.0)
    assert cm.lower <= 8 and cm.upper >= 10


def test_cells_kept_published_are_never_secondary() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    free = flags(build_table(df, spec()))
    partners = {k for k, v in free.items() if v == "secondary" and k[0] != "A"}
    assert partners  # the cheapest pattern uses another village's cells
    village = next(iter(partners))[0]
    keep = CellControl(where=(("village", village),), status="publish")
    t = build_table(df, spec(keep))
    f = flags(t)
    assert all(v == "published" for k, v in f.items() if k[0] == village)
    assert t.passed


def test_publishing_a_sensitive_cell_is_refused() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    keep = CellControl(where=(("village", "A"), ("sex", "M")), status="publish")
    with pytest.raises(PolicyError) as err:
        build_table(df, spec(keep))
    assert str(err.value) == (
        "table count_by_village_sex: the policy says publish A × M, but it is sensitive "
        "(threshold); a sensitive cell cannot be published"
    )


def test_keeping_every_partner_published_leaves_no_pattern() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    keeps = [CellControl(where=(("village", v),), status="publish") for v in ("B", "C", "Total")]
    with pytest.raises(PolicyNotMet) as err:
        build_table(df, spec(*keeps))
    assert "and the cells the policy keeps published allow" in str(err.value)


def test_a_larger_protection_level_widens_the_pattern() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    level = CellControl(where=(("village", "A"), ("sex", "M")), protection=5.0)
    t = build_table(df, spec(level))
    am = next(c for c in t.audit if c.cell == ("A", "M"))
    assert (am.required_lower, am.required_upper) == (0.0, 12.0)
    assert t.passed and am.upper >= 12


def test_a_control_matching_nothing_is_refused() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    with pytest.raises(PolicyError) as err:
        build_table(df, spec(CellControl(where=(("village", "Z"),), status="suppress")))
    assert str(err.value) == (
        "table count_by_village_sex: cells village=Z match no cell of the table"
    )


@pytest.mark.parametrize(
    ("control", "message"),
    [
        (CellControl(where=(("region", "A"),), status="suppress"),
         "table by ['village', 'sex']: cells.where names ['region']; use the by variables ['village', 'sex']"),
        (CellControl(where=(("village", "A"),)),
         "table by ['village', 'sex']: the cells village=A need status: suppress | publish or protection: SHARE"),
        (CellControl(where=(("village", "A"),), status="publish", protection=0.2),
         "table by ['village', 'sex']: the cells village=A are to be published: a protection level applies to suppressed cells only"),
    ],
)  # fmt: skip
def test_bad_controls(control: CellControl, message: str) -> None:
    with pytest.raises(PolicyError) as err:
        spec(control)
    assert str(err.value) == message


def test_manual_suppression_makes_a_table_without_rules_a_suppression_table() -> None:
    df = microdata(COUNTS, ("village", "sex"))
    t = build_table(
        df,
        spec(CellControl(where=(("village", "B"), ("sex", "F")), status="suppress"), min_cell=None),
    )
    f = flags(t)
    assert f[("B", "F")] == "primary" and sum(v == "secondary" for v in f.values()) == 3
    assert t.mechanism.startswith("rules 1 manual cell rule(s): 1 sensitive cells")
    assert isinstance(t.table, pd.DataFrame)
