"""Secondary cell suppression by optimisation, and the interval audit.

The problem (Fischetti & Salazar's model, as tau-Argus' "optimal" method solves it): choose
the cells to suppress, at least cost, so that for every primary cell ``p`` an intruder who
knows the published cells, the table's linear relations and the a priori bounds of every
cell (non-negative values) can only narrow ``p`` to an interval reaching at least
``value + UPL`` upwards and ``value - LPL`` downwards (upper and lower protection levels).

The intruder's best bound is a linear programme (the *attacker* LP). Writing the suppressed
cells as ``x_j = 1``, the LP's dual gives, for every ``x``, a valid upper bound on how far
``p`` can move: ``sum_j c_j x_j``. We solve it by row generation (Benders):

1. master MILP (HiGHS via :func:`scipy.optimize.milp`): minimise ``sum_j w_j x_j`` with
   ``x_p = 1`` for primaries and the cuts found so far, starting with one cut per relation
   that holds a primary cell (the single-row capacity: to move ``p`` by UPL, the other
   cells of the row must be able to absorb it);
2. audit the pattern: for every primary cell and both directions, solve the attacker LP
   (HiGHS via :func:`scipy.optimize.linprog`); where the reach is short of the protection
   level, add the dual cut ``sum_j c_j x_j >= PL`` (coefficients capped at PL, which keeps
   the cut valid for 0/1 variables) and go back to 1.

It stops when the audit passes, so a returned pattern is always audited, whatever the
master's optimality gap. The attacker works with continuous values (as tau-Argus does):
integrality of counts is not used by the intruder, which is the standard model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse.csgraph import connected_components

from sdc.errors import PolicyNotMet

_TOL = 1e-7
# Reduced costs below this (the LP's objective coefficient is 1) are solver noise.
_RED_TOL = 1e-9
# How far (in units of the cell's own size) the attacker LP first lets each cell move; where
# that binds, the next, up to no cut at all. Solving in the cell's own units keeps a table with
# cents beside 1e12 well conditioned.
_CLIPS = (1e4, 1e8, 1e12, np.inf)


@dataclass(frozen=True)
class SuppressionProblem:
    """The data of a cell-suppression problem (flat cell arrays of equal length).

    Attributes:
        values: true cell values.
        lower: a priori lower bound of each cell (``-inf`` when unknown; 0 for counts).
        upper: a priori upper bound of each cell (``inf`` when unknown).
        relations: ``(n_relations, n_cells)`` sparse matrix, ``relations @ values == 0``.
        primary: mask of the primary (sensitive) cells.
        upl: upper protection level of each cell (0 where not primary).
        lpl: lower protection level of each cell (0 where not primary).
        cost: the cost of suppressing each cell (what the optimisation minimises).
        keep: cells that must stay published (the office's manual status), or None.
    """

    values: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    relations: sp.csr_matrix
    primary: np.ndarray
    upl: np.ndarray
    lpl: np.ndarray
    cost: np.ndarray
    keep: np.ndarray | None = None

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return len(self.values)


@dataclass(frozen=True)
class Reach:
    """How far the intruder can move one suppressed cell (the attacker LPs)."""

    lower: float
    upper: float


try:  # HiGHS' own API as scipy ships it: lets the attacker LPs be re-solved warm.
    from scipy.optimize._highspy import _core as _highs_core
except ImportError:  # pragma: no cover - scipy < 1.15: fall back to linprog (slower)
    _highs_core = None


class Attacker:
    """The intruder's LPs over one set of suppressed cells.

    One model per set (a connected component of the suppression pattern); each target and
    direction only changes one objective coefficient, so HiGHS re-solves from the previous
    basis. Cells outside the set are published and fixed.

    Args:
        problem: the suppression problem.
        cells: sorted flat indices of the suppressed cells in the set.
        relations_csc: ``problem.relations`` in CSC form.
        warm: use HiGHS directly with warm starts (else :func:`scipy.optimize.linprog`).
    """

    def __init__(
        self,
        problem: SuppressionProblem,
        cells: np.ndarray,
        relations_csc: sp.csc_matrix,
        *,
        warm: bool = True,
    ) -> None:
        self.problem = problem
        self.cells = np.asarray(cells, dtype=np.int64)
        self.cap_down = problem.values - problem.lower
        self.cap_up = problem.upper - problem.values
        sub = relations_csc[:, self.cells]
        self.rows = np.flatnonzero(np.diff(sub.tocsr().indptr) > 0)
        self.a = sub[self.rows].tocsc()
        self.lo = -self.cap_down[self.cells]
        self.hi = self.cap_up[self.cells]
        self._highs: Any = None
        if warm and _highs_core is not None and len(self.rows):
            self._highs = self._model()

    def _model(self) -> Any:
        assert _highs_core is not None
        h = _highs_core._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")
        # Primal simplex: after an objective change the old basis stays primal feasible,
        # so a re-solve takes a few dozen iterations (dual simplex would start over).
        h.setOptionValue("simplex_strategy", 4)
        lp = _highs_core.HighsLp()
        n, m = len(self.cells), len(self.rows)
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.zeros(n)
        lp.col_upper_ = np.zeros(n)
        lp.row_lower_ = np.zeros(m)
        lp.row_upper_ = np.zeros(m)
        lp.a_matrix_.format_ = _highs_core.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.a.indptr.astype(np.int32)
        lp.a_matrix_.index_ = self.a.indices.astype(np.int32)
        lp.a_matrix_.value_ = self.a.data.astype(float)
        h.passModel(lp)
        return h

    def _bounds(self, scale: float, clip: float) -> tuple[np.ndarray, np.ndarray]:
        """The cells' ranges in units of ``scale``, cut to ``[-clip, clip]``."""
        with np.errstate(over="ignore", invalid="ignore"):
            lo = np.maximum(self.lo / scale, -clip)
            hi = np.minimum(self.hi / scale, clip)
        return lo, hi

    def _solve(
        self, pos: int, direction: int, lo: np.ndarray, hi: np.ndarray
    ) -> tuple[float, np.ndarray | None]:
        """Maximise ``direction * z[pos]`` within ``[lo, hi]``: (reach, row duals) or (inf, None).

        Raises:
            SolverFailed: if neither HiGHS' own API nor :func:`scipy.optimize.linprog` solves
                the LP (``z = 0`` is always feasible, so this is numerical trouble).
        """
        if self._highs is not None:
            assert _highs_core is not None
            h = self._highs
            inf = _highs_core.kHighsInf
            idx = np.arange(len(self.cells), dtype=np.int32)
            lo_h = np.where(np.isfinite(lo), lo, -inf)
            h.changeColsBounds(len(idx), idx, lo_h, np.where(np.isfinite(hi), hi, inf))
            h.changeColCost(pos, -float(direction))
            h.run()
            status = h.getModelStatus()
            reach = -float(h.getInfo().objective_function_value)
            dual = np.asarray(h.getSolution().row_dual, dtype=float)
            h.changeColCost(pos, 0.0)
            ms = _highs_core.HighsModelStatus
            if status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
                return np.inf, None
            if status == ms.kOptimal:
                return reach, dual
            h.clearSolver()  # a stale basis can mislead: fall back to a cold solve
        obj = np.zeros(len(self.cells))
        obj[pos] = -float(direction)
        res = linprog(
            obj,
            A_eq=self.a,
            b_eq=np.zeros(len(self.rows)),
            bounds=np.column_stack([lo, hi]),
            method="highs",
        )
        if res.status == 3:
            return np.inf, None
        if res.status != 0:
            raise SolverFailed(int(self.cells[pos]), str(res.message))
        return float(-res.fun), np.asarray(res.eqlin.marginals, dtype=float)

    def reach(
        self, cell: int, direction: int, *, scale: float | None = None, enough: float = np.inf
    ) -> tuple[float, np.ndarray | None]:
        """How far ``cell`` can move up (+1) or down (-1), and the cut that bounds it.

        The LP is solved in units of ``scale`` (the cell's protection level or its own
        size), with every range first cut to ``_CLIPS[0]`` such units: a table holding
        cents beside 1e12 stays well conditioned. Where a cut range binds, the range grows
        and the LP is solved again; a solution whose dual bound (computed with the true
        ranges) equals its reach is the true optimum, so the reach is exact.

        Args:
            cell: flat index of a suppressed cell of this set.
            direction: +1 for the upper reach, -1 for the lower reach.
            scale: the unit of the LP (default: the cell's size or protection level).
            enough: stop as soon as the reach is known to be at least this (the protection
                level); the returned reach is then a lower bound and the cut is ``None``.
                Without it (reporting an interval), a reach the solver cannot settle beyond
                ``1e12`` units is returned as the lower bound it has proven, with no cut.

        Returns:
            ``(reach, cut)``: the largest feasible move (``inf`` if unbounded) and, when
            finite, coefficients ``c`` over all cells such that under every pattern ``x``
            the cell moves at most ``c @ x`` in that direction (LP weak duality).
        """
        problem = self.problem
        pos = int(np.searchsorted(self.cells, cell))
        cap_toward = self.cap_up if direction > 0 else self.cap_down
        if len(self.rows) == 0:
            reach = float(cap_toward[cell])
            if not np.isfinite(reach):
                return np.inf, None
            coef = np.zeros(problem.n_cells)
            coef[cell] = reach
            return reach, coef
        unit = float(scale) if scale is not None and scale > 0 else _unit(problem, cell)
        known = None  # a reach proven so far (a lower bound while the range cuts bind)
        for clip in _CLIPS:
            lo, hi = self._bounds(unit, clip)
            try:
                reach, dual = self._solve(pos, direction, lo, hi)
            except SolverFailed:
                if known is None or np.isfinite(enough):
                    raise
                return known, None  # reporting only: the interval reaches at least this
            if dual is None:
                return np.inf, None
            reach *= unit
            if reach >= enough * (1 - 1e-9):
                return reach, None
            cut = self._cut(cell, direction, dual, reach, unit)
            if cut is not None:
                return reach, cut
            known = reach
        raise SolverFailed(cell, "no dual bound matches the reach")

    def _cut(
        self, cell: int, direction: int, dual: np.ndarray, reach: float, unit: float
    ) -> np.ndarray | None:
        """The dual cut over the true ranges, if it proves ``reach`` (else ``None``)."""
        problem = self.problem
        rel = problem.relations
        c_full = np.zeros(problem.n_cells)
        c_full[cell] = -float(direction)
        for sign in (1.0, -1.0):
            y = np.zeros(rel.shape[0])
            y[self.rows] = sign * dual
            red = c_full - rel.T @ y
            with np.errstate(invalid="ignore"):
                coef = np.where(red > _RED_TOL, red * self.cap_down, 0.0) + np.where(
                    red < -_RED_TOL, -red * self.cap_up, 0.0
                )
            bound = float(coef[self.cells].sum())
            if np.isfinite(bound) and abs(bound - reach) <= 1e-6 * max(abs(reach), unit):
                return coef
        return None


class SolverFailed(RuntimeError):
    """An attacker LP the solver could not settle (numerical trouble), naming the cell."""

    def __init__(self, cell: int, reason: str) -> None:
        super().__init__(f"attacker LP for cell {cell} failed: {reason}")
        self.cell = cell


def _unit(problem: SuppressionProblem, cell: int) -> float:
    """The natural size of a cell: its protection level, else its value, else the median."""
    size = max(abs(float(problem.values[cell])), float(problem.upl[cell]), float(problem.lpl[cell]))
    if size > 0 and np.isfinite(size):
        return size
    vals = np.abs(problem.values[np.isfinite(problem.values)])
    vals = vals[vals > 0]
    return float(np.median(vals)) if len(vals) else 1.0


def cell_reach(
    problem: SuppressionProblem,
    suppressed: np.ndarray,
    cell: int,
    direction: int,
    relations_csc: sp.csc_matrix | None = None,
) -> tuple[float, np.ndarray | None]:
    """One attacker LP: how far can ``cell`` move up (+1) or down (-1)?

    Args:
        problem: the suppression problem.
        suppressed: boolean mask of suppressed cells (``cell`` among them).
        cell: flat index of the cell.
        direction: +1 for the upper reach, -1 for the lower reach.
        relations_csc: ``problem.relations`` in CSC form (cached by callers).

    Returns:
        See :meth:`Attacker.reach`.
    """
    csc = relations_csc if relations_csc is not None else problem.relations.tocsc()
    return Attacker(problem, np.flatnonzero(suppressed), csc).reach(cell, direction)


def _row_cuts(problem: SuppressionProblem) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Single-relation capacity cuts for every primary cell and direction."""
    cuts: list[tuple[np.ndarray, np.ndarray, float]] = []
    rel = problem.relations
    csc = rel.tocsc()
    cap_down = problem.values - problem.lower
    cap_up = problem.upper - problem.values
    for p in np.flatnonzero(problem.primary):
        for direction, level in ((1, problem.upl[p]), (-1, problem.lpl[p])):
            if level <= 0:
                continue
            rows = csc.indices[csc.indptr[p] : csc.indptr[p + 1]]
            for r in rows:
                start, end = rel.indptr[r], rel.indptr[r + 1]
                cols = rel.indices[start:end]
                signs = rel.data[start:end]
                sp_ = signs[cols == p][0] * direction
                others = cols != p
                # Moving p by +level (scaled by its sign) needs same-sign cells to go down
                # or opposite-sign cells to go up.
                same = signs[others] * sp_ > 0
                cap = np.where(same, cap_down[cols[others]], cap_up[cols[others]])
                cap = np.minimum(cap, level)
                cuts.append((cols[others], cap, float(level)))
    return cuts


def _component_of(
    relations_csc: sp.csc_matrix, suppressed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Connected components of suppressed cells linked by a shared relation."""
    sup_idx = np.flatnonzero(suppressed)
    sub = relations_csc[:, sup_idx]
    adj = (sub.T @ sub) != 0
    _, labels = connected_components(adj, directed=False)
    return sup_idx, labels


def _attackers(
    problem: SuppressionProblem, suppressed: np.ndarray, csc: sp.csc_matrix, cells: np.ndarray
) -> dict[int, Attacker]:
    """One attacker model per component holding any of ``cells``."""
    sup_idx, labels = _component_of(csc, suppressed)
    comps = labels[np.searchsorted(sup_idx, cells)]
    by_comp: dict[int, Attacker] = {}
    out: dict[int, Attacker] = {}
    for cell, comp in zip(cells, comps, strict=True):
        if comp not in by_comp:
            by_comp[comp] = Attacker(problem, sup_idx[labels == comp], csc)
        out[int(cell)] = by_comp[comp]
    return out


def audit_pattern(
    problem: SuppressionProblem, suppressed: np.ndarray, cells: np.ndarray | None = None
) -> dict[int, Reach]:
    """Feasible interval of every suppressed cell (or of ``cells``) under a pattern.

    Returns:
        ``{cell: Reach(lower, upper)}`` with the interval ``[value - lower, value + upper]``.
    """
    csc = problem.relations.tocsc()
    targets = np.flatnonzero(suppressed) if cells is None else np.asarray(cells, dtype=np.int64)
    out: dict[int, Reach] = {}
    if len(targets) == 0:
        return out
    attackers = _attackers(problem, suppressed, csc, targets)
    for cell in targets:
        att = attackers[int(cell)]
        up, _ = att.reach(int(cell), 1)
        down, _ = att.reach(int(cell), -1)
        out[int(cell)] = Reach(lower=down, upper=up)
    return out


def secondary_suppression(
    problem: SuppressionProblem,
    *,
    time_limit: float = 120.0,
    max_rounds: int = 500,
) -> np.ndarray:
    """Choose the cells to suppress so that every primary cell is protected.

    Args:
        problem: the suppression problem.
        time_limit: seconds for the whole search; each master MILP gets what is left.
        max_rounds: most master/audit rounds.

    Returns:
        Boolean mask of suppressed cells (primary and secondary).

    Raises:
        PolicyNotMet: if no pattern protects the primary cells (a protection level beyond a
            cell's a priori range), or the search ran out of time or rounds.
    """
    n = problem.n_cells
    primary = problem.primary.astype(bool)
    if not primary.any():
        return np.zeros(n, dtype=bool)
    _check_levels(problem)
    csc = problem.relations.tocsc()
    cut_rows: list[np.ndarray] = []
    cut_cols: list[np.ndarray] = []
    cut_vals: list[np.ndarray] = []
    cut_rhs: list[float] = []
    seen: set[bytes] = set()

    def add_cut(cols: np.ndarray, vals: np.ndarray, rhs: float) -> bool:
        keep = vals > _RED_TOL * rhs  # relative to the cell's own level
        cols, vals = cols[keep], vals[keep] / rhs
        key = np.round(vals, 9).tobytes() + cols.tobytes()
        if key in seen:
            return False
        seen.add(key)
        cut_rows.append(np.full(len(cols), len(cut_rhs), dtype=np.int64))
        cut_cols.append(cols)
        cut_vals.append(vals)
        cut_rhs.append(1.0)
        return True

    for cols, vals, rhs in _row_cuts(problem):
        add_cut(cols, vals, rhs)

    lb = primary.astype(float)
    ub = np.ones(n) if problem.keep is None else np.where(problem.keep, 0.0, 1.0)
    start = time.monotonic()
    suppressed = primary.copy()
    for _ in range(max_rounds):
        if cut_rhs:
            a = sp.csr_matrix(
                (np.concatenate(cut_vals), (np.concatenate(cut_rows), np.concatenate(cut_cols))),
                shape=(len(cut_rhs), n),
            )
            left = time_limit - (time.monotonic() - start)
            if left <= 0:
                break
            res = milp(
                problem.cost,
                integrality=np.ones(n),
                bounds=Bounds(lb, ub),
                constraints=LinearConstraint(a, lb=np.asarray(cut_rhs) - 1e-9, ub=np.inf),
                options={"time_limit": left, "mip_rel_gap": 1e-3},
            )
            if res.x is None:
                if res.status == 2:
                    kept = (
                        ""
                        if problem.keep is None or not problem.keep.any()
                        else (" and the cells the policy keeps published")
                    )
                    raise PolicyNotMet(
                        "no suppression pattern protects the sensitive cells of this table "
                        f"(a protection level exceeds what the table's margins{kept} allow); "
                        "publish fewer margins or coarser categories"
                    )
                break
            suppressed = res.x > 0.5
        violated = 0
        prim_idx = np.flatnonzero(primary)
        attackers = _attackers(problem, suppressed, csc, prim_idx)
        for p in prim_idx:
            for direction, level in ((1, problem.upl[p]), (-1, problem.lpl[p])):
                if level <= 0:
                    continue
                reach, coef = attackers[int(p)].reach(
                    int(p), direction, scale=float(level), enough=float(level)
                )
                if coef is None or reach >= level * (1 - 1e-7):
                    continue
                violated += 1
                coef = np.minimum(coef, level)
                idx = np.flatnonzero(coef)
                add_cut(idx, coef[idx], float(level))
        if violated == 0:
            return suppressed
    raise PolicyNotMet(
        f"secondary suppression did not finish within {time_limit:.0f} s; "
        "use coarser categories, fewer margins or rounding"
    )


def _check_levels(problem: SuppressionProblem) -> None:
    """Refuse protection levels beyond a cell's a priori range (no pattern can meet them)."""
    p = problem.primary
    slack = _TOL * np.maximum(np.abs(problem.values[p]), 1e-300)
    too_low = problem.lpl[p] > (problem.values - problem.lower)[p] + slack
    too_high = problem.upl[p] > (problem.upper - problem.values)[p] + slack
    if too_low.any() or too_high.any():
        raise PolicyNotMet(
            "a sensitive cell's protection level exceeds its possible range; "
            "lower the protection parameters"
        )
