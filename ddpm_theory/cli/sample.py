"""``ddpm-theory sample``: draw samples from a checkpoint into a .npy or .png file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``sample`` sub-command (torch is imported only when it runs)."""
    p = subparsers.add_parser(
        "sample",
        help="draw samples from a trained checkpoint",
        description="Ancestral sampling (Ho et al. 2020, Algorithm 2) from a checkpoint; "
        "writes a .npy array or a .png picture of the samples against the data.",
    )
    p.add_argument("checkpoint", help="checkpoint written by 'ddpm-theory train'")
    p.add_argument("--n", type=int, default=1000, help="number of samples (default 1000)")
    p.add_argument("--out", required=True, help="output file, .npy or .png (folder must exist)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="auto | cpu | cuda | cuda:N (default cpu)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Sample and write; bad input gives a message and exit status 2."""
    import numpy as np
    import torch

    from ..backend.checkpoint import CheckpointError, load_checkpoint
    from ..backend.device import resolve_device
    from ..backend.paths import check_output_path
    from ..backend.plots import plot_samples
    from ..backend.sample import sample

    out = Path(args.out)
    try:
        if out.suffix not in (".npy", ".png"):
            raise ValueError(f"--out must end in .npy or .png; got {str(out)!r}.")
        check_output_path(out, args.force)
        ckpt = load_checkpoint(args.checkpoint)
        gen = torch.Generator(device=resolve_device(args.device)).manual_seed(args.seed)
        x = sample(ckpt, args.n, generator=gen)
        assert isinstance(x, torch.Tensor)
        x = x.cpu()
        if out.suffix == ".npy":
            mode = "wb" if args.force else "xb"
            with open(out, mode) as f:
                np.save(f, x.numpy())
        else:
            plot_samples(out, x, data=ckpt.dataset, seed=args.seed, force=args.force)
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, IsADirectoryError,
            CheckpointError) as exc:
        print(f"ddpm-theory sample: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.n} samples to {out}")
    return 0
