"""Primary sensitivity rules and the protection level each sensitive cell needs.

Definitions (as in the tau-Argus manual and sdcTable; contributions ``x1 >= x2 >= ...`` of a
cell with total ``X`` and ``N`` contributing records):

* threshold (minimum frequency) rule, ``min_cell = m``: sensitive when ``0 < N < m``
  (empty cells are never sensitive, as sdcTable's default ``allowZeros = FALSE``);
* (n, k)-dominance, ``k`` a fraction: sensitive when ``x1 + ... + xn > k * X``;
* p% rule, ``p`` a fraction: sensitive when ``X - x1 - x2 < p * x1``, i.e. the second
  largest contributor could estimate the largest to within p%;
* group disclosure (counts broken down by a sensitive variable ``s``): a cell is
  sensitive when it holds ``group_share`` or more of its group, the cell with the same
  coordinates and ``s = Total``.

Protection levels (how far the feasible interval of a suppressed cell must reach above
and below the true value; our choices, documented here):

* threshold rule on counts: upwards ``UPL = m - N`` (scaled by the mean weight for
  weighted counts), so the intruder cannot exclude that the cell reaches the threshold;
  no lower requirement (the cell is non-negative anyway);
* threshold rule on magnitudes: ``UPL = LPL = 10%`` of the cell's absolute value;
* dominance: ``UPL = LPL = (x1 + ... + xn) / k - X`` (the amount by which the cell would
  have to grow to pass the rule), as tau-Argus;
* p% rule: ``UPL = LPL = p * x1 - (X - x1 - x2)``, as tau-Argus;
* group disclosure: ``LPL`` so that the interval reaches below ``group_share`` of the
  group (``N - ceil(share * G) + 1`` for unweighted counts); no upper requirement.

Several rules on one cell: the largest level wins. Lower levels never exceed the cell's
distance to its a priori lower bound (so a pattern always exists). Dominance and p% rules
assume non-negative contributions (each record is one contributor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdc.errors import PolicyError
from sdc.tables._cube import Cube
from sdc.tables.spec import CellControl, TableSpec

#: Relative protection of a magnitude cell flagged by the threshold rule.
MAGNITUDE_THRESHOLD_PROTECTION = 0.1
# Protection of a manually suppressed cell without its own level: a share of its value.
MANUAL_PROTECTION = 0.1


@dataclass(frozen=True)
class CellStats:
    """Per-cell aggregates over all cells (flat, margins included).

    Attributes:
        records: number of contributing records.
        value: the protected magnitude (weighted count, or sum of the variable).
        weight_total: sum of weights (= records unweighted); the denominator of means.
        top: ``(n_cells, t)`` largest contributions in decreasing order (0-padded).
    """

    records: np.ndarray
    value: np.ndarray
    weight_total: np.ndarray
    top: np.ndarray


@dataclass(frozen=True)
class PrimaryResult:
    """Sensitive cells and their protection levels (flat arrays)."""

    primary: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    rule: np.ndarray  # object array: the rules that flagged each cell, "" if none


def compute_stats(
    cube: Cube,
    leaf_codes: np.ndarray,
    contribution: np.ndarray,
    weights: np.ndarray,
    n_top: int,
) -> CellStats:
    """Aggregate records to every cell.

    Args:
        cube: the table structure.
        leaf_codes: ``(n, d)`` leaf codes of the records (all >= 0).
        contribution: each record's contribution to the cell value (weight for counts,
            weight x variable for sums).
        weights: each record's weight (1 unweighted).
        n_top: how many largest contributions to keep per cell (0 for none).
    """
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    leaf_flat = _flat(leaf_codes, n_leaves)
    size = int(np.prod(n_leaves))
    rec = np.bincount(leaf_flat, minlength=size).astype(float)
    val = np.bincount(leaf_flat, weights=contribution, minlength=size)
    wt = np.bincount(leaf_flat, weights=weights, minlength=size)
    return _cell_stats(cube, rec, val, wt, leaf_codes, contribution, n_top)


def stats_from_groups(
    cube: Cube,
    leaf_codes: np.ndarray,
    records: np.ndarray,
    value: np.ndarray,
    weight_total: np.ndarray,
    top: np.ndarray,
) -> CellStats:
    """Aggregate per-group results from a counting engine to every cell.

    The engine has already grouped the records by their ``by`` values; a group maps to
    one interior cell (several groups may map to the same cell). The largest
    contributions of a margin are among the largest of its interior cells, so the
    groups' ``top`` lists give every cell's exactly: they are treated as the only
    records that can be among the top, as :func:`compute_stats` treats all records.

    Args:
        cube: the table structure.
        leaf_codes: ``(g, d)`` leaf codes of the groups (all >= 0).
        records: contributing records per group.
        value: the protected magnitude per group.
        weight_total: sum of weights per group.
        top: ``(g, t)`` largest contributions per group, decreasing, NaN where fewer.
    """
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    leaf_flat = _flat(leaf_codes, n_leaves)
    size = int(np.prod(n_leaves))
    rec = np.bincount(leaf_flat, weights=records, minlength=size)
    val = np.bincount(leaf_flat, weights=value, minlength=size)
    wt = np.bincount(leaf_flat, weights=weight_total, minlength=size)
    rows, slots = np.nonzero(~np.isnan(top))
    return _cell_stats(cube, rec, val, wt, leaf_codes[rows], top[rows, slots], top.shape[1])


def _flat(leaf_codes: np.ndarray, n_leaves: tuple[int, ...]) -> np.ndarray:
    if not len(leaf_codes):
        return np.zeros(0, dtype=np.int64)
    return np.asarray(np.ravel_multi_index(tuple(leaf_codes.T), n_leaves), dtype=np.int64)


def _cell_stats(
    cube: Cube,
    rec: np.ndarray,
    val: np.ndarray,
    wt: np.ndarray,
    top_codes: np.ndarray,
    top_values: np.ndarray,
    n_top: int,
) -> CellStats:
    """Leaf-level sums to every cell, and the ``n_top`` largest contributions per cell."""
    n_leaves = tuple(d.n_leaves for d in cube.dims)
    top = np.zeros((cube.n_cells, n_top))
    if n_top > 0 and len(top_codes):
        for levels in cube.level_combinations():
            cells = cube.leaf_to_cell(top_codes, levels)
            order = np.lexsort((-top_values, cells))
            sc = cells[order]
            first = np.r_[True, sc[1:] != sc[:-1]]
            group_start = np.maximum.accumulate(np.where(first, np.arange(len(sc)), 0))
            rank = np.arange(len(sc)) - group_start
            take = rank < n_top
            top[sc[take], rank[take]] = top_values[order][take]
    return CellStats(
        records=np.rint(cube.aggregate(rec.reshape(n_leaves))).astype(np.int64),
        value=cube.aggregate(val.reshape(n_leaves)),
        weight_total=cube.aggregate(wt.reshape(n_leaves)),
        top=top,
    )


def _prior_knowledge_rules(spec: TableSpec) -> list[tuple[str, float]]:
    """The p% and pq rules as (name, p / q): p% is the pq rule with q = 1."""
    rules = []
    if spec.p_percent is not None:
        rules.append(("p_percent", spec.p_percent))
    if spec.pq is not None:
        rules.append(("pq", spec.pq[0] / spec.pq[1]))
    return rules


def primary_cells(
    cube: Cube, stats: CellStats, spec: TableSpec, lower: np.ndarray, weighted: bool
) -> PrimaryResult:
    """Apply the spec's primary rules to every cell.

    Args:
        cube: the table structure.
        stats: cell aggregates from :func:`compute_stats`.
        spec: the table spec (its ``min_cell``, ``dominance``, ``p_percent``,
            ``group_share``).
        lower: a priori lower bound of every cell (caps the lower protection level).
        weighted: whether counts are weighted (changes the group rule's rounding).
    """
    n = cube.n_cells
    primary = np.zeros(n, dtype=bool)
    upl = np.zeros(n)
    lpl = np.zeros(n)
    rules = np.full(n, "", dtype=object)
    nonempty = stats.records > 0
    value = stats.value
    magnitude = not spec.count

    def flag(mask: np.ndarray, up: np.ndarray, down: np.ndarray, name: str) -> None:
        nonlocal upl, lpl
        primary[mask] = True
        upl = np.where(mask, np.maximum(upl, up), upl)
        lpl = np.where(mask, np.maximum(lpl, down), lpl)
        rules[mask] = np.where(rules[mask] == "", name, rules[mask] + "," + name)

    if spec.min_cell is not None:
        m = spec.min_cell
        mask = nonempty & (stats.records < m)
        safe_n = np.maximum(stats.records, 1)
        if magnitude:
            level = MAGNITUDE_THRESHOLD_PROTECTION * np.abs(value)
            level = np.maximum(level, 1e-6 * max(1.0, float(np.abs(value).max(initial=0))))
            flag(mask, level, level, "threshold")
        else:
            up = value * (m - stats.records) / safe_n
            flag(mask, up, np.zeros(n), "threshold")
    if spec.dominance is not None:
        dn, k = spec.dominance
        top_n = stats.top[:, :dn].sum(axis=1)
        mask = nonempty & (top_n > k * value + 1e-12 * np.abs(value))
        level = top_n / k - value
        flag(mask, level, level, "dominance")
    for name, ratio in _prior_knowledge_rules(spec):
        # The second-largest contributor knows its own value and (pq) the others' within q:
        # it estimates x1 as X - x2 - rest with an error of q * rest (rest = X - x1 - x2).
        # The cell is sensitive when that error is below p * x1: q * rest < p * x1.
        x1 = stats.top[:, 0]
        x2 = stats.top[:, 1] if stats.top.shape[1] > 1 else np.zeros(n)
        rest = value - x1 - x2
        mask = nonempty & (rest < ratio * x1 - 1e-12 * np.abs(value))
        level = ratio * x1 - rest
        flag(mask, level, level, name)
    if spec.group_share is not None and spec.sensitive is not None:
        axis = spec.by.index(spec.sensitive)
        dim = cube.dims[axis]
        grid = np.unravel_index(np.arange(n), cube.shape)
        group_idx = list(grid)
        group_idx[axis] = np.full(n, dim.size - 1)  # Total is the last node
        group = np.ravel_multi_index(tuple(group_idx), cube.shape)
        g_val = value[group]
        is_leaf = dim.level[grid[axis]] == 0
        share = np.divide(value, g_val, out=np.zeros(n), where=g_val > 0)
        theta = spec.group_share
        mask = nonempty & is_leaf & (g_val > 0) & (share >= theta - 1e-12)
        if weighted:
            down = value - theta * g_val * (1 - 1e-9)
        else:
            down = value - np.ceil(theta * g_val - 1e-9) + 1
        flag(mask, np.zeros(n), down, "group")
    lpl = np.minimum(lpl, value - lower)
    return PrimaryResult(primary=primary, upl=upl, lpl=np.maximum(lpl, 0.0), rule=rules)


def control_mask(labels: pd.DataFrame, control: CellControl) -> np.ndarray:
    """The cells a control covers: every cell showing its labels (margins included)."""
    mask = np.ones(len(labels), dtype=bool)
    for column, label in control.where:
        mask &= labels[column].astype(str).to_numpy() == str(label)
    return mask


def apply_controls(
    prim: PrimaryResult, labels: pd.DataFrame, spec: TableSpec, value: np.ndarray
) -> tuple[PrimaryResult, np.ndarray]:
    """The office's manual status and protection levels on top of the rules.

    Returns:
        The primary cells with their levels, and the cells that must stay published.

    Raises:
        PolicyError: if a control covers no cell, or keeps a sensitive cell published.
    """
    primary, upl, lpl = prim.primary.copy(), prim.upl.copy(), prim.lpl.copy()
    rule = prim.rule.copy()
    keep = np.zeros(len(labels), dtype=bool)
    for control in spec.cells:
        mask = control_mask(labels, control)
        if not mask.any():
            raise PolicyError(
                f"table {spec.table_name}: cells {control.describe()} match no cell of the table"
            )
        if control.status == "publish":
            keep |= mask
            continue
        if control.status == "suppress":
            new = mask & ~primary
            primary |= mask
            rule[new] = "manual"
        share = (
            control.protection
            if control.protection is not None
            else (MANUAL_PROTECTION if control.status == "suppress" else 0.0)
        )
        level = share * np.abs(value)
        if spec.count:
            level = np.maximum(np.ceil(level), 1.0)
        hit = mask & primary
        upl[hit] = np.maximum(upl[hit], level[hit])
        lpl[hit] = np.maximum(lpl[hit], np.minimum(level[hit], np.abs(value[hit])))
    clash = keep & primary
    if clash.any():
        cell = " × ".join(str(v) for v in labels.iloc[int(np.flatnonzero(clash)[0])])
        raise PolicyError(
            f"table {spec.table_name}: the policy says publish {cell}, but it is sensitive "
            f"({rule[clash][0]}); a sensitive cell cannot be published"
        )
    return PrimaryResult(primary=primary, upl=upl, lpl=lpl, rule=rule), keep
