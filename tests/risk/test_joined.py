"""The joined view of a main table and its related records, against brute force."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest

from sdc.anonymize.joined import suppress_joined
from sdc.risk.joined import RelatedRecords, joined_view, parent_positions


def _random(seed: int, n: int = 40) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    main = pd.DataFrame(
        {
            "sex": rng.choice(["f", "m", None], n, p=[0.45, 0.45, 0.1]),
            "r": rng.choice(["a", "b"], n),
        }
    )
    sizes = rng.integers(0, 4, n)
    parent = np.repeat(np.arange(n), sizes)
    kids = pd.DataFrame(
        {
            "age": rng.choice(["child", "adult", None], len(parent), p=[0.4, 0.5, 0.1]),
            "msex": rng.choice(["f", "m"], len(parent)),
        }
    )
    return main, kids, parent


def _brute(
    main: pd.DataFrame, kids: pd.DataFrame, parent: np.ndarray
) -> tuple[list[int], list[bool]]:
    """Joined key = own tuple + sorted tuple of members' tuples; counted by a dictionary."""

    def cell(v: object) -> object:
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else v

    members: dict[int, list[tuple[object, ...]]] = {i: [] for i in range(len(main))}
    for row, p in zip(kids.itertuples(index=False), parent, strict=True):
        members[int(p)].append(tuple(cell(v) for v in row))
    keys = []
    blank = []
    for i, row in enumerate(main.itertuples(index=False)):
        own = tuple(cell(v) for v in row)
        group = tuple(sorted(members[i], key=repr))
        keys.append((own, group))
        blank.append(all(v is None for v in own) and all(all(v is None for v in m) for m in group))
    counts = Counter(keys)
    return [counts[k] for k in keys], blank


@pytest.mark.parametrize("seed", range(12))
def test_joined_counts_equal_brute_force(seed: int) -> None:
    main, kids, parent = _random(seed)
    view = joined_view(main, ["sex", "r"], [RelatedRecords(kids, ("age", "msex"), parent)])
    counts, blank = _brute(main, kids, parent)
    assert view.counts.tolist() == counts
    assert view.suppressed.tolist() == blank


def test_household_risk_is_sdcmicros_product_over_the_members() -> None:
    main = pd.DataFrame({"sex": ["f", "f", "m"]})
    kids = pd.DataFrame({"age": ["a", "b", "a", "a"]})
    view = joined_view(main, ["sex"], [RelatedRecords(kids, ("age",), np.array([0, 0, 1, 2]))])
    # member risks 1/f in their own file: parents f 1/2, 1/2, 1; children a 1/3, b 1
    expected = [1 - (1 - 1 / 2) * (1 - 1 / 3) * (1 - 1), 1 - (1 - 1 / 2) * (1 - 1 / 3), 1.0]
    assert view.household_risk.tolist() == pytest.approx(expected)


def test_parent_positions_match_integer_and_float_keys() -> None:
    keys = pd.Series([1, 2, 3])
    links = pd.Series([3.0, 1.0, None, 7.0])
    assert parent_positions(keys, links).tolist() == [2, 0, -1, -1]


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k", [2, 3])
def test_suppression_reaches_k_on_the_joined_view(seed: int, k: int) -> None:
    main, kids, parent = _random(seed, n=60)
    table = RelatedRecords(kids, ("age", "msex"), parent)
    done = suppress_joined(main, ["sex", "r"], [table], ["kids"], k)
    counts, blank = _brute(done.parent, done.related[0].frame, parent)
    assert all(c >= k or b for c, b in zip(counts, blank, strict=True))
    # only blanks were added
    for before, after in ((main, done.parent), (kids, done.related[0].frame)):
        changed = before.notna() & (before.astype(object) != after.astype(object))
        assert (after[changed].isna()).all().all()


def test_a_related_table_without_quasi_identifiers_shows_only_its_count() -> None:
    main = pd.DataFrame({"sex": ["f", None, None, "m"]})
    kids = pd.DataFrame({"note": ["a", "b", "c", "d"]})
    view = joined_view(main, ["sex"], [RelatedRecords(kids, (), np.array([0, 1, 1, 2]))])
    # the count of related records is part of the key; records with no value reveal nothing
    assert view.suppressed.tolist() == [False, True, True, False]
    done = suppress_joined(
        main, ["sex"], [RelatedRecords(kids, (), np.array([0, 1, 1, 2]))], ["n"], 2
    )
    assert done.view.below(2).sum() == 0
    assert done.parent["sex"].isna().all()
