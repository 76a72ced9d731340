"""Diffusion-specific claims of the source documents that no other derivation decides.

Companion of :mod:`.catalogue_claims` (kept apart to keep each module short): the
reverse conditionals of the forward chain, scores and Tweedie's formula, the homework's
eq. 12, the loss weights in α/SNR form, and the VAE notes' Monte-Carlo objective and
appendix.  Parts whose last step is ``claimed_false`` record claims the engine refutes.
"""

from __future__ import annotations

import sympy as sp

from ...domains import ALPHA, DIMENSION, POSITIVE, REAL, UNIT_OPEN, VARIANCE
from ..engine import Derivation, Part, Relation, Step
from ..expectation import GaussE
from ..notation import (
    alpha,
    alpha_bar,
    alpha_bar_prev,
    beta,
    eps,
    eps_theta,
    sigma2,
    sym,
    x0,
    xt,
    xtm1,
    xtp1,
)
from ..registry import register
from ._common import HO, HW, cite, coefficients, gaussian_logpdf
from .catalogue_claims_sampling import algorithm2_part, luo_part
from .kl import kl_univariate
from .posterior import BETA_TILDE, MU_TILDE

S001 = "VAE/VDM notes"
CT = "Cover & Thomas 2006"

c = sym("c", VARIANCE, "c")          # a marginal variance
s = sym("s", VARIANCE, "s")          # the data variance, x_0 ~ N(0, s)
ab = sym("abar", UNIT_OPEN, r"\bar\alpha_t")
y = sym("y", REAL, "y")
mu = sym("mu", REAL, r"\mu")
z = sym("z", REAL, "z")
m = sym("m", REAL, "m")
v = sym("v", VARIANCE, "v")
m1, m2 = sym("m_q", REAL, "m_q"), sym("m_p", REAL, "m_p")
v1, v2 = sym("v_q", VARIANCE, "v_q"), sym("v_p", VARIANCE, "v_p")
ell = sym("ell", REAL, r"\log p(x)")
u = sym("exp_omega", POSITIVE, r"e^{\omega_\eta(t)}")
b = sym("beta_c", ALPHA, r"\beta_t")
n_samples = sym("L", DIMENSION, "L")


# -- reverse conditionals of the forward chain ------------------------------------------
def _reverse_parts() -> tuple[Part, ...]:
    # x_t ~ N(0, c) and x_{t+1} = √α x_t + √(1 − α) ε: read q(x_t | x_{t+1}) off the square
    log_joint = gaussian_logpdf(xt, 0, c) + gaussian_logpdf(xtp1, sp.sqrt(alpha) * xt, 1 - alpha)
    A, B = coefficients(log_joint, xt)
    mean, var = sp.cancel(B / A), sp.cancel(1 / A)
    c_prev = alpha_bar_prev * s + 1 - alpha_bar_prev
    log_joint0 = (gaussian_logpdf(xtm1, 0, c_prev)
                  + gaussian_logpdf(xt, sp.sqrt(alpha) * xtm1, 1 - alpha))
    A0, B0 = coefficients(log_joint0, xtm1)
    return (
        Part(
            title="The reverse conditional q(x_t | x_{t+1})",
            lhs=r"\log q(x_t \mid x_{t+1}) + \text{const}(x_t)",
            start=log_joint,
            start_rule=("x_t ~ N(0, c) (Gaussian data) and the forward step "
                        "q(x_{t+1}|x_t) = N(√α x_t, 1 − α); Bayes' rule drops log q(x_{t+1})"),
            cite=cite(HO, "Eq. 2"),
            steps=(
                Step(-A / 2 * xt**2 + B * xt, "expand; A and B are read off the quadratic",
                     cite("standard", "expanding a quadratic"),
                     relation=Relation.EQ_CONST, wrt=(xt,)),
                Step(-((xt - mean) ** 2) / (2 * var),
                     "complete the square: mean √α c x_{t+1}/(α c + 1 − α), variance "
                     "c(1 − α)/(α c + 1 − α)", cite("standard", "completing the square"),
                     relation=Relation.EQ_CONST, wrt=(xt,)),
            ),
        ),
        Part(
            title="Encoding and decoding conditionals coincide (claimed)",
            lhs=r"(\text{mean coefficient},\ \text{variance})\ \text{of}\ q(x_t \mid x_{t+1})",
            start=sp.Tuple(sp.cancel(mean / xtp1), var),
            start_rule="the reverse conditional derived above, with the same α at both steps",
            cite=cite(S001, "Analyze the objective of VDM"),
            steps=(Step(sp.Tuple(sp.sqrt(alpha), 1 - alpha),
                        "the source: 'the true distribution of encoding and decoding are the "
                        "same, p(x_t|x_{t−1}) ∼ p(x_t|x_{t+1})'",
                        cite(S001, "Analyze the objective of VDM"), claimed_false=True),),
        ),
        Part(
            title="x_0 is a dummy condition of the reverse step (claimed)",
            lhs=r"\mathbb{E}[x_{t-1} \mid x_t, x_0]",
            start=MU_TILDE,
            start_rule="the posterior mean μ̃_t(x_t, x_0) (bayes-posterior, Ho et al. Eq. 7)",
            cite=cite(HO, "Eq. 7"),
            steps=(Step(sp.cancel(B0 / A0),
                        "the source calls x_0 a dummy condition: then E[x_{t−1}|x_t, x_0] would "
                        "equal E[x_{t−1}|x_t] for data x_0 ~ N(0, s), read off the square as "
                        "for q(x_t|x_{t+1})", cite(S001, "a dummy x_0 condition can be added"),
                        claimed_false=True),),
        ),
    )


@register("reverse-conditional-claims")
def build_reverse() -> Derivation:
    return Derivation(
        name="reverse-conditional-claims",
        title="Reverse conditionals of the forward chain",
        statement=(r"q(x_t \mid x_{t+1}) = \mathcal{N}\!\left(\frac{\sqrt{\alpha}\,c}{\alpha c + 1 "
                   r"- \alpha} x_{t+1},\ \frac{c(1-\alpha)}{\alpha c + 1 - \alpha}\right) \ne "
                   r"q(x_t \mid x_{t-1})\ \text{unless}\ c = 1"),
        premises=(r"x_t \sim \mathcal{N}(0, c),\ q(x_{t+1} \mid x_t) = "
                  r"\mathcal{N}(\sqrt{\alpha}\,x_t, 1 - \alpha)",),
        cites=(cite(S001, "Analyze the objective of VDM"),),
        summary=("The reverse of a forward step is Gaussian with data-dependent coefficients; "
                 "it equals the forward step only for standardised data, and conditioning "
                 "on x_0 changes it."),
        parts=_reverse_parts(),
    )


# -- scores and Tweedie's formula ----------------------------------------------------------
def _score_parts() -> tuple[Part, ...]:
    x_t = sp.sqrt(ab) * x0 + sp.sqrt(1 - ab) * eps
    marg_var = ab * s + 1 - ab
    score_marg = sp.diff(gaussian_logpdf(y, 0, marg_var), y)
    A, B = coefficients(gaussian_logpdf(mu, 0, ab * s) + gaussian_logpdf(y, mu, 1 - ab), mu)
    return (
        Part(
            title="The conditional score is −ε/√(1 − ᾱ_t)",
            lhs=r"\nabla_{x_t} \log q(x_t \mid x_0)",
            start=sp.diff(gaussian_logpdf(y, sp.sqrt(ab) * x0, 1 - ab), y).xreplace({y: x_t}),
            start_rule="differentiate log N(x_t; √ᾱ x_0, 1 − ᾱ) and put x_t = √ᾱ x_0 + √(1−ᾱ) ε",
            cite=cite(HO, "Eq. 4"),
            steps=(Step(-eps / sp.sqrt(1 - ab), "−(x_t − √ᾱ x_0)/(1 − ᾱ) = −√(1−ᾱ) ε/(1 − ᾱ)",
                        cite(HO, "Eq. 4")),),
        ),
        Part(
            title="The marginal score is −ε/√(1 − ᾱ_t) (claimed)",
            lhs=r"\nabla_{x_t} \log q(x_t)",
            start=score_marg.xreplace({y: x_t}),
            start_rule=("data x_0 ~ N(0, s): the marginal q(x_t) = N(0, ᾱ s + 1 − ᾱ) "
                        "(forward-marginal's linear Gaussian step); differentiate its log"),
            cite=cite(S001, "Learning gradient of x_t towards x_0"),
            steps=(
                Step(-x_t / marg_var, "d/dy log N(y; 0, V) = −y/V",
                     cite("standard", "derivative of a Gaussian log-density")),
                Step(-eps / sp.sqrt(1 - ab),
                     "the source: ∇ log p(x_t) = −ε_t/√(1 − ᾱ_t)",
                     cite(S001, "Learning gradient of x_t towards x_0"), claimed_false=True),
            ),
        ),
        Part(
            title="Tweedie's formula gives the posterior mean",
            lhs=r"x_t + (1 - \bar\alpha_t) \nabla \log q(x_t)",
            start=y + (1 - ab) * score_marg,
            start_rule="Tweedie's formula for μ = √ᾱ x_0 observed through x_t = μ + √(1−ᾱ) ε",
            cite=cite("Efron 2011", "Eq. 2.8"),
            steps=(Step(y * (1 - (1 - ab) / marg_var), "factor x_t out of x_t − (1 − ᾱ) x_t/V",
                        cite("standard", "factoring")),
                   Step(sp.cancel(B / A),
                        "the posterior mean E[μ|x_t] read off the square of log N(μ; 0, ᾱ s) "
                        "+ log N(x_t; μ, 1 − ᾱ)", cite("standard", "conjugate Gaussian"))),
        ),
        Part(
            title="Tweedie's formula gives the maximum-likelihood estimate (claimed)",
            lhs=r"x_t + (1 - \bar\alpha_t) \nabla \log q(x_t)",
            start=y + (1 - ab) * score_marg,
            start_rule="Tweedie's formula, as above",
            cite=cite(S001, "According to Tweedie's Formula"),
            steps=(
                Step(ab * s * y / marg_var, "−y/(ᾱs + 1 − ᾱ) times (1 − ᾱ), plus y",
                     cite("Efron 2011", "Eq. 2.8")),
                Step(y, "the source: a maximum likelihood estimate of the mean; from one "
                        "observation x_t ~ N(μ, 1 − ᾱ) the MLE of μ is x_t itself",
                     cite(S001, "Tweedie"), claimed_false=True),
            ),
        ),
    )


@register("score-claims")
def build_score() -> Derivation:
    return Derivation(
        name="score-claims",
        title="Scores of the forward process and Tweedie's formula",
        statement=(r"\nabla \log q(x_t \mid x_0) = -\epsilon/\sqrt{1-\bar\alpha_t},\quad "
                   r"x_t + (1-\bar\alpha_t)\nabla\log q(x_t) = \mathbb{E}[\sqrt{\bar\alpha_t}"
                   r"x_0 \mid x_t]"),
        premises=(r"x_t = \sqrt{\bar\alpha_t}x_0 + \sqrt{1-\bar\alpha_t}\,\epsilon,\ "
                  r"x_0 \sim \mathcal{N}(0, s)",),
        cites=(cite("Efron 2011"), cite(S001, "Learning gradient of x_t towards x_0")),
        summary=("The conditional score is the scaled noise; the marginal score is its "
                 "posterior mean, and Tweedie's formula is a posterior mean, not an MLE."),
        parts=_score_parts(),
        definitions={},
    )


# -- loss weights and parameterisations -------------------------------------------------
def _weight_parts() -> tuple[Part, ...]:
    x0_of_eps = (xt - sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha_bar)
    mu_eps = MU_TILDE.xreplace({x0: x0_of_eps})
    w_x0 = alpha_bar_prev * beta**2 / (1 - alpha_bar) ** 2
    snr = lambda g: g / (1 - g)  # noqa: E731
    return (
        Part(
            title="Ho et al. Eq. 11: μ_θ in terms of ε_θ",
            lhs=r"\tilde\mu_t\big(x_t, (x_t - \sqrt{1-\bar\alpha_t}\epsilon_\theta)/"
                r"\sqrt{\bar\alpha_t}\big)",
            start=mu_eps,
            start_rule="substitute the x_0 implied by ε_θ into μ̃_t (Ho et al. Eq. 7)",
            cite=cite(HO, "Eq. 11"),
            steps=(Step((sp.sqrt(alpha) * (1 - alpha_bar_prev) / (1 - alpha_bar)
                         + sp.sqrt(alpha_bar_prev) * beta / (sp.sqrt(alpha_bar) * (1 - alpha_bar)))
                        * xt - sp.sqrt(alpha_bar_prev) * beta
                        / (sp.sqrt(alpha_bar) * sp.sqrt(1 - alpha_bar)) * eps_theta,
                        "collect the coefficients of x_t and of ε_θ", cite(HO, "Eq. 7")),
                   Step((xt - beta / sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha),
                        "ᾱ_t = ᾱ_{t−1}α_t: the x_t coefficient is (α_t(1 − ᾱ_{t−1}) + β_t)/"
                        "(√α_t(1 − ᾱ_t)) = 1/√α_t and √ᾱ_{t−1}/√ᾱ_t = 1/√α_t",
                        cite(HO, "Eq. 11"))),
        ),
        Part(
            title="Homework eq. 12 as printed, with 1/√ᾱ_t (claimed)",
            lhs=r"\tilde\mu_t\big(x_t, (x_t - \sqrt{1-\bar\alpha_t}\epsilon_\theta)/"
                r"\sqrt{\bar\alpha_t}\big)",
            start=mu_eps,
            start_rule="the same substitution",
            cite=cite(HW, "eq. 12"),
            steps=(Step((xt - beta / sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha_bar),
                        "the homework's right-hand side: 1/√ᾱ_t in front",
                        cite(HW, "eq. 12"), claimed_false=True),),
        ),
        Part(
            title="Homework eq. 10 as printed, with √ᾱ_t on x_t (claimed)",
            lhs=r"\tilde\mu_t(x_t, x_0)",
            start=MU_TILDE,
            start_rule="the posterior mean derived in bayes-posterior (Ho et al. Eq. 7)",
            cite=cite(HO, "Eq. 7"),
            steps=(Step(sp.sqrt(alpha_bar_prev) * beta / (1 - alpha_bar) * x0
                        + sp.sqrt(alpha_bar) * (1 - alpha_bar_prev) / (1 - alpha_bar) * xt,
                        "the homework's eq. 10: coefficient √ᾱ_t(1 − ᾱ_{t−1})/(1 − ᾱ_t) on x_t",
                        cite(HW, "eq. 10"), claimed_false=True),),
        ),
        Part(
            title="Ho et al. Eq. 12: the ε-weight, pointwise",
            lhs=r"\frac{1}{2\sigma_t^2}\|\tilde\mu_t - \mu_\theta\|^2",
            start=(MU_TILDE.xreplace({x0: (xt - sp.sqrt(1 - alpha_bar) * eps) / sp.sqrt(alpha_bar)})
                   - mu_eps) ** 2 / (2 * sigma2),
            start_rule=("x_0 = (x_t − √(1−ᾱ) ε)/√ᾱ_t in μ̃_t, and μ_θ from Eq. 11 (one "
                        "coordinate; the norm adds coordinates)"),
            cite=cite(HO, "Eqs. 10–12"),
            steps=(Step((beta / (sp.sqrt(alpha) * sp.sqrt(1 - alpha_bar)) * (eps - eps_theta)) ** 2
                        / (2 * sigma2),
                        "both means are Eq. 10's form, linear in the noise with coefficient "
                        "−β_t/(√α_t √(1−ᾱ_t)); the x_t terms cancel", cite(HO, "Eq. 10")),
                   Step(beta**2 / (2 * sigma2 * alpha * (1 - alpha_bar)) * (eps - eps_theta) ** 2,
                        "square the coefficient", cite(HO, "Eq. 12"))),
        ),
        Part(
            title="The x_0-weight with σ_q² = β̃_t is half an SNR difference",
            lhs=r"\frac{1}{2\tilde\beta_t}\frac{\bar\alpha_{t-1}\beta_t^2}{(1-\bar\alpha_t)^2}",
            start=w_x0 / (2 * BETA_TILDE),
            start_rule="the x_0-parameterised weight (Kingma et al. 2021, Luo 2022) at σ² = β̃_t",
            cite=cite(S001, "Learning diffusion noise parameters"),
            steps=(Step(alpha_bar_prev * beta / (2 * (1 - alpha_bar) * (1 - alpha_bar_prev)),
                        "β̃_t = (1 − ᾱ_{t−1})β_t/(1 − ᾱ_t): one β_t and one 1 − ᾱ_t cancel",
                        cite(HO, "Eq. 7")),
                   Step((snr(alpha_bar_prev) - snr(alpha_bar)) / 2,
                        "ᾱ_{t−1}(1 − ᾱ_t) − ᾱ_t(1 − ᾱ_{t−1}) = ᾱ_{t−1} − ᾱ_t = ᾱ_{t−1} β_t",
                        cite("Kingma et al. 2021", "Eq. 13"))),
        ),
        Part(
            title="From the x_0-weight to the ε-weight",
            lhs=r"\frac{\bar\alpha_{t-1}\beta_t^2}{(1-\bar\alpha_t)^2}\cdot"
                r"\frac{1-\bar\alpha_t}{\bar\alpha_t}",
            start=w_x0 * (1 - alpha_bar) / alpha_bar,
            start_rule="‖x̂_0 − x_0‖² = (1 − ᾱ_t)/ᾱ_t ‖ε̂ − ε‖² under x_0 = (x_t − √(1−ᾱ)ε)/√ᾱ",
            cite=cite(S001, "Learning noise instead of x_0"),
            steps=(Step(alpha_bar_prev * beta**2 / (alpha_bar * (1 - alpha_bar)),
                        "one factor 1 − ᾱ_t cancels", cite("standard", "cancelling a factor")),
                   Step(beta**2 / ((1 - alpha_bar) * alpha), "ᾱ_{t−1}/ᾱ_t = 1/α_t",
                        cite(HO, "§2"))),
        ),
    )


@register("loss-weight-claims")
def build_weights() -> Derivation:
    return Derivation(
        name="loss-weight-claims",
        title="The ε-parameterisation and the loss weights, as the sources state them",
        statement=(r"\mu_\theta = \frac{1}{\sqrt{\alpha_t}}\Big(x_t - \frac{\beta_t}"
                   r"{\sqrt{1-\bar\alpha_t}}\epsilon_\theta\Big),\ w_\epsilon = "
                   r"\frac{\beta_t^2}{2\sigma_t^2\alpha_t(1-\bar\alpha_t)}"),
        premises=(r"\bar\alpha_t = \bar\alpha_{t-1}\alpha_t,\ \beta_t = 1 - \alpha_t",),
        cites=(cite(HO, "Eqs. 11–12"), cite(HW, "eq. 12")),
        summary="The homework's eq. 12 has 1/√ᾱ_t where Ho et al. Eq. 11 has 1/√α_t.",
        parts=_weight_parts(),
    )


# -- VAE notes: reparameterisation, Monte Carlo, SNR, appendix; Algorithm 2 ---------------
def _vae_parts() -> tuple[Part, ...]:
    sd = sym("sigma_phi", POSITIVE, r"\sigma_\phi")
    e = sym("e", REAL, r"\epsilon")
    elbo = GaussE(gaussian_logpdf(z, m2, v2) + ell - gaussian_logpdf(z, m1, v1), z, m1, v1)
    ce = -GaussE(gaussian_logpdf(z, m2, v2), z, m1, v1)
    h = -GaussE(gaussian_logpdf(z, m1, v1), z, m1, v1)
    one_term = GaussE(gaussian_logpdf(y, z, 1), z, m, v)
    return (
        Part(
            title="The reparameterised z = μ + σ ε has mean μ and variance σ²",
            lhs=r"(\mathbb{E} z,\ \mathrm{Var}\, z)",
            start=sp.Tuple(GaussE(mu + sd * e, e, 0, 1),
                           GaussE((mu + sd * e) ** 2, e, 0, 1) - GaussE(mu + sd * e, e, 0, 1) ** 2),
            start_rule="z = μ_φ(x) + σ_φ(x) ε with ε ~ N(0, 1)",
            cite=cite("Kingma & Welling 2014", "§2.4"),
            steps=(Step(sp.Tuple(mu, sd**2), "Gaussian moments: E ε = 0, E ε² = 1",
                        cite("Kingma & Welling 2014", "§2.4")),),
        ),
        Part(
            title="Σ_{l=1}^{L} log p(x|z_l) estimates E_q[log p(x|z)] (claimed)",
            lhs=r"\mathbb{E}\Big[\sum_{l=1}^{L} \log p(x \mid z^{(l)})\Big]",
            start=n_samples * one_term,
            start_rule=("L draws z^{(l)} ~ q = N(m, v), each term with the same expectation; "
                        "p(x|z) = N(x; z, 1)"),
            cite=cite(S001, "How to train a Varational AutoEncoder"),
            steps=(
                Step(n_samples * (-sp.log(2 * sp.pi) / 2 - ((y - m) ** 2 + v) / 2),
                     "E[(x − z)²] = (x − m)² + v", cite("standard", "Gaussian moments")),
                Step(one_term, "the source: the sum (no 1/L) approximates the reconstruction "
                               "term E_q[log p(x|z)]",
                     cite(S001, "How to train a Varational AutoEncoder"), claimed_false=True),
            ),
        ),
        Part(
            title="ELBO = log p(x) − KL(q ‖ p(z|x))",
            lhs=r"\mathbb{E}_q\big[\log p(z \mid x) + \log p(x) - \log q(z)\big]",
            start=elbo,
            start_rule="p(x, z) = p(z|x) p(x); q = N(m_q, v_q), p(z|x) = N(m_p, v_p)",
            cite=cite(S001, "Appendix"),
            steps=(Step(ell - kl_univariate(m1, v1, m2, v2), "the Gaussian KL (gaussian-kl)",
                        cite(CT, "§8.5")),
                   Step(-ce + h + ell, "−KL(q‖p) = −H(q, p) + H(q)", cite(CT, "§2.3"))),
        ),
        Part(
            title="ELBO = CE(q ‖ p(z|x)) − H(q) + log p(x) (claimed)",
            lhs=r"\mathbb{E}_q\big[\log p(z \mid x) + \log p(x) - \log q(z)\big]",
            start=elbo,
            start_rule="as above",
            cite=cite(S001, "Appendix"),
            steps=(Step(ce - h + ell, "the source's last line", cite(S001, "Appendix"),
                        claimed_false=True),),
        ),
        Part(
            title="SNR = exp(−ω) gives ᾱ = sigmoid(−ω)",
            lhs=r"\Big(\frac{\mathrm{SNR}}{1+\mathrm{SNR}},\ 1 - \frac{\mathrm{SNR}}"
                r"{1+\mathrm{SNR}}\Big)",
            start=sp.Tuple((1 / u) / (1 + 1 / u), 1 - (1 / u) / (1 + 1 / u)),
            start_rule="SNR = ᾱ/(1 − ᾱ) solved for ᾱ = SNR/(1 + SNR), with SNR = 1/u, u = e^{ω}",
            cite=cite(S001, "SNR(t) = exp(−ω_η(t))"),
            steps=(Step(sp.Tuple(1 / (1 + u), 1 - 1 / (1 + u)),
                        "multiply numerator and denominator by u", cite("standard", "algebra")),
                   Step(sp.Tuple(1 / (1 + u), u / (1 + u)),
                        "1/(1 + e^{ω}) = sigmoid(−ω), e^{ω}/(1 + e^{ω}) = sigmoid(ω)",
                        cite("Kingma et al. 2021", "§3"))),
        ),
        Part(
            title="A larger β_t lowers the SNR after the step",
            lhs=r"\partial_{\beta_t}\,\mathrm{SNR}(t)",
            start=sp.diff(alpha_bar_prev * (1 - b) / (1 - alpha_bar_prev * (1 - b)), b),
            start_rule="SNR(t) = ᾱ_t/(1 − ᾱ_t) with ᾱ_t = ᾱ_{t−1}(1 − β_t)",
            cite=cite(HW, "§1: the higher β_t, the more unrecognizable"),
            steps=(Step(-alpha_bar_prev / (1 - alpha_bar_prev * (1 - b)) ** 2, "differentiate",
                        cite("standard", "quotient rule")),
                   Step(sp.Integer(0), "a negative over a square",
                        cite("standard", "sign of a quotient"), relation=Relation.LE,
                        gap=alpha_bar_prev / (1 - alpha_bar_prev * (1 - b)) ** 2)),
        ),
    )


@register("vae-and-sampling-claims")
def build_vae() -> Derivation:
    return Derivation(
        name="vae-and-sampling-claims",
        title="VAE estimators, SNR forms and the sampling step, as the sources state them",
        statement=(r"\log p(x) - \mathrm{KL}(q\|p(z|x)) = -H(q, p(z|x)) + H(q) + \log p(x),\ "
                   r"\bar\alpha_t = \mathrm{sigmoid}(-\omega_\eta(t))"),
        premises=(r"q(z) = \mathcal{N}(m_q, v_q),\ p(z \mid x) = \mathcal{N}(m_p, v_p)",),
        cites=(cite(S001, "VAE"), cite(HO, "Algorithm 2")),
        summary=("The reparameterisation and the sampler's step are exact; the VAE notes' "
                 "Monte-Carlo objective lacks 1/L and their appendix flips two signs."),
        parts=(*_vae_parts(), algorithm2_part(), luo_part()),
    )
