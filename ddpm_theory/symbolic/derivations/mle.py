"""The maximum-likelihood view: fitting the joints fits the data marginal.

KL(q(x_{0:T}) ‖ p_θ(x_{0:T})) = KL(q(x_0) ‖ p_θ(x_0)) + E_{q(x_0)} KL(q(x_{1:T}|x_0) ‖
p_θ(x_{1:T}|x_0)) ≥ KL(q(x_0) ‖ p_θ(x_0)) ≥ 0 (DDPM notes, Part 2,
Appendix, Derivation 1), and E_{q(x_0)}[L] = H(q(x_0)) + KL(q(x_{0:T}) ‖ p_θ(x_{0:T})):
minimising the bound L over θ is minimising the joint KL, since the data entropy does
not depend on θ.

The chain rule of KL is checked pointwise with abstract densities; the inequalities and
the link to L in a worked Gaussian instance (T = 1, Gaussian data), where every term is
an exact Gaussian expectation.
"""

from __future__ import annotations

import sympy as sp

from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import alpha, beta, x0
from ..registry import register
from ._common import HO, cite, coefficients, gaussian_logpdf
from .bound import c_dec, m_data, p_joint, p_marg, p_post, q_enc, s2_dec, v_data, x1, z
from .kl import kl_univariate

NAME = "mle-view"
TJ = "DDPM notes, Part 2"

q_data = sp.Function("q_data", positive=True)     # q(x_0)
q_joint = sp.Function("q_joint", positive=True)   # q(x_{0:T}) = q(x_0) q(x_{1:T}|x_0)


def chain_rule_part() -> Part:
    return Part(
        title="Chain rule of KL, pointwise",
        lhs=r"\log\frac{q(x_{0:T})}{p_\theta(x_{0:T})}",
        start=sp.log(q_joint(x0, z)) - sp.log(p_joint(x0, z)),
        start_rule="the integrand of KL(q(x_{0:T}) ‖ p_θ(x_{0:T}))",
        cite=cite(TJ, "Appendix, Derivation 1"),
        steps=(
            Step(sp.log(q_data(x0) * q_enc(z, x0)) - sp.log(p_marg(x0) * p_post(z, x0)),
                 "factor both joints: q(x_0) q(x_{1:T}|x_0) and p_θ(x_0) p_θ(x_{1:T}|x_0)",
                 cite(TJ, "Appendix, Derivation 1")),
            Step(sp.log(q_data(x0) / p_marg(x0)) + sp.log(q_enc(z, x0) / p_post(z, x0)),
                 "split the log; under E_q the first term is KL(q(x_0) ‖ p_θ(x_0)) and the "
                 "second, integrated over x_{1:T} first, is E_{q(x_0)} KL(q(x_{1:T}|x_0) ‖ "
                 "p_θ(x_{1:T}|x_0))", cite(TJ, "Appendix, Derivation 1")),
        ),
    )


def _instance():
    q_step = gaussian_logpdf(x1, sp.sqrt(alpha) * x0, beta)
    p_log = gaussian_logpdf(x1, 0, 1) + gaussian_logpdf(x0, c_dec * x1, s2_dec)
    A, B = coefficients(p_log, x1)
    kl_cond = kl_univariate(sp.sqrt(alpha) * x0, beta, B / A, 1 / A)
    kl_marg = kl_univariate(m_data, v_data, 0, c_dec**2 + s2_dec)
    return q_step, p_log, kl_cond, kl_marg


def gaussian_parts(marginal_kl=None) -> tuple[Part, Part]:
    q_step, p_log, kl_cond, kl_marg = _instance()
    kl_marg_target = kl_marg if marginal_kl is None else marginal_kl
    data = (x0, m_data, v_data)
    fwd = (x1, sp.sqrt(alpha) * x0, beta)
    joint = GaussE(GaussE(gaussian_logpdf(x0, m_data, v_data) + q_step - p_log, *fwd), *data)
    bound = Part(
        title="Worked instance: the joint KL bounds the marginal KL",
        lhs=r"\mathrm{KL}(q(x_{0:1})\,\|\,p_\theta(x_{0:1}))",
        start=joint,
        start_rule=("T = 1: q(x_0) = N(m, v), q(x_1|x_0) = N(√α x_0, β); p(x_1) = N(0, 1), "
                    "p_θ(x_0|x_1) = N(c x_1, s²); the KL's definition as an expectation"),
        cite=cite(TJ, "Appendix, Derivation 1"),
        steps=(
            Step(kl_marg_target + GaussE(kl_cond, *data),
                 "chain rule: p_θ(x_0) = N(0, c² + s²) and p_θ(x_1|x_0) read off by "
                 "completing the square; each KL in closed form (gaussian-kl)",
                 cite(TJ, "Appendix, Derivation 1")),
            Step(kl_marg_target,
                 "the expected conditional KL is ≥ 0", cite(TJ, "Appendix, Derivation 1"),
                 relation=Relation.GE, gap=GaussE(kl_cond, *data)),
            Step(sp.Integer(0), "KL ≥ 0 (gaussian-kl)", cite("Cover & Thomas 2006", "Thm. 2.6.3"),
                 relation=Relation.GE, gap=kl_marg_target),
        ),
    )
    entropy = sp.log(2 * sp.pi * sp.E * v_data) / 2
    link = Part(
        title="Worked instance: E[L] = H(q(x_0)) + joint KL",
        lhs=r"\mathbb{E}_{q(x_0)}[L]",
        start=GaussE(GaussE(q_step - p_log, *fwd), *data),
        start_rule="L = E_q[−log p_θ(x_{0:1}) + log q(x_1|x_0)], averaged over the data",
        cite=cite(HO, "Eq. 3"),
        steps=(
            Step(joint - GaussE(gaussian_logpdf(x0, m_data, v_data), *data),
                 "add and subtract log q(x_0): the first term is the joint KL's expectation "
                 "(previous part's start)", cite(TJ, "§2")),
            Step(joint + entropy,
                 "−E log q(x_0) = H(q(x_0)) = ½ log(2πe v), which does not depend on θ",
                 cite("Cover & Thomas 2006", "§8.4")),
            Step(entropy + kl_marg + GaussE(kl_cond, *data),
                 "the joint KL by the chain rule (previous part, first step)",
                 cite(TJ, "Appendix, Derivation 1")),
        ),
    )
    return bound, link


def build(marginal_kl=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="Maximum likelihood: the joint KL bounds the marginal KL",
        statement=(
            r"\mathrm{KL}(q(x_{0:T})\,\|\,p_\theta(x_{0:T})) = \mathrm{KL}(q(x_0)\,\|\,"
            r"p_\theta(x_0)) + \mathbb{E}_{q(x_0)}\mathrm{KL}(q(x_{1:T}|x_0)\,\|\,"
            r"p_\theta(x_{1:T}|x_0)) \ge \mathrm{KL}(q(x_0)\,\|\,p_\theta(x_0)) \ge 0"
        ),
        premises=(r"q(x_{0:T}) = q(x_0)\,q(x_{1:T}|x_0)",
                  r"p_\theta(x_{0:T}) = p_\theta(x_0)\,p_\theta(x_{1:T}|x_0)"),
        cites=(cite(TJ, "Appendix, Derivation 1"), cite(HO, "Eq. 3")),
        summary=("Minimising L over θ minimises the joint KL, an upper bound on "
                 "KL(q(x_0) ‖ p_θ(x_0)) = E[−log p_θ(x_0)] − H(q(x_0))."),
        parts=(chain_rule_part(), *gaussian_parts(marginal_kl)),
        definitions={
            beta: 1 - alpha,
            q_joint: sp.Lambda((x0, z), q_data(x0) * q_enc(z, x0)),
            p_post: sp.Lambda((z, x0), p_joint(x0, z) / p_marg(x0)),
        },
    )


register(NAME)(build)
