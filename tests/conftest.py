"""Shared test configuration.

* Hypothesis profiles (docs/verification.md rule 6): ``ci`` is derandomised and is
  active under ``CI=true``; ``thorough`` explores many more examples with random
  seeds; ``dev`` is the default.  ``HYPOTHESIS_PROFILE`` overrides.
* Statistical tests (marker ``statistical``: a check whose outcome depends on the
  random draws, with a stated false-alarm rate) take their seed from Hypothesis
  (``seed=seeds()`` in ``@given``) or from the ``seed`` fixture below.  Both are
  fixed under the derandomised ``ci`` profile (deterministic CI) and fresh under
  ``thorough`` / ``dev``, so the thorough run really tests the false-alarm rates.
  The fixture's seed is shown in the report of a failing test; ``DDPM_THEORY_SEED=S``
  reruns every fixture-seeded test with seed ``S``.  Collection fails when a
  ``statistical`` test has no seed input, or a test using the fixture is unmarked.
* torch runs on one thread: on a 2-core machine two threads collapse when the
  other core is busy.
"""

from __future__ import annotations

import inspect
import os
import secrets
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# shared test helpers (strategies.py, ...) import as top-level modules; test files are
# imported with --import-mode=importlib, so equal basenames in two folders do not clash
_here = Path(__file__).parent
sys.path[:0] = [str(_here)] + sorted(str(p) for p in _here.iterdir() if p.is_dir()
                                     and not p.name.startswith((".", "_")))

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=25,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=25)
settings.register_profile(
    "thorough",
    deadline=None,
    max_examples=400,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow],
)
_default = "ci" if os.environ.get("CI", "").lower() == "true" else "dev"
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", _default))

SEED_ENV = "DDPM_THEORY_SEED"
_SEED_KEY = pytest.StashKey[int]()


@pytest.fixture
def seed(request: pytest.FixtureRequest) -> int:
    """The seed of a statistical test, a 32-bit integer (docs/verification.md, rule 1).

    In order: ``DDPM_THEORY_SEED`` if set (every such test gets that seed); else, with
    ``--hypothesis-seed S``, the CRC-32 of S and the test's id (a whole run reproducible
    from S); else, under a derandomised profile (``ci``), the CRC-32 of the test's id
    (fixed, and each test has its own draws); else fresh OS entropy (``thorough``, ``dev``).
    """
    env = os.environ.get(SEED_ENV, "").strip()
    hyp_seed = request.config.getoption("--hypothesis-seed", default=None)
    if env:
        try:
            value = int(env) % 2**32
        except ValueError:
            raise pytest.UsageError(f"{SEED_ENV} must be an integer; got {env!r}") from None
    elif hyp_seed is not None:
        value = zlib.crc32(f"{hyp_seed}:{request.node.nodeid}".encode())
    elif settings().derandomize:
        value = zlib.crc32(request.node.nodeid.encode())
    else:
        value = secrets.randbits(32)
    request.node.stash[_SEED_KEY] = value
    return value


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failing fixture-seeded test names its seed and how to rerun with it."""
    outcome = yield
    rep = outcome.get_result()
    value = item.stash.get(_SEED_KEY, None)
    if rep.failed and value is not None:
        rep.sections.append(("statistical seed",
                             f"seed = {value}; rerun with {SEED_ENV}={value}"))


def _has_seed_input(item: pytest.Item) -> bool:
    """The test takes the ``seed`` fixture, or is a Hypothesis test with a ``seed`` argument."""
    if "seed" in getattr(item, "fixturenames", ()):
        return True
    fn = getattr(item, "obj", None)
    inner = getattr(getattr(fn, "hypothesis", None), "inner_test", None)
    return inner is not None and "seed" in inspect.signature(inner).parameters


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Statistical tests have a seed input (and only they use the fixture); GPU tests
    skip cleanly on a machine without CUDA."""
    unseeded = [i.nodeid for i in items if "statistical" in i.keywords and not _has_seed_input(i)]
    unmarked = [i.nodeid for i in items if "statistical" not in i.keywords
                and "seed" in getattr(i, "fixturenames", ())]
    if unseeded or unmarked:
        raise pytest.UsageError(
            "statistical tests must vary with the seed and seeded tests must be marked: "
            f"marked 'statistical' without a seed input: {unseeded}; using the seed "
            f"fixture without the 'statistical' marker: {unmarked}")
    gpu = [item for item in items if "gpu" in item.keywords]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device; none is available here")
    for item in gpu:
        item.add_marker(skip)

# the `pytester` fixture, for the tests of the pytest plugin (ddpm_theory.testing.plugin)
pytest_plugins = ["pytester"]
