"""A graphical model fitted to noisy marginals, its marginals and its sampler.

The idea of Private-PGM (McKenna, Sheldon and Miklau 2019, "Graphical-model based estimation
and inference for differential privacy"), written for ``sdc`` in numpy. Everything here is
post-processing of differentially private measurements: it reads no private data.

* The model is a log-linear distribution ``p(x) ~ exp(sum_r theta_r(x_r))`` with one
  potential table ``theta_r`` per measured set of columns (a *clique* ``r``), scaled to an
  estimated total ``N``.
* Its cliques are made into a junction tree: the graph with an edge between every two
  columns of a clique is triangulated (greedy elimination, cheapest new clique first) and
  its maximal cliques joined by a maximum-weight spanning tree (weights: shared columns).
* Marginals come from belief propagation on that tree, in log space.
* The potentials are fitted by entropic mirror descent with an Armijo line search to the
  least-squares loss ``1/2 sum_i ||mu_{r_i} - y_i||^2 / sigma_i^2`` of all noisy
  measurements ``y_i`` (the Gaussian likelihood); the fitted marginals are consistent.
* Records are drawn by ancestral sampling through the junction tree, with the uniforms
  spread evenly within each separator value (as in ``_tree``).

Cliques are tuples of column indices in increasing order; a table over a clique has one
axis per column, in that order.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdc.synth._tree import _draw, _uniforms

Clique = tuple[int, ...]

#: Mirror-descent steps a fit always runs, even past its deadline.
MIN_ITERATIONS = 10
#: A fit stops when a step lowers the loss by less than this share of it.
TOLERANCE = 1e-7


def clique_size(clique: Iterable[int], sizes: Sequence[int]) -> int:
    """Number of cells of the table over ``clique``."""
    return math.prod(sizes[a] for a in clique)


def _shape(attrs: Clique, target: Clique, sizes: Sequence[int]) -> list[int]:
    """Broadcast shape of a table over ``attrs`` (a subset) within a table over ``target``."""
    have = set(attrs)
    return [sizes[a] if a in have else 1 for a in target]


def _lse(table: np.ndarray, attrs: Clique, keep: Iterable[int]) -> np.ndarray:
    """Log-sum-exp of a log table over the columns not in ``keep`` (kept axes stay in order)."""
    kept = set(keep)
    axes = tuple(i for i, a in enumerate(attrs) if a not in kept)
    if not axes:
        return table
    top = table.max(axis=axes, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    out = np.log(np.exp(table - top).sum(axis=axes, keepdims=True)) + top
    return out.squeeze(axis=axes)


def _sum_to(table: np.ndarray, attrs: Clique, keep: Clique) -> np.ndarray:
    """Sum a table over the columns not in ``keep`` (kept axes stay in order)."""
    axes = tuple(i for i, a in enumerate(attrs) if a not in keep)
    return table.sum(axis=axes) if axes else table


# ---- junction tree ---------------------------------------------------------------------------


def triangulate(cliques: Iterable[Clique], sizes: Sequence[int]) -> list[Clique]:
    """Maximal cliques of a triangulation of the graph of ``cliques`` over all columns.

    Greedy elimination: the next column eliminated is the one whose clique (itself and its
    remaining neighbours) has the fewest cells, ties broken by the fill-in it adds, then by
    the column index. A column's cost is updated when its neighbourhood changes.
    """
    nbrs: dict[int, set[int]] = {a: set() for a in range(len(sizes))}
    for c in cliques:
        for a in c:
            nbrs[a].update(b for b in c if b != a)
    found = [frozenset({a}) for a, n in nbrs.items() if not n]
    left = {a for a, n in nbrs.items() if n}

    def cost(v: int) -> tuple[int, int, int]:
        around = nbrs[v] & left
        fill = sum(1 for a in around for b in around if a < b and b not in nbrs[a])
        return clique_size(around | {v}, sizes), fill, v

    costs = {v: cost(v) for v in left}
    while left:
        v = min(left, key=costs.__getitem__)
        around = nbrs[v] & left
        for a in around:
            nbrs[a].update(around - {a})
        found.append(frozenset(around | {v}))
        left.remove(v)
        del costs[v]
        for a in around:
            costs[a] = cost(a)
    maximal = [c for c in found if not any(c < o for o in found)]
    return sorted({tuple(sorted(c)) for c in maximal})


@dataclass(frozen=True)
class JunctionTree:
    """A junction tree: maximal cliques, a parent per clique, and a root-first order."""

    cliques: tuple[Clique, ...]
    parent: tuple[int, ...]
    order: tuple[int, ...]

    def separator(self, k: int) -> Clique:
        """Columns clique ``k`` shares with its parent (empty for a root)."""
        p = self.parent[k]
        if p < 0:
            return ()
        return tuple(a for a in self.cliques[k] if a in self.cliques[p])


def junction_tree(cliques: Iterable[Clique], sizes: Sequence[int]) -> JunctionTree:
    """Junction tree of the triangulated graph of ``cliques`` (all columns covered)."""
    maximal = triangulate(cliques, sizes)
    k = len(maximal)
    pairs = sorted(
        ((len(set(maximal[i]) & set(maximal[j])), i, j) for i in range(k) for j in range(i + 1, k)),
        reverse=True,
    )
    comp = list(range(k))

    def find(x: int) -> int:
        while comp[x] != x:
            comp[x] = comp[comp[x]]
            x = comp[x]
        return x

    adj: dict[int, list[int]] = {i: [] for i in range(k)}
    for _, i, j in pairs:
        if find(i) != find(j):
            comp[find(i)] = find(j)
            adj[i].append(j)
            adj[j].append(i)
    parent = [-1] * k
    order = [0]
    for node in order:
        for other in adj[node]:
            if other != parent[node]:
                parent[other] = node
                order.append(other)
    return JunctionTree(tuple(maximal), tuple(parent), tuple(order))


def model_size(cliques: Iterable[Clique], sizes: Sequence[int]) -> int:
    """Cells of all maximal cliques of the junction tree of ``cliques``."""
    return sum(clique_size(c, sizes) for c in triangulate(cliques, sizes))


# ---- the model -------------------------------------------------------------------------------


@dataclass
class GraphicalModel:
    """A fitted model: log marginals of each junction-tree clique, and the total.

    Attributes:
        sizes: codes per column.
        tree: the junction tree.
        log_marginals: per junction-tree clique, the log probability table.
        total: the estimated number of records.
    """

    sizes: tuple[int, ...]
    tree: JunctionTree
    log_marginals: list[np.ndarray]
    total: float

    def marginal(self, attrs: Clique) -> np.ndarray:
        """Probability table over ``attrs`` (increasing column indices)."""
        want = set(attrs)
        for c, table in zip(self.tree.cliques, self.log_marginals, strict=True):
            if want <= set(c):
                return np.exp(_lse(table, c, want))
        return self._contract(attrs)

    def _contract(self, attrs: Clique) -> np.ndarray:
        """A marginal that spans several cliques: sum out the chain rule with einsum."""
        tree, want = self.tree, set(attrs)
        keep = set(range(len(tree.cliques)))
        children: dict[int, set[int]] = {k: set() for k in keep}
        for k in keep:
            if tree.parent[k] >= 0:
                children[tree.parent[k]].add(k)
        pruned = True
        while pruned:  # a leaf whose own columns are all summed out contributes a factor 1
            pruned = False
            for k in list(keep):
                own = set(tree.cliques[k]) - set(tree.separator(k))
                if tree.parent[k] >= 0 and not children[k] and not (own & want):
                    keep.discard(k)
                    children[tree.parent[k]].discard(k)
                    pruned = True
        operands: list[Any] = []
        for k in sorted(keep):
            c = tree.cliques[k]
            log = self.log_marginals[k]
            sep = tree.separator(k)
            if tree.parent[k] >= 0:
                log = log - _lse(log, c, sep).reshape(_shape(sep, c, self.sizes))
            operands += [np.exp(log), list(c)]
        return np.asarray(np.einsum(*operands, list(attrs), optimize=True))

    def sample(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``rows`` records (codes) by ancestral sampling through the junction tree."""
        out = np.zeros((rows, len(self.sizes)), dtype=np.int64)
        for k in self.tree.order:
            c = self.tree.cliques[k]
            sep = self.tree.separator(k)
            new = tuple(a for a in c if a not in sep)
            if not new:
                continue
            prob = np.exp(self.log_marginals[k])
            axes = [c.index(a) for a in (*sep, *new)]
            n_sep = clique_size(sep, self.sizes)
            joint = prob.transpose(axes).reshape(n_sep, -1)
            rs = joint.sum(axis=1, keepdims=True)
            cond = np.divide(joint, rs, out=np.full_like(joint, 1.0 / joint.shape[1]), where=rs > 0)
            if sep:
                given = np.ravel_multi_index(
                    tuple(out[:, a] for a in sep), [self.sizes[a] for a in sep]
                )
            else:
                given = np.zeros(rows, dtype=np.int64)
            drawn = _draw(cond, given, _uniforms(given, n_sep, rng))
            for a, v in zip(
                new, np.unravel_index(drawn, [self.sizes[a] for a in new]), strict=True
            ):
                out[:, a] = v
        return out


def _calibrate(
    tree: JunctionTree, potentials: list[np.ndarray], sizes: Sequence[int]
) -> list[np.ndarray]:
    """Belief propagation (sum-product, log space): normalised log marginal of each clique."""
    up: dict[int, np.ndarray] = {}
    inner = [p.copy() for p in potentials]
    for k in reversed(tree.order):
        p = tree.parent[k]
        if p >= 0:
            sep = tree.separator(k)
            up[k] = _lse(inner[k], tree.cliques[k], sep)
            inner[p] += up[k].reshape(_shape(sep, tree.cliques[p], sizes))
    beliefs = inner
    for k in tree.order:
        p = tree.parent[k]
        if p >= 0:
            sep = tree.separator(k)
            shape_p = _shape(sep, tree.cliques[p], sizes)
            down = _lse(beliefs[p] - up[k].reshape(shape_p), tree.cliques[p], sep)
            beliefs[k] = beliefs[k] + down.reshape(_shape(sep, tree.cliques[k], sizes))
    out = []
    for c, b in zip(tree.cliques, beliefs, strict=True):
        out.append(b - _lse(b, c, ()))
    return out


# ---- estimation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """A noisy marginal: counts over ``clique`` with Gaussian noise of std ``sigma``."""

    clique: Clique
    noisy: np.ndarray
    sigma: float


@dataclass
class Estimator:
    """Fits a graphical model to noisy marginals; keeps its potentials to warm-start.

    Attributes:
        sizes: codes per column.
        total: the number of records the model is scaled to (a DP estimate).
        theta: the log-linear potential of each measured clique.
        step: the mirror-descent step size last accepted.
    """

    sizes: tuple[int, ...]
    total: float
    theta: dict[Clique, np.ndarray] = field(default_factory=dict)
    step: float = 0.0

    def fit(
        self,
        observations: Sequence[Observation],
        iterations: int,
        deadline: float = math.inf,
    ) -> GraphicalModel:
        """Run ``iterations`` mirror-descent steps (fewer if ``deadline`` passes).

        ``deadline`` is a ``time.monotonic()`` instant; at least ``MIN_ITERATIONS`` steps are
        run whatever it says. A step that lowers the loss by less than ``TOLERANCE`` of it
        ends the fit. The model of the last accepted step is returned.
        """
        weight, target = _combine(observations)
        cliques = sorted(weight)
        for r in cliques:
            self.theta.setdefault(r, np.zeros([self.sizes[a] for a in r]))
        cover = [*cliques, *((a,) for a in range(len(self.sizes)))]
        tree = junction_tree(cover, self.sizes)
        home = {r: next(k for k, c in enumerate(tree.cliques) if set(r) <= set(c)) for r in cliques}

        def forward(
            theta: Mapping[Clique, np.ndarray],
        ) -> tuple[list[np.ndarray], dict[Clique, np.ndarray]]:
            pots = [np.zeros([self.sizes[a] for a in c]) for c in tree.cliques]
            for r in cliques:
                c = tree.cliques[home[r]]
                pots[home[r]] = pots[home[r]] + theta[r].reshape(_shape(r, c, self.sizes))
            logs = _calibrate(tree, pots, self.sizes)
            probs = [self.total * np.exp(log) for log in logs]  # log marginals are <= 0
            mu = {r: _sum_to(probs[home[r]], tree.cliques[home[r]], r) for r in cliques}
            return logs, mu

        def loss(mu: Mapping[Clique, np.ndarray]) -> tuple[float, dict[Clique, np.ndarray]]:
            diff = {r: mu[r] - target[r] for r in cliques}
            value = 0.5 * sum(weight[r] * float(np.vdot(diff[r], diff[r])) for r in cliques)
            return value, {r: weight[r] * diff[r] for r in cliques}

        theta = {r: self.theta[r] for r in cliques}
        logs, mu = forward(theta)
        current, grad = loss(mu)
        if self.step <= 0:
            self.step = 1.0 / (self.total * max(weight.values()))
        for i in range(iterations):
            if i >= MIN_ITERATIONS and time.monotonic() > deadline:
                break
            self.step *= 2.0
            for _ in range(30):
                trial = {r: theta[r] - self.step * grad[r] for r in cliques}
                t_logs, t_mu = forward(trial)
                t_loss, t_grad = loss(t_mu)
                drop = sum(float(np.vdot(grad[r], mu[r] - t_mu[r])) for r in cliques)
                if current - t_loss >= 0.5 * drop:  # Armijo: half the first-order decrease
                    break
                self.step *= 0.5
            else:
                break
            converged = current - t_loss <= TOLERANCE * current
            theta, logs, mu, current, grad = trial, t_logs, t_mu, t_loss, t_grad
            if converged:
                break
        self.theta.update(theta)
        return GraphicalModel(self.sizes, tree, logs, self.total)


def _combine(
    observations: Sequence[Observation],
) -> tuple[dict[Clique, float], dict[Clique, np.ndarray]]:
    """Inverse-variance weight and weighted mean of the measurements of each clique."""
    weight: dict[Clique, float] = {}
    total: dict[Clique, np.ndarray] = {}
    for o in observations:
        w = 1.0 / o.sigma**2
        weight[o.clique] = weight.get(o.clique, 0.0) + w
        total[o.clique] = total.get(o.clique, 0.0) + w * o.noisy
    return weight, {r: total[r] / weight[r] for r in weight}


def estimate_total(observations: Sequence[Observation]) -> float:
    """Inverse-variance weighted mean of the totals of all measurements (at least 1)."""
    num = den = 0.0
    for o in observations:
        var = o.sigma**2 * o.noisy.size
        num += float(o.noisy.sum()) / var
        den += 1.0 / var
    return max(num / den, 1.0) if den > 0 else 1.0
