"""Checkpoints: weights plus a plain-data configuration, loadable without unpickling code.

A checkpoint file is a ``torch.save``'d dict of only dicts, lists, strings,
numbers, ``None`` and tensors, so ``torch.load(path, weights_only=True)`` opens
it and a file from elsewhere cannot run code::

    {"config": {...plain data...}, "weights": state_dict, "ema_weights": state_dict,
     "schedule_betas": float64 tensor (T,), "loss_history": float32 tensor (n_logged,)}

``config`` holds ``format``, ``format_version``, ``library_version``, ``model``
(kind + constructor args), ``schedule`` (name, params, T; the betas are stored
exactly beside it), ``parameterization``, ``variance``, ``loss``, ``decoder``,
``levels``, ``dataset`` (registry name + args) and ``train`` (the run's settings).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .data import DATASETS, get_dataset
from .dataset import Dataset
from .enums import DecoderType, LossType
from .models import MODELS, build_model
from .paths import write_output
from .process import GaussianDiffusion
from .schedule import Schedule

__all__ = [
    "Checkpoint",
    "CheckpointError",
    "FORMAT",
    "FORMAT_VERSION",
    "save_checkpoint",
    "load_checkpoint",
]

FORMAT = "ddpm_theory.checkpoint"
FORMAT_VERSION = 1


class CheckpointError(ValueError):
    """A file is not a ddpm_theory checkpoint, or one of another format version."""


@dataclass(frozen=True)
class Checkpoint:
    """A trained model with everything needed to use it.

    Attributes
    ----------
    model
        The network, in eval mode, with the EMA weights (or the raw weights when
        loaded with ``use_ema=False``).
    diffusion
        The :class:`GaussianDiffusion` (schedule, parameterisation, variance).
    dataset
        The training data law, or ``None`` if it cannot be rebuilt from the registry.
    config
        The plain-data configuration stored in the file.
    loss_history
        ``(n_logged,)`` running training loss at each logging step.
    path
        Where it was written or read, if anywhere.
    """

    model: nn.Module
    diffusion: GaussianDiffusion
    dataset: Dataset | None
    config: dict[str, Any]
    loss_history: Tensor
    path: Path | None = None

    @property
    def schedule(self) -> Schedule:
        return self.diffusion.schedule

    @property
    def loss(self) -> LossType:
        return LossType.parse(self.config["loss"])

    @property
    def decoder(self) -> DecoderType:
        return DecoderType.parse(self.config["decoder"])

    @property
    def levels(self) -> int | None:
        return self.config["levels"]

    @property
    def event_shape(self) -> tuple[int, ...]:
        return tuple(self.config["event_shape"])


def _check_plain(obj: Any, where: str = "config") -> None:
    if obj is None or isinstance(obj, (str, int, float, bool, Tensor)):
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"{where} has a non-string key {k!r}.")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"{where} holds a {type(obj).__name__}; a checkpoint config holds only plain data "
        "(dict, list, str, int, float, bool, None, tensors)."
    )


def save_checkpoint(path: str | os.PathLike[str], payload: dict[str, Any], force: bool) -> Path:
    """Write ``payload`` (checked to be plain data) whole or not at all
    (:func:`~ddpm_theory.backend.paths.write_output`); never overwrites unless ``force``."""
    _check_plain(payload, "checkpoint")
    return write_output(path, lambda f: torch.save(payload, f), force)


def _read(p: Path, map_location: str | torch.device) -> dict[str, Any]:
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint {str(p)!r} does not exist.")
    try:
        payload = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as exc:  # noqa: BLE001 - the weights-only unpickler also raises KeyError,
        # IndexError, ... on foreign bytes (a text file gives KeyError); all mean "not plain data"
        raise CheckpointError(
            f"{str(p)!r} is not a ddpm_theory checkpoint (it does not load as plain data: "
            f"{type(exc).__name__})."
        ) from None
    cfg = payload.get("config") if isinstance(payload, dict) else None
    if not isinstance(cfg, dict) or cfg.get("format") != FORMAT:
        raise CheckpointError(f"{str(p)!r} is not a ddpm_theory checkpoint (no {FORMAT!r} header).")
    if cfg.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{str(p)!r} is a checkpoint of format version {cfg.get('format_version')!r} "
            f"(library {cfg.get('library_version')!r}); this library reads version "
            f"{FORMAT_VERSION}: retrain, or load it with the library version that wrote it."
        )
    return payload


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module | None = None,
    map_location: str | torch.device = "cpu",
    use_ema: bool = True,
) -> Checkpoint:
    """Rebuild the model, schedule, diffusion and dataset saved by
    :func:`ddpm_theory.backend.train.train`.

    Parameters
    ----------
    path
        The checkpoint file (opened with ``weights_only=True``).
    model
        A module to load the weights into; required when the checkpoint holds a
        model class that is not in :data:`~ddpm_theory.backend.models.MODELS`.
    map_location
        Where to put the tensors.
    use_ema
        Load the exponential-moving-average weights (the default) or the raw ones.

    Raises
    ------
    FileNotFoundError, CheckpointError
        A missing file; a file that is not a checkpoint, or of another format version.
    """
    p = Path(path)
    payload = _read(p, map_location)
    cfg = payload["config"]
    if model is None:
        kind = cfg["model"].get("kind")
        if kind not in MODELS:
            raise CheckpointError(
                f"the checkpoint's model ({cfg['model'].get('class', kind)!r}) is not a registered "
                "kind; build it yourself and pass it as load_checkpoint(path, model=...)."
            )
        with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten below;
            model = build_model(kind, **cfg["model"]["args"])  # keep the global RNG untouched
    weights = payload["ema_weights"] if use_ema else payload["weights"]
    model.load_state_dict(weights)
    model.to(map_location).eval()
    sched_cfg = cfg["schedule"]
    schedule = Schedule(
        payload["schedule_betas"].to("cpu", torch.float64).numpy(),
        sched_cfg["name"],
        dict(sched_cfg["params"]),
    )
    diffusion = GaussianDiffusion(schedule, cfg["parameterization"], cfg["variance"])
    ds_cfg = cfg.get("dataset") or {}
    dataset = None
    if ds_cfg.get("name") in DATASETS:
        dataset = get_dataset(ds_cfg["name"], **ds_cfg["args"])
    return Checkpoint(model, diffusion, dataset, cfg, payload["loss_history"], p)
