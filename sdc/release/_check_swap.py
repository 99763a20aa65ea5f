"""``sdc check`` of targeted record swapping (``outputs.microdata.swap``).

From the bundle alone: the manifest records one ``record_swap`` treatment exactly when the
officer's policy asks for one, with the policy's parameters; the units it swapped are at
most ``floor(rate * units / 2)`` swaps of two; its unit count is the released microdata's
(households are counted by their pseudonyms); and no released household shows two values
of the swapped geography (households move whole). With the input: every household's
geography and similarity values, taken together, are an input household's (after the
policy's recodes), so the joint distribution of the similarity variables with the
geography is the input's and the geography margin over households is kept.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sdc.policy import Policy, RecordSwap
from sdc.release.check import CheckItem, _excess, _microdata_claims, _Malformed, _rows
from sdc.release.manifest import Treatment
from sdc.release.plan import texts

__all__ = ["check_moved", "check_swap", "check_swap_input"]

#: What a column marked for each treatment must be.
_DONE = {"rank_swap": "rank-swapped", "shuffle": "shuffled"}

#: The parameters compared with the policy's ``swap``.
_COMPARED = ("unit", "rate", "level", "similar", "carry", "k")


def check_swap(
    manifest: dict[str, Any], policy: Policy, released: pd.DataFrame | None
) -> list[CheckItem]:
    """The ``swap`` item (none when neither policy nor manifest swaps records)."""
    spec = policy.outputs.microdata.swap if policy.outputs.microdata else None
    try:
        claims = _microdata_claims(manifest)
    except _Malformed as exc:
        return [CheckItem("swap", False, str(exc))] if spec is not None else []
    records = [t for t in (claims.treatments if claims else []) if t.name == "record_swap"]
    if spec is None and not records:
        return []
    return [_swap_item(spec, records, policy, released)]


def _swap_item(
    spec: RecordSwap | None, records: list[Treatment], policy: Policy, released: pd.DataFrame | None
) -> CheckItem:
    """The manifest's record swapping is the policy's, within its rate."""
    if spec is None:
        return CheckItem(
            "swap",
            False,
            "the manifest records record swapping but the policy has no outputs.microdata.swap "
            "(it allows no swapping)",
        )
    if len(records) != 1:
        return CheckItem(
            "swap",
            False,
            "the policy asks for record swapping (outputs.microdata.swap) but the manifest "
            f"records {len(records) or 'no'} record_swap treatment(s)",
        )
    problems = _parameter_problems(records[0], spec, policy)
    units, swapped = records[0].details.get("units"), records[0].details.get("swapped_units")
    if not _count(units) or not _count(swapped):
        problems.append("the manifest's record_swap gives no units and swapped_units counts")
    else:
        problems += _rate_problems(int(units), int(swapped), spec.rate)
        if released is not None:
            problems += _released_problems(released, spec, policy, int(units))
    if problems:
        return CheckItem("swap", False, "; ".join(problems))
    return CheckItem(
        "swap",
        True,
        f"{swapped} of {units} {_noun(spec)} swapped their {', '.join([spec.level, *spec.carry])} "
        f"({int(swapped) / max(1, int(units)):.1%}), within swap.rate {spec.rate:g}; "
        f"similar: {', '.join(spec.similar) or 'none'}",
    )


def _noun(spec: RecordSwap) -> str:
    return "households" if spec.unit == "household" else "records"


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parameter_problems(record: Treatment, spec: RecordSwap, policy: Policy) -> list[str]:
    """Parameters of the manifest's record that differ from the policy's."""
    wanted = spec.model_dump()
    wanted["k"] = spec.k if spec.k is not None else policy.thresholds.k
    differ = [key for key in _COMPARED if record.parameters.get(key) != wanted[key]]
    if not differ:
        return []
    shown = ", ".join(
        f"{key} {record.parameters.get(key)!r} (policy: {wanted[key]!r})" for key in differ
    )
    return [f"the manifest's record_swap ran with {shown}"]


def _rate_problems(units: int, swapped: int, rate: float) -> list[str]:
    allowed = 2 * math.floor(rate * units / 2)
    if swapped > allowed or swapped % 2:
        return [
            f"the manifest says {swapped} of {units} units were swapped "
            f"({swapped / max(1, units):.1%}); swap.rate {rate:g} allows at most {allowed} "
            "(swaps of two)"
        ]
    return []


def _released_problems(
    released: pd.DataFrame, spec: RecordSwap, policy: Policy, units: int
) -> list[str]:
    """Unit count and whole households, from the released file alone."""
    geography = [c for c in (spec.level, *spec.carry) if c in released.columns]
    household = policy.data.household if spec.unit == "household" else None
    if household is None or household not in released.columns:
        shown = len(released)
        split = 0
    else:
        ids = released[household]
        shown = int(ids.nunique())
        split = int(
            (released[geography].groupby(ids.to_numpy()).nunique() > 1).any(axis=1).sum()
        )
    problems = []
    if shown != units:
        problems.append(
            f"the manifest counts {units} {_noun(spec)} but the released microdata hold {shown}"
        )
    if split:
        problems.append(
            f"{split} released household(s) hold more than one value of "
            f"{', '.join(geography)}: record swapping moves whole households"
        )
    return problems


def check_swap_input(
    released: pd.DataFrame, expected: pd.DataFrame, policy: Policy, name: str
) -> CheckItem:
    """The ``input swap`` item: households' (geography, similar) values are the input's.

    ``expected`` is the input after the policy's deterministic recodes. Each household is
    reduced to its first non-blank value of each column; households with a blank are not
    compared (suppression only blanks values).
    """
    spec = policy.outputs.microdata.swap if policy.outputs.microdata else None
    assert spec is not None, "check_swap_input needs outputs.microdata.swap"
    columns = [spec.level, *spec.carry, *spec.similar]
    absent = [c for c in columns if c not in released.columns]
    if absent:
        return CheckItem("input swap", False, f"swapped columns missing: {', '.join(absent)}")
    household = policy.data.household if spec.unit == "household" else None
    shown = _per_unit(released, columns, household)
    wanted = _per_unit(expected, columns, household)
    excess = _excess(shown, wanted)
    if excess:
        return CheckItem(
            "input swap",
            False,
            f"{excess} released {_noun(spec)}' values of {', '.join(columns)} are not those "
            f"of a {_noun(spec)[:-1]} of {name}: swapping must keep their joint distribution",
        )
    return CheckItem(
        "input swap",
        True,
        f"the {_noun(spec)}' values of {', '.join(columns)} together are those of {name} "
        "(compared as multisets): the similarity variables' joint distribution with the "
        "geography and the geography margin are kept",
    )


def _per_unit(frame: pd.DataFrame, columns: list[str], household: str | None) -> np.ndarray:
    """Each unit's values of ``columns`` joined into one text (None when one is blank)."""
    values = pd.DataFrame({c: texts(frame[c]) for c in columns}, index=frame.index)
    if household is not None and household in frame.columns:
        values = values.groupby(frame[household].to_numpy(), sort=False).first()
    return _rows([values[c].to_numpy() for c in columns])


def check_moved(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    """The ``moved values`` item: rank swapping and shuffling as the policy marks them.

    Every column with ``rank_swap`` (and the same ``p``) or ``shuffle: true`` is named by a
    manifest treatment of that name, and no such treatment names another column. (Their
    values are compared with the input's, as multisets, by ``input values``.)
    """
    steps = policy.outputs.microdata.treatments if policy.outputs.microdata else []
    wanted = {
        (name, column): (col.rank_swap.p if name == "rank_swap" and col.rank_swap else None)
        for column, col in policy.columns.items()
        for name in ("rank_swap", "shuffle")
        if name in steps and (col.shuffle if name == "shuffle" else col.rank_swap is not None)
    }
    try:
        claims = _microdata_claims(manifest)
    except _Malformed as exc:
        return [CheckItem("moved values", False, str(exc))] if wanted else []
    done = {
        (t.name, c): t.parameters.get("p")
        for t in (claims.treatments if claims else [])
        if t.name in ("rank_swap", "shuffle")
        for c in t.columns
    }
    if not wanted and not done:
        return []
    problems = [
        f"{c} must be {_DONE[n]} but the manifest records no {n} of it"
        for n, c in wanted
        if (n, c) not in done
    ]
    problems += [
        f"the manifest records {n} of {c}, which the policy does not allow"
        for n, c in done
        if (n, c) not in wanted
    ]
    problems += [
        f"{c}: rank_swap ran with p {done[(n, c)]!r} (policy: {p!r})"
        for (n, c), p in wanted.items()
        if n == "rank_swap" and (n, c) in done and done[(n, c)] != p
    ]
    if problems:
        return [CheckItem("moved values", False, "; ".join(problems))]
    shown = ", ".join(f"{c} ({n})" for n, c in wanted)
    detail = f"values moved between records as the policy says: {shown}"
    return [CheckItem("moved values", True, detail)]
