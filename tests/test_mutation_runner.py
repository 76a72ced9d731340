"""The mutation-testing runner's own rules (mutation/run.py): which surviving mutants it
leaves out of the score. A rule that excused too much would inflate the score, so each is
shown rejecting the mutants it must not excuse beside the ones it must."""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def run():
    spec = importlib.util.spec_from_file_location("mutation_run", ROOT / "mutation" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_run"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["mutation_run"]


SOURCE = textwrap.dedent("""
    import warnings

    ALIASES = {"discrete": "discretized"}


    def f(x, T):
        if x < 0:
            raise ValueError("x must be at least 0 for T steps; "
                             f"got {x!r} of {type(x).__name__}.")
        if x > 9:
            warnings.warn("x is large; the sum may overflow.", stacklevel=2)
        key = "discrete"
        return ALIASES.get(key, key)
""")


def diff(before: str, after: str) -> str:
    return f"--- m.py\n+++ m.py\n@@ -1,3 +1,3 @@\n context\n-{before}\n+{after}\n context\n"


@pytest.fixture()
def module(run, tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text(SOURCE)
    monkeypatch.setattr(run, "ROOT", tmp_path)
    run.message_lines.cache_clear()
    yield "m.py"
    run.message_lines.cache_clear()


RAISE = '        raise ValueError("x must be at least 0 for T steps; "'
WARN = '        warnings.warn("x is large; the sum may overflow.", stacklevel=2)'


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (RAISE, '        raise ValueError("XXx must be at least 0 for T steps; XX"'),
        (WARN, '        warnings.warn("XXx is large; the sum may overflow.XX", stacklevel=2)'),
    ],
)
def test_xx_marked_message_text_is_excused(run, module, before, after) -> None:
    assert run.is_message_text(module, "m.x_f__mutmut_1", diff(before, after))


@pytest.mark.parametrize(
    ("before", "after", "why"),
    [
        (RAISE, '        raise ValueError("x must be at least 0 for t steps; "', "case: T -> t"),
        (RAISE, '        raise ValueError("X MUST BE AT LEAST 0 FOR T STEPS; "', "upper case"),
        (RAISE, "        raise ValueError(None", "message dropped"),
        (RAISE, '        raise TypeError("XXx must be at least 0 for T steps; XX"', "type too"),
        (RAISE, '        raise ValueError("x must be at least 1 for T steps; "', "a number"),
        ('                             f"got {x!r} of {type(x).__name__}."',
         '                             f"XXgot {x!r} of {type(x).__name__}.XX"', "f-string"),
        (WARN, '        warnings.warn("XXx is large; the sum may overflow.XX", stacklevel=3)',
         "two changes"),
        ('    key = "discrete"', '    key = "XXdiscreteXX"', "a value, not a message"),
    ],
)  # fmt: skip
def test_other_changes_are_not_excused(run, module, before, after, why) -> None:
    assert not run.is_message_text(module, "m.x_f__mutmut_1", diff(before, after)), why


def test_only_the_mutated_functions_messages_count(run, module) -> None:
    """The same raise line in another function (here: none called g) is not looked up."""
    marked = '        raise ValueError("XXx must be at least 0 for T steps; XX"'
    assert not run.is_message_text(module, "m.x_g__mutmut_1", diff(RAISE, marked))


def test_a_key_listed_twice_is_refused(run, tmp_path, monkeypatch) -> None:
    folder = tmp_path / "equivalent"
    folder.mkdir()
    entry = '[[mutant]]\nkey = "a.py::f: x => y"\nreason = "same"\n'
    (folder / "one.toml").write_text(entry)
    (folder / "two.toml").write_text(entry)
    monkeypatch.setattr(run, "HERE", tmp_path)
    with pytest.raises(SystemExit, match="listed twice"):
        run.load_equivalent()
    (folder / "two.toml").unlink()
    assert run.load_equivalent() == {"a.py::f: x => y": "same"}
