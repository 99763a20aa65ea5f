"""MST on a 3,000-record sample of adult, with the ARX hierarchies' first column as codebook."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sdc.synth import evaluate, synthesize

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def adult() -> tuple[pd.DataFrame, dict[str, list[object]], dict[str, tuple[float, float]]]:
    df = pd.read_csv(DATA / "synth_adult_3000.csv.gz", sep=";")
    book = json.loads((DATA / "synth_adult_codebook.json").read_text())
    bounds = {k: (float(v[0]), float(v[1])) for k, v in book["bounds"].items()}
    return df, book["domains"], bounds


def test_adult_sample_beats_independent_columns(
    adult: tuple[pd.DataFrame, dict[str, list[object]], dict[str, tuple[float, float]]],
) -> None:
    df, domains, bounds = adult
    cols = list(df.columns)
    result = synthesize(
        df,
        columns=cols,
        domains=domains,
        bounds=bounds,
        epsilon=5.0,
        delta=1e-9,
        rows=len(df),
        seed=0,
    )
    for col, values in domains.items():
        assert set(result.data[col]) <= set(values)
    assert result.data["age"].between(17, 90).all()
    ev = evaluate(df, result.data, cols, bounds=bounds)
    # Measured over 8 runs: 0.058-0.061; columns resampled independently score 0.096 and a
    # bootstrap about 0.03 on 3,000 records.
    assert ev.tvd_2way_mean is not None
    assert ev.tvd_2way_mean < 0.08
    assert ev.tvd_1way_mean < 0.03
    assert len(ev.tvd_2way) == 36
