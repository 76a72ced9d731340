"""The loss weights of the four parameterisations (Ho et al. 2020, Eq. 12; Kingma et al.
2021, Eq. 13; Salimans & Ho 2022, §4) verify, and plausible slips are rejected."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import weights as w
from ddpm_theory.symbolic.notation import alpha, alpha_bar, alpha_bar_prev, beta, sigma2


def test_registered_and_verified():
    res = verified(registry.get(w.NAME))
    assert len(res.steps) == 36
    assert all(len(p.steps) >= 2 for p in registry.get(w.NAME).parts)


@pytest.mark.parametrize(
    ("kw", "part"),
    [
        ({"lam_eps": beta**2 / (2 * sigma2 * alpha * sp.sqrt(1 - alpha_bar))},
         "ε-prediction: the weight λ_t"),                                    # stray sqrt
        ({"lam_eps": beta / (2 * sigma2 * alpha * (1 - alpha_bar))},
         "ε-prediction: the weight λ_t"),                                    # β not squared
        ({"lam_x0": w.LAMBDA_X0.xreplace({alpha_bar_prev: alpha_bar})},
         "x_0-prediction: the weight"),                                      # ᾱ_t for ᾱ_{t−1}
        ({"lam_v": w.LAMBDA_X0}, "v-prediction: the weight"),                # forgot (1 − ᾱ_t)
        ({"eps_snr": w.SNR_PREV / w.SNR_T / 2}, "ε-weight in SNR terms"),   # missing − 1
        ({"x0_snr": (w.SNR_T - w.SNR_PREV) / 2}, "x_0-weight in SNR terms"),  # sign
        ({"x0_snr": w.SNR_PREV - w.SNR_T}, "x_0-weight in SNR terms"),        # missing ½
    ],
    ids=["eps-sqrt", "eps-beta-unsquared", "x0-alphabar-t", "v-no-factor", "eps-snr-no-minus1",
         "x0-snr-sign", "x0-snr-no-half"],
)
def test_rejects_slip(kw, part):
    assert failed_parts(w.build(**kw)) == {part}


def test_beta_for_beta_tilde_is_rejected():
    # the SNR form holds for σ_t² = β̃_t only; with σ_t² = β_t it must fail
    d = w.build()
    part = next(p for p in d.parts if p.title == "x_0-weight in SNR terms")
    wrong_start = w.LAMBDA_X0.xreplace({sigma2: beta})
    bad = type(d)(**{**d.__dict__, "parts": (type(part)(**{**part.__dict__,
                                                           "start": wrong_start}),)})
    assert failed_parts(bad)


def test_exports_agree_numerically():
    ex = registry.get(w.NAME).exports
    ab_prev, a = 0.7, 0.95
    vals = {alpha_bar_prev: ab_prev, alpha: a, alpha_bar: ab_prev * a, beta: 1 - a,
            sigma2: (1 - ab_prev) / (1 - ab_prev * a) * (1 - a)}
    for k in ("eps", "x0", "v"):
        lhs = float(ex[f"lambda_{k}"].xreplace(vals))
        rhs = float(ex[f"lambda_{k}_snr"].xreplace(vals))
        np.testing.assert_allclose(lhs, rhs, rtol=1e-12)  # exact identity, float64 rounding
