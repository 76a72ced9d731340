"""Pictures of the forward and reverse processes (matplotlib, Agg canvas, PNG files).

No pyplot and no global backend switch: each function draws on its own
``Figure`` with an Agg canvas, writes one PNG and returns its path. Outputs are
never overwritten unless ``force=True``. All randomness comes from ``seed``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import Tensor

from .checkpoint import Checkpoint
from .data import get_dataset
from .dataset import Dataset
from .paths import write_output
from .process import GaussianDiffusion
from .sample import Trajectory, sample
from .schedule import Schedule

__all__ = ["plot_forward_schedules", "plot_forward_reverse", "plot_samples"]

FRACTIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)


def _save(fig: Figure, path: str | os.PathLike[str], force: bool) -> Path:
    FigureCanvasAgg(fig)
    return write_output(path, lambda f: fig.savefig(f, format="png", dpi=100), force)


def default_schedules(T: int = 1000) -> dict[str, Schedule]:
    """The four named schedules at T steps (for the forward-process picture)."""
    return {
        "linear": Schedule.linear(T, scale_to_T=True),
        "quadratic": Schedule.quadratic(T, scale_to_T=True),
        "cosine": Schedule.cosine(T),
        "sigmoid": Schedule.sigmoid(T),
    }


def _forward_states(
    schedule: Schedule, x0: Tensor, noise: Tensor, fractions: Sequence[float]
) -> list[Tensor]:
    """x_t for t = round(f·T) (t = 0 is x_0), common noise across schedules."""
    diff_states = []
    for f in fractions:
        t = int(round(f * schedule.T))
        if t == 0:
            diff_states.append(x0)
            continue
        ab = float(schedule.alpha_bar[t - 1])
        diff_states.append(np.sqrt(ab) * x0 + np.sqrt(1.0 - ab) * noise)
    return diff_states


def _draw(ax: Axes, x: Tensor, ref: Tensor | None = None, lim: float | None = None) -> None:
    """One panel: an image (first example), a 2-D scatter or a 1-D histogram."""
    x = x.detach().cpu().double()
    ax.set_xticks([])
    ax.set_yticks([])
    if x.ndim == 4:
        ax.imshow(x[0, 0].numpy(), cmap="gray", vmin=-1, vmax=1)
        return
    if x.shape[1] == 1:
        bins = np.linspace(-(lim or 4.0), lim or 4.0, 60).tolist()
        if ref is not None:
            ax.hist(ref[:, 0].cpu().numpy(), bins=bins, density=True, alpha=0.4, color="grey")
        ax.hist(x[:, 0].numpy(), bins=bins, density=True, alpha=0.7, color="C0")
        return
    if ref is not None:
        r = ref[:, :2].cpu().numpy()
        ax.scatter(r[:, 0], r[:, 1], s=2, alpha=0.3, color="grey")
    ax.scatter(x[:, 0].numpy(), x[:, 1].numpy(), s=2, alpha=0.6, color="C0")
    if lim is not None:
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)


def plot_forward_schedules(
    path: str | os.PathLike[str],
    *,
    schedules: Mapping[str, Schedule] | None = None,
    data: Dataset | str = "digits",
    fractions: Sequence[float] = FRACTIONS,
    n: int | None = None,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """The forward process under several schedules (the homework's problem 1.3).

    Left: ᾱ_t and log SNR(t) against t/T. Right: x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε (Ho et
    al. 2020, Eq. 4) at t = f·T for each schedule, with the same x_0 and ε in
    every row, so the rows differ only by the schedule. ``n`` examples are drawn
    (default: one image, or 2000 points of vector data); images show the first.
    """
    schedules = dict(schedules) if schedules is not None else default_schedules()
    ds = get_dataset(data) if isinstance(data, str) else data
    g = torch.Generator().manual_seed(seed)
    if n is None:
        n = 1 if len(ds.event_shape) == 3 else 2000
    x0 = ds.sample(n, g, dtype=torch.float64)
    noise = torch.randn(x0.shape, generator=g, dtype=torch.float64)
    rows, cols = len(schedules), len(fractions)
    fig = Figure(figsize=(3.2 + 1.6 * cols, max(3.0, 1.6 * rows)), layout="constrained")
    grid = fig.add_gridspec(rows, cols + 2)
    ax_ab = fig.add_subplot(grid[: max(rows // 2, 1), :2])
    ax_snr = fig.add_subplot(grid[max(rows // 2, 1):, :2]) if rows > 1 else None
    for name, s in schedules.items():
        u = np.arange(1, s.T + 1) / s.T
        ax_ab.plot(u, s.alpha_bar, label=name)
        if ax_snr is not None:
            ax_snr.plot(u, s.log_snr, label=name)
    ax_ab.set_ylabel("alpha_bar_t")
    ax_ab.legend(fontsize=7)
    if ax_snr is not None:
        ax_snr.set_xlabel("t / T")
        ax_snr.set_ylabel("log SNR(t)")
    lim = float(x0.abs().max()) + 3.0
    for r, (name, s) in enumerate(schedules.items()):
        for c, (f, x) in enumerate(zip(fractions, _forward_states(s, x0, noise, fractions),
                                       strict=True)):
            ax = fig.add_subplot(grid[r, c + 2])
            _draw(ax, x, lim=lim)
            if r == 0:
                ax.set_title(f"t = {f:g} T", fontsize=8)
            if c == 0:
                ax.set_ylabel(name, fontsize=8)
    return _save(fig, path, force)


def forward_reverse_states(
    ckpt: Checkpoint, times: Sequence[int], n: int, seed: int
) -> tuple[list[Tensor], list[Tensor], Tensor]:
    """(forward states x_t ~ q(x_t) from data, reverse states x_t of the sampler, data)
    at the paper timesteps ``times``; one generator seeded by ``seed``."""
    if ckpt.dataset is None:
        raise ValueError("the checkpoint's dataset cannot be rebuilt; no forward states to draw.")
    g = torch.Generator().manual_seed(seed)
    data = ckpt.dataset.sample(n, g)
    diffusion: GaussianDiffusion = ckpt.diffusion
    fwd = []
    for t in times:
        if t == 0:
            fwd.append(data)
            continue
        tt = torch.full((n,), t, dtype=torch.long)
        fwd.append(diffusion.q_sample(data, tt, torch.randn(data.shape, generator=g)))
    traj = sample(ckpt, n, generator=g, return_trajectory=True)
    assert isinstance(traj, Trajectory)
    return fwd, [traj.at(t) for t in times], data


def plot_forward_reverse(
    path: str | os.PathLike[str],
    ckpt: Checkpoint,
    *,
    times: Sequence[int] | None = None,
    n: int = 1000,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Forward states (x_0 from the data, noised by q) above reverse states (the model's
    ancestral chain) at the same timesteps (the homework's problem 5.2). If the model
    is good, each column's two rows have the same law q(x_t)."""
    T = ckpt.diffusion.T
    times = list(times) if times is not None else sorted({int(round(f * T)) for f in FRACTIONS})
    fwd, rev, data = forward_reverse_states(ckpt, times, n, seed)
    fig = Figure(figsize=(1.9 * len(times), 4.0), layout="constrained")
    axes = fig.subplots(2, len(times), squeeze=False)
    lim = float(data.abs().max()) + 2.0
    for c, t in enumerate(times):
        _draw(axes[0, c], fwd[c], lim=lim)
        _draw(axes[1, c], rev[c], lim=lim)
        axes[0, c].set_title(f"t = {t}", fontsize=8)
    axes[0, 0].set_ylabel("forward q", fontsize=8)
    axes[1, 0].set_ylabel("reverse p_theta", fontsize=8)
    return _save(fig, path, force)


def plot_samples(
    path: str | os.PathLike[str],
    samples: Tensor,
    *,
    data: Dataset | None = None,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Samples (blue) over draws from the data law (grey); images side by side (the
    first 16). The title says how many samples are shown out of how many."""
    ref = data.sample(samples.shape[0], torch.Generator().manual_seed(seed)) if data else None
    n = samples.shape[0]
    if samples.ndim == 4:
        k = min(16, n)
        fig = Figure(figsize=(k * 0.8, 1.8 if ref is None else 3.4), layout="constrained")
        axes = fig.subplots(1 if ref is None else 2, k, squeeze=False)
        for i in range(k):
            _draw(axes[0, i], samples[i:i + 1])
            if ref is not None:
                _draw(axes[1, i], ref[i:i + 1])
        axes[0, 0].set_ylabel("samples", fontsize=8)
        if ref is not None:
            axes[1, 0].set_ylabel("data", fontsize=8)
        fig.suptitle(f"{k} of {n} samples shown" + ("" if ref is None else
                                                    f"; below, {k} draws from the data"),
                     fontsize=9)
        return _save(fig, path, force)
    fig = Figure(figsize=(4.5, 4.5), layout="constrained")
    ax = fig.subplots()
    _draw(ax, samples, ref=ref, lim=float(samples.abs().max()) + 0.5)
    ax.set_title(f"all {n} samples (blue)" + ("" if ref is None else
                                               f" vs {n} draws from the data (grey)"),
                 fontsize=9)
    return _save(fig, path, force)
