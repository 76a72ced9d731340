"""One reverse step of the adapted model against ``DDPMScheduler.step`` with the same
noise, for every prediction type, variance type and clipping mode; planted slips
(the timestep off by one, a swapped variance, an unclipped x̂_0, v read as ε) must
be caught."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("diffusers")

import torch  # noqa: E402
from diffusers_helpers import (  # noqa: E402
    STEP_ATOL,
    PositiveVarianceUNet,
    scheduler,
    step_error,
    tiny_unet,
)

from ddpm_theory.adapters.diffusers import (  # noqa: E402
    PREDICTION_TYPES,
    VARIANCE_TYPES,
    AdapterError,
    from_diffusers,
)
from ddpm_theory.backend.enums import Parameterization, VarianceType  # noqa: E402

CLIPS = {
    "none": {"clip_sample": False},
    "clip": {"clip_sample": True, "clip_sample_range": 1.0},
    "threshold": {"thresholding": True, "dynamic_thresholding_ratio": 0.9,
                  "sample_max_value": 3.0},
}
TIMESTEPS = [0, 1, 2, 17, 500, 998, 999]


def _case(prediction: str, variance: str, clip: str, beta_schedule: str = "linear"):
    learned = variance in ("learned", "learned_range")
    net = tiny_unet(1, 2 if learned else 1, seed=3)
    if variance == "learned":
        net = PositiveVarianceUNet(net)
    sched = scheduler(prediction_type=prediction, variance_type=variance,
                      beta_schedule=beta_schedule, **CLIPS[clip])
    x_t = 1.5 * torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(7),
                            dtype=torch.float64)
    return net, sched, x_t


@pytest.mark.parametrize("clip", sorted(CLIPS))
@pytest.mark.parametrize("variance", sorted(VARIANCE_TYPES))
@pytest.mark.parametrize("prediction", sorted(PREDICTION_TYPES))
def test_step_matches_diffusers(prediction, variance, clip):
    net, sched, x_t = _case(prediction, variance, clip)
    adapted = from_diffusers(net, sched)
    assert adapted.prediction is PREDICTION_TYPES[prediction]
    assert adapted.variance is VARIANCE_TYPES[variance]
    assert adapted.clipping.active == (clip != "none")
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) <= STEP_ATOL


@pytest.mark.parametrize("prediction", ["v_prediction", "sample"])
def test_step_matches_on_zero_terminal_snr(prediction):
    net, sched, x_t = _case(prediction, "fixed_small", "clip", "squaredcos_cap_v2")
    sched = scheduler(prediction_type=prediction, beta_schedule="squaredcos_cap_v2",
                      rescale_betas_zero_snr=True)
    adapted = from_diffusers(net, sched)
    assert adapted.schedule.zero_terminal_snr
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) <= STEP_ATOL


# -- planted slips --------------------------------------------------------------------------
def test_timestep_off_by_one_is_caught():
    """Calling the network with the paper timestep t instead of t_d = t − 1."""
    net, sched, x_t = _case("epsilon", "fixed_small", "none")
    adapted = from_diffusers(net, sched)
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) <= STEP_ATOL
    adapted.model.timestep_offset = 0  # planted: the diffusers index taken as the paper's
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) > 1e3 * STEP_ATOL


@pytest.mark.parametrize("variance,wrong", [
    ("fixed_small", VarianceType.BETA),
    ("fixed_large", VarianceType.BETA_TILDE),
    ("learned_range", VarianceType.LEARNED),
])
def test_swapped_variance_is_caught(variance, wrong):
    net, sched, x_t = _case("epsilon", variance, "none")
    adapted = dataclasses.replace(from_diffusers(net, sched), variance=wrong)
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) > 1e3 * STEP_ATOL


def test_learned_variance_read_as_log_variance_is_caught():
    net, sched, x_t = _case("epsilon", "learned", "none")
    adapted = from_diffusers(net, sched)
    adapted.model.variance_type = "learned, planted: no log"
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) > 1e3 * STEP_ATOL


def test_ignoring_the_scheduler_clip_is_caught():
    net, sched, x_t = _case("epsilon", "fixed_small", "clip")
    adapted = from_diffusers(net, sched, clip=False)
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) > 1e3 * STEP_ATOL


def test_v_read_as_eps_is_caught():
    net, sched, x_t = _case("v_prediction", "fixed_small", "none")
    adapted = dataclasses.replace(from_diffusers(net, sched),
                                  parameterization=Parameterization.EPS)
    assert step_error(adapted, sched, net, x_t, TIMESTEPS) > 1e3 * STEP_ATOL


# -- refusals ---------------------------------------------------------------------------------
def test_fixed_large_log_is_refused_and_diffusers_gives_nan_there():
    net, sched, x_t = _case("epsilon", "fixed_large_log", "none")
    with pytest.raises(AdapterError, match="variance_type 'fixed_large_log'"):
        from_diffusers(net, sched)
    out = net(x_t, torch.full((3,), 10)).sample
    got = sched.step(out, 10, x_t, generator=torch.Generator().manual_seed(0)).prev_sample
    assert bool(torch.isnan(got).all())


def test_epsilon_on_zero_terminal_snr_is_refused():
    net = tiny_unet(seed=0)
    sched = scheduler(rescale_betas_zero_snr=True)
    with pytest.raises(AdapterError, match="prediction_type 'epsilon'"):
        from_diffusers(net, sched)


def test_channels_that_do_not_fit_the_variance_are_refused():
    with pytest.raises(AdapterError, match="out_channels = 2"):
        from_diffusers(tiny_unet(1, 1), scheduler(variance_type="learned_range"))
    with pytest.raises(AdapterError, match="out_channels = 1"):
        from_diffusers(tiny_unet(1, 2), scheduler())


def test_other_schedulers_and_respaced_chains_are_refused():
    from diffusers import DDIMScheduler

    with pytest.raises(AdapterError, match="DDIMScheduler"):
        from_diffusers(tiny_unet(), DDIMScheduler())
    sched = scheduler()
    sched.set_timesteps(50)
    with pytest.raises(AdapterError, match="set_timesteps"):
        from_diffusers(tiny_unet(), sched)


def test_unknown_prediction_type_is_refused():
    sched = scheduler()
    sched.register_to_config(prediction_type="flow")
    with pytest.raises(AdapterError, match="prediction_type 'flow'"):
        from_diffusers(tiny_unet(), sched)


def test_a_non_positive_learned_variance_is_named():
    """diffusers' ``learned`` block is σ_t² itself: a raw UNet2DModel output (negative
    somewhere) has no reverse process; the error names the setting."""
    from ddpm_theory.audit import elbo_terms

    adapted = from_diffusers(tiny_unet(1, 2, seed=1), scheduler(variance_type="learned",
                                                                num_train_timesteps=20))
    x0 = torch.zeros(2, 1, 8, 8, dtype=torch.float64)
    with pytest.raises(AdapterError, match="variance_type 'learned'.*must be positive"):
        elbo_terms(adapted, x0, levels=17, bayes=False)
