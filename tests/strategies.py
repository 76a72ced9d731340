"""The library's Hypothesis strategies, as its own tests import them (``from strategies
import ...``); they live, public and documented, in :mod:`ddpm_theory.testing.strategies`."""

from ddpm_theory.testing.strategies import *  # noqa: F403
from ddpm_theory.testing.strategies import __all__ as __all__  # noqa: F401
