"""Typed results of the likelihood computations, in nats per example and bits per
dimension (nats/(D ln 2)); every mean is over the examples, its ``stderr`` the
sample standard deviation over √B (the audit's convention, ``audit/record.py``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..backend.enums import Choice

__all__ = ["TraceEstimator", "Probe", "OdeSettings", "OdeNll", "ContinuousBound", "mean_se"]

_LN2 = math.log(2.0)


class TraceEstimator(Choice):
    """How the divergence of the ODE's drift is computed.

    * ``exact``: tr ∂ε̂/∂x by D reverse-mode passes (D ≤ 64);
    * ``hutchinson``: vᵀ(∂ε̂/∂x)v with E[vvᵀ] = I (Hutchinson 1989; used for the
      probability-flow ODE by Grathwohl et al. 2019 and Song et al. 2021, Sec. D.2),
      one probe v per example held fixed through the solve.
    """

    EXACT = "exact"
    HUTCHINSON = "hutchinson"


class Probe(Choice):
    """The distribution of a Hutchinson probe: ±1 entries, or N(0, 1) entries."""

    RADEMACHER = "rademacher"
    GAUSSIAN = "gaussian"


def mean_se(v: np.ndarray) -> tuple[float, float]:
    """Mean and standard error (sample std over √n; inf for n < 2)."""
    v = np.asarray(v, dtype=np.float64)
    se = float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.inf
    return float(v.mean()), se


@dataclass(frozen=True)
class OdeSettings:
    """How an ODE likelihood was computed (reported with it)."""

    method: str
    rtol: float
    atol: float
    t_min: float
    T: float
    trace: TraceEstimator
    n_probes: int
    probe: Probe | None
    dequantize_levels: int | None
    prior: str

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "rtol": self.rtol, "atol": self.atol,
                "t_min": self.t_min, "T": self.T, "trace": self.trace.value,
                "n_probes": self.n_probes, "probe": self.probe.value if self.probe else None,
                "dequantize_levels": self.dequantize_levels, "prior": self.prior}


@dataclass(frozen=True, eq=False)
class OdeNll:
    """Per-example NLL −log p_θ(x) by the probability-flow ODE.

    Attributes
    ----------
    nll
        ``(B,)`` nats per example, the mean over the Hutchinson probes (exact trace:
        one value). With dequantisation, the bound E_u[−log p(x + Δu)] − D log Δ.
    probe_nll
        ``(B, P)`` the estimate of each probe (P = 1 for the exact trace).
    dequantization_nats
        The constant −D log Δ added per example (0 without dequantisation).
    D
        Data dimension.
    nfev, n_model_evals
        Right-hand-side evaluations of the solver, and model calls × examples.
    seconds
        Wall-clock time of the whole computation.
    """

    nll: np.ndarray
    probe_nll: np.ndarray
    dequantization_nats: float
    D: int
    nfev: int
    n_model_evals: int
    seconds: float
    settings: OdeSettings

    @property
    def nats(self) -> float:
        return mean_se(self.nll)[0]

    @property
    def stderr(self) -> float:
        """Standard error over examples (includes the probe noise)."""
        return mean_se(self.nll)[1]

    @property
    def bits_per_dim(self) -> float:
        return self.nats / (self.D * _LN2)

    @property
    def probe_sd(self) -> float:
        """The Hutchinson noise of one probe's estimate, nats per example: √(mean over
        examples of the sample variance over probes); NaN with fewer than 2 probes."""
        P = self.probe_nll.shape[1]
        if P < 2:
            return math.nan
        return float(np.sqrt(self.probe_nll.var(axis=1, ddof=1).mean()))

    @property
    def hutchinson_stderr(self) -> float:
        """The part of the mean's standard error due to the probes alone:
        √(Σ_i var_i/P)/B; 0 for the exact trace, NaN with a single probe."""
        P = self.probe_nll.shape[1]
        if self.settings.trace is TraceEstimator.EXACT:
            return 0.0
        if P < 2:
            return math.nan
        var = self.probe_nll.var(axis=1, ddof=1) / P
        return float(np.sqrt(var.sum()) / var.size)

    def to_dict(self) -> dict[str, Any]:
        k = self.D * _LN2
        return {"nats": self.nats, "stderr": self.stderr, "bits_per_dim": self.bits_per_dim,
                "stderr_bits_per_dim": self.stderr / k,
                "hutchinson_stderr": _f(self.hutchinson_stderr), "n": int(self.nll.size),
                "dequantization_nats": self.dequantization_nats, "nfev": self.nfev,
                "n_model_evals": self.n_model_evals, "seconds": self.seconds,
                "settings": self.settings.to_dict()}


@dataclass(frozen=True, eq=False)
class ContinuousBound:
    """The continuous-time bound (Kingma et al. 2021, Sec. 4, with L_∞ of Eq. 15),
    per example: ``prior`` + ``diffusion`` + ``decoder`` = ``total`` ``(B,)`` nats,
    the diffusion term estimated with ``n_times`` stratified times per example."""

    prior: np.ndarray
    diffusion: np.ndarray
    decoder: np.ndarray
    D: int
    n_times: int
    seconds: float

    @property
    def total(self) -> np.ndarray:
        return self.prior + self.diffusion + self.decoder

    def value(self, name: str = "total") -> tuple[float, float]:
        """(mean, standard error) of a term in nats per example."""
        return mean_se(getattr(self, name))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"D": self.D, "n_times": self.n_times, "seconds": self.seconds}
        for name in ("prior", "diffusion", "decoder", "total"):
            m, se = self.value(name)
            out[name] = {"nats": m, "stderr": se, "bits_per_dim": m / (self.D * _LN2)}
        return out


def _f(x: float) -> float | None:
    return None if not math.isfinite(x) else float(x)
