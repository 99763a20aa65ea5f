"""``sdc release``: treat the data by the policy and write a verifiable bundle.

Everything is computed first, in memory; only when every output exists and every
threshold holds is the bundle written, into a temporary folder renamed into place, its
manifest put in place last. A policy that cannot be met raises
:class:`~sdc.errors.PolicyNotMet` and nothing is written.

The privacy budget is charged to the policy's ``privacy.dataset``. It is checked against the
ledger before any work, and written ahead (fsynced) before any DP measurement runs; a second
line marks the release complete once its bundle is in place. A crash can therefore only
over-count spending, never under-count it: an entry never completed still counts.

With a signing key the manifest names its signer and is signed (``manifest.sig``) inside
the staged folder, so a bundle in place is always complete with its signature. Pseudonyms
get a fresh key per release unless a column says ``linkable: true``; that key is written
for the steward beside the bundle, never into it: ``OUT.pseudonym-key`` (mode 0600).
"""

from __future__ import annotations

import glob
import hashlib
import hmac
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

import sdc
from sdc.anonymize.identifiers import load_pseudonym_key, new_pseudonym_key
from sdc.anonymize.multiple import canonical_sets
from sdc.anonymize.utility import numeric_utility
from sdc.budget import Budget
from sdc.errors import DataError, PolicyError, PolicyNotMet
from sdc.fingerprint import Fingerprint, content_fingerprint
from sdc.i18n import language
from sdc.io import Reading, Table, fsync_folder, write_csv, write_parquet, write_text
from sdc.policy import AIM_MAX_SECONDS, Policy
from sdc.release.bundle import MANIFEST, check_target, output_hashes, staged_folder, write_json
from sdc.release.ledger import Ledger, LedgerEntry, ledger_for
from sdc.release.manifest import (
    BudgetRecord,
    Guarantee,
    Input,
    InputReading,
    Joined,
    Link,
    Manifest,
    Microdata,
    NumericUtility,
    Output,
    Privacy,
    RelatedTable,
    Risk,
    RiskSummary,
    Signer,
    TableRecord,
    Tool,
    Treatment,
    output_records,
)
from sdc.release.microdata import Meter, TreatedMicrodata, pseudonym_columns, treat_microdata
from sdc.release.plan import (
    assess,
    codebook,
    suda_note,
    synthetic_plan,
    table_hierarchies,
    table_spec,
)
from sdc.release.related import (
    RelatedRelease,
    check_links,
    read_related,
    shuffled,
    treat_related,
)
from sdc.release.signing import SIGNATURE, SigningKey, sign_manifest, signer_entry, write_secret
from sdc.report.release import release_html
from sdc.risk import RiskReport
from sdc.risk.engines import CountingEngine
from sdc.risk.numeric import numeric_columns

if TYPE_CHECKING:  # tables and synthesis load scipy and OpenDP: only when a policy asks
    from sdc.synth import SynthEvaluation, SynthResult
    from sdc.tables import ProtectedTable

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
    signer: str | None = None  # fingerprint of the signing key
    pseudonym_key: Path | None = None  # the per-release pseudonym key, outside the bundle
    related: RelatedRelease | None = None  # the related tables (repeat groups), treated
    input_key: Path | None = None  # a DP bundle's input-hash key, outside the bundle
    evaluation_file: Path | None = None  # a DP bundle's synthetic evaluation, outside it
    lang: str = "en"  # the language of report.html (and of the closing summary)

    @property
    def files(self) -> list[str]:
        """The bundle's files, relative to its folder."""
        return [*self.manifest["outputs"], MANIFEST, *([SIGNATURE] if self.signer else [])]


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
    sign: SigningKey | None = None,
    lang: str | None = None,
    meter: Meter | None = None,
    related: tuple[Table, ...] | None = None,
) -> ReleaseResult:
    """Treat ``table`` by ``policy`` and write the bundle to ``out``.

    Args:
        table: the input data (as read by :func:`sdc.io.read_table`).
        policy: the validated policy, already checked against the data's columns.
        out: the bundle folder; must not exist unless ``force``.
        force: replace an existing bundle folder, only after the new one is complete.
        key_file: file with the key of linkable pseudonyms (else ``SDC_PSEUDONYM_KEY``);
            only for a policy with a ``linkable: true`` column.
        seed: seed of the non-DP randomness (PRAM, noise, rounding, synthetic sampling).
        ledger: the privacy-budget ledger (default: the policy's ``privacy.ledger``, else
            ``SDC_LEDGER``, else ``~/.sdc/ledger.jsonl``).
        engine: the counting engine of the risk checks (default: in memory).
        progress: called with a short label as each step starts.
        sign: the key that signs the manifest (:func:`sdc.release.signing.load_signing_key`).
        lang: the language of ``report.html`` (``en``, ``fr`` or ``es``); None: the
            policy's ``report.lang``.
        meter: told ``(step, done, total)`` during local suppression and the generalisation
            search (a progress bar with an estimate).
        related: the policy's related tables (``related:``), read and checked against
            their policy entries by :func:`sdc.workflow.load_related` (as ``table`` by
            :func:`sdc.workflow.load_inputs`); when None they are read here, links checked.

    Raises:
        PolicyNotMet: a threshold cannot be met; nothing is written.
        BudgetExceeded: the DP outputs would pass the policy's budget for this dataset.
        PolicyError: a key file without a linkable column, or a linkable column without
            a usable key.
    """
    step = progress or (lambda _label: None)
    ledger = ledger or policy_ledger(policy)
    if related is None:
        related = read_related(policy, table) if policy.related else ()
    check_links(policy, table, related)
    inputs = [t.path for t in related]
    pseudonym_key = _preflight(table, policy, out, key_file, ledger, sign, inputs, force=force)
    started = _now()
    request = Budget(policy.dp_epsilon, policy.dp_delta)
    cap = Budget(policy.privacy.budget, policy.privacy.delta)
    new_ledger = request.epsilon > 0 and not ledger.exists()
    ledger_notes = tuple(ledger.notes()) if request.epsilon > 0 else ()
    fingerprint = _check_budget(ledger, table, policy, request, cap)

    before, treated, after, linked = _treat(
        table, related, policy, seed, key_file, pseudonym_key, engine, step, meter
    )
    # Written ahead: from here on the epsilon counts as spent, whatever happens next.
    entry = _spend_ahead(ledger, table, policy, request, cap, fingerprint)
    tables, synthetic, evaluation = _aggregates(table.frame, policy, seed, engine, step)

    step("writing the bundle")
    kept_key = pseudonym_key if treated is not None else None
    dp_bundle = is_dp_bundle(policy)
    result = ReleaseResult(
        out,
        {},
        before,
        after,
        treated,
        tables,
        synthetic,
        evaluation,
        _spent(tables, synthetic),
        notes=table.notes
        + ledger_notes
        + _new_ledger_note(ledger, new_ledger)
        + (suda_note(policy) if before.suda is not None else ()),
        signer=sign.fingerprint if sign else None,
        pseudonym_key=pseudonym_key_path(out) if kept_key is not None else None,
        related=linked,
        input_key=steward_path(out, "input-key") if dp_bundle else None,
        evaluation_file=(
            steward_path(out, "evaluation.json") if dp_bundle and evaluation is not None else None
        ),
        lang=lang or policy.report.lang,
    )
    facts = _ledger_facts(ledger, policy, entry)
    input_key = secrets.token_bytes(32) if dp_bundle else None
    _write_bundle(
        result, table, policy, cap, started, facts, seed, sign, kept_key, input_key, force=force
    )
    if entry is not None:
        ledger.complete(entry, str(out))
    return result


def _preflight(
    table: Table,
    policy: Policy,
    out: Path,
    key_file: Path | None,
    ledger: Ledger,
    sign: SigningKey | None,
    related: list[Path],
    *,
    force: bool,
) -> bytes | None:
    """Everything refused before any work or budget: the target, keys, outputs, values.

    Returns:
        The per-release pseudonym key (None when no column needs one).
    """
    pseudonym_key = check_release_paths(
        policy,
        table.path,
        out,
        key_file,
        ledger,
        sign.path if sign else None,
        related=related,
        force=force,
    )
    if is_dp_bundle(policy) and not force:
        for kept in (steward_path(out, "input-key"), steward_path(out, "evaluation.json")):
            if kept.exists() or kept.is_symlink():
                raise DataError(
                    f"{kept}: already exists (kept by an earlier release for its steward); "
                    "choose a new --out folder"
                )
    if not (policy.outputs.microdata or policy.outputs.tables or policy.outputs.synthetic):
        raise PolicyError(
            f"{policy.where('outputs')}: the policy asks for no output; add outputs.microdata, "
            "outputs.tables or outputs.synthetic"
        )
    _clear_leftovers(out)
    if policy.outputs.tables:  # broken values are refused before any budget is charged
        from sdc.tables import check_finite

        for i in range(len(policy.outputs.tables)):
            check_finite(table.frame, table_spec(policy, i))
    return pseudonym_key


def check_release_paths(
    policy: Policy,
    data: Path,
    out: Path,
    key_file: Path | None,
    ledger: Ledger | None = None,
    sign: Path | None = None,
    *,
    related: Sequence[Path] = (),
    force: bool = False,
) -> bytes | None:
    """The checks of a release that need no data, made before it is read or treated.

    The target (not an input, not an existing folder unless ``force``, creatable), and the
    pseudonym keys (a key file only with a linkable column, a linkable column's key
    readable, no earlier per-release key in the way): a bad path or a missing key is
    reported at once, never after the heavy work.

    Returns:
        A fresh per-release pseudonym key (None when no column needs one).
    """
    ledger = ledger or policy_ledger(policy)
    inputs = _inputs(data, policy, key_file, ledger) + ([sign] if sign else []) + list(related)
    check_target(out, inputs, force=force)
    _check_creatable(out)
    return _pseudonym_key(policy, out, key_file, force=force)


def _check_creatable(out: Path) -> None:
    """Refuse a bundle folder that could not be created where it is asked for."""
    if out.exists():
        return  # an earlier bundle, replaced with --force (check_target allowed it)
    ancestor = out.parent if str(out.parent) else Path(".")
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        problem = f"{ancestor} is not a folder"
    elif not os.access(ancestor, os.W_OK | os.X_OK):
        problem = f"no permission to write in {ancestor}"
    else:
        return
    raise DataError(
        f"{out}: cannot create the release folder ({problem}); choose another --out folder"
    )


def _treat(
    table: Table,
    related: tuple[Table, ...],
    policy: Policy,
    seed: int | None,
    key_file: Path | None,
    pseudonym_key: bytes | None,
    engine: CountingEngine | None,
    step: Progress,
    meter: Meter | None = None,
) -> tuple[RiskReport, TreatedMicrodata | None, RiskReport | None, RelatedRelease | None]:
    """Risk before, the treated microdata (and related tables) and its risk after.

    Refuses if a threshold fails, on the main records or on their joined view. The
    treatment and the thresholds come first, SUDA (the slow, informational part of the
    risk reports) last: a release that is refused is refused before it.
    """
    if policy.outputs.microdata is None:
        step("risk before treatment")
        return assess(table.frame, policy, engine=engine), None, None, None
    step("treating microdata")
    treated = treat_microdata(
        table.frame, policy, seed=seed, key_file=key_file, pseudonym_key=pseudonym_key, meter=meter
    )
    linked = None
    if related:
        step("treating related tables on the joined view")
        treated, linked = treat_related(
            policy, table, treated, related, pseudonym_key=pseudonym_key, key_file=key_file
        )
    step("risk after treatment")
    quick = assess(treated.frame, policy, engine=engine, suda=False)
    if quick.breaches:
        raise PolicyNotMet(_not_met(quick, policy))
    step("risk before and after treatment with SUDA")
    original = table.frame
    before = assess(original, policy, engine=engine, numeric_from=original)
    after = assess(treated.frame, policy, engine=engine, numeric_from=original)
    return before, treated, after, linked


def _aggregates(
    frame: pd.DataFrame,
    policy: Policy,
    seed: int | None,
    engine: CountingEngine | None,
    step: Progress,
) -> tuple[tuple[ProtectedTable, ...], SynthResult | None, SynthEvaluation | None]:
    """The protected tables and the synthetic records (the DP measurements run here)."""
    base = _without_identifiers(frame, policy)
    tables: tuple[ProtectedTable, ...] = ()
    if policy.outputs.tables:
        step("building tables")
        tables = _build_tables(base, policy, seed, engine)
    synthetic = evaluation = None
    if policy.outputs.synthetic is not None:
        step("synthesising records")
        synthetic, evaluation = _synthesize(base, policy, seed)
    return tables, synthetic, evaluation


def _spent(tables: tuple[ProtectedTable, ...], synthetic: SynthResult | None) -> Budget:
    """The privacy budget the DP outputs of this release spent."""
    spent = sum((t.budget for t in tables), Budget.zero())
    if synthetic is not None:
        spent = spent + Budget(synthetic.epsilon, synthetic.delta)
    return spent


def _write_bundle(
    result: ReleaseResult,
    table: Table,
    policy: Policy,
    cap: Budget,
    started: str,
    ledger_facts: dict[str, Any],
    seed: int | None,
    sign: SigningKey | None,
    pseudonym_key: bytes | None,
    input_key: bytes | None,
    *,
    force: bool,
) -> None:
    """Write the outputs, report and manifest into a staged folder, then put it in place.

    The manifest is written under another name until the folder is in place (a folder left
    by a crash has no manifest.json, so ``sdc check`` refuses it) and signed there; the
    per-release pseudonym key is kept beside the bundle only once the bundle is in place.
    A DP bundle's input-hash key and synthetic evaluation are kept for the steward beside
    the bundle once it is in place (:func:`_keep_for_steward`).
    """
    out = result.out
    keyed = keyed_sha256(table.path, input_key) if input_key is not None else None
    with _kept_key(out, pseudonym_key, force=force), staged_folder(out, force=force) as tmp:
        rows = _write_outputs(
            tmp,
            result.microdata,
            result.related,
            result.tables,
            result.synthetic,
            None if result.evaluation_file else result.evaluation,
            result.before,
            result.after,
            hidden=_unordered_columns(policy),
        )
        made = _manifest(
            result,
            table,
            policy,
            cap,
            started,
            output_records(output_hashes(tmp), rows),
            ledger_facts=ledger_facts,
            seed_given=seed is not None,
            keyed_input=keyed,
            # before signing, so that the signature covers the claim
            signer=signer_entry(sign) if sign is not None else None,
        )
        result.manifest.update(made.to_json())  # what the report reads
        with language(result.lang):
            html = release_html(
                result, table.path.name, original=table.frame, reading=table.reading
            )
        write_text(tmp / "report.html", html)
        made = made.finish(output_records(output_hashes(tmp), rows), _now())
        result.manifest.update(made.to_json())
        write_json(tmp / PENDING_MANIFEST, made.to_json())
        if sign is not None:  # the pending manifest's bytes are manifest.json's once sealed
            sign_manifest(tmp, sign, PENDING_MANIFEST)
    _seal(out)
    _keep_for_steward(result, input_key, force=force)


def is_dp_bundle(policy: Policy) -> bool:
    """Whether the policy's bundle is a DP bundle: DP outputs and no microdata.

    A DP bundle publishes only DP results and public facts: no exact record count, no
    figure computed on the real records without noise, the input identified by a keyed hash.
    Beside released microdata the record count and the records themselves are published
    anyway, so such a bundle keeps the plain figures.
    """
    return policy.outputs.microdata is None and policy.dp_epsilon > 0


def steward_path(out: Path, kind: str) -> Path:
    """A steward-only file kept beside the bundle: ``OUT.KIND`` (never inside it)."""
    base = out if out.name else out.resolve()  # "." has no name of its own
    return base.with_name(f"{base.name}.{kind}")


def keyed_sha256(path: Path, key: bytes) -> str:
    """HMAC-SHA256 of a file's bytes under ``key`` (how a DP bundle names its input).

    A plain SHA-256 would let anyone holding candidate neighbouring files tell which one was
    released; under a secret per-release key only the steward, who keeps the key, can.
    """
    mac = hmac.new(key, digestmod=hashlib.sha256)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            mac.update(block)
    return mac.hexdigest()


def _keep_for_steward(result: ReleaseResult, input_key: bytes | None, *, force: bool) -> None:
    """Write a DP bundle's steward-only files beside it (mode 0600): key and evaluation."""
    files: list[tuple[Path | None, bytes]] = []
    if input_key is not None:
        files.append((result.input_key, input_key.hex().encode("ascii") + b"\n"))
    if result.evaluation is not None:
        text = json.dumps(result.evaluation.to_dict(), indent=2, allow_nan=False)
        files.append((result.evaluation_file, text.encode("utf-8") + b"\n"))
    for path, data in files:
        if path is None:
            continue
        if force:
            path.unlink(missing_ok=True)
        write_secret(path, data)


def pseudonym_key_path(out: Path) -> Path:
    """Where a release keeps its per-release pseudonym key: ``OUT.pseudonym-key``, beside it."""
    return steward_path(out, "pseudonym-key")


def _pseudonym_key(
    policy: Policy, out: Path, key_file: Path | None, *, force: bool
) -> bytes | None:
    """The per-release pseudonym key (None when no column needs one); checks keys first.

    Before any work: a key file needs a ``linkable: true`` column, a linkable column needs
    a usable key, and the per-release key file beside the bundle must not exist yet
    (unless ``force`` replaces the earlier bundle and its key).
    """
    per_release, linked = pseudonym_columns(policy)
    if key_file is not None and not linked:
        raise PolicyError(
            f"--key-file {key_file}: a key file is only for linkable pseudonyms, and no column "
            "of the policy says linkable: true; without it each release gets a fresh key, "
            f"kept beside the bundle as {pseudonym_key_path(out).name}"
        )
    if policy.outputs.microdata is None:
        return None
    if linked:
        load_pseudonym_key(key_file)
    if not per_release and not policy.link_columns:
        return None
    path = pseudonym_key_path(out)
    if (path.exists() or path.is_symlink()) and not force:
        raise DataError(
            f"{path}: already exists (the pseudonym key of an earlier release); choose a new "
            "--out folder"
        )
    return new_pseudonym_key()


@contextmanager
def _kept_key(out: Path, key: bytes | None, *, force: bool) -> Iterator[Path | None]:
    """Keep the per-release pseudonym key for the steward, once the bundle is in place.

    The key is written (mode 0600 from creation) to a hidden file beside ``out`` on entry
    and moved to ``OUT.pseudonym-key`` only when the block (which moves the bundle into
    place) succeeds; on error it is removed. Yields the final path (None without a key).
    """
    if key is None:
        yield None
        return
    final = pseudonym_key_path(out)
    staged = final.with_name(f".{final.name}-{secrets.token_hex(4)}.tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{out}: cannot create the release folder ({exc.strerror})") from exc
    write_secret(staged, key + b"\n")
    try:
        yield final
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    if force:
        os.replace(staged, final)
        return
    try:
        os.link(staged, final)  # never replaces a file that appeared there meanwhile
    except FileExistsError:
        raise DataError(
            f"{final}: appeared while the release was written; this release's pseudonym key "
            f"is kept in {staged}"
        ) from None
    except OSError:  # a file system without hard links
        os.replace(staged, final)
        return
    staged.unlink()


#: The manifest's name inside a bundle that is not in place yet.
PENDING_MANIFEST = MANIFEST + ".pending"


def policy_ledger(policy: Policy) -> Ledger:
    """The ledger of a policy: ``privacy.ledger`` (beside the policy), else the fallbacks."""
    source = policy.source
    return ledger_for(policy.privacy.ledger, source.parent if source is not None else None)


def _clear_leftovers(out: Path) -> None:
    """Remove the staging folders an earlier run left behind.

    A release killed while writing leaves its hidden staging folder (``.NAME.*.partial``)
    beside ``out``; its manifest is still pending, so it is no bundle, and the next run on the
    same ``out`` removes it. (A dangling link as ``out`` was refused by ``check_target``.)
    """
    parent = out.parent if str(out.parent) else Path(".")
    try:
        found = list(parent.glob(f".{glob.escape(out.name)}.*.partial"))
    except OSError:
        return
    for folder in found:
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)


def _check_budget(
    ledger: Ledger, table: Table, policy: Policy, request: Budget, cap: Budget
) -> Fingerprint | None:
    """Refuse early (before any work) a release the ledger cannot pay for."""
    if request.epsilon <= 0:
        return None
    fingerprint = content_fingerprint(table.frame)
    assert policy.privacy.dataset is not None  # the policy refuses DP outputs without it
    with ledger.locked():
        ledger.check(
            policy.privacy.dataset,
            request,
            cap,
            fingerprint=fingerprint,
            where=policy.where("privacy", "budget"),
        )
    return fingerprint


def _spend_ahead(
    ledger: Ledger,
    table: Table,
    policy: Policy,
    request: Budget,
    cap: Budget,
    fingerprint: Fingerprint | None,
) -> LedgerEntry | None:
    """Check again and write the spending to the ledger, before any DP measurement runs.

    The check and the write hold the ledger's lock together, so two releases cannot both
    pass the check; the line is fsynced before this returns.
    """
    if request.epsilon <= 0 or fingerprint is None:
        return None
    dataset = policy.privacy.dataset
    assert dataset is not None
    planned = [
        table_spec(policy, i).table_name
        for i, t in enumerate(policy.outputs.tables)
        if t.dp is not None
    ]
    mechanisms: list[str] = sorted(
        {t.dp.mechanism for t in policy.outputs.tables if t.dp is not None}
    )
    if policy.outputs.synthetic is not None:
        planned.append("synthetic")
        mechanisms.append(f"{policy.outputs.synthetic.method} (gaussian, zCDP)")
    with ledger.locked():
        ledger.check(
            dataset, request, cap, fingerprint=fingerprint, where=policy.where("privacy", "budget")
        )
        return ledger.record(
            dataset,
            planned,
            request,
            ", ".join(mechanisms),
            policy.name,
            input_sha256=table.sha256,
            fingerprint=fingerprint,
            cap=cap,
        )


def _seal(out: Path) -> None:
    """Put the manifest in place, last: only now is ``out`` a complete bundle."""
    pending = out / PENDING_MANIFEST
    os.replace(pending, out / MANIFEST)
    fsync_folder(out)


def _ledger_facts(ledger: Ledger, policy: Policy, entry: LedgerEntry | None) -> dict[str, Any]:
    """What the manifest says about the budget's bookkeeping (no path made absolute)."""
    if entry is None:
        return {"dataset": policy.privacy.dataset, "ledger": None}
    return {"dataset": entry.dataset, "ledger": ledger.shown, "ledger_entry": entry.id}


def _new_ledger_note(ledger: Ledger, new: bool) -> tuple[str, ...]:
    """A ledger file that did not exist starts every budget at zero: never silently."""
    if not new:
        return ()
    return (
        f"the privacy-budget ledger {ledger.shown} did not exist and was started by this "
        "release; budgets spent in any other ledger do not count here",
    )


def _build_tables(
    base: pd.DataFrame, policy: Policy, seed: int | None, engine: CountingEngine | None
) -> tuple[ProtectedTable, ...]:
    """Every policy table, protected; refuse when a suppression pattern fails its audit.

    With an out-of-core engine the cells are aggregated by the engine (and the DP
    contribution bound enforced there); the protection runs on the aggregates.
    """
    counter = engine if engine is not None and engine.name != "pandas" else None
    indices = range(len(policy.outputs.tables))
    tables = tuple(_linked_tables(base, policy, indices, seed=seed, engine=counter))
    failed = [t.name for t in tables if not t.passed]
    if failed:
        raise PolicyNotMet(
            f"table(s) {', '.join(failed)}: a suppressed cell could be recomputed from the "
            "published cells; coarsen the table or use rounding or dp"
        )
    return tables


def suppression_tables(
    table: Table, policy: Policy
) -> list[tuple[ProtectedTable, dict[str, dict[str, str]] | None]]:
    """The policy's cell-suppression tables as a release builds them, with their hierarchies.

    DP and rounded tables are left out: nothing here spends budget or draws noise.
    """
    base = _without_identifiers(table.frame, policy)
    specs = [table_spec(policy, i) for i in range(len(policy.outputs.tables))]
    chosen = [
        i
        for i, spec in enumerate(specs)
        if spec.has_primary_rules and spec.dp is None and spec.rounding is None
    ]
    built = _linked_tables(base, policy, chosen)
    return list(zip(built, (table_hierarchies(policy, i) for i in chosen), strict=True))


def _linked_tables(
    base: pd.DataFrame,
    policy: Policy,
    indices: Sequence[int],
    *,
    seed: int | None = None,
    engine: CountingEngine | None = None,
) -> list[ProtectedTable]:
    """The policy's tables at ``indices``, built and those of one quantity linked."""
    from sdc.tables import build_table, link_tables

    book = codebook(policy)
    built = [
        build_table(
            base,
            table_spec(policy, i),
            seed=seed,
            codebook=book,
            hierarchies=table_hierarchies(policy, i),
            engine=engine,
        )
        for i in indices
    ]
    return link_tables(built)


def _inputs(data: Path, policy: Policy, key_file: Path | None, ledger: Ledger | None) -> list[Path]:
    """Every file a release reads or keeps: none may be inside the bundle folder."""
    paths = [data]
    if policy.source is not None:
        paths.append(policy.source)
    for column in policy.columns.values():
        if column.recode is not None and column.recode.map is not None:
            paths.append(policy.resolve(column.recode.map))
    if key_file is not None:
        paths.append(key_file)
    paths.append((ledger or Ledger()).path)
    return paths


def _without_identifiers(frame: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """The data for tables and synthesis: direct identifiers and drop columns removed.

    A multiple-choice question holds its canonical set of answers (one value per set); a
    removed question takes its option columns along.
    """
    gone = policy.columns_with("direct") + policy.columns_with("drop")
    for question in policy.multiple_choice:
        if policy.columns[question].role in ("direct", "drop"):
            gone += list(policy.options(question).values())
    frame = canonical_sets(frame, policy)
    return frame.drop(columns=[c for c in gone if c in frame.columns])


def _synthesize(
    base: pd.DataFrame, policy: Policy, seed: int | None
) -> tuple[SynthResult, SynthEvaluation]:
    from sdc.synth import evaluate, synthesize

    spec = policy.outputs.synthetic
    assert spec is not None
    plan = synthetic_plan(policy)
    assert plan is not None
    columns, numeric = list(plan.columns), plan.bounds
    household = policy.data.household if policy.privacy.unit == "household" else None
    train, holdout = base, None
    if spec.holdout > 0:
        # Keep a random share of the real records out of the synthesis, so the privacy check
        # can compare how close synthetic records come to the real ones with how close
        # unseen real records come (distance to the closest record). Each record is held
        # out on its own secret, unseeded coin flip: with the published seed the training
        # set would be a function of public facts, and one more record would reshuffle it.
        held = np.random.default_rng().random(len(base)) < spec.holdout
        train, holdout = base[~held], base[held]
    result = synthesize(
        train,
        columns=columns,
        domains=plan.domains,
        bounds=numeric,
        epsilon=spec.epsilon,
        delta=spec.delta,
        rows=spec.rows or len(base),
        seed=spec.seed,  # never the release seed: the manifest records this one
        bins=spec.bins,
        types=plan.types,
        household=household,
        contribution=policy.privacy.contribution,
        method=spec.method,
        workload=spec.workload,
        max_seconds=spec.max_seconds or AIM_MAX_SECONDS,
    )
    quality = evaluate(train, result.data, columns, holdout, bounds=numeric, bins=spec.bins)
    return result, quality


def _unordered_columns(policy: Policy) -> frozenset[str]:
    """Columns that cannot show a record's place: pseudonyms and links (as check reads them)."""
    names = set(policy.link_columns) | {r.link.column for r in policy.related}
    names |= {n for n, c in policy.columns.items() if c.role == "direct"}
    for related in policy.related:
        names |= {n for n, c in related.columns.items() if c.role == "direct"}
    return frozenset(names)


def _write_outputs(
    folder: Path,
    treated: TreatedMicrodata | None,
    related: RelatedRelease | None,
    tables: tuple[ProtectedTable, ...],
    synthetic: SynthResult | None,
    evaluation: SynthEvaluation | None,
    before: RiskReport,
    after: RiskReport | None,
    *,
    hidden: frozenset[str] = frozenset(),
) -> dict[str, int]:
    rows: dict[str, int] = {}
    files = [("microdata", treated.frame)] if treated is not None else []
    files += [(t.name, t.frame) for t in related.tables] if related is not None else []
    for name, frame in files:
        # Records in a random order: the input's order could link them to other files.
        released = shuffled(frame, hidden)
        write_csv(released, folder / f"{name}.csv")
        write_parquet(released, folder / f"{name}.parquet")
        rows[f"{name}.csv"] = rows[f"{name}.parquet"] = len(released)
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
    if evaluation is not None:  # None in a DP bundle: kept for the steward outside it
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
    outputs: dict[str, Output],
    *,
    ledger_facts: dict[str, Any],
    seed_given: bool,
    signer: dict[str, str] | None,
    keyed_input: str | None = None,
) -> Manifest:
    """The manifest: what went in, what came out (with hashes), what was done and spent.

    Args:
        result: the release so far (its ``manifest`` is not read).
        table: the input.
        policy: the policy it was released under.
        cap: the policy's privacy budget for its dataset.
        started: when the release started (ISO 8601).
        outputs: the files written so far (see :func:`output_records`).
        ledger_facts: the ``privacy`` fields of the ledger's bookkeeping.
        seed_given: whether a seed fixed the non-DP randomness.
        signer: the signing key's ``signer`` entry, None when unsigned.
        keyed_input: the input's keyed hash in a DP bundle (:func:`keyed_sha256`); then
            neither its plain SHA-256 nor its record count is written.

    Returns:
        The manifest, ``finished`` still unset (see :meth:`Manifest.finish`).
    """
    before, after, treated = result.before, result.after, result.microdata
    tables, synthetic, evaluation = result.tables, result.synthetic, result.evaluation
    microdata = None
    if treated is not None:
        microdata = Microdata(
            rows=len(treated.frame),
            columns=list(map(str, treated.frame.columns)),
            treatments=[Treatment.model_validate(t.to_dict()) for t in treated.treatments],
            suppressed_records=treated.suppressed_records,
            suppression_share=treated.suppression_share,
            suppressed_values=treated.suppressed_values,
            utility=_numeric_utility(table.frame, treated.frame, policy),
        )
    synthetic_record = None
    if synthetic is not None:
        synthetic_record = synthetic.to_dict()
        synthetic_record["guarantee"] = "dp"
        if result.evaluation_file is None:  # in a DP bundle it stays with the steward
            synthetic_record["evaluation"] = evaluation.to_dict() if evaluation else None
    return Manifest(
        tool=Tool(version=sdc.__version__),
        started=started,
        finished=None,
        policy=policy.to_dict(),
        policy_sha256=hashlib.sha256(policy.text.encode("utf-8")).hexdigest(),
        input=Input(
            name=table.path.name,
            hash="sha256" if keyed_input is None else "hmac-sha256",
            sha256=table.sha256 if keyed_input is None else None,
            keyed_sha256=keyed_input,
            format=table.format,
            rows=len(table.frame) if keyed_input is None else None,
            columns=len(table.frame.columns),
            reading=_input_reading(table.reading, counts=keyed_input is None),
        ),
        outputs=outputs,
        risk=Risk(
            before=RiskSummary.model_validate(_risk_summary(before)) if after else None,
            after=RiskSummary.model_validate(_risk_summary(after)) if after else None,
        ),
        privacy=Privacy(
            unit=policy.privacy.unit,
            contribution=policy.privacy.contribution,
            cap=BudgetRecord.model_validate(cap.as_dict()),
            spent=BudgetRecord.model_validate(result.budget.as_dict()),
            **ledger_facts,
        ),
        guarantee=_guarantee(result),
        microdata=microdata,
        related=_related_records(result.related, policy),
        joined=_joined_record(result.related, policy),
        tables=[
            TableRecord(
                name=t.name,
                by=list(t.spec.by),
                statistic=t.spec.statistic,
                mechanism=t.mechanism,
                flags=dict(t.flag_counts),
                budget=BudgetRecord.model_validate(t.budget.as_dict()),
                audit_passed=t.passed,
                guarantee="dp" if t.spec.dp is not None else "sdc",
            )
            for t in tables
        ],
        synthetic=synthetic_record,
        non_dp_seed_given=seed_given,
        signer=None if signer is None else Signer.model_validate(signer),
    )


def _input_reading(reading: Reading, *, counts: bool) -> InputReading | None:
    """The manifest's record of how the input was read; None when all was as usual.

    Without ``counts`` (a DP bundle) the number and lines of the rows left out stay out.
    """
    record = InputReading(
        header_row=reading.header_row if reading.header_row not in (None, 1) else None,
        delimiter=reading.delimiter if reading.delimiter not in (None, ",") else None,
        decimal="," if reading.decimal == "," else None,
        encoding=reading.encoding if reading.encoding not in (None, "utf-8", "utf-8-sig") else None,
        blank_rows=len(reading.blank_rows) if counts and reading.blank_rows else None,
        total_row=reading.total_row if counts else None,
        total_label=reading.total_label,
    )
    return record if record.model_dump(exclude_none=True) else None


def _related_records(related: RelatedRelease | None, policy: Policy) -> list[RelatedTable]:
    """The manifest's ``related`` section: each related table, its source and treatments."""
    if related is None:
        return []
    return [
        RelatedTable(
            name=treated.name,
            source=table.path.name,
            sheet=spec.sheet,
            sha256=table.sha256,
            input_rows=len(table.frame),
            rows=len(treated.frame),
            columns=list(map(str, treated.frame.columns)),
            link=Link(column=spec.link.column, to=spec.link.to),
            treatments=[Treatment.model_validate(t.to_dict()) for t in treated.treatments],
            suppressed_values=dict(treated.suppressed_values),
        )
        for treated, table, spec in zip(related.tables, related.inputs, policy.related, strict=True)
    ]


def _joined_record(related: RelatedRelease | None, policy: Policy) -> Joined | None:
    """The manifest's ``joined`` section: the joined view's figures."""
    if related is None:
        return None
    view = related.view
    return Joined(
        households=view.households,
        k=policy.thresholds.k,
        smallest_key=view.smallest_key,
        suppressed_households=related.suppressed_households,
        suppression_share=related.suppression_share,
        max_household_risk=view.max_household_risk,
        expected_reidentifications=view.expected_reidentifications,
    )


def _guarantee(result: ReleaseResult) -> Guarantee:
    """``dp`` when every output is DP, ``sdc`` when none is, else ``mixed``."""
    kinds = {"dp" if t.spec.dp is not None else "sdc" for t in result.tables}
    if result.microdata is not None:
        kinds.add("sdc")
    if result.synthetic is not None:
        kinds.add("dp")
    if kinds == {"dp"}:
        return "dp"
    return "mixed" if len(kinds) > 1 else "sdc"


def _numeric_utility(
    original: pd.DataFrame, treated: pd.DataFrame, policy: Policy
) -> NumericUtility | None:
    """The manifest's ``microdata.utility``: information loss of the numeric columns."""
    figures = numeric_utility(original, treated, numeric_columns(policy))
    return None if figures is None else NumericUtility.model_validate(figures)


def _risk_summary(report: RiskReport) -> dict[str, Any]:
    data = report.to_dict()
    keep = ("n_records", "k_anonymity", "individual_risk", "breaches", "passed", "numeric_risk")
    return {k: data[k] for k in keep if k in data}


def _mechanisms(tables: tuple[ProtectedTable, ...], synthetic: SynthResult | None) -> str:
    names = sorted({t.mechanism for t in tables if t.budget.epsilon > 0})
    if synthetic is not None:
        names.append(f"{synthetic.method} (gaussian, zCDP)")
    return ", ".join(names)


def _not_met(after: RiskReport, policy: Policy) -> str:
    """Why the treated data fails, naming every threshold, and what would help."""
    parts = [b.describe() for b in after.breaches]
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
