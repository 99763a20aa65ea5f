"""The engines refuse unusable data with one clear DataError, never a traceback or NaN risks."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.errors import DataError
from sdc.risk.assess import RiskThresholds
from sdc.risk.engines import CountingEngine, FrequencyResult, get_engine
from sdc.risk.engines.base import DataSource, RiskFunction, check_rows, engine_error, summary_from
from sdc.risk.frequencies import MissingRule
from sdc.risk.individual import individual_risk
from sdc.risk.scale import IN_MEMORY_ONLY, assess_at_scale, scale_text

from .test_engines import SPARK, engine_for

ENGINES = ["pandas", "duckdb", SPARK]

BAD_WEIGHTS = (
    r"^weight column 'w' of {name} has {bad} missing, non-numeric, non-positive or infinite "
    r"values; every record needs a positive weight$"
)


def bad_weights(name: str, bad: int) -> str:
    return BAD_WEIGHTS.format(name=name.replace(".", r"\."), bad=bad)


# -- weights ------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_unusable_weights_in_a_frame(engine: str) -> None:
    # zero, negative, missing and infinite weights: 4 unusable of 6
    df = pd.DataFrame(
        {"a": ["x", "x", "y", "y", "z", "z"], "w": [2.0, 0.0, -1.0, np.nan, np.inf, 3.0]}
    )
    eng = engine_for(engine)
    with pytest.raises(DataError, match=bad_weights("the data", 4)):
        eng.key_frequencies(df, ["a"], "w", risk=individual_risk)
    with pytest.raises(DataError, match=bad_weights("the data", 4)):
        eng.grouped_sums(df, ["a"], None, "w")
    with pytest.raises(DataError, match=bad_weights("the data", 4)):
        assess_at_scale(df, quasi=["a"], weight="w", counter=eng)


@pytest.mark.parametrize("engine", ENGINES)
def test_text_weights_in_a_csv(engine: str, tmp_path: Path) -> None:
    # "abc" is not a number and -1 is not positive; the other two are fine
    path = tmp_path / "s.csv"
    path.write_text("a,b,w\nx,1,2\ny,2,abc\nx,1,-1\ny,2,4.5\n")
    eng = engine_for(engine)
    with pytest.raises(DataError, match=bad_weights("s.csv", 2)):
        eng.key_frequencies(path, ["a", "b"], "w", per_record=False)
    with pytest.raises(DataError, match=bad_weights("s.csv", 2)):
        eng.grouped_sums(path, ["a"], None, "w")


@pytest.mark.parametrize("engine", ENGINES)
def test_numbers_stored_as_text_are_weights(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    pd.DataFrame(
        {"a": ["x", "x", "y"], "w": pd.Series(["2.5", "4", "3"], dtype=object)}
    ).to_parquet(path)
    res = engine_for(engine).key_frequencies(path, ["a"], "w")
    assert res.Fk is not None and res.Fk.tolist() == [6.5, 6.5, 3.0]


@pytest.mark.parametrize("engine", ENGINES)
def test_dates_are_not_weights(engine: str, tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    dates = pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"])
    pd.DataFrame({"a": ["x", "x", "y"], "w": dates}).to_parquet(path)
    with pytest.raises(DataError, match=bad_weights("d.parquet", 3)):
        engine_for(engine).key_frequencies(path, ["a"], "w", per_record=False)


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_true_false_weights(engine: str) -> None:
    # a yes/no column read as weights: True is 1, False is 0 (not positive)
    df = pd.DataFrame({"a": ["x", "x", "y"], "w": [True, False, True]})
    with pytest.raises(DataError, match=bad_weights("the data", 1)):
        engine_for(engine).key_frequencies(df, ["a"], "w")


def test_categorical_weights_pandas() -> None:
    df = pd.DataFrame({"a": ["x", "x"], "w": pd.Categorical(["2", "3"])})
    res = get_engine("pandas").key_frequencies(df, ["a"], "w")
    assert res.Fk is not None and res.Fk.tolist() == [5.0, 5.0]


# -- no records ---------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weight", ["w", None])
def test_header_only_files(engine: str, weight: str | None, tmp_path: Path) -> None:
    csv = tmp_path / "h.csv"
    csv.write_text("a,b,w\n")
    parquet = tmp_path / "h.parquet"
    pd.DataFrame(
        {"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=float), "w": []}
    ).to_parquet(parquet)
    eng = engine_for(engine)
    for path in (csv, parquet):
        message = rf"^{path.name}: has a header but no records$"
        with pytest.raises(DataError, match=message):
            eng.key_frequencies(path, ["a", "b"], weight, per_record=False)
        with pytest.raises(DataError, match=message):
            eng.grouped_sums(path, ["a"], None, weight)
        with pytest.raises(DataError, match=message):
            assess_at_scale(str(path), quasi=["a", "b"], weight=weight, counter=eng)


def test_empty_frame_is_refused_by_assess_at_scale() -> None:
    df = pd.DataFrame({"a": pd.Series([], dtype=object)})
    with pytest.raises(DataError, match=r"^the data have no records; there is nothing to assess$"):
        assess_at_scale(df, quasi=["a"], counter=get_engine("duckdb"))
    # the engine itself still answers with empty results for an empty DataFrame
    assert get_engine("duckdb").key_frequencies(df, ["a"]).summary.records == 0


def test_check_rows() -> None:
    check_rows(0, 0, None, "the data", file=False)
    check_rows(3, 0, "w", "x.csv", file=True)
    check_rows(3, 5, None, "x.csv", file=True)  # no weight column: nothing to check
    with pytest.raises(DataError, match=r"^x.csv: has a header but no records$"):
        check_rows(0, 0, "w", "x.csv", file=True)
    with pytest.raises(DataError, match=bad_weights("x.csv", 1)):
        check_rows(3, 1, "w", "x.csv", file=True)


# -- unreadable data ----------------------------------------------------------------------------


def corrupt_parquet(path: Path) -> Path:
    """A Parquet file whose footer is intact (the schema reads) but whose pages are not."""
    df = pd.DataFrame({"a": np.arange(2000) % 7, "b": np.linspace(0, 1, 2000)})
    df.to_parquet(path, compression=None)
    data = bytearray(path.read_bytes())
    data[8 : len(data) // 2] = b"\xff" * (len(data) // 2 - 8)
    path.write_bytes(bytes(data))
    return path


def test_duckdb_errors_on_user_data_become_one_line(tmp_path: Path) -> None:
    bad = corrupt_parquet(tmp_path / "bad.parquet")
    eng = get_engine("duckdb", threads=1)
    message = r"^bad.parquet: cannot be read by the duckdb engine \([^\n]+\)$"
    with pytest.raises(DataError, match=message):
        eng.key_frequencies(bad, ["a", "b"], per_record=False)
    with pytest.raises(DataError, match=message):
        eng.grouped_sums(bad, ["a"], "b")
    with pytest.raises(DataError, match=message):
        assess_at_scale(str(bad), quasi=["a", "b"], counter=eng)


def test_duckdb_value_column_of_text(tmp_path: Path) -> None:
    path = tmp_path / "v.csv"
    path.write_text("g,v\nx,1\ny,abc\n")
    with pytest.raises(DataError, match=r"^v.csv: cannot be read by the duckdb engine \("):
        get_engine("duckdb").grouped_sums(path, ["g"], "v")


def test_duckdb_records_path_that_cannot_be_written(tmp_path: Path) -> None:
    df = pd.DataFrame({"a": ["x", "x", "y"]})
    target = tmp_path / "no" / "such" / "folder" / "r.parquet"
    with pytest.raises(DataError, match=r"r.parquet: cannot write \("):
        get_engine("duckdb").key_frequencies(df, ["a"], out_path=target)
    assert not target.parent.exists()


def test_engine_error_message() -> None:
    err = engine_error("d.csv", "duckdb", RuntimeError("first line\nsecond line"))
    assert str(err) == "d.csv: cannot be read by the duckdb engine (first line)"
    err = engine_error("d.csv", "spark", RuntimeError(""))
    assert str(err) == "d.csv: cannot be read by the spark engine (RuntimeError)"


# -- the report ---------------------------------------------------------------------------------


def small_survey() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": ["x", "x", "x", "y", "y", "z"],
            "w": [10.0, 10.0, 10.0, 5.0, 5.0, 1.0],
            "hh": [1, 1, 2, 2, 3, 3],
        }
    )


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_household_risk_is_counted_by_the_engine(engine: str) -> None:
    from sdc.risk.assess import assess_risk

    df = small_survey()
    eng = engine_for(engine)
    with_hh = assess_at_scale(df, quasi=["a"], weight="w", counter=eng, household="hh")
    out = with_hh.to_dict()
    assert out["household"] == "hh"
    assert out["not_computed"] == list(IN_MEMORY_ONLY)
    memory = assess_risk(df, quasi=["a"], weight="w", household="hh", missing="wildcard")
    assert memory.household_risk is not None
    assert out["household_risk"] == pytest.approx(dataclasses.asdict(memory.household_risk))
    assert "highest household risk" in scale_text(with_hh)
    without = assess_at_scale(df, quasi=["a"], weight="w", counter=eng)
    assert without.to_dict()["household"] is None
    assert without.to_dict()["household_risk"] is None
    assert "household" not in scale_text(without)
    # the household changes nothing else
    assert dataclasses.replace(with_hh, household=None, household_risk=None) == without


def test_breaches_treat_nan_as_failing() -> None:
    report = assess_at_scale(
        small_survey(),
        quasi=["a"],
        weight="w",
        thresholds=RiskThresholds(
            k=2, max_individual_risk=1.0, max_expected_reidentifications=100.0
        ),
        counter=get_engine("duckdb"),
    )
    # z is a sample unique (risk 1): k = 2 fails; the risks are within their limits
    assert [b.name for b in report.breaches] == ["k"]
    nan = dataclasses.replace(report, max_risk=math.nan, expected_reidentifications=math.nan)
    names = [b.name for b in nan.breaches]
    assert names == ["k", "max_individual_risk", "max_expected_reidentifications"]
    assert not nan.passed
    unchecked = dataclasses.replace(nan, thresholds=RiskThresholds(k=2), min_fk=2, n_records=6)
    assert unchecked.passed


class NanRiskEngine:
    """A counting engine whose risks are NaN, or that counts no records at all."""

    name = "fake"

    def __init__(self, records: int) -> None:
        self.records = records

    def key_frequencies(
        self,
        source: DataSource,
        quasi: Sequence[str],
        weight: str | None = None,
        missing: MissingRule = "wildcard",
        *,
        k: int | None = None,
        risk: RiskFunction | None = None,
        household: str | None = None,
        out_path: str | os.PathLike[str] | None = None,
        per_record: bool = True,
    ) -> FrequencyResult:
        n = self.records
        pairs = pd.DataFrame(
            {
                "f_k": np.array([1, 2], dtype=np.int64)[: min(n, 2)],
                "F_k": np.array([math.inf, 4.0])[: min(n, 2)],
                "records": np.array([1, n - 1], dtype=np.int64)[: min(n, 2)],
                "r_k": np.array([math.nan, 0.25])[: min(n, 2)],
            }
        )
        summary = summary_from(
            records=n,
            keys=min(n, 2),
            sample_uniques=min(n, 1),
            fk_below_3=n,
            k=k,
            fk_below_k=0,
            sum_inv_fk=0.0,
            pairs=pairs,
        )
        return FrequencyResult(self.name, summary, pairs)

    def grouped_sums(
        self,
        source: DataSource,
        by: Sequence[str],
        value: str | None = None,
        weight: str | None = None,
    ) -> pd.DataFrame:
        raise NotImplementedError


def test_nan_risks_count_as_above_the_limit() -> None:
    counter: CountingEngine = NanRiskEngine(3)
    report = assess_at_scale(
        "d.csv",
        quasi=["a"],
        thresholds=RiskThresholds(k=2, max_individual_risk=0.5),
        counter=counter,
    )
    # the NaN pair (1 record) is above 0.5; the 0.25 pair (2 records) is not
    assert report.records_above_max_risk == 1
    assert "max_individual_risk" in [b.name for b in report.breaches]
    assert not report.passed


def test_no_records_from_any_engine_is_refused() -> None:
    with pytest.raises(DataError, match=r"^d.csv: has no records; there is nothing to assess$"):
        assess_at_scale("d.csv", quasi=["a"], counter=NanRiskEngine(0))


# -- spark --------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", [SPARK])
def test_spark_errors_on_user_data_become_one_line(engine: str, tmp_path: Path) -> None:
    bad = corrupt_parquet(tmp_path / "bad.parquet")
    eng = engine_for(engine)
    message = r"^bad.parquet: cannot be read by the spark engine \([^\n]+\)$"
    with pytest.raises(DataError, match=message):
        eng.key_frequencies(bad, ["a", "b"], per_record=False)
    with pytest.raises(DataError, match=message):
        eng.grouped_sums(bad, ["a"], "b")
