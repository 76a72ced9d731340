"""The variational bound and its gap: log p(x) = ELBO + KL(q ‖ posterior) ≥ ELBO.

Three registered derivations:

``elbo-gap``
    For the diffusion model, log p_θ(x_0) = ELBO + KL(q(x_{1:T}|x_0) ‖ p_θ(x_{1:T}|x_0)),
    pointwise in x_{1:T} for abstract densities, hence E[−log p_θ(x_0)] ≤ L
    (Ho et al. 2020, Eq. 3; homework eq. 4), with the gap named and, in a worked
    Gaussian instance (T = 1, Gaussian data), computed exactly and shown ≥ 0.
``vae-elbo``
    The same identity for a VAE, and ELBO = reconstruction − KL(q(z|x) ‖ p(z))
    (Kingma & Welling 2014, Eq. 3; VAE/VDM notes), with a linear-Gaussian VAE and
    an *arbitrary* Gaussian encoder as the worked instance.
``cross-entropy``
    H(p, q) = H(p) + KL(p ‖ q): for discrete distributions with abstract probabilities in
    a symbolic number of outcomes (induction), and for Gaussians, where the KL is ≥ 0
    so that H(p, q) ≥ H(p) with equality at q = p (Cover & Thomas 2006, §2.3).

The abstract identities hold "inside the expectation": they are checked pointwise on
log-densities that are undefined functions (the numeric check gives them random positive
values, so an identity must hold for every density).  Taking E_q of both sides is then
legitimate because log p(x) does not depend on the latent and q integrates to 1.
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, TIMESTEP, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import alpha, beta, m1, m2, sym, v1, v2, x0
from ..registry import register
from ._common import HO, HW, cite, coefficients, gaussian_logpdf
from .kl import kl_univariate

VAE = "VAE/VDM notes"

# abstract densities (undefined functions; the numeric check draws their values)
p_joint = sp.Function("p_joint", positive=True)      # p_θ(x_0, x_{1:T}) or p(x, z)
p_marg = sp.Function("p_marg", positive=True)        # p_θ(x_0) or p(x)
p_post = sp.Function("p_post", positive=True)        # p_θ(x_{1:T} | x_0) or p(z | x)
q_enc = sp.Function("q_enc", positive=True)          # q(x_{1:T} | x_0) or q(z | x)
p_lik = sp.Function("p_lik", positive=True)          # p(x | z)
p_prior = sp.Function("p_prior", positive=True)      # p(z)

z = sym("z", REAL, "z")            # the latent (x_{1:T} as one block for the diffusion)
x1 = sym("x_1", REAL, "x_1")
c_dec = sym("c_dec", REAL, "c")    # decoder p_θ(x_0|x_1) = N(c x_1, s²)
s2_dec = sym("s2_dec", VARIANCE, "s^2")
m_data = sym("m_data", REAL, "m")  # data q(x_0) = N(m, v) for the expected bound
v_data = sym("v_data", VARIANCE, "v")
w_vae = sym("w_vae", REAL, "w")    # VAE: z ~ N(0, 1), x | z ~ N(w z, u)
u_vae = sym("u_vae", VARIANCE, "u")
m_enc = sym("m_enc", REAL, "m_q")  # arbitrary encoder q(z|x) = N(m_q, s_q)
s_enc = sym("s_enc", VARIANCE, "s_q")


def posterior_definition() -> dict:
    """p(z | x) := p(x, z) / p(x) (Bayes' rule; the definition of the posterior)."""
    return {p_post: sp.Lambda((z, x0), p_joint(x0, z) / p_marg(x0))}


def abstract_gap_part(latent: str) -> Part:
    """log p(x) = [log p(x,z) − log q(z|x)] + [log q(z|x) − log p(z|x)], pointwise in z."""
    elbo = sp.log(p_joint(x0, z)) - sp.log(q_enc(z, x0))
    gap = sp.log(q_enc(z, x0)) - sp.log(p_post(z, x0))
    return Part(
        title="The evidence splits into ELBO and KL, pointwise in the latent",
        lhs=r"\log p(x)",
        start=sp.log(p_marg(x0)),
        start_rule=(
            f"the log-evidence; it does not depend on {latent}, so it equals its own "
            f"expectation under q({latent}|x), which integrates to 1"
        ),
        cite=cite(VAE, "closed form of the ELBO"),
        steps=(
            Step(sp.log(p_joint(x0, z)) - sp.log(p_post(z, x0)),
                 "Bayes: p(x) = p(x, z)/p(z|x) for every z", cite("standard", "Bayes' rule")),
            Step(elbo + gap,
                 "multiply and divide by q(z|x) inside the log",
                 cite(VAE, "closed form of the ELBO")),
        ),
    )


def gaussian_diffusion_part(kl_gap=None) -> Part:
    """T = 1, q(x_1|x_0) = N(√α x_0, β), p(x_1) = N(0, 1), p_θ(x_0|x_1) = N(c x_1, s²)."""
    q_log = gaussian_logpdf(x1, sp.sqrt(alpha) * x0, beta)
    p_log = gaussian_logpdf(x1, 0, 1) + gaussian_logpdf(x0, c_dec * x1, s2_dec)
    A, B = coefficients(p_log, x1)          # posterior p_θ(x_1|x_0) read off
    post_mean, post_var = B / A, 1 / A
    marg_var = c_dec**2 + s2_dec            # p_θ(x_0), the linear-Gaussian lemma
    loss = GaussE(-(p_log - q_log), x1, sp.sqrt(alpha) * x0, beta)
    kl_e = GaussE(q_log - gaussian_logpdf(x1, post_mean, post_var), x1,
                  sp.sqrt(alpha) * x0, beta)
    kl_closed = kl_univariate(sp.sqrt(alpha) * x0, beta, post_mean, post_var)
    kl_gap = kl_closed if kl_gap is None else kl_gap
    data = (x0, m_data, v_data)
    return Part(
        title="Worked instance: T = 1, Gaussian data; the expected bound",
        lhs=r"\mathbb{E}_{q(x_0)}[-\log p_\theta(x_0)]",
        start=GaussE(-gaussian_logpdf(x0, 0, marg_var), *data),
        start_rule=(
            "x_1 ~ N(0, 1), x_0 | x_1 ~ N(c x_1, s²) gives p_θ(x_0) = N(0, c² + s²) "
            "(linear-Gaussian lemma of forward-marginal); data x_0 ~ N(m, v)"
        ),
        cite=cite(HW, "eq. 4"),
        steps=(
            Step(GaussE(loss - kl_e, *data),
                 "the identity of part 1 with the Gaussian densities; p_θ(x_1|x_0) = "
                 "N(c x_0/(c² + s²), s²/(c² + s²)) is read off by completing the square",
                 cite(HO, "Eq. 3")),
            Step(GaussE(loss, *data),
                 "drop the KL term, which is ≥ 0 (gaussian-kl): the bound L of Ho et al. "
                 "(2020, Eq. 3); the gap is exactly E_{q(x_0)} KL(q(x_1|x_0) ‖ p_θ(x_1|x_0))",
                 cite(HW, "eq. 4"), relation=Relation.LE, gap=GaussE(kl_gap, *data)),
        ),
    )


def build_elbo_gap(kl_gap=None) -> Derivation:
    return Derivation(
        name="elbo-gap",
        title="The variational bound on −log p_θ(x_0) and its gap",
        statement=(
            r"\log p_\theta(x_0) = \mathbb{E}_{q}\Big[\log\frac{p_\theta(x_{0:T})}"
            r"{q(x_{1:T}|x_0)}\Big] + \mathrm{KL}\big(q(x_{1:T}|x_0)\,\|\,"
            r"p_\theta(x_{1:T}|x_0)\big),\quad \mathbb{E}[-\log p_\theta(x_0)] \le L"
        ),
        premises=(
            r"p_\theta(x_{1:T}|x_0) = p_\theta(x_{0:T})/p_\theta(x_0)",
            r"\int q(x_{1:T}|x_0)\,dx_{1:T} = 1",
            r"\mathrm{KL} \ge 0\ \text{(gaussian-kl)}",
        ),
        cites=(cite(HO, "Eq. 3"), cite(HW, "eq. 4")),
        summary=("The bound is tight exactly when q(x_{1:T}|x_0) is the model's own "
                 "posterior; the slack is that KL."),
        parts=(abstract_gap_part("x_{1:T}"), gaussian_diffusion_part(kl_gap)),
        definitions={**posterior_definition(), beta: 1 - alpha},
        exports={},
    )


def vae_parts(kl_prior_target=None) -> tuple[Part, Part]:
    recon = sp.log(p_lik(x0, z))
    split = Part(
        title="ELBO = reconstruction − KL to the prior, pointwise",
        lhs=r"\log p(x, z) - \log q(z|x)",
        start=sp.log(p_joint(x0, z)) - sp.log(q_enc(z, x0)),
        start_rule="the ELBO's integrand, with p(x, z) = p(x|z) p(z)",
        cite=cite("Kingma & Welling 2014", "Eq. 3"),
        steps=(
            Step(recon + sp.log(p_prior(z)) - sp.log(q_enc(z, x0)),
                 "log of the product: log p(x, z) = log p(x|z) + log p(z)",
                 cite("standard", "log of a product")),
            Step(recon - (sp.log(q_enc(z, x0)) - sp.log(p_prior(z))),
                 "group the prior with the encoder: the KL(q(z|x) ‖ p(z)) integrand",
                 cite(VAE, "why ELBO can be optimized")),
        ),
    )
    # linear-Gaussian VAE with an arbitrary Gaussian encoder
    lik = gaussian_logpdf(x0, w_vae * z, u_vae)
    prior = gaussian_logpdf(z, 0, 1)
    enc = (z, m_enc, s_enc)
    A, B = coefficients(lik + prior, z)
    kl_prior = kl_univariate(m_enc, s_enc, 0, 1) if kl_prior_target is None else kl_prior_target
    kl_post = kl_univariate(m_enc, s_enc, B / A, 1 / A)
    instance = Part(
        title="Worked instance: linear-Gaussian VAE, arbitrary Gaussian encoder",
        lhs=r"\log p(x)",
        start=gaussian_logpdf(x0, 0, w_vae**2 + u_vae),
        start_rule="z ~ N(0, 1), x | z ~ N(w z, u), so p(x) = N(0, w² + u); q(z|x) = N(m_q, s_q)",
        cite=cite("Kingma & Welling 2014", "Eq. 3"),
        steps=(
            Step(GaussE(lik + prior - gaussian_logpdf(z, m_enc, s_enc), *enc) + kl_post,
                 "ELBO + KL(q(z|x) ‖ p(z|x)); p(z|x) = N(w x/(w² + u), u/(w² + u)) is read "
                 "off by completing the square; the KL is the closed form of gaussian-kl",
                 cite(VAE, "closed form of the ELBO")),
            Step(GaussE(lik, *enc) - kl_prior + kl_post,
                 "ELBO = E_q[log p(x|z)] − KL(q(z|x) ‖ p(z))",
                 cite(VAE, "why ELBO can be optimized")),
            Step(GaussE(lik, *enc) - kl_prior,
                 "log p(x) ≥ ELBO: the dropped KL is ≥ 0, zero iff q(z|x) = p(z|x)",
                 cite(VAE, "closed form of the ELBO"), relation=Relation.GE, gap=kl_post),
        ),
    )
    return split, instance


def build_vae(kl_prior_target=None) -> Derivation:
    split, instance = vae_parts(kl_prior_target)
    return Derivation(
        name="vae-elbo",
        title="The VAE evidence bound and its two terms",
        statement=(
            r"\log p(x) = \mathrm{ELBO} + \mathrm{KL}(q(z|x)\,\|\,p(z|x)),\quad "
            r"\mathrm{ELBO} = \mathbb{E}_{q(z|x)}[\log p(x|z)] - \mathrm{KL}(q(z|x)\,\|\,p(z))"
        ),
        premises=(r"p(z|x) = p(x|z)p(z)/p(x)", r"\int q(z|x)\,dz = 1"),
        cites=(cite("Kingma & Welling 2014", "Eq. 3"), cite(VAE, "closed form of the ELBO")),
        summary="The encoder is trained by the ELBO because log p(x) does not depend on it.",
        parts=(abstract_gap_part("z"), split, instance),
        definitions={
            **posterior_definition(),
            p_joint: sp.Lambda((x0, z), p_lik(x0, z) * p_prior(z)),
        },
    )


# -- cross-entropy ----------------------------------------------------------------------
i = sp.Symbol("i", integer=True, positive=True)
n = sym("n", TIMESTEP, "n")
P = sp.IndexedBase(sym("P", VARIANCE, "p"), positive=True)
Q = sp.IndexedBase(sym("Q", VARIANCE, "q"), positive=True)
xg = sym("x_ce", REAL, "x")


def build_cross_entropy(gaussian_ce=None) -> Derivation:
    ce = -sp.Sum(P[i] * sp.log(Q[i]), (i, 1, n))
    discrete = Part(
        title="Discrete distributions, n outcomes",
        lhs=r"H(p, q) = -\sum_i p_i \log q_i",
        start=ce,
        start_rule="definition of the cross-entropy",
        cite=cite(VAE, "cross entropy"),
        steps=(
            Step(-sp.Sum(P[i] * (sp.log(P[i]) + sp.log(Q[i]) - sp.log(P[i])), (i, 1, n)),
                 "add and subtract log p_i", cite(VAE, "cross entropy")),
            Step(-sp.Sum(P[i] * sp.log(P[i]), (i, 1, n))
                 + sp.Sum(P[i] * sp.log(P[i] / Q[i]), (i, 1, n)),
                 "split the sum: H(p) + KL(p ‖ q)", cite("Cover & Thomas 2006", "§2.3")),
        ),
    )
    h_p = sp.log(2 * sp.pi * sp.E * v1) / 2
    target = (sp.log(2 * sp.pi * v2) / 2 + (v1 + (m1 - m2) ** 2) / (2 * v2)
              if gaussian_ce is None else gaussian_ce)
    gaussian = Part(
        title="Gaussians: H(p, q) = H(p) + KL(p ‖ q) ≥ H(p)",
        lhs=r"H(\mathcal{N}(m_1, v_1), \mathcal{N}(m_2, v_2))",
        start=GaussE(-gaussian_logpdf(xg, m2, v2), xg, m1, v1),
        start_rule="definition: H(p, q) = E_p[−log q]",
        cite=cite("Cover & Thomas 2006", "§2.3"),
        steps=(
            Step(target, "Gaussian moments: E_p[(x − m_2)²] = v_1 + (m_1 − m_2)²",
                 cite("standard", "moments of a Gaussian")),
            Step(h_p + kl_univariate(m1, v1, m2, v2),
                 "H(p) = ½ log(2πe v_1) plus the closed-form KL (gaussian-kl)",
                 cite(VAE, "cross entropy")),
            Step(h_p, "KL ≥ 0 (gaussian-kl), with equality iff q = p: min_q H(p, q) = H(p)",
                 cite(VAE, "cross entropy"), relation=Relation.GE,
                 gap=kl_univariate(m1, v1, m2, v2)),
        ),
    )
    return Derivation(
        name="cross-entropy",
        title="Cross-entropy = entropy + KL",
        statement=r"H(p, q) = H(p) + \mathrm{KL}(p\,\|\,q) \ge H(p)",
        premises=(r"H(p, q) = -\mathbb{E}_p[\log q]", r"H(p) = H(p, p)"),
        cites=(cite("Cover & Thomas 2006", "§2.3"), cite(VAE, "cross entropy")),
        summary="Minimising a cross-entropy in q is minimising a KL: H(p) does not depend on q.",
        parts=(discrete, gaussian),
        definitions={},
        induction_bases={n: 1},
    )


register("elbo-gap")(build_elbo_gap)
register("vae-elbo")(build_vae)
register("cross-entropy")(build_cross_entropy)
