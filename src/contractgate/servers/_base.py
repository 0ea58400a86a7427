"""What every reference server shares: fault switches, the server description, and running it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import http
import json
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import h11
import httpx
import trustme
import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

__all__ = [
    "VERSIONS",
    "App",
    "Fault",
    "FaultSwitch",
    "ReferenceServer",
    "ReleaseChange",
    "RunningServer",
    "UnknownFault",
    "fault_table",
    "serve_in_process",
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


def fault_table(faults: Iterable[Fault], also: Mapping[str, tuple[str, ...]], value: Iterable[str]) -> dict[str, Fault]:
    """A server's faults by name, with the broad rules that also catch some and the value-level ones marked.

    A name in `also` or `value` that the server does not define is an error, not a silently ignored typo.
    """
    table = {fault.name: replace(fault, also=also.get(fault.name, fault.also)) for fault in faults}
    unknown = sorted(also.keys() - table.keys())
    if unknown:
        raise UnknownFault(f"collateral rules given for fault(s) not defined by this server: {', '.join(unknown)}")
    return with_levels(table, value)


VERSIONS = ("current", "next")


@dataclass(frozen=True)
class ReleaseChange:
    """One difference of a simulated next vendor release, applied to the answers of matching requests.

    `remove-field`, `retype-field` (the value becomes its text) and `add-field` (`value` at `field`) change the
    JSON body at a dotted `field` (`*` fans out over list items); `rename-header` sends `header` as `new_header`;
    `add-status` answers `status` instead of a success (or of the status `replaces` names). Field changes touch
    success answers only (a release changes what an operation answers, not its error bodies). `path` and `query`
    are regular expressions the request's path (below the app's base) and query string must match; `method` is
    exact.
    """

    kind: Literal["remove-field", "retype-field", "add-field", "rename-header", "add-status"]
    method: str
    path: str
    field: str = ""
    value: Any = None
    header: str = ""
    new_header: str = ""
    status: int = 0
    replaces: int = 0  # add-status: the status it replaces (0: any success)
    query: str = ""
    target: str = ""  # only this app (target name); every app of the server when empty
    description: str = ""

    def matches(self, target: str, method: str, path: str, query: str) -> bool:
        """Whether a request gets this change."""
        return (
            method == self.method
            and self.target in {"", target}
            and re.fullmatch(self.path, path) is not None
            and (not self.query or re.search(self.query, query) is not None)
        )


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
    # What the vendor's plausible next release changes (`version="next"`): a field removed, a type changed, a new
    # optional field, a header renamed, a new status; `contractgate drift` must report exactly these.
    next_release: tuple[ReleaseChange, ...] = ()

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        faults: Iterable[str] = (),
        version: str = "current",
        **options: Any,
    ) -> None:
        if version not in VERSIONS:
            raise ValueError(f"version {version!r}: not one of {', '.join(VERSIONS)}")
        self.version = version
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
    clients trust it for this server only. `transport` is set when the server runs in process
    (`serve_in_process`): the only way to reach it, in place of the sockets.
    """

    server: ReferenceServer
    urls: dict[str, str] = field(default_factory=dict)
    ca_pem: Path | None = None
    transport: httpx.BaseTransport | None = None
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


class _Server(uvicorn.Server):
    """uvicorn, stopping at once: a run stops its server when nothing is in flight.

    A client's idle keep-alive connection would hold a graceful shutdown (a TLS one never closes on its own: the
    server waits for the client's close_notify) until the join gives up; aborting it closes it here, in the loop,
    so no half-closed transport is left for the garbage collector.
    """

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Abort every open connection, then shut down as uvicorn does."""
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        await super().shutdown(sockets)


def _start_uvicorn(
    app: ASGIApp, host: str, port: int, certificate: _Certificate | None = None, server_header: bool = True
) -> Callable[[], None]:
    tls: dict[str, Any] = {"server_header": server_header}
    if certificate is not None:
        tls |= {"ssl_certfile": str(certificate.cert_pem), "ssl_keyfile": str(certificate.key_pem)}
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", **tls)
    server = _Server(config)
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
                asgi = _NextRelease(app, server)
                # Playing the next release, the middleware sends `Server` itself, so a release may rename it.
                own_server = server.version == "current"
                running._stops.append(_start_uvicorn(asgi, host, port, certificate if secure else None, own_server))
                scheme = "https" if secure else "http"
                running.urls[app.target] = f"{scheme}://{host}:{port}{app.base_path}"
            yield running
        finally:
            running.stop()


@contextlib.contextmanager
def serve_in_process(server: ReferenceServer, host: str = "127.0.0.1") -> Iterator[RunningServer]:
    """Every app of `server` reachable through `RunningServer.transport` only: no socket, no TLS, no HTTP parser.

    The apps run on one event loop thread, as under uvicorn, and see the scope and send the answer uvicorn
    would (its `server` and `date` headers, no body for HEAD): the kill matrix's fault runs cost less per request.
    The URLs look like `serve_in_thread`'s (each app its own made-up port) but nothing listens there.
    """
    running = RunningServer(server)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="refserver:in-process", daemon=True)
    thread.start()
    try:
        routes: dict[tuple[str, str, int], tuple[ASGIApp, bool]] = {}
        for index, app in enumerate(server.apps()):
            secure = server.tls if app.tls is None else app.tls
            scheme, port = ("https" if secure else "http"), _IN_PROCESS_PORTS + index
            # Playing the next release, the middleware sends `Server` itself, as under uvicorn.
            routes[(scheme, host, port)] = (_uvicorn_like(_NextRelease(app, server)), server.version == "current")
            running.urls[app.target] = f"{scheme}://{host}:{port}{app.base_path}"
        running.transport = _InProcessTransport(routes, loop)
        yield running
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        if not loop.is_running():  # at interpreter exit the daemon thread may be gone with its loop still marked
            loop.close()


_IN_PROCESS_PORTS = 40000  # the made-up ports of in-process apps (nothing listens; they name an app in URLs)


def _uvicorn_like(app: ASGIApp) -> ASGIApp:
    """The middleware uvicorn puts in front of an app by default (X-Forwarded-* trusted from loopback)."""
    return ProxyHeadersMiddleware(app, trusted_hosts="127.0.0.1")


class _InProcessTransport(httpx.BaseTransport):
    """Sends each request to the app its scheme, host and port name, on the apps' event loop, and waits for it.

    The request and the answer still pass through h11 (the HTTP/1.1 parser of httpcore and of uvicorn) in memory,
    so framing, header checks and casing are the wire's.
    """

    def __init__(self, routes: Mapping[tuple[str, str, int], tuple[ASGIApp, bool]], loop: Any) -> None:
        self.routes = routes
        self.loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """The app's whole answer, or a connect error where no app is (as a closed port gives)."""
        url = request.url
        route = self.routes.get((url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80)))
        if route is None:
            raise httpx.ConnectError(f"nothing serves {url.scheme}://{url.netloc.decode()} in process", request=request)
        app, server_header = route
        client = h11.Connection(h11.CLIENT)
        try:
            wire = client.send(h11.Request(method=request.method, target=url.raw_path, headers=request.headers.raw))
            wire = (wire or b"") + (client.send(h11.Data(data=request.read())) or b"")
            wire += client.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as error:
            raise httpx.LocalProtocolError(str(error), request=request) from None
        exchange = _Exchange(app, url, wire, server_header)
        future = asyncio.run_coroutine_threadsafe(exchange.run(), self.loop)
        waits = request.extensions.get("timeout", {})
        wait = waits.get("read") if isinstance(waits, dict) else None
        try:
            answer = future.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise httpx.ReadTimeout(f"no answer within {wait}s", request=request) from None
        return _read_answer(client, answer, request)


def _read_answer(client: h11.Connection, answer: bytes, request: httpx.Request) -> httpx.Response:
    """The response the client side of h11 reads from the server's bytes, as httpcore builds it."""
    client.receive_data(answer)
    client.receive_data(b"")  # the server is done: what it sent is all there is
    head: h11.Response | None = None
    chunks: list[bytes] = []
    try:
        while True:
            event = client.next_event()
            if isinstance(event, h11.Response):
                head = event
            elif isinstance(event, h11.Data):
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed) or event is h11.NEED_DATA:
                break
    except h11.RemoteProtocolError as error:
        raise httpx.RemoteProtocolError(str(error), request=request) from None
    if head is None or event is h11.NEED_DATA:
        raise httpx.RemoteProtocolError("Server disconnected without sending a complete response.", request=request)
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": bytes(head.reason)}
    body = httpx.ByteStream(b"".join(chunks))  # a stream, not content: httpx would add a content-length
    return httpx.Response(head.status_code, headers=head.headers.raw_items(), stream=body, extensions=extensions)


class _Exchange:
    """One request as uvicorn's h11 protocol serves it: parse, scope, call the app, frame the answer."""

    def __init__(self, app: ASGIApp, url: httpx.URL, wire: bytes, server_header: bool) -> None:
        self.app, self.url, self.wire, self.server_header = app, url, wire, server_header
        self.conn = h11.Connection(h11.SERVER)
        self.out: list[bytes] = []
        self.method = ""
        self.started = self.complete = False
        self.done = asyncio.Event()
        self.body: bytes | None = b""
        self.headers: list[tuple[bytes, bytes]] = []

    async def run(self) -> bytes:
        """The bytes uvicorn would write back for the request's bytes."""
        self.conn.receive_data(self.wire)
        try:
            request = self.conn.next_event()
            parts = []
            while not isinstance(event := self.conn.next_event(), h11.EndOfMessage):
                if isinstance(event, h11.Data):
                    parts.append(bytes(event.data))
        except h11.RemoteProtocolError:
            return self._refused(b"Invalid HTTP request received.")
        assert isinstance(request, h11.Request)
        self.body = b"".join(parts)
        self.method = request.method.decode("ascii")
        self.headers = [(name.lower(), value) for name, value in request.headers]
        raw_path, _, query = bytes(request.target).partition(b"?")
        port = self.url.port or (443 if self.url.scheme == "https" else 80)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": (self.url.host, port),
            "client": ("127.0.0.1", 50000),
            "scheme": self.url.scheme,
            "method": self.method,
            "root_path": "",
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": query,
            "headers": self.headers,
            "state": {},
        }
        with contextlib.suppress(Exception):  # uvicorn logs it and answers 500 if nothing was sent yet, as here
            await self.app(scope, self.receive, self.send)
        if not self.started:
            await self._send_500()
        self.done.set()
        return b"".join(self.out)  # an answer left incomplete ends there: uvicorn closes the connection

    async def receive(self) -> dict[str, Any]:
        """The body, then (once the answer is out, as for a kept-alive client) the disconnect."""
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self.done.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        """uvicorn's `RequestResponseCycle.send`: its default headers first, no body for HEAD."""
        if not self.started:
            self.started = True
            headers = _default_headers(self.server_header) + list(message.get("headers", []))
            if _CLOSE in self.headers and _CLOSE not in headers:
                headers = [*headers, _CLOSE]
            status = message["status"]
            self.out.append(self.conn.send(h11.Response(status_code=status, headers=headers, reason=_phrase(status))))
        elif not self.complete:
            body = message.get("body", b"")
            self.out.append(self.conn.send(h11.Data(data=b"" if self.method == "HEAD" else body)) or b"")
            if not message.get("more_body", False):
                self.complete = True
                self.out.append(self.conn.send(h11.EndOfMessage()) or b"")
                self.done.set()

    async def _send_500(self) -> None:
        start = {"type": "http.response.start", "status": 500, "headers": [_TEXT, _CLOSE]}
        await self.send(start)
        await self.send({"type": "http.response.body", "body": b"Internal Server Error", "more_body": False})

    def _refused(self, message: bytes) -> bytes:
        """uvicorn's answer to bytes h11 cannot parse as a request (no default headers), then it closes."""
        conn = self.conn
        head = conn.send(h11.Response(status_code=400, headers=[_TEXT, _CLOSE], reason=_phrase(400))) or b""
        return head + (conn.send(h11.Data(data=message)) or b"") + (conn.send(h11.EndOfMessage()) or b"")


_CLOSE = (b"connection", b"close")
_TEXT = (b"content-type", b"text/plain; charset=utf-8")


def _phrase(status: int) -> bytes:
    try:
        return http.HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


def _default_headers(server_header: bool) -> list[tuple[bytes, bytes]]:
    """uvicorn's `date` (and `server` unless the app sends its own) before the app's headers."""
    headers = [(b"date", email.utils.formatdate(usegmt=True).encode())]
    return [*headers, (b"server", b"uvicorn")] if server_header else headers


class _NextRelease:
    """ASGI middleware: while the server plays its next release, the answers of matching requests change.

    The version is fixed when the server starts (uvicorn's own `Server` header is left to this middleware then).
    """

    def __init__(self, app: App, server: ReferenceServer) -> None:
        self.app, self.server = app, server

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Pass through, or buffer the answer and apply the release's changes to it."""
        if scope.get("type") != "http" or self.server.version != "next":
            await self.app.asgi(scope, receive, send)
            return
        path = scope.get("path", "")
        base = self.app.base_path.rstrip("/")
        below = path[len(base) :] if base and path.startswith(base) else path
        query = scope.get("query_string", b"").decode("latin-1")
        changes = [
            c for c in self.server.next_release if c.matches(self.app.target, scope.get("method", ""), below, query)
        ]
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def keep(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app.asgi(scope, receive, keep)
        status, headers, body = _apply(
            changes, start.get("status", 500), list(start.get("headers", [])), b"".join(chunks)
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _apply(
    changes: list[ReleaseChange], status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    document: Any = None
    try:
        document = json.loads(body) if body else None
    except ValueError:
        document = None
    headers = [*headers, (b"server", b"uvicorn")]
    success = 200 <= status < 300  # a release changes the answers, not the error bodies
    edits = [c for c in changes if c.kind in {"remove-field", "retype-field", "add-field"}]
    for change in changes:
        if change.kind == "add-status" and (status == change.replaces or (success and not change.replaces)):
            status = change.status
        elif change.kind == "rename-header":
            old, new = change.header.lower().encode(), change.new_header.encode()
            headers = [(new if name.lower() == old else name, value) for name, value in headers]
        elif document is not None and success:
            document = _edit(document, [p for p in change.field.split(".") if p], change)
    if document is not None and success and edits:
        body = json.dumps(document).encode()
    headers = [(name, value) for name, value in headers if name.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    return status, headers, body


def _edit(node: Any, parts: list[str], change: ReleaseChange) -> Any:
    """Apply one field change at a dotted path (`*` over list items or object values)."""
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            return [_edit(item, parts[1:], change) if rest else item for item in node]
        if isinstance(node, dict):
            return {key: _edit(value, rest, change) for key, value in node.items()} if rest else node
        return node
    if not isinstance(node, dict):
        return node
    if rest:
        return {**node, head: _edit(node[head], rest, change)} if head in node else node
    if change.kind == "remove-field":
        return {key: value for key, value in node.items() if key != head}
    if change.kind == "retype-field" and head in node:
        return {**node, head: json.dumps(node[head]) if not isinstance(node[head], str) else node[head]}
    if change.kind == "add-field":
        return {**node, head: change.value}
    return node
