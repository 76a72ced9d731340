"""How many tests does the README's test command run, and how long does it take?

Runs ``python -m pytest`` (the README's test command after its install step; tests marked
``slow`` are excluded by the project's defaults) in a fresh process under ``CI=true``, and
prints the collected count, pytest's own summary line and the wall time. The count is the
figure the README quotes (tests/test_readme.py compares the two).

    python benchmarks/bench_tests.py
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    env = dict(os.environ, CI="true", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                       cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    summary = [x for x in r.stdout.splitlines() if re.search(r"\d+ (passed|failed)", x)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    print(f"pytest summary: {summary[-1].strip('= ') if summary else '(none)'}")
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)",
                                                summary[-1] if summary else "")}
    print(f"tests run (passed + failed + skipped): {sum(counts.values())}")
    print(f"wall time, start-up included: {wall:.0f} s")
    print(f"exit status: {r.returncode}")
    if r.returncode != 0:
        print(r.stdout[-3000:])
        raise SystemExit(r.returncode)


if __name__ == "__main__":
    main()
