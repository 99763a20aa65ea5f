"""AIM (``method: aim``): budget, selection, time limit, policy keys and a CLI release."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import opendp.prelude as dp
import pandas as pd
import pytest

from sdc.errors import PolicyError
from sdc.policy import parse_policy
from sdc.synth import SynthResult, _dp, synthesize
from sdc.synth.aim import candidates, run_aim
from tests.cli._runner import run

from .conftest import DOMAINS, TREE_EDGES, draw_tree_data, tvd_to_truth

dp.enable_features("contrib")


def _aim(df: pd.DataFrame, epsilon: float, rows: int = 20_000, **kw: object) -> SynthResult:
    return synthesize(
        df,
        columns=list(DOMAINS),
        domains=DOMAINS,
        bounds={},
        epsilon=epsilon,
        delta=1e-9,
        rows=rows,
        seed=1,
        method="aim",
        **kw,  # type: ignore[arg-type]
    )


def _opendp_loss(m: object, d_in: float) -> float:
    vector = dp.vector_domain(dp.atom_domain(T=float, nan=False))
    if m.kind == "select":  # type: ignore[attr-defined]
        meas = dp.m.make_noisy_max(
            vector,
            dp.linf_distance(T=float, monotonic=False),
            dp.zero_concentrated_divergence(),
            scale=m.scale,  # type: ignore[attr-defined]
        )
    else:
        meas = dp.m.make_gaussian(vector, dp.l2_distance(T=float), scale=m.scale)  # type: ignore[attr-defined]
    return float(meas.map(d_in))


def test_the_whole_budget_is_spent_and_each_loss_is_opendps(tree_df: pd.DataFrame) -> None:
    result = _aim(tree_df, 1.0, rows=100)
    rho = _dp.rho_from_epsilon_delta(1.0, 1e-9)
    assert result.method == "aim" and result.ended == "budget"
    assert result.rho == rho
    assert result.rho_spent <= rho
    assert result.rho_spent == pytest.approx(rho, rel=1e-9)
    assert result.epsilon_spent == pytest.approx(1.0, rel=1e-6)
    kinds = [m.kind for m in result.measurements]
    assert kinds[:4] == ["1-way"] * 4  # every column first
    assert kinds[4::2] == ["select"] * len(result.selected)  # then select, measure, ...
    for m in result.measurements:
        # a selection's score moves by at most its weight; the largest is a pair's,
        # |r & s| summed over the 6 pairs s of the workload: 2 + 4 * 1 = 6
        assert m.sensitivity == (6.0 if m.kind == "select" else 1.0)
        assert _opendp_loss(m, m.sensitivity) <= m.rho
        assert _opendp_loss(m, m.sensitivity) == pytest.approx(m.rho, rel=1e-9)


def test_a_short_time_limit_ends_early_but_spends_everything(tree_df: pd.DataFrame) -> None:
    result = _aim(tree_df, 1.0, rows=100, max_seconds=0.01)
    rho = _dp.rho_from_epsilon_delta(1.0, 1e-9)
    assert result.ended == "time limit"
    assert len(result.selected) == 1  # the first round is the last: all of the rest in it
    assert result.rho_spent <= rho
    assert result.rho_spent == pytest.approx(rho, rel=1e-9)
    assert result.measurements[-1].rho > 0.8 * rho


def test_the_true_edges_are_selected_and_marginals_are_accurate(tree_df: pd.DataFrame) -> None:
    result = _aim(tree_df, 5.0)
    pairs = {frozenset(c) for c in result.selected if len(c) == 2}
    assert TREE_EDGES <= pairs
    # With 20,000 real and 20,000 synthetic records the sampling floor is about 0.009.
    assert np.mean(list(tvd_to_truth(result.data).values())) < 0.02


def test_the_workload_steers_the_selection(tree_df: pd.DataFrame) -> None:
    result = _aim(tree_df, 2.0, rows=100, workload=[["A", "B"], ["C"]])
    assert {c for c in result.selected} <= {("A",), ("B",), ("A", "B"), ("C",)}
    assert result.workload == (("A", "B"), ("C",))
    account = result.to_dict()
    assert account["workload"] == [["A", "B"], ["C"]]
    assert account["max_seconds"] == 60.0
    assert "tree" not in account and account["selected"]


def test_candidates_and_weights() -> None:
    weights = candidates([(0, 1), (1, 2)])
    assert weights == {(0,): 1.0, (1,): 2.0, (0, 1): 3.0, (2,): 1.0, (1, 2): 3.0}


def test_household_sensitivity_scales_every_measurement() -> None:
    df = draw_tree_data(600, seed=2).assign(hh=[f"h{i // 4}" for i in range(600)])
    result = _aim(df, 1.0, rows=50, household="hh", contribution=2)
    assert result.unit == "household"
    for m in result.measurements:
        d_in = 2.0 * (6.0 if m.kind == "select" else 1.0)
        assert m.sensitivity == d_in
        assert _opendp_loss(m, d_in) == pytest.approx(m.rho, rel=1e-9)
    assert result.rho_spent == pytest.approx(result.rho, rel=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"workload": [["A", "Z"]]},
            "synthetic: the workload set ['A', 'Z'] names 'Z', which is not synthesised",
        ),
        ({"workload": [["A", "A"]]}, "synthetic: the workload set ['A', 'A'] repeats a column"),
        ({"workload": [[]]}, "synthetic: the workload set [] is empty"),
        ({"workload": []}, "synthetic: workload is empty; list sets of columns, or leave it out"),
        ({"max_seconds": 0}, "synthetic: max_seconds must be a positive number, got 0"),
    ],
)
def test_parameter_errors(tree_df: pd.DataFrame, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(PolicyError) as info:
        _aim(tree_df.head(50), 1.0, rows=10, **kwargs)
    assert str(info.value) == message


def test_a_workload_set_too_large_for_a_model_is_refused() -> None:
    domains = {c: [str(i) for i in range(101)] for c in "PQRS"}
    df = pd.DataFrame({c: ["1"] * 5 for c in "PQRS"})
    with pytest.raises(PolicyError) as info:
        synthesize(
            df,
            columns=list("PQRS"),
            domains=domains,
            bounds={},
            epsilon=1.0,
            delta=1e-9,
            rows=5,
            seed=1,
            method="aim",
            workload=[list("PQRS")],
        )
    assert str(info.value) == (
        "synthetic: the workload set ['P', 'Q', 'R', 'S'] has 104,060,401 cells, more than the "
        "1,000,000 a model may hold; use smaller sets or fewer bins"
    )


# ---- policy keys -------------------------------------------------------------------------------

POLICY = """\
version: 1
name: aim
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s, e]}
  age: {role: quasi, bounds: [0, 100], type: integer}
outputs:
  synthetic: {method: aim, epsilon: 1.0, rows: 200, seed: 3, SYNTH}
privacy: {dataset: survey}
"""


def _policy(extra: str) -> str:
    return POLICY.replace(", SYNTH", extra)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ", workload: [[sex, income]]",
            "p.yaml line 8: the workload names 'income', which is not synthesised; use "
            "columns of sex, region, age",
        ),
        (
            ", workload: [[sex, sex]]",
            "p.yaml line 8: the workload set ['sex', 'sex'] repeats a column",
        ),
        (", max_seconds: 0", "p.yaml line 8: outputs.synthetic.max_seconds: "),
        (", workload: []", "p.yaml line 8: outputs.synthetic.workload: "),
    ],
)
def test_policy_refusals(extra: str, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(_policy(extra), source=Path("p.yaml"))
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("key", ["workload: [[sex, age]]", "max_seconds: 10"])
def test_aim_keys_need_method_aim(key: str) -> None:
    text = _policy(", " + key).replace("method: aim", "method: mst")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=Path("p.yaml"))
    name = key.split(":")[0]
    assert str(info.value) == (
        f"p.yaml line 8: outputs.synthetic.{name} is for method: aim only; add method: aim "
        f"or remove {name}"
    )


def test_cli_release_and_check_with_aim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    n = 400
    sex = rng.choice(["f", "m"], n)
    age = np.where(sex == "f", rng.integers(20, 50, n), rng.integers(40, 90, n))
    pd.DataFrame({"sex": sex, "region": rng.choice(["n", "s", "e"], n), "age": age}).to_csv(
        tmp_path / "survey.csv", index=False
    )
    (tmp_path / "policy.yaml").write_text(
        _policy(", workload: [[sex, age], [region]], max_seconds: 20")
    )
    monkeypatch.chdir(tmp_path)
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel")
    assert code == 0, err
    synthetic = pd.read_csv(tmp_path / "rel" / "synthetic.csv")
    assert len(synthetic) == 200 and list(synthetic.columns) == ["sex", "region", "age"]
    assert synthetic["age"].between(0, 100).all()
    account = json.loads((tmp_path / "rel" / "manifest.json").read_text())["synthetic"]
    assert account["method"] == "aim"
    assert account["workload"] == [["sex", "age"], ["region"]]
    assert account["max_seconds"] == 20.0
    assert account["rho_spent"] == pytest.approx(account["rho"], rel=1e-9)
    code, out, _ = run("check", "rel", "--policy", "policy.yaml")
    assert code == 0, out
    # the policy's workload is checked against the manifest's
    (tmp_path / "other.yaml").write_text(_policy(", workload: [[sex, region]], max_seconds: 20"))
    code, out, _ = run("check", "rel", "--policy", "other.yaml")
    assert code == 1
    assert "the manifest's AIM workload is not the policy's" in out


def test_the_model_stays_within_its_size_limit(tree_df: pd.DataFrame) -> None:
    codes = np.column_stack(
        [pd.Categorical(tree_df[c], categories=DOMAINS[c]).codes for c in DOMAINS]
    ).astype(np.int64)
    sizes = tuple(len(v) for v in DOMAINS.values())
    pairs = [(a, b) for a in range(4) for b in range(a + 1, 4)]
    rho = _dp.rho_from_epsilon_delta(3.0, 1e-9)
    run_ = run_aim(
        codes,
        sizes,
        list(DOMAINS),
        rho=rho,
        sensitivity=1.0,
        workload=pairs,
        deadline=time.monotonic() + 30,
        max_cells=24,
    )
    assert sum(int(np.prod([sizes[a] for a in c])) for c in run_.model.tree.cliques) <= 24
    assert any(len(c) == 2 for c in run_.selected)
    assert math.fsum(m.rho for m in run_.measurements) == pytest.approx(rho, rel=1e-9)
