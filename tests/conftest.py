"""Shared test configuration.

* Hypothesis profiles (VERIFICATION.md rule 6): ``ci`` is derandomised and is
  active under ``CI=true``; ``thorough`` explores many more examples with random
  seeds; ``dev`` is the default.  ``HYPOTHESIS_PROFILE`` overrides.
* torch runs on one thread: on a 2-core machine two threads collapse when the
  other core is busy.
"""

from __future__ import annotations

import os
import sys
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


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(1)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """GPU tests skip cleanly on a machine without CUDA."""
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
