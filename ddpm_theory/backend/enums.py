"""Closed sets of choices for the torch backend.

Strings exist only at the edge (the CLI, a checkpoint's plain-data config, a
keyword argument); each is converted once, by :meth:`Choice.parse` (or the
enum constructor, which calls the same ``_missing_`` hook), into a member. An
unknown string raises :class:`ValueError` listing the valid values.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

__all__ = ["Choice", "Parameterization", "VarianceType", "DecoderType", "LossType"]

_C = TypeVar("_C", bound="Choice")


class Choice(str, Enum):
    """Base class: a string-valued enum with one, strict, string conversion."""

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        """Extra accepted spellings -> canonical value (none by default)."""
        return {}

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_")
            key = cls._aliases().get(key, key)
            for member in cls:
                if member.value == key:
                    return member
        valid = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"{value!r} is not a valid {cls.__name__}; choose one of {valid}.")

    @classmethod
    def parse(cls: type[_C], value: str | _C) -> _C:
        """Convert a member or its string value (case-insensitive) to a member.

        Raises
        ------
        ValueError
            If ``value`` names no member; the message lists the valid values.
        """
        if isinstance(value, cls):
            return value
        return cls(value)

    def __str__(self) -> str:
        return str(self.value)


class Parameterization(Choice):
    """What the network's first output block predicts.

    * ``eps``: the noise ε in x_t = √ᾱ_t x_0 + √(1−ᾱ_t) ε (Ho et al. 2020, Eq. 11);
    * ``x0``: the clean data x_0;
    * ``v``: v = √ᾱ_t ε − √(1−ᾱ_t) x_0 (Salimans & Ho 2022, "Progressive
      Distillation", Sec. 4 and Appendix D);
    * ``mean``: the reverse-process mean μ_θ(x_t, t) directly (Ho et al. 2020,
      Sec. 3.2, the option compared against ε-prediction in its Table 2).
    """

    EPS = "eps"
    X0 = "x0"
    V = "v"
    MEAN = "mean"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"epsilon": "eps", "noise": "eps", "x_0": "x0", "x_start": "x0"}


class VarianceType(Choice):
    """The reverse-process variance σ_t² of p_θ(x_{t−1}|x_t).

    * ``beta``: σ_t² = β_t (Ho et al. 2020, Sec. 3.2, the upper choice), σ_1² = β_1
      included;
    * ``beta_released``: σ_t² = β_t for t ≥ 2 but σ_1² = β̃_2: the fixed-large variance
      as the released code of Ho et al. and of Nichol & Dhariwal sets it (it differs
      from ``beta`` in L_0 only; docs/conventions.md);
    * ``beta_tilde``: σ_t² = β̃_t (Ho et al. 2020, Sec. 3.2, the lower choice);
      at t = 1, where β̃_1 = 0, σ_1² = β̃_2 is used (the convention of Ho et
      al.'s released code, ``posterior_log_variance_clipped``);
    * ``learned``: the model outputs log σ_t² in its second output block;
    * ``learned_range``: the model outputs v ∈ [−1, 1]-ish and
      log σ_t² = ((v+1)/2) log β_t + (1 − (v+1)/2) log β̃_t (Nichol & Dhariwal
      2021, Eq. 15), with log β̃_1 replaced by log β̃_2 as for ``beta_tilde``.
    """

    BETA = "beta"
    BETA_RELEASED = "beta_released"
    BETA_TILDE = "beta_tilde"
    LEARNED = "learned"
    LEARNED_RANGE = "learned_range"

    @property
    def is_learned(self) -> bool:
        """Whether the model must output a second (variance) block."""
        return self in (VarianceType.LEARNED, VarianceType.LEARNED_RANGE)

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"fixedlarge": "beta", "fixedsmall": "beta_tilde", "learned_interp": "learned_range"}


class DecoderType(Choice):
    """The likelihood p_θ(x_0|x_1) of the last reverse step.

    * ``discretized``: a Gaussian integrated over the bins of a uniform grid on
      [−1, 1], edge bins extended to ±∞ (Ho et al. 2020, Eq. 13);
    * ``gaussian``: the continuous Gaussian density N(x_0; μ_θ(x_1, 1), σ_1² I).
    """

    DISCRETIZED = "discretized"
    GAUSSIAN = "gaussian"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"discrete": "discretized", "discretised": "discretized", "continuous": "gaussian"}


class LossType(Choice):
    """Training objectives (all per example, averaged over the batch).

    * ``simple``: L_simple, the ε-MSE (Ho et al. 2020, Eq. 14);
    * ``mean_mse``: ‖μ̃_t(x_t, x_0) − μ_θ(x_t, t)‖² (the homework's mean loss,
      Ho et al. 2020, Eq. 8 without the 1/(2σ_t²) weight);
    * ``x0_mse``: ‖x_0 − x̂_0‖²;
    * ``v_mse``: ‖v − v̂‖² (Salimans & Ho 2022);
    * ``vlb``: the variational bound, one uniformly drawn term scaled by T
      (Ho et al. 2020, Eq. 5);
    * ``hybrid``: L_simple + λ L_vlb with a stop-gradient on the mean in the
      L_vlb part (Nichol & Dhariwal 2021, Eq. 16 and Sec. 3.1).

    The squared errors are means over the data dimensions (the convention of
    the released DDPM code), so they do not grow with the data dimension.
    """

    SIMPLE = "simple"
    MEAN_MSE = "mean_mse"
    X0_MSE = "x0_mse"
    V_MSE = "v_mse"
    VLB = "vlb"
    HYBRID = "hybrid"

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        return {"eps_mse": "simple", "mse": "simple", "eps": "simple", "kl": "vlb"}
