"""Local suppression to k-anonymity (and l-diversity) under the policy's missing-value rule.

Goal (DESIGN.md): suppress (set to missing) the fewest quasi-identifier values, least
important variables first, so that every record that reveals a key reaches ``k`` (and ``l``
and the group-share limit, where set) under the policy's rule:

* ``missing="category"`` (the default): a blank is one more value, so a record is protected
  when at least k - 1 other records have exactly its key, blanks included. A record whose
  quasi-identifiers are all blank reveals no key: it counts as suppressed and is nobody's
  neighbour.
* ``missing="wildcard"`` (sdcMicro's convention): a record's own blank matches every
  value, but no record reaches k through other records' blanks: a record is protected by
  the records that show every value it shows. So every record that is below k when
  suppression starts loses at least one of its own values (as sdcMicro's
  ``localSuppression`` does), and the CA record "protected" by two Alaska records whose
  state was blanked is suppressed too.

Importance follows sdcMicro's ``localSuppression``: a *lower* number is *more* important and
is suppressed *last*. Variables without an importance are suppressed before those with one;
among equals, the variable with more categories goes first (sdcMicro's default importance),
then the later column.

The algorithm is a vectorised greedy over *distinct* rows (identical records are treated
together; they share their risk). Each round:

1. Count every distinct row's protection count
   (:func:`sdc.risk.frequencies.protection_counts`' rule).
2. For every violating row, count what its key would reach with one quasi-identifier
   suppressed, for each variable at once (one batched count). Under the category rule the
   count of the new key includes the other violating rows that the same suppression sends
   there. The least important variable that reaches ``k`` wins. Rows that no single
   suppression fixes try every pair of variables; rows that no pair fixes get one
   suppression towards their nearest rows and come back next round.
3. Under the category rule, a violating row that enough others move to stays where it is.
   Under the wildcard rule nobody else's suppression can help a row (another record's
   blank matches nothing), so every violating row takes its own.

Every violating row gets at least one new blank per round (or is held back because others
move to its key), and a row that is all blank is done, so the loop ends.
Then, with ``l`` or a group-share limit, key groups that fail them are merged with
neighbouring groups by suppressing one more variable (the least important whose merged
group meets every limit), and k is re-established; this repeats until every group holds.
Each round costs a few batched group-bys over the distinct rows; there is no Python loop
over records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import SuppressionRecord
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.risk.diversity import group_counts, l_diversity, top_share
from sdc.risk.frequencies import (
    MissingRule,
    combine_codes,
    cover_counts,
    encode_keys,
    protection_counts,
)

__all__ = [
    "DiversityLimits",
    "local_suppression",
    "must_lose_a_value",
    "set_missing",
    "suppression_order",
]

_EXEMPT = np.iinfo(np.int64).max // 4  # the count of a row that reveals no key

#: Told ``(done, total)`` as work advances: records below k lifted so far, of those at start.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DiversityLimits:
    """Attribute-disclosure limits local suppression must meet besides k.

    Attributes:
        sensitive: the sensitive columns judged.
        l: minimum l of every key group (None: not checked).
        kind: ``"distinct"``, ``"entropy"`` or ``"recursive"`` l-diversity (as
            :func:`sdc.risk.diversity.l_diversity` defines them).
        recursive_c: the c of recursive (c, l)-diversity.
        group_share: a key group of 2 or more records where one sensitive value covers this
            share or more fails (None: not checked).
    """

    sensitive: tuple[str, ...]
    l: int | None = None  # noqa: E741 - the measure is called l
    kind: Literal["distinct", "entropy", "recursive"] = "distinct"
    recursive_c: float = 2.0
    group_share: float | None = None

    @property
    def active(self) -> bool:
        """Whether any limit is set on any sensitive column."""
        return bool(self.sensitive) and (self.l is not None or self.group_share is not None)


def must_lose_a_value(
    df: pd.DataFrame, quasi: Sequence[str], k: int, missing: MissingRule
) -> np.ndarray:
    """Records that local suppression to ``k`` must give a blank of their own, whatever it does.

    A cheap lower bound on the records suppressed (one count of the keys), used to refuse
    before the search a release that cannot meet ``max_suppression``:

    * ``"wildcard"``: a record is protected only by records showing every value it shows;
      suppressing others' values never adds one, so a record below k must lose a value.
    * ``"category"``: a blank is a value; a record without a blank keeps its key unless it
      loses a value, and a record that lost one has a blank, so nobody joins it: below k,
      it must lose a value. (A record with a blank may be joined by others; not counted.)

    Records whose quasi-identifiers are all blank reveal no key and are not counted (they
    count as suppressed anyway). l-diversity and group-share limits only add suppressions.

    Returns:
        A boolean mask over the records.
    """
    codes = encode_keys(df, list(quasi), "wildcard")
    below = protection_counts(codes, missing) < k
    if missing == "category":
        below &= (codes >= 0).all(axis=1)
    return np.asarray(below)


def local_suppression(
    df: pd.DataFrame,
    quasi: Sequence[str],
    k: int,
    *,
    importance: Mapping[str, int] | None = None,
    strata: Sequence[str] = (),
    missing: MissingRule = "category",
    diversity: DiversityLimits | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, SuppressionRecord]:
    """Suppress the fewest quasi-identifier values so that every record is protected.

    Counts are sample counts (``f_k``), as in sdcMicro's ``localSuppression``; values that
    are already missing are blanks of the rule and are not counted as suppressions.

    Args:
        df: the microdata; not modified.
        quasi: the quasi-identifier columns (the key).
        k: the k of k-anonymity (>= 1).
        importance: per quasi-identifier, 1 = most important (suppressed last); larger
            numbers are suppressed first; columns left out are suppressed before all
            others. ``None`` uses sdcMicro's default (more categories = less important).
        strata: columns within whose groups k-anonymity must hold (never suppressed; a
            missing stratum value is a group of its own).
        missing: the policy's rule, ``"category"`` or ``"wildcard"`` (see the module doc).
        diversity: l-diversity and group-share limits to meet as well.
        progress: told ``(records lifted to k, records below k at the start)`` after each
            round of the greedy (for a progress bar).

    Returns:
        The treated copy of ``df`` (suppressed values are missing; integer columns become
        nullable ``Int64``, booleans ``boolean``) and a :class:`SuppressionRecord` with the
        suppressions per variable.

    Raises:
        PolicyError: bad ``k``, unknown columns, bad importance or ``missing``.
        PolicyNotMet: the sample (or a stratum) has fewer than ``k`` records.
    """
    quasi = list(quasi)
    strata = list(strata)
    imp = dict(importance or {})
    limits = diversity if diversity is not None and diversity.active else None
    _validate(df, quasi, k, importance, strata, missing)
    n, m = len(df), len(quasi)
    codes = encode_keys(df, quasi, "wildcard")
    order = suppression_order(df, quasi, importance)
    pos = np.empty(m, dtype=np.int64)
    pos[[quasi.index(c) for c in order]] = np.arange(m)
    full = _with_strata(df, codes, strata, k)

    new, figures = _suppress(full, k, m, pos, missing, df, limits, progress)
    out = df.copy()
    per_var: dict[str, int] = {}
    for j, col in enumerate(quasi):
        per_var[col] = int(new[:, j].sum())
        if per_var[col]:
            out[col] = set_missing(out[col], new[:, j])
    total, cells = sum(per_var.values()), n * m
    parameters: dict[str, object] = {
        "k": k,
        "missing": missing,
        "importance": {c: int(imp[c]) for c in quasi if c in imp},
        "strata": strata,
    }
    if limits is not None:
        parameters["diversity"] = {
            "sensitive": list(limits.sensitive),
            "l": limits.l,
            "l_diversity": limits.kind,
            "recursive_c": limits.recursive_c,
            "group_share": limits.group_share,
        }
    details = {"total": total, "cells": cells, "share": total / cells if cells else 0.0}
    record = SuppressionRecord(
        name="local_suppression",
        columns=tuple(quasi),
        parameters=parameters,
        changed=per_var,
        details={**details, **figures, "order": order},
    )
    return out, record


def _suppress(
    full: np.ndarray,
    k: int,
    m: int,
    pos: np.ndarray,
    missing: MissingRule,
    df: pd.DataFrame,
    limits: DiversityLimits | None,
    progress: Progress | None = None,
) -> tuple[np.ndarray, dict[str, int]]:
    """The (n, m) mask of values to blank: k by the greedy, then l and group share.

    Returns:
        The mask and the figures of the run: records below k at the start, greedy rounds,
        diversity repairs.
    """
    n = full.shape[0]
    figures = {"violating_before": 0, "iterations": 0, "diversity_repairs": 0}
    if not (n and m):
        return np.zeros((n, m), dtype=bool), figures
    _, rows0, counts = _collapse(full)
    fk0 = _protection(rows0, counts, m, missing)
    figures["violating_before"] = int(counts[fk0 < k].sum())
    current = full
    sensitive = [df[c] for c in limits.sensitive] if limits else []
    for _ in range(m + 2):
        row_id, rows, counts = _collapse(current)
        done, used = _greedy(rows, counts, k, m, pos, missing, progress)
        current = done[row_id]
        figures["iterations"] += used
        if limits is None or not _repair_diversity(current, m, pos, sensitive, limits, k):
            break
        figures["diversity_repairs"] += 1
    return (current[:, :m] < 0) & (full[:, :m] >= 0), figures


def _with_strata(df: pd.DataFrame, codes: np.ndarray, strata: list[str], k: int) -> np.ndarray:
    """The codes with the stratum id as a last, never suppressed column (checked >= k)."""
    n = len(df)
    if not strata:
        if 0 < n < k:
            raise PolicyNotMet(
                f"k={k} needs at least {k} records but the data has {n}; lower k or "
                "release more records"
            )
        return codes
    stratum = combine_codes(encode_keys(df, strata, "category"))
    sizes = np.bincount(stratum)
    if n and sizes.min() < k:
        small = int((sizes < k).sum())
        raise PolicyNotMet(
            f"{small} stratum/strata of {', '.join(strata)} hold fewer than k={k} records "
            f"(the smallest has {int(sizes.min())}); k-anonymity within strata cannot be "
            "reached by suppression: merge small strata or lower k"
        )
    return np.column_stack([codes, stratum])


def suppression_order(
    df: pd.DataFrame, quasi: Sequence[str], importance: Mapping[str, int] | None = None
) -> list[str]:
    """Quasi-identifiers in the order they are suppressed (first = least important).

    Columns without an importance come first; then larger importance numbers; ties are
    broken by more distinct values first, then by the later column (sdcMicro's default).

    Args:
        df: the microdata (for the number of categories).
        quasi: the quasi-identifier columns.
        importance: optional importance per column (1 = most important).
    """
    importance = importance or {}

    def key(j: int) -> tuple[int, int, int, int]:
        col = quasi[j]
        given = col in importance
        return (
            int(given),
            -int(importance[col]) if given else 0,
            -int(df[col].nunique(dropna=True)),
            -j,
        )

    return [quasi[j] for j in sorted(range(len(quasi)), key=key)]


def set_missing(series: pd.Series, mask: np.ndarray) -> pd.Series:
    """Return ``series`` with the values where ``mask`` is true set to missing.

    Integer columns become nullable ``Int64`` and booleans ``boolean`` so that the other
    values keep their type (no ``1.0`` in a released integer column).

    Args:
        series: a column.
        mask: boolean array of the column's length.
    """
    if pd.api.types.is_bool_dtype(series.dtype):
        series = series.astype("boolean")
    elif pd.api.types.is_integer_dtype(series.dtype):
        series = series.astype("Int64")
    return series.mask(np.asarray(mask, dtype=bool))


# --------------------------------------------------------------------------- internals


def _validate(
    df: pd.DataFrame,
    quasi: list[str],
    k: int,
    importance: Mapping[str, int] | None,
    strata: list[str],
    missing: str,
) -> None:
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise PolicyError(f"k must be a whole number >= 1, got {k!r}")
    if missing not in ("wildcard", "category"):
        raise PolicyError(f"missing must be 'category' or 'wildcard', got {missing!r}")
    if len(set(quasi)) != len(quasi):
        raise PolicyError(f"quasi-identifiers are listed twice: {quasi}")
    absent = [c for c in [*quasi, *strata] if c not in df.columns]
    if absent:
        raise DataError(
            f"column(s) {', '.join(map(repr, absent))} are not in the data; "
            f"it has {', '.join(map(str, df.columns))}"
        )
    overlap = sorted(set(quasi) & set(strata))
    if overlap:
        raise PolicyError(f"column(s) {overlap} cannot be both quasi-identifier and stratum")
    for col, value in (importance or {}).items():
        if col not in quasi:
            raise PolicyError(
                f"importance is given for {col!r}, which is not a quasi-identifier; "
                f"the quasi-identifiers are {', '.join(quasi)}"
            )
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise PolicyError(
                f"importance of {col!r} must be a whole number >= 1 (1 = most important), "
                f"got {value!r}"
            )


def _collapse(
    codes: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows: (row id per input row, distinct rows, summed weight (default 1 each))."""
    row_id = combine_codes(codes + 1)
    n_rows = int(row_id.max()) + 1
    first = np.full(n_rows, len(codes), dtype=np.int64)
    np.minimum.at(first, row_id, np.arange(len(codes), dtype=np.int64))
    counts = np.bincount(row_id, weights=weight, minlength=n_rows).astype(np.int64)
    return row_id, codes[first], counts


#: Above this many (row, data row) comparisons, nearest rows are found by distance levels.
_PAIRWISE_LIMIT = 50_000_000


def _towards_nearest(
    rows: np.ndarray, data: np.ndarray, m: int, pos: np.ndarray, budget: int = 20_000_000
) -> np.ndarray:
    """For each row, the variable to suppress to move it towards its nearest data rows.

    Distance = number of suppressible variables observed in both and different; rows that
    already match (distance 0) or lie in another stratum are not neighbours. The chosen
    variable is the least important one (lowest ``pos``) in which the row differs from one
    of its nearest rows, or the least important observed one when no row is near.

    Few rows against few data rows are compared pairwise; otherwise
    :func:`_nearest_by_levels` finds the same variables without the rows x data product.
    """
    if len(rows) * len(data) > _PAIRWISE_LIMIT:
        return _nearest_by_levels(rows, data, m, pos)
    return _nearest_pairwise(rows, data, m, pos, budget)


def _nearest_pairwise(
    rows: np.ndarray, data: np.ndarray, m: int, pos: np.ndarray, budget: int
) -> np.ndarray:
    """:func:`_towards_nearest` by comparing every row with every data row, in blocks."""
    out = np.empty(len(rows), dtype=np.int64)
    d_obs = data[:, :m] >= 0
    chunk = max(1, budget // max(1, data.shape[0] * m))
    for start in range(0, len(rows), chunk):
        block = rows[start : start + chunk]
        diff = (
            d_obs[None, :, :]
            & (block[:, None, :m] >= 0)
            & (data[None, :, :m] != block[:, None, :m])
        )
        dist = diff.sum(axis=2)
        far = dist == 0
        if data.shape[1] > m:
            far |= (data[None, :, m:] != block[:, None, m:]).any(axis=2)
        dist = np.where(far, m + 1, dist)
        nearest = (dist == dist.min(axis=1, keepdims=True)) & ~far
        differs = (diff & nearest[:, :, None]).any(axis=1) & (block[:, :m] >= 0)
        fallback = block[:, :m] >= 0
        choice = np.where(differs.any(axis=1, keepdims=True), differs, fallback)
        score = np.where(choice, pos[None, :], m + 1)
        out[start : start + len(block)] = score.argmin(axis=1)
    return out


def _nearest_by_levels(rows: np.ndarray, data: np.ndarray, m: int, pos: np.ndarray) -> np.ndarray:
    """:func:`_towards_nearest` by distance levels, for many rows against many data rows.

    Let ``N(D)`` count the data rows (of the row's stratum) whose differences from the row
    all lie in the variable set ``D``: the rows that match it once ``D`` is blanked in it
    (a blank matches every value). By inclusion-exclusion the data rows that differ in
    exactly ``D`` number ``sum over E in D of (-1)^(|D|-|E|) N(E)``. Levels d = 1, 2, ...
    are visited in turn; a row is settled at the first level where some set of d of its
    observed variables has such data rows (its nearest rows are at distance d), and the
    union of those sets is the set :func:`_nearest_pairwise` finds. Each ``N(D)`` is one
    hash join per missing-value pattern, so the cost grows with rows + data rows times the
    number of sets visited (37 for 8 variables when every row has a neighbour within 2).
    """
    nq = len(rows)
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    qmask = (rows[:, :m] >= 0).astype(np.int64) @ bits
    union = np.zeros(nq, dtype=np.int64)
    active = np.arange(nq)
    matcher = _Matcher(data, m)
    counts: dict[int, np.ndarray] = {0: matcher.counts(rows)}
    for d in range(1, m + 1):
        if active.size == 0:
            break
        found = np.zeros(active.size, dtype=bool)
        for members in combinations(range(m), d):
            dset = int(sum(1 << j for j in members))
            applies = (qmask[active] & dset) == dset
            counts[dset] = np.zeros(active.size, dtype=np.int64)
            if not applies.any():
                continue
            idx = np.flatnonzero(applies)
            query = rows[active[idx]]  # a new array (fancy indexing copies)
            query[:, list(members)] = -1
            counts[dset][idx] = matcher.counts(query)
            exact = np.zeros(active.size, dtype=np.int64)
            for size in range(d + 1):
                for sub in combinations(members, size):
                    sign = -1 if (d - size) % 2 else 1
                    exact += sign * counts[int(sum(1 << j for j in sub))]
            hit = applies & (exact > 0)
            union[active[hit]] |= dset
            found |= hit
        keep = ~found
        active = active[keep]
        counts = {key: value[keep] for key, value in counts.items()}
    differs = (union[:, None] >> np.arange(m)) & 1 == 1
    fallback = rows[:, :m] >= 0
    choice = np.where(differs.any(axis=1, keepdims=True), differs, fallback)
    score = np.where(choice, pos[None, :], m + 1)
    return score.argmin(axis=1)


class _Matcher:
    """:func:`_match_counts` against fixed data rows, with the data side computed once.

    Codes are packed in mixed radix (a blank is digit 0), so a data row's key over the
    query pattern's variables encodes both which of them it shows and their values: a
    query matches the data rows whose key equals its own key over the variables they
    show. One sorted key table per query pattern is kept; when the radix product does not
    fit in int64, :func:`_match_counts` is used instead.
    """

    def __init__(self, data: np.ndarray, m: int) -> None:
        self.data, self.m = data, m
        radix = (data.max(axis=0) + 2).astype(np.float64) if len(data) else np.ones(1)
        self.mult: np.ndarray | None = None
        if len(data) and float(np.prod(radix)) < 2.0**62:
            self.mult = np.r_[1, np.cumprod(radix[:-1])].astype(np.int64)
            # One contiguous column of digits per variable: keys are sums of columns.
            self.digits = np.asfortranarray((data + 1) * self.mult)
            self.strata = self.digits[:, m:].sum(axis=1)
            bits = np.int64(1) << np.arange(m, dtype=np.int64)
            self.dmask = (data[:, :m] >= 0).astype(np.int64) @ bits
        self.tables: dict[int, tuple[np.ndarray, np.ndarray, list[int]]] = {}

    def _table(self, qpat: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
        if qpat not in self.tables:
            assert self.mult is not None
            key = self.strata.copy()
            for j in range(self.m):
                if (qpat >> j) & 1:
                    key += self.digits[:, j]
            uniq, cnt = np.unique(key, return_counts=True)
            self.tables[qpat] = (uniq, cnt, np.unique(self.dmask & qpat).tolist())
        return self.tables[qpat]

    def counts(self, queries: np.ndarray) -> np.ndarray:
        """For each query, the data rows that match it (see :func:`_match_counts`)."""
        m, mult = self.m, self.mult
        if mult is None:
            return _match_counts(self.data, queries, m)
        out = np.zeros(len(queries), dtype=np.int64)
        bits = np.int64(1) << np.arange(m, dtype=np.int64)
        qmask = (queries[:, :m] >= 0).astype(np.int64) @ bits
        for qpat in np.unique(qmask).tolist():
            qi = np.flatnonzero(qmask == qpat)
            uniq, cnt, commons = self._table(qpat)
            digits = (queries[qi] + 1) * mult
            base = digits[:, m:].sum(axis=1)
            for common in commons:
                cols = [j for j in range(m) if (common >> j) & 1]
                key = base + digits[:, cols].sum(axis=1)
                at = np.minimum(np.searchsorted(uniq, key), len(uniq) - 1)
                hit = uniq[at] == key
                out[qi[hit]] += cnt[at[hit]]
        return out


def _match_counts(data: np.ndarray, queries: np.ndarray, m: int) -> np.ndarray:
    """For each query, the number of data rows that match it.

    A data row matches when it is equal on every suppressible variable observed in both (a
    blank on either side matches) and on every stratum column.
    Queries are grouped by pattern of observed variables and data rows by the variables
    they share with that pattern; each group pair is one hash join.
    """
    out = np.zeros(len(queries), dtype=np.int64)
    if not len(queries) or not len(data):
        return out
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    dmask = (data[:, :m] >= 0).astype(np.int64) @ bits
    qmask = (queries[:, :m] >= 0).astype(np.int64) @ bits
    strata = list(range(m, data.shape[1]))
    for qpat in np.unique(qmask).tolist():
        qi = np.flatnonzero(qmask == qpat)
        shared = dmask & qpat
        for common in np.unique(shared).tolist():
            di = np.flatnonzero(shared == common)
            cols = [j for j in range(m) if (common >> j) & 1] + strata
            if not cols:
                out[qi] += len(di)
                continue
            keys = combine_codes(np.vstack([data[di][:, cols], queries[qi][:, cols]]) + 1)
            have = np.bincount(keys[: len(di)], minlength=int(keys.max()) + 1)
            out[qi] += have[keys[len(di) :]]
    return out


def _protection(rows: np.ndarray, counts: np.ndarray, m: int, missing: MissingRule) -> np.ndarray:
    """Protection count of each distinct row (``_EXEMPT`` for rows that reveal no key).

    Distinct rows are distinct keys (with the stratum), so a row's exact count is its
    multiplicity. Under the wildcard rule a row counts the rows that show every value it
    shows (:func:`sdc.risk.frequencies.protection_counts`).
    """
    blank = (rows[:, :m] < 0).all(axis=1)
    out = counts.astype(np.int64, copy=True)
    partial = (rows[:, :m] < 0).any(axis=1) & ~blank
    if missing == "wildcard" and partial.any():
        out[partial] = np.rint(cover_counts(rows, counts, rows[partial])).astype(np.int64)
    out[blank] = _EXEMPT
    return out


def _target_counts(
    rows: np.ndarray,
    counts: np.ndarray,
    queries: np.ndarray,
    mover: np.ndarray,
    m: int,
    missing: MissingRule,
) -> np.ndarray:
    """The count each query key (a violating row with some values suppressed) would reach.

    Under the category rule: the rows that already have exactly that key plus every
    violating row (weight ``mover``) that the same batch of suppressions sends there. Under
    the wildcard rule: the rows that show every value the query shows (the query's own row
    among them; other rows' suppressions can only lower it). A query that is all blank
    reveals no key and is always safe.
    """
    blank = (queries[:, :m] < 0).all(axis=1)
    if missing == "category":
        keys = combine_codes(np.vstack([rows, queries]) + 1)
        size = int(keys.max()) + 1
        have, want = keys[: len(rows)], keys[len(rows) :]
        total = np.bincount(have, weights=counts, minlength=size)
        total += np.bincount(want, weights=mover, minlength=size)
        out = np.rint(total[want]).astype(np.int64)
    else:
        out = np.rint(cover_counts(rows, counts, queries)).astype(np.int64)
    out[blank] = _EXEMPT
    return out


def _greedy(
    rows0: np.ndarray,
    counts: np.ndarray,
    k: int,
    m: int,
    pos: np.ndarray,
    missing: MissingRule = "category",
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """Suppress values of the distinct rows ``rows0`` until every row is protected.

    Args:
        rows0: (R, m + s) codes of the distinct rows; the first m columns may be
            suppressed, the rest (strata) never.
        counts: multiplicity of each distinct row.
        k: target count.
        m: number of suppressible columns.
        pos: suppression rank of each suppressible column (0 = suppressed first).
        missing: the rule the protection counts follow.
        progress: told ``(lifted, below k at the start)`` each round, in records.

    Returns:
        The suppressed rows and the number of rounds run.
    """
    cur = rows0.copy()
    width = rows0.shape[1]
    by_rank = np.argsort(pos)
    # Pairs ordered by preference: the most important member as unimportant as possible.
    pairs = sorted(
        combinations(range(m), 2),
        key=lambda p: (max(pos[p[0]], pos[p[1]]), min(pos[p[0]], pos[p[1]])),
    )
    # Every round gives each violating row a new blank (or a cluster-mate lifts it), and a
    # row that is all blank is done: the loop ends within (rows x m) rounds, in practice m.
    start = 0  # records below k at the first round (for progress)
    for rounds in range(len(rows0) * m + 2):
        uid, urows, ucnt = _collapse(cur, counts)
        fk = _protection(urows, ucnt, m, missing)
        viol = np.flatnonzero(fk < k)
        if progress is not None:
            below = int(ucnt[viol].sum())
            start = below if rounds == 0 else start
            progress(max(start - below, 0), start)
        if viol.size == 0:
            return cur, rounds
        V, fV, cV = urows[viol], fk[viol], ucnt[viol]
        nv = len(viol)
        obs = V[:, :m] >= 0

        # Single suppressions, all variables in one batched count.
        T1 = np.full((nv, m), -1, dtype=np.int64)
        ri, vj = np.nonzero(obs)
        q = V[ri]  # a new array (fancy indexing copies)
        q[np.arange(len(ri)), vj] = -1
        T1[ri, vj] = _target_counts(urows, ucnt, q, cV[ri], m, missing)

        S = np.zeros((nv, width), dtype=bool)
        T = np.full(nv, -1, dtype=np.int64)
        ok1 = T1[:, by_rank] >= k
        has1 = ok1.any(axis=1)
        j1 = by_rank[ok1.argmax(axis=1)]
        idx1 = np.flatnonzero(has1)
        S[idx1, j1[idx1]] = True
        T[idx1] = T1[idx1, j1[idx1]]

        need = np.flatnonzero(~has1)
        if need.size and m >= 2:
            a = np.array([p[0] for p in pairs])
            b = np.array([p[1] for p in pairs])
            valid = obs[need][:, a] & obs[need][:, b]
            ri2, pj = np.nonzero(valid)
            T2 = np.full((len(need), len(pairs)), -1, dtype=np.int64)
            if ri2.size:
                q = V[need[ri2]]
                q[np.arange(len(ri2)), a[pj]] = -1
                q[np.arange(len(ri2)), b[pj]] = -1
                T2[ri2, pj] = _target_counts(urows, ucnt, q, cV[need[ri2]], m, missing)
            ok2 = T2 >= k
            has2 = ok2.any(axis=1)
            p2 = ok2.argmax(axis=1)
            sel = need[has2]
            S[sel, a[p2[has2]]] = True
            S[sel, b[p2[has2]]] = True
            T[sel] = T2[has2, p2[has2]]
            need = need[~has2]

        if need.size:
            # No fix within two suppressions: such rows are far from everyone and must meet
            # other rows halfway. Move each towards its nearest rows (sdcMicro's rule):
            # suppress the least important variable in which it differs from one of them,
            # and come back next round.
            jf = _towards_nearest(V[need], urows, m, pos)
            S[need, jf] = True
            T[need] = T1[need, jf]

        suppress = np.ones(nv, dtype=bool)
        if missing == "category":
            _wait_for_arrivals(V, S, fV, cV, suppress, k)
        S_unique = np.zeros((len(urows), width), dtype=bool)
        S_unique[viol[suppress]] = S[suppress]
        cur[S_unique[uid]] = -1
    raise RuntimeError(  # pragma: no cover - the loop provably ends (see above)
        "local suppression did not converge; this is a bug in sdc"
    )


def _wait_for_arrivals(
    V: np.ndarray, S: np.ndarray, fV: np.ndarray, cV: np.ndarray, suppress: np.ndarray, k: int
) -> None:
    """Under the category rule, keep a violating row whose key other rows move to.

    When the suppressions chosen this round send enough violating rows to a row's own key
    to lift it to k, the row stays where it is (its own suppression would only cost a value
    and empty the key the others counted on). Clears ``suppress`` in place.
    """
    target = np.where(S, -1, V)
    keys = combine_codes(np.vstack([V, target]) + 1)
    own, sent = keys[: len(V)], keys[len(V) :]
    moving = np.flatnonzero((sent != own) & suppress)
    incoming = np.bincount(sent[moving], weights=cV[moving], minlength=int(keys.max()) + 1)
    stay = fV + np.rint(incoming[own]).astype(np.int64) >= k
    # A row that others move to cannot itself be one of the movers they counted on.
    suppress[stay] = False


def _repair_diversity(
    current: np.ndarray,
    m: int,
    pos: np.ndarray,
    sensitive: list[pd.Series],
    limits: DiversityLimits,
    k: int,
) -> bool:
    """Merge key groups that fail l or the group-share limit with neighbouring groups.

    A failing group suppresses one more variable: the least important one whose merged
    group (the rows already holding the new key plus every failing group sent there) has at
    least k records and meets every limit; failing that, its least important observed
    variable (it moves towards all blank, which reveals no key). Changes ``current`` (the
    record-level codes) in place.

    Returns:
        Whether any value was suppressed (False: every group already holds).
    """
    key = current[:, :m]
    failing = _failing_records(combine_codes(key + 1), key, m, sensitive, limits)
    if not failing.any():
        return False
    idx = np.flatnonzero(failing)
    fkey = key[idx]
    choice = np.full(len(idx), -1, dtype=np.int64)
    for j in np.argsort(pos).tolist():
        open_ = (choice < 0) & (fkey[:, j] >= 0)
        if not open_.any():
            continue
        target = fkey.copy()
        target[:, j] = -1
        # Records in the merged groups: those already holding a target key, unless they are
        # failing themselves (they move too), plus the failing records sent there.
        both = combine_codes(np.vstack([key, target]) + 1)
        have, want = both[: len(key)], both[len(key) :]
        stay = ~failing & np.isin(have, want)
        members = np.r_[np.flatnonzero(stay), idx]
        groups = np.r_[have[stay], want]
        dense, uniq = pd.factorize(groups)
        ok = np.bincount(dense, minlength=len(uniq)) >= k
        for values in sensitive:
            ok &= _groups_meet(dense, values.iloc[members].reset_index(drop=True), limits)
        good = open_ & ok[dense[int(stay.sum()) :]]
        choice[good] = j
    fallback = np.flatnonzero(choice < 0)
    if fallback.size:
        score = np.where(fkey[fallback] >= 0, pos[None, :], m + 1)
        choice[fallback] = score.argmin(axis=1)
    current[idx, choice] = -1
    return True


def _failing_records(
    groups: np.ndarray,
    key: np.ndarray,
    m: int,
    sensitive: list[pd.Series],
    limits: DiversityLimits,
) -> np.ndarray:
    """Records in key groups (that reveal a key) failing l or the group-share limit."""
    blank = (key < 0).all(axis=1)
    fails = np.zeros(len(groups), dtype=bool)
    for values in sensitive:
        ok = _groups_meet(groups, values.reset_index(drop=True), limits)
        fails |= ~ok[groups]
    return fails & ~blank


def _groups_meet(groups: np.ndarray, values: pd.Series, limits: DiversityLimits) -> np.ndarray:
    """Per group id: whether it meets l and the group-share limit for one sensitive column.

    Judged as the risk report judges them: a group whose sensitive values are all missing
    discloses nothing, and the group share applies to groups with 2 or more observed values.
    """
    gc = group_counts(groups, values)
    ok = np.ones(gc.n_groups, dtype=bool)
    if limits.l is not None:
        distinct, entropy, recursive = l_diversity(gc, limits.recursive_c)
        measure = {"entropy": entropy, "recursive": recursive}.get(limits.kind, distinct)
        ok &= (measure >= limits.l) | (gc.observed == 0)
    if limits.group_share is not None:
        share = np.nan_to_num(top_share(gc), nan=0.0)
        ok &= ~((gc.observed >= 2) & (share >= limits.group_share))
    return ok
