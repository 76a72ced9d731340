"""ddpm_theory: the theory of denoising diffusion probabilistic models, made checkable.

* :mod:`ddpm_theory.symbolic` derives the identities step by step in SymPy;
* :mod:`ddpm_theory.numeric` checks them with quadrature, QMC and Monte-Carlo;
* :mod:`ddpm_theory.backend` trains small diffusion models with torch;
* :func:`ddpm_theory.elbo_terms` audits a model's ELBO term by term;
* :func:`ddpm_theory.ode_nll` computes its exact likelihood by the probability-flow ODE.

``import ddpm_theory`` is cheap: the public names below are resolved lazily, so
torch is imported only when a torch-backed name is first used.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # symbolic engine
    "Citation": "ddpm_theory.symbolic.engine",
    "Step": "ddpm_theory.symbolic.engine",
    "Derivation": "ddpm_theory.symbolic.engine",
    "DerivationResult": "ddpm_theory.symbolic.engine",
    "Status": "ddpm_theory.symbolic.engine",
    "registry": "ddpm_theory.symbolic",
    "verify": "ddpm_theory.symbolic.registry",
    # your own identities
    "check": "ddpm_theory.identity",
    # domains
    "Domain": "ddpm_theory.domains",
    "DomainError": "ddpm_theory.domains",
    # torch backend
    "Schedule": "ddpm_theory.backend.schedule",
    "Parameterization": "ddpm_theory.backend.enums",
    "VarianceType": "ddpm_theory.backend.enums",
    "DecoderType": "ddpm_theory.backend.enums",
    "LossType": "ddpm_theory.backend.enums",
    "GaussianDiffusion": "ddpm_theory.backend.process",
    "train": "ddpm_theory.backend.train",
    "sample": "ddpm_theory.backend.sample",
    "load_checkpoint": "ddpm_theory.backend.checkpoint",
    "get_dataset": "ddpm_theory.backend.data",
    # audit
    "elbo_terms": "ddpm_theory.audit",
    "ElboTerms": "ddpm_theory.audit",
    # likelihood beyond the bound
    "ode_nll": "ddpm_theory.likelihood",
    "OdeNll": "ddpm_theory.likelihood",
    "continuous_bound": "ddpm_theory.likelihood",
    "ContinuousBound": "ddpm_theory.likelihood",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ddpm_theory' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
