"""A DP bundle publishes only DP results and public facts (issue 15, leaks 1-3 and 7)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.errors import PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release

DP_POLICY = """\
version: 1
name: dp-only
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s, e]}
  age: {role: quasi, bounds: [0, 100]}
outputs:
  tables:
    - {by: [region, sex], count: true, dp: {epsilon: 0.5}}
  synthetic: {epsilon: 0.5, rows: 300, seed: 3, holdout: 0.2}
privacy: {dataset: dpb, budget: 10.0, guarantee: dp}
"""

MIXED_POLICY = """\
version: 1
name: mixed
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s, e]}
  age: {role: quasi, bounds: [0, 100]}
outputs:
  tables:
    - {by: [region, sex], count: true, dp: {epsilon: 0.5}}
    - {by: [region], count: true, min_cell: 3}
privacy: {dataset: dpb-mixed, budget: 10.0}
"""

#: Rows of the two neighbouring inputs: numbers that no DP value or public fact here hits.
N = 4321


def _frame(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], N + 1),
            "region": rng.choice(["n", "s", "e"], N + 1),
            "age": rng.integers(0, 100, N + 1),
        }
    )
    return frame.iloc[:n]


def _release(tmp_path: Path, text: str, n: int, name: str) -> Path:
    data = tmp_path / f"{name}.csv"
    _frame(n).to_csv(data, index=False)
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    out = tmp_path / name
    release(read_table(data), policy, out, ledger=Ledger(tmp_path / f"{name}.ledger"))
    return out


def _texts(out: Path) -> dict[str, str]:
    return {
        p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(out.rglob("*"))
        if p.is_file() and p.suffix in (".json", ".csv", ".html")
    }


@pytest.mark.parametrize("n", [N, N + 1])
def test_a_dp_bundle_publishes_no_exact_count_nor_plain_input_hash(tmp_path: Path, n: int) -> None:
    out = _release(tmp_path, DP_POLICY, n, "d")
    texts = _texts(out)
    plain = hashlib.sha256((tmp_path / "d.csv").read_bytes()).hexdigest()
    standalone = re.compile(rf"(?<![\d.]){n}(?![\d])|(?<![\d.]){n:,}(?![\d])")
    for name, text in texts.items():
        if name.startswith("tables/"):
            continue  # every cell is a DP value (flag dp, see the manifest): it may hit n
        # The report's DP table cells likewise; nothing else of the report may.
        text = re.sub(r"<tr>((?!</tr>).)*flag-dp((?!</tr>).)*</tr>", "", text, flags=re.S)
        assert not standalone.search(text), f"{name} holds the record count {n}"
        assert plain not in text, f"{name} holds the input's SHA-256"
    assert "synthetic-evaluation.json" not in texts
    manifest = json.loads(texts["manifest.json"])
    assert manifest["guarantee"] == "dp"
    assert "rows" not in manifest["input"] and "sha256" not in manifest["input"]
    assert manifest["input"]["hash"] == "hmac-sha256"
    assert "evaluation" not in manifest["synthetic"]
    assert manifest["synthetic"]["guarantee"] == "dp"
    assert [t["guarantee"] for t in manifest["tables"]] == ["dp"]
    assert manifest["tables"][0]["flags"]["dp"] == 12
    key = bytes.fromhex((tmp_path / "d.input-key").read_text().strip())
    keyed = hmac.new(key, (tmp_path / "d.csv").read_bytes(), hashlib.sha256).hexdigest()
    assert manifest["input"]["keyed_sha256"] == keyed
    steward = json.loads((tmp_path / "d.evaluation.json").read_text())
    assert "tvd_1way_mean" in steward
    assert (tmp_path / "d.evaluation.json").stat().st_mode & 0o077 == 0
    assert "d.evaluation.json, beside the bundle, and must not be published" in texts["report.html"]


def test_neighbouring_dp_bundles_differ_only_in_dp_values_times_and_keyed_hashes(
    tmp_path: Path,
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = _texts(_release(tmp_path / "a", DP_POLICY, N, "d"))
    two = _texts(_release(tmp_path / "b", DP_POLICY, N + 1, "d"))
    assert one.keys() == two.keys()

    def skeleton(manifest: str) -> dict:
        data = json.loads(manifest)
        for key in ("started", "finished", "outputs"):
            data.pop(key)
        data["input"].pop("keyed_sha256")
        data["privacy"].pop("ledger")
        data["privacy"].pop("ledger_entry")
        # MST's choice of marginals is a DP result (noisy selection): the tree and the
        # measurements it selected may differ between runs; the rest is public.
        data["synthetic"].pop("tree")
        data["synthetic"]["measurements"] = [
            m for m in data["synthetic"]["measurements"] if m["kind"] == "1-way"
        ]
        for table in data["tables"]:
            table.pop("flags")  # cells per flag: all dp, the same number of declared cells
        return data

    assert skeleton(one["manifest.json"]) == skeleton(two["manifest.json"])

    def words(report: str) -> str:
        # Numbers are DP values, times, hash digits or public facts equal in both; the
        # structure and every word around them must not depend on the record count.
        report = re.sub(r"<svg.*?</svg>", "", report, flags=re.S)
        return re.sub(r"[0-9a-f]{16,}|[0-9][0-9.,:+eT-]*", "#", report)

    assert words(one["report.html"]) == words(two["report.html"])


def test_a_mixed_bundle_says_so_in_manifest_and_report(tmp_path: Path) -> None:
    texts = _texts(_release(tmp_path, MIXED_POLICY, N, "m"))
    manifest = json.loads(texts["manifest.json"])
    assert manifest["guarantee"] == "mixed"
    assert [t["guarantee"] for t in manifest["tables"]] == ["dp", "sdc"]
    assert (
        "Mixed bundle: only table count_by_region_sex is differentially private; table "
        "count_by_region is protected by disclosure-control rules, which give no "
        "differential-privacy guarantee."
    ) in texts["report.html"]


HEAD = """\
version: 1
name: g
columns:
  sex: {role: quasi, categories: [f, m]}
outputs:
"""


@pytest.mark.parametrize(
    ("outputs", "message"),
    [
        (
            "  microdata: {treatments: [suppress]}\n",
            "p.yaml line 6: outputs.microdata is not differentially private but "
            "privacy.guarantee is dp, so every output must be differentially private; remove "
            "the microdata output (or publish DP synthetic data instead), or remove "
            "privacy.guarantee",
        ),
        (
            "  tables:\n    - {by: [sex], count: true, dp: {epsilon: 0.5}}\n"
            "    - {by: [sex], count: true, min_cell: 3, name: plain}\n",
            "p.yaml line 8: table plain is not differentially private but privacy.guarantee "
            "is dp, so every output must be differentially private; add dp: {epsilon: ...} "
            "to it, remove it, or remove privacy.guarantee",
        ),
    ],
)
def test_guarantee_dp_refuses_non_dp_outputs(outputs: str, message: str) -> None:
    text = HEAD + outputs + "privacy: {dataset: g, guarantee: dp}\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=Path("p.yaml"))
    assert str(info.value) == message


def test_synthetic_data_without_microdata_need_a_public_row_count() -> None:
    text = HEAD + "  synthetic: {epsilon: 0.5}\nprivacy: {dataset: g}\n"
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=Path("p.yaml"))
    assert str(info.value) == (
        "p.yaml line 6: outputs.synthetic needs rows: N, the public number of synthetic "
        "records to draw; without it the synthetic file would publish the exact number of "
        "input records, which differential privacy does not protect"
    )


@pytest.mark.slow
def test_the_demo_bundle_is_mixed_and_says_so(tmp_path: Path) -> None:
    from sdc.workflow import run_demo

    run_demo(tmp_path / "demo", rows=3000)
    bundle = tmp_path / "demo" / "release"
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert manifest["guarantee"] == "mixed"
    assert {t["guarantee"] for t in manifest["tables"]} == {"dp", "sdc"}
    report = (bundle / "report.html").read_text()
    assert "Mixed bundle: only table " in report
    assert "the microdata" in report.split("Mixed bundle:", 1)[1].split("</li>", 1)[0]


def test_check_verifies_the_keyed_input_hash_with_the_stewards_key(tmp_path: Path) -> None:
    from sdc.release.check import check_bundle

    out = _release(tmp_path, DP_POLICY, N, "d")
    policy = parse_policy(DP_POLICY, source=tmp_path / "p.yaml")
    _frame(N + 1).to_csv(tmp_path / "other.csv", index=False)

    def item(data: Path) -> tuple[bool, str]:
        found = [i for i in check_bundle(out, policy, read_table(data)).items if i.name == "input"]
        return found[0].passed, found[0].detail

    assert item(tmp_path / "d.csv") == (
        True,
        "d.csv has the keyed hash the manifest records (input key d.input-key)",
    )
    assert item(tmp_path / "other.csv") == (
        False,
        "other.csv is not the bundle's input, or d.input-key is not its release's input key: "
        "the keyed hash (HMAC-SHA256) differs from the manifest's",
    )
    (tmp_path / "d.input-key").unlink()  # an officer without the steward's key
    assert item(tmp_path / "other.csv") == (
        True,
        "the manifest identifies its input by a keyed hash (a DP bundle) and no input key was "
        "found (d.input-key beside the bundle, or --input-key FILE): the hash is not compared",
    )
