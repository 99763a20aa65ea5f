"""Suppression to k on the joined view of a main table and its related tables.

The joined view (:mod:`sdc.risk.joined`) is what an intruder sees by joining a repeat
group's records (household members, incidents) to their parent record. Here the values an
intruder would use are blanked until every parent that is not suppressed shares its joined
key with at least ``k`` parents, its household risk is at most ``max_risk`` and the main
records alone still meet ``k`` under the policy's missing-value rule:

1. the related tables' quasi-identifiers, least important first (the last named first):
   each is blanked in the related records of the parents still below the limits;
2. then every parent still below the limits is suppressed whole: its own quasi-identifiers
   and those of all its related records are blanked (it then reveals no key). This repeats
   until nothing fails, since blanking a record can leave its former neighbours below k,
   or until nothing is left to blank (the caller then refuses the release).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from sdc.risk.frequencies import MissingRule, all_blank, encode_keys, key_frequencies
from sdc.risk.joined import JoinedView, RelatedRecords, joined_view


@dataclass(frozen=True)
class JoinedSuppression:
    """The main and related records after suppression on the joined view.

    Attributes:
        parent: the main records (input order).
        related: the related tables' records (input order each).
        view: the joined view of the result.
        households: parents that lost a value here (theirs or a related record's).
        values: values blanked here, per ``TABLE.COLUMN`` (the main table is ``microdata``).
    """

    parent: pd.DataFrame
    related: tuple[RelatedRecords, ...]
    view: JoinedView
    households: np.ndarray
    values: dict[str, int]


def suppress_joined(
    parent: pd.DataFrame,
    quasi: Sequence[str],
    related: Sequence[RelatedRecords],
    names: Sequence[str],
    k: int,
    *,
    missing: MissingRule = "category",
    max_risk: float | None = None,
) -> JoinedSuppression:
    """Blank values until the joined view meets ``k`` (and ``max_risk``).

    Args:
        parent: the main records, treated already (they meet k on their own).
        quasi: the main records' quasi-identifiers.
        related: the related tables, treated already (recoded).
        names: each related table's name (for ``values``).
        k: the smallest joined-key count allowed.
        missing: the policy's rule for the main records' own k.
        max_risk: the largest household risk allowed (None: not limited).
    """
    parent = parent.copy()
    tables = [replace(t, frame=t.frame.copy()) for t in related]
    touched = np.zeros(len(parent), dtype=bool)
    values: dict[str, int] = {}

    def failing() -> tuple[JoinedView, np.ndarray]:
        view = joined_view(parent, quasi, tables)
        over = view.below(k)
        if max_risk is not None:
            over |= view.household_risk > max_risk + 1e-12
        return view, over | _below_own_k(parent, quasi, k, missing)

    view, over = failing()
    order = [(i, c) for i, t in enumerate(tables) for c in t.quasi][::-1]
    for i, column in order:
        if not over.any():
            break
        table = tables[i]
        rows = over[table.parent] & table.frame[column].notna().to_numpy()
        if rows.any():
            table.frame.loc[rows, column] = None
            touched[np.unique(table.parent[rows])] = True
            key = f"{names[i]}.{column}"
            values[key] = values.get(key, 0) + int(rows.sum())
            view, over = failing()
    while over.any():
        before = sum(values.values())
        for column in quasi:
            rows = over & parent[column].notna().to_numpy()
            parent.loc[rows, column] = None
            values[f"microdata.{column}"] = values.get(f"microdata.{column}", 0) + int(rows.sum())
        for i, table in enumerate(tables):
            for column in table.quasi:
                rows = over[table.parent] & table.frame[column].notna().to_numpy()
                table.frame.loc[rows, column] = None
                key = f"{names[i]}.{column}"
                values[key] = values.get(key, 0) + int(rows.sum())
        touched |= over
        if sum(values.values()) == before:
            break  # nothing left to blank: the caller refuses what still fails
        view, over = failing()
    return JoinedSuppression(parent, tuple(tables), view, touched, values)


def _below_own_k(
    frame: pd.DataFrame, quasi: Sequence[str], k: int, missing: MissingRule
) -> np.ndarray:
    """Main records below k on their own keys (under the policy's rule), not all blank."""
    codes = encode_keys(frame, list(quasi), "wildcard")
    if codes.shape[0] == 0 or codes.shape[1] == 0:
        return np.zeros(len(frame), dtype=bool)
    fk = key_frequencies(codes, missing=missing).fk
    return np.asarray((fk < k) & ~all_blank(codes))
