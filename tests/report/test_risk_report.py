from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from sdc.report import risk_html, risk_json, risk_text
from sdc.report.svg import bar_chart
from sdc.risk import RiskThresholds, assess_risk

DATA = Path(__file__).parent.parent / "data"
KEYS = ["Key1", "Key2", "Key3", "Key4"]


@pytest.fixture
def survey_df() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": ["20-29"] * 3 + ["30-39"] * 4 + ["40-49"] * 3 + ["50-59", "80-89"],
            "sex": list("fffmmmfffmmf"),
            "village": ["Xylo"] * 11 + ["Zanzibar-Secret"],
            "hh": [1, 1, 2, 2, 3, 3, 3, 4, 4, 5, 5, 5],
            "hiv": ["no"] * 3 + ["yes", "no", "yes", "no", "no", "yes", "no", "no", "yes"],
            "w": [50.0] * 12,
        }
    )


def test_text_summary_findings_and_recommendations(survey_df: pd.DataFrame) -> None:
    th = RiskThresholds(k=3, l=2, max_individual_risk=0.2)
    r = assess_risk(
        survey_df,
        quasi=["age", "sex", "village"],
        weight="w",
        household="hh",
        sensitive=["hiv"],
        thresholds=th,
        suda=False,
    )
    text = risk_text(r)
    assert text.startswith("Risk of 12 records, key: age, sex, village; weight: w\n")
    assert (
        "4 respondents are the only person with their combination of age, sex and village; "
        "anyone who knows these three facts about them can find their record." in text
    )
    assert "smallest group (k-anonymity)" in text and "FAIL" in text
    assert "Recode first:\n  1. age: without it, " in text
    assert "Over the policy's thresholds:\n  - k: 1 (limit 3)\n" in text
    assert (
        "In 1 group of two or more respondents (3 respondents) at least 90% have the same "
        "hiv: knowing someone's age, sex and village reveals their hiv" in text
    )
    assert "Counting households (5)" in text
    # no raw values of any record, risky or not
    for value in ("Zanzibar-Secret", "80-89", "Xylo", "20-29"):
        assert value not in text


def test_text_when_everything_holds() -> None:
    df = pd.DataFrame({"a": ["x"] * 4 + ["y"] * 4})
    text = risk_text(assess_risk(df, quasi=["a"], suda=False))
    assert "No respondent is the only person with their combination of a." in text
    assert text.endswith("Every threshold of the policy holds.\n")
    assert "Recode first" in text  # a alone still carries all the risk


def test_single_unique_wording() -> None:
    df = pd.DataFrame({"a": ["x", "x", "y"]})
    text = risk_text(assess_risk(df, quasi=["a"], suda=False))
    assert (
        "1 respondent is the only person with their combination of a; anyone who knows "
        "this fact about them can find their record." in text
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.links.append(value)


def test_html_is_self_contained(survey_df: pd.DataFrame) -> None:
    r = assess_risk(
        survey_df, quasi=["age", "sex", "village"], weight="w", sensitive=["hiv"], suda=False
    )
    page = risk_html(r, title="Survey <risk>")
    parser = _Collector()
    parser.feed(page)
    assert parser.links == []
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page
    assert parser.tags.count("svg") == 3
    assert "<title>Survey &lt;risk&gt;</title>" in page
    assert "@media print" in page
    for value in ("Zanzibar-Secret", "80-89", "Xylo"):
        assert value not in page
    assert re.search(r"Over the policy&#39;s thresholds|Over the policy's thresholds", page)


def test_json_rendering_is_the_report_dict() -> None:
    df = pd.read_csv(DATA / "francdat.csv")
    r = assess_risk(df, quasi=KEYS, weight="w", suda=False)
    assert risk_json(r) == r.to_dict()


def test_bar_chart_escapes_labels() -> None:
    svg = bar_chart(["<b>", "x"], [0, 0], title="t&", value_label="v", highlight=[True, False])
    assert "&lt;b&gt;" in svg and "t&amp;" in svg
    assert svg.count("<rect") == 2


def test_text_with_suda_t_closeness_and_importance() -> None:
    df = pd.read_csv(DATA / "francdat.csv")
    th = RiskThresholds(k=2, t=0.2)
    r = assess_risk(
        df, quasi=KEYS, weight="w", sensitive=["Num1"], thresholds=th, importance={"Key4": 2}
    )
    text = risk_text(r)
    assert "records with special uniques (SUDA)" in text
    assert "4 respondents have a special unique: a small combination of at most 4" in text
    assert "differs from the whole file by more than t = 0.2." in text
    assert (
        "Key4: without it, 2 fewer unique respondents and 0.30 fewer expected "
        "re-identifications; it is in 54% of the SUDA score (the policy marks it important: 2)."
        in text
    )
    assert "  - t: " in text


def test_no_single_variable_creates_the_uniques() -> None:
    # every record is unique on (a, b) and stays unique without either variable
    df = pd.DataFrame({"a": [0, 1, 2, 3], "b": [0, 1, 2, 3]})
    text = risk_text(assess_risk(df, quasi=["a", "b"], suda=False))
    assert "No single variable creates the uniques" in text


def test_global_threshold_finding() -> None:
    df = pd.read_csv(DATA / "francdat.csv")
    # 10%: threshold log(17)/16 = .17708; the two records above it (.402, .297) need treatment
    th = RiskThresholds(k=2, max_global_risk=0.1)
    text = risk_text(assess_risk(df, quasi=KEYS, weight="w", suda=False, thresholds=th))
    assert (
        "  - 2 records have an individual risk above 0.1771; they would need treatment to "
        "bring the global risk down to 10%.\n" in text
    )
    # 11%: ER = .88, capping the riskiest (.402) at .297063 gives .564167 + .297063 < .88
    th = RiskThresholds(k=2, max_global_risk=0.11)
    text = risk_text(assess_risk(df, quasi=KEYS, weight="w", suda=False, thresholds=th))
    assert "  - 1 record has an individual risk above 0.2971; they would need" in text
    # default 1%: no risk level is enough (threshold 0)
    text = risk_text(assess_risk(df, quasi=KEYS, weight="w", suda=False))
    assert "  - Every record would need treatment to bring the global risk down to 1%.\n" in text
    # already below the limit (S = 2 < ER = 0.5 * 8): no line
    even = pd.DataFrame({"a": ["x"] * 4 + ["y"] * 4})
    th = RiskThresholds(max_global_risk=0.5)
    text = risk_text(assess_risk(even, quasi=["a"], suda=False, thresholds=th))
    assert "need treatment" not in text


def test_the_html_breach_names_its_column() -> None:
    from sdc.report import risk_html
    from sdc.risk import RiskThresholds, assess_risk

    frame = pd.DataFrame({"a": ["x"] * 6, "b": ["y"] * 6, "hiv": ["neg"] * 6})
    report = assess_risk(
        frame, quasi=["a", "b"], sensitive=["hiv"], thresholds=RiskThresholds(k=2, l=2), suda=False
    )
    assert "<li><strong>l</strong>: 1 for hiv (limit 2)</li>" in risk_html(report, title="t")
