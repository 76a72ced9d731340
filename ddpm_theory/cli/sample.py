"""``ddpm-theory sample``: ancestral samples from a checkpoint, as .npy or a picture."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._io import refuse_overwrite, report_problems


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sample",
        help="draw samples from a trained checkpoint (.npy array or .png picture)",
        description="Ancestral sampling (Ho et al. 2020, Algorithm 2) from a checkpoint.",
    )
    p.add_argument("checkpoint", type=Path, metavar="CKPT")
    p.add_argument("--n", type=int, default=512, help="number of samples (default 512)")
    p.add_argument("--out", type=Path, required=True,
                   help="FILE.npy (the samples) or FILE.png (samples against the data)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    suffix = args.out.suffix.lower()
    problems = []
    if suffix not in (".npy", ".png"):
        problems.append(f"--out must end in .npy or .png; got {args.out.name!r}")
    if args.n < 1:
        problems.append(f"--n must be a positive integer; got {args.n}")
    if not args.checkpoint.is_file():
        problems.append(f"checkpoint {args.checkpoint} does not exist")
    err = refuse_overwrite(args.out, args.force)
    if err:
        problems.append(err)
    if problems:
        return report_problems(problems)

    import numpy as np

    from ..backend.checkpoint import CheckpointError, load_checkpoint
    from ..backend.plots import plot_samples
    from ..backend.sample import Trajectory, sample

    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from tqdm.auto import tqdm

    with tqdm(total=ckpt.diffusion.T, desc="sample", unit="step", file=sys.stderr,
              disable=args.no_progress) as bar:
        x = sample(ckpt, args.n, seed=args.seed, progress=bar.update)
    assert not isinstance(x, Trajectory)  # no trajectory was asked for
    if not bool(x.isfinite().all()):
        print("error: the model produced non-finite samples", file=sys.stderr)
        return 1
    if suffix == ".npy":
        np.save(args.out, x.cpu().numpy())
    else:
        plot_samples(args.out, x.cpu(), data=ckpt.dataset, seed=args.seed, force=args.force)
    print(f"wrote {args.n} samples to {args.out}")
    return 0
