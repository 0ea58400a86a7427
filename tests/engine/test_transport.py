"""Live transport guards: only configured bases, writes per target opt-in, overrides, safe POSTs, 429, budgets."""

from __future__ import annotations

import itertools
import time

import httpx
import pytest

from contractgate._auth import CredentialId, HeaderAuth, HmacAuth
from contractgate._contract import HmacScheme
from contractgate._errors import TargetUnreachable, WriteBlocked
from contractgate._redact import Redactor
from contractgate._transport import (
    RETRY_429,
    SAFE,
    CredentialPacing,
    LiveTransport,
    OffTarget,
    RateBudget,
    SharedReads,
    SharingTransport,
    TargetGuard,
    requested_methods,
    retry_after_seconds,
    safe_mark,
)

WRITABLE = TargetGuard("h", "https://h", writes=True)
READ_ONLY = TargetGuard("h", "https://h")


class Recorder(httpx.BaseTransport):
    """Answers from a script of statuses and remembers every method it saw."""

    def __init__(self, statuses: list[int], retry_after: str | None = "2") -> None:
        self.statuses = statuses
        self.methods: list[str] = []
        self.retry_after = retry_after

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        status = self.statuses.pop(0) if self.statuses else 200
        headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}
        return httpx.Response(status, headers=headers)


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_never_leave_without_opt_in(method: str) -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[TargetGuard("prod", "https://prod.example/api")]))
    with pytest.raises(WriteBlocked, match="does not allow writes"):
        client.request(method, "https://prod.example/api/x")
    assert inner.methods == []


def test_reads_pass_and_writes_pass_with_opt_in() -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[WRITABLE]))
    assert client.get("https://h/x").status_code == 200
    assert client.post("https://h/x").status_code == 200
    assert inner.methods == ["GET", "POST"]


def test_429_on_a_read_waits_retry_after_then_retries() -> None:
    slept: list[float] = []
    inner = Recorder([429, 429, 200])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY], sleep=slept.append))
    assert client.get("https://h/x").status_code == 200
    assert inner.methods == ["GET", "GET", "GET"]
    assert slept == [2.0, 2.0]


def test_a_write_is_never_retried() -> None:
    slept: list[float] = []
    inner = Recorder([429, 200])
    client = httpx.Client(transport=LiveTransport(inner, targets=[WRITABLE], sleep=slept.append))
    assert client.post("https://h/x").status_code == 429
    assert inner.methods == ["POST"]
    assert slept == []


def test_a_rule_can_ask_to_see_the_429() -> None:
    inner = Recorder([429, 200])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY], sleep=lambda _: None))
    request = client.build_request("GET", "https://h/x", extensions={RETRY_429: False})
    assert client.send(request).status_code == 429


def test_retry_after_beyond_the_cap_is_returned_not_waited() -> None:
    inner = Recorder([429], retry_after="3600")
    client = httpx.Client(
        transport=LiveTransport(inner, targets=[READ_ONLY], max_wait=60, sleep=lambda _: pytest.fail("slept"))
    )
    assert client.get("https://h/x").status_code == 429


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_rate_budget_spaces_requests() -> None:
    slept: list[float] = []
    budget = RateBudget(rate=10)
    for _ in range(4):
        budget.wait(slept.append)
    # The clock does not move while nobody really sleeps, so each request waits one more slot.
    assert len(slept) == 3
    assert [round(b - a, 2) for a, b in itertools.pairwise(slept)] == [0.1, 0.1]


def test_unreachable_target_is_a_setup_error() -> None:
    client = httpx.Client(transport=LiveTransport(targets=[TargetGuard("gone", "http://127.0.0.1:9")]), timeout=2)
    with pytest.raises(TargetUnreachable, match="unreachable"):
        client.get("http://127.0.0.1:9/x")


# --- each request is checked on its own URL -------------------------------------------------------

STAGING = TargetGuard("vendor:staging", "https://staging.example/api", writes=True)
PRODUCTION = TargetGuard("vendor:production", "https://prod.example/api")


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_a_write_opt_in_covers_only_its_own_target(method: str) -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[STAGING, PRODUCTION]))
    assert client.request(method, "https://staging.example/api/x").status_code == 200
    with pytest.raises(WriteBlocked, match="target vendor:production does not allow writes"):
        client.request(method, "https://prod.example/api/x")
    assert inner.methods == [method]


@pytest.mark.parametrize(
    "url",
    [
        "https://elsewhere.example/api/x",  # another host
        "http://prod.example/api/x",  # another scheme
        "https://prod.example:8443/api/x",  # another port
        "https://prod.example/other/x",  # the same origin, outside the base path
        "https://prod.example/apix",  # a prefix of the base path is not under it
    ],
)
def test_a_url_under_no_configured_base_is_never_sent(url: str) -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[PRODUCTION]))
    with pytest.raises(OffTarget, match="under no configured target base"):
        client.get(url, headers={"X-APIKEY": "k"})
    assert inner.methods == []


def test_the_default_port_is_the_same_origin() -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[PRODUCTION]))
    assert client.get("https://prod.example:443/api/x").status_code == 200


def test_an_off_target_refusal_masks_secrets() -> None:
    client = httpx.Client(
        transport=LiveTransport(Recorder([]), targets=[PRODUCTION], redactor=Redactor(["s3cret-token-value"]))
    )
    with pytest.raises(OffTarget) as refused:
        client.get("https://evil.example/x?key=s3cret-token-value")
    assert "s3cret-token-value" not in str(refused.value)
    assert "REDACTED" in str(refused.value)


# --- a method override is a write ---------------------------------------------------------------


@pytest.mark.parametrize("header", ["X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"])
@pytest.mark.parametrize("value", ["DELETE", "put", "PATCH", "POST"])
def test_a_get_overridden_to_a_write_by_header_is_refused(header: str, value: str) -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY]))
    with pytest.raises(WriteBlocked, match=f"asks the server for {value.upper()}"):
        client.get("https://h/x", headers={header: value})
    assert inner.methods == []


@pytest.mark.parametrize(
    "body",
    [
        {"params": {"_method": "DELETE"}},  # query
        {"params": {"_METHOD": "delete"}},  # query, any case
        {"data": {"_method": "DELETE", "name": "x"}},  # urlencoded form field
        {"files": {"upload": ("a.txt", b"x")}, "data": {"_method": "DELETE"}},  # multipart form field
        {"json": {"_method": "DELETE"}},  # JSON field (Rails and Laravel read it)
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_read_overridden_by_a_method_field_is_refused(method: str, body: dict[str, object]) -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY]))
    with pytest.raises(WriteBlocked, match="asks the server for DELETE"):
        client.request(method, "https://h/x", **body)  # type: ignore[arg-type]
    assert inner.methods == []


def test_an_override_to_a_read_and_an_opted_in_override_pass() -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY]))
    assert client.get("https://h/x", headers={"X-HTTP-Method-Override": "HEAD"}).status_code == 200
    writable = httpx.Client(transport=LiveTransport(inner, targets=[WRITABLE]))
    assert writable.get("https://h/x", params={"_method": "DELETE"}).status_code == 200
    assert inner.methods == ["GET", "GET"]


def test_requested_methods_lists_every_override() -> None:
    request = httpx.Request(
        "GET", "https://h/x?_method=put", headers={"X-HTTP-Method": "patch"}, data={"_method": "delete"}
    )
    assert requested_methods(request) == ["GET", "PATCH", "PUT", "DELETE"]


# --- a documented-safe POST ------------------------------------------------------------------------


def _marked(client: httpx.Client, url: str, mark_url: str | None = None) -> httpx.Request:
    request = client.build_request("POST", url, json=["8.8.8.8"])
    request.extensions[SAFE] = safe_mark(client.build_request("POST", mark_url or url))
    return request


def test_a_safe_post_reaches_a_read_only_target_and_an_unmarked_one_does_not() -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY]))
    assert client.send(_marked(client, "https://h/v1/assess/ip")).status_code == 200
    with pytest.raises(WriteBlocked, match="does not allow writes"):
        client.post("https://h/v1/assess/ip", json=["8.8.8.8"])
    assert inner.methods == ["POST"]


def test_a_safe_mark_covers_only_its_own_operation() -> None:
    inner = Recorder([])
    client = httpx.Client(transport=LiveTransport(inner, targets=[READ_ONLY]))
    with pytest.raises(WriteBlocked):  # e.g. a redirect hop carries the first request's extensions
        client.send(_marked(client, "https://h/v1/delete/everything", mark_url="https://h/v1/assess/ip"))
    overridden = _marked(client, "https://h/v1/assess/ip")
    overridden.headers["X-HTTP-Method-Override"] = "DELETE"
    with pytest.raises(WriteBlocked, match="asks the server for DELETE"):
        client.send(overridden)
    assert inner.methods == []


# --- each target its own rate budget ------------------------------------------------------------


def test_each_target_spends_its_own_budget() -> None:
    slept: list[float] = []
    first = TargetGuard("a", "https://a", budget=RateBudget(rate=1))
    second = TargetGuard("b", "https://b", budget=RateBudget(rate=1))
    client = httpx.Client(transport=LiveTransport(Recorder([]), targets=[first, second], sleep=slept.append))
    client.get("https://a/x")
    client.get("https://b/x")  # not behind a's request: b's budget is untouched
    assert slept == []
    client.get("https://a/y")
    assert len(slept) == 1
    assert slept[0] == pytest.approx(1.0, abs=0.05)


def _spending(identity: CredentialId) -> HeaderAuth:
    return HeaderAuth({"Authorization": "Bearer x"}, identity)


KEY_A = CredentialId.of({"key": "secret-a"})
KEY_B = CredentialId.of({"key": "secret-b"})


def test_each_credential_is_paced_to_its_declared_rate() -> None:
    slept: list[float] = []
    pacing = CredentialPacing({("h", "key"): (2, 1.0)})
    target = TargetGuard("h:east", "https://h", budget=RateBudget(rate=None))
    client = httpx.Client(transport=LiveTransport(Recorder([]), targets=[target], sleep=slept.append, pacing=pacing))
    client.get("https://h/x", auth=_spending(KEY_A))
    client.get("https://h/x", auth=_spending(KEY_B))  # another key: its own budget, no wait
    client.get("https://h/y", auth=_spending(KEY_A))  # 2 a second: the second may follow at once
    assert slept == []
    client.get("https://h/z", auth=_spending(KEY_A))
    assert slept == [pytest.approx(1.0, abs=0.05)]  # the third, a second after the first answer
    client.get("https://h/y")  # no credential: the target's budget alone (unthrottled here)
    assert len(slept) == 1


def test_one_secret_under_two_names_shares_one_budget() -> None:
    assert CredentialId.of({"key": "same"}).fingerprint == CredentialId.of({"quota_key": "same"}).fingerprint
    slept: list[float] = []
    pacing = CredentialPacing({("h", "key"): (1, 1.0), ("h", "quota_key"): (1, 1.0)})
    target = TargetGuard("h", "https://h")
    client = httpx.Client(transport=LiveTransport(Recorder([]), targets=[target], sleep=slept.append, pacing=pacing))
    client.get("https://h/x", auth=_spending(CredentialId.of({"key": "same"})))
    client.get("https://h/x", auth=_spending(CredentialId.of({"quota_key": "same"})))
    assert slept == [pytest.approx(1.0, abs=0.05)]


def test_a_configured_rate_replaces_the_declared_one() -> None:
    pacing = CredentialPacing({("h", "key"): (1, 60.0)}, configured=lambda key: 100.0 if key == "h" else None)
    assert pacing.budget("h", KEY_A) is None  # the target's own budget (at 100/s) paces it
    assert pacing.budget("h:west", KEY_A) is not None
    assert pacing.budget("other", KEY_A) is None  # nothing declared there


def test_a_request_that_observes_the_quota_is_not_held_back() -> None:
    slept: list[float] = []
    pacing = CredentialPacing({("h", "key"): (1, 1.0)})
    client = httpx.Client(
        transport=LiveTransport(
            Recorder([]), targets=[TargetGuard("h", "https://h")], sleep=slept.append, pacing=pacing
        )
    )
    for _ in range(3):
        request = client.build_request("GET", "https://h/x", extensions={RETRY_429: False})
        client.send(request, auth=_spending(KEY_A))
    assert slept == []


def test_a_window_counts_from_each_answer() -> None:
    slept: list[float] = []
    budget = RateBudget(rate=1000, window=2)
    budget.wait(slept.append)
    budget.answered()
    budget.wait(slept.append)
    budget.answered()
    budget.wait(slept.append)  # the third within the window waits until the first answer is 2 ms old
    assert len(slept) == 1
    assert slept[-1] == pytest.approx(0.002, abs=0.001)


def test_an_idle_credential_sends_its_whole_window_at_once() -> None:
    # 10 a minute: after a pause (its lane busy with another key) the ten leave back to back, not 6 s apart
    slept: list[float] = []
    budget = RateBudget(rate=10 / 60, window=10)
    for _ in range(10):
        budget.wait(slept.append)
        budget.answered()
    assert slept == []


def test_requests_in_flight_count_against_the_window() -> None:
    slept: list[float] = []
    budget = RateBudget(rate=1000, window=2)

    answered_at: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if not answered_at:
            budget.answered()  # the first answer arrives while the third request waits
            answered_at.append(time.monotonic())
        time.sleep(seconds)

    budget.wait(sleep)
    budget.wait(sleep)
    assert slept == []  # two may leave at once
    budget.wait(sleep)  # both in flight: the third waits for an answer, then for that answer to be 2 ms old
    assert slept[0] == pytest.approx(0.001, abs=1e-6)
    assert time.monotonic() - answered_at[0] >= 0.002


def test_a_request_sent_on_purpose_without_waiting_still_fills_the_window() -> None:
    slept: list[float] = []
    budget = RateBudget(rate=1000, window=1)
    budget.departed()  # a quota rule's request, not held back, but the server counts it

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        budget.answered()
        time.sleep(seconds)

    budget.wait(sleep)
    assert slept


class Answers(httpx.BaseTransport):
    """Answers each request with a body naming how many requests it has seen, and remembers them."""

    def __init__(self, status: int = 200, headers: dict[str, str] | list[tuple[str, str]] | None = None) -> None:
        self.seen: list[str] = []
        self.status = status
        self.headers = headers or {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(f"{request.method} {request.url.path}")
        return httpx.Response(self.status, headers=self.headers, content=f"answer {len(self.seen)}".encode())


def _rules(inner: httpx.BaseTransport, count: int, **options: bool) -> list[httpx.Client]:
    """One client per rule, each through its own door to one run-wide cache."""
    shared = SharedReads()
    return [httpx.Client(transport=SharingTransport(inner, shared, **options)) for _ in range(count)]


BEARER_A = HeaderAuth({"Authorization": "Bearer a"}, CredentialId.of({"key": "a"}))


def test_an_identical_read_of_another_rule_is_answered_from_the_cache() -> None:
    inner = Answers()
    first, second = _rules(inner, 2)
    assert first.get("https://h/x", auth=BEARER_A).text == "answer 1"
    assert second.get("https://h/x", auth=BEARER_A).text == "answer 1"
    assert inner.seen == ["GET /x"]


def test_a_rule_that_repeats_a_request_gets_a_fresh_answer() -> None:
    inner = Answers()
    (rule,) = _rules(inner, 1)
    assert [rule.get("https://h/x").text for _ in range(2)] == ["answer 1", "answer 2"]


@pytest.mark.parametrize(
    "other",
    [
        {"auth": HeaderAuth({"Authorization": "Bearer b"}, CredentialId.of({"key": "b"}))},
        {"auth": BEARER_A, "headers": {"Accept": "text/xml"}},
        {"auth": BEARER_A, "params": {"page": 2}},
        {"auth": None},
    ],
    ids=["another credential", "another header", "another URL", "no credential"],
)
def test_a_read_that_differs_in_credential_header_or_url_is_sent(other: dict[str, object]) -> None:
    inner = Answers()
    first, second = _rules(inner, 2)
    first.get("https://h/x", auth=BEARER_A)
    second.get("https://h/x", **other)  # type: ignore[arg-type]
    assert len(inner.seen) == 2


def test_any_write_forgets_every_kept_answer() -> None:
    inner = Answers()
    first, writer, third = _rules(inner, 3)
    first.get("https://h/x")
    writer.post("https://other/y")
    assert third.get("https://h/x").text == "answer 3"


def test_a_safe_post_is_shared_and_an_unmarked_one_is_not() -> None:
    inner = Answers()
    rules = _rules(inner, 4)

    def post(client: httpx.Client, safe: bool) -> str:
        request = client.build_request("POST", "https://h/lookup", json=["1.1.1.1"])
        if safe:
            request.extensions[SAFE] = safe_mark(request)
        return client.send(request).text

    assert post(rules[0], safe=True) == "answer 1"
    assert post(rules[1], safe=True) == "answer 1"
    assert post(rules[2], safe=False) == "answer 2"  # a write: sent, and it clears the cache
    assert post(rules[3], safe=True) == "answer 3"


def test_a_request_that_observes_the_quota_or_signs_off_the_clock_is_never_shared() -> None:
    inner = Answers()
    rules = _rules(inner, 4)
    for client in rules[:2]:
        client.send(client.build_request("GET", "https://h/x", extensions={RETRY_429: False}))
    scheme = HmacScheme(
        type="hmac", key="secret", message="{path}:{timestamp}", headers={"Authorization": "{signature}"}
    )
    for client in rules[2:]:
        client.get("https://h/y", auth=HmacAuth(scheme, {"secret": "s"}, secret_field="secret", clock_offset=-301))
    assert len(inner.seen) == 4


def test_a_plain_signature_is_shared_though_its_bytes_differ() -> None:
    inner = Answers()
    scheme = HmacScheme(
        type="hmac", key="secret", message="{path}:{timestamp}", headers={"Authorization": "{signature}"}
    )
    clock = iter([1000.0, 2000.0])
    rules = _rules(inner, 2)
    for client in rules:
        client.get(
            "https://h/y", auth=HmacAuth(scheme, {"secret": "s"}, secret_field="secret", clock=lambda: next(clock))
        )
    assert len(inner.seen) == 1


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (503, {}),
        (429, {}),
        (200, {"Set-Cookie": "session=1"}),
        (401, {"Set-Cookie": "XSRF-TOKEN=; Max-Age=3600; Path=/"}),
        (401, {"Set-Cookie": "XSRF-TOKEN=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60"}),
        (401, [("Set-Cookie", "XSRF-TOKEN=; Max-Age=0"), ("Set-Cookie", "session=2; Path=/")]),
    ],
    ids=["5xx", "429", "a session cookie", "an emptied cookie still alive", "max-age beats expires", "one of two"],
)
def test_answers_that_say_nothing_or_open_a_session_are_not_kept(
    status: int, headers: dict[str, str] | list[tuple[str, str]]
) -> None:
    inner = Answers(status, headers)
    first, second = _rules(inner, 2)
    first.get("https://h/x")
    second.get("https://h/x")
    assert len(inner.seen) == 2


@pytest.mark.parametrize(
    "set_cookie",
    [
        "XSRF-TOKEN=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        "XSRF-TOKEN=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/",
    ],
    ids=["max-age 0", "expires in the past"],
)
def test_an_answer_that_only_expires_a_cookie_is_kept_with_its_header(set_cookie: str) -> None:
    inner = Answers(401, {"Set-Cookie": set_cookie})
    first, second = _rules(inner, 2)
    first.get("https://h/whoami")
    shared = second.get("https://h/whoami")
    assert len(inner.seen) == 1  # a 401 clearing a token opens no session: the second rule reads the first's answer
    assert (shared.status_code, shared.headers["Set-Cookie"]) == (401, set_cookie)


def test_a_rule_that_does_not_share_neither_reads_nor_fills_the_cache() -> None:
    inner = Answers()
    shared = SharedReads()
    fresh = httpx.Client(transport=SharingTransport(inner, shared, share=False))
    sharing = httpx.Client(transport=SharingTransport(inner, shared))
    assert fresh.get("https://h/w").text == "answer 1"
    assert sharing.get("https://h/w").text == "answer 2"  # not filled by the rule that does not share
    assert fresh.get("https://h/w").text == "answer 3"  # not read either
    assert shared.saved == 0
