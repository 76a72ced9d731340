"""Renderings of an :class:`~ddpm_theory.audit.record.ElboTerms`: a text table and a PNG.

The plot draws on its own ``Figure`` with an Agg canvas (no pyplot, no global
backend switch) and never overwrites a file unless asked.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backend.paths import check_output_path, write_output

if TYPE_CHECKING:
    from .record import ElboTerms, Value

__all__ = ["text_table", "plot_terms"]


def _num(x: float | None, width: int = 11, prec: int = 5) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    if math.isinf(x):
        return "inf".rjust(width)
    return " " + f"{x:{width - 1}.{prec}g}"


def text_table(r: ElboTerms, max_rows: int | None = None) -> str:
    """Every term with ± stderr, bits/dim, Bayes-optimal value, gap ± stderr, C_t,
    ε-MSE and λ_t; then the totals, bounds and flags."""
    head = (f"{'term':<9}{'t':>6}{'nats':>12}{'± stderr':>11}{'bits/dim':>11}{'bayes-opt':>12}"
            f"{'gap':>11}{'± stderr':>11}{'floor C_t':>11}{'eps-MSE':>11}{'lambda_t':>11}  flag")
    marks: dict[tuple[str, int | None], str] = {}
    for f in (*r.violations, *r.departures):
        marks[(f.term, f.t)] = f.kind

    def row(name: str, t: int | None, v: Value | None, bayes: float | None = None,
            gap: float | None = None, gap_se: float | None = None, floor: float | None = None,
            mse: float | None = None, lam: float | None = None) -> str:
        if v is None:
            return ""
        return (f"{name:<9}{'' if t is None else t:>6}{_num(v.nats, 12)}{_num(v.stderr)}"
                f"{_num(r.bits(v.nats))}{_num(bayes, 12)}{_num(gap)}{_num(gap_se)}"
                f"{_num(floor)}{_num(mse)}{_num(lam)}  {marks.get((name, t), '')}").rstrip()

    from .record import Value as V

    lines = [f"ELBO audit: T = {r.T}, D = {r.D}, B = {r.n_examples} examples, mode {r.mode}, "
             f"timesteps {r.timesteps} ({r.n_timesteps} per example), parameterization "
             f"{r.parameterization}, variance {r.variance}, decoder {r.decoder}",
             "units: nats per example (bits/dim = nats / (D ln 2)); t is the paper timestep of "
             "L_(t-1)", head, "-" * len(head)]
    lines.append(row("L_T", None, r.prior, floor=None))
    M = len(r.transitions_t)
    keep = range(M) if max_rows is None or M <= max_rows else [
        *range(max_rows // 2), *range(M - max_rows // 2, M)]
    last = -1
    for j in keep:
        if j != last + 1:
            lines.append(f"{'...':<9}  ({j - last - 1} rows omitted)")
        last = j
        g = None if r.gap is None else float(r.gap[j])
        lines.append(row(
            "L_(t-1)", int(r.transitions_t[j]),
            V(float(r.transitions[j]), float(r.transitions_stderr[j]), int(r.transitions_n[j])),
            None if r.bayes is None else float(r.bayes[j]), g,
            None if r.gap_stderr is None else float(r.gap_stderr[j]),
            float(r.variance_floor[j]), float(r.mse_eps[j]), float(r.lambda_t[j])))
    gd = r.decoder_gap
    lines.append(row("L_0", None, r.decoder_term,
                     None if r.decoder_bayes is None else r.decoder_bayes.nats,
                     None if gd is None else gd.nats, None if gd is None else gd.stderr))
    lines.append("-" * len(head))
    tg = r.total_gap
    lines.append(row("total", None, r.total, None if r.total_bayes is None else r.total_bayes.nats,
                     None if tg is None else tg.nats, None if tg is None else tg.stderr))
    if r.total is None:
        lines.append("total: not estimated (an explicit list of timesteps)")
    if r.entropy is not None and r.entropy_gap is not None:
        lines.append(f"data entropy floor ({r.entropy_kind}): {r.entropy:.6g} nats "
                     f"({r.bits(r.entropy):.5g} bits/dim); total - floor = "
                     f"{r.entropy_gap.nats:.4g} ± {r.entropy_gap.stderr:.2g}")
    lines.append(f"L_T closed form check: max |diff| = {r.prior_check:.2g} nats; L_simple "
                 f"relation L = lambda*MSE + C: max relative residual {r.lsimple_residual:.2g}")
    lines.append(f"flags at one-sided z = {r.z:.3g} (false-alarm budget {r.false_alarm:g}); "
                 f"{r.n_model_evals} model evaluations, {r.seconds:.2f} s")
    lines.extend(f"note: {n}" for n in r.notes)
    for f in r.violations:
        lines.append(f"VIOLATION {f.kind}: {f.message}")
    shown = r.departures[:10]
    for f in shown:
        lines.append(f"departure {f.kind}: {f.message}")
    if len(r.departures) > len(shown):
        lines.append(f"... {len(r.departures) - len(shown)} more departures from Bayes-optimal")
    if not r.violations:
        lines.append("no violation of any bound")
    return "\n".join(x for x in lines if x)


def plot_terms(r: ElboTerms, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Left: L_{t−1} against t with ±2·stderr bars, Bayes-optimal values and the floor
    C_t (log scale where positive). Right: the running total L_T + Σ_{s ≥ t} L_{s−1}
    from t = T down, ending with L_0, beside the entropy floor. PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    p = check_output_path(path, force)
    fig = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    t = r.transitions_t
    ax.errorbar(t, r.transitions, yerr=2 * np.where(np.isfinite(r.transitions_stderr),
                                                    r.transitions_stderr, 0.0),
                fmt=".", ms=3, lw=0.8, label="L_(t-1) ± 2 SE")
    if r.bayes is not None:
        ax.plot(t, r.bayes, "-", lw=1, label="Bayes-optimal")
    ax.plot(t, r.variance_floor, "--", lw=1, label="floor C_t")
    if np.all(r.transitions > 0) and len(t):
        ax.set_yscale("log")
    ax.set_xlabel("paper timestep t")
    ax.set_ylabel("nats per example")
    ax.set_title("transition terms")
    ax.legend(fontsize=8)
    if r.total is not None and r.timesteps in ("all",) and r.decoder_term is not None:
        order = np.argsort(-t)
        cum = r.prior.nats + np.cumsum(r.transitions[order])
        ax2.plot(np.concatenate([[r.T + 1], t[order], [1]]),
                 np.concatenate([[r.prior.nats], cum, [cum[-1] + r.decoder_term.nats]]),
                 lw=1.2, label="L_T + Σ_{s≥t} L_(s-1), then + L_0")
        ax2.axhline(r.total.nats, color="k", lw=0.6, ls=":", label=f"total {r.total.nats:.4g}")
        if r.entropy is not None:
            ax2.axhline(r.entropy, color="r", lw=0.8, ls="--", label=f"entropy {r.entropy:.4g}")
        if r.total_bayes is not None:
            ax2.axhline(r.total_bayes.nats, color="g", lw=0.8, ls="-.", label="Bayes total")
        ax2.invert_xaxis()
        ax2.set_xlabel("paper timestep t (from T down)")
        ax2.legend(fontsize=8)
    else:
        ax2.text(0.5, 0.5, "cumulative total needs timesteps='all'", ha="center",
                 transform=ax2.transAxes)
    ax2.set_title("cumulative bound")
    fig.tight_layout()
    return write_output(p, lambda f: fig.savefig(f, format="png", dpi=100), force)
