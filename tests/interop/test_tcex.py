"""tcex's own auth classes against the ThreatConnect reference server, and tcex's signer vs ours.

`reference_authorization` is an independent implementation of the documented HMAC scheme; other
tests (the engine's signer) can compare against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from tcex.input.field_type.sensitive import Sensitive
from tcex.requests_tc.auth import hmac_auth
from tcex.requests_tc.auth.hmac_auth import HmacAuth
from tcex.requests_tc.auth.token_auth import TokenAuth

from contractgate.servers import RunningServer, serve_in_thread
from contractgate.servers.threatconnect import ThreatConnectServer

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
def base(running: RunningServer) -> str:
    server = running.server
    server.switch.set(())
    server.reset()
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


def test_tcex_style_iteration_over_next_links(base: str, running: RunningServer) -> None:
    auth = _hmac(running)
    params = {"owner": "Demo Source", "resultLimit": 6, "fields": "tags", "count": "true"}
    first = requests.get(f"{base}/v3/indicators", params=params, auth=auth, timeout=5).json()
    seen = [item["id"] for item in first["data"]]
    link = first.get("next")
    while link:
        # tcex drops its own params and requests the link unchanged, signing it as it stands.
        page = requests.get(link, auth=auth, timeout=5)
        assert page.status_code == 200, page.text
        seen += [item["id"] for item in page.json()["data"]]
        link = page.json().get("next")
    assert len(seen) == len(set(seen)) == first["count"]
