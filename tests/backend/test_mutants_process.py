"""The forward/reverse process, the losses and the sampler: aliases, messages, shapes and
the parts of results that only a direct check sees. Written against the survivors of
mutation testing (mutation/run.py); each docstring names the planted error it catches."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ddpm_theory.backend import Schedule, load_checkpoint, train
from ddpm_theory.backend.enums import DecoderType, LossType, Parameterization, VarianceType
from ddpm_theory.backend.losses import decoder_nll, training_losses, vlb_term
from ddpm_theory.backend.process import GaussianDiffusion, ModelPrediction, coefficient_table
from ddpm_theory.backend.sample import Trajectory, sample

ALIASES = [
    (Parameterization, "epsilon", "eps"), (Parameterization, "noise", "eps"),
    (Parameterization, "x_0", "x0"), (Parameterization, "X-0", "x0"),
    (Parameterization, "x_start", "x0"),
    (VarianceType, "fixedlarge", "beta"), (VarianceType, "fixedsmall", "beta_tilde"),
    (VarianceType, "learned_interp", "learned_range"),
    (VarianceType, "Learned-Interp", "learned_range"),
    (DecoderType, "discrete", "discretized"), (DecoderType, "discretised", "discretized"),
    (DecoderType, "continuous", "gaussian"), (DecoderType, "DISCRETE", "discretized"),
    (LossType, "eps_mse", "simple"), (LossType, "mse", "simple"), (LossType, "eps", "simple"),
    (LossType, "Eps-MSE", "simple"), (LossType, "kl", "vlb"),
]  # fmt: skip


@pytest.mark.parametrize(("choice", "spelling", "value"), ALIASES)
def test_every_alias_names_its_member(choice, spelling, value) -> None:
    """Planted: an alias key or its target re-cased or marked (``"DISCRETE"``,
    ``"XXgaussianXX"``, ...): the documented spelling no longer parses, or parses to
    nothing."""
    assert choice.parse(spelling) is choice(value)


def test_an_unknown_choice_lists_the_valid_values_comma_separated() -> None:
    """Planted: the separator of the listed values changed (``"XX, XX"``)."""
    with pytest.raises(ValueError) as info:
        Parameterization.parse("epsilonn")
    assert str(info.value) == (
        "'epsilonn' is not a valid Parameterization; choose one of 'eps', 'x0', 'v', 'mean'."
    )


# ----------------------------------------------------------------------------- the process


def test_check_t_names_the_first_bad_timestep_and_the_type_it_got() -> None:
    """Planted: ``t > T`` -> ``t >= T`` when locating the bad entry (the message would name
    t = T, which is valid), and the type/dtype in the TypeError message dropped or read
    from the wrong attribute."""
    d = GaussianDiffusion(Schedule.linear(10))
    with pytest.raises(ValueError, match=r"got t = 11 at batch index 1\."):
        d.check_t(torch.tensor([10, 11, 0]))
    with pytest.raises(TypeError, match=r"got Tensor torch\.float32\."):
        d.check_t(torch.tensor([1.0]))
    with pytest.raises(TypeError, match=r"got list \."):
        d.check_t([1, 2])  # type: ignore[arg-type]


def test_zero_terminal_snr_refuses_eps_with_its_reason() -> None:
    """Planted: the message's case changed (``alpha_bar_T`` -> ``alpha_bar_t``, or all
    upper case)."""
    s = Schedule.cosine(20).rescale_zero_terminal_snr()
    with pytest.raises(
        ValueError,
        match=r"\(alpha_bar_T = 0; Lin et al\. 2024, Sec\. 3\.2\); "
        r"use parameterization 'v' or 'x0'\.",
    ):
        GaussianDiffusion(s, "eps")


def test_a_one_step_chain_is_refused_with_its_reason() -> None:
    """Planted: the message's case changed."""
    with pytest.raises(
        ValueError,
        match="GaussianDiffusion needs T >= 2: the reverse variance at t = 1 borrows beta_tilde_2",
    ):
        coefficient_table(Schedule.linear(1))


def test_the_coefficient_table_carries_the_betas_and_is_read_only() -> None:
    """Planted: the key ``"betas"`` renamed, and ``setflags(write=False)`` -> ``True`` or
    ``None`` (a caller could then overwrite the process's coefficients in place)."""
    s = Schedule.linear(12)
    table = coefficient_table(s)
    np.testing.assert_array_equal(table["betas"], s.betas)
    for name, a in table.items():
        assert not a.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            a[0] = 0.0


class CountingTable(dict):
    def __init__(self, table):
        super().__init__(table)
        self.reads: list[str] = []

    def __getitem__(self, name):
        self.reads.append(name)
        return super().__getitem__(name)


def test_extract_converts_each_table_once_per_dtype() -> None:
    """Planted: the conversion cache never filled (``self._cache[key] = None``), never read
    (``table = None``, ``self._cache.get(None)``): every call would convert the float64
    table again (a per-step cost in the sampler and the audit)."""
    d = GaussianDiffusion(Schedule.linear(10))
    d.coefficients = CountingTable(d.coefficients)
    t = torch.tensor([1, 5, 10])
    for _ in range(3):
        a = d.extract("sqrt_alpha_bar", t, torch.zeros(3, 2))
    b = d.extract("sqrt_alpha_bar", t, torch.zeros(3, 2, dtype=torch.float64))
    assert d.coefficients.reads == ["sqrt_alpha_bar", "sqrt_alpha_bar"]
    want = np.sqrt(np.cumprod(1.0 - Schedule.linear(10).betas))[[0, 4, 9]]
    np.testing.assert_allclose(a.flatten().numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(b.flatten().numpy(), want, rtol=1e-15)


def test_a_learned_variance_splits_image_shaped_outputs_on_channels() -> None:
    """Planted: the expected output shape built from ``x_t.shape[3:]`` instead of
    ``[2:]``: an image-shaped model output (B, 2C, H, W) would be refused."""
    d = GaussianDiffusion(Schedule.linear(10), "eps", "learned_range")
    x_t = torch.zeros(2, 3, 4, 5)
    out = torch.zeros(2, 6, 4, 5)
    pred = d.p_mean_variance(out, x_t, torch.tensor([3, 7]))
    assert pred.mean.shape == (2, 3, 4, 5) and pred.log_variance.shape == (2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"expected \(2, 6, 4, 5\), got \(2, 3, 4, 5\)"):
        d.p_mean_variance(torch.zeros(2, 3, 4, 5), x_t, torch.tensor([3, 7]))


# ----------------------------------------------------------------------------- the losses


def _prediction(mean: float, log_variance: float, n: int = 3) -> ModelPrediction:
    m = torch.full((n, 1), mean, dtype=torch.float64)
    lv = torch.full((n, 1), log_variance, dtype=torch.float64)
    return ModelPrediction(m, lv.exp(), lv, m, m)


def _released_tanh_bin(x: float, mean: float, sigma: float, levels: int) -> float:
    """−log of Ho et al.'s released decoder on an interior bin: the tanh approximation
    Φ(z) ≈ ½(1 + tanh(√(2/π)(z + 0.044715 z³))) at the bin edges x ± 1/(levels − 1)."""

    def cdf(z: float) -> float:
        return 0.5 * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))

    half = 1.0 / (levels - 1)
    return -math.log(cdf((x + half - mean) / sigma) - cdf((x - half - mean) / sigma))


def test_decoder_nll_passes_the_cdf_choice_and_defaults_to_exact() -> None:
    """Planted: ``approx_cdf`` not passed on to the discretized likelihood (the tanh
    approximation silently replaced by the exact CDF), and its default re-cased
    (``"EXACT"``, refused) or marked."""
    levels, x, mean, lv = 17, 0.25, 0.1, math.log(0.04)
    x0 = torch.full((3, 1), x, dtype=torch.float64)
    pred = _prediction(mean, lv)
    sigma, half = 0.2, 1.0 / 16
    exact = -math.log(stats.norm.cdf(x + half, mean, sigma) - stats.norm.cdf(x - half, mean, sigma))
    tanh = _released_tanh_bin(x, mean, sigma, levels)
    assert abs(exact - tanh) > 1e-5  # the two rules differ on this bin
    got_default = decoder_nll(x0, pred, decoder="discretized", levels=levels)
    got_tanh = decoder_nll(x0, pred, decoder="discretized", levels=levels, approx_cdf="tanh")
    np.testing.assert_allclose(got_default.numpy(), exact, rtol=1e-9)
    np.testing.assert_allclose(got_tanh.numpy(), tanh, rtol=1e-9)
    with pytest.raises(ValueError, match=r"the discretized decoder needs levels"):
        decoder_nll(x0, pred, decoder="discretized")


def test_vlb_term_at_t1_passes_the_cdf_choice_and_defaults_to_exact() -> None:
    """Planted: ``approx_cdf`` dropped from the decoder call of L_0, and its default
    re-cased or marked."""
    d = GaussianDiffusion(Schedule.linear(10), "eps", "beta")
    levels, x, mean = 17, -0.5, -0.45
    x0 = torch.full((3, 1), x, dtype=torch.float64)
    pred = _prediction(mean, math.log(0.01))
    t = torch.ones(3, dtype=torch.long)
    exact = vlb_term(d, pred, x0, x0, t, decoder="discretized", levels=levels)
    tanh = vlb_term(d, pred, x0, x0, t, decoder="discretized", levels=levels, approx_cdf="tanh")
    np.testing.assert_allclose(tanh.numpy(), _released_tanh_bin(x, mean, 0.1, levels), rtol=1e-9)
    want = -math.log(stats.norm.cdf(x + 1 / 16, mean, 0.1) - stats.norm.cdf(x - 1 / 16, mean, 0.1))
    np.testing.assert_allclose(exact.numpy(), want, rtol=1e-9)


class Fixed(torch.nn.Module):
    """A "model" that outputs a fixed tensor (any parameterisation)."""

    def __init__(self, out: torch.Tensor) -> None:
        super().__init__()
        self.out = out

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.out


def test_hybrid_loss_reports_its_two_parts() -> None:
    """Planted: the returned ``mse`` or ``vlb`` part dropped, swapped or set to ``None``
    (``LossTerms(loss, None, vlb)``, ``LossTerms(loss, vlb)``, ...), and ``D`` read from
    the second example (a batch of one would fail)."""
    g = torch.Generator().manual_seed(0)
    d = GaussianDiffusion(Schedule.linear(10), "eps", "learned_range")
    x0 = torch.randn(1, 2, generator=g, dtype=torch.float64)
    noise = torch.randn(1, 2, generator=g, dtype=torch.float64)
    out = torch.randn(1, 4, generator=g, dtype=torch.float64)
    t = torch.tensor([4])
    terms = training_losses(d, Fixed(out), x0, t, noise, loss="hybrid", vlb_weight=0.5)
    mse = float(((out[:, :2] - noise) ** 2).mean())  # ε-prediction against the noise
    x_t = d.q_sample(x0, t, noise)
    vlb = vlb_term(d, d.p_mean_variance(out, x_t, t), x0, x_t, t, decoder="gaussian")
    assert terms.mse is not None and terms.vlb is not None
    np.testing.assert_allclose(terms.mse.numpy(), [mse], rtol=1e-12)
    np.testing.assert_allclose(terms.vlb.numpy(), vlb.numpy(), rtol=1e-12)
    np.testing.assert_allclose(terms.loss.numpy(), mse + 0.5 * 10 * vlb.numpy() / 2, rtol=1e-12)


def test_squared_error_losses_report_no_bound_term() -> None:
    """Planted: ``LossTerms(mse, mse, None)`` -> ``LossTerms(mse, mse)`` (a missing field
    is an error) — the pure squared-error losses say that they computed no L_{t−1}."""
    d = GaussianDiffusion(Schedule.linear(10))
    x0, noise = torch.zeros(2, 3), torch.ones(2, 3)
    terms = training_losses(d, Fixed(torch.zeros(2, 3)), x0, torch.tensor([1, 2]), noise)
    assert terms.vlb is None and torch.equal(terms.mse, torch.ones(2))


# ----------------------------------------------------------------------------- the sampler


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("process") / "m.pt"
    train("mixture_1d", 3, schedule=Schedule.linear(6), batch_size=8, device="cpu",
          model_args={"hidden": 4, "depth": 1}, progress=False, out=path)  # fmt: skip
    return path


@pytest.mark.parametrize("n", [0, -1, True, 2.0])
def test_sample_refuses_a_count_that_is_not_a_positive_integer(ckpt_path, n) -> None:
    """Planted: the ``or``s of the check turned into ``and``s, and the message dropped."""
    with pytest.raises(ValueError, match=f"n must be a positive integer; got {n!r}"):
        sample(ckpt_path, n)


def test_sample_from_a_path_with_the_default_seed(ckpt_path) -> None:
    """Planted: the checkpoint path not loaded (``load_checkpoint(None)``, ``ckpt = None``),
    ``n < 1`` -> ``n < 2`` / ``n <= 1`` (one sample refused), and the default seed changed
    (``seed: int = 1``)."""
    ck = load_checkpoint(ckpt_path)
    one = sample(ckpt_path, 1)
    assert isinstance(one, torch.Tensor) and one.shape == (1, 1)
    assert torch.equal(sample(ckpt_path, 4), sample(ck, 4, seed=0))
    assert not torch.equal(sample(ckpt_path, 4), sample(ck, 4, seed=1))


def test_sample_passes_the_trajectory_and_progress_options(ckpt_path) -> None:
    """Planted: ``return_trajectory`` or ``progress`` not passed on to the loop (or passed
    as ``None``)."""
    calls: list[int] = []
    traj = sample(ckpt_path, 3, return_trajectory=True, progress=calls.append)
    assert isinstance(traj, Trajectory) and calls == [1] * 6
    assert torch.equal(traj.at(0), sample(ckpt_path, 3))


def test_trajectory_at_refuses_a_step_past_the_end() -> None:
    """Planted: ``t < len`` -> ``t <= len`` (an IndexError instead of the message), and a
    wrong range in the message."""
    traj = Trajectory(torch.zeros(7, 2, 1))
    assert traj.at(6).shape == (2, 1)
    with pytest.raises(ValueError, match=r"t must lie in \[0, 6\]; got 7\."):
        traj.at(7)


def test_respacing_a_directly_learned_variance_is_refused_with_its_reason(tmp_path) -> None:
    """Planted: the message's case changed (``T`` -> ``t``, or all upper case)."""
    path = tmp_path / "learned.pt"
    train("mixture_1d", 2, schedule=Schedule.linear(6), batch_size=8, device="cpu",
          variance="learned", loss="vlb", model_args={"hidden": 4, "depth": 1},
          progress=False, out=path)  # fmt: skip
    with pytest.raises(
        ValueError,
        match=r"sigma_t\^2, not the sub-chain's; sample all T "
        r"steps, or train with learned_range\.",
    ):
        sample(path, 2, steps=3)


@pytest.mark.gpu
def test_sample_runs_on_the_generators_device(ckpt_path) -> None:
    """Planted: the model not moved to the generator's device (``.to(None)``), or the
    coefficient tables left on the CPU (``.to(None, like.dtype)``, ``.to(like.dtype)``):
    sampling with a CUDA generator would fail on mixed devices. Needs a CUDA device."""
    g = torch.Generator("cuda").manual_seed(0)
    x = sample(ckpt_path, 8, generator=g)
    assert x.device.type == "cuda" and x.shape == (8, 1)
    assert bool(torch.isfinite(x).all())
