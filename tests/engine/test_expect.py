"""JSON assertions with arithmetic: `minus` subtracts a body value or a saved one before the checks."""

from __future__ import annotations

from typing import Any

import pytest

from contractgate._contract import JsonAssertion
from contractgate._errors import Violation
from contractgate._expect import check_json

ENTRY = {"last_report": 1_700_000_000_000, "expiry": 1_700_000_600_000, "total_reports": 3, "tags": ["A"]}


def _check(assertion: dict[str, Any], variables: dict[str, Any] | None = None) -> None:
    check_json(ENTRY, JsonAssertion.model_validate(assertion), 200, variables or {})


def test_minus_a_path_of_the_same_body() -> None:
    _check({"path": "expiry", "minus": "last_report", "equals": 600_000})
    with pytest.raises(Violation) as caught:
        _check({"path": "expiry", "minus": "last_report", "equals": 300_000})
    assert caught.value.got == 600_000


def test_minus_a_saved_value() -> None:
    _check({"path": "total_reports", "minus": "{before}", "equals": 1}, {"before": 2})
    _check({"path": "last_report", "minus": "{first}", "gte": 0}, {"first": 1_699_999_999_000})
    with pytest.raises(Violation):
        _check({"path": "total_reports", "minus": "{before}", "equals": 1}, {"before": 1})


def test_minus_needs_one_number_on_each_side() -> None:
    with pytest.raises(Violation, match="nothing to subtract"):
        _check({"path": "expiry", "minus": "created_at", "equals": 0})
    with pytest.raises(Violation, match="not numbers"):
        _check({"path": "expiry", "minus": "tags", "equals": 0})
    with pytest.raises(Violation, match="not numbers"):
        _check({"path": "tags", "minus": "expiry", "equals": 0})
