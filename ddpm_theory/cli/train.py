"""``ddpm-theory train``: train a small diffusion model and write a checkpoint."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from ._io import FAILED, DefaultsHelpFormatter, error, refuse_overwrite, report_problems

#: schedule families the command line offers (Schedule class methods taking T)
SCHEDULES = ("linear", "cosine", "sigmoid", "quadratic")
#: the largest --lr accepted (ddpm_theory.backend.train.LR_MAX, kept here torch-free)
LR_MAX = 1.0
#: flags that set up a run; --resume continues a run with the settings it was saved with
RUN_SETTINGS = ("data", "loss", "parameterization", "variance", "schedule", "T", "scale_to_T",
                "batch_size", "lr", "seed", "ema_decay", "hidden", "depth", "base", "mults")


def _mults(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 1,2,2; got {text!r}") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a small diffusion model and write a checkpoint",
        formatter_class=DefaultsHelpFormatter,
        description=(
            "Train a denoiser on a dataset with a known law and write a checkpoint that "
            "`ddpm-theory audit` and `ddpm-theory sample` read. An existing file is never "
            "overwritten without --force; the file appears only once it is complete."
        ),
    )
    p.add_argument("--data", default="mixture_2d", metavar="NAME",
                   help="dataset name (see --list-data)")
    p.add_argument("--list-data", action="store_true", help="list the datasets and exit")
    p.add_argument("--steps", type=int, default=2000,
                   help="optimiser steps (with --resume: the total, counting those done)")
    p.add_argument("--out", type=Path,
                   help="checkpoint file to write (required; with --resume, default: CKPT)")
    p.add_argument("--force", action="store_true", help="overwrite an existing checkpoint")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    p.add_argument("--seed", type=int, default=0, help="seed of every random stream")
    p.add_argument("--loss", default="simple",
                   help="simple, mean_mse, x0_mse, v_mse, vlb or hybrid")
    p.add_argument("--parameterization", default="eps", help="eps, x0, v or mean")
    p.add_argument("--variance", default="beta",
                   help="beta, beta_tilde, learned or learned_range")
    p.add_argument("--schedule", default="linear", choices=SCHEDULES,
                   help="noise schedule family (linear: Ho et al. 2020)")
    p.add_argument("--T", type=int, default=1000, dest="T", help="diffusion steps (>= 2)")
    p.add_argument("--scale-to-T", action="store_true",
                   help="linear/quadratic only: scale beta_1, beta_T by 1000/T (Ho et al. 2020's "
                        "values are for T = 1000; valid for T >= 20)")
    p.add_argument("--batch-size", type=int, default=256, help="examples per optimiser step")
    p.add_argument("--lr", type=float, default=1e-3,
                   help=f"Adam learning rate, in (0, {LR_MAX:g}]")
    p.add_argument("--ema-decay", type=float, default=0.999,
                   help="decay of the weight average that is saved and sampled, in [0, 1)")
    p.add_argument("--hidden", type=int, help="MLP (vector data): width (default 128)")
    p.add_argument("--depth", type=int, help="MLP (vector data): residual blocks (default 3)")
    p.add_argument("--base", type=int, help="U-Net (images): base channels (default 32)")
    p.add_argument("--mults", type=_mults, metavar="M1,M2,...",
                   help="U-Net (images): channel multiplier per level (default 1,2 for 8x8, "
                        "1,2,2 for larger)")
    p.add_argument("--save-every", type=int, metavar="N",
                   help="also write --out every N steps (replaced atomically), for --resume")
    p.add_argument("--resume", type=Path, metavar="CKPT",
                   help="continue the run saved in CKPT up to --steps in all, with its own "
                        "settings; the result equals an uninterrupted run")
    p.add_argument("--model", default="default", choices=["default", "diffusers-unet"],
                   help="default (MLP/U-Net of this library, --out a checkpoint file) or "
                        "diffusers-unet (a diffusers UNet2DModel, --out a save_pretrained folder)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run, run_defaults={a: p.get_default(a) for a in RUN_SETTINGS})


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


def _numeric_problems(args: argparse.Namespace) -> list[str]:
    out = []
    for flag, value, low in (("--steps", args.steps, 1), ("--batch-size", args.batch_size, 1),
                             ("--T", args.T, 2), ("--save-every", args.save_every, 1),
                             ("--hidden", args.hidden, 1), ("--depth", args.depth, 1),
                             ("--base", args.base, 1)):
        if value is not None and value < low:
            out.append(f"{flag} must be an integer >= {low}; got {value}")
    if not (math.isfinite(args.lr) and 0.0 < args.lr <= LR_MAX):
        out.append(f"--lr must be a finite number in (0, {LR_MAX:g}]; got {args.lr!r}")
    if not (math.isfinite(args.ema_decay) and 0.0 <= args.ema_decay < 1.0):
        out.append(f"--ema-decay must lie in [0, 1); got {args.ema_decay!r}")
    if args.mults is not None and (not args.mults or min(args.mults) < 1):
        out.append(f"--mults must be positive integers; got {args.mults}")
    return out


def _choice_problems(args: argparse.Namespace) -> list[str]:
    from ..backend.data import DATASETS
    from ..backend.enums import LossType, Parameterization, VarianceType

    out = []
    if args.data not in DATASETS:
        out.append(f"--data: unknown dataset {args.data!r}; known datasets: {', '.join(DATASETS)}")
    for flag, value, enum in (("--loss", args.loss, LossType),
                              ("--parameterization", args.parameterization, Parameterization),
                              ("--variance", args.variance, VarianceType)):
        try:
            enum.parse(value)
        except ValueError as exc:
            out.append(f"{flag}: {exc}")
    if args.scale_to_T and args.schedule not in ("linear", "quadratic"):
        out.append(f"--scale-to-T applies to the linear and quadratic schedules, not "
                   f"{args.schedule!r}")
    if args.data in DATASETS:
        out.extend(_size_problems(args))
    return out


def _size_problems(args: argparse.Namespace) -> list[str]:
    from ..backend.data import get_dataset
    from ..backend.models import MODEL_SIZE_ARGS, default_model_kind

    try:
        kind = default_model_kind(tuple(get_dataset(args.data).event_shape))
    except ValueError as exc:
        return [f"--data {args.data}: {exc}"]
    wrong = [f"--{k}" for ks in MODEL_SIZE_ARGS.values() for k in ks
             if k not in MODEL_SIZE_ARGS[kind] and getattr(args, k) is not None]
    if wrong:
        return [f"{', '.join(wrong)} do not apply: --data {args.data} trains the default {kind} "
                f"(sized by {', '.join('--' + k for k in MODEL_SIZE_ARGS[kind])})"]
    return []


def _resume_problems(args: argparse.Namespace, parser_defaults: dict) -> list[str]:
    changed = [a for a in RUN_SETTINGS if getattr(args, a) != parser_defaults.get(a)]
    if not args.resume.is_file():
        return [f"--resume: checkpoint {str(args.resume)!r} does not exist"]
    if changed:
        flags = ", ".join("--" + a.replace("_", "-") for a in changed)
        return [f"--resume continues the run with the settings it was saved with; drop {flags}"]
    return []


def _schedule(args: argparse.Namespace):
    from ..backend.schedule import Schedule

    kw = {"scale_to_T": True} if args.scale_to_T else {}
    try:
        return getattr(Schedule, args.schedule)(args.T, **kw)
    except ValueError as exc:
        scaled = " --scale-to-T" if args.scale_to_T else ""
        hint = ("; --scale-to-T multiplies the betas by 1000/T: drop it or use --T >= 20"
                if args.scale_to_T else "")
        raise ValueError(f"--schedule {args.schedule} --T {args.T}{scaled}: "
                         f"{str(exc).rstrip('.')}{hint}.") from None


def run(args: argparse.Namespace) -> int:
    if args.list_data:
        from ..backend.data import DATASETS

        for name in DATASETS:
            print(name)
        return 0
    problems = _numeric_problems(args)
    if args.resume is not None:
        problems += _resume_problems(args, args.run_defaults)
        if args.out is None:  # continue in place: the file is replaced atomically
            args.out, args.force = args.resume, True
    else:
        problems += _choice_problems(args)
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
    return _train(args)


def _train(args: argparse.Namespace) -> int:
    from ..backend.checkpoint import CheckpointError
    from ..backend.train import TrainingDiverged, resume, train

    size = {k: getattr(args, k) for k in ("hidden", "depth", "base", "mults")
            if getattr(args, k) is not None}
    common = {"device": args.device, "progress": not args.no_progress,
              "save_every": args.save_every, "out": args.out, "force": args.force}
    try:
        if args.resume is not None:
            ckpt = resume(args.resume, args.steps, **common)
        else:
            schedule = _schedule(args)
            _note_terminal_signal(schedule, args)
            ckpt = train(
                args.data, args.steps, schedule=schedule, parameterization=args.parameterization,
                variance=args.variance, loss=args.loss, batch_size=args.batch_size, lr=args.lr,
                ema_decay=args.ema_decay, model_args=size, seed=args.seed, **common,
            )
    except TrainingDiverged as exc:
        return error(f"training diverged: {exc.what} became non-finite by step {exc.step}; "
                     f"lower --lr (now {exc.lr:g}) or check the data and model; no checkpoint "
                     "was written", FAILED)
    except CheckpointError as exc:
        return error(str(exc))
    except OSError as exc:  # the output could not be written (named in the message)
        return error(str(exc), FAILED)
    except ValueError as exc:
        return error(str(exc))
    history = ckpt.loss_history
    last = float(history[-1]) if len(history) else float(ckpt.config["train"]["final_loss"])
    print(f"wrote {args.out} ({ckpt.config['train']['steps']} steps on "
          f"{ckpt.dataset.name if ckpt.dataset else args.data}, final loss {last:.4g})")
    return 0
