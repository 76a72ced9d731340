"""The batched evaluator: every (example, timestep, noise) row of an audit, in chunks.

A *row* is one example index i, one paper timestep t (1 ≤ t ≤ T) and one noise
vector ε; it gives x_t = √ᾱ_t x_0 + √(1 − ᾱ_t) ε (Ho et al. 2020, Eq. 4) and one
model call. Rows of all timesteps are mixed in chunks of ``batch_size``, so a
full-T audit costs ⌈rows / batch_size⌉ model calls, not one per t.

Per row (shape ``(R,)``, float64, nats summed over the D data dimensions):

* ``loss``: L_{t−1} = KL(q(x_{t−1}|x_t, x_0) ‖ p_θ(x_{t−1}|x_t)) for t ≥ 2 and
  L_0 = −log p_θ(x_0|x_1) for t = 1 (Ho et al. 2020, Eq. 5);
* ``mse``: ‖ε − ε_θ‖², the squared error of the implied noise prediction;
* ``weighted``: Σ_d λ_{t,d}(ε_d − ε_θ,d)², λ = β_t²/(2σ_t² α_t (1 − ᾱ_t)) (Eq. 12);
* ``floor``: C_t = Σ_d ½(β̃_t/σ_t² − 1 − log(β̃_t/σ_t²)) (Eq. 8's constant);
  ``loss = weighted + floor`` holds pointwise for t ≥ 2 (the L_simple relation);
* ``bayes``: the same term for the Bayes-optimal mean μ̃_t(x_t, E[x_0|x_t]) with the
  model's σ_t², on the same (x_0, ε) (common random numbers); NaN where unknown.

The model runs in its own dtype; its output is cast to float64 and everything
after that is float64 (docs/verification.md, rule 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..backend.dataset import Dataset
from ..backend.enums import DecoderType
from ..backend.likelihood import ApproxCdf, gaussian_log_likelihood, normal_kl
from ..backend.losses import decoder_nll, sum_flat
from ..backend.process import GaussianDiffusion, ModelPrediction
from .bounds import lambda_sigma2, variance_mismatch

__all__ = ["AuditError", "RowEvaluator", "ROW_FIELDS"]

#: the per-row quantities returned by :meth:`RowEvaluator.run`
ROW_FIELDS = ("loss", "mse", "weighted", "floor", "bayes")

NoiseFn = Callable[[int, int], Tensor]
"""``noise(start, n)`` -> ε for rows start..start + n − 1, shape ``(n, *event)``."""


class AuditError(ValueError):
    """Bad input to an audit, or a model output that cannot be audited (NaN/Inf)."""


class RowEvaluator:
    """Evaluates rows (i, t, ε) of an audit in chunks (module docstring).

    Parameters
    ----------
    model
        ``model(x_t, t)``, t a Long tensor of paper timesteps.
    diffusion
        Schedule, parameterisation and variance of the audit.
    x0
        ``(B, *event)`` float64 examples on the audit device.
    decoder, levels, approx_cdf
        The decoder of L_0 (:func:`ddpm_theory.backend.losses.decoder_nll`).
    law
        A data law with exact E[x_0|x_t] for the Bayes-optimal values, or None.
    model_dtype
        The dtype in which x_t is passed to the model.
    batch_size
        Rows per model call.
    progress
        Called with the number of rows done after each chunk (or None).
    """

    def __init__(
        self,
        model: Callable[[Tensor, Tensor], Tensor],
        diffusion: GaussianDiffusion,
        x0: Tensor,
        *,
        decoder: DecoderType,
        levels: int | None,
        approx_cdf: ApproxCdf,
        law: Dataset | None,
        model_dtype: torch.dtype,
        batch_size: int,
        progress: Callable[[int], Any] | None = None,
    ) -> None:
        self.model, self.diffusion, self.x0 = model, diffusion, x0
        self.decoder, self.levels, self.approx_cdf = decoder, levels, approx_cdf
        self.law, self.model_dtype, self.batch_size = law, model_dtype, batch_size
        self.progress = progress
        self.n_model_evals = 0
        s, dev = diffusion.schedule, x0.device
        self.D = int(x0[0].numel())

        def col(a: np.ndarray) -> Tensor:
            return torch.from_numpy(np.array(a, dtype=np.float64)).to(dev)

        # λ_t σ_t² = β_t²/(2 α_t (1 − ᾱ_t)), t = 1..T (Ho et al. 2020, Eq. 12); undefined
        # (NaN) where α_t = 0 (zero terminal SNR, β_T = 1): there μ̃_t = √ᾱ_{t−1} x̂_0 does
        # not involve x_t, the ε-form of μ_θ divides by √α_t = 0, and L_{t−1} has no
        # ε-weighted form; the term itself stays finite and is reported.
        self._lam_num = col(lambda_sigma2(s))
        self._no_eps_form = col(s.alphas == 0.0).bool()
        self._alpha_bar = torch.from_numpy(np.array(s.alpha_bar))
        self._fixed_floor = None
        if not diffusion.variance.is_learned:
            floor = np.concatenate([[0.0], variance_mismatch(s, diffusion.variance, self.D)])
            self._fixed_floor = col(floor)

    # -- one chunk ----------------------------------------------------------------------
    def _call_model(self, x_t: Tensor, t: Tensor) -> Tensor:
        with torch.no_grad():
            out = self.model(x_t.to(self.model_dtype), t)
        self.n_model_evals += int(x_t.shape[0])
        if not isinstance(out, Tensor):
            raise AuditError(f"the model returned a {type(out).__name__}, not a tensor.")
        out = out.detach().to(torch.float64)
        bad = ~torch.isfinite(out.reshape(out.shape[0], -1)).all(1)
        if bool(bad.any()):
            ts = sorted({int(v) for v in t[bad].tolist()})
            raise AuditError(
                f"the model output is NaN or Inf for {int(bad.sum())} of {out.shape[0]} inputs "
                f"(paper timesteps {ts[:10]}{' ...' if len(ts) > 10 else ''}); nothing is "
                "averaged over non-finite values."
            )
        return out

    def _chunk(self, idx: Tensor, t: Tensor, eps: Tensor) -> dict[str, Tensor]:
        dif = self.diffusion
        x0 = self.x0[idx]
        x_t = dif.q_sample(x0, t, eps)
        out = self._call_model(x_t, t)
        try:
            pred = dif.p_mean_variance(out, x_t, t)
        except ValueError as exc:
            raise AuditError(f"model output does not fit the audit: {exc}") from None
        post = dif.q_posterior_mean_variance(x0, x_t, t)
        first = t == 1
        shape = (-1, *([1] * (x0.ndim - 1)))
        # β̃_1 = 0: a finite stand-in for the (unused) KL branch at t = 1
        post_logvar = torch.where(first.reshape(shape), 0.0, post.log_variance)
        kl = sum_flat(normal_kl(post.mean, post_logvar, pred.mean, pred.log_variance))
        loss = kl.clone()
        nan = torch.full_like(kl, float("nan"))
        bayes = nan.clone()
        if self.law is not None:
            ab = self._alpha_bar[t.cpu() - 1]
            x0_star = self.law.posterior_mean_x0(x_t.cpu(), ab).to(x_t.device, torch.float64)
            mu_star = dif.q_posterior_mean_variance(x0_star, x_t, t).mean
            bayes = sum_flat(normal_kl(post.mean, post_logvar, mu_star, pred.log_variance))
        if bool(first.any()):
            full = [f.expand_as(pred.mean) for f in (pred.mean, pred.variance,
                                                     pred.log_variance, pred.pred_x0,
                                                     pred.pred_eps)]
            sub = ModelPrediction(*(f[first] for f in full))
            loss[first] = decoder_nll(x0[first], sub, decoder=self.decoder, levels=self.levels,
                                      approx_cdf=self.approx_cdf)
            if self.law is not None and self.decoder is DecoderType.GAUSSIAN:
                bayes[first] = -sum_flat(gaussian_log_likelihood(
                    x0[first], mean=mu_star[first], logvar=sub.log_variance))
            else:  # no Bayes-optimal closed form for the discretised decoder
                bayes[first] = float("nan")
        err2 = (eps - pred.pred_eps) ** 2
        lam = self._lam_num[t - 1].reshape(shape) * torch.exp(-pred.log_variance)
        weighted = torch.where(first, 0.0, sum_flat(lam * err2))
        weighted = torch.where(self._no_eps_form[t - 1], float("nan"), weighted)
        if self._fixed_floor is not None:
            floor = self._fixed_floor[t - 1]
        else:  # learned σ²: C = Σ_d ½(e^δ − 1 − δ), δ = log β̃_t − log σ_t²
            delta = post_logvar - pred.log_variance
            floor = torch.where(first, 0.0, sum_flat(0.5 * (torch.expm1(delta) - delta)))
        out_rows = {"loss": loss, "mse": sum_flat(err2), "weighted": weighted, "floor": floor,
                    "bayes": bayes}
        for name in ("loss", "mse", "weighted", "floor"):
            v = out_rows[name]
            bad = ~torch.isfinite(v)
            if name == "weighted":
                bad &= ~self._no_eps_form[t - 1]
            if bool(bad.any()):
                k = int(torch.nonzero(bad)[0, 0])
                why = ("a decoder probability that underflows" if name == "loss" and
                       int(t[k]) == 1 else "an overflow in the model's prediction")
                raise AuditError(
                    f"the audit's {name} is {float(v[k])} at paper timestep t = {int(t[k])} "
                    f"(e.g. {why}); refusing to average it."
                )
        return out_rows

    # -- all rows -------------------------------------------------------------------------
    def run(self, idx: Tensor, t: Tensor, noise: NoiseFn) -> dict[str, np.ndarray]:
        """Evaluate rows ``(idx[r], t[r], noise(r))``; returns ``(R,)`` float64 arrays
        named by :data:`ROW_FIELDS`."""
        R = int(idx.shape[0])
        parts: dict[str, list[Tensor]] = {k: [] for k in ROW_FIELDS}
        dev = self.x0.device
        for start in range(0, R, self.batch_size):
            n = min(self.batch_size, R - start)
            sl = slice(start, start + n)
            eps = noise(start, n).to(dev, torch.float64)
            res = self._chunk(idx[sl].to(dev), t[sl].to(dev), eps)
            for k in ROW_FIELDS:
                parts[k].append(res[k].detach().cpu())
            if self.progress is not None:
                self.progress(n)
        return {k: torch.cat(v).numpy() if v else np.zeros(0) for k, v in parts.items()}

