"""``manifest.json``: the typed, versioned record of a release bundle (``sdc.manifest/1``).

This module is the one place that defines the manifest's fields. ``sdc release`` builds a
:class:`Manifest` and writes ``model_dump(mode="json")``; ``sdc check`` reads the fields it
verifies through the same models (:func:`read_model`, :func:`read_fields`), and
``docs/manifest.schema.json`` is generated from :meth:`Manifest.model_json_schema`
(:meth:`Manifest.json_schema`, written by ``python scripts/gen_manifest_schema.py``).

What a release writes is strict: every model is frozen and refuses unknown fields. A
bundle is untrusted input, possibly written by an older or newer tool, so reading is
lenient about what is *added*: in reading mode unknown fields are ignored (the models
derive this from their own field definitions), while every field that is read keeps its
type and limits. A malformed field raises :class:`ManifestFieldError`, whose message names
the field (``manifest.json: tables[1].budget.epsilon: Input should be a valid number``).

Sections that are the own dumps of other models stay dictionaries here: ``policy`` is
:meth:`sdc.policy.Policy.to_dict` (the normalised policy, itself validated by the policy
model) and ``synthetic`` is the synthesiser's account
(:meth:`sdc.synth.SynthResult.to_dict`) with its ``evaluation``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    model_validator,
)

__all__ = [
    "SCHEMA",
    "SEED_WITHHELD",
    "BudgetRecord",
    "Guarantee",
    "Input",
    "Joined",
    "Link",
    "Manifest",
    "ManifestFieldError",
    "Microdata",
    "NumericRisk",
    "NumericUtility",
    "Output",
    "Privacy",
    "RelatedTable",
    "Risk",
    "RiskSummary",
    "Signer",
    "TableRecord",
    "Tool",
    "Treatment",
    "output_records",
    "read_fields",
    "read_model",
]

#: The schema id every manifest carries in its ``schema`` field.
SCHEMA: Final = "sdc.manifest/1"
#: What the manifest says in place of the release seed (which could undo PRAM and noise).
SEED_WITHHELD: Final = "withheld: whoever knows it can undo PRAM and noise; kept by the steward"

Text = Annotated[str, Field(strict=True)]
Count = Annotated[int, Field(strict=True, ge=0)]
FiniteFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
NonNegative = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]
Share = Annotated[NonNegative, Field(le=1)]
#: A whole number stays a whole number (k, l), any other value is a finite float.
Number = Annotated[int, Field(strict=True)] | FiniteFloat
Sha256 = Annotated[str, Field(strict=True, pattern=r"^[0-9a-f]{64}$")]
#: A table's file name inside ``tables/``: no folder separators, no leading dot ("..").
TableName = Annotated[str, Field(strict=True, pattern=r"^[^/\\.][^/\\]*$")]
Fingerprint = Annotated[str, Field(strict=True, pattern=r"^[0-9a-f]{16}$")]

#: The validation context of reading a bundle's manifest (see :class:`_Record`).
_READING = {"reading": True}


class ManifestFieldError(ValueError):
    """A manifest field that is missing or malformed; the message names the field."""


class _Record(BaseModel):
    """A manifest section: frozen, and strict about unknown fields when written.

    In reading mode (validation context ``{"reading": True}``, as :func:`read_model` sets
    it) the fields a model does not define are dropped before validation: a bundle from a
    tool that writes more still reads, and every known field keeps its type.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        use_attribute_docstrings=True,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        # Every field is written, defaults too: the published schema requires them all
        # but those left out when empty (``exclude_if``).
        json_schema_serialization_defaults_required=True,
    )

    @model_validator(mode="before")
    @classmethod
    def _ignore_unknown_when_reading(cls, data: Any, info: ValidationInfo) -> Any:
        if not (isinstance(info.context, Mapping) and info.context.get("reading")):
            return data
        if not isinstance(data, Mapping):
            return data
        known = set(cls.model_fields)
        known.update(f.alias for f in cls.model_fields.values() if f.alias)
        return {key: value for key, value in data.items() if key in known}


class Tool(_Record):
    """The tool that made the bundle."""

    name: Literal["sdc"] = "sdc"
    """Always ``sdc``."""
    version: Text
    """The tool's version (``sdc --version``)."""


#: What a release (or one of its outputs) guarantees: differential privacy, classical
#: disclosure control (rules, suppression, recoding), or a mix of both across outputs.
Guarantee = Literal["dp", "sdc", "mixed"]


class InputReading(_Record):
    """How the input file was read: the facts the report's "How the file was read" says.

    Only what is not a default is written. A DP bundle leaves out the number and the lines
    of the records left out (a total row's line would give the number of records).
    """

    header_row: Count | None = Field(default=None, exclude_if=lambda v: v is None)
    """The line (CSV) or row (workbook) holding the column names."""
    delimiter: Text | None = Field(default=None, exclude_if=lambda v: v is None)
    """A CSV file's field separator, when not a comma."""
    decimal: Literal[","] | None = Field(default=None, exclude_if=lambda v: v is None)
    """``,`` when numbers written with a decimal comma were read as numbers."""
    encoding: Text | None = Field(default=None, exclude_if=lambda v: v is None)
    """A CSV file's text encoding, when not UTF-8."""
    blank_rows: Count | None = Field(default=None, exclude_if=lambda v: v is None)
    """Fully blank rows left out; absent in a DP bundle."""
    total_row: Count | None = Field(default=None, exclude_if=lambda v: v is None)
    """The line or row of a total row left out at the bottom; absent in a DP bundle."""
    total_label: Text | None = Field(default=None, exclude_if=lambda v: v is None)
    """That total row's label (``TOTAL``, ``Totaux``...)."""


class Input(_Record):
    """The input data file, identified by its hash (and, outside DP bundles, its size).

    A DP bundle publishes no figure of the private data without noise: the input is
    identified by ``keyed_sha256`` (HMAC-SHA256 of its bytes under a per-release key the
    steward keeps beside the bundle, ``OUT.input-key``), not its plain SHA-256, and its
    record count is left out.
    """

    name: Text
    """The input file's name (no folder)."""
    hash: Literal["sha256", "hmac-sha256"] = "sha256"
    """How the input is identified: plain ``sha256``, or ``hmac-sha256`` in a DP bundle."""
    sha256: Sha256 | None = Field(default=None, exclude_if=lambda v: v is None)
    """SHA-256 of the input file's bytes; absent in a DP bundle."""
    keyed_sha256: Sha256 | None = Field(default=None, exclude_if=lambda v: v is None)
    """HMAC-SHA256 of the input file's bytes under the steward's per-release key (a DP
    bundle only)."""
    format: Text
    """How it was read: ``csv`` or ``parquet``."""
    rows: Count | None = Field(default=None, exclude_if=lambda v: v is None)
    """Records in the input; absent in a DP bundle (the exact count is not DP)."""
    columns: Count
    """Columns in the input."""
    reading: InputReading | None = Field(default=None, exclude_if=lambda v: v is None)
    """How the file was read, when anything is worth saying (see :class:`InputReading`)."""


class Output(_Record):
    """One file of the bundle."""

    sha256: Sha256
    """SHA-256 of the file's bytes."""
    rows: Count | None = None
    """Records (microdata, synthetic data) or cells (a tidy table); null for other files."""


class KAnonymityCount(_Record):
    """Records whose key is shared by fewer than ``k`` records."""

    k: Count
    violations: Count
    share: Share


class HistogramBin(_Record):
    """Records whose individual risk is at most ``upto`` (and above the previous bin)."""

    upto: FiniteFloat | None
    records: Count


class IndividualRisk(_Record):
    """Individual re-identification risk figures (see ``sdc risk``)."""

    method: Text
    """``benedetti-franconi`` with weights, ``1/fk`` without."""
    global_risk: NonNegative | None
    """Mean individual risk."""
    expected_reidentifications: NonNegative | None
    """Sum of the individual risks."""
    max_individual_risk: NonNegative | None
    """The largest individual risk."""
    high_risk_records: Count
    """Records with risk above median + 3 MAD and above 0.1."""
    records_above_max_individual_risk: Count | None
    """Records above the policy's ``max_individual_risk`` (null when it is not set)."""
    global_threshold: NonNegative | None
    """The risk at which capping every record brings the global risk below its maximum."""
    max_global_risk: NonNegative | None
    """The global risk the threshold aims at."""
    histogram: list[HistogramBin]
    """Records per band of individual risk."""


class Breach(_Record):
    """A threshold the data does not meet."""

    name: Text
    value: Number | None
    limit: Number | None
    variable: Text | None = None
    """The sensitive column of an l, t or group_share breach."""


class NumericRisk(_Record):
    """Disclosure risk left in the numeric columns the policy perturbs or top codes.

    Beside k-anonymity: the share of records an intruder holding the original numeric
    values re-links to their own by the nearest values (distance-based record linkage), and
    sdcMicro's interval disclosure (``dRisk``). Before treatment both are 1 by definition.
    """

    columns: list[Text]
    """The numeric columns, measured together."""
    records: Count
    """Records with a value in every one of them (the others are left out)."""
    treated: bool
    """False for the input as collected, True after treatment."""
    relinked_share: Share | None
    """Share of those records re-linked to their own original record (ties count as
    re-linked); null with fewer than two records."""
    interval_disclosure: Share | None
    """Share of records whose original values lie within 5% of a standard deviation of the
    released ones in all but at most one column (sdcMicro's ``dRisk``)."""


class RiskSummary(_Record):
    """The headline risk figures of one file (the full figures are ``risk-*.json``)."""

    k_anonymity: list[KAnonymityCount]
    individual_risk: IndividualRisk
    breaches: list[Breach]
    passed: bool
    numeric_risk: NumericRisk | None = Field(default=None, exclude_if=lambda v: v is None)
    """Record linkage and interval disclosure of the numeric columns; absent without any."""


class Risk(_Record):
    """Risk of the input and of the released microdata; null without microdata output.

    With tables or synthetic data alone the exact risk figures of the input would be
    unprotected statistics of the private data, so they are left out.
    """

    before: RiskSummary | None
    after: RiskSummary | None


class BudgetRecord(_Record):
    """A privacy budget: epsilon and delta of (approximate) differential privacy."""

    epsilon: NonNegative
    delta: NonNegative


class Privacy(_Record):
    """The privacy budget: what the policy allows and what this release spent."""

    unit: Literal["individual", "household"]
    """The privacy unit (``privacy.unit`` of the policy)."""
    contribution: Annotated[int, Field(strict=True, ge=1)]
    """Records one unit may contribute (``privacy.contribution``)."""
    cap: BudgetRecord
    """The policy's budget for its dataset."""
    spent: BudgetRecord
    """What this release's DP outputs spent (the sum over its tables and synthetic data)."""
    dataset: Text | None
    """The dataset the budget is charged to (``privacy.dataset``)."""
    ledger: Text | None
    """The ledger charged, as given (never made absolute); null when nothing was spent."""
    ledger_entry: Text | None = Field(default=None, exclude_if=lambda v: v is None)
    """The ledger entry of this release; absent when nothing was spent."""


class Treatment(_Record):
    """What one treatment of the microdata did (never a seed or a key)."""

    name: Text
    """The treatment: ``drop``, ``pseudonymize``, ``recode.bands``, ``local_suppression``..."""
    columns: list[Text]
    """The columns it touched, in input order."""
    parameters: dict[str, Any] = Field(default_factory=dict)
    """The parameters it ran with."""
    changed: dict[str, Count] = Field(default_factory=dict)
    """Values changed, per column."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Further figures, e.g. band sizes or a PRAM transition matrix."""


class NumericUtility(_Record):
    """Information loss of the numeric columns (sdcMicro's ``dUtility`` and ``IL_correl``)."""

    columns: list[Text]
    """The numeric columns, measured together (as ``risk.after.numeric_risk``)."""
    il1s: NonNegative | None
    """IL1s: the mean standardised absolute change of a value (0 = unchanged)."""
    eigen: NonNegative | None
    """Sum of the relative changes of the correlation matrix's eigenvalues (0 = kept); null
    with fewer than two columns."""
    il_correl: Share | None
    """Mlodak's correlation-based loss, sdcMicro's ``IL_correl`` (0 = kept, 1 at most); null
    with fewer than two columns or a singular correlation matrix."""
    max_correlation_change: NonNegative | None
    """The largest absolute change of a pairwise correlation; null with fewer than two."""


class Microdata(_Record):
    """The released microdata and every treatment applied to them."""

    rows: Count
    """Records released."""
    columns: list[Text]
    """The released columns, in order."""
    treatments: list[Treatment]
    """Every treatment, in the order applied."""
    suppressed_records: Count
    """Records that lost at least one quasi-identifier value."""
    suppression_share: Share
    """``suppressed_records`` over ``rows``."""
    suppressed_values: dict[str, Count]
    """Quasi-identifier values suppressed, per variable."""
    seed: Literal["withheld: whoever knows it can undo PRAM and noise; kept by the steward"] = (
        SEED_WITHHELD
    )
    """The release seed is never written: it could undo PRAM and noise."""
    utility: NumericUtility | None = Field(default=None, exclude_if=lambda v: v is None)
    """Information loss of the numeric columns the policy perturbs or top codes; absent
    without any."""


class Link(_Record):
    """How a related table's records point to their parent record."""

    column: Text
    """The related table's link column (e.g. ``_parent_index``, ``PARENT_KEY``)."""
    to: Text
    """The main records' key column it refers to (e.g. ``_index``, ``KEY``)."""
    pseudonym: Literal["hmac-sha256, per release"] = "hmac-sha256, per release"
    """Both columns hold the same keyed pseudonym under the release's own key."""


class RelatedTable(_Record):
    """A related table (a repeat group) released beside the microdata: ``NAME.csv``."""

    name: TableName
    """Its name: its files are ``NAME.csv`` and ``NAME.parquet``."""
    source: Text
    """The file it was read from (file name only)."""
    sheet: Text | None = None
    """Its sheet in that file, for a workbook."""
    sha256: Sha256
    """SHA-256 of the file it was read from."""
    input_rows: Count
    """Its records in the input."""
    rows: Count
    """Records released (every input record)."""
    columns: list[Text]
    """The released columns, in order."""
    link: Link
    treatments: list[Treatment]
    """Every treatment of its own columns, in the order applied."""
    suppressed_values: dict[str, Count]
    """Values suppressed on the joined view, per column."""


class Joined(_Record):
    """The joined view: each main record with its related records, as an intruder joins them.

    The joined key is the main record's quasi-identifiers together with, per related table,
    the multiset of its related records' quasi-identifier tuples (a blank is one more value).
    """

    households: Count
    """Main records (households, respondents)."""
    k: Annotated[int, Field(strict=True, ge=1)]
    """The policy's k, required of every joined key not suppressed."""
    smallest_key: Count | None
    """The smallest number of main records sharing a joined key (null when all suppressed)."""
    suppressed_households: Count
    """Main records that lost a value (theirs or a related record's) or reveal no key."""
    suppression_share: Share
    """``suppressed_households`` over ``households``."""
    max_household_risk: NonNegative
    """The largest household risk (sdcMicro's ``1 - prod(1 - r_i)`` over the members)."""
    expected_reidentifications: NonNegative
    """The sum of the household risks."""


class TableRecord(_Record):
    """One published table and how it was protected."""

    name: TableName
    """The table's name: its file is ``tables/NAME.csv``."""
    by: list[Text]
    """The variables that span the table."""
    statistic: Text
    """``count``, ``sum`` or ``mean``."""
    mechanism: Text
    """How the cells were protected, in words (rules, rounding or the DP mechanism)."""
    flags: dict[str, Count]
    """Cells per flag: ``published``, ``primary``, ``secondary``, ``rounded``, ``dp``."""
    budget: BudgetRecord
    """The privacy budget the table spent (zero unless DP)."""
    audit_passed: bool
    """Whether no suppressed cell can be recomputed from the published cells."""
    guarantee: Literal["dp", "sdc"] = "sdc"
    """``dp`` for a differentially private table, ``sdc`` for one protected by rules."""


class Signer(_Record):
    """The key that signed the manifest (``manifest.sig``)."""

    algorithm: Literal["ed25519"]
    fingerprint: Fingerprint
    """The first 16 hex digits of SHA-256 of the raw public key."""


class Manifest(_Record):
    """``manifest.json`` of a release bundle: what went in, what came out, what was done.

    Optional sections are left out, not written as null: ``microdata`` without microdata
    output, ``synthetic`` without synthetic data, ``signer`` when the bundle is unsigned.
    """

    model_config = ConfigDict(
        title="sdc release manifest",
        json_schema_extra={
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": SCHEMA,
        },
    )

    schema_id: Literal["sdc.manifest/1"] = Field(default=SCHEMA, alias="schema")
    """The manifest's schema id and version."""
    tool: Tool
    started: Text
    """When the release started (ISO 8601, UTC)."""
    finished: Text | None
    """When the bundle was complete (ISO 8601, UTC); null only in the report's copy."""
    policy: dict[str, Any]
    """The normalised policy, every default filled in (the policy model's own dump)."""
    policy_sha256: Sha256
    """SHA-256 of the policy file's text as read."""
    input: Input
    outputs: dict[str, Output]
    """Every file of the bundle but the manifest and its signature, by relative path."""
    csv_formula_escape: Literal[True] = True
    """Text cells of the CSV files starting like a formula (=, +, -, @, tab, CR) carry a
    leading ``'`` (:func:`sdc.io.escape_formulas`); the Parquet files keep the raw values."""
    risk: Risk
    privacy: Privacy
    guarantee: Guarantee = "sdc"
    """What the whole bundle guarantees: ``dp`` when every output is differentially private
    (nothing computed from the private data without noise is published), ``sdc`` when none
    is, ``mixed`` when it holds both (each table and the synthetic data say which)."""
    microdata: Microdata | None = Field(default=None, exclude_if=lambda v: v is None)
    """The released microdata; absent without microdata output."""
    related: list[RelatedTable] = Field(default_factory=list, exclude_if=lambda v: not v)
    """The related tables (repeat groups) released beside the microdata; absent without."""
    joined: Joined | None = Field(default=None, exclude_if=lambda v: v is None)
    """The joined view of the microdata and the related tables; absent without them."""
    tables: list[TableRecord]
    """The published tables (empty without tables)."""
    synthetic: dict[str, Any] | None = Field(default=None, exclude_if=lambda v: v is None)
    """The synthesiser's account (``guarantee: dp``); absent without synthetic data. Its
    ``evaluation`` against the real records is here only beside released microdata; in a
    DP bundle it goes to the steward's ``OUT.evaluation.json``, outside the bundle."""
    non_dp_seed_given: bool
    """Whether a seed fixed the non-DP randomness (the seed itself is withheld)."""
    signer: Signer | None = Field(default=None, exclude_if=lambda v: v is None)
    """Who signed the manifest; absent when the bundle is unsigned."""

    def finish(self, outputs: Mapping[str, Output], finished: str) -> Manifest:
        """The manifest once the bundle is complete: its final outputs and finish time.

        Args:
            outputs: every file of the bundle (see :func:`output_records`).
            finished: when the bundle was complete (ISO 8601).
        """
        data = self.model_dump()
        data.update(outputs=dict(outputs), finished=finished)
        return Manifest.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        """The JSON object written as ``manifest.json``."""
        return self.model_dump(mode="json")

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of ``manifest.json`` as written (``docs/manifest.schema.json``)."""
        return cls.model_json_schema(mode="serialization")


def output_records(hashes: Mapping[str, str], rows: Mapping[str, int]) -> dict[str, Output]:
    """The ``outputs`` section: each file's SHA-256 and, where it has records, their count."""
    return {name: Output(sha256=sha, rows=rows.get(name)) for name, sha in hashes.items()}


# ---- reading a bundle's manifest -------------------------------------------------------------


def read_model(shape: Any, value: Any, where: str) -> Any:
    """``value`` (from a bundle's manifest) validated as ``shape``, ignoring unknown fields.

    Args:
        shape: a manifest model or a type built from them (``dict[str, Output]``).
        value: the parsed JSON value.
        where: its place in the manifest, for the message (``tables[1]``).

    Raises:
        ManifestFieldError: the value does not fit, naming the first field that does not.
    """
    try:
        return TypeAdapter(shape).validate_python(value, context=_READING)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join([where, *map(str, first["loc"])])
        message = first["msg"]
        if first["type"] in ("dict_type", "model_type", "model_attributes_type"):
            message = "Input should be a JSON object"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ManifestFieldError(f"manifest.json: {loc}: {message}{more}") from None


def read_fields(
    model: type[_Record], value: Any, names: Iterable[str], where: str
) -> dict[str, Any]:
    """Some fields of a manifest section, each validated by ``model``'s own definition.

    For the fields a reader needs when an older or partial manifest may lack others: a
    field that is absent (or null) is None in the result, a field that is present must fit.

    Args:
        model: the section's model (e.g. :class:`Microdata`).
        value: the section as parsed (must be a JSON object).
        names: the fields wanted (Python names).
        where: the section's place in the manifest (``microdata``).

    Raises:
        ManifestFieldError: the section is not an object, or a wanted field is malformed.
    """
    if not isinstance(value, Mapping):
        raise ManifestFieldError(f"manifest.json: {where}: Input should be a JSON object")
    found: dict[str, Any] = {}
    for name in names:
        field = model.model_fields[name]
        key = field.alias or name
        raw = value.get(key)
        if raw is None:
            found[name] = None
            continue
        shape = Annotated[field.annotation, *field.metadata] if field.metadata else field.annotation
        found[name] = read_model(shape, raw, f"{where}.{key}" if where else key)
    return found
