"""Registered derivations; each module registers its builders on import."""
