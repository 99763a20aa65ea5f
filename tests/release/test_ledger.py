from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sdc.budget import Budget, format_number
from sdc.errors import BudgetExceeded, DataError, PolicyError
from sdc.release.ledger import Ledger, default_ledger_path

SHA = "3f2a" + "0" * 60
OTHER = "beef" + "1" * 60


# --- Budget -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("epsilon", "delta", "message"),
    [
        (-0.5, 0.0, r"^privacy budget epsilon must be >= 0, got -0.5$"),
        (1.0, -1e-9, r"^privacy budget delta must be >= 0, got -1e-09$"),
        (math.nan, 0.0, r"^privacy budget epsilon must be >= 0, got nan$"),
        (math.inf, 0.0, r"^privacy budget epsilon must be >= 0, got inf$"),
        (1.0, 1.0, r"^privacy budget delta must be < 1, got 1.0$"),
        (True, 0.0, r"^privacy budget epsilon must be a number, got True$"),
        ("1", 0.0, r"^privacy budget epsilon must be a number, got '1'$"),
    ],
)
def test_budget_refuses_invalid(epsilon: object, delta: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        Budget(epsilon, delta)  # type: ignore[arg-type]


def test_budget_arithmetic_and_order() -> None:
    a, b = Budget(0.5, 1e-6), Budget(0.25)
    assert a + b == Budget(0.75, 1e-6)
    assert a - b == Budget(0.25, 1e-6)
    assert Budget.zero() == Budget(0.0, 0.0)
    assert b <= a and b < a and a > b and a >= b
    assert not a <= b
    # component-wise: more epsilon but less delta is not comparable
    c = Budget(1.0, 0.0)
    assert not (a <= c) and not (c <= a)
    # float noise from many small budgets does not break the comparison
    total = Budget.zero()
    for _ in range(10):
        total = total + Budget(0.1)
    assert total <= Budget(1.0) and total >= Budget(1.0)
    assert (Budget(1.0) - total).epsilon == 0.0
    assert a.__add__(1) is NotImplemented  # type: ignore[operator]
    assert a.__le__(1) is NotImplemented
    assert a.__sub__(1) is NotImplemented  # type: ignore[operator]
    assert a.__ge__(1) is NotImplemented and a.__lt__(1) is NotImplemented
    assert a.__gt__(1) is NotImplemented


def test_budget_subtraction_refuses_overdraft() -> None:
    with pytest.raises(BudgetExceeded, match=r"^cannot take epsilon 0.5 from epsilon 0.2: "):
        Budget(0.2) - Budget(0.5)


def test_budget_describe_and_format() -> None:
    assert Budget(0.5).describe() == "epsilon 0.5"
    assert Budget(0.5, 1e-6).describe() == "epsilon 0.5, delta 1e-06"
    assert Budget(1, 0).as_dict() == {"epsilon": 1.0, "delta": 0.0}
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(1) == "1.0"


# --- Ledger -------------------------------------------------------------------------


def test_default_path_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SDC_LEDGER", str(tmp_path / "l.jsonl"))
    assert default_ledger_path() == tmp_path / "l.jsonl"
    assert Ledger().path == tmp_path / "l.jsonl"
    monkeypatch.delenv("SDC_LEDGER")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_ledger_path() == tmp_path / ".sdc" / "ledger.jsonl"


def test_record_spent_summary(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "sub" / "ledger.jsonl")
    assert ledger.entries() == [] and ledger.spent("survey") == Budget.zero()
    t0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    e = ledger.record(
        "survey",
        ["t1", "t2"],
        Budget(0.5),
        "discrete laplace",
        "pol-a",
        input_sha256=SHA,
        cap=Budget(1.0),
        time=t0,
    )
    assert e.time == "2026-01-02T03:04:05+00:00" and not e.complete
    ledger.complete(e, "rel", time=t0)
    ledger.record(
        "survey",
        ["t3"],
        Budget(0.25, 1e-7),
        "discrete gaussian",
        "pol-b",
        cap=Budget(5.0),  # the cap is fixed at the first release: ignored
        time=datetime(2026, 1, 3, tzinfo=UTC),
    )
    ledger.record("other", ["s"], Budget(1.0), "laplace", "pol-a")
    lines = (tmp_path / "sub" / "ledger.jsonl").read_text().splitlines()
    assert len(lines) == 5
    assert json.loads(lines[0]) == {
        "kind": "cap",
        "dataset": "survey",
        "epsilon": 1.0,
        "delta": 0.0,
        "reason": "first release",
        "time": "2026-01-02T03:04:05+00:00",
    }
    first = json.loads(lines[1])
    assert first == {
        "kind": "spend",
        "id": e.id,
        "dataset": "survey",
        "dataset_sha256": SHA,
        "delta": 0.0,
        "epsilon": 0.5,
        "mechanism": "discrete laplace",
        "outputs": ["t1", "t2"],
        "policy": "pol-a",
        "time": "2026-01-02T03:04:05+00:00",
    }
    assert json.loads(lines[2]) == {
        "kind": "complete",
        "id": e.id,
        "bundle": "rel",
        "time": "2026-01-02T03:04:05+00:00",
    }
    assert ledger.spent("survey") == Budget(0.75, 1e-7)
    assert ledger.cap("survey") == Budget(1.0) and ledger.cap("other") is None
    assert [x.complete for x in ledger.entries()] == [True, False, False]
    rows = ledger.summary()
    assert [r.dataset for r in rows] == ["survey", "other"]
    assert rows[0].releases == 2 and rows[0].spent == Budget(0.75, 1e-7)
    assert rows[0].incomplete == 1 and rows[0].cap == Budget(1.0)
    assert rows[0].policies == ("pol-a", "pol-b")
    assert rows[0].last_release == "2026-01-03T00:00:00+00:00"
    assert rows[0].as_dict()["epsilon"] == 0.75 and rows[0].as_dict()["cap_epsilon"] == 1.0
    assert rows[1].as_dict()["cap_epsilon"] is None
    assert repr(ledger).startswith("Ledger(")


def test_a_line_from_before_dataset_names_is_charged_to_its_file_name(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text(
        json.dumps(
            {
                "time": "2026-01-01T00:00:00+00:00",
                "dataset_sha256": SHA,
                "dataset": "survey.csv",
                "outputs": ["t"],
                "epsilon": 0.5,
                "delta": 0.0,
                "mechanism": "laplace",
                "policy": "p",
            }
        )
        + "\n"
    )
    (entry,) = Ledger(path).entries()
    assert entry.dataset == "survey.csv" and entry.complete and entry.id == ""
    assert Ledger(path).spent("survey.csv") == Budget(0.5)


def test_check_refuses_over_budget_with_exact_message(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record("survey", ["t"], Budget(0.8), "discrete laplace", "p")
    assert ledger.check("survey", Budget(0.2), Budget(1.0)) == Budget(0.0)
    with pytest.raises(BudgetExceeded) as info:
        ledger.check("survey", Budget(0.5), Budget(1.0))
    assert str(info.value) == (
        "release needs epsilon 0.5 but only 0.2 of 1.0 is left for dataset survey; see `sdc budget`"
    )
    # Another dataset has its own budget.
    assert ledger.check("other", Budget(0.5), Budget(1.0)) == Budget(0.5)


def test_check_message_with_delta_and_overspent(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.record("survey", ["t"], Budget(1.5), "laplace", "p")
    with pytest.raises(BudgetExceeded) as info:
        ledger.check("survey", Budget(0.1, 1e-6), Budget(1.0, 1e-5))
    assert str(info.value) == (
        "release needs epsilon 0.1 and delta 1e-06 but only epsilon 0.0 and delta 1e-05 of "
        "epsilon 1.0 and delta 1e-05 is left for dataset survey; see `sdc budget`"
    )


def test_corrupt_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    ledger = Ledger(path)
    ledger.record(SHA, ["t"], Budget(0.5), "laplace", "p")
    with path.open("a") as fh:
        fh.write('\n{"dataset_sha256": "x"\n')
    with pytest.raises(DataError, match=r"ledger.jsonl line 3: not a valid ledger record"):
        ledger.spent(SHA)
