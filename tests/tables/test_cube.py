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
        ({"v1": "D1", "v2": "D1", "D1": "v1"}, PolicyError, r"\['v1', 'D1'\] lead back to 'v1'"),
        ({"v1": "Total", "v2": "Total"}, PolicyError, r"reserved for the margin"),
        ({"v1": "A", "v2": "A", "A": "B", "B": "A"}, PolicyError, r"a cycle"),
        ({"v1": "v2"}, PolicyError, r"\['v2'\] are categories of the data and also margins"),
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


def test_unbalanced_hierarchy_as_in_sdctables_vignette() -> None:
    # B splits into Ba, Bb, Bc; A, C and D have no sub-levels (written A;A;* in ARX files).
    cats = ["A", "Ba", "Bb", "Bc", "C", "D"]
    d = build_dimension("x", cats, {"Ba": "B", "Bb": "B", "Bc": "B", "A": "A", "C": "C"})
    assert d.labels == ("A", "Ba", "Bb", "Bc", "B", "C", "D", "Total")
    assert d.level.tolist() == [0, 0, 0, 0, 1, 0, 0, 2]
    assert {d.labels[k]: [d.labels[c] for c in v] for k, v in d.children().items()} == {
        "B": ["Ba", "Bb", "Bc"],
        "Total": ["A", "B", "C", "D"],
    }
    # Each node gathers exactly its own categories at every level.
    assert [[d.labels[n] for n in row] for row in d.ancestors] == [
        ["A", "Ba", "Bb", "Bc", "C", "D"],
        ["A", "B", "B", "B", "C", "D"],
        ["Total"] * 6,
    ]


def test_unbalanced_cube_sums_every_node_by_brute_force() -> None:
    rng = np.random.default_rng(5)
    hier = {"a1": "A", "a2": "A", "A": "AA", "b": "AA", "c1": "C", "c2": "C"}
    d1 = build_dimension("x", ["a1", "a2", "b", "c1", "c2", "e"], hier)
    d2 = build_dimension("y", ["m", "f"])
    cube = Cube((d1, d2))
    leaf = rng.integers(0, 50, size=(6, 2)).astype(float)
    cells = cube.aggregate(leaf).reshape(cube.shape)
    assert np.abs(cube.relations() @ cells.ravel()).max() == 0
    leaves = {c: i for i, c in enumerate(["a1", "a2", "b", "c1", "c2", "e"])}
    below = {
        "A": ["a1", "a2"],
        "AA": ["a1", "a2", "b"],
        "C": ["c1", "c2"],
        "Total": list(leaves),
        **{c: [c] for c in leaves},
    }
    for node, label in enumerate(d1.labels):
        want = leaf[[leaves[c] for c in below[label]]].sum(axis=0)
        assert cells[node, :2].tolist() == want.tolist(), label
