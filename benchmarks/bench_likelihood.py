"""What does a likelihood cost: the ODE NLL (exact trace and Hutchinson) against the
ELBO at full T and at K = 10, 50, 100 respaced steps, for the 2-D MLP and the 8×8 U-Net.

One run per model, one set of examples. For each model it prints, side by side:
function evaluations of the ODE solver (each one model call on the batch plus D or P
reverse passes), model evaluations, seconds per example, and the estimate ± SE; and the
Hutchinson standard deviation of one probe's estimate. Target: the exact-trace ODE NLL
of 1,000 2-D points in under 30 s on one CPU thread.

    python benchmarks/bench_likelihood.py [--points 1000] [--images 32] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def _row(name: str, evals: int, nfev: int | str, seconds: float, B: int, m: float, se: float,
         D: int) -> None:
    import math

    print(f"  {name:<34}{nfev!s:>6}{evals:>10}{seconds:>9.2f}{1e3 * seconds / B:>10.2f}"
          f"{m:>11.4f}{se:>9.4f}{m / (D * math.log(2)):>9.4f}")


def bench(ck, x, levels, tols: list[float], probes: int, exact: bool) -> None:
    import torch

    from ddpm_theory import elbo_terms
    from ddpm_theory.likelihood import ode_nll

    B, D = x.shape[0], int(x[0].numel())
    print(f"  {'quantity':<34}{'nfev':>6}{'evals':>10}{'seconds':>9}{'ms/ex':>10}"
          f"{'nats':>11}{'± SE':>9}{'bits/dim':>9}")
    tol = min(tols)
    if exact:
        runs = {t: ode_nll(ck, x, rtol=t, atol=t, dequantize=levels,
                           generator=torch.Generator().manual_seed(0))
                for t in sorted(tols, reverse=True)}
        for t, r in runs.items():
            _row(f"ODE NLL, exact trace (tol {t:g})", r.n_model_evals, r.nfev, r.seconds, B,
                 r.nats, r.stderr, D)
        for t, r in runs.items():
            if t != tol:
                d = abs(r.nll - runs[tol].nll)
                print(f"  tol {t:g} vs {tol:g}: per-example |difference| mean {d.mean():.2e}, "
                      f"max {d.max():.2e} nats")
    for P in (1, probes):
        h = ode_nll(ck, x, trace="hutchinson", n_probes=P, rtol=tol, atol=tol, dequantize=levels,
                    generator=torch.Generator().manual_seed(P))
        _row(f"ODE NLL, Hutchinson, {P} probe(s)", h.n_model_evals, h.nfev, h.seconds, B, h.nats,
             h.stderr, D)
    print(f"  Hutchinson: SD of one probe's estimate {h.probe_sd:.4f} nats per example; "
          f"probe part of the mean's SE with {probes} probes {h.hutchinson_stderr:.4f}")
    for K in (None, 100, 50, 10):
        e = elbo_terms(ck, x, bayes=False, steps=K, generator=torch.Generator().manual_seed(3))
        name = "ELBO, full T" if K is None else f"ELBO, K = {K}"
        _row(name, e.n_model_evals, "-", e.seconds, B, e.total.nats, e.total.stderr, D)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1000)
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--steps", type=int, default=1500, help="training steps of each model")
    ap.add_argument("--tols", default="1e-4,1e-5",
                    help="ODE rtol = atol of the exact-trace runs (the smallest for the others)")
    ap.add_argument("--only", choices=["mlp", "unet"], help="run one model only")
    ap.add_argument("--probes", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from ddpm_theory.backend import Schedule, train

    torch.set_num_threads(args.threads)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), CPU")
    tols = [float(v) for v in args.tols.split(",")]
    cases = [("mixture_2d", args.points, args.steps, "mlp"),
             ("digits", args.images, max(args.steps // 5, 1), "unet")]
    for data, n, steps, which in cases:
        if args.only not in (None, which):
            continue
        t0 = time.perf_counter()
        ck = train(data, steps, schedule=Schedule.linear(1000), progress=False, seed=0,
                   device="cpu")
        kind = type(ck.model).__name__
        x = ck.dataset.sample(n, torch.Generator().manual_seed(1), dtype=torch.float64)
        print(f"\n{data}: {kind}, T = 1000 linear, trained {steps} steps in "
              f"{time.perf_counter() - t0:.1f} s; {n} examples, D = {int(x[0].numel())}"
              f"{'' if ck.levels is None else f', {ck.levels} levels (dequantised)'}")
        t0 = time.perf_counter()
        bench(ck, x, ck.levels, tols, args.probes, exact=True)
        if data == "mixture_2d":
            r_s = time.perf_counter() - t0
            print(f"  (all rows above: {r_s:.1f} s)")
    print("\ntarget: exact-trace ODE NLL on 1,000 2-D points under 30 s on one thread "
          "(the exact-trace rows of mixture_2d, 'seconds').")


if __name__ == "__main__":
    main()
