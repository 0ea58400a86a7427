"""Kind `quota`: the wait a refusal announces is held to the instant the quota read gave."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from contractgate._errors import Violation
from contractgate.checks._quota import QuotaParams, WaitUntil, check_wait

DATE = "Sat, 05 Dec 2026 07:33:39 GMT"  # 1796456019 s since the epoch
READ = {"refresh": 1_796_456_079_000}  # 60 s after DATE, in milliseconds
WAIT = WaitUntil(until="refresh")


def _refusal(retry_after: str | None, date: str | None = DATE) -> httpx.Response:
    headers = {key: value for key, value in (("Retry-After", retry_after), ("Date", date)) if value is not None}
    return httpx.Response(429, headers=headers)


@pytest.mark.parametrize("retry_after", ["60", "59", "62"])
def test_a_wait_equal_to_the_time_left_holds_within_the_slack(retry_after: str) -> None:
    check_wait(_refusal(retry_after), READ, WAIT)


@pytest.mark.parametrize("retry_after", ["60000", "1", "63"])
def test_a_wait_in_another_unit_or_far_from_the_time_left_fails(retry_after: str) -> None:
    with pytest.raises(Violation, match="not the time left until refresh") as caught:
        check_wait(_refusal(retry_after), READ, WAIT)
    assert caught.value.where == "header Retry-After"
    assert caught.value.got == int(retry_after)


def test_the_instant_unit_and_slack_are_parameters() -> None:
    in_seconds = {"refresh": 1_796_456_079}
    check_wait(_refusal("60"), in_seconds, WaitUntil(until="refresh", per_second=1))
    with pytest.raises(Violation):
        check_wait(_refusal("62"), READ, WaitUntil(until="refresh", slack=0))


def test_a_wait_that_is_no_number_or_a_refusal_without_date_fails() -> None:
    with pytest.raises(Violation, match="not whole seconds"):
        check_wait(_refusal("soon"), READ, WAIT)
    with pytest.raises(Violation, match="no Date"):
        check_wait(_refusal("60", date=None), READ, WAIT)
    with pytest.raises(Violation, match="not an integer"):
        check_wait(_refusal("60"), {"refresh": "later"}, WAIT)


def test_a_wait_relation_needs_a_read() -> None:
    base = {"limit": 3, "request": {"path": "/x"}, "expect": {"status": 429}, "wait": {"until": "refresh"}}
    with pytest.raises(ValidationError, match="`wait` needs a `read`"):
        QuotaParams.model_validate(base)
    assert QuotaParams.model_validate({**base, "read": {"path": "/quota"}}).wait == WAIT
