"""Tables of one release protected as one system (linked tables).

Two tables of the same quantity (counts, or sums of the same column, with the same weight)
share every cell whose non-margin labels agree: ``region × Total`` of a region × sex table
is ``region × Total`` of a region × age table, both the number of people of that region.
An intruder combines all published tables, so a cell suppressed in one and published in
another is published, and the relations of both tables together may pin down a cell that
each table alone protects. The joint problem identifies shared cells, stacks every table's
relations, and is solved and audited once.

A cell is identified with another only when its label set and its true value agree (tables
that leave out different records for a missing ``by`` value give different margins, which
are then different quantities); cells of different columns are never identified, even when
one column is a coarsening of the other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from sdc.tables._cube import TOTAL
from sdc.tables.spec import TableSpec
from sdc.tables.suppression import SuppressionProblem

Key = tuple[tuple[str, str], ...]


def link_group(spec: TableSpec) -> tuple[str, ...] | None:
    """What a suppression table counts or sums (tables with equal groups may share cells)."""
    if not spec.has_primary_rules or spec.statistic == "mean":
        return None
    return (spec.statistic, spec.variable or "", spec.weight or "")


def cell_keys(labels: pd.DataFrame) -> list[Key]:
    """Each cell's identity: its ``(column, label)`` pairs outside the margins, sorted."""
    cols = list(labels.columns)
    rows = labels.astype(str).to_numpy(dtype=object)
    return [
        tuple(sorted((c, v) for c, v in zip(cols, row, strict=True) if v != TOTAL)) for row in rows
    ]


def _same(a: float, b: float) -> bool:
    if np.isnan(a) or np.isnan(b):
        return True  # unknown (suppressed in a published table): identified by its labels
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def joint_problem(
    parts: Sequence[tuple[SuppressionProblem, pd.DataFrame]],
) -> tuple[SuppressionProblem, list[np.ndarray]]:
    """One suppression problem over the cells of several tables.

    Args:
        parts: each table's problem and its cell labels (one row per cell, flat order).

    Returns:
        The joint problem and, per table, the joint index of each of its cells.
    """
    index: dict[Key, int] = {}
    values: list[float] = []
    maps: list[np.ndarray] = []
    for t, (problem, labels) in enumerate(parts):
        out = np.empty(problem.n_cells, dtype=np.int64)
        for i, key in enumerate(cell_keys(labels)):
            j = index.get(key)
            if j is None or not _same(values[j], float(problem.values[i])):
                if j is not None:  # same labels, another quantity: a cell of its own
                    key = (*key, ("#table", str(t)))
                j = index.setdefault(key, len(values))
                if j == len(values):
                    values.append(float(problem.values[i]))
            elif np.isnan(values[j]):
                values[j] = float(problem.values[i])
            out[i] = j
        maps.append(out)
    n = len(values)
    joint = _combine(parts, maps, n)
    return joint, maps


def _combine(
    parts: Sequence[tuple[SuppressionProblem, pd.DataFrame]], maps: list[np.ndarray], n: int
) -> SuppressionProblem:
    """Stack the relations; bounds intersect; a cell primary anywhere is primary.

    A shared cell keeps its largest protection levels and the first table's cost.
    """
    values = np.full(n, np.nan)
    lower = np.full(n, -np.inf)
    upper = np.full(n, np.inf)
    primary = np.zeros(n, dtype=bool)
    upl = np.zeros(n)
    lpl = np.zeros(n)
    cost = np.full(n, np.nan)
    keep = np.zeros(n, dtype=bool)
    blocks = []
    for (problem, _), m in zip(parts, maps, strict=True):
        values[m] = np.where(np.isnan(values[m]), problem.values, values[m])
        lower[m] = np.maximum(lower[m], problem.lower)
        upper[m] = np.minimum(upper[m], problem.upper)
        primary[m] |= problem.primary.astype(bool)
        upl[m] = np.maximum(upl[m], problem.upl)
        lpl[m] = np.maximum(lpl[m], problem.lpl)
        cost[m] = np.where(np.isnan(cost[m]), problem.cost, cost[m])
        if problem.keep is not None:
            keep[m] |= problem.keep
        rel = problem.relations.tocoo()
        blocks.append(sp.csr_matrix((rel.data, (rel.row, m[rel.col])), shape=(rel.shape[0], n)))
    return SuppressionProblem(
        values=values,
        lower=lower,
        upper=upper,
        relations=sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, n)),
        primary=primary,
        upl=upl,
        lpl=lpl,
        cost=cost,
        keep=keep if keep.any() else None,
    )


def linked_sets(
    groups: Sequence[tuple[str, ...] | None], keys: Sequence[set[Key]]
) -> list[list[int]]:
    """Tables to protect together: same group and, transitively, a shared cell."""
    n = len(groups)
    pairs = [
        (i, j)
        for i in range(n)
        for j in range(i + 1, n)
        if groups[i] is not None and groups[i] == groups[j] and keys[i] & keys[j]
    ]
    rows, cols = zip(*pairs, strict=True) if pairs else ((), ())
    graph = sp.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    sets: dict[int, list[int]] = {}
    for i in range(n):
        if groups[i] is not None:
            sets.setdefault(int(label[i]), []).append(i)
    return [s for s in sets.values() if len(s) > 1]
