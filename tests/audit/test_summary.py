"""The audit's summary: transitions summed over deciles of t, with the bounds, the
flags summarised and a legend of every column."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from audit_helpers import shrinkage_eps_model

from ddpm_theory.audit import ElboTerms, elbo_terms
from ddpm_theory.audit.groups import t_ranges
from ddpm_theory.backend import Schedule, get_dataset

LAW = get_dataset("standard_gaussian", dim=2)


def _audit(T: int, model=None, **kw) -> ElboTerms:
    s = Schedule.linear(T, beta_end=min(0.2, 20.0 / T))
    return elbo_terms(model or shrinkage_eps_model(s), 64, s, data=LAW,
                      generator=torch.Generator().manual_seed(0), **kw)


def _wrong_model(T: int):
    """The exact predictor scaled by 1.3: L_(t-1) is above its Bayes-optimal value."""
    exact = shrinkage_eps_model(Schedule.linear(T, beta_end=min(0.2, 20.0 / T)))
    return lambda x, t: 1.3 * exact(x, t)


@pytest.mark.parametrize("T", [2, 3, 11, 12, 1000])
def test_ranges_cover_2_to_T_once(T: int) -> None:
    r = t_ranges(T)
    covered = [t for lo, hi in r for t in range(lo, hi + 1)]
    assert covered == list(range(2, T + 1))
    assert len(r) == min(10, T - 1)
    sizes = [hi - lo + 1 for lo, hi in r]
    assert max(sizes) - min(sizes) <= 1


def test_one_t_per_range_reproduces_the_rows() -> None:
    # T = 11: ten transitions, ten ranges of one t each; a range's per-example sum is
    # that t's per-example term, so mean and stderr equal the row's (to rounding)
    r = _audit(11)
    assert [(g.t_lo, g.t_hi) for g in r.groups] == [(t, t) for t in range(2, 12)]
    assert r.gap is not None and r.gap_stderr is not None
    for j, g in enumerate(r.groups):
        assert g.value.nats == pytest.approx(r.transitions[j], rel=1e-12)
        assert g.value.stderr == pytest.approx(r.transitions_stderr[j], rel=1e-9)
        assert g.gap is not None and g.gap.nats == pytest.approx(r.gap[j], rel=1e-9, abs=1e-15)
        assert g.gap.stderr == pytest.approx(r.gap_stderr[j], rel=1e-9)
        assert g.floor.nats == pytest.approx(r.variance_floor[j], rel=1e-12)


@pytest.mark.parametrize("kw", [{}, {"timesteps": "stratified", "n_timesteps": 7},
                                {"timesteps": "importance", "n_timesteps": 7}])
def test_ranges_add_up_to_the_total(kw: dict) -> None:
    # per example, every slot lies in exactly one range: the ranges' sums add up to
    # total - L_T - L_0 (a float identity, for every plan)
    r = _audit(40, **kw)
    assert r.total is not None and r.decoder_term is not None
    s = sum(g.value.nats for g in r.groups)
    assert s == pytest.approx(r.total.nats - r.prior.nats - r.decoder_term.nats, rel=1e-10)
    if not kw:  # every t: a range's sum is the sum of its rows
        for g in r.groups:
            rows = (r.transitions_t >= g.t_lo) & (r.transitions_t <= g.t_hi)
            assert g.value.nats == pytest.approx(r.transitions[rows].sum(), rel=1e-12)


def test_summary_is_short_and_has_a_legend_for_every_column() -> None:
    r = _audit(1000)
    text = r.summary()
    # its length does not grow with T (ten ranges of t, whatever T is)
    assert len(text.splitlines()) == len(_audit(200).summary().splitlines()) < 60
    assert not re.search(r"^L_\(t-1\)\s+\d+\s", text, re.M)  # no single-t rows
    assert len(re.findall(r"^L_\(t-1\)\s+\d+\.\.\d+\s", text, re.M)) == 10
    head = next(line for line in text.splitlines() if line.startswith("term"))
    legend = text.split("legend:")[1]
    for col in ("t", "L_T", "L_(t-1)", "L_0", "total", "nats ± SE", "bits/dim", "bayes-opt", "gap",
                "floor", "flagged"):
        assert re.search(rf"^  {re.escape(col)}\s", legend, re.M), col
    for col in ("bits/dim", "bayes-opt", "gap", "floor", "flagged"):
        assert col in head
    assert str(r) == text


def test_full_table_legend_covers_its_columns() -> None:
    text = _audit(12).table()
    legend = text.split("legend:")[1]
    for col in ("eps-MSE", "lambda_t", "flag", "floor"):
        assert re.search(rf"^  {re.escape(col)}\s", legend, re.M), col


def test_departures_summarised_by_share_and_listed_only_when_verbose() -> None:
    r = _audit(30, _wrong_model(30))
    assert r.departures and r.departure_gap is not None and r.total_gap is not None
    flagged = {f.t for f in r.departures if f.t is not None}
    assert r.gap is not None
    rows = np.isin(r.transitions_t, sorted(flagged))
    expected = r.gap[rows].sum()
    if any(f.term == "L_0" for f in r.departures):
        assert r.decoder_gap is not None
        expected += r.decoder_gap.nats
    # 'all' plan: the mean of paired per-example sums is the sum of the paired means
    assert r.departure_gap.nats == pytest.approx(expected, rel=1e-10)
    share = f"{100 * r.departure_gap.nats / r.total_gap.nats:.2g}% of the total gap"
    quiet, loud = r.summary(), r.summary(verbose=True)
    assert share in quiet and "listed with --verbose" in quiet
    assert "departure above_bayes:" not in quiet
    assert loud.count("departure above_bayes:") == len(r.departures)
    assert sum(g.n_flagged for g in r.groups) == len(flagged)


def test_correct_model_reports_no_flag() -> None:
    text = _audit(30).summary()
    assert "no violation of any bound" in text and "no departure" in text
