"""Datasets and decoder likelihoods: the catalogue's arguments and checks, the laws of
x_t and their entropies against independent routes, the errors that name bad input, and
the decoder's approximate-CDF paths. Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted error(s) it catches."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
import torch
from scipy import stats

from ddpm_theory.backend.data import (
    TwoMoons,
    get_dataset,
    mixture_1d,
    points,
    ring8,
    standard_gaussian,
)
from ddpm_theory.backend.dataset import Entropy, alpha_bar_column, as_generator
from ddpm_theory.backend.empirical import EmpiricalDataset

F64 = torch.float64
EPS = np.finfo(np.float64).eps


# -- the catalogue (data.py) ---------------------------------------------------------------
def test_standard_gaussian_in_one_dimension_is_n01() -> None:
    """Planted: ``dim < 1`` -> ``dim < 2`` / ``dim <= 1`` (dim = 1 refused)."""
    ds = standard_gaussian(1)
    lp = ds.log_prob(torch.tensor([[0.0], [1.5]], dtype=F64))
    np.testing.assert_allclose(lp.numpy(), stats.norm.logpdf([0.0, 1.5]), rtol=1e-15)


@pytest.mark.parametrize(("dim", "shown"), [(0, "0"), (True, "True"), (2.0, "2.0")])
def test_standard_gaussian_refuses_a_non_positive_integer(dim: object, shown: str) -> None:
    """Planted: the ``or`` of the check made ``and`` (a bool or a float let through), the
    message replaced by None."""
    with pytest.raises(ValueError, match=rf"^dim must be a positive integer; got {shown}\.$"):
        standard_gaussian(dim)  # type: ignore[arg-type]


def test_ring8_components_are_on_the_circle() -> None:
    """Planted: the angle 2πj/k slipped (``/ k`` -> ``* k``, ``2π`` -> ``2/π`` or ``3π``),
    the covariance std² I written ``std * 2``, the default radius or k changed: the
    components against r(cos 2πj/k, sin 2πj/k), std² I computed here."""
    ds = ring8(radius=0.7, std=0.3, k=5)
    j = np.arange(5)
    want = 0.7 * np.stack([np.cos(2 * np.pi * j / 5), np.sin(2 * np.pi * j / 5)], 1)
    np.testing.assert_allclose(ds.means.numpy(), want, rtol=0, atol=4 * EPS)
    np.testing.assert_allclose(ds.covs.numpy(), np.repeat(0.09 * np.eye(2)[None], 5, 0),
                               rtol=4 * EPS)  # fmt: skip
    np.testing.assert_allclose(ds.weights.numpy(), np.full(5, 0.2), rtol=4 * EPS)
    default = get_dataset("ring8")
    assert default.config()["args"] == {"radius": 1.5, "std": 0.1, "k": 8}
    assert default.K == 8 and float(default.means.norm(dim=1).max()) == pytest.approx(1.5)


def test_ring8_accepts_one_component_and_a_small_radius() -> None:
    """Planted: ``k >= 1`` -> ``k > 1`` / ``k >= 2``, ``radius > 0`` -> ``radius > 1``."""
    assert ring8(k=1).K == 1
    np.testing.assert_allclose(ring8(radius=0.5, k=1).means.numpy(), [[0.5, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"radius": 0.0}, "radius=0.0, std=0.1, k=8"),
        ({"std": 0.0}, "radius=1.5, std=0.0, k=8"),
        ({"k": 0}, "radius=1.5, std=0.1, k=0"),
        ({"k": 2.0}, "radius=1.5, std=0.1, k=2.0"),
        ({"k": True}, "radius=1.5, std=0.1, k=True"),
    ],
)  # fmt: skip
def test_ring8_refuses_a_degenerate_ring(kwargs: dict, shown: str) -> None:
    """Planted: ``radius > 0`` -> ``>= 0``, ``std > 0`` -> ``>= 0``, an ``and`` of the check
    made ``or``, the integer test on k dropped, the message replaced by None."""
    with pytest.raises(ValueError, match=(r"^ring8 needs radius > 0, std > 0 and an integer "
                                          rf"k >= 1; got {shown}\.$")):  # fmt: skip
        ring8(**kwargs)


def test_two_moons_noise_is_checked_and_defaults_to_0_05() -> None:
    """Planted: the default noise 0.05 changed, ``noise >= 0`` -> ``> 0`` (noiseless moons
    refused), the message replaced by None."""
    assert TwoMoons().config() == {"name": "two_moons", "args": {"noise": 0.05}}
    assert TwoMoons(noise=0).noise == 0.0
    for bad, shown in [(-0.1, "-0.1"), (float("nan"), "nan")]:
        with pytest.raises(ValueError, match=rf"^noise must be >= 0; got {shown}\.$"):
            TwoMoons(noise=bad)


def test_two_moons_is_the_make_moons_construction() -> None:
    """Planted: the moon label compared with 1 or negated (``u == 0`` -> ``u == 1`` /
    ``u != 0``), the lower moon mirrored (``1 - cos`` -> ``1 + cos``), θ = π U written
    ``π / U``, θ or the noise drawn in float32 (dtype dropped), the noise subtracted.
    The expected points follow the class docstring, which is scikit-learn's make_moons
    (outer circle (cos θ, sin θ), inner (1 − cos θ, 1 − sin θ − ½)) shifted by
    (−½, −¼), from the same draws in the stated order: label, angle, noise."""
    n, noise = 400, 0.2
    got = TwoMoons(noise).sample(n, torch.Generator().manual_seed(5), dtype=F64).numpy()
    g = torch.Generator().manual_seed(5)
    u = torch.randint(2, (n,), generator=g).numpy()
    th = np.pi * torch.rand(n, generator=g, dtype=F64).numpy()
    eps = torch.randn(n, 2, generator=g, dtype=F64).numpy()
    outer = np.stack([np.cos(th), np.sin(th)], 1)
    inner = np.stack([1 - np.cos(th), 1 - np.sin(th) - 0.5], 1)
    want = np.where(u[:, None] == 0, outer, inner) - [0.5, 0.25] + noise * eps
    assert 0 < u.sum() < n
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * EPS)


def test_mixture_1d_is_the_stated_law() -> None:
    """Σ w_k N(m_k, s_k²) against scipy's normal densities, for the default and for given
    parameters. Planted: the variances s² written ``s * 2`` or ``s**3``."""
    x = np.array([-2.0, -0.3, 0.0, 1.1, 2.5])
    for ds, (w, m, sd) in [(get_dataset("mixture_1d"), ((0.3, 0.7), (-1.5, 1.0), (0.4, 0.6))),
                           (mixture_1d((0.6, 0.4), (0.5, -1.0), (1.5, 0.25)),
                            ((0.6, 0.4), (0.5, -1.0), (1.5, 0.25)))]:  # fmt: skip
        want = np.log(sum(wk * stats.norm.pdf(x, mk, sk) for wk, mk, sk in zip(w, m, sd)))
        got = ds.log_prob(torch.as_tensor(x[:, None])).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-14)


def test_points_keeps_its_levels() -> None:
    """Planted: ``levels`` not passed on by the ``points`` factory."""
    grid = torch.tensor([[-1.0, 0.25], [0.5, 1.0]], dtype=F64)
    ds = points(grid, levels=9)
    assert ds.levels == 9 and ds.config()["args"]["levels"] == 9


NUMPY_ARGS = {
    "gaussian": {"mean": np.array([1, 2]), "cov": np.array([[2, 1], [1, 3]])},
    "mixture_1d": {"weights": np.array([0.25, 0.75], dtype=np.float32),
                   "means": np.array([-1, 2]), "stds": np.array([0.5, 2.0])},
    "mixture_2d": {"weights": np.array([0.5, 0.5]), "means": np.array([[0, 1], [2, 3]]),
                   "covs": np.array([[[1, 0], [0, 1]], [[2, 1], [1, 2]]])},
    "ring8": {"radius": np.float64(2.0), "std": np.float32(0.25), "k": np.int64(3)},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(NUMPY_ARGS))
def test_config_is_plain_data_that_a_checkpoint_can_reload(name: str) -> None:
    """A checkpoint stores ``dataset.config()`` and opens with ``weights_only=True``, which
    refuses numpy scalars: the config must hold plain floats and ints whatever the user
    passed (a library error found here: numpy weights or ring parameters were stored as
    given). Planted: the float64 conversion of a mean or covariance dropped (integers
    recorded), the arguments of mixture_2d not recorded."""
    ds = get_dataset(name, **NUMPY_ARGS[name])
    cfg = ds.config()
    buffer = io.BytesIO()
    torch.save(cfg, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    assert json.loads(json.dumps(loaded)) == loaded
    for key, value in loaded["args"].items():
        flat = np.ravel(value).tolist()
        assert all(type(v) is (int if key == "k" else float) for v in flat), (key, value)
    again = get_dataset(loaded["name"], **loaded["args"])
    assert torch.equal(again.weights, ds.weights) and torch.equal(again.means, ds.means)
    assert torch.equal(again.covs, ds.covs)


# -- generators, ᾱ and the interface (dataset.py) ------------------------------------------
@pytest.mark.parametrize("np_seed", [0, 2])
def test_numpy_generator_seeds_torch_by_one_full_range_draw(np_seed: int) -> None:
    """The documented rule: a numpy generator seeds a fresh torch generator by one draw of
    integers(0, 2**63 - 1), the whole non-negative int64 range. Planted: the range cut
    (``2**63 - 1`` -> ``2 * 63 - 1``: 125 seeds), shifted (``integers(1, ...)``) or
    shortened (``2**63 - 2``); seeds 0 and 2 each tell one of the last two apart."""
    rng, twin = np.random.default_rng(np_seed), np.random.default_rng(np_seed)
    g = as_generator(rng)
    assert g.initial_seed() == int(twin.integers(0, 2**63 - 1))
    assert rng.bit_generator.state == twin.bit_generator.state  # one draw consumed
    many = {as_generator(rng).initial_seed() for _ in range(500)}
    assert len(many) == 500 and max(many) > 2**62


def test_torch_generator_is_used_as_given_and_others_are_refused() -> None:
    """Planted: the name of the offending type replaced (``type(None)``), the message's
    case changed."""
    g = torch.Generator().manual_seed(3)
    assert as_generator(g) is g
    with pytest.raises(TypeError, match=(
            r"^pass an explicit torch\.Generator or numpy\.random\.Generator \(the global RNG "
            r"is never used\); got int\.$")):  # fmt: skip
        as_generator(5)  # type: ignore[arg-type]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA generator")
def test_a_cuda_generator_is_refused() -> None:
    """Sampling runs on the CPU: a CUDA generator is refused by name (the only way to
    reach this message; see mutation/equivalent/backend.data.toml)."""
    with pytest.raises(ValueError, match=r"^dataset sampling runs on the CPU: pass a CPU "
                                         r"torch\.Generator\.$"):  # fmt: skip
        as_generator(torch.Generator(device="cuda"))


def test_alpha_bar_column_accepts_scalars_vectors_and_zero() -> None:
    """Planted: ``reshape(-1)`` -> ``reshape(+1)`` (a vector refused), ``a < 0`` ->
    ``a <= 0`` (ᾱ = 0, pure noise, refused)."""
    col = alpha_bar_column(torch.tensor([0.0, 0.25, 0.999]), 3)
    assert col.dtype == F64 and col.shape == (3, 1)
    np.testing.assert_array_equal(col.numpy()[:, 0], np.float32([0.0, 0.25, 0.999]))
    np.testing.assert_array_equal(alpha_bar_column(0.5, 2).numpy(), [[0.5], [0.5]])


@pytest.mark.parametrize(
    ("alpha_bar", "match"),
    [
        ([0.5, 0.5], r"^alpha_bar must be a scalar or have shape \(3,\); got \(2,\)\.$"),
        ([0.2, 0.0, -0.1], r"^alpha_bar must lie in \[0, 1\); got -0\.1 at index 2\.$"),
        ([0.0, 1.0, 0.5], r"^alpha_bar must lie in \[0, 1\); got 1\.0 at index 1\.$"),
        ([0.2, 0.3, 1.5], r"^alpha_bar must lie in \[0, 1\); got 1\.5 at index 2\.$"),
        ([0.2, float("nan"), 0.1], r"^alpha_bar must lie in \[0, 1\); got nan at index 1\.$"),
        ([1.0], r"^alpha_bar must lie in \[0, 1\); got 1\.0 at index 0\.$"),
        ([-0.1], r"^alpha_bar must lie in \[0, 1\); got -0\.1 at index 0\.$"),
    ],
)  # fmt: skip
def test_alpha_bar_column_names_the_first_bad_entry(alpha_bar: list, match: str) -> None:
    """Planted: a bound of [0, 1) moved (``a >= 1`` -> ``> 1`` / ``>= 2``, ``a < 0`` -> ``< 1``
    / ``<= 0``), an ``|`` of the test made ``&`` (NaN or 1 let through), the index of the
    first bad entry taken from the wrong column or row of ``nonzero``, the shape or the
    value in the message replaced by None."""
    with pytest.raises(ValueError, match=match):
        alpha_bar_column(torch.tensor(alpha_bar, dtype=F64), 3 if len(alpha_bar) > 1 else 4)


def test_sample_accepts_one_draw_and_numpy_integers_and_refuses_bools() -> None:
    """Planted: ``n < 1`` -> ``n < 2`` / ``n <= 1``, the ``or`` of the check made ``and`` (a
    bool let through as 1 draw)."""
    ds = standard_gaussian(2)
    assert ds.sample(1, torch.Generator().manual_seed(0)).shape == (1, 2)
    assert ds.sample(np.int64(3), torch.Generator().manual_seed(0)).shape == (3, 2)
    for bad, shown in [(True, "True"), (2.0, "2.0")]:
        with pytest.raises(ValueError, match=rf"^n must be a positive integer; got {shown}\.$"):
            ds.sample(bad, torch.Generator())  # type: ignore[arg-type]


def test_unknown_quantities_are_named() -> None:
    """Planted: the name of the missing quantity replaced by None or its case changed, the
    message of ``_unknown`` replaced by None."""
    moons, x = TwoMoons(), torch.zeros(2, 2, dtype=F64)
    calls = [(lambda: moons.log_prob(x), "density"), (moons.entropy, "entropy"),
             (lambda: moons.posterior_mean_x0(x, 0.5), r"posterior mean E\[x0\|x_t\]"),
             (lambda: moons.marginal_log_prob(x, 0.5), "density of x_t")]  # fmt: skip
    for call, what in calls:
        with pytest.raises(NotImplementedError,
                           match=rf"^dataset 'two_moons' has no known {what}\.$"):  # fmt: skip
            call()


# -- finite datasets (empirical.py) --------------------------------------------------------
@pytest.mark.parametrize(
    ("pts", "match"),
    [
        (torch.zeros(3), r"^points must have shape \(N, \*event\) with N >= 1; got \(3,\)\.$"),
        (torch.zeros(0, 2), r"^points must have shape \(N, \*event\) with N >= 1; got \(0, 2\)\.$"),
        (torch.tensor([[0.0], [float("inf")]]), r"^points must be finite\.$"),
        (torch.tensor([[0.0], [-1.125]]), r"^points are not on the 17-level grid of \[-1, 1\]\.$"),
        (torch.tensor([[0.0], [1.125]]), r"^points are not on the 17-level grid of \[-1, 1\]\.$"),
    ],
)  # fmt: skip
def test_empirical_refuses_bad_points(pts: torch.Tensor, match: str) -> None:
    """Planted: the ``or`` of the shape check made ``and`` or its N read from
    ``shape[1]``; the grid range test's ``|`` made ``&`` or its top moved (``levels - 1``
    -> ``levels + 1``): ±1.125 are grid values (k = -1, 17) outside [-1, 1]; a message
    replaced by None, its shape by None, or its case changed."""
    with pytest.raises(ValueError, match=match):
        EmpiricalDataset(pts, levels=17)


POINTS = torch.tensor([[0.0, 1.0], [2.0, -1.0], [-1.5, 0.5], [0.5, 0.5]], dtype=F64)


def _bayes(x_t: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """E[x0|x_t] and log q(x_t) for the uniform law on POINTS by Bayes' rule, with scipy's
    multivariate normal densities: q(x_t) = mean_i N(x_t; √ᾱ x_i, (1 − ᾱ) I)."""
    pts = POINTS.numpy()
    means, logs = [], []
    for row, ab in zip(x_t, a):
        dens = np.array([stats.multivariate_normal.pdf(row, math.sqrt(ab) * p, 1 - ab)
                         for p in pts]) / len(pts)  # fmt: skip
        means.append((dens[:, None] * pts).sum(0) / dens.sum())
        logs.append(math.log(dens.sum()))
    return np.array(means), np.array(logs)


def test_empirical_laws_of_x_t_over_several_chunks() -> None:
    """Batch of 5 ≠ D = 2, chunks of 2 rows, one ᾱ per row, float32 input. Planted: the
    batch read from ``shape[1]`` (in ``_check``, for ᾱ's column or the chunk loop), the
    float64 conversion of x_t dropped, the result's dtype not restored. Expected by
    Bayes' rule with scipy's densities."""
    ds = EmpiricalDataset(POINTS, chunk=2)
    x_t = torch.tensor([[0.4, 0.2], [-1.0, 3.0], [0.0, 0.0], [1.5, -0.5], [-2.0, 1.0]])
    a = torch.tensor([0.6, 0.1, 0.9, 0.3, 0.5], dtype=F64)
    want_mean, want_log = _bayes(x_t.double().numpy(), a.numpy())
    got = ds.posterior_mean_x0(x_t, a)
    assert got.dtype == torch.float32 and got.shape == (5, 2)
    np.testing.assert_allclose(got.numpy(), want_mean, rtol=0, atol=4e-7)  # float32 output
    got64 = ds.posterior_mean_x0(x_t.double(), a)
    np.testing.assert_allclose(got64.numpy(), want_mean, rtol=0, atol=1e-13)
    lp = ds.marginal_log_prob(x_t, a)
    assert lp.dtype == F64
    np.testing.assert_allclose(lp.numpy(), want_log, rtol=1e-13)
    # one ᾱ for the whole batch
    np.testing.assert_allclose(ds.marginal_log_prob(x_t.double(), 0.5).numpy(),
                               _bayes(x_t.double().numpy(), np.full(5, 0.5))[1], rtol=1e-13)


def test_empirical_chunk_size_does_not_change_values() -> None:
    """Rows are independent: chunks of 1, 2 and the default 256 give the same bits (the
    reason a changed default chunk is recorded as equivalent)."""
    x_t = torch.randn(7, 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    runs = [EmpiricalDataset(POINTS, chunk=c) for c in (1, 2, 256)]
    means = [ds.posterior_mean_x0(x_t, 0.4) for ds in runs]
    logs = [ds.marginal_log_prob(x_t, 0.4) for ds in runs]
    assert all(torch.equal(m, means[0]) for m in means)
    assert all(torch.equal(v, logs[0]) for v in logs)


def test_empirical_shape_error_names_both_shapes() -> None:
    """Planted: the message replaced by None, or its actual shape."""
    with pytest.raises(ValueError, match=r"^expected shape \(B, \*\(2,\)\); got \(3, 3\)\.$"):
        EmpiricalDataset(POINTS).posterior_mean_x0(torch.zeros(3, 3), 0.5)


def test_empirical_points_are_stored_in_float64() -> None:
    """Planted: the float64 conversion of the points dropped (float32 kept)."""
    pts = torch.tensor([[0.1, 0.2], [0.3, 0.4]], dtype=torch.float32)
    ds = EmpiricalDataset(pts)
    assert ds.points.dtype == F64 and torch.equal(ds.points, pts.double())


def test_empirical_entropy_counts_repeated_points() -> None:
    """−Σ p_u log p_u over the distinct points (two copies of one point: p = ½, ¼, ¼).
    Planted: the error bound 0 of an exact count changed (1.0, None), the method's words
    replaced or their case changed."""
    pts = torch.tensor([[0.0, 1.0], [0.0, 1.0], [2.0, 0.0], [1.0, 1.0]])
    want = -(0.5 * math.log(0.5) + 2 * 0.25 * math.log(0.25))
    ent = EmpiricalDataset(pts).entropy()
    assert ent == Entropy(pytest.approx(want, rel=1e-15), 0.0,
                          "exact count over distinct points", "shannon")  # fmt: skip


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_laws_of_x_t_evaluate_on_the_cpu_and_answer_on_the_inputs_device() -> None:
    """Datasets keep their parameters on the CPU in float64 and return results on the
    device of x_t (the only way to tell these moves apart; see
    mutation/equivalent/backend.data.toml). Planted: the CPU move of the stored points or
    of x_t dropped, the result not moved back to x_t's device."""
    emp = EmpiricalDataset(POINTS.cuda())
    assert emp.points.device.type == "cpu"
    x = torch.tensor([[0.4, 0.2], [-1.0, 3.0], [0.0, 0.0]], device="cuda")
    gm = get_dataset("mixture_2d")
    assert gm.log_prob(x).device == x.device
    for ds in (emp, gm):
        mean, log_q = ds.posterior_mean_x0(x, 0.5), ds.marginal_log_prob(x, 0.5)
        assert mean.device == x.device and mean.dtype == torch.float32
        assert log_q.device == x.device
        assert torch.equal(mean.cpu(), ds.posterior_mean_x0(x.cpu(), 0.5))
        assert torch.equal(log_q.cpu(), ds.marginal_log_prob(x.cpu(), 0.5))
