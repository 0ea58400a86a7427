"""Bounds on every live request, whatever the target does: body size cap, total deadline, circuit breaker.

`BoundedTransport` sits directly on the real HTTP transport, under the guards, the recorder and every
reader (checks, schemathesis), so all of them see at most `max_body_bytes` of any answer and no request
outlives its deadline. The deadline also covers the status line and headers: `deadline_http_transport`
gives httpcore a network backend whose socket reads and writes never wait past the current request's
deadline (httpx's own timeout is per read, so a target trickling one byte a second never times out).
"""

from __future__ import annotations

import contextvars
import ssl
import threading
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import httpcore
import httpx

from ._errors import BodyTooLarge, DeadlineExceeded, TargetNotAnswering, TargetUnreachable

__all__ = [
    "BREAKER_THRESHOLD",
    "DEADLINE_FACTOR",
    "BoundedTransport",
    "Breaker",
    "Breakers",
    "Limits",
    "deadline_http_transport",
]

DEADLINE_FACTOR = 3.0
"""Without `defaults.deadline`, a whole request may take this many times the contract's `timeout`."""

BREAKER_THRESHOLD = 3
"""Consecutive timeouts, deadline hits or connection failures after which a target gets no more requests."""

_INFLATE_STEP = 64 << 10  # the most decompressed bytes held at once while measuring a compressed body
_MIN_WAIT = 0.001  # a socket timeout of 0 would make the socket non-blocking instead of failing fast

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("contractgate_deadline", default=None)


@dataclass(frozen=True)
class Limits:
    """The bounds of one request: how many body bytes may be read and how long the whole exchange may take."""

    max_body_bytes: int
    deadline: float

    @classmethod
    def of(cls, timeout: float, deadline: float | None, max_body_bytes: int) -> Limits:
        """Limits from a contract's defaults: the deadline defaults to DEADLINE_FACTOR x timeout."""
        return cls(max_body_bytes, deadline if deadline is not None else timeout * DEADLINE_FACTOR)


@dataclass
class Breaker:
    """Consecutive failures of one target; once open it stays open for the rest of the run."""

    threshold: int = BREAKER_THRESHOLD
    failures: int = 0
    last: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def open(self) -> bool:
        """Whether requests to the target must no longer be sent."""
        return self.failures >= self.threshold

    def success(self) -> None:
        """A complete answer arrived: the streak of failures is broken (unless the breaker already opened)."""
        with self._lock:
            if not self.open:
                self.failures = 0

    def failure(self, reason: str) -> None:
        """A request timed out, hit its deadline or could not connect."""
        with self._lock:
            self.failures += 1
            self.last = reason


@dataclass
class Breakers:
    """One breaker per target origin (scheme://host:port), shared by every rule of a run."""

    threshold: int = BREAKER_THRESHOLD
    by_origin: dict[str, Breaker] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def get(self, origin: str) -> Breaker:
        """The breaker of an origin, created closed on first use."""
        with self._lock:
            return self.by_origin.setdefault(origin, Breaker(self.threshold))


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode()}"


def _bounded(timeout: float | None, error: type[Exception]) -> float | None:
    """A socket timeout that never waits past the current request's deadline."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request's total deadline passed")
    return max(_MIN_WAIT, left if timeout is None else min(timeout, left))


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits at most until the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read, waiting no longer than the per-read timeout or the deadline."""
        return self._inner.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write, waiting no longer than the per-write timeout or the deadline."""
        self._inner.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the socket."""
        self._inner.close()

    def start_tls(
        self, ssl_context: object, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        """The TLS handshake is bounded by the deadline too."""
        wait = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, wait))  # type: ignore[arg-type]

    def get_extra_info(self, info: str) -> object:
        """Whatever the socket stream tells httpcore (readability, the socket, TLS details)."""
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend with deadline-bounded connects and streams."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect within the timeout and the deadline."""
        wait = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, wait, local_address, socket_options))

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect within the timeout and the deadline."""
        wait = _bounded(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        """httpcore's retry pause."""
        self._inner.sleep(seconds)


def deadline_http_transport(verify: ssl.SSLContext | bool = True) -> httpx.HTTPTransport:
    """httpx's HTTP transport whose sockets honour the total deadline that BoundedTransport sets per request."""
    transport = httpx.HTTPTransport(verify=verify)
    pool = transport._pool
    if not isinstance(pool, httpcore.ConnectionPool) or not hasattr(pool, "_network_backend"):
        raise RuntimeError("this httpx/httpcore version hides its network backend; request deadlines need it")
    pool._network_backend = _DeadlineBackend(pool._network_backend)
    return transport


class BoundedTransport(httpx.BaseTransport):
    """Wraps the real transport: refuses an open-breaker target, bounds each answer in bytes and total time."""

    def __init__(self, inner: httpx.BaseTransport, limits: Limits, breakers: Breakers) -> None:
        self.inner = inner
        self.limits = limits
        self.breakers = breakers

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send unless the target stopped answering; the response's body stream enforces the cap and deadline."""
        origin = _origin(request.url)
        breaker = self.breakers.get(origin)
        if breaker.open:
            raise TargetNotAnswering(
                f"target {origin} not answering: {breaker.failures} requests in a row failed "
                f"(last: {breaker.last}); {request.method} {request.url} was not sent"
            )
        deadline = time.monotonic() + self.limits.deadline
        token = _deadline.set(deadline)
        try:
            response = self.inner.handle_request(request)
        except httpx.TransportError as exc:
            error = _failed(request, exc, breaker, self.limits, deadline)
            if error is exc:
                raise
            raise error from exc
        finally:
            _deadline.reset(token)
        stream = _BoundedStream(response, request, self.limits, breaker, deadline)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=stream,
            extensions=response.extensions,
            request=request,
        )


def _failed(
    request: httpx.Request, exc: httpx.TransportError, breaker: Breaker, limits: Limits, deadline: float
) -> Exception:
    """Count a transport failure against the target and say plainly what happened."""
    what = f"{request.method} {request.url}"
    if isinstance(exc, httpx.TimeoutException) and time.monotonic() >= deadline:
        breaker.failure(f"deadline of {limits.deadline:g}s")
        return DeadlineExceeded(
            f"{what} did not complete within its {limits.deadline:g}s deadline (the target trickles); "
            "raise `defaults.deadline` in the contract if the vendor is documented to be this slow"
        )
    if isinstance(exc, httpx.TimeoutException):
        breaker.failure(type(exc).__name__)
        phase = {httpx.ConnectTimeout: "connect", httpx.WriteTimeout: "write", httpx.PoolTimeout: "pool"}
        waited = request.extensions.get("timeout", {}).get(phase.get(type(exc), "read"))
        return TargetUnreachable(f"{what}: no answer within the {waited}s timeout ({type(exc).__name__})")
    breaker.failure(type(exc).__name__)
    return exc


class _TooLarge(Exception):
    """The decompressed body passed the cap."""


class _Inflation:
    """How large a gzip/deflate body becomes once httpx decodes it, measured without holding it."""

    def __init__(self, codings: list[str], limit: int) -> None:
        # Undo the last coding first; a zlib-or-gzip header is auto-detected, raw deflate is tried on failure.
        self._stages: list[zlib._Decompress] | None = [zlib.decompressobj(zlib.MAX_WBITS | 32) for _ in codings]
        self._raw_allowed = [coding == "deflate" for coding in reversed(codings)]
        self._limit = limit
        self.size = 0

    @classmethod
    def of(cls, header: str, limit: int) -> _Inflation | None:
        """A meter for the codings httpx decodes (gzip, deflate), or None when the body is not compressed."""
        codings = [c.strip().lower() for c in header.split(",") if c.strip().lower() not in {"", "identity"}]
        if not codings or not set(codings) <= {"gzip", "x-gzip", "deflate"}:
            return None
        return cls(codings, limit)

    def feed(self, data: bytes) -> None:
        """Account for one raw chunk; raise _TooLarge past the cap. A corrupt body is left to httpx to report."""
        if self._stages is None:
            return
        try:
            self._inflate(self._stages, 0, data)
        except zlib.error:
            self._stages = None

    def _inflate(self, stages: list[zlib._Decompress], stage: int, data: bytes) -> None:
        if stage == len(stages):
            self.size += len(data)
            if self.size > self._limit:
                raise _TooLarge
            return
        while data:
            try:
                out = stages[stage].decompress(data, _INFLATE_STEP)
            except zlib.error:
                if not self._raw_allowed[stage]:
                    raise
                self._raw_allowed[stage] = False  # as httpx does: deflate without the zlib wrapper
                stages[stage] = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_allowed[stage] = False
            self._inflate(stages, stage + 1, out)
            data = stages[stage].unconsumed_tail
            if not out:
                break


def _size(value: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= size:
            return f"{value / size:g} {unit}"
    return f"{value:g} bytes"


class _BoundedStream(httpx.SyncByteStream):
    """A response body that stops at the size cap or the deadline, whichever comes first."""

    def __init__(
        self, response: httpx.Response, request: httpx.Request, limits: Limits, breaker: Breaker, deadline: float
    ) -> None:
        assert isinstance(response.stream, httpx.SyncByteStream), "a synchronous transport streams synchronously"
        self._inner = response.stream
        self._request = request
        self._limits = limits
        self._breaker = breaker
        self._deadline = deadline
        announced = response.headers.get("Content-Length", "")
        self._announced = int(announced) if announced.isdigit() else None
        self._coding = response.headers.get("Content-Encoding", "")
        self._inflation = _Inflation.of(self._coding, limits.max_body_bytes)

    def __iter__(self) -> Iterator[bytes]:
        cap = self._limits.max_body_bytes
        if self._announced is not None and self._announced > cap:
            raise self._too_large(f"Content-Length {self._announced}")
        chunks = iter(self._inner)
        received = 0
        while True:
            token = _deadline.set(self._deadline)
            try:
                chunk: bytes = next(chunks)
            except StopIteration:
                break
            except httpx.TransportError as exc:
                error = _failed(self._request, exc, self._breaker, self._limits, self._deadline)
                if error is exc:
                    raise
                raise error from exc
            finally:
                _deadline.reset(token)
            received += len(chunk)
            if received > cap:
                raise self._too_large(f"more than {cap} bytes (stopped reading there)")
            if self._inflation is not None:
                try:
                    self._inflation.feed(chunk)
                except _TooLarge:
                    raise self._too_large(f"more than {cap} bytes once decompressed ({self._coding})") from None
            if time.monotonic() > self._deadline:
                late = httpx.ReadTimeout("the request's total deadline passed", request=self._request)
                raise _failed(self._request, late, self._breaker, self._limits, self._deadline)
            yield chunk
        self._breaker.success()

    def close(self) -> None:
        """Release the connection (httpcore drops it when the body was not read to the end)."""
        self._inner.close()

    def _too_large(self, got: str) -> BodyTooLarge:
        cap = self._limits.max_body_bytes
        return BodyTooLarge(
            f"the answer to {self._request.method} {self._request.url} is larger than the {_size(cap)} body cap; "
            "raise `defaults.max_body_bytes` in the contract if the vendor documents answers this large",
            expected=f"a body of at most {cap} bytes (defaults.max_body_bytes)",
            got=got,
            where="body",
        )
