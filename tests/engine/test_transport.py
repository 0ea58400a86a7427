"""Live transport guards: no writes without opt-in, 429 honoured on reads only, rate budget."""

from __future__ import annotations

import itertools

import httpx
import pytest

from contractgate._errors import TargetUnreachable, WriteBlocked
from contractgate._transport import RETRY_429, LiveTransport, RateBudget, retry_after_seconds


class Recorder(httpx.BaseTransport):
    """Answers from a script of statuses and remembers every method it saw."""

    def __init__(self, statuses: list[int], retry_after: str | None = "2") -> None:
        self.statuses = statuses
        self.methods: list[str] = []
        self.retry_after = retry_after

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}
        return httpx.Response(status, headers=headers)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_never_leave_without_opt_in(method: str) -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner))
    with pytest.raises(WriteBlocked, match="does not allow writes"):
        client.request(method, "https://prod.example/api/x")
    assert inner.methods == []


def test_reads_pass_and_writes_pass_with_opt_in() -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, allow_writes=True))
    assert client.get("https://h/x").status_code == 200
    assert client.post("https://h/x").status_code == 200
    assert inner.methods == ["GET", "POST"]


def test_429_on_a_read_waits_retry_after_then_retries() -> None:
    slept: list[float] = []
    inner = Recorder([429, 429, 200])
    client = httpx.Client(transport=LiveTransport(inner, sleep=slept.append))
    assert client.get("https://h/x").status_code == 200
    assert inner.methods == ["GET", "GET", "GET"]
    assert slept == [2.0, 2.0]


def test_a_write_is_never_retried() -> None:
    slept: list[float] = []
    inner = Recorder([429, 200])
    client = httpx.Client(transport=LiveTransport(inner, allow_writes=True, sleep=slept.append))
    assert client.post("https://h/x").status_code == 429
    assert inner.methods == ["POST"]
    assert slept == []


def test_a_rule_can_ask_to_see_the_429() -> None:
    inner = Recorder([429, 200])
    client = httpx.Client(transport=LiveTransport(inner, sleep=lambda _: None))
    request = client.build_request("GET", "https://h/x", extensions={RETRY_429: False})
    assert client.send(request).status_code == 429


def test_retry_after_beyond_the_cap_is_returned_not_waited() -> None:
    inner = Recorder([429], retry_after="3600")
    client = httpx.Client(transport=LiveTransport(inner, max_wait=60, sleep=lambda _: pytest.fail("slept")))
    assert client.get("https://h/x").status_code == 429


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_rate_budget_spaces_requests() -> None:
    slept: list[float] = []
    budget = RateBudget(rate=10)
    for _ in range(4):
        budget.wait(slept.append)
    # The clock does not move while nobody really sleeps, so each request waits one more slot.
    assert len(slept) == 3
    assert [round(b - a, 2) for a, b in itertools.pairwise(slept)] == [0.1, 0.1]


def test_unreachable_target_is_a_setup_error() -> None:
    client = httpx.Client(transport=LiveTransport(), timeout=2)
    with pytest.raises(TargetUnreachable, match="unreachable"):
        client.get("http://127.0.0.1:9/x")
