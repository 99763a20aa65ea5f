"""PRAM: post-randomisation of a categorical column with an invariant transition matrix.

Each record's category ``i`` is replaced by category ``j`` with probability ``R[i, j]``.
The matrix is built as in Gouweleeuw, Kooiman, Willenborg and de Wolf (1998) and sdcMicro's
``pram`` (parameters ``pd`` and ``alpha``):

1. ``P`` keeps a category with probability ``p`` and moves it to each of the other ``L - 1``
   categories with probability ``(1 - p) / (L - 1)``. Our ``p`` is not sdcMicro's ``pd``:
   sdcMicro draws each diagonal entry uniformly from ``[pd, 1]``, so its ``pd = 0.8`` keeps
   a value with probability 0.9 on average and behaves like our ``p = 0.9``; here the
   diagonal is exactly ``p``, the retention of the base matrix.
2. With the observed category shares ``pi``, the backward matrix is
   ``Q[k, j] = P[j, k] pi[j] / sum_l pi[l] P[l, k]`` and ``R = P Q``. ``R`` is invariant:
   ``pi R = pi``, so the *expected* category counts after PRAM equal the observed ones.
3. ``R_alpha = alpha R + (1 - alpha) I`` (still invariant); ``alpha`` in ``(0, 1]`` is the
   amount of perturbation (sdcMicro's default 0.5).

With strata, the shares and the matrix are computed within each stratum, so the expected
counts are kept per stratum too (as sdcMicro does: one matrix per stratum). Missing values
stay missing and are not counted in the shares.

A user-given transition matrix (``matrix={from: {to: probability}}``, every row summing to
1) is applied as it is instead: it need not be invariant, so the expected counts change as
the matrix says; every category of the data must be one of its rows.

The random draws come from ``numpy.random.default_rng(seed)``. The seed is recorded in the
treatment's ``private`` part: with the seed the draws can be replayed and PRAM partly
undone, so it must stay with the data steward.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sdc.anonymize._treatment import Treatment
from sdc.errors import DataError, PolicyError
from sdc.policy import matrix_problem
from sdc.risk.frequencies import combine_codes, encode_keys

__all__ = ["invariant_matrix", "pram"]


def invariant_matrix(shares: np.ndarray, p: float, alpha: float = 0.5) -> np.ndarray:
    """The invariant PRAM transition matrix for categories with the given shares.

    Args:
        shares: observed share (or count) of each category, all > 0.
        p: retention probability of the base matrix ``P`` (diagonal), in (0, 1).
        alpha: amount of perturbation, in (0, 1].

    Returns:
        ``R_alpha`` (L x L, rows sum to 1) with ``pi @ R_alpha == pi`` for ``pi`` the shares.

    Raises:
        PolicyError: ``p`` or ``alpha`` out of range.
    """
    _check_params(p, alpha)
    pi = np.asarray(shares, dtype=np.float64)
    if pi.ndim != 1 or pi.size == 0 or (pi <= 0).any():
        raise ValueError("shares must be a non-empty vector of positive numbers")
    pi = pi / pi.sum()
    n_cat = pi.size
    if n_cat == 1:
        return np.ones((1, 1))
    P = np.full((n_cat, n_cat), (1.0 - p) / (n_cat - 1))
    np.fill_diagonal(P, p)
    lam = pi @ P  # lam[k] = sum_l pi[l] P[l, k] > 0
    Q = (P * pi[:, None]).T / lam[:, None]  # Q[k, j] = P[j, k] pi[j] / lam[k]
    R = P @ Q
    out = alpha * R + (1.0 - alpha) * np.eye(n_cat)
    return out / out.sum(axis=1, keepdims=True)


def pram(
    df: pd.DataFrame,
    column: str,
    p: float | None = None,
    *,
    alpha: float = 0.5,
    seed: int | None = None,
    strata: Sequence[str] = (),
    matrix: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[pd.DataFrame, Treatment]:
    """Post-randomise one categorical column (invariant PRAM).

    Args:
        df: the microdata; not modified.
        column: the categorical column.
        p: retention probability of the base matrix (policy ``pram.p``), in (0, 1).
        alpha: amount of perturbation (policy ``pram.alpha``), in (0, 1].
        seed: seed of the random draws; ``None`` draws a fresh one (recorded privately).
        strata: columns within whose groups the matrix is built and applied.
        matrix: a transition matrix to apply instead of the invariant one (``p`` and
            ``alpha`` then unused): ``{from: {to: probability}}``, rows summing to 1.

    Returns:
        The treated copy (same dtype, same categories) and a record with the transition
        matrix (``details["matrix"]``, rows and columns in ``details["categories"]`` order;
        one per stratum in ``details["strata"]`` when strata are given), the expected share
        of values kept, and the seed in ``private``.

    Raises:
        PolicyError: ``p`` or ``alpha`` out of range, or a bad seed.
        DataError: a column is not in the data.
    """
    if matrix is not None:
        check_matrix(matrix)
    else:
        _check_params(p, alpha)
    absent = [c for c in [column, *strata] if c not in df.columns]
    if absent:
        raise DataError(
            f"column(s) {', '.join(map(repr, absent))} are not in the data; "
            f"it has {', '.join(map(str, df.columns))}"
        )
    if seed is None:
        seed = secrets.randbits(63)
    elif isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise PolicyError(f"the PRAM seed must be a whole number >= 0, got {seed!r}")
    rng = np.random.default_rng(int(seed))

    series = df[column]
    if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
        series = series.replace("", None)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    n_cat = len(uniques)
    labels = [str(u) for u in uniques]
    if strata:
        stratum = combine_codes(encode_keys(df, list(strata), "category"))
        strata_labels = _stratum_labels(df, list(strata), stratum)
    else:
        stratum = np.zeros(len(df), dtype=np.int64)
        strata_labels = [""]
    new = codes.copy()
    u = rng.random(len(df))
    matrices = []
    kept_expected = 0.0
    present_total = int((codes >= 0).sum())
    for s in range(int(stratum.max()) + 1 if len(df) else 0):
        in_s = (stratum == s) & (codes >= 0)
        counts = np.bincount(codes[in_s], minlength=n_cat)
        cats = np.flatnonzero(counts)
        if cats.size == 0:
            continue
        if matrix is not None:
            cats, R = _given(matrix, labels, cats, column)
        else:
            assert p is not None
            R = invariant_matrix(counts[cats], p, alpha)
        local = np.full(n_cat, -1, dtype=np.int64)
        local[cats] = np.arange(cats.size)
        cum = np.cumsum(R, axis=1)
        cum[:, -1] = 1.0
        rows = np.flatnonzero(in_s)
        li = local[codes[rows]]
        for i in range(cats.size):
            sel = rows[li == i]
            draw = np.searchsorted(cum[i], u[sel], side="right")
            new[sel] = cats[np.minimum(draw, cats.size - 1)]
        kept_expected += float(counts[cats] @ np.diag(R))
        matrices.append(
            {
                "stratum": strata_labels[s],
                "categories": [labels[c] for c in cats],
                "matrix": np.round(R, 12),
            }
        )
    changed = int((new != codes).sum())
    out = df.copy()
    if changed:
        result = df[column].copy()
        moved = np.flatnonzero(new != codes)
        result.iloc[moved] = np.asarray(uniques.take(new[moved]))
        out[column] = result
    details: dict[str, object] = {
        "expected_retention": kept_expected / present_total if present_total else 1.0,
        "observed_retention": 1 - changed / present_total if present_total else 1.0,
    }
    if strata:
        details["strata"] = matrices
    elif matrices:
        details["categories"] = matrices[0]["categories"]
        details["matrix"] = matrices[0]["matrix"]
    record = Treatment(
        name="pram",
        columns=(column,),
        parameters=(
            {"matrix": {k: dict(v) for k, v in matrix.items()}, "strata": list(strata)}
            | {"invariant": False}
            if matrix is not None
            else {"p": p, "alpha": alpha, "strata": list(strata), "invariant": True}
        ),
        changed={column: changed},
        details=details,
        private={"seed": int(seed)},
    )
    return out, record


def check_matrix(matrix: Mapping[str, Mapping[str, float]]) -> None:
    """A transition matrix: square over one set of categories, probabilities, rows sum to 1.

    Raises:
        PolicyError: naming the first row at fault.
    """
    problem = matrix_problem(matrix)
    if problem:
        raise PolicyError(problem)


def _given(
    matrix: Mapping[str, Mapping[str, float]],
    labels: list[str],
    present: np.ndarray,
    column: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The user's matrix over the data's categories (codes) and the rows of those present."""
    order = list(matrix)
    missing = [labels[c] for c in present if labels[c] not in matrix]
    if missing:
        raise DataError(
            f"column {column!r} holds {missing[:3]}, which pram.matrix has no row for; "
            f"its rows: {order}"
        )
    index = {label: i for i, label in enumerate(labels)}
    absent = [name for name in order if name not in index]
    if absent:
        raise DataError(
            f"pram.matrix moves values to {absent[:3]}, which column {column!r} does not hold; "
            "PRAM can only swap a value for another category of the data"
        )
    cats = np.array([index[name] for name in order], dtype=np.int64)
    full = np.array([[float(matrix[a].get(b, 0.0)) for b in order] for a in order])
    return cats, full


def _check_params(p: float | None, alpha: float) -> None:
    if p is None or isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p < 1:
        raise PolicyError(f"pram.p (the retention probability) must be in (0, 1), got {p!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha <= 1:
        raise PolicyError(f"pram.alpha (amount of perturbation) must be in (0, 1], got {alpha!r}")


def _stratum_labels(df: pd.DataFrame, strata: list[str], stratum: np.ndarray) -> list[str]:
    first = np.full(int(stratum.max()) + 1, len(df), dtype=np.int64)
    np.minimum.at(first, stratum, np.arange(len(df), dtype=np.int64))
    sub = df[strata].iloc[first]
    return ["/".join(str(v) for v in row) for row in sub.itertuples(index=False, name=None)]
