"""Per-build state: each derivation is verified once per build, and every failure the
directives find is remembered so that the build fails at its end even without ``-W``.

The cache lives for one Sphinx build (it is reset when the builder starts), never in the
pickled environment: a docs build is a verification run, so results from an earlier
build must not be reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily at run time: the symbolic layer loads SymPy
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

    from ..symbolic.engine import Derivation, DerivationResult

__all__ = ["BuildState", "Verdict", "state", "reset"]


@dataclass(frozen=True)
class Verdict:
    """What one derivation came to in this build: its object and result, or the error that
    prevented building or verifying it (``derivation``/``result`` are then ``None``)."""

    name: str
    derivation: Derivation | None
    result: DerivationResult | None
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok and not self.error

    def problem(self) -> str:
        """The report to show when not ``ok`` ('' when ok)."""
        if self.error:
            return self.error
        if self.result is not None and not self.result.ok:
            return self.result.report()
        return ""


@dataclass
class BuildState:
    seed: int = 0
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    verify_calls: int = 0  # how many times a derivation was verified in this build

    def verdict(self, name: str) -> Verdict:
        """The derivation ``name`` built and verified, once per build."""
        if name not in self.verdicts:
            self.verdicts[name] = self._verify(name)
        return self.verdicts[name]

    def _verify(self, name: str) -> Verdict:
        from ..symbolic import registry

        try:
            d = registry.get(name)
        except registry.UnknownDerivationError as exc:
            return Verdict(name, None, None, str(exc))
        except Exception as exc:  # a builder that raises is a failure, never a skip
            return Verdict(name, None, None,
                           f"derivation {name!r} could not be built: {type(exc).__name__}: {exc}")
        try:
            self.verify_calls += 1
            result = d.verify(seed=self.seed)
        except Exception as exc:
            return Verdict(name, d, None,
                           f"derivation {name!r} raised while verifying: "
                           f"{type(exc).__name__}: {exc}")
        return Verdict(name, d, result)


_STATES: dict[int, BuildState] = {}


def reset(app: Sphinx) -> None:
    """Start a fresh state for the build ``app`` runs (connected to ``builder-inited``)."""
    _STATES[id(app.env)] = BuildState(seed=app.config.ddpm_verify_seed)


def state(env: BuildEnvironment) -> BuildState:
    """The state of the build that uses ``env`` (created on first use)."""
    if id(env) not in _STATES:
        _STATES[id(env)] = BuildState(seed=env.config.ddpm_verify_seed)
    return _STATES[id(env)]
