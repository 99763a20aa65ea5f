"""The bundle's report.html: self-contained, the key sections, no raw values of records."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.ledger import Ledger
from sdc.release.pipeline import ReleaseResult, release
from sdc.report.release import release_html

POLICY = """\
version: 1
name: report-test
columns:
  name: {role: direct}
  pid: {role: direct, action: pseudonymize}
  notes: {role: drop}
  age: {role: quasi, recode: {bands: [0, 30, 60]}}
  sex: {role: quasi, categories: [f, m]}
  village: {role: quasi, categories: [Alpha, Beta, Gamma, Delta]}
  hiv: {role: sensitive, categories: [pos, neg], pram: {p: 0.8}}
  income: {role: sensitive, bounds: [0, 1000], noise: {sd: 0.1}}
thresholds: {k: 2, max_suppression: 0.5, max_expected_reidentifications: 30}
outputs:
  microdata: {treatments: [recode, pram, noise, suppress]}
  tables:
    - {by: [village, sex], count: true, min_cell: 3}
    - {by: [village], sum: income, dp: {epsilon: 0.3}}
  synthetic: {epsilon: 0.5, rows: 40, seed: 4, columns: [sex, village]}
privacy: {budget: 1.0, dataset: survey}
"""


def survey(n: int = 60) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "name": f"Zqname{i:03d}",
                "pid": f"QX{i:05d}",
                "notes": f"lives next to Wqneighbour{i}",
                "age": 18 + (i * 7) % 70,
                "sex": "f" if i % 2 else "m",
                "village": "Delta" if i >= n - 3 else ("Alpha", "Beta", "Gamma")[i % 3],
                "hiv": "pos" if i % 5 == 0 else "neg",
                "income": 100 + (i * 37) % 900 + 0.37,
            }
        )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReleaseResult, pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("report")
    mp = pytest.MonkeyPatch()
    mp.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
    try:
        frame = survey()
        frame.to_csv(folder / "survey.csv", index=False)
        (folder / "p.yaml").write_text(POLICY)
        policy = parse_policy(POLICY, source=folder / "p.yaml")
        table = read_table(folder / "survey.csv")
        result = release(
            table, policy, folder / "rel", seed=424242, ledger=Ledger(folder / "l.jsonl")
        )
    finally:
        mp.undo()
    return result, table.frame, folder / "rel"


@pytest.fixture(scope="module")
def html(made: tuple[ReleaseResult, pd.DataFrame, Path]) -> str:
    result, frame, _ = made
    return release_html(result, "survey.csv", original=frame)


class _Resources(HTMLParser):
    """Every attribute that could load something, and the ids."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "data", "poster", "action") and value:
                self.links.append(value)
            if name == "id" and value:
                self.ids.add(value)


def parse(html: str) -> _Resources:
    parser = _Resources()
    parser.feed(html)
    return parser


def test_self_contained_and_printable(html: str) -> None:
    found = parse(html)
    assert "script" not in found.tags and "link" not in found.tags and "img" not in found.tags
    # links are only in-page anchors, and each anchor exists
    assert all(link.startswith("#") for link in found.links)
    assert {link[1:] for link in found.links} <= found.ids
    no_ns = html.replace("http://www.w3.org/2000/svg", "")
    assert "http://" not in no_ns and "https://" not in no_ns and "url(" not in html
    assert "@import" not in html
    assert "<style>" in html and "@media print" in html and "<svg" in html


def test_key_sections(html: str) -> None:
    for heading in (
        "Risk before and after treatment",
        "What was done to the microdata",
        "What it cost (information loss)",
        "Table count_by_village_sex: count by village × sex",
        "Table sum_income_by_village: sum of income by village",
        "Synthetic records",
        "Privacy budget",
        "Files in this bundle",
        "Risk before treatment (the input data, not released)",
        "Risk after treatment (the released microdata)",
    ):
        assert f">{heading}</h2>" in html, heading
    assert "This bundle meets every threshold of the policy “report-test”." in html


def _row(html: str, measure: str) -> list[str]:
    match = re.search(rf"<tr><td>{re.escape(measure)}</td>(.*?)</tr>", html, re.S)
    assert match, measure
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", match[1])]


def test_before_after_comparison_holds_the_real_figures(
    html: str, made: tuple[ReleaseResult, pd.DataFrame, Path]
) -> None:
    result = made[0]
    before, after = result.before, result.after
    assert after is not None
    k_row = _row(html, "smallest group (k-anonymity)")
    assert k_row == [
        str(int(before.records["f_k"].min())),
        str(int(after.records["f_k"].min())),
        "at least 2",
        "ok",
    ]
    uniques = _row(html, "sample uniques")
    assert uniques[0].startswith(f"{before.sample_uniques:,} (")
    assert uniques[1] == "0 (0.0%)"
    reid = _row(html, "expected re-identifications")
    assert reid == [
        f"{before.expected_reidentifications:,.2f}",
        f"{after.expected_reidentifications:,.2f}",
        "at most 30",
        "ok",
    ]
    assert _row(html, "highest individual risk")[:2] == [
        f"{before.max_risk:.3f}",
        f"{after.max_risk:.3f}",
    ]
    assert _row(html, "global risk (mean individual risk)")[1] == f"{after.global_risk:.2%}"
    l_row = _row(html, "l-diversity of hiv (fewest distinct values in a group)")
    assert l_row[1] == str(next(x.distinct_min for x in after.l_diversity if x.variable == "hiv"))
    # the comparison comes before the treatments and the detailed risk sections
    assert html.index("Risk before and after") < html.index("What was done")
    assert html.index("What was done") < html.index("Risk before treatment (the input")


def test_treatments_in_plain_words(html: str) -> None:
    assert "Removed the direct identifiers name." in html
    assert "Replaced pid by keyed pseudonyms (HMAC-SHA256)" in html
    assert "Removed notes, which the policy marks to be left out." in html
    assert "Grouped age into 3 bands starting at 0, 30, 60." in html
    assert "Randomly reclassified hiv (PRAM)" in html
    assert "Added random noise to income" in html
    assert "so that every combination of age, sex and village is shared by at least 2" in html
    assert "424242" not in html  # the seed is withheld
    # PRAM and noise ran with seeds: the report says they are withheld.
    assert (
        '<p class="meta">Seeds of the random steps are withheld: whoever knows them could '
        "undo the randomisation. The data steward keeps them with the pseudonymisation key.</p>"
    ) in html


def test_information_loss_per_variable(
    html: str, made: tuple[ReleaseResult, pd.DataFrame, Path]
) -> None:
    frame, folder = made[1], made[2]
    suppressed = int(pd.read_csv(folder / "microdata.csv")["age"].isna().sum())
    age = re.search(r"<tr><td>age</td>(.*?)</tr>", html[html.index('id="cost"') :], re.S)
    assert age is not None
    cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", age[1])]
    assert cells[0] == f"{frame['age'].nunique()}" and cells[1] == "3"
    assert "bits" in cells[2] and "lost" in cells[2]
    assert cells[4] == f"{len(frame) - suppressed}"  # every age that is shown was recoded
    assert "<h3>Numeric variables</h3>" in html and "<tr><td>income</td>" in html


def test_information_loss_without_the_original(
    made: tuple[ReleaseResult, pd.DataFrame, Path],
) -> None:
    page = release_html(made[0], "survey.csv")
    assert "Entropy and changed values need the original data" in page
    assert "bits" not in page[page.index('id="cost"') : page.index('id="table-')]


def test_tables_show_flags_and_dp_intervals(html: str) -> None:
    count = html[html.index('id="table-count_by_village_sex"') : html.index('id="table-sum_')]
    assert 'class="num flag-primary suppressed">primary</td>' in count
    assert 'class="num flag-secondary suppressed">secondary</td>' in count
    assert "a linear-programming audit confirmed that none can be recomputed" in count
    assert "Cells with fewer than 3 respondents are suppressed" in count
    dp = html[html.index('id="table-sum_income_by_village"') : html.index('id="synthetic"')]
    assert "<th>95% interval</th>" in dp and "epsilon 0.3" in dp
    assert re.search(r'<td class="num">[\d,]+ – [\d,]+</td>', dp)


def test_synthetic_and_budget(html: str) -> None:
    syn = html[html.index('id="synthetic"') : html.index('id="budget"')]
    assert "40 records of sex and village" in syn and "No synthetic record is a real person" in syn
    assert "difference of single-variable distributions" in syn
    budget = html[html.index('id="budget"') : html.index('id="files"')]
    assert "This release spent epsilon 0.8" in budget and "cap of epsilon 1 " in budget
    assert "<td>sum_income_by_village</td><td>laplace</td>" in budget


def test_no_raw_values_of_records(
    html: str, made: tuple[ReleaseResult, pd.DataFrame, Path]
) -> None:
    _, frame, folder = made
    on_disk = (folder / "report.html").read_text()
    for page in (html, on_disk):
        assert "Zqname" not in page and "QX0" not in page and "Wqneighbour" not in page
        # no individual income and no pseudonym of the released file
        for income in frame["income"]:
            assert f"{income:.2f}" not in page and f"{income:,.2f}" not in page
        released = pd.read_csv(folder / "microdata.csv")
        for pseudonym in released["pid"].head(20):
            assert pseudonym not in page
        assert "424242" not in page
    assert "a-test-key" not in on_disk


def test_tables_only_release_has_no_microdata_sections(tmp_path: Path) -> None:
    text = POLICY.replace(
        "  microdata: {treatments: [recode, pram, noise, suppress]}\n", ""
    ).replace("  synthetic: {epsilon: 0.5, rows: 40, seed: 4, columns: [sex, village]}\n", "")
    survey().to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "p.yaml").write_text(text)
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    result = release(
        read_table(tmp_path / "s.csv"), policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l")
    )
    page = (tmp_path / "rel" / "report.html").read_text()
    assert 'id="compare"' not in page and 'id="done"' not in page and 'id="cost"' not in page
    # exact risk figures of the input stay out when no microdata is released
    assert "Risk before treatment" not in page and "sample uniques" not in page
    assert not (tmp_path / "rel" / "risk-before.json").exists()
    assert "2 protected tables" in page
    assert result.after is None


def test_no_dp_means_no_budget_spent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDC_PSEUDONYM_KEY", "a-test-key-of-32-characters-long!")
    text = POLICY.replace("    - {by: [village], sum: income, dp: {epsilon: 0.3}}\n", "").replace(
        "  synthetic: {epsilon: 0.5, rows: 40, seed: 4, columns: [sex, village]}\n", ""
    )
    survey().to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "p.yaml").write_text(text)
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    release(read_table(tmp_path / "s.csv"), policy, tmp_path / "rel", ledger=Ledger(tmp_path / "l"))
    page = (tmp_path / "rel" / "report.html").read_text()
    assert "no privacy budget was spent" in page
    assert 'id="synthetic"' not in page


RULES = """\
version: 1
name: rules
data: {household: hh}
columns:
  name: {role: direct}
  age: {role: quasi, recode: {bands: [20, 40, 60]}, bottom_code: 25}
  sex: {role: quasi, categories: [f, m]}
  village: {role: quasi, categories: [Alpha, Beta, Gamma, Delta]}
  income: {role: sensitive}
thresholds: {k: 2, max_suppression: 0.5}
outputs:
  microdata: {treatments: [recode, suppress]}
  tables:
    - {by: [village, sex], count: true, rounding: {base: 5}}
    - {by: [village], sum: income, dominance: {n: 1, k: 0.6}, p_percent: 0.1}
"""


def test_rounding_dominance_and_households(tmp_path: Path) -> None:
    frame = survey().drop(columns=["pid", "notes", "hiv"])
    frame["hh"] = frame.index // 2
    frame.loc[frame["village"] == "Delta", "income"] = [5000.0, 1.0, 1.0]
    frame.to_csv(tmp_path / "s.csv", index=False)
    (tmp_path / "p.yaml").write_text(RULES)
    policy = parse_policy(RULES, source=tmp_path / "p.yaml")
    result = release(
        read_table(tmp_path / "s.csv"),
        policy,
        tmp_path / "rel",
        seed=1,
        ledger=Ledger(tmp_path / "l"),
    )
    page = (tmp_path / "rel" / "report.html").read_text()
    assert "Counts are rounded to a multiple of 5." in page
    assert " (r)</td>" in page
    assert "Cells where the largest contributor holds more than 60% of the total" in page
    assert "could estimate the largest within 10%" in page
    assert "values below 25 counted as 25" in page
    assert _row(page, "expected re-identifications counting households")[0]
    assert result.tables[1].flag_counts["primary"] >= 1
    assert "5,000.00" not in page and "5000" not in page


def test_helpers_for_odd_inputs() -> None:
    from sdc.anonymize._treatment import Treatment
    from sdc.report import release as rr

    wide = pd.DataFrame(
        {"a": ["x"] * 13, "b": [f"c{i}" for i in range(13)], "count": 1, "flag": "published"}
    )
    assert rr._grid(wide, ["a", "b"], "count") is None
    assert rr._missing(" ") and rr._missing(None) and not rr._missing(0)
    assert rr._num("abc") == "abc" and rr._num(float("inf")) == "inf"
    assert (
        rr._num(0.123456) == "0.123" and rr._num(12.345) == "12.35" and rr._num(1234.5) == "1,234"
    )
    odd = Treatment(name="custom", columns=("a",), changed={"a": 2})
    assert rr._describe(odd, None) == "Applied custom to a; 2 values changed."  # type: ignore[arg-type]
