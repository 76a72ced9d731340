"""Tiny diffusers models built from a config (no download), and the float32 error
bounds the parity tests compare with."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from ddpm_theory.backend import Schedule

#: unit roundoff of float32, 2⁻²⁴
U32 = 2.0**-24

#: every beta_schedule DDPMScheduler offers, with the (beta_start, beta_end) its users pair it with
BETA_SCHEDULE_CASES: dict[str, dict[str, float]] = {
    "linear": {},
    "scaled_linear": {"beta_start": 0.00085, "beta_end": 0.012},
    "squaredcos_cap_v2": {},
    "sigmoid": {},
    "laplace": {},
}


def tiny_unet(in_channels: int = 1, out_channels: int = 1, seed: int = 0,
              dtype: torch.dtype = torch.float64) -> Any:
    """A 2-level UNet2DModel on 8×8 images, weights from ``seed`` (global RNG restored)."""
    from diffusers import UNet2DModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = UNet2DModel(
            sample_size=8, in_channels=in_channels, out_channels=out_channels,
            layers_per_block=1, block_out_channels=(8, 16), norm_num_groups=4,
            down_block_types=("DownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "UpBlock2D"),
        )
    return unet.to(dtype).eval()


class PositiveVarianceUNet(nn.Module):
    """A UNet2DModel whose second output block is made positive (0.01 + softplus):
    diffusers' ``learned`` variance reads that block as σ_t² itself."""

    def __init__(self, unet: Any) -> None:
        super().__init__()
        self.inner = unet
        self.config = unet.config

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> Any:
        out = self.inner(x, t).sample
        C = x.shape[1]
        var = 0.01 + nn.functional.softplus(out[:, C:])

        class _Out:
            sample = torch.cat([out[:, :C], var], dim=1)

        return _Out()


def beta_float32_bound(name: str, s: Schedule, cfg: dict[str, float]) -> np.ndarray:
    """Absolute bound on |β_t(diffusers, float32) − β_t| for each ``beta_schedule``.

    A float32 ``linspace(a, b)`` value carries ≤ 3u·max(|a|, |b|) (the step rounded,
    multiplied by the index, added to a); each later operation ≤ u of its result:
    ``linear``: 3u β_end + u β_t; ``scaled_linear`` (√β linear, squared): 2·3u√β_end·√β_t
    + 2u β_t; ``sigmoid`` (σ(z)(b − a) + a, z = linspace(−6, 6), σ' ≤ ¼):
    (¼·18u + 3u)(b − a) + 2u β_t; ``squaredcos_cap_v2``/``laplace`` (float64, rounded
    once): u β_t."""
    b = s.betas
    lo, hi = cfg.get("beta_start", 1e-4), cfg.get("beta_end", 0.02)
    if name == "linear":
        return 3 * U32 * hi + U32 * b
    if name == "scaled_linear":
        return 6 * U32 * np.sqrt(hi) * np.sqrt(b) + 2 * U32 * b
    if name == "sigmoid":
        return 7.5 * U32 * (hi - lo) + 2 * U32 * b
    return U32 * b


def alpha_bar_float32_bound(s: Schedule) -> np.ndarray:
    """|ᾱ_t(float32 cumprod) − ᾱ_t| / ᾱ_t ≤ u Σ_{s≤t} (2 + β_s/α_s): each α_s = 1 − β_s
    carries ≤ u of rounding in β_s (relative β_s/α_s in α_s) and ≤ u in the subtraction,
    each product ≤ u more (first order in u; the second order is below 1e-9 here)."""
    with np.errstate(divide="ignore"):
        return U32 * np.cumsum(2.0 + s.betas / s.alphas)


def rescaled_alpha_bar_float32_bound(base: Schedule) -> np.ndarray:
    """Absolute bound on ᾱ_t after diffusers' float32 zero-terminal-SNR rescale of
    ``base``: r = √ᾱ (float32 relative error ½δ_t + u, δ from
    :func:`alpha_bar_float32_bound`), Δ_t = r_t − r_T (error e_t + e_T + uΔ_t, the
    cancellation is kept explicit), k = r_1/(r_1 − r_T) (≤ 4u relative), ᾱ' = (kΔ)²:
    |err ᾱ'| ≤ 2kΔ·E + E² + uᾱ', E = k·err Δ + 4u kΔ."""
    r = np.sqrt(base.alpha_bar)
    e = (0.5 * alpha_bar_float32_bound(base) + U32) * r
    d = r - r[-1]
    k = r[0] / (r[0] - r[-1])
    E = k * (e + e[-1] + U32 * d) + 4.0 * U32 * k * d
    ab = (k * d) ** 2
    return 2.0 * k * d * E + E**2 + U32 * ab


def scheduler(**cfg: Any) -> Any:
    from diffusers import DDPMScheduler

    return DDPMScheduler(**cfg)


#: |diffusers step − ours| ≤ STEP_ATOL·(1 + |value|): both sides run in float64 from the same
#: ᾱ; the formulas are arranged differently (diffusers forms β_t = 1 − ᾱ_t/ᾱ_{t−1}, relative
#: error ~1e-16/β_1 = 1e-12, and x̂_0 = (x_t − √(1−ᾱ)ε)/√ᾱ amplifies by 1/√ᾱ_T ≲ 200), so
#: ~1e-10 is the largest honest discrepancy; a wrong mapping moves the step by ≥ 1e-5
STEP_ATOL = 1e-9


def step_error(adapted: Any, sched: Any, net: Any, x_t: torch.Tensor,
               timesteps: list[int]) -> float:
    """max over diffusers timesteps t_d of |scheduler.step − (μ_θ + σ_t z)| / (1 + |·|),
    the same noise z on both sides (two seeds, so mean and σ are both pinned down;
    at t_d = 0 the step is deterministic and only the mean is compared).

    The scheduler's ᾱ is set to the adapter's float64 ᾱ first, so the comparison
    tests the step's mapping (prediction, variance, clipping, timestep) apart from
    float32 schedule rounding (tested on its own)."""
    from ddpm_theory.backend.process import GaussianDiffusion

    sched.alphas_cumprod = torch.from_numpy(np.array(adapted.schedule.alpha_bar))
    dif = GaussianDiffusion(adapted.schedule, adapted.parameterization, adapted.variance)
    worst = 0.0
    C = x_t.shape[1]
    for td in timesteps:
        t = torch.full((x_t.shape[0],), td + 1, dtype=torch.long)
        with torch.no_grad():
            out = net(x_t, torch.full((x_t.shape[0],), td, dtype=torch.long)).sample
        pred = dif.p_mean_variance(adapted.model(x_t, t), x_t, t)
        sd = torch.exp(0.5 * pred.log_variance)
        for seed in (1, 2):
            got = sched.step(out, td, x_t, generator=torch.Generator().manual_seed(seed))
            z = torch.randn((x_t.shape[0], C, *x_t.shape[2:]),
                            generator=torch.Generator().manual_seed(seed), dtype=x_t.dtype)
            mine = pred.mean + (sd * z if td > 0 else 0.0)
            err = (got.prev_sample - mine).abs() / (1.0 + mine.abs())
            worst = max(worst, float(torch.nan_to_num(err, nan=np.inf).max()))
    return worst
