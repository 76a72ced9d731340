"""What the audit prints: the every-t table and the summary of a hand-built record with
round numbers, cell by cell (each number under its heading), the bounds, the flags and
the legend. Written against the survivors of mutation testing (mutation/run.py); each
docstring names the planted errors it catches."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from report_records import DEPARTURES, LN2, VIOLATION, D, cells, record, v

from ddpm_theory.audit.render import text_table
from ddpm_theory.audit.summary_text import legend, num, summary_table


def _bits(nats: float) -> str:
    """bits/dim = nats / (D ln 2), shown to 5 significant digits."""
    return f"{nats / (D * LN2):.5g}"


def test_every_t_table_cell_by_cell() -> None:
    """Planted: a column dropped or swapped (bayes for gap, the floor for the ε-MSE), a
    width changed (a number no longer under its heading), the flag of a term keyed to the
    wrong t or missing, bits/dim not nats/(D ln 2), a row of L_0 or of the total lost."""
    text = record().table()
    assert cells(text, "L_T") == [["L_T", "", "0.0625", "0.015625", _bits(0.0625),
                                   "-", "-", "-", "-", "-", "-", ""]]
    assert cells(text, "L_(t-1)") == [
        ["L_(t-1)", "2", "1.5", "0.125", _bits(1.5), "1.25", "0.25", "0.0625", "0.5", "2",
         "0.5", "above_bayes"],
        ["L_(t-1)", "3", "0.75", "0.0625", _bits(0.75), "0.875", "-0.125", "0.03125", "0.25",
         "1", "0.5", "below_bayes"],
        ["L_(t-1)", "4", "0.25", "inf", _bits(0.25), "0.25", "0", "0", "0.125", "0.5", "0.25",
         ""]]
    assert cells(text, "L_0") == [["L_0", "", "2", "0.25", _bits(2.0), "1.75", "0.25", "0.125",
                                   "-", "-", "-", "above_bayes"]]
    assert cells(text, "total") == [["total", "", "4.5625", "0.5", _bits(4.5625), "4.1875",
                                     "0.375", "0.1875", "-", "-", "-", ""]]
    assert _bits(4.5625) == "3.2911" and _bits(1.5) == "1.082"  # 4.5625/1.386294, 1.5/1.386294
    lines = text.splitlines()
    head = lines[2]
    assert head.startswith("term ") and head.endswith("lambda_t  flag")
    assert re.split(r"\s{2,}", head)[1:] == [
        "t", "nats", "± SE", "bits/dim", "bayes-opt", "gap", "± SE", "floor C_t", "eps-MSE",
        "lambda_t", "flag"]
    assert lines[3] == "-" * len(head) and lines.count("-" * len(head)) == 2
    assert lines[lines.index("-" * len(head), 4) - 1].startswith("L_0 ")
    assert "not estimated" not in text


def test_summary_cell_by_cell() -> None:
    """Planted: a range shown as other t, the number of flagged t per range lost, the
    bayes-opt, gap or floor of a range in the wrong column, the flag of L_0 or the total
    (terms without a t) missing, a width changed."""
    text = record().summary()
    assert cells(text, "L_T") == [["L_T", "T", "0.0625", "0.015625", _bits(0.0625),
                                   "-", "-", "-", "-", ""]]
    assert cells(text, "L_(t-1)") == [
        ["L_(t-1)", "2..3", "2.25", "0.25", _bits(2.25), "2.125", "0.125", "0.0625", "0.75", "2"],
        ["L_(t-1)", "4..4", "0.25", "0", _bits(0.25), "0.25", "0", "0", "0.125", ""]]
    assert cells(text, "L_0") == [["L_0", "1", "2", "0.25", _bits(2.0), "1.75", "0.25", "0.125",
                                   "-", "above_bayes"]]
    assert cells(text, "total") == [["total", "", "4.5625", "0.5", _bits(4.5625), "4.1875",
                                     "0.375", "0.1875", "-", ""]]
    lines = text.splitlines()
    assert lines[2] == "transitions summed over ranges of t (deciles of 2..T)"
    assert lines[4] == "-" * len(lines[3]) and lines[9] == lines[4]
    assert re.split(r"\s{2,}", lines[3]) == [
        "term", "t", "nats", "± SE", "bits/dim", "bayes-opt", "gap", "± SE", "floor", "flagged"]
    assert str(record()) == text
    flagged_total = record(departures=(DEPARTURES[0], DEPARTURES[1].__class__(
        "above_bayes", "total", None, 4.5625, 4.1875, 0.1875, 2.0, "the total is above")))
    assert cells(flagged_total.summary(), "total")[0][-1] == "above_bayes"
    assert cells(flagged_total.summary(), "L_0")[0][-1] == ""
    prior_flag = VIOLATION.__class__("prior_mismatch", "L_T", None, 0.0625, 0.0625, 0.0,
                                     math.inf, "L_T differs")
    assert cells(record(violations=(prior_flag,)).summary(), "L_T")[0][-1] == "prior_mismatch"


HEADER = ["ELBO audit: T = 4, D = 2, B = 4 examples, mode monte_carlo, timesteps all (3 per "
          "example), parameterization eps, variance beta, decoder gaussian",
          "units: nats per example (bits/dim = nats / (D ln 2)); t is the paper timestep of "
          "L_(t-1)"]
BOUNDS = [
    "bounds:",
    "  total >= H(x_0) = 2.83788 nats (differential entropy of the data law): total - H = 1.5 "
    "± 0.5 (z = 3)",
    "  total >= Bayes-optimal total 4.1875: gap 0.375 ± 0.19 (z = 2)",
    "  L_(t-1) >= C_t at every t, and >= its Bayes-optimal value in expectation",
    "  L_T equals its closed form: max |diff| = 2.5e-16 nats",
    "  L_(t-1) = lambda_t*MSE_t + C_t per draw: max relative residual 3e-12",
    "flags (one-sided z = 3.25; false-alarm budget 0.001 shared by all comparisons):"]
FLAGS = [
    "  VIOLATIONS: 1 (below_bayes; 1 t in 3..3): impossible for a correct audit of examples "
    "from the stated law",
    "  departures: 2 terms above their Bayes-optimal value (1 t in 2..2, L_0); together 0.25 ± "
    "0.12 nats, 67% of the total gap 0.375; largest single z = 5"]
TAIL = ["16 model evaluations, 0.12 s", "note: a caveat"]


def _between(text: str, first: str, last: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(first):lines.index(last) + 1]


@pytest.mark.parametrize("verbose", [False, True])
def test_header_bounds_and_flags_word_for_word(verbose: bool) -> None:
    """Planted: a number of the header or the bounds misplaced or mis-rounded (H(x_0) to 6
    digits, margins ± stderr to 2, z = margin/stderr), the departures' share of the total
    gap (0.25/0.375 = 67%) or their largest |z| (5, from z = -5, not the signed maximum 4)
    wrong, the 'listed with --verbose' hint shown when verbose or lost when not, a flag's
    message not listed when verbose, the notes dropped."""
    r = record()
    hint = "" if verbose else " (listed with --verbose)"
    listed = (["  VIOLATION below_bayes: t = 3 is below", "  departure above_bayes: t = 2 is above",
               "  departure above_bayes: L_0 is above"] if verbose else [])
    for text in (r.summary(verbose=verbose), r.table(verbose=verbose)):
        assert text.splitlines()[:2] == HEADER
        assert _between(text, "bounds:", "note: a caveat") == [
            *BOUNDS, FLAGS[0] + hint, FLAGS[1] + hint, *listed, *TAIL]
    assert r.table() == r.table(verbose=True) and r.summary() == r.summary(verbose=False)


def test_flag_lines_without_flags_or_margins() -> None:
    """Planted: the no-violation or no-departure line lost or inverted, the bounds of the
    total shown without a Bayes-optimal total or an entropy, a departure share computed
    from a total gap that is not positive (a sign flips, or a division by zero), a
    departure without its paired gap."""
    quiet = record(violations=(), departures=(), entropy=None, entropy_gap=None,
                   total_bayes=None, notes=())
    text = quiet.summary()
    assert _between(text, "bounds:", "16 model evaluations, 0.12 s") == [
        "bounds:", *BOUNDS[3:], "  no violation of any bound", "  no departure from Bayes-optimal",
        TAIL[0]]
    assert text.splitlines()[-1] != "note: a caveat"
    for gap in (0.0, -0.375):
        line = record(total_gap=v(gap, 0.1875)).summary().splitlines()
        dep = next(x for x in line if x.startswith("  departures:"))
        assert dep.endswith("(1 t in 2..2, L_0); together 0.25 ± 0.12 nats; largest single z = 5"
                            " (listed with --verbose)")
    none = record(departure_gap=None).summary()
    assert ("  departures: 2 terms above their Bayes-optimal value (1 t in 2..2, L_0); largest "
            "single z = 5 (listed with --verbose)") in none.splitlines()
    no_tg = record(total_gap=None).summary()
    assert "together 0.25 ± 0.12 nats; largest" in no_tg


def test_flagged_timesteps_are_counted_and_spanned() -> None:
    """Planted: the flagged t unsorted (the span from the first listed, not the least),
    the span's end taken from the wrong end, terms without a t counted among the t."""
    F = VIOLATION.__class__
    flags = tuple(F("below_floor", "L_(t-1)", t, 0.0, 0.0, 0.0, -9.0, "") for t in (7, 3, 5)) \
        + (F("below_entropy", "total", None, 0.0, 0.0, 0.0, -9.0, ""),
           F("lsimple_mismatch", "L_(t-1)", None, 0.0, 0.0, 0.0, math.inf, ""))
    text = record(violations=flags).summary()
    assert ("  VIOLATIONS: 5 (below_entropy, below_floor, lsimple_mismatch; 3 t in 3..7, "
            "L_(t-1), total): impossible") in text
    only_terms = record(violations=flags[3:]).summary()
    assert "  VIOLATIONS: 2 (below_entropy, lsimple_mismatch; L_(t-1), total): " in only_terms


@pytest.mark.parametrize(("gap", "shown"), [(v(1.5, 0.0), "exact"), (v(1.5, math.inf), "exact"),
                                            (v(-1.0, 0.25), "z = -4")])
def test_margin_z_is_exact_without_a_finite_stderr(gap, shown) -> None:
    """Planted: ``stderr > 0`` -> ``>= 0`` (a division by zero), ``isfinite`` dropped (a z
    of 0 shown for an infinite stderr), the z's sign or ratio changed."""
    text = record(entropy_gap=gap, total_gap=gap).summary()
    assert f"total - H = {gap.nats:.4g} ± {gap.stderr:.2g} ({shown})" in text
    assert f"gap {gap.nats:.4g} ± {gap.stderr:.2g} ({shown})" in text


def test_table_without_a_total_or_bayes_values() -> None:
    """Planted: the 'not estimated' line shown with a total or lost without one, a missing
    Bayes value shown as a number, the summary of a record without ranges not falling back
    to the every-t table."""
    r = record(total=None, total_bayes=None, total_gap=None, groups=(), bayes=None,
               bayes_stderr=None, gap=None, gap_stderr=None, decoder_bayes=None,
               decoder_gap=None, decoder_term=None)
    text = r.table(verbose=False)
    assert "total: not estimated (an explicit list of timesteps)" in text.splitlines()
    assert cells(text, "total") == [] and cells(text, "L_0") == []
    assert cells(text, "L_(t-1)")[1] == ["L_(t-1)", "3", "0.75", "0.0625", _bits(0.75), "-",
                                         "-", "-", "0.25", "1", "0.5", "below_bayes"]
    assert r.summary() == text and r.summary(verbose=True) == r.table(verbose=True) != text
    assert summary_table(r) == text and text_table(r) == r.table(verbose=True)


def test_rows_of_missing_terms_are_left_out() -> None:
    """Planted: a row of a missing term (L_0 here) printed as text, trailing blanks left on
    a row without a flag (``rstrip`` -> ``lstrip``), the defaults of the renderers
    (summary not verbose, table verbose with every row) changed."""
    r = record(decoder_term=None)
    for text in (r.summary(), r.table(), summary_table(r), text_table(r)):
        assert cells(text, "L_0") == [] and "XX" not in text
        assert all(line == line.rstrip() for line in text.splitlines())
    assert len(r.summary().splitlines()) == len(record().summary().splitlines()) - 1
    assert summary_table(r) == r.summary(verbose=False) != r.summary(verbose=True)
    assert text_table(r) == r.table(None, verbose=True) != r.table(verbose=False)


@pytest.mark.parametrize(("max_rows", "kept"), [(None, ["2", "3", "4"]), (3, ["2", "3", "4"]),
                                                (2, ["2", "4"]), (1, []), (0, [])])
def test_long_tables_keep_their_first_and_last_rows(max_rows, kept) -> None:
    """Planted: ``M <= max_rows`` -> ``<`` (a full table cut), the halves
    ``max_rows // 2`` changed, the count of omitted rows off by one. (With fewer than two
    rows kept, the omitted rows once vanished without the '...' line.)"""
    text = record().table(max_rows)
    assert [row[1] for row in cells(text, "L_(t-1)")] == kept
    omitted = [x for x in text.splitlines() if x.startswith("...")]
    n = 3 - len(kept)
    assert omitted == ([f"...        ({n} rows omitted)"] if n else [])


def test_num_and_the_legend() -> None:
    """Planted: the width or precision of a number changed, a missing value not '-', a
    negative infinity shown as 'inf'; a legend entry lost, its wrapping width or indent
    changed, the 'flagged' entry kept in the every-t table."""
    assert num(None) == " " * 10 + "-" and num(math.nan, 5) == "    -"
    assert num(math.inf) == " " * 8 + "inf" and num(-math.inf) == " " * 7 + "-inf"
    assert num(1 / 3) == "    0.33333" and num(1 / 3, 8, 2) == "    0.33"
    assert num(-123456.0, 12) == " -1.2346e+05" and num(7) == " " * 10 + "7"
    short, full = legend(full=False), legend(full=True)
    assert short[0] == full[0] == "legend:"
    keys = [x[2:12].strip() for x in short[1:] if x[2] != " "]
    assert keys == ["L_T", "L_(t-1)", "L_0", "total", "t", "nats ± SE", "bits/dim", "bayes-opt",
                    "gap", "floor", "flagged"]
    assert [x[2:12].strip() for x in full[1:] if x[2] != " "] == [
        *keys[:-1], "eps-MSE", "lambda_t", "flag"]
    assert max(len(x) for x in full) <= 100 and max(len(x) for x in full) > 95
    assert short[2] == ("  L_(t-1)    KL(q(x_(t-1)|x_t, x_0) || p_theta(x_(t-1)|x_t)), t = 2..T "
                        "(Ho et al. 2020, Eq. 5); in")
    assert short[3] == " " * 13 + "the summary, summed over the t in the range"
    assert full[-2] == ("  flag       above_bayes (departure: a suboptimal model, or a "
                        "mis-specified audit), below_bayes /")


def test_omitted_rows_are_counted_in_a_long_table() -> None:
    """Planted: the count of omitted rows not ``j - last - 1`` (seven rows, four kept: the
    three in the middle are omitted)."""
    ones = np.ones(7)
    r = record(transitions_t=np.arange(2, 9), transitions=ones, transitions_stderr=ones,
               transitions_n=np.full(7, 4), variance_floor=ones, mse_eps=ones,
               mse_eps_stderr=ones, lambda_t=ones, bayes=ones, bayes_stderr=ones, gap=0 * ones,
               gap_stderr=ones)
    for max_rows in (4, 5):
        text = r.table(max_rows)
        assert [row[1] for row in cells(text, "L_(t-1)")] == ["2", "3", "7", "8"]
        assert [x for x in text.splitlines() if x.startswith("...")] == [
            "...        (3 rows omitted)"]


def test_departure_share_and_a_missing_entropy_margin() -> None:
    """Planted: the share of the total gap not 100·gap/total gap (0.3/0.375 = 80%, not
    81%), the entropy line printed without its margin (``and`` -> ``or``)."""
    assert "together 0.3 ± 0.12 nats, 80% of the total gap 0.375;" in record(
        departure_gap=v(0.3, 0.125)).summary()
    text = record(entropy_gap=None).summary()
    assert _between(text, "bounds:", BOUNDS[-1]) == [BOUNDS[0], *BOUNDS[2:]]
