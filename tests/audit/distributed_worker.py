"""One rank of a distributed audit, launched by ``torch.distributed.run`` from the tests.

Usage: ``distributed_worker.py OUT_DIR CASE``; CASE ``ok`` audits the exact
shrinkage model of N(0, 1) data; ``fail`` plants NaN outputs for the examples that
the last rank evaluates. Each rank writes ``rank{r}.json``: the record's JSON, or
``{"error": message}``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from ddpm_theory.audit import AuditError, elbo_terms
from ddpm_theory.backend import Schedule


def case_inputs(case: str):
    s = Schedule.linear(60, 1e-3, 0.2)
    sab = torch.from_numpy(s.one_minus_alpha_bar ** 0.5)

    def model(x_t, t):
        out = sab[t - 1].reshape(-1, 1).to(x_t) * x_t
        if case == "fail":  # examples with a large first coordinate: NaN (the last ones)
            out = torch.where(x_t[:, :1].abs() > 1e6, torch.nan, out)
        return out

    x0 = torch.randn(12, 2, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    if case == "fail":
        x0[-2:, 0] = 1e9
    return model, x0, s


def audit(case: str, distributed):
    model, x0, s = case_inputs(case)
    return elbo_terms(model, x0, s, variance="beta", decoder="gaussian", batch_size=97,
                      generator=torch.Generator().manual_seed(5), distributed=distributed)


def main() -> None:
    out, case = Path(sys.argv[1]), sys.argv[2]
    import torch.distributed as dist

    try:
        rec = audit(case, True)
        payload = json.loads(rec.to_json())
    except AuditError as exc:
        payload = {"error": str(exc)}
    (out / f"rank{dist.get_rank()}.json").write_text(json.dumps(payload))
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
