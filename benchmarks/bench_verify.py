"""How long does `ddpm-theory verify` take for everything registered?

Prints the per-derivation seconds (in-process, after import) and the wall and CPU time of
the command itself in a fresh process (interpreter start and imports included), median of
three runs.  With ``--baseline REV`` the same command of an earlier revision of the
package (taken from git into a temporary folder) runs interleaved with this one, so the
before/after ratio is measured side by side under the same load.  Target: under 15 s wall
on a 2-core machine.

    python benchmarks/bench_verify.py [--baseline REV] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(pythonpath: Path, jobs: int = 0) -> tuple[float, float]:
    """(wall, CPU) seconds of one `python -m ddpm_theory verify -j JOBS` with this
    package."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "OMP_NUM_THREADS": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ddpm_theory", "verify", "-j", str(jobs)],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"ddpm-theory verify failed for {pythonpath}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _checkout(rev: str, into: Path) -> Path:
    """The package as it was at ``rev``, unpacked from `git archive`."""
    archive = into / "src.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev, "ddpm_theory"],
                       stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into


def _summary(label: str, runs: list[tuple[float, float]]) -> tuple[float, float]:
    wall = statistics.median(w for w, _ in runs)
    cpu = statistics.median(c for _, c in runs)
    print(f"{label:<10} wall median {wall:6.2f} s, CPU median {cpu:6.2f} s "
          f"(walls: {', '.join(f'{w:.2f}' for w, _ in runs)})")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", help="git revision to compare with")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=0,
                        help="worker processes of the command (0: one per core)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.path.insert(0, str(ROOT))
    from ddpm_theory.symbolic import registry

    t0 = time.perf_counter()
    results = registry.verify()
    in_process = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
    print(f"{'derivation':<36}{'steps':>6}{'verdict':>10}{'seconds':>9}")
    for r in sorted(results, key=lambda r: -r.seconds):
        print(f"{r.name:<36}{len(r.steps):>6}{r.status.value:>10}{r.seconds:>9.2f}")
    steps = sum(len(r.steps) for r in results)
    parts = sum(len(r.part_steps) for r in results)
    single = sum(r.single_step_parts for r in results)
    print(f"in-process: {len(results)} derivations, {steps} steps, {in_process:.2f} s; "
          f"{single} of {parts} parts in a single step")

    with tempfile.TemporaryDirectory() as tmp:
        base = _checkout(args.baseline, Path(tmp)) if args.baseline else None
        now_runs, base_runs = [], []
        for _ in range(args.runs):  # interleaved: both see the same load
            now_runs.append(_run(ROOT, args.jobs))
            if base is not None:
                base_runs.append(_run(base, args.jobs))
    workers = f"-j {args.jobs}" if args.jobs else "one worker per core"
    print(f"`ddpm-theory verify` ({workers}), fresh process:")
    wall, cpu = _summary("this", now_runs)
    if base_runs:
        bwall, bcpu = _summary(args.baseline[:10], base_runs)
        print(f"ratio this/baseline: wall {wall / bwall:.2f}, CPU {cpu / bcpu:.2f}")
    print("target: wall < 15 s on 2 cores")


if __name__ == "__main__":
    main()
