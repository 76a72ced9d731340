"""A user's module with two derivations: one true, one with a planted slip (the posterior
variance with its two factors swapped).  Used by the tests of ``verify --module`` and of
the pytest plugin; written against the public API only."""

from ddpm_theory.derive import Derivation, Part, Step, alpha, alpha_bar, alpha_bar_prev, cite

precision = alpha / (1 - alpha) + 1 / (1 - alpha_bar_prev)

posterior_variance = Derivation(
    name="my-posterior-variance",
    title="The posterior variance by completing the square",
    statement=r"\big(\alpha_t/\beta_t + 1/(1-\bar\alpha_{t-1})\big)^{-1} = \tilde\beta_t",
    parts=(Part(
        title="Invert the precision", start=1 / precision,
        start_rule="the coefficient of x_{t-1}^2 is -precision/2",
        steps=(Step((1 - alpha_bar_prev) / (1 - alpha_bar) * (1 - alpha),
                    "put over one denominator: 1 - alphabar_t = 1 - alphabar_{t-1} alpha_t",
                    cite("Ho et al. 2020", "Eq. 7")),),
    ),),
)

posterior_variance_slip = Derivation(
    name="my-posterior-variance-slip",
    title="The same, with a planted slip",
    statement=r"\text{a slip: the ratio inverted}",
    parts=(Part(
        title="Invert the precision", start=1 / precision,
        start_rule="the coefficient of x_{t-1}^2 is -precision/2",
        steps=(Step((1 - alpha_bar) / (1 - alpha_bar_prev) * (1 - alpha),
                    "put over one denominator (ratio upside down)",
                    cite("Ho et al. 2020", "Eq. 7")),),
    ),),
)
