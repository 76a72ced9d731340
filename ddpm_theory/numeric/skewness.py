"""The skewness-corrected acceptance rule for means with a sample standard error
(docs/verification.md, "Means with a sample standard error").

The normal threshold rests on the central limit theorem, and at 1e-8 the tail is
where the CLT is weakest: for skewed summands the studentised mean
``T = (mean - exact) / SE`` (SE = sample sd / sqrt n) has a heavy tail on the side
opposite the skew -- a sample that misses the rare large values has both a low mean
and a small sd -- and the normal rule's two-sided rate at the per-run level is
2.4-5.5 alpha on chi^2_1 summands at n = 1e4-2000 (tests/numeric/test_numeric_tail.py).
Hence the **skewness-corrected rule** (:func:`skew_corrected_bounds`, applied by
:func:`~ddpm_theory.numeric.acceptance.check_agreement`): when the
:class:`~ddpm_theory.numeric.estimators.Estimate` carries the sample skewness ``g`` of
its summands, the studentised mean is passed through Hall's transformation (Hall 1992,
"On the removal of skewness by transformation", J. R. Statist. Soc. B 54:221, Eq. 2.4)

    h(T) = T + a T^2 + a^2 T^3 / 3 + b = ((1 + a T)^3 - 1) / (3 a) + b,
    a = g / (3 sqrt n),  b = g / (6 sqrt n),

which removes the n^{-1/2} (skewness) term of T's Edgeworth expansion and is
increasing, so ``|h(T)| <= t`` is the interval ``h^{-1}(-t) <= T <= h^{-1}(t)``.  The
rule accepts on that interval widened, on the short side, to the normal one:
``[min(h^{-1}(-t), -t), max(h^{-1}(t), t)]`` -- the correction lengthens the heavy side
and never shortens the other, whose tail the skew makes *lighter* than normal (at
small n with a large ``g`` Hall's cubic would shorten it far too much); the heavy side
stops at h's stationary point ``T = -1/a``, so it is at most ``3 (t + |b|)`` long.  Nothing here
is a theorem at 1e-8 (no self-normalised bound on the heavy side can hold for every
law: a rare large value missed by all n draws leaves mean and sd both too small);
the rate is *measured* by importance sampling in tests/numeric/test_numeric_tail.py
for chi^2_1 and lognormal summands at the sizes the suite uses, and stated in
docs/verification.md: 0.56-0.65 alpha on chi^2_1 (n = 2000, 1e4) and 0.65-0.83 alpha on
exp Z (n = 5e4, 1e4), where the normal rule gives 2.3-7.7 alpha.  It does not cover
arbitrarily heavy tails with the *sample* skewness: on the control-variate residual of
exp Z (skewness 20, excess kurtosis 1700) it gives 2.7 alpha at n = 5e4 and 1.05 alpha at
2e5 (the normal rule 12 alpha at 5e4) -- a sample that misses the rare large values also
has a small sample skewness.  Where the law is known, pass its population skewness
(``dataclasses.replace(estimate, skewness=g)``): for that residual the rate is then
0.03-0.07 alpha.  Quadrature, control variates that make the residual small, closed-form
SEs and exact laws (a scaled chi^2) remain preferable.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["skew_corrected_bounds"]


def skew_corrected_bounds(threshold: float, skewness: float, n: int) -> tuple[float, float]:
    """``(lo, hi)``: the skewness-corrected rule accepts ``lo <= (mean - exact) / SE <= hi``.

    ``(min(h^{-1}(-t), -t), max(h^{-1}(t), t))`` with Hall's transformation ``h`` for
    summands of sample skewness ``g`` (module docstring); ``(-t, t)`` when ``g = 0``.  The
    heavy side stops at h's stationary point ``-1/a`` (reached when ``3 a (t + b) >= 1``, a
    sample with one far outlier): there ``h`` is flat and corrects nothing.

    >>> lo, hi = skew_corrected_bounds(5.5, 2.83, 2000)
    >>> round(lo, 2), hi
    (-6.31, 5.5)
    """
    t, g = float(threshold), float(skewness)
    if not (t > 0.0 and math.isfinite(g) and n >= 3):
        raise ValueError(f"need threshold > 0, finite skewness, n >= 3; got {t}, {g}, {n}")
    a, b = g / (3.0 * math.sqrt(n)), g / (6.0 * math.sqrt(n))

    def h_inv(c: float) -> float:
        # (x - 1) / a with x = cbrt(1 + 3 a (c - b)), written as 3 (c - b) / (x^2 + x + 1)
        # (x^3 - 1 = (x - 1)(x^2 + x + 1)): no cancellation as a -> 0, and x^2 + x + 1 >= 3/4
        x = float(np.cbrt(1.0 + 3.0 * a * (c - b)))
        return 3.0 * (c - b) / (x * x + x + 1.0)

    if g == 0.0:
        return -t, t
    # the heavy side stops at h's stationary point T = -1/a, where h' = (1 + a T)^2 = 0:
    # beyond it h is flat and no longer corrects anything (|bound| <= 3 (t + |b|))
    if g > 0.0:
        return min(max(h_inv(-t), -1.0 / a), -t), t
    return -t, max(min(h_inv(t), -1.0 / a), t)
