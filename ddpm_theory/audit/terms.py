"""``elbo_terms``: audit a model's variational bound term by term.

The bound (Ho et al. 2020, Eq. 5): L_vlb(x_0) = L_T + Σ_{t=2}^T L_{t−1} + L_0 with
L_T = KL(q(x_T|x_0) ‖ N(0, I)) (closed form), L_{t−1} = E_{x_t~q(x_t|x_0)} KL(q(x_{t−1}|
x_t, x_0) ‖ p_θ(x_{t−1}|x_t)) and L_0 = E_{x_1} −log p_θ(x_0|x_1). Each expectation
over x_t is estimated with fresh noise per term (Monte-Carlo) or computed by
Gauss–Hermite quadrature over ε (:mod:`~ddpm_theory.audit.quadrature`); the
transitions are all evaluated, or sampled (:mod:`~ddpm_theory.audit.plan`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from ..adapters import load_model
from ..backend.checkpoint import Checkpoint
from ..backend.data import get_dataset
from ..backend.dataset import Dataset
from ..backend.device import resolve_device
from ..backend.enums import DecoderType, Parameterization, VarianceType
from ..backend.likelihood import ApproxCdf
from ..backend.losses import prior_kl
from ..backend.process import GaussianDiffusion
from ..backend.schedule import Schedule
from .evaluate import AuditError, RowEvaluator
from .plan import (
    Plan,
    pilot_grid,
    plan_all,
    plan_explicit,
    plan_importance,
    plan_stratified,
    proposal_from_pilot,
)
from .quadrature import gauss_hermite_noise
from .record import ElboTerms
from .summarize import summarize

__all__ = ["elbo_terms", "AuditError"]

Model = Callable[[Tensor, Tensor], Tensor]


def _resolve_source(model: Any, device: torch.device) -> tuple[Model, dict[str, Any]]:
    """The callable and the defaults a checkpoint supplies (none for a callable)."""
    if isinstance(model, (str, os.PathLike)):
        try:
            model = load_model(model, device)
        except (FileNotFoundError, ValueError) as exc:
            raise AuditError(f"cannot audit {str(model)!r}: {exc}") from None
    if hasattr(model, "audit_source"):  # an adapted outside model (ddpm_theory.adapters)
        return model.audit_source(device)
    if isinstance(model, Checkpoint):
        c = model
        return c.model.to(device), {
            "schedule": c.schedule, "parameterization": c.diffusion.parameterization,
            "variance": c.diffusion.variance, "decoder": c.decoder, "levels": c.levels,
            "approx_cdf": c.config.get("approx_cdf", "exact"), "data": c.dataset,
        }
    if not callable(model):
        raise TypeError(f"model must be callable model(x_t, t), a Checkpoint or a path; "
                        f"got {type(model).__name__}.")
    return model, {}


def _model_dtype(model: Model, device: torch.device) -> torch.dtype:
    if isinstance(model, nn.Module):
        for p in model.parameters():
            if p.device.type != device.type:
                raise AuditError(f"the model's parameters are on {p.device}, the audit runs on "
                                 f"{device}: move the model or pass device={str(p.device)!r}.")
            if p.is_floating_point():
                return p.dtype
    return torch.float64


def _examples(x0: Tensor | int | None, data: Dataset | None, event: tuple[int, ...] | None,
              generator: torch.Generator) -> Tensor:
    if x0 is None or isinstance(x0, (int, np.integer)):
        if data is None:
            raise AuditError("give the examples x0 (a tensor), or a data law to draw them from.")
        n = 256 if x0 is None else int(x0)
        g = generator if generator.device.type == "cpu" else torch.Generator().manual_seed(
            int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device)))
        return data.sample(n, g, dtype=torch.float64)
    if not isinstance(x0, Tensor):
        raise TypeError(f"x0 must be a tensor (B, *event) or a count; got {type(x0).__name__}.")
    if x0.ndim < 2 or x0.shape[0] < 1:
        raise AuditError(f"x0 must have shape (B, *event) with B >= 1; got {tuple(x0.shape)}.")
    if event is not None and tuple(x0.shape[1:]) != tuple(event):
        raise AuditError(f"x0 has examples of shape {tuple(x0.shape[1:])}, but the model/data "
                         f"expect {tuple(event)}.")
    x = x0.detach().to(torch.float64)
    if not bool(torch.isfinite(x).all()):
        raise AuditError("x0 contains NaN or Inf.")
    return x


def _check_grid(x0: Tensor, levels: int) -> None:
    k = (x0 + 1.0) * (levels - 1) / 2.0
    if bool(((k - k.round()).abs() > 1e-3).any()) or bool(((k < -0.5) | (k > levels - 0.5)).any()):
        raise AuditError(f"x0 is not on the {levels}-level grid of [-1, 1]: the discretized "
                         "decoder needs discrete data (use decoder 'gaussian', or rescale x0).")


def elbo_terms(
    model: Model | Checkpoint | str | os.PathLike[str],
    x0: Tensor | int | None = None,
    schedule: Schedule | None = None,
    *,
    parameterization: Parameterization | str | None = None,
    variance: VarianceType | str | None = None,
    decoder: DecoderType | str | None = None,
    levels: int | None = None,
    approx_cdf: ApproxCdf | None = None,
    data: Dataset | str | None = None,
    bayes: bool = True,
    n_draws: int = 1,
    timesteps: Literal["all", "stratified", "importance"] | Sequence[int] = "all",
    n_timesteps: int | None = None,
    proposal: np.ndarray | None = None,
    pilot_examples: int = 32,
    mode: Literal["monte_carlo", "quadrature"] = "monte_carlo",
    n_nodes: int = 8,
    batch_size: int | None = None,
    device: str | torch.device = "cpu",
    generator: torch.Generator | None = None,
    false_alarm: float = 1e-3,
    progress: Callable[[int], Any] | None = None,
    steps: int | None = None,
    schedule_override: bool = False,
    distributed: bool | Any = False,
) -> ElboTerms:
    """Audit the variational bound of ``model`` on ``x0``, term by term.

    Parameters
    ----------
    model
        ``model(x_t, t)`` (t: Long tensor of paper timesteps 1..T), or a
        :class:`~ddpm_theory.backend.checkpoint.Checkpoint` or checkpoint path written
        by :func:`ddpm_theory.train`, which supplies the schedule, parameterisation,
        variance, decoder, levels, CDF and data law (each overridable).
    x0
        ``(B, *event)`` examples; or a count (default 256) of draws from ``data``.
    schedule, parameterization, variance, decoder
        The process audited (enums or their string values). Defaults without a
        checkpoint: ``eps``, ``beta``, and ``discretized`` if ``levels`` else ``gaussian``.
    levels, approx_cdf
        Grid levels of the discretised decoder, and ``"exact"`` (log Φ via
        ``torch.special.log_ndtr``), ``"tanh"`` (the approximation of Ho et al.'s
        released code) or ``"tanh_clamped"`` (the same with that code's 1e-12 floor on
        each probability).
    data
        The data law (a :class:`Dataset` or registered name): its exact E[x_0|x_t]
        gives the Bayes-optimal terms and its entropy the floor of the total.
    bayes
        Compute the Bayes-optimal values (one E[x_0|x_t] per row, on the CPU in
        float64) when the law allows; ``False`` skips them (e.g. for timing).
    n_draws
        Noise draws per (example, term); averaged.
    timesteps, n_timesteps, proposal, pilot_examples
        ``"all"`` transitions; ``"stratified"`` or ``"importance"`` with
        ``n_timesteps`` slots per example (unbiased for the total; the importance
        ``proposal`` over t = 2..T defaults to one fitted on a pilot of
        ``pilot_examples`` examples); or an explicit sequence of paper timesteps
        (those terms only; no total). See :mod:`~ddpm_theory.audit.plan`.
    mode
        ``"monte_carlo"``, or ``"quadrature"``: the expectation over ε of each term by
        an ``n_nodes``-point Gauss–Hermite rule per dimension (exact for a model
        polynomial in x_t of degree ≤ n_nodes − 1; D ≤ 3; ``timesteps`` all or explicit).
    batch_size, device, generator
        Rows per model call (rows of all t are mixed; default 2048 on the CPU, where
        activations that fit the cache run fastest, 65536 on CUDA); where to run; the explicit
        noise stream (default: a fresh generator seeded with 0; the global RNG is
        never used).
    false_alarm
        Probability that a correct audit raises any statistical flag; split over
        the comparisons to give the one-sided threshold ``z`` of the record.
    progress
        Called with the number of rows done after each model call.
    steps
        Audit the K-step sub-chain of Nichol & Dhariwal 2021 (Sec. 4) instead of
        the full chain: :meth:`Schedule.respace` keeps τ_1 < … < τ_K = T and the
        model is queried at τ_i for sub-chain step i; terms are then reported by
        sub-chain step (``respaced_timesteps`` maps them back to τ).
    schedule_override
        Audit a checkpoint under a ``schedule`` other than its own (the model then
        runs on inputs outside its training range); refused unless ``True``, and the
        record's ``notes`` then say so.
    distributed
        ``True`` (the default process group, joined from a ``torchrun`` environment;
        a group of one without it) or a ``torch.distributed`` process group: the
        rows are split over the ranks and each example's noise is seeded by (seed,
        example), so every rank returns the same record for any number of ranks
        (:mod:`~ddpm_theory.audit.distributed`).

    Returns
    -------
    ElboTerms
        Every term with its stderr, in nats per example and bits per dimension,
        with the bounds beside it and the violations found.

    Raises
    ------
    AuditError
        A checkpoint that does not load, examples of the wrong shape or off the
        decoder's grid, NaN/Inf in the model output, a timestep outside 1..T, or a
        quadrature audit that is too large.
    """
    started = time.perf_counter()
    dev = resolve_device(device)
    fn, ck = _resolve_source(model, dev)
    notes = _schedule_notes(schedule, ck.get("schedule"), schedule_override)
    schedule = schedule if schedule is not None else ck.get("schedule")
    if not isinstance(schedule, Schedule):
        raise AuditError("give the schedule the model was trained with (a Schedule).")
    respaced = None
    if steps is not None:
        fn, schedule, respaced = _respaced(fn, schedule, steps)
    if schedule.T < 2:
        raise AuditError("an audit needs T >= 2 (L_T, at least one L_(t-1), and L_0).")
    param = Parameterization.parse(parameterization or ck.get("parameterization", "eps"))
    var = VarianceType.parse(variance or ck.get("variance", "beta"))
    levels = levels if levels is not None else ck.get("levels")
    dec = DecoderType.parse(decoder or ck.get("decoder") or ("discretized" if levels
                                                             else "gaussian"))
    if dec is DecoderType.DISCRETIZED and not levels:
        raise AuditError("the discretized decoder needs levels (e.g. 256, or 17 for digits).")
    cdf = approx_cdf or ck.get("approx_cdf", "exact")
    law = get_dataset(data) if isinstance(data, str) else (data if data is not None
                                                            else ck.get("data"))
    if mode not in ("monte_carlo", "quadrature"):
        raise ValueError(f"mode must be 'monte_carlo' or 'quadrature'; got {mode!r}.")
    if isinstance(n_draws, bool) or not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ValueError(f"n_draws must be a positive integer; got {n_draws!r}.")
    if not 0.0 < false_alarm < 1.0:
        raise ValueError(f"false_alarm must lie in (0, 1); got {false_alarm!r}.")
    gen = generator if generator is not None else torch.Generator(dev).manual_seed(0)
    if not isinstance(gen, torch.Generator):
        raise TypeError("generator must be a torch.Generator (the global RNG is never used).")

    event = tuple(law.event_shape) if law is not None else None
    x = _examples(x0, law, event, gen).to(dev)  # of the law's event shape (checked there)
    if dec is DecoderType.DISCRETIZED:
        assert levels is not None  # a discretized decoder without levels was rejected above
        _check_grid(x, int(levels))
    B, T = int(x.shape[0]), schedule.T
    diffusion = GaussianDiffusion(schedule, param, var)
    bayes_law = law if bayes and law is not None and law.has_posterior_mean else None
    ev = RowEvaluator(fn, diffusion, x, decoder=dec, levels=levels, approx_cdf=cdf,
                      law=bayes_law, model_dtype=_model_dtype(fn, dev),
                      batch_size=int(batch_size or (65536 if dev.type == 'cuda' else 2048)),
                      progress=progress)

    if mode == "quadrature":
        if not (isinstance(timesteps, str) and timesteps == "all") and isinstance(timesteps, str):
            raise AuditError("quadrature mode computes every expectation exactly: use "
                             "timesteps='all' or an explicit list.")
        nodes, dweights = gauss_hermite_noise(n_nodes, x.shape[1:])
    else:
        nodes, dweights = None, np.full(n_draws, 1.0 / n_draws)

    plan = _make_plan(timesteps, n_timesteps, proposal, B, T, gen, ev, x, pilot_examples)
    rows = _rows(plan, B, len(dweights))
    if distributed is False:
        res = ev.run(rows["idx"], rows["t"], _noise_fn(nodes, x.shape[1:], gen))
    else:
        from .distributed import run_distributed

        res = run_distributed(ev, rows, nodes, x.shape[1:], gen, distributed)
    prior_torch = prior_kl(diffusion, x).cpu().numpy()
    rec = summarize(
        res, plan, dweights, x, schedule, diffusion, dec, law, prior_torch,
        mode=mode, bayes=bayes_law is not None, false_alarm=false_alarm,
        n_model_evals=ev.n_model_evals,
        seconds=time.perf_counter() - started,
    )
    if notes:
        rec = dataclasses.replace(rec, notes=notes)
    return rec if respaced is None else dataclasses.replace(rec, respaced_timesteps=respaced)


def _respaced(fn: Model, schedule: Schedule, steps: int) -> tuple[Model, Schedule, np.ndarray]:
    """The K-step sub-chain, and the model queried at its kept parent timesteps."""
    from ..likelihood.strided import RespacedModel

    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 2:
        raise AuditError(f"steps (K, the sub-chain length) must be an integer >= 2 (L_K, at "
                         f"least one transition, and L_0); got {steps!r}.")
    try:
        r = schedule.respace(int(steps))
    except ValueError as exc:
        raise AuditError(str(exc)) from None
    return RespacedModel(fn, r.timesteps), r.schedule, np.array(r.timesteps)


def _schedule_notes(given: Schedule | None, own: Schedule | None,
                    override: bool) -> tuple[str, ...]:
    """Refuse a schedule other than the checkpoint's unless overridden; the note if so."""
    if given is None or own is None or (
            given.T == own.T and np.array_equal(given.betas, own.betas)):
        return ()
    what = (f"the schedule given ({given!r}) differs from the checkpoint's ({own!r}), "
            "so the model would run on inputs outside its training range")
    if not override:
        raise AuditError(f"{what}; pass schedule_override=True to audit it under that "
                         "schedule anyway (the record then says so).")
    return (f"schedule overridden: {what}.",)


def _make_plan(timesteps: Any, K: int | None, proposal: Any, B: int, T: int,
               gen: torch.Generator, ev: RowEvaluator, x: Tensor, pilot_examples: int) -> Plan:
    if not isinstance(timesteps, str):
        return plan_explicit(B, T, timesteps)
    if timesteps == "all":
        return plan_all(B, T)
    if timesteps not in ("stratified", "importance"):
        raise ValueError(f"timesteps must be 'all', 'stratified', 'importance' or a list of "
                         f"paper timesteps; got {timesteps!r}.")
    if K is None:
        raise ValueError(f"timesteps={timesteps!r} needs n_timesteps (slots per example).")
    if timesteps == "stratified":
        return plan_stratified(B, T, K, gen)
    if proposal is None:
        proposal = _pilot_proposal(ev, x, T, gen, pilot_examples)
    return plan_importance(B, T, K, proposal, gen)


def _pilot_proposal(ev: RowEvaluator, x: Tensor, T: int, gen: torch.Generator,
                    n_pilot: int) -> np.ndarray:
    """π ∝ √E[L_{t−1}²] from one noise draw per (pilot example, grid t)."""
    grid = pilot_grid(T)
    P = min(int(n_pilot), x.shape[0])
    idx = torch.arange(P).repeat_interleave(len(grid))
    t = torch.from_numpy(grid).repeat(P)
    law, ev.law = ev.law, None  # the pilot needs no Bayes values
    try:
        res = ev.run(idx, t, _noise_fn(None, x.shape[1:], gen))
    finally:
        ev.law = law
    m2 = (res["loss"].reshape(P, len(grid)) ** 2).mean(0)
    return proposal_from_pilot(T, grid, m2)


def _rows(plan: Plan, B: int, M: int) -> dict[str, Tensor]:
    """Row r = ((i·S + s)·M + m): example i, slot s (slot 0 = decoder if audited), draw m."""
    t = plan.t
    if plan.decoder:
        t = torch.cat([torch.ones(B, 1, dtype=torch.long), t], 1)
    S = t.shape[1]
    idx = torch.arange(B).repeat_interleave(S * M)
    return {"idx": idx, "t": t.repeat_interleave(M, dim=1).reshape(-1)}


def _noise_fn(nodes: np.ndarray | None, event: Sequence[int],
              gen: torch.Generator) -> Callable[[int, int], Tensor]:
    if nodes is None:
        def draw(start: int, n: int) -> Tensor:
            return torch.randn((n, *event), generator=gen, dtype=torch.float64,
                               device=gen.device)
        return draw
    table = torch.from_numpy(nodes).reshape(-1, *event)
    M = table.shape[0]

    def node(start: int, n: int) -> Tensor:
        return table[torch.arange(start, start + n) % M]
    return node

