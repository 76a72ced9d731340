"""Two parts of ``vae-and-sampling-claims`` (registered in :mod:`.catalogue_claims_diffusion`,
kept here to keep each module short): Ho et al.'s sampling step (Algorithm 2) and the VAE
notes' consistency term as Luo (2022, Eq. 45) writes it, which the engine refutes."""

from __future__ import annotations

import sympy as sp

from ...domains import POSITIVE, REAL, VARIANCE
from ..engine import Part, Step
from ..expectation import GaussE
from ..notation import alpha, alpha_bar, beta, eps_theta, sigma2, sym, x0, xt
from ._common import HO, cite, gaussian_logpdf

S001 = "VAE/VDM notes"


def algorithm2_part() -> Part:
    zz = sym("z_noise", REAL, "z")
    mean = (xt - beta / sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha)
    upd = (xt - (1 - alpha) / sp.sqrt(1 - alpha_bar) * eps_theta) / sp.sqrt(alpha) \
        + sp.sqrt(sigma2) * zz
    return Part(
        title="Algorithm 2's update draws from p_θ(x_{t−1} | x_t)",
        lhs=r"(\mathbb{E}_z[x_{t-1}],\ \mathrm{Var}_z[x_{t-1}])",
        start=sp.Tuple(GaussE(upd, zz, 0, 1), GaussE((upd - mean) ** 2, zz, 0, 1)),
        start_rule="x_{t−1} = (x_t − (1−α_t)/√(1−ᾱ_t) ε_θ)/√α_t + σ_t z with z ~ N(0, I)",
        cite=cite(HO, "Algorithm 2"),
        steps=(Step(sp.Tuple((xt - (1 - alpha) / sp.sqrt(1 - alpha_bar) * eps_theta)
                             / sp.sqrt(alpha), sigma2),
                    "E z = 0 and E z² = 1", cite("standard", "Gaussian moments")),
               Step(sp.Tuple(mean, sigma2),
                    "1 − α_t = β_t: the mean is Eq. 11 and the variance σ_t²",
                    cite(HO, "Eq. 11"))),
    )


def luo_part() -> Part:
    a1, a2, cc = (sym(n, POSITIVE, tex) for n, tex in (("a_1p", "a_1"), ("a_2p", "a_2"),
                                                         ("c_p", "c")))
    b1, b2, w = (sym(n, VARIANCE, tex) for n, tex in (("b_1", "b_1"), ("b_2", "b_2"),
                                                      ("w_p", "w")))
    x_1, x_2 = sym("x_1c", REAL, "x_1"), sym("x_2c", REAL, "x_2")
    term = gaussian_logpdf(x_1, a1 * x0, b1) - gaussian_logpdf(x_1, cc * x_2, w)
    return Part(
        title="Luo's consistency term: x_t drawn from q(x_t|x_{t−1}) given both neighbours "
              "(claimed)",
        lhs=r"\mathbb{E}_{q(x_1, x_2|x_0)}[\log q(x_1|x_0) - \log p_\theta(x_1|x_2)]",
        start=GaussE(GaussE(term, x_2, a2 * x_1, b2), x_1, a1 * x0, b1),
        start_rule=("T = 2, one coordinate: q(x_1|x_0) = N(a_1 x_0, b_1), q(x_2|x_1) = "
                    "N(a_2 x_1, b_2), p_θ(x_1|x_2) = N(c x_2, w); the term of the bound, "
                    "averaged under the forward chain"),
        cite=cite("Luo 2022", "Eq. 45"),
        steps=(Step(GaussE(GaussE(term, x_1, a1 * x0, b1), x_2, a2 * a1 * x0, a2**2 * b1 + b2),
                    "the source (Luo 2022, Eq. 45): E_{q(x_0, x_2|x_0)}[KL(q(x_1|x_0) ‖ "
                    "p_θ(x_1|x_2))], i.e. x_1 drawn independently of x_2",
                    cite(S001, "ELBO objective function, term 3"), claimed_false=True),),
    )
