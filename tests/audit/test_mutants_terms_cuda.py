"""The audit on CUDA: the noise, the plans' draws and the examples come from the generator
on its own device, every tensor of a row meets on the audit's device, and the values are
numpy's on the same draws. Skipped without CUDA (marker ``gpu``).

Written against the mutants of mutation testing (mutation/run.py) that only a GPU can tell
apart (a ``device=`` argument dropped, ``.cpu()`` or ``.to(dev)`` left out); each docstring
names them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mutants_terms_reference import chain_bound, prior_kl, rows

from ddpm_theory.audit import elbo_terms, trajectory_bound
from ddpm_theory.backend import Schedule
from ddpm_theory.backend.data import standard_gaussian

pytestmark = pytest.mark.gpu

BETAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45])
S = Schedule.from_betas(BETAS)
T = len(BETAS)
X0 = torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.0]], dtype=torch.float64)


def eps_model_np(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    return 0.6 * x_t + 0.05 * t[:, None] + 0.1 * x_t**2


def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The model sees x_t and t on one device, as a network with an embedding of t needs."""
    assert t.device == x_t.device and t.dtype == torch.long
    return 0.6 * x_t + 0.05 * t.reshape(-1, 1).to(x_t) + 0.1 * x_t**2


def _generator(where: str, seed: int) -> torch.Generator:
    return torch.Generator(device=where).manual_seed(seed)


@pytest.mark.parametrize("gen_device", ["cpu", "cuda"])
def test_trajectory_bound_on_cuda(gen_device: str) -> None:
    """Planted: z drawn without the generator's device, the coefficient tables or the row
    indices left on the CPU: on CUDA, with the generator on either device, the bound equals
    numpy's on the chain of that generator's z."""
    got = trajectory_bound(eps_model, X0.cuda(), S, generator=_generator(gen_device, 3),
                           batch_size=7)
    z = torch.randn((T, *X0.shape), generator=_generator(gen_device, 3), dtype=torch.float64,
                    device=gen_device).cpu().numpy()
    assert got.device.type == "cuda"
    np.testing.assert_allclose(got.cpu().numpy(), chain_bound(BETAS, X0.numpy(), z,
                                                              eps_model_np), rtol=1e-10)


@pytest.mark.parametrize("gen_device", ["cpu", "cuda"])
def test_audit_on_cuda_uses_the_generators_stream(gen_device: str) -> None:
    """Planted: the noise drawn without the generator's device, the evaluator's tables
    (λσ², floors, ᾱ) or a row's indices left on the CPU, or the Bayes law's E[x_0|x_t] not
    moved back to the audit's device: on CUDA every term equals numpy's on the noise
    torch.randn((rows, D)) of the generator on its device."""
    r = elbo_terms(eps_model, X0.cuda(), S, device="cuda", data=standard_gaussian(2),
                   generator=_generator(gen_device, 5))
    eps = torch.randn((3 * T, 2), generator=_generator(gen_device, 5), dtype=torch.float64,
                      device=gen_device).cpu().numpy()
    t = np.tile(np.arange(1, T + 1), 3)
    ref = rows(BETAS, X0.numpy()[np.repeat(np.arange(3), T)], t, eps, eps_model_np,
               np.log(BETAS), x0_star=lambda x_t, ab: np.sqrt(ab) * x_t)
    np.testing.assert_allclose(r.per_example_total,
                               prior_kl(BETAS, X0.numpy()) + ref["loss"].reshape(3, T).sum(1),
                               rtol=1e-10)
    assert r.bayes is not None
    np.testing.assert_allclose(r.bayes, ref["bayes"].reshape(3, T)[:, 1:].mean(0), rtol=1e-10)


@pytest.mark.parametrize("timesteps", ["stratified", "importance"])
def test_sampled_plans_with_a_cuda_generator(timesteps: str) -> None:
    """Planted: the plans' uniform draws without the generator's device, or not brought to
    the CPU (``.cpu()`` dropped), and the pilot's noise likewise: a plan sampled with a CUDA
    generator on a CUDA audit gives the same per-example totals in t as numpy's rule on
    those draws (checked by running the same audit twice: the draws are reproducible)."""
    runs = [elbo_terms(eps_model, X0.cuda(), S, device="cuda", timesteps=timesteps,
                       n_timesteps=2, generator=_generator("cuda", 7)) for _ in range(2)]
    assert np.array_equal(runs[0].per_example_total, runs[1].per_example_total)
    assert np.isfinite(runs[0].per_example_total).all()


def test_examples_drawn_with_a_cuda_generator() -> None:
    """Planted: the CPU generator for the law not seeded from the CUDA generator's
    stream (``device=generator.device`` dropped from the seed draw): the examples are
    law.sample of a CPU generator seeded by torch.randint(0, 2**62) of the CUDA one."""
    law = standard_gaussian(2)
    r = elbo_terms(eps_model, 4, S, device="cuda", data=law, generator=_generator("cuda", 9))
    g = _generator("cuda", 9)
    seed = int(torch.randint(0, 2**62, (1,), generator=g, device="cuda"))
    x = law.sample(4, torch.Generator().manual_seed(seed), dtype=torch.float64)
    eps = torch.randn((4 * T, 2), generator=g, dtype=torch.float64, device="cuda").cpu().numpy()
    t = np.tile(np.arange(1, T + 1), 4)
    ref = rows(BETAS, x.numpy()[np.repeat(np.arange(4), T)], t, eps, eps_model_np,
               np.log(BETAS))
    np.testing.assert_allclose(r.per_example_total,
                               prior_kl(BETAS, x.numpy()) + ref["loss"].reshape(4, T).sum(1),
                               rtol=1e-10)


def test_a_checkpoint_object_on_the_cpu_is_moved_to_the_audits_device() -> None:
    """Planted: the checkpoint's model or the examples not moved to the audit's device
    (``.to(device)`` dropped): a Checkpoint and examples on the CPU audit on CUDA."""
    from torch import nn

    from ddpm_theory.backend import GaussianDiffusion
    from ddpm_theory.backend.checkpoint import Checkpoint

    net = nn.Linear(2, 2).double()
    ck = Checkpoint(model=net, diffusion=GaussianDiffusion(S, "eps", "beta"), dataset=None,
                    config={"decoder": "gaussian", "levels": None, "loss": "simple"},
                    loss_history=torch.zeros(0))
    r = elbo_terms(ck, X0, device="cuda", generator=_generator("cuda", 1))  # x0 on the CPU
    assert r.total is not None and np.isfinite(r.total.nats)


def test_the_default_generator_and_chunk_on_cuda() -> None:
    """Planted: the default generator not on the audit's device (documented: a fresh
    generator seeded with 0 there), or the CUDA default of 65536 rows per model call
    changed or not chosen on CUDA: 11000 examples of T = 6 terms are 66000 rows."""
    a = elbo_terms(eps_model, X0.cuda(), S, device="cuda")
    b = elbo_terms(eps_model, X0.cuda(), S, device="cuda", generator=_generator("cuda", 0))
    assert np.array_equal(a.per_example_total, b.per_example_total)
    seen: list[int] = []
    x0 = torch.zeros(11000, 2, dtype=torch.float64, device="cuda")
    elbo_terms(eps_model, x0, S, device="cuda", progress=seen.append)
    assert seen == [65536, 66000 - 65536]


def test_cpu_examples_are_moved_to_the_audits_device() -> None:
    """Planted: the examples not moved to the audit's device (``.to(None)``): CPU examples
    audited with ``device="cuda"`` would meet CUDA tables and noise."""
    kw = {"device": "cuda", "generator": _generator("cuda", 11)}
    on_cpu = elbo_terms(eps_model, X0, S, **kw)
    kw["generator"] = _generator("cuda", 11)
    on_gpu = elbo_terms(eps_model, X0.cuda(), S, **kw)
    np.testing.assert_array_equal(on_cpu.per_example_total, on_gpu.per_example_total)
