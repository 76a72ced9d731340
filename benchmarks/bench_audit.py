"""How fast is ``elbo_terms``, and how much does timestep sampling save?

One run, one model (an MLP trained briefly on ``mixture_2d``, T = 1000, the paper's
linear schedule), one set of examples. Prints, side by side:

1. the full-T audit (rows of all t batched into large model calls) against a
   sequential loop with one model call per t and the same number of model
   evaluations (B·T), with the two totals (same law, independent noise);
2. the model evaluations and time that importance-sampled timesteps need to reach
   the full-T audit's standard error on the total (target: ≥ 10× fewer
   evaluations), for K = 1, 2, 4, ... slots per example on the same examples.

``--distributed`` prints instead the distributed audit (``ddpm-theory audit
--distributed`` in one process against ``--nproc 2``, gloo on the CPU) of a U-Net on
the 8×8 digits, T = 1000: the audit's own seconds (rank 0, which waits for every
rank), the wall time with the launch, their ratios (target ≥ 1.7× on 2 cores), whether
the two records are equal, and, when CUDA is present, the same audit on the GPU
(rows/s beside the CPU's) and over 2 GPUs when there are two.

    python benchmarks/bench_audit.py [--examples 500] [--steps 1500] [--threads 1]
    python benchmarks/bench_audit.py --distributed [--examples 24]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time


def sequential_total(model, diffusion, x0, generator) -> tuple[float, float, int]:
    """The same bound with one model call per t (t = T..1): mean, stderr, evaluations."""
    import torch

    from ddpm_theory.backend.losses import prior_kl, vlb_term

    B, T = x0.shape[0], diffusion.T
    total = prior_kl(diffusion, x0).clone()
    evals = 0
    with torch.no_grad():
        for step in range(T, 0, -1):
            t = torch.full((B,), step, dtype=torch.long)
            eps = torch.randn(x0.shape, generator=generator, dtype=torch.float64)
            x_t = diffusion.q_sample(x0, t, eps)
            out = model(x_t.float(), t).double()
            evals += B
            pred = diffusion.p_mean_variance(out, x_t, t)
            total += vlb_term(diffusion, pred, x0, x_t, t, decoder="gaussian")
    return float(total.mean()), float(total.std() / math.sqrt(B)), evals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", type=int, default=500)
    ap.add_argument("--steps", type=int, default=1500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--distributed", action="store_true",
                    help="1 vs 2 processes (and GPU) for the distributed audit")
    args = ap.parse_args()
    if args.distributed:
        from bench_audit_distributed import main as distributed_main

        distributed_main(args.examples if args.examples != 500 else 24)
        return
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    from ddpm_theory import elbo_terms
    from ddpm_theory.backend import Schedule, train  # ddpm_theory.train resolves to the module

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device {dev}")
    t0 = time.perf_counter()
    ck = train("mixture_2d", args.steps, schedule=Schedule.linear(1000), progress=False,
               seed=0, device=dev)
    print(f"trained MLP on mixture_2d, T = 1000, {args.steps} steps: "
          f"{time.perf_counter() - t0:.1f} s")
    model, law = ck.model, ck.dataset
    x0 = law.sample(args.examples, torch.Generator().manual_seed(1), dtype=torch.float64).to(dev)
    B, T = x0.shape[0], ck.schedule.T

    print("\n1. full-T audit: batched across t vs one model call per t (same evaluations;"
          " Bayes-optimal values skipped: ELBO work only)")
    print(f"{'B':>5} {'method':<24}{'calls':>7}{'evals':>9}{'seconds':>9}{'total nats':>12}"
          f"{'± SE':>9}")
    for b in sorted({32, B}):
        xb = x0[:b]
        res = elbo_terms(ck, xb, bayes=False, device=dev,
                         generator=torch.Generator(dev).manual_seed(2))
        calls = math.ceil(res.n_model_evals / (65536 if dev.type == "cuda" else 2048))
        g = torch.Generator(dev).manual_seed(3)
        t0 = time.perf_counter()
        seq_mean, seq_se, seq_evals = sequential_total(model, ck.diffusion, xb, g)
        seq_s = time.perf_counter() - t0
        print(f"{b:>5} {'elbo_terms (batched)':<24}{calls:>7}{res.n_model_evals:>9}"
              f"{res.seconds:>9.2f}{res.total.nats:>12.4f}{res.total.stderr:>9.4f}")
        print(f"{b:>5} {'sequential per-t loop':<24}{T:>7}{seq_evals:>9}{seq_s:>9.2f}"
              f"{seq_mean:>12.4f}{seq_se:>9.4f}   speed-up {seq_s / res.seconds:.1f}x")
        full = res

    target = full.total.stderr
    print(f"\n2. importance-sampled t to reach SE {target:.4f} of the full-T total "
          f"({full.n_model_evals} evals). Both SEs are for E over the data law, so the")
    print("   budget may buy more examples instead of more t per example: a calibration run on")
    print(f"   the same {B} examples gives the per-example spread s_K; then N = 1.1 (s_K/SE)^2 "
          "fresh examples are audited (pilot: 32 examples x ~48 t, counted).")
    print(f"{'K/example':>10}{'N examples':>11}{'evals':>10}{'seconds':>9}{'total nats':>12}"
          f"{'± SE':>9}{'fewer evals':>13}")
    best = None
    for K in (1, 2, 4, 8, 16, 32):
        cal = elbo_terms(ck, x0, bayes=False, device=dev, timesteps="importance", n_timesteps=K,
                         generator=torch.Generator(dev).manual_seed(10 + K))
        n = math.ceil(1.1 * B * (cal.total.stderr / target) ** 2)
        xs = law.sample(n, torch.Generator().manual_seed(100 + K), dtype=torch.float64).to(dev)
        r = elbo_terms(ck, xs, bayes=False, device=dev, timesteps="importance", n_timesteps=K,
                       generator=torch.Generator(dev).manual_seed(200 + K))
        ratio = full.n_model_evals / r.n_model_evals
        ok = r.total.stderr <= target
        print(f"{K:>10}{n:>11}{r.n_model_evals:>10}{r.seconds:>9.2f}{r.total.nats:>12.4f}"
              f"{r.total.stderr:>9.4f}{ratio:>12.1f}x{'' if ok else '  (SE not reached)'}")
        if ok and (best is None or ratio > best[2]):
            best = (K, r, ratio)
    if best is None:
        print("importance sampling did not reach the full-T standard error")
        return
    K, r, ratio = best
    print(f"best: K = {K}, {r.n_model_evals} evals ({ratio:.1f}x fewer), {r.seconds:.2f} s vs "
          f"{full.seconds:.2f} s ({full.seconds / r.seconds:.1f}x faster); target >= 10x fewer "
          f"evaluations: {'met' if ratio >= 10 else 'NOT met'}")

if __name__ == "__main__":
    main()
