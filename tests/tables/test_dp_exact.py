"""DP sums on exact integers: the grid, the exact cell sums and OpenDP's accounting."""

from __future__ import annotations

import numpy as np
import opendp.prelude as dp
import pandas as pd
import pytest

from sdc.budget import Budget
from sdc.risk.engines import get_engine
from sdc.tables import DpSpec, TableSpec, build_table
from sdc.tables import build as build_module
from sdc.tables import dp as dp_module
from sdc.tables.dp import max_units, sum_step, sum_units

dp.enable_features("contrib")


@pytest.mark.parametrize(
    ("bounds", "step"),
    [
        ((0, 100), 2.0**-14),
        ((-50, 50), 2.0**-15),
        ((0, 50000), 2.0**-5),
        ((0, 1), 2.0**-20),
        ((0.1, 0.3), 2.0**-22),
        ((0, 0), 1.0),
    ],
)
def test_sum_step_is_a_power_of_two_from_the_bounds(
    bounds: tuple[float, float], step: float
) -> None:
    assert sum_step(bounds) == step
    assert max_units(bounds, step) <= 2**21


def test_sum_units_stay_within_the_exact_bound() -> None:
    bounds = (-0.3, 0.7)
    step = sum_step(bounds)
    values = np.array([-1e9, -0.3, -0.1, 0.0, 0.1, 0.7, 3.5, 1e300, step / 2, -step / 2])
    units = sum_units(values, bounds, step)
    assert units.dtype == np.int64
    assert np.abs(units).max() <= max_units(bounds, step)
    assert units[-2] == 1 and units[-1] == 0  # ties go up: floor(x + 0.5)
    # Each unit is within half a step of the clamped value.
    assert np.all(np.abs(units * step - np.clip(values, *bounds)) <= step / 2)


def _spy_sums(monkeypatch: pytest.MonkeyPatch) -> list[tuple[np.ndarray, int, float]]:
    seen: list[tuple[np.ndarray, int, float]] = []
    real = dp_module._measure_sums

    def spy(unit_sums, d_in, step, spec, budget):  # type: ignore[no-untyped-def]
        seen.append((np.asarray(unit_sums).copy(), d_in, step))
        return real(unit_sums, d_in, step, spec, budget)

    monkeypatch.setattr(dp_module, "_measure_sums", spy)
    return seen


def test_cell_sums_do_not_depend_on_record_order(monkeypatch: pytest.MonkeyPatch) -> None:
    # Float sums of these values depend on the order; the integer grid sums do not.
    values = [1e15, 0.1, -1e15, 0.2, 0.3, 7.7] * 50
    assert sum(values) != sum(sorted(values))
    df = pd.DataFrame({"g": ["a"] * len(values), "v": values})
    spec = TableSpec(
        by=("g",), sum="v", dp=DpSpec(epsilon=1.0, bounds=(-1e15, 1e15), keys={"g": ["a"]})
    )
    seen = _spy_sums(monkeypatch)
    build_table(df, spec)
    build_table(df.iloc[::-1].reset_index(drop=True), spec)
    build_table(df.sort_values("v").reset_index(drop=True), spec)
    assert len(seen) == 3
    assert all(s[0].dtype == np.int64 for s in seen)
    assert seen[0][0].tolist() == seen[1][0].tolist() == seen[2][0].tolist()


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_engines_give_the_in_memory_integer_sums(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(3)  # test data only, not DP noise
    n = 5000
    df = pd.DataFrame(
        {
            "g": rng.choice(["a", "b", "c"], n),
            "hh": rng.integers(0, 1500, n),
            "v": np.round(rng.normal(20, 40, n), 3),
        }
    )
    bounds = (-10.0, 60.0)
    step = sum_step(bounds)
    df.loc[:9, "v"] = np.arange(10) * step + step / 2  # ties on the grid
    dp_spec = DpSpec(
        epsilon=1.0,
        bounds=bounds,
        keys={"g": ["a", "b", "c"]},
        unit="household",
        unit_column="hh",
        contribution_bound=2,
    )
    spec = TableSpec(by=("g",), mean="v", dp=dp_spec)
    seen = _spy_sums(monkeypatch)
    build_table(df, spec)
    build_table(df, spec, engine=get_engine(engine))  # type: ignore[arg-type]
    (memory, d_mem, _), (eng, d_eng, _) = seen
    assert eng.dtype == np.int64
    assert memory.tolist() == eng.tolist()
    assert d_mem == d_eng == 2 * max_units(bounds, step)
    grouped = get_engine(engine).grouped_sums(  # type: ignore[arg-type]
        df, ["g"], "v", clamp=bounds, unit="hh", contribution_bound=2, clamp_step=step
    )
    assert grouped.columns[-1] == "clamped_units" and grouped["clamped_units"].dtype == np.int64


def test_clamp_step_needs_clamp() -> None:
    df = pd.DataFrame({"g": ["a"], "v": [1.0]})
    with pytest.raises(ValueError, match=r"^clamp_step needs clamp$"):
        get_engine("pandas").grouped_sums(df, ["g"], "v", clamp_step=1.0)
    with pytest.raises(ValueError, match=r"^clamp_step must be a finite number > 0, not 0.0$"):
        get_engine("pandas").grouped_sums(df, ["g"], "v", clamp=(0.0, 1.0), clamp_step=0.0)


@pytest.mark.parametrize("statistic", ["sum", "mean"])
@pytest.mark.parametrize("contribution_bound", [1, 3])
def test_recorded_epsilon_is_opendps_map_of_the_integer_measurement(
    statistic: str, contribution_bound: int
) -> None:
    bounds = (0.0, 250.0)
    step = sum_step(bounds)
    d_in = contribution_bound * max_units(bounds, step)
    dp_spec = DpSpec(
        epsilon=0.7,
        bounds=bounds,
        keys={"g": ["a", "b"]},
        unit="household" if contribution_bound > 1 else "individual",
        unit_column="hh" if contribution_bound > 1 else None,
        contribution_bound=contribution_bound,
    )
    df = pd.DataFrame({"g": ["a", "b", "a"], "hh": [1, 1, 2], "v": [3.0, 300.0, 7.5]})
    kwargs = {statistic: "v"}
    table = build_table(df, TableSpec(by=("g",), dp=dp_spec, **kwargs))  # type: ignore[arg-type]
    eps_sum = 0.7 if statistic == "sum" else 0.35
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    meas = dp.m.make_laplace(domain, dp.l1_distance(T="i64"), d_in / eps_sum)
    expected = float(meas.map(d_in))
    if statistic == "mean":
        count = dp.t.make_count_by_categories(
            dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance(), ["0", "1"]
        ) >> dp.m.then_laplace(contribution_bound / 0.35)
        expected += float(count.map(contribution_bound))
    assert table.budget.epsilon == expected
    assert table.budget.epsilon <= 0.7 + 1e-12
    assert "i64" in table.mechanism and f"({d_in} grid units)" in table.mechanism


def test_gaussian_sums_account_through_opendp() -> None:
    bounds = (-50.0, 50.0)
    step = sum_step(bounds)
    d_in = max_units(bounds, step)
    spec = DpSpec(epsilon=1.0, delta=1e-6, mechanism="gaussian", bounds=bounds)
    noisy = dp_module._measure_sums(
        np.array([0, 10**9], dtype=np.int64), d_in, step, spec, Budget(1.0, 1e-6)
    )
    domain = dp.vector_domain(dp.atom_domain(T="i64"))
    inner = dp.m.make_gaussian(domain, dp.l2_distance(T="i64"), noisy.scale / step)
    meas = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(inner), 1e-6)
    eps, delta = meas.map(d_in)
    assert noisy.budget == Budget(float(eps), float(delta))
    assert eps <= 1.0 + 1e-9 and delta == pytest.approx(1e-6)
    # The scale is that of sensitivity 1 times the sensitivity (zCDP is scale-free).
    assert noisy.scale == pytest.approx(4.4 * 50, rel=0.1)
    assert np.isfinite(noisy.leaves).all()


def test_engine_path_refuses_non_integer_sums() -> None:
    cube_spec = TableSpec(
        by=("g",), sum="v", dp=DpSpec(epsilon=1.0, bounds=(0, 1), keys={"g": ["a"]})
    )
    groups = pd.DataFrame({"g": ["a"], "count": [1], "clamped_count": [1]})
    cube = build_module._dimensions(groups, cube_spec, None, None)
    assert cube_spec.dp is not None
    with pytest.raises(ValueError, match="exact integer grid sums"):
        dp_module.dp_cells_from_aggregates(
            cube, np.array([1]), np.array([0.5]), "sum", cube_spec.dp, 1
        )
