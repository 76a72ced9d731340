"""Faults and bad input through the command line: one clear line, the same from every
command, and no file lost or left partial."""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from ddpm_theory.cli import build_parser, main

TINY = ["--data", "mixture_1d", "--T", "20", "--schedule", "cosine", "--batch-size", "32",
        "--device", "cpu", "--no-progress", "--hidden", "16", "--depth", "1"]


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    assert main(["train", *TINY, "--steps", "10", "--save-every", "5", "--out", str(path)]) == 0
    return path


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def _one_error_line(err: str) -> str:
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


# -- bad checkpoints: the same CheckpointError line from train --resume, sample and audit --
def _bad(src, dst, change):
    pay = torch.load(src, weights_only=True)
    change(pay)
    torch.save(pay, dst)
    return dst


BAD = {
    "missing key": (lambda p: p.pop("weights"), "weights: missing"),
    "wrong shape": (lambda p: [d.__setitem__(next(iter(d)), torch.zeros(5)) for d in
                               (p["weights"], p["ema_weights"])], "has shape (5,)"),
    "bad dataset args": (lambda p: p["config"]["dataset"].__setitem__("args", {"k": 1}),
                         "config['dataset']"),
    "bad parameterization": (lambda p: p["config"].__setitem__("parameterization", "score"),
                             "config['parameterization']"),
    "nan betas": (lambda p: p["schedule_betas"].fill_(float("nan")), "schedule_betas"),
    "betas length": (lambda p: p.__setitem__("schedule_betas", p["schedule_betas"][:7]),
                     "holds 7 betas, but config['schedule'] says T = 20"),
    "not a checkpoint": (None, "is not a ddpm_theory checkpoint"),
}


@pytest.mark.parametrize("command", ["sample", "audit", "train"])
@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_checkpoint_is_one_line_exit_2_in_every_command(tmp_path, ckpt, capsys, case,
                                                                command):
    change, message = BAD[case]
    bad = tmp_path / "bad.pt"
    if change is None:
        bad.write_text("not a checkpoint\n")
    else:
        _bad(ckpt, bad, change)
    argv = {"sample": ["sample", str(bad), "--out", str(tmp_path / "s.npy")],
            "audit": ["audit", str(bad), "--n", "8", "--no-progress"],
            "train": ["train", "--resume", str(bad), "--steps", "20", "--device", "cpu",
                      "--no-progress", "--out", str(tmp_path / "r.pt")]}[command]
    assert main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert message in line and str(bad) in line
    assert sorted(_files(tmp_path)) == ["bad.pt"]


# -- interrupted and failing writes -------------------------------------------------------
@pytest.mark.parametrize("force", [False, True])
def test_ctrl_c_during_the_checkpoint_save_loses_nothing(tmp_path, capsys, monkeypatch, force):
    out = tmp_path / "m.pt"
    if force:
        out.write_bytes(b"the previous checkpoint")
    outputs = importlib.import_module("ddpm_theory.outputs")

    def interrupted(fd):  # the checkpoint's bytes are in the file when Ctrl-C comes
        assert os.fstat(fd).st_size > 1000
        raise KeyboardInterrupt

    monkeypatch.setattr(outputs.os, "fsync", interrupted)
    argv = ["train", *TINY, "--steps", "3", "--out", str(out)] + (["--force"] if force else [])
    assert main(argv) == 130
    assert "interrupted" in capsys.readouterr().err
    assert _files(tmp_path) == (["m.pt"] if force else [])
    if force:
        assert out.read_bytes() == b"the previous checkpoint"
    monkeypatch.undo()
    assert main(["train", *TINY, "--steps", "3", "--out", str(out), "--force"]) == 0  # rerun


FSIZE = textwrap.dedent("""
    import resource, sys
    from ddpm_theory.cli import main
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
    sys.exit(main(sys.argv[2:]))
""")


def _limited(limit: int, *argv: str) -> subprocess.CompletedProcess:
    # -B: under the limit, CPython would write truncated .pyc files for the modules this
    # process imports late (its atomic bytecode write does not check for a short write),
    # and every later import of them would fail with "marshal data too short"
    return subprocess.run([sys.executable, "-B", "-c", FSIZE, str(limit), *argv],
                          capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
@pytest.mark.parametrize("what", ["audit --json", "audit --plot", "sample .npy", "train"])
def test_a_write_failing_under_a_file_size_limit_keeps_the_previous_file(tmp_path, ckpt, what):
    """A 2 KiB file-size limit: each output fails part-way (EFBIG). One error line naming
    the path and the cause, exit 1, the previous file (--force) intact, nothing partial."""
    out = tmp_path / {"audit --json": "a.json", "audit --plot": "a.png",
                      "sample .npy": "s.npy", "train": "m.pt"}[what]
    out.write_bytes(b"previous")
    argv = {"audit --json": ["audit", str(ckpt), "--n", "64", "--json", str(out)],
            "audit --plot": ["audit", str(ckpt), "--n", "64", "--plot", str(out)],
            "sample .npy": ["sample", str(ckpt), "--n", "2000", "--out", str(out)],
            "train": ["train", *TINY, "--steps", "3", "--out", str(out)]}[what]
    r = _limited(2048, *argv, "--force",
                 *(["--no-progress"] if what.startswith(("audit", "sample")) else []))
    assert r.returncode == 1, r.stderr
    line = _one_error_line(r.stderr)
    assert str(out) in line and "File too large" in line
    assert out.read_bytes() == b"previous"
    assert _files(tmp_path) == [out.name]


@pytest.mark.parametrize("command", ["audit", "sample", "train", "catalogue", "verify"])
def test_an_output_in_a_missing_folder_is_refused_before_work(tmp_path, ckpt, capsys, command):
    out = tmp_path / "missing" / "x.json"
    argv = {"audit": ["audit", str(ckpt), "--json", str(out)],
            "sample": ["sample", str(ckpt), "--out", str(out.with_suffix(".npy"))],
            "train": ["train", *TINY, "--out", str(out.with_suffix(".pt"))],
            "catalogue": ["catalogue", "--json", str(out)],
            "verify": ["verify", "gaussian-kl", "--json", str(out)]}[command]
    assert main(argv) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "does not exist; create it first" in line
    assert capsys.readouterr().out == ""  # no work was done


# -- training faults ----------------------------------------------------------------------
def test_divergence_is_one_line_naming_lr_and_writes_nothing(tmp_path, capsys, monkeypatch):
    train_module = importlib.import_module("ddpm_theory.backend.train")

    def diverge(*a, **k):
        raise train_module.TrainingDiverged("the training loss (last inf)", 7, 0.5)

    monkeypatch.setattr(train_module, "train", diverge)
    assert main(["train", *TINY, "--steps", "9", "--lr", "0.5",
                 "--out", str(tmp_path / "m.pt")]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "non-finite by step 7" in line and "lower --lr (now 0.5)" in line
    assert _files(tmp_path) == []


def test_resume_from_the_command_line_equals_an_uninterrupted_run(tmp_path, ckpt):
    from ddpm_theory.backend import load_checkpoint

    full, done = tmp_path / "full.pt", tmp_path / "done.pt"
    assert main(["train", *TINY, "--steps", "10", "--out", str(full)]) == 0
    part = tmp_path / "part.pt"
    assert main(["train", *TINY, "--steps", "4", "--out", str(part)]) == 0
    assert main(["train", "--resume", str(part), "--steps", "10", "--device", "cpu",
                 "--no-progress", "--out", str(done)]) == 0
    a, b = load_checkpoint(full, use_ema=False), load_checkpoint(done, use_ema=False)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k
    assert torch.equal(a.loss_history, b.loss_history)


def test_resume_refuses_changed_settings(tmp_path, ckpt, capsys):
    assert main(["train", "--resume", str(ckpt), "--steps", "20", "--lr", "0.01",
                 "--batch-size", "8", "--out", str(tmp_path / "r.pt")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "drop --batch-size, --lr" in line


def test_sample_no_ema_uses_the_raw_weights(tmp_path, ckpt):
    a, b = tmp_path / "ema.npy", tmp_path / "raw.npy"
    assert main(["sample", str(ckpt), "--n", "64", "--out", str(a), "--device", "cpu"]) == 0
    assert main(["sample", str(ckpt), "--n", "64", "--out", str(b), "--no-ema"]) == 0
    x, y = np.load(a), np.load(b)
    assert x.shape == y.shape == (64, 1) and not np.array_equal(x, y)


def test_every_option_shows_its_default():
    """Every option with a value as default says it in --help (catalogue's options have
    none: filters, files and switches)."""
    shown = 0
    for name in ("verify", "train", "sample", "audit", "catalogue"):
        sub = build_parser(only=name)._subparsers._group_actions[0].choices[name]  # type: ignore
        text = " ".join(sub.format_help().split())
        for action in sub._actions:
            d = action.default
            if action.option_strings and d not in (None, False, argparse.SUPPRESS):
                help_text = " ".join(sub.formatter_class(name)._get_help_string(action).split())
                assert "default" in help_text and help_text in text, (name, action.dest)
                shown += 1
    assert shown >= 15  # seed, steps, lr, n, device, ... (17 when written)
