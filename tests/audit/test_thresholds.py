"""Every acceptance threshold of the audit's own consistency checks, pinned at its stated
value: an inconsistency planted just above the threshold raises the flag, one just below
raises none.

The audit states (``ddpm_theory.audit.summarize`` and ``.aggregate``):

* the L_simple relation L_{t−1} = λ_t‖ε − ε_θ‖² + C_t (Ho et al. 2020, Eqs. 8 and 12) holds
  pointwise to a relative residual 1e-9, relative to |L_{t−1}| + D;
* L_T from the torch KL equals its closed form to 1e-10 · (1 + max |L_T|) nats;
* a one-sided comparison with a bound flags when value − bound < −(z · stderr + slack)
  (or > z · stderr + slack for ``above_bayes``), slack = 1e-9 · (1 + |bound|), and z is the
  one-sided normal quantile of the false-alarm budget split evenly over the statistical
  comparisons made (union bound): z = Φ⁻¹(1 − α/m).

The thresholds are written out here as numbers, never read from the library, so that
loosening (or tightening) one in the library fails a test. The per-row values are
synthetic: each test builds rows that satisfy every relation but the one it probes.

Each test's docstring names the error it catches and, after "fails when", the plant that
was put into the library to see it fail.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from ddpm_theory.audit.bounds import prior_kl_closed_form, variance_mismatch
from ddpm_theory.audit.plan import plan_all
from ddpm_theory.audit.summarize import summarize
from ddpm_theory.backend import GaussianDiffusion, Schedule
from ddpm_theory.backend.data import standard_gaussian
from ddpm_theory.backend.enums import DecoderType

LSIMPLE_STATED = 1e-9  # relative to |L_(t-1)| + D
PRIOR_STATED = 1e-10  # relative to 1 + max |L_T|
ROUNDING_STATED = 1e-9  # relative to 1 + |bound|
JUST_ABOVE, JUST_BELOW = 1.1, 0.9
T = 4
SCHEDULE = Schedule.from_betas([0.05, 0.1, 0.2, 0.4])  # ᾱ_T ≈ 0.41: L_T of order 1


def _rows(B: int, D: int, *, loss_scale: float = 1.0) -> dict[str, np.ndarray]:
    """Consistent synthetic rows of a full audit (M = 1 draw, slot 0 = decoder): for t ≥ 2
    loss = weighted + floor exactly, floor = C_t of σ² = β; Bayes rows equal to the loss."""
    s = SCHEDULE
    floor_t = np.concatenate([[0.0], variance_mismatch(s, "beta", D)])
    t_rows = np.tile(np.arange(1, T + 1), B)
    weighted = loss_scale * (1.0 + 0.25 * np.sin(np.arange(B * T)))
    floor = floor_t[t_rows - 1]
    loss = np.where(t_rows >= 2, weighted + floor, 3.0 + 0.1 * np.cos(np.arange(B * T)))
    return {"loss": loss, "mse": weighted.copy(), "weighted": np.where(t_rows >= 2, weighted, 0.0),
            "floor": floor, "bayes": loss.copy(), "t": t_rows}


def _x(B: int, D: int) -> torch.Tensor:
    return torch.linspace(-1.5, 1.5, B * D, dtype=torch.float64).reshape(B, D)


def _summarize(res: dict[str, np.ndarray], x: torch.Tensor, *, prior_torch=None, bayes=True,
               law=None, false_alarm: float = 1e-3):
    s = SCHEDULE
    B, D = x.shape
    if prior_torch is None:
        prior_torch = prior_kl_closed_form((x**2).sum(1).numpy(), D, s)
    rows = {k: v for k, v in res.items() if k != "t"}
    return summarize(rows, plan_all(B, T), np.ones(1), x, s, GaussianDiffusion(s, "eps", "beta"),
                     DecoderType.GAUSSIAN, law, prior_torch, mode="monte_carlo", bayes=bayes,
                     false_alarm=false_alarm, n_model_evals=B * T, seconds=0.0)


def _kinds(rec) -> list[tuple[str, str, int | None]]:
    return [(f.kind, f.term, f.t) for f in (*rec.violations, *rec.departures)]


def test_consistent_rows_raise_no_flag() -> None:
    """The synthetic rows below satisfy every relation: no flag (the control of the tests
    that follow; a flag here would make their "just below" halves meaningless)."""
    x = _x(16, 3)
    assert _kinds(_summarize(_rows(16, 3), x)) == []


@pytest.mark.parametrize("D, loss_scale", [(1, 1e3), (1000, 1e-3)])
@pytest.mark.parametrize("factor", [JUST_ABOVE, JUST_BELOW])
def test_lsimple_relation_threshold_is_1e_9_of_loss_plus_D(D: int, loss_scale: float,
                                                           factor: float) -> None:
    """Residual L − (λ‖ε − ε_θ‖² + C) planted at 1.1× and 0.9× of 1e-9 · (|L| + D) in one row.
    The two regimes (|L| ≫ D and D ≫ |L|) pin the normalisation as well as the constant.
    Catches a loosened threshold (a wrong weight λ_t or floor C_t off by less than the
    looser threshold would go unflagged), a tightened one (false alarms from rounding), or
    a normalisation by |L| or D alone. Fails when LSIMPLE_RTOL = 1e-7 (loosened a
    hundredfold); when it is 5e-10; when the residual is divided by |L| alone."""
    B = 8
    res = _rows(B, D, loss_scale=loss_scale)
    r = 5 * T + 2  # example 5, t = 3: a transition row
    assert res["t"][r] == 3
    L = res["loss"][r]
    # residual δ with δ/(L + δ + D) = factor · 1e-9
    c = factor * LSIMPLE_STATED
    delta = c * (L + D) / (1 - c)
    res["loss"][r] = L + delta
    res["bayes"][r] = res["loss"][r]
    rec = _summarize(res, _x(B, D))
    assert rec.lsimple_residual == pytest.approx(c, rel=1e-6)
    flagged = ("lsimple_mismatch", "L_(t-1)", None) in _kinds(rec)
    assert flagged == (factor > 1), _kinds(rec)


@pytest.mark.parametrize("factor", [JUST_ABOVE, JUST_BELOW])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_prior_closed_form_threshold_is_1e_10_of_one_plus_prior(factor: float,
                                                               sign: float) -> None:
    """L_T from the torch KL planted off its closed form by ±1.1× and ±0.9× of
    1e-10 · (1 + max L_T) in one example. Catches a loosened threshold (a prior KL with a
    wrong ᾱ_T off by little would pass) or a one-sided check. Fails when PRIOR_RTOL = 1e-8
    (loosened a hundredfold); when the check uses the signed difference."""
    B, D = 8, 3
    x = _x(B, D)  # max L_T ≈ 1.3: the 1 + in 1 + max |L_T| matters
    s = SCHEDULE
    prior = prior_kl_closed_form((x**2).sum(1).numpy(), D, s)
    assert 1.0 < prior.max() < 2.0
    tol = PRIOR_STATED * (1.0 + prior.max())
    planted = prior.copy()
    planted[2] += sign * factor * tol
    rec = _summarize(_rows(B, D), x, prior_torch=planted)
    assert rec.prior_check == pytest.approx(factor * tol, rel=1e-4)
    flagged = ("prior_mismatch", "L_T", None) in _kinds(rec)
    assert flagged == (factor > 1), _kinds(rec)


@pytest.mark.parametrize("D", [1, 1000])
@pytest.mark.parametrize("factor", [JUST_ABOVE, JUST_BELOW])
def test_below_floor_slack_is_1e_9_of_one_plus_floor(factor: float, D: int) -> None:
    """A transition mean planted below its floor C_t by 1.1× and 0.9× of the stated slack
    1e-9 · (1 + C_t) (the comparison is deterministic: no stderr). Catches a loosened slack
    (a term below its provable floor would pass) or a missing one (rounding raises false
    alarms). C_3 ≈ 0.12 at D = 1 pins the "1 +" and the "|C_t|", C_3 ≈ 119 at D = 1000 the
    scale. Fails when ROUNDING = 1e-7; when it is 5e-10; when the slack is 1e-9 · |bound|."""
    B = 8
    res = _rows(B, D)
    at = res["t"] == 3
    floor = res["floor"][at][0]
    slack = ROUNDING_STATED * (1.0 + floor)
    res["weighted"][at] = -factor * slack  # loss = weighted + floor: L_simple still exact
    res["loss"][at] = res["weighted"][at] + res["floor"][at]
    res["bayes"][at] = res["loss"][at]
    rec = _summarize(res, _x(B, D))
    flagged = ("below_floor", "L_(t-1)", 3) in _kinds(rec)
    assert flagged == (factor > 1), _kinds(rec)


def _stated_z(false_alarm: float, m: int) -> float:
    """Φ⁻¹(1 − α/m): the one-sided normal quantile of the union-bound share."""
    return float(stats.norm.isf(false_alarm / m))


@pytest.mark.parametrize("false_alarm", [1e-3, 1e-6])
def test_flag_threshold_is_the_one_sided_union_bound_quantile(false_alarm: float) -> None:
    """z of the record: with Bayes values for every transition, L_0 and the total there are
    2(T − 1) + 2 + 2 statistical comparisons; z = Φ⁻¹(1 − α/m). Catches a two-sided quantile
    for one-sided comparisons (z too large: real departures missed), a budget not split over
    the comparisons (too many false alarms), or a split over the wrong count.
    Fails when flag_threshold passes two_sided=True; when it splits over 1 comparison."""
    rec = _summarize(_rows(8, 2), _x(8, 2), false_alarm=false_alarm)
    m = 2 * (T - 1) + 2 + 2
    assert rec.z == pytest.approx(_stated_z(false_alarm, m), rel=1e-12)


def _paired_gap(res: dict[str, np.ndarray], t: int, gap: float, spread: float) -> float:
    """Make loss − bayes at timestep t equal gap ± spread (alternating over an even number
    n of examples) and return the stderr of its mean by hand: sd = spread √(n/(n − 1)),
    stderr = sd/√n = spread/√(n − 1)."""
    at = np.flatnonzero(res["t"] == t)
    assert at.size % 2 == 0
    res["bayes"][at] = res["loss"][at] - gap - spread * np.where(np.arange(at.size) % 2, -1, 1)
    return spread / math.sqrt(at.size - 1)


@pytest.mark.parametrize("factor", [JUST_ABOVE, JUST_BELOW])
@pytest.mark.parametrize("direction", ["above_bayes", "below_bayes"])
def test_bayes_gap_flags_at_z_stderr_plus_slack(factor: float, direction: str) -> None:
    """The paired gap L_{t−1} − L*_{t−1} at t = 2 planted at ±1.1× and ±0.9× of
    z · stderr + slack, z and stderr computed here by hand. Catches a threshold on the wrong
    scale (z·sd instead of z·sd/√n, or z not split over the comparisons): a departure then
    goes unflagged, or a correct audit is flagged. The stderr is a sample one from the
    n = 16 examples at t = 2, so the threshold is the Student-t quantile of the same
    one-sided level with n − 1 degrees of freedom (the normal z would flag a near-Gaussian
    gap far more often than its share of the budget). Fails when the stderr of the gap is
    sd instead of sd/√n (group_by_t); when compare() uses 2 z; when it keeps the normal z
    for a sample stderr (the 0.9× plant is then flagged: t ≈ 5.2 here against z ≈ 3.9)."""
    B, D = 16, 2
    res = _rows(B, D)
    sign = 1.0 if direction == "above_bayes" else -1.0
    spread = 1e-3
    se = spread / math.sqrt(B - 1)
    z = float(stats.t.isf(1e-3 / (2 * (T - 1) + 2 + 2), B - 1))
    # the bound is the Bayes mean after the plant: mean loss − gap; slack ≈ 4e-9 ≪ z · se
    bound0 = float(np.mean(res["loss"][res["t"] == 2]))
    gap = sign * factor * (z * se + ROUNDING_STATED * (1.0 + abs(bound0)))
    assert _paired_gap(res, 2, gap, spread) == se
    rec = _summarize(res, _x(B, D))
    flagged = (direction, "L_(t-1)", 2) in _kinds(rec)
    assert flagged == (factor > 1), _kinds(rec)


@pytest.mark.parametrize("factor", [JUST_ABOVE, JUST_BELOW])
def test_entropy_floor_flags_at_z_stderr_plus_slack(factor: float) -> None:
    """With N(0, I) data and the continuous decoder the paired gap total − (−log p(x_0)) has
    mean ≥ 0 (Gibbs); planted at −1.1× and −0.9× of z · stderr + slack (z for the one
    comparison made without Bayes values; −log p by hand). Catches a loosened entropy
    threshold (a total below the data entropy, i.e. an impossible bound, would pass).
    Fails when the comparison's slack is 1e-7 · (1 + |bound|) instead of 1e-9 (with the
    stderr set to 0 by a constant gap, only the slack is left)."""
    B, D = 16, 2
    res = _rows(B, D)
    x = _x(B, D)
    s = SCHEDULE
    prior = prior_kl_closed_form((x**2).sum(1).numpy(), D, s)
    nll = 0.5 * (x**2).sum(1).numpy() + 0.5 * D * math.log(2 * math.pi)
    trans = res["loss"].reshape(B, T)[:, 1:].sum(1)
    entropy = 0.5 * D * math.log(2 * math.pi * math.e)
    slack = ROUNDING_STATED * (1.0 + entropy)
    dec = res["loss"].reshape(B, T)
    dec[:, 0] = nll - prior - trans - factor * slack  # total − nll = −factor · slack, sd 0
    res["loss"] = dec.reshape(-1)
    rec = _summarize(res, x, bayes=False, law=standard_gaussian(D))
    assert rec.entropy == pytest.approx(entropy, rel=1e-12)
    assert rec.z == pytest.approx(_stated_z(1e-3, 1), rel=1e-12)
    flagged = ("below_entropy", "total", None) in _kinds(rec)
    assert flagged == (factor > 1), _kinds(rec)
