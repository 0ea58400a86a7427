"""Header expectations: `lt` compares a numeric header with a number or a value an earlier step saved."""

from __future__ import annotations

import httpx
import pytest

from contractgate._contract import Expect
from contractgate._errors import SetupError, Violation
from contractgate._expect import check_expect


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
