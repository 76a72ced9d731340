"""The typed result of an audit: :class:`ElboTerms`, with its renderings.

**Index convention** (stated once, for the whole audit): transitions are reported
by their **paper timestep t**, the term being L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖
p_θ(x_{t−1}|x_t)) for t = 2..T (Ho et al. 2020, Eq. 5). Every per-transition array
below has one entry per reported t, in increasing order, and ``transitions_t``
holds those t; L_0 (the decoder, t = 1) and L_T (the prior) are separate fields.

Units: nats per example (summed over the D data dimensions); bits per dimension
= nats/(D ln 2). Every mean is over the audited examples x_0^(1..B); its
``stderr`` is the sample standard deviation of the per-example estimates over √B:
the standard error of the mean as an estimate of the expectation over the data
law the examples were drawn from (and a conservative one for the mean over these
fixed examples). ``math.inf`` when fewer than two estimates exist.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Value", "Flag", "TermGroup", "ElboTerms"]

_LN2 = math.log(2.0)


@dataclass(frozen=True)
class Value:
    """A mean over examples (nats per example) with its standard error and count."""

    nats: float
    stderr: float
    n: int

    def bits_per_dim(self, D: int) -> float:
        return self.nats / (D * _LN2)

    def to_dict(self, D: int) -> dict[str, Any]:
        return {"nats": _f(self.nats), "bits_per_dim": _f(self.bits_per_dim(D)),
                "stderr": _f(self.stderr), "stderr_bits_per_dim": _f(self.stderr / (D * _LN2)),
                "n": int(self.n)}


@dataclass(frozen=True)
class Flag:
    """A term compared with a bound and found on the wrong side of it.

    ``kind``: ``below_bayes``, ``below_entropy``, ``below_floor``,
    ``prior_mismatch``, ``lsimple_mismatch`` (violations: impossible for a correct
    audit of examples drawn from the stated law) or ``above_bayes`` (a departure:
    the model is significantly worse than Bayes-optimal, or the audit is
    mis-specified: wrong parameterisation or schedule). ``z`` is
    (value − bound)/stderr (±inf for a deterministic comparison).
    """

    kind: str
    term: str
    t: int | None
    value: float
    bound: float
    stderr: float
    z: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "term": self.term, "t": self.t, "value": _f(self.value),
                "bound": _f(self.bound), "stderr": _f(self.stderr), "z": _f(self.z),
                "message": self.message}


@dataclass(frozen=True)
class TermGroup:
    """The transitions L_{t−1} with t_lo ≤ t ≤ t_hi, summed (per example, then averaged).

    ``value``, ``bayes``, ``gap`` (paired) and ``floor`` (Σ C_t) are sums over the
    range with their stderrs over examples (:mod:`~ddpm_theory.audit.groups`);
    ``n_flagged`` counts the t in the range with a flag (violation or departure).
    """

    t_lo: int
    t_hi: int
    value: Value
    bayes: Value | None
    gap: Value | None
    floor: Value
    n_flagged: int

    def to_dict(self, D: int) -> dict[str, Any]:
        def opt(x: Value | None) -> dict[str, Any] | None:
            return None if x is None else x.to_dict(D)

        return {"t_lo": self.t_lo, "t_hi": self.t_hi, "sum": self.value.to_dict(D),
                "bayes": opt(self.bayes), "gap": opt(self.gap), "floor": self.floor.to_dict(D),
                "n_flagged": self.n_flagged}


@dataclass(frozen=True, eq=False)
class ElboTerms:
    """The variational bound of a model, term by term, with the bounds beside it.

    L_vlb = L_T + Σ_{t=2}^T L_{t−1} + L_0 (Ho et al. 2020, Eq. 5); see the module
    docstring for the index convention and units. Arrays are float64 numpy; M is
    the number of reported transitions, B the number of examples.
    """

    D: int  # data dimension
    T: int  # diffusion steps
    n_examples: int  # B
    mode: str  # "monte_carlo" or "quadrature"
    timesteps: str  # "all", "stratified", "importance" or "explicit"
    n_timesteps: int  # transition slots per example (T − 1 for "all")
    parameterization: str
    variance: str
    decoder: str
    prior: Value  # L_T, closed form per example (stderr: spread over examples)
    prior_check: float  # max |L_T(torch KL) − L_T(closed form)| over examples, nats
    transitions_t: np.ndarray  # (M,) int64, paper t of each reported L_{t−1}
    transitions: np.ndarray  # (M,) nats per example
    transitions_stderr: np.ndarray  # (M,)
    transitions_n: np.ndarray  # (M,) int64, per-example estimates behind each mean
    variance_floor: np.ndarray  # (M,) C_t, the floor of L_{t−1} (mean over rows if learned σ²)
    mse_eps: np.ndarray  # (M,) E‖ε − ε_θ‖² summed over D
    mse_eps_stderr: np.ndarray  # (M,)
    lambda_t: np.ndarray  # (M,) λ_t with L_{t−1} = λ_t·MSE_t + C_t (ratio if σ² is learned)
    lsimple_residual: float  # max over rows |L_{t−1} − (λ_t‖ε − ε_θ‖² + C_t)|/(|L_{t−1}| + D)
    bayes: np.ndarray | None  # (M,) Bayes-optimal L_{t−1} for the same σ_t², or None
    bayes_stderr: np.ndarray | None  # (M,)
    gap: np.ndarray | None  # (M,) L_{t−1} − Bayes-optimal, paired on the same draws
    gap_stderr: np.ndarray | None  # (M,)
    decoder_term: Value | None  # L_0 (None if t = 1 was not audited)
    decoder_bayes: Value | None  # L_0 with mean E[x_0|x_1] (continuous decoder only)
    decoder_gap: Value | None
    total: Value | None  # L_vlb (None for an explicit list of t)
    total_bayes: Value | None  # L_vlb of the Bayes-optimal model with the same σ_t²
    total_gap: Value | None
    entropy: float | None  # H(x_0), the floor of E[total] (differential or Shannon)
    entropy_kind: str | None
    entropy_gap: Value | None  # total − H, paired with −log p(x_0) where p is known
    per_example_total: np.ndarray | None  # (B,) total per example, nats
    proposal: np.ndarray | None  # (T − 1,) importance proposal over t = 2..T
    z: float  # one-sided threshold of every statistical flag
    false_alarm: float  # budget split over the flags' comparisons to give z
    violations: tuple[Flag, ...]
    departures: tuple[Flag, ...]
    n_model_evals: int
    seconds: float
    groups: tuple[TermGroup, ...] = ()  # transitions summed over deciles of t (if a total)
    departure_gap: Value | None = None  # gap summed over the terms flagged above_bayes, paired
    respaced_timesteps: np.ndarray | None = None  # (K,) parent τ_i of a K-step audit, else None
    notes: tuple[str, ...] = ()  # caveats of this audit (e.g. a schedule override)

    # -- units ---------------------------------------------------------------------------
    def bits(self, nats: Any) -> Any:
        """nats per example -> bits per dimension (÷ D ln 2)."""
        return np.asarray(nats) / (self.D * _LN2) if np.ndim(nats) else nats / (self.D * _LN2)

    @property
    def ok(self) -> bool:
        """No violation (departures from Bayes-optimality are not violations)."""
        return not self.violations

    # -- plain data ----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``prior``, ``transitions`` (list, each with its paper ``t``),
        ``decoder``, ``total`` (each ``{nats, bits_per_dim, stderr, ...}``), ``bounds``,
        ``violations``, ``departures`` and ``meta``."""
        D = self.D
        trans = []
        for j, t in enumerate(self.transitions_t):
            v = Value(float(self.transitions[j]), float(self.transitions_stderr[j]),
                      int(self.transitions_n[j])).to_dict(D)
            v.update({"t": int(t), "variance_floor": _f(self.variance_floor[j]),
                      "mse_eps": _f(self.mse_eps[j]), "mse_eps_stderr": _f(self.mse_eps_stderr[j]),
                      "lambda_t": _f(self.lambda_t[j])})
            if (self.bayes is not None and self.bayes_stderr is not None
                    and self.gap is not None and self.gap_stderr is not None):
                v["bayes"] = {"nats": _f(self.bayes[j]), "stderr": _f(self.bayes_stderr[j])}
                v["gap"] = {"nats": _f(self.gap[j]), "stderr": _f(self.gap_stderr[j])}
            trans.append(v)

        def opt(x: Value | None) -> dict[str, Any] | None:
            return None if x is None else x.to_dict(D)

        return {
            "prior": self.prior.to_dict(D),
            "transitions": trans,
            "decoder": opt(self.decoder_term),
            "total": opt(self.total),
            "bounds": {
                "prior_closed_form_max_abs_diff": _f(self.prior_check),
                "lsimple_max_relative_residual": _f(self.lsimple_residual),
                "decoder_bayes": opt(self.decoder_bayes), "decoder_gap": opt(self.decoder_gap),
                "total_bayes": opt(self.total_bayes), "total_gap": opt(self.total_gap),
                "entropy": {"nats": _f(self.entropy), "kind": self.entropy_kind,
                            "gap": opt(self.entropy_gap)} if self.entropy is not None else None,
                "z": _f(self.z), "false_alarm": _f(self.false_alarm),
            },
            "groups": [g.to_dict(D) for g in self.groups],
            "departure_gap": opt(self.departure_gap),
            "notes": list(self.notes),
            "violations": [f.to_dict() for f in self.violations],
            "departures": [f.to_dict() for f in self.departures],
            "meta": {"D": D, "T": self.T, "n_examples": self.n_examples, "mode": self.mode,
                     "timesteps": self.timesteps, "n_timesteps": self.n_timesteps,
                     "parameterization": self.parameterization, "variance": self.variance,
                     "decoder": self.decoder, "n_model_evals": self.n_model_evals,
                     "seconds": self.seconds,
                     "respaced_timesteps": None if self.respaced_timesteps is None
                     else [int(v) for v in self.respaced_timesteps],
                     "units": "nats per example; bits per dimension",
                     "index": "transitions[k].t is the paper timestep t of L_(t-1)"},
        }

    def to_json(self, indent: int | None = 2) -> str:
        """:meth:`to_dict` as strict JSON (an infinite stderr is written as null)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    # -- text ------------------------------------------------------------------------------
    def table(self, max_rows: int | None = None, *, verbose: bool = True) -> str:
        """A fixed-width table: every term, its ± stderr, bits/dim, the Bayes-optimal
        value and the gap, the floor C_t, the ε-MSE and λ_t; then the bounds, the
        flags (each listed with ``verbose``) and a legend of the columns."""
        from .render import text_table

        return text_table(self, max_rows, verbose=verbose)

    def summary(self, *, verbose: bool = False) -> str:
        """L_T, the transitions summed over deciles of t, L_0 and the total, each with
        its bounds; the flags summarised by their share of the total gap (each listed
        with ``verbose``); a legend of the columns."""
        from .summary_text import summary_table

        return summary_table(self, verbose=verbose)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, path: str | os.PathLike[str], *, force: bool = False,
             title: str | None = None) -> Path:
        """PNG: per-t terms with error bars, Bayes-optimal values and C_t overlaid; the
        cumulative total, with the step of L_0, and the entropy floor; headed by
        ``title`` (e.g. checkpoint and data), T, D and B. Refuses to overwrite unless
        ``force``."""
        from .render import plot_terms

        return plot_terms(self, path, force=force, title=title)


def _f(x: Any) -> float | None:
    """A plain float, or None for a non-finite or missing value (strict JSON)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None
