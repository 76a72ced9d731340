"""The ``ddpm-run`` directive: examples run while the docs build, their output is shown,
and an example that fails (an exception, or a command with another exit status) fails the
build, non-strict builds included."""

from __future__ import annotations

import pytest
from sphinx_helpers import build

GOOD = """
# page

:::{ddpm-run}
import ddpm_theory
answer = ddpm_theory.check("alpha_t = 1 - beta_t")
:::

:::{ddpm-run}
print("verdict:", answer.verdict)
:::

:::{ddpm-run}
:write: mine.py
from ddpm_theory.derive import Derivation, Part, Step, alpha, beta
d = Derivation(name="mine", title="mine", statement="s",
               parts=(Part(title="p", start=1 - alpha, start_rule="r",
                           steps=(Step(beta, "definition"),)),))
:::

:::{ddpm-run}
:command:
ddpm-theory verify --module mine.py
:::
"""


def test_examples_run_share_a_namespace_and_show_their_output(tmp_path):
    built = build(tmp_path, {"index": GOOD})
    assert built.status == 0, built.warnings
    html = built.html()
    assert "verdict: true" in html
    assert "1 as expected, 0 not" in html


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(("block", "needle"), [
    ("import ddpm_theory\nassert ddpm_theory.check('alpha_t = 1 + beta_t')", "AssertionError"),
    (":command:\nddpm-theory check 'alpha_t = 1 + beta_t'", "exited with 1, expected 0"),
    (":command:\n:returncode: 1\nddpm-theory check 'alpha_t = 1 - beta_t'",
     "exited with 0, expected 1"),
    (":command:\nls -l", "runs `ddpm-theory ...`"),
])
def test_a_failing_example_fails_the_build(tmp_path, block, needle, strict):
    built = build(tmp_path, {"index": f"# page\n\n:::{{ddpm-run}}\n{block}\n:::\n"},
                  strict=strict)
    assert built.status != 0
    assert "the example failed" in built.warnings and needle in built.warnings
