"""ELBO, ODE NLL and true NLL of one model on the same examples, side by side.

Each is a mean over the same B examples, in nats per example and bits per
dimension, with its standard error over examples; the gaps to the true NLL
(where the data law has a density) are paired per example, so their standard
errors omit the spread of −log p(x) itself. Expected order: E[ELBO] ≥ E[−log p_θ]
(the bound; Ho et al. 2020, Eq. 3) and E[−log p_θ] ≥ E[−log q] = H (Gibbs).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .record import OdeNll, mean_se

__all__ = ["LikelihoodComparison", "compare"]

_LN2 = math.log(2.0)


@dataclass(frozen=True, eq=False)
class LikelihoodComparison:
    """Per-example ``elbo``, ``ode`` and ``true`` NLL ``(B,)`` in nats (None if not
    computed); ``steps`` is K for a K-step bound (None: the full chain)."""

    D: int
    elbo: np.ndarray | None
    ode: OdeNll | None
    true: np.ndarray | None
    steps: int | None = None

    def rows(self) -> list[tuple[str, float, float, float | None, float | None]]:
        """(name, mean, se, gap to the true NLL, se of the gap) per computed quantity."""
        out: list[tuple[str, float, float, float | None, float | None]] = []
        label = "ELBO" if self.steps is None else f"ELBO (K = {self.steps})"
        for name, v in ((label, self.elbo), ("ODE NLL", None if self.ode is None
                                             else self.ode.nll), ("true NLL", self.true)):
            if v is None:
                continue
            m, se = mean_se(v)
            gap, gse = (None, None) if self.true is None or name == "true NLL" else mean_se(
                v - self.true)
            out.append((name, m, se, gap, gse))
        return out

    def table(self) -> str:
        head = f"{'likelihood':<16}{'nats':>11}{'± stderr':>11}{'bits/dim':>11}" \
               f"{'− true':>11}{'± stderr':>11}"
        lines = ["likelihood of the same examples (nats per example; gaps paired per "
                 "example)", head, "-" * len(head)]
        for name, m, se, gap, gse in self.rows():
            g = "" if gap is None else f"{gap:11.5g}{gse:11.3g}"
            lines.append(f"{name:<16}{m:11.5g}{se:11.3g}{m / (self.D * _LN2):11.5g}{g}")
        if self.ode is not None:
            st = self.ode.settings
            lines.append(f"ODE: {st.method}, rtol {st.rtol:g}, atol {st.atol:g}, t_min "
                         f"{st.t_min:g}, trace {st.trace.value}, {self.ode.nfev} evaluations, "
                         f"{self.ode.seconds:.3g} s; prior {st.prior}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"D": self.D, "steps": self.steps,
                               "units": "nats per example; bits per dimension"}
        for name, m, se, gap, gse in self.rows():
            key = name.split(" (")[0].lower().replace(" ", "_")
            out[key] = {"nats": m, "stderr": _f(se), "bits_per_dim": m / (self.D * _LN2),
                        "gap_to_true": gap, "gap_stderr": None if gse is None else _f(gse)}
        if self.ode is not None:
            out["ode_nll"].update(self.ode.to_dict())
        return out

    def plot(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """PNG: each quantity in bits/dim with a ±2 SE bar (refuses to overwrite
        unless ``force``)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from ..outputs import check_output_path, write_output

        p = check_output_path(path, force)
        rows = self.rows()
        k = self.D * _LN2
        gaps = [r for r in rows if r[3] is not None]
        fig = Figure(figsize=(8.4 if gaps else 5.2, 3.2))
        ax = fig.add_subplot(1, 2 if gaps else 1, 1)
        xs = np.arange(len(rows))
        ax.errorbar(xs, [r[1] / k for r in rows], yerr=[2 * r[2] / k for r in rows], fmt="o",
                    capsize=4)
        ax.set_xticks(xs, [r[0] for r in rows])
        ax.set_ylabel("bits per dimension (± 2 SE)")
        ax.set_title("the same examples", fontsize=9)
        if gaps:
            ax2 = fig.add_subplot(1, 2, 2)
            xg = np.arange(len(gaps))
            ax2.errorbar(xg, [float(r[3] or 0.0) / k for r in gaps],
                         yerr=[2 * float(r[4] or 0.0) / k for r in gaps], fmt="o", capsize=4,
                         color="C1")
            ax2.axhline(0.0, color="k", lw=0.8, ls="--")
            ax2.set_xticks(xg, [f"{r[0]} − true" for r in gaps])
            ax2.set_ylabel("paired gap, bits/dim (± 2 SE)")
            ax2.set_title("gap to the true NLL, paired per example", fontsize=9)
        fig.tight_layout()
        FigureCanvasAgg(fig)
        return write_output(p, lambda f: fig.savefig(f, format="png", dpi=110), force)


def compare(D: int, *, elbo: np.ndarray | None = None, ode: OdeNll | None = None,
            true: np.ndarray | None = None, steps: int | None = None) -> LikelihoodComparison:
    """Build a :class:`LikelihoodComparison`, checking that every array has one value per
    example."""
    sizes = {n: len(v) for n, v in (("elbo", elbo), ("ode", None if ode is None else ode.nll),
                                     ("true", true)) if v is not None}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"the quantities compared must be on the same examples; got {sizes}.")
    return LikelihoodComparison(D, None if elbo is None else np.asarray(elbo, np.float64), ode,
                                None if true is None else np.asarray(true, np.float64), steps)


def _f(x: float) -> float | None:
    return x if math.isfinite(x) else None


def audit_likelihood(checkpoint: Any, x0: Any, law: Any, elbo: Any = None, *,
                     steps: int | None = None, device: Any = "cpu", seed: int = 0,
                     rtol: float = 1e-5, atol: float = 1e-5) -> LikelihoodComparison:
    """The comparison the audit reports: the ELBO of ``elbo`` (an ElboTerms, per example;
    None to skip), the ODE NLL of ``checkpoint`` on ``x0`` (uniformly dequantised on the
    law's grid for discrete data; exact trace for D ≤ 64, else 4 Rademacher probes), and
    the true NLL −log q(x0) where the law has a continuous density."""
    import torch

    from .ode import MAX_EXACT_DIM, ode_nll

    D = int(x0[0].numel())
    trace = "exact" if D <= MAX_EXACT_DIM else "hutchinson"
    ode = ode_nll(checkpoint, x0, trace=trace, n_probes=1 if trace == "exact" else 4,
                  rtol=rtol, atol=atol, dequantize=law.levels, device=device,
                  generator=torch.Generator().manual_seed(seed))
    true = None
    if law.has_density and law.levels is None:
        true = -law.log_prob(x0.to(torch.float64)).cpu().numpy()
    per_example = None if elbo is None else elbo.per_example_total
    return compare(D, elbo=per_example, ode=ode, true=true, steps=steps)
