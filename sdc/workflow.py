"""One library function per command: read, validate, run, return a value to render.

The CLI calls exactly one function of this module per command; everything a command does
beyond parsing and printing lives here or below, so the same work is available from
Python (``import sdc``) and from CI jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sdc.anonymize.hierarchy import Hierarchy
from sdc.errors import DataError, PolicyError
from sdc.io import Table, read_table
from sdc.policy import Policy, load_policy


def load_inputs(data: Path, policy_path: Path, *, sheet: str | None = None) -> tuple[Table, Policy]:
    """Read the policy and the data, and check one against the other before any work.

    The policy is read first: a malformed policy is reported without touching the data.
    """
    policy = load_policy(policy_path)
    table = read_table(data, sheet=sheet)
    policy.check_against(table.frame.columns, data_name=table.path.name)
    check_hierarchies(policy, table.frame)
    check_weights(policy, table.frame)
    return table, policy


def validate_policy(policy_path: Path, data: Path | None = None) -> Policy:
    """Validate a policy file, and against a data file when one is given."""
    if data is None:
        policy = load_policy(policy_path)
        for name, column in policy.columns.items():
            if column.recode and column.recode.map:
                _load_hierarchy(policy, name)
        return policy
    return load_inputs(data, policy_path)[1]


def check_weights(policy: Policy, frame: pd.DataFrame) -> None:
    """Sampling weights must be numbers, present and positive."""
    weight = policy.data.weight
    if weight is None:
        return
    values = pd.to_numeric(frame[weight], errors="coerce")
    bad = int(values.isna().sum() + (values <= 0).sum())
    if bad:
        raise DataError(
            f"{policy.where('data', 'weight')}: weight column {weight!r} has {bad} missing, "
            "non-numeric or non-positive values; every record needs a positive weight"
        )


def _load_hierarchy(policy: Policy, column: str) -> Hierarchy:
    recode = policy.columns[column].recode
    assert recode is not None and recode.map is not None
    path = policy.resolve(recode.map)
    if not path.exists():
        raise PolicyError(
            f"{policy.where('columns', column, 'recode', 'map')}: hierarchy file {path} "
            "does not exist (paths are relative to the policy file)"
        )
    hierarchy = Hierarchy.from_csv(path)
    if recode.level is not None and recode.level >= hierarchy.levels:
        raise PolicyError(
            f"{policy.where('columns', column, 'recode', 'level')}: level {recode.level} "
            f"but {path.name} has levels 0..{hierarchy.levels - 1}"
        )
    return hierarchy


def check_hierarchies(policy: Policy, frame: pd.DataFrame) -> None:
    """Every hierarchy file exists, has the level asked for and covers the data's values."""
    for name, column in policy.columns.items():
        if column.recode is None or column.recode.map is None:
            continue
        hierarchy = _load_hierarchy(policy, name)
        uncovered = hierarchy.missing_values(frame[name])
        if uncovered:
            shown = ", ".join(map(repr, uncovered[:3]))
            more = f" and {len(uncovered) - 3} more" if len(uncovered) > 3 else ""
            raise PolicyError(
                f"{policy.where('columns', name, 'recode', 'map')}: hierarchy "
                f"{column.recode.map} does not cover {len(uncovered)} value(s) of {name!r}: "
                f"{shown}{more}; add a row for each"
            )


@dataclass(frozen=True)
class ScanOutcome:
    """What ``sdc scan`` found: the table read, its profile and the draft policy text."""

    table: Table
    result: object
    policy_text: str
