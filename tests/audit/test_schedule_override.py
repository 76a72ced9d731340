"""elbo_terms refuses a schedule other than the checkpoint's unless told, and then says so."""

from __future__ import annotations

import json

import pytest
import torch

from ddpm_theory.audit import AuditError, elbo_terms
from ddpm_theory.backend import Schedule, train


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return train("mixture_1d", 5, schedule=Schedule.linear(30, scale_to_T=True), batch_size=16,
                 model_args={"hidden": 8, "depth": 1}, device="cpu", progress=False,
                 out=tmp_path_factory.mktemp("c") / "m.pt")


def _gen():
    return torch.Generator().manual_seed(0)


def test_another_schedule_is_refused(ckpt):
    with pytest.raises(AuditError, match="differs from the checkpoint's.*schedule_override=True"):
        elbo_terms(ckpt, 16, Schedule.cosine(30), generator=_gen())
    with pytest.raises(AuditError, match="differs from the checkpoint's"):  # another T
        elbo_terms(ckpt, 16, Schedule.linear(40, scale_to_T=True), generator=_gen())


def test_the_same_schedule_given_explicitly_is_accepted(ckpt):
    same = Schedule.linear(30, scale_to_T=True)
    r = elbo_terms(ckpt, 16, same, generator=_gen())
    assert r.notes == ()


def test_an_override_is_reported(ckpt, tmp_path):
    r = elbo_terms(ckpt, 16, Schedule.cosine(30), schedule_override=True, generator=_gen())
    assert len(r.notes) == 1 and "schedule overridden" in r.notes[0]
    assert "note: schedule overridden" in r.table()
    assert json.loads(r.to_json())["notes"] == list(r.notes)
