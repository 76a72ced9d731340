"""Algorithm 1 (training) and Algorithm 2 (sampling) of Ho et al. 2020, and every training
loss, against answers computed in the test from the papers' formulas.

* The timestep of every training path (each loss type, parameterisation and variance, and
  a resumed run) is t ~ Uniform{1, …, T} in the paper's 1-based convention: a spy model
  records the t it is called with; range and a chi-square test of uniformity.
* Every loss type × parameterisation × variance × decoder of ``training_losses`` on a known
  model, against ``paper_reference`` (numpy/scipy; KL and decoders written with standard
  deviations, so a variance passed where a log-variance or a standard deviation belongs is
  caught at each call).
* The sampler: x_{t−1} = μ_θ + σ_t z with z = 0 at t = 1, σ_t² = β_t or β̃_t, replayed step
  by step from the same generator.

Each test's docstring names the error it catches and, after "fails when", the plant that
was put into the library to see it fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from paper_reference import Paper, bound_term
from scipy import stats
from torch import nn

from ddpm_theory.backend import GaussianDiffusion, Schedule, training_losses
from ddpm_theory.backend.models import default_model
from ddpm_theory.backend.sample import p_sample_loop
from ddpm_theory.backend.train import resume, train

LEVELS = 17
SCHEDULE = Schedule.linear(8, 1e-3, 0.3)  # large β: every coefficient well conditioned
PARAMS = ["eps", "x0", "v", "mean"]


# -- Algorithm 1: t ~ Uniform{1..T} in every training path -------------------------------------
class Spy(nn.Module):
    """Records every t the trainer passes to the wrapped network."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[torch.Tensor] = []

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.seen.append(t.detach().clone())
        return self.inner(x_t, t)


FA_UNIFORM = 1e-6  # false-alarm rate of each chi-square test (docs/verification.md, S3)
T_TRAIN, BATCH, STEPS = 12, 128, 48  # 6,144 draws: 512 expected per timestep


def _check_algorithm_1(seen: list[torch.Tensor], T: int, batch: int) -> None:
    """Every call: a Long tensor (batch,) of paper timesteps in 1..T; over all calls the
    counts of 1..T pass a chi-square test of uniformity at FA_UNIFORM.

    Power: a timestep never drawn (T never drawn, or 1 never drawn: 0-based or skipped
    decoder) adds n/T = 512 to the statistic, against a threshold of chi2.isf(1e-6, 11) ≈ 50."""
    for t in seen:
        assert t.dtype == torch.long and t.shape == (batch,)
    t = torch.cat(seen).numpy()
    assert t.min() >= 1 and t.max() <= T, (t.min(), t.max())
    counts = np.bincount(t, minlength=T + 1)[1:]
    expected = t.size / T
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 <= stats.chi2.isf(FA_UNIFORM, T - 1), counts


def _spy(learned: bool) -> Spy:
    return Spy(default_model((2,), learned, hidden=16, depth=1))


@pytest.mark.statistical
@pytest.mark.parametrize("loss, param, variance", [
    ("simple", "eps", "beta"), ("simple", "x0", "beta_tilde"), ("simple", "v", "beta"),
    ("simple", "mean", "beta"), ("mean_mse", "eps", "beta"), ("x0_mse", "x0", "beta"),
    ("v_mse", "v", "beta_released"), ("vlb", "eps", "beta"), ("vlb", "x0", "learned"),
    ("vlb", "v", "learned_range"), ("hybrid", "eps", "learned_range"),
    ("hybrid", "mean", "learned"),
])
def test_every_training_path_draws_t_uniform_on_1_to_T(loss: str, param: str, variance: str,
                                                       seed: int) -> None:
    """Algorithm 1, line 3: t ~ Uniform({1, …, T}), the paper's 1-based convention (the
    library's documented one: t is a paper timestep). Catches a 0-based draw (t = 0 never
    allowed), a draw that never reaches T (randint(1, T)), or one that skips t = 1 (the
    decoder term never trained). Fails when the trainer draws randint(1, T); when it draws
    randint(2, T + 1); when it draws randint(0, T) (then t = 0 is refused)."""
    spy = _spy(variance in ("learned", "learned_range"))
    train("mixture_2d", STEPS, model=spy, schedule=Schedule.linear(T_TRAIN, 1e-3, 0.2),
          parameterization=param, variance=variance, loss=loss, batch_size=BATCH, seed=seed,
          progress=False, log_every=STEPS)
    assert len(spy.seen) == STEPS  # one model call per step, on the drawn t
    _check_algorithm_1(spy.seen, T_TRAIN, BATCH)


@pytest.mark.statistical
def test_a_resumed_run_draws_t_uniform_on_1_to_T(tmp_path, seed: int) -> None:
    """The other training path: :func:`resume` continues with the same draw of t. Fails
    with the same plants as the test above (the loop is shared); checked separately so that
    a resume-only loop would be held to Algorithm 1 too."""
    path = tmp_path / "run.pt"
    sched = Schedule.linear(T_TRAIN, 1e-3, 0.2)
    spy = _spy(False)
    train("mixture_2d", 1, model=spy, schedule=sched, batch_size=BATCH, seed=seed,
          progress=False, out=path)
    spy2 = _spy(False)
    resume(path, 1 + STEPS, model=spy2, progress=False, log_every=STEPS, out=tmp_path / "b.pt")
    assert len(spy2.seen) == STEPS
    _check_algorithm_1(spy2.seen, T_TRAIN, BATCH)


# -- every training loss against the paper ------------------------------------------------------
def _known_output(x_t: np.ndarray, t: np.ndarray, learned: bool, variance: str) -> np.ndarray:
    """A smooth known model: mean block 0.6 x_t + 0.05 t + 0.1 sin x_t; variance block
    −2 + 0.5 tanh x_t (log σ²) or 0.8 tanh x_t (the interpolation v ∈ [−1, 1])."""
    tt = np.asarray(t, dtype=np.float64)[:, None]
    mean = 0.6 * x_t + 0.05 * tt + 0.1 * np.sin(x_t)
    if not learned:
        return mean
    v = -2.0 + 0.5 * np.tanh(x_t) if variance == "learned" else 0.8 * np.tanh(x_t)
    return np.concatenate([mean, v], 1)


class Known(nn.Module):
    """``_known_output`` as a torch module (the same formula, torch functions)."""

    def __init__(self, learned: bool, variance: str) -> None:
        super().__init__()
        self.learned, self.variance = learned, variance

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t.to(x_t.dtype)[:, None]
        mean = 0.6 * x_t + 0.05 * tt + 0.1 * torch.sin(x_t)
        if not self.learned:
            return mean
        th = torch.tanh(x_t)
        v = -2.0 + 0.5 * th if self.variance == "learned" else 0.8 * th
        return torch.cat([mean, v], 1)


def _batch(T: int, D: int = 3, per_t: int = 3):
    """x_0 on the 17-level grid (edges −1 and 1 included), every t = 1..T ``per_t`` times."""
    g = np.random.default_rng(12345)
    t = np.repeat(np.arange(1, T + 1), per_t)
    k = g.integers(0, LEVELS, size=(t.size, D))
    k[0, 0], k[1, 0] = 0, LEVELS - 1
    x0 = -1.0 + 2.0 * k / (LEVELS - 1)
    eps = g.standard_normal((t.size, D))
    return x0, eps, t


def _reference(loss: str, param: str, variance: str, decoder: str, vlb_weight: float):
    paper = Paper(SCHEDULE.betas)
    x0, eps, t = _batch(paper.T)
    learned = variance in ("learned", "learned_range")
    x_t = paper.q_sample(x0, t, eps)
    step = paper.step(_known_output(x_t, t, learned, variance), x_t, t, param, variance)
    ab = paper.col(paper.ab, t)
    mse = {
        "simple": ((eps - step.eps_hat) ** 2).mean(1),
        "x0_mse": ((x0 - step.x0_hat) ** 2).mean(1),
        "v_mse": (((np.sqrt(ab) * eps - np.sqrt(1 - ab) * x0)
                   - (np.sqrt(ab) * step.eps_hat - np.sqrt(1 - ab) * step.x0_hat)) ** 2).mean(1),
        "mean_mse": ((paper.posterior(x0, x_t, t)[0] - step.mean) ** 2).mean(1),
        "hybrid": ((eps - step.eps_hat) ** 2).mean(1),
    }
    D = x0.shape[1]
    vlb = bound_term(paper, step, x0, t, decoder, LEVELS)
    if loss == "vlb":
        want = paper.T * vlb / D
    elif loss == "hybrid":
        want = mse["hybrid"] + vlb_weight * paper.T * vlb / D
    else:
        want = mse[loss]
    return (x0, eps, t), want, vlb


_FIXED = ["beta", "beta_tilde", "beta_released"]
CASES = (
    [(loss, p, "beta", "gaussian") for loss in ("simple", "mean_mse", "x0_mse", "v_mse")
     for p in PARAMS]
    + [("vlb", p, v, d) for p in PARAMS for v in (*_FIXED, "learned", "learned_range")
       for d in ("gaussian", "discretized")]
    + [("hybrid", p, v, d) for p in PARAMS for v in ("learned", "learned_range")
       for d in ("gaussian", "discretized")]
)


@pytest.mark.parametrize("loss, param, variance, decoder", CASES)
def test_training_loss_matches_the_paper(loss: str, param: str, variance: str,
                                         decoder: str) -> None:
    """``training_losses`` for one loss type, parameterisation, variance and decoder, on a
    known model and a batch with every t = 1..T (and both edge bins of the grid), against
    ``paper_reference``: Eq. 4 for x_t, Eq. 11 / Eq. 7 for μ_θ, Sec. 3.2 and Nichol &
    Dhariwal Eq. 15 for σ², the KL with standard deviations, scipy's normal for the
    decoders; vlb = T L/D and hybrid = L_simple + λ T L/D.

    Catches, at every call site of the KL and the decoders in the training losses: a
    variance passed as a log-variance or a standard deviation, a log σ passed where log σ²
    belongs (or back), ᾱ_t indexed at t instead of t − 1, σ² = β̃ where β belongs, and the
    interpolation of Eq. 15 reversed. Fails when the discretised decoder gets
    log_scale = log σ² (no ½); when the Gaussian decoder gets logvar = σ²; when vlb_term's
    KL gets the posterior variance for its log-variance; when model_log_variance returns β
    for beta_tilde; when learned_range swaps log β and log β̃; when extract reads index t;
    when the v-loss target is √ᾱ x_0 − √(1 − ᾱ) ε."""
    d = GaussianDiffusion(SCHEDULE, param, variance)
    (x0, eps, t), want, vlb = _reference(loss, param, variance, decoder, 1e-3)
    learned = variance in ("learned", "learned_range")
    got = training_losses(d, Known(learned, variance), torch.from_numpy(x0),
                          torch.from_numpy(t), torch.from_numpy(eps), loss=loss,
                          decoder=decoder, levels=LEVELS, vlb_weight=1e-3)
    # S2, float64: the two routes differ by rounding in conversions whose condition number
    # is ≤ 1/β_1 = 1e3 and in log Φ differences of O(1) bins: rtol 1e-9, atol 1e-12
    np.testing.assert_allclose(got.loss.detach().numpy(), want, rtol=1e-9, atol=1e-12)
    if got.vlb is not None:
        np.testing.assert_allclose(got.vlb.detach().numpy(), vlb, rtol=1e-9, atol=1e-12)


# -- Algorithm 2: the sampler ------------------------------------------------------------------
@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("variance", [*_FIXED, "learned", "learned_range"])
def test_sampler_replays_algorithm_2_step_by_step(param: str, variance: str) -> None:
    """``p_sample_loop``: x_T ~ N(0, I); for t = T..1, x_{t−1} = μ_θ(x_t, t) + σ_t z with
    z ~ N(0, I) for t > 1 and z = 0 at t = 1 (Ho et al. 2020, Algorithm 2), replayed here
    with the same generator (one draw of x_T, then one z per step t = T..2) and the paper's
    μ_θ and σ_t. Catches σ_t = σ_t² (a variance where a standard deviation belongs),
    σ_t² = β̃ for β, noise added at t = 1, or steps taken in the wrong order. Fails when
    p_sample multiplies z by exp(log σ²); when its mask keeps z at t = 1 (with
    p_sample_loop drawing a z at step 1 too); when the loop runs t = 1..T."""
    paper = Paper(SCHEDULE.betas)
    T, n, D = paper.T, 5, 3
    learned = variance in ("learned", "learned_range")
    d = GaussianDiffusion(SCHEDULE, param, variance)
    traj = p_sample_loop(d, Known(learned, variance), (n, D), torch.Generator().manual_seed(7),
                         return_trajectory=True, dtype=torch.float64)
    g = torch.Generator().manual_seed(7)
    x = torch.randn((n, D), generator=g, dtype=torch.float64).numpy()
    want = {T: x}
    for t in range(T, 0, -1):
        z = torch.randn((n, D), generator=g, dtype=torch.float64).numpy() if t > 1 else 0.0
        tt = np.full(n, t)
        step = paper.step(_known_output(x, tt, learned, variance), x, tt, param, variance)
        x = step.mean + np.sqrt(step.var) * z
        want[t - 1] = x
    for t in range(T + 1):
        # T steps of S2 rounding, each with conversions of condition ≤ 1/β_1: rtol 1e-9
        np.testing.assert_allclose(traj.at(t).numpy(), want[t], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("variance", _FIXED)
def test_last_step_adds_no_noise_and_others_add_sigma_z(variance: str) -> None:
    """``p_sample`` given a noise tensor: at t = 1 the result is μ_θ exactly whatever the
    noise (Algorithm 2: z = 0 if t = 1); at t > 1 it is μ_θ + σ_t z with σ_t = √β_t (or √β̃_t),
    so (x_{t−1} − μ_θ)/z = σ_t, computed here from β. Catches noise at the last step and σ²
    (or log σ²) where σ belongs. Fails when p_sample's mask is 1 at t = 1; when it scales z
    by exp(log σ²)."""
    paper = Paper(SCHEDULE.betas)
    d = GaussianDiffusion(SCHEDULE, "eps", variance)
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).reshape(4, 3)
    z = torch.full_like(x, 2.5)
    t = torch.tensor([1, 2, 5, 8])
    out = Known(False, variance)(x, t)
    got = d.p_sample(out, x, t, z).numpy()
    step = paper.step(out.numpy(), x.numpy(), t.numpy(), "eps", variance)
    np.testing.assert_array_equal(got[0], d.p_mean_variance(out, x, t).mean[0].numpy())
    np.testing.assert_allclose(got[0], step.mean[0], rtol=1e-12)
    sigma = (got[1:] - step.mean[1:]) / 2.5
    np.testing.assert_allclose(sigma, np.broadcast_to(np.sqrt(step.var[1:]), sigma.shape),
                               rtol=1e-9)
    want_sigma2 = {"beta": paper.beta, "beta_tilde": paper.bt,
                   "beta_released": paper.beta}[variance][[2, 5, 8]]
    np.testing.assert_allclose(sigma[:, 0] ** 2, want_sigma2, rtol=1e-9)
    assert math.isclose(paper.bt[2], (1 - paper.ab[1]) / (1 - paper.ab[2]) * paper.beta[2])


@pytest.mark.parametrize("variance", ["beta", "beta_tilde", "learned_range"])
def test_respaced_sampler_uses_the_sub_chain_variances(variance: str) -> None:
    """``sample(ckpt, n, steps=K)``: Algorithm 2 on the K-step sub-chain (Nichol & Dhariwal
    2021, Sec. 4), replayed here: τ_i = round(1 + (i − 1)(T − 1)/(K − 1)) (half to even),
    β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} from a hand product of the parent's (1 − β), the model
    queried at the parent timestep τ_i, σ_i² = β'_i or β̃'_i (learned_range interpolates
    between their logs). Catches the parent's β_{τ_i} used where β'_i belongs, or the model
    called with the sub-chain index i instead of τ_i. Fails when the sub-chain is built from
    the parent's β at the kept steps; when RespacedModel passes t through unchanged.
    Float32 sampling (the sampler's default dtype): 5 steps of a few float32 roundings each,
    amplified by ≤ 1/√α'_min ≈ 3: rtol 1e-4, atol 1e-5."""
    from ddpm_theory.backend.checkpoint import Checkpoint
    from ddpm_theory.backend.sample import sample

    parent = Schedule.linear(40, 1e-3, 0.1)
    T, K, n, D = 40, 5, 4, 3
    learned = variance == "learned_range"
    ckpt = Checkpoint(Known(learned, variance), GaussianDiffusion(parent, "eps", variance),
                      None, {"event_shape": [D]}, torch.zeros(0))
    got = sample(ckpt, n, steps=K, generator=torch.Generator().manual_seed(3))
    tau = [round(1 + i * (T - 1) / (K - 1)) for i in range(K)]
    ab, acc = [1.0], 1.0
    for b in np.linspace(1e-3, 0.1, T):
        acc *= 1.0 - float(b)
        ab.append(acc)
    prev = [0, *tau[:-1]]
    sub = Paper(np.array([1.0 - ab[tau[i]] / ab[prev[i]] for i in range(K)]))
    g = torch.Generator().manual_seed(3)
    x = torch.randn((n, D), generator=g).double().numpy()
    for i in range(K, 0, -1):
        z = torch.randn((n, D), generator=g).double().numpy() if i > 1 else 0.0
        ii = np.full(n, i)
        out = _known_output(x, np.full(n, tau[i - 1]), learned, variance)
        step = sub.step(out, x, ii, "eps", variance)
        x = step.mean + np.sqrt(step.var) * z
    np.testing.assert_allclose(got.double().numpy(), x, rtol=1e-4, atol=1e-5)


def test_hybrid_default_lambda_is_nichol_dhariwal() -> None:
    """L_hybrid = L_simple + λ L_vlb with λ = 0.001 (Nichol & Dhariwal 2021, Sec. 3.1) when no
    weight is given, in ``training_losses`` and ``train``. Catches another default weight.
    Fails when training_losses' default vlb_weight is 0.01; when train's is 0.01."""
    import inspect

    d = GaussianDiffusion(SCHEDULE, "eps", "learned_range")
    (x0, eps, t), want, _ = _reference("hybrid", "eps", "learned_range", "gaussian", 0.001)
    got = training_losses(d, Known(True, "learned_range"), torch.from_numpy(x0),
                          torch.from_numpy(t), torch.from_numpy(eps), loss="hybrid")
    np.testing.assert_allclose(got.loss.detach().numpy(), want, rtol=1e-9, atol=1e-12)
    assert inspect.signature(train).parameters["vlb_weight"].default == 0.001
