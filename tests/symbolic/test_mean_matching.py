"""L_{t−1} as mean matching (Ho et al. 2020, Eq. 8) and its constant C_t."""

from __future__ import annotations

import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import mean_matching as mm
from ddpm_theory.symbolic.notation import beta_tilde, d, sigma2


def test_registered_and_verified():
    res = verified(registry.get(mm.NAME))
    assert any("induction" in s.method for s in res.steps)


def test_c_t_is_computed_not_typed():
    assert sp.simplify(mm.C_T - mm.C_T_TEXTBOOK) == 0
    assert registry.get(mm.NAME).exports["C_t"].xreplace({sigma2: beta_tilde}) == 0


def test_rejects_missing_half():
    wrong = d * (sp.log(sigma2 / beta_tilde) + beta_tilde / sigma2 - 1)
    assert "The KL as a weighted squared error plus C_t" in failed_parts(mm.build(c_target=wrong))


def test_rejects_inverted_variance_ratio():
    wrong = d / 2 * (sp.log(beta_tilde / sigma2) + sigma2 / beta_tilde - 1)
    assert failed_parts(mm.build(c_target=wrong))
