"""Build-time figures of the likelihood page: ELBO vs ODE NLL vs true NLL for the
docs' trained model, the bound against the number of respaced steps K, and the
N-step continuous-time loss against N (registered into :data:`._figures.FIGURES`)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ._figures import _save, figure, trained_model
from ._state import BuildState

#: examples behind the likelihood figures (the ODE solve dominates the build time)
EXAMPLES = 128
_LN2 = math.log(2.0)


def _gaussian(law: object) -> tuple[np.ndarray, np.ndarray]:
    from ..audit.bounds import gaussian_law

    mc = gaussian_law(law)  # type: ignore[arg-type]
    assert mc is not None  # the registered "gaussian" law is a single Gaussian
    return mc


@figure("likelihood-comparison")
def _likelihood_comparison(path: Path, st: BuildState) -> None:
    import torch

    from ..audit import elbo_terms
    from ..likelihood.compare import audit_likelihood

    ck = trained_model(st)
    law = ck.dataset
    x = law.sample(EXAMPLES, torch.Generator().manual_seed(0), dtype=torch.float64)
    terms = elbo_terms(ck, x, bayes=False, generator=torch.Generator().manual_seed(1))
    audit_likelihood(ck, x, law, terms, seed=2).plot(path, force=True)


@figure("strided-bound")
def _strided_bound(path: Path, st: BuildState) -> None:
    import torch

    from ..audit import elbo_terms, gaussian_bayes_terms
    from ..backend.data import get_dataset
    from ..backend.schedule import Schedule

    ck = trained_model(st)
    x = ck.dataset.sample(EXAMPLES, torch.Generator().manual_seed(0), dtype=torch.float64)
    T = ck.schedule.T
    Ks = [k for k in (2, 5, 10, 20, 50, 100, T) if k <= T]
    vals = []
    for k in Ks:
        tot = elbo_terms(ck, x, bayes=False, steps=k,
                         generator=torch.Generator().manual_seed(k)).total
        assert tot is not None  # every transition is audited, so the total exists
        vals.append(tot)
    fig = Figure(figsize=(8.4, 3.2))
    ax = fig.add_subplot(1, 2, 1)
    ax.errorbar(Ks, [v.nats / (2 * _LN2) for v in vals],
                yerr=[2 * v.stderr / (2 * _LN2) for v in vals], fmt="o-", capsize=3)
    ax.set(xscale="log", xlabel="K (respaced steps)", ylabel="bound, bits/dim (± 2 SE)",
           title=f"trained MLP (T = {T}, mixture_2d)")
    law, parent = get_dataset("gaussian"), Schedule.linear(1000)
    m, S = _gaussian(law)
    ks = np.unique(np.geomspace(2, 1000, 40).round().astype(int))
    exact = [gaussian_bayes_terms(parent.respace(int(k)).schedule, m, S, "beta")["total"]
             for k in ks]
    ent = law.entropy().value
    ax2 = fig.add_subplot(1, 2, 2)
    ax2.plot(ks, np.array(exact) / (2 * _LN2), label="exact K-step bound")
    ax2.axhline(ent / (2 * _LN2), color="k", ls="--", lw=0.8, label="true NLL (entropy)")
    ax2.set(xscale="log", yscale="log", xlabel="K", title="Bayes model of a Gaussian, T = 1000")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)


@figure("continuous-bound")
def _continuous_bound(path: Path, st: BuildState) -> None:
    import torch

    from ..backend.data import get_dataset
    from ..backend.schedule import Schedule
    from ..likelihood import ContinuousSchedule, exact_eps_model
    from ..likelihood.vdm import (
        continuous_bound,
        gaussian_continuous_bound,
        gaussian_discrete_diffusion_loss,
    )

    law, sched = get_dataset("gaussian"), Schedule.linear(1000)
    cont = ContinuousSchedule(sched)
    m, S = _gaussian(law)
    inf = gaussian_continuous_bound(cont, m, S)["diffusion"]
    Ns = np.unique(np.geomspace(10, 1e5, 30).round().astype(int))
    exact = [gaussian_discrete_diffusion_loss(cont, S, int(n)) for n in Ns]
    x = law.sample(500, torch.Generator().manual_seed(0), dtype=torch.float64)
    model = exact_eps_model(law, sched)
    est = [continuous_bound(model, x, sched, n_steps=n, n_times=8,
                            generator=torch.Generator().manual_seed(n)).value("diffusion")
           for n in (30, 100, 1000)]
    lim = continuous_bound(model, x, sched, n_times=8).value("diffusion")
    fig = Figure(figsize=(5.6, 3.4))
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(Ns, np.array(exact) - inf, label="N-step loss − L∞ (closed form)")
    ax.errorbar([30, 100, 1000], [e[0] - inf for e in est], yerr=[2 * e[1] for e in est],
                fmt="o", capsize=3, label="estimated (± 2 SE)")
    ax.set(xscale="log", yscale="log", xlabel="N (steps)", ylabel="nats above L∞",
           title=f"L∞ = {inf:.3f} nats (estimated {lim[0]:.3f} ± {lim[1]:.3f})")
    ax.legend(fontsize=8)
    fig.tight_layout()
    _save(fig, path)
