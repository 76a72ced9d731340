"""Decoder likelihoods: the grid checks, the approximate-CDF paths of the released code,
log(1 - e^d) and gradients at the edge bins, against scipy, mpmath and numpy. Written
against the survivors of mutation testing (mutation/run.py); each docstring names the
planted error(s) it catches."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import torch
from scipy import stats

from ddpm_theory.backend import likelihood as lik

F64 = torch.float64
EPS = np.finfo(np.float64).eps


# -- decoder likelihoods (likelihood.py) ----------------------------------------------------
def _decoder(x: list[float], mean: list[float], log_scale: list[float], **kw: object):
    return lik.discretized_gaussian_log_likelihood(
        torch.tensor(x, dtype=F64), mean=torch.tensor(mean, dtype=F64),
        log_scale=torch.tensor(log_scale, dtype=F64), **kw)  # type: ignore[arg-type]


def test_edge_bins_far_from_the_mean_have_finite_exact_gradients() -> None:
    """Data at the edges ±1, the decoder 700 σ away (mean ∓3, log σ = −6): log P is the
    Gaussian tail log Φ(−a) (scipy's logsf), and its gradients are the inverse Mills
    ratio φ(a)/(σ(1 − Φ(a))) (mean) and a φ(a)/(1 − Φ(a)) (log σ). Planted: the safe
    input of the interior branch at the edges ``b − 1`` -> ``b + 1`` (an empty "bin"
    whose NaN reaches the gradients)."""
    mean = torch.tensor([-3.0, 3.0], dtype=F64, requires_grad=True)
    log_scale = torch.full((2,), -6.0, dtype=F64, requires_grad=True)
    ll = lik.discretized_gaussian_log_likelihood(
        torch.tensor([1.0, -1.0], dtype=F64), mean=mean, log_scale=log_scale, levels=17)
    ll.sum().backward()
    sigma, a = math.exp(-6.0), (1.0 - 1 / 16 + 3.0) / math.exp(-6.0)
    mills = math.exp(stats.norm.logpdf(a) - stats.norm.logsf(a))
    np.testing.assert_allclose(ll.detach().numpy(), stats.norm.logsf(a), rtol=1e-12)
    assert mean.grad is not None and log_scale.grad is not None
    np.testing.assert_allclose(mean.grad.numpy(), [mills / sigma, -mills / sigma], rtol=1e-9)
    np.testing.assert_allclose(log_scale.grad.numpy(), [a * mills] * 2, rtol=1e-9)


def test_log1mexp_is_accurate_on_both_sides_of_minus_log_2() -> None:
    """log(1 − e^d) against mpmath at 40 digits, to 4 ulp. Planted: the switch ``d > −log 2``
    -> ``d > +log 2`` (log1p(−e^d) everywhere: near d = 0 it loses all but ~6 digits,
    Mächler 2012)."""
    d = np.array([-1e-12, -1e-6, -0.01, -0.5, -math.log(2), -0.9, -3.0, -40.0])
    got = lik._log1mexp(torch.tensor(d, dtype=F64)).numpy()
    with mpmath.workdps(40):
        want = np.array([float(mpmath.log(1 - mpmath.exp(mpmath.mpf(v)))) for v in d])
    np.testing.assert_allclose(got, want, rtol=4 * EPS)


@pytest.mark.parametrize(("levels", "shown"), [(17.0, "17.0"), (True, "True"), (1, "1")])
def test_levels_must_be_an_integer_of_at_least_two(levels: object, shown: str) -> None:
    """Planted: the ``or`` of the check made ``and`` (a float number of levels let
    through)."""
    with pytest.raises(ValueError, match=(r"^levels \(number of grid values\) must be an "
                                          rf"integer >= 2; got {shown}\.$")):  # fmt: skip
        lik.bin_centers(levels)  # type: ignore[arg-type]


def test_bin_centers_take_the_dtype_asked_for() -> None:
    """Planted: the requested dtype dropped (``.to(None)``: float64 returned)."""
    c = lik.bin_centers(5, dtype=torch.float32)
    assert c.dtype == torch.float32 and c.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_decoder_default_is_the_256_level_grid() -> None:
    """Planted: the default ``levels = 256`` changed (data on the 8-bit grid refused)."""
    x = lik.bin_centers(256)[[0, 100, 255]]
    kw = {"mean": torch.zeros(3, dtype=F64), "log_scale": torch.full((3,), -1.0, dtype=F64)}
    assert torch.equal(lik.discretized_gaussian_log_likelihood(x, **kw),
                       lik.discretized_gaussian_log_likelihood(x, levels=256, **kw))


def _page_bins(x: np.ndarray, mean: float, sigma: float, levels: int, floor: float) -> np.ndarray:
    """log P(bin) with Page's tanh approximation of Φ, in numpy: edge bins open, each
    probability floored at ``floor`` (0: no floor)."""
    def cdf(u: np.ndarray) -> np.ndarray:
        return 0.5 * (1 + np.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u**3)))

    h = 1 / (levels - 1)
    hi = np.where(x >= 1, 1.0, cdf((x + h - mean) / sigma))
    lo = np.where(x <= -1, 0.0, cdf((x - h - mean) / sigma))
    with np.errstate(divide="ignore"):
        return np.log(np.maximum(hi - lo, floor))


@pytest.mark.parametrize(("approx", "floor"), [("tanh", 0.0), ("tanh_clamped", 1e-12)])
def test_tanh_paths_follow_page_and_the_released_floor(approx: str, floor: float) -> None:
    """Both approximate paths against numpy, on bins from the edges to 40 σ away (where
    the tanh CDF difference is 0: −∞ unclamped, log 1e-12 clamped). Planted: either name
    in the test of the approximate branch garbled or its case changed (the exact path
    taken), the clamp's test inverted or its name garbled, the clamp's floor dropped,
    the list of probabilities replaced by None."""
    x = lik.bin_centers(17).numpy()
    mean, sigma = 0.3, 0.05
    got = _decoder(list(x), [mean] * 17, [math.log(sigma)] * 17, levels=17, approx_cdf=approx)
    want = _page_bins(x, mean, sigma, 17, floor)
    assert (np.isinf(want).any()) == (floor == 0.0)
    assert floor == 0.0 or (want == math.log(1e-12)).sum() >= 2
    assert np.array_equal(np.isinf(got.numpy()), np.isinf(want))
    assert np.array_equal(got.numpy() == math.log(1e-12), want == math.log(1e-12))
    # each bin is a difference of two tanh CDF values <= 1: a few eps absolute
    np.testing.assert_allclose(got.exp().numpy(), np.exp(want), rtol=1e-12, atol=8 * EPS)


def test_grid_check_refuses_points_beyond_the_edges_and_says_what_to_do() -> None:
    """−1 − 2/16 is a 17-level grid value outside [−1, 1]. Planted: the lower limit moved
    (``−1 − half`` -> ``−2 − half``), the advice's words' case changed."""
    with pytest.raises(ValueError, match=(
            r"^x is not on the 17-level grid of \[-1, 1\] \(max distance 0 bins\); the "
            r"discretized decoder needs discrete data: use decoder 'gaussian' or the right "
            r"number of levels\.$")):  # fmt: skip
        _decoder([0.0, -1.125], [0.0, 0.0], [0.0, 0.0], levels=17)
