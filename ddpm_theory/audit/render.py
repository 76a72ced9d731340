"""Renderings of an :class:`~ddpm_theory.audit.record.ElboTerms`: a text table and a PNG.

The plot draws on its own ``Figure`` with an Agg canvas (no pyplot, no global
backend switch) and never overwrites a file unless asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..backend.paths import check_output_path, write_output

if TYPE_CHECKING:
    from .record import ElboTerms, Value

__all__ = ["text_table", "plot_terms"]


def text_table(r: ElboTerms, max_rows: int | None = None, *, verbose: bool = True) -> str:
    """Every term with ± stderr, bits/dim, Bayes-optimal value, gap ± stderr, C_t,
    ε-MSE and λ_t; then the bounds, the flags (listed with ``verbose``) and the legend."""
    from .record import Value as V
    from .summary_text import bounds_and_flags, header, legend
    from .summary_text import num as _num

    head = (f"{'term':<9}{'t':>6}{'nats':>12}{'± SE':>11}{'bits/dim':>11}{'bayes-opt':>12}"
            f"{'gap':>11}{'± SE':>11}{'floor C_t':>11}{'eps-MSE':>11}{'lambda_t':>11}  flag")
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

    lines = [*header(r), head, "-" * len(head)]
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
    if last != M - 1:  # max_rows < 2 keeps no last rows: say so, as above
        lines.append(f"{'...':<9}  ({M - 1 - last} rows omitted)")
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
    lines += bounds_and_flags(r, verbose=verbose)
    lines += legend(full=True)
    return "\n".join(x for x in lines if x)


def plot_terms(r: ElboTerms, path: str | os.PathLike[str], *, force: bool = False,
               title: str | None = None) -> Path:
    """Left: L_{t−1} against t with ±2·stderr bars, Bayes-optimal values and the floor
    C_t (log scale where positive). Right: the running total L_T + Σ_{s ≥ t} L_{s−1}
    from t = T down, then the step of L_0 at t = 1 (marked), beside the entropy
    floor. ``title`` (e.g. checkpoint and data) heads the figure, followed by T, D
    and B. PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    p = check_output_path(path, force)
    fig = Figure(figsize=(11, 4.6))
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    what = f"T = {r.T}, D = {r.D}, B = {r.n_examples} examples, timesteps {r.timesteps}"
    fig.suptitle(f"ELBO audit: {title}\n{what}" if title else f"ELBO audit: {what}", fontsize=10)
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
        ax2.annotate(f"+ L_0 = {r.decoder_term.nats:.4g}\n(decoder, t = 1)",
                     xy=(1, cum[-1] + r.decoder_term.nats), xytext=(0.3, 0.5),
                     textcoords="axes fraction", fontsize=8,
                     arrowprops={"arrowstyle": "->", "lw": 0.6})
        ax2.axhline(r.total.nats, color="k", lw=0.6, ls=":", label=f"total {r.total.nats:.4g}")
        if r.entropy is not None:
            ax2.axhline(r.entropy, color="r", lw=0.8, ls="--", label=f"entropy {r.entropy:.4g}")
        if r.total_bayes is not None:
            ax2.axhline(r.total_bayes.nats, color="g", lw=0.8, ls="-.", label="Bayes total")
        ax2.invert_xaxis()
        ax2.set_xlabel("paper timestep t (from T down)")
        ax2.set_ylabel("running total, nats per example")
        ax2.legend(fontsize=8)
    else:
        ax2.text(0.5, 0.5, "cumulative total needs timesteps='all'", ha="center",
                 transform=ax2.transAxes)
    ax2.set_title("cumulative bound: L_T, + each L_(t-1) from t = T down, + L_0")
    fig.tight_layout()
    return write_output(p, lambda f: fig.savefig(f, format="png", dpi=100), force)
