"""The audit's text summary: L_T, the transitions by deciles of t, L_0, the total,
each bound beside its term, the flags summarised, and a legend of every column.

The full table (every t) is :func:`~ddpm_theory.audit.render.text_table`; both
end with :func:`bounds_and_flags` and :func:`legend`.
"""

from __future__ import annotations

import math
import textwrap
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .record import ElboTerms, Flag, Value

__all__ = ["summary_table", "bounds_and_flags", "legend", "header", "num"]


def num(x: float | None, width: int = 11, prec: int = 5) -> str:
    """``x`` right-aligned in ``width`` columns (``-`` if missing)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-".rjust(width)
    return " " + f"{x:{width - 1}.{prec}g}"  # ±inf as "inf" / "-inf"


def header(r: ElboTerms) -> list[str]:
    return [f"ELBO audit: T = {r.T}, D = {r.D}, B = {r.n_examples} examples, mode {r.mode}, "
            f"timesteps {r.timesteps} ({r.n_timesteps} per example), parameterization "
            f"{r.parameterization}, variance {r.variance}, decoder {r.decoder}",
            "units: nats per example (bits/dim = nats / (D ln 2)); t is the paper timestep of "
            "L_(t-1)"]


_HEAD = (f"{'term':<9}{'t':>11}{'nats':>12}{'± SE':>11}{'bits/dim':>11}{'bayes-opt':>12}"
         f"{'gap':>11}{'± SE':>11}{'floor':>11}  flagged")


def _row(r: ElboTerms, name: str, span: str, v: Value | None, bayes: Value | None = None,
         gap: Value | None = None, floor: Value | None = None, flagged: str = "") -> str:
    if v is None:
        return ""
    return (f"{name:<9}{span:>11}{num(v.nats, 12)}{num(v.stderr)}{num(r.bits(v.nats))}"
            f"{num(None if bayes is None else bayes.nats, 12)}"
            f"{num(None if gap is None else gap.nats)}{num(None if gap is None else gap.stderr)}"
            f"{num(None if floor is None else floor.nats)}  {flagged}").rstrip()


def summary_table(r: ElboTerms, *, verbose: bool = False) -> str:
    """The summary: one row per decile of t (sums, paired gaps, Σ C_t), the bounds,
    the flags summarised (listed with ``verbose``) and the legend.

    The departures' combined gap is given as a share of the total gap, without a
    z: its terms were selected for being high, so a z of their sum is no test."""
    if not r.groups:  # an explicit list of t has no total to split: show every row
        from .render import text_table

        return text_table(r, verbose=verbose)
    marks = {f.term: f.kind for f in (*r.violations, *r.departures) if f.t is None}
    lines = [*header(r), "transitions summed over ranges of t (deciles of 2..T)", _HEAD,
             "-" * len(_HEAD), _row(r, "L_T", "T", r.prior, flagged=marks.get("L_T", ""))]
    for g in r.groups:
        lines.append(_row(r, "L_(t-1)", f"{g.t_lo}..{g.t_hi}", g.value, g.bayes, g.gap, g.floor,
                          str(g.n_flagged) if g.n_flagged else ""))
    lines.append(_row(r, "L_0", "1", r.decoder_term, r.decoder_bayes, r.decoder_gap,
                      flagged=marks.get("L_0", "")))
    lines.append("-" * len(_HEAD))
    lines.append(_row(r, "total", "", r.total, r.total_bayes, r.total_gap,
                      flagged=marks.get("total", "")))
    lines += bounds_and_flags(r, verbose=verbose)
    lines += legend(full=False)
    return "\n".join(x for x in lines if x)


def _z(v: Value) -> str:
    return f"z = {v.nats / v.stderr:.3g}" if v.stderr > 0 and math.isfinite(v.stderr) else "exact"


def bounds_and_flags(r: ElboTerms, *, verbose: bool) -> list[str]:
    """The bounds each term is held to, with their margins; then the flags."""
    out = ["bounds:"]
    if r.entropy is not None and r.entropy_gap is not None:
        out.append(f"  total >= H(x_0) = {r.entropy:.6g} nats ({r.entropy_kind} entropy of the "
                   f"data law): total - H = {r.entropy_gap.nats:.4g} ± "
                   f"{r.entropy_gap.stderr:.2g} ({_z(r.entropy_gap)})")
    if r.total_gap is not None and r.total_bayes is not None:
        out.append(f"  total >= Bayes-optimal total {r.total_bayes.nats:.6g}: gap "
                   f"{r.total_gap.nats:.4g} ± {r.total_gap.stderr:.2g} ({_z(r.total_gap)})")
    out.append("  L_(t-1) >= C_t at every t, and >= its Bayes-optimal value in expectation")
    out.append(f"  L_T equals its closed form: max |diff| = {r.prior_check:.2g} nats")
    out.append(f"  L_(t-1) = lambda_t*MSE_t + C_t per draw: max relative residual "
               f"{r.lsimple_residual:.2g}")
    out.append(f"flags (one-sided z = {r.z:.3g}; false-alarm budget {r.false_alarm:g} shared by "
               f"all comparisons):")
    out += _flag_summary(r, verbose)
    out.append(f"{r.n_model_evals} model evaluations, {r.seconds:.2f} s")
    out.extend(f"note: {n}" for n in r.notes)
    return out


def _ts(flags: tuple[Flag, ...]) -> str:
    ts = sorted(f.t for f in flags if f.t is not None)
    terms = sorted({f.term for f in flags if f.t is None})
    parts = [f"{len(ts)} t in {ts[0]}..{ts[-1]}"] if ts else []
    return ", ".join(parts + terms)


def _flag_summary(r: ElboTerms, verbose: bool) -> list[str]:
    out = []
    if r.violations:
        kinds = sorted({f.kind for f in r.violations})
        out.append(f"  VIOLATIONS: {len(r.violations)} ({', '.join(kinds)}; {_ts(r.violations)}): "
                   f"impossible for a correct audit of examples from the stated law"
                   + ("" if verbose else " (listed with --verbose)"))
    else:
        out.append("  no violation of any bound")
    if r.departures:
        line = f"  departures: {len(r.departures)} terms above their Bayes-optimal value " \
               f"({_ts(r.departures)})"
        d, tg = r.departure_gap, r.total_gap
        if d is not None:
            line += f"; together {d.nats:.3g} ± {d.stderr:.2g} nats"
            if tg is not None and tg.nats > 0:
                line += f", {100 * d.nats / tg.nats:.2g}% of the total gap {tg.nats:.3g}"
        zmax = max(abs(f.z) for f in r.departures)
        out.append(line + f"; largest single z = {zmax:.3g}"
                   + ("" if verbose else " (listed with --verbose)"))
    else:
        out.append("  no departure from Bayes-optimal")
    if verbose:
        out += [f"  VIOLATION {f.kind}: {f.message}" for f in r.violations]
        out += [f"  departure {f.kind}: {f.message}" for f in r.departures]
    return out


_LEGEND = [
    ("L_T", "prior term KL(q(x_T|x_0) || N(0, I)) (Ho et al. 2020, Eq. 5)"),
    ("L_(t-1)", "KL(q(x_(t-1)|x_t, x_0) || p_theta(x_(t-1)|x_t)), t = 2..T (Ho et al. 2020, "
                "Eq. 5); in the summary, summed over the t in the range"),
    ("L_0", "decoder term -log p_theta(x_0|x_1)"),
    ("total", "L_T + sum of L_(t-1) + L_0: the negative ELBO, an upper bound on -log p_theta(x_0)"),
    ("t", "paper timestep of L_(t-1) (a range lo..hi in the summary); L_0 is t = 1"),
    ("nats ± SE", "mean over the B examples and the standard error of that mean"),
    ("bits/dim", "nats / (D ln 2)"),
    ("bayes-opt", "the same term for the Bayes-optimal model: mean E[x_(t-1)|x_t] under the data "
                  "law, same variances sigma_t^2 (needs a known law)"),
    ("gap", "term - bayes-opt, paired on the same noise draws; >= 0 in expectation: what a "
            "better mean could still gain"),
    ("floor", "C_t (summed over the range): the part of L_(t-1) that no mean removes, from "
              "sigma_t^2 != beta~_t; L_(t-1) >= C_t"),
    ("flagged", "number of t in the range with a flag (departure or violation)"),
]
_LEGEND_FULL = [
    ("eps-MSE", "E||eps - eps_theta(x_t, t)||^2, summed over the D dimensions"),
    ("lambda_t", "weight with L_(t-1) = lambda_t * eps-MSE + C_t (Ho et al. 2020, Eq. 12)"),
    ("flag", "above_bayes (departure: a suboptimal model, or a mis-specified audit), "
             "below_bayes / below_floor (violation: the audit or the data law is wrong)"),
]


def legend(*, full: bool) -> list[str]:
    """One line per column (``full``: the columns of the every-t table)."""
    items = [x for x in _LEGEND if not (full and x[0] == "flagged")]
    items += _LEGEND_FULL if full else []
    out = ["legend:"]
    for k, v in items:
        out += textwrap.wrap(v, 98, initial_indent=f"  {k:<10} ", subsequent_indent=" " * 13)
    return out
