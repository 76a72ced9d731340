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
from .enums import DecoderType, LossType, Parameterization, VarianceType
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
    "read_payload",
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


def read_payload(p: Path, map_location: str | torch.device) -> dict[str, Any]:
    """The raw plain-data payload of a checkpoint file (header and version checked)."""
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


#: top-level entries of a checkpoint file and the type each must have
PAYLOAD_FIELDS: dict[str, type] = {
    "config": dict, "weights": dict, "ema_weights": dict, "schedule_betas": Tensor,
    "loss_history": Tensor,
}
#: config entries every checkpoint has
CONFIG_FIELDS = ("model", "schedule", "parameterization", "variance", "loss", "decoder",
                 "levels", "event_shape", "dataset")


class _Fields:
    """Turns every failure while reading a named field into one CheckpointError."""

    def __init__(self, p: Path) -> None:
        self.p = p

    def error(self, field_name: str, msg: str) -> CheckpointError:
        return CheckpointError(f"checkpoint {str(self.p)!r}: {field_name}: {msg}")

    def get(self, field_name: str, make: Any) -> Any:
        try:
            return make()
        except CheckpointError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure of a field is a bad checkpoint
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise self.error(field_name, msg) from None


def _check_fields(f: _Fields, payload: dict[str, Any]) -> None:
    for name, typ in PAYLOAD_FIELDS.items():
        if name not in payload:
            raise f.error(name, "missing (the file is incomplete or was written by other code)")
        if not isinstance(payload[name], typ):
            raise f.error(name, f"expected a {typ.__name__}, got {type(payload[name]).__name__}")
    cfg = payload["config"]
    for name in CONFIG_FIELDS:
        if name not in cfg:
            raise f.error(f"config[{name!r}]", "missing")
    if not isinstance(cfg["model"], dict):
        raise f.error("config['model']", f"expected a dict, got {type(cfg['model']).__name__}")
    if not isinstance(cfg["schedule"], dict) or "T" not in cfg["schedule"]:
        raise f.error("config['schedule']", "expected a dict with name, params and T")


def _schedule(f: _Fields, payload: dict[str, Any]) -> Schedule:
    betas = payload["schedule_betas"]
    sched_cfg = payload["config"]["schedule"]
    if betas.ndim != 1:
        raise f.error("schedule_betas", f"expected a 1-D tensor, got shape {tuple(betas.shape)}")
    if betas.numel() != sched_cfg["T"]:
        raise f.error("schedule_betas", f"holds {betas.numel()} betas, but config['schedule'] "
                      f"says T = {sched_cfg['T']!r}: the file is inconsistent")
    return f.get("schedule_betas", lambda: Schedule(
        betas.to("cpu", torch.float64).numpy(), str(sched_cfg.get("name", "custom")),
        dict(sched_cfg.get("params") or {})))


def _model(f: _Fields, cfg: dict[str, Any], model: nn.Module | None) -> nn.Module:
    if model is not None:
        return model
    kind = cfg["model"].get("kind")
    if kind not in MODELS:
        raise CheckpointError(
            f"the checkpoint's model ({cfg['model'].get('class', kind)!r}) is not a registered "
            "kind; build it yourself and pass it as load_checkpoint(path, model=...)."
        )
    with torch.random.fork_rng(devices=[]):  # the initial weights are overwritten below;
        return f.get("config['model']['args']",  # keep the global RNG untouched
                     lambda: build_model(kind, **cfg["model"]["args"]))


def _load_weights(f: _Fields, model: nn.Module, weights: dict[str, Any], name: str) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in weights]
    extra = [k for k in weights if k not in own]
    if missing or extra:
        raise f.error(name, f"do not fit the model: missing {missing[:3]}, unexpected "
                      f"{extra[:3]}")
    for k, v in own.items():
        w = weights[k]
        if not isinstance(w, Tensor) or tuple(w.shape) != tuple(v.shape):
            got = tuple(w.shape) if isinstance(w, Tensor) else type(w).__name__
            raise f.error(f"{name}[{k!r}]", f"has shape {got}; the model needs {tuple(v.shape)}")
        if w.is_floating_point() and not bool(torch.isfinite(w).all()):
            raise f.error(f"{name}[{k!r}]", "holds NaN or Inf")
    model.load_state_dict(weights)


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: nn.Module | None = None,
    map_location: str | torch.device = "cpu",
    use_ema: bool = True,
) -> Checkpoint:
    """Rebuild the model, schedule, diffusion and dataset saved by
    :func:`ddpm_theory.backend.train.train`.

    Every field is validated before it is used: a missing entry, a weight of the wrong
    shape or with NaN, an unknown parameterization/variance/loss/decoder, betas outside
    (0, 1] or of another length than the config's T, dataset arguments the registry
    refuses: each is a :class:`CheckpointError` naming the field.

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
        A missing file; a file that is not a checkpoint, of another format version, or
        with a bad field (named).
    """
    p = Path(path)
    payload = read_payload(p, map_location)
    f = _Fields(p)
    _check_fields(f, payload)
    cfg = payload["config"]
    schedule = _schedule(f, payload)
    param = f.get("config['parameterization']", lambda: Parameterization.parse(
        cfg["parameterization"]))
    var = f.get("config['variance']", lambda: VarianceType.parse(cfg["variance"]))
    f.get("config['loss']", lambda: LossType.parse(cfg["loss"]))
    f.get("config['decoder']", lambda: DecoderType.parse(cfg["decoder"]))
    diffusion = f.get("config['parameterization']",
                      lambda: GaussianDiffusion(schedule, param, var))
    net = _model(f, cfg, model)
    name = "ema_weights" if use_ema else "weights"
    _load_weights(f, net, payload[name], name)
    net.to(map_location).eval()
    ds_cfg = cfg.get("dataset") or {}
    dataset = None
    if ds_cfg.get("name") in DATASETS:
        dataset = f.get("config['dataset']",
                        lambda: get_dataset(ds_cfg["name"], **(ds_cfg.get("args") or {})))
        if tuple(dataset.event_shape) != tuple(cfg["event_shape"]):
            raise f.error("config['event_shape']", f"is {cfg['event_shape']!r}, but the dataset "
                          f"{ds_cfg['name']!r} has examples of shape {dataset.event_shape}")
    return Checkpoint(net, diffusion, dataset, cfg, payload["loss_history"], p)
