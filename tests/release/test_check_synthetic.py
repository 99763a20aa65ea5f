"""``sdc check`` on synthetic data: values and the manifest's account against the policy.

What a DP bundle publishes about its synthesis must be public (from the policy) or derived
from DP measurements: ``merged`` (categories MST merged because their noisy counts were
small) may only name codebook labels of synthesised columns, the synthetic file may only
hold declared categories and numbers within the bounds, and the account's columns, rows,
bins and method must be the policy's. A forged bundle fails.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sdc.io import read_table
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from tests.release.test_check import policy_from
from tests.release.test_check_hardening import edit_manifest, item, rehash

POLICY = """\
version: 1
name: synth-checked
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s, e, w, x]}
  age: {role: quasi, bounds: [0, 100], type: integer}
outputs:
  synthetic: {epsilon: 0.5, rows: 200, seed: 3}
privacy: {dataset: synth-check, budget: 2.0, guarantee: dp}
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synth")
    rng = np.random.default_rng(2)  # test data, not DP noise
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], 500),
            "region": rng.choice(["n", "s", "e"], 500),  # w and x never occur
            "age": rng.integers(0, 100, 500),
        }
    )
    frame.to_csv(folder / "d.csv", index=False)
    policy = policy_from(folder, POLICY)
    release(read_table(folder / "d.csv"), policy, folder / "rel", ledger=Ledger(folder / "l"))
    return folder


@pytest.fixture
def bundle(made: Path, tmp_path: Path) -> Path:
    shutil.copytree(made / "rel", tmp_path / "rel")
    return tmp_path / "rel"


def _synthetic(bundle: Path, tmp_path: Path) -> Any:
    return item(check_bundle(bundle, policy_from(tmp_path, POLICY)), "synthetic")


def _merge(**merged: list[str]) -> Any:
    def change(m: dict[str, Any]) -> None:
        m["synthetic"]["merged"] = merged

    return change


def test_a_real_synthetic_bundle_passes(bundle: Path, tmp_path: Path) -> None:
    result = check_bundle(bundle, policy_from(tmp_path, POLICY))
    assert result.passed, [(i.name, i.detail) for i in result.items if not i.passed]
    detail = item(result, "synthetic").detail
    assert detail.startswith(
        "200 synthetic records, readable; every value is one the policy declares (categories "
        "or bounds) in its 3 column(s); the manifest's account matches the policy"
    )


def test_merged_codebook_labels_pass(bundle: Path, tmp_path: Path) -> None:
    edit_manifest(bundle, _merge(region=["w", "x"], age=["[0, 6.25)", "[93.75, 100]"]))
    synthetic = _synthetic(bundle, tmp_path)
    assert synthetic.passed, synthetic.detail
    assert synthetic.detail.endswith("; merged categories from noisy counts: 2 in region, 2 in age")


@pytest.mark.parametrize(
    ("merged", "detail"),
    [
        (
            {"region": ["w", "Jane Doe, 14 Rue X"]},
            "synthetic.merged of region: 1 label(s) are not in the policy's codebook",
        ),
        (
            {"region": ["w"]},
            "synthetic.merged of region: a merge needs two or more different labels",
        ),
        (
            {"region": ["w", "w"]},
            "synthetic.merged of region: a merge needs two or more different labels",
        ),
        ({"income": ["1", "2"]}, "synthetic.merged names 'income', which is not synthesised"),
        (
            {"age": ["[0, 5)", "[5, 10)"]},  # not the bins of the policy's bounds and bins
            "synthetic.merged of age: 2 label(s) are not in the policy's codebook",
        ),
        ({"region": "w"}, "manifest.json: synthetic.merged.region: Input should be a valid list"),
    ],
)
def test_forged_merged_fails(bundle: Path, tmp_path: Path, merged: Any, detail: str) -> None:
    edit_manifest(bundle, _merge(**merged))
    synthetic = _synthetic(bundle, tmp_path)
    assert not synthetic.passed
    assert synthetic.detail == detail


@pytest.mark.parametrize(
    ("key", "value", "detail"),
    [
        ("rows", 5000, "the manifest's synthetic rows is 5000, not 200"),
        ("bins", 8, "the manifest's synthetic bins is 8, not 16"),
        (
            "columns",
            ["sex", "region"],
            "the manifest's synthetic columns is ['sex', 'region'], not ['sex', 'region', 'age']",
        ),
    ],
)
def test_a_forged_account_fails(
    bundle: Path, tmp_path: Path, key: str, value: Any, detail: str
) -> None:
    def change(m: dict[str, Any]) -> None:
        m["synthetic"][key] = value

    edit_manifest(bundle, change)
    synthetic = _synthetic(bundle, tmp_path)
    assert (synthetic.passed, synthetic.detail) == (False, detail)


def test_a_missing_account_fails(bundle: Path, tmp_path: Path) -> None:
    edit_manifest(bundle, lambda m: m.pop("synthetic"))
    detail = _synthetic(bundle, tmp_path).detail
    assert detail == "manifest.json has no synthetic account (synthetic)"


def _rewrite(bundle: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(bundle / "synthetic.csv", index=False)
    frame.to_parquet(bundle / "synthetic.parquet", index=False)
    rehash(bundle, "synthetic.csv", "synthetic.parquet")


def test_undeclared_values_in_the_synthetic_file_fail(bundle: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(bundle / "synthetic.csv")
    forged = frame.astype({"region": object, "age": float})
    forged.loc[:2, "region"] = "Kigali-7"  # a real category the policy does not declare
    forged.loc[:0, "age"] = 104.0
    forged.loc[1:1, "age"] = 33.5  # type: integer
    forged.loc[3:3, "sex"] = None
    _rewrite(bundle, forged)
    assert _synthetic(bundle, tmp_path).detail == (
        "sex: 1 value(s) are not categories the policy lists; region: 3 value(s) are not "
        "categories the policy lists; age: 2 value(s) are not numbers within its bounds [0, 100]"
    )


def test_another_row_count_than_the_policys_fails(bundle: Path, tmp_path: Path) -> None:
    frame = pd.read_csv(bundle / "synthetic.csv")
    _rewrite(bundle, frame.iloc[:150])
    assert _synthetic(bundle, tmp_path).detail == (
        "synthetic.csv has 150 records, not the policy's rows 200"
    )


def test_noise_scales_other_than_the_policys_fail(bundle: Path, tmp_path: Path) -> None:
    def halve(m: dict[str, Any]) -> None:
        m["synthetic"]["sigma_1way"] /= 2

    claimed = pd.read_json(bundle / "manifest.json", typ="series")["synthetic"]["sigma_1way"]
    edit_manifest(bundle, halve)
    synthetic = _synthetic(bundle, tmp_path)
    assert (synthetic.passed, synthetic.detail) == (
        False,
        f"the manifest's synthetic sigma_1way is {claimed / 2:.6g}, not {claimed:.6g} as "
        "epsilon 0.5 gives",
    )


HOUSEHOLD = POLICY.replace(
    "privacy: {dataset: synth-check, budget: 2.0, guarantee: dp}",
    "data: {household: hh}\n"
    "privacy: {dataset: synth-hh, budget: 2.0, guarantee: dp, unit: household, "
    "contribution: 3}",
).replace("columns:\n", "columns:\n  hh: {role: other}\n")


def test_a_household_bundle_passes_with_noise_for_its_contribution(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)  # test data, not DP noise
    frame = pd.DataFrame(
        {
            "hh": rng.integers(0, 150, 500),
            "sex": rng.choice(["f", "m"], 500),
            "region": rng.choice(["n", "s", "e"], 500),
            "age": rng.integers(0, 100, 500),
        }
    )
    frame.to_csv(tmp_path / "d.csv", index=False)
    policy = policy_from(tmp_path, HOUSEHOLD)
    release(read_table(tmp_path / "d.csv"), policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l"))
    result = check_bundle(tmp_path / "rel", policy)
    assert item(result, "synthetic").passed, item(result, "synthetic").detail
    # The same bundle against the policy of one record per person: its noise is 3 times
    # what that policy gives, and the check says so (the manifest is not what it claims).
    individual = policy_from(tmp_path, POLICY, "i.yaml")
    detail = item(check_bundle(tmp_path / "rel", individual), "synthetic").detail
    assert "the manifest's synthetic sigma_1way is " in detail
