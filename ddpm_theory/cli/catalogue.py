"""``ddpm-theory catalogue``: the claims of the sources, with their verdicts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._io import FAILED, DefaultsHelpFormatter, error, refuse_overwrite, write_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "catalogue",
        help="list the catalogued claims of the sources and their verdicts",
        formatter_class=DefaultsHelpFormatter,
        description=(
            "Print the catalogue of claims (proofs/catalogue.toml) with counts per source "
            "and verdict. --check recomputes every derivation-decided verdict and exits "
            "non-zero on any disagreement."
        ),
    )
    p.add_argument("--source", metavar="NAME",
                   help="only this source (a seed file name, or 'Ho et al. 2020')")
    p.add_argument("--verdict", metavar="V", help="only this verdict")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the entries as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--check", action="store_true",
                   help="recompute the derivation-decided verdicts")
    p.add_argument("--file", type=Path, metavar="TOML", help="another catalogue file")
    p.set_defaults(func=run)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def run(args: argparse.Namespace) -> int:
    from .. import catalogue as cat

    try:
        entries = cat.load(args.file)
    except (cat.CatalogueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.source is not None and args.source not in cat.SOURCES:
        print(f"error: unknown source {args.source!r}; valid sources: "
              + ", ".join(repr(s) for s in cat.SOURCES), file=sys.stderr)
        return 2
    if args.verdict is not None and args.verdict not in cat.VERDICTS:
        print(f"error: unknown verdict {args.verdict!r}; valid verdicts: "
              + ", ".join(cat.VERDICTS), file=sys.stderr)
        return 2
    if args.json is not None:
        err = refuse_overwrite(args.json, args.force)
        if err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    shown = [e for e in entries
             if (args.source is None or e.source == args.source)
             and (args.verdict is None or e.verdict == args.verdict)]

    header = f"{'id':<32} {'verdict':<13} {'decided by':<44} location"
    print(header)
    print("-" * len(header))
    for e in shown:
        by = e.decided_by or f"({_short(e.reason, 40)})"
        print(f"{e.id:<32} {e.verdict:<13} {_short(by, 44):<44} {_short(e.location, 50)}")
    print("-" * len(header))
    table = cat.counts(shown)
    print(f"{'source':<34} " + " ".join(f"{v:>13}" for v in cat.VERDICTS) + f" {'total':>6}")
    for src, row in table.items():
        if sum(row.values()):
            print(f"{_short(src, 34):<34} " + " ".join(f"{row[v]:>13}" for v in cat.VERDICTS)
                  + f" {sum(row.values()):>6}")
    print(f"{len(shown)} of {len(entries)} entries")

    status = 0
    if args.check:
        status = _check(cat, shown)
    if args.json is not None:
        err = write_text(args.json, json.dumps([e.to_dict() for e in shown], indent=2,
                                               ensure_ascii=False) + "\n", args.force)
        if err:
            return error(err, FAILED)
    return status


def _check(cat, entries) -> int:
    from ..symbolic import registry

    results = {}
    bad = 0
    for e in entries:
        if not e.by_derivation:
            continue
        name = e.derivation
        try:
            if name not in results:
                results[name] = registry.get(name).verify()
            got = e.compute_verdict(results)
        except (registry.UnknownDerivationError, cat.CatalogueError) as exc:
            print(f"MISMATCH {e.id}: {exc}", file=sys.stderr)
            bad += 1
            continue
        if got != e.verdict:
            print(f"MISMATCH {e.id}: recorded {e.verdict}, computed {got}", file=sys.stderr)
            bad += 1
    n = sum(1 for e in entries if e.by_derivation)
    print(f"check: {n} derivation-decided verdicts recomputed ({len(results)} derivations); "
          f"{bad} disagree")
    return 1 if bad else 0
