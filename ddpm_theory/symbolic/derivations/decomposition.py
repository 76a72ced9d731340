"""The bound L rewritten as a sum of KL terms (Ho et al. 2020, Eqs. 3–5; homework
eqs. 4 → 5 → 8).

Everything happens inside E_q, pointwise in x_{0:T}, with abstract density functions:

* q(x_t | x_s) for s < t is one undefined function ``q_fwd(s, t, x_t, x_s)``, so that
  the first forward step q(x_1 | x_0) *is* the marginal at t = 1;
* the forward posterior is *defined* by Bayes' rule under the Markov property
  (homework eq. 7): q(x_{t−1} | x_t, x_0) := q(x_t | x_{t−1}) q(x_{t−1} | x_0) / q(x_t | x_0);
* p(x_T) and p_θ(x_{t−1} | x_t) are further undefined functions.

The chain is checked for a symbolic T (the sums and products are decided by induction on
T; the telescoping ∏_{t=2}^{T} q(x_{t−1}|x_0)/q(x_t|x_0) = q(x_1|x_0)/q(x_T|x_0) is its
own part) and again, written out, for T = 2, ..., 6.  Taking E_q term by term turns each
log-ratio into a KL because each depends only on the variables its KL integrates over.
"""

from __future__ import annotations

import sympy as sp

from ...domains import REAL, TIMESTEP
from ..certificates import Apply
from ..engine import Derivation, Part, Premise, Step
from ..notation import sym
from ..registry import register
from ._common import HO, HW, cite

NAME = "elbo-decomposition"

X = sp.IndexedBase(sym("x", REAL, "x"))
t = sp.Symbol("t", integer=True, positive=True)
T = sym("T", TIMESTEP, "T")

q_fwd = sp.Function("q_fwd", positive=True)      # q(x_t | x_s), s < t: q_fwd(s, t, x_t, x_s)
q_post = sp.Function("q_post", positive=True)    # q(x_{t−1}|x_t, x_0): (t, x_{t−1}, x_t, x_0)
p_theta = sp.Function("p_theta", positive=True)  # p_θ(x_{t−1} | x_t): p_theta(t, x_{t−1}, x_t)
p_T = sp.Function("p_T", positive=True)          # p(x_T)

_k, _a, _b, _c = sp.symbols("k a b c")
#: Bayes' rule under the Markov property (homework eq. 7): a premise of the derivations
#: that use it, reported as assumed (bayes-posterior checks it on Gaussian densities)
BAYES = Premise(
    "Markov property and Bayes' rule",
    r"q(x_{t-1} \mid x_t, x_0) = q(x_t \mid x_{t-1})\,q(x_{t-1} \mid x_0) / q(x_t \mid x_0)",
    {q_post: sp.Lambda((_k, _a, _b, _c),
                       q_fwd(_k - 1, _k, _b, _a) * q_fwd(0, _k - 1, _a, _c)
                       / q_fwd(0, _k, _b, _c))},
    cite(HW, "eq. 7"),
)


def q_step(s):
    """q(x_s | x_{s−1})."""
    return q_fwd(s - 1, s, X[s], X[s - 1])


def q_marg(s):
    """q(x_s | x_0)."""
    return q_fwd(0, s, X[s], X[0])


def p_step(s):
    """p_θ(x_{s−1} | x_s)."""
    return p_theta(s, X[s - 1], X[s])


def eq8(upper) -> sp.Expr:
    """The integrand of the homework's eq. 8 (Ho et al. 2020, Eq. 5): L_T + Σ L_{t−1} + L_0."""
    return (sp.log(q_marg(upper) / p_T(X[upper]))
            + sp.Sum(sp.log(q_post(t, X[t - 1], X[t], X[0]) / p_step(t)), (t, 2, upper))
            - sp.log(p_step(1)))


def chain_part(upper, target=None, title=None) -> Part:
    """Eq. 4 → eq. 5 → eq. 8 for the upper limit ``upper`` (a symbol or an integer)."""
    target = eq8(upper) if target is None else target
    prod_p = sp.Product(p_step(t), (t, 1, upper))
    prod_q = sp.Product(q_step(t), (t, 1, upper))
    ratio = sp.log(p_step(t) / q_step(t))
    post_ratio = sp.log(p_step(t) / q_post(t, X[t - 1], X[t], X[0]))
    return Part(
        title=title or f"Eq. 4 to eq. 8, T = {upper}",
        lhs=r"-\log\frac{p_\theta(x_{0:T})}{q(x_{1:T}|x_0)}",
        start=-sp.log(p_T(X[upper]) * prod_p / prod_q),
        start_rule=(
            "the integrand of L, with p_θ(x_{0:T}) = p(x_T) ∏_{t=1}^{T} p_θ(x_{t−1}|x_t) and "
            "q(x_{1:T}|x_0) = ∏_{t=1}^{T} q(x_t|x_{t−1})"
        ),
        cite=cite(HW, "eqs. 1, 2, 4"),
        steps=(
            Step(-sp.log(p_T(X[upper])) - sp.Sum(ratio, (t, 1, upper)),
                 "log of a product is the sum of the logs: the homework's eq. 5",
                 cite(HW, "eq. 5")),
            Step(-sp.log(p_T(X[upper])) - sp.Sum(ratio, (t, 2, upper)) - ratio.xreplace({t: 1}),
                 "take the t = 1 term out of the sum", cite(HO, "Eq. 18 (App. A)")),
            Step(-sp.log(p_T(X[upper]))
                 - sp.Sum(post_ratio + sp.log(q_marg(t - 1) / q_marg(t)), (t, 2, upper))
                 - ratio.xreplace({t: 1}),
                 "Bayes under the Markov property, for t ≥ 2: q(x_t|x_{t−1}) = "
                 "q(x_{t−1}|x_t, x_0) q(x_t|x_0)/q(x_{t−1}|x_0)", cite(HW, "eq. 7")),
            Step(-sp.log(p_T(X[upper])) - sp.Sum(post_ratio, (t, 2, upper))
                 - sp.log(q_marg(1) / q_marg(upper)) - ratio.xreplace({t: 1}),
                 "the product ∏_{t=2}^{T} q(x_{t−1}|x_0)/q(x_t|x_0) telescopes to "
                 "q(x_1|x_0)/q(x_T|x_0) (part 'telescoping')", cite(HO, "Eq. 21 (App. A)")),
            Step(target,
                 "q(x_1|x_0) cancels against the t = 1 forward step; regroup as "
                 "log q(x_T|x_0)/p(x_T) + Σ_{t≥2} log q(x_{t−1}|x_t,x_0)/p_θ(x_{t−1}|x_t) "
                 "− log p_θ(x_0|x_1); under E_q these are KL(q(x_T|x_0) ‖ p(x_T)), "
                 "KL(q(x_{t−1}|x_t,x_0) ‖ p_θ(x_{t−1}|x_t)) and −log p_θ(x_0|x_1)",
                 cite(HW, "eq. 8")),
        ),
    )


def explicit_part(upper: int, target: sp.Expr) -> Part:
    """The same chain of steps for an explicit T: every sum and product over t = 1..T is
    written out by the checks (empty sums 0, empty products 1)."""
    return chain_part(upper, target, f"The whole chain, T = {upper}")


def telescoping_part(target=None) -> Part:
    target = sp.log(q_marg(1)) - sp.log(q_marg(T)) if target is None else target
    lq = sp.log(q_marg(t - 1))
    return Part(
        title="Telescoping, symbolic T",
        lhs=r"\sum_{t=2}^{T}\log\frac{q(x_{t-1}|x_0)}{q(x_t|x_0)}",
        start=sp.Sum(sp.log(q_marg(t - 1)) - sp.log(q_marg(t)), (t, 2, T)),
        start_rule="the log of the product of the ratios left over by the Bayes rewrite",
        cite=cite(HO, "Eq. 21 (App. A)"),
        steps=(
            Step(sp.Sum(lq, (t, 2, T)) - sp.Sum(sp.log(q_marg(t)), (t, 2, T)),
                 "split the sum (linearity)", cite("standard", "linearity of a finite sum")),
            Step(sp.log(q_marg(1)) + sp.Sum(lq, (t, 3, T)) - sp.Sum(sp.log(q_marg(t)), (t, 2, T)),
                 "take the first term (t = 2) out of the first sum",
                 cite("standard", "splitting a finite sum")),
            Step(sp.log(q_marg(1)) + sp.Sum(lq, (t, 3, T)) - sp.Sum(lq, (t, 3, T))
                 - sp.log(q_marg(T)),
                 "shift the index of the second sum (t → t − 1) and take its last term out "
                 "(induction on T)", cite("standard", "index shift in a finite sum")),
            Step(target, "the middle sums cancel: log q(x_1|x_0) − log q(x_T|x_0)",
                 cite("standard", "telescoping sum")),
        ),
    )


# -- the same decomposition on explicit Gaussians, T = 2 --------------------------------------
#: a concrete schedule whose square roots are rational: √α_1 = 24/25, √α_2 = 12/13
ROOT_ALPHA = (sp.Rational(24, 25), sp.Rational(12, 13))
x1g = sym("x_1", REAL, "x_1")
x2g = sym("x_2", REAL, "x_2")


def _gauss_chain(slip=None) -> Part:
    """L for T = 2 with Gaussian densities: eq. 4 → L_T + L_1 + L_0, each expectation over
    the chain (x_1 ~ q(x_1|x_0), x_2 ~ q(x_2|x_1)), with the other variable integrated out
    and L_1 passed to E_{q(x_2|x_0)}[KL] by the lemma marginalisation-to-kl."""
    from ..expectation import GaussE
    from ..notation import DEFINITIONS, alpha, alpha_bar_prev, sigma2, x0, xt
    from ..procedures import substitute_definitions
    from ._common import gaussian_logpdf as lg
    from .bound import c_dec, s2_dec
    from .kl import kl_univariate
    from .marginalisation import KL_PART, A, B, M, S, V, h_rev, k_rev
    from .marginalisation import NAME as MARGINALISATION
    from .posterior import BETA_TILDE, MU_TILDE

    r1, r2 = ROOT_ALPHA
    a1, a2 = r1**2, r2**2
    ab2 = a1 * a2
    at_t2 = {alpha_bar_prev: a1, alpha: a2}          # the posterior of step t = 2
    mu2, bt2 = (substitute_definitions(e, DEFINITIONS).xreplace(at_t2)
                for e in (MU_TILDE.xreplace({xt: x2g}), BETA_TILDE))
    mu2 = sp.expand(mu2)
    pair = {M: r1 * r2 * x0, V: 1 - ab2, A: mu2.coeff(x2g), B: mu2.coeff(x0) * x0, S: bt2}

    def E(f: sp.Expr) -> sp.Expr:
        return GaussE(GaussE(f, x2g, r2 * x1g, 1 - a2), x1g, r1 * x0, 1 - a1)

    q1, q21 = lg(x1g, r1 * x0, 1 - a1), lg(x2g, r2 * x1g, 1 - a2)
    q2, qpost = lg(x2g, r1 * r2 * x0, 1 - ab2), lg(x1g, mu2, bt2)
    pT, p1, p0 = lg(x2g, 0, 1), lg(x1g, k_rev * x2g + h_rev, sigma2), lg(x0, c_dec * x1g, s2_dec)
    L_T = kl_univariate(r1 * r2 * x0, 1 - ab2, 0, 1)
    L_0 = GaussE(-p0, x1g, r1 * x0, 1 - a1)
    L_1 = GaussE(kl_univariate(mu2.xreplace({x2g: xt}), bt2, k_rev * xt + h_rev, sigma2),
                 xt, r1 * r2 * x0, 1 - ab2)
    final = L_T + L_1 + L_0 if slip is None else slip(L_T, L_1, L_0)
    return Part(
        title="Gaussian chain, T = 2: L = L_T + L_1 + L_0",
        lhs=r"L = \mathbb{E}_q\Big[-\log\frac{p_\theta(x_{0:2})}{q(x_{1:2}|x_0)}\Big]",
        start=E(q1 + q21 - pT - p1 - p0),
        start_rule=("√α_1 = 24/25, √α_2 = 12/13; p(x_2) = N(0, 1), p_θ(x_1|x_2) = "
                    "N(k x_2 + h, σ²), p_θ(x_0|x_1) = N(c x_1, s²); E over x_1 ~ q(x_1|x_0), "
                    "then x_2 ~ q(x_2|x_1)"),
        cite=cite(HO, "Eq. 3"),
        steps=(
            Step(E(qpost + q2 - pT - p1 - p0),
                 "Bayes under the Markov property: q(x_1|x_0) q(x_2|x_1) = q(x_2|x_0) "
                 "q(x_1|x_2, x_0), with the Gaussian densities of bayes-posterior",
                 cite(HW, "eq. 7")),
            Step(E(q2 - pT) + E(qpost - p1) + E(-p0),
                 "linearity: the three terms L_T, L_1, L_0", cite(HO, "Eq. 5")),
            Step(GaussE(q2 - pT, x2g, r1 * r2 * x0, 1 - ab2) + E(qpost - p1) + L_0,
                 "x_1 integrates out of L_T and x_2 out of L_0: x_2|x_0 ~ N(√ᾱ_2 x_0, 1 − ᾱ_2) "
                 "(forward-marginal)", cite(HO, "Eq. 4")),
            Step(L_T + E(qpost - p1) + L_0, "L_T = KL(q(x_2|x_0) ‖ p(x_2)) (gaussian-kl)",
                 cite(HO, "Eq. 5")),
            Step(final, "L_1 = E_{q(x_2|x_0)}[KL(q(x_1|x_2,x_0) ‖ p_θ(x_1|x_2))]: the "
                        "marginalisation lemma applied to the pair (x_1, x_2)",
                 cite(HW, "eq. 8"), certificate=Apply(MARGINALISATION, KL_PART, pair)),
        ),
    )


def build(target=None, telescoped=None, explicit=(2, 3), gaussian=True,
          gaussian_slip=None) -> Derivation:
    """``target`` maps an upper limit to the eq. 8 integrand (planted slips in tests)."""
    make = eq8 if target is None else target
    parts = [telescoping_part(telescoped),
             chain_part(T, make(T), "Eq. 4 to eq. 8, symbolic T")]
    parts += [explicit_part(k, make(k)) for k in explicit]
    if gaussian:
        parts.append(_gauss_chain(gaussian_slip))
    return Derivation(
        name=NAME,
        title="The bound L as a sum of KL terms",
        statement=(
            r"L = \mathbb{E}_q\Big[\mathrm{KL}(q(x_T|x_0)\,\|\,p(x_T)) + \sum_{t>1}"
            r"\mathrm{KL}(q(x_{t-1}|x_t,x_0)\,\|\,p_\theta(x_{t-1}|x_t)) - "
            r"\log p_\theta(x_0|x_1)\Big]"
        ),
        premises=(
            r"p_\theta(x_{0:T}) = p(x_T)\prod_{t=1}^T p_\theta(x_{t-1}|x_t)",
            r"q(x_{1:T}|x_0) = \prod_{t=1}^T q(x_t|x_{t-1})",
        ),
        cites=(cite(HO, "Eq. 5"), cite(HW, "eqs. 4, 5, 8")),
        summary=(
            "Writing each forward step through the posterior introduces ratios of "
            "marginals that telescope; what is left is L_T + Σ L_{t−1} + L_0."
        ),
        parts=tuple(parts),
        assumptions=(BAYES,),
        induction_bases={T: 2},
    )


register(NAME)(build)
