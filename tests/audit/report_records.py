"""A hand-built audit record with round numbers, for exact tests of what the audit's
renderings print (the text table, the summary, the JSON record and the plot)."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from ddpm_theory.audit.record import ElboTerms, Flag, TermGroup, Value

D = 2
LN2 = math.log(2.0)


def v(nats: float, stderr: float, n: int = 4) -> Value:
    return Value(nats, stderr, n)


VIOLATION = Flag("below_bayes", "L_(t-1)", 3, 0.75, 0.875, 0.03125, -4.0, "t = 3 is below")
DEPARTURES = (Flag("above_bayes", "L_(t-1)", 2, 1.5, 1.25, 0.0625, 4.0, "t = 2 is above"),
              Flag("above_bayes", "L_0", None, 2.0, 1.75, 0.125, -5.0, "L_0 is above"))
GROUPS = (TermGroup(2, 3, v(2.25, 0.25), v(2.125, 0.125), v(0.125, 0.0625), v(0.75, 0.0), 2),
          TermGroup(4, 4, v(0.25, 0.0), v(0.25, 0.0), v(0.0, 0.0), v(0.125, 0.0), 0))


def record(**changes: Any) -> ElboTerms:
    """T = 4 (transitions t = 2, 3, 4), D = 2, B = 4 examples; one violation at t = 3,
    departures at t = 2 and at L_0; ``changes`` replace fields."""
    fields: dict[str, Any] = dict(
        D=D, T=4, n_examples=4, mode="monte_carlo", timesteps="all", n_timesteps=3,
        parameterization="eps", variance="beta", decoder="gaussian",
        prior=v(0.0625, 0.015625), prior_check=2.5e-16,
        transitions_t=np.array([2, 3, 4]), transitions=np.array([1.5, 0.75, 0.25]),
        transitions_stderr=np.array([0.125, 0.0625, math.inf]),
        transitions_n=np.array([4, 4, 1]),
        variance_floor=np.array([0.5, 0.25, 0.125]), mse_eps=np.array([2.0, 1.0, 0.5]),
        mse_eps_stderr=np.array([0.25, 0.125, 0.0625]), lambda_t=np.array([0.5, 0.5, 0.25]),
        lsimple_residual=3e-12,
        bayes=np.array([1.25, 0.875, 0.25]), bayes_stderr=np.array([0.1, 0.05, 0.0]),
        gap=np.array([0.25, -0.125, 0.0]), gap_stderr=np.array([0.0625, 0.03125, 0.0]),
        decoder_term=v(2.0, 0.25), decoder_bayes=v(1.75, 0.2), decoder_gap=v(0.25, 0.125),
        total=v(4.5625, 0.5), total_bayes=v(4.1875, 0.375), total_gap=v(0.375, 0.1875),
        entropy=2.8378770664093453, entropy_kind="differential", entropy_gap=v(1.5, 0.5),
        per_example_total=np.array([4.0, 4.5, 5.0, 4.75]), proposal=None,
        z=3.25, false_alarm=0.001, violations=(VIOLATION,), departures=DEPARTURES,
        n_model_evals=16, seconds=0.125, groups=GROUPS, departure_gap=v(0.25, 0.125),
        respaced_timesteps=None, notes=("a caveat",),
    )
    fields.update(changes)
    return ElboTerms(**fields)


def cells(text: str, name: str) -> list[list[str]]:
    """The cells of every row of ``name`` in a table: each column's text is cut at the right
    edge of its heading (numbers are right-aligned under their headings), the first
    column is the 9 characters of the term's name, the last (flag) is left-aligned."""
    lines = text.splitlines()
    head = next(line for line in lines if line.startswith("term"))
    spans = [m.span() for m in re.finditer(r"\S+(?: \S+)*", head)]
    edges = [9] + [end for _, end in spans[1:-1]]
    out = []
    for line in lines:
        if not line.startswith(name + " ") and line != name:
            continue
        row = [line[:9].strip()] + [line[a:b].strip() for a, b in zip(edges, edges[1:])]
        assert line[edges[-1]:spans[-1][0]].strip() == "", line  # nothing between the columns
        out.append(row + [line[spans[-1][0]:].strip()])
    return out
