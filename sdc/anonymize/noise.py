"""Additive noise for numeric columns (sdcMicro ``addNoise(method="additive")``).

Each value ``x`` becomes ``x + e`` with ``e ~ Normal(0, (sd * s)^2)``, where ``s`` is the
column's standard deviation (ddof 1, over its non-missing values) and ``sd`` the policy's
relative noise level (``noise: {sd: 0.1}`` adds noise with 10 % of the column's spread;
sdcMicro's ``noise = 150`` is ``sd = 1.5``). Optional public ``bounds`` clamp the result.

This is **not** differential privacy: the noise scale depends on the data and no privacy
loss is accounted. It lowers the precision with which a value can be matched, nothing more.

The draws come from ``numpy.random.default_rng(seed)``; the seed is recorded in the
treatment's ``private`` part. Whoever knows the seed can regenerate the noise and subtract
it, recovering the original values exactly, so the seed must stay with the data steward.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError, PolicyError
from sdc.io import first_non_number

__all__ = ["add_noise"]


def add_noise(
    df: pd.DataFrame,
    columns: Sequence[str],
    sd: float,
    *,
    seed: int | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Add Gaussian noise with standard deviation ``sd`` times each column's std.

    Args:
        df: the microdata; not modified.
        columns: numeric columns, each with its own noise (independent draws).
        sd: relative noise level (> 0), policy ``noise.sd``.
        seed: seed of the draws; ``None`` draws a fresh one (recorded privately).
        bounds: optional public ``(low, high)`` per column; noisy values are clamped.

    Returns:
        The treated copy (the columns become float; missing values stay missing) and the
        record, with the absolute noise standard deviation per column in ``details``.

    Raises:
        PolicyError: bad ``sd``, seed or bounds.
        DataError: a column is missing or not numeric.
    """
    if (
        isinstance(sd, bool)
        or not isinstance(sd, int | float)
        or not (math.isfinite(sd) and sd > 0)
    ):
        raise PolicyError(f"noise.sd must be a positive number, got {sd!r}")
    if seed is None:
        seed = secrets.randbits(63)
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise PolicyError(f"the noise seed must be a whole number >= 0, got {seed!r}")
    bounds = dict(bounds or {})
    for col, bound in bounds.items():
        if col not in columns:
            raise PolicyError(f"bounds are given for {col!r}, which gets no noise")
        lo, hi = bound
        if not lo < hi:
            raise PolicyError(f"bounds of {col!r} must be [low, high] with low < high, got {bound}")
    for col in columns:
        if col not in df.columns:
            raise DataError(
                f"column {col!r} is not in the data; it has {', '.join(map(str, df.columns))}"
            )
        dtype = df[col].dtype
        if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            raise DataError(
                f"noise needs numeric columns but {col!r} holds {dtype}{first_non_number(df, col)}"
            )
    rng = np.random.default_rng(int(seed))
    out = df.copy()
    scale: dict[str, float] = {}
    changed: dict[str, int] = {}
    clamped: dict[str, int] = {}
    for col in columns:
        x = df[col].to_numpy(dtype=np.float64, na_value=np.nan)
        present = ~np.isnan(x)
        std = float(np.std(x[present], ddof=1)) if present.sum() > 1 else 0.0
        scale[col] = sd * std
        noisy = x + rng.normal(0.0, 1.0, size=len(x)) * scale[col]
        if col in bounds:
            lo, hi = bounds[col]
            outside = present & ((noisy < lo) | (noisy > hi))
            clamped[col] = int(outside.sum())
            noisy = np.clip(noisy, lo, hi)
        out[col] = pd.Series(noisy, index=df.index)
        changed[col] = int((present & (noisy != x)).sum())
    record = Treatment(
        name="noise",
        columns=tuple(columns),
        parameters={
            "sd": sd,
            "method": "additive",
            "bounds": {c: list(b) for c, b in bounds.items()},
            "differential_privacy": False,
        },
        changed=changed,
        details={"noise_sd": scale, "clamped": clamped},
        private={"seed": int(seed)},
    )
    return out, record
