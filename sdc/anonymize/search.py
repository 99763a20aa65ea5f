"""Optimal generalisation: the least-loss transformation that meets k (and l).

A *transformation* (node) picks one level per hierarchy; the nodes form a lattice ordered
componentwise. For a node, records are grouped into equivalence classes on their generalised
quasi-identifiers; every class smaller than ``k`` (or, with ``l``, with fewer than ``l``
distinct values of a sensitive attribute) is suppressed. The node is *anonymous* when the
suppressed records are at most ``max_suppression`` of all records.

Suppression: ARX removes suppressed records (or prints ``*``); we keep the record and blank
all its quasi-identifier values (missing), as DESIGN.md wants suppressed values empty.

Search (in the spirit of OLA / ARX's Flash, exact, not a heuristic):

* Anonymity is monotone: generalising merges classes, so a successor of an anonymous node is
  anonymous and suppresses no more records; a predecessor of a non-anonymous node is not
  anonymous. Each check tags all successors (anonymous) or all predecessors (not anonymous).
* The generalisation part of the loss (ignoring suppression) is monotone and separable: it is
  computed for every node up front without looking at classes, and it is a lower bound of the
  node's loss (a suppressed cell costs 1 >= its generalised cost). Nodes are visited in order
  of this bound; the search stops as soon as the bound exceeds the best loss found, so most of
  the lattice is never examined. For discernibility the bound is ``sum(|E|^2)`` of a checked
  predecessor (merging classes only increases it), propagated to successors.
* An unknown node is classified by a binary search on a path from it to the top (always
  stepping to the successor with the least loss bound), as Flash does, so one check at a
  non-anonymous node classifies all its predecessors.
* A node known to be anonymous with no suppression (a successor of such a node) has loss equal
  to its bound and needs no check.

Each check works on the distinct level-0 rows (with counts), not on the records: the node's
class key is a mixed-radix combination of precomputed integer code arrays per attribute and
level. Ties are broken by the lower lattice height, then lexicographically by levels, so the
result is deterministic and equal to the exhaustive optimum (``strategy="exhaustive"``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from sdc.anonymize.hierarchy import Hierarchy
from sdc.anonymize.loss import (
    InformationLoss,
    attribute_weights,
    cell_loss,
    information_loss,
)
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.risk.frequencies import combine_codes, encode_keys

__all__ = ["GeneralizationResult", "optimal_generalization"]

Metric = Literal["loss", "discernibility"]
Aggregate = Literal["mean", "geometric"]
Strategy = Literal["flash", "exhaustive"]

_MAX_LATTICE = 5_000_000
_INT64_LIMIT = 2**62
_DENSE_PAIRS = 8_000_000
_UNKNOWN, _ANON, _NOT_ANON = 0, 1, 2


@dataclass(frozen=True)
class GeneralizationResult:
    """The optimal transformation and what it does to the data.

    Attributes:
        levels: the chosen level of each hierarchy column.
        data: the transformed frame: hierarchy columns generalised (level 0 keeps the original
            values), suppressed records with all quasi-identifiers missing, other columns as
            they were.
        suppressed: boolean mask (numpy) of suppressed records, in input order.
        loss: the information-loss measures of the result (see :mod:`sdc.anonymize.loss`).
        metric: the measure that was minimised.
        aggregate: how the loss metric combined attributes (``"mean"`` or ``"geometric"``).
        k: the k that every released class meets.
        l: the distinct l-diversity every released class meets, or None.
        max_suppression: the limit on the share of suppressed records.
        nodes_checked: transformations whose classes were computed.
        lattice_size: number of transformations in the lattice.
    """

    levels: dict[str, int]
    data: pd.DataFrame
    suppressed: np.ndarray
    loss: InformationLoss
    metric: Metric
    aggregate: Aggregate
    k: int
    l: int | None  # noqa: E741 - the standard name of the l-diversity parameter
    max_suppression: float
    nodes_checked: int
    lattice_size: int

    @property
    def suppressed_count(self) -> int:
        """Number of suppressed records."""
        return int(self.suppressed.sum())


@dataclass
class _Check:
    """The outcome of computing one node's classes."""

    suppressed: int
    anonymous: bool
    score: float
    bound: float
    row_fail: np.ndarray


class _Problem:
    """Integer-encoded data and the node evaluation shared by both strategies."""

    def __init__(
        self,
        df: pd.DataFrame,
        hierarchies: Mapping[str, Hierarchy],
        other_quasi: Sequence[str],
        sensitive: Sequence[str],
        k: int,
        l: int | None,  # noqa: E741
        max_suppression: float,
        metric: Metric,
        weights: list[float],
        aggregate: Aggregate = "mean",
    ) -> None:
        self.n = len(df)
        self.aggregate = aggregate
        self.k = k
        self.l = l
        self.metric = metric
        self.limit = math.floor(max_suppression * self.n + 1e-9)
        self.columns = list(hierarchies) + list(other_quasi)
        m = len(self.columns)
        self.heights = np.array(
            [hierarchies[c].levels for c in hierarchies] + [1] * len(other_quasi), dtype=np.int64
        )
        self.weights = np.asarray(weights, dtype=np.float64)

        # Level codes per record, missing mapped to one extra code per level.
        record_codes: list[np.ndarray] = []
        self.cards: list[np.ndarray] = []
        self.cell_loss: list[list[np.ndarray]] = []
        for col in hierarchies:
            h = hierarchies[col]
            codes = h.level_codes(df[col])
            cards = np.array([len(h.labels(j)) + 1 for j in range(h.levels)], dtype=np.int64)
            codes = np.where(codes < 0, (cards - 1)[:, None], codes)
            record_codes.append(codes)
            self.cards.append(cards)
            self.cell_loss.append([np.append(cell_loss(h, j), 1.0) for j in range(h.levels)])
        for col in other_quasi:
            codes = encode_keys(df, [col], "wildcard")[:, 0]
            card = int(codes.max(initial=-1)) + 2
            codes = np.where(codes < 0, card - 1, codes)
            record_codes.append(codes[None, :])
            self.cards.append(np.array([card], dtype=np.int64))
            lossv = np.zeros(card, dtype=np.float64)
            lossv[card - 1] = 1.0
            self.cell_loss.append([lossv])

        # Collapse records to distinct level-0 rows.
        if m:
            base = np.stack([c[0] for c in record_codes], axis=1)
            self.record_row = combine_codes(base)
        else:
            self.record_row = np.zeros(self.n, dtype=np.int64)
        n_rows = int(self.record_row.max()) + 1
        first = np.full(n_rows, self.n, dtype=np.int64)
        np.minimum.at(first, self.record_row, np.arange(self.n, dtype=np.int64))
        self.row_count = np.bincount(self.record_row, minlength=n_rows).astype(np.int64)
        self.row_codes = [c[:, first] for c in record_codes]

        # Generalisation-only loss sum per attribute and level (the monotone lower bound).
        self.level_loss = [
            np.array([(self.row_count * tab[codes[j]]).sum() for j, tab in enumerate(tabs)])
            for codes, tabs in zip(self.row_codes, self.cell_loss, strict=True)
        ]

        # Distinct (row, sensitive value) pairs for l-diversity.
        self.sens_pairs: list[tuple[np.ndarray, np.ndarray, int]] = []
        if l is not None:
            for col in sensitive:
                values = encode_keys(df, [col], "wildcard")[:, 0]
                observed = values >= 0
                card = int(values.max(initial=-1)) + 1
                pair = np.unique(self.record_row[observed] * max(card, 1) + values[observed])
                self.sens_pairs.append((pair // max(card, 1), pair % max(card, 1), max(card, 1)))

        # The lattice, one row of levels per node, in C order of the heights.
        size = int(np.prod(self.heights)) if m else 1
        if size > _MAX_LATTICE:
            raise PolicyError(
                f"the generalisation lattice has {size:,} transformations (more than "
                f"{_MAX_LATTICE:,}); fix the level of some columns with `recode.level` or use "
                "fewer quasi-identifiers in the search"
            )
        self.size = size
        if m:
            self.lattice = np.indices(tuple(self.heights)).reshape(m, -1).T.astype(np.int64)
        else:
            self.lattice = np.zeros((1, 0), dtype=np.int64)
        self.height = self.lattice.sum(axis=1)
        per_attr = np.zeros((size, m), dtype=np.float64)
        for j in range(m):
            per_attr[:, j] = self.level_loss[j][self.lattice[:, j]] / self.n
        self.loss_bound = self._aggregate(per_attr)
        self.checked = 0

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, node: int) -> _Check:
        """Compute the classes of a node: suppression, anonymity, score, bound."""
        self.checked += 1
        levels = self.lattice[node]
        m = len(self.columns)
        n_rows = len(self.row_count)
        if m:
            radix = 1
            cols = []
            for j in range(m):
                radix *= int(self.cards[j][levels[j]])
                cols.append(self.row_codes[j][levels[j]])
            if radix < _INT64_LIMIT:
                key = cols[0].copy()
                for j in range(1, m):
                    key = key * self.cards[j][levels[j]] + cols[j]
                if radix <= 4 * n_rows + 4096:
                    inv = key  # dense enough to count directly (empty classes count 0)
                else:
                    _, inv = np.unique(key, return_inverse=True)
            else:
                inv = combine_codes(np.stack(cols, axis=1))
        else:
            inv = np.zeros(n_rows, dtype=np.int64)
        inv = inv.reshape(-1)
        sizes = np.bincount(inv, weights=self.row_count).astype(np.int64)
        fail = sizes < self.k
        if self.l is not None:
            for rows, vals, card in self.sens_pairs:
                pairs = inv[rows] * card + vals
                if len(sizes) * card <= _DENSE_PAIRS:
                    seen = np.zeros(len(sizes) * card, dtype=bool)
                    seen[pairs] = True
                    distinct = seen.reshape(len(sizes), card).sum(axis=1)
                else:
                    pairs.sort()
                    first = np.ones(len(pairs), dtype=bool)
                    first[1:] = pairs[1:] != pairs[:-1]
                    distinct = np.bincount(pairs[first] // card, minlength=len(sizes))
                fail |= distinct < self.l
        suppressed = int(sizes[fail].sum())
        anonymous = suppressed <= self.limit
        row_fail = fail[inv]
        dm_star = float((sizes.astype(np.float64) ** 2).sum())
        score = math.nan  # only anonymous nodes are scored
        if self.metric == "loss":
            if anonymous:
                score = self._loss(levels, row_fail)
            bound = float(self.loss_bound[node])
        else:
            if anonymous:
                kept = sizes[~fail].astype(np.float64)
                score = float((kept * kept).sum() + float(self.n) * suppressed)
            bound = dm_star
        return _Check(suppressed, anonymous, score, bound, row_fail)

    def _aggregate(self, per_attr: np.ndarray) -> np.ndarray:
        """Aggregate per-attribute losses (last axis): weighted mean or ARX's geometric mean."""
        m = per_attr.shape[-1]
        if m == 0:
            return np.zeros(per_attr.shape[:-1], dtype=np.float64)
        if self.aggregate == "geometric":
            logs = np.log((per_attr + 1.0) * self.weights).sum(axis=-1) / m
            return np.asarray(np.exp(logs) - 1.0, dtype=np.float64)
        return np.asarray(per_attr @ self.weights / self.weights.sum(), dtype=np.float64)

    def _loss(self, levels: np.ndarray, row_fail: np.ndarray) -> float:
        """Exact loss of a node: generalisation cost plus the extra cost of suppressed cells."""
        m = len(self.columns)
        per_attr = np.zeros(m, dtype=np.float64)
        idx = np.flatnonzero(row_fail)
        counts = self.row_count[idx].astype(np.float64)
        for j in range(m):
            lvl = levels[j]
            extra = 0.0
            if idx.size:
                cl = self.cell_loss[j][lvl][self.row_codes[j][lvl][idx]]
                extra = float((counts * (1.0 - cl)).sum())
            per_attr[j] = (self.level_loss[j][lvl] + extra) / self.n
        return float(self._aggregate(per_attr))

    # ------------------------------------------------------------------ lattice helpers

    def predecessors(self, node: int) -> np.ndarray:
        """Mask of the nodes at or below ``node`` (componentwise)."""
        return np.all(self.lattice <= self.lattice[node], axis=1)

    def successors(self, node: int) -> np.ndarray:
        """Mask of the nodes at or above ``node`` (componentwise)."""
        return np.all(self.lattice >= self.lattice[node], axis=1)

    def up_path(self, node: int) -> list[int]:
        """Greedy path from ``node`` to the top, stepping to the successor of least bound."""
        path = [node]
        levels = self.lattice[node].copy()
        strides = np.append(np.cumprod(self.heights[::-1])[::-1][1:], 1)
        while True:
            options = [j for j in range(len(levels)) if levels[j] < self.heights[j] - 1]
            if not options:
                return path
            cands = [path[-1] + int(strides[j]) for j in options]
            best = min(cands, key=lambda c: (self.loss_bound[c], c))
            levels = self.lattice[best]
            path.append(best)


def _better(a: tuple[float, int, tuple[int, ...]], b: tuple[float, int, tuple[int, ...]]) -> bool:
    """Whether candidate ``a`` (score, height, levels) beats ``b``, with a float tolerance."""
    tol = 1e-12 * max(1.0, abs(b[0]))
    if a[0] < b[0] - tol:
        return True
    if a[0] > b[0] + tol:
        return False
    return (a[1], a[2]) < (b[1], b[2])


class _Search:
    """State of the pruned search: status tags, scores, bounds, the incumbent."""

    def __init__(self, problem: _Problem) -> None:
        self.p = problem
        size = problem.size
        self.status = np.zeros(size, dtype=np.int8)
        self.zero_supp = np.zeros(size, dtype=bool)
        self.score = np.full(size, np.nan)
        self.bound = (
            problem.loss_bound.copy()
            if problem.metric == "loss"
            else np.full(size, float(problem.n))
        )
        self.best: tuple[float, int, tuple[int, ...]] | None = None
        self.best_node = -1

    def key(self, node: int) -> tuple[float, int, tuple[int, ...]]:
        return (
            float(self.score[node]),
            int(self.p.height[node]),
            tuple(int(v) for v in self.p.lattice[node]),
        )

    def consider(self, node: int) -> None:
        cand = self.key(node)
        if self.best is None or _better(cand, self.best):
            self.best = cand
            self.best_node = node

    def check(self, node: int) -> _Check:
        result = self.p.evaluate(node)
        if result.anonymous:
            succ = self.p.successors(node)
            self.status[succ] = _ANON
            if result.suppressed == 0:
                self.zero_supp[succ] = True
            self.score[node] = result.score
            self.consider(node)
        else:
            self.status[self.p.predecessors(node)] = _NOT_ANON
        if self.p.metric == "discernibility":
            succ = self.p.successors(node)
            self.bound[succ] = np.maximum(self.bound[succ], result.bound)
        return result

    def classify(self, node: int) -> None:
        """Binary search on an upward path until ``node``'s status is known."""
        path = self.p.up_path(node)
        lo, hi = 0, len(path) - 1  # the top (path[-1]) is anonymous: checked first
        while lo < hi:
            mid = (lo + hi) // 2
            if self.status[path[mid]] == _UNKNOWN:
                self.check(path[mid])
            if self.status[path[mid]] == _ANON:
                hi = mid
            else:
                lo = mid + 1
        if self.status[node] == _UNKNOWN:  # pragma: no cover - defensive, see docstring
            self.check(node)

    def exceeds(self, node: int) -> bool:
        b = self.best[0] if self.best is not None else math.inf
        return bool(self.bound[node] > b + 1e-12 * max(1.0, abs(b)))

    def run(self, order: np.ndarray) -> None:
        is_loss = self.p.metric == "loss"
        for node in order.tolist():
            if self.exceeds(node):
                if is_loss:
                    break  # visited in bound order: nothing later can be better
                continue
            if self.status[node] == _UNKNOWN:
                self.classify(node)
            if self.status[node] != _ANON or not np.isnan(self.score[node]):
                continue
            if is_loss and (self.zero_supp[node] or self.p.limit == 0):
                self.score[node] = self.p.loss_bound[node]
                self.consider(node)
            else:
                self.check(node)


def optimal_generalization(
    df: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    *,
    k: int,
    l: int | None = None,  # noqa: E741
    sensitive: Sequence[str] = (),
    max_suppression: float = 0.0,
    metric: Metric = "loss",
    other_quasi: Sequence[str] = (),
    weight: Mapping[str, float] | None = None,
    aggregate: Aggregate = "mean",
    strategy: Strategy = "flash",
) -> GeneralizationResult:
    """Find the transformation with the least information loss that meets k (and l).

    Records in classes smaller than ``k`` (or with fewer than ``l`` distinct values of a
    sensitive attribute) are suppressed, as long as they are at most ``max_suppression`` of
    the records. Classes are formed with a missing value as one more category, so the result
    also meets k under the wildcard rule.

    Args:
        df: the microdata.
        hierarchies: the hierarchy of each quasi-identifier to generalise (column -> hierarchy).
        k: minimum class size (>= 1).
        l: distinct l-diversity of every sensitive column, or None.
        sensitive: sensitive columns (needed when ``l`` is set).
        max_suppression: the largest share of records that may be suppressed, in [0, 1].
        metric: what to minimise: ``"loss"`` (ARX-style generalised information loss) or
            ``"discernibility"``.
        other_quasi: quasi-identifiers without a hierarchy: part of the key, never
            generalised, blanked when their record is suppressed.
        weight: optional weight of each quasi-identifier in the loss (ARX's attribute
            weights; e.g. from the policy's ``importance``); default 1 each.
        aggregate: how the ``"loss"`` metric combines the per-attribute losses: ``"mean"``
            (weighted arithmetic mean, :attr:`InformationLoss.loss`) or ``"geometric"``
            (ARX's default, :attr:`InformationLoss.loss_geometric`).
        strategy: ``"flash"`` (pruned search) or ``"exhaustive"`` (check every node; for
            verification).

    Returns:
        The optimal transformation, the transformed frame and its loss measures.

    Raises:
        DataError: the data are empty or lack a named column.
        PolicyError: an argument is invalid or a value is not covered by its hierarchy.
        PolicyNotMet: no transformation meets k (and l) within the suppression limit.
    """
    _validate(df, hierarchies, k, l, sensitive, max_suppression, metric, other_quasi, strategy)
    if aggregate not in ("mean", "geometric"):
        raise PolicyError(f"aggregate must be 'mean' or 'geometric', not {aggregate!r}")
    other = [c for c in other_quasi if c not in hierarchies]
    columns = list(hierarchies) + other
    weights = attribute_weights(columns, weight)
    problem = _Problem(
        df, hierarchies, other, sensitive, k, l, max_suppression, metric, weights, aggregate
    )
    search = _Search(problem)

    top = problem.size - 1
    top_check = search.check(top)
    if not top_check.anonymous:
        raise PolicyNotMet(
            _not_met_message(problem, hierarchies, other, top_check, max_suppression)
        )

    if strategy == "exhaustive":
        for node in range(problem.size):
            if node != top:
                search.check(node)
    else:
        order = np.lexsort(
            (np.arange(problem.size), problem.height, search.bound)
            if metric == "loss"
            else (np.arange(problem.size), problem.loss_bound, problem.height)
        )
        search.run(order)

    best = search.best_node
    final = problem.evaluate(best)
    problem.checked -= 1  # re-evaluating the winner to get its records is not a search step
    levels = {c: int(problem.lattice[best][j]) for j, c in enumerate(hierarchies)}
    mask = final.row_fail[problem.record_row]
    data = _transform(df, hierarchies, levels, columns, mask)
    loss = information_loss(
        df, hierarchies, levels, suppressed=mask, other_quasi=other, weight=weight
    )
    return GeneralizationResult(
        levels=levels,
        data=data,
        suppressed=mask,
        loss=loss,
        metric=metric,
        aggregate=aggregate,
        k=k,
        l=l,
        max_suppression=max_suppression,
        nodes_checked=problem.checked,
        lattice_size=problem.size,
    )


def _validate(
    df: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    k: int,
    l: int | None,  # noqa: E741
    sensitive: Sequence[str],
    max_suppression: float,
    metric: str,
    other_quasi: Sequence[str],
    strategy: str,
) -> None:
    if len(df) == 0:
        raise DataError("the data have no records; there is nothing to generalise")
    named = list(hierarchies) + list(other_quasi) + list(sensitive)
    absent = [c for c in dict.fromkeys(named) if c not in df.columns]
    if absent:
        raise DataError(
            f"column(s) {', '.join(map(repr, absent))} are not in the data; "
            f"the data have {', '.join(map(repr, df.columns))}"
        )
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise PolicyError(f"k must be a whole number >= 1, not {k!r}")
    if l is not None:
        if isinstance(l, bool) or not isinstance(l, int | np.integer) or l < 1:
            raise PolicyError(f"l must be a whole number >= 1, not {l!r}")
        if not sensitive:
            raise PolicyError("l-diversity needs at least one sensitive column (sensitive=...)")
    both = sorted(set(sensitive) & (set(hierarchies) | set(other_quasi)))
    if both:
        raise PolicyError(f"{both} cannot be both quasi-identifier and sensitive")
    if not 0.0 <= float(max_suppression) <= 1.0:
        raise PolicyError(f"max_suppression must be a share in [0, 1], not {max_suppression!r}")
    if metric not in ("loss", "discernibility"):
        raise PolicyError(f"metric must be 'loss' or 'discernibility', not {metric!r}")
    if strategy not in ("flash", "exhaustive"):
        raise PolicyError(f"strategy must be 'flash' or 'exhaustive', not {strategy!r}")


def _not_met_message(
    problem: _Problem,
    hierarchies: Mapping[str, Hierarchy],
    other: Sequence[str],
    top: _Check,
    max_suppression: float,
) -> str:
    target = f"k={problem.k}" + (f" and l={problem.l}" if problem.l is not None else "")
    share = top.suppressed / problem.n
    needed = math.ceil(share * 10_000) / 10_000
    fixes = [f"raise max_suppression to at least {needed:.4g}"]
    fixes.append(f"lower k{' or l' if problem.l is not None else ''}")
    coarse = [c for c, h in hierarchies.items() if len(h.labels(h.levels - 1)) > 1]
    if coarse:
        fixes.append(f"add a coarser level (e.g. '*') to the hierarchies of {coarse}")
    if other:
        fixes.append(f"give hierarchies to {list(other)}")
    return (
        f"{target} cannot be met with at most {max_suppression:.2%} of records suppressed: "
        f"even at the top levels of every hierarchy {top.suppressed} of {problem.n} records "
        f"({share:.2%}) are in classes that fail; " + ", or ".join(fixes)
    )


def _blank(series: pd.Series, mask: np.ndarray) -> pd.Series:
    """Set the masked entries of a column to missing, keeping integers as nullable integers."""
    if not mask.any():
        return series
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("boolean")
    elif pd.api.types.is_integer_dtype(series.dtype) and not isinstance(
        series.dtype, pd.api.extensions.ExtensionDtype
    ):
        series = series.astype("Int64")
    return series.mask(mask)


def _transform(
    df: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    levels: Mapping[str, int],
    columns: Sequence[str],
    mask: np.ndarray,
) -> pd.DataFrame:
    out = df.copy()
    for col in columns:
        series = (
            hierarchies[col].generalize(df[col], levels[col]) if col in hierarchies else df[col]
        )
        out[col] = _blank(series, mask)
    return out
