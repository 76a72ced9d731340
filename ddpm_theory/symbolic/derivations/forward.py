"""The forward process marginal q(x_t | x_0) = N(√ᾱ_t x_0, (1 − ᾱ_t) I).

Derived, not restated: a lemma on linear Gaussian steps (through characteristic
functions), then induction on a symbolic t with ᾱ_t = ∏_{s≤t} α_s, the explicit
unrolled chain for small T (through Gaussian expectations), and the homework's edge
cases β ≡ 0 and β ≡ 1 (Ho et al. 2020, Eq. 4; homework 1.1 and 1.4).
"""

from __future__ import annotations

import sympy as sp

from ...domains import ALPHA, POSITIVE, REAL, TIMESTEP, VARIANCE
from ..engine import Derivation, Part, Step
from ..expectation import GaussE
from ..notation import LATEX, sym, x0
from ..registry import register
from ._common import HO, HW, cite, gaussian_log_cf

NAME = "forward-marginal"
#: the lemma part of forward-marginal, registered on its own (applied by
#: forward-marginal-induction; verifying it does not re-verify the whole marginal)
LEMMA_NAME = "linear-gaussian-step"

# lemma symbols
a = sym("a_lin", REAL, "a")
b = sym("b_lin", POSITIVE, "b")
m = sym("m", REAL, "m")
v = sym("v", VARIANCE, "v")
s = sym("s_cf", REAL, "s")
# per-step α_s as an indexed family, so that ᾱ_t is a genuine product
alpha_i = sp.IndexedBase(sym("alpha", ALPHA, r"\alpha"), positive=True)
k = sp.Symbol("k", integer=True, positive=True)
t = sym("t", TIMESTEP, "t")


def alpha_bar_product(upper: sp.Expr) -> sp.Expr:
    """ᾱ_upper = ∏_{k=1}^{upper} α_k (Ho et al. 2020, §2)."""
    return sp.Product(alpha_i[k], (k, 1, upper))


def lemma_part() -> Part:
    """x ~ N(m, v), ε ~ N(0, 1) independent, y = a x + b ε  ⇒  y ~ N(a m, a² v + b²)."""
    start = gaussian_log_cf(m, v, a * s) + gaussian_log_cf(0, 1, b * s)
    return Part(
        title="Lemma: a linear Gaussian step",
        lhs=r"\log \varphi_{y}(s)",
        start=start,
        start_rule=(
            "y = a x + b ε with x ⫫ ε, so φ_y(s) = E[e^{is(ax + bε)}] = φ_x(a s) φ_ε(b s); "
            "take logs with φ_{N(μ,σ²)}(s) = exp(iμs − σ²s²/2)"
        ),
        cite=cite("standard", "characteristic function of a Gaussian"),
        steps=(
            Step(sp.I * a * m * s - (a**2 * v + b**2) * s**2 / 2,
                 "collect the terms in s and s²", cite("standard", "characteristic function "
                                                       "of a Gaussian")),
            Step(gaussian_log_cf(a * m, a**2 * v + b**2, s),
                 "this is the log characteristic function of N(a m, a² v + b²); a "
                 "characteristic function determines the law (Lévy's uniqueness theorem)",
                 cite("standard", "uniqueness of characteristic functions")),
        ),
    )


def induction_parts(target_mean=None, target_var=None) -> tuple[Part, Part]:
    """Base case t = 1 and inductive step t − 1 → t, as (mean coefficient, variance)."""
    ab_t, ab_prev = alpha_bar_product(t), alpha_bar_product(t - 1)
    mean_t = target_mean if target_mean is not None else sp.sqrt(ab_t)
    var_t = target_var if target_var is not None else 1 - ab_t
    base = Part(
        title="Induction, base case t = 1",
        lhs=r"(\text{mean coefficient of } x_0,\ \text{variance}) \text{ of } q(x_1|x_0)",
        start=sp.Tuple(sp.sqrt(alpha_i[1]) * sp.sqrt(alpha_bar_product(0)),
                       alpha_i[1] * (1 - alpha_bar_product(0)) + 1 - alpha_i[1]),
        start_rule=(
            "q(x_1|x_0): the step formulas (a √ᾱ_0, a²(1 − ᾱ_0) + b²) with a = √α_1, "
            "b² = β_1 = 1 − α_1, where x_0 is fixed: ᾱ_0 = ∏_{k=1}^{0} α_k"
        ),
        cite=cite(HO, "Eq. 2"),
        steps=(
            Step(sp.Tuple(sp.sqrt(alpha_i[1]), 1 - alpha_i[1]),
                 "the empty product ᾱ_0 is 1, so a fixed x_0 contributes no variance: "
                 "q(x_1|x_0) = N(√α_1 x_0, β_1)", cite(HO, "Eq. 2")),
            Step(sp.Tuple(sp.sqrt(alpha_bar_product(1)), 1 - alpha_bar_product(1)),
                 "ᾱ_1 = ∏_{k=1}^{1} α_k = α_1", cite(HO, "§2")),
        ),
    )
    # hypothesis: x_{t-1} | x_0 ~ N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}); step: x_t = √α_t x_{t−1} + √β_t ε
    a_t = sp.sqrt(alpha_i[t])
    b2_t = 1 - alpha_i[t]
    step = Part(
        title="Induction, step t − 1 → t",
        lhs=r"(\text{mean coefficient of } x_0,\ \text{variance}) \text{ of } q(x_t|x_0)",
        start=sp.Tuple(a_t * sp.sqrt(ab_prev), a_t**2 * (1 - ab_prev) + b2_t),
        start_rule=(
            "hypothesis q(x_{t−1}|x_0) = N(√ᾱ_{t−1} x_0, 1 − ᾱ_{t−1}); the lemma with "
            "a = √α_t, b² = β_t = 1 − α_t gives mean a·√ᾱ_{t−1} x_0 and variance "
            "a²(1 − ᾱ_{t−1}) + b²"
        ),
        cite=cite(HO, "Eq. 2"),
        steps=(
            Step(sp.Tuple(sp.sqrt(alpha_i[t] * ab_prev), 1 - alpha_i[t] * ab_prev),
                 "multiply out: α_t(1 − ᾱ_{t−1}) + 1 − α_t = 1 − α_t ᾱ_{t−1}",
                 cite("standard", "algebra")),
            Step(sp.Tuple(mean_t, var_t),
                 "α_t ᾱ_{t−1} = ∏_{k=1}^{t} α_k = ᾱ_t", cite(HO, "Eq. 4")),
        ),
    )
    return base, step


def _added_variances(alphas: list[sp.Symbol]) -> sp.Expr:
    """Σ_j (1 − α_j) ∏_{k>j} α_k, each term left as it arises."""
    return sp.Add(*[(1 - al) * sp.Mul(*alphas[j + 1:]) for j, al in enumerate(alphas)])


def unrolled_part(T: int = 3) -> Part:
    """x_T written out in x_0 and ε_1..ε_T; its mean and variance by expectation."""
    alphas = [sym(f"alpha_{j}", ALPHA, rf"\alpha_{j}") for j in range(1, T + 1)]
    epss = [sym(f"epsilon_{j}", REAL, rf"\epsilon_{j}") for j in range(1, T + 1)]
    xT = x0
    for al, e in zip(alphas, epss):
        xT = sp.sqrt(al) * xT + sp.sqrt(1 - al) * e
    ab = sp.Mul(*alphas)

    def expect(f: sp.Expr) -> sp.Expr:
        for e in reversed(epss):
            f = GaussE(f, e, 0, 1)
        return f

    LATEX[sp.Symbol("x_T_unrolled")] = "x_T"
    return Part(
        title=f"The unrolled chain for T = {T}",
        lhs=rf"(\mathbb{{E}}[x_{T}|x_0],\ \mathrm{{Var}}[x_{T}|x_0])",
        start=sp.Tuple(expect(xT), expect((xT - sp.sqrt(ab) * x0) ** 2)),
        start_rule=(
            f"x_t = √α_t x_{{t−1}} + √(1 − α_t) ε_t applied {T} times with independent "
            "ε_t ~ N(0, 1) (the reparameterised forward step)"
        ),
        cite=cite(HW, "eq. 2, question 1.2"),
        steps=(
            Step(sp.Tuple(sp.sqrt(ab) * x0, _added_variances(alphas)),
                 "Gaussian moments E[ε] = 0, E[ε²] = 1, independence: the cross terms vanish "
                 "and the noise of step j enters scaled by the later steps, "
                 "(1 − α_j) α_{j+1}⋯α_T", cite("standard", "moments of a Gaussian")),
            Step(sp.Tuple(sp.sqrt(ab) * x0, 1 - ab),
                 f"the variances telescope to 1 − α_1⋯α_{T}", cite(HO, "Eq. 4")),
        ),
    )


def edge_parts() -> tuple[Part, Part]:
    """β ≡ 0 keeps x_t = x_0; β ≡ 1 makes x_t independent of x_0 (homework 1.1).  The
    catalogue decides the homework's question 1.1 by these two parts (their titles and
    their start and end are its formulas)."""
    general = sp.Tuple(sp.sqrt(alpha_bar_product(t)) * x0, 1 - alpha_bar_product(t))
    zero_noise = general.xreplace({alpha_i[k]: 1})
    full_noise = general.xreplace({alpha_i[k]: 0})
    return (
        Part(
            title="Edge case: every β_t = 0",
            lhs=r"(\mathbb{E}[x_t|x_0],\ \mathrm{Var}[x_t|x_0])",
            start=zero_noise,
            start_rule="the marginal with α_k = 1 − β_k = 1 for every k",
            cite=cite(HW, "question 1.1"),
            steps=(Step(sp.Tuple(x0, 0), "∏ 1 = 1 (induction on t): x_t = x_0 with no noise",
                        cite(HW, "question 1.1")),),
        ),
        Part(
            title="Edge case: every β_t = 1",
            lhs=r"(\mathbb{E}[x_t|x_0],\ \mathrm{Var}[x_t|x_0])",
            start=full_noise,
            start_rule="the marginal with α_k = 1 − β_k = 0 for every k (t ≥ 1)",
            cite=cite(HW, "question 1.1"),
            steps=(Step(sp.Tuple(0, 1),
                        "∏ 0 = 0 for t ≥ 1 (induction on t): x_t ~ N(0, 1), independent of x_0",
                        cite(HW, "question 1.1")),),
        ),
    )


def build(target_mean=None, target_var=None, unrolled_T: int = 3) -> Derivation:
    base, step = induction_parts(target_mean, target_var)
    ab = sp.Symbol("alphabar_t", positive=True)
    return Derivation(
        name=NAME,
        title="The forward marginal q(x_t | x_0)",
        statement=(
            r"q(x_t \mid x_0) = \mathcal{N}\!\left(x_t;\ \sqrt{\bar\alpha_t}\,x_0,\ "
            r"(1-\bar\alpha_t) I\right),\qquad \bar\alpha_t = \prod_{s=1}^{t} \alpha_s"
        ),
        premises=(
            r"q(x_t \mid x_{t-1}) = \mathcal{N}(x_t;\ \sqrt{1-\beta_t}\,x_{t-1},\ \beta_t I)",
            r"\alpha_t = 1 - \beta_t,\ \beta_t \in (0, 1]",
            r"\text{the forward process is Markov; coordinates are independent}",
        ),
        cites=(cite(HO, "Eq. 4"), cite(HW, "eq. 2")),
        summary=(
            "A linear step of a Gaussian is Gaussian; by induction the t-step marginal "
            "has mean √ᾱ_t x_0 and variance 1 − ᾱ_t."
        ),
        parts=(lemma_part(), base, step, unrolled_part(unrolled_T), *edge_parts()),
        induction_bases={t: 2},
        exports={
            "q_mean_coef": sp.sqrt(ab),
            "q_variance": 1 - ab,
        },
    )


def build_lemma(var_target=None) -> Derivation:
    """The lemma alone, registered so that a derivation can apply it cheaply."""
    part = lemma_part()
    if var_target is not None:  # planted slips in tests: a wrong variance of y
        last = part.steps[-1]
        part = Part(part.title, part.start, part.start_rule,
                    (part.steps[0], Step(gaussian_log_cf(a * m, var_target, s), last.rule,
                                         last.cite)), part.cite, part.lhs)
    return Derivation(
        name=LEMMA_NAME,
        title="A linear step of a Gaussian is Gaussian",
        statement=(r"x \sim \mathcal{N}(m, v),\ \epsilon \sim \mathcal{N}(0, 1),\ x \perp "
                   r"\epsilon \implies a x + b \epsilon \sim \mathcal{N}(a m,\ a^2 v + b^2)"),
        premises=(r"x \perp \epsilon", r"v > 0,\ b > 0"),
        cites=(cite("standard", "characteristic function of a Gaussian"),),
        summary="The step of every induction on the forward chain.",
        parts=(part,),
        definitions={},
    )


register(NAME)(build)
register(LEMMA_NAME)(build_lemma)
