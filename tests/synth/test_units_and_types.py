"""Sound sampling, household units and public types in synthesis (issue 15, leaks 4-6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import opendp.prelude as dp
import pandas as pd
import pytest

from sdc.errors import PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release import pipeline
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from sdc.synth import synthesize
from sdc.synth.mst import truncate_households

from .conftest import DOMAINS, draw_tree_data

dp.enable_features("contrib")

CONTRIBUTION = 3


class _Captured(Exception):
    """Raised by a stand-in synthesiser to hand back what it was called with."""

    def __init__(self, df: pd.DataFrame, kwargs: dict[str, Any]) -> None:
        super().__init__("captured")
        self.df = df
        self.kwargs = kwargs


def _capture(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake(df: pd.DataFrame, **kwargs: Any) -> None:
        raise _Captured(df, kwargs)

    monkeypatch.setattr("sdc.synth.synthesize", fake)


HOLDOUT_POLICY = """\
version: 1
name: synth
columns:
  sex: {role: quasi, categories: [f, m]}
  age: {role: quasi, bounds: [0, 100], type: integer}
outputs:
  synthetic: {epsilon: 1.0, rows: 50, seed: 3, holdout: 0.2}
privacy: {dataset: synth}
"""


def _survey(n: int = 500) -> pd.DataFrame:
    rng = np.random.Generator(np.random.PCG64(1))
    return pd.DataFrame({"sex": rng.choice(["f", "m"], n), "age": rng.integers(0, 100, n)})


def _training_rows(monkeypatch: pytest.MonkeyPatch, policy_text: str) -> list[int]:
    _capture(monkeypatch)
    policy = parse_policy(policy_text, source=Path("p.yaml"))
    with pytest.raises(_Captured) as info:
        pipeline._synthesize(_survey(), policy, seed=None)
    return sorted(info.value.df.index)


def test_the_training_set_is_not_a_function_of_the_published_seed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Same policy, same published seed: the records held out differ from run to run (two
    # equal draws of 500 secret coin flips have probability about 2**-360).
    first = _training_rows(monkeypatch, HOLDOUT_POLICY)
    second = _training_rows(monkeypatch, HOLDOUT_POLICY)
    assert first != second
    assert 300 < len(first) < 500 and 300 < len(second) < 500


def test_the_holdout_is_drawn_without_a_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline.np.random, "default_rng", _no_seed_allowed)
    rows = _training_rows(monkeypatch, HOLDOUT_POLICY)
    assert 0 < len(rows) < 500


def _no_seed_allowed(*args: object, **kwargs: object) -> np.random.Generator:
    assert not args and not kwargs, "the hold-out must not be drawn from a seed"
    return np.random.Generator(np.random.PCG64())


# ---- household unit ----------------------------------------------------------------------


def _households(seed: int = 0) -> pd.DataFrame:
    """Tree data in households of 1 to 10 records (one household of 10 records: 'big')."""
    df = draw_tree_data(3000, seed)
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 11, 600)
    ids = np.repeat([f"h{i}" for i in range(len(sizes))], sizes)[: len(df) - 10]
    df["hh"] = np.concatenate([ids, np.full(10, "big")])[: len(df)]
    df.loc[df.index[-10:], ["A", "B", "C", "D"]] = ["a0", "b0", "c0", "d0"]  # one cell
    return df


def test_truncation_keeps_at_most_contribution_records_per_household() -> None:
    df = _households()
    df.loc[df.index[0], "hh"] = None
    kept = truncate_households(df, "hh", CONTRIBUTION)
    assert kept["hh"].notna().all()
    assert kept.groupby("hh").size().max() == CONTRIBUTION
    assert set(kept["hh"]) == set(df["hh"].dropna())
    sizes = df.groupby("hh").size()
    assert len(kept) == int(np.minimum(sizes, CONTRIBUTION).sum())
    assert set(kept.index) <= set(df.index)


def test_truncation_uses_secret_randomness() -> None:
    df = _households()
    runs = {tuple(sorted(truncate_households(df, "hh", CONTRIBUTION).index)) for _ in range(3)}
    assert len(runs) > 1


def _run_household(df: pd.DataFrame) -> Any:
    return synthesize(
        df,
        columns=list(DOMAINS),
        domains=DOMAINS,
        bounds={},
        epsilon=1.0,
        delta=1e-9,
        rows=100,
        seed=1,
        household="hh",
        contribution=CONTRIBUTION,
    )


def test_household_unit_spends_the_requested_budget_at_household_sensitivity() -> None:
    result = _run_household(_households())
    assert result.unit == "household"
    assert result.contribution == CONTRIBUTION
    assert result.rho_spent <= result.rho
    assert result.rho_spent == pytest.approx(result.rho, rel=1e-9)
    assert result.epsilon_spent <= 1.0
    assert result.epsilon_spent == pytest.approx(1.0, rel=1e-6)
    assert result.records_used <= CONTRIBUTION * _households()["hh"].nunique()
    assert result.to_dict()["privacy_unit"] == (
        "household (add/remove one household, at most 3 records each)"
    )
    vector = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    for m in result.measurements:
        assert m.sensitivity == CONTRIBUTION
        if m.kind == "select":
            meas = dp.m.make_noisy_max(
                vector,
                dp.linf_distance(T=float, monotonic=False),
                dp.zero_concentrated_divergence(),
                scale=m.scale,
            )
        else:
            meas = dp.m.make_gaussian(vector, dp.l2_distance(T=float), scale=m.scale)
        # OpenDP's privacy map at a whole household's distance is the recorded loss...
        assert meas.map(float(CONTRIBUTION)) == pytest.approx(m.rho, rel=1e-9)
        assert meas.map(float(CONTRIBUTION)) <= m.rho
        # ... which is CONTRIBUTION**2 times the loss one record would cost.
        assert meas.map(1.0) == pytest.approx(m.rho / CONTRIBUTION**2, rel=1e-6)


def test_removing_a_whole_household_stays_within_the_calibrated_sensitivity() -> None:
    # Neighbours D and D minus household 'big' (10 records, all in one cell). The other
    # households are truncated independently of 'big', so (coupling their random choices)
    # the truncated data differ by the records kept of 'big': CONTRIBUTION records in one
    # cell, L2 distance CONTRIBUTION, the distance at which the measurements were calibrated.
    df = _households()
    result = _run_household(df)
    sigma = next(m.scale for m in result.measurements if m.kind == "1-way")
    gaussian = dp.m.make_gaussian(
        dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l2_distance(T=float), sigma
    )
    rho_one_way = next(m.rho for m in result.measurements if m.kind == "1-way")
    for _ in range(5):
        d = truncate_households(df, "hh", CONTRIBUTION)
        d_prime = d[d["hh"] != "big"]  # the neighbour's truncation, under the coupling
        for col in DOMAINS:
            a = d[col].value_counts().reindex(DOMAINS[col], fill_value=0).to_numpy(float)
            b = d_prime[col].value_counts().reindex(DOMAINS[col], fill_value=0).to_numpy(float)
            distance = float(np.linalg.norm(a - b))
            assert distance == CONTRIBUTION  # the worst case: all in one cell
            assert gaussian.map(distance) <= rho_one_way
            assert gaussian.map(distance) == pytest.approx(rho_one_way, rel=1e-9)


def test_the_pipeline_synthesises_by_household_under_unit_household(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    policy_text = """\
version: 1
name: synth
data: {household: hh}
columns:
  sex: {role: quasi, categories: [f, m]}
  hh: {role: other}
outputs:
  synthetic: {epsilon: 1.0, rows: 50, seed: 3, columns: [sex]}
privacy: {dataset: synth, unit: household, contribution: 4}
"""
    _capture(monkeypatch)
    policy = parse_policy(policy_text, source=Path("p.yaml"))
    frame = _survey().assign(hh=[f"h{i // 5}" for i in range(500)])
    with pytest.raises(_Captured) as info:
        pipeline._synthesize(frame, policy, seed=None)
    assert info.value.kwargs["household"] == "hh"
    assert info.value.kwargs["contribution"] == 4


def test_contribution_must_be_a_whole_number() -> None:
    with pytest.raises(
        PolicyError, match=r"^synthetic: contribution must be a whole number >= 1, got 0$"
    ):
        synthesize(
            _households(),
            columns=["A"],
            domains=DOMAINS,
            bounds={},
            epsilon=1.0,
            delta=1e-9,
            rows=10,
            seed=1,
            household="hh",
            contribution=0,
        )


# ---- types from the policy ---------------------------------------------------------------

TYPES_POLICY = """\
version: 1
name: synth
columns:
  sex: {role: quasi, categories: [f, m]}
  age: {role: quasi, bounds: [0, 100]AGE_TYPE}
  rooms: {role: quasi, categories: [1, 2, 3]}
outputs:
  synthetic: {epsilon: 1.0, rows: 300, seed: 3}
privacy: {dataset: synth}
"""


def _synthetic(tmp_path: Path, *, missing: bool, age_type: str = ", type: integer") -> pd.DataFrame:
    frame = _survey().assign(rooms=np.random.default_rng(2).integers(1, 4, 500))
    if missing:
        frame = frame.astype({"rooms": float, "age": float})
        frame.loc[7, "age"] = np.nan
        frame.loc[8, "rooms"] = np.nan
    out = tmp_path / ("missing" if missing else "complete")
    out.mkdir()
    frame.to_csv(out / "d.csv", index=False)
    policy = parse_policy(TYPES_POLICY.replace("AGE_TYPE", age_type), source=out / "p.yaml")
    release(read_table(out / "d.csv"), policy, out / "bundle", ledger=Ledger(out / "ledger"))
    return pd.read_parquet(out / "bundle" / "synthetic.parquet")


def test_integer_columns_stay_integer_with_one_missing_value(tmp_path: Path) -> None:
    synthetic = _synthetic(tmp_path, missing=True)
    assert synthetic["age"].dtype == np.int64
    assert synthetic["age"].between(0, 100).all()
    assert synthetic["rooms"].dtype == np.int64
    text = (tmp_path / "missing" / "bundle" / "synthetic.csv").read_text()
    assert "." not in text


def test_the_synthetic_types_do_not_depend_on_the_private_data(tmp_path: Path) -> None:
    # Without a type, a bounded column is a number column whatever the data hold.
    complete = _synthetic(tmp_path, missing=False, age_type="")
    with_missing = _synthetic(tmp_path, missing=True, age_type="")
    assert dict(complete.dtypes) == dict(with_missing.dtypes)
    assert complete["age"].dtype == np.float64


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("{role: quasi}", "category"),
        ("{role: quasi, bounds: [0, 1]}", "number"),
        ("{role: quasi, bounds: [0, 1], type: integer}", "integer"),
        ("{role: quasi, type: date}", "date"),
        ("{role: quasi, categories: [1, 2], type: integer}", "integer"),
    ],
)
def test_column_type_defaults(spec: str, expected: str) -> None:
    text = TYPES_POLICY.replace("{role: quasi, bounds: [0, 100]AGE_TYPE}", spec)
    policy = parse_policy(text, source=Path("p.yaml"))
    assert policy.columns["age"].value_type == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            "{role: quasi, bounds: [0, 100], type: category}",
            "p.yaml line 5: columns.age: bounds apply to integer or number columns, not type "
            "category; give categories instead or set type: integer or number",
        ),
        (
            "{role: quasi, categories: [1, 2.5], type: integer}",
            "p.yaml line 5: columns.age: categories of a type integer column must be whole "
            "numbers, got 2.5",
        ),
        (
            "{role: quasi, categories: ['1', '2'], type: number}",
            "p.yaml line 5: columns.age: categories of a type number column must be numbers, "
            "got '1'",
        ),
        (
            "{role: quasi, bounds: [0, 100], type: whole}",
            "p.yaml line 5: columns.age.type must be one of 'integer', 'number', 'category' "
            "or 'date' (got 'whole')",
        ),
    ],
)
def test_invalid_column_types(spec: str, message: str) -> None:
    text = TYPES_POLICY.replace("{role: quasi, bounds: [0, 100]AGE_TYPE}", spec)
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=Path("p.yaml"))
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("categories", "kind", "expected"),
    [
        ((1, 2, 3), "integer", np.dtype(np.int64)),
        ((1, 2, 3), "number", np.dtype(np.float64)),
        ((1, 2, 3), None, np.dtype(np.int64)),
        ((1, 2.5), None, np.dtype(np.float64)),
    ],
)
def test_categorical_dtype_follows_the_policy_not_the_data(
    categories: tuple[object, ...], kind: str | None, expected: np.dtype
) -> None:
    from sdc.synth._codebook import build_codebook

    private = pd.DataFrame({"c": [categories[0], np.nan, categories[1]]})  # float64 column
    types: dict[str, Any] = {} if kind is None else {"c": kind}
    book = build_codebook(private, ["c"], {"c": list(categories)}, {}, bins=2, types=types)
    decoded = book.decode(np.array([[0], [1]]), np.random.default_rng(0))
    assert decoded["c"].dtype == expected
