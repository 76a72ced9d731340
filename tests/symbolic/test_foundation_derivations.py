"""The three foundation derivations verify, and each rejects plausible textbook slips
(docs/verification.md rule 4: a check that would pass the wrong formula is a defect)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, stats

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import forward, kl, posterior
from ddpm_theory.symbolic.engine import Status
from ddpm_theory.symbolic.notation import (
    alpha,
    alpha_bar,
    alpha_bar_prev,
    beta,
    eps,
    m1,
    m2,
    v1,
    v2,
    xt,
)


@pytest.mark.parametrize("name", ["forward-marginal", "bayes-posterior", "gaussian-kl"])
def test_registered_derivation_verifies(name):
    res = registry.get(name).verify()
    assert res.status is Status.VERIFIED, res.report()
    assert all(s.status is Status.VERIFIED for s in res.steps)
    assert len(res.steps) >= 5


def _failed_parts(d) -> set[str]:
    res = d.verify()
    assert res.status is Status.FAILED, "a planted slip was not rejected"
    return {s.part for s in res.failures()}


# -- forward marginal ---------------------------------------------------------------------
def test_forward_rejects_missing_square_root():
    ab = forward.alpha_bar_product(forward.t)
    parts = _failed_parts(forward.build(target_mean=ab))
    assert parts == {"Induction, step t − 1 → t"}


def test_forward_rejects_previous_alpha_bar_in_variance():
    ab_prev = forward.alpha_bar_product(forward.t - 1)
    parts = _failed_parts(forward.build(target_var=1 - ab_prev))
    assert "Induction, step t − 1 → t" in parts


# -- posterior -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "slip",
    [
        {"mu_tilde": posterior.MU_TILDE.xreplace({alpha_bar_prev: alpha_bar})},  # ᾱ_t for ᾱ_{t−1}
        {"mu_tilde": posterior.MU_TILDE.xreplace({sp.sqrt(alpha): alpha})},      # missing sqrt
        {"beta_tilde": beta},                                                    # β_t for β̃_t
        {"beta_tilde": (1 - alpha_bar) / (1 - alpha_bar_prev) * beta},           # inverted ratio
        {"mu_tilde_eps": (xt - beta / (1 - alpha_bar) * eps) / sp.sqrt(alpha)},  # missing sqrt
        {"mu_tilde_eps": (xt - beta / sp.sqrt(1 - alpha_bar) * eps) * sp.sqrt(alpha)},
    ],
    ids=["alphabar_t-for-alphabar_tm1", "no-sqrt-alpha", "beta-for-betatilde",
         "inverted-ratio", "eps-no-sqrt", "eps-times-sqrt-alpha"],
)
def test_posterior_rejects_slips(slip):
    assert _failed_parts(posterior.build(**slip))


def test_posterior_t1_is_degenerate():
    d = registry.get("bayes-posterior")
    part = next(p for p in d.parts if "t = 1" in p.title)
    assert part.steps[-1].expr == sp.Tuple(sp.Symbol("x_0", real=True), 0)


def test_posterior_coefficients_are_read_off_not_typed():
    # The completing-the-square part starts from the two log-densities and its first
    # step is computed from their expansion: changing a premise changes the result.
    d = registry.get("bayes-posterior")
    part = next(p for p in d.parts if p.title.startswith("Completing"))
    assert not part.start.has(posterior.BETA_TILDE)
    assert part.steps[-2].expr.has(alpha_bar_prev)


# -- Gaussian KL --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target",
    [
        (sp.log(v1 / v2) + (v1 + (m1 - m2) ** 2) / v2 - 1) / 2,   # log ratio upside down
        (sp.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2) / 2,       # missing −1
        (sp.log(v2 / v1) + (v2 + (m1 - m2) ** 2) / v1 - 1) / 2,   # roles of p and q swapped
        sp.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1,         # missing ½
    ],
    ids=["flipped-log", "missing-minus-one", "swapped-roles", "missing-half"],
)
def test_kl_rejects_slips(target):
    assert "Univariate" in _failed_parts(kl.build(univariate_target=target))


_kl = sp.lambdify((m1, v1, m2, v2), registry.get("gaussian-kl").exports["kl_univariate"], "numpy")
means = st.floats(-5, 5)
variances = st.floats(1e-2, 1e2)


@given(means, variances, means, variances)
def test_kl_matches_torch_distributions(a, va, b, vb):
    p = torch.distributions.Normal(torch.tensor(a, dtype=torch.float64), math.sqrt(va))
    q = torch.distributions.Normal(torch.tensor(b, dtype=torch.float64), math.sqrt(vb))
    ref = float(torch.distributions.kl_divergence(p, q))
    # both are the same closed form evaluated in float64: rtol 1e-12 (S1) with an absolute
    # floor for KL ≈ 0, where cancellation in log(vb/va) + va/vb − 1 loses ~1e-15 absolute.
    assert _kl(a, va, b, vb) == pytest.approx(ref, rel=1e-12, abs=1e-13)


@given(means, st.floats(0.1, 10), means, st.floats(0.1, 10))
def test_kl_matches_scipy_quadrature(a, va, b, vb):
    p, q = stats.norm(a, math.sqrt(va)), stats.norm(b, math.sqrt(vb))
    lo, hi = a - 12 * math.sqrt(va), a + 12 * math.sqrt(va)
    ref, err = integrate.quad(lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), lo, hi,
                              epsabs=1e-12, epsrel=1e-10, limit=200)
    # quad's own error estimate bounds the oracle; the ±12σ truncation drops < 1e-30
    assert abs(_kl(a, va, b, vb) - ref) <= 10 * err + 1e-9 * (1 + abs(ref))


def test_full_covariance_kl_matches_torch():
    d = registry.get("gaussian-kl")
    part = next(p for p in d.parts if p.title.startswith("Full covariance"))
    target = part.steps[-1].expr
    syms = sorted(target.free_symbols, key=str)
    rng = np.random.default_rng(0)
    f = sp.lambdify(syms, target, "mpmath")
    for _ in range(10):
        vals = {str(s): (rng.uniform(0.3, 2) if s.is_positive else rng.normal()) for s in syms}
        L1 = torch.tensor([[vals["a1"], 0], [vals["c1_chol"], vals["b1"]]], dtype=torch.float64)
        L2 = torch.tensor([[vals["a2"], 0], [vals["c2_chol"], vals["b2"]]], dtype=torch.float64)
        mu1 = torch.tensor([vals["p1"], vals["q1"]], dtype=torch.float64)
        mu2 = torch.tensor([vals["p2"], vals["q2"]], dtype=torch.float64)
        P = torch.distributions.MultivariateNormal(mu1, scale_tril=L1)
        Q = torch.distributions.MultivariateNormal(mu2, scale_tril=L2)
        ref = float(torch.distributions.kl_divergence(P, Q))
        got = float(f(*[vals[str(s)] for s in syms]))
        assert got == pytest.approx(ref, rel=1e-10)
