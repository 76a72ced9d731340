"""``ddpm-theory train --model diffusers-unet``: this library's loop, a diffusers folder out."""

from __future__ import annotations

import argparse
import sys


def train_diffusers(args: argparse.Namespace) -> int:
    """Train a small ``UNet2DModel`` and write a ``save_pretrained`` folder to ``--out``."""
    from ..adapters.diffusers_export import diffusers_unet, save_pretrained_folder
    from ..adapters.diffusers_schedule import AdapterError
    from ..backend.data import get_dataset
    from ..backend.enums import VarianceType
    from ..backend.schedule import Schedule
    from ..backend.train import train

    if args.out.exists() and not args.force:
        print(f"error: {args.out} exists; pass --force to replace it", file=sys.stderr)
        return 2
    try:
        kw = {"scale_to_T": True} if args.scale_to_T else {}
        schedule = getattr(Schedule, args.schedule)(args.T, **kw)
        data = get_dataset(args.data)
        learned = VarianceType.parse(args.variance).is_learned
        net = diffusers_unet(tuple(data.event_shape), learned, args.seed)
        ckpt = train(data, args.steps, model=net, schedule=schedule,
                     parameterization=args.parameterization, variance=args.variance,
                     loss=args.loss, batch_size=args.batch_size, lr=args.lr, seed=args.seed,
                     device=args.device, progress=not args.no_progress)
        save_pretrained_folder(ckpt, args.out, force=args.force)
    except (AdapterError, ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} (a diffusers UNet2DModel + DDPMScheduler folder; {args.steps} "
          f"steps on {args.data})")
    return 0
