"""The pytest plugin: every derivation of a module or package as a test item.

Installed with the package (entry point ``pytest11``: ``ddpm_theory``) and inactive
unless asked for::

    pytest --ddpm-derivations=my_derivations.py            # a file
    pytest --ddpm-derivations=mypkg.derivations            # a module or package

Each derivation becomes the item ``<module>::<derivation name>``; it passes when the
derivation reaches its expected verdict and fails with the failing step, its rule and
its counterexample (:func:`ddpm_theory.testing.failure_report`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

OPTION = "--ddpm-derivations"


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("ddpm_theory")
    group.addoption(OPTION, action="append", default=[], metavar="MODULE",
                    help="collect every derivation of MODULE (a .py file, a package folder, "
                         "or a dotted name) as a test item; repeatable")
    group.addoption("--ddpm-seed", type=int, default=0,
                    help="seed of the derivations' numeric checks (default 0)")


class DerivationItem(pytest.Item):
    """One derivation as a test item."""

    def __init__(self, *, derivation: Any, seed: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.derivation = derivation
        self.seed = seed

    def runtest(self) -> None:
        """Verify the derivation; it must reach its expected verdict."""
        from . import assert_derivation

        assert_derivation(self.derivation, seed=self.seed)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        """The failing steps, their rules and counterexamples (no Python traceback)."""
        from ..symbolic.engine import DerivationError

        if isinstance(excinfo.value, DerivationError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Where the item comes from, for pytest's report."""
        return self.path, None, f"derivation {self.derivation.name}"


class DerivationModule(pytest.Collector):
    """The derivations of one ``--ddpm-derivations`` module."""

    def __init__(self, *, spec: str, seed: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.spec = spec
        self.seed = seed

    def collect(self) -> list[pytest.Item]:
        """One item per derivation of the module(s)."""
        from ..usermodule import collect

        return [DerivationItem.from_parent(self, name=d.name, derivation=d, seed=self.seed)
                for d in collect(self.spec)]


def pytest_collection_modifyitems(session: Any, config: Any, items: list) -> None:
    specs = config.getoption(OPTION)
    if not specs:
        return
    seed = config.getoption("--ddpm-seed")
    for spec in specs:
        path = Path(spec)
        node = DerivationModule.from_parent(
            session, name=spec, nodeid=spec, spec=spec, seed=seed,
            path=path.resolve() if path.exists() else Path.cwd())
        rep = pytest.CollectReport(node.nodeid, "passed", None, [])
        try:
            items.extend(node.collect())
        except Exception as exc:  # a user module that does not import: a collection error
            rep = pytest.CollectReport(node.nodeid, "failed", f"{spec}: {exc}", [])
        config.hook.pytest_collectreport(report=rep)
