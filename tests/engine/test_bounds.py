"""The bounding layer on its own: body cap, total deadline, circuit breaker, and their defaults."""

from __future__ import annotations

import gzip
import http.server
import time
import zlib
from collections.abc import Callable, Iterator

import httpx
import pydantic
import pytest

from contractgate._bounds import (
    BREAKER_THRESHOLD,
    DEADLINE_FACTOR,
    BoundedTransport,
    Breaker,
    Breakers,
    Limits,
    deadline_http_transport,
)
from contractgate._contract import Defaults
from contractgate._errors import BodyTooLarge, DeadlineExceeded, TargetNotAnswering, TargetUnreachable, Violation
from tests.hostile._server import Seen, hang, hostile_server

CAP = 256 << 10
BLOCK = 64 << 10


class Endless(httpx.SyncByteStream):
    """A body that never ends; `pulled` counts the bytes anyone asked it for."""

    def __init__(self) -> None:
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        while True:
            self.pulled += BLOCK
            yield b" " * BLOCK


def _bounded(
    handler: httpx.MockTransport, limits: Limits | None = None, breakers: Breakers | None = None
) -> httpx.Client:
    limits = limits or Limits(max_body_bytes=CAP, deadline=5.0)
    return httpx.Client(transport=BoundedTransport(handler, limits, breakers or Breakers()))


def test_defaults_document_the_bounds() -> None:
    defaults = Defaults()
    assert defaults.max_body_bytes == 16 * 1024 * 1024
    assert defaults.deadline is None
    assert Limits.of(defaults.timeout, defaults.deadline, defaults.max_body_bytes).deadline == 30.0
    assert DEADLINE_FACTOR == 3.0
    assert Limits.of(10.0, 4.0, 1).deadline == 4.0
    with pytest.raises(pydantic.ValidationError):
        Defaults(max_body_bytes=0)
    with pytest.raises(pydantic.ValidationError):
        Defaults(deadline=0)


def test_an_endless_body_is_pulled_only_up_to_the_cap() -> None:
    body = Endless()
    client = _bounded(httpx.MockTransport(lambda request: httpx.Response(200, stream=body)))
    with pytest.raises(BodyTooLarge) as raised:
        client.get("http://target.invalid/items")
    assert isinstance(raised.value, Violation)  # a violation of the rule that asked, not a crash
    assert "256 KiB body cap" in raised.value.message
    assert "defaults.max_body_bytes" in raised.value.message
    assert raised.value.where == "body"
    assert CAP < body.pulled <= CAP + BLOCK


def test_an_announced_length_over_the_cap_is_refused_before_reading() -> None:
    body = Endless()
    response = httpx.Response(200, headers={"Content-Length": str(CAP + 1)}, stream=body)
    client = _bounded(httpx.MockTransport(lambda request: response))
    with pytest.raises(BodyTooLarge, match="body cap") as raised:
        client.get("http://target.invalid/items")
    assert raised.value.got == f"Content-Length {CAP + 1}"
    assert body.pulled == 0


def test_a_body_within_the_cap_passes_unchanged() -> None:
    content = b"x" * CAP
    client = _bounded(httpx.MockTransport(lambda request: httpx.Response(200, content=content)))
    response = client.get("http://target.invalid/items")
    assert response.content == content
    assert response.status_code == 200


def test_a_slow_body_ends_at_the_deadline() -> None:
    def slow() -> Iterator[bytes]:
        while True:
            time.sleep(0.05)
            yield b" "

    class Slow(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            return slow()

    breakers = Breakers()
    client = _bounded(
        httpx.MockTransport(lambda request: httpx.Response(200, stream=Slow())),
        Limits(max_body_bytes=CAP, deadline=0.3),
        breakers,
    )
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match=r"within its 0\.3s deadline"):
        client.get("http://target.invalid/items")
    assert time.monotonic() - started < 1.0
    assert breakers.get("http://target.invalid").failures == 1


def test_the_deadline_covers_headers_that_trickle() -> None:
    """httpx's timeout is per read: only the deadline-bound sockets end a trickle of header bytes."""

    def trickle(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        for byte in b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * 100:
            if hang(request, 0.05):
                return
            request.wfile.write(bytes([byte]))

    with hostile_server(trickle) as server:
        transport = BoundedTransport(deadline_http_transport(), Limits(CAP, deadline=0.5), Breakers())
        with httpx.Client(transport=transport, timeout=0.3) as client:
            started = time.monotonic()
            with pytest.raises(DeadlineExceeded):
                client.get(server.url + "/items")
            assert time.monotonic() - started < 1.5


def test_a_plain_timeout_says_so_and_counts_against_the_target() -> None:
    def never(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        hang(request)

    with hostile_server(never) as server:
        breakers = Breakers()
        transport = BoundedTransport(deadline_http_transport(), Limits(CAP, deadline=5.0), breakers)
        with (
            httpx.Client(transport=transport, timeout=0.2) as client,
            pytest.raises(TargetUnreachable, match=r"no answer within the 0\.2s timeout"),
        ):
            client.get(server.url + "/items")
        assert breakers.get(server.origin).failures == 1


def test_the_breaker_opens_after_consecutive_failures_and_stays_open() -> None:
    breaker = Breaker()
    for _ in range(BREAKER_THRESHOLD - 1):
        breaker.failure("ReadTimeout")
    breaker.success()
    assert breaker.failures == 0  # an answer breaks the streak
    for _ in range(BREAKER_THRESHOLD):
        breaker.failure("ReadTimeout")
    breaker.success()
    assert breaker.open


def test_an_open_breaker_sends_nothing() -> None:
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        raise httpx.ConnectError("refused", request=request)

    breakers = Breakers()
    client = _bounded(httpx.MockTransport(refuse), breakers=breakers)
    for _ in range(BREAKER_THRESHOLD):
        with pytest.raises(httpx.ConnectError):
            client.get("http://target.invalid/items")
    with pytest.raises(TargetNotAnswering, match=r"target http://target\.invalid not answering"):
        client.get("http://target.invalid/other")
    assert len(sent) == BREAKER_THRESHOLD
    with pytest.raises(httpx.ConnectError):  # another origin has its own breaker
        client.get("http://elsewhere.invalid/items")


@pytest.mark.parametrize(
    ("coding", "compress"),
    [
        ("gzip", lambda data: gzip.compress(data)),
        ("deflate", lambda data: zlib.compress(data)),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),  # raw deflate, as httpx accepts
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
    ],
    ids=["gzip", "deflate", "raw-deflate", "gzip-twice"],
)
def test_a_compression_bomb_is_cut_at_the_cap(coding: str, compress: Callable[[bytes], bytes]) -> None:
    bomb = compress(b"\0" * (16 << 20))
    assert len(bomb) < CAP  # small on the wire, 16 MiB once decoded
    client = _bounded(
        httpx.MockTransport(lambda r: httpx.Response(200, headers={"Content-Encoding": coding}, content=bomb))
    )
    with pytest.raises(BodyTooLarge, match="body cap") as raised:
        client.get("http://target.invalid/items")
    assert "once decompressed" in str(raised.value.got)


def test_a_compressed_body_within_the_cap_decodes_unchanged() -> None:
    data = b'{"items": [1, 2]}' * 1000
    packed = gzip.compress(data)
    client = _bounded(
        httpx.MockTransport(lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=packed))
    )
    assert client.get("http://target.invalid/items").content == data
