from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from sdc.errors import PolicyNotMet
from sdc.tables import TableSpec, build_table
from sdc.tables._cube import Cube, build_dimension
from sdc.tables.rounding import controlled_rounding, random_rounding

from .conftest import microdata


def test_random_rounding_is_unbiased_and_on_the_base() -> None:
    rng = np.random.default_rng(3)
    values = np.array([0, 1, 2, 3, 4, 5, 7, 12.5])
    draws = np.stack([random_rounding(values, 5, rng) for _ in range(4000)])
    assert np.all(draws % 5 == 0)
    assert np.all(np.abs(draws - values) < 5)
    assert draws[:, 0].max() == 0 and draws[:, 5].min() == 5  # multiples stay
    # mean within 4 standard errors of the true value (sd <= 2.5)
    assert np.all(np.abs(draws.mean(axis=0) - values) < 4 * 2.5 / np.sqrt(4000))


def test_random_rounding_table_is_seeded() -> None:
    df = microdata({("a", "x"): 3, ("a", "y"): 8, ("b", "x"): 11, ("b", "y"): 1}, ("p", "q"))
    spec = TableSpec(by=("p", "q"), count=True, rounding=3)
    t1 = build_table(df, spec, seed=7)
    t2 = build_table(df, spec, seed=7)
    pd.testing.assert_frame_equal(t1.table, t2.table)
    assert set(t1.table["flag"]) == {"rounded"}
    assert (t1.table["count"] % 3 == 0).all()
    assert t1.flag_counts["rounded"] == 9
    assert t1.mechanism == "random rounding to base 3"


def test_controlled_rounding_is_additive() -> None:
    cells = {(f"r{i}", f"c{j}"): (i * 7 + j * 3) % 11 + 1 for i in range(4) for j in range(3)}
    df = microdata(cells, ("r", "c"))
    t = build_table(
        df, TableSpec(by=("r", "c"), count=True, rounding=5, rounding_method="controlled")
    )
    tab = t.table
    assert (tab["count"] % 5 == 0).all()
    truth = {k: v for k, v in cells.items()}
    for (r, c), v in truth.items():
        got = tab[(tab["r"] == r) & (tab["c"] == c)]["count"].iloc[0]
        assert abs(got - v) < 5
    inner = tab[(tab["r"] != "Total") & (tab["c"] != "Total")]
    row_tot = tab[(tab["c"] == "Total") & (tab["r"] != "Total")].set_index("r")["count"]
    assert (inner.groupby("r")["count"].sum() == row_tot).all()
    col_tot = tab[(tab["r"] == "Total") & (tab["c"] != "Total")].set_index("c")["count"]
    assert (inner.groupby("c")["count"].sum() == col_tot).all()
    assert tab.iloc[-1]["count"] == inner["count"].sum()


def test_controlled_rounding_one_dimension_and_infeasible() -> None:
    d = build_dimension("a", ["x", "y"])
    cube = Cube((d,))
    values = cube.aggregate(np.array([2.0, 2.0]))
    out = controlled_rounding(values, 5, cube.relations())
    assert out[0] + out[1] == out[2] and set(out) <= {0.0, 5.0}
    # No relations: nearest multiple.
    assert controlled_rounding(np.array([1.0, 4.0]), 5, sp.csr_matrix((0, 2))).tolist() == [
        0.0,
        5.0,
    ]
    # An inconsistent "table" (2 + 2 = 15) has no additive rounding.
    with pytest.raises(PolicyNotMet, match="no additive solution"):
        controlled_rounding(np.array([2.0, 2.0, 15.0]), 5, cube.relations())
