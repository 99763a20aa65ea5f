"""The graphical-model estimator (``sdc.synth._pgm``) on small exact cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sdc.synth._pgm import (
    Estimator,
    Observation,
    estimate_total,
    junction_tree,
    model_size,
    triangulate,
)

SIZES = (3, 4, 2, 5)
N = 1000.0


def _joint(edges: list[tuple[int, int]], seed: int) -> np.ndarray:
    """A random distribution that factorises over ``edges`` (pairwise log-potentials)."""
    rng = np.random.default_rng(seed)
    log = np.zeros(SIZES)
    for a, b in edges:
        shape = [1] * len(SIZES)
        shape[a], shape[b] = SIZES[a], SIZES[b]
        log = log + rng.normal(size=(SIZES[a], SIZES[b])).reshape(shape)
    p = np.exp(log)
    return p / p.sum()


def _marginal(p: np.ndarray, clique: tuple[int, ...]) -> np.ndarray:
    return p.sum(axis=tuple(i for i in range(p.ndim) if i not in clique))


@pytest.mark.parametrize(
    "edges",
    [[(0, 1), (1, 2), (1, 3)], [(0, 1), (1, 2), (2, 3), (0, 3)]],
    ids=["tree", "cycle"],
)
def test_noise_free_marginals_are_recovered_exactly(edges: list[tuple[int, int]]) -> None:
    # The true distribution is in the model's family (it factorises over the measured
    # cliques), so fitting exact marginals recovers every marginal and the whole joint.
    p = _joint(edges, seed=len(edges))
    observations = [Observation(e, N * _marginal(p, e), 1.0) for e in edges]
    model = Estimator(SIZES, N).fit(observations, 3000)
    for r in [*edges, (0, 2), (1, 3), (0, 2, 3), (2,)]:
        np.testing.assert_allclose(model.marginal(r), _marginal(p, r), atol=1e-8)
    np.testing.assert_allclose(model.marginal((0, 1, 2, 3)), p, atol=1e-8)


def test_a_model_fits_inconsistent_noisy_marginals_by_least_squares() -> None:
    # One column measured twice with different noise: the fit is the inverse-variance mean.
    y1, y2 = np.array([60.0, 40.0]), np.array([20.0, 80.0])
    observations = [Observation((0,), y1, 1.0), Observation((0,), y2, 2.0)]
    model = Estimator((2,), 100.0).fit(observations, 500)
    expected = (y1 / 1 + y2 / 4) / (1 / 1 + 1 / 4)
    np.testing.assert_allclose(100.0 * model.marginal((0,)), expected, rtol=1e-6)


def test_samples_follow_the_model() -> None:
    p = _joint([(0, 1), (1, 2), (2, 3), (0, 3)], seed=7)
    cliques = [(0, 1), (1, 2), (2, 3), (0, 3)]
    model = Estimator(SIZES, N).fit(
        [Observation(c, N * _marginal(p, c), 1.0) for c in cliques], 3000
    )
    codes = model.sample(200_000, np.random.default_rng(1))
    counts = np.zeros(SIZES)
    np.add.at(counts, tuple(codes.T), 1)
    assert 0.5 * np.abs(counts / len(codes) - p).sum() < 0.02
    # Stratified draws: each (separator value, new value) count is within rounding of the model.
    for c in model.tree.cliques:
        emp = _marginal(counts, c)
        assert np.abs(emp - 200_000 * model.marginal(c)).max() < 200


def test_junction_tree_of_a_cycle_is_triangulated() -> None:
    cliques = triangulate([(0, 1), (1, 2), (2, 3), (0, 3)], SIZES)
    assert len(cliques) == 2 and all(len(c) == 3 for c in cliques)
    tree = junction_tree([(0, 1), (1, 2), (2, 3), (0, 3)], SIZES)
    assert sorted(tree.order) == [0, 1]
    child = tree.order[1]
    assert len(tree.separator(child)) == 2
    assert model_size([(0, 1), (2, 3)], SIZES) == 3 * 4 + 2 * 5


def test_running_intersection_holds() -> None:
    rng = np.random.default_rng(3)
    sizes = (2,) * 8
    for _ in range(20):
        pairs = [p for p in itertools.combinations(range(8), 2) if rng.random() < 0.3]
        tree = junction_tree(pairs, sizes)
        for a in range(8):
            holding = {k for k, c in enumerate(tree.cliques) if a in c}
            # the cliques holding a column form a connected subtree: one of them has its
            # parent outside the set (or is a root)
            tops = [k for k in holding if tree.parent[k] not in holding]
            assert len(tops) == 1
        for a, b in pairs:
            assert any(a in c and b in c for c in tree.cliques)


def test_estimated_total_weights_by_inverse_variance() -> None:
    obs = [
        Observation((0,), np.array([50.0, 50.0]), 1.0),
        Observation((0, 1), np.full((2, 2), 30.0), 1.0),
    ]
    # totals 100 (variance 2) and 120 (variance 4)
    assert estimate_total(obs) == pytest.approx((100 / 2 + 120 / 4) / (1 / 2 + 1 / 4))
