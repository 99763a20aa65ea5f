"""Optimal generalisation: the least-loss transformation that meets k (and l).

The model is ARX's full-domain generalisation with record suppression. A *transformation*
(node) picks one level per hierarchy; the nodes form a lattice ordered componentwise. For a
node, records are grouped into equivalence classes on their generalised quasi-identifiers
(a missing value is one more category); every class smaller than ``k`` (or, with ``l``,
less diverse than ``l`` in a sensitive attribute) is suppressed. The node is *anonymous* when
the suppressed records are at most ``max_suppression`` of all records. The result is the
anonymous node of least loss (:mod:`sdc.anonymize.loss`; by default ARX's "Loss" metric with
its default geometric-mean aggregate), ties broken by the lower lattice height, then
lexicographically by levels, so it is deterministic and equal to the exhaustive optimum
(``strategy="exhaustive"``, and the brute-force test over random small problems).

Suppression: ARX removes suppressed records (or prints ``*``); we keep the record and blank
all its quasi-identifier values, as DESIGN.md wants suppressed values empty. A record whose
quasi-identifiers are *all* blank in the input is nobody's neighbour (DESIGN.md): it is
treated as suppressed from the start, counts toward ``max_suppression`` and takes part in no
k or l check.

Why the search is exact (each pruning rule is a theorem, not a heuristic):

* **Lower bound.** The generalisation part of the loss (suppression ignored) is computed for
  every node up front from per-level sums; a suppressed cell costs 1, at least its
  generalised cost, and both aggregates grow with every per-attribute loss, so this is a
  lower bound of the node's loss. It grows with the levels (a coarser value covers more
  leaves). Nodes are visited in order of the bound and the search stops once the bound
  exceeds the best loss found. The *loss itself* is not monotone once records are suppressed
  (a coarser node may suppress fewer records and lose less) and is never assumed to be.
* **Anonymity is monotone for k and distinct l.** Generalising merges classes; a merged
  class is at least as large and as diverse (distinct values) as each part, so when it fails,
  every part failed: the suppressed records only shrink. Hence a successor of an anonymous
  node is anonymous and a predecessor of a non-anonymous node is not. Each check tags all
  successors or all predecessors, and an unknown node is classified by a binary search on a
  path from it to the top, as Flash does (Kohlmayer et al. 2012).
* **Entropy and recursive (c, l)-diversity are not monotone with suppression**: a diverse
  class merged with a uniform one can fail, so generalising can suppress *more* records. For
  them (when any suppression is allowed) the search keeps only the rules that stay true:
  the k part alone is monotone (a node suppressing too many records for k alone has
  predecessors that do too), and a node where every class passes has successors where every
  class passes (entropy is concave and recursive (c, l) is preserved by merging, as
  Machanavajjhala et al. 2007 show). Every other node within the bound is checked.
* **No suppression needed.** A successor of a node where no class fails has no failing class
  either, so its loss equals its bound and it needs no check.
* **Suppression bounds predecessors.** A record suppressed at a checked node (failing class
  for k and distinct l; class below k for any l) is suppressed at every predecessor too, and
  there its extra cost ``1 - c`` is at least what it was (a finer value covers fewer leaves)
  and at least ``1 -`` the largest cell cost of the predecessor's level. Adding that to the
  predecessor's generalisation loss gives a tighter lower bound, used to skip nodes (the
  visiting order and the stop rule keep the static bound).

Speed: records are collapsed to their distinct level-0 rows (with counts), coded as integers
per attribute and level. A node's classes are *rolled up* from the classes of an already
checked predecessor (the one with the fewest classes; the bottom node's classes are the
distinct rows), so a check costs O(classes of that predecessor), not O(records). l is checked
on per-(class, value) counts rolled up the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from sdc.anonymize.loss import (
    InformationLoss,
    attribute_weights,
    cell_loss,
    information_loss,
)
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.hierarchy import Hierarchy
from sdc.risk.diversity import GroupCounts, l_diversity

__all__ = ["GeneralizationResult", "optimal_generalization"]

Metric = Literal["loss", "discernibility"]
Aggregate = Literal["mean", "geometric"]
Strategy = Literal["flash", "exhaustive"]
LKind = Literal["distinct", "entropy", "recursive"]

_MAX_LATTICE = 5_000_000
_INT64_LIMIT = 2**62
_CACHE = 256  # class tables kept for roll-up (each O(classes) memory)
_ENTROPY_TOL = 1e-9  # exp(entropy) of l equally frequent values is l up to rounding
_UNKNOWN, _ANON, _NOT_ANON = 0, 1, 2


@dataclass(frozen=True)
class GeneralizationResult:
    """The optimal transformation and what it does to the data.

    Attributes:
        levels: the chosen level of each hierarchy column.
        data: the transformed frame: hierarchy columns generalised (level 0 keeps the original
            values), suppressed records with all quasi-identifiers missing, other columns as
            they were.
        suppressed: boolean mask (numpy) of the records the search suppressed, in input order
            (records whose quasi-identifiers were all blank already are in ``blank_records``).
        loss: the information-loss measures of the result (see :mod:`sdc.anonymize.loss`).
        score: the value of the minimised measure (``metric`` with ``aggregate``).
        metric: the measure that was minimised.
        aggregate: how the loss metric combined attributes (``"mean"`` or ``"geometric"``).
        weights: the normalised attribute weight of each quasi-identifier (they sum to 1).
        k: the k that every released class meets.
        l: the l-diversity every released class meets, or None.
        l_diversity: the kind of l-diversity (``distinct``, ``entropy``, ``recursive``).
        recursive_c: the c of recursive (c, l)-diversity.
        max_suppression: the limit on the share of suppressed records.
        max_level: the cap on the level of each capped hierarchy column.
        removed: hierarchy columns generalised (level > 0) to a level with a single value
            (usually the top, ``*``): they carry no information any more ("removed
            entirely").
        blank_records: records whose quasi-identifiers were all blank in the input; they
            count as suppressed toward ``max_suppression``.
        nodes_checked: transformations whose classes were computed.
        lattice_size: number of transformations in the (capped) lattice.
    """

    levels: dict[str, int]
    data: pd.DataFrame
    suppressed: np.ndarray
    loss: InformationLoss
    score: float
    metric: Metric
    aggregate: Aggregate
    weights: dict[str, float]
    k: int
    l: int | None  # noqa: E741 - the standard name of the l-diversity parameter
    l_diversity: LKind
    recursive_c: float
    max_suppression: float
    max_level: dict[str, int]
    removed: tuple[str, ...]
    blank_records: int
    nodes_checked: int
    lattice_size: int

    @property
    def suppressed_count(self) -> int:
        """Number of records the search suppressed."""
        return int(self.suppressed.sum())

    @property
    def loss_per_variable(self) -> dict[str, float]:
        """The loss of each quasi-identifier in [0, 1] (1 = no information left)."""
        return dict(self.loss.loss_by_attribute)


@dataclass
class _Classes:
    """The equivalence classes of one node, enough to roll them up to any successor.

    Attributes:
        rep: one distinct row of each class (all rows of a class share their codes at this
            node's levels and every coarser level).
        size: records in each class.
        pairs: per sensitive column, the (class, value code, records) triples, value ``-1``
            for a missing sensitive value; one triple per distinct (class, value).
    """

    rep: np.ndarray
    size: np.ndarray
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class _Check:
    """The outcome of computing one node's classes."""

    failing: int  # records in failing classes (suppressed by this node)
    k_failing: int  # records in classes smaller than k
    anonymous: bool
    score: float
    bound: float
    fail: np.ndarray = field(repr=False)
    classes: _Classes = field(repr=False)
    # Per attribute, the extra loss sum of the records that are surely suppressed at every
    # predecessor too (failing classes when anonymity is monotone, else the k-failing ones).
    extra: np.ndarray | None = field(default=None, repr=False)
    sure: int = 0  # how many records that is


def _combine(cols: Sequence[np.ndarray], cards: Sequence[int], n: int) -> tuple[np.ndarray, int]:
    """Dense class id of each row of ``cols`` (mixed radix, refactorised before overflow)."""
    if not cols:
        return np.zeros(n, dtype=np.int64), (1 if n else 0)
    key = cols[0].astype(np.int64, copy=True)
    radix = int(cards[0])
    for col, card in zip(cols[1:], cards[1:], strict=True):
        if radix * int(card) >= _INT64_LIMIT:
            key, uniques = pd.factorize(key)
            radix = max(len(uniques), 1)
        key = key * int(card) + col
        radix *= int(card)
    if radix <= 2 * n + 1024:  # few possible keys: a dense table is cheaper than hashing
        present = np.zeros(radix, dtype=np.int64)
        present[key] = 1
        lookup = np.cumsum(present) - 1
        return lookup[key], int(lookup[-1]) + 1 if radix else 0
    inv, uniques = pd.factorize(key)
    return inv.astype(np.int64, copy=False), len(uniques)


class _Problem:
    """Integer-encoded data and the node evaluation shared by both strategies."""

    def __init__(
        self,
        df: pd.DataFrame,
        hierarchies: Mapping[str, Hierarchy],
        caps: Mapping[str, int],
        other_quasi: Sequence[str],
        sensitive: Sequence[str],
        k: int,
        l: int | None,  # noqa: E741
        kind: LKind,
        recursive_c: float,
        max_suppression: float,
        metric: Metric,
        weights: list[float],
        aggregate: Aggregate,
    ) -> None:
        self.n = len(df)
        self.aggregate = aggregate
        self.k = k
        self.l = l
        self.kind = kind
        self.recursive_c = recursive_c
        self.metric = metric
        self.limit = math.floor(max_suppression * self.n + 1e-9)
        self.columns = list(hierarchies) + list(other_quasi)
        m = len(self.columns)
        self.heights = np.array(
            [caps.get(c, hierarchies[c].levels - 1) + 1 for c in hierarchies]
            + [1] * len(other_quasi),
            dtype=np.int64,
        )
        w = np.asarray(weights, dtype=np.float64)
        self.weights = w / w.sum() if m else w

        # Level codes per record, a missing value mapped to one extra code per level.
        record_codes: list[np.ndarray] = []
        missing = np.ones(self.n, dtype=bool)
        self.cards: list[np.ndarray] = []
        self.cell_loss: list[list[np.ndarray]] = []
        for col in hierarchies:
            h = hierarchies[col]
            height = int(self.heights[len(record_codes)])
            codes = h.level_codes(df[col])[:height]
            missing &= codes[0] < 0
            cards = np.array([len(h.labels(j)) + 1 for j in range(height)], dtype=np.int64)
            codes = np.where(codes < 0, (cards - 1)[:, None], codes)
            record_codes.append(codes)
            self.cards.append(cards)
            self.cell_loss.append([np.append(cell_loss(h, j), 1.0) for j in range(height)])
        for col in other_quasi:
            values = df[col]
            if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
                values = values.replace("", np.nan)
            codes, uniques = pd.factorize(values, use_na_sentinel=True)
            card = len(uniques) + 1
            missing &= codes < 0
            codes = np.where(codes < 0, card - 1, codes).astype(np.int64)
            record_codes.append(codes[None, :])
            self.cards.append(np.array([card], dtype=np.int64))
            lossv = np.zeros(card, dtype=np.float64)
            lossv[card - 1] = 1.0
            self.cell_loss.append([lossv])

        # Records whose quasi-identifiers are all blank are suppressed from the start.
        self.blank = missing if m else np.zeros(self.n, dtype=bool)
        self.n_blank = int(self.blank.sum())
        kept = np.flatnonzero(~self.blank)

        # Collapse the other records to distinct level-0 rows.
        base = [c[0][kept] for c in record_codes]
        row_of_kept, n_rows = _combine(base, [int(c[0]) for c in self.cards], len(kept))
        self.record_row = np.full(self.n, -1, dtype=np.int64)
        self.record_row[kept] = row_of_kept
        first = np.empty(n_rows, dtype=np.int64)
        first[row_of_kept[::-1]] = kept[::-1]
        self.row_count = np.bincount(row_of_kept, minlength=n_rows).astype(np.int64)
        self.row_codes = [c[:, first] for c in record_codes]

        # Generalisation-only loss sum per attribute and level (the monotone lower bound);
        # an all-blank record costs 1 in every attribute at every node.
        self.level_loss = [
            np.array(
                [
                    float((self.row_count * tab[codes[j]]).sum()) + self.n_blank
                    for j, tab in enumerate(tabs)
                ]
            )
            for codes, tabs in zip(self.row_codes, self.cell_loss, strict=True)
        ]

        # Per attribute and level, the least extra cost of suppressing a record: 1 - the
        # largest cell cost among the values present (see suppression_bound).
        self.min_extra = [
            np.array([1.0 - float(tab[codes[j]].max(initial=0.0)) for j, tab in enumerate(tabs)])
            for codes, tabs in zip(self.row_codes, self.cell_loss, strict=True)
        ]

        # Bottom classes = the distinct rows; (row, sensitive value) counts for l.
        pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.sens_cards: list[int] = []
        if l is not None:
            for col in sensitive:
                values = df[col]
                if pd.api.types.is_string_dtype(values.dtype):
                    values = values.replace("", np.nan)  # as sdc.risk.diversity.group_counts
                codes, uniques = pd.factorize(values, use_na_sentinel=True)
                card = len(uniques) + 1
                key = row_of_kept * card + (codes[kept].astype(np.int64) + 1)
                uniq, count = np.unique(key, return_counts=True)
                pairs.append((uniq // card, uniq % card - 1, count.astype(np.int64)))
                self.sens_cards.append(card)
        self.bottom = _Classes(np.arange(n_rows, dtype=np.int64), self.row_count, pairs)

        # The lattice, one row of levels per node, in C order of the heights.
        size = int(np.prod(self.heights)) if m else 1
        if size > _MAX_LATTICE:
            raise PolicyError(
                f"the generalisation lattice has {size:,} transformations (more than "
                f"{_MAX_LATTICE:,}); fix the level of some columns with `recode.level`, cap "
                "them with `recode.max_level` or use fewer quasi-identifiers in the search"
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
        # Whether anonymity is monotone in the lattice (see the module docstring).
        self.room = self.limit - self.n_blank
        self.monotone = l is None or kind == "distinct" or self.room <= 0
        self.checked = 0
        self._cache_levels = np.zeros((1, m), dtype=np.int64)
        self._cache: list[_Classes] = [self.bottom]

    # ------------------------------------------------------------------ classes

    def _rollup(self, src: _Classes, levels: np.ndarray) -> tuple[_Classes, np.ndarray]:
        """The classes at ``levels`` from those of a predecessor, and each source class's id."""
        m = len(self.columns)
        if src is self.bottom:  # the rows themselves: no gather needed
            cols = [self.row_codes[j][levels[j]] for j in range(m)]
        else:
            cols = [self.row_codes[j][levels[j]][src.rep] for j in range(m)]
        cards = [int(self.cards[j][levels[j]]) for j in range(m)]
        inv, n_cls = _combine(cols, cards, len(src.rep))
        size = np.bincount(inv, weights=src.size, minlength=n_cls).astype(np.int64)
        rep = np.empty(n_cls, dtype=np.int64)
        rep[inv] = src.rep
        pairs = []
        for (cls, val, cnt), card in zip(src.pairs, self.sens_cards, strict=True):
            key = inv[cls] * card + (val + 1)
            pinv, uniq = pd.factorize(key)
            total = np.bincount(pinv, weights=cnt, minlength=len(uniq)).astype(np.int64)
            uniq = np.asarray(uniq, dtype=np.int64)
            pairs.append((uniq // card, uniq % card - 1, total))
        return _Classes(rep, size, pairs), inv

    def _source(self, levels: np.ndarray) -> _Classes:
        """The cached predecessor of ``levels`` with the fewest classes."""
        below = np.all(self._cache_levels <= levels, axis=1)
        idx = np.flatnonzero(below)
        best = min(idx.tolist(), key=lambda i: len(self._cache[i].size))
        return self._cache[best]

    def _remember(self, levels: np.ndarray, classes: _Classes) -> None:
        if len(self._cache) >= _CACHE:
            # Drop the largest table (never the bottom, which every node can roll up from).
            worst = 1 + int(np.argmax([len(c.size) for c in self._cache[1:]]))
            if len(self._cache[worst].size) <= len(classes.size):
                return
            del self._cache[worst]
            self._cache_levels = np.delete(self._cache_levels, worst, axis=0)
        self._cache.append(classes)
        self._cache_levels = np.vstack([self._cache_levels, levels[None, :]])

    def l_values(self, classes: _Classes) -> list[np.ndarray]:
        """The l of each class per sensitive column, as :mod:`sdc.risk.diversity` defines it.

        A class whose sensitive values are all missing gets 0 (it fails any l): treating it
        as failing keeps anonymity monotone for distinct l, and such a class is never less
        protected in the release than the check requires.
        """
        n_cls = len(classes.size)
        out = []
        for (cls, val, cnt), card in zip(classes.pairs, self.sens_cards, strict=True):
            seen = val >= 0
            observed = np.bincount(cls[seen], weights=cnt[seen], minlength=n_cls)
            if self.kind == "distinct":
                # Equal to diversity.l_diversity's distinct l (missing counts as one more value
                # when the class has another); computed directly because it is the hot path.
                distinct = np.bincount(cls[seen], minlength=n_cls)
                has_missing = np.bincount(cls[~seen], minlength=n_cls) > 0
                lv = (distinct + (has_missing & (distinct > 0))).astype(np.float64)
            else:
                gc = GroupCounts(
                    n_groups=n_cls,
                    n_values=card - 1,
                    group=cls,
                    value=val,
                    count=cnt,
                    size=classes.size,
                    observed=observed.astype(np.int64),
                    ordered=False,
                )
                _, entropy_l, recursive_l = l_diversity(gc, self.recursive_c)
                lv = entropy_l if self.kind == "entropy" else recursive_l.astype(np.float64)
            out.append(np.where(observed > 0, lv, 0.0))
        return out

    def _fail(self, classes: _Classes) -> tuple[np.ndarray, np.ndarray]:
        """Per class: fails k; fails k or l."""
        fail_k = classes.size < self.k
        fail = fail_k.copy()
        if self.l is not None:
            tol = _ENTROPY_TOL if self.kind == "entropy" else 0.0
            for lv in self.l_values(classes):
                fail |= lv < self.l - tol
        return fail_k, fail

    def whole_file_l(self) -> list[float]:
        """The l of each sensitive column with all (not blank) records in one class."""
        pairs = []
        for (_, val, cnt), card in zip(self.bottom.pairs, self.sens_cards, strict=True):
            total = np.bincount(val + 1, weights=cnt, minlength=card).astype(np.int64)
            value = np.flatnonzero(total) - 1
            pairs.append((np.zeros(len(value), dtype=np.int64), value, total[value + 1]))
        one = _Classes(np.zeros(1, dtype=np.int64), np.array([self.row_count.sum()]), pairs)
        return [float(v[0]) for v in self.l_values(one)]

    def classes_of(self, node: int) -> tuple[_Classes, np.ndarray]:
        """The classes of a node rolled up from the distinct rows, and each row's class."""
        return self._rollup(self.bottom, self.lattice[node])

    # ------------------------------------------------------------------ evaluation

    def evaluate(self, node: int) -> _Check:
        """Compute the classes of a node: suppression, anonymity, score, bound."""
        self.checked += 1
        levels = self.lattice[node]
        classes, _ = self._rollup(self._source(levels), levels)
        self._remember(levels, classes)
        fail_k, fail = self._fail(classes)
        sizes = classes.size
        failing = int(sizes[fail].sum())
        k_failing = int(sizes[fail_k].sum())
        anonymous = failing + self.n_blank <= self.limit
        blank_cost = float(self.n) * self.n_blank
        score = math.nan  # only anonymous nodes are scored
        extra = None
        sure = 0
        if self.metric == "loss":
            if anonymous:
                extra = self._extra(levels, classes, fail)
                score = self._score(levels, extra)
                sure = failing
            if not self.monotone:
                extra = self._extra(levels, classes, fail_k) if k_failing else None
                sure = k_failing
            bound = float(self.loss_bound[node])
        else:
            f = sizes.astype(np.float64)
            if anonymous:
                kept = f[~fail]
                score = float((kept * kept).sum() + float(self.n) * failing + blank_cost)
            bound = float((f * f).sum()) + blank_cost
        return _Check(failing, k_failing, anonymous, score, bound, fail, classes, extra, sure)

    def _aggregate(self, per_attr: np.ndarray) -> np.ndarray:
        """Aggregate per-attribute losses (last axis): weighted arithmetic or geometric mean."""
        m = per_attr.shape[-1]
        if m == 0:
            return np.zeros(per_attr.shape[:-1], dtype=np.float64)
        if self.aggregate == "geometric":
            return np.asarray(np.expm1(np.log1p(per_attr) @ self.weights), dtype=np.float64)
        return np.asarray(per_attr @ self.weights, dtype=np.float64)

    def _extra(self, levels: np.ndarray, classes: _Classes, fail: np.ndarray) -> np.ndarray:
        """Per attribute, the extra cost of suppressing the failing classes' records.

        A suppressed cell costs 1 instead of its generalised cost ``c``: ``sum(size * (1-c))``.
        """
        m = len(self.columns)
        extra = np.zeros(m, dtype=np.float64)
        rep = classes.rep[fail]
        if rep.size:
            counts = classes.size[fail].astype(np.float64)
            for j in range(m):
                lvl = levels[j]
                cl = self.cell_loss[j][lvl][self.row_codes[j][lvl][rep]]
                extra[j] = float((counts * (1.0 - cl)).sum())
        return extra

    def _score(self, levels: np.ndarray, extra: np.ndarray) -> float:
        """Exact loss of a node: generalisation cost plus the extra cost of suppressed cells."""
        m = len(self.columns)
        gen = np.array([self.level_loss[j][levels[j]] for j in range(m)], dtype=np.float64)
        return float(self._aggregate((gen + extra) / self.n))

    def suppression_bound(self, nodes: np.ndarray, extra: np.ndarray, sure: int) -> np.ndarray:
        """Lower bound of the loss of ``nodes`` (predecessors of a checked node ``S``).

        The ``sure`` records suppressed at ``S`` (failing classes for k and distinct l; the
        classes below k for any l) are suppressed at every predecessor ``N`` too. A record's
        cell cost at ``N``'s level is at most its cost at ``S``'s (a finer value covers fewer
        leaves), so its extra cost ``1 - c`` at ``N`` is at least that at ``S`` (``extra``,
        per attribute), and at least ``1 -`` the largest cell cost of ``N``'s level. Either
        adds to ``N``'s generalisation loss.
        """
        m = len(self.columns)
        gen = np.empty((len(nodes), m), dtype=np.float64)
        for j in range(m):
            lvl = self.lattice[nodes, j]
            gen[:, j] = self.level_loss[j][lvl] + np.maximum(
                extra[j], sure * self.min_extra[j][lvl]
            )
        return self._aggregate(gen / self.n)

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
        self.no_fail = np.zeros(size, dtype=bool)  # known: no class fails (score = bound)
        self.score = np.full(size, np.nan)
        self.bound = (
            problem.loss_bound.copy()
            if problem.metric == "loss"
            # every kept record costs at least 1, every blank one n
            else np.full(size, float(problem.n - problem.n_blank) + problem.n * problem.n_blank)
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
        p = self.p
        result = p.evaluate(node)
        if result.failing == 0:
            succ = p.successors(node)
            self.status[succ] = np.where(result.anonymous, _ANON, self.status[succ])
            self.no_fail[succ] = True
        if p.monotone:
            if result.anonymous:
                self.status[p.successors(node)] = _ANON
            else:
                self.status[p.predecessors(node)] = _NOT_ANON
        else:
            if result.k_failing + p.n_blank > p.limit:
                self.status[p.predecessors(node)] = _NOT_ANON
            self.status[node] = _ANON if result.anonymous else _NOT_ANON
        if result.anonymous:
            self.score[node] = result.score
            self.consider(node)
        if result.extra is not None and result.sure:
            below = np.flatnonzero(p.predecessors(node) & (self.status != _NOT_ANON))
            if below.size:
                tighter = p.suppression_bound(below, result.extra, result.sure)
                self.bound[below] = np.maximum(self.bound[below], tighter)
        if p.metric == "discernibility":
            succ = p.successors(node)
            self.bound[succ] = np.maximum(self.bound[succ], result.bound)
        return result

    def classify(self, node: int) -> None:
        """Binary search on an upward path until ``node``'s status is known (monotone only)."""
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

    def beyond(self, bound: float) -> bool:
        """Whether a lower bound is above the best score found (with a float tolerance)."""
        b = self.best[0] if self.best is not None else math.inf
        return bool(bound > b + 1e-12 * max(1.0, abs(b)))

    def exceeds(self, node: int) -> bool:
        return self.beyond(float(self.bound[node]))

    def run(self, order: np.ndarray, progress: Callable[[int, int], None] | None = None) -> None:
        p = self.p
        is_loss = p.metric == "loss"
        size = len(order)
        every = max(1, size // 200)
        for i, node in enumerate(order.tolist()):
            if progress is not None and i % every == 0:
                progress(i, size)
            if is_loss and self.beyond(float(p.loss_bound[node])):
                break  # visited in order of the static bound: nothing later can be better
            if self.exceeds(node):
                continue
            if not np.isnan(self.score[node]) or self.status[node] == _NOT_ANON:
                continue
            if is_loss and self.no_fail[node]:
                self.score[node] = p.loss_bound[node]
                self.consider(node)
                continue
            if p.monotone:
                if self.status[node] == _UNKNOWN:
                    self.classify(node)
                if self.status[node] != _ANON or not np.isnan(self.score[node]):
                    continue
                if is_loss and p.room == 0:  # anonymous without suppression: no class fails
                    self.score[node] = p.loss_bound[node]
                    self.consider(node)
                    continue
            self.check(node)


def optimal_generalization(
    df: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    *,
    k: int,
    l: int | None = None,  # noqa: E741
    sensitive: Sequence[str] = (),
    l_diversity: LKind = "distinct",
    recursive_c: float = 2.0,
    max_suppression: float = 0.0,
    metric: Metric = "loss",
    other_quasi: Sequence[str] = (),
    weight: Mapping[str, float] | None = None,
    aggregate: Aggregate = "geometric",
    max_level: Mapping[str, int] | None = None,
    strategy: Strategy = "flash",
    progress: Callable[[int, int], None] | None = None,
) -> GeneralizationResult:
    """Find the transformation with the least information loss that meets k (and l).

    Records in classes smaller than ``k`` (or less diverse than ``l``) are suppressed, as
    long as they are at most ``max_suppression`` of the records. Classes are formed with a
    missing value as one more category (the category rule), so the result also meets k under
    the wildcard rule. The default measure is ARX's "Loss" with its default geometric-mean
    aggregate, so the optimum is ARX's optimum for the same data, hierarchies and limits.

    Args:
        df: the microdata.
        hierarchies: the hierarchy of each quasi-identifier to generalise (column -> hierarchy).
        k: minimum class size (>= 1).
        l: l-diversity of every sensitive column, or None.
        sensitive: sensitive columns (needed when ``l`` is set).
        l_diversity: the kind of l: ``"distinct"``, ``"entropy"`` or ``"recursive"`` (c, l),
            as :mod:`sdc.risk.diversity` defines them (a missing sensitive value is one more
            value for distinct and entropy l, left out of recursive l); a class whose
            sensitive values are all missing fails.
        recursive_c: the constant c of recursive (c, l)-diversity.
        max_suppression: the largest share of records that may be suppressed, in [0, 1];
            records whose quasi-identifiers are all blank already count toward it.
        metric: what to minimise: ``"loss"`` (ARX-style generalised information loss) or
            ``"discernibility"``.
        other_quasi: quasi-identifiers without a hierarchy: part of the key, never
            generalised, blanked when their record is suppressed.
        weight: optional weight of each quasi-identifier in the loss, e.g. ``1/importance``;
            default 1 each. Weights are normalised to sum 1 and enter both aggregates as
            weights of a weighted mean: ``sum(w_j L_j)`` and ``prod((1 + L_j) ** w_j) - 1``.
            With equal weights the geometric form is exactly ARX's. ARX multiplies each
            ``1 + L_j`` by its weight inside the geometric mean, which scales every node by
            the same constant and so never changes which node is optimal; as exponents the
            weights do what a user asks of them (a heavy column is generalised less).
        aggregate: how the ``"loss"`` metric combines the per-attribute losses:
            ``"geometric"`` (ARX's default, :attr:`InformationLoss.loss_geometric`) or
            ``"mean"`` (weighted arithmetic mean, :attr:`InformationLoss.loss`).
        max_level: optional cap per hierarchy column: the search never chooses a higher
            level for it.
        strategy: ``"flash"`` (pruned search) or ``"exhaustive"`` (check every node; for
            verification).
        progress: told ``(nodes visited, lattice size)`` as the search goes (an upper
            estimate: pruning may end it early), for a progress bar.

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
    if l_diversity not in ("distinct", "entropy", "recursive"):
        raise PolicyError(
            f"l_diversity must be 'distinct', 'entropy' or 'recursive', not {l_diversity!r}"
        )
    if not (isinstance(recursive_c, int | float) and math.isfinite(recursive_c)) or not (
        recursive_c > 0
    ):
        raise PolicyError(f"recursive_c must be a positive number, not {recursive_c!r}")
    caps = _caps(hierarchies, max_level)
    other = [c for c in other_quasi if c not in hierarchies]
    columns = list(hierarchies) + other
    raw = attribute_weights(columns, weight)
    total = sum(raw)
    weights = {c: w / total for c, w in zip(columns, raw, strict=True)}
    problem = _Problem(
        df,
        hierarchies,
        caps,
        other,
        sensitive,
        k,
        l,
        l_diversity,
        float(recursive_c),
        max_suppression,
        metric,
        raw,
        aggregate,
    )
    search = _Search(problem)

    top = problem.size - 1
    top_check = search.check(top)
    if problem.monotone and not top_check.anonymous:
        raise PolicyNotMet(
            _not_met_message(problem, hierarchies, other, sensitive, top_check, max_suppression)
        )

    if strategy == "exhaustive":
        for node in range(problem.size):
            if node != top:
                search.check(node)
    else:
        order = np.lexsort(
            (np.arange(problem.size), problem.height, problem.loss_bound)
            if metric == "loss"
            else (np.arange(problem.size), problem.loss_bound, problem.height)
        )
        search.run(order, progress)
    if progress is not None:
        progress(problem.size, problem.size)
    if search.best is None:
        raise PolicyNotMet(
            _not_met_message(problem, hierarchies, other, sensitive, top_check, max_suppression)
        )

    best = search.best_node
    classes, row_class = problem.classes_of(best)
    _, fail = problem._fail(classes)
    mask = np.zeros(problem.n, dtype=bool)
    kept = problem.record_row >= 0
    mask[kept] = fail[row_class[problem.record_row[kept]]]
    levels = {c: int(problem.lattice[best][j]) for j, c in enumerate(hierarchies)}
    data = _transform(df, hierarchies, levels, columns, mask)
    # All-blank records count as suppressed in the measures too (DM charges them n each).
    loss = information_loss(
        df, hierarchies, levels, suppressed=mask | problem.blank, other_quasi=other, weight=weights
    )
    removed = tuple(
        c for c in hierarchies if levels[c] > 0 and len(hierarchies[c].labels(levels[c])) == 1
    )
    return GeneralizationResult(
        levels=levels,
        data=data,
        suppressed=mask,
        loss=loss,
        score=float(search.best[0]),
        metric=metric,
        aggregate=aggregate,
        weights=weights,
        k=k,
        l=l,
        l_diversity=l_diversity,
        recursive_c=float(recursive_c),
        max_suppression=max_suppression,
        max_level=dict(caps),
        removed=removed,
        blank_records=problem.n_blank,
        nodes_checked=problem.checked,
        lattice_size=problem.size,
    )


def _caps(
    hierarchies: Mapping[str, Hierarchy], max_level: Mapping[str, int] | None
) -> dict[str, int]:
    """Validate the level caps: hierarchy columns only, within the hierarchy's levels."""
    caps = dict(max_level or {})
    stray = [c for c in caps if c not in hierarchies]
    if stray:
        raise PolicyError(
            f"max_level is given for {', '.join(map(repr, stray))}, which the search does not "
            "generalise; cap only columns with a hierarchy (recode: {map: FILE})"
        )
    for col, cap in caps.items():
        top = hierarchies[col].levels - 1
        if isinstance(cap, bool) or not isinstance(cap, int | np.integer) or not 0 <= cap <= top:
            raise PolicyError(
                f"max_level of {col!r} is {cap!r}, but its hierarchy has levels 0 to {top}; "
                f"give a whole number from 0 to {top}"
            )
    return {c: int(v) for c, v in caps.items()}


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
    sensitive: Sequence[str],
    top: _Check,
    max_suppression: float,
) -> str:
    target = f"k={problem.k}"
    if problem.l is not None:
        kind = "" if problem.kind == "distinct" else f" ({problem.kind})"
        target += f" and l={problem.l}{kind}"
    suppressed = top.failing + problem.n_blank
    share = suppressed / problem.n
    needed = math.ceil(share * 10_000) / 10_000
    fixes = [f"raise max_suppression to at least {needed:.4g}"]
    fixes.append(f"lower k{' or l' if problem.l is not None else ''}")
    coarse = [c for c, h in hierarchies.items() if len(h.labels(h.levels - 1)) > 1]
    if coarse:
        fixes.append(f"add a coarser level (e.g. '*') to the hierarchies of {coarse}")
    capped = [c for j, c in enumerate(hierarchies) if problem.heights[j] < hierarchies[c].levels]
    if capped:
        fixes.append(f"raise max_level of {capped}")
    if other:
        fixes.append(f"give hierarchies to {list(other)}")
    blank = (
        f" ({problem.n_blank} of them have every quasi-identifier blank)" if problem.n_blank else ""
    )
    if problem.l is not None and problem.n_blank < problem.n:
        low = [
            f"{col!r} has l={value:.3g} in the whole file"
            for col, value in zip(sensitive, problem.whole_file_l(), strict=True)
            if value < problem.l
        ]
        if low:
            fixes.insert(0, f"check the sensitive columns ({'; '.join(low)})")
    return (
        f"{target} cannot be met with at most {max_suppression:.2%} of records suppressed: "
        f"even at the top levels of every hierarchy {suppressed} of {problem.n} records "
        f"({share:.2%}) are in classes that fail{blank}; " + ", or ".join(fixes)
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
