"""``ddpm-theory audit`` end to end on a freshly trained 2-D mixture model (T = 50)."""

from __future__ import annotations

import json
import re

import pytest

from ddpm_theory.backend import Schedule, train
from ddpm_theory.cli import main


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory) -> str:
    # `ddpm-theory train` is not in this build's CLI yet; the same function writes the file
    out = tmp_path_factory.mktemp("ckpt") / "mix.pt"
    train("mixture_2d", 300, schedule=Schedule.linear(50, scale_to_T=True), batch_size=256,
          progress=False, out=out, seed=0)
    return str(out)


def test_audit_reports_every_term_with_bayes_and_gap(ckpt: str, tmp_path, capsys) -> None:
    js = tmp_path / "a.json"
    rc = main(["audit", ckpt, "--n", "96", "--json", str(js), "--plot", str(tmp_path / "a.png"),
               "--seed", "3"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    for t in range(2, 51):
        line = re.search(rf"^L_\(t-1\)\s+{t}\s+(.*)$", out.out, re.M)
        assert line, f"no row for t = {t}"
        assert len(line.group(1).split()) >= 8  # nats, stderr, bits, bayes, gap, stderr, ...
    assert "audit" in out.err  # the progress bar
    d = json.loads(js.read_text())
    assert len(d["transitions"]) == 49
    assert all(x["bayes"]["nats"] is not None and x["gap"]["stderr"] is not None
               for x in d["transitions"])
    assert d["decoder"]["nats"] is not None and d["bounds"]["decoder_bayes"] is not None


def test_audit_bad_input(ckpt: str, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.pt"
    bad.write_text("x")
    assert main(["audit", str(bad), "--no-progress"]) == 2
    assert "is not a ddpm_theory checkpoint" in capsys.readouterr().err
    assert main(["audit", ckpt, "--data", "mixture_1d", "--no-progress"]) == 2
    assert "shape" in capsys.readouterr().err
    existing = tmp_path / "x.json"
    existing.write_text("{}")
    assert main(["audit", ckpt, "--json", str(existing), "--no-progress"]) == 2
    assert "exists" in capsys.readouterr().err
