"""--engine on risk and release: out-of-core engines give the in-memory numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli._runner import run

POLICY = """\
version: 1
name: engines
data: {weight: w}
columns:
  a: {role: quasi}
  b: {role: quasi}
  c: {role: quasi}
  s: {role: sensitive}
thresholds: {k: 2, max_suppression: 0.6}
outputs:
  microdata: {treatments: [suppress]}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    rng = np.random.default_rng(5)
    n = 400
    frame = pd.DataFrame(
        {
            "a": rng.integers(0, 4, n),
            "b": rng.choice(["x", "y", "z"], n),
            "c": rng.integers(0, 6, n).astype(float),
            "s": rng.choice(["p", "q"], n),
            "w": rng.choice([10.0, 20.0, 40.0], n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "c"] = np.nan
    frame.loc[rng.random(n) < 0.05, "b"] = None
    frame.to_csv(tmp_path / "d.csv", index=False)
    frame.to_parquet(tmp_path / "d.parquet")
    (tmp_path / "p.yaml").write_text(POLICY)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("data", ["d.csv", "d.parquet"])
def test_duckdb_risk_matches_pandas(workdir: Path, data: str) -> None:
    code_p, _, _ = run("risk", data, "--policy", "p.yaml", "--json", "p.json", "--records", "p.csv")
    code_d, out, err = run(
        "risk",
        data,
        "--policy",
        "p.yaml",
        "--engine",
        "duckdb",
        "--json",
        "d.json",
        "--records",
        "d.parquet.out.parquet",
    )
    assert code_p == code_d == 1, err
    assert "counted with the duckdb engine" in out and "Not computed by this engine" in out
    full = json.loads((workdir / "p.json").read_text())
    scale = json.loads((workdir / "d.json").read_text())
    assert scale["engine"] == "duckdb"
    for key in ("records", "sample_uniques", "k_anonymity", "key_sizes", "breaches", "passed"):
        assert scale[key] == full[key], key
    for key in ("global_risk", "expected_reidentifications", "max_individual_risk"):
        assert scale["individual_risk"][key] == pytest.approx(
            full["individual_risk"][key], rel=1e-12
        )
    got, want = (r["individual_risk"]["global_threshold"] for r in (scale, full))
    assert (got is None and want is None) or got == pytest.approx(want)
    mem = pd.read_csv(workdir / "p.csv")
    out_of_core = pd.read_parquet(workdir / "d.parquet.out.parquet")
    assert out_of_core["row"].tolist() == mem["row"].tolist()
    assert out_of_core["f_k"].tolist() == mem["f_k"].tolist()
    np.testing.assert_allclose(out_of_core["r_k"], mem["r_k"], rtol=1e-12)


def test_policy_engine_key_is_used(workdir: Path) -> None:
    (workdir / "q.yaml").write_text(POLICY + "engine: duckdb\n")
    code, out, _ = run("risk", "d.parquet", "--policy", "q.yaml")
    assert code == 1 and "counted with the duckdb engine" in out
    code, out, _ = run("risk", "d.parquet", "--policy", "q.yaml", "--engine", "pandas")
    assert "counted with" not in out


def test_release_with_duckdb_counts_the_same(workdir: Path) -> None:
    with_table = POLICY + "  tables:\n    - {by: [b, s], count: true, min_cell: 30}\n"
    (workdir / "p.yaml").write_text(with_table)
    assert run("release", "d.csv", "--policy", "p.yaml", "--out", "r1", "--seed", "1")[0] == 0
    code, _, err = run(
        "release", "d.csv", "--policy", "p.yaml", "--out", "r2", "--seed", "1", "--engine", "duckdb"
    )
    assert code == 0, err
    table = "tables/count_by_b_s.csv"
    assert (workdir / "r1" / table).read_text() == (workdir / "r2" / table).read_text()
    a = json.loads((workdir / "r1" / "risk-after.json").read_text())
    b = json.loads((workdir / "r2" / "risk-after.json").read_text())
    assert a["k_anonymity"] == b["k_anonymity"]
    assert a["individual_risk"]["expected_reidentifications"] == pytest.approx(
        b["individual_risk"]["expected_reidentifications"], rel=1e-12
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--engine", "duckdb", "--html", "x.html"], "Error: --html needs every measure"),
        (
            ["--engine", "duckdb", "--records", "x.csv"],
            "Error: x.csv: with --engine duckdb per-record results are written as Parquet",
        ),
        (["--spark-master", "local[1]"], "Error: --spark-master only applies to --engine spark"),
        (
            ["--engine", "duckdb", "--records", "d.parquet"],
            "Error: d.parquet: refusing to overwrite the input data",
        ),
    ],
)
def test_engine_usage_errors(workdir: Path, args: list[str], message: str) -> None:
    code, _, err = run("risk", "d.parquet", "--policy", "p.yaml", *args)
    assert code == 2
    assert err.startswith(message), err
    assert not (workdir / "x.html").exists()


def test_duckdb_needs_csv_or_parquet(workdir: Path) -> None:
    pd.read_csv(workdir / "d.csv").to_excel(workdir / "d.xlsx", index=False)
    code, _, err = run("risk", "d.xlsx", "--policy", "p.yaml", "--engine", "duckdb")
    assert code == 2
    assert err.startswith("Error: d.xlsx: the duckdb and spark engines read CSV or Parquet")


def test_unknown_column_checked_before_counting(workdir: Path) -> None:
    (workdir / "bad.yaml").write_text(POLICY.replace("  c: {role: quasi}", "  cc: {role: quasi}"))
    code, _, err = run("risk", "d.parquet", "--policy", "bad.yaml", "--engine", "duckdb")
    assert code == 2
    assert err.startswith(
        "Error: bad.yaml line 7: columns.cc is not a column of d.parquet (did you mean 'c'?)"
    )


def test_duckdb_risk_reports_l_diversity_and_group_disclosure(workdir: Path) -> None:
    policy = POLICY.replace("thresholds: {k: 2,", "thresholds: {k: 2, l: 2, group_share: 0.8,")
    (workdir / "l.yaml").write_text(policy)
    code_p, _, err_p = run("risk", "d.parquet", "--policy", "l.yaml", "--json", "p.json")
    code_d, out, err = run(
        "risk", "d.parquet", "--policy", "l.yaml", "--engine", "duckdb", "--json", "d.json"
    )
    assert code_p == code_d == 1, (err_p, err)
    full = json.loads((workdir / "p.json").read_text())
    scale = json.loads((workdir / "d.json").read_text())
    assert scale["group_disclosure"] == full["group_disclosure"]
    (got,), (want,) = scale["l_diversity"], full["l_diversity"]
    assert got["entropy_min"] == pytest.approx(want["entropy_min"], rel=1e-12)
    assert {**got, "entropy_min": 0} == {**want, "entropy_min": 0}
    assert scale["breaches"] == full["breaches"]
    assert {b["name"] for b in full["breaches"]} >= {"l", "group_share"}
    assert scale["not_computed"] == ["t_closeness", "suda", "contributions"]
    row = rf"l-diversity of s \(distinct, min\) +{want['distinct_min']} +2  FAIL"
    assert re.search(row, out), out
    keys = full["group_disclosure"][0]["keys"]
    assert keys > 0
    assert re.search(rf"groups where one value of s covers 80% or more +{keys} +0.8  FAIL", out)
    assert "Not computed by this engine (they need the records in memory): t-closeness" in out


def test_duckdb_risk_counts_household_risk_as_in_memory(workdir: Path) -> None:
    frame = pd.read_parquet(workdir / "d.parquet")
    frame["hh"] = np.arange(len(frame)) // 3
    frame.loc[::50, "hh"] = np.nan  # no household: a household of its own
    frame.to_parquet(workdir / "h.parquet")
    policy = POLICY.replace("data: {weight: w}", "data: {weight: w, household: hh}")
    policy = policy.replace("thresholds: {k: 2,", "thresholds: {k: 2, max_individual_risk: 0.02,")
    (workdir / "h.yaml").write_text(policy)
    code_p, _, err_p = run("risk", "h.parquet", "--policy", "h.yaml", "--json", "p.json")
    code_d, out, err = run(
        "risk", "h.parquet", "--policy", "h.yaml", "--engine", "duckdb", "--json", "d.json"
    )
    assert code_p == code_d == 1, (err_p, err)
    full = json.loads((workdir / "p.json").read_text())
    scale = json.loads((workdir / "d.json").read_text())
    got, want = scale["household_risk"], full["household_risk"]
    assert got["households"] == want["households"] == 134 + 8
    for name in ("global_risk", "expected_reidentifications", "max_risk"):
        assert got[name] == pytest.approx(want[name], rel=1e-12)
    assert {b["name"] for b in scale["breaches"]} == {b["name"] for b in full["breaches"]}
    assert "max_household_risk" in {b["name"] for b in scale["breaches"]}
    assert scale["not_computed"] == ["t_closeness", "suda", "contributions"]
    assert re.search(r"highest household risk +\S+ +0.02  FAIL", out), out
