from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sdc.errors import DataError, PolicyNotMet
from sdc.tables import TableSpec, audit_suppression, build_table
from sdc.tables import suppression as supp
from sdc.tables.suppression import Attacker, SuppressionProblem, secondary_suppression

from .conftest import microdata


def suppressed_cells(table: pd.DataFrame, by: list[str]) -> set[tuple[str, ...]]:
    flags = table["flag"].isin(["primary", "secondary"])
    return {tuple(r) for r in table.loc[flags, by].itertuples(index=False)}


def test_two_by_two_needs_three_more() -> None:
    df = microdata(
        {("A", "M"): 2, ("A", "F"): 10, ("B", "M"): 12, ("B", "F"): 15}, ("village", "sex")
    )
    t = build_table(df, TableSpec(by=("village", "sex"), count=True, min_cell=5))
    assert t.flag_counts["primary"] == 1 and t.flag_counts["secondary"] == 3
    assert suppressed_cells(t.table, ["village", "sex"]) == {
        ("A", "M"),
        ("A", "F"),
        ("B", "M"),
        ("B", "F"),
    }
    # The margins stay published.
    assert t.table.loc[t.table["village"] == "Total", "count"].tolist() == [25, 14, 39]
    assert t.passed
    primary = next(c for c in t.audit if c.flag == "primary")
    assert primary.cell == ("A", "M")
    assert (primary.lower, primary.upper) == (0.0, 12.0)
    assert (primary.required_lower, primary.required_upper) == (2.0, 5.0)


# A 3x3 table whose cheapest protection (by suppressed value) is the rectangle
# {r1c2, r1c3, r2c2, r2c3}: 30 + 14 + 40 = 84 beats every other rectangle (>= 85).
THREE = {
    ("r1", "c1"): 20,
    ("r1", "c2"): 30,
    ("r1", "c3"): 2,
    ("r2", "c1"): 25,
    ("r2", "c2"): 14,
    ("r2", "c3"): 40,
    ("r3", "c1"): 50,
    ("r3", "c2"): 35,
    ("r3", "c3"): 45,
}


def test_three_by_three_cheapest_rectangle() -> None:
    df = microdata(THREE, ("row", "col"))
    t = build_table(df, TableSpec(by=("row", "col"), count=True, min_cell=5))
    assert suppressed_cells(t.table, ["row", "col"]) == {
        ("r1", "c2"),
        ("r1", "c3"),
        ("r2", "c2"),
        ("r2", "c3"),
    }
    # With cost = number of cells any rectangle through r1c3 is optimal: 4 cells.
    t2 = build_table(df, TableSpec(by=("row", "col"), count=True, min_cell=5, cost="cells"))
    cells = suppressed_cells(t2.table, ["row", "col"])
    assert len(cells) == 4 and ("r1", "c3") in cells
    assert t2.passed


def test_two_primaries_in_one_row_share_protection() -> None:
    cells = dict(THREE)
    cells[("r1", "c2")] = 3
    df = microdata(cells, ("row", "col"))
    t = build_table(df, TableSpec(by=("row", "col"), count=True, min_cell=5))
    assert t.flag_counts["primary"] == 2
    # r1c2 and r1c3 protect each other in row r1; each column needs one more cell and
    # row r2 closes the pattern: r2c2 + r2c3 is the cheapest (14 + 40).
    assert suppressed_cells(t.table, ["row", "col"]) == {
        ("r1", "c2"),
        ("r1", "c3"),
        ("r2", "c2"),
        ("r2", "c3"),
    }
    assert t.passed


def test_hierarchy_village_within_district() -> None:
    hier = {"village": {"v1": "D1", "v2": "D1", "v3": "D2", "v4": "D2"}}
    cells = {
        ("v1", "F"): 1,
        ("v1", "M"): 30,
        ("v2", "F"): 20,
        ("v2", "M"): 25,
        ("v3", "F"): 18,
        ("v3", "M"): 16,
        ("v4", "F"): 40,
        ("v4", "M"): 45,
    }
    df = microdata(cells, ("village", "sex"))
    t = build_table(df, TableSpec(by=("village", "sex"), count=True, min_cell=5), hierarchies=hier)
    labels = t.table["village"].drop_duplicates().tolist()
    assert labels == ["v1", "v2", "D1", "v3", "v4", "D2", "Total"]
    assert len(t.table) == 7 * 3
    # Protection stays inside district D1: the rectangle over v1, v2 x F, M.
    assert suppressed_cells(t.table, ["village", "sex"]) == {
        ("v1", "F"),
        ("v1", "M"),
        ("v2", "F"),
        ("v2", "M"),
    }
    d1 = t.table[(t.table["village"] == "D1")]
    assert d1["count"].tolist() == [21, 55, 76]
    assert t.passed
    # The published table audits the same way when told the hierarchy.
    tidy = audit_suppression(t.table, hierarchies=hier)
    assert all(c.protected for c in tidy)
    with pytest.raises(DataError, match="inconsistent.*hierarchy"):
        audit_suppression(t.table)
    with pytest.raises(DataError, match="every cell of the table"):
        audit_suppression(t.table.iloc[1:])


def test_no_primary_cells_publishes_everything() -> None:
    df = microdata({("a", "x"): 6, ("a", "y"): 7, ("b", "x"): 8, ("b", "y"): 9}, ("p", "q"))
    t = build_table(df, TableSpec(by=("p", "q"), count=True, min_cell=5))
    assert t.flag_counts["published"] == 9 and t.audit == ()
    assert audit_suppression(t) == []


def _independent_intervals(table: pd.DataFrame) -> dict[tuple[str, str], tuple[float, float]]:
    """Feasible intervals of suppressed cells of a 2-D count table, LP written from scratch."""
    rows = [r for r in table["a"].unique() if r != "Total"]
    cols = [c for c in table["b"].unique() if c != "Total"]
    grid_r = rows + ["Total"]
    grid_c = cols + ["Total"]
    index = {(r, c): i for i, (r, c) in enumerate((r, c) for r in grid_r for c in grid_c)}
    n = len(index)
    eqs = []
    for r in grid_r:  # each row: cells sum to the row total
        e = np.zeros(n)
        e[index[(r, "Total")]] = 1
        for c in cols:
            e[index[(r, c)]] = -1
        eqs.append(e)
    for c in grid_c:
        e = np.zeros(n)
        e[index[("Total", c)]] = 1
        for r in rows:
            e[index[(r, c)]] = -1
        eqs.append(e)
    bounds = [(0.0, None)] * n
    value = {(r, c): v for r, c, v in table[["a", "b", "count"]].itertuples(index=False)}
    for key, i in index.items():
        if not pd.isna(value[key]):
            bounds[i] = (float(value[key]), float(value[key]))
    out = {}
    for key, i in index.items():
        if pd.isna(value[key]):
            obj = np.zeros(n)
            obj[i] = 1
            lo = linprog(obj, A_eq=np.array(eqs), b_eq=np.zeros(len(eqs)), bounds=bounds)
            hi = linprog(-obj, A_eq=np.array(eqs), b_eq=np.zeros(len(eqs)), bounds=bounds)
            out[key] = (lo.fun, np.inf if hi.status == 3 else -hi.fun)
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(st.integers(0, 12), min_size=6, max_size=20),
    n_cols=st.integers(2, 4),
    min_cell=st.integers(3, 6),
)
def test_property_no_primary_cell_recoverable(
    counts: list[int], n_cols: int, min_cell: int
) -> None:
    n_rows = max(2, len(counts) // n_cols)
    cells = {}
    for i in range(n_rows):
        for j in range(n_cols):
            k = i * n_cols + j
            cells[(f"r{i}", f"c{j}")] = counts[k] if k < len(counts) else 7
    df = microdata(cells, ("a", "b"))
    if df.empty or df["a"].nunique() < 2 or df["b"].nunique() < 2:
        return
    try:
        t = build_table(df, TableSpec(by=("a", "b"), count=True, min_cell=min_cell))
    except PolicyNotMet:
        # Only when protection is impossible: e.g. the grand total itself is sensitive.
        assert len(df) < min_cell
        return
    assert t.passed
    assert all(c.protected for c in audit_suppression(t))
    truth = {(r, c): v for (r, c), v in cells.items()}
    intervals = _independent_intervals(t.table)
    for row in t.table.itertuples(index=False):
        if row.flag != "primary":
            continue
        key = (row.a, row.b)
        true = truth.get(key)
        if true is None:  # a margin flagged primary
            continue
        lo, hi = intervals[key]
        assert hi >= min_cell - 1e-6, (key, true, lo, hi)  # reaches the threshold
        assert hi - lo > 1e-6


def test_attacker_fallback_linprog_matches_highs() -> None:
    df = microdata(THREE, ("row", "col"))
    t = build_table(df, TableSpec(by=("row", "col"), count=True, min_cell=5))
    problem, pattern = t._problem, t._suppressed
    assert problem is not None and pattern is not None
    csc = problem.relations.tocsc()
    cells = np.flatnonzero(pattern)
    warm = Attacker(problem, cells, csc)
    cold = Attacker(problem, cells, csc, warm=False)
    for c in cells:
        for d in (1, -1):
            r1, c1 = warm.reach(int(c), d)
            r2, c2 = cold.reach(int(c), d)
            assert r1 == pytest.approx(r2)
            if c1 is not None and c2 is not None:
                # both cuts are valid bounds and tight at the current pattern
                assert c1[cells].sum() == pytest.approx(r1)
                assert c2[cells].sum() == pytest.approx(r2)
    assert supp.cell_reach(problem, pattern, int(cells[0]), 1)[0] == pytest.approx(
        warm.reach(int(cells[0]), 1)[0]
    )


def _chain_problem(
    values: list[float], primary: list[bool], upl: list[float]
) -> SuppressionProblem:
    # cells 0..n-2 sum to cell n-1
    n = len(values)
    rel = sp.csr_matrix(np.array([[-1.0] * (n - 1) + [1.0]]))
    return SuppressionProblem(
        values=np.array(values, dtype=float),
        lower=np.zeros(n),
        upper=np.full(n, np.inf),
        relations=rel,
        primary=np.array(primary),
        upl=np.array(upl, dtype=float),
        lpl=np.zeros(n),
        cost=np.ones(n),
    )


def test_one_dimensional_problem_and_unbounded_reach() -> None:
    p = _chain_problem([3, 10, 7, 20], [True, False, False, False], [2, 0, 0, 0])
    pattern = secondary_suppression(p)
    assert pattern.sum() == 2 and pattern[0]
    # The total is published: moving cell 0 up by 2 needs the other suppressed cell to
    # give 2 down; that works for cell 1 (10) and cell 2 (7).
    reaches = supp.audit_pattern(p, pattern)
    assert reaches[0].upper >= 2
    # Suppressing the total as well leaves cell 0 unbounded above.
    both = pattern.copy()
    both[3] = True
    assert supp.audit_pattern(p, both)[0].upper == np.inf


def test_isolated_cell_without_relations() -> None:
    p = SuppressionProblem(
        values=np.array([4.0, 5.0]),
        lower=np.zeros(2),
        upper=np.array([10.0, np.inf]),
        relations=sp.csr_matrix((0, 2)),
        primary=np.array([True, False]),
        upl=np.array([3.0, 0.0]),
        lpl=np.array([1.0, 0.0]),
        cost=np.ones(2),
    )
    pattern = secondary_suppression(p)
    assert pattern.tolist() == [True, False]
    reach = supp.audit_pattern(p, pattern)[0]
    assert (reach.lower, reach.upper) == (4.0, 6.0)
    unbounded = SuppressionProblem(
        values=p.values,
        lower=p.lower,
        upper=np.full(2, np.inf),
        relations=p.relations,
        primary=p.primary,
        upl=p.upl,
        lpl=p.lpl,
        cost=p.cost,
    )
    assert supp.cell_reach(unbounded, pattern, 0, 1)[0] == np.inf


def test_impossible_protection_is_refused() -> None:
    p = _chain_problem([3, 10, 13], [True, False, False], [2, 0, 0])
    p = SuppressionProblem(
        values=p.values,
        lower=p.lower,
        upper=np.array([4.0, 20.0, 20.0]),
        relations=p.relations,
        primary=p.primary,
        upl=p.upl,
        lpl=p.lpl,
        cost=p.cost,
    )
    with pytest.raises(PolicyNotMet, match="protection level exceeds its possible range"):
        secondary_suppression(p)


def test_infeasible_master_is_refused() -> None:
    # Cell 0 must move up 5, but the only other cell can move down 1 and the total is
    # capped by its a priori upper bound: no pattern works.
    p = SuppressionProblem(
        values=np.array([3.0, 1.0, 4.0]),
        lower=np.zeros(3),
        upper=np.array([np.inf, np.inf, 4.5]),
        relations=sp.csr_matrix(np.array([[-1.0, -1.0, 1.0]])),
        primary=np.array([True, False, False]),
        upl=np.array([5.0, 0, 0]),
        lpl=np.zeros(3),
        cost=np.ones(3),
    )
    with pytest.raises(PolicyNotMet, match="no suppression pattern protects"):
        secondary_suppression(p)


def test_time_limit_is_reported() -> None:
    p = _chain_problem([3, 10, 7, 20], [True, False, False, False], [2, 0, 0, 0])
    with pytest.raises(PolicyNotMet, match="did not finish within 0 s"):
        secondary_suppression(p, time_limit=0.0)


# --- magnitudes in any unit (cents beside 1e12) ---------------------------------------


def _enterprises(seed: int, n: int, tiny: float | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    regions = [f"R{i:02d}" for i in range(12)]
    region = rng.choice(regions, n, p=np.r_[np.full(11, 0.07), 0.23])
    sector = rng.choice([f"S{i:02d}" for i in range(30)], n, p=rng.dirichlet(np.full(30, 0.6)))
    turnover = np.round(np.exp(rng.normal(14, 2.2, n)), 2)  # currency units, with cents
    df = pd.DataFrame({"region": region, "sector": sector, "turnover": turnover})
    if tiny is not None:  # one enterprise alone in its cell, worth `tiny`
        extra = pd.DataFrame({"region": ["R00"], "sector": ["S99"], "turnover": [tiny]})
        big = pd.DataFrame({"region": ["R01"], "sector": ["S99"], "turnover": [1e12]})
        df = pd.concat([df, extra, big, big.assign(region="R02")], ignore_index=True)
    return df


def _independent_audit(t: object) -> None:
    """For every primary and direction, an intruder's table that moves it by its level.

    Solved afresh with scipy's linprog in deviations from the true table, in units of the
    cell's level, then checked by hand: the relations hold and the bounds are respected,
    so the witness is a table the intruder cannot rule out.
    """
    problem, suppressed = t._problem, t._suppressed  # type: ignore[attr-defined]
    sup = np.flatnonzero(suppressed)
    a = problem.relations[:, sup]
    for p in np.flatnonzero(problem.primary):
        for direction, level in ((1, problem.upl[p]), (-1, problem.lpl[p])):
            if level <= 0:
                continue
            unit = float(level)
            lo = np.maximum(-problem.values[sup] / unit, -1e6)
            hi = np.full(len(sup), 1e6)
            obj = np.zeros(len(sup))
            obj[np.searchsorted(sup, p)] = -direction
            res = linprog(
                obj, A_eq=a, b_eq=np.zeros(a.shape[0]), bounds=np.c_[lo, hi], method="highs"
            )
            assert res.status == 0, res.message
            z = res.x
            assert np.abs(a @ z).max(initial=0.0) <= 1e-6
            assert (z >= lo - 1e-9).all() and (z <= hi + 1e-9).all()
            assert direction * z[np.searchsorted(sup, p)] >= 1 - 1e-6, (p, direction)


def test_tiny_cell_beside_a_huge_one_is_protected() -> None:
    # The reproduction: a primary of 100 (a protection level ~1e-7 of the largest
    # cell) used to give an empty cut "0 >= 1" and a false refusal.
    rows = []
    rng = np.random.default_rng(1)
    for r in "ABCDEFGHIJ":
        for s in ("s1", "s2"):
            values = [100.0] if (r, s) == ("A", "s1") else list(rng.uniform(4e7, 9e7, 6))
            rows += [(r, s, v) for v in values]
    df = pd.DataFrame(rows, columns=["region", "sector", "turnover"])
    t = build_table(df, TableSpec(by=("region", "sector"), sum="turnover", dominance=(1, 0.8)))
    assert t.passed and t.flag_counts["primary"] == 1 and t.flag_counts["secondary"] == 3
    _independent_audit(t)


def test_turnover_of_50000_enterprises_in_currency_units() -> None:
    df = _enterprises(7, 50_000)
    assert df["turnover"].sum() > 1e11
    t = build_table(df, TableSpec(by=("region", "sector"), sum="turnover", dominance=(1, 0.8)))
    assert t.passed and t.flag_counts["primary"] > 10
    _independent_audit(t)


def test_cents_beside_1e12_in_one_table() -> None:
    df = _enterprises(7, 50_000, tiny=0.05)
    t = build_table(df, TableSpec(by=("region", "sector"), sum="turnover", dominance=(1, 0.8)))
    cells = {c.cell: c for c in t.audit}
    assert ("R00", "S99") in cells and cells[("R00", "S99")].flag == "primary"
    assert t.passed
    _independent_audit(t)


def test_solver_trouble_names_the_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    class Failed:
        status, message = 4, "numerical difficulties"

    monkeypatch.setattr(supp, "_highs_core", None)
    monkeypatch.setattr(supp, "linprog", lambda *a, **k: Failed())
    df = microdata(
        {("A", "M"): 2, ("A", "F"): 10, ("B", "M"): 12, ("B", "F"): 15}, ("village", "sex")
    )
    with pytest.raises(PolicyNotMet) as err:
        build_table(df, TableSpec(by=("village", "sex"), count=True, min_cell=5))
    assert str(err.value) == (
        "the LP solver could not bound the cell A × M of this table, so its protection "
        "cannot be proven; nothing was published. Publish it in coarser units or "
        "categories, or use rounding"
    )


def test_unbalanced_hierarchy_table_protects() -> None:
    # sdcTable's vignette hierarchy: B -> Ba/Bb/Bc; A, C, D without sub-levels.
    counts = {
        ("A", "m"): 20, ("A", "f"): 18, ("Ba", "m"): 2, ("Ba", "f"): 9, ("Bb", "m"): 11,
        ("Bb", "f"): 14, ("Bc", "m"): 7, ("Bc", "f"): 3, ("C", "m"): 25, ("C", "f"): 21,
        ("D", "m"): 6, ("D", "f"): 12,
    }  # fmt: skip
    df = microdata(counts, ("branch", "sex"))
    hier = {"branch": {"Ba": "B", "Bb": "B", "Bc": "B", "A": "A", "C": "C", "D": "D"}}
    t = build_table(df, TableSpec(by=("branch", "sex"), count=True, min_cell=5), hierarchies=hier)
    assert t.passed and t.flag_counts["primary"] == 2
    table = t.table.set_index(["branch", "sex"])
    assert table.loc[("B", "Total"), "count"] == 46 or pd.isna(table.loc[("B", "Total"), "count"])
    _independent_audit(t)
    # The published table audits the same way when told the hierarchy.
    tidy = audit_suppression(t.table, hierarchies=hier)
    assert all(c.lower < c.upper for c in tidy if c.flag == "primary")


def test_five_by_variables() -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({c: rng.choice(list("xyz"), 3_000) for c in "abcde"})
    t = build_table(df, TableSpec(by=tuple("abcde"), count=True, min_cell=3))
    assert len(t.table) == 4**5 and t.passed
