"""The K-step bound of a model trained on T steps (Nichol & Dhariwal 2021, Sec. 4).

For kept timesteps τ_1 < … < τ_K = T (:meth:`Schedule.respace`), the sub-chain
with β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} has q(x_{τ_i}|x_0) unchanged, so its
variational bound (Ho et al. 2020, Eq. 5, with K steps) is a bound on the
same data likelihood, evaluated with the T-step model queried at τ_i for
sub-chain step i. :class:`RespacedModel` does that query; ``elbo_terms(...,
steps=K)`` audits the K-step chain with it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["RespacedModel"]


class RespacedModel(nn.Module):
    """``model(x, i)`` for sub-chain steps i = 1..K → ``inner(x, τ_i)``.

    The inner model is registered as a submodule when it is one (so its
    parameters, dtype and device stay visible); ``timesteps`` are the kept
    paper timesteps τ_1..τ_K of the parent chain.
    """

    def __init__(self, inner: Callable[[Tensor, Tensor], Tensor], timesteps: np.ndarray) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("tau", torch.tensor(np.array(timesteps, dtype=np.int64)))

    def forward(self, x: Tensor, t: Tensor) -> Tensor:
        tau = self.get_buffer("tau")
        if bool(((t < 1) | (t > tau.numel())).any()):
            raise ValueError(f"sub-chain steps must lie in 1..K = {tau.numel()}; "
                             f"got {sorted(set(t.tolist()))[:5]}.")
        return self.inner(x, tau.to(t.device)[t.long() - 1])
