"""Small denoising networks following the library's call ``model(x_t, t)``.

``t`` is a Long tensor of paper timesteps ``(B,)``; with ``learned_variance=True``
a model returns twice the features/channels (mean-parameter block first), as
documented in :mod:`ddpm_theory.backend.process`. Any ``torch.nn.Module`` with
this call works with the library; these two are registered in :data:`MODELS`
so that a checkpoint can rebuild them from plain data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["timestep_embedding", "MLPDenoiser", "UNet", "MODELS", "build_model", "model_config"]


def timestep_embedding(t: Tensor, dim: int, max_period: float = 10000.0) -> Tensor:
    """Sinusoidal embedding of the timestep, ``(B,) -> (B, dim)``: [cos(t ω_k), sin(t ω_k)]
    with ω_k = max_period^(−k/(dim/2)) (Vaswani et al. 2017, Sec. 3.5; used for the
    diffusion timestep by Ho et al. 2020, Appendix B)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half
    )
    args = t.to(torch.float32)[:, None] * freqs[None]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=1)
    return emb


class MLPDenoiser(nn.Module):
    """A residual MLP for data of shape ``(B, dim)`` with a sinusoidal time embedding.

    Parameters
    ----------
    dim
        Data dimension D.
    hidden
        Width of the hidden layers.
    depth
        Number of residual blocks.
    time_dim
        Size of the sinusoidal embedding.
    learned_variance
        Output 2D values (mean-parameter, then variance-parameter) instead of D.
    """

    kind = "mlp"

    def __init__(
        self, dim: int, hidden: int = 128, depth: int = 3, time_dim: int = 64,
        learned_variance: bool = False,
    ) -> None:
        super().__init__()
        self.args = {
            "dim": dim, "hidden": hidden, "depth": depth, "time_dim": time_dim,
            "learned_variance": learned_variance,
        }
        self.dim, self.time_dim = dim, time_dim
        self.inp = nn.Linear(dim, hidden)
        self.time = nn.Sequential(
            nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
            )
            for _ in range(depth)
        )
        self.out = nn.Sequential(nn.SiLU(), nn.Linear(hidden, dim * (2 if learned_variance else 1)))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(
                f"MLPDenoiser expects x of shape (B, {self.dim}); got {tuple(x.shape)}."
            )
        emb = self.time(timestep_embedding(t, self.time_dim).to(x.dtype))
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h + emb)
        return self.out(h)


def norm_groups(channels: int) -> int:
    """GroupNorm groups for ``channels``: the largest divisor not above 8 (Wu and He 2018
    use 32 groups; 8 suits these small widths). This is ``min(8, channels)`` wherever that
    divides; other widths (12, 20, ...) take a smaller divisor instead of failing."""
    return max(g for g in range(1, min(8, channels) + 1) if channels % g == 0)


class _ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(norm_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = nn.GroupNorm(norm_groups(cout), cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """A small U-Net (Ronneberger et al. 2015; the DDPM variant of Ho et al. 2020,
    Appendix B, without attention) for ``(B, channels, size, size)`` images.

    Parameters
    ----------
    channels
        Image channels (1 for the digits).
    image_size
        Height = width; must be divisible by 2^(len(mults) − 1) (8 with
        mults (1, 2); 28 with (1, 2, 2)).
    base
        Channels at the first level; level i has ``base * mults[i]``.
    mults
        Channel multipliers per resolution level.
    learned_variance
        Output 2·channels (mean-parameter, then variance-parameter).
    """

    kind = "unet"

    def __init__(
        self, channels: int = 1, image_size: int = 8, base: int = 32,
        mults: Sequence[int] = (1, 2), learned_variance: bool = False,
    ) -> None:
        super().__init__()
        mults = tuple(int(m) for m in mults)
        if image_size % (2 ** (len(mults) - 1)):
            raise ValueError(
                f"image_size {image_size} must be divisible by 2^(len(mults)-1) = "
                f"{2 ** (len(mults) - 1)}."
            )
        self.args = {
            "channels": channels, "image_size": image_size, "base": base, "mults": list(mults),
            "learned_variance": learned_variance,
        }
        self.channels, self.image_size = channels, image_size
        emb_dim = 4 * base
        self.time_dim = base
        self.time = nn.Sequential(nn.Linear(base, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        ch = [base * m for m in mults]
        self.conv_in = nn.Conv2d(channels, base, 3, padding=1)
        self.down = nn.ModuleList(
            _ResBlock(cin, cout, emb_dim) for cin, cout in zip([base, *ch[:-1]], ch, strict=True)
        )
        self.downsample = nn.ModuleList(
            nn.Conv2d(c, c, 3, stride=2, padding=1) for c in ch[:-1]
        )
        self.mid = _ResBlock(ch[-1], ch[-1], emb_dim)
        self.up = nn.ModuleList(_ResBlock(2 * c, c, emb_dim) for c in reversed(ch))
        self.upsample = nn.ModuleList(
            nn.Conv2d(c, c_next, 3, padding=1)
            for c, c_next in zip(ch[:0:-1], ch[-2::-1], strict=True)
        )
        self.norm_out = nn.GroupNorm(norm_groups(ch[0]), ch[0])
        self.conv_out = nn.Conv2d(ch[0], channels * (2 if learned_variance else 1), 3, padding=1)

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        want = (self.channels, self.image_size, self.image_size)
        if x.ndim != 4 or tuple(x.shape[1:]) != want:
            raise ValueError(f"UNet expects x of shape (B, {want}); got {tuple(x.shape)}.")
        emb = self.time(timestep_embedding(t, self.time_dim).to(x.dtype))
        h = self.conv_in(x)
        skips = []
        for i, block in enumerate(self.down):
            h = block(h, emb)
            skips.append(h)
            if i < len(self.downsample):
                h = self.downsample[i](h)
        h = self.mid(h, emb)
        for j, block in enumerate(self.up):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            if j < len(self.upsample):
                h = self.upsample[j](nn.functional.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


#: model kind -> class; a checkpoint stores the kind and the constructor arguments
MODELS: dict[str, Callable[..., nn.Module]] = {"mlp": MLPDenoiser, "unet": UNet}


def build_model(kind: str, **args: Any) -> nn.Module:
    """Instantiate a registered model; an unknown kind lists the known ones."""
    try:
        cls = MODELS[kind]
    except KeyError:
        raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(MODELS)}.") from None
    return cls(**args)


def model_config(model: nn.Module) -> dict[str, Any]:
    """``{"kind": ..., "args": {...}}`` for a registered model, or ``{"kind": None,
    "class": <qualified name>}`` for any other module (which then has to be passed
    to ``load_checkpoint(..., model=...)``)."""
    kind = getattr(model, "kind", None)
    if kind in MODELS and isinstance(model, MODELS[kind]):  # type: ignore[arg-type]
        args: Mapping[str, Any] = getattr(model, "args")  # noqa: B009 - typed read
        return {"kind": kind, "args": dict(args)}
    cls = type(model)
    return {"kind": None, "class": f"{cls.__module__}.{cls.__qualname__}"}


#: the size arguments each default model takes (``train(model_args=...)``, the CLI flags)
MODEL_SIZE_ARGS = {"mlp": ("hidden", "depth"), "unet": ("base", "mults")}


def default_model_kind(event_shape: tuple[int, ...]) -> str:
    """``"mlp"`` for vector data ``(D,)``, ``"unet"`` for square images ``(C, S, S)``."""
    if len(event_shape) == 1:
        return "mlp"
    if len(event_shape) == 3 and event_shape[1] == event_shape[2]:
        return "unet"
    raise ValueError(f"no default model for data of shape {event_shape}; pass model=.")


def default_model(
    event_shape: tuple[int, ...], learned_variance: bool, **size: Any
) -> nn.Module:
    """An MLP for vector data ``(D,)``; a U-Net for square images ``(C, S, S)``.
    ``size`` overrides the width/depth (:data:`MODEL_SIZE_ARGS`)."""
    kind = default_model_kind(event_shape)
    unknown = sorted(set(size) - set(MODEL_SIZE_ARGS[kind]))
    if unknown:
        raise ValueError(f"the default {kind} for data of shape {event_shape} takes "
                         f"{' and '.join(MODEL_SIZE_ARGS[kind])}, not {', '.join(unknown)}.")
    for k, v in size.items():
        vals = v if k == "mults" else (v,)
        if not vals or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in vals):
            raise ValueError(f"model size {k} must be positive integers; got {v!r}.")
    if kind == "mlp":
        return MLPDenoiser(event_shape[0], learned_variance=learned_variance, **size)
    c, s = event_shape[0], event_shape[1]
    size.setdefault("mults", (1, 2) if s <= 8 or s % 4 else (1, 2, 2))
    return UNet(c, s, learned_variance=learned_variance, **size)
