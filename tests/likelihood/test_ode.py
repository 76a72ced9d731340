"""The probability-flow ODE likelihood against the truth: with the exact score of
a known law as the model, ode_nll must return −log q_{t_min}(x) to within the
solver's accuracy; planted slips (the divergence's sign, the dequantisation
term) must be caught."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ddpm_theory.backend.data import get_dataset
from ddpm_theory.backend.schedule import Schedule
from ddpm_theory.likelihood import ContinuousSchedule, exact_eps_model, ode_nll
from ddpm_theory.likelihood import ode as ode_module
from ddpm_theory.numeric.acceptance import assert_agrees, z_threshold
from ddpm_theory.numeric.estimators import sample_mean

LAWS = ["standard_gaussian", "gaussian", "mixture_1d", "mixture_2d", "ring8"]
SCHEDULE = Schedule.linear(1000)
CONT = ContinuousSchedule(SCHEDULE)
T_MIN = 1e-3
# solve_ivp's tolerances bound the local error per step; the global error of the
# log-density over a few hundred steps was measured at <= 4e-5 nats for 1e-7 on
# these laws; 2e-4 leaves a factor 5, while the slips below move it by >= 0.1.
TOL, ERR = 1e-7, 2e-4


def _setup(name: str, n: int, seed: int = 1):
    law = get_dataset(name)
    x = law.sample(n, torch.Generator().manual_seed(seed), dtype=torch.float64)
    ab_T = float(CONT.alpha_bar(CONT.T))

    def prior(z: torch.Tensor) -> torch.Tensor:  # the exact q(x_T), not N(0, I)
        return law.marginal_log_prob(z, ab_T)

    truth = -law.marginal_log_prob(x, float(CONT.alpha_bar(T_MIN))).numpy()
    return law, x, prior, truth


@pytest.mark.parametrize("name", LAWS)
@pytest.mark.parametrize("t", [1, 10, 250, 1000])
def test_exact_eps_is_tweedie_from_the_posterior_mean(name: str, t: int) -> None:
    # two independent formulas: E[eps|x_t] = -sigma * score (exact.py) and
    # (x_t - sqrt(ab) E[x0|x_t]) / sigma from the law's own posterior mean
    law = get_dataset(name)
    x = law.sample(50, torch.Generator().manual_seed(2), dtype=torch.float64)
    ab = float(SCHEDULE.alpha_bar[t - 1])
    x_t = math.sqrt(ab) * x + math.sqrt(1 - ab) * torch.randn(x.shape, dtype=torch.float64,
                                                              generator=torch.Generator())
    got = exact_eps_model(law, SCHEDULE)(x_t, torch.full((50,), t))
    want = (x_t - math.sqrt(ab) * law.posterior_mean_x0(x_t, ab)) / math.sqrt(1 - ab)
    # both in float64; the Cholesky solves differ in rounding, relative 1e-9 of |eps| ~ 1
    torch.testing.assert_close(got, want, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("name", LAWS)
def test_ode_nll_equals_the_true_nll(name: str) -> None:
    law, x, prior, truth = _setup(name, 32)
    r = ode_nll(exact_eps_model(law, SCHEDULE), x, SCHEDULE, rtol=TOL, atol=TOL,
                t_min=T_MIN, prior=prior)
    assert np.max(np.abs(r.nll - truth)) <= ERR
    assert r.nfev > 0 and r.settings.rtol == TOL and r.hutchinson_stderr == 0.0


def test_planted_divergence_sign_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    law, x, prior, truth = _setup("mixture_2d", 16)
    right = ode_module.drift_divergence
    monkeypatch.setattr(ode_module, "drift_divergence",
                        lambda b, s, D, div: -right(b, s, D, div))
    r = ode_nll(exact_eps_model(law, SCHEDULE), x, SCHEDULE, rtol=TOL, atol=TOL,
                t_min=T_MIN, prior=prior)
    assert np.max(np.abs(r.nll - truth)) > 0.1


@pytest.mark.parametrize("param", ["x0", "v"])
def test_other_parameterisations_give_the_same_nll(param: str) -> None:
    law, x, prior, truth = _setup("mixture_1d", 16)
    eps_model = exact_eps_model(law, SCHEDULE)

    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        s = float(t[0])
        ab, om = float(CONT.alpha_bar(s)), float(CONT.one_minus_alpha_bar(s))
        eps = eps_model(x_t, t)
        x0 = (x_t - math.sqrt(om) * eps) / math.sqrt(ab)
        return x0 if param == "x0" else math.sqrt(ab) * eps - math.sqrt(om) * x0

    r = ode_nll(model, x, SCHEDULE, parameterization=param, rtol=TOL, atol=TOL, t_min=T_MIN,
                prior=prior)
    assert np.max(np.abs(r.nll - truth)) <= ERR


@pytest.mark.statistical
@pytest.mark.parametrize("probe", ["rademacher", "gaussian"])
def test_hutchinson_is_unbiased(probe: str, seed: int) -> None:
    # per example, the mean of P probe estimates is compared with the exact-trace value;
    # under H0 (unbiased) (mean - exact) / (sd_probes / sqrt P) is ~ t_{P-1}; all B
    # comparisons share a false-alarm budget of 1e-6
    # tolerance 1e-6: a solver error of ~1e-3 nats is far below the probe noise (~0.1)
    law, x, prior, _ = _setup("mixture_2d", 8, seed)
    model = exact_eps_model(law, SCHEDULE)
    exact = ode_nll(model, x, SCHEDULE, rtol=1e-6, atol=1e-6, prior=prior)
    P = 24
    r = ode_nll(model, x, SCHEDULE, trace="hutchinson", n_probes=P, probe=probe, rtol=1e-6,
                atol=1e-6, prior=prior, generator=torch.Generator().manual_seed(seed + 1))
    sd = r.probe_nll.std(axis=1, ddof=1)
    z = np.abs(r.nll - exact.nll) / (sd / math.sqrt(P))
    assert np.all(sd > 0) and np.isfinite(r.hutchinson_stderr)
    assert np.all(z <= z_threshold(1e-6, x.shape[0], dof=P - 1)), z


def _dequant_setup(seed: int):
    # a diagonal Gaussian, so that the probability of a grid bin is a product of CDF
    # differences; data snapped to the 17-level grid of [-1, 1] (bin width 1/8)
    mean, sd = np.array([0.1, -0.2]), np.array([0.5, 0.4])
    law = get_dataset("gaussian", mean=mean.tolist(), cov=np.diag(sd**2).tolist())
    x = law.sample(400, torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = torch.clamp(torch.round((x + 1) * 8) / 8 - 1, -1, 1)
    return law, x, mean, sd


def _expected_dequantised(x: np.ndarray, mean: np.ndarray, sd: np.ndarray, width: float,
                          t_min: float) -> np.ndarray:
    """E_u[-log q_{t_min}(x + width u)] - D log width, u ~ U[-1/2, 1/2]^D: the Gaussian's
    quadratic averages to its value at x plus width²/12 per coordinate over 2 var."""
    ab = float(CONT.alpha_bar(t_min))
    m, v = math.sqrt(ab) * mean, ab * sd**2 + (1 - ab)
    quad = ((x - m) ** 2 + width**2 / 12) / (2 * v)
    return (quad + 0.5 * np.log(2 * math.pi * v)).sum(1) - x.shape[1] * math.log(width)


@pytest.mark.statistical
def test_dequantised_nll_is_the_jensen_bound(seed: int) -> None:
    law, x, mean, sd = _dequant_setup(seed)
    width = 2.0 / 16
    r = ode_nll(exact_eps_model(law, SCHEDULE), x, SCHEDULE, rtol=1e-6, atol=1e-6,
                dequantize=17, t_min=T_MIN)
    want = _expected_dequantised(x.numpy(), mean, sd, width, T_MIN)
    d = r.nll - want  # one u per example: zero mean under H0
    # power: 1 nat is caught (a dropped dequantisation term is D log(1/width) = 2 log 8 = 4.2)
    assert_agrees(sample_mean(d), 0.0, must_detect=1.0, n_examples=1,
                  what="dequantised NLL - its expectation")  # fmt: skip
    assert r.dequantization_nats == pytest.approx(-2 * math.log(width), rel=1e-15)
    # the bound lies above the exact -log P(x) of the bins (Jensen), on average
    lo, hi = x.numpy() - width / 2, x.numpy() + width / 2
    p_bin = stats.norm.cdf(hi, mean, sd) - stats.norm.cdf(lo, mean, sd)
    assert want.mean() >= -np.log(p_bin).sum(1).mean()


def test_planted_missing_dequantisation_term_is_caught() -> None:
    law, x, mean, sd = _dequant_setup(3)
    x = x[:50]
    r = ode_nll(exact_eps_model(law, SCHEDULE), x, SCHEDULE, rtol=1e-6, atol=1e-6,
                dequantize=17, t_min=T_MIN)
    want = _expected_dequantised(x.numpy(), mean, sd, 2.0 / 16, T_MIN)
    slip = r.nll - r.dequantization_nats  # the density of x + width u alone
    # the per-example noise of one u is well below 1 nat here; the slip moves 4.2 nats
    assert abs((r.nll - want).mean()) < 0.5 < abs((slip - want).mean())


def test_bad_arguments_are_refused() -> None:
    law, x, _, _ = _setup("gaussian", 4)
    m = exact_eps_model(law, SCHEDULE)
    with pytest.raises(ValueError, match="t_min must lie in"):
        ode_nll(m, x, SCHEDULE, t_min=0.0)
    with pytest.raises(ValueError, match="n_probes must be a positive integer"):
        ode_nll(m, x, SCHEDULE, trace="hutchinson", n_probes=0)
    with pytest.raises(ValueError, match="not a valid TraceEstimator"):
        ode_nll(m, x, SCHEDULE, trace="hutch")
    with pytest.raises(ValueError, match="posterior mean has no continuous-time meaning"):
        ode_nll(m, x, SCHEDULE, parameterization="mean")
    with pytest.raises(ValueError, match="dequantize must be None or"):
        ode_nll(m, x, SCHEDULE, dequantize=1)
    big = torch.zeros(2, 65, dtype=torch.float64)
    with pytest.raises(ValueError, match="use trace='hutchinson'"):
        ode_nll(lambda a, t: a, big, SCHEDULE)
    with pytest.raises(ValueError, match="zero terminal SNR"):
        ode_nll(m, x, SCHEDULE.rescale_zero_terminal_snr(), parameterization="v")
