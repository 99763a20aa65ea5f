"""``sdc check`` of record swapping and of the column treatments that move values.

Record swapping (``outputs.microdata.swap``), from the bundle alone: the manifest records
one ``record_swap`` treatment exactly when the officer's policy asks for one, with the
policy's parameters; the units it swapped are at
most ``floor(rate * units / 2)`` swaps of two; its unit count is the released microdata's
(households are counted by their pseudonyms); and no released household shows two values
of the swapped geography (households move whole). With the input: every household's
geography and similarity values, taken together, are an input household's (after the
policy's recodes), so the joint distribution of the similarity variables with the
geography is the input's and the geography margin over households is kept.

Rank swapping, shuffling and multivariate top coding: the manifest treated exactly the
columns the policy marks, with its parameters. Multivariate top coding is deterministic, so
with the input it is recomputed (when only recodes run before it) and the released rows of
its columns must be those values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from sdc.policy import Policy, RecordSwap
from sdc.release.check import CheckItem, _excess, _Malformed, _microdata_claims, _rows
from sdc.release.manifest import Treatment
from sdc.release.plan import texts

__all__ = [
    "check_column_treatments",
    "check_mv_top_code_input",
    "check_swap",
    "check_swap_input",
]

#: What a column marked for each treatment must be.
_DONE = {"rank_swap": "rank-swapped", "shuffle": "shuffled", "mv_top_code": "top-coded"}
#: The parameter of each column treatment that must be the policy's.
_PARAMETER = {"rank_swap": "p", "mv_top_code": "alpha"}

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
    units = _count(records[0].details.get("units"))
    swapped = _count(records[0].details.get("swapped_units"))
    if units is None or swapped is None:
        problems.append("the manifest's record_swap gives no units and swapped_units counts")
    else:
        problems += _rate_problems(units, swapped, spec.rate)
        if released is not None:
            problems += _released_problems(released, spec, policy, units)
    if problems or units is None or swapped is None:
        return CheckItem("swap", False, "; ".join(problems))
    return CheckItem(
        "swap",
        True,
        f"{swapped} of {units} {_noun(spec)} swapped their {', '.join([spec.level, *spec.carry])} "
        f"({swapped / max(1, units):.1%}), within swap.rate {spec.rate:g}; "
        f"similar: {', '.join(spec.similar) or 'none'}",
    )


def _noun(spec: RecordSwap) -> str:
    return "households" if spec.unit == "household" else "records"


def _count(value: object) -> int | None:
    """A count from the manifest; None when it is not a whole number >= 0."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


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
        split = int((released[geography].groupby(ids.to_numpy()).nunique() > 1).any(axis=1).sum())
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


def check_column_treatments(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    """The ``column treatments`` item: rank swapping, shuffling, multivariate top coding.

    Every column the policy marks with ``rank_swap`` (with its ``p``), ``shuffle: true`` or
    ``mv_top_code`` (with its ``alpha``) is named by a manifest treatment of that name and
    parameter, and no such treatment names another column. (With the input, ``input
    values`` compares rank-swapped and shuffled columns as multisets and ``input mv top
    code`` recomputes the top coding.)
    """
    wanted = _marked(policy)
    try:
        claims = _microdata_claims(manifest)
    except _Malformed as exc:
        return [CheckItem("column treatments", False, str(exc))] if wanted else []
    done = {
        (t.name, c): t.parameters.get(_PARAMETER.get(t.name, ""))
        for t in (claims.treatments if claims else [])
        if t.name in _DONE
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
        f"{c}: {n} ran with {_PARAMETER[n]} {done[(n, c)]!r} (policy: {value!r})"
        for (n, c), value in wanted.items()
        if n in _PARAMETER and (n, c) in done and done[(n, c)] != value
    ]
    if problems:
        return [CheckItem("column treatments", False, "; ".join(problems))]
    shown = ", ".join(f"{c} ({n})" for n, c in wanted)
    return [CheckItem("column treatments", True, f"treated as the policy says: {shown}")]


def _marked(policy: Policy) -> dict[tuple[str, str], object]:
    """(treatment, column) -> parameter, for the column treatments the policy's list runs."""
    steps = policy.outputs.microdata.treatments if policy.outputs.microdata else []
    marked: dict[tuple[str, str], object] = {}
    for column, col in policy.columns.items():
        if "rank_swap" in steps and col.rank_swap is not None:
            marked[("rank_swap", column)] = col.rank_swap.p
        if "shuffle" in steps and col.shuffle:
            marked[("shuffle", column)] = None
        if "mv_top_code" in steps and col.mv_top_code is not None:
            marked[("mv_top_code", column)] = col.mv_top_code.alpha
    return marked


def check_mv_top_code_input(
    released: pd.DataFrame, expected: pd.DataFrame, policy: Policy, name: str
) -> list[CheckItem]:
    """The ``input mv top code`` item: the top coding recomputed on the input.

    ``expected`` is the input after the policy's recodes. Recomputed only when nothing but
    ``recode`` runs before ``mv_top_code`` and no swap moves its columns (otherwise the
    input it saw cannot be rebuilt); rows are compared as multisets, blanks left out.
    """
    from sdc.anonymize.mv_top_code import mv_top_code
    from sdc.release.microdata import mv_top_code_groups

    spec = policy.outputs.microdata
    assert spec is not None
    steps = spec.treatments[: spec.treatments.index("mv_top_code")]
    groups = mv_top_code_groups(policy)
    columns = [c for names in groups.values() for c in names]
    moved = set(spec.swap.carry + [spec.swap.level]) if spec.swap else set()
    if set(steps) - {"recode"} or moved & set(columns):
        return []
    problems = []
    for alpha, names in groups.items():
        if not all(c in released.columns for c in names):
            continue  # the columns item names a missing column
        recomputed, _ = mv_top_code(expected, names, alpha)
        excess = _excess(
            _rows([texts(released[c]) for c in names]),
            _rows([texts(recomputed[c]) for c in names]),
        )
        if excess:
            problems.append(
                f"{excess} released record(s) of {', '.join(names)} are not the input's after "
                f"multivariate top coding at alpha {alpha:g}"
            )
    if problems:
        return [CheckItem("input mv top code", False, "; ".join(problems))]
    return [
        CheckItem(
            "input mv top code",
            True,
            f"{', '.join(columns)}: the released values are {name}'s after multivariate top "
            "coding, recomputed (compared as multisets)",
        )
    ]
