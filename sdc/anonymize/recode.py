"""Global recoding: bands, hierarchies, code prefixes, dates, coordinate grids, top/bottom coding.

Every function takes a DataFrame and one column and returns the treated copy with a
:class:`~sdc.anonymize._treatment.Treatment`. Missing values always stay missing.

Conventions (fixed here because reports and tests rely on them):

- **Bands** ``[b0, b1, ..., bL]`` are closed on the left and open on the right:
  ``[b0, b1), [b1, b2), ..., [bL, +inf)``; values below ``b0`` form the band ``<b0``.
  When every break and every value is a whole number the labels are inclusive integer
  ranges: ``[0, 18, 30, 45, 60]`` gives ``0-17``, ``18-29``, ``30-44``, ``45-59``, ``60+``
  (and ``<0``). Otherwise they are half-open intervals: ``[0.5, 1.5)``, ``>=1.5``, ``<0.5``.
- **Top coding** at ``T`` replaces values above ``T`` by ``T``; **bottom coding** at ``B``
  replaces values below ``B`` by ``B``. Combined with bands, the coding is applied first:
  the band holding ``T`` becomes the open top band (label ``b+``, or ``>=b``) and bands above
  it disappear; the band holding ``B`` (when ``B >= b0``) becomes the open bottom band
  (label ``<b'`` with ``b'`` its upper break) and bands below it disappear. So
  ``bands [0, 18, 30, 45, 60]`` with ``top_code 50`` gives ``0-17 ... 30-44, 45+``.
- **Prefix** keeps the first ``n`` characters of a code's text (integers are written without
  a decimal point); an optional mask character pads the code back to its length
  (``"10115"`` with ``prefix 3`` is ``"101"``, or ``"101**"`` with ``mask="*"``).
- **Dates** become ``YYYY-MM`` (month) or ``YYYY`` (year) strings.
- **Grid**: a coordinate becomes the nearest multiple of the step, i.e. the centre of its
  grid cell (cells of width ``step`` centred on multiples of ``step``), rounded to the
  step's decimals; ``12.3456`` with ``grid 0.1`` is ``12.3``.
"""

from __future__ import annotations

import decimal
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError, PolicyError
from sdc.hierarchy import Hierarchy, normalize_value
from sdc.io import first_bad

__all__ = [
    "band_labels",
    "bottom_code",
    "recode_bands",
    "recode_column",
    "recode_date",
    "recode_grid",
    "recode_map",
    "recode_prefix",
    "top_code",
]

DateUnit = Literal["month", "year"]


# --------------------------------------------------------------------------- bands


def band_labels(
    breaks: Sequence[float],
    *,
    integer: bool = True,
    top_code: float | None = None,
    bottom_code: float | None = None,
) -> list[str]:
    """Labels of the bands ``<b0, [b0, b1), ..., [bL, inf)`` (index 0 is the band below b0).

    Args:
        breaks: increasing band starts.
        integer: inclusive integer labels (``18-29``) rather than intervals.
        top_code: the band holding this value becomes the open top band.
        bottom_code: the band holding this value becomes the open bottom band.
    """
    b = [float(x) for x in breaks]
    fmt = _fmt_number
    labels = [f"<{fmt(b[0])}"]
    for lo, hi in zip(b[:-1], b[1:], strict=True):
        if integer:
            labels.append(f"{fmt(lo)}-{fmt(hi - 1)}" if hi - 1 > lo else fmt(lo))
        else:
            labels.append(f"[{fmt(lo)}, {fmt(hi)})")
    labels.append(f"{fmt(b[-1])}+" if integer else f">={fmt(b[-1])}")
    if bottom_code is not None:
        s = _band_index(np.array([float(bottom_code)]), b)[0]
        if 1 <= s < len(b):  # a bounded band (not the one below b0, not the top band)
            labels[s] = f"<{fmt(b[s])}"
    if top_code is not None:
        t = _band_index(np.array([float(top_code)]), b)[0]
        if t >= 1:
            labels[t] = f"{fmt(b[t - 1])}+" if integer else f">={fmt(b[t - 1])}"
    return labels


def recode_bands(
    df: pd.DataFrame,
    column: str,
    breaks: Sequence[float],
    *,
    top_code: float | None = None,
    bottom_code: float | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Recode a numeric column into bands (see the module docstring for labels).

    Args:
        df: the microdata; not modified.
        column: a numeric column.
        breaks: at least two increasing band starts, e.g. ``[0, 18, 30, 45, 60]``.
        top_code: optional top-coding value applied before banding.
        bottom_code: optional bottom-coding value applied before banding.

    Returns:
        The copy with the column as strings, and the record (``changed`` counts every
        non-missing value, as each is replaced by its band).

    Raises:
        PolicyError: bad breaks or codes.
        DataError: the column is missing or not numeric.
    """
    b = _check_breaks(breaks)
    _check_codes(top_code, bottom_code)
    values = _numeric(df, column)
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    present = ~np.isnan(x)
    if top_code is not None:
        x = np.where(present & (x > top_code), float(top_code), x)
    if bottom_code is not None:
        x = np.where(present & (x < bottom_code), float(bottom_code), x)
    integer = all(v.is_integer() for v in b) and bool(np.all(np.mod(x[present], 1) == 0))
    labels = band_labels(b, integer=integer, top_code=top_code, bottom_code=bottom_code)
    idx = _band_index(np.where(present, x, b[0]), b)
    table = np.array([*labels, None], dtype=object)
    out = df.copy()
    out[column] = pd.Series(table[np.where(present, idx, len(labels))], index=df.index, dtype="str")
    used = np.bincount(idx[present], minlength=len(labels))
    record = Treatment(
        name="recode.bands",
        columns=(column,),
        parameters={
            "breaks": list(breaks),
            "closed": "left",
            "top_code": top_code,
            "bottom_code": bottom_code,
            "labels": "integer" if integer else "interval",
        },
        changed={column: int(present.sum())},
        details={"bands": {labels[i]: int(c) for i, c in enumerate(used) if c}},
    )
    return out, record


def top_code(df: pd.DataFrame, column: str, value: float) -> tuple[pd.DataFrame, Treatment]:
    """Replace values above ``value`` by ``value``.

    Integer columns stay integer when ``value`` is a whole number.

    Args:
        df: the microdata; not modified.
        column: a numeric column.
        value: the top code.

    Raises:
        PolicyError: ``value`` is not a finite number.
        DataError: the column is missing or not numeric.
    """
    return _clip(df, column, value, upper=True)


def bottom_code(df: pd.DataFrame, column: str, value: float) -> tuple[pd.DataFrame, Treatment]:
    """Replace values below ``value`` by ``value``.

    Args:
        df: the microdata; not modified.
        column: a numeric column.
        value: the bottom code.

    Raises:
        PolicyError: ``value`` is not a finite number.
        DataError: the column is missing or not numeric.
    """
    return _clip(df, column, value, upper=False)


def _clip(
    df: pd.DataFrame, column: str, value: float, *, upper: bool
) -> tuple[pd.DataFrame, Treatment]:
    name = "top_code" if upper else "bottom_code"
    if not _is_number(value):
        raise PolicyError(f"{name} of {column!r} must be a finite number, got {value!r}")
    values = _numeric(df, column)
    beyond = (values > value) if upper else (values < value)
    mask = beyond.fillna(False).to_numpy(dtype=bool)
    out = df.copy()
    if mask.any():
        series = values.copy()
        if pd.api.types.is_integer_dtype(series.dtype) and not float(value).is_integer():
            series = series.astype("float64")
        fill = int(value) if pd.api.types.is_integer_dtype(series.dtype) else float(value)
        series[mask] = fill
        out[column] = series
    record = Treatment(
        name=name, columns=(column,), parameters={"value": value}, changed={column: int(mask.sum())}
    )
    return out, record


# --------------------------------------------------------------------------- hierarchy


def recode_map(
    df: pd.DataFrame, column: str, hierarchy: Hierarchy, level: int
) -> tuple[pd.DataFrame, Treatment]:
    """Recode a column to a level of a user hierarchy (ARX format, see ``Hierarchy``).

    Args:
        df: the microdata; not modified.
        column: the column to recode.
        hierarchy: the hierarchy, e.g. ``Hierarchy.from_csv(path)``.
        level: 0 (unchanged) .. ``hierarchy.levels - 1``.

    Returns:
        The copy (the column as strings unless level 0) and the record; ``changed`` counts
        values whose text differs from the original.

    Raises:
        PolicyError: the level does not exist or a value is not covered by the hierarchy.
        DataError: the column is missing.
    """
    _check_column(df, column)
    new = hierarchy.generalize(df[column], level)
    before = _texts(df[column])
    after = _texts(new)
    changed = int(((before != after) & pd.notna(before)).sum())
    out = df.copy()
    out[column] = new
    record = Treatment(
        name="recode.map",
        columns=(column,),
        parameters={"hierarchy": hierarchy.source, "level": level, "levels": hierarchy.levels},
        changed={column: changed},
        details={
            "categories_before": int(df[column].nunique()),
            "categories_after": int(new.nunique()),
        },
    )
    return out, record


# --------------------------------------------------------------------------- codes, dates, grid


def recode_prefix(
    df: pd.DataFrame, column: str, length: int, *, mask: str | None = None
) -> tuple[pd.DataFrame, Treatment]:
    """Keep the first ``length`` characters of codes such as postcodes or admin codes.

    Args:
        df: the microdata; not modified.
        column: the code column (numbers are written as integers, ``10115.0`` as ``10115``).
        length: characters kept (>= 1).
        mask: optional single character that replaces the removed characters.

    Raises:
        PolicyError: bad ``length`` or ``mask``.
        DataError: the column is missing.
    """
    if isinstance(length, bool) or not isinstance(length, int) or length < 1:
        raise PolicyError(f"prefix of {column!r} must be a whole number >= 1, got {length!r}")
    if mask is not None and len(mask) != 1:
        raise PolicyError(f"the prefix mask must be one character, got {mask!r}")
    _check_column(df, column)
    codes, uniques = pd.factorize(df[column], use_na_sentinel=True)
    texts = [normalize_value(v) for v in uniques]
    short = [
        None if t is None else t[:length] + (mask * max(len(t) - length, 0) if mask else "")
        for t in texts
    ]
    table = np.array([*short, None], dtype=object)
    new = pd.Series(table[np.where(codes < 0, len(uniques), codes)], index=df.index, dtype="str")
    differs = np.array([s != t for s, t in zip(short, texts, strict=True)] + [False])
    changed = int(differs[np.where(codes < 0, len(uniques), codes)].sum())
    out = df.copy()
    out[column] = new
    record = Treatment(
        name="recode.prefix",
        columns=(column,),
        parameters={"length": length, "mask": mask},
        changed={column: changed},
        details={"categories_before": len(uniques), "categories_after": int(new.nunique())},
    )
    return out, record


def recode_date(df: pd.DataFrame, column: str, unit: DateUnit) -> tuple[pd.DataFrame, Treatment]:
    """Coarsen dates to ``YYYY-MM`` (``unit="month"``) or ``YYYY`` (``unit="year"``).

    Args:
        df: the microdata; not modified.
        column: a date column (datetime, or text pandas can parse, e.g. ISO ``2021-03-15``).
        unit: ``"month"`` or ``"year"``.

    Raises:
        PolicyError: an unknown unit.
        DataError: the column is missing or holds values that are not dates.
    """
    formats = {"month": "%Y-%m", "year": "%Y"}
    if unit not in formats:
        raise PolicyError(f"date recoding takes 'month' or 'year', got {unit!r}")
    _check_column(df, column)
    series = df[column]
    if pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.replace("", None)
    present = series.notna().to_numpy()
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        dates = series
    else:
        dates = pd.to_datetime(series, errors="coerce", format="mixed")
    bad = present & dates.isna().to_numpy()
    if bad.any():
        raise DataError(
            f"column {column!r} has {int(bad.sum())} value(s) that are not dates "
            f"(first: {first_bad(df, bad, column)}); write dates as YYYY-MM-DD"
        )
    new = dates.dt.strftime(formats[unit]).astype("str")
    out = df.copy()
    out[column] = new.where(present, None)
    record = Treatment(
        name="recode.date",
        columns=(column,),
        parameters={"unit": unit},
        changed={column: int(present.sum())},
    )
    return out, record


def recode_grid(df: pd.DataFrame, column: str, step: float) -> tuple[pd.DataFrame, Treatment]:
    """Snap a coordinate (degrees) to a grid: the nearest multiple of ``step``.

    Args:
        df: the microdata; not modified.
        column: a numeric coordinate column (latitude or longitude).
        step: cell width in degrees (> 0), e.g. 0.1 (about 11 km of latitude).

    Raises:
        PolicyError: ``step`` is not a positive number.
        DataError: the column is missing or not numeric.
    """
    if not _is_number(step) or step <= 0:
        raise PolicyError(f"grid step of {column!r} must be a positive number, got {step!r}")
    values = _numeric(df, column)
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    exponent = decimal.Decimal(repr(float(step))).normalize().as_tuple().exponent
    decimals = max(0, -int(exponent)) if isinstance(exponent, int) else 0
    snapped = np.round(np.round(x / step) * step, decimals) + 0.0  # no -0.0
    present = ~np.isnan(x)
    out = df.copy()
    out[column] = pd.Series(snapped, index=df.index)
    record = Treatment(
        name="recode.grid",
        columns=(column,),
        parameters={"step": step},
        changed={column: int((present & (snapped != x)).sum())},
    )
    return out, record


# --------------------------------------------------------------------------- dispatcher


def recode_column(
    df: pd.DataFrame,
    column: str,
    *,
    bands: Sequence[float] | None = None,
    hierarchy: Hierarchy | None = None,
    level: int | None = None,
    prefix: int | None = None,
    date: DateUnit | None = None,
    grid: float | None = None,
    top_code: float | None = None,
    bottom_code: float | None = None,
) -> tuple[pd.DataFrame, list[Treatment]]:
    """Apply one column's policy recoding (``recode:`` plus ``top_code``/``bottom_code``).

    The keywords mirror the policy keys; at most one of ``bands``, ``hierarchy``
    (``recode.map``, loaded by the caller), ``prefix``, ``date`` and ``grid`` is given.
    With ``bands``, top and bottom coding are folded into the bands (see the module
    docstring); otherwise they are applied first, as their own treatments.

    Args:
        df: the microdata; not modified.
        column: the column.
        bands: band starts.
        hierarchy: the hierarchy of ``recode.map``.
        level: the hierarchy level (required with ``hierarchy``).
        prefix: characters kept of a code.
        date: ``"month"`` or ``"year"``.
        grid: grid step in degrees.
        top_code: top-coding value.
        bottom_code: bottom-coding value.

    Returns:
        The treated copy and the records, in the order applied (empty if nothing asked).

    Raises:
        PolicyError: more than one recoding, or a map without a level.
    """
    given = [
        name
        for name, value in (
            ("bands", bands),
            ("map", hierarchy),
            ("prefix", prefix),
            ("date", date),
            ("grid", grid),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise PolicyError(f"column {column!r}: give one way of recoding, got {', '.join(given)}")
    if level is not None and hierarchy is None:
        raise PolicyError(f"column {column!r}: level only applies to recode.map (a hierarchy)")
    if bands is not None:
        out, rec = recode_bands(df, column, bands, top_code=top_code, bottom_code=bottom_code)
        return out, [rec]
    records: list[Treatment] = []
    out = df
    _check_codes(top_code, bottom_code)
    if bottom_code is not None:
        out, rec = _clip(out, column, bottom_code, upper=False)
        records.append(rec)
    if top_code is not None:
        out, rec = _clip(out, column, top_code, upper=True)
        records.append(rec)
    if hierarchy is not None:
        if level is None:
            raise PolicyError(
                f"column {column!r}: recode.map needs a level, or let the optimal search "
                "choose it with outputs.microdata.generalize: auto"
            )
        out, rec = recode_map(out, column, hierarchy, level)
        records.append(rec)
    elif prefix is not None:
        out, rec = recode_prefix(out, column, prefix)
        records.append(rec)
    elif date is not None:
        out, rec = recode_date(out, column, date)
        records.append(rec)
    elif grid is not None:
        out, rec = recode_grid(out, column, grid)
        records.append(rec)
    return (out if records else df.copy()), records


# --------------------------------------------------------------------------- helpers


def _fmt_number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _band_index(x: np.ndarray, breaks: Sequence[float]) -> np.ndarray:
    """0 for values below breaks[0], i for [b_{i-1}, b_i), L for the top band."""
    return np.searchsorted(np.asarray(breaks, dtype=np.float64), x, side="right").astype(np.int64)


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _check_breaks(breaks: Sequence[float]) -> list[float]:
    b = list(breaks) if breaks is not None else []
    if len(b) < 2 or not all(_is_number(v) for v in b):
        raise PolicyError(
            f"bands must be at least two increasing numbers, e.g. [0, 18, 30, 45, 60]; got {b!r}"
        )
    fb = [float(v) for v in b]
    if any(lo >= hi for lo, hi in zip(fb[:-1], fb[1:], strict=True)):
        raise PolicyError(f"bands must be increasing, e.g. [0, 18, 30, 45, 60]; got {b!r}")
    return fb


def _check_codes(top: float | None, bottom: float | None) -> None:
    for name, value in (("top_code", top), ("bottom_code", bottom)):
        if value is not None and not _is_number(value):
            raise PolicyError(f"{name} must be a finite number, got {value!r}")
    if top is not None and bottom is not None and bottom >= top:
        raise PolicyError(f"bottom_code ({bottom}) must be below top_code ({top})")


def _check_column(df: pd.DataFrame, column: str) -> None:
    if column not in df.columns:
        raise DataError(
            f"column {column!r} is not in the data; it has {', '.join(map(str, df.columns))}"
        )


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    _check_column(df, column)
    series = df[column]
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return series
    text = (
        series.replace("", None)
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype)
        else series
    )
    converted = pd.to_numeric(text, errors="coerce")
    bad = text.notna().to_numpy() & converted.isna().to_numpy()
    if bad.any():
        raise DataError(
            f"column {column!r} must be numeric but {int(bad.sum())} value(s) are not numbers "
            f"(first: {first_bad(df, bad, column)})"
        )
    return converted


def _texts(series: pd.Series) -> np.ndarray:
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    table = np.array([normalize_value(v) for v in uniques] + [None], dtype=object)
    return table[np.where(codes < 0, len(uniques), codes)]
