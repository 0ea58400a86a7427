"""Transports: live (guarded, rate-budgeted), recording, and replay from cassettes through respx."""

from __future__ import annotations

import email.utils
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
import respx

from ._cassettes import Cassette
from ._errors import SetupError, TargetUnreachable, WriteBlocked
from ._redact import Redactor

__all__ = [
    "OVERRIDE_HEADERS",
    "READ_METHODS",
    "RETRY_429",
    "SAFE",
    "EpisodesTransport",
    "LiveTransport",
    "OffTarget",
    "RateBudget",
    "RecordingTransport",
    "ReplayTransport",
    "TargetGuard",
    "UnmatchedRequest",
    "requested_methods",
    "safe_mark",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_429 = "contractgate.retry_on_429"
TARGET = "contractgate.target"
# Set by the session on a request whose operation the contract cites as changing nothing (a lookup by POST);
# the value is `safe_mark(request)`, so the mark covers exactly that method and URL, not a redirect hop.
SAFE = "contractgate.safe"
# Headers and the body/query field by which common server frameworks let a request ask for another method.
OVERRIDE_HEADERS = ("X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override")
OVERRIDE_FIELD = "_method"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_MULTIPART_FIELD = re.compile(
    r'Content-Disposition:\s*form-data;\s*name="(?P<name>[^"]*)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n'
    r"(?P<value>[^\r\n]*)",
    re.IGNORECASE,
)


class UnmatchedRequest(SetupError):
    """Replay met a request the cassette does not hold."""


@dataclass
class RateBudget:
    """At most `rate` requests per second to one target, shared by every rule of a run."""

    rate: float | None = None  # None, 0 or math.inf: unthrottled
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_slot: float = 0.0

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until the next request may leave."""
        if not self.rate or math.isinf(self.rate):
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


class OffTarget(SetupError):
    """A request was about to leave for a URL under none of the run's configured target bases."""


@dataclass
class TargetGuard:
    """One configured target as the live transport guards it: its base URL, write opt-in and rate budget."""

    key: str
    base: str
    writes: bool = False
    budget: RateBudget = field(default_factory=RateBudget)

    def holds(self, url: httpx.URL) -> bool:
        """Whether `url` has this target's origin (scheme, host, port) and lies under its base path."""
        base = httpx.URL(self.base)
        if (url.scheme, url.host, _port(url)) != (base.scheme, base.host, _port(base)):
            return False
        prefix = base.path.rstrip("/")
        return not prefix or url.path == prefix or url.path.startswith(prefix + "/")


def _port(url: httpx.URL) -> int | None:
    return url.port or _DEFAULT_PORTS.get(url.scheme)


def _origin(url: httpx.URL) -> str:
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}"


def _where(url: httpx.URL) -> str:
    """Origin and path, without query: what a redirect or a safe mark refers to."""
    return _origin(url) + url.path


def safe_mark(request: httpx.Request) -> str:
    """The value of the `SAFE` extension that marks exactly this request's method and URL (query aside)."""
    return f"{request.method} {_where(request.url)}"


def _form_fields(request: httpx.Request) -> list[tuple[str, str]]:
    """Fields of a form, multipart or JSON-object body (where method-override middleware looks for `_method`)."""
    content_type = request.headers.get("Content-Type", "").lower()
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data", "application/json")):
        return []
    body = request.read()
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qsl(body.decode("latin-1"), keep_blank_values=True)
    if content_type.startswith("multipart/form-data"):
        text = body.decode("latin-1")
        return [(m["name"], m["value"].strip()) for m in _MULTIPART_FIELD.finditer(text)]
    if content_type.startswith("application/json"):
        try:
            document = json.loads(body or b"null")
        except ValueError:
            return []
        if isinstance(document, dict) and isinstance(document.get(OVERRIDE_FIELD), str):
            return [(OVERRIDE_FIELD, document[OVERRIDE_FIELD])]
    return []


def requested_methods(request: httpx.Request) -> list[str]:
    """The request's method and every method it asks the server to use instead (override headers, `_method`)."""
    methods = [request.method.upper()]
    methods += [request.headers[name] for name in OVERRIDE_HEADERS if name in request.headers]
    methods += [value for name, value in request.url.params.multi_items() if name.lower() == OVERRIDE_FIELD]
    methods += [value for name, value in _form_fields(request) if name.lower() == OVERRIDE_FIELD]
    return [method.strip().upper() for method in methods]


class LiveTransport(httpx.BaseTransport):
    """Real HTTP with the production guards, checked on each request's own URL whatever sent it.

    Only URLs under a configured target's base leave (no credential ever reaches another origin, also on a
    redirect hop); writes only to a target that opted in; each target's rate budget; 429 Retry-After on reads.
    """

    def __init__(
        self,
        inner: httpx.BaseTransport | None = None,
        *,
        targets: Iterable[TargetGuard] = (),
        redactor: Redactor | None = None,
        max_retries: int = 3,
        max_wait: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._owns_inner = inner is None
        self.inner = inner or httpx.HTTPTransport()
        self.targets = sorted(targets, key=lambda guard: -len(guard.base))
        self.redactor = redactor or Redactor()
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.methods_sent: list[str] = []
        self._foreign_redirects: set[str] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send one request after the guards, honouring 429 Retry-After on reads."""
        request.read()  # a redirect hop streams the first body again: the guards and the curl line need the bytes
        guard = self.guard(request)
        self._refuse_unopted_write(request, guard)
        retryable = request.method in READ_METHODS and request.extensions.get(RETRY_429, True)
        attempt = 0
        while True:
            guard.budget.wait(self.sleep)
            self.methods_sent.append(request.method)
            try:
                response = self.inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise TargetUnreachable(f"{_origin(request.url)} is unreachable: {exc}") from exc
            self._note_redirect(request, response)
            if response.status_code != 429 or not retryable or attempt >= self.max_retries:
                return response
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None or wait > self.max_wait:
                return response
            response.read()
            response.close()
            attempt += 1
            self.sleep(wait)

    def guard(self, request: httpx.Request) -> TargetGuard:
        """The configured target whose base holds the request's URL; anything else never leaves."""
        for guard in self.targets:
            if guard.holds(request.url):
                return guard
        shown = self.redactor.url(str(request.url))
        if _where(request.url) in self._foreign_redirects:
            raise OffTarget(
                f"could not check: the target redirected to {shown}; credentials are never sent to another origin"
            )
        bases = ", ".join(sorted(guard.base for guard in self.targets)) or "none"
        raise OffTarget(
            f"{request.method} {shown} was not sent: it is under no configured target base ({bases}); "
            "credentials are never sent to another origin"
        )

    def _refuse_unopted_write(self, request: httpx.Request, guard: TargetGuard) -> None:
        if guard.writes:
            return
        methods = requested_methods(request)
        writes = [method for method in methods if method not in READ_METHODS]
        if not writes:
            return
        if methods == [request.method] and request.extensions.get(SAFE) == safe_mark(request):
            return  # the contract cites the vendor's documentation that this very operation changes nothing
        shown = self.redactor.url(str(request.url))
        overrides = [method for method in methods[1:] if method not in READ_METHODS]
        asked = f" (it asks the server for {', '.join(overrides)})" if overrides else ""
        raise WriteBlocked(
            f"{request.method} {shown} was not sent{asked}: target {guard.key} does not allow writes "
            f"(pass --allow-writes {guard.key} or set allow_writes = true for that target)"
        )

    def _note_redirect(self, request: httpx.Request, response: httpx.Response) -> None:
        location = response.headers.get("Location")
        if not response.is_redirect or location is None:
            return
        try:
            hop = request.url.join(location)
        except httpx.InvalidURL:
            return
        if not any(guard.holds(hop) for guard in self.targets):
            self._foreign_redirects.add(_where(hop))

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


class EpisodesTransport(httpx.BaseTransport):
    """Record mode `new_episodes`: a request the cassette still holds is answered from it, any other is sent
    (through the recording transport, so it is appended) and never answered from what was just appended."""

    def __init__(self, recording: RecordingTransport) -> None:
        self.recording = recording

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Replay a held interaction, or send and record."""
        cassette, bases = self.recording.cassette, self.recording.bases
        target, relative = self.recording._locate(request)
        interaction = cassette.take(target, request.method, self.recording.redactor.url(relative))
        if interaction is not None:
            return interaction.response(request, bases)
        response = self.recording.handle_request(request)
        cassette.consumed(len(cassette.interactions) - 1)
        return response


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
