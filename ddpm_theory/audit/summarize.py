"""Assemble an :class:`~ddpm_theory.audit.record.ElboTerms` from per-row values.

Per example i the estimate of the total is L_T(x_0^i) + L̂_0 + Σ_k w_ik L̂_{t_ik − 1}
(:mod:`~ddpm_theory.audit.plan`), each L̂ the noise-weighted mean of its rows; the
Bayes-optimal total and every gap are formed on the same rows (common random
numbers), so a gap's stderr is that of a paired difference.
"""

from __future__ import annotations

import math

import numpy as np
from torch import Tensor

from ..backend.dataset import Dataset
from ..backend.enums import DecoderType
from ..backend.process import GaussianDiffusion
from ..backend.schedule import Schedule
from ..numeric.estimators import sample_skewness
from .aggregate import compare, flag_threshold, group_by_t, skewness_by_t, value
from .bounds import entropy_floor, eps_weight, prior_kl_closed_form, reverse_variance
from .groups import group_terms
from .plan import Plan
from .record import ElboTerms, Flag, Value

__all__ = ["summarize", "PRIOR_RTOL", "LSIMPLE_RTOL"]

PRIOR_RTOL = 1e-10
"""L_T by the backend's torch KL vs the closed form: both float64 O(1) per-dimension
sums without cancellation; 1e-10·(1 + |L_T|) leaves ~10⁵ ulps of room."""

LSIMPLE_RTOL = 1e-9
"""|L_{t−1} − (λ_t‖ε − ε_θ‖² + C_t)| / (|L_{t−1}| + D): a pointwise float64 identity
(docs/verification.md, S2); normal_kl forms −1 + log r + 1/r with absolute error ~1e-16
per dimension, hence the + D; 1e-9 is far above rounding, far below a slip."""


def _per_slot(res: dict[str, np.ndarray], B: int, S: int, dw: np.ndarray) -> dict[str, np.ndarray]:
    M = dw.size
    return {k: v.reshape(B, S, M) @ dw for k, v in res.items()}


def summarize(
    res: dict[str, np.ndarray], plan: Plan, dw: np.ndarray, x: Tensor, schedule: Schedule,
    diffusion: GaussianDiffusion, dec: DecoderType, law: Dataset | None,
    prior_torch: np.ndarray, *, mode: str, bayes: bool, false_alarm: float, n_model_evals: int,
    seconds: float,
) -> ElboTerms:
    B, D, T = int(x.shape[0]), int(x[0].numel()), schedule.T
    S = plan.K + int(plan.decoder)
    slots = _per_slot(res, B, S, dw)
    first = slice(0, 1) if plan.decoder else slice(0, 0)
    trans = {k: v[:, first.stop:] for k, v in slots.items()}
    t_slots = plan.t.numpy()
    w = plan.w.numpy()
    has_bayes = bayes

    ts, mean, se, n = group_by_t(t_slots, trans["loss"])
    _, mse, mse_se, _ = group_by_t(t_slots, trans["mse"])
    _, floor, _, _ = group_by_t(t_slots, trans["floor"])
    _, weighted, _, _ = group_by_t(t_slots, trans["weighted"])
    if diffusion.variance.is_learned:
        lam = np.divide(weighted, mse, out=np.zeros_like(weighted), where=mse > 0)
    else:
        lam = eps_weight(schedule, reverse_variance(schedule, diffusion.variance))[ts - 2]
    bayes_mean: np.ndarray | None = None
    bayes_se: np.ndarray | None = None
    gap: np.ndarray | None = None
    gap_se: np.ndarray | None = None
    if has_bayes:
        _, bayes_mean, bayes_se, _ = group_by_t(t_slots, trans["bayes"])
        _, gap, gap_se, _ = group_by_t(t_slots, trans["loss"] - trans["bayes"])
        gap_skew = skewness_by_t(t_slots, trans["loss"] - trans["bayes"])

    # pointwise L_simple relation over the transition rows
    t_rows = np.repeat(np.concatenate([np.ones((B, int(plan.decoder)), np.int64), t_slots], 1),
                       dw.size, axis=1).reshape(-1)
    tr = t_rows >= 2
    tr = tr & np.isfinite(res["weighted"])  # NaN where α_t = 0: no ε-form (bounds.lambda_sigma2)
    resid = np.abs(res["loss"][tr] - res["weighted"][tr] - res["floor"][tr])
    lsimple = float((resid / (np.abs(res["loss"][tr]) + D)).max()) if tr.any() else 0.0

    sq = (x.reshape(B, -1) ** 2).sum(1).cpu().numpy()
    prior_i = prior_kl_closed_form(sq, D, schedule)
    prior_check = float(np.abs(prior_torch - prior_i).max())

    dec_i = slots["loss"][:, 0] if plan.decoder else None
    dec_b = slots["bayes"][:, 0] if plan.decoder and has_bayes else None
    if dec_b is not None and not np.all(np.isfinite(dec_b)):
        dec_b = None  # discretised decoder: no Bayes-optimal closed form
    total_i = total_b = None
    if plan.estimates_total and plan.decoder:
        total_i = prior_i + dec_i + (w * trans["loss"]).sum(1)
        if dec_b is not None:
            total_b = prior_i + dec_b + (w * trans["bayes"]).sum(1)

    ent = entropy_floor(law, dec)
    ent_gap = None
    if ent is not None and total_i is not None:
        assert law is not None
        if law.has_density and dec is DecoderType.GAUSSIAN:  # paired: E[total + log p] ≥ 0
            nll = -law.log_prob(x.cpu()).numpy()
            ent_gap, ent_x = value(total_i - nll), total_i - nll
        else:
            tv, ent_x = value(total_i), total_i
            ent_gap = Value(tv.nats - ent[0] + ent[1], tv.stderr, tv.n)

    stat = 2 * (0 if gap is None else gap.size) + 2 * int(dec_b is not None) \
        + 2 * int(total_b is not None) + int(ent_gap is not None)
    z = flag_threshold(false_alarm, stat)
    viol: list[Flag | None] = []
    dep: list[Flag | None] = []
    for j, t in enumerate(ts):
        viol.append(compare("L_(t-1)", int(t), mean[j] - floor[j], 0.0, floor[j], z,
                            below_kind="below_floor"))
        if gap is not None and gap_se is not None and bayes_mean is not None:
            f = compare("L_(t-1)", int(t), gap[j], gap_se[j], bayes_mean[j], z,
                        below_kind="below_bayes", above_kind="above_bayes", value_=mean[j],
                        skewness=float(gap_skew[j]), n=int(n[j]))
            (viol if f is not None and f.kind == "below_bayes" else dep).append(f)
    pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
    if dec_i is not None and dec_b is not None:
        pairs.append(("L_0", dec_i, dec_b))
    if total_i is not None and total_b is not None:
        pairs.append(("total", total_i, total_b))
    for name, a, b in pairs:
        g = value(a - b)
        f = compare(name, None, g.nats, g.stderr, float(np.mean(b)), z,
                    below_kind="below_bayes", above_kind="above_bayes", value_=float(np.mean(a)),
                    skewness=sample_skewness(a - b), n=g.n)
        (viol if f is not None and f.kind == "below_bayes" else dep).append(f)
    if ent_gap is not None and ent is not None:
        viol.append(compare("total", None, ent_gap.nats, ent_gap.stderr, ent[0], z,
                            below_kind="below_entropy", skewness=sample_skewness(ent_x),
                            n=ent_gap.n))
    tol = PRIOR_RTOL * (1.0 + float(np.abs(prior_i).max()))
    if not prior_check <= tol:
        viol.append(Flag("prior_mismatch", "L_T", None, float(np.mean(prior_torch)),
                         float(np.mean(prior_i)), 0.0, math.inf,
                         f"L_T from the KL of q(x_T|x_0) differs from its closed form by "
                         f"{prior_check:.3g} nats (> {tol:.3g})"))
    if not lsimple <= LSIMPLE_RTOL:
        viol.append(Flag("lsimple_mismatch", "L_(t-1)", None, lsimple, 0.0, 0.0, math.inf,
                         f"L_(t-1) != lambda_t*MSE_t + C_t pointwise: relative residual "
                         f"{lsimple:.3g} > {LSIMPLE_RTOL:g}"))

    violations = tuple(f for f in viol if f is not None)
    departures = tuple(f for f in dep if f is not None)
    flagged_t = {f.t for f in (*violations, *departures) if f.t is not None}
    groups = group_terms(t_slots, w, trans["loss"], trans["floor"],
                         trans["bayes"] if has_bayes else None, T,
                         flagged_t) if plan.estimates_total else ()
    dep_gap = None
    if departures and has_bayes:  # paired per example: flagged transitions, L_0 if flagged
        above = {f.t for f in departures if f.t is not None}
        keep = np.isin(t_slots, sorted(above))
        per_ex = np.where(keep, w * (trans["loss"] - trans["bayes"]), 0.0).sum(1)
        if dec_i is not None and dec_b is not None and any(f.term == "L_0" for f in departures):
            per_ex = per_ex + dec_i - dec_b
        dep_gap = value(per_ex)

    def opt(a: np.ndarray | None) -> Value | None:
        return None if a is None else value(a)

    return ElboTerms(
        D=D, T=T, n_examples=B, mode=mode, timesteps=plan.kind, n_timesteps=plan.K,
        parameterization=diffusion.parameterization.value, variance=diffusion.variance.value,
        decoder=dec.value, prior=value(prior_i), prior_check=prior_check,
        transitions_t=ts, transitions=mean, transitions_stderr=se, transitions_n=n,
        variance_floor=floor, mse_eps=mse, mse_eps_stderr=mse_se, lambda_t=lam,
        lsimple_residual=lsimple, bayes=bayes_mean, bayes_stderr=bayes_se, gap=gap,
        gap_stderr=gap_se,
        decoder_term=opt(dec_i), decoder_bayes=opt(dec_b),
        decoder_gap=None if dec_b is None or dec_i is None else value(dec_i - dec_b),
        total=opt(total_i), total_bayes=opt(total_b),
        total_gap=None if total_b is None or total_i is None else value(total_i - total_b),
        entropy=None if ent is None else ent[0], entropy_kind=None if ent is None else ent[2],
        entropy_gap=ent_gap, per_example_total=total_i, proposal=plan.proposal, z=z,
        false_alarm=false_alarm, violations=violations, departures=departures,
        n_model_evals=n_model_evals, seconds=seconds, groups=groups, departure_gap=dep_gap,
    )

