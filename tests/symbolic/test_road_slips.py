"""The intermediate steps shown in gaussian-kl, bayes-posterior, mle-view, log-inequality
and the disputed steps are checked, not decoration: the plausible slip a person makes in
each is rejected, in the step where it is made."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp
from _slips import failed_parts

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import disputed as dp
from ddpm_theory.symbolic.derivations import kl
from ddpm_theory.symbolic.derivations.mle import m_data, v_data
from ddpm_theory.symbolic.engine import Derivation
from ddpm_theory.symbolic.notation import alpha, alpha_bar, beta, eps, m1, m2, v1, v2, xt


def _slip(name: str, part: str, step: int, expr) -> tuple[Derivation, str]:
    """``name`` with step ``step`` (1-based) of ``part`` replaced by ``expr``, keeping the
    step's gap in step with its expression for an inequality."""
    d = registry.get(name)
    parts = list(d.parts)
    (k,) = [i for i, p in enumerate(parts) if p.title == part]
    steps = list(parts[k].steps)
    old = steps[step - 1]
    new = dataclasses.replace(old, expr=expr)
    if old.gap is not None:  # previous − this step, as the slip would state it
        prev = parts[k].start if step == 1 else steps[step - 2].expr
        new = dataclasses.replace(new, gap=prev - expr if old.relation.value == ">=" else
                                  expr - prev)
    steps[step - 1] = new
    parts[k] = dataclasses.replace(parts[k], steps=tuple(steps))
    return dataclasses.replace(d, parts=tuple(parts)), part


r_ = v1 / v2
SLIPS = {
    "KL split without the 2 of 2 v_2": (
        "gaussian-kl", "KL ≥ 0, with equality exactly when the Gaussians coincide", 1,
        (m1 - m2) ** 2 / v2 + (r_ - 1 - sp.log(r_)) / 2),
    "diagonal KL with the variance ratio inverted": (
        "gaussian-kl", "Diagonal covariance, symbolic dimension d", 2,
        sp.Sum((sp.log(kl.V1[kl.i] / kl.V2[kl.i]) + (kl.V1[kl.i] + (kl.M1[kl.i] - kl.M2[kl.i])
                                                       ** 2) / kl.V2[kl.i] - 1) / 2,
               (kl.i, 1, kl.d))),
    "ε-form with √ᾱ_t for √α_t in the x_t coefficient": (
        "bayes-posterior", "The ε-form of the posterior mean", 2,
        (beta / sp.sqrt(alpha_bar) + sp.sqrt(alpha) * (1 - alpha_bar / alpha))
        / (1 - alpha_bar) * xt - beta / (sp.sqrt(alpha) * sp.sqrt(1 - alpha_bar)) * eps),
    "data entropy without the e": (
        "mle-view", "Worked instance: E[L] = H(q(x_0)) + joint KL", 2, None),
    "telescoped sum keeping log q(x_1|x_0) twice": (
        "luo-telescoping", "The cancellation in the second derivation, symbolic T", 2,
        sp.log(dp.q_marg(1)) + sp.Sum(sp.log(dp.q_post(dp.t, dp.X[dp.t - 1], dp.X[dp.t],
                                                       dp.X[0])), (dp.t, 2, dp.T_sym))
        + sp.log(dp.q_marg(dp.T_sym))),
}


@pytest.mark.parametrize("slip", sorted(SLIPS))
def test_a_slip_in_a_shown_step_is_rejected_there(slip):
    name, part, step, expr = SLIPS[slip]
    if expr is None:  # the entropy ½ log(2π v) instead of ½ log(2πe v)
        right = registry.get(name).parts[2].steps[1].expr
        expr = right.subs(sp.log(2 * sp.pi * sp.E * v_data) / 2,
                          sp.log(2 * sp.pi * v_data) / 2)
        assert expr != right and expr.has(m_data)
    d, where = _slip(name, part, step, expr)
    assert where in failed_parts(d)


def test_the_tangent_line_with_a_wrong_slope_is_rejected():
    from ddpm_theory.symbolic.derivations.lemmas import u

    wrong = sp.log(sp.Integer(1), evaluate=False) + (u - 1) / 2
    d, where = _slip("log-inequality", "log lies below its tangent at u = 1", 1, wrong)
    assert where in failed_parts(d)
