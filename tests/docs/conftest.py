"""Fixtures for the docs tests: a registry that is restored after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.engine import Derivation


@pytest.fixture
def register_temporarily() -> Iterator[Callable[[str, Derivation], None]]:
    """Register test-only derivations; the registry is restored afterwards."""
    registry.names()  # load the real derivations first, so only ours are removed
    builders, cache = dict(registry._BUILDERS), dict(registry._CACHE)

    def add(name: str, d: Derivation) -> None:
        registry.register(name)(lambda: d)

    yield add
    registry._BUILDERS.clear()
    registry._BUILDERS.update(builders)
    registry._CACHE.clear()
    registry._CACHE.update(cache)
