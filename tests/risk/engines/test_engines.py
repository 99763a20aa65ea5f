"""Every engine agrees exactly with the in-memory reference ``key_frequencies``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdc.errors import DataError
from sdc.risk.engines import CountingEngine, get_engine
from sdc.risk.engines.spark_engine import spark_unavailable
from sdc.risk.individual import household_risk, individual_risk

from .conftest import QUASI, Sources, make_survey, reference

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
            master="local[2]",
            config={
                "spark.sql.shuffle.partitions": "4",
                "spark.ui.enabled": "false",
                "spark.ui.showConsoleProgress": "false",
            },
        )
    if name == "duckdb":
        return get_engine("duckdb", threads=2, memory_limit="1GB")
    return get_engine("pandas")


def pairs_of(fk: np.ndarray, Fk: np.ndarray) -> pd.DataFrame:
    out = pd.DataFrame({"f_k": fk, "F_k": Fk}).groupby(["f_k", "F_k"]).size()
    return out.reset_index(name="records").astype({"records": np.int64})


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["frame", "csv", "parquet"])
@pytest.mark.parametrize("missing", ["wildcard", "category"])
@pytest.mark.parametrize("weight", ["wgt", None])
def test_frequencies_match_reference(
    engine: str, kind: str, missing: str, weight: str | None, survey_sources: Sources
) -> None:
    df = survey_sources.frame
    ref = reference(df, QUASI, weight, missing)
    res = engine_for(engine).key_frequencies(
        survey_sources.get(kind),
        QUASI,
        weight,
        missing,
        k=5,  # type: ignore[arg-type]
    )
    assert res.engine == engine
    assert res.fk is not None and res.Fk is not None
    assert res.fk.dtype == np.int64 and res.Fk.dtype == np.float64
    np.testing.assert_array_equal(res.fk, ref.fk)
    np.testing.assert_array_equal(res.Fk, ref.Fk)
    pd.testing.assert_frame_equal(res.pairs, pairs_of(ref.fk, ref.Fk))
    s = res.summary
    assert s.records == len(df)
    assert s.sample_uniques == int((ref.fk == 1).sum())
    assert s.fk_below_3 == int((ref.fk < 3).sum())
    assert s.k == 5 and s.fk_below_k == int((ref.fk < 5).sum())
    assert s.sum_inv_fk == pytest.approx(float(np.sum(1.0 / ref.fk)), rel=1e-12)
    assert s.mean_inv_fk == pytest.approx(float(np.mean(1.0 / ref.fk)), rel=1e-12)
    codes = df[QUASI].astype("string").fillna("<NA>").agg("|".join, axis=1)
    assert s.keys == codes.nunique()
    assert s.risk_sum is None and s.risk_max is None and s.risk_mean is None
    # The wildcard rule really is exercised: suppressed values raise some frequencies.
    if missing == "wildcard":
        cat = reference(df, QUASI, weight, "category")
        assert (ref.fk >= cat.fk).all() and (ref.fk > cat.fk).any()


@pytest.mark.parametrize("engine", ENGINES)
def test_risk_and_household_risk_match_reference(engine: str, survey_sources: Sources) -> None:
    df = survey_sources.frame
    ref = reference(df, QUASI, "wgt", "wildcard")
    res = engine_for(engine).key_frequencies(
        survey_sources.parquet, QUASI, "wgt", risk=individual_risk, household="hh"
    )
    expected = individual_risk(ref.fk, ref.Fk)
    assert res.rk is not None and res.household_risk is not None
    np.testing.assert_array_equal(res.rk, expected)
    np.testing.assert_allclose(
        res.household_risk, household_risk(expected, df["hh"]), rtol=1e-12, atol=1e-15
    )
    assert res.summary.risk_sum == pytest.approx(float(expected.sum()), rel=1e-12)
    assert res.summary.risk_max == float(expected.max())
    assert res.summary.risk_mean == pytest.approx(float(expected.mean()), rel=1e-12)
    np.testing.assert_array_equal(
        res.pairs["r_k"], individual_risk(res.pairs["f_k"], res.pairs["F_k"])
    )


@pytest.mark.parametrize("per_record", [True, False])
@pytest.mark.parametrize("engine", ENGINES)
def test_household_figures_match_reference(
    engine: str, per_record: bool, survey_sources: Sources
) -> None:
    df = survey_sources.frame
    ref = reference(df, QUASI, "wgt", "wildcard")
    hrisk = household_risk(individual_risk(ref.fk, ref.Fk), df["hh"])
    res = engine_for(engine).key_frequencies(
        survey_sources.parquet,
        QUASI,
        "wgt",
        risk=individual_risk,
        household="hh",
        per_record=per_record,
    )
    assert df["hh"].isna().any()  # records without a household are households of their own
    assert res.summary.households == df["hh"].nunique() + int(df["hh"].isna().sum())
    assert res.summary.household_risk_sum == pytest.approx(float(hrisk.sum()), rel=1e-12)
    assert res.summary.household_risk_max == pytest.approx(float(hrisk.max()), rel=1e-12)
    plain = engine_for(engine).key_frequencies(
        survey_sources.parquet, QUASI, "wgt", risk=individual_risk, per_record=False
    )
    assert plain.summary.households is None and plain.summary.household_risk_sum is None


@pytest.mark.parametrize("engine", ENGINES)
def test_results_written_to_parquet(engine: str, survey_sources: Sources, tmp_path: Path) -> None:
    df = survey_sources.frame
    ref = reference(df, QUASI, "wgt", "wildcard")
    out = tmp_path / "records.parquet"
    res = engine_for(engine).key_frequencies(
        survey_sources.csv, QUASI, "wgt", risk=individual_risk, household="hh", out_path=out
    )
    assert res.out_path == out and res.fk is None and res.Fk is None and res.rk is None
    table = pq.read_table(out).to_pandas()
    assert list(table.columns) == ["row", "f_k", "F_k", "r_k", "household_risk"]
    np.testing.assert_array_equal(table["row"], np.arange(len(df)))
    np.testing.assert_array_equal(table["f_k"], ref.fk)
    np.testing.assert_array_equal(table["F_k"], ref.Fk)
    np.testing.assert_array_equal(table["r_k"], individual_risk(ref.fk, ref.Fk))
    with pytest.raises(DataError, match="already exists"):
        engine_for(engine).key_frequencies(survey_sources.csv, QUASI, "wgt", out_path=out)


@pytest.mark.parametrize("engine", ENGINES)
def test_summary_only(engine: str, survey_sources: Sources) -> None:
    full = engine_for(engine).key_frequencies(
        survey_sources.parquet, QUASI, "wgt", risk=individual_risk
    )
    only = engine_for(engine).key_frequencies(
        survey_sources.parquet, QUASI, "wgt", risk=individual_risk, per_record=False
    )
    assert only.fk is None and only.Fk is None and only.rk is None and only.out_path is None
    # Float sums may differ in the last bit between runs of a multi-threaded engine.
    a, b = dataclasses.asdict(only.summary), dataclasses.asdict(full.summary)
    for name in ("sum_inv_fk", "mean_inv_fk", "risk_sum", "risk_max"):
        assert a.pop(name) == pytest.approx(b.pop(name), rel=1e-12)
    assert a == b
    assert only.summary.records == full.summary.records and only.summary.keys == full.summary.keys
    pd.testing.assert_frame_equal(only.pairs, full.pairs, check_exact=False, rtol=1e-12)


def test_results_written_without_risk(survey_sources: Sources, tmp_path: Path) -> None:
    out = tmp_path / "records.parquet"
    get_engine("duckdb").key_frequencies(survey_sources.frame, QUASI, None, out_path=out)
    table = pq.read_table(out).to_pandas()
    assert list(table.columns) == ["row", "f_k", "F_k"]
    out2 = tmp_path / "pandas.parquet"
    get_engine("pandas").key_frequencies(survey_sources.frame, QUASI, None, out_path=out2)
    pd.testing.assert_frame_equal(pq.read_table(out2).to_pandas(), table)


def test_wildcard_by_hand() -> None:
    # m = 2: (a,x) counts itself and (a,NA) but not the all-missing record (sdcMicro's rule);
    # (a,NA) counts (a,x), itself and (NA,NA); (NA,NA) counts everyone; (b,y) only itself.
    df = pd.DataFrame(
        {"v": ["a", "a", None, "b"], "u": ["x", None, None, "y"], "w": [1.0, 2, 4, 8]}
    )
    for name in ("pandas", "duckdb"):
        res = get_engine(name).key_frequencies(df, ["v", "u"], "w")  # type: ignore[arg-type]
        assert res.fk is not None and res.Fk is not None
        assert res.fk.tolist() == [2, 3, 4, 1]
        assert res.Fk.tolist() == [3.0, 7.0, 15.0, 8.0]
        assert res.summary.keys == 4 and res.summary.sample_uniques == 1


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("data", "quasi", "fk"),
    [
        # every key entirely missing: one pattern, all records match each other
        ({"a": [None, None, None], "b": [None, None, None]}, ["a", "b"], [3, 3, 3]),
        # one key variable: the complete records DO count the missing one (m == 1)
        ({"a": ["x", "x", None, "y"]}, ["a"], [3, 3, 4, 2]),
        # two variables: complete records do NOT count the all-missing one
        ({"a": ["x", "x", None, "y"], "b": [1, 1, None, 2]}, ["a", "b"], [2, 2, 4, 1]),
        # empty text is missing too
        ({"a": ["x", "", "y"], "b": ["p", "p", ""]}, ["a", "b"], [2, 3, 2]),
        # no key variables: everyone shares the one empty key
        ({"a": ["x", "y"]}, [], [2, 2]),
        # no records
        ({"a": pd.Series([], dtype="string"), "b": pd.Series([], dtype="float64")}, ["a", "b"], []),
    ],
)
def test_edge_patterns(
    engine: str, data: dict[str, object], quasi: list[str], fk: list[int]
) -> None:
    df = pd.DataFrame(data)
    ref = reference(df, quasi, None, "wildcard")
    assert ref.fk.tolist() == fk
    res = engine_for(engine).key_frequencies(df, quasi, None, k=2)
    assert res.fk is not None and res.Fk is not None
    assert res.fk.tolist() == fk
    np.testing.assert_array_equal(res.Fk, np.asarray(fk, dtype=np.float64))
    assert res.summary.records == len(fk)
    assert res.summary.fk_below_k == sum(f < 2 for f in fk)
    assert res.summary.mean_inv_fk == pytest.approx(
        float(np.mean(1 / np.asarray(fk))) if fk else 0.0
    )
    assert len(res.pairs) == len(set(fk))


@pytest.mark.parametrize("engine", ["duckdb"])
def test_inexact_weights_agree_to_rounding(engine: str) -> None:
    df = make_survey(500, seed=3)
    df["wgt"] = np.random.default_rng(3).lognormal(3, 1, len(df))
    ref = reference(df, QUASI, "wgt", "wildcard")
    res = engine_for(engine).key_frequencies(df, QUASI, "wgt")
    assert res.fk is not None and res.Fk is not None
    np.testing.assert_array_equal(res.fk, ref.fk)
    np.testing.assert_allclose(res.Fk, ref.Fk, rtol=1e-12)


keys = st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))
rows = st.lists(st.tuples(keys, keys, keys, st.integers(1, 40)), min_size=0, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows, missing=st.sampled_from(["wildcard", "category"]))
def test_duckdb_matches_reference_property(rows: list[tuple[object, ...]], missing: str) -> None:
    df = pd.DataFrame(rows, columns=["x", "y", "z", "w"], dtype=object)
    df["w"] = df["w"].astype(np.float64) / 2
    ref = reference(df, ["x", "y", "z"], "w", missing)
    res = get_engine("duckdb", threads=1).key_frequencies(df, ["x", "y", "z"], "w", missing)  # type: ignore[arg-type]
    assert res.fk is not None and res.Fk is not None
    np.testing.assert_array_equal(res.fk, ref.fk)
    np.testing.assert_array_equal(res.Fk, ref.Fk)


# -- grouped sums -----------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("kind", ["frame", "csv", "parquet"])
def test_grouped_sums_match_pandas(engine: str, kind: str, survey_sources: Sources) -> None:
    df = survey_sources.frame
    got = engine_for(engine).grouped_sums(
        survey_sources.get(kind), ["region", "sex"], "income", "wgt"
    )
    # Computed independently, from the frame in memory.
    expected = (
        df.assign(wv=df["income"] * df["wgt"])
        .groupby(["region", "sex"], dropna=False, sort=True)
        .agg(
            count=("wgt", "size"),
            weighted_count=("wgt", "sum"),
            sum=("income", "sum"),
            weighted_sum=("wv", "sum"),
        )
        .reset_index()
    )
    assert list(got.columns) == ["region", "sex", "count", "weighted_count", "sum", "weighted_sum"]
    assert (
        got["region"].astype(object).where(got["region"].notna(), None).tolist()
        == expected["region"].astype(object).where(expected["region"].notna(), None).tolist()
    )
    assert got["count"].tolist() == expected["count"].tolist()
    np.testing.assert_array_equal(got["weighted_count"], expected["weighted_count"])
    np.testing.assert_allclose(got["sum"], expected["sum"], rtol=1e-12)
    np.testing.assert_allclose(got["weighted_sum"], expected["weighted_sum"], rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_grouped_sums_by_hand(engine: str) -> None:
    df = pd.DataFrame(
        {
            "g": ["b", "a", "b", "", None, "a"],
            "v": [1.0, 2.0, np.nan, 4.0, 8.0, np.nan],
            "w": [1.0, 2, 3, 4, 5, 6],
        }
    )
    eng = engine_for(engine)
    got = eng.grouped_sums(df, ["g"], "v", "w")
    assert got["g"].tolist()[:2] == ["a", "b"] and pd.isna(got["g"].iloc[2])
    assert got["count"].tolist() == [2, 2, 2]
    assert got["weighted_count"].tolist() == [8.0, 4.0, 9.0]
    assert got["sum"].tolist() == [2.0, 1.0, 12.0]
    assert got["weighted_sum"].tolist() == [4.0, 1.0, 56.0]
    plain = eng.grouped_sums(df, ["g"])
    assert list(plain.columns) == ["g", "count", "weighted_count"]
    assert plain["weighted_count"].tolist() == [2.0, 2.0, 2.0]
    unweighted = eng.grouped_sums(df, ["g"], "v")
    assert unweighted["weighted_sum"].tolist() == unweighted["sum"].tolist() == [2.0, 1.0, 12.0]
    total = eng.grouped_sums(df, [], "v", "w")
    assert total["count"].tolist() == [6] and total["weighted_sum"].tolist() == [61.0]
    all_missing = eng.grouped_sums(df[df["v"].isna()], ["g"], "v")
    assert np.isnan(all_missing["sum"]).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_grouped_sums_of_nothing(engine: str) -> None:
    df = pd.DataFrame({"g": pd.Series([], dtype="string"), "v": pd.Series([], dtype="float64")})
    eng = engine_for(engine)
    assert len(eng.grouped_sums(df, ["g"], "v")) == 0
    total = eng.grouped_sums(df, [], "v")
    assert total["count"].tolist() == [0] and total["weighted_count"].tolist() == [0.0]
    assert np.isnan(total["sum"]).all()


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_errors(engine: str, survey_sources: Sources, tmp_path: Path) -> None:
    eng = engine_for(engine)
    with pytest.raises(DataError, match=r"^'agee' is not a column of survey.parquet \(it has: "):
        eng.key_frequencies(survey_sources.parquet, ["agee"])
    with pytest.raises(DataError, match=r"^'agee' is not a column of the data"):
        eng.grouped_sums(survey_sources.frame, ["agee"])
    bad = survey_sources.frame.assign(wgt=np.where(np.arange(600) < 2, np.nan, 1.0))
    message = (
        r"^weight column 'wgt' of the data has 2 missing, non-numeric, non-positive or "
        r"infinite values; every record needs a positive weight$"
    )
    with pytest.raises(DataError, match=message):
        eng.key_frequencies(bad, QUASI, "wgt")
    with pytest.raises(DataError, match=message):
        eng.grouped_sums(bad, ["sex"], None, "wgt")
    with pytest.raises(DataError, match=r"no such file$"):
        eng.key_frequencies(tmp_path / "nope.csv", QUASI)
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(DataError, match=r"^x.json: the counting engines read CSV"):
        eng.key_frequencies(tmp_path / "x.json", QUASI)
    with pytest.raises(ValueError, match="household risk needs a risk function"):
        eng.key_frequencies(survey_sources.frame, QUASI, household="hh")
    with pytest.raises(ValueError, match="missing must be"):
        eng.key_frequencies(survey_sources.frame, QUASI, missing="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be at least 1"):
        eng.key_frequencies(survey_sources.frame, QUASI, k=0)
    with pytest.raises(ValueError, match="listed twice"):
        eng.key_frequencies(survey_sources.frame, ["age", "age"])
    with pytest.raises(ValueError, match="returned shape"):
        eng.key_frequencies(survey_sources.frame, QUASI, risk=lambda f, F: f[:1])


def test_get_engine() -> None:
    assert get_engine().name == "pandas"
    assert isinstance(get_engine("duckdb"), CountingEngine)
    with pytest.raises(
        ValueError, match="unknown engine 'polars'; choose one of pandas, duckdb, spark"
    ):
        get_engine("polars")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="takes no options"):
        get_engine("pandas", threads=2)


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.skipif(SPARK_MISSING is not None, reason=f"spark engine: {SPARK_MISSING}")
def test_spark_row_order_across_many_splits(survey_sources: Sources) -> None:
    # Tiny splits: the CSV is read by many tasks, yet rows come back in file order.
    eng = engine_for("spark")
    conf = eng.spark.conf  # type: ignore[attr-defined]
    conf.set("spark.sql.files.maxPartitionBytes", "2048")
    conf.set("spark.sql.files.openCostInBytes", "0")
    try:
        assert eng.spark.read.csv(str(survey_sources.csv)).rdd.getNumPartitions() > 4  # type: ignore[attr-defined]
        df = survey_sources.frame
        ref = reference(df, QUASI, "wgt", "wildcard")
        res = eng.key_frequencies(survey_sources.csv, QUASI, "wgt")
        assert res.fk is not None and res.Fk is not None
        np.testing.assert_array_equal(res.fk, ref.fk)
        np.testing.assert_array_equal(res.Fk, ref.Fk)
    finally:
        conf.set("spark.sql.files.maxPartitionBytes", "134217728")
        conf.set("spark.sql.files.openCostInBytes", "4194304")


def test_spark_unavailable_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    import sdc.risk.engines.spark_engine as spark_engine

    monkeypatch.setattr(spark_engine.importlib.util, "find_spec", lambda name: None)
    assert (
        spark_unavailable() == "pyspark is not installed; install it with: pip install 'sdc[spark]'"
    )
    with pytest.raises(
        DataError, match=r"^the spark engine cannot start: pyspark is not installed"
    ):
        get_engine("spark")
    monkeypatch.undo()
    # pyspark present (whether or not this machine has it), Java missing
    monkeypatch.setattr(spark_engine.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(spark_engine.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert (
        spark_unavailable()
        == "Java is not installed; Spark needs Java 17 (set JAVA_HOME or put java on PATH)"
    )


def test_csv_to_parquet(tmp_path: Path) -> None:
    from sdc.risk.engines import csv_to_parquet

    src = tmp_path / "in.csv"
    src.write_bytes("name; age ;town\nAnn; 23;Bo\u00e9\nBob;NA; .\nCy;;N/A\n".encode("latin-1"))
    seen: list[float] = []
    out = csv_to_parquet(src, tmp_path / "out.parquet", progress=seen.append, threads=1)
    table = pq.read_table(out).to_pandas()
    assert list(table.columns) == ["name", "age", "town"]
    assert table["name"].tolist() == ["Ann", "Bob", "Cy"]
    assert table["town"].iloc[0] == "Bo\u00e9" and table["town"].iloc[1:].isna().all()
    assert table["age"].iloc[0] == 23 and table["age"].iloc[1:].isna().all()
    assert seen and seen[-1] == 1.0
    with pytest.raises(DataError, match=r"out.parquet: already exists"):
        csv_to_parquet(src, out)
    with pytest.raises(DataError, match=r"nope.csv: no such file$"):
        csv_to_parquet(tmp_path / "nope.csv", tmp_path / "x.parquet")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(DataError, match=r"^bad.parquet: not a readable Parquet file"):
        get_engine("duckdb").key_frequencies(tmp_path / "bad.parquet", ["a"])
