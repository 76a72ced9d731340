"""Hand-written float64 closed forms, vectorised over NumPy arrays.

Each function is the fast twin of an expression that a registered derivation exports;
:data:`ddpm_theory.numeric.formulas.FAST` pairs them with their ``lambdify``'d versions
and ``tests/numeric/test_numeric_formulas.py`` checks every pair to rtol 1e-12 (tier S1)
with a planted wrong variant for each.  Equations are those of Ho et al. 2020 unless
stated; see :mod:`ddpm_theory.numeric.formulas` for the list and the conditioning note
on the alpha_bar parameterisation.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import special

from ddpm_theory.numeric.gaussian import kl_normal

__all__ = [
    "q_mean_coef",
    "q_variance",
    "posterior_mean_coef_x0",
    "posterior_mean_coef_xt",
    "posterior_variance",
    "posterior_mean_eps_coef_xt",
    "posterior_mean_eps_coef_eps",
    "kl_univariate",
    "prior_term_per_coordinate",
    "bin_probability",
    "lowest_bin_probability",
    "highest_bin_probability",
    "mean_matching_weight",
    "variance_mismatch_constant",
    "snr",
    "loss_weight_eps",
    "loss_weight_x0",
    "loss_weight_v",
    "loss_weight_eps_snr",
    "loss_weight_x0_snr",
    "loss_weight_v_snr",
    "optimal_sigma2_gaussian_data",
    "best_eps_error_gaussian_data",
    "consistency_mutual_information",
    "alpha_bar_of_gamma",
]


def q_mean_coef(alpha_bar: ArrayLike) -> np.ndarray:
    """Coefficient of x_0 in the mean of q(x_t | x_0) (Ho et al. 2020, Eq. 4)."""
    return np.sqrt(np.asarray(alpha_bar, dtype=np.float64))


def q_variance(alpha_bar: ArrayLike) -> np.ndarray:
    """Variance of q(x_t | x_0) (Ho et al. 2020, Eq. 4)."""
    return 1.0 - np.asarray(alpha_bar, dtype=np.float64)


def posterior_mean_coef_x0(beta: ArrayLike, alpha_bar: ArrayLike,
                           alpha_bar_prev: ArrayLike) -> np.ndarray:
    """Coefficient of x_0 in mu_tilde_t (Ho et al. 2020, Eq. 7)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    abp = np.asarray(alpha_bar_prev, dtype=np.float64)
    return np.sqrt(abp) * np.asarray(beta, dtype=np.float64) / (1.0 - ab)


def posterior_mean_coef_xt(alpha: ArrayLike, alpha_bar: ArrayLike,
                           alpha_bar_prev: ArrayLike) -> np.ndarray:
    """Coefficient of x_t in mu_tilde_t (Ho et al. 2020, Eq. 7)."""
    abp = np.asarray(alpha_bar_prev, dtype=np.float64)
    a = np.asarray(alpha, dtype=np.float64)
    return np.sqrt(a) * (1.0 - abp) / (1.0 - np.asarray(alpha_bar, dtype=np.float64))


def posterior_variance(beta: ArrayLike, alpha_bar: ArrayLike,
                       alpha_bar_prev: ArrayLike) -> np.ndarray:
    """beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t (Ho et al. 2020, Eq. 7)."""
    abp = np.asarray(alpha_bar_prev, dtype=np.float64)
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return (1.0 - abp) / (1.0 - ab) * np.asarray(beta, dtype=np.float64)


def posterior_mean_eps_coef_xt(alpha: ArrayLike) -> np.ndarray:
    """Coefficient of x_t in the eps-form of mu_tilde_t (Ho et al. 2020, Eq. 10)."""
    return 1.0 / np.sqrt(np.asarray(alpha, dtype=np.float64))


def posterior_mean_eps_coef_eps(alpha: ArrayLike, beta: ArrayLike,
                                alpha_bar: ArrayLike) -> np.ndarray:
    """Coefficient of eps in the eps-form of mu_tilde_t (Ho et al. 2020, Eq. 10)."""
    a = np.asarray(alpha, dtype=np.float64)
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return -np.asarray(beta, dtype=np.float64) / (np.sqrt(1.0 - ab) * np.sqrt(a))


def kl_univariate(mean1: ArrayLike, var1: ArrayLike, mean2: ArrayLike,
                  var2: ArrayLike) -> np.ndarray:
    """KL(N(mean1, var1) || N(mean2, var2)) in nats (alias of ``gaussian.kl_normal``)."""
    return kl_normal(mean1, var1, mean2, var2)


def prior_term_per_coordinate(alpha_bar_T: ArrayLike, x0: ArrayLike) -> np.ndarray:
    """L_T per coordinate: KL(N(sqrt(alpha_bar_T) x_0, 1 - alpha_bar_T) || N(0, 1))
    (Ho et al. 2020, Eq. 5 and section 3.1)."""
    ab = np.asarray(alpha_bar_T, dtype=np.float64)
    return kl_normal(np.sqrt(ab) * np.asarray(x0, dtype=np.float64), 1.0 - ab, 0.0, 1.0)


def _upper_mass(z: np.ndarray) -> np.ndarray:
    """P(Z > z) without cancellation in the upper tail."""
    return special.ndtr(-z)


def bin_probability(bin_hi: ArrayLike, bin_lo: ArrayLike, decoder_mean: ArrayLike,
                    decoder_std: ArrayLike) -> np.ndarray:
    """P(bin_lo < X < bin_hi) for X ~ N(decoder_mean, decoder_std^2) (Ho et al. 2020, Eq. 13).

    Computed as a difference of lower-tail masses left of the mean and of upper-tail
    masses right of it, so that neither tail cancels catastrophically."""
    m = np.asarray(decoder_mean, dtype=np.float64)
    s = np.asarray(decoder_std, dtype=np.float64)
    zl = (np.asarray(bin_lo, dtype=np.float64) - m) / s
    zh = (np.asarray(bin_hi, dtype=np.float64) - m) / s
    return np.where(zl > 0.0, _upper_mass(zl) - _upper_mass(zh),
                    special.ndtr(zh) - special.ndtr(zl))


def lowest_bin_probability(bin_hi: ArrayLike, decoder_mean: ArrayLike,
                           decoder_std: ArrayLike) -> np.ndarray:
    """P(X < bin_hi): the lowest bin extends to -inf (Ho et al. 2020, Eq. 13)."""
    m = np.asarray(decoder_mean, dtype=np.float64)
    s = np.asarray(decoder_std, dtype=np.float64)
    return special.ndtr((np.asarray(bin_hi, dtype=np.float64) - m) / s)


def highest_bin_probability(bin_lo: ArrayLike, decoder_mean: ArrayLike,
                            decoder_std: ArrayLike) -> np.ndarray:
    """P(X > bin_lo): the highest bin extends to +inf (Ho et al. 2020, Eq. 13)."""
    m = np.asarray(decoder_mean, dtype=np.float64)
    s = np.asarray(decoder_std, dtype=np.float64)
    return _upper_mass((np.asarray(bin_lo, dtype=np.float64) - m) / s)


def mean_matching_weight(sigma2: ArrayLike) -> np.ndarray:
    """1 / (2 sigma_t^2), the weight of ||mu_tilde - mu_theta||^2 in L_{t-1} (Ho et al. Eq. 8)."""
    return 0.5 / np.asarray(sigma2, dtype=np.float64)


def variance_mismatch_constant(beta_tilde: ArrayLike, dim: ArrayLike,
                               sigma2: ArrayLike) -> np.ndarray:
    """C_t = d KL(N(0, beta_tilde) || N(0, sigma2)): the part of L_{t-1} that does not
    depend on the means (Ho et al. 2020, Eq. 8's constant)."""
    return np.asarray(dim, dtype=np.float64) * kl_normal(0.0, beta_tilde, 0.0, sigma2)


def snr(alpha_bar: ArrayLike) -> np.ndarray:
    """SNR(t) = alpha_bar_t / (1 - alpha_bar_t) (Kingma et al. 2021, Eq. 3 in DDPM notation)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    return ab / (1.0 - ab)


def loss_weight_eps(alpha: ArrayLike, alpha_bar: ArrayLike, beta: ArrayLike,
                    sigma2: ArrayLike) -> np.ndarray:
    """lambda_t of ||eps - eps_theta||^2 in L_{t-1}: beta^2 / (2 sigma^2 alpha (1 - alpha_bar))
    (Ho et al. 2020, Eq. 12)."""
    b = np.asarray(beta, dtype=np.float64)
    s2, a = np.asarray(sigma2, dtype=np.float64), np.asarray(alpha, dtype=np.float64)
    return b * b / (2.0 * s2 * a * (1.0 - np.asarray(alpha_bar, dtype=np.float64)))


def loss_weight_x0(alpha_bar: ArrayLike, alpha_bar_prev: ArrayLike, beta: ArrayLike,
                   sigma2: ArrayLike) -> np.ndarray:
    """Weight of ||x_0 - x0_hat||^2: alpha_bar_{t-1} beta^2 / (2 sigma^2 (1 - alpha_bar)^2)."""
    b = np.asarray(beta, dtype=np.float64)
    om = 1.0 - np.asarray(alpha_bar, dtype=np.float64)
    abp, s2 = np.asarray(alpha_bar_prev, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    return abp * b * b / (2.0 * s2 * om * om)


def loss_weight_v(alpha_bar: ArrayLike, alpha_bar_prev: ArrayLike, beta: ArrayLike,
                  sigma2: ArrayLike) -> np.ndarray:
    """Weight of ||v - v_hat||^2, v = sqrt(ab) eps - sqrt(1 - ab) x_0 (Salimans & Ho 2022):
    alpha_bar_{t-1} beta^2 / (2 sigma^2 (1 - alpha_bar))."""
    b = np.asarray(beta, dtype=np.float64)
    om = 1.0 - np.asarray(alpha_bar, dtype=np.float64)
    abp, s2 = np.asarray(alpha_bar_prev, dtype=np.float64), np.asarray(sigma2, dtype=np.float64)
    return abp * b * b / (2.0 * s2 * om)


def loss_weight_eps_snr(alpha_bar: ArrayLike, alpha_bar_prev: ArrayLike) -> np.ndarray:
    """lambda_eps at sigma^2 = beta_tilde: (SNR(t-1) / SNR(t) - 1) / 2."""
    return 0.5 * (snr(alpha_bar_prev) / snr(alpha_bar) - 1.0)


def loss_weight_x0_snr(alpha_bar: ArrayLike, alpha_bar_prev: ArrayLike) -> np.ndarray:
    """lambda_x0 at sigma^2 = beta_tilde: (SNR(t-1) - SNR(t)) / 2 (Kingma et al. 2021)."""
    return 0.5 * (snr(alpha_bar_prev) - snr(alpha_bar))


def loss_weight_v_snr(alpha_bar: ArrayLike, alpha_bar_prev: ArrayLike) -> np.ndarray:
    """lambda_v at sigma^2 = beta_tilde: (SNR(t-1) - SNR(t)) / (2 (SNR(t) + 1))."""
    s = snr(alpha_bar)
    return (snr(alpha_bar_prev) - s) / (2.0 * (s + 1.0))


def optimal_sigma2_gaussian_data(alpha_bar: ArrayLike, alpha_bar_prev: ArrayLike,
                                 beta: ArrayLike, data_var: ArrayLike) -> np.ndarray:
    """The bound-optimal sigma_t^2 for x_0 ~ N(0, data_var): Var(x_{t-1} | x_t)
    = beta_t (abp data_var + 1 - abp) / (ab data_var + 1 - ab); beta_t at data_var = 1,
    beta_tilde_t at data_var = 0 (Ho et al. 2020, section 3.2)."""
    abp = np.asarray(alpha_bar_prev, dtype=np.float64)
    ab = np.asarray(alpha_bar, dtype=np.float64)
    s2 = np.asarray(data_var, dtype=np.float64)
    b = np.asarray(beta, dtype=np.float64)
    return b * (abp * s2 + (1.0 - abp)) / (ab * s2 + (1.0 - ab))


def best_eps_error_gaussian_data(alpha_bar: ArrayLike, data_var: ArrayLike) -> np.ndarray:
    """E(eps - E[eps | x_t])^2 for x_0 ~ N(0, data_var): the least error of any
    eps-predictor, ab s2 / (ab s2 + 1 - ab) (Tweedie: E[eps|x_t] = -sqrt(1 - ab) score)."""
    ab = np.asarray(alpha_bar, dtype=np.float64)
    signal = ab * np.asarray(data_var, dtype=np.float64)
    return signal / (signal + (1.0 - ab))


def consistency_mutual_information(a_next: ArrayLike, b: ArrayLike,
                                   b_next: ArrayLike) -> np.ndarray:
    """I(x_t; x_{t+1} | x_{t-1}) = log(Var(x_{t+1}|x_{t-1}) / Var(x_{t+1}|x_t)) / 2 when
    x_t | x_{t-1} has variance b and x_{t+1} | x_t ~ N(a_next x_t, b_next)."""
    a = np.asarray(a_next, dtype=np.float64)
    bn = np.asarray(b_next, dtype=np.float64)
    return 0.5 * np.log1p(a * a * np.asarray(b, dtype=np.float64) / bn)


def alpha_bar_of_gamma(gamma: ArrayLike) -> np.ndarray:
    """alpha_bar = sigmoid(-gamma) for the log-SNR parameterisation SNR = exp(-gamma)
    (Kingma et al. 2021, section 4); ``expit`` keeps both tails accurate."""
    return special.expit(-np.asarray(gamma, dtype=np.float64))
