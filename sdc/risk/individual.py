"""Individual, global and household re-identification risk.

The formulas are the ones sdcMicro's ``measure_risk`` uses (through ``indivRisk`` with
``method="approx"``), after Benedetti and Franconi as reviewed by Franconi and Polettini
(2004). With ``p_k = f_k / F_k``:

- ``f_k = 1``: ``r = p/(1-p) * log(1/p)``
- ``f_k = 2``: ``r = p/(1-p) - (p/(1-p))**2 * log(1/p)``
- ``f_k > 2``: ``r = p / (f_k - (1 - p))`` (the approximation for larger keys)
- wherever ``F_k == f_k`` (every weight of the key is 1, i.e. a census): ``r = 1/f_k``

One deliberate difference: sdcMicro compares ``F_k == f_k`` exactly, so a sum of weights a
few ulps away from ``f_k`` (weights of 1 stored as 1.0000000000000002) sends ``p/(1-p)`` to
1e15 and the formulas return rounding noise (e.g. 1.5 for ``f_k = 2``). Here ``F_k`` within a
relative 1e-9 of ``f_k`` counts as equal, the limit of the formulas as ``p -> 1``.

Without weights the risk is ``1/f_k``. The global risk is the mean individual risk and the
expected number of re-identifications their sum. A household's risk is the probability that
at least one member is re-identified, ``1 - prod(1 - r_i)``, and every member carries it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def individual_risk(fk: np.ndarray, Fk: np.ndarray | None = None) -> np.ndarray:
    """Per-record re-identification risk.

    Args:
        fk: sample frequency of each record's key (>= 1).
        Fk: estimated population frequency (sum of weights), or None for unweighted data,
            in which case the risk is ``1/f_k``.

    Returns:
        A float array of risks, one per record.
    """
    f = np.asarray(fk, dtype=np.float64)
    if Fk is None:
        return 1.0 / f
    F = np.asarray(Fk, dtype=np.float64)
    risk = np.empty_like(f)
    census = np.abs(F - f) <= 1e-9 * f
    with np.errstate(divide="ignore", invalid="ignore"):
        p = f / F
        odds = p / (1.0 - p)
        log_inv = np.log(1.0 / p)
        one = f == 1
        two = f == 2
        more = ~(one | two)
        risk[one] = (odds * log_inv)[one]
        risk[two] = (odds - odds**2 * log_inv)[two]
        risk[more] = (p / (f - (1.0 - p)))[more]
    risk[census] = 1.0 / f[census]
    return risk


def household_risk(risk: np.ndarray, household: pd.Series | np.ndarray) -> np.ndarray:
    """Household risk ``1 - prod(1 - r_i)`` over each household, given to every member.

    A record whose household id is missing is treated as a household of its own.

    Args:
        risk: individual risks, one per record.
        household: household ids, one per record.

    Returns:
        A float array, one household risk per record, in input order.
    """
    r = np.asarray(risk, dtype=np.float64)
    codes, _ = pd.factorize(pd.Series(household), use_na_sentinel=True)
    codes = codes.astype(np.int64)
    missing = codes < 0
    if missing.any():
        start = int(codes.max()) + 1
        codes[missing] = start + np.arange(int(missing.sum()), dtype=np.int64)
    if len(r) == 0:
        return r.copy()
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
    survive = np.multiply.reduceat(1.0 - r[order], starts)
    group = np.cumsum(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) - 1
    out = np.empty_like(r)
    out[order] = 1.0 - survive[group]
    return out


def high_risk_count(risk: np.ndarray) -> int:
    """Records whose risk stands out, as sdcMicro's ``print.measure_risk`` counts them.

    A record counts when its risk exceeds ``median + 3 * MAD`` (MAD scaled by 1.4826, as R's
    ``mad``) and also exceeds 0.1.
    """
    r = np.asarray(risk, dtype=np.float64)
    if len(r) == 0:
        return 0
    med = float(np.median(r))
    mad = 1.4826 * float(np.median(np.abs(r - med)))
    return int(np.count_nonzero((r > med + 3 * mad) & (r > 0.1)))
