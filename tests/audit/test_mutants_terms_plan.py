"""Timestep plans of an audit (stratified, importance, explicit, the pilot) against the
sampling rules their docstrings state, recomputed here in numpy.

Written against the survivors of mutation testing (mutation/run.py): each docstring names
the planted errors it catches.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from mutants_terms_reference import prior_kl, rows

import ddpm_theory.audit.plan as plan_module
from ddpm_theory.audit import elbo_terms
from ddpm_theory.audit.plan import (
    pilot_grid,
    plan_all,
    plan_explicit,
    plan_importance,
    plan_stratified,
    proposal_from_pilot,
)
from ddpm_theory.backend import Schedule

BETAS = np.array([0.02, 0.05, 0.1, 0.2, 0.3, 0.45, 0.5])
S = Schedule.from_betas(BETAS)
T = len(BETAS)
X0 = torch.tensor([[0.3, -1.2], [1.5, 0.4], [-0.7, 0.0], [0.1, 0.9]], dtype=torch.float64)


def eps_model_np(x_t: np.ndarray, t: np.ndarray) -> np.ndarray:
    return 0.6 * x_t + 0.05 * t[:, None] + 0.1 * x_t**2


def eps_model(x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return 0.6 * x_t + 0.05 * t.reshape(-1, 1).to(x_t) + 0.1 * x_t**2


def _losses(x0: np.ndarray, t: np.ndarray, eps: np.ndarray) -> np.ndarray:
    """Per-row L_{t−1} (L_0 at t = 1) of eps_model with σ² = β, rows (example, slot)."""
    B, S_ = t.shape
    return rows(BETAS, np.repeat(x0, S_, 0), t.reshape(-1), eps, eps_model_np,
                np.log(BETAS))["loss"].reshape(B, S_)


def _systematic(p: np.ndarray, u: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
    """t_k = F⁻¹((k + U)/K), the first t whose CDF exceeds the point, w = 1/(K π(t))."""
    p = p / p.sum()
    cdf = np.cumsum(p)
    pts = (np.arange(K)[None, :] + u) / K
    j = np.array([[min(int(np.sum(cdf <= v)), len(p) - 1) for v in row] for row in pts])
    return j + 2, 1.0 / (K * p[j])


def test_stratified_audit_follows_its_strata() -> None:
    """Planted: strata of wrong edges (``linspace(2, T + 1, K + 1)`` shifted or not rounded),
    a draw that is not uniform in its stratum (floor/clamp changed), weights other than the
    stratum sizes, K not capped at T − 1, or the plan's draws not taken from the audit's
    generator before its noise: the per-example total is L_T + L_0 + Σ_k |S_k| L_{t_k−1}
    with t_k = lo_k + ⌊U |S_k|⌋ from U = torch.rand of the generator."""
    K = 3
    r = elbo_terms(eps_model, X0, S, timesteps="stratified", n_timesteps=K,
                   generator=torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(4)
    u = torch.rand(4, K, generator=g, dtype=torch.float64).numpy()
    lo, size = np.array([2, 4, 6]), np.array([2, 2, 2])  # 2..7 in three strata of two
    t = np.concatenate([np.ones((4, 1), dtype=np.int64), lo + np.floor(u * size)], 1)
    eps = torch.randn(4 * (K + 1), 2, generator=g, dtype=torch.float64).numpy()
    loss = _losses(X0.numpy(), t.astype(np.int64), eps)
    want = prior_kl(BETAS, X0.numpy()) + loss[:, 0] + (size * loss[:, 1:]).sum(1)
    np.testing.assert_allclose(r.per_example_total, want, rtol=1e-10)
    assert r.timesteps == "stratified" and r.n_timesteps == K


@pytest.mark.parametrize("K", [1, 4, 6, 9])
def test_stratified_plan_covers_two_to_T(K: int) -> None:
    """Planted: strata that leave a gap or overlap, sizes that differ by more than one, or K
    not capped at T − 1 = 6: each t_k lies in its stratum and the weights sum to T − 1."""
    p = plan_stratified(50, T, K, torch.Generator().manual_seed(1))
    k = min(K, T - 1)
    assert p.t.shape == (50, k) and p.w.shape == (50, k) and p.w.dtype == torch.float64
    w = p.w[0].numpy()
    assert w.sum() == T - 1 and w.max() - w.min() <= 1
    lo = 2 + np.concatenate([[0], np.cumsum(w)[:-1]])
    t = p.t.numpy()
    assert (t >= lo).all() and (t < lo + w).all()
    if k == T - 1:  # one t per stratum of size 1: every transition once
        assert (t == np.arange(2, T + 1)).all()


def test_stratified_draw_near_one_stays_in_its_stratum(monkeypatch) -> None:
    """Planted: the clamp to |S_k| − 1 dropped or moved: a uniform draw that rounds up to
    the stratum's end (U |S_k| = |S_k| in float64) must stay in the stratum."""
    monkeypatch.setattr(plan_module.torch, "rand",
                        lambda *a, **k: torch.ones(a[0], a[1], dtype=torch.float64))
    p = plan_stratified(2, T, 3, torch.Generator())
    assert (p.t.numpy() == [[3, 5, 7], [3, 5, 7]]).all()


def test_importance_audit_with_a_given_proposal() -> None:
    """Planted: the proposal not normalised, the systematic points (k + U)/K wrong, the
    inverse CDF off by one (``side='left'``, ``j + 1``), weights not 1/(K π(t)), or the
    proposal not kept in the record: the per-example total against numpy."""
    K = 3
    prop = np.array([5.0, 1.0, 1.0, 2.0, 0.5, 0.5])
    r = elbo_terms(eps_model, X0, S, timesteps="importance", n_timesteps=K, proposal=prop,
                   generator=torch.Generator().manual_seed(6))
    g = torch.Generator().manual_seed(6)
    u = torch.rand(4, 1, generator=g, dtype=torch.float64).numpy()
    tk, w = _systematic(prop, u, K)
    t = np.concatenate([np.ones((4, 1), dtype=np.int64), tk], 1)
    eps = torch.randn(4 * (K + 1), 2, generator=g, dtype=torch.float64).numpy()
    loss = _losses(X0.numpy(), t, eps)
    want = prior_kl(BETAS, X0.numpy()) + loss[:, 0] + (w * loss[:, 1:]).sum(1)
    np.testing.assert_allclose(r.per_example_total, want, rtol=1e-10)
    assert r.proposal is not None
    np.testing.assert_allclose(r.proposal, prop / prop.sum(), rtol=1e-15)


def test_importance_draw_at_the_top_of_the_cdf(monkeypatch) -> None:
    """Planted: the cap of the inverse CDF at the last t (``minimum(..., T − 2)``) dropped
    or moved: (K − 1 + U)/K rounds to 1.0 for U = 1 − 2⁻⁵³, the largest draw of
    torch.rand, and must give t = T with weight 1/(K π(T))."""
    monkeypatch.setattr(plan_module.torch, "rand",
                        lambda *a, **k: torch.full(a, 1.0 - 2.0**-53, dtype=torch.float64))
    p = np.full(T - 1, 1.0 / (T - 1))
    plan = plan_importance(1, T, 2, p, torch.Generator())
    assert plan.t.tolist() == [[4, T]]
    np.testing.assert_allclose(plan.w.numpy(), [[(T - 1) / 2, (T - 1) / 2]], rtol=1e-14)


def test_importance_points_on_cdf_steps(monkeypatch) -> None:
    """Planted: ``side='right'`` -> ``'left'`` in the inverse CDF, or the points (k + U)/K
    shifted: with U = 0 (the smallest draw of torch.rand) the K = 4 points 0, 1/4, 1/2, 3/4
    fall exactly on steps of F = (1, 2, 4, 8, 12, 16)/16, and F⁻¹(v), the first t with
    F(t) > v, gives t = 2, 5, 6, 7."""
    monkeypatch.setattr(plan_module.torch, "rand",
                        lambda *a, **k: torch.zeros(a, dtype=torch.float64))
    p = np.array([1.0, 1.0, 2.0, 4.0, 4.0, 4.0])
    plan = plan_importance(1, T, 4, p, torch.Generator())
    assert plan.t.tolist() == [[2, 5, 6, 7]]
    np.testing.assert_allclose(plan.w.numpy(), 16.0 / (4 * p[[0, 3, 4, 5]])[None], rtol=1e-14)


@pytest.mark.parametrize(("proposal", "shape"), [
    (np.ones(T - 2), "(5,)"),
    (np.array([1.0, 1.0, np.inf, 1.0, 1.0, 1.0]), "(6,)"),
    (np.array([1.0, 1.0, 0.0, 1.0, 1.0, 1.0]), "(6,)"),
    (np.array([1.0, 1.0, -1.0, 1.0, 1.0, 1.0]), "(6,)"),
])
def test_a_bad_proposal_is_named(proposal: np.ndarray, shape: str) -> None:
    """Planted: the proposal check loosened (``<`` for ``<=``, ``and`` for ``or``) or its
    message garbled."""
    with pytest.raises(ValueError, match="^" + re.escape(
            f"an importance proposal needs T - 1 = {T - 1} positive finite masses for "
            f"t = 2..T; got shape {shape}.") + "$"):
        plan_importance(2, T, 2, proposal, torch.Generator())


@pytest.mark.parametrize("K", [0, -1, True, 1.5])
@pytest.mark.parametrize("kind", ["stratified", "importance"])
def test_a_bad_slot_count_is_named(K, kind: str) -> None:
    """Planted: the slot-count check dropped, loosened or its message garbled."""
    with pytest.raises(ValueError, match="^" + re.escape(
            f"the number of sampled timesteps must be a positive integer; got {K!r}.") + "$"):
        if kind == "stratified":
            plan_stratified(2, T, K, torch.Generator())
        else:
            plan_importance(2, T, K, np.ones(T - 1), torch.Generator())


def _pilot_proposal_np(m2: np.ndarray, grid: np.ndarray, T_: int) -> np.ndarray:
    """π ∝ √m₂ interpolated linearly in log t-wise between grid points (a zero keeps 1e-3
    of the smallest positive root), normalised, mixed with 10 % uniform mass."""
    root = np.sqrt(np.clip(m2, 0.0, None))
    floor = root[root > 0].min() * 1e-3
    lr = np.log(np.maximum(root, floor))
    out = np.empty(T_ - 1)
    for n, t in enumerate(range(2, T_ + 1)):
        k = min(int(np.searchsorted(grid, t, side="right")) - 1, len(grid) - 2)
        f = (t - grid[k]) / (grid[k + 1] - grid[k])
        out[n] = np.exp((1 - f) * lr[k] + f * lr[k + 1])
    return 0.9 * out / out.sum() + 0.1 / (T_ - 1)


def test_proposal_from_pilot_interpolates_in_log() -> None:
    """Planted: √m₂ not taken, interpolation of √m₂ itself (not its log), the 1e-3 floor of
    a zero pilot value changed, negative estimates not treated as zero, the normalisation or
    the defensive mix (10 % uniform) changed."""
    grid = np.array([2, 4, 9, 12])
    m2 = np.array([16.0, 0.0, 1.0, -0.5])
    got = proposal_from_pilot(12, grid, m2)
    np.testing.assert_allclose(got, _pilot_proposal_np(m2, grid, 12), rtol=1e-12)
    assert got.sum() == pytest.approx(1.0, abs=1e-15)


def test_a_zero_pilot_gives_the_uniform_proposal() -> None:
    """Planted: the all-zero case not uniform (or dividing by zero)."""
    np.testing.assert_array_equal(proposal_from_pilot(5, np.array([2, 5]), np.zeros(2)),
                                  np.full(4, 0.25))


def test_pilot_grid_is_geometric_then_linear() -> None:
    """Planted: the split of ``size`` between the geometric and the linear part, the end
    points 2, 3 and T, rounding, or the range filter changed."""
    Tn = 1000
    want = np.unique(np.concatenate([[2, 3, Tn], np.round(np.geomspace(2, Tn, 24)),
                                     np.round(np.linspace(2, Tn, 24))]).astype(int))
    np.testing.assert_array_equal(pilot_grid(Tn), want)
    # size 10: 2·(500^(1/4))^k = 2, 9.5, 44.7, 211.5, 1000 and 2, 251.5, 501, 750.5, 1000
    assert pilot_grid(Tn, size=10).tolist() == [2, 3, 9, 45, 211, 252, 501, 750, 1000]
    np.testing.assert_array_equal(pilot_grid(2), [2])  # 3 > T is left out
    np.testing.assert_array_equal(pilot_grid(3), [2, 3])
    np.testing.assert_array_equal(pilot_grid(10, size=0), [2, 3, 10])  # always 2, 3 and T


def test_importance_audit_fits_its_proposal_on_a_pilot() -> None:
    """Planted: the pilot run on a wrong number of examples (``pilot_examples`` ignored or
    ``max`` for ``min``), its rows ordered otherwise (example-major: each pilot example at
    every grid t), m₂ a mean over t instead of over examples, the Bayes law not restored
    after the pilot, or the pilot noise not drawn first from the audit's generator: the
    proposal recorded against numpy."""
    from ddpm_theory.backend.data import standard_gaussian

    P = 3
    r = elbo_terms(eps_model, X0, S, timesteps="importance", n_timesteps=2, pilot_examples=P,
                   data=standard_gaussian(2), generator=torch.Generator().manual_seed(8))
    grid = np.arange(2, T + 1)  # for T = 7 the pilot grid is every t
    g = torch.Generator().manual_seed(8)
    eps = torch.randn(P * len(grid), 2, generator=g, dtype=torch.float64).numpy()
    loss = _losses(X0.numpy()[:P], np.tile(grid, (P, 1)), eps)
    assert r.proposal is not None
    np.testing.assert_allclose(r.proposal, _pilot_proposal_np((loss**2).mean(0), grid, T),
                               rtol=1e-10)
    assert r.bayes is not None and np.isfinite(r.bayes).all()


def test_explicit_timesteps_in_any_order() -> None:
    """Planted: the transitions not sorted, the decoder slot not switched by t = 1, or the
    error texts garbled."""
    r = elbo_terms(eps_model, X0, S, timesteps=[6, 3], generator=torch.Generator())
    assert list(r.transitions_t) == [3, 6] and r.decoder_term is None and r.total is None
    p = plan_explicit(2, T, [1, 7, 2])
    assert p.t.tolist() == [[2, 7], [2, 7]] and p.decoder and p.estimates_total is False
    assert p.w.dtype == torch.float64 and p.w.shape == (2, 2) and (p.w == 1.0).all()
    with pytest.raises(ValueError, match="^an explicit list of timesteps must not be empty.$"):
        plan_explicit(2, T, [])
    with pytest.raises(ValueError, match=r"^timesteps must be distinct; got \[2, 3, 2\].$"):
        plan_explicit(2, T, [2, 3, 2])
    with pytest.raises(ValueError, match="^" + re.escape(
            "timesteps must be paper timesteps 1 <= t <= T = 7 (t = 1 is the decoder L_0, "
            "t >= 2 the KL L_(t-1)); got [0, 8, 9, -1, 10].") + "$"):
        plan_explicit(2, T, [0, 8, 2, 9, -1, 10, 11])


def test_the_record_names_the_plan() -> None:
    """Planted: the kind of a plan (``all``, ``stratified``, ``importance``, ``explicit``)
    garbled: the record reports it as ``timesteps``."""
    kw = {"generator": torch.Generator().manual_seed(0)}
    got = [elbo_terms(eps_model, X0, S, timesteps=ts, n_timesteps=2, **kw).timesteps
           for ts in ("all", "stratified", "importance", [2, 3])]
    assert got == ["all", "stratified", "importance", "explicit"]


def test_the_decoder_alone() -> None:
    """Planted: the explicit plan's timesteps built without dtype long (an empty list is a
    float tensor in torch) or t = 2 dropped from the transitions (``> 2``, ``>= 3``)."""
    r = elbo_terms(eps_model, X0, S, timesteps=[1], generator=torch.Generator())
    assert r.decoder_term is not None and r.transitions_t.size == 0
    r = elbo_terms(eps_model, X0, S, timesteps=[2], generator=torch.Generator())
    assert list(r.transitions_t) == [2] and r.decoder_term is None


def test_float32_inputs_of_the_importance_rules_are_taken_in_float64() -> None:
    """Planted: ``dtype=np.float64`` dropped from the proposal or the pilot moments (float32
    arithmetic then changes the weights and the proposal, and the weights' dtype)."""
    prop = np.array([5.0, 1.0, 1.0, 2.0, 0.5, 0.3])
    a = plan_importance(3, T, 2, prop.astype(np.float32), torch.Generator().manual_seed(1))
    b = plan_importance(3, T, 2, prop.astype(np.float32).astype(np.float64),
                        torch.Generator().manual_seed(1))
    assert a.w.dtype == torch.float64 and torch.equal(a.w, b.w) and torch.equal(a.t, b.t)
    m2 = np.array([3.3, 0.7, 1.9], dtype=np.float32)
    np.testing.assert_array_equal(proposal_from_pilot(9, np.array([2, 5, 9]), m2),
                                  proposal_from_pilot(9, np.array([2, 5, 9]),
                                                      m2.astype(np.float64)))


def test_the_all_plan_record() -> None:
    """Planted: the weights of ``all`` not float64 or not (B, T − 1) (the documented shape of
    every plan), or the plan not estimating the total."""
    p = plan_all(3, T)
    assert p.t.dtype == torch.long and p.t.tolist() == [list(range(2, T + 1))] * 3
    assert p.w.dtype == torch.float64 and p.w.shape == (3, T - 1) and (p.w == 1.0).all()
    assert p.kind == "all" and p.estimates_total is True and p.decoder is True and p.K == T - 1
