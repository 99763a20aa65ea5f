"""Individual ranking (sdcMicro's onedims): each column grouped on its own sorted values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.microaggregation import microaggregate
from sdc.errors import DataError, PolicyError
from sdc.policy import parse_policy
from sdc.release.microdata import treat_microdata


def test_by_hand() -> None:
    df = pd.DataFrame({"a": [5.0, 1, 3, 2, 4, 9, 7], "b": [1.0, 1, 1, 1, 1, 1, 8]})
    out, record = microaggregate(df, ["a", "b"], 3, "individual")
    # a sorted: 1 2 3 | 4 5 7 9 -> means 2 and 6.25 (the last group takes the remainder)
    assert out["a"].tolist() == [6.25, 2, 2, 2, 6.25, 6.25, 6.25]
    # b sorted (stable): rows 0..5 are 1, row 6 is 8 -> groups {0,1,2} and {3,4,5,6}
    assert out["b"].tolist() == [1, 1, 1, 2.75, 2.75, 2.75, 2.75]
    assert record.parameters["method"] == "individual"
    assert record.details["smallest_group"] == 3 and record.details["largest_group"] == 4


@settings(max_examples=50, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6)), min_size=0, max_size=120),
    k=st.integers(2, 7),
)
def test_column_totals_kept_and_groups_of_k(values: list[float | None], k: int) -> None:
    x = np.array([np.nan if v is None else v for v in values], dtype=float)
    n = int((~np.isnan(x)).sum())
    if 0 < n < k:  # too few records to form one group: refused
        with pytest.raises(DataError):
            microaggregate(pd.DataFrame({"x": x}), ["x"], k, "individual")
        return
    out, _ = microaggregate(pd.DataFrame({"x": x}), ["x"], k, "individual")
    y = out["x"].to_numpy()
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.nansum(y) == pytest.approx(np.nansum(x), rel=1e-9, abs=1e-6)
    # every released value is shared by at least k records
    counts = pd.Series(y[~np.isnan(y)]).round(6).value_counts()
    assert (counts >= k).all()


def test_unknown_method() -> None:
    with pytest.raises(PolicyError) as err:
        microaggregate(pd.DataFrame({"x": [1.0, 2, 3]}), ["x"], 2, "rmd")
    assert str(err.value) == (
        "microaggregation.method must be 'mdav', 'pca' or 'individual', got 'rmd'"
    )


def test_through_the_policy() -> None:
    policy = parse_policy(
        "version: 1\nname: m\ncolumns:\n  region: {role: quasi}\n"
        "  income: {role: sensitive, microaggregation: {k: 3, method: individual}}\n"
        "thresholds: {k: 2}\noutputs:\n  microdata: {treatments: [microaggregation]}\n"
    )
    df = pd.DataFrame({"region": list("ababab"), "income": [1.0, 2, 3, 4, 5, 6]})
    treated = treat_microdata(df, policy, seed=1)
    assert treated.frame["income"].tolist() == [2.0, 2, 2, 5, 5, 5]
