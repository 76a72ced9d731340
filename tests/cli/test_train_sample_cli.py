"""`ddpm-theory train` and `ddpm-theory sample`: a brief run end to end, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from ddpm_theory.cli import main

TINY = ["--data", "mixture_2d", "--steps", "30", "--T", "50", "--batch-size", "64",
        "--device", "cpu", "--no-progress"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    assert main(["train", *TINY, "--out", str(path)]) == 0
    return path


def test_train_writes_a_checkpoint_that_reloads(ckpt):
    from ddpm_theory.backend.checkpoint import load_checkpoint

    # weights_only loading: opening a checkpoint cannot run code
    payload = torch.load(ckpt, weights_only=True)
    assert "config" in payload
    loaded = load_checkpoint(ckpt)
    assert loaded.diffusion.schedule.T == 50
    assert loaded.dataset is not None and loaded.dataset.name == "mixture_2d"


def test_same_seed_same_weights(tmp_path, ckpt):
    again = tmp_path / "again.pt"
    assert main(["train", *TINY, "--out", str(again)]) == 0
    a, b = torch.load(ckpt, weights_only=True), torch.load(again, weights_only=True)
    for k, v in a["ema_weights"].items():
        assert torch.equal(v, b["ema_weights"][k]), k
    other = tmp_path / "other.pt"
    assert main(["train", *TINY, "--seed", "1", "--out", str(other)]) == 0
    c = torch.load(other, weights_only=True)
    assert any(not torch.equal(v, c["ema_weights"][k]) for k, v in a["ema_weights"].items())


def test_train_never_overwrites_without_force(ckpt, capsys):
    before = ckpt.read_bytes()
    assert main(["train", *TINY, "--out", str(ckpt)]) == 2
    assert "exists" in capsys.readouterr().err
    assert ckpt.read_bytes() == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--data", "nope", "--steps", "5"], "known datasets: standard_gaussian"),
        (["--steps", "0"], "--steps must be an integer >= 1; got 0"),
        (["--steps", "-3"], "--steps must be an integer >= 1; got -3"),
        (["--steps", "5", "--batch-size", "-1"], "--batch-size must be an integer >= 1; got -1"),
        (["--steps", "5", "--batch-size", "0"], "--batch-size must be an integer >= 1; got 0"),
        (["--steps", "5", "--lr", "1e39"], "--lr must be a finite number in (0, 1]; got 1e+39"),
        (["--steps", "5", "--lr", "1e30"], "--lr must be a finite number in (0, 1]; got 1e+30"),
        (["--steps", "5", "--lr", "nan"], "--lr must be a finite number in (0, 1]; got nan"),
        (["--steps", "5", "--lr", "0"], "--lr must be a finite number in (0, 1]; got 0.0"),
        (["--steps", "5", "--T", "1"], "--T must be an integer >= 2; got 1"),
        (["--steps", "5", "--ema-decay", "1"], "--ema-decay must lie in [0, 1); got 1.0"),
        (["--steps", "5", "--save-every", "0"], "--save-every must be an integer >= 1; got 0"),
        (["--steps", "5", "--hidden", "0"], "--hidden must be an integer >= 1; got 0"),
        (["--steps", "5", "--base", "8"], "--base do not apply: --data mixture_2d trains the "
                                          "default mlp (sized by --hidden, --depth)"),
        (["--steps", "5", "--data", "digits", "--depth", "2"], "--depth do not apply"),
        (["--steps", "5", "--loss", "l3"], "--loss: 'l3' is not a valid LossType"),
        (["--steps", "5", "--variance", "wide"], "--variance: 'wide' is not a valid"),
        (["--steps", "5", "--schedule", "quadratic", "--scale-to-T", "--T", "10"],
         "--schedule quadratic --T 10 --scale-to-T: "),
        (["--steps", "5", "--parameterization", "score"], "eps"),
        (["--steps", "5", "--device", "tpu"], "unknown device"),
    ],
)
def test_train_bad_input(tmp_path, capsys, argv, message):
    argv = argv if "--T" in argv else [*argv, "--T", "10"]
    assert main(["train", *argv, "--no-progress",
                 "--out", str(tmp_path / "m.pt")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.pt").exists()


def test_train_missing_folder(tmp_path, capsys):
    assert main(["train", "--steps", "5", "--out", str(tmp_path / "no" / "m.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_sample_npy_and_png(tmp_path, ckpt):
    npy, png = tmp_path / "s.npy", tmp_path / "s.png"
    assert main(["sample", str(ckpt), "--n", "16", "--out", str(npy)]) == 0
    x = np.load(npy)
    assert x.shape == (16, 2) and np.isfinite(x).all()
    assert main(["sample", str(ckpt), "--n", "16", "--out", str(npy), "--force"]) == 0
    assert np.array_equal(np.load(npy), x)  # same seed, same samples
    assert main(["sample", str(ckpt), "--n", "16", "--out", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sample_bad_input(tmp_path, ckpt, capsys):
    keep = tmp_path / "s.npy"
    keep.write_bytes(b"mine")
    assert main(["sample", str(ckpt), "--out", str(keep)]) == 2
    assert keep.read_bytes() == b"mine"
    assert main(["sample", str(ckpt), "--out", str(tmp_path / "s.txt")]) == 2
    assert main(["sample", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "a.npy")]) == 2
    not_ckpt = tmp_path / "junk.pt"
    not_ckpt.write_bytes(b"not a checkpoint")
    assert main(["sample", str(not_ckpt), "--out", str(tmp_path / "b.npy")]) == 2
    err = capsys.readouterr().err
    assert "exists" in err and ".npy or .png" in err and "does not exist" in err


def test_train_then_audit_from_the_command_line(tmp_path, ckpt, capsys):
    out = tmp_path / "audit.json"
    rc = main(["audit", str(ckpt), "--n", "64", "--json", str(out), "--no-progress"])
    assert rc in (0, 1)  # 1 only if a bound is violated, which the report then names
    report = json.loads(out.read_text())
    assert len(report["transitions"]) == 49 and report["transitions"][0]["t"] == 2
    for key in ("prior", "decoder", "total"):
        assert {"nats", "bits_per_dim", "stderr"} <= set(report[key])
    table = capsys.readouterr().out
    assert "total" in table.lower()


def test_a_chain_that_does_not_reach_noise_is_named(tmp_path, capsys):
    assert main(["train", "--steps", "2", "--T", "100", "--no-progress",
                 "--out", str(tmp_path / "a.pt")]) == 0
    assert "does not reach noise" in capsys.readouterr().err
    assert main(["train", "--steps", "2", "--T", "100", "--scale-to-T", "--no-progress",
                 "--out", str(tmp_path / "b.pt")]) == 0
    assert "does not reach noise" not in capsys.readouterr().err
    from ddpm_theory.backend.checkpoint import load_checkpoint

    # scaled as in Ho et al. 2020: beta_T = 0.02 * 1000 / T
    betas = load_checkpoint(tmp_path / "b.pt").diffusion.schedule.betas
    assert betas[-1] == pytest.approx(0.2, rel=1e-12)


def test_scale_to_T_is_refused_where_it_means_nothing(tmp_path, capsys):
    assert main(["train", "--steps", "2", "--schedule", "cosine", "--scale-to-T",
                 "--out", str(tmp_path / "c.pt")]) == 2
    assert "--scale-to-T applies to" in capsys.readouterr().err
    assert main(["train", "--steps", "2", "--T", "10", "--scale-to-T",
                 "--out", str(tmp_path / "d.pt")]) == 2
    assert "must lie in (0, 1]" in capsys.readouterr().err


def test_sample_shows_a_progress_bar_over_the_steps(tmp_path, ckpt, capsys):
    assert main(["sample", str(ckpt), "--n", "4", "--out", str(tmp_path / "p.npy")]) == 0
    err = capsys.readouterr().err
    assert "sample" in err and "50/50" in err  # total T = 50 steps, all done
    assert main(["sample", str(ckpt), "--n", "4", "--out", str(tmp_path / "q.npy"),
                 "--no-progress"]) == 0
    assert "50/50" not in capsys.readouterr().err
