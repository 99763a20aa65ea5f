"""Disclosure risk left in numeric columns: record linkage and interval disclosure.

k-anonymity counts keys of categories; a number perturbed by microaggregation, noise or
swapping needs another figure. Both measures here compare the original values with the
treated ones, record by record (``before`` and ``after`` hold the same records in the same
order):

- :func:`relinked_share`, distance-based record linkage: the share of records an intruder
  holding the original numeric values re-links to their own by the nearest values;
- :func:`interval_disclosure`, sdcMicro's ``dRisk``: the share of records whose original
  values lie close to the released ones.

On data as collected (nothing treated yet) both are 100% by definition: every record is
its own nearest neighbour. ``sdc risk`` reports them so (:attr:`NumericRisk.treated` is
False), ``sdc release`` after treatment, beside k-anonymity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sdc.policy import Policy

__all__ = [
    "NUMERIC_MARKS",
    "NumericRisk",
    "interval_disclosure",
    "numeric_columns",
    "numeric_risk",
    "relinked_share",
]

#: The treatments that perturb numbers, as ``outputs.microdata.treatments`` names them.
NUMERIC_MARKS: tuple[str, ...] = (
    "microaggregation",
    "noise",
    "rank_swap",
    "shuffle",
    "mv_top_code",
)


def numeric_columns(policy: Policy) -> list[str]:
    """The numeric columns whose linkage risk is measured, in policy order.

    Those the policy perturbs in its microdata treatments (``microaggregation``, ``noise``,
    ``rank_swap``, ``shuffle: true``, ``mv_top_code``) and those it top or bottom codes in
    its ``recode`` step; removed columns never. Empty without microdata output.
    """
    spec = policy.outputs.microdata
    steps = set(spec.treatments) if spec is not None else set()
    out = []
    for name, col in policy.columns.items():
        if col.role in ("direct", "drop"):
            continue
        marks = {
            "microaggregation": col.microaggregation is not None,
            "noise": col.noise is not None,
            "rank_swap": col.rank_swap is not None,
            "shuffle": col.shuffle,
            "mv_top_code": col.mv_top_code is not None,
            "recode": col.top_code is not None or col.bottom_code is not None,
        }
        if any(marked and step in steps for step, marked in marks.items()):
            out.append(name)
    return out


@dataclass(frozen=True)
class NumericRisk:
    """Record linkage and interval disclosure of some numeric columns.

    Attributes:
        columns: the numeric columns measured together.
        records: records with a value in every one of them (the others are left out).
        treated: False on data as collected (both shares are 1 by definition then).
        relinked_share: share of those records an intruder with the original values
            re-links to their own (None with fewer than two such records).
        interval_disclosure: sdcMicro's ``dRisk`` (None without records).
    """

    columns: tuple[str, ...]
    records: int
    treated: bool
    relinked_share: float | None
    interval_disclosure: float | None

    def to_dict(self) -> dict[str, Any]:
        """The JSON fields (``numeric_risk`` of a risk report and of the manifest)."""
        return {
            "columns": list(self.columns),
            "records": self.records,
            "treated": self.treated,
            "relinked_share": self.relinked_share,
            "interval_disclosure": self.interval_disclosure,
        }


def numeric_risk(
    before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str], *, treated: bool = True
) -> NumericRisk | None:
    """Both measures of ``columns`` (those present in both frames); None without any.

    Args:
        before: the original records.
        after: the same records after treatment, in the same order (``before`` itself on
            data as collected).
        columns: the numeric columns, measured together.
        treated: whether ``after`` is a treated copy (False: data as collected).
    """
    cols = [c for c in columns if c in before.columns and c in after.columns]
    if not cols or len(before) != len(after):
        return None
    x = _matrix(before, cols)
    y = _matrix(after, cols)
    complete = int((~(np.isnan(x).any(axis=1) | np.isnan(y).any(axis=1))).sum())
    return NumericRisk(
        columns=tuple(cols),
        records=complete,
        treated=treated,
        relinked_share=relinked_share(before, after, cols),
        interval_disclosure=interval_disclosure(before, after, cols),
    )


def interval_disclosure(
    before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str], k: float = 0.05
) -> float | None:
    """The ``dRisk`` of sdcMicro: the share of records whose original values lie near the released.

    Around each released value an interval of ``k`` times the released column's standard
    deviation (n - 1) is drawn on either side; a record counts as disclosed when its original
    value falls outside the interval in at most one of the columns (exactly sdcMicro's
    ``dRisk(k = 0.05)``; a missing value is never outside). None without numeric columns.
    """
    if not columns or not len(before):
        return None
    outside = np.zeros(len(before), dtype=np.int64)
    for col in columns:
        x, y = _as_float(before[col]), _as_float(after[col])
        sd = float(np.nanstd(y, ddof=1)) if np.count_nonzero(~np.isnan(y)) > 1 else 0.0
        with np.errstate(invalid="ignore"):
            outside += ((x < y - k * sd) | (x > y + k * sd)).astype(np.int64)
    return float(np.mean(outside <= 1))


def relinked_share(
    before: pd.DataFrame, after: pd.DataFrame, columns: Sequence[str]
) -> float | None:
    """Distance-based record linkage: the share of released records an intruder re-links.

    An intruder holding the original numeric values links each released record to the
    original record nearest to it (Euclidean distance on values standardised by the
    original columns' means and standard deviations); a released record is re-linked when
    its own original record is among the nearest (ties count against us). Records with a
    missing value in these columns are left out. None without numeric columns or records.
    """
    from scipy.spatial import cKDTree  # lazy: only when a report computes it

    if not columns:
        return None
    x, y = _matrix(before, columns), _matrix(after, columns)
    complete = ~(np.isnan(x).any(axis=1) | np.isnan(y).any(axis=1))
    if complete.sum() < 2:
        return None
    x, y = x[complete], y[complete]
    mean, sd = x.mean(axis=0), x.std(axis=0, ddof=1)
    sd = np.where(sd > 0, sd, 1.0)
    xs, ys = (x - mean) / sd, (y - mean) / sd
    nearest, _ = cKDTree(xs).query(ys, k=1)
    own = np.sqrt(((xs - ys) ** 2).sum(axis=1))
    return float(np.mean(own <= nearest * (1 + 1e-12) + 1e-12))


def _matrix(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    return np.column_stack([_as_float(df[c]) for c in columns])


def _as_float(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
