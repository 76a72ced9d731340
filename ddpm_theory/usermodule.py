"""Find the derivations of a user's module or package (``verify --module``, the pytest
plugin).

A module's derivations are its module-level :class:`~ddpm_theory.symbolic.Derivation`
objects, in the order they are defined, and the items of a module-level ``DERIVATIONS``
list or tuple; a package contributes those of every module in it.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from .symbolic.engine import Derivation

__all__ = ["UserModuleError", "load", "derivations_in", "collect"]


class UserModuleError(ValueError):
    """A module that cannot be found or imported, or that holds no derivation."""


def load(spec: str) -> list[ModuleType]:
    """``spec`` is a path to a .py file or a package folder, or a dotted module name; the
    modules it names (a package: every module in it)."""
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.exists():
            raise UserModuleError(f"no such file: {spec}")
        if path.is_dir():
            sys.path.insert(0, str(path.resolve().parent))
            return load(path.resolve().name)
        name = f"ddpm_user_{path.stem}_{abs(hash(str(path.resolve())))}"
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise UserModuleError(f"cannot import {spec}: not a Python module")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        module_spec.loader.exec_module(module)
        return [module]
    try:
        module = importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        raise UserModuleError(f"cannot import {spec!r}: {exc} (give a path to a .py file, "
                              "or a module importable from the current directory)") from None
    mods = [module]
    if hasattr(module, "__path__"):
        for info in pkgutil.walk_packages(module.__path__, module.__name__ + "."):
            mods.append(importlib.import_module(info.name))
    return mods


def derivations_in(module: ModuleType) -> list[Derivation]:
    found: list[Derivation] = []
    listed = getattr(module, "DERIVATIONS", None)
    for value in list(vars(module).values()):
        if isinstance(value, Derivation):
            found.append(value)
        elif value is listed and isinstance(listed, (list, tuple)):
            found.extend(v for v in listed if isinstance(v, Derivation))
    return list({id(d): d for d in found}.values())


def collect(spec: str) -> list[Derivation]:
    """Every derivation of the module(s) ``spec`` names; an error if there is none."""
    # a derivation imported into a second module of a package is the same derivation
    found = list({id(d): d for m in load(spec) for d in derivations_in(m)}.values())
    if not found:
        raise UserModuleError(f"{spec}: no derivation found (define Derivation objects at "
                              "module level, or list them in DERIVATIONS)")
    names = [d.name for d in found]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserModuleError(f"{spec}: two derivations named {', '.join(dup)}; rename one")
    return found
