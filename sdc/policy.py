"""Policy files: YAML in, validated frozen objects out, errors that name file, line and key.

A policy says what each column is (direct identifier, quasi-identifier, sensitive, ...),
how to treat it, which thresholds a release must meet and which outputs to make. It is
parsed once, at the edge, in two passes (CONVENTIONS.md section 6):

1. :func:`load_policy` reads the YAML with line marks and validates it with pydantic models
   (``extra="forbid"``, ``frozen=True``), so an unknown key gets "did you mean ...".
2. :meth:`Policy.check_against` checks it against the data's columns (and hierarchy files
   against the data's values) before any work starts.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from sdc.errors import PolicyError
from sdc.hierarchy import Hierarchy
from sdc.io import ReadOptions

Role = Literal["direct", "quasi", "sensitive", "drop", "other"]
Treatment = Literal[
    "recode", "suppress", "pram", "microaggregation", "noise", "rank_swap", "shuffle", "mv_top_code"
]
Engine = Literal["pandas", "duckdb", "spark"]

PositiveFloat = Annotated[float, Field(gt=0)]
Share = Annotated[float, Field(ge=0, le=1)]


class _Model(BaseModel):
    # allow_inf_nan=False: YAML's .inf and .nan are numbers, but never a meaningful bound,
    # threshold or epsilon (an infinite budget would disable the cap).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: The smallest epsilon a DP output may spend. Below it the noise scale (sensitivity /
#: epsilon) is so large that the output says nothing, and near 1e-300 it overflows to inf.
MIN_EPSILON = 1e-6


def _usable_epsilon(value: float) -> float:
    if value < MIN_EPSILON:
        raise ValueError(
            f"epsilon {value:g} is below {MIN_EPSILON:g}: the noise would drown every value "
            f"(or overflow); use an epsilon of at least {MIN_EPSILON:g}"
        )
    return value


Epsilon = Annotated[float, Field(gt=0), AfterValidator(_usable_epsilon)]


class Recode(_Model):
    """Global recoding of one column; exactly one way of recoding is given."""

    bands: list[float] | None = None
    map: Path | None = None
    level: Annotated[int, Field(ge=0)] | None = None
    max_level: Annotated[int, Field(ge=0)] | None = None
    prefix: Annotated[int, Field(ge=1)] | None = None
    date: Literal["month", "year"] | None = None
    grid: PositiveFloat | None = None
    # Recodes of a multiple-choice question (a column with ``multiple``).
    count: bool = False
    any_of: dict[str, Annotated[list[str], Field(min_length=1)]] | None = None
    rare_to_other: Annotated[int, Field(ge=1)] | None = None

    @property
    def of_choices(self) -> bool:
        """Whether this recodes a multiple-choice question (count, any_of, rare_to_other)."""
        return self.count or self.any_of is not None or self.rare_to_other is not None

    @model_validator(mode="after")
    def _one_way(self) -> Recode:
        given = [k for k in ("bands", "map", "prefix", "date", "grid") if getattr(self, k)]
        if self.of_choices:
            if given:
                raise ValueError(
                    f"count, any_of and rare_to_other recode a multiple-choice question; "
                    f"they do not combine with {', '.join(given)}"
                )
            if self.count and (self.any_of is not None or self.rare_to_other is not None):
                raise ValueError(
                    "count replaces the answers by their number: give it alone, or any_of "
                    "and/or rare_to_other"
                )
            return self
        if len(given) != 1:
            raise ValueError(
                "give exactly one of bands, map, prefix, date or grid"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.bands is not None and (
            len(self.bands) < 2
            or any(b >= c for b, c in zip(self.bands, self.bands[1:], strict=False))
        ):
            raise ValueError(
                "bands must be at least two increasing numbers, e.g. [0, 18, 30, 45, 60]"
            )
        if self.level is not None and self.map is None:
            raise ValueError("level only applies to a map (hierarchy file)")
        if self.max_level is not None and (self.map is None or self.level is not None):
            raise ValueError(
                "max_level caps the level generalize: auto may choose: give it with a map "
                "and no level"
            )
        return self


def matrix_problem(matrix: Mapping[str, Mapping[str, object]]) -> str | None:
    """What is wrong with a PRAM transition matrix ``{from: {to: probability}}``, if anything.

    It must be square over one set of categories (every category it moves to has a row),
    hold probabilities, and each row must sum to 1.
    """
    names = set(map(str, matrix))
    if len(names) < 2:
        return "pram.matrix needs two or more categories (one row each)"
    for row, probs in matrix.items():
        foreign = sorted(set(map(str, probs)) - names)
        if foreign:
            return (
                f"pram.matrix row {row!r} moves to {foreign}, which have no row of their own; "
                "give every category a row"
            )
        values = list(probs.values())
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in values) or any(
            not 0 <= float(v) <= 1  # type: ignore[arg-type]
            for v in values
        ):
            return f"pram.matrix row {row!r}: every entry is a probability in [0, 1]"
        total = float(sum(values))  # type: ignore[arg-type]
        if abs(total - 1.0) > 1e-9:
            return f"pram.matrix row {row!r} sums to {total:g}; each row must sum to 1"
    return None


class Pram(_Model):
    """Post-randomisation of a categorical column.

    Either ``p``: sdc's invariant matrix keeps a value with probability ``p`` in its base
    matrix (not sdcMicro's ``pd``: sdcMicro draws each diagonal from U[pd, 1], so its
    ``pd = 0.8`` behaves like ``p = 0.9``), built per stratum of ``strata``; or ``matrix``:
    the steward's own transition matrix ``{from: {to: probability}}``, applied as given.
    """

    p: Annotated[float, Field(gt=0, lt=1)] | None = None
    alpha: Annotated[float, Field(gt=0, le=1)] = 0.5
    strata: list[str] = Field(default_factory=list)
    matrix: dict[str, dict[str, float]] | None = None

    @model_validator(mode="after")
    def _p_or_matrix(self) -> Pram:
        if (self.p is None) == (self.matrix is None):
            raise ValueError(
                "pram takes p (the retention probability of sdc's invariant matrix) or matrix "
                "(your own transition matrix), one of the two"
            )
        if self.matrix is not None:
            if self.strata:
                raise ValueError(
                    "a given pram.matrix applies to every record alike; strata are for p "
                    "(one invariant matrix per stratum)"
                )
            problem = matrix_problem(self.matrix)
            if problem:
                raise ValueError(problem)
        return self


class RankSwap(_Model):
    """Rank swapping: values exchanged among records whose ranks differ by about ``p``%."""

    p: Annotated[float, Field(gt=0, le=100)]


class MvTopCode(_Model):
    """Multivariate top coding: outliers beyond the ``1 - alpha`` ellipsoid pulled onto it.

    The columns marked with the same ``alpha`` are treated together.
    """

    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.025


class Microaggregation(_Model):
    """Microaggregation: groups of at least ``k`` records share their mean.

    ``method: mdav`` (default) groups records on all its columns together; ``pca`` sorts
    them on the first principal component of the standardised columns and cuts groups of
    ``k`` consecutive records; ``individual`` (individual ranking) groups each column's
    sorted values on its own. ``strata`` (released columns): groups are formed within each
    combination of their values (sdcMicro's ``strata_variables``). ``weighted: true``: each
    group's mean is weighted by ``data.weight`` (weighted totals kept exactly).
    """

    k: Annotated[int, Field(ge=2)]
    method: Literal["mdav", "pca", "individual"] = "mdav"
    strata: list[str] = Field(default_factory=list)
    weighted: bool = False


class Noise(_Model):
    """Additive noise with standard deviation ``sd`` times the column's standard deviation."""

    sd: PositiveFloat


class Multiple(_Model):
    """A multiple-choice (select_multiple) question: its 0/1 option columns.

    ``options`` lists the option columns, each named ``QUESTION/CODE`` (or with ``.``, ``-``
    or ``_`` for ``/``): the code is the rest of the name. When a name does not hold its
    code (label headers), give ``CODE: COLUMN`` pairs instead. The question's own column
    holds the set of chosen codes; the release rewrites it from the option columns.
    """

    options: list[str] | dict[str, str]

    @field_validator("options", mode="before")
    @classmethod
    def _two_named_options(cls, value: object) -> object:
        pairs = isinstance(value, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        )
        listed = isinstance(value, list) and all(isinstance(v, str) for v in value)
        if not (pairs or listed) or len(value) < 2:  # type: ignore[arg-type]
            raise ValueError(
                "give at least two option columns, as a list [QUESTION/CODE, ...] or as "
                "CODE: COLUMN pairs (quote a column name that YAML reads as a number)"
            )
        return value


class Column(_Model):
    """What a column is and how to treat it."""

    role: Role
    action: Literal["drop", "pseudonymize"] | None = None
    linkable: bool = False  # pseudonyms from the steward's key, the same in every release
    recode: Recode | None = None
    top_code: float | None = None
    bottom_code: float | None = None
    bounds: tuple[float, float] | None = None
    importance: Annotated[int, Field(ge=1)] | None = None
    categories: list[str | int | float | bool] | None = None
    # The public type of the column's values; DP and synthetic outputs follow it, never the
    # private column's dtype. Default: value_type.
    type: Literal["integer", "number", "category", "date"] | None = None

    @property
    def value_type(self) -> Literal["integer", "number", "category", "date"]:
        """The column's type: ``type`` if given, else number with bounds, else category."""
        if self.type is not None:
            return self.type
        return "number" if self.bounds is not None else "category"

    @field_validator("categories")
    @classmethod
    def _no_yaml_booleans(
        cls, value: list[str | int | float | bool] | None
    ) -> list[str | int | float | bool] | None:
        # YAML reads unquoted yes/no/true/false as booleans, which then match no data value.
        if value is not None and any(isinstance(v, bool) for v in value):
            raise ValueError("quote yes/no/true/false in categories, e.g. ['yes', 'no']")
        return value

    pram: Pram | None = None
    microaggregation: Microaggregation | None = None
    noise: Noise | None = None
    rank_swap: RankSwap | None = None
    # Data shuffling: the column's own values given out again by a model of the others.
    shuffle: bool = False
    mv_top_code: MvTopCode | None = None
    multiple: Multiple | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        self._choices_consistent()
        if self.action is not None and self.role != "direct":
            raise ValueError("action only applies to role: direct")
        if self.linkable and self.action != "pseudonymize":
            raise ValueError("linkable only applies to action: pseudonymize")
        if self.bounds is not None and self.bounds[0] >= self.bounds[1]:
            raise ValueError("bounds must be [low, high] with low < high")
        if self.bounds is not None and self.type in ("category", "date"):
            raise ValueError(
                f"bounds apply to integer or number columns, not type {self.type}; "
                "give categories instead or set type: integer or number"
            )
        if self.type in ("integer", "number") and self.categories is not None:
            whole = self.type == "integer"
            wrong = [
                v
                for v in self.categories
                if isinstance(v, str) or (whole and isinstance(v, float) and not v.is_integer())
            ]
            if wrong:
                raise ValueError(
                    f"categories of a type {self.type} column must be "
                    f"{'whole numbers' if whole else 'numbers'}, got {wrong[0]!r}"
                )
        if (
            self.top_code is not None
            and self.bottom_code is not None
            and self.bottom_code >= self.top_code
        ):
            raise ValueError("bottom_code must be below top_code")
        treated = self.recode or self.pram or self.microaggregation or self.noise or self.rank_swap
        if self.role in ("direct", "drop") and (treated or self.shuffle or self.mv_top_code):
            raise ValueError(
                f"a {self.role} column is removed; it takes no recode/pram/noise/rank_swap/"
                "shuffle/mv_top_code"
            )
        return self

    def _choices_consistent(self) -> None:
        """A multiple-choice question takes only the recodes of a set of answers."""
        if self.multiple is None:
            if self.recode is not None and self.recode.of_choices:
                raise ValueError(
                    "count, any_of and rare_to_other recode a multiple-choice question: add "
                    "multiple: {options: [QUESTION/CODE, ...]} naming its option columns"
                )
            return
        if self.recode is not None and not self.recode.of_choices:
            raise ValueError(
                "a multiple-choice question is recoded with count, any_of or rare_to_other, "
                "not bands, map, prefix, date or grid"
            )
        keys = ("top_code", "bottom_code", "bounds", "categories", "pram", "noise", "rank_swap")
        extra = [k for k in (*keys, "microaggregation") if getattr(self, k) is not None]
        extra += ["shuffle"] if self.shuffle else []
        extra += ["mv_top_code"] if self.mv_top_code else []
        if extra or self.type is not None:
            raise ValueError(
                f"a multiple-choice question takes no {', '.join(extra) or 'type'}: its value "
                "is a set of answers (recode it with count, any_of or rare_to_other)"
            )


class DataSpec(_Model):
    """Columns with a special meaning, and how to read the data file.

    ``weight`` and ``household`` name the sampling weight and household id columns. The
    reading keys (``delimiter``, ``decimal``, ``encoding``, ``sheet``, ``header_row``) are
    those of the command-line options of the same names, which stand over them: a policy
    carries how its survey's files are written.
    """

    weight: str | None = None
    household: str | None = None
    delimiter: Annotated[str, Field(min_length=1, max_length=2)] | None = None
    decimal: Literal[".", ","] | None = None
    encoding: str | None = None
    sheet: str | None = None
    header_row: Annotated[int, Field(ge=1)] | None = None

    def reading(self) -> ReadOptions:
        """The reading keys as :class:`~sdc.io.ReadOptions`."""
        return ReadOptions(
            delimiter=self.delimiter,
            decimal=self.decimal,
            encoding=self.encoding,
            sheet=self.sheet,
            header_row=self.header_row,
        )


#: The share of the records in one key group holding the same sensitive value from which
#: the group is *reported* as a group disclosure when the policy sets no ``group_share``.
REPORTED_GROUP_SHARE = 0.9


class Thresholds(_Model):
    """Limits a release must meet; a missing limit is not checked.

    ``group_share`` is enforced only when the policy sets it: without it, key groups where
    90% share one sensitive value are reported but do not fail the release (a skewed
    variable, say 95% "no", could never meet a default limit).
    """

    k: Annotated[int, Field(ge=2)] = 3
    l: Annotated[int, Field(ge=2)] | None = None  # noqa: E741 - the measure is called l
    l_diversity: Literal["distinct", "entropy", "recursive"] = "distinct"
    recursive_c: PositiveFloat = 2.0
    t: Annotated[float, Field(gt=0, le=1)] | None = None
    max_individual_risk: Annotated[float, Field(gt=0, le=1)] | None = None
    max_expected_reidentifications: Annotated[float, Field(ge=0)] | None = None
    max_suppression: Share = 0.05
    group_share: Annotated[float, Field(gt=0.5, le=1)] | None = None
    max_global_risk: Annotated[float, Field(gt=0, lt=1)] = 0.01


_DEFAULT_TREATMENTS: tuple[Treatment, ...] = ("recode", "suppress")


class RecordSwap(_Model):
    """Targeted record swapping (sdcMicro's ``recordSwap``) of the geography ``level``.

    A share ``rate`` of the households (or records, ``unit: individual``) exchange their
    ``level`` value (and the ``carry`` columns: coarser geography) with a household of
    another area that has the same ``similar`` values; households whose key (the
    quasi-identifiers with ``level``) is shared by fewer than ``k`` records go first.
    """

    unit: Literal["household", "individual"] = "household"
    rate: Annotated[float, Field(gt=0, le=1)]
    similar: list[str] = Field(default_factory=list)
    level: str
    carry: list[str] = Field(default_factory=list)
    k: Annotated[int, Field(ge=1)] | None = None


class Microdata(_Model):
    """How to treat microdata: a list of treatments, or ``generalize: auto``.

    ``swap`` (targeted record swapping) runs first, on the input's values.
    """

    treatments: list[Treatment] = Field(default_factory=lambda: list(_DEFAULT_TREATMENTS))
    generalize: Literal["auto"] | None = None
    swap: RecordSwap | None = None


class Dominance(_Model):
    """(n, k)-dominance: the n largest contributors hold more than share k of the cell."""

    n: Annotated[int, Field(ge=1)]
    k: Annotated[float, Field(gt=0, le=1)]


class PQ(_Model):
    """The pq rule: prior knowledge of others' contributions within q, estimate within p."""

    p: Annotated[float, Field(gt=0, lt=1)]
    q: Annotated[float, Field(gt=0, le=1)]

    @model_validator(mode="after")
    def _p_below_q(self) -> PQ:
        if self.p >= self.q:
            raise ValueError(
                "the pq rule needs p < q (p: the accuracy an intruder must not "
                "reach; q: how well contributors know each other's values)"
            )
        return self


class CellRule(_Model):
    """The office's say on some cells: a manual status and/or a protection level."""

    where: Annotated[dict[str, str | int | float], Field(min_length=1)]
    status: Literal["suppress", "publish"] | None = None
    protection: Annotated[float, Field(gt=0, le=10)] | None = None


class Rounding(_Model):
    """Rounding of counts to a base instead of suppression."""

    base: Literal[3, 5, 10]
    method: Literal["random", "controlled"] = "random"


class DpOptions(_Model):
    """A differentially private table: epsilon spent on it and the mechanism."""

    epsilon: Epsilon
    delta: Annotated[float, Field(ge=0, lt=1)] = 0.0
    mechanism: Literal["laplace", "gaussian"] = "laplace"


class TableOutput(_Model):
    """One table to publish."""

    by: Annotated[list[str], Field(min_length=1)]
    name: str | None = None
    hierarchical: bool = False
    count: bool = False
    sum: str | None = None
    mean: str | None = None
    weighted: bool = False
    min_cell: Annotated[int, Field(ge=1)] | None = None
    dominance: Dominance | None = None
    p_percent: Annotated[float, Field(gt=0, lt=1)] | None = None
    pq: PQ | None = None
    cells: list[CellRule] = Field(default_factory=list)
    sensitive: str | None = None
    rounding: Rounding | None = None
    dp: DpOptions | None = None

    @model_validator(mode="after")
    def _one_statistic(self) -> TableOutput:
        stats = [s for s in ("count", "sum", "mean") if getattr(self, s)]
        if len(stats) != 1:
            raise ValueError(
                "a table has exactly one statistic: count: true, sum: COL or mean: COL"
            )
        for rule in self.cells:
            unknown = sorted(set(rule.where) - set(self.by))
            if unknown:
                raise ValueError(f"cells.where names {unknown}; use the by variables {self.by}")
            if rule.status is None and rule.protection is None:
                raise ValueError("a cells entry needs status: suppress | publish or protection")
        if self.dp is not None and (self.rounding or self.dominance or self.p_percent or self.pq):
            raise ValueError(
                "a dp table needs no rounding or dominance rules: the noise protects it"
            )
        return self

    @field_validator("name")
    @classmethod
    def _file_name(cls, value: str | None) -> str | None:
        # The name becomes tables/NAME.csv in the bundle: no folders, no hidden files.
        if value is not None and (
            not value.strip() or value.startswith(".") or any(c in value for c in "/\\:")
        ):
            raise ValueError("a table name becomes a file name: use letters, digits, - and _")
        return value

    @property
    def statistic(self) -> Literal["count", "sum", "mean"]:
        """The statistic this table publishes."""
        return "count" if self.count else ("sum" if self.sum else "mean")

    @property
    def table_name(self) -> str:
        """The table's name in the bundle (``tables/NAME.csv``).

        The same rule as :attr:`sdc.tables.TableSpec.table_name` (a test holds them
        equal): the policy must know file names without loading the tables module.
        """
        if self.name:
            return self.name
        variable = self.sum or self.mean
        return f"{self.statistic}{f'_{variable}' if variable else ''}_by_{'_'.join(self.by)}"


#: AIM's time limit (seconds) when ``outputs.synthetic.max_seconds`` is not given.
AIM_MAX_SECONDS = 60.0


class SyntheticOutput(_Model):
    """DP synthetic microdata (marginal-based: MST, or AIM with a workload and a time limit)."""

    method: Literal["mst", "aim"] = "mst"
    epsilon: Epsilon
    delta: Annotated[float, Field(gt=0, lt=1)] = 1e-9
    rows: Annotated[int, Field(ge=1)] | None = None
    seed: int | None = None
    columns: list[str] | None = None
    bins: Annotated[int, Field(ge=2, le=200)] = 16
    holdout: Annotated[float, Field(ge=0, lt=0.5)] = 0.0
    # AIM only: the sets of columns whose marginals should be accurate (default every pair
    # of the synthesised columns) and the time limit of the synthesis in seconds.
    workload: list[Annotated[list[str], Field(min_length=1)]] | None = Field(
        default=None, min_length=1
    )
    max_seconds: Annotated[float, Field(gt=0, le=86400)] | None = None


class Outputs(_Model):
    """What a release produces."""

    microdata: Microdata | None = None
    tables: list[TableOutput] = Field(default_factory=list)
    synthetic: SyntheticOutput | None = None


class Privacy(_Model):
    """The privacy unit, the dataset charged and the cap on the DP budget of all DP outputs.

    ``dataset`` names the data whose budget the ledger keeps (required with DP outputs): the
    same name for every file the data comes in. ``ledger`` is the ledger file, relative to
    the policy file (else ``SDC_LEDGER``, else ``~/.sdc/ledger.jsonl``). ``budget`` is the
    cap fixed in the ledger at the dataset's first DP release; later edits do not raise it.
    ``guarantee: dp`` makes differential privacy a promise of the whole release: any output
    that is not DP (microdata, tables without ``dp``) is refused when the policy is loaded.
    """

    unit: Literal["individual", "household"] = "individual"
    budget: PositiveFloat = 1.0
    delta: Annotated[float, Field(ge=0, lt=1)] = 1e-6
    contribution: Annotated[int, Field(ge=1)] = 1
    dataset: str | None = None
    ledger: Path | None = None
    guarantee: Literal["dp"] | None = None

    @field_validator("dataset")
    @classmethod
    def _dataset_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip()
        if not name or any(ord(c) < 32 for c in name):
            raise ValueError(
                "privacy.dataset must be a name on one line, e.g. disability-survey-2026"
            )
        return name


class Suda(_Model):
    """SUDA2 settings; without ``max_msu`` every size is searched, as sdcMicro's suda2 does.

    Unless the quasi-identifiers are so many that their combinations pass 20,000: then the
    largest size within that is searched, and the release says so.
    """

    max_msu: Annotated[int, Field(ge=1)] | None = None
    dis_fraction: Annotated[float, Field(gt=0, le=1)] = 0.01


class Report(_Model):
    """How the reports are written (``report:``); ``--lang`` on the command line wins."""

    lang: Literal["en", "fr", "es"] = "en"  # the languages of sdc.i18n.LANGUAGES


class Link(_Model):
    """How a related table's records point to their parent record in the main data.

    ``column`` is the related table's column (Kobo ``_parent_index``, ODK ``PARENT_KEY``),
    ``to`` the main data's key column it refers to (Kobo ``_index``, ODK ``KEY``). Both are
    released as the same per-release keyed pseudonym, never raw.
    """

    column: str
    to: str


#: Record ids of Kobo and ODK exports: in a related table they link to the raw export.
_EXPORT_IDS = (
    "_id",
    "_uuid",
    "_index",
    "_parent_index",
    "_submission__id",
    "_submission__uuid",
    "KEY",
    "PARENT_KEY",
    "instanceID",
    "meta-instanceID",
)

#: Output names a related table may not take: the bundle's own files.
_RESERVED_NAMES = ("microdata", "synthetic", "synthetic-evaluation", "risk-before", "risk-after")


class Related(_Model):
    """A related table released in the same bundle (a repeat group: household members...).

    ``data`` is its file (relative to the policy), ``sheet`` its sheet: with ``sheet`` alone,
    a sheet of the main input's workbook. Its records are released as ``NAME.csv`` and
    ``NAME.parquet``, linked to the main records by ``link`` only.
    """

    name: str
    data: Path | None = None
    sheet: str | None = None
    link: Link
    columns: dict[str, Column]

    @field_validator("name")
    @classmethod
    def _file_name(cls, name: str) -> str:
        if not name.strip() or name.startswith(".") or any(c in name for c in "/\\:"):
            raise ValueError("the name becomes a file name: use letters, digits, - and _")
        if name.casefold() in _RESERVED_NAMES:
            raise ValueError(f"{name!r} is the name of a file of the bundle itself; choose another")
        return name

    @model_validator(mode="after")
    def _source_and_name(self) -> Related:
        if self.data is None and self.sheet is None:
            raise ValueError(
                "give data: FILE (beside the policy) or sheet: NAME (a sheet of the main "
                "input's workbook)"
            )
        perturbed = [n for n, c in self.columns.items() if c.pram or c.noise or c.microaggregation]
        if perturbed:
            raise ValueError(
                f"{', '.join(perturbed)}: a related table's columns take recode, top_code and "
                "bottom_code only (no pram, noise or microaggregation)"
            )
        return self


class Policy(_Model):
    """A whole policy file, validated. Build it with :func:`load_policy`."""

    version: Literal[1]
    name: str
    data: DataSpec = Field(default_factory=DataSpec)
    missing: Literal["wildcard", "category"] = "category"
    unlisted: Literal["refuse", "drop", "keep"] = "refuse"
    columns: dict[str, Column]
    thresholds: Thresholds = Field(default_factory=Thresholds)
    outputs: Outputs = Field(default_factory=Outputs)
    privacy: Privacy = Field(default_factory=Privacy)
    engine: Engine = "pandas"
    suda: Suda = Field(default_factory=Suda)
    report: Report = Field(default_factory=Report)
    related: list[Related] = Field(default_factory=list)

    _source: Path | None = PrivateAttr(default=None)
    _lines: dict[tuple[str, ...], int] = PrivateAttr(default_factory=dict)
    _text: str = PrivateAttr(default="")
    _hierarchies: dict[str, Hierarchy] = PrivateAttr(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _some_columns(cls, value: dict[str, Column]) -> dict[str, Column]:
        if not value:
            raise ValueError("name at least one column")
        return value

    # ---- derived views -------------------------------------------------------------
    @property
    def dp_delta(self) -> float:
        """Total delta of all DP outputs of this policy."""
        total = sum(t.dp.delta for t in self.outputs.tables if t.dp)
        if self.outputs.synthetic:
            total += self.outputs.synthetic.delta
        return total

    @property
    def text(self) -> str:
        """The policy file's text as it was validated (its hash goes into manifests)."""
        return self._text

    @property
    def dp_epsilon(self) -> float:
        """Total epsilon of all DP outputs of this policy (tables and synthetic data)."""
        total = sum(t.dp.epsilon for t in self.outputs.tables if t.dp)
        if self.outputs.synthetic:
            total += self.outputs.synthetic.epsilon
        return total

    def columns_with(self, role: Role) -> list[str]:
        """Names of the columns with this role, in policy order."""
        return [name for name, col in self.columns.items() if col.role == role]

    @property
    def multiple_choice(self) -> list[str]:
        """The multiple-choice questions (columns with ``multiple``), in policy order."""
        return [name for name, col in self.columns.items() if col.multiple is not None]

    def options(self, question: str) -> dict[str, str]:
        """A multiple-choice question's option columns by code, in policy order.

        Raises:
            PolicyError: an option column's name does not hold its code (give ``CODE:
                COLUMN`` pairs then), or a code is empty, holds a space or is given twice.
        """
        spec = self.columns[question].multiple
        assert spec is not None, f"{question} is not a multiple-choice question"
        where = self.where("columns", question, "multiple", "options")
        if isinstance(spec.options, dict):
            pairs = list(spec.options.items())
        else:
            pairs = [(_option_code(question, column, where), column) for column in spec.options]
        codes: dict[str, str] = {}
        for code, column in pairs:
            if not code or any(c.isspace() for c in code):
                raise PolicyError(
                    f"{where}: option code {code!r} of {question} is empty or holds a space; "
                    "codes are joined by spaces in the question's column: give "
                    "CODE: COLUMN pairs with one-word codes"
                )
            if code in codes:
                raise PolicyError(f"{where}: option code {code!r} of {question} is given twice")
            codes[code] = column
        return codes

    @property
    def quasi(self) -> list[str]:
        """The quasi-identifiers, in policy order."""
        return self.columns_with("quasi")

    @property
    def sensitive(self) -> list[str]:
        """The sensitive attributes, in policy order."""
        return self.columns_with("sensitive")

    @property
    def link_columns(self) -> list[str]:
        """Main-data columns released as per-release keyed pseudonyms, never raw.

        The household column (``data.household``) and the key column every related table
        links to (``related[*].link.to``): their values could join the release to other files.
        """
        found = [self.data.household] if self.data.household else []
        for related in self.related:
            if related.link.to not in found:
                found.append(related.link.to)
        return found

    def related_policy(self, index: int) -> Policy:
        """The policy of ``related[index]``, as if its table were released on its own.

        Its columns and link column; the main policy's thresholds, ``missing`` and
        ``unlisted``; recodes only. Messages name the lines of the main policy file.
        """
        related = self.related[index]
        made = Policy.model_validate(
            {
                "version": 1,
                "name": f"{self.name}/{related.name}",
                "missing": self.missing,
                "unlisted": self.unlisted,
                "columns": {n: c.model_dump() for n, c in related.columns.items()},
                "thresholds": self.thresholds.model_dump(),
                "outputs": {"microdata": {"treatments": ["recode"]}},
            }
        )
        prefix = ("related", str(index))
        made._source = self._source
        made._text = self._text
        made._lines = {
            key[2:]: line for key, line in self._lines.items() if key[:2] == prefix and key[2:]
        }
        for key in ("columns", "unlisted"):
            made._lines.setdefault((key,), self._lines.get((*prefix, "columns"), 0))
        return made

    def related_path(self, index: int, main: Path) -> Path:
        """The file of ``related[index]``: its ``data`` beside the policy, else ``main``."""
        data = self.related[index].data
        if data is None:
            return main
        return self.resolve(data, "related", str(index), "data")

    @property
    def source(self) -> Path | None:
        """The file this policy was read from (relative paths resolve against it)."""
        return self._source

    @property
    def folder(self) -> Path:
        """The folder that paths in the policy are relative to and confined to.

        The policy file's folder; for a policy parsed from text alone, the current folder.
        """
        return self._source.parent if self._source is not None else Path.cwd()

    def resolve(self, path: Path, *keys: str) -> Path:
        """Resolve a path written in the policy relative to the policy file.

        Paths are confined to the policy's folder (after symlinks and ``..`` are
        resolved): a policy names files beside it, never ``/etc/passwd`` or a key file
        elsewhere, which a release would otherwise read and publish as categories. There
        is no command-line option for these paths, so the rule has no exception.

        Args:
            path: the path as the policy writes it.
            keys: the policy key that holds it (e.g. ``columns``, ``age``, ``recode``,
                ``map``), for the message.

        Raises:
            PolicyError: the path is absolute or points outside the policy's folder;
                the message names the key and its line.
        """
        folder = self.folder
        key = ".".join(keys) if keys else "a path"
        where = self.where(*keys) if keys else self.where()
        kind = "hierarchy files" if keys[-1:] == ("map",) else "the files it names"
        real_folder = folder.resolve()
        target = (folder / path).resolve()
        if not target.is_relative_to(real_folder):
            shown = str(path) if path.is_absolute() or ".." in path.parts else f"{path} -> {target}"
            raise PolicyError(
                f"{where}: {key} points outside the policy's folder ({shown}); "
                f"keep {kind} beside the policy"
            )
        if path.is_absolute():
            raise PolicyError(
                f"{where}: {key} is an absolute path ({path}); write it relative to the "
                f"policy's folder, e.g. {target.relative_to(real_folder).as_posix()}"
            )
        return folder / path

    def hierarchy(self, column: str) -> Hierarchy | None:
        """The hierarchy file of a column's ``recode.map``, loaded once and checked.

        The hierarchy is named as the policy writes the path (an absolute path would put
        local folders into manifests).

        Raises:
            PolicyError: the file does not exist, is malformed, or lacks the level asked for.
        """
        recode = self.columns[column].recode
        if recode is None or recode.map is None:
            return None
        if column not in self._hierarchies:
            path = self.resolve(recode.map, "columns", column, "recode", "map")
            if not path.is_file():
                raise PolicyError(
                    f"{self.where('columns', column, 'recode', 'map')}: hierarchy file {path} "
                    "does not exist (paths are relative to the policy file)"
                )
            loaded = Hierarchy.from_csv(path)
            if recode.level is not None and recode.level >= loaded.levels:
                raise PolicyError(
                    f"{self.where('columns', column, 'recode', 'level')}: level {recode.level} "
                    f"but {path.name} has levels 0..{loaded.levels - 1}"
                )
            self._hierarchies[column] = replace(loaded, source=recode.map.as_posix())
        return self._hierarchies[column]

    def where(self, *keys: str) -> str:
        """``file line N`` for a key path, for error messages."""
        name = self._source.name if self._source else "policy"
        for depth in range(len(keys), 0, -1):
            line = self._lines.get(tuple(keys[:depth]))
            if line is not None:
                return f"{name} line {line}"
        return name

    # ---- pass 2 ------------------------------------------------------------------------
    def check_against(self, columns: Iterable[str], data_name: str = "the data") -> None:
        """Check that every column the policy names exists in the data.

        Raises:
            PolicyError: naming the policy line, the missing column and the closest match.
        """
        available = [str(c) for c in columns]
        have = set(available)

        def need(col: str | None, *keys: str) -> None:
            if col is None or col in have:
                return
            same_case = [c for c in available if c.casefold() == col.casefold()]
            hint = same_case or difflib.get_close_matches(col, available, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise PolicyError(
                f"{self.where(*keys)}: {'.'.join(keys)} is not a column of {data_name}{suggestion}"
            )

        for name in self.columns:
            need(name, "columns", name)
        for name in self.multiple_choice:
            for option in self.options(name).values():
                need(option, "columns", name, "multiple", "options")
        need(self.data.weight, "data", "weight")
        need(self.data.household, "data", "household")
        for i, related in enumerate(self.related):
            need(related.link.to, "related", str(i), "link", "to")
        for i, table in enumerate(self.outputs.tables):
            for col in table.by:
                need(col, "outputs", "tables", str(i), "by")
            for key in ("sum", "mean", "sensitive"):
                need(getattr(table, key), "outputs", "tables", str(i), key)
        if self.outputs.synthetic and self.outputs.synthetic.columns:
            for col in self.outputs.synthetic.columns:
                need(col, "outputs", "synthetic", "columns")

    def to_dict(self) -> dict[str, Any]:
        """The effective policy with every default filled in, JSON-compatible."""
        return self.model_dump(mode="json")


def named_columns(policy: Policy) -> set[str]:
    """Every column the policy names: under ``columns``, in ``data:``, or in an output.

    A column used only by a table (``by``, ``sum``, ``mean``, ``sensitive``) or listed in
    ``outputs.synthetic.columns`` has been looked at by whoever wrote the policy, so it
    counts as named.
    """
    names = set(policy.columns)
    for question in policy.multiple_choice:
        names.update(policy.options(question).values())
    names.update(c for c in (policy.data.weight, policy.data.household) if c is not None)
    names.update(r.link.to for r in policy.related)
    for table in policy.outputs.tables:
        names.update(table.by)
        names.update(c for c in (table.sum, table.mean, table.sensitive) if c is not None)
    if policy.outputs.synthetic is not None and policy.outputs.synthetic.columns:
        names.update(policy.outputs.synthetic.columns)
    return names


def unlisted_columns(policy: Policy, columns: Iterable[object]) -> list[str]:
    """The data columns the policy does not name, in data order."""
    named = named_columns(policy)
    return [str(c) for c in columns if str(c) not in named]


# ---- loading ---------------------------------------------------------------------------


#: The largest policy file read. Real policies are a few kilobytes; a bigger file is the
#: wrong file or an attempt to exhaust memory.
MAX_POLICY_BYTES = 1 << 20

#: The deepest nesting of mappings and lists a policy may have (real ones reach 4-5).
MAX_POLICY_DEPTH = 20


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file.

    Raises:
        PolicyError: the file is missing, too large, not YAML, or invalid; the message names
            the file, the line and the key, and suggests a fix.
    """
    path = Path(path)
    if not path.exists():
        raise PolicyError(f"{path}: no such policy file")
    if path.is_dir():
        raise PolicyError(f"{path}: is a folder, not a policy file")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)  # never more, whatever the file's size
    except OSError as exc:
        raise PolicyError(f"{path}: cannot be read ({exc.strerror})") from exc
    if len(raw) > MAX_POLICY_BYTES:
        _too_large(path.name, path.stat().st_size)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path.name}: not UTF-8 text; save the policy as UTF-8") from exc
    # Line ends as Path.read_text gives them: the policy's hash must not depend on them.
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return parse_policy(text, source=path)


def _too_large(name: str, size: int) -> None:
    raise PolicyError(
        f"{name}: the policy file is {_size(size)}, more than the {_size(MAX_POLICY_BYTES)} "
        "a policy may have; is it the right file?"
    )


def _size(n: int) -> str:
    """A byte count for people: ``1 MiB``, ``3.2 MiB``, ``512 KiB``, ``12 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def parse_policy(text: str, source: Path | None = None) -> Policy:
    """Validate policy YAML text; ``source`` names the file in messages and anchors paths.

    Before anything is built from the YAML, its events are scanned: a policy has no NUL
    characters, no anchors or aliases (an alias bomb expands a few lines into gigabytes)
    and at most :data:`MAX_POLICY_DEPTH` levels of nesting (deeper input would exhaust
    the parser's recursion). Each is refused with its line.
    """
    name = source.name if source else "policy"
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_POLICY_BYTES:
        _too_large(name, size)
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise PolicyError(
            f"{name} line {line}: holds a NUL character; a policy is plain text: remove it "
            "(a word processor or a binary file saved as .yaml?)"
        )
    try:
        node, raw = _read_yaml(text, name)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        if "'\\t'" in problem:
            raise PolicyError(
                f"{name}{where}: a tab character is used for indentation; YAML needs spaces: "
                "replace the tab with two spaces"
            ) from exc
        raise PolicyError(f"{name}{where}: not valid YAML ({problem})") from exc
    if not isinstance(raw, dict):
        raise PolicyError(f"{name}: a policy is a YAML mapping starting with 'version: 1'")
    lines: dict[tuple[str, ...], int] = {}
    try:
        _collect_lines(node, (), lines)
    except _DuplicateKey as dup:
        raise PolicyError(
            f"{name} line {dup.line}: {dup.key} is given twice; keep one (YAML would silently "
            "use the last)"
        ) from None
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(_explain(exc, name, lines)) from exc
    policy._source = source.resolve() if source else None
    policy._lines = lines
    policy._text = text
    _check_consistency(policy)
    return policy


#: libyaml's parser when PyYAML was built with it (10 to 20 times faster on a policy naming
#: thousands of columns), else PyYAML's own.
_FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(text: str, name: str) -> tuple[yaml.Node | None, Any]:
    """The checked YAML's node tree (for line numbers) and its value.

    Parsed with libyaml when available; text that libyaml refuses is parsed again with
    PyYAML's own parser, whose messages (and line numbers) are the ones explained.

    Raises:
        PolicyError: from :func:`_scan_events`.
        yaml.YAMLError: the text is not YAML, as PyYAML's own parser says.
    """
    for loader in dict.fromkeys((_FAST_LOADER, yaml.SafeLoader)):
        try:
            _scan_events(text, name, loader)
            node = yaml.compose(text, Loader=loader)
            return node, yaml.load(text, Loader=loader)  # noqa: S506 (a safe loader)
        except yaml.YAMLError:
            if loader is yaml.SafeLoader:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _scan_events(text: str, name: str, loader: Any = yaml.SafeLoader) -> None:
    """Refuse anchors, aliases, NUL characters and deep nesting while only parsing.

    The parser yields events one by one and keeps no tree, so a billion-laughs file is
    refused at its first anchor, in microseconds, before any alias is expanded.

    Raises:
        PolicyError: naming the line of the first anchor, alias or too deep level.
        yaml.YAMLError: the text is not YAML (the caller explains it).
    """
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 0
        if isinstance(event, yaml.AliasEvent):
            raise PolicyError(
                f"{name} line {line}: YAML aliases (*{event.anchor}) are not allowed in a "
                "policy; write the value out in full"
            )
        if isinstance(event, yaml.NodeEvent) and event.anchor is not None:
            raise PolicyError(
                f"{name} line {line}: YAML anchors (&{event.anchor}) are not allowed in a "
                "policy; write each value out in full"
            )
        if isinstance(event, yaml.ScalarEvent) and "\x00" in event.value:
            raise PolicyError(f"{name} line {line}: a value holds a NUL character (\\0); remove it")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_POLICY_DEPTH:
                raise PolicyError(
                    f"{name} line {line}: nested more than {MAX_POLICY_DEPTH} levels deep; "
                    "a policy needs far fewer (is it the right file?)"
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _option_code(question: str, column: str, where: str) -> str:
    """The code in an option column's name: what follows ``QUESTION/`` (or ``.``, ``-``, ``_``)."""
    if column.startswith(question) and column[len(question) : len(question) + 1] in "/.-_":
        rest = column[len(question) + 1 :]
        if rest:
            return rest
    raise PolicyError(
        f"{where}: option column {column!r} is not named {question}/CODE (or with . - _); "
        "give CODE: COLUMN pairs instead, e.g. {seeing: " + repr(column) + "}"
    )


def _check_choices(policy: Policy) -> None:
    """Option columns belong to one question, are no column of their own, recodes name codes."""
    owner: dict[str, str] = {}
    for question in policy.multiple_choice:
        options = policy.options(question)
        for column in options.values():
            if column in policy.columns:
                raise PolicyError(
                    f"{policy.where('columns', column)}: {column!r} is an option column of "
                    f"{question} (its multiple.options); remove its own entry: the release "
                    "derives it from the question's answers"
                )
            if column in owner:
                raise PolicyError(
                    f"{policy.where('columns', question, 'multiple', 'options')}: option "
                    f"column {column!r} belongs to both {owner[column]} and {question}"
                )
            owner[column] = question
        recode = policy.columns[question].recode
        if recode is None or recode.any_of is None:
            continue
        where = policy.where("columns", question, "recode", "any_of")
        grouped: dict[str, str] = {}
        for group, members in recode.any_of.items():
            for code in members:
                if code not in options:
                    hint = difflib.get_close_matches(code, list(options), n=1)
                    raise PolicyError(
                        f"{where}: {code!r} in any_of.{group} is not an option code of "
                        f"{question}"
                        + (f" (did you mean {hint[0]!r}?)" if hint else "")
                        + f"; its codes: {', '.join(options)}"
                    )
                if code in grouped:
                    raise PolicyError(
                        f"{where}: option {code!r} is in both any_of.{grouped[code]} and "
                        f"any_of.{group}; an option goes to one group"
                    )
                grouped[code] = group
            if group in options and group not in members:
                raise PolicyError(
                    f"{where}: group name {group!r} is also an option code of {question}; "
                    "give the group another name"
                )


def _check_pram_strata(policy: Policy) -> None:
    """PRAM strata are columns the policy names (kept in the release)."""
    for name, column in policy.columns.items():
        if column.pram is None:
            continue
        for stratum in column.pram.strata:
            spec = policy.columns.get(stratum)
            if spec is None or spec.role in ("direct", "drop") or stratum == name:
                raise PolicyError(
                    f"{policy.where('columns', name, 'pram', 'strata')}: {stratum!r} is not a "
                    "released column of the policy; strata must be columns kept in the release "
                    "(other than the PRAM column itself)"
                )


def _check_microaggregation(policy: Policy) -> None:
    """Microaggregation strata are released columns; ``weighted`` needs ``data.weight``."""
    for name, column in policy.columns.items():
        spec = column.microaggregation
        if spec is None:
            continue
        where = policy.where("columns", name, "microaggregation")
        for stratum in spec.strata:
            role = policy.columns[stratum].role if stratum in policy.columns else None
            if role is None or role in ("direct", "drop") or stratum == name:
                raise PolicyError(
                    f"{where}: microaggregation.strata {stratum!r} is not a released column of "
                    "the policy; "
                    "strata must be columns kept in the release (other than the "
                    "microaggregated column itself)"
                )
        if spec.weighted and policy.data.weight is None:
            raise PolicyError(
                f"{where}: microaggregation.weighted: true uses the sampling weights: add "
                "data: "
                "{weight: COLUMN}, or leave weighted out"
            )


def _check_swap(policy: Policy) -> None:
    """Record swapping names released columns, and a household column for unit household."""
    spec = policy.outputs.microdata.swap if policy.outputs.microdata else None
    if spec is None:
        return
    where = policy.where("outputs", "microdata", "swap")
    if spec.unit == "household" and policy.data.household is None:
        raise PolicyError(
            f"{where}: swap unit household needs the household id column: add data: "
            "{household: COLUMN}, or swap single records with unit: individual"
        )
    named = [("level", spec.level)] + [("carry", c) for c in spec.carry]
    named += [("similar", c) for c in spec.similar]
    seen: set[str] = set()
    for key, column in named:
        role = policy.columns[column].role if column in policy.columns else None
        if role is None or role in ("direct", "drop"):
            raise PolicyError(
                f"{where}: swap.{key} {column!r} is not a released column of the policy; "
                "name columns kept in the release"
            )
        if column in seen:
            raise PolicyError(f"{where}: {column!r} is named twice in swap (level, carry, similar)")
        seen.add(column)


def _check_mv_top_code(policy: Policy) -> None:
    """Multivariate top coding treats two columns or more with the same alpha together."""
    by_alpha: dict[float, list[str]] = {}
    for name, column in policy.columns.items():
        if column.mv_top_code is not None:
            by_alpha.setdefault(column.mv_top_code.alpha, []).append(name)
    for names in by_alpha.values():
        if len(names) == 1:
            raise PolicyError(
                f"{policy.where('columns', names[0], 'mv_top_code')}: mv_top_code treats numeric "
                "columns together: give at least two columns mv_top_code with the same alpha"
            )


def _check_consistency(policy: Policy) -> None:
    """Rules that span several keys, each reported at the line that has to change."""
    for keys, path in _paths(policy, ()):
        policy.resolve(path, *keys)
    _check_choices(policy)
    _check_table_names(policy)
    _check_pram_strata(policy)
    _check_microaggregation(policy)
    _check_swap(policy)
    _check_mv_top_code(policy)
    if policy.dp_epsilon > policy.privacy.budget + 1e-12:
        raise PolicyError(
            f"{policy.where('privacy', 'budget')}: the DP outputs need epsilon "
            f"{policy.dp_epsilon:g} but privacy.budget is {policy.privacy.budget:g}; "
            "raise the budget or lower the outputs' epsilon"
        )
    if policy.dp_delta > policy.privacy.delta + 1e-15:
        raise PolicyError(
            f"{policy.where('privacy', 'delta')}: the DP outputs need delta "
            f"{policy.dp_delta:g} but privacy.delta is {policy.privacy.delta:g}; raise "
            "privacy.delta or lower the outputs' delta"
        )
    for role_key in ("weight", "household"):
        column = getattr(policy.data, role_key)
        spec = policy.columns.get(column) if column else None
        if spec is not None and spec.role != "other":
            raise PolicyError(
                f"{policy.where('columns', column)}: {column!r} is the {role_key} column "
                f"(data.{role_key}); give it role: other or leave it out of columns"
            )
    if policy.privacy.unit == "household" and policy.data.household is None:
        raise PolicyError(
            f"{policy.where('privacy', 'unit')}: privacy.unit household needs the household "
            "id column: add data: {household: COLUMN}"
        )
    for i, table in enumerate(policy.outputs.tables):
        if table.dp is None:
            continue
        variable = table.sum or table.mean
        if variable is not None and (
            variable not in policy.columns or policy.columns[variable].bounds is None
        ):
            raise PolicyError(
                f"{policy.where('outputs', 'tables', str(i), 'dp')}: a DP {table.statistic} "
                f"needs public bounds: add {variable}: {{bounds: [low, high]}} to columns"
            )
        for by in table.by:
            spec = policy.columns.get(by)
            listed = spec is not None and (
                spec.categories is not None or (spec.recode is not None and spec.recode.map)
            )
            if not listed:
                raise PolicyError(
                    f"{policy.where('outputs', 'tables', str(i), 'by')}: a DP table needs the "
                    f"public list of {by!r} categories: add categories: [...] to columns.{by} "
                    "(never read off the data)"
                )
    _check_guarantee(policy)
    _check_synthetic_rows(policy)
    _check_workload(policy)
    _check_dataset(policy)
    _check_related(policy)


def _check_related(policy: Policy) -> None:
    """Related tables: beside microdata, distinct names, link columns with no other role."""
    seen: dict[str, int] = {}
    for i, related in enumerate(policy.related):
        at = ("related", str(i))
        if policy.outputs.microdata is None:
            raise PolicyError(
                f"{policy.where(*at)}: related tables are released beside the main records: "
                "add outputs.microdata"
            )
        first = seen.setdefault(related.name.casefold(), i)
        if first != i:
            raise PolicyError(
                f"{policy.where(*at, 'name')}: related.{i} and related.{first} are both named "
                f"{related.name!r} (the file {related.name}.csv); give each its own name"
            )
        key = policy.columns.get(related.link.to)
        if key is not None and key.role != "other":
            raise PolicyError(
                f"{policy.where('columns', related.link.to)}: {related.link.to!r} is the key "
                f"that related.{i} links to (related.{i}.link.to); it is released as a keyed "
                "pseudonym: give it role: other or leave it out of columns"
            )
        for name, column in related.columns.items():
            if name in _EXPORT_IDS and column.role not in ("direct", "drop"):
                raise PolicyError(
                    f"{policy.where(*at, 'columns', name)}: {name!r} is an id the Kobo or ODK "
                    f"export gives each record; released, it would link {related.name} to the "
                    "raw export: give it role: direct"
                )
        child = related.columns.get(related.link.column)
        if child is not None and child.role != "other":
            raise PolicyError(
                f"{policy.where(*at, 'columns', related.link.column)}: {related.link.column!r} "
                f"is the link column of related.{i} (related.{i}.link.column); it is released "
                "as a keyed pseudonym: give it role: other or leave it out of columns"
            )
        if related.link.to == policy.data.weight:
            raise PolicyError(
                f"{policy.where(*at, 'link', 'to')}: related.{i}.link.to is the weight column"
            )


def _check_guarantee(policy: Policy) -> None:
    """``privacy.guarantee: dp`` refuses every output that is not differentially private."""
    if policy.privacy.guarantee != "dp":
        return
    why = "privacy.guarantee is dp, so every output must be differentially private"
    if policy.outputs.microdata is not None:
        raise PolicyError(
            f"{policy.where('outputs', 'microdata')}: outputs.microdata is not differentially "
            f"private but {why}; remove the microdata output (or publish DP synthetic data "
            "instead), or remove privacy.guarantee"
        )
    for i, table in enumerate(policy.outputs.tables):
        if table.dp is None:
            raise PolicyError(
                f"{policy.where('outputs', 'tables', str(i))}: table {table.table_name} is not "
                f"differentially private but {why}; add dp: {{epsilon: ...}} to it, remove it, "
                "or remove privacy.guarantee"
            )


def _check_synthetic_rows(policy: Policy) -> None:
    """Synthetic data without microdata need a public row count (``rows``).

    Without ``rows`` the synthetic file would hold as many records as the input: the exact
    record count, a figure of the private data without noise. Beside released microdata the
    count is published anyway, so the default stays.
    """
    synthetic = policy.outputs.synthetic
    if synthetic is None or synthetic.rows is not None or policy.outputs.microdata is not None:
        return
    raise PolicyError(
        f"{policy.where('outputs', 'synthetic')}: outputs.synthetic needs rows: N, the public "
        "number of synthetic records to draw; without it the synthetic file would publish the "
        "exact number of input records, which differential privacy does not protect"
    )


def _check_workload(policy: Policy) -> None:
    """``workload`` and ``max_seconds`` belong to AIM and name synthesised columns only."""
    synthetic = policy.outputs.synthetic
    if synthetic is None:
        return
    if synthetic.method != "aim":
        for key in ("workload", "max_seconds"):
            if getattr(synthetic, key) is not None:
                raise PolicyError(
                    f"{policy.where('outputs', 'synthetic', key)}: outputs.synthetic.{key} is "
                    f"for method: aim only; add method: aim or remove {key}"
                )
        return
    columns = synthetic.columns or [*policy.quasi, *policy.sensitive]
    for i, group in enumerate(synthetic.workload or []):
        where = policy.where("outputs", "synthetic", "workload", str(i))
        for col in group:
            if col not in columns:
                raise PolicyError(
                    f"{where}: the workload names {col!r}, which is not synthesised; "
                    f"use columns of {', '.join(columns)}"
                )
        if len(set(group)) != len(group):
            raise PolicyError(f"{where}: the workload set {group} repeats a column")


def _check_dataset(policy: Policy) -> None:
    """DP outputs charge a named dataset: refuse them without ``privacy.dataset``."""
    if policy.dp_epsilon <= 0 or policy.privacy.dataset is not None:
        return
    if ("privacy",) in policy._lines:
        where = policy.where("privacy")
    elif policy.outputs.synthetic is not None:
        where = policy.where("outputs", "synthetic")
    else:
        first = next(i for i, t in enumerate(policy.outputs.tables) if t.dp is not None)
        where = policy.where("outputs", "tables", str(first), "dp")
    raise PolicyError(
        f"{where}: DP outputs spend a privacy budget, which the ledger keeps per dataset: "
        "add dataset: NAME under privacy (one name for this data, whatever file it comes in)"
    )


def _paths(model: BaseModel, keys: tuple[str, ...]) -> Iterable[tuple[tuple[str, ...], Path]]:
    """Every file path the policy names, with its key path (``columns.age.recode.map``)."""
    for field in type(model).model_fields:
        value = getattr(model, field)
        items: list[tuple[tuple[str, ...], Any]]
        if isinstance(value, dict):
            items = [((*keys, field, str(k)), v) for k, v in value.items()]
        elif isinstance(value, list):
            items = [((*keys, field, str(i)), v) for i, v in enumerate(value)]
        else:
            items = [((*keys, field), value)]
        for sub, item in items:
            if isinstance(item, Path):
                yield sub, item
            elif isinstance(item, BaseModel):
                yield from _paths(item, sub)


def _check_table_names(policy: Policy) -> None:
    """Refuse two tables that would write the same file (``NAME.csv``, ``NAME-pivot.csv``).

    Names are compared without case: on Windows and macOS ``Sex.csv`` and ``sex.csv`` are
    one file.
    """
    seen: dict[str, int] = {}
    for i, table in enumerate(policy.outputs.tables):
        name = table.table_name
        for file in (f"{name}.csv", f"{name}-pivot.csv"):
            first = seen.get(file.casefold())
            if first is not None and first != i:
                line = policy.where("outputs", "tables", str(first)).rsplit(" ", 2)[-2:]
                raise PolicyError(
                    f"{policy.where('outputs', 'tables', str(i))}: outputs.tables.{i} and "
                    f"outputs.tables.{first} ({' '.join(line)}) would both write tables/{file}; "
                    "give one of them its own name: NAME"
                )
            seen[file.casefold()] = i


class _DuplicateKey(Exception):
    """A key given twice in one mapping (YAML would silently keep the last one)."""

    def __init__(self, key: str, line: int) -> None:
        super().__init__(key)
        self.key = key
        self.line = line


def _collect_lines(
    node: yaml.Node | None, path: tuple[str, ...], out: dict[tuple[str, ...], int]
) -> None:
    if node is None:
        return
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            sub = (*path, str(key.value))
            if str(key.value) in seen:
                raise _DuplicateKey(".".join(sub), key.start_mark.line + 1)
            seen.add(str(key.value))
            out[sub] = key.start_mark.line + 1
            _collect_lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _collect_lines(item, (*path, str(i)), out)


def _model_for(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The pydantic model that owns the field at ``loc`` (for 'did you mean')."""
    model: type[BaseModel] | None = Policy
    for part in loc[:-1]:
        if model is None:
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            continue  # a dict key (column name) or list index
        model = _inner_model(field.annotation)
    return model


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _explain(exc: ValidationError, name: str, lines: dict[tuple[str, ...], int]) -> str:
    """Turn the first pydantic error into one sentence with file, line and key."""
    err = exc.errors()[0]
    loc = tuple(str(p) for p in err["loc"] if not str(p).startswith("function-after"))
    loc = tuple(p for p in loc if p not in ("list[str]", "literal['auto']", "float", "int"))
    key = ".".join(loc) if loc else "(top level)"
    line = None
    for depth in range(len(loc), -1, -1):
        line = lines.get(loc[:depth])
        if line is not None:
            break
    where = f"{name} line {line}" if line else name
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _model_for(loc)
        valid = list(model.model_fields) if model else []
        hint = difflib.get_close_matches(loc[-1], valid, n=1) if loc else []
        suggestion = (
            f" (did you mean {hint[0]!r}?)" if hint else f"; valid keys: {', '.join(valid)}"
        )
        return f"{where}: unknown key {key}{suggestion}"
    if kind == "missing":
        return f"{where}: {key} is required"
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return f"{where}: {key} must be one of {expected} (got {err.get('input')!r})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "string_type" and isinstance(err.get("input"), int | float):
        msg += f" (quote it: '{err.get('input')}')"
    return f"{where}: {key}: {msg}"
