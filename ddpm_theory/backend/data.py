"""The catalogue of datasets with known laws, generated in code (no downloads).

:data:`DATASETS` maps a name to a factory ``f(**args) -> Dataset``; the CLI, the
docs and the tests enumerate it. :func:`get_dataset` is the one entry point.

==================  =========  =======  =======  ==============  ===========================
name                event      density  entropy  E[x_0|x_t]      law
==================  =========  =======  =======  ==============  ===========================
standard_gaussian   (dim,)     exact    exact    exact           N(0, I)
gaussian            (d,)       exact    exact    exact           N(mean, cov)
mixture_1d          (1,)       exact    quadr.   exact           Σ w_k N(m_k, s_k²)
mixture_2d          (2,)       exact    quadr.   exact           Σ w_k N(m_k, S_k)
ring8               (2,)       exact    quadr.   exact           8 equal Gaussians on a circle
two_moons           (2,)       no       no       no              two noisy half circles
digits              (1, 8, 8)  no       Shannon  exact (finite)  uniform on sklearn's 1797 digits
points              any        no       Shannon  exact (finite)  uniform on given points
==================  =========  =======  =======  ==============  ===========================
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .dataset import Dataset, Entropy
from .empirical import EmpiricalDataset, load_digits_points
from .mixture import GaussianMixture

__all__ = ["DATASETS", "get_dataset", "Dataset", "Entropy", "TwoMoons"]


def _floats(values: Any) -> Any:
    """``values`` as (nested lists of) Python floats: a checkpoint stores the config, and
    ``torch.load(weights_only=True)`` refuses numpy scalars."""
    return np.asarray(values, dtype=np.float64).tolist()


def standard_gaussian(dim: int = 2) -> GaussianMixture:
    """N(0, I_dim): the law for which the shrinkage denoiser √ᾱ x_t is exact."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer; got {dim!r}.")
    return GaussianMixture(
        [1.0], np.zeros((1, dim)), np.eye(dim)[None], name="standard_gaussian", args={"dim": dim}
    )


def gaussian(
    mean: Sequence[float] = (0.5, -0.5),
    cov: Sequence[Sequence[float]] = ((1.0, 0.6), (0.6, 0.8)),
) -> GaussianMixture:
    """N(mean, cov) (cov symmetric positive definite)."""
    args = {"mean": _floats(mean), "cov": _floats(cov)}
    return GaussianMixture([1.0], [args["mean"]], [args["cov"]], name="gaussian", args=args)


def mixture_1d(
    weights: Sequence[float] = (0.3, 0.7),
    means: Sequence[float] = (-1.5, 1.0),
    stds: Sequence[float] = (0.4, 0.6),
) -> GaussianMixture:
    """Σ_k w_k N(m_k, s_k²) on R."""
    args = {"weights": _floats(weights), "means": _floats(means), "stds": _floats(stds)}
    s = np.array(args["stds"])
    return GaussianMixture(
        args["weights"], np.array(args["means"])[:, None], (s**2)[:, None, None],
        name="mixture_1d", args=args,
    )


def mixture_2d(
    weights: Sequence[float] = (0.5, 0.3, 0.2),
    means: Sequence[Sequence[float]] = ((-1.0, -1.0), (1.5, 0.5), (0.0, 1.5)),
    covs: Sequence[Any] = (
        ((0.3, 0.1), (0.1, 0.2)), ((0.1, 0.0), (0.0, 0.1)), ((0.2, -0.05), (-0.05, 0.1))
    ),
) -> GaussianMixture:
    """Σ_k w_k N(m_k, S_k) on R² (the default has three correlated components)."""
    args = {"weights": _floats(weights), "means": _floats(means), "covs": _floats(covs)}
    return GaussianMixture(weights, means, covs, name="mixture_2d", args=args)


def ring8(radius: float = 1.5, std: float = 0.1, k: int = 8) -> GaussianMixture:
    """k equally weighted Gaussians N(r(cos 2πj/k, sin 2πj/k), std² I), j = 0..k−1."""
    integer_k = isinstance(k, (int, np.integer)) and not isinstance(k, bool)
    if not (radius > 0 and std > 0 and integer_k and k >= 1):
        raise ValueError(
            f"ring8 needs radius > 0, std > 0 and an integer k >= 1; got {radius=}, {std=}, {k=}."
        )
    ang = 2.0 * math.pi * np.arange(k) / k
    means = radius * np.stack([np.cos(ang), np.sin(ang)], axis=1)
    covs = np.repeat((std**2 * np.eye(2))[None], k, axis=0)
    return GaussianMixture(
        np.full(k, 1.0 / k), means, covs, name="ring8",
        args={"radius": float(radius), "std": float(std), "k": int(k)},
    )


class TwoMoons(Dataset):
    """Two interleaved half circles with Gaussian noise (the law of
    ``sklearn.datasets.make_moons``, centred at (0.5, 0.25)): label u ~ Bernoulli(½),
    θ ~ U(0, π), x = (cos θ, sin θ) for u = 0 and (1 − cos θ, ½ − sin θ) for u = 1,
    plus N(0, noise² I). No closed-form density."""

    name = "two_moons"
    event_shape = (2,)

    def __init__(self, noise: float = 0.05) -> None:
        if not noise >= 0:
            raise ValueError(f"noise must be >= 0; got {noise!r}.")
        self.noise = float(noise)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"noise": self.noise}}

    def _sample(self, n: int, generator: torch.Generator) -> Tensor:
        u = torch.randint(2, (n,), generator=generator, dtype=torch.float64)
        th = math.pi * torch.rand(n, generator=generator, dtype=torch.float64)
        x = torch.where(u == 0, torch.cos(th), 1.0 - torch.cos(th))
        y = torch.where(u == 0, torch.sin(th), 0.5 - torch.sin(th))
        pts = torch.stack([x - 0.5, y - 0.25], dim=1)
        return pts + self.noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)


def digits() -> EmpiricalDataset:
    """The uniform law on scikit-learn's 1797 8×8 digits, grey levels 0..16 scaled to
    the 17-level grid of [−1, 1] (use the discretized decoder with 17 levels)."""
    return EmpiricalDataset(load_digits_points(), levels=17, name="digits", args={})


def points(points: Tensor, levels: int | None = None) -> EmpiricalDataset:
    """The uniform law on the rows of a given tensor (stored in the config)."""
    return EmpiricalDataset(points, levels=levels)


#: dataset name -> ``factory(**args)``; enumerate it, never a hand-written list
DATASETS: dict[str, Callable[..., Dataset]] = {
    "standard_gaussian": standard_gaussian,
    "gaussian": gaussian,
    "mixture_1d": mixture_1d,
    "mixture_2d": mixture_2d,
    "ring8": ring8,
    "two_moons": TwoMoons,
    "digits": digits,
    "points": points,
}


def get_dataset(name: str, **kwargs: Any) -> Dataset:
    """The dataset registered under ``name``, built with ``kwargs``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or bad arguments.

    Examples
    --------
    >>> ds = get_dataset("mixture_1d")
    >>> ds.has_density, ds.has_posterior_mean, ds.event_shape
    (True, True, (1,))
    """
    try:
        make = DATASETS[name]
    except KeyError:
        raise ValueError(
            f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}."
        ) from None
    try:
        return make(**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad arguments for dataset {name!r}: {exc}") from None
