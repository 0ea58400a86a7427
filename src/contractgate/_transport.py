"""Transports: live (guarded, rate-budgeted), recording, and replay from cassettes through respx."""

from __future__ import annotations

import email.utils
import json
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
import respx

from ._auth import AUTH_SHAPE, CREDENTIAL, AuthShape, CredentialId
from ._cassettes import Cassette
from ._errors import SetupError, TargetUnreachable, WriteBlocked
from ._redact import Redactor

__all__ = [
    "OVERRIDE_HEADERS",
    "PACED",
    "READ_METHODS",
    "RETRY_429",
    "SAFE",
    "CredentialPacing",
    "EpisodesTransport",
    "LiveTransport",
    "OffTarget",
    "RateBudget",
    "RecordingTransport",
    "ReplayTransport",
    "SharedReads",
    "SharingTransport",
    "TargetGuard",
    "UnmatchedRequest",
    "requested_methods",
    "safe_mark",
]

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRY_429 = "contractgate.retry_on_429"
PACED = "contractgate.paced"  # a quota-observing request still paced to its credential's declared rate
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
    """At most `rate` requests per second to one target (or one credential), shared by every rule of a run.

    Without a `window` the requests are spaced evenly, 1 / rate apart. With a `window` of N (a vendor's
    "N requests per minute") they may leave back to back, as long as no more than N are in flight or were
    answered within the last N / rate seconds: a vendor's window counts a request when it reaches the server,
    which is after it left here and before its answer arrives, so the N+1th the server could see in one
    window never leaves. A credential idle for a while (its lane busy with another key) may thus catch up.
    """

    rate: float | None = None  # None, 0 or math.inf: unthrottled
    window: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _next_slot: float = 0.0
    _in_flight: int = 0
    _answered: deque[float] = field(default_factory=deque)

    def wait(self, sleep: Callable[[float], None] = time.sleep) -> None:
        """Block until the next request may leave; with a window it counts as in flight until `answered`."""
        if not self.rate or math.isinf(self.rate):
            return
        if self.window:
            self._wait_in_window(sleep)
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_slot)
            self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            sleep(slot - now)

    def _wait_in_window(self, sleep: Callable[[float], None]) -> None:
        assert self.rate is not None
        span = self.window / self.rate
        while True:
            with self._lock:
                now = time.monotonic()
                while self._answered and self._answered[0] <= now - span:
                    self._answered.popleft()
                self._in_flight += 1  # this request's place, in the window from now on
                if self._in_flight + len(self._answered) <= self.window:
                    return
                if self._answered:
                    # it leaves when the oldest answer ages out: that answer no longer counts for anyone
                    slot = self._answered.popleft() + span
                    break
                self._in_flight -= 1  # every place is taken by requests in flight: wait for one to answer
            sleep(1.0 / self.rate)
        sleep(slot - now)

    def departed(self) -> None:
        """Count a request that left without waiting (a rule spending the quota on purpose) as in flight."""
        if self.window:
            with self._lock:
                self._in_flight += 1

    def answered(self) -> None:
        """Note that the answer of a request counted in flight arrived (what the window counts from)."""
        if not self.window:
            return
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._answered.append(time.monotonic())
            while len(self._answered) > self.window:
                self._answered.popleft()


@dataclass
class CredentialPacing:
    """One rate budget per target key and credential, at the rate the contracts declare for that credential.

    `declared` maps (target name, credential name) to the documented (requests, seconds); a target with a
    configured rate (`--rate`, the file's `rate`) is paced by that rate alone, never by what is declared.
    """

    declared: Mapping[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    configured: Callable[[str], float | None] = lambda _key: None
    _budgets: dict[tuple[str, str], RateBudget] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def budget(self, target_key: str, credential: CredentialId) -> RateBudget | None:
        """The budget of one credential on one target key, or None when nothing paces it beyond the target."""
        if self.configured(target_key) is not None:
            return None
        name = target_key.partition(":")[0]
        limits = [self.declared[(name, each)] for each in credential.names if (name, each) in self.declared]
        if not limits:
            return None
        requests, seconds = min(limits, key=lambda limit: limit[0] / limit[1])
        key = (target_key, credential.fingerprint)
        with self._lock:
            if key not in self._budgets:
                self._budgets[key] = RateBudget(requests / seconds, window=requests)
            return self._budgets[key]


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
        pacing: CredentialPacing | None = None,
    ) -> None:
        self._owns_inner = inner is None
        self.pacing = pacing or CredentialPacing()
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
        observes = request.extensions.get(RETRY_429, True) is False
        retryable = request.method in READ_METHODS and not observes
        pace = self._credential_budget(request, guard)
        attempt = 0
        while True:
            guard.budget.wait(self.sleep)
            # a rule that spends the quota on purpose is not held back, unless it spends a longer one than the rate's
            if pace is not None and (not observes or request.extensions.get(PACED) is True):
                pace.wait(self.sleep)
            elif pace is not None:
                pace.departed()
            self.methods_sent.append(request.method)
            try:
                response = self.inner.handle_request(request)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                raise TargetUnreachable(f"{_origin(request.url)} is unreachable: {exc}") from exc
            finally:
                if pace is not None:
                    pace.answered()
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

    def _credential_budget(self, request: httpx.Request, guard: TargetGuard) -> RateBudget | None:
        identity = request.extensions.get(CREDENTIAL)
        return self.pacing.budget(guard.key, identity) if isinstance(identity, CredentialId) else None

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


ReadKey = tuple[str, str, str, tuple[tuple[str, str], ...], bytes]


def read_key(request: httpx.Request) -> ReadKey | None:
    """What makes two requests the same safe read (method, URL, credential, headers, body), or None.

    Only GET, HEAD and a POST the contract marks `safe` qualify, never a request that observes the quota
    (`retry_on_429: false`) nor one whose auth deviates on purpose; the headers an auth hook set count by
    their meaning (the credential), not by their bytes (a signature that carries a timestamp).
    """
    if request.extensions.get(RETRY_429, True) is False or requested_methods(request) != [request.method]:
        return None
    safe_post = request.method == "POST" and request.extensions.get(SAFE) == safe_mark(request)
    if request.method not in {"GET", "HEAD"} and not safe_post:
        return None
    shape = request.extensions.get(AUTH_SHAPE)
    if shape is not None and (not isinstance(shape, AuthShape) or not shape.repeatable):
        return None
    skip = shape.headers if shape is not None else frozenset()
    headers = tuple(sorted((k.lower(), v) for k, v in request.headers.multi_items() if k.lower() not in skip))
    return (request.method, str(request.url), shape.digest if shape is not None else "", headers, request.content)


def _writes(request: httpx.Request) -> bool:
    """Whether a request may change something: a non-reading method (or override) without its `safe` mark."""
    methods = requested_methods(request)
    if all(method in READ_METHODS for method in methods):
        return False
    return methods != [request.method] or request.extensions.get(SAFE) != safe_mark(request)


def only_expires_cookies(response: httpx.Response) -> bool:
    """Whether every Set-Cookie of an answer (none included) deletes its cookie, so the answer opens no session."""
    return all(_expires(value) for value in response.headers.get_list("set-cookie"))


def _expires(set_cookie: str) -> bool:
    """A Set-Cookie value whose Max-Age is at most 0 or, without Max-Age, whose Expires has passed (RFC 6265)."""
    attributes: dict[str, str] = {}
    for part in set_cookie.split(";")[1:]:
        name, _, value = part.partition("=")
        attributes[name.strip().lower()] = value.strip()
    if "max-age" in attributes:
        return attributes["max-age"].lstrip("-").isdigit() and int(attributes["max-age"]) <= 0
    try:
        expires = email.utils.parsedate_to_datetime(attributes.get("expires", ""))
    except (TypeError, ValueError):
        return False
    return expires.timestamp() <= time.time()


@dataclass
class _Stored:
    status: int
    headers: list[tuple[str, str]]
    content: bytes


@dataclass
class SharedReads:
    """The run-wide cache of safe, identical reads: one answer shared by the rules that ask the same thing.

    It lives for one run only and forgets everything at any write (whatever its target: one vendor's APIs
    may share data). Only answers that say something about conformance are kept: no 5xx, no 429, nothing
    that sets a cookie (a session belongs to the rule that opened it); an answer that only expires cookies
    (a 401 clearing a session token) opens no session and is kept.
    """

    saved: int = 0
    _answers: dict[ReadKey, _Stored] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: ReadKey, request: httpx.Request) -> httpx.Response | None:
        """A fresh copy of the answer kept for `key`, bound to `request`, or None."""
        with self._lock:
            stored = self._answers.get(key)
            if stored is None:
                return None
            self.saved += 1
        return httpx.Response(stored.status, headers=stored.headers, content=stored.content, request=request)

    def keep(self, key: ReadKey, response: httpx.Response) -> None:
        """Keep an answer for the rules that will ask the same."""
        if response.status_code >= 500 or response.status_code == 429 or not only_expires_cookies(response):
            return
        stored = _Stored(response.status_code, list(response.headers.multi_items()), response.read())
        with self._lock:
            self._answers[key] = stored

    def forget(self) -> None:
        """Drop every kept answer (a write may have changed any of them)."""
        with self._lock:
            self._answers.clear()


class SharingTransport(httpx.BaseTransport):
    """One rule's door to the run-wide cache: its safe reads may be answered by another rule's identical one.

    A rule never gets its own earlier answer back (a rule that repeats a request wants to see it again), a
    rule that does not `share` neither reads nor fills the cache, and every write clears it before it leaves.
    """

    def __init__(self, inner: httpx.BaseTransport, shared: SharedReads, *, share: bool = True) -> None:
        self.inner = inner
        self.shared = shared
        self.share = share
        self._asked: set[ReadKey] = set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer from the cache when another rule asked the same; otherwise send (and keep the answer)."""
        request.read()
        key = read_key(request)
        if key is None:
            if _writes(request):
                self.shared.forget()
            return self.inner.handle_request(request)
        if not self.share:
            return self.inner.handle_request(request)
        first_time = key not in self._asked
        self._asked.add(key)
        cached = self.shared.get(key, request) if first_time else None
        if cached is not None:
            return cached
        response = self.inner.handle_request(request)
        response.read()
        self.shared.keep(key, response)
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
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
