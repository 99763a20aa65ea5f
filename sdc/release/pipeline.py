"""``sdc release``: treat the data by the policy and write a verifiable bundle.

Everything is computed first, in memory; only when every output exists and every
threshold holds is the bundle written, into a temporary folder renamed into place. A
policy that cannot be met raises :class:`~sdc.errors.PolicyNotMet` and nothing is written.
The privacy budget is checked against the ledger before any DP measurement and recorded
before the bundle is moved into place, so a crash can only over-count spending, never
under-count it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import sdc
from sdc.errors import PolicyError, PolicyNotMet
from sdc.io import Table, write_csv, write_parquet, write_text
from sdc.policy import REPORTED_GROUP_SHARE, Policy
from sdc.release.budget import Budget
from sdc.release.bundle import MANIFEST, check_target, output_hashes, staged_folder, write_json
from sdc.release.ledger import Ledger
from sdc.release.microdata import TreatedMicrodata, treat_microdata
from sdc.report.release import release_html
from sdc.risk import RiskReport
from sdc.risk.engines import CountingEngine
from sdc.workflow import assess

if TYPE_CHECKING:  # tables and synthesis load scipy and OpenDP: only when a policy asks
    from sdc.synth import SynthEvaluation, SynthResult
    from sdc.tables import ProtectedTable, TableSpec

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ReleaseResult:
    """A written release bundle and the figures behind it."""

    out: Path
    manifest: dict[str, Any]
    before: RiskReport
    after: RiskReport | None
    microdata: TreatedMicrodata | None
    tables: tuple[ProtectedTable, ...]
    synthetic: SynthResult | None
    evaluation: SynthEvaluation | None
    budget: Budget
    notes: tuple[str, ...] = ()  # what reading the input found (e.g. an encoding fallback)

    @property
    def files(self) -> list[str]:
        """The bundle's files, relative to its folder."""
        return [*self.manifest["outputs"], MANIFEST]


def release(
    table: Table,
    policy: Policy,
    out: Path,
    *,
    force: bool = False,
    key_file: Path | None = None,
    seed: int | None = None,
    ledger: Ledger | None = None,
    engine: CountingEngine | None = None,
    progress: Progress | None = None,
) -> ReleaseResult:
    """Treat ``table`` by ``policy`` and write the bundle to ``out``.

    Args:
        table: the input data (as read by :func:`sdc.io.read_table`).
        policy: the validated policy, already checked against the data's columns.
        out: the bundle folder; must not exist unless ``force``.
        force: replace an existing bundle folder, only after the new one is complete.
        key_file: file with the pseudonymisation key (else ``SDC_PSEUDONYM_KEY``).
        seed: seed of the non-DP randomness (PRAM, noise, rounding, synthetic sampling).
        ledger: the privacy-budget ledger (default: ``SDC_LEDGER`` or ``~/.sdc``).
        engine: the counting engine of the risk checks (default: in memory).
        progress: called with a short label as each step starts.

    Raises:
        PolicyNotMet: a threshold cannot be met; nothing is written.
        BudgetExceeded: the DP outputs would pass the policy's budget for this dataset.
    """
    step = progress or (lambda _label: None)
    check_target(out, _inputs(table, policy, key_file, ledger), force=force)
    if not (policy.outputs.microdata or policy.outputs.tables or policy.outputs.synthetic):
        raise PolicyError(
            f"{policy.where('outputs')}: the policy asks for no output; add outputs.microdata, "
            "outputs.tables or outputs.synthetic"
        )
    if policy.outputs.tables:  # broken values are refused before any budget is charged
        from sdc.tables import check_finite

        for i in range(len(policy.outputs.tables)):
            check_finite(table.frame, table_spec(policy, i))
    started = _now()
    ledger = ledger or Ledger()
    request = Budget(policy.dp_epsilon, policy.dp_delta)
    cap = Budget(policy.privacy.budget, policy.privacy.delta)
    # From the budget check until the spending is written, no other release may spend from
    # this ledger: otherwise two releases could both pass the check and together pass the cap.
    with ledger.locked() if request.epsilon > 0 else nullcontext():
        if request.epsilon > 0:
            ledger.check(table.sha256, request, cap, dataset=table.path.name)

        step("risk before treatment")
        before = assess(table.frame, policy, engine=engine)
        treated = after = None
        if policy.outputs.microdata is not None:
            step("treating microdata")
            treated = treat_microdata(table.frame, policy, seed=seed, key_file=key_file)
            step("risk after treatment")
            after = assess(treated.frame, policy, engine=engine)
            if after.breaches:
                raise PolicyNotMet(_not_met(after, policy))

        base = _without_identifiers(table.frame, policy)
        tables: tuple[ProtectedTable, ...] = ()
        if policy.outputs.tables:
            step("building tables")
            tables = _build_tables(base, policy, seed, engine)
        synthetic = evaluation = None
        if policy.outputs.synthetic is not None:
            step("synthesising records")
            synthetic, evaluation = _synthesize(base, policy, seed)

        spent = sum((t.budget for t in tables), Budget.zero())
        if synthetic is not None:
            spent = spent + Budget(synthetic.epsilon, synthetic.delta)

        step("writing the bundle")
        with staged_folder(out, force=force) as tmp:
            rows = _write_outputs(tmp, treated, tables, synthetic, evaluation, before, after)
            result = ReleaseResult(
                out,
                {},
                before,
                after,
                treated,
                tables,
                synthetic,
                evaluation,
                spent,
                notes=table.notes,
            )
            manifest = result.manifest
            manifest.update(
                _manifest(result, table, policy, cap, started, rows, output_hashes(tmp))
            )
            manifest["non_dp_seed_given"] = seed is not None
            write_text(
                tmp / "report.html", release_html(result, table.path.name, original=table.frame)
            )
            manifest["outputs"] = {
                name: {"sha256": sha, "rows": rows.get(name)}
                for name, sha in output_hashes(tmp).items()
            }
            manifest["finished"] = _now()
            write_json(tmp / MANIFEST, manifest)
            if spent.epsilon > 0:
                _record_spending(ledger, table, policy, result)
        return result


def _build_tables(
    base: pd.DataFrame, policy: Policy, seed: int | None, engine: CountingEngine | None
) -> tuple[ProtectedTable, ...]:
    """Every policy table, protected; refuse when a suppression pattern fails its audit.

    With an out-of-core engine the cells are aggregated by the engine (and the DP
    contribution bound enforced there); the protection runs on the aggregates.
    """
    from sdc.tables import build_table

    book = codebook(policy)
    counter = engine if engine is not None and engine.name != "pandas" else None
    tables = tuple(
        build_table(
            base,
            table_spec(policy, i),
            seed=seed,
            codebook=book,
            hierarchies=table_hierarchies(policy, i),
            engine=counter,
        )
        for i in range(len(policy.outputs.tables))
    )
    failed = [t.name for t in tables if not t.passed]
    if failed:
        raise PolicyNotMet(
            f"table(s) {', '.join(failed)}: a suppressed cell could be recomputed from the "
            "published cells; coarsen the table or use rounding or dp"
        )
    return tables


def _record_spending(ledger: Ledger, table: Table, policy: Policy, result: ReleaseResult) -> None:
    """Write the release's DP spending to the ledger (inside the ledger lock)."""
    dp_outputs = [t.name for t in result.tables if t.budget.epsilon > 0]
    if result.synthetic is not None:
        dp_outputs.append("synthetic")
    ledger.record(
        table.sha256,
        dp_outputs,
        result.budget,
        _mechanisms(result.tables, result.synthetic),
        policy.name,
        dataset=table.path.name,
    )


def _inputs(
    table: Table, policy: Policy, key_file: Path | None, ledger: Ledger | None
) -> list[Path]:
    """Every file a release reads or keeps: none may be inside the bundle folder."""
    paths = [table.path]
    if policy.source is not None:
        paths.append(policy.source)
    for column in policy.columns.values():
        if column.recode is not None and column.recode.map is not None:
            paths.append(policy.resolve(column.recode.map))
    if key_file is not None:
        paths.append(key_file)
    paths.append((ledger or Ledger()).path)
    return paths


def codebook(policy: Policy) -> dict[str, list[Any]]:
    """Public categories per column: the policy's ``categories``, else a hierarchy's values."""
    book: dict[str, list[Any]] = {}
    for name, col in policy.columns.items():
        if col.categories is not None:
            book[name] = list(col.categories)
        elif col.recode is not None and col.recode.map is not None:
            hierarchy = policy.hierarchy(name)
            if hierarchy is not None:
                book[name] = list(hierarchy.values)
    return book


def table_hierarchies(policy: Policy, index: int) -> dict[str, dict[str, str]] | None:
    """Nested margins of ``outputs.tables[index]`` when it says ``hierarchical: true``.

    Each ``by`` column with a hierarchy file (``recode.map``) gets margins at every coarser
    level below the top ``*`` (village -> district): ``{column: {child: parent}}``.
    """
    entry = policy.outputs.tables[index]
    if not entry.hierarchical:
        return None
    found: dict[str, dict[str, str]] = {}
    for column in entry.by:
        hierarchy = policy.hierarchy(column) if column in policy.columns else None
        if hierarchy is None:
            continue
        links: dict[str, str] = {}
        for level in range(hierarchy.levels - 1):
            if len(hierarchy.labels(level + 1)) <= 1:
                break  # the top level (usually '*') is the table's own Total
            for row in hierarchy.rows:
                links[row[level]] = row[level + 1]
        if links:
            found[column] = links
    if not found:
        raise PolicyError(
            f"{policy.where('outputs', 'tables', str(index), 'hierarchical')}: hierarchical "
            "margins need a by column with recode: {map: FILE} of three or more levels"
        )
    return found


def table_spec(policy: Policy, index: int) -> TableSpec:
    """The tables module's spec for ``outputs.tables[index]`` (DP bounds and unit filled in)."""
    from sdc.tables import DpSpec, TableSpec

    entry = policy.outputs.tables[index]
    dp = None
    if entry.dp is not None:
        variable = entry.sum or entry.mean
        bounds = policy.columns[variable].bounds if variable in policy.columns else None
        if variable is not None and bounds is None:
            raise PolicyError(
                f"{policy.where('outputs', 'tables', str(index), 'dp')}: a DP {entry.statistic} "
                f"needs public bounds: add bounds: [low, high] to columns.{variable}"
            )
        household = policy.privacy.unit == "household"
        dp = DpSpec(
            epsilon=entry.dp.epsilon,
            delta=entry.dp.delta,
            mechanism=entry.dp.mechanism,
            bounds=bounds,
            unit=policy.privacy.unit,
            unit_column=policy.data.household if household else None,
            contribution_bound=policy.privacy.contribution,
        )
    return TableSpec(
        by=tuple(entry.by),
        count=entry.count,
        sum=entry.sum,
        mean=entry.mean,
        weight=policy.data.weight if entry.weighted else None,
        min_cell=entry.min_cell,
        dominance=(entry.dominance.n, entry.dominance.k) if entry.dominance else None,
        p_percent=entry.p_percent,
        group_share=(policy.thresholds.group_share or REPORTED_GROUP_SHARE)
        if entry.sensitive
        else None,
        sensitive=entry.sensitive,
        rounding=entry.rounding.base if entry.rounding else None,
        rounding_method=entry.rounding.method if entry.rounding else "random",
        dp=dp,
        name=entry.name,
    )


def _table_group_share(policy: Policy) -> float:
    """The share from which a table cell discloses its group's sensitive value."""
    given = policy.thresholds.group_share
    return REPORTED_GROUP_SHARE if given is None else given


def _without_identifiers(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The data for tables and synthesis: direct identifiers and drop columns removed."""
    gone = policy.columns_with("direct") + policy.columns_with("drop")
    return frame.drop(columns=[c for c in gone if c in frame.columns])


def _synthesize(
    base: pd.DataFrame, policy: Policy, seed: int | None
) -> tuple[SynthResult, SynthEvaluation]:
    from sdc.synth import evaluate, synthesize

    spec = policy.outputs.synthetic
    assert spec is not None
    columns = spec.columns or [*policy.quasi, *policy.sensitive]
    book = codebook(policy)
    bounds = {c: policy.columns[c].bounds for c in columns if c in policy.columns}
    numeric = {c: b for c, b in bounds.items() if b is not None}
    domains = {c: book[c] for c in columns if c in book and c not in numeric}
    train, holdout = base, None
    if spec.holdout > 0:
        # Keep a random share of the real records out of the synthesis, so the privacy check
        # can compare how close synthetic records come to the real ones with how close
        # unseen real records come (distance to the closest record).
        order = np.random.default_rng(spec.seed).permutation(len(base))
        cut = int(round(len(base) * spec.holdout))
        train, holdout = base.iloc[order[cut:]], base.iloc[order[:cut]]
    result = synthesize(
        train,
        columns=columns,
        domains=domains,
        bounds=numeric,
        epsilon=spec.epsilon,
        delta=spec.delta,
        rows=spec.rows or len(base),
        seed=spec.seed,  # never the release seed: the manifest records this one
        bins=spec.bins,
    )
    quality = evaluate(train, result.data, columns, holdout, bounds=numeric, bins=spec.bins)
    return result, quality


def _write_outputs(
    folder: Path,
    treated: TreatedMicrodata | None,
    tables: tuple[ProtectedTable, ...],
    synthetic: SynthResult | None,
    evaluation: SynthEvaluation | None,
    before: RiskReport,
    after: RiskReport | None,
) -> dict[str, int]:
    rows: dict[str, int] = {}
    if treated is not None:
        write_csv(treated.frame, folder / "microdata.csv")
        write_parquet(treated.frame, folder / "microdata.parquet")
        rows["microdata.csv"] = rows["microdata.parquet"] = len(treated.frame)
    if tables:
        (folder / "tables").mkdir()
        for t in tables:
            write_csv(t.table, folder / "tables" / f"{t.name}.csv")
            write_csv(t.pivot.reset_index(), folder / "tables" / f"{t.name}-pivot.csv")
            rows[f"tables/{t.name}.csv"] = len(t.table)
    if synthetic is not None:
        write_csv(synthetic.data, folder / "synthetic.csv")
        write_parquet(synthetic.data, folder / "synthetic.parquet")
        rows["synthetic.csv"] = rows["synthetic.parquet"] = len(synthetic.data)
        assert evaluation is not None
        write_json(folder / "synthetic-evaluation.json", evaluation.to_dict())
    if after is not None:
        # Only beside released microdata: with tables or synthetic data alone, the exact risk
        # figures of the input would be unprotected statistics of the private data.
        write_json(folder / "risk-before.json", before.to_dict())
        write_json(folder / "risk-after.json", after.to_dict())
    return rows


def _manifest(
    result: ReleaseResult,
    table: Table,
    policy: Policy,
    cap: Budget,
    started: str,
    rows: dict[str, int],
    hashes: dict[str, str],
) -> dict[str, Any]:
    """The manifest: what went in, what came out (with hashes), what was done and spent."""
    before, after, treated = result.before, result.after, result.microdata
    tables, synthetic, evaluation = result.tables, result.synthetic, result.evaluation
    spent = result.budget
    policy_text = policy.text.encode("utf-8")
    manifest: dict[str, Any] = {
        "schema": "sdc.manifest/1",
        "tool": {"name": "sdc", "version": sdc.__version__},
        "started": started,
        "finished": None,
        "policy": policy.to_dict(),
        "policy_sha256": hashlib.sha256(policy_text).hexdigest(),
        "input": {
            "name": table.path.name,
            "sha256": table.sha256,
            "format": table.format,
            "rows": len(table.frame),
            "columns": len(table.frame.columns),
        },
        "outputs": {name: {"sha256": sha, "rows": rows.get(name)} for name, sha in hashes.items()},
        # Text cells of the CSV files starting like a formula (=, +, -, @, tab, CR) carry a
        # leading ' (sdc.io.escape_formulas); the Parquet files keep the raw values.
        "csv_formula_escape": True,
        "risk": {
            "before": _risk_summary(before) if after else None,
            "after": _risk_summary(after) if after else None,
        },
        "privacy": {
            "unit": policy.privacy.unit,
            "contribution": policy.privacy.contribution,
            "cap": cap.as_dict(),
            "spent": spent.as_dict(),
        },
    }
    if treated is not None:
        manifest["microdata"] = {
            "rows": len(treated.frame),
            "columns": list(map(str, treated.frame.columns)),
            "treatments": [t.to_dict() for t in treated.treatments],
            "suppressed_records": treated.suppressed_records,
            "suppression_share": treated.suppression_share,
            "suppressed_values": treated.suppressed_values,
            "seed": "withheld: whoever knows it can undo PRAM and noise; kept by the steward",
        }
    manifest["tables"] = [
        {
            "name": t.name,
            "by": list(t.spec.by),
            "statistic": t.spec.statistic,
            "mechanism": t.mechanism,
            "flags": dict(t.flag_counts),
            "budget": t.budget.as_dict(),
            "audit_passed": t.passed,
        }
        for t in tables
    ]
    if synthetic is not None:
        manifest["synthetic"] = synthetic.to_dict()
        manifest["synthetic"]["evaluation"] = evaluation.to_dict() if evaluation else None
    return manifest


def _risk_summary(report: RiskReport) -> dict[str, Any]:
    data = report.to_dict()
    keep = ("n_records", "k_anonymity", "individual_risk", "breaches", "passed")
    return {k: data[k] for k in keep if k in data}


def _mechanisms(tables: tuple[ProtectedTable, ...], synthetic: SynthResult | None) -> str:
    names = sorted({t.mechanism for t in tables if t.budget.epsilon > 0})
    if synthetic is not None:
        names.append("mst (gaussian, zCDP)")
    return ", ".join(names)


def _not_met(after: RiskReport, policy: Policy) -> str:
    """Why the treated data fails, naming every threshold, and what would help."""
    parts = [f"{b.name} is {b.value:g} (limit {b.limit:g})" for b in after.breaches]
    microdata = policy.outputs.microdata
    steps = microdata.treatments if microdata is not None else []
    advice = ["recode the quasi-identifiers more coarsely"]
    if microdata is not None and microdata.generalize != "auto":
        advice.append("use generalize: auto")
    if "suppress" not in steps:
        advice.append("add suppress to the treatments")
    elif any(b.name in ("k", "l", "group_share") for b in after.breaches):
        advice.append("raise thresholds.max_suppression")
    return (
        "after treatment the data still fails the policy: "
        + "; ".join(parts)
        + ". "
        + _sentence(advice)
    )


def _sentence(options: list[str]) -> str:
    """``a, b or c`` with a capital letter."""
    text = options[0] if len(options) == 1 else ", ".join(options[:-1]) + " or " + options[-1]
    return text[0].upper() + text[1:]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
