"""The record every treatment returns: what was done, to which columns, with what effect.

A :class:`Treatment` goes into the release manifest as ``treatment.to_dict()``, so every
field is reduced to JSON types when the record is built (numpy scalars and arrays become
Python numbers and lists, tuples become lists on output). Records never hold data values
of individual respondents or secrets such as the pseudonymisation key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from sdc.errors import DataError

__all__ = ["SuppressionRecord", "Treatment", "numeric_values"]


def numeric_values(df: pd.DataFrame, column: str, treatment: str) -> np.ndarray:
    """A column's values as floats (NaN for blanks) for a numeric treatment.

    Raises:
        DataError: the column is absent or holds values that are not numbers.
    """
    if column not in df.columns:
        raise DataError(f"column {column!r} is not in the data")
    series = pd.to_numeric(df[column], errors="coerce")
    bad = series.isna() & df[column].notna()
    if bad.any():
        raise DataError(
            f"column {column!r} must be numeric for {treatment} but {int(bad.sum())} value(s) "
            "are not numbers"
        )
    return series.to_numpy(dtype=np.float64)


def _freeze(value: Any) -> Any:
    """Reduce a value to JSON-compatible, immutable Python objects."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): _freeze(v) for k, v in value.items()})
    if isinstance(value, np.ndarray):
        return _freeze(value.tolist())
    if isinstance(value, str | bytes):
        if isinstance(value, bytes):
            raise TypeError("a treatment record cannot hold bytes")
        return value
    if isinstance(value, Sequence | set | frozenset):
        items = sorted(value) if isinstance(value, set | frozenset) else value
        return tuple(_freeze(v) for v in items)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        if not math.isfinite(f):
            raise ValueError(f"a treatment record holds the non-finite number {f}")
        return f
    if value is None:
        return None
    raise TypeError(f"a treatment record cannot hold a {type(value).__name__}")


def _thaw(value: Any) -> Any:
    """Turn a frozen value back into plain dicts and lists (for JSON)."""
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Treatment:
    """What one treatment did, for the release manifest.

    Attributes:
        name: the treatment, e.g. ``"drop"``, ``"pseudonymize"``, ``"recode.bands"``,
            ``"top_code"``, ``"local_suppression"``, ``"pram"``, ``"microaggregation"``,
            ``"noise"``.
        columns: the columns it touched, in input order.
        parameters: the parameters it ran with (JSON types only; never a secret).
        changed: number of values changed, per column.
        details: further figures (JSON types), e.g. a PRAM transition matrix.
        private: figures for the data steward only, left out of :meth:`to_dict` unless
            asked for: the seeds of PRAM and noise. Whoever knows a seed can replay the
            random draws and undo the noise exactly (and most of PRAM), so a seed must not
            leave the organisation with the data.
    """

    name: str
    columns: tuple[str, ...]
    parameters: Mapping[str, Any] = field(default_factory=dict)
    changed: Mapping[str, int] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    private: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a treatment needs a name")
        columns = tuple(str(c) for c in self.columns)
        changed = {str(k): int(v) for k, v in self.changed.items()}
        unknown = sorted(set(changed) - set(columns))
        if unknown:
            raise ValueError(f"changed counts for columns not treated: {unknown}")
        if any(v < 0 for v in changed.values()):
            raise ValueError("changed counts cannot be negative")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "parameters", _freeze(self.parameters))
        object.__setattr__(self, "changed", MappingProxyType(changed))
        object.__setattr__(self, "details", _freeze(self.details))
        object.__setattr__(self, "private", _freeze(self.private))

    @property
    def total_changed(self) -> int:
        """Number of values changed over all columns."""
        return sum(self.changed.values())

    def to_dict(self, *, include_private: bool = False) -> dict[str, Any]:
        """Plain JSON-serialisable form for the manifest.

        Args:
            include_private: also return ``private`` (seeds); only for files that stay
                with the data steward.
        """
        out = {
            "name": self.name,
            "columns": list(self.columns),
            "parameters": _thaw(self.parameters),
            "changed": dict(self.changed),
            "details": _thaw(self.details),
        }
        if include_private:
            out["private"] = _thaw(self.private)
        return out


@dataclass(frozen=True)
class SuppressionRecord(Treatment):
    """The record of local suppression; ``changed`` holds suppressions per variable.

    ``details`` holds ``total`` (values suppressed), ``cells`` (quasi-identifier values
    considered), ``share`` (total / cells), ``violating_before`` (records with f_k < k
    before), ``iterations`` and ``order`` (variables, first suppressed first).
    """

    @property
    def per_variable(self) -> dict[str, int]:
        """Values suppressed in each quasi-identifier."""
        return dict(self.changed)

    @property
    def total(self) -> int:
        """Values suppressed over all quasi-identifiers."""
        return self.total_changed

    @property
    def share(self) -> float:
        """Suppressed values as a share of all quasi-identifier values (0 for no data)."""
        return float(self.details.get("share", 0.0))
