"""Generated surveys for the engine tests, and the reference results they must match."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.risk.frequencies import (
    KeyFrequencies,
    all_blank,
    blank_keys_match_all,
    encode_keys,
    key_frequencies,
)

QUASI = ["age", "sex", "region", "edu", "job"]


def make_survey(n: int, seed: int, missing_rate: float = 0.15) -> pd.DataFrame:
    """A survey with weights, households and several missing key values per record.

    Weights are multiples of 1/4, so every sum of them is exact in floating point and the
    engines can be compared with ``==`` whatever order they add in.
    """
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.integers(18, 24, n).astype(np.float64),
            "sex": rng.choice(["f", "m"], n),
            "region": rng.choice(
                ["north", "south", "east", "west", "centre"], n, p=[0.4, 0.3, 0.15, 0.1, 0.05]
            ),
            "edu": rng.integers(0, 4, n),
            "job": rng.choice(["farmer", "teacher", "trader"], n),
            "wgt": rng.integers(4, 400, n) / 4.0,
            "hh": rng.integers(0, max(n // 3, 1), n).astype(np.float64),
            "income": rng.integers(0, 1000, n).astype(np.float64),
        }
    )
    # Several missing values per record: each key value independently, plus whole keys.
    for col in QUASI:
        mask = rng.random(n) < missing_rate
        if df[col].dtype == np.int64:
            df[col] = df[col].astype("Int64")
        df.loc[mask, col] = None
    all_missing = rng.random(n) < 0.03
    for col in QUASI:
        df.loc[all_missing, col] = None
    df.loc[rng.random(n) < 0.1, "hh"] = np.nan
    df.loc[rng.random(n) < 0.05, "income"] = np.nan
    return df


def reference(
    df: pd.DataFrame, quasi: list[str], weight: str | None, missing: str
) -> KeyFrequencies:
    """The in-memory reference every engine must agree with (as ``sdc risk`` counts).

    Under the category rule a record blank in every key variable reveals no key: it
    matches every record (f_k = n, F_k = the weight total), as in
    :func:`sdc.risk.assess.assess_risk`.
    """
    codes = encode_keys(df, quasi, missing)  # type: ignore[arg-type]
    w = None if weight is None else df[weight].to_numpy(dtype=np.float64)
    freq = key_frequencies(codes, w, missing)  # type: ignore[arg-type]
    if missing != "category":
        return freq
    blank = all_blank(encode_keys(df, quasi, "wildcard"))
    fk, Fk = blank_keys_match_all(freq.fk, freq.Fk, blank, w)
    return KeyFrequencies(fk=fk, Fk=Fk)


@dataclass(frozen=True)
class Sources:
    """The same survey as a DataFrame, a CSV file and a Parquet file."""

    frame: pd.DataFrame
    csv: Path
    parquet: Path

    def get(self, kind: str) -> pd.DataFrame | Path:
        return {"frame": self.frame, "csv": self.csv, "parquet": self.parquet}[kind]


@pytest.fixture(scope="session")
def survey_sources(tmp_path_factory: pytest.TempPathFactory) -> Sources:
    df = make_survey(600, seed=7)
    folder = tmp_path_factory.mktemp("survey")
    df.to_csv(folder / "survey.csv", index=False)
    df.to_parquet(folder / "survey.parquet", index=False)
    return Sources(df, folder / "survey.csv", folder / "survey.parquet")
