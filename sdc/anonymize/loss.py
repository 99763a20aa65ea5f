"""Information-loss measures for generalised and suppressed microdata.

Definitions (the same ones the optimal search minimises):

* **Loss** (ARX's "Loss" metric, ``MetricMDNMLoss``, i.e. Iyengar's loss metric LM): a cell
  whose value is generalised to a node of the hierarchy that covers ``c`` of the ``N`` leaves
  of the hierarchy (``N`` = rows of the hierarchy file, as ARX counts the domain) costs
  ``(c - 1) / (N - 1)``: 0 for an original value, 1 for ``*``. A suppressed record costs 1 in
  every quasi-identifier (ARX's default generalisation/suppression factor 0.5 treats both
  alike), and so does a cell that was already missing in the input. The loss of an attribute
  is the mean over records (:attr:`InformationLoss.loss_by_attribute`, the per-attribute
  vector ARX prints). Two aggregates over quasi-identifiers, both in [0, 1], with attribute
  weights ``w_j`` normalised to sum 1: the weighted arithmetic mean ``sum(w_j L_j)``
  (:attr:`InformationLoss.loss`) and the weighted geometric mean
  ``prod((1 + L_j) ** w_j) - 1`` (:attr:`InformationLoss.loss_geometric`), which with equal
  weights is exactly ARX's default aggregate for this metric (``GEOMETRIC_MEAN``; the ``+ 1``
  keeps a zero loss from zeroing the product). ARX multiplies ``1 + L_j`` by its weight
  *inside* the geometric mean; that scales every transformation by the same constant, so the
  weights could never change which one is optimal. Here they are exponents, so a heavier
  attribute's loss counts more (the optimal search minimises this aggregate by default).
  Quasi-identifiers without a hierarchy cost 0 unless suppressed.
* **Discernibility** (Bayardo & Agrawal's DM as ARX's ``MetricSDNMDiscernability``): every
  record in a released equivalence class of size ``|E|`` costs ``|E|``, every suppressed record
  costs ``n``: ``DM = sum(|E|^2 over released classes) + n * suppressed``.
* **Suppression**: suppressed records (all their quasi-identifier values blanked) and their
  share, and suppressed values (cells blanked by the treatment) and their share of all
  quasi-identifier cells.

Equivalence classes are formed on the generalised quasi-identifiers with a missing value as
one more category; under the wildcard rule (``missing: wildcard``) a record's key count can
only be larger, so a class size reported here is a lower bound there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdc.errors import DataError, PolicyError
from sdc.hierarchy import Hierarchy
from sdc.risk.frequencies import combine_codes, encode_keys

__all__ = ["InformationLoss", "cell_loss", "discernibility", "information_loss"]


@dataclass(frozen=True)
class InformationLoss:
    """Information loss of one transformation of a data set.

    Attributes:
        loss: ARX-style generalised information loss in [0, 1] (weighted arithmetic mean over
            quasi-identifiers of the mean cell loss).
        loss_by_attribute: the loss of each quasi-identifier, in [0, 1].
        loss_geometric: ARX's default aggregate of the same vector (weighted geometric mean of
            ``L_j + 1``, minus 1), in [0, 1].
        discernibility: ``sum(|E|^2)`` over released classes plus ``n`` per suppressed record.
        suppressed_records: records whose quasi-identifiers were all suppressed.
        suppressed_share: ``suppressed_records / n``.
        suppressed_values: quasi-identifier cells blanked by the treatment (not counting cells
            already missing in the input).
        suppressed_value_share: ``suppressed_values`` over all quasi-identifier cells.
        classes: number of released equivalence classes.
    """

    loss: float
    loss_by_attribute: dict[str, float]
    loss_geometric: float
    discernibility: float
    suppressed_records: int
    suppressed_share: float
    suppressed_values: int
    suppressed_value_share: float
    classes: int


def cell_loss(hierarchy: Hierarchy, level: int) -> np.ndarray:
    """Loss of a cell generalised to each value of a level: ``(leaves - 1) / (N - 1)``.

    Indexed by the codes of :meth:`Hierarchy.level_codes` at that level. ``N`` is the number
    of rows (leaves) of the hierarchy; a one-row hierarchy loses nothing.

    Args:
        hierarchy: the attribute's hierarchy.
        level: the generalisation level.
    """
    leaves = hierarchy.leaf_counts(level).astype(np.float64)
    size = len(hierarchy.values)
    if size <= 1:
        return np.zeros_like(leaves)
    return (leaves - 1.0) / (size - 1.0)


def discernibility(class_sizes: np.ndarray, suppressed: int, n: int) -> float:
    """Discernibility: squared sizes of released classes plus ``n`` per suppressed record.

    Args:
        class_sizes: sizes of the released (not suppressed) equivalence classes.
        suppressed: number of suppressed records.
        n: number of records.
    """
    sizes = np.asarray(class_sizes, dtype=np.float64)
    return float((sizes * sizes).sum() + float(n) * suppressed)


def aggregate_loss(values: Sequence[float], weights: Sequence[float]) -> tuple[float, float]:
    """Weighted arithmetic and geometric means of per-attribute losses.

    The weights are normalised to sum 1: ``sum(w_j L_j)`` and ``prod((1 + L_j) ** w_j) - 1``.
    With equal weights the second is ARX's geometric-mean aggregate (see the module doc for
    why weights are exponents rather than ARX's factors).

    Args:
        values: per-attribute losses.
        weights: per-attribute weights (> 0).
    """
    v = np.asarray(values, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    if len(v) == 0:
        return 0.0, 0.0
    w = w / w.sum()
    arithmetic = float((v * w).sum())
    geometric = float(np.expm1((np.log1p(v) * w).sum()))
    return arithmetic, geometric


def attribute_weights(columns: Sequence[str], weight: Mapping[str, float] | None) -> list[float]:
    """Weights of the quasi-identifiers for the loss aggregate (1 unless given).

    Args:
        columns: the quasi-identifiers.
        weight: optional weight per column; columns not named get 1.

    Raises:
        PolicyError: a weight is not positive or names a column that is not a quasi-identifier.
    """
    weight = dict(weight or {})
    unknown = sorted(set(weight) - set(columns))
    if unknown:
        raise PolicyError(
            f"loss weights name {', '.join(map(repr, unknown))}, which are not "
            "quasi-identifiers; weight only quasi-identifier columns"
        )
    out = []
    for col in columns:
        w = float(weight.get(col, 1.0))
        if not np.isfinite(w) or w <= 0:
            raise PolicyError(f"loss weight of {col!r} is {w}; weights must be positive")
        out.append(w)
    return out


def information_loss(
    original: pd.DataFrame,
    hierarchies: Mapping[str, Hierarchy],
    levels: Mapping[str, int],
    *,
    suppressed: np.ndarray | None = None,
    other_quasi: Sequence[str] = (),
    weight: Mapping[str, float] | None = None,
) -> InformationLoss:
    """Measure the information loss of generalising ``original`` to ``levels``.

    Args:
        original: the data before treatment.
        hierarchies: the hierarchy of each generalised quasi-identifier.
        levels: the level each hierarchy column is generalised to (missing keys mean 0).
        suppressed: boolean mask of records whose quasi-identifiers are all suppressed.
        other_quasi: quasi-identifiers without a hierarchy (kept or suppressed, never
            generalised).
        weight: optional per-attribute weights of the loss aggregate.

    Raises:
        DataError: a column is missing from the data or the mask has the wrong length.
        PolicyError: a level does not exist or a value is not covered by its hierarchy.
    """
    columns = list(hierarchies) + [c for c in other_quasi if c not in hierarchies]
    missing_cols = [c for c in columns if c not in original.columns]
    if missing_cols:
        raise DataError(f"columns {missing_cols} are not in the data")
    n = len(original)
    mask = np.zeros(n, dtype=bool) if suppressed is None else np.asarray(suppressed, dtype=bool)
    if mask.shape != (n,):
        raise DataError(f"the suppression mask has {mask.shape} entries for {n} records")
    stray = sorted(set(levels) - set(hierarchies))
    if stray:
        raise PolicyError(f"levels are given for {stray}, which have no hierarchy")
    weights = attribute_weights(columns, weight)
    kept = ~mask
    n_supp = int(mask.sum())

    per_attr: dict[str, float] = {}
    codes = np.empty((n, len(columns)), dtype=np.int64)
    already_missing = 0
    for j, col in enumerate(columns):
        if col in hierarchies:
            h = hierarchies[col]
            level = int(levels.get(col, 0))
            table = cell_loss(h, level)  # validates the level
            level_codes = h.level_codes(original[col])[level]
            miss = level_codes < 0
            cells = np.where(miss, 1.0, table[np.maximum(level_codes, 0)])
            codes[:, j] = np.where(miss, -1, level_codes)
        else:
            col_codes = encode_keys(original, [col], "wildcard")[:, 0]
            miss = col_codes < 0
            cells = miss.astype(np.float64)
            codes[:, j] = col_codes
        cells = np.where(mask, 1.0, cells)
        already_missing += int((miss & mask).sum())
        per_attr[col] = float(cells.mean()) if n else 0.0

    if kept.any() and columns:
        kept_codes = codes[kept]
        kept_codes = np.where(kept_codes < 0, kept_codes.max(axis=0) + 1, kept_codes)
        key = combine_codes(kept_codes)
        sizes = np.bincount(key)
    else:
        sizes = np.array([int(kept.sum())] if kept.any() else [], dtype=np.int64)
    loss, geometric = aggregate_loss(list(per_attr.values()), weights)
    cells_total = n * len(columns)
    supp_values = n_supp * len(columns) - already_missing
    return InformationLoss(
        loss=loss,
        loss_by_attribute=per_attr,
        loss_geometric=geometric,
        discernibility=discernibility(sizes, n_supp, n),
        suppressed_records=n_supp,
        suppressed_share=n_supp / n if n else 0.0,
        suppressed_values=supp_values,
        suppressed_value_share=supp_values / cells_total if cells_total else 0.0,
        classes=len(sizes),
    )
