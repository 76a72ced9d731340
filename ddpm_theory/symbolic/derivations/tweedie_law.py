"""Tweedie's formula for an arbitrary data law (Robbins 1956; Efron 2011, Eq. 2.8).

q_t(x_t) = ∫ q_0(x_0) N(x_t; √ᾱ_t x_0, 1 − ᾱ_t) dx_0.  Differentiate under the integral
sign: ∇_{x_t} of the kernel is −(x_t − √ᾱ_t x_0)/(1 − ᾱ_t) times the kernel; divide by
q_t, and the posterior q(x_0|x_t) = q_0(x_0) N(·)/q_t(x_t) appears:
∇ log q_t(x_t) = (√ᾱ_t E[x_0|x_t] − x_t)/(1 − ᾱ_t), i.e.
E[x_0|x_t] = (x_t + (1 − ᾱ_t) ∇ log q_t(x_t))/√ᾱ_t.

* the pointwise step (the kernel's derivative times the density, divided by q_t) is
  checked with an abstract data density q_0 and an abstract marginal q_t;
* the integral steps on the law with K atoms, K symbolic (see ``_law``): decided by
  induction on K, sampled at K = 1..5 with random weights and atoms.
"""

from __future__ import annotations

import sympy as sp

from ..engine import Derivation, Part, Premise, Step
from ..notation import x0, xt
from ..registry import register
from ._common import cite, gaussian_logpdf
from ._law import LAW_PREMISE, A, S, W, ab, k, kernel, marginal, posterior_mean

NAME = "tweedie-any-law"
EFRON, ROBBINS = "Efron 2011", "Robbins 1956"

q0 = sp.Function("q_0", positive=True)        # the data density, any
qt = sp.Function("q_t", positive=True)        # its marginal at time t
post = sp.Function("q_post0", positive=True)  # q(x_0 | x_t)

BAYES = Premise(
    "Bayes' rule",
    r"q(x_0 \mid x_t) = q_0(x_0)\,\mathcal{N}(x_t; \sqrt{\bar\alpha_t}x_0, 1-\bar\alpha_t)"
    r"/q_t(x_t)",
    {post: sp.Lambda((x0, xt), q0(x0) * sp.exp(gaussian_logpdf(xt, sp.sqrt(ab) * x0, 1 - ab))
                     / qt(xt))},
    cite("standard", "Bayes' rule"),
)


def pointwise_part() -> Part:
    kern = sp.exp(gaussian_logpdf(xt, sp.sqrt(ab) * x0, 1 - ab))
    return Part(
        title="Under the integral sign, for any data density",
        lhs=r"\partial_{x_t}\big[q_0(x_0)\,q(x_t|x_0)\big]/q_t(x_t)",
        start=sp.diff(q0(x0) * kern, xt) / qt(xt),
        start_rule=("∇q_t(x_t) = ∫ ∂_{x_t}[q_0(x_0) N(x_t; √ᾱ_t x_0, 1 − ᾱ_t)] dx_0 "
                    "(differentiation under the integral sign: the kernel and its derivative "
                    "are bounded by integrable envelopes); the integrand, divided by q_t"),
        cite=cite(EFRON, "Eq. 2.8"),
        steps=(
            Step(-(xt - sp.sqrt(ab) * x0) / (1 - ab) * q0(x0) * kern / qt(xt),
                 "∂_x N(x; √ᾱ_t x_0, 1 − ᾱ_t) = −(x − √ᾱ_t x_0)/(1 − ᾱ_t) · N: the "
                 "kernel's derivative is the kernel times a linear function of x_0",
                 cite("standard", "derivative of the Gaussian density")),
            Step((sp.sqrt(ab) * x0 - xt) / (1 - ab) * post(x0, xt),
                 "q_0(x_0) N(x_t; √ᾱ_t x_0, 1 − ᾱ_t)/q_t(x_t) is the posterior q(x_0|x_t): "
                 "integrating over x_0 gives (√ᾱ_t E[x_0|x_t] − x_t)/(1 − ᾱ_t)",
                 cite(EFRON, "Eq. 2.8")),
        ),
    )


def tweedie_part(kernel_step=None, target=None) -> Part:
    q = marginal()
    mean = posterior_mean(lambda a: a)
    root = sp.sqrt(ab)
    kernel_step = (sp.sqrt(ab) * A[k] - xt) / (1 - ab) if kernel_step is None else kernel_step
    target = mean if target is None else target
    return Part(
        title="Tweedie's formula, any finitely supported law",
        lhs=r"\big(x_t + (1-\bar\alpha_t)\nabla\log q_t(x_t)\big)/\sqrt{\bar\alpha_t}",
        start=(xt + (1 - ab) * sp.diff(q, xt) / q) / root,
        start_rule=("the right-hand side of Tweedie's formula with ∇ log q_t = ∇q_t/q_t, "
                    "q_t = Σ_k w_k N(x_t; √ᾱ_t a_k, 1 − ᾱ_t) differentiated under the sum "
                    "(the integral against q_0 = Σ_k w_k δ_{a_k})"),
        cite=cite(ROBBINS, "the empirical Bayes posterior mean"),
        steps=(
            Step((xt + (1 - ab) * S(W[k] * kernel_step * kernel(A[k])) / q) / root,
                 "each kernel's derivative: −(x_t − √ᾱ_t a_k)/(1 − ᾱ_t) N_k",
                 cite("standard", "derivative of the Gaussian density")),
            Step((xt + (root * S(W[k] * A[k] * kernel(A[k])) - xt * q) / q) / root,
                 "split the sum (linearity); 1 − ᾱ_t cancels: √ᾱ_t Σ w_k a_k N_k − x_t Σ w_k N_k",
                 cite("standard", "linearity of the sum")),
            Step(target,
                 "divide by q_t: the posterior weights π_k = w_k N_k/q_t sum to 1, so x_t "
                 "cancels and Σ π_k a_k = E[x_0|x_t] remains", cite(EFRON, "Eq. 2.8")),
        ),
    )


def build(kernel_step=None, tweedie_target=None) -> Derivation:
    return Derivation(
        name=NAME,
        title="Tweedie's formula for an arbitrary data law",
        statement=(r"\mathbb{E}[x_0\mid x_t] = \frac{x_t + (1-\bar\alpha_t)\,\nabla\log "
                   r"q_t(x_t)}{\sqrt{\bar\alpha_t}},\quad q_t(x_t) = \int q_0(x_0)\,"
                   r"\mathcal{N}(x_t; \sqrt{\bar\alpha_t}x_0, 1-\bar\alpha_t)\,dx_0"),
        premises=(r"q(x_t|x_0) = \mathcal{N}(\sqrt{\bar\alpha_t}x_0, 1-\bar\alpha_t)",
                  LAW_PREMISE),
        assumptions=(BAYES,),
        cites=(cite(EFRON, "Eq. 2.8"), cite(ROBBINS, "the empirical Bayes posterior mean")),
        summary=("The posterior mean of the data is an affine function of the score of the "
                 "noisy marginal, whatever the data law: differentiate under the integral, "
                 "divide by q_t, recognise E[x_0|x_t]."),
        parts=(pointwise_part(), tweedie_part(kernel_step, tweedie_target)),
        definitions={},
    )


register(NAME)(build)
