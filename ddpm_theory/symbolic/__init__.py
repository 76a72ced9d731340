"""Symbolic derivations (SymPy only): the engine, its registry, and the derivations."""

from . import registry
from .certificates import Apply, LogGap, TangentLine
from .citation import Citation
from .engine import Derivation, DerivationResult, Part, Premise, Relation, Status, Step, chain

__all__ = [
    "Apply", "Citation", "Derivation", "DerivationResult", "LogGap", "Part", "Premise", "Relation",
    "Status", "Step", "TangentLine", "chain", "registry",
]
