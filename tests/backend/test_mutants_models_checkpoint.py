"""Checkpoint files: what is refused on save and on load (each message naming the field),
and what a loaded checkpoint carries. Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted errors it catches."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ddpm_theory.backend import Schedule, train
from ddpm_theory.backend.checkpoint import (
    CONFIG_FIELDS,
    FORMAT,
    FORMAT_VERSION,
    PAYLOAD_FIELDS,
    Checkpoint,
    CheckpointError,
    _check_plain,
    load_checkpoint,
    read_payload,
    save_checkpoint,
)
from ddpm_theory.backend.enums import DecoderType, LossType
from ddpm_theory.backend.models import MLPDenoiser

T = 5


def _tiny(seed: int = 0) -> MLPDenoiser:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLPDenoiser(1, hidden=4, depth=1, learned_variance=True)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("ck") / "m.pt"
    train("mixture_1d", 2, out=p, model_args={"hidden": 4, "depth": 1},
          schedule=Schedule.cosine(T, s=0.01), batch_size=4, progress=False, device="cpu",
          loss="hybrid", variance="learned_range", decoder="gaussian", log_every=1)
    return p


def _q(p: Path) -> str:
    return re.escape(repr(str(p)))


def _edited(good: Path, dst: Path, change) -> Path:
    pay = torch.load(good, weights_only=True)
    change(pay)
    torch.save(pay, dst)
    return dst


def test_a_loaded_checkpoint_carries_its_settings(good) -> None:
    """Planted: the schedule rebuilt with another name or parameters, the properties
    (loss, decoder, levels, event shape, schedule) reading other entries; the model left
    in training mode; the raw and EMA weights swapped; the global RNG disturbed."""
    state = torch.get_rng_state()
    ck = load_checkpoint(good)
    assert torch.equal(torch.get_rng_state(), state)
    assert isinstance(ck, Checkpoint) and ck.path == good
    assert ck.schedule is ck.diffusion.schedule
    assert ck.schedule.spec() == {"name": "cosine", "params": Schedule.cosine(T, s=0.01).params,
                                  "T": T}
    np.testing.assert_array_equal(ck.schedule.betas, Schedule.cosine(T, s=0.01).betas)
    assert ck.loss is LossType.HYBRID and ck.decoder is DecoderType.GAUSSIAN
    assert ck.levels is None and ck.event_shape == (1,)
    assert ck.diffusion.variance.value == "learned_range"
    assert not ck.model.training and ck.dataset.config() == {"name": "mixture_1d",
                                                              "args": ck.dataset.config()["args"]}
    pay = torch.load(good, weights_only=True)
    for use_ema, key in ((True, "ema_weights"), (False, "weights")):
        sd = load_checkpoint(good, use_ema=use_ema).model.state_dict()
        assert all(torch.equal(sd[k], pay[key][k]) for k in sd)
    assert torch.equal(ck.loss_history, pay["loss_history"])


def test_properties_read_their_own_entries() -> None:
    """Planted: a property reading another config entry."""
    ck = Checkpoint(nn.Identity(), None, None,  # type: ignore[arg-type]
                    {"loss": "vlb", "decoder": "discretized", "levels": 9,
                     "event_shape": [2, 3]}, torch.zeros(0))
    assert ck.loss is LossType.VLB and ck.decoder is DecoderType.DISCRETIZED
    assert ck.levels == 9 and ck.event_shape == (2, 3) and ck.path is None


def test_only_plain_data_is_saved(tmp_path) -> None:
    """Planted: a non-plain value or a non-string key accepted; tuples or None refused;
    the path of the offending entry or the type named wrongly in the message."""
    _check_plain({"a": [1, 2.0, "x", None, True, (3, torch.zeros(1))], "b": {"c": None}})
    with pytest.raises(TypeError, match=r"^checkpoint\['a'\]\[1\] holds a PosixPath; a "
                                        r"checkpoint config holds only plain data \(dict, "
                                        r"list, str, int, float, bool, None, tensors\)\.$"):
        save_checkpoint(tmp_path / "a.pt", {"a": [0, Path("x")]}, False)
    with pytest.raises(TypeError, match=r"^checkpoint\['b'\] has a non-string key 3\.$"):
        save_checkpoint(tmp_path / "a.pt", {"b": {3: 1}}, False)
    with pytest.raises(TypeError, match=r"^config\[0\] holds a set"):
        _check_plain([{1}])
    with pytest.raises(TypeError, match=r"^config\['k'\]\[0\] holds a object"):
        _check_plain({"k": (object(),)})
    assert list(tmp_path.iterdir()) == []


def test_save_checkpoint_writes_once_unless_forced(tmp_path) -> None:
    """Planted: force not passed on (an existing file replaced, or never replaceable)."""
    p = tmp_path / "c.pt"
    assert save_checkpoint(p, {"x": torch.ones(2)}, False) == p
    with pytest.raises(FileExistsError, match="force=True"):
        save_checkpoint(p, {"x": torch.zeros(2)}, False)
    assert torch.equal(torch.load(p, weights_only=True)["x"], torch.ones(2))
    save_checkpoint(p, {"x": torch.zeros(2)}, True)
    assert torch.equal(torch.load(p, weights_only=True)["x"], torch.zeros(2))


def test_read_payload_refusals(tmp_path, good) -> None:
    """Planted: the messages of a missing file, a foreign file (the exception's type
    named), a file without the header, a payload that is not a dict, another format
    version (both versions and the library named)."""
    absent = tmp_path / "absent.pt"
    with pytest.raises(FileNotFoundError, match=rf"^checkpoint {_q(absent)} does not exist\.$"):
        read_payload(absent, "cpu")
    text = tmp_path / "t.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match=rf"^{_q(text)} is not a ddpm_theory checkpoint "
                                              r"\(it does not load as plain data: "
                                              r"\w+Error\)\.$"):
        read_payload(text, "cpu")
    lst = tmp_path / "l.pt"
    torch.save([1, 2], lst)
    with pytest.raises(CheckpointError, match=rf"^{_q(lst)} is not a ddpm_theory checkpoint "
                                              r"\(no 'ddpm_theory.checkpoint' header\)\.$"):
        read_payload(lst, "cpu")
    other = tmp_path / "o.pt"
    torch.save({"config": {"format": "other"}}, other)
    with pytest.raises(CheckpointError, match="no 'ddpm_theory.checkpoint' header"):
        read_payload(other, "cpu")
    torch.save({"config": [FORMAT]}, other)
    with pytest.raises(CheckpointError, match="no 'ddpm_theory.checkpoint' header"):
        read_payload(other, "cpu")
    old = _edited(good, tmp_path / "v.pt", lambda p: p["config"].update(
        format_version=FORMAT_VERSION + 3, library_version="9.9"))
    with pytest.raises(CheckpointError, match=rf"^{_q(old)} is a checkpoint of format version "
                                              rf"{FORMAT_VERSION + 3} \(library '9\.9'\); this "
                                              rf"library reads version {FORMAT_VERSION}: "
                                              r"retrain, or load it with the library version "
                                              r"that wrote it\.$"):
        read_payload(old, "cpu")
    assert FORMAT == "ddpm_theory.checkpoint" and FORMAT_VERSION == 1
    assert read_payload(good, "cpu")["config"]["format"] == FORMAT


def _set(*keys, value):
    def change(pay):
        d = pay
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value
    return change


def _first(pay, name="ema_weights"):
    return next(iter(pay[name]))


BAD = {
    "weights not a dict": (_set("weights", value=[1]),
                           r"weights: expected a dict, got list$", False),
    "betas not a tensor": (_set("schedule_betas", value=[0.1]),
                           r"schedule_betas: expected a Tensor, got list$", True),
    "history missing": (lambda p: p.pop("loss_history"),
                        r"loss_history: missing \(the file is incomplete or was written by "
                        r"other code\)$", True),
    "config entry missing": (lambda p: p["config"].pop("event_shape"),
                             r"config\['event_shape'\]: missing$", True),
    "model not a dict": (_set("config", "model", value="mlp"),
                         r"config\['model'\]: expected a dict, got str$", True),
    "schedule not a dict": (_set("config", "schedule", value=[5]),
                            r"config\['schedule'\]: expected a dict with name, params and T$",
                            True),
    "schedule without T": (lambda p: p["config"]["schedule"].pop("T"),
                           r"config\['schedule'\]: expected a dict with name, params and T$",
                           True),
    "betas 2-D": (lambda p: p.__setitem__("schedule_betas", p["schedule_betas"][None]),
                  r"schedule_betas: expected a 1-D tensor, got shape \(1, 5\)$", True),
    "betas out of range": (lambda p: p["schedule_betas"].fill_(1.5), r"schedule_betas: .+",
                           True),
    "bad decoder": (_set("config", "decoder", value="laplace"),
                    r"config\['decoder'\]: .*laplace", True),
    "bad parameterization": (_set("config", "parameterization", value="score"),
                             r"config\['parameterization'\]: .*score", True),
    "bad variance": (_set("config", "variance", value="wide"),
                     r"config\['variance'\]: .*wide", True),
    "bad loss": (_set("config", "loss", value="l7"), r"config\['loss'\]: .*l7", True),
    "bad dataset args": (_set("config", "dataset", "args", value={"nonsense": 3}),
                         r"config\['dataset'\]: .*nonsense", True),
    "eps on zero terminal SNR": (lambda p: p["schedule_betas"].__setitem__(-1, 1.0),
                                 r"config\['parameterization'\]: eps-parameterisation cannot "
                                 r"recover x0", True),
    "bad model kind": (_set("config", "model", value={"kind": "gan", "class": "x.Gan"}),
                       None, True),
    "raw weight extra": (lambda p: p["weights"].__setitem__("extra.w", torch.zeros(1)),
                         r"weights: do not fit the model: missing \[\], unexpected "
                         r"\['extra\.w'\]$", False),
    "weight not a tensor": (lambda p: p["ema_weights"].__setitem__(_first(p), 3),
                            r"ema_weights\['inp\.weight'\]: has shape int; the model needs "
                            r"\(4, 1\)$", True),
    "inf weight": (lambda p: p["ema_weights"][_first(p)].fill_(float("inf")),
                   r"ema_weights\['inp\.weight'\]: holds NaN or Inf$", True),
    "event shape": (_set("config", "event_shape", value=[2]),
                    r"config\['event_shape'\]: is \[2\], but the dataset 'mixture_1d' has "
                    r"examples of shape \(1,\)$", True),
    "bad model args": (_set("config", "model", "args", value={"dim": 1, "wings": 2}),
                       r"config\['model'\]\['args'\]: .*wings", True),
}


@pytest.mark.parametrize("case", list(BAD))
def test_every_bad_field_is_named(tmp_path, good, case) -> None:
    """Planted: a field check dropped or weakened (a wrong type, a missing entry, a 2-D
    betas tensor, a non-tensor or infinite weight, an extra weight, an event shape the
    dataset contradicts), or its message naming another field or missing its words."""
    change, message, use_ema = BAD[case]
    bad = _edited(good, tmp_path / "bad.pt", change)
    if message is None:
        message = (r"^the checkpoint's model \('x\.Gan'\) is not a registered kind; build it "
                   r"yourself and pass it as load_checkpoint\(path, model=\.\.\.\)\.$")
    else:
        message = rf"^checkpoint {_q(bad)}: {message}"
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(bad, use_ema=use_ema)


def test_field_messages_are_the_first_line_or_the_type(tmp_path, good) -> None:
    """Planted: an exception's message not reduced to its first line, or an empty message
    not replaced by the exception's type."""
    from ddpm_theory.backend.checkpoint import _Fields

    f = _Fields(tmp_path / "x.pt")

    def two_lines():
        raise ValueError("  first line\nsecond line")

    def empty():
        raise KeyError()

    with pytest.raises(CheckpointError, match=r": a: first line$"):
        f.get("a", two_lines)
    with pytest.raises(CheckpointError, match=r": b: KeyError$"):
        f.get("b", empty)
    with pytest.raises(CheckpointError, match=r"^inner$"):
        f.get("c", lambda: (_ for _ in ()).throw(CheckpointError("inner")))
    assert f.get("d", lambda: 5) == 5


def test_a_given_model_takes_the_weights_and_a_foreign_dataset_is_none(tmp_path, good) -> None:
    """Planted: the model passed in ignored (a registered one built instead), the unknown
    dataset name raising or rebuilt; an unnamed dataset config."""
    mine = _tiny(5)
    ck = load_checkpoint(good, model=mine)
    assert ck.model is mine
    pay = torch.load(good, weights_only=True)
    assert all(torch.equal(mine.state_dict()[k], pay["ema_weights"][k]) for k in pay["weights"])
    foreign = _edited(good, tmp_path / "f.pt", _set("config", "dataset",
                                                    value={"name": "custom", "args": {}}))
    assert load_checkpoint(foreign).dataset is None
    none = _edited(good, tmp_path / "n.pt", _set("config", "dataset", value=None))
    assert load_checkpoint(none).dataset is None


def test_field_tables() -> None:
    """Planted: an entry dropped from or renamed in the tables that every file is checked
    against."""
    assert PAYLOAD_FIELDS == {"config": dict, "weights": dict, "ema_weights": dict,
                              "schedule_betas": torch.Tensor, "loss_history": torch.Tensor}
    assert CONFIG_FIELDS == ("model", "schedule", "parameterization", "variance", "loss",
                             "decoder", "levels", "event_shape", "dataset")


def test_weight_lists_and_the_unregistered_model_name(tmp_path, good) -> None:
    """Planted: the lists of missing and unexpected weights not cut at three names; the
    model named by None instead of its kind when the file gives no class."""

    def extra(p):
        for i in range(4):
            p["ema_weights"][f"x{i}"] = torch.zeros(1)
        for k in list(p["ema_weights"])[:4]:
            del p["ema_weights"][k]

    bad = _edited(good, tmp_path / "w.pt", extra)
    with pytest.raises(CheckpointError, match=r"missing \['inp\.weight', 'inp\.bias', "
                                              r"'time\.0\.weight'\], unexpected \['x0', 'x1', "
                                              r"'x2'\]$"):
        load_checkpoint(bad)
    gan = _edited(good, tmp_path / "g.pt", _set("config", "model", value={"kind": "gan"}))
    with pytest.raises(CheckpointError, match=r"^the checkpoint's model \('gan'\) is not"):
        load_checkpoint(gan)


def test_a_schedule_without_a_name_is_custom(tmp_path, good) -> None:
    """Planted: the default name of a schedule saved without one changed."""
    p = _edited(good, tmp_path / "s.pt", lambda pay: pay["config"]["schedule"].pop("name"))
    assert load_checkpoint(p).schedule.name == "custom"
