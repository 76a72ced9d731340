"""trajectory_bound, the single-chain estimate of the bound, against numpy on the same
chain, and the model-output errors of the audit's evaluator.

Written against the survivors of mutation testing (mutation/run.py): each docstring names
the planted errors it catches.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from mutants_terms_reference import chain_bound
from torch import nn

from ddpm_theory.audit import AuditError, elbo_terms, trajectory_bound
from ddpm_theory.backend import Schedule

BETAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45])
S = Schedule.from_betas(BETAS)
T = len(BETAS)
GRID = torch.tensor([[-1.0, 0.5], [-0.5, 1.0], [0.0, 0.0], [0.5, -1.0], [1.0, -0.5]],
                    dtype=torch.float64)


def eps_model_np(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    return 0.6 * x_t + 0.05 * t[:, None] + 0.1 * x_t**2


def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return 0.6 * x_t + 0.05 * t.reshape(-1, 1).to(x_t) + 0.1 * x_t**2


@pytest.mark.parametrize(("decoder", "levels", "cdf", "batch_size"),
                         [("gaussian", None, "exact", 16384), ("gaussian", None, "exact", 4),
                          ("discretized", 5, "exact", 7), ("discretized", 5, "tanh", 16384)])
def test_trajectory_bound_on_the_sampled_chain(decoder: str, levels: int | None, cdf: str,
                                               batch_size: int) -> None:
    """Planted: the chain built with ᾱ for α or √ for no root, log q without its
    −½ log 2πβ_t normaliser (or with D or T dropped), log p(x_T) not the standard normal,
    a row's example or timestep mismatched (``repeat`` and ``repeat_interleave`` swapped,
    x_{t−1} taken at t), the decoder at t = 1 replaced by the Gaussian step, a chunk
    boundary dropping rows, or levels/approx_cdf not passed: the bound per example equals
    numpy's on the chain of z = torch.randn((T, B, D)) of the generator."""
    g = torch.Generator().manual_seed(9)
    got = trajectory_bound(eps_model, GRID, S, decoder=decoder, levels=levels, approx_cdf=cdf,
                           generator=g, batch_size=batch_size)
    z = torch.randn((T, *GRID.shape), generator=torch.Generator().manual_seed(9),
                    dtype=torch.float64).numpy()
    want = chain_bound(BETAS, GRID.numpy(), z, eps_model_np, decoder=decoder, levels=levels,
                       cdf=cdf)
    assert got.dtype == torch.float64 and got.shape == (5,)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-10)


def test_trajectory_bound_of_one_example() -> None:
    """Planted: D read from a second example (``x[1]``), which a batch of one lacks."""
    one = GRID[2:3]
    got = trajectory_bound(eps_model, one, S, generator=torch.Generator().manual_seed(1))
    z = torch.randn((T, 1, 2), generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64).numpy()
    np.testing.assert_allclose(got.numpy(), chain_bound(BETAS, one.numpy(), z, eps_model_np),
                               rtol=1e-10)


class _Float32(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.first = nn.Parameter(torch.zeros(1, dtype=torch.long), requires_grad=False)
        self.scale = nn.Parameter(torch.tensor([0.6], dtype=torch.float32))
        self.seen: set[torch.dtype] = set()

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.seen.add(x_t.dtype)
        return self.scale * x_t


def test_trajectory_bound_calls_the_model_in_its_dtype() -> None:
    """Planted: the dtype of the first parameter taken although it is an integer, the float
    test inverted, the float64 fallback changed, or the model's float32 output not cast to
    float64 (the process algebra would then run partly in float32)."""
    net = _Float32()
    out = trajectory_bound(net, GRID, S, generator=torch.Generator().manual_seed(0))
    assert net.seen == {torch.float32} and out.dtype == torch.float64
    # the float32 output is cast to float64 before any arithmetic: numpy on the same output
    z = torch.randn((T, *GRID.shape), generator=torch.Generator().manual_seed(0),
                    dtype=torch.float64).numpy()

    def float32_model(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (np.float32(0.6) * x_t.astype(np.float32)).astype(np.float64)

    np.testing.assert_allclose(out.numpy(), chain_bound(BETAS, GRID.numpy(), z, float32_model),
                               rtol=1e-12)
    seen: set[torch.dtype] = set()

    def plain(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.add(x_t.dtype)
        return 0.6 * x_t

    trajectory_bound(plain, GRID, S, generator=torch.Generator().manual_seed(0))
    assert seen == {torch.float64}


def test_trajectory_bound_refuses_non_finite_output() -> None:
    """Planted: the finiteness check dropped or its message garbled."""
    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.where((t == 4).reshape(-1, 1), torch.inf, x_t)

    with pytest.raises(AuditError, match=r"^the model output is NaN or Inf on the sampled "
                                         r"chain\.$"):
        trajectory_bound(model, GRID, S, generator=torch.Generator().manual_seed(0))


def _nan_at(ts: set[int]):
    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        bad = torch.tensor([int(v) in ts for v in t]).reshape(-1, 1)
        return torch.where(bad, torch.nan, 0.5 * x_t)
    return model


def test_non_finite_model_output_is_counted_and_named() -> None:
    """Planted: the count of bad inputs, the total, the list of timesteps (sorted, distinct,
    the first ten, " ..." only beyond ten) or the words of the message garbled."""
    long = Schedule.linear(14)
    x0 = torch.zeros(2, 1, dtype=torch.float64)
    with pytest.raises(AuditError, match="^" + re.escape(
            "the model output is NaN or Inf for 2 of 28 inputs (paper timesteps [3]); "
            "nothing is averaged over non-finite values.") + "$"):
        elbo_terms(_nan_at({3}), x0, long)
    with pytest.raises(AuditError, match="^" + re.escape(
            "the model output is NaN or Inf for 22 of 28 inputs (paper timesteps "
            "[2, 3, 4, 5, 6, 7, 8, 9, 10, 11] ...); nothing is averaged over non-finite "
            "values.") + "$"):
        elbo_terms(_nan_at(set(range(2, 13))), x0, long)
    with pytest.raises(AuditError, match=re.escape("(paper timesteps [2, 3, 4, 5, 6, 7, 8, 9, "
                                                   "10, 11]); nothing")):
        elbo_terms(_nan_at(set(range(2, 12))), x0, long)


def test_a_model_output_of_the_wrong_kind_or_shape() -> None:
    """Planted: the type check or the shape error's wrapping dropped, or their messages
    garbled."""
    x0 = torch.zeros(2, 1, dtype=torch.float64)
    with pytest.raises(AuditError, match=r"^the model returned a list, not a tensor\.$"):
        elbo_terms(lambda x_t, t: [0.0], x0, S)
    with pytest.raises(AuditError, match=r"^model output does not fit the audit: model output "
                                         r"must have the shape of x_t"):
        elbo_terms(lambda x_t, t: torch.cat([x_t, x_t], 1), x0, S)


def test_a_non_finite_term_is_named() -> None:
    """Planted: the per-term finiteness check dropped, the term or timestep named wrongly,
    or the hint for t = 1 (decoder underflow) and t >= 2 (overflow) swapped."""
    x0 = torch.ones(1, 1, dtype=torch.float64)  # one bad row: the first is the one named
    far = lambda x_t, t: torch.where((t == 1).reshape(-1, 1), -1e3, 0.0 * x_t)  # noqa: E731
    with pytest.raises(AuditError, match="^" + re.escape(
            "the audit's loss is inf at paper timestep t = 1 (e.g. a decoder probability that "
            "underflows); refusing to average it.") + "$"):
        elbo_terms(far, x0, S, parameterization="x0", decoder="discretized", levels=3,
                   approx_cdf="tanh")
    huge = lambda x_t, t: torch.where((t == 4).reshape(-1, 1), 1e200, 0.0 * x_t)  # noqa: E731
    with pytest.raises(AuditError, match="^" + re.escape(
            "the audit's loss is inf at paper timestep t = 4 (e.g. an overflow in the model's "
            "prediction); refusing to average it.") + "$"):
        elbo_terms(huge, x0, S)


def test_trajectory_bound_calls_the_model_in_chunks_of_batch_size() -> None:
    """Planted: the default chunk of 16384 rows changed, or the chunks not covering every
    (t, example) row once: 3000 one-dimensional examples of T = 6 steps are 18000 rows."""
    sizes: list[int] = []

    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        sizes.append(int(x_t.shape[0]))
        return 0.6 * x_t

    x0 = torch.zeros(3000, 1, dtype=torch.float64)
    trajectory_bound(model, x0, S, generator=torch.Generator().manual_seed(0))
    assert sizes == [16384, 18000 - 16384]


def test_a_float32_learned_variance_is_used_in_float64() -> None:
    """Planted: the model's float32 output not cast to float64: a learned log σ² (Nichol &
    Dhariwal 2021) then enters exp(−log σ²) in float32. The bound equals numpy's in float64
    on the float32 outputs."""

    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = x_t.to(torch.float32)
        return torch.cat([0.6 * x, -2.0 + 0.3 * (x * x)], 1)  # IEEE float32 ops

    def model_np(x_t: np.ndarray, t: np.ndarray):
        x = x_t.astype(np.float32)
        lv = (np.float32(-2.0) + np.float32(0.3) * (x * x)).astype(np.float64)
        return (np.float32(0.6) * x).astype(np.float64), lv

    one = GRID[:, :1]
    got = trajectory_bound(model, one, S, variance="learned",
                           generator=torch.Generator().manual_seed(2))
    z = torch.randn((T, 5, 1), generator=torch.Generator().manual_seed(2),
                    dtype=torch.float64).numpy()
    np.testing.assert_allclose(got.numpy(), chain_bound(BETAS, one.numpy(), z, model_np),
                               rtol=1e-12)
