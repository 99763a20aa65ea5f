"""Generalisation hierarchies, read from ARX-style hierarchy files.

A hierarchy file has no header and one row per original value: column 0 is the value
itself and each further column is one level coarser; the last column is usually ``*``
(everything). Fields are separated by ``;`` (ARX's default) or ``,``; the separator is
sniffed. Values are compared as strings with surrounding whitespace stripped, and numeric
data are normalised before lookup (``39`` and ``39.0`` both match the hierarchy value
``"39"``).

The levels must form a tree: a value at level ``j`` must always generalise to the same value
at level ``j + 1``. That is what makes the lattice of levels monotone (coarser levels only
merge equivalence classes), which the optimal search relies on.

Internally every hierarchy row gets an integer code per level, so a data column is
generalised by factorising it once and indexing code arrays: no Python loop over rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import PolicyError

__all__ = ["Hierarchy", "normalize_value"]

_SEPARATORS = (";", ",")


def normalize_value(value: Any) -> str | None:
    """Return the string a data value is looked up under, or None for a missing value.

    Integers (and integral floats such as ``39.0``) become their decimal digits, strings
    are stripped, and NaN, None, ``pd.NA`` and the empty string are missing.

    Args:
        value: one data value of any type.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if np.isnan(value):
            return None
        f = float(value)
        if f.is_integer():
            return str(int(f))
        return repr(f)
    text = str(value).strip()
    return text if text else None


@dataclass(frozen=True)
class Hierarchy:
    """A generalisation hierarchy: one row per original value, one column per level.

    Build it with :meth:`from_csv` or :meth:`from_frame`; the constructor validates the
    rows (not empty, not ragged, no empty cells, no value defined twice, a tree).

    Attributes:
        rows: the hierarchy rows, each ``(value, level 1, ..., level L-1)`` as strings.
        source: where the rows came from, used in error messages.
    """

    rows: tuple[tuple[str, ...], ...]
    source: str = "<hierarchy>"
    _index: dict[str, int] = field(init=False, repr=False, compare=False)
    _codes: np.ndarray = field(init=False, repr=False, compare=False)
    _labels: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rows = tuple(tuple(str(v).strip() for v in row) for row in self.rows)
        if not rows:
            raise PolicyError(f"hierarchy {self.source} is empty: it needs one row per value")
        width = len(rows[0])
        for i, row in enumerate(rows):
            if len(row) != width:
                raise PolicyError(
                    f"hierarchy {self.source} is ragged: row {i + 1} ({row[0]!r}) has "
                    f"{len(row)} columns but row 1 has {width}; every row needs one column "
                    "per level"
                )
            for j, cell in enumerate(row):
                if not cell:
                    raise PolicyError(
                        f"hierarchy {self.source} row {i + 1} ({row[0]!r}) has an empty "
                        f"cell in column {j + 1}; fill in every level"
                    )
        index: dict[str, int] = {}
        unique_rows: list[tuple[str, ...]] = []
        for row in rows:
            seen = index.get(row[0])
            if seen is None:
                index[row[0]] = len(unique_rows)
                unique_rows.append(row)
            elif unique_rows[seen] != row:
                raise PolicyError(
                    f"hierarchy {self.source} defines {row[0]!r} twice with different "
                    f"generalisations ({'; '.join(unique_rows[seen])} and {'; '.join(row)}); "
                    "keep one row per value"
                )
        for j in range(1, width - 1):
            parent: dict[str, str] = {}
            for row in unique_rows:
                prev = parent.setdefault(row[j], row[j + 1])
                if prev != row[j + 1]:
                    raise PolicyError(
                        f"hierarchy {self.source} is not a tree: {row[j]!r} at level {j} "
                        f"generalises to both {prev!r} and {row[j + 1]!r} at level {j + 1}; "
                        "a value must always generalise to the same coarser value"
                    )
        codes = np.empty((width, len(unique_rows)), dtype=np.int64)
        labels: list[tuple[str, ...]] = []
        for j in range(width):
            level_codes, uniques = pd.factorize(np.array([r[j] for r in unique_rows], dtype=object))
            codes[j] = level_codes
            labels.append(tuple(str(u) for u in uniques))
        object.__setattr__(self, "rows", tuple(unique_rows))
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_labels", tuple(labels))

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_csv(cls, path: str | Path) -> Hierarchy:
        """Read an ARX hierarchy file (no header, ``;`` or ``,`` separated, sniffed).

        Blank lines are skipped; surrounding whitespace of every field is stripped.

        Args:
            path: the hierarchy file.

        Raises:
            PolicyError: the file is missing, unreadable, empty or ragged, or is not a tree.
        """
        p = Path(path)
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise PolicyError(f"hierarchy file {p} cannot be read: {exc.strerror}") from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise PolicyError(f"hierarchy file {p} is empty: it needs one row per value")
        sep = _sniff(lines)
        rows = [
            tuple(fields) for fields in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)
        ]
        return cls(rows=tuple(rows), source=str(p))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, source: str = "<frame>") -> Hierarchy:
        """Build a hierarchy from a DataFrame: column 0 the values, then one column per level.

        Args:
            df: the hierarchy table; cells are converted with :func:`normalize_value`.
            source: a name for error messages.

        Raises:
            PolicyError: the table is empty, has empty cells, or is not a tree.
        """
        rows = []
        for record in df.itertuples(index=False, name=None):
            rows.append(tuple(normalize_value(v) or "" for v in record))
        return cls(rows=tuple(rows), source=source)

    # ------------------------------------------------------------------ properties

    @property
    def levels(self) -> int:
        """Number of levels, including level 0 (the original values)."""
        return int(self._codes.shape[0])

    @property
    def values(self) -> tuple[str, ...]:
        """The original values (column 0), in file order."""
        return self._labels[0]

    def labels(self, level: int) -> tuple[str, ...]:
        """Distinct values of a level; code ``c`` of :meth:`level_codes` is ``labels(level)[c]``.

        Args:
            level: 0 .. ``levels - 1``.
        """
        self._check_level(level)
        return self._labels[level]

    def leaf_counts(self, level: int) -> np.ndarray:
        """Number of original values (hierarchy rows) under each value of a level, by code.

        Args:
            level: 0 .. ``levels - 1``.
        """
        self._check_level(level)
        return np.bincount(self._codes[level], minlength=len(self._labels[level]))

    # ------------------------------------------------------------------ data operations

    def missing_values(self, series: pd.Series) -> list[str]:
        """Return the (normalised) values of the data that the hierarchy does not cover.

        Missing data (NaN, None, empty string) are not reported: they stay missing.

        Args:
            series: a data column.
        """
        _, uniques = pd.factorize(series, use_na_sentinel=True)
        out = set()
        for value in uniques:
            key = normalize_value(value)
            if key is not None and key not in self._index:
                out.add(key)
        return sorted(out)

    def row_index(self, series: pd.Series) -> np.ndarray:
        """Map each record to its hierarchy row (int64), ``-1`` for a missing value.

        Args:
            series: a data column.

        Raises:
            PolicyError: a value of the data is not in the hierarchy.
        """
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
        uncovered: list[str] = []
        for i, value in enumerate(uniques):
            key = normalize_value(value)
            if key is None:
                continue
            row = self._index.get(key)
            if row is None:
                uncovered.append(key)
            else:
                lookup[i] = row
        if uncovered:
            uncovered.sort()
            shown = ", ".join(repr(v) for v in uncovered[:5])
            more = f" and {len(uncovered) - 5} more" if len(uncovered) > 5 else ""
            name = f"column {series.name!r}" if series.name is not None else "the data"
            raise PolicyError(
                f"hierarchy {self.source} does not cover {len(uncovered)} value(s) of "
                f"{name}: {shown}{more}; add a row for each"
            )
        # codes == -1 (missing) indexes the last slot, which stays -1.
        return lookup[np.where(codes < 0, len(uniques), codes)]

    def level_codes(self, series: pd.Series) -> np.ndarray:
        """Integer codes of every level for each record: an (levels, n) int64 array.

        ``out[j, i]`` indexes ``labels(j)``; a missing value is ``-1`` at every level.

        Args:
            series: a data column.

        Raises:
            PolicyError: a value of the data is not in the hierarchy.
        """
        rows = self.row_index(series)
        out = np.where(rows[None, :] >= 0, self._codes[:, np.maximum(rows, 0)], -1)
        return out.astype(np.int64, copy=False)

    def generalize(self, series: pd.Series, level: int) -> pd.Series:
        """Recode a column to a level of the hierarchy.

        Level 0 returns a copy of the column unchanged (the identity). Any other level
        returns strings (pandas ``str`` dtype) with the same index and name; missing values
        stay missing.

        Args:
            series: a data column.
            level: 0 .. ``levels - 1``.

        Raises:
            PolicyError: the level does not exist or a value is not in the hierarchy.
        """
        self._check_level(level)
        if level == 0:
            return series.copy()
        rows = self.row_index(series)
        labels = np.array(self._labels[level] + (None,), dtype=object)
        codes = np.where(rows >= 0, self._codes[level][np.maximum(rows, 0)], len(labels) - 1)
        return pd.Series(labels[codes], index=series.index, name=series.name, dtype="str")

    def _check_level(self, level: int) -> None:
        if not 0 <= level < self.levels:
            raise PolicyError(
                f"hierarchy {self.source} has levels 0 to {self.levels - 1}; "
                f"level {level} does not exist"
            )


def _sniff(lines: Sequence[str]) -> str:
    """Pick the separator that splits every line into the same number (> 1) of fields."""
    counts: dict[str, set[int]] = {}
    for sep in _SEPARATORS:
        widths = {len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)}
        counts[sep] = widths
        if len(widths) == 1 and next(iter(widths)) > 1:
            return sep
    # No consistent split: keep the separator that splits anything, so the ragged row is
    # reported; a single-column file (one level only) falls through to ';'.
    for sep in _SEPARATORS:
        if max(counts[sep]) > 1:
            return sep
    return _SEPARATORS[0]
