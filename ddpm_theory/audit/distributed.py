"""Run an audit's plan over a ``torch.distributed`` process group.

This is not a second audit: :func:`~ddpm_theory.audit.elbo_terms` builds the same
plan on every rank (the examples, the timesteps and any importance proposal are
drawn from the same seeded generator), and only the evaluation of the rows
(:class:`~ddpm_theory.audit.evaluate.RowEvaluator`) is split:

* **sharding**: the rows (example i, slot s, draw m) are cut into chunks on one
  global grid, of min(``batch_size``, ⌈rows / U⌉) rows, U = :data:`SHARD_UNITS`; each rank
  evaluates a contiguous run of whole chunks, so examples and, when there are few
  examples, the timesteps of one example are split; every model call holds the
  same rows on any number of ranks;
* **pilot**: an importance proposal's pilot (a few dozen examples on a grid of t) is
  run whole on every rank, from the shared generator, so every rank has the same plan;
* **noise**: the ε of example i comes from a generator seeded by (seed, i)
  (:func:`keyed_noise`), so it does not depend on which rank draws it;
* **gather**: each rank fills its rows of every per-row float64 quantity into a
  zero array and the arrays are all-reduced (a sum with one non-zero addend per
  entry, which is exact), after which every rank summarises the same rows.

So the record equals the single-process ``distributed=True`` record bit for bit
(``seconds`` aside) on deterministic kernels; the non-distributed audit draws its
noise from one sequential stream instead and agrees in distribution only. A rank
that fails sends its error to all ranks, which all raise it; nothing is returned.

Launch: ``ddpm-theory audit CKPT --nproc N`` (local), or ``torchrun`` with its
rendezvous flags for several machines (docs: the audit tutorial). Backends: gloo
on the CPU, NCCL on CUDA.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

from .evaluate import ROW_FIELDS, AuditError, RowEvaluator

__all__ = ["resolve_group", "keyed_noise", "shard", "run_distributed", "worker_device",
           "SHARD_UNITS"]

NoiseFn = Callable[[int, int], Tensor]

#: the row grid has at least this many chunks (when rows allow), so that up to this many
#: ranks all get work; it does not depend on the number of ranks (a larger group should
#: pass a ``batch_size`` of at most rows/ranks)
SHARD_UNITS = 32


def _dist() -> Any:
    import torch.distributed as dist

    if not dist.is_available():
        raise AuditError("this torch build has no torch.distributed; audit with "
                         "distributed=False.")
    return dist


def worker_device(device: str | torch.device) -> torch.device:
    """``cuda`` without an index means ``cuda:LOCAL_RANK`` inside a torchrun worker."""
    dev = torch.device(device) if not isinstance(device, torch.device) else device
    if dev.type == "cuda" and dev.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return dev


def resolve_group(distributed: Any, device: torch.device) -> tuple[Any, int, int]:
    """(group, rank, world size) for ``distributed=True`` (the default group; joined
    from torchrun's environment if not yet initialised, else a group of one) or an
    explicit process group."""
    dist = _dist()
    if distributed is True:
        if not dist.is_initialized():
            if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
                return None, 0, 1
            backend = "nccl" if device.type == "cuda" else "gloo"
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group(backend=backend)
        return None, dist.get_rank(), dist.get_world_size()
    return distributed, dist.get_rank(distributed), dist.get_world_size(distributed)


def _example_seed(base: int, i: int) -> int:
    return int(np.random.SeedSequence([base, i]).generate_state(1, np.uint64)[0])


def keyed_noise(base: int, rows_per_example: int, event: Sequence[int],
                nodes: np.ndarray | None) -> NoiseFn:
    """``noise(start, n)`` for global rows start..start+n−1: example i = row //
    ``rows_per_example`` draws its ``(rows_per_example, *event)`` block from a
    generator seeded by (``base``, i); quadrature nodes are fixed per row."""
    if nodes is not None:
        table = torch.from_numpy(nodes).reshape(-1, *event)
        return lambda start, n: table[torch.arange(start, start + n) % table.shape[0]]
    S = int(rows_per_example)
    cache: dict[int, Tensor] = {}

    def block(i: int) -> Tensor:
        if i not in cache:
            if len(cache) > 4:
                cache.pop(next(iter(cache)))
            g = torch.Generator().manual_seed(_example_seed(base, i))
            cache[i] = torch.randn((S, *event), generator=g, dtype=torch.float64)
        return cache[i]

    def draw(start: int, n: int) -> Tensor:
        parts, r = [], start
        while r < start + n:
            i, off = divmod(r, S)
            take = min(S - off, start + n - r)
            parts.append(block(i)[off:off + take])
            r += take
        return torch.cat(parts)
    return draw


def shard(n_rows: int, batch_size: int, rank: int, world: int) -> tuple[int, int]:
    """Rows [lo, hi) of ``rank``: whole chunks of one global grid of ``batch_size``."""
    chunks = -(-n_rows // batch_size)
    lo, hi = chunks * rank // world, chunks * (rank + 1) // world
    return min(lo * batch_size, n_rows), min(hi * batch_size, n_rows)


def _raise_first(errors: Sequence[str | None], world: int) -> None:
    for k, err in enumerate(errors):
        if err is not None:
            raise AuditError(f"the audit failed on rank {k} of {world}: {err}")


def run_distributed(ev: RowEvaluator, rows: dict[str, Tensor], nodes: np.ndarray | None,
                    event: Sequence[int], generator: torch.Generator,
                    distributed: Any) -> dict[str, np.ndarray]:
    """Evaluate ``rows`` over the process group (module docstring); every rank
    returns all rows' values and ``ev.n_model_evals`` counts every rank's calls."""
    group, rank, world = resolve_group(distributed, ev.x0.device)
    base = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device))
    R = int(rows["idx"].shape[0])
    per_example = R // max(int(ev.x0.shape[0]), 1)
    noise = keyed_noise(base, per_example, event, nodes)
    ev.batch_size = min(ev.batch_size, max(1, -(-R // SHARD_UNITS)))
    lo, hi = shard(R, ev.batch_size, rank, world)
    before = ev.n_model_evals
    err: str | None = None
    local: dict[str, np.ndarray] = {}
    try:
        local = ev.run(rows["idx"][lo:hi], rows["t"][lo:hi], lambda s, n: noise(lo + s, n))
    except Exception as exc:  # noqa: BLE001 - any failure of a rank fails the whole audit
        err = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AuditError) else str(exc)
    if world == 1:
        _raise_first([err], 1)
        return local
    dist = _dist()
    errors: list[str | None] = [None] * world
    dist.all_gather_object(errors, err, group=group)
    _raise_first(errors, world)
    dev = ev.x0.device if dist.get_backend(group) == "nccl" else torch.device("cpu")
    full = torch.zeros(len(ROW_FIELDS) + 1, R, dtype=torch.float64)
    for j, k in enumerate(ROW_FIELDS):
        full[j, lo:hi] = torch.from_numpy(local[k])
    full[-1, 0] = float(ev.n_model_evals - before)
    full = full.to(dev)
    dist.all_reduce(full, group=group)
    full = full.cpu()
    ev.n_model_evals = before + int(full[-1, 0])
    return {k: full[j].numpy().copy() for j, k in enumerate(ROW_FIELDS)}
