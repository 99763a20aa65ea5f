"""Differentially private counts, sums and means for a whole table (OpenDP).

How a DP table is made:

* **Keys** come from the policy or a codebook (``dp.keys``), never from the data: every
  combination of the listed categories is a cell and gets noise, records with an unlisted
  value are left out. Without listed keys :class:`~sdc.errors.PolicyError` is raised
  (data-derived keys would need a thresholded mechanism with delta, which we do not offer).
* **Privacy unit**: with ``unit_column`` (a household or person identifier) each unit keeps
  at most ``contribution_bound`` records (its first ones, in file order) before anything is
  aggregated; the sensitivity is then ``contribution_bound`` records. Without a unit column
  a record is one individual (``d_in = 1``).
* **One measurement per statistic for all interior cells** (a vector query): counts are
  OpenDP's ``make_count_by_categories`` chained with ``make_laplace`` (discrete Laplace on
  integers) or ``make_gaussian`` (discrete Gaussian, zCDP converted to (epsilon, delta));
  sums are measured **on integers**, so that no float rounding enters the sensitivity
  (floating-point sums are not associative and can exceed a hand-derived bound): each
  record is clamped to the public ``bounds`` and put on a public grid of step ``q`` (a
  power of two from the bounds alone, see :func:`sum_step`) as the integer
  ``floor(clamped / q + 0.5)``, whose absolute value is at most ``K = ceil(max(|lo|, |hi|)
  / q)``; the integer cell sums are exact (int64, any order, in memory or in an engine),
  and OpenDP's ``make_laplace`` / ``make_gaussian`` on the ``i64`` vector (discrete
  Laplace / Gaussian) measures them at the exact integer sensitivity
  ``d_in = contribution_bound * K``. The noisy integers times ``q`` are the sums
  (post-processing). The grid moves a record's value by at most ``q / 2``, about a
  millionth of the bound, far below the noise. A mean is a noisy sum over a noisy count,
  with epsilon (and delta) split equally between them (basic composition).
* **Noise is OpenDP's**: its secure sampler, never seeded.
* **Post-processing** (costs no privacy): noisy counts below 0 become 0; sums of a
  non-negative variable likewise; every margin is the sum of its interior cells, so the
  table adds up exactly and counts stay non-negative integers. Means are clamped to the
  bounds.
* **Accuracy**: ``noise_scale`` is the standard deviation of the noise in the cell (a
  margin over ``m`` interior cells carries the sum of ``m`` independent noises, so
  ``sqrt(m)`` times the cell's). ``ci_low``/``ci_high`` is the 95% interval of the true
  (clamped) value from the noise distribution: exact for single cells, by convolution for
  margins of up to 50 cells and by the normal approximation beyond, cut at 0 for
  non-negative statistics. For sums the discrete noise on the fine grid is treated as its
  continuous counterpart of the same scale (they differ by about one grid step). For means
  it is the Bonferroni combination of the 97.5% intervals of sum and count. The intervals
  cover the noise, not the bias from clamping, truncation of contributions or the
  post-processing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import opendp.prelude as dp
import pandas as pd
from scipy.stats import norm

from sdc.budget import Budget
from sdc.tables._cube import Cube
from sdc.tables.spec import DpSpec

dp.enable_features("contrib")

NoiseKind = Literal["discrete_laplace", "discrete_gaussian", "laplace", "gaussian"]

#: Margins over at most this many cells get exact (convolution) intervals.
_EXACT_MAX_TERMS = 50


@dataclass(frozen=True)
class DpCells:
    """A DP table's published cells (flat, margins included).

    Attributes:
        value: post-processed values.
        noise_scale: standard deviation of each cell's noise.
        ci_low: lower end of the 95% interval.
        ci_high: upper end of the 95% interval.
        budget: the (epsilon, delta) the table spent.
        mechanism: a description of the OpenDP measurements, for the manifest.
    """

    value: np.ndarray
    noise_scale: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    budget: Budget
    mechanism: str


@dataclass(frozen=True)
class _Noisy:
    leaves: np.ndarray
    kind: NoiseKind
    scale: float
    budget: Budget
    description: str


def noise_sd(kind: NoiseKind, scale: float) -> float:
    """Standard deviation of one draw of the mechanism's noise.

    Args:
        kind: the noise distribution.
        scale: OpenDP's ``scale`` (Laplace ``b`` or Gaussian ``sigma``).
    """
    if kind == "laplace":
        return math.sqrt(2.0) * scale
    if kind == "gaussian":
        return scale
    support, pmf = _discrete_pmf(kind, scale)
    return float(math.sqrt((pmf * support.astype(float) ** 2).sum()))


def _discrete_pmf(kind: NoiseKind, scale: float) -> tuple[np.ndarray, np.ndarray]:
    if kind == "discrete_laplace":
        k = int(math.ceil(40 * scale)) + 2
        support = np.arange(-k, k + 1)
        w = np.exp(-np.abs(support) / scale)
    else:
        k = int(math.ceil(12 * scale)) + 2
        support = np.arange(-k, k + 1)
        w = np.exp(-(support.astype(float) ** 2) / (2 * scale**2))
    return support, w / w.sum()


def noise_quantile(kind: NoiseKind, scale: float, terms: int, coverage: float = 0.95) -> float:
    """Half-width ``q`` with ``P(|sum of terms noises| <= q) >= coverage``.

    Args:
        kind: the noise distribution of one cell.
        scale: OpenDP's ``scale``.
        terms: number of independent noises summed in the cell (1 for an interior cell).
        coverage: two-sided coverage, e.g. 0.95.
    """
    z = float(norm.ppf(0.5 + coverage / 2))
    if kind == "gaussian":
        return z * scale * math.sqrt(terms)
    if kind == "laplace" and terms == 1:
        return scale * math.log(1.0 / (1.0 - coverage))
    if terms > _EXACT_MAX_TERMS:
        return z * noise_sd(kind, scale) * math.sqrt(terms)
    if kind == "laplace":
        step = scale / 20.0
        k = int(40 * 20)
        support = np.arange(-k, k + 1)
        pmf = np.exp(-np.abs(support) * step / scale)
        pmf /= pmf.sum()
    else:
        support, pmf = _discrete_pmf(kind, scale)
        step = 1.0
    total = pmf
    if terms > 1:
        size = len(pmf) * terms
        nfft = 1 << int(math.ceil(math.log2(size)))
        spectrum = np.fft.rfft(pmf, nfft) ** terms
        total = np.clip(np.fft.irfft(spectrum, nfft)[: (len(pmf) - 1) * terms + 1], 0.0, None)
        total /= total.sum()
    half = (len(total) - 1) // 2
    # Coverage of [-j, j] for j = 0, 1, ...: centre plus both tails inwards.
    centre = total[half]
    sym = total[half + 1 :] + total[half - 1 :: -1][: len(total) - half - 1]
    cover = centre + np.concatenate([[0.0], np.cumsum(sym)])
    j = int(np.searchsorted(cover, coverage - 1e-12))
    return float(j * step)


#: Bits of resolution of the sum grid below the largest absolute bound.
_GRID_BITS = 20


def sum_step(bounds: tuple[float, float]) -> float:
    """The public grid step ``q`` on which DP sums are measured, from the bounds alone.

    ``q = 2 ** (floor(log2(max(|lo|, |hi|))) - 20)``: a power of two, so that dividing a
    clamped value by it is exact, fine enough that the grid error (at most ``q / 2`` per
    record, about ``1e-6`` of the bound) is negligible beside the noise, and coarse enough
    that a record is at most ``2 ** 21`` grid units and cell sums fit in int64.

    Args:
        bounds: the public clamping bounds ``(lo, hi)``.
    """
    largest = max(abs(float(bounds[0])), abs(float(bounds[1])))
    if largest == 0.0:
        return 1.0
    return float(2.0 ** (math.floor(math.log2(largest)) - _GRID_BITS))


def sum_units(values: np.ndarray, bounds: tuple[float, float], step: float) -> np.ndarray:
    """Each value clamped to ``bounds`` and put on the grid: ``floor(c / step + 0.5)``.

    The counting engines compute the same integers (``grouped_sums(clamp_step=...)``).

    Args:
        values: finite values.
        bounds: the public clamping bounds ``(lo, hi)``.
        step: the grid step from :func:`sum_step`.

    Returns:
        An int64 array, each entry of absolute value at most :func:`max_units`.
    """
    clamped = np.clip(np.asarray(values, dtype=float), bounds[0], bounds[1])
    return np.floor(clamped / step + 0.5).astype(np.int64)


def max_units(bounds: tuple[float, float], step: float) -> int:
    """The largest absolute grid integer of a clamped value: ``ceil(max(|lo|, |hi|) / step)``."""
    return int(math.ceil(max(abs(float(bounds[0])), abs(float(bounds[1]))) / step))


def _keys_error(column: str) -> str:
    return (
        f"DP table: the categories of {column!r} must be listed (dp.keys in the policy or a "
        "codebook); sdc never takes DP keys from the private data, because the list of "
        "categories present would itself leak"
    )


def truncate_units(df: pd.DataFrame, spec: DpSpec) -> tuple[np.ndarray, int]:
    """Keep at most ``contribution_bound`` records per privacy unit.

    Returns:
        ``(keep, d_in)``: a row mask and the sensitivity in records.
    """
    if spec.unit_column is None:
        return np.ones(len(df), dtype=bool), 1
    rank = df.groupby(spec.unit_column, sort=False, dropna=False).cumcount().to_numpy()
    return rank < spec.contribution_bound, spec.contribution_bound


def _measure_counts(
    leaf_flat: np.ndarray, n_leaves: int, d_in: int, spec: DpSpec, budget: Budget
) -> _Noisy:
    cats = [str(i) for i in range(n_leaves)]
    domain = dp.vector_domain(dp.atom_domain(T=str))
    data = leaf_flat.astype(str).tolist()
    if spec.mechanism == "laplace":
        count = dp.t.make_count_by_categories(
            domain, dp.symmetric_distance(), cats, null_category=False
        )
        scale = _laplace_scale(d_in, budget.epsilon)
        meas = count >> dp.m.then_laplace(scale)
        spent = Budget(float(meas.map(d_in)))
        kind: NoiseKind = "discrete_laplace"
        chain = "make_count_by_categories >> make_laplace (discrete Laplace)"
    else:
        count = dp.t.make_count_by_categories(
            domain, dp.symmetric_distance(), cats, null_category=False, MO=dp.L2Distance[int]
        )

        def build(s: float) -> Any:
            inner = count >> dp.m.then_gaussian(s)
            return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(inner), budget.delta)

        scale = float(dp.binary_search_param(build, d_in, (budget.epsilon, budget.delta)))
        meas = build(scale)
        eps, delta = meas.map(d_in)
        spent = Budget(float(eps), float(delta))
        kind = "discrete_gaussian"
        chain = "make_count_by_categories >> make_gaussian (discrete Gaussian, zCDP -> approxDP)"
    leaves = np.asarray(meas(data), dtype=float)
    return _Noisy(
        leaves=leaves,
        kind=kind,
        scale=scale,
        budget=spent,
        description=f"counts: OpenDP {chain}, scale {scale:.6g}, d_in {d_in} records",
    )


def _measure_count_vector(counts: np.ndarray, d_in: int, spec: DpSpec, budget: Budget) -> _Noisy:
    """Noisy counts from the vector of truncated cell counts (the engine path).

    ``make_count_by_categories`` on records maps ``d_in`` records (symmetric distance) to
    an L1 (or L2) distance of ``d_in`` between count vectors: one record moves one count
    by one. Measuring the aggregated vector with OpenDP's integer ``make_laplace`` /
    ``make_gaussian`` at that distance is therefore the same mechanism - discrete noise
    of the same scale on the same counts, with the same privacy map - only the counting
    (and the truncation to ``contribution_bound`` records per unit) happened in the
    engine instead of in OpenDP's transformation.
    """
    data = [int(x) for x in np.rint(counts)]
    leaves, scale, spent = _measure_vector(data, int, d_in, spec.mechanism, budget)
    kind: NoiseKind = "discrete_laplace" if spec.mechanism == "laplace" else "discrete_gaussian"
    chain = (
        "make_laplace on the vector of cell counts (discrete Laplace)"
        if spec.mechanism == "laplace"
        else "make_gaussian on the vector of cell counts (discrete Gaussian, zCDP -> approxDP)"
    )
    return _Noisy(
        leaves=leaves,
        kind=kind,
        scale=scale,
        budget=spent,
        description=(
            f"counts: aggregated in the counting engine, OpenDP {chain}, scale {scale:.6g}, "
            f"d_in {d_in} records"
        ),
    )


def _measure_vector(
    data: list[Any], kind: type | str, sensitivity: float, mechanism: str, budget: Budget
) -> tuple[np.ndarray, float, Budget]:
    """One OpenDP measurement on a vector of aggregates (never seeded).

    Laplace (discrete for integers) at scale ``sensitivity / epsilon``, or Gaussian
    (discrete for integers) under zCDP converted to (epsilon, delta), its scale found by
    OpenDP's binary search. Returns the noisy vector, the scale and the budget spent.
    ``kind`` is an OpenDP atom type (``int`` is i32, ``"i64"`` for large sums).
    """
    domain = dp.vector_domain(
        dp.atom_domain(T=kind, nan=False) if kind is float else dp.atom_domain(T=kind)
    )
    if mechanism == "laplace":
        scale = _laplace_scale(sensitivity, budget.epsilon)
        meas = dp.m.make_laplace(domain, dp.l1_distance(T=kind), scale)
        spent = Budget(float(meas.map(sensitivity)))
    else:

        def build(s: float) -> Any:
            inner = dp.m.make_gaussian(domain, dp.l2_distance(T=kind), s)
            return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(inner), budget.delta)

        target = (budget.epsilon, budget.delta)
        # zCDP scales with (sensitivity / scale)**2: find the scale at sensitivity 1, then
        # search near its multiple (a search from far off overflows OpenDP's map at
        # sensitivities of millions of grid units).
        unit = float(dp.binary_search_param(build, 1, target))
        scale = float(
            dp.binary_search_param(
                build,
                sensitivity,
                target,
                bounds=(0.5 * unit * sensitivity, 2.0 * unit * sensitivity),
            )
        )
        meas = build(scale)
        eps, delta = meas.map(sensitivity)
        spent = Budget(float(eps), float(delta))
    return np.asarray(meas(data), dtype=float), scale, spent


def _laplace_scale(sensitivity: float, epsilon: float) -> float:
    """Laplace scale for ``epsilon`` at ``sensitivity`` (a seam for the empirical DP tests)."""
    return sensitivity / epsilon


def _measure_sums(
    unit_sums: np.ndarray, d_in: int, step: float, spec: DpSpec, budget: Budget
) -> _Noisy:
    """Noisy sums from the exact integer grid sums of the cells (see the module docstring).

    Args:
        unit_sums: per interior cell, the sum of the kept records' grid integers.
        d_in: the exact L1 (L2) sensitivity in grid units, ``contribution_bound * K``.
        step: the grid step ``q``.
        spec: the DP spec.
        budget: the (epsilon, delta) of this measurement.
    """
    data = [int(x) for x in np.asarray(unit_sums, dtype=np.int64)]
    leaves, scale, spent = _measure_vector(data, "i64", d_in, spec.mechanism, budget)
    kind: NoiseKind = "laplace" if spec.mechanism == "laplace" else "gaussian"
    noise = "discrete Laplace" if spec.mechanism == "laplace" else "discrete Gaussian"
    return _Noisy(
        leaves=leaves * step,
        kind=kind,
        scale=scale * step,
        budget=spent,
        description=(
            f"sums: clamped per record to the bounds and put on the grid of step {step:.6g} "
            f"as integers, exact integer cell sums, OpenDP make_{spec.mechanism} on the i64 "
            f"vector ({noise}), scale {scale * step:.6g}, sensitivity {d_in * step:.6g} "
            f"({d_in} grid units)"
        ),
    )


def _intervals(
    cube: Cube, kind: NoiseKind, scale: float, value: np.ndarray, coverage: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell noise sd and interval half-width, from the number of summed noises."""
    terms = np.rint(cube.aggregate(np.ones(tuple(d.n_leaves for d in cube.dims)))).astype(int)
    sd = noise_sd(kind, scale) * np.sqrt(terms)
    half = np.empty(len(value))
    cache: dict[int, float] = {}
    for t in np.unique(terms):
        cache[int(t)] = noise_quantile(kind, scale, int(t), coverage)
    half = np.array([cache[int(t)] for t in terms])
    return sd, half


def dp_cells(
    cube: Cube,
    leaf_codes: np.ndarray,
    variable: np.ndarray | None,
    statistic: str,
    spec: DpSpec,
    d_in: int,
) -> DpCells:
    """Measure a DP table and post-process it (see the module docstring).

    Args:
        cube: the table structure built from the listed keys.
        leaf_codes: ``(n, d)`` leaf codes of the kept records (all >= 0).
        variable: the summed/averaged variable of the kept records (None for counts).
        statistic: ``count``, ``sum`` or ``mean``.
        spec: the DP spec.
        d_in: records per privacy unit after truncation.
    """
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    size = int(np.prod(n_leaves))
    leaf_flat = (
        np.ravel_multi_index(tuple(leaf_codes.T), n_leaves)
        if len(leaf_codes)
        else np.zeros(0, dtype=np.int64)
    )
    unit_sums = None
    if statistic != "count":
        assert variable is not None and spec.bounds is not None
        units = sum_units(variable, spec.bounds, sum_step(spec.bounds))
        unit_sums = np.zeros(size, dtype=np.int64)
        np.add.at(unit_sums, leaf_flat, units)
    return _dp_table(
        cube,
        statistic,
        spec,
        d_in,
        lambda budget: _measure_counts(leaf_flat, size, d_in, spec, budget),
        unit_sums,
    )


def dp_cells_from_aggregates(
    cube: Cube,
    counts: np.ndarray,
    unit_sums: np.ndarray | None,
    statistic: str,
    spec: DpSpec,
    d_in: int,
) -> DpCells:
    """Measure a DP table from interior-cell aggregates computed by a counting engine.

    The engine has kept at most ``contribution_bound`` records per unit and put each
    clamped value on the grid of :func:`sum_step` before aggregating (see
    ``grouped_sums(clamp_step=...)``); the measurement and the post-processing are those of
    :func:`dp_cells`, on the same aggregates.

    Args:
        cube: the table structure built from the listed keys.
        counts: kept records per interior cell (flat, C order of the leaves); for means,
            the kept records with a value.
        unit_sums: sum of the grid integers (:func:`sum_units`) per interior cell (int64;
            None for counts).
        statistic: ``count``, ``sum`` or ``mean``.
        spec: the DP spec.
        d_in: records per privacy unit after truncation.
    """
    return _dp_table(
        cube,
        statistic,
        spec,
        d_in,
        lambda budget: _measure_count_vector(counts, d_in, spec, budget),
        None if unit_sums is None else _exact_int64(unit_sums),
    )


def _exact_int64(values: np.ndarray) -> np.ndarray:
    """``values`` as int64, refusing anything that is not an exact integer."""
    arr = np.asarray(values)
    out = arr.astype(np.int64)
    if not np.array_equal(out, arr):
        raise ValueError("DP sums must be measured on exact integer grid sums")
    return out


def _dp_table(
    cube: Cube,
    statistic: str,
    spec: DpSpec,
    d_in: int,
    measure_counts: Callable[[Budget], _Noisy],
    unit_sums: np.ndarray | None,
) -> DpCells:
    """Measure (counts through ``measure_counts``, sums on ``unit_sums``) and post-process."""
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    total = Budget(spec.epsilon, spec.delta)
    agg: Callable[[np.ndarray], np.ndarray] = lambda leaves: cube.aggregate(  # noqa: E731
        leaves.reshape(n_leaves)
    )
    if statistic == "count":
        noisy = measure_counts(total)
        value = agg(np.maximum(noisy.leaves, 0.0))
        sd, half = _intervals(cube, noisy.kind, noisy.scale, value, 0.95)
        return DpCells(
            value=np.rint(value),
            noise_scale=sd,
            ci_low=np.maximum(value - half, 0.0),
            ci_high=value + half,
            budget=noisy.budget,
            mechanism=noisy.description,
        )
    assert unit_sums is not None and spec.bounds is not None
    lo, hi = spec.bounds
    step = sum_step(spec.bounds)
    units_d_in = d_in * max_units(spec.bounds, step)
    nonneg = lo >= 0
    if statistic == "sum":
        noisy = _measure_sums(unit_sums, units_d_in, step, spec, total)
        leaves = np.maximum(noisy.leaves, 0.0) if nonneg else noisy.leaves
        value = agg(leaves)
        sd, half = _intervals(cube, noisy.kind, noisy.scale, value, 0.95)
        low = value - half
        return DpCells(
            value=value,
            noise_scale=sd,
            ci_low=np.maximum(low, 0.0) if nonneg else low,
            ci_high=value + half,
            budget=noisy.budget,
            mechanism=noisy.description,
        )
    half_budget = Budget(total.epsilon / 2, total.delta / 2)
    n_noisy = measure_counts(half_budget)
    s_noisy = _measure_sums(unit_sums, units_d_in, step, spec, half_budget)
    counts = agg(np.maximum(n_noisy.leaves, 0.0))
    sums = agg(s_noisy.leaves)
    denom = np.maximum(counts, 1.0)
    mean = np.clip(sums / denom, lo, hi)
    c_sd, c_half = _intervals(cube, n_noisy.kind, n_noisy.scale, counts, 0.975)
    s_sd, s_half = _intervals(cube, s_noisy.kind, s_noisy.scale, sums, 0.975)
    sd = np.sqrt(s_sd**2 + (mean * c_sd) ** 2) / denom
    c_lo, c_hi = counts - c_half, counts + c_half
    s_lo, s_hi = sums - s_half, sums + s_half
    ok = c_lo > 0
    safe_lo = np.where(ok, c_lo, 1.0)
    corners = np.stack([s_lo / safe_lo, s_lo / c_hi, s_hi / safe_lo, s_hi / c_hi])
    ci_low = np.where(ok, np.clip(corners.min(axis=0), lo, hi), lo)
    ci_high = np.where(ok, np.clip(corners.max(axis=0), lo, hi), hi)
    return DpCells(
        value=mean,
        noise_scale=sd,
        ci_low=ci_low,
        ci_high=ci_high,
        budget=n_noisy.budget + s_noisy.budget,
        mechanism=f"mean = noisy sum / noisy count; {n_noisy.description}; {s_noisy.description}",
    )
