"""A linear-Gaussian DDPM in one dimension: everything about it is computable exactly.

Forward: q(x_t | x_{t-1}) = N(sqrt(alpha_t) x_{t-1}, beta_t) (Ho et al. 2020, Eq. 2).
Model:   p(x_T) = N(0, 1), p_theta(x_{t-1} | x_t) = N(a_t x_t, s2_t) for t = 1..T, with
         arbitrary a_t and s2_t > 0 (t = 1 is the decoder p_theta(x_0 | x_1)).
Then p_theta(x_{0:T}) is a zero-mean Gaussian, so p_theta(x_0), the joint q(x_{1:T} | x_0)
and p_theta(x_{1:T} | x_0) are Gaussians with closed-form moments.  The exact anchor
(docs/verification.md) is a_t = sqrt(alpha_t), s2_t = beta_t with x_0 ~ N(0, 1) data.
Arrays indexed ``[t - 1]`` hold step t; trajectories have columns x_0..x_T.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ddpm_theory.numeric import kl_mvn, kl_normal, normal_log_density
from ddpm_theory.numeric.formulas import (
    posterior_mean_coef_x0,
    posterior_mean_coef_xt,
    posterior_variance,
    schedule_quantities,
)


@dataclass(frozen=True)
class LinearDDPM:
    betas: np.ndarray  # (T,)
    a: np.ndarray  # (T,) reverse mean coefficients
    s2: np.ndarray  # (T,) reverse variances

    @property
    def T(self) -> int:
        return self.betas.size

    @classmethod
    def exact(cls, betas: np.ndarray) -> LinearDDPM:
        """The exact reverse process for N(0, 1) data: q(x_{t-1}|x_t) = N(sqrt(a_t) x_t, b_t)."""
        return cls(betas, np.sqrt(1.0 - betas), betas.copy())

    # -- sampling ------------------------------------------------------------------------
    def forward(self, x0: float, eps: np.ndarray) -> np.ndarray:
        """Trajectories (n, T + 1) from fixed x_0 and noises eps of shape (n, T)."""
        x = np.empty((eps.shape[0], self.T + 1))
        x[:, 0] = x0
        for t in range(1, self.T + 1):
            b = self.betas[t - 1]
            x[:, t] = math.sqrt(1.0 - b) * x[:, t - 1] + math.sqrt(b) * eps[:, t - 1]
        return x

    # -- pointwise log-densities ------------------------------------------------------------
    def log_q_path(self, x: np.ndarray) -> np.ndarray:
        """log q(x_{1:T} | x_0), summed step by step."""
        out = np.zeros(x.shape[0])
        for t in range(1, self.T + 1):
            b = self.betas[t - 1]
            out += normal_log_density(x[:, t], math.sqrt(1.0 - b) * x[:, t - 1], b)
        return out

    def log_p_path(self, x: np.ndarray) -> np.ndarray:
        """log p_theta(x_{0:T})."""
        out = normal_log_density(x[:, self.T], 0.0, 1.0)
        for t in range(1, self.T + 1):
            out = out + normal_log_density(x[:, t - 1], self.a[t - 1] * x[:, t], self.s2[t - 1])
        return out

    def decomposition_terms(self, x: np.ndarray, posterior_var=posterior_variance):
        """Pointwise L_T, L_{t-1} (t = 2..T) and L_0 (Ho et al. 2020, Eq. 5 before E_q).

        Returns an array (n, T + 1): column 0 is L_0, column t - 1 is L_{t-1}, column T is L_T.
        """
        sq = schedule_quantities(self.betas)
        x0 = x[:, 0]
        cols = np.empty((x.shape[0], self.T + 1))
        ab_T = sq.alpha_bar[-1]
        cols[:, self.T] = (normal_log_density(x[:, self.T], math.sqrt(ab_T) * x0, 1 - ab_T)
                           - normal_log_density(x[:, self.T], 0.0, 1.0))
        for t in range(2, self.T + 1):
            kw = sq.at(t)
            mu = (posterior_mean_coef_x0(kw["beta"], kw["alpha_bar"], kw["alpha_bar_prev"]) * x0
                  + posterior_mean_coef_xt(kw["alpha"], kw["alpha_bar"], kw["alpha_bar_prev"])
                  * x[:, t])
            var = posterior_var(kw["beta"], kw["alpha_bar"], kw["alpha_bar_prev"])
            cols[:, t - 1] = (normal_log_density(x[:, t - 1], mu, var)
                              - normal_log_density(x[:, t - 1], self.a[t - 1] * x[:, t],
                                                   self.s2[t - 1]))
        cols[:, 0] = -normal_log_density(x0, self.a[0] * x[:, 1], self.s2[0])
        return cols

    # -- exact quantities ------------------------------------------------------------------
    def p_marginal_variances(self) -> np.ndarray:
        """V_t = Var_p(x_t), t = 0..T: V_T = 1, V_{t-1} = a_t^2 V_t + s2_t."""
        v = np.empty(self.T + 1)
        v[self.T] = 1.0
        for t in range(self.T, 0, -1):
            v[t - 1] = self.a[t - 1] ** 2 * v[t] + self.s2[t - 1]
        return v

    def neg_log_likelihood(self, x0: float) -> float:
        """-log p_theta(x_0), exact."""
        return float(-normal_log_density(x0, 0.0, self.p_marginal_variances()[0]))

    def p_joint_cov(self) -> np.ndarray:
        """Cov_p(x_s, x_t) = (prod_{k=s+1}^{t} a_k) V_t for s <= t; shape (T + 1, T + 1)."""
        v = self.p_marginal_variances()
        c = np.empty((self.T + 1, self.T + 1))
        for s in range(self.T + 1):
            prod = 1.0
            for t in range(s, self.T + 1):
                if t > s:
                    prod *= self.a[t - 1]
                c[s, t] = c[t, s] = prod * v[t]
        return c

    def q_joint(self, x0: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean (T,) and covariance (T, T) of q(x_{1:T} | x_0)."""
        ab = schedule_quantities(self.betas).alpha_bar
        mean = np.sqrt(ab) * x0
        sa = np.sqrt(1.0 - self.betas)
        cov = np.empty((self.T, self.T))
        for s in range(1, self.T + 1):
            for t in range(s, self.T + 1):  # prod_{k=s+1}^{t} sqrt(alpha_k) (1 - ab_s)
                cov[s - 1, t - 1] = cov[t - 1, s - 1] = float(np.prod(sa[s:t])) * (1 - ab[s - 1])
        return mean, cov

    def p_conditional(self, x0: float) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of p_theta(x_{1:T} | x_0) by Gaussian conditioning."""
        c = self.p_joint_cov()
        k = c[1:, 0] / c[0, 0]
        return k * x0, c[1:, 1:] - np.outer(k, c[0, 1:])

    def gap(self, x0: float) -> float:
        """KL(q(x_{1:T}|x_0) || p_theta(x_{1:T}|x_0)): the gap of the bound (Ho et al. Eq. 3)."""
        mq, cq = self.q_joint(x0)
        mp, cp = self.p_conditional(x0)
        return kl_mvn(mq, cq, mp, cp)

    def bound_by_terms(self, x0: float, posterior_var=posterior_variance) -> float:
        """L(x_0) = KL(q(x_T|x_0) || p(x_T)) + sum_{t>=2} E KL(posterior || p_theta)
        + E[-log p_theta(x_0|x_1)], each expectation in closed form over x_t ~ q(x_t|x_0)."""
        sq = schedule_quantities(self.betas)
        ab = sq.alpha_bar
        total = float(kl_normal(math.sqrt(ab[-1]) * x0, 1 - ab[-1], 0.0, 1.0))
        for t in range(2, self.T + 1):
            kw = sq.at(t)
            c0 = posterior_mean_coef_x0(kw["beta"], kw["alpha_bar"], kw["alpha_bar_prev"])
            ct = posterior_mean_coef_xt(kw["alpha"], kw["alpha_bar"], kw["alpha_bar_prev"])
            bt = posterior_var(kw["beta"], kw["alpha_bar"], kw["alpha_bar_prev"])
            # mean difference is linear in x_t ~ N(sqrt(ab_t) x0, 1 - ab_t): E[d^2] = m^2 + k^2 v
            k = ct - self.a[t - 1]
            m = c0 * x0 + k * math.sqrt(ab[t - 1]) * x0
            ed2 = m * m + k * k * (1 - ab[t - 1])
            total += 0.5 * (bt / self.s2[t - 1] - 1 - math.log(bt / self.s2[t - 1])
                            + ed2 / self.s2[t - 1])
        # E[-log N(x0; a_1 x_1, s2_1)] with x_1 ~ N(sqrt(ab_1) x0, 1 - ab_1)
        d = x0 - self.a[0] * math.sqrt(ab[0]) * x0
        ed2 = d * d + self.a[0] ** 2 * (1 - ab[0])
        total += 0.5 * (math.log(2 * math.pi * self.s2[0]) + ed2 / self.s2[0])
        return total
