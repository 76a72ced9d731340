"""KL divergence between Gaussians, from its definition E_p[log p − log q].

Univariate, isotropic and diagonal in a symbolic dimension d (through sums over
coordinates, decided by induction on d), and the full-covariance formula for d = 2
(through the multivariate moment rule).  Then KL ≥ 0 with equality exactly when the
two Gaussians coincide (Cover & Thomas 2006, Thm. 2.6.3; here by an explicit gap).
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE, MvGaussE
from ..notation import d, m1, m2, sym, v1, v2
from ..registry import register
from ._common import HO, cite, gaussian_logpdf

NAME = "gaussian-kl"

x = sym("x", REAL, "x")
i = sp.Symbol("i", integer=True, positive=True)
M1 = sp.IndexedBase(sym("mu1", REAL, r"\mu_1"))
M2 = sp.IndexedBase(sym("mu2", REAL, r"\mu_2"))
V1 = sp.IndexedBase(sym("s1", VARIANCE, r"\sigma^2_1"), positive=True)
V2 = sp.IndexedBase(sym("s2", VARIANCE, r"\sigma^2_2"), positive=True)
r = sym("r", POSITIVE, "r")
u = sym("u", POSITIVE, "u")


def kl_univariate(m_1, v_1, m_2, v_2) -> sp.Expr:
    """KL(N(m_1, v_1) ‖ N(m_2, v_2)) in its textbook form -- the target of part 1."""
    return (sp.log(v_2 / v_1) + (v_1 + (m_1 - m_2) ** 2) / v_2 - 1) / 2


def log_ratio(m_1, v_1, m_2, v_2, var=x) -> sp.Expr:
    return gaussian_logpdf(var, m_1, v_1) - gaussian_logpdf(var, m_2, v_2)


def univariate_part(target=None) -> Part:
    target = kl_univariate(m1, v1, m2, v2) if target is None else target
    return Part(
        title="Univariate",
        lhs=r"\mathrm{KL}(\mathcal{N}(m_1, v_1)\,\|\,\mathcal{N}(m_2, v_2))",
        start=GaussE(log_ratio(m1, v1, m2, v2), x, m1, v1),
        start_rule="definition: KL(p‖q) = E_p[log p(x) − log q(x)] with Gaussian log-densities",
        cite=cite("Cover & Thomas 2006", "§2.3"),
        steps=(
            Step(GaussE(sp.log(v2 / v1) / 2 - (x - m1) ** 2 / (2 * v1)
                        + (x - m2) ** 2 / (2 * v2), x, m1, v1),
                 "the 2π terms cancel; $log √(v_2/v_1) = ½ log(v_2/v_1)$",
                 cite("standard", "log of a Gaussian density")),
            Step(sp.log(v2 / v1) / 2 - sp.Rational(1, 2) + (v1 + (m1 - m2) ** 2) / (2 * v2),
                 "Gaussian moments: $E[(x − m_1)²] = v_1$ and $E[(x − m_2)²] = v_1 + (m_1 − m_2)²$",
                 cite("standard", "moments of a Gaussian")),
            Step(target, "collect the ½", cite("Cover & Thomas 2006", "§8.4")),
        ),
    )


def isotropic_part() -> Part:
    total = (d * (sp.log(v2 / v1) + v1 / v2 - 1) / 2
             + sp.Sum((M1[i] - M2[i]) ** 2, (i, 1, d)) / (2 * v2))
    return Part(
        title="Isotropic, symbolic dimension d",
        lhs=r"\mathrm{KL}(\mathcal{N}(\mu_1, v_1 I_d)\,\|\,\mathcal{N}(\mu_2, v_2 I_d))",
        start=sp.Sum(GaussE(log_ratio(M1[i], v1, M2[i], v2), x, M1[i], v1), (i, 1, d)),
        start_rule=(
            "an isotropic Gaussian density is a product over coordinates, so the log-ratio is "
            "a sum of per-coordinate log-ratios, and x_i ~ N(μ_{1,i}, v_1) under p"
        ),
        cite=cite(HO, "§3.2"),
        steps=(
            Step(sp.Sum(kl_univariate(M1[i], v1, M2[i], v2), (i, 1, d)),
                 "each term is the univariate KL (part 1)", cite("Cover & Thomas 2006", "§8.4")),
            Step(total, "the terms without μ add up d times: ½ d (log(v_2/v_1) + v_1/v_2 − 1) "
                        "+ ‖μ_1 − μ_2‖²/(2 v_2)", cite(HO, "§3.2")),
        ),
    )


def diagonal_part() -> Part:
    return Part(
        title="Diagonal covariance, symbolic dimension d",
        lhs=r"\mathrm{KL}(\mathcal{N}(\mu_1, \mathrm{diag}\,\sigma^2_1)\,\|\,"
            r"\mathcal{N}(\mu_2, \mathrm{diag}\,\sigma^2_2))",
        start=sp.Sum(GaussE(log_ratio(M1[i], V1[i], M2[i], V2[i]), x, M1[i], V1[i]), (i, 1, d)),
        start_rule="a diagonal Gaussian factorises over coordinates",
        cite=cite("Cover & Thomas 2006", "§8.4"),
        steps=(
            Step(sp.Sum(GaussE(sp.log(V2[i] / V1[i]) / 2 - (x - M1[i]) ** 2 / (2 * V1[i])
                               + (x - M2[i]) ** 2 / (2 * V2[i]), x, M1[i], V1[i]), (i, 1, d)),
                 "in each coordinate the 2π terms cancel", cite("standard",
                                                                "log of a Gaussian density")),
            Step(sp.Sum((sp.log(V2[i] / V1[i]) + (V1[i] + (M1[i] - M2[i]) ** 2) / V2[i] - 1) / 2,
                        (i, 1, d)),
                 "Gaussian moments in each coordinate: the univariate KL (part 1) with "
                 "its own variances σ²_{1,i}, σ²_{2,i}", cite("standard", "moments of a Gaussian")),
        ),
    )


def full_covariance_part() -> Part:
    a1, b1, a2, b2 = (sym(n, POSITIVE, tex) for n, tex in
                      (("a1", "a_1"), ("b1", "b_1"), ("a2", "a_2"), ("b2", "b_2")))
    c1, c2, p1, q1, p2, q2 = (sym(n, REAL, tex) for n, tex in
                              (("c1_chol", "c_1"), ("c2_chol", "c_2"), ("p1", "p_1"), ("q1", "q_1"),
                               ("p2", "p_2"), ("q2", "q_2")))
    L1, L2 = sp.Matrix([[a1, 0], [c1, b1]]), sp.Matrix([[a2, 0], [c2, b2]])
    S1, S2 = L1 * L1.T, L2 * L2.T
    mu1, mu2 = sp.Matrix([p1, q1]), sp.Matrix([p2, q2])
    x1, x2 = sym("y1", REAL, "x_1"), sym("y2", REAL, "x_2")
    X = sp.Matrix([x1, x2])

    def logpdf(mu, S):
        diff = X - mu
        return (-sp.log(2 * sp.pi) - sp.log(sp.expand(S.det())) / 2
                - (diff.T * S.inv() * diff)[0, 0] / 2)

    S1inv, S2inv = S1.inv(), S2.inv()
    det1, det2 = sp.expand(S1.det()), sp.expand(S2.det())
    target = ((S2inv * S1).trace() + ((mu2 - mu1).T * S2inv * (mu2 - mu1))[0, 0] - 2
              + sp.log(det2 / det1)) / 2
    d1, d2 = X - mu1, X - mu2
    quad = sp.log(det2 / det1) / 2 + (-(d1.T * S1inv * d1)[0, 0] + (d2.T * S2inv * d2)[0, 0]) / 2
    moments = (sp.log(det2 / det1) / 2 - (S1inv * S1).trace() / 2
               + ((S2inv * S1).trace() + ((mu1 - mu2).T * S2inv * (mu1 - mu2))[0, 0]) / 2)
    E = lambda f: MvGaussE(f, sp.Tuple(x1, x2), sp.ImmutableMatrix(mu1),  # noqa: E731
                           sp.ImmutableMatrix(S1))
    return Part(
        title="Full covariance, d = 2",
        lhs=r"\mathrm{KL}(\mathcal{N}(\mu_1, \Sigma_1)\,\|\,\mathcal{N}(\mu_2, \Sigma_2))",
        start=E(logpdf(mu1, S1) - logpdf(mu2, S2)),
        start_rule=("definition of KL with the bivariate Gaussian density; Σ_j = L_j L_jᵀ with "
                    "L_j lower triangular and positive diagonal (every covariance has this form)"),
        cite=cite("Cover & Thomas 2006", "§8.4"),
        steps=(
            Step(E(quad), "the 2π terms cancel: ½ log(det Σ_2/det Σ_1) − ½ (x − μ_1)ᵀΣ_1⁻¹"
                          "(x − μ_1) + ½ (x − μ_2)ᵀΣ_2⁻¹(x − μ_2)",
                 cite("standard", "log of a Gaussian density")),
            Step(moments,
                 "E[(x − μ)ᵀA(x − μ)] = tr(AΣ_1) + (μ_1 − μ)ᵀA(μ_1 − μ) under N(μ_1, Σ_1), "
                 "for A = Σ_1⁻¹ (μ = μ_1) and A = Σ_2⁻¹ (μ = μ_2)",
                 cite("standard", "moments of a Gaussian quadratic form")),
            Step(target, "tr(Σ_1⁻¹Σ_1) = tr I = d = 2: ½[tr(Σ_2⁻¹Σ_1) + (μ_2 − μ_1)ᵀΣ_2⁻¹"
                         "(μ_2 − μ_1) − d + log(det Σ_2/det Σ_1)]",
                 cite("Cover & Thomas 2006", "§8.4")),
        ),
    )


def nonnegativity_parts() -> tuple[Part, Part]:
    kl = kl_univariate(m1, v1, m2, v2)
    g = r - 1 - sp.log(r)
    split = (m1 - m2) ** 2 / (2 * v2) + g.xreplace({r: v1 / v2}) / 2
    return (
        Part(
            title="r − 1 − log r is non-negative",
            lhs=r"r - 1 - \log r",
            start=sp.Integral(1 - 1 / u, (u, 1, r)),
            start_rule=("∫_1^r (1 − 1/u) du: the integrand has the sign of u − 1, so the "
                        "integral is ≥ 0 whether r ≥ 1 or r < 1, and 0 only at r = 1"),
            cite=cite("Cover & Thomas 2006", "Thm. 2.6.3"),
            steps=(Step(g, "integrate: ∫_1^r du = r − 1 and ∫_1^r du/u = log r",
                        cite("standard", "fundamental theorem of calculus")),
                   Step(sp.Integer(0), "g(r) ≥ 0 (log-inequality)",
                        cite("Cover & Thomas 2006", "Thm. 2.6.3"), relation=Relation.GE,
                        gap=g)),
        ),
        Part(
            title="KL ≥ 0, with equality exactly when the Gaussians coincide",
            lhs=r"\mathrm{KL}(\mathcal{N}(m_1, v_1)\,\|\,\mathcal{N}(m_2, v_2))",
            start=kl,
            start_rule="the univariate KL (part 1)",
            cite=cite("Cover & Thomas 2006", "Thm. 2.6.3"),
            steps=(
                Step(split,
                     "with $r = v_1/v_2$: $½ log(v_2/v_1) = −½ log r$, so "
                     "$KL = (m_1 − m_2)²/(2 v_2) + ½ (r − 1 − log r)$",
                     cite("standard", "log of a quotient")),
                Step(sp.Integer(0),
                     "a square over a positive variance, plus the non-negative function above; "
                     "both vanish only when m_1 = m_2 and r = 1, i.e. when the Gaussians "
                     "coincide (log-inequality, equality only at u = 1)",
                     cite("Cover & Thomas 2006", "Thm. 2.6.3"),
                     relation=Relation.GE, gap=split),
            ),
        ),
    )


def build(univariate_target=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="KL divergence between Gaussians",
        statement=(
            r"\mathrm{KL}(\mathcal{N}(m_1, v_1)\,\|\,\mathcal{N}(m_2, v_2)) = "
            r"\tfrac12\left(\log\frac{v_2}{v_1} + \frac{v_1 + (m_1-m_2)^2}{v_2} - 1\right) \ge 0"
        ),
        premises=(r"\mathrm{KL}(p\,\|\,q) = \mathbb{E}_{p}[\log p(x) - \log q(x)]",),
        cites=(cite("Cover & Thomas 2006", "§8.4"), cite("Ho et al. 2020", "§3.2")),
        summary=("Every closed-form KL in the DDPM objective is one of these; the ELBO's "
                 "L_T and L_{t−1} are KLs between Gaussians."),
        parts=(univariate_part(univariate_target), isotropic_part(), diagonal_part(),
               full_covariance_part(), *nonnegativity_parts()),
        definitions={},
        exports={"kl_univariate": kl_univariate(m1, v1, m2, v2)},
    )


register(NAME)(build)
