"""Training reproducibility, checkpoint round trips, and the errors of both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ddpm_theory.backend import CheckpointError, MLPDenoiser, Schedule, load_checkpoint, train
from ddpm_theory.backend.checkpoint import FORMAT, FORMAT_VERSION

T, STEPS = 50, 30


def _tiny(seed: int = 0) -> MLPDenoiser:
    with torch.random.fork_rng(devices=[]):  # initialisation only; global state restored
        torch.manual_seed(seed)
        return MLPDenoiser(2, hidden=32, depth=1, time_dim=16)


def _train(seed: int = 0, out: Path | None = None, device: str = "cpu", **kw):
    return train("mixture_2d", STEPS, model=_tiny(), schedule=Schedule.linear(T), batch_size=64,
                 seed=seed, progress=False, device=device, out=out, **kw)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "model.pt"
    return _train(out=out), out


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k].cpu(), sb[k].cpu()) for k in sa)


def test_checkpoint_round_trip(trained) -> None:
    ck, path = trained
    back = load_checkpoint(path)
    assert _same(back.model, ck.model)  # the EMA weights, bit for bit
    assert not back.model.training
    np.testing.assert_array_equal(back.schedule.betas, ck.schedule.betas)
    assert back.diffusion.parameterization is ck.diffusion.parameterization
    assert back.config == ck.config and back.dataset.config() == ck.dataset.config()
    assert torch.equal(back.loss_history, ck.loss_history)
    assert len(ck.loss_history) == STEPS // 10 and torch.all(torch.isfinite(ck.loss_history))
    raw = load_checkpoint(path, use_ema=False)
    assert not _same(raw.model, back.model)  # EMA differs from the last iterate


def test_checkpoint_is_plain_data(trained) -> None:
    _, path = trained
    payload = torch.load(path, weights_only=True)  # no code can run on load
    assert payload["config"]["format"] == FORMAT
    assert payload["config"]["format_version"] == FORMAT_VERSION
    assert payload["schedule_betas"].dtype == torch.float64


def test_same_seed_same_weights_and_global_rng_untouched() -> None:
    state = torch.get_rng_state()
    a, b, c = _train(seed=1), _train(seed=1), _train(seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert _same(a.model, b.model) and not _same(a.model, c.model)


def test_default_model_is_seeded() -> None:
    kw = {"schedule": Schedule.linear(T), "batch_size": 16, "progress": False, "device": "cpu"}
    a, b = train("mixture_1d", 2, seed=3, **kw), train("mixture_1d", 2, seed=3, **kw)
    assert _same(a.model, b.model)


def test_no_overwrite_without_force(trained, tmp_path) -> None:
    _, path = trained
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="force=True"):
        _train(out=path)
    assert path.read_bytes() == before
    copy = tmp_path / "copy.pt"
    copy.write_bytes(before)
    ck = _train(seed=9, out=copy, force=True)
    assert _same(load_checkpoint(copy).model, ck.model)


def test_missing_output_folder_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="output folder .*does not exist"):
        _train(out=tmp_path / "no_such_dir" / "m.pt")
    with pytest.raises(IsADirectoryError):
        _train(out=tmp_path)


def test_not_a_checkpoint(tmp_path) -> None:
    text = tmp_path / "notes.pt"
    text.write_text("hello")
    with pytest.raises(CheckpointError, match="not a ddpm_theory checkpoint"):
        load_checkpoint(text)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {"w": torch.zeros(2)}}, other)
    with pytest.raises(CheckpointError, match="no 'ddpm_theory.checkpoint' header"):
        load_checkpoint(other)
    code = tmp_path / "code.pt"
    torch.save({"config": Path("x")}, code)  # an arbitrary object: refused, never unpickled
    with pytest.raises(CheckpointError, match="does not load as plain data"):
        load_checkpoint(code)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "absent.pt")


def test_other_format_version(trained, tmp_path) -> None:
    _, path = trained
    payload = torch.load(path, weights_only=True)
    payload["config"]["format_version"] = FORMAT_VERSION + 1
    newer = tmp_path / "newer.pt"
    torch.save(payload, newer)
    with pytest.raises(CheckpointError, match=f"format version {FORMAT_VERSION + 1}"):
        load_checkpoint(newer)


@pytest.mark.parametrize("steps", [0, -5, 2.5, True])
def test_non_positive_steps(steps) -> None:
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train("mixture_2d", steps, progress=False)


def test_other_argument_errors(tmp_path) -> None:
    with pytest.raises(ValueError, match="ema_decay"):
        _train(ema_decay=1.0)
    with pytest.raises(ValueError, match=r"lr must be a finite number in \(0, 1\]"):
        _train(lr=0.0)
    with pytest.raises(ValueError, match="continuous"):
        _train(decoder="discretized")
    with pytest.raises(ValueError, match="unknown dataset"):
        train("nope", 1, progress=False)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_cuda_requested_without_cuda_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="CUDA is not available"):
        _train(device="cuda")


@pytest.mark.gpu
def test_train_on_cuda_and_load_on_cpu(tmp_path) -> None:
    out = tmp_path / "gpu.pt"
    ck = _train(out=out, device="cuda")
    assert next(ck.model.parameters()).device.type == "cuda"
    back = load_checkpoint(out, map_location="cpu")
    assert _same(back.model, ck.model)
    again = _train(device="cuda")
    assert _same(again.model, ck.model)  # same seed, same device: same weights
