"""The float64 contract of the closed forms, one argument at a time.

The closed forms of :mod:`ddpm_theory.numeric.closed_forms` and
:mod:`ddpm_theory.numeric.gaussian` are "float64 closed forms": each argument is
converted with ``np.asarray(..., dtype=np.float64)`` before any arithmetic. The planted
error these tests catch is a dropped conversion (``dtype=np.float64`` removed or replaced by
``None``, as mutation testing plants it): a float32 argument then enters a float32
operation (``sqrt``, ``log1p``, a product of two reduced-precision arrays) and the result
loses eight digits, or a long-double argument turns the result into a long double.

Each argument in turn is given in reduced precision (its value exactly representable, so
that the float64 result is unchanged in exact arithmetic) while the others stay float64;
the result must be float64 and bit-identical to the all-float64 call.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from ddpm_theory.numeric import closed_forms as cf
from ddpm_theory.numeric import gaussian as g

# a valid point for every argument name (alpha = 1 - beta, alpha_bar < alpha_bar_prev, ...)
POINT: dict[str, float] = {
    "alpha": 0.98, "beta": 0.02, "alpha_bar": 0.588, "alpha_bar_prev": 0.6,
    "alpha_bar_T": 0.01, "x0": 0.4, "sigma2": 0.02, "beta_tilde": 0.0115, "dim": 3.0,
    "mean1": 0.3, "var1": 0.7, "mean2": -0.2, "var2": 1.3, "decoder_mean": 0.1,
    "decoder_std": 0.05, "bin_lo": 0.09, "bin_hi": 0.11, "data_var": 0.3,
    "a_next": 0.9, "b": 0.2, "b_next": 0.3, "gamma": 0.7, "var": 0.37, "x": 0.25,
    "mean": -0.15,
}  # fmt: skip

# function -> its arguments; those marked "!" are used as given (the code has no conversion
# to drop), so they are not tested here
SIGNATURES: dict[Callable[..., object], tuple[str, ...]] = {
    cf.q_mean_coef: ("alpha_bar",),
    cf.q_variance: ("alpha_bar",),
    cf.posterior_mean_coef_x0: ("beta", "alpha_bar", "!alpha_bar_prev"),
    cf.posterior_mean_coef_xt: ("!alpha", "alpha_bar", "alpha_bar_prev"),
    cf.posterior_variance: ("beta", "alpha_bar", "alpha_bar_prev"),
    cf.posterior_mean_eps_coef_xt: ("alpha",),
    cf.posterior_mean_eps_coef_eps: ("alpha", "beta", "alpha_bar"),
    cf.kl_univariate: ("mean1", "var1", "mean2", "var2"),
    cf.prior_term_per_coordinate: ("alpha_bar_T", "x0"),
    cf.bin_probability: ("bin_hi", "bin_lo", "decoder_mean", "decoder_std"),
    cf.lowest_bin_probability: ("bin_hi", "decoder_mean", "decoder_std"),
    cf.highest_bin_probability: ("bin_lo", "decoder_mean", "decoder_std"),
    cf.mean_matching_weight: ("sigma2",),
    cf.variance_mismatch_constant: ("beta_tilde", "dim", "sigma2"),
    cf.snr: ("alpha_bar",),
    cf.loss_weight_eps: ("!alpha", "!alpha_bar", "beta", "!sigma2"),
    cf.loss_weight_x0: ("alpha_bar", "!alpha_bar_prev", "beta", "!sigma2"),
    cf.loss_weight_v: ("alpha_bar", "!alpha_bar_prev", "beta", "!sigma2"),
    cf.loss_weight_eps_snr: ("alpha_bar", "alpha_bar_prev"),
    cf.loss_weight_x0_snr: ("alpha_bar", "alpha_bar_prev"),
    cf.loss_weight_v_snr: ("alpha_bar", "alpha_bar_prev"),
    cf.optimal_sigma2_gaussian_data: ("alpha_bar", "alpha_bar_prev", "!beta", "data_var"),
    cf.best_eps_error_gaussian_data: ("alpha_bar", "data_var"),
    cf.consistency_mutual_information: ("a_next", "b", "b_next"),
    cf.alpha_bar_of_gamma: ("gamma",),
    g.normal_log_density: ("x", "mean", "var"),
    g.kl_normal: ("mean1", "var1", "mean2", "var2"),
    g.normal_entropy: ("var",),
}


def _call(f: Callable[..., object], names: tuple[str, ...], low: int, dtype: type) -> object:
    """f at POINT with argument LOW given as a 3-vector of DTYPE, the others float64."""
    args = []
    for i, name in enumerate(names):
        value = np.full(3, POINT[name.lstrip("!")], dtype=np.float64)
        if i == low:
            value = value.astype(dtype).astype(np.float64).astype(dtype)
        args.append(value)
    return f(*args)


def _reference(f: Callable[..., object], names: tuple[str, ...], low: int,
               dtype: type) -> object:  # fmt: skip
    """The same call with every argument float64 (the reduced-precision value upcast)."""
    args = []
    for i, name in enumerate(names):
        value = np.full(3, POINT[name.lstrip("!")], dtype=np.float64)
        if i == low:
            value = value.astype(dtype).astype(np.float64)
        args.append(value)
    return f(*args)


CASES = [
    pytest.param(f, names, i, id=f"{f.__name__}-{name}")
    for f, names in SIGNATURES.items()
    for i, name in enumerate(names)
    if not name.startswith("!")
]


@pytest.mark.parametrize(("f", "names", "low"), CASES)
def test_a_float32_argument_is_computed_in_float64(f, names, low) -> None:
    """Planted: ``np.asarray(arg, dtype=np.float64)`` -> ``np.asarray(arg)``: a float32
    argument goes through a float32 sqrt / log / product and the result differs."""
    got = np.asarray(_call(f, names, low, np.float32))
    want = np.asarray(_reference(f, names, low, np.float32))
    assert got.dtype == np.float64
    assert np.array_equal(got, want), (got, want)


@pytest.mark.skipif(np.finfo(np.longdouble).eps == np.finfo(np.float64).eps,
                    reason="long double is float64 on this platform")
@pytest.mark.parametrize(("f", "names", "low"), CASES)
def test_a_long_double_argument_gives_a_float64_result(f, names, low) -> None:
    """Planted: a dropped float64 conversion; a long-double argument then makes the
    arithmetic, and the result, long double (or is refused by a float64-only ufunc)."""
    got = np.asarray(_call(f, names, low, np.longdouble))
    want = np.asarray(_reference(f, names, low, np.longdouble))
    assert got.dtype == np.float64
    assert np.array_equal(got, want), (got, want)


def test_bin_probability_far_in_the_upper_tail() -> None:
    """Planted: the branch test ``zl > 0`` of bin_probability replaced (``None``: always the
    lower-tail difference): right of the mean, ``ndtr(zh) - ndtr(zl)`` cancels to 0 where
    the upper-tail difference keeps every digit."""
    from scipy import stats

    got = cf.bin_probability(10.1, 10.0, 0.0, 1.0)
    assert got == pytest.approx(stats.norm.sf(10.0) - stats.norm.sf(10.1), rel=1e-12)
    assert got > 0.0
