"""Tables through a counting engine give the in-memory tables.

The interior aggregates come from ``engine.grouped_sums``; margins, rules, secondary
suppression, rounding and the DP post-processing are the in-memory code, so traditional
tables must be identical, and DP tables must carry the same noise scale, flags, budget and
(for the truncation) the same aggregates.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.risk.engines import CountingEngine, get_engine
from sdc.risk.engines.spark_engine import spark_unavailable
from sdc.tables import DpSpec, TableSpec, build_table, build_tables
from sdc.tables._cube import encode_leaves
from sdc.tables.build import _dimensions
from sdc.tables.dp import sum_step, sum_units, truncate_units

SPARK_MISSING = spark_unavailable()
SPARK = pytest.param(
    "spark",
    marks=[
        pytest.mark.spark,
        pytest.mark.slow,
        pytest.mark.skipif(SPARK_MISSING is not None, reason=f"spark engine: {SPARK_MISSING}"),
    ],
)
ENGINES = ["pandas", "duckdb", SPARK]


def engine_for(name: str) -> CountingEngine:
    if name == "spark":
        return get_engine(
            "spark",
            config={
                "spark.sql.shuffle.partitions": "4",
                "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
            },
        )
    if name == "duckdb":
        return get_engine("duckdb", threads=2, memory_limit="1GB")
    return get_engine("pandas")


def make_firms(n: int = 400, seed: int = 3) -> pd.DataFrame:
    """Firms with skewed turnovers (dominant firms), weights, households, missing values.

    Values and weights are integers or quarters, so every sum is exact whatever the order.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "region": rng.choice(["north", "south", "east", "west"], n, p=[0.4, 0.3, 0.2, 0.1]),
            "sector": rng.choice(["agri", "trade", "craft"], n, p=[0.5, 0.35, 0.15]),
            "size": rng.integers(1, 4, n).astype(np.float64),
            "turnover": np.floor(rng.pareto(1.2, n) * 100).astype(np.float64),
            "wgt": rng.integers(4, 40, n) / 4.0,
            "hh": rng.integers(0, n // 4, n),
        }
    )
    df.loc[rng.random(n) < 0.05, "region"] = None
    df.loc[rng.random(n) < 0.05, "turnover"] = np.nan
    df.loc[rng.random(n) < 0.05, "size"] = np.nan
    return df


@pytest.fixture(scope="module")
def firms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    df = make_firms()
    folder = tmp_path_factory.mktemp("firms")
    df.to_parquet(folder / "firms.parquet", index=False)
    df.to_csv(folder / "firms.csv", index=False)
    return {"frame": df, "parquet": folder / "firms.parquet", "csv": folder / "firms.csv"}


TRADITIONAL = [
    TableSpec(by=("region", "sector"), count=True, min_cell=5),
    TableSpec(by=("region", "sector"), count=True, weight="wgt", min_cell=8),
    TableSpec(by=("region", "sector"), sum="turnover", dominance=(1, 0.6), p_percent=0.15),
    TableSpec(by=("sector", "size"), sum="turnover", weight="wgt", dominance=(2, 0.8), min_cell=3),
    TableSpec(by=("region",), mean="turnover", min_cell=60, p_percent=0.1),
    TableSpec(by=("region", "size"), count=True),
    TableSpec(by=("sector", "region"), count=True, rounding=5, rounding_method="random"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spec", TRADITIONAL, ids=lambda s: s.table_name)
def test_traditional_tables_identical(
    engine: str, spec: TableSpec, firms: dict[str, object]
) -> None:
    df = firms["frame"]
    assert isinstance(df, pd.DataFrame)
    want = build_table(df, spec, seed=11)
    for kind in ("frame", "parquet"):
        got = build_table(firms[kind], spec, seed=11, engine=engine_for(engine))  # type: ignore[arg-type]
        pd.testing.assert_frame_equal(got.table, want.table)
        assert got.flag_counts == want.flag_counts
        assert got.dropped_rows == want.dropped_rows
        assert got.mechanism == want.mechanism
        assert got.passed and [a.cell for a in got.audit] == [a.cell for a in want.audit]
    # the rules did fire where they should
    if spec.has_primary_rules and spec.rounding is None:
        assert want.flag_counts["primary"] > 0


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_csv_source_and_codebook_hierarchy(engine: str, firms: dict[str, object]) -> None:
    df = firms["frame"]
    assert isinstance(df, pd.DataFrame)
    spec = TableSpec(by=("region", "sector"), count=True, min_cell=5)
    codebook = {"sector": ["trade", "agri", "craft", "mining"]}
    hierarchies = {"region": {"north": "N", "east": "N", "south": "S", "west": "S"}}
    want = build_table(df, spec, codebook=codebook, hierarchies=hierarchies)
    got = build_table(
        firms["csv"],  # type: ignore[arg-type]
        spec,
        codebook=codebook,
        hierarchies=hierarchies,
        engine=engine_for(engine),
    )
    pd.testing.assert_frame_equal(got.table, want.table)
    assert "mining" in set(got.table["sector"])


def test_path_without_engine_uses_pandas(firms: dict[str, object]) -> None:
    df = firms["frame"]
    assert isinstance(df, pd.DataFrame)
    specs = [
        TableSpec(by=("region",), count=True, min_cell=5),
        TableSpec(by=("sector",), sum="turnover", p_percent=0.2, name="t2"),
    ]
    got = build_tables(firms["parquet"], specs)  # type: ignore[arg-type]
    want = build_tables(df, specs)
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g.table, w.table)


def test_negative_values_make_cells_unbounded_below() -> None:
    df = pd.DataFrame(
        {"g": ["a", "a", "a", "b", "b", "b", "b"], "v": [5.0, -2.0, 1.0, 3.0, 4.0, 2.0, 9.0]}
    )
    spec = TableSpec(by=("g",), sum="v", min_cell=4)
    want = build_table(df, spec)
    got = build_table(df, spec, engine=get_engine("duckdb"))
    pd.testing.assert_frame_equal(got.table, want.table)
    assert got._problem is not None and np.isneginf(got._problem.lower).all()


def test_engine_errors_name_the_column(firms: dict[str, object]) -> None:
    spec = TableSpec(by=("regio",), count=True)
    with pytest.raises(DataError, match="regio"):
        build_table(firms["parquet"], spec, engine=get_engine("duckdb"))  # type: ignore[arg-type]


KEYS = {
    "region": ["north", "south", "east", "west"],
    "sector": ["agri", "trade", "craft"],
}
DP_SPECS = [
    TableSpec(by=("region", "sector"), count=True, dp=DpSpec(epsilon=1.0, keys=KEYS)),
    TableSpec(
        by=("region", "sector"),
        count=True,
        dp=DpSpec(
            epsilon=1.0,
            delta=1e-6,
            mechanism="gaussian",
            keys=KEYS,
            unit="household",
            unit_column="hh",
            contribution_bound=2,
        ),
    ),
    TableSpec(
        by=("sector",),
        sum="turnover",
        dp=DpSpec(epsilon=0.5, bounds=(0, 500), keys=KEYS, unit_column="hh"),
    ),
    TableSpec(
        by=("region",),
        mean="turnover",
        dp=DpSpec(epsilon=2.0, bounds=(0, 300), keys=KEYS, unit_column="hh", contribution_bound=3),
    ),
]


def _true_aggregates(df: pd.DataFrame, spec: TableSpec) -> tuple[np.ndarray, np.ndarray | None]:
    """The in-memory truncated counts and integer grid sums per interior cell."""
    assert spec.dp is not None
    cube = _dimensions(df, spec, None, None)
    keep_unit, _ = truncate_units(df, spec.dp)
    codes, keep = encode_leaves(df, cube.dims)
    keep &= keep_unit
    var = None
    if spec.variable is not None:
        var = df[spec.variable].to_numpy(dtype=float)
        keep &= np.isfinite(var)
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    flat = np.ravel_multi_index(tuple(codes[keep].T), n_leaves)
    counts = np.bincount(flat, minlength=int(np.prod(n_leaves)))
    sums = None
    if var is not None and spec.dp.bounds is not None:
        units = sum_units(var[keep], spec.dp.bounds, sum_step(spec.dp.bounds))
        sums = np.zeros(int(np.prod(n_leaves)), dtype=np.int64)
        np.add.at(sums, flat, units)
    return counts, sums


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spec", DP_SPECS, ids=lambda s: s.table_name)
def test_dp_tables_same_scale_and_flags(
    engine: str, spec: TableSpec, firms: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    df = firms["frame"]
    assert isinstance(df, pd.DataFrame)
    want = build_table(df, spec)
    got = build_table(firms["parquet"], spec, engine=engine_for(engine))  # type: ignore[arg-type]
    assert got.table.columns.tolist() == want.table.columns.tolist()
    pd.testing.assert_frame_equal(
        got.table[list(spec.by)], want.table[list(spec.by)], check_dtype=False
    )
    assert (got.table["flag"] == "dp").all()
    # The mechanisms' scales (and d_in / sensitivity) are the same.
    pattern = r"(?:scale|sensitivity|d_in) [0-9.e+-]+"
    assert re.findall(pattern, got.mechanism) == re.findall(pattern, want.mechanism) != []
    if spec.statistic != "mean":  # a mean's sd depends on its noisy value
        np.testing.assert_allclose(
            got.table["noise_scale"].to_numpy(), want.table["noise_scale"].to_numpy(), rtol=1e-12
        )
    assert got.budget == want.budget
    assert got.dropped_rows is None
    if spec.statistic != "sum":  # sums were always measured on the aggregated vector
        assert "aggregated in the counting engine" in got.mechanism

    # The aggregates the engine hands to OpenDP are the in-memory truncated ones.
    from sdc.tables import build as build_module

    seen: dict[str, object] = {}
    real = build_module.dp_cells_from_aggregates

    def spy(cube, counts, sums, statistic, dp_spec, d_in):  # type: ignore[no-untyped-def]
        seen.update(counts=counts, sums=sums, d_in=d_in)
        return real(cube, counts, sums, statistic, dp_spec, d_in)

    monkeypatch.setattr(build_module, "dp_cells_from_aggregates", spy)
    build_table(firms["parquet"], spec, engine=engine_for(engine))  # type: ignore[arg-type]
    counts, sums = _true_aggregates(df, spec)
    np.testing.assert_array_equal(seen["counts"], counts)
    if sums is None:
        assert seen["sums"] is None
    else:
        np.testing.assert_array_equal(seen["sums"], sums)
    assert spec.dp is not None
    assert seen["d_in"] == (spec.dp.contribution_bound if spec.dp.unit_column else 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_contribution_bound_enforced_before_aggregation(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Household 1 has 40 records in cell "a"; with a bound of 2 it counts twice.
    df = pd.DataFrame(
        {
            "g": ["a"] * 40 + ["a", "b", "b"],
            "hh": [1] * 40 + [2, 3, 3],
            "v": [100.0] * 40 + [7.0, 5.0, 500.0],
        }
    )
    from sdc.tables import build as build_module

    seen: list[np.ndarray] = []
    real = build_module.dp_cells_from_aggregates

    def spy(cube, counts, sums, statistic, dp_spec, d_in):  # type: ignore[no-untyped-def]
        seen.extend([counts, sums])
        return real(cube, counts, sums, statistic, dp_spec, d_in)

    monkeypatch.setattr(build_module, "dp_cells_from_aggregates", spy)
    dp = DpSpec(
        epsilon=1.0, bounds=(0, 50), keys={"g": ["a", "b"]}, unit_column="hh", contribution_bound=2
    )
    table = build_table(df, TableSpec(by=("g",), mean="v", dp=dp), engine=engine_for(engine))
    counts, sums = seen
    np.testing.assert_array_equal(counts, [3, 2])  # 2 of household 1 + household 2
    # Integer grid sums (the grid step 2**-15 for bounds (0, 50) holds these exactly).
    step = sum_step((0, 50))
    assert sums.dtype == np.int64
    np.testing.assert_array_equal(sums * step, [50.0 + 50.0 + 7.0, 5.0 + 50.0])
    assert table.budget.epsilon == pytest.approx(1.0)


def test_count_vector_measurement_matches_record_measurement() -> None:
    """The aggregated-vector OpenDP measurement has the record one's scale and budget."""
    from sdc.budget import Budget
    from sdc.tables.dp import _measure_count_vector, _measure_counts

    for mech, budget in (("laplace", Budget(0.7)), ("gaussian", Budget(0.7, 1e-7))):
        spec = DpSpec(epsilon=budget.epsilon, delta=budget.delta, mechanism=mech)
        for d_in in (1, 3):
            rec = _measure_counts(np.array([0, 1, 1, 2]), 3, d_in, spec, budget)
            vec = _measure_count_vector(np.array([1, 2, 1]), d_in, spec, budget)
            assert vec.scale == pytest.approx(rec.scale, rel=1e-9)
            assert vec.kind == rec.kind
            assert vec.budget.epsilon == pytest.approx(rec.budget.epsilon, rel=1e-9)
            assert vec.budget.delta == pytest.approx(rec.budget.delta, rel=1e-9)
            assert np.all(vec.leaves == np.rint(vec.leaves))


def test_dp_vector_noise_has_declared_scale() -> None:
    """Many cells of zero counts: the empirical sd matches the discrete Laplace sd."""
    from sdc.budget import Budget
    from sdc.tables.dp import _measure_count_vector, noise_sd

    spec = DpSpec(epsilon=0.5)
    noisy = _measure_count_vector(np.zeros(4000), 1, spec, Budget(0.5))
    sd = noise_sd(noisy.kind, noisy.scale)
    assert abs(np.std(noisy.leaves) / sd - 1) < 0.1
    assert abs(np.mean(noisy.leaves)) < 5 * sd / np.sqrt(4000)


def test_tables_from_missing_file_fail_cleanly(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        build_table(tmp_path / "nope.parquet", TableSpec(by=("g",), count=True))
