"""Likelihood beyond the bound: the exact NLL by the probability-flow ODE
(:func:`ode_nll`), the continuous-time bound (:func:`continuous_bound`), and the
exact Bayes-optimal ε-predictor of a Gaussian mixture (:func:`exact_eps_model`)
against which both are checked. The strided K-step bound is
``elbo_terms(..., steps=K)`` (:meth:`Schedule.respace`)."""

from __future__ import annotations

from .continuous import ContinuousSchedule
from .exact import exact_eps_model, mixture_log_prob
from .ode import ode_nll
from .record import ContinuousBound, OdeNll, OdeSettings, Probe, TraceEstimator
from .vdm import continuous_bound

__all__ = [
    "ContinuousBound",
    "ContinuousSchedule",
    "OdeNll",
    "OdeSettings",
    "Probe",
    "TraceEstimator",
    "continuous_bound",
    "exact_eps_model",
    "mixture_log_prob",
    "ode_nll",
]
