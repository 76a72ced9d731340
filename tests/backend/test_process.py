"""GaussianDiffusion against the closed forms generated from the symbolic derivations
(S1), pointwise identities (S2), a planted slip, and the reverse step's variants."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ddpm_theory.backend import GaussianDiffusion, Parameterization, Schedule, VarianceType
from ddpm_theory.numeric.formulas import generated
from ddpm_theory.testing.strategies import EDGE_SCHEDULES, ScheduleKind, schedule_and_t

EPS = np.finfo(np.float64).eps
RTOL = 1e-12  # docs/verification.md S1
RTOL_S2 = 1e-10  # docs/verification.md S2
F = generated()
PAIRS = schedule_and_t(min_steps=2)
PARAMS = list(Parameterization)
VARIANCES = list(VarianceType)


def _t(t: int, b: int = 1) -> torch.Tensor:
    return torch.full((b,), t, dtype=torch.long)


def _scalar(x: torch.Tensor) -> float:
    return float(x.reshape(-1)[0])


def _inputs(s: Schedule, t: int) -> dict[str, float]:
    i = t - 1
    return {"beta": s.betas[i], "alpha": s.alphas[i], "alpha_bar": s.alpha_bar[i],
            "alpha_bar_prev": s.alpha_bar_prev[i]}


def _conditioning(s: Schedule, t: int) -> float:
    """Relative error the generated forms carry on top of a few ulp: they form 1 - ab
    from the float ab, whose condition number w.r.t. ab is SNR = ab/(1 - ab) (one
    rounding of ab, eps relative, becomes eps SNR relative in 1 - ab); likewise for
    1 - ab_{t-1} when t >= 2 (at t = 1, 1 - ab_0 = 0 exactly on both sides). The backend
    takes 1 - ab from -expm1 of the log-space sum, accurate to (t + 2) eps (test_schedule)."""
    snr_prev = s.snr[t - 2] if t >= 2 else 0.0
    return 4 * EPS * (s.snr[t - 1] + snr_prev + s.T + 2)


def coefficient_mismatches(d: GaussianDiffusion, t: int) -> list[str]:
    """Names of backend coefficients (read off its public methods with unit inputs)
    that differ from the generated closed form beyond RTOL + conditioning."""
    s, kw = d.schedule, _inputs(d.schedule, t)
    one, zero, tt = torch.ones(1, 1, dtype=torch.float64), torch.zeros(1, 1).double(), _t(t)
    q = d.q_mean_variance(one, tt)
    post_x0 = d.q_posterior_mean_variance(one, zero, tt)
    post_xt = d.q_posterior_mean_variance(zero, one, tt)
    got = {
        "q_mean_coef": _scalar(q.mean),
        "q_variance": _scalar(q.variance),
        "posterior_mean_coef_x0": _scalar(post_x0.mean),
        "posterior_mean_coef_xt": _scalar(post_xt.mean),
        "posterior_variance": _scalar(post_x0.variance),
    }
    rtol = RTOL + _conditioning(s, t)
    bad = []
    for name, value in got.items():
        g = F[name]
        want = float(g(**{p: kw[p] for p in g.params}))
        if not abs(value - want) <= rtol * abs(want):
            bad.append(name)
    return bad


@given(pair=PAIRS)
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 1))
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 4))
@example(pair=(EDGE_SCHEDULES["constant_near_one"], 4))
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 10))
@example(pair=(EDGE_SCHEDULES["linear_T10"], 1))
@example(pair=(EDGE_SCHEDULES["cosine_T10"], 10))
def test_coefficients_match_generated_closed_forms(pair: tuple[np.ndarray, int]) -> None:
    betas, t = pair
    d = GaussianDiffusion(Schedule.from_betas(betas), "v")
    assert coefficient_mismatches(d, t) == []


def test_conditioning_allowance_is_tight_for_the_usual_schedule() -> None:
    """For Ho et al.'s schedule the allowance stays near S1's 1e-12 (it is not a blanket
    widening): at t = 1, SNR = (1 - 1e-4)/1e-4 ~ 1e4 gives 4 eps 1e4 ~ 9e-12."""
    s = Schedule.linear(1000)
    assert _conditioning(s, 1) < 1e-11 and _conditioning(s, 500) < 1e-12


def _planted(d: GaussianDiffusion, name: str, values: np.ndarray) -> GaussianDiffusion:
    table = dict(d.coefficients)
    table[name] = values
    d.coefficients = table
    d._cache.clear()
    return d


@pytest.mark.parametrize("t", [2, 5, 10])
def test_planted_alpha_bar_t_for_alpha_bar_prev_is_rejected(t: int) -> None:
    """Rule 4: beta_t sqrt(ab_t)/(1 - ab_t) instead of beta_t sqrt(ab_{t-1})/(1 - ab_t)."""
    s = Schedule.linear(10)
    d = GaussianDiffusion(s)
    assert coefficient_mismatches(d, t) == []
    wrong = s.betas * np.sqrt(s.alpha_bar) / s.one_minus_alpha_bar
    assert coefficient_mismatches(_planted(d, "posterior_mean_coef1", wrong), t) == [
        "posterior_mean_coef_x0"]


def test_planted_beta_for_beta_tilde_is_rejected() -> None:
    s = Schedule.cosine(10)
    d = _planted(GaussianDiffusion(s), "posterior_variance", s.betas.copy())
    assert coefficient_mismatches(d, 3) == ["posterior_variance"]


def test_planted_missing_square_root_is_rejected() -> None:
    s = Schedule.cosine(10)
    d = _planted(GaussianDiffusion(s), "sqrt_alpha_bar", s.alpha_bar.copy())
    assert coefficient_mismatches(d, 3) == ["q_mean_coef"]


# -- the reverse step: every parameterisation x variance type --------------------------------------
def _sum_bound(*terms: torch.Tensor) -> torch.Tensor:
    """|a + b + ...| is computed to ~ a few eps times |a| + |b| + ...: cancellation among
    the terms is the condition number of the sum, so the bound uses their magnitudes."""
    return sum(t.abs() for t in terms)


def _expected_mean(d: GaussianDiffusion, out: torch.Tensor, x_t: torch.Tensor, t: int):
    """mu_theta from the generated closed forms, by a route independent of the backend's:
    Eq. 11 for eps (posterior_mean_eps_coef_*), Eq. 7 on x0_hat for x0 and v."""
    kw = _inputs(d.schedule, t)

    def g(name: str) -> float:
        return float(F[name](**{p: kw[p] for p in F[name].params}))

    p = d.parameterization
    if p is Parameterization.MEAN:
        return out, (out,)
    if p is Parameterization.EPS:
        a, b = g("posterior_mean_eps_coef_xt") * x_t, g("posterior_mean_eps_coef_eps") * out
        return a + b, (a, b)
    if p is Parameterization.X0:
        x0 = out
        x0_terms: tuple = (out,)
    else:  # v: x0 = sqrt(ab) x_t - sqrt(1 - ab) v (Salimans & Ho 2022, App. D)
        u, w = g("q_mean_coef"), np.sqrt(g("q_variance"))
        x0_terms = (u * x_t, -w * out)
        x0 = x0_terms[0] + x0_terms[1]
    a, b = g("posterior_mean_coef_x0") * x0, g("posterior_mean_coef_xt") * x_t
    mags = g("posterior_mean_coef_x0") * _sum_bound(*x0_terms)
    return a + b, (mags, b)


def _expected_log_variance(d: GaussianDiffusion, var_part: torch.Tensor | None, t: int):
    s = d.schedule
    bt = s.beta_tilde[t - 1] if t >= 2 else s.beta_tilde[1]  # beta_tilde_2 at t = 1 (docs)
    v = d.variance
    if v is VarianceType.BETA:
        return torch.tensor(np.log(s.betas[t - 1]), dtype=torch.float64)
    if v is VarianceType.BETA_RELEASED:  # the released code: beta_tilde_2 at t = 1
        return torch.tensor(np.log(s.betas[t - 1] if t >= 2 else bt), dtype=torch.float64)
    if v is VarianceType.BETA_TILDE:
        return torch.tensor(np.log(bt), dtype=torch.float64)
    if v is VarianceType.LEARNED:
        return var_part
    frac = (var_part + 1) / 2  # Nichol & Dhariwal 2021, Eq. 15
    return frac * np.log(s.betas[t - 1]) + (1 - frac) * np.log(bt)


def _reverse_step_mismatch(d: GaussianDiffusion, t: int, seed: int) -> str | None:
    """'mean' or 'log_variance' if p_mean_variance disagrees with the closed forms."""
    s, var = d.schedule, d.variance
    g = torch.Generator().manual_seed(seed)
    B, D = 4, 3
    x_t = torch.randn(B, D, generator=g, dtype=torch.float64)
    out = torch.randn(B, 2 * D if var.is_learned else D, generator=g, dtype=torch.float64)
    mean_part, var_part = (out.chunk(2, 1) if var.is_learned else (out, None))
    pred = d.p_mean_variance(out, x_t, _t(t, B))
    want, terms = _expected_mean(d, mean_part, x_t, t)
    # both routes sum the same terms in different orders: 16 eps times their magnitudes,
    # plus the generated forms' 1 - ab conditioning (see _conditioning) on each term
    scale = _sum_bound(*terms) + _sum_bound(want)
    tol = RTOL * want.abs() + (16 * EPS + _conditioning(s, t)) * scale
    if not torch.all((pred.mean - want).abs() <= tol):
        return "mean"
    want_lv = _expected_log_variance(d, var_part, t)
    # log-variances: one log and one affine combination, 8 eps on the magnitudes involved
    lv_tol = 8 * EPS * (want_lv.abs() + abs(np.log(s.betas[t - 1])) + 1e3)
    if not torch.all((pred.log_variance - want_lv).abs() <= lv_tol):
        return "log_variance"
    if not torch.equal(pred.variance, torch.exp(pred.log_variance)):
        return "variance"
    return None


@settings(max_examples=15)
@given(pair=PAIRS, param=st.sampled_from(PARAMS), var=st.sampled_from(VARIANCES),
       seed=st.integers(0, 2**31 - 1))
@example(pair=(EDGE_SCHEDULES["linear_T10"], 1), param=Parameterization.EPS,
         var=VarianceType.BETA_TILDE, seed=0)
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 10), param=Parameterization.V,
         var=VarianceType.LEARNED_RANGE, seed=1)
@example(pair=(EDGE_SCHEDULES["constant_near_one"], 4), param=Parameterization.EPS,
         var=VarianceType.LEARNED, seed=2)
def test_p_mean_variance_matches_closed_forms(pair, param, var, seed) -> None:
    betas, t = pair
    s = Schedule.from_betas(betas)
    if s.zero_terminal_snr and param is Parameterization.EPS:
        with pytest.raises(ValueError, match="zero-terminal-SNR"):
            GaussianDiffusion(s, param, var)
        return
    d = GaussianDiffusion(s, param, var)
    assert _reverse_step_mismatch(d, t, seed) is None


def test_planted_reverse_step_slips_are_rejected() -> None:
    """The reverse-step check can fail: sqrt(1/ab) where sqrt(1/ab - 1) belongs in the
    eps -> x0 conversion, and log beta_t where log beta_tilde_t belongs."""
    s = Schedule.linear(10)
    good = GaussianDiffusion(s, "eps", "beta_tilde")
    assert _reverse_step_mismatch(good, 5, 0) is None
    bad = _planted(GaussianDiffusion(s, "eps", "beta_tilde"), "sqrt_recipm1_alpha_bar",
                   1 / np.sqrt(s.alpha_bar))
    assert _reverse_step_mismatch(bad, 5, 0) == "mean"
    bad = _planted(GaussianDiffusion(s, "eps", "beta_tilde"), "posterior_log_variance_clipped",
                   np.log(s.betas))
    assert _reverse_step_mismatch(bad, 5, 0) == "log_variance"


# -- S2 pointwise identities (common random numbers, float64) ----------------------------------
S2_PAIRS = schedule_and_t(min_steps=2, kinds=(ScheduleKind.RANDOM, ScheduleKind.LINEAR,
                                               ScheduleKind.COSINE, ScheduleKind.NEAR_ZERO))


def _draw(seed: int, shape=(8, 3)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g, dtype=torch.float64),
            torch.randn(shape, generator=g, dtype=torch.float64))


def _close(got: torch.Tensor, want: torch.Tensor, *terms: torch.Tensor) -> None:
    """rtol 1e-10 (S2) relative to the magnitudes of the summands the inversion
    cancels (its condition number), so a tiny result from large terms is not held to
    a relative bound it cannot meet in float64."""
    scale = want.abs() + sum(t.abs() for t in terms)
    assert torch.all((got - want).abs() <= RTOL_S2 * scale), (got - want).abs().max()


@given(pair=S2_PAIRS, seed=st.integers(0, 2**31 - 1))
@example(pair=(EDGE_SCHEDULES["constant_near_zero"], 1), seed=0)
def test_x0_eps_round_trip(pair, seed) -> None:
    betas, t = pair
    d = GaussianDiffusion(Schedule.from_betas(betas))
    x0, eps = _draw(seed)
    tt = _t(t, x0.shape[0])
    x_t = d.q_sample(x0, tt, eps)
    ab = d.schedule.alpha_bar[t - 1]
    # x0 = x_t/sqrt(ab) - sqrt(1/ab - 1) eps cancels terms of size |x0| + sqrt(1/ab - 1)|eps|
    _close(d.predict_x0_from_eps(x_t, tt, eps), x0, np.sqrt(1 / ab - 1) * eps)
    # eps = (x_t - sqrt(ab) x0)/sqrt(1 - ab) cancels sqrt(ab/(1 - ab)) |x0|
    _close(d.predict_eps_from_x0(x_t, tt, x0), eps, np.sqrt(ab / (1 - ab)) * x0)


@given(pair=schedule_and_t(min_steps=2), seed=st.integers(0, 2**31 - 1))
@example(pair=(EDGE_SCHEDULES["zero_terminal_snr_T10"], 10), seed=0)
def test_v_conversions(pair, seed) -> None:
    betas, t = pair
    d = GaussianDiffusion(Schedule.from_betas(betas), "v")
    x0, eps = _draw(seed)
    tt = _t(t, x0.shape[0])
    x_t = d.q_sample(x0, tt, eps)
    v = d.predict_v(x0, tt, eps)
    # (x_t, v) is a rotation of (x0, eps): terms bounded by |x0| + |eps|
    _close(d.predict_x0_from_v(x_t, tt, v), x0, eps)
    _close(d.predict_eps_from_v(x_t, tt, v), eps, x0)
    ab = d.schedule.alpha_bar[t - 1]
    _close(v, np.sqrt(ab) * eps - np.sqrt(1 - ab) * x0, eps, x0)  # the definition


@given(pair=S2_PAIRS, seed=st.integers(0, 2**31 - 1))
def test_posterior_mean_eps_form_equals_x0_form(pair, seed) -> None:
    betas, t = pair
    d = GaussianDiffusion(Schedule.from_betas(betas), "eps")
    x0, eps = _draw(seed)
    tt = _t(t, x0.shape[0])
    x_t = d.q_sample(x0, tt, eps)
    from_eps = d.p_mean_variance(eps, x_t, tt).mean  # the true eps as the model output
    post = d.q_posterior_mean_variance(x0, x_t, tt).mean
    s = d.schedule
    c1 = s.betas[t - 1] * np.sqrt(s.alpha_bar_prev[t - 1]) / s.one_minus_alpha_bar[t - 1]
    ab = s.alpha_bar[t - 1]
    # the eps route rebuilds x0 first (see test_x0_eps_round_trip), then weights it by c1
    _close(from_eps, post, x_t, c1 * np.sqrt(1 / ab - 1) * eps)


def test_t1_posterior_is_a_point_mass_at_x0() -> None:
    d = GaussianDiffusion(Schedule.linear(1000))
    x0, eps = _draw(3)
    tt = _t(1, x0.shape[0])
    post = d.q_posterior_mean_variance(x0, d.q_sample(x0, tt, eps), tt)
    assert torch.equal(post.mean, x0)  # exact: coefficients 1 and 0 at t = 1
    assert torch.all(post.variance == 0) and torch.all(post.log_variance == -torch.inf)


def test_p_sample_adds_no_noise_at_t1_and_sigma_z_otherwise() -> None:
    d = GaussianDiffusion(Schedule.linear(10), "eps", "beta")
    x_t, out = _draw(4)
    z = torch.ones_like(x_t)
    for t in (1, 2):
        tt = _t(t, x_t.shape[0])
        pred = d.p_mean_variance(out, x_t, tt)
        step = d.p_sample(out, x_t, tt, z)
        sigma = 0.0 if t == 1 else np.sqrt(d.schedule.betas[t - 1])
        # one multiply-add on top of the mean: 4 eps relative to |mean| + sigma
        torch.testing.assert_close(step, pred.mean + sigma * z, rtol=4 * EPS, atol=4 * EPS)


# -- argument checks ---------------------------------------------------------------------
def test_timestep_and_shape_checks() -> None:
    d = GaussianDiffusion(Schedule.linear(10))
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"1 <= t <= T = 10.*t = 0 at batch index 1"):
        d.q_sample(x, torch.tensor([1, 0]), x)
    with pytest.raises(ValueError, match="t = 11"):
        d.q_sample(x, torch.tensor([11, 1]), x)
    with pytest.raises(TypeError, match="integer"):
        d.q_sample(x, torch.tensor([1.0, 2.0]), x)
    with pytest.raises(ValueError, match="shape"):
        d.q_sample(x, torch.tensor([1, 2, 3]), x)
    with pytest.raises(ValueError, match="noise shape"):
        d.q_sample(x, torch.tensor([1, 2]), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="model output"):
        d.p_mean_variance(torch.zeros(2, 6), x, torch.tensor([1, 2]))
    learned = GaussianDiffusion(Schedule.linear(10), "eps", "learned")
    with pytest.raises(ValueError, match="twice the"):
        learned.p_mean_variance(torch.zeros(2, 3), x, torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="T >= 2"):
        GaussianDiffusion(Schedule.linear(1))
    with pytest.raises(ValueError, match="not a valid Parameterization"):
        GaussianDiffusion(Schedule.linear(10), "epsilonn")


def test_coefficients_follow_the_input_dtype() -> None:
    d = GaussianDiffusion(Schedule.linear(10))
    for dtype in (torch.float32, torch.float64):
        x = torch.ones(2, 1, 4, 4, dtype=dtype)
        c = d.extract("sqrt_alpha_bar", torch.tensor([1, 10]), x)
        assert c.dtype == dtype and c.shape == (2, 1, 1, 1)
