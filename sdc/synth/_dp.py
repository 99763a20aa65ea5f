"""OpenDP measurements used by the synthesiser, calibrated under zero-concentrated DP.

Privacy unit: by default one record, with neighbouring data sets differing by the addition
or removal of one record (OpenDP's ``symmetric_distance`` with ``d_in = 1``). Under that unit

* a histogram (a 1-way or 2-way marginal of counts) changes by 1 in one cell, so its L2
  sensitivity is 1, and
* MST's selection score of a pair (the L1 distance between its true counts and a fixed
  estimate) changes by at most 1, in either direction (not monotonic).

When a privacy unit (a household) may hold up to ``c`` records, the caller passes
``sensitivity=c``: adding or removing the unit changes at most ``c`` counts by 1 each, or one
count by up to ``c``, so the histogram's L2 sensitivity is at most ``c`` (the worst case, all
``c`` records in one cell) and the selection score moves by at most ``c``. The measurement is
then calibrated so that OpenDP's privacy map at ``d_in = c`` stays within the share.

All noise is drawn by OpenDP's samplers and is never seeded. Every function returns the
privacy loss (rho) that OpenDP's own privacy map reports for the measurement, so the budget
that is spent is OpenDP's figure, not ours. Scales are widened by a few ulps when float
rounding would put OpenDP's figure above the share allotted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import opendp.prelude as dp

dp.enable_features("contrib")


@cache
def _unit_gaussian() -> dp.Measurement:
    return dp.c.make_zCDP_to_approxDP(
        dp.m.make_gaussian(dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), 1.0)
    )


def epsilon_from_rho(rho: float, delta: float) -> float:
    """Smallest epsilon of the (epsilon, delta)-DP guarantee implied by rho-zCDP (OpenDP).

    Uses OpenDP's zCDP-to-approximate-DP conversion (``make_zCDP_to_approxDP``, the bound of
    Canonne, Kamath and Steinke 2020), applied to a unit Gaussian mechanism whose input
    distance is chosen so that it is exactly rho-zCDP.
    """
    if rho <= 0.0:
        return 0.0
    return float(_unit_gaussian().map(math.sqrt(2.0 * rho)).epsilon(delta))


@cache
def rho_from_epsilon_delta(epsilon: float, delta: float) -> float:
    """Largest rho such that rho-zCDP implies (epsilon, delta)-DP under OpenDP's conversion.

    The conversion is monotone in rho, so a bisection on OpenDP's own ``epsilon(delta)``
    finds it; the returned rho always converts to at most ``epsilon``. It is larger than
    the closed form ``(sqrt(log(1/delta) + epsilon) - sqrt(log(1/delta)))**2`` (Bun and
    Steinke 2016), which is a looser conversion.
    """
    lo = 0.0
    hi = max(epsilon, 1.0)
    while epsilon_from_rho(hi, delta) <= epsilon:  # pragma: no cover - epsilon beyond ~1e3
        hi *= 2.0
    for _ in range(100):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if epsilon_from_rho(mid, delta) <= epsilon:
            lo = mid
        else:
            hi = mid
    return lo


def _calibrated(
    make: object, scale: float, d_in: float, rho: float
) -> tuple[dp.Measurement, float]:
    """Build ``make(scale)`` and widen the scale until OpenDP's map at d_in is <= rho."""
    assert callable(make)
    meas = make(scale)
    for _ in range(64):
        if meas.map(d_in) <= rho:
            return meas, scale
        scale = math.nextafter(scale, math.inf) * (1.0 + 1e-12)
        meas = make(scale)
    raise AssertionError("could not calibrate the noise scale")  # pragma: no cover


def gaussian_counts(
    counts: np.ndarray, rho: float, sensitivity: float = 1.0
) -> tuple[np.ndarray, float, float]:
    """Release a histogram with Gaussian noise (OpenDP ``make_gaussian``), spending rho.

    Args:
        counts: the true counts (any shape; each record adds 1 to exactly one cell).
        rho: the zCDP budget of this measurement.
        sensitivity: the L2 distance between the histograms of two neighbouring data sets
            (1 for one record; the contribution bound for a unit of several records).

    Returns:
        ``(noisy, sigma, rho_spent)``: noisy counts of the same shape, the noise standard
        deviation, and OpenDP's privacy loss at ``d_in = sensitivity`` (<= rho).
    """
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float)

    def make(scale: float) -> dp.Measurement:
        return dp.m.make_gaussian(*space, scale=scale)

    d_in = float(sensitivity)
    meas, sigma = _calibrated(make, d_in / math.sqrt(2.0 * rho), d_in, rho)
    flat = np.asarray(counts, dtype=float).ravel()
    noisy = np.asarray(meas(flat.tolist()), dtype=float).reshape(np.shape(counts))
    return noisy, sigma, float(meas.map(d_in))


def noisy_max(scores: np.ndarray, rho: float, sensitivity: float = 1.0) -> tuple[int, float, float]:
    """Select the index of a high score privately (OpenDP ``make_noisy_max``), spending rho.

    This is the exponential mechanism as report-noisy-max with Gumbel noise, under zCDP
    (its bounded-range analysis: a (2 * Delta / scale)-DP selection is
    (2 * Delta / scale)**2 / 8 -zCDP), with scores of sensitivity 1 that may move in either
    direction.

    Args:
        scores: one score per candidate, higher is better.
        rho: the zCDP budget of this selection.
        sensitivity: how far one score can move between neighbouring data sets (1 for one
            record; the contribution bound for a unit of several records).

    Returns:
        ``(index, scale, rho_spent)``, with OpenDP's privacy loss at ``d_in = sensitivity``.
    """
    space = (
        dp.vector_domain(dp.atom_domain(T=float, nan=False)),
        dp.linf_distance(T=float, monotonic=False),
    )

    def make(scale: float) -> dp.Measurement:
        return dp.m.make_noisy_max(*space, dp.zero_concentrated_divergence(), scale=scale)

    # rho = (2 d / scale)**2 / 8  <=>  scale = 2 d / sqrt(8 rho)
    d_in = float(sensitivity)
    meas, scale = _calibrated(make, 2.0 * d_in / math.sqrt(8.0 * rho), d_in, rho)
    index = int(meas(np.asarray(scores, dtype=float).tolist()))
    return index, scale, float(meas.map(d_in))


@dataclass(frozen=True)
class Measurement:
    """One differentially private measurement made by the synthesiser.

    Attributes:
        kind: ``"k-way"`` (a marginal of k columns: ``"1-way"``, ``"2-way"``, ...) or
            ``"select"`` (one round of selection: MST's tree, AIM's rounds).
        columns: the column(s) measured; for ``"select"``, the set selected.
        rho: privacy loss of the measurement (zCDP), as reported by OpenDP's privacy map.
        scale: noise scale: the Gaussian standard deviation, or the Gumbel scale.
        sensitivity: the input distance ``d_in`` at which ``rho`` is OpenDP's privacy map:
            how far the measured counts (L2) or scores (L-infinity) of two neighbouring data
            sets can be apart (1 for one record, the contribution bound for a household).
    """

    kind: str
    columns: tuple[str, ...]
    rho: float
    scale: float
    sensitivity: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        return {
            "kind": self.kind,
            "columns": list(self.columns),
            "rho": self.rho,
            "scale": self.scale,
            "sensitivity": self.sensitivity,
        }
