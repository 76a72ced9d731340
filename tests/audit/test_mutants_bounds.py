"""Analytic bounds of the audit (ddpm_theory/audit/bounds.py) and the Gauss–Hermite rule
over the noise (quadrature.py), each against a value computed here from its closed form
(mpmath, numpy linear algebra, scipy). Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted errors it catches."""

from __future__ import annotations

import math
import warnings
from typing import Any

import mpmath
import numpy as np
import pytest
import torch
from scipy import special

from ddpm_theory.audit import bounds
from ddpm_theory.audit.quadrature import MAX_NODES, gauss_hermite_noise
from ddpm_theory.backend.data import TwoMoons, points
from ddpm_theory.backend.enums import DecoderType
from ddpm_theory.backend.mixture import GaussianMixture
from ddpm_theory.backend.schedule import Schedule

BETAS = [0.05, 0.2, 0.1, 0.3, 0.25]
MEAN = np.array([0.3, -0.7])
COV = np.array([[0.8, 0.3], [0.3, 0.5]])


def _cum(betas: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """ᾱ_t and ᾱ_{t−1} (ᾱ_0 = 1) as plain products."""
    ab = np.cumprod(1.0 - np.array(betas))
    return ab, np.concatenate([[1.0], ab[:-1]])


def _beta_tilde(betas: list[float]) -> np.ndarray:
    """β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t (Ho et al. 2020, Eq. 7), β̃_1 = 0."""
    ab, abp = _cum(betas)
    return (1.0 - abp) / (1.0 - ab) * np.array(betas)


def _sigma2(betas: list[float], variance: str) -> np.ndarray:
    b, bt = np.array(betas), _beta_tilde(betas)
    if variance == "beta":
        return b
    if variance == "beta_released":
        return np.concatenate([[bt[1]], b[1:]])
    return np.concatenate([[bt[1]], bt[1:]])


def _post_cov(S: np.ndarray, a: float) -> np.ndarray:
    """Cov(x_0|x_t) for x_0 ~ N(m, S), x_t|x_0 ~ N(√a x_0, (1 − a)I), by conditioning the
    joint Gaussian (Bishop 2006, Eq. 2.82): S − √a S (a S + (1 − a)I)^{-1} √a S."""
    K = a * S + (1.0 - a) * np.eye(len(S))
    return S - a * S @ np.linalg.solve(K, S)


# -- prior_kl_closed_form ------------------------------------------------------------------
def _prior_mp(betas: list[float], x0_sqnorm: float, D: int) -> float:
    """½(ᾱ_T‖x_0‖² − Dᾱ_T − D log(1 − ᾱ_T)) at 60 digits (Ho et al. 2020, Eq. 5)."""
    with mpmath.workdps(60):
        ab = mpmath.mpf(1)
        for b in betas:
            ab *= 1 - mpmath.mpf(b)
        return float((ab * x0_sqnorm - D * ab - D * mpmath.log(1 - ab)) / 2)


@pytest.mark.parametrize(
    "betas",
    [[1e-12], [0.1, 0.2], [0.3, 0.3], [1e-4] * 3, [0.02] * 200, [0.4, 0.3, 0.5]],
)
@pytest.mark.parametrize("x0_sqnorm", [0.0, 2.5])
def test_prior_kl_is_the_closed_form_at_every_alpha_bar(betas: list[float],
                                                        x0_sqnorm: float) -> None:
    """Planted: the switch ``ab < 0.5`` moved (to ``1.5``, ``ab > 0.5``), the series or
    the log(1 − ᾱ_T) branch with a wrong sign or dropped, ``0.5`` -> ``1.5`` in either
    half. ᾱ_T spans 1 − 1e-12 (where 1 − ᾱ_T must come from the schedule, not from
    ``1 - ab``), ½ and above, and 0.018 and 1.8e-2 (where the cancelling part is tiny)."""
    s = Schedule.from_betas(betas)
    D = 3
    got = bounds.prior_kl_closed_form(np.array([x0_sqnorm, x0_sqnorm]), D, s)
    want = _prior_mp(betas, x0_sqnorm, D)
    assert got.shape == (2,)
    np.testing.assert_allclose(got, [want, want], rtol=1e-12, atol=0)


# -- reverse_variance ----------------------------------------------------------------------
@pytest.mark.parametrize("variance", ["beta", "beta_released", "beta_tilde"])
def test_reverse_variance_is_the_stated_choice(variance: str) -> None:
    """Planted: β̃_2 put at the wrong index (``b[1] = ...``, ``bt[0] = bt[2]``), σ_1² left
    at β_1 or at β̃_1 = 0, a branch swapped: σ_t² = β_t, β_t with σ_1² = β̃_2, or β̃_t with
    σ_1² = β̃_2 (Ho et al. 2020, Sec. 3.2)."""
    s = Schedule.from_betas(BETAS)
    got = bounds.reverse_variance(s, variance)
    np.testing.assert_allclose(got, _sigma2(BETAS, variance), rtol=1e-13)
    assert not np.shares_memory(got, s.betas) and not np.shares_memory(got, s.beta_tilde)


@pytest.mark.parametrize("variance", ["learned", "learned_range"])
def test_reverse_variance_refuses_a_learned_variance(variance: str) -> None:
    """Planted: the message dropped or its words changed."""
    s = Schedule.from_betas(BETAS)
    with pytest.raises(ValueError,
                       match=rf"^variance '{variance}' is learned: sigma_t\^2 depends on x_t\.$"):
        bounds.reverse_variance(s, variance)


@pytest.mark.parametrize("variance", ["learned", "learned_range"])
def test_variance_mismatch_refuses_a_learned_variance(variance: str) -> None:
    """Planted: the message dropped or its words changed."""
    s = Schedule.from_betas(BETAS)
    msg = rf"^variance '{variance}' is learned: C_t depends on x_t\.$"
    with pytest.raises(ValueError, match=msg):
        bounds.variance_mismatch(s, variance, 2)


@pytest.mark.parametrize("variance", ["beta", "beta_released", "beta_tilde"])
def test_variance_mismatch_is_the_gaussian_kl_with_equal_means(variance: str) -> None:
    """Planted: a wrong factor or sign in u, ``D`` or ``0.5`` changed: C_t = (D/2)(r − 1 −
    log r), r = β̃_t/σ_t², for t = 2..T (Ho et al. 2020, Eq. 8), at 50 digits."""
    s = Schedule.from_betas(BETAS)
    D = 3
    r = _beta_tilde(BETAS)[1:] / _sigma2(BETAS, variance)[1:]
    with mpmath.workdps(50):
        want = [float(D * (mpmath.mpf(x) - 1 - mpmath.log(mpmath.mpf(x))) / 2) for x in r]
    np.testing.assert_allclose(bounds.variance_mismatch(s, variance, D), want,
                               rtol=1e-11, atol=1e-300)


# -- x_minus_log1p -------------------------------------------------------------------------
U = [-0.999, -0.7, -0.5, -0.4999, -0.3, -1e-3, -1e-9, 0.0, 1e-12, 1e-4, 0.2, 0.4999, 0.5,
     0.9, 3.0, 1e6]


def test_x_minus_log1p_to_full_relative_precision() -> None:
    """Planted: a coefficient sign or the u² factor of the series changed, the series
    cut short (``range(61, 2, -1)``, step ``-2``), the switch ``|u| < 0.5`` moved (to
    ``1.5``: the 60-term series is then wrong near |u| = 1), or the direct branch taken
    for small |u| (cancellation). Against mpmath at 50 digits, relative error 1e-14."""
    with mpmath.workdps(50):
        want = [float(mpmath.mpf(u) - mpmath.log1p(mpmath.mpf(u))) for u in U]
    got = bounds.x_minus_log1p(np.array(U))
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
    assert got[U.index(0.0)] == 0.0


def test_x_minus_log1p_at_minus_one_is_infinite_without_warning() -> None:
    """Planted: the ``np.errstate`` that silences log1p(−1) = −inf removed or narrowed:
    u − log(1 + u) → +inf as u → −1, returned quietly like the other entries."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = bounds.x_minus_log1p(np.array([-1.0, 0.25]))
    assert got[0] == math.inf
    assert got[1] == pytest.approx(0.25 - math.log1p(0.25), rel=1e-14)


# -- lambda_sigma2 / eps_weight ------------------------------------------------------------
def test_lambda_sigma2_is_nan_at_zero_terminal_snr() -> None:
    """Planted: ``den > 0`` -> ``den >= 0`` (1/0 = inf with a warning, a number where the
    ε-form is undefined), the NaN fill changed, the factor 2 changed: λ_t σ_t² =
    β_t²/(2α_t(1 − ᾱ_t)) (Ho et al. 2020, Eq. 12) and NaN at α_T = 0."""
    betas = [0.1, 0.4, 1.0]
    s = Schedule.from_betas(betas)
    ab, _ = _cum(betas)
    b = np.array(betas)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = bounds.lambda_sigma2(s)
    np.testing.assert_allclose(got[:2], b[:2] ** 2 / (2 * (1 - b[:2]) * (1 - ab[:2])), rtol=1e-13)
    assert math.isnan(got[2])


@pytest.mark.parametrize("full", [True, False])
def test_eps_weight_accepts_sigma2_for_all_t_or_for_t_from_2(full: bool) -> None:
    """Planted: the shape test ``sig.shape == (s.T,)`` changed, or the wrong end sliced
    off: λ_t = β_t²/(2σ_t² α_t (1 − ᾱ_t)) for t = 2..T either way."""
    s = Schedule.from_betas(BETAS)
    ab, _ = _cum(BETAS)
    b = np.array(BETAS)
    sig = np.array([0.7, 0.11, 0.13, 0.17, 0.19])
    want = (b**2 / (2 * sig * (1 - b) * (1 - ab)))[1:]
    got = bounds.eps_weight(s, sig if full else sig[1:])
    np.testing.assert_allclose(got, want, rtol=1e-13)


# -- gaussian_posterior_trace / gaussian_bayes_terms ----------------------------------------
def test_gaussian_posterior_trace_is_the_trace_of_the_conditional_covariance() -> None:
    """Planted: (1 − ᾱ) and ᾱ swapped or a sign changed in s(1 − ᾱ)/(ᾱ s + 1 − ᾱ), the
    sum over the wrong axis, or the ``[..., None]`` broadcast changed."""
    S = np.array([[1.2, 0.4, 0.1], [0.4, 0.9, -0.2], [0.1, -0.2, 0.6]])
    a = np.array([0.99, 0.7, 0.25, 1e-3])
    want = [np.trace(_post_cov(S, x)) for x in a]
    np.testing.assert_allclose(bounds.gaussian_posterior_trace(S, a), want, rtol=1e-12)
    assert bounds.gaussian_posterior_trace(S, np.array(0.5)).shape == ()


def _bayes_terms_by_hand(m: np.ndarray, S: np.ndarray, variance: str) -> dict[str, Any]:
    """E[L_T] = ½(ᾱ_T(tr S + ‖m‖²) − Dᾱ_T − D log(1 − ᾱ_T)); E[L_{t−1}] =
    coef1_t² tr Cov(x_0|x_t)/(2σ_t²) + (D/2)(r − 1 − log r), r = β̃_t/σ_t²; E[L_0] =
    tr Cov(x_0|x_1)/(2σ_1²) + (D/2) log(2πσ_1²) (Ho et al. 2020, Eqs. 5, 7, 8), for the
    schedule BETAS."""
    ab, abp = _cum(BETAS)
    b, bt, sig = np.array(BETAS), _beta_tilde(BETAS), _sigma2(BETAS, variance)
    D = len(m)
    prior = 0.5 * (ab[-1] * (np.trace(S) + m @ m) - D * ab[-1] - D * math.log(1.0 - ab[-1]))
    trans = []
    for i in range(1, len(BETAS)):
        coef1 = b[i] * math.sqrt(abp[i]) / (1.0 - ab[i])
        r = bt[i] / sig[i]
        trans.append(coef1**2 * np.trace(_post_cov(S, ab[i])) / (2 * sig[i])
                     + D / 2 * (r - 1 - math.log(r)))
    dec = np.trace(_post_cov(S, ab[0])) / (2 * sig[0]) + D / 2 * math.log(2 * math.pi * sig[0])
    return {"prior": prior, "transitions": trans, "decoder": dec,
            "total": prior + sum(trans) + dec}


@pytest.mark.parametrize("variance", ["beta", "beta_released", "beta_tilde"])
def test_gaussian_bayes_terms_by_conditioning(variance: str) -> None:
    """Planted: coef1 = β_t√ᾱ_{t−1}/(1 − ᾱ_t) with a wrong index or power, a factor 2,
    ½ or 2π changed, tr Cov(x_0|x_1) or σ_1² taken at the wrong t, ‖m‖² or tr S dropped
    from the prior, a key renamed, or the total missing a part; each term written out in
    :func:`_bayes_terms_by_hand`."""
    want = _bayes_terms_by_hand(MEAN, COV, variance)
    got = bounds.gaussian_bayes_terms(Schedule.from_betas(BETAS), MEAN.reshape(1, 2), COV,
                                      variance)
    assert set(got) == set(want)
    for key in ("prior", "decoder", "total"):
        assert got[key] == pytest.approx(want[key], rel=1e-12)
    np.testing.assert_allclose(got["transitions"], want["transitions"], rtol=1e-12)


# -- bayes_optimal_model -------------------------------------------------------------------
def _gaussian_targets(s: Schedule, x: np.ndarray, t: np.ndarray) -> dict[str, np.ndarray]:
    """E[x_0|x_t] = m + √a S(aS + (1 − a)I)^{-1}(x_t − √a m) and the targets that follow
    from x_t = √a x_0 + √(1 − a) ε (Ho et al. 2020, Eqs. 4 and 7; Salimans & Ho 2022)."""
    ab, abp = _cum(list(s.betas))
    out: dict[str, list[np.ndarray]] = {"x0": [], "eps": [], "v": [], "mean": []}
    for xi, ti in zip(x, t, strict=True):
        a, ap, bb = ab[ti - 1], abp[ti - 1], s.betas[ti - 1]
        K = a * COV + (1.0 - a) * np.eye(2)
        x0 = MEAN + math.sqrt(a) * COV @ np.linalg.solve(K, xi - math.sqrt(a) * MEAN)
        eps = (xi - math.sqrt(a) * x0) / math.sqrt(1.0 - a)
        out["x0"].append(x0)
        out["eps"].append(eps)
        out["v"].append(math.sqrt(a) * eps - math.sqrt(1.0 - a) * x0)
        out["mean"].append((bb * math.sqrt(ap) * x0 + (1.0 - bb) ** 0.5 * (1.0 - ap) * xi)
                           / (1.0 - a))
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("param", ["x0", "eps", "v", "mean"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_bayes_optimal_model_predicts_each_target(param: str, dtype: torch.dtype) -> None:
    """Planted: ᾱ taken at t instead of t − 1 (paper t is 1-based), a branch swapped (x0,
    eps, v, mean), the output left in float64 for float32 input, or float32 input not
    promoted to float64 first (the float32 result must be the float64 one, rounded once)."""
    s = Schedule.from_betas(BETAS)
    data = GaussianMixture([1.0], [MEAN], [COV])
    model = bounds.bayes_optimal_model(data, s, param)
    x = np.array([[0.5, -1.0], [1.5, 0.2], [-0.3, 0.8], [0.0, 2.0]])
    t = np.array([1, 2, 4, 5])
    x_t = torch.tensor(x, dtype=dtype)
    got = model(x_t, torch.tensor(t))
    assert got.dtype == dtype
    # computed in float64 from the given inputs, rounded once to the input's dtype
    want = _gaussian_targets(s, x_t.double().numpy(), t)[param]
    if dtype == torch.float64:
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-14)
    else:
        np.testing.assert_allclose(got.numpy(), want.astype(np.float32), rtol=2.0**-23, atol=0)


def test_bayes_optimal_model_defaults_to_eps() -> None:
    """Planted: the default parameterisation ``"eps"`` changed."""
    s = Schedule.from_betas(BETAS)
    model = bounds.bayes_optimal_model(GaussianMixture([1.0], [MEAN], [COV]), s)
    x = np.array([[0.5, -1.0]])
    got = model(torch.tensor(x), torch.tensor([3]))
    np.testing.assert_allclose(got.numpy(), _gaussian_targets(s, x, np.array([3]))["eps"],
                               rtol=1e-12)


def test_bayes_optimal_model_needs_an_exact_posterior_mean() -> None:
    """Planted: the check inverted or its message changed."""
    with pytest.raises(ValueError, match=r"^dataset 'two_moons' has no exact E\[x0\|x_t\]\.$"):
        bounds.bayes_optimal_model(TwoMoons(), Schedule.from_betas(BETAS))


# -- entropy_floor / gaussian_law ------------------------------------------------------------
def test_entropy_floor_of_a_gaussian_with_the_continuous_decoder() -> None:
    """Planted: the continuous test (density and no grid) inverted, the value or its error
    or kind swapped: H = ½ log det(2πe S) (differential, exact)."""
    data = GaussianMixture([1.0], [MEAN], [COV])
    want = 0.5 * math.log(np.linalg.det(2 * math.pi * math.e * COV))
    got = bounds.entropy_floor(data, DecoderType.GAUSSIAN)
    assert got is not None
    assert got[0] == pytest.approx(want, rel=1e-12)
    assert got[1:] == (0.0, "differential")
    assert bounds.entropy_floor(data, DecoderType.DISCRETIZED) is None


def test_entropy_floor_of_grid_data_with_the_discretized_decoder() -> None:
    """Planted: the decoder tests swapped (a continuous decoder on point masses has no
    floor), ``levels is None`` inverted: Shannon entropy of 3 points with counts 2, 1, 1."""
    x = torch.tensor([[-1.0, 1.0], [-1.0, 1.0], [0.0, 1.0], [1.0, -1.0]])
    grid = points(x, levels=3)
    got = bounds.entropy_floor(grid, DecoderType.DISCRETIZED)
    assert got is not None
    want = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    assert got[0] == pytest.approx(want, rel=1e-12)
    assert got[1:] == (0.0, "shannon")
    assert bounds.entropy_floor(grid, DecoderType.GAUSSIAN) is None
    assert bounds.entropy_floor(points(x), DecoderType.DISCRETIZED) is None
    assert bounds.entropy_floor(points(x), DecoderType.GAUSSIAN) is None
    assert bounds.entropy_floor(None, DecoderType.GAUSSIAN) is None
    assert bounds.entropy_floor(TwoMoons(), DecoderType.GAUSSIAN) is None


def test_gaussian_law_only_for_a_single_gaussian() -> None:
    """Planted: ``K == 1`` -> ``K == 2``/``!=``, the mean or covariance of the wrong
    component returned."""
    got = bounds.gaussian_law(GaussianMixture([1.0], [MEAN], [COV]))
    assert got is not None
    np.testing.assert_array_equal(got[0], MEAN)
    np.testing.assert_array_equal(got[1], COV)
    two = GaussianMixture([0.5, 0.5], [MEAN, -MEAN], [COV, 2 * COV])
    assert bounds.gaussian_law(two) is None
    assert bounds.gaussian_law(None) is None
    assert bounds.gaussian_law(points(torch.zeros(2, 2))) is None


# -- gauss_hermite_noise -------------------------------------------------------------------
def _normal_moment(k: int) -> float:
    """E[ε^k] for ε ~ N(0, 1): 0 for odd k, (k − 1)!! for even k."""
    return 0.0 if k % 2 else float(special.factorial2(k - 1)) if k else 1.0


@pytest.mark.parametrize(("n", "event"), [(1, (1,)), (3, (2,)), (4, (1, 3)), (8, (4,))])
def test_gauss_hermite_integrates_normal_moments_exactly(n: int, event: tuple[int, ...]) -> None:
    """Planted: the weights not normalised by √(2π), the product of weights over the
    wrong count of dimensions, D from the wrong axis, or n_nodes − 1 nodes: every monomial
    ε^a of degree ≤ 2n − 1 per coordinate has its normal moment (Golub & Welsch 1969)."""
    nodes, w = gauss_hermite_noise(n, event)
    D = int(np.prod(event))
    assert nodes.shape == (n**D, D) and w.shape == (n**D,)
    assert w.sum() == pytest.approx(1.0, rel=1e-13)
    rng = np.random.default_rng(5)
    for _ in range(12):
        a = rng.integers(0, 2 * n, size=D)
        want = math.prod(_normal_moment(int(k)) for k in a)
        mono = np.prod(nodes**a, axis=1)
        scale = float(w @ np.abs(mono))  # rounding of the sum is relative to this
        assert float(w @ mono) == pytest.approx(want, rel=1e-12, abs=1e-13 * scale)
    assert len({tuple(p) for p in nodes}) == n**D


def test_gauss_hermite_weights_pair_with_their_nodes() -> None:
    """Planted: the weights or the nodes of one axis reordered: E[ε_1² ε_2⁴] = 3 and
    E[ε_1⁴ ε_2²] = 3 hold only for a pairing of each node with the product of its own
    weights; a weight of node (z_i, z_j) must be w_i w_j."""
    nodes, w = gauss_hermite_noise(3, (2,))
    z = np.array([-math.sqrt(3.0), 0.0, math.sqrt(3.0)])
    w1 = np.array([1.0, 4.0, 1.0]) / 6.0  # the three-point rule for N(0, 1)
    for (zi, zj), wij in zip(nodes, w, strict=True):
        i, j = int(np.argmin(abs(z - zi))), int(np.argmin(abs(z - zj)))
        assert (zi, zj) == pytest.approx((z[i], z[j]), abs=1e-13)
        assert wij == pytest.approx(w1[i] * w1[j], rel=1e-13)


@pytest.mark.parametrize("n", [0, -2, 2.0, True, "3"])
def test_gauss_hermite_refuses_a_bad_node_count(n: object) -> None:
    """Planted: ``n_nodes < 1`` -> ``<= 1`` or ``< 2``, the bool or int test dropped, the
    message changed."""
    with pytest.raises(ValueError, match=rf"^n_nodes must be a positive integer; got {n!r}\.$"):
        gauss_hermite_noise(n, (2,))  # type: ignore[arg-type]


def test_gauss_hermite_cap_is_4096_model_calls() -> None:
    """Planted: ``>`` -> ``>=`` (8^4 = 4096 is allowed), the cap changed, the message's
    numbers or words changed."""
    assert MAX_NODES == 4096
    assert gauss_hermite_noise(8, (2, 2))[0].shape == (4096, 4)
    assert gauss_hermite_noise(np.int64(2), (12,))[1].shape == (4096,)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=(
            r"^quadrature over D = 13 dimensions with 2 nodes each needs 2\^13 model calls "
            r"per term \(cap 4096\); use mode='monte_carlo'\.$")):
        gauss_hermite_noise(2, (13,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_bayes_optimal_model_answers_on_the_input_device() -> None:
    """Planted: ``.to(x.device)`` of E[x_0|x_t] dropped (the dataset computes on the CPU):
    on a GPU the model must return its prediction on the input's device, equal to the
    CPU one."""
    s = Schedule.from_betas(BETAS)
    model = bounds.bayes_optimal_model(GaussianMixture([1.0], [MEAN], [COV]), s, "v")
    x, t = torch.tensor([[0.5, -1.0], [1.5, 0.2]]), torch.tensor([2, 5])
    got = model(x.cuda(), t.cuda())
    assert got.device.type == "cuda"
    torch.testing.assert_close(got.cpu(), model(x, t), rtol=1e-6, atol=1e-7)


def test_float32_input_is_computed_in_float64() -> None:
    """Planted: ``dtype=np.float64`` dropped where an argument is read (x_minus_log1p's u,
    prior_kl_closed_form's ‖x_0‖², gaussian_posterior_trace's S and ᾱ, gaussian_bayes_terms'
    m and S): float32 input would then be computed in float32 (24 bits), off by ~1e-8
    relative. Every function here is float64 numpy: the value for float32 input is that for
    the same numbers in float64."""
    u32 = np.array([-0.3, 0.1, 0.45, 2.0], dtype=np.float32)
    with mpmath.workdps(50):
        want = [float(mpmath.mpf(float(u)) - mpmath.log1p(mpmath.mpf(float(u)))) for u in u32]
    np.testing.assert_allclose(bounds.x_minus_log1p(u32), want, rtol=1e-14)
    x32 = np.array([1.1, 7.3], dtype=np.float32)
    want = [_prior_mp([0.3, 0.3], float(x), 2) for x in x32]
    got = bounds.prior_kl_closed_form(x32, 2, Schedule.from_betas([0.3, 0.3]))
    np.testing.assert_allclose(got, want, rtol=1e-13)
    S32, a32 = COV.astype(np.float32), np.array([0.1, 0.03], dtype=np.float32)
    S64, a64 = S32.astype(np.float64), a32.astype(np.float64)
    want = [np.trace(_post_cov(S64, a)) for a in a64]
    np.testing.assert_allclose(bounds.gaussian_posterior_trace(S32, a32), want, rtol=1e-13)
    m32 = np.array([0.1, -0.7], dtype=np.float32)
    terms = _bayes_terms_by_hand(m32.astype(np.float64), S64, "beta")
    res = bounds.gaussian_bayes_terms(Schedule.from_betas(BETAS), m32, S32, "beta")
    assert res["prior"] == pytest.approx(terms["prior"], rel=1e-14)
    assert res["total"] == pytest.approx(terms["total"], rel=1e-13)


def test_x_minus_log1p_is_nan_outside_its_domain_without_warning() -> None:
    """Planted: ``invalid="ignore"`` dropped from the errstate: u − log(1 + u) is undefined
    for u < −1 and comes back NaN (like an undefined λ_t), quietly, beside the valid
    entries of the same array."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = bounds.x_minus_log1p(np.array([-2.0, 0.25, -0.75]))
    assert math.isnan(got[0])
    assert got[1:] == pytest.approx([0.25 - math.log1p(0.25), -0.75 - math.log1p(-0.75)],
                                    rel=1e-14)


def test_x_minus_log1p_is_direct_from_one_half() -> None:
    """Planted: the switch ``|u| < 0.5`` -> ``<= 0.5``: at |u| = ½ the value is u − log1p(u)
    itself (1 + u is exact there), not the series, which is an ulp off at u = −½."""
    u = np.array([-0.5, 0.5])
    np.testing.assert_array_equal(bounds.x_minus_log1p(u), u - np.log1p(u))
