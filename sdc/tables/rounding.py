"""Rounding to a base instead of suppression.

* ``random``: unbiased random rounding. A value ``v = q*b + r`` (``0 <= r < b``) becomes
  ``(q+1)*b`` with probability ``r/b`` and ``q*b`` otherwise, so its expectation is ``v``.
  Every cell, margins included, is rounded independently: totals are unbiased but need not
  add up. Multiples of the base (zeros included) stay as they are. Seeded (it is not a DP
  mechanism).
* ``controlled``: every cell is rounded to an adjacent multiple of the base (multiples stay)
  and the rounded table stays additive, with the least total absolute change; solved as a
  0/1 programme with HiGHS. Two-dimensional tables always have a solution (Cox 1987);
  three or more dimensions may not, and then :class:`~sdc.errors.PolicyNotMet` says so.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from sdc.errors import PolicyNotMet


def random_rounding(values: np.ndarray, base: int, rng: np.random.Generator) -> np.ndarray:
    """Unbiased random rounding of every value to a multiple of ``base``."""
    v = np.asarray(values, dtype=float)
    q = np.floor(v / base + 1e-12)
    r = v - q * base
    up = rng.random(v.shape) < r / base
    return (q + up) * base


def controlled_rounding(
    values: np.ndarray, base: int, relations: sp.csr_matrix, *, time_limit: float = 60.0
) -> np.ndarray:
    """Additive rounding to adjacent multiples of ``base`` (see the module docstring).

    Args:
        values: all cells (flat, margins included) of an additive table.
        base: the rounding base.
        relations: the table's relations (``relations @ values == 0``).
        time_limit: seconds for the solver.

    Raises:
        PolicyNotMet: if no additive rounding exists (or none was found in time).
    """
    v = np.asarray(values, dtype=float)
    q = np.floor(v / base + 1e-9)
    r = v - q * base
    exact = r <= 1e-9 * max(1.0, base)
    n = len(v)
    # Rounded = (q + u) * base with u in {0, 1}; u = 0 where v is a multiple already.
    # Additivity: R (q + u) = 0  <=>  R u = -R q.
    rhs = -(relations @ q)
    cost = np.where(exact, 0.0, (base - r) - r)
    ub = np.where(exact, 0.0, 1.0)
    if relations.shape[0] == 0:
        return (q + (cost < 0)) * base
    res = milp(
        cost,
        integrality=np.ones(n),
        bounds=Bounds(np.zeros(n), ub),
        constraints=LinearConstraint(relations, lb=rhs - 1e-9, ub=rhs + 1e-9),
        options={"time_limit": time_limit},
    )
    if res.x is None:
        raise PolicyNotMet(
            "controlled rounding has no additive solution for this table (possible with 3 or "
            "more dimensions); use rounding_method: random"
        )
    return (q + np.rint(res.x)) * base
