"""Schedules: the sigmoid schedule against its source, provenance (names and parameters),
and the errors that name bad input. Written against the survivors of mutation testing
(mutation/run.py); each docstring names the planted error it catches."""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import special

from ddpm_theory.backend import schedule as sched
from ddpm_theory.backend.schedule import Schedule, ScheduleError, get_schedule

NON_DEFAULT = {
    "linear": {"beta_start": 2e-4, "beta_end": 0.03, "scale_to_T": True},
    "quadratic": {"beta_start": 2e-4, "beta_end": 0.03, "scale_to_T": False},
    "cosine": {"s": 0.01, "max_beta": 0.9},
    "sigmoid": {"start": -2.0, "end": 4.0, "tau": 0.7, "max_beta": 0.95},
}


def test_sigmoid_schedule_is_chen_2023_algorithm_1() -> None:
    """Planted: ``start / tau`` or ``end / tau`` -> ``* tau``, or the ramp
    ``(u (end - start) + start) / tau`` -> ``* tau``: the schedule of Chen 2023, "On the
    Importance of Noise Scheduling for Diffusion Models", Algorithm 1 (without clip_min),
    ᾱ(u) = (σ(end/τ) − σ((u(end − start) + start)/τ)) / (σ(end/τ) − σ(start/τ)),
    β_t = min(1 − ᾱ(t/T)/ᾱ((t−1)/T), max_beta), recomputed here with scipy's expit."""
    T, start, end, tau, max_beta = 40, -2.0, 4.0, 0.7, 0.95
    u = np.arange(T + 1) / T
    v_start, v_end = special.expit(start / tau), special.expit(end / tau)
    ab = (v_end - special.expit((u * (end - start) + start) / tau)) / (v_end - v_start)
    want = np.minimum(1.0 - ab[1:] / ab[:-1], max_beta)
    got = Schedule.sigmoid(T, start=start, end=end, tau=tau, max_beta=max_beta)
    np.testing.assert_allclose(got.betas, want, rtol=1e-12)


@pytest.mark.parametrize(("start", "end", "tau"), [(1.0, 1.0, 1.0), (-3.0, 3.0, 0.0)])
def test_sigmoid_refuses_an_empty_ramp(start: float, end: float, tau: float) -> None:
    """Planted: ``end > start`` -> ``>=``, ``tau > 0`` -> ``>= 0``."""
    with pytest.raises(ValueError, match=r"^sigmoid needs end > start and tau > 0; got "):
        Schedule.sigmoid(10, start=start, end=end, tau=tau)


@pytest.mark.parametrize("name", sorted(NON_DEFAULT))
def test_named_schedules_record_their_name_and_arguments(name: str) -> None:
    """Planted: a parameter's key garbled (``"XXsXX"``, ``"BETA_END"``), the params left
    out of ``cls(betas, name, params)``, or get_schedule dropping ``**params``: the recorded
    provenance must rebuild the same schedule (checkpoints store it)."""
    s = get_schedule(name, 30, **NON_DEFAULT[name])
    assert s.name == name
    assert s.params == NON_DEFAULT[name]
    assert s.spec() == {"name": name, "params": NON_DEFAULT[name], "T": 30}
    assert np.array_equal(get_schedule(s.name, s.T, **s.params).betas, s.betas)
    assert not np.array_equal(get_schedule(name, 30).betas, s.betas)
    assert sched._named(name) == getattr(Schedule, name)


def test_repr_shows_the_constructor_call() -> None:
    """Planted: the argument list of __repr__ dropped, its separator garbled, or the
    ``if args`` switch inverted."""
    assert repr(Schedule.cosine(8, s=0.01, max_beta=0.9)) == (
        "Schedule.cosine(T=8, s=0.01, max_beta=0.9)")
    assert repr(Schedule.from_betas([0.1, 0.2])) == "Schedule.from_betas(T=2)"


def test_schedules_from_arrays_are_named_and_have_no_parameters() -> None:
    """Planted: the default names "from_betas" / "from_alpha_bar" garbled, the name or the
    empty params dropped."""
    a = Schedule.from_betas([0.1, 0.2])
    b = Schedule.from_alpha_bar([0.9, 0.72])
    assert (a.name, a.params, b.name, b.params) == ("from_betas", {}, "from_alpha_bar", {})
    assert Schedule.from_alpha_bar([0.5], name="mine").name == "mine"
    np.testing.assert_allclose(b.betas, [0.1, 0.2], rtol=1e-15)


@pytest.mark.parametrize(
    ("alpha_bar", "match"),
    [
        ([[0.5]], r"^alpha_bar must be a non-empty 1-D array; got shape \(1, 1\)\.$"),
        ([], r"^alpha_bar must be a non-empty 1-D array; got shape \(0,\)\.$"),
        ([1.5, 0.5], r"^alpha_bar must be finite and in \[0, 1\]; got 1.5 at index 0\.$"),
        ([1.0, 0.5], r"^alpha_bar must decrease strictly from alpha_bar_0 = 1; index 0 "),
        ([0.5, 0.5], r"^alpha_bar must decrease strictly from alpha_bar_0 = 1; index 1 "
                     r"\(t = 2\) has 0.5 >= 0.5\.$"),
    ],
)  # fmt: skip
def test_from_alpha_bar_names_the_bad_entry(alpha_bar: list, match: str) -> None:
    """Planted: ``or`` -> ``and`` / ``size == 1`` in the shape check, ``ab > 1`` -> ``>= 1``
    / ``> 2``, ``ab >= prev`` -> ``>`` (an equal neighbour let through to a zero beta)."""
    with pytest.raises(ScheduleError, match=match):
        Schedule.from_alpha_bar(alpha_bar)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beta_start": 0.0}, r"^beta_start must be a number in \(0, 1\]; got 0.0\.$"),
        ({"beta_end": 1.5}, r"^beta_end must be a number in \(0, 1\]; got 1.5\.$"),
        ({"beta_end": "0.02"}, r"^beta_end must be a number in \(0, 1\]; got '0.02'\.$"),
        ({"beta_start": float("nan")}, r"^beta_start must be a number in \(0, 1\]; got nan\.$"),
    ],
)  # fmt: skip
def test_linear_ends_are_checked_by_name(kwargs: dict, match: str) -> None:
    """Planted: the ends' names garbled, an ``and`` of the check made ``or``, the bounds
    ``0 < v <= 1`` moved (``<=``, ``< 1``, ``<= 2``), the message replaced by None."""
    with pytest.raises(ScheduleError, match=match):
        Schedule.linear(10, **kwargs)


def test_linear_accepts_beta_one_at_a_single_step() -> None:
    """Planted: ``v <= 1.0`` -> ``v < 1.0``: beta_end = 1 is a valid end (zero terminal SNR)."""
    s = Schedule.linear(1, beta_start=1.0, beta_end=1.0)
    assert s.zero_terminal_snr


def test_underflow_and_resolution_errors_name_the_step() -> None:
    """Planted: the step or index in the messages shifted (``i + 1`` -> ``i + 2``,
    ``i - 1`` -> ``i + 1``, ``ab[i - 1]`` -> ``ab[i - 2]``), the log value dropped."""
    betas = np.full(400, 0.99)
    ab = np.exp(np.cumsum(np.log1p(-betas)))
    i = int(np.flatnonzero(np.diff(ab) >= 0)[0]) + 1
    log_ab = float(np.cumsum(np.log1p(-betas))[i])
    with pytest.raises(ScheduleError, match=(
            rf"^alpha_bar underflows float64 at t = {i + 1} \(log alpha_bar = "
            rf"{re.escape(f'{log_ab:.4g}')}; the smallest float64 is about e\^-745\): the signal "
            r"is destroyed long before T = 400\. Use fewer steps or smaller betas \(for "
            r"alpha_bar_T = 0 exactly, use rescale_zero_terminal_snr\)\.$")):  # fmt: skip
        Schedule(betas)
    with pytest.raises(ScheduleError, match=(
            r"^alpha_bar must decrease strictly; alpha_bar\[2\] = 0.25 does not fall below "
            r"alpha_bar\[1\] = 0.25 \(index 2, t = 3\): beta_t = 1e-20 is below float64 ")):
        Schedule(np.array([0.5, 0.5, 1e-20]))


def test_beta_validation_names_the_array_convention() -> None:
    """Planted: the label passed to BETA.validate (which says how the array is indexed)
    dropped, replaced or garbled."""
    with pytest.raises(ScheduleError, match=r"beta_t \(array index i is timestep t = i \+ 1\)"):
        Schedule(np.array([0.1, -0.2]))


def test_zero_terminal_snr_rescale_records_its_provenance() -> None:
    """Planted: the rescaled schedule's name suffix or its params ("base",
    "zero_terminal_snr": True) garbled, or the params dropped."""
    base = Schedule.linear(20)
    z = base.rescale_zero_terminal_snr()
    assert z.name == "linear_zero_terminal_snr"
    assert z.params == {**base.params, "base": "linear", "zero_terminal_snr": True}


def test_respaced_schedule_records_its_base() -> None:
    """Planted: the respaced schedule's name "respaced" or its params' keys garbled."""
    base = Schedule.cosine(50, s=0.01)
    sub = base.respace(5).schedule
    assert sub.name == "respaced"
    assert sub.params == {"base": "cosine", "base_params": base.params, "base_T": 50}


def test_respace_names_the_type_of_a_bad_k() -> None:
    """Planted: ``type(K).__name__`` -> ``type(None).__name__`` in the message."""
    with pytest.raises(TypeError, match=r"of type str\.$"):
        Schedule.linear(10).respace("3")  # type: ignore[arg-type]


def test_derived_arrays_are_stored_under_their_names() -> None:
    """Planted: ``alphas = 1 - b`` changed (``1 + b``, ``2 - b``, None) or a field stored
    under a garbled name ("XXalphasXX", "BETAS", "PARAMS"), so the attribute keeps the
    placeholder of the dataclass."""
    params = {"note": 1}
    s = Schedule(np.array([0.1, 0.2, 0.3]), "custom", params)
    assert np.array_equal(s.alphas, [0.9, 0.8, 0.7])
    assert np.array_equal(s.betas, [0.1, 0.2, 0.3]) and not s.betas.flags.writeable
    assert s.params == params and s.params is not params


def test_float32_betas_are_accumulated_in_float64() -> None:
    """Planted: ``np.asarray(self.betas, dtype=np.float64)`` without the dtype: float32
    betas would be accumulated (log1p, cumsum) in float32."""
    b32 = np.linspace(1e-4, 0.02, 200, dtype=np.float32)
    got = Schedule(b32)
    want = Schedule(b32.astype(np.float64))
    assert got.alpha_bar.dtype == np.float64
    assert np.array_equal(got.alpha_bar, want.alpha_bar)
    assert np.array_equal(got.log_snr, want.log_snr)


def test_the_betas_are_a_read_only_float64_copy() -> None:
    """Planted: the checked betas stored under another name (``put(self, "BETAS", ...)``):
    the schedule would keep the caller's own list or array. Found with it: the schedule set
    the caller's own float64 array read-only (no copy was made); it now keeps a copy."""
    given = np.array([0.1, 0.2, 0.3])
    s = Schedule(given)
    assert given.flags.writeable  # the caller's array is left as it was
    given[0] = 0.9
    assert s.betas[0] == 0.1 and s.betas.dtype == np.float64
    assert not s.betas.flags.writeable
    listed = Schedule([0.1, 0.2, 0.3])
    assert isinstance(listed.betas, np.ndarray) and not listed.betas.flags.writeable
