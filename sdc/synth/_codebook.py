"""The public codebook of a synthesis: how each column is discretised and mapped back.

Everything here is built from *public* information only (the policy's category lists and
numeric bounds), never from the private data, so it costs no privacy budget. The one
exception is ``domain_from_data=True``, an escape hatch the caller must request, which
reads the category set off the data and therefore leaks it.

A categorical column is encoded to the position of its value in the domain; a numeric
column is clamped to its bounds and cut into ``bins`` equal-width bins. Records whose
value is missing or not in the domain cannot be encoded and are dropped (a row filter,
which keeps the differential-privacy guarantee); their number is reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from sdc.errors import DataError, PolicyError
from sdc.io import first_non_number

#: The public type of a column (policy key ``columns.X.type``), which fixes its output dtype.
ValueType = Literal["integer", "number", "category", "date"]


@dataclass(frozen=True)
class ColumnCodec:
    """How one column is encoded to integer codes ``0 .. size-1`` and decoded back.

    Attributes:
        name: the column name.
        kind: ``"categorical"`` (codes index ``categories``) or ``"numeric"`` (codes are bins).
        categories: the codebook values of a categorical column (empty for numeric).
        lower: lower public bound of a numeric column.
        upper: upper public bound of a numeric column.
        bins: number of equal-width bins of a numeric column.
        integer: decode a numeric column to whole numbers (its public type is integer).
        dtype: the dtype of the synthetic column of a categorical column, from its public
            type and category list (never from the private column); None: text categories
            become strings, others stay as they are.
    """

    name: str
    kind: str
    categories: tuple[object, ...] = ()
    lower: float = 0.0
    upper: float = 0.0
    bins: int = 0
    integer: bool = False
    dtype: object = None

    @property
    def size(self) -> int:
        """Number of codes of the column."""
        return self.bins if self.kind == "numeric" else len(self.categories)

    @property
    def edges(self) -> np.ndarray:
        """Bin edges of a numeric column (``bins + 1`` values from lower to upper)."""
        return np.linspace(self.lower, self.upper, self.bins + 1)

    def labels(self) -> list[str]:
        """Human-readable label per code (the category, or the bin interval)."""
        if self.kind == "categorical":
            return [str(c) for c in self.categories]
        e = self.edges
        return [
            f"[{e[b]:g}, {e[b + 1]:g}{']' if b == self.bins - 1 else ')'}" for b in range(self.bins)
        ]

    def encode(self, values: pd.Series) -> tuple[np.ndarray, int, int]:
        """Encode values to codes.

        Args:
            values: the column.

        Returns:
            ``(codes, n_invalid, n_clamped)``: int64 codes with ``-1`` for a value that cannot
            be encoded (missing, or not in the codebook), the number of such values, and the
            number of numeric values clamped to the bounds.
        """
        if self.kind == "numeric":
            return self._encode_numeric(values)
        return self._encode_categorical(values)

    def _encode_numeric(self, values: pd.Series) -> tuple[np.ndarray, int, int]:
        x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        missing = np.isnan(x)
        clamped = int(((x < self.lower) | (x > self.upper)).sum())
        codes = bin_codes(np.clip(x, self.lower, self.upper), self.lower, self.upper, self.bins)
        codes[missing] = -1
        return codes, int(missing.sum()), clamped

    def _encode_categorical(self, values: pd.Series) -> tuple[np.ndarray, int, int]:
        codes = _match(values, self.categories)
        return codes, int((codes < 0).sum()), 0

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.Series:
        """Map codes back to values: the category, or a uniform draw within the bin.

        Args:
            codes: int codes in ``0 .. size-1``.
            rng: the (seeded) generator for the draws within bins.

        Returns:
            The synthetic column, with the input column's dtype where it fits.
        """
        if self.kind == "numeric":
            values = self._decode_numeric(codes, rng)
            return pd.Series(values, name=self.name)
        cats = np.empty(len(self.categories), dtype=object)
        cats[:] = list(self.categories)
        out = pd.Series(cats[codes], name=self.name, dtype=object)
        if (self.dtype is None or self.dtype == np.dtype(object)) and all(
            isinstance(c, str) for c in self.categories
        ):
            return out.astype("str")
        if self.dtype is None:
            return out
        try:
            return out.astype(self.dtype)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return out

    def _decode_numeric(self, codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        e = self.edges
        lo = e[codes]
        hi = e[codes + 1]
        if not self.integer:
            return np.minimum(lo + rng.random(len(codes)) * (hi - lo), self.upper)
        # Whole numbers in the bin: [lo, hi) except the last bin, which is [lo, upper].
        first = np.ceil(lo)
        last = np.where(codes == self.bins - 1, np.floor(hi), np.ceil(hi) - 1)
        count = last - first + 1
        empty = count < 1
        # A bin narrower than 1 may hold no whole number: take the nearest one to its centre.
        centre = np.clip(np.round((lo + hi) / 2), math.ceil(self.lower), math.floor(self.upper))
        draw = first + np.floor(rng.random(len(codes)) * np.maximum(count, 1))
        return np.where(empty, centre, draw).astype(np.int64)


def bin_codes(x: np.ndarray, lower: float, upper: float, bins: int) -> np.ndarray:
    """Equal-width bin index of each value in ``[lower, upper]`` (the last bin is closed).

    Args:
        x: float values (already clamped; NaN gives an arbitrary code the caller masks).
        lower: lower bound.
        upper: upper bound.
        bins: number of bins.

    Returns:
        int64 codes in ``0 .. bins-1``.
    """
    with np.errstate(invalid="ignore"):
        scaled = np.floor((x - lower) / (upper - lower) * bins)
    scaled = np.nan_to_num(scaled, nan=0.0)
    return np.clip(scaled, 0, bins - 1).astype(np.int64)


def _match(values: pd.Series, categories: Sequence[object]) -> np.ndarray:
    """Position of each value in ``categories`` (-1 if absent or missing).

    Values are compared as they are; if that matches nothing but comparing text forms does
    (a codebook read from YAML as ``"1"`` against an integer column), the text forms are used.
    """
    index = pd.Index(list(categories), dtype=object)
    obj = values.astype(object)
    codes = np.asarray(index.get_indexer(pd.Index(obj.where(obj.notna(), None))), dtype=np.int64)
    if (codes >= 0).any() or len(values) == 0:
        return codes
    text_index = pd.Index([str(c) for c in categories], dtype=object)
    text = obj.map(lambda v: None if v is None or v is pd.NA or v != v else str(v))
    return np.asarray(text_index.get_indexer(pd.Index(text)), dtype=np.int64)


@dataclass(frozen=True)
class Codebook:
    """The codecs of all synthesised columns, in order."""

    codecs: tuple[ColumnCodec, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        """Number of codes per column."""
        return tuple(c.size for c in self.codecs)

    @property
    def names(self) -> tuple[str, ...]:
        """Column names."""
        return tuple(c.name for c in self.codecs)

    def encode(self, df: pd.DataFrame) -> tuple[np.ndarray, dict[str, int], dict[str, int]]:
        """Encode a frame and drop the records that cannot be encoded.

        Returns:
            ``(codes, invalid, clamped)``: an (n_kept, m) int64 matrix, the number of values
            per column that are missing or outside the codebook (their records are dropped),
            and the number of numeric values clamped to the bounds per column.
        """
        n = len(df)
        codes = np.empty((n, len(self.codecs)), dtype=np.int64)
        invalid: dict[str, int] = {}
        clamped: dict[str, int] = {}
        for j, codec in enumerate(self.codecs):
            codes[:, j], invalid[codec.name], clamped[codec.name] = codec.encode(df[codec.name])
        keep = (codes >= 0).all(axis=1)
        return codes[keep], invalid, clamped

    def decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Map a code matrix back to a frame of values."""
        return pd.DataFrame(
            {c.name: c.decode(codes[:, j], rng) for j, c in enumerate(self.codecs)},
        )


def build_codebook(
    df: pd.DataFrame,
    columns: Sequence[str],
    domains: Mapping[str, Sequence[object]],
    bounds: Mapping[str, tuple[float, float]],
    bins: int,
    domain_from_data: bool = False,
    types: Mapping[str, ValueType] | None = None,
) -> Codebook:
    """Build the codebook from the public domains and bounds.

    Args:
        df: the data (read for column presence and dtypes; for categories only when
            ``domain_from_data`` is true).
        columns: the columns to synthesise.
        domains: public category lists of categorical columns.
        bounds: public ``(lower, upper)`` bounds of numeric columns.
        bins: number of equal-width bins for numeric columns.
        domain_from_data: take a missing category list from the data itself. This reveals
            the set of categories present in the private data, which is not covered by the
            differential-privacy guarantee; only for categories that are public anyway.
        types: the public type of each column. A bounded column is decoded to whole numbers
            only if its type is ``integer`` (default ``number``); a categorical column's
            dtype follows its type, else its category list. The private column's dtype is
            never used, so a missing value cannot change the output's type.

    Returns:
        The codebook.

    Raises:
        DataError: a column is not in the data, or a bounded column is not numeric.
        PolicyError: a column has neither a domain nor bounds, or both, or they are invalid.
    """
    if len(columns) == 0:
        raise PolicyError("synthetic: no columns to synthesise; list at least one column")
    if len(set(columns)) != len(columns):
        dup = sorted({c for c in columns if list(columns).count(c) > 1})
        raise PolicyError(f"synthetic: columns are listed more than once: {dup}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"synthetic: columns {missing} are not in the data")
    if bins < 2:
        raise PolicyError(f"synthetic: bins must be at least 2, got {bins}")
    codecs = []
    types = types or {}
    for col in columns:
        dtype = df[col].dtype
        kind = types.get(col)
        if col in bounds and col in domains:
            raise PolicyError(
                f"synthetic: column '{col}' has both numeric bounds and a category list; "
                "give bounds for a numeric column or categories for a categorical one"
            )
        if col in bounds:
            lo, hi = (float(b) for b in bounds[col])
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise PolicyError(
                    f"synthetic: bounds of '{col}' must be finite with lower < upper, "
                    f"got [{lo}, {hi}]"
                )
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                raise DataError(
                    f"synthetic: column '{col}' has bounds but is not numeric ({dtype})"
                    f"{first_non_number(df, col)}; "
                    "list its categories instead of bounds"
                )
            if kind in ("category", "date"):
                raise PolicyError(
                    f"synthetic: column '{col}' has bounds but type {kind}; bounds apply to "
                    "integer or number columns"
                )
            integer = kind == "integer"
            codecs.append(
                ColumnCodec(col, "numeric", lower=lo, upper=hi, bins=bins, integer=integer)
            )
            continue
        if col in domains:
            cats = tuple(domains[col])
        elif domain_from_data:
            cats = tuple(pd.unique(df[col].dropna()))
            try:
                cats = tuple(sorted(cats))  # type: ignore[type-var]
            except TypeError:
                pass
        else:
            raise PolicyError(
                f"synthetic: column '{col}' has no category list; list its categories in the "
                "policy or a codebook (or bounds if it is numeric), or pass "
                "domain_from_data=True to read them from the data, which reveals them"
            )
        if len(cats) == 0:
            raise PolicyError(f"synthetic: the category list of '{col}' is empty")
        if len(set(map(repr, cats))) != len(cats):
            raise PolicyError(f"synthetic: the category list of '{col}' repeats a value")
        codecs.append(
            ColumnCodec(col, "categorical", categories=cats, dtype=_category_dtype(cats, kind))
        )
    return Codebook(tuple(codecs))


def _category_dtype(categories: Sequence[object], kind: ValueType | None) -> object:
    """The synthetic dtype of a categorical column, from its public type and categories.

    ``integer`` gives int64 and ``number`` float64; without a numeric type, whole-number
    categories give int64, other numeric ones float64, text ones strings (None).
    """
    if kind == "integer":
        return np.dtype(np.int64)
    if kind == "number":
        return np.dtype(np.float64)
    if kind is None or kind == "category":
        numbers = [c for c in categories if not isinstance(c, bool)]
        if len(numbers) == len(categories):
            if all(isinstance(c, int | np.integer) for c in numbers):
                return np.dtype(np.int64)
            if all(isinstance(c, int | float | np.number) for c in numbers):
                return np.dtype(np.float64)
    return None
