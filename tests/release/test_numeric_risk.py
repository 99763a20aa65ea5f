"""Numeric risk and utility in the manifest and the risk reports, verified by `sdc check`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.utility import numeric_utility
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from sdc.risk.numeric import numeric_risk
from tests.cli._runner import run

POLICY = """\
version: 1
name: spending
columns:
  region: {role: quasi}
  income: {role: sensitive, TREATMENT}
  spend: {role: sensitive, TREATMENT}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, STEP, suppress]}
"""


def _policy(tmp_path: Path, treatment: str) -> str:
    step = treatment.split(":")[0]
    text = POLICY.replace("TREATMENT", treatment).replace("STEP", step)
    (tmp_path / "p.yaml").write_text(text)
    return text


@pytest.fixture
def survey_path(tmp_path: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame(
        {
            "region": np.where(np.arange(n) % 2, "a", "b"),
            "income": rng.lognormal(8, 1, n).round(1),
            "spend": rng.normal(100, 20, n).round(1),
        }
    )
    frame.to_csv(tmp_path / "s.csv", index=False)
    return tmp_path / "s.csv"


def _release(tmp_path: Path, survey: Path, treatment: str) -> tuple[dict, object, object]:
    policy = parse_policy(_policy(tmp_path, treatment), source=tmp_path / "p.yaml")
    table = read_table(survey)
    result = release(table, policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"), seed=1)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    return manifest, result, (policy, table)


def test_the_manifest_holds_them_before_and_after(tmp_path: Path, survey_path: Path) -> None:
    manifest, result, _ = _release(tmp_path, survey_path, "microaggregation: {k: 3}")
    original = pd.read_csv(survey_path)
    treated = result.microdata.frame  # type: ignore[attr-defined]
    expected = numeric_risk(original, treated, ["income", "spend"])
    assert expected is not None
    assert manifest["risk"]["after"]["numeric_risk"] == expected.to_dict()
    assert manifest["risk"]["before"]["numeric_risk"] == {
        "columns": ["income", "spend"],
        "records": 300,
        "treated": False,
        "relinked_share": 1.0,
        "interval_disclosure": 1.0,
    }
    assert manifest["microdata"]["utility"] == numeric_utility(
        original, treated, ["income", "spend"]
    )
    # groups of 3 to 5 identical values: most records are no longer their own nearest
    assert 0 < expected.relinked_share < 0.5  # type: ignore[operator]
    after = json.loads((tmp_path / "out" / "risk-after.json").read_text())
    assert after["numeric_risk"] == expected.to_dict()
    html = (tmp_path / "out" / "report.html").read_text()
    assert "records an intruder with the original numbers re-links (record linkage)" in html


def test_check_recomputes_a_deterministic_treatment(tmp_path: Path, survey_path: Path) -> None:
    manifest, _, (policy, table) = _release(tmp_path, survey_path, "microaggregation: {k: 3}")
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert all(i.passed for i in items.values()), [i.detail for i in items.values() if not i.passed]
    share = manifest["risk"]["after"]["numeric_risk"]["relinked_share"]
    assert items["input numeric risk"].detail == (
        "income, spend: eigenvalue measure and IL_correl recomputed from s.csv and the "
        "released file, as the manifest says; the treatment re-run on s.csv gives the released "
        f"rows and re-links {share:.1%} of the records, as the manifest says"
    )
    # a lower share written into the manifest is caught against the input
    manifest["risk"]["after"]["numeric_risk"]["relinked_share"] = 0.01
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest))
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert not items["input numeric risk"].passed
    assert items["input numeric risk"].detail == (
        f"risk.after.numeric_risk.relinked_share is 0.01 but recomputed {share!r}"
    )
    assert items["numeric risk"].passed  # the bundle alone cannot know


def test_check_of_a_random_treatment_compares_what_needs_no_pairing(
    tmp_path: Path, survey_path: Path
) -> None:
    manifest, _, (policy, table) = _release(tmp_path, survey_path, "noise: {sd: 0.5}")
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert items["input numeric risk"].passed
    assert items["input numeric risk"].detail.endswith(
        "record linkage, interval disclosure and IL1s pair each released record with its "
        "original, which a random treatment and the released order hide: not recomputed"
    )
    manifest["microdata"]["utility"]["eigen"] = 0.5
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest))
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy, table).items}
    assert items["input numeric risk"].detail.startswith(
        "microdata.utility.eigen is 0.5 but recomputed "
    )


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        (
            lambda m: m["risk"]["after"]["numeric_risk"].update(columns=["income"]),
            "risk.after.numeric_risk measures income but the policy perturbs or top codes "
            "income, spend",
        ),
        (
            lambda m: m["risk"]["after"].pop("numeric_risk"),
            "the manifest has no risk.after.numeric_risk (the policy perturbs income, spend)",
        ),
        (
            lambda m: m["risk"]["before"]["numeric_risk"].update(relinked_share=0.5),
            "risk.before.numeric_risk.relinked_share is 0.5: before treatment every record is "
            "its own nearest (1 by definition)",
        ),
        (
            lambda m: m["risk"]["after"]["numeric_risk"].update(relinked_share=1.5),
            "manifest.json: risk.after.numeric_risk.relinked_share: Input should be less than "
            "or equal to 1",
        ),
    ],
)
def test_the_bundle_alone(tmp_path: Path, survey_path: Path, edit: object, detail: str) -> None:
    manifest, _, (policy, _table) = _release(tmp_path, survey_path, "microaggregation: {k: 3}")
    edit(manifest)  # type: ignore[operator]
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest))
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy).items}
    assert (items["numeric risk"].passed, items["numeric risk"].detail) == (False, detail)


def test_an_older_bundle_without_them_passes_with_a_note(tmp_path: Path, survey_path: Path) -> None:
    manifest, _, (policy, _table) = _release(tmp_path, survey_path, "microaggregation: {k: 3}")
    for stage in ("before", "after"):
        del manifest["risk"][stage]["numeric_risk"]
    del manifest["microdata"]["utility"]
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest))
    items = {i.name: i for i in check_bundle(tmp_path / "out", policy).items}
    assert (items["numeric risk"].passed, items["numeric risk"].detail) == (
        True,
        "the manifest records no numeric risk or utility of income, spend (a bundle made "
        "before sdc measured them): nothing to verify",
    )


def test_sdc_risk_says_what_the_figure_means_as_collected(
    tmp_path: Path, survey_path: Path
) -> None:
    _policy(tmp_path, "microaggregation: {k: 3}")
    code, out, _err = run(
        "risk", str(survey_path), "--policy", str(tmp_path / "p.yaml"), "--json",
        str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 0
    assert (
        "  - Numbers in income and spend are as collected: an intruder holding their original "
        "values re-links 100.0% of the records by the nearest values (distance-based record "
        "linkage). The policy's treatment of them lowers this; the release report gives the "
        "share after it.\n"
    ) in out
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["numeric_risk"] == {
        "columns": ["income", "spend"],
        "records": 300,
        "treated": False,
        "relinked_share": 1.0,
        "interval_disclosure": 1.0,
    }


def test_top_coding_in_sdc_risk_is_measured_after_the_recodes(
    tmp_path: Path, survey_path: Path
) -> None:
    text = _policy(tmp_path, "microaggregation: {k: 3}").replace(
        "income: {role: sensitive, microaggregation: {k: 3}}",
        "income: {role: sensitive, microaggregation: {k: 3}, top_code: 5000}",
    )
    (tmp_path / "p.yaml").write_text(text)
    code, out, _err = run(
        "risk", str(survey_path), "--policy", str(tmp_path / "p.yaml"), "--json",
        str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 0
    document = json.loads((tmp_path / "r.json").read_text())
    after = document["after_recodes"]["numeric_risk"]
    original = pd.read_csv(survey_path)
    capped = original.assign(income=original["income"].clip(upper=5000))
    expected = numeric_risk(original, capped, ["income", "spend"])
    assert expected is not None and after == expected.to_dict()
    assert after["treated"] and after["relinked_share"] < 1.0
    assert "Share of records an intruder with the original numeric values (income and spend)" in out


@pytest.mark.parametrize(
    ("columns", "treatments", "rebuilt"),
    [
        ("  x: {role: other, microaggregation: {k: 2, strata: [g]}}", "microaggregation", True),
        ("  x: {role: other, microaggregation: {k: 2, strata: [q]}}", "microaggregation", True),
        # the stratum is a quasi-identifier that local suppression may blank
        (
            "  x: {role: other, microaggregation: {k: 2, strata: [q]}}",
            "microaggregation, suppress",
            False,
        ),
        ("  x: {role: other, noise: {sd: 0.1}}", "noise", False),
        ("  x: {role: quasi, top_code: 3}", "recode, suppress", False),
        ("  x: {role: other, top_code: 3}", "recode, suppress", True),
    ],
)
def test_what_check_can_rebuild(
    tmp_path: Path, columns: str, treatments: str, rebuilt: bool
) -> None:
    from sdc.release.microdata import recompute_numeric

    text = (
        "version: 1\nname: r\ncolumns:\n  q: {role: quasi}\n  g: {role: other}\n"
        f"{columns}\noutputs:\n  microdata: {{treatments: [{treatments}]}}\n"
    )
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    frame = pd.DataFrame({"q": list("aabb"), "g": list("abab"), "x": [1.0, 2, 5, 7]})
    out = recompute_numeric(frame, policy, ["x"])
    assert (out is not None) == rebuilt
    if out is not None and "strata: [q]" in columns:
        assert out["x"].tolist() == [1.5, 1.5, 6.0, 6.0]
