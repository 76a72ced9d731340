"""The bound along one sampled chain: log q(x_{1:T}|x_0) − log p_θ(x_{0:T}).

E_{q(x_{1:T}|x_0)}[log q(x_{1:T}|x_0) − log p_θ(x_{0:T})] = L_vlb(x_0) (Ho et al. 2020,
Eq. 3). One chain x_t = √α_t x_{t−1} + √β_t z_t (Eq. 2) per example gives an
unbiased single-sample estimate; when p_θ equals the true reverse process (Gaussian
data with its exact denoiser and σ_t² = β_t) it equals −log q(x_0) with zero
variance, which makes it the sharpest anchor of the decomposition. All T model
calls of all chains are batched together.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from ..backend.enums import DecoderType, Parameterization, VarianceType
from ..backend.likelihood import ApproxCdf, gaussian_log_likelihood
from ..backend.losses import decoder_nll, sum_flat
from ..backend.process import GaussianDiffusion, ModelPrediction
from ..backend.schedule import Schedule
from .evaluate import AuditError

__all__ = ["trajectory_bound"]

_LOG_2PI = math.log(2.0 * math.pi)


def trajectory_bound(
    model: Callable[[Tensor, Tensor], Tensor],
    x0: Tensor,
    schedule: Schedule,
    *,
    parameterization: Parameterization | str = "eps",
    variance: VarianceType | str = "beta",
    decoder: DecoderType | str = "gaussian",
    levels: int | None = None,
    approx_cdf: ApproxCdf = "exact",
    generator: torch.Generator,
    batch_size: int = 16384,
) -> Tensor:
    """log q(x_{1:T}|x_0) − log p_θ(x_{0:T}) on one forward chain per example, in nats,
    shape ``(B,)``, float64 (Ho et al. 2020, Eq. 3).

    log q = Σ_t log N(x_t; √α_t x_{t−1}, β_t I), evaluated from the chain's own
    z_t as Σ (−½z_t² − ½ log 2πβ_t) per dimension; log p_θ = log N(x_T; 0, I) +
    Σ_{t≥2} log N(x_{t−1}; μ_θ(x_t, t), σ_t² I) + log p_θ(x_0|x_1).

    Raises
    ------
    AuditError
        NaN or Inf in the model output.
    """
    dif = GaussianDiffusion(schedule, parameterization, variance)
    dec = DecoderType.parse(decoder)
    x = x0.detach().to(torch.float64)
    B, T, dev = x.shape[0], schedule.T, x.device
    z = torch.randn((T, *x.shape), generator=generator, dtype=torch.float64,
                    device=generator.device).to(dev)
    sa = torch.from_numpy(np.sqrt(schedule.alphas)).to(dev)
    sb = torch.from_numpy(np.sqrt(schedule.betas)).to(dev)
    chain = [x]
    for k in range(T):  # x_t = √α_t x_{t−1} + √β_t z_t (Ho et al. 2020, Eq. 2), t = k + 1
        chain.append(sa[k] * chain[-1] + sb[k] * z[k])
    xs = torch.stack(chain)  # (T + 1, B, *event); xs[t] = x_t
    log_b = torch.from_numpy(np.log(schedule.betas)).to(dev)
    D = x[0].numel()
    log_q = (-0.5 * z.reshape(T, B, -1) ** 2).sum(-1).sum(0) - 0.5 * D * (
        T * _LOG_2PI + log_b.sum())
    log_p = sum_flat(gaussian_log_likelihood(xs[T], mean=torch.zeros_like(x),
                                             logvar=torch.zeros_like(x)))
    tt = torch.arange(1, T + 1, device=dev).repeat_interleave(B)  # row r: t, example r % B
    ii = torch.arange(B, device=dev).repeat(T)
    dtype = next((p.dtype for p in getattr(model, "parameters", lambda: iter(()))()
                  if p.is_floating_point()), torch.float64)
    for s in range(0, T * B, batch_size):
        t, i = tt[s:s + batch_size], ii[s:s + batch_size]
        x_t, x_prev = xs[t, i], xs[t - 1, i]
        with torch.no_grad():
            out = model(x_t.to(dtype), t).detach().to(torch.float64)
        if not bool(torch.isfinite(out).all()):
            raise AuditError("the model output is NaN or Inf on the sampled chain.")
        pred = dif.p_mean_variance(out, x_t, t)
        lv = pred.log_variance.expand_as(x_t)
        ll = sum_flat(gaussian_log_likelihood(x_prev, mean=pred.mean, logvar=lv))
        first = t == 1
        if bool(first.any()):
            sub = ModelPrediction(*(f.expand_as(x_t)[first] for f in (
                pred.mean, pred.variance, pred.log_variance, pred.pred_x0, pred.pred_eps)))
            ll[first] = -decoder_nll(x_prev[first], sub, decoder=dec, levels=levels,
                                     approx_cdf=approx_cdf)
        log_p = log_p.index_add(0, i, ll)
    return log_q - log_p
