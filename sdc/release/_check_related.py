"""``sdc check`` of the related tables (repeat groups) of a bundle and their joined view.

For each table the policy names under ``related:`` the bundle must hold ``NAME.csv`` (and
the same records in ``NAME.parquet``) with no removed column, its link column holding
keyed pseudonyms that are all pseudonyms of the main file's key column, and as many records
as the manifest says. The joined view is recomputed from the released files alone and must
meet k and the risk limits. Given the input: no raw key or link value of the input appears
in a released link column, the records of no file are in the input's order, and the
released values are the input's after the policy's recodes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import DataError, PolicyError
from sdc.io import Table, read_table, unescape_formulas
from sdc.policy import Policy, unlisted_columns
from sdc.release.check import (
    CheckItem,
    _check_input_values,
    _in_input_order,
    _parquet_mismatch,
    _pseudonym_problem,
)
from sdc.release.manifest import Joined, ManifestFieldError, RelatedTable, Treatment, read_model
from sdc.release.plan import release_plan, texts
from sdc.risk.joined import RelatedRecords, joined_view, parent_positions


def check_related(
    folder: Path,
    manifest: dict[str, Any],
    policy: Policy,
    main: pd.DataFrame | None,
    data: Table | None,
    related: tuple[Table, ...] | None,
) -> list[CheckItem]:
    """The items ``related NAME`` (one per related table), ``joined view``, ``row order``.

    Args:
        folder: the bundle.
        manifest: its manifest.
        policy: the officer's policy.
        main: the released microdata (None when absent: the microdata item says so).
        data: the main input, with ``--data``.
        related: the related inputs, with ``--data``.
    """
    items: list[CheckItem] = []
    records = _manifest_records(manifest)
    frames: list[pd.DataFrame | None] = []
    for i, spec in enumerate(policy.related):
        frame, problems = _read(folder, spec.name)
        record = records.get(spec.name)
        if frame is not None:
            problems += _problems(frame, policy, i, main, record)
        frames.append(frame)
        detail = "; ".join(problems) if problems else _fine(frame, policy, i)
        items.append(CheckItem(f"related {spec.name}", not problems, detail))
    extra = sorted(set(records) - {r.name for r in policy.related})
    if extra:
        items.append(
            CheckItem("related", False, f"related tables the policy does not name: {extra}")
        )
    if main is not None and policy.related and all(f is not None for f in frames):
        items.append(_check_joined(policy, main, [f for f in frames if f is not None], manifest))
    if data is not None and main is not None and related is not None:
        items += _check_inputs(policy, main, frames, data, related)
    return items


def _manifest_records(manifest: dict[str, Any]) -> dict[str, RelatedTable]:
    """The manifest's related tables by name (none when the section is malformed)."""
    try:
        found: list[RelatedTable] = read_model(
            list[RelatedTable], manifest.get("related") or [], "related"
        )
    except ManifestFieldError:
        return {}
    return {r.name: r for r in found}


def _read(folder: Path, name: str) -> tuple[pd.DataFrame | None, list[str]]:
    path = folder / f"{name}.csv"
    if not path.is_file():
        return None, [f"the policy names the related table {name} but there is no {name}.csv"]
    try:
        frame = unescape_formulas(read_table(path).frame)
    except DataError as exc:
        return None, [f"{name}.csv cannot be read: {exc}"]
    mismatch = _parquet_mismatch(folder, name, frame)
    return frame, [mismatch] if mismatch else []


def _problems(
    frame: pd.DataFrame,
    policy: Policy,
    index: int,
    main: pd.DataFrame | None,
    record: RelatedTable | None,
) -> list[str]:
    """What is wrong with one released related table (values are never quoted)."""
    spec = policy.related[index]
    sub = policy.related_policy(index)
    problems = []
    if record is None:
        problems.append(f"the manifest has no related table {spec.name}")
    elif record.rows != len(frame):
        problems.append(
            f"{spec.name}.csv has {len(frame)} records but the manifest says {record.rows}"
        )
    treatments: list[Treatment] = record.treatments if record is not None else []
    keyed = [n for n, c in sub.columns.items() if c.role == "direct" and c.action == "pseudonymize"]
    removed = sub.columns_with("direct") + sub.columns_with("drop")
    leaked = [c for c in removed if c in frame.columns and c not in keyed]
    if leaked:
        problems.append(f"columns that must be removed are present: {', '.join(leaked)}")
    unnamed = [c for c in unlisted_columns(sub, frame.columns) if c != spec.link.column]
    if unnamed and sub.unlisted != "keep":
        problems.append(f"columns the policy does not name: {', '.join(unnamed)}")
    for column in (c for c in keyed if c in frame.columns):
        problem = _pseudonym_problem(frame[column], column, treatments)
        if problem:
            problems.append(problem)
    column = spec.link.column
    if column not in frame.columns:
        return [*problems, f"the link column {column} is missing"]
    link = Treatment(name="pseudonymize", columns=[column], parameters={"length": 16})
    problem = _pseudonym_problem(frame[column], column, [link])
    if problem:
        problems.append(problem)
    if frame[column].isna().any():
        problems.append(f"{int(frame[column].isna().sum())} record(s) have no {column}")
    if main is not None and spec.link.to in main.columns:
        shown = pd.Series(texts(frame[column]), dtype=object).dropna()
        absent = int((~shown.isin(pd.Series(texts(main[spec.link.to]), dtype=object))).sum())
        if absent:
            problems.append(
                f"{absent} record(s) have a {column} that is no {spec.link.to} of microdata.csv "
                "(they join to nothing in this release)"
            )
    elif main is not None:
        problems.append(f"microdata.csv has no {spec.link.to} column to link to")
    return problems


def _fine(frame: pd.DataFrame | None, policy: Policy, index: int) -> str:
    spec = policy.related[index]
    rows = len(frame) if frame is not None else 0
    return (
        f"{spec.name}.csv: {rows} records, as the manifest says; no removed column; "
        f"{spec.link.column} holds keyed pseudonyms of microdata.csv's {spec.link.to}"
    )


def _joined_share(manifest: dict[str, Any]) -> float | None:
    """The manifest's claimed share of households suppressed on the joined view."""
    try:
        joined: Joined | None = read_model(Joined | None, manifest.get("joined"), "joined")
    except ManifestFieldError:
        return None
    return joined.suppression_share if joined is not None else None


def _check_joined(
    policy: Policy, main: pd.DataFrame, frames: list[pd.DataFrame], manifest: dict[str, Any]
) -> CheckItem:
    """The k and risk limits of the joined view, recomputed from the released files."""
    tables = []
    for spec, frame in zip(policy.related, frames, strict=True):
        sub = policy.related_policy(policy.related.index(spec))
        if spec.link.to not in main.columns or spec.link.column not in frame.columns:
            return CheckItem("joined view", False, "the link columns are missing")
        where = parent_positions(main[spec.link.to], frame[spec.link.column])
        absent = [q for q in sub.quasi if q not in frame.columns]
        if absent or (where < 0).any():
            what = f"quasi-identifiers missing: {absent}" if absent else "links without a parent"
            return CheckItem("joined view", False, f"cannot be recomputed: {what}")
        tables.append(RelatedRecords(frame, tuple(sub.quasi), where))
    absent = [q for q in policy.quasi if q not in main.columns]
    if absent:
        return CheckItem("joined view", False, f"quasi-identifiers missing: {absent}")
    view = joined_view(main, policy.quasi, tables)
    t = policy.thresholds
    problems = []
    below = int(view.below(t.k).sum())
    if below:
        problems.append(
            f"{below} household(s) have a joined key shared by fewer than k = {t.k} households "
            f"(smallest {view.smallest_key})"
        )
    if t.max_individual_risk is not None and view.max_household_risk > t.max_individual_risk + 1e-9:
        problems.append(
            f"household risk up to {view.max_household_risk:.3f}, above max_individual_risk "
            f"{t.max_individual_risk:g}"
        )
    total = t.max_expected_reidentifications
    if total is not None and view.expected_reidentifications > total + 1e-9:
        problems.append(
            f"{view.expected_reidentifications:.2f} expected household re-identifications, above "
            f"max_expected_reidentifications {total:g}"
        )
    claimed = _joined_share(manifest)
    if claimed is None:
        problems.append("the manifest records no joined view (joined.suppression_share)")
    elif claimed > t.max_suppression + 1e-12:
        problems.append(
            f"{claimed:.2%} of households suppressed on the joined view (from the manifest), "
            f"above max_suppression {t.max_suppression:.2%}"
        )
    if problems:
        return CheckItem("joined view", False, "; ".join(problems))
    return CheckItem(
        "joined view",
        True,
        f"recomputed on {view.households} households joined with "
        f"{', '.join(r.name for r in policy.related)}: smallest joined key "
        f"{view.smallest_key} >= k {t.k}; largest household risk {view.max_household_risk:.3f}",
    )


def _check_inputs(
    policy: Policy,
    main: pd.DataFrame,
    frames: list[pd.DataFrame | None],
    data: Table,
    related: tuple[Table, ...],
) -> list[CheckItem]:
    """Against the inputs: no raw link value, no file in input order, values recoded."""
    raw: list[np.ndarray] = []
    shown: list[np.ndarray] = []
    for spec, frame, table in zip(policy.related, frames, related, strict=True):
        for column, source in ((spec.link.to, data.frame), (spec.link.column, table.frame)):
            if column in source.columns:
                raw.append(texts(source[column]))
        if frame is not None and spec.link.column in frame.columns:
            shown.append(texts(frame[spec.link.column]))
    for column in policy.link_columns:
        if column in main.columns:
            shown.append(texts(main[column]))
        if column in data.frame.columns:
            raw.append(texts(data.frame[column]))
    leaked = _overlap(shown, raw)
    items = [
        CheckItem(
            "links",
            not leaked,
            f"{leaked} released link value(s) are raw key values of the input"
            if leaked
            else "no released household or link value is a raw key value of the input",
        )
    ]
    files = [("microdata.csv", main, data.frame, policy)]
    for i, (frame, table) in enumerate(zip(frames, related, strict=True)):
        if frame is not None:
            files.append(
                (f"{policy.related[i].name}.csv", frame, table.frame, policy.related_policy(i))
            )
    ordered = [
        name
        for name, shown_frame, source, sub in files
        if _in_input_order(shown_frame, source, sub, policy)
    ]
    items.append(
        CheckItem(
            "row order",
            not ordered,
            f"records in the input's order (row N is input record N): {', '.join(ordered)}"
            if ordered
            else "no released file keeps the input's record order",
        )
    )
    for i, (frame, table) in enumerate(zip(frames, related, strict=True)):
        if frame is None:
            continue
        spec = policy.related[i]
        try:
            plan = release_plan(policy.related_policy(i), tables=False)
        except PolicyError as exc:
            items.append(CheckItem(f"related {spec.name} input values", False, str(exc)))
            continue
        body = frame.drop(columns=[spec.link.column], errors="ignore")
        for item in _check_input_values(body, table, plan):
            items.append(CheckItem(f"related {spec.name} {item.name}", item.passed, item.detail))
    return items


def _overlap(shown: list[np.ndarray], raw: list[np.ndarray]) -> int:
    """How many shown values are among the raw values."""
    if not shown or not raw:
        return 0
    values = pd.Series(np.concatenate(shown), dtype=object).dropna()
    known = pd.Series(np.concatenate(raw), dtype=object).dropna()
    return int(values.isin(known).sum())
