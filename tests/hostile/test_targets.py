"""Every run is bounded in time, bytes and requests, whatever the target does; none of it is ever a pass.

Each test runs the whole command line (`contractgate run`) with the mini contract against one misbehaving
loopback target, with small bounds so it stays fast: timeout 0.5 s, deadline 2 s, body cap 1 MiB.
"""

from __future__ import annotations

import gzip
import http.server
import tracemalloc
from pathlib import Path

import pytest

from contractgate._bounds import BREAKER_THRESHOLD
from tests.hostile._server import Seen, hang, hostile_server, run_mini, send_json

CAP = 1 << 20
TIMEOUT, DEADLINE = 0.5, 2.0
SMALL: dict[str, object] = {"timeout": TIMEOUT, "deadline": DEADLINE, "max_body_bytes": CAP}
SLACK = 3.0  # seconds of start-up and bookkeeping a run may add to its bounds on a busy machine
HUGE = 48 << 20  # what a hostile target offers: 48 times the cap
MEMORY = 8 << 20  # peak Python allocations while a capped answer is read (cap, one join, chunks, overhead)
VALID = b'{"items": [{"id": 1}, {"id": 2}]}'


def _trickle(request: http.server.BaseHTTPRequestHandler, data: bytes, interval: float = 0.2) -> None:
    for byte in data:
        if hang(request, interval):
            return
        request.wfile.write(bytes([byte]))


def test_never_answers_opens_the_breaker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        hang(request)

    with hostile_server(never) as server:
        run = run_mini(server.url, tmp_path, monkeypatch, **SMALL)
    assert run.exit_code == 2
    assert [rule["status"] for rule in run.rules] == ["error"] * 6
    assert len(server.seen) == BREAKER_THRESHOLD  # every later rule ended without sending
    assert [run.message(rule["id"]).startswith("target ") for rule in run.rules[BREAKER_THRESHOLD:]] == [True] * 3
    assert "not answering" in run.message("MINI-SEC-001")
    assert run.seconds < BREAKER_THRESHOLD * TIMEOUT + SLACK


@pytest.mark.parametrize("where", ["body", "headers"])
def test_one_byte_at_a_time_ends_at_the_deadline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Each byte comes well within the read timeout, so only a total deadline ends the request."""

    def trickle(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(VALID)}\r\n\r\n"
        if where == "headers":
            _trickle(request, head.encode() + VALID)
            return
        request.wfile.write(head.encode())
        _trickle(request, VALID)

    with hostile_server(trickle) as server:
        run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
    assert run.status("MINI-AUTH-001") == "error"
    assert f"within its {DEADLINE:g}s deadline" in run.message("MINI-AUTH-001")
    assert run.exit_code == 2
    assert run.seconds < DEADLINE + SLACK


def _stream(
    request: http.server.BaseHTTPRequestHandler, sent: list[int], *, chunked: bool, announce: bool = False
) -> None:
    """Offer HUGE bytes of JSON-ish filler; `sent` counts what actually left before the client hung up."""
    request.send_response(200)
    request.send_header("Content-Type", "application/json")
    if chunked:
        request.send_header("Transfer-Encoding", "chunked")
    elif announce:
        request.send_header("Content-Length", str(HUGE))
    else:
        request.send_header("Connection", "close")  # the body ends when the connection does
    request.end_headers()
    block = b" " * (64 << 10)
    while sum(sent) < HUGE and not hang(request, 0):
        request.wfile.write(b"%x\r\n%s\r\n" % (len(block), block) if chunked else block)
        sent.append(len(block))
    if chunked:
        request.wfile.write(b"0\r\n\r\n")


def _bounded_by_the_cap(run_status: str, message: str, sent: list[int], peak: int) -> None:
    assert run_status == "failed"  # an oversize answer is a violation of the rule that asked
    assert "1 MiB body cap" in message
    assert "defaults.max_body_bytes" in message
    assert sum(sent) < HUGE // 2, f"{sum(sent)} bytes were pulled from the target"
    assert peak < MEMORY, f"peak memory {peak} bytes"


def test_endless_chunked_body_is_cut_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    with hostile_server(lambda request, seen: _stream(request, sent, chunked=True)) as server:
        tracemalloc.start()
        try:
            run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    _bounded_by_the_cap(run.status("MINI-AUTH-001"), run.message("MINI-AUTH-001"), sent, peak)
    assert run.exit_code == 1
    assert run.seconds < DEADLINE + SLACK


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "until-close"])
def test_huge_body_is_read_only_up_to_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, announce: bool) -> None:
    sent: list[int] = []
    with hostile_server(lambda request, seen: _stream(request, sent, chunked=False, announce=announce)) as server:
        tracemalloc.start()
        try:
            run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    _bounded_by_the_cap(run.status("MINI-AUTH-001"), run.message("MINI-AUTH-001"), sent, peak)
    assert run.exit_code == 1
    assert run.seconds < DEADLINE + SLACK


def test_compression_bomb_is_cut_at_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """About 50 KiB on the wire, 48 MiB once httpx decodes it."""
    bomb = gzip.compress(b" " * HUGE, compresslevel=9)
    sent = [len(bomb)]

    def inflating(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        send_json(request, 200, bomb, Content_Encoding="gzip")

    with hostile_server(inflating) as server:
        tracemalloc.start()
        try:
            run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    _bounded_by_the_cap(run.status("MINI-AUTH-001"), run.message("MINI-AUTH-001"), sent, peak)
    assert "once decompressed (gzip)" in run.rules[0]["got"]
    assert run.exit_code == 1
    assert run.seconds < DEADLINE + SLACK


def test_record_mode_never_stores_more_than_the_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[int] = []
    with hostile_server(lambda request, seen: _stream(request, sent, chunked=True)) as server:
        run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", mode="record", **SMALL)
    assert run.status("MINI-AUTH-001") == "failed"
    assert run.exit_code == 1
    cassette = tmp_path / "cassettes" / "mini" / "MINI-AUTH-001.json"
    assert cassette.is_file()
    assert cassette.stat().st_size <= CAP
    assert run.seconds < DEADLINE + SLACK


def test_invalid_json_is_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with hostile_server(lambda request, seen: send_json(request, 200, b'{"items": [{"id": 1}, {"id"')) as server:
        run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
    assert run.status("MINI-AUTH-001") == "failed"
    assert run.exit_code == 1
    assert run.seconds < SLACK


def test_wrong_content_type_is_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login portal or proxy page instead of the API: 200, but HTML."""
    page = b"<html><body><form action='/login'>Sign in</form></body></html>"
    with hostile_server(lambda request, seen: send_json(request, 200, page, content_type="text/html")) as server:
        run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
    assert run.status("MINI-AUTH-001") == "failed"
    assert run.exit_code == 1
    assert run.seconds < SLACK


def test_429_with_a_huge_retry_after_is_not_waited_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def throttled(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        send_json(request, 429, b'{"title": "Too Many Requests"}', Retry_After="86400")

    with hostile_server(throttled) as server:
        run = run_mini(server.url, tmp_path, monkeypatch, "MINI-AUTH-001", **SMALL)
    assert run.status("MINI-AUTH-001") != "passed"
    assert run.exit_code != 0
    assert len(server.seen) == 1  # no retry: a day is beyond the transport's max_wait
    assert run.seconds < SLACK
