"""What every reference server shares: fault switches, the server description, and running it."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import trustme
import uvicorn

__all__ = [
    "App",
    "Fault",
    "FaultSwitch",
    "ReferenceServer",
    "RunningServer",
    "UnknownFault",
    "serve_in_thread",
    "with_levels",
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
    # "form": the answer's shape breaks (a field, header or element gone or renamed, a type or pattern broken,
    # a request refused wholesale). "value": every documented form holds and only a value departs from the
    # documented value, unit, range or relation, or the deviation is confined to one member of the statement's
    # scope (one version, one representation, one region, one endpoint family).
    level: Literal["form", "value"] = "form"


def with_levels(faults: Mapping[str, Fault], value: Iterable[str]) -> dict[str, Fault]:
    """The faults with those named in `value` marked value-level; a name the server does not define is an error."""
    named = frozenset(value)
    unknown = sorted(named - faults.keys())
    if unknown:
        raise UnknownFault(f"value-level fault(s) not defined by this server: {', '.join(unknown)}")
    return {name: replace(fault, level="value") if name in named else fault for name, fault in faults.items()}


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
    """One ASGI application of a reference server, the base path its API lives under, and its scheme.

    `tls` None follows the server's `tls`; False serves this app over plain HTTP even on a TLS server
    (a port whose documented behaviour is to refuse plain HTTP, for instance).
    """

    target: str
    asgi: ASGIApp
    base_path: str = ""
    tls: bool | None = None


class ReferenceServer:
    """A documented-behaviour simulator of one vendor API, with fault switches.

    Subclasses set `vendor`, `faults` and `default_credentials`, and implement `build_apps`; a vendor whose
    docs require HTTPS sets `tls = True` and is served with a certificate from a CA made at start.
    `credentials` uses the contract's environment names (e.g. ``ACCESS_ID``, or ``KEY_DUBLIN``
    for a per-region credential) so a run can export them as ``CONTRACTGATE_<VENDOR>_<NAME>``.
    """

    vendor: str = ""
    faults: Mapping[str, Fault] = {}
    default_credentials: Mapping[str, str] = {}
    allow_writes: bool = True
    tls: bool = False

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
    """A reference server listening on loopback: its base URL per target, the CA to trust, and how to stop it.

    `ca_pem` is the PEM file of the CA that signed the server certificate (None when nothing is TLS);
    clients trust it for this server only.
    """

    server: ReferenceServer
    urls: dict[str, str] = field(default_factory=dict)
    ca_pem: Path | None = None
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


@dataclass(frozen=True)
class _Certificate:
    """A server certificate (chain) and key on disk, and the CA that issued it."""

    ca_pem: Path
    cert_pem: Path
    key_pem: Path


def _certificate(folder: Path, host: str) -> _Certificate:
    """A fresh CA and a certificate for loopback (and `host`), written as PEM files under `folder`."""
    ca = trustme.CA()
    names = dict.fromkeys([host, "127.0.0.1", "localhost"])
    issued = ca.issue_cert(*names)
    files = _Certificate(folder / "ca.pem", folder / "server-chain.pem", folder / "server-key.pem")
    ca.cert_pem.write_to_path(str(files.ca_pem))
    issued.private_key_pem.write_to_path(str(files.key_pem))
    for index, blob in enumerate(issued.cert_chain_pems):
        blob.write_to_path(str(files.cert_pem), append=index > 0)
    return files


def _start_uvicorn(app: ASGIApp, host: str, port: int, certificate: _Certificate | None = None) -> Callable[[], None]:
    tls: dict[str, Any] = {}
    if certificate is not None:
        tls = {"ssl_certfile": str(certificate.cert_pem), "ssl_keyfile": str(certificate.key_pem)}
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", **tls)
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
    """Run every app of `server` with uvicorn on loopback, in daemon threads, for the block's duration.

    Apps that use TLS get a certificate from a CA made for this run; its PEM is `RunningServer.ca_pem`.
    """
    running = RunningServer(server)
    with tempfile.TemporaryDirectory(prefix="contractgate-tls-") as folder:
        apps = server.apps()
        certificate = None
        if any(server.tls if app.tls is None else app.tls for app in apps):
            certificate = _certificate(Path(folder), host)
            running.ca_pem = certificate.ca_pem
        try:
            for index, app in enumerate(apps):
                port = first_port + index if first_port else _free_port(host)
                secure = server.tls if app.tls is None else app.tls
                running._stops.append(_start_uvicorn(app.asgi, host, port, certificate if secure else None))
                scheme = "https" if secure else "http"
                running.urls[app.target] = f"{scheme}://{host}:{port}{app.base_path}"
            yield running
        finally:
            running.stop()
