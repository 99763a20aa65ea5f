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
relative 1e-9 of ``f_k`` counts as equal, the limit of the formulas as ``p -> 1``; and near
that limit the formulas are evaluated without cancellation (see :func:`individual_risk`), so
that no risk exceeds ``1/f_k``. Weights below 1 (normalised weights, ``F_k < f_k``) are not
expansion weights: the formulas would give risks above 1, so they are refused.

Without weights the risk is ``1/f_k``. The global risk is the mean individual risk and the
expected number of re-identifications their sum. A household's risk is the probability that
at least one member is re-identified, ``1 - prod(1 - r_i)``, and every member carries it.

The global risk threshold (:func:`global_risk_threshold`) is sdcMicro's ``global_threshold``
(``measure_riskWORK`` with the C++ routine ``measure_threshold``, after the mu-Argus 4.1
manual, section 2.3.4.1): the individual risk such that capping every record above it at it
brings the global risk below ``max_global_risk``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdc.errors import DataError, PolicyError

#: F_k within this relative distance of f_k counts as a census key (every weight 1).
CENSUS_TOLERANCE = 1e-9

#: Below this 1 - p the f_k = 2 risk comes from its series, above from the closed form.
_SERIES_BELOW = 1e-3


def individual_risk(fk: np.ndarray, Fk: np.ndarray | None = None) -> np.ndarray:
    """Per-record re-identification risk, a probability: never above ``1/f_k``.

    The closed forms are evaluated in a way that stays exact as ``p = f_k/F_k`` nears 1
    (``1 - p`` from ``(F_k - f_k)/F_k``, ``log(1/p)`` with ``log1p``, and a series for
    ``f_k = 2``, whose textbook form cancels catastrophically there and returns 1.5 or 3.0
    for a key whose weights are barely above 1). Elsewhere the figures equal sdcMicro's to
    rounding.

    Args:
        fk: sample frequency of each record's key (>= 1).
        Fk: estimated population frequency (sum of weights, >= ``f_k``), or None for
            unweighted data, in which case the risk is ``1/f_k``.

    Returns:
        A float array of risks in (0, 1], one per record.

    Raises:
        DataError: a key's weights sum to less than its records (``F_k < f_k``): the
            weights are not expansion weights, and the formulas would exceed 1.
    """
    f = np.asarray(fk, dtype=np.float64)
    if Fk is None:
        return 1.0 / f
    F = np.asarray(Fk, dtype=np.float64)
    short = F < f * (1.0 - CENSUS_TOLERANCE)
    if short.any():
        raise DataError(
            "the sampling weights of some keys sum to less than their number of records "
            "(F_k < f_k); sampling weights are expansion weights (each record stands for "
            "w >= 1 people): give the weights as collected, not normalised"
        )
    risk = np.empty_like(f)
    census = np.abs(F - f) <= CENSUS_TOLERANCE * f
    with np.errstate(divide="ignore", invalid="ignore"):
        p = f / F
        q = (F - f) / F  # 1 - p without its cancellation near p = 1
        log_inv = -np.log1p(-q)  # log(1/p)
        one = f == 1
        two = f == 2
        more = ~(one | two)
        risk[one] = (p * log_inv / q)[one]
        risk[two] = _two(p[two], q[two], log_inv[two])
        risk[more] = (p / (f - q))[more]
    risk[census] = 1.0 / f[census]
    return risk


def _two(p: np.ndarray, q: np.ndarray, log_inv: np.ndarray) -> np.ndarray:
    """Risk of keys with ``f_k = 2``: ``odds - odds**2 * log(1/p)``, ``odds = p/q``.

    Written as ``p/q**2 * (q + (1 - q) * log(1 - q))`` and expanded in ``q``, it is
    ``p * sum(q**(n - 2) / (n * (n - 1)) for n >= 2)``; for ``q < 1e-3`` eight terms reach
    double precision, where the closed form loses ``eps/q`` to cancellation.
    """
    odds = p / q
    out = odds - odds**2 * log_inv
    small = q < _SERIES_BELOW
    if small.any():
        qs = q[small]
        series = np.zeros_like(qs)
        for n in range(9, 1, -1):  # Horner, highest term first
            series = series * qs + 1.0 / (n * (n - 1))
        out[small] = p[small] * series
    return out


def global_risk_threshold(risk: np.ndarray, max_global_risk: float = 0.01) -> float | None:
    """The individual-risk threshold that brings the global risk down to ``max_global_risk``.

    sdcMicro's ``global_threshold`` of ``measure_risk``, step by step as it computes it. With
    the ``n`` risks sorted from high to low (``r_0 >= r_1 >= ...``), the target number of
    re-identifications ``ER = max_global_risk * n`` and the total ``S = sum(r)``:

    - ``S < ER`` (the file is already below the limit), or no records: None (sdcMicro's NA).
    - otherwise, at each position ``j >= 1`` where the risk drops (``r_j != r_{j-1}``), the
      global sum with the ``j`` records above capped at ``r_j`` is
      ``(S - r_0 - ... - r_{j-1}) + j * r_j``; the first ``r_j`` for which it is below ``ER``
      is the threshold.
    - when no drop gets below ``ER`` (e.g. every record has the same risk), sdcMicro returns
      0.0: every record with a positive risk needs treatment. If the smallest risk is itself
      0.0 the result is None (sdcMicro's NA, as its threshold then equals the last risk seen).

    The sums are accumulated in the same order as sdcMicro (sequentially, running subtraction),
    so ties at the limit resolve the same way.

    Args:
        risk: individual risks, one per record, in any order.
        max_global_risk: the global risk (mean individual risk) to reach, in (0, 1).

    Returns:
        The threshold (one of the risks, or 0.0), or None when sdcMicro gives NA.

    Raises:
        PolicyError: ``max_global_risk`` is not in (0, 1).
        DataError: a risk is NaN.
    """
    if not 0 < max_global_risk < 1:
        raise PolicyError(f"max_global_risk must be in (0, 1), got {max_global_risk!r}")
    r = np.sort(np.asarray(risk, dtype=np.float64).ravel())[::-1]
    if np.isnan(r).any():
        raise DataError("individual risks contain NaN; compute the risk of every record first")
    n = len(r)
    if n == 0:
        return None
    target = max_global_risk * n
    total = float(np.cumsum(r)[-1])
    if total < target:
        return None
    # remaining[j] = S - r_0 - ... - r_{j-1}, subtracted one at a time as sdcMicro does
    remaining = np.subtract.accumulate(np.concatenate(([total], r[:-1])))
    drops = np.flatnonzero(r[1:] != r[:-1]) + 1
    capped = remaining[drops] + r[drops] * drops.astype(np.float64)
    below = np.flatnonzero(capped < target)
    if len(below):
        return float(r[drops[below[0]]])
    return None if r[-1] == 0.0 else 0.0


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
