"""The road from the likelihood: linear-gaussian-step, forward-marginal-induction,
elbo-by-jensen, tower-property and marginalisation-to-kl verify, apply the lemmas they
name, and reject the plausible slips a person makes on each."""

from __future__ import annotations

import pytest
import sympy as sp
from _slips import failed_parts, verified

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import elbo_jensen as jen
from ddpm_theory.symbolic.derivations import forward
from ddpm_theory.symbolic.derivations import forward_induction as fi
from ddpm_theory.symbolic.derivations import marginalisation as mk
from ddpm_theory.symbolic.derivations.kl import kl_univariate
from ddpm_theory.symbolic.expectation import GaussE
from ddpm_theory.symbolic.notation import alpha, alpha_bar_prev, sigma2, xt

ROAD = {
    forward.LEMMA_NAME: [],
    fi.NAME: [forward.LEMMA_NAME],
    jen.NAME: ["elbo-gap", "log-inequality"],
    mk.TOWER_NAME: [],
    mk.NAME: [mk.TOWER_NAME],
}


@pytest.mark.parametrize("name", sorted(ROAD))
def test_verified_with_its_lemmas_and_no_single_step_part(name):
    res = verified(registry.get(name))
    assert res.depends_on == ROAD[name]
    assert all(len(p.steps) >= 2 for p in registry.get(name).parts)
    assert all(s.citation for s in res.steps)


# -- linear-gaussian-step -------------------------------------------------------------------
def test_lemma_rejects_unsquared_a():
    assert failed_parts(forward.build_lemma(var_target=forward.a * forward.v + forward.b**2))


# -- forward-marginal-induction --------------------------------------------------------------
STEP = "Inductive step t − 1 → t (the lemma applied)"


def test_induction_rejects_squared_beta():
    wrong = alpha * (1 - alpha_bar_prev) + (1 - alpha) ** 2   # β_t² for β_t
    assert failed_parts(fi.build(var_target=wrong)) == {STEP}


def test_induction_refuses_a_mapping_outside_the_lemmas_domain():
    # b := −√β_t gives the same b² (the step's numbers agree), but the lemma is proved for
    # b > 0 only: the engine refuses the application
    res = fi.build(b_map=-sp.sqrt(1 - alpha)).verify()
    bad = res.failures()
    assert [s.part for s in bad] == [STEP]
    assert bad[0].max_rel_diff < 1e-30 and "domain" in bad[0].message


def test_unrolled_rejects_forgotten_alpha_2():
    d = fi.build()
    a1, a2, a3 = sorted((s for s in d.parts[-1].start.free_symbols
                         if s.name in {"alpha_1", "alpha_2", "alpha_3"}), key=str)
    wrong = a3 * (1 - a1) + (1 - a3)       # the variance of x_2 taken as β_1
    assert failed_parts(fi.build(unrolled_var=wrong)) == {
        "Unrolled, T = 3: the lemma applied twice"}


# -- elbo-by-jensen ------------------------------------------------------------------------
def test_jensen_rejects_gap_without_normalising_by_the_evidence():
    from ddpm_theory.symbolic.certificates import LogGap
    wrong = sp.Add(*[q * LogGap(w) for q, w in zip(jen.Q, jen.WEIGHTS)])   # g(W_i), not g(W_i/μ)
    assert failed_parts(jen.build(gap=wrong)) == {
        "Jensen's inequality on a latent with three states"}


def test_jensen_rejects_the_reverse_kl():
    wrong = sum(p * sp.log(p / q) for p, q in zip(jen.POST, jen.Q))       # KL(posterior ‖ q)
    assert failed_parts(jen.build(kl_target=wrong)) == {
        "The Jensen gap is KL(q ‖ posterior), three states"}


# -- tower-property -------------------------------------------------------------------------
def test_tower_rejects_the_prior_variance_in_the_posterior():
    wrong = GaussE(GaussE(mk.quadratic(mk.y, xt), mk.y, mk.A * xt + mk.B, mk.PREV_VAR),
                   xt, mk.M, mk.V)
    assert failed_parts(mk.build_tower(target=wrong)) == {mk.TOWER}


def test_tower_pair_rejects_alpha_for_its_root():
    from ddpm_theory.symbolic.notation import beta, x0
    wrong = sp.Tuple(sp.sqrt(alpha_bar_prev) * x0, 1 - alpha_bar_prev, alpha, 0, beta)
    assert failed_parts(mk.build_tower(pair_target=wrong)) == {
        "The DDPM pair of step t is such a pair"}


# -- marginalisation-to-kl ------------------------------------------------------------------
def test_marginalisation_rejects_the_reverse_kl():
    wrong = GaussE(kl_univariate(mk.k_rev * xt + mk.h_rev, sigma2, mk.A * xt + mk.B, mk.S),
                   xt, mk.M, mk.V)
    assert failed_parts(mk.build(kl_target=wrong)) == {mk.KL_PART}


def test_marginalisation_rejects_the_kl_at_the_mean():
    inner = kl_univariate(mk.A * xt + mk.B, mk.S, mk.k_rev * xt + mk.h_rev, sigma2)
    assert failed_parts(mk.build(kl_target=inner.xreplace({xt: mk.M}))) == {mk.KL_PART}


def test_the_lemmas_are_applied_by_the_road():
    # the decomposition applies marginalisation-to-kl, which applies tower-property
    dec = registry.get("elbo-decomposition").verify()
    assert mk.NAME in dec.depends_on
    assert alpha not in registry.get(mk.NAME).parts[0].start.free_symbols
