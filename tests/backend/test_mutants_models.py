"""The default networks (time embedding, MLP, U-Net, registry, default sizes) and the device
choice, pinned by exact recomputations. Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted errors it catches."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from ddpm_theory.backend import device as device_mod
from ddpm_theory.backend.models import (
    MODEL_SIZE_ARGS,
    MODELS,
    MLPDenoiser,
    UNet,
    _ResBlock,
    build_model,
    default_model,
    default_model_kind,
    model_config,
    norm_groups,
    timestep_embedding,
)


def _seeded(make, seed: int = 0):
    with torch.random.fork_rng(devices=[]):  # initialisation only; global state restored
        torch.manual_seed(seed)
        return make()


def _randomise(model: nn.Module, seed: int = 1) -> nn.Module:
    """Every parameter redrawn (GroupNorm's weight 1 and bias 0 would hide a swapped norm)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.3)
    return model


# -- time embedding -----------------------------------------------------------------------
@pytest.mark.parametrize(("dim", "max_period"), [(6, 10000.0), (7, 10000.0), (8, 50.0)])
def test_timestep_embedding_is_the_sinusoid_of_vaswani_2017(dim: int, max_period: float) -> None:
    """Planted: ``half = dim // 2`` -> ``dim / 2`` or ``// 3``; the frequency exponent's
    sign, ``log(max_period)`` or ``/ half`` changed; cos and sin swapped; the odd pad at
    the front or of ones; the default max_period changed. Recomputed in float64 numpy:
    [cos(t w_k), sin(t w_k)] with w_k = max_period^(-k/half), k < half, then a zero."""
    t = np.array([0, 1, 7, 999])
    half = dim // 2
    w = max_period ** (-np.arange(half) / half)
    want = np.concatenate([np.cos(t[:, None] * w), np.sin(t[:, None] * w)], axis=1)
    if dim % 2:
        want = np.concatenate([want, np.zeros((4, 1))], axis=1)
    args = () if max_period == 10000.0 else (max_period,)
    got = timestep_embedding(torch.tensor(t), dim, *args)
    assert got.dtype == torch.float32 and got.shape == (4, dim)
    np.testing.assert_allclose(got.numpy(), want, rtol=0, atol=2e-4)


# -- MLP ----------------------------------------------------------------------------------
def test_mlp_records_its_arguments_and_layer_sizes() -> None:
    """Planted: a constructor argument dropped from or renamed in ``args`` (a checkpoint
    rebuilds the model from it), or a layer of the wrong width/depth."""
    m = MLPDenoiser(3, hidden=5, depth=2, time_dim=4, learned_variance=True)
    assert m.args == {"dim": 3, "hidden": 5, "depth": 2, "time_dim": 4,
                      "learned_variance": True}
    assert (m.dim, m.time_dim) == (3, 4)
    assert [tuple(p.shape) for p in m.parameters()] == [
        (5, 3), (5,), (5, 4), (5,), (5, 5), (5,),
        (5, 5), (5,), (5, 5), (5,), (5, 5), (5,), (5, 5), (5,), (6, 5), (6,)]
    d = MLPDenoiser(2)
    assert d.args == {"dim": 2, "hidden": 128, "depth": 3, "time_dim": 64,
                      "learned_variance": False}
    assert len(d.blocks) == 3


def test_mlp_forward_is_the_residual_network_with_the_embedding_in_every_block() -> None:
    """Planted: ``h + block(h + emb)`` -> ``h - ...`` or ``block(h - emb)`` or without the
    residual; the embedding of another size; the input or output layer skipped.
    Recomputed from the module's own layers."""
    m = _randomise(MLPDenoiser(2, hidden=6, depth=2, time_dim=5))
    x = torch.randn(4, 2, generator=torch.Generator().manual_seed(2))
    t = torch.tensor([1, 3, 10, 50])
    silu = nn.functional.silu
    emb = timestep_embedding(t, 5)
    emb = m.time[2](silu(m.time[0](emb)))
    h = m.inp(x)
    for blk in m.blocks:
        h = h + blk[3](silu(blk[1](silu(h + emb))))
    want = m.out[1](silu(h))
    torch.testing.assert_close(m(x, t), want, rtol=1e-6, atol=1e-6)


def test_mlp_refuses_the_wrong_shape_with_the_shapes_named() -> None:
    """Planted: the ``or`` of the shape check -> ``and`` (a (B, D, 1) input or a wrong
    width then passes), or a message without the expected and given shapes."""
    m = MLPDenoiser(2, hidden=4, depth=1, time_dim=4)
    t = torch.tensor([1, 2, 3])
    with pytest.raises(ValueError, match=r"MLPDenoiser expects x of shape \(B, 2\); "
                                         r"got \(3, 3\)\."):
        m(torch.zeros(3, 3), t)
    with pytest.raises(ValueError, match=r"got \(3, 2, 1\)"):
        m(torch.zeros(3, 2, 1), t)


# -- U-Net --------------------------------------------------------------------------------
def test_resblock_layers_and_forward() -> None:
    """Planted: GroupNorm groups ``min(8, c)`` changed, the 3x3 convolutions' padding or
    size, the 1x1 skip used for equal widths or dropped, the embedding added with a minus
    sign or after the second convolution. Recomputed from the block's own layers."""
    b = _randomise(_ResBlock(4, 12, 5))
    assert (b.norm1.num_groups, b.norm2.num_groups) == (4, 6)
    assert b.conv1.kernel_size == (3, 3) and b.conv1.padding == (1, 1)
    assert b.conv2.kernel_size == (3, 3) and b.conv2.padding == (1, 1)
    assert isinstance(b.skip, nn.Conv2d) and b.skip.kernel_size == (1, 1)
    assert isinstance(_ResBlock(6, 6, 5).skip, nn.Identity)
    g = torch.Generator().manual_seed(3)
    x, emb = torch.randn(2, 4, 4, 4, generator=g), torch.randn(2, 5, generator=g)
    f = nn.functional
    h = f.conv2d(f.silu(f.group_norm(x, 4, b.norm1.weight, b.norm1.bias)), b.conv1.weight,
                 b.conv1.bias, padding=1)
    h = h + (emb @ b.emb.weight.T + b.emb.bias)[:, :, None, None]
    h = f.conv2d(f.silu(f.group_norm(h, 6, b.norm2.weight, b.norm2.bias)), b.conv2.weight,
                 b.conv2.bias, padding=1)
    want = f.conv2d(x, b.skip.weight, b.skip.bias) + h
    torch.testing.assert_close(b(x, emb), want, rtol=1e-5, atol=1e-5)


def test_group_norm_groups_are_the_largest_divisor_up_to_8() -> None:
    """Every width gets a GroupNorm that divides it: a U-Net with base 3 (widths 3, 6 and
    12 in the up path) used to fail inside torch (12 channels in 8 groups). Planted: the
    bound 8 changed, the divisor test inverted."""
    want = {1: 1, 2: 2, 3: 3, 6: 6, 7: 7, 8: 8, 9: 3, 10: 5, 11: 1, 12: 6, 14: 7, 15: 5,
            16: 8, 24: 8, 36: 6, 64: 8}
    assert {c: norm_groups(c) for c in want} == want
    for base in (3, 5, 6, 12):
        u = UNet(1, 8, base=base, mults=(1, 2))
        assert u(torch.zeros(2, 1, 8, 8), torch.tensor([1, 2])).shape == (2, 1, 8, 8)
        assert u.up[0].norm1.num_groups == norm_groups(4 * base)


def test_unet_records_its_arguments_and_levels() -> None:
    """Planted: a constructor argument dropped from ``args``; ``emb_dim = 4 * base``
    changed; the level widths ``base * mults[i]``; the down/upsampling layers (stride 2,
    one fewer than the levels); the output width with a learned variance."""
    u = UNet(2, 12, base=4, mults=(1, 2, 3), learned_variance=True)
    assert u.args == {"channels": 2, "image_size": 12, "base": 4, "mults": [1, 2, 3],
                      "learned_variance": True}
    assert (u.channels, u.image_size, u.time_dim) == (2, 12, 4)
    assert [m.out_features for m in u.time if isinstance(m, nn.Linear)] == [16, 16]
    assert u.time[0].in_features == 4
    assert [(b.conv1.in_channels, b.conv1.out_channels) for b in u.down] == [
        (4, 4), (4, 8), (8, 12)]
    assert [(c.in_channels, c.stride, c.kernel_size, c.padding) for c in u.downsample] == [
        (4, (2, 2), (3, 3), (1, 1)), (8, (2, 2), (3, 3), (1, 1))]
    assert [(c.kernel_size, c.padding) for c in u.upsample] == [((3, 3), (1, 1))] * 2
    assert (u.mid.conv1.in_channels, u.mid.conv1.out_channels) == (12, 12)
    assert [(b.conv1.in_channels, b.conv1.out_channels) for b in u.up] == [
        (24, 12), (16, 8), (8, 4)]
    assert [(c.in_channels, c.out_channels) for c in u.upsample] == [(12, 8), (8, 4)]
    assert u.norm_out.num_groups == 4 and u.conv_out.out_channels == 4
    assert u.conv_in.in_channels == 2 and u.conv_in.out_channels == 4
    d = UNet()
    assert d.args == {"channels": 1, "image_size": 8, "base": 32, "mults": [1, 2],
                      "learned_variance": False}


def test_unet_forward_is_the_u_with_skips() -> None:
    """Planted: a skip connection taken before the block or dropped, downsampling on the
    last level, the nearest-neighbour upsampling of another factor or mode, the output norm
    skipped, the concatenation in the other order. Recomputed from the module's layers."""
    u = _randomise(UNet(1, 8, base=4, mults=(1, 2, 2)))
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(4))
    t = torch.tensor([2, 30])
    f = nn.functional
    emb = u.time[2](f.silu(u.time[0](timestep_embedding(t, 4))))
    h = u.conv_in(x)
    h0 = u.down[0](h, emb)
    h1 = u.down[1](u.downsample[0](h0), emb)
    h2 = u.down[2](u.downsample[1](h1), emb)
    h = u.mid(h2, emb)
    h = u.up[0](torch.cat([h, h2], dim=1), emb)
    h = u.upsample[0](h.repeat_interleave(2, 2).repeat_interleave(2, 3))
    h = u.up[1](torch.cat([h, h1], dim=1), emb)
    h = u.upsample[1](h.repeat_interleave(2, 2).repeat_interleave(2, 3))
    h = u.up[2](torch.cat([h, h0], dim=1), emb)
    want = u.conv_out(f.silu(u.norm_out(h)))
    torch.testing.assert_close(u(x, t), want, rtol=1e-5, atol=1e-5)


def test_models_run_in_float64() -> None:
    """Planted: the time embedding not cast to the input's dtype (a float64 model then
    fails on its float32 embedding)."""
    t = torch.tensor([1, 9])
    m = MLPDenoiser(2, hidden=4, depth=1, time_dim=4).double()
    assert m(torch.zeros(2, 2, dtype=torch.float64), t).dtype == torch.float64
    u = UNet(1, 4, base=4, mults=(1, 2)).double()
    assert u(torch.zeros(2, 1, 4, 4, dtype=torch.float64), t).dtype == torch.float64


def test_unet_refusals_name_the_sizes() -> None:
    """Planted: the divisibility check ``2 ** (len(mults) - 1)`` changed (e.g. ``+ 1``: an
    8x8 U-Net with mults (1, 2) refused), a wrong power in its message, the shape check's
    ``or`` -> ``and`` or its message without the shapes."""
    with pytest.raises(ValueError, match=r"= 8\.$"):  # 2 ** 3, not 2 * 3
        UNet(1, 12, mults=(1, 1, 1, 1))
    UNet(1, 4, base=4, mults=(1, 2, 2))  # 4 divisible by 2^2
    UNet(1, 6, base=4, mults=(1, 2))  # 6 divisible by 2
    with pytest.raises(ValueError, match=r"image_size 6 must be divisible by "
                                         r"2\^\(len\(mults\)-1\) = 4\."):
        UNet(1, 6, mults=(1, 2, 2))
    u = UNet(1, 4, base=4, mults=(1, 2))
    with pytest.raises(ValueError, match=r"UNet expects x of shape \(B, \(1, 4, 4\)\); "
                                         r"got \(2, 1, 4, 5\)\."):
        u(torch.zeros(2, 1, 4, 5), torch.tensor([1, 2]))
    with pytest.raises(ValueError, match=r"got \(1, 4, 4\)"):
        u(torch.zeros(1, 4, 4), torch.tensor([1]))


# -- registry and default sizes -----------------------------------------------------------
def test_build_model_and_its_error() -> None:
    """Planted: the constructor arguments not passed on; the message without the kind or
    the list of known kinds."""
    m = build_model("mlp", dim=3, hidden=7, depth=1)
    assert isinstance(m, MLPDenoiser) and m.args["hidden"] == 7 and m.args["dim"] == 3
    with pytest.raises(ValueError, match=r"^unknown model kind 'gan'; known: mlp, unet\.$"):
        build_model("gan")


def test_model_config_needs_a_registered_class_of_that_kind() -> None:
    """Planted: ``kind in MODELS and isinstance(...)`` -> ``or`` (a foreign module that
    calls itself 'mlp' would be rebuilt as an MLP), the class name without its module."""

    class Impostor(nn.Linear):
        kind = "mlp"
        args = {"dim": 2}

    cfg = model_config(Impostor(2, 2))
    assert cfg == {"kind": None, "class": f"{Impostor.__module__}.{Impostor.__qualname__}"}
    m = MLPDenoiser(2, hidden=4, depth=1, time_dim=4)
    cfg = model_config(m)
    assert cfg == {"kind": "mlp", "args": m.args} and cfg["args"] is not m.args


@pytest.mark.parametrize(("shape", "kind"), [((3,), "mlp"), ((1, 4, 4), "unet"),
                                             ((3, 6, 6), "unet")])
def test_default_model_kind(shape, kind) -> None:
    """Planted: ``len == 1`` or ``len == 3`` changed, or the square check on other axes."""
    assert default_model_kind(shape) == kind


@pytest.mark.parametrize("shape", [(2, 2), (1, 4, 5), (4, 4, 1), (1, 2, 2, 2)])
def test_default_model_kind_refuses_other_shapes(shape) -> None:
    """Planted: the square check on axes (0, 1) or (0, 2) instead of (1, 2); the message."""
    with pytest.raises(ValueError, match=rf"^no default model for data of shape "
                                         rf"{re.escape(str(shape))}; pass model=\.$"):
        default_model_kind(shape)


def test_default_model_sizes_and_the_mults_rule() -> None:
    """Planted: the size arguments not passed on; the learned variance dropped; the default
    mults rule ``(1, 2) if s <= 8 or s % 4 else (1, 2, 2)`` changed (``<``, ``and``,
    ``% 2``, other tuples)."""
    m = default_model((3,), True, hidden=5, depth=1)
    assert isinstance(m, MLPDenoiser)
    assert m.args == {"dim": 3, "hidden": 5, "depth": 1, "time_dim": 64,
                      "learned_variance": True}
    for s, mults in [(8, [1, 2]), (10, [1, 2]), (12, [1, 2, 2]), (4, [1, 2]), (6, [1, 2]),
                     (16, [1, 2, 2])]:
        u = default_model((2, s, s), False, base=4)
        assert isinstance(u, UNet)
        assert u.args == {"channels": 2, "image_size": s, "base": 4, "mults": mults,
                          "learned_variance": False}, s
    u = default_model((1, 8, 8), True, base=4, mults=[1, 1])
    assert u.args["mults"] == [1, 1] and u.args["learned_variance"]


@pytest.mark.parametrize(("shape", "size", "message"), [
    ((2,), {"base": 4}, r"^the default mlp for data of shape \(2,\) takes hidden and depth, "
                        r"not base\.$"),
    ((1, 8, 8), {"hidden": 4, "depth": 1},
     r"^the default unet for data of shape \(1, 8, 8\) takes base and mults, not depth, "
     r"hidden\.$"),
    ((2,), {"hidden": 0}, r"^model size hidden must be positive integers; got 0\.$"),
    ((2,), {"depth": True}, r"^model size depth must be positive integers; got True\.$"),
    ((2,), {"hidden": 2.0}, r"got 2\.0\.$"),
    ((1, 8, 8), {"mults": []}, r"^model size mults must be positive integers; got \[\]\.$"),
    ((1, 8, 8), {"mults": [1, 0]}, r"got \[1, 0\]\.$"),
    ((1, 8, 8), {"base": 0}, r"model size base must be positive"),
])
def test_default_model_refuses_bad_sizes(shape, size, message) -> None:
    """Planted: the unknown-argument check or the size check (bool, non-int, < 1, empty
    mults) weakened; each message's words. One accepted boundary: size 1."""
    with pytest.raises(ValueError, match=message):
        default_model(shape, False, **size)
    assert default_model((2,), False, hidden=1, depth=1).args["hidden"] == 1


def test_registry_tables() -> None:
    """Planted: a kind or size argument renamed in the tables a checkpoint and the CLI read."""
    assert MODELS == {"mlp": MLPDenoiser, "unet": UNet}
    assert MODEL_SIZE_ARGS == {"mlp": ("hidden", "depth"), "unet": ("base", "mults")}


# -- device -------------------------------------------------------------------------------
def test_resolve_device_on_a_cpu_machine(monkeypatch) -> None:
    """Planted: the spelling not normalised (strip/lower), "auto" not recognised, a
    torch.device argument not accepted, an error without its words."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    r = device_mod.resolve_device
    assert r() == torch.device("cpu") and r("auto") == torch.device("cpu")
    assert r(" CPU ") == torch.device("cpu") and r(" Auto") == torch.device("cpu")
    assert r(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match=r"^unknown device 'gpu0'; use 'auto', 'cpu', 'cuda' "
                                         r"or 'cuda:N'\.$"):
        r("gpu0")
    with pytest.raises(ValueError, match=r"^unsupported device 'meta'; use 'auto', 'cpu', "
                                         r"'cuda' or 'cuda:N'\.$"):
        r("meta")
    with pytest.raises(ValueError, match=r"^device 'cuda' was asked for but CUDA is not "
                                         r"available here; use 'cpu' or 'auto'\.$"):
        r("cuda:0")


def test_resolve_device_with_cuda_present(monkeypatch) -> None:
    """With CUDA reported present (two devices): "auto" takes CUDA, "cuda:1" exists and
    "cuda:2" does not (the index check ``>=`` -> ``>`` would accept it). Planted: the
    ``"cuda" if available else "cpu"`` swapped; the index check or its message."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    r = device_mod.resolve_device
    assert r("auto") == torch.device("cuda")
    assert r("CUDA") == torch.device("cuda")
    assert r("cuda:1") == torch.device("cuda", 1)
    assert r(torch.device("cuda", 0)) == torch.device("cuda", 0)
    with pytest.raises(ValueError, match=r"^device 'cuda:2' does not exist: 2 CUDA "
                                         r"device\(s\)\.$"):
        r("cuda:2")


def test_embedding_frequencies_fall_geometrically() -> None:
    """A second check of the frequency law on its own: at t = 1 the sine block is
    sin(w_k) with w_0 = 1 and w_k / w_{k+1} = max_period^(1/half)."""
    e = timestep_embedding(torch.tensor([1]), 8)[0].double().numpy()
    w = np.arcsin(e[4:])
    np.testing.assert_allclose(w, 10000.0 ** (-np.arange(4) / 4), rtol=1e-5)
    assert math.isclose(w[0], 1.0, rel_tol=1e-6)
