"""``ddpm-theory audit ... --nproc N``: the audit split over N local processes.

The command re-runs itself under ``torch.distributed.run`` (one node, rendezvous
on 127.0.0.1, gloo on the CPU, NCCL on CUDA) with ``--distributed`` in place of
``--nproc``; each worker joins the process group and
:func:`ddpm_theory.elbo_terms` splits the rows (:mod:`ddpm_theory.audit.distributed`).
Rank 0 prints the table and writes ``--json``/``--plot``, only after every rank
has succeeded. The exit status is rank 0's (0, 1 for a violated bound, 2 for bad
input or a failed rank), which the worker hands back through a status file.
Several machines: run ``torchrun`` with its rendezvous flags and ``--distributed``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

_STATUS = "DDPM_THEORY_AUDIT_STATUS"
_ARGV = "DDPM_THEORY_AUDIT_ARGV"


def is_main_rank() -> bool:
    """Rank 0 of a torchrun launch, or a process outside one."""
    return int(os.environ.get("RANK", "0")) == 0


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--nproc", type=int, default=1, metavar="N",
                   help="split the audit over N local processes (torch.distributed.run: gloo on "
                        "CPU, NCCL on CUDA); the record equals the 1-process --distributed one")
    p.add_argument("--distributed", action="store_true",
                   help="join the process group of a torchrun launch (several machines: "
                        "torchrun --nnodes M --nproc-per-node N --rdzv-endpoint HOST:PORT "
                        "-m ddpm_theory audit ... --distributed)")
    p.set_defaults(_parser=p)


def _argv(args: argparse.Namespace) -> list[str]:
    """The command line of ``args`` (every option the parser knows), without --nproc."""
    out: list[str] = []
    for a in args._parser._actions:
        if not a.option_strings:
            if a.dest != "help" and getattr(args, a.dest, None) is not None:
                out.append(str(getattr(args, a.dest)))
            continue
        if a.dest in ("help", "nproc", "distributed", "no_progress"):
            continue
        v = getattr(args, a.dest, a.default)
        if v == a.default:
            continue
        flag = a.option_strings[-1]
        out += [flag] if isinstance(a, argparse._StoreTrueAction) else [flag, str(v)]
    return out


def launch_local(args: argparse.Namespace) -> int:
    """Run the audit on ``args.nproc`` local workers; rank 0's exit status."""
    if "cuda" in str(args.device):
        import torch

        have = torch.cuda.device_count()
        if args.nproc > have:
            print(f"error: --nproc {args.nproc} with --device {args.device} needs one GPU per "
                  f"process; this machine has {have}", file=sys.stderr)
            return 2
    with tempfile.TemporaryDirectory(prefix="ddpm-theory-audit-") as tmp:
        status = Path(tmp) / "status"
        # the worker's arguments travel in the environment: torch.distributed.run would
        # read abbreviations of its own options (--n as --nnodes) in a command line
        worker_argv = [*_argv(args), "--distributed", "--no-progress"]
        env = {**os.environ, _STATUS: str(status), _ARGV: json.dumps(worker_argv)}
        env.setdefault("OMP_NUM_THREADS", "1")
        if "cuda" not in str(args.device):
            env.setdefault("GLOO_SOCKET_IFNAME", "lo")
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc-per-node", str(args.nproc), "--rdzv-backend", "c10d",
               "--rdzv-endpoint", "127.0.0.1:0", "-m", "ddpm_theory.cli._launch"]
        proc = subprocess.run(cmd, env=env, stderr=subprocess.PIPE, text=True)
        code = int(status.read_text()) if status.is_file() else None
    said = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    for ln in dict.fromkeys(said):
        print(ln, file=sys.stderr)
    if code is None:
        tail = "\n".join(proc.stderr.splitlines()[-30:])
        print(f"error: the distributed audit failed (torch.distributed.run exit "
              f"{proc.returncode}); nothing was written. Its last output:\n{tail}",
              file=sys.stderr)
        return 2
    return code


def _worker() -> None:
    """Entry point of one worker: the audit command, its status handed back by rank 0."""
    from . import main

    code = main(["audit", *json.loads(os.environ[_ARGV])])
    path = os.environ.get(_STATUS)
    if path and is_main_rank():
        Path(path).write_text(str(code))
    try:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
    except ImportError:  # pragma: no cover
        pass
    # 0/1/2 are answers, handed back through the status file; only a crash is a failure
    raise SystemExit(0 if path else code)


if __name__ == "__main__":
    _worker()
