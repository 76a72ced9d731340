"""Finite datasets: the uniform law on N stored points (a mixture of point masses).

For p(x_0) = (1/N) Σ_i δ(x_0 − x^(i)), x_t | i ~ N(√ᾱ x^(i), (1−ᾱ) I), hence exactly

    q(x_t) = (1/N) Σ_i N(x_t; √ᾱ x^(i), (1−ᾱ) I),
    E[x_0 | x_t] = Σ_i softmax_i(−‖x_t − √ᾱ x^(i)‖² / (2(1−ᾱ))) x^(i),

(Bayes' rule on a finite prior): the Bayes-optimal denoiser of a training set.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .dataset import Dataset, Entropy, alpha_bar_column

__all__ = ["EmpiricalDataset", "load_digits_points"]

_LOG_2PI = math.log(2.0 * math.pi)


class EmpiricalDataset(Dataset):
    """The uniform law on the rows of ``points`` (shape ``(N, *event_shape)``).

    Parameters
    ----------
    points
        The N examples (any float dtype; stored as float64).
    levels
        Number of grid values on [−1, 1] if the data are discrete (checked), else None.
    name, args
        Registry name and plain-data constructor arguments. The default,
        ``"points"``, stores the points themselves in the config.
    """

    has_density = False  # point masses: no density on R^D
    has_entropy = True  # Shannon entropy of the empirical law, exact
    has_posterior_mean = True

    def __init__(
        self,
        points: Tensor,
        *,
        levels: int | None = None,
        name: str = "points",
        args: dict[str, Any] | None = None,
        chunk: int = 256,
    ) -> None:
        x = torch.as_tensor(points).detach().to("cpu", torch.float64)
        if x.ndim < 2 or x.shape[0] < 1:
            raise ValueError(
                f"points must have shape (N, *event) with N >= 1; got {tuple(x.shape)}."
            )
        if not bool(torch.isfinite(x).all()):
            raise ValueError("points must be finite.")
        if levels is not None:
            k = (x + 1.0) * (levels - 1) / 2.0
            off_grid = (k - k.round()).abs() > 1e-9  # exact grid values, up to float64 rounding
            if bool(off_grid.any()) or bool(((k < 0) | (k > levels - 1)).any()):
                raise ValueError(f"points are not on the {levels}-level grid of [-1, 1].")
        self._points = x
        self._flat = x.reshape(x.shape[0], -1)
        self._sq = (self._flat**2).sum(1)
        self.event_shape = tuple(int(s) for s in x.shape[1:])
        self.levels = levels
        self.name = name
        self._chunk = chunk
        self._args = dict(args) if args is not None else {"points": x.clone(), "levels": levels}

    @property
    def points(self) -> Tensor:
        """The stored examples, float64, shape ``(N, *event_shape)`` (a copy)."""
        return self._points.clone()

    @property
    def N(self) -> int:
        return int(self._points.shape[0])

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "args": dict(self._args)}

    def _sample(self, n: int, generator: torch.Generator) -> Tensor:
        return self._points[torch.randint(self.N, (n,), generator=generator)]

    def entropy(self) -> Entropy:
        """Shannon entropy −Σ_u p_u log p_u of the empirical law over its distinct
        points (log N when all N points differ); exact."""
        _, counts = torch.unique(self._flat, dim=0, return_counts=True)
        p = counts.to(torch.float64) / self.N
        value = float(-(p * p.log()).sum())
        return Entropy(value, 0.0, "exact count over distinct points", "shannon")

    def _logits(self, x: Tensor, a: Tensor) -> Tensor:
        """−‖x_t − √ᾱ x^(i)‖²/(2(1−ᾱ)) for a chunk, ``(B, N)``."""
        sq = (x**2).sum(1, keepdim=True) - 2.0 * a.sqrt() * (x @ self._flat.T) + a * self._sq
        return -sq / (2.0 * (1.0 - a))

    def _check(self, x_t: Tensor) -> Tensor:
        if tuple(x_t.shape[1:]) != self.event_shape:
            raise ValueError(f"expected shape (B, *{self.event_shape}); got {tuple(x_t.shape)}.")
        return x_t.detach().to("cpu", torch.float64).reshape(x_t.shape[0], -1)

    def posterior_mean_x0(self, x_t: Tensor, alpha_bar: float | Tensor) -> Tensor:
        """E[x_0|x_t] = Σ_i softmax_i(−‖x_t − √ᾱ x^(i)‖²/(2(1−ᾱ))) x^(i) (module docstring)."""
        x = self._check(x_t)
        a = alpha_bar_column(alpha_bar, x.shape[0])
        out = torch.cat([
            torch.softmax(self._logits(x[i:i + self._chunk], a[i:i + self._chunk]), 1) @ self._flat
            for i in range(0, x.shape[0], self._chunk)
        ])
        return out.reshape(x_t.shape).to(x_t.device, x_t.dtype)

    def marginal_log_prob(self, x_t: Tensor, alpha_bar: float | Tensor) -> Tensor:
        """log q(x_t) = logsumexp_i(logits_i) − log N − (D/2) log(2π(1−ᾱ)), shape ``(B,)``."""
        x = self._check(x_t)
        a = alpha_bar_column(alpha_bar, x.shape[0])
        lse = torch.cat([
            torch.logsumexp(self._logits(x[i:i + self._chunk], a[i:i + self._chunk]), 1)
            for i in range(0, x.shape[0], self._chunk)
        ])
        D = x.shape[1]
        log_norm = math.log(self.N) + 0.5 * D * (_LOG_2PI + torch.log1p(-a[:, 0]))
        return (lse - log_norm).to(x_t.device)


def load_digits_points() -> Tensor:
    """scikit-learn's 8×8 digits (1797 images, grey levels 0..16, shipped with the
    package: no download), as float64 ``(1797, 1, 8, 8)`` on the 17-level grid
    x = v/8 − 1 ∈ [−1, 1]."""
    from sklearn.datasets import load_digits

    v = torch.as_tensor(load_digits().images, dtype=torch.float64)  # (N, 8, 8), values 0..16
    return (v / 8.0 - 1.0).unsqueeze(1)
