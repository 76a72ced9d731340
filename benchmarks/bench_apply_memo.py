"""What does memoising a lemma's verification save when the registry is verified?

A step that applies a registered lemma (``Apply``, or the ``log-inequality`` lemma of a gap
certificate) needs the lemma verified; without the in-process memo
(:func:`ddpm_theory.symbolic.application.verified`) every such step verifies the lemma
again, and a lemma that applies another lemma repeats that one too.  Each run verifies
every registered derivation once, in a fresh process, sequentially (no ``-j``), with the
memo and with it disabled, interleaved so that both see the same load; it prints the
seconds (median of the runs) and the number of derivation verifications performed.

    python benchmarks/bench_apply_memo.py [NAME ...] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
from ddpm_theory.symbolic import application, engine, registry

if sys.argv[1] == "off":
    class _Forgetful(dict):
        def __setitem__(self, key, value):
            pass
    application._VERIFIED = _Forgetful()
calls = 0
plain = engine.Derivation.verify
def counted(self, *args, **kwargs):
    global calls
    calls += 1
    return plain(self, *args, **kwargs)
engine.Derivation.verify = counted
built = [registry.get(n) for n in (sys.argv[2:] or registry.names())]
t0 = time.perf_counter()
statuses = [d.verify().status.value for d in built]
print(json.dumps({"seconds": time.perf_counter() - t0, "verifications": calls,
                  "derivations": len(built), "statuses": statuses}))
"""


def _run(mode: str, names: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, *names], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="derivations to verify (default: all)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each mode (default 3)")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"on": [], "off": []}
    for _ in range(args.runs):
        for mode in ("on", "off"):
            results[mode].append(_run(mode, args.names))
    if results["on"][0]["statuses"] != results["off"][0]["statuses"]:
        raise SystemExit("the verdicts differ with and without the memo")
    on = statistics.median(r["seconds"] for r in results["on"])
    off = statistics.median(r["seconds"] for r in results["off"])
    n = results["on"][0]["derivations"]
    print(f"{n} registered derivation(s) verified sequentially, median of {args.runs} runs")
    print(f"{'':12}{'seconds':>10}{'verifications':>16}")
    for label, mode, secs in (("memo", "on", on), ("no memo", "off", off)):
        print(f"{label:12}{secs:10.2f}{results[mode][0]['verifications']:16d}")
    print(f"saving: {off - on:.2f} s ({(off - on) / off:.0%}); same verdicts: yes")


if __name__ == "__main__":
    main()
