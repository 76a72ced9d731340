"""The catalogue: every checkable claim of the source documents and of Ho et al. (2020).

``proofs/catalogue.toml`` is the single source.  Each entry names where a claim is made
(``source``, ``location``), states it (``claim``, LaTeX, for reading; ``formula``, SymPy
syntax, for checking), and records its ``verdict``:

* ``verified`` / ``refuted`` -- the claim as written holds / fails;
* ``imprecise`` -- false as written, true under the charitable reading stated in
  ``reading`` (its formula ``reading_formula``, decided by ``reading_decided_by``): both
  readings are checked, the first must be refuted and the second verified;
* ``conditional`` -- true under the conditions stated in ``reading``, which the formula's
  symbol domains (or the deciding derivation's premises) encode;
* ``not-checkable`` -- a definition, a design choice, an opinion or a question; ``reason``
  says which.

What decides a checkable entry (``decided_by``) is either a registered derivation
(``"name"`` or ``"name::part title"``), whose deciding relation the entry's ``formula``
must be, or ``"formula"``: the formula itself, evaluated at points of its declared
``symbols``' domains by :func:`ddpm_theory.catalogue_checks.evaluate`.
:meth:`Entry.compute_verdict` recomputes any checkable verdict, so the file cannot drift
from the mathematics.

Examples
--------
>>> entries = load()
>>> sorted({e.verdict for e in entries}) == sorted(VERDICTS)
True
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

__all__ = [
    "Entry",
    "Counterexample",
    "Decision",
    "BY_FORMULA",
    "CatalogueError",
    "DOCUMENTS",
    "HO",
    "SOURCES",
    "VERDICTS",
    "FIELDS",
    "default_path",
    "load",
    "parse",
    "counts",
    "part_status",
]

#: the four source documents (citation key -> title and author), in order
DOCUMENTS: dict[str, str] = {
    "Yi 2023": ("Understanding the Denoising Diffusion Probabilistic Model, the Socratic Way "
                "(W. Yi, 2023)"),
    "VAE/VDM notes": ("Variational Autoencoders: notes on VAEs and variational diffusion "
                      "models (no author named)"),
    "DDPM notes, Part 2": ("Denoising diffusion probabilistic models (Part 2: Theoretical "
                           "justification) (no author named)"),
    "Sahai et al. (homework)": ("Diffusion, Denoising, and Deep Networks (homework; A. Sahai, "
                                "J. Hong, M. Lam, M. Lindblad, A. Liu)"),
}
HO = "Ho et al. 2020"
#: every valid ``source`` value
SOURCES: tuple[str, ...] = (*DOCUMENTS, HO)
VERDICTS: tuple[str, ...] = ("verified", "refuted", "imprecise", "conditional", "not-checkable")
#: ``decided_by`` of an entry decided by evaluating its own formula
BY_FORMULA = "formula"
#: the fields of an entry, in file order (``reason`` and ``note`` may be empty)
FIELDS: tuple[str, ...] = (
    "id", "source", "location", "quote", "claim", "verdict", "decided_by", "reason", "note",
    "formula", "symbols", "reading", "reading_formula", "reading_decided_by",
)
_TEXT = tuple(f for f in FIELDS if f != "symbols")
_REQUIRED = ("id", "source", "location", "claim", "verdict")
PART_SEPARATOR = "::"


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Counterexample:
    """Where a refuted claim fails: the first refuted step of the deciding derivation
    (or part), the point of the 50-digit check and the values of both sides there; for a
    formula-decided claim (``derivation == "formula"``), the relation that failed (as
    ``part``), the point and both sides' values at 30 digits."""

    derivation: str
    part: str
    step: int            # index of the step within its part
    point: dict[str, str]  # symbol -> value ({} when the step has no free symbol)
    lhs: str             # value of the expression before the step (derived, verified)
    rhs: str             # value of the refuted step's expression (the source's claim)

    def text(self, digits: int = 6) -> str:
        """``at v = 0.1, x = 2: derived -73.49, claimed 0`` (values to ``digits`` digits)."""
        def short(v: str) -> str:
            try:
                return f"{float(v):.{digits}g}"
            except ValueError:
                return v

        where = ", ".join(f"{k} = {short(v)}" for k, v in self.point.items())
        a, b = (("left side", "right side") if self.derivation == BY_FORMULA
                else ("derived", "claimed"))
        return (f"{'at ' + where + ': ' if where else ''}{a} {short(self.lhs)}, "
                f"{b} {short(self.rhs)}")

    def to_dict(self) -> dict[str, Any]:
        return {"derivation": self.derivation, "part": self.part, "step": self.step,
                "point": dict(self.point), "lhs": self.lhs, "rhs": self.rhs}


@dataclass(frozen=True)
class Decision:
    """What one reading of an entry computes: its status and, where it fails (or, for a
    ``!=`` claim, where it holds), the counterexample."""

    status: str                  # "verified", "refuted" or "failed"
    counterexample: Counterexample | None = None


@dataclass(frozen=True)
class Entry:
    """One claim of one source, with its verdict and what decides it."""

    id: str
    source: str            # a key of DOCUMENTS, or "Ho et al. 2020"
    location: str          # line, equation number or section, with a readable quotation
    claim: str             # LaTeX
    verdict: str           # one of VERDICTS
    quote: str = ""        # the source's words verbatim (whitespace aside), LaTeX included
    decided_by: str = ""   # "derivation", "derivation::part title" or "formula"
    reason: str = ""       # why not checkable
    note: str = ""         # for refuted claims: the correct statement
    formula: str = ""      # the claim as written, SymPy syntax (see catalogue_checks)
    symbols: tuple[tuple[str, str], ...] = ()  # (name, domain) of a formula-decided entry
    reading: str = ""      # imprecise: the charitable reading; conditional: the conditions
    reading_formula: str = ""     # imprecise: the charitable reading's formula
    reading_decided_by: str = ""  # imprecise: what decides the charitable reading

    # -- what decides it -------------------------------------------------------------
    @property
    def checkable(self) -> bool:
        return self.verdict != "not-checkable"

    @property
    def by_formula(self) -> bool:
        return self.decided_by == BY_FORMULA

    @property
    def by_derivation(self) -> bool:
        return bool(self.decided_by) and not self.by_formula

    @property
    def derivation(self) -> str | None:
        """The registered derivation's name (None for a formula-decided or an undecided
        entry)."""
        return _ref(self.decided_by)[0] if self.by_derivation else None

    @property
    def part(self) -> str | None:
        """The part title, when the entry is decided by one part of a derivation."""
        return _ref(self.decided_by)[1] if self.by_derivation else None

    @property
    def kind(self) -> str:
        """How the verdict is decided: "derivation part", "derivation", "formula" or ""."""
        if self.by_formula:
            return "formula"
        if self.by_derivation:
            return "derivation part" if self.part else "derivation"
        return ""

    @property
    def source_title(self) -> str:
        return DOCUMENTS.get(self.source, self.source)

    def decide(self, results: Mapping[str, Any] | None = None, charitable: bool = False
               ) -> Decision:
        """Decide the claim as written (or, with ``charitable``, its charitable reading).
        ``results`` maps derivation names to computed results (each run once)."""
        ref = self.reading_decided_by if charitable else self.decided_by
        formula = self.reading_formula if charitable else self.formula
        if ref == BY_FORMULA:
            from .catalogue_checks import evaluate

            ev = evaluate(formula, dict(self.symbols))
            ce = (Counterexample(BY_FORMULA, ev.relation, 0, ev.point, ev.lhs, ev.rhs)
                  if ev.point else None)
            return Decision(ev.status, ce)
        name, part = _ref(ref)
        res = _result(name, results)
        status = res.status.value if part is None else part_status(res, part)
        ce = None
        for st in res.steps:
            if (part is None or st.part == part) and st.status.value == "refuted":
                ce = Counterexample(name, st.part, st.index, dict(st.counterexample or {}),
                                    st.lhs_value, st.rhs_value)
                break
        return Decision(status, ce)

    def compute_verdict(self, results: Mapping[str, Any] | None = None) -> str:
        """Recompute the verdict: "verified", "refuted", "imprecise", "conditional", or a
        description of what was computed instead ("failed", "imprecise? as written
        verified, ...")."""
        if not self.checkable:
            raise ValueError(f"entry {self.id!r} is not checkable")
        got = self.decide(results).status
        if self.verdict == "imprecise":
            read = self.decide(results, charitable=True).status
            if (got, read) == ("refuted", "verified"):
                return "imprecise"
            return f"as written {got}, as read {read}"
        if self.verdict == "conditional" and got == "verified":
            return "conditional"
        return got

    def counterexample(self, results: Mapping[str, Any] | None = None) -> Counterexample | None:
        """Where a refuted (or imprecise, as written) entry fails; None otherwise."""
        if self.verdict not in ("refuted", "imprecise"):
            return None
        return self.decide(results).counterexample

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {f: getattr(self, f) for f in FIELDS}
        d["symbols"] = dict(self.symbols)
        return d


def _ref(ref: str) -> tuple[str, str | None]:
    """``"name::part"`` -> (name, part); ``"name"`` -> (name, None)."""
    if PART_SEPARATOR not in ref:
        return ref.strip(), None
    name, part = ref.split(PART_SEPARATOR, 1)
    return name.strip(), part.strip()


def _result(name: str, results: Mapping[str, Any] | None) -> Any:
    if results is not None and name in results:
        return results[name]
    from .symbolic import registry

    return registry.get(name).verify()


def part_status(result: Any, title: str) -> str:
    """The verdict of one part: failed if a step failed, refuted if a (claimed-false)
    step was refuted, else verified.  Unknown titles raise, listing the known ones."""
    steps = [s for s in result.steps if s.part == title]
    if not steps:
        known = list(dict.fromkeys(s.part for s in result.steps))
        raise CatalogueError(
            f"derivation {result.name!r} has no part {title!r}; its parts: {known}"
        )
    values = {s.status.value for s in steps}
    if "failed" in values:
        return "failed"
    return "refuted" if "refuted" in values else "verified"


def default_path() -> Path:
    """``proofs/catalogue.toml`` of the source tree (next to the package), or the copy
    installed as package data (``ddpm_theory/data/catalogue.toml``)."""
    here = Path(__file__).resolve().parent
    candidates = (here.parent / "proofs" / "catalogue.toml", here / "data" / "catalogue.toml")
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(
        "the catalogue file was not found; looked in "
        + ", ".join(str(c) for c in candidates)
    )


def _check_row(row: Mapping[str, Any], label: str) -> None:
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise CatalogueError(f"{label}: unknown field(s) {unknown}; fields are {FIELDS}")
    for f in _REQUIRED:
        if not isinstance(row.get(f), str) or not row[f].strip():
            raise CatalogueError(f"{label}: missing or empty field {f!r}")
    for f in _TEXT:
        if f in row and not isinstance(row[f], str):
            raise CatalogueError(f"{label}: field {f!r} must be a string")
    syms = row.get("symbols", {})
    if not isinstance(syms, Mapping) or not all(isinstance(v, str) for v in syms.values()):
        raise CatalogueError(f"{label}: 'symbols' is a table name = \"domain\"")


def _entry(row: Mapping[str, Any]) -> Entry:
    fields: dict[str, Any] = {f: row.get(f, "").strip() for f in _TEXT}
    return Entry(**fields, symbols=tuple(row.get("symbols", {}).items()))


def _validate(e: Entry, label: str) -> None:
    if e.source not in SOURCES:
        raise CatalogueError(f"{label}: unknown source {e.source!r}; valid: {list(SOURCES)}")
    if e.verdict not in VERDICTS:
        raise CatalogueError(f"{label}: unknown verdict {e.verdict!r}; valid: {list(VERDICTS)}")
    if not e.checkable:
        if not e.reason:
            raise CatalogueError(f"{label}: a not-checkable entry needs a reason")
        if e.decided_by or e.formula:
            raise CatalogueError(f"{label}: a not-checkable entry is decided by nothing "
                                 "and has no formula")
        return
    if not e.decided_by:
        raise CatalogueError(f"{label}: a {e.verdict} entry needs decided_by")
    if e.decided_by.startswith("tests/"):
        raise CatalogueError(f"{label}: decided_by names a test; name a derivation "
                             "(or part) or 'formula', which `catalogue --check` can run")
    if not e.formula:
        raise CatalogueError(f"{label}: a {e.verdict} entry needs its formula")
    if (e.by_formula or e.reading_decided_by == BY_FORMULA) and not e.symbols:
        raise CatalogueError(f"{label}: a formula-decided entry declares its symbols")
    if e.verdict == "refuted" and not e.note:
        raise CatalogueError(f"{label}: a refuted entry needs a note with the correct "
                             "statement")
    if e.verdict in ("imprecise", "conditional") and not e.reading:
        raise CatalogueError(f"{label}: an {e.verdict} entry states its reading "
                             "(the charitable reading, or the conditions)")
    if e.verdict == "imprecise" and not (e.reading_formula and e.reading_decided_by):
        raise CatalogueError(f"{label}: an imprecise entry needs reading_formula and "
                             "reading_decided_by (the charitable reading, checked)")


def parse(data: Mapping[str, Any], where: str = "catalogue") -> list[Entry]:
    """Validate the parsed TOML (a table with an array ``claim`` of tables)."""
    rows = data.get("claim")
    if not isinstance(rows, list) or not rows:
        raise CatalogueError(f"{where}: expected a non-empty array of [[claim]] tables")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for k, row in enumerate(rows, start=1):
        label = f"{where}, entry {k}" + (f" ({row.get('id')!r})" if "id" in row else "")
        _check_row(row, label)
        e = _entry(row)
        if e.id in seen:
            raise CatalogueError(f"{label}: duplicate id {e.id!r} (first at entry {seen[e.id]})")
        seen[e.id] = k
        _validate(e, label)
        entries.append(e)
    return entries


def load(path: str | Path | None = None) -> list[Entry]:
    """The catalogue's entries, validated, in file order."""
    p = Path(path) if path is not None else default_path()
    with p.open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise CatalogueError(f"{p}: not valid TOML ({exc})") from None
    return parse(data, where=str(p))


def counts(entries: Iterable[Entry]) -> dict[str, dict[str, int]]:
    """{source: {verdict: count}} with every source and verdict present (zeros too)."""
    c = Counter((e.source, e.verdict) for e in entries)
    return {s: {v: c[(s, v)] for v in VERDICTS} for s in SOURCES}
