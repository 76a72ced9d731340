"""Gaussian KL divergences and decoder log-likelihoods, elementwise, in nats.

Everything here is elementwise (no reduction): sum over the data dimensions
yourself. Nothing is clipped: a probability that underflows gives a log of −∞,
reported as such.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor

#: how the discretised decoder evaluates Φ (see :func:`discretized_gaussian_log_likelihood`)
ApproxCdf = Literal["exact", "tanh", "tanh_clamped"]
APPROX_CDFS: tuple[str, ...] = ("exact", "tanh", "tanh_clamped")
#: the floor the released code of Ho et al. puts on each bin probability before the log
RELEASED_PROB_FLOOR = 1e-12

__all__ = [
    "ApproxCdf",
    "APPROX_CDFS",
    "RELEASED_PROB_FLOOR",
    "normal_kl",
    "gaussian_log_likelihood",
    "discretized_gaussian_log_likelihood",
    "approx_standard_normal_cdf",
    "bin_centers",
]

_LOG_2PI = math.log(2.0 * math.pi)
_LN2 = math.log(2.0)


def normal_kl(mean1: Tensor, logvar1: Tensor, mean2: Tensor, logvar2: Tensor) -> Tensor:
    """KL(N(mean1, e^logvar1) ‖ N(mean2, e^logvar2)) per element, in nats:
    ½(logvar2 − logvar1 + e^{logvar1 − logvar2} + (mean1 − mean2)² e^{−logvar2} − 1)
    (the univariate case of Kingma & Welling 2014, Appendix B, applied per dimension;
    Ho et al. 2020, Eq. 5 uses it for L_{t−1})."""
    return 0.5 * (
        -1.0
        + logvar2
        - logvar1
        + torch.exp(logvar1 - logvar2)
        + (mean1 - mean2) ** 2 * torch.exp(-logvar2)
    )


def gaussian_log_likelihood(x: Tensor, *, mean: Tensor, logvar: Tensor) -> Tensor:
    """log N(x; mean, e^logvar) per element, in nats (the continuous decoder)."""
    return -0.5 * (_LOG_2PI + logvar + (x - mean) ** 2 * torch.exp(-logvar))


def approx_standard_normal_cdf(x: Tensor) -> Tensor:
    """Φ(x) ≈ ½(1 + tanh(√(2/π)(x + 0.044715 x³))), the approximation used in
    Ho et al. 2020's released code (Page 1977, "Approximations to the cumulative
    normal function")."""
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def bin_centers(levels: int, *, dtype: torch.dtype = torch.float64) -> Tensor:
    """The ``levels`` grid points −1 + 2k/(levels − 1), k = 0..levels−1."""
    _check_levels(levels)
    k = torch.arange(levels, dtype=torch.float64)
    return (-1.0 + 2.0 * k / (levels - 1)).to(dtype)


def _check_levels(levels: int) -> None:
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2:
        raise ValueError(f"levels (number of grid values) must be an integer >= 2; got {levels!r}.")


def _log1mexp(d: Tensor) -> Tensor:
    """log(1 − e^d) for d ≤ 0, accurately on both sides of −log 2 (Mächler 2012,
    "Accurately Computing log(1 − exp(−|a|))"), with NaN-free gradients."""
    near = d > -_LN2
    d_near = torch.where(near, d, torch.full_like(d, -1.0))
    d_far = torch.where(near, torch.full_like(d, -1.0), d)
    return torch.where(near, torch.log(-torch.expm1(d_near)), torch.log1p(-torch.exp(d_far)))


def _log_cdf_diff(a: Tensor, b: Tensor) -> Tensor:
    """log(Φ(b) − Φ(a)) for a < b, exactly: reflected to the lower tail when a > 0
    (Φ(b) − Φ(a) = Φ(−a) − Φ(−b)), then log Φ(hi) + log(1 − Φ(lo)/Φ(hi))."""
    reflect = a > 0
    lo = torch.where(reflect, -b, a)
    hi = torch.where(reflect, -a, b)
    log_hi = torch.special.log_ndtr(hi)
    return log_hi + _log1mexp(torch.special.log_ndtr(lo) - log_hi)


def discretized_gaussian_log_likelihood(
    x: Tensor,
    *,
    mean: Tensor,
    log_scale: Tensor,
    levels: int = 256,
    approx_cdf: ApproxCdf = "exact",
) -> Tensor:
    """log P(x) per element for N(mean, e^{2 log_scale}) integrated over the bin of x
    (Ho et al. 2020, Eq. 13).

    The data grid is ``levels`` equally spaced values on [−1, 1] (bin width
    2/(levels − 1): 2/255 for 8-bit images, 2/16 for the 17-level digits); the
    bin of x is [x − δ, x + δ], δ = 1/(levels − 1), with the edge bins extended to
    −∞ at x = −1 and +∞ at x = 1, so the bin probabilities sum to 1.

    Parameters
    ----------
    x
        Data on the grid (checked: values off the grid raise, they are never
        snapped).
    mean, log_scale
        Gaussian mean and log standard deviation (log σ = ½ log σ²), broadcast
        against ``x``.
    levels
        Number of grid values.
    approx_cdf
        ``"exact"`` uses log Φ via ``torch.special.log_ndtr`` with a stable
        difference; ``"tanh"`` reproduces the tanh approximation of Ho et al.'s
        released code (:func:`approx_standard_normal_cdf`), without that code's
        clamp of probabilities at 1e-12; ``"tanh_clamped"`` adds the clamp
        (:data:`RELEASED_PROB_FLOOR`), as the released code does (docs/conventions.md).

    Returns
    -------
    Tensor
        log-probabilities in nats, the broadcast shape of the inputs.
    """
    _check_levels(levels)
    if approx_cdf not in APPROX_CDFS:
        raise ValueError(f"approx_cdf must be one of {', '.join(APPROX_CDFS)}; "
                         f"got {approx_cdf!r}.")
    half = 1.0 / (levels - 1)
    idx = (x + 1.0) / (2.0 * half)
    off = (idx - torch.round(idx)).abs()
    # float32 data on a 256-level grid sits within ~1e-5 of an index; 1e-3 of a bin is generous
    # for rounding yet far below the half-bin distance of any off-grid value.
    outside = (x < -1 - half) | (x > 1 + half)
    if x.numel() and (bool((off > 1e-3).any()) or bool(outside.any())):
        raise ValueError(
            f"x is not on the {levels}-level grid of [-1, 1] (max distance {float(off.max()):.3g} "
            "bins); the discretized decoder needs discrete data: use decoder 'gaussian' or the "
            "right number of levels."
        )
    k = torch.round(idx)
    edge_lo = k <= 0
    edge_hi = k >= levels - 1
    inv_s = torch.exp(-log_scale)
    centered = x - mean
    a = inv_s * (centered - half)
    b = inv_s * (centered + half)
    if approx_cdf in ("tanh", "tanh_clamped"):
        cdf_b = approx_standard_normal_cdf(b)
        cdf_a = approx_standard_normal_cdf(a)
        probs = [cdf_b - cdf_a, cdf_b, 1.0 - cdf_a]
        if approx_cdf == "tanh_clamped":  # the released code's floor on each probability
            probs = [p.clamp(min=RELEASED_PROB_FLOOR) for p in probs]
        interior, lo_edge, hi_edge = (torch.log(p) for p in probs)
    else:
        # safe inputs in the branches not taken keep gradients finite
        a_safe = torch.where(edge_lo | edge_hi, b - 1.0, a)
        interior = _log_cdf_diff(a_safe, b)
        lo_edge = torch.special.log_ndtr(b)
        hi_edge = torch.special.log_ndtr(-a)
    return torch.where(edge_lo, lo_edge, torch.where(edge_hi, hi_edge, interior))
