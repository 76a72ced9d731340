"""Symbolic derivations (SymPy only): the engine, its registry, and the derivations."""

from . import registry
from .citation import Citation
from .engine import Derivation, DerivationResult, Part, Relation, Status, Step, chain

__all__ = [
    "Citation", "Derivation", "DerivationResult", "Part", "Relation", "Status", "Step",
    "chain", "registry",
]
