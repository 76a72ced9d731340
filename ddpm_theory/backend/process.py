"""The Gaussian diffusion process: forward marginals, posteriors and the reverse step.

Conventions of the whole library (stated once, here):

* ``t`` is the **paper timestep**, 1 ≤ t ≤ T, given as an integer (Long) tensor
  of shape ``(B,)``, one per example. Schedule arrays are indexed at ``t − 1``
  (see :mod:`ddpm_theory.backend.schedule`).
* **Model call**: ``model(x_t, t) -> output`` with ``x_t`` of shape ``(B, *event)``
  and ``t`` as above. The output has the shape of ``x_t``, except that with a
  learned variance (``VarianceType.LEARNED`` / ``LEARNED_RANGE``) dimension 1
  (features or channels) is doubled: the first half is the mean-parameter
  (what :class:`~ddpm_theory.backend.enums.Parameterization` names) and the
  second half the variance-parameter. Any ``torch.nn.Module`` with this call
  works with the library.
* Every coefficient is computed once in float64 numpy (from the schedule) and
  cast to the tensor's dtype and device at use (cached per dtype/device).

Symbols ↔ code: x_0 ``x0``; x_t ``x_t``; ε ``eps``; v ``v``; μ̃_t ``posterior mean``;
β̃_t ``posterior variance``; μ_θ, σ_t² ``p_mean_variance(...).mean/.variance``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .enums import Parameterization, VarianceType
from .schedule import Schedule

__all__ = ["GaussianDiffusion", "DiagonalGaussian", "ModelPrediction", "coefficient_table"]


@dataclass(frozen=True)
class DiagonalGaussian:
    """N(mean, diag(variance)); every field has the shape of x, ``(B, *event)``
    (``variance``/``log_variance`` may instead broadcast, shape ``(B, 1, ...)``)."""

    mean: Tensor
    variance: Tensor
    log_variance: Tensor


@dataclass(frozen=True)
class ModelPrediction:
    """p_θ(x_{t−1}|x_t) = N(mean, variance) and the x_0, ε it implies.

    All fields broadcast to ``(B, *event)``; ``variance``/``log_variance`` are
    ``(B, 1, ...)`` for a fixed variance and ``(B, *event)`` for a learned one."""

    mean: Tensor
    variance: Tensor
    log_variance: Tensor
    pred_x0: Tensor
    pred_eps: Tensor


def coefficient_table(schedule: Schedule) -> dict[str, np.ndarray]:
    """All per-timestep coefficients used by :class:`GaussianDiffusion`, float64,
    index i ↔ paper timestep t = i + 1.

    * ``sqrt_alpha_bar`` √ᾱ_t, ``one_minus_alpha_bar`` 1−ᾱ_t,
      ``sqrt_one_minus_alpha_bar`` √(1−ᾱ_t): the forward marginal
      q(x_t|x_0) = N(√ᾱ_t x_0, (1−ᾱ_t) I) (Ho et al. 2020, Eq. 4);
    * ``sqrt_recip_alpha_bar`` 1/√ᾱ_t, ``sqrt_recipm1_alpha_bar`` √(1/ᾱ_t − 1):
      x_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε, Eq. 4 solved for x_0;
    * ``posterior_mean_coef1`` β_t √ᾱ_{t−1}/(1−ᾱ_t) (on x_0) and
      ``posterior_mean_coef2`` √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) (on x_t): the posterior
      mean μ̃_t of q(x_{t−1}|x_t, x_0) (Ho et al. 2020, Eq. 7). At t = 1 they are
      set to exactly 1 and 0 (μ̃_1 = x_0: ᾱ_0 = 1 and 1 − ᾱ_1 = β_1);
    * ``posterior_variance`` β̃_t (Ho et al. 2020, Eq. 7; β̃_1 = 0 exactly) and
      ``posterior_log_variance_clipped`` log β̃_t with log β̃_2 at t = 1 (the
      convention of Ho et al.'s released code; used wherever a finite log β̃_1
      is needed: ``beta_tilde`` and ``learned_range`` variances);
    * ``log_betas`` log β_t, and ``log_betas_released`` the same with log β̃_2 at t = 1
      (the fixed-large variance of the released code, ``beta_released``).
    """
    s = schedule
    if s.T < 2:
        raise ValueError(
            "GaussianDiffusion needs T >= 2: the reverse variance at t = 1 borrows beta_tilde_2."
        )
    with np.errstate(divide="ignore"):
        coef1 = s.betas * np.sqrt(s.alpha_bar_prev) / s.one_minus_alpha_bar
        coef2 = np.sqrt(s.alphas) * s.one_minus_alpha_bar_prev / s.one_minus_alpha_bar
        coef1[0], coef2[0] = 1.0, 0.0  # t = 1: μ̃_1(x_1, x_0) = x_0 exactly
        bt = s.beta_tilde.copy()
        bt[0] = bt[1]
        table = {
            "sqrt_alpha_bar": np.sqrt(s.alpha_bar),
            "one_minus_alpha_bar": s.one_minus_alpha_bar.copy(),
            "sqrt_one_minus_alpha_bar": np.sqrt(s.one_minus_alpha_bar),
            "sqrt_recip_alpha_bar": 1.0 / np.sqrt(s.alpha_bar),
            "sqrt_recipm1_alpha_bar": np.sqrt(s.one_minus_alpha_bar / s.alpha_bar),
            "posterior_mean_coef1": coef1,
            "posterior_mean_coef2": coef2,
            "posterior_variance": s.beta_tilde.copy(),
            "posterior_log_variance_clipped": np.log(bt),
            "betas": s.betas.copy(),
            "log_betas": np.log(s.betas),
            "log_betas_released": np.log(np.concatenate([bt[:1], s.betas[1:]])),
        }
    for a in table.values():
        a.setflags(write=False)
    return table


class GaussianDiffusion:
    """The forward process q and the reverse-step algebra of a DDPM.

    Parameters
    ----------
    schedule
        The noise schedule β_1..β_T (T ≥ 2).
    parameterization
        What the model's (first) output block predicts: ``eps``, ``x0``, ``v`` or
        ``mean`` (a :class:`Parameterization` or its string value).
    variance
        The reverse variance: ``beta``, ``beta_tilde``, ``learned`` or
        ``learned_range`` (a :class:`VarianceType` or its string value).

    Raises
    ------
    ValueError
        For an unknown choice, or for ε-parameterisation on a zero-terminal-SNR
        schedule (x_0 = (x_T − ε)/√ᾱ_T is undefined when ᾱ_T = 0; Lin et al.
        2024, Sec. 3.2: use ``v`` or ``x0``).
    """

    def __init__(
        self,
        schedule: Schedule,
        parameterization: Parameterization | str = Parameterization.EPS,
        variance: VarianceType | str = VarianceType.BETA,
    ) -> None:
        self.schedule = schedule
        self.parameterization = Parameterization.parse(parameterization)
        self.variance = VarianceType.parse(variance)
        if schedule.zero_terminal_snr and self.parameterization is Parameterization.EPS:
            raise ValueError(
                "eps-parameterisation cannot recover x0 at t = T on a zero-terminal-SNR schedule "
                "(alpha_bar_T = 0; Lin et al. 2024, Sec. 3.2); use parameterization 'v' or 'x0'."
            )
        self.coefficients = coefficient_table(schedule)
        self._cache: dict[tuple[str, torch.device, torch.dtype], Tensor] = {}

    @property
    def T(self) -> int:
        return self.schedule.T

    def __repr__(self) -> str:
        return (
            f"GaussianDiffusion({self.schedule!r}, parameterization={self.parameterization.value!r}"
            f", variance={self.variance.value!r})"
        )

    # -- helpers -------------------------------------------------------------------
    def check_t(self, t: Tensor, batch: int | None = None) -> Tensor:
        """Validate paper timesteps: an integer tensor of shape ``(B,)`` in [1, T]."""
        if not isinstance(t, Tensor) or t.dtype.is_floating_point or t.dtype == torch.bool:
            raise TypeError(
                f"t must be an integer (Long) tensor of paper timesteps 1..T; got "
                f"{type(t).__name__} {getattr(t, 'dtype', '')}."
            )
        if t.ndim != 1 or (batch is not None and t.shape[0] != batch):
            raise ValueError(f"t must have shape (B,) with B = {batch}; got {tuple(t.shape)}.")
        if t.numel() and (int(t.min()) < 1 or int(t.max()) > self.T):
            bad = int(torch.nonzero((t < 1) | (t > self.T))[0, 0])
            raise ValueError(
                f"timestep t must satisfy 1 <= t <= T = {self.T} (paper convention, t = 1 is the "
                f"first noising step); got t = {int(t[bad])} at batch index {bad}."
            )
        return t

    def extract(self, name: str, t: Tensor, like: Tensor) -> Tensor:
        """Coefficient ``name`` at timesteps ``t``, shaped ``(B, 1, ..., 1)`` to broadcast
        against ``like``, in ``like``'s dtype and device (computed in float64)."""
        key = (name, like.device, like.dtype)
        table = self._cache.get(key)
        if table is None:
            table = torch.from_numpy(np.array(self.coefficients[name])).to(like.device, like.dtype)
            self._cache[key] = table
        out = table[self.check_t(t, like.shape[0]).to(like.device) - 1]
        return out.reshape(-1, *([1] * (like.ndim - 1)))

    def _split(self, model_output: Tensor, x_t: Tensor) -> tuple[Tensor, Tensor | None]:
        if self.variance.is_learned:
            want = (x_t.shape[0], 2 * x_t.shape[1], *x_t.shape[2:])
            if tuple(model_output.shape) != want:
                raise ValueError(
                    f"with variance {self.variance.value!r} the model must output twice the "
                    f"features/channels of x_t (dimension 1): expected {want}, got "
                    f"{tuple(model_output.shape)}."
                )
            mean_part, var_part = model_output.chunk(2, dim=1)
            return mean_part, var_part
        if model_output.shape != x_t.shape:
            raise ValueError(
                f"model output must have the shape of x_t {tuple(x_t.shape)} for variance "
                f"{self.variance.value!r}; got {tuple(model_output.shape)}."
            )
        return model_output, None

    # -- forward process -------------------------------------------------------------
    def q_mean_variance(self, x0: Tensor, t: Tensor) -> DiagonalGaussian:
        """q(x_t|x_0) = N(√ᾱ_t x_0, (1−ᾱ_t) I) (Ho et al. 2020, Eq. 4)."""
        mean = self.extract("sqrt_alpha_bar", t, x0) * x0
        var = self.extract("one_minus_alpha_bar", t, x0)
        return DiagonalGaussian(mean, var, torch.log(var))

    def q_sample(self, x0: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε, a draw from q(x_t|x_0) (Ho et al. 2020, Eq. 4)
        given the noise ε explicitly (no hidden random state)."""
        if noise.shape != x0.shape:
            raise ValueError(f"noise shape {tuple(noise.shape)} != x0 shape {tuple(x0.shape)}.")
        return (
            self.extract("sqrt_alpha_bar", t, x0) * x0
            + self.extract("sqrt_one_minus_alpha_bar", t, x0) * noise
        )

    def q_posterior_mean_variance(self, x0: Tensor, x_t: Tensor, t: Tensor) -> DiagonalGaussian:
        """q(x_{t−1}|x_t, x_0) = N(μ̃_t, β̃_t I), μ̃_t = β_t √ᾱ_{t−1}/(1−ᾱ_t) x_0 +
        √α_t (1−ᾱ_{t−1})/(1−ᾱ_t) x_t (Ho et al. 2020, Eqs. 6–7).

        At t = 1 the posterior is the point mass at x_0: μ̃_1 = x_0, β̃_1 = 0 and
        ``log_variance`` = −∞ there (no clipping)."""
        mean = (
            self.extract("posterior_mean_coef1", t, x_t) * x0
            + self.extract("posterior_mean_coef2", t, x_t) * x_t
        )
        var = self.extract("posterior_variance", t, x_t)
        return DiagonalGaussian(mean, var, torch.log(var))

    # -- conversions between parameterisations ---------------------------------------------
    def predict_x0_from_eps(self, x_t: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """x̂_0 = x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε (Ho et al. 2020, Eq. 4 solved for x_0)."""
        return (
            self.extract("sqrt_recip_alpha_bar", t, x_t) * x_t
            - self.extract("sqrt_recipm1_alpha_bar", t, x_t) * eps
        )

    def predict_eps_from_x0(self, x_t: Tensor, t: Tensor, x0: Tensor) -> Tensor:
        """ε̂ = (x_t − √ᾱ_t x_0)/√(1−ᾱ_t) (Ho et al. 2020, Eq. 4 solved for ε)."""
        return (x_t - self.extract("sqrt_alpha_bar", t, x_t) * x0) / self.extract(
            "sqrt_one_minus_alpha_bar", t, x_t
        )

    def predict_v(self, x0: Tensor, t: Tensor, eps: Tensor) -> Tensor:
        """v = √ᾱ_t ε − √(1−ᾱ_t) x_0 (Salimans & Ho 2022, Sec. 4)."""
        return (
            self.extract("sqrt_alpha_bar", t, x0) * eps
            - self.extract("sqrt_one_minus_alpha_bar", t, x0) * x0
        )

    def predict_x0_from_v(self, x_t: Tensor, t: Tensor, v: Tensor) -> Tensor:
        """x̂_0 = √ᾱ_t x_t − √(1−ᾱ_t) v (Salimans & Ho 2022, Appendix D)."""
        return (
            self.extract("sqrt_alpha_bar", t, x_t) * x_t
            - self.extract("sqrt_one_minus_alpha_bar", t, x_t) * v
        )

    def predict_eps_from_v(self, x_t: Tensor, t: Tensor, v: Tensor) -> Tensor:
        """ε̂ = √(1−ᾱ_t) x_t + √ᾱ_t v (Salimans & Ho 2022, Appendix D)."""
        return (
            self.extract("sqrt_one_minus_alpha_bar", t, x_t) * x_t
            + self.extract("sqrt_alpha_bar", t, x_t) * v
        )

    def predict_x0_from_mean(self, x_t: Tensor, t: Tensor, mean: Tensor) -> Tensor:
        """x̂_0 = (μ − coef2 x_t)/coef1, the posterior mean (Ho et al. 2020, Eq. 7)
        solved for x_0; coef1 > 0 for every t since β_t > 0."""
        return (mean - self.extract("posterior_mean_coef2", t, x_t) * x_t) / self.extract(
            "posterior_mean_coef1", t, x_t
        )

    # -- reverse process ---------------------------------------------------------------
    def model_log_variance(self, var_part: Tensor | None, x_t: Tensor, t: Tensor) -> Tensor:
        """log σ_t² for the configured :class:`VarianceType` (see its docstring; for
        ``learned_range``: Nichol & Dhariwal 2021, Eq. 15, with v = (var_part + 1)/2
        used as given, not clipped)."""
        if self.variance is VarianceType.BETA:
            return self.extract("log_betas", t, x_t)
        if self.variance is VarianceType.BETA_RELEASED:
            return self.extract("log_betas_released", t, x_t)
        if self.variance is VarianceType.BETA_TILDE:
            return self.extract("posterior_log_variance_clipped", t, x_t)
        assert var_part is not None
        if self.variance is VarianceType.LEARNED:
            return var_part
        frac = (var_part + 1.0) / 2.0
        log_max = self.extract("log_betas", t, x_t)
        log_min = self.extract("posterior_log_variance_clipped", t, x_t)
        return frac * log_max + (1.0 - frac) * log_min

    def pred_x0_eps(self, mean_part: Tensor, x_t: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
        """(x̂_0, ε̂) implied by the model's mean-parameter output."""
        p = self.parameterization
        if p is Parameterization.EPS:
            eps = mean_part
            return self.predict_x0_from_eps(x_t, t, eps), eps
        if p is Parameterization.X0:
            x0 = mean_part
        elif p is Parameterization.V:
            x0 = self.predict_x0_from_v(x_t, t, mean_part)
            return x0, self.predict_eps_from_v(x_t, t, mean_part)
        else:
            x0 = self.predict_x0_from_mean(x_t, t, mean_part)
        return x0, self.predict_eps_from_x0(x_t, t, x0)

    def p_mean_variance(self, model_output: Tensor, x_t: Tensor, t: Tensor) -> ModelPrediction:
        """p_θ(x_{t−1}|x_t) = N(μ_θ, σ_t² I) from a model output.

        μ_θ = μ̃_t(x_t, x̂_0) with x̂_0 implied by the parameterisation (for ``eps``
        this equals (x_t − β_t/√(1−ᾱ_t) ε_θ)/√α_t, Ho et al. 2020, Eq. 11); for
        ``mean`` the output is μ_θ itself. σ_t² as in :meth:`model_log_variance`.
        """
        mean_part, var_part = self._split(model_output, x_t)
        log_var = self.model_log_variance(var_part, x_t, t)
        x0, eps = self.pred_x0_eps(mean_part, x_t, t)
        if self.parameterization is Parameterization.MEAN:
            mean = mean_part
        else:
            mean = self.q_posterior_mean_variance(x0, x_t, t).mean
        return ModelPrediction(mean, torch.exp(log_var), log_var, x0, eps)

    def p_sample(self, model_output: Tensor, x_t: Tensor, t: Tensor, noise: Tensor) -> Tensor:
        """x_{t−1} = μ_θ + σ_t z, with z = ``noise`` for t > 1 and z = 0 at t = 1
        (Ho et al. 2020, Algorithm 2)."""
        pred = self.p_mean_variance(model_output, x_t, t)
        nonzero = (t != 1).to(x_t.dtype).reshape(-1, *([1] * (x_t.ndim - 1)))
        return pred.mean + nonzero * torch.exp(0.5 * pred.log_variance) * noise
