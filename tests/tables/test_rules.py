from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc.errors import PolicyError
from sdc.tables import TableSpec, build_table
from sdc.tables._cube import Cube, build_dimension, encode_leaves
from sdc.tables.rules import compute_stats, primary_cells


def _magnitude(contribs: dict[str, list[float]]) -> pd.DataFrame:
    rows = [(k, v) for k, vs in contribs.items() for v in vs]
    return pd.DataFrame(rows, columns=["sector", "income"])


def _stats(df: pd.DataFrame, spec: TableSpec):
    cube = Cube((build_dimension("sector", sorted(df["sector"].unique())),))
    codes, keep = encode_leaves(df, cube.dims)
    contrib = df["income"].to_numpy(float) if spec.sum else np.ones(len(df))
    stats = compute_stats(cube, codes[keep], contrib[keep], np.ones(int(keep.sum())), 3)
    prim = primary_cells(cube, stats, spec, np.zeros(cube.n_cells), weighted=False)
    return cube, stats, prim


def test_top_contributions_per_cell_and_margin() -> None:
    df = _magnitude({"a": [5, 50, 1], "b": [7, 70]})
    _, stats, _ = _stats(df, TableSpec(by=("sector",), sum="income"))
    # cells: a, b, Total
    assert stats.top.tolist() == [[50, 5, 1], [70, 7, 0], [70, 50, 7]]
    assert stats.records.tolist() == [3, 2, 5]
    assert stats.value.tolist() == [56, 77, 133]


@pytest.mark.parametrize(
    ("contribs", "expected", "upl"),
    [
        # X = 100, x1 = 85: 85 > 0.8 * 100 -> sensitive, UPL = 85 / 0.8 - 100 = 6.25
        ([85, 10, 5], True, 6.25),
        # x1 = 80 is not more than 80%
        ([80, 15, 5], False, 0.0),
    ],
)
def test_dominance_rule(contribs: list[float], expected: bool, upl: float) -> None:
    df = _magnitude({"a": contribs, "b": [30, 30, 30, 30]})
    spec = TableSpec(by=("sector",), sum="income", dominance=(1, 0.8))
    _, _, prim = _stats(df, spec)
    assert bool(prim.primary[0]) is expected
    assert prim.upl[0] == pytest.approx(upl)
    assert prim.lpl[0] == pytest.approx(upl)
    assert not prim.primary[1]


def test_two_k_dominance() -> None:
    # n = 2: 45 + 40 = 85 > 0.8 * 100 -> sensitive, UPL = 85 / 0.8 - 100
    df = _magnitude({"a": [45, 40, 15], "b": [25, 25, 25, 25]})
    _, _, prim = _stats(df, TableSpec(by=("sector",), sum="income", dominance=(2, 0.8)))
    assert prim.primary.tolist() == [True, False, False]
    assert prim.upl[0] == pytest.approx(85 / 0.8 - 100)


@pytest.mark.parametrize(
    ("contribs", "expected", "level"),
    [
        # X - x1 - x2 = 5 < 0.1 * 60 = 6 -> sensitive, level 1
        ([60, 35, 3, 2], True, 1.0),
        # X - x1 - x2 = 7 >= 6 -> safe
        ([60, 33, 4, 3], False, 0.0),
        # a single contributor: remainder 0 < 0.1 * x1
        ([50], True, 5.0),
    ],
)
def test_p_percent_rule(contribs: list[float], expected: bool, level: float) -> None:
    df = _magnitude({"a": contribs, "b": [30, 30, 30, 30]})
    _, _, prim = _stats(df, TableSpec(by=("sector",), sum="income", p_percent=0.1))
    assert bool(prim.primary[0]) is expected
    assert prim.upl[0] == pytest.approx(level)
    assert prim.rule[0] == ("p_percent" if expected else "")


@pytest.mark.parametrize(
    ("contribs", "pq", "expected", "level"),
    [
        # rest = 5; p/q = 0.2: 5 < 20 -> sensitive, level 20 - 5 = 15 (p% 0.1 would give 5)
        ([100, 20, 5], (0.1, 0.5), True, 15.0),
        # rest = 15: the pq rule (0.2 * 100 = 20) flags it, the 10% rule (10) would not
        ([100, 20, 15], (0.1, 0.5), True, 5.0),
        ([100, 20, 25], (0.1, 0.5), False, 0.0),
        # q = 1 is the p% rule
        ([100, 20, 5], (0.1, 1.0), True, 5.0),
    ],
)
def test_pq_rule(
    contribs: list[float], pq: tuple[float, float], expected: bool, level: float
) -> None:
    df = _magnitude({"a": contribs, "b": [30, 30, 30, 30]})
    _, _, prim = _stats(df, TableSpec(by=("sector",), sum="income", pq=pq))
    assert bool(prim.primary[0]) is expected
    assert prim.upl[0] == pytest.approx(level)
    assert prim.rule[0] == ("pq" if expected else "")


@pytest.mark.parametrize("pq", [(0.5, 0.5), (0.0, 0.5), (0.1, 1.5)])
def test_pq_rule_needs_p_below_q(pq: tuple[float, float]) -> None:
    with pytest.raises(PolicyError) as err:
        TableSpec(by=("sector",), sum="income", pq=pq)
    assert str(err.value) == (
        "table by ['sector']: the pq rule needs 0 < p < q <= 1 (fractions), "
        f"got p={pq[0]!r} q={pq[1]!r}"
    )


def test_threshold_on_magnitude_and_several_rules() -> None:
    df = _magnitude({"a": [90, 10], "b": [30, 30, 30, 30]})
    spec = TableSpec(by=("sector",), sum="income", min_cell=3, dominance=(1, 0.8))
    _, _, prim = _stats(df, spec)
    assert prim.primary.tolist() == [True, False, False]
    assert prim.rule[0] == "threshold,dominance"
    t = build_table(df, spec)
    assert t.mechanism.startswith("rules min_cell 3, dominance n=1 k=0.8: 1 sensitive cells")
    # dominance 90 / 0.8 - 100 = 12.5 beats 10% of 100
    assert prim.upl[0] == pytest.approx(12.5)


def test_threshold_on_counts_weighted_scales_protection() -> None:
    df = pd.DataFrame({"v": ["a"] * 2 + ["b"] * 8 + ["c"] * 9, "w": [10.0] * 19})
    t = build_table(df, TableSpec(by=("v",), count=True, weight="w", min_cell=5))
    assert t.table["count"].dtype == float
    prim = next(c for c in t.audit if c.flag == "primary")
    # 2 records of weight 10 = 20; threshold 5 -> reach up to 5 * 10 = 50.
    assert prim.value == 20 and prim.required_upper == pytest.approx(50.0)
    assert t.passed


def test_group_disclosure_rule() -> None:
    # village A: 19 of 20 are hiv=yes (95% >= 90%); village B is mixed.
    rows = [("A", "yes")] * 19 + [("A", "no")] * 1 + [("B", "yes")] * 10 + [("B", "no")] * 12
    rows += [("C", "yes")] * 8 + [("C", "no")] * 9
    df = pd.DataFrame(rows, columns=["village", "hiv"])
    spec = TableSpec(by=("village", "hiv"), count=True, sensitive="hiv", group_share=0.9)
    t = build_table(df, spec)
    flagged = t.table[t.table["flag"] == "primary"][["village", "hiv"]].values.tolist()
    assert flagged == [["A", "yes"]]
    a_yes = next(c for c in t.audit if c.cell == ("A", "yes"))
    # ceil(0.9 * 20) = 18: the interval must reach 17 or below.
    assert a_yes.required_lower == 17 and a_yes.lower <= 17
    assert "group_share 0.9 of hiv" in t.mechanism
    assert t.passed
