"""AIM: adaptive, workload-aware selection of the marginals to measure.

The mechanism of McKenna, Mullins, Sheldon and Miklau (2022), "AIM: An Adaptive and Iterative
Mechanism for Differentially Private Synthetic Data", written for ``sdc`` on the OpenDP
measurements of ``_dp`` and the graphical-model estimator of ``_pgm``:

1. The *workload* is a list of sets of columns whose marginals should be accurate (by default
   every pair). The *candidates* are every non-empty subset of a workload set; candidate
   ``r`` has weight ``w_r = sum over workload sets s of |r & s|``.
2. With ``T = 16 m`` (``m`` columns), every 1-way marginal is measured with Gaussian noise
   at ``rho_meas = 0.9 rho / T`` each.
3. Then rounds, each spending ``rho_sel + rho_meas`` (``rho_sel = 0.1 rho / T`` at first):

   * the candidates whose addition keeps the junction tree of the model within
     ``max_cells * (rho used after the round) / rho`` cells are kept;
   * the exponential mechanism (OpenDP's report-noisy-max, Gumbel noise) picks one with
     score ``w_r * (||M_r(data) - M_r(model)||_1 - sqrt(2 / pi) * sigma * n_r)``: its error
     under the current model less the error expected from measuring it (``n_r`` cells). The
     score moves by at most ``w_r`` times the unit's contribution between neighbours, and
     the mechanism is calibrated at the largest weight;
   * its marginal is measured with Gaussian noise (std ``sigma``) and the model refitted;
   * if the model's marginal on ``r`` moved by less than the expected noise, the noise is
     halved and the selection's epsilon doubled (each share times four).

4. When what is left is less than two rounds, or when one more round would not fit in the
   time limit, the last round spends *all* of what is left (a tenth on the selection, the
   rest on the measurement). So the measurements always add up to the whole budget: the
   time limit only decides how many rounds share it, never that less is spent.

Every noisy number comes from an OpenDP measurement and is never seeded. All true marginals
are computed once, before the first round, so the time a round takes depends on the private
data only through the DP measurements.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sdc.synth import _dp
from sdc.synth._dp import Measurement
from sdc.synth._pgm import (
    Clique,
    Estimator,
    GraphicalModel,
    Observation,
    clique_size,
    estimate_total,
    model_size,
)

#: Largest junction tree (cells of all its cliques) the model may grow to.
MAX_CELLS = 1_000_000
#: Share of each round's budget spent on the measurement (the rest on the selection).
MEASURE_SHARE = 0.9
#: Mirror-descent steps after each round, and at the end (both within the time limit).
ROUND_ITERATIONS = 60
FINAL_ITERATIONS = 1000
#: Shares of the time limit: rounds stop starting after ``LAST_ROUND``; fitting stops at
#: ``FIT_END`` (sampling and decoding follow).
LAST_ROUND = 0.75
FIT_END = 0.92


@dataclass(frozen=True)
class AimRun:
    """The fitted model and the account of an AIM run.

    Attributes:
        model: the graphical model fitted to all measurements.
        selected: the cliques selected, one per round, in order.
        measurements: every DP measurement with its privacy loss.
        sigma_1way: the noise std of the 1-way measurements.
        sigma_last: the noise std of the last round's measurement.
        selection_scale: the Gumbel scale of the last selection.
        ended: ``"budget"`` or ``"time limit"``: what made the last round the last.
    """

    model: GraphicalModel
    selected: tuple[Clique, ...]
    measurements: tuple[Measurement, ...]
    sigma_1way: float
    sigma_last: float
    selection_scale: float
    ended: str


def candidates(workload: Sequence[Clique]) -> dict[Clique, float]:
    """Every non-empty subset of a workload set, with its weight ``sum_s |r & s|``."""
    out: dict[Clique, float] = {}
    for s in workload:
        for k in range(1, len(s) + 1):
            for r in itertools.combinations(sorted(s), k):
                out[r] = 0.0
    for r in out:
        out[r] = float(sum(len(set(r) & set(s)) for s in workload))
    return out


def _counts(codes: np.ndarray, clique: Clique, sizes: Sequence[int]) -> np.ndarray:
    """The true counts of ``clique`` (a table with one axis per column)."""
    shape = [sizes[a] for a in clique]
    key = np.ravel_multi_index(tuple(codes[:, a] for a in clique), shape)
    return np.bincount(key, minlength=math.prod(shape)).reshape(shape).astype(float)


@dataclass
class _State:
    """What the rounds share: the budget, the measurements and the fitted model."""

    sizes: tuple[int, ...]
    names: tuple[str, ...]
    budget: float
    sensitivity: float
    observations: list[Observation]
    measurements: list[Measurement]
    estimator: Estimator
    model: GraphicalModel | None = None

    @property
    def fitted(self) -> GraphicalModel:
        assert self.model is not None, "no model fitted yet"
        return self.model

    @property
    def used(self) -> float:
        return math.fsum(m.rho for m in self.measurements)

    def measure(self, clique: Clique, truth: np.ndarray, rho: float) -> float:
        noisy, sigma, spent = _dp.gaussian_counts(truth, rho, self.sensitivity)
        cols = tuple(self.names[a] for a in clique)
        self.measurements.append(
            Measurement(f"{len(clique)}-way", cols, spent, sigma, self.sensitivity)
        )
        self.observations.append(Observation(clique, noisy, sigma))
        return sigma


def run_aim(
    codes: np.ndarray,
    sizes: Sequence[int],
    names: Sequence[str],
    *,
    rho: float,
    sensitivity: float,
    workload: Sequence[Clique],
    deadline: float,
    max_cells: int = MAX_CELLS,
) -> AimRun:
    """Run AIM on encoded records and fit the final model.

    Args:
        codes: (n, m) codes of the private records.
        sizes: codes per column.
        names: column names (for the account).
        rho: the zCDP budget; all of it is spent (less a relative 1e-12 against rounding).
        sensitivity: the records one privacy unit may contribute (1 for a record).
        workload: sets of column indices whose marginals matter (each within ``max_cells``).
        deadline: ``time.monotonic()`` instant by which the run should be done; the budget
            is spent in full whatever it says.
        max_cells: the largest junction tree the model may grow to.

    Returns:
        The fitted model and the account.
    """
    start = time.monotonic()
    m = len(sizes)
    budget = rho * (1.0 - 1e-12)
    rounds = 16 * m
    weights = candidates(workload)
    truth = {r: _counts(codes, r, sizes) for r in {*weights, *((a,) for a in range(m))}}
    rho_meas = MEASURE_SHARE * budget / rounds if weights.keys() - {(a,) for a in range(m)} else 0.0
    one_way = budget / m if rho_meas == 0.0 else rho_meas
    state = _State(
        tuple(sizes), tuple(names), budget, sensitivity, [], [], Estimator(tuple(sizes), 1.0)
    )
    sigma_1 = 0.0
    for a in range(m):
        sigma_1 = state.measure((a,), truth[(a,)], one_way)
    state.estimator.total = estimate_total(state.observations)
    fit_end = start + FIT_END * (deadline - start)
    state.model = state.estimator.fit(state.observations, ROUND_ITERATIONS, fit_end)
    if rho_meas == 0.0:
        return AimRun(state.fitted, (), tuple(state.measurements), sigma_1, sigma_1, 0.0, "budget")
    return _rounds(state, truth, weights, rho_meas, rounds, max_cells, start, deadline, sigma_1)


def _rounds(
    state: _State,
    truth: dict[Clique, np.ndarray],
    weights: dict[Clique, float],
    rho_meas: float,
    rounds: int,
    max_cells: int,
    start: float,
    deadline: float,
    sigma_1: float,
) -> AimRun:
    """The adaptive rounds of AIM, then the final fit."""
    rho_sel = (1.0 - MEASURE_SHARE) * state.budget / rounds
    last_start = start + LAST_ROUND * (deadline - start)
    fit_end = start + FIT_END * (deadline - start)
    selected: list[Clique] = []
    sigma = scale = 0.0
    ended = "budget"
    took = 0.0
    w_max = max(weights.values())
    while True:
        began = time.monotonic()
        left = state.budget - state.used
        final = left <= 2.0 * (rho_sel + rho_meas)
        if not final and began + 2.0 * took > last_start:
            final, ended = True, "time limit"
        if final:
            rho_sel = (1.0 - MEASURE_SHARE) * left
        chosen, scale, spent = _select(
            state,
            truth,
            weights,
            rho_sel,
            rho_meas if not final else left - rho_sel,
            max_cells,
            w_max,
        )
        if final:
            rho_meas = state.budget - state.used
        before = state.fitted.marginal(chosen) * state.estimator.total
        sigma = state.measure(chosen, truth[chosen], rho_meas)
        selected.append(chosen)
        state.model = state.estimator.fit(state.observations, ROUND_ITERATIONS, fit_end)
        if final:
            break
        after = state.fitted.marginal(chosen) * state.estimator.total
        if np.abs(after - before).sum() <= math.sqrt(2.0 / math.pi) * sigma * before.size:
            rho_meas, rho_sel = 4.0 * rho_meas, 4.0 * rho_sel
        took = time.monotonic() - began
    state.model = state.estimator.fit(state.observations, FINAL_ITERATIONS, fit_end)
    return AimRun(
        state.fitted, tuple(selected), tuple(state.measurements), sigma_1, sigma, scale, ended
    )


def _select(
    state: _State,
    truth: dict[Clique, np.ndarray],
    weights: dict[Clique, float],
    rho_sel: float,
    rho_meas: float,
    max_cells: int,
    w_max: float,
) -> tuple[Clique, float, float]:
    """One selection by the exponential mechanism; returns the clique, Gumbel scale, rho."""
    sizes = state.sizes
    limit = max_cells * min(1.0, (state.used + rho_sel + rho_meas) / state.budget)
    measured = [o.clique for o in state.observations]
    held = [set(c) for c in state.fitted.tree.cliques]
    now = sum(clique_size(c, sizes) for c in state.fitted.tree.cliques)

    def fits(r: Clique) -> bool:
        if any(set(r) <= c for c in held):  # the junction tree stays as it is
            return now <= limit
        return clique_size(r, sizes) <= limit and model_size([*measured, r], sizes) <= limit

    pool = [r for r in weights if fits(r)]
    if not pool:  # the 1-way marginals always fit once the model holds them
        pool = [r for r in weights if len(r) == 1] or list(weights)
    sigma = state.sensitivity / math.sqrt(2.0 * rho_meas)
    total = state.estimator.total
    scores = np.array(
        [
            weights[r]
            * (
                float(np.abs(truth[r] - total * state.fitted.marginal(r)).sum())
                - math.sqrt(2.0 / math.pi) * sigma * truth[r].size
            )
            for r in pool
        ]
    )
    index, scale, spent = _dp.noisy_max(scores, rho_sel, state.sensitivity * w_max)
    cols = tuple(state.names[a] for a in pool[index])
    state.measurements.append(Measurement("select", cols, spent, scale, state.sensitivity * w_max))
    return pool[index], scale, spent
