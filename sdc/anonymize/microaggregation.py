"""Microaggregation of numeric columns with MDAV (maximum distance to average vector).

MDAV (Domingo-Ferrer and Mateo-Sanz 2002; Domingo-Ferrer and Torra 2005) partitions the
records into groups of ``k`` to ``2k - 1`` similar records and publishes each group's mean
instead of the individual values, so every published value vector is shared by at least
``k`` records. It is multivariate: distances are Euclidean on the standardised columns
(mean 0, standard deviation 1; a constant column is left unscaled), and all columns are
aggregated with the same groups. The algorithm, while at least ``3k`` records remain:

1. ``c`` = centroid of the remaining records; ``r`` = the record farthest from ``c``;
   ``s`` = the record farthest from ``r``.
2. Group ``r`` with its ``k - 1`` nearest remaining records, then ``s`` with its ``k - 1``
   nearest remaining records; remove both groups.

Then, with ``2k`` to ``3k - 1`` records left, one more group is formed around the record
farthest from the centroid and the rest is the last group; with fewer than ``2k`` left they
form one group. Group means are computed on the original scale, so column totals and means
are preserved exactly (up to floating point).

Records with a missing value in some of the columns are aggregated separately, per pattern
of missing columns, on their observed columns; a pattern with fewer than ``k`` records has
its values suppressed (set to missing) and counted in ``details["suppressed"]``.

Each step costs a few vectorised distance computations over the remaining records, so the
whole run is O(n^2 / k) arithmetic without Python loops over records.

``method="individual"`` is individual ranking (sdcMicro's ``onedims``): each column on its
own is sorted and cut into groups of ``k`` consecutive values (the last group takes the
remainder, so groups hold ``k`` to ``2k - 1`` values), each replaced by its group's mean. It
keeps each column's distribution closer than MDAV, but the groups differ from column to
column, so a record's combination of values is not shared by ``k`` records: weaker
protection, to be used where each number alone is what an intruder could know. A column
with fewer than ``k`` values has them suppressed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError, PolicyError
from sdc.io import first_non_number

__all__ = ["METHODS", "mdav_groups", "microaggregate", "pca_groups"]

#: The microaggregation methods (policy ``microaggregation.method``).
METHODS: tuple[str, ...] = ("mdav", "pca", "individual")


def mdav_groups(x: np.ndarray, k: int) -> np.ndarray:
    """MDAV partition of the rows of ``x`` (already scaled) into groups of k..2k-1.

    Args:
        x: (n, d) float array without missing values.
        k: minimum group size (>= 1).

    Returns:
        Group id (0..g-1) per row. With fewer than ``2k`` rows, all rows form one group.
    """
    n = x.shape[0]
    group = np.full(n, -1, dtype=np.int64)
    # Squared distances are |x|^2 - 2 x.y (+ a constant that changes no argmax or
    # argpartition). Removed records stay in the arrays, with |x|^2 = -inf for farthest
    # searches and +inf for nearest searches, until half are removed; then the arrays are
    # compacted. So a step costs three matrix-vector products and two partitions.
    pts = np.ascontiguousarray(x, dtype=np.float64)
    ids = np.arange(n)
    sq = np.einsum("ij,ij->i", pts, pts)
    sq_far, sq_near = sq.copy(), sq.copy()
    total = pts.sum(axis=0)
    alive = n
    gid = 0

    def close_to(point: np.ndarray, self_pos: int) -> tuple[np.ndarray, np.ndarray]:
        dot = 2.0 * (pts @ point)
        far, near = sq_far - dot, sq_near - dot
        far[self_pos] = -np.inf
        near[self_pos] = -np.inf  # a record is its own nearest, even among duplicates
        return far, near

    def remove(pos: np.ndarray) -> None:
        nonlocal total, alive
        total = total - pts[pos].sum(axis=0)
        sq_far[pos] = -np.inf
        sq_near[pos] = np.inf
        alive -= len(pos)

    while alive >= 3 * k:
        r = int((sq_far - 2.0 * (pts @ (total / alive))).argmax())
        far_r, near_r_d = close_to(pts[r], r)
        s = int(far_r.argmax())
        near_r = np.argpartition(near_r_d, k - 1)[:k]
        if (near_r == s).any():  # only with ties: take any other remaining record
            others = np.flatnonzero(np.isfinite(sq_near))
            s = int(np.setdiff1d(others, near_r)[0])
        remove(near_r)
        _, near_s_d = close_to(pts[s], s)
        near_s = np.argpartition(near_s_d, k - 1)[:k]
        remove(near_s)
        group[ids[near_r]] = gid
        group[ids[near_s]] = gid + 1
        gid += 2
        if alive < len(ids) // 2:
            keep = np.isfinite(sq_near)
            pts, ids, sq_far, sq_near = pts[keep], ids[keep], sq_far[keep], sq_near[keep]
    if alive >= 2 * k:
        r = int((sq_far - 2.0 * (pts @ (total / alive))).argmax())
        _, near_r_d = close_to(pts[r], r)
        near_r = np.argpartition(near_r_d, k - 1)[:k]
        remove(near_r)
        group[ids[near_r]] = gid
        gid += 1
    rest = ids[np.isfinite(sq_near)]
    if len(rest):
        group[rest] = gid
    return group


def pca_groups(x: np.ndarray, k: int) -> np.ndarray:
    """Groups of ``k`` consecutive records along the first principal component of ``x``.

    ``x`` is already standardised. The records are sorted by their score on the first
    principal component (the direction of largest variance, from the singular value
    decomposition of the centred data; its sign is fixed so that its largest loading is
    positive, so the result does not depend on the solver) and cut into groups of ``k``;
    the last group takes the remainder (``k`` to ``2k - 1`` records). Ties keep the input
    order. With fewer than ``2k`` rows, all rows form one group.
    """
    n = x.shape[0]
    centred = x - x.mean(axis=0)
    if n > 1 and np.any(centred):
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        axis = vt[0] * np.sign(vt[0][np.argmax(np.abs(vt[0]))])
        score = centred @ axis
    else:
        score = np.zeros(n)
    order = np.argsort(score, kind="stable")
    group = np.empty(n, dtype=np.int64)
    group[order] = np.minimum(np.arange(n) // k, max(n // k - 1, 0))
    return group


def microaggregate(
    df: pd.DataFrame,
    columns: Sequence[str],
    k: int,
    method: str = "mdav",
    *,
    strata: Sequence[str] = (),
    weights: str | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Replace numeric values by the means of groups of ``k`` to ``2k - 1`` records.

    Args:
        df: the microdata; not modified.
        columns: the numeric columns, aggregated jointly (one set of groups).
        k: minimum group size (>= 2; policy ``microaggregation.k``).
        method: ``mdav`` (joint groups), ``pca`` (joint groups along the first principal
            component) or ``individual`` (individual ranking, per column).
        strata: columns whose combinations of values (a blank is one more value) split the
            records: groups are formed, and the columns standardised, within each stratum
            (sdcMicro's ``strata_variables``); a stratum with fewer than ``k`` records with
            values has them suppressed.
        weights: a sampling-weight column: each group's value is the weighted mean of its
            records, so weighted totals are kept (sdcMicro's weighted aggregation measure);
            the groups themselves do not depend on the weights.

    Returns:
        The treated copy (the columns become float) and the record: ``changed`` values per
        column, ``details`` with the number of groups (and strata), the smallest and largest
        group and the values suppressed because their stratum or missing-value pattern had
        fewer than ``k`` records.

    Raises:
        PolicyError: bad ``k``, method or no columns.
        DataError: a column is missing or not numeric, a weight is missing or not positive,
            or the data has fewer than ``k`` records with values.
    """
    columns = _checked(df, columns, k, method, [*strata, *([weights] if weights else [])])
    values = df[columns].to_numpy(dtype=np.float64, na_value=np.nan)
    n_obs = int((~np.isnan(values)).any(axis=1).sum())
    if 0 < n_obs < k:
        raise DataError(
            f"microaggregation with k={k} needs at least {k} records with values; "
            f"the data has {n_obs}"
        )
    w = _weights(df, weights) if weights else None
    result = values.copy()
    sizes: list[int] = []
    suppressed = 0
    blocks = _strata_blocks(df, list(strata))
    for rows in blocks:
        block_w = w[rows] if w is not None else None
        res, block_sizes, block_suppressed = _aggregate(values[rows], k, method, block_w)
        result[rows] = res
        sizes += block_sizes
        suppressed += block_suppressed
    out = df.copy()
    changed: dict[str, int] = {}
    for j, col in enumerate(columns):
        before, after = values[:, j], result[:, j]
        same = (before == after) | (np.isnan(before) & np.isnan(after))
        changed[col] = int((~same).sum())
        out[col] = pd.Series(after, index=df.index)
    details: dict[str, object] = {
        "groups": len(sizes),
        "smallest_group": min(sizes) if sizes else 0,
        "largest_group": max(sizes) if sizes else 0,
        "suppressed": suppressed,
    }
    if strata:
        details["strata"] = len(blocks)
    record = Treatment(
        name="microaggregation",
        columns=tuple(columns),
        parameters={
            "k": int(k),
            "method": method,
            "standardised": method != "individual",
            "strata": list(strata),
            "weights": weights,
        },
        changed=changed,
        details=details,
    )
    return out, record


def _checked(
    df: pd.DataFrame, columns: Sequence[str], k: int, method: str, others: list[str]
) -> list[str]:
    """The columns, once the parameters and the columns' presence and types are checked."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
        raise PolicyError(f"microaggregation.k must be a whole number >= 2, got {k!r}")
    if method not in METHODS:
        raise PolicyError(
            f"microaggregation.method must be 'mdav', 'pca' or 'individual', got {method!r}"
        )
    columns = list(columns)
    if not columns:
        raise PolicyError("microaggregation needs at least one numeric column")
    absent = [c for c in [*columns, *others] if c not in df.columns]
    if absent:
        raise DataError(
            f"column(s) {', '.join(map(repr, absent))} are not in the data; "
            f"it has {', '.join(map(str, df.columns))}"
        )
    for col in columns:
        dtype = df[col].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise DataError(
                f"microaggregation needs numeric columns but {col!r} holds {dtype}"
                f"{first_non_number(df, col)}; "
                "use PRAM or recoding for categorical columns"
            )
    return columns


def _weights(df: pd.DataFrame, column: str) -> np.ndarray:
    w = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = int((~np.isfinite(w) | (w <= 0)).sum())
    if bad:
        raise DataError(
            f"microaggregation weights {column!r}: {bad} record(s) have a missing, non-numeric "
            "or non-positive weight; every weight must be a positive number"
        )
    return w


def _strata_blocks(df: pd.DataFrame, strata: list[str]) -> list[np.ndarray]:
    """The row positions of each stratum (one block of every row without strata)."""
    if not strata:
        return [np.arange(len(df))]
    codes = df.groupby(strata, dropna=False, sort=True).ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    return [block for block in np.split(order, cuts) if len(block)]


def _aggregate(
    values: np.ndarray, k: int, method: str, w: np.ndarray | None
) -> tuple[np.ndarray, list[int], int]:
    """One stratum (or the whole file): standardise, group and replace by group means."""
    if method == "individual":
        return _individual(values, k, w)
    observed = ~np.isnan(values)
    # a column with no value here is scaled by nothing (and never used)
    filled = np.where(observed.any(axis=0), values, 0.0)
    mean = np.nanmean(filled, axis=0) if len(values) else np.zeros(values.shape[1])
    sd = np.nanstd(filled, axis=0) if len(values) else np.ones(values.shape[1])
    sd = np.where((sd > 0) & np.isfinite(sd), sd, 1.0)
    scaled = (values - mean) / sd
    return _grouped(values, scaled, observed, k, method, w)


def _group_means(group: np.ndarray, x: np.ndarray, w: np.ndarray | None) -> np.ndarray:
    """Each record's group mean of ``x`` (weighted by ``w`` when given)."""
    if w is None:
        return (np.bincount(group, weights=x) / np.bincount(group))[group]
    return (np.bincount(group, weights=w * x) / np.bincount(group, weights=w))[group]


def _individual(
    values: np.ndarray, k: int, w: np.ndarray | None = None
) -> tuple[np.ndarray, list[int], int]:
    """Individual ranking: per column, groups of ``k`` consecutive sorted values."""
    result = values.copy()
    sizes: list[int] = []
    suppressed = 0
    for j in range(values.shape[1]):
        present = np.flatnonzero(~np.isnan(values[:, j]))
        n = len(present)
        if n < k:
            result[present, j] = np.nan
            suppressed += n
            continue
        order = present[np.argsort(values[present, j], kind="stable")]
        group = np.minimum(np.arange(n) // k, n // k - 1)
        result[order, j] = _group_means(group, values[order, j], None if w is None else w[order])
        sizes.extend(np.bincount(group).tolist())
    return result, sizes, suppressed


def _grouped(
    values: np.ndarray,
    scaled: np.ndarray,
    observed: np.ndarray,
    k: int,
    method: str,
    w: np.ndarray | None = None,
) -> tuple[np.ndarray, list[int], int]:
    """Joint groups per missing-value pattern; patterns of fewer than ``k`` are suppressed."""
    result = values.copy()
    bits = observed.astype(np.int64) @ (np.int64(1) << np.arange(values.shape[1], dtype=np.int64))
    sizes: list[int] = []
    suppressed = 0
    grouping = pca_groups if method == "pca" else mdav_groups
    for pattern in np.unique(bits):
        if pattern == 0:
            continue
        rows = np.flatnonzero(bits == pattern)
        cols = np.flatnonzero(observed[rows[0]])
        if len(rows) < k:
            result[np.ix_(rows, cols)] = np.nan
            suppressed += len(rows) * len(cols)
            continue
        group = grouping(scaled[np.ix_(rows, cols)], k)
        sizes.extend(np.bincount(group).tolist())
        for c in cols:
            result[rows, c] = _group_means(group, values[rows, c], None if w is None else w[rows])
    return result, sizes, suppressed
