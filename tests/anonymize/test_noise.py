from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.noise import add_noise
from sdc.errors import DataError, PolicyError


@pytest.fixture
def incomes() -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame({"inc": rng.normal(1000, 200, 20_000), "age": rng.integers(18, 90, 20_000)})


def test_noise_scale_and_reproducibility(incomes: pd.DataFrame) -> None:
    out, rec = add_noise(incomes, ["inc", "age"], 0.1, seed=7)
    again, _ = add_noise(incomes, ["inc", "age"], 0.1, seed=7)
    pd.testing.assert_frame_equal(out, again)
    diff = out["inc"] - incomes["inc"]
    expected_sd = 0.1 * incomes["inc"].std()
    assert rec.details["noise_sd"]["inc"] == pytest.approx(expected_sd)
    assert diff.std() == pytest.approx(expected_sd, rel=0.03)
    assert abs(diff.mean()) < 4 * expected_sd / np.sqrt(len(diff))
    assert rec.changed == {"inc": 20_000, "age": 20_000}
    d = json.loads(json.dumps(rec.to_dict()))
    assert d["parameters"]["differential_privacy"] is False
    assert "private" not in d and rec.private == {"seed": 7}
    assert rec.to_dict(include_private=True)["private"] == {"seed": 7}


def test_bounds_clamp_and_missing_stay(incomes: pd.DataFrame) -> None:
    df = pd.DataFrame({"x": [0.0, 1.0, 2.0, np.nan, 100.0]})
    out, rec = add_noise(df, ["x"], 2.0, seed=1, bounds={"x": (0.0, 50.0)})
    assert pd.isna(out["x"][3])
    assert out["x"].dropna().between(0, 50).all()
    assert rec.details["clamped"]["x"] >= 1  # 100 is above the bound whatever the noise
    assert rec.parameters["bounds"] == {"x": (0.0, 50.0)}


def test_fresh_seed_recorded(incomes: pd.DataFrame) -> None:
    out, rec = add_noise(incomes, ["inc"], 0.5)
    again, _ = add_noise(incomes, ["inc"], 0.5, seed=rec.private["seed"])
    pd.testing.assert_frame_equal(out, again)


def test_constant_or_single_value_column_gets_no_noise() -> None:
    df = pd.DataFrame({"c": [5.0, 5.0, 5.0], "one": [1.0, np.nan, np.nan]})
    out, rec = add_noise(df, ["c", "one"], 1.0, seed=0)
    assert out["c"].tolist() == [5.0, 5.0, 5.0] and rec.changed == {"c": 0, "one": 0}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"sd": 0}, PolicyError, r"^noise\.sd must be a positive number, got 0$"),
        ({"sd": float("nan")}, PolicyError, r"^noise\.sd must be a positive number"),
        ({"sd": 1, "seed": 1.5}, PolicyError, r"^the noise seed must be a whole number >= 0"),
        (
            {"sd": 1, "bounds": {"b": (0, 1)}},
            PolicyError,
            r"^bounds are given for 'b', which gets no noise$",
        ),
        (
            {"sd": 1, "bounds": {"a": (1, 0)}},
            PolicyError,
            r"^bounds of 'a' must be \[low, high\] with low < high",
        ),
        ({"sd": 1, "columns": ["s"]}, DataError, r"^noise needs numeric columns but 's' holds"),
        ({"sd": 1, "columns": ["zz"]}, DataError, r"^column 'zz' is not in the data"),
    ],
)
def test_bad_parameters(kwargs: dict, error: type, message: str) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0], "s": ["x", "y"]})
    columns = kwargs.pop("columns", ["a"])
    sd = kwargs.pop("sd")
    with pytest.raises(error, match=message):
        add_noise(df, columns, sd, **kwargs)
