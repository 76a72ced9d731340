"""Citations as data, and the pinned list of sources they refer to.

A :class:`Citation` renders like ``(Ho et al. 2020, Eq. 7)``.  The homework of Sahai et al.
numbers equations differently from the paper, so a citation always names its source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Derivation

__all__ = ["Citation", "SOURCES", "Source", "citation_gaps"]


@dataclass(frozen=True)
class Source:
    key: str
    reference: str
    url: str = ""


#: every source a citation may name (the references page enumerates this)
SOURCES: dict[str, Source] = {
    s.key: s
    for s in (
        Source("Ho et al. 2020",
               "J. Ho, A. Jain, P. Abbeel. Denoising Diffusion Probabilistic Models. "
               "NeurIPS 2020. arXiv:2006.11239v2.", "https://arxiv.org/abs/2006.11239v2"),
        Source("Sohl-Dickstein et al. 2015",
               "J. Sohl-Dickstein, E. Weiss, N. Maheswaranathan, S. Ganguli. Deep Unsupervised "
               "Learning using Nonequilibrium Thermodynamics. ICML 2015. arXiv:1503.03585v8.",
               "https://arxiv.org/abs/1503.03585v8"),
        Source("Kingma et al. 2021",
               "D. P. Kingma, T. Salimans, B. Poole, J. Ho. Variational Diffusion Models. "
               "NeurIPS 2021. arXiv:2107.00630v6.", "https://arxiv.org/abs/2107.00630v6"),
        Source("Nichol & Dhariwal 2021",
               "A. Nichol, P. Dhariwal. Improved Denoising Diffusion Probabilistic Models. "
               "ICML 2021. arXiv:2102.09672v1.", "https://arxiv.org/abs/2102.09672v1"),
        Source("Song et al. 2021",
               "Y. Song, J. Sohl-Dickstein, D. P. Kingma, A. Kumar, S. Ermon, B. Poole. "
               "Score-Based Generative Modeling through Stochastic Differential Equations. "
               "ICLR 2021. arXiv:2011.13456v2.", "https://arxiv.org/abs/2011.13456v2"),
        Source("Chen et al. 2018",
               "R. T. Q. Chen, Y. Rubanova, J. Bettencourt, D. Duvenaud. Neural Ordinary "
               "Differential Equations. NeurIPS 2018. arXiv:1806.07366v5.",
               "https://arxiv.org/abs/1806.07366v5"),
        Source("Salimans & Ho 2022",
               "T. Salimans, J. Ho. Progressive Distillation for Fast Sampling of Diffusion "
               "Models. ICLR 2022. arXiv:2202.00512v2.", "https://arxiv.org/abs/2202.00512v2"),
        Source("Luo 2022",
               "C. Luo. Understanding Diffusion Models: A Unified Perspective. "
               "arXiv:2208.11970v1.", "https://arxiv.org/abs/2208.11970v1"),
        Source("Lin et al. 2024",
               "S. Lin, B. Liu, J. Li, X. Yang. Common Diffusion Noise Schedules and Sample "
               "Steps are Flawed. WACV 2024. arXiv:2305.08891v4.",
               "https://arxiv.org/abs/2305.08891v4"),
        Source("Efron 2011",
               "B. Efron. Tweedie's Formula and Selection Bias. JASA 106(496), 2011.", ""),
        Source("Kingma & Welling 2014",
               "D. P. Kingma, M. Welling. Auto-Encoding Variational Bayes. ICLR 2014. "
               "arXiv:1312.6114v11.", "https://arxiv.org/abs/1312.6114v11"),
        Source("Cover & Thomas 2006",
               "T. M. Cover, J. A. Thomas. Elements of Information Theory, 2nd ed. Wiley, 2006.",
               ""),
        Source("Yi 2023",
               "W. Yi. Understanding the Denoising Diffusion Probabilistic Model, the Socratic "
               "Way. Blog post, February 2023.", ""),
        Source("VAE/VDM notes",
               "Variational Autoencoders: notes on variational autoencoders and variational "
               "diffusion models (online notes; no author named).", ""),
        Source("DDPM notes, Part 2",
               "Denoising diffusion probabilistic models (Part 2: Theoretical justification). "
               "Blog post (no author named in the text).", ""),
        Source("Sahai et al. (homework)",
               "A. Sahai (instructor), J. Hong, M. Lam, M. Lindblad, A. Liu. Diffusion, "
               "Denoising, and Deep Networks (homework assignment).", ""),
        Source("Song, Meng & Ermon 2021",
               "J. Song, C. Meng, S. Ermon. Denoising Diffusion Implicit Models. ICLR 2021. "
               "arXiv:2010.02502v4.", "https://arxiv.org/abs/2010.02502v4"),
        Source("Bao et al. 2022",
               "F. Bao, C. Li, J. Zhu, B. Zhang. Analytic-DPM: an Analytic Estimate of the "
               "Optimal Reverse Variance in Diffusion Probabilistic Models. ICLR 2022. "
               "arXiv:2201.06503v3.", "https://arxiv.org/abs/2201.06503v3"),
        Source("Vincent 2011",
               "P. Vincent. A Connection Between Score Matching and Denoising Autoencoders. "
               "Neural Computation 23(7), 2011.", ""),
        Source("Hyvärinen 2005",
               "A. Hyvärinen. Estimation of Non-Normalized Statistical Models by Score "
               "Matching. JMLR 6, 2005.", ""),
        Source("Dhariwal & Nichol 2021",
               "P. Dhariwal, A. Nichol. Diffusion Models Beat GANs on Image Synthesis. "
               "NeurIPS 2021. arXiv:2105.05233v4.", "https://arxiv.org/abs/2105.05233v4"),
        Source("Ho & Salimans 2022",
               "J. Ho, T. Salimans. Classifier-Free Diffusion Guidance. NeurIPS 2021 Workshop "
               "on Deep Generative Models. arXiv:2207.12598v1.",
               "https://arxiv.org/abs/2207.12598v1"),
        Source("Robbins 1956",
               "H. Robbins. An Empirical Bayes Approach to Statistics. Proc. Third Berkeley "
               "Symposium on Mathematical Statistics and Probability, 1956.", ""),
        Source("standard",
               "A standard fact of probability or algebra, stated in the step's rule.", ""),
    )
}


@dataclass(frozen=True)
class Citation:
    """Where a step or claim comes from: a key of :data:`SOURCES` and a location."""

    source: str
    where: str = ""

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(
                f"unknown source {self.source!r}; add it to SOURCES or use one of "
                f"{sorted(SOURCES)}"
            )

    def __str__(self) -> str:
        return f"({self.source}, {self.where})" if self.where else f"({self.source})"


def citation_gaps(d: Derivation) -> list[str]:
    """Where ``d`` lacks a citation: each Part and each Step must carry one, and a
    "standard" citation must name its rule; every entry names derivation, part and step.

    The registry's test requires this list to be empty for every registered derivation;
    the engine does not (a user's own derivation verifies without citations)."""
    gaps: list[str] = []

    def check(where: str, c: Citation | None) -> None:
        if c is None:
            gaps.append(f"{where}: no citation")
        elif c.source == "standard" and not c.where.strip():
            gaps.append(f"{where}: a 'standard' citation must name the rule")

    for part in d.parts:
        where = f"derivation {d.name!r}, part {part.title!r}"
        check(where, part.cite)
        for k, step in enumerate(part.steps, start=1):
            check(f"{where}, step {k} ({step.rule[:60]})", step.cite)
    return gaps
