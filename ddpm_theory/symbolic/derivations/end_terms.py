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

from ...domains import REAL, UNIT_OPEN, VARIANCE
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
    """The standard normal CDF, Φ(z) = (1 + erf(z/√2))/2."""
    return (1 + sp.erf(z / sp.sqrt(2))) / 2


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


def build_decoder(bin_target=None) -> Derivation:
    """``bin_target`` replaces the interior-bin formula (planted slips in tests)."""
    z_hi, z_lo = (hi - mu) / s1, (lo - mu) / s1
    cand = Phi(z_hi) - Phi(z_lo) if bin_target is None else bin_target
    pdf = std_normal((xv - mu) / s1) / s1
    ftc = ("so by the fundamental theorem of calculus the candidate equals "
           "∫_{δ−}^{δ+} N(x; μ_θ, σ_1²) dx")
    parts = (
        Part(
            title="An interior bin: the derivative in δ+ is the density",
            lhs=r"\partial_{\delta_+}\big[\Phi(\tfrac{\delta_+-\mu_\theta}{\sigma_1}) - "
                r"\Phi(\tfrac{\delta_--\mu_\theta}{\sigma_1})\big]",
            start=sp.diff(cand, hi),
            start_rule=("the candidate Φ((δ+ − μ_θ)/σ_1) − Φ((δ− − μ_θ)/σ_1) for the decoder's "
                        "probability of the bin [δ−, δ+], differentiated in δ+"),
            cite=cite(HO, "Eq. 13"),
            steps=(Step(pdf.xreplace({xv: hi}), "Φ′ = φ: the Gaussian density at δ+",
                        cite("standard", "Φ′(z) = φ(z)")),),
        ),
        Part(
            title="An interior bin: the derivative in δ− is minus the density",
            lhs=r"\partial_{\delta_-}P(\text{bin})",
            start=sp.diff(cand, lo),
            start_rule="the same candidate, differentiated in δ−",
            cite=cite(HO, "Eq. 13"),
            steps=(Step(-pdf.xreplace({xv: lo}), "minus the density at δ−"),),
        ),
        Part(
            title="An interior bin: an empty bin has probability 0",
            lhs=r"P(\text{bin})\big|_{\delta_+ = \delta_-}",
            start=cand.xreplace({hi: lo}),
            start_rule="the candidate at δ+ = δ−",
            cite=cite(HO, "Eq. 13"),
            steps=(Step(sp.Integer(0), "the two CDF terms coincide; " + ftc),),
        ),
        Part(
            title="The lowest bin, x_0 = −1",
            lhs=r"P(x \le \delta_+)",
            start=(Phi(z_hi) - Phi(z_lo)).xreplace({lo: -sp.oo}),
            start_rule="the interior formula with δ− = −∞ (x_0 = −1): erf(−∞) = −1",
            cite=cite(HO, "Eq. 13"),
            steps=(Step(Phi(z_hi), "Φ(−∞) = 0: the CDF at the upper edge"),),
        ),
        Part(
            title="The highest bin, x_0 = 1",
            lhs=r"P(x \ge \delta_-)",
            start=(Phi(z_hi) - Phi(z_lo)).xreplace({hi: sp.oo}),
            start_rule="the interior formula with δ+ = +∞ (x_0 = 1): erf(+∞) = 1",
            cite=cite(HO, "Eq. 13"),
            steps=(Step(1 - Phi(z_lo), "Φ(+∞) = 1: one minus the CDF at the lower edge"),),
        ),
        _total_part(),
        _continuous_part(),
    )
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
        exports={"bin_probability": Phi(z_hi) - Phi(z_lo),
                 "lowest_bin_probability": Phi(z_hi),
                 "highest_bin_probability": 1 - Phi(z_lo)},
    )


def _total_part() -> Part:
    """Four bins with edges e_1 < e_2 < e_3: the probabilities add up to one."""
    es = [sym(f"edge_{k}", REAL, rf"e_{k}") for k in (1, 2, 3)]
    zs = [(e - mu) / s1 for e in es]
    pieces = [Phi(zs[0])] + [Phi(zs[k + 1]) - Phi(zs[k]) for k in range(2)] + [1 - Phi(zs[2])]
    return Part(
        title="The bins partition the line (four bins)",
        lhs=r"\sum_{\text{bins}} P(\text{bin})",
        start=sp.Add(*pieces),
        start_rule="the lowest bin, two interior bins and the highest bin, sharing edges",
        cite=cite(HO, "Eq. 13"),
        steps=(Step(sp.Integer(1), "the CDF differences telescope: Φ(+∞) − Φ(−∞) = 1"),),
    )


def _continuous_part() -> Part:
    return Part(
        title="The continuous Gaussian decoder",
        lhs=r"-\log\mathcal{N}(x_0; \mu_\theta(x_1, 1), \sigma_1^2 I)",
        start=-sp.Sum(gaussian_logpdf(X0[i], MU[i], v1), (i, 1, d)),
        start_rule="an isotropic Gaussian density is a product over coordinates",
        cite=cite(HO, "§3.3"),
        steps=(Step(sp.Sum((X0[i] - MU[i]) ** 2, (i, 1, d)) / (2 * v1)
                    + d * sp.log(2 * sp.pi * v1) / 2,
                    "collect: ‖x_0 − μ_θ‖²/(2σ_1²) + (d/2) log(2πσ_1²)"),),
    )


register("prior-term")(build_prior)
register("decoder-term")(build_decoder)
