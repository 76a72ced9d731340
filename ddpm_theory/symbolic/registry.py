"""The registry of derivations, enumerated by the CLI, the docs and the tests.

Derivation modules live in :mod:`ddpm_theory.symbolic.derivations`; each registers
builder functions with :func:`register`.  Builders run lazily (building may do SymPy
work) and their results are cached.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from .engine import Derivation, DerivationResult

__all__ = [
    "register", "unregister", "temporary", "names", "get", "all_derivations", "verify",
    "UnknownDerivationError", "check_names",
]

_BUILDERS: dict[str, Callable[[], Derivation]] = {}
_CACHE: dict[str, Derivation] = {}
_LOADED = False


class UnknownDerivationError(KeyError):
    """A name that is not registered; the message lists the known names."""

    def __str__(self) -> str:
        return str(self.args[0])


def register(name: str) -> Callable[[Callable[[], Derivation]], Callable[[], Derivation]]:
    """Decorator: register ``builder`` under ``name`` (which its Derivation must carry)."""

    def deco(builder: Callable[[], Derivation]) -> Callable[[], Derivation]:
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise ValueError(f"derivation {name!r} is registered twice")
        _BUILDERS[name] = builder
        return builder

    return deco


def unregister(name: str) -> None:
    """Remove ``name`` (and its cached derivation) from the registry."""
    _load()
    if name not in _BUILDERS:
        raise UnknownDerivationError(f"unknown derivation {name!r}; nothing to unregister")
    del _BUILDERS[name]
    _CACHE.pop(name, None)


@contextmanager
def temporary(derivation: Derivation) -> Iterator[Derivation]:
    """Register ``derivation`` for the duration of a ``with`` block (tests, docs examples);
    the registry is restored exactly afterwards."""
    _load()
    saved_builders, saved_cache = dict(_BUILDERS), dict(_CACHE)
    _BUILDERS[derivation.name] = lambda: derivation
    _CACHE[derivation.name] = derivation
    try:
        yield derivation
    finally:  # the registry as it was, order included
        _BUILDERS.clear()
        _BUILDERS.update(saved_builders)
        _CACHE.clear()
        _CACHE.update(saved_cache)


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    from . import derivations

    for mod in pkgutil.iter_modules(derivations.__path__):
        if not mod.name.startswith("_"):
            importlib.import_module(f"{derivations.__name__}.{mod.name}")
    _LOADED = True


def names() -> list[str]:
    """Every registered derivation name, in registration order."""
    _load()
    return list(_BUILDERS)


def check_names(selected: Iterable[str]) -> None:
    """Raise :class:`UnknownDerivationError` for the first name not registered, without
    building anything (so that worker processes can build in parallel)."""
    _load()
    for name in selected:
        if name not in _BUILDERS:
            raise UnknownDerivationError(
                f"unknown derivation {name!r}; known derivations: {', '.join(_BUILDERS)}"
            )


def get(name: str) -> Derivation:
    """The derivation registered as ``name``."""
    check_names([name])
    if name not in _CACHE:
        d = _BUILDERS[name]()
        if d.name != name:
            raise ValueError(f"builder registered as {name!r} returned {d.name!r}")
        _CACHE[name] = d
    return _CACHE[name]


def all_derivations() -> list[Derivation]:
    return [get(n) for n in names()]


def verify(selected: Iterable[str] | None = None, seed: int = 0) -> list[DerivationResult]:
    """Verify the selected (default: all) derivations; unknown names raise first."""
    chosen = list(selected) if selected else names()
    ds = [get(n) for n in chosen]
    return [d.verify(seed=seed) for d in ds]
