"""Training steps per second: CPU and (when available) GPU, side by side, in one run.

Workloads (one optimiser step = sample a batch, q_sample, forward, L_simple, backward,
Adam, as in :func:`ddpm_theory.backend.train.train`):

* the default MLP on ``mixture_2d`` (T = 1000);
* the small U-Net (base 32, mults (1, 2)) on the 8x8 ``digits`` (T = 1000);

at batch sizes 256 and 1024; on CUDA also the largest power-of-two batch that fits.
Timings are printed, never asserted.

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


if __name__ == "__main__":
    main()
