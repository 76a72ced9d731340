"""Training objectives and the per-term variational bound.

Shapes: x_0, x_t, ε are ``(B, *event)``; t is ``(B,)`` (paper timesteps); every
loss returned here is per example, ``(B,)``. Squared errors are means over the
data dimensions D; KL and NLL terms are sums over D, in nats.

The bound (Ho et al. 2020, Eq. 5): L_vlb = L_T + Σ_{t≥2} L_{t−1} + L_0 with
L_T = KL(q(x_T|x_0) ‖ N(0, I)), L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t))
and L_0 = −log p_θ(x_0|x_1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from .enums import DecoderType, LossType, VarianceType
from .likelihood import (
    ApproxCdf,
    discretized_gaussian_log_likelihood,
    gaussian_log_likelihood,
    normal_kl,
)
from .process import GaussianDiffusion, ModelPrediction

__all__ = [
    "LossTerms",
    "mean_flat",
    "sum_flat",
    "noise_loss",
    "mean_loss",
    "decoder_nll",
    "vlb_term",
    "prior_kl",
    "check_loss_variance",
    "training_losses",
]


@dataclass(frozen=True)
class LossTerms:
    """Per-example training loss and its parts.

    Attributes
    ----------
    loss
        ``(B,)`` the quantity optimised (averaged over the batch by the trainer).
    mse
        ``(B,)`` the squared-error part, mean over D (``None`` for ``vlb``).
    vlb
        ``(B,)`` the bound term L_{t−1} at the drawn t, nats summed over D (``None``
        for the pure squared-error losses).
    """

    loss: Tensor
    mse: Tensor | None = None
    vlb: Tensor | None = None


def mean_flat(x: Tensor) -> Tensor:
    """Mean over all but the batch dimension, ``(B, ...) -> (B,)``."""
    return x.reshape(x.shape[0], -1).mean(1)


def sum_flat(x: Tensor) -> Tensor:
    """Sum over all but the batch dimension, ``(B, ...) -> (B,)``."""
    return x.reshape(x.shape[0], -1).sum(1)


def noise_loss(eps: Tensor, eps_pred: Tensor) -> Tensor:
    """‖ε − ε_θ‖²/D per example: L_simple (Ho et al. 2020, Eq. 14)."""
    return mean_flat((eps - eps_pred) ** 2)


def mean_loss(
    diffusion: GaussianDiffusion, x0: Tensor, x_t: Tensor, t: Tensor, mean_pred: Tensor
) -> Tensor:
    """‖μ̃_t(x_t, x_0) − μ_θ(x_t, t)‖²/D per example: the mean-matching loss of
    Ho et al. 2020, Eq. 8 without its 1/(2σ_t²) weight (the homework's mean loss)."""
    target = diffusion.q_posterior_mean_variance(x0, x_t, t).mean
    return mean_flat((target - mean_pred) ** 2)


def decoder_nll(
    x0: Tensor,
    pred: ModelPrediction,
    *,
    decoder: DecoderType | str,
    levels: int | None = None,
    approx_cdf: ApproxCdf = "exact",
) -> Tensor:
    """L_0 = −log p_θ(x_0|x_1) in nats, summed over D, ``(B,)`` (Ho et al. 2020, Eq. 13
    for ``discretized``; the Gaussian density for ``gaussian``)."""
    decoder = DecoderType.parse(decoder)
    if decoder is DecoderType.GAUSSIAN:
        return -sum_flat(gaussian_log_likelihood(x0, mean=pred.mean, logvar=pred.log_variance))
    if levels is None:
        raise ValueError("the discretized decoder needs levels (e.g. 256, or 17 for digits).")
    ll = discretized_gaussian_log_likelihood(
        x0, mean=pred.mean, log_scale=0.5 * pred.log_variance, levels=levels, approx_cdf=approx_cdf
    )
    return -sum_flat(ll)


def vlb_term(
    diffusion: GaussianDiffusion,
    pred: ModelPrediction,
    x0: Tensor,
    x_t: Tensor,
    t: Tensor,
    *,
    decoder: DecoderType | str,
    levels: int | None = None,
    approx_cdf: ApproxCdf = "exact",
) -> Tensor:
    """L_{t−1} in nats (summed over D), ``(B,)``: KL(q(x_{t−1}|x_t,x_0) ‖ p_θ(x_{t−1}|x_t))
    for t ≥ 2 and the decoder NLL −log p_θ(x_0|x_1) for t = 1 (Ho et al. 2020, Eq. 5)."""
    post = diffusion.q_posterior_mean_variance(x0, x_t, t)
    first = (t == 1).reshape(-1, *([1] * (x0.ndim - 1)))
    # β̃_1 = 0 gives log-variance −∞ at t = 1, where the KL is not used: a finite stand-in
    # keeps the discarded branch (and its gradient) finite.
    post_logvar = torch.where(first, torch.zeros_like(post.log_variance), post.log_variance)
    kl = sum_flat(normal_kl(post.mean, post_logvar, pred.mean, pred.log_variance))
    nll = decoder_nll(x0, pred, decoder=decoder, levels=levels, approx_cdf=approx_cdf)
    return torch.where(t == 1, nll, kl)


def prior_kl(diffusion: GaussianDiffusion, x0: Tensor) -> Tensor:
    """L_T = KL(q(x_T|x_0) ‖ N(0, I)) in nats, ``(B,)`` (Ho et al. 2020, Eq. 5): no
    dependence on the model."""
    t = torch.full((x0.shape[0],), diffusion.T, dtype=torch.long, device=x0.device)
    q = diffusion.q_mean_variance(x0, t)
    zero = torch.zeros_like(x0)
    return sum_flat(normal_kl(q.mean, q.log_variance.expand_as(x0), zero, zero))


def check_loss_variance(loss: LossType | str, variance: VarianceType | str) -> LossType:
    """The parsed loss, after checking that it trains every output of the model.

    Raises
    ------
    ValueError
        A learned variance with a pure squared-error loss (its variance output
        would get no training signal), or ``hybrid`` with a fixed variance.
    """
    loss, variance = LossType.parse(loss), VarianceType.parse(variance)
    if variance.is_learned and loss not in (LossType.VLB, LossType.HYBRID):
        raise ValueError(
            f"variance {variance.value!r} needs loss 'hybrid' or 'vlb'; with "
            f"{loss.value!r} its variance output gets no gradient."
        )
    if loss is LossType.HYBRID and not variance.is_learned:
        raise ValueError("loss 'hybrid' trains a learned variance: use variance 'learned_range'.")
    return loss


def training_losses(
    diffusion: GaussianDiffusion,
    model: nn.Module,
    x0: Tensor,
    t: Tensor,
    noise: Tensor,
    *,
    loss: LossType | str = LossType.SIMPLE,
    decoder: DecoderType | str = DecoderType.GAUSSIAN,
    levels: int | None = None,
    approx_cdf: ApproxCdf = "exact",
    vlb_weight: float = 1e-3,
) -> LossTerms:
    """The per-example training loss for x_t = q_sample(x_0, t, noise) and model(x_t, t).

    Squared-error losses compare the prediction converted to the loss's space (ε,
    μ, x_0 or v) with its target, so any parameterisation trains with any of them.
    ``vlb`` optimises T · L_{t−1}/D (nats per dimension; with t uniform on 1..T its
    mean is (Σ_{t=1}^T L_{t−1})/D). ``hybrid`` is L_simple + λ T L_{t−1}/D with
    the mean detached in the second part (Nichol & Dhariwal 2021, Eq. 16 and
    Sec. 3.1), λ = ``vlb_weight`` (0.001 in the paper); at T = 1000 this is
    their released code's weighting (there in bits).

    Raises
    ------
    ValueError
        As :func:`check_loss_variance`.
    """
    loss = check_loss_variance(loss, diffusion.variance)
    x_t = diffusion.q_sample(x0, t, noise)
    out = model(x_t, t)
    pred = diffusion.p_mean_variance(out, x_t, t)
    D = x0[0].numel()
    if loss is LossType.SIMPLE:
        mse = noise_loss(noise, pred.pred_eps)
    elif loss is LossType.X0_MSE:
        mse = mean_flat((x0 - pred.pred_x0) ** 2)
    elif loss is LossType.V_MSE:
        v = diffusion.predict_v(x0, t, noise)
        mse = mean_flat((v - diffusion.predict_v(pred.pred_x0, t, pred.pred_eps)) ** 2)
    elif loss is LossType.MEAN_MSE:
        mse = mean_loss(diffusion, x0, x_t, t, pred.mean)
    else:
        kw: dict[str, Any] = {"decoder": decoder, "levels": levels, "approx_cdf": approx_cdf}
        if loss is LossType.VLB:
            vlb = vlb_term(diffusion, pred, x0, x_t, t, **kw)
            return LossTerms(diffusion.T * vlb / D, None, vlb)
        mean_part, var_part = out.chunk(2, dim=1)
        frozen = diffusion.p_mean_variance(torch.cat([mean_part.detach(), var_part], 1), x_t, t)
        vlb = vlb_term(diffusion, frozen, x0, x_t, t, **kw)
        mse = noise_loss(noise, pred.pred_eps)
        return LossTerms(mse + vlb_weight * diffusion.T * vlb / D, mse, vlb)
    return LossTerms(mse, mse, None)
