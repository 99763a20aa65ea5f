"""`sdc risk` on a large file: SUDA2 and the contributions are left out unless --suda.

The limit (:data:`sdc.risk.assess.FULL_REPORT_RECORDS`, 250,000 records) is lowered for the
tests so that a small file counts as large.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc import workflow
from sdc.risk.assess import FULL_REPORT_RECORDS
from tests.cli._runner import run

POLICY = """\
version: 1
name: large
data: {weight: w}
missing: wildcard
columns:
  region: {role: quasi}
  sex: {role: quasi}
  age: {role: quasi}
  hiv: {role: sensitive}
thresholds: {k: 2}
"""

NOTE = (
    "SUDA and the per-variable contributions (which variables to recode first) were not "
    "computed: the file has 60 records, more than 50, and they take longer than every other "
    "measure together. Run sdc risk with --suda to compute them."
)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(7)
    n = 60
    frame = pd.DataFrame(
        {
            "region": rng.choice(["north", "south", "east"], n),
            "sex": rng.choice(["f", "m"], n),
            "age": rng.choice(["young", "middle", "old", "very old"], n),
            "hiv": rng.choice(["yes", "no"], n),
            "w": rng.uniform(5, 50, n).round(1),
        }
    )
    frame.loc[3, "age"] = None  # a blank, counted by the wildcard rule
    data = tmp_path / "survey.parquet"
    frame.to_parquet(data, index=False)
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY, encoding="utf-8")
    return data, policy


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(workflow, "FULL_REPORT_RECORDS", 50)


@pytest.mark.usefixtures("small_limit")
def test_large_file_skips_suda_and_says_how_to_get_it(
    files: tuple[Path, Path], tmp_path: Path
) -> None:
    data, policy = files
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    code, out, err = run(
        "risk", str(data), "--policy", str(policy), "--json", str(out_json), "--html", str(out_html)
    )
    assert code == 1
    assert err == ""
    assert f"\n{NOTE}\n" in out
    assert "Recode first:" not in out
    assert "special unique" not in out
    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert document["skipped"] == {
        "measures": ["suda", "contributions"],
        "reason": "size",
        "records_limit": 50,
        "option": "--suda",
    }
    assert document["suda"] is None
    assert document["contributions"] == []
    assert document["recode_first"] == []
    page = out_html.read_text(encoding="utf-8")
    assert NOTE in page
    assert "Variable contributions:" not in page


@pytest.mark.usefixtures("small_limit")
def test_suda_option_computes_them_anyway(files: tuple[Path, Path], tmp_path: Path) -> None:
    data, policy = files
    out_json = tmp_path / "r.json"
    code, out, _err = run(
        "risk", str(data), "--policy", str(policy), "--json", str(out_json), "--suda"
    )
    assert code == 1
    assert "were not computed" not in out
    assert "Recode first:" in out
    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert document["skipped"] is None
    assert document["suda"]["records_with_msu"] > 0
    assert [c["variable"] for c in document["contributions"]] == ["region", "sex", "age"]


def test_small_file_has_every_measure(files: tuple[Path, Path], tmp_path: Path) -> None:
    data, policy = files
    out_json = tmp_path / "r.json"
    code, out, _err = run("risk", str(data), "--policy", str(policy), "--json", str(out_json))
    assert code == 1
    assert "were not computed" not in out
    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert document["skipped"] is None
    assert document["suda"] is not None
    assert len(document["contributions"]) == 3


@pytest.mark.usefixtures("small_limit")
def test_note_in_french(files: tuple[Path, Path]) -> None:
    data, policy = files
    code, out, _err = run("risk", str(data), "--policy", str(policy), "--lang", "fr")
    assert code == 1
    assert (
        "SUDA et les contributions par variable (les variables à recoder d’abord) n’ont pas été "
        "calculés : le fichier compte 60 enregistrements, plus de 50, et ils prennent plus de "
        "temps que toutes les autres mesures réunies. Lancez sdc risk avec --suda pour les "
        "calculer."
    ) in out


def test_suda_option_needs_the_in_memory_engine(files: tuple[Path, Path]) -> None:
    data, policy = files
    code, out, err = run("risk", str(data), "--policy", str(policy), "--engine", "duckdb", "--suda")
    assert code == 2
    assert out == ""
    assert err == (
        "Error: --suda needs the data in memory: the duckdb engine computes only the "
        "frequency-based measures; run sdc risk without --engine\n"
    )


def test_help_states_the_limit() -> None:
    code, out, _err = run("risk", "--help")
    assert code == 0
    assert f"left out above {FULL_REPORT_RECORDS:,} records" in " ".join(out.split())


def test_cli_starts_without_the_library() -> None:
    """`sdc --help` imports neither pandas nor numpy (lazy imports keep it fast)."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from sdc.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "print(sorted(m for m in ('pandas', 'numpy', 'pyarrow') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout == "[]\n"
