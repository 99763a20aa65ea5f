"""Rank swapping: values exchanged among records of close rank, through the policy, checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.swap import rank_swap
from sdc.errors import DataError, PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=1, max_size=300),
    p=st.floats(0.5, 100),
    seed=st.integers(0, 2**32),
)
def test_values_kept_and_moved_only_among_close_ranks(
    values: list[int | None], p: float, seed: int
) -> None:
    x = np.array([np.nan if v is None else float(v) for v in values])
    out, record = rank_swap(pd.DataFrame({"x": x}), ["x"], p, seed=seed)
    y = out["x"].to_numpy(dtype=float)
    # missing values stay where they are, every value is kept (as a multiset)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.array_equal(np.sort(x[~np.isnan(x)]), np.sort(y[~np.isnan(y)]))
    # each record got a value whose rank is within 2w - 1 of its own value's rank
    present = ~np.isnan(x)
    w = record.parameters["window"]["x"]
    rank_of = pd.Series(x[present]).rank(method="min").to_numpy()
    high = pd.Series(x[present]).rank(method="max").to_numpy()
    sorted_x = np.sort(x[present])
    got = np.searchsorted(sorted_x, y[present], side="left") + 1
    got_high = np.searchsorted(sorted_x, y[present], side="right")
    distance = np.maximum(0, np.maximum(got - high, rank_of - got_high))
    assert (distance < 2 * w).all()


def test_values_move_and_the_seed_replays() -> None:
    df = pd.DataFrame({"income": np.arange(1000, dtype=float)})
    a, rec = rank_swap(df, ["income"], 5, seed=7)
    b, _ = rank_swap(df, ["income"], 5, seed=7)
    assert a.equals(b) and rec.changed["income"] > 900 and rec.private == {"seed": 7}
    assert np.abs(a["income"] - df["income"]).max() < 2 * 50


@pytest.mark.parametrize("p", [0, 101, True])
def test_p_out_of_range(p: float) -> None:
    with pytest.raises(PolicyError) as err:
        rank_swap(pd.DataFrame({"x": [1.0, 2.0]}), ["x"], p)
    assert str(err.value) == (
        f"rank_swap.p (the rank window in percent) must be in (0, 100], got {p!r}"
    )


def test_a_text_column_is_refused() -> None:
    with pytest.raises(DataError) as err:
        rank_swap(pd.DataFrame({"x": ["1", "two"]}), ["x"], 5)
    assert str(err.value) == (
        "column 'x' must be numeric for rank_swap but 1 value(s) are not numbers"
    )


POLICY = """\
version: 1
name: swap
columns:
  region: {role: quasi}
  income: {role: sensitive, rank_swap: {p: 5}}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, rank_swap, suppress]}
"""


def test_release_records_it_and_check_compares_the_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {"region": rng.choice(["a", "b", "c"], 600), "income": rng.integers(0, 5000, 600)}
    )
    df.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY)
    policy = parse_policy(POLICY, source=tmp_path / "p.yaml")
    table = read_table(tmp_path / "survey.csv")
    result = release(table, policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"))
    record = next(t for t in result.microdata.treatments if t.name == "rank_swap")
    assert record.parameters["p"] == 5 and "seed" not in record.to_dict()
    released = pd.read_csv(tmp_path / "out" / "microdata.csv")
    assert sorted(released["income"]) == sorted(df["income"])
    checked = check_bundle(tmp_path / "out", policy, table)
    assert checked.passed, [(i.name, i.detail) for i in checked.items if not i.passed]
    # A tool that adds noise instead (values no longer the input's) is caught.
    released["income"] = released["income"] + 1
    released.to_csv(tmp_path / "out" / "microdata.csv", index=False)
    failed = {i.name for i in check_bundle(tmp_path / "out", policy, table).items if not i.passed}
    assert "input values" in failed
