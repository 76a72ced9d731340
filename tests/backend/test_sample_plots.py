"""Ancestral sampling (shape, reproducibility, its law on Gaussian data) and the PNG plots."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from ddpm_theory.backend import GaussianDiffusion, MLPDenoiser, Schedule, Trajectory, sample, train
from ddpm_theory.backend.plots import plot_forward_reverse, plot_forward_schedules, plot_samples
from ddpm_theory.backend.sample import p_sample_loop
from ddpm_theory.numeric.acceptance import assert_gof

PNG = b"\x89PNG\r\n\x1a\n"
T = 40  # with scale_to_T, beta_T = 0.02 * 1000/T: T = 20 would give beta_T = 1


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = MLPDenoiser(2, hidden=16, depth=1, time_dim=8)
    out = tmp_path_factory.mktemp("s") / "m.pt"
    ck = train("mixture_2d", 10, model=model, schedule=Schedule.linear(T, scale_to_T=True),
               batch_size=32, progress=False, device="cpu", out=out)
    return ck, out


def test_sample_shape_and_reproducibility(trained) -> None:
    ck, path = trained
    state = torch.get_rng_state()
    a = sample(ck, 16, generator=torch.Generator().manual_seed(1))
    b = sample(path, 16, generator=torch.Generator().manual_seed(1))  # from the file
    c = sample(ck, 16, generator=torch.Generator().manual_seed(2))
    assert torch.equal(torch.get_rng_state(), state)
    assert a.shape == (16, 2) and torch.all(torch.isfinite(a))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(sample(ck, 16, seed=5), sample(ck, 16, seed=5))


def test_trajectory(trained) -> None:
    ck, _ = trained
    traj = sample(ck, 8, seed=3, return_trajectory=True)
    assert isinstance(traj, Trajectory) and traj.states.shape == (T + 1, 8, 2)
    assert torch.equal(traj.x0, sample(ck, 8, seed=3))  # same draws, same chain
    assert torch.equal(traj.at(T), traj.states[T])
    with pytest.raises(ValueError, match="t must lie in"):
        traj.at(T + 1)
    with pytest.raises(ValueError, match="positive integer"):
        sample(ck, 0)


class ExactShrinkage(nn.Module):
    """E[eps | x_t] = sqrt(1 - ab_t) x_t for N(0, 1) data (the exact eps-predictor)."""

    def __init__(self, s: Schedule) -> None:
        super().__init__()
        self.c = torch.as_tensor(np.sqrt(s.one_minus_alpha_bar))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.c[t - 1].to(x.dtype)[:, None] * x


@pytest.mark.statistical
def test_sampler_with_the_exact_model_draws_the_data_law(seed: int) -> None:
    """S4: with N(0, 1) data, the exact denoiser and sigma_t^2 = beta_t, every reverse
    step is the true q(x_{t-1}|x_t), so x_0 ~ N(0, 1) exactly (ab_T > 0 is matched: x_T is
    drawn from N(0, 1), which is q(x_T)). KS at the 1e-6 budget split over the two runs
    (alpha = 5e-7). Power: the planted sigma_t^2 = beta_tilde_t chain ends with std ~0.95,
    a CDF gap of ~phi(1) 0.05 ~ 0.012, while KS at n = 1e5 rejects beyond
    sqrt(-log(alpha/2)/(2n)) ~ 0.009; the test asserts that it is rejected."""
    s = Schedule.linear(100, scale_to_T=True)
    g = torch.Generator().manual_seed(seed)
    x = p_sample_loop(GaussianDiffusion(s, "eps", "beta"), ExactShrinkage(s), (100_000, 1), g,
                      dtype=torch.float64)
    assert_gof(x[:, 0].numpy(), stats.norm.cdf, n_examples=2, what="sigma^2 = beta")
    g = torch.Generator().manual_seed(seed + 1)
    y = p_sample_loop(GaussianDiffusion(s, "eps", "beta_tilde"), ExactShrinkage(s), (100_000, 1),
                      g, dtype=torch.float64)
    with pytest.raises(AssertionError):
        assert_gof(y[:, 0].numpy(), stats.norm.cdf, n_examples=2, what="planted")


# -- plots -------------------------------------------------------------------------------
def _is_png(path) -> bool:
    return path.read_bytes()[:8] == PNG


def test_plot_forward_schedules(tmp_path) -> None:
    scheds = {"linear": Schedule.linear(100, scale_to_T=True), "cosine": Schedule.cosine(100)}
    out = tmp_path / "fwd.png"
    p = plot_forward_schedules(out, schedules=scheds, data="mixture_2d", n=200)
    assert p == out and _is_png(out)
    with pytest.raises(FileExistsError):
        plot_forward_schedules(out, schedules=scheds, data="mixture_2d", n=200)
    plot_forward_schedules(out, schedules=scheds, data="digits", force=True)
    assert _is_png(out)
    with pytest.raises(FileNotFoundError, match="output folder"):
        plot_forward_schedules(tmp_path / "nope" / "x.png", schedules=scheds, data="mixture_1d")


def test_plot_forward_reverse(trained, tmp_path) -> None:
    ck, _ = trained
    out = tmp_path / "fr.png"
    plot_forward_reverse(out, ck, n=100)
    assert _is_png(out)
    with pytest.raises(FileExistsError):
        plot_forward_reverse(out, ck, n=100)


def test_plot_samples(trained, tmp_path) -> None:
    ck, _ = trained
    out = tmp_path / "s.png"
    plot_samples(out, sample(ck, 100, seed=0), data=ck.dataset)
    assert _is_png(out)
    with pytest.raises(FileExistsError):
        plot_samples(out, sample(ck, 100, seed=0))
    imgs = tmp_path / "img.png"
    plot_samples(imgs, torch.zeros(4, 1, 8, 8))
    assert _is_png(imgs)
    one_d = tmp_path / "h.png"
    plot_samples(one_d, torch.randn(50, 1, generator=torch.Generator().manual_seed(0)))
    assert _is_png(one_d)
