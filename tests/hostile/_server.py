"""Misbehaving targets for the safety tests: a stdlib HTTP server on 127.0.0.1 driven by one handler function."""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from contractgate.cli import main

__all__ = [
    "Handler",
    "HostileServer",
    "MiniRun",
    "Seen",
    "hang",
    "hostile_server",
    "mini_contracts",
    "run_mini",
    "send_json",
]

MINI = Path(__file__).resolve().parents[1] / "fixtures" / "mini.yaml"
MINI_CREDENTIALS = {"CONTRACTGATE_MINI_ACCESS_ID": "mini-id", "CONTRACTGATE_MINI_SECRET_KEY": "mini-secret-value-123"}


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
    server.closing = threading.Event()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield HostileServer(f"http://127.0.0.1:{server.server_address[1]}{path}", seen)
    finally:
        server.closing.set()  # type: ignore[attr-defined]
        server.shutdown()
        server.server_close()


def hang(request: http.server.BaseHTTPRequestHandler, seconds: float = 30.0) -> bool:
    """Wait like a target that never answers, until the test's server closes (True) or `seconds` pass."""
    closing: threading.Event = request.server.closing  # type: ignore[attr-defined]
    return closing.wait(seconds)


def send_json(request: http.server.BaseHTTPRequestHandler, status: int, body: bytes, **headers: str) -> None:
    """Answer with a complete body and the given headers (Content-Type defaults to JSON)."""
    request.send_response(status)
    request.send_header("Content-Type", headers.pop("content_type", "application/json"))
    for name, value in headers.items():
        request.send_header(name.replace("_", "-"), value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


def mini_contracts(folder: Path, **defaults: object) -> Path:
    """A contracts folder with the mini vendor (tests/fixtures/mini.yaml), `defaults` merged into its defaults."""
    document = yaml.safe_load(MINI.read_text(encoding="utf-8"))
    document["defaults"].update(defaults)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mini.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return folder


@dataclass
class MiniRun:
    """A whole `contractgate run` against a hostile target: exit code, wall time, and results.json's rules."""

    exit_code: int
    seconds: float
    rules: list[dict[str, Any]]

    def status(self, rule_id: str) -> str:
        """The reported status of one rule."""
        return next(rule["status"] for rule in self.rules if rule["id"] == rule_id)

    def message(self, rule_id: str) -> str:
        """The reported message of one rule."""
        return str(next(rule["message"] for rule in self.rules if rule["id"] == rule_id))


def run_mini(
    url: str, tmp: Path, monkeypatch: pytest.MonkeyPatch, *rules: str, mode: str = "live", **defaults: object
) -> MiniRun:
    """Run the mini contract (with `defaults` overridden) through the command line against `url`."""
    for name, value in MINI_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp)  # no contractgate.toml or pyproject.toml of the project is read
    contracts = mini_contracts(tmp / "contracts", **defaults)
    argv = ["--contracts", str(contracts), "run", "--vendor", "mini", "--target", f"mini={url}", "--mode", mode]
    for rule in rules:
        argv += ["--rule", rule]
    argv += ["--reports", str(tmp / "reports"), "--cassettes", str(tmp / "cassettes"), "--no-matrix"]
    started = time.monotonic()
    code = main(argv)
    seconds = time.monotonic() - started
    found = sorted((tmp / "reports").rglob("results.json"))
    document = json.loads(found[-1].read_text(encoding="utf-8")) if found else {"rules": []}
    return MiniRun(code, seconds, document["rules"])
