"""Check your own identities: ``ddpm_theory.check("alpha_t = 1 - beta_t")``.

* :func:`check` answers *true*, *false* (with a counterexample) or *could not decide*
  (with the reason) for one identity or inequality, in plain SymPy syntax or LaTeX;
* :mod:`.names` is the vocabulary (every name with its symbol and declared domain);
* :mod:`.parse` reads the input; :mod:`.assume` narrows domains by stated assumptions.
"""

from .assume import Assumption, AssumptionError, parse_assumption
from .check import CheckResult, Verdict, check, identity_derivation
from .names import DEFINABLE, DEFINED, QUANTITIES, UnknownSymbolError, close_names, vocabulary
from .parse import ParsedRelation, ParseError, parse_expression, parse_relation

__all__ = [
    "Assumption", "AssumptionError", "CheckResult", "DEFINABLE", "DEFINED", "ParseError",
    "ParsedRelation", "QUANTITIES", "UnknownSymbolError", "Verdict", "check", "close_names",
    "identity_derivation", "parse_assumption", "parse_expression", "parse_relation",
    "vocabulary",
]
