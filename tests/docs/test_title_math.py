"""Mathematics in derivation and part titles: split from the words, translated to LaTeX."""

from __future__ import annotations

import pytest

from ddpm_theory.sphinxext._title_math import split_title, to_latex
from ddpm_theory.symbolic import registry

TITLES = [t for n in registry.names()
          for t in (registry.get(n).title, *(p.title for p in registry.get(n).parts))]


@pytest.mark.parametrize("title", TITLES)
def test_split_covers_the_title(title: str) -> None:
    assert "".join(piece for _, piece in split_title(title)) == title


@pytest.mark.parametrize("title, pieces", [
    ("Completing the square in x_{t−1}", [(False, "Completing the square in "),
                                          (True, r"x_{t-1}")]),
    ("The forward-process posterior q(x_{t−1} | x_t, x_0)",
     [(False, "The forward-process posterior "), (True, r"q(x_{t-1} \mid x_t, x_0)")]),
    ("The conditional score is −ε/√(1 − ᾱ_t)",
     [(False, "The conditional score is "), (True, r"-\epsilon /\sqrt{1 - \bar\alpha_t}")]),
    ("Homework eq. 12 as printed, with 1/√ᾱ_t (claimed)",
     [(False, "Homework eq. 12 as printed, with "), (True, r"1/\sqrt{\bar\alpha_t}"),
      (False, " (claimed)")]),
    ("The whole chain, T = 2", [(False, "The whole chain, "), (True, "T = 2")]),
    ("C_t vanishes at σ_t² = β̃_t", [(True, "C_t"), (False, " vanishes at "),
                                      (True, r"\sigma_t^2 = \tilde\beta_t")]),
    ("From the x_0-weight to the ε-weight",
     [(False, "From the "), (True, "x_0"), (False, "-weight to the "), (True, r"\epsilon"),
      (False, "-weight")]),
    ("Worked instance: E[L] = H(q(x_0)) + joint KL",
     [(False, "Worked instance: "), (True, "E[L] = H(q(x_0))"), (False, " + joint KL")]),
    ("KL is always (strictly) positive (claimed)",
     [(False, "KL is always (strictly) positive (claimed)")]),
    ("Eq. 4 to eq. 8, symbolic T", [(False, "Eq. 4 to eq. 8, symbolic T")]),
])
def test_known_titles(title: str, pieces: list[tuple[bool, str]]) -> None:
    got = [(m, to_latex(p) if m else p) for m, p in split_title(title)]
    assert got == pieces


@pytest.mark.parametrize("title", TITLES)
def test_latex_is_balanced_and_ascii(title: str) -> None:
    # what MathJax receives: braces and parentheses balanced, no Unicode mathematics left
    for is_math, piece in split_title(title):
        if not is_math:
            continue
        latex = to_latex(piece)
        assert latex.count("{") == latex.count("}"), latex
        assert latex.count("(") == latex.count(")"), latex
        assert all(ord(c) < 128 for c in latex), latex
