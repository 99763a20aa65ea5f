"""A plain re-implementation of the local-suppression heuristic sdcMicro documents.

Written from the algorithm's description (sdcMicro ``localSuppression``: keys that occur
more than k times keep k records; then, pass after pass, each record with f_k < k, highest
risk first, gets one value suppressed: the least important variable in which it differs
from one of its nearest records, by Hamming distance with missing values matching
everything). Used only as a baseline our greedy must not lose to; slow (quadratic).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdc.risk.frequencies import combine_codes, key_frequencies


def sdcmicro_style(codes: np.ndarray, k: int, order: list[int]) -> np.ndarray:
    """Suppress values of ``codes`` (-1 = missing) in sdcMicro's way; returns new codes.

    Args:
        codes: (n, m) key codes.
        k: target count.
        order: column indices, the first suppressed first.
    """
    codes = codes.copy()
    n, m = codes.shape
    key = combine_codes(codes + 1)
    rank = pd.Series(np.arange(n)).groupby(key).cumcount().to_numpy()
    idx = np.flatnonzero(rank < k)
    mat = codes[idx].copy()
    while True:
        fk = key_frequencies(mat).fk
        problems = np.flatnonzero(fk < k)
        if problems.size == 0:
            break
        problems = problems[np.argsort(fk[problems], kind="stable")]
        for i in problems:
            row = mat[i]
            diff = (mat >= 0) & (row >= 0)[None, :] & (mat != row[None, :])
            dist = diff.sum(axis=1)
            positive = dist[dist > 0]
            nearest = np.flatnonzero(dist == (positive.min() if positive.size else m))
            col = next(
                (c for c in order if diff[nearest, c].any()),
                next(c for c in order if row[c] >= 0),
            )
            mat[i, col] = -1
    codes[idx] = mat
    return codes
