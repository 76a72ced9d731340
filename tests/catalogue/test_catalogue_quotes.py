"""The catalogue's quotations: each ``quote`` is the source's words verbatim (whitespace
aside), located by line.

The source documents carry no licence that would let the repository hold copies of
them. So every run checks each quote against ``quote_digests.json`` -- the SHA-256 of the
quote's words (whitespace normalised), recorded when the quotes were compared with the
sources -- which catches any edit inside the quotation marks; and the comparison with
the source text itself (marker ``sources``, deselected by default) runs with
``python -m pytest -m sources`` where ``DDPM_THEORY_SOURCES`` names a folder of the four
texts (each identified by its title, as ``ddpm_theory.catalogue.DOCUMENTS`` gives it).
After re-checking a quote against its source, rewrite its digest with
``python tests/catalogue/test_catalogue_quotes.py``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from ddpm_theory import catalogue as cat

ENTRIES = cat.load()
QUOTED = [e for e in ENTRIES if e.quote]
LINE = re.compile(r"^lines? (\d+)(?:-(\d+))?")
DIGESTS = Path(__file__).with_name("quote_digests.json")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _digest(quote: str) -> str:
    return hashlib.sha256(_norm(quote).encode("utf-8")).hexdigest()


def test_quotes_match_the_digests_recorded_against_the_sources():
    recorded = json.loads(DIGESTS.read_text(encoding="utf-8"))
    assert set(recorded) == {e.id for e in QUOTED}, "a quote without a digest, or a stale one"
    for e in QUOTED:
        assert _digest(e.quote) == recorded[e.id], f"{e.id}: the quote differs from the words " \
            "recorded from its source (an edit inside the quotation marks?)"
    # the plausible edit: the source's misspelling corrected
    luo = next(e for e in QUOTED if e.id == "s001-luo-eq53")
    assert _digest(luo.quote.replace("euqation", "equation")) != recorded[luo.id]


def test_quotes_are_located_by_line():
    assert len(QUOTED) >= 35
    unquoted = [e.id for e in ENTRIES if e.source in cat.DOCUMENTS and not e.quote]
    assert not unquoted, f"every entry of a source document quotes it: {unquoted}"
    for e in QUOTED:
        assert e.source in cat.DOCUMENTS, e.id  # Ho et al. is cited by equation
        assert LINE.match(e.location), f"{e.id}: a quote's location starts 'line N'"
        assert e.quote == e.quote.strip() and "\n" not in e.quote, e.id


def _sources() -> dict[str, str]:
    folder = os.environ.get("DDPM_THEORY_SOURCES")
    assert folder, "set DDPM_THEORY_SOURCES to a folder of the four source texts"
    texts = [p.read_text(encoding="utf-8") for p in sorted(Path(folder).glob("*.txt"))]
    out: dict[str, str] = {}
    for key, title in cat.DOCUMENTS.items():
        head = title.split(" (")[0].split(":")[0]
        found = [t for t in texts if head in t[:2000]]
        assert len(found) == 1, f"{key}: {len(found)} texts carry the title {head!r}"
        out[key] = found[0]
    return out


@pytest.mark.sources
def test_quotes_are_verbatim_at_their_line():
    texts = _sources()
    for e in QUOTED:
        lines = texts[e.source].splitlines()
        m = LINE.match(e.location)
        assert m is not None, e.id
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        where = _norm(" ".join(lines[first - 1:last]))
        assert _norm(e.quote) in _norm(texts[e.source]), f"{e.id}: not in the source"
        assert _norm(e.quote) in where, f"{e.id}: not on lines {first}-{last}: {where[:120]!r}"


@pytest.mark.sources
def test_an_edited_quote_is_caught():
    texts = _sources()
    luo = next(e for e in QUOTED if e.id == "s001-luo-eq53")
    assert _norm(luo.quote) in _norm(texts[luo.source])
    # the quote with the source's misspelling corrected is no longer the source's words
    assert _norm(luo.quote.replace("euqation", "equation")) not in _norm(texts[luo.source])


if __name__ == "__main__":  # rewrite the digests from the catalogue's current quotes
    DIGESTS.write_text(json.dumps({e.id: _digest(e.quote) for e in QUOTED}, indent=1,
                                  sort_keys=True) + "\n", encoding="utf-8")
