"""For every topic of the registry (each registered derivation), identities in the
notation a user would write: true ones, and their hidden-slip variants (one factor,
sign, power or index changed), each with the verdict ``ddpm-theory check`` must give.

Each entry: topic -> list of (identity, keyword arguments of check, expected verdict).
"""

from __future__ import annotations

T, F, U = "true", "false", "could not decide"
BT = {"define": ["betatilde_t"]}
W = {"define": ["sigma2_t", "betatilde_t"]}
MU_X0 = "sqrt(alphabar_tm1)*beta_t/(1-alphabar_t)*x_0"
X_T = "(sqrt(alphabar_t)*x_0 + sqrt(1-alphabar_t)*epsilon)"
KL = "log(v_2/v_1)/2 + (v_1 + (m_1-m_2)^2)/(2*v_2) - 1/2"
LIN_STEP = ("GaussE(GaussE((alpha_t*x_0 + epsilon - alpha_t*m_1)^2, epsilon, 0, 1), x_0, "
            "m_1, v_1)")
PAIR = "GaussE(GaussE(x_t*x_tm1, x_t, sqrt(alpha_t)*x_tm1, beta_t), x_tm1, 0, 1)"

TOPICS: dict[str, list[tuple[str, dict, str]]] = {
    "gaussian-kl": [
        (f"{KL} = ((m_1-m_2)^2/v_2 + v_1/v_2 - 1 - log(v_1/v_2))/2", {}, T),
        (f"{KL} = ((m_1-m_2)^2/v_2 + v_1/v_2 - 1 + log(v_1/v_2))/2", {}, F),
    ],
    "elbo-gap": [
        ("log(2*pi*v_1)/2 + (x_0-m_1)^2/(2*v_1) = log(2*pi)/2 + log(v_1)/2 + "
         "(x_0-m_1)^2/(2*v_1)", {}, T),
        ("log(2*pi*v_1)/2 + (x_0-m_1)^2/(2*v_1) = log(2*pi)/2 + log(v_1)/2 + "
         "(x_0-m_1)^2/v_1", {}, F),
    ],
    "vae-elbo": [
        ("GaussE((x_0 - m_1)^2, x_0, m_2, v_2) = v_2 + (m_2 - m_1)^2", {}, T),
        ("GaussE((x_0 - m_1)^2, x_0, m_2, v_2) = v_2^2 + (m_2 - m_1)^2", {}, F),
    ],
    "cross-entropy": [
        ("GaussE(log(2*pi*v_2)/2 + (x_0-m_2)^2/(2*v_2), x_0, m_1, v_1) = "
         f"log(2*pi*v_1)/2 + 1/2 + {KL}", {}, T),
        ("GaussE(log(2*pi*v_2)/2 + (x_0-m_2)^2/(2*v_2), x_0, m_1, v_1) = "
         f"log(2*pi*v_1)/2 + {KL}", {}, F),
    ],
    "density-claims": [
        ("exp(-(x_0-m_1)^2/(2*v_1))/sqrt(2*pi*v_1) = exp(-(x_0-m_1)^2/(2*v_1) - "
         "log(2*pi*v_1)/2)", {}, T),
        ("exp(-(x_0-m_1)^2/(2*v_1))/(sqrt(2*pi)*v_1) = exp(-(x_0-m_1)^2/(2*v_1) - "
         "log(2*pi*v_1)/2)", {}, F),
    ],
    "information-claims": [
        ("log(v_1) <= v_1 - 1", {}, T),
        ("log(v_1) >= v_1 - 1", {}, F),
    ],
    "probability-claims": [
        ("(x_0-m_1)^2/v_1 + (x_0-m_2)^2/v_2 = (1/v_1 + 1/v_2)*(x_0 - (m_1/v_1 + m_2/v_2)/"
         "(1/v_1 + 1/v_2))^2 + (m_1-m_2)^2/(v_1+v_2)", {}, T),
        ("(x_0-m_1)^2/v_1 + (x_0-m_2)^2/v_2 = (1/v_1 + 1/v_2)*(x_0 - (m_1/v_1 + m_2/v_2)/"
         "(1/v_1 + 1/v_2))^2 + (m_1-m_2)^2/(v_1*v_2)", {}, F),
    ],
    "bayes-posterior": [
        (f"mutilde_t = {MU_X0} + sqrt(alpha_t)*(1-alphabar_tm1)/(1-alphabar_t)*x_t", {}, T),
        (f"mutilde_t = {MU_X0} + sqrt(alphabar_t)*(1-alphabar_tm1)/(1-alphabar_t)*x_t", {}, F),
        ("betatilde_t = (1-alphabar_tm1)/(1-alphabar_t)*beta_t", BT, T),
        ("betatilde_t = (1-alphabar_t)/(1-alphabar_tm1)*beta_t", BT, F),
    ],
    "reverse-conditional-claims": [
        ("1/(alpha_t/beta_t + 1/(1-alphabar_tm1)) = betatilde_t", BT, T),
        ("1/(alpha_t/beta_t + 1/(1-alphabar_t)) = betatilde_t", BT, F),
    ],
    "score-claims": [
        (f"-({X_T} - sqrt(alphabar_t)*x_0)/(1-alphabar_t) = -epsilon/sqrt(1-alphabar_t)", {}, T),
        (f"-({X_T} - sqrt(alphabar_t)*x_0)/(1-alphabar_t) = -epsilon/(1-alphabar_t)", {}, F),
    ],
    "loss-weight-claims": [
        ("lambda_eps_t = (SNR(t-1)/SNR(t) - 1)/2", W, T),
        ("lambda_eps_t = (SNR(t-1) - SNR(t))/2", W, F),
    ],
    "vae-and-sampling-claims": [
        ("SNR(t-1)/SNR(t) = alphabar_tm1*(1-alphabar_t)/(alphabar_t*(1-alphabar_tm1))", {}, T),
        ("SNR(t-1)/SNR(t) = alphabar_tm1*(1-alphabar_tm1)/(alphabar_t*(1-alphabar_t))", {}, F),
    ],
    "continuous-time": [
        ("lambda_x0_t = (SNR(t-1) - SNR(t))/2", W, T),
        ("lambda_x0_t = SNR(t-1) - SNR(t)", W, F),
    ],
    "elbo-decomposition": [
        ("log(alphabar_t) = log(alphabar_tm1) + log(alpha_t)", {}, T),
        ("log(alphabar_t) = log(alphabar_tm1) + log(beta_t)", {}, F),
    ],
    "luo-consistency-term": [
        ("GaussE(x_t, x_t, sqrt(alpha_t)*x_tm1, beta_t) = sqrt(alpha_t)*x_tm1", {}, T),
        ("GaussE(x_t, x_t, sqrt(alpha_t)*x_tm1, beta_t) = sqrt(alphabar_t)*x_tm1", {}, F),
    ],
    "consistency-term-corrected": [
        ("GaussE(x_t^2, x_t, sqrt(alpha_t)*x_tm1, beta_t) = alpha_t*x_tm1^2 + beta_t", {}, T),
        ("GaussE(x_t^2, x_t, sqrt(alpha_t)*x_tm1, beta_t) = alpha_t*x_tm1^2 + beta_t^2", {}, F),
    ],
    "luo-telescoping": [
        ("log(alphabar_t/alphabar_tm1) = log(alpha_t)", {}, T),
        ("log(alphabar_t/alphabar_tm1) = log(alphabar_t)", {}, F),
    ],
    "term-by-term-cancellation": [
        ("log((1-alphabar_t)/(1-alphabar_tm1)) = log(1-alphabar_t) - log(1-alphabar_tm1)",
         {}, T),
        ("log((1-alphabar_t)/(1-alphabar_tm1)) = 0", {}, F),
    ],
    "prior-term": [
        ("log(1/(1-alphabar_t))/2 + ((1-alphabar_t) + alphabar_t*x_0^2)/2 - 1/2 = "
         "(alphabar_t*x_0^2 - alphabar_t - log(1-alphabar_t))/2", {}, T),
        ("log(1/(1-alphabar_t))/2 + ((1-alphabar_t) + alphabar_t*x_0^2)/2 - 1/2 = "
         "(alphabar_t*x_0^2 - alphabar_t + log(1-alphabar_t))/2", {}, F),
    ],
    "decoder-term": [
        ("-(-log(2*pi*sigma2_t)/2 - (x_0-mu_theta)^2/(2*sigma2_t)) = log(2*pi*sigma2_t)/2 "
         "+ (x_0-mu_theta)^2/(2*sigma2_t)", {}, T),
        ("-(-log(2*pi*sigma2_t)/2 - (x_0-mu_theta)^2/(2*sigma2_t)) = log(2*pi*sigma2_t) "
         "+ (x_0-mu_theta)^2/(2*sigma2_t)", {}, F),
    ],
    "forward-marginal": [
        ("alpha_t*(1-alphabar_tm1) + beta_t = 1 - alphabar_t", {}, T),
        ("alpha_t*(1-alphabar_tm1) + beta_t^2 = 1 - alphabar_t", {}, F),
    ],
    "log-inequality": [
        ("log(alpha_t) <= alpha_t - 1", {}, T),
        ("log(alpha_t) <= alpha_t - 2", {}, F),
    ],
    "mean-matching": [
        (f"{MU_X0} + sqrt(alpha_t)*(1-alphabar_tm1)/(1-alphabar_t)*{X_T} = "
         f"({X_T} - beta_t/sqrt(1-alphabar_t)*epsilon)/sqrt(alpha_t)", {}, T),
        (f"{MU_X0} + sqrt(alpha_t)*(1-alphabar_tm1)/(1-alphabar_t)*{X_T} = "
         f"({X_T} - beta_t/sqrt(1-alphabar_t)*epsilon)/sqrt(alphabar_t)", {}, F),
    ],
    "mle-view": [
        ("log(v_1) - log(v_2) = log(v_1/v_2)", {}, T),
        ("log(v_1) - log(v_2) = log(v_1 - v_2)", {}, F),
    ],
    "tweedie-score": [
        ("-sqrt(1-alphabar_t)*(-epsilon/sqrt(1-alphabar_t)) = epsilon", {}, T),
        ("-(1-alphabar_t)*(-epsilon/sqrt(1-alphabar_t)) = epsilon", {}, F),
    ],
    "optimal-reverse-variance": [
        ("betatilde_t <= beta_t", BT, T),
        ("betatilde_t >= beta_t", BT, F),
    ],
    "loss-weights": [
        ("lambda_x0_t = lambda_eps_t*SNR(t)", W, T),
        ("lambda_x0_t = lambda_eps_t/SNR(t)", W, F),
    ],
    "respaced-chain-marginals": [
        ("(1 - (1 - alphabar_t/alphabar_tm1))*alphabar_tm1 = alphabar_t", {}, T),
        ("(1 - (1 - alphabar_tm1/alphabar_t))*alphabar_tm1 = alphabar_t", {}, F),
    ],
    "tweedie-any-law": [
        ("(x_t + (1-alphabar_t)*(sqrt(alphabar_t)*x_0 - x_t)/(1-alphabar_t))/sqrt(alphabar_t)"
         " = x_0", {}, T),
        ("(x_t + (1-alphabar_t)*(sqrt(alphabar_t)*x_0 - x_t)/(1-alphabar_t))/alphabar_t"
         " = x_0", {}, F),
    ],
    "score-eps-equivalence": [
        ("(x_t - sqrt(alphabar_t)*x_0)/sqrt(1-alphabar_t) = "
         "-sqrt(1-alphabar_t)*(-(x_t - sqrt(alphabar_t)*x_0)/(1-alphabar_t))", {}, T),
        ("(x_t - sqrt(alphabar_t)*x_0)/sqrt(1-alphabar_t) = "
         "-(1-alphabar_t)*(-(x_t - sqrt(alphabar_t)*x_0)/(1-alphabar_t))", {}, F),
    ],
    "analytic-dpm-variance": [
        ("betatilde_t + beta_t^2/(alpha_t*(1-alphabar_t))*alphabar_t = beta_t", BT, T),
        ("betatilde_t + beta_t^2/(1-alphabar_t)*alphabar_t = beta_t", BT, F),
    ],
    "denoising-score-matching": [
        ("(1-alphabar_t)*(epsilon/sqrt(1-alphabar_t) - epsilon_theta/sqrt(1-alphabar_t))^2"
         " = (epsilon - epsilon_theta)^2", {}, T),
        ("(1-alphabar_t)*(epsilon/(1-alphabar_t) - epsilon_theta/(1-alphabar_t))^2"
         " = (epsilon - epsilon_theta)^2", {}, F),
    ],
    "classifier-guidance": [
        ("v_1*m_1 + (1-v_1)*m_2 = m_2 + v_1*(m_1 - m_2)", {}, T),
        ("v_1*m_1 + (1-v_1)*m_2 = m_1 + v_1*(m_1 - m_2)", {}, F),
    ],
    "guided-density": [
        ("1/v_1 + 2/v_2 = (v_2 + 2*v_1)/(v_1*v_2)", {}, T),
        ("1/v_1 + 2/v_2 = (v_1 + 2*v_2)/(v_1*v_2)", {}, F),
    ],
    "guidance-claims": [
        ("1/v_1 + 2/v_2 >= 1/v_1", {}, T),
        ("1/v_1 - 2/v_2 >= 1/v_1", {}, F),
    ],
    # the divergence of the probability-flow drift for unit-variance Gaussian data, where
    # the best ε-predictor is σ x with σ = √(1 − ᾱ_t), so ∇·ε̂ = σ d
    "instantaneous-change-of-variables": [
        ("-beta_t/2*(d - sqrt(1-alphabar_t)*d/sqrt(1-alphabar_t)) = 0", {}, T),
        ("-beta_t/2*(d - sqrt(1-alphabar_t)*d/(1-alphabar_t)) = 0", {}, F),
    ],
    # DDIM (Song, Meng & Ermon 2021, Eq. 7): the variances trade off exactly
    "ddim-marginals": [
        ("(1 - alphabar_tm1 - sigma2_t)/(1-alphabar_t)*(1-alphabar_t) + sigma2_t = "
         "1 - alphabar_tm1", {}, T),
        ("(1 - alphabar_tm1 - sigma2_t)/(1-alphabar_t)*(1-alphabar_t)**2 + sigma2_t = "
         "1 - alphabar_tm1", {}, F),
    ],
    # Eq. 12 at sigma_t^2 = betatilde_t is DDPM's sampling step (Ho et al. 2020, Eq. 11)
    "ddim-sampler": [
        ("sqrt(alphabar_tm1)*(x_t - sqrt(1-alphabar_t)*epsilon)/sqrt(alphabar_t) + "
         "sqrt(alpha_t)*(1-alphabar_tm1)/sqrt(1-alphabar_t)*epsilon = "
         "(x_t - beta_t/sqrt(1-alphabar_t)*epsilon)/sqrt(alpha_t)", {}, T),
        ("sqrt(alphabar_tm1)*(x_t - sqrt(1-alphabar_t)*epsilon)/sqrt(alphabar_t) + "
         "sqrt(1-alphabar_tm1)*epsilon = "
         "(x_t - beta_t/sqrt(1-alphabar_t)*epsilon)/sqrt(alpha_t)", {}, F),
    ],
    # the probability-flow velocity for Gaussian data N(m_1, v_1) at time t
    "probability-flow-gaussian": [
        ("-beta_t*x_0/2 + beta_t*(x_0 - m_1)/(2*v_1) = "
         "beta_t*((1/v_1 - 1)*x_0 - m_1/v_1)/2", {}, T),
        ("-beta_t*x_0/2 - beta_t*(x_0 - m_1)/(2*v_1) = "
         "beta_t*((1/v_1 - 1)*x_0 - m_1/v_1)/2", {}, F),
    ],
    # the strided chain's x_0-weight at a kept step (Nichol & Dhariwal 2021, Sec. 4)
    "strided-chain-bound": [
        ("alphabar_tm1*(1 - alphabar_t/alphabar_tm1)/(2*(1-alphabar_tm1)*(1-alphabar_t)) = "
         "(alphabar_tm1/(1-alphabar_tm1) - alphabar_t/(1-alphabar_t))/2", {}, T),
        ("alphabar_tm1*(1 - alphabar_t/alphabar_tm1)/((1-alphabar_tm1)*(1-alphabar_t)) = "
         "(alphabar_tm1/(1-alphabar_tm1) - alphabar_t/(1-alphabar_t))/2", {}, F),
    ],
    # SNR(a + h) = SNR(a) e^{-gamma h} for a log-linear SNR, the step before e^{-x} >= 1 - x
    "continuous-time-remainder": [
        ("exp(-v_1*(x_0+v_2)) = exp(-v_1*x_0)*exp(-v_1*v_2)", {}, T),
        ("exp(-v_1*(x_0+v_2)) = exp(-v_1*x_0) + exp(-v_1*v_2)", {}, F),
    ],
    # z/alpha ~ N(x, 1/SNR) whatever alpha (Kingma et al. 2021, Sec. 5.1)
    "vdm-snr-invariance": [
        ("GaussE(((alpha_t*x_0 + alpha_t/sqrt(v_1)*epsilon)/alpha_t - x_0)^2, epsilon, 0, 1)"
         " = 1/v_1", {}, T),
        ("GaussE(((alpha_t*x_0 + alpha_t/sqrt(v_1)*epsilon)/alpha_t - x_0)^2, epsilon, 0, 1)"
         " = alpha_t^2/v_1", {}, F),
    ],
    "linear-gaussian-step": [
        (f"{LIN_STEP} = alpha_t^2*v_1 + 1", {}, T),
        (f"{LIN_STEP} = alpha_t*v_1 + 1", {}, F),
    ],
    "forward-marginal-induction": [
        ("alpha_t*(1 - alphabar_tm1) + 1 - alpha_t = 1 - alphabar_t", {}, T),
        ("alpha_t*(1 - alphabar_tm1) + beta_t^2 = 1 - alphabar_t", {}, F),
    ],
    "elbo-by-jensen": [
        ("log(v_2) + v_1/v_2 - 1 - log(v_1) = v_1/v_2 - 1 - log(v_1/v_2)", {}, T),
        ("log(v_2) + v_1/v_2 - 1 - log(v_1) = v_1/v_2 - 1 + log(v_1/v_2)", {}, F),
    ],
    "tower-property": [
        (f"{PAIR} = sqrt(alpha_t)", {}, T),
        (f"{PAIR} = alpha_t", {}, F),
    ],
    "marginalisation-to-kl": [
        ("GaussE(((m_1 - m_2)*x_t)^2/(2*v_2), x_t, 0, v_1) = (m_1 - m_2)^2*v_1/(2*v_2)", {}, T),
        ("GaussE(((m_1 - m_2)*x_t)^2/(2*v_2), x_t, 0, v_1) = (m_1 - m_2)^2/(2*v_2)", {}, F),
    ],
}
