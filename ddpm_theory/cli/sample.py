"""``ddpm-theory sample``: ancestral samples from a checkpoint, as .npy or a picture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._io import FAILED, DefaultsHelpFormatter, error, refuse_overwrite, report_problems, write_file


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained checkpoint (.npy array or .png picture)",
        formatter_class=DefaultsHelpFormatter,
        description="Ancestral sampling (Ho et al. 2020, Algorithm 2) from a checkpoint.",
    )
    p.add_argument("checkpoint", type=Path, metavar="CKPT")
    p.add_argument("--n", type=int, default=512, help="number of samples")
    p.add_argument("--out", type=Path, required=True,
                   help="FILE.npy (the samples) or FILE.png (samples against the data)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling noise")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--no-ema", action="store_true",
                   help="sample with the raw weights instead of their moving average")
    p.add_argument("--steps", type=int, metavar="K",
                   help="sampling steps: the K-step respaced sub-chain (Nichol & Dhariwal 2021, "
                        "Sec. 4), the model queried at the kept timesteps; the checkpoint's "
                        "variance rule applies to the sub-chain's own betas (sigma^2 = beta' or "
                        "beta-tilde'). Default: all T steps")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _problems(args: argparse.Namespace) -> list[str]:
    problems = []
    if args.out.suffix.lower() not in (".npy", ".png"):
        problems.append(f"--out must end in .npy or .png; got {args.out.name!r}")
    if args.n < 1:
        problems.append(f"--n must be an integer >= 1; got {args.n}")
    if args.steps is not None and args.steps < 1:
        problems.append(f"--steps must be an integer >= 1; got {args.steps}")
    if not args.checkpoint.is_file():
        problems.append(f"checkpoint {str(args.checkpoint)!r} does not exist")
    err = refuse_overwrite(args.out, args.force)
    if err:
        problems.append(err)
    return problems


def run(args: argparse.Namespace) -> int:
    problems = _problems(args)
    if problems:
        return report_problems(problems)

    import numpy as np
    import torch

    from ..backend.checkpoint import CheckpointError, load_checkpoint
    from ..backend.device import resolve_device
    from ..backend.plots import plot_samples
    from ..backend.sample import Trajectory, sample

    try:
        device = resolve_device(args.device)
        ckpt = load_checkpoint(args.checkpoint, map_location=device, use_ema=not args.no_ema)
    except (CheckpointError, ValueError) as exc:
        return error(str(exc))
    if args.steps is not None and args.steps > ckpt.diffusion.T:
        return error(f"--steps must be at most the checkpoint's T = {ckpt.diffusion.T}; "
                     f"got {args.steps}")
    from tqdm.auto import tqdm

    with tqdm(total=args.steps or ckpt.diffusion.T, desc="sample", unit="step",
              file=sys.stderr, disable=args.no_progress) as bar:
        try:
            x = sample(ckpt, args.n, generator=torch.Generator(device).manual_seed(args.seed),
                       steps=args.steps, progress=bar.update)
        except ValueError as exc:
            bar.close()
            return error(f"--steps {args.steps}: {exc}")
    assert not isinstance(x, Trajectory)  # no trajectory was asked for
    if not bool(x.isfinite().all()):
        return error("the model produced non-finite samples", FAILED)
    x = x.cpu()
    if args.out.suffix.lower() == ".npy":
        arr = x.numpy()
        err = write_file(args.out, lambda f: np.save(f, arr), args.force)
    else:
        try:
            plot_samples(args.out, x, data=ckpt.dataset, seed=args.seed, force=args.force)
            err = None
        except OSError as exc:
            err = str(exc)
    if err:
        return error(err, FAILED)
    print(f"wrote {args.n} samples to {args.out}")
    return 0
