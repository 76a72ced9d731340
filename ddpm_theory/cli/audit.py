"""``ddpm-theory audit CKPT``: audit a trained model's variational bound term by term.

Prints the summary of :meth:`ddpm_theory.ElboTerms.summary` (L_T, the transitions
summed over deciles of t, L_0 and the total, each beside its bounds, the flags
summarised, a legend of the columns); ``--all-rows`` prints the table of every t,
``--verbose`` lists each flag. ``--json`` writes everything, with the run's
provenance. Exit status: 0 without violations, 1 with a violation of a bound, 2
for bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._io import BAD_INPUT, FAILED, DefaultsHelpFormatter, refuse_overwrite, write_text
from ._launch import add_arguments, is_main_rank, launch_local


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "audit",
        help="audit a checkpoint's ELBO term by term against the derived bounds",
        formatter_class=DefaultsHelpFormatter,
        description=(
            "Estimate L_T, every L_(t-1) and L_0 of a checkpoint written by 'ddpm-theory train' "
            "on N examples of its data law (or --data), with standard errors, Bayes-optimal "
            "values where the law is known, and the bounds. Exit status 1 if a bound is violated."
        ),
    )
    p.add_argument("checkpoint", type=Path, metavar="CKPT",
                   help="checkpoint file, or a diffusers save_pretrained folder")
    p.add_argument("--data", metavar="NAME",
                   help="registered data law to draw the examples from (default: the training law)")
    p.add_argument("--n", type=int, default=256, metavar="N", help="number of examples")
    p.add_argument("--timesteps", default="all", choices=["all", "stratified", "importance"],
                   help="evaluate every transition, or sample them (unbiased total)")
    p.add_argument("--n-timesteps", type=int, metavar="K",
                   help="transitions per example for stratified/importance")
    p.add_argument("--n-draws", type=int, default=1, help="noise draws per term")
    p.add_argument("--batch-size", type=int, help="rows per model call (2048 CPU, 65536 CUDA)")
    p.add_argument("--seed", type=int, default=0, help="seed of the examples and the noise")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the record as JSON")
    p.add_argument("--plot", type=Path, metavar="FILE", help="also write a PNG plot")
    p.add_argument("--force", action="store_true", help="overwrite existing --json/--plot files")
    p.add_argument("--all-rows", action="store_true",
                   help="print every transition L_(t-1), not the summary by deciles of t")
    p.add_argument("--max-rows", type=int, metavar="R",
                   help="with --all-rows: print at most R transition rows (default: all)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="list every violation and departure, not only their summary")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--likelihood", default="elbo", choices=["elbo", "ode", "both"],
                   help="the bound (elbo), the exact NLL by the probability flow ODE (ode), or "
                        "both side by side with the true NLL where the law has a density")
    p.add_argument("--steps", type=int, metavar="K",
                   help="audit the bound of the K-step respaced sub-chain (Nichol & Dhariwal "
                        "2021) instead of the full chain")
    add_arguments(p)
    p.set_defaults(func=run)


def _error(msg: str, status: int = BAD_INPUT) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return status


def _problems(args: argparse.Namespace) -> list[str]:
    """Every bad argument, named by its flag, before any work."""
    problems = [refuse_overwrite(out, args.force) for out in (args.json, args.plot)
                if out is not None]
    for flag, value, low in (("--n", args.n, 1), ("--n-timesteps", args.n_timesteps, 1),
                             ("--n-draws", args.n_draws, 1), ("--batch-size", args.batch_size, 1),
                             ("--max-rows", args.max_rows, 0), ("--steps", args.steps, 1)):
        if value is not None and value < low:
            problems.append(f"{flag} must be an integer >= {low}; got {value}")
    if args.timesteps != "all" and args.n_timesteps is None:
        problems.append(f"--timesteps {args.timesteps} needs --n-timesteps K (transitions "
                        "sampled per example)")
    if args.timesteps == "all" and args.n_timesteps is not None:
        problems.append("--n-timesteps applies to --timesteps stratified or importance")
    if not args.checkpoint.exists():
        problems.append(f"checkpoint {str(args.checkpoint)!r} does not exist")
    if args.nproc < 1:
        problems.append(f"--nproc must be a positive integer; got {args.nproc}")
    return [p for p in problems if p]


def run(args: argparse.Namespace) -> int:
    problems = _problems(args)
    if problems:
        for msg in problems[:-1]:
            _error(msg)
        return _error(problems[-1])
    if args.nproc > 1:
        return launch_local(args)

    import torch
    from tqdm.auto import tqdm

    from ..adapters import load_model
    from ..audit import AuditError, elbo_terms
    from ..backend.data import get_dataset
    from ..backend.device import resolve_device

    try:
        device = resolve_device(args.device)
        if args.distributed:
            from ..audit.distributed import worker_device

            device = worker_device(device)
        ckpt = load_model(args.checkpoint, device)
    except (FileNotFoundError, ValueError) as exc:  # CheckpointError names file and field
        if args.checkpoint.is_dir():
            return _error(f"cannot load diffusers folder {str(args.checkpoint)!r}: {exc}")
        return _error(str(exc))
    try:
        law = get_dataset(args.data) if args.data else ckpt.dataset
    except ValueError as exc:
        return _error(str(exc))
    if law is None:
        return _error("the model's data law is not known (a foreign diffusers folder, or one "
                      "not in the registry); pass --data NAME.")
    if tuple(law.event_shape) != ckpt.event_shape:
        return _error(f"data {law.name!r} has examples of shape {tuple(law.event_shape)}, the "
                      f"model was trained on shape {ckpt.event_shape}.")
    data_gen = torch.Generator().manual_seed(args.seed)
    x0 = law.sample(args.n, data_gen, dtype=torch.float64)
    noise_gen = torch.Generator(device).manual_seed(args.seed + 1)
    terms = None
    if args.likelihood != "ode":
        T = args.steps or ckpt.schedule.T
        with tqdm(desc="audit", unit="eval", unit_scale=True, disable=args.no_progress,
                  total=_expected_evals(args, T), file=sys.stderr) as bar:
            try:
                terms = elbo_terms(
                    ckpt, x0, data=law, n_draws=args.n_draws, timesteps=args.timesteps,
                    n_timesteps=args.n_timesteps, batch_size=args.batch_size, device=device,
                    generator=noise_gen, progress=bar.update, steps=args.steps,
                    distributed=args.distributed,
                )
            except (AuditError, ValueError) as exc:
                bar.close()
                return _error(str(exc))
        if args.distributed and not is_main_rank():
            return 0 if terms.ok else 1  # rank 0 reports
        print(f"checkpoint {args.checkpoint}: {ckpt.schedule!r}, data {law.name}, "
              f"seed {args.seed}")
        print(terms.table(args.max_rows, verbose=args.verbose) if args.all_rows
              else terms.summary(verbose=args.verbose))
    like = None
    if args.likelihood != "elbo":
        from ..likelihood.compare import audit_likelihood

        try:
            like = audit_likelihood(ckpt, x0, law, terms, steps=args.steps, device=device,
                                    seed=args.seed + 2)
        except (RuntimeError, ValueError) as exc:
            return _error(f"ODE likelihood: {exc}")
        print(like.table())
    status = _write(args, terms, like, _provenance(args, ckpt, law.name))
    if status:
        return status
    return 0 if terms is None or terms.ok else 1


def _expected_evals(args: argparse.Namespace, T: int) -> int | None:
    """Rows the audit will evaluate (for the progress bar's total and ETA)."""
    from ..audit.plan import pilot_grid

    if args.timesteps == "all":
        return args.n * T * args.n_draws
    if args.n_timesteps is None:
        return None
    rows = args.n * (args.n_timesteps + 1) * args.n_draws
    if args.timesteps == "importance":
        rows += min(32, args.n) * len(pilot_grid(T))  # the pilot run of elbo_terms
    return rows


def _provenance(args: argparse.Namespace, ckpt: Any, data: str) -> dict[str, Any]:
    """Where the audit came from: library version, checkpoint, seed, schedule, dataset."""
    from .. import __version__

    return {"library_version": __version__, "checkpoint": str(args.checkpoint),
            "seed": args.seed, "data": data, "n_draws": args.n_draws, "steps": args.steps,
            "schedule": {"repr": repr(ckpt.schedule),
                         **ckpt.config.get("schedule", {})},
            "dataset": ckpt.config.get("dataset")}


def _write(args: argparse.Namespace, terms: Any, like: Any, run: dict[str, Any]) -> int:
    """The JSON (the ELBO record, with the likelihood comparison under "likelihood" and
    the run's provenance under "run") and the plot (the ELBO terms, titled with the
    checkpoint and data, or the comparison when the ELBO was not audited); 0, or the
    exit status of a failed write (the previous file is left as it was)."""
    if args.json is not None:
        payload = terms.to_dict() if terms is not None else {}
        if like is not None:
            payload["likelihood"] = like.to_dict()
        payload["run"] = run
        text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
        err = write_text(args.json, text, args.force)
        if err:
            return _error(err, FAILED)
        print(f"wrote {args.json}")
    if args.plot is not None:
        try:
            if terms is not None:
                terms.plot(args.plot, force=args.force,
                           title=f"{args.checkpoint.name}, data {run['data']}")
            else:
                like.plot(args.plot, force=args.force)
        except OSError as exc:
            return _error(str(exc), FAILED)
        print(f"wrote {args.plot}")
    return 0
