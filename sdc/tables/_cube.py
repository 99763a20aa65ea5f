"""The cell structure of a table with all its margins: dimensions, cells, linear relations.

A table over ``d`` classification variables is held as a dense cube of *nodes*: for every
dimension, the categories (leaves), the inner nodes of an optional hierarchy (village
within district) and the root ``Total``. A cell is one node per dimension; the flat index
of a cell is its C-order position in the cube. Every inner node equals the sum of its
children along its dimension, for every combination of the other dimensions' nodes: these
are the table's linear relations, the only ones an intruder can exploit besides the a
priori bounds of the cells.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from sdc.errors import DataError, PolicyError

TOTAL = "Total"


@dataclass(frozen=True)
class Dimension:
    """One classification variable with its margins.

    Attributes:
        name: the column.
        labels: node labels in output order (children before their parent, ``Total`` last).
        parent: parent node of each node (-1 for ``Total``).
        level: 0 for leaves, 1 for their parents, ..., ``n_levels - 1`` for ``Total``.
        leaf_nodes: node index of each leaf, in category order.
        ancestors: ``(n_levels, n_leaves)``: the node at each level above each leaf.
    """

    name: str
    labels: tuple[str, ...]
    parent: np.ndarray
    level: np.ndarray
    leaf_nodes: np.ndarray
    ancestors: np.ndarray

    @property
    def size(self) -> int:
        """Number of nodes."""
        return len(self.labels)

    @property
    def n_levels(self) -> int:
        """Number of levels, ``Total`` included."""
        return int(self.ancestors.shape[0])

    @property
    def n_leaves(self) -> int:
        """Number of categories."""
        return len(self.leaf_nodes)

    def children(self) -> dict[int, np.ndarray]:
        """Children of every inner node."""
        out: dict[int, list[int]] = {}
        for node, par in enumerate(self.parent):
            if par >= 0:
                out.setdefault(int(par), []).append(node)
        return {k: np.asarray(v, dtype=np.int64) for k, v in out.items()}


def build_dimension(
    name: str, categories: Sequence[str], hierarchy: Mapping[str, str] | None = None
) -> Dimension:
    """Build a dimension from its categories and an optional hierarchy.

    The hierarchy may be unbalanced (leaves at different depths: ``Ba -> B`` beside an ``A``
    with no parent); a category without a parent is a child of ``Total``. A label that is
    its own parent (``A;A;*`` in an ARX file) stands for one node on several levels. A
    node's ``level`` is its height (0 for categories, one more than its highest child), and
    ``ancestors[lev]`` holds, for each category, its highest ancestor-or-self whose level is
    at most ``lev``: every node then gathers exactly the records of its categories.

    Args:
        name: the column name.
        categories: the leaf categories, in output order.
        hierarchy: child -> parent labels, possibly chained over several levels (village ->
            district -> region).

    Raises:
        PolicyError: for a cycle, a parent called ``Total``, or a category that is also
            the margin of other categories.
        DataError: if a category is called ``Total``.
    """
    cats = [str(c) for c in categories]
    if TOTAL in cats:
        raise DataError(
            f"column {name!r} has a category named {TOTAL!r}, which is reserved for margins; "
            "recode it first"
        )
    links = {str(c): str(p) for c, p in (hierarchy or {}).items() if str(c) != str(p)}
    paths = [_path_to_top(name, c, links) for c in cats]
    kids: dict[str, list[str]] = {TOTAL: []}
    for path in paths:
        for child, par in zip(path, [*path[1:], TOTAL], strict=True):
            siblings = kids.setdefault(par, [])
            if child not in siblings:
                siblings.append(child)
    clash = [c for c in cats if c in kids]
    if clash:
        raise PolicyError(
            f"hierarchy of {name!r}: {clash[:3]} are categories of the data and also margins "
            "of other categories; rename the margin in the hierarchy file"
        )
    height: dict[str, int] = {}

    def visit(label: str) -> None:
        for child in kids.get(label, []):
            visit(child)
        height[label] = 1 + max((height[k] for k in kids.get(label, [])), default=-1)
        order.append(label)

    order: list[str] = []
    visit(TOTAL)
    index = {label: i for i, label in enumerate(order)}
    parent = np.full(len(order), -1, dtype=np.int64)
    for par, children in kids.items():
        parent[[index[c] for c in children]] = index[par]
    level = np.array([height[label] for label in order], dtype=np.int64)
    leaf_nodes = np.array([index[c] for c in cats], dtype=np.int64)
    n_levels = int(level[index[TOTAL]]) + 1
    ancestors = np.empty((n_levels, len(cats)), dtype=np.int64)
    ancestors[0] = leaf_nodes
    for lev in range(1, n_levels):
        up = parent[ancestors[lev - 1]]
        ancestors[lev] = np.where(level[np.maximum(up, 0)] <= lev, up, ancestors[lev - 1])
    return Dimension(
        name=name,
        labels=tuple(order),
        parent=parent,
        level=level,
        leaf_nodes=leaf_nodes,
        ancestors=ancestors,
    )


def _path_to_top(name: str, category: str, links: Mapping[str, str]) -> list[str]:
    """The category and its ancestors below ``Total``, refusing cycles and ``Total``."""
    path = [category]
    while path[-1] in links:
        up = links[path[-1]]
        if up == TOTAL:
            raise PolicyError(f"hierarchy of {name!r}: {TOTAL!r} is reserved for the margin")
        if up in path:
            raise PolicyError(
                f"hierarchy of {name!r}: {path[path.index(up) :]} lead back to {up!r} "
                "(a cycle); every value needs one chain of parents up to the top"
            )
        path.append(up)
    return path


@dataclass(frozen=True)
class Cube:
    """All cells of a table: the dimensions and the relations between cells."""

    dims: tuple[Dimension, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        """Nodes per dimension."""
        return tuple(d.size for d in self.dims)

    @property
    def n_cells(self) -> int:
        """Number of cells, margins included."""
        return int(np.prod(self.shape))

    def labels(self) -> pd.DataFrame:
        """One row per cell (flat order), one string column per dimension."""
        grids = np.unravel_index(np.arange(self.n_cells), self.shape)
        return pd.DataFrame(
            {
                d.name: pd.Series(np.asarray(d.labels, dtype=object)[g], dtype="str")
                for d, g in zip(self.dims, grids, strict=True)
            }
        )

    def is_leaf_cell(self) -> np.ndarray:
        """Whether each cell is an interior cell (a leaf in every dimension)."""
        grids = np.unravel_index(np.arange(self.n_cells), self.shape)
        ok = np.ones(self.n_cells, dtype=bool)
        for d, g in zip(self.dims, grids, strict=True):
            ok &= d.level[g] == 0
        return ok

    def leaf_to_cell(self, leaf_codes: np.ndarray, levels: Sequence[int]) -> np.ndarray:
        """Flat cell index of records with these leaf codes, at the given level per dim."""
        nodes = [
            d.ancestors[lev][leaf_codes[:, j]]
            for j, (d, lev) in enumerate(zip(self.dims, levels, strict=True))
        ]
        return np.ravel_multi_index(tuple(nodes), self.shape).astype(np.int64)

    def level_combinations(self) -> list[tuple[int, ...]]:
        """Every combination of levels (one per dimension): each cell belongs to one."""
        return list(itertools.product(*(range(d.n_levels) for d in self.dims)))

    def aggregate(self, leaf_cube: np.ndarray) -> np.ndarray:
        """Sum a leaf-level array of shape ``(n_leaves_1, ...)`` to all cells (flat)."""
        cube = leaf_cube
        for axis, d in enumerate(self.dims):
            agg = np.zeros((d.size, d.n_leaves))
            for lev in range(d.n_levels):
                agg[d.ancestors[lev], np.arange(d.n_leaves)] = 1.0
            cube = np.moveaxis(np.tensordot(agg, cube, axes=([1], [axis])), 0, axis)
        return cube.reshape(-1)

    def relations(self) -> sp.csr_matrix:
        """Sparse ``(n_relations, n_cells)`` matrix ``R`` with ``R @ cells == 0``.

        One row per inner node of a dimension and per combination of the other dimensions'
        nodes: +1 for the inner node's cell, -1 for each child's cell.
        """
        shape = self.shape
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        n_rows = 0
        for axis, d in enumerate(self.dims):
            other_shape = tuple(s for i, s in enumerate(shape) if i != axis)
            n_other = int(np.prod(other_shape))
            other_grid = (
                np.stack(np.unravel_index(np.arange(n_other), other_shape), axis=1)
                if other_shape
                else np.zeros((1, 0), dtype=np.int64)
            )
            for node, kids in d.children().items():
                members = np.concatenate([[node], kids])
                signs = np.concatenate([[1.0], -np.ones(len(kids))])
                idx = np.empty((n_other * len(members), len(shape)), dtype=np.int64)
                rep_other = np.repeat(other_grid, len(members), axis=0)
                k = 0
                for i in range(len(shape)):
                    if i == axis:
                        idx[:, i] = np.tile(members, n_other)
                    else:
                        idx[:, i] = rep_other[:, k]
                        k += 1
                flat = np.ravel_multi_index(tuple(idx.T), shape)
                rows.append(np.asarray(n_rows + np.repeat(np.arange(n_other), len(members))))
                cols.append(np.asarray(flat, dtype=np.int64))
                vals.append(np.tile(signs, n_other))
                n_rows += n_other
        if not rows:
            return sp.csr_matrix((0, self.n_cells))
        return sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_rows, self.n_cells),
        )


def _natural_order(values: Sequence[object]) -> list[object]:
    """Sort numbers numerically and everything else as text."""
    try:
        return sorted(values, key=lambda v: (0, float(v)))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return sorted(values, key=str)


def categories_of(series: pd.Series) -> list[str]:
    """The observed categories of a column, as strings, in natural order (missing excluded)."""
    values = series.dropna()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        values = values[values.astype(str) != ""]
    uniq = list(pd.unique(values))
    return [category_label(v) for v in _natural_order(uniq)]


def category_label(value: object) -> str:
    """Text label of a category: integral floats lose their ``.0``."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def encode_leaves(df: pd.DataFrame, dims: Sequence[Dimension]) -> tuple[np.ndarray, np.ndarray]:
    """Leaf codes of every record, and which records have a known category in every dim.

    Returns:
        ``(codes, keep)``: ``codes`` is ``(n, d)`` int64 (-1 where unknown or missing),
        ``keep`` marks records with a code >= 0 in every dimension.
    """
    n = len(df)
    codes = np.full((n, len(dims)), -1, dtype=np.int64)
    for j, d in enumerate(dims):
        col = df[d.name]
        lookup = {label: i for i, label in enumerate(np.asarray(d.labels)[d.leaf_nodes])}
        uniq_codes, uniques = pd.factorize(col, use_na_sentinel=True)
        mapped = np.array([lookup.get(category_label(u), -1) for u in uniques], dtype=np.int64)
        if len(mapped):
            codes[:, j] = np.where(uniq_codes >= 0, mapped[np.maximum(uniq_codes, 0)], -1)
    keep = np.asarray((codes >= 0).all(axis=1), dtype=bool)
    return codes, keep
