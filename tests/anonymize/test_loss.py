from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.loss import (
    aggregate_loss,
    attribute_weights,
    cell_loss,
    discernibility,
    information_loss,
)
from sdc.errors import DataError, PolicyError
from sdc.hierarchy import Hierarchy

H_A = Hierarchy(
    rows=(
        ("a1", "A12", "*"),
        ("a2", "A12", "*"),
        ("a3", "A34", "*"),
        ("a4", "A34", "*"),
    ),
    source="A",
)
H_B = Hierarchy(rows=(("x", "*"), ("y", "*")), source="B")


@pytest.fixture
def tiny() -> pd.DataFrame:
    return pd.DataFrame(
        {"A": ["a1", "a2", "a3", "a4"], "B": ["x", "x", "y", "y"], "C": [1, 1, 2, 2]}
    )


def test_cell_loss_tables() -> None:
    assert cell_loss(H_A, 0).tolist() == [0.0] * 4
    assert cell_loss(H_A, 1).tolist() == pytest.approx([1 / 3, 1 / 3])
    assert cell_loss(H_A, 2).tolist() == [1.0]
    assert cell_loss(Hierarchy(rows=(("only", "*"),)), 1).tolist() == [0.0]


def test_hand_computed(tiny: pd.DataFrame) -> None:
    # A at level 1: every kept cell covers 2 of 4 leaves -> 1/3; B at level 0 -> 0;
    # record 4 suppressed -> 1 in both.
    mask = np.array([False, False, False, True])
    res = information_loss(tiny, {"A": H_A, "B": H_B}, {"A": 1}, suppressed=mask)
    assert res.loss_by_attribute == pytest.approx({"A": 0.5, "B": 0.25})
    assert res.loss == pytest.approx(0.375)
    assert res.loss_geometric == pytest.approx(math.sqrt(1.5 * 1.25) - 1)
    # kept classes (A12,x) x2 and (A34,y) x1: 4 + 1, plus n=4 for the suppressed record
    assert res.discernibility == 9.0
    assert res.classes == 2
    assert res.suppressed_records == 1
    assert res.suppressed_share == 0.25
    assert res.suppressed_values == 2
    assert res.suppressed_value_share == 0.25


def test_no_treatment_loses_nothing(tiny: pd.DataFrame) -> None:
    res = information_loss(tiny, {"A": H_A, "B": H_B}, {})
    assert res.loss == 0.0 and res.loss_geometric == pytest.approx(0.0)
    assert res.discernibility == 4.0  # four singletons
    assert res.suppressed_records == 0 and res.suppressed_values == 0


def test_full_generalisation(tiny: pd.DataFrame) -> None:
    res = information_loss(tiny, {"A": H_A, "B": H_B}, {"A": 2, "B": 1})
    assert res.loss == 1.0
    assert res.discernibility == 16.0
    assert res.classes == 1


def test_weights(tiny: pd.DataFrame) -> None:
    mask = np.array([False, False, False, True])
    res = information_loss(tiny, {"A": H_A, "B": H_B}, {"A": 1}, suppressed=mask, weight={"A": 3.0})
    assert res.loss == pytest.approx((3 * 0.5 + 0.25) / 4)
    # weights are normalised (3/4, 1/4) and are the exponents of the geometric mean
    assert res.loss_geometric == pytest.approx(1.5**0.75 * 1.25**0.25 - 1)


def test_equal_weights_geometric_is_arx() -> None:
    """With equal weights the geometric aggregate is ARX's: prod((1 + L_j) ** (1/m)) - 1, and
    scaling every weight alike changes nothing."""
    values = [0.2, 0.5, 0.0]
    arx = math.prod((1 + v) ** (1 / 3) for v in values) - 1
    assert aggregate_loss(values, [1, 1, 1])[1] == pytest.approx(arx, abs=1e-15)
    assert aggregate_loss(values, [4, 4, 4]) == pytest.approx(aggregate_loss(values, [1, 1, 1]))


def test_weights_change_which_loss_is_smaller() -> None:
    """ARX's factor weights would scale both vectors alike; as exponents a heavy attribute's
    loss counts more, so the ranking of two loss vectors follows the weights."""
    a, b = [0.6, 0.0], [0.0, 0.6]
    assert aggregate_loss(a, [1, 1]) == pytest.approx(aggregate_loss(b, [1, 1]))
    assert aggregate_loss(a, [2, 1])[1] > aggregate_loss(b, [2, 1])[1]
    assert aggregate_loss(a, [2, 1])[0] > aggregate_loss(b, [2, 1])[0]


def test_other_quasi_and_missing_input() -> None:
    df = pd.DataFrame({"A": ["a1", None, "a3", "a4"], "C": [1, 1, np.nan, 2]})
    mask = np.array([False, False, False, True])
    res = information_loss(df, {"A": H_A}, {"A": 0}, suppressed=mask, other_quasi=["C"])
    # A: missing cell (record 2) and suppressed record 4 cost 1 -> 2/4
    # C: missing cell (record 3) and suppressed record 4 -> 2/4
    assert res.loss_by_attribute == {"A": 0.5, "C": 0.5}
    # record 4 blanks A and C (both present) -> 2 suppressed values
    assert res.suppressed_values == 2
    # kept records: (a1,1), (NA,1), (a3,NA): three classes of one
    assert res.discernibility == 3 + 4 * 1


def test_already_missing_cells_are_not_counted_as_suppressed() -> None:
    df = pd.DataFrame({"A": [None, "a2"]})
    res = information_loss(df, {"A": H_A}, {}, suppressed=np.array([True, False]))
    assert res.suppressed_values == 0
    assert res.suppressed_records == 1


def test_everything_suppressed(tiny: pd.DataFrame) -> None:
    res = information_loss(tiny, {"A": H_A}, {}, suppressed=np.ones(4, dtype=bool))
    assert res.loss == 1.0
    assert res.classes == 0
    assert res.discernibility == 16.0


def test_no_quasi_identifiers(tiny: pd.DataFrame) -> None:
    res = information_loss(tiny, {}, {})
    assert res.loss == 0.0 and res.classes == 1 and res.discernibility == 16.0


def test_discernibility_helper() -> None:
    assert discernibility(np.array([2, 3]), suppressed=1, n=6) == 4 + 9 + 6


def test_aggregate_empty() -> None:
    assert aggregate_loss([], []) == (0.0, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"levels": {"A": 3}}, PolicyError, "level 3 does not exist"),
        ({"levels": {"Z": 1}}, PolicyError, r"levels are given for \['Z'\]"),
        ({"suppressed": np.zeros(3, dtype=bool)}, DataError, "mask has"),
        ({"other_quasi": ["nope"]}, DataError, "not in the data"),
        ({"weight": {"A": 0}}, PolicyError, "weight of 'A' is 0.0"),
        ({"weight": {"C": 1}}, PolicyError, "'C', which are not quasi-identifiers"),
    ],
)
def test_errors(tiny: pd.DataFrame, kwargs: dict, error: type, message: str) -> None:
    args = {"levels": {}} | kwargs
    with pytest.raises(error, match=message):
        information_loss(tiny, {"A": H_A}, **args)


def test_attribute_weights_default() -> None:
    assert attribute_weights(["a", "b"], None) == [1.0, 1.0]
    assert attribute_weights(["a", "b"], {"b": 2}) == [1.0, 2.0]
