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
               "--seed", "3", "--all-rows"])
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


def test_audit_prints_a_summary_and_the_json_says_where_it_came_from(
        ckpt: str, tmp_path, capsys) -> None:
    js = tmp_path / "s.json"
    rc = main(["audit", ckpt, "--n", "64", "--json", str(js), "--seed", "5", "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    assert not re.search(r"^L_\(t-1\)\s+\d+\s", out, re.M)  # no single-t rows
    ranges = re.findall(r"^L_\(t-1\)\s+(\d+)\.\.(\d+)\s", out, re.M)
    assert [(int(a), int(b)) for a, b in ranges][0][0] == 2 and int(ranges[-1][1]) == 50
    assert "legend:" in out and "bounds:" in out and f"checkpoint {ckpt}" in out
    d = json.loads(js.read_text())
    from ddpm_theory import __version__
    assert d["run"]["library_version"] == __version__ and d["run"]["seed"] == 5
    assert d["run"]["checkpoint"] == ckpt and d["run"]["dataset"]["name"] == "mixture_2d"
    assert d["run"]["schedule"]["T"] == 50 and d["run"]["schedule"]["name"] == "linear"
    assert len(d["transitions"]) == 49 and len(d["groups"]) == 10  # everything is kept
    assert sum(g["sum"]["nats"] for g in d["groups"]) == pytest.approx(
        sum(x["nats"] for x in d["transitions"]), rel=1e-10)


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
