"""tcex against the ThreatConnect reference server: its auth classes, its signer vs ours, and its own paging.

`reference_authorization` is an independent implementation of the documented HMAC scheme; other
tests (the engine's signer) can compare against it. The server is HTTPS with a CA made at start; tcex
trusts it the way its users trust a private CA, through `REQUESTS_CA_BUNDLE`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from tcex.api.tc.v2.threat_intelligence.threat_intelligence import ThreatIntelligence
from tcex.api.tc.v3.v3 import V3
from tcex.input.field_type.sensitive import Sensitive
from tcex.requests_tc.auth import hmac_auth
from tcex.requests_tc.auth.hmac_auth import HmacAuth
from tcex.requests_tc.auth.token_auth import TokenAuth
from tcex.requests_tc.tc_session import TcSession

from contractgate.servers import RunningServer, serve_in_thread
from contractgate.servers.threatconnect import ThreatConnectServer
from contractgate.servers.threatconnect._data import Store

__all__ = ["reference_authorization", "reference_signature", "signed_string"]

FROZEN = 1513703787
APP = "https://app.example"
VECTOR_SECRET = "my-secret-key"
# vendor-facts section 2.2: (string to sign, expected signature) for secret "my-secret-key".
VECTORS = [
    ("/api/v2/owners:GET:1513703787", "vEIhkRRTvDGuNDF10fRaIkzKNfK8Wi8RJMGTmY30GtE="),
    ("/v2/owners:GET:1513703787", "EqNge9RqV+1neAQKpRQAoOE+kazoyQR1YMB+/gB123Y="),
    (
        "/api/v2/indicators/hosts/example.com?Owner=Common%20Community:GET:1513703787",
        "YsKaqRtwrcIhE3aoWqlErWBqJTN4M+0D1SunZs/9AHw=",
    ),
    (
        "/api/v3/indicators?owner=Demo+Community:GET:1513703787",
        "dZcF200ZdMT5XHNUPqWra3PahSs4/CcaeGqdg5N6RzQ=",
    ),
    (
        "/api/v3/indicators?owner=Demo%20Community:GET:1513703787",
        "eG9tzzy7Lr87Z15yEBThdX2QbDO8LFFpwVnW+IO9pIc=",
    ),
]


def signed_string(url: str, method: str, timestamp: int | str) -> str:
    """`<path>[?<query>]:<METHOD>:<Timestamp>` for a URL exactly as sent (no re-encoding)."""
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    return f"{target}:{method.upper()}:{timestamp}"


def reference_signature(secret: str, message: str) -> str:
    """Standard padded base64 of HMAC-SHA256 over `message`, keyed by the Secret Key."""
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def reference_authorization(
    access_id: str,
    secret: str,
    url: str,
    method: str,
    timestamp: int | str,
) -> str:
    """The documented `Authorization: TC <AccessID>:<signature>` value for one request."""
    signature = reference_signature(secret, signed_string(url, method, timestamp))
    return f"TC {access_id}:{signature}"


class _FrozenClock:
    """Replaces the `time` module inside tcex's signer."""

    @staticmethod
    def time() -> float:
        return float(FROZEN)


@pytest.fixture(scope="module")
def running() -> Iterator[RunningServer]:
    with serve_in_thread(ThreatConnectServer()) as live:
        yield live


@pytest.fixture
def base(running: RunningServer, monkeypatch: pytest.MonkeyPatch) -> str:
    server = running.server
    server.switch.set(())
    server.reset()
    # requests lets REQUESTS_CA_BUNDLE override a session's `verify`, so this is how a tcex user trusts a CA.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(running.ca_pem))
    return running.urls["threatconnect"]


def _hmac(running: RunningServer) -> HmacAuth:
    known = running.server.credentials
    return HmacAuth(known["ACCESS_ID"], Sensitive(known["SECRET_KEY"]))


def _tcex_header(
    monkeypatch: pytest.MonkeyPatch, request: requests.Request, access_id: str, secret: str
) -> tuple[str, str]:
    """tcex's Authorization header for a prepared request at the frozen time, and the sent URL."""
    monkeypatch.setattr(hmac_auth, "time", _FrozenClock)
    prepared = request.prepare()
    HmacAuth(access_id, Sensitive(secret))(prepared)
    assert prepared.url is not None
    assert prepared.headers["Timestamp"] == str(FROZEN)
    return prepared.headers["Authorization"], prepared.url


# --- the reference signer ---------------------------------------------------------------------


@pytest.mark.parametrize(("message", "expected"), VECTORS)
def test_reference_signer_reproduces_the_vectors(message: str, expected: str) -> None:
    assert reference_signature(VECTOR_SECRET, message) == expected


def test_signed_string_keeps_the_bytes_as_sent() -> None:
    bare = signed_string("https://h/api/v2/owners", "get", FROZEN)
    assert bare == "/api/v2/owners:GET:1513703787"
    plus = signed_string("https://h/api/v3/indicators?owner=Demo+Community", "GET", FROZEN)
    assert plus == VECTORS[3][0]
    percent = signed_string("https://h/api/v3/indicators?owner=Demo%20Community", "GET", FROZEN)
    assert percent == VECTORS[4][0]


# --- tcex's signer versus the reference -------------------------------------------------------


DEMO = {"owner": "Demo Community"}
DOCS_EXAMPLE = f"{APP}/api/v2/indicators/hosts/example.com?Owner=Common%20Community"


@pytest.mark.parametrize(
    ("request_", "vector"),
    [
        (requests.Request("GET", f"{APP}/api/v2/owners"), 0),
        (requests.Request("GET", f"{APP}/api/v3/indicators", params=DEMO), 3),
        (requests.Request("GET", f"{APP}/api/v3/indicators?owner=Demo%20Community"), 4),
        (requests.Request("GET", DOCS_EXAMPLE), 2),
    ],
    ids=["no-query", "plus", "percent-20", "docs-example"],
)
def test_tcex_header_equals_the_reference_and_the_vector(
    monkeypatch: pytest.MonkeyPatch, request_: requests.Request, vector: int
) -> None:
    access_id = "12345678901234567890"
    theirs, sent = _tcex_header(monkeypatch, request_, access_id, VECTOR_SECRET)
    ours = reference_authorization(access_id, VECTOR_SECRET, sent, "GET", FROZEN)
    assert theirs == ours
    assert theirs == f"TC {access_id}:{VECTORS[vector][1]}"


def test_tcex_signs_plus_and_percent_20_differently(monkeypatch: pytest.MonkeyPatch) -> None:
    plus = requests.Request("GET", f"{APP}/api/v3/indicators", params=DEMO)
    percent = requests.Request("GET", f"{APP}/api/v3/indicators?owner=Demo%20Community")
    plus_header, plus_url = _tcex_header(monkeypatch, plus, "1", VECTOR_SECRET)
    percent_header, percent_url = _tcex_header(monkeypatch, percent, "1", VECTOR_SECRET)
    assert plus_url.endswith("?owner=Demo+Community")
    assert percent_url.endswith("?owner=Demo%20Community")
    assert plus_header != percent_header


def test_tcex_signs_the_method_and_a_complex_query(monkeypatch: pytest.MonkeyPatch) -> None:
    params = {"tql": 'summary like "%bad%"', "fields": ["tags", "attributes"], "owner": "A B"}
    for method in ("GET", "DELETE", "OPTIONS"):
        request = requests.Request(method, "https://h/api/v3/indicators", params=params)
        theirs, sent = _tcex_header(monkeypatch, request, "7", "s3cret")
        assert theirs == reference_authorization("7", "s3cret", sent, method, FROZEN)


# --- tcex against the running reference server ------------------------------------------------


def test_tcex_hmac_auth_is_accepted(base: str, running: RunningServer) -> None:
    auth = _hmac(running)
    response = requests.get(f"{base}/v2/owners", auth=auth, timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["data"]["resultCount"] == 3


@pytest.mark.parametrize(
    "url",
    [
        "{base}/v2/indicators/hosts?owner=Common+Community&resultLimit=5",
        "{base}/v2/indicators/hosts?owner=Common%20Community&resultLimit=5",
    ],
    ids=["plus", "percent-20"],
)
def test_tcex_hmac_either_space_encoding(base: str, running: RunningServer, url: str) -> None:
    response = requests.get(url.format(base=base), auth=_hmac(running), timeout=5)
    assert response.status_code == 200
    owners = {item["owner"]["name"] for item in response.json()["data"]["host"]}
    assert owners == {"Common Community"}


def test_tcex_hmac_with_requests_params(base: str, running: RunningServer) -> None:
    params = {"owner": "Common Community", "tql": 'typeName EQ "Host"', "fields": ["tags"]}
    response = requests.get(f"{base}/v3/indicators", params=params, auth=_hmac(running), timeout=5)
    assert response.status_code == 200
    assert "+" in (response.request.url or "")
    assert {item["type"] for item in response.json()["data"]} == {"Host"}


def test_tcex_token_auth_is_accepted(base: str, running: RunningServer) -> None:
    token = running.server.credentials["API_TOKEN"]
    for auth in (TokenAuth(Sensitive(token)), TokenAuth(token), TokenAuth(lambda: token)):
        response = requests.get(f"{base}/v3/indicators?resultLimit=2", auth=auth, timeout=5)
        assert response.status_code == 200
        assert response.request.headers["Timestamp"]  # tcex adds one; the server ignores it
        assert len(response.json()["data"]) == 2


def test_tcex_expired_token_is_refused(base: str, running: RunningServer) -> None:
    expired = TokenAuth(Sensitive(running.server.credentials["EXPIRED_API_TOKEN"]))
    response = requests.get(f"{base}/v2/owners", auth=expired, timeout=5)
    assert response.status_code == 401
    assert response.json()["status"] == "Error"


# --- tcex's own paging, v3 and v2, with no loop of ours ----------------------------------------


def _session(running: RunningServer, base: str, *, token: bool = True) -> tuple[TcSession, list[str]]:
    """tcex's TcSession on the server's base, as a tcex App builds it, and the URLs it requested."""
    known = running.server.credentials
    auth: HmacAuth | TokenAuth = TokenAuth(Sensitive(known["API_TOKEN"])) if token else _hmac(running)
    session = TcSession(auth=auth, base_url=base, verify=str(running.ca_pem))
    requested: list[str] = []
    session.hooks["response"].append(lambda response, *_, **__: requested.append(response.request.url))
    return session, requested


def _store(running: RunningServer) -> Store:
    server = running.server
    assert isinstance(server, ThreatConnectServer)
    return server.store


def test_tcex_v3_iterates_every_indicator_page(base: str, running: RunningServer) -> None:
    session, requested = _session(running, base)
    seen = [indicator.model.id for indicator in V3(session).indicators(params={"result_limit": 50})]
    store = _store(running)
    wanted = [item.id for item in store.indicators if item.owner.readable and item.active]
    assert len(seen) == len(wanted) == 260
    assert seen == wanted
    assert len(requested) == 6  # five full pages and a short one, each via the previous page's next link
    assert all(url.startswith(base + "/v3/indicators?") for url in requested)


def test_tcex_v3_iterates_every_group_page(base: str, running: RunningServer) -> None:
    session, requested = _session(running, base, token=False)
    seen = [group.model.id for group in V3(session).groups(params={"result_limit": 10})]
    wanted = [group.id for group in _store(running).groups if group.owner.readable]
    assert len(seen) == len(wanted) == 44
    assert seen == wanted
    assert len(requested) == 5
    assert all(url.startswith(base + "/v3/groups?") for url in requested)


def test_tcex_v3_users_and_deleted_indicators(base: str, running: RunningServer) -> None:
    session, _ = _session(running, base)
    api = V3(session)
    store = _store(running)
    assert [user.model.user_name for user in api.users()] == [user.user_name for user in store.users]
    deleted = [(item.model.type, item.model.summary) for item in api.indicators().deleted(deleted_since=None)]
    assert deleted == [(entry.kind.name, entry.summary) for entry in store.deleted]


@pytest.mark.parametrize("page", [10000, 40], ids=["tcex-default-page", "small-pages"])
def test_tcex_v2_iterates_every_indicator_and_group(base: str, running: RunningServer, page: int) -> None:
    session, requested = _session(running, base, token=False)
    intel = ThreatIntelligence(session)
    indicators, groups = intel.indicator(), intel.group()
    indicators.tc_requests.result_limit = groups.tc_requests.result_limit = page  # tcex's own page size knob
    seen_indicators = [item["id"] for item in indicators.many()]
    seen_groups = [item["id"] for item in groups.many()]
    store = _store(running)
    own = store.organization
    assert seen_indicators == [item.id for item in store.indicators if item.owner == own and item.active]
    assert seen_groups == [group.id for group in store.groups if group.owner == own]
    assert (len(seen_indicators), len(seen_groups)) == (150, 35)
    pages = [url for url in requested if "/v2/indicators?" in url or "/v2/groups?" in url]
    assert len(pages) == (2 if page == 10000 else 4 + 1)


def test_tcex_is_refused_over_plain_http(running: RunningServer, base: str) -> None:
    session, _ = _session(running, running.urls["threatconnect-http"])
    with pytest.raises(RuntimeError, match="403"):
        list(V3(session).indicators(params={"result_limit": 50}))


def test_a_plain_http_next_link_breaks_tcex_after_page_one(base: str, running: RunningServer) -> None:
    running.server.switch.set(["next-plain-http"])
    try:
        session, requested = _session(running, base)
        with pytest.raises(RuntimeError, match="Error during pagination"):
            [indicator.model.id for indicator in V3(session).indicators(params={"result_limit": 50})]
    finally:
        running.server.switch.set(())
    # tcex took the http:// link as relative and glued it to its base: page 2 was never reached.
    assert len(requested) == 2
    assert requested[1].startswith(base + "http://")
