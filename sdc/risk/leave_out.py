"""Records below k, with and without each quasi-identifier: how a draft policy leaves some out.

``sdc scan`` drafts a policy whose quasi-identifiers can meet k: it leaves out, one at a
time, the quasi-identifier whose absence leaves the fewest records below k. Counted
naively that is, for each step, one key count per candidate over all the others: cubic in
the number of quasi-identifiers, hours for a survey with a thousand answer columns.
:class:`KeyCounts` gives the same choices with far fewer counts:

- a key is grown one column at a time (group ids factorised again after each column), and
  the count stops as soon as every record is below k: more columns only split groups, so
  every record stays below k (the share is exactly 1.0);
- when two disjoint sets of the quasi-identifiers each leave every record below k, every
  quasi-identifier's absence does too (the rest hold one of the two sets whole), so every
  candidate ties at 1.0 and only the tie-break (most distinct values first) decides;
- otherwise each candidate's key is the combination of the key before it and the key
  after it (prefix and suffix ids), one combination per candidate instead of a count over
  all the others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["KeyCounts", "below_k"]


def below_k(frame: pd.DataFrame, quasi: Sequence[str], k: int) -> float:
    """Share of records whose key (blanks one more value) is shared by fewer than k."""
    if not quasi or len(frame) == 0:
        return 0.0
    return KeyCounts(frame, quasi, k).below(quasi)


class KeyCounts:
    """Key counts over a fixed table of quasi-identifiers (see the module's docstring).

    Args:
        frame: the records, quasi-identifiers as the draft recodes them.
        quasi: the quasi-identifiers that may be counted.
        k: the threshold.
    """

    def __init__(self, frame: pd.DataFrame, quasi: Sequence[str], k: int) -> None:
        self.k = k
        self.n = len(frame)
        self.codes: dict[str, np.ndarray] = {}
        self.cardinality: dict[str, int] = {}
        self.distinct: dict[str, int] = {}
        for q in quasi:
            codes, uniques = pd.factorize(frame[q], use_na_sentinel=False)
            self.codes[q] = np.asarray(codes, dtype=np.int64)
            self.cardinality[q] = max(len(uniques), 1)
            self.distinct[q] = len(frame[q].drop_duplicates())

    def _join(self, ids: np.ndarray, size: int, column: str) -> tuple[np.ndarray, int]:
        joined, uniques = pd.factorize(ids * self.cardinality[column] + self.codes[column])
        return np.asarray(joined, dtype=np.int64), max(len(uniques), 1)

    def _all_below(self, ids: np.ndarray) -> bool:
        return bool((np.bincount(ids)[ids] < self.k).all())

    def _share(self, ids: np.ndarray) -> float:
        return float((np.bincount(ids)[ids] < self.k).mean())

    def below(self, columns: Sequence[str]) -> float:
        """Share of records whose key over ``columns`` is shared by fewer than k."""
        if not columns or self.n == 0:
            return 0.0
        ids, size = np.zeros(self.n, dtype=np.int64), 1
        for column in columns:
            ids, size = self._join(ids, size, column)
            if self._all_below(ids):
                return 1.0
        return self._share(ids)

    def _two_covers(self, columns: Sequence[str]) -> bool:
        """Whether two disjoint runs of ``columns`` each leave every record below k."""
        found = 0
        ids, size = np.zeros(self.n, dtype=np.int64), 1
        for column in columns:
            ids, size = self._join(ids, size, column)
            if self._all_below(ids):
                found += 1
                if found == 2:
                    return True
                ids, size = np.zeros(self.n, dtype=np.int64), 1
        return False

    def worst(self, quasi: Sequence[str], candidates: Sequence[str]) -> str:
        """The candidate whose absence leaves the fewest records below k (the draft's rule).

        Ties go to the one with the most distinct values, then to the first.
        """
        if self.n and self._two_covers(quasi):
            return min(candidates, key=lambda q: -self.distinct[q])
        share = self._without_each(quasi)
        return min(candidates, key=lambda q: (share[q], -self.distinct[q]))

    def _without_each(self, quasi: Sequence[str]) -> dict[str, float]:
        """Records below k without each quasi-identifier, from prefix and suffix keys."""
        if self.n == 0:
            return dict.fromkeys(quasi, 0.0)
        prefix = [(np.zeros(self.n, dtype=np.int64), 1)]
        for column in quasi[:-1]:
            prefix.append(self._join(*prefix[-1], column))
        suffix = [(np.zeros(self.n, dtype=np.int64), 1)]
        for column in reversed(quasi[1:]):
            suffix.append(self._join(*suffix[-1], column))
        suffix.reverse()  # suffix[i]: the key of the columns after quasi[i]
        share = {}
        for i, column in enumerate(quasi):
            if len(quasi) == 1:
                share[column] = 0.0
                continue
            (before, _), (after, size) = prefix[i], suffix[i]
            ids, _ = pd.factorize(before * size + after)
            share[column] = self._share(np.asarray(ids, dtype=np.int64))
        return share
