"""One library function per command: read, validate, run, return a value to render.

The CLI calls exactly one function of this module per command; everything a command does
beyond parsing and printing lives here or below, so the same work is available from
Python (``import sdc``) and from CI jobs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.anonymize.multiple import canonical_sets
from sdc.anonymize.policy_recodes import deterministic_recodes, recoded_columns
from sdc.budget import Budget, format_number
from sdc.errors import DataError, PolicyError, SdcError
from sdc.i18n import language
from sdc.io import (
    Reading,
    ReadOptions,
    Table,
    decimal_commas,
    first_bad,
    read_columns,
    read_table,
    write_csv,
    write_text,
)
from sdc.policy import (
    Policy,
    load_policy,
    parse_policy,
    unlisted_columns,
)
from sdc.release.ledger import Ledger, LedgerSummaryRow
from sdc.release.plan import assess, assess_policy_has_quasi, risk_thresholds
from sdc.report import risk_html, risk_json, risk_text
from sdc.report.risk import risk_title
from sdc.risk import RiskReport
from sdc.risk.assess import FULL_REPORT_RECORDS, Progress
from sdc.risk.engines import CountingEngine, EngineName, get_engine
from sdc.risk.individual import CENSUS_TOLERANCE
from sdc.risk.leave_out import KeyCounts
from sdc.risk.scale import ScaleRiskReport, assess_at_scale, scale_text
from sdc.scan import (
    RECODING_KEYS,
    ColumnGuess,
    ScanResult,
    draft_policy,
    guess_columns,
    scan,
    value_uniqueness,
)

if TYPE_CHECKING:
    from sdc.release.check import CheckResult
    from sdc.release.pipeline import ReleaseResult


def reading_for(
    policy: Policy | None, sheet: str | None = None, reading: ReadOptions | None = None
) -> ReadOptions:
    """How to read the data: the command line's options over the policy's ``data:`` keys.

    Args:
        policy: the policy, whose ``data:`` reading keys are the defaults; None for none.
        sheet: a sheet given on its own (the library's older keyword).
        reading: the command line's reading options.
    """
    options = reading if reading is not None else ReadOptions()
    if sheet is not None and options.sheet is None:
        options = ReadOptions(sheet=sheet).over(options)
    return options if policy is None else options.over(policy.data.reading())


def load_inputs(
    data: Path,
    policy: Path | Policy,
    *,
    sheet: str | None = None,
    reading: ReadOptions | None = None,
) -> tuple[Table, Policy]:
    """Read the policy and the data, and check one against the other before any work.

    The policy is read first (unless it is given already loaded): a malformed policy is
    reported without touching the data. Then every column the policy names must exist,
    every data column must be named (unless ``unlisted`` says otherwise), hierarchies,
    categories and weights must fit the data, and no quasi-identifier may be an
    identifier left without a recode.

    Raises:
        PolicyError: the policy does not fit the data; the message names the line to fix.
        DataError: the data cannot be read, or the weights are not usable.
    """
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    table = read_table(data, options=reading_for(policy, sheet, reading))
    policy.check_against(table.frame.columns, data_name=table.path.name)
    check_unlisted(policy, table.frame, data_name=table.path.name)
    check_hierarchies(policy, table.frame)
    check_categories(policy, table.frame)
    check_weights(policy, table.frame)
    check_identifier_like(policy, table.frame)
    if policy.quasi and policy.thresholds.k > len(table.frame):
        raise PolicyError(
            f"{policy.where('thresholds', 'k')}: k is {policy.thresholds.k} but "
            f"{table.path.name} has only {len(table.frame)} records; no release can reach it"
        )
    return table, policy


def load_related(
    policy: Policy, table: Table, reading: ReadOptions | None = None
) -> tuple[Table, ...]:
    """Read the policy's related tables (repeat groups) and check them as the main data.

    Each table's columns are checked against its own ``columns`` (closed world,
    hierarchies, categories, identifier-like quasi-identifiers); the link column is the
    link's. Then every link must find its parent (:func:`sdc.release.related.check_links`).

    Raises:
        PolicyError: a related table does not fit its policy entry.
        DataError: a related table cannot be read, or its links do not fit the main data.
    """
    from sdc.release.related import check_link_column, check_links, read_related, related_label

    related = read_related(policy, table, reading)
    for i, child in enumerate(related):
        check_link_column(policy, i, child)
        sub = policy.related_policy(i)
        label = related_label(policy, i, child)
        column = policy.related[i].link.column
        body = child.frame.drop(columns=[column], errors="ignore")
        sub.check_against(body.columns, data_name=label)
        check_unlisted(sub, body, data_name=label)
        check_hierarchies(sub, body)
        check_categories(sub, body)
        check_identifier_like(sub, body)
    check_links(policy, table, related)
    return related


def validate_policy(
    policy_path: Path, data: Path | None = None, *, reading: ReadOptions | None = None
) -> Policy:
    """Validate a policy file, and against a data file when one is given."""
    if data is None:
        policy = load_policy(policy_path)
        for name in policy.columns:
            policy.hierarchy(name)
        return policy
    table, policy = load_inputs(data, policy_path, reading=reading)
    if policy.related:
        load_related(policy, table, reading)
    return policy


#: At most this many unlisted columns are described in one message.
_SHOWN_UNLISTED = 10


def _listing(guesses: dict[str, ColumnGuess]) -> str:
    """``'a' (direct: ...), 'b' (quasi: ...)``, at most ten of them."""
    items = [f"{name!r} ({guess.description})" for name, guess in guesses.items()]
    shown = ", ".join(items[:_SHOWN_UNLISTED])
    if len(items) > _SHOWN_UNLISTED:
        shown += f" and {len(items) - _SHOWN_UNLISTED} more (`sdc scan` lists them all)"
    return shown


def check_unlisted(policy: Policy, frame: pd.DataFrame, *, data_name: str = "the data") -> None:
    """The closed world: every data column is named by the policy, or ``unlisted`` says why not.

    A new version of a form adds columns (an emergency contact's name and phone, say);
    they must never go out unseen. With ``unlisted: refuse`` (the default) any column the
    policy does not name is refused, with what ``sdc scan`` thinks it is. With ``drop`` the
    release drops them. With ``keep`` they are kept as role other, but a column that
    looks like an identifier is still refused.

    Raises:
        PolicyError: naming the columns and what each looks like.
    """
    unlisted = unlisted_columns(policy, frame.columns)
    if not unlisted or policy.unlisted == "drop":
        return
    where = policy.where("unlisted")
    guesses = guess_columns(frame, unlisted)
    if policy.unlisted == "refuse":
        raise PolicyError(
            f"{where}: {len(unlisted)} column(s) of {data_name} are not in the policy: "
            f"{_listing(guesses)}; add them under columns (role: direct drops them) or set "
            "unlisted: drop"
        )
    flagged = {name: guess for name, guess in guesses.items() if guess.identifier}
    if flagged:
        raise PolicyError(
            f"{where}: unlisted: keep, but {len(flagged)} column(s) of {data_name} that the "
            f"policy does not name look like identifiers: {_listing(flagged)}; add them "
            "under columns (role: direct drops them)"
        )


def recodes(policy: Policy, name: str) -> bool:
    """Whether the policy changes a column's values (recode, top/bottom code, MDAV, noise)."""
    column = policy.columns[name]
    return any(getattr(column, key) is not None for key in RECODING_KEYS)


def check_identifier_like(policy: Policy, frame: pd.DataFrame) -> None:
    """No quasi-identifier may be an identifier released as it is.

    A quasi-identifier whose values are mostly unique leaves nearly every record alone in
    its key: suppression would have to blank it almost everywhere, and a blank then
    "protects" the few values left. It needs a recode, or role direct.

    Raises:
        PolicyError: naming the column and its share of unique values.
    """
    for name in policy.quasi:
        if recodes(policy, name):
            continue
        uniq = value_uniqueness(frame[name])
        if uniq.identifier_like:
            raise PolicyError(
                f"{policy.where('columns', name)}: quasi-identifier {name!r} is an identifier: "
                f"{uniq.describe()}; give it role: direct (dropped) or recode it "
                "(bands, map, prefix)"
            )


def check_categories(policy: Policy, frame: pd.DataFrame) -> None:
    """Every value of a column with listed ``categories`` is in the list.

    A value missing from the list would silently drop its records from DP tables and
    synthetic data. The message names the values: it is read by the steward only.
    """
    for name, column in policy.columns.items():
        if column.categories is None or name not in frame.columns:
            continue
        listed = {_label(c) for c in column.categories}
        unknown = sorted({_label(v) for v in frame[name].dropna().unique()} - listed)
        if unknown:
            shown = ", ".join(map(repr, unknown[:3]))
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            outside = frame[name].map(_label).isin(unknown) & frame[name].notna()
            raise PolicyError(
                f"{policy.where('columns', name, 'categories')}: {name!r} has values not in "
                f"its categories: {shown}{more} (first: {first_bad(frame, outside)}); "
                "list every category (quote yes/no)"
            )


def _label(value: object) -> str:
    """A category as text, whole floats without their ``.0`` (codes read as 1.0 match 1)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_weights(policy: Policy, frame: pd.DataFrame) -> None:
    """Sampling weights must be numbers, present and at least 1.

    A sampling weight is an expansion weight: the number of people in the population each
    record stands for, so never below 1. Weights normalised to a mean of 1 (or to sum to
    the sample size) are not: the re-identification risk formulas, which estimate
    population frequencies from them, would give risks above 100%. They are refused rather
    than rescaled, since only the steward knows the population they expand to.

    Args:
        policy: the policy naming the weight column.
        frame: the data; the first bad value's record is named as the user's program
            shows it (a CSV line, a workbook row: :func:`sdc.io.first_bad`).

    Raises:
        DataError: naming the policy line, the column and how many values are unusable.
    """
    weight = policy.data.weight
    if weight is None:
        return
    values = pd.to_numeric(frame[weight], errors="coerce")
    unusable = ~(np.isfinite(values) & (values > 0))
    bad = int(unusable.sum())
    if bad and decimal_commas(frame[weight]):
        example = next(v for v in frame[weight].dropna().astype(str) if "," in v)
        raise DataError(
            f"{policy.where('data', 'weight')}: weight column {weight!r} is written with "
            f"decimal commas (e.g. {example!r}); rerun with --decimal , (or add "
            "decimal: ',' under data: in the policy)"
        )
    if bad:
        raise DataError(
            f"{policy.where('data', 'weight')}: weight column {weight!r} has {bad} missing, "
            f"non-numeric, non-positive or infinite values (first: "
            f"{first_bad(frame, unusable, weight)}); every record needs a positive weight"
        )
    low = (values < 1.0 - CENSUS_TOLERANCE).to_numpy()
    below = int(low.sum())
    if below:
        raise DataError(
            f"{policy.where('data', 'weight')}: weight column {weight!r} has {below} "
            f"{'value' if below == 1 else 'values'} below 1 (first: "
            f"{first_bad(frame, low, weight)}); sampling weights are expansion "
            "weights (each record stands for w >= 1 people): give the weights as collected, "
            "not normalised"
        )


def check_hierarchies(policy: Policy, frame: pd.DataFrame) -> None:
    """Every hierarchy file exists, has the level asked for and covers the data's values."""
    for name, column in policy.columns.items():
        if column.recode is None or column.recode.map is None:
            continue
        hierarchy = policy.hierarchy(name)
        assert hierarchy is not None
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


def scan_file(
    data: Path, *, sheet: str | None = None, reading: ReadOptions | None = None
) -> ScanOutcome:
    """Read a data file, profile its columns and draft a policy for it (``sdc scan``).

    The draft's thresholds are tried on the data. If even k alone cannot be met within the
    draft's suppression limit, the reason heads the thresholds (the quasi-identifiers need
    recoding first; l and group share stay as drafted). Otherwise a group-share limit, then
    an l, that makes the release fail is left out with the reason.
    """
    table = read_table(data, options=reading_for(None, sheet, reading))
    name = table.path.name
    result = releasable_draft(table.frame, scan(table.frame), name, table.path)
    text = draft_policy(result, name)
    refusal = release_refusal(table.frame, text, table.path)
    if refusal is None:
        return ScanOutcome(table, result, text)
    k_only = draft_policy(result, name, unmet={"l": "", "group_share": ""})
    k_refusal = release_refusal(table.frame, k_only, table.path)
    if k_refusal is not None:
        return ScanOutcome(table, result, draft_policy(result, name, refusal=k_refusal))
    unmet = {"group_share": refusal}
    with_l = release_refusal(table.frame, draft_policy(result, name, unmet=unmet), table.path)
    if with_l is not None:
        unmet["l"] = with_l
    return ScanOutcome(table, result, draft_policy(result, name, unmet=unmet))


#: The most trial releases :func:`releasable_draft` runs after its cheap key counts.
_DRAFT_TRIALS = 4
#: Trials start once at most this many times ``max_suppression`` of the records are below k:
#: local suppression blanks one value of a record, which often joins it to a larger group.
_TRIAL_FACTOR = 3


def releasable_draft(frame: pd.DataFrame, result: ScanResult, name: str, path: Path) -> ScanResult:
    """Leave out quasi-identifiers, the most singling-out first, until k can be met.

    Too many quasi-identifiers on a few hundred or thousand records leave most of them
    alone in their key: no suppression limit can be met and the draft would never release.
    Quasi-identifiers are dropped one at a time (role ``drop``, with the reason), each time
    the one whose absence leaves the fewest records below k under the draft's recodes
    (cheap key counts; age, sex and the coarsest geography last), until at most
    :data:`_TRIAL_FACTOR` times ``max_suppression`` of the records are below k; then
    trial releases confirm it, dropping one more while they refuse (at most
    :data:`_DRAFT_TRIALS`). A draft that releases as it is comes back unchanged.
    """
    unmet = {"l": "", "group_share": ""}
    try:
        policy = parse_policy(
            draft_policy(result, name, unmet=unmet), source=path.parent / "draft-policy.yaml"
        )
        if len(policy.quasi) <= 1 or policy.outputs.microdata is None:
            return result
        recoded, _ = deterministic_recodes(canonical_sets(frame, policy), policy)
    except SdcError:
        return result
    # Leaving a quasi-identifier out changes only its own line of the draft: the others
    # keep their recodes, so the recoded table is counted once (KeyCounts).
    quasi, k, limit = list(policy.quasi), policy.thresholds.k, policy.thresholds.max_suppression
    keys = KeyCounts(recoded, quasi, k)
    trials = 0
    while len(quasi) > 1:
        if keys.below(quasi) <= _TRIAL_FACTOR * limit:
            text = draft_policy(result, name, unmet=dict(unmet))
            if trials >= _DRAFT_TRIALS or release_refusal(frame, text, path) is None:
                return result
            trials += 1
        core = _core_quasi(result, quasi)
        worst = keys.worst(quasi, [q for q in quasi if q not in core] or quasi)
        result = _left_out(result, worst, k)
        quasi.remove(worst)
    return result


def _core_quasi(result: ScanResult, quasi: list[str]) -> set[str]:
    """Age, sex and the coarsest geography: left out only when nothing else is left."""
    core = {q for q in quasi if result[q].reason.startswith(("age", "sex or gender"))}
    places = [q for q in quasi if result[q].reason.startswith("geography")]
    if places:
        core.add(min(places, key=lambda q: result[q].n_distinct))
    return core


def _left_out(result: ScanResult, name: str, k: int) -> ScanResult:
    """The scan with one quasi-identifier left out of the draft (role drop), saying why."""
    profile = result[name]
    reason = (
        f"{profile.reason}; left out: with the other quasi-identifiers it leaves too many of "
        f"the {result.n_rows} records alone (fewer than k = {k} alike)"
    )
    hint = "to release it, coarsen it (recode) or leave out another quasi-identifier instead"
    kept = {k: v for k, v in profile.suggestions.items() if k == "multiple"}  # options go too
    dropped = replace(profile, role="drop", reason=reason, suggestions=kept, hints=(hint,))
    columns = tuple(dropped if p.name == name else p for p in result.columns)
    return replace(result, columns=columns)


def release_refusal(frame: pd.DataFrame, policy_text: str, data: Path) -> str | None:
    """Why ``sdc release`` would refuse this data's microdata under a policy (None: it would not).

    A trial on the data, without writing anything: the policy's treatments (direct
    identifiers dropped rather than pseudonymised, so no key is needed), the suppression
    limit, then every threshold on the treated records.
    """
    from sdc.release.microdata import treat_microdata  # lazy: the treatments load on demand

    try:
        policy = parse_policy(policy_text, source=data.parent / "draft-policy.yaml")
        if policy.outputs.microdata is None or not policy.quasi:
            return None
        policy = policy.model_copy(
            update={
                "columns": {
                    n: c.model_copy(update={"action": None}) if c.role == "direct" else c
                    for n, c in policy.columns.items()
                }
            }
        )
        treated = treat_microdata(frame, policy, seed=0)
        report = assess(treated.frame, policy, suda=False)
    except SdcError as exc:
        return str(exc)
    return None if report.passed else _breach_list(report)


def _breach_list(report: RiskReport) -> str:
    return "after treatment " + "; ".join(b.describe() for b in report.breaches)


def scan_summary(outcome: ScanOutcome) -> str:
    """A short plain-text table of what the scan found, one line per column.

    Mostly-missing columns whose few values single people out are listed after it, in
    plain words.
    """
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
    findings = [p.finding for p in result.columns if p.finding is not None]
    if findings:
        lines.append("Take care:")
        lines.extend(f"  - {finding}" for finding in findings)
    return "\n".join(lines)


def counting_engine(
    policy: Policy, engine: EngineName | None = None, spark_master: str | None = None
) -> CountingEngine:
    """The engine a command counts with: ``--engine`` if given, else the policy's ``engine``."""
    name = engine or policy.engine
    if name == "spark":
        return get_engine("spark", master=spark_master or "local[2]")
    if spark_master is not None:
        raise DataError("--spark-master only applies to --engine spark")
    return get_engine(name)


@dataclass(frozen=True)
class RiskOutcome:
    """What ``sdc risk`` measured and wrote.

    Attributes:
        table: the data read; None with an out-of-core engine, which reads the file itself.
        report: the risk of the data as collected.
        written: the files written, in the order asked.
        after_recodes: the risk after the policy's deterministic recodes, or None when the
            policy has none (or the engine cannot apply them).
        recodes: the recodes behind ``after_recodes``, in the order applied.
        notes: what the user should know about the measurement (printed on stderr).
        lang: the language of the renderings (``--lang``, else the policy's ``report.lang``).
    """

    table: Table | None
    report: RiskReport | ScaleRiskReport
    written: list[Path]
    after_recodes: RiskReport | None = None
    recodes: tuple[Treatment, ...] = ()
    notes: tuple[str, ...] = ()
    lang: str = "en"

    @property
    def verdict(self) -> RiskReport | ScaleRiskReport:
        """The report the verdict follows: after the policy's recodes when it has any.

        The recodes are part of the policy, so a threshold the recoded data meets is met;
        the risk as collected is shown for comparison.
        """
        return self.report if self.after_recodes is None else self.after_recodes

    @property
    def passed(self) -> bool:
        """True when every threshold holds in :attr:`verdict` (``sdc risk`` exits 0)."""
        return self.verdict.passed


def recodes_of_release(
    frame: pd.DataFrame, policy: Policy
) -> tuple[pd.DataFrame, tuple[Treatment, ...]]:
    """The data as the policy's deterministic recodes leave it, and those recodes.

    These are the recodes ``sdc release`` applies as its ``recode`` step (bands, maps with
    a level, prefixes, dates, grids, top and bottom coding), unless the policy's
    ``outputs.microdata.treatments`` leaves ``recode`` out. Local suppression, the optimal
    search and the random treatments depend on the data or on chance and are not applied.

    Returns:
        The recoded copy (the input itself when nothing applies) and the recodes, in order.
    """
    if not _release_recodes(policy):
        return frame, ()
    recoded, done = deterministic_recodes(frame, policy)
    return recoded, tuple(done)


def _release_recodes(policy: Policy) -> bool:
    """Whether ``sdc release`` runs its recode step (unless the microdata treatments omit it)."""
    spec = policy.outputs.microdata
    return spec is None or "recode" in spec.treatments


def run_risk(
    data: Path,
    policy_path: Path,
    *,
    sheet: str | None = None,
    reading: ReadOptions | None = None,
    engine: EngineName | None = None,
    spark_master: str | None = None,
    json_path: Path | None = None,
    html_path: Path | None = None,
    records_path: Path | None = None,
    lang: str | None = None,
    suda: bool = False,
    progress: Progress | None = None,
) -> RiskOutcome:
    """``sdc risk``: read, validate, measure and write the requested renderings.

    With the pandas engine the file is read into memory and every measure is computed, on
    the data as collected and, when the policy recodes a quasi-identifier or a sensitive
    column, again after its deterministic recodes (:func:`recodes_of_release`): the
    verdict and the advice come from the latter, and the per-record file holds its risks.
    With ``duckdb`` or ``spark`` the engine reads the file itself, the frequency-based
    measures, l-diversity and group disclosure are computed, on the data as collected (a
    note says so when the policy recodes), and per-record results go straight from the engine to
    ``records_path`` (Parquet). ``lang`` (else the policy's ``report.lang``) is the
    language of the HTML report and of the terminal text. Above
    :data:`~sdc.risk.assess.FULL_REPORT_RECORDS` records SUDA2 and the per-variable
    contributions are left out (the report says so) unless ``suda`` is true; ``progress``
    follows them as ``(label, done, total)``.
    """
    check_outputs_spare_input(data, json_path, html_path, records_path)
    policy = load_policy(policy_path)
    lang = lang or policy.report.lang
    counter = counting_engine(policy, engine, spark_master)
    if counter.name != "pandas":
        _refuse_reading_options(counter.name, reading_for(policy, sheet, reading))
        if suda:
            raise DataError(
                f"--suda needs the data in memory: the {counter.name} engine computes only the "
                "frequency-based measures; run sdc risk without --engine"
            )
        if policy.multiple_choice:
            raise PolicyError(
                f"{policy.where('columns', policy.multiple_choice[0], 'multiple')}: the "
                f"{counter.name} engine reads the file as it is and cannot read a "
                "multiple-choice question as one set of answers; run sdc risk without --engine"
            )
        report = _risk_out_of_core(data, policy, counter, html_path, records_path)
        written = write_risk_outputs(
            report, data, json_path=json_path, html_path=html_path, records_path=records_path
        )
        recoded = [c for c in recoded_columns(policy) if c in _measured(policy)]
        if not recoded or not _release_recodes(policy):
            return RiskOutcome(None, report, written, lang=lang)
        note = (
            f"the {counter.name} engine measures the data as collected: the policy's recodes "
            f"of {', '.join(recoded)} are not applied; run without --engine to see the risk "
            "after them"
        )
        return RiskOutcome(None, report, written, notes=(note,), lang=lang)
    table, policy = load_inputs(data, policy, sheet=sheet, reading=reading)
    skip_above = None if suda else FULL_REPORT_RECORDS
    collected = assess(
        table.frame, policy, skip_above=skip_above, progress=progress, numeric_from=table.frame
    )
    frame, recodes = recodes_of_release(table.frame, policy)
    if not any(c in _measured(policy) for t in recodes for c in t.columns):
        recodes = ()  # recodes of other columns leave every figure as it is
    after = (
        assess(frame, policy, skip_above=skip_above, progress=progress, numeric_from=table.frame)
        if recodes
        else None
    )
    written = write_risk_outputs(
        collected,
        data,
        json_path=json_path,
        html_path=html_path,
        records_path=records_path,
        after_recodes=after,
        recodes=recodes,
        lang=lang,
        reading=table.reading,
    )
    notes: tuple[str, ...] = ()
    if policy.related:
        from sdc.release.related import joined_note, joined_view_of

        related = load_related(policy, table, reading)
        notes = (joined_note(policy, joined_view_of(policy, table, frame, related)),)
    return RiskOutcome(table, collected, written, after, recodes, notes=notes, lang=lang)


def _measured(policy: Policy) -> set[str]:
    """The columns a risk report depends on: quasi-identifiers and sensitive columns."""
    return {*policy.quasi, *policy.sensitive}


def _refuse_reading_options(engine: str, options: ReadOptions) -> None:
    """The out-of-core engines read the file themselves, guessing its delimiter.

    Raises:
        DataError: a reading option is given (on the command line or under ``data:``),
            which that engine would not follow.
    """
    given = [
        f"--{key.replace('_', '-')}"
        for key in ("delimiter", "decimal", "encoding", "header_row")
        if getattr(options, key) is not None
    ]
    if given:
        raise DataError(
            f"the {engine} engine reads the file itself and cannot follow {', '.join(given)} "
            "(or the same keys under data: in the policy); convert the file to UTF-8 CSV "
            "with a header in row 1, or run without --engine"
        )


def _risk_out_of_core(
    data: Path,
    policy: Policy,
    counter: CountingEngine,
    html_path: Path | None,
    records_path: Path | None,
) -> ScaleRiskReport:
    policy.check_against(read_columns(data), data_name=Path(data).name)
    assess_policy_has_quasi(policy)
    if html_path is not None:
        raise DataError(
            f"--html needs every measure, which only the in-memory engine computes; use "
            f"--json with --engine {counter.name}, or run without --engine"
        )
    if records_path is not None and records_path.suffix.lower() not in (".parquet", ".pq"):
        raise DataError(
            f"{records_path}: with --engine {counter.name} per-record results are written as "
            "Parquet; name the file .parquet"
        )
    return assess_at_scale(
        str(data),
        quasi=policy.quasi,
        weight=policy.data.weight,
        household=policy.data.household,
        missing=policy.missing,
        thresholds=risk_thresholds(policy),
        counter=counter,
        records_path=records_path,
        sensitive=policy.sensitive,
    )


def check_outputs_spare_input(data: Path, *outputs: Path | None) -> None:
    """Refuse an output path that is the input file: the input is never overwritten."""
    for path in outputs:
        if path is not None and path.resolve() == Path(data).resolve():
            raise DataError(f"{path}: refusing to overwrite the input data")


def risk_summary_text(outcome: RiskOutcome) -> str:
    """The terminal rendering of what ``sdc risk`` measured.

    With the policy's recodes: the risk as collected, the recodes and the risk after them.
    """
    report = outcome.report
    if isinstance(report, ScaleRiskReport):
        return scale_text(report)
    with language(outcome.lang):
        return risk_text(report, after_recodes=outcome.after_recodes, recodes=outcome.recodes)


def write_risk_outputs(
    report: RiskReport | ScaleRiskReport,
    data: Path,
    *,
    json_path: Path | None = None,
    html_path: Path | None = None,
    records_path: Path | None = None,
    after_recodes: RiskReport | None = None,
    recodes: tuple[Treatment, ...] = (),
    lang: str | None = None,
    reading: Reading | None = None,
) -> list[Path]:
    """Write the requested renderings of a risk report; never over the input file.

    With ``after_recodes`` the JSON and HTML hold both reports, labelled, and the
    per-record file holds the risks after the recodes (the ones the verdict follows). With
    an out-of-core engine the per-record file was already written by the engine. The HTML
    says how the file was read (``reading``) when it was read into memory.
    """
    check_outputs_spare_input(data, json_path, html_path, records_path)
    if isinstance(report, ScaleRiskReport):
        if json_path is not None:
            write_text(json_path, json.dumps(report.to_dict(), indent=2) + "\n")
        return [p for p in (json_path, records_path) if p is not None]
    if json_path is not None:
        document = risk_json(report, after_recodes=after_recodes, recodes=recodes)
        write_text(json_path, json.dumps(document, indent=2) + "\n")
    if html_path is not None:
        with language(lang):
            title = risk_title(Path(data).name)
            html = risk_html(
                report,
                title=title,
                after_recodes=after_recodes,
                recodes=recodes,
                reading=reading,
            )
        write_text(html_path, html)
    if records_path is not None:
        write_csv((report if after_recodes is None else after_recodes).records, records_path)
    return [p for p in (json_path, html_path, records_path) if p is not None]


def run_release(
    data: Path,
    policy_path: Path,
    out: Path,
    *,
    sheet: str | None = None,
    reading: ReadOptions | None = None,
    force: bool = False,
    key_file: Path | None = None,
    seed: int | None = None,
    engine: EngineName | None = None,
    spark_master: str | None = None,
    progress: Callable[[str], None] | None = None,
    sign: Path | None = None,
    lang: str | None = None,
    meter: Callable[[str, int, int], None] | None = None,
) -> ReleaseResult:
    """``sdc release``: read, validate, treat and write the bundle.

    Treatments run in memory; the chosen engine counts the keys of the risk checks. A
    signing key (``sign``), the target folder and the pseudonym keys are checked first,
    before the data is read, so a bad key or path costs nothing.
    """
    from sdc.release.pipeline import check_release_paths, release
    from sdc.release.signing import load_signing_key

    signer = load_signing_key(sign) if sign is not None else None
    policy = load_policy(policy_path)
    # Paths and keys before the data is read: a typo costs nothing (issue 18).
    sign_path = signer.path if signer is not None else None
    check_release_paths(policy, data, out, key_file, sign=sign_path, force=force)
    table, policy = load_inputs(data, policy, sheet=sheet, reading=reading)
    related = load_related(policy, table, reading)
    counter = counting_engine(policy, engine, spark_master)
    return release(
        table,
        policy,
        out,
        related=related,
        force=force,
        key_file=key_file,
        seed=seed,
        engine=counter,
        progress=progress,
        sign=signer,
        lang=lang,
        meter=meter,
    )


def run_check(
    bundle: Path,
    policy_path: Path,
    *,
    data: Path | None = None,
    sheet: str | None = None,
    reading: ReadOptions | None = None,
    trust: Path | None = None,
    input_key: Path | None = None,
) -> CheckResult:
    """``sdc check``: verify a bundle against a policy, its input and its signature.

    ``input_key`` is the file with a DP bundle's input-hash key (``--input-key``, only with
    ``data``); it is read before the data.

    Raises:
        PolicyError: the policy is malformed or cannot be planned.
        DataError: the bundle has no readable manifest, the input cannot be read, the
            trusted key is not a public key, or the input key file is missing or malformed.
    """
    from sdc.release.check import check_bundle, read_input_key
    from sdc.release.signing import load_public_key

    trusted = load_public_key(trust) if trust is not None else None
    key = read_input_key(input_key) if input_key is not None else None
    policy = load_policy(policy_path)
    options = reading_for(policy, sheet, reading)
    table = read_table(data, options=options) if data is not None else None
    related = None
    if table is not None and policy.related:
        from sdc.release.related import read_related

        related = read_related(policy, table, reading)
    return check_bundle(bundle, policy, table, trust=trusted, input_key=key, related=related)


def run_argus(
    data: Path,
    policy_path: Path,
    out: Path,
    *,
    reading: ReadOptions | None = None,
) -> list[Path]:
    """``sdc argus``: the policy's suppression tables in tau-Argus' format, for the office.

    Raises:
        DataError: ``out`` is a release bundle (the files hold every true cell value), or
            the policy has no cell-suppression table.
    """
    from sdc.release.pipeline import suppression_tables
    from sdc.tables.argus import write_argus

    if (out / "manifest.json").exists() or (out / "manifest.json.pending").exists():
        raise DataError(
            f"{out} is a release bundle; the tau-Argus files hold every true cell value, "
            "suppressed ones included: write them to a folder of their own"
        )
    table, policy = load_inputs(data, policy_path, reading=reading)
    tables = suppression_tables(table, policy)
    if not tables:
        raise DataError(
            f"{policy_path} has no table protected by cell suppression (min_cell, dominance, "
            "p_percent, pq, group_share or cells: status suppress) to export"
        )
    written: list[Path] = []
    for protected, hierarchies in tables:
        written += write_argus(protected, out, hierarchies)
    return written


def budget_ledger(policy_path: Path | None = None, ledger_path: Path | None = None) -> Ledger:
    """The ledger ``sdc budget`` reads: ``--ledger``, else the policy's, else the fallbacks.

    Args:
        policy_path: a policy whose ``privacy.ledger`` names the ledger.
        ledger_path: the ledger file itself.
    """
    from sdc.release.ledger import ledger_for
    from sdc.release.pipeline import policy_ledger

    if ledger_path is not None:
        return Ledger(ledger_path, setting="--ledger")
    if policy_path is not None:
        return policy_ledger(load_policy(policy_path))
    return ledger_for(None, None)


def budget_summary(
    policy_path: Path | None = None,
    ledger_path: Path | None = None,
    bundles: list[Path] | None = None,
) -> tuple[Ledger, list[LedgerSummaryRow], list[str]]:
    """``sdc budget``: the ledger, its per-dataset totals, and notes.

    The notes say what reading the ledger skipped (a partial last line) and which of
    ``bundles`` spent budget this ledger has no entry for.
    """
    ledger = budget_ledger(policy_path, ledger_path)
    notes = ledger.notes() + unrecorded_bundles(ledger, bundles or [])
    return ledger, ledger.summary(), notes


def unrecorded_bundles(ledger: Ledger, bundles: list[Path]) -> list[str]:
    """Bundles that spent budget the ledger does not know of (released with another ledger).

    A DP bundle's manifest names its ledger entry (``privacy.ledger_entry``); a bundle whose
    entry is not in this ledger spent epsilon that does not count here.

    Args:
        ledger: the ledger ``sdc budget`` reads.
        bundles: release bundle folders to compare with it.

    Returns:
        One line per such bundle.

    Raises:
        DataError: a folder is not a release bundle.
    """
    from sdc.release.bundle import read_manifest
    from sdc.release.manifest import ManifestFieldError, Privacy, read_fields

    known = {e.id for e in ledger.entries() if e.id}
    found = []
    for folder in bundles:
        privacy = read_manifest(folder).get("privacy")
        privacy = privacy if isinstance(privacy, dict) else {}
        try:
            spent = read_fields(Privacy, privacy, ["spent"], "privacy")["spent"]
        except ManifestFieldError:
            continue  # no readable spending: nothing to compare with the ledger
        if spent is None or spent.epsilon <= 0:
            continue
        epsilon = spent.epsilon
        if privacy.get("ledger_entry") in known:
            continue
        found.append(
            f"{folder} spent epsilon {format_number(epsilon)} on dataset "
            f"{privacy.get('dataset') or '(unnamed)'} with no entry in {ledger.shown} "
            f"(its manifest names the ledger {privacy.get('ledger') or '(none)'}); that "
            "spending does not count here"
        )
    return found


def budget_raise(
    dataset: str,
    epsilon: float,
    reason: str,
    *,
    policy_path: Path | None = None,
    ledger_path: Path | None = None,
) -> tuple[Ledger, Budget, Budget]:
    """``sdc budget raise``: record a dataset's new cap and why; returns the old and new cap."""
    ledger = budget_ledger(policy_path, ledger_path)
    old, new = ledger.raise_cap(dataset, epsilon, reason)
    return ledger, old, new


def budget_table(rows: list[LedgerSummaryRow]) -> str:
    """The ledger summary as a plain-text table."""
    lines = [("dataset", "releases", "epsilon", "cap", "delta", "last release", "policies")]
    for r in rows:
        releases = str(r.releases)
        if r.incomplete:
            releases += f" ({r.incomplete} incomplete)"
        lines.append(
            (
                r.dataset,
                releases,
                format_number(r.spent.epsilon),
                "-" if r.cap is None else format_number(r.cap.epsilon),
                format_number(r.spent.delta),
                r.last_release,
                ", ".join(r.policies),
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(7)]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
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

    ``rows`` is 3,000 to 20,000 (:data:`sdc.demo.DEMO_MIN_ROWS`: the demo meets its policy
    from there). The folder must not exist yet (nothing is overwritten). The release's own
    pseudonymisation key is kept in ``OUT/release.pseudonym-key``, outside the bundle, as
    for every release.
    """
    from sdc.demo import (
        DEMO_MIN_ROWS,
        MAX_ROWS,
        demo_policy_text,
        make_survey,
        village_hierarchy_csv,
    )
    from sdc.io import write_csv, write_text_new
    from sdc.release.check import check_bundle
    from sdc.release.pipeline import release

    step = progress or (lambda _label: None)
    if not DEMO_MIN_ROWS <= rows <= MAX_ROWS:
        raise DataError(
            f"--rows must be from {DEMO_MIN_ROWS} to {MAX_ROWS}, not {rows}: with fewer than "
            f"{DEMO_MIN_ROWS} rows the demo survey does not always meet its own policy"
        )
    if out.exists():
        raise DataError(f"{out}: already exists; sdc demo writes into a new folder")
    step("writing the demo survey")
    survey = make_survey(rows=rows, seed=seed)
    out.mkdir(parents=True)
    data = out / "survey.csv"
    write_csv(survey, data, escape=False)  # the input, read back verbatim: phones keep their +
    policy_path = out / "policy.yaml"
    write_text_new(policy_path, demo_policy_text())
    write_text_new(out / "hierarchies" / "village.csv", village_hierarchy_csv())
    step("scanning")
    scanned = scan_file(data)
    draft = out / "draft-policy.yaml"
    write_text_new(draft, scanned.policy_text)
    step("measuring risk")
    table, policy = load_inputs(data, policy_path)
    before = assess(table.frame, policy)
    write_risk_outputs(before, data, json_path=out / "risk.json", html_path=out / "risk.html")
    step("releasing")
    # The demo spends from its own ledger, not the user's, unless SDC_LEDGER says otherwise.
    ledger = Ledger() if os.environ.get("SDC_LEDGER") else Ledger(out / "ledger.jsonl")
    result = release(table, policy, out / "release", seed=seed, ledger=ledger, progress=step)
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


def demo_summary(outcome: DemoOutcome) -> str:
    """Where ``sdc demo`` put everything and what the release achieved, in a few lines."""
    before, after = outcome.before, outcome.release.after
    lines = [
        f"Demo written to {outcome.folder}/:",
        f"  {outcome.data.name:<18} the fake survey ({before.n_records:,} respondents, "
        "with direct identifiers)",
        f"  {outcome.policy.name:<18} the policy used (edit it and re-run the commands below)",
        f"  {outcome.draft_policy.name:<18} what `sdc scan` drafts from the data alone",
        f"  {outcome.risk_html.name:<18} the risk report before treatment (open it in a browser)",
        f"  {'release/':<18} the release bundle: microdata, tables, report.html, manifest.json",
    ]
    key = outcome.release.pseudonym_key
    if key is not None:
        lines.append(f"  {key.name:<18} its pseudonym key (private: never share it)")
    if after is not None:
        lines.append(
            f"\nAfter treatment: smallest group {int(after.records['f_k'].min())} "
            f"(k = {after.thresholds.k}), expected re-identifications "
            f"{before.expected_reidentifications:.1f} -> {after.expected_reidentifications:.1f}."
        )
    lines.append(f"`sdc check` on the bundle: {'PASS' if outcome.check.passed else 'FAIL'}")
    lines.append(f"\nTry: sdc risk {outcome.data} --policy {outcome.policy}")
    return "\n".join(lines)
