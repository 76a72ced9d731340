"""The continuous-time bound (Kingma et al. 2021) on the exact model of known laws:
each term against its closed form for Gaussian laws, the N-step loss decreasing to
L_∞, the bound above the entropy for mixtures, and planted slips caught."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ddpm_theory.backend.data import get_dataset
from ddpm_theory.backend.schedule import Schedule
from ddpm_theory.likelihood import ContinuousSchedule, exact_eps_model
from ddpm_theory.likelihood.vdm import (
    continuous_bound,
    gaussian_continuous_bound,
    gaussian_discrete_diffusion_loss,
)
from ddpm_theory.numeric.acceptance import z_threshold

SCHEDULE = Schedule.linear(1000)
CONT = ContinuousSchedule(SCHEDULE)
B = 1000


def _run(name: str, n_steps: int | None = None, seed: int = 0, n: int = B):
    law = get_dataset(name)
    x = law.sample(n, torch.Generator().manual_seed(seed), dtype=torch.float64)
    rec = continuous_bound(exact_eps_model(law, SCHEDULE), x, SCHEDULE, n_times=8,
                           n_steps=n_steps, generator=torch.Generator().manual_seed(seed + 1))
    return law, rec


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["standard_gaussian", "gaussian"])
def test_continuous_bound_matches_its_closed_form(name: str, seed: int) -> None:
    law, rec = _run(name, seed=seed)
    exact = gaussian_continuous_bound(CONT, law.means[0].numpy(), law.covs[0].numpy())
    z = z_threshold(1e-6, 4)  # four two-sided comparisons, budget 1e-6
    for term in ("prior", "diffusion", "decoder", "total"):
        m, se = rec.value(term)
        assert abs(m - exact[term]) <= z * se, (term, m, exact[term], se)
    # the planted slip "−SNR' without the ½" moves the diffusion term by ~8.8 nats
    m, se = rec.value("diffusion")
    assert abs(2 * m - exact["diffusion"]) > z * 2 * se


@pytest.mark.statistical
@pytest.mark.parametrize("n_steps", [10, 100, 1000])
def test_n_step_loss_matches_its_closed_form(n_steps: int, seed: int) -> None:
    law, rec = _run("gaussian", n_steps, seed=seed)
    exact = gaussian_discrete_diffusion_loss(CONT, law.covs[0].numpy(), n_steps)
    m, se = rec.value("diffusion")
    assert abs(m - exact) <= z_threshold(1e-6, 1) * se


def test_n_step_loss_decreases_to_the_continuous_loss() -> None:
    # Kingma et al. 2021, Sec. 4: more steps, lower loss; the limit is L_inf. For the
    # Bayes model the N-step sum is a right Riemann sum of a decreasing integrand in SNR.
    cov = get_dataset("gaussian").covs[0].numpy()
    inf = gaussian_continuous_bound(CONT, np.zeros(2), cov)["diffusion"]
    vals = [gaussian_discrete_diffusion_loss(CONT, cov, n) for n in (10, 100, 1000, 10**5)]
    assert all(a > b for a, b in zip(vals, vals[1:], strict=False)) and vals[-1] > inf
    assert vals[-1] - inf < 1e-2  # O(1/N) convergence: ~1e-3 at N = 1e5


@pytest.mark.statistical
@pytest.mark.parametrize("name", ["mixture_1d", "mixture_2d", "ring8"])
def test_continuous_bound_lies_above_the_entropy(name: str, seed: int) -> None:
    # a valid bound on -log p of a normalised model: its mean exceeds H(x0); one-sided
    law, rec = _run(name, seed=seed, n=300)
    m, se = rec.value("total")
    ent = law.entropy()
    assert m >= ent.value - ent.abs_error - z_threshold(1e-6, 1, two_sided=False) * se


def test_bad_arguments_are_refused() -> None:
    law = get_dataset("gaussian")
    x = torch.zeros(2, 2, dtype=torch.float64)
    m = exact_eps_model(law, SCHEDULE)
    with pytest.raises(ValueError, match="n_times must be a positive integer"):
        continuous_bound(m, x, SCHEDULE, n_times=0)
    with pytest.raises(ValueError, match=r"s0 must lie in \(0, T = 1000\)"):
        continuous_bound(m, x, SCHEDULE, s0=0.0)
    with pytest.raises(ValueError, match="n_steps must be None or a positive integer"):
        continuous_bound(m, x, SCHEDULE, n_steps=0)
