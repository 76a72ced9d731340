"""The notation table: each shared symbol of :mod:`ddpm_theory.symbolic.notation` with
its name in the code and where the paper introduces it.

The ``ddpm-notation`` directive fails the build when a shared symbol has no row here, or
a row names a symbol that no longer exists, so the page cannot drift from the notation.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["Row", "ROWS"]


class Row(NamedTuple):
    code: str     # the name in the code (torch backend / numeric layer)
    paper: str    # where it is introduced
    meaning: str


HO = "Ho et al. 2020"

#: attribute name in ddpm_theory.symbolic.notation -> row
ROWS: dict[str, Row] = {
    "beta": Row("Schedule.betas", f"{HO}, Eq. 2", "forward noise variance at step t"),
    "beta_next": Row("Schedule.betas[t]", f"{HO}, Eq. 2", "β at step t + 1"),
    "alpha": Row("Schedule.alphas", f"{HO}, §2 (α_t := 1 − β_t)",
                 "signal retention at step t"),
    "alpha_next": Row("Schedule.alphas[t]", f"{HO}, §2", "α at step t + 1"),
    "alpha_1": Row("Schedule.alphas[0]", f"{HO}, §2", "α at step 1 (ᾱ_1 = α_1)"),
    "beta_1": Row("Schedule.betas[0]", f"{HO}, Eq. 2", "β at step 1"),
    "alpha_bar": Row("Schedule.alpha_bar", f"{HO}, §2 (ᾱ_t := ∏_{{s≤t}} α_s), Eq. 4",
                     "cumulative signal retention"),
    "alpha_bar_prev": Row("Schedule.alpha_bar_prev", f"{HO}, Eq. 7", "ᾱ at step t − 1"),
    "beta_tilde": Row("Schedule.beta_tilde", f"{HO}, Eq. 7",
                      "variance of the forward posterior q(x_{t−1}|x_t, x_0)"),
    "sigma2": Row("GaussianDiffusion (VarianceType)", f"{HO}, §3.2",
                  "variance of the reverse step p_θ(x_{t−1}|x_t)"),
    "x0": Row("x0 / x_start", f"{HO}, §2", "a data point"),
    "xt": Row("x_t", f"{HO}, Eq. 4", "the noised point at step t"),
    "xtm1": Row("x_tm1", f"{HO}, Eq. 2", "the point at step t − 1"),
    "xtp1": Row("x_tp1", f"{HO}, Eq. 2", "the point at step t + 1"),
    "eps": Row("noise", f"{HO}, Eq. 4 (x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε)", "standard Gaussian noise"),
    "eps_theta": Row("model output (Parameterization.EPS)", f"{HO}, Eq. 11",
                     "the network's noise prediction"),
    "x0_hat": Row("pred_x0", f"{HO}, §3.2", "the model's estimate of x_0"),
    "mu_theta": Row("p_mean_variance(...).mean", f"{HO}, Eq. 1",
                    "mean of the reverse step"),
    "m1": Row("mean1", "standard", "mean of the first Gaussian in a KL"),
    "m2": Row("mean2", "standard", "mean of the second Gaussian in a KL"),
    "v1": Row("var1", "standard", "variance of the first Gaussian in a KL"),
    "v2": Row("var2", "standard", "variance of the second Gaussian in a KL"),
    "t": Row("t", f"{HO}, §2", "the timestep, 1 ≤ t ≤ T"),
    "T": Row("Schedule.T", f"{HO}, §2 (T = 1000 in §4)", "number of diffusion steps"),
    "d": Row("event dimension", "standard", "dimension of x"),
}
