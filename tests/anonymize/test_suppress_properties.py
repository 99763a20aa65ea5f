"""Local suppression as an attacker probes it: random small frames with random blanks.

Every property is checked by counting afresh, in plain pandas or by brute force over pairs
of records, never with the helpers :func:`local_suppression` itself calls, so a bug shared
by the treatment and its own counting cannot hide here.

The guarantees (DESIGN.md, "Semantics that must be exact"):

* ``missing="category"``: every key that is not all blank is shared by at least k records,
  a blank being one more value.
* ``missing="wildcard"``: a record is covered by the records that show every value it shows
  (its own blank matches anything, another record's blank nothing), and at least k records
  cover it; every record below k (sdcMicro's count) when suppression starts has a blank of
  its own afterwards.
* l (distinct) and the group share hold in every key group that reveals a key.
* Suppression only blanks quasi-identifier values: nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.anonymize.suppress import DiversityLimits, local_suppression
from sdc.risk.frequencies import MissingRule, encode_keys, key_frequencies, protection_counts

SENSITIVE = "s"


@dataclass(frozen=True)
class Case:
    """One random frame and the limits asked of it."""

    frame: pd.DataFrame
    quasi: list[str]
    k: int
    rule: MissingRule
    l: int | None  # noqa: E741 - the measure is called l
    group_share: float | None


@st.composite
def cases(draw: st.DrawFn) -> Case:
    m = draw(st.integers(2, 4))
    n = draw(st.integers(5, 30))
    quasi = [f"q{j}" for j in range(m)]
    data: dict[str, list[object]] = {}
    for j, col in enumerate(quasi):
        card = draw(st.integers(2, 3))
        codes = draw(st.lists(st.integers(0, card - 1), min_size=n, max_size=n))
        data[col] = [f"{'abcd'[j]}{c}" for c in codes]
    # 0-30 % of the quasi-identifier cells blank
    blanks = draw(st.sets(st.integers(0, n * m - 1), max_size=(3 * n * m) // 10))
    for cell in blanks:
        data[quasi[cell % m]][cell // m] = None
    # at least two sensitive values in the file, so that l = 2 can be met (by blanking
    # every key if need be; see test_a_file_that_reveals_no_key_is_not_refused_for_l)
    rest = draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=n - 2, max_size=n - 2))
    data[SENSITIVE] = ["x", "y", *rest]
    k = draw(st.integers(2, min(5, n)))
    rule: MissingRule = draw(st.sampled_from(["category", "wildcard"]))
    l_value = draw(st.sampled_from([None, 2]))
    share = draw(st.sampled_from([None, None, 0.8]))
    return Case(pd.DataFrame(data), quasi, k, rule, l_value, share)


# --------------------------------------------------------------------------- independent counts


def key_tuples(frame: pd.DataFrame, quasi: list[str]) -> list[tuple[object, ...]]:
    """Each record's key as a tuple, a blank as None."""
    return [
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame[quasi].itertuples(index=False)
    ]


def all_blank(key: tuple[object, ...]) -> bool:
    return all(v is None for v in key)


def exact_count(keys: list[tuple[object, ...]], i: int) -> int:
    return sum(1 for other in keys if other == keys[i])


def cover_count(keys: list[tuple[object, ...]], i: int) -> int:
    """Records that show every value record i shows (brute force over pairs)."""
    return sum(
        1 for other in keys if all(x is None or x == y for x, y in zip(keys[i], other, strict=True))
    )


def groups_of(frame: pd.DataFrame, quasi: list[str]) -> dict[tuple[object, ...], list[int]]:
    """Exact key groups (blank = one more value), all-blank records left out."""
    found: dict[tuple[object, ...], list[int]] = {}
    for i, key in enumerate(key_tuples(frame, quasi)):
        if not all_blank(key):
            found.setdefault(key, []).append(i)
    return found


def worst_l(frame: pd.DataFrame, quasi: list[str]) -> int:
    """Smallest number of distinct sensitive values in a group that reveals a key."""
    values = frame[SENSITIVE].tolist()
    groups = groups_of(frame, quasi)
    return min((len({values[i] for i in rows}) for rows in groups.values()), default=99)


def entropy_l(values: list[object]) -> float:
    """exp of the entropy of the values' distribution."""
    n = len(values)
    shares = [values.count(v) / n for v in set(values)]
    return float(np.exp(-sum(p * np.log(p) for p in shares)))


def recursive_l(values: list[object], c: float = 2.0) -> int:
    """Largest l with r_1 < c * (r_l + ... + r_m), counts sorted descending; 1 if none."""
    counts = sorted((values.count(v) for v in set(values)), reverse=True)
    found = [ell for ell in range(2, len(counts) + 1) if counts[0] < c * sum(counts[ell - 1 :])]
    return max(found, default=1)


def worst_l_of(frame: pd.DataFrame, quasi: list[str], kind: str) -> float:
    """Smallest l of the given kind over the groups that reveal a key."""
    values = frame[SENSITIVE].tolist()
    measure = {"distinct": lambda v: len(set(v)), "entropy": entropy_l, "recursive": recursive_l}
    return min(
        (measure[kind]([values[i] for i in rows]) for rows in groups_of(frame, quasi).values()),
        default=99,
    )


def worst_share(frame: pd.DataFrame, quasi: list[str]) -> float:
    """Largest share of one sensitive value in a group of 2 or more that reveals a key."""
    values = frame[SENSITIVE].tolist()
    worst = 0.0
    for rows in groups_of(frame, quasi).values():
        if len(rows) >= 2:
            top = max(sum(1 for i in rows if values[i] == v) for v in {values[i] for i in rows})
            worst = max(worst, top / len(rows))
    return worst


def sdcmicro_below_k(frame: pd.DataFrame, quasi: list[str], k: int) -> np.ndarray:
    """Records below k by sdcMicro's freqCalc (the figures the wildcard rule reports)."""
    return np.asarray(key_frequencies(encode_keys(frame, quasi, "wildcard")).fk < k)


# --------------------------------------------------------------------------- properties


def treat(case: Case) -> tuple[pd.DataFrame, dict[str, int]]:
    limits = (
        DiversityLimits((SENSITIVE,), l=case.l, group_share=case.group_share)
        if case.l is not None or case.group_share is not None
        else None
    )
    out, record = local_suppression(
        case.frame, case.quasi, case.k, missing=case.rule, diversity=limits
    )
    return out, dict(record.changed)


@settings(max_examples=150, deadline=None)
@given(cases())
def test_every_record_that_reveals_a_key_meets_k_under_the_rule(case: Case) -> None:
    out, _ = treat(case)
    keys = key_tuples(out, case.quasi)
    for i, key in enumerate(keys):
        if all_blank(key):
            continue  # reveals no key: suppressed, nobody's neighbour
        if case.rule == "category":
            assert exact_count(keys, i) >= case.k, (i, key)  # blank as a value
        else:
            assert cover_count(keys, i) >= case.k, (i, key)  # others' blanks never count


@settings(max_examples=150, deadline=None)
@given(cases())
def test_the_library_count_agrees_with_brute_force(case: Case) -> None:
    """protection_counts (what release and check accept) is the brute-force count."""
    keys = key_tuples(case.frame, case.quasi)
    got = protection_counts(encode_keys(case.frame, case.quasi, "wildcard"), case.rule)
    n = len(keys)
    for i, key in enumerate(keys):
        if all_blank(key):
            want = n
        elif case.rule == "category":
            want = exact_count(keys, i)
        else:
            want = cover_count(keys, i)
        assert got[i] == want, (i, key)


@settings(max_examples=150, deadline=None)
@given(cases().filter(lambda c: c.rule == "wildcard"))
def test_wildcard_every_record_below_k_at_the_start_has_a_blank_of_its_own(case: Case) -> None:
    below = sdcmicro_below_k(case.frame, case.quasi, case.k)
    out, _ = treat(case)
    own_blank = out[case.quasi].isna().any(axis=1).to_numpy()
    assert not (below & ~own_blank).any(), np.flatnonzero(below & ~own_blank)


@settings(max_examples=150, deadline=None)
@given(cases().filter(lambda c: c.l is not None or c.group_share is not None))
def test_l_and_group_share_hold_in_every_group_that_reveals_a_key(case: Case) -> None:
    out, _ = treat(case)
    if case.l is not None:
        assert worst_l(out, case.quasi) >= case.l
    if case.group_share is not None:
        assert worst_share(out, case.quasi) < case.group_share


@settings(max_examples=80, deadline=None)
@given(cases(), st.sampled_from(["entropy", "recursive"]))
def test_entropy_and_recursive_l_hold_in_every_group_that_reveals_a_key(
    case: Case, kind: Literal["entropy", "recursive"]
) -> None:
    limits = DiversityLimits((SENSITIVE,), l=2, kind=kind)
    out, _ = local_suppression(case.frame, case.quasi, case.k, missing=case.rule, diversity=limits)
    assert worst_l_of(out, case.quasi, kind) >= 2 - 1e-9


@settings(max_examples=150, deadline=None)
@given(cases())
def test_suppression_only_blanks_quasi_identifier_values(case: Case) -> None:
    out, changed = treat(case)
    before = case.frame
    pd.testing.assert_series_equal(out[SENSITIVE], before[SENSITIVE])
    for col in case.quasi:
        kept = out[col].notna()
        assert (out.loc[kept, col] == before.loc[kept, col]).all(), col
        newly = int((out[col].isna() & before[col].notna()).sum())
        assert changed[col] == newly, col
    # a blank of the input stays blank
    assert not (before[case.quasi].isna() & out[case.quasi].notna()).any(axis=None)


@settings(max_examples=60, deadline=None)
@given(cases())
def test_a_frame_that_already_meets_every_limit_is_left_alone(case: Case) -> None:
    """Idempotence: treating a treated frame suppresses nothing more."""
    once, _ = treat(case)
    again, changed = treat(Case(once, case.quasi, case.k, case.rule, case.l, case.group_share))
    assert sum(changed.values()) == 0
    pd.testing.assert_frame_equal(again, once)


# --------------------------------------------------------------------------- named attacks


def test_ca_alaska_the_only_ca_record_loses_a_value_of_its_own() -> None:
    """sdcMicro counts (CA, 1, 4, 1) three times: twice through Alaska records whose state
    was blanked. Whoever knows the target lives in CA picks the one record that says CA."""
    frame = pd.DataFrame(
        [("CA", 1, 4, 1), (None, 1, 4, 1), (None, 1, 4, 1)]
        + [(("AK", "WA", "OR")[i % 3], 2, 3, 1) for i in range(12)],
        columns=["state", "a", "b", "c"],
    )
    quasi = ["state", "a", "b", "c"]
    assert key_frequencies(encode_keys(frame, quasi, "wildcard")).fk[0] == 3
    out, record = local_suppression(frame, quasi, 3, missing="wildcard")
    assert record.changed == {"state": 1, "a": 0, "b": 0, "c": 0}
    assert out["state"].isna().tolist()[:3] == [True, True, True]
    pd.testing.assert_frame_equal(out.iloc[3:], frame.iloc[3:])


def test_an_identifier_given_as_quasi_is_blanked_for_everyone_under_category() -> None:
    """A unique ID column passes k=3 under the wildcard loophole when 118 IDs are blanked;
    under the category rule every ID is unique, so every one must go."""
    frame = pd.DataFrame(
        {"rid": [f"R{i:04d}" for i in range(40)], "sex": ["f", "m"] * 20, "s": ["x"] * 40}
    )
    out, record = local_suppression(frame, ["rid", "sex"], 3, missing="category")
    assert out["rid"].isna().all()
    assert record.changed == {"rid": 40, "sex": 0}


def test_wildcard_a_partial_record_below_k_is_not_protected_by_others_blanks() -> None:
    """Minimal case: (NaN, y) is the only record that says y; sdcMicro's count is 1.

    Local suppression blanks q1 of the two (a, x) records; (NaN, y) then 'matches' both and
    counts 3, while it still is the one record an attacker who knows q1 = y picks.
    """
    frame = pd.DataFrame({"q0": ["a", "a", None], "q1": ["x", "x", "y"]})
    assert key_frequencies(encode_keys(frame, ["q0", "q1"], "wildcard")).fk.tolist() == [2, 2, 1]
    out, _ = local_suppression(frame, ["q0", "q1"], 3, missing="wildcard")
    # every record below k at the start loses one of its own observed values
    assert out["q1"].isna().all(), out.to_dict("list")
