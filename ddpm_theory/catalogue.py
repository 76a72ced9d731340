"""The catalogue: every checkable claim of the source documents and of Ho et al. (2020).

``proofs/catalogue.toml`` is the single source.  Each entry names where a claim is made
(``source``, ``location``), states it (``claim``, LaTeX), and records its ``verdict``:

* ``verified`` / ``refuted`` -- decided by the library, either by a registered derivation
  (``decided_by = "name"`` or ``"name::part title"``) or by a test
  (``decided_by = "tests/catalogue/test_claims.py::test_..."``);
* ``not-checkable`` -- a definition, an empirical or qualitative statement; ``reason``
  says why.

A refuted entry's ``note`` gives the correct statement.  :meth:`Entry.compute_verdict`
re-derives a derivation-decided verdict, so the file cannot drift from the mathematics.

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
VERDICTS: tuple[str, ...] = ("verified", "refuted", "not-checkable")
#: the fields of an entry, in file order (``reason`` and ``note`` may be empty)
FIELDS: tuple[str, ...] = (
    "id", "source", "location", "claim", "verdict", "decided_by", "reason", "note",
)
_REQUIRED = ("id", "source", "location", "claim", "verdict")
PART_SEPARATOR = "::"


class CatalogueError(ValueError):
    """The catalogue file is malformed; the message names the entry and the field."""


@dataclass(frozen=True)
class Counterexample:
    """Where a refuted claim fails: the first refuted step of the deciding derivation
    (or part), the point of the 50-digit check and the values of both sides there."""

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
        return (f"{'at ' + where + ': ' if where else ''}derived {short(self.lhs)}, "
                f"claimed {short(self.rhs)}")

    def to_dict(self) -> dict[str, Any]:
        return {"derivation": self.derivation, "part": self.part, "step": self.step,
                "point": dict(self.point), "lhs": self.lhs, "rhs": self.rhs}


@dataclass(frozen=True)
class Entry:
    """One claim of one source, with its verdict and what decides it."""

    id: str
    source: str            # a key of DOCUMENTS, or "Ho et al. 2020"
    location: str          # equation number, section, or a short quoted phrase
    claim: str             # LaTeX
    verdict: str           # one of VERDICTS
    decided_by: str = ""   # "derivation", "derivation::part title" or a pytest node id
    reason: str = ""       # why not checkable
    note: str = ""         # for refuted claims: the correct statement

    # -- what decides it -------------------------------------------------------------
    @property
    def by_test(self) -> bool:
        return self.decided_by.startswith("tests/")

    @property
    def by_derivation(self) -> bool:
        return bool(self.decided_by) and not self.by_test

    @property
    def derivation(self) -> str | None:
        """The registered derivation's name (None for a test or an undecided entry)."""
        if not self.by_derivation:
            return None
        return self.decided_by.split(PART_SEPARATOR, 1)[0].strip()

    @property
    def part(self) -> str | None:
        """The part title, when the entry is decided by one part of a derivation."""
        if not self.by_derivation or PART_SEPARATOR not in self.decided_by:
            return None
        return self.decided_by.split(PART_SEPARATOR, 1)[1].strip()

    @property
    def source_title(self) -> str:
        return DOCUMENTS.get(self.source, self.source)

    def compute_verdict(self, results: Mapping[str, Any] | None = None) -> str:
        """Re-derive the verdict of a derivation-decided entry: "verified", "refuted",
        or "failed" (the derivation, or the named part, does not reach a verdict).

        ``results`` maps derivation names to already computed
        :class:`~ddpm_theory.symbolic.engine.DerivationResult` objects, so that a caller
        checking many entries runs each derivation once.
        """
        name = self.derivation
        if name is None:
            raise ValueError(f"entry {self.id!r} is not decided by a derivation")
        if results is not None and name in results:
            res = results[name]
        else:
            from .symbolic import registry

            res = registry.get(name).verify()
        if self.part is None:
            return res.status.value
        return part_status(res, self.part)

    def counterexample(self, results: Mapping[str, Any] | None = None) -> Counterexample | None:
        """The counterexample of a refuted, derivation-decided entry (None otherwise, or
        when the derivation refutes no step of the named part). ``results`` as in
        :meth:`compute_verdict`."""
        name = self.derivation
        if self.verdict != "refuted" or name is None:
            return None
        if results is not None and name in results:
            res = results[name]
        else:
            from .symbolic import registry

            res = registry.get(name).verify()
        for s in res.steps:
            if (self.part is None or s.part == self.part) and s.status.value == "refuted":
                return Counterexample(name, s.part, s.index, dict(s.counterexample or {}),
                                      s.lhs_value, s.rhs_value)
        return None

    def to_dict(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in FIELDS}


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


def parse(data: Mapping[str, Any], where: str = "catalogue") -> list[Entry]:
    """Validate the parsed TOML (a table with an array ``claim`` of tables)."""
    rows = data.get("claim")
    if not isinstance(rows, list) or not rows:
        raise CatalogueError(f"{where}: expected a non-empty array of [[claim]] tables")
    entries: list[Entry] = []
    seen: dict[str, int] = {}
    for k, row in enumerate(rows, start=1):
        label = f"{where}, entry {k}" + (f" ({row.get('id')!r})" if "id" in row else "")
        unknown = sorted(set(row) - set(FIELDS))
        if unknown:
            raise CatalogueError(f"{label}: unknown field(s) {unknown}; fields are {FIELDS}")
        for f in _REQUIRED:
            if not isinstance(row.get(f), str) or not row[f].strip():
                raise CatalogueError(f"{label}: missing or empty field {f!r}")
        for f in ("decided_by", "reason", "note"):
            if f in row and not isinstance(row[f], str):
                raise CatalogueError(f"{label}: field {f!r} must be a string")
        e = Entry(**{f: row.get(f, "").strip() for f in FIELDS})
        if e.id in seen:
            raise CatalogueError(f"{label}: duplicate id {e.id!r} (first at entry {seen[e.id]})")
        seen[e.id] = k
        if e.source not in SOURCES:
            raise CatalogueError(f"{label}: unknown source {e.source!r}; valid: {list(SOURCES)}")
        if e.verdict not in VERDICTS:
            raise CatalogueError(
                f"{label}: unknown verdict {e.verdict!r}; valid: {list(VERDICTS)}")
        if e.verdict == "not-checkable":
            if not e.reason:
                raise CatalogueError(f"{label}: a not-checkable entry needs a reason")
            if e.decided_by:
                raise CatalogueError(f"{label}: a not-checkable entry is decided by nothing")
        else:
            if not e.decided_by:
                raise CatalogueError(f"{label}: a {e.verdict} entry needs decided_by")
            if e.by_test and "::test_" not in e.decided_by:
                raise CatalogueError(
                    f"{label}: a test id looks like tests/<file>.py::test_<name>")
        if e.verdict == "refuted" and not e.note:
            raise CatalogueError(f"{label}: a refuted entry needs a note with the correct "
                                 "statement")
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
