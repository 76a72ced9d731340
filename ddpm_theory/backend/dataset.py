"""The :class:`Dataset` interface: a data law that can be sampled, and, where the law
is known, evaluated (density, entropy, E[x_0|x_t], density of x_t).

Laws of x_t used throughout: x_t = √ᾱ x_0 + √(1−ᾱ) ε with ε ~ N(0, I)
independent of x_0 (Ho et al. 2020, Eq. 4). The catalogue of concrete datasets
is :mod:`ddpm_theory.backend.data`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["Dataset", "Entropy", "as_generator", "alpha_bar_column"]


@dataclass(frozen=True)
class Entropy:
    """An entropy value with its numerical error.

    Attributes
    ----------
    value
        The entropy in ``units``.
    abs_error
        Bound or estimate of |value − exact| (0.0 for a closed form); ``method``
        says which.
    method
        How it was computed.
    kind
        ``"differential"`` (a density) or ``"shannon"`` (a discrete law).
    units
        Always ``"nats"``.
    """

    value: float
    abs_error: float
    method: str
    kind: str = "differential"
    units: str = "nats"


def as_generator(generator: torch.Generator | np.random.Generator) -> torch.Generator:
    """A CPU ``torch.Generator`` from an explicit torch or numpy generator (never the
    global RNG). A numpy generator seeds a fresh torch generator by one draw."""
    if isinstance(generator, torch.Generator):
        if generator.device.type != "cpu":
            raise ValueError("dataset sampling runs on the CPU: pass a CPU torch.Generator.")
        return generator
    if isinstance(generator, np.random.Generator):
        g = torch.Generator()
        g.manual_seed(int(generator.integers(0, 2**63 - 1)))
        return g
    raise TypeError(
        "pass an explicit torch.Generator or numpy.random.Generator (the global RNG is never "
        f"used); got {type(generator).__name__}."
    )


def alpha_bar_column(alpha_bar: float | Tensor, batch: int) -> Tensor:
    """ᾱ as a float64 column ``(B, 1)``; checks 0 ≤ ᾱ < 1 (ᾱ_t < 1 for every t ≥ 1)."""
    a = torch.as_tensor(alpha_bar, dtype=torch.float64).reshape(-1)
    if a.numel() == 1:
        a = a.expand(batch)
    if a.shape != (batch,):
        raise ValueError(
            f"alpha_bar must be a scalar or have shape ({batch},); got {tuple(a.shape)}."
        )
    if bool(((a < 0) | (a >= 1) | torch.isnan(a)).any()):
        i = int(torch.nonzero((a < 0) | (a >= 1) | torch.isnan(a))[0, 0])
        raise ValueError(f"alpha_bar must lie in [0, 1); got {float(a[i])!r} at index {i}.")
    return a.reshape(batch, 1)


class Dataset(ABC):
    """A data law on R^D with shape ``event_shape``.

    Capability flags say what is known exactly: ``has_density`` (:meth:`log_prob`),
    ``has_entropy`` (:meth:`entropy`), ``has_posterior_mean``
    (:meth:`posterior_mean_x0` and :meth:`marginal_log_prob`). ``levels`` is the
    number of grid values on [−1, 1] for discrete data, else ``None``.
    """

    name: str = "dataset"
    event_shape: tuple[int, ...] = ()
    levels: int | None = None
    has_density: bool = False
    has_entropy: bool = False
    has_posterior_mean: bool = False

    @property
    def dim(self) -> int:
        """D, the number of scalar dimensions of one example."""
        return int(np.prod(self.event_shape))

    @abstractmethod
    def _sample(self, n: int, generator: torch.Generator) -> Tensor:
        """n float64 draws of shape ``(n, *event_shape)``."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """Plain data ``{"name": ..., "args": {...}}`` that rebuilds this dataset
        through :func:`ddpm_theory.backend.data.get_dataset`."""

    def sample(
        self,
        n: int,
        generator: torch.Generator | np.random.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> Tensor:
        """n independent draws, shape ``(n, *event_shape)``, from an explicit generator."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}.")
        return self._sample(int(n), as_generator(generator)).to(dtype)

    def _unknown(self, what: str) -> NotImplementedError:
        return NotImplementedError(f"dataset {self.name!r} has no known {what}.")

    def log_prob(self, x0: Tensor) -> Tensor:
        """log p(x_0) in nats, one value per example, shape ``(B,)``."""
        raise self._unknown("density")

    def entropy(self) -> Entropy:
        """H(x_0) in nats with its numerical error."""
        raise self._unknown("entropy")

    def posterior_mean_x0(self, x_t: Tensor, alpha_bar: float | Tensor) -> Tensor:
        """E[x_0 | x_t] under x_t = √ᾱ x_0 + √(1−ᾱ) ε; ``alpha_bar`` a scalar or ``(B,)``.
        Computed in float64, returned in ``x_t``'s dtype, shape of ``x_t``."""
        raise self._unknown("posterior mean E[x0|x_t]")

    def marginal_log_prob(self, x_t: Tensor, alpha_bar: float | Tensor) -> Tensor:
        """log q(x_t) in nats, shape ``(B,)``, the density of x_t = √ᾱ x_0 + √(1−ᾱ) ε."""
        raise self._unknown("density of x_t")

    def __repr__(self) -> str:
        return f"<Dataset {self.name!r} event_shape={self.event_shape} levels={self.levels}>"
