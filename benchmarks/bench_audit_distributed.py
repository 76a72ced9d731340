"""The distributed audit: one process against two, and the GPU when present.

Run through ``python benchmarks/bench_audit.py --distributed`` (or directly). A U-Net
(this library's, 8×8 digits, T = 1000, trained for one step: the speed does not
depend on the weights) is audited in full (B·T model evaluations) by

* ``ddpm-theory audit CKPT --distributed`` in one process (a group of one), and
* ``ddpm-theory audit CKPT --nproc 2`` (torch.distributed.run, 2 gloo ranks),

each in a fresh interpreter. Printed: the audit's own seconds (rank 0's, which
include waiting for the other rank and the all-reduce), the wall time with the
launch, the speed-up of each, and whether the two JSON records are equal
(``seconds`` aside). With CUDA: the 1-process audit on ``cuda`` (rows/s beside the
CPU's) and, with two or more GPUs, ``--nproc 2`` on NCCL.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _load() -> str:
    try:
        a, b, c = os.getloadavg()
        return f"load average {a:.2f} {b:.2f} {c:.2f}"
    except OSError:  # pragma: no cover
        return "load average unknown"


def _audit(ckpt: Path, out: Path, n: int, extra: list[str]) -> tuple[float, dict]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ddpm_theory", "audit", str(ckpt), "--n", str(n),
           "--no-progress", "--json", str(out), "--force", "--max-rows", "0", *extra]
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode not in (0, 1):
        raise SystemExit(f"audit failed ({res.returncode}):\n{res.stderr[-2000:]}")
    return wall, json.loads(out.read_text())


def _row(name: str, wall: float, rec: dict, base: tuple[float, dict] | None) -> None:
    secs, evals = rec["meta"]["seconds"], rec["meta"]["n_model_evals"]
    extra = ""
    if base is not None:
        extra = (f"   audit {base[1]['meta']['seconds'] / secs:.2f}x, "
                 f"wall {base[0] / wall:.2f}x")
    print(f"{name:<34}{evals:>9}{secs:>10.2f}{wall:>9.2f}{evals / secs:>11.0f}{extra}")


def _same(a: dict, b: dict) -> bool:
    a, b = json.loads(json.dumps(a)), json.loads(json.dumps(b))
    a["meta"].pop("seconds"), b["meta"].pop("seconds")
    return a == b


def main(n: int = 24) -> None:
    import torch

    from ddpm_theory.backend import Schedule
    from ddpm_theory.backend.train import train

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, CUDA devices: {torch.cuda.device_count()}; {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        ckpt = root / "unet.pt"
        train("digits", 1, schedule=Schedule.linear(1000), batch_size=8, device="cpu",
              progress=False, out=ckpt)
        print(f"\nfull-T audit of a U-Net on digits 8x8, T = 1000, {n} examples "
              f"({n * 1000} model evaluations), one torch thread per process")
        print(f"{'run':<34}{'evals':>9}{'audit s':>10}{'wall s':>9}{'evals/s':>11}")
        one = _audit(ckpt, root / "one.json", n, ["--distributed"])
        _row("CPU, 1 process (--distributed)", *one, None)
        two = _audit(ckpt, root / "two.json", n, ["--nproc", "2"])
        _row("CPU, 2 processes (--nproc 2, gloo)", *two, one)
        print(f"records equal (seconds aside): {_same(one[1], two[1])}; "
              f"target >= 1.7x audit speed-up on 2 cores; {_load()}")
        if not torch.cuda.is_available():
            print("GPU: no CUDA device here; not measured")
            return
        gpu = _audit(ckpt, root / "gpu.json", n, ["--distributed", "--device", "cuda"])
        _row("CUDA, 1 process", *gpu, one)
        print(f"records equal to the CPU one up to float32 kernels: "
              f"{abs(gpu[1]['total']['nats'] - one[1]['total']['nats']):.2e} nats apart")
        if torch.cuda.device_count() >= 2:
            two_gpu = _audit(ckpt, root / "gpu2.json", n, ["--nproc", "2", "--device", "cuda"])
            _row("CUDA, 2 processes (NCCL)", *two_gpu, gpu)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 24)
