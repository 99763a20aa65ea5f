"""Multivariate top coding (sdcMicro's ``mvTopCoding``): outliers pulled onto an ellipsoid.

A record far from the others in several numeric columns at once (a very large farm with a
very large herd) is easy to find even when each value alone is unremarkable. The squared
Mahalanobis distance ``d²`` of each record from a *robust* centre and scatter measures how
far out it lies; a record with ``d²`` above the ``1 - alpha`` quantile of the chi-squared
distribution with ``p`` degrees of freedom (``p`` columns) is moved along the line towards
the centre until it lies on that ellipsoid (winsorised): ``x' = c + (x - c) * sqrt(q / d²)``.
Every other record keeps its values.

The centre and scatter are a deterministic minimum covariance determinant (MCD) estimate:
concentration steps (Rousseeuw and Van Driessen 1999) from two starts, the classical
estimate and the coordinate-wise median with the median absolute deviations (as in
Hubert, Rousseeuw and Verdonck's DetMCD), keeping the ``h = (n + p + 1) / 2`` closest
records; the one with the smaller determinant is corrected for consistency and reweighted
once (records within the 0.975 quantile). sdcMicro uses robustbase's random FastMCD, so the
two agree in kind, not to the digit. The same data always give the same result, which lets
``sdc check --data`` recompute it. Records with a missing value in the columns are left as
they are; integer columns are rounded after the move.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2

from sdc.anonymize._treatment import Treatment, numeric_values
from sdc.errors import PolicyError

__all__ = ["mv_top_code", "robust_center_scatter"]

#: Concentration steps at most, per start (they converge in a few).
_MAX_STEPS = 100


def mv_top_code(
    df: pd.DataFrame, columns: Sequence[str], alpha: float = 0.025
) -> tuple[pd.DataFrame, Treatment]:
    """Winsorise the multivariate outliers of ``columns`` onto the ``1 - alpha`` ellipsoid.

    Args:
        df: the microdata; not modified.
        columns: numeric columns, treated together (at least two).
        alpha: share of a normal cloud that would lie outside the ellipsoid, in (0, 0.5).

    Returns:
        The treated copy and the record: ``alpha``, the chi-squared bound, values changed
        per column, and the number of records moved (``details.outliers``).

    Raises:
        PolicyError: ``alpha`` out of range or fewer than two columns.
        DataError: a column is missing or not numeric.
    """
    if isinstance(alpha, bool) or not 0 < alpha < 0.5 or len(columns) < 2:
        raise PolicyError(
            "mv_top_code needs alpha in (0, 0.5) and at least two numeric columns, got "
            f"alpha {alpha!r} and {len(columns)} column(s)"
        )
    x = np.column_stack([numeric_values(df, c, "mv_top_code") for c in columns])
    complete = np.flatnonzero(~np.isnan(x).any(axis=1))
    bound = float(chi2.ppf(1 - alpha, len(columns)))
    moved = x.copy()
    outliers = np.zeros(0, dtype=np.int64)
    estimate = robust_center_scatter(x[complete]) if len(complete) > 2 * len(columns) else None
    if estimate is not None:
        center, scatter = estimate
        d2 = _mahalanobis(x[complete], center, scatter)
        far = d2 > bound
        outliers = complete[far]
        moved[outliers] = center + (x[outliers] - center) * np.sqrt(bound / d2[far])[:, None]
    out = df.copy()
    changed: dict[str, int] = {}
    for j, column in enumerate(columns):
        values = moved[:, j]
        if pd.api.types.is_integer_dtype(df[column].dtype):
            values = np.round(values)
        changed[column] = int(np.sum(values != x[:, j]))  # NaN != NaN: kept, not counted
        out[column] = pd.Series(values, index=df.index).astype(df[column].dtype, errors="ignore")
    record = Treatment(
        name="mv_top_code",
        columns=tuple(columns),
        parameters={"alpha": alpha, "bound": bound},
        changed=changed,
        details={"outliers": len(outliers), "complete": len(complete)},
    )
    return out, record


def _mahalanobis(x: np.ndarray, center: np.ndarray, scatter: np.ndarray) -> np.ndarray:
    diff = x - center
    return np.einsum("ij,ij->i", diff @ np.linalg.pinv(scatter), diff)


def robust_center_scatter(x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Deterministic reweighted MCD centre and scatter of the rows of ``x`` (no NaN).

    None when the data are degenerate (a constant column, or the best subset singular).
    """
    n, p = x.shape
    h = (n + p + 1) // 2
    spread = np.median(np.abs(x - np.median(x, axis=0)), axis=0) * 1.4826
    if (spread <= 0).any() or (x.std(axis=0) <= 0).any():
        return None
    starts = [
        (x.mean(axis=0), np.cov(x, rowvar=False)),
        (np.median(x, axis=0), np.diag(spread**2)),
    ]
    fits = [_concentrate(x, center, scatter, h) for center, scatter in starts]
    center, scatter = min(fits, key=lambda fit: np.linalg.det(fit[1]))
    if np.linalg.det(scatter) <= 0:
        return None
    d2 = _mahalanobis(x, center, scatter)
    scatter = scatter * np.median(d2) / chi2.ppf(0.5, p)  # consistency at the normal
    d2 = _mahalanobis(x, center, scatter)
    cut = chi2.ppf(0.975, p)
    kept = x[d2 <= cut]
    if len(kept) <= p:
        return center, scatter
    # A normal cloud cut at the 0.975 ellipsoid has its scatter shrunk by this factor.
    shrink = chi2.cdf(cut, p + 2) / 0.975
    return kept.mean(axis=0), np.cov(kept, rowvar=False) / shrink


def _concentrate(
    x: np.ndarray, center: np.ndarray, scatter: np.ndarray, h: int
) -> tuple[np.ndarray, np.ndarray]:
    """Concentration steps: refit on the h closest rows until the subset stops changing."""
    chosen = np.zeros(0, dtype=np.int64)
    for _ in range(_MAX_STEPS):
        closest = np.sort(np.argpartition(_mahalanobis(x, center, scatter), h - 1)[:h])
        if np.array_equal(closest, chosen):
            break
        chosen = closest
        center, scatter = x[chosen].mean(axis=0), np.cov(x[chosen], rowvar=False)
    return center, scatter
