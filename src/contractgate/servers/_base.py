"""What every reference server shares: fault switches, the server description, and running it."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import uvicorn

__all__ = [
    "App",
    "Fault",
    "FaultSwitch",
    "ReferenceServer",
    "RunningServer",
    "UnknownFault",
    "serve_in_thread",
]

ASGIApp = Callable[..., Any]


class UnknownFault(KeyError):
    """A fault name that the server does not define (a typo in a switch or on the command line)."""


@dataclass(frozen=True)
class Fault:
    """One deliberate deviation from the documented behaviour, the rule that must catch it, and broad rules too."""

    name: str
    rule: str
    description: str
    also: tuple[str, ...] = ()


class FaultSwitch:
    """The set of faults a server injects right now; mutable so one running server serves a whole kill matrix."""

    def __init__(self, known: Mapping[str, Fault], active: Iterable[str] = ()) -> None:
        self._known = dict(known)
        self._active: frozenset[str] = frozenset()
        self.set(active)

    def set(self, names: Iterable[str]) -> None:
        """Replace the active faults; every name must be one the server defines."""
        wanted = frozenset(names)
        unknown = sorted(wanted - self._known.keys())
        if unknown:
            raise UnknownFault(f"unknown fault(s) {', '.join(unknown)}; known: {', '.join(sorted(self._known))}")
        self._active = wanted

    def on(self, name: str) -> bool:
        """Whether fault `name` is active; asking about an undefined fault is a programming error."""
        if name not in self._known:
            raise UnknownFault(f"fault {name!r} is not defined by this server")
        return name in self._active

    @property
    def active(self) -> frozenset[str]:
        """The faults injected now."""
        return self._active


@dataclass(frozen=True)
class App:
    """One ASGI application of a reference server and the base path its API lives under."""

    target: str
    asgi: ASGIApp
    base_path: str = ""


class ReferenceServer:
    """A documented-behaviour simulator of one vendor API, with fault switches.

    Subclasses set `vendor`, `faults` and `default_credentials`, and implement `build_apps`.
    `credentials` uses the contract's environment names (e.g. ``ACCESS_ID``, or ``KEY_DUBLIN``
    for a per-region credential) so a run can export them as ``CONTRACTGATE_<VENDOR>_<NAME>``.
    """

    vendor: str = ""
    faults: Mapping[str, Fault] = {}
    default_credentials: Mapping[str, str] = {}
    allow_writes: bool = True

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        faults: Iterable[str] = (),
        **options: Any,
    ) -> None:
        self.credentials: dict[str, str] = {**self.default_credentials, **(credentials or {})}
        self.switch = FaultSwitch(self.faults, faults)
        self.options = options
        self._apps: list[App] | None = None
        self.reset()

    def reset(self) -> None:
        """Restore the seeded state (quotas, created objects); called between kill-matrix runs."""

    def build_apps(self) -> list[App]:
        """Create the ASGI apps, one per target (one per region where the vendor has regions)."""
        raise NotImplementedError

    def apps(self) -> list[App]:
        """The server's apps, built once."""
        if self._apps is None:
            self._apps = self.build_apps()
        return self._apps


@dataclass
class RunningServer:
    """A reference server listening on loopback: its base URL per target, and how to stop it."""

    server: ReferenceServer
    urls: dict[str, str] = field(default_factory=dict)
    _stops: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        """Shut every listener down."""
        for stop in self._stops:
            stop()
        self._stops.clear()


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _start_uvicorn(app: ASGIApp, host: str, port: int) -> Callable[[], None]:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"refserver:{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"reference server could not listen on {host}:{port}")
        time.sleep(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=5)

    return stop


@contextlib.contextmanager
def serve_in_thread(
    server: ReferenceServer, host: str = "127.0.0.1", first_port: int | None = None
) -> Iterator[RunningServer]:
    """Run every app of `server` with uvicorn on loopback, in daemon threads, for the block's duration."""
    running = RunningServer(server)
    try:
        for index, app in enumerate(server.apps()):
            port = first_port + index if first_port else _free_port(host)
            running._stops.append(_start_uvicorn(app.asgi, host, port))
            running.urls[app.target] = f"http://{host}:{port}{app.base_path}"
        yield running
    finally:
        running.stop()
