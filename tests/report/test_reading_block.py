"""The reports say how the input file was read: header, delimiter, what was left out."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sdc.io import Reading, read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from sdc.report.reading import reading_lines
from tests.cli._runner import run

EVERYTHING = Reading(
    header_row=2,
    delimiter=";",
    decimal=",",
    encoding="cp1252",
    row_kind="line",
    blank_rows=(5, 9),
    total_row=12,
    total_label="TOTAL",
    comma_columns=("wgt",),
)


def test_every_fact_in_a_short_sentence() -> None:
    assert reading_lines(EVERYTHING) == [
        "Column names taken from line 2.",
        "Fields separated by semicolons.",
        "Text read as cp1252, not UTF-8.",
        "Numbers written with a decimal comma (12,5) read as numbers in: wgt.",
        "2 fully blank rows ignored (lines 5, 9).",
        "A total row at the bottom (line 12, 'TOTAL') left out: it sums the records above.",
    ]


def test_without_counts_no_number_of_the_private_data_is_given() -> None:
    assert reading_lines(EVERYTHING, counts=False)[-2:] == [
        "Fully blank rows ignored.",
        "A total row at the bottom ('TOTAL') left out: it sums the records above.",
    ]


def test_a_plain_file_says_only_its_header_and_other_formats_nothing() -> None:
    assert reading_lines(Reading(header_row=1, delimiter=",", encoding="utf-8")) == [
        "Column names taken from line 1."
    ]
    assert reading_lines(Reading()) == []
    assert reading_lines(None) == []


def _block(page: str) -> list[str]:
    found = re.search(r"<h3>How the file was read</h3>\s*<ul class=\"meta\">(.*?)</ul>", page, re.S)
    assert found is not None
    return [html.unescape(item) for item in re.findall(r"<li>(.*?)</li>", found.group(1))]


SURVEY = "sex;age;n\nF;30;2\nF;30;3\n;;\nM;40;4\nM;40;5\nTOTAL;;14\n"

RISK_POLICY = """\
version: 1
name: t
columns:
  sex: {role: quasi}
  age: {role: quasi}
  n: {role: sensitive}
thresholds: {k: 2}
outputs:
  microdata: {treatments: [suppress]}
"""


def test_risk_report_and_terminal_say_how_the_csv_was_read(tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text(SURVEY)
    (tmp_path / "p.yaml").write_text(RISK_POLICY)
    page = tmp_path / "r.html"
    code, _, err = run(
        "risk", str(tmp_path / "s.csv"), "--policy", str(tmp_path / "p.yaml"), "--html", str(page)
    )
    assert code == 0, err
    assert err == (
        "Note: s.csv: left out 1 fully blank row (line 4)\n"
        "Note: s.csv: left out line 7 ('TOTAL'), a total of the rows above, not a record\n"
    )
    assert _block(page.read_text()) == [
        "Column names taken from line 1.",
        "Fields separated by semicolons.",
        "1 fully blank row ignored (line 4).",
        "A total row at the bottom (line 7, 'TOTAL') left out: it sums the records above.",
    ]


DP_POLICY = """\
version: 1
name: dp-only
columns:
  sex: {role: quasi, categories: [f, m]}
  region: {role: quasi, categories: [n, s]}
outputs:
  tables:
    - {by: [region, sex], count: true, dp: {epsilon: 0.5}}
privacy: {dataset: dpr, budget: 10.0, guarantee: dp}
"""


def _release_page(tmp_path: Path, policy: str) -> tuple[str, dict[str, object]]:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"sex": rng.choice(["f", "m"], 300), "region": rng.choice(["n", "s"], 300)}
    )
    # One blank row, and a total row at the bottom (nothing to sum: its label only).
    text = frame.to_csv(index=False).replace("\nf,", "\n,\nf,", 1) + "TOTAL,\n"
    (tmp_path / "d.csv").write_text(text)
    out = tmp_path / "rel"
    release(
        read_table(tmp_path / "d.csv"),
        parse_policy(policy, source=tmp_path / "p.yaml"),
        out,
        ledger=Ledger(tmp_path / "l.jsonl"),
    )
    manifest = json.loads((out / "manifest.json").read_text())
    return (out / "report.html").read_text(), manifest["input"]


def test_a_dp_bundle_says_what_was_left_out_without_counts(tmp_path: Path) -> None:
    page, facts = _release_page(tmp_path, DP_POLICY)
    assert _block(page) == [
        "Column names taken from line 1.",
        "Fully blank rows ignored.",
        "A total row at the bottom ('TOTAL') left out: it sums the records above.",
    ]
    assert facts["reading"] == {"total_label": "TOTAL"}


def test_a_classical_release_report_counts_the_rows_left_out(tmp_path: Path) -> None:
    policy = DP_POLICY.replace(", dp: {epsilon: 0.5}", ", min_cell: 3").replace(
        "privacy: {dataset: dpr, budget: 10.0, guarantee: dp}\n", ""
    )
    page, facts = _release_page(tmp_path, policy)
    lines = _block(page)
    assert lines[0] == "Column names taken from line 1."
    assert re.fullmatch(r"1 fully blank row ignored \(line \d+\)\.", lines[1])
    assert lines[2] == (
        "A total row at the bottom (line 303, 'TOTAL') left out: it sums the records above."
    )
    assert facts["reading"] == {"blank_rows": 1, "total_row": 303, "total_label": "TOTAL"}
