"""Small claims of the source documents that no other derivation decides.

Each derivation here collects a few *parts*; the catalogue (``proofs/catalogue.toml``)
names the part that decides each claim.  A part whose last step is ``claimed_false``
records a claim a seed makes and the engine refutes, with the counterexample shown
beside it; the other parts verify the correct statement.

Inequality claims are written as equalities the engine can refute: "a ≤ b" is the
claim min(a, b) = a, "a ≥ 0" is max(a, 0) = a, and "a > 0" is 1_{a > 0} = 1.  At a
counterexample the two sides differ, which both the symbolic and the 50-digit check see.
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, UNIT_OPEN, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import sym
from ..registry import register
from ._common import HO, cite, gaussian_logpdf

S000 = "Yi 2023"
S001 = "VAE/VDM notes"
S002 = "DDPM notes, Part 2"
CT = "Cover & Thomas 2006"

x = sym("x", REAL, "x")
z = sym("z", REAL, "z")
m = sym("m", REAL, "m")
v = sym("v", VARIANCE, "v")
s = sym("s", VARIANCE, "s")
a = sym("a", POSITIVE, "a")
u = sym("u", POSITIVE, "u")
p = sym("p", UNIT_OPEN, "p")
theta = sym("theta", UNIT_OPEN, r"\theta")
ell = sym("ell", REAL, r"\log p(x)")


def density(at: sp.Expr, mean: sp.Expr, var: sp.Expr) -> sp.Expr:
    """N(at; mean, var) as an explicit expression."""
    return sp.exp(gaussian_logpdf(at, mean, var))


# -- densities, probabilities, normalisation ---------------------------------------------
def _density_parts() -> tuple[Part, ...]:
    peak = density(x, x, sp.Rational(1, 100))
    return (
        Part(
            title="A density value is a probability in [0, 1] (claimed)",
            lhs=r"\mathcal{N}(0; 0, 0.01)",
            start=peak,
            start_rule="the density of N(0, 0.01) evaluated at its mean",
            cite=cite(S000, "'should return a probability number between 0 and 1'"),
            steps=(
                Step(10 / sp.sqrt(2 * sp.pi), "1/√(2π · 0.01) = 10/√(2π) ≈ 3.989",
                     cite("standard", "the normal density")),
                Step(sp.Min(10 / sp.sqrt(2 * sp.pi), 1),
                     "the source: a value of q(x_0) is a probability between 0 and 1, so capping "
                     "it at 1 changes nothing", cite(S000, "Property 1"), claimed_false=True),
            ),
        ),
    )


def _decoder_parts() -> tuple[Part, ...]:
    n = sp.Symbol("n", integer=True, positive=True)
    k = sp.Symbol("k", integer=True, positive=True)
    F = sp.Function("F")
    mu_theta, x0 = sym("mu_theta_1", REAL, r"\mu_\theta"), sym("x_0c", REAL, "x_0")
    return (
        Part(
            title="The discrete decoder's bin masses sum to 1",
            lhs=r"\sum_{k=1}^{n} \big(F(b_k) - F(b_{k-1})\big)",
            start=sp.Sum(F(k) - F(k - 1), (k, 1, n)),
            start_rule=("Ho et al. Eq. 13: bin k of n has mass Φ(b_k) − Φ(b_{k−1}) with Φ the "
                        "CDF of N(μ_θ, σ_1²), b_0 = −∞ and b_n = +∞ (the first and last bins "
                        "are open); F(k) stands for Φ(b_k)"),
            cite=cite(HO, "Eq. 13"),
            steps=(
                Step(F(n) - F(0), "the sum telescopes: the terms k = 1, …, n − 1 cancel "
                     "(induction on n)", cite("standard", "telescoping sum")),
            ),
        ),
        Part(
            title="L_0 does not depend on the model parameters (claimed)",
            lhs=r"\partial L_0 / \partial \mu_\theta",
            start=sp.diff(-gaussian_logpdf(x0, mu_theta, v), mu_theta),
            start_rule=("L_0 = −log p_θ(x_0|x_1) with the Gaussian decoder "
                        "N(x_0; μ_θ(x_1, 1), σ_1²), differentiated in the network output μ_θ: "
                        "(μ_θ − x_0)/σ_1² (d/dμ (x_0 − μ)²/(2σ²); the normaliser does not "
                        "depend on μ)"),
            cite=cite(HO, "§3.3"),
            steps=(
                Step(sp.Integer(0), "the source: 'L_0 does not mention any model parameters'",
                     cite(S000, "Approximating the L_0 term, option 1"), claimed_false=True),
            ),
        ),
    )


@register("density-claims")
def build_density_claims() -> Derivation:
    return Derivation(
        name="density-claims",
        title="Densities, probabilities and the discrete decoder",
        statement=(r"\mathcal{N}(0; 0, 0.01) = 10/\sqrt{2\pi} \approx 3.99 > 1,\ "
                   r"\sum_k p_\theta(\text{bin}_k) = 1"),
        premises=(r"\mathcal{N}(x; m, v) = (2\pi v)^{-1/2} e^{-(x-m)^2/(2v)}",),
        cites=(cite(S000, "Properties of q(x_0)"), cite(HO, "Eq. 13")),
        summary=("A density is normalised by its integral and can exceed 1; probabilities "
                 "come from integrating it over a set, as the discrete decoder does."),
        parts=(*_density_parts(), *_decoder_parts()),
        definitions={},
    )


# -- entropy, KL, Jensen ------------------------------------------------------------------
def _entropy_parts() -> tuple[Part, ...]:
    h_small = sp.log(2 * sp.pi * sp.E / 100) / 2
    return (
        Part(
            title="Each term of a discrete entropy is non-negative",
            lhs=r"-p \log p,\ p \in (0, 1)",
            start=-p * sp.log(p),
            start_rule="a term of H(X) = −Σ p(x) log p(x) with a probability p ∈ (0, 1)",
            cite=cite(S001, "Shannon's entropy"),
            steps=(Step(p * sp.Integral(1 / u, (u, p, 1)), "−log p = ∫_p^1 du/u",
                        cite("standard", "the logarithm as an integral")),
                   Step(sp.Integer(0),
                        "the integrand is positive and p ≤ 1, so −p log p ≥ 0; H ∈ [0, ∞) for "
                        "a discrete X", cite(CT, "Lemma 2.1.1"), relation=Relation.GE,
                        gap=p * sp.Integral(1 / u, (u, p, 1)))),
        ),
        Part(
            title="Differential entropy of a Gaussian",
            lhs=r"h(\mathcal{N}(m, v))",
            start=-GaussE(gaussian_logpdf(x, m, v), x, m, v),
            start_rule="h(X) = −E[log p(X)] for the density p = N(m, v)",
            cite=cite(CT, "Example 8.1.2"),
            steps=(Step(sp.log(2 * sp.pi * v) / 2 + GaussE((x - m) ** 2, x, m, v) / (2 * v),
                        "linearity: −log N(x; m, v) = ½ log(2πv) + (x − m)²/(2v)",
                        cite("standard", "linearity of expectation")),
                   Step(sp.log(2 * sp.pi * sp.E * v) / 2,
                        "E[(x − m)²] = v: h = ½ log(2πv) + ½ = ½ log(2πe v)",
                        cite(CT, "Example 8.1.2"))),
        ),
        Part(
            title="The entropy of a continuous latent is non-negative (claimed)",
            lhs=r"h(\mathcal{N}(0, 0.01))",
            start=-GaussE(gaussian_logpdf(x, 0, sp.Rational(1, 100)), x, 0, sp.Rational(1, 100)),
            start_rule="the entropy H(Z) of the variational bound for Z ~ N(0, 0.01)",
            cite=cite(S001, "Varational lower-bound: E[log p(X, Z)] + H(Z)"),
            steps=(
                Step(h_small, "½ log(2πe · 0.01) ≈ −0.884 (the part above at v = 0.01)",
                     cite(CT, "Example 8.1.2")),
                Step(sp.Max(h_small, 0),
                     "the source: H ∈ [0, ∞), so clipping at 0 changes nothing",
                     cite(S001, "Shannon's entropy"), claimed_false=True),
            ),
        ),
    )


def _kl_parts() -> tuple[Part, ...]:
    ws = [sym(f"w{i}", POSITIVE, f"w_{i}") for i in range(1, 4)]
    cs = [sym(f"c{i}", POSITIVE, f"c_{i}") for i in range(1, 4)]
    P = [w / sum(ws) for w in ws]
    Q = [c / sum(cs) for c in cs]
    kl = sum(pi * sp.log(pi / qi) for pi, qi in zip(P, Q))
    gap = sum(pi * (qi / pi - 1 - sp.log(qi / pi)) for pi, qi in zip(P, Q))
    same = sum(pi * sp.log(pi / pi) for pi in P)
    return (
        Part(
            title="Gibbs' inequality, three outcomes",
            lhs=r"\mathrm{KL}(P \,\|\, Q) = \sum_x P(x) \log \frac{P(x)}{Q(x)}",
            start=kl,
            start_rule=("P_i = w_i / Σw, Q_i = c_i / Σc: every pair of distributions with full "
                        "support on three outcomes"),
            cite=cite(CT, "Thm. 2.6.3"),
            steps=(Step(gap,
                        "KL = Σ P_i (r_i − 1 − log r_i) with r_i = Q_i/P_i, because "
                        "Σ P_i r_i = Σ Q_i = 1 = Σ P_i", cite(CT, "Thm. 2.6.3")),
                   Step(sp.Integer(0), "each r − 1 − log r ≥ 0 (log r ≤ r − 1)",
                        cite(CT, "Thm. 2.6.3"), relation=Relation.GE, gap=gap)),
        ),
        Part(
            title="KL is always (strictly) positive (claimed)",
            lhs=r"\mathbf{1}\{\mathrm{KL}(P \,\|\, P) > 0\}",
            start=sp.Piecewise((1, same > 0), (0, True)),
            start_rule="KL of a distribution from itself: every log ratio is log 1 = 0",
            cite=cite(S002, "Derivation 1"),
            steps=(Step(sp.Integer(1), "the source: 'KL-divergence is always positive'",
                        cite(S002, "Derivation 1"), claimed_false=True),),
        ),
    )


def _jensen_parts() -> tuple[Part, ...]:
    gap = GaussE(x, x, m, v) ** 2 - GaussE(x**2, x, m, v)
    return (
        Part(
            title="Jensen for the convex f(x) = x²",
            lhs=r"\mathbb{E}[X^2] - (\mathbb{E} X)^2",
            start=-gap,
            start_rule="X ~ N(m, v); f convex ⇒ f(E X) ≤ E f(X)",
            cite=cite(CT, "Thm. 2.6.2"),
            steps=(Step(v, "Gaussian moments: E[X²] − (E X)² = (m² + v) − m²",
                        cite("standard", "Gaussian moments")),
                   Step(sp.Integer(0), "a variance is ≥ 0", cite(CT, "Thm. 2.6.2"),
                        relation=Relation.GE, gap=v)),
        ),
        Part(
            title="Jensen as f(E X) ≥ E f(X) for every f (claimed)",
            lhs=r"f(\mathbb{E}X) - \mathbb{E}f(X),\ f(x) = x^2",
            start=gap,
            start_rule="X ~ N(m, v) and the function f(x) = x²",
            cite=cite(S001, "Jensen's inequality"),
            steps=(
                Step(-v, "Gaussian moments: m² − (m² + v)", cite("standard", "Gaussian moments")),
                Step(sp.Max(-v, 0), "the source: f(E X) ≥ E f(X), so the difference is ≥ 0",
                     cite(S001, "Jensen's inequality"), claimed_false=True),
            ),
        ),
    )


@register("information-claims")
def build_information_claims() -> Derivation:
    return Derivation(
        name="information-claims",
        title="Entropy, KL and Jensen: the sources' statements checked",
        statement=(r"H(P) \ge 0 \text{ (discrete)},\ h(\mathcal{N}(m, v)) = "
                   r"\tfrac12\log(2\pi e v) \text{ can be} < 0,\ \mathrm{KL} \ge 0 "
                   r"\text{ with } \mathrm{KL}(P\|P) = 0"),
        premises=(r"H(P) = -\sum_x P(x)\log P(x),\ h(p) = -\int p \log p",),
        cites=(cite(CT, "§2.1, §8.1"), cite(S001, "Concepts")),
        summary=("Discrete entropy is non-negative, differential entropy is not; KL is "
                 "non-negative but not strictly positive; Jensen's direction depends on "
                 "convexity."),
        parts=(*_entropy_parts(), *_kl_parts(), *_jensen_parts()),
        definitions={},
    )


# -- likelihood, Bayes, marginals, moments -----------------------------------------------
P_A, P_B, P_B_GIVEN_A, P_JOINT = (sym(n, POSITIVE, tex) for n, tex in (
    ("P_A", "P(A)"), ("P_B", "P(B)"), ("P_BgA", "P(B|A)"), ("P_AB", "P(A, B)")))


def _bayes_parts() -> tuple[Part, ...]:
    pA, pB, pBA, pJ = P_A, P_B, P_B_GIVEN_A, P_JOINT
    return (
        Part(
            title="Bayes' theorem from the product rule",
            lhs=r"P(A \mid B)",
            start=pJ / pB,
            start_rule="definition of conditional probability, P(B) > 0",
            cite=cite(S001, "Baye's theorem"),
            steps=(Step(pBA * pA / pB, "product rule the other way: P(A, B) = P(B|A) P(A) "
                        "(applied as a definition of P(A, B))",
                        cite("standard", "product rule")),),
        ),
        Part(
            title="The likelihood is the posterior (claimed)",
            lhs=r"p(\theta \mid x = 1)",
            start=theta / sp.Integral(theta, (theta, 0, 1)),
            start_rule=("one Bernoulli(θ) observation x = 1 and a uniform prior on θ: "
                        "p(θ|x) = p(x|θ) p(θ) / ∫ p(x|θ) p(θ) dθ"),
            cite=cite(S001, "Likelihood function"),
            steps=(
                Step(2 * theta, "∫_0^1 θ dθ = ½", cite("standard", "power rule")),
                Step(theta, "the source: L(θ, x) = p(θ|x), and the likelihood of x = 1 is "
                            "p(x = 1|θ) = θ", cite(S001, "Likelihood function"),
                     claimed_false=True),
            ),
        ),
    )


def _marginal_parts() -> tuple[Part, ...]:
    return (
        Part(
            title="P(X) = P(X|Z) P(Z) (claimed)",
            lhs=r"p(x)\ \text{for}\ z \sim \mathcal{N}(0, 1),\ x \mid z \sim \mathcal{N}(z, s)",
            start=density(x, 0, 1 + s),
            start_rule=("x = z + √s ε with z, ε independent N(0, 1) has law N(0, 1 + s) (the "
                        "linear Gaussian step of forward-marginal)"),
            cite=cite(S001, "Difficulties in optimizing objective"),
            steps=(Step(density(x, z, s) * density(z, 0, 1),
                        "the source: P(X) = P(X|Z) P(Z) — a product, without integrating z out",
                        cite(S001, "P(X) = P(g(Z)) = P(X|Z)P(Z)"), claimed_false=True),),
        ),
        Part(
            title="Mean and covariance determine any distribution (claimed)",
            lhs=r"\mathbb{E}[X^4],\ X \sim \mathcal{U}(-\sqrt3, \sqrt3)",
            start=sp.Integral(x**4 / (2 * sp.sqrt(3)), (x, -sp.sqrt(3), sp.sqrt(3))),
            start_rule="U(−√3, √3) has mean 0 and variance 1, like N(0, 1)",
            cite=cite(S000, "Interpreting the meaning of LM_{t−1}"),
            steps=(
                Step(sp.Rational(9, 5), "∫ x⁴ dx / (2√3) over (−√3, √3) = 9/5",
                     cite("standard", "power rule")),
                Step(GaussE(x**4, x, 0, 1),
                     "the source: 'a multivariate distribution is fully specified by its mean "
                     "vector and covariance matrix', so it has the fourth moment of N(0, 1)",
                     cite(S000, "momentum matching"), claimed_false=True),
            ),
        ),
    )


@register("probability-claims")
def build_probability_claims() -> Derivation:
    return Derivation(
        name="probability-claims",
        title="Likelihood, Bayes' theorem and marginals: the sources' statements checked",
        statement=(r"p(\theta \mid x) \ne \mathcal{L}(\theta; x) = p(x \mid \theta),\ "
                   r"p(x) = \int p(x \mid z) p(z)\,dz"),
        premises=(r"P(A, B) = P(A \mid B) P(B) = P(B \mid A) P(A)",),
        cites=(cite(S001, "Concepts"),),
        summary=("The likelihood is p(x|θ) as a function of θ, not the posterior; a marginal "
                 "integrates the latent out; mean and covariance pin down a Gaussian, not "
                 "every law."),
        parts=(*_bayes_parts(), *_marginal_parts()),
        definitions={P_JOINT: P_B_GIVEN_A * P_A},
    )
