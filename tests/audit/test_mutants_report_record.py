"""The audit's JSON record and plot: every field of a hand-built record with round numbers,
against values computed here (bits/dim = nats/(D ln 2), null for a non-finite value), and
what the figure draws. Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted errors it catches."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from report_records import DEPARTURES, LN2, VIOLATION, D, record

from ddpm_theory.audit.record import Value
from ddpm_theory.audit.render import plot_terms


def _value(nats: float, stderr: float, n: int = 4) -> dict[str, Any]:
    finite = math.isfinite(stderr)
    return {"nats": nats, "bits_per_dim": nats / D / LN2, "stderr": stderr if finite else None,
            "stderr_bits_per_dim": stderr / D / LN2 if finite else None, "n": n}


def _row(t: int, nats: float, se: float, n: int, floor: float, mse: float, mse_se: float,
         lam: float, bayes: tuple[float, float], gap: tuple[float, float]) -> dict[str, Any]:
    return {**_value(nats, se, n), "t": t, "variance_floor": floor, "mse_eps": mse,
            "mse_eps_stderr": mse_se, "lambda_t": lam,
            "bayes": {"nats": bayes[0], "stderr": bayes[1]},
            "gap": {"nats": gap[0], "stderr": gap[1]}}


def _flag(kind, term, t, value, bound, stderr, z, message) -> dict[str, Any]:
    return {"kind": kind, "term": term, "t": t, "value": value, "bound": bound,
            "stderr": stderr, "z": z, "message": message}


def _group(lo, hi, s, b, g, f, n_flagged) -> dict[str, Any]:
    return {"t_lo": lo, "t_hi": hi, "sum": _value(*s), "bayes": _value(*b), "gap": _value(*g),
            "floor": _value(*f), "n_flagged": n_flagged}


EXPECTED = {
    "prior": _value(0.0625, 0.015625),
    "transitions": [
        _row(2, 1.5, 0.125, 4, 0.5, 2.0, 0.25, 0.5, (1.25, 0.1), (0.25, 0.0625)),
        _row(3, 0.75, 0.0625, 4, 0.25, 1.0, 0.125, 0.5, (0.875, 0.05), (-0.125, 0.03125)),
        _row(4, 0.25, math.inf, 1, 0.125, 0.5, 0.0625, 0.25, (0.25, 0.0), (0.0, 0.0))],
    "decoder": _value(2.0, 0.25),
    "total": _value(4.5625, 0.5),
    "bounds": {
        "prior_closed_form_max_abs_diff": 2.5e-16, "lsimple_max_relative_residual": 3e-12,
        "decoder_bayes": _value(1.75, 0.2), "decoder_gap": _value(0.25, 0.125),
        "total_bayes": _value(4.1875, 0.375), "total_gap": _value(0.375, 0.1875),
        "entropy": {"nats": 2.8378770664093453, "kind": "differential",
                    "gap": _value(1.5, 0.5)},
        "z": 3.25, "false_alarm": 0.001},
    "groups": [_group(2, 3, (2.25, 0.25), (2.125, 0.125), (0.125, 0.0625), (0.75, 0.0), 2),
               _group(4, 4, (0.25, 0.0), (0.25, 0.0), (0.0, 0.0), (0.125, 0.0), 0)],
    "departure_gap": _value(0.25, 0.125),
    "notes": ["a caveat"],
    "violations": [_flag("below_bayes", "L_(t-1)", 3, 0.75, 0.875, 0.03125, -4.0,
                         "t = 3 is below")],
    "departures": [_flag("above_bayes", "L_(t-1)", 2, 1.5, 1.25, 0.0625, 4.0, "t = 2 is above"),
                   _flag("above_bayes", "L_0", None, 2.0, 1.75, 0.125, -5.0, "L_0 is above")],
    "meta": {"D": 2, "T": 4, "n_examples": 4, "mode": "monte_carlo", "timesteps": "all",
             "n_timesteps": 3, "parameterization": "eps", "variance": "beta",
             "decoder": "gaussian", "n_model_evals": 16, "seconds": 0.125,
             "respaced_timesteps": None, "units": "nats per example; bits per dimension",
             "index": "transitions[k].t is the paper timestep t of L_(t-1)"},
}


def _close(got: Any, want: Any, where: str = "") -> None:
    """Equal structure and keys; floats equal to 1e-15 relative (the division order)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and list(got) == list(want), (where, got)
        for k in want:
            _close(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got)
        for i, (a, b) in enumerate(zip(got, want)):
            _close(a, b, f"{where}[{i}]")
    elif isinstance(want, float):
        assert isinstance(got, float) and got == pytest.approx(want, rel=1e-15, abs=0), where
    else:
        assert type(got) is type(want) and got == want, (where, got, want)


def test_json_record_field_by_field() -> None:
    """Planted: a key renamed or dropped, a value under another key (the stderr for the
    nats, the bayes for the gap), bits/dim not nats/(D ln 2), an infinite stderr written
    as a number, an int written as a float, a flag's fields swapped."""
    r = record()
    _close(json.loads(r.to_json()), EXPECTED)
    _close(r.to_dict(), EXPECTED)
    assert r.to_json().startswith('{\n  "prior": {\n    "nats": 0.0625,')
    assert "\n" not in r.to_json(indent=None) and json.loads(r.to_json(indent=None)) == \
        json.loads(r.to_json())


def test_json_record_without_optional_parts() -> None:
    """Planted: the Bayes values written when any of them is missing (``and`` -> ``or``),
    the entropy block written without an entropy, respaced timesteps lost or not ints,
    a NaN written into the JSON (strict JSON refuses it)."""
    d = record(gap=None, entropy=None, decoder_term=None, total=None, departure_gap=None,
               respaced_timesteps=np.array([1, 5, 9]), notes=()).to_dict()
    assert all("bayes" not in x and "gap" not in x for x in d["transitions"])
    assert d["bounds"]["entropy"] is None and d["decoder"] is None and d["total"] is None
    assert d["departure_gap"] is None and d["notes"] == []
    assert d["meta"]["respaced_timesteps"] == [1, 5, 9]
    assert all(type(x) is int for x in d["meta"]["respaced_timesteps"])
    for missing in ("bayes", "bayes_stderr", "gap_stderr"):
        d = record(**{missing: None}).to_dict()
        assert all("bayes" not in x and "gap" not in x for x in d["transitions"]), missing
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        record(seconds=math.nan).to_json()
    assert json.loads(record(z=math.inf, prior_check=math.nan).to_json())["bounds"]["z"] is None


def test_units_and_ok() -> None:
    """Planted: bits/dim divided by D·ln 2 wrongly (for a number or an array), ``ok`` true
    with a violation or false with departures only."""
    r = record()
    assert r.bits(1.5) == pytest.approx(1.5 / D / LN2, rel=1e-15) and type(r.bits(1.5)) is float
    np.testing.assert_allclose(r.bits([2.0, 4.0]), [2.0 / D / LN2, 4.0 / D / LN2], rtol=1e-15)
    assert Value(3.0, 1.0, 2).bits_per_dim(3) == pytest.approx(3.0 / 3 / LN2, rel=1e-15)
    assert not r.ok and record(violations=()).ok
    assert record(violations=(), departures=DEPARTURES).ok and VIOLATION.kind == "below_bayes"


@pytest.fixture
def figures(monkeypatch) -> list[Any]:
    """The Figures the plot draws, kept for inspection (render builds its own Figure).
    Their layout pass and PNG encoding (2 s a plot here, matplotlib's own work) are
    recorded instead of run: ``fig.laid_out`` and ``fig.saved`` (the keyword arguments of
    ``savefig``); the file gets the bytes "PNG" (tests/audit/test_record.py writes a real
    one)."""
    import matplotlib.figure

    made: list[Any] = []

    class Kept(matplotlib.figure.Figure):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.laid_out, self.saved = False, None
            made.append(self)

        def tight_layout(self, *args: Any, **kwargs: Any) -> None:
            self.laid_out = True

        def savefig(self, f: Any, **kwargs: Any) -> None:  # type: ignore[override]
            self.saved = kwargs
            f.write(b"PNG")

    monkeypatch.setattr(matplotlib.figure, "Figure", Kept)
    return made


def _lines(ax: Any) -> dict[str, tuple[list[float], list[float], str, float, str]]:
    from matplotlib.colors import to_hex

    return {ln.get_label(): (list(ln.get_xdata()), list(ln.get_ydata()), ln.get_linestyle(),
                             ln.get_linewidth(), to_hex(ln.get_color())) for ln in ax.get_lines()}


def test_plot_draws_the_terms_and_the_running_total(tmp_path, figures) -> None:
    """Planted: the error bars not ±2 stderr (or an infinite stderr drawn), the Bayes or
    floor curve dropped or mislabelled, the log scale lost, the running total summed from
    t = 2 up instead of from T down, the step of L_0 or the lines of the total, the
    entropy and the Bayes total missing or misplaced, a heading or label changed, the
    size or resolution of the PNG changed."""
    p = record().plot(tmp_path / "a.png", title="model.pt on mixture_2d")
    fig = figures[-1]
    assert p == tmp_path / "a.png" and p.read_bytes() == b"PNG"
    assert fig.saved == {"format": "png", "dpi": 100} and fig.laid_out  # 1100 x 460 pixels
    assert fig.get_suptitle() == ("ELBO audit: model.pt on mixture_2d\n"
                                  "T = 4, D = 2, B = 4 examples, timesteps all")
    left, right = fig.axes
    assert (left.get_title(), left.get_xlabel(), left.get_ylabel(), left.get_yscale()) == (
        "transition terms", "paper timestep t", "nats per example", "log")
    (bars,) = left.containers
    assert bars.get_label() == "L_(t-1) ± 2 SE"
    segments = [s.tolist() for s in left.collections[0].get_segments()]
    assert segments == [[[2, 1.25], [2, 1.75]], [[3, 0.625], [3, 0.875]], [[4, 0.25], [4, 0.25]]]
    lines = _lines(left)
    assert lines["_nolegend_"][:2] == ([2, 3, 4], [1.5, 0.75, 0.25])
    assert lines["Bayes-optimal"][:3] == ([2, 3, 4], [1.25, 0.875, 0.25], "-")
    assert lines["floor C_t"][:3] == ([2, 3, 4], [0.5, 0.25, 0.125], "--")
    assert [t.get_text() for t in left.get_legend().get_texts()] == [
        "Bayes-optimal", "floor C_t", "L_(t-1) ± 2 SE"]
    assert (right.get_title(), right.get_xlabel(), right.get_ylabel()) == (
        "cumulative bound: L_T, + each L_(t-1) from t = T down, + L_0",
        "paper timestep t (from T down)", "running total, nats per example")
    assert right.xaxis_inverted() and not left.xaxis_inverted()
    lines = _lines(right)
    # L_T = 0.0625, then + L_3 (t = 4) 0.25, + L_2 0.75, + L_1 1.5, + L_0 2
    assert lines["L_T + Σ_{s≥t} L_(s-1), then + L_0"][:2] == (
        [5, 4, 3, 2, 1], [0.0625, 0.3125, 1.0625, 2.5625, 4.5625])
    assert lines["total 4.562"][1:3] == ([4.5625, 4.5625], ":")
    assert lines["entropy 2.838"][1:3] == ([2.8378770664093453] * 2, "--")
    assert lines["Bayes total"][1:3] == ([4.1875, 4.1875], "-.")
    assert [t.get_text() for t in right.get_legend().get_texts()] == [
        "L_T + Σ_{s≥t} L_(s-1), then + L_0", "total 4.562", "entropy 2.838", "Bayes total"]
    (note,) = right.texts
    assert note.get_text() == "+ L_0 = 2\n(decoder, t = 1)" and note.xy == (1, 4.5625)


def test_plot_style(tmp_path, figures) -> None:
    """Planted: a size, line width, line style, marker, colour, font size or the side-by-side
    layout of the figure changed or left to matplotlib's defaults (drawn here under other
    defaults, so that a setting dropped shows; these are the figure's stated look)."""
    import matplotlib

    other = {"figure.titlesize": 17, "lines.linestyle": ":", "lines.linewidth": 3.5,
             "lines.markersize": 9, "legend.fontsize": 13, "font.size": 15,
             "errorbar.capsize": 2}
    with matplotlib.rc_context(other):
        record().plot(tmp_path / "a.png")
    fig = figures[-1]
    assert [ax.get_subplotspec().get_geometry() for ax in fig.axes] == [(1, 2, 0, 0),
                                                                       (1, 2, 1, 1)]
    assert _lines(fig.axes[0])["Bayes-optimal"][2] == "-"
    assert fig.get_suptitle() == "ELBO audit: T = 4, D = 2, B = 4 examples, timesteps all"
    assert fig._suptitle.get_fontsize() == 10 and list(fig.get_size_inches()) == [11, 4.6]
    left, right = fig.axes
    data = next(ln for ln in left.get_lines() if ln.get_label() == "_nolegend_")
    assert (data.get_marker(), data.get_markersize(), data.get_linewidth()) == (".", 3, 0.8)
    assert list(left.collections[0].get_linewidth()) == [0.8]
    assert [w for *_, w, _ in _lines(left).values()] == [0.8, 1, 1]
    assert {k: (w, c) for k, (*_, w, c) in _lines(right).items()} == {
        "L_T + Σ_{s≥t} L_(s-1), then + L_0": (1.2, "#1f77b4"), "total 4.562": (0.6, "#000000"),
        "entropy 2.838": (0.8, "#ff0000"), "Bayes total": (0.8, "#008000")}
    for ax in (left, right):
        assert {t.get_fontsize() for t in ax.get_legend().get_texts()} == {8}
    (note,) = right.texts
    assert note.get_fontsize() == 8 and note.xyann == (0.3, 0.5)
    assert note.anncoords == "axes fraction"
    assert type(note.arrow_patch.get_arrowstyle()).__name__ == "CurveB"  # "->"
    assert note.arrow_patch.get_linewidth() == 0.6


def test_plot_without_a_total_or_positive_terms(tmp_path, figures) -> None:
    """Planted: the running total drawn for sampled timesteps, without a total or without
    L_0 (``and`` -> ``or``), the log scale used for a term that is not positive, the
    entropy or Bayes total drawn when unknown."""
    for kw in ({"timesteps": "stratified"}, {"total": None}, {"decoder_term": None}):
        record(**kw).plot(tmp_path / f"{len(figures)}.png")
        right = figures[-1].axes[1]
        assert right.get_lines() == [] and right.get_legend() is None
        (text,) = right.texts
        assert text.get_text() == "cumulative total needs timesteps='all'"
        assert text.get_position() == (0.5, 0.5) and text.get_ha() == "center"
        assert text.get_transform() == right.transAxes
    record(transitions=np.array([1.5, 0.0, 0.25]), entropy=None, total_bayes=None).plot(
        tmp_path / "z.png")
    left, right = figures[-1].axes
    assert left.get_yscale() == "linear"
    assert [ln.get_label() for ln in right.get_lines()] == [
        "L_T + Σ_{s≥t} L_(s-1), then + L_0", "total 4.562"]


def test_plot_refuses_to_overwrite_unless_forced(tmp_path, figures) -> None:
    """Planted: ``force`` not passed on (a file overwritten, or a forced write refused)."""
    p = tmp_path / "a.png"
    p.write_bytes(b"mine")
    with pytest.raises(FileExistsError, match="exists"):
        record().plot(p)
    assert p.read_bytes() == b"mine" and figures == []
    with pytest.raises(FileExistsError, match="exists"):
        plot_terms(record(), p)  # the renderer's own default: no overwrite
    assert record().plot(p, force=True) == p and p.read_bytes() == b"PNG"
