"""S1: the audit's float64 bounds against the SymPy exports (at 50 digits) and closed forms."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from ddpm_theory.audit.bounds import (
    eps_weight,
    gaussian_posterior_trace,
    prior_kl_closed_form,
    reverse_variance,
    variance_mismatch,
    x_minus_log1p,
)
from ddpm_theory.backend import Schedule
from ddpm_theory.symbolic import registry

RTOL = 1e-12  # docs/verification.md S1, well conditioned: every formula is cancellation-free
SCHEDULES = [Schedule.linear(1000), Schedule.cosine(200), Schedule.sigmoid(50),
             Schedule.linear(10, beta_start=0.05, beta_end=0.3)]


def _export(derivation: str, name: str):
    expr = registry.get(derivation).exports[name]
    syms = sorted(expr.free_symbols, key=str)
    return sp.lambdify(syms, expr, modules="mpmath"), [str(s) for s in syms]


def _mp_schedule(s: Schedule) -> dict[str, list]:
    """β, α, ᾱ, ᾱ_{t−1}, β̃ at 50 digits from the (exact binary) float64 betas."""
    with mp.workdps(50):
        b = [mp.mpf(float(v)) for v in s.betas]
        ab, prod = [], mp.mpf(1)
        for v in b:
            prod *= 1 - v
            ab.append(prod)
        prev = [mp.mpf(1), *ab[:-1]]
        bt = [(1 - p) / (1 - a) * v for v, a, p in zip(b, ab, prev)]
    return {"beta": b, "alpha": [1 - v for v in b], "ab": ab, "prev": prev, "bt": bt}


def _rel(ours: np.ndarray, ref: list) -> float:
    ref_f = np.array([float(v) for v in ref])
    return float(np.max(np.abs(ours - ref_f) / np.abs(ref_f)))


@pytest.mark.parametrize("s", SCHEDULES, ids=repr)
@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_variance_mismatch_matches_export(s: Schedule, variance: str) -> None:
    f, names = _export("mean-matching", "C_t")
    assert names == ["betatilde_t", "d", "sigma2_t"]
    m = _mp_schedule(s)
    D = 3
    with mp.workdps(50):
        sig = m["beta"] if variance == "beta" else m["bt"]
        ref = [f(bt, D, sg) for bt, sg in zip(m["bt"][1:], sig[1:])]
    ours = variance_mismatch(s, variance, D)
    if variance == "beta_tilde":
        assert np.all(ours == 0.0) and all(abs(v) < 1e-40 for v in ref)
        return
    assert _rel(ours, ref) <= RTOL


def test_variance_mismatch_planted_dropped_alpha_bar_prev_is_rejected() -> None:
    s = SCHEDULES[0]
    f, _ = _export("mean-matching", "C_t")
    m = _mp_schedule(s)
    with mp.workdps(50):
        ref = [f(bt, 1, b) for bt, b in zip(m["bt"][1:], m["beta"][1:])]
    slip = 0.5 * x_minus_log1p(-s.betas[1:] / s.one_minus_alpha_bar[1:])  # ᾱ_{t−1} dropped
    assert _rel(slip, ref) > 1e-3


@pytest.mark.parametrize("s", SCHEDULES, ids=repr)
@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_eps_weight_matches_export(s: Schedule, variance: str) -> None:
    f, names = _export("loss-weights", "lambda_eps")
    assert names == ["alpha_t", "alphabar_t", "beta_t", "sigma2_t"]
    m = _mp_schedule(s)
    with mp.workdps(50):
        sig = m["beta"] if variance == "beta" else [m["bt"][1], *m["bt"][1:]]
        ref = [f(a, ab, b, sg) for a, ab, b, sg in
               zip(m["alpha"][1:], m["ab"][1:], m["beta"][1:], sig[1:])]
    assert _rel(eps_weight(s, reverse_variance(s, variance)), ref) <= RTOL


def test_eps_weight_planted_alpha_bar_prev_is_rejected() -> None:
    s = SCHEDULES[1]
    f, _ = _export("loss-weights", "lambda_eps")
    m = _mp_schedule(s)
    with mp.workdps(50):
        ref = [f(a, ab, b, b) for a, ab, b in zip(m["alpha"][1:], m["ab"][1:], m["beta"][1:])]
    slip = s.betas[1:] / (2.0 * s.alphas[1:] * s.one_minus_alpha_bar_prev[1:])
    assert _rel(slip, ref) > 1e-3


@pytest.mark.parametrize("s", SCHEDULES, ids=repr)
def test_prior_kl_matches_export(s: Schedule) -> None:
    f, names = _export("prior-term", "L_T_per_coordinate")
    assert names == ["alphabar_T", "x_end"]
    m = _mp_schedule(s)
    xs = np.array([0.0, 0.3, -1.0, 2.5])
    with mp.workdps(50):
        ref = [f(m["ab"][-1], mp.mpf(float(x))) for x in xs]
    assert _rel(prior_kl_closed_form(xs**2, 1, s), ref) <= RTOL


def test_x_minus_log1p_against_mpmath() -> None:
    u = np.concatenate([-np.logspace(-12, -0.01, 40), np.logspace(-12, 2, 40)])
    with mp.workdps(50):
        ref = [mp.mpf(float(v)) - mp.log1p(mp.mpf(float(v))) for v in u]
    assert _rel(x_minus_log1p(u), ref) <= RTOL


def test_gaussian_posterior_trace_against_conditioning() -> None:
    S = np.array([[1.0, 0.6], [0.6, 0.8]])
    for a in (1e-4, 0.3, 0.9999):
        C = a * S + (1 - a) * np.eye(2)
        direct = np.trace(S - a * S @ np.linalg.solve(C, S))  # Bishop 2006, Eq. 2.116
        # well conditioned 2×2 solve: agreement to 1e-12 relative
        assert gaussian_posterior_trace(S, np.array(a)) == pytest.approx(direct, rel=1e-12)


def test_reverse_variance_clips_t1() -> None:
    s = SCHEDULES[2]
    sig = reverse_variance(s, "beta_tilde")
    assert sig[0] == s.beta_tilde[1] and math.isclose(sig[5], s.beta_tilde[5], rel_tol=0)
    with pytest.raises(ValueError, match="learned"):
        reverse_variance(s, "learned")
