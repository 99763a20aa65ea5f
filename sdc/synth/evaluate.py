"""How close synthetic records are to the real ones, in utility and in privacy.

Utility: total-variation distance (TVD) between the real and synthetic 1-way and 2-way
marginals, the propensity-score mean squared error (pMSE) of a logistic regression that
tries to tell real from synthetic records, and differences in correlation (Pearson for
numeric pairs, Cramer's V for every pair).

Privacy (on the discretised records, numeric columns on the public bins): the share of
synthetic records identical to a real record, and each synthetic record's distance to the
closest real record (DCR: the number of columns in which it differs from its nearest real
record, a Hamming distance; divided by the number of columns it is the Gower distance of
the discretised data). With a ``holdout`` (real records kept out of the synthesis) the
same figures are computed for the hold-out records against the real records: synthetic
records much closer to the real ones than fresh real records are would be a warning sign.

The evaluation reads the private data and is NOT differentially private; its figures are
for the data steward and the clearance officer.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, sparse

from sdc.errors import DataError
from sdc.risk.frequencies import combine_codes
from sdc.synth._codebook import bin_codes

#: Work limit of the DCR search: subsets of columns ignored, summed over distances.
DCR_MAX_SUBSETS = 2000


@dataclass(frozen=True)
class DistanceSummary:
    """Distances from a set of records to their closest real record.

    Attributes:
        exact_match_share: share of records identical to some real record (distance 0).
        mean: mean normalised distance (differing columns / number of columns); a record
            whose distance exceeds ``censored_above`` counts as ``censored_above + 1``.
        median: median distance in columns (same censoring).
        shares: share of records at each distance in columns, ``0 .. censored_above``, and
            the share beyond it under the key ``"more"``.
        censored_above: the largest distance searched exactly.
    """

    exact_match_share: float
    mean: float
    median: float
    shares: Mapping[str, float]
    censored_above: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "exact_match_share": self.exact_match_share,
            "mean": self.mean,
            "median": self.median,
            "shares": dict(self.shares),
            "censored_above": self.censored_above,
        }


@dataclass(frozen=True)
class SynthEvaluation:
    """Utility and privacy figures of a synthetic data set against the real one.

    Attributes:
        columns: the columns compared.
        tvd_1way: per column, TVD between the real and synthetic 1-way marginals.
        tvd_1way_mean: mean of ``tvd_1way``.
        tvd_2way: per pair of columns, TVD between the 2-way marginals.
        tvd_2way_mean: mean of ``tvd_2way`` over all pairs (None with one column).
        pmse: propensity-score mean squared error (0 = indistinguishable).
        pmse_null: expected pMSE if the synthetic records came from the real
            distribution (Snoke et al. 2018): ``(k - 1) (1 - c)**2 c / N``.
        pmse_ratio: ``pmse / pmse_null`` (about 1 is ideal).
        correlation_diff: per numeric pair, |Pearson r (real) - r (synthetic)|.
        correlation_diff_mean: mean of ``correlation_diff`` (None without numeric pairs).
        cramers_v_diff: per pair, |Cramer's V (real) - V (synthetic)|.
        cramers_v_diff_mean: mean of ``cramers_v_diff`` (None with one column).
        synthetic_to_real: distances from synthetic to real records.
        holdout_to_real: distances from hold-out records to real records (None without
            a hold-out), the baseline for ``synthetic_to_real``.
    """

    columns: tuple[str, ...]
    tvd_1way: Mapping[str, float]
    tvd_1way_mean: float
    tvd_2way: Mapping[tuple[str, str], float]
    tvd_2way_mean: float | None
    pmse: float
    pmse_null: float
    pmse_ratio: float
    correlation_diff: Mapping[tuple[str, str], float]
    correlation_diff_mean: float | None
    cramers_v_diff: Mapping[tuple[str, str], float]
    cramers_v_diff_mean: float | None
    synthetic_to_real: DistanceSummary
    holdout_to_real: DistanceSummary | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the release bundle."""

        def pairs(d: Mapping[tuple[str, str], float]) -> list[dict[str, Any]]:
            return [{"columns": [a, b], "value": v} for (a, b), v in d.items()]

        return {
            "columns": list(self.columns),
            "tvd_1way": dict(self.tvd_1way),
            "tvd_1way_mean": self.tvd_1way_mean,
            "tvd_2way": pairs(self.tvd_2way),
            "tvd_2way_mean": self.tvd_2way_mean,
            "pmse": self.pmse,
            "pmse_null": self.pmse_null,
            "pmse_ratio": self.pmse_ratio,
            "correlation_diff": pairs(self.correlation_diff),
            "correlation_diff_mean": self.correlation_diff_mean,
            "cramers_v_diff": pairs(self.cramers_v_diff),
            "cramers_v_diff_mean": self.cramers_v_diff_mean,
            "synthetic_to_real": self.synthetic_to_real.to_dict(),
            "holdout_to_real": None
            if self.holdout_to_real is None
            else self.holdout_to_real.to_dict(),
        }


def evaluate(
    real: pd.DataFrame,
    synth: pd.DataFrame,
    columns: Sequence[str],
    holdout: pd.DataFrame | None = None,
    *,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    bins: int = 16,
) -> SynthEvaluation:
    """Compare synthetic records with the real records they were made from.

    Args:
        real: the real records the synthesis used.
        synth: the synthetic records.
        columns: the columns to compare.
        holdout: real records NOT used for the synthesis, for the privacy baseline.
        bounds: public bounds of numeric columns; these columns are compared on the same
            equal-width bins the synthesis used (values clamped to the bounds) and get
            Pearson correlations. Other columns are compared value by value.
        bins: number of bins of numeric columns.

    Returns:
        The evaluation.

    Raises:
        DataError: a column is missing from one of the frames, or a frame is empty.
    """
    bounds = dict(bounds or {})
    frames = {"real": real, "synthetic": synth}
    if holdout is not None:
        frames["holdout"] = holdout
    for name, frame in frames.items():
        absent = [c for c in columns if c not in frame.columns]
        if absent:
            raise DataError(f"evaluate: columns {absent} are not in the {name} data")
        if len(frame) == 0:
            raise DataError(f"evaluate: the {name} data has no records")
    if len(columns) == 0:
        raise DataError("evaluate: no columns to compare")

    codes, sizes = _discretise(list(frames.values()), columns, bounds, bins)
    r, s = codes[0], codes[1]
    h = codes[2] if holdout is not None else None
    m = len(columns)

    tvd1 = {c: _tvd(r[:, j], s[:, j], sizes[j]) for j, c in enumerate(columns)}
    tvd2: dict[tuple[str, str], float] = {}
    cv: dict[tuple[str, str], float] = {}
    for a, b in itertools.combinations(range(m), 2):
        kr = r[:, a] * sizes[b] + r[:, b]
        ks = s[:, a] * sizes[b] + s[:, b]
        tvd2[(columns[a], columns[b])] = _tvd(kr, ks, sizes[a] * sizes[b])
        cv[(columns[a], columns[b])] = abs(
            _cramers_v(kr, sizes[a], sizes[b]) - _cramers_v(ks, sizes[a], sizes[b])
        )

    numeric = [c for c in columns if c in bounds]
    corr: dict[tuple[str, str], float] = {}
    for x, y in itertools.combinations(numeric, 2):
        corr[(x, y)] = abs(_pearson(real, x, y) - _pearson(synth, x, y))

    pmse, pmse_null = _pmse(r, s, sizes)
    return SynthEvaluation(
        columns=tuple(columns),
        tvd_1way=tvd1,
        tvd_1way_mean=float(np.mean(list(tvd1.values()))),
        tvd_2way=tvd2,
        tvd_2way_mean=float(np.mean(list(tvd2.values()))) if tvd2 else None,
        pmse=pmse,
        pmse_null=pmse_null,
        pmse_ratio=pmse / pmse_null,
        correlation_diff=corr,
        correlation_diff_mean=float(np.mean(list(corr.values()))) if corr else None,
        cramers_v_diff=cv,
        cramers_v_diff_mean=float(np.mean(list(cv.values()))) if cv else None,
        synthetic_to_real=distance_summary(s, r),
        holdout_to_real=None if h is None else distance_summary(h, r),
    )


def _discretise(
    frames: Sequence[pd.DataFrame],
    columns: Sequence[str],
    bounds: Mapping[str, tuple[float, float]],
    bins: int,
) -> tuple[list[np.ndarray], list[int]]:
    """Encode all frames on common codes: public bins for numeric columns, else values.

    A missing value is a category of its own (numeric: one extra bin code).
    """
    lengths = [len(f) for f in frames]
    cut = np.cumsum(lengths)[:-1]
    out = [np.empty((n, len(columns)), dtype=np.int64) for n in lengths]
    sizes = []
    for j, col in enumerate(columns):
        if col in bounds:
            lo, hi = (float(v) for v in bounds[col])
            x = np.concatenate(
                [
                    pd.to_numeric(f[col], errors="coerce").to_numpy(float, na_value=np.nan)
                    for f in frames
                ]
            )
            codes = bin_codes(np.clip(x, lo, hi), lo, hi, bins)
            codes[np.isnan(x)] = bins
            size = bins + 1
        else:
            values = pd.concat([f[col].astype(object) for f in frames], ignore_index=True)
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
            size = max(len(uniques), 1)
        for part, block in zip(out, np.split(codes, cut), strict=True):
            part[:, j] = block
        sizes.append(size)
    return out, sizes


def _tvd(x: np.ndarray, y: np.ndarray, size: int) -> float:
    """Total-variation distance between the empirical distributions of two code vectors."""
    p = np.bincount(x, minlength=size) / len(x)
    q = np.bincount(y, minlength=size) / len(y)
    return float(0.5 * np.abs(p - q).sum())


def _cramers_v(key: np.ndarray, size_a: int, size_b: int) -> float:
    """Cramer's V of a 2-way table given as combined keys ``a * size_b + b``."""
    n = len(key)
    table = np.bincount(key, minlength=size_a * size_b).reshape(size_a, size_b) / n
    pa = table.sum(axis=1)
    pb = table.sum(axis=0)
    ra, rb = int((pa > 0).sum()), int((pb > 0).sum())
    if min(ra, rb) < 2:
        return 0.0
    expected = np.outer(pa, pb)
    mask = expected > 0
    phi2 = float((((table - expected) ** 2)[mask] / expected[mask]).sum())
    return math.sqrt(phi2 / (min(ra, rb) - 1))


def _pearson(df: pd.DataFrame, a: str, b: str) -> float:
    """Pearson correlation of two numeric columns (0 if one is constant)."""
    x = pd.to_numeric(df[a], errors="coerce").to_numpy(float, na_value=np.nan)
    y = pd.to_numeric(df[b], errors="coerce").to_numpy(float, na_value=np.nan)
    ok = ~(np.isnan(x) | np.isnan(y))
    x, y = x[ok], y[ok]
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def _pmse(real: np.ndarray, synth: np.ndarray, sizes: Sequence[int]) -> tuple[float, float]:
    """The pMSE of a main-effects logistic regression of "is synthetic" on one-hot codes.

    The model is fitted by Newton-CG on the mean log-loss with a small ridge penalty (which
    only fixes the level of the redundant one-hot columns). Returns ``(pmse, null)``, where
    ``null = (k - 1) (1 - c)**2 c / N`` with ``k`` free parameters and ``c`` the synthetic
    share (Snoke, Raab, Nowok, Dibben and Slavkovic 2018).
    """
    codes = np.vstack([real, synth])
    n, m = codes.shape
    label = np.r_[np.zeros(len(real)), np.ones(len(synth))]
    offsets = np.r_[0, np.cumsum(sizes)[:-1]]
    design = sparse.csr_matrix(
        (np.ones(n * m), (np.repeat(np.arange(n), m), (codes + offsets).ravel())),
        shape=(n, int(np.sum(sizes))),
    )
    c = len(synth) / n
    ridge = 1e-6
    penalty = np.ones(design.shape[1] + 1)
    penalty[0] = 0.0  # the intercept is not penalised
    full = sparse.hstack([np.ones((n, 1)), design], format="csr")

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = full @ w
        # log(1 + e^z) - y z, computed stably
        value = float(np.mean(np.logaddexp(0.0, z) - label * z))
        grad = full.T @ ((_sigmoid(z) - label) / n)
        return value + ridge * float(penalty @ w**2), grad + 2 * ridge * penalty * w

    def hessp(w: np.ndarray, v: np.ndarray) -> np.ndarray:
        p = _sigmoid(full @ w)
        return full.T @ (p * (1 - p) / n * (full @ v)) + 2 * ridge * penalty * v

    w0 = np.zeros(full.shape[1])
    w0[0] = math.log(c / (1 - c))
    fit = optimize.minimize(
        loss, w0, jac=True, hessp=hessp, method="Newton-CG", options={"maxiter": 200}
    )
    p = _sigmoid(full @ fit.x)
    pmse = float(np.mean((p - c) ** 2))
    used = np.asarray(design.sum(axis=0)).ravel() > 0
    k = 1 + int(used.sum()) - m  # intercept + (levels - 1) per column
    null = max(k - 1, 1) * (1 - c) ** 2 * c / n
    return pmse, float(null)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function without overflow warnings."""
    return np.exp(-np.logaddexp(0.0, -z))


def nearest_distances(
    query: np.ndarray, reference: np.ndarray, max_subsets: int = DCR_MAX_SUBSETS
) -> tuple[np.ndarray, int]:
    """Hamming distance from each query record to its closest reference record.

    A query record is within distance ``k`` of the reference set iff, for some set of ``k``
    columns, it equals a reference record on all other columns. So instead of comparing all
    pairs, distances ``0, 1, 2, ...`` are resolved by joining on the remaining columns, for
    every subset of ignored columns, while the number of subsets stays within
    ``max_subsets``. Distances beyond are censored.

    Args:
        query: (nq, m) int codes.
        reference: (nr, m) int codes (nr >= 1).
        max_subsets: work limit (number of joins).

    Returns:
        ``(distance, censored_above)``: distances (``censored_above + 1`` when larger) and
        the largest distance resolved exactly.
    """
    nq, m = query.shape
    limit, used = 0, 1
    while limit < m and used + math.comb(m, limit + 1) <= max_subsets:
        limit += 1
        used += math.comb(m, limit)
    dist = np.full(nq, limit + 1, dtype=np.int64)
    open_idx = np.arange(nq)
    for k in range(limit + 1):
        for ignored in itertools.combinations(range(m), k):
            if len(open_idx) == 0:
                return dist, limit
            kept = [j for j in range(m) if j not in ignored]
            if not kept:
                dist[open_idx] = k
                open_idx = open_idx[:0]
                break
            keys = combine_codes(np.vstack([reference[:, kept], query[open_idx][:, kept]]))
            hit = np.isin(keys[len(reference) :], keys[: len(reference)])
            dist[open_idx[hit]] = k
            open_idx = open_idx[~hit]
    return dist, limit


def distance_summary(query: np.ndarray, reference: np.ndarray) -> DistanceSummary:
    """Summarise the distances from ``query`` records to the closest ``reference`` record."""
    dist, limit = nearest_distances(query, reference)
    m = query.shape[1]
    shares = {str(k): float(np.mean(dist == k)) for k in range(limit + 1)}
    shares["more"] = float(np.mean(dist > limit))
    return DistanceSummary(
        exact_match_share=float(np.mean(dist == 0)),
        mean=float(np.mean(dist) / m),
        median=float(np.median(dist)),
        shares=shares,
        censored_above=limit,
    )
