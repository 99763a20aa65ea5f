"""One library function per command: read, validate, run, return a value to render.

The CLI calls exactly one function of this module per command; everything a command does
beyond parsing and printing lives here or below, so the same work is available from
Python (``import sdc``) and from CI jobs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from sdc.anonymize.hierarchy import Hierarchy
from sdc.errors import DataError, PolicyError
from sdc.io import Table, read_table, write_csv, write_text
from sdc.policy import Policy, load_policy
from sdc.release.budget import format_number
from sdc.release.ledger import Ledger, LedgerSummaryRow, short_sha
from sdc.report import risk_html, risk_json
from sdc.risk import RiskReport, RiskThresholds, assess_risk
from sdc.scan import ScanResult, draft_policy, scan

if TYPE_CHECKING:
    from sdc.release.check import CheckResult
    from sdc.release.pipeline import ReleaseResult


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
    result: ScanResult
    policy_text: str


def scan_file(data: Path, *, sheet: str | None = None) -> ScanOutcome:
    """Read a data file, profile its columns and draft a policy for it (``sdc scan``)."""
    table = read_table(data, sheet=sheet)
    result = scan(table.frame)
    return ScanOutcome(table, result, draft_policy(result, table.path.name))


def scan_summary(outcome: ScanOutcome) -> str:
    """A short plain-text table of what the scan found, one line per column."""
    result = outcome.result
    rows = [("column", "role", "kind", "distinct", "missing", "why")]
    for p in result.columns:
        role = p.data_role or p.role
        rows.append((p.name, role, p.kind, str(p.n_distinct), f"{p.missing_share:.0%}", p.reason))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:5])) + "  " + r[5] for r in rows
    ]
    counts = {role: len(result.names(role)) for role in ("direct", "quasi", "sensitive")}
    lines.append(
        f"\n{outcome.table.path.name}: {result.n_rows} rows, {len(result)} columns; "
        f"{counts['direct']} direct identifiers, {counts['quasi']} quasi-identifiers, "
        f"{counts['sensitive']} sensitive."
    )
    return "\n".join(lines)


def risk_thresholds(policy: Policy) -> RiskThresholds:
    """The policy's thresholds as the risk engine's value object."""
    t = policy.thresholds
    return RiskThresholds(
        k=t.k,
        l=t.l,
        t=t.t,
        max_individual_risk=t.max_individual_risk,
        max_expected_reidentifications=t.max_expected_reidentifications,
        group_share=t.group_share,
    )


def assess(frame: pd.DataFrame, policy: Policy, *, suda: bool = True) -> RiskReport:
    """Risk report of a DataFrame under a policy (its quasi-identifiers, weights, thresholds)."""
    if not policy.quasi:
        raise PolicyError(
            f"{policy.where('columns')}: no column has role: quasi; risk is measured on the "
            "quasi-identifiers, so mark the ones an outsider could know (age, sex, village...)"
        )
    importance = {
        name: col.importance for name, col in policy.columns.items() if col.importance is not None
    }
    return assess_risk(
        frame,
        quasi=policy.quasi,
        weight=policy.data.weight,
        household=policy.data.household,
        sensitive=[s for s in policy.sensitive if s in frame.columns],
        missing=policy.missing,
        thresholds=risk_thresholds(policy),
        max_msu=policy.suda.max_msu,
        dis_fraction=policy.suda.dis_fraction,
        suda=suda,
        importance=importance or None,
    )


def risk(data: Path, policy_path: Path, *, sheet: str | None = None) -> tuple[Table, RiskReport]:
    """``sdc risk``: read, validate and measure."""
    table, policy = load_inputs(data, policy_path, sheet=sheet)
    return table, assess(table.frame, policy)


def write_risk_outputs(
    report: RiskReport,
    table: Table,
    *,
    json_path: Path | None = None,
    html_path: Path | None = None,
    records_path: Path | None = None,
) -> list[Path]:
    """Write the requested renderings of a risk report; never over the input file."""
    targets = [p for p in (json_path, html_path, records_path) if p is not None]
    for path in targets:
        if path.resolve() == table.path.resolve():
            raise DataError(f"{path}: refusing to overwrite the input data")
    if json_path is not None:
        write_text(json_path, json.dumps(risk_json(report), indent=2) + "\n")
    if html_path is not None:
        write_text(html_path, risk_html(report, title=f"Disclosure risk of {table.path.name}"))
    if records_path is not None:
        write_csv(report.records, records_path)
    return targets


def run_release(
    data: Path,
    policy_path: Path,
    out: Path,
    *,
    sheet: str | None = None,
    force: bool = False,
    key_file: Path | None = None,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReleaseResult:
    """``sdc release``: read, validate, treat and write the bundle."""
    from sdc.release.pipeline import release

    table, policy = load_inputs(data, policy_path, sheet=sheet)
    return release(table, policy, out, force=force, key_file=key_file, seed=seed, progress=progress)


def run_check(bundle: Path, policy_path: Path) -> CheckResult:
    """``sdc check``: verify a bundle against a policy."""
    from sdc.release.check import check_bundle

    return check_bundle(bundle, load_policy(policy_path))


def budget_summary() -> tuple[Ledger, list[LedgerSummaryRow]]:
    """``sdc budget``: the ledger and its per-dataset totals."""
    ledger = Ledger()
    return ledger, ledger.summary()


def budget_table(rows: list[LedgerSummaryRow]) -> str:
    """The ledger summary as a plain-text table."""
    lines = [("dataset", "sha256", "releases", "epsilon", "delta", "last release", "policies")]
    for r in rows:
        lines.append(
            (
                r.dataset,
                short_sha(r.dataset_sha256),
                str(r.releases),
                format_number(r.spent.epsilon),
                format_number(r.spent.delta),
                r.last_release,
                ", ".join(r.policies),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(7)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines
    )


@dataclass(frozen=True)
class DemoOutcome:
    """Where ``sdc demo`` put everything, and what it found."""

    folder: Path
    data: Path
    policy: Path
    draft_policy: Path
    risk_html: Path
    risk_json: Path
    before: RiskReport
    release: ReleaseResult
    check: CheckResult


def run_demo(
    out: Path,
    *,
    rows: int = 5000,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> DemoOutcome:
    """``sdc demo``: write a fake survey and its policy, then scan, measure, release, check.

    The folder must not exist yet (nothing is overwritten). A random pseudonymisation key
    is written to ``OUT/pseudonym.key``, outside the release bundle, as a steward would
    keep it.
    """
    import secrets

    from sdc.demo import demo_policy_text, make_survey, village_hierarchy_csv
    from sdc.io import write_csv, write_text_new
    from sdc.release.check import check_bundle
    from sdc.release.pipeline import release

    step = progress or (lambda _label: None)
    if out.exists():
        raise DataError(f"{out}: already exists; sdc demo writes into a new folder")
    step("writing the demo survey")
    survey = make_survey(rows=rows, seed=seed)
    out.mkdir(parents=True)
    data = out / "survey.csv"
    write_csv(survey, data)
    policy_path = out / "policy.yaml"
    write_text_new(policy_path, demo_policy_text())
    write_text_new(out / "hierarchies" / "village.csv", village_hierarchy_csv())
    key_file = out / "pseudonym.key"
    write_text_new(key_file, secrets.token_hex(32) + "\n")
    key_file.chmod(0o600)
    step("scanning")
    scanned = scan_file(data)
    draft = out / "draft-policy.yaml"
    write_text_new(draft, scanned.policy_text)
    step("measuring risk")
    table, policy = load_inputs(data, policy_path)
    before = assess(table.frame, policy)
    write_risk_outputs(before, table, json_path=out / "risk.json", html_path=out / "risk.html")
    step("releasing")
    # The demo spends from its own ledger, not the user's, unless SDC_LEDGER says otherwise.
    ledger = Ledger() if os.environ.get("SDC_LEDGER") else Ledger(out / "ledger.jsonl")
    result = release(
        table, policy, out / "release", key_file=key_file, seed=seed, ledger=ledger, progress=step
    )
    step("checking the release")
    verified = check_bundle(out / "release", policy)
    return DemoOutcome(
        out,
        data,
        policy_path,
        draft,
        out / "risk.html",
        out / "risk.json",
        before,
        result,
        verified,
    )
