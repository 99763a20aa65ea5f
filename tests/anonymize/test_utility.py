from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.utility import entropy_bits, frequency_change, utility_summary
from sdc.errors import DataError


def test_entropy_hand_computed() -> None:
    assert entropy_bits(pd.Series(["a", "b", "a", "b"])) == pytest.approx(1.0)
    assert entropy_bits(pd.Series(["a", "a", None])) == 0.0
    assert entropy_bits(pd.Series([None, None])) == 0.0
    p = np.array([0.5, 0.25, 0.25])
    assert entropy_bits(pd.Series(list("aabc"))) == pytest.approx(-(p * np.log2(p)).sum())


def test_utility_summary_figures() -> None:
    before = pd.DataFrame(
        {
            "age": [23, 35, 47, 52, 61, 70],
            "sex": ["m", "f", "m", "f", "m", "f"],
            "inc": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "sav": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0],
            "phone": ["1", "2", "3", "4", "5", "6"],
        }
    )
    after = pd.DataFrame(
        {
            "age": ["18-29", "30-44", "45-59", "45-59", "60+", "60+"],
            "sex": ["m", None, "m", "f", "m", "f"],
            "inc": [1.5, 1.5, 3.5, 3.5, 5.5, 5.5],
            "sav": [2.0, 4.0, 6.0, 8.0, 10.0, 12.0],
        }
    )
    u = utility_summary(before, after, ["age", "sex", "phone"], ["inc", "sav"])
    json.dumps(u)  # JSON-ready
    assert u["rows"] == 6
    age = u["quasi"]["age"]
    assert age["categories_before"] == 6 and age["categories_after"] == 4
    assert age["category_loss"] == pytest.approx(1 - 4 / 6)
    assert age["entropy_before"] == pytest.approx(math.log2(6))
    assert age["changed"] == 6 and age["suppressed"] == 0
    sex = u["quasi"]["sex"]
    assert sex["suppressed"] == 1 and sex["missing_after"] == 1 and sex["changed"] == 0
    assert sex["entropy_loss"] == pytest.approx(1 - entropy_bits(after["sex"]) / 1.0)
    assert u["quasi"]["phone"] == {
        "categories_before": 6,
        "entropy_before": pytest.approx(math.log2(6)),
        "missing_before": 0,
        "removed": True,
    }
    inc = u["numeric"]["inc"]
    assert inc["mean_before"] == 3.5 and inc["mean_after"] == 3.5 and inc["mean_change"] == 0.0
    assert inc["changed"] == 6 and inc["sd_after"] < inc["sd_before"]
    pair = u["correlations"]["inc|sav"]
    assert pair["before"] == pytest.approx(1.0)
    assert pair["change"] == pytest.approx(pair["after"] - 1.0)
    assert u["max_correlation_change"] == pytest.approx(abs(pair["change"]))


def test_utility_edge_cases() -> None:
    before = pd.DataFrame({"x": [0.0, 0.0], "y": [1.0, 1.0], "gone": [1.0, 2.0]})
    after = pd.DataFrame({"x": [0.0, np.nan], "y": [1.0, 1.0]})
    u = utility_summary(before, after, [], ["x", "y", "gone"])
    assert u["numeric"]["x"]["mean_change"] is None  # mean before is 0
    assert u["numeric"]["x"]["sd_after"] is None and u["numeric"]["x"]["changed"] == 1
    assert u["numeric"]["gone"]["removed"] is True
    assert u["correlations"]["x|y"] == {"before": None, "after": None, "change": None}
    assert u["max_correlation_change"] is None
    with pytest.raises(DataError, match=r"^utility needs the same records before and after"):
        utility_summary(before, after.iloc[:1], [], ["x"])
    with pytest.raises(DataError, match=r"^column\(s\) 'zz' are not in the data$"):
        utility_summary(before, after, ["zz"], [])


def test_frequency_change() -> None:
    before = pd.DataFrame({"v": ["a", "a", "b", "b"], "s": [1, 1, 2, 2]})
    after = pd.DataFrame({"v": ["a", None, "b", "b"], "s": [1, 1, 2, 2]})
    fc = frequency_change(before, after, ["v", "s"])
    assert fc == {
        "by": ["v", "s"],
        "cells_before": 2,
        "cells_after": 3,
        "tvd": 0.25,
        "max_abs_change": 1,
    }
    assert frequency_change(before, before, ["v"])["tvd"] == 0.0
    with pytest.raises(DataError, match=r"^column\(s\) 'q' are not in the after data$"):
        frequency_change(before.assign(q=1), after, ["q"])
