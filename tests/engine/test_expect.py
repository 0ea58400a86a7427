"""Expectations that compare: `minus` subtracts, `lt` bounds a numeric header, XML text meets saved numbers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from contractgate._contract import Expect, JsonAssertion
from contractgate._errors import SetupError, Violation
from contractgate._expect import check_expect, check_json

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


LISTING = {"count": 2, "data": [{"id": 1}, {"id": 2}], "label": "two"}


def test_length_equals_a_count_at_another_path() -> None:
    check_json(LISTING, JsonAssertion.model_validate({"path": "data", "length": "count"}), 200, {})
    with pytest.raises(Violation) as caught:
        check_json({**LISTING, "count": 3}, JsonAssertion.model_validate({"path": "data", "length": "count"}), 200, {})
    assert (caught.value.expected, caught.value.got) == (3, 2)


def test_length_equals_a_saved_count() -> None:
    check_json(LISTING, JsonAssertion.model_validate({"path": "data", "length": "{total}"}), 200, {"total": 2})
    with pytest.raises(Violation, match="wrong length"):
        check_json(LISTING, JsonAssertion.model_validate({"path": "data", "length": "{total}"}), 200, {"total": 1})


def test_length_needs_one_whole_number_to_compare_with() -> None:
    with pytest.raises(Violation, match="no count to compare"):
        check_json(LISTING, JsonAssertion.model_validate({"path": "data", "length": "total"}), 200, {})
    with pytest.raises(Violation, match="not a count"):
        check_json(LISTING, JsonAssertion.model_validate({"path": "data", "length": "label"}), 200, {})


def _answer(remaining: str) -> httpx.Response:
    return httpx.Response(200, headers={"x-remaining-quota-api": remaining}, json={})


def _below(bound: str | float) -> Expect:
    return Expect.model_validate({"headers": {"x-remaining-quota-api": {"lt": bound}}})


def test_lt_passes_a_header_below_the_saved_value() -> None:
    check_expect(_answer("998"), _below("{remaining}"), {"remaining": "999"})


@pytest.mark.parametrize("got", ["999", "1000", "many"])
def test_lt_fails_a_header_not_below_the_saved_value(got: str) -> None:
    with pytest.raises(Violation) as caught:
        check_expect(_answer(got), _below("{remaining}"), {"remaining": "999"})
    assert caught.value.where == "header x-remaining-quota-api"
    assert caught.value.got == got


def test_lt_takes_a_literal_number() -> None:
    check_expect(_answer("4"), _below(5), {})
    with pytest.raises(Violation):
        check_expect(_answer("5"), _below(5), {})


def test_lt_with_a_non_numeric_bound_is_a_setup_error() -> None:
    with pytest.raises(SetupError, match="`lt` needs a number"):
        check_expect(_answer("4"), _below("{remaining}"), {"remaining": "lots"})


def _xml_count(count: str) -> httpx.Response:
    body = f"<ownersResponse><Status>Success</Status><Data><ResultCount>{count}</ResultCount></Data></ownersResponse>"
    return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/xml"})


def test_xml_equals_a_saved_json_number_as_its_text() -> None:
    expect = Expect.model_validate({"xml": [{"path": "Data/ResultCount", "equals": "{count}"}]})
    check_expect(_xml_count("3"), expect, {"count": 3})
    with pytest.raises(Violation) as caught:
        check_expect(_xml_count("4"), expect, {"count": 3})
    assert caught.value.expected == "3"
