"""Importance sampling of a mean-acceptance rule's false-alarm rate far in the tail
(alpha ~ 1e-8), for i.i.d. summands ``Y = y(Z)``, ``Z ~ N(0, 1)`` (chi^2_1: ``Z^2``;
lognormal: ``exp Z``).

Proposals tilt the law of each ``Z`` by the sufficient statistics of the rule,
``q(z) = phi(z) exp(eta_1 y + eta_2 y^2) / C(eta)`` with ``eta_2 <= 0`` (a proper
density): the exponential family in which large deviations of (mean Y, mean Y^2) --
hence of the studentised mean -- are cheapest (Bucklew, *Introduction to rare event
simulation*, 2004, ch. 5).  ``eta`` is chosen by minimising KL(q || phi) subject to the
studentised mean under q sitting at a target level ``x`` (one per side and level), and
the draws of all proposals are pooled with the balance heuristic (Veach & Guibas 1995:
weight ``p / mean_j q_j``), an unbiased estimator whose weights are bounded.  The
likelihood ratio of n draws depends on (sum Y, sum Y^2) only.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import logsumexp


class Law(enum.Enum):
    """Summand laws ``y(Z)``."""

    NORMAL = "normal"  # Z itself: the t-test's exact law checks the sampler
    CHI2_1 = "chi2_1"  # Z^2: mean 1, skewness 2 sqrt 2, excess kurtosis 12
    LOGNORMAL = "lognormal"  # exp Z: mean e^{1/2}, skewness 6.18, excess kurtosis 110.9
    CV_RESIDUAL = "cv_residual"  # exp Z - its regression on 1, Z, Z^2 - 1: skew 20.2
    CV_RESIDUAL_HALF = "cv_residual_half"  # the same for exp(Z / 2): skewness 6.37

    def y(self, z: np.ndarray) -> np.ndarray:
        if self is Law.NORMAL:
            return z
        if self is Law.CHI2_1:
            return z * z
        if self is Law.LOGNORMAL:
            return np.exp(z)
        # E exp(sZ) = e^{s^2/2}, E Z exp(sZ) = s e^{s^2/2}, E (Z^2 - 1) exp(sZ) = s^2 e^{s^2/2};
        # Var Z = 1, Var(Z^2 - 1) = 2: regression coefficients e^{s^2/2} (1, s, s^2 / 2)
        s = 1.0 if self is Law.CV_RESIDUAL else 0.5
        return np.exp(s * z) - math.exp(s * s / 2) * (1.0 + s * z + s * s * (z * z - 1.0) / 2)

    @property
    def mean(self) -> float:
        return math.exp(0.5) if self is Law.LOGNORMAL else float(self is Law.CHI2_1)


def cv_residual_skewness(law: Law) -> float:
    """Exact skewness of a control-variate residual ``r = exp(sZ) - P(Z)`` (``P`` the
    population regression on 1, Z, Z^2 - 1): ``E r^k = sum_j C(k, j) E exp(j s Z)
    (-P(Z))^(k-j)`` and ``E exp(cZ) Q(Z) = e^{c^2/2} E Q(Z + c)`` (completing the square),
    with ``E Z^m = (m - 1)!!`` for even m.  20.21 for exp Z, 6.37 for exp(Z / 2)."""
    if law not in (Law.CV_RESIDUAL, Law.CV_RESIDUAL_HALF):
        raise ValueError(f"not a control-variate residual: {law}")
    s = 1.0 if law is Law.CV_RESIDUAL else 0.5
    c = math.exp(s * s / 2)

    def gauss_mean(q: np.polynomial.Polynomial) -> float:
        return sum(float(a) * math.prod(range(m - 1, 0, -2))
                   for m, a in enumerate(q.coef) if m % 2 == 0)

    def moment(k: int) -> float:
        total = 0.0
        for j in range(k + 1):
            u = j * s  # P(Z + u) = c (1 + s u + s^2 (u^2 - 1) / 2 + (s + s^2 u) Z + s^2 Z^2 / 2)
            shifted = np.polynomial.Polynomial(
                [c * (1 + s * u + s * s * (u * u - 1) / 2), c * (s + s * s * u), c * s * s / 2])
            total += (math.comb(k, j) * math.exp(u * u / 2)
                      * gauss_mean((-shifted) ** (k - j)))
        return total

    return moment(3) / moment(2) ** 1.5


_Z = np.linspace(-10.0, 10.0, 4_001)  # trapezoid grid (step 5e-3; spectrally accurate here)
_LOG_PHI = -0.5 * _Z * _Z - 0.5 * math.log(2 * math.pi)


@dataclass(frozen=True)
class Tilt:
    """One proposal: ``phi(z) exp(eta1 y + eta2 y^2 - log_c)``."""

    eta1: float
    eta2: float
    log_c: float

    def log_ratio(self, s1: np.ndarray, s2: np.ndarray, n: int) -> np.ndarray:
        """log q^n / p^n of n draws with sum Y = s1, sum Y^2 = s2."""
        return self.eta1 * s1 + self.eta2 * s2 - n * self.log_c


def _moments(law: Law, eta1: float, eta2: float) -> tuple[float, float, float, float]:
    """(E_q Y, E_q Y^2, log C, KL(q || phi)) by the trapezoid rule on a fine grid."""
    y = law.y(_Z)
    lw = eta1 * y + eta2 * y * y
    lq = _LOG_PHI + lw
    log_c = float(logsumexp(lq)) + math.log(_Z[1] - _Z[0])
    q = np.exp(lq - log_c) * (_Z[1] - _Z[0])
    m1, m2 = float(q @ y), float(q @ (y * y))
    return m1, m2, log_c, float(q @ lw) - log_c


def tilt_for(law: Law, x: float, n: int) -> Tilt:
    """The KL-cheapest proposal under which (E Y - mean) / sd(Y) = x / sqrt(n)."""
    target, rn = x / math.sqrt(n), math.sqrt(n)

    def etas(p: np.ndarray) -> tuple[float, float]:  # scaled: eta1 ~ n^-1/2, eta2 ~ n^-1
        return float(p[0]) / rn, -float(p[1]) ** 2 / n

    def gap(p: np.ndarray) -> float:
        m1, m2, _, _ = _moments(law, *etas(p))
        return (m1 - law.mean) / math.sqrt(m2 - m1 * m1) - target

    start = np.array([0.6 * x, 0.5 * abs(x)])  # eta2 ~ -x^2 / (4 n) at the optimum (measured)
    res = optimize.minimize(lambda p: n * _moments(law, *etas(p))[3], start, method="SLSQP",
                            constraints=[{"type": "eq", "fun": gap}])
    eta1, eta2 = etas(res.x)
    if not abs(gap(res.x)) < 1e-3 * abs(target):
        raise RuntimeError(f"tilt for x = {x} not found: {res.message}")
    return Tilt(eta1, eta2, _moments(law, eta1, eta2)[2])


def _draw(law: Law, tilt: Tilt, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws of Z from the tilt, by rejection from N(0, 1): accept with
    probability exp(eta1 y + eta2 y^2 - top), ``top`` the exponent's max over |z| <= 10
    (beyond, capped at probability 1: a mass of 1.5e-23 per draw)."""
    yg = law.y(_Z)
    top = float(np.max(tilt.eta1 * yg + tilt.eta2 * yg * yg))
    out: list[np.ndarray] = []
    have = 0
    while have < size:
        z = rng.standard_normal(int(1.3 * (size - have)) + 64)
        y = law.y(z)
        keep = z[np.log(rng.random(z.size)) < tilt.eta1 * y + tilt.eta2 * y * y - top]
        out.append(keep)
        have += keep.size
    return np.concatenate(out)[:size]


Rule = Callable[[np.ndarray], np.ndarray]
"""``rejects(z)``: ``z`` the (replicates, n) standard-normal draws -> bool per replicate."""


def mean_moments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``y``: the mean, its SE (sample sd / sqrt n) and the sample skewness,
    as :func:`ddpm_theory.numeric.sample_mean` computes them."""
    n = y.shape[1]
    mean = y.mean(1)
    d = y - mean[:, None]
    m2, m3 = np.mean(d * d, 1), np.mean(d * d * d, 1)
    return mean, np.sqrt(m2 / (n - 1)), m3 / m2**1.5


def false_alarm_rate(law: Law, n: int, rejects: Rule, levels: list[float], reps: int,
                     rng: np.random.Generator, chunk: int = 50) -> tuple[float, float]:
    """(rate, its standard error) of ``rejects`` on n draws, by importance sampling from
    the tilts of ``law`` at studentised levels ``levels`` (both signs), ``reps``
    replicates split equally over them."""
    tilts = [tilt_for(law, s * x, n) for x in levels for s in (-1.0, 1.0)]
    per = max(reps // len(tilts), 1)
    weights = []
    for tilt in tilts:
        for start in range(0, per, chunk):
            k = min(chunk, per - start)
            z = _draw(law, tilt, k * n, rng).reshape(k, n)
            y = law.y(z)
            lr = np.stack([t.log_ratio(y.sum(1), (y * y).sum(1), n) for t in tilts])
            w = np.exp(-(logsumexp(lr, axis=0) - math.log(len(tilts))))
            weights.append(np.where(rejects(z), w, 0.0))
    allw = np.concatenate(weights)
    return float(allw.mean()), float(allw.std(ddof=1) / math.sqrt(allw.size))
