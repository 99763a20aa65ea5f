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

Synthesis (MST) is tested the same way at the end of the file: its noisy marginals (the
step that reads the private data, per unit, household truncation included) and, end to
end, the synthetic records and the manifest's ``merged``; with noise too small or the
household truncation skipped the bound exceeds the claim.
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


# ---- synthesis (MST) -------------------------------------------------------------------------
#
# MST touches the private data in its noisy marginals (and in the selection of pairs, which
# with two columns is skipped: the pair is known). The replicate design above carries over:
# a column ``rep`` of SYNTH_DRAWS listed categories, every replicate holding a copy of D's
# records (or D''s); each cell of the noisy 1-way marginal of ``rep`` and each cell
# ``(rep, b)`` of the noisy 2-way marginal of ``rep`` and ``x`` gets its own Gaussian noise,
# so one synthesis gives SYNTH_DRAWS independent draws of a cell measurement on D (or D').
# The measurements are taken as OpenDP returns them inside ``synthesize`` (a spy around
# ``_dp.gaussian_counts`` that calls it unchanged), household truncation included. The
# claim each is held to is its own recorded loss, converted at the synthesis's delta.

from sdc.synth import _dp as synth_dp  # noqa: E402 - the synthesis section's imports
from sdc.synth import mst as mst_module  # noqa: E402
from sdc.synth import synthesize  # noqa: E402

#: Replicates of the marginal measurements, and records per replicate in D (all ``x = a``;
#: enough that no replicate's noisy count falls under MST's merging threshold).
SYNTH_DRAWS = 4000
SYNTH_RECORDS = 200
SYNTH_EPSILON, SYNTH_DELTA = 1.0, 1e-9
#: Under ``unit: household``: the policy's contribution bound, and the records of the
#: household that D' adds (all ``x = b``): truncation must cut it to the bound.
SYNTH_CONTRIBUTION, SYNTH_HOUSEHOLD = 2, 40


def _synth_datasets(unit: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """D, and D' with one more record (or household) ``x = b`` in every replicate."""
    reps = np.repeat(np.arange(SYNTH_DRAWS), SYNTH_RECORDS)
    base = pd.DataFrame({"rep": reps.astype(str), "x": "a", "hh": np.arange(len(reps))})
    size = SYNTH_HOUSEHOLD if unit == "household" else 1
    extra = pd.DataFrame(
        {
            "rep": np.repeat(np.arange(SYNTH_DRAWS), size).astype(str),
            "x": "b",
            "hh": np.repeat(-1 - np.arange(SYNTH_DRAWS), size),  # a new household each
        }
    )
    return base, pd.concat([base, extra], ignore_index=True)


def _synth_measurements(
    df: pd.DataFrame, unit: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, tuple[np.ndarray, float, float]]:
    """``{kind: (noisy cells, sigma, rho spent)}`` of the 1-way ``rep`` and 2-way measurements."""
    real = synth_dp.gaussian_counts
    seen: list[tuple[np.ndarray, float, float]] = []

    def spy(counts: np.ndarray, rho: float, sensitivity: float = 1.0):  # type: ignore[no-untyped-def]
        out = real(counts, rho, sensitivity)
        seen.append(out)
        return out

    monkeypatch.setattr(synth_dp, "gaussian_counts", spy)
    household = unit == "household"
    result = synthesize(
        df,
        columns=["rep", "x"],
        domains={"rep": [str(i) for i in range(SYNTH_DRAWS)], "x": ["a", "b"]},
        bounds={},
        epsilon=SYNTH_EPSILON,
        delta=SYNTH_DELTA,
        rows=1,
        seed=None,
        household="hh" if household else None,
        contribution=SYNTH_CONTRIBUTION if household else 1,
    )
    assert [m.kind for m in result.measurements] == ["1-way", "1-way", "2-way"]
    assert result.epsilon_spent <= SYNTH_EPSILON
    one_way, _, two_way = seen
    return {
        "1-way": one_way,
        "2-way": (two_way[0][:, 1], two_way[1], two_way[2]),  # the cells (rep, b)
    }


def _synth_bound(kind: str, unit: str, monkeypatch: pytest.MonkeyPatch) -> tuple[float, float]:
    """``(epsilon lower bound, epsilon claimed)`` of one MST marginal measurement."""
    d, d_prime = _synth_datasets(unit)
    x, sigma, rho = _synth_measurements(d, unit, monkeypatch)[kind]
    y, _, rho_prime = _synth_measurements(d_prime, unit, monkeypatch)[kind]
    assert rho == pytest.approx(rho_prime)
    shift = SYNTH_CONTRIBUTION if unit == "household" else 1  # after truncation
    centre = (SYNTH_RECORDS if kind == "1-way" else 0) + shift / 2
    thresholds = centre + np.asarray(OFFSETS) * sigma
    claimed = synth_dp.epsilon_from_rho(rho, SYNTH_DELTA)
    return epsilon_lower_bound(x, y, thresholds, SYNTH_DELTA), claimed


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["individual", "household"])
@pytest.mark.parametrize("kind", ["1-way", "2-way"])
def test_mst_marginals_epsilon_within_claim(
    kind: str, unit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lower, claimed = _synth_bound(kind, unit, monkeypatch)
    assert claimed <= SYNTH_EPSILON
    assert lower <= claimed, f"MST {kind} ({unit}): epsilon >= {lower:.3f} with confidence"


def _too_little_noise(monkeypatch: pytest.MonkeyPatch, factor: float) -> None:
    """Gaussian noise ``factor`` times too small, while the recorded loss stays the claim's.

    The thresholds follow the noise actually drawn (they may be any numbers fixed before
    sampling), so the test looks where the difference is.
    """
    real = synth_dp.gaussian_counts

    def broken(counts: np.ndarray, rho: float, sensitivity: float = 1.0):  # type: ignore[no-untyped-def]
        noisy, sigma, spent = real(counts, rho * factor**2, sensitivity)
        return noisy, sigma, spent / factor**2

    monkeypatch.setattr(synth_dp, "gaussian_counts", broken)


@pytest.mark.slow
@pytest.mark.parametrize("unit", ["individual", "household"])
def test_mst_with_too_little_noise_is_caught(unit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _too_little_noise(monkeypatch, 16.0)
    lower, claimed = _synth_bound("2-way", unit, monkeypatch)
    assert lower > claimed


@pytest.mark.slow
def test_mst_without_household_truncation_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skipping the truncation lets a household of 40 move a count by 40, not 2."""
    monkeypatch.setattr(mst_module, "truncate_households", lambda df, household, c: df)
    lower, claimed = _synth_bound("2-way", "household", monkeypatch)
    assert lower > claimed


# End to end: the released synthetic records and the manifest's ``merged`` (both
# post-processing of the measurements). One run gives one draw, so runs are repeated; the
# data are small: D holds E2E_RECORDS records ``x = a`` in households of one, D' adds one
# household of SYNTH_HOUSEHOLD records ``x = b`` (cut to SYNTH_CONTRIBUTION). Events: the
# synthetic file holds at least t records ``x = b`` (a rare combination), and ``b`` is among
# the merged categories.

E2E_DRAWS = 600
E2E_RECORDS = 40
#: Counts of ``x = b`` in the synthetic file, fixed before sampling.
E2E_THRESHOLDS = np.array([0.5, 2.5, 5.5, 10.5, 15.5])


def _e2e_draws(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """Synthetic counts of ``b``, whether ``b`` was merged (0/1), and the epsilon recorded."""
    counts = np.empty(E2E_DRAWS)
    merged = np.empty(E2E_DRAWS)
    spent = 0.0
    for i in range(E2E_DRAWS):
        result = synthesize(
            df,
            columns=["x"],
            domains={"x": ["a", "b", "c"]},
            bounds={},
            epsilon=SYNTH_EPSILON,
            delta=SYNTH_DELTA,
            rows=E2E_RECORDS,
            seed=None,
            household="hh",
            contribution=SYNTH_CONTRIBUTION,
        )
        counts[i] = int((result.data["x"] == "b").sum())
        merged[i] = float("b" in result.merged.get("x", ()))
        spent = result.epsilon_spent
    return counts, merged, spent


def _e2e_bound() -> tuple[float, float]:
    """``(epsilon lower bound, epsilon recorded)`` of the synthesis seen end to end."""
    base = pd.DataFrame({"x": "a", "hh": np.arange(E2E_RECORDS)})
    extra = pd.DataFrame({"x": "b", "hh": np.full(SYNTH_HOUSEHOLD, -1)})
    d, d_prime = base, pd.concat([base, extra], ignore_index=True)
    x_counts, x_merged, spent = _e2e_draws(d)
    y_counts, y_merged, _ = _e2e_draws(d_prime)
    # Bonferroni over both families of events: each gets half of ALPHA.
    lower = max(
        epsilon_lower_bound(x_counts, y_counts, E2E_THRESHOLDS, SYNTH_DELTA, ALPHA / 2),
        epsilon_lower_bound(x_merged, y_merged, np.array([0.5]), SYNTH_DELTA, ALPHA / 2),
    )
    return lower, spent


@pytest.mark.slow
def test_mst_synthetic_records_epsilon_within_claim() -> None:
    lower, spent = _e2e_bound()
    assert spent <= SYNTH_EPSILON
    assert lower <= spent, f"MST end to end: epsilon >= {lower:.3f} with confidence"


@pytest.mark.slow
def test_mst_synthetic_records_without_truncation_are_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mst_module, "truncate_households", lambda df, household, c: df)
    lower, spent = _e2e_bound()
    assert lower > spent
