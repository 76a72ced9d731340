"""The Sphinx extension, tested by building tiny projects: a good derivation renders its
steps and stamps; an unknown name, a broken step, a claim marked false that holds, a
duplicate page, a missing page or a figure that cannot be drawn fails the build, naming
what failed."""

from __future__ import annotations

import dataclasses
import html as html_lib
import re
import subprocess
import sys

import pytest
import sympy as sp
from sphinx_helpers import build

from ddpm_theory.sphinxext import _figures
from ddpm_theory.sphinxext._title_math import split_title, to_latex
from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.derivations import posterior
from ddpm_theory.symbolic.engine import Derivation, Part, Step
from ddpm_theory.symbolic.notation import alpha_bar, alpha_bar_prev

PAGE = """
# {name}

:::{{derivation}} {name}
:::
"""


def page(name: str) -> str:
    return PAGE.format(name=name)


def test_good_derivation_renders_steps_and_stamps(tmp_path):
    built = build(tmp_path, {"post": page("bayes-posterior")})
    assert built.status == 0, built.warnings
    html = built.html("post")
    d = registry.get("bayes-posterior")
    n_steps = len(d.steps)
    assert html.count('class="ddpm-step ddpm-step-verified') == n_steps
    assert html.count("✔ verified") >= n_steps + 1          # each step and the header
    text = html_lib.unescape(html).replace("’", "'")  # undo smart quotes
    for k, part in enumerate(d.parts, start=1):
        assert f"Part {k}. " in text
        for is_math, piece in split_title(part.title):  # math in a title is rendered as math
            assert (to_latex(piece) if is_math else piece) in text, (k, piece)
    assert ('Completing the square in <span class="math notranslate nohighlight">'
            r"\(x_{t-1}\)</span>") in html
    assert "mpmath50" in html and re.search(r"\d\.\d{3} s", html)
    assert r"\overset{(3)}{=}" in html                      # a step in LaTeX
    assert r"\tilde\beta_t" in html                         # the statement
    assert r"\alpha_t \in (0, 1)" in html                   # a declared domain
    assert 'id="derivation-bayes-posterior"' in html
    assert built.state.verify_calls == 1


def test_unknown_derivation_fails_the_build(tmp_path):
    built = build(tmp_path, {"bad": page("no-such-derivation")})
    assert built.status != 0
    assert "unknown derivation 'no-such-derivation'" in built.warnings
    assert "bayes-posterior" in built.warnings              # the known names are listed


def _broken_posterior(name: str) -> Derivation:
    """Ho et al. Eq. 7 with a plausible slip: ᾱ_t where ᾱ_{t−1} belongs in the x_0 term."""
    wrong = posterior.MU_TILDE.xreplace({sp.sqrt(alpha_bar_prev): sp.sqrt(alpha_bar)})
    assert wrong != posterior.MU_TILDE
    return dataclasses.replace(posterior.build(mu_tilde=wrong), name=name)


@pytest.mark.parametrize("strict", [True, False], ids=["-W", "no -W"])
def test_a_broken_step_fails_the_build_naming_it(tmp_path, register_temporarily, strict):
    register_temporarily("test-broken-posterior", _broken_posterior("test-broken-posterior"))
    built = build(tmp_path, {"broken": page("test-broken-posterior")}, strict=strict)
    assert built.status != 0                                 # even without -W
    w = built.warnings
    assert "derivation 'test-broken-posterior'" in w
    assert "part 'Completing the square in x_{t−1}', step 3" in w
    assert "FAILED" in w
    html = built.html("broken")
    assert "✖ failed" in html and "Counterexample at" in html


def _claim(name: str, claimed_false: bool, rhs: sp.Expr) -> Derivation:
    a, b = sp.symbols("a b", positive=True)
    return Derivation(
        name=name, title="A planted claim", statement=r"(a + b)^2 = a^2 + b^2",
        parts=(Part(title="Freshman's dream", start=(a + b) ** 2, start_rule="a square",
                    steps=(Step(rhs.subs({sp.Symbol("A"): a, sp.Symbol("B"): b}),
                                "expand (claimed by nobody)", claimed_false=claimed_false),)),),
        counterexample_note="a = b = 1 gives 4 on the left and 2 on the right.",
    )


def test_a_refuted_claim_shows_its_counterexample(tmp_path, register_temporarily):
    A, B = sp.symbols("A B")
    register_temporarily("test-refuted", _claim("test-refuted", True, A**2 + B**2))
    built = build(tmp_path, {"claim": page("test-refuted")})
    assert built.status == 0, built.warnings
    html = built.html("claim")
    assert "refuted as expected" in html
    assert "Counterexample at" in html and "previous expression =" in html
    assert "a = b = 1 gives 4 on the left and 2 on the right." in html


def test_a_claim_marked_false_that_holds_fails_the_build(tmp_path, register_temporarily):
    A, B = sp.symbols("A B")
    register_temporarily("test-true-claim", _claim("test-true-claim", True, (A + B) ** 2))
    built = build(tmp_path, {"claim": page("test-true-claim")})
    assert built.status != 0
    assert "claimed false but the symbolic check proves it" in built.warnings


def test_each_derivation_is_verified_once_per_build(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "names", lambda: ["bayes-posterior"])
    pages = {"post": page("bayes-posterior"), "all": "# all\n\n:::{derivation-index}\n:::\n"}
    built = build(tmp_path, pages)
    assert built.status == 0, built.warnings
    assert built.state.verify_calls == 1
    assert 'href="post.html#derivation-bayes-posterior"' in built.html("all")


def test_a_derivation_on_two_pages_fails_the_build(tmp_path):
    built = build(tmp_path, {"a": page("gaussian-kl"), "b": page("gaussian-kl")})
    assert built.status != 0
    assert "rendered on two pages" in built.warnings


def test_a_registered_derivation_without_a_page_fails_the_build(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "names", lambda: ["bayes-posterior", "gaussian-kl"])
    built = build(tmp_path, {"post": page("bayes-posterior")},
                  require_every_derivation=True)
    assert built.status != 0
    assert "registered derivation 'gaussian-kl' has no page" in built.warnings
    # and without -W the build still fails at its end
    built = build(tmp_path / "again", {"post": page("bayes-posterior")}, strict=False,
                  require_every_derivation=True)
    assert built.status != 0


def test_a_link_to_a_derivation_without_a_page_fails(tmp_path):
    built = build(tmp_path, {"index": "# x\n\nSee {ddpm:derivation}`gaussian-kl`.\n"})
    assert built.status != 0
    assert "no page renders derivation 'gaussian-kl'" in built.warnings


def test_a_figure_that_cannot_be_drawn_fails_the_build(tmp_path, monkeypatch):
    def broken(path, st):
        raise RuntimeError("planted")

    monkeypatch.setitem(_figures.FIGURES, "test-broken", broken)
    built = build(tmp_path, {"index": "# x\n\n:::{ddpm-figure} test-broken\n:::\n"
                                      "\n:::{ddpm-figure} no-such-figure\n:::\n"})
    assert built.status != 0
    assert "ddpm-figure 'test-broken' could not be drawn: RuntimeError: planted" in built.warnings
    assert "unknown figure 'no-such-figure'" in built.warnings


def test_a_figure_is_drawn_into_the_build(tmp_path):
    built = build(tmp_path, {"index": "# x\n\n:::{ddpm-figure} elbo-weighting\n:alt: w\n"
                                      "The caption.\n:::\n"})
    assert built.status == 0, built.warnings
    assert (tmp_path / "doctrees" / "ddpm_figures" / "elbo-weighting.png").is_file()
    assert list((built.out / "_images").glob("elbo-weighting*.png"))
    assert "The caption." in built.html()


def test_the_audit_hook_fails_loudly_when_its_api_is_absent(monkeypatch, tmp_path):
    import ddpm_theory

    monkeypatch.delattr(ddpm_theory, "elbo_terms", raising=False)
    monkeypatch.setitem(ddpm_theory._EXPORTS, "elbo_terms", "ddpm_theory.no_such_module")
    with pytest.raises(_figures.FigureError, match="needs ddpm_theory.elbo_terms"):
        _figures.FIGURES["elbo-audit"](tmp_path / "x.png", _figures.BuildState())


def test_elbo_weights_match_a_third_form():
    from ddpm_theory.backend.schedule import Schedule

    s = Schedule.linear(1000)
    lam = _figures.elbo_weights(s.betas)
    b, a, ab = s.betas, s.alphas, s.alpha_bar
    third = b[1:] / (2 * a[1:] * (1 - ab[:-1]))   # β_t / (2 α_t (1 − ᾱ_{t−1}))
    assert lam.shape == (999,)
    assert max(abs(lam / third - 1)) < 1e-12       # well conditioned ratios in float64


def test_importing_the_extension_does_not_import_torch():
    code = "import sys, ddpm_theory.sphinxext; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_citations_once_and_the_t1_part_with_index_1(tmp_path):
    built = build(tmp_path, {"post": page("bayes-posterior")})
    assert built.status == 0, built.warnings
    text = html_lib.unescape(built.html("post"))
    assert "(Ho et al. 2020, Eq. 2) (Ho et al. 2020, Eq. 2)" not in text
    assert text.count("(Ho et al. 2020, Eq. 2)") >= 1
    sources = re.search(r"Sources: ([^<]*)<", text)
    assert sources is not None
    cites = sources.group(1).split("; ")
    assert len(cites) == len(set(cites))
    t1 = text[text.index("The degenerate case"):]
    start = t1[:t1.index("Start:")]
    assert r"\beta_1" in start and r"\alpha_1" in start and r"\beta_t" not in start
