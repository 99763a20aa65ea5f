from __future__ import annotations

import math

import numpy as np
import pytest

from sdc.synth import _dp


@pytest.mark.parametrize(("epsilon", "delta"), [(1.0, 1e-9), (0.1, 1e-6), (5.0, 1e-5)])
def test_rho_converts_back_to_at_most_epsilon(epsilon: float, delta: float) -> None:
    rho = _dp.rho_from_epsilon_delta(epsilon, delta)
    back = _dp.epsilon_from_rho(rho, delta)
    assert back <= epsilon
    assert back == pytest.approx(epsilon, rel=1e-9)


def test_rho_is_tighter_than_the_closed_form() -> None:
    # Bun & Steinke (2016): epsilon = rho + 2 sqrt(rho log(1/delta)); OpenDP's conversion
    # is tighter, so it allows a larger rho for the same (epsilon, delta).
    log_inv = math.log(1e9)
    closed = (math.sqrt(log_inv + 1.0) - math.sqrt(log_inv)) ** 2
    rho = _dp.rho_from_epsilon_delta(1.0, 1e-9)
    assert closed == pytest.approx(0.011781, abs=1e-6)
    assert closed < rho < 2 * closed


def test_rho_grows_with_epsilon() -> None:
    rhos = [_dp.rho_from_epsilon_delta(e, 1e-9) for e in (0.1, 0.5, 1.0, 2.0)]
    assert rhos == sorted(rhos)


def test_epsilon_of_zero_rho_is_zero() -> None:
    assert _dp.epsilon_from_rho(0.0, 1e-9) == 0.0


def test_gaussian_counts_spends_at_most_rho_and_has_the_right_scale() -> None:
    counts = np.zeros((100, 100))
    noisy, sigma, spent = _dp.gaussian_counts(counts, 0.5)
    assert noisy.shape == (100, 100)
    assert spent <= 0.5
    assert spent == pytest.approx(0.5, rel=1e-9)
    assert sigma == pytest.approx(1.0, rel=1e-9)
    # 10,000 draws of N(0, 1): the sample sd is within 5% with overwhelming probability
    assert 0.95 < noisy.std() < 1.05
    assert abs(noisy.mean()) < 0.05


def test_gaussian_noise_is_not_seeded() -> None:
    a, _, _ = _dp.gaussian_counts(np.zeros(50), 0.5)
    b, _, _ = _dp.gaussian_counts(np.zeros(50), 0.5)
    assert not np.array_equal(a, b)


def test_gaussian_scale_is_widened_when_float_rounding_overspends() -> None:
    # rho = 0.04 with sigma = 1 / sqrt(0.08) maps to 0.04000000000000001 in OpenDP at d_in 1
    # for some float paths; whatever happens, the spent figure never exceeds the share.
    for rho in (0.04, 0.1 / 3, 0.014973057673588516 / 27):
        _, sigma, spent = _dp.gaussian_counts(np.zeros(3), rho)
        assert spent <= rho
        assert sigma >= 1.0 / math.sqrt(2 * rho) * (1 - 1e-12)


def test_noisy_max_spends_at_most_rho() -> None:
    index, scale, spent = _dp.noisy_max(np.array([0.0, 1e6, 0.0]), 0.01)
    assert index == 1
    assert spent <= 0.01
    assert spent == pytest.approx(0.01, rel=1e-9)
    # bounded-range zCDP: rho = (2 / scale)**2 / 8
    assert (2 / scale) ** 2 / 8 == pytest.approx(0.01, rel=1e-9)


def test_noisy_max_is_random_for_equal_scores() -> None:
    picks = {_dp.noisy_max(np.zeros(4), 1.0)[0] for _ in range(60)}
    assert len(picks) > 1
