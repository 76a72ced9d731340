"""How long does `ddpm-theory verify` take for everything registered?

Prints the per-derivation seconds (in-process, after import) and the wall time of the
command itself in a fresh process (interpreter start and imports included), median of
three runs.  Target: under 20 s on a 2-core machine.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time


def main() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from ddpm_theory.symbolic import registry

    t0 = time.perf_counter()
    results = registry.verify()
    in_process = time.perf_counter() - t0
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"{'derivation':<36}{'steps':>6}{'verdict':>10}{'seconds':>9}")
    for r in sorted(results, key=lambda r: -r.seconds):
        print(f"{r.name:<36}{len(r.steps):>6}{r.status.value:>10}{r.seconds:>9.2f}")
    steps = sum(len(r.steps) for r in results)
    print(f"in-process: {len(results)} derivations, {steps} steps, {in_process:.2f} s")

    walls = []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "ddpm_theory", "verify"],
                              capture_output=True, text=True)
        walls.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            raise SystemExit("ddpm-theory verify failed")
    print(f"`ddpm-theory verify` wall time: median {statistics.median(walls):.2f} s "
          f"(runs: {', '.join(f'{w:.2f}' for w in walls)}); target < 20 s")


if __name__ == "__main__":
    main()
