"""The joined view: what an intruder sees by joining related records to their parent.

A survey with a repeat group (household members, incidents) is released as a main file and
related files linked by a pseudonymous key. Anyone can join them, so the unit an intruder
can single out is the parent record together with all its related records. Its **joined
key** is the parent's quasi-identifier values together with, for each related table, the
multiset of its related records' quasi-identifier tuples. A blank is one more value in the
joined key (under both missing-value rules: stricter than the wildcard rule), and the
number of related records is part of it (a household of 9 is rarer than one of 3).

- ``f`` of a parent is the number of parents with the same joined key; **k on the joined
  view** holds when every parent that is not suppressed has ``f >= k``.
- A parent is **suppressed** in the joined view when its own quasi-identifiers and those of
  every related record are blank: it reveals no key beyond its number of related records.
- **Household risk** follows sdcMicro's household risk (``1 - prod(1 - r_i)`` over the
  members, :func:`sdc.risk.individual.household_risk`): the members are the parent record
  and its related records, ``r_i`` the individual risk ``1/f`` of each record's own key in
  its own file (a record blank in every quasi-identifier has risk 0).

Since equal joined keys need equal multisets, k on the joined view implies that every
related record's non-blank tuple occurs in at least k parents' records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdc.risk.frequencies import all_blank, combine_codes, encode_keys
from sdc.risk.individual import household_risk


@dataclass(frozen=True)
class RelatedRecords:
    """One related table as the joined view reads it.

    Attributes:
        frame: its records.
        quasi: its quasi-identifiers.
        parent: for each record, the position (0-based row) of its parent in the main data.
    """

    frame: pd.DataFrame
    quasi: tuple[str, ...]
    parent: np.ndarray


@dataclass(frozen=True)
class JoinedView:
    """The joined keys of the parent records and their counts, in the parent's row order.

    Attributes:
        key: the joined key of each parent, as a dense integer code.
        counts: ``f`` of each parent's joined key (among every parent).
        suppressed: parents that reveal no key (every quasi-identifier blank, theirs and
            their related records').
        household_risk: sdcMicro's household risk of each parent and its related records.
    """

    key: np.ndarray
    counts: np.ndarray
    suppressed: np.ndarray
    household_risk: np.ndarray

    @property
    def households(self) -> int:
        """The number of parent records."""
        return len(self.key)

    @property
    def smallest_key(self) -> int | None:
        """The smallest ``f`` among parents not suppressed (None when all are)."""
        shown = self.counts[~self.suppressed]
        return int(shown.min()) if len(shown) else None

    def below(self, k: int) -> np.ndarray:
        """Parents not suppressed whose joined key is shared by fewer than ``k`` parents."""
        return np.asarray((self.counts < k) & ~self.suppressed)

    @property
    def max_household_risk(self) -> float:
        """The largest household risk (0 without households)."""
        return float(self.household_risk.max()) if len(self.household_risk) else 0.0

    @property
    def expected_reidentifications(self) -> float:
        """The sum of the household risks: households expected to be re-identified."""
        return float(self.household_risk.sum())


def parent_positions(parent_keys: pd.Series, links: pd.Series) -> np.ndarray:
    """The row of each link's parent in ``parent_keys``; -1 where no parent has the value.

    Values are compared as text, so ``3`` read as an integer and ``3.0`` read as a float
    (a column with blanks) are the same key.
    """
    index = pd.Index(_key_text(parent_keys))
    wanted = _key_text(links)
    found = index.get_indexer(wanted)
    return np.where(wanted.isna().to_numpy(), -1, found).astype(np.int64)


def _key_text(values: pd.Series) -> pd.Series:
    """Key values as text: whole floats without their ``.0``; blanks stay missing."""
    values = values.reset_index(drop=True)
    text = values.astype("string").str.strip()
    numeric = pd.to_numeric(values, errors="coerce").astype(float)
    whole = numeric.notna() & (numeric.abs() < 2.0**53) & (numeric == np.floor(numeric))
    text[whole] = numeric[whole].astype("int64").astype("string")
    return text.mask(text == "")


def joined_view(
    parent: pd.DataFrame, quasi: Sequence[str], related: Sequence[RelatedRecords]
) -> JoinedView:
    """Count the joined keys of ``parent``'s records and their household risk.

    Args:
        parent: the main records.
        quasi: the main records' quasi-identifiers.
        related: the related tables, each record with its parent's position.

    Raises:
        ValueError: a related record has no parent (position -1 or out of range).
    """
    n = len(parent)
    own = encode_keys(parent, list(quasi), "wildcard")
    parts = [combine_codes(own + 1)[:, None]]
    suppressed = all_blank(own)
    survive = 1.0 - _own_risk(own)
    for table in related:
        where = np.asarray(table.parent, dtype=np.int64)
        if len(where) and (where.min() < 0 or where.max() >= n):
            raise ValueError("every related record needs a parent record")
        codes = encode_keys(table.frame, list(table.quasi), "wildcard")
        # without quasi-identifiers a related record shows nothing but that it exists
        blank = all_blank(codes) if table.quasi else np.ones(len(where), dtype=bool)
        tuples = combine_codes(codes + 1)
        parts.append(_multiset_ids(where, tuples, n)[:, None])
        has_value = np.bincount(where, weights=(~blank).astype(float), minlength=n) > 0
        suppressed = suppressed & ~has_value
        # sdcMicro's household risk over the parent and its related records (product form).
        child_risk = _own_risk(codes)
        per_group = np.append(household_risk(child_risk, where), 0.0)
        survive = survive * (1.0 - per_group[_first_of(where, n)])
    key = combine_codes(np.hstack(parts)) if n else np.zeros(0, dtype=np.int64)
    counts = np.bincount(key)[key].astype(np.int64) if n else key
    return JoinedView(key, counts, np.asarray(suppressed), 1.0 - survive)


def _own_risk(codes: np.ndarray) -> np.ndarray:
    """``1/f`` of each record's own key (blank = one more value); 0 when all blank."""
    if codes.shape[0] == 0:
        return np.zeros(0)
    key = combine_codes(codes + 1)
    f = np.bincount(key)[key]
    return np.where(all_blank(codes), 0.0, 1.0 / f)


def _first_of(where: np.ndarray, n: int) -> np.ndarray:
    """For each parent, the row of one of its related records (a row of ones when none).

    Used to read a per-group value that :func:`household_risk` gives every member; a
    parent without related records reads the appended neutral row (risk 0).
    """
    first = np.full(n, len(where), dtype=np.int64)
    np.minimum.at(first, where, np.arange(len(where), dtype=np.int64))
    return first


def _multiset_ids(where: np.ndarray, tuples: np.ndarray, n: int) -> np.ndarray:
    """A dense id per parent, equal for parents whose related tuples are the same multiset.

    The related tuples of each parent are sorted into one row of a matrix padded with -1;
    equal rows are equal multisets (including the number of related records).
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((tuples, where))
    parents, values = where[order], tuples[order]
    sizes = np.bincount(parents, minlength=n)
    width = int(sizes.max()) if len(sizes) else 0
    start = np.cumsum(sizes) - sizes
    rank = np.arange(len(parents)) - start[parents]
    matrix = np.full((n, max(width, 1)), -1, dtype=np.int64)
    matrix[parents, rank] = values
    _, inverse = np.unique(matrix, axis=0, return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).reshape(n)
