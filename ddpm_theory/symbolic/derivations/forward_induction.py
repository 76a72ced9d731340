"""The forward marginal by induction on t, each step an *application* of the
linear-Gaussian lemma of ``forward-marginal`` (Ho et al. 2020, Eqs. 2 and 4).

Everything is carried as a log characteristic function of x_t given x_0, so that the
inductive step is literally the lemma's statement: with the hypothesis
q(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}) and x_t = √α_t x_{t−1} + √β_t ε_t,

    log φ_{x_{t−1}}(√α_t s) + log φ_ε(√β_t s) = log φ_N(s),
    N = N(√α_t √ᾱ_{t−1} x_0, α_t(1 − ᾱ_{t−1}) + β_t).

The lemma is registered on its own as ``linear-gaussian-step`` (the same part as in
``forward-marginal``).  The step carries
:class:`~ddpm_theory.symbolic.certificates.Apply` with the mapping
a = √α_t, b = √β_t, m = √ᾱ_{t−1} x_0, v = 1 − ᾱ_{t−1}: the engine computes the lemma's
instance from that mapping (the instance is never typed here), proves each mapped value
inside the lemma's domain (b > 0 and v > 0 need α_t, ᾱ_{t−1} ∈ (0, 1)) and decides that
the step is that instance.  The base case t = 1 holds x_0 fixed (variance 0, outside the
lemma's domain, so it is computed directly); the recursion ᾱ_t = ᾱ_{t−1} α_t is solved
as a product by induction on t; and T = 3 is unrolled with the lemma applied twice.
"""

from __future__ import annotations

import sympy as sp

from ...domains import ALPHA
from ..certificates import Apply
from ..engine import Derivation, Part, Step
from ..notation import alpha, alpha_bar, alpha_bar_prev, sym, x0
from ..registry import register
from ._common import HO, HW, cite, gaussian_log_cf
from .forward import LEMMA_NAME as LEMMA_OWNER
from .forward import a, alpha_bar_product, alpha_i, b, k, m, s, t, v

NAME = "forward-marginal-induction"
LEMMA = "Lemma: a linear Gaussian step"
LEVY = cite("standard", "uniqueness of characteristic functions (Lévy)")


def _lemma(a_: sp.Expr, b_: sp.Expr, m_: sp.Expr, v_: sp.Expr, s_: sp.Expr = s) -> Apply:
    """Apply the lemma y = a x + b ε with x ~ N(m, v), at the argument s."""
    return Apply(LEMMA_OWNER, LEMMA, {a: a_, b: b_, m: m_, v: v_, s: s_})


def base_part() -> Part:
    a1 = alpha_i[1]
    return Part(
        title="Base case t = 1",
        lhs=r"\log \varphi_{x_1|x_0}(s)",
        start=sp.I * s * sp.sqrt(a1) * x0 + gaussian_log_cf(0, 1, sp.sqrt(1 - a1) * s),
        start_rule=("x_1 = √α_1 x_0 + √β_1 ε_1 with x_0 fixed: φ_{x_1}(s) = e^{is√α_1 x_0} "
                    "φ_ε(√β_1 s), β_1 = 1 − α_1"),
        cite=cite(HO, "Eq. 2"),
        steps=(
            Step(sp.I * sp.sqrt(a1) * x0 * s - (1 - a1) * s**2 / 2,
                 "φ_ε(u) = e^{−u²/2}: the noise contributes −β_1 s²/2",
                 cite("standard", "characteristic function of a Gaussian")),
            Step(gaussian_log_cf(sp.sqrt(a1) * x0, 1 - a1, s),
                 "the log characteristic function of N(√α_1 x_0, 1 − α_1)", LEVY),
            Step(gaussian_log_cf(sp.sqrt(alpha_bar_product(1)) * x0, 1 - alpha_bar_product(1), s),
                 "ᾱ_1 = ∏_{k=1}^{1} α_k = α_1: the claim at t = 1", cite(HO, "§2")),
        ),
    )


def step_part(var_target: sp.Expr | None = None, b_map: sp.Expr | None = None) -> Part:
    """t − 1 → t for t ≥ 2, the lemma applied to the induction hypothesis."""
    ab, at = alpha_bar_prev, alpha
    var = at * (1 - ab) + (1 - at) if var_target is None else var_target
    b_ = sp.sqrt(1 - at) if b_map is None else b_map
    return Part(
        title="Inductive step t − 1 → t (the lemma applied)",
        lhs=r"\log \varphi_{x_t|x_0}(s)",
        start=gaussian_log_cf(sp.sqrt(ab) * x0, 1 - ab, sp.sqrt(at) * s)
        + gaussian_log_cf(0, 1, sp.sqrt(1 - at) * s),
        start_rule=(
            "x_t = √α_t x_{t−1} + √β_t ε_t with ε_t ⫫ x_{t−1} given x_0 (Markov), so "
            "φ_{x_t}(s) = φ_{x_{t−1}}(√α_t s) φ_ε(√β_t s); the hypothesis "
            "q(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}) with ᾱ_{t−1} ∈ (0, 1) for t ≥ 2"
        ),
        cite=cite(HO, "Eq. 2"),
        steps=(
            Step(gaussian_log_cf(sp.sqrt(at) * sp.sqrt(ab) * x0, var, s),
                 "the linear-Gaussian lemma with a = √α_t, b = √β_t, m = √ᾱ_{t−1} x_0, "
                 "v = 1 − ᾱ_{t−1}", cite("standard", "characteristic function of a Gaussian"),
                 certificate=_lemma(sp.sqrt(at), b_, sp.sqrt(ab) * x0, 1 - ab)),
            Step(gaussian_log_cf(sp.sqrt(at * ab) * x0, 1 - at * ab, s),
                 "multiply out: α_t(1 − ᾱ_{t−1}) + 1 − α_t = 1 − α_t ᾱ_{t−1}",
                 cite(HW, "question 1.2")),
            Step(gaussian_log_cf(sp.sqrt(alpha_bar) * x0, 1 - alpha_bar, s),
                 "ᾱ_t = ᾱ_{t−1} α_t: the claim at t", cite(HO, "Eq. 4")),
        ),
    )


def product_part() -> Part:
    return Part(
        title="The recursion ᾱ_t = ᾱ_{t−1} α_t is the product ∏_{k≤t} α_k",
        lhs=r"\alpha_t\,\bar\alpha_{t-1}",
        start=alpha_i[t] * alpha_bar_product(t - 1),
        start_rule="ᾱ_{t−1} = ∏_{k=1}^{t−1} α_k (the claim at t − 1), times α_t",
        cite=cite(HO, "§2"),
        steps=(
            Step(alpha_i[t] * sp.Product(alpha_i[k], (k, 1, t - 2)) * alpha_i[t - 1],
                 "split off the last factor of ∏_{k=1}^{t−1} α_k (t ≥ 2)",
                 cite("standard", "product of a finite sequence")),
            Step(alpha_bar_product(t),
                 "the factors α_{t−1}, α_t join the product: ∏_{k=1}^{t} α_k (induction on t)",
                 cite(HO, "Eq. 4")),
        ),
    )


def unrolled_part(var_target: sp.Expr | None = None) -> Part:
    """T = 3: x_3 from x_0 and ε_1, ε_2, ε_3, the lemma applied at t = 2 and t = 3."""
    a1, a2, a3 = (sym(f"alpha_{j}", ALPHA, rf"\alpha_{j}") for j in (1, 2, 3))
    v2 = a2 * (1 - a1) + (1 - a2)
    v3 = a3 * (1 - a1 * a2) + (1 - a3) if var_target is None else var_target
    cf_eps = [gaussian_log_cf(0, 1, c * s) for c in
              (sp.sqrt(1 - a1) * sp.sqrt(a2) * sp.sqrt(a3), sp.sqrt(1 - a2) * sp.sqrt(a3),
               sp.sqrt(1 - a3))]
    return Part(
        title="Unrolled, T = 3: the lemma applied twice",
        lhs=r"\log \varphi_{x_3|x_0}(s)",
        start=sp.I * sp.sqrt(a1 * a2 * a3) * x0 * s + sum(cf_eps),
        start_rule=("x_3 = √(α_1α_2α_3) x_0 + √(α_2α_3β_1) ε_1 + √(α_3β_2) ε_2 + √β_3 ε_3 with "
                    "independent ε_j, so φ_{x_3} is the product of the four factors"),
        cite=cite(HW, "eq. 2, question 1.2"),
        steps=(
            Step(gaussian_log_cf(sp.sqrt(a1) * x0, 1 - a1, sp.sqrt(a2) * sp.sqrt(a3) * s)
                 + cf_eps[1] + cf_eps[2],
                 "the base case at the argument √(α_2α_3) s: x_1 ~ N(√α_1 x_0, β_1)",
                 cite(HO, "Eq. 2")),
            Step(gaussian_log_cf(sp.sqrt(a2) * sp.sqrt(a1) * x0, v2, sp.sqrt(a3) * s)
                 + cf_eps[2],
                 "the lemma at t = 2 (argument √α_3 s): x_2 ~ N(√α_2 √α_1 x_0, α_2 β_1 + β_2)",
                 cite("standard", "characteristic function of a Gaussian"),
                 certificate=_lemma(sp.sqrt(a2), sp.sqrt(1 - a2), sp.sqrt(a1) * x0, 1 - a1,
                                    sp.sqrt(a3) * s)),
            Step(gaussian_log_cf(sp.sqrt(a3) * sp.sqrt(a2) * sp.sqrt(a1) * x0, v3, s),
                 "the lemma at t = 3: x_3 ~ N(√α_3 √α_2 √α_1 x_0, α_3(1 − α_1α_2) + β_3)",
                 cite("standard", "characteristic function of a Gaussian"),
                 certificate=_lemma(sp.sqrt(a3), sp.sqrt(1 - a3),
                                    sp.sqrt(a2) * sp.sqrt(a1) * x0, 1 - a1 * a2)),
            Step(gaussian_log_cf(sp.sqrt(a1 * a2 * a3) * x0, 1 - a1 * a2 * a3, s),
                 "multiply out: q(x_3|x_0) = N(√ᾱ_3 x_0, 1 − ᾱ_3)", cite(HO, "Eq. 4")),
        ),
    )


def build(var_target: sp.Expr | None = None, b_map: sp.Expr | None = None,
          unrolled_var: sp.Expr | None = None) -> Derivation:
    return Derivation(
        name=NAME,
        title="The forward marginal by induction, the linear-Gaussian lemma applied",
        statement=(
            r"\log\varphi_{x_t|x_0}(s) = i\sqrt{\bar\alpha_t}\,x_0 s - (1-\bar\alpha_t)\,"
            r"\frac{s^2}{2}\ \text{ for every } t \ge 1,\ \text{i.e. } q(x_t|x_0) = "
            r"\mathcal{N}(\sqrt{\bar\alpha_t}\,x_0,\ 1-\bar\alpha_t)"
        ),
        premises=(
            r"x_t = \sqrt{\alpha_t}\,x_{t-1} + \sqrt{\beta_t}\,\epsilon_t,\ "
            r"\epsilon_t \sim \mathcal{N}(0, 1)\ \text{independent of } x_{0:t-1}",
            r"\text{a characteristic function determines the law (Lévy)}",
        ),
        cites=(cite(HO, "Eqs. 2, 4"), cite(HW, "question 1.2")),
        summary=("Each step of the induction is the linear-Gaussian lemma applied to the "
                 "hypothesis, with the instance computed by the engine."),
        parts=(base_part(), step_part(var_target, b_map), product_part(),
               unrolled_part(unrolled_var)),
        induction_bases={t: 2},
    )


register(NAME)(build)
