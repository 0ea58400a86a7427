"""Transports: live (guarded, rate-budgeted), recording, and replay from cassettes through respx."""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import respx

from ._cassettes import Cassette
from ._errors import SetupError, TargetUnreachable, WriteBlocked
from ._redact import Redactor

__all__ = [
    "READ_METHODS",
    "RETRY_429",
    "LiveTransport",
    "RateBudget",
    "RecordingTransport",
    "ReplayTransport",
    "UnmatchedRequest",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_429 = "contractgate.retry_on_429"
TARGET = "contractgate.target"


class UnmatchedRequest(SetupError):
    """Replay met a request the cassette does not hold."""


@dataclass
class RateBudget:
    """At most `rate` requests per second to one target, shared by every rule of a run."""

    rate: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_slot: float = 0.0

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until the next request may leave."""
        if not self.rate:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            sleep(slot - now)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class LiveTransport(httpx.BaseTransport):
    """Real HTTP with the production guards: read-only unless opted in, rate budget, 429 handling."""

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        allow_writes: bool = False,
        budget: RateBudget | None = None,
        max_retries: int = 3,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._owns_inner = inner is None
        self.inner = inner or httpx.HTTPTransport()
        self.allow_writes = allow_writes
        self.budget = budget or RateBudget()
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.methods_sent: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request, refusing writes without opt-in and honouring 429 Retry-After on reads."""
        if request.method not in READ_METHODS and not self.allow_writes:
            raise WriteBlocked(
                f"{request.method} {request.url} was not sent: the target does not allow writes "
                "(pass --allow-writes VENDOR or set allow_writes = true for the target)"
            )
        retryable = request.method in READ_METHODS and request.extensions.get(RETRY_429, True)
        attempt = 0
        while True:
            self.budget.wait(self.sleep)
            self.methods_sent.append(request.method)
            try:
                response = self.inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise TargetUnreachable(
                    f"{request.url.scheme}://{request.url.netloc.decode()} is unreachable: {exc}"
                ) from exc
            if response.status_code != 429 or not retryable or attempt >= self.max_retries:
                return response
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None or wait > self.max_wait:
                return response
            response.read()
            response.close()
            attempt += 1
            self.sleep(wait)

    def close(self) -> None:
        """Close the inner transport unless it was lent to us."""
        if self._owns_inner:
            self.inner.close()


class RecordingTransport(httpx.BaseTransport):
    """Passes requests to a live transport and writes each exchange, redacted, into a cassette."""

    def __init__(
        self,
        live: httpx.BaseTransport,
        cassette: Cassette,
        redactor: Redactor,
        bases: dict[str, str],
    ) -> None:
        self.live = live
        self.cassette = cassette
        self.redactor = redactor
        self.bases = bases

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send, read the whole body, record."""
        response = self.live.handle_request(request)
        response.read()
        target, relative = self._locate(request)
        self.cassette.record(target, relative, request, response, self.redactor, self.bases)
        return response

    def _locate(self, request: httpx.Request) -> tuple[str, str]:
        return locate(str(request.url), request.extensions.get(TARGET), self.bases)


def locate(url: str, hint: str | None, bases: dict[str, str]) -> tuple[str, str]:
    """Which target a URL belongs to, and the URL relative to that target's base."""
    candidates = [hint] if hint in bases else []
    candidates += sorted(bases, key=lambda name: -len(bases[name]))
    for name in candidates:
        assert name is not None
        base = bases[name]
        if url == base or url.startswith(base + "/") or url.startswith(base + "?"):
            return name, url[len(base) :] or "/"
    raise SetupError(f"{url} belongs to no configured target; it was not sent")


class ReplayTransport(httpx.BaseTransport):
    """Serves a rule's cassette through a respx router; the network is never touched."""

    def __init__(self, cassette: Cassette, redactor: Redactor, bases: dict[str, str]) -> None:
        self.cassette = cassette
        self.redactor = redactor
        self.bases = bases
        self.router = respx.MockRouter(assert_all_mocked=True, assert_all_called=False)
        self.router.route().mock(side_effect=self._serve)
        self._mock = httpx.MockTransport(self.router.handler)

    def _serve(self, request: httpx.Request) -> httpx.Response:
        target, relative = locate(str(request.url), request.extensions.get(TARGET), self.bases)
        relative = self.redactor.url(relative)
        interaction = self.cassette.take(target, request.method, relative)
        if interaction is None:
            closest = self.cassette.closest(target, request.method, relative)
            raise UnmatchedRequest(
                f"replay: no recorded interaction for {request.method} {target} {relative}; "
                f"closest recorded: {closest}. Re-record with `contractgate run --mode record`."
            )
        return interaction.response(request, self.bases)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer from the cassette."""
        return self._mock.handle_request(request)
