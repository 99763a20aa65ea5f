"""The policy's deterministic recodes, in one place for ``sdc release`` and ``sdc risk``.

A recode is deterministic when the policy alone fixes its outcome: bands, a hierarchy map
with a ``level``, a prefix, a date unit, a grid, top and bottom coding. A map without a
level is not: ``outputs.microdata.generalize: auto`` chooses its level from the data, so
it is left to the optimal search. ``sdc release`` applies these recodes as its ``recode``
step; ``sdc risk`` applies the same ones to show the risk the policy's recodes leave, so
that its advice never asks for a recode the policy already makes.
"""

from __future__ import annotations

import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.anonymize.multiple import recode_sets
from sdc.anonymize.recode import recode_column
from sdc.policy import Policy


def recoded_columns(policy: Policy) -> list[str]:
    """The columns a deterministic recode changes, in policy order.

    Direct identifiers and ``drop`` columns are removed rather than recoded, and a map
    without a level only serves the optimal search, so none of them is listed.
    """
    out = []
    for name, col in policy.columns.items():
        if col.role in ("direct", "drop") or col.multiple is not None:
            continue  # a multiple-choice question is recoded as a set (recode_sets)
        recode = col.recode
        if recode is None and col.top_code is None and col.bottom_code is None:
            continue
        if recode is not None and recode.map is not None and recode.level is None:
            continue  # the optimal search chooses this column's level (and coding)
        out.append(name)
    return out


def deterministic_recodes(
    frame: pd.DataFrame, policy: Policy
) -> tuple[pd.DataFrame, list[Treatment]]:
    """Apply every deterministic recode of the policy, column by column in policy order.

    The recodes of multiple-choice questions (count, any_of, rare_to_other) come last.

    A column with a map and no level is left as it is, top and bottom coding included:
    the optimal search of ``generalize: auto`` chooses its level.

    Args:
        frame: the records, with every column the policy recodes; not modified.
        policy: the policy whose ``recode``, ``top_code`` and ``bottom_code`` keys apply.

    Returns:
        The recoded copy (the input itself when nothing applies) and one treatment record
        per recode, in the order applied.

    Raises:
        PolicyError: a recode does not fit its column (e.g. bands on text).
        DataError: a column's values cannot be recoded as asked (e.g. dates that are not).
    """
    done: list[Treatment] = []
    for name in recoded_columns(policy):
        col = policy.columns[name]
        recode = col.recode
        frame, records = recode_column(
            frame,
            name,
            bands=recode.bands if recode else None,
            hierarchy=policy.hierarchy(name),
            level=recode.level if recode else None,
            prefix=recode.prefix if recode else None,
            date=recode.date if recode else None,
            grid=recode.grid if recode else None,
            top_code=col.top_code,
            bottom_code=col.bottom_code,
        )
        done.extend(records)
    frame, records = recode_sets(frame, policy)
    done.extend(records)
    return frame, done
