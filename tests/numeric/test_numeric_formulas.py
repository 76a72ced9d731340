"""Tier S1: every hand-written float64 formula against its lambdify'd symbolic twin."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import example, given
from strategies import EDGE_SCHEDULES, means, schedule_and_t, variances

from ddpm_theory.numeric import formulas
from ddpm_theory.numeric.formulas import FAST, generated, schedule_quantities

EPS = np.finfo(np.float64).eps
RTOL = 1e-12  # VERIFICATION.md S1, for the well-conditioned schedule formulas
SCHEDULE_NAMES = {"beta", "alpha", "alpha_bar", "alpha_bar_prev"}


def test_every_export_has_a_fast_version_and_back() -> None:
    assert set(generated()) == set(FAST), "exports and hand-written formulas disagree"
    for name, f in generated().items():
        # same keyword interface, so the S1 comparison needs no adapter
        code = FAST[name].__code__
        assert set(code.co_varnames[: code.co_argcount]) == set(f.params), name


def _schedule_mismatches(
    betas: np.ndarray, t: int, fast: dict[str, Callable[..., np.ndarray]]
) -> list[str]:
    """Names of schedule formulas whose fast and generated values differ beyond RTOL.

    Both sides receive the same float64 inputs; they differ only by operation
    order, a few ulp for these products/quotients of (1 - alpha_bar) factors,
    so rtol 1e-12 is ample and any transcription slip of relative size
    > 1e-12 is caught."""
    kw = schedule_quantities(betas).at(t)
    bad = []
    for name, g in generated().items():
        if not set(g.params) <= SCHEDULE_NAMES:
            continue
        if kw["alpha"] == 0.0 and "eps" in name:
            continue  # beta_t = 1: the eps-form divides by sqrt(alpha_t) = 0, undefined
        args = {p: kw[p] for p in g.params}
        want, got = g(**args), fast[name](**args)
        if not np.allclose(got, want, rtol=RTOL, atol=0.0):
            bad.append(name)
    return bad


@given(pair=schedule_and_t())
@example(pair=(EDGE_SCHEDULES["single_step"], 1))
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 4))
@example(pair=(EDGE_SCHEDULES["constant_near_one"], 4))
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 10))
@example(pair=(EDGE_SCHEDULES["cosine_T10"], 1))
def test_schedule_formulas_match_symbolic(pair: tuple[np.ndarray, int]) -> None:
    betas, t = pair
    assert _schedule_mismatches(betas, t, FAST) == []


def _slip(name: str, f: Callable[..., np.ndarray]) -> dict[str, Callable[..., np.ndarray]]:
    return {**FAST, name: f}


PLANTED = {
    # alpha_bar_t where alpha_bar_{t-1} belongs (the index slip of rule 4)
    "posterior_mean_coef_x0": lambda beta, alpha_bar, alpha_bar_prev:
        np.sqrt(alpha_bar) * beta / (1 - alpha_bar),
    # beta_t for beta_tilde_t
    "posterior_variance": lambda beta, alpha_bar, alpha_bar_prev: beta + 0 * alpha_bar,
    # a missing square root
    "posterior_mean_coef_xt": lambda alpha, alpha_bar, alpha_bar_prev:
        alpha * (1 - alpha_bar_prev) / (1 - alpha_bar),
    "q_mean_coef": lambda alpha_bar: alpha_bar,
    "q_variance": lambda alpha_bar: np.sqrt(1 - alpha_bar),
    "posterior_mean_eps_coef_xt": lambda alpha: 1 / alpha,
    "posterior_mean_eps_coef_eps": lambda alpha, beta, alpha_bar:
        -beta / ((1 - alpha_bar) * np.sqrt(alpha)),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_planted_schedule_slips_are_rejected(name: str) -> None:
    betas = EDGE_SCHEDULES["linear_T10"]
    assert _schedule_mismatches(betas, 5, _slip(name, PLANTED[name])) == [name]


def test_every_schedule_formula_has_a_planted_slip() -> None:
    schedule_exports = {n for n, g in generated().items() if set(g.params) <= SCHEDULE_NAMES}
    assert schedule_exports == set(PLANTED)


def _kl_error_bound(mean1, var1, mean2, var2) -> np.ndarray:
    """Both forms sum terms of size |log r|, r, dm^2 / v2 and 1, and can cancel to
    KL ~ 0; the absolute error is bounded by ~8 eps times the sum of the terms'
    magnitudes (the condition-number argument S1 asks for)."""
    r = var1 / var2
    return 8 * EPS * (1.0 + r + np.abs(np.log(r)) + (mean1 - mean2) ** 2 / var2)


@given(m1=means(4), v1=variances(4), m2=means(4), v2=variances(4))
@example(m1=np.zeros(4), v1=np.ones(4), m2=np.zeros(4), v2=np.ones(4))
def test_kl_matches_symbolic(m1, v1, m2, v2) -> None:
    g = generated()["kl_univariate"]
    kw = {"mean1": m1, "var1": v1, "mean2": m2, "var2": v2}
    err = np.abs(FAST["kl_univariate"](**kw) - g(**kw))
    np.testing.assert_array_less(err, _kl_error_bound(m1, v1, m2, v2))
    # Planted: the log term without its 1/2 is rejected by the same comparison.
    wrong = np.log(v2 / v1) - 0.5 + (v1 + (m1 - m2) ** 2) / (2 * v2)
    different = np.abs(np.log(v2 / v1)) > 1e-6
    assert np.all(np.abs(wrong - g(**kw))[different]
                  > _kl_error_bound(m1, v1, m2, v2)[different])


def test_formula_call_checks_its_keywords() -> None:
    g = generated()["q_variance"]
    with pytest.raises(TypeError):
        g(alpha=0.5)
    assert g.derivation == "forward-marginal"
    assert formulas.q_variance(0.25) == 0.75
