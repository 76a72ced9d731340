"""Every hand-written closed form (ddpm_theory.numeric.closed_forms) computes in float64
whatever the dtype of its arguments: a float32 argument is converted before any arithmetic,
not after (where its square root or product would already carry float32 rounding, ~1e-7)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from ddpm_theory.numeric import closed_forms

# one value per argument name, with alpha_bar < alpha_bar_prev and every variance positive
VALUES = {
    "alpha_bar": 0.3, "alpha_bar_prev": 0.6, "alpha_bar_T": 0.01, "alpha": 0.5, "beta": 0.5,
    "sigma2": 0.2, "beta_tilde": 0.3, "data_var": 0.7, "dim": 3.0, "x0": 0.9, "mean1": 0.1,
    "var1": 0.4, "mean2": -0.2, "var2": 0.9, "bin_hi": 0.1, "bin_lo": -0.1,
    "decoder_mean": 0.05, "decoder_std": 0.3, "a_next": 0.8, "b": 0.3, "b_next": 0.2,
    "gamma": -1.3,
}  # fmt: skip


def _odd(value: float) -> np.ndarray:
    x = np.array([value], dtype=np.float32)
    return (x.view(np.uint32) | np.uint32(1)).view(np.float32)


@pytest.mark.parametrize("name", closed_forms.__all__)
def test_float32_arguments_are_computed_in_float64(name: str) -> None:
    """Found by this test and fixed: ``np.sqrt(alpha_bar_prev)`` in posterior_mean_coef_x0,
    ``np.sqrt(alpha)`` in posterior_mean_coef_xt and ``1 - np.asarray(alpha_bar)`` in
    loss_weight_eps were computed in float32 for float32 arguments (relative error ~6e-9
    instead of ~1e-16). The other unconverted arguments (sigma2, alpha_bar_prev, beta in
    the loss weights and the Gaussian-data variance) met a float64 operand first; they are
    converted now too, so that no result depends on the order of the operations."""
    f = getattr(closed_forms, name)
    names = list(inspect.signature(f).parameters)
    # float32 values with the last mantissa bit set: their float32 differences and roots round
    single = {k: _odd(VALUES[k]) for k in names}
    got = f(**single)
    want = f(**{k: v.astype(np.float64) for k, v in single.items()})
    assert np.asarray(got).dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
