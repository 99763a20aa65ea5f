from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sdc.synth._tree import Edge, TreeModel, _draw, _uniforms, fit_tree, project_simplex, rake

from .conftest import P_A, P_B_A, P_C_B, P_D_B, true_joint


def test_project_simplex_hand_computed() -> None:
    # sorted [3, 1, -1]: theta = 1 -> [2, 0, 0]
    assert project_simplex(np.array([3.0, 1.0, -1.0]), 2.0).tolist() == [2.0, 0.0, 0.0]
    # already positive, too small a total: shift up evenly
    assert project_simplex(np.array([1.0, 1.0]), 4.0).tolist() == [2.0, 2.0]
    # shape is kept
    out = project_simplex(np.array([[1.0, -1.0], [3.0, 5.0]]), 6.0)
    assert out.shape == (2, 2)
    assert out.tolist() == [[0.0, 0.0], [2.0, 4.0]]


@settings(max_examples=100, deadline=None)
@given(
    v=arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e4, 1e4)),
    total=st.floats(0.5, 1e4),
)
def test_project_simplex_properties(v: np.ndarray, total: float) -> None:
    x = project_simplex(v, total)
    assert (x >= 0).all()
    assert x.sum() == pytest.approx(total, rel=1e-9, abs=1e-9)
    # optimality (KKT): x = max(v - theta, 0) for one theta
    positive = x > 0
    theta = (v - x)[positive]
    assert np.allclose(theta, theta[0], atol=1e-6 * max(1.0, np.abs(v).max()))
    assert (v[~positive] <= theta[0] + 1e-6 * max(1.0, np.abs(v).max())).all()
    # idempotent
    assert np.allclose(project_simplex(x, total), x)


def test_rake_matches_margins_and_fills_an_empty_row() -> None:
    table = np.array([[4.0, 1.0], [0.0, 0.0], [1.0, 4.0]])
    rows = np.array([5.0, 2.0, 3.0])
    cols = np.array([6.0, 4.0])
    out = rake(table, rows, cols)
    assert np.allclose(out.sum(axis=1), rows, atol=1e-6)
    assert np.allclose(out.sum(axis=0), cols, atol=1e-6)
    assert out[1].sum() == pytest.approx(2.0, abs=1e-6)


def test_rake_handles_a_zero_margin() -> None:
    out = rake(np.ones((2, 2)), np.array([0.0, 2.0]), np.array([1.0, 1.0]))
    assert np.allclose(out, [[0.0, 0.0], [1.0, 1.0]], atol=1e-6)


def _exact_edges(n: float) -> tuple[list[np.ndarray], list[Edge]]:
    joint = true_joint() * n
    ones = [joint.sum(axis=tuple(k for k in range(4) if k != j)) for j in range(4)]
    ab = joint.sum(axis=(2, 3))
    bc = joint.sum(axis=(0, 3))
    db = joint.sum(axis=(0, 2)).T  # (D, B): oriented against the tree on purpose
    return ones, [Edge(0, 1, ab, 1.0), Edge(1, 2, bc, 1.0), Edge(3, 1, db, 1.0)]


def test_fit_tree_recovers_an_exact_model() -> None:
    ones, edges = _exact_edges(1000.0)
    model = fit_tree([3, 4, 2, 3], ones, [np.ones_like(o) for o in ones], edges)
    assert model.total == pytest.approx(1000.0)
    assert model.order == (0, 1, 2, 3)
    assert model.parent == (-1, 0, 1, 1)
    assert np.allclose(model.marginals[0], P_A)
    assert np.allclose(model.conditional[1], P_B_A, atol=1e-6)
    assert np.allclose(model.conditional[2], P_C_B, atol=1e-6)
    assert np.allclose(model.conditional[3], P_D_B, atol=1e-6)


def test_fit_tree_without_edges_is_independent_and_nonnegative() -> None:
    ones = [np.array([10.0, -3.0, 5.0]), np.array([4.0, 8.0])]
    model = fit_tree([3, 2], ones, [np.ones(3), np.ones(2)], [])
    assert model.parent == (-1, -1)
    assert all(c is None for c in model.conditional)
    assert (model.marginals[0] >= 0).all()
    assert model.marginals[0].sum() == pytest.approx(1.0)
    assert model.marginals[0][1] == 0.0


def test_fit_tree_with_a_parent_value_of_zero_mass() -> None:
    # column 0 value 1 gets no mass; its conditional row falls back to the child's marginal
    ones = [np.array([10.0, -50.0]), np.array([6.0, 4.0])]
    edge = Edge(0, 1, np.array([[6.0, 4.0], [-20.0, -30.0]]), 1.0)
    model = fit_tree([2, 2], ones, [np.ones(2), np.ones(2)], [edge])
    cond = model.conditional[1]
    assert cond is not None
    assert np.allclose(cond.sum(axis=1), 1.0)
    assert np.allclose(cond[1], model.marginals[1])


def test_sampling_reproduces_the_model_and_the_seed() -> None:
    ones, edges = _exact_edges(1.0)
    model = fit_tree([3, 4, 2, 3], ones, [np.ones_like(o) for o in ones], edges)
    a = model.sample(200_000, np.random.default_rng(5), stratified=False)
    b = model.sample(200_000, np.random.default_rng(5), stratified=False)
    assert np.array_equal(a, b)
    emp = np.zeros((3, 4, 2, 3))
    np.add.at(emp, tuple(a.T), 1.0)
    emp /= len(a)
    # fixed seed: 200,000 draws over 72 cells, TVD well under 0.01
    assert 0.5 * np.abs(emp - true_joint()).sum() < 0.01


def test_draw_follows_the_rows_and_skips_zero_cells() -> None:
    cond = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]])
    given_ = np.repeat([0, 1], 10_000)
    u = np.random.default_rng(3).random(len(given_))
    out = _draw(cond, given_, u)
    assert (out[:10_000] == 1).all()
    assert set(out[10_000:].tolist()) == {0, 2}
    assert abs((out[10_000:] == 0).mean() - 0.5) < 0.02
    # by hand: the first code whose cumulative probability exceeds u
    assert _draw(cond, np.array([1, 1, 1]), np.array([0.0, 0.4999, 0.5])).tolist() == [0, 0, 2]


def test_uniforms_are_spread_evenly_within_each_group() -> None:
    given_ = np.array([2, 0, 2, 2, 1, 0, 2])
    u = _uniforms(given_, 4, np.random.default_rng(0))
    assert ((u >= 0) & (u < 1)).all()
    for g in range(3):
        in_group = u[given_ == g]
        size = len(in_group)
        # one number in each of [0, 1/g), [1/g, 2/g), ...
        assert sorted(np.floor(in_group * size).astype(int).tolist()) == list(range(size))


def test_uniforms_are_uniform_on_their_own() -> None:
    given_ = np.zeros(3, dtype=np.int64)
    first = [_uniforms(given_, 1, np.random.default_rng(s))[0] for s in range(3000)]
    # each of the three thirds gets about a third of the draws
    thirds = np.bincount(np.floor(np.array(first) * 3).astype(int), minlength=3) / 3000
    assert np.allclose(thirds, 1 / 3, atol=0.04)


def test_stratified_sampling_matches_counts_up_to_rounding() -> None:
    ones, edges = _exact_edges(1.0)
    model = fit_tree([3, 4, 2, 3], ones, [np.ones_like(o) for o in ones], edges)
    rows = 10_000
    codes = model.sample(rows, np.random.default_rng(9))
    root = np.bincount(codes[:, 0], minlength=3)
    assert np.abs(root - rows * P_A).max() <= 1
    pair = np.zeros((3, 4))
    np.add.at(pair, (codes[:, 0], codes[:, 1]), 1.0)
    # each (A, B) count is within one record of its group size times P(B | A)
    assert np.abs(pair - root[:, None] * P_B_A).max() <= 1.0 + 1e-9
    iid = model.sample(rows, np.random.default_rng(9), stratified=False)
    assert not np.array_equal(iid, codes)


def test_tree_model_samples_a_root_without_conditional() -> None:
    model = TreeModel((0,), (-1,), (None,), (np.array([0.0, 1.0]),), 1.0)
    assert model.sample(5, np.random.default_rng(0)).ravel().tolist() == [1] * 5
