"""Targeted record swapping: risky households exchange their geography with similar ones.

The method European statistical offices use for census data (the ONS's targeted record
swapping, sdcMicro's ``recordSwap``): a household whose key is rare in its area is easy to
find, so its geography is exchanged with that of a household in *another* area that looks
the same on a few similarity variables (household size, say). Published counts per area
and the joint distribution of the similarity variables with the geography stay exactly as
they were; an intruder who finds a unique household in a village cannot know whether it
really lives there.

How ours works (sdcMicro's steps, drawn at once, with no Python loop over records):

1. **Units.** A unit is a household (``unit: household``, all its members move together)
   or a record (``unit: individual``). The geography ``level``, the ``carry`` columns
   (coarser geography that must move along, e.g. the district of a village) and the
   ``similar`` columns must be the same for every member of a household.
2. **Risk.** Each record's key is its ``level`` value with the risk columns (the other
   quasi-identifiers); ``f`` is how many records share it. A unit's risk is ``1 / f`` of its
   rarest member; a unit is *risky* when that ``f`` is below ``k`` (sdcMicro's
   ``k_anonymity``, default 3 there, the policy's k here).
3. **How many.** ``rate`` is the share of units swapped; a swap moves two units, so
   ``floor(rate * units / 2)`` swaps are made (never more than the rate allows).
4. **Which.** The units to swap are drawn without replacement with probability
   proportional to their risk, risky units first; a unit is drawn only if some unit of
   another area has its similarity profile. Units with a blank ``level`` are never swapped.
5. **With whom.** Each drawn unit is paired with a donor of the same similarity profile in
   a different area, drawn with probability proportional to the donor's risk (so risky
   units are likely donors too, as in sdcMicro); a unit takes part in one swap at most.
   Pairs are proposed in rounds; a unit left without a donor is counted as unmatched.
6. **Swap.** The two units exchange their ``level`` and ``carry`` values.

The seed stays in the record's private part: with it the swaps could be undone.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError, PolicyError
from sdc.risk.frequencies import combine_codes, encode_keys, exact_counts

__all__ = ["record_swap"]

#: Rounds of pair proposals; each re-draws the donors' order (risk-weighted).
_ROUNDS = 12


@dataclass(frozen=True)
class _Units:
    """Per-unit (household) facts, indexed by unit code 0..n-1."""

    of_record: np.ndarray  # unit code of each record
    first: np.ndarray  # a record of each unit (its geography is the unit's)
    area: np.ndarray  # code of the level value; -1 blank
    profile: np.ndarray  # code of the similarity values
    min_count: np.ndarray  # f of the unit's rarest member


def record_swap(
    df: pd.DataFrame,
    *,
    level: str,
    rate: float,
    similar: Sequence[str] = (),
    carry: Sequence[str] = (),
    household: str | None = None,
    risk_columns: Sequence[str] = (),
    k: int = 3,
    seed: int | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Swap the geography of a share ``rate`` of the households, risky ones first.

    Args:
        df: the microdata; not modified.
        level: the geography column whose value is swapped (the areas).
        rate: share of the units swapped, in (0, 1].
        similar: columns a donor must share with the unit it swaps with.
        carry: further columns swapped along with ``level`` (coarser geography).
        household: the household id column; None swaps single records.
        risk_columns: the other quasi-identifiers, counted with ``level`` for the risk.
        k: a unit whose rarest member's key is shared by fewer than k records is risky.
        seed: seed of the draws; None draws a fresh one (recorded privately).

    Returns:
        The swapped copy and the record: parameters, changed values per column, and in
        ``details`` the units, swapped units, risky units, risky units swapped, risky units
        no unit elsewhere resembles, and drawn units left without a donor.

    Raises:
        PolicyError: ``rate`` out of (0, 1] or ``k`` below 1.
        DataError: a column is missing, or a household holds two values of a column that
            must be the household's (level, carry, similar).
    """
    if isinstance(rate, bool) or not 0 < rate <= 1 or k < 1:
        raise PolicyError(f"swap.rate must be in (0, 1] and swap.k at least 1, got {rate!r}, {k!r}")
    geography = [level, *carry]
    _need(df, [*geography, *similar, *risk_columns, *([household] if household else [])])
    seed = secrets.randbits(63) if seed is None else int(seed)
    rng = np.random.default_rng(seed)
    units = _units(df, household, [level, *carry], similar, risk_columns)
    n_units = len(units.first)
    chosen = _choose(units, math.floor(rate * n_units / 2), k, rng)
    receivers, donors = _pair(units, chosen, rng)
    partner = np.arange(n_units)
    partner[receivers], partner[donors] = donors, receivers
    source = units.first[partner[units.of_record]]
    out = df.copy()
    changed: dict[str, int] = {}
    for column in geography:
        before = df[column]
        after = pd.Series(before.to_numpy()[source], index=df.index, dtype=before.dtype)
        changed[column] = int((~_same(before, after)).sum())
        out[column] = after
    risky = units.min_count < k
    details = {
        "units": n_units,
        "swapped_units": 2 * len(receivers),
        "risky_units": int(risky.sum()),
        "risky_swapped": int(risky[np.concatenate([receivers, donors])].sum()),
        "risky_without_donor": int((risky & ~_has_donor(units)).sum()),
        "unmatched": int(len(chosen) - len(receivers)),
    }
    parameters = {
        "unit": "household" if household else "individual",
        "rate": rate,
        "level": level,
        "similar": list(similar),
        "carry": list(carry),
        "k": k,
        "risk_columns": list(risk_columns),
    }
    record = Treatment(
        name="record_swap",
        columns=tuple(geography),
        parameters=parameters,
        changed=changed,
        details=details,
        private={"seed": seed},
    )
    return out, record


def _need(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"column {missing[0]!r} is not in the data (record swapping needs it)")


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    return np.asarray((a == b) | (a.isna() & b.isna()))


def _units(
    df: pd.DataFrame,
    household: str | None,
    geography: Sequence[str],
    similar: Sequence[str],
    risk_columns: Sequence[str],
) -> _Units:
    """Unit codes; each unit's area (first geography column), profile and rarest count."""
    n = len(df)
    if household is None:
        of_record = np.arange(n, dtype=np.int64)
    else:
        of_record = pd.factorize(df[household], use_na_sentinel=False)[0].astype(np.int64)
    n_units = int(of_record.max()) + 1 if n else 0
    first = np.full(n_units, n, dtype=np.int64)
    np.minimum.at(first, of_record, np.arange(n, dtype=np.int64))
    level = geography[0]
    area = encode_keys(df, [level], "wildcard")[:, 0]
    codes = encode_keys(df, [*geography, *similar], "category")
    for j, column in enumerate([*geography, *similar]):
        split = codes[:, j] != codes[first[of_record], j]
        if household is not None and split.any():
            raise DataError(
                f"{int(np.unique(of_record[split]).size)} household(s) hold more than one value "
                f"of {column!r}; record swapping moves whole households, so the swap level, "
                "carry and similar columns must be the household's own"
            )
    profile = combine_codes(codes[first][:, len(geography) :])
    counts = exact_counts(encode_keys(df, [level, *risk_columns], "category"))
    min_count = np.full(n_units, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(min_count, of_record, counts)
    return _Units(of_record, first, area[first], np.asarray(profile), min_count)


def _has_donor(units: _Units) -> np.ndarray:
    """Whether some unit of another (non-blank) area has the unit's similarity profile."""
    usable = units.area >= 0
    per_profile = np.bincount(units.profile, weights=usable, minlength=1)
    pair = combine_codes(np.column_stack([units.profile, np.maximum(units.area, 0)]))
    per_pair = np.bincount(pair, weights=usable)
    return usable & (per_profile[units.profile] - per_pair[pair] > 0)


def _risk_order(risk: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Keys for a draw without replacement with probability proportional to ``risk``.

    Efraimidis and Spirakis: the largest ``log(u) / risk`` are such a draw.
    """
    return np.log(rng.random(len(risk))) / risk


def _choose(units: _Units, swaps: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """The units to swap: risky first, then by risk; only units that have a donor."""
    eligible = np.flatnonzero(_has_donor(units))
    if swaps <= 0 or not len(eligible):
        return np.zeros(0, dtype=np.int64)
    risk = 1.0 / units.min_count[eligible]
    risky = units.min_count[eligible] < k
    order = np.lexsort((-_risk_order(risk, rng), ~risky))
    return eligible[order[:swaps]]


def _pair(
    units: _Units, chosen: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Donors for the chosen units: same profile, another area, drawn by risk, in rounds."""
    free = np.ones(len(units.first), dtype=bool)
    free[chosen] = False
    free &= units.area >= 0
    waiting = chosen
    receivers: list[np.ndarray] = []
    donors: list[np.ndarray] = []
    for _ in range(_ROUNDS):
        pool = np.flatnonzero(free)
        if not len(waiting) or not len(pool):
            break
        got, gave = _propose(units, waiting, pool, rng)
        receivers.append(got)
        donors.append(gave)
        free[gave] = False
        waiting = np.setdiff1d(waiting, got)
    if not receivers:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(receivers), np.concatenate(donors)


def _ranked(profile: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Each item's rank within its profile when sorted by ``key`` (descending)."""
    order = np.lexsort((-key, profile))
    sorted_profile = profile[order]
    starts = np.flatnonzero(np.r_[True, sorted_profile[1:] != sorted_profile[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(starts, sizes)
    return rank


def _propose(
    units: _Units, waiting: np.ndarray, pool: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """One round: the i-th waiting unit of a profile meets its i-th donor by risk."""
    wait_rank = _ranked(units.profile[waiting], rng.random(len(waiting)))
    pool_rank = _ranked(units.profile[pool], _risk_order(1.0 / units.min_count[pool], rng))
    wanted = pd.DataFrame({"p": units.profile[waiting], "r": wait_rank, "unit": waiting})
    offered = pd.DataFrame({"p": units.profile[pool], "r": pool_rank, "donor": pool})
    met = wanted.merge(offered, on=["p", "r"], how="inner")
    got = met["unit"].to_numpy(dtype=np.int64)
    gave = met["donor"].to_numpy(dtype=np.int64)
    apart = units.area[got] != units.area[gave]
    return got[apart], gave[apart]
