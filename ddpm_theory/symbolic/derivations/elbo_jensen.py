"""The evidence bound by Jensen's inequality, beside the KL route of ``elbo-gap``, and
the two gaps shown equal (Ho et al. 2020, Eq. 3; Kingma & Welling 2014, Eq. 3).

The Jensen route: log p_θ(x_0) = log E_q[W] with the importance weight
W = p_θ(x_0, x_{1:T})/q(x_{1:T}|x_0); log is concave (its tangent line lies above it: the
rule that proves ``log-inequality``), so log E_q[W] ≥ E_q[log W] = ELBO, with gap
E_q[g(W/E_q W)], g(u) = u − 1 − log u ≥ 0.  The KL route (``elbo-gap``, applied):
log p_θ(x_0) − ELBO = E_q[log q(x_{1:T}|x_0) − log p_θ(x_{1:T}|x_0)].  Pointwise in the
latent the two integrands differ by p_θ(x_{1:T}|x_0)/q(x_{1:T}|x_0) − 1, whose q-mean is
∫ p_θ(x_{1:T}|x_0) dx_{1:T} − 1 = 0, so the gaps agree.

The pointwise identities are checked for abstract densities (undefined positive
functions, as in ``elbo-gap``).  The expectation itself is checked exactly on a latent
with three states, where E_q is a finite sum: q = (w_1, w_2, w_3)/(w_1 + w_2 + w_3) with
w_i > 0 (every point of the open simplex) and arbitrary p_θ(x_0, z_i) = P_i > 0.
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE
from ..certificates import Apply, LogGap, TangentLine
from ..engine import Derivation, Part, Relation, Step
from ..notation import sym, x0
from ..registry import register
from ._common import HO, cite
from .bound import p_joint, p_marg, p_post, posterior_definition, q_enc, z

NAME = "elbo-by-jensen"
VAE = "VAE/VDM notes"
JENSEN = cite("standard", "Jensen's inequality for a concave function")
TANGENT = cite("standard", "tangent line of a concave function")

W = sym("W_imp", POSITIVE, "W")
mu = sym("mu_W", POSITIVE, r"\mu")
P = [sym(f"P_joint_{i}", POSITIVE, rf"P_{i}") for i in (1, 2, 3)]
w = [sym(f"w_q_{i}", POSITIVE, rf"w_{i}") for i in (1, 2, 3)]
_s = sp.Symbol("s_jensen", positive=True)

Q = [wi / sum(w) for wi in w]                     # q(z_i | x_0), normalised
EVIDENCE = sum(P)                                 # p_θ(x_0) = Σ_i p_θ(x_0, z_i)
WEIGHTS = [Pi / Qi for Pi, Qi in zip(P, Q)]       # W_i = p_θ(x_0, z_i)/q(z_i|x_0)
POST = [Pi / EVIDENCE for Pi in P]                # p_θ(z_i | x_0)
ELBO = sum(Qi * (sp.log(Pi) - sp.log(Qi)) for Pi, Qi in zip(P, Q))
KL = sum(Qi * sp.log(Qi / pi) for Qi, pi in zip(Q, POST))


def _avg(f) -> sp.Expr:
    return sp.Add(*[Qi * f(i) for i, Qi in enumerate(Q)])


def tangent_part() -> Part:
    return Part(
        title="log is concave: it lies below its tangent at μ",
        lhs=r"\log W",
        start=sp.log(W),
        start_rule="W > 0, μ > 0; (log W)'' = −1/W² < 0 on (0, ∞)",
        cite=TANGENT,
        steps=(
            Step(sp.log(mu) + (W - mu) / mu, "the tangent line at μ: log μ + (W − μ)/μ",
                 TANGENT, relation=Relation.LE, gap=sp.log(mu) + (W - mu) / mu - sp.log(W),
                 certificate=TangentLine(sp.Lambda(_s, sp.log(_s)), mu, W)),
            Step(sp.log(mu) + W / mu - 1, "expand (W − μ)/μ = W/μ − 1",
                 cite("standard", "algebra")),
        ),
    )


def pointwise_part() -> Part:
    ratio = p_joint(x0, z) / q_enc(z, x0)
    return Part(
        title="Pointwise in the latent: the tangent line at the evidence",
        lhs=r"\log W = \log\frac{p_\theta(x_0, x_{1:T})}{q(x_{1:T}|x_0)}",
        start=sp.log(p_joint(x0, z)) - sp.log(q_enc(z, x0)),
        start_rule="the ELBO's integrand log W, W the importance weight of the latent",
        cite=cite(HO, "Eq. 3"),
        steps=(
            Step(sp.log(p_marg(x0)) + (ratio - p_marg(x0)) / p_marg(x0),
                 "the tangent line at μ = p_θ(x_0) = E_q[W] (the first part); the gap is "
                 "g(W/p_θ(x_0)) ≥ 0 (log-inequality)", JENSEN, relation=Relation.LE,
                 gap=LogGap(ratio / p_marg(x0))),
            Step(sp.log(p_marg(x0)) + p_post(z, x0) / q_enc(z, x0) - 1,
                 "Bayes: W/p_θ(x_0) = p_θ(x_{1:T}|x_0)/q(x_{1:T}|x_0); under E_q this term "
                 "averages to ∫ p_θ(x_{1:T}|x_0) dx_{1:T} − 1 = 0", cite(VAE, "ELBO")),
        ),
    )


def gaps_pointwise_part() -> Part:
    u = p_post(z, x0) / q_enc(z, x0)
    return Part(
        title="The two gaps, pointwise: the KL integrand is the Jensen gap less a mean-zero term",
        lhs=r"\log p_\theta(x_0) - \log W",
        start=sp.log(p_marg(x0)) - (sp.log(p_joint(x0, z)) - sp.log(q_enc(z, x0))),
        start_rule="the evidence less the ELBO's integrand",
        cite=cite(HO, "Eq. 3"),
        steps=(
            Step(sp.log(q_enc(z, x0)) - sp.log(p_post(z, x0)),
                 "the KL route: elbo-gap's pointwise split log p = (log p_θ(x_0, x_{1:T}) − log q)"
                 " + (log q − log p_θ(x_{1:T}|x_0)), applied", cite(HO, "Eq. 3"),
                 certificate=Apply("elbo-gap", 0, {})),
            Step(LogGap(u) - (u - 1),
                 "g(u) − (u − 1) = −log u with u = p_θ(x_{1:T}|x_0)/q: the Jensen gap's "
                 "integrand less u − 1, whose q-mean is 0", cite("Cover & Thomas 2006", "§2.3")),
        ),
    )


def jensen_part(gap=None) -> Part:
    gap = _avg(lambda i: LogGap(WEIGHTS[i] / EVIDENCE)) if gap is None else gap
    return Part(
        title="Jensen's inequality on a latent with three states",
        lhs=r"\log p_\theta(x_0)",
        start=sp.log(EVIDENCE),
        start_rule="p_θ(x_0) = Σ_i p_θ(x_0, z_i) with P_i = p_θ(x_0, z_i) > 0",
        cite=cite(HO, "Eq. 3"),
        steps=(
            Step(sp.log(_avg(lambda i: WEIGHTS[i])),
                 "multiply and divide by q(z_i|x_0): p_θ(x_0) = E_q[W]", cite(VAE, "ELBO")),
            Step(_avg(lambda i: sp.log(EVIDENCE) + (WEIGHTS[i] - EVIDENCE) / EVIDENCE),
                 "the tangent line at μ = E_q[W], averaged: Σ q_i = 1 and Σ q_i (W_i − μ) = 0",
                 TANGENT),
            Step(_avg(lambda i: sp.log(WEIGHTS[i])),
                 "each tangent line lies above log W_i (concavity), averaged with weights "
                 "q_i > 0: Jensen's inequality, gap Σ q_i g(W_i/μ) ≥ 0 (log-inequality)",
                 JENSEN, relation=Relation.GE, gap=gap),
            Step(ELBO, "log W_i = log p_θ(x_0, z_i) − log q(z_i|x_0): the ELBO",
                 cite("Kingma & Welling 2014", "Eq. 3")),
        ),
    )


def gap_is_kl_part(kl_target=None) -> Part:
    kl_target = KL if kl_target is None else kl_target
    return Part(
        title="The Jensen gap is KL(q ‖ posterior), three states",
        lhs=r"\mathbb{E}_q[g(W/\mu)]",
        start=_avg(lambda i: LogGap(WEIGHTS[i] / EVIDENCE)),
        start_rule="the gap of the Jensen step",
        cite=JENSEN,
        steps=(
            Step(_avg(lambda i: LogGap(POST[i] / Q[i])),
                 "Bayes: W_i/p_θ(x_0) = p_θ(z_i|x_0)/q(z_i|x_0)", cite(VAE, "ELBO")),
            Step(sp.Add(*[POST[i] - Q[i] for i in range(3)]) + kl_target,
                 "write g(u) = u − 1 − log u out: Σ (p_θ(z_i|x_0) − q_i) "
                 "+ Σ q_i log(q_i/p_θ(z_i|x_0))",
                 cite("Cover & Thomas 2006", "§2.3")),
            Step(kl_target, "both distributions are normalised: Σ p_θ(z_i|x_0) = Σ q_i = 1, so "
                            "the gap is KL(q(z|x_0) ‖ p_θ(z|x_0))", cite("Cover & Thomas 2006",
                                                                        "§2.3")),
            Step(sp.log(EVIDENCE) - ELBO,
                 "the KL route gives the same number: KL(q ‖ p_θ(z|x_0)) = log p_θ(x_0) − ELBO "
                 "(elbo-gap)", cite(HO, "Eq. 3")),
        ),
    )


def build(gap=None, kl_target=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="The ELBO by Jensen's inequality, and its gap is the KL of elbo-gap",
        statement=(
            r"\log p_\theta(x_0) = \log\mathbb{E}_q[W] \ge \mathbb{E}_q[\log W] = \mathrm{ELBO},"
            r"\quad \log\mathbb{E}_q[W] - \mathbb{E}_q[\log W] = \mathbb{E}_q\big[g\big("
            r"\tfrac{W}{\mathbb{E}_q W}\big)\big] = \mathrm{KL}\big(q(x_{1:T}|x_0)\,\|\,"
            r"p_\theta(x_{1:T}|x_0)\big)"
        ),
        premises=(
            r"W = p_\theta(x_0, x_{1:T})/q(x_{1:T}|x_0)",
            r"p_\theta(x_{1:T}|x_0) = p_\theta(x_{0:T})/p_\theta(x_0)",
            r"\int q(x_{1:T}|x_0)\,dx_{1:T} = \int p_\theta(x_{1:T}|x_0)\,dx_{1:T} = 1",
        ),
        cites=(cite(HO, "Eq. 3"), cite("Kingma & Welling 2014", "Eq. 3"), JENSEN),
        summary=("Jensen's inequality and the KL identity are the same bound: the tangent-line "
                 "gap averages to the KL from q to the model's posterior."),
        parts=(tangent_part(), pointwise_part(), gaps_pointwise_part(), jensen_part(gap),
               gap_is_kl_part(kl_target)),
        definitions=posterior_definition(),
    )


register(NAME)(build)
