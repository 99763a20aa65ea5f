"""Rank swapping of numeric columns: values exchanged among records of close rank.

Moore's rank swapping (1996; sdcMicro's ``rankSwap``) sorts a column and lets each value
change places with another whose rank differs by at most ``p`` percent of the records. Moore's
algorithm walks the sorted records one at a time; ours draws the same kind of exchange at
once for every record, so no Python loop runs over rows:

1. the records with a value are sorted by it (ties in input order) and cut into consecutive
   blocks of ``w = max(2, ceil(p / 100 * n))`` ranks (the last block takes the remainder, so
   it holds from ``w`` to ``2w - 1`` ranks);
2. within each block the values are given out again in a uniformly random order.

So every released value is one of the column's own values (the multiset, hence the mean,
the variance and every quantile, is kept exactly), and it went to a record whose rank differs
by less than ``2w``. Missing values stay where they are. Columns are swapped independently,
which weakens their correlations a little, as in sdcMicro.

The seed is recorded in the treatment's private part: with it the swaps can be undone.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment, numeric_values
from sdc.errors import PolicyError

__all__ = ["rank_swap"]


def rank_swap(
    df: pd.DataFrame, columns: Sequence[str], p: float, *, seed: int | None = None
) -> tuple[pd.DataFrame, Treatment]:
    """Swap the values of each numeric column among records of close rank.

    Args:
        df: the microdata; not modified.
        columns: numeric columns, each swapped on its own.
        p: the rank window in percent of the records with a value, in (0, 100].
        seed: seed of the random order; ``None`` draws a fresh one (recorded privately).

    Returns:
        The treated copy and a record with ``p``, the window ``w`` per column, the share of
        values that moved, and the seed in ``private``.

    Raises:
        PolicyError: ``p`` out of range.
        DataError: a column is missing or not numeric.
    """
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 100:
        raise PolicyError(
            f"rank_swap.p (the rank window in percent) must be in (0, 100], got {p!r}"
        )
    seed = secrets.randbits(63) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    out = df.copy()
    windows: dict[str, int] = {}
    changed: dict[str, int] = {}
    for column in columns:
        values = numeric_values(df, column, "rank_swap")
        swapped, w = _swap_one(values, p, rng)
        windows[column] = w
        changed[column] = int(np.sum(swapped != values))  # NaN != NaN: never counted (kept)
        out[column] = pd.Series(swapped, index=df.index).astype(df[column].dtype, errors="ignore")
    record = Treatment(
        name="rank_swap",
        columns=tuple(columns),
        parameters={"p": p, "window": windows},
        changed=changed,
        details={"moved_share": {c: changed[c] / max(1, len(df)) for c in columns}},
        private={"seed": seed},
    )
    return out, record


def _swap_one(values: np.ndarray, p: float, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One column: a random order within blocks of ``w`` consecutive ranks."""
    present = np.flatnonzero(~np.isnan(values))
    n = len(present)
    w = max(2, math.ceil(p / 100 * n))
    out = values.copy()
    if n < 2:
        return out, w
    order = present[np.argsort(values[present], kind="stable")]
    blocks = np.minimum(np.arange(n) // w, max(1, n // w) - 1)
    shuffled = np.lexsort((rng.random(n), blocks))  # same block, random order within it
    out[order] = values[order[shuffled]]
    return out, w
