from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

# A known tree model over four categorical columns: A -> B, B -> C, B -> D.
TREE_EDGES = {frozenset({"A", "B"}), frozenset({"B", "C"}), frozenset({"B", "D"})}
DOMAINS: dict[str, list[str]] = {
    "A": ["a0", "a1", "a2"],
    "B": ["b0", "b1", "b2", "b3"],
    "C": ["c0", "c1"],
    "D": ["d0", "d1", "d2"],
}
P_A = np.array([0.5, 0.3, 0.2])
P_B_A = np.array([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.05, 0.05, 0.2, 0.7]])
P_C_B = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.05, 0.95]])
P_D_B = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.4, 0.3, 0.3]])


def true_joint() -> np.ndarray:
    """P(A, B, C, D) of the known model, shape (3, 4, 2, 3)."""
    return (
        P_A[:, None, None, None]
        * P_B_A[:, :, None, None]
        * P_C_B[None, :, :, None]
        * P_D_B[None, :, None, :]
    )


def draw_tree_data(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    joint = true_joint().ravel()
    idx = rng.choice(joint.size, size=n, p=joint)
    a, b, c, d = np.unravel_index(idx, true_joint().shape)
    return pd.DataFrame(
        {
            "A": np.array(DOMAINS["A"])[a],
            "B": np.array(DOMAINS["B"])[b],
            "C": np.array(DOMAINS["C"])[c],
            "D": np.array(DOMAINS["D"])[d],
        }
    )


def tvd_to_truth(df: pd.DataFrame) -> dict[tuple[str, str], float]:
    """2-way TVD between the frame's marginals and the known model's marginals."""
    cols = list(DOMAINS)
    joint = true_joint()
    out = {}
    for i, j in itertools.combinations(range(4), 2):
        axes = tuple(k for k in range(4) if k not in (i, j))
        truth = joint.sum(axis=axes)
        a = pd.Categorical(df[cols[i]], categories=DOMAINS[cols[i]]).codes
        b = pd.Categorical(df[cols[j]], categories=DOMAINS[cols[j]]).codes
        emp = np.zeros_like(truth)
        np.add.at(emp, (a, b), 1.0)
        emp /= len(df)
        out[(cols[i], cols[j])] = float(0.5 * np.abs(emp - truth).sum())
    return out


@pytest.fixture(scope="module")
def tree_df() -> pd.DataFrame:
    return draw_tree_data(20_000, seed=7)
