"""The README cannot drift: its set-up section holds exactly the two commands CI runs, its
test count is the count pytest collects, and (slow) its commands run top to bottom."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")

_spec = importlib.util.spec_from_file_location("readme_commands",
                                               ROOT / ".ci" / "readme_commands.py")
assert _spec is not None and _spec.loader is not None
readme_commands = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(readme_commands)


def test_the_set_up_section_has_the_two_commands_ci_runs() -> None:
    cmds = readme_commands.setup_commands(README)
    assert len(cmds) == 2
    install, tests = cmds
    assert "-e ." in install and install.endswith("ddpm-theory verify")
    assert '-e ".[test]"' in tests and tests.endswith("python -m pytest")


def test_the_command_extractor_can_fail() -> None:
    """Planted: a README with a third set-up command, or none, is caught."""
    extra = README.replace("```bash\npip install", "```bash\necho hi\npip install", 1)
    assert len(readme_commands.setup_commands(extra)) == 3
    with pytest.raises(SystemExit):
        readme_commands.setup_commands(README.replace("## Set up", "## Setting up"))


def _full_default_run(config: pytest.Config) -> bool:
    """Whether this session collected the README's test command's whole suite."""
    return (config.args_source is pytest.Config.ArgsSource.TESTPATHS
            and not config.option.keyword and config.option.markexpr == "not slow and not sources"
            and not config.option.deselect and not getattr(config.option, "lf", False))


def test_readme_test_count_is_the_collected_count(request: pytest.FixtureRequest) -> None:
    m = re.search(r"the README's test command\s+runs (\d+) tests", README)
    assert m, "the README must state how many tests its test command runs"
    if not _full_default_run(request.config):
        pytest.skip("only a run of the whole default suite (python -m pytest) can compare")
    collected = len(request.session.items)
    assert int(m.group(1)) == collected, (
        f"README says {m.group(1)} tests; `python -m pytest` collects {collected}: "
        "re-run benchmarks/bench_tests.py and update the README's figures")


def _readme_runs() -> list[str]:
    """The table's ddpm-theory commands in order, then the Python example."""
    rows = re.findall(r"^\|[^|]*\| `(ddpm-theory [^`]*)`", README, re.M)
    return rows


@pytest.mark.slow
def test_the_readme_runs_top_to_bottom(tmp_path: Path) -> None:
    """Every ``ddpm-theory`` command of the table, as written, then the Python example, in
    one empty folder (as a new user would)."""
    env = dict(os.environ, CI="true", PYTHONPATH=str(ROOT))
    for cmd in _readme_runs():
        argv = shlex.split(cmd)
        r = subprocess.run([sys.executable, "-m", "ddpm_theory", *argv[1:]], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, (cmd, r.stderr[-2000:])
    code = re.search(r"^In Python:\n\n```python\n(.*?)^```", README, re.S | re.M)
    assert code
    r = subprocess.run([sys.executable, "-c", code.group(1)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "VERIFIED" in r.stdout.upper()
