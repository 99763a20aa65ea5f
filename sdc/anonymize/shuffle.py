"""Data shuffling of numeric columns (Muralidhar and Sarathy 2006; sdcMicro's ``shuffle``).

Each record's confidential values are replaced by *other records' original values*, chosen
so that the relations with the rest of the record survive:

1. the shuffled columns ``Y`` and the predictors ``X`` (the other released columns: numeric
   ones as they are, categorical ones as 0/1 indicators) are turned into normal scores,
   ``Φ⁻¹(rank / (n + 1))``;
2. from the correlations of the normal scores, ``Y`` is drawn from its normal conditional
   distribution given ``X`` (the general additive data perturbation, GADP): the
   regression's prediction plus noise with the residual covariance;
3. reverse mapping: for each column, the record with the smallest drawn value gets the
   column's smallest original value, the next one the next, and so on.

So every column keeps exactly its values (mean, spread, every quantile), the rank
correlations among the shuffled columns and with the predictors are kept in expectation,
and no released value is a record's own except by chance. Missing values stay where they
are; a record with a missing value takes part only in the columns it has. The seed is
recorded privately: with it the shuffle could be replayed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtri

from sdc.anonymize._treatment import Treatment, numeric_values

__all__ = ["shuffle"]

#: A categorical predictor with more categories than this is left out of the model.
MAX_CATEGORIES = 50


def shuffle(
    df: pd.DataFrame,
    columns: Sequence[str],
    predictors: Sequence[str] = (),
    *,
    seed: int | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Shuffle numeric ``columns`` by a normal-scores model on ``predictors``.

    Args:
        df: the microdata; not modified.
        columns: the numeric columns to shuffle, together.
        predictors: columns the model keeps the relation with; a text column is used as
            categories (at most :data:`MAX_CATEGORIES` of them, else it is left out).
        seed: seed of the draw; None draws a fresh one (recorded privately).

    Returns:
        The shuffled copy and the record: the predictors used, values moved per column.

    Raises:
        DataError: a column is missing or not numeric.
    """
    seed = secrets.randbits(63) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    y = np.column_stack([numeric_values(df, c, "shuffle") for c in columns])
    used = [p for p in predictors if p in df.columns and p not in columns and _usable(df[p])]
    x = _design(df, used)
    drawn = _conditional_draw(_normal_scores(y), x, rng)
    out = df.copy()
    changed: dict[str, int] = {}
    for j, column in enumerate(columns):
        shuffled = _reverse_map(y[:, j], drawn[:, j])
        changed[column] = int(np.sum(shuffled != y[:, j]))  # NaN != NaN: kept, not counted
        out[column] = pd.Series(shuffled, index=df.index).astype(df[column].dtype, errors="ignore")
    record = Treatment(
        name="shuffle",
        columns=tuple(columns),
        parameters={"method": "ds", "predictors": used},
        changed=changed,
        private={"seed": seed},
    )
    return out, record


def _usable(values: pd.Series) -> bool:
    """Numeric, or categorical with at most MAX_CATEGORIES values."""
    return pd.api.types.is_numeric_dtype(values) or values.nunique() <= MAX_CATEGORIES


def _normal_scores(values: np.ndarray) -> np.ndarray:
    """Column-wise normal scores of the ranks (average ranks for ties); NaN stays NaN."""
    frame = pd.DataFrame(values)
    ranks = frame.rank(method="average").to_numpy()
    present = frame.notna().sum().to_numpy()
    return np.asarray(ndtri(ranks / (present + 1)))


def _design(df: pd.DataFrame, predictors: Sequence[str]) -> np.ndarray:
    """Predictors as normal scores (numeric) and 0/1 indicators (categories), missing as 0."""
    parts = []
    for column in predictors:
        values = df[column]
        if pd.api.types.is_numeric_dtype(values):
            parts.append(_normal_scores(values.to_numpy(dtype=np.float64)[:, None]))
        else:
            codes, uniques = pd.factorize(values, use_na_sentinel=False)
            if len(uniques) > 1:
                parts.append((codes[:, None] == np.arange(1, len(uniques))).astype(float))
    if not parts:
        return np.zeros((len(df), 0))
    x = np.column_stack(parts)
    return np.where(np.isnan(x), 0.0, x)


def _conditional_draw(y: np.ndarray, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw Y from its normal conditional distribution given X; NaN where Y is missing.

    The regression and the residual covariance are fitted on the records complete in Y.
    """
    complete = ~np.isnan(y).any(axis=1)
    yc = np.where(np.isnan(y), 0.0, y)
    x = x[:, np.std(x[complete], axis=0) > 0] if complete.sum() > 1 else x[:, :0]
    if x.shape[1] and complete.sum() > x.shape[1] + 1:
        xc = x - x[complete].mean(axis=0)
        beta, *_ = np.linalg.lstsq(xc[complete], yc[complete], rcond=None)
        mean = xc @ beta
    else:
        mean = np.zeros_like(yc)
    residual = yc[complete] - mean[complete]
    cov = (
        np.atleast_2d(np.cov(residual, rowvar=False)) if complete.sum() > 1 else np.eye(y.shape[1])
    )
    noise = rng.multivariate_normal(np.zeros(y.shape[1]), cov, size=len(y), method="eigh")
    return np.where(np.isnan(y), np.nan, mean + noise)


def _reverse_map(original: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """The original values given out in the order of the drawn ones (missing stay)."""
    present = np.flatnonzero(~np.isnan(original))
    out = original.copy()
    if len(present) < 2:
        return out
    by_draw = present[np.argsort(drawn[present], kind="stable")]
    out[by_draw] = np.sort(original[present])
    return out
