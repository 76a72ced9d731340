"""The KL and the decoders at every call site of the audit, against answers computed here
from the papers (``paper_reference``: numpy and scipy, KLs written with standard
deviations), so that a variance passed where a log-variance or a standard deviation belongs
is caught wherever the audit makes that call.

Call sites (``grep -n "normal_kl\\|gaussian_log_likelihood\\|decoder_nll\\|prior_kl"``):

* ``audit/evaluate.py`` ``RowEvaluator._chunk``: the KL of L_{t−1}, the KL of the
  Bayes-optimal term, ``decoder_nll`` of L_0, the Gaussian log-likelihood of the Bayes L_0;
  and the per-row ε-weight λ_t and floor C_t beside them;
* ``audit/trajectory.py``: log N(x_T; 0, I), log N(x_{t−1}; μ_θ, σ_t²), ``decoder_nll``;
* ``backend/losses.py`` ``prior_kl`` (L_T, used by ``elbo_terms``) and the closed form of
  ``audit/bounds.py``; ``gaussian_bayes_terms`` (σ² in the decoder and the transitions).

Each test's docstring names the error it catches and, after "fails when", the plant that
was put into the library to see it fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from paper_reference import Paper, bound_term, gaussian_nll, kl_normal_std
from scipy import stats

from ddpm_theory.audit import elbo_terms, trajectory_bound
from ddpm_theory.audit.bounds import gaussian_bayes_terms
from ddpm_theory.audit.evaluate import RowEvaluator
from ddpm_theory.backend import GaussianDiffusion, Schedule, prior_kl
from ddpm_theory.backend.data import standard_gaussian
from ddpm_theory.backend.enums import DecoderType

LEVELS = 17
SCHEDULE = Schedule.linear(6, 1e-3, 0.35)
VARIANCES = ["beta", "beta_tilde", "beta_released", "learned", "learned_range"]
PARAMS = ["eps", "x0", "v", "mean"]
D = 2


def _known(x_t: np.ndarray, t: np.ndarray, variance: str) -> np.ndarray:
    """A known model: mean block 0.7 x_t − 0.03 t + 0.1 cos x_t; variance block
    −1.5 + 0.4 tanh x_t (log σ²) or 0.9 tanh x_t (Eq. 15's v)."""
    tt = np.asarray(t, dtype=np.float64)[:, None]
    mean = 0.7 * x_t - 0.03 * tt + 0.1 * np.cos(x_t)
    if variance == "learned":
        return np.concatenate([mean, -1.5 + 0.4 * np.tanh(x_t)], 1)
    if variance == "learned_range":
        return np.concatenate([mean, 0.9 * np.tanh(x_t)], 1)
    return mean


def _known_torch(variance: str):
    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t.to(x_t.dtype)[:, None]
        mean = 0.7 * x_t - 0.03 * tt + 0.1 * torch.cos(x_t)
        if variance == "learned":
            return torch.cat([mean, -1.5 + 0.4 * torch.tanh(x_t)], 1)
        if variance == "learned_range":
            return torch.cat([mean, 0.9 * torch.tanh(x_t)], 1)
        return mean
    return model


def _x0(B: int) -> np.ndarray:
    """B examples on the 17-level grid of [−1, 1], both edge values included."""
    k = (np.arange(B * D) * 5) % LEVELS
    k[0], k[1] = 0, LEVELS - 1
    return (-1.0 + 2.0 * k / (LEVELS - 1)).reshape(B, D)


def _rows_reference(paper: Paper, x0: np.ndarray, t: np.ndarray, eps: np.ndarray, param: str,
                    variance: str, decoder: str) -> dict[str, np.ndarray]:
    """The evaluator's per-row fields from the papers; Bayes values for x_0 ~ N(0, I), where
    E[x_0|x_t] = √ᾱ_t x_t."""
    x_t = paper.q_sample(x0, t, eps)
    step = paper.step(_known(x_t, t, variance), x_t, t, param, variance)
    first = t[:, None] == 1
    b, a, ab = paper.col(paper.beta, t), 1 - paper.col(paper.beta, t), paper.col(paper.ab, t)
    lam = b**2 / (2 * step.var * a * (1 - ab))  # Ho et al. 2020, Eq. 12
    r = paper.col(paper.bt, t) / step.var
    with np.errstate(divide="ignore", invalid="ignore"):
        floor = np.where(first, 0.0, 0.5 * (r - 1 - np.log(r)))
    mu_q, var_q = paper.posterior(x0, x_t, t)
    mu_star = paper.posterior(np.sqrt(ab) * x_t, x_t, t)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        kl_star = kl_normal_std(mu_q, np.sqrt(var_q), mu_star, np.sqrt(step.var))
    dec_star = gaussian_nll(x0, mu_star, step.var) if decoder == "gaussian" else np.nan
    err2 = (eps - step.eps_hat) ** 2
    floor = np.broadcast_to(floor, err2.shape)  # a fixed σ² is one column: C_t per dimension
    return {
        "loss": bound_term(paper, step, x0, t, decoder, LEVELS),
        "mse": err2.sum(1),
        "weighted": np.where(first, 0.0, lam * err2).sum(1),
        "floor": floor.sum(1),
        "bayes": np.where(first, dec_star, kl_star).sum(1),
    }


@pytest.mark.parametrize("decoder", ["gaussian", "discretized"])
@pytest.mark.parametrize("variance", VARIANCES)
@pytest.mark.parametrize("param", PARAMS)
def test_audit_rows_match_the_paper(param: str, variance: str, decoder: str) -> None:
    """``RowEvaluator.run`` on rows of every t (t = 1 included), chunked in 7s, against the
    paper: loss = KL(q(x_{t−1}|x_t, x_0) ‖ p_θ) for t ≥ 2 and the decoder NLL at t = 1 (Ho et
    al. 2020, Eqs. 5, 13), mse = ‖ε − ε̂‖², weighted = Σ λ_t (ε − ε̂)² (Eq. 12), floor C_t
    (Eq. 8), and the Bayes-optimal term (μ̃_t at E[x_0|x_t] = √ᾱ_t x_t for N(0, I) data).

    Catches a variance where a log-variance belongs (or a log σ where log σ² belongs) at the
    evaluator's KL, Bayes KL, decoder and Bayes decoder; λ_t with σ_t instead of σ_t²; the
    floor's ratio inverted. Fails when the evaluator's KL gets pred.variance as log-variance;
    when the Bayes KL does; when the Bayes decoder gets logvar = σ²; when λ uses
    exp(−½ log σ²); when decoder_nll's log_scale is log σ²."""
    paper = Paper(SCHEDULE.betas)
    T, B = paper.T, 5
    idx = np.repeat(np.arange(B), T)
    t = np.tile(np.arange(1, T + 1), B)
    eps = np.random.default_rng(3).standard_normal((idx.size, D))
    x0 = _x0(B)
    d = GaussianDiffusion(SCHEDULE, param, variance)
    ev = RowEvaluator(_known_torch(variance), d, torch.from_numpy(x0),
                      decoder=DecoderType(decoder), levels=LEVELS, approx_cdf="exact",
                      law=standard_gaussian(D), model_dtype=torch.float64, batch_size=7)
    eps_t = torch.from_numpy(eps)
    got = ev.run(torch.from_numpy(idx), torch.from_numpy(t),
                 lambda start, n: eps_t[start:start + n])
    want = _rows_reference(paper, x0[idx], t, eps, param, variance, decoder)
    for name, w in want.items():
        # S2, float64; conversions of condition ≤ 1/β_1 = 1e3: rtol 1e-9
        np.testing.assert_allclose(got[name], w, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("decoder", ["gaussian", "discretized"])
@pytest.mark.parametrize("variance", ["beta", "beta_tilde", "learned_range"])
def test_elbo_terms_record_matches_the_paper(variance: str, decoder: str) -> None:
    """``elbo_terms`` end to end (all transitions, one noise draw per term, one model call):
    each transition mean, L_0, L_T and the total of the record against the paper, with the
    noise replayed from the same generator (one (rows, D) draw; rows ordered example by
    example, t = 1..T). L_T by hand: Σ_d ½(ᾱ_T x_0² + (1 − ᾱ_T) − 1 − log(1 − ᾱ_T)).

    Catches the prior KL with a variance for a log-variance, and any of the errors of the
    row test as they reach the record. Fails when prior_kl passes q.variance as the
    log-variance; when prior_kl reads t = T − 1."""
    paper = Paper(SCHEDULE.betas)
    T, B = paper.T, 6
    x0 = _x0(B)
    g = torch.Generator().manual_seed(11)
    rec = elbo_terms(_known_torch(variance), torch.from_numpy(x0), SCHEDULE,
                     parameterization="eps", variance=variance, decoder=decoder, levels=LEVELS,
                     generator=g, batch_size=10_000, bayes=False)
    eps = torch.randn((B * T, D), generator=torch.Generator().manual_seed(11),
                      dtype=torch.float64).numpy()
    idx, t = np.repeat(np.arange(B), T), np.tile(np.arange(1, T + 1), B)
    rows = _rows_reference(paper, x0[idx], t, eps, "eps", variance, decoder)["loss"]
    per = rows.reshape(B, T)
    abT = paper.ab[T]
    prior = (0.5 * (abT * x0**2 + (1 - abT) - 1 - math.log(1 - abT))).sum(1)
    np.testing.assert_allclose(rec.transitions, per[:, 1:].mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rec.decoder_term.nats, per[:, 0].mean(), rtol=1e-9)
    np.testing.assert_allclose(rec.prior.nats, prior.mean(), rtol=1e-9)
    np.testing.assert_allclose(rec.total.nats, (prior + per.sum(1)).mean(), rtol=1e-9)
    assert not rec.violations


def test_prior_kl_is_the_kl_of_q_xT_given_x0_to_the_standard_normal() -> None:
    """``prior_kl`` (L_T, Ho et al. 2020, Eq. 5) against scipy: KL(N(√ᾱ_T x_0, 1 − ᾱ_T) ‖
    N(0, 1)) per dimension by numerical integration of the log-ratio against the density
    (``scipy.integrate.quad``), at a T where ᾱ_T is far from 0 so every part is visible.
    Catches the variance passed as a log-variance, the standard deviation as the variance,
    or ᾱ_{T−1} for ᾱ_T. Fails when prior_kl passes q.variance as the log-variance; when it
    uses t = T − 1."""
    from scipy.integrate import quad

    s = Schedule.linear(4, 0.05, 0.2)
    ab = float(np.prod(1 - np.linspace(0.05, 0.2, 4)))
    x0 = np.array([[-1.3, 0.0, 2.1]])
    got = prior_kl(GaussianDiffusion(s), torch.from_numpy(x0)).numpy()
    want = 0.0
    for x in x0[0]:
        q = stats.norm(math.sqrt(ab) * x, math.sqrt(1 - ab))
        lo, hi = q.mean() - 12 * q.std(), q.mean() + 12 * q.std()
        want += quad(lambda y, q=q: q.pdf(y) * (q.logpdf(y) - stats.norm.logpdf(y)), lo, hi,
                     epsabs=1e-13, epsrel=1e-12)[0]
    # quad to ~1e-12 relative on a smooth integrand
    np.testing.assert_allclose(got, [want], rtol=1e-9)


@pytest.mark.parametrize("decoder", ["gaussian", "discretized"])
@pytest.mark.parametrize("variance", ["beta", "beta_tilde", "learned", "learned_range"])
def test_trajectory_bound_matches_the_paper(variance: str, decoder: str) -> None:
    """``trajectory_bound``: log q(x_{1:T}|x_0) − log p_θ(x_{0:T}) on one forward chain
    x_t = √α_t x_{t−1} + √β_t z_t (Ho et al. 2020, Eqs. 2, 3), z replayed from the same
    generator (one (T, B, D) draw), every density by ``scipy.stats.norm.logpdf`` with the
    standard deviation as the scale, the decoder by Eq. 13. Catches a variance where a
    log-variance belongs in the chain's reverse densities or decoder, or log q with β
    where √β belongs. Fails when the reverse log-density gets logvar = σ²; when log q uses
    log √β for log β."""
    paper = Paper(SCHEDULE.betas)
    T, B = paper.T, 4
    x0 = _x0(B)
    tb = trajectory_bound(_known_torch(variance), torch.from_numpy(x0), SCHEDULE,
                          parameterization="v", variance=variance, decoder=decoder,
                          levels=LEVELS, generator=torch.Generator().manual_seed(5))
    z = torch.randn((T, B, D), generator=torch.Generator().manual_seed(5),
                    dtype=torch.float64).numpy()
    xs = [x0]
    for k in range(T):
        b = paper.beta[k + 1]
        xs.append(math.sqrt(1 - b) * xs[-1] + math.sqrt(b) * z[k])
    log_q = sum(stats.norm.logpdf(xs[t], math.sqrt(1 - paper.beta[t]) * xs[t - 1],
                                  math.sqrt(paper.beta[t])).sum(1) for t in range(1, T + 1))
    log_p = stats.norm.logpdf(xs[T]).sum(1)
    for t in range(T, 0, -1):
        tt = np.full(B, t)
        step = paper.step(_known(xs[t], tt, variance), xs[t], tt, "v", variance)
        if t >= 2:
            log_p = log_p - gaussian_nll(xs[t - 1], step.mean, step.var).sum(1)
        else:
            log_p = log_p - bound_term(paper, step, x0, tt, decoder, LEVELS)
    np.testing.assert_allclose(tb.numpy(), log_q - log_p, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("variance", ["beta", "beta_tilde", "beta_released"])
def test_gaussian_bayes_terms_match_the_paper(variance: str) -> None:
    """``gaussian_bayes_terms`` for x_0 ~ N(m, s²) in 1-D: each transition
    coef1_t² Var(x_0|x_t)/(2σ_t²) + ½(β̃_t/σ_t² − 1 − log(β̃_t/σ_t²)) and the decoder
    Var(x_0|x_1)/(2σ_1²) + ½ log(2πσ_1²), with Var(x_0|x_t) = s²(1 − ᾱ_t)/(ᾱ_t s² + 1 − ᾱ_t)
    and the prior ½(ᾱ_T(s² + m²) + (1 − ᾱ_T) − 1 − log(1 − ᾱ_T)). Catches σ_1² = β̃_1 = 0 or
    σ_t in place of σ_t², and the released fixed-large σ_1² = β̃_2 confused with β_1.
    Fails when the decoder term uses log σ_1 for log σ_1²; when reverse_variance returns β
    for beta_released."""
    paper = Paper(SCHEDULE.betas)
    T, m, s2 = paper.T, 0.4, 1.7
    got = gaussian_bayes_terms(SCHEDULE, np.array([m]), np.array([[s2]]), variance)
    ab = paper.ab[1:]
    post_var = s2 * (1 - ab) / (ab * s2 + 1 - ab)
    sig = {"beta": paper.beta[1:].copy(), "beta_tilde": paper.bt[1:].copy(),
           "beta_released": paper.beta[1:].copy()}[variance]
    if variance != "beta":
        sig[0] = paper.bt[2]
    c1 = paper.beta[2:] * np.sqrt(paper.ab[1:-1]) / (1 - paper.ab[2:])
    r = paper.bt[2:] / sig[1:]
    trans = c1**2 * post_var[1:] / (2 * sig[1:]) + 0.5 * (r - 1 - np.log(r))
    dec = post_var[0] / (2 * sig[0]) + 0.5 * math.log(2 * math.pi * sig[0])
    abT = paper.ab[T]
    prior = 0.5 * (abT * (s2 + m * m) + (1 - abT) - 1 - math.log(1 - abT))
    np.testing.assert_allclose(got["transitions"], trans, rtol=1e-10)
    assert got["decoder"] == pytest.approx(dec, rel=1e-10)
    assert got["prior"] == pytest.approx(prior, rel=1e-10)


@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_respaced_audit_uses_the_sub_chain(variance: str) -> None:
    """``elbo_terms(..., steps=K)`` audits the K-step sub-chain (Nichol & Dhariwal 2021,
    Sec. 4): β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} from a hand product, τ_i = round(1 + (i − 1)
    (T − 1)/(K − 1)), the model queried at τ_i, σ_i² = β'_i or β̃'_i; each sub-chain term,
    L_0 and L_T against the paper with the noise replayed. Catches the parent's β at the
    kept steps in place of β', or the model called with i instead of τ_i. Fails when the
    audit's RespacedModel passes t through unchanged; when the audit builds the sub-chain
    from the parent's β at the kept steps."""
    T, K, B = 30, 4, 5
    parent = Schedule.linear(T, 1e-3, 0.2)
    x0 = _x0(B)
    rec = elbo_terms(_known_torch(variance), torch.from_numpy(x0), parent, steps=K,
                     parameterization="eps", variance=variance, decoder="gaussian",
                     generator=torch.Generator().manual_seed(2), batch_size=10_000,
                     bayes=False)
    tau = [round(1 + i * (T - 1) / (K - 1)) for i in range(K)]
    ab, acc = [1.0], 1.0
    for b in np.linspace(1e-3, 0.2, T):
        acc *= 1.0 - float(b)
        ab.append(acc)
    prev = [0, *tau[:-1]]
    sub = Paper(np.array([1.0 - ab[tau[i]] / ab[prev[i]] for i in range(K)]))
    eps = torch.randn((B * K, D), generator=torch.Generator().manual_seed(2),
                      dtype=torch.float64).numpy()
    idx, i = np.repeat(np.arange(B), K), np.tile(np.arange(1, K + 1), B)
    x_t = sub.q_sample(x0[idx], i, eps)
    out = _known(x_t, np.array(tau)[i - 1], variance)
    step = sub.step(out, x_t, i, "eps", variance)
    per = bound_term(sub, step, x0[idx], i, "gaussian", None).reshape(B, K)
    assert rec.respaced_timesteps.tolist() == tau
    np.testing.assert_allclose(rec.transitions, per[:, 1:].mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(rec.decoder_term.nats, per[:, 0].mean(), rtol=1e-9)
    prior = (0.5 * (ab[T] * x0**2 + (1 - ab[T]) - 1 - math.log(1 - ab[T]))).sum(1)
    np.testing.assert_allclose(rec.prior.nats, prior.mean(), rtol=1e-9)
