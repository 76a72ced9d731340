"""From per-row values to the audit's record (summarize), on hand-made rows: every mean,
standard error, bound and flag recomputed here from the rows with numpy and the paper's
formulas. Written against the survivors of mutation testing (mutation/run.py); each
docstring names the planted errors it catches."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

from ddpm_theory.audit import summarize as sm
from ddpm_theory.audit.bounds import prior_kl_closed_form
from ddpm_theory.audit.plan import Plan, plan_all, plan_explicit
from ddpm_theory.backend import Schedule, get_dataset
from ddpm_theory.backend.enums import DecoderType
from ddpm_theory.backend.process import GaussianDiffusion

B, T, M, D = 5, 4, 2, 2
DW = np.array([0.25, 0.75])  # unequal draw weights (as quadrature nodes have)
FLOOR = np.array([0.0, 0.5, 0.25, 0.125])  # per slot: the decoder, then t = 2, 3, 4
SCHEDULE = Schedule.linear(T, 1e-3, 0.2)
LAW = get_dataset("standard_gaussian", dim=2)
X = torch.tensor([[0.5, -1.0], [1.5, 0.25], [-0.75, 2.0], [0.0, -0.5], [1.0, 1.0]],
                 dtype=torch.float64)


def _prior(x: torch.Tensor) -> np.ndarray:
    """L_T = ½(ᾱ_T‖x_0‖² − Dᾱ_T − D log(1 − ᾱ_T)) per example (Ho et al. 2020, Eq. 5)."""
    ab = float(np.prod(1.0 - SCHEDULE.betas))
    sq = (x.numpy() ** 2).sum(1)
    return 0.5 * (ab * sq - D * ab - D * math.log(1.0 - ab))


def _rows(seed: int = 0) -> dict[str, np.ndarray]:
    """(B, S, M) rows, S = 4 slots (the decoder, t = 2, 3, 4): t = 2 well above its Bayes
    value, t = 3 equal to it, t = 4 below it and below its floor C_t; the decoder well
    above its Bayes value; loss = weighted + floor at every transition row."""
    g = np.random.default_rng(seed)
    weighted = g.uniform(0.5, 1.5, (B, 4, M))
    weighted[:, 3] = -g.uniform(0.2, 0.3, (B, M))
    loss = FLOOR[None, :, None] + weighted
    loss[:, 0] = g.uniform(9.0, 11.0, (B, M))
    weighted[:, 0] = 100.0  # t = 1 has no ε-form: never held to L = λ·MSE + C
    bayes = loss.copy()
    bayes[:, 0] -= 0.5 + 0.01 * g.standard_normal((B, M))
    bayes[:, 1] -= 1.0 + 0.01 * g.standard_normal((B, M))
    bayes[:, 3] += 1.0 + 0.01 * g.standard_normal((B, M))
    mse = g.uniform(1.0, 2.0, (B, 4, M))
    floor = np.broadcast_to(FLOOR[None, :, None], (B, 4, M)).copy()
    return {"loss": loss, "mse": mse, "weighted": weighted, "floor": floor, "bayes": bayes}


def _flat(rows: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v.reshape(-1) for k, v in rows.items()}


def _summarize(rows: dict[str, np.ndarray], *, plan: Any = None, variance: str = "beta",
               law: Any = LAW, dec: DecoderType = DecoderType.GAUSSIAN, bayes: bool = True,
               prior: np.ndarray | None = None, **kw: Any) -> Any:
    diffusion = GaussianDiffusion(SCHEDULE, "eps", variance)
    return sm.summarize(_flat(rows), plan or plan_all(B, T), DW, X, SCHEDULE, diffusion, dec,
                        law, _prior(X) if prior is None else prior,
                        mode=kw.get("mode", "monte_carlo"), bayes=bayes,
                        false_alarm=kw.get("false_alarm", 0.01), n_model_evals=123,
                        seconds=4.5)


def _mean_se(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return a.mean(0), a.std(0, ddof=1) / math.sqrt(a.shape[0])


def _slot(rows: dict[str, np.ndarray], k: str) -> np.ndarray:
    """(B, S): the draws of each (example, slot) averaged with their weights."""
    return (rows[k] * DW).sum(-1)


def test_terms_bounds_and_totals_of_every_transition() -> None:
    """Planted: the draws not weighted by their weights, the decoder slot counted as a
    transition, a mean or stderr over the wrong axis, λ_t not β_t²/(2σ_t²α_t(1 − ᾱ_t)),
    the floor or ε-MSE of another t, L_T not its closed form, the total not L_T + L_0 +
    Σ L_(t-1) per example, the Bayes total, the gaps or the entropy gap (paired with
    −log N(x_0; 0, I)) wrong, a field of the record passed another value."""
    rows = _rows()
    r = _summarize(rows, prior=_prior(X) + np.array([0.0, 1e-12, -3e-12, 0.0, 2e-12]))
    loss, bay = _slot(rows, "loss"), _slot(rows, "bayes")
    mean, se = _mean_se(loss[:, 1:])
    np.testing.assert_array_equal(r.transitions_t, [2, 3, 4])
    np.testing.assert_allclose(r.transitions, mean, rtol=1e-13)
    np.testing.assert_allclose(r.transitions_stderr, se, rtol=1e-10)
    np.testing.assert_array_equal(r.transitions_n, [B] * 3)
    np.testing.assert_allclose(r.variance_floor, FLOOR[1:], rtol=1e-13)
    mse, mse_se = _mean_se(_slot(rows, "mse")[:, 1:])
    np.testing.assert_allclose(r.mse_eps, mse, rtol=1e-13)
    np.testing.assert_allclose(r.mse_eps_stderr, mse_se, rtol=1e-10)
    beta = np.array(SCHEDULE.betas)
    alpha_bar = np.cumprod(1.0 - beta)
    lam = beta**2 / (2 * beta * (1 - beta) * (1 - alpha_bar))  # σ_t² = β_t
    np.testing.assert_allclose(r.lambda_t, lam[1:], rtol=1e-12)
    b_mean, b_se = _mean_se(bay[:, 1:])
    g_mean, g_se = _mean_se(loss[:, 1:] - bay[:, 1:])
    np.testing.assert_allclose(r.bayes, b_mean, rtol=1e-13)
    np.testing.assert_allclose(r.bayes_stderr, b_se, rtol=1e-10)
    np.testing.assert_allclose(r.gap, g_mean, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(r.gap_stderr, g_se, rtol=1e-10, atol=1e-15)
    prior = _prior(X)
    _value_is(r.prior, prior)
    assert r.prior_check == pytest.approx(3e-12, abs=1e-15)  # max |L_T(torch) - closed form|
    _value_is(r.decoder_term, loss[:, 0])
    _value_is(r.decoder_bayes, bay[:, 0])
    _value_is(r.decoder_gap, loss[:, 0] - bay[:, 0])
    total, total_b = prior + loss.sum(1), prior + bay.sum(1)
    _value_is(r.total, total)
    np.testing.assert_allclose(r.per_example_total, total, rtol=1e-13)
    _value_is(r.total_bayes, total_b)
    _value_is(r.total_gap, total - total_b)
    nll = 0.5 * (X.numpy() ** 2).sum(1) + math.log(2 * math.pi)  # −log N(x_0; 0, I), D = 2
    assert r.entropy == pytest.approx(1 + math.log(2 * math.pi), rel=1e-14)  # (D/2) log 2πe
    assert r.entropy_kind == "differential"
    _value_is(r.entropy_gap, total - nll)
    assert (r.D, r.T, r.n_examples, r.mode, r.timesteps, r.n_timesteps) == (
        D, T, B, "monte_carlo", "all", 3)
    assert (r.parameterization, r.variance, r.decoder) == ("eps", "beta", "gaussian")
    assert (r.n_model_evals, r.seconds, r.false_alarm, r.proposal) == (123, 4.5, 0.01, None)
    assert r.respaced_timesteps is None and r.notes == ()
    resid = np.abs(rows["loss"] - rows["weighted"] - rows["floor"])[:, 1:]
    assert r.lsimple_residual == (resid / (np.abs(rows["loss"][:, 1:]) + D)).max() < 1e-15


def _value_is(v: Any, per_example: np.ndarray) -> None:
    mean, se = _mean_se(np.asarray(per_example)[:, None])
    assert v.nats == pytest.approx(float(mean[0]), rel=1e-13, abs=1e-15)
    assert v.stderr == pytest.approx(float(se[0]), rel=1e-10, abs=1e-15)
    assert v.n == len(per_example)


def test_flags_groups_and_the_departures_gap() -> None:
    """Planted: a comparison made against another bound or with another stderr, a
    violation filed as a departure (or the reverse), the z threshold not shared by the
    2·(T − 1) + 2 + 2 + 1 comparisons made, the ranges of t or their flagged counts
    wrong, the departures' gap not the paired per-example sum over the flagged t and L_0."""
    rows = _rows()
    r = _summarize(rows)
    assert r.z == pytest.approx(stats.norm.isf(0.01 / 11), rel=1e-12)
    loss, bay = _slot(rows, "loss"), _slot(rows, "bayes")
    assert [(f.kind, f.term, f.t) for f in r.violations] == [
        ("below_floor", "L_(t-1)", 4), ("below_bayes", "L_(t-1)", 4)]
    assert [(f.kind, f.term, f.t) for f in r.departures] == [
        ("above_bayes", "L_(t-1)", 2), ("above_bayes", "L_0", None), ("above_bayes", "total", None)]
    floor_flag, bayes_flag = r.violations
    # a flag shows the very number of the term's row (not the bound plus the gap)
    assert bayes_flag.value == r.transitions[2] and r.departures[0].value == r.transitions[0]
    assert any(r.bayes[j] + r.gap[j] != r.transitions[j] for j in (0, 2))
    assert (floor_flag.value, floor_flag.bound, floor_flag.stderr, floor_flag.z) == (
        pytest.approx(loss[:, 3].mean(), rel=1e-13), 0.125, 0.0, -math.inf)
    gap, gap_se = _mean_se(loss[:, 1:] - bay[:, 1:])
    for f, j in ((bayes_flag, 2), (r.departures[0], 0)):
        assert f.value == pytest.approx(loss[:, j + 1].mean(), rel=1e-13)
        assert f.bound == pytest.approx(bay[:, j + 1].mean(), rel=1e-13)
        assert f.stderr == pytest.approx(gap_se[j], rel=1e-10)
        assert f.z == pytest.approx(gap[j] / gap_se[j], rel=1e-10)
    prior = _prior(X)
    for f, a, b in ((r.departures[1], loss[:, 0], bay[:, 0]),
                    (r.departures[2], prior + loss.sum(1), prior + bay.sum(1))):
        d, d_se = _mean_se((a - b)[:, None])
        assert f.value == pytest.approx(a.mean(), rel=1e-13)
        assert f.bound == pytest.approx(b.mean(), rel=1e-13)
        assert f.stderr == pytest.approx(d_se[0], rel=1e-10)
        assert f.z == pytest.approx(d[0] / d_se[0], rel=1e-10)
    assert [(g.t_lo, g.t_hi, g.n_flagged) for g in r.groups] == [(2, 2, 1), (3, 3, 0), (4, 4, 1)]
    for j, g in enumerate(r.groups):
        _value_is(g.value, loss[:, j + 1])
        _value_is(g.bayes, bay[:, j + 1])
        _value_is(g.gap, loss[:, j + 1] - bay[:, j + 1])
        _value_is(g.floor, np.full(B, FLOOR[j + 1]))
    _value_is(r.departure_gap, (loss[:, 1] - bay[:, 1]) + (loss[:, 0] - bay[:, 0]))
    assert not r.ok


def test_each_comparison_gets_its_skewness_and_count(monkeypatch) -> None:
    """Planted: the skewness of a gap (which moves the skew-corrected thresholds) or the
    number of its summands not passed on, or taken from another quantity."""
    calls: list[tuple[str, int | None, float, int]] = []
    real = sm.compare

    def recording(term: str, t: int | None, *args: Any, **kw: Any) -> Any:
        calls.append((term, t, kw.get("skewness", 0.0), kw.get("n", 0)))
        return real(term, t, *args, **kw)

    monkeypatch.setattr(sm, "compare", recording)
    rows = _rows()
    _summarize(rows)
    loss, bay = _slot(rows, "loss"), _slot(rows, "bayes")
    prior = _prior(X)
    skew = [stats.skew(loss[:, j] - bay[:, j]) for j in (1, 2, 3)]
    nll = 0.5 * (X.numpy() ** 2).sum(1) + math.log(2 * math.pi)
    want = [("L_(t-1)", 2, 0.0, 0), ("L_(t-1)", 2, skew[0], B), ("L_(t-1)", 3, 0.0, 0),
            ("L_(t-1)", 3, 0.0, B), ("L_(t-1)", 4, 0.0, 0), ("L_(t-1)", 4, skew[2], B),
            ("L_0", None, stats.skew(loss[:, 0] - bay[:, 0]), B),
            ("total", None, stats.skew(loss.sum(1) - bay.sum(1)), B),
            ("total", None, stats.skew(prior + loss.sum(1) - nll), B)]
    assert [c[:2] + (c[3],) for c in calls] == [w[:2] + (w[3],) for w in want]
    np.testing.assert_allclose([c[2] for c in calls], [w[2] for w in want], rtol=1e-6,
                               atol=1e-9)
    assert abs(skew[0]) > 0.05 and abs(skew[2]) > 0.05  # not a vacuous comparison


def test_learned_variance_weights_are_ratios() -> None:
    """Planted: λ_t of a learned variance not the ratio of the mean weighted term to the
    mean ε-MSE (per t), or not 0 where the ε-MSE is 0."""
    rows = _rows()
    rows["mse"][:, 2] = 0.0  # t = 3: no ε error, λ_t reported as 0
    rows["mse"][:, 1] *= 0.25  # t = 2: a mean ε-MSE below 1 still divides
    r = _summarize(rows, variance="learned")
    w, mse = _slot(rows, "weighted")[:, 1:].mean(0), _slot(rows, "mse")[:, 1:].mean(0)
    np.testing.assert_allclose(r.lambda_t, [w[0] / mse[0], 0.0, w[2] / mse[2]], rtol=1e-13)
    assert r.variance == "learned"


def test_without_bayes_values() -> None:
    """Planted: Bayes values, gaps, Bayes totals or a departures' gap reported without a
    law that gives them; the threshold not shared by the one comparison left (the
    entropy)."""
    rows = _rows()
    r = _summarize(rows, bayes=False)
    assert r.bayes is r.bayes_stderr is r.gap is r.gap_stderr is None
    assert r.decoder_bayes is r.decoder_gap is r.total_bayes is r.total_gap is None
    assert r.departures == () and r.departure_gap is None
    assert all(g.bayes is None and g.gap is None for g in r.groups)
    assert r.z == pytest.approx(stats.norm.isf(0.01), rel=1e-12)
    assert [(f.kind, f.t) for f in r.violations] == [("below_floor", 4)]


def test_a_decoder_without_a_bayes_value() -> None:
    """Planted: a non-finite Bayes decoder value (the discretised decoder has no closed
    form) kept, so the decoder gap and the Bayes total become NaN; the comparisons not
    recounted (2·3 + 1)."""
    rows = _rows()
    rows["bayes"][2, 0, 1] = math.nan
    r = _summarize(rows)
    assert r.decoder_bayes is None and r.decoder_gap is None and r.total_bayes is None
    assert r.total_gap is None and r.decoder_term is not None and r.total is not None
    assert r.z == pytest.approx(stats.norm.isf(0.01 / 7), rel=1e-12)
    assert [(f.term, f.t) for f in r.departures] == [("L_(t-1)", 2)]
    loss, bay = _slot(rows, "loss"), _slot(rows, "bayes")
    _value_is(r.departure_gap, loss[:, 1] - bay[:, 1])  # L_0 is not among them


def test_an_explicit_list_without_the_decoder() -> None:
    """Planted: the first slot taken for the decoder when the plan has none, a total or
    ranges formed from a plan that estimates no total, the L_simple check run on the
    wrong rows."""
    plan = plan_explicit(B, T, [2, 4])
    rows = {k: v[:, [1, 3]] for k, v in _rows().items()}
    r = _summarize(rows, plan=plan)
    assert r.decoder_term is None and r.total is None and r.groups == ()
    assert r.entropy_gap is None and r.per_example_total is None and r.timesteps == "explicit"
    np.testing.assert_array_equal(r.transitions_t, [2, 4])
    np.testing.assert_allclose(r.transitions, _slot(rows, "loss").mean(0), rtol=1e-13)
    assert r.z == pytest.approx(stats.norm.isf(0.01 / 4), rel=1e-12)
    assert r.n_timesteps == 2
    full = _rows()
    with_decoder = _summarize({k: v[:, [0, 2]] for k, v in full.items()},
                              plan=plan_explicit(B, T, [1, 3]))
    assert with_decoder.total is None and with_decoder.decoder_term is not None
    _value_is(with_decoder.decoder_term, _slot(full, "loss")[:, 0])
    only = _summarize({k: v[:, :1] for k, v in full.items()}, plan=plan_explicit(B, T, [1]))
    assert only.transitions.size == 0 and only.lsimple_residual == 0.0  # no row to check
    assert only.violations == () and only.z == pytest.approx(stats.norm.isf(0.01 / 2))


def _grid_law(has_density: bool) -> SimpleNamespace:
    """A law on a grid of 5 levels known by its Shannon entropy 1.25 ± 0.125 nats."""
    return SimpleNamespace(
        has_entropy=True, has_density=has_density, levels=5, has_posterior_mean=False,
        entropy=lambda: SimpleNamespace(value=1.25, abs_error=0.125, kind="Shannon"),
        log_prob=lambda x: torch.zeros(x.shape[0], dtype=torch.float64))


@pytest.mark.parametrize("has_density", [False, True])
def test_entropy_floor_of_a_law_on_a_grid(has_density: bool) -> None:
    """Planted: the entropy margin of a law on a grid (discretised decoder) not total − H +
    (the entropy's own error), or paired with its density (``and`` -> ``or``: only the
    continuous decoder is), its stderr not the total's; the decoder not passed to the
    entropy floor (a continuous decoder on grid data has none)."""
    law = _grid_law(has_density)
    rows = _rows()
    assert _summarize(rows, law=law).entropy is None  # continuous decoder on a grid
    r = _summarize(rows, law=law, dec=DecoderType.DISCRETIZED)
    total = _prior(X) + _slot(rows, "loss").sum(1)
    mean, se = _mean_se(total[:, None])
    assert (r.entropy, r.entropy_kind, r.decoder) == (1.25, "Shannon", "discretized")
    assert r.entropy_gap.nats == pytest.approx(mean[0] - 1.25 + 0.125, rel=1e-13)
    assert r.entropy_gap.stderr == pytest.approx(se[0], rel=1e-10) and r.entropy_gap.n == B


def test_mismatch_flags_name_their_size() -> None:
    """Planted: L_T from torch compared with its closed form at another tolerance
    (1e-10·(1 + max L_T)) or not at all, the L_simple residual not relative to |L| + D,
    its rows not those with t ≥ 2 and a finite ε-form, its flag's fields or message wrong."""
    prior = _prior(X)
    tol = 1e-10 * (1 + prior.max())
    ok = _summarize(_rows(), prior=prior + np.array([0, 0, 0.9 * tol, 0, 0]))
    assert all(f.kind != "prior_mismatch" for f in ok.violations)
    bad = _summarize(_rows(), prior=prior + np.array([0, 0, 1.2 * tol, 0, 0]))
    (f,) = [f for f in bad.violations if f.kind == "prior_mismatch"]
    assert (f.term, f.t, f.stderr, f.z) == ("L_T", None, 0.0, math.inf)
    assert f.value == pytest.approx(prior.mean() + 0.24 * tol, rel=1e-14)
    assert f.bound == pytest.approx(prior.mean(), rel=1e-14)
    assert f.message == (f"L_T from the KL of q(x_T|x_0) differs from its closed form by "
                         f"{1.2 * tol:.3g} nats (> {tol:.3g})")
    rows = _rows()
    rows["weighted"][1, 2, 0] = math.nan  # t = 3 at α_t = 0 would have no ε-form: skipped
    rows["loss"][3, 1, 1] += 2e-9 * (abs(rows["loss"][3, 1, 1]) + D)
    r = _summarize(rows)
    (f,) = [f for f in r.violations if f.kind == "lsimple_mismatch"]
    assert r.lsimple_residual == pytest.approx(2e-9, rel=1e-6)
    assert (f.term, f.t, f.bound, f.stderr, f.z) == ("L_(t-1)", None, 0.0, 0.0, math.inf)
    assert f.value == r.lsimple_residual
    assert f.message == (f"L_(t-1) != lambda_t*MSE_t + C_t pointwise: relative residual "
                         f"{r.lsimple_residual:.3g} > 1e-09")
    rows["loss"][3, 1, 1] -= 1.5e-9 * (abs(rows["loss"][3, 1, 1]) + D)  # 5e-10: below 1e-9
    assert all(f.kind != "lsimple_mismatch" for f in _summarize(rows).violations)
    assert sm.PRIOR_RTOL == 1e-10 and sm.LSIMPLE_RTOL == 1e-9


def test_quadrature_mode_is_recorded() -> None:
    """Planted: the mode passed to the record replaced."""
    assert _summarize(_rows(), mode="quadrature").mode == "quadrature"


def test_violations_of_the_decoder_the_total_and_the_entropy() -> None:
    """Planted: a below-Bayes L_0 or total filed as a departure (or under another kind), its
    flag showing the bound plus the gap instead of the term's own value, the entropy
    comparison made against the entropy's error instead of the entropy, or under another
    kind."""
    rows = _rows()
    rows["bayes"][:, 0] = rows["loss"][:, 0] + 0.5 + 0.01 * np.arange(B * M).reshape(B, M)
    rows["bayes"][:, 1] = rows["loss"][:, 1]  # t = 2 no longer above: the total is below
    r = _summarize(rows)
    assert [(f.kind, f.term, f.t) for f in r.violations] == [
        ("below_floor", "L_(t-1)", 4), ("below_bayes", "L_(t-1)", 4),
        ("below_bayes", "L_0", None), ("below_bayes", "total", None)]
    dec, tot = r.violations[2:]
    assert dec.value == r.decoder_term.nats and tot.value == r.total.nats
    assert (dec.bound, tot.bound) == (r.decoder_bayes.nats, r.total_bayes.nats)
    assert (r.decoder_bayes.nats + r.decoder_gap.nats != r.decoder_term.nats
            or r.total_bayes.nats + r.total_gap.nats != r.total.nats)
    assert r.departures == () and r.departure_gap is None  # nothing above: no shared gap
    law = _grid_law(False)
    law.entropy = lambda: SimpleNamespace(value=100.0, abs_error=0.125, kind="Shannon")
    r = _summarize(_rows(), law=law, dec=DecoderType.DISCRETIZED)
    (f,) = [f for f in r.violations if f.term == "total"]
    assert (f.kind, f.bound, f.t) == ("below_entropy", 100.0, None)
    assert f.value == pytest.approx(r.total.nats + 0.125, rel=1e-13)


def test_the_proposal_of_the_plan_is_recorded() -> None:
    """Planted: the importance proposal of the plan not passed to the record."""
    base = plan_all(B, T)
    proposal = np.array([0.5, 0.25, 0.25])
    plan = Plan("importance", base.t, base.w, True, True, proposal)
    r = _summarize(_rows(), plan=plan)
    assert r.proposal is proposal and r.timesteps == "importance"


def test_tolerances_are_inclusive(monkeypatch) -> None:
    """Planted: ``lsimple <= LSIMPLE_RTOL`` or ``prior_check <= tol`` -> ``<``: a residual
    exactly at its tolerance is not a mismatch."""
    rows = _rows()
    rows["loss"][2, 2, 1], rows["weighted"][2, 2, 1], rows["floor"][2, 2, 1] = 0.0, -2e-9, 0.0
    r = _summarize(rows)  # |0 − (−2e-9) − 0| / (|0| + 2) = 1e-9 exactly
    assert r.lsimple_residual == 1e-9 and all(f.kind != "lsimple_mismatch" for f in r.violations)
    prior = prior_kl_closed_form((X.numpy() ** 2).sum(1), D, SCHEDULE)
    torch_prior = prior.copy()
    torch_prior[1] += 2.0**-30
    assert torch_prior[1] - prior[1] == 2.0**-30
    m = 1.0 + float(np.abs(prior).max())
    candidates = [np.nextafter(2.0**-30 / m, d) for d in (0.0, np.inf)] + [2.0**-30 / m]
    rtol = next(c for c in candidates if c * m == 2.0**-30)  # tol = 2^-30 exactly
    monkeypatch.setattr(sm, "PRIOR_RTOL", float(rtol))
    r = _summarize(_rows(), prior=torch_prior)
    assert r.prior_check == 2.0**-30 and all(f.kind != "prior_mismatch" for f in r.violations)
    torch_prior[1] += 2.0**-30
    assert any(f.kind == "prior_mismatch" for f in _summarize(_rows(), prior=torch_prior)
               .violations)
