"""A tree-structured model fitted to noisy 1-way and 2-way marginals, and its sampler.

Everything here is post-processing of differentially private measurements: it reads no
private data. The model is exact for a tree: once every edge table agrees with the 1-way
marginals of its two end points, the product of ``P(root)`` and the ``P(child | parent)``
of each edge is a distribution whose marginals are exactly those tables.

Fitting (a consistent, non-negative least-squares-style estimate):

1. the total ``N`` is the inverse-variance weighted mean of the totals of all measurements;
2. each column's 1-way marginal combines, cell by cell with inverse-variance weights, its
   own noisy marginal and the margins of the noisy 2-way tables it belongs to, and is then
   projected onto ``{p >= 0, sum p = N}`` (Euclidean projection onto the scaled simplex);
3. each noisy 2-way table is projected onto the same simplex and then raked (iterative
   proportional fitting) to the two 1-way marginals, so that all tables agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def project_simplex(v: np.ndarray, total: float) -> np.ndarray:
    """Euclidean projection of ``v`` onto ``{x >= 0, sum(x) = total}`` (``total > 0``).

    The solution is ``max(v - theta, 0)`` for the unique ``theta`` that makes it sum to
    ``total`` (Held, Wolfe and Crowder 1974; Duchi et al. 2008). Unlike clipping negative
    cells to zero it does not add mass to the empty cells that noise made positive.

    Args:
        v: any array; it is flattened and the result reshaped back.
        total: the sum of the result.

    Returns:
        The projection, same shape as ``v``.
    """
    flat = np.asarray(v, dtype=float).ravel()
    u = np.sort(flat)[::-1]
    css = np.cumsum(u) - total
    j = np.arange(1, len(u) + 1)
    k = int(np.nonzero(u - css / j > 0)[0][-1]) + 1
    theta = css[k - 1] / k
    return np.maximum(flat - theta, 0.0).reshape(np.shape(v))


def rake(
    table: np.ndarray, rows: np.ndarray, cols: np.ndarray, iterations: int = 500
) -> np.ndarray:
    """Iterative proportional fitting of a non-negative table to row and column sums.

    A tiny uniform mass (1e-9 of the total) is added first so that a row or column the
    table leaves empty can still take its margin; it then follows the other margin.

    Args:
        table: (r, c) non-negative table.
        rows: target row sums (length r), summing to the same total as ``cols``.
        cols: target column sums (length c).
        iterations: maximum number of row-and-column sweeps.

    Returns:
        The raked table.
    """
    total = float(rows.sum())
    t = table + 1e-9 * max(total, 1.0) / table.size
    tol = 1e-9 * max(total, 1.0)
    for _ in range(iterations):
        rs = t.sum(axis=1)
        t *= np.divide(rows, rs, out=np.zeros_like(rows), where=rs > 0)[:, None]
        cs = t.sum(axis=0)
        t *= np.divide(cols, cs, out=np.zeros_like(cols), where=cs > 0)[None, :]
        if np.abs(t.sum(axis=1) - rows).max() <= tol:
            break
    return t


@dataclass(frozen=True)
class Edge:
    """A noisy 2-way marginal on the tree.

    Attributes:
        a: index of the first column.
        b: index of the second column.
        noisy: (size_a, size_b) noisy counts.
        variance: noise variance of each cell.
    """

    a: int
    b: int
    noisy: np.ndarray
    variance: float


@dataclass(frozen=True)
class TreeModel:
    """A fitted tree model over integer codes.

    Attributes:
        order: the columns in sampling order (root first, every parent before its children).
        parent: parent column of each column (-1 for a root).
        root_marginal: probability vector of each root column (None for a non-root).
        conditional: for a non-root column, the (size_parent, size_child) matrix of
            ``P(child | parent)``; None for a root.
        marginals: the fitted 1-way probability vector of every column.
        total: the fitted number of records.
    """

    order: tuple[int, ...]
    parent: tuple[int, ...]
    conditional: tuple[np.ndarray | None, ...]
    marginals: tuple[np.ndarray, ...]
    total: float

    def sample(self, rows: int, rng: np.random.Generator, stratified: bool = True) -> np.ndarray:
        """Draw ``rows`` records by ancestral sampling.

        With ``stratified`` (the default) the uniform numbers that pick each value are
        spread evenly (systematic sampling with a random start) over the records sharing a
        parent value, in random order: every record still gets its value with the model's
        probability, but the counts of each (parent, child) pair match the model up to
        rounding instead of carrying multinomial sampling noise.

        Args:
            rows: number of records.
            rng: the generator (seeded by the caller for reproducibility).
            stratified: spread the draws evenly within each parent value.

        Returns:
            (rows, m) int64 codes.
        """
        m = len(self.parent)
        out = np.empty((rows, m), dtype=np.int64)
        for col in self.order:
            par = self.parent[col]
            cond = self.conditional[col]
            if par < 0 or cond is None:
                given = np.zeros(rows, np.int64)
                cond = self.marginals[col][None, :]
            else:
                given = out[:, par]
            u = _uniforms(given, len(cond), rng) if stratified else rng.random(rows)
            out[:, col] = _draw(cond, given, u)
        return out


def _uniforms(given: np.ndarray, groups: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform numbers spread evenly within each group, in random order within the group.

    In a group of g records they are ``(0 + s) / g, (1 + s) / g, ..., (g - 1 + s) / g`` for a
    random start ``s`` in [0, 1), assigned to the records in random order, so each number is
    uniform on [0, 1) on its own.
    """
    n = len(given)
    shuffled = rng.permutation(n)
    order = shuffled[np.argsort(given[shuffled], kind="stable")]
    size = np.bincount(given, minlength=groups)
    start = np.cumsum(size) - size
    group = given[order]
    rank = np.arange(n) - start[group]
    u = np.empty(n)
    u[order] = (rank + rng.random(groups)[group]) / size[group]
    return u


def _draw(cond: np.ndarray, given: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Pick one child code per record from the row ``cond[given[i]]`` (rows sum to 1).

    Record ``i`` gets the first code whose cumulative probability exceeds ``u[i]``. Each
    row's cumulative distribution is shifted by its row number so that all rows form one
    sorted array, and one ``searchsorted`` serves every record.
    """
    k_par, k_child = cond.shape
    cdf = np.cumsum(cond, axis=1)
    cdf[:, -1] = 1.0
    flat = (cdf + np.arange(k_par)[:, None]).ravel()
    idx = np.searchsorted(flat, given + u, side="right")
    return np.minimum(idx - given * k_child, k_child - 1)


def fit_tree(
    sizes: Sequence[int],
    one_way: Sequence[np.ndarray],
    one_way_variance: Sequence[np.ndarray],
    edges: Sequence[Edge],
) -> TreeModel:
    """Fit a tree model consistent with noisy 1-way and 2-way marginals.

    Args:
        sizes: number of codes per column.
        one_way: noisy 1-way counts per column.
        one_way_variance: noise variance per cell of each 1-way marginal.
        edges: noisy 2-way marginals; they must form a forest over the columns.

    Returns:
        The fitted model.
    """
    m = len(sizes)
    pairs = list(zip(one_way, one_way_variance, strict=True))
    totals = [(float(y.sum()), float(v.sum())) for y, v in pairs]
    totals += [(float(e.noisy.sum()), e.variance * e.noisy.size) for e in edges]
    weights = np.array([1.0 / v for _, v in totals])
    total = float(np.dot(weights, [t for t, _ in totals]) / weights.sum())
    total = max(total, 1.0)

    # 1-way: combine the own measurement with the margins of incident 2-way tables.
    num = [y / v for y, v in pairs]
    den = [1.0 / v for v in one_way_variance]
    for e in edges:
        size_a, size_b = e.noisy.shape
        num[e.a] = num[e.a] + e.noisy.sum(axis=1) / (e.variance * size_b)
        den[e.a] = den[e.a] + 1.0 / (e.variance * size_b)
        num[e.b] = num[e.b] + e.noisy.sum(axis=0) / (e.variance * size_a)
        den[e.b] = den[e.b] + 1.0 / (e.variance * size_a)
    counts = [project_simplex(num[j] / den[j], total) for j in range(m)]
    marginals = tuple(c / total for c in counts)

    # Orient the forest: breadth first from the lowest-numbered column of each component.
    neighbours: dict[int, list[tuple[int, Edge]]] = {j: [] for j in range(m)}
    for e in edges:
        neighbours[e.a].append((e.b, e))
        neighbours[e.b].append((e.a, e))
    parent = [-1] * m
    conditional: list[np.ndarray | None] = [None] * m
    order: list[int] = []
    seen = [False] * m
    for root in range(m):
        if seen[root]:
            continue
        seen[root] = True
        queue = [root]
        while queue:
            node = queue.pop(0)
            order.append(node)
            for other, e in neighbours[node]:
                if seen[other]:
                    continue
                seen[other] = True
                parent[other] = node
                table = rake(project_simplex(e.noisy, total), counts[e.a], counts[e.b])
                if e.a != node:
                    table = table.T
                conditional[other] = _conditional(table, marginals[other])
                queue.append(other)
    return TreeModel(tuple(order), tuple(parent), tuple(conditional), marginals, total)


def _conditional(joint: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Rows of ``P(child | parent)`` from a joint table; an empty row takes ``fallback``."""
    rs = joint.sum(axis=1, keepdims=True)
    cond = np.divide(joint, rs, out=np.zeros_like(joint), where=rs > 0)
    empty = rs[:, 0] <= 0
    cond[empty] = fallback
    return cond
