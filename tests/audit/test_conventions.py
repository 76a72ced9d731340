"""The switches that reproduce the released code's conventions (docs/conventions.md):
each changes exactly the term it is documented to change, and nothing else."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from audit_helpers import shrinkage_eps_model

from ddpm_theory.audit import AuditError, elbo_terms
from ddpm_theory.audit.bounds import reverse_variance, variance_mismatch
from ddpm_theory.backend import Schedule
from ddpm_theory.backend.likelihood import (
    RELEASED_PROB_FLOOR,
    bin_centers,
    discretized_gaussian_log_likelihood,
)
from ddpm_theory.backend.process import GaussianDiffusion

S = Schedule.linear(20, beta_start=1e-3, beta_end=0.2)


# -- sigma_1^2 of the fixed-large variance -------------------------------------------------------
def test_released_fixed_large_differs_from_beta_at_t1_only() -> None:
    a, b = reverse_variance(S, "beta"), reverse_variance(S, "beta_released")
    assert np.array_equal(a[1:], b[1:])
    assert a[0] == S.betas[0] and b[0] == S.beta_tilde[1] and a[0] != b[0]
    assert np.array_equal(variance_mismatch(S, "beta", 2), variance_mismatch(S, "beta_released", 2))
    x = torch.zeros(1, 2, dtype=torch.float64)
    for t in range(1, S.T + 1):
        tt = torch.tensor([t])
        la = GaussianDiffusion(S, "eps", "beta").model_log_variance(None, x, tt)
        lb = GaussianDiffusion(S, "eps", "beta_released").model_log_variance(None, x, tt)
        assert torch.equal(la, lb) == (t >= 2), t


def _audit(variance: str, **kw):
    x0 = torch.randn(48, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    return elbo_terms(shrinkage_eps_model(S), x0, S, variance=variance,
                      generator=torch.Generator().manual_seed(5), **kw)


def test_released_fixed_large_changes_exactly_L0() -> None:
    a, b = _audit("beta"), _audit("beta_released")
    # same draws: L_T and every L_(t-1) bit for bit; L_0 and therefore the total differ
    assert a.prior == b.prior
    assert np.array_equal(a.transitions, b.transitions)
    assert np.array_equal(a.transitions_stderr, b.transitions_stderr)
    assert a.decoder_term is not None and b.decoder_term is not None
    assert a.total is not None and b.total is not None
    assert a.decoder_term.nats != b.decoder_term.nats
    # the total moves by the change of L_0 alone (sums of the same numbers, to rounding)
    assert b.total.nats - a.total.nats == pytest.approx(
        b.decoder_term.nats - a.decoder_term.nats, rel=1e-9)
    # the Gaussian decoder's L_0 for sigma_1^2 = s: (D/2) log(2 pi s) + E||x_0 - mu||^2/(2 s);
    # its change between the two variances follows from the first (same mean, same draws)
    s_a, s_b, D = S.betas[0], S.beta_tilde[1], 2
    sq = 2 * s_a * (a.decoder_term.nats - D / 2 * math.log(2 * math.pi * s_a))
    want = D / 2 * math.log(2 * math.pi * s_b) + sq / (2 * s_b)
    assert b.decoder_term.nats == pytest.approx(want, rel=1e-9)


# -- the 1e-12 floor of the tanh decoder ---------------------------------------------------------
def _nll(mode: str, mean: float, sigma: float, levels: int = 17) -> torch.Tensor:
    x = bin_centers(levels)
    return discretized_gaussian_log_likelihood(
        x, mean=torch.full_like(x, mean), log_scale=torch.full_like(x, math.log(sigma)),
        levels=levels, approx_cdf=mode)  # type: ignore[arg-type]


def test_tanh_floor_changes_only_probabilities_below_it() -> None:
    a, b = _nll("tanh", 0.3, 0.05), _nll("tanh_clamped", 0.3, 0.05)
    small = torch.exp(a) < RELEASED_PROB_FLOOR
    assert small.any() and (~small).any()  # the check covers both cases
    assert torch.equal(a[~small], b[~small])
    assert torch.all(b[small] == math.log(RELEASED_PROB_FLOOR))
    assert torch.all(a[small] < b[small])  # -inf or below log 1e-12 without the floor


def _x0_model(shift: float):
    """x0-parameterised model: x_t/sqrt(ab_t), shifted by ``shift`` at t = 1 only."""
    ab = torch.from_numpy(np.array(S.alpha_bar))

    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        out = x_t / ab[t - 1].sqrt().reshape(-1, 1)
        return out + shift * (t == 1).reshape(-1, 1).to(out)
    return model


def test_tanh_floor_changes_exactly_L0() -> None:
    x0 = bin_centers(17)[torch.randint(17, (40, 2), generator=torch.Generator().manual_seed(1))]
    kw = dict(parameterization="x0", variance="beta", decoder="discretized", levels=17)

    def run(shift: float, mode: str):
        return elbo_terms(_x0_model(shift), x0, S, approx_cdf=mode,
                          generator=torch.Generator().manual_seed(2), **kw)

    # a decoder mean far from the data: without the floor a bin probability is 0
    with pytest.raises(AuditError, match="loss is -?inf"):
        run(0.8, "tanh")
    clamped, exact = run(0.8, "tanh_clamped"), run(0.8, "exact")
    assert clamped.prior == exact.prior
    assert np.array_equal(clamped.transitions, exact.transitions)
    assert clamped.decoder_term is not None and math.isfinite(clamped.decoder_term.nats)
    # near the data every probability is above the floor: the floor changes nothing
    a, b = run(0.0, "tanh"), run(0.0, "tanh_clamped")
    assert a.decoder_term == b.decoder_term and np.array_equal(a.transitions, b.transitions)
