"""Continuous time (Kingma et al. 2021): the limit, its error order and the learned
schedule verify; plausible slips are rejected (the schedule invariance and its slip are in
test_road_beyond)."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import continuous as C
from ddpm_theory.symbolic.engine import Status


def test_continuous_time_verifies():
    res = registry.get("continuous-time").verify()
    assert res.status is Status.VERIFIED, res.report()
    assert {"exp"} <= set(res.methods)


@pytest.mark.parametrize(
    "target",
    [sp.diff(C.snr(C.t), C.t) / 2,       # sign slip: +½ SNR′
     -sp.diff(C.snr(C.t), C.t)],          # missing ½
    ids=["sign", "missing-half"],
)
def test_weight_limit_rejects_slips(target):
    res = C.build(weight_target=target).verify()
    assert res.status is Status.FAILED
    assert {s.part for s in res.failures()} >= {"The weight per unit time"}


def _with_last_step(part, expr):
    steps = part.steps[:-1] + (dataclasses.replace(part.steps[-1], expr=expr),)
    return dataclasses.replace(part, steps=steps)


def test_learned_schedule_rejects_sigmoid_of_plus_gamma():
    part = C.learned_schedule_part()
    slip = sp.Tuple(1 / (1 + sp.exp(-C.gamma)), 1 / (1 + sp.exp(-C.gamma)))
    bad = dataclasses.replace(registry.get("continuous-time"),
                              parts=(_with_last_step(part, slip),))
    assert bad.verify().status is Status.FAILED


def test_remainder_order_rejects_wrong_taylor_coefficient():
    part = C.remainder_part()
    wrong = sp.diff(C.snr(C.t), C.t, 2) / 2  # ½ SNR″ instead of ¼ SNR″
    bad = dataclasses.replace(registry.get("continuous-time"),
                              parts=(_with_last_step(part, wrong),))
    assert bad.verify().status is Status.FAILED
