"""Information loss and utility figures for the release report: before vs after treatment.

All figures are JSON-ready (``None`` where a figure is undefined, never NaN). ``before`` and
``after`` must hold the same records in the same order (treatments never drop or reorder
records); columns removed by the policy are reported as ``removed``.

- Categorical quasi-identifiers: distinct categories, Shannon entropy in bits (over
  non-missing values), missing values, values suppressed (missing after but not before),
  values changed (recoded or PRAMed; text compared), category loss
  ``1 - categories_after / categories_before`` and entropy loss
  ``1 - entropy_after / entropy_before``.
- Numeric columns: mean and standard deviation before and after, relative change of the
  mean, values changed, and the change of every pairwise Pearson correlation (on pairs of
  records observed in both columns).
- :func:`frequency_change`: total variation distance between the frequency tables of some
  columns before and after (0 = identical, 1 = disjoint).
- :func:`il1s` and :func:`eigen_change`: sdcMicro's ``dUtility`` measures of numeric
  information loss (standardised absolute change; change of the correlation eigenvalues);
  :func:`il_correl`: sdcMicro's ``IL_correl`` (Mlodak's correlation-based loss).
- :func:`interval_disclosure` (sdcMicro's ``dRisk``) and :func:`relinked_share`
  (distance-based record linkage): the disclosure risk left in perturbed numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import DataError
from sdc.hierarchy import normalize_value
from sdc.risk.numeric import interval_disclosure, relinked_share

__all__ = [
    "eigen_change",
    "entropy_bits",
    "frequency_change",
    "il1s",
    "il_correl",
    "interval_disclosure",
    "numeric_utility",
    "relinked_share",
    "utility_summary",
]


def entropy_bits(series: pd.Series) -> float:
    """Shannon entropy (bits) of the non-missing values of a column (0 for none)."""
    counts = _texts(series).dropna().value_counts().to_numpy(dtype=np.float64)
    if counts.sum() == 0:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum()) + 0.0


def utility_summary(
    before: pd.DataFrame,
    after: pd.DataFrame,
    quasi: Sequence[str],
    numeric: Sequence[str],
) -> dict[str, Any]:
    """Per-variable information loss of a treatment.

    Args:
        before: the data before treatment.
        after: the treated data, same records in the same order.
        quasi: categorical quasi-identifiers to report.
        numeric: numeric columns to report (means, spread, correlations).

    Returns:
        ``{"rows": n, "quasi": {col: {...}}, "numeric": {col: {...}},
        "correlations": {"a|b": {"before", "after", "change"}}, "max_correlation_change"}``.

    Raises:
        DataError: the frames have different numbers of rows, or a column is not in
            ``before``.
    """
    if len(before) != len(after):
        raise DataError(
            f"utility needs the same records before and after treatment; got {len(before)} "
            f"and {len(after)} rows"
        )
    absent = [c for c in [*quasi, *numeric] if c not in before.columns]
    if absent:
        raise DataError(f"column(s) {', '.join(map(repr, absent))} are not in the data")
    out: dict[str, Any] = {"rows": len(before), "quasi": {}, "numeric": {}}
    for col in quasi:
        out["quasi"][col] = _categorical(before[col], after[col] if col in after else None)
    for col in numeric:
        out["numeric"][col] = _numeric_figures(before[col], after[col] if col in after else None)
    kept = [c for c in numeric if c in after.columns]
    correlations: dict[str, Any] = {}
    biggest: float | None = None
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            cb = _corr(before[a], before[b])
            ca = _corr(after[a], after[b])
            change = None if cb is None or ca is None else ca - cb
            correlations[f"{a}|{b}"] = {"before": cb, "after": ca, "change": change}
            if change is not None and (biggest is None or abs(change) > biggest):
                biggest = abs(change)
    out["correlations"] = correlations
    out["max_correlation_change"] = biggest
    out["il1s"] = il1s(before, after, kept)
    out["eigen"] = eigen_change(before, after, kept)
    out["il_correl"] = il_correl(before, after, kept)
    out["interval_disclosure"] = interval_disclosure(before, after, kept)
    out["relinked"] = relinked_share(before, after, kept)
    return out


def numeric_utility(
    before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]
) -> dict[str, Any] | None:
    """The numeric information-loss figures of the manifest (``microdata.utility``).

    ``columns`` (those present in both frames) measured together: IL1s, the eigenvalue
    measure, IL_correl and the largest change of a pairwise correlation. None without any
    of the columns. ``before`` and ``after`` hold the same records in the same order.
    """
    cols = [c for c in columns if c in before.columns and c in after.columns]
    if not cols or len(before) != len(after):
        return None
    biggest: float | None = None
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            cb, ca = _corr(before[a], before[b]), _corr(after[a], after[b])
            if cb is not None and ca is not None and (biggest is None or abs(ca - cb) > biggest):
                biggest = abs(ca - cb)
    return {
        "columns": cols,
        "il1s": il1s(before, after, cols),
        "eigen": eigen_change(before, after, cols),
        "il_correl": il_correl(before, after, cols),
        "max_correlation_change": biggest,
    }


def il1s(before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]) -> float | None:
    """The IL1s of sdcMicro: the mean standardised absolute change of the numeric values.

    ``sum |x_ij - x'_ij| / s_j * sqrt(2)`` over every record i and column j, divided by the
    number of records times columns; ``s_j`` is the original column's standard deviation
    (n - 1). This is sdcMicro's ``dUtility(method = "IL1")`` exactly: it multiplies by
    ``sqrt(2)`` where Yancey, Winkler and Creecy (2002) divide. Missing values add nothing
    (but count in the denominator, as in sdcMicro). None without numeric columns.
    """
    if not columns or not len(before):
        return None
    total = 0.0
    for col in columns:
        x, y = _as_float(before[col]), _as_float(after[col])
        sd = float(np.nanstd(x, ddof=1)) if np.count_nonzero(~np.isnan(x)) > 1 else 0.0
        if sd == 0 or not np.isfinite(sd):
            continue  # a constant column has no scale (sdcMicro would give NaN)
        total += float(np.nansum(np.abs(x - y) / sd * math.sqrt(2)))
    return total / (len(columns) * len(before))


def eigen_change(before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]) -> float | None:
    """The eigenvalue measure of sdcMicro: ``sum |e_k - e'_k| / e_k`` over the eigenvalues.

    ``e`` and ``e'`` are the eigenvalues, in decreasing order, of the correlation matrices
    (pairwise complete) of the numeric columns before and after (sdcMicro's
    ``dUtility(method = "eigen")``: the covariance of the standardised data). 0 when the
    correlation structure is kept. None with fewer than two numeric columns.
    """
    if len(columns) < 2:
        return None
    e1 = _eigenvalues(before, columns)
    e2 = _eigenvalues(after, columns)
    if e1 is None or e2 is None or (e1 <= 0).any():
        return None
    return float(np.sum(np.abs(e1 - e2) / e1))


def il_correl(before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]) -> float | None:
    """Mlodak's correlation-based information loss, as sdcMicro's ``IL_correl``.

    ``d`` and ``d'`` are the diagonals of the inverse correlation matrices (records complete
    in every column) before and after; each is scaled to length 1, and the loss is
    ``|d / |d| - d' / |d'|| / sqrt(2)``: 0 when the correlation structure is kept, at most 1.
    The diagonal entry of a column is ``1 / (1 - R^2)`` of its regression on the others, so
    the measure sees how well each variable is explained by the rest. It needs no record
    matching (the released order may differ). None with fewer than two numeric columns or
    a singular correlation matrix.
    """
    if len(columns) < 2:
        return None
    d1, d2 = _inverse_diagonal(before, columns), _inverse_diagonal(after, columns)
    if d1 is None or d2 is None:
        return None
    gap = d1 / np.linalg.norm(d1) - d2 / np.linalg.norm(d2)
    return float(np.linalg.norm(gap) / math.sqrt(2))


def _inverse_diagonal(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    frame = pd.DataFrame({c: _as_float(df[c]) for c in columns}).dropna()
    values = frame.to_numpy(dtype=np.float64)
    if len(frame) < 2 or (np.ptp(values, axis=0) == 0).any():
        return None  # a constant column has no correlation
    corr = np.corrcoef(values, rowvar=False)
    if not np.isfinite(corr).all() or np.linalg.cond(corr) > 1e12:
        return None
    return np.diag(np.linalg.inv(corr))


def _eigenvalues(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray | None:
    frame = pd.DataFrame({c: _as_float(df[c]) for c in columns})
    corr = frame.corr(min_periods=2).to_numpy(dtype=np.float64)
    if not np.isfinite(corr).all():
        return None
    return np.sort(np.linalg.eigvalsh(corr))[::-1]


def frequency_change(
    before: pd.DataFrame, after: pd.DataFrame, by: Sequence[str]
) -> dict[str, Any]:
    """How much the frequency table of ``by`` moved: total variation distance and cells.

    Missing values form a cell of their own. Cells are compared by their text.

    Args:
        before: data before treatment.
        after: data after treatment.
        by: the table's classifying columns (present in both).

    Returns:
        ``{"by": [...], "cells_before", "cells_after", "tvd", "max_abs_change"}``.

    Raises:
        DataError: a column is missing.
    """
    by = list(by)
    for frame, name in ((before, "before"), (after, "after")):
        absent = [c for c in by if c not in frame.columns]
        if absent:
            raise DataError(f"column(s) {', '.join(map(repr, absent))} are not in the {name} data")
    tb = _table(before, by)
    ta = _table(after, by)
    both = tb.index.union(ta.index)
    cb = tb.reindex(both, fill_value=0).to_numpy(dtype=np.float64)
    ca = ta.reindex(both, fill_value=0).to_numpy(dtype=np.float64)
    pb = cb / cb.sum() if cb.sum() else cb
    pa = ca / ca.sum() if ca.sum() else ca
    return {
        "by": by,
        "cells_before": int((cb > 0).sum()),
        "cells_after": int((ca > 0).sum()),
        "tvd": float(0.5 * np.abs(pb - pa).sum()),
        "max_abs_change": int(np.abs(cb - ca).max()) if len(both) else 0,
    }


# --------------------------------------------------------------------------- helpers


def _texts(series: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([normalize_value(v) for v in uniques] + [None], dtype=object)
    return pd.Series(table[np.where(codes < 0, len(uniques), codes)], index=series.index)


def _table(df: pd.DataFrame, by: list[str]) -> pd.Series:
    keys = pd.DataFrame({c: _texts(df[c]).fillna("\x00missing") for c in by})
    return keys.value_counts()


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _categorical(before: pd.Series, after: pd.Series | None) -> dict[str, Any]:
    tb = _texts(before)
    cats_b = int(tb.nunique())
    ent_b = entropy_bits(before)
    fig: dict[str, Any] = {
        "categories_before": cats_b,
        "entropy_before": ent_b,
        "missing_before": int(tb.isna().sum()),
    }
    if after is None:
        fig["removed"] = True
        return fig
    ta = _texts(after)
    cats_a = int(ta.nunique())
    ent_a = entropy_bits(after)
    present_b = tb.notna().to_numpy()
    present_a = ta.notna().to_numpy()
    both = present_b & present_a
    fig.update(
        {
            "removed": False,
            "categories_after": cats_a,
            "entropy_after": ent_a,
            "missing_after": int((~present_a).sum()),
            "suppressed": int((present_b & ~present_a).sum()),
            "changed": int((tb.to_numpy()[both] != ta.to_numpy()[both]).sum()),
            "category_loss": 1.0 - cats_a / cats_b if cats_b else 0.0,
            "entropy_loss": 1.0 - ent_a / ent_b if ent_b > 0 else 0.0,
        }
    )
    return fig


def _as_float(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _numeric_figures(before: pd.Series, after: pd.Series | None) -> dict[str, Any]:
    xb = _as_float(before)
    fig: dict[str, Any] = {
        "mean_before": _finite(np.nanmean(xb)) if (~np.isnan(xb)).any() else None,
        "sd_before": _finite(np.nanstd(xb, ddof=1)) if (~np.isnan(xb)).sum() > 1 else None,
        "missing_before": int(np.isnan(xb).sum()),
    }
    if after is None:
        fig["removed"] = True
        return fig
    xa = _as_float(after)
    mean_a = _finite(np.nanmean(xa)) if (~np.isnan(xa)).any() else None
    mean_b = fig["mean_before"]
    both = ~np.isnan(xb) & ~np.isnan(xa)
    fig.update(
        {
            "removed": False,
            "mean_after": mean_a,
            "sd_after": _finite(np.nanstd(xa, ddof=1)) if (~np.isnan(xa)).sum() > 1 else None,
            "missing_after": int(np.isnan(xa).sum()),
            "mean_change": (
                (mean_a - mean_b) / abs(mean_b)
                if mean_a is not None and mean_b is not None and mean_b != 0
                else None
            ),
            "changed": int((xb[both] != xa[both]).sum() + (np.isnan(xb) != np.isnan(xa)).sum()),
        }
    )
    return fig


def _corr(a: pd.Series, b: pd.Series) -> float | None:
    x, y = _as_float(a), _as_float(b)
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < 2 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return None
    return _finite(float(np.corrcoef(x[ok], y[ok])[0, 1]))
