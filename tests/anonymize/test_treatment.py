from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from sdc.anonymize._treatment import SuppressionRecord, Treatment


def test_record_is_frozen_and_json_ready() -> None:
    rec = Treatment(
        name="pram",
        columns=["a"],  # type: ignore[arg-type]
        parameters={"p": np.float64(0.8), "strata": ("s",), "flag": np.bool_(True)},
        changed={"a": np.int64(3)},
        details={"matrix": np.eye(2), "set": {"y", "x"}, "none": None},
        private={"seed": 5},
    )
    assert rec.columns == ("a",)
    d = rec.to_dict()
    assert json.loads(json.dumps(d)) == {
        "name": "pram",
        "columns": ["a"],
        "parameters": {"p": 0.8, "strata": ["s"], "flag": True},
        "changed": {"a": 3},
        "details": {"matrix": [[1.0, 0.0], [0.0, 1.0]], "set": ["x", "y"], "none": None},
    }
    assert rec.to_dict(include_private=True)["private"] == {"seed": 5}
    assert rec.total_changed == 3
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        rec.parameters["p"] = 1  # type: ignore[index]
    assert "seed" not in repr(rec)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": ""}, ValueError, "needs a name"),
        ({"changed": {"b": 1}}, ValueError, r"changed counts for columns not treated: \['b'\]"),
        ({"changed": {"a": -1}}, ValueError, "cannot be negative"),
        ({"details": {"x": float("nan")}}, ValueError, "non-finite"),
        ({"details": {"x": b"raw"}}, TypeError, "bytes"),
        ({"details": {"x": object()}}, TypeError, "cannot hold a object"),
    ],
)
def test_invalid_records(kwargs: dict, error: type, message: str) -> None:
    base = {"name": "t", "columns": ("a",)}
    with pytest.raises(error, match=message):
        Treatment(**{**base, **kwargs})


def test_suppression_record_properties() -> None:
    rec = SuppressionRecord(
        name="local_suppression",
        columns=("a", "b"),
        changed={"a": 2, "b": 1},
        details={"share": 0.25},
    )
    assert rec.per_variable == {"a": 2, "b": 1}
    assert rec.total == 3 and rec.share == 0.25
    assert SuppressionRecord(name="x", columns=()).share == 0.0
