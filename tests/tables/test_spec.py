from __future__ import annotations

from typing import Any

import pytest

from sdc.errors import PolicyError
from sdc.tables import DpSpec, TableSpec


def test_design_policy_entries() -> None:
    a = TableSpec.from_policy({"by": ["village", "sex"], "count": True, "min_cell": 5})
    assert a == TableSpec(by=("village", "sex"), count=True, min_cell=5)
    assert a.statistic == "count" and a.variable is None
    assert a.table_name == "count_by_village_sex"
    b = TableSpec.from_policy(
        {
            "by": ["district", "sex"],
            "sum": "income",
            "dominance": {"n": 1, "k": 0.8},
            "p_percent": 0.1,
        }
    )
    assert b.dominance == (1, 0.8) and b.p_percent == 0.1
    assert b.table_name == "sum_income_by_district_sex"
    c = TableSpec.from_policy(
        {"by": ["village"], "mean": "income", "dp": {"epsilon": 0.5}},
        bounds=[0, 50000],
        keys={"village": ["a", "b"]},
        ignored=1,
    )
    assert c.dp == DpSpec(epsilon=0.5, bounds=(0.0, 50000.0), keys={"village": ["a", "b"]})
    assert c.dp is not None and c.dp.keys_for("village") == ("a", "b")
    assert c.dp.keys_for("sex") is None
    assert hash(c)  # frozen and hashable
    assert TableSpec(by="v", count=True, name="mine").table_name == "mine"
    assert TableSpec(by=("v",), count=True, min_cell=3).has_primary_rules
    assert not TableSpec(by=("v",), count=True).has_primary_rules


BAD: list[tuple[dict[str, Any], str]] = [
    ({"by": [], "count": True}, r"at least one 'by' variable"),
    ({"by": ["a", "a"], "count": True}, r"listed twice"),
    ({"by": ["a"]}, r"exactly one statistic"),
    ({"by": ["a"], "count": True, "sum": "x"}, r"exactly one statistic"),
    ({"by": ["a"], "count": True, "min_cell": 1}, r"min_cell must be >= 2"),
    ({"by": ["a"], "count": True, "min_cell": 2.5}, r"min_cell must be an integer"),
    ({"by": ["a"], "sum": "x", "dominance": {"n": 0, "k": 0.8}}, r"dominance.n must be"),
    ({"by": ["a"], "sum": "x", "dominance": {"n": 1, "k": 80}}, r"e.g. 0.8 for 80%"),
    ({"by": ["a"], "sum": "x", "p_percent": 10}, r"0.1 for the 10% rule"),
    ({"by": ["a"], "count": True, "dominance": {"n": 1, "k": 0.8}}, r"not counts"),
    ({"by": ["a", "s"], "count": True, "group_share": 1.5, "sensitive": "s"}, r"\(0, 1\]"),
    ({"by": ["a", "s"], "count": True, "group_share": 0.9}, r"needs sensitive"),
    ({"by": ["a"], "count": True, "sensitive": "s"}, r"must be one of 'by'"),
    ({"by": ["s"], "count": True, "sensitive": "s"}, r"needs a group variable"),
    ({"by": ["a", "s"], "sum": "x", "sensitive": "s"}, r"applies to count tables"),
    ({"by": ["a"], "count": True, "rounding": 1}, r"base must be >= 2"),
    ({"by": ["a"], "count": True, "rounding": 2.5}, r"integer base"),
    ({"by": ["a"], "mean": "x", "rounding": 5}, r"count and sum tables"),
    ({"by": ["a"], "count": True, "rounding": 5, "min_cell": 3}, r"rounding replaces"),
    ({"by": ["a"], "count": True, "rounding_method": "fancy"}, r"rounding_method must be"),
    ({"by": ["a"], "count": True, "min_cell": 3, "dp": {"epsilon": 1}}, r"protected by its"),
    ({"by": ["a"], "count": True, "weight": "w", "dp": {"epsilon": 1}}, r"cannot use sampling"),
    ({"by": ["a"], "sum": "x", "dp": {"epsilon": 1}}, r"columns.x.bounds"),
    ({"by": ["a"], "count": True, "cost": "money"}, r"cost must be"),
    ({"by": ["a"], "count": True, "colour": 1}, r"unknown key\(s\) \['colour'\]"),
    ({"by": ["a"], "count": True, "dp": {"epsilon": 1, "eps": 2}}, r"unknown key\(s\) \['eps'\]"),
    ({"by": ["a"], "count": True, "dp": {"epsilon": 0}}, r"dp.epsilon must be > 0"),
    ({"by": ["a"], "count": True, "dp": {"epsilon": "x"}}, r"dp.epsilon must be a number"),
    ({"by": ["a"], "count": True, "dp": {"epsilon": 1, "mechanism": "exp"}}, r"'laplace' or"),
    (
        {"by": ["a"], "count": True, "dp": {"epsilon": 1, "mechanism": "gaussian"}},
        r"dp.delta must be in \(0, 1\)",
    ),
    ({"by": ["a"], "count": True, "dp": {"epsilon": 1, "delta": 1e-6}}, r"gaussian mechanism only"),
    ({"by": ["a"], "sum": "x", "dp": {"epsilon": 1, "bounds": [5, 1]}}, r"lo < hi"),
    ({"by": ["a"], "count": True, "dp": {"epsilon": 1, "unit": "city"}}, r"dp.unit must be"),
    (
        {"by": ["a"], "count": True, "dp": {"epsilon": 1, "unit": "household"}},
        r"set data.household",
    ),
    (
        {"by": ["a"], "count": True, "dp": {"epsilon": 1, "contribution_bound": 0}},
        r"contribution_bound must be an integer >= 1",
    ),
    (
        {"by": ["a"], "count": True, "dp": {"epsilon": 1, "keys": {"a": "xyz"}}},
        r"dp.keys.a must be a list",
    ),
    (
        {"by": ["a"], "count": True, "dp": {"epsilon": 1, "keys": {"a": ["x", "x"]}}},
        r"category twice",
    ),
    ({"by": ["a"], "count": True, "dp": {"epsilon": 1, "keys": {"a": []}}}, r"is empty"),
]


@pytest.mark.parametrize(("entry", "message"), BAD)
def test_invalid_specs_are_refused(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        TableSpec.from_policy(entry)


def test_keys_as_pairs() -> None:
    d = DpSpec(epsilon=1.0, keys=[("a", ["1", 2])])
    assert d.keys == (("a", ("1", "2")),)
    assert DpSpec(epsilon=1.0, keys=None).keys is None
