"""Mathematics in rule texts: ``$...$`` pieces render through MathJax on the derivation
pages, the command line shows them without dollars, and an unpaired dollar fails the
build naming the place."""

from __future__ import annotations

import pytest
from docutils import nodes
from sphinx_helpers import build

from ddpm_theory.cli import main
from ddpm_theory.sphinxext._title_math import piece_latex, rule_nodes, title_nodes
from ddpm_theory.symbolic import registry
from ddpm_theory.symbolic.citation import Citation
from ddpm_theory.symbolic.engine import Derivation, Part, Step
from ddpm_theory.symbolic.richtext import MathMarkupError, plain, split_math


def _balanced(latex: str) -> bool:
    depth = 0
    for k, ch in enumerate(latex):
        if ch in "{}" and (k == 0 or latex[k - 1] != "\\"):
            depth += 1 if ch == "{" else -1
            if depth < 0:
                return False
    return depth == 0


def test_split_and_plain():
    text = r"complete the square: $−A/2 x²$ costs \$1 and $\tilde\beta_t$"
    assert split_math(text) == [(False, "complete the square: "), (True, "−A/2 x²"),
                                (False, " costs $1 and "), (True, r"\tilde\beta_t")]
    assert plain(text) == r"complete the square: −A/2 x² costs $1 and \tilde\beta_t"
    with pytest.raises(MathMarkupError, match="unpaired"):
        split_math("a $x")
    assert plain("a $x") == "a $x"  # the command line shows what it cannot split


def test_rule_nodes_render_unicode_and_latex_pieces():
    out = rule_nodes("using $α_t(1 − ᾱ_{t−1}) + β_t = 1 − ᾱ_t$ and $\\sqrt{x}$.")
    maths = [n.astext() for n in out if isinstance(n, nodes.math)]
    assert maths == [r"\alpha_t(1 - \bar\alpha_{t-1}) + \beta_t = 1 - \bar\alpha_t",
                     r"\sqrt{x}"]
    assert [n.astext() for n in out if not isinstance(n, nodes.math)] == ["using ", " and ",
                                                                          "."]
    assert [n.astext() for n in title_nodes("The $q(x_t|x_0)$ part")] == [
        "The ", r"q(x_t\mid x_0)", " part"]


@pytest.mark.parametrize("name", registry.names())
def test_registered_texts_have_paired_dollars_and_balanced_math(name):
    d = registry.get(name)
    texts = [d.title] + [t for p in d.parts
                         for t in (p.title, p.start_rule, *(s.rule for s in p.steps))]
    for text in texts:
        for is_math, piece in split_math(text):  # raises on an unpaired dollar
            assert not is_math or _balanced(piece_latex(piece)), (name, text)


def _marked(rule: str) -> Derivation:
    c = Citation("standard", "arithmetic")
    return Derivation(name="test-rule-math", title="t", statement="s",
                      parts=(Part("part", 1, "start with $x = 1$", (Step(1, rule, c),),
                                  cite=c),))


def test_a_page_renders_marked_rules_as_math(tmp_path, register_temporarily):
    register_temporarily("test-rule-math", _marked("since $β̃_t ≥ 0$, nothing changes"))
    built = build(tmp_path, {"p": "# p\n\n:::{derivation} test-rule-math\n:::\n"})
    assert built.status == 0, built.warnings
    html = built.html("p")
    assert r'<span class="math notranslate nohighlight">\(\tilde\beta_t \ge 0\)</span>' in html
    assert r'<span class="math notranslate nohighlight">\(x = 1\)</span>' in html
    assert "$" not in html.split('id="derivation-test-rule-math"', 1)[1].split("</div>", 1)[0]


def test_an_unpaired_dollar_fails_the_build_naming_the_step(tmp_path, register_temporarily):
    register_temporarily("test-rule-math", _marked("costs $5"))
    built = build(tmp_path, {"p": "# p\n\n:::{derivation} test-rule-math\n:::\n"},
                  strict=False)
    assert built.status != 0
    assert "derivation 'test-rule-math', step 1 rule: unpaired '$'" in built.warnings


def test_the_command_line_shows_rules_without_dollars(capsys):
    assert main(["verify", "bayes-posterior", "-v", "-j", "1"]) == 0
    out = capsys.readouterr().out
    assert "complete the square: −A/2 x² + B x" in out and "$" not in out
