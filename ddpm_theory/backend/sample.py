"""Ancestral sampling from the reverse process (Ho et al. 2020, Algorithm 2)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .checkpoint import Checkpoint, load_checkpoint
from .process import GaussianDiffusion

__all__ = ["Trajectory", "p_sample_loop", "sample"]


@dataclass(frozen=True)
class Trajectory:
    """A whole reverse chain.

    Attributes
    ----------
    states
        ``(T + 1, n, *event)``, indexed by paper timestep: ``states[t]`` is x_t,
        ``states[T]`` the initial N(0, I) draw and ``states[0]`` the sample x_0.
    """

    states: Tensor

    @property
    def x0(self) -> Tensor:
        """The final samples, ``(n, *event)``."""
        return self.states[0]

    def at(self, t: int) -> Tensor:
        """x_t for paper timestep t (0 ≤ t ≤ T), ``(n, *event)``."""
        if not 0 <= t < self.states.shape[0]:
            raise ValueError(f"t must lie in [0, {self.states.shape[0] - 1}]; got {t}.")
        return self.states[t]


@torch.no_grad()
def p_sample_loop(
    diffusion: GaussianDiffusion,
    model: nn.Module,
    shape: tuple[int, ...],
    generator: torch.Generator,
    *,
    return_trajectory: bool = False,
    dtype: torch.dtype = torch.float32,
    progress: Callable[[int], Any] | None = None,
) -> Tensor | Trajectory:
    """x_T ~ N(0, I), then x_{t−1} = μ_θ(x_t, t) + σ_t z for t = T..1, z ~ N(0, I) for
    t > 1 and z = 0 at t = 1 (Ho et al. 2020, Algorithm 2). All draws come from
    ``generator``, on its device. ``progress`` is called with 1 after each of the T
    steps."""
    dev = generator.device
    n = shape[0]
    x = torch.randn(shape, generator=generator, device=dev, dtype=dtype)
    states = [x] if return_trajectory else []
    for step in range(diffusion.T, 0, -1):
        t = torch.full((n,), step, dtype=torch.long, device=dev)
        noise = (
            torch.randn(shape, generator=generator, device=dev, dtype=dtype)
            if step > 1
            else torch.zeros(shape, device=dev, dtype=dtype)
        )
        x = diffusion.p_sample(model(x, t), x, t, noise)
        if return_trajectory:
            states.append(x)
        if progress is not None:
            progress(1)
    if return_trajectory:
        return Trajectory(torch.stack(states[::-1]))
    return x


def sample(
    ckpt: Checkpoint | str | os.PathLike[str],
    n: int,
    *,
    generator: torch.Generator | None = None,
    seed: int = 0,
    return_trajectory: bool = False,
    steps: int | None = None,
    progress: Callable[[int], Any] | None = None,
) -> Tensor | Trajectory:
    """Draw ``n`` samples from a trained model.

    Parameters
    ----------
    ckpt
        A :class:`Checkpoint` or the path of one (loaded on the CPU).
    n
        Number of samples.
    generator
        The source of all randomness; its device is where sampling runs (the
        model is moved there). Default: a CPU generator seeded with ``seed``.
    return_trajectory
        Return the whole chain as a :class:`Trajectory` instead of x_0.
    steps
        Sample the K-step respaced sub-chain (Nichol & Dhariwal 2021, Sec. 4;
        :meth:`Schedule.respace`): the model is queried at the kept timesteps τ_i and
        the variance rule of the checkpoint is applied to the sub-chain's own
        β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}}: σ_i² = β'_i (``beta``) or β̃'_i
        (``beta_tilde``), and ``learned_range`` interpolates between those two. A
        directly ``learned`` σ² belongs to the parent's steps and is refused.
        Default: all T steps.
    progress
        Called with 1 after each reverse step (T of them, or K with ``steps``), e.g. a
        progress bar's update.

    Returns
    -------
    Tensor or Trajectory
        ``(n, *event)`` samples, or the trajectory.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    if not isinstance(ckpt, Checkpoint):
        ckpt = load_checkpoint(ckpt)
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    model: nn.Module = ckpt.model.to(generator.device).eval()
    diffusion = ckpt.diffusion
    if steps is not None and steps != diffusion.T:
        diffusion, model = _respaced(diffusion, model, steps)
    return p_sample_loop(
        diffusion, model, (n, *ckpt.event_shape), generator,
        return_trajectory=return_trajectory, progress=progress,
    )


def _respaced(diffusion: GaussianDiffusion, model: nn.Module,
              steps: int) -> tuple[GaussianDiffusion, nn.Module]:
    """The K-step sub-chain's process and the model queried at its kept timesteps."""
    from ..likelihood.strided import RespacedModel
    from .enums import VarianceType

    if diffusion.variance is VarianceType.LEARNED:
        raise ValueError("a directly learned variance is the parent chain's sigma_t^2, not the "
                         "sub-chain's; sample all T steps, or train with learned_range.")
    r = diffusion.schedule.respace(steps)
    sub = GaussianDiffusion(r.schedule, diffusion.parameterization, diffusion.variance)
    return sub, RespacedModel(model, r.timesteps)
