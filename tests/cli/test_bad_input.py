"""Bad input anywhere: one line on stderr starting with 'Error:', exit code 2, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from sdc.cli import cli

POLICY = """\
version: 1
name: t
data: {weight: wgt}
columns:
  name: {role: direct}
  age: {role: quasi}
  village: {role: quasi, recode: {map: village.csv, level: 1}}
  hiv: {role: sensitive}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [recode, suppress]}
"""
DATA = "name,age,village,hiv,wgt\nAna,30,A,neg,10\nBo,30,A,pos,10\nCy,40,B,neg,20\nDi,40,B,neg,20\n"
HIERARCHY = "A;North;*\nB;North;*\n"


def _setup(tmp: Path) -> None:
    (tmp / "survey.csv").write_text(DATA)
    (tmp / "policy.yaml").write_text(POLICY)
    (tmp / "village.csv").write_text(HIERARCHY)


def _edit(name: str, text: str | bytes) -> Callable[[Path], None]:
    def apply(tmp: Path) -> None:
        path = tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    return apply


def _replace(name: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(tmp: Path) -> None:
        path = tmp / name
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))

    return apply


def _nothing(tmp: Path) -> None:
    return None


RISK = ["risk", "survey.csv", "--policy", "policy.yaml"]
RELEASE = ["release", "survey.csv", "--policy", "policy.yaml", "--out", "rel"]

CASES = [
    ("missing data", RISK[:1] + ["nope.csv"] + RISK[2:], _nothing, "Error: nope.csv: no such file"),
    ("empty data", RISK, _edit("survey.csv", ""), "Error: survey.csv: the file is empty"),
    (
        "header only",
        RISK,
        _edit("survey.csv", "name,age,village,hiv,wgt\n"),
        "Error: survey.csv: has a header but no records",
    ),
    (
        "binary data",
        RISK,
        _edit("survey.csv", b"\x00\x01PK\x03\x04"),
        "Error: survey.csv: not a text file; is it a spreadsheet saved as .csv?",
    ),
    (
        "duplicate columns",
        RISK,
        _edit("survey.csv", "age,age\n1,2\n"),
        "Error: survey.csv: duplicate column names 'age'; rename them so each column has its own name",
    ),
    (
        "unknown file type",
        ["scan", "survey.json"],
        _edit("survey.json", "{}"),
        "Error: survey.json: unknown file type '.json'; use one of",
    ),
    (
        "ragged csv",
        RISK,
        _edit("survey.csv", "a,b\n1,2\n3,4,5,6\n"),
        "Error: survey.csv: not a consistent table",
    ),
    ("missing policy", RISK[:3] + ["none.yaml"], _nothing, "Error: none.yaml: no such policy file"),
    (
        "policy not yaml",
        RISK,
        _edit("policy.yaml", "version: 1\nname: [x\n"),
        "Error: policy.yaml line 3: not valid YAML",
    ),
    (
        "policy is a list",
        RISK,
        _edit("policy.yaml", "- a\n- b\n"),
        "Error: policy.yaml: a policy is a YAML mapping starting with 'version: 1'",
    ),
    (
        "unknown policy key",
        RISK,
        _replace("policy.yaml", "thresholds: {k: 2}", "thresholds: {kk: 2}"),
        "Error: policy.yaml line 9: unknown key thresholds.kk (did you mean 'k'?)",
    ),
    (
        "column not in data",
        RISK,
        _replace("policy.yaml", "  age:", "  agee:"),
        "Error: policy.yaml line 6: columns.agee is not a column of survey.csv (did you mean 'age'?)",
    ),
    (
        "k below 2",
        RISK,
        _replace("policy.yaml", "{k: 2}", "{k: 1}"),
        "Error: policy.yaml line 9: thresholds.k: Input should be greater than or equal to 2",
    ),
    (
        "budget zero",
        RISK,
        _edit("policy.yaml", POLICY + "privacy: {budget: 0}\n"),
        "Error: policy.yaml line 12: privacy.budget: Input should be greater than 0",
    ),
    (
        "hierarchy missing",
        RISK,
        _replace("policy.yaml", "village.csv", "villages.csv"),
        "Error: policy.yaml line 7: hierarchy file",
    ),
    (
        "hierarchy incomplete",
        RISK,
        _edit("village.csv", "A;North;*\n"),
        "Error: policy.yaml line 7: hierarchy village.csv does not cover 1 value(s) of 'village': 'B'; add a row for each",
    ),
    (
        "hierarchy level too high",
        RISK,
        _replace("policy.yaml", "level: 1", "level: 5"),
        "Error: policy.yaml line 7: level 5 but village.csv has levels 0..2",
    ),
    (
        "bad weights",
        RISK,
        _edit("survey.csv", DATA.replace(",10\n", ",ten\n")),
        "Error: policy.yaml line 3: weight column 'wgt' has 2 missing, non-numeric, non-positive or infinite values",
    ),
    (
        "no quasi",
        RISK,
        _edit(
            "policy.yaml", "version: 1\nname: t\nunlisted: drop\ncolumns:\n  age: {role: other}\n"
        ),
        "Error: policy.yaml line 4: no column has role: quasi",
    ),
    (
        "release over existing folder",
        RELEASE,
        lambda tmp: (tmp / "rel").mkdir(),
        "Error: rel: already exists and a release is never overwritten unless asked: add "
        "--force to replace an earlier release bundle, or choose a new folder\n",
    ),
    (
        "check a non-bundle",
        ["check", ".", "--policy", "policy.yaml"],
        _nothing,
        "Error: .: not a release bundle (no manifest.json)",
    ),
    (
        "scan never overwrites",
        ["scan", "survey.csv", "-o", "policy.yaml"],
        _nothing,
        "Error: policy.yaml: already exists; choose another name or remove it first",
    ),
    (
        "unknown sheet",
        ["scan", "s.xlsx", "--sheet", "x"],
        lambda tmp: (
            __import__("pandas").DataFrame({"a": [1]}).to_excel(tmp / "s.xlsx", index=False)
        ),
        "Error: s.xlsx: no sheet named 'x'; the sheets are ['Sheet1']",
    ),
    (
        "validate bad policy",
        ["policy", "validate", "policy.yaml"],
        _replace("policy.yaml", "role: sensitive", "role: secret"),
        "Error: policy.yaml line 8: columns.hiv.role must be one of",
    ),
]


@pytest.mark.parametrize(
    ("args", "prepare", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_gives_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    prepare: Callable[[Path], None],
    message: str,
) -> None:
    _setup(tmp_path)
    prepare(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.startswith(message), result.stderr
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_click_usage_errors_are_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["risk"])
    assert result.exit_code == 2
    assert "Missing argument 'DATA'" in result.stderr
