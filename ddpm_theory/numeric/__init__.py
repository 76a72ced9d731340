"""Numeric verification layer (docs/verification.md tiers S1--S4).

* :mod:`~ddpm_theory.numeric.estimators` -- Monte-Carlo, control-variate MC,
  randomised QMC and Gauss--Hermite estimators returning an :class:`Estimate`.
* :mod:`~ddpm_theory.numeric.acceptance` -- thresholds from a false-alarm
  budget, power statements, goodness-of-fit helpers.
* :mod:`~ddpm_theory.numeric.skewness` -- the skewness-corrected rule for means
  with a sample standard error.
* :mod:`~ddpm_theory.numeric.gaussian` -- float64 Gaussian closed forms.

numpy/scipy only; importing this package does not import torch or SymPy.
"""

from ddpm_theory.numeric.acceptance import (
    DEFAULT_BETA,
    DEFAULT_BUDGET,
    AcceptanceReport,
    GofReport,
    GofTest,
    InsufficientPower,
    StatisticalDisagreement,
    active_examples,
    assert_agrees,
    assert_gof,
    assert_power,
    check_agreement,
    detectable_discrepancy,
    gof_test,
    ks_critical_value,
    ks_power_lower_bound,
    per_run_alpha,
    rejection_probability,
    skew_corrected_bounds,
    z_threshold,
)
from ddpm_theory.numeric.estimators import (
    Estimate,
    Method,
    control_variate,
    gauss_hermite,
    monte_carlo,
    quadratic_controls,
    rqmc,
    sample_mean,
    sample_skewness,
)
from ddpm_theory.numeric.gaussian import (
    diag_normal_entropy,
    diag_normal_log_density,
    kl_diag_normal,
    kl_mvn,
    kl_normal,
    mvn_entropy,
    mvn_log_density,
    normal_entropy,
    normal_log_density,
)

__all__ = [
    "DEFAULT_BETA",
    "DEFAULT_BUDGET",
    "AcceptanceReport",
    "Estimate",
    "GofReport",
    "GofTest",
    "InsufficientPower",
    "Method",
    "StatisticalDisagreement",
    "active_examples",
    "assert_agrees",
    "assert_gof",
    "assert_power",
    "check_agreement",
    "control_variate",
    "detectable_discrepancy",
    "diag_normal_entropy",
    "diag_normal_log_density",
    "gauss_hermite",
    "gof_test",
    "kl_diag_normal",
    "ks_critical_value",
    "ks_power_lower_bound",
    "kl_mvn",
    "kl_normal",
    "monte_carlo",
    "mvn_entropy",
    "mvn_log_density",
    "normal_entropy",
    "normal_log_density",
    "per_run_alpha",
    "quadratic_controls",
    "rejection_probability",
    "rqmc",
    "sample_mean",
    "sample_skewness",
    "skew_corrected_bounds",
    "z_threshold",
]
