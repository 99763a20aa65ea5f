"""``sdc check --data INPUT --input-key FILE``: a DP bundle's keyed input hash, key elsewhere."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.cli._runner import run

POLICY = """\
version: 1
name: keyed
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s]}
outputs:
  tables:
    - {by: [region, sex], count: true, dp: {epsilon: 0.5}}
privacy: {dataset: keyed, budget: 5.0, ledger: ledger.jsonl}
"""


@pytest.fixture
def released(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)  # test data, not DP noise
    pd.DataFrame(
        {"sex": rng.choice(["f", "m"], 300), "region": rng.choice(["n", "s"], 300)}
    ).to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY, encoding="utf-8")
    code, _, err = run(
        "release",
        str(tmp_path / "d.csv"),
        "-p",
        str(tmp_path / "p.yaml"),
        "--out",
        str(tmp_path / "rel"),
    )
    assert code == 0, err
    return tmp_path


def _check(folder: Path, *extra: str) -> tuple[int, str, str]:
    return run(
        "check",
        str(folder / "rel"),
        "-p",
        str(folder / "p.yaml"),
        "--data",
        str(folder / "d.csv"),
        *extra,
    )


def _input_line(out: str) -> str:
    lines = [line for line in out.splitlines() if re.match(r"(PASS|FAIL)\s+input\s", line)]
    assert len(lines) == 1, out
    return re.sub(r"\s{2,}", "  ", lines[0])


def test_the_key_beside_the_bundle_is_used(released: Path) -> None:
    code, out, _ = _check(released)
    assert code == 0
    assert _input_line(out) == (
        "PASS  input  d.csv has the keyed hash the manifest records (input key rel.input-key)"
    )


def test_a_key_moved_elsewhere_is_given_with_input_key(released: Path) -> None:
    (released / "vault").mkdir()
    moved = released / "vault" / "survey-2026.key"
    shutil.move(released / "rel.input-key", moved)
    code, out, _ = _check(released)
    assert code == 0
    assert _input_line(out) == (
        "PASS  input  the manifest identifies its input by a keyed hash (a DP bundle) and no "
        "input key was found (rel.input-key beside the bundle, or --input-key FILE): the hash "
        "is not compared"
    )
    code, out, _ = _check(released, "--input-key", str(moved))
    assert code == 0
    assert _input_line(out) == (
        "PASS  input  d.csv has the keyed hash the manifest records (input key survey-2026.key)"
    )


def test_a_wrong_key_fails_the_input_check(released: Path) -> None:
    other = released / "other.key"
    other.write_text("ab" * 32 + "\n", encoding="ascii")
    code, out, _ = _check(released, "--input-key", str(other))
    assert code == 1
    assert _input_line(out) == (
        "FAIL  input  d.csv is not the bundle's input, or other.key is not its release's input "
        "key: the keyed hash (HMAC-SHA256) differs from the manifest's"
    )


def test_a_missing_or_malformed_key_file_is_bad_input(released: Path) -> None:
    missing = released / "nowhere.key"
    assert _check(released, "--input-key", str(missing)) == (
        2,
        "",
        f"Error: --input-key {missing}: no such file\n",
    )
    bad = released / "bad.key"
    bad.write_text("not a key\n", encoding="ascii")
    assert _check(released, "--input-key", str(bad)) == (
        2,
        "",
        f"Error: --input-key {bad}: not an input key (a release writes one as 64 hexadecimal "
        "digits to OUT.input-key)\n",
    )


def test_input_key_without_data_is_a_usage_error(released: Path) -> None:
    code, out, err = run(
        "check",
        str(released / "rel"),
        "-p",
        str(released / "p.yaml"),
        "--input-key",
        str(released / "rel.input-key"),
    )
    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        "Error: --input-key only goes with --data INPUT: the key lets check compare INPUT with "
        "the bundle's keyed input hash"
    )
