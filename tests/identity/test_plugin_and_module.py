"""A user's module with two derivations (one true, one with a planted slip): verified by
``ddpm-theory verify --module`` and collected by the pytest plugin, the failing step's
counterexample in the report; ``assert_identity`` and ``assert_derivation``."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from ddpm_theory.cli import main
from ddpm_theory.symbolic.engine import DerivationError
from ddpm_theory.testing import assert_derivation, assert_identity
from ddpm_theory.usermodule import UserModuleError, collect

EXAMPLE = Path(__file__).with_name("example_derivations.py")
ROOT = Path(__file__).resolve().parents[2]


def _plugin_args() -> list[str]:
    """The plugin by its name: the same name as the installed entry point, so this works
    with and without the package's entry points installed."""
    return ["-p", "ddpm_theory.testing.plugin"]


def test_collect_finds_both_derivations_in_order():
    assert [d.name for d in collect(str(EXAMPLE))] == [
        "my-posterior-variance", "my-posterior-variance-slip"]


def test_collect_refuses_a_module_without_derivations(tmp_path):
    empty = tmp_path / "nothing_here.py"
    empty.write_text("x = 1\n")
    with pytest.raises(UserModuleError, match="no derivation found"):
        collect(str(empty))
    with pytest.raises(UserModuleError, match="no such file"):
        collect(str(tmp_path / "missing.py"))


def test_verify_module_reports_the_slip_with_its_counterexample(capsys):
    rc = main(["verify", "--module", str(EXAMPLE)])
    out, err = capsys.readouterr()
    assert rc == 1
    assert "my-posterior-variance " in out and "verified  verified" in out
    assert "my-posterior-variance-slip" in out and "UNEXPECTED" in out
    assert "part 'Invert the precision', step 1" in err
    assert "rule: put over one denominator (ratio upside down)" in err
    assert "counterexample: alpha_t = " in err
    assert "previous expression = " in err and "this step           = " in err


def test_verify_module_selects_by_name(capsys):
    assert main(["verify", "--module", str(EXAMPLE), "my-posterior-variance"]) == 0
    assert main(["verify", "--module", str(EXAMPLE), "nope"]) == 2
    assert "no derivation named nope" in capsys.readouterr().err


def test_the_plugin_collects_the_derivations_as_test_items(pytester):
    pytester.makepyfile(user_derivations=EXAMPLE.read_text())
    result = pytester.runpytest_subprocess(
        *_plugin_args(), "--ddpm-derivations=user_derivations.py", "-p", "no:cacheprovider",
        "-o", "addopts=", "-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "user_derivations.py::my-posterior-variance PASSED*",
        "*my-posterior-variance-slip FAILED*",
        "*part 'Invert the precision', step 1 (Ho et al. 2020, Eq. 7): failed*",
        "*rule: put over one denominator (ratio upside down)*",
        "*counterexample: alpha_t = *",
    ])


def test_the_plugin_is_inactive_unless_asked_for(pytester):
    pytester.makepyfile(user_derivations=EXAMPLE.read_text())
    result = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider",
                                           "-o", "addopts=")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_the_plugin_reports_a_module_that_does_not_import(pytester):
    pytester.makepyfile(broken="raise RuntimeError('boom')\n")
    result = pytester.runpytest_subprocess(*_plugin_args(), "--ddpm-derivations=broken.py",
                                           "-p", "no:cacheprovider", "-o", "addopts=")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*broken.py*boom*"])


def test_the_entry_point_is_declared_under_the_module_name():
    text = (ROOT / "pyproject.toml").read_text()
    assert ('[project.entry-points.pytest11]\n"ddpm_theory.testing.plugin" = '
            '"ddpm_theory.testing.plugin"') in text
    for ep in importlib.metadata.entry_points(group="pytest11"):  # where installed
        if ep.value == "ddpm_theory.testing.plugin":
            assert ep.name == ep.value


def test_assert_derivation_raises_with_the_report():
    good, slip = collect(str(EXAMPLE))
    assert assert_derivation(good).ok
    with pytest.raises(DerivationError, match=r"(?s)ratio upside down.*counterexample"):
        assert_derivation(slip)


def test_assert_identity():
    assert_identity("alpha_t = 1 - beta_t")
    assert_identity("alpha_t = 1 + beta_t", expected="false")
    with pytest.raises(AssertionError, match=r"(?s)expected true.*counterexample"):
        assert_identity("alpha_t = 1 + beta_t")


def test_cli_check_exit_codes_and_json(tmp_path, capsys):
    assert main(["check", "alpha_t = 1 - beta_t"]) == 0
    assert main(["check", "alpha_t = 1 + beta_t"]) == 1
    assert "counterexample" in capsys.readouterr().out
    assert main(["check", "alpha_t = 1 - betta_t"]) == 2
    assert "did you mean beta_t" in capsys.readouterr().err
    assert main(["check", "sqrt((1 - 2*beta_t)^2) = 1 - 2*beta_t",
                 "--assume", "beta_t <= 1/2"]) == 3
    out = tmp_path / "answer.json"
    assert main(["check", "beta_t <= 1", "--json", str(out)]) == 0
    assert '"verdict": "true"' in out.read_text()
    assert main(["check", "beta_t <= 1", "--json", str(out)]) == 2  # never overwritten
    assert main(["check", "--names"]) == 0
    assert "alphabar_tm1" in capsys.readouterr().out


def test_the_console_script_answers(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "ddpm_theory", "check",
                           r"\tilde\beta_t \le \beta_t", "--define", "betatilde_t"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("true:")


def test_collect_from_a_package_folder_and_a_dotted_name(tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg_ddpm"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "first.py").write_text(EXAMPLE.read_text())
    (pkg / "second.py").write_text(
        "from mypkg_ddpm.first import posterior_variance\n"
        "DERIVATIONS = [posterior_variance]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    names = [d.name for d in collect("mypkg_ddpm")]
    assert names == ["my-posterior-variance", "my-posterior-variance-slip"]
    assert [d.name for d in collect("mypkg_ddpm.second")] == ["my-posterior-variance"]
    with pytest.raises(UserModuleError, match="cannot import"):
        collect("no_such_module_ddpm")
