"""Zero terminal SNR (ᾱ_T = 0, β_T = 1): every finite term is audited; λ_T is undefined."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from audit_helpers import std_normal_nll

import ddpm_theory.audit.evaluate as evaluate
from ddpm_theory.audit import AuditError, elbo_terms
from ddpm_theory.backend import Schedule

# float64 sums of ~2T O(1) log-density terms; the project's anchor precision (see test_anchors)
ANCHOR_TOL = 1e-10


def _zts_schedules() -> dict[str, Schedule]:
    return {
        "rescaled linear": Schedule.linear(50, scale_to_T=True).rescale_zero_terminal_snr(),
        "cosine, max beta 1": Schedule.cosine(50, max_beta=1.0),
    }


def _exact_x0_model(schedule: Schedule):
    """x̂_0 = √ᾱ_t x_t = E[x_0|x_t] for x_0 ~ N(0, 1) (x̂_0 = 0 at t = T, where ᾱ_T = 0)."""
    root = torch.from_numpy(np.sqrt(np.array(schedule.alpha_bar)))

    def model(x_t, t):
        return root[t - 1].reshape(-1, 1).to(x_t) * x_t

    return model


def _audit(schedule: Schedule):
    x0 = torch.linspace(-3.0, 3.0, 16, dtype=torch.float64).reshape(16, 1)
    r = elbo_terms(_exact_x0_model(schedule), x0, schedule, parameterization="x0",
                   variance="beta", decoder="gaussian", mode="quadrature", n_nodes=4)
    return x0, r


@pytest.mark.parametrize("name", list(_zts_schedules()))
def test_zero_terminal_snr_audit_equals_the_exact_nll(name: str) -> None:
    """For x_0 ~ N(0, 1) the forward chain is stationary, the exact model's reverse chain is
    q's own (N(√α_t x_t, β_t), N(0, 1) at t = T where β_T = 1), so the bound is tight:
    L_vlb(x_0) = −log N(x_0; 0, 1) per example, which Gauss–Hermite quadrature computes
    exactly for a model linear in x_t."""
    s = _zts_schedules()[name]
    assert s.zero_terminal_snr and s.alpha_bar[-1] == 0.0
    x0, r = _audit(s)
    assert np.abs(r.per_example_total - std_normal_nll(x0)).max() <= ANCHOR_TOL
    assert r.prior.nats == 0.0  # KL(N(0, 1) ‖ N(0, 1)) at ᾱ_T = 0
    assert np.isfinite(r.transitions).all() and r.transitions_t[-1] == s.T
    assert np.isnan(r.lambda_t[-1]) and np.isfinite(r.lambda_t[:-1]).all()
    assert r.ok and r.lsimple_residual <= 1e-12  # the relation still holds where it is defined


def test_an_unhandled_lambda_at_alpha_zero_breaks_the_audit(monkeypatch) -> None:
    """Planted: the plain formula β²/(2α(1 − ᾱ)) at α_T = 0 (what the audit did before)."""
    s = _zts_schedules()["rescaled linear"]

    def plain(schedule):
        with np.errstate(divide="ignore"):
            return schedule.betas**2 / (2.0 * schedule.alphas * schedule.one_minus_alpha_bar)

    monkeypatch.setattr(evaluate, "lambda_sigma2", plain)
    orig = evaluate.RowEvaluator.__init__

    def init(self, *a, **k):
        orig(self, *a, **k)
        self._no_eps_form = torch.zeros_like(self._no_eps_form)

    monkeypatch.setattr(evaluate.RowEvaluator, "__init__", init)
    with pytest.raises(AuditError, match="weighted is nan at paper timestep t = 50"):
        _audit(s)


def test_a_zero_terminal_snr_checkpoint_is_audited(tmp_path) -> None:
    from ddpm_theory import train

    s = _zts_schedules()["cosine, max beta 1"]
    ckpt = train("mixture_1d", 20, schedule=s, parameterization="v", batch_size=32,
                 device="cpu", progress=False, out=tmp_path / "zts.pt")
    r = elbo_terms(tmp_path / "zts.pt", 64, generator=torch.Generator().manual_seed(0))
    assert r.total is not None and np.isfinite(r.total.nats)
    assert np.isnan(r.lambda_t[-1]) and np.isfinite(r.transitions).all()
    assert ckpt.schedule.zero_terminal_snr
