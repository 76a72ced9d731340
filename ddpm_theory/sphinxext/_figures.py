"""Pictures drawn while the docs build (matplotlib, Agg canvas), written into the build.

    :::{ddpm-figure} elbo-weighting
    :alt: lambda_t against t/T
    Caption text.
    :::

Each figure in :data:`FIGURES` is drawn once per build into ``<doctreedir>/ddpm_figures``
(inside the build directory, never committed) and copied by Sphinx like any image. A
figure that cannot be drawn fails the build: it is never skipped.

torch is imported only inside the functions that need it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from docutils import nodes
from docutils.parsers.rst import directives
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sphinx.util.docutils import SphinxDirective

from ._derivation import report_failure
from ._domain import DdpmDomain
from ._state import BuildState, state

__all__ = ["FIGURES", "FigureError", "FigureDirective", "figure", "elbo_weights",
           "schedules", "AUDIT_API"]


class _ModelSpec(TypedDict):
    """The keys of :data:`MODEL` (a plain dict at runtime)."""

    data: str
    steps: int
    T: int
    seed: int


#: the small model shared by the model figures: quick on one CPU thread (seconds)
MODEL: _ModelSpec = {"data": "mixture_2d", "steps": 1500, "T": 200, "seed": 0}
#: the public API the audit figure needs (it fails loudly while that is absent)
AUDIT_API = ("ddpm_theory.elbo_terms(checkpoint, n, generator=...) -> ElboTerms, and "
             "ElboTerms.plot(path)")
#: examples the audit figure averages over
AUDIT_EXAMPLES = 256


class FigureError(RuntimeError):
    """A build-time figure could not be drawn."""


Drawer = Callable[[Path, BuildState], None]
FIGURES: dict[str, Drawer] = {}


def figure(name: str) -> Callable[[Drawer], Drawer]:
    """Register a drawer ``f(path, state)`` that writes one PNG to ``path``."""

    def deco(f: Drawer) -> Drawer:
        if name in FIGURES:
            raise ValueError(f"figure {name!r} is registered twice")
        FIGURES[name] = f
        return f

    return deco


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=110)


def schedules(T: int = 1000) -> dict[str, Any]:
    """The named schedules compared in the tutorials (torch backend's :class:`Schedule`)."""
    from ..backend.schedule import Schedule

    return {
        "linear (Ho et al. 2020)": Schedule.linear(T),
        "quadratic": Schedule.quadratic(T, scale_to_T=True),
        "cosine (Nichol & Dhariwal 2021)": Schedule.cosine(T),
        "sigmoid": Schedule.sigmoid(T),
    }


def elbo_weights(betas: np.ndarray) -> np.ndarray:
    """λ_t for t = 2..T: the weight of ‖ε − ε_θ‖² in L_{t−1} with σ_t² = β̃_t (Ho et al.
    2020, Eq. 12 with σ_t² = β̃_t), computed two independent ways that must agree:

    * from the posterior: β_t² / (2 β̃_t α_t (1 − ᾱ_t));
    * from the SNR: ½ (SNR(t−1)/SNR(t) − 1), SNR(t) = ᾱ_t / (1 − ᾱ_t) (Kingma et al. 2021).

    Raises :class:`FigureError` when they differ by more than 1e-9 relative (float64
    rounding of these well-conditioned ratios is ~1e-13 for the schedules used here).
    """
    b = np.asarray(betas, dtype=np.float64)
    a = 1.0 - b
    ab = np.cumprod(a)
    beta_tilde = (1.0 - ab[:-1]) / (1.0 - ab[1:]) * b[1:]          # t = 2..T
    from_posterior = b[1:] ** 2 / (2.0 * beta_tilde * a[1:] * (1.0 - ab[1:]))
    snr = ab / (1.0 - ab)
    from_snr = 0.5 * (snr[:-1] / snr[1:] - 1.0)
    if not np.allclose(from_posterior, from_snr, rtol=1e-9, atol=0.0):
        worst = int(np.argmax(np.abs(from_posterior / from_snr - 1.0)))
        raise FigureError(
            f"the two forms of lambda_t disagree at t = {worst + 2}: "
            f"{from_posterior[worst]!r} (posterior form) vs {from_snr[worst]!r} (SNR form)")
    return from_snr


@figure("alpha-bar-snr")
def _alpha_bar_snr(path: Path, st: BuildState) -> None:
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_ab, ax_snr = fig.subplots(1, 2)
    for label, s in schedules().items():
        u = np.arange(1, s.T + 1) / s.T
        ax_ab.plot(u, s.alpha_bar, label=label)
        ax_snr.semilogy(u, s.snr, label=label)
    ax_ab.set(xlabel="t / T", ylabel=r"$\bar\alpha_t$", title=r"$\bar\alpha_t=\prod_{s\leq t}"
              r"(1-\beta_s)$")
    ax_snr.set(xlabel="t / T", ylabel="SNR(t)",
               title=r"SNR$(t)=\bar\alpha_t/(1-\bar\alpha_t)$")
    ax_ab.legend(fontsize=8)
    _save(fig, path)


@figure("elbo-weighting")
def _elbo_weighting(path: Path, st: BuildState) -> None:
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_t, ax_snr = fig.subplots(1, 2)
    for label, s in schedules().items():
        lam = elbo_weights(s.betas)
        rel = lam / lam.mean()  # L_simple weighs every t alike: weight 1 after this scaling
        u = np.arange(2, s.T + 1) / s.T
        ax_t.semilogy(u, rel, label=label)
        ax_snr.loglog(s.snr[1:], rel, label=label)
    for ax in (ax_t, ax_snr):
        ax.axhline(1.0, color="black", linestyle="--", linewidth=1, label=r"$L_\mathrm{simple}$")
        ax.set_ylabel(r"$\lambda_t$ / mean $\lambda$")
    ax_t.set(xlabel="t / T", title=r"true ELBO weight $\lambda_t$ vs $L_\mathrm{simple}$")
    ax_snr.set(xlabel="SNR(t)", title=r"$\lambda_t=\frac{1}{2}(\mathrm{SNR}(t-1)/"
               r"\mathrm{SNR}(t)-1)$")
    ax_snr.invert_xaxis()
    ax_t.legend(fontsize=7)
    _save(fig, path)


@figure("forward-schedules")
def _forward_schedules(path: Path, st: BuildState) -> None:
    from ..backend.plots import plot_forward_schedules

    plot_forward_schedules(path, data="digits", seed=0, force=True)


def trained_model(st: BuildState) -> Any:
    """The small model of :data:`MODEL`, trained once per build on CPU."""
    if "checkpoint" not in st.figures:
        import torch

        from ..backend import Schedule, train

        torch.set_num_threads(1)
        st.figures["checkpoint"] = train(
            MODEL["data"], MODEL["steps"], schedule=Schedule.linear(MODEL["T"], scale_to_T=True),
            seed=MODEL["seed"], device="cpu", progress=False)
    return st.figures["checkpoint"]


@figure("forward-reverse")
def _forward_reverse(path: Path, st: BuildState) -> None:
    from ..backend.plots import plot_forward_reverse

    plot_forward_reverse(path, trained_model(st), n=1000, seed=0, force=True)


@figure("elbo-audit")
def _elbo_audit(path: Path, st: BuildState) -> None:
    """Hook for the per-term ELBO audit plot: needs :data:`AUDIT_API` and fails loudly
    while that API is absent."""
    import ddpm_theory

    try:
        elbo_terms = ddpm_theory.elbo_terms
    except (ImportError, AttributeError) as exc:
        raise FigureError(f"the ELBO audit figure needs {AUDIT_API}, which is not available "
                          f"yet ({type(exc).__name__}: {exc})") from exc
    import torch

    terms = elbo_terms(trained_model(st), AUDIT_EXAMPLES,
                       generator=torch.Generator().manual_seed(0))
    if not hasattr(terms, "plot"):
        raise FigureError(f"{type(terms).__name__} has no plot(path) method; needs {AUDIT_API}")
    terms.plot(path)


class FigureDirective(SphinxDirective):
    """``ddpm-figure NAME``: draw the registered figure NAME now and show it."""

    required_arguments = 1
    has_content = True
    option_spec = {"alt": directives.unchanged,
                   "width": directives.length_or_percentage_or_unitless}

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0].strip()
        domain = self.env.get_domain("ddpm")
        assert isinstance(domain, DdpmDomain)
        domain.data.setdefault("live", {})[self.env.docname] = True
        st = state(self.env)
        out_dir = Path(self.env.doctreedir) / "ddpm_figures"
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.png"
        if name not in st.figures:
            st.figures[name] = self._draw(name, path, st)
        error = st.figures[name]
        if error:
            report_failure(domain, self.env.docname, self.lineno, error)
            return [nodes.paragraph(text=error, classes=["ddpm-failure"])]
        # Sphinx resolves an image's path with symlinks followed (a page under a linked
        # folder, e.g. proofs/, sits in the link's target), so relate the two real paths
        doc_dir = (Path(self.env.srcdir) / Path(self.env.doc2path(self.env.docname,
                                                                   False)).parent).resolve()
        uri = Path(os.path.relpath(path.resolve(), doc_dir)).as_posix()
        fig = nodes.figure(classes=["ddpm-figure"])
        img = nodes.image(uri=uri, alt=self.options.get("alt", name), candidates={"*": uri})
        if "width" in self.options:
            img["width"] = self.options["width"]
        fig += img
        if self.content:
            caption = nodes.caption()
            self.state.nested_parse(self.content, self.content_offset, caption)
            paras = list(caption.findall(nodes.paragraph))
            cap = nodes.caption("", "", *(paras[0].children if paras else []))
            fig += cap
        return [fig]

    @staticmethod
    def _draw(name: str, path: Path, st: BuildState) -> str:
        """Draw ``name`` into ``path``; '' on success, else the error message."""
        if name not in FIGURES:
            return f"ddpm-figure: unknown figure {name!r}; known: {', '.join(FIGURES)}"
        path.unlink(missing_ok=True)  # never show a picture left by an earlier build
        try:
            FIGURES[name](path, st)
        except Exception as exc:
            return f"ddpm-figure {name!r} could not be drawn: {type(exc).__name__}: {exc}"
        if not path.is_file() or path.stat().st_size == 0:
            return f"ddpm-figure {name!r}: the drawer wrote no image to {path}"
        return ""


# the likelihood page's figures and the dependency graph register themselves on import
from . import _graph, _likelihood_figures  # noqa: E402,F401
