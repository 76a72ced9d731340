"""``ddpm-theory catalogue``: the claims of the sources, with their verdicts.

The list names each source by its citation key, with a legend of the keys' titles and
authors, and counts per source and verdict; each refuted (or imprecise) entry is followed
by its counterexample (the point and the values of both sides there). ``--check``
recomputes every checkable verdict, whatever decides it, and confirms each
derivation-decided formula is its deciding relation. ``--id ID`` prints one entry whole
(quote, formula, readings, the deciding check and the recomputed verdict); ``--json``
carries every field, the source's title, the deciding kind and the counterexample.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._io import FAILED, DefaultsHelpFormatter, error, refuse_overwrite, write_text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "catalogue",
        help="list the catalogued claims of the sources and their verdicts",
        formatter_class=DefaultsHelpFormatter,
        description=(
            "Print the catalogue of claims (proofs/catalogue.toml) with counts per source "
            "and verdict, and the counterexample of each refuted claim. --check recomputes "
            "every checkable verdict (derivation, derivation part or the entry's own "
            "formula), confirms that each derivation-decided formula is the deciding "
            "step's relation, and exits non-zero on any disagreement."
        ),
    )
    p.add_argument("--source", metavar="NAME",
                   help="only this source (its citation key, e.g. 'Yi 2023' or 'Ho et al. 2020')")
    p.add_argument("--verdict", metavar="V", help="only this verdict")
    p.add_argument("--id", metavar="ID", dest="entry_id", help="print this one entry whole")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the entries as JSON")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.add_argument("--check", action="store_true",
                   help="recompute every checkable verdict")
    p.add_argument("--file", type=Path, metavar="TOML", help="another catalogue file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _error(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    from .. import catalogue as cat

    try:
        entries = cat.load(args.file)
    except (cat.CatalogueError, FileNotFoundError) as exc:
        return _error(str(exc))
    if args.source is not None and args.source not in cat.SOURCES:
        return _error(f"unknown source {args.source!r}; valid sources: "
                      + ", ".join(repr(s) for s in cat.SOURCES))
    if args.verdict is not None and args.verdict not in cat.VERDICTS:
        return _error(f"unknown verdict {args.verdict!r}; valid verdicts: "
                      + ", ".join(cat.VERDICTS))
    if args.json is not None:
        err = refuse_overwrite(args.json, args.force)
        if err:
            return _error(err)
    shown = [e for e in entries
             if (args.source is None or e.source == args.source)
             and (args.verdict is None or e.verdict == args.verdict)
             and (args.entry_id is None or e.id == args.entry_id)]
    if args.entry_id is not None and not shown:
        near = [e.id for e in entries if args.entry_id.lower() in e.id.lower()][:8]
        return _error(f"no entry with id {args.entry_id!r} (after --source/--verdict)"
                      + (f"; ids containing it: {', '.join(near)}" if near else
                         "; 'ddpm-theory catalogue' lists every id"))
    need = {n for e in shown for n in _names(e)
            if args.check or args.entry_id is not None or e.verdict in ("refuted", "imprecise")}
    results = _results(sorted(need), args.no_progress)
    if args.entry_id is not None:
        _print_entry(cat, shown[0], results)
    else:
        _print_list(cat, shown, entries, results)
    status = _check(cat, shown, results) if args.check else 0
    if args.json is not None:
        full = args.check or args.entry_id is not None
        err = write_text(args.json, json.dumps([_entry_json(e, results, full) for e in shown],
                                               indent=2, ensure_ascii=False) + "\n", args.force)
        if err:
            return error(err, FAILED)
        print(f"wrote {args.json}")
    return status


def _names(e: Any) -> list[str]:
    """The derivations an entry's readings name."""
    from ..catalogue import _ref

    return [_ref(r)[0] for r in (e.decided_by, e.reading_decided_by)
            if r and r != "formula"]


def _results(names: list[str], no_progress: bool) -> dict[str, Any]:
    """Each named derivation verified once (a progress bar over them); an unknown name
    is left out (``--check`` reports it)."""
    from tqdm.auto import tqdm

    from ..symbolic import registry

    out: dict[str, Any] = {}
    for name in tqdm(names, desc="derivations", unit="derivation", file=sys.stderr,
                     disable=no_progress or not names):
        try:
            out[name] = registry.get(name).verify()
        except registry.UnknownDerivationError:
            continue
    return out


def _counterexample(e: Any, results: dict[str, Any]) -> Any:
    if e.verdict not in ("refuted", "imprecise") or (e.by_derivation
                                                    and e.derivation not in results):
        return None
    try:
        return e.counterexample(results)
    except Exception:  # noqa: BLE001 - a broken entry is reported by --check, not here
        return None


def _print_list(cat: Any, shown: list[Any], entries: list[Any], results: dict[str, Any]) -> None:
    header = f"{'id':<32} {'verdict':<13} {'source':<24} {'decided by':<40} location"
    print(header)
    print("-" * len(header))
    for e in shown:
        by = e.decided_by or f"({_short(e.reason, 36)})"
        print(f"{e.id:<32} {e.verdict:<13} {_short(e.source, 24):<24} {_short(by, 40):<40} "
              f"{_short(e.location, 40)}")
        if e.verdict in ("refuted", "imprecise"):
            ce = _counterexample(e, results)
            text = ce.text() if ce is not None else "none found (see --check)"
            print(f"{'':<4}counterexample{' (as written)' if e.verdict == 'imprecise' else ''}"
                  f": {text}")
    print("-" * len(header))
    table = cat.counts(shown)
    print(f"{'source':<24} " + " ".join(f"{v:>13}" for v in cat.VERDICTS) + f" {'total':>6}")
    for src, row in table.items():
        if sum(row.values()):
            print(f"{_short(src, 24):<24} " + " ".join(f"{row[v]:>13}" for v in cat.VERDICTS)
                  + f" {sum(row.values()):>6}")
    print(f"{len(shown)} of {len(entries)} entries; 'ddpm-theory catalogue --id ID' prints one "
          f"whole")
    from ..symbolic.citation import SOURCES

    print("sources:")
    for src in table:
        if sum(table[src].values()):
            title = cat.DOCUMENTS.get(src) or SOURCES[src].reference
            print(f"  {src:<24} {title}")


def _print_entry(cat: Any, e: Any, results: dict[str, Any]) -> None:
    rows = [("id", e.id), ("source", f"{e.source}: {e.source_title}"), ("location", e.location),
            ("quote", e.quote), ("claim", e.claim), ("formula", e.formula),
            ("symbols", ", ".join(f"{k} in {v}" for k, v in e.symbols)),
            ("verdict", e.verdict), ("decided by", e.decided_by),
            ("reading", e.reading), ("reading formula", e.reading_formula),
            ("reading decided by", e.reading_decided_by),
            ("reason", e.reason), ("note", e.note)]
    ce = _counterexample(e, results)
    if ce is not None:
        rows.append(("counterexample", f"{ce.derivation}, part {ce.part!r}, step {ce.step}: "
                                       f"{ce.text(12)}"))
    if e.checkable:
        rows.append(("computed", _computed(e, results)))
    for k, v in rows:
        if v:
            print(f"{k + ':':<16}{v}")


def _computed(e: Any, results: dict[str, Any]) -> str:
    """The recomputed verdict, or why it could not be computed."""
    try:
        return str(e.compute_verdict(results))
    except Exception as exc:  # noqa: BLE001 - reported, and --check fails on it
        return f"error: {exc}"


def _entry_json(e: Any, results: dict[str, Any], computed: bool = False) -> dict[str, Any]:
    """Every field, the source's title, the deciding kind, the counterexample and (with
    ``computed``, i.e. under --check or --id) the recomputed verdict."""
    d: dict[str, Any] = e.to_dict()
    d["source_title"] = e.source_title
    d["kind"] = e.kind
    ce = _counterexample(e, results)
    d["counterexample"] = None if ce is None else ce.to_dict()
    if computed and e.checkable:
        d["computed"] = _computed(e, results)
    return d


def _check_one(cat: Any, e: Any, results: dict[str, Any]) -> str:
    """Empty when the entry's recorded verdict and formula agree with what is computed;
    else the disagreement."""
    from .. import catalogue_checks as cc
    from ..symbolic import registry

    missing = [n for n in _names(e) if n not in results]
    if missing:
        return f"no registered derivation {missing[0]!r}"
    try:
        got = e.compute_verdict(results)
    except (cat.CatalogueError, cc.FormulaError) as exc:
        return str(exc)
    if got != e.verdict:
        return f"recorded {e.verdict}, computed {got}"
    for ref, text in ((e.decided_by, e.formula), (e.reading_decided_by, e.reading_formula)):
        if ref and ref != cat.BY_FORMULA:
            name, part = cat._ref(ref)
            refuted = e.verdict == "refuted" or (e.verdict == "imprecise" and ref == e.decided_by)
            why = cc.formula_ties(text, registry.get(name), part, refuted)
            if why:
                return f"formula is not the deciding relation of {ref!r}: {why}"
    return ""


def _check(cat: Any, entries: list[Any], results: dict[str, Any]) -> int:
    bad = 0
    checkable = [e for e in entries if e.checkable]
    for e in checkable:
        why = _check_one(cat, e, results)
        if why:
            print(f"MISMATCH {e.id}: {why}", file=sys.stderr)
            bad += 1
    kinds = ", ".join(f"{sum(e.kind == k for e in checkable)} by {k}"
                      for k in ("derivation", "derivation part", "formula"))
    print(f"check: {len(checkable)} verdicts recomputed ({kinds}; {len(results)} derivations) "
          f"and their formulas tied; {bad} disagree")
    return 1 if bad else 0
