"""``sdc check``: verify a release bundle independently of the tool run that made it.

A clearance officer (or a CI job) gets a bundle folder and the policy it must meet. The
check trusts nothing in the bundle it can recompute: it re-hashes every file, re-reads
the released microdata (CSV and Parquet) and recomputes its risk under the given policy,
checks that pseudonymised columns hold keyed pseudonyms, audits every suppressed table
cell by linear programming, and adds up the privacy budget (epsilon and delta). The
manifest's own claims are only used where nothing else can be known (the suppression
share needs the original data), and then compared with the policy's limits.

Anyone can recompute the hashes, so the check also re-derives the release plan from the
policy (:mod:`sdc.release.plan`) and verifies that its treatments were applied: recoded
columns hold only values their recode can produce, each table has the policy's statistic,
``by``, method and epsilon. Given the input, it re-runs the plan's deterministic recodes
on it and compares the released values with the result (as multisets: the release
shuffles records). Values are counted, never quoted.

A bundle is untrusted input: a manifest that cannot be read at all raises
:class:`~sdc.errors.DataError`, but malformed fields of a readable manifest and output
files that cannot be read or parsed become failed checks with a clear detail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from sdc.anonymize.multiple import EMPTY_SET, canonical_sets, kept_options, set_tokens
from sdc.anonymize.policy_recodes import deterministic_recodes
from sdc.errors import DataError, PolicyError
from sdc.io import Table, file_sha256, read_table, text_chunks, unescape_formulas
from sdc.policy import Policy, unlisted_columns
from sdc.release.bundle import MANIFEST, read_manifest
from sdc.release.manifest import (
    BudgetRecord,
    Input,
    Manifest,
    ManifestFieldError,
    Microdata,
    Output,
    Privacy,
    TableRecord,
    Treatment,
    read_fields,
    read_model,
)
from sdc.release.plan import (
    ReleasePlan,
    SyntheticPlan,
    TablePlan,
    ValuePlan,
    assess,
    canonical,
    release_plan,
    synthetic_plan,
    table_hierarchies,
    texts,
)
from sdc.release.signing import SIGNATURE, PublicKey, verify_manifest
from sdc.risk.frequencies import all_blank, encode_keys
from sdc.scan import guess_columns, value_uniqueness
from sdc.tables import audit_linked, audit_suppression
from sdc.tables.linked import cell_keys, link_group, linked_sets

#: Thresholds where a larger value is stricter.
_AT_LEAST = ("k", "l")
#: Thresholds where a smaller value is stricter.
_AT_MOST = (
    "t",
    "max_individual_risk",
    "max_expected_reidentifications",
    "max_suppression",
    "group_share",
)
#: Flags of table cells that show a value.
_SHOWN = ("published", "rounded", "dp")
_FLAGS = frozenset((*_SHOWN, "primary", "secondary"))
#: A keyed pseudonym: lowercase hex digits of an HMAC, 8 to 64 of them.
_PSEUDONYM_LENGTHS = (8, 64)
#: With at least this many values, a pseudonym column of plain numbers is refused: an HMAC
#: in hex is all decimal digits with probability (10/16)^length (at most 0.023 per value).
_DIGITS_ONLY_MIN = 5

# ---- the manifest fields the check reads -------------------------------------------------
#
# The manifest's own sections are read through its models (sdc.release.manifest) in reading
# mode: unknown fields are ignored, the fields read keep their types. The policy section is
# the policy model's dump; only the few fields compared here are read, loosely.

_Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Text = Annotated[str, Field(strict=True)]


class _Loose(BaseModel):
    """A section of the manifest's policy: the fields used here are typed, others ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class _Thresholds(_Loose):
    k: _Number | None = None
    l: _Number | None = None  # noqa: E741 - the measure is called l
    t: _Number | None = None
    max_individual_risk: _Number | None = None
    max_expected_reidentifications: _Number | None = None
    max_suppression: _Number | None = None
    group_share: _Number | None = None


class _Column(_Loose):
    role: _Text | None = None


class _MadePolicy(_Loose):
    thresholds: _Thresholds = Field(default_factory=_Thresholds)
    # A manifest from before missing: category was the default was made under wildcard.
    missing: _Text = "wildcard"
    columns: dict[str, _Column] = Field(default_factory=dict)


@dataclass(frozen=True)
class _MicrodataClaims:
    """What the manifest's microdata section claims (None where an older one is silent)."""

    rows: int | None
    suppression_share: float | None
    treatments: list[Treatment]


#: The microdata fields the check reads.
_MICRODATA_FIELDS = ("rows", "suppression_share", "treatments")

_Malformed = ManifestFieldError


def _field(manifest: dict[str, Any], key: str) -> Any:
    """``manifest[key]``, validated by the manifest model's definition of the field."""
    if manifest.get(key) is None:
        raise _Malformed(f"manifest.json has no {key!r}")
    return read_fields(Manifest, manifest, [key], "")[key]


def _made_policy(manifest: dict[str, Any]) -> _MadePolicy:
    """The thresholds, missing-value rule and roles of the policy the bundle was made under."""
    if manifest.get("policy") is None:
        raise _Malformed("manifest.json has no 'policy'")
    made: _MadePolicy = read_model(_MadePolicy, manifest["policy"], "policy")
    return made


def _microdata_claims(manifest: dict[str, Any]) -> _MicrodataClaims | None:
    """The microdata section's claims; None without one."""
    if manifest.get("microdata") is None:
        return None
    found = read_fields(Microdata, manifest["microdata"], _MICRODATA_FIELDS, "microdata")
    return _MicrodataClaims(found["rows"], found["suppression_share"], found["treatments"] or [])


@dataclass(frozen=True)
class CheckItem:
    """One verified statement about the bundle."""

    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class CheckResult:
    """Every check made on a bundle."""

    folder: Path
    items: tuple[CheckItem, ...]

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(item.passed for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"schema", "folder", "passed", "checks": [...]}``."""
        return {
            "schema": "sdc.check/1",
            "folder": str(self.folder),
            "passed": self.passed,
            "checks": [vars(item) for item in self.items],
        }


def check_bundle(
    folder: Path,
    policy: Policy,
    data: Table | None = None,
    *,
    trust: PublicKey | None = None,
    input_key: InputKey | None = None,
    related: tuple[Table, ...] | None = None,
) -> CheckResult:
    """Verify a bundle against a policy, and against its input when one is given.

    The check re-derives the release plan from the policy (:func:`release_plan`) and
    verifies that its treatments were applied. The items, in order: ``hashes``, then
    ``signature`` with ``trust`` or when the bundle is signed (see
    :func:`sdc.release.signing.verify_manifest`), ``policy``; for microdata ``microdata``
    (only when it fails: missing, unwanted, unreadable, or its Parquet copy differs),
    ``identifiers``, ``risk``, ``suppression``, ``recodes`` (every value of a recoded column
    is one the policy's recode can produce), ``rows`` (the record count is the manifest's),
    then ``columns`` (columns the policy does not name, identifier-like quasi-identifiers);
    one ``table NAME`` per table (its statistic, ``by``, method, epsilon and cell rules;
    ``tables`` if the policy's tables are missing); ``synthetic`` when the policy or the
    bundle has synthetic data (its columns and values are the policy's, and the manifest's
    account - method, columns, rows, bins, merged categories - matches the policy);
    ``microaggregation`` (every released value group of the microaggregated columns holds
    at least k records, within its strata), ``numeric risk`` when the policy perturbs or
    top codes numbers (the manifest's record linkage and utility figures measure its
    columns), ``budget``. With ``data``: ``input``
    (its SHA-256 is the manifest's, the released records are as many as its records),
    ``input values`` (the released values are the input's after the policy's deterministic
    recodes), ``input weights`` and ``input numeric risk`` (the manifest's numeric figures
    recomputed where the records can be paired; see :mod:`sdc.release._check_numeric`).

    Args:
        folder: the bundle folder.
        policy: the policy the bundle must meet (the officer's, not the bundle's own).
        data: the input the bundle was made from, to re-run the deterministic steps on.
        trust: the public key whose signature the bundle must carry (``--trust``).
        input_key: the key of a DP bundle's keyed input hash (:func:`read_input_key`);
            default: ``BUNDLE.input-key`` beside the bundle, when it is there.
        related: the related tables' inputs (the policy's ``related:``), with ``data``.

    Returns:
        Every check made; ``passed`` is True only if all passed.

    Raises:
        DataError: the folder is not a bundle (no or unreadable manifest).
        PolicyError: the policy cannot be planned (a hierarchy file cannot be read, a DP
            table without bounds).
    """
    manifest = read_manifest(folder)
    plan = release_plan(policy)
    released, shown = _read_microdata(folder)
    items: list[CheckItem] = []
    items += _guarded("hashes", lambda: _check_hashes(folder, manifest))
    signature = verify_manifest(folder, manifest, trust, MANIFEST)
    if signature is not None:
        items.append(CheckItem("signature", signature.passed, signature.detail))
    items += _guarded("policy", lambda: _check_policy(manifest, policy))
    items += _check_microdata(folder, manifest, policy, shown)
    if released is not None and policy.outputs.microdata is not None:
        items += _check_recodes(released, plan)
        items += _check_rows(released, manifest)
    items += _check_columns(folder, policy, shown)
    if policy.outputs.microdata is not None or manifest.get("microdata") is not None:
        from sdc.release._check_treatments import check_column_treatments, check_swap

        items += check_swap(manifest, policy, released)
        items += check_column_treatments(manifest, policy)
        from sdc.release._check_numeric import check_microaggregation, check_numeric_risk

        if released is not None:
            items += check_microaggregation(released, policy)
        items += check_numeric_risk(manifest, policy)
    items += _check_tables(folder, manifest, plan)
    items += _check_synthetic(folder, manifest, policy)
    items += _guarded("budget", lambda: _check_budget(manifest, policy))
    if policy.related or manifest.get("related"):
        from sdc.release._check_related import check_related

        items += check_related(folder, manifest, policy, released, data, related)
    elif data is not None and released is not None:
        items += _check_order(released, data, policy)
    if data is not None:
        key = input_key if input_key is not None else _input_key(folder)
        items += _check_input(manifest, data, released, key, folder)
        if released is not None:
            items += _check_input_values(released, data, plan)
            if policy.outputs.microdata is not None:
                from sdc.release._check_numeric import check_numeric_input

                items += check_numeric_input(manifest, policy, released, data)
    return CheckResult(folder, tuple(items))


def _read_microdata(
    folder: Path,
) -> tuple[pd.DataFrame | None, pd.DataFrame | DataError | None]:
    """microdata.csv, read once: as written, and with its formula escapes undone.

    The first is None when the file is absent or unreadable (the microdata item says so);
    the second is the reading error then, and None without the file.
    """
    path = folder / "microdata.csv"
    if not path.exists():
        return None, None
    try:
        frame = read_table(path).frame
    except DataError as exc:
        return None, exc
    return (frame if path.is_file() else None), unescape_formulas(frame)


def _guarded(name: str, check: Callable[[], list[CheckItem]]) -> list[CheckItem]:
    """Run a check; a malformed manifest field it needs becomes its failed item."""
    try:
        return check()
    except _Malformed as exc:
        return [CheckItem(name, False, str(exc))]


# ---- hashes --------------------------------------------------------------------------------


def _inside(name: str) -> bool:
    """Whether a listed output name is a relative path that stays inside the bundle."""
    path = PurePosixPath(name)
    return bool(name) and "\\" not in name and not path.is_absolute() and ".." not in path.parts


def _check_hashes(folder: Path, manifest: dict[str, Any]) -> list[CheckItem]:
    listed: dict[str, Output] = _field(manifest, "outputs")
    bad = []
    for name, entry in listed.items():
        path = folder / name
        if not _inside(name):
            bad.append(f"{name} is not a path inside the bundle")
        elif not path.is_file():
            bad.append(f"{name} is missing")
        else:
            try:
                digest = file_sha256(path)
            except OSError as exc:
                bad.append(f"{name} cannot be read ({exc.strerror})")
                continue
            if digest != entry.sha256:
                bad.append(f"{name} was changed after the release (SHA-256 differs)")
    extra = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name != MANIFEST and p.relative_to(folder).as_posix() not in listed
    )
    extra = [name for name in extra if name != SIGNATURE]  # the signature covers the manifest
    bad += [f"{name} is not listed in the manifest" for name in extra]
    return [
        CheckItem(
            "hashes",
            not bad,
            "; ".join(bad) if bad else f"{len(listed)} files match their SHA-256 in the manifest",
        )
    ]


# ---- policy --------------------------------------------------------------------------------


def _check_policy(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    made = _made_policy(manifest)
    made_t = made.thresholds.model_dump()
    want = policy.thresholds.model_dump()
    weaker = []
    for key in _AT_LEAST + _AT_MOST:
        need = want.get(key)
        had = made_t.get(key)
        if need is None:
            continue
        if had is None:
            weaker.append(f"{key} was not set (policy: {need:g})")
        elif (key in _AT_LEAST and had < need) or (key in _AT_MOST and had > need):
            weaker.append(f"{key} was {had:g} (policy: {need:g})")
    if policy.missing == "category" and made.missing != "category":
        weaker.append(
            f"missing was {made.missing} (policy: category): blanks were counted as matching "
            "every value"
        )
    made_quasi = {n for n, c in made.columns.items() if c.role == "quasi"}
    missing = [q for q in policy.quasi if q not in made_quasi]
    if missing:
        weaker.append(f"not treated as quasi-identifiers: {', '.join(missing)}")
    detail = (
        "the bundle was made under a weaker policy: " + "; ".join(weaker)
        if weaker
        else "the bundle's policy is at least as strict as this one"
    )
    return [CheckItem("policy", not weaker, detail)]


# ---- microdata -----------------------------------------------------------------------------


def _check_microdata(
    folder: Path, manifest: dict[str, Any], policy: Policy, shown: pd.DataFrame | DataError | None
) -> list[CheckItem]:
    wanted = policy.outputs.microdata is not None
    path = folder / "microdata.csv"
    if not path.exists():
        if wanted:
            detail = (
                "the policy asks for microdata (outputs.microdata) but there is no microdata.csv"
            )
            return [CheckItem("microdata", False, detail)]
        return []
    problems = []
    if not wanted:
        problems.append(
            "the bundle holds microdata.csv but the policy has no outputs.microdata "
            "(it allows no record-level release)"
        )
    if not isinstance(shown, pd.DataFrame):
        problems.append(f"microdata.csv cannot be read: {shown}")
        return [CheckItem("microdata", False, "; ".join(problems))]
    frame = shown
    mismatch = _parquet_mismatch(folder, "microdata", frame)
    if mismatch:
        problems.append(mismatch)
    try:
        section = _microdata_claims(manifest)
    except _Malformed as exc:
        problems.append(str(exc))
        section = None
    items = [CheckItem("microdata", False, "; ".join(problems))] if problems else []
    items.append(_check_identifiers(frame, policy, section))
    items.append(_check_risk(frame, policy))
    items.append(_check_suppression(frame, policy, section))
    if any(policy.columns[q].role not in ("direct", "drop") for q in policy.multiple_choice):
        items.append(_check_choices(frame, policy, section))
    return items


def _check_choices(
    frame: pd.DataFrame, policy: Policy, section: _MicrodataClaims | None
) -> CheckItem:
    """Each multiple-choice question: its set values and its option columns agree.

    The set column holds only values the recode can produce; the released option columns
    are exactly the options the recode keeps (none under ``count``); each is 1 where its
    code is in the set, 0 where the set holds other codes or none, blank where the set is
    blank. Values are counted, never quoted.
    """
    made = {
        t.columns[0]: list(t.details.get("values", []))
        for t in (section.treatments if section is not None else [])
        if t.name == "recode.multiple" and t.columns
    }
    problems: list[str] = []
    checked: list[str] = []
    for question in policy.multiple_choice:
        if policy.columns[question].role in ("direct", "drop"):
            continue
        if question not in frame.columns:
            problems.append(f"{question}: the multiple-choice question is not released")
            continue
        found = _choice_problems(frame, policy, question, made.get(question))
        problems.extend(found)
        if not found:
            checked.append(question)
    if problems:
        return CheckItem("multiple choice", False, "; ".join(problems))
    return CheckItem(
        "multiple choice",
        True,
        "the option columns agree with the released answers and the recode: " + ", ".join(checked),
    )


def _choice_problems(
    frame: pd.DataFrame, policy: Policy, question: str, made: list[object] | None
) -> list[str]:
    """What is wrong with one released multiple-choice question (values never quoted)."""
    recode = policy.columns[question].recode
    options = policy.options(question)
    kept = kept_options(policy, question, made)
    values = frame[question]
    present = values.notna().to_numpy()
    problems = []
    if recode is not None and recode.count:
        allowed = {str(i) for i in range(len(options) + 1)}
        counts = pd.Series(texts(values)[present], dtype=object)
        bad = int((~counts.isin(allowed)).sum())
        if bad:
            problems.append(f"{question}: {bad} value(s) are not a count of 0 to {len(options)}")
    else:
        codes = set(made) if made is not None else set(kept) | _merged_names(policy, question)
        tokens = values[present].astype(str).str.split(" ").explode()
        unknown = tokens[~tokens.isin(codes | {EMPTY_SET})]
        if len(unknown):
            problems.append(
                f"{question}: {unknown.index.nunique()} value(s) hold codes the policy's "
                "options and recode cannot produce"
            )
    released = [c for c in options.values() if c in frame.columns]
    extra = [c for c in released if c not in kept.values()]
    absent = [c for c in kept.values() if c not in frame.columns]
    if extra:
        problems.append(
            f"{question}: option column(s) {', '.join(extra)} are released but the recode "
            "merges them away"
        )
    if absent:
        problems.append(f"{question}: option column(s) {', '.join(absent)} are missing")
    padded = set_tokens(values)
    for code, column in kept.items():
        if column not in frame.columns:
            continue
        has = padded.str.contains(f" {code} ", regex=False).fillna(False).to_numpy(dtype=bool)
        want = pd.Series(np.where(present, np.where(has, "1", "0"), ""), dtype=object)
        shown = pd.Series(texts(frame[column]), dtype=object).fillna("")
        off = int((shown != want).sum())
        if off:
            problems.append(
                f"{column}: {off} value(s) disagree with {question} (1 where its code is "
                "chosen, 0 where not, blank where the answer is blank)"
            )
    return problems


def _merged_names(policy: Policy, question: str) -> set[str]:
    """The group names and ``other`` a question's recode can show."""
    recode = policy.columns[question].recode
    if recode is None:
        return set()
    names = set(recode.any_of or {})
    if recode.rare_to_other is not None:
        names.add("other")
    return names


def _check_suppression(
    frame: pd.DataFrame, policy: Policy, section: _MicrodataClaims | None
) -> CheckItem:
    """The manifest's suppression share, and what the released file shows of it.

    Records whose quasi-identifiers are all blank count as suppressed; their share in the
    released file is a lower bound of the suppression share that needs no original data.
    """
    limit = policy.thresholds.max_suppression
    quasi = [q for q in policy.quasi if q in frame.columns]
    blank = all_blank(encode_keys(frame, quasi, "wildcard")) if quasi else None
    seen = float(blank.mean()) if blank is not None and len(frame) else 0.0
    share = section.suppression_share if section is not None else None
    if share is None:
        return CheckItem("suppression", False, "the manifest records no suppression share")
    if seen > share + 1e-12:
        return CheckItem(
            "suppression",
            False,
            f"the released file has {seen:.2%} of records with every quasi-identifier blank, "
            f"more than the {share:.2%} suppressed that the manifest records",
        )
    return CheckItem(
        "suppression",
        share <= limit + 1e-12,
        f"{share:.2%} of records suppressed (limit {limit:.2%}, from the manifest; "
        f"{seen:.2%} have every quasi-identifier blank)",
    )


def _check_identifiers(
    frame: pd.DataFrame, policy: Policy, section: _MicrodataClaims | None
) -> CheckItem:
    keyed = [
        n for n, c in policy.columns.items() if c.role == "direct" and c.action == "pseudonymize"
    ] + policy.link_columns
    removed = policy.columns_with("direct") + policy.columns_with("drop")
    for question in policy.multiple_choice:  # a removed question takes its options along
        if policy.columns[question].role in ("direct", "drop"):
            removed += list(policy.options(question).values())
    leaked = [c for c in removed if c in frame.columns and c not in keyed]
    problems = []
    if leaked:
        problems.append(f"columns that must be removed are present: {', '.join(leaked)}")
    treatments = section.treatments if section is not None else []
    present = [c for c in keyed if c in frame.columns]
    for column in present:
        problem = _pseudonym_problem(frame[column], column, treatments)
        if problem:
            problems.append(problem)
    if problems:
        return CheckItem("identifiers", False, "; ".join(problems))
    detail = "no direct identifier or dropped column is present"
    if present:
        detail += f"; {', '.join(present)} hold(s) keyed pseudonyms"
    return CheckItem("identifiers", True, detail)


def _pseudonym_problem(values: pd.Series, column: str, treatments: list[Treatment]) -> str:
    """What is wrong with a pseudonymised column ('' if nothing); never shows its values."""
    records = [t for t in treatments if t.name == "pseudonymize" and column in t.columns]
    if not records:
        return (
            f"{column} must be pseudonymised but no pseudonymize treatment in the manifest names it"
        )
    lo, hi = _PSEUDONYM_LENGTHS
    length = records[0].parameters.get("length")
    if isinstance(length, int) and not isinstance(length, bool) and lo <= length <= hi:
        lo = hi = length
    text = values.dropna().astype(str)
    bad = int((~text.str.fullmatch(f"[0-9a-f]{{{lo},{hi}}}")).sum())
    digits = f"{lo}" if lo == hi else f"{lo} to {hi}"
    if bad:
        return f"{column}: {bad} value(s) are not keyed pseudonyms ({digits} lowercase hex digits)"
    if len(text) >= _DIGITS_ONLY_MIN and text.str.fullmatch("[0-9]+").all():
        return f"{column}: every value is a plain number, not a keyed pseudonym"
    return ""


def _check_risk(frame: pd.DataFrame, policy: Policy) -> CheckItem:
    absent = [q for q in policy.quasi if q not in frame.columns]
    if absent:
        return CheckItem("risk", False, f"quasi-identifiers missing from the microdata: {absent}")
    try:
        report = assess(frame, policy, suda=False)
    except DataError as exc:
        return CheckItem("risk", False, f"the risk cannot be recomputed: {exc}")
    rule = report.k_rule
    fk_min = rule.smallest_key if rule is not None and rule.smallest_key is not None else 0
    breaches = report.breaches
    return CheckItem(
        "risk",
        not breaches,
        "; ".join(b.describe() for b in breaches)
        if breaches
        else f"recomputed ({policy.missing} rule): smallest group {fk_min} >= k "
        f"{policy.thresholds.k}; every risk threshold holds",
    )


# ---- recodes and rows ----------------------------------------------------------------------


def _check_recodes(frame: pd.DataFrame, plan: ReleasePlan) -> list[CheckItem]:
    """Every non-blank value of a recoded column is one the policy's recode can produce.

    Values are counted, never quoted. A column that noise or microaggregation changes after
    its recode is not checked (its values are no longer the recode's); one that the
    release dropped has nothing to check.
    """
    if not plan.values:
        return []
    problems, checked, skipped = [], [], []
    for name, values in plan.values.items():
        if name not in frame.columns:
            continue
        column = plan.policy.columns[name]
        numeric = ("noise", column.noise), ("microaggregation", column.microaggregation)
        if any(step in plan.steps and spec is not None for step, spec in numeric):
            skipped.append(name)
            continue
        bad, present, best = values.foreign(frame[name])
        if bad:
            problems.append(
                f"{name}: {bad} of {present} value(s) are not values of the policy's recode "
                f"({values.description})"
            )
        else:
            checked.append(f"{name} ({_recode_shown(values, frame[name], best)})")
    if problems:
        return [CheckItem("recodes", False, "; ".join(problems))]
    detail = "every released value is one the policy's recode can produce: " + (
        ", ".join(checked) if checked else "no recoded column is released"
    )
    if skipped:
        detail += f"; not checked (perturbed after recoding): {', '.join(skipped)}"
    return [CheckItem("recodes", True, detail)]


def _recode_shown(values: ValuePlan, column: pd.Series, best: str) -> str:
    """The recode in words; for a level chosen by ``generalize: auto``, which level."""
    if len(values.levels) > 1:
        fitting = values.fitting_levels(column)
        if len(fitting) == 1:
            return f"{values.description}: level {fitting[0]}"
    if best.endswith("labels"):
        return f"{values.description}, {best}"
    return values.description


def _check_rows(frame: pd.DataFrame, manifest: dict[str, Any]) -> list[CheckItem]:
    """The released records are as many as the manifest says (input, microdata, outputs)."""
    said = []
    try:
        section = _microdata_claims(manifest)
        outputs: dict[str, Output] = _field(manifest, "outputs")
    except _Malformed:
        return []  # the microdata and hashes items report the malformed field
    if section is not None and section.rows is not None:
        said.append(("microdata.rows", section.rows))
    try:
        rows = read_fields(Input, manifest.get("input"), ["rows"], "input")["rows"]
    except _Malformed:
        rows = None  # the input section is not needed here; --data reports it
    if rows is not None:
        said.append(("input.rows", rows))  # a release keeps every record
    for name in ("microdata.csv", "microdata.parquet"):
        entry = outputs.get(name)
        if entry is not None and entry.rows is not None:
            said.append((f"outputs[{name}].rows", entry.rows))
    if not said:
        return [CheckItem("rows", False, "the manifest records no row count of the microdata")]
    wrong = [f"{where} says {rows}" for where, rows in said if rows != len(frame)]
    if wrong:
        detail = f"microdata.csv has {len(frame)} records but the manifest's " + "; ".join(wrong)
        return [CheckItem("rows", False, detail)]
    detail = f"microdata.csv has {len(frame)} records, as the manifest says"
    return [CheckItem("rows", True, detail)]


def _check_columns(
    folder: Path, policy: Policy, shown: pd.DataFrame | DataError | None
) -> list[CheckItem]:
    """The released microdata hold only named columns and no identifier-like quasi-identifier.

    A column the policy does not name fails (unless the policy says ``unlisted: keep``,
    and then only when it looks like an identifier); so does a quasi-identifier whose
    released values are mostly unique: blanks around it protect nobody. The details say
    what ``sdc scan`` thinks each column is and never quote a value. An unreadable
    microdata file is reported by the ``microdata`` item, not here.
    """
    if not isinstance(shown, pd.DataFrame):
        return []
    frame = shown
    problems = []
    try:
        guesses = guess_columns(frame, unlisted_columns(policy, frame.columns))
    except DataError as exc:  # duplicate column names, say: the columns cannot be told apart
        return [CheckItem("columns", False, f"the released columns cannot be checked: {exc}")]
    if policy.unlisted == "keep":
        guesses = {name: guess for name, guess in guesses.items() if guess.identifier}
        what = "columns the policy does not name that look like identifiers"
    else:
        what = "columns the policy does not name"
    if guesses:
        listed = ", ".join(f"{name!r} ({guess.description})" for name, guess in guesses.items())
        problems.append(f"{what}: {listed}")
    for name in policy.quasi:
        if name not in frame.columns:
            continue  # the risk item reports it
        uniq = value_uniqueness(frame[name])
        if uniq.identifier_like:
            problems.append(f"quasi-identifier {name!r} is an identifier: {uniq.describe()}")
    if problems:
        return [CheckItem("columns", False, "; ".join(problems))]
    detail = "every released column is named by the policy"
    if policy.unlisted == "keep":
        detail = "no released column that the policy does not name looks like an identifier"
    return [CheckItem("columns", True, f"{detail}; no quasi-identifier is identifier-like")]


def _parquet_mismatch(folder: Path, stem: str, frame: pd.DataFrame) -> str:
    """How ``STEM.parquet`` (when present) differs from ``STEM.csv`` read as ``frame``."""
    path = folder / f"{stem}.parquet"
    if not path.exists():
        return ""
    try:
        other = read_table(path).frame
    except DataError as exc:
        return f"{path.name} cannot be read: {exc}"
    if list(other.columns) != list(frame.columns):
        only_p = [c for c in other.columns if c not in frame.columns]
        only_c = [c for c in frame.columns if c not in other.columns]
        what = (
            f"only in the Parquet file: {only_p}; only in the CSV: {only_c}"
            if only_p or only_c
            else "the same columns in another order"
        )
        return f"{path.name} and {stem}.csv have different columns ({what})"
    if len(other) != len(frame):
        return f"{path.name} has {len(other)} records but {stem}.csv has {len(frame)}"
    alike = _alike_columns(frame, other)
    differ = [
        c
        for i, c in enumerate(frame.columns)
        if i not in alike and not _same_values(frame[c], other[c])
    ]
    if differ:
        return f"{path.name} and {stem}.csv hold different values in {differ}"
    return ""


def _alike_columns(a: pd.DataFrame, b: pd.DataFrame) -> set[int]:
    """Positions of the columns holding the same values in both frames, found at once.

    The frames have the same columns and length. A column is found alike when both sides
    are pyarrow text with the same text (missing as empty), or numbers of one dtype with
    the same values and blanks. What is left goes to :func:`_same_values`; every column
    found here is one it would pass.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    alike: set[int] = set()
    text: list[int] = []
    arrays: tuple[list[Any], list[Any]] = ([], [])
    for i, ((_, x), (_, y)) in enumerate(zip(a.items(), b.items(), strict=True)):
        if isinstance(x.array, pd.arrays.ArrowStringArray) and isinstance(
            y.array, pd.arrays.ArrowStringArray
        ):
            text.append(i)
            arrays[0].extend(text_chunks(x))
            arrays[1].extend(text_chunks(y))
        elif (
            x.dtype == y.dtype
            and x.dtype.kind in "if"
            and isinstance(x.dtype, np.dtype)
            and np.array_equal(x.to_numpy(), y.to_numpy(), equal_nan=x.dtype.kind == "f")
        ):
            alike.add(i)
    if not text or len(a) == 0:
        return alike | set(text)

    def joined(columns: list[Any]) -> Any:
        chunks = columns
        return pc.fill_null(pa.chunked_array(chunks, pa.large_string()).combine_chunks(), "")

    equal = pc.equal(joined(arrays[0]), joined(arrays[1])).to_numpy(zero_copy_only=False)
    same = equal.reshape(len(text), len(a)).all(axis=1)
    return alike | {i for i, yes in zip(text, same, strict=True) if yes}


def _same_values(a: pd.Series, b: pd.Series) -> bool:
    """Values equal as text (missing = empty), or as numbers where both sides are numbers."""
    ta, tb = _as_text(a), _as_text(b)
    same = ta.to_numpy() == tb.to_numpy()
    if same.all():
        return True
    na = pd.to_numeric(ta, errors="coerce").to_numpy(dtype=float, na_value=float("nan"))
    nb = pd.to_numeric(tb, errors="coerce").to_numpy(dtype=float, na_value=float("nan"))
    return bool((same | (na == nb)).all())


def _as_text(values: pd.Series) -> pd.Series:
    text = values.astype(object).where(values.notna(), "")
    return text.astype(str).reset_index(drop=True)


# ---- tables --------------------------------------------------------------------------------


def _check_tables(folder: Path, manifest: dict[str, Any], plan: ReleasePlan) -> list[CheckItem]:
    items = []
    wanted = {t.name for t in plan.tables}
    try:
        entries = read_model(list[Any], manifest.get("tables") or [], "tables")
    except _Malformed as exc:
        return [CheckItem("tables", False, str(exc))]
    try:
        outputs: dict[str, Output] = _field(manifest, "outputs")
    except _Malformed:
        outputs = {}  # the hashes item reports it
    audited: list[tuple[pd.DataFrame, TablePlan]] = []
    for i, raw in enumerate(entries):
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f"table {name}" if isinstance(name, str) else f"tables[{i}]"
        try:
            entry: TableRecord = read_model(TableRecord, raw, f"tables[{i}]")
        except _Malformed as exc:
            items.append(CheckItem(label, False, str(exc)))
            if isinstance(name, str):
                wanted.discard(name)
            continue
        wanted.discard(entry.name)
        path = folder / "tables" / f"{entry.name}.csv"
        if not path.exists():
            items.append(CheckItem(label, False, "the table file is missing"))
            continue
        try:
            tidy = unescape_formulas(
                pd.read_csv(path, keep_default_na=False, na_values=[""], encoding="utf-8")
            )
        except (
            OSError,
            UnicodeDecodeError,
            pd.errors.EmptyDataError,
            pd.errors.ParserError,
        ) as exc:
            detail = f"{path.name} cannot be read as a UTF-8 CSV table ({_first_line(exc)})"
            items.append(CheckItem(label, False, detail))
            continue
        planned = plan.table(entry.name)
        if planned is None:
            items.append(CheckItem(label, False, "the policy has no table of this name"))
            continue
        problems = _table_problems(tidy, entry, planned, plan.policy)
        listed = outputs.get(f"tables/{entry.name}.csv")
        if listed is not None and listed.rows is not None and listed.rows != len(tidy):
            problems.append(f"the table has {len(tidy)} cells but the manifest says {listed.rows}")
        items.append(
            CheckItem(
                label, not problems, "; ".join(problems) if problems else _table_ok(tidy, planned)
            )
        )
        if not problems and planned.method == "suppression":
            audited.append((tidy, planned))
    items.extend(_linked_audits(audited, plan.policy))
    if wanted:
        items.append(CheckItem("tables", False, f"tables missing: {sorted(wanted)}"))
    return items


def _linked_audits(tables: list[tuple[pd.DataFrame, TablePlan]], policy: Policy) -> list[CheckItem]:
    """Tables of one quantity sharing cells, audited together as an intruder holds them."""
    groups = [link_group(planned.spec) for _, planned in tables]
    keys = [set(cell_keys(tidy[list(planned.spec.by)])) for tidy, planned in tables]
    items = []
    for members in linked_sets(groups, keys):
        names = [tables[i][1].spec.table_name for i in members]
        label = f"tables {', '.join(names)} together"
        try:
            audits = audit_linked(
                [(tables[i][0], table_hierarchies(policy, tables[i][1].index)) for i in members]
            )
        except (DataError, ValueError) as exc:
            items.append(CheckItem(label, False, f"cannot be audited together: {exc}"))
            continue
        exposed = [
            (name, c)
            for name, audit in zip(names, audits, strict=True)
            for c in audit
            if not c.protected
        ]
        if exposed:
            name, cell = exposed[0]
            detail = (
                f"{len(exposed)} suppressed primary cell(s) can be recomputed from the published "
                f"tables together (first: {' × '.join(cell.cell)} of {name})"
            )
        else:
            detail = "every suppressed primary cell keeps an interval against all of them"
        items.append(CheckItem(label, not exposed, detail))
    return items


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _plan_problems(entry: TableRecord, planned: TablePlan) -> list[str]:
    """Where the manifest's entry differs from the policy's table: statistic, by, method, ε."""
    spec = planned.spec
    problems = []
    if entry.statistic != spec.statistic:
        problems.append(f"the statistic is {entry.statistic} (policy: {spec.statistic})")
    if list(entry.by) != list(spec.by):
        problems.append(f"the by variables are {list(entry.by)} (policy: {list(spec.by)})")
    mechanism = entry.mechanism
    dp = spec.dp
    if not _same_method(mechanism, planned):
        problems.append(f"made by {mechanism!r}, not by the policy's {planned.describe()}")
    spent = entry.budget
    if dp is None:
        if spent.epsilon > 0 or spent.delta > 0:
            problems.append(f"spent epsilon {spent.epsilon:g}, but the policy's table is not DP")
        return problems
    if abs(spent.epsilon - dp.epsilon) > 1e-6 * dp.epsilon:
        problems.append(f"epsilon {spent.epsilon:g} (policy: {dp.epsilon:g})")
    if abs(spent.delta - dp.delta) > 1e-15 + 1e-6 * dp.delta:
        problems.append(f"delta {spent.delta:g} (policy: {dp.delta:g})")
    return problems


def _same_method(mechanism: str, planned: TablePlan) -> bool:
    """Whether the manifest's mechanism text is the one the policy's method writes."""
    spec = planned.spec
    if spec.dp is not None:
        return f"make_{spec.dp.mechanism}" in mechanism
    if planned.method == "rounding":
        return mechanism == f"{spec.rounding_method} rounding to base {spec.rounding}"
    if planned.method == "suppression":
        return mechanism.startswith("rules ")
    return mechanism == "none"


def _table_problems(
    tidy: pd.DataFrame, entry: TableRecord, planned: TablePlan, policy: Policy
) -> list[str]:
    """What is wrong with a published table, against the policy's plan of it."""
    problems = _plan_problems(entry, planned)
    stat = entry.statistic
    if "flag" not in tidy.columns:
        return [*problems, "no flag column"]
    if stat not in tidy.columns:
        return [*problems, f"no {stat} column"]
    absent = [c for c in entry.by if c not in tidy.columns]
    if absent:
        return [*problems, f"no column for the by variable(s) {absent}"]
    flags = tidy["flag"].astype(str)
    unknown = sorted(set(flags) - _FLAGS)
    if unknown:
        return [*problems, f"unknown cell flag(s) {unknown} (expected one of {sorted(_FLAGS)})"]
    foreign = sorted(set(flags) - planned.flags)
    if foreign:
        problems.append(
            f"{int(flags.isin(foreign).sum())} cell(s) flagged {', '.join(foreign)}, but the "
            f"policy protects this table by {planned.describe()}"
        )
    values = pd.to_numeric(tidy[stat], errors="coerce")
    published = flags.isin(_SHOWN)
    if values[~published].notna().any():
        problems.append("a suppressed cell shows a value")
    if values[published].isna().any():
        problems.append("a published cell has no number")
    if planned.method == "dp":
        return problems + _dp_problems(tidy, planned)
    if planned.method == "rounding":
        base = planned.spec.rounding
        assert base is not None
        shown = values[published & values.notna()]
        off = int((shown % base != 0).sum())
        if off:
            problems.append(f"{off} rounded value(s) are not multiples of {base}")
        return problems
    problems += _control_problems(tidy, flags, planned)
    min_cell = planned.spec.min_cell
    if stat == "count" and min_cell is not None:
        small = values[flags == "published"]
        if ((small > 0) & (small < min_cell)).any():
            problems.append(f"a published count is below min_cell {min_cell}")
    if flags.isin(["primary", "secondary"]).any() and stat in ("count", "sum") and not problems:
        if list(tidy.columns[: list(tidy.columns).index(stat)]) != list(entry.by):
            return [f"the columns before {stat} are not the by variables {entry.by}"]
        try:
            audit = audit_suppression(tidy, hierarchies=table_hierarchies(policy, planned.index))
        except (DataError, ValueError) as exc:
            problems.append(f"suppression pattern cannot be audited: {exc}")
        else:
            exposed = [c for c in audit if not c.protected]
            if exposed:
                problems.append(
                    f"{len(exposed)} suppressed primary cell(s) can be recomputed from the "
                    "published cells"
                )
    return problems


def _control_problems(tidy: pd.DataFrame, flags: pd.Series, planned: TablePlan) -> list[str]:
    """Cells the policy suppresses or keeps published by hand show that status."""
    from sdc.tables.rules import control_mask

    problems: list[str] = []
    by = [c for c in planned.spec.by if c in tidy.columns]
    if len(by) != len(planned.spec.by):
        return problems  # the by columns are reported elsewhere
    for control in planned.spec.cells:
        mask = control_mask(tidy[by], control)
        if control.status == "suppress" and not (flags[mask] == "primary").all():
            problems.append(f"the policy suppresses {control.describe()}, but it is published")
        if control.status == "publish" and not flags[mask].isin(_SHOWN).all():
            problems.append(f"the policy publishes {control.describe()}, but it is suppressed")
    return problems


def _dp_problems(tidy: pd.DataFrame, planned: TablePlan) -> list[str]:
    """DP cells carry their noise scale and interval, and the scale is the policy's epsilon's."""
    if not {"noise_scale", "ci_low", "ci_high"} <= set(tidy.columns):
        return ["DP cells lack noise_scale or their 95% interval"]
    expected = planned.smallest_noise_sd()
    scales = pd.to_numeric(tidy["noise_scale"], errors="coerce")
    if scales.isna().any() or not len(scales):
        return ["a DP cell has no noise_scale"]
    if expected is not None:
        smallest = float(scales.min())
        if abs(smallest - expected) > 1e-6 * expected:
            assert planned.spec.dp is not None
            return [
                f"the smallest noise_scale is {smallest:.6g}, not {expected:.6g} as epsilon "
                f"{planned.spec.dp.epsilon:g} gives"
            ]
    return []


def _table_ok(tidy: pd.DataFrame, planned: TablePlan) -> str:
    counts = tidy["flag"].astype(str).value_counts().to_dict()
    shown = ", ".join(f"{n} {flag}" for flag, n in sorted(counts.items()))
    audit = "; audit passed" if planned.method == "suppression" else ""
    return f"{len(tidy)} cells ({shown}); {planned.describe()} as the policy says{audit}"


# ---- synthetic data ------------------------------------------------------------------------


def _check_synthetic(folder: Path, manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    wanted = policy.outputs.synthetic is not None
    path = folder / "synthetic.csv"
    if not path.exists():
        if wanted:
            detail = (
                "the policy asks for synthetic data (outputs.synthetic) but there is no "
                "synthetic.csv"
            )
            return [CheckItem("synthetic", False, detail)]
        return []
    problems = []
    if not wanted:
        problems.append("the bundle holds synthetic.csv but the policy has no outputs.synthetic")
    try:
        frame = unescape_formulas(read_table(path).frame)
    except DataError as exc:
        problems.append(f"synthetic.csv cannot be read: {exc}")
        return [CheckItem("synthetic", False, "; ".join(problems))]
    leaked = [c for c in policy.columns_with("direct") + policy.columns_with("drop") if c in frame]
    if leaked:
        problems.append(f"columns that must be removed are present: {', '.join(leaked)}")
    mismatch = _parquet_mismatch(folder, "synthetic", frame)
    if mismatch:
        problems.append(mismatch)
    plan = synthetic_plan(policy)
    merged = ""
    if plan is not None:
        problems += _synthetic_values(frame, plan)
        try:
            account, merged = _synthetic_account(manifest, policy, plan, len(frame))
        except _Malformed as exc:
            account = [str(exc)]
        problems += account
    detail = "; ".join(problems) if problems else f"{len(frame)} synthetic records, readable"
    if not problems and plan is not None:
        detail += (
            f"; every value is one the policy declares (categories or bounds) in its "
            f"{len(plan.columns)} column(s); the manifest's account matches the policy{merged}"
        )
    return [CheckItem("synthetic", not problems, detail)]


class _SynthAccount(_Loose):
    """The manifest's synthetic section: the public facts the check compares with the policy."""

    method: _Text | None = None
    rows: Annotated[int, Field(strict=True)] | None = None
    bins: Annotated[int, Field(strict=True)] | None = None
    columns: list[_Text] | None = None
    merged: dict[str, list[_Text]] = Field(default_factory=dict)
    sigma_1way: _Number | None = None
    sigma_2way: _Number | None = None
    selection_scale: _Number | None = None


def _synthetic_values(frame: pd.DataFrame, plan: SyntheticPlan) -> list[str]:
    """The synthetic file holds the policy's columns, and only values the policy declares.

    A categorical column may hold only its listed categories (a merged cell is drawn back
    to them), a numeric one only numbers within its bounds (whole numbers for ``type:
    integer``); no value is blank. Values are counted, never quoted.
    """
    if list(frame.columns) != list(plan.columns):
        return [
            f"synthetic.csv has the columns {list(map(str, frame.columns))}, not the policy's "
            f"synthetic columns {list(plan.columns)}"
        ]
    problems = []
    for name in plan.columns:
        shown = texts(frame[name])
        if name in plan.bounds:
            lo, hi = plan.bounds[name]
            x = pd.to_numeric(pd.Series(shown, dtype=object), errors="coerce").to_numpy(float)
            bad = ~np.isfinite(x) | (x < lo) | (x > hi)
            if plan.types.get(name) == "integer":
                bad |= np.isfinite(x) & (x != np.round(x))
            what = f"numbers within its bounds [{lo:g}, {hi:g}]"
        elif name in plan.domains:
            allowed = {canonical(c) for c in plan.domains[name]}
            bad = ~pd.Series(shown, dtype=object).isin(allowed - {None}).to_numpy()
            what = "categories the policy lists"
        else:
            problems.append(f"{name}: the policy gives no categories or bounds to synthesise it")
            continue
        if bad.any():
            problems.append(f"{name}: {int(bad.sum())} value(s) are not {what}")
    return problems


def _synthetic_account(
    manifest: dict[str, Any], policy: Policy, plan: SyntheticPlan, rows: int
) -> tuple[list[str], str]:
    """The manifest's synthetic account against the policy: problems, and merged in words.

    ``merged`` (categories MST merged because their noisy counts were small) is derived
    from DP measurements only; it must name codebook labels of synthesised columns, two or
    more per column, so that it cannot carry anything but that choice.
    """
    from sdc.synth._codebook import ColumnCodec  # lazy: the synth package loads OpenDP

    spec = policy.outputs.synthetic
    assert spec is not None
    if manifest.get("synthetic") is None:
        return ["manifest.json has no synthetic account (synthetic)"], ""
    account = read_model(_SynthAccount, manifest["synthetic"], "synthetic")
    problems = []
    said: dict[str, tuple[object, object]] = {
        "method": (account.method, spec.method),
        "bins": (account.bins, spec.bins),
        "columns": (account.columns, list(plan.columns)),
        "rows": (account.rows, rows if spec.rows is None else spec.rows),
    }
    for key, (claimed, want) in said.items():
        if claimed != want:
            problems.append(f"the manifest's synthetic {key} is {claimed!r}, not {want!r}")
    if spec.rows is not None and rows != spec.rows:
        problems.append(f"synthetic.csv has {rows} records, not the policy's rows {spec.rows}")
    for name, labels in account.merged.items():
        if name in plan.bounds:
            lo, hi = plan.bounds[name]
            codec = ColumnCodec(name, "numeric", lower=lo, upper=hi, bins=spec.bins)
            known = set(codec.labels())
        elif name in plan.domains:
            known = {canonical(c) or "" for c in plan.domains[name]}
            labels = [canonical(label) or "" for label in labels]
        else:
            problems.append(f"synthetic.merged names {name!r}, which is not synthesised")
            continue
        foreign = [label for label in labels if label not in known]
        if foreign:
            problems.append(
                f"synthetic.merged of {name}: {len(foreign)} label(s) are not in the policy's "
                "codebook"
            )
        elif len(set(labels)) < 2 or len(set(labels)) != len(labels):
            problems.append(
                f"synthetic.merged of {name}: a merge needs two or more different labels"
            )
    if spec.method == "aim":
        problems += _aim_account(manifest["synthetic"], spec)
    else:
        problems += _synthetic_noise(account, policy, len(plan.columns))
    shown = ", ".join(f"{len(v)} in {k}" for k, v in account.merged.items())
    return problems, f"; merged categories from noisy counts: {shown}" if shown else ""


def _aim_account(account: dict[str, Any], spec: Any) -> list[str]:
    """AIM's account: the policy's workload, and no more rho spent than its budget."""
    problems = []
    if spec.workload is not None:
        recorded = {frozenset(w) for w in account.get("workload") or []}
        if recorded != {frozenset(w) for w in spec.workload}:
            problems.append("the manifest's AIM workload is not the policy's")
    spent, rho = account.get("rho_spent"), account.get("rho")
    if isinstance(spent, int | float) and isinstance(rho, int | float) and spent > rho:
        problems.append(f"the synthesis spent rho {spent} over its budget {rho}")
    return problems


def _synthetic_noise(account: _SynthAccount, policy: Policy, m: int) -> list[str]:
    """The account's noise scales are those the policy's epsilon, delta and unit give."""
    from sdc.synth._dp import rho_from_epsilon_delta
    from sdc.synth.mst import nominal_scales

    spec = policy.outputs.synthetic
    assert spec is not None
    unit = policy.privacy.unit == "household" and policy.data.household is not None
    sensitivity = policy.privacy.contribution if unit else 1
    rho = rho_from_epsilon_delta(float(spec.epsilon), float(spec.delta))
    want = dict(
        zip(
            ("sigma_1way", "selection_scale", "sigma_2way"),
            nominal_scales(m, rho, sensitivity),
            strict=True,
        )
    )
    problems = []
    for key, expected in want.items():
        claimed = getattr(account, key)
        if claimed is None or abs(claimed - expected) > 1e-6 * max(expected, 1e-12):
            shown = "missing" if claimed is None else f"{claimed:.6g}"
            problems.append(
                f"the manifest's synthetic {key} is {shown}, not {expected:.6g} as epsilon "
                f"{spec.epsilon:g} gives"
            )
    return problems


# ---- budget --------------------------------------------------------------------------------


def _check_budget(manifest: dict[str, Any], policy: Policy) -> list[CheckItem]:
    if manifest.get("privacy") is None:
        raise _Malformed("manifest.json has no 'privacy'")
    claims = read_fields(Privacy, manifest["privacy"], ["spent"], "privacy")
    spent: BudgetRecord | None = claims["spent"]
    if spent is None:
        raise _Malformed("manifest.json has no 'privacy.spent'")
    tables: list[TableRecord] = [
        read_model(TableRecord, raw, f"tables[{i}]")
        for i, raw in enumerate(read_model(list[Any], manifest.get("tables") or [], "tables"))
    ]
    # The synthesiser's account holds more: its epsilon and delta are read as a budget.
    synth: BudgetRecord | None = None
    if manifest.get("synthetic") is not None:
        synth = read_model(BudgetRecord, manifest["synthetic"], "synthetic")
    eps = sum(t.budget.epsilon for t in tables)
    delta = sum(t.budget.delta for t in tables)
    if synth is not None:
        eps += synth.epsilon
        delta += synth.delta
    cap, cap_delta = policy.privacy.budget, policy.privacy.delta
    problems = []
    if abs(eps - spent.epsilon) > 1e-9:
        problems.append(
            f"the outputs add up to epsilon {eps:g} but the manifest says {spent.epsilon:g}"
        )
    if abs(delta - spent.delta) > 1e-15 + 1e-9 * max(delta, spent.delta):
        problems.append(
            f"the outputs add up to delta {delta:g} but the manifest says {spent.delta:g}"
        )
    if spent.epsilon > cap + 1e-12:
        problems.append(f"epsilon {spent.epsilon:g} spent, above the policy's budget {cap:g}")
    if spent.delta > cap_delta * (1 + 1e-9):
        problems.append(
            f"delta {spent.delta:g} spent, above the policy's privacy.delta {cap_delta:g}"
        )
    detail = f"epsilon {spent.epsilon:g} spent of {cap:g}"
    if spent.delta > 0:
        detail += f"; delta {spent.delta:g} of {cap_delta:g}"
    return [CheckItem("budget", not problems, "; ".join(problems) if problems else detail)]


# ---- the input (--data) --------------------------------------------------------------------

#: Keys of a manifest's input section that hold a keyed hash rather than a plain SHA-256.
_KEYED = ("keyed", "hmac", "fingerprint")


@dataclass(frozen=True)
class InputKey:
    """The key of a DP bundle's keyed input hash, and the file it was read from."""

    key: bytes
    path: Path


#: Bytes of a per-release input key (``secrets.token_bytes(32)``), written as hex.
_INPUT_KEY_BYTES = 32


def read_input_key(path: Path) -> InputKey:
    """Read an input key file (``OUT.input-key``, or the file given with ``--input-key``).

    Raises:
        DataError: the file is missing, unreadable, or not 64 hexadecimal digits.
    """
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise DataError(f"--input-key {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a text file"
        raise DataError(f"--input-key {path}: cannot be read ({reason})") from None
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != _INPUT_KEY_BYTES:
        raise DataError(
            f"--input-key {path}: not an input key (a release writes one as "
            f"{2 * _INPUT_KEY_BYTES} hexadecimal digits to OUT.input-key)"
        )
    return InputKey(key, path)


def _input_key(folder: Path) -> InputKey | None:
    """A DP bundle's input-hash key, where its release keeps it (``BUNDLE.input-key``).

    Only the steward holds this file (it sits beside the bundle, never in it); anyone else
    gets None and the keyed hash is noted, not compared.
    """
    try:
        return read_input_key(_default_key_path(folder))
    except DataError:
        return None


def _default_key_path(folder: Path) -> Path:
    from sdc.release.pipeline import steward_path

    return steward_path(folder, "input-key")


def _check_input(
    manifest: dict[str, Any],
    data: Table,
    released: pd.DataFrame | None,
    input_key: InputKey | None = None,
    folder: Path | None = None,
) -> list[CheckItem]:
    """The input is the bundle's (SHA-256) and has as many records as the released file.

    A DP bundle names its input by a keyed hash (``input.keyed_sha256``): it is compared
    when ``input_key`` (the steward's ``BUNDLE.input-key``, or ``--input-key``) is given,
    else only noted.
    """
    from sdc.release.pipeline import keyed_sha256

    name = data.path.name
    section = manifest.get("input")
    if not isinstance(section, dict):
        return [CheckItem("input", False, "manifest.json: input: Input should be a JSON object")]
    problems, notes = [], []
    digest = section.get("sha256")
    keyed = section.get("keyed") is True or any(
        word in str(key) for key in section for word in _KEYED
    )
    claimed = section.get("keyed_sha256")
    if keyed and input_key is not None and isinstance(claimed, str):
        key_name = input_key.path.name
        if keyed_sha256(data.path, input_key.key) == claimed:
            notes.append(f"{name} has the keyed hash the manifest records (input key {key_name})")
        else:
            problems.append(
                f"{name} is not the bundle's input, or {key_name} is not its release's input "
                "key: the keyed hash (HMAC-SHA256) differs from the manifest's"
            )
    elif keyed:
        where = _default_key_path(folder).name if folder is not None else "BUNDLE.input-key"
        notes.append(
            "the manifest identifies its input by a keyed hash (a DP bundle) and no input key "
            f"was found ({where} beside the bundle, or --input-key FILE): the hash is not "
            "compared"
        )
    elif not isinstance(digest, str):
        problems.append("the manifest records no SHA-256 of its input")
    elif digest != data.sha256:
        problems.append(
            f"{name} is not the bundle's input: its SHA-256 differs from the manifest's"
        )
    else:
        notes.append(f"{name} has the SHA-256 the manifest records")
    if released is not None:
        if len(released) != len(data.frame):
            problems.append(
                f"the released microdata have {len(released)} records but {name} has "
                f"{len(data.frame)}"
            )
        else:
            notes.append(f"{len(released)} records released of {len(data.frame)}")
    if problems:
        return [CheckItem("input", False, "; ".join(problems))]
    return [CheckItem("input", True, "; ".join(notes))]


def _check_input_values(released: pd.DataFrame, data: Table, plan: ReleasePlan) -> list[CheckItem]:
    """The released values are the input's after the plan's deterministic steps.

    Records are released in a random order, so columns are compared as multisets: each
    released non-blank value may occur at most as often as the recoded input holds it
    (suppression only blanks values). Records with no blank among the compared columns are
    compared whole the same way, which catches values moved between records. Pseudonyms,
    household ids, and columns PRAM, noise or microaggregation change are not compared;
    record swapping's geography is compared per household (``input swap``).
    """
    policy = plan.policy
    name = data.path.name
    try:
        expected = canonical_sets(data.frame, policy)
        if plan.deterministic:
            expected, _ = deterministic_recodes(expected, policy)
    except (PolicyError, DataError) as exc:
        return [CheckItem("input values", False, f"the policy's recodes fail on {name}: {exc}")]
    weight = policy.data.weight
    skip = {*plan.pseudonymised, *plan.perturbed, *plan.relocated, *policy.link_columns, weight}
    compared = [c for c in released.columns if c in expected.columns and c not in skip]
    skipped = sorted(c for c in released.columns if c in skip and c != weight)
    problems: list[str] = []
    row_columns: list[np.ndarray] = []
    row_expected: list[np.ndarray] = []
    single = [c for c in compared if _one_candidate(c, plan)]
    batch = _TextBatch.of(released, expected, single)
    for column in compared:
        if column in batch.position:
            shown, candidates = batch.texts(column)
            excess, best = batch.excess[batch.position[column]], 0
        else:
            shown = texts(released[column])
            try:
                candidates = _expected_texts(data.frame, expected, column, plan)
            except PolicyError as exc:
                problems.append(f"{column}: {exc}")
                continue
            excess, best = min((_excess(shown, c), i) for i, c in enumerate(candidates))
        if excess:
            problems.append(
                f"{column}: {excess} released value(s) are not the recode of an input "
                "record's value"
            )
        if column in plan.swapped:
            continue  # rank swapping keeps each column's values, not whole records
        row_columns.append(shown)
        row_expected.append(candidates[best])
    if not problems and row_columns:
        excess = _excess(_rows(row_columns), _rows(row_expected))
        if excess:
            problems.append(
                f"{excess} released record(s) with no blank are not an input record after "
                "the policy's recodes"
            )
    items = []
    if plan.relocated:
        from sdc.release._check_treatments import check_swap_input

        items.append(check_swap_input(released, expected, policy, name))
    if "mv_top_code" in plan.steps:
        from sdc.release._check_treatments import check_mv_top_code_input

        items += check_mv_top_code_input(released, expected, policy, name)
    if problems:
        items.append(CheckItem("input values", False, "; ".join(problems)))
    else:
        detail = (
            f"the released values of {len(compared)} column(s) are those of {name} after the "
            "policy's recodes (compared as multisets: records are released in random order)"
        )
        if skipped:
            detail += f"; not compared (pseudonyms or perturbed): {', '.join(skipped)}"
        items.append(CheckItem("input values", True, detail))
    if weight is not None and weight in released.columns and weight in data.frame.columns:
        off = _excess(texts(released[weight]), texts(data.frame[weight]), blanks=True)
        items.append(
            CheckItem(
                "input weights",
                not off,
                f"{weight}: {off} released weight(s) are not an input record's weight"
                if off
                else f"{weight}: the released weights are those of {name}",
            )
        )
    return items


def _one_candidate(column: str, plan: ReleasePlan) -> bool:
    """Whether :func:`_expected_texts` gives one candidate (no choice of hierarchy level)."""
    values = plan.values.get(column)
    return values is None or values.hierarchy is None or len(values.levels) <= 1


@dataclass(frozen=True)
class _TextBatch:
    """:func:`texts` and :func:`_excess` for many text columns of two frames at once.

    The released and the expected frame's pyarrow text columns share one dictionary; each
    distinct value is made :func:`canonical` once and the multisets are counted with numpy,
    so a file of 10,000 columns costs no round of pandas calls per column.
    """

    position: dict[str, int]
    shown: np.ndarray  # text ids, a row per column
    expected: np.ndarray
    words: np.ndarray  # id -> text (None: blank)
    excess: np.ndarray

    @staticmethod
    def of(released: pd.DataFrame, expected: pd.DataFrame, columns: list[str]) -> _TextBatch:
        import pyarrow as pa
        import pyarrow.compute as pc

        def arrow(frame: pd.DataFrame, column: str) -> Any:
            values = frame[column]
            return values.array if isinstance(values, pd.Series) else None

        names = [
            c
            for c in columns
            if isinstance(arrow(released, c), pd.arrays.ArrowStringArray)
            and isinstance(arrow(expected, c), pd.arrays.ArrowStringArray)
        ]
        if not names or len(released) != len(expected):
            empty = np.zeros((0, 0), dtype=np.int64)
            return _TextBatch({}, empty, empty, np.array([None], dtype=object), empty.sum(axis=1))
        chunks = [k for f in (released, expected) for c in names for k in text_chunks(f[c])]
        encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.large_string()).combine_chunks())
        text = [canonical(v) for v in encoded.dictionary.to_pylist()] + [None]
        ids, uniques = pd.factorize(pd.Series(text, dtype=object), use_na_sentinel=True)
        ids = np.where(ids < 0, len(uniques), ids)  # blank: the id after the texts
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        cells = ids[codes].reshape(2, len(names), len(released))
        words = np.array([*uniques, None], dtype=object)
        blank = np.zeros(len(words), dtype=bool)
        blank[-1] = True
        excess = _excess_rows(cells[0], cells[1], blank)
        return _TextBatch({c: i for i, c in enumerate(names)}, cells[0], cells[1], words, excess)

    def texts(self, column: str) -> tuple[np.ndarray, list[np.ndarray]]:
        """The released column's texts and its one expected candidate."""
        i = self.position[column]
        return self.words[self.shown[i]], [self.words[self.expected[i]]]


def _excess_rows(shown: np.ndarray, expected: np.ndarray, blank: np.ndarray) -> np.ndarray:
    """:func:`_excess` of each row of ``shown`` against the same row of ``expected`` (ids)."""
    width, rows = shown.shape
    span = len(blank)
    owner = np.repeat(np.arange(width, dtype=np.int64), rows).reshape(width, rows)
    keep = ~blank[shown]
    have, have_n = np.unique(owner[keep] * span + shown[keep], return_counts=True)
    want, want_n = np.unique(owner * span + expected, return_counts=True)
    at = np.clip(np.searchsorted(want, have), 0, max(len(want) - 1, 0))
    matched = want_n[at] if len(want) else np.zeros(len(have), dtype=np.int64)
    matched = np.where((want[at] == have) if len(want) else False, matched, 0)
    over = np.clip(have_n - matched, 0, None)
    return np.bincount(have // span, weights=over, minlength=width).astype(np.int64)


def _expected_texts(
    original: pd.DataFrame, recoded: pd.DataFrame, column: str, plan: ReleasePlan
) -> list[np.ndarray]:
    """The values ``column`` may hold: one candidate per level ``generalize: auto`` may use."""
    values = plan.values.get(column)
    if values is None or values.hierarchy is None or len(values.levels) <= 1:
        return [texts(recoded[column])]
    return [texts(values.hierarchy.generalize(original[column], level)) for level in values.levels]


def _excess(shown: np.ndarray, expected: np.ndarray, *, blanks: bool = False) -> int:
    """How many shown values are beyond the expected ones' counts (blanks free unless asked)."""
    have = pd.Series(shown, dtype=object)
    want = pd.Series(expected, dtype=object)
    if not blanks:
        have = have.dropna()
    have_counts = have.value_counts(dropna=False)
    want_counts = want.value_counts(dropna=False).reindex(have_counts.index, fill_value=0)
    return int((have_counts - want_counts).clip(lower=0).sum())


def _rows(columns: list[np.ndarray]) -> np.ndarray:
    """Each record's values joined into one text; None when any of them is blank."""
    joined = [
        None if any(v is None for v in values) else "\x1f".join(values)
        for values in zip(*columns, strict=True)
    ]
    return np.array(joined, dtype=object)


def _check_order(released: pd.DataFrame, data: Table, policy: Policy) -> list[CheckItem]:
    """The released records are not in the input's order (it could link them to other files)."""
    ordered = _in_input_order(released, data.frame, policy, policy)
    detail = (
        "microdata.csv keeps the input's record order (row N is input record N)"
        if ordered
        else "microdata.csv does not keep the input's record order"
    )
    return [CheckItem("row order", not ordered, detail)]


def _in_input_order(shown: pd.DataFrame, source: pd.DataFrame, sub: Policy, policy: Policy) -> bool:
    """Whether every released record is its input record's at the same position.

    Compared on the columns released unchanged or recoded (not pseudonyms or links); a
    blank released value matches (suppression). A file whose compared records are all
    alike cannot show an order and passes.
    """
    if len(shown) != len(source) or len(shown) < 2:
        return False
    try:
        expected, _ = deterministic_recodes(source, sub)
    except (PolicyError, DataError):
        return False
    skip = set(policy.link_columns) | {r.link.column for r in policy.related}
    skip |= {n for n, c in sub.columns.items() if c.role == "direct"}
    columns = [c for c in shown.columns if c in expected.columns and c not in skip]
    if not columns:
        return False
    same = np.ones(len(shown), dtype=bool)
    wanted = {}
    for column in columns:
        have, want = texts(shown[column]), texts(expected[column])
        same &= (have == want) | pd.isna(have)
        if not same.all():
            return False  # one record differs: not the input's order, whatever the rest
        wanted[column] = want
    distinct = len(pd.DataFrame(wanted).drop_duplicates()) > 1
    return bool(same.all() and distinct)
