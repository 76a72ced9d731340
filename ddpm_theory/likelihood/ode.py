"""Exact likelihood by the probability-flow ODE (Song et al. 2021, Sec. 4.3 and App. D.2).

The diffusion is the variance-preserving SDE of the schedule's continuous
interpolation (:class:`~ddpm_theory.likelihood.continuous.ContinuousSchedule`):
dx = −½β(s) x ds + √β(s) dw, s ∈ [0, T] (Song et al. 2021, Eq. 11). Its
probability-flow ODE (Song et al. 2021, Eq. 13), with the score written through
the ε-predictor, ∇ log p_s(x) = −ε̂(x, s)/σ(s), σ(s) = √(1 − ᾱ(s)), is

    dx/ds = f(x, s) = −½β(s) (x − ε̂(x, s)/σ(s)),

and the instantaneous change of variables (Chen et al. 2018, Theorem 1) gives
d log p_s(x_s)/ds = −∇·f(x_s, s), ∇·f = −½β(s)(D − ∇·ε̂/σ(s)). Integrating from
s = t_min to T:

    log p_{t_min}(x) = log p_T(x_T) + ∫_{t_min}^T ∇·f(x_s, s) ds,

with p_T = N(0, I) (or a given prior density). The solve is
``scipy.integrate.solve_ivp`` (adaptive Runge–Kutta), batched over examples.

Discrete data on a ``levels``-point grid of [−1, 1] (bin width Δ = 2/(levels − 1))
is dequantised, x̃ = x + Δu with u ~ U[−½, ½]^D: then P(x) = Δ^D E_u[p(x̃)], and
Jensen's inequality gives −log P(x) ≤ E_u[−log p(x̃)] − D log Δ (Theis et al.
2016, Sec. 3.1; Ho et al. 2020, Sec. 4.2 use the same grid) — the reported NLL
is this upper bound, estimated with one u per example.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.integrate import solve_ivp
from torch import Tensor, nn

from ..backend.checkpoint import Checkpoint, load_checkpoint
from ..backend.device import resolve_device
from ..backend.enums import Parameterization, VarianceType
from ..backend.schedule import Schedule
from .continuous import ContinuousSchedule
from .record import OdeNll, OdeSettings, Probe, TraceEstimator

__all__ = ["ode_nll", "MAX_EXACT_DIM", "drift_divergence"]

Model = Callable[[Tensor, Tensor], Tensor]
EpsFn = Callable[[Tensor, float], Tensor]

#: largest D for which the exact trace (D reverse passes per evaluation) is offered
MAX_EXACT_DIM = 64
_LOG_2PI = math.log(2.0 * math.pi)


def _resolve(model: Any, schedule: Schedule | None, param: Any, variance: Any,
             device: torch.device) -> tuple[Model, Schedule, Parameterization, VarianceType]:
    if isinstance(model, (str, os.PathLike)):
        model = load_checkpoint(model, map_location=device)
    if isinstance(model, Checkpoint):
        ck = model
        schedule = schedule if schedule is not None else ck.schedule
        param = param or ck.diffusion.parameterization
        variance = variance or ck.diffusion.variance
        model = ck.model.to(device)
    if not callable(model):
        raise TypeError(f"model must be callable model(x_t, t), a Checkpoint or a path; "
                        f"got {type(model).__name__}.")
    if not isinstance(schedule, Schedule):
        raise ValueError("give the schedule the model was trained with (a Schedule).")
    p = Parameterization.parse(param or "eps")
    if p is Parameterization.MEAN:
        raise ValueError("the probability-flow ODE needs eps, x0 or v parameterisation: a "
                         "predicted posterior mean has no continuous-time meaning.")
    return model, schedule, p, VarianceType.parse(variance or "beta")


def _model_dtype(model: Model) -> torch.dtype:
    if isinstance(model, nn.Module):
        for p in model.parameters():
            if p.is_floating_point():
                return p.dtype
    return torch.float64


def _eps_fn(model: Model, cont: ContinuousSchedule, param: Parameterization,
            learned: bool, dtype: torch.dtype) -> EpsFn:
    """ε̂(x, s) in float64 from the model's output at continuous paper time s."""
    def eps(x: Tensor, s: float) -> Tensor:
        t = torch.full((x.shape[0],), s, dtype=torch.float64, device=x.device)
        out = model(x.to(dtype), t).to(torch.float64)
        if learned:
            out = out[:, : x.shape[1]]
        if out.shape != x.shape:
            raise ValueError(f"the model returned shape {tuple(out.shape)} for x of shape "
                             f"{tuple(x.shape)} (a learned variance needs variance='learned').")
        if param is Parameterization.EPS:
            return out
        ab, sig = float(cont.alpha_bar(s)), math.sqrt(float(cont.one_minus_alpha_bar(s)))
        if param is Parameterization.X0:  # x = √ᾱ x0 + σ ε (Ho et al. 2020, Eq. 4)
            return (x - math.sqrt(ab) * out) / sig
        return math.sqrt(ab) * out + sig * x  # v = √ᾱ ε − σ x0 (Salimans & Ho 2022, Sec. 4)
    return eps


def _trace(eps: Tensor, x: Tensor, probes: Tensor | None) -> Tensor:
    """∇·ε̂ per example, ``(B, P)``: exact (P = 1) or vᵀ(∂ε̂/∂x)v per probe."""
    B = x.shape[0]
    e = eps.reshape(B, -1)
    if probes is None:
        cols = [torch.autograd.grad(e[:, d].sum(), x, retain_graph=True)[0].reshape(B, -1)[:, d]
                for d in range(e.shape[1])]
        return torch.stack(cols, 1).sum(1, keepdim=True)
    out = []
    for k in range(probes.shape[1]):
        v = probes[:, k]
        g = torch.autograd.grad((e * v).sum(), x, retain_graph=True)[0].reshape(B, -1)
        out.append((g * v).sum(1))
    return torch.stack(out, 1)


def drift_divergence(beta: float, sigma: float, D: int, div_eps: Tensor) -> Tensor:
    """∇·f for f = −½β(x − ε̂/σ): −½β(D − ∇·ε̂/σ) (the module docstring's ODE)."""
    return -0.5 * beta * (D - div_eps / sigma)


def _rhs(eps_fn: EpsFn, cont: ContinuousSchedule, shape: tuple[int, ...],
         probes: Tensor | None, device: torch.device) -> Callable[[float, np.ndarray], np.ndarray]:
    B, D = shape[0], int(np.prod(shape[1:]))

    def f(s: float, y: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(y[: B * D]).to(device).reshape(shape).requires_grad_(True)
        beta, sig = float(cont.beta(s)), math.sqrt(float(cont.one_minus_alpha_bar(s)))
        with torch.enable_grad():
            eps = eps_fn(x, float(s))
            div = _trace(eps, x, probes)
        drift = -0.5 * beta * (x.detach() - eps.detach() / sig)
        ddelta = drift_divergence(beta, sig, D, div.detach())
        return np.concatenate([drift.reshape(-1).cpu().numpy(), ddelta.reshape(-1).cpu().numpy()])
    return f


def _standard_normal(x: Tensor) -> Tensor:
    z = x.reshape(x.shape[0], -1)
    return -0.5 * (z.shape[1] * _LOG_2PI + (z * z).sum(1))


def _solve(eps_fn: EpsFn, cont: ContinuousSchedule, x: Tensor, probes: Tensor | None,
           st: OdeSettings, prior: Callable[[Tensor], Tensor]) -> tuple[np.ndarray, int]:
    """−log p_{t_min}(x) per (example, probe) ``(B, P)``, and the solver's nfev."""
    B, D = x.shape[0], int(x[0].numel())
    P = 1 if probes is None else probes.shape[1]
    y0 = np.concatenate([x.detach().cpu().numpy().reshape(-1), np.zeros(B * P)])
    sol = solve_ivp(_rhs(eps_fn, cont, tuple(x.shape), probes, x.device), (st.t_min, st.T), y0,
                    method=st.method, rtol=st.rtol, atol=st.atol)
    if not sol.success:
        raise RuntimeError(f"the ODE solver failed: {sol.message}")
    end = sol.y[:, -1]
    x_T = torch.from_numpy(end[: B * D]).reshape(x.shape)
    delta = end[B * D:].reshape(B, P)
    log_p = prior(x_T).detach().cpu().numpy().reshape(B, 1) + delta
    return -log_p, int(sol.nfev)


def _check_settings(trace: Any, n_probes: int, D: int, t_min: float, T: float,
                    levels: int | None) -> TraceEstimator:
    tr = TraceEstimator.parse(trace)
    if tr is TraceEstimator.EXACT and D > MAX_EXACT_DIM:
        raise ValueError(f"the exact trace costs D = {D} reverse passes per evaluation; it is "
                         f"offered for D <= {MAX_EXACT_DIM}: use trace='hutchinson'.")
    if isinstance(n_probes, bool) or not isinstance(n_probes, int) or n_probes < 1:
        raise ValueError(f"n_probes must be a positive integer; got {n_probes!r}.")
    if not 0.0 < t_min < T:
        raise ValueError(f"t_min must lie in (0, T = {T:g}); got {t_min!r}.")
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int)
                               or levels < 2):
        raise ValueError(f"dequantize must be None or the number of grid levels >= 2; "
                         f"got {levels!r}.")
    return tr


def _draw_probes(kind: Probe, B: int, P: int, D: int, gen: torch.Generator) -> Tensor:
    if kind is Probe.GAUSSIAN:
        return torch.randn(B, P, D, generator=gen, dtype=torch.float64)
    return torch.randint(0, 2, (B, P, D), generator=gen).to(torch.float64) * 2.0 - 1.0


def ode_nll(
    model: Model | Checkpoint | str | os.PathLike[str],
    x0: Tensor,
    schedule: Schedule | None = None,
    *,
    parameterization: Parameterization | str | None = None,
    variance: VarianceType | str | None = None,
    trace: TraceEstimator | str = "exact",
    n_probes: int = 1,
    probe: Probe | str = "rademacher",
    rtol: float = 1e-5,
    atol: float = 1e-5,
    method: str = "RK45",
    t_min: float = 1e-3,
    dequantize: int | None = None,
    prior: Callable[[Tensor], Tensor] | None = None,
    batch_size: int | None = None,
    generator: torch.Generator | None = None,
    device: str | torch.device = "cpu",
) -> OdeNll:
    """−log p_θ(x) per example by the probability-flow ODE (module docstring).

    Parameters
    ----------
    model
        ``model(x_t, t)`` with t a float tensor of continuous paper times in [0, T]
        (the built-in networks embed a real t), or a checkpoint (or its path),
        which supplies the schedule, parameterisation and variance.
    x0
        ``(B, *event)`` examples (on the data grid if ``dequantize``).
    schedule, parameterization, variance
        The discrete schedule (interpolated as :class:`ContinuousSchedule`), what
        the model predicts (``eps``, ``x0`` or ``v``), and its variance type (a
        learned variance's second output block is ignored).
    trace, n_probes, probe
        ``exact`` (D ≤ 64) or ``hutchinson`` with ``n_probes`` probes per example of
        kind ``rademacher`` or ``gaussian``.
    rtol, atol, method
        The tolerances and method of ``scipy.integrate.solve_ivp``.
    t_min
        Where the integration starts, in paper timesteps (ᾱ(t_min) ≈ 1 − 1e-7 for the
        linear schedule at the default): the result is −log p_{t_min}(x).
    dequantize
        None for continuous data, or the number of grid levels of discrete data.
    prior
        log p_T(x_T) per example (default: N(0, I)).
    batch_size, generator, device
        Examples per solve (default all); the stream of probes and dequantisation
        noise (default seeded with 0); where the model runs.
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    fn, sched, param, var = _resolve(model, schedule, parameterization, variance, dev)
    cont = ContinuousSchedule(sched)
    x = x0.detach().to(dev, torch.float64)
    B, D = int(x.shape[0]), int(x[0].numel())
    tr = _check_settings(trace, n_probes, D, float(t_min), cont.T, dequantize)
    pr = Probe.parse(probe)
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    deq = 0.0
    if dequantize is not None:
        width = 2.0 / (dequantize - 1)
        u = torch.rand(x.shape, generator=gen, dtype=torch.float64) - 0.5
        x = x + width * u.to(dev)
        deq = -D * math.log(width)
    P = n_probes if tr is TraceEstimator.HUTCHINSON else 1
    probes = _draw_probes(pr, B, P, D, gen).to(dev) if tr is TraceEstimator.HUTCHINSON else None
    st = OdeSettings(method, float(rtol), float(atol), float(t_min), cont.T, tr, P,
                     pr if probes is not None else None, dequantize,
                     "N(0, I)" if prior is None else "given")
    eps_fn = _eps_fn(fn, cont, param, var.is_learned, _model_dtype(fn))
    size = int(batch_size or B)
    parts, nfev = [], 0
    for a in range(0, B, size):
        pb = None if probes is None else probes[a:a + size].reshape(-1, P, D)
        nll, n = _solve(eps_fn, cont, x[a:a + size], pb, st, prior or _standard_normal)
        parts.append(nll + deq)
        nfev += n
    probe_nll = np.concatenate(parts, 0)
    return OdeNll(probe_nll.mean(1), probe_nll, deq, D, nfev, nfev * B,
                  time.perf_counter() - started, st)
