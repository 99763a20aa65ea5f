"""Key frequencies: the hot path of every risk measure.

A *key* is the combination of a record's quasi-identifier values. ``f_k`` is the number
of sample records that share the record's key and ``F_k`` the sum of their sampling
weights (the estimated population count).

Each quasi-identifier is encoded once to integer codes (``-1`` marks a missing value);
everything after that is numpy on integer arrays, never Python loops over rows.

Missing values follow sdcMicro's ``freqCalc``: with ``missing="wildcard"`` a missing value
matches every value of its variable, so record *i* and record *j* share a key when, for
every variable, their values are equal or either one is missing. One quirk of ``freqCalc`` is
kept so that the figures agree with sdcMicro: with two or more key variables, a record whose
key is missing *entirely* counts every record (``f_k = n``), but records without any missing
value do not count it (records with some missing values do). With a single key variable
complete records count it too.

Comparing all pairs would be quadratic. Instead records are collapsed to distinct rows,
grouped by their *pattern* (the set of observed variables) and keyed by one mixed-radix
int64 over their observed codes, so that a projection onto fewer variables is a
subtraction. Rows of patterns P and S match on exactly the variables observed in both,
``P & S``. Complete rows are counted among themselves once, joined with each partial pattern
once (one hash lookup serves both directions), and each partial pattern P looks up the
other partial rows grouped by ``P & S``, the smaller side hashed. The work is about
(number of patterns) x (distinct rows), all of it in numpy and pandas' hash tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

MissingRule = Literal["wildcard", "category"]

_INT64_LIMIT = 2**62
_SMALL = 20_000  # below this many keys, sorting beats hashing
_FILTER_RATIO = 16  # a pattern with 16x fewer keys than complete rows filters them first


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


def blank_keys_match_all(
    fk: np.ndarray, Fk: np.ndarray, blank: np.ndarray, weights: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Under the category rule, a record blank in every key variable reveals no key.

    It matches every record: ``f_k = n`` and ``F_k`` = the weight total, rather than
    being a key of its own (every engine and the in-memory report count it so).

    Args:
        fk: the record counts under the category rule.
        Fk: the weighted counts under the category rule.
        blank: :func:`all_blank` of the wildcard-encoded keys.
        weights: sampling weights, or None.
    """
    if not blank.any():
        return fk, Fk
    n = len(fk)
    total = float(n) if weights is None else float(np.sum(weights))
    return np.where(blank, n, fk).astype(np.int64), np.where(blank, total, Fk)


def all_blank(codes: np.ndarray) -> np.ndarray:
    """Records whose quasi-identifiers are all missing: they reveal no key (suppressed).

    With no quasi-identifier at all nothing is blank.
    """
    if codes.shape[1] == 0:
        return np.zeros(codes.shape[0], dtype=bool)
    return np.asarray((codes < 0).all(axis=1))


def exact_counts(codes: np.ndarray) -> np.ndarray:
    """How many records share each record's key exactly, a blank being one more value."""
    if codes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    key = combine_codes(codes + 1)
    return np.bincount(key)[key].astype(np.int64)


def cover_counts(data: np.ndarray, weight: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """For each query row, the total weight of the data rows that show every value it shows.

    A data row covers a query when, on every variable the query shows (code >= 0), it shows
    the same value. The query's own blanks match every value; a data row's blank matches
    nothing. Queries are grouped by their pattern of shown variables: each pattern is one
    hash join with the data rows that show all of its variables.

    Args:
        data: (R, m) codes, ``-1`` for a blank.
        weight: weight (count) of each data row.
        queries: (Q, m) codes, ``-1`` for a blank.
    """
    m = data.shape[1]
    out = np.zeros(len(queries), dtype=np.float64)
    if not len(queries):
        return out
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    dmask = (data >= 0).astype(np.int64) @ bits
    qmask = (queries >= 0).astype(np.int64) @ bits
    w = np.asarray(weight, dtype=np.float64)
    for pattern in np.unique(qmask).tolist():
        qi = np.flatnonzero(qmask == pattern)
        cols = np.flatnonzero((pattern >> np.arange(m)) & 1)
        if cols.size == 0:
            out[qi] = w.sum()
            continue
        di = np.flatnonzero((dmask & pattern) == pattern)
        if di.size == 0:
            continue
        src, tgt = _joint_keys(data[di][:, cols], queries[qi][:, cols])
        out[qi], _ = _match_sums(src, tgt, w[di], w[di])
    return out


def protection_counts(codes: np.ndarray, missing: MissingRule) -> np.ndarray:
    """The count each record must bring to k for a release to be accepted.

    This is the guarantee ``release`` and ``check`` enforce, stricter than sdcMicro's
    ``freqCalc`` (which :func:`key_frequencies` reproduces for the risk figures):

    * A record whose quasi-identifiers are all blank reveals no key: it counts as
      suppressed and is nobody's neighbour. Its own count is ``n`` (it matches everyone),
      so it never fails k.
    * ``"category"``: a blank is one more value; the count is the number of records with
      exactly the same key.
    * ``"wildcard"``: a record's own blank matches every value, but another record's blank
      matches nothing: the count is the number of records that show every value the record
      shows (:func:`cover_counts`). So no record reaches k through other records' blanks:
      an attacker who knows the target lives in CA and finds one record that says CA has
      found the target, whatever the records with a blank state hold.

    Args:
        codes: (n, m) code matrix from :func:`encode_keys` with ``missing="wildcard"``
            (``-1`` marks a blank).
        missing: the policy's rule.
    """
    n = codes.shape[0]
    blank = all_blank(codes)
    if missing == "wildcard" and (codes < 0).any():
        # Counted on the distinct keys (each weighted by its records), then given back to
        # the records: the same counts, with work that grows with the distinct keys.
        row_id = combine_codes(codes + 1)
        _, first = np.unique(row_id, return_index=True)
        count = np.bincount(row_id, minlength=len(first)).astype(np.float64)
        distinct = codes[first]
        out = np.rint(cover_counts(distinct, count, distinct)).astype(np.int64)[row_id]
    else:
        out = exact_counts(codes)
    return np.where(blank, n, out).astype(np.int64)


def _wildcard_frequencies(codes: np.ndarray, w: np.ndarray) -> KeyFrequencies:
    """Frequencies under the wildcard rule, by missing-value pattern (see module doc)."""
    # Collapse to distinct rows; code+1 so that missing (-1) becomes 0 and stays distinct.
    row_id = combine_codes(codes + 1)
    n_rows = int(row_id.max()) + 1
    _, first = np.unique(row_id, return_index=True)
    count = np.bincount(row_id, minlength=n_rows).astype(np.float64)
    weight = np.bincount(row_id, weights=w, minlength=n_rows)
    f, F = wildcard_key_frequencies(codes[first], count, weight)
    return KeyFrequencies(fk=np.rint(f[row_id]).astype(np.int64), Fk=F[row_id])


def wildcard_key_frequencies(
    rows: np.ndarray, count: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``f_k`` and ``F_k`` of distinct keys under the wildcard rule.

    The work grows with the number of distinct keys and of missing-value patterns, not
    with the number of records: the counting engines aggregate a file of any size to its
    distinct keys, then call this.

    Args:
        rows: (d, m) codes of d *distinct* keys, ``-1`` for a missing value.
        count: number of records with each key.
        weight: summed sampling weight of the records with each key.

    Returns:
        ``f_k`` (float, whole numbers) and ``F_k`` of each key, in the order of ``rows``.
    """
    if not len(rows):
        return np.zeros(0), np.zeros(0)
    if _mixed_radix(rows) is None:
        return _wildcard_generic(rows, count, weight)
    return _wildcard_radix(rows, count, weight)


def _wildcard_radix(
    rows: np.ndarray, count: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`wildcard_key_frequencies` with every key folded into one int64."""
    n_rows, m = rows.shape
    radix = _mixed_radix(rows)
    assert radix is not None
    # Sort the distinct rows by pattern so that each pattern is one contiguous slice.
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    obs_mask = ((rows >= 0) * bits).sum(axis=1)
    perm = np.argsort(obs_mask, kind="stable")
    rows, count, weight, obs_mask = rows[perm], count[perm], weight[perm], obs_mask[perm]
    patterns, starts = np.unique(obs_mask, return_index=True)
    ends = np.r_[starts[1:], n_rows]
    slices = {int(p): slice(int(s), int(e)) for p, s, e in zip(patterns, starts, ends, strict=True)}
    # Each variable's place value (0 where missing), and the mixed-radix key of each row
    # over its observed variables; a projection onto fewer variables either subtracts the
    # dropped ones or adds the kept ones, whichever touches fewer columns.
    placed = [np.where(rows[:, j] >= 0, rows[:, j] * radix[j], 0) for j in range(m)]
    key = np.zeros(n_rows, dtype=np.int64)
    for column in placed:
        key += column

    def project(pattern: int, onto: int) -> np.ndarray:
        sl = slices[pattern]
        drop = [j for j in range(m) if (pattern >> j) & 1 and not (onto >> j) & 1]
        keep = [j for j in range(m) if (onto >> j) & 1]
        if not drop:
            return key[sl]
        if len(drop) <= len(keep):
            out = key[sl] - placed[drop[0]][sl]
            for j in drop[1:]:
                out -= placed[j][sl]
            return out
        out = placed[keep[0]][sl].copy()
        for j in keep[1:]:
            out += placed[j][sl]
        return out

    full = (1 << m) - 1
    f = np.zeros(n_rows, dtype=np.float64)
    F = np.zeros(n_rows, dtype=np.float64)
    partial = [p for p in slices if p != full]
    if full in slices:
        # Distinct complete keys differ somewhere: each matches only itself among them.
        whole = slices[full]
        f[whole], F[whole] = count[whole], weight[whole]
    for pattern in partial:
        targets = slices[pattern]
        if pattern == 0:
            # A key missing entirely matches every record.
            f[targets] += count.sum()
            F[targets] += weight.sum()
            if m == 1 and full in slices:
                # sdcMicro counts it for complete keys only with a single key variable.
                f[slices[full]] += count[targets].sum()
                F[slices[full]] += weight[targets].sum()
            continue
        if full in slices:
            _symmetric_join(
                project(full, pattern), slices[full], key[targets], targets, count, weight, f, F
            )
        shared: dict[int, list[int]] = {}
        for source in partial:
            shared.setdefault(source & pattern, []).append(source)
        for common, sources in shared.items():
            if common == 0:
                for s in sources:
                    f[targets] += count[slices[s]].sum()
                    F[targets] += weight[slices[s]].sum()
                continue
            src_key = np.concatenate([project(s, common) for s in sources])
            src_count = np.concatenate([count[slices[s]] for s in sources])
            src_weight = np.concatenate([weight[slices[s]] for s in sources])
            tgt_key = project(pattern, common)
            _match_add(src_key, tgt_key, src_count, src_weight, f[targets], F[targets])
    back = np.empty(n_rows, dtype=np.int64)
    back[perm] = np.arange(n_rows, dtype=np.int64)
    return f[back], F[back]


def _symmetric_join(
    complete_key: np.ndarray,
    complete: slice,
    target_key: np.ndarray,
    targets: slice,
    count: np.ndarray,
    weight: np.ndarray,
    f: np.ndarray,
    F: np.ndarray,
) -> None:
    """Match complete rows with the rows of one partial pattern, adding counts both ways.

    ``complete_key`` is the complete rows' key projected onto the pattern's observed
    variables; one lookup of it in the (few) pattern keys serves both directions.
    """
    inverse, uniq = pd.factorize(target_key)
    found = _lookup(uniq, complete_key)
    hit = np.flatnonzero(found >= 0)
    pos = found[hit]
    if not len(hit):
        return
    rows = hit + complete.start
    n_u = len(uniq)
    f[targets] += np.bincount(pos, weights=count[rows], minlength=n_u)[inverse]
    F[targets] += np.bincount(pos, weights=weight[rows], minlength=n_u)[inverse]
    f[rows] += np.bincount(inverse, weights=count[targets], minlength=n_u)[pos]
    F[rows] += np.bincount(inverse, weights=weight[targets], minlength=n_u)[pos]


def _lookup(uniq: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each key in the distinct keys ``uniq``, or -1 when absent.

    With far fewer distinct keys than lookups, a bitmap of their hashes first keeps only
    the keys that may be present, so most lookups skip the (slower) hash table.
    """
    index = pd.Index(uniq)
    if len(uniq) * _FILTER_RATIO >= len(keys):
        return index.get_indexer(keys)
    bits = max(10, int(np.ceil(np.log2(max(len(uniq), 1) * 16))))
    marks = np.zeros(1 << bits, dtype=bool)
    marks[_hash_bits(np.asarray(uniq, dtype=np.int64), bits)] = True
    maybe = np.flatnonzero(marks[_hash_bits(keys, bits)])
    out = np.full(len(keys), -1, dtype=np.intp)
    out[maybe] = index.get_indexer(keys[maybe])
    return out


def _hash_bits(key: np.ndarray, bits: int) -> np.ndarray:
    """The top ``bits`` bits of a multiplicative hash of int64 keys (Fibonacci hashing)."""
    mixed = key.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    mixed >>= np.uint64(64 - bits)
    return mixed.view(np.int64)


def _wildcard_generic(
    rows: np.ndarray, row_count: np.ndarray, row_weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The wildcard rule for keys too wide for one int64: re-factorised keys per group-by."""
    n_rows, m = rows.shape
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    obs_mask = ((rows >= 0) * bits).sum(axis=1)
    full = (1 << m) - 1

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
            src_key, tgt_key = _joint_keys(rows[sources][:, cols], target_rows[:, cols])
            f_add, F_add = _match_sums(src_key, tgt_key, row_count[sources], row_weight[sources])
            f_row[targets] += f_add
            F_row[targets] += F_add
    return f_row, F_row


def _match_sums(
    src_key: np.ndarray, tgt_key: np.ndarray, count: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each target key, the summed count and weight of the sources with the same key."""
    f = np.zeros(len(tgt_key), dtype=np.float64)
    F = np.zeros(len(tgt_key), dtype=np.float64)
    _match_add(src_key, tgt_key, count, weight, f, F)
    return f, F


def _match_add(
    src_key: np.ndarray,
    tgt_key: np.ndarray,
    count: np.ndarray,
    weight: np.ndarray,
    f: np.ndarray,
    F: np.ndarray,
) -> None:
    """Add to ``f``/``F`` (one entry per target) the count and weight of matching sources.

    The smaller side is hashed and the larger side looked up in it, so a handful of targets
    against a million sources (or the reverse) costs one pass over the larger side, and
    only the targets that match are touched. Small inputs use sorting, which has less
    overhead than building a hash table.
    """
    if max(len(src_key), len(tgt_key)) < _SMALL:
        uniq, inverse = np.unique(src_key, return_inverse=True)
        cnt = np.bincount(inverse, weights=count, minlength=len(uniq))
        wsum = np.bincount(inverse, weights=weight, minlength=len(uniq))
        at = np.minimum(np.searchsorted(uniq, tgt_key), len(uniq) - 1)
        hit = np.flatnonzero(uniq[at] == tgt_key)
        f[hit] += cnt[at[hit]]
        F[hit] += wsum[at[hit]]
        return
    if len(src_key) <= len(tgt_key):
        inverse, uniq = pd.factorize(src_key)
        cnt = np.bincount(inverse, weights=count, minlength=len(uniq))
        wsum = np.bincount(inverse, weights=weight, minlength=len(uniq))
        pos = _lookup(uniq, tgt_key)
        hit = np.flatnonzero(pos >= 0)
        f[hit] += cnt[pos[hit]]
        F[hit] += wsum[pos[hit]]
        return
    inverse, uniq = pd.factorize(tgt_key)
    pos = _lookup(uniq, src_key)
    found = pos >= 0
    f += np.bincount(pos[found], weights=count[found], minlength=len(uniq))[inverse]
    F += np.bincount(pos[found], weights=weight[found], minlength=len(uniq))[inverse]


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


def _joint_keys(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys for two code matrices over the same columns, comparable across both."""
    both = combine_codes(np.vstack([source, target]))
    return both[: len(source)], both[len(source) :]
