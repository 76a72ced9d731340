"""Timestep plans, parameterisations, decoders and bad input of elbo_terms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from audit_helpers import shrinkage_eps_model, std_normal_nll

from ddpm_theory.audit import AuditError, bayes_optimal_model, elbo_terms
from ddpm_theory.backend import MLPDenoiser, Schedule, get_dataset
from ddpm_theory.numeric import z_threshold
from ddpm_theory.numeric.acceptance import assert_agrees
from ddpm_theory.numeric.estimators import sample_mean

Z = z_threshold(1e-6, 1)  # one comparison per test function, budget 1e-6 (docs/verification.md S3)


@pytest.mark.statistical
@pytest.mark.parametrize("timesteps,K", [("stratified", 8), ("importance", 8), ("all", None)])
def test_subset_modes_are_unbiased_for_the_total(timesteps: str, K: int | None, seed: int) -> None:
    s = Schedule.linear(200, scale_to_T=True)
    g = torch.Generator().manual_seed(seed)
    x0 = torch.randn(6000, 1, generator=g, dtype=torch.float64)
    r = elbo_terms(shrinkage_eps_model(s), x0, s, timesteps=timesteps, n_timesteps=K,
                   generator=g)
    d = r.per_example_total - std_normal_nll(x0)  # exact total per example is −log N(x0)
    # power: a bias of 0.9 nats is caught (½ log 2π = 0.92 is a dropped decoder constant);
    # the stratified K = 8 estimate of 200 terms is the noisiest: at n = 6000 its SE is ≈ 0.07
    # and its skewness ≈ 5, so the smallest bias it detects is ≈ 0.6 nats
    assert_agrees(sample_mean(d), 0.0, must_detect=0.9, n_examples=1,
                  what=f"{timesteps} total - exact NLL")  # fmt: skip
    assert r.total is not None and math.isfinite(r.total.stderr)
    if timesteps == "importance":
        assert r.proposal is not None and r.proposal.shape == (s.T - 1,)
        assert r.proposal.min() >= 0.1 / (s.T - 1) * (1 - 1e-12)  # the defensive mixture


@pytest.mark.statistical  # r.ok: the audit's one-sided z-flags (budget 1e-6)
@pytest.mark.parametrize("param", ["eps", "x0", "v", "mean"])
@pytest.mark.parametrize("variance", ["beta", "beta_tilde", "learned", "learned_range"])
def test_lsimple_relation_holds_pointwise(param: str, variance: str, seed: int) -> None:
    learned = variance.startswith("learned")
    with torch.random.fork_rng(devices=[]):  # model init only; global RNG state restored
        torch.manual_seed(0)
        net = MLPDenoiser(2, hidden=16, depth=1, learned_variance=learned).double()
    s = Schedule.cosine(20)
    law = get_dataset("mixture_2d")
    g = torch.Generator().manual_seed(seed)
    r = elbo_terms(net, 64, s, data=law, parameterization=param, variance=variance,
                   generator=g, false_alarm=1e-6)
    # L_{t-1} = λ_t MSE_t + C_t pointwise: relative residual at float64 rounding (1e-9 bound)
    assert r.lsimple_residual <= 1e-9
    assert r.ok, r.violations  # an untrained model is bad, never below its bounds
    if not learned:  # per-t means: λ_t·MSE_t + C_t is the same mean (λ_t constant in t)
        np.testing.assert_allclose(r.lambda_t * r.mse_eps + r.variance_floor, r.transitions,
                                   rtol=1e-10)  # a mean of the pointwise identity


@pytest.mark.statistical  # r.ok: the entropy-floor z-flag
def test_bayes_optimal_model_has_no_gap_on_a_mixture(seed: int) -> None:
    law = get_dataset("mixture_2d")
    s = Schedule.linear(30, scale_to_T=True)
    g = torch.Generator().manual_seed(seed)
    r = elbo_terms(bayes_optimal_model(law, s, "v"), 128, s, data=law, parameterization="v",
                   generator=g, false_alarm=1e-6)
    assert r.ok and not r.departures
    assert np.abs(r.gap).max() <= 1e-9  # the same E[x0|x_t], routed through v: rounding only


def test_explicit_timesteps_and_out_of_range() -> None:
    s = Schedule.linear(20)
    x0 = torch.zeros(4, 1, dtype=torch.float64)
    r = elbo_terms(shrinkage_eps_model(s), x0, s, timesteps=[1, 5, 20])
    assert list(r.transitions_t) == [5, 20] and r.total is None and r.decoder_term is not None
    for bad in ([0, 3], [21]):
        with pytest.raises(ValueError, match="1 <= t <= T"):
            elbo_terms(shrinkage_eps_model(s), x0, s, timesteps=bad)


def test_nan_model_output_is_refused() -> None:
    s = Schedule.linear(20)

    def model(x_t, t):
        out = x_t.clone()
        out[t == 7] = float("nan")
        return out

    with pytest.raises(AuditError, match=r"NaN or Inf .*timesteps \[7\]"):
        elbo_terms(model, torch.zeros(3, 1, dtype=torch.float64), s)


def test_bad_shapes_and_grid() -> None:
    s = Schedule.linear(20)
    law = get_dataset("mixture_2d")
    with pytest.raises(AuditError, match="shape"):
        elbo_terms(shrinkage_eps_model(s), torch.zeros(3, 1), s, data=law)
    with pytest.raises(AuditError, match="grid"):
        elbo_terms(shrinkage_eps_model(s), torch.full((3, 1), 0.01), s, decoder="discretized",
                   levels=17)
    with pytest.raises(ValueError, match="quadrature"):
        elbo_terms(shrinkage_eps_model(s), torch.zeros(2, 8), s, mode="quadrature")


def test_checkpoint_that_does_not_load(tmp_path) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(AuditError, match="cannot audit"):
        elbo_terms(str(bad), torch.zeros(2, 2))


@pytest.mark.statistical  # r.ok: the entropy-floor z-flag
def test_discretized_decoder_exact_and_tanh(seed: int) -> None:
    pts = torch.tensor([[-1.0, 0.0], [0.25, 1.0], [0.5, -0.5]], dtype=torch.float64)
    law = get_dataset("points", points=pts, levels=9)
    s = Schedule.cosine(20)
    g = torch.Generator().manual_seed(seed)
    x0 = law.sample(64, g, dtype=torch.float64)
    model = bayes_optimal_model(law, s, "eps")
    runs = {c: elbo_terms(model, x0, s, data=law, decoder="discretized", levels=9,
                          approx_cdf=c, generator=torch.Generator().manual_seed(seed + 1),
                          false_alarm=1e-6)
            for c in ("exact", "tanh")}
    a, b = runs["exact"].decoder_term.nats, runs["tanh"].decoder_term.nats
    # same noise, different CDF: the tanh approximation errs by < 2e-4 in Φ (Page 1977)
    assert a != b and abs(a - b) < 1e-2 * (1 + abs(a))
    r = runs["exact"]
    assert r.entropy_kind == "shannon" and r.entropy == pytest.approx(math.log(3), rel=1e-12)
    assert r.ok, r.violations
