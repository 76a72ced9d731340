"""The public strategies' data laws with known scores: the closed-form score is the
gradient of the closed-form log-density (central differences), and a plausible wrong
score (the undiffused covariance S_k in place of C_k = ᾱ S_k + (1 − ᾱ) I) is rejected."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from ddpm_theory import domains
from ddpm_theory.testing.strategies import (
    MixtureLaw,
    ddpm_regime,
    gaussian_mixtures,
    mixture_log_density,
    mixture_score,
)

#: central differences of step H on float64 log-densities: truncation O(H²·|f'''|) and
#: rounding O(eps·|f|/H); both far below this for variances ≥ 1e-2 and |x| ≤ 10
H, TOL = 1e-5, 1e-4


def _fd_gradient(law: MixtureLaw, x: np.ndarray, ab: float) -> np.ndarray:
    g = np.zeros_like(x)
    for i in range(x.shape[1]):
        e = np.zeros(x.shape[1])
        e[i] = H
        g[:, i] = (mixture_log_density(law, x + e, ab) - mixture_log_density(law, x - e, ab)
                   ) / (2 * H)
    return g


points = st.integers(1, 3).flatmap(lambda d: st.tuples(
    gaussian_mixtures(d), st.lists(st.floats(-10, 10), min_size=d, max_size=d),
    st.floats(1e-3, 0.999)))


@given(points)
def test_the_mixture_score_is_the_gradient_of_its_log_density(case):
    law, x, ab = case
    x = np.array([x])
    fd = _fd_gradient(law, x, ab)
    score = mixture_score(law, x, ab)
    assert np.allclose(score, fd, rtol=TOL, atol=TOL), (score, fd)


def test_a_wrong_score_is_rejected():
    law = MixtureLaw(np.array([0.3, 0.7]), np.array([[-2.0], [1.5]]),
                     np.array([[0.5], [2.0]]))
    x, ab = np.array([[0.7]]), 0.4
    fd = _fd_gradient(law, x, ab)
    assert np.allclose(mixture_score(law, x, ab), fd, rtol=TOL, atol=TOL)
    # the same responsibilities with the data covariance: off by far more than TOL
    log_k = np.log(law.weights) - 0.5 * ((x - np.sqrt(ab) * law.means.T) ** 2
                                         / law.variances.T + np.log(law.variances.T))
    r = np.exp(log_k - log_k.max())
    r /= r.sum()
    naive = np.sum(r * -(x - np.sqrt(ab) * law.means.T) / law.variances.T, axis=1)
    assert not np.allclose(naive, fd[:, 0], rtol=TOL, atol=TOL)


@given(gaussian_mixtures(2))
def test_mixtures_are_valid_laws(law):
    assert np.isclose(law.weights.sum(), 1.0) and np.all(law.weights > 0)
    assert np.all(domains.VARIANCE.contains(law.variances))


@given(ddpm_regime())
def test_the_ddpm_regime_is_ho_et_al_s_schedule(case):
    betas, t = case
    assert len(betas) == 1000 and betas[0] == 1e-4 and betas[-1] == 0.02
    assert 1 <= t <= 1000
