"""Train a diffusers ``UNet2DModel`` with this library's loop; write a ``save_pretrained`` folder.

The folder is what a ``DDPMPipeline`` writes (``model_index.json``, ``unet/``,
``scheduler/``) plus ``ddpm_theory.json`` (the data law, decoder and levels), so
that diffusers loads it as usual and :func:`~ddpm_theory.adapters.diffusers.from_pretrained`
audits it with nothing written by hand. The scheduler configuration is the
inverse of the adapter's mapping; the schedules diffusers cannot name are
written as ``trained_betas``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ..backend.checkpoint import Checkpoint
from ..backend.enums import Parameterization, VarianceType
from ..backend.schedule import Schedule
from .diffusers import METADATA, PREDICTION_TYPES, _needs_diffusers
from .diffusers_schedule import TIMESTEP_OFFSET, AdapterError

__all__ = ["LibraryUNet", "diffusers_unet", "scheduler_config", "save_pretrained_folder"]

#: this library's reverse variance -> the diffusers variance_type with the same law
_VARIANCE_OUT = {VarianceType.BETA: "fixed_large", VarianceType.BETA_TILDE: "fixed_small",
                 VarianceType.LEARNED_RANGE: "learned_range"}
_PREDICTION_OUT = {v: k for k, v in PREDICTION_TYPES.items()}


class LibraryUNet(nn.Module):
    """A ``UNet2DModel`` in this library's training call ``model(x_t, t)``, t = 1..T."""

    def __init__(self, unet: nn.Module) -> None:
        super().__init__()
        self.unet = unet

    def forward(self, x_t: Tensor, t: Tensor) -> Tensor:
        return self.unet(x_t, t - TIMESTEP_OFFSET).sample


def diffusers_unet(event_shape: tuple[int, ...], learned_variance: bool, seed: int) -> LibraryUNet:
    """A small ``UNet2DModel`` (2 levels, 32/64 channels) for ``(C, H, W)`` images, its
    initial weights from ``seed`` (the global RNG is restored)."""
    lib = _needs_diffusers()
    if len(event_shape) != 3 or event_shape[1] != event_shape[2] or event_shape[1] % 2:
        raise AdapterError(f"a diffusers UNet2DModel needs square images (C, H, H), H even; the "
                           f"data has examples of shape {tuple(event_shape)}.")
    C, H = int(event_shape[0]), int(event_shape[1])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        unet = lib.UNet2DModel(
            sample_size=H, in_channels=C, out_channels=2 * C if learned_variance else C,
            layers_per_block=1, block_out_channels=(32, 64), norm_num_groups=8,
            down_block_types=("DownBlock2D", "DownBlock2D"),
            up_block_types=("UpBlock2D", "UpBlock2D"),
        )
    return LibraryUNet(unet)


def scheduler_config(schedule: Schedule, parameterization: Parameterization,
                     variance: VarianceType) -> dict[str, Any]:
    """The ``DDPMScheduler`` configuration of a library process (clip_sample off: the
    library's reverse process does not clip x̂_0)."""
    if parameterization not in _PREDICTION_OUT:
        raise AdapterError(f"parameterization {parameterization.value!r} has no diffusers "
                           "prediction_type; use one of "
                           f"{', '.join(p.value for p in _PREDICTION_OUT)}.")
    if variance not in _VARIANCE_OUT:
        raise AdapterError(f"variance {variance.value!r} has no diffusers variance_type with the "
                           f"same law; use one of {', '.join(v.value for v in _VARIANCE_OUT)}.")
    cfg: dict[str, Any] = {"num_train_timesteps": schedule.T, "clip_sample": False,
                           "prediction_type": _PREDICTION_OUT[parameterization],
                           "variance_type": _VARIANCE_OUT[variance]}
    p = schedule.params
    if schedule.name in ("linear", "quadratic") and not p.get("scale_to_T"):
        cfg.update(beta_schedule="linear" if schedule.name == "linear" else "scaled_linear",
                   beta_start=p["beta_start"], beta_end=p["beta_end"])
    elif schedule.name == "cosine" and p == {"s": 0.008, "max_beta": 0.999}:
        cfg.update(beta_schedule="squaredcos_cap_v2")
    else:
        cfg.update(trained_betas=[float(b) for b in schedule.betas])
    return cfg


def save_pretrained_folder(ckpt: Checkpoint, folder: str | os.PathLike[str],
                           force: bool = False) -> Path:
    """Write ``ckpt`` (its model a :class:`LibraryUNet`) as a diffusers pipeline folder.

    Raises
    ------
    FileExistsError, FileNotFoundError, AdapterError
        An existing ``folder`` without ``force``; a missing parent folder; a model or
        process that diffusers cannot express.
    """
    lib = _needs_diffusers()
    out = Path(folder)
    if out.exists() and not force:
        raise FileExistsError(f"{str(out)!r} exists; pass force=True (--force) to replace it.")
    if not out.parent.is_dir():
        raise FileNotFoundError(f"output folder {str(out.parent)!r} does not exist; create it.")
    if not isinstance(ckpt.model, LibraryUNet):
        raise AdapterError("only a model built by diffusers_unet can be saved as a diffusers "
                           "folder.")
    dif = ckpt.diffusion
    sched = lib.DDPMScheduler(**scheduler_config(dif.schedule, dif.parameterization, dif.variance))
    meta = {"format": "ddpm_theory.diffusers",
            **{k: ckpt.config.get(k) for k in ("dataset", "decoder", "levels", "approx_cdf",
                                                "train")}}
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=out.name + ".", suffix=".tmp"))
    try:
        unet: Any = ckpt.model.unet
        unet.to("cpu").save_pretrained(tmp / "unet")
        sched.save_pretrained(tmp / "scheduler")
        (tmp / "model_index.json").write_text(json.dumps({
            "_class_name": "DDPMPipeline", "_diffusers_version": lib.__version__,
            "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DModel"],
        }, indent=2) + "\n")
        (tmp / METADATA).write_text(json.dumps(meta, indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out
