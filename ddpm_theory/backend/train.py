"""Training a small diffusion model: Adam, EMA weights, a progress bar, a checkpoint.

Randomness: three streams derived from ``seed`` by ``numpy.random.SeedSequence``
(model initialisation on the CPU, data draws on the CPU, timesteps and noise on
the training device), each an explicit ``torch.Generator``; the global RNG state
is left as it was. The same seed on the same device gives the same weights.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .. import __version__
from .checkpoint import (
    FORMAT,
    FORMAT_VERSION,
    Checkpoint,
    CheckpointError,
    load_checkpoint,
    read_payload,
    save_checkpoint,
)
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

__all__ = ["train", "resume", "default_schedule", "TrainingDiverged", "LR_MAX"]

#: the largest Adam learning rate accepted (a step of this size already moves every weight
#: by about 1 per step; larger values only overflow)
LR_MAX = 1.0


class TrainingDiverged(FloatingPointError):
    """The training loss or the weights became NaN/Inf; no checkpoint is written.
    ``what`` names what became non-finite, ``step`` the step by which it had."""

    def __init__(self, what: str, step: int, lr: float) -> None:
        self.what, self.step, self.lr = what, step, lr
        super().__init__(f"{what} became non-finite by step {step}; lower the learning rate "
                         f"(lr = {lr:g}) or check the data and model. No checkpoint was "
                         "written for this step.")


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


def _check_lr(lr: Any) -> float:
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.floating)) or not (
            math.isfinite(lr) and 0.0 < lr <= LR_MAX):
        raise ValueError(f"lr must be a finite number in (0, {LR_MAX:g}]; got {lr!r}.")
    return float(lr)


def _init_model(
    model: nn.Module | None, dataset: Dataset, learned: bool, seed: int,
    model_args: dict[str, Any] | None = None,
) -> nn.Module:
    if model is not None:
        if model_args:
            raise ValueError("model_args sizes the default model; it cannot apply to model=.")
        return model
    with torch.random.fork_rng(devices=[]):  # CPU stream only; global state restored
        torch.random.default_generator.manual_seed(seed)
        return default_model(dataset.event_shape, learned, **(model_args or {}))


@dataclass
class _Run:
    """Everything a training run carries from step to step (and into a checkpoint)."""

    net: nn.Module
    ema: nn.Module
    opt: torch.optim.Optimizer
    data_gen: torch.Generator
    noise_gen: torch.Generator
    dataset: Dataset
    diffusion: GaussianDiffusion
    loss_kw: dict[str, Any]
    config: dict[str, Any]  # the checkpoint config, "train" updated as the run goes
    step: int = 0
    running: float = float("nan")
    history: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _optimizer_state(opt: torch.optim.Optimizer) -> dict[str, Any]:
    """Adam's state with string keys (a checkpoint holds plain data only)."""
    sd = opt.state_dict()
    return {"state": {str(k): v for k, v in sd["state"].items()},
            "param_groups": sd["param_groups"]}


def _payload(run: _Run) -> dict[str, Any]:
    run.config["train"].update(steps=run.step, seconds=run.seconds, final_loss=run.running)
    return {
        "config": run.config,
        "weights": {k: v.detach().cpu() for k, v in run.net.state_dict().items()},
        "ema_weights": {k: v.detach().cpu() for k, v in run.ema.state_dict().items()},
        "schedule_betas": torch.from_numpy(np.array(run.diffusion.schedule.betas)),
        "loss_history": torch.tensor(run.history, dtype=torch.float32),
        "resume": {
            "optimizer": _optimizer_state(run.opt), "step": run.step, "running": run.running,
            "data_rng": run.data_gen.get_state(), "noise_rng": run.noise_gen.get_state(),
        },
    }


def _check_finite(run: _Run, bad_loss: Tensor, last: Tensor) -> None:
    """Stop with :class:`TrainingDiverged` if a loss since the last check or a weight is
    NaN/Inf (checked every ``log_every`` steps and before any save)."""
    lr = run.config["train"]["lr"]
    if bool(bad_loss):
        raise TrainingDiverged(f"the training loss (last {float(last):.4g})", run.step, lr)
    for name, p in run.net.named_parameters():
        if not bool(torch.isfinite(p).all()):
            raise TrainingDiverged(f"weight {name!r}", run.step, lr)


def _save(run: _Run, out: Path | None, force: bool) -> None:
    if out is not None:
        save_checkpoint(out, _payload(run), force)


class _NoBar:
    """The progress bar when none is shown: no tqdm object at all (a tqdm, even disabled,
    takes tqdm's process-shared lock and may start its monitor thread)."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def set_postfix(self, **values: object) -> None:
        pass

    def update(self, n: int) -> None:
        pass


def _loop(run: _Run, steps: int, *, save_every: int | None, out: Path | None, force: bool,
          progress: bool, log_every: int) -> None:
    """Optimiser steps run.step + 1 .. steps; saves every ``save_every`` steps and at the end."""
    ema_decay, batch = run.config["train"]["ema_decay"], run.config["train"]["batch_size"]
    T, dev = run.diffusion.T, next(run.net.parameters()).device
    bad = torch.zeros((), dtype=torch.bool, device=dev)
    value = torch.zeros((), device=dev)
    started = time.perf_counter() - run.seconds
    ema_params: list[Tensor] = list(run.ema.parameters())
    net_params: list[Tensor] = list(run.net.parameters())
    assert len(ema_params) == len(net_params)  # the EMA is a copy of the network
    buffers = list(zip(run.ema.buffers(), run.net.buffers(), strict=True))
    run.net.train()
    with (tqdm(total=steps, initial=run.step, desc="train", unit="step") if progress
          else _NoBar()) as bar:
        while run.step < steps:
            run.step += 1
            x0 = run.dataset.sample(batch, run.data_gen).to(dev)
            t = torch.randint(1, T + 1, (batch,), generator=run.noise_gen, device=dev)
            noise = torch.randn(x0.shape, generator=run.noise_gen, device=dev)
            value = training_losses(run.diffusion, run.net, x0, t, noise, **run.loss_kw).loss.mean()
            run.opt.zero_grad(set_to_none=True)
            value.backward()
            run.opt.step()
            bad |= ~torch.isfinite(value.detach())
            with torch.no_grad():
                decay = min(ema_decay, (1.0 + run.step) / (10.0 + run.step))
                torch._foreach_lerp_(ema_params, net_params, 1.0 - decay)
                for b_ema, b in buffers:
                    b_ema.copy_(b)
            saving = run.step == steps or (save_every is not None and run.step % save_every == 0)
            if run.step % log_every == 0 or saving:
                _check_finite(run, bad, value.detach())
            if run.step % log_every == 0:  # the history depends on the step only, so that
                v = float(value.detach())  # a resumed run logs what an uninterrupted one does
                run.running = v if not run.history else 0.9 * run.running + 0.1 * v
                run.history.append(run.running)
                bar.set_postfix(loss=f"{run.running:.4f}")
            elif not run.history:  # a run shorter than log_every: its last loss
                run.running = float(value.detach())
            if saving:
                run.seconds = time.perf_counter() - started
                _save(run, out, force)
                force = True  # later saves replace this run's own file
            bar.update(1)


def train(
    data: str | Dataset = "mixture_2d",
    steps: int = 2000,
    *,
    model: nn.Module | None = None,
    model_args: dict[str, Any] | None = None,
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
    save_every: int | None = None,
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
    model, model_args
        Any module with the call ``model(x_t, t)``; by default an MLP for vector
        data and a U-Net for images, initialised from ``seed``, sized by
        ``model_args`` (``hidden``/``depth`` for the MLP, ``base``/``mults`` for the
        U-Net; :data:`~ddpm_theory.backend.models.MODEL_SIZE_ARGS`).
    schedule
        The noise schedule; default :func:`default_schedule`.
    parameterization, variance, loss, decoder, approx_cdf, vlb_weight
        See :class:`~ddpm_theory.backend.enums.Parameterization`,
        :class:`~ddpm_theory.backend.enums.VarianceType`,
        :func:`~ddpm_theory.backend.losses.training_losses`. ``decoder`` defaults
        to ``discretized`` (with the dataset's levels) for discrete data, else
        ``gaussian``.
    batch_size, lr, ema_decay
        Batch size, Adam learning rate (in (0, :data:`LR_MAX`]), and the decay of the
        exponential moving average of the weights that is returned. The decay at step
        k is min(ema_decay, (1 + k)/(10 + k)), so that a short run is not dominated by
        the initial weights (the warm-up of TensorFlow's
        ``ExponentialMovingAverage(num_updates=...)``).
    seed
        Seeds every random stream (module docstring).
    device
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
    progress, log_every
        Show a tqdm bar with the running loss, updated every ``log_every`` steps;
        the loss and weights are checked for NaN/Inf at the same steps.
    save_every
        Also write the checkpoint every ``save_every`` steps (to ``out``, replaced
        atomically each time), with the optimiser and random-stream states, so that
        :func:`resume` continues the run exactly.
    out, force
        Where to save the checkpoint (checked before training: the folder must
        exist; an existing file is overwritten only with ``force=True``).

    Returns
    -------
    Checkpoint
        EMA model, diffusion, dataset, config and loss history.

    Raises
    ------
    ValueError, FileNotFoundError, FileExistsError, TrainingDiverged
        Bad arguments; a missing output folder; an existing output file; a
        non-finite loss or weight (the step is named; nothing is written).
    """
    steps = _positive_int(steps, "steps")
    batch_size = _positive_int(batch_size, "batch_size")
    log_every = _positive_int(log_every, "log_every")
    if save_every is not None:
        save_every = _positive_int(save_every, "save_every")
    if not 0.0 <= ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie in [0, 1); got {ema_decay!r}.")
    lr = _check_lr(lr)
    out_path = check_output_path(out, force) if out is not None else None
    dataset = get_dataset(data) if isinstance(data, str) else data
    if not isinstance(dataset, Dataset):
        raise TypeError(f"data must be a dataset name or a Dataset; got {type(data).__name__}.")
    dev = resolve_device(device)
    schedule = schedule if schedule is not None else default_schedule()
    if schedule.T < 2:
        raise ValueError(f"T must be at least 2 (L_T, a transition and L_0); got {schedule.T}.")
    diffusion = GaussianDiffusion(schedule, parameterization, variance)
    loss_type = check_loss_variance(loss, diffusion.variance)
    dec = _resolve_decoder(decoder, dataset)

    streams = np.random.SeedSequence(seed).generate_state(3)
    init_seed, data_seed, noise_seed = (int(s) for s in streams)
    net = _init_model(model, dataset, diffusion.variance.is_learned, init_seed,
                      model_args).to(dev)
    ema = copy.deepcopy(net).requires_grad_(False).eval()
    config: dict[str, Any] = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "library_version": __version__,
        "model": model_config(net), "schedule": schedule.spec(),
        "parameterization": diffusion.parameterization.value,
        "variance": diffusion.variance.value, "loss": loss_type.value, "decoder": dec.value,
        "approx_cdf": approx_cdf, "levels": dataset.levels,
        "event_shape": list(dataset.event_shape), "dataset": dataset.config(),
        "train": {"steps": 0, "batch_size": batch_size, "lr": lr, "ema_decay": ema_decay,
                  "vlb_weight": vlb_weight, "seed": seed, "device": str(dev),
                  "seconds": 0.0, "final_loss": float("nan")},
    }
    run = _Run(net, ema, torch.optim.Adam(net.parameters(), lr=lr),
               torch.Generator().manual_seed(data_seed),
               torch.Generator(device=dev).manual_seed(noise_seed), dataset, diffusion,
               _loss_kw(config), config)
    _loop(run, steps, save_every=save_every, out=out_path, force=force, progress=progress,
          log_every=log_every)
    return _checkpoint(run, out_path)


def _loss_kw(config: dict[str, Any]) -> dict[str, Any]:
    return {"loss": LossType.parse(config["loss"]), "decoder": DecoderType.parse(config["decoder"]),
            "levels": config["levels"], "approx_cdf": config["approx_cdf"],
            "vlb_weight": config["train"]["vlb_weight"]}


def _checkpoint(run: _Run, out: Path | None) -> Checkpoint:
    run.config["train"].update(steps=run.step, seconds=run.seconds, final_loss=run.running)
    return Checkpoint(run.ema, run.diffusion, run.dataset, run.config,
                      torch.tensor(run.history, dtype=torch.float32), out)


def resume(
    path: str | os.PathLike[str],
    steps: int,
    *,
    model: nn.Module | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
    log_every: int = 10,
    save_every: int | None = None,
    out: str | os.PathLike[str] | None = None,
    force: bool = False,
) -> Checkpoint:
    """Continue the run saved in ``path`` up to ``steps`` optimiser steps in all, with its
    own settings (data, schedule, loss, batch size, lr, EMA decay, seed). The optimiser
    state and the random streams are restored, so the result equals an uninterrupted
    run of ``steps`` steps on the same device bit for bit. ``out`` defaults to ``path``
    (replaced atomically; pass ``out`` to keep the earlier file).

    Raises
    ------
    CheckpointError
        A file that is not a checkpoint, or one saved without a training state.
    ValueError
        ``steps`` not above the steps already done.
    """
    steps = _positive_int(steps, "steps")
    dev = resolve_device(device)
    ck = load_checkpoint(path, model=model, map_location=dev, use_ema=False)
    payload = read_payload(Path(path), dev)
    state = payload.get("resume")
    if not isinstance(state, dict):
        raise CheckpointError(f"checkpoint {str(path)!r}: resume: missing (written before "
                              "training states were stored); it cannot be resumed.")
    cfg = copy.deepcopy(ck.config)
    if steps <= int(state["step"]):
        raise ValueError(f"the checkpoint has done {state['step']} steps already; ask for more "
                         f"(steps is the total, got {steps}).")
    net = ck.model.to(dev)
    ema = copy.deepcopy(net).requires_grad_(False).eval()
    ema.load_state_dict(payload["ema_weights"])
    opt = torch.optim.Adam(net.parameters(), lr=cfg["train"]["lr"])
    sd = state["optimizer"]
    opt.load_state_dict({"state": {int(k): v for k, v in sd["state"].items()},
                         "param_groups": sd["param_groups"]})
    data_gen, noise_gen = torch.Generator(), torch.Generator(device=dev)
    data_gen.set_state(state["data_rng"].cpu())
    noise_gen.set_state(state["noise_rng"].cpu())
    dataset = ck.dataset
    if dataset is None:
        raise CheckpointError(f"checkpoint {str(path)!r}: config['dataset']: not a registered "
                              "dataset; it cannot be resumed.")
    cfg["train"]["device"] = str(dev)
    run = _Run(net, ema, opt, data_gen, noise_gen, dataset, ck.diffusion, _loss_kw(cfg), cfg,
               step=int(state["step"]), running=float(state["running"]),
               history=[float(v) for v in ck.loss_history], seconds=float(cfg["train"]["seconds"]))
    out_path = Path(path) if out is None else check_output_path(out, force)
    _loop(run, steps, save_every=save_every, out=out_path, force=force or out is None,
          progress=progress, log_every=log_every)
    return _checkpoint(run, out_path)
