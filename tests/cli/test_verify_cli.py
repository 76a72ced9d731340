"""`ddpm-theory verify`: table, JSON, exit status, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ddpm_theory.cli import main


def test_verify_named_writes_json(tmp_path, capsys):
    out = tmp_path / "out.json"
    assert main(["verify", "bayes-posterior", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "bayes-posterior" in table and "verified" in table
    data = json.loads(out.read_text())
    assert [d["name"] for d in data] == ["bayes-posterior"]
    for key in ("name", "status", "steps", "seconds", "citations"):
        assert key in data[0]
    assert data[0]["status"] == "verified" and data[0]["steps"] >= 5
    assert any("Ho et al. 2020" in c for c in data[0]["citations"])


def test_verify_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "out.json"
    out.write_text("keep me")
    assert main(["verify", "forward-marginal", "--json", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text() == "keep me"
    assert main(["verify", "forward-marginal", "--json", str(out), "--force"]) == 0
    assert json.loads(out.read_text())[0]["name"] == "forward-marginal"


def test_verify_missing_folder(tmp_path, capsys):
    assert main(["verify", "gaussian-kl", "--json", str(tmp_path / "no" / "x.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_unknown_name_lists_known(capsys):
    assert main(["verify", "no-such-thing"]) == 2
    err = capsys.readouterr().err
    assert "no-such-thing" in err and "forward-marginal" in err


def test_failed_derivation_exits_nonzero(capsys, monkeypatch):
    from ddpm_theory.symbolic import registry
    from ddpm_theory.symbolic.derivations import posterior
    from ddpm_theory.symbolic.notation import beta

    broken = posterior.build(beta_tilde=beta)
    monkeypatch.setitem(registry._CACHE, "bayes-posterior", broken)
    assert main(["verify", "bayes-posterior"]) == 1
    captured = capsys.readouterr()
    assert "UNEXPECTED" in captured.out and "FAILED" in captured.err


def test_import_is_quick_and_torch_free():
    code = "import sys, ddpm_theory; assert 'torch' not in sys.modules; " \
           "assert 'sympy' not in sys.modules; print(ddpm_theory.__version__)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("argv", [["--help"], ["verify", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "verify" in capsys.readouterr().out
