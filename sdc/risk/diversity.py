"""Attribute disclosure: l-diversity, t-closeness and group disclosure, per key group.

A *key group* is the set of records with exactly the same quasi-identifier values; a missing
quasi-identifier value is one more category here (as a suppressed value shown as ``*``), so
the groups partition the records. Everything is computed from per-(group, value) counts with
numpy, never by looping over groups in Python.

Definitions, as sdcMicro's ``ldiversity`` computes them for a group of size n:

- distinct l: the number of different sensitive values; a missing sensitive value counts as
  one more value, unless the group has no other value (then 0);
- entropy l: ``exp(-sum p log p)`` over the same values, with ``p = count / n``;
- recursive (c, l): with the value counts sorted ``r_1 >= r_2 >= ... >= r_m`` (missing values
  left out), the largest l with ``r_1 < c * (r_l + ... + r_m)``, and 1 when none holds.

t-closeness (Li, Li and Venkatasubramanian 2007) is the earth mover's distance between the
group's distribution of the sensitive variable and the whole file's: for numeric variables
with ordered distance ``(1/(m-1)) * sum_i |sum_{j<=i} (p_j - q_j)|`` over the m distinct values
in the file, for categorical ones with equal distance ``0.5 * sum_i |p_i - q_i|``. Missing
sensitive values are left out of t-closeness and of group disclosure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class GroupCounts:
    """Per-(group, value) counts of one sensitive variable.

    Attributes:
        n_groups: number of key groups.
        n_values: number of distinct non-missing sensitive values.
        group: group id of each (group, value) pair.
        value: value code of each pair (``-1`` for missing; ordered for numeric variables).
        count: number of records in each pair.
        size: records per group (missing values included).
        observed: records per group with a non-missing sensitive value.
        ordered: whether the value codes follow the numeric order of the values.
    """

    n_groups: int
    n_values: int
    group: np.ndarray
    value: np.ndarray
    count: np.ndarray
    size: np.ndarray
    observed: np.ndarray
    ordered: bool


def is_ordered(values: pd.Series) -> bool:
    """Whether a sensitive variable is numeric (ordered distance) rather than categorical."""
    return bool(
        pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values)
    )


def group_counts(groups: np.ndarray, values: pd.Series) -> GroupCounts:
    """Count each sensitive value within each key group.

    Args:
        groups: dense group id per record (0 .. n_groups-1).
        values: the sensitive variable, one value per record.
    """
    ordered = is_ordered(values)
    vals = values.replace("", np.nan) if pd.api.types.is_string_dtype(values.dtype) else values
    codes, uniques = pd.factorize(vals, sort=ordered, use_na_sentinel=True)
    n_values = len(uniques)
    n_groups = int(groups.max()) + 1 if len(groups) else 0
    pair = groups.astype(np.int64) * (n_values + 1) + (codes.astype(np.int64) + 1)
    uniq, count = np.unique(pair, return_counts=True)
    group = uniq // (n_values + 1)
    value = uniq % (n_values + 1) - 1
    size = np.bincount(groups, minlength=n_groups)
    seen = value >= 0
    observed = np.bincount(group[seen], weights=count[seen], minlength=n_groups).astype(np.int64)
    return GroupCounts(n_groups, n_values, group, value, count, size, observed, ordered)


def l_diversity(gc: GroupCounts, c: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct, entropy and recursive (c, l) diversity of every key group.

    Returns:
        Three arrays of length ``n_groups``: distinct l (int), entropy l (float) and
        recursive l (int; 0 for a group whose sensitive values are all missing).
    """
    seen = gc.value >= 0
    distinct = np.bincount(gc.group[seen], minlength=gc.n_groups)
    has_missing = np.bincount(gc.group[~seen], minlength=gc.n_groups) > 0
    counted = seen | (distinct[gc.group] > 0)
    distinct_l = distinct + (has_missing & (distinct > 0))

    p = gc.count / gc.size[gc.group]
    terms = np.where(counted, p * np.log(p), 0.0)
    entropy_l = np.exp(-np.bincount(gc.group, weights=terms, minlength=gc.n_groups))

    grp = gc.group[seen]
    cnt = gc.count[seen].astype(np.float64)
    order = np.lexsort((-cnt, grp))
    grp, cnt = grp[order], cnt[order]
    first = np.r_[True, grp[1:] != grp[:-1]] if len(grp) else np.zeros(0, dtype=bool)
    start_pos = np.flatnonzero(first)
    rank = np.arange(len(grp)) - np.repeat(start_pos, np.diff(np.r_[start_pos, len(grp)]))
    before = np.cumsum(cnt) - cnt
    offset = np.zeros(gc.n_groups)
    offset[grp[first]] = before[first]
    largest = np.zeros(gc.n_groups)
    largest[grp[first]] = cnt[first]
    tail = gc.observed[grp] - (before - offset[grp])
    holds = (rank >= 1) & (largest[grp] < c * tail)
    recursive_l = np.where(distinct > 0, 1 + np.bincount(grp[holds], minlength=gc.n_groups), 0)
    return distinct_l.astype(np.int64), entropy_l, recursive_l.astype(np.int64)


def t_closeness(gc: GroupCounts) -> np.ndarray:
    """Earth mover's distance of each group's distribution to the whole file's.

    Returns:
        An array of length ``n_groups``; NaN for groups without a non-missing value.
    """
    seen = gc.value >= 0
    grp, val, cnt = gc.group[seen], gc.value[seen], gc.count[seen].astype(np.float64)
    total = np.bincount(val, weights=cnt, minlength=gc.n_values)
    q = total / total.sum() if total.sum() > 0 else total
    out = np.full(gc.n_groups, np.nan)
    has = gc.observed > 0
    if not has.any():
        return out
    p = cnt / gc.observed[grp]
    if not gc.ordered:
        part = np.bincount(grp, weights=np.abs(p - q[val]) - q[val], minlength=gc.n_groups)
        out[has] = 0.5 * (part[has] + 1.0)
        return np.clip(out, 0.0, 1.0)
    m = gc.n_values
    if m <= 1:
        out[has] = 0.0
        return out
    # Pairs are sorted by (group, value) already (np.unique on group*(V+1)+value+1).
    cum_q = np.cumsum(q)[: m - 1]  # Q(i) for i = 0 .. m-2
    prefix = np.r_[0.0, np.cumsum(cum_q)]  # prefix[i] = sum_{j<i} Q(j)
    cum_p = np.cumsum(p)
    first = np.r_[True, grp[1:] != grp[:-1]]
    starts = np.flatnonzero(first)
    cum_p -= np.repeat(cum_p[starts] - p[starts], np.diff(np.r_[starts, len(p)]))
    last = np.r_[grp[1:] != grp[:-1], True]
    nxt = np.r_[val[1:], m - 1]
    nxt = np.where(last, m - 1, nxt)
    # Segments: [0, first value) with P = 0, then [value_r, next value) with P = cum_p_r.
    seg_a = np.r_[np.zeros(len(starts), dtype=np.int64), val]
    seg_b = np.r_[val[starts], nxt]
    seg_p = np.r_[np.zeros(len(starts)), cum_p]
    seg_g = np.r_[grp[starts], grp]
    seg_a = np.minimum(seg_a, m - 1)
    seg_b = np.clip(seg_b, seg_a, m - 1)
    k = np.clip(np.searchsorted(cum_q, seg_p, side="left"), seg_a, seg_b)
    below = seg_p * (k - seg_a) - (prefix[k] - prefix[seg_a])
    above = (prefix[seg_b] - prefix[k]) - seg_p * (seg_b - k)
    dist = np.bincount(seg_g, weights=below + above, minlength=gc.n_groups) / (m - 1)
    out[has] = dist[has]
    return np.clip(out, 0.0, 1.0)


def top_share(gc: GroupCounts) -> np.ndarray:
    """Share of the most frequent non-missing sensitive value in each group (NaN if none)."""
    seen = gc.value >= 0
    top = np.zeros(gc.n_groups)
    np.maximum.at(top, gc.group[seen], gc.count[seen].astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(gc.observed > 0, top / gc.observed, np.nan)
