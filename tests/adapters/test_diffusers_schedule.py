"""The float64 schedules the adapter rebuilds from a DDPMScheduler config, against
the float32 arrays diffusers itself holds (every beta_schedule, and the
zero-terminal-SNR rescale), with planted wrong mappings that must be rejected."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")

import torch  # noqa: E402
from diffusers_helpers import (  # noqa: E402
    BETA_SCHEDULE_CASES,
    U32,
    alpha_bar_float32_bound,
    beta_float32_bound,
    rescaled_alpha_bar_float32_bound,
    scheduler,
)

from ddpm_theory.adapters.diffusers_schedule import (  # noqa: E402
    BETA_SCHEDULES,
    AdapterError,
    schedule_from_config,
)
from ddpm_theory.backend import Schedule  # noqa: E402


def _schedule_error(name: str, kw: dict, mine: Schedule) -> tuple[float, float]:
    """(max |Δβ|/bound, max |Δᾱ|/(ᾱ·bound)) of ``mine`` against diffusers' float32 arrays
    (bounds: :func:`beta_float32_bound`, :func:`alpha_bar_float32_bound`)."""
    s = scheduler(beta_schedule=name, **kw)
    b32 = s.betas.double().numpy()
    ab32 = s.alphas_cumprod.double().numpy()
    beta_ratio = np.abs(b32 - mine.betas) / beta_float32_bound(name, mine, kw)
    ab_ratio = np.abs(ab32 - mine.alpha_bar) / (mine.alpha_bar * alpha_bar_float32_bound(mine))
    return float(beta_ratio.max()), float(ab_ratio.max())


def test_every_diffusers_beta_schedule_is_mapped():
    import inspect

    from diffusers import DDPMScheduler

    src = inspect.getsource(DDPMScheduler.__init__)
    offered = {n for n in ("linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "laplace",
                           "exp", "cosine") if f'beta_schedule == "{n}"' in src}
    assert offered == set(BETA_SCHEDULES) == set(BETA_SCHEDULE_CASES)


@pytest.mark.parametrize("T", [1000, 50])
@pytest.mark.parametrize("name", sorted(BETA_SCHEDULE_CASES))
def test_betas_and_alpha_bar_match_diffusers(name, T):
    kw = {**BETA_SCHEDULE_CASES[name], "num_train_timesteps": T}
    mine = schedule_from_config(dict(scheduler(beta_schedule=name, **kw).config))
    beta_ratio, ab_ratio = _schedule_error(name, kw, mine)
    assert beta_ratio <= 1.0, (name, beta_ratio)
    assert ab_ratio <= 1.0, (name, ab_ratio)


@pytest.mark.parametrize("name", sorted(BETA_SCHEDULE_CASES))
def test_zero_terminal_snr_matches_diffusers(name):
    from diffusers.schedulers.scheduling_ddpm import rescale_zero_terminal_snr

    kw = BETA_SCHEDULE_CASES[name]
    s = scheduler(beta_schedule=name, rescale_betas_zero_snr=True, **kw)
    mine = schedule_from_config(dict(s.config))
    base = schedule_from_config(dict(scheduler(beta_schedule=name, **kw).config))
    assert mine.zero_terminal_snr and float(s.betas[-1]) == 1.0
    assert float(s.alphas_cumprod[-1]) == 0.0 == mine.alpha_bar[-1]
    # diffusers' own rescale run in float64 on the same base betas: the same algorithm
    # (Lin et al. 2024, Algorithm 1); float64 rounding of O(T) operations on O(1) values
    ref = rescale_zero_terminal_snr(torch.from_numpy(np.array(base.betas))).numpy()
    np.testing.assert_allclose(mine.betas, ref, rtol=0, atol=1e-12)
    # against diffusers' float32 arrays, within the propagated float32 error
    ab32 = s.alphas_cumprod.double().numpy()
    bound = rescaled_alpha_bar_float32_bound(base)
    assert np.all(np.abs(ab32 - mine.alpha_bar) <= bound), name


def test_trained_betas_are_used_as_given():
    betas = np.linspace(1e-3, 0.05, 40)
    s = scheduler(num_train_timesteps=40, trained_betas=betas.tolist())
    mine = schedule_from_config(dict(s.config))
    np.testing.assert_array_equal(mine.betas, betas)


# -- planted wrong mappings: each must fail the check above --------------------------------
PLANTED = {
    "scaled_linear as linear": ("scaled_linear", lambda T, c: Schedule.linear(
        T, c["beta_start"], c["beta_end"])),
    "cosine without the 0.999 cap": ("squaredcos_cap_v2", lambda T, c: Schedule.cosine(
        T, max_beta=1.0 - 1e-12)),
    "cosine with offset s = 0": ("squaredcos_cap_v2", lambda T, c: Schedule.cosine(T, s=1e-9)),
    "linear over T + 1 points": ("linear", lambda T, c: Schedule.from_betas(np.linspace(
        c["beta_start"], c["beta_end"], T + 1)[:-1])),
    "betas read one index late (diffusers' t_d as the paper's t)": ("linear", lambda T, c:
        Schedule.from_betas(np.append(np.linspace(c["beta_start"], c["beta_end"], T)[1:],
                                      c["beta_end"]))),
    "sigmoid as Chen's sigmoid": ("sigmoid", lambda T, c: Schedule.sigmoid(T)),
}


@pytest.mark.parametrize("slip", sorted(PLANTED))
def test_planted_schedule_slips_are_caught(slip):
    name, make = PLANTED[slip]
    kw = BETA_SCHEDULE_CASES[name]
    cfg = dict(scheduler(beta_schedule=name, **kw).config)
    wrong = make(1000, cfg)
    beta_ratio, ab_ratio = _schedule_error(name, kw, wrong)
    assert max(beta_ratio, ab_ratio) > 100.0, (slip, beta_ratio, ab_ratio)


def test_rescale_not_applied_is_caught():
    s = scheduler(rescale_betas_zero_snr=True)
    plain = schedule_from_config(dict(scheduler().config))
    bound = rescaled_alpha_bar_float32_bound(plain)
    assert np.any(np.abs(s.alphas_cumprod.double().numpy() - plain.alpha_bar) > 100 * bound)


def test_posterior_variance_matches_the_scheduler():
    s = scheduler(beta_schedule="squaredcos_cap_v2")
    mine = schedule_from_config(dict(s.config))
    got = np.array([float(s._get_variance(td, variance_type="fixed_small"))
                    for td in range(1, 1000)])
    # β̃ = (1 − ᾱ_{t−1})/(1 − ᾱ_t) β_t from float32 ᾱ: 1 − ᾱ has absolute error ≤ ᾱ δ_t,
    # relative (ᾱ/(1 − ᾱ)) δ_t; β_t = 1 − ᾱ_t/ᾱ_{t−1} in float32 relative ≤ (2δ + 2u)/β_t
    d = alpha_bar_float32_bound(mine)
    ab, om = mine.alpha_bar, mine.one_minus_alpha_bar
    rel = (ab[:-1] / om[:-1] + ab[1:] / om[1:]) * d[1:] + (2 * d[1:] + 4 * U32) / mine.betas[1:] \
        + 4 * U32
    ratio = np.abs(got - mine.beta_tilde[1:]) / (mine.beta_tilde[1:] * rel)
    assert ratio.max() <= 1.0
    # paper t = 1 (diffusers t = 0): β̃_1 = 0, which diffusers clamps to 1e-20
    assert float(s._get_variance(0, variance_type="fixed_small")) == pytest.approx(1e-20)
    assert mine.beta_tilde[0] == 0.0


@pytest.mark.parametrize("cfg,match", [
    ({"beta_schedule": "exp"}, "beta_schedule 'exp'"),
])
def test_unknown_schedule_is_refused(cfg, match):
    with pytest.raises(AdapterError, match=match):
        schedule_from_config(cfg)
