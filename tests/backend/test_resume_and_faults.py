"""Resumed training equals an uninterrupted run bit for bit; periodic checkpoints; a run
that diverges stops with a clear error and writes nothing; every bad checkpoint field is a
CheckpointError naming it."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

from ddpm_theory.backend import CheckpointError, Schedule, load_checkpoint, train
from ddpm_theory.backend.checkpoint import read_payload
from ddpm_theory.backend.train import TrainingDiverged, resume

T = 50
KW = {"schedule": Schedule.linear(T), "batch_size": 32, "progress": False, "device": "cpu",
      "model_args": {"hidden": 16, "depth": 1}, "log_every": 5}


def _state(path):
    raw, ema = load_checkpoint(path, use_ema=False), load_checkpoint(path)
    pay = read_payload(path, "cpu")
    return raw.model.state_dict(), ema.model.state_dict(), raw.loss_history, pay["resume"]


def _assert_same(a, b):
    for k in a:
        assert torch.equal(a[k], b[k]), k


@pytest.mark.parametrize("data", ["mixture_2d", "digits"])
def test_resumed_run_equals_uninterrupted_run_bit_for_bit(tmp_path, data):
    kw = dict(KW, model_args={"hidden": 16, "depth": 1} if data == "mixture_2d"
              else {"base": 8, "mults": [1, 2]})
    full, part, done = tmp_path / "full.pt", tmp_path / "part.pt", tmp_path / "done.pt"
    train(data, 12, out=full, seed=4, **kw)
    train(data, 7, out=part, seed=4, **kw)
    resume(part, 12, out=done, progress=False, device="cpu", log_every=5)
    w1, e1, h1, r1 = _state(full)
    w2, e2, h2, r2 = _state(done)
    _assert_same(w1, w2)
    _assert_same(e1, e2)
    assert torch.equal(h1, h2)
    assert r1["step"] == r2["step"] == 12
    for k, s in r1["optimizer"]["state"].items():
        for name, v in s.items():
            assert torch.equal(v, r2["optimizer"]["state"][k][name]), (k, name)
    assert torch.equal(r1["data_rng"], r2["data_rng"])


def test_a_planted_lost_optimizer_state_breaks_the_equality(tmp_path, monkeypatch):
    """The comparison above can fail: resuming with a fresh Adam (state not restored)
    gives other weights."""
    full, part, done = tmp_path / "full.pt", tmp_path / "part.pt", tmp_path / "done.pt"
    train("mixture_2d", 12, out=full, seed=4, **KW)
    train("mixture_2d", 7, out=part, seed=4, **KW)
    monkeypatch.setattr(torch.optim.Adam, "load_state_dict", lambda self, sd: None)
    resume(part, 12, out=done, progress=False, device="cpu", log_every=5)
    w1, w2 = _state(full)[0], _state(done)[0]
    assert any(not torch.equal(w1[k], w2[k]) for k in w1)


def test_save_every_writes_periodic_checkpoints_that_resume(tmp_path):
    out = tmp_path / "m.pt"
    seen = []
    tr = importlib.import_module("ddpm_theory.backend.train")
    orig = tr.save_checkpoint

    def spy(path, payload, force):
        seen.append(payload["resume"]["step"])
        return orig(path, payload, force)

    mp = pytest.MonkeyPatch()
    mp.setattr(tr, "save_checkpoint", spy)
    try:
        train("mixture_2d", 10, out=out, save_every=4, **KW)
    finally:
        mp.undo()
    assert seen == [4, 8, 10]
    assert read_payload(out, "cpu")["resume"]["step"] == 10
    with pytest.raises(ValueError, match="has done 10 steps already"):
        resume(out, 10, progress=False, device="cpu")


@pytest.mark.parametrize("lr", [0.0, -1e-3, math.inf, math.nan, 1e39, 2.0])
def test_bad_learning_rates_are_refused_before_work(tmp_path, lr):
    with pytest.raises(ValueError, match=r"lr must be a finite number in \(0, 1\]"):
        train("mixture_2d", 5, lr=lr, out=tmp_path / "m.pt", **KW)
    assert list(tmp_path.iterdir()) == []


def test_divergence_stops_training_and_writes_nothing(tmp_path):
    """lr = 1 with huge data makes the loss overflow; the run stops with the step named and
    no checkpoint (not even a periodic one past the divergence)."""
    from ddpm_theory.backend import GaussianMixture

    big = GaussianMixture(torch.ones(1), torch.tensor([[1e30, -1e30]], dtype=torch.float64),
                          torch.eye(2, dtype=torch.float64)[None])
    with pytest.raises(TrainingDiverged, match="non-finite by step"):
        train(big, 20, lr=1.0, out=tmp_path / "m.pt", **KW)
    assert list(tmp_path.iterdir()) == []


def test_t_below_two_is_refused():
    with pytest.raises(ValueError, match="T must be at least 2"):
        train("mixture_2d", 2, **dict(KW, schedule=Schedule.linear(1)))


# -- bad checkpoints ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def good(tmp_path_factory):
    p = tmp_path_factory.mktemp("good") / "m.pt"
    train("mixture_1d", 3, out=p, **KW)
    return p


def _edit(src, dst, change):
    pay = torch.load(src, weights_only=True)
    change(pay)
    torch.save(pay, dst)
    return dst


def _del(*keys):
    def change(pay):
        d = pay
        for k in keys[:-1]:
            d = d[k]
        del d[keys[-1]]
    return change


def _set(value, *keys):
    def change(pay):
        d = pay
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


def _first_weight(pay):
    return next(iter(pay["ema_weights"]))


BAD = {
    "missing weights": (_del("ema_weights"), r"ema_weights: missing"),
    "missing config key": (_del("config", "variance"), r"config\['variance'\]: missing"),
    "wrong weight shape": (lambda p: p["ema_weights"].__setitem__(
        _first_weight(p), torch.zeros(3, 3)), r"ema_weights\['.*'\]: has shape \(3, 3\)"),
    "missing weight": (lambda p: p["ema_weights"].pop(_first_weight(p)),
                       r"ema_weights: do not fit the model: missing"),
    "nan weight": (lambda p: p["ema_weights"][_first_weight(p)].fill_(float("nan")),
                   r"holds NaN or Inf"),
    "bad parameterization": (_set("score", "config", "parameterization"),
                             r"config\['parameterization'\]"),
    "bad variance": (_set("wide", "config", "variance"), r"config\['variance'\]"),
    "bad loss": (_set("l7", "config", "loss"), r"config\['loss'\]"),
    "nan betas": (lambda p: p["schedule_betas"].fill_(float("nan")), r"schedule_betas"),
    "betas length": (lambda p: p.__setitem__("schedule_betas", p["schedule_betas"][:20]),
                     r"schedule_betas: holds 20 betas, but config\['schedule'\] says T = 50"),
    "bad dataset args": (_set({"nonsense": 3}, "config", "dataset", "args"),
                         r"config\['dataset'\]"),
    "bad model args": (_set({"dim": 1, "wings": 2}, "config", "model", "args"),
                       r"config\['model'\]\['args'\]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_bad_checkpoint_field_is_named(tmp_path, good, case):
    change, message = BAD[case]
    bad = _edit(good, tmp_path / "bad.pt", change)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(bad)


def test_the_good_checkpoint_loads(good):
    assert np.isfinite(load_checkpoint(good).loss_history.numpy()).all()


# -- schedules: each bad input named ------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: Schedule.quadratic(100, -1e-4), r"beta_start must be a number in \(0, 1\]"),
    (lambda: Schedule.linear(100, 1e-4, 2.0), r"beta_end must be a number in \(0, 1\]"),
    (lambda: Schedule.linear(20000, 0.5, 0.9), r"alpha_bar underflows float64 at t = \d+"),
    (lambda: Schedule.from_betas([0.5, 1e-20]), r"below float64 resolution"),
])
def test_schedule_errors_name_the_problem(make, message):
    from ddpm_theory.backend.schedule import ScheduleError

    with pytest.raises(ScheduleError, match=message):
        make()
