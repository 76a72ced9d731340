"""``ddpm-theory audit CKPT --likelihood ode|elbo|both [--steps K]`` end to end on a
freshly trained 2-D mixture model (T = 50)."""

from __future__ import annotations

import json
import re

import pytest

from ddpm_theory.backend import Schedule, train
from ddpm_theory.cli import main


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ckpt") / "mix.pt"
    train("mixture_2d", 150, schedule=Schedule.linear(50, scale_to_T=False, beta_end=0.2),
          batch_size=256, progress=False, out=out, seed=0)
    return str(out)


def test_both_reports_elbo_ode_and_true_nll(ckpt: str, tmp_path, capsys) -> None:
    js = tmp_path / "a.json"
    rc = main(["audit", ckpt, "--n", "64", "--likelihood", "both", "--json", str(js),
               "--no-progress", "--seed", "1"])
    out = capsys.readouterr()
    assert rc in (0, 1), out.err
    for name in ("ELBO", "ODE NLL", "true NLL"):
        assert re.search(rf"^{name}\s+-?\d", out.out, re.M), name
    d = json.loads(js.read_text())
    like = d["likelihood"]
    assert {"elbo", "ode_nll", "true_nll"} <= set(like)
    assert like["ode_nll"]["nfev"] > 0 and like["ode_nll"]["settings"]["trace"] == "exact"
    assert like["elbo"]["nats"] == pytest.approx(d["total"]["nats"], rel=1e-12)
    # the gap is paired per example: ELBO - true NLL equals the difference of the means
    assert like["elbo"]["gap_to_true"] == pytest.approx(
        like["elbo"]["nats"] - like["true_nll"]["nats"], rel=1e-9)


def test_ode_only_with_steps(ckpt: str, tmp_path, capsys) -> None:
    png = tmp_path / "l.png"
    rc = main(["audit", ckpt, "--n", "16", "--likelihood", "ode", "--plot", str(png),
               "--no-progress"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    assert "ODE NLL" in out.out and "L_(t-1)" not in out.out and png.stat().st_size > 0
    rc = main(["audit", ckpt, "--n", "16", "--steps", "10", "--no-progress"])
    out = capsys.readouterr()
    assert rc in (0, 1), out.err
    assert "T = 10" in out.out


def test_bad_steps_exit_2(ckpt: str, capsys) -> None:
    assert main(["audit", ckpt, "--n", "4", "--steps", "51", "--no-progress"]) == 2
    assert "1 <= K <= T = 50" in capsys.readouterr().err
