"""Release bundles against careless and hostile input: each ends in one message, exit 2,
before any budget is charged, or is fixed (formula escaping, --force, the key file)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

from sdc import workflow
from sdc.errors import DataError
from sdc.io import escape_formulas, read_table, unescape_formulas, write_csv
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from sdc.tables import TableSpec, build_table
from tests.cli._runner import run

POLICY = """\
version: 1
name: hardening
columns:
  age: {role: quasi, recode: {bands: [0, 30, 60, 100]}}
  sex: {role: quasi, categories: [f, m]}
  village: {role: quasi, categories: [A, B, C]}
  income: {role: sensitive, bounds: [0, 1000]}
  comment: {role: other}
thresholds: {k: 2}
"""
MICRODATA = "outputs:\n  microdata: {treatments: [recode, suppress]}\n"
DP_SUM = (
    "outputs:\n  tables:\n    - {by: [village], sum: income, dp: {epsilon: 0.3}}\n"
    "privacy: {dataset: survey}\n"
)


def survey(n: int = 60) -> pd.DataFrame:
    comments = ['=HYPERLINK("http://x","click")', "+1+1", "-", "@SUM(A1)", "fine", "-3"]
    return pd.DataFrame(
        {
            "age": [18 + (i * 7) % 70 for i in range(n)],
            "sex": ["f" if i % 2 else "m" for i in range(n)],
            "village": ["ABC"[i % 3] for i in range(n)],
            "income": [float((i * 37) % 900) for i in range(n)],
            "comment": [comments[i % len(comments)] for i in range(n)],
        }
    )


def inputs(folder: Path, outputs: str, frame: pd.DataFrame | None = None) -> tuple[Path, Path]:
    data = folder / "survey.csv"
    (survey() if frame is None else frame).to_csv(data, index=False)
    policy = folder / "policy.yaml"
    policy.write_text(POLICY + outputs, encoding="utf-8")
    return data, policy


@pytest.fixture
def ledger_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "ledger" / "ledger.jsonl"
    path.parent.mkdir()
    monkeypatch.setenv("SDC_LEDGER", str(path))
    return path


def charged(ledger_path: Path) -> list[dict[str, object]]:
    if not ledger_path.exists():
        return []
    return [json.loads(line) for line in ledger_path.read_text().splitlines() if line.strip()]


# ---------------------------------------------------------------------- formula escaping


def test_formula_like_text_cells_are_escaped_in_csv_only(tmp_path: Path, ledger_path: Path) -> None:
    data, policy_path = inputs(tmp_path, MICRODATA)
    policy = parse_policy(policy_path.read_text(), source=policy_path)
    result = release(read_table(data), policy, tmp_path / "rel", ledger=Ledger(ledger_path))
    raw = (tmp_path / "rel" / "microdata.csv").read_text(encoding="utf-8")
    comments = set(pd.read_csv(tmp_path / "rel" / "microdata.csv", dtype=str)["comment"])
    assert comments == {
        '\'=HYPERLINK("http://x","click")',
        "'+1+1",
        "'-",
        "'@SUM(A1)",
        "fine",
        "-3",  # a plain number runs nothing and is left alone
    }
    assert "\n=" not in raw and ",=" not in raw and ",@" not in raw
    parquet = pd.read_parquet(tmp_path / "rel" / "microdata.parquet")
    assert set(parquet["comment"]) == set(survey()["comment"])  # the raw values
    assert result.manifest["csv_formula_escape"] is True
    manifest = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    assert manifest["csv_formula_escape"] is True
    report = check_bundle(tmp_path / "rel", policy)
    assert report.passed, [i for i in report.items if not i.passed]


def test_numbers_are_never_escaped(tmp_path: Path) -> None:
    frame = pd.DataFrame({"n": [-3, 5], "x": [-1.5, 2.0], "t": ["-3", "=1"]})
    write_csv(frame, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text() == "n,x,t\n-3,-1.5,-3\n5,2.0,'=1\n"


def test_column_names_and_categorical_cells_are_escaped(tmp_path: Path) -> None:
    frame = pd.DataFrame({"=cmd": ["a", "@b"], "c": pd.Categorical(["+x", "y"]), "-1": [1, 2]})
    write_csv(frame, tmp_path / "o.csv")
    assert (tmp_path / "o.csv").read_text() == "'=cmd,c,-1\na,'+x,1\n'@b,y,2\n"
    back = unescape_formulas(pd.read_csv(tmp_path / "o.csv", dtype=str))
    assert list(back.columns) == ["=cmd", "c", "-1"]
    assert back["=cmd"].tolist() == ["a", "@b"] and back["c"].tolist() == ["+x", "y"]


@pytest.mark.parametrize(
    "text",
    ["=1", "+a", "-a", "@a", "\tx", "\rx", "'=1", "''@x", "'", "a=b", "-", "'-3", "-3", "1e5"],
)
def test_escaping_is_undone_exactly(text: str) -> None:
    frame = pd.DataFrame({"t": [text, None]}, dtype=object)
    escaped = escape_formulas(frame)
    assert unescape_formulas(escaped).equals(frame)
    first = str(escaped["t"].iloc[0])
    assert not first.startswith(("=", "+", "@", "\t", "\r")) and (
        not first.startswith("-") or first == "-3"
    )


def test_tables_escape_their_labels(tmp_path: Path, ledger_path: Path) -> None:
    frame = survey()
    frame["sex"] = frame["sex"].map({"f": "=f", "m": "m"})
    text = POLICY.replace("categories: [f, m]", "categories: ['=f', m]")
    outputs = "outputs:\n  tables:\n    - {by: [sex], count: true, min_cell: 3}\n"
    data = tmp_path / "survey.csv"
    frame.to_csv(data, index=False)
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(text + outputs)
    policy = parse_policy(text + outputs, source=policy_path)
    release(read_table(data), policy, tmp_path / "rel", ledger=Ledger(ledger_path))
    tidy = pd.read_csv(tmp_path / "rel" / "tables" / "count_by_sex.csv", dtype=str)
    assert set(tidy["sex"]) == {"'=f", "m", "Total"}
    pivot = pd.read_csv(tmp_path / "rel" / "tables" / "count_by_sex-pivot.csv", dtype=str)
    assert set(pivot["sex"]) == {"'=f", "m", "Total"}  # a categorical column, escaped too
    assert check_bundle(tmp_path / "rel", policy).passed


# ---------------------------------------------------------------------- --force


def test_force_leaves_an_unrelated_old_folder_alone(tmp_path: Path, ledger_path: Path) -> None:
    data, policy = inputs(tmp_path, MICRODATA)
    out = tmp_path / "rel"
    assert run("release", str(data), "-p", str(policy), "--out", str(out))[0] == 0
    mine = tmp_path / ".rel.old"
    mine.mkdir()
    (mine / "notes.txt").write_text("the steward's own notes")
    code, _, err = run("release", str(data), "-p", str(policy), "--out", str(out), "--force")
    assert (code, err) == (0, "")
    assert (mine / "notes.txt").read_text() == "the steward's own notes"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".rel.")) == [".rel.old"]
    assert (out / "manifest.json").exists()


# ---------------------------------------------------------------------- --out a dangling link


def test_a_dangling_symlink_as_out_is_refused_before_any_budget(
    tmp_path: Path, ledger_path: Path
) -> None:
    data, policy = inputs(tmp_path, DP_SUM)
    out = tmp_path / "rel"
    out.symlink_to(tmp_path / "nowhere" / "bundle")
    code, stdout, err = run("release", str(data), "-p", str(policy), "--out", str(out))
    assert (code, stdout) == (2, "")
    assert err == (
        f"Error: {out}: is a symbolic link to {tmp_path / 'nowhere' / 'bundle'}, which does "
        "not exist; give the release a new folder name (a release is never written through "
        "a link)\n"
    )
    assert charged(ledger_path) == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".rel.")] == []


# ---------------------------------------------------------------------- NUL bytes


def test_a_nul_byte_past_the_first_kilobytes_is_a_data_error(tmp_path: Path) -> None:
    data, policy = inputs(tmp_path, MICRODATA, survey(400))
    raw = data.read_bytes()
    cut = raw.index(b"\n", 6000) + 1
    line = raw.count(b"\n", 0, cut) + 1
    data.write_bytes(raw[:cut] + b"30,f,A,\x00100.0,fine\n" + raw[cut:])
    with pytest.raises(DataError) as info:
        read_table(data)
    message = (
        f"survey.csv line {line}: holds a NUL byte, which no text value contains; the file "
        "is damaged or not plain text: export it again as CSV (UTF-8)"
    )
    assert str(info.value) == message
    code, out, err = run("risk", str(data), "-p", str(policy))
    assert (code, out, err) == (2, "", f"Error: {message}\n")


# ---------------------------------------------------------------------- infinite values


def test_inf_in_a_dp_sum_is_refused_before_any_budget(tmp_path: Path, ledger_path: Path) -> None:
    frame = survey()
    frame.loc[[3, 7], "income"] = float("inf")
    data, policy = inputs(tmp_path, DP_SUM, frame)
    code, out, err = run("release", str(data), "-p", str(policy), "--out", str(tmp_path / "rel"))
    assert (code, out) == (2, "")
    assert err == (
        "Error: column 'income': 2 values are infinite (inf), and table "
        "sum_income_by_village takes its sum; correct them or leave them blank (missing)\n"
    )
    assert charged(ledger_path) == []
    assert not (tmp_path / "rel").exists()


@pytest.mark.parametrize("dp", [True, False])
def test_build_table_refuses_inf_in_the_summed_column(dp: bool) -> None:
    from sdc.tables import DpSpec

    frame = survey()
    frame.loc[0, "income"] = float("-inf")
    spec = TableSpec(
        by=("village",),
        mean="income",
        dp=DpSpec(epsilon=0.5, bounds=(0.0, 1000.0)) if dp else None,
        min_cell=None if dp else 2,
    )
    with pytest.raises(DataError, match=r"^column 'income': 1 value is infinite \(inf\)"):
        build_table(frame, spec, codebook={"village": ["A", "B", "C"]})


def test_blank_values_are_still_missing_not_refused(tmp_path: Path, ledger_path: Path) -> None:
    frame = survey()
    frame.loc[[3, 7], "income"] = None
    data, policy = inputs(tmp_path, DP_SUM, frame)
    code, _, err = run("release", str(data), "-p", str(policy), "--out", str(tmp_path / "rel"))
    assert (code, err) == (
        0,
        f"Note: the privacy-budget ledger {ledger_path} did not exist and was started by this "
        "release; budgets spent in any other ledger do not count here\n",
    )


# ---------------------------------------------------------------------- the key file


def test_the_demo_key_file_is_created_0600_and_never_chmod_ed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the demo's release keeps its per-release pseudonym key beside the bundle
    key = tmp_path / "demo" / "release.pseudonym-key"
    created: list[int] = []
    chmodded: list[str] = []
    real_open, real_chmod = os.open, os.chmod

    def spy_open(path: object, flags: int, mode: int = 0o777, **kw: object) -> int:
        if "pseudonym-key" in Path(str(path)).name:
            created.append(mode)
        return real_open(path, flags, mode, **kw)  # type: ignore[arg-type]

    def spy_chmod(path: object, mode: int, **kw: object) -> None:
        chmodded.append(str(path))
        real_chmod(path, mode, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "chmod", spy_chmod)
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "ledger.jsonl"))
    workflow.run_demo(tmp_path / "demo", rows=3000)
    assert created == [0o600]
    assert not [p for p in chmodded if "pseudonym-key" in p]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
