"""``ddpm-theory train``: train a small diffusion model and write a checkpoint."""

from __future__ import annotations

import argparse
import sys
from typing import Any

_CHOICES = {
    "parameterization": ("eps", "x0", "v", "mean"),
    "variance": ("beta", "beta_tilde", "learned", "learned_range"),
    "loss": ("simple", "mean_mse", "x0_mse", "v_mse", "vlb", "hybrid"),
    "decoder": ("discretized", "gaussian"),
    "schedule": ("linear", "cosine", "sigmoid", "quadratic"),
}


def register(subparsers: Any) -> None:
    """Add the ``train`` sub-command (torch is imported only when it runs)."""
    p = subparsers.add_parser(
        "train",
        help="train a small diffusion model on a dataset with a known law",
        description="Train a denoiser and write a checkpoint (weights + plain-data config).",
    )
    p.add_argument("--data", required=True, help="dataset name (see 'ddpm-theory train --list')")
    p.add_argument("--steps", required=True, type=int, help="optimiser steps (>= 1)")
    p.add_argument("--out", required=True, help="checkpoint file to write (folder must exist)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--T", type=int, default=1000, help="number of diffusion steps (default 1000)")
    for name in ("loss", "parameterization", "variance", "decoder", "schedule"):
        p.add_argument(f"--{name}", default=None, help=" | ".join(_CHOICES[name]))
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Train; print where the checkpoint went. Bad input: a message and exit status 2."""
    from ..backend.schedule import get_schedule
    from ..backend.train import train

    try:
        schedule = get_schedule(args.schedule or "linear", args.T, **(
            {"scale_to_T": True} if (args.schedule or "linear") in ("linear", "quadratic") else {}
        ))
        ckpt = train(
            args.data,
            args.steps,
            schedule=schedule,
            parameterization=args.parameterization or "eps",
            variance=args.variance or "beta",
            loss=args.loss or "simple",
            decoder=args.decoder,
            batch_size=args.batch_size,
            lr=args.lr,
            ema_decay=args.ema_decay,
            seed=args.seed,
            device=args.device,
            progress=not args.no_progress,
            out=args.out,
            force=args.force,
        )
    except (ValueError, TypeError, FileNotFoundError, FileExistsError, IsADirectoryError) as exc:
        print(f"ddpm-theory train: error: {exc}", file=sys.stderr)
        return 2
    cfg = ckpt.config["train"]
    print(
        f"wrote {ckpt.path} ({cfg['steps']} steps on {cfg['device']} in {cfg['seconds']:.1f} s, "
        f"final loss {cfg['final_loss']:.4f})"
    )
    return 0
