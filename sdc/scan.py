"""Column profiling and a draft policy: what ``sdc scan`` does.

:func:`scan` profiles every column (kind, distinct values, missing share, uniqueness) and
guesses its role from its name (English, French and Spanish words, accents ignored) and
from its contents (a bounded sample of distinct values, so the cost is one pass over each
column plus a few thousand regular-expression checks):

- ``direct``: personal names, phone numbers, e-mails, ID-number patterns, GPS coordinates,
  street addresses, near-unique text and running numbers;
- ``quasi``: demographics (age, sex/gender, marital status, race, ethnicity, origin,
  language, education, occupation, household size, relationship), disability (often
  visible to neighbours, so it identifies; it is also sensitive and should stay coarse),
  geography, dates, and any other low-to-medium cardinality categorical;
- ``sensitive``: health (HIV, ...), violence, income and wealth, religion, sexual
  orientation and gender identity, political opinion, criminal records;
- ``drop``: free text (notes, comments), which often names people;
- ``other``: measures and everything else.

A column that would be a quasi-identifier (or free-form text) but whose non-missing values
are mostly unique (more than half of at least 10 held by one record, see
:func:`value_uniqueness`) is a likely identifier: role ``direct``, with the share in the
reason; as a quasi-identifier it would leave nearly everyone alone in their key. A
mostly-missing column whose few values are rare gets a plain-words ``finding``.

KoboToolbox and ODK exports are read as the tools write them: their metadata columns
(device, SIM and submitter ids, record ids: ``direct``; timestamps and server bookkeeping:
``drop``, never quasi-identifiers), GPS parts, group prefixes, phone numbers stored as
numbers, names under a respondent header, nicknames and "other, specify" text. Gender
identity and sexual orientation are quasi-identifiers (often known to neighbours), with the
reason. A select_multiple question (a text column ``Q`` and 0/1 columns ``Q/CODE``) is one
variable: its profile suggests ``multiple: {options: [...]}`` (and ``recode: {count: true}``
for a quasi-identifier), and its option columns carry ``option_of``.

Sampling weights and household ids are recognised apart and go to the policy's
``data: {weight:, household:}``. Decisions worth knowing: religion is sensitive, not
quasi; disability is quasi; an income *class* such as adult's ``salary-class`` is
sensitive (it is income information); a continuous measure that no name identifies stays
``other`` (the user decides).

:func:`draft_policy` turns a :class:`ScanResult` into a commented policy file (DESIGN.md
format, ``version: 1``) that names every column with the reason for its role, says
``missing: category`` and ``unlisted: refuse``, and proposes only the thresholds protecting
sensitive columns (``l``, ``group_share``) that a release of the same data can meet.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import PurePath
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from sdc.errors import DataError
from sdc.io import text_chunks

__all__ = [
    "IDENTIFIER_MIN_VALUES",
    "IDENTIFIER_SHARE",
    "MOSTLY_MISSING",
    "RECODING_KEYS",
    "ColumnProfile",
    "DataRole",
    "Kind",
    "Role",
    "ScanResult",
    "Uniqueness",
    "draft_policy",
    "format_share",
    "scan",
    "value_uniqueness",
]

Role = Literal["direct", "quasi", "sensitive", "drop", "other"]
Kind = Literal["numeric", "text", "date", "bool"]
DataRole = Literal["weight", "household"]

_SAMPLE = 2000  # distinct values looked at for content checks
_NEAR_UNIQUE = 0.9
_MAX_CODES = 20  # a numeric column with at most this many values is a code
_MAX_CATEGORIES = 100  # a text column with at most this many values is a categorical

#: A column is identifier-like when more than this share of its non-missing records hold a
#: value no other record has ...
IDENTIFIER_SHARE = 0.5
#: ... and it has at least this many non-missing values (a handful of values proves nothing).
IDENTIFIER_MIN_VALUES = 10
#: A column missing in at least this share of the records is mostly missing: its few values
#: are reported in plain words when they are rare.
MOSTLY_MISSING = 0.9
#: Policy keys that recode a column's values, so that they can stop being unique.
RECODING_KEYS = ("recode", "top_code", "bottom_code", "microaggregation", "noise")
#: The group-disclosure limit the draft policy proposes, when the data allow it.
_DRAFT_GROUP_SHARE = 0.9
#: The l the draft policy proposes, when the data allow it.
_DRAFT_L = 2


@dataclass(frozen=True)
class ColumnProfile:
    """What :func:`scan` found about one column.

    Attributes:
        name: the column name.
        kind: ``numeric``, ``text``, ``date`` or ``bool``.
        n_distinct: number of distinct non-missing values.
        missing_share: share of missing values (NaN, None or empty text), 0..1.
        uniqueness: distinct values / non-missing values (1.0 = every value different;
            0.0 for an empty column).
        role: ``direct``, ``quasi``, ``sensitive``, ``drop`` or ``other``.
        reason: why, in plain words (never quotes a value of the data).
        suggestions: policy keys to add to the column's entry, e.g. ``recode``,
            ``top_code`` and ``bounds`` for an age, ``action: pseudonymize`` for a record id.
        hints: advice in plain words that needs the user's judgement (comments in the
            draft policy).
        data_role: ``weight`` or ``household`` for a sampling weight or household id
            (then ``role`` is ``other``), else None.
        unique_share: share of the non-missing records whose value no other record has
            (see :func:`value_uniqueness`).
        top_share: share of the non-missing records holding the most common value.
        finding: a risk worth the steward's attention, in plain words (a mostly-missing
            column whose few values single people out), or None.
        option_of: for a 0/1 option column of a multiple-choice question, the question's
            column (the draft names it under the question's ``multiple.options``).
    """

    name: str
    kind: Kind
    n_distinct: int
    missing_share: float
    uniqueness: float
    role: Role
    reason: str
    suggestions: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    hints: tuple[str, ...] = ()
    data_role: DataRole | None = None
    unique_share: float = 0.0
    top_share: float = 0.0
    finding: str | None = None
    option_of: str | None = None


@dataclass(frozen=True)
class ScanResult:
    """The profiles of all columns of a table, in column order.

    Attributes:
        n_rows: number of rows scanned.
        columns: one :class:`ColumnProfile` per column.
        weight: the column chosen as sampling weight, or None.
        household: the column chosen as household id, or None.
    """

    n_rows: int
    columns: tuple[ColumnProfile, ...]
    weight: str | None = None
    household: str | None = None

    @cached_property
    def _by_name(self) -> dict[str, ColumnProfile]:
        return {p.name: p for p in reversed(self.columns)}  # the first of a name wins

    def __getitem__(self, name: str) -> ColumnProfile:
        return self._by_name[name]

    def __iter__(self) -> Iterator[ColumnProfile]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def names(self, role: Role) -> tuple[str, ...]:
        """Names of the columns with this role, in column order."""
        return tuple(p.name for p in self.columns if p.role == role)


# --- vocabularies --------------------------------------------------------------------------
# Words are matched against the column name's tokens (accents stripped, lower case,
# split on non-letters and camelCase); stems are matched anywhere in the name with its
# separators removed, so that "WORKCLASS" or "salary-class" are found too.


@dataclass(frozen=True)
class _Vocab:
    label: str
    words: frozenset[str]
    stems: tuple[str, ...] = ()

    def matches(self, tokens: frozenset[str], compact: str) -> bool:
        return bool(self.words & tokens) or any(s in compact for s in self.stems)


def _v(label: str, words: str, stems: str = "") -> _Vocab:
    return _Vocab(label, frozenset(words.split()), tuple(stems.split()))


_WEIGHT = _v(
    "sampling weight",
    "weight weights wgt wt wght wgtp pweight poids peso pesos factor fexp fac pond "
    "ponderation ponderacion ponderador expansion",
    "weight wgt poids ponder factor",
)
_HOUSEHOLD_WORDS = frozenset(
    "hh household households hogar hogares menage menages hhld hhold famille foyer vivienda".split()
)
_HOUSEHOLD_IDS = frozenset("hid hhid idmen idmenage idhogar hhldid hholdid hhno hhnum".split())
_ID_WORDS = frozenset("id no num number nr code key identifier identifiant ident folio".split())
# Words that make a "weight" a body weight (health data), not a sampling weight.
_BODY_WORDS = frozenset("kg kgs kilo kilos lb lbs body birth bmi corporal naissance nacer".split())
_SIZE_WORDS = frozenset(
    "size taille tamano members membres miembros persons personnes personas nb n count".split()
)

# Direct identifiers by name.
_PERSON_NAME = _v(
    "personal names",
    "name names fullname firstname lastname surname surnames forename givenname middlename "
    "nom noms prenom prenoms nomcomplet nombre nombres apellido apellidos nome nomes "
    "sobrenome sobrenomes",
    "fullname firstname lastname surname",
)
_PHONE = _v(
    "phone numbers",
    "phone phones tel telephone mobile cell cellphone celular movil telefono portable "
    "msisdn whatsapp gsm telefone telemovel",
    "phone telephon telefon",
)
_EMAIL = _v("e-mail addresses", "email mail courriel correo", "email")
_ADDRESS = _v(
    "street addresses",
    "address addr street adresse rue direccion calle domicile domicilio endereco logradouro",
    "address adresse direccion endereco logradouro",
)
_GPS = _v(
    "GPS coordinates",
    "lat latitude latitud lon lng longitude longitud gps coord coords coordinates "
    "coordinate geopoint",
    "latitud longitud gps",
)
_ID_NUMBER = _v(
    "an ID number",
    "id nid ssn nin passport passeport pasaporte cedula dni cni curp rut nir idno uid uuid "
    "pid identifier identifiant identificacion matricule",
    "nationalid passport passeport pasaporte",
)
_LINK_ID = frozenset(
    "resp respondent record case person persona personne ind indiv pid uid".split()
)

# Sensitive attributes by name.
_SENSITIVE: tuple[_Vocab, ...] = (
    _v(
        "sex work",
        "sexwork",
        "sexwork transactionalsex travailsex trabajosexual trabalhosexual",
    ),
    _v(
        "health",
        "health sante salud medical medico medicale disease diseases illness maladie "
        "enfermedad diagnosis diagnostic diagnostico hiv vih aids sida tb tuberculosis "
        "tuberculose pregnant pregnancy enceinte grossesse embarazo embarazada mental "
        "depression medication medicament treatment traitement tratamiento drug drugs "
        "alcohol alcool abortion avortement aborto contraception sti std ist its hepatitis "
        "malaria cancer diabetes psychiatric bmi anthropometric muac stunting wasting "
        "haemoglobin hemoglobin saude doenca doencas gravidez gestante vih hiv",
        "health sante salud saude medic diagnos pregnan hivstatus birthweight weightkg "
        "poidsnaissance doenc",
    ),
    _v(
        "violence or abuse",
        "violence violencia abuse abus abuso assault rape viol violacion harassment "
        "harcelement acoso ipv gbv vbg trafficking",
        "violen abuse harass harcel",
    ),
    _v(
        "income or wealth",
        "income incomes revenu revenus ingreso ingresos salary salaire salario sueldo wage "
        "wages earnings earning pay expend expenditure expenditures expense expenses "
        "spending depense depenses gasto gastos savings saving epargne ahorro ahorros wealth "
        "assets asset debt debts dette dettes deuda deudas money argent dinero loan loans "
        "credit tax taxes impot impots impuesto remittance remittances renda rendimento "
        "rendimentos poupanca divida dividas",
        "income revenu ingreso salar salair sueldo wage earning expend depense gasto "
        "saving epargne ahorro wealth asset debt dette deuda money loan remittanc tax earn "
        "renda rendiment poupanc",
    ),
    _v(
        "religion",
        "religion religions religious religieux religiosa religioso faith confession culte "
        "denomination church eglesia mosque religiao",
        "religi",
    ),
    _v(
        "political opinion",
        "political politique politica politico party parti partido vote voting voto",
        "politi",
    ),
    _v(
        "criminal record",
        "crime criminal arrest arrested prison jail conviction convicted detention casier",
        "crimin",
    ),
)

# Gender identity and sexual orientation are quasi-identifiers *and* sensitive: in a small
# community they are often visible or known to neighbours, so an intruder can use them to
# find someone; a policy role is one word, so the draft makes them quasi and says why.
_IDENTITY = (
    "gender identity or sexual orientation: often visible or known to neighbours, so it "
    "identifies (it is sensitive too: keep it coarse)"
)

# Quasi-identifiers by name.
_QUASI: tuple[_Vocab, ...] = (
    _v(
        "household size",
        "hhsize hhsz famsize",
        "hhsize householdsize taillemenage tamanohogar",
    ),
    _v(
        "age",
        "age ages edad idade yob birthyear agegroup ageband agegrp",
        "ageyoung ageold agegroup ageband",
    ),
    _v(
        "date of birth",
        "dob birth birthdate birthday naissance nacimiento",
        "birth naissance nacimiento",
    ),
    _v(
        "disability: often visible to neighbours, so it identifies (it is sensitive too)",
        "disability disabilities disabled handicap handicape discapacidad discapacitado "
        "impairment wg difficulty deficiencia deficiente deficiencias",
        "disab handicap discapac impair deficien",
    ),
    _v(
        _IDENTITY,
        "lgbt lgbti lgbtq lgbtiq lgbtqi sexuality sexualite sexualidad sexualidade "
        "transgender intersex",
        "sexualorient orientationsex orientacionsex orientacaosex genderident "
        "identitedegenre identitegenre identidaddegenero identidadgenero identidadedegenero "
        "identidadegenero sexualidad sexualite sexuality",
    ),
    _v("sex or gender", "sex sexe sexo gender genre genero", ""),
    _v(
        "marital status",
        "marital marstat married civil matrimonial spouse conyugal",
        "marital marstat civil",
    ),
    _v(
        "ethnicity, race or origin",
        "race racial ethnic ethnicity ethnie ethnique etnia etnico etni tribe tribu caste "
        "clan language langue idioma lengua nationality nationalite nacionalidad "
        "citizenship native origin origine origen migrant indigenous indigena autochtone "
        "nativecountry raca cor povo",
        "ethni etnia nationalit nacionalid citizensh indigen",
    ),
    _v(
        "geography",
        "village villages district districts region regions province provincia country "
        "pays pais commune comuna municipio municipality municipalite departement "
        "department departamento state county city ville ciudad town localidad locality "
        "ward parish canton zone area urban rural urbrur zip zipcode postcode postal "
        "cluster ea subcounty subdistrict quartier barrio colonia aldea vereda "
        "neighborhood neighbourhood settlement community communaute comunidad block "
        "lga woreda kebele lieu place lugar birthplace bairro cidade distrito comunidade "
        "localidade povoado regiao estado uf alcaldia delegacion secteur cercle prefecture "
        "communaute arrondissement",
        "village district provinc municip departement departament subcount",
    ),
    _v(
        "education",
        "education educ school schooling ecole escuela escolaridad diploma degree grade "
        "literacy literate alphabetisation niveau instruction escolaridade ensino instrucao",
        "educ school escolar",
    ),
    _v(
        "occupation",
        "occupation occupations occup job jobs profession work workclass employment "
        "emploi empleo trabajo ocupacion metier industry sector employer employed "
        "unemployed activity activite actividad ocupacao profissao trabalho emprego",
        "occup ocupac workclass employ emploi empleo profession",
    ),
    _v(
        "relationship to the household head",
        "relat relation relationship lien parentesco parente",
        "relationship parentesco",
    ),
)

# Content vocabularies (accent-stripped, lower case).
_RELIGION_VALUES = frozenset(
    "christian muslim islam catholic protestant orthodox hindu buddhist jewish atheist "
    "evangelical pentecostal animist anglican adventist sikh chretien musulman catholique "
    "protestante juif athee cristiano musulmana catolico catolica evangelico judio ateo "
    "agnostic agnostique agnostico".split()
)
_ORIENTATION_VALUES = frozenset(
    "heterosexual homosexual gay lesbian bisexual straight queer asexual pansexual "
    "heterosexuel homosexuel lesbienne bisexuel heterosexuelle homosexuelle lesbiana "
    "heterossexual homossexual lesbica bissexual".split()
)
_GENDER_IDENTITY_RE = re.compile(
    r"\b(cis|trans|transgenre|transgenero|non ?binaire|no ?binari[eoa]|"
    r"nao ?binari[eoa]|non ?binary|nonbinary|travesti|intersex\w*)\b"
)
_TEST_RESULT_VALUES = frozenset(
    "positive negative positif negatif positivo negativo reactive nonreactive".split()
)
_SEX_VALUES = frozenset(
    "male female m f man woman men women homme femme h hombre mujer masculin feminin "
    "masculino femenino".split()
)

_EMAIL_RE = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$")
_PHONE_RE = re.compile(r"^\+?[\d\s().\-/]{6,24}$")
_ID_RE = re.compile(r"^[A-Za-z]{0,4}[-/ ]?\d[\dA-Za-z\-/.]{3,}$")
_DATE_RE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
    r"([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)
_TIME_RE = re.compile(r"[ T]\d{1,2}:\d{2}")
_NAME_PARTICLES = frozenset("de del la le da van von bin binti al el di dos das du y".split())


# --- uniqueness of values ------------------------------------------------------------------


@dataclass(frozen=True)
class Uniqueness:
    """How often a column's values single a record out on their own.

    Attributes:
        n_records: records in the column, missing ones included.
        n_present: records with a value (not missing, not blank text).
        n_distinct: distinct values.
        n_unique: records whose value no other record has.
        n_top: records holding the most common value.
    """

    n_records: int
    n_present: int
    n_distinct: int
    n_unique: int
    n_top: int

    @property
    def share(self) -> float:
        """Share of the records with a value whose value is unique (0.0 without values)."""
        return self.n_unique / self.n_present if self.n_present else 0.0

    @property
    def top_share(self) -> float:
        """Share of the records with a value that hold the most common value."""
        return self.n_top / self.n_present if self.n_present else 0.0

    @property
    def missing_share(self) -> float:
        """Share of the records without a value."""
        return 1 - self.n_present / self.n_records if self.n_records else 0.0

    @property
    def identifier_like(self) -> bool:
        """Mostly unique values: more than half of at least 10 values are held by one record.

        Such a column singles people out by itself, like an ID: as a quasi-identifier it
        would leave nearly every record alone in its key.
        """
        return self.n_present >= IDENTIFIER_MIN_VALUES and self.share > IDENTIFIER_SHARE

    @property
    def rare_when_present(self) -> bool:
        """Mostly missing, and at least half of the few records with a value are unique.

        Blanks hide nobody: the few people with a value are the ones who stand out.
        """
        return (
            self.missing_share >= MOSTLY_MISSING
            and self.n_present > 0
            and self.share >= IDENTIFIER_SHARE
        )

    def describe(self) -> str:
        """``"100% of its 2000 values are unique"``: the share in plain words."""
        return f"{format_share(self.share)} of its {self.n_present} values are unique"


def value_uniqueness(column: pd.Series) -> Uniqueness:
    """Count how many records of a column hold a value nobody else holds.

    Missing values (NaN, None, and text that is empty or only spaces) are left out. The
    values are factorised once and counted with numpy, so the cost is one pass over the
    column whatever its size. :func:`scan`, ``load_inputs`` and ``sdc check`` all measure
    identifier-like columns with this function.

    Args:
        column: the values, one per record.

    Returns:
        The counts as a :class:`Uniqueness`.
    """
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    present = np.asarray(codes)
    if _is_text(column) and len(uniques):
        # Blank text is judged once per distinct value, not once per record.
        texts = pd.Series(uniques, dtype=object).astype("string").str.strip()
        blank = texts.eq("").fillna(False).to_numpy(dtype=bool)
        if blank.any():
            present = np.where(blank[np.maximum(present, 0)] & (present >= 0), -1, present)
    present = present[present >= 0]
    counts = np.bincount(present) if len(present) else np.zeros(0, dtype=np.int64)
    return Uniqueness(
        n_records=len(column),
        n_present=len(present),
        n_distinct=int(np.count_nonzero(counts)),
        n_unique=int(np.count_nonzero(counts == 1)),
        n_top=int(counts.max()) if len(counts) else 0,
    )


def format_share(share: float) -> str:
    """A share as a percentage that never rounds to a misleading 0%, 50% or 100%.

    ``0.504`` is shown as ``50.4%`` (above the identifier limit of 50%, so it must not
    read as 50%), ``0.9996`` as ``99.96%``; exact shares keep no decimals.
    """
    for digits in (0, 1, 2):
        rounded = round(share * 100, digits)
        if share in (0.0, 0.5, 1.0) or rounded not in (0.0, 50.0, 100.0):
            return f"{share:.{digits}%}"
    if share < 0.5:
        return "under 0.01%" if share < 0.005 else f"{share:.3%}"
    return "over 99.99%" if share > 0.995 else f"{share:.3%}"


def _rare_finding(name: str, u: Uniqueness) -> str | None:
    """The plain-words note for a mostly-missing column whose values are rare."""
    if not u.rare_when_present:
        return None
    who = f"the {format_share(u.n_present / u.n_records)} of respondents with a {name} value"
    if u.n_unique == u.n_present:
        return f"{who} are unique ({u.n_distinct} values in {u.n_present} records)"
    return (
        f"{who} are easy to single out: {u.n_unique} of these {u.n_present} records hold a "
        f"value no one else has ({u.n_distinct} values in all)"
    )


# --- scanning ----------------------------------------------------------------------------


def scan(df: pd.DataFrame) -> ScanResult:
    """Profile every column of a table and guess its role.

    Args:
        df: the data, one row per record.

    Returns:
        A :class:`ScanResult` with one :class:`ColumnProfile` per column, in column order,
        and the columns chosen as sampling weight and household id.

    Raises:
        DataError: if the table has no columns, no rows, or duplicate column names.
    """
    if df.shape[1] == 0:
        raise DataError("the table has no columns; is it a survey file?")
    if len(df) == 0:
        raise DataError("the table has no rows: there is nothing to scan")
    names = [str(c) for c in df.columns]
    dupes = sorted(n for n, count in Counter(names).items() if count > 1)
    if dupes:
        raise DataError(
            f"duplicate column names {dupes}; rename them so that every column has its own name"
        )

    counted = _text_counts(df)
    stats = [
        _Stats.of(name, column, counted.get(j))
        for j, (name, (_, column)) in enumerate(zip(names, df.items(), strict=True))
    ]
    bodily = _body_weights(stats)
    weight = _choose_weight([s for s in stats if s.name not in bodily])
    household = next((s.name for s in stats if _is_household(s)), None)

    choices = _select_multiple(stats)
    owner = {option: q for q, options in choices.items() for option in options}
    profiles = []
    for s in stats:
        if s.name in choices:
            profiles.append(_question_profile(s, choices[s.name]))
        elif s.name in owner:
            profiles.append(
                replace(
                    s.profile("other", f"an option of {owner[s.name]}: one variable with it"),
                    option_of=owner[s.name],
                )
            )
        elif s.name in bodily:
            profiles.append(
                s.profile("sensitive", "a body weight (there is a height column): health")
            )
        elif s.name == weight:
            profiles.append(s.profile("other", "sampling weight: goes to data.weight", "weight"))
        elif s.name == household:
            profiles.append(s.profile("other", "household id: goes to data.household", "household"))
        else:
            profiles.append(_classify(s, weight))
    return ScanResult(n_rows=len(df), columns=tuple(profiles), weight=weight, household=household)


def _zero_one(s: _Stats) -> bool:
    """Whether a column holds only 0/1 (or true/false) answers, at least one of them."""
    if s.kind == "bool":
        return True
    if s.kind == "numeric":
        return s.n_present > 0 and bool(s.values.isin([0.0, 1.0]).all())
    allowed = {"0", "1", "0.0", "1.0", "true", "false"}
    return s.kind == "text" and bool(s.sample) and {v.strip().lower() for v in s.sample} <= allowed


def _select_multiple(stats: list[_Stats]) -> dict[str, list[str]]:
    """Multiple-choice questions: a text column ``Q`` and 0/1 columns ``Q/CODE``.

    Kobo writes ``Q/CODE``; ODK Central ``Q/CODE`` or ``Q-CODE``; hand-made sheets ``Q.CODE``
    or ``Q_CODE``. The longest question name wins; at least two options make a question.
    """
    by_name = {s.name: s for s in stats}
    found: dict[str, list[str]] = {}
    for s in stats:
        if not _zero_one(s):
            continue
        cuts = [i for i, c in enumerate(s.name) if c in "/.-_" and 0 < i < len(s.name) - 1]
        for i in sorted(cuts, reverse=True):
            question = by_name.get(s.name[:i])
            if question is not None and question.kind == "text":
                found.setdefault(question.name, []).append(s.name)
                break
    return {q: options for q, options in found.items() if len(options) >= 2}


def _question_profile(s: _Stats, options: list[str]) -> ColumnProfile:
    """A multiple-choice question: one set-valued variable with its option columns."""
    codes = [o[len(s.name) + 1 :] for o in options]
    listed: list[str] | dict[str, str] = options
    if any(not c or any(ch.isspace() for ch in c) for c in codes) or len(set(codes)) < len(codes):
        listed = {
            f"{_slug(c)}-{i}" if codes.count(c) > 1 else _slug(c): o
            for i, (c, o) in enumerate(zip(codes, options, strict=True))
        }
    by_name = _sensitive(s) or _quasi_by_name(s)
    role: Role = by_name.role if by_name is not None else "quasi"
    what = by_name.reason if by_name is not None else "answers others may know"
    suggestions: dict[str, Any] = {"multiple": {"options": listed}}
    hints: tuple[str, ...] = ()
    reason = f"multiple choice ({len(options)} options, one variable): {what}"
    if role == "quasi":
        suggestions["recode"] = {"count": True}
        hints = (
            "the draft keeps the number of answers chosen; recode: {any_of: {GROUP: [codes]}} "
            "or {rare_to_other: 20} keeps more detail",
        )
    return s.profile(role, reason, suggestions=suggestions, hints=hints)


@dataclass(frozen=True)
class _Stats:
    """Column statistics and name tokens used by the classification rules."""

    name: str
    tokens: frozenset[str]
    compact: str
    kind: Kind
    n: int
    n_missing: int
    n_distinct: int
    sample: tuple[str, ...]  # distinct non-missing values as text (bounded)
    given: pd.Series | None  # the values below when known; text columns' made when used
    integer: bool
    uniq: Uniqueness
    column: pd.Series

    @cached_property
    def values(self) -> pd.Series:
        """Non-missing values (numeric columns: as float; text: not blank)."""
        if self.given is not None:
            return self.given
        text = self.column.dropna().astype("str")
        return text[text.str.strip() != ""]

    @staticmethod
    def of(name: str, column: pd.Series, counted: _TextCounts | None = None) -> _Stats:
        tokens, compact = _name_tokens(name)
        if counted is not None:
            return _Stats(
                name=name,
                tokens=tokens,
                compact=compact,
                kind=_kind(column, counted.sample),
                n=len(column),
                n_missing=len(column) - counted.n_present,
                n_distinct=counted.n_distinct,
                sample=counted.sample,
                given=None,
                integer=False,
                uniq=counted.uniq,
                column=column,
            )
        present = column.dropna()
        if _is_text(column):
            text = present.astype("str")
            present = text[text.str.strip() != ""]
        n_distinct = int(present.nunique())
        uniques = pd.unique(present)
        sample = tuple(str(v) for v in uniques[:_SAMPLE])
        kind = _kind(column, sample)
        integer = False
        values = present
        if kind == "numeric":
            values = present.astype("float64")
            integer = bool(np.all(np.mod(values.to_numpy(), 1.0) == 0)) if len(values) else True
        return _Stats(
            name=name,
            tokens=tokens,
            compact=compact,
            kind=kind,
            n=len(column),
            n_missing=len(column) - len(present),
            n_distinct=n_distinct,
            sample=sample,
            given=values,
            integer=integer,
            uniq=value_uniqueness(column),
            column=column,
        )

    @property
    def n_present(self) -> int:
        return self.n - self.n_missing

    @property
    def uniqueness(self) -> float:
        return self.n_distinct / self.n_present if self.n_present else 0.0

    def share(self, test: Any) -> float:
        """Share of the sampled distinct values for which ``test(value)`` holds."""
        if not self.sample:
            return 0.0
        return sum(1 for v in self.sample if test(v)) / len(self.sample)

    def profile(
        self,
        role: Role,
        reason: str,
        data_role: DataRole | None = None,
        suggestions: Mapping[str, Any] | None = None,
        hints: tuple[str, ...] = (),
    ) -> ColumnProfile:
        return ColumnProfile(
            name=self.name,
            kind=self.kind,
            n_distinct=self.n_distinct,
            missing_share=self.n_missing / self.n if self.n else 0.0,
            uniqueness=self.uniqueness,
            role=role,
            reason=reason,
            suggestions=MappingProxyType(dict(suggestions or {})),
            hints=hints,
            data_role=data_role,
            unique_share=self.uniq.share,
            top_share=self.uniq.top_share,
            finding=_rare_finding(self.name, self.uniq),
        )


@dataclass(frozen=True)
class _TextCounts:
    """What :func:`_text_counts` found in one text column."""

    n_present: int
    n_distinct: int
    sample: tuple[str, ...]
    uniq: Uniqueness


def _text_counts(df: pd.DataFrame) -> dict[int, _TextCounts]:
    """:meth:`_Stats.of`'s and :func:`value_uniqueness`'s counts of all text columns at once.

    By position, for every pyarrow text column: one dictionary of all their distinct
    values, counted with numpy.

    A file of 10,000 columns then costs a few array operations, not 10,000 rounds of
    pandas calls. Blank text (only spaces) is missing, as in those functions.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {
        j: values
        for j, (_, values) in enumerate(df.items())
        if isinstance(values.array, pd.arrays.ArrowStringArray)
    }
    if not columns:
        return {}
    positions = list(columns)
    chunks = [c for values in columns.values() for c in text_chunks(values)]
    encoded = pc.dictionary_encode(pa.chunked_array(chunks, pa.large_string()).combine_chunks())
    words = encoded.dictionary.to_pylist()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
    codes = codes.reshape(len(positions), len(df))
    distinct = pd.Series(words, dtype="str")
    shown = np.append(distinct.str.strip().ne("").to_numpy(dtype=bool), False)
    kept = np.append(
        ~distinct.astype("string").str.strip().eq("").fillna(False).to_numpy(dtype=bool), False
    )
    stats = _code_counts(codes, shown, words)
    uniq = stats if np.array_equal(shown, kept) else _code_counts(codes, kept, words)
    return {
        j: _TextCounts(
            n_present=stats[i][0],
            n_distinct=stats[i][1],
            sample=stats[i][4],
            uniq=Uniqueness(len(df), uniq[i][0], uniq[i][1], uniq[i][2], uniq[i][3]),
        )
        for i, j in enumerate(positions)
    }


def _code_counts(
    codes: np.ndarray, present: np.ndarray, words: list[str]
) -> list[tuple[int, int, int, int, tuple[str, ...]]]:
    """Counts per row of ``codes`` (a column's value codes, -1 missing).

    Values with ``present[code]`` False are left out. Returns, per row: records with a
    value, distinct values, records with a value of their own, records with the most
    common value, and the first :data:`_SAMPLE` distinct values in order of appearance.
    """
    width, rows = codes.shape
    mask = present[codes]
    column = np.repeat(np.arange(width, dtype=np.int64), rows).reshape(width, rows)[mask]
    keys = column * (len(words) + 1) + codes[mask]
    unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
    owner = unique // (len(words) + 1)
    n_present = mask.sum(axis=1)
    n_distinct = np.bincount(owner, minlength=width)
    n_unique = np.bincount(owner[counts == 1], minlength=width)
    n_top = np.zeros(width, dtype=np.int64)
    np.maximum.at(n_top, owner, counts)
    order = np.lexsort((first, owner))
    ends = np.cumsum(n_distinct)
    seen = unique[order] % (len(words) + 1)
    out = []
    for i in range(width):
        start = ends[i] - n_distinct[i]
        sample = tuple(words[c] for c in seen[start : min(ends[i], start + _SAMPLE)])
        out.append((int(n_present[i]), int(n_distinct[i]), int(n_unique[i]), int(n_top[i]), sample))
    return out


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _name_tokens(name: str) -> tuple[frozenset[str], str]:
    """Lower-case word tokens of a column name, and the name's letters run together."""
    plain = _strip_accents(name)
    plain = re.sub(r"([a-z])([A-Z])", r"\1 \2", plain).lower()
    words = re.findall(r"[a-z]+", plain)
    return frozenset(words), "".join(words)


def _is_text(column: pd.Series) -> bool:
    return bool(pd.api.types.is_string_dtype(column.dtype) or column.dtype == object)


def _kind(column: pd.Series, sample: tuple[str, ...]) -> Kind:
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "date"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if sample and sum(1 for v in sample if _DATE_RE.match(v.strip())) >= 0.9 * len(sample):
        return "date"
    if isinstance(dtype, pd.StringDtype):  # holds text only, never a bool
        return "text"
    if sample and all(isinstance(v, bool) for v in column.dropna().head(_SAMPLE)):
        return "bool"
    return "text"


_HEIGHT = frozenset("height altura estatura taille talla".split())
_PLAIN_WEIGHT = frozenset("weight peso poids kg kgs corporal".split())


def _body_weights(stats: list[_Stats]) -> set[str]:
    """Columns called just "weight" (Peso, Poids) beside a height column: body weights."""
    if not any(s.tokens & _HEIGHT and s.kind == "numeric" for s in stats):
        return set()
    return {
        s.name
        for s in stats
        if s.kind == "numeric"
        and s.tokens
        and s.tokens <= _PLAIN_WEIGHT
        and s.tokens - {"kg", "kgs"}
    }


def _choose_weight(stats: list[_Stats]) -> str | None:
    """The sampling weight: a positive numeric column named like one (best name first)."""
    best: tuple[int, int] | None = None
    chosen = None
    for i, s in enumerate(stats):
        if not _is_weight(s):
            continue
        score = 0
        if s.tokens & _HOUSEHOLD_WORDS or s.compact.startswith("hh"):
            score -= 1
        if any(w in s.compact for w in ("samp", "final", "fnl", "pers", "indiv", "base")):
            score += 1
        if best is None or (score, -i) > best:
            best, chosen = (score, -i), s.name
    return chosen


def _is_weight(s: _Stats) -> bool:
    if s.kind != "numeric" or not s.n_present or float(s.values.min()) <= 0:
        return False
    if s.tokens & _BODY_WORDS:
        return False
    return _WEIGHT.matches(s.tokens, s.compact) or s.compact == "w"


def _is_household(s: _Stats) -> bool:
    if s.tokens & _SIZE_WORDS or _is_weight(s) or s.kind in ("date", "bool"):
        return False
    if s.tokens & _HOUSEHOLD_IDS:
        return True
    if s.tokens & _HOUSEHOLD_WORDS:
        return bool(s.tokens & _ID_WORDS) or s.tokens <= _HOUSEHOLD_WORDS
    return False


def _classify(s: _Stats, weight: str | None) -> ColumnProfile:
    """The role of one column: the first rule that fires, strongest evidence first."""
    meta = _survey_metadata(s)
    if meta is not None:
        return meta
    if s.n_distinct == 0:
        return s.profile("other", "always empty: nothing to protect")
    if _is_weight(s):
        return s.profile("other", f"another weight column (the draft uses {weight})")
    if s.n_distinct == 1:
        return s.profile("other", "the same value in every row: it cannot single anyone out")

    found = (
        _timestamp(s)
        or _direct_by_content(s)
        or _person_by_name(s)
        or _direct_by_name(s)
        or _free_text(s)
    )
    if found is None:
        found = _sensitive(s) or _quasi_by_name(s) or _by_shape(s)
    # Mostly unique values identify people whatever the column is called; a numeric
    # measure (a score, an amount) is left alone: its exact values are rarely known to others.
    could_be_known = found.role == "quasi" or (found.role == "other" and s.kind == "text")
    if could_be_known and s.uniq.identifier_like:
        return _identifier_like(s, found)
    return found


def _identifier_like(s: _Stats, quasi: ColumnProfile) -> ColumnProfile:
    """A would-be quasi-identifier (or text) whose values are mostly unique is an identifier.

    As a quasi-identifier it would leave nearly every record alone in its key, so the draft
    drops it (role direct) unless the draft already recodes it (a date cut to the year):
    then it stays a quasi-identifier and a hint says why the recode matters.
    """
    if any(key in quasi.suggestions for key in RECODING_KEYS):
        hint = f"{s.uniq.describe()}: keep the recode, or it singles people out like an ID"
        return replace(quasi, hints=(*quasi.hints, hint))
    return s.profile(
        "direct",
        f"{s.uniq.describe()}: it singles people out like an ID, so it is a likely "
        "identifier, not a quasi-identifier",
        hints=(
            "if it must stay, make it role: quasi with a recode (bands, map or prefix) instead",
        ),
    )


# --- KoboToolbox and ODK exports -----------------------------------------------------------
# Metadata columns the tools add, by their exact names (Kobo: lower case; ODK Central:
# CamelCase). Kobo puts a group path before a name (``meta/instanceID``); a repeat sheet
# repeats its parent's columns as ``_submission_*``.
_META_DIRECT = {
    "deviceid": "the device's id (IMEI or app id): it points at an enumerator's phone",
    "subscriberid": "the SIM's subscriber id (IMSI): it identifies a phone line",
    "simserial": "the SIM's serial number: it identifies a phone line",
    "phonenumber": "the device's phone number",
    "username": "the enumerator's user name: with the date it says who met whom",
    "email": "the enumerator's e-mail address",
    "_submitted_by": "the account that submitted the form",
    "submitterid": "the account that submitted the form",
    "submittername": "the account that submitted the form",
    "instanceid": "the submission's id: it links the record to the server's copy",
    "_uuid": "the submission's id: it links the record to the server's copy",
    "uuid": "the submission's id: it links the record to the server's copy",
    "key": "the submission's id: it links the record to the server's copy",
    "parent_key": "the parent submission's id: it links records across sheets",
    "_id": "the server's record number: it links the record to the server's copy",
    "_index": "the row number of the export: it links records across sheets",
    "_parent_index": "the parent row's number: it links records across sheets",
    "_geolocation": "GPS coordinates: they point at a home",
    "_attachments": "names of attached photos or recordings",
    "_xform_id_string": "the form's id",
}
_META_DROP = {
    "start": "when the interview started: a timestamp says who was met when",
    "end": "when the interview ended: a timestamp says who was met when",
    "today": "the interview's date: with the enumerators' rounds it says who was met when",
    "starttime": "when the interview started: a timestamp says who was met when",
    "endtime": "when the interview ended: a timestamp says who was met when",
    "_submission_time": "when the form reached the server: a timestamp",
    "submissiondate": "when the form reached the server: a timestamp",
    "_validation_status": "the review status on the server: not about the person",
    "reviewstate": "the review status on the server: not about the person",
    "_status": "the submission's status on the server: not about the person",
    "status": "the submission's status on the server: not about the person",
    "_notes": "reviewers' notes: free text that may name people",
    "_tags": "reviewers' tags on the server: not about the person",
    "__version__": "the form version: not about the person",
    "_version_": "the form version: not about the person",
    "formversion": "the form version: not about the person",
    "edits": "how often the submission was edited: not about the person",
    "attachmentspresent": "how many attachments arrived: not about the person",
    "attachmentsexpected": "how many attachments were expected: not about the person",
    "instancename": "the submission's display name, often built from names",
    "_parent_table_name": "the name of the parent sheet: not about the person",
    "audit": "the audit log: timestamps of every answer",
}
# ODK Central's CamelCase names (matched with their case: "Status" alone is too common).
_AMBIGUOUS_META = frozenset("status key edits email uuid audit parent_key".split())
_ODK_NAMES = frozenset(
    "KEY PARENT_KEY SubmissionDate SubmitterID SubmitterName AttachmentsPresent "
    "AttachmentsExpected Status ReviewState DeviceID Edits FormVersion instanceID "
    "instanceName".split()
)
_GPS_PART_RE = re.compile(
    r"(^_.+_(latitude|longitude|altitude|precision)$)|(-(latitude|longitude|altitude|accuracy)$)",
    re.IGNORECASE,
)
_GEOPOINT_RE = re.compile(r"^-?\d{1,3}\.\d+\s+-?\d{1,3}\.\d+(\s+-?\d+(\.\d+)?){0,2}$")


def _metadata_key(name: str) -> str | None:
    """The metadata name a column stands for, or None if it is no metadata column."""
    base = name.rsplit("/", 1)[-1]
    if base.lower().startswith("_submission_"):  # a repeat sheet's copy of its parent's
        base = base[len("_submission_") :]
    if base.startswith("meta-"):
        base = base[len("meta-") :]
    lower = base.lower()
    if lower not in _META_DIRECT and lower not in _META_DROP:
        return None
    if base in _ODK_NAMES or "/" in name or name.startswith("meta-"):
        return lower
    if base[:1].isupper() or lower in _AMBIGUOUS_META:
        return None  # "Status" or "key" in a hand-made sheet is the user's own column
    return lower


def _survey_metadata(s: _Stats) -> ColumnProfile | None:
    """A KoboToolbox or ODK metadata column: device and submitter ids, timestamps, GPS parts."""
    match = _GPS_PART_RE.search(s.name)
    if match is not None and s.kind in ("numeric", "text"):
        part = (match.group(2) or match.group(4) or "").lower()
        if part in ("latitude", "longitude", "altitude"):
            return s.profile("direct", f"the GPS {part} of the interview: it points at a home")
        return s.profile("drop", "the GPS precision of the interview: not about the person")
    key = _metadata_key(s.name)
    if key is None:
        return None
    if key in ("start", "end", "today") and s.kind != "date" and s.n_distinct > 0:
        return None  # a survey's own "start" or "end" answer, not the tool's timestamp
    if key in _META_DIRECT:
        return s.profile("direct", f"survey-tool metadata: {_META_DIRECT[key]}")
    return s.profile("drop", f"survey-tool metadata: {_META_DROP[key]}")


_INTERVIEW = frozenset(
    "interview interviews entretien entrevista enquete encuesta survey visit visite visita "
    "collecte coleta recoleccion submission soumission envio".split()
)


def _timestamp(s: _Stats) -> ColumnProfile | None:
    """A date with a time of day, or the interview's date: when someone was met.

    Never a quasi-identifier to keep: with the enumerators' rounds it says who was met when.
    """
    if s.kind != "date" or not s.sample:
        return None
    if s.tokens & _INTERVIEW:
        return s.profile(
            "drop", "the interview's date: with the enumerators' rounds it says who was met when"
        )
    if pd.api.types.is_datetime64_any_dtype(s.values.dtype):
        stamps = pd.to_datetime(s.values)
        timed = bool((stamps != stamps.dt.normalize()).any())
    else:
        timed = sum(1 for v in s.sample if _TIME_RE.search(v)) >= 0.5 * len(s.sample)
    if not timed:
        return None
    return s.profile(
        "drop",
        "a timestamp (date and time): it says when someone was met, so it is dropped, "
        "never kept as a quasi-identifier",
    )


def _digit_run(value: str) -> bool:
    """8 to 15 digits, maybe after a ``+`` (a phone or ID number written without spaces)."""
    v = value.strip().removesuffix(".0")
    v = v.removeprefix("+").replace(" ", "")
    return v.isdigit() and 8 <= len(v) <= 15


#: Phone numbers stored as numbers start with at most this many different two-digit prefixes.
_PHONE_PREFIXES = 20


def _numbers_like_phones(s: _Stats) -> bool:
    """Phone numbers stored as numbers (a spreadsheet drops the leading 0 or +).

    Whole numbers of 8 to 15 digits, nearly all different, of one length and a few prefixes.
    """
    if not s.integer or s.n_present < IDENTIFIER_MIN_VALUES or _running_number(s):
        return False
    values = np.abs(s.values.to_numpy())
    digits = np.floor(np.log10(values + 1)) + 1
    lengths, counts = np.unique(digits, return_counts=True)
    length = lengths[np.argmax(counts)]
    if not 8 <= length <= 15 or counts.max() < 0.95 * len(values) or s.uniqueness < 0.5:
        return False
    # Phone numbers of one country share a few operator or area prefixes; amounts and
    # random ids spread over all of them.
    same = values[digits == length]
    prefixes = np.unique(np.floor(same / 10 ** (length - 2)))
    return len(prefixes) <= _PHONE_PREFIXES


def _direct_by_content(s: _Stats) -> ColumnProfile | None:
    if s.kind == "numeric":
        if _looks_like_coordinates(s):
            return s.profile("direct", "GPS coordinates: they point at a home")
        if _numbers_like_phones(s):
            return s.profile(
                "direct",
                "numbers of 8 to 15 digits, nearly all different: phone (or ID) numbers "
                "stored as numbers",
            )
        return None
    if s.kind != "text":
        return None
    if s.share(lambda v: bool(_GEOPOINT_RE.match(v.strip()))) >= 0.8:
        return s.profile("direct", "GPS points (latitude longitude altitude precision)")
    if s.share(lambda v: bool(_EMAIL_RE.match(v.strip()))) >= 0.8:
        return s.profile("direct", "looks like e-mail addresses")
    if s.share(_looks_like_phone) >= 0.8:
        return s.profile("direct", "looks like phone numbers")
    if s.uniqueness >= 0.5 and s.n_distinct >= IDENTIFIER_MIN_VALUES and s.share(_digit_run) >= 0.9:
        return s.profile(
            "direct", "numbers of 8 to 15 digits, nearly all different: phone (or ID) numbers"
        )
    if s.n_distinct >= 20 and s.uniqueness >= 0.5 and s.share(_looks_like_person_name) >= 0.8:
        return s.profile("direct", "looks like personal names (two or more capitalised words)")
    if s.uniqueness >= _NEAR_UNIQUE and s.n_distinct >= 10 and s.share(_looks_like_id) >= 0.9:
        return _id_profile(s, "looks like ID numbers (codes with digits, nearly all different)")
    return None


def _id_profile(s: _Stats, reason: str) -> ColumnProfile:
    """A direct identifier that is an ID: record ids are pseudonymised, official ids dropped."""
    official = _ID_NUMBER.matches(s.tokens - {"id", "uid", "pid", "identifier"}, s.compact)
    if not official and (s.tokens & _LINK_ID or s.tokens & {"id", "code", "key"}):
        return s.profile(
            "direct",
            reason + "; a record id, kept as a keyed pseudonym",
            suggestions={"action": "pseudonymize"},
        )
    return s.profile("direct", reason)


def _looks_like_phone(value: str) -> bool:
    v = value.strip()
    if not _PHONE_RE.match(v):
        return False
    digits = sum(c.isdigit() for c in v)
    if not 7 <= digits <= 15:
        return False
    return v.startswith(("+", "0", "(")) or any(c in v for c in " -.()")


def _looks_like_id(value: str) -> bool:
    v = value.strip()
    return bool(_ID_RE.match(v)) and sum(c.isdigit() for c in v) >= 4


def _looks_like_person_name(value: str) -> bool:
    words = value.split()
    if not 2 <= len(words) <= 5:
        return False
    capitalised = 0
    for word in words:
        if word.lower() in _NAME_PARTICLES:
            continue
        core = word.rstrip(".")
        if not core or not all(c.isalpha() or c in "-'’" for c in core):
            return False
        if not core[0].isupper() or (len(core) > 1 and core.isupper() and len(core) > 3):
            return False
        capitalised += 1
    return capitalised >= 2


def _looks_like_coordinates(s: _Stats) -> bool:
    """Numbers in the range of degrees, in a column named like coordinates.

    Names are needed: ratios, z-scores and weights also have many decimals. Bare ``x`` and
    ``y`` count when most values have at least four decimals.
    """
    v = s.values
    if not s.n_present or s.integer:
        return False
    lo, hi = float(v.min()), float(v.max())
    limit = 90.0 if (s.tokens & {"lat", "latitude", "latitud"} or "latitud" in s.compact) else 180
    if lo < -limit or hi > limit:
        return False
    if _named_gps(s):
        return True
    if s.compact not in {"x", "y", "gpsx", "gpsy", "coordx", "coordy", "xcoord", "ycoord"}:
        return False
    sample = v.iloc[:_SAMPLE].to_numpy()
    many_decimals = np.mean(np.abs(sample * 1e3 - np.round(sample * 1e3)) > 1e-6)
    return bool(many_decimals >= 0.9 and s.n_distinct >= 20)


def _named_gps(s: _Stats) -> bool:
    return _GPS.matches(s.tokens, s.compact) or s.compact == "long"


def _free_text(s: _Stats) -> ColumnProfile | None:
    if s.kind != "text":
        return None
    if s.tokens & _SPECIFY:
        return s.profile(
            "drop",
            "free-text 'other, specify' answers: people describe themselves in their own "
            "words, which can name or single them out",
            hints=("read it before releasing it: recode the answers into categories instead",),
        )
    if s.tokens & _NOTES and s.n_distinct >= 2:
        return s.profile("drop", "comments or notes: free text that can name people")
    if s.n_distinct < 10:
        return None
    if s.uniqueness >= 0.5 and np.mean([len(v) for v in s.sample]) >= 25:
        return s.profile(
            "drop", "long, mostly different texts: free text that can name or single out people"
        )
    words = np.mean([len(v.split()) for v in s.sample])
    length = np.mean([len(v) for v in s.sample])
    if words >= 4 or length >= 40:
        return s.profile(
            "drop",
            "free text: it can name people or give details that identify them",
            hints=("read it before releasing it: a cleaned copy can be kept as role other",),
        )
    return None


def _direct_by_name(s: _Stats) -> ColumnProfile | None:
    """Direct identifiers by name, unless the column is a small categorical.

    A yes/no column such as ``has_phone`` or ``gps_taken`` is about the identifier, not
    the identifier itself: it falls through to the other rules.
    """
    if s.kind == "bool" or (s.n_distinct <= _MAX_CODES and s.uniqueness < 0.5):
        return None
    text = s.kind == "text"
    if _EMAIL.matches(s.tokens, s.compact) and text:
        return s.profile("direct", "the name says e-mail addresses")
    if _PHONE.matches(s.tokens, s.compact):
        return s.profile("direct", "the name says phone numbers")
    if _ADDRESS.matches(s.tokens, s.compact) and text:
        return s.profile("direct", "the name says street addresses")
    if _named_gps(s) and s.kind != "date":
        return s.profile("direct", "the name says GPS coordinates: they point at a home")
    if _PERSON_NAME.matches(s.tokens, s.compact) and text and not _geography(s):
        return s.profile("direct", "the name says personal names")
    if _ID_NUMBER.matches(s.tokens, s.compact) and s.uniqueness >= _NEAR_UNIQUE:
        if s.kind != "date" and not _geography(s):
            return _id_profile(s, "an ID number (nearly every value different)")
    return None


# Headers of a respondent's name or nickname (accents stripped): a first name alone under
# "Enquêté(e)" is not two capitalised words, so the header has to say it.
_RESPONDENT = frozenset(
    "enquete enquetee enquetes repondant repondante respondent respondents interviewee "
    "entrevistado entrevistada encuestado encuestada beneficiaire beneficiario beneficiaria "
    "participant participante informant informante chef jefe jefa responsavel "
    "person persona personne pessoa".split()
)
_NICKNAME = frozenset(
    "nickname nicknames alias apodo apodos surnom surnoms sobrenombre apelido apelidos "
    "mote alcunha pseudo pseudonyme".split()
)
_SPECIFY = frozenset(
    "specify specified specifie precisez preciser precise precisar especifique "
    "especifiquen especificar especifica especifico especifiquese detallar detalhe "
    "detalhar".split()
)
_NOTES = frozenset(
    "comment comments commentaire commentaires remarque remarques observation observations "
    "observacion observaciones observacao observacoes comentario comentarios note notes "
    "notas".split()
)


def _looks_like_given_name(value: str) -> bool:
    """One to four words of letters, each (but particles) capitalised: a name's shape."""
    words = value.split()
    if not 1 <= len(words) <= 4:
        return False
    for word in words:
        if word.lower() in _NAME_PARTICLES:
            continue
        core = word.strip(".,")
        if not core or not core[0].isupper() or not all(c.isalpha() or c in "-'’" for c in core):
            return False
    return True


def _person_by_name(s: _Stats) -> ColumnProfile | None:
    """Names and nicknames under a header that says so, whatever their number of values.

    A nickname header is enough (nicknames are chosen to single people out). A respondent
    or name header needs name-shaped values (capitalised words) and at least 10 of them,
    so that "nom du village" or a survey-type column is not taken for names.
    """
    if s.kind != "text":
        return None
    if s.tokens & _NICKNAME:
        return s.profile("direct", "the name says nicknames: they single people out")
    named = s.tokens & _RESPONDENT or _PERSON_NAME.matches(s.tokens, s.compact)
    if not named or _geography(s) or s.n_distinct < IDENTIFIER_MIN_VALUES:
        return None
    if s.share(_looks_like_given_name) >= 0.8:
        return s.profile("direct", "the name says people and the values look like names")
    return None


def _geography(s: _Stats) -> bool:
    return any(v.label == "geography" and v.matches(s.tokens, s.compact) for v in _QUASI)


def _sensitive(s: _Stats) -> ColumnProfile | None:
    for vocab in _SENSITIVE:
        if vocab.matches(s.tokens, s.compact):
            hints: tuple[str, ...] = ()
            if s.kind == "numeric" and s.n_distinct > _MAX_CODES:
                hints = (
                    "add public bounds: [low, high] (not taken from the data) before DP "
                    "tables or synthetic data",
                )
            return s.profile("sensitive", f"{vocab.label}: sensitive", hints=hints)
    if s.kind != "text":
        return None
    normal = [_strip_accents(v).lower().strip().replace("-", "") for v in s.sample]
    if sum(v in _RELIGION_VALUES for v in normal) >= max(2, 0.5 * len(normal)):
        return s.profile("sensitive", "values are religions: sensitive")
    identity = sum(
        v in _ORIENTATION_VALUES or _GENDER_IDENTITY_RE.search(v) is not None for v in normal
    )
    if identity >= max(2, 0.5 * len(normal)):
        return s.profile("quasi", f"values are gender identities or orientations; {_IDENTITY}")
    if sum(v in _TEST_RESULT_VALUES for v in normal) >= 2 and len(normal) <= 6:
        return s.profile("sensitive", "values are test results (positive/negative): health")
    return None


def _quasi_by_name(s: _Stats) -> ColumnProfile | None:
    for vocab in _QUASI:
        if not vocab.matches(s.tokens, s.compact):
            continue
        if vocab.label == "date of birth" and s.kind == "text":
            continue  # "pays_naissance": a place of birth, see geography
        if vocab.label == "household size" or (
            s.tokens & (_HOUSEHOLD_WORDS | {"family", "fam"}) and s.tokens & _SIZE_WORDS
        ):
            return s.profile("quasi", "household size: visible to neighbours")
        if vocab.label == "age" and s.kind == "numeric":
            return _age_profile(s)
        suggestions: dict[str, Any] = {}
        hints: tuple[str, ...] = ()
        if s.kind == "date":
            suggestions = {"recode": {"date": "year"}}
            hints = ("an exact date narrows people down; the draft keeps the year only",)
        elif vocab.label == "geography" and s.n_distinct > 10:
            hints = (
                f"{s.n_distinct} places: coarsen them with recode: {{map: "
                f"hierarchies/{_slug(s.name)}.csv}} (value -> larger area -> *)",
            )
        return s.profile("quasi", vocab.label, suggestions=suggestions, hints=hints)
    if s.kind == "date":
        return s.profile(
            "quasi",
            "a date: with other columns it can single people out",
            suggestions={"recode": {"date": "year"}},
            hints=("the draft keeps the year only; the month may be enough too",),
        )
    if s.kind == "text" and s.n_distinct <= 3:
        normal = {_strip_accents(v).lower().strip() for v in s.sample}
        if normal <= _SEX_VALUES:
            return s.profile("quasi", "sex or gender (from its values)")
    return None


def _age_profile(s: _Stats) -> ColumnProfile:
    """Age in years: public bands, a top code for the oldest, public bounds."""
    suggestions: dict[str, Any] = {"recode": {"bands": [0, 18, 30, 45, 60]}}
    hints: tuple[str, ...] = ("the bands are a common choice; adapt them to your tables",)
    if float(s.values.max()) > 80:
        suggestions["top_code"] = 80
        hints += ("very old people are rare: ages above 80 are shown as 80",)
    suggestions["bounds"] = [0, 110]
    return s.profile("quasi", "age", suggestions=suggestions, hints=hints)


def _by_shape(s: _Stats) -> ColumnProfile:
    """No name or content rule fired: decide by the number of distinct values."""
    if s.kind == "bool":
        return s.profile("quasi", "yes/no values: with other columns it can single people out")
    if s.kind == "date":  # pragma: no cover - dates are handled by _quasi_by_name
        return s.profile("quasi", "a date")
    if s.uniqueness >= _NEAR_UNIQUE and s.n_distinct >= 10:
        if s.kind == "text":
            return s.profile("direct", "nearly every value is different: it singles people out")
        if s.integer and _running_number(s):
            return _id_profile(s, "a running number, different in every row: a record id")
        return s.profile(
            "other",
            "a measure with nearly all values different",
            hints=("if it is about money, health or another private matter, make it sensitive",),
        )
    if s.kind == "numeric" and s.integer and (s.compact.endswith("code") or "code" in s.tokens):
        return s.profile(
            "quasi",
            f"a code with many values ({s.n_distinct}): may combine with others",
            hints=("group the codes (e.g. by their first digits: recode: {prefix: 1})",),
        )
    if s.kind == "numeric" and s.integer and s.n_distinct <= _MAX_CODES:
        return s.profile(
            "quasi", f"a code with few values ({s.n_distinct}): may combine with others"
        )
    if s.kind == "text" and s.n_distinct <= _MAX_CATEGORIES and s.uniqueness <= 0.5:
        return s.profile("quasi", f"a category with {s.n_distinct} values: may combine with others")
    if s.kind == "text":
        return s.profile(
            "other",
            f"text with many different values ({s.n_distinct})",
            hints=("check it: if people could know it, make it quasi; if it names them, drop",),
        )
    return s.profile(
        "other",
        "a numeric measure",
        hints=("if it is about money, health or another private matter, make it sensitive",),
    )


def _running_number(s: _Stats) -> bool:
    span = float(s.values.max()) - float(s.values.min()) + 1
    return span <= 1.5 * s.n_distinct


# --- draft policy ------------------------------------------------------------------------

_HEADER = """\
# Draft disclosure-control policy for {data}, written by `sdc scan`
# ({rows} rows, {cols} columns). Every role below is a guess from the column's name and
# contents: check each line, then run `sdc risk {data} --policy THIS_FILE`.
#   direct    removed from outputs (action: pseudonymize keeps a keyed pseudonym instead)
#   drop      removed from outputs (free text and columns not to release)
#   quasi     something others could know (age, place, ...): coarsened and suppressed
#             until every combination is shared by at least k records
#   sensitive kept, and checked so that a group does not reveal it (l-diversity)
#   other     kept as it is
"""


def draft_policy(
    result: ScanResult,
    data_name: str,
    *,
    unmet: Mapping[str, str] | None = None,
    refusal: str | None = None,
) -> str:
    """Write a commented draft policy (YAML, ``version: 1``) from a scan.

    Every column is named, with its role, the suggested treatment keys and the reason as a
    comment (and any finding about rare values); the thresholds carry comments, and ``l``
    or ``group_share`` is left out, with a comment saying why, when the whole file already
    rules it out; ``outputs.microdata`` uses the treatments ``[recode, suppress]``. The
    text parses with ``yaml.safe_load`` and uses only the keys of DESIGN.md's policy format.

    Args:
        result: the output of :func:`scan`.
        data_name: the data file's name (or path), used in the comments and for the
            policy's ``name``.
        unmet: thresholds (``"l"``, ``"group_share"``) a trial release on the data could
            not meet, with the reason: they are left out, commented.
        refusal: why a trial release of the draft as it stands is still refused, written
            as a comment above the thresholds.

    Returns:
        The policy text, ending with a newline.
    """
    unmet = unmet or {}
    data = PurePath(data_name).name or "data"
    lines = [_HEADER.format(data=data, rows=result.n_rows, cols=len(result.columns)).rstrip("\n")]
    lines.append("version: 1")
    lines.append(f"name: {_scalar(_slug(PurePath(data).stem) + '-draft')}")
    spec = {k: v for k, v in (("weight", result.weight), ("household", result.household)) if v}
    if spec:
        lines.append(f"data: {_flow(spec)}")
    else:
        lines.append(
            "# data: {weight: COLUMN, household: COLUMN}  # none found; add if you have them"
        )
    lines.append("missing: category   # a blank is one more value when keys are counted")
    lines.append("unlisted: refuse    # a data column not named below is refused, never released")
    lines.append("columns:")

    entries = []
    for p in result.columns:
        if p.option_of is not None:
            continue  # named under its question's multiple.options
        entry: dict[str, Any] = {"role": p.role, **dict(p.suggestions)}
        key = _scalar(p.name)
        comment = p.reason
        if p.role in ("quasi", "sensitive", "other") and p.data_role is None:
            comment += f"; {p.n_distinct} values"
            if p.missing_share >= 0.005:
                comment += f", {p.missing_share:.0%} missing"
        hints = p.hints if p.finding is None else (*p.hints, p.finding)
        entries.append((f"  {key}: {_flow(entry)}", comment, hints))
    width = min(max(len(text) for text, _, _ in entries) + 2, 70)
    for text, comment, hints in entries:
        pad = text.ljust(width) if len(text) + 2 <= width else text + "  "
        lines.append(f"{pad}# {_comment(comment)}")
        for hint in hints:
            lines.append(f"{' ' * width}#   {_comment(hint)}")

    lines.append("thresholds:")
    if refusal:
        lines.extend(_wrapped("  # A release of this data under this draft is refused: ", refusal))
    lines.append("  k: 5                       # every combination of quasi-identifiers is shared")
    lines.append("                             #   by at least 5 records (3 is a usual minimum)")
    lines.extend(_sensitive_thresholds([p for p in result.columns if p.role == "sensitive"], unmet))
    lines.append("  max_individual_risk: 0.2   # no record with a re-identification risk above")
    lines.append("                             #   20% (= 1/k: without weights k already gives it)")
    lines.append("  max_suppression: 0.05      # at most 5% of the records lose a value")
    lines.append("outputs:")
    lines.append("  microdata: {treatments: [recode, suppress]}   # recode first, then suppress")
    lines.append("                                                #   the values still at risk")
    return "\n".join(lines) + "\n"


def _wrapped(first: str, text: str) -> list[str]:
    """A long comment as lines of at most 92 characters, continued with ``#   ``."""
    words = _comment(text).split()
    lines, line = [], first.rstrip()
    for word in words:
        if len(line) + 1 + len(word) > 92:
            lines.append(line)
            line = "  #  "
        line += " " + word
    lines.append(line)
    return lines


def _sensitive_thresholds(
    sensitive: list[ColumnProfile], unmet: Mapping[str, str] | None = None
) -> list[str]:
    """Threshold lines protecting the sensitive columns, only those a release can meet.

    ``l`` is drafted only when every sensitive column has at least l different values in
    the whole file: otherwise no group can hold l of them. ``group_share`` is drafted only
    when, for every sensitive column, the most common value covers less than that share of
    the whole file: the file is a mix of its groups, so some group always reaches the
    file's share. A threshold that cannot be met is left out with a comment saying why; so
    is one in ``unmet`` (a trial release on the data could not meet it).
    """
    if not sensitive:
        return []
    unmet = unmet or {}
    pad = " " * 29
    lines = []
    few = [p for p in sensitive if p.n_distinct < _DRAFT_L]
    if "l" in unmet:
        lines.extend(
            _wrapped(f"  # l: {_DRAFT_L} not drafted: a trial release refused it:", unmet["l"])
        )
    elif few:
        names = _comment(", ".join(p.name for p in few))
        lines.append(f"  # l: not drafted: {names} hold(s) fewer than {_DRAFT_L} different values")
        lines.append(f"  #   in the whole file, so no group can hold {_DRAFT_L} of them")
    else:
        lines.append(f"  l: {_DRAFT_L}".ljust(29) + f"# each such group holds at least {_DRAFT_L}")
        lines.append(f"{pad}#   different values of every sensitive column")
    skewed = [p for p in sensitive if p.top_share >= _DRAFT_GROUP_SHARE]
    if "group_share" in unmet:
        lines.extend(
            _wrapped(
                f"  # group_share: {_DRAFT_GROUP_SHARE} not drafted: a trial release refused it:",
                unmet["group_share"],
            )
        )
    elif skewed:
        worst = max(skewed, key=lambda p: p.top_share)
        lines.append(
            f"  # group_share: not drafted: {format_share(worst.top_share)} of the records with "
            f"a {_comment(worst.name)} value"
        )
        lines.append(
            f"  #   have the same one, so some group always reaches a limit of "
            f"{_DRAFT_GROUP_SHARE:.0%}"
        )
    else:
        lines.append(
            f"  group_share: {_DRAFT_GROUP_SHARE}".ljust(29)
            + f"# in no such group do {_DRAFT_GROUP_SHARE:.0%} or more share"
        )
        lines.append(f"{pad}#   one value of a sensitive column")
    return lines


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", _strip_accents(text).lower()).strip("-")
    return slug or "data"


def _comment(text: str) -> str:
    return " ".join(text.split())


def _scalar(value: str) -> str:
    """A YAML scalar for ``value`` (quoted only when it must be)."""
    dumped = yaml.safe_dump([value], default_flow_style=True, width=10**6, allow_unicode=True)
    return dumped.strip()[1:-1]


def _flow(value: Mapping[str, Any]) -> str:
    """A one-line YAML flow mapping."""
    dumped = yaml.safe_dump(
        dict(value), default_flow_style=True, width=10**6, sort_keys=False, allow_unicode=True
    )
    return dumped.strip()


@dataclass(frozen=True)
class ColumnGuess:
    """What ``sdc scan`` thinks a column is, for messages about columns a policy leaves out.

    Attributes:
        description: the role and the reason, e.g. ``"direct: looks like phone numbers"``.
        identifier: whether scan calls it direct or its values are mostly unique.
    """

    description: str
    identifier: bool


def guess_columns(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, ColumnGuess]:
    """Run the scan classification on these columns only and describe each.

    A column that scan does not call direct but whose values are mostly unique (a numeric
    measure, say) gets its share of unique values in the description.
    """
    if not names or len(frame) == 0:
        return {}
    guesses = {}
    for profile in scan(frame[list(names)]):
        text = f"{profile.data_role or profile.role}: {profile.reason}"
        uniq = value_uniqueness(frame[profile.name])
        like_id = profile.role != "direct" and uniq.identifier_like
        if like_id:
            text += f"; {uniq.describe()}"
        guesses[profile.name] = ColumnGuess(text, profile.role == "direct" or like_id)
    return guesses
