"""``ddpm-theory check 'LHS = RHS' [--assume ...] [--define NAME]``: check one identity.

Exit status: 0 true, 1 false (a counterexample is printed), 3 could not decide (the
reason is printed), 2 input that cannot be read (the message points at it), 4 the
``--json`` file could not be written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ._io import error, refuse_overwrite, write_text

EXIT = {"true": 0, "false": 1, "could not decide": 3}
#: the --json file could not be written (1 is taken by "false")
NOT_WRITTEN = 4


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check one identity or inequality (true / false with a counterexample / "
             "could not decide)",
        description=(
            "Check 'LHS = RHS' (or <=, >=), in plain SymPy syntax over the notation's names "
            "(beta_t, alphabar_tm1, SNR(t-1), ...) or in LaTeX, with the engine's two lines "
            "(symbolic to exactly 0, and 50 digits at random points of the declared domains). "
            "Exit status: 0 true, 1 false, 3 could not decide, 2 unreadable input."
        ),
    )
    p.add_argument("identity", nargs="?", help="e.g. 'alpha_t = 1 - beta_t'")
    p.add_argument("--assume", action="append", default=[], metavar="BOUND",
                   help="narrow a symbol's domain, e.g. 'beta_t < 0.02' (repeatable)")
    p.add_argument("--define", action="append", default=[], metavar="NAME",
                   help="write out the definition of NAME (betatilde_t, sigma2_t)")
    p.add_argument("--seed", type=int, default=0, help="seed of the numeric check's points")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the answer as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--names", action="store_true",
                   help="list every name a check accepts, with its domain or definition")
    p.set_defaults(func=run)


def names_table() -> str:
    from ..identity.names import ALIASES, DEFINABLE, DEFINED, QUANTITIES
    from ..symbolic.notation import DEFINITIONS, domain_of

    other: dict[str, list[str]] = {}
    for alias, canon in ALIASES.items():
        other.setdefault(canon, []).append(alias)
    lines = ["quantities (free, with their declared domains):"]
    for name, s in QUANTITIES.items():
        extra = f"  (defined as {DEFINITIONS[s]} by the engine)" if s in DEFINITIONS else ""
        extra += f"  (definable: {DEFINABLE[name][1]})" if name in DEFINABLE else ""
        also = f"  also {', '.join(other[name])}" if name in other else ""
        lines.append(f"  {name:<16} {domain_of(s).interval_text():<22}{also}{extra}")
    lines.append("definitions (always written out):")
    for name, (_, text) in DEFINED.items():
        also = f"  also {', '.join(other[name])}" if name in other else ""
        lines.append(f"  {name:<16} {text}{also}")
    lines.append("functions: SNR(t), SNR(t-1), sqrt, log, exp, Abs; constants pi, numbers")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from ..identity import ParseError, UnknownSymbolError, check

    if args.names:
        print(names_table())
        return 0
    if not args.identity:
        print("error: give an identity, e.g. ddpm-theory check 'alpha_t = 1 - beta_t'",
              file=sys.stderr)
        return 2
    if args.json is not None:
        err = refuse_overwrite(args.json, args.force)
        if err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    try:
        result = check(args.identity, assume=args.assume, define=args.define, seed=args.seed)
    except (ParseError, UnknownSymbolError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(result.explain())
    if args.json is not None:
        err = write_text(args.json, json.dumps(to_dict(result), indent=2) + "\n", args.force)
        if err:
            return error(err, NOT_WRITTEN)
    return EXIT[result.verdict.value]


def to_dict(result) -> dict:
    w = result.without_assumptions
    return {
        "identity": result.text, "verdict": result.verdict.value, "relation": result.op,
        "lhs": str(result.lhs), "rhs": str(result.rhs), "reason": result.reason,
        "counterexample": dict(result.counterexample) if result.counterexample else None,
        "lhs_value": result.lhs_value, "rhs_value": result.rhs_value,
        "method": result.method, "assumptions": list(result.assumptions),
        "defined": list(result.defined), "domains": dict(result.domains),
        "false_without_assumptions": to_dict(w) if w is not None else None,
    }
