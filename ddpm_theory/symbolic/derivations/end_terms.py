"""The two end terms of the bound: the prior term L_T and the decoder term L_0.

``prior-term``
    L_T = KL(q(x_T|x_0) ‖ N(0, I)) = ½(ᾱ_T (‖x_0‖² − d) − d log(1 − ᾱ_T)): no parameter
    of the model appears (Ho et al. 2020, §3.1).
``decoder-term``
    The discretised Gaussian decoder (Ho et al. 2020, Eq. 13): the probability of a
    pixel's bin [δ−, δ+] under N(μ_θ, σ_1²) is Φ((δ+ − μ_θ)/σ_1) − Φ((δ− − μ_θ)/σ_1),
    with the edge bins extended to −∞ and +∞ so that the bins' probabilities add up to
    one; and the continuous decoder's −log N(x_0; μ_θ(x_1), σ_1² I) =
    ‖x_0 − μ_θ‖²/(2σ_1²) + (d/2) log(2πσ_1²).
"""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, TIMESTEP, UNIT_OPEN, VARIANCE
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import d, sym
from ..registry import register
from ._common import HO, cite, gaussian_logpdf

i = sp.Symbol("i", integer=True, positive=True)
X0 = sp.IndexedBase(sym("x0v", REAL, "x_0"))
MU = sp.IndexedBase(sym("muv", REAL, r"\mu_\theta"))
alpha_bar_T = sym("alphabar_T", UNIT_OPEN, r"\bar\alpha_T")
y = sym("y_end", REAL, "x_T")
xv = sym("x_end", REAL, "x")
mu = sym("mu_dec", REAL, r"\mu_\theta")
s1 = sym("sigma_1", VARIANCE, r"\sigma_1")       # standard deviation σ_1 > 0
lo = sym("delta_minus", REAL, r"\delta_-")
hi = sym("delta_plus", REAL, r"\delta_+")
v1 = sym("sigma2_1", VARIANCE, r"\sigma_1^2")


def Phi(z: sp.Expr) -> sp.Expr:
    """The standard normal CDF, Φ(z) = (1 + erf(z/√2))/2 (the argument expanded, as SymPy's
    limits return it, so that both forms are one generator for the decision procedures)."""
    return (1 + sp.erf(sp.expand(z / sp.sqrt(2)))) / 2


def std_normal(v: sp.Expr) -> sp.Expr:
    return sp.exp(-v**2 / 2) / sp.sqrt(2 * sp.pi)


#: L_T in closed form (Ho et al. 2020, §3.1), per data vector of dimension d
L_T = (alpha_bar_T * (sp.Sum(X0[i] ** 2, (i, 1, d)) - d) - d * sp.log(1 - alpha_bar_T)) / 2


def build_prior(target=None) -> Derivation:
    target = L_T if target is None else target
    mean, var = sp.sqrt(alpha_bar_T) * X0[i], 1 - alpha_bar_T
    part = Part(
        title="L_T in closed form, dimension d",
        lhs=r"\mathrm{KL}(q(x_T|x_0)\,\|\,\mathcal{N}(0, I))",
        start=sp.Sum(GaussE(gaussian_logpdf(y, mean, var) - gaussian_logpdf(y, 0, 1),
                            y, mean, var), (i, 1, d)),
        start_rule=("q(x_T|x_0) = N(√ᾱ_T x_0, (1 − ᾱ_T) I) (forward-marginal); p(x_T) = "
                    "N(0, I); both isotropic, so the KL is a sum over coordinates"),
        cite=cite(HO, "§3.1"),
        steps=(
            Step(sp.Sum((alpha_bar_T * X0[i] ** 2 - alpha_bar_T - sp.log(1 - alpha_bar_T)) / 2,
                        (i, 1, d)),
                 "Gaussian moments in each coordinate: ½(ᾱ_T x_{0,i}² + (1 − ᾱ_T) − 1 − "
                 "log(1 − ᾱ_T))", cite("standard", "moments of a Gaussian")),
            Step(target, "sum over i: ½(ᾱ_T(‖x_0‖² − d) − d log(1 − ᾱ_T)); no θ appears, so "
                         "L_T is a constant during training", cite(HO, "§3.1")),
        ),
    )
    return Derivation(
        name="prior-term",
        title="The prior term L_T",
        statement=(r"L_T = \mathrm{KL}(q(x_T|x_0)\,\|\,\mathcal{N}(0, I)) = \tfrac12\big("
                   r"\bar\alpha_T(\|x_0\|^2 - d) - d\log(1-\bar\alpha_T)\big)"),
        premises=(r"q(x_T|x_0) = \mathcal{N}(\sqrt{\bar\alpha_T}x_0, (1-\bar\alpha_T)I)",),
        cites=(cite(HO, "§3.1"),),
        summary="L_T has no learnable parameter; it is small when ᾱ_T is close to 0.",
        parts=(part,),
        definitions={},
        exports={"L_T_per_coordinate": (alpha_bar_T * (xv**2 - 1) - sp.log(1 - alpha_bar_T)) / 2},
    )


def build_decoder(bin_target=None, highest_bin=None) -> Derivation:
    """``bin_target`` replaces the interior-bin formula, ``highest_bin`` the highest bin's
    probability in the partition (planted slips in tests)."""
    cand = Phi((hi - mu) / s1) - Phi((lo - mu) / s1) if bin_target is None else bin_target
    parts = (
        _empty_bin_part(cand),
        _edge_derivative_part(cand, hi, 1),
        _edge_derivative_part(cand, lo, -1),
        _open_edge_part(lowest=True),
        _open_edge_part(lowest=False),
        _total_part(highest_bin),
        _continuous_part(),
    )
    z_hi, z_lo = (hi - mu) / s1, (lo - mu) / s1
    return Derivation(
        name="decoder-term",
        title="The decoder term L_0: discretised and continuous Gaussian decoders",
        statement=(
            r"p_\theta(x_0|x_1) = \prod_{i=1}^{d}\Big[\Phi\Big(\frac{\delta_+(x_0^i) - "
            r"\mu_\theta^i}{\sigma_1}\Big) - \Phi\Big(\frac{\delta_-(x_0^i) - \mu_\theta^i}"
            r"{\sigma_1}\Big)\Big],\ \delta_\pm = x \pm \tfrac1{255}\ \text{inside},\ "
            r"\pm\infty\ \text{at the edges}"
        ),
        premises=(r"p_\theta(x_0|x_1)\ \text{is}\ \mathcal{N}(\mu_\theta(x_1, 1), \sigma_1^2 I)"
                  r"\ \text{integrated over each pixel's bin}",),
        cites=(cite(HO, "Eq. 13"),),
        summary=("L_0 = −log p_θ(x_0|x_1) is a sum over pixels of −log of a difference of "
                 "normal CDFs; the bins partition the real line, so it is a proper "
                 "distribution over the 256 pixel values."),
        parts=parts,
        definitions={},
        induction_bases={n_edges: 1},
        exports={"bin_probability": Phi(z_hi) - Phi(z_lo),
                 "lowest_bin_probability": Phi(z_hi),
                 "highest_bin_probability": 1 - Phi(z_lo)},
    )


w = sym("w_dec", POSITIVE, "w")
n_edges = sym("n_edges", TIMESTEP, "n")
k = sp.Symbol("k", integer=True, positive=True)
EDGE = sp.IndexedBase(sym("edge", REAL, "e"))


def _empty_bin_part(cand: sp.Expr) -> Part:
    return Part(
        title="An interior bin: an empty bin has probability 0",
        lhs=r"P(\text{bin})\big|_{\delta_+ = \delta_-}",
        start=cand.xreplace({hi: lo}),
        start_rule="the candidate at δ+ = δ−",
        cite=cite(HO, "Eq. 13"),
        steps=(Step(sp.Integer(0), "the two CDF terms coincide; with the two derivatives "
                    "below, the fundamental theorem of calculus makes the candidate equal "
                    "∫_{δ−}^{δ+} N(x; μ_θ, σ_1²) dx", cite("standard", "fundamental theorem "
                                                         "of calculus")),),
    )


def _expanded_exponents(e: sp.Expr) -> sp.Expr:
    """exp(u) with u expanded: the derivative of erf leaves its exponent unexpanded, which
    the decision procedures would take for another generator than the density's."""
    return e.replace(lambda a: isinstance(a, sp.exp), lambda a: sp.exp(sp.expand(a.args[0])))


def _edge_derivative_part(cand: sp.Expr, edge: sp.Symbol, sign: int) -> Part:
    """∂P/∂δ± = ±N(δ±; μ_θ, σ_1²): the candidate's derivatives are the density."""
    zz = (edge - mu) / s1
    ex = _expanded_exponents
    name = "δ+" if sign > 0 else "δ−"
    return Part(
        title=f"An interior bin: the derivative in {name} is {'' if sign > 0 else 'minus '}"
              "the density",
        lhs=rf"\partial_{{\delta_{'+' if sign > 0 else '-'}}}P(\text{{bin}})",
        start=ex(sp.diff(cand, edge)),
        start_rule=(f"the candidate Φ((δ+ − μ_θ)/σ_1) − Φ((δ− − μ_θ)/σ_1) for the bin "
                    f"[δ−, δ+], differentiated in {name}"),
        cite=cite(HO, "Eq. 13"),
        steps=(
            Step(ex(sign * sp.Rational(1, 2) * 2 / sp.sqrt(sp.pi)
                    * sp.exp(-(zz / sp.sqrt(2)) ** 2) / (sp.sqrt(2) * s1)),
                 "d/dz erf(z) = 2e^{−z²}/√π, chain rule through z = (δ − μ_θ)/(√2σ_1)",
                 cite("standard", "derivative of erf")),
            Step(ex(sign * std_normal(zz) / s1), f"= {'' if sign > 0 else '−'}φ(z)/σ_1, the "
                 f"density N({name}; μ_θ, σ_1²)", cite("standard", "Φ′(z) = φ(z)")),
        ),
    )


def _open_edge_part(lowest: bool) -> Part:
    z_hi, z_lo = (hi - mu) / s1, (lo - mu) / s1
    far = (-1 / w - mu) / s1 if lowest else (1 / w - mu) / s1
    if lowest:
        start = sp.Limit(Phi(z_hi) - Phi(far), w, 0, "+")
        mid = Phi(z_hi) - (1 + sp.Limit(sp.erf(far / sp.sqrt(2)), w, 0, "+")) / 2
        end, what = Phi(z_hi), "the CDF at the upper edge"
    else:
        start = sp.Limit(Phi(far) - Phi(z_lo), w, 0, "+")
        mid = (1 + sp.Limit(sp.erf(far / sp.sqrt(2)), w, 0, "+")) / 2 - Phi(z_lo)
        end, what = 1 - Phi(z_lo), "one minus the CDF at the lower edge"
    return Part(
        title="The lowest bin, x_0 = −1" if lowest else "The highest bin, x_0 = 1",
        lhs=r"P(x \le \delta_+)" if lowest else r"P(x \ge \delta_-)",
        start=start,
        start_rule=("the interior formula with the open edge δ" + ("− = −1/w" if lowest
                    else "+ = 1/w") + ", w → 0+: the edge bin extends to " + (
                    "−∞" if lowest else "+∞")),
        cite=cite(HO, "Eq. 13"),
        steps=(
            Step(mid, "the other edge does not depend on w", cite("standard", "limit of a sum")),
            Step(end, ("erf(−∞) = −1: " if lowest else "erf(+∞) = 1: ") + what,
                 cite(HO, "Eq. 13")),
        ),
    )


def _total_part(highest_bin: sp.Expr | None = None) -> Part:
    """n interior edges e_1, ..., e_n make n + 1 bins (n = 255 for 8-bit data)."""
    def P(e: sp.Expr) -> sp.Expr:
        return Phi((e - mu) / s1)

    highest = 1 - P(EDGE[n_edges]) if highest_bin is None else highest_bin
    interior = sp.Sum(P(EDGE[k]) - P(EDGE[k - 1]), (k, 2, n_edges))
    return Part(
        title="The bins partition the line, for any number of bins",
        lhs=r"\sum_{\text{bins}} P(\text{bin})",
        start=P(EDGE[1]) + interior + highest,
        start_rule=("edges e_1, …, e_n: the lowest bin (−∞, e_1], the interior bins "
                    "[e_{k−1}, e_k] and the highest bin [e_n, +∞), sharing edges"),
        cite=cite(HO, "Eq. 13"),
        steps=(
            Step(P(EDGE[1]) + sp.Sum(P(EDGE[k]), (k, 2, n_edges))
                 - sp.Sum(P(EDGE[k - 1]), (k, 2, n_edges)) + 1 - P(EDGE[n_edges]),
                 "split the interior sum", cite("standard", "linearity of sums")),
            Step(P(EDGE[1]) + (P(EDGE[n_edges]) - P(EDGE[1])) + 1 - P(EDGE[n_edges]),
                 "the two sums share all but their end terms: Σ_{k=2}^{n} Φ_k − Φ_{k−1} = "
                 "Φ_n − Φ_1", cite("standard", "telescoping sum")),
            Step(sp.Integer(1), "Φ(+∞) − Φ(−∞) = 1: a proper distribution over the n + 1 "
                 "values", cite(HO, "Eq. 13")),
        ),
    )


def _continuous_part() -> Part:
    return Part(
        title="The continuous Gaussian decoder",
        lhs=r"-\log\mathcal{N}(x_0; \mu_\theta(x_1, 1), \sigma_1^2 I)",
        start=-sp.Sum(gaussian_logpdf(X0[i], MU[i], v1), (i, 1, d)),
        start_rule="an isotropic Gaussian density is a product over coordinates",
        cite=cite(HO, "§3.3"),
        steps=(
            Step(sp.Sum(sp.log(2 * sp.pi * v1) / 2 + (X0[i] - MU[i]) ** 2 / (2 * v1), (i, 1, d)),
                 "−log N(x; μ, σ²) = ½ log(2πσ²) + (x − μ)²/(2σ²) per coordinate",
                 cite("standard", "Gaussian density")),
            Step(sp.Sum((X0[i] - MU[i]) ** 2, (i, 1, d)) / (2 * v1)
                 + d * sp.log(2 * sp.pi * v1) / 2,
                 "collect: ‖x_0 − μ_θ‖²/(2σ_1²) + (d/2) log(2πσ_1²)", cite(HO, "§3.3")),
        ),
    )


register("prior-term")(build_prior)
register("decoder-term")(build_decoder)
