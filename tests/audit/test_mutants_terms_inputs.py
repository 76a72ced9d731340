"""elbo_terms: what a checkpoint supplies, the defaults, and the errors that name bad input.

Written against the survivors of mutation testing (mutation/run.py): each docstring names
the planted errors it catches. Expected values come from mutants_terms_reference.py (numpy
and scipy from Ho et al. 2020's formulas).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from mutants_terms_reference import coefficients, prior_kl, rows
from torch import nn

from ddpm_theory.audit import AuditError, elbo_terms
from ddpm_theory.backend import GaussianDiffusion, Schedule
from ddpm_theory.backend.checkpoint import Checkpoint
from ddpm_theory.backend.data import standard_gaussian

BETAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45])
S = Schedule.from_betas(BETAS)
T = len(BETAS)
LEVELS = 5
GRID = torch.tensor([[-1.0], [-0.5], [0.0], [0.5], [1.0]], dtype=torch.float64)


def x0_model_np(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    """x̂_0 = 0.8 x_t/√ᾱ_t... scaled so that L_0's bins are neither certain nor empty."""
    ab = coefficients(BETAS)["ab"][t - 1][:, None]
    return 0.8 * x_t / np.sqrt(ab) + 0.03 * t[:, None]


class X0Net(nn.Module):
    """The x_0-predictor above as a module without parameters."""

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = torch.from_numpy(coefficients(BETAS)["ab"])[t - 1].reshape(-1, 1)
        return 0.8 * x_t / ab.sqrt() + 0.03 * t.reshape(-1, 1).to(x_t)


def _checkpoint(**config) -> Checkpoint:
    cfg = {"decoder": "discretized", "levels": LEVELS, "approx_cdf": "tanh", "loss": "hybrid"}
    cfg.update(config)
    return Checkpoint(model=X0Net(), diffusion=GaussianDiffusion(S, "x0", "beta_tilde"),
                      dataset=standard_gaussian(1), config=cfg, loss_history=torch.zeros(0))


def _reference(x0: torch.Tensor, seed: int, cdf: str) -> dict[str, np.ndarray]:
    """Per-(example, t) rows of one draw each, on the audit's noise stream."""
    B = x0.shape[0]
    eps = torch.randn(B * T, 1, generator=torch.Generator().manual_seed(seed),
                      dtype=torch.float64).numpy()
    t = np.tile(np.arange(1, T + 1), B)
    c = coefficients(BETAS)
    s2 = np.concatenate([c["bt"][1:2], c["bt"][1:]])  # β̃_t with β̃_1 := β̃_2
    r = rows(BETAS, x0.numpy()[np.repeat(np.arange(B), T)], t, eps, x0_model_np, np.log(s2),
             decoder="discretized", levels=LEVELS, cdf=cdf, param="x0",
             x0_star=lambda x_t, ab: np.sqrt(ab) * x_t)
    return {k: v.reshape(B, T) for k, v in r.items()}


def test_a_checkpoint_supplies_its_process_decoder_and_law() -> None:
    """Planted: a checkpoint default (schedule, parameterisation, variance, decoder, levels,
    approx_cdf, data) dropped or read under a wrong key, or a garbled fallback: the audit of
    a checkpoint with x0-parameterisation, σ² = β̃, a 5-level discretized decoder with the
    tanh CDF and the law N(0, 1) equals numpy's terms for exactly that process."""
    r = elbo_terms(_checkpoint(), GRID, generator=torch.Generator().manual_seed(3))
    ref = _reference(GRID, 3, "tanh")
    assert (r.parameterization, r.variance, r.decoder) == ("x0", "beta_tilde", "discretized")
    np.testing.assert_allclose(r.transitions, ref["loss"][:, 1:].mean(0), rtol=1e-10)
    assert r.decoder_term is not None
    assert r.decoder_term.nats == pytest.approx(ref["loss"][:, 0].mean(), rel=1e-10)
    # the law N(0, 1): E[x_0|x_t] = √ᾱ_t x_t gives the Bayes-optimal terms
    assert r.bayes is not None and r.decoder_bayes is None  # no closed form for discretized
    np.testing.assert_allclose(r.bayes, ref["bayes"][:, 1:].mean(0), rtol=1e-10)


def test_a_checkpoint_without_approx_cdf_uses_the_exact_cdf() -> None:
    """Planted: the fallback ``"exact"`` of a checkpoint without approx_cdf garbled."""
    ck = _checkpoint()
    del ck.config["approx_cdf"]
    r = elbo_terms(ck, GRID, generator=torch.Generator().manual_seed(3))
    assert r.decoder_term is not None
    assert r.decoder_term.nats == pytest.approx(_reference(GRID, 3, "exact")["loss"][:, 0].mean(),
                                                rel=1e-10)


def test_arguments_override_the_checkpoint() -> None:
    """Planted: an explicit argument losing to the checkpoint's value (``or`` reversed)."""
    r = elbo_terms(_checkpoint(), GRID, parameterization="eps", variance="beta",
                   decoder="gaussian", approx_cdf="exact", bayes=False,
                   generator=torch.Generator().manual_seed(3))
    assert (r.parameterization, r.variance, r.decoder) == ("eps", "beta", "gaussian")
    assert r.bayes is None


class _Adapted:
    """An outside model adapted for audits: audit_source gives the callable and defaults."""

    def __init__(self) -> None:
        self.devices: list[torch.device] = []

    def audit_source(self, device: torch.device):
        self.devices.append(device)
        return X0Net(), {"schedule": S, "parameterization": "x0", "variance": "beta_tilde",
                         "decoder": "discretized", "levels": LEVELS, "approx_cdf": "tanh"}


def test_an_adapted_model_supplies_its_defaults() -> None:
    """Planted: audit_source ignored (the adapter then fails as a non-callable) or called
    without the audit's device."""
    a = _Adapted()
    r = elbo_terms(a, GRID, generator=torch.Generator().manual_seed(3))
    assert a.devices == [torch.device("cpu")]
    assert r.decoder_term is not None
    assert r.decoder_term.nats == pytest.approx(_reference(GRID, 3, "tanh")["loss"][:, 0].mean(),
                                                rel=1e-10)


def test_defaults_without_a_checkpoint() -> None:
    """Planted: the defaults eps / beta / (discretized if levels else gaussian) garbled, the
    decoder chosen without looking at levels, or a full-chain record given a non-None
    ``respaced_timesteps``."""
    x0 = GRID[1:4]

    def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return 0.5 * x_t

    r = elbo_terms(eps_model, x0, S)
    assert (r.parameterization, r.variance, r.decoder) == ("eps", "beta", "gaussian")
    assert r.respaced_timesteps is None and r.notes == ()  # not a sub-chain, no override
    r = elbo_terms(eps_model, x0, S, levels=LEVELS)
    assert r.decoder == "discretized"
    eps = torch.randn(3 * T, 1, generator=torch.Generator().manual_seed(0),
                      dtype=torch.float64).numpy()
    t = np.tile(np.arange(1, T + 1), 3)
    ref = rows(BETAS, x0.numpy()[np.repeat(np.arange(3), T)], t, eps,
               lambda x_t, t: 0.5 * x_t, np.log(BETAS), decoder="discretized", levels=LEVELS)
    assert r.decoder_term is not None  # default generator: seeded with 0; default CDF: exact
    assert r.decoder_term.nats == pytest.approx(ref["loss"].reshape(3, T)[:, 0].mean(),
                                                rel=1e-10)


def test_examples_drawn_from_the_law() -> None:
    """Planted: the default count 256 changed, a count ignored, or the examples not drawn
    from the law with the audit's generator before its noise."""
    law = standard_gaussian(1)
    r = elbo_terms(X0Net(), None, S, parameterization="x0", data=law)
    assert r.n_examples == 256
    g = torch.Generator().manual_seed(5)
    r = elbo_terms(X0Net(), 7, S, parameterization="x0", data=law, generator=g)
    g = torch.Generator().manual_seed(5)
    x = law.sample(7, g, dtype=torch.float64)
    eps = torch.randn(7 * T, 1, generator=g, dtype=torch.float64).numpy()
    t = np.tile(np.arange(1, T + 1), 7)
    ref = rows(BETAS, x.numpy()[np.repeat(np.arange(7), T)], t, eps, x0_model_np,
               np.log(BETAS), param="x0")
    assert r.n_examples == 7
    np.testing.assert_allclose(r.per_example_total,
                               prior_kl(BETAS, x.numpy()) + ref["loss"].reshape(7, T).sum(1),
                               rtol=1e-10)


def test_a_law_by_name_and_a_law_of_another_shape() -> None:
    """Planted: a law given by name not looked up, or a law whose event shape differs from
    the examples' kept (its Bayes values would be computed on the wrong shape)."""
    r = elbo_terms(X0Net(), GRID, S, parameterization="x0", data="mixture_1d")
    assert r.bayes is not None and r.entropy is not None
    r = elbo_terms(X0Net(), GRID, S, parameterization="x0", data=standard_gaussian(1),
                   bayes=False)
    assert r.bayes is None


def test_float32_examples_are_audited_in_float64() -> None:
    """Planted: x0 not converted to float64 (the audit then mixes dtypes or loses digits)."""
    x32 = torch.tensor([[0.1], [-0.7]], dtype=torch.float32)
    a = elbo_terms(X0Net(), x32, S, parameterization="x0")
    b = elbo_terms(X0Net(), x32.to(torch.float64), S, parameterization="x0")
    assert np.array_equal(a.per_example_total, b.per_example_total)


class _Recorder(nn.Module):
    """An ε-model that records the dtype it is called with; ``first`` is a buffer-like
    integer parameter before the float one."""

    def __init__(self, dtype: torch.dtype, integer_first: bool) -> None:
        super().__init__()
        if integer_first:
            self.first = nn.Parameter(torch.zeros(1, dtype=torch.long), requires_grad=False)
        self.scale = nn.Parameter(torch.full((1,), 0.5, dtype=dtype))
        self.seen: set[torch.dtype] = set()

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.seen.add(x_t.dtype)
        return self.scale * x_t


@pytest.mark.parametrize("integer_first", [False, True])
def test_the_model_is_called_in_its_own_dtype(integer_first: bool) -> None:
    """Planted: the dtype of the first parameter taken even when it is an integer, the
    float test inverted, or the model called in float64 regardless."""
    net = _Recorder(torch.float32, integer_first)
    elbo_terms(net, GRID, S)
    assert net.seen == {torch.float32}
    assert _model_dtype_of(nn.Identity()) == {torch.float64}


def _model_dtype_of(module: nn.Module) -> set[torch.dtype]:
    seen: set[torch.dtype] = set()

    def fn(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.add(x_t.dtype)
        return module(x_t) * 0.5

    elbo_terms(fn, GRID, S)
    return seen


def test_a_model_on_another_device_is_refused() -> None:
    """Planted: the device check dropped or inverted, or its message garbled."""
    net = nn.Linear(1, 1, device="meta")
    with pytest.raises(AuditError, match=re.escape(
            "the model's parameters are on meta, the audit runs on cpu: move the model or "
            "pass device='meta'.")):
        elbo_terms(net, GRID, S)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"model": 3}, TypeError,
     "model must be callable model(x_t, t), a Checkpoint or a path; got int."),
    ({"x0": None}, AuditError,
     "give the examples x0 (a tensor), or a data law to draw them from."),
    ({"x0": [[0.0]]}, TypeError, "x0 must be a tensor (B, *event) or a count; got list."),
    ({"x0": torch.zeros(3)}, AuditError,
     "x0 must have shape (B, *event) with B >= 1; got (3,)."),
    ({"x0": torch.zeros(0, 1)}, AuditError,
     "x0 must have shape (B, *event) with B >= 1; got (0, 1)."),
    ({"x0": torch.zeros(2, 2), "data": standard_gaussian(1)}, AuditError,
     "x0 has examples of shape (2,), but the model/data expect (1,)."),
    ({"x0": torch.tensor([[0.0], [math.inf]])}, AuditError, "x0 contains NaN or Inf."),
    ({"x0": torch.tensor([[0.0], [math.nan]])}, AuditError, "x0 contains NaN or Inf."),
    ({"schedule": None}, AuditError,
     "give the schedule the model was trained with (a Schedule)."),
    ({"schedule": Schedule.from_betas([0.1])}, AuditError,
     "an audit needs T >= 2 (L_T, at least one L_(t-1), and L_0)."),
    ({"decoder": "discretized"}, AuditError,
     "the discretized decoder needs levels (e.g. 256, or 17 for digits)."),
    ({"mode": "mc"}, ValueError, "mode must be 'monte_carlo' or 'quadrature'; got 'mc'."),
    ({"n_draws": 0}, ValueError, "n_draws must be a positive integer; got 0."),
    ({"n_draws": True}, ValueError, "n_draws must be a positive integer; got True."),
    ({"n_draws": 2.0}, ValueError, "n_draws must be a positive integer; got 2.0."),
    ({"false_alarm": 0.0}, ValueError, "false_alarm must lie in (0, 1); got 0.0."),
    ({"false_alarm": 1.0}, ValueError, "false_alarm must lie in (0, 1); got 1.0."),
    ({"generator": np.random.default_rng(0)}, TypeError,
     "generator must be a torch.Generator (the global RNG is never used)."),
    ({"mode": "quadrature", "timesteps": "stratified", "n_timesteps": 2}, AuditError,
     "quadrature mode computes every expectation exactly: use timesteps='all' or an "
     "explicit list."),
    ({"timesteps": "some"}, ValueError,
     "timesteps must be 'all', 'stratified', 'importance' or a list of paper timesteps; "
     "got 'some'."),
    ({"timesteps": "stratified"}, ValueError,
     "timesteps='stratified' needs n_timesteps (slots per example)."),
    ({"timesteps": "importance"}, ValueError,
     "timesteps='importance' needs n_timesteps (slots per example)."),
    ({"steps": 1}, AuditError, "steps (K, the sub-chain length) must be an integer >= 2 "
     "(L_K, at least one transition, and L_0); got 1."),
    ({"steps": True}, AuditError, "steps (K, the sub-chain length) must be an integer >= 2 "
     "(L_K, at least one transition, and L_0); got True."),
    ({"steps": 3.0}, AuditError, "steps (K, the sub-chain length) must be an integer >= 2 "
     "(L_K, at least one transition, and L_0); got 3.0."),
])
def test_bad_input_is_named(kwargs: dict, error: type, message: str) -> None:
    """Planted: any of these checks dropped, loosened (``<`` for ``<=``, ``and`` for
    ``or``) or its message garbled; the last good value of each bound is accepted by the
    tests above (n_draws = 1, T = 2 below)."""
    args = {"model": X0Net(), "x0": GRID, "schedule": S, "parameterization": "x0"}
    args.update(kwargs)
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        elbo_terms(args.pop("model"), args.pop("x0"), args.pop("schedule"), **args)


def test_the_smallest_accepted_values() -> None:
    """Planted: T >= 2, steps >= 2 or n_draws >= 1 made strict, or an in-range
    false_alarm refused."""
    two = Schedule.from_betas([0.1, 0.3])
    r = elbo_terms(X0Net(), GRID, two, parameterization="x0", n_draws=1, false_alarm=0.999)
    assert list(r.transitions_t) == [2]
    r = elbo_terms(X0Net(), GRID, S, parameterization="x0", steps=2)
    assert r.respaced_timesteps is not None and list(r.respaced_timesteps)[-1] == T


def test_a_sub_chain_longer_than_the_chain_is_refused() -> None:
    """Planted: the respacing error not turned into an AuditError with its text."""
    with pytest.raises(AuditError, match=r"^(?=.*\b7\b)(?=.*\b6\b)"):
        elbo_terms(X0Net(), GRID, S, parameterization="x0", steps=7)


@pytest.mark.parametrize(("values", "ok"), [
    ([-1.0, 1.0, -0.5 + 2e-4], True),  # on the grid (4e-4 of a bin off: rounding)
    ([-0.5 + 1e-3], False),  # 2e-3 of a bin (0.5) off
    ([1.5], False),  # the grid's next point beyond 1
    ([-1.5], False),
])
def test_the_discretized_grid_check(values: list[float], ok: bool) -> None:
    """Planted: the grid check's tolerance (1e-3 of a bin: k = (x + 1)(L − 1)/2 within
    1e-3 of an integer) or its range k in [0, L − 1] changed, or its message garbled."""
    x0 = torch.tensor(values, dtype=torch.float64).reshape(-1, 1)
    if ok:
        r = elbo_terms(X0Net(), x0, S, parameterization="x0", levels=LEVELS)
        assert r.decoder_term is not None and math.isfinite(r.decoder_term.nats)
        return
    with pytest.raises(AuditError, match=re.escape(
            "x0 is not on the 5-level grid of [-1, 1]: the discretized decoder needs discrete "
            "data (use decoder 'gaussian', or rescale x0).")):
        elbo_terms(X0Net(), x0, S, parameterization="x0", levels=LEVELS)


def test_a_checkpoint_path_that_does_not_load(tmp_path) -> None:
    """Planted: the load error's message garbled or the path not named in it."""
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(AuditError, match="^" + re.escape(f"cannot audit {str(bad)!r}: ")):
        elbo_terms(str(bad), GRID)


def test_a_sub_chain_audit_queries_the_model_at_its_parent_timesteps() -> None:
    """Planted: the sub-chain's model not mapped to its kept timesteps τ_i, the sub-chain
    schedule not used, or the record without τ: a K = 3 audit equals numpy's terms for
    β'_i = 1 − ᾱ_{τ_i}/ᾱ_{τ_{i−1}} (Nichol & Dhariwal 2021, Sec. 4) with ε̂ evaluated at τ_i,
    on the audit's noise stream."""
    x0 = GRID[1:4]
    seen: set[int] = set()

    def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        seen.update(int(v) for v in t)
        return 0.6 * x_t + 0.05 * t.reshape(-1, 1).to(x_t)

    r = elbo_terms(eps_model, x0, S, steps=3, generator=torch.Generator().manual_seed(2))
    assert r.respaced_timesteps is not None
    tau = np.asarray(r.respaced_timesteps)
    assert len(tau) == 3 and tau[-1] == T and (np.diff(tau) > 0).all() and tau[0] >= 1
    assert seen == set(tau.tolist())
    ab = coefficients(BETAS)["ab"][tau - 1]
    b = 1.0 - ab / np.concatenate([[1.0], ab[:-1]])
    eps = torch.randn(3 * 3, 1, generator=torch.Generator().manual_seed(2),
                      dtype=torch.float64).numpy()
    t = np.tile(np.arange(1, 4), 3)
    ref = rows(b, x0.numpy()[np.repeat(np.arange(3), 3)], t, eps,
               lambda x_t, i: 0.6 * x_t + 0.05 * tau[i - 1][:, None], np.log(b))
    np.testing.assert_allclose(r.per_example_total,
                               prior_kl(b, x0.numpy()) + ref["loss"].reshape(3, 3).sum(1),
                               rtol=1e-10)


def test_a_schedule_other_than_the_checkpoints() -> None:
    """Planted: a schedule with the checkpoint's T but other β_t taken as the same (``or``
    for ``and``), the override ignored, or the note's or the error's words garbled."""
    own = _checkpoint()
    other = Schedule.from_betas(BETAS * 0.9)
    what = (f"the schedule given ({other!r}) differs from the checkpoint's ({S!r}), so the "
            "model would run on inputs outside its training range")
    with pytest.raises(AuditError, match="^" + re.escape(
            f"{what}; pass schedule_override=True to audit it under that schedule anyway "
            "(the record then says so).") + "$"):
        elbo_terms(own, GRID, other)
    r = elbo_terms(own, GRID, other, schedule_override=True)
    assert r.notes == (f"schedule overridden: {what}.",)
    assert r.prior.nats == pytest.approx(prior_kl(BETAS * 0.9, GRID.numpy()).mean(), rel=1e-12)
    same = Schedule.from_betas(BETAS.copy())
    assert elbo_terms(own, GRID, same).notes == ()


def test_the_default_chunk_on_the_cpu_is_2048_rows() -> None:
    """Planted: the CPU default of 2048 rows per model call changed (or the CUDA one used):
    400 examples of T = 6 terms are 2400 rows, reported to ``progress`` per call."""
    seen: list[int] = []
    r = elbo_terms(X0Net(), torch.zeros(400, 1, dtype=torch.float64), S, parameterization="x0",
                   progress=seen.append)
    assert seen == [2048, 352] and r.n_model_evals == 2400


def test_a_checkpoints_gaussian_decoder_with_levels() -> None:
    """Planted: the checkpoint's decoder read under a garbled key (the fallback then picks
    the discretized decoder because the checkpoint has levels)."""
    r = elbo_terms(_checkpoint(decoder="gaussian"), GRID, generator=torch.Generator())
    assert r.decoder == "gaussian"


def test_default_pilot_and_quadrature_sizes() -> None:
    """Planted: the default pilot of 32 examples or the default 8 Gauss–Hermite nodes per
    dimension changed: 40 examples give a 32-example pilot (one row per pilot example and
    grid t, counted by the model calls), and a quadrature audit of D = 1 calls the model
    8 times per (example, t)."""
    x0 = torch.linspace(-1.0, 1.0, 40, dtype=torch.float64).reshape(40, 1)
    r = elbo_terms(X0Net(), x0, S, parameterization="x0", timesteps="importance",
                   n_timesteps=2, generator=torch.Generator())
    assert r.n_model_evals == 32 * (T - 1) + 40 * (1 + 2)  # pilot grid: every t = 2..T
    r = elbo_terms(X0Net(), GRID, S, parameterization="x0", mode="quadrature")
    assert r.n_model_evals == 5 * T * 8
