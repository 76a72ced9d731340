"""The distributed audit: 2 gloo processes on 127.0.0.1 give the record of 1 process;
a failing rank fails every rank with its error.

Each launch of ``torch.distributed.run`` costs ~10 s here (two interpreters importing
torch): the command-line launches run by default, the Python-level ones (the same
equality, and a failure planted on rank 1 only) are marked ``slow``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ddpm_theory.audit.distributed import keyed_noise, shard

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from distributed_worker import audit  # noqa: E402


def _strip(d: dict) -> dict:
    d = dict(d)
    d["meta"] = {k: v for k, v in d["meta"].items() if k != "seconds"}
    return d


def launch(args: list[str], n: int = 2, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
           "--nproc-per-node", str(n), "--rdzv-backend", "c10d",
           "--rdzv-endpoint", "127.0.0.1:0", *args]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def test_shards_cover_the_rows_once_on_a_common_grid():
    for R, bs, W in [(1000, 97, 2), (10, 97, 3), (970, 97, 4), (5, 2, 7)]:
        spans = [shard(R, bs, r, W) for r in range(W)]
        assert spans[0][0] == 0 and spans[-1][1] == R
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert all(lo % bs == 0 for lo, _ in spans)


def test_keyed_noise_does_not_depend_on_how_rows_are_cut():
    draw = keyed_noise(123, 7, (3,), None)
    whole = draw(0, 70)
    pieces = torch.cat([keyed_noise(123, 7, (3,), None)(a, b - a)
                        for a, b in [(0, 5), (5, 23), (23, 24), (24, 70)]])
    assert torch.equal(whole, pieces)
    assert not torch.equal(whole[:7], whole[7:14])  # examples get different noise
    assert not torch.equal(keyed_noise(124, 7, (3,), None)(0, 7), whole[:7])


def test_one_process_distributed_is_deterministic_and_plausible():
    a, b = audit("ok", True), audit("ok", True)
    assert np.array_equal(a.transitions, b.transitions)
    # the exact model of N(0, 1) data: the total's mean equals -log N(x0; 0, 1) within
    # its error bar (docs/verification.md anchor; z from the record's own threshold)
    ref = audit("ok", False)
    assert a.total is not None and ref.total is not None
    se = float(np.hypot(a.total.stderr, ref.total.stderr))
    assert abs(a.total.nats - ref.total.nats) <= 6.0 * se


@pytest.mark.slow
def test_two_gloo_processes_equal_one(tmp_path):
    res = launch([str(HERE / "distributed_worker.py"), str(tmp_path), "ok"])
    assert res.returncode == 0, res.stderr[-3000:]
    r0 = json.loads((tmp_path / "rank0.json").read_text())
    r1 = json.loads((tmp_path / "rank1.json").read_text())
    one = json.loads(audit("ok", True).to_json())
    assert _strip(r0) == _strip(r1) == _strip(one)


@pytest.mark.slow
def test_a_failing_rank_fails_every_rank(tmp_path):
    res = launch([str(HERE / "distributed_worker.py"), str(tmp_path), "fail"])
    assert res.returncode == 0, res.stderr[-3000:]
    for r in (0, 1):
        d = json.loads((tmp_path / f"rank{r}.json").read_text())
        assert "error" in d and "failed on rank 1 of 2" in d["error"], d
        assert "NaN or Inf" in d["error"]


@pytest.fixture(scope="module")
def small_ckpt(tmp_path_factory):
    from ddpm_theory.backend import Schedule
    from ddpm_theory.backend.train import train

    path = tmp_path_factory.mktemp("dist") / "m.pt"
    train("mixture_2d", 20, schedule=Schedule.linear(40, 1e-3, 0.3), batch_size=64,
          device="cpu", progress=False, out=path)
    return path


def test_cli_two_processes_equal_one(small_ckpt, tmp_path, capsys):
    from ddpm_theory.cli import main

    one, two = tmp_path / "one.json", tmp_path / "two.json"
    base = ["audit", str(small_ckpt), "--n", "24", "--batch-size", "100", "--no-progress"]
    assert main([*base, "--distributed", "--json", str(one)]) in (0, 1)
    assert main([*base, "--nproc", "2", "--json", str(two)]) in (0, 1), capsys.readouterr().err
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert _strip(a) == _strip(b)
    assert a["meta"]["n_model_evals"] == 24 * 40


def test_cli_failing_ranks_write_nothing(small_ckpt, tmp_path, capsys):
    """NaN weights: the checkpoint is refused with the field named (the checkpoint's own
    validation catches it before any model output), in one message, exit status 2, and
    no JSON appears.  A rank that fails after loading is tested at the Python level
    (test_a_failing_rank_fails_every_rank)."""
    from ddpm_theory.cli import main

    payload = torch.load(small_ckpt, weights_only=True)
    for w in payload["ema_weights"].values():
        w.fill_(float("nan"))
    bad = tmp_path / "nan.pt"
    torch.save(payload, bad)
    out = tmp_path / "never.json"
    code = main(["audit", str(bad), "--n", "8", "--nproc", "2", "--json", str(out),
                 "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "ema_weights" in err and "NaN or Inf" in err
    assert err.count("error: ") == 1  # one message, not one per rank
    assert not out.exists()


@pytest.mark.gpu
def test_distributed_audit_on_cuda_matches_cpu():
    """A float64 model: the keyed noise is drawn on the CPU from the same (CPU) generator's
    seed, so CUDA and CPU audits see the same ε and agree to float64 rounding."""
    from distributed_worker import case_inputs

    from ddpm_theory.audit import elbo_terms

    model, x0, s = case_inputs("ok")
    recs = [elbo_terms(model, x0, s, variance="beta", decoder="gaussian", device=dev,
                       generator=torch.Generator().manual_seed(5), distributed=True)
            for dev in ("cpu", "cuda")]
    np.testing.assert_allclose(recs[1].transitions, recs[0].transitions, rtol=1e-12)


@pytest.mark.skipif(torch.cuda.device_count() >= 2, reason="checks the too-few-GPUs message")
def test_cli_nproc_needs_one_gpu_per_process(small_ckpt, capsys):
    from ddpm_theory.cli import main

    assert main(["audit", str(small_ckpt), "--nproc", "2", "--device", "cuda"]) == 2
    assert "one GPU per process" in capsys.readouterr().err
    assert main(["audit", str(small_ckpt), "--nproc", "0"]) == 2
    assert "--nproc must be a positive integer" in capsys.readouterr().err
