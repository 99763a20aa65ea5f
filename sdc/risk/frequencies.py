"""Key frequencies: the hot path of every risk measure.

A *key* is the combination of a record's quasi-identifier values. ``f_k`` is the number
of sample records that share the record's key and ``F_k`` the sum of their sampling
weights (the estimated population count).

Each quasi-identifier is encoded once to integer codes (``-1`` marks a missing value);
everything after that is numpy on integer arrays, never Python loops over rows.

Missing values follow sdcMicro's ``freqCalc``: with ``missing="wildcard"`` a missing value
matches every value of its variable, so record *i* and record *j* share a key when, for
every variable, their values are equal or either one is missing. Comparing all pairs would
be quadratic; instead records are collapsed to distinct rows and grouped by their pattern
of missing variables. For a target pattern P, a source row j matches on exactly the
variables observed in both, ``obs(j) - P``, so one group-by per distinct ``obs(j) - P``
serves all targets of pattern P. The work is (number of patterns) x (distinct rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

MissingRule = Literal["wildcard", "category"]

_INT64_LIMIT = 2**62


@dataclass(frozen=True)
class KeyFrequencies:
    """Per-record key counts, in input order.

    Attributes:
        fk: sample frequency of each record's key (>= 1).
        Fk: sum of sampling weights over the records sharing the key (= fk unweighted).
    """

    fk: np.ndarray
    Fk: np.ndarray


def encode_keys(df: pd.DataFrame, columns: Sequence[str], missing: MissingRule) -> np.ndarray:
    """Encode quasi-identifiers to an (n, m) int64 matrix of codes.

    Codes are dense per column, starting at 0. With ``missing="wildcard"`` a missing value
    (NaN, None or an empty string) is ``-1``; with ``"category"`` it is one more code.
    """
    n = len(df)
    out = np.empty((n, len(columns)), dtype=np.int64)
    for j, col in enumerate(columns):
        values = df[col]
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            values = values.replace("", np.nan)
        codes, _ = pd.factorize(values, use_na_sentinel=(missing == "wildcard"))
        out[:, j] = codes
    return out


def combine_codes(codes: np.ndarray) -> np.ndarray:
    """Combine the columns of a code matrix into one dense int64 key per row.

    Columns are folded in mixed radix while the product fits in int64, then re-factorised,
    so any number of high-cardinality columns works without overflow. Codes must be >= 0.
    """
    n, m = codes.shape
    if m == 0:
        return np.zeros(n, dtype=np.int64)
    key = codes[:, 0].astype(np.int64, copy=True)
    span = int(key.max()) + 1 if n else 1
    for j in range(1, m):
        col = codes[:, j]
        card = int(col.max()) + 1 if n else 1
        if span * card >= _INT64_LIMIT:
            key, uniques = pd.factorize(key)
            span = max(len(uniques), 1)
        key = key * card + col
        span *= card
    dense, _ = pd.factorize(key)
    return dense.astype(np.int64, copy=False)


def key_frequencies(
    codes: np.ndarray,
    weights: np.ndarray | None = None,
    missing: MissingRule = "wildcard",
) -> KeyFrequencies:
    """Count each record's key: ``f_k`` and weighted ``F_k``.

    Args:
        codes: (n, m) matrix from :func:`encode_keys`; ``-1`` is a missing value.
        weights: sampling weights, or None for an unweighted sample (then F_k = f_k).
        missing: ``"wildcard"`` (missing matches everything, sdcMicro's default) or
            ``"category"`` (codes of -1 are treated as one more category).
    """
    n = codes.shape[0]
    w = np.ones(n, dtype=np.float64) if weights is None else np.asarray(weights, dtype=np.float64)
    if missing == "category":
        codes = np.where(codes < 0, codes.max(axis=0, initial=0) + 1, codes)
    if not (codes < 0).any():
        key = combine_codes(codes)
        counts = np.bincount(key)
        sums = np.bincount(key, weights=w)
        return KeyFrequencies(fk=counts[key].astype(np.int64), Fk=sums[key])
    return _wildcard_frequencies(codes, w)


def _wildcard_frequencies(codes: np.ndarray, w: np.ndarray) -> KeyFrequencies:
    """Frequencies under the wildcard rule, by missing-value pattern (see module doc)."""
    n, m = codes.shape
    # Collapse to distinct rows; code+1 so that missing (-1) becomes 0 and stays distinct.
    row_id = combine_codes(codes + 1)
    n_rows = int(row_id.max()) + 1
    _, first = np.unique(row_id, return_index=True)
    rows = codes[first]
    row_count = np.bincount(row_id, minlength=n_rows).astype(np.float64)
    row_weight = np.bincount(row_id, weights=w, minlength=n_rows)

    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    obs_mask = ((rows >= 0) * bits).sum(axis=1)
    full = (1 << m) - 1
    radix = _mixed_radix(rows)

    patterns, pattern_of_row = np.unique(obs_mask, return_inverse=True)
    order = np.argsort(pattern_of_row, kind="stable")
    bounds = np.searchsorted(pattern_of_row[order], np.arange(len(patterns) + 1))
    members = [order[bounds[i] : bounds[i + 1]] for i in range(len(patterns))]

    f_row = np.zeros(n_rows, dtype=np.float64)
    F_row = np.zeros(n_rows, dtype=np.float64)
    for p_idx, pattern in enumerate(patterns.tolist()):
        targets = members[p_idx]
        target_rows = np.asfortranarray(rows[targets])
        shared = patterns & pattern
        for common in np.unique(shared).tolist():
            if common == 0 and pattern == full and m > 1:
                # sdcMicro's freqCalc: records without any missing value do not count the
                # records whose key is missing entirely (they do with a single key variable).
                continue
            sources = np.concatenate([members[i] for i in np.flatnonzero(shared == common)])
            if common == 0:
                f_row[targets] += row_count[sources].sum()
                F_row[targets] += row_weight[sources].sum()
                continue
            cols = [j for j in range(m) if (common >> j) & 1]
            if radix is None:
                src_key, tgt_key = _joint_keys(rows[sources][:, cols], target_rows[:, cols])
            else:
                src_key = _project(rows[sources], cols, radix)
                tgt_key = _project(target_rows, cols, radix)
            f_add, F_add = _match_sums(src_key, tgt_key, row_count[sources], row_weight[sources])
            f_row[targets] += f_add
            F_row[targets] += F_add
    return KeyFrequencies(fk=np.rint(f_row[row_id]).astype(np.int64), Fk=F_row[row_id])


def _match_sums(
    src_key: np.ndarray, tgt_key: np.ndarray, count: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each target key, the summed count and weight of the sources with the same key.

    The smaller side is sorted and the larger side is looked up in it, so a handful of
    targets against a million sources (or the reverse) costs one pass over the larger side.
    """
    if len(src_key) <= len(tgt_key):
        uniq, inverse = np.unique(src_key, return_inverse=True)
        cnt = np.bincount(inverse, weights=count, minlength=len(uniq))
        wsum = np.bincount(inverse, weights=weight, minlength=len(uniq))
        pos = np.minimum(np.searchsorted(uniq, tgt_key), len(uniq) - 1)
        hit = uniq[pos] == tgt_key
        return np.where(hit, cnt[pos], 0.0), np.where(hit, wsum[pos], 0.0)
    uniq, inverse = np.unique(tgt_key, return_inverse=True)
    pos = np.minimum(np.searchsorted(uniq, src_key), len(uniq) - 1)
    hit = uniq[pos] == src_key
    cnt = np.bincount(pos[hit], weights=count[hit], minlength=len(uniq))
    wsum = np.bincount(pos[hit], weights=weight[hit], minlength=len(uniq))
    return cnt[inverse], wsum[inverse]


def _mixed_radix(rows: np.ndarray) -> np.ndarray | None:
    """Place values so that a column subset's codes fold into one int64, or None if too wide."""
    cards = rows.max(axis=0, initial=0).astype(np.int64) + 1
    radix = np.ones(len(cards), dtype=np.int64)
    span = 1
    for j, card in enumerate(cards.tolist()):
        radix[j] = span
        span *= card
        if span >= _INT64_LIMIT:
            return None
    return radix


def _project(rows: np.ndarray, cols: list[int], radix: np.ndarray) -> np.ndarray:
    """One int64 per row for the codes in ``cols`` (all observed), by mixed radix."""
    key = rows[:, cols[0]] * radix[cols[0]]
    for j in cols[1:]:
        key = key + rows[:, j] * radix[j]
    return key


def _joint_keys(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys for two code matrices over the same columns, comparable across both."""
    both = combine_codes(np.vstack([source, target]))
    return both[: len(source)], both[len(source) :]
