"""A budget per dataset that re-exports, renamed copies, policy edits and crashes can't reset."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sdc.budget import Budget
from sdc.errors import BudgetExceeded, PolicyError
from sdc.fingerprint import content_fingerprint
from sdc.io import read_table
from sdc.policy import load_policy, parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from tests.cli._runner import run

ROOT = Path(__file__).resolve().parents[2]

POLICY = """\
version: 1
name: dp-survey
columns:
  sex: {role: quasi, categories: [f, m]}
  village: {role: quasi, categories: [A, B, C, D]}
  age: {role: other}
  income: {role: sensitive, bounds: [0, 1000]}
outputs:
  tables:
    - {by: [village, sex], count: true, dp: {epsilon: 0.4}}
privacy: {budget: 1.0, dataset: NAME, ledger: ledger.jsonl}
"""

REFUSED = (
    "Error: release needs epsilon 0.4 but only 0.2 of 1.0 is left for dataset survey; "
    "see `sdc budget`\n"
)


def survey(seed: int = 7, rows: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "sex": rng.choice(["f", "m"], rows),
            "village": rng.choice(list("ABCD"), rows),
            "age": rng.integers(18, 90, rows),
            "income": rng.integers(0, 1000, rows),
        }
    )


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    survey().to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "policy.yaml").write_text(POLICY.replace("NAME", "survey"))
    (tmp_path / "copy.yaml").write_text(POLICY.replace("NAME", "survey-copy"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _spend_down(work: Path) -> None:
    """Two releases of 0.4 on the original file: 0.2 of the 1.0 cap is left."""
    for out in ("r1", "r2"):
        code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", out)
        assert code == 0, err


def _variant(work: Path, kind: str) -> Path:
    frame = pd.read_csv(work / "survey.csv")
    text = (work / "survey.csv").read_text()
    if kind == "crlf":
        path = work / "crlf.csv"
        path.write_bytes(text.replace("\n", "\r\n").encode())
    elif kind == "bom":
        path = work / "bom.csv"
        path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    elif kind == "rows":
        path = work / "rows.csv"
        frame.sample(frac=1.0, random_state=3).to_csv(path, index=False)
    elif kind == "columns":
        path = work / "columns.csv"
        frame[["income", "village", "age", "sex"]].to_csv(path, index=False)
    elif kind == "spaces":
        path = work / "spaces.csv"
        path.write_text("\n".join(", ".join(line.split(",")) for line in text.splitlines()))
    elif kind == "parquet":
        path = work / "survey.parquet"
        frame.to_parquet(path, index=False)
    elif kind == "one-row-dropped":
        path = work / "dropped.csv"
        frame.drop(index=17).to_csv(path, index=False)
    else:  # pragma: no cover
        raise AssertionError(kind)
    return path


VARIANTS = ["crlf", "bom", "rows", "columns", "spaces", "parquet", "one-row-dropped"]


# ---- the fingerprint ---------------------------------------------------------------------


@pytest.mark.parametrize("kind", VARIANTS[:-1])
def test_a_reexport_has_the_same_fingerprint(work: Path, kind: str) -> None:
    original = content_fingerprint(read_table(work / "survey.csv").frame)
    copy = content_fingerprint(read_table(_variant(work, kind)).frame)
    assert copy.digest == original.digest
    assert copy.digest != read_table(work / "survey.csv").sha256  # never the file's hash


def test_changed_data_has_another_fingerprint_but_a_near_copy_is_recognised(work: Path) -> None:
    original = content_fingerprint(survey())
    dropped = content_fingerprint(survey().drop(index=[3, 50]))
    other = content_fingerprint(survey(seed=99))
    assert dropped.digest != original.digest
    share = dropped.containment_in(original.sketch)
    assert share is not None and share > 0.95
    assert (other.containment_in(original.sketch) or 0.0) < 0.1
    # a big survey: only a sample of record hashes is kept, and it still recognises a copy
    big, bigger = survey(rows=5000), survey(rows=5000).drop(index=range(0, 5000, 50))
    sketch = content_fingerprint(big).sketch
    assert len(sketch.tags) == 256
    share = content_fingerprint(bigger).containment_in(sketch)
    assert share is not None and share > 0.95
    unrelated = content_fingerprint(survey(seed=5, rows=5000)).containment_in(sketch)
    assert unrelated is not None and unrelated < 0.05  # 16-bit tags: rare chance matches


# ---- re-exports and renamed copies ---------------------------------------------------------


@pytest.mark.parametrize("kind", VARIANTS)
def test_a_reexport_spends_from_the_same_budget(work: Path, kind: str) -> None:
    _spend_down(work)
    data = _variant(work, kind)
    code, _, err = run("release", str(data), "--policy", "policy.yaml", "--out", "r3")
    assert (code, err) == (1, REFUSED)
    assert not (work / "r3").exists()


@pytest.mark.parametrize("kind", ["original", *VARIANTS[:-1]])
def test_a_renamed_copy_is_refused_naming_the_dataset(work: Path, kind: str) -> None:
    _spend_down(work)
    data = work / "survey.csv" if kind == "original" else _variant(work, kind)
    code, _, err = run("release", str(data), "--policy", "copy.yaml", "--out", "r3")
    digest = Ledger(work / "ledger.jsonl").entries()[0].fingerprint
    assert (code, err) == (
        1,
        f"Error: this data is dataset survey of the ledger ledger.jsonl (same records, "
        f"fingerprint {digest[:4]}…), not survey-copy; a renamed or re-exported copy spends "
        "from the same budget: set privacy.dataset: survey\n",
    )
    assert not (work / "r3").exists()


def test_a_renamed_near_copy_is_refused(work: Path) -> None:
    _spend_down(work)
    data = _variant(work, "one-row-dropped")
    code, _, err = run("release", str(data), "--policy", "copy.yaml", "--out", "r3")
    assert (code, err) == (
        1,
        "Error: about 100% of this data's records are in dataset survey of the ledger "
        "ledger.jsonl, so it is a near copy of it, not survey-copy; set privacy.dataset: "
        "survey (a near copy spends from the same budget)\n",
    )


def test_other_data_under_another_name_has_its_own_budget(work: Path) -> None:
    _spend_down(work)
    survey(seed=99).to_csv(work / "other.csv", index=False)
    (work / "other.yaml").write_text(POLICY.replace("NAME", "other"))
    code, _, err = run("release", "other.csv", "--policy", "other.yaml", "--out", "r3")
    assert code == 0, err


# ---- the cap -------------------------------------------------------------------------------


def test_raising_the_policy_budget_does_not_raise_the_cap(work: Path) -> None:
    _spend_down(work)
    (work / "policy.yaml").write_text(
        POLICY.replace("NAME", "survey").replace("budget: 1.0", "budget: 5.0")
    )
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")
    assert (code, err) == (
        1,
        "Error: policy.yaml line 11: privacy.budget asks for a cap of epsilon 5.0 but the "
        "ledger ledger.jsonl fixed dataset survey's cap at epsilon 1.0 (first release); "
        "editing the policy does not raise it: run `sdc budget raise survey --to 5.0 "
        "--reason TEXT`\n",
    )
    code, out, err = run(
        "budget", "raise", "survey", "--to", "5", "--reason", "board decision 12/2026",
        "--policy", "policy.yaml",
    )  # fmt: skip
    assert (code, out, err) == (
        0,
        "Raised dataset survey's epsilon cap from 1.0 to 5.0 in ledger.jsonl; the reason is "
        "recorded there.\n",
        "",
    )
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")
    assert code == 0, err
    caps = [
        json.loads(line)
        for line in (work / "ledger.jsonl").read_text().splitlines()
        if json.loads(line)["kind"] == "cap"
    ]
    assert [(c["epsilon"], c["reason"]) for c in caps] == [
        (1.0, "first release"),
        (5.0, "board decision 12/2026"),
    ]
    code, out, _ = run("budget", "--policy", "policy.yaml")
    assert code == 0
    assert out.splitlines()[0] == "Ledger: ledger.jsonl"
    assert out.splitlines()[2].split()[:4] == ["survey", "3", "1.2", "5.0"]


def test_a_lower_policy_budget_applies(work: Path) -> None:
    _spend_down(work)  # 0.8 spent of the ledger's 1.0
    (work / "policy.yaml").write_text(
        POLICY.replace("NAME", "survey").replace("budget: 1.0", "budget: 0.9")
    )
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")
    assert code == 1 and "only 0.1 of 0.9 is left for dataset survey" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["nope", "--to", "2", "--reason", "x"],
            "Error: dataset nope has no cap in the ledger ledger.jsonl (a cap is fixed at a "
            "dataset's first DP release); datasets with a cap: survey\n",
        ),
        (
            ["survey", "--to", "0.5", "--reason", "x"],
            "Error: --to 0.5 does not raise dataset survey's cap of epsilon 1.0, delta 1e-06; "
            "give a higher epsilon\n",
        ),
        (
            ["survey", "--to", "2", "--reason", " "],
            "Error: --reason must say why the cap is raised; it is kept in the ledger\n",
        ),
    ],
)
def test_budget_raise_refuses_bad_input(work: Path, args: list[str], message: str) -> None:
    _spend_down(work)
    before = (work / "ledger.jsonl").read_bytes()
    code, _, err = run("budget", "raise", *args, "--policy", "policy.yaml")
    assert (code, err) == (2, message)
    assert (work / "ledger.jsonl").read_bytes() == before


# ---- which ledger ------------------------------------------------------------------------


def test_the_policy_ledger_is_the_source_of_truth(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _spend_down(work)
    monkeypatch.setenv("SDC_LEDGER", str(work / "elsewhere.jsonl"))
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")
    assert (code, err) == (1, REFUSED)
    assert not (work / "elsewhere.jsonl").exists()
    manifest = json.loads((work / "r1" / "manifest.json").read_text())
    assert manifest["privacy"]["dataset"] == "survey"
    assert manifest["privacy"]["ledger"] == "ledger.jsonl"  # as given, never absolute
    assert "fingerprint" not in json.dumps(manifest)


def test_a_new_ledger_file_is_never_started_silently(work: Path) -> None:
    _spend_down(work)
    (work / "policy.yaml").write_text(
        POLICY.replace("NAME", "survey").replace("ledger.jsonl", "fresh.jsonl")
    )
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")
    assert code == 0
    assert err == (
        "Note: the privacy-budget ledger fresh.jsonl did not exist and was started by this "
        "release; budgets spent in any other ledger do not count here\n"
    )


def test_dp_outputs_need_a_dataset_name(tmp_path: Path) -> None:
    text = POLICY.replace(", dataset: NAME", "")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source=tmp_path / "p.yaml")
    assert str(info.value) == (
        "p.yaml line 11: DP outputs spend a privacy budget, which the ledger keeps per "
        "dataset: add dataset: NAME under privacy (one name for this data, whatever file it "
        "comes in)"
    )
    no_privacy = text.replace("privacy: {budget: 1.0, ledger: ledger.jsonl}\n", "")
    with pytest.raises(PolicyError, match=r"^p\.yaml line 10: DP outputs spend"):
        parse_policy(no_privacy, source=tmp_path / "p.yaml")
    # without DP outputs no name is needed
    plain = no_privacy.replace(", dp: {epsilon: 0.4}", ", min_cell: 3")
    assert parse_policy(plain, source=tmp_path / "p.yaml").privacy.dataset is None
    with pytest.raises(PolicyError, match="privacy.dataset must be a name on one line"):
        parse_policy(POLICY.replace("NAME", "' '"), source=tmp_path / "p.yaml")


# ---- write-ahead spending and crashes ------------------------------------------------------

CHILD = """
import os, sys
from pathlib import Path
import sdc.release.pipeline as pipeline
from sdc.io import read_table
from sdc.policy import load_policy

where = sys.argv[1]
if where == "staging":
    real = pipeline.write_json
    def dying(path, payload):
        if path.name == pipeline.PENDING_MANIFEST:
            os._exit(9)
        real(path, payload)
    pipeline.write_json = dying
else:
    pipeline._seal = lambda out: os._exit(9)
pipeline.release(read_table("survey.csv"), load_policy("policy.yaml"), Path("rel"))
"""


def _killed(work: Path, where: str) -> int:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, where], cwd=work, env=env, capture_output=True, timeout=300
    )
    return proc.returncode


@pytest.mark.parametrize("where", ["staging", "sealing"])
def test_a_killed_release_stays_spent_and_leaves_no_bundle_that_passes(
    work: Path, where: str
) -> None:
    assert _killed(work, where) == 9
    ledger = Ledger(work / "ledger.jsonl")
    (entry,) = ledger.entries()
    assert entry.budget == Budget(0.4) and not entry.complete
    assert ledger.spent("survey") == Budget(0.4)
    partial = sorted(work.glob(".rel.*.partial"))
    if where == "staging":
        assert len(partial) == 1 and not (work / "rel").exists()
        folder = partial[0]
    else:
        assert partial == [] and (work / "rel").is_dir()
        folder = work / "rel"
    assert (folder / "tables").is_dir() and not (folder / "manifest.json").exists()
    code, _, err = run("check", str(folder), "--policy", "policy.yaml")
    assert (code, err) == (2, f"Error: {folder}: not a release bundle (no manifest.json)\n")
    code, out, _ = run("budget", "--policy", "policy.yaml")
    assert out.splitlines()[2].split()[:5] == ["survey", "1", "(1", "incomplete)", "0.4"]
    if where == "staging":
        # the next run on the same --out removes the leftover and spends from what is left
        code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "rel")
        assert code == 0, err
        assert sorted(work.glob(".rel.*.partial")) == []
        assert ledger.spent("survey") == Budget(0.8)
        assert [e.complete for e in ledger.entries()] == [False, True]


def test_an_error_after_the_write_ahead_line_still_counts(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sdc.release.pipeline as pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("measurement failed")

    monkeypatch.setattr(pipeline, "_build_tables", broken)
    with pytest.raises(RuntimeError):
        release(read_table("survey.csv"), load_policy("policy.yaml"), work / "rel")
    (entry,) = Ledger(work / "ledger.jsonl").entries()
    assert not entry.complete and entry.budget == Budget(0.4)
    assert not (work / "rel").exists() and sorted(work.glob(".rel.*")) == []


def test_a_refused_release_writes_nothing_ahead(work: Path) -> None:
    _spend_down(work)
    before = (work / "ledger.jsonl").read_bytes()
    with pytest.raises(BudgetExceeded):
        release(read_table("survey.csv"), load_policy("policy.yaml"), work / "r3")
    assert (work / "ledger.jsonl").read_bytes() == before


def test_a_dangling_link_as_out_is_refused_before_spending(work: Path) -> None:
    (work / "link").symlink_to(work / "nowhere")
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "link")
    assert (code, err) == (
        2,
        f"Error: link: is a symbolic link to {work / 'nowhere'}, which does not exist; give "
        "the release a new folder name (a release is never written through a link)\n",
    )
    assert not (work / "ledger.jsonl").exists()


# ---- a torn last line, a symlinked ledger ---------------------------------------------------


def test_a_partial_last_line_is_ignored_reported_and_removed(work: Path) -> None:
    _spend_down(work)
    path = work / "ledger.jsonl"
    good = path.read_bytes()
    with path.open("ab") as fh:
        fh.write(b'{"kind": "spend", "id": "dead", "epsilon": 0.')  # the disk filled up
    code, out, err = run("budget", "--policy", "policy.yaml")
    assert code == 0 and out.splitlines()[2].split()[:3] == ["survey", "2", "0.8"]
    assert err == (
        f"Note: {path} line 6: a partial last line (45 bytes) left by an interrupted write "
        "was ignored; it held no completed record and the next write removes it\n"
    )
    # the next release cuts the fragment off before writing whole lines
    (work / "policy.yaml").write_text(POLICY.replace("NAME", "survey").replace("0.4", "0.1"))
    code, _, err = run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")
    assert code == 0 and "partial last line" in err
    text = path.read_bytes()
    assert text.startswith(good) and text.endswith(b"\n") and b"dead" not in text
    assert Ledger(path).spent("survey").epsilon == pytest.approx(0.9)


def test_a_valid_last_record_without_newline_is_kept(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record("survey", ["t"], Budget(0.5), "laplace", "p")
    ledger.path.write_bytes(ledger.path.read_bytes().rstrip(b"\n"))
    ledger.record("survey", ["u"], Budget(0.25), "laplace", "p")
    assert ledger.spent("survey") == Budget(0.75) and ledger.notes() == []


def test_a_symlinked_ledger_shares_the_lock(tmp_path: Path) -> None:
    real = tmp_path / "team" / "ledger.jsonl"
    real.parent.mkdir()
    (tmp_path / "link.jsonl").symlink_to(real)
    assert Ledger(tmp_path / "link.jsonl").lock_path == Ledger(real).lock_path
    assert Ledger(real).lock_path == real.with_name("ledger.jsonl.lock")


def test_budget_reports_a_bundle_released_with_another_ledger(work: Path) -> None:
    _spend_down(work)
    (work / "policy.yaml").write_text(
        POLICY.replace("NAME", "survey").replace("ledger.jsonl", "other.jsonl")
    )
    assert run("release", "survey.csv", "--policy", "policy.yaml", "--out", "r3")[0] == 0
    code, out, err = run("budget", "--ledger", "ledger.jsonl", "--bundle", "r1", "--bundle", "r3")
    assert code == 0 and out.startswith("Ledger: ledger.jsonl\n")
    assert err == (
        "Note: r3 spent epsilon 0.4 on dataset survey with no entry in ledger.jsonl (its "
        "manifest names the ledger other.jsonl); that spending does not count here\n"
    )
