"""Local suppression to k-anonymity under the wildcard rule.

Goal (DESIGN.md): suppress (set to missing) the fewest quasi-identifier values, least
important variables first, so that every record's key count ``f_k`` reaches ``k`` when a
missing value matches every value of its variable (sdcMicro's rule).

Importance follows sdcMicro's ``localSuppression``: a *lower* number is *more* important and
is suppressed *last*. Variables without an importance are suppressed before those with one;
among equals, the variable with more categories goes first (sdcMicro's default importance),
then the later column.

The algorithm is a vectorised greedy over *distinct* rows (identical records are treated
together; they share their risk). Each round:

1. Count every distinct row's ``f_k`` under the wildcard rule.
2. For every violating row (``f_k < k``), count what its key would match with one
   quasi-identifier suppressed, for each variable at once (one batched count). The least
   important variable that reaches ``k`` wins. Rows that no single suppression fixes try
   every pair of variables (preferring pairs whose most important member is least
   important); rows that no pair fixes get the single suppression that raises ``f_k`` most
   and come back next round.
3. Rows that would become the same key by the same suppression form a cluster. Suppressing
   one member already raises the count of the others (their suppressed neighbour now
   matches them), so within a cluster members are suppressed in order of increasing
   ``f_k`` only until the rest are safe. This is where it beats a one-suppression-per-
   violating-record pass (sdcMicro suppresses every violating record of a pass, even when an
   earlier suppression in the same pass already fixed it).

Suppression never lowers anyone's ``f_k`` (a wildcard only adds matches), the counts used to
stop inside a cluster are lower bounds, and a row whose every quasi-identifier is missing
matches the whole sample (or stratum), so the loop ends with every record at ``k`` or above
whenever the sample (every stratum) holds at least ``k`` records. Each round costs a few
batched group-bys over the distinct rows; there is no Python loop over records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import SuppressionRecord
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.risk.frequencies import MissingRule, combine_codes, encode_keys

__all__ = ["local_suppression", "set_missing", "suppression_order"]

_RADIX_LIMIT = 2**62
_HASH_FROM = 20_000  # group sizes from which a hash join beats sorting


def local_suppression(
    df: pd.DataFrame,
    quasi: Sequence[str],
    k: int,
    *,
    importance: Mapping[str, int] | None = None,
    strata: Sequence[str] = (),
    missing: MissingRule = "wildcard",
) -> tuple[pd.DataFrame, SuppressionRecord]:
    """Suppress the fewest quasi-identifier values so that every record has ``f_k >= k``.

    Counts are sample counts (``f_k``), as in sdcMicro's ``localSuppression``; values that
    are already missing count as wildcards and are not counted as suppressions.

    Args:
        df: the microdata; not modified.
        quasi: the quasi-identifier columns (the key).
        k: the k of k-anonymity (>= 1).
        importance: per quasi-identifier, 1 = most important (suppressed last); larger
            numbers are suppressed first; columns left out are suppressed before all
            others. ``None`` uses sdcMicro's default (more categories = less important).
        strata: columns within whose groups k-anonymity must hold (never suppressed; a
            missing stratum value is a group of its own).
        missing: must be ``"wildcard"``: only then does a suppressed value lower risk.

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
    _validate(df, quasi, k, importance, strata, missing)
    n, m = len(df), len(quasi)
    codes = encode_keys(df, quasi, "wildcard")
    order = suppression_order(df, quasi, importance)
    pos = np.empty(m, dtype=np.int64)
    pos[[quasi.index(c) for c in order]] = np.arange(m)

    if strata:
        strata_codes = encode_keys(df, strata, "category")
        stratum = combine_codes(strata_codes)
        sizes = np.bincount(stratum)
        if n and sizes.min() < k:
            small = int((sizes < k).sum())
            raise PolicyNotMet(
                f"{small} stratum/strata of {', '.join(strata)} hold fewer than k={k} records "
                f"(the smallest has {int(sizes.min())}); k-anonymity within strata cannot be "
                "reached by suppression: merge small strata or lower k"
            )
        full = np.column_stack([codes, stratum])
    else:
        if 0 < n < k:
            raise PolicyNotMet(
                f"k={k} needs at least {k} records but the data has {n}; lower k or "
                "release more records"
            )
        full = codes

    if n == 0 or m == 0:
        new = np.zeros((n, m), dtype=bool)
        violating, iterations = 0, 0
    else:
        row_id, rows0, counts = _collapse(full)
        fk0 = _match_counts(rows0, counts, rows0, _cards(rows0))
        violating = int(counts[fk0 < k].sum())
        cur, iterations = _greedy(rows0, counts, k, m, pos)
        new_rows = (cur[:, :m] < 0) & (rows0[:, :m] >= 0)
        new = new_rows[row_id]

    out = df.copy()
    per_var: dict[str, int] = {}
    for j, col in enumerate(quasi):
        mask = new[:, j]
        per_var[col] = int(mask.sum())
        if per_var[col]:
            out[col] = set_missing(out[col], mask)
    total = sum(per_var.values())
    cells = n * m
    record = SuppressionRecord(
        name="local_suppression",
        columns=tuple(quasi),
        parameters={
            "k": k,
            "missing": missing,
            "importance": {c: int(imp[c]) for c in quasi if c in imp},
            "strata": strata,
        },
        changed=per_var,
        details={
            "total": total,
            "cells": cells,
            "share": total / cells if cells else 0.0,
            "violating_before": violating,
            "iterations": iterations,
            "order": order,
        },
    )
    return out, record


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
    if missing != "wildcard":
        raise PolicyError(
            f"local suppression needs missing: wildcard (got {missing!r}): only when a "
            "missing value matches every value does suppressing it lower the risk; set "
            "missing: wildcard in the policy or use another treatment"
        )
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


def _cards(rows: np.ndarray) -> np.ndarray:
    return np.maximum(rows.max(axis=0, initial=-1) + 1, 1).astype(np.int64)


def _project(
    data: np.ndarray, queries: np.ndarray, cards: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of two code matrices (all observed) over the same columns."""
    if math.prod(cards.tolist()) < _RADIX_LIMIT:
        radix = np.ones(len(cards), dtype=np.int64)
        if len(cards) > 1:
            radix[:-1] = np.cumprod(cards[:0:-1])[::-1]
        return data @ radix, queries @ radix
    both = combine_codes(np.vstack([data, queries]))
    return both[: len(data)], both[len(data) :]


def _key_sums(dkey: np.ndarray, weight: np.ndarray, qkey: np.ndarray) -> np.ndarray:
    """For each query key, the summed weight of the data rows with the same key.

    The smaller side is sorted and the larger side looked up in it (a hash join for large
    groups on both sides), so few queries against many rows cost one pass over the rows.
    """
    if len(qkey) < len(dkey) and len(qkey) <= _HASH_FROM:
        ukeys, qinv = np.unique(qkey, return_inverse=True)
        pos = np.minimum(np.searchsorted(ukeys, dkey), len(ukeys) - 1)
        hit = ukeys[pos] == dkey
        sums = np.bincount(pos[hit], weights=weight[hit], minlength=len(ukeys))
        return sums[qinv]
    if len(dkey) > _HASH_FROM:
        inverse, uniq = pd.factorize(dkey)
        sums = np.bincount(inverse, weights=weight, minlength=len(uniq))
        pos = pd.Index(uniq).get_indexer(pd.Index(qkey))
    else:
        uniq, inverse = np.unique(dkey, return_inverse=True)
        sums = np.bincount(inverse, weights=weight, minlength=len(uniq))
        pos = np.minimum(np.searchsorted(uniq, qkey), len(uniq) - 1)
        pos = np.where(uniq[pos] == qkey, pos, -1)
    return np.where(pos >= 0, sums[np.maximum(pos, 0)], 0.0)


def _match_counts(
    data: np.ndarray, weight: np.ndarray, queries: np.ndarray, cards: np.ndarray
) -> np.ndarray:
    """For each query row, the total weight of data rows that match it (wildcard rule).

    A data row matches a query when they agree on every variable observed in both. Queries
    are grouped by their missing pattern P and data rows by ``observed(data) & P``: each
    group pair is one hash join on the shared columns.

    As sdcMicro's ``freqCalc`` (and :func:`sdc.risk.frequencies.key_frequencies`), a query
    without any missing value does not count data rows that are missing entirely, unless
    there is a single variable.
    """
    m = data.shape[1]
    bits = np.int64(1) << np.arange(m, dtype=np.int64)
    dmask = (data >= 0).astype(np.int64) @ bits
    qmask = (queries >= 0).astype(np.int64) @ bits
    full = (1 << m) - 1
    # data rows grouped once by their pattern of observed variables
    dpatterns, dgroup = np.unique(dmask, return_inverse=True)
    order = np.argsort(dgroup, kind="stable")
    bounds = np.searchsorted(dgroup[order], np.arange(len(dpatterns) + 1))
    members = [order[bounds[i] : bounds[i + 1]] for i in range(len(dpatterns))]
    out = np.zeros(len(queries), dtype=np.int64)
    for pattern in np.unique(qmask).tolist():
        qi = np.flatnonzero(qmask == pattern)
        qrows = queries[qi]
        shared = dpatterns & pattern
        for common in np.unique(shared).tolist():
            if common == 0 and pattern == full and m > 1:
                continue  # freqCalc's rule: see the docstring
            groups = np.flatnonzero(shared == common)
            whole = len(groups) == len(dpatterns)
            di = None if whole else np.concatenate([members[i] for i in groups])
            w = weight if di is None else weight[di]
            if common == 0:
                out[qi] += int(w.sum())
                continue
            cols = np.flatnonzero((common >> np.arange(m)) & 1)
            sub = data[:, cols] if di is None else data[di][:, cols]
            dkey, qkey = _project(sub, qrows[:, cols], cards[cols])
            out[qi] += np.rint(_key_sums(dkey, w, qkey)).astype(np.int64)
    return out


def _towards_nearest(
    rows: np.ndarray, data: np.ndarray, m: int, pos: np.ndarray, budget: int = 20_000_000
) -> np.ndarray:
    """For each row, the variable to suppress to move it towards its nearest data rows.

    Distance = number of suppressible variables observed in both and different; rows that
    already match (distance 0) or lie in another stratum are not neighbours. The chosen
    variable is the least important one (lowest ``pos``) in which the row differs from one
    of its nearest rows, or the least important observed one when no row is near.
    """
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


def _defer_helped(
    V: np.ndarray,
    S: np.ndarray,
    fV: np.ndarray,
    cV: np.ndarray,
    suppress: np.ndarray,
    k: int,
    cards: np.ndarray,
) -> None:
    """Hold back suppressions that other suppressions of the round make unnecessary.

    Applying row A's suppressions raises row B's count by c_A when A's new key matches B and
    its old key did not. Rows that the other chosen suppressions could lift to k are "maybe
    helped"; the others are applied for sure. A maybe-helped row is deferred (its
    ``suppress`` flag cleared, in place) when the sure rows alone lift it to k: an exact
    lower bound, so it is safe next round without a suppression of its own.
    """
    applied = np.flatnonzero(suppress)
    if applied.size < 2:
        return
    old = V[applied]
    new = np.where(S[applied], -1, old)
    weight = cV[applied]

    def gain(src: np.ndarray) -> np.ndarray:
        return _match_counts(new[src], weight[src], old, cards) - _match_counts(
            old[src], weight[src], old, cards
        )

    f = fV[applied]
    maybe = f + gain(np.ones(len(applied), dtype=bool)) >= k
    if maybe.all() or not maybe.any():
        return
    defer = maybe & (f + gain(~maybe) >= k)
    suppress[applied[defer]] = False


def _greedy(
    rows0: np.ndarray, counts: np.ndarray, k: int, m: int, pos: np.ndarray
) -> tuple[np.ndarray, int]:
    """Suppress values of the distinct rows ``rows0`` until every row has f_k >= k.

    Args:
        rows0: (R, m + s) codes of the distinct rows; the first m columns may be
            suppressed, the rest (strata) never.
        counts: multiplicity of each distinct row.
        k: target count.
        m: number of suppressible columns.
        pos: suppression rank of each suppressible column (0 = suppressed first).

    Returns:
        The suppressed rows and the number of rounds run.
    """
    cur = rows0.copy()
    cards = _cards(rows0)
    width = rows0.shape[1]
    by_rank = np.argsort(pos)
    # Pairs ordered by preference: the most important member as unimportant as possible.
    pairs = sorted(
        combinations(range(m), 2),
        key=lambda p: (max(pos[p[0]], pos[p[1]]), min(pos[p[0]], pos[p[1]])),
    )
    max_rounds = 2 * m + 5
    for rounds in range(max_rounds):
        uid, urows, ucnt = _collapse(cur, counts)
        fk = _match_counts(urows, ucnt, urows, cards)
        viol = np.flatnonzero(fk < k)
        if viol.size == 0:
            return cur, rounds
        V, fV, cV = urows[viol], fk[viol], ucnt[viol]
        nv = len(viol)
        obs = V[:, :m] >= 0
        if not obs.any(axis=1).all():  # pragma: no cover - excluded by the size checks
            raise RuntimeError("a fully suppressed row is below k; this is a bug in sdc")

        # Single suppressions, all variables in one batched count.
        T1 = np.full((nv, m), -1, dtype=np.int64)
        ri, vj = np.nonzero(obs)
        q = V[ri].copy()
        q[np.arange(len(ri)), vj] = -1
        T1[ri, vj] = _match_counts(urows, ucnt, q, cards)

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
                q = V[need[ri2]].copy()
                q[np.arange(len(ri2)), a[pj]] = -1
                q[np.arange(len(ri2)), b[pj]] = -1
                T2[ri2, pj] = _match_counts(urows, ucnt, q, cards)
            ok2 = T2 >= k
            has2 = ok2.any(axis=1)
            p2 = ok2.argmax(axis=1)
            sel = need[has2]
            S[sel, a[p2[has2]]] = True
            S[sel, b[p2[has2]]] = True
            T[sel] = T2[has2, p2[has2]]
            need = need[~has2]

        if need.size:
            # No fix within two suppressions against the current data: such rows are far
            # from everyone and must meet other rows halfway. Move each towards its nearest
            # rows (sdcMicro's rule): suppress the least important variable in which it
            # differs from one of them, and come back next round.
            jf = _towards_nearest(V[need], urows, m, pos)
            S[need, jf] = True
            T[need] = T1[need, jf]

        suppress = np.ones(nv, dtype=bool)
        # A complete record does not count neighbours whose key is missing entirely
        # (freqCalc's rule): complete rows whose target is empty get no cluster discount.
        empty_target = ~(obs & ~S[:, :m]).any(axis=1) & obs.all(axis=1) & (width == m > 1)
        feasible = np.flatnonzero((T >= k) & ~empty_target)
        if feasible.size:
            target = np.where(S[feasible], -1, V[feasible])
            cluster = combine_codes(np.column_stack([target + 1, S[feasible].astype(np.int64)]))
            order = np.lexsort((fV[feasible], cluster))
            cl, f_sorted, c_sorted = cluster[order], fV[feasible][order], cV[feasible][order]
            start = np.r_[True, cl[1:] != cl[:-1]]
            group_start = np.maximum.accumulate(np.where(start, np.arange(len(cl)), 0))
            csum = np.cumsum(c_sorted)
            before = csum - c_sorted - (csum - c_sorted)[group_start]
            safe = (before >= k - f_sorted).astype(np.int64)
            safe_sum = np.cumsum(safe)
            safe_so_far = safe_sum - (safe_sum - safe)[group_start]
            suppress[feasible[order]] = safe_so_far == 0

        _defer_helped(V, S, fV, cV, suppress, k, cards)
        S_unique = np.zeros((len(urows), width), dtype=bool)
        S_unique[viol[suppress]] = S[suppress]
        cur[S_unique[uid]] = -1
    raise RuntimeError(  # pragma: no cover - the loop provably ends within m rounds
        f"local suppression did not converge in {max_rounds} rounds; this is a bug in sdc"
    )
