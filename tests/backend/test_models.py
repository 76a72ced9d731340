"""Model shapes, the registry, and the promise that any ``model(x_t, t)`` module works."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ddpm_theory.backend import MODELS, GaussianDiffusion, MLPDenoiser, Schedule, UNet, train
from ddpm_theory.backend.checkpoint import CheckpointError, load_checkpoint
from ddpm_theory.backend.models import (
    build_model,
    default_model,
    model_config,
    timestep_embedding,
)


def _t(B: int, T: int = 1000) -> torch.Tensor:
    return torch.randint(1, T + 1, (B,), generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("learned", [False, True])
def test_mlp_shapes(learned: bool) -> None:
    m = MLPDenoiser(2, hidden=16, depth=2, learned_variance=learned)
    out = m(torch.zeros(5, 2), _t(5))
    assert out.shape == (5, 4 if learned else 2)
    with pytest.raises(ValueError, match=r"\(B, 2\)"):
        m(torch.zeros(5, 3), _t(5))


@pytest.mark.parametrize("size, mults", [(8, (1, 2)), (28, (1, 2, 2))])
@pytest.mark.parametrize("learned", [False, True])
def test_unet_shapes(size: int, mults: tuple[int, ...], learned: bool) -> None:
    m = UNet(1, size, base=8, mults=mults, learned_variance=learned)
    out = m(torch.zeros(3, 1, size, size), _t(3))
    assert out.shape == (3, 2 if learned else 1, size, size)
    with pytest.raises(ValueError, match="UNet expects"):
        m(torch.zeros(3, 1, size + 1, size + 1), _t(3))


def test_unet_size_must_divide() -> None:
    with pytest.raises(ValueError, match="divisible"):
        UNet(1, 10, mults=(1, 2, 2))


def test_models_depend_on_t() -> None:
    """The time embedding reaches the output: the same x at two timesteps differs."""
    with torch.random.fork_rng(devices=[]):  # model init draws; global state restored
        torch.manual_seed(0)
        for m, x in ((MLPDenoiser(2, hidden=16), torch.ones(1, 2)),
                     (UNet(1, 8, base=8), torch.ones(1, 1, 8, 8))):
            a, b = m(x, torch.tensor([1])), m(x, torch.tensor([500]))
            assert (a - b).abs().max() > 1e-6


@pytest.mark.parametrize("dim", [6, 7])
def test_timestep_embedding(dim: int) -> None:
    e = timestep_embedding(torch.tensor([0, 1, 999]), dim)
    assert e.shape == (3, dim)
    # at t = 0: cos = 1, sin = 0 (and the zero pad for odd dim)
    half = dim // 2
    assert torch.equal(e[0, :half], torch.ones(half)) and torch.all(e[0, half:] == 0)


def test_registry_and_config() -> None:
    assert set(MODELS) == {"mlp", "unet"}
    m = build_model("unet", channels=1, image_size=8, base=8, mults=[1, 2])
    cfg = model_config(m)
    assert cfg == {"kind": "unet", "args": m.args}
    rebuilt = build_model(cfg["kind"], **cfg["args"])
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in m.parameters()]
    with pytest.raises(ValueError, match="known: mlp, unet"):
        build_model("transformer")
    assert model_config(nn.Linear(2, 2))["kind"] is None


def test_default_model() -> None:
    assert isinstance(default_model((2,), False), MLPDenoiser)
    u = default_model((1, 28, 28), True)
    assert isinstance(u, UNet) and u.args["mults"] == [1, 2, 2] and u.args["learned_variance"]
    with pytest.raises(ValueError, match="no default model"):
        default_model((3, 4, 5), False)


class ScaledInput(nn.Module):
    """Not a registered model: any module with model(x_t, t) must work."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(dim))
        self.b = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x * self.w + self.b + 0 * t[:, None]


def test_any_module_works_with_diffusion_and_train(tmp_path) -> None:
    T = 20
    d = GaussianDiffusion(Schedule.linear(T))
    model = ScaledInput(2)
    pred = d.p_mean_variance(model(torch.ones(4, 2), _t(4, T)), torch.ones(4, 2), _t(4, T))
    assert pred.mean.shape == (4, 2)
    out = tmp_path / "custom.pt"
    ck = train("mixture_2d", 20, model=model, schedule=Schedule.linear(T), batch_size=32,
               lr=1e-2, progress=False, out=out)
    assert ck.config["model"]["kind"] is None
    assert ck.model.w.abs().sum() > 0  # trained
    with pytest.raises(CheckpointError, match="pass it as load_checkpoint"):
        load_checkpoint(out)
    back = load_checkpoint(out, model=ScaledInput(2))
    assert torch.equal(back.model.w, ck.model.w.cpu())
