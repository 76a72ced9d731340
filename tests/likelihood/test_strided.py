"""The K-step bound of a T-step model (Nichol & Dhariwal 2021, Sec. 4): with the
Bayes-optimal model of a Gaussian law, elbo_terms(..., steps=K) must match the
exact expected K-step bound, term by term and in total, within its standard
error; a model queried at the sub-chain index instead of τ_i must be caught."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ddpm_theory.audit import AuditError, bayes_optimal_model, elbo_terms, gaussian_bayes_terms
from ddpm_theory.backend.data import get_dataset
from ddpm_theory.backend.schedule import Schedule
from ddpm_theory.likelihood.strided import RespacedModel
from ddpm_theory.numeric.acceptance import z_threshold

PARENT = Schedule.linear(1000)
B = 400


def _audit(law, model, K: int, variance: str, seed: int = 0):
    return elbo_terms(model, B, PARENT, data=law, steps=K, variance=variance,
                      decoder="gaussian", generator=torch.Generator().manual_seed(seed))


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["standard_gaussian", "gaussian"])
@pytest.mark.parametrize("K", [10, 50, 100])
@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_K_step_bound_matches_its_exact_value(name: str, K: int, variance: str,
                                              seed: int) -> None:
    law = get_dataset(name)
    rec = _audit(law, bayes_optimal_model(law, PARENT), K, variance, seed)
    sub = PARENT.respace(K)
    exact = gaussian_bayes_terms(sub.schedule, law.means[0].numpy(), law.covs[0].numpy(),
                                 variance)
    assert rec.T == K and rec.respaced_timesteps is not None
    assert rec.respaced_timesteps.tolist() == sub.timesteps.tolist()
    # 2K + 2 two-sided comparisons per run share a false-alarm budget of 1e-6
    z = z_threshold(1e-6, 2 * K + 2)
    assert rec.total is not None
    assert abs(rec.total.nats - exact["total"]) <= z * rec.total.stderr
    dev = np.abs(rec.transitions - exact["transitions"]) / rec.transitions_stderr
    assert np.all(dev <= z), float(dev.max())
    # the prior term is exact per example: closed form against the torch KL
    assert rec.prior_check <= 1e-10


def test_querying_the_sub_chain_index_is_caught() -> None:
    # the plausible slip: run the K-step chain but call the T-step model at i, not tau_i
    law = get_dataset("gaussian")
    K = 10
    exact = gaussian_bayes_terms(PARENT.respace(K).schedule, law.means[0].numpy(),
                                 law.covs[0].numpy(), "beta")
    model = bayes_optimal_model(law, PARENT)
    rec = elbo_terms(model, B, PARENT.respace(K).schedule, data=law, decoder="gaussian",
                     generator=torch.Generator().manual_seed(0))
    assert rec.total is not None
    assert abs(rec.total.nats - exact["total"]) > 10 * rec.total.stderr


def test_K_equal_T_is_the_full_audit() -> None:
    s = Schedule.cosine(20)
    law = get_dataset("mixture_2d")
    model = bayes_optimal_model(law, s)
    a = elbo_terms(model, 16, s, data=law, generator=torch.Generator().manual_seed(1))
    b = elbo_terms(model, 16, s, data=law, steps=20, generator=torch.Generator().manual_seed(1))
    assert a.total is not None and b.total is not None
    # same noise stream, same rows; the sub-chain's betas equal the parent's to ~1e-16
    assert math.isclose(a.total.nats, b.total.nats, rel_tol=1e-9)


def test_bad_steps_are_refused() -> None:
    law = get_dataset("gaussian")
    model = bayes_optimal_model(law, PARENT)
    for bad, msg in ((1, "integer >= 2"), (2.5, "integer >= 2"), (1001, r"1 <= K <= T = 1000")):
        with pytest.raises(AuditError, match=msg):
            elbo_terms(model, 4, PARENT, data=law, steps=bad)  # type: ignore[arg-type]


def test_respaced_model_refuses_steps_outside_the_sub_chain() -> None:
    m = RespacedModel(lambda x, t: x, np.array([1, 500, 1000]))
    torch.testing.assert_close(m(torch.ones(2, 1), torch.tensor([1, 3])), torch.ones(2, 1))
    with pytest.raises(ValueError, match="1..K = 3"):
        m(torch.ones(1, 1), torch.tensor([4]))


@pytest.mark.statistical
@pytest.mark.parametrize(("name", "K"), [(n, k) for n in ("mixture_1d", "mixture_2d", "ring8")
                                         for k in (10, 50)]
                         + [pytest.param(n, None, marks=pytest.mark.slow)
                            for n in ("mixture_1d", "mixture_2d")])
def test_K_step_bound_of_mixtures_matches_quadrature(name: str, K: int | None,
                                                     seed: int) -> None:
    # K = None: the full T = 1000 chain (elbo_terms without steps)
    from mixture_oracle import bayes_terms

    law = get_dataset(name)
    rec = _audit(law, bayes_optimal_model(law, PARENT), K, "beta", seed)
    chain = PARENT if K is None else PARENT.respace(K).schedule
    exact = bayes_terms(law, chain, "beta", n=24 if law.dim == 2 else 60)
    assert exact["quad_error"] < 1e-3 * abs(exact["total"])  # the oracle is converged
    z = z_threshold(1e-6, 2 * chain.T + 2)
    assert rec.total is not None
    assert abs(rec.total.nats - exact["total"]) <= z * rec.total.stderr + exact["quad_error"]
    dev = np.abs(rec.transitions - exact["transitions"]) / rec.transitions_stderr
    assert np.all(dev <= z), float(dev.max())
