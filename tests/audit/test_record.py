"""The ElboTerms record: plain data, strict JSON, the table and the plot."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
import torch
from audit_helpers import shrinkage_eps_model

from ddpm_theory.audit import ElboTerms, elbo_terms
from ddpm_theory.backend import Schedule, get_dataset


@pytest.fixture(scope="module")
def record() -> ElboTerms:
    s = Schedule.linear(12, beta_end=0.2)
    law = get_dataset("standard_gaussian", dim=2)
    return elbo_terms(shrinkage_eps_model(s), 64, s, data=law,
                      generator=torch.Generator().manual_seed(0))


def test_to_dict_layout(record: ElboTerms) -> None:
    d = json.loads(record.to_json())
    assert set(d) >= {"prior", "transitions", "decoder", "total", "bounds", "violations"}
    assert [x["t"] for x in d["transitions"]] == list(range(2, 13))
    for term in (d["prior"], d["decoder"], d["total"], *d["transitions"]):
        assert {"nats", "bits_per_dim", "stderr"} <= set(term)
        # bits/dim = nats/(D ln 2), D = 2; float division, equal to rounding
        assert term["bits_per_dim"] == pytest.approx(term["nats"] / (2 * math.log(2)), rel=1e-15)
    assert d["transitions"][0]["bayes"] is not None and d["bounds"]["entropy"]["kind"]


def test_total_is_the_sum_of_its_terms(record: ElboTerms) -> None:
    s = record.prior.nats + record.transitions.sum() + record.decoder_term.nats
    # 'all' mode: the mean of per-example sums equals the sum of per-term means (rounding)
    assert record.total.nats == pytest.approx(s, rel=1e-12)


def test_table_shows_every_term(record: ElboTerms) -> None:
    text = record.table()
    for t in range(2, 13):
        assert re.search(rf"^L_\(t-1\)\s+{t}\s", text, re.M), t
    assert "L_T" in text and "L_0" in text and "total" in text and "bayes-opt" in text
    assert "rows omitted" in record.table(max_rows=4)


def test_plot_writes_png_and_refuses_overwrite(record: ElboTerms, tmp_path) -> None:
    p = record.plot(tmp_path / "a.png")
    assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError):
        record.plot(tmp_path / "a.png")


def test_infinite_stderr_is_null_in_json() -> None:
    s = Schedule.linear(5, beta_end=0.3)
    r = elbo_terms(shrinkage_eps_model(s), torch.zeros(1, 1, dtype=torch.float64), s)
    assert math.isinf(r.total.stderr)
    assert json.loads(r.to_json())["total"]["stderr"] is None
    assert np.isfinite(r.total.nats)
