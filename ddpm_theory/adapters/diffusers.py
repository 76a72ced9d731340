"""Audit a Hugging Face ``diffusers`` model as it is: a ``UNet2DModel`` with a ``DDPMScheduler``.

:func:`from_diffusers` (objects) and :func:`from_pretrained` (a local
``save_pretrained`` folder; never a hub download) return a :class:`DiffusersModel`:
the network in this library's calling convention ``model(x_t, t)`` (t the paper
timestep 1..T), the float64 :class:`~ddpm_theory.backend.schedule.Schedule`, the
parameterisation, the reverse variance and the clipping of x̂_0, each mapped from
the scheduler's configuration explicitly (tables below). Pass it to
:func:`ddpm_theory.elbo_terms` as the model. A setting the library cannot audit
is refused with an :class:`AdapterError` naming it.

=====================  ======================================================================
diffusers              this library
=====================  ======================================================================
timestep t_d           paper timestep t = t_d + 1 (the network is called with t − 1)
``epsilon``            ``eps``  (Ho et al. 2020, Eq. 11)
``sample``             ``x0``
``v_prediction``       ``v``    (Salimans & Ho 2022, Sec. 4)
``fixed_small``        ``beta_tilde``: σ_t² = β̃_t (Ho et al. 2020, Sec. 3.2)
``fixed_small_log``    ``beta_tilde`` (diffusers returns σ_t = exp(½ log β̃_t): the same law)
``fixed_large``        ``beta``: σ_t² = β_t
``learned``            ``learned`` with log σ_t² = log v (diffusers' second block is σ_t² itself)
``learned_range``      ``learned_range`` (Nichol & Dhariwal 2021, Eq. 15)
``fixed_large_log``    refused: ``DDPMScheduler.step`` takes the square root of log β_t < 0
``clip_sample``        x̂_0 clamped to ±``clip_sample_range`` before the posterior mean
``thresholding``       dynamic thresholding of x̂_0 (Saharia et al. 2022, Sec. 2.3)
=====================  ======================================================================

With clipping or thresholding in force, the callable outputs the clipped x̂_0
(parameterisation ``x0``), so the audited mean is exactly the one
``DDPMScheduler.step`` samples from. Where diffusers and this library differ,
the library's convention is used and stated: at t = 1 the scheduler's last step
adds no noise and defines no likelihood p(x_0|x_1); the decoder term L_0 uses the
library's σ_1² (β̃_2 for ``beta_tilde``, Ho et al.'s released code).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..backend.data import DATASETS, get_dataset
from ..backend.dataset import Dataset
from ..backend.enums import DecoderType, Parameterization, VarianceType
from ..backend.process import GaussianDiffusion
from ..backend.schedule import Schedule
from .diffusers_schedule import TIMESTEP_OFFSET, AdapterError, schedule_from_config

__all__ = ["AdapterError", "Clipping", "DiffusersDenoiser", "DiffusersModel", "from_diffusers",
           "from_pretrained", "METADATA", "PREDICTION_TYPES", "VARIANCE_TYPES"]

#: file this library writes beside ``unet/`` and ``scheduler/`` (data law, decoder, levels)
METADATA = "ddpm_theory.json"

#: diffusers ``prediction_type`` -> this library's parameterisation
PREDICTION_TYPES: dict[str, Parameterization] = {
    "epsilon": Parameterization.EPS,
    "sample": Parameterization.X0,
    "v_prediction": Parameterization.V,
}

#: diffusers ``variance_type`` -> this library's reverse variance
VARIANCE_TYPES: dict[str, VarianceType] = {
    "fixed_small": VarianceType.BETA_TILDE,
    "fixed_small_log": VarianceType.BETA_TILDE,
    "fixed_large": VarianceType.BETA,
    "learned": VarianceType.LEARNED,
    "learned_range": VarianceType.LEARNED_RANGE,
}

_REFUSED_VARIANCE = {
    "fixed_large_log": "DDPMScheduler.step takes the square root of log beta_t (negative), so "
                       "its sampler gives NaN and there is no reverse process to audit; "
                       "'fixed_large' (sigma_t^2 = beta_t) is the law it stands for",
}


def _needs_diffusers() -> Any:
    try:
        import diffusers
    except ImportError:
        raise AdapterError(
            "auditing a diffusers model needs the optional extra: "
            "pip install 'ddpm-theory[diffusers]'."
        ) from None
    return diffusers


@dataclass(frozen=True)
class Clipping:
    """What ``DDPMScheduler.step`` does to x̂_0 before the posterior mean.

    ``clip`` clamps to ±``clip_range``; ``thresholding`` (which wins, as in
    diffusers) clamps each example to ±s and divides by s, s the ``ratio``
    quantile of |x̂_0| clamped to [1, ``max_value``] (Saharia et al. 2022, Sec. 2.3)."""

    clip: bool = False
    clip_range: float = 1.0
    thresholding: bool = False
    ratio: float = 0.995
    max_value: float = 1.0

    @property
    def active(self) -> bool:
        return self.clip or self.thresholding

    def apply(self, x0: Tensor) -> Tensor:
        """x̂_0 after thresholding or clipping (unchanged when neither is set)."""
        if self.thresholding:
            flat = x0.reshape(x0.shape[0], -1)
            s = torch.quantile(flat.abs(), self.ratio, dim=1).clamp(1.0, self.max_value)
            s = s.unsqueeze(1)
            return (torch.clamp(flat, -s, s) / s).reshape(x0.shape)
        if self.clip:
            return x0.clamp(-self.clip_range, self.clip_range)
        return x0


class DiffusersDenoiser:
    """A ``UNet2DModel`` called as ``model(x_t, t)`` with paper timesteps t = 1..T.

    The network runs in its own dtype on its own device; its output is returned in
    float64, rearranged for this library: a ``learned`` variance block v becomes
    log v, and with :class:`Clipping` in force the mean block becomes the clipped
    x̂_0. Not an ``nn.Module``, so that the audit hands it x_t in float64 and the
    conversion to x̂_0 is done in float64."""

    timestep_offset = TIMESTEP_OFFSET

    def __init__(self, unet: Any, diffusion: GaussianDiffusion, variance_type: str,
                 clipping: Clipping) -> None:
        self.unet, self.diffusion = unet, diffusion
        self.variance_type, self.clipping = variance_type, clipping
        self.learned = variance_type in ("learned", "learned_range")

    def __call__(self, x_t: Tensor, t: Tensor) -> Tensor:
        p = next(self.unet.parameters())
        with torch.no_grad():
            out = self.unet(x_t.to(p.device, p.dtype), (t - self.timestep_offset).to(p.device))
        out = (out.sample if hasattr(out, "sample") else out).to(x_t.device, torch.float64)
        x_t = x_t.to(torch.float64)
        C = x_t.shape[1]
        mean_part, var_part = (out[:, :C], out[:, C:]) if self.learned else (out, None)
        if var_part is not None and self.variance_type == "learned":
            bad = ~(var_part > 0).reshape(var_part.shape[0], -1).all(1)
            if bool(bad.any()):
                ts = sorted({int(v) - self.timestep_offset for v in t[bad].tolist()})
                raise AdapterError(
                    "variance_type 'learned': diffusers reads the network's second output "
                    "block as sigma_t^2 itself, which must be positive; it is not for "
                    f"{int(bad.sum())} inputs (diffusers timesteps {ts[:10]})."
                )
            var_part = torch.log(var_part)  # diffusers: the second block is σ_t² itself
        if self.clipping.active:
            x0, _ = self.diffusion.pred_x0_eps(mean_part, x_t, t)
            mean_part = self.clipping.apply(x0)
        return mean_part if var_part is None else torch.cat([mean_part, var_part], dim=1)

    def to(self, device: str | torch.device) -> DiffusersDenoiser:
        self.unet.to(device)
        return self


@dataclass(frozen=True)
class DiffusersModel:
    """Everything :func:`ddpm_theory.elbo_terms` needs to audit a diffusers model.

    Attributes
    ----------
    model
        The network in this library's calling convention (:class:`DiffusersDenoiser`).
    schedule
        The float64 schedule of the scheduler's configuration.
    prediction, parameterization
        What the network predicts, and what ``model`` outputs (``x0`` when
        clipping is in force, else the same).
    variance
        The reverse variance (from ``variance_type``).
    clipping
        The scheduler's clipping/thresholding of x̂_0 as audited.
    config
        The scheduler's configuration (plain data).
    event_shape
        ``(C, H, W)`` of one example.
    dataset, decoder, levels
        From the folder's ``ddpm_theory.json`` when this library wrote it, else None.
    path
        The folder read, if any.
    """

    model: DiffusersDenoiser
    schedule: Schedule
    prediction: Parameterization
    parameterization: Parameterization
    variance: VarianceType
    clipping: Clipping
    config: dict[str, Any]
    event_shape: tuple[int, ...]
    dataset: Dataset | None = None
    decoder: DecoderType | None = None
    levels: int | None = None
    path: Path | None = None

    def audit_source(self, device: torch.device) -> tuple[DiffusersDenoiser, dict[str, Any]]:
        """The callable (moved to ``device``) and the defaults it supplies to an audit."""
        defaults: dict[str, Any] = {
            "schedule": self.schedule, "parameterization": self.parameterization,
            "variance": self.variance, "levels": self.levels, "data": self.dataset,
        }
        if self.decoder is not None:
            defaults["decoder"] = self.decoder
        return self.model.to(device), defaults


def _choice(cfg: dict[str, Any], key: str, table: dict[str, Any], refused: dict[str, str]) -> Any:
    value = cfg.get(key)
    if value in refused:
        raise AdapterError(f"{key} {value!r} cannot be audited: {refused[value]}.")
    if value not in table:
        raise AdapterError(f"{key} {value!r} is not one this library maps; known: "
                           f"{', '.join(table)}.")
    return table[value]


def _check_scheduler(scheduler: Any) -> dict[str, Any]:
    name = type(scheduler).__name__
    if name != "DDPMScheduler":
        raise AdapterError(f"the scheduler is a {name}; the audit reads the DDPM chain of a "
                           "DDPMScheduler (build one from the same config: "
                           "DDPMScheduler.from_config(scheduler.config)).")
    if getattr(scheduler, "custom_timesteps", False) or scheduler.num_inference_steps:
        raise AdapterError("the scheduler has set_timesteps applied (a respaced chain); the audit "
                           "needs the full training chain: pass a fresh DDPMScheduler.")
    return dict(scheduler.config)


def _clipping(cfg: dict[str, Any], clip: bool | None) -> Clipping:
    thresholding = bool(cfg.get("thresholding", False))
    return Clipping(
        clip=bool(cfg.get("clip_sample", True)) if clip is None else clip,
        clip_range=float(cfg.get("clip_sample_range", 1.0)),
        thresholding=thresholding if clip is None else (thresholding and clip),
        ratio=float(cfg.get("dynamic_thresholding_ratio", 0.995)),
        max_value=float(cfg.get("sample_max_value", 1.0)),
    )


def _event_shape(unet: Any, variance_type: str, variance: VarianceType) -> tuple[int, ...]:
    """``(C, H, W)`` from the unet's config, after checking its output channels."""
    ucfg = dict(getattr(unet, "config", {}))
    cin, cout = ucfg.get("in_channels"), ucfg.get("out_channels")
    want = 2 * cin if variance.is_learned and cin is not None else cin
    if cin is not None and cout != want:
        raise AdapterError(
            f"variance_type {variance_type!r} needs out_channels = {want} for in_channels "
            f"= {cin}; the unet has out_channels = {cout}."
        )
    size = ucfg.get("sample_size")
    hw = tuple(size) if isinstance(size, (list, tuple)) else (size, size)
    return (int(cin), *(int(v) for v in hw)) if cin is not None and size is not None else ()


def from_diffusers(unet: Any, scheduler: Any, *, clip: bool | None = None) -> DiffusersModel:
    """Map a ``UNet2DModel`` and a ``DDPMScheduler`` to this library (module tables).

    Parameters
    ----------
    unet
        The network, called ``unet(x, t_d).sample`` with diffusers timesteps 0..T−1.
    scheduler
        A ``DDPMScheduler`` with the full training chain (no ``set_timesteps``).
    clip
        ``None`` audits the clipping/thresholding the scheduler applies in
        ``step``; ``False`` audits the network's raw x̂_0 (the chain a sampler
        without clipping draws from); ``True`` forces clipping at the configured range.

    Raises
    ------
    AdapterError
        Any setting that cannot be audited (named), e.g. ``fixed_large_log``, an
        ``epsilon`` model on a zero-terminal-SNR schedule, or output channels that
        do not fit the variance type.
    """
    cfg = _check_scheduler(scheduler)
    prediction = _choice(cfg, "prediction_type", PREDICTION_TYPES, {})
    variance = _choice(cfg, "variance_type", VARIANCE_TYPES, _REFUSED_VARIANCE)
    schedule = schedule_from_config(cfg)
    clipping = _clipping(cfg, clip)
    try:
        diffusion = GaussianDiffusion(schedule, prediction, variance)
    except ValueError as exc:
        raise AdapterError(f"prediction_type {cfg['prediction_type']!r} with this schedule "
                           f"cannot be audited: {exc}") from None
    event = _event_shape(unet, cfg["variance_type"], variance)
    param = Parameterization.X0 if clipping.active else prediction
    denoiser = DiffusersDenoiser(unet.eval(), diffusion, cfg["variance_type"], clipping)
    return DiffusersModel(denoiser, schedule, prediction, param, variance, clipping,
                          {k: v for k, v in cfg.items() if not k.startswith("_")}, event)


def _read_metadata(folder: Path) -> dict[str, Any]:
    f = folder / METADATA
    if not f.is_file():
        return {}
    try:
        meta = json.loads(f.read_text())
    except (OSError, ValueError) as exc:
        raise AdapterError(f"{str(f)!r} is not readable JSON: {exc}") from None
    return meta if isinstance(meta, dict) else {}


def from_pretrained(folder: str | os.PathLike[str], *, clip: bool | None = None,
                    device: str | torch.device = "cpu") -> DiffusersModel:
    """Load a local ``save_pretrained`` folder (``unet/`` and ``scheduler/``, as a
    ``DDPMPipeline`` writes it) and map it with :func:`from_diffusers`. Nothing is
    downloaded: the folder must exist here.

    Raises
    ------
    FileNotFoundError, AdapterError
        A missing folder, or one that is not a diffusers UNet2DModel/DDPMScheduler pair.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{str(root)!r} is not a folder.")
    missing = [s for s in ("unet", "scheduler") if not (root / s).is_dir()]
    if missing:
        raise AdapterError(f"{str(root)!r} is not a diffusers pipeline folder: it has no "
                           f"{' or '.join(m + '/' for m in missing)} (save a UNet2DModel and a "
                           "DDPMScheduler with save_pretrained into unet/ and scheduler/).")
    lib = _needs_diffusers()
    try:
        unet = lib.UNet2DModel.from_pretrained(root / "unet", local_files_only=True,
                                               low_cpu_mem_usage=False)
        scheduler = lib.DDPMScheduler.from_pretrained(root / "scheduler", local_files_only=True)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AdapterError(f"cannot load the diffusers folder {str(root)!r}: {exc}") from None
    adapted = from_diffusers(unet.to(device), scheduler, clip=clip)
    meta = _read_metadata(root)
    ds = meta.get("dataset") or {}
    dataset = get_dataset(ds["name"], **ds.get("args", {})) if ds.get("name") in DATASETS else None
    dec = DecoderType.parse(meta["decoder"]) if meta.get("decoder") else None
    return replace(adapted, dataset=dataset, decoder=dec, levels=meta.get("levels"), path=root)
