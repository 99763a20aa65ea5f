"""``release()`` end to end: properties over random surveys, tables, DP, budget, --force."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sdc.budget import Budget
from sdc.errors import BudgetExceeded, DataError, PolicyError, PolicyNotMet
from sdc.io import read_table
from sdc.policy import Policy, parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import ReleaseResult, release
from sdc.risk.frequencies import encode_keys, key_frequencies

KEY = "a-test-key-of-32-characters-long!"
QUASI = ["age", "sex", "village"]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", KEY)


def write_inputs(folder: Path, frame: pd.DataFrame, policy_text: str) -> tuple[Path, Policy]:
    """Write the data as CSV and parse the policy as if read from ``folder/p.yaml``."""
    data = folder / "survey.csv"
    frame.to_csv(data, index=False)
    source = folder / "p.yaml"
    source.write_text(policy_text, encoding="utf-8")
    return data, parse_policy(policy_text, source=source)


def wildcard_counts(frame: pd.DataFrame, quasi: list[str]) -> np.ndarray:
    """Brute force: for each record, the records that agree on every non-missing value."""
    values = frame[quasi].astype(object).where(frame[quasi].notna(), None).to_numpy()
    n = len(values)
    out = np.zeros(n, dtype=np.int64)
    for i in range(n):
        for j in range(n):
            if all(
                a is None or b is None or str(a) == str(b)
                for a, b in zip(values[i], values[j], strict=True)
            ):
                out[i] += 1
    return out


def leftovers(out: Path) -> list[str]:
    """Temporary or backup folders a release may have left beside ``out``."""
    return [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")]


# --------------------------------------------------------------------------- properties

PROPERTY_POLICY = """\
version: 1
name: prop
columns:
  name: {{role: direct}}
  pid: {{role: direct, action: pseudonymize}}
  notes: {{role: drop}}
  age: {{role: quasi{age_recode}}}
  sex: {{role: quasi}}
  village: {{role: quasi, importance: 1}}
  hiv: {{role: sensitive}}
thresholds: {{k: {k}, max_suppression: {max_suppression}{risk}}}
outputs:
  microdata: {{treatments: [recode, suppress]}}
"""


@st.composite
def surveys(draw: st.DrawFn) -> tuple[pd.DataFrame, str, int, float]:
    n = draw(st.integers(6, 36))
    villages = draw(st.sampled_from(["AB", "ABC", "ABCDE"]))
    ages = draw(st.sampled_from([[20, 40], [15, 25, 35, 70], list(range(0, 100, 7))]))
    frame = pd.DataFrame(
        {
            "name": [f"Zq Person {i}" for i in range(n)],
            "pid": draw(
                st.lists(st.sampled_from([f"ID{j:03d}" for j in range(12)]), min_size=n, max_size=n)
            ),
            "notes": [f"secret note {i}" for i in range(n)],
            "age": draw(st.lists(st.sampled_from(ages), min_size=n, max_size=n)),
            "sex": draw(st.lists(st.sampled_from("fm"), min_size=n, max_size=n)),
            "village": draw(st.lists(st.sampled_from(list(villages)), min_size=n, max_size=n)),
            "hiv": draw(st.lists(st.sampled_from(["pos", "neg"]), min_size=n, max_size=n)),
            "income": draw(st.lists(st.integers(0, 5000), min_size=n, max_size=n)),
            "remark": draw(st.lists(st.sampled_from(["x", "y z", "w"]), min_size=n, max_size=n)),
        }
    )
    # a few values already missing in the input: they are not suppressions
    holes = draw(st.lists(st.integers(0, n - 1), max_size=2))
    for i in holes:
        frame.loc[i, "sex"] = None
    k = draw(st.sampled_from([2, 3]))
    share = draw(st.sampled_from([0.05, 0.2, 0.5, 1.0]))
    age_recode = draw(st.sampled_from(["", ", recode: {bands: [0, 30, 60]}"]))
    risk = draw(st.sampled_from(["", ", max_individual_risk: 0.4"]))
    text = PROPERTY_POLICY.format(k=k, max_suppression=share, age_recode=age_recode, risk=risk)
    return frame, text, k, share


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(surveys())
def test_release_properties(case: tuple[pd.DataFrame, str, int, float]) -> None:
    frame, text, k, share = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, policy = write_inputs(folder, frame, text)
        original = data.read_bytes()
        table = read_table(data)
        out = folder / "rel"
        ledger = Ledger(folder / "ledger.jsonl")
        try:
            result = release(table, policy, out, ledger=ledger, seed=5)
        except PolicyNotMet as exc:
            event("refused: " + str(exc).split(" ")[0])
            assert not out.exists()
            assert leftovers(out) == []
            assert not ledger.path.exists()
            assert data.read_bytes() == original
            return
        event("released")
        assert data.read_bytes() == original
        assert leftovers(out) == []
        assert_released_properties(result, table.frame, out, k, share)


def assert_released_properties(
    result: ReleaseResult, before: pd.DataFrame, out: Path, k: int, share: float
) -> None:
    assert result.microdata is not None
    released = result.microdata.frame
    on_disk = read_table(out / "microdata.csv").frame
    assert len(released) == len(on_disk) == len(before)
    for frame in (released, on_disk):
        # k under the wildcard rule, by the library's counter and by brute force
        fk = key_frequencies(encode_keys(frame, QUASI, "wildcard")).fk
        assert fk.min() >= k
        assert wildcard_counts(frame, QUASI).min() >= k
        # no direct identifier or drop column survives (pid is replaced by pseudonyms)
        assert not {"name", "notes"} & set(frame.columns)
        assert list(frame.columns) == [c for c in before.columns if c not in ("name", "notes")]
        # non-quasi columns are untouched
        for col in ("hiv", "income", "remark"):  # the file's records are in a random order
            assert sorted(frame[col].astype(str)) == sorted(before[col].astype(str))
    text = (out / "microdata.csv").read_text()
    assert "Zq Person" not in text and "secret note" not in text and "ID0" not in text
    # suppression share: records with a quasi-identifier value present before, missing after
    lost = (before[QUASI].notna().to_numpy() & released[QUASI].isna().to_numpy()).any(axis=1)
    assert lost.mean() <= share + 1e-12
    assert result.manifest["microdata"]["suppression_share"] == pytest.approx(lost.mean())
    assert result.manifest["microdata"]["suppressed_records"] == int(lost.sum())
    # pseudonyms: a function of the identifier, one-to-one
    pairs = pd.DataFrame({"id": before["pid"].astype(str), "ps": released["pid"].astype(str)})
    assert (pairs.groupby("id")["ps"].nunique() == 1).all()
    assert (pairs.groupby("ps")["id"].nunique() == 1).all()
    assert released["pid"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert KEY not in (out / "manifest.json").read_text()


def test_linkable_pseudonyms_are_stable_across_releases(tmp_path: Path) -> None:
    """With linkable: true the steward's key (SDC_PSEUDONYM_KEY here) serves every release."""
    frame = pd.DataFrame(
        {
            "name": ["a", "b", "c", "d"],
            "pid": ["X1", "X2", "X1", "X3"],
            "notes": ["", "", "", ""],
            "age": [1, 1, 1, 1],
            "sex": ["f"] * 4,
            "village": ["A"] * 4,
            "hiv": ["neg"] * 4,
        }
    )
    text = PROPERTY_POLICY.format(k=2, max_suppression=0.1, age_recode="", risk="")
    text = text.replace("action: pseudonymize}", "action: pseudonymize, linkable: true}")
    data, policy = write_inputs(tmp_path, frame, text)
    one = release(read_table(data), policy, tmp_path / "r1", ledger=Ledger(tmp_path / "l"))
    two = release(read_table(data), policy, tmp_path / "r2", ledger=Ledger(tmp_path / "l"))
    assert one.microdata is not None and two.microdata is not None
    p1 = one.microdata.frame["pid"].tolist()
    assert p1 == two.microdata.frame["pid"].tolist()
    assert p1[0] == p1[2] and len({p1[0], p1[1], p1[3]}) == 3


# --------------------------------------------------------------------------- fixtures

BASE_POLICY = """\
version: 1
name: base
columns:
  name: {role: direct}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi, categories: [f, m]}
  village: {role: quasi, categories: [A, B, C, D]}
  hiv: {role: sensitive}
  income: {role: sensitive, bounds: [0, 1000]}
thresholds: {k: 2, max_suppression: 0.5}
"""


def survey(n: int = 60) -> pd.DataFrame:
    """A deterministic survey: village D is tiny (3 records), so its cells get suppressed."""
    rows = []
    for i in range(n):
        village = "D" if i >= n - 3 else "ABC"[i % 3]
        rows.append(
            {
                "name": f"Zq Person {i}",
                "age": 18 + (i * 7) % 70,
                "sex": "f" if i % 2 else "m",
                "village": village,
                "hiv": "pos" if i % 5 == 0 else "neg",
                "income": (i * 37) % 900,
            }
        )
    return pd.DataFrame(rows)


def make(
    tmp_path: Path,
    outputs: str,
    *,
    privacy: str = "privacy: {budget: 1.0, dataset: survey}\n",
    frame: Any = None,
) -> tuple[Path, Policy]:
    return write_inputs(
        tmp_path, survey() if frame is None else frame, BASE_POLICY + outputs + privacy
    )


# --------------------------------------------------------------------------- tables

TABLES = """\
outputs:
  microdata: {treatments: [recode, suppress]}
  tables:
    - {by: [village, sex], count: true, min_cell: 3}
"""


def test_min_cell_tables_have_primary_and_secondary_cells(tmp_path: Path) -> None:
    data, policy = make(tmp_path, TABLES)
    table = read_table(data)
    result = release(table, policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l.jsonl"))
    tidy = pd.read_csv(tmp_path / "rel" / "tables" / "count_by_village_sex.csv")
    assert list(tidy.columns[:4]) == ["village", "sex", "count", "flag"]
    truth = table.frame.groupby(["village", "sex"]).size()
    inner = tidy[(tidy["village"] != "Total") & (tidy["sex"] != "Total")]
    small = {(v, s) for (v, s), c in truth.items() if 0 < c < 3}
    assert small  # village D holds cells of 1 and 2 records
    flagged = {(r.village, r.sex) for r in inner.itertuples() if r.flag == "primary"}
    assert flagged == small
    assert (tidy["flag"] == "secondary").sum() >= 1  # one small cell per row: needs more
    assert tidy.loc[tidy["flag"].isin(["primary", "secondary"]), "count"].isna().all()
    published = inner[inner["flag"] == "published"]
    for r in published.itertuples():
        assert r.count == truth[(r.village, r.sex)]
    entry = result.manifest["tables"][0]
    assert entry["audit_passed"] is True
    assert entry["flags"]["primary"] == len(small) and entry["flags"]["secondary"] >= 1
    assert entry["budget"]["epsilon"] == 0
    assert result.manifest["privacy"]["spent"]["epsilon"] == 0
    assert not (tmp_path / "l.jsonl").exists()  # no DP output: nothing in the ledger
    assert check_bundle(tmp_path / "rel", policy).passed


DP = """\
outputs:
  tables:
    - {by: [village], sum: income, dp: {epsilon: 0.3}}
    - {by: [sex], count: true, dp: {epsilon: 0.2}}
  synthetic: {epsilon: 0.4, rows: 50, seed: 3, columns: [sex, village, income]}
"""


def test_dp_tables_and_synthetic_are_recorded_in_the_ledger(tmp_path: Path) -> None:
    data, policy = make(tmp_path, DP)
    table = read_table(data)
    ledger = Ledger(tmp_path / "ledger.jsonl")
    result = release(table, policy, tmp_path / "rel", ledger=ledger)
    assert result.budget.epsilon == pytest.approx(0.9)
    assert result.manifest["privacy"]["spent"]["epsilon"] == pytest.approx(0.9)
    assert result.manifest["synthetic"]["epsilon"] == pytest.approx(0.4)
    assert [t["budget"]["epsilon"] for t in result.manifest["tables"]] == pytest.approx([0.3, 0.2])
    entries = ledger.entries()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.dataset_sha256 == table.sha256
    assert entry.dataset == "survey" and entry.complete
    assert entry.budget.epsilon == pytest.approx(0.9)
    assert set(entry.outputs) == {"sum_income_by_village", "count_by_sex", "synthetic"}
    assert entry.policy_name == "base"
    assert ledger.spent("survey").epsilon == pytest.approx(0.9)
    dp = pd.read_csv(tmp_path / "rel" / "tables" / "sum_income_by_village.csv")
    assert set(dp["flag"]) == {"dp"}
    assert (dp["ci_low"] <= dp["sum"]).all() and (dp["sum"] <= dp["ci_high"]).all()
    assert (dp["noise_scale"] > 0).all()
    synth = pd.read_csv(tmp_path / "rel" / "synthetic.csv")
    assert list(synth.columns) == ["sex", "village", "income"] and len(synth) == 50
    assert set(synth["village"]) <= {"A", "B", "C", "D"}
    assert not (tmp_path / "rel" / "microdata.csv").exists()
    assert check_bundle(tmp_path / "rel", policy).passed


def test_budget_refusal_leaves_no_bundle_and_no_ledger_entry(tmp_path: Path) -> None:
    outputs = "outputs:\n  tables:\n    - {by: [sex], count: true, dp: {epsilon: 0.4}}\n"
    data, policy = make(tmp_path, outputs)
    table = read_table(data)
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record("survey", ["earlier"], Budget(0.7), "laplace", "earlier")
    before = ledger.path.read_bytes()
    with pytest.raises(
        BudgetExceeded,
        match=r"^release needs epsilon 0\.4 but only 0\.3 of 1\.0 is left for dataset survey;",
    ):
        release(table, policy, tmp_path / "rel", ledger=ledger)
    assert not (tmp_path / "rel").exists()
    assert leftovers(tmp_path / "rel") == []
    assert ledger.path.read_bytes() == before
    # another dataset (every record different) has its own budget
    other = survey()
    other["income"] = other["income"] + 1
    (tmp_path / "two").mkdir()
    data2, policy2 = write_inputs(
        tmp_path / "two", other, BASE_POLICY + outputs + "privacy: {budget: 1.0, dataset: other}\n"
    )
    release(read_table(data2), policy2, tmp_path / "rel2", ledger=ledger)
    assert len(ledger.entries()) == 2


def test_a_policy_without_outputs_is_refused(tmp_path: Path) -> None:
    data, policy = make(tmp_path, "")
    with pytest.raises(PolicyError, match="asks for no output"):
        release(read_table(data), policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l"))
    assert not (tmp_path / "rel").exists()


def test_unmeetable_table_audit_is_not_written(tmp_path: Path) -> None:
    # A one-dimensional table with a single small cell and its total: the cell is the total
    # minus the others unless a second cell is suppressed; the tool must do that, so this
    # release succeeds and the audit holds.
    data, policy = make(
        tmp_path, "outputs:\n  tables:\n    - {by: [village], count: true, min_cell: 4}\n"
    )
    result = release(read_table(data), policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l"))
    flags = result.tables[0].table.set_index("village")["flag"]
    assert flags["D"] == "primary"
    assert (flags == "secondary").sum() == 1
    assert flags["Total"] == "published"


# --------------------------------------------------------------------------- --force

MICRO = "outputs:\n  microdata: {treatments: [recode, suppress]}\n"


def test_existing_folder_is_refused_without_force(tmp_path: Path) -> None:
    data, policy = make(tmp_path, MICRO)
    out = tmp_path / "rel"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(DataError, match="already exists"):
        release(read_table(data), policy, out, ledger=Ledger(tmp_path / "l"))
    assert (out / "old.txt").read_text() == "old"
    assert leftovers(out) == []


def test_force_replaces_only_after_success(tmp_path: Path) -> None:
    data, policy = make(tmp_path, MICRO)
    out = tmp_path / "rel"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(DataError, match="--force only replaces an earlier release bundle"):
        release(read_table(data), policy, out, force=True, ledger=Ledger(tmp_path / "l"))
    release(read_table(data), policy, tmp_path / "first", ledger=Ledger(tmp_path / "l"))
    (tmp_path / "first" / "old.txt").write_text("old")  # an earlier bundle, plus a stray file
    out.joinpath("old.txt").unlink()
    out.rmdir()
    (tmp_path / "first").rename(out)
    strict_text = (BASE_POLICY + MICRO).replace(
        "{k: 2, max_suppression: 0.5}", "{k: 30, max_suppression: 0.01}"
    )
    strict = parse_policy(strict_text, source=tmp_path / "p.yaml")
    with pytest.raises(PolicyNotMet):
        release(read_table(data), strict, out, force=True, ledger=Ledger(tmp_path / "l"))
    assert (out / "old.txt").read_text() == "old"  # a failed release keeps the old bundle
    assert leftovers(out) == []
    result = release(read_table(data), policy, out, force=True, ledger=Ledger(tmp_path / "l"))
    assert not (out / "old.txt").exists()
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == sorted(
        result.files
    )
    assert leftovers(out) == []
    assert check_bundle(out, policy).passed


def test_force_never_writes_over_the_input_or_its_folder(tmp_path: Path) -> None:
    data, policy = make(tmp_path, MICRO)
    table = read_table(data)
    for target in (data, tmp_path):
        with pytest.raises(DataError, match="over the input"):
            release(table, policy, target, force=True, ledger=Ledger(tmp_path / "l"))
    assert data.read_bytes() == read_table(data).path.read_bytes()
    assert read_table(data).sha256 == table.sha256


def test_an_existing_file_is_not_a_bundle_folder(tmp_path: Path) -> None:
    data, policy = make(tmp_path, MICRO)
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(DataError, match="not a folder"):
        release(read_table(data), policy, target, force=True, ledger=Ledger(tmp_path / "l"))
    assert target.read_text() == "x"


def test_manifest_lists_every_file_with_rows_and_hashes(tmp_path: Path) -> None:
    data, policy = make(tmp_path, TABLES)
    table = read_table(data)
    steps: list[str] = []
    result = release(
        table, policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l"), progress=steps.append
    )
    # The treatment and its thresholds first: SUDA (slow, informational) only after them.
    assert steps[:3] == [
        "treating microdata",
        "risk after treatment",
        "risk before and after treatment with SUDA",
    ]
    assert steps[-1] == "writing the bundle"
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    assert manifest == json.loads(json.dumps(result.manifest))
    assert manifest["input"] == {
        "name": "survey.csv",
        "hash": "sha256",
        "sha256": table.sha256,
        "format": "csv",
        "rows": 60,
        "columns": 6,
    }
    assert manifest["outputs"]["microdata.csv"]["rows"] == 60
    assert manifest["outputs"]["tables/count_by_village_sex.csv"]["rows"] == len(
        result.tables[0].table
    )
    assert "report.html" in manifest["outputs"]
    assert manifest["policy"]["thresholds"]["k"] == 2
    assert manifest["risk"]["before"]["passed"] is False
    assert manifest["risk"]["after"]["passed"] is True
    assert manifest["started"] <= manifest["finished"]
    assert manifest["non_dp_seed_given"] is False


SEEDED = """\
  hiv: {role: sensitive, categories: [pos, neg], pram: {p: 0.8}}
"""


def test_release_seed_is_withheld_with_synthetic_output(tmp_path: Path) -> None:
    text = BASE_POLICY.replace("  hiv: {role: sensitive}\n", SEEDED) + (
        "outputs:\n"
        "  microdata: {treatments: [recode, pram, suppress]}\n"
        "  synthetic: {epsilon: 0.5, rows: 30, columns: [sex, village]}\n"
        "privacy: {budget: 1.0, dataset: survey}\n"
    )
    data, policy = write_inputs(tmp_path, survey(), text)
    release(
        read_table(data), policy, tmp_path / "rel", seed=918273645, ledger=Ledger(tmp_path / "l")
    )
    assert "918273645" not in (tmp_path / "rel" / "manifest.json").read_text()
