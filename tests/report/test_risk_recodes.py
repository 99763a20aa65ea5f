"""Risk renderings with the policy's recodes, and the risk chart's bars (never above 100%)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize._treatment import Treatment
from sdc.report import risk_html, risk_json, risk_text
from sdc.report.risk import (
    describe_recode,
    recoded_variables,
    recommendations,
    risk_context,
    risk_labels,
)
from sdc.risk import RiskThresholds, assess_risk
from sdc.risk.assess import RISK_BINS, RiskReport

AGES = [21, 25, 33, 38, 41, 47, 52, 58, 63, 69, 74, 79]


@pytest.fixture
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    collected = pd.DataFrame({"age": AGES, "sex": list("fmfmfmfmfmff"), "w": [20.0] * 12})
    recoded = collected.assign(age=[f"{a // 30 * 30}+" for a in AGES])
    return collected, recoded


BANDS = Treatment(
    "recode.bands",
    ("age",),
    parameters={"breaks": [0, 30, 60], "top_code": None, "bottom_code": None},
    changed={"age": 12},
)


def reports(frames: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[RiskReport, RiskReport]:
    collected, after = (
        assess_risk(
            frame, quasi=["age", "sex"], weight="w", thresholds=RiskThresholds(k=2), suda=False
        )
        for frame in frames
    )
    return collected, after


@pytest.mark.parametrize(
    ("treatment", "text"),
    [
        (BANDS, "age: bands starting at 0, 30, 60 (12 values changed)"),
        (
            Treatment(
                "recode.bands",
                ("age",),
                parameters={"breaks": [0.0, 18.5], "top_code": 80.0, "bottom_code": 5.0},
                changed={"age": 1},
            ),
            "age: bands starting at 0, 18.5, values above 80 counted as 80, values below 5 "
            "counted as 5 (1 value changed)",
        ),
        (
            Treatment(
                "recode.map",
                ("village",),
                parameters={"hierarchy": "hierarchies/village.csv", "level": 1, "levels": 3},
                changed={"village": 2000},
                details={"categories_before": 20, "categories_after": 4},
            ),
            "village: level 1 of village.csv, 20 categories become 4 (2,000 values changed)",
        ),
        (
            Treatment("recode.prefix", ("pc",), parameters={"length": 2}, changed={"pc": 3}),
            "pc: only the first 2 characters kept (3 values changed)",
        ),
        (
            Treatment("recode.date", ("visit",), parameters={"unit": "year"}, changed={"visit": 9}),
            "visit: dates cut to the year (9 values changed)",
        ),
        (
            Treatment("recode.grid", ("lat",), parameters={"step": 0.5}, changed={"lat": 0}),
            "lat: coordinates moved to a grid of 0.5 degrees (0 values changed)",
        ),
        (
            Treatment("top_code", ("income",), parameters={"value": 4000.0}, changed={"income": 7}),
            "income: values above 4000 set to 4000 (7 values changed)",
        ),
        (
            Treatment("bottom_code", ("income",), parameters={"value": 0.5}, changed={"income": 2}),
            "income: values below 0.5 set to 0.5 (2 values changed)",
        ),
    ],
)
def test_each_recode_in_a_few_words(treatment: Treatment, text: str) -> None:
    assert describe_recode(treatment) == text


def test_text_shows_both_and_advice_only_after(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    collected, after = reports(frames)
    text = risk_text(collected, after_recodes=after, recodes=[BANDS])
    assert text.startswith("Risk as collected: 12 records, key: age, sex; weight: w\n")
    first, second = text.split("\nRisk after the policy's recodes: ")
    assert "Recode first" not in first
    assert first.endswith(
        "Over the policy's thresholds as collected:\n  - k: 1 (limit 2)\n\n"
        "The policy's recodes (the first step of `sdc release`; its other treatments are not "
        "applied here):\n"
        "  - age: bands starting at 0, 30, 60 (12 values changed)\n"
        "With them, unique respondents go from 12 to 3 and expected re-identifications from "
        f"{collected.expected_reidentifications:,.2f} to "
        f"{after.expected_reidentifications:,.2f}.\n"
    )
    assert second.startswith("12 records, key: age, sex; weight: w\n")
    assert "age" in after.recode_first
    advice = second[second.index("Recode first:") : second.index("Over the policy")]
    assert advice.startswith("Recode first:\n  1. sex: without it, 3 fewer unique respondents")
    assert not re.search(r"\bage\b", advice)
    assert second.endswith("Over the policy's thresholds after its recodes:\n  - k: 1 (limit 2)\n")
    # without recodes: one report, as always
    assert risk_text(collected).startswith("Risk of 12 records, key: age, sex; weight: w\n")


def test_json_adds_the_recoded_report_and_the_recodes(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    collected, after = reports(frames)
    assert risk_json(collected) == collected.to_dict()
    document = risk_json(collected, after_recodes=after, recodes=[BANDS])
    assert list(document)[-2:] == ["after_recodes", "recodes"]
    assert {k: v for k, v in document.items() if k not in ("after_recodes", "recodes")} == (
        collected.to_dict()
    )
    expected = after.to_dict()
    expected["recode_first"] = [v for v in after.recode_first if v != "age"]
    assert document["after_recodes"] == expected
    assert document["recodes"] == [BANDS.to_dict()]


def test_html_shows_both(frames: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    collected, after = reports(frames)
    page = risk_html(collected, title="t", after_recodes=after, recodes=[BANDS])
    assert page.count("<svg") == 6
    assert page.count("<h3>Recode first</h3>") == 1
    assert "<li>age: bands starting at 0, 30, 60 (12 values changed)</li>" in page
    assert page.index("Disclosure risk as collected") < page.index(
        "Disclosure risk after the policy&#39;s recodes"
    )
    assert "Over the policy's thresholds after its recodes (see below)." in page
    single = risk_html(collected, title="t")
    assert single.count("<svg") == 3 and "as collected" not in single


def test_recommendations_skip_recoded_variables(
    frames: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    _, after = reports(frames)
    assert recoded_variables([BANDS, BANDS]) == ("age",)
    everything = recommendations(after)
    assert everything[0].startswith("age: ")
    assert [r for r in recommendations(after, {"age"}) if r.startswith("age")] == []
    only_recoded = recommendations(after, {"age", "sex"})
    assert only_recoded == [
        "The variables that still create uniques are ones the policy already recodes: "
        "recode them more coarsely, or leave the rest to local suppression or "
        "generalize: auto."
    ]


# -- the risk chart ----------------------------------------------------------------------------


def test_risk_bars_are_percentages_up_to_100() -> None:
    assert RISK_BINS[-1] == 1.0
    assert risk_labels() == [
        "up to 0.1%",
        "0.1% – 1%",
        "1% – 5%",
        "5% – 10%",
        "10% – 20%",
        "20% – 50%",
        "50% – 100%",
    ]


def test_a_risk_of_one_is_in_the_top_bar() -> None:
    # without weights a sample unique has risk exactly 1; f_k = 2 gives exactly 0.5, which
    # is in the bar that ends at 50%, with f_k = 3 (1/3)
    df = pd.DataFrame({"a": ["x", "y", "y", "z", "z", "z", "q"]})
    report = assess_risk(df, quasi=["a"], suda=False)
    assert report.max_risk == 1.0
    counts = dict(report.risk_histogram)
    assert counts[1.0] == 2 and counts[0.5] == 5 and counts[0.2] == 0
    svg = str(risk_context(report)["charts"]["risk"])
    bars = re.findall(r">([^<>]+)</text><rect[^>]*/><text[^>]*>([\d,]+)</text>", svg)
    assert bars[-1] == ("50% – 100%", "2")
    assert bars[-2] == ("20% – 50%", "5")
    shown = [float(x) for label, _ in bars for x in re.findall(r"([\d.]+)%", label)]
    assert max(shown) == 100


def test_census_weights_give_risk_one_in_the_top_bar() -> None:
    # every weight 1: F_k = f_k, so a unique's risk is exactly 1 (not 0.99999 or 1.00001)
    df = pd.DataFrame({"a": ["x", "y", "y"], "w": [1.0, 1.0, 1.0]})
    report = assess_risk(df, quasi=["a"], weight="w", suda=False)
    assert report.records["r_k"].tolist() == [1.0, 0.5, 0.5]
    assert dict(report.risk_histogram)[1.0] == 1
    assert np.all(report.records["r_k"] <= 1)
