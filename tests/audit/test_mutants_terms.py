"""The audit's per-row terms and their averages against numpy written from the paper.

Written against the survivors of mutation testing (mutation/run.py): each docstring names
the planted errors it catches. The expected values come from mutants_terms_reference.py
(numpy and scipy from Ho et al. 2020's formulas), never from the library's process code.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from mutants_terms_reference import coefficients, prior_kl, rows
from numpy.polynomial.hermite_e import hermegauss

from ddpm_theory.audit import elbo_terms
from ddpm_theory.audit.evaluate import RowEvaluator
from ddpm_theory.backend import GaussianDiffusion, Schedule
from ddpm_theory.backend.data import standard_gaussian
from ddpm_theory.backend.enums import DecoderType

BETAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45])
S = Schedule.from_betas(BETAS)
T = len(BETAS)
RTOL = 1e-10  # float64 arithmetic of a few dozen operations per row


def eps_model_np(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    """An ε-predictor that is neither exact nor trivial: ε̂ = 0.6 x_t + 0.05 t + 0.1 x_t²."""
    return 0.6 * x_t + 0.05 * t[:, None] + 0.1 * x_t**2


def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return 0.6 * x_t + 0.05 * t.reshape(-1, 1).to(x_t) + 0.1 * x_t**2


def learned_model_np(x_t: np.ndarray, t: np.ndarray):
    """ε̂ as above and log σ² = log β_t + 0.3 sin(x_t) (varies with x_t)."""
    return eps_model_np(x_t, t), np.log(BETAS[t - 1])[:, None] + 0.3 * np.sin(x_t)


def learned_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    lv = torch.from_numpy(np.log(BETAS))[t - 1].reshape(-1, 1) + 0.3 * torch.sin(x_t)
    return torch.cat([eps_model(x_t, t), lv], 1)


def _evaluator(model, variance: str, *, law=None, batch_size: int = 1000, x0=None,
               progress=None) -> tuple[RowEvaluator, torch.Tensor]:
    x0 = x0 if x0 is not None else torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.0]],
                                                dtype=torch.float64)
    ev = RowEvaluator(model, GaussianDiffusion(S, "eps", variance), x0,
                      decoder=DecoderType.GAUSSIAN, levels=None, approx_cdf="exact", law=law,
                      model_dtype=torch.float64, batch_size=batch_size, progress=progress)
    return ev, x0


def _all_rows(B: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    idx = torch.arange(B).repeat_interleave(T)
    t = torch.arange(1, T + 1).repeat(B)
    eps = torch.randn(B * T, 2, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    return idx, t, eps


def _check(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=RTOL, atol=1e-13, err_msg=k)


@pytest.mark.parametrize("variance", ["beta", "beta_tilde"])
def test_rows_with_a_fixed_variance_match_the_paper(variance: str) -> None:
    """Planted: a wrong index into λ_t σ_t² or the floor table (t for t − 1), the t = 1 row
    given the KL instead of the decoder NLL (or a weighted/floor value), λ without the
    1/σ_t² factor, the Bayes value of the posterior mean at E[x_0|x_t] of a wrong ᾱ, or the
    Bayes decoder row dropped: loss, mse, weighted (λ_t‖ε − ε̂‖², Eq. 12), floor (C_t, Eq. 8)
    and bayes of every row against numpy, including t = 1 and t = T."""
    law = standard_gaussian(2)
    ev, x0 = _evaluator(eps_model, variance, law=law)
    idx, t, eps = _all_rows(3)
    got = ev.run(idx, t, lambda start, n: eps[start:start + n])
    c = coefficients(BETAS)
    s2 = BETAS.copy() if variance == "beta" else np.concatenate([c["bt"][1:2], c["bt"][1:]])
    want = rows(BETAS, x0.numpy()[idx.numpy()], t.numpy(), eps.numpy(), eps_model_np,
                np.log(s2), x0_star=lambda x_t, ab: np.sqrt(ab) * x_t)
    _check(got, want)
    assert ev.n_model_evals == 3 * T


def test_rows_with_a_learned_variance_match_the_paper() -> None:
    """Planted: the learned-σ² floor Σ_d ½(e^δ − 1 − δ) with δ of the wrong sign, without
    the ½, with a wrong value at t = 1 (where it is 0), or the fixed-variance floor table
    used for a learned variance: every row against numpy with σ² varying with x_t."""
    ev, x0 = _evaluator(learned_model, "learned")
    idx, t, eps = _all_rows(3)
    got = ev.run(idx, t, lambda start, n: eps[start:start + n])
    want = rows(BETAS, x0.numpy()[idx.numpy()], t.numpy(), eps.numpy(), learned_model_np)
    _check(got, want)
    assert np.isnan(got["bayes"]).all()  # no law: the Bayes values are unknown


def test_chunks_do_not_change_the_rows_and_progress_counts_them() -> None:
    """Planted: a chunk's end ``start + n`` off by one or the last chunk's size wrong
    (``min(batch_size, R - start)``), progress called with a wrong count or not at all,
    or the model-call count not summed: 18 rows in chunks of 5 give the rows of one call."""
    seen: list[int] = []
    ev, x0 = _evaluator(eps_model, "beta", batch_size=5, progress=seen.append)
    idx, t, eps = _all_rows(3)
    starts: list[tuple[int, int]] = []

    def noise(start: int, n: int) -> torch.Tensor:
        starts.append((start, n))
        return eps[start:start + n]

    got = ev.run(idx, t, noise)
    want = rows(BETAS, x0.numpy()[idx.numpy()], t.numpy(), eps.numpy(), eps_model_np,
                np.log(BETAS))
    _check(got, want)
    assert starts == [(0, 5), (5, 5), (10, 5), (15, 3)]
    assert seen == [5, 5, 5, 3] and ev.n_model_evals == 18


def _audit_reference(x0: np.ndarray, eps: np.ndarray, weights: np.ndarray, M: int,
                     model_np, log_s2) -> dict[str, np.ndarray]:
    """Per-example averages over M noise rows per (example, t), rows ordered as the audit
    documents them: example, then t = 1 (decoder), 2..T, then draw."""
    B = x0.shape[0]
    t = np.tile(np.repeat(np.arange(1, T + 1), M), B)
    idx = np.repeat(np.arange(B), T * M)
    r = rows(BETAS, x0[idx], t, eps, model_np, log_s2)
    w = np.tile(weights, B * T)
    per = {k: (v * w).reshape(B, T, M).sum(2) for k, v in r.items()}  # (B, T), t = 1..T
    return per


def test_monte_carlo_terms_average_the_documented_noise_stream() -> None:
    """Planted: rows built in another order (``repeat`` for ``repeat_interleave``, draws and
    slots swapped), the decoder slot dropped or put last, the draws' weights 1/M wrong, the
    noise drawn in float32 or from another stream, or the decoder omitted from a total:
    with the explicit generator, the noise of the audit is torch.randn((rows, D)) of it in
    one chunk, and every reported mean is the mean of the numpy rows on that noise."""
    x0 = torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.0], [0.1, 0.9]], dtype=torch.float64)
    M = 3
    r = elbo_terms(eps_model, x0, S, variance="beta", decoder="gaussian", n_draws=M,
                   generator=torch.Generator().manual_seed(7))
    eps = torch.randn(4 * T * M, 2, generator=torch.Generator().manual_seed(7),
                      dtype=torch.float64).numpy()
    per = _audit_reference(x0.numpy(), eps, np.full(M, 1.0 / M), M, eps_model_np,
                           np.log(BETAS))
    np.testing.assert_allclose(r.transitions, per["loss"][:, 1:].mean(0), rtol=RTOL)
    np.testing.assert_allclose(r.mse_eps, per["mse"][:, 1:].mean(0), rtol=RTOL)
    assert r.decoder_term is not None and r.total is not None
    assert r.decoder_term.nats == pytest.approx(per["loss"][:, 0].mean(), rel=RTOL)
    prior = prior_kl(BETAS, x0.numpy())
    assert r.prior.nats == pytest.approx(prior.mean(), rel=RTOL)
    np.testing.assert_allclose(r.per_example_total, prior + per["loss"].sum(1), rtol=RTOL)
    assert list(r.transitions_t) == list(range(2, T + 1))
    assert r.n_model_evals == 4 * T * M and r.mode == "monte_carlo"


@pytest.mark.parametrize(("D", "n_nodes", "batch_size"), [(1, 5, None), (2, 3, 7)])
def test_quadrature_terms_are_the_hermite_gauss_expectations(
        D: int, n_nodes: int, batch_size: int | None) -> None:
    """Planted: the node table indexed without wrapping (``% M``) or from a wrong start, its
    rows reshaped to a wrong event, chunks that restart the nodes, or the weights of the rule
    dropped: each term is E_ε over numpy's probabilists' Hermite–Gauss rule (exact here: ε̂ is
    quadratic in ε, each term a polynomial of degree 4), in chunks of 7 rows or one."""
    x0 = torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.0]], dtype=torch.float64)[:, :D]
    r = elbo_terms(eps_model, x0, S, variance="beta", decoder="gaussian", mode="quadrature",
                   n_nodes=n_nodes, batch_size=batch_size)
    z, w = hermegauss(n_nodes)
    w = w / w.sum()
    grid = np.stack(np.meshgrid(*([z] * D), indexing="ij"), -1).reshape(-1, D)
    wg = np.prod(np.stack(np.meshgrid(*([w] * D), indexing="ij"), -1).reshape(-1, D), 1)
    M = len(wg)
    eps = np.tile(grid, (3 * T, 1))
    per = _audit_reference(x0.numpy(), eps, wg, M, eps_model_np, np.log(BETAS))
    np.testing.assert_allclose(r.transitions, per["loss"][:, 1:].mean(0), rtol=1e-9)
    assert r.decoder_term is not None
    assert r.decoder_term.nats == pytest.approx(per["loss"][:, 0].mean(), rel=1e-9)
    np.testing.assert_allclose(r.per_example_total,
                               prior_kl(BETAS, x0.numpy()) + per["loss"].sum(1), rtol=1e-9)
    assert r.mode == "quadrature" and r.n_model_evals == 3 * T * M


def test_a_float32_model_output_is_cast_to_float64() -> None:
    """Planted: the model's output kept in its own dtype (``.to(torch.float64)`` dropped): a
    float32 learned log σ² (Nichol & Dhariwal 2021) would enter exp(−log σ²) in float32.
    Rows against numpy in float64 on the same float32 outputs (IEEE float32 arithmetic:
    the same bits in torch and numpy)."""

    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        x = x_t.to(torch.float32)
        return torch.cat([0.6 * x, -2.0 + 0.3 * (x * x)], 1)

    def model_np(x_t: np.ndarray, t: np.ndarray):
        x = x_t.astype(np.float32)
        lv = (np.float32(-2.0) + np.float32(0.3) * (x * x)).astype(np.float64)
        return (np.float32(0.6) * x).astype(np.float64), lv

    x0 = torch.tensor([[0.3], [1.5], [-0.7]], dtype=torch.float64)
    ev, _ = _evaluator(model, "learned", x0=x0)
    idx, t, eps = _all_rows(3)
    eps = eps[:, :1]
    got = ev.run(idx, t, lambda start, n: eps[start:start + n])
    want = rows(BETAS, x0.numpy()[idx.numpy()], t.numpy(), eps.numpy(), model_np)
    for k, v in want.items():
        np.testing.assert_allclose(got[k], v, rtol=1e-12, atol=1e-14, err_msg=k)


def test_one_example_and_no_rows() -> None:
    """Planted: D read from a second example (``x0[1]``), which a batch of one lacks, or
    an evaluation of no rows not returning empty arrays."""
    x0 = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    ev, _ = _evaluator(eps_model, "beta", x0=x0)
    idx, t, eps = _all_rows(1)
    got = ev.run(idx, t, lambda start, n: eps[start:start + n])
    _check(got, rows(BETAS, x0.numpy()[idx.numpy()], t.numpy(), eps.numpy(), eps_model_np,
                     np.log(BETAS)))
    empty = ev.run(idx[:0], t[:0], lambda start, n: eps[:0])
    assert all(v.shape == (0,) for v in empty.values())


def test_the_record_times_the_audit() -> None:
    """Planted: the elapsed time computed with a wrong sign."""
    import time

    t0 = time.perf_counter()
    r = elbo_terms(eps_model, torch.zeros(2, 2, dtype=torch.float64), S)
    assert 0.0 <= r.seconds <= time.perf_counter() - t0


def test_a_distributed_quadrature_audit_uses_the_quadrature_nodes() -> None:
    """Planted: ``run_distributed(ev, rows, None, ...)``: the distributed path would draw
    keyed Monte-Carlo noise instead of the Gauss-Hermite nodes, so a one-process distributed
    quadrature audit (deterministic) would no longer equal the plain one."""
    s = Schedule.linear(20, 1e-3, 0.2)
    sab = torch.from_numpy(s.one_minus_alpha_bar**0.5)

    def model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return sab[t - 1].reshape(-1, 1).to(x_t) * x_t

    x0 = torch.randn(6, 2, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    kw = {"variance": "beta", "decoder": "gaussian", "mode": "quadrature", "n_nodes": 4}
    plain = elbo_terms(model, x0, s, **kw)
    spread = elbo_terms(model, x0, s, distributed=True, **kw)
    np.testing.assert_allclose(spread.transitions, plain.transitions, rtol=1e-12, atol=1e-12)
