"""Training steps per second: CPU and (when available) GPU, side by side, in one run.

Workloads (one optimiser step = sample a batch, q_sample, forward, L_simple, backward,
Adam, as in :func:`ddpm_theory.backend.train.train`):

* the default MLP on ``mixture_2d`` (T = 1000);
* the small U-Net (base 32, mults (1, 2)) on the 8x8 ``digits`` (T = 1000);

at batch sizes 256 and 1024; on CUDA also the largest power-of-two batch that fits.

Then the library's own loop, ``ddpm_theory.train`` (EMA, the NaN/Inf watch, logging), against
a minimal hand-written loop with the same model, batch, data stream and Adam (sample, q_sample,
forward, MSE to ε, backward, step), interleaved, median time per step of each; the overhead
target is 15 %. Timings are printed, never asserted.

    python benchmarks/bench_train.py [--steps 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import platform
import time


def _workload(kind: str, device):
    import torch

    from ddpm_theory.backend import GaussianDiffusion, MLPDenoiser, Schedule, UNet, get_dataset

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        if kind == "mlp":
            data, model = get_dataset("mixture_2d"), MLPDenoiser(2)
        else:
            data, model = get_dataset("digits"), UNet(1, 8, base=32, mults=(1, 2))
    return data, model.to(device), GaussianDiffusion(Schedule.linear(1000))


def steps_per_second(kind: str, batch: int, device, steps: int) -> float:
    import torch

    from ddpm_theory.backend.losses import training_losses

    data, model, diffusion = _workload(kind, device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g_data = torch.Generator().manual_seed(1)
    g_noise = torch.Generator(device=device).manual_seed(2)

    def step() -> None:
        x0 = data.sample(batch, g_data).to(device)
        t = torch.randint(1, diffusion.T + 1, (batch,), generator=g_noise, device=device)
        noise = torch.randn(x0.shape, generator=g_noise, device=device)
        loss = training_losses(diffusion, model, x0, t, noise).loss.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(3):  # warm-up: allocator, kernels, caches
        step()
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return steps / (time.perf_counter() - start)


def hand_loop_seconds(kind: str, batch: int, steps: int) -> float:
    """Seconds per step of the minimal loop: x_t by Ho et al. 2020, Eq. 4, MSE to ε (Eq. 14)."""
    import torch

    data, model, diffusion = _workload(kind, torch.device("cpu"))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g_data, g_noise = torch.Generator().manual_seed(1), torch.Generator().manual_seed(2)
    ab = torch.tensor(diffusion.schedule.alpha_bar, dtype=torch.float32)
    model.train()
    start = time.perf_counter()
    for _ in range(steps):
        x0 = data.sample(batch, g_data)
        t = torch.randint(1, diffusion.T + 1, (batch,), generator=g_noise)
        eps = torch.randn(x0.shape, generator=g_noise)
        a = ab[t - 1].reshape(-1, *([1] * (x0.ndim - 1)))
        loss = ((model(a.sqrt() * x0 + (1 - a).sqrt() * eps, t) - eps) ** 2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps


def library_seconds(kind: str, batch: int, steps: int) -> float:
    """Seconds per step of ddpm_theory.train (setup cancelled: runs of 2n and n steps)."""
    import torch

    from ddpm_theory import train

    def run(n: int) -> float:
        data, model, diffusion = _workload(kind, torch.device("cpu"))
        t0 = time.perf_counter()
        train(data, n, model=model, schedule=diffusion.schedule, batch_size=batch,
              device="cpu", progress=False)
        return time.perf_counter() - t0

    return (run(2 * steps) - run(steps)) / steps


def overhead_table(steps: int, repeats: int = 5) -> None:
    import statistics

    print(f"\nlibrary loop vs minimal hand-written loop (CPU, median of {repeats} interleaved "
          f"runs, {steps} steps each)")
    header = f"{'workload':<22}{'batch':>7}{'hand ms/step':>14}{'library ms/step':>17}{'ratio':>8}"
    print(header)
    print("-" * len(header))
    for kind, label, batch in (("mlp", "MLP / mixture_2d", 256), ("unet", "U-Net / digits 8x8",
                                                                    256)):
        n = steps if kind == "mlp" else max(10, steps // 10)
        hand, lib = [], []
        for _ in range(repeats):
            hand.append(hand_loop_seconds(kind, batch, n))
            lib.append(library_seconds(kind, batch, n))
        h, lb = statistics.median(hand), statistics.median(lib)
        print(f"{label:<22}{batch:>7}{1e3 * h:>14.2f}{1e3 * lb:>17.2f}{lb / h:>8.3f}")


def largest_batch(kind: str, device, start: int = 1024, limit: int = 2**22) -> int:
    """Double the batch until a step runs out of memory; return the last that fit."""
    import torch

    fit, b = 0, start
    while b <= limit:
        try:
            steps_per_second(kind, b, device, 1)
            fit = b
            b *= 2
        except torch.OutOfMemoryError:
            break
        finally:
            torch.cuda.empty_cache()
    return fit


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=20, help="timed steps per configuration")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--overhead-steps", type=int, default=200,
                    help="steps per run of the library-vs-hand-loop comparison (MLP; U-Net /10)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    import torch

    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {platform.processor() or platform.machine()}, "
          f"{args.threads} CPU thread(s), {args.steps} timed steps each")
    cuda = torch.cuda.is_available()
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if cuda else [])
    cols = "".join(f"{d.type + ' steps/s':>16}" for d in devices)
    header = f"{'workload':<22}{'batch':>7}" + cols
    print(header)
    print("-" * len(header))
    for kind, label in (("mlp", "MLP / mixture_2d"), ("unet", "U-Net / digits 8x8")):
        for batch in (256, 1024):
            cells = [steps_per_second(kind, batch, d, args.steps) for d in devices]
            print(f"{label:<22}{batch:>7}" + "".join(f"{c:>16.1f}" for c in cells))
    if cuda:
        dev = torch.device("cuda")
        print(f"\nGPU: {torch.cuda.get_device_name(dev)}")
        for kind, label in (("mlp", "MLP / mixture_2d"), ("unet", "U-Net / digits 8x8")):
            b = largest_batch(kind, dev)
            rate = steps_per_second(kind, b, dev, max(3, args.steps // 4)) if b else float("nan")
            print(f"{label}: largest power-of-two batch that fits = {b}, {rate:.1f} steps/s "
                  f"({rate * b:.3g} examples/s)")
    else:
        print("\nNo CUDA device was available: the GPU figures (steps/s on GPU and the largest "
              "batch that fits) were NOT measured.")
    overhead_table(args.overhead_steps)


if __name__ == "__main__":
    main()
