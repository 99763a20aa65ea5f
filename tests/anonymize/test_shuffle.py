"""Data shuffling: each column's own values, given out again by a model of the others."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.shuffle import shuffle
from sdc.errors import DataError, PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release


def _survey(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east"], n)
    age = rng.integers(18, 90, n)
    income = 1000 + 40 * age + np.where(region == "north", 3000, 0) + rng.normal(0, 800, n)
    savings = 0.5 * income + rng.normal(0, 500, n)
    return pd.DataFrame(
        {"region": region, "age": age, "income": income.round(), "savings": savings.round()}
    )


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=1, max_size=200),
    seed=st.integers(0, 2**32),
)
def test_each_column_keeps_its_values_and_blanks_stay(values: list[int | None], seed: int) -> None:
    x = np.array([np.nan if v is None else float(v) for v in values])
    df = pd.DataFrame({"x": x, "y": x[::-1].copy(), "g": np.arange(len(x)) % 3})
    out, _ = shuffle(df, ["x", "y"], ["g"], seed=seed)
    for column in ("x", "y"):
        before, after = df[column].to_numpy(), out[column].to_numpy()
        assert np.array_equal(np.isnan(before), np.isnan(after))
        assert np.array_equal(np.sort(before[~np.isnan(before)]), np.sort(after[~np.isnan(after)]))
    assert out["g"].equals(df["g"])


def test_relations_are_kept_and_values_move() -> None:
    df = _survey()
    out, record = shuffle(df, ["income", "savings"], ["region", "age"], seed=3)
    spearman = lambda f, a, b: f[a].corr(f[b], method="spearman")  # noqa: E731
    for a, b in [("income", "age"), ("savings", "age"), ("income", "savings")]:
        assert abs(spearman(out, a, b) - spearman(df, a, b)) < 0.05
    north = lambda f: f.loc[f["region"] == "north", "income"].mean()  # noqa: E731
    assert abs(north(out) - north(df)) < 0.05 * north(df)
    assert record.changed["income"] > 0.95 * len(df)
    assert record.to_dict()["parameters"] == {"method": "ds", "predictors": ["region", "age"]}
    assert record.private == {"seed": 3} and "private" not in record.to_dict()
    again, _ = shuffle(df, ["income", "savings"], ["region", "age"], seed=3)
    assert again.equals(out)


def test_without_predictors_the_values_are_permuted() -> None:
    df = _survey(500)
    out, record = shuffle(df, ["income"], seed=1)
    assert sorted(out["income"]) == sorted(df["income"])
    assert record.changed["income"] > 450 and record.parameters["predictors"] == ()


def test_a_text_column_is_refused() -> None:
    with pytest.raises(DataError) as err:
        shuffle(pd.DataFrame({"x": ["1", "two"]}), ["x"])
    assert str(err.value) == "column 'x' must be numeric for shuffle but 1 value(s) are not numbers"


def test_a_removed_column_takes_no_shuffle() -> None:
    text = "version: 1\nname: s\ncolumns:\n  x: {role: drop, shuffle: true}\n"
    with pytest.raises(PolicyError) as err:
        parse_policy(text)
    assert "a drop column is removed; it takes no recode/pram/noise/rank_swap/shuffle" in str(
        err.value
    )


POLICY = """\
version: 1
name: shuffle
columns:
  region: {role: quasi}
  age: {role: other}
  income: {role: sensitive, shuffle: true}
  savings: {role: sensitive, shuffle: true}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, shuffle, suppress]}
"""


def test_release_records_it_and_check_compares_the_values(tmp_path: Path) -> None:
    df = _survey(600)
    df.to_csv(tmp_path / "survey.csv", index=False)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    table = read_table(tmp_path / "survey.csv")
    result = release(table, policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"))
    record = next(t for t in result.microdata.treatments if t.name == "shuffle")
    assert record.parameters["predictors"] == ("region", "age")
    checked = check_bundle(tmp_path / "out", policy, table)
    assert checked.passed, [(i.name, i.detail) for i in checked.items if not i.passed]
    moved = next(i for i in checked.items if i.name == "column treatments")
    assert moved.detail == ("treated as the policy says: income (shuffle), savings (shuffle)")
    # A tool that perturbs the values instead is caught with the input ...
    released = pd.read_csv(tmp_path / "out" / "microdata.csv")
    released["income"] = released["income"] + 1
    released.to_csv(tmp_path / "out" / "microdata.csv", index=False)
    failed = {i.name for i in check_bundle(tmp_path / "out", policy, table).items if not i.passed}
    assert "input values" in failed
    # ... and a manifest that leaves a column out is caught without it.
    path = tmp_path / "out" / "manifest.json"
    manifest = json.loads(path.read_text())
    for t in manifest["microdata"]["treatments"]:
        if t["name"] == "shuffle":
            t["columns"] = ["income"]
    path.write_text(json.dumps(manifest))
    failed_items = {i.name: i.detail for i in check_bundle(path.parent, policy).items}
    assert failed_items["column treatments"] == (
        "savings must be shuffled but the manifest records no shuffle of it"
    )
