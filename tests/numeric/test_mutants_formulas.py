"""Bad input and precision of ddpm_theory.numeric.formulas (the generated formulas' call
and schedule_quantities), for mutation testing; each docstring names the planted error."""

from __future__ import annotations

import numpy as np
import pytest

from ddpm_theory.numeric.formulas import generated, schedule_quantities


def _snr_formula():
    return generated()["snr"]


def test_formula_call_names_missing_and_extra_arguments() -> None:
    """Planted: ``missing`` or ``extra`` replaced by None, ``or`` -> ``and``, the message
    replaced by None."""
    f = _snr_formula()
    with pytest.raises(TypeError, match=r"^snr takes \('alpha_bar',\); missing "
                       r"\{'alpha_bar'\}, extra set\(\)$"):  # fmt: skip
        f()
    with pytest.raises(TypeError, match=r"^snr takes \('alpha_bar',\); missing set\(\), "
                       r"extra \{'beta'\}$"):  # fmt: skip
        f(alpha_bar=0.5, beta=0.1)


@pytest.mark.parametrize("dtype", [np.float32, np.longdouble])
def test_formula_call_computes_in_float64(dtype: type) -> None:
    """Planted: the float64 conversion of the arguments or of the result dropped: a float32
    argument is then computed in float32, a long double one returns a long double."""
    f = _snr_formula()
    x = np.array([0.3, 0.7], dtype=dtype)
    got = f(alpha_bar=x)
    assert got.dtype == np.float64
    want = f(alpha_bar=x.astype(np.float64))
    assert np.array_equal(got, want)


def test_schedule_quantities_refuses_bad_betas() -> None:
    """Planted: ``or`` -> ``and`` in the shape check, the bounds ``(0, 1]`` moved
    (``>= 0``, ``<= 2``, ``|``), the messages garbled or replaced by None."""
    with pytest.raises(ValueError, match=r"^betas must have shape \(T,\); got \(0,\)$"):
        schedule_quantities([])
    with pytest.raises(ValueError, match=r"^betas must have shape \(T,\); got \(1, 2\)$"):
        schedule_quantities([[0.1, 0.2]])
    for bad in ([0.1, 0.0], [0.1, 1.5], [-0.1, 0.5]):
        with pytest.raises(ValueError, match=r"^betas must lie in \(0, 1\]$"):
            schedule_quantities(bad)
    assert schedule_quantities([0.5, 1.0]).alpha_bar[-1] == 0.0


def test_schedule_quantities_in_float64() -> None:
    """Planted: ``np.asarray(betas, dtype=np.float64)`` -> without the dtype: float32 betas
    would give float32 products."""
    b = np.array([1e-4, 0.02, 0.3], dtype=np.float32)
    got = schedule_quantities(b)
    want = schedule_quantities(b.astype(np.float64))
    assert got.alpha_bar.dtype == np.float64
    assert np.array_equal(got.alpha_bar, want.alpha_bar)
    assert np.array_equal(got.one_minus_alpha_bar, want.one_minus_alpha_bar)


def test_schedule_quantities_at_names_the_range() -> None:
    """Planted: the message of ScheduleQuantities.at replaced by None."""
    q = schedule_quantities([0.1, 0.2])
    with pytest.raises(ValueError, match=r"^t must lie in 1..2; got 3$"):
        q.at(3)
