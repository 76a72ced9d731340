"""Training a small diffusion model: Adam, EMA weights, a progress bar, a checkpoint.

Randomness: three streams derived from ``seed`` by ``numpy.random.SeedSequence``
(model initialisation on the CPU, data draws on the CPU, timesteps and noise on
the training device), each an explicit ``torch.Generator``; the global RNG state
is left as it was. The same seed on the same device gives the same weights.
"""

from __future__ import annotations

import copy
import os
import time
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import __version__
from .checkpoint import FORMAT, FORMAT_VERSION, Checkpoint, save_checkpoint
from .data import get_dataset
from .dataset import Dataset
from .device import resolve_device
from .enums import DecoderType, LossType, Parameterization, VarianceType
from .likelihood import ApproxCdf
from .losses import check_loss_variance, training_losses
from .models import default_model, model_config
from .paths import check_output_path
from .process import GaussianDiffusion
from .schedule import Schedule

__all__ = ["train", "default_schedule"]


def default_schedule() -> Schedule:
    """The schedule used when none is given: Ho et al. 2020's linear β, T = 1000."""
    return Schedule.linear(1000)


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{what} must be a positive integer; got {value!r}.")
    return int(value)


def _resolve_decoder(decoder: DecoderType | str | None, dataset: Dataset) -> DecoderType:
    if decoder is None:
        return DecoderType.DISCRETIZED if dataset.levels else DecoderType.GAUSSIAN
    dec = DecoderType.parse(decoder)
    if dec is DecoderType.DISCRETIZED and not dataset.levels:
        raise ValueError(
            f"dataset {dataset.name!r} is continuous: the discretized decoder needs discrete data "
            "on a grid of [-1, 1]; use decoder 'gaussian'."
        )
    return dec


def _init_model(
    model: nn.Module | None, dataset: Dataset, learned: bool, seed: int
) -> nn.Module:
    if model is not None:
        return model
    with torch.random.fork_rng(devices=[]):  # CPU stream only; global state restored
        torch.random.default_generator.manual_seed(seed)
        return default_model(dataset.event_shape, learned)


def train(
    data: str | Dataset = "mixture_2d",
    steps: int = 2000,
    *,
    model: nn.Module | None = None,
    schedule: Schedule | None = None,
    parameterization: Parameterization | str = "eps",
    variance: VarianceType | str = "beta",
    loss: LossType | str = "simple",
    decoder: DecoderType | str | None = None,
    approx_cdf: ApproxCdf = "exact",
    batch_size: int = 256,
    lr: float = 1e-3,
    ema_decay: float = 0.999,
    vlb_weight: float = 1e-3,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
    log_every: int = 10,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Checkpoint:
    """Train a denoiser on ``data`` and return (and optionally save) a checkpoint.

    Parameters
    ----------
    data
        A registered dataset name (:data:`~ddpm_theory.backend.data.DATASETS`) or a
        :class:`~ddpm_theory.backend.dataset.Dataset`.
    steps
        Optimiser steps (≥ 1).
    model
        Any module with the call ``model(x_t, t)``; by default an MLP for vector
        data and a U-Net for images, initialised from ``seed``.
    schedule
        The noise schedule; default :func:`default_schedule`.
    parameterization, variance, loss, decoder, approx_cdf, vlb_weight
        See :class:`~ddpm_theory.backend.enums.Parameterization`,
        :class:`~ddpm_theory.backend.enums.VarianceType`,
        :func:`~ddpm_theory.backend.losses.training_losses`. ``decoder`` defaults
        to ``discretized`` (with the dataset's levels) for discrete data, else
        ``gaussian``.
    batch_size, lr, ema_decay
        Batch size, Adam learning rate, and the decay of the exponential moving
        average of the weights that is returned. The decay at step k is
        min(ema_decay, (1 + k)/(10 + k)), so that a short run is not dominated by
        the initial weights (the warm-up of TensorFlow's
        ``ExponentialMovingAverage(num_updates=...)``).
    seed
        Seeds every random stream (module docstring).
    device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    progress, log_every
        Show a tqdm bar with the running loss, updated every ``log_every`` steps.
    out, force
        Where to save the checkpoint (checked before training: the folder must
        exist; an existing file is overwritten only with ``force=True``).

    Returns
    -------
    Checkpoint
        EMA model, diffusion, dataset, config and loss history.

    Raises
    ------
    ValueError, FileNotFoundError, FileExistsError, FloatingPointError
        Bad arguments; a missing output folder; an existing output file; a
        non-finite loss (the step is named).
    """
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    log_every = _positive_int(log_every, "log_every")
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie in [0, 1); got {ema_decay!r}.")
    if not lr > 0:
        raise ValueError(f"lr must be positive; got {lr!r}.")
    out_path = check_output_path(out, force) if out is not None else None
    dataset = get_dataset(data) if isinstance(data, str) else data
    if not isinstance(dataset, Dataset):
        raise TypeError(f"data must be a dataset name or a Dataset; got {type(data).__name__}.")
    dev = resolve_device(device)
    schedule = schedule if schedule is not None else default_schedule()
    diffusion = GaussianDiffusion(schedule, parameterization, variance)
    loss_type = check_loss_variance(loss, diffusion.variance)
    dec = _resolve_decoder(decoder, dataset)

    streams = np.random.SeedSequence(seed).generate_state(3)
    init_seed, data_seed, noise_seed = (int(s) for s in streams)
    net = _init_model(model, dataset, diffusion.variance.is_learned, init_seed).to(dev)
    ema = copy.deepcopy(net).requires_grad_(False).eval()
    data_gen = torch.Generator().manual_seed(data_seed)
    noise_gen = torch.Generator(device=dev).manual_seed(noise_seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    loss_kw: dict[str, Any] = {"loss": loss_type, "decoder": dec, "levels": dataset.levels,
               "approx_cdf": approx_cdf, "vlb_weight": vlb_weight}

    history: list[float] = []
    running = float("nan")
    started = time.perf_counter()
    net.train()
    with tqdm(total=steps, disable=not progress, desc="train", unit="step") as bar:
        for step in range(1, steps + 1):
            x0 = dataset.sample(batch_size, data_gen).to(dev)
            t = torch.randint(1, schedule.T + 1, (batch_size,), generator=noise_gen, device=dev)
            noise = torch.randn(x0.shape, generator=noise_gen, device=dev)
            value = training_losses(diffusion, net, x0, t, noise, **loss_kw).loss.mean()
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            with torch.no_grad():
                decay = min(ema_decay, (1.0 + step) / (10.0 + step))
                for p_ema, p in zip(ema.parameters(), net.parameters(), strict=True):
                    p_ema.lerp_(p, 1.0 - decay)
                for b_ema, b in zip(ema.buffers(), net.buffers(), strict=True):
                    b_ema.copy_(b)
            if step % log_every == 0 or step == steps:
                v = float(value.detach())
                if not np.isfinite(v):
                    raise FloatingPointError(
                        f"training loss is {v} at step {step}; lower lr or check the data/model."
                    )
                running = v if not history else 0.9 * running + 0.1 * v
                history.append(running)
                bar.set_postfix(loss=f"{running:.4f}")
            bar.update(1)
    seconds = time.perf_counter() - started

    config: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": __version__,
        "model": model_config(net),
        "schedule": schedule.spec(),
        "parameterization": diffusion.parameterization.value,
        "variance": diffusion.variance.value,
        "loss": loss_type.value,
        "decoder": dec.value,
        "approx_cdf": approx_cdf,
        "levels": dataset.levels,
        "event_shape": list(dataset.event_shape),
        "dataset": dataset.config(),
        "train": {
            "steps": steps, "batch_size": batch_size, "lr": lr, "ema_decay": ema_decay,
            "vlb_weight": vlb_weight, "seed": seed, "device": str(dev),
            "seconds": seconds, "final_loss": running,
        },
    }
    loss_history = torch.tensor(history, dtype=torch.float32)
    if out_path is not None:
        payload = {
            "config": config,
            "weights": {k: v.detach().cpu() for k, v in net.state_dict().items()},
            "ema_weights": {k: v.detach().cpu() for k, v in ema.state_dict().items()},
            "schedule_betas": torch.from_numpy(np.array(schedule.betas)),
            "loss_history": loss_history,
        }
        save_checkpoint(out_path, payload, force)
    return Checkpoint(ema, diffusion, dataset, config, loss_history, out_path)
