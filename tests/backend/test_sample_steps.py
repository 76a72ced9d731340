"""sample(..., steps=K): the K-step respaced sub-chain, the model queried at the kept τ."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from ddpm_theory.backend import Schedule, train
from ddpm_theory.backend.sample import sample
from ddpm_theory.cli import main


@pytest.fixture(scope="module")
def ckpt_path(tmp_path_factory):
    p = tmp_path_factory.mktemp("s") / "m.pt"
    train("mixture_1d", 5, schedule=Schedule.cosine(40), batch_size=16, device="cpu",
          model_args={"hidden": 8, "depth": 1}, progress=False, out=p)
    return p


class Spy(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x, t):
        self.seen.append(sorted(set(t.tolist())))
        return self.inner(x, t)


def _spied(path):
    from ddpm_theory.backend import load_checkpoint

    ck = load_checkpoint(path)
    spy = Spy(ck.model)
    return dataclasses.replace(ck, model=spy), spy


def test_all_steps_is_the_plain_sampler(ckpt_path):
    a = sample(_spied(ckpt_path)[0], 16, seed=3)
    b = sample(_spied(ckpt_path)[0], 16, seed=3, steps=40)
    assert torch.equal(a, b)


def test_k_steps_query_the_kept_timesteps(ckpt_path):
    ck, spy = _spied(ckpt_path)
    tau = ck.schedule.respace(5).timesteps
    x = sample(ck, 16, seed=3, steps=5)
    assert [s[0] for s in spy.seen] == list(tau[::-1]) and tau[-1] == 40
    assert x.shape == (16, 1) and bool(torch.isfinite(x).all())
    assert not torch.equal(x, sample(_spied(ckpt_path)[0], 16, seed=3))


def test_cli_steps(ckpt_path, tmp_path, capsys):
    out = tmp_path / "s.npy"
    assert main(["sample", str(ckpt_path), "--n", "8", "--steps", "4", "--out", str(out)]) == 0
    assert np.load(out).shape == (8, 1)
    assert main(["sample", str(ckpt_path), "--steps", "0", "--out", str(tmp_path / "a.npy")]) == 2
    assert "--steps must be an integer >= 1; got 0" in capsys.readouterr().err
    assert main(["sample", str(ckpt_path), "--steps", "41", "--out", str(tmp_path / "b.npy")]) == 2
    assert "--steps must be at most the checkpoint's T = 40; got 41" in capsys.readouterr().err
