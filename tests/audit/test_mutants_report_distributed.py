"""The distributed audit's plumbing, in milliseconds: the shards, the keyed noise, the gather
and the error of a failing rank, with two ranks on two threads of this process talking
through a stand-in for ``torch.distributed`` (tests/audit/test_distributed.py launches
real gloo processes). Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted errors it catches."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest
import torch

from ddpm_theory.audit import distributed as dd
from ddpm_theory.audit.evaluate import ROW_FIELDS, AuditError

GROUP = object()  # an explicit process group


class FakeDist:
    """``world`` ranks on threads: each thread sets ``rank``; collectives meet at a barrier.
    Records the backend and group of every call and the device of every all-reduce."""

    def __init__(self, world: int, backend: str = "gloo", initialized: bool = True) -> None:
        self.world, self.backend, self.initialized = world, backend, initialized
        self.local = threading.local()
        self.barrier = threading.Barrier(world, timeout=20)
        self.slots: list[Any] = [None] * world
        self.calls: list[tuple[str, Any]] = []

    def is_available(self) -> bool:
        return True

    def is_initialized(self) -> bool:
        return self.initialized

    def init_process_group(self, backend: str) -> None:
        self.calls.append(("init", backend))
        self.initialized = True

    def get_rank(self, group: Any = None) -> int:
        self.calls.append(("rank", group))
        return getattr(self.local, "rank", 0)

    def get_world_size(self, group: Any = None) -> int:
        self.calls.append(("world", group))
        return self.world

    def get_backend(self, group: Any = None) -> str:
        self.calls.append(("backend", group))
        return self.backend

    def _meet(self, value: Any) -> list[Any]:
        self.slots[self.local.rank] = value
        self.barrier.wait()
        everything = list(self.slots)
        self.barrier.wait()
        return everything

    def all_gather_object(self, out: list[Any], obj: Any, group: Any = None) -> None:
        self.calls.append(("gather", group))
        out[:] = self._meet(obj)

    def all_reduce(self, tensor: torch.Tensor, group: Any = None) -> None:
        self.calls.append(("reduce", (group, tensor.device.type)))
        tensor.copy_(torch.stack(self._meet(tensor.clone())).sum(0))


class FakeEvaluator:
    """Evaluates rows (i, t) to loss = 10 i + t + ε₀ (and the other fields shifted), and
    keeps the noise it was given; ``fail_from`` rows from this index on raise."""

    def __init__(self, B: int, batch_size: int, fail_from: int | None = None,
                 error: Exception | None = None) -> None:
        self.x0 = torch.zeros(B, 2, dtype=torch.float64)
        self.batch_size, self.n_model_evals = batch_size, 7
        self.fail_from, self.error = fail_from, error
        self.noise: list[torch.Tensor] = []
        self.spans: list[tuple[int, int]] = []

    def run(self, idx: torch.Tensor, t: torch.Tensor, noise: Any) -> dict[str, np.ndarray]:
        n = int(idx.shape[0])
        eps = noise(0, n)
        self.noise.append(eps)
        self.n_model_evals += n
        if self.fail_from is not None and n and int(idx.max()) >= self.fail_from:
            assert self.error is not None
            raise self.error
        base = (10.0 * idx + t).double().numpy() + eps[:, 0].numpy()
        return {k: base + j for j, k in enumerate(ROW_FIELDS)}


def _rows(B: int, per_example: int) -> dict[str, torch.Tensor]:
    idx = torch.arange(B).repeat_interleave(per_example)
    return {"idx": idx, "t": (torch.arange(B * per_example) % per_example) + 2}


def _base(seed: int) -> int:
    """The seed of the keyed noise: one draw in [0, 2^62) from the shared generator."""
    return int(torch.randint(0, 2**62, (1,), generator=torch.Generator().manual_seed(seed)))


def _on_threads(fake: FakeDist, work: Any) -> list[Any]:
    out: list[Any] = [None] * fake.world

    def go(rank: int) -> None:
        fake.local.rank = rank
        try:
            out[rank] = work(rank)
        except Exception as exc:  # noqa: BLE001 - returned to the test to inspect
            out[rank] = exc

    threads = [threading.Thread(target=go, args=(r,)) for r in range(fake.world)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    return out


def _expected(B: int, S: int, seed: int) -> dict[str, np.ndarray]:
    eps = dd.keyed_noise(_base(seed), S, (2,), None)(0, B * S)
    rows = _rows(B, S)
    base = (10.0 * rows["idx"] + rows["t"]).double().numpy() + eps[:, 0].numpy()
    return {k: base + j for j, k in enumerate(ROW_FIELDS)}


@pytest.mark.parametrize("world", [1, 2, 3])
def test_ranks_gather_every_row_once(monkeypatch, world: int) -> None:
    """Planted: a rank's rows cut from the wrong place (``lo + s`` -> ``lo - s``, a shard
    boundary moved), a field written into another's row, the count of model evaluations
    of the other ranks lost or doubled, the all-reduce or the gather skipped or given
    another group, the chunk size not min(batch_size, ⌈rows/32⌉), the noise seed not a
    draw in [0, 2^62) from the shared generator, the noise of example i not keyed by i."""
    B, S = 10, 7  # 70 rows: chunks of ⌈70/32⌉ = 3 rows (batch_size 50 is larger)
    fake = FakeDist(world)
    monkeypatch.setattr(dd, "_dist", lambda: fake)
    evs = [FakeEvaluator(B, 50) for _ in range(world)]
    out = _on_threads(fake, lambda r: dd.run_distributed(
        evs[r], _rows(B, S), None, (2,), torch.Generator().manual_seed(11), GROUP))
    want = _expected(B, S, 11)
    for r in range(world):
        assert not isinstance(out[r], Exception), out[r]
        assert list(out[r]) == list(ROW_FIELDS)
        for k in ROW_FIELDS:
            np.testing.assert_array_equal(out[r][k], want[k])
        assert evs[r].batch_size == 3 and evs[r].n_model_evals == 7 + B * S
    chunks = -(-B * S // 3)  # 24 chunks of 3 rows, shared out as 24 r / world
    sizes = [min(3 * (chunks * (r + 1) // world), B * S) - min(3 * (chunks * r // world), B * S)
             for r in range(world)]
    assert [int(torch.cat(ev.noise).shape[0]) for ev in evs] == sizes
    if world > 1:
        groups = {g for name, g in fake.calls if name in ("rank", "world", "gather", "backend")}
        assert groups == {GROUP}
        assert [x for name, x in fake.calls if name == "reduce"] == [(GROUP, "cpu")] * world


def test_small_batches_and_quadrature_nodes(monkeypatch) -> None:
    """Planted: the chunk size not capped by ``batch_size`` or not at least 1, the
    quadrature nodes not cycled per row (``% table.shape[0]``) or cut at the wrong start."""
    fake = FakeDist(2)
    monkeypatch.setattr(dd, "_dist", lambda: fake)
    B, S = 3, 4
    nodes = np.arange(8.0).reshape(4, 2)  # 4 nodes per (example, slot)
    evs = [FakeEvaluator(B, 2) for _ in range(2)]
    out = _on_threads(fake, lambda r: dd.run_distributed(
        evs[r], _rows(B, S), nodes, (2,), torch.Generator().manual_seed(1), GROUP))
    assert evs[0].batch_size == 1  # ⌈12/32⌉ = 1 < 2
    got = torch.cat(evs[0].noise + evs[1].noise)
    np.testing.assert_array_equal(got.numpy(), np.tile(nodes, (3, 1)))
    rows = _rows(B, S)
    np.testing.assert_array_equal(out[1]["loss"], (10.0 * rows["idx"] + rows["t"]).numpy()
                                  + np.tile(nodes[:, 0], 3))


@pytest.mark.parametrize(("error", "shown"), [
    (AuditError("the model returned NaN or Inf"), "the model returned NaN or Inf"),
    (RuntimeError("out of memory"), "RuntimeError: out of memory")])
def test_a_failing_rank_fails_every_rank(monkeypatch, error: Exception, shown: str) -> None:
    """Planted: the error of a rank not shared (``all_gather_object`` skipped), the failing
    rank misnamed (its index or the world size), the error's type not named for an error
    that is not an AuditError (or named for one), the first error not raised."""
    fake = FakeDist(3)
    monkeypatch.setattr(dd, "_dist", lambda: fake)
    B, S = 6, 16  # 96 rows, 3 a chunk: ranks 1 and 2 evaluate examples 2-5, rank 0 not
    evs = [FakeEvaluator(B, 50, fail_from=2, error=error) for _ in range(3)]
    out = _on_threads(fake, lambda r: dd.run_distributed(
        evs[r], _rows(B, S), None, (2,), torch.Generator().manual_seed(0), GROUP))
    for r in range(3):
        assert isinstance(out[r], AuditError)
        assert str(out[r]) == f"the audit failed on rank 1 of 3: {shown}"
    monkeypatch.setattr(dd, "_dist", lambda: FakeDist(1))
    lonely = FakeEvaluator(B, 50, fail_from=0, error=error)
    with pytest.raises(AuditError, match=rf"^the audit failed on rank 0 of 1: {shown}$"):
        dd.run_distributed(lonely, _rows(B, S), None, (2,), torch.Generator(), True)


def test_keyed_noise_is_the_draw_of_each_example() -> None:
    """Planted: the seed of example i not (base, i) (a SeedSequence of other words, or of
    another width), a block of another shape, a row taken from the wrong example or offset."""
    draw = dd.keyed_noise(2024, 3, (2,), None)
    got = draw(2, 5)  # rows 2..6: example 0 row 2, example 1 rows 0-2, example 2 row 0

    def block(i: int) -> torch.Tensor:
        seed = int(np.random.SeedSequence([2024, i]).generate_state(1, np.uint64)[0])
        return torch.randn((3, 2), generator=torch.Generator().manual_seed(seed),
                           dtype=torch.float64)

    want = torch.cat([block(0)[2:], block(1), block(2)[:1]])
    assert got.dtype == torch.float64 and torch.equal(got, want)


def test_keyed_noise_keeps_the_last_five_blocks(monkeypatch) -> None:
    """Planted: the cache of an example's block not used (a block drawn again), or kept
    to another size (``len(cache) > 4`` changed), or the oldest block not the one dropped."""
    calls: list[tuple[int, ...]] = []
    real = torch.randn

    def counting(*args: Any, **kwargs: Any) -> torch.Tensor:
        calls.append(tuple(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "randn", counting)
    draw = dd.keyed_noise(7, 2, (1,), None)
    first = draw(0, 10)  # examples 0-4
    assert len(calls) == 5 and calls[0] == (2, 1)
    assert torch.equal(draw(0, 10), first) and len(calls) == 5  # all five kept
    draw(10, 2)  # example 5: example 0 is dropped
    assert len(calls) == 6
    draw(2, 8)  # examples 1-4 are still kept
    assert len(calls) == 6
    assert torch.equal(draw(0, 2), first[:2]) and len(calls) == 7


def test_worker_device(monkeypatch) -> None:
    """Planted: LOCAL_RANK ignored or used for an indexed or non-CUDA device."""
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert dd.worker_device("cuda") == torch.device("cuda")
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert dd.worker_device("cuda") == torch.device("cuda", 3)
    assert dd.worker_device(torch.device("cuda")) == torch.device("cuda", 3)
    assert dd.worker_device("cuda:1") == torch.device("cuda", 1)
    assert dd.worker_device("cpu") == torch.device("cpu")
    assert dd.worker_device(torch.device("cpu")) == torch.device("cpu")


def test_resolve_group(monkeypatch) -> None:
    """Planted: a group joined without torchrun's WORLD_SIZE (or not joined with it), the
    backend not gloo on the CPU and NCCL on CUDA, the CUDA device not selected first, the
    rank and size of an explicit group asked of the default group."""
    fake = FakeDist(4, initialized=False)
    fake.local.rank = 2
    monkeypatch.setattr(dd, "_dist", lambda: fake)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert dd.resolve_group(True, torch.device("cpu")) == (None, 0, 1)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert dd.resolve_group(True, torch.device("cpu")) == (None, 0, 1) and fake.calls == []
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert dd.resolve_group(True, torch.device("cpu")) == (None, 2, 4)
    assert fake.calls == [("init", "gloo"), ("rank", None), ("world", None)]
    fake.calls.clear()
    assert dd.resolve_group(True, torch.device("cpu")) == (None, 2, 4)  # already joined
    assert fake.calls == [("rank", None), ("world", None)]
    selected: list[torch.device] = []
    monkeypatch.setattr(torch.cuda, "set_device", selected.append)
    fake.initialized, fake.calls = False, []
    assert dd.resolve_group(True, torch.device("cuda", 1)) == (None, 2, 4)
    assert selected == [torch.device("cuda", 1)] and fake.calls[0] == ("init", "nccl")
    fake.calls.clear()
    assert dd.resolve_group(GROUP, torch.device("cpu")) == (GROUP, 2, 4)
    assert fake.calls == [("rank", GROUP), ("world", GROUP)]


def test_a_torch_without_distributed_is_refused(monkeypatch) -> None:
    """Planted: the missing torch.distributed not detected, or the message dropped."""
    import torch.distributed

    assert dd._dist() is torch.distributed
    monkeypatch.setattr(torch.distributed, "is_available", lambda: False)
    with pytest.raises(AuditError, match=r"^this torch build has no torch\.distributed; audit "
                                         r"with distributed=False\.$"):
        dd._dist()


@pytest.mark.parametrize(("backend", "device"), [("nccl", "meta"), ("gloo", "cpu")])
def test_nccl_reduces_on_the_model_device(monkeypatch, backend: str, device: str) -> None:
    """Planted: the rows all-reduced on the CPU under NCCL (which reduces GPU tensors only),
    or on the model's device under gloo. The examples sit on PyTorch's data-less 'meta'
    device, standing in for a GPU: under NCCL the reduced tensor must be moved there (the
    copy back then fails, 'meta' holding no data); under gloo it stays on the CPU."""
    fake = FakeDist(2, backend=backend)
    monkeypatch.setattr(dd, "_dist", lambda: fake)
    evs = [FakeEvaluator(2, 50) for _ in range(2)]
    for ev in evs:
        ev.x0 = torch.zeros(2, 2, device="meta")
    out = _on_threads(fake, lambda r: dd.run_distributed(
        evs[r], _rows(2, 3), None, (2,), torch.Generator().manual_seed(0), GROUP))
    assert [x for name, x in fake.calls if name == "reduce"] == [(GROUP, device)] * 2
    if backend == "nccl":
        assert all(isinstance(x, NotImplementedError) for x in out), out
    else:
        np.testing.assert_array_equal(out[0]["loss"], _expected(2, 3, 0)["loss"])


def test_torchrun_workers_join_and_a_single_example_is_keyed(monkeypatch) -> None:
    """Planted: the device of the examples not passed to the group's setup (torchrun's
    workers join with ``distributed=True``), the rows per example not rows / B for B = 1
    (the guard ``max(B, 1)`` changed)."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    fake = FakeDist(2, initialized=False)
    monkeypatch.setattr(dd, "_dist", lambda: fake)
    evs = [FakeEvaluator(1, 50) for _ in range(2)]
    out = _on_threads(fake, lambda r: dd.run_distributed(
        evs[r], _rows(1, 6), None, (2,), torch.Generator().manual_seed(4), True))
    assert ("init", "gloo") in fake.calls  # (the stand-in is one group for both threads)
    for r in range(2):
        assert not isinstance(out[r], Exception), out[r]
        np.testing.assert_array_equal(out[r]["mse"], _expected(1, 6, 4)["mse"])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_cuda_generator_seeds_the_keyed_noise(monkeypatch) -> None:
    """Planted: the seed drawn on the CPU from a CUDA generator (``device=generator.device``
    dropped: torch refuses a generator of another device)."""
    monkeypatch.setattr(dd, "_dist", lambda: FakeDist(1))
    ev = FakeEvaluator(2, 50)
    dd.run_distributed(ev, _rows(2, 3), None, (2,),
                       torch.Generator("cuda").manual_seed(3), GROUP)
    seed = torch.Generator("cuda").manual_seed(3)
    base = int(torch.randint(0, 2**62, (1,), generator=seed, device="cuda"))
    assert torch.equal(torch.cat(ev.noise), dd.keyed_noise(base, 3, (2,), None)(0, 6))
