"""Audit a trained model's variational bound term by term.

:func:`elbo_terms` returns an :class:`ElboTerms` record: L_T, every L_{t−1}
(t = 2..T, by paper timestep), L_0 and the total, each with its standard error in
nats per example and bits per dimension, beside the derived bounds (the closed
form of L_T, the variance-mismatch floors C_t, Bayes-optimal values from an exact
E[x_0|x_t], the data-entropy floor, the L_simple relation) and the violations found.
"""

from __future__ import annotations

from .bounds import bayes_optimal_model, gaussian_bayes_terms
from .evaluate import AuditError
from .record import ElboTerms, Flag, Value
from .terms import elbo_terms
from .trajectory import trajectory_bound

__all__ = [
    "AuditError",
    "ElboTerms",
    "Flag",
    "Value",
    "bayes_optimal_model",
    "elbo_terms",
    "gaussian_bayes_terms",
    "trajectory_bound",
]
