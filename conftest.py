"""Root conftest: makes a bare `pytest` here run the contract suites and the engine's tests."""

from __future__ import annotations

import os
from importlib.metadata import entry_points

from hypothesis import HealthCheck, settings

# Installed with `pip install -e .`, the plugin arrives through its pytest11 entry point; from a bare
# source checkout (PYTHONPATH=src) it has to be named here instead.
if not any(ep.name == "contractgate" for ep in entry_points(group="pytest11")):
    pytest_plugins = ["contractgate.pytest_plugin"]

settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=50, database=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")
