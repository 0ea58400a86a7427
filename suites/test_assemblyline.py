"""The assemblyline contract: one test item per rule (replay by default; --cg-mode live|record)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contractgate.pytest_plugin import rule_params

VENDOR = "assemblyline"


@pytest.mark.parametrize("rule_id", rule_params(VENDOR))
def test_rule(rule_id: str, contractgate_check: Callable[[str, str], object]) -> None:
    """The vendor conforms to this documented rule."""
    contractgate_check(VENDOR, rule_id)
