"""L_T and L_0 (Ho et al. 2020, §3.1 and Eq. 13) verify; slips are rejected."""

from __future__ import annotations

import math

import sympy as sp
from _slips import failed_parts, verified
from scipy import stats

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import end_terms as et
from ddpm_theory.symbolic.notation import d


def test_registered_and_verified():
    verified(registry.get("prior-term"))
    verified(registry.get("decoder-term"))


def test_prior_rejects_missing_alpha_bar_on_d():
    wrong = (et.alpha_bar_T * sp.Sum(et.X0[et.i] ** 2, (et.i, 1, d)) - d
             - d * sp.log(1 - et.alpha_bar_T)) / 2
    assert failed_parts(et.build_prior(target=wrong))


def test_decoder_rejects_variance_for_standard_deviation():
    z = lambda e: (e - et.mu) / et.s1**2  # noqa: E731 - σ² where σ belongs
    wrong = et.Phi(z(et.hi)) - et.Phi(z(et.lo))
    assert failed_parts(et.build_decoder(bin_target=wrong))


def test_decoder_rejects_missing_sqrt2():
    wrong = (sp.erf((et.hi - et.mu) / et.s1) - sp.erf((et.lo - et.mu) / et.s1)) / 2
    assert failed_parts(et.build_decoder(bin_target=wrong))


def test_bin_probability_export_matches_scipy():
    f = sp.lambdify([et.lo, et.hi, et.mu, et.s1],
                    registry.get("decoder-term").exports["bin_probability"], "math")
    lo, hi, mu, s = 0.1 - 1 / 255, 0.1 + 1 / 255, 0.05, 0.3
    ref = stats.norm.cdf(hi, mu, s) - stats.norm.cdf(lo, mu, s)
    assert math.isclose(f(lo, hi, mu, s), ref, rel_tol=1e-12)  # well conditioned here
