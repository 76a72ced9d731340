"""Training: the random streams, the EMA, the logged loss, the saved payload, the checks
and messages of train and resume. Recomputed step by step from what the loop is given
(spies on the loss and the save). Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted errors it catches."""

from __future__ import annotations

import copy
import importlib
import re
import time

import numpy as np
import pytest
import torch
from torch import nn

from ddpm_theory.backend import Schedule, get_dataset, load_checkpoint
from ddpm_theory.backend.checkpoint import CheckpointError, read_payload
from ddpm_theory.backend.enums import DecoderType, LossType
from ddpm_theory.backend.models import MLPDenoiser, default_model
from ddpm_theory.backend.train import (
    LR_MAX,
    TrainingDiverged,
    _init_model,
    _positive_int,
    default_schedule,
    resume,
    train,
)

tr = importlib.import_module("ddpm_theory.backend.train")
T = 6
KW = {"schedule": Schedule.linear(T), "batch_size": 8, "progress": False, "device": "cpu"}


def _images(n: int = 6) -> torch.Tensor:
    """n 8x8 one-channel images on the 3-level grid {-1, 0, 1} (the digits take seconds to
    load)."""
    return torch.randint(-1, 2, (n, 1, 8, 8), generator=torch.Generator().manual_seed(0)).double()


class _Bar:
    """Stands in for tqdm and records what the bar is told. (A real tqdm takes a
    process-shared lock; mutation testing forks a process per mutant, and one that ends
    holding it deadlocks every later one.)"""

    made: list[_Bar] = []

    def __init__(self, **kw) -> None:
        self.kw, self.postfix, self.n, self.closed = kw, [], 0, False
        _Bar.made.append(self)

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.closed = True

    def set_postfix(self, **values) -> None:
        self.postfix.append(values)

    def update(self, n: int) -> None:
        self.n += n


@pytest.fixture(autouse=True)
def _fake_tqdm(monkeypatch):
    _Bar.made.clear()
    monkeypatch.setattr(tr, "tqdm", _Bar)


def _tiny(seed: int = 0) -> MLPDenoiser:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLPDenoiser(2, hidden=4, depth=1, time_dim=4)


class _Spy:
    """Records what each optimiser step was given and what was saved."""

    def __init__(self, monkeypatch) -> None:
        self.calls: list[dict] = []
        self.saved: list[dict] = []
        losses, save = tr.training_losses, tr.save_checkpoint

        def loss_spy(diffusion, net, x0, t, noise, **kw):
            out = losses(diffusion, net, x0, t, noise, **kw)
            self.calls.append({"x0": x0.clone(), "t": t.clone(), "noise": noise.clone(),
                               "kw": kw, "loss": float(out.loss.mean().detach())})
            return out

        def save_spy(path, payload, force):
            self.saved.append(copy.deepcopy(payload))
            return save(path, payload, force)

        monkeypatch.setattr(tr, "training_losses", loss_spy)
        monkeypatch.setattr(tr, "save_checkpoint", save_spy)


def test_each_step_draws_x0_t_and_noise_from_its_own_stream(monkeypatch) -> None:
    """Planted: the three streams of SeedSequence(seed).generate_state(3) swapped or
    reseeded; t drawn from [0, T) or [1, T] -> [1, T + 1]; the noise of another shape or
    stream; x_0 from the noise stream. Each step's draws are recomputed here."""
    spy = _Spy(monkeypatch)
    seed, steps, batch = 11, 4, 64
    train("mixture_2d", steps, model=_tiny(), seed=seed, **dict(KW, batch_size=batch))
    _, data_seed, noise_seed = (int(s) for s in np.random.SeedSequence(seed).generate_state(3))
    ds = get_dataset("mixture_2d")
    dg, ng = torch.Generator().manual_seed(data_seed), torch.Generator().manual_seed(noise_seed)
    assert len(spy.calls) == steps
    for c in spy.calls:
        x0 = ds.sample(batch, dg)
        t = torch.randint(1, T + 1, (batch,), generator=ng)
        noise = torch.randn(x0.shape, generator=ng)
        assert torch.equal(c["x0"], x0) and torch.equal(c["t"], t)
        assert torch.equal(c["noise"], noise)
    ts = torch.cat([c["t"] for c in spy.calls])
    assert int(ts.min()) == 1 and int(ts.max()) == T
    assert spy.calls[0]["kw"] == {"loss": LossType.SIMPLE, "decoder": DecoderType.GAUSSIAN,
                                  "levels": None, "approx_cdf": "exact", "vlb_weight": 1e-3}


def test_the_default_model_is_initialised_from_the_first_stream() -> None:
    """Planted: the initial weights from another seed, the global RNG not restored, the
    size arguments not passed on, model_args allowed with model=."""
    ds = get_dataset("mixture_2d")
    state = torch.get_rng_state()
    got = _init_model(None, ds, True, 123, {"hidden": 4, "depth": 1})
    assert torch.equal(torch.get_rng_state(), state)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(123)
        want = default_model((2,), True, hidden=4, depth=1)
    assert got.args == want.args
    for a, b in zip(got.parameters(), want.parameters(), strict=True):
        assert torch.equal(a, b)
    m = _tiny()
    assert _init_model(m, ds, False, 0, None) is m and _init_model(m, ds, False, 0, {}) is m
    with pytest.raises(ValueError, match=r"^model_args sizes the default model; it cannot "
                                         r"apply to model=\.$"):
        _init_model(m, ds, False, 0, {"hidden": 4})
    ck = train("mixture_2d", 1, seed=5, model_args={"hidden": 3, "depth": 1}, **KW)
    assert ck.config["model"]["args"]["hidden"] == 3


class _Counting(nn.Module):
    """An MLP with a buffer that counts training forwards (as BatchNorm's running stats
    change): the EMA copy must carry the network's buffers."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _tiny()
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x, t):
        if self.training:
            self.calls += 1
        return self.net(x, t)


@pytest.mark.parametrize("ema_decay", [0.999, 0.15, 0.0])
def test_ema_is_the_warmed_up_moving_average(monkeypatch, tmp_path, ema_decay) -> None:
    """Planted: the warm-up min(decay, (1 + k)/(10 + k)) changed (constants, min -> max,
    the step k off by one), the lerp weight 1 - decay -> decay, the buffers not copied; the
    network not put in training mode, the returned EMA copy in training mode or with
    gradients.
    The EMA is recomputed from the raw weights saved after every step."""
    spy = _Spy(monkeypatch)
    model = _Counting().eval()  # train() switches it to training mode
    ema = {k: v.clone() for k, v in model.state_dict().items()}
    out_ck = train("mixture_2d", 4, model=model, ema_decay=ema_decay, save_every=1, lr=0.05,
                   out=tmp_path / "m.pt", **KW)
    assert [p["resume"]["step"] for p in spy.saved] == [1, 2, 3, 4]
    for k, pay in enumerate(spy.saved, start=1):
        d = min(ema_decay, (1.0 + k) / (10.0 + k))
        w = pay["weights"]
        for name in ema:
            if name == "calls":
                ema[name] = w[name].clone()
            else:
                ema[name] = ema[name] + (1.0 - d) * (w[name] - ema[name])
            torch.testing.assert_close(pay["ema_weights"][name], ema[name], rtol=1e-5,
                                       atol=1e-6)
    assert float(spy.saved[-1]["ema_weights"]["calls"]) == 4.0
    assert float(out_ck.model.calls) == 4.0
    assert not out_ck.model.training
    assert not any(p.requires_grad for p in out_ck.model.parameters())


def test_the_logged_loss_is_a_running_average_every_log_every_steps(monkeypatch) -> None:
    """Planted: the running average 0.9 r + 0.1 v changed or started elsewhere; logging at
    other steps (``%`` -> ``//``); the final loss of a run shorter than log_every. The
    history is recomputed from the step losses."""
    spy = _Spy(monkeypatch)
    ck = train("mixture_2d", 11, model=_tiny(), log_every=3, **KW)
    v = [c["loss"] for c in spy.calls]
    r, hist = None, []
    for k in (3, 6, 9):
        r = v[k - 1] if r is None else 0.9 * r + 0.1 * v[k - 1]
        hist.append(r)
    np.testing.assert_allclose(ck.loss_history.numpy(), hist, rtol=1e-6)
    assert ck.loss_history.dtype == torch.float32
    assert ck.config["train"]["final_loss"] == pytest.approx(hist[-1], rel=1e-12)
    spy.calls.clear()
    short = train("mixture_2d", 3, model=_tiny(), log_every=5, **KW)
    assert short.loss_history.numel() == 0
    assert short.config["train"]["final_loss"] == spy.calls[-1]["loss"]


def test_the_saved_payload_and_config(tmp_path, monkeypatch) -> None:
    """Planted: a config entry dropped, renamed or of another value; the raw weights saved
    as the EMA or the reverse; the betas not float64; the optimiser state with int keys;
    the random-stream states missing; steps/seconds/final_loss not updated."""
    out = tmp_path / "m.pt"
    spy = _Spy(monkeypatch)
    ds = get_dataset("points", points=_images(), levels=3)
    started = time.perf_counter()
    ck = train(ds, 2, seed=3, decoder=None, ema_decay=0.5, vlb_weight=0.25, lr=0.01,
               log_every=1, out=out, model_args={"base": 4, "mults": [1, 2]},
               **dict(KW, batch_size=2))
    wall = time.perf_counter() - started
    assert spy.calls[0]["kw"] == {"loss": LossType.SIMPLE, "decoder": DecoderType.DISCRETIZED,
                                  "levels": 3, "approx_cdf": "exact", "vlb_weight": 0.25}
    cfg = read_payload(out, "cpu")["config"]
    assert 0.0 < cfg["train"]["seconds"] <= wall
    assert cfg.keys() == ck.config.keys()
    assert torch.equal(cfg["dataset"]["args"].pop("points"), _images())
    assert torch.equal(ck.config["dataset"]["args"].pop("points"), _images())
    assert cfg == ck.config
    t = cfg["train"]
    assert t["seconds"] > 0.0 and np.isfinite(t["final_loss"])
    assert cfg == {
        "format": "ddpm_theory.checkpoint", "format_version": 1,
        "library_version": cfg["library_version"],
        "model": {"kind": "unet", "args": {"channels": 1, "image_size": 8, "base": 4,
                                           "mults": [1, 2], "learned_variance": False}},
        "schedule": {"name": "linear", "params": Schedule.linear(T).params, "T": T},
        "parameterization": "eps", "variance": "beta", "loss": "simple",
        "decoder": "discretized", "approx_cdf": "exact", "levels": 3,
        "event_shape": [1, 8, 8], "dataset": {"name": "points", "args": {"levels": 3}},
        "train": {"steps": 2, "batch_size": 2, "lr": 0.01, "ema_decay": 0.5,
                  "vlb_weight": 0.25, "seed": 3, "device": "cpu",
                  "seconds": t["seconds"], "final_loss": t["final_loss"]},
    }
    import ddpm_theory

    assert cfg["library_version"] == ddpm_theory.__version__
    pay = read_payload(out, "cpu")
    assert set(pay) == {"config", "weights", "ema_weights", "schedule_betas", "loss_history",
                        "resume"}
    assert pay["schedule_betas"].dtype == torch.float64
    np.testing.assert_array_equal(pay["schedule_betas"].numpy(), Schedule.linear(T).betas)
    raw = load_checkpoint(out, use_ema=False).model.state_dict()  # the points reloaded
    assert all(torch.equal(raw[k], pay["weights"][k]) for k in raw)
    assert all(torch.equal(ck.model.state_dict()[k], pay["ema_weights"][k]) for k in raw)
    assert not all(torch.equal(raw[k], pay["ema_weights"][k]) for k in raw)
    res = pay["resume"]
    assert res["step"] == 2 and res["running"] == t["final_loss"]
    assert set(res) == {"optimizer", "step", "running", "data_rng", "noise_rng"}
    assert all(isinstance(k, str) for k in res["optimizer"]["state"])
    assert res["optimizer"]["param_groups"][0]["lr"] == 0.01
    assert len(res["optimizer"]["state"]) == len(raw)
    assert torch.equal(ck.loss_history, pay["loss_history"])
    assert ck.path == out and ck.config["train"]["steps"] == 2


def test_decoder_default_follows_the_data() -> None:
    """Planted: the default decoder swapped (gaussian for discrete data), an explicit
    decoder ignored, the refusal or its message changed."""
    assert train("mixture_2d", 1, model=_tiny(), **KW).config["decoder"] == "gaussian"
    ds = get_dataset("points", points=_images(), levels=3)
    assert train(ds, 1, model_args={"base": 2, "mults": [1]}, **KW).config["decoder"] == (
        "discretized")
    ck = train(ds, 1, decoder="gaussian", model_args={"base": 2, "mults": [1]}, **KW)
    assert ck.config["decoder"] == "gaussian"
    with pytest.raises(ValueError, match=r"^dataset 'mixture_2d' is continuous: the "
                                         r"discretized decoder needs discrete data on a grid "
                                         r"of \[-1, 1\]; use decoder 'gaussian'\.$"):
        train("mixture_2d", 1, decoder="discretized", **KW)


def test_argument_checks_and_their_boundaries(tmp_path) -> None:
    """Planted: the boundaries lr = LR_MAX, ema_decay = 0 refused or ema_decay < 0 let
    through; numpy integers/floats refused; bool accepted; each message's words."""
    assert LR_MAX == 1.0
    m = _tiny()
    assert train("mixture_2d", np.int64(1), model=m, lr=1, ema_decay=0.0,
                 **KW).config["train"]["lr"] == 1.0
    ck = train("mixture_2d", 1, model=_tiny(), lr=np.float32(0.5), batch_size=np.int32(3),
               **{k: v for k, v in KW.items() if k != "batch_size"})
    assert ck.config["train"]["lr"] == 0.5 and ck.config["train"]["batch_size"] == 3
    assert type(ck.config["train"]["batch_size"]) is int
    assert _positive_int(np.int64(4), "n") == 4 and type(_positive_int(np.int64(4), "n")) is int
    for bad, msg in [({"lr": True}, r"^lr must be a finite number in \(0, 1\]; got True\.$"),
                     ({"lr": 1.5}, r"got 1\.5\.$"),
                     ({"ema_decay": -0.1}, r"^ema_decay must lie in \[0, 1\); got -0\.1\.$"),
                     ({"ema_decay": 1.0}, r"got 1\.0\.$"),
                     ({"batch_size": 0}, r"^batch_size must be a positive integer; got 0\.$"),
                     ({"log_every": 0}, r"^log_every must be a positive integer; got 0\.$"),
                     ({"save_every": 0}, r"^save_every must be a positive integer; got 0\.$"),
                     ({"steps": 1.0}, r"^steps must be a positive integer; got 1\.0\.$")]:
        kw = {**KW, "steps": 1, **bad}
        with pytest.raises(ValueError, match=msg):
            train("mixture_2d", **kw)
    with pytest.raises(TypeError, match=r"^data must be a dataset name or a Dataset; got "
                                        r"list\.$"):
        train([1, 2], 1, **KW)
    with pytest.raises(ValueError, match=r"^T must be at least 2 \(L_T, a transition and "
                                         r"L_0\); got 1\.$"):
        train("mixture_2d", 1, **{**KW, "schedule": Schedule.linear(1)})
    train("mixture_2d", 1, model=_tiny(), **{**KW, "schedule": Schedule.linear(2)})


def test_default_schedule_is_ho_2020() -> None:
    """Planted: another T or schedule as the default (Ho et al. 2020, Sec. 4: linear from
    1e-4 to 0.02, T = 1000)."""
    s = default_schedule()
    assert s.T == 1000 and s.name == "linear"
    np.testing.assert_allclose(s.betas, np.linspace(1e-4, 0.02, 1000), rtol=1e-12)


def test_training_diverged_names_what_and_when() -> None:
    """Planted: a word or number of the message changed; the attributes swapped."""
    e = TrainingDiverged("weight 'w'", 7, 0.25)
    assert (e.what, e.step, e.lr) == ("weight 'w'", 7, 0.25)
    assert str(e) == ("weight 'w' became non-finite by step 7; lower the learning rate "
                      "(lr = 0.25) or check the data and model. No checkpoint was written "
                      "for this step.")
    assert isinstance(e, FloatingPointError)


class _NanWeight(nn.Module):
    """A finite output with one weight that is NaN (unused, so Adam leaves it)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = _tiny()
        self.dead = nn.Parameter(torch.full((1,), float("nan")))

    def forward(self, x, t):
        return self.net(x, t)


def test_a_non_finite_weight_is_found_at_the_first_check(tmp_path) -> None:
    """Planted: the weight check skipped or inverted; the check made at other steps than
    multiples of log_every and the last; the message without the weight's name or step."""
    with pytest.raises(TrainingDiverged, match=r"^weight 'dead' became non-finite by step 3; "
                                               r"lower the learning rate \(lr = 0\.001\)"):
        train("mixture_2d", 10, model=_NanWeight(), log_every=3, out=tmp_path / "m.pt", **KW)
    with pytest.raises(TrainingDiverged, match=r"by step 2;"):
        train("mixture_2d", 2, model=_NanWeight(), log_every=5, **KW)
    with pytest.raises(TrainingDiverged, match=r"by step 2;"):
        train("mixture_2d", 9, model=_NanWeight(), log_every=5, save_every=2, **KW)
    assert list(tmp_path.iterdir()) == []


class _NanAt(nn.Module):
    """Finite output except at the ``bad``-th training forward, which returns NaN (through
    ``where``, so that the gradient stays finite and later losses are finite again)."""

    def __init__(self, bad: int) -> None:
        super().__init__()
        self.net, self.bad, self.k = _tiny(), bad, 0

    def forward(self, x, t):
        self.k += 1
        y = self.net(x, t)
        return torch.where(torch.tensor(self.k == self.bad), torch.full_like(y, float("nan")), y)


def test_a_non_finite_loss_is_remembered_until_the_check() -> None:
    """Planted: the flag ``bad |= ...`` -> ``bad = ...`` (a NaN at step 2 forgotten by the
    check at step 4), the loss check skipped, the message without its words."""
    with pytest.raises(TrainingDiverged, match=r"^the training loss \(last [0-9.e+-]+\) "
                                               r"became non-finite by step 4;"):
        train("mixture_2d", 8, model=_NanAt(2), log_every=4, lr=1e-6, **KW)
    with pytest.raises(TrainingDiverged, match=r"^the training loss \(last nan\) became "
                                               r"non-finite by step 4;"):
        train("mixture_2d", 8, model=_NanAt(4), log_every=4, lr=1e-6, **KW)


def test_progress_bar_shows_steps_and_the_running_loss(tmp_path) -> None:
    """Planted: the bar not made when asked for (or made when not), its total or starting
    step (a resumed run starts at its step), its name or unit, the loss shown (the running
    loss, 4 decimals, at each logging step), a step not counted."""
    out = tmp_path / "m.pt"
    ck = train("mixture_2d", 4, model=_tiny(), log_every=2, out=out,
               **{**KW, "progress": True})
    (bar,) = _Bar.made
    assert bar.kw == {"total": 4, "initial": 0, "desc": "train", "unit": "step"}
    assert bar.postfix == [{"loss": f"{v:.4f}"} for v in ck.loss_history.tolist()]
    assert bar.n == 4 and bar.closed
    done = resume(out, 7, model=_tiny(), progress=True, device="cpu", log_every=2)
    bar = _Bar.made[-1]
    assert bar.kw == {"total": 7, "initial": 4, "desc": "train", "unit": "step"}
    assert bar.postfix == [{"loss": f"{done.loss_history[-1].item():.4f}"}]
    assert bar.n == 3 and len(_Bar.made) == 2
    train("mixture_2d", 2, model=_tiny(), **KW)
    resume(out, 9, model=_tiny(), progress=False, device="cpu")
    assert len(_Bar.made) == 2


def test_resume_continues_the_history_clock_and_file(tmp_path) -> None:
    """Planted: resume writing elsewhere than its input by default, or overwriting an
    existing ``out`` without force, or not saving every ``save_every`` steps; the history,
    clock or device of the run not carried on; the checks and messages of resume."""
    part = tmp_path / "part.pt"
    kw = {**KW, "log_every": 2}
    first = train("mixture_2d", 4, model=_tiny(), out=part, **kw)
    before = part.read_bytes()
    other = tmp_path / "other.pt"
    other.write_bytes(b"keep")
    with pytest.raises(FileExistsError, match="force=True"):
        resume(part, 6, model=_tiny(), out=other, progress=False, device="cpu")
    assert other.read_bytes() == b"keep" and part.read_bytes() == before
    started = time.perf_counter()
    done = resume(part, 6, model=_tiny(), out=other, force=True, progress=False,
                  device="cpu", log_every=2)
    wall = time.perf_counter() - started
    assert part.read_bytes() == before and done.path == other
    assert torch.equal(done.loss_history[:2], first.loss_history)
    assert done.loss_history.numel() == 3
    assert done.config["train"]["steps"] == 6
    assert (first.config["train"]["seconds"] <= done.config["train"]["seconds"]
            <= first.config["train"]["seconds"] + wall)
    assert done.config["train"]["device"] == "cpu"
    saves = []
    real = tr.save_checkpoint
    mp = pytest.MonkeyPatch()
    mp.setattr(tr, "save_checkpoint", lambda p, pay, f: (saves.append(pay["resume"]["step"]),
                                                          real(p, pay, f))[1])
    try:
        resume(part, 7, model=_tiny(), out=tmp_path / "every.pt", save_every=1,
               progress=False, device="cpu")
    finally:
        mp.undo()
    assert saves == [5, 6, 7]
    again = resume(part, 5, model=_tiny(), progress=False, device="cpu", log_every=2)
    assert again.path == part and read_payload(part, "cpu")["resume"]["step"] == 5
    with pytest.raises(ValueError, match=r"^the checkpoint has done 5 steps already; ask for "
                                         r"more \(steps is the total, got 5\)\.$"):
        resume(part, 5, model=_tiny(), progress=False, device="cpu")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        resume(part, 0, progress=False, device="cpu")


def test_resume_refusals_name_the_file(tmp_path) -> None:
    """Planted: a checkpoint without a training state or with an unregistered dataset
    accepted; the messages without the file or the reason."""
    p = tmp_path / "m.pt"
    train("mixture_2d", 2, model=_tiny(), out=p, **KW)
    pay = torch.load(p, weights_only=True)
    del pay["resume"]
    old = tmp_path / "old.pt"
    torch.save(pay, old)
    with pytest.raises(CheckpointError, match=rf"^checkpoint {re.escape(repr(str(old)))}: "
                                              r"resume: missing \(written before training "
                                              r"states were stored\); it cannot be resumed\.$"):
        resume(old, 4, model=_tiny(), progress=False, device="cpu")
    pay = torch.load(p, weights_only=True)
    pay["config"]["dataset"] = {"name": "custom", "args": {}}
    custom = tmp_path / "custom.pt"
    torch.save(pay, custom)
    with pytest.raises(CheckpointError, match=rf"^checkpoint {re.escape(repr(str(custom)))}: "
                                              r"config\['dataset'\]: not a registered dataset; "
                                              r"it cannot be resumed\.$"):
        resume(custom, 4, model=_tiny(), progress=False, device="cpu")


class _Foreign(nn.Module):
    """Not a registered model: resume needs it passed in."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(2))

    def forward(self, x, t):
        return x * self.w + 0 * t[:, None]


def test_resume_defaults_and_a_foreign_model(tmp_path) -> None:
    """Planted: resume's defaults changed (device "auto", a progress bar, a log every 10
    steps), the model passed in not used, the returned EMA with gradients, the device of
    the continued run not recorded."""
    p = tmp_path / "m.pt"
    kw = {k: v for k, v in KW.items() if k != "progress"}
    train("mixture_2d", 10, model=_Foreign(), lr=0.5, out=p, progress=False, **kw)
    full = train("mixture_2d", 21, model=_Foreign(), lr=0.5, progress=False, **kw)
    done = resume(p, 21, model=_Foreign())
    assert [b.kw["total"] for b in _Bar.made] == [21]
    assert done.loss_history.numel() == 2 and done.config["train"]["device"] == "cpu"
    assert torch.equal(done.model.w, full.model.w)
    assert torch.equal(done.loss_history, full.loss_history)
    assert not any(q.requires_grad for q in done.model.parameters())
    with pytest.raises(CheckpointError, match="pass it as load_checkpoint"):
        resume(p, 30, progress=False, device="cpu")
    moved = tmp_path / "moved.pt"
    pay = torch.load(p, weights_only=True)
    pay["config"]["train"]["device"] = "cuda:3"  # as if trained there
    torch.save(pay, moved)
    assert resume(moved, 22, model=_Foreign(), progress=False,
                  device="cpu").config["train"]["device"] == "cpu"


def _as_if_written_on_a_gpu(src, dst):
    """The same payload with every tensor tagged as CUDA memory, as torch.save writes a
    checkpoint trained on a GPU; loading it without a map_location fails where there is no
    CUDA."""
    import torch.serialization as ts

    pay = torch.load(src, weights_only=True)
    mp = pytest.MonkeyPatch()
    mp.setattr(ts, "location_tag", lambda storage: "cuda:0")
    try:
        torch.save(pay, dst)
    finally:
        mp.undo()
    with pytest.raises(RuntimeError, match="CUDA"):
        torch.load(dst, weights_only=True)
    return dst


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_gpu_checkpoint_loads_and_resumes_on_the_cpu(tmp_path) -> None:
    """Planted: the map_location not passed to torch.load (by load_checkpoint, resume or
    its read of the training state): a checkpoint from a GPU then fails to open on a
    machine without one."""
    p = tmp_path / "m.pt"
    ref = train("mixture_2d", 4, model=_tiny(), out=p, **{**KW, "log_every": 2})
    gpu = _as_if_written_on_a_gpu(p, tmp_path / "gpu.pt")
    ck = load_checkpoint(gpu, model=_tiny())
    assert torch.equal(ck.model.inp.weight, ref.model.inp.weight)
    assert read_payload(gpu, "cpu")["resume"]["step"] == 4
    done = resume(gpu, 6, model=_tiny(), out=tmp_path / "more.pt", progress=False,
                  device="cpu", log_every=2)
    assert done.config["train"]["steps"] == 6


@pytest.mark.gpu
def test_resume_on_cuda_equals_the_uninterrupted_cuda_run(tmp_path) -> None:
    """On a GPU: resume keeps the model, the EMA, the optimiser state and the noise stream
    on the device (a CPU noise generator cannot draw CUDA noise), and the result equals an
    uninterrupted run there bit for bit; a checkpoint loads onto the GPU (the model moved
    there, the betas brought back to the CPU for the schedule)."""
    kw = {**KW, "device": "cuda", "log_every": 2}
    part, done_path = tmp_path / "part.pt", tmp_path / "done.pt"
    full = train("mixture_2d", 6, model=_tiny(), **kw)
    train("mixture_2d", 3, model=_tiny(), out=part, **kw)
    done = resume(part, 6, model=_tiny(), out=done_path, progress=False, device="cuda",
                  log_every=2)
    assert all(q.device.type == "cuda" for q in done.model.parameters())
    on_gpu = load_checkpoint(done_path, model=_tiny(), map_location="cuda")
    assert all(q.device.type == "cuda" for q in on_gpu.model.parameters())
    assert on_gpu.schedule.T == T
    assert done.config["train"]["device"] == "cuda"
    a, b = full.model.state_dict(), done.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_the_loss_history_is_float32_whatever_the_default_dtype(tmp_path) -> None:
    """Planted: the loss history built without its dtype (it would follow
    torch.get_default_dtype(); the file format says float32)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ck = train("mixture_2d", 2, log_every=1, out=tmp_path / "m.pt",
                   model_args={"hidden": 4, "depth": 1}, **KW)
    finally:
        torch.set_default_dtype(old)
    assert ck.loss_history.dtype == torch.float32
    assert read_payload(tmp_path / "m.pt", "cpu")["loss_history"].dtype == torch.float32


def test_a_run_without_a_file_records_its_steps_and_time() -> None:
    """Planted: the returned config not updated with the steps and seconds when nothing is
    saved (only a save updated them)."""
    ck = train("mixture_2d", 3, model=_tiny(), **KW)
    assert ck.config["train"]["steps"] == 3 and ck.config["train"]["seconds"] > 0.0
    assert ck.path is None


class _Stop(Exception):
    pass


def test_train_defaults(monkeypatch) -> None:
    """Planted: a default of train changed (data mixture_2d, 2000 steps, batch 256, the
    eps/beta/simple settings, vlb_weight 1e-3, seed 0, a progress bar, the default
    schedule). The first step's inputs are recorded and the run stopped there."""
    seen = {}

    def first_step(diffusion, net, x0, t, noise, **kw):
        seen.update(diffusion=diffusion, x0=x0, kw=kw)
        raise _Stop

    monkeypatch.setattr(tr, "training_losses", first_step)
    with pytest.raises(_Stop):
        train()
    (bar,) = _Bar.made
    assert bar.kw["total"] == 2000
    _, data_seed, _ = (int(s) for s in np.random.SeedSequence(0).generate_state(3))
    want = get_dataset("mixture_2d").sample(256, torch.Generator().manual_seed(data_seed))
    assert torch.equal(seen["x0"], want)
    d = seen["diffusion"]
    assert (d.parameterization.value, d.variance.value, d.T) == ("eps", "beta", 1000)
    assert seen["kw"]["loss"] is LossType.SIMPLE and seen["kw"]["vlb_weight"] == 1e-3
