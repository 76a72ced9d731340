"""``ddpm-theory verify [NAME ...] [--json FILE]``: verify registered derivations, or with
``--module FILE_OR_MODULE`` the derivations of a module of your own."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._io import FAILED, DefaultsHelpFormatter, error, refuse_overwrite, write_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "verify",
        help="verify registered derivations step by step",
        formatter_class=DefaultsHelpFormatter,
        description=(
            "Check every step of the named (default: all) derivations symbolically and at "
            "50 digits. Exit status 0 only when every verdict is the expected one."
        ),
    )
    p.add_argument("names", nargs="*", metavar="NAME", help="derivations to verify (default: all)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--seed", type=int, default=0, help="seed of the numeric check's points")
    p.add_argument("--module", action="append", default=[], metavar="MODULE",
                   help="verify the derivations of MODULE (a .py file, a package folder or a "
                        "dotted name) instead of the registered ones; repeatable")
    p.add_argument("--list", action="store_true", help="list the registered names and exit")
    p.add_argument("-v", "--verbose", action="store_true", help="print every step")
    p.add_argument("-j", "--jobs", type=int, default=0,
                   help="worker processes (0: one per CPU core; 1: in this process)")
    p.set_defaults(func=run)


def _verify_one(name: str, seed: int):
    from ..symbolic import registry

    return registry.get(name).verify(seed=seed)


def _verify_all(names: list[str], seed: int, jobs: int):
    """Results in the order of ``names``; derivations are independent, so they can be
    verified in worker processes (forked where the platform allows)."""
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = min(jobs or os.cpu_count() or 1, len(names))
    if workers <= 1:
        for name in names:
            yield _verify_one(name, seed)
        return
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    with ProcessPoolExecutor(workers, mp_context=mp.get_context(method)) as pool:
        yield from pool.map(_verify_one, names, [seed] * len(names))


def _user_derivations(args: argparse.Namespace) -> list | None:
    """The derivations of --module (None when not given); NAMEs select among them."""
    if not args.module:
        return None
    from ..usermodule import collect

    found = [d for spec in args.module for d in collect(spec)]
    if args.names:
        known = {d.name: d for d in found}
        missing = [n for n in args.names if n not in known]
        if missing:
            raise ValueError(f"no derivation named {', '.join(missing)} in "
                             f"{', '.join(args.module)}; found: {', '.join(known)}")
        found = [known[n] for n in args.names]
    return found


def _road_summary(results: list) -> str:
    """How much of the road is shown: single-step parts, missing citations, and the
    lemmas applied."""
    parts = sum(len(r.part_steps) for r in results)
    single = sum(r.single_step_parts for r in results)
    uncited = sum(len(r.uncited) for r in results)
    deps = sum(len(r.depends_on) for r in results)
    share = f" ({single / parts:.0%})" if parts else ""
    return (f"{single} of {parts} parts have a single step{share}; {uncited} parts or steps "
            f"without a citation; {deps} lemma dependencies (depends_on in --json)")


def run(args: argparse.Namespace) -> int:
    from ..symbolic import registry
    from ..symbolic.richtext import plain

    try:
        user = _user_derivations(args)
    except Exception as exc:  # a user module that does not import or holds nothing
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    if args.list and user is not None:
        for d in user:
            print(d.name)
        return 0
    if args.list:
        for name in registry.names():
            print(name)
        return 0
    try:
        selected = args.names or registry.names()
        if user is None:  # unknown names fail before any work; workers build in parallel
            registry.check_names(selected)
    except registry.UnknownDerivationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json is not None:
        err = refuse_overwrite(args.json, args.force)
        if err:
            print(f"error: {err}", file=sys.stderr)
            return 2

    if args.jobs < 0:
        return error("--jobs must be >= 0 (0 means one per CPU core)")
    import time

    wall0 = time.perf_counter()
    results = []
    header = (f"{'derivation':<34} {'steps':>5}  {'verdict':<9} {'expected':<9} "
              f"{'seconds':>7}  methods")
    print(header)
    print("-" * len(header))
    stream = (_verify_all(selected, args.seed, args.jobs) if user is None
              else (d.verify(seed=args.seed) for d in user))
    for res in stream:
        results.append(res)
        mark = "" if res.ok else "   <-- UNEXPECTED"
        print(f"{res.name:<34} {len(res.steps):>5}  {res.status.value:<9} "
              f"{res.expected.value:<9} {res.seconds:>7.2f}  {', '.join(res.methods)}{mark}")
        if args.verbose:
            if res.depends_on:
                print(f"    [depends ] {', '.join(res.depends_on)}")
            for premise in res.premises:
                print(f"    [assumed ] {premise[:100]}")
            for s in res.steps:
                extra = f" ({s.n_distinct} distinct points of {s.n_points}"
                extra += f"; assuming {', '.join(s.assumes)}" if s.assumes else ""
                extra += f"; lemma {', '.join(s.lemmas)}" if s.lemmas else ""
                print(f"    [{s.status.value:<8}] {plain(s.part)} / step {s.index + 1}: "
                      f"{plain(s.rule)[:70]}{extra})")
        if user is not None and not res.ok:
            from ..testing import failure_report

            print(failure_report(res), file=sys.stderr)
        for s in ([] if user is not None else res.failures()):
            print(f"    {s.message}", file=sys.stderr)
        for s in res.steps:
            if s.status.value == "refuted" and s.counterexample:
                print(f"    refuted: {s.part} / step {s.index + 1}; counterexample "
                      f"{dict(s.counterexample)}: {s.lhs_value} != {s.rhs_value}")
    total = sum(r.seconds for r in results)
    bad = [r for r in results if not r.ok]
    print("-" * len(header))
    print(f"{len(results)} derivations, {sum(len(r.steps) for r in results)} steps, "
          f"{total:.2f} s of checking in {time.perf_counter() - wall0:.2f} s wall; "
          f"{len(results) - len(bad)} as expected, {len(bad)} not")
    print(f"{sum(len(r.premises) for r in results)} premises assumed, not verified "
          "(listed with --verbose and in --json)")
    print(_road_summary(results))
    if args.json is not None:
        err = write_text(args.json, json.dumps([r.to_dict() for r in results], indent=2) + "\n",
                         args.force)
        if err:
            return error(err, FAILED)
    return 0 if not bad else 1
