from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sdc.errors import DataError, PolicyError
from sdc.tables._cube import Cube, build_dimension, categories_of


def test_dimension_with_two_level_hierarchy() -> None:
    hier = {"v1": "D1", "v2": "D1", "v3": "D2", "D1": "R", "D2": "R"}
    d = build_dimension("village", ["v1", "v2", "v3"], hier)
    assert d.labels == ("v1", "v2", "D1", "v3", "D2", "R", "Total")
    assert d.n_levels == 4 and d.n_leaves == 3
    assert d.ancestors.tolist() == [[0, 1, 3], [2, 2, 4], [5, 5, 5], [6, 6, 6]]
    assert {k: v.tolist() for k, v in d.children().items()} == {
        2: [0, 1],
        4: [3],
        5: [2, 4],
        6: [5],
    }


@pytest.mark.parametrize(
    ("hier", "error", "message"),
    [
        ({"v1": "D1"}, PolicyError, r"\['v2'\] have no parent"),
        ({"v1": "D1", "v2": "D1", "D1": "v1"}, PolicyError, r"appear on two levels"),
        ({"v1": "Total", "v2": "Total"}, PolicyError, r"reserved for the margin"),
        ({"v1": "A", "v2": "A", "A": "B", "B": "A"}, PolicyError, r"two levels"),
    ],
)
def test_bad_hierarchies(hier: dict[str, str], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        build_dimension("village", ["v1", "v2"], hier)


def test_total_category_is_reserved() -> None:
    with pytest.raises(DataError, match="reserved for margins"):
        build_dimension("x", ["a", "Total"])


def test_relations_hold_for_aggregated_cube() -> None:
    d1 = build_dimension("a", ["x", "y", "z"], {"x": "P", "y": "P", "z": "Q"})
    d2 = build_dimension("b", ["m", "n"])
    d3 = build_dimension("c", ["1", "2", "3"])
    cube = Cube((d1, d2, d3))
    leaf = np.random.default_rng(0).integers(0, 9, size=(3, 2, 3)).astype(float)
    cells = cube.aggregate(leaf)
    assert len(cells) == cube.n_cells == 6 * 3 * 4
    rel = cube.relations()
    assert np.abs(rel @ cells).max() == 0
    assert cells[-1] == leaf.sum()
    assert cube.is_leaf_cell().sum() == 18
    labels = cube.labels()
    assert list(labels.columns) == ["a", "b", "c"]
    assert labels.iloc[-1].tolist() == ["Total", "Total", "Total"]


def test_categories_natural_order() -> None:
    assert categories_of(pd.Series([10, 2, 1, None])) == ["1", "2", "10"]
    assert categories_of(pd.Series([1.0, 2.0])) == ["1", "2"]
    assert categories_of(pd.Series(["b", "a", "", None])) == ["a", "b"]
    assert categories_of(pd.Series(["b", 1], dtype=object)) == ["1", "b"]
