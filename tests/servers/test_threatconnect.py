"""The ThreatConnect reference server: its documented behaviour, and what each fault changes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest
from starlette.exceptions import StarletteDeprecationWarning

from contractgate.servers import UnknownFault
from contractgate.servers.threatconnect import ThreatConnectServer

with warnings.catch_warnings():
    # starlette.testclient prefers the httpx2 package and warns on import when it finds httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

HELP = "please contact sales@threatconnect.com if you wish to enable it"
NOT_LICENSED = f"API access has not been licensed for this system, {HELP}"
SIGNATURE = "Signature data did not match expected result"
SKEW = "Timestamp out of acceptable time range"
ORG, COMMUNITY, SOURCE = "Example Organization", "Common Community", "Demo Source"
EVERY_OWNER = {ORG, COMMUNITY, SOURCE}
V2, V3 = "/api/v2", "/api/v3"
HOSTS = f"{V2}/indicators/hosts"
INDICATORS = f"{V3}/indicators"


def sign(secret: str, target: str, method: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, '<path>[?<query>]:<METHOD>:<Timestamp>')), for the tests."""
    message = f"{target}:{method}:{timestamp}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Api:
    """Sends requests to the in-process apps, signed the way a client would."""

    def __init__(self, server: ThreatConnectServer) -> None:
        self.server = server
        apps = {app.target: app.asgi for app in server.apps()}
        # The instance is HTTPS (the scheme reaches the app through the ASGI scope); plain HTTP is refused.
        self.licensed = TestClient(apps["threatconnect"], base_url="https://testserver")
        self.unlicensed = TestClient(apps["threatconnect-unlicensed"], base_url="https://testserver")
        self.plain = TestClient(apps["threatconnect-http"], base_url="http://testserver")

    def hmac(
        self,
        target: str,
        method: str = "GET",
        *,
        offset: int = 0,
        signed_target: str | None = None,
        signed_method: str | None = None,
        secret: str | None = None,
        access_id: str | None = None,
        timestamp: str | None = None,
        headers: dict[str, str] | None = None,
        plain: bool = False,
    ) -> httpx.Response:
        """A request with `Authorization: TC id:signature` and `Timestamp` (over plain HTTP with `plain`)."""
        stamp = timestamp if timestamp is not None else str(int(time.time()) + offset)
        known = self.server.credentials
        signature = sign(
            secret or known["SECRET_KEY"],
            signed_target or target,
            signed_method or method,
            stamp,
        )
        auth = {
            "Authorization": f"TC {access_id or known['ACCESS_ID']}:{signature}",
            "Timestamp": stamp,
        }
        client = self.plain if plain else self.licensed
        return client.request(method, target, headers={**auth, **(headers or {})})

    def token(
        self,
        target: str,
        method: str = "GET",
        *,
        token: str | None = None,
        json: Any = None,
        licensed: bool = True,
    ) -> httpx.Response:
        """A request with `Authorization: TC-Token <token>` and nothing else."""
        value = token or self.server.credentials["API_TOKEN"]
        client = self.licensed if licensed else self.unlicensed
        headers = {"Authorization": f"TC-Token {value}"}
        return client.request(method, target, headers=headers, json=json)

    def anonymous(self, target: str) -> httpx.Response:
        """A request without credentials."""
        return self.licensed.get(target)

    def v2(self, target: str) -> dict[str, Any]:
        """The `data` of a signed v2 GET."""
        data: dict[str, Any] = self.hmac(target).json()["data"]
        return data

    def v3(self, target: str, method: str = "GET", **options: Any) -> dict[str, Any]:
        """The whole body of a v3 call made with the token."""
        body: dict[str, Any] = self.token(target, method, **options).json()
        return body

    def create(self, body: dict[str, Any]) -> httpx.Response:
        """A v3 POST /indicators."""
        return self.token(INDICATORS, "POST", json=body)


@pytest.fixture(scope="module")
def server() -> ThreatConnectServer:
    return ThreatConnectServer()


@pytest.fixture(scope="module")
def shared(server: ThreatConnectServer) -> Api:
    return Api(server)


@pytest.fixture
def api(server: ThreatConnectServer, shared: Api) -> Iterator[Api]:
    server.switch.set(())
    server.reset()
    yield shared
    server.switch.set(())
    server.reset()


def first_org_host(api: Api) -> str:
    """The Organization's first host (its name also exists, under a lower id, in the Community)."""
    return str(api.v2(f"{HOSTS}?resultLimit=1")["host"][0]["hostName"])


# --- authentication ---------------------------------------------------------------------------


def test_hmac_signature_over_the_raw_target_is_accepted(api: Api) -> None:
    response = api.hmac(f"{V2}/owners")
    assert response.status_code == 200
    assert response.json()["data"]["resultCount"] == 3


@pytest.mark.parametrize("query", ["owner=Common+Community", "owner=Common%20Community"])
def test_both_space_encodings_are_accepted_when_signed_as_sent(api: Api, query: str) -> None:
    response = api.hmac(f"{HOSTS}?{query}&resultLimit=3")
    assert response.status_code == 200
    assert {item["owner"]["name"] for item in response.json()["data"]["host"]} == {COMMUNITY}


def test_signature_over_the_other_space_encoding_is_refused(api: Api) -> None:
    response = api.hmac(
        f"{HOSTS}?owner=Common+Community",
        signed_target=f"{HOSTS}?owner=Common%20Community",
    )
    assert response.status_code == 401
    assert response.json() == {"status": "Error", "message": SIGNATURE}


def test_signature_without_the_mount_prefix_is_refused(api: Api) -> None:
    response = api.hmac(f"{V2}/owners", signed_target="/v2/owners")
    assert response.status_code == 401
    assert response.json()["message"] == SIGNATURE


def test_empty_query_is_signed_without_question_mark(api: Api) -> None:
    assert api.hmac(f"{V2}/whoami", signed_target=f"{V2}/whoami?").status_code == 401


def test_method_is_part_of_the_signature(api: Api) -> None:
    assert api.hmac(f"{V2}/owners", signed_method="POST").status_code == 401


def test_lower_case_header_names_work(api: Api, server: ThreatConnectServer) -> None:
    stamp = str(int(time.time()))
    signature = sign(server.credentials["SECRET_KEY"], f"{V2}/owners", "GET", stamp)
    headers = {
        "authorization": f"TC {server.credentials['ACCESS_ID']}:{signature}",
        "timestamp": stamp,
    }
    assert api.licensed.get(f"{V2}/owners", headers=headers).status_code == 200


# +302 rather than +301: a second that ticks between signing and checking shortens a future skew.
@pytest.mark.parametrize(
    ("offset", "status"),
    [(0, 200), (299, 200), (-299, 200), (302, 401), (-301, 401)],
)
def test_clock_window_is_five_minutes_both_ways(api: Api, offset: int, status: int) -> None:
    response = api.hmac(f"{V2}/owners", offset=offset)
    assert response.status_code == status
    if status == 401:
        assert response.json()["message"] == SKEW


@pytest.mark.parametrize("stamp", ["", "abc", "1513703787.5"])
def test_unusable_timestamp_is_invalid(api: Api, stamp: str) -> None:
    response = api.hmac(f"{V2}/owners", timestamp=stamp)
    assert (response.status_code, response.json()["message"]) == (401, "Invalid timestamp")


def test_unknown_access_id_is_access_denied(api: Api) -> None:
    response = api.hmac(f"{V2}/owners", access_id="00000000000000000000")
    assert (response.status_code, response.json()["message"]) == (401, "Access Denied")


def test_token_alone_authenticates_v2_and_v3(api: Api) -> None:
    assert api.token(f"{V2}/owners").status_code == 200
    assert api.token(f"{INDICATORS}?resultLimit=1").status_code == 200


def test_expired_and_unknown_tokens_are_401(api: Api, server: ThreatConnectServer) -> None:
    expired = api.token(f"{V2}/owners", token=server.credentials["EXPIRED_API_TOKEN"])
    unknown = api.token(INDICATORS, token="APIV2:1:abcdef:1234567890123:bm9wZQ==")
    assert (expired.status_code, unknown.status_code) == (401, 401)
    assert expired.json()["status"] == "Error"


def test_no_credentials_is_403(api: Api) -> None:
    assert api.anonymous(f"{V2}/owners").status_code == 403
    assert api.anonymous(INDICATORS).status_code == 403


def test_unlicensed_instance_answers_every_call_with_503(api: Api) -> None:
    for path in (f"{V2}/owners", INDICATORS, f"{V2}/no/such/path"):
        response = api.token(path, licensed=False)
        assert response.status_code == 503
        assert response.json()["message"] == NOT_LICENSED


def test_configured_credentials_replace_the_defaults() -> None:
    access_id = "11112222333344445555"
    custom = Api(ThreatConnectServer(credentials={"ACCESS_ID": access_id, "SECRET_KEY": "canary"}))
    assert custom.v2(f"{V2}/whoami")["user"]["userName"] == access_id
    assert custom.hmac(f"{V2}/whoami", secret="the-default-secret-is-gone").status_code == 401


def test_server_signature_helper_matches_the_documented_vectors() -> None:
    from contractgate.servers.threatconnect._gate import signature, string_to_sign

    vectors = [
        ("/api/v2/owners:GET:1513703787", "vEIhkRRTvDGuNDF10fRaIkzKNfK8Wi8RJMGTmY30GtE="),
        (
            "/api/v3/indicators?owner=Demo+Community:GET:1513703787",
            "dZcF200ZdMT5XHNUPqWra3PahSs4/CcaeGqdg5N6RzQ=",
        ),
    ]
    for message, expected in vectors:
        assert signature("my-secret-key", message) == expected
    assert string_to_sign("/api/v2/owners", "", "GET", "1") == "/api/v2/owners:GET:1"
    assert string_to_sign("/a", "b=c", "PUT", "1") == "/a?b=c:PUT:1"


# --- envelopes --------------------------------------------------------------------------------


def test_v2_list_envelope_and_headers(api: Api) -> None:
    response = api.hmac(f"{V2}/indicators?resultLimit=2")
    body = response.json()
    assert response.headers["content-type"] == "application/json"
    assert set(body) == {"status", "data"}
    assert body["status"] == "Success"
    assert body["data"]["resultCount"] == 150
    assert len(body["data"]["indicator"]) == 2


def test_v2_single_resources(api: Api) -> None:
    organization = {"id": 1, "name": ORG, "type": "Organization"}
    assert api.v2(f"{V2}/owners/mine") == {"resultCount": 1, "owner": organization}
    host = first_org_host(api)
    single = api.v2(f"{HOSTS}/{host}")
    assert set(single) == {"host"}
    assert single["host"]["hostName"] == host


def test_v2_trailing_slash_is_the_same_resource(api: Api) -> None:
    response = api.hmac(f"{HOSTS}/?owner=Common%20Community&resultLimit=1")
    assert response.status_code == 200
    assert response.json()["data"]["resultCount"] == 25


def test_v2_errors(api: Api) -> None:
    missing = api.hmac(f"{HOSTS}/nothing.contractgate.invalid")
    assert missing.status_code == 404
    assert missing.json() == {"status": "Error", "message": "The requested resource was not found"}
    bad = api.hmac(f"{V2}/indicators?resultLimit=10001")
    assert bad.status_code == 400
    assert "resultLimit" in bad.json()["message"]
    hidden = api.hmac(f"{V2}/indicators?owner=Partner%20Exchange%20Community")
    assert (hidden.status_code, hidden.json()["message"]) == (403, "Access Denied")


def test_v2_xml_twin(api: Api) -> None:
    response = api.hmac(f"{V2}/owners", headers={"Accept": "application/xml"})
    assert response.headers["content-type"] == "application/xml"
    assert "<ownersResponse><Status>Success</Status>" in response.text
    assert 'xsi:type="ownerListResponseData"' in response.text
    assert '<Owner xsi:type="community"><Id>2</Id><Name>Common Community</Name>' in response.text


def test_v3_envelopes(api: Api) -> None:
    listing = api.v3(f"{INDICATORS}?resultLimit=2")
    assert listing["status"] == "Success"
    first = listing["data"][0]
    assert api.v3(f"{INDICATORS}/{first['id']}") == {"data": first, "status": "Success"}
    error = api.token(f"{INDICATORS}/999999999")
    assert (error.status_code, error.json()["status"]) == (404, "Error")


def test_v3_create_update_and_delete(api: Api) -> None:
    body = {"type": "Host", "hostName": "fresh.contractgate.example", "rating": 2}
    created = api.create(body)
    assert (created.status_code, created.json()["message"]) == (201, "Created")
    again = api.create({**body, "rating": 4})
    assert (again.status_code, again.json()["message"]) == (200, "Updated")
    assert again.json()["data"]["id"] == created.json()["data"]["id"]
    assert again.json()["data"]["rating"] == 4
    removed = api.v3(f"{INDICATORS}/{created.json()['data']['id']}", "DELETE")
    assert removed == {"message": "Deleted", "status": "Success"}
    assert api.token(f"{INDICATORS}/fresh.contractgate.example").status_code == 404


def test_v2_delete_and_percent_encoded_lookup(api: Api) -> None:
    text = "https://probe.contractgate.example/a/b.html?x=1"
    api.create({"type": "URL", "text": text})
    single = f"{V2}/indicators/urls/{quote(text, safe='')}"
    assert api.v2(single)["url"]["text"] == text
    assert api.hmac(single, "DELETE").json() == {"status": "Success"}
    assert api.hmac(single).status_code == 404


def test_reset_restores_the_seed(api: Api, server: ThreatConnectServer) -> None:
    before = [item.id for item in server.store.indicators]
    api.create({"type": "Host", "hostName": "x.contractgate.example"})
    assert len(server.store.indicators) == len(before) + 1
    server.reset()
    assert [item.id for item in server.store.indicators] == before
    assert [item.id for item in ThreatConnectServer().store.indicators] == before


# --- paging and queries -----------------------------------------------------------------------


def test_v2_paging_window_and_result_count(api: Api) -> None:
    everything = api.v2(f"{HOSTS}?resultLimit=10000")
    ids = [item["id"] for item in everything["host"]]
    assert everything["resultCount"] == len(ids) == 60
    page = api.v2(f"{HOSTS}?resultStart=7&resultLimit=5")
    assert [item["id"] for item in page["host"]] == ids[7:12]
    assert "resultCount" not in page
    assert len(api.v2(f"{V2}/indicators")["indicator"]) == 100


@pytest.mark.parametrize(
    "query",
    ["resultLimit=abc", "resultStart=-1", "resultLimit=10001", "resultStart=1.5"],
)
def test_v2_bad_paging_is_400(api: Api, query: str) -> None:
    response = api.hmac(f"{HOSTS}?{query}")
    assert response.status_code == 400
    assert response.json()["message"].startswith("The resultStart and resultLimit query")


def test_v3_links_keep_the_query_and_clamp_prev(api: Api) -> None:
    tql = quote('typeName EQ "Host"')
    query = f"owner=Common%20Community&tql={tql}&fields=tags&resultStart=3&resultLimit=10"
    body = api.v3(f"{INDICATORS}?{query}")
    assert "count" not in body
    following = urlsplit(body["next"])
    assert (following.scheme, following.netloc) == ("https", "testserver")
    assert following.path == INDICATORS
    assert parse_qs(following.query) == {
        "owner": [COMMUNITY],
        "tql": ['typeName EQ "Host"'],
        "fields": ["tags"],
        "resultStart": ["13"],
        "resultLimit": ["10"],
    }
    assert parse_qs(urlsplit(body["prev"]).query)["resultStart"] == ["0"]


def test_v3_walk_by_next_links_returns_each_item_once(api: Api) -> None:
    first = api.v3(f"{INDICATORS}?owner=Demo%20Source&resultLimit=7&count=true")
    total, seen = first["count"], [item["id"] for item in first["data"]]
    link = first.get("next")
    while link:
        page = api.v3(link.removeprefix("https://testserver"))
        assert "count" not in page
        seen += [item["id"] for item in page["data"]]
        link = page.get("next")
    assert len(seen) == len(set(seen)) == total == 40


def test_v3_tql(api: Api) -> None:
    tql = quote('typeName in ("Host") and rating >= 3')
    hosts = api.v3(f"{INDICATORS}?tql={tql}&resultLimit=10000")["data"]
    assert {item["type"] for item in hosts} == {"Host"}
    assert all(item["rating"] >= 3 for item in hosts)
    escaped = api.token(f"{INDICATORS}?tql=" + quote('summary EQ "a\\"b"'))
    assert (escaped.status_code, escaped.json()["data"]) == (200, [])
    assert api.token(f"{INDICATORS}?tql=" + quote("nope = 1")).status_code == 400


def test_v3_sorting_fields_and_body_params(api: Api) -> None:
    ordered = api.v3(f"{INDICATORS}?owner=Demo%20Source&sorting=summary%20desc&resultLimit=100")
    summaries = [item["summary"].lower() for item in ordered["data"]]
    assert summaries == sorted(summaries, reverse=True)
    extra = api.v3(f"{INDICATORS}?resultLimit=1&fields=threatAssess&fields=tags")["data"][0]
    assert {"threatAssessScore", "tags"} <= set(extra)
    assert "attributes" not in extra
    by_body = api.v3(INDICATORS, json={"data": {"owner": SOURCE, "resultLimit": 4}})
    assert [item["ownerName"] for item in by_body["data"]] == [SOURCE] * 4


def test_v2_filters_and_modified_since(api: Api) -> None:
    host = first_org_host(api)
    assert api.v2(f"{HOSTS}?filters=summary%3D{host}")["resultCount"] == 1
    starts = api.v2(f"{HOSTS}?filters=summary%5Elogin.")["host"]
    assert all(item["hostName"].startswith("login.") for item in starts)
    assert api.v2(f"{V2}/indicators?modifiedSince=2999-01-01T00:00:00Z")["resultCount"] == 0
    assert api.hmac(f"{V2}/indicators?filters=colour%3Dred").status_code == 400


def test_owner_scoping(api: Api) -> None:
    v2 = api.v2(f"{V2}/indicators?resultLimit=10000")["indicator"]
    assert {item["ownerName"] for item in v2} == {ORG}
    v3 = api.v3(f"{INDICATORS}?resultLimit=10000")["data"]
    assert {item["ownerName"] for item in v3} == EVERY_OWNER
    assert all(item["active"] for item in v3)
    shared_name = first_org_host(api)
    found = api.v3(f"{INDICATORS}/{shared_name}")["data"]
    assert found["ownerName"] == ORG
    community = api.v3(f"{INDICATORS}/{shared_name}?owner=Common%20Community")["data"]
    assert community["ownerName"] == COMMUNITY
    assert community["id"] < found["id"]


def test_include_tags_and_attributes(api: Api) -> None:
    plain = api.v2(f"{HOSTS}?resultLimit=5")["host"]
    assert not any("tag" in item or "attribute" in item for item in plain)
    items = api.v2(f"{HOSTS}?resultLimit=5&includeTags=true&includeAttributes=true")["host"]
    assert all(isinstance(item["tag"], list) for item in items)
    assert all(isinstance(item["attribute"], list) for item in items)
    assert items[0]["tag"], "the seed gives the Organization's first host tags"


def test_options_endpoints(api: Api) -> None:
    fields = api.v3(f"{INDICATORS}/fields", "OPTIONS")
    assert fields["count"] == len(fields["data"])
    assert fields["status"] == "Success"
    tql = api.v3(f"{INDICATORS}/tql", "OPTIONS")
    assert {"keyword", "name", "type"} <= set(tql["data"][0])
    for entry in tql["data"]:
        expression = quote(f"{entry['keyword']} IS NOT NULL")
        assert api.token(f"{INDICATORS}?tql={expression}&resultLimit=1").status_code == 200
    plain = api.v3(INDICATORS, "OPTIONS")
    assert "id" not in plain
    assert plain["hostName"]["type"] == "String"
    for spelling in ("readonly", "readOnly"):
        described = api.v3(f"{INDICATORS}?show={spelling}", "OPTIONS")
        assert described["id"] == {
            "type": "Integer",
            "description": "The indicator's id",
            "readOnly": True,
        }


def test_whoami_and_security_owners(api: Api, server: ThreatConnectServer) -> None:
    user = api.v2(f"{V2}/whoami")["user"]
    assert user["userName"] == server.credentials["ACCESS_ID"]
    assert user["role"] == "Api User"
    owners = api.v3(f"{V3}/security/owners")["data"]
    assert [owner["type"] for owner in owners] == ["Organization", "Community", "Source"]
    assert owners[0]["permIndicator"] == "FULL"


# --- faults -----------------------------------------------------------------------------------

Probe = Callable[[Api], Any]
WRONG_SECRET = "not-the-secret"


def status(call: Callable[[Api], httpx.Response]) -> Probe:
    """A probe that observes the HTTP status of one call."""
    return lambda api: call(api).status_code


def v2_keys(target: str) -> Probe:
    """A probe that observes the keys of a v2 GET's data."""
    return lambda api: sorted(api.v2(target))


def v3_has(target: str, key: str, method: str = "GET") -> Probe:
    """A probe that observes whether a v3 body has a top-level key."""
    return lambda api: key in api.v3(target, method)


def next_query(api: Api, query: str) -> dict[str, list[str]]:
    """The parsed query of the `next` link of a v3 listing."""
    return parse_qs(urlsplit(api.v3(f"{INDICATORS}?{query}")["next"]).query)


def create_twice(api: Api) -> bool:
    body = {"type": "Host", "hostName": "twice.contractgate.example"}
    first = api.create(body).json()["data"]["id"]
    return bool(first == api.create(body).json()["data"]["id"])


def v2_owner_names(target: str) -> Probe:
    return lambda api: {item["owner"]["name"] for item in api.v2(target)["host"]}


def v3_owner_names(target: str) -> Probe:
    return lambda api: {item["ownerName"] for item in api.v3(target)["data"]}


def v2_delete_body(api: Api) -> Any:
    api.create({"type": "Host", "hostName": "gone.contractgate.example"})
    return api.hmac(f"{HOSTS}/gone.contractgate.example", "DELETE").json()


def v3_delete_body(api: Api) -> Any:
    created = api.create({"type": "Host", "hostName": "gone.contractgate.example"})
    return api.v3(f"{INDICATORS}/{created.json()['data']['id']}", "DELETE")


def update_then_read(api: Api) -> tuple[int, int]:
    """(confidence in the PUT answer, confidence read back) after a PUT of confidence 77."""
    created = api.create({"type": "Host", "hostName": "put.contractgate.example", "confidence": 10})
    url = f"{INDICATORS}/{created.json()['data']['id']}"
    answered = api.v3(url, "PUT", json={"confidence": 77})
    return 77 if answered["message"] == "Updated" else -1, api.v3(url)["data"]["confidence"]


def encoded_lookup(api: Api) -> int:
    text = "http://encoded.contractgate.example/x"
    api.create({"type": "URL", "text": text})
    return api.hmac(f"{V2}/indicators/urls/{quote(text, safe='')}").status_code


def sorted_descending(api: Api) -> bool:
    listing = api.v3(f"{INDICATORS}?owner=Demo%20Source&sorting=summary%20desc&resultLimit=100")
    summaries = [item["summary"].lower() for item in listing["data"]]
    return summaries == sorted(summaries, reverse=True)


def filtered_count(api: Api) -> int:
    return int(api.v2(f"{HOSTS}?filters=summary%3D{first_org_host(api)}")["resultCount"])


def summary_owner(api: Api) -> str:
    return str(api.v3(f"{INDICATORS}/{first_org_host(api)}")["data"]["ownerName"])


def single_host_type(api: Api) -> str:
    return type(api.v2(f"{HOSTS}/{first_org_host(api)}")["host"]).__name__


def single_v3_type(api: Api) -> str:
    first = api.server.store.indicators[0].id
    return type(api.v3(f"{INDICATORS}/{first}")["data"]).__name__


def prev_start(api: Api) -> list[str]:
    prev = api.v3(f"{INDICATORS}?resultStart=3&resultLimit=10")["prev"]
    return parse_qs(urlsplit(prev).query)["resultStart"]


def type_count(api: Api) -> int:
    listing = api.v3(f'{INDICATORS}?tql=typeName="Host"&resultLimit=10000')
    return len({item["type"] for item in listing["data"]})


def all_active(api: Api) -> bool:
    return all(item["active"] for item in api.v3(f"{INDICATORS}?resultLimit=10000")["data"])


def body_page_size(api: Api) -> int:
    return len(api.v3(INDICATORS, json={"data": {"resultLimit": 3}})["data"])


def tql_types_complete(api: Api) -> bool:
    return all("type" in entry for entry in api.v3(f"{INDICATORS}/tql", "OPTIONS")["data"])


def first_host_has(key: str, query: str = "") -> Probe:
    target = f"{HOSTS}?{query}" if query else HOSTS
    return lambda api: key in api.v2(target)["host"][0]


def message_of(call: Callable[[Api], httpx.Response]) -> Probe:
    return lambda api: call(api).json()["message"]


def content_type(call: Callable[[Api], httpx.Response]) -> Probe:
    return lambda api: call(api).headers["content-type"].split(";")[0]


def chained_sort_holds(api: Api) -> bool:
    """Whether hosts sorted by 'ownerName asc confidence desc' are in that order (no confidence last)."""
    query = "tql=typeName%3D%22Host%22&sorting=ownerName%20asc%20confidence%20desc&resultLimit=10000"
    listing = api.v3(f"{INDICATORS}?{query}")["data"]
    keys = [(item["ownerName"].lower(), -item.get("confidence", -1)) for item in listing]
    return keys == sorted(keys)


def strictly_before_itself(api: Api) -> int:
    """How many hosts match summary=<first host> and dateAdded<<its own dateAdded> (0 when '<' is strict)."""
    first = api.v2(f"{HOSTS}?resultLimit=1")["host"][0]
    query = f"filters=summary%3D{first['hostName']},dateAdded%3C{first['dateAdded']}"
    return int(api.v2(f"{HOSTS}?{query}")["resultCount"])


def offset_page_matches(api: Api) -> bool:
    """Whether resultStart=3&resultLimit=5 holds items 3..7 of the listing."""
    page = [item["id"] for item in api.v2(f"{HOSTS}?resultStart=3&resultLimit=5")["host"]]
    return page == [item["id"] for item in api.v2(f"{HOSTS}?resultLimit=8")["host"]][3:]


def v2_more_than_v3_active(api: Api) -> int:
    """How many more indicators v2 counts in the Organization than v3 lists as active there."""
    v2_total = int(api.v2(f"{V2}/indicators?resultLimit=1")["resultCount"])
    v3_active = api.v3(f"{INDICATORS}?owner=Example%20Organization&count=true&resultLimit=1")["count"]
    return v2_total - int(v3_active)


def xml_count_excess(api: Api) -> int:
    """How much the XML twin's ResultCount of GET /v2/owners exceeds the JSON resultCount of the same request."""
    answer = api.hmac(f"{V2}/owners", headers={"Accept": "application/xml"})
    counted = ET.fromstring(answer.content).findtext("Data/ResultCount")
    return int(counted or "0") - int(api.v2(f"{V2}/owners")["resultCount"])


def xml_owner_fields(api: Api) -> list[str]:
    """The element names inside the first <Owner> of the XML twin of GET /v2/owners."""
    answer = api.hmac(f"{V2}/owners", headers={"Accept": "application/xml"})
    owner = ET.fromstring(answer.content).find("Data/Owner")
    assert owner is not None
    return [field.tag for field in owner]


def v2_and_v3(call: Callable[[Api, str], httpx.Response]) -> Probe:
    """A probe that observes the status of the same call on a v2 and on a v3 endpoint."""
    return lambda api: (call(api, f"{V2}/owners").status_code, call(api, f"{INDICATORS}?resultLimit=1").status_code)


def v2_delete_status(api: Api) -> int:
    api.create({"type": "Host", "hostName": "gone.contractgate.example"})
    return api.hmac(f"{HOSTS}/gone.contractgate.example", "DELETE").status_code


def read_after_v3_delete(api: Api) -> int:
    """The status of a GET of an indicator just deleted with v3."""
    created = api.create({"type": "Host", "hostName": "gone.contractgate.example"})
    url = f"{INDICATORS}/{created.json()['data']['id']}"
    api.v3(url, "DELETE")
    return api.token(url).status_code


def xml_org_type(api: Api) -> str | None:
    """The <Type> of the Organization in the XML twin of GET /v2/owners/mine."""
    answer = api.hmac(f"{V2}/owners/mine", headers={"Accept": "application/xml"})
    return ET.fromstring(answer.content).findtext("Data/Owner/Type")


def count_excess(target: str, method: str = "GET") -> Probe:
    """How much a v3 body's count exceeds the number of items it holds."""
    return lambda api: (lambda body: body["count"] - len(body["data"]))(api.v3(target, method))


def group_window_matches(api: Api) -> bool:
    """Whether /v2/groups?resultStart=3&resultLimit=5 holds groups 3..7 of the listing."""
    page = [item["id"] for item in api.v2(f"{V2}/groups?resultStart=3&resultLimit=5")["group"]]
    return page == [item["id"] for item in api.v2(f"{V2}/groups?resultLimit=8")["group"]][3:]


def body_start_matches_query(api: Api) -> bool:
    """Whether resultStart=2&resultLimit=3 gives the same page as a GET body as in the query string."""
    by_query = api.v3(f"{INDICATORS}?resultStart=2&resultLimit=3")["data"]
    by_body = api.v3(INDICATORS, json={"data": {"resultStart": 2, "resultLimit": 3}})["data"]
    return [item["id"] for item in by_query] == [item["id"] for item in by_body]


def encoded_lookup_text(api: Api) -> str:
    text = "http://encoded.contractgate.example/x"
    api.create({"type": "URL", "text": text})
    return str(api.v2(f"{V2}/indicators/urls/{quote(text, safe='')}")["url"]["text"])


def error_content_types(api: Api) -> tuple[str, str, str]:
    """Content-Type of a v2 error, a v3 error and a v3 success."""
    return (
        api.hmac(MISSING_HOST).headers["content-type"],
        api.token(f"{INDICATORS}/999999999").headers["content-type"],
        api.token(f"{INDICATORS}?resultLimit=1").headers["content-type"],
    )


MISSING_HOST = f"{HOSTS}/none.contractgate.invalid"
EXPIRED = "EXPIRED_API_TOKEN"

FAULT_EFFECTS: dict[str, tuple[Probe, Any, Any]] = {
    "token-refused-on-v2": (status(lambda a: a.token(f"{V2}/owners")), 200, 401),
    "hmac-refused-on-v3": (
        lambda a: (a.hmac(f"{INDICATORS}?resultLimit=1").status_code, a.hmac(f"{V3}/security/owners").status_code),
        (200, 200),
        (401, 200),
    ),
    "v3-query-not-signed": (status(lambda a: a.hmac(f"{INDICATORS}?resultLimit=1")), 200, 401),
    "sign-normalised-path": (
        status(lambda a: a.hmac(f"{V2}/owners", signed_target="/v2/owners")),
        401,
        200,
    ),
    "plus-encoding-rejected": (
        status(lambda a: a.hmac(f"{HOSTS}?owner=Common+Community")),
        200,
        401,
    ),
    "query-encoding-normalised": (
        status(
            lambda a: a.hmac(
                f"{HOSTS}?owner=Common+Community",
                signed_target=f"{HOSTS}?owner=Common%20Community",
            )
        ),
        401,
        200,
    ),
    "empty-query-mark-accepted": (
        status(lambda a: a.hmac(f"{V2}/whoami", signed_target=f"{V2}/whoami?")),
        401,
        200,
    ),
    "method-not-signed": (
        status(lambda a: a.hmac(f"{V2}/owners", signed_method="DELETE")),
        401,
        200,
    ),
    "signature-not-checked": (
        status(lambda a: a.hmac(f"{V2}/owners", secret=WRONG_SECRET)),
        401,
        200,
    ),
    "signature-error-403": (
        status(lambda a: a.hmac(f"{V2}/owners", secret=WRONG_SECRET)),
        401,
        403,
    ),
    "hmac-window-10min": (status(lambda a: a.hmac(f"{V2}/owners", offset=-400)), 401, 200),
    "hmac-window-10min-v3": (status(lambda a: a.hmac(f"{V3}/security/owners", offset=-400)), 401, 200),
    "hmac-window-past-only": (status(lambda a: a.hmac(f"{V2}/owners", offset=400)), 401, 200),
    "unparseable-timestamp-as-skew": (
        message_of(lambda a: a.hmac(f"{V2}/owners", timestamp="abc")),
        "Invalid timestamp",
        SKEW,
    ),
    "unknown-access-id-wrong-message": (
        message_of(lambda a: a.hmac(f"{V2}/owners", access_id="0" * 20)),
        "Access Denied",
        SIGNATURE,
    ),
    "expired-token-accepted": (
        status(lambda a: a.token(f"{V2}/owners", token=a.server.credentials[EXPIRED])),
        401,
        200,
    ),
    "no-credentials-401": (status(lambda a: a.anonymous(f"{V2}/owners")), 403, 401),
    "plain-http-served": (status(lambda a: a.hmac(f"{V2}/owners", plain=True)), 403, 200),
    "unlicensed-200": (status(lambda a: a.token(f"{V2}/owners", licensed=False)), 503, 200),
    "v2-status-word-ok": (lambda a: a.hmac(f"{V2}/owners").json()["status"], "Success", "OK"),
    "indicator-types-plural-key": (
        v2_keys(f"{V2}/types/indicatorTypes"),
        ["indicatorType", "resultCount"],
        ["indicatorTypes", "resultCount"],
    ),
    "single-indicator-as-list": (single_host_type, "dict", "list"),
    "owner-single-no-result-count": (
        v2_keys(f"{V2}/owners/mine"),
        ["owner", "resultCount"],
        ["owner"],
    ),
    "delete-returns-data": (
        v2_delete_body,
        {"status": "Success"},
        {"status": "Success", "data": {}},
    ),
    "error-status-word-wrong": (
        lambda a: a.hmac(MISSING_HOST).json()["status"],
        "Error",
        "Failed",
    ),
    "missing-resource-500": (
        content_type(lambda a: a.hmac(MISSING_HOST)),
        "application/json",
        "text/plain",
    ),
    "xml-result-count-off-by-one": (xml_count_excess, 0, 1),
    "xml-item-fields-camel-case": (xml_owner_fields, ["Id", "Name", "Type"], ["id", "name", "type"]),
    "xml-ignored": (
        content_type(lambda a: a.hmac(f"{V2}/owners", headers={"Accept": "application/xml"})),
        "application/xml",
        "application/json",
    ),
    "v3-single-wrapped-in-list": (single_v3_type, "dict", "list"),
    "v3-error-status-failure": (
        lambda a: a.v3(f"{INDICATORS}/999999999")["status"],
        "Error",
        "Failure",
    ),
    "json-charset": (
        lambda a: a.hmac(f"{V2}/owners").headers["content-type"],
        "application/json",
        "application/json; charset=utf-8",
    ),
    "create-returns-200": (
        status(lambda a: a.create({"type": "Host", "hostName": "new.contractgate.example"})),
        201,
        200,
    ),
    "v3-delete-no-message": (
        v3_delete_body,
        {"message": "Deleted", "status": "Success"},
        {"status": "Success"},
    ),
    "default-limit-50": (lambda a: len(a.v2(f"{V2}/indicators")["indicator"]), 100, 50),
    "limit-below-10-raised": (lambda a: len(a.v2(f"{HOSTS}?resultLimit=3")["host"]), 3, 10),
    "limit-cap-500": (status(lambda a: a.hmac(f"{HOSTS}?resultLimit=501")), 200, 400),
    "over-limit-clamped": (status(lambda a: a.hmac(f"{HOSTS}?resultLimit=10001")), 400, 200),
    "non-integer-limit-ignored": (status(lambda a: a.hmac(f"{HOSTS}?resultLimit=x")), 400, 200),
    "no-result-count": (lambda a: "resultCount" in a.v2(HOSTS), True, False),
    "result-count-always": (
        lambda a: "resultCount" in a.v2(f"{HOSTS}?resultStart=5"),
        False,
        True,
    ),
    "result-count-is-page-size": (
        lambda a: a.v2(f"{HOSTS}?resultLimit=5")["resultCount"],
        60,
        5,
    ),
    "v3-default-limit-25": (lambda a: len(a.v3(INDICATORS)["data"]), 100, 25),
    "v3-over-limit-accepted": (
        status(lambda a: a.token(f"{INDICATORS}?resultLimit=10001")),
        400,
        200,
    ),
    "next-drops-params": (
        lambda a: "tql" in next_query(a, "tql=typeName%3D%22Host%22&resultLimit=5"),
        True,
        False,
    ),
    "next-relative": (
        lambda a: a.v3(f"{INDICATORS}?resultLimit=5")["next"].startswith("https://testserver/"),
        True,
        False,
    ),
    "prev-not-clamped": (prev_start, ["0"], ["-7"]),
    "prev-on-first-page": (v3_has(f"{INDICATORS}?resultLimit=5", "prev"), False, True),
    "count-always": (v3_has(f"{INDICATORS}?resultLimit=5", "count"), False, True),
    "count-ignored": (v3_has(f"{INDICATORS}?resultLimit=5&count=true", "count"), True, False),
    "next-plain-http": (
        lambda a: urlsplit(a.v3(f"{INDICATORS}?resultLimit=5")["next"]).scheme,
        "https",
        "http",
    ),
    "groups-next-skips-item": (
        lambda a: parse_qs(urlsplit(a.v3(f"{V3}/groups?resultLimit=4")["next"]).query)["resultStart"],
        ["4"],
        ["5"],
    ),
    "update-not-applied": (update_then_read, (77, 77), (77, 10)),
    "deleted-without-summary": (
        lambda a: all("summary" in entry for entry in a.v3(f"{INDICATORS}/deleted")["data"]),
        True,
        False,
    ),
    "user-id-string": (
        lambda a: {type(user["id"]) for user in a.v3(f"{V3}/security/users")["data"]},
        {int},
        {str},
    ),
    "next-skips-item": (
        lambda a: next_query(a, "resultLimit=10")["resultStart"],
        ["10"],
        ["11"],
    ),
    "sorting-ignored": (sorted_descending, True, False),
    "fields-ignored": (
        lambda a: "threatAssessScore" in a.v3(f"{INDICATORS}?fields=threatAssess")["data"][0],
        True,
        False,
    ),
    "tql-ignored": (type_count, 1, 5),
    "tql-escapes-rejected": (
        status(lambda a: a.token(f"{INDICATORS}?tql=" + quote('summary = "a\\"b"'))),
        200,
        400,
    ),
    "filters-ignored": (filtered_count, 1, 60),
    "modified-since-ignored": (
        lambda a: a.v2(f"{HOSTS}?modifiedSince=2999-01-01")["resultCount"],
        0,
        60,
    ),
    "inactive-listed": (all_active, True, False),
    "get-body-ignored": (body_page_size, 3, 100),
    "v2-default-all-owners": (
        v2_owner_names(f"{HOSTS}?resultLimit=500"),
        {ORG},
        EVERY_OWNER,
    ),
    "owner-ignored": (
        v2_owner_names(f"{HOSTS}?owner=Common%20Community&resultLimit=500"),
        {COMMUNITY},
        {ORG},
    ),
    "unknown-owner-empty-200": (
        status(lambda a: a.hmac(f"{V2}/indicators?owner=Nobody")),
        403,
        200,
    ),
    "v3-owner-defaults-to-org": (
        v3_owner_names(f"{INDICATORS}?resultLimit=10000"),
        EVERY_OWNER,
        {ORG},
    ),
    "v3-owner-ignored": (
        v3_owner_names(f"{INDICATORS}?owner=Demo%20Source&resultLimit=10000"),
        {SOURCE},
        EVERY_OWNER,
    ),
    "summary-lookup-any-owner": (summary_owner, ORG, COMMUNITY),
    "duplicate-create": (create_twice, True, False),
    "include-tags-ignored": (first_host_has("tag", "includeTags=true"), True, False),
    "attributes-always-included": (first_host_has("attribute"), False, True),
    "fields-options-no-count": (v3_has(f"{INDICATORS}/fields", "count", "OPTIONS"), True, False),
    "tql-options-missing-type": (tql_types_complete, True, False),
    "show-readonly-case-sensitive": (
        v3_has(f"{INDICATORS}?show=readOnly", "id", "OPTIONS"),
        True,
        False,
    ),
    "readonly-fields-always-shown": (v3_has(INDICATORS, "id", "OPTIONS"), False, True),
    "security-owners-missing": (status(lambda a: a.token(f"{V3}/security/owners")), 200, 404),
    "whoami-no-role": (lambda a: "role" in a.v2(f"{V2}/whoami")["user"], True, False),
    "encoded-indicator-404": (encoded_lookup, 200, 404),
    "v2-inactive-listed": (v2_more_than_v3_active, 0, 10),
    "tags-status-lower-case": (lambda a: a.hmac(f"{V2}/tags").json()["status"], "Success", "success"),
    "missing-group-wrong-message": (
        message_of(lambda a: a.hmac(f"{V2}/groups/incidents/999999999")),
        "The requested resource was not found",
        "The requested incident was not found",
    ),
    "v3-single-status-ok": (
        lambda a: a.v3(f"{INDICATORS}/{a.server.store.indicators[0].id}")["status"],
        "Success",
        "OK",
    ),
    "start-rounded-to-page": (offset_page_matches, True, False),
    "decimal-start-truncated": (status(lambda a: a.hmac(f"{HOSTS}?resultStart=2.5")), 400, 200),
    "next-drops-fields": (
        lambda a: next_query(a, "fields=tags&resultLimit=5").get("fields"),
        ["tags"],
        None,
    ),
    "next-doubled-mount": (
        lambda a: urlsplit(a.v3(f"{INDICATORS}?resultLimit=5")["next"]).path,
        "/api/v3/indicators",
        "/api/api/v3/indicators",
    ),
    "sorting-desc-as-asc": (sorted_descending, True, False),
    "sorting-first-key-only": (chained_sort_holds, True, False),
    "filter-bounds-inclusive": (strictly_before_itself, 0, 1),
    "v2-indicators-all-owners": (
        lambda a: {item["ownerName"] for item in a.v2(f"{V2}/indicators?resultLimit=10000")["indicator"]},
        {ORG},
        EVERY_OWNER,
    ),
    "v2-owner-adds-org": (
        v2_owner_names(f"{HOSTS}?owner=Common%20Community&resultLimit=500"),
        {COMMUNITY},
        {COMMUNITY, ORG},
    ),
    "unknown-owner-404": (status(lambda a: a.hmac(f"{V2}/indicators?owner=Nobody")), 403, 404),
    "security-owner-type-lower-case": (
        lambda a: [owner["type"] for owner in a.v3(f"{V3}/security/owners")["data"]],
        ["Organization", "Community", "Source"],
        ["organization", "community", "source"],
    ),
    "label-error-status-failed": (
        lambda a: a.hmac(f"{V2}/securityLabels/NoSuchLabel").json()["status"],
        "Error",
        "Failed",
    ),
    "v3-signature-error-403": (
        status(lambda a: a.hmac(f"{INDICATORS}?resultLimit=1", secret=WRONG_SECRET)),
        401,
        403,
    ),
    "sign-normalised-path-v3": (
        lambda a: (
            a.hmac(f"{V2}/owners", signed_target="/v2/owners").status_code,
            a.hmac(f"{V3}/security/owners", signed_target="/v3/security/owners").status_code,
        ),
        (401, 401),
        (401, 200),
    ),
    "empty-query-mark-accepted-v3": (
        lambda a: (
            a.hmac(f"{V2}/whoami", signed_target=f"{V2}/whoami?").status_code,
            a.hmac(f"{V3}/security/owners", signed_target=f"{V3}/security/owners?").status_code,
        ),
        (401, 401),
        (401, 200),
    ),
    "method-not-signed-v3": (
        lambda a: (
            a.hmac(f"{V2}/owners", signed_method="POST").status_code,
            a.hmac(f"{V3}/security/owners", signed_method="POST").status_code,
        ),
        (401, 401),
        (401, 200),
    ),
    "unparseable-timestamp-as-skew-v3": (
        lambda a: (
            a.hmac(f"{V2}/owners", timestamp="abc").json()["message"],
            a.hmac(f"{V3}/security/owners", timestamp="abc").json()["message"],
        ),
        ("Invalid timestamp", "Invalid timestamp"),
        ("Invalid timestamp", SKEW),
    ),
    "unknown-access-id-wrong-message-v3": (
        lambda a: (
            a.hmac(f"{V2}/owners", access_id="0" * 20).json()["message"],
            a.hmac(f"{V3}/security/owners", access_id="0" * 20).json()["message"],
        ),
        ("Access Denied", "Access Denied"),
        ("Access Denied", SIGNATURE),
    ),
    "expired-token-accepted-on-v3": (
        v2_and_v3(lambda a, target: a.token(target, token=a.server.credentials[EXPIRED])),
        (401, 401),
        (401, 200),
    ),
    "unlicensed-v3-served": (v2_and_v3(lambda a, target: a.token(target, licensed=False)), (503, 503), (503, 200)),
    "plain-http-v3-served": (v2_and_v3(lambda a, target: a.hmac(target, plain=True)), (403, 403), (403, 200)),
    "labels-result-count-off-by-one": (
        lambda a: (lambda data: data["resultCount"] - len(data["securityLabel"]))(a.v2(f"{V2}/securityLabels")),
        0,
        1,
    ),
    "owner-by-id-result-count-zero": (
        lambda a: (a.v2(f"{V2}/owners/mine")["resultCount"], a.v2(f"{V2}/owners/1")["resultCount"]),
        (1, 1),
        (1, 0),
    ),
    "v2-delete-202": (v2_delete_status, 200, 202),
    "xml-owner-type-lower-case": (xml_org_type, "Organization", "organization"),
    "v3-error-json-charset": (
        error_content_types,
        ("application/json",) * 3,
        ("application/json", "application/json; charset=utf-8", "application/json"),
    ),
    "v3-delete-not-applied": (read_after_v3_delete, 404, 200),
    "deleted-owner-ignored": (
        lambda a: {entry["ownerName"] for entry in a.v3(f"{INDICATORS}/deleted?owner=Example%20Organization")["data"]},
        {ORG},
        {ORG, COMMUNITY},
    ),
    "explicit-start-zero-no-result-count": (
        lambda a: ("resultCount" in a.v2(HOSTS), "resultCount" in a.v2(f"{HOSTS}?resultStart=0")),
        (True, True),
        (True, False),
    ),
    "host-result-count-on-later-pages": (
        lambda a: (
            "resultCount" in a.v2(f"{HOSTS}?resultStart=5"),
            "resultCount" in a.v2(f"{V2}/groups?resultStart=5"),
        ),
        (False, False),
        (True, False),
    ),
    "v2-groups-start-one-late": (group_window_matches, True, False),
    "v3-explicit-start-zero-no-count": (
        lambda a: (
            "count" in a.v3(f"{INDICATORS}?count=true&resultLimit=5"),
            "count" in a.v3(f"{INDICATORS}?count=true&resultStart=0&resultLimit=5"),
        ),
        (True, True),
        (True, False),
    ),
    "single-fields-ignored": (
        lambda a: (
            "threatAssessScore" in a.v3(f"{INDICATORS}?fields=threatAssess&resultLimit=1")["data"][0],
            "threatAssessScore" in a.v3(f"{INDICATORS}/{a.server.store.indicators[0].id}?fields=threatAssess")["data"],
        ),
        (True, True),
        (True, False),
    ),
    "get-body-start-ignored": (body_start_matches_query, True, False),
    "group-include-tags-ignored": (
        lambda a: (
            "tag" in a.v2(f"{V2}/groups?includeTags=true")["group"][0],
            "tag" in a.v2(f"{HOSTS}?includeTags=true")["host"][0],
        ),
        (True, True),
        (False, True),
    ),
    "fields-options-count-off-by-one": (count_excess(f"{INDICATORS}/fields", "OPTIONS"), 0, 1),
    "tql-options-count-off-by-one": (count_excess(f"{INDICATORS}/tql", "OPTIONS"), 0, -1),
    "whoami-user-name-is-pseudonym": (
        lambda a: a.v2(f"{V2}/whoami")["user"]["userName"] == a.server.credentials["ACCESS_ID"],
        True,
        False,
    ),
    "encoded-indicator-text-echoed": (
        encoded_lookup_text,
        "http://encoded.contractgate.example/x",
        quote("http://encoded.contractgate.example/x", safe=""),
    ),
    "user-owner-not-organization": (
        lambda a: {user["owner"] for user in a.v3(f"{V3}/security/users")["data"]},
        {ORG},
        {COMMUNITY},
    ),
}


# --- TLS, and the endpoints added with it ------------------------------------------------------


def test_the_instance_is_https_with_a_plain_http_port_that_refuses() -> None:
    apps = {app.target: app for app in ThreatConnectServer().apps()}
    assert ThreatConnectServer.tls is True
    assert [apps[name].tls for name in ("threatconnect", "threatconnect-unlicensed")] == [None, None]
    assert apps["threatconnect-http"].tls is False
    assert apps["threatconnect-http"].asgi is apps["threatconnect"].asgi


@pytest.mark.parametrize("path", [f"{V2}/owners", f"{V3}/security/owners", f"{INDICATORS}?resultLimit=1"])
def test_plain_http_is_refused_with_403_even_when_signed(api: Api, path: str) -> None:
    response = api.hmac(path, plain=True)
    assert response.status_code == 403
    assert response.json() == {"status": "Error", "message": "Requests to the API must use HTTPS"}
    assert api.hmac(path).status_code == 200


def test_v3_put_updates_and_answers_updated(api: Api) -> None:
    created = api.create({"type": "Host", "hostName": "put2.contractgate.example", "rating": 1})
    url = f"{INDICATORS}/{created.json()['data']['id']}"
    answered = api.token(url, "PUT", json={"rating": 4, "description": "changed"})
    assert answered.status_code == 200
    body = answered.json()
    assert (body["message"], body["status"]) == ("Updated", "Success")
    assert (body["data"]["rating"], body["data"]["description"]) == (4.0, "changed")
    assert api.v3(url)["data"]["rating"] == 4.0
    assert api.token(url, "PUT", json=None).status_code == 400
    assert api.token(f"{INDICATORS}/999999999", "PUT", json={"rating": 1}).status_code == 404


def test_v3_groups_page_like_indicators(api: Api, server: ThreatConnectServer) -> None:
    first = api.v3(f"{V3}/groups?owner=Common%20Community&resultLimit=4&count=true")
    wanted = [g.id for g in server.store.groups if g.owner.name == COMMUNITY]
    seen, link = [item["id"] for item in first["data"]], first.get("next")
    while link:
        page = api.v3(link.removeprefix("https://testserver"))
        seen += [item["id"] for item in page["data"]]
        link = page.get("next")
    assert seen == wanted
    assert first["count"] == len(wanted) == 9
    group = first["data"][0]
    assert {"id", "type", "name", "ownerName", "dateAdded", "webLink", "createdBy"} <= set(group)
    assert (group["upVoteCount"], group["downVoteCount"]) == ("0", "0")


def test_v3_security_users_lists_the_organizations_users(api: Api) -> None:
    body = api.v3(f"{V3}/security/users")
    assert body["status"] == "Success"
    assert [user["userName"] for user in body["data"]][:2] == ["olivia.grant@example.org", "marcus.lee@example.org"]
    assert set(body["data"][0]) == {"id", "userName", "firstName", "lastName", "pseudonym", "owner"}


def test_v3_deleted_lists_seeded_and_newly_deleted_indicators(api: Api) -> None:
    before = api.v3(f"{INDICATORS}/deleted")["data"]
    assert len(before) == 3
    assert set(before[0]) == {"ownerName", "dateAdded", "type", "summary"}
    v3_delete_body(api)
    after = api.v3(f"{INDICATORS}/deleted")["data"]
    assert after[-1]["summary"] == "gone.contractgate.example"
    assert after[-1]["type"] == "Host"
    only_source = api.v3(f"{INDICATORS}/deleted?owner=Demo%20Source")["data"]
    assert only_source == []


def test_every_fault_has_an_effect_test() -> None:
    assert set(FAULT_EFFECTS) == set(ThreatConnectServer.faults)


def test_every_fault_has_a_kebab_case_name_and_a_rule() -> None:
    for name, fault in ThreatConnectServer.faults.items():
        assert fault.name == name
        assert fault.rule.startswith("TC-")
        assert name == name.lower()
        assert " " not in name
        assert "_" not in name


@pytest.mark.parametrize("fault", sorted(FAULT_EFFECTS))
def test_fault_changes_what_it_says(api: Api, server: ThreatConnectServer, fault: str) -> None:
    probe, clean, broken = FAULT_EFFECTS[fault]
    assert probe(api) == clean
    server.reset()
    server.switch.set([fault])  # on the running apps: faults are read per request
    assert probe(api) == broken
    server.switch.set(())
    server.reset()
    assert probe(api) == clean


def test_unknown_fault_names_are_refused(server: ThreatConnectServer) -> None:
    with pytest.raises(UnknownFault):
        server.switch.set(["hmac-window-1h"])
    with pytest.raises(UnknownFault):
        ThreatConnectServer(faults=["no-such-fault"])
