"""Misbehaving targets for the safety tests: a stdlib HTTP server on 127.0.0.1 driven by one handler function."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["Handler", "HostileServer", "Seen", "hostile_server", "send_json"]


@dataclass(frozen=True)
class Seen:
    """One request as the hostile server received it (headers lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Handler = Callable[[http.server.BaseHTTPRequestHandler, Seen], None]


@dataclass
class HostileServer:
    """A running hostile server: its base URL and every request it received."""

    url: str
    seen: list[Seen] = field(default_factory=list)

    @property
    def origin(self) -> str:
        """scheme://host:port, without any path."""
        return "/".join(self.url.split("/", 3)[:3])


def _request_class(handler: Handler, seen: list[Seen]) -> type[http.server.BaseHTTPRequestHandler]:
    class _Request(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            seen.append(request)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up, as it should
                handler(self, request)

        do_GET = do_HEAD = do_OPTIONS = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests read `seen`, not the log."""

    return _Request


@contextlib.contextmanager
def hostile_server(handler: Handler, path: str = "") -> Iterator[HostileServer]:
    """Serve `handler` on an ephemeral loopback port until the block ends; `path` is appended to the base URL."""
    seen: list[Seen] = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _request_class(handler, seen))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield HostileServer(f"http://127.0.0.1:{server.server_address[1]}{path}", seen)
    finally:
        server.shutdown()
        server.server_close()


def send_json(request: http.server.BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    """Answer with a complete body and the given headers (Content-Type defaults to JSON)."""
    request.send_response(status)
    request.send_header("Content-Type", headers.pop("content_type", "application/json"))
    for name, value in headers.items():
        request.send_header(name.replace("_", "-"), value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)
