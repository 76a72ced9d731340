"""``ddpm-theory train``: train a small diffusion model and write a checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ._io import refuse_overwrite, report_problems

#: schedule families the command line offers (Schedule class methods taking T)
SCHEDULES = ("linear", "cosine", "sigmoid", "quadratic")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a small diffusion model and write a checkpoint",
        description=(
            "Train a denoiser on a dataset with a known law and write a checkpoint that "
            "`ddpm-theory audit` and `ddpm-theory sample` read. An existing file is never "
            "overwritten without --force."
        ),
    )
    p.add_argument("--data", default="mixture_2d", metavar="NAME",
                   help="dataset name (see --list-data); default mixture_2d")
    p.add_argument("--list-data", action="store_true", help="list the datasets and exit")
    p.add_argument("--steps", type=int, default=2000, help="optimiser steps (default 2000)")
    p.add_argument("--out", type=Path, help="checkpoint file to write")
    p.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="seed of every random stream")
    p.add_argument("--loss", default="simple",
                   help="simple, mean_mse, x0_mse, v_mse, vlb or hybrid (default simple)")
    p.add_argument("--parameterization", default="eps", help="eps, x0, v or mean")
    p.add_argument("--variance", default="beta",
                   help="beta, beta_tilde, learned or learned_range")
    p.add_argument("--schedule", default="linear", choices=SCHEDULES,
                   help="noise schedule family (default linear, Ho et al. 2020)")
    p.add_argument("--T", type=int, default=1000, dest="T", help="diffusion steps (default 1000)")
    p.add_argument("--scale-to-T", action="store_true",
                   help="linear/quadratic only: scale beta_1, beta_T by 1000/T (Ho et al. 2020's "
                        "values are for T = 1000; valid for T >= 20)")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--model", default="default", choices=["default", "diffusers-unet"],
                   help="default (MLP/U-Net of this library, --out a checkpoint file) or "
                        "diffusers-unet (a diffusers UNet2DModel, --out a save_pretrained folder)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


#: ᾱ_T above this leaves visible signal at t = T: the prior term L_T is then far from 0
TERMINAL_ALPHA_BAR = 0.01


def _note_terminal_signal(schedule, args: argparse.Namespace) -> None:
    """Say so when the forward chain does not reach noise (it still trains, honestly)."""
    ab_T = float(schedule.alpha_bar[-1])
    if ab_T > TERMINAL_ALPHA_BAR:
        hint = (" --scale-to-T (valid for T >= 20) or" if args.schedule in ("linear", "quadratic")
                and not args.scale_to_T else "")
        print(f"note: with --schedule {args.schedule} and --T {args.T}, alpha_bar_T = {ab_T:.3g}: "
              "the forward chain does not reach noise, so sampling from N(0, I) starts off-law "
              f"and the prior term L_T is large; use{hint} a larger --T or --schedule cosine.",
              file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..backend.data import DATASETS

    if args.list_data:
        for name in DATASETS:
            print(name)
        return 0
    problems = []
    if args.data not in DATASETS:
        problems.append(f"unknown dataset {args.data!r}; known datasets: {', '.join(DATASETS)}")
    if args.steps < 1:
        problems.append(f"--steps must be a positive integer; got {args.steps}")
    if args.T < 1:
        problems.append(f"--T must be a positive integer; got {args.T}")
    if args.scale_to_T and args.schedule not in ("linear", "quadratic"):
        problems.append(f"--scale-to-T applies to the linear and quadratic schedules, not "
                        f"{args.schedule!r}")
    if args.out is None:
        problems.append("--out FILE is required: where to write the checkpoint")
    elif args.model == "diffusers-unet":
        pass  # a folder: checked by train_diffusers
    else:
        err = refuse_overwrite(args.out, args.force)
        if err:
            problems.append(err)
    if problems:
        return report_problems(problems)
    if args.model == "diffusers-unet":
        from ._diffusers import train_diffusers

        return train_diffusers(args)

    from ..backend.schedule import Schedule
    from ..backend.train import train

    try:
        kw = {"scale_to_T": True} if args.scale_to_T else {}
        schedule = getattr(Schedule, args.schedule)(args.T, **kw)
        _note_terminal_signal(schedule, args)
        ckpt = train(
            args.data, args.steps, schedule=schedule, parameterization=args.parameterization,
            variance=args.variance, loss=args.loss, batch_size=args.batch_size, lr=args.lr,
            seed=args.seed, device=args.device, progress=not args.no_progress,
            out=args.out, force=args.force,
        )
    except (ValueError, FileNotFoundError, FileExistsError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except FloatingPointError as exc:
        print(f"error: training diverged: {exc}", file=sys.stderr)
        return 1
    history = ckpt.loss_history
    last = float(history[-1]) if len(history) else float("nan")
    print(f"wrote {args.out} ({args.steps} steps on {args.data}, final loss {last:.4g})")
    return 0
