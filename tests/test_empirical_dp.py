"""Empirical differential privacy: a statistical lower bound on epsilon from many runs.

For each DP table kind (count, sum, mean; ``unit: individual`` and ``unit: household``)
two neighbouring datasets D and D' (D plus one record, or plus one household of
``contribution_bound`` records) go through the library's own DP path
(:func:`sdc.tables.build_table`) many times, and the released cell values are compared.

Many draws at once: the table is grouped by a replicate key ``rep`` with ``R`` listed
categories, and every replicate cell holds a copy of the cell's data (of D, or of D').
The vector measurement gives every interior cell independent noise and the
post-processing is per cell, so the ``R`` released cells are ``R`` independent draws of
the cell mechanism on D (or D').

For an event ``A`` (here half-lines ``x <= t`` and ``x > t`` at fixed thresholds ``t``
around the true value, chosen before sampling) an (epsilon, delta)-DP mechanism has
``P_D(A) <= exp(epsilon) * P_D'(A) + delta`` and the same with D and D' swapped. With
one-sided Clopper-Pearson bounds ``p_lo`` and ``p_hi`` (Bonferroni over every bound
computed, overall confidence ``1 - ALPHA``), ``log((p_lo(D, A) - delta) / p_hi(D', A))`` is a
lower bound on the true epsilon; its maximum over events and directions must not exceed
the claimed epsilon. A deliberately broken mechanism (Laplace scale halved) must fail.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from sdc.risk.engines import get_engine
from sdc.tables import DpSpec, TableSpec, build_table
from sdc.tables import dp as dp_module

#: Draws of the released cell per dataset.
DRAWS = 4000
#: Probability that any test of this file fails for a correct mechanism (at most).
ALPHA = 1e-6  # per test: a correct mechanism fails CI about once in a million runs
#: Thresholds, in noise standard deviations around the midpoint of the two true values.
OFFSETS = (-1.5, -0.75, 0.0, 0.75, 1.5)
#: Records per cell in D, and their value (bounds are (0, 100)); the extra record(s) of D'
#: are at the upper bound. Means use fewer records at the lower bound, where one more
#: record moves the mean most.
CELL_RECORDS = 40
VALUE = 50.0
MEAN_RECORDS = 10
MEAN_VALUE = 0.0
BOUNDS = (0.0, 100.0)


@dataclass(frozen=True)
class Kind:
    """One DP table kind under test."""

    statistic: str
    unit: str
    mechanism: str = "laplace"
    epsilon: float = 1.0
    delta: float = 0.0
    engine: str | None = None

    @property
    def name(self) -> str:
        via = f"-{self.engine}" if self.engine else ""
        return f"{self.statistic}-{self.unit}-{self.mechanism}{via}"

    @property
    def records(self) -> int:
        return MEAN_RECORDS if self.statistic == "mean" else CELL_RECORDS

    @property
    def value(self) -> float:
        return MEAN_VALUE if self.statistic == "mean" else VALUE

    @property
    def extra(self) -> int:
        return HOUSEHOLD if self.unit == "household" else 1


KINDS = [
    Kind("count", "individual"),
    Kind("count", "household"),
    Kind("sum", "individual"),
    Kind("sum", "household"),
    Kind("mean", "individual"),
    Kind("mean", "household"),
    Kind("count", "individual", "gaussian", 1.0, 1e-6),
    Kind("sum", "household", "gaussian", 1.0, 1e-6),
    # The engine path: truncation and integer grid sums computed in DuckDB.
    Kind("sum", "household", engine="duckdb"),
    Kind("mean", "individual", engine="duckdb"),
]

#: Records per household (and contribution bound) under ``unit: household``.
HOUSEHOLD = 2


def _datasets(kind: Kind) -> tuple[pd.DataFrame, pd.DataFrame]:
    """D and D' (D plus one record, or one household at the upper bound) per replicate."""
    n = kind.records
    reps = np.repeat(np.arange(DRAWS), n)
    base = pd.DataFrame(
        {
            "rep": reps.astype(str),
            "v": np.full(len(reps), kind.value),
            # Households of HOUSEHOLD records within a replicate; unique over replicates.
            "hh": reps * n + np.tile(np.arange(n) // HOUSEHOLD, DRAWS),
        }
    )
    extra_size = kind.extra
    extra = pd.DataFrame(
        {
            "rep": np.repeat(np.arange(DRAWS), extra_size).astype(str),
            "v": np.full(DRAWS * extra_size, BOUNDS[1]),
            "hh": np.repeat(-1 - np.arange(DRAWS), extra_size),  # a new household each
        }
    )
    return base, pd.concat([base, extra], ignore_index=True)


def _spec(kind: Kind) -> TableSpec:
    household = kind.unit == "household"
    dp = DpSpec(
        epsilon=kind.epsilon,
        delta=kind.delta,
        mechanism=kind.mechanism,  # type: ignore[arg-type]
        bounds=BOUNDS if kind.statistic != "count" else None,
        unit=kind.unit,  # type: ignore[arg-type]
        unit_column="hh" if household else None,
        contribution_bound=HOUSEHOLD if household else 1,
        keys={"rep": [str(i) for i in range(DRAWS)]},
    )
    if kind.statistic == "count":
        return TableSpec(by=("rep",), count=True, dp=dp)
    if kind.statistic == "sum":
        return TableSpec(by=("rep",), sum="v", dp=dp)
    return TableSpec(by=("rep",), mean="v", dp=dp)


def _draws(
    df: pd.DataFrame, spec: TableSpec, engine: str | None
) -> tuple[np.ndarray, float, float]:
    """The released interior cells (one draw each), their noise sd and the epsilon spent."""
    table = build_table(df, spec, engine=None if engine is None else get_engine(engine))  # type: ignore[arg-type]
    cells = table.table[table.table["rep"] != "Total"]
    assert len(cells) == DRAWS
    values = cells[spec.statistic].to_numpy(dtype=float)
    return values, float(cells["noise_scale"].iloc[0]), table.budget.epsilon


def _cp_lower(k: int, n: int, a: float) -> float:
    return 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))


def _cp_upper(k: int, n: int, a: float) -> float:
    return 1.0 if k == n else float(beta.ppf(1 - a, k + 1, n - k))


def epsilon_lower_bound(
    x: np.ndarray, y: np.ndarray, thresholds: np.ndarray, delta: float, alpha: float = ALPHA
) -> float:
    """Largest epsilon lower bound over the events ``<= t`` and ``> t``, both directions.

    Args:
        x: draws of the mechanism on D.
        y: draws on D'.
        thresholds: the fixed thresholds ``t`` (chosen without looking at the draws).
        delta: the mechanism's claimed delta.
        alpha: overall probability of a bound above the true epsilon.
    """
    events = [(x <= t, y <= t) for t in thresholds] + [(x > t, y > t) for t in thresholds]
    # Each (event, direction) uses one lower and one upper one-sided bound.
    a = alpha / (4 * len(events))
    best = -math.inf
    for ex, ey in events:
        kx, ky = int(ex.sum()), int(ey.sum())
        for k_num, n_num, k_den, n_den in ((kx, len(x), ky, len(y)), (ky, len(y), kx, len(x))):
            num = _cp_lower(k_num, n_num, a) - delta
            den = _cp_upper(k_den, n_den, a)
            if num > 0:
                best = max(best, math.log(num / den))
    return best


def _measure(kind: Kind) -> tuple[float, float]:
    """``(epsilon lower bound, epsilon recorded)`` for ``kind``."""
    d, d_prime = _datasets(kind)
    spec = _spec(kind)
    x, sd, spent = _draws(d, spec, kind.engine)
    y, _, spent_prime = _draws(d_prime, spec, kind.engine)
    assert spent == pytest.approx(spent_prime)
    # Thresholds from the true cell values of D and D' (known here), not from the draws.
    n, extra = kind.records, kind.extra
    if kind.statistic == "count":
        centre = n + extra / 2
    elif kind.statistic == "sum":
        centre = n * kind.value + extra * BOUNDS[1] / 2
    else:
        centre = (kind.value + (n * kind.value + extra * BOUNDS[1]) / (n + extra)) / 2
    thresholds = centre + np.asarray(OFFSETS) * sd
    return epsilon_lower_bound(x, y, thresholds, kind.delta), spent


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_empirical_epsilon_within_claim(kind: Kind) -> None:
    lower, spent = _measure(kind)
    assert spent <= kind.epsilon + 1e-9
    assert lower <= kind.epsilon, f"{kind.name}: epsilon >= {lower:.3f} with confidence"


@pytest.mark.slow
@pytest.mark.parametrize("statistic", ["count", "sum"])
def test_broken_mechanism_is_caught(statistic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Halving the Laplace scale doubles the true epsilon; the test must see it."""
    real = dp_module._laplace_scale
    monkeypatch.setattr(
        dp_module, "_laplace_scale", lambda sensitivity, epsilon: real(sensitivity, epsilon) / 2
    )
    kind = Kind(statistic, "individual")
    lower, _ = _measure(kind)
    assert lower > kind.epsilon


def test_lower_bound_of_identical_samples_is_small() -> None:
    rng = np.random.default_rng(0)  # test data only, not DP noise
    x, y = rng.laplace(size=2000), rng.laplace(size=2000)
    assert epsilon_lower_bound(x, y, np.array([-1.0, 0.0, 1.0]), 0.0) < 0.3
