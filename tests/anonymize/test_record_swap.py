"""Targeted record swapping: risky households exchange their geography with similar ones."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.record_swap import record_swap
from sdc.errors import DataError, PolicyError
from sdc.io import read_table
from sdc.policy import parse_policy
from sdc.release.check import check_bundle
from sdc.release.ledger import Ledger
from sdc.release.pipeline import release
from tests.anonymize._households import household_survey

SMALL = pd.DataFrame(
    {
        "hh": ["A", "A", "B", "B", "C", "C", "C", "D", "D", "D"],
        "village": ["v1", "v1", "v2", "v2", "v1", "v1", "v1", "v1", "v1", "v1"],
        "district": ["d1", "d1", "d2", "d2", "d1", "d1", "d1", "d1", "d1", "d1"],
        "size": [2, 2, 2, 2, 3, 3, 3, 3, 3, 3],
        "age": [
            "old",
            "young",
            "young",
            "young",
            "young",
            "young",
            "young",
            "young",
            "young",
            "young",
        ],
    }
)


def _swap(df: pd.DataFrame, rate: float, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    out, record = record_swap(
        df,
        level="village",
        rate=rate,
        similar=["size"],
        carry=["district"],
        household="hh",
        risk_columns=["age"],
        k=2,
        seed=seed,
    )
    return out, record.to_dict()


@pytest.mark.parametrize("seed", range(5))
def test_hand_computed_small_case(seed: int) -> None:
    # Keys village x age: A's "old" member is unique (f = 1 < k = 2), so A is risky. One swap
    # (floor(0.5 * 4 households / 2)); A's only donor of size 2 in another village is B.
    # C and D (size 3) have no household of their size elsewhere.
    out, record = _swap(SMALL, 0.5, seed)
    assert out["village"].tolist() == ["v2", "v2", "v1", "v1", *["v1"] * 6]
    assert out["district"].tolist() == ["d2", "d2", "d1", "d1", *["d1"] * 6]
    assert out.drop(columns=["village", "district"]).equals(
        SMALL.drop(columns=["village", "district"])
    )
    assert record["changed"] == {"village": 4, "district": 4}
    assert record["details"] == {
        "units": 4,
        "swapped_units": 2,
        "risky_units": 1,
        "risky_swapped": 1,
        "risky_without_donor": 0,
        "unmatched": 0,
    }
    assert record["parameters"] == {
        "unit": "household",
        "rate": 0.5,
        "level": "village",
        "similar": ["size"],
        "carry": ["district"],
        "k": 2,
        "risk_columns": ["age"],
    }
    assert "private" not in record


def test_a_rate_too_small_for_one_swap_changes_nothing() -> None:
    out, record = _swap(SMALL, 0.49)  # floor(0.49 * 4 / 2) = 0 swaps
    assert out.equals(SMALL) and record["details"]["swapped_units"] == 0


def _per_household(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby("hh")[["village", "district", "hh_size"]].first()


@settings(max_examples=40, deadline=None)
@given(
    households=st.integers(2, 150),
    villages=st.integers(1, 6),
    rate=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**32),
)
def test_joint_distribution_and_margins_kept_and_pairs_are_similar(
    households: int, villages: int, rate: float, seed: int
) -> None:
    df = household_survey(households, villages, seed)
    out, record = record_swap(
        df,
        level="village",
        rate=rate,
        similar=["hh_size"],
        carry=["district"],
        household="hh",
        risk_columns=["sex", "age"],
        k=3,
        seed=seed,
    )
    before, after = _per_household(df), _per_household(out)
    # households stay whole: one village (and district) per household
    assert (out.groupby("hh")[["village", "district"]].nunique() == 1).all().all()
    # the joint distribution of (village, district, size) over households, hence the
    # village margin, is unchanged
    key = ["village", "district", "hh_size"]
    assert before.value_counts(key).sort_index().equals(after.value_counts(key).sort_index())
    # every swapped household met one of its size from another village: the moves
    # (old village, new village, size) pair up with their reverses
    moved = before["village"] != after["village"]
    moves = pd.DataFrame(
        {
            "old": before["village"][moved],
            "new": after["village"][moved],
            "size": before["hh_size"][moved],
        }
    )
    reverse = moves.rename(columns={"old": "new", "new": "old"})
    assert (
        moves.value_counts(["old", "new", "size"])
        .sort_index()
        .equals(reverse.value_counts(["old", "new", "size"]).sort_index())
    )
    details = record.details
    assert int(moved.sum()) == details["swapped_units"]
    assert details["swapped_units"] <= 2 * math.floor(rate * households / 2)
    assert details["swapped_units"] % 2 == 0
    assert (
        (out.drop(columns=["village", "district"]) == df.drop(columns=["village", "district"]))
        .all()
        .all()
    )


def test_risky_households_go_first() -> None:
    df = household_survey(400, 4, 3)
    rare = df["hh"].isin([100, 150, 200, 250, 300]) & ~df["hh"].duplicated()
    df.loc[rare, "age"] = "100+ " + df.loc[rare, "hh"].astype(str)  # five unique keys
    out, record = record_swap(
        df,
        level="village",
        rate=0.1,
        similar=["hh_size"],
        household="hh",
        risk_columns=["age"],
        k=2,
    )
    assert record.details["risky_units"] == 5
    assert record.details["risky_swapped"] == 5
    moved = _per_household(df)["village"] != _per_household(out)["village"]
    assert moved[[100, 150, 200, 250, 300]].all()


def test_individual_units_swap_single_records() -> None:
    df = household_survey(200, 5, 4).drop(columns="hh")
    out, record = record_swap(df, level="village", rate=0.2, similar=["sex"], seed=1)
    assert record.details["units"] == len(df)
    assert record.details["swapped_units"] == int((out["village"] != df["village"]).sum())
    key = ["village", "sex"]
    assert df.value_counts(key).sort_index().equals(out.value_counts(key).sort_index())


def test_a_household_split_over_two_villages_is_refused() -> None:
    df = SMALL.copy()
    df.loc[0, "village"] = "v2"
    with pytest.raises(DataError) as err:
        _swap(df, 0.5)
    assert str(err.value) == (
        "1 household(s) hold more than one value of 'village'; record swapping moves whole "
        "households, so the swap level, carry and similar columns must be the household's own"
    )


@pytest.mark.parametrize("rate", [0, 1.5, True])
def test_rate_out_of_range(rate: float) -> None:
    with pytest.raises(PolicyError) as err:
        _swap(SMALL, rate)
    assert str(err.value) == f"swap.rate must be in (0, 1] and swap.k at least 1, got {rate!r}, 2"


POLICY = """\
version: 1
name: census
data: {household: hh}
columns:
  village: {role: quasi}
  district: {role: quasi}
  hh_size: {role: other}
  sex: {role: quasi}
  age: {role: quasi}
thresholds: {k: 2, max_suppression: 0.5}
outputs:
  microdata:
    treatments: [recode, suppress]
    swap: {unit: household, rate: RATE, similar: [hh_size], level: village, carry: [district]}
"""


@pytest.mark.parametrize(
    ("swap", "message"),
    [
        (
            "{rate: 0.1, level: village}",
            "p.yaml line 12: swap unit household needs the household id column: add data: "
            "{household: COLUMN}, or swap single records with unit: individual",
        ),
        (
            "{unit: individual, rate: 0.1, level: town}",
            "p.yaml line 12: swap.level 'town' is not a released column of the policy; name "
            "columns kept in the release",
        ),
        (
            "{unit: individual, rate: 0.1, level: village, similar: [village]}",
            "p.yaml line 12: 'village' is named twice in swap (level, carry, similar)",
        ),
    ],
)
def test_policy_errors(tmp_path: Path, swap: str, message: str) -> None:
    text = POLICY.replace("data: {household: hh}\n", "").replace("  hh_size: {role: other}\n", "")
    text = text.replace(text[text.index("    swap:") :], f"    swap: {swap}\n")
    with pytest.raises(PolicyError) as err:
        parse_policy(text, source=tmp_path / "p.yaml")
    assert str(err.value) == message


def _released(tmp_path: Path, rate: str = "0.1") -> tuple[Path, object]:
    household_survey(300, 8, 1).to_csv(tmp_path / "survey.csv", index=False)
    text = POLICY.replace("RATE", rate)
    (tmp_path / "p.yaml").write_text(text)
    policy = parse_policy(text, source=tmp_path / "p.yaml")
    table = read_table(tmp_path / "survey.csv")
    result = release(table, policy, tmp_path / "out", ledger=Ledger(tmp_path / "l.jsonl"))
    record = next(t for t in result.microdata.treatments if t.name == "record_swap")
    assert record.details["swapped_units"] == 30 and "seed" in record.private
    return tmp_path / "out", table


def _failed(folder: Path, policy_text: str, table: object = None) -> dict[str, str]:
    policy = parse_policy(policy_text)
    return {i.name: i.detail for i in check_bundle(folder, policy, table).items if not i.passed}


def test_release_records_it_and_check_passes(tmp_path: Path) -> None:
    out, table = _released(tmp_path)
    manifest = json.loads((out / "manifest.json").read_text())
    assert "seed" not in json.dumps(manifest["microdata"]["treatments"])
    assert _failed(out, POLICY.replace("RATE", "0.1"), table) == {}


def test_check_refuses_a_forged_rate(tmp_path: Path) -> None:
    out, table = _released(tmp_path)
    path = out / "manifest.json"
    manifest = json.loads(path.read_text())
    record = next(t for t in manifest["microdata"]["treatments"] if t["name"] == "record_swap")
    record["details"]["swapped_units"] = 60  # 20%, twice what the policy allows
    path.write_text(json.dumps(manifest))
    assert _failed(out, POLICY.replace("RATE", "0.1"))["swap"] == (
        "the manifest says 60 of 300 units were swapped (20.0%); swap.rate 0.1 allows at most "
        "30 (swaps of two)"
    )


def test_check_refuses_a_bundle_swapped_above_the_officers_rate(tmp_path: Path) -> None:
    out, _ = _released(tmp_path, "0.1")
    assert _failed(out, POLICY.replace("RATE", "0.05"))["swap"] == (
        "the manifest's record_swap ran with rate 0.1 (policy: 0.05); the manifest says 30 of "
        "300 units were swapped (10.0%); swap.rate 0.05 allows at most 14 (swaps of two)"
    )


def test_check_refuses_swapping_the_policy_does_not_allow(tmp_path: Path) -> None:
    out, _ = _released(tmp_path)
    text = POLICY.replace("RATE", "0.1").replace("    swap: {unit", "    # swap: {unit")
    assert _failed(out, text)["swap"] == (
        "the manifest records record swapping but the policy has no outputs.microdata.swap "
        "(it allows no swapping)"
    )


def test_check_catches_a_split_household_and_moved_geography(tmp_path: Path) -> None:
    out, table = _released(tmp_path)
    released = pd.read_csv(out / "microdata.csv")
    sizes = released.groupby("hh")["hh"].transform("size")
    first = released.index[sizes >= 2][0]
    one = released["hh"] == released.loc[first, "hh"]
    other = sorted(set(released["village"]) - {released.loc[first, "village"]})[0]
    released.loc[first, "village"] = other  # one member moved alone
    released.to_csv(out / "microdata.csv", index=False)
    failed = _failed(out, POLICY.replace("RATE", "0.1"), table)
    assert failed["swap"] == (
        "1 released household(s) hold more than one value of village, district: record "
        "swapping moves whole households"
    )
    released.loc[one, "village"] = other  # now the whole household, to a village not swapped with
    released.to_csv(out / "microdata.csv", index=False)
    failed = _failed(out, POLICY.replace("RATE", "0.1"), table)
    assert failed["input swap"] == (
        "1 released households' values of village, district, hh_size are not those of a "
        "household of survey.csv: swapping must keep their joint distribution"
    )


def test_cli_refuses_a_split_household_with_exit_2(tmp_path: Path) -> None:
    from tests.cli._runner import run

    df = household_survey(50, 4, 2)
    df.loc[df["hh"].duplicated(keep=False).idxmax(), "village"] = "elsewhere"
    df.to_csv(tmp_path / "survey.csv", index=False)
    (tmp_path / "p.yaml").write_text(POLICY.replace("RATE", "0.1"))
    code, out, err = run(
        "release",
        str(tmp_path / "survey.csv"),
        "--policy",
        str(tmp_path / "p.yaml"),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2 and not (tmp_path / "out").exists()
    assert err == (
        "Error: 1 household(s) hold more than one value of 'village'; record swapping moves "
        "whole households, so the swap level, carry and similar columns must be the "
        "household's own\n"
    )
