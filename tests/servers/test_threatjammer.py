"""The Threat Jammer reference server: documented behaviour, each fault, the vendor's schemas."""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import jsonschema
import pytest

from contractgate.checks._schema import described
from contractgate.servers import serve_in_thread
from contractgate.servers.threatjammer import DEFAULT_CREDENTIALS, ThreatJammerServer

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette warns once that it prefers httpx2
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
VENDOR_SPEC = ROOT / "contracts" / "openapi" / "vendor" / "threatjammer-user-api-1.2.27.openapi.json"
OVERLAY = ROOT / "contracts" / "openapi" / "threatjammer.overlay.json"
ERROR_PAGE = "https://threatjammer.com/docs/error-"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
UNKNOWN_KEY = "tja_" + "0" * 36
START = 1_750_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


class Env:
    """A server, an in-process client per app, and request helpers."""

    def __init__(self, server: ThreatJammerServer, clock: Clock) -> None:
        self.server = server
        self.clock = clock
        self.clients = {app.target: TestClient(app.asgi) for app in server.apps()}

    def key(self, kind: str = "KEY", region: str = "dublin") -> str:
        return self.server.credentials[f"{kind}_{region.upper()}"]

    def call(
        self,
        method: str,
        path: str,
        *,
        region: str = "dublin",
        api: str = "threatjammer",
        kind: str = "KEY",
        key: str | None = None,
        authorization: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
        if authorization is not None:
            headers["Authorization"] = authorization
        elif key != "":
            headers["Authorization"] = f"Bearer {key or self.key(kind, region)}"
        client = self.clients[f"{api}:{region}"]
        return client.request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, json=body, **kwargs)

    def report(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.call("POST", path, json=body, api="threatjammer-report", **kwargs)


def make_env(**options: Any) -> Env:
    clock = Clock()
    settings = {"free_minute_quota": 3, "free_report_quota": 2, "trial_month_quota": 4}
    return Env(ThreatJammerServer(clock=clock, **{**settings, **options}), clock)


@pytest.fixture
def env() -> Env:
    return make_env()


def handled(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Assert a handled error of the documented shape and page, and return its body."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"title", "detail", "type"}
    assert all(isinstance(body[k], str) and body[k] for k in body)
    assert body["type"] == ERROR_PAGE + slug
    return body


def invalid(response: httpx.Response) -> list[dict[str, Any]]:
    """Assert FastAPI's 422 body and return its error list."""
    assert response.status_code == 422, response.text
    detail: list[dict[str, Any]] = response.json()["detail"]
    assert detail
    assert all(isinstance(e["loc"], list) and e["msg"] and e["type"] for e in detail)
    return detail


# --- keys, regions, authentication ----------------------------------------------------------------


def test_default_keys_are_well_formed_and_distinct() -> None:
    assert set(DEFAULT_CREDENTIALS) == {
        f"{kind}_{region}" for kind in ("KEY", "QUOTA_KEY", "MONTH_KEY") for region in ("DUBLIN", "PARIS")
    }
    keys = list(DEFAULT_CREDENTIALS.values())
    assert len(set(keys)) == len(keys)
    assert all(len(k) == 40 and k.startswith("tja_") and k[4:].isalnum() for k in keys)
    assert ThreatJammerServer().credentials == DEFAULT_CREDENTIALS  # deterministic


def test_each_region_accepts_only_its_own_keys(env: Env) -> None:
    for key_region in ("dublin", "paris"):
        for url_region in ("dublin", "paris"):
            key = env.key("KEY", key_region)
            user = env.get("/v1/token", region=url_region, key=key)
            report = env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]}, region=url_region, key=key)
            if key_region == url_region:
                assert user.status_code == 200
                assert user.json()["region_id"] == {"dublin": "aws-eu-west-1", "paris": "aws-eu-west-3"}[url_region]
                assert report.status_code == 202
            else:
                assert key_region in handled(user, 401, "unauthorized")["detail"]
                handled(report, 401, "unauthorized")


def test_missing_unknown_and_malformed_keys_get_401(env: Env) -> None:
    handled(env.get("/v1/asn/15169", key=""), 401, "unauthorized")
    handled(env.get("/v1/asn/15169", key=UNKNOWN_KEY), 401, "unauthorized")
    for bad in ("tja_short", "ghp_" + "Z" * 36, "tja_" + "!" * 36):
        handled(env.get("/v1/asn/15169", key=bad), 401, "unauthorized")


def test_a_key_without_the_bearer_prefix_is_refused_naming_the_prefix(env: Env) -> None:
    body = handled(env.get("/v1/asn/15169", authorization=env.key()), 401, "unauthorized")
    assert "Bearer" in body["detail"]
    assert env.get("/v1/asn/15169", authorization=f"bearer {env.key()}").status_code == 200


def test_test_endpoint_lives_outside_v1_and_spends_no_quota(env: Env) -> None:
    before = env.get("/v1/token").json()["last_month_bucket_value"]
    assert env.get("/test").status_code == 200
    handled(env.get("/test", key=UNKNOWN_KEY), 401, "unauthorized")
    assert env.get("/v1/token").json()["last_month_bucket_value"] == before + 1
    assert env.get("/v1/test").status_code == 404


def test_credentials_can_be_overridden() -> None:
    canary = "tja_" + "C" * 36
    server = ThreatJammerServer(credentials={"KEY_DUBLIN": canary})
    client = TestClient(server.apps()[0].asgi)
    assert client.get("/v1/token", headers={"Authorization": f"Bearer {canary}"}).status_code == 200
    old = DEFAULT_CREDENTIALS["KEY_DUBLIN"]
    assert client.get("/v1/token", headers={"Authorization": f"Bearer {old}"}).status_code == 401


def test_unknown_options_are_refused() -> None:
    with pytest.raises(TypeError, match="minute_qouta"):
        ThreatJammerServer(minute_qouta=5)


def test_apps_cover_both_apis_in_both_regions(env: Env) -> None:
    targets = [app.target for app in env.server.apps()]
    assert targets == [
        "threatjammer:dublin",
        "threatjammer:paris",
        "threatjammer-report:dublin",
        "threatjammer-report:paris",
    ]
    assert all(app.base_path == "" for app in env.server.apps())


# --- requests and responses -----------------------------------------------------------------------


def test_asn_answer_is_the_intro_example(env: Env) -> None:
    response = env.get("/v1/asn/15169")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {
        "self": "/v1/asn/15169",
        "name": "GOOGLE",
        "description": "",
        "country_code": "US",
        "registry_date": "20000330",
        "registry": "/v1/asn/registry/arin",
        "status": "/v1/asn/status/assigned",
        "prefixes": "/v1/asn/15169/prefixes",
        "score": 0,
        "risk": "LOW",
    }


def test_only_v1_is_served(env: Env) -> None:
    assert env.get("/v2/asn/15169").status_code == 404
    assert env.get("/asn/15169").status_code == 404


def test_unknown_paths_and_verbs_get_framework_answers(env: Env) -> None:
    assert env.get("/v1/nothing/here").json() == {"detail": "Not Found"}
    response = env.call("DELETE", "/v1/asn/15169")
    assert response.status_code == 405


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            # `uri` in an activity's source is the path of a past request: a value, not a reference
            if key not in ("self", "uri") and isinstance(value, str) and value.startswith("/"):
                yield value
            else:
                yield from _references(value)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, str) and item.startswith("/"):
                yield item
            else:
                yield from _references(item)


def _ours() -> dict[str, Any]:
    """The vendor's document with the project's overlay, as the contract's rules read it."""
    return described(VENDOR_SPEC, OVERLAY)


def _published_get(uri: str) -> bool:
    """Whether the vendor's document (as our copy keeps it) has a GET whose path template fits a URI."""
    paths = _ours()["paths"]
    segments = uri.split("?")[0].split("/")
    for template, item in paths.items():
        parts = template.split("/")
        fits = len(parts) == len(segments) and all(
            part == seg or (part.startswith("{") and seg != "") for part, seg in zip(parts, segments, strict=True)
        )
        if fits and "get" in item and "servers" not in item:
            return True
    return False


def test_references_resolve_where_the_published_document_has_a_get(env: Env) -> None:
    # The published document has no GET for prefix, activity, token or list-origin self URIs:
    # the server answers those 404 instead of inventing resolvers (issue 10).
    starts = [
        "/v1/asn/15169",
        "/v1/asn/15169/prefixes",
        "/v1/assess/ip/212.231.12.22",
        "/v1/assess/ip/61.177.172.140",
        "/v1/datacenter/MICROSOFT_CORPORATION",
        "/v1/datacenter/ip/20.36.12.1",
        "/v1/source/ip/TOR_LIST",
        "/v1/ua/" + quote(CHROME, safe=""),
        "/v1/denylist/reported/ip",
        "/v1/denylist/private/all",
        "/v1/allowlist/public/all",
        "/v1/token/activity?page_size=3",
        "/v1/token",
    ]
    seen: set[str] = set()
    unpublished: set[str] = set()
    for start in starts:
        body = env.get(start).json()
        for uri in _references(body):
            if uri.startswith("http") or uri in seen:
                continue
            seen.add(uri)
            assert uri.startswith("/v1/"), uri
            followed = env.get(uri)
            if _published_get(uri):
                assert followed.status_code == 200, uri
                assert followed.json()["self"] == uri
            else:
                unpublished.add(uri.split("/")[2])
                assert followed.status_code in (404, 405), uri
    assert len(seen) > 40
    assert unpublished == {"asn"}  # the assessment's asn_prefix


@pytest.mark.parametrize(
    "uri",
    [
        "/v1/asn/prefix/8.8.8.0%252F24",
        "/v1/datacenter/prefix/20.36.0.0%252F15",
        "/v1/token/activity/37",
        "/v1/token/{key}",
        "/v1/denylist/private/{list}/origin",
        "/v1/denylist/public/{list}/origin",
        "/v1/allowlist/private/{list}/origin",
        "/v1/allowlist/public/{list}/origin",
    ],
)
def test_no_get_the_published_document_lacks(env: Env, uri: str) -> None:
    lists = env.get("/v1/denylist/private/all").json()["lists"]
    uri = uri.format(key=env.key(), list=lists[0]["self"].rsplit("/", 1)[1])
    assert not _published_get(uri)
    assert env.get(uri).status_code in (404, 405, 422)


def test_absent_references_are_empty_strings(env: Env) -> None:
    body = env.get("/v1/assess/ip/8.8.8.8").json()
    assert body["datacenter"] == body["denylisted"] == body["allowlisted"] == ""
    assert body["datasets"] == body["sources"] == []
    assert body["risk"] == "LOW"


def test_prefix_uris_encode_the_slash_twice(env: Env) -> None:
    assert env.get("/v1/datacenter/ip/20.36.12.1").json()["self"] == "/v1/datacenter/prefix/20.36.0.0%252F15"
    assert env.get("/v1/asn/ip/2001:4860:4860::8888").json()["self"] == "/v1/asn/prefix/2001:4860::%252F32"
    posted = env.post("/v1/asn/prefix", {"prefix": "8.8.8.0/25"})
    assert posted.json()["self"] == "/v1/asn/prefix/8.8.8.0%252F24"


def test_post_parameters_come_from_the_json_body(env: Env) -> None:
    assert invalid(env.call("POST", "/v1/asn/prefix", params={"prefix": "8.8.8.0/24"}))[0]["loc"] == ["body"]
    assert invalid(env.post("/v1/asn/prefix", {}))[0]["loc"] == ["body", "prefix"]
    assert invalid(env.post("/v1/asn/prefix", {"prefix": "8.8.8.1/24"}))[0]["type"] == "value_error.ipvanynetwork"
    handled(env.post("/v1/datacenter/prefix", {"prefix": "8.8.8.0/24"}), 404, "resource-not-found")


def test_validation_failures_are_422_with_located_errors(env: Env) -> None:
    assert invalid(env.get("/v1/asn/abc"))[0]["loc"] == ["path", "number"]
    assert invalid(env.get("/v1/asn/registry/verisign"))[0]["type"] == "type_error.enum"
    assert invalid(env.get("/v1/asn/status/retired"))[0]["type"] == "type_error.enum"
    assert invalid(env.get("/v1/assess/ip/999.1.1.1"))[0]["type"] == "value_error.ipvanyaddress"
    assert invalid(env.get("/v1/dataset/ip/tor"))[0]["type"] == "value_error.str.regex"
    assert invalid(env.get("/v1/source/ip/TOR_LIST/range/2D"))[0]["loc"] == ["path", "time_range"]
    assert invalid(env.get("/v1/token/activity", params={"page": "0"}))[0]["loc"] == [
        "query",
        "page",
    ]
    assert invalid(env.get("/v1/denylist/private/not-a-uuid"))[0]["type"] == "type_error.uuid"
    assert invalid(env.post("/v1/ua", [f"agent {n}" for n in range(101)]))[0]["type"] == "value_error.list.max_items"


def test_handled_errors_link_their_pages(env: Env) -> None:
    assert handled(env.get("/v1/asn/4294967295"), 404, "resource-not-found")["title"] == "Resource not found"
    handled(env.get("/v1/assess/ip/192.168.1.10"), 400, "ip-address-cannot-be-private")
    handled(env.get("/v1/geo/10.0.0.1"), 400, "ip-address-cannot-be-private")
    handled(env.get("/v1/datacenter/ip/8.8.8.8"), 404, "resource-not-found")
    handled(env.get("/v1/dataset/ip/NOT_A_DATASET"), 404, "dataset-not-found")
    handled(env.get("/v1/denylist/reported/ip/9.9.9.9"), 404, "reported-ip-address-not-found")
    handled(env.get("/v1/log/ip/id/1"), 404, "logchange-id-not-found")
    handled(
        env.get("/v1/denylist/reported/ip", params={"greater_than": "0"}),
        400,
        "value-should-be-greater-than-zero",
    )
    handled(
        env.get("/v1/denylist/reported/ip", params={"output_format": "AWS-WAF"}),
        400,
        "combined-ip-protocol-not-supported",
    )


# --- assessment, batches, lookups -----------------------------------------------------------------


def test_assessment_of_a_listed_address(env: Env) -> None:
    body = env.get("/v1/assess/ip/185.220.101.34").json()
    assert isinstance(body["score"], int)
    assert 0 <= body["score"] <= 99
    assert body["risk"] in {"MEDIUM", "HIGH"}
    assert "/v1/dataset/ip/TOR" in body["datasets"]
    assert len(body["first_appearance"]) == len(body["last_appearance"]) == len(body["sources"]) == 2
    assert body["asn"] == "/v1/asn/9009"


def test_reported_and_allowlisted_addresses_override_the_score(env: Env) -> None:
    reported = env.get("/v1/assess/ip/45.155.205.233").json()
    assert (reported["score"], reported["risk"]) == (99, "HIGH")
    assert reported["denylisted"] == "/v1/denylist/reported/ip/45.155.205.233"
    office = env.get("/v1/assess/ip/81.2.69.20").json()
    assert (office["score"], office["risk"]) == (0, "LOW")
    assert office["allowlisted"].startswith("/v1/allowlist/private/")


def test_batches_leave_private_addresses_out_and_are_bounded(env: Env) -> None:
    response = env.post("/v1/assess/ip", ["8.8.8.8", "192.168.1.10", "2001:4860:4860::8888"])
    assert response.status_code == 200
    body = response.json()
    assert body["self"] == "/v1/assess/ip"
    assert [r["self"] for r in body["results"]] == [
        "/v1/assess/ip/8.8.8.8",
        "/v1/assess/ip/2001:4860:4860::8888",
    ]
    geo = env.post("/v1/geo", ["8.8.8.8", "10.0.0.1"]).json()
    assert [r["self"] for r in geo["results"]] == ["/v1/geo/8.8.8.8"]
    invalid(env.post("/v1/assess/ip", []))
    invalid(env.post("/v1/assess/ip", ["8.8.8.8", "8.8.8.8"]))
    invalid(env.post("/v1/geo", [f"1.1.{n // 250}.{n % 250}" for n in range(501)]))
    invalid(env.post("/v1/assess/ip", {"ips": ["8.8.8.8"]}))
    invalid(env.call("POST", "/v1/assess/ip", content=b"[not json"))


def test_user_agents_are_classified_and_named_by_their_encoding(env: Env) -> None:
    body = env.post("/v1/ua", [CHROME, "Googlebot/2.1 (+http://www.google.com/bot.html)", "curl/8.5.0"]).json()
    chrome, bot, curl = body["results"]
    assert chrome["self"] == "/v1/ua/" + quote(CHROME, safe="")
    assert (chrome["classification"], chrome["family"], chrome["os"]) == (
        "CLIENT",
        "/v1/ua/family/CHROME",
        "/v1/ua/os/WINDOWS10",
    )
    assert (chrome["version"], bot["classification"], bot["device"]) == (
        "120.0.0.0",
        "CRAWLER",
        "/v1/ua/device/BOT",
    )
    assert curl["type"] == "/v1/ua/type/LIBRARY"
    assert env.get("/v1/ua/os/WINDOWS10").json()["vendor"] == "MICROSOFT"
    handled(env.get("/v1/ua/os/BEOS"), 404, "resource-not-found")


def test_lists_by_type_and_by_address(env: Env) -> None:
    lists = env.get("/v1/denylist/private/all").json()["lists"]
    assert {acl["name"] for acl in lists} >= {"Default denylist", "External sources reported CIDRs"}
    assert all(acl["list_type"] == "DENY" and "content" in acl for acl in lists)
    countries = env.get("/v1/denylist/private/all/country").json()["lists"]
    assert [acl["resource_type"] for acl in countries] == ["COUNTRY"]
    invalid(env.get("/v1/denylist/private/all/planet"))
    hits = env.get("/v1/denylist/private/ip/45.155.205.233").json()
    assert hits["reported"] == ["/v1/denylist/reported/ip/45.155.205.233"]
    assert len(hits["asns"]) == 1  # AS9009 is in "Hosting networks"
    public = env.get("/v1/denylist/public/all").json()["lists"]
    assert all(acl["status"] == "ACTIVE" and "content" not in acl for acl in public)
    owned = env.get("/v1/denylist/public/owned").json()["lists"]
    assert [acl["name"] for acl in owned] == ["Tor exit nodes"]
    unknown = "00000000-0000-4000-8000-000000000000"
    handled(env.get(f"/v1/allowlist/private/{unknown}"), 404, "resource-not-found")


def test_activity_paging(env: Env) -> None:
    first = env.get("/v1/token/activity").json()
    assert (first["page"], first["page_size"], len(first["activities"])) == (1, 20, 20)
    second = env.get("/v1/token/activity", params={"page": 2, "page_size": 7}).json()
    assert (second["page"], second["page_size"]) == (2, 7)
    assert second["activities"] == first["activities"][7:14]
    assert env.get("/v1/token/activity", params={"page": 9}).json()["activities"] == []
    every = env.get("/v1/token/activity", params={"page_size": 100}).json()["activities"]
    assert len(every) == 47
    assert [a["created_at"] for a in every] == sorted((a["created_at"] for a in every), reverse=True)


def test_list_content_is_paged(env: Env) -> None:
    office = next(
        acl for acl in env.get("/v1/allowlist/private/all").json()["lists"] if acl["name"] == "Office networks"
    )
    page = env.get(office["content"], params={"page": 2, "page_size": 3}).json()
    assert page["cidrs"] == ["81.2.69.64/28", "81.2.69.80/28", "81.2.69.96/28"]
    assert page["asns"] == page["countries"] == []


def test_reported_listing_filters_and_formats(env: Env) -> None:
    every = env.get("/v1/denylist/reported/ip").json()["addresses"]
    assert {e["protocol"] for e in every} == {"IPV4", "IPV6"}
    v6 = env.get("/v1/denylist/reported/ip", params={"ip_protocol_version": "IPV6"}).json()["addresses"]
    assert v6
    assert {e["protocol"] for e in v6} == {"IPV6"}
    many = env.get("/v1/denylist/reported/ip", params={"greater_than": 20}).json()["addresses"]
    assert all(e["total_reports"] > 20 for e in many)
    assert 0 < len(many) < len(every)
    csv = env.get("/v1/denylist/reported/ip", params={"output_format": "CSV"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("address,")
    assert len(csv.text.splitlines()) == len(every) + 1
    waf = env.get(
        "/v1/denylist/reported/ip",
        params={"output_format": "AWS-WAF", "ip_protocol_version": "IPV4"},
    )
    assert all(a.endswith("/32") for a in waf.json()["Addresses"])
    handled(env.get("/v1/denylist/reported/ip", params={"dataset": "NOPE"}), 404, "dataset-not-found")


def test_deleting_reported_addresses(env: Env) -> None:
    assert env.call("DELETE", "/v1/denylist/reported/ip/45.155.205.233").status_code == 200
    handled(env.get("/v1/denylist/reported/ip/45.155.205.233"), 404, "reported-ip-address-not-found")
    remaining = env.call("DELETE", "/v1/denylist/reported/ip/all")
    assert remaining.status_code == 200
    assert remaining.json()["addresses"] == []
    assert env.get("/v1/denylist/reported/ip").json()["addresses"] == []


def test_openapi_document_is_served_without_a_key(env: Env) -> None:
    response = env.get("/openapi.json", key="")
    assert response.status_code == 200
    assert response.json()["info"]["version"] == "1.2.27"
    assert response.content == VENDOR_SPEC.read_bytes(), "the vendor's document, as published"


# --- quotas ---------------------------------------------------------------------------------------


def test_every_request_spends_one_point_even_when_invalid(env: Env) -> None:
    first = env.get("/v1/token").json()["last_month_bucket_value"]
    env.get("/v1/asn/15169")
    env.get("/v1/asn/abc")
    env.get("/v1/asn/4294967295")
    assert env.get("/v1/token").json()["last_month_bucket_value"] == first + 4


def test_minute_quota_answers_429_with_retry_after_and_frees_up(env: Env) -> None:
    token = env.get("/v1/token", kind="QUOTA_KEY").json()
    assert (token["last_minute_bucket_init_value"], token["last_minute_bucket_value"]) == (3, 1)
    assert token["last_month_bucket_init_value"] == 5000
    env.clock.now += 20
    assert env.get("/v1/dataset/ip", kind="QUOTA_KEY").status_code == 200
    assert env.get("/v1/dataset/ip", kind="QUOTA_KEY").status_code == 200
    refused = env.get("/v1/dataset/ip", kind="QUOTA_KEY")
    handled(refused, 429, "too-many-requests")
    assert refused.headers["Retry-After"] == "40"
    env.clock.now += 41
    assert env.get("/v1/dataset/ip", kind="QUOTA_KEY").status_code == 200
    assert env.get("/v1/dataset/ip").status_code == 200  # other keys are unaffected


def test_month_quota_and_the_report_api_beyond_it(env: Env) -> None:
    for _ in range(4):
        assert env.get("/v1/dataset/ip", kind="MONTH_KEY").status_code == 200
    refused = env.get("/v1/token", kind="MONTH_KEY")
    handled(refused, 429, "too-many-requests")
    assert int(refused.headers["Retry-After"]) > 0
    assert env.report("/v1/ip", {"addresses": ["185.156.73.70"]}, kind="MONTH_KEY").status_code == 202
    env.server.reset()
    assert env.get("/v1/token", kind="MONTH_KEY").json()["last_month_bucket_value"] == 1


def test_report_api_quota_and_user_quota_are_separate(env: Env) -> None:
    before = env.get("/v1/token").json()["last_month_bucket_value"]
    for _ in range(2):
        assert env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]}, kind="QUOTA_KEY").status_code == 202
    refused = env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]}, kind="QUOTA_KEY")
    handled(refused, 429, "too-many-requests")
    assert refused.headers["Retry-After"].isdigit()
    env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]})
    assert env.get("/v1/token").json()["last_month_bucket_value"] == before + 1


# --- the Report API -------------------------------------------------------------------------------


def test_report_api_answers_202_empty_and_only_to_post(env: Env) -> None:
    body = {"addresses": ["185.156.73.54"], "ttl": 60, "type": "ABUSE", "tags": ["CONTRACTGATE"]}
    for path in ("/v1/ip", "/v1/unban/ip", "/v1/false/add/ip", "/v1/false/remove/ip"):
        response = env.report(path, body)
        assert (response.status_code, response.content) == (202, b"")
    wrong_verb = env.call("GET", "/v1/ip", api="threatjammer-report")
    assert wrong_verb.status_code == 405
    assert wrong_verb.headers["allow"] == "POST"
    handled(env.report("/v1/ip", body, key=UNKNOWN_KEY), 401, "unauthorized")
    invalid(env.report("/v1/ip", {"ttl": 60}))
    invalid(env.report("/v1/ip", {"addresses": []}))
    invalid(env.report("/v1/ip", {"addresses": ["8.8.8.8"], "tags": ["lower"]}))
    invalid(env.report("/v1/ip", {"addresses": ["8.8.8.8"], "ttl": 0}))
    handled(env.report("/v1/ip", {"addresses": ["10.0.0.1"]}), 400, "ip-address-must-be-public")
    handled(env.report("/v1/ip", {"addresses": ["8.8.8.8"], "type": "NOPE"}), 404, "dataset-not-found")


def test_reports_are_global_to_the_user_and_counted(env: Env) -> None:
    body = {"addresses": ["185.156.73.60"], "ttl": 600, "type": "TOR", "tags": ["SSH"]}
    env.clock.now += 1
    assert env.report("/v1/ip", body, region="paris").status_code == 202
    entry = env.get("/v1/denylist/reported/ip/185.156.73.60", region="dublin").json()
    assert (entry["dataset"], entry["tags"], entry["total_reports"]) == (
        "/v1/dataset/ip/TOR",
        ["SSH"],
        1,
    )
    assert entry["expiry"] - entry["last_report"] == 600_000
    env.clock.now += 5
    env.report("/v1/ip", {**body, "tags": ["HONEYPOT"]})
    again = env.get("/v1/denylist/reported/ip/185.156.73.60").json()
    assert (again["total_reports"], again["tags"]) == (2, ["HONEYPOT", "SSH"])
    assert again["last_report"] == entry["last_report"] + 5000
    env.report("/v1/unban/ip", {"addresses": ["185.156.73.60"]})
    handled(env.get("/v1/denylist/reported/ip/185.156.73.60"), 404, "reported-ip-address-not-found")
    # other users do not see it
    env.report("/v1/ip", body)
    handled(
        env.get("/v1/denylist/reported/ip/185.156.73.60", kind="QUOTA_KEY"),
        404,
        "reported-ip-address-not-found",
    )


def test_bans_expire_with_their_ttl(env: Env) -> None:
    env.report("/v1/ip", {"addresses": ["185.156.73.65"], "ttl": 30})
    assert env.get("/v1/denylist/reported/ip/185.156.73.65").status_code == 200
    env.clock.now += 31
    assert env.get("/v1/denylist/reported/ip/185.156.73.65").status_code == 404


def test_false_positives_land_in_the_default_allowlist(env: Env) -> None:
    assert env.get("/v1/assess/ip/185.220.101.47").json()["risk"] != "LOW"
    env.report("/v1/false/add/ip", {"addresses": ["185.220.101.47"], "ttl": 300})
    body = env.get("/v1/assess/ip/185.220.101.47").json()
    assert (body["risk"], body["datasets"]) == ("LOW", [])
    default = env.get(body["allowlisted"]).json()
    assert default["name"] == "Default allowlist"
    assert env.get(default["content"]).json()["cidrs"] == ["185.220.101.47/32"]
    env.report("/v1/false/remove/ip", {"addresses": ["185.220.101.47"]})
    assert env.get("/v1/assess/ip/185.220.101.47").json()["risk"] != "LOW"


def test_reset_restores_the_seed(env: Env) -> None:
    seeded = env.get("/v1/denylist/reported/ip").json()
    env.report("/v1/ip", {"addresses": ["185.156.73.80"]})
    env.call("DELETE", "/v1/denylist/reported/ip/all")
    env.server.reset()
    assert env.get("/v1/denylist/reported/ip").json() == seeded
    assert env.get("/v1/token").json()["last_month_bucket_value"] == 2


# --- faults ---------------------------------------------------------------------------------------

Probe = Callable[[Env], None]


def _status(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, (response.status_code, response.text[:200])


def _report_body(address: str = "185.156.73.54") -> dict[str, Any]:
    return {"addresses": [address], "ttl": 60, "type": "ABUSE", "tags": ["CONTRACTGATE"]}


def _page_two(env: Env) -> dict[str, Any]:
    result: dict[str, Any] = env.get("/v1/token/activity", params={"page": 2, "page_size": 5}).json()
    return result


def _month_spent(env: Env) -> None:
    for _ in range(5):
        env.get("/v1/dataset/ip", kind="MONTH_KEY")


def _minute_refused(env: Env, kind: str = "QUOTA_KEY") -> httpx.Response:
    for _ in range(3):
        env.get("/v1/dataset/ip", kind=kind)
    return env.get("/v1/dataset/ip", kind=kind)


PROBES: dict[str, Probe] = {}


def probe(name: str) -> Callable[[Probe], Probe]:
    """Register a fault's probe: it asserts the deviation, so it passes only with the fault on."""

    def register(function: Probe) -> Probe:
        PROBES[name] = function
        return function

    return register


def _expect_status(status: int, request: Callable[[Env], httpx.Response]) -> Probe:
    def check(env: Env) -> None:
        _status(request(env), status)

    return check


for _name, _status_code, _request in [
    ("cross-region-key-accepted", 200, lambda e: e.get("/v1/token", region="paris", key=e.key())),
    (
        "report-cross-region-key-accepted",
        202,
        lambda e: e.report("/v1/ip", _report_body(), region="paris", key=e.key()),
    ),
    ("missing-auth-403", 403, lambda e: e.get("/v1/asn/15169", key="")),
    ("unknown-key-accepted", 200, lambda e: e.get("/v1/asn/15169", key=UNKNOWN_KEY)),
    ("malformed-key-400", 400, lambda e: e.get("/v1/asn/15169", key="tja_short")),
    ("bearer-prefix-optional", 200, lambda e: e.get("/v1/asn/15169", authorization=e.key())),
    ("test-endpoint-missing", 404, lambda e: e.get("/test")),
    ("v2-alias-served", 200, lambda e: e.get("/v2/asn/15169")),
    ("post-params-from-query", 200, lambda e: e.call("POST", "/v1/asn/prefix?prefix=8.8.8.0/24")),
    ("batch-201", 201, lambda e: e.post("/v1/assess/ip", ["8.8.8.8"])),
    ("validation-not-422", 400, lambda e: e.get("/v1/assess/ip/999.1.1.1")),
    ("unknown-asn-empty-200", 200, lambda e: e.get("/v1/asn/4294967295")),
    ("registry-code-unvalidated", 404, lambda e: e.get("/v1/asn/registry/verisign")),
    ("private-ip-assessed", 200, lambda e: e.get("/v1/assess/ip/192.168.1.10")),
    ("datacenter-miss-empty-200", 200, lambda e: e.get("/v1/datacenter/ip/8.8.8.8")),
    ("dataset-name-case-folded", 200, lambda e: e.get("/v1/dataset/ip/tor")),
    ("time-range-unvalidated", 404, lambda e: e.get("/v1/source/ip/TOR_LIST/range/2D")),
    ("report-api-200", 200, lambda e: e.report("/v1/false/remove/ip", {"addresses": ["8.8.8.8"]})),
    ("report-api-get-allowed", 422, lambda e: e.call("GET", "/v1/ip", api="threatjammer-report")),
    ("report-token-unchecked", 202, lambda e: e.report("/v1/ip", _report_body(), key=UNKNOWN_KEY)),
    ("report-body-unvalidated", 202, lambda e: e.report("/v1/ip", {"ttl": 60})),
    ("minute-quota-unenforced", 200, lambda e: _minute_refused(e)),
    (
        "batch-size-unchecked",
        200,
        lambda e: e.post("/v1/assess/ip", [f"1.1.{n // 250}.{n % 250}" for n in range(501)]),
    ),
]:
    PROBES[_name] = _expect_status(_status_code, _request)


@probe("bearer-prefix-unnamed")
def _bearer_unnamed(env: Env) -> None:
    response = env.get("/v1/asn/15169", authorization=env.key())
    _status(response, 401)
    assert "Bearer" not in response.json()["detail"]


@probe("token-self-masked")
def _token_masked(env: Env) -> None:
    assert "*" in env.get("/v1/token").json()["self"]


@probe("json-served-as-text")
def _json_as_text(env: Env) -> None:
    assert env.get("/v1/asn/15169").headers["content-type"].startswith("text/plain")


@probe("query-filter-ignored")
def _filter_ignored(env: Env) -> None:
    listing = env.get("/v1/denylist/reported/ip", params={"ip_protocol_version": "IPV6"}).json()
    assert {entry["protocol"] for entry in listing["addresses"]} == {"IPV4", "IPV6"}


@probe("self-missing")
def _self_missing(env: Env) -> None:
    assert "self" not in env.get("/v1/geo/8.8.8.8").json()


@probe("batch-result-self-collection")
def _result_self(env: Env) -> None:
    assert env.post("/v1/assess/ip", ["8.8.8.8"]).json()["results"][0]["self"] == "/v1/assess/ip"


@probe("absolute-reference-uris")
def _absolute(env: Env) -> None:
    centre = env.get("/v1/datacenter/MICROSOFT_CORPORATION").json()
    assert centre["asn"] == "https://dublin.api.threatjammer.com/v1/asn/8075"


@probe("dangling-reference")
def _dangling(env: Env) -> None:
    _status(env.get(env.get("/v1/asn/15169").json()["prefixes"]), 404)


@probe("absent-reference-null")
def _null_reference(env: Env) -> None:
    assert env.get("/v1/assess/ip/8.8.8.8").json()["datacenter"] is None


@probe("prefix-uri-single-encoded")
def _single_encoded(env: Env) -> None:
    assert env.get("/v1/asn/ip/8.8.8.8").json()["self"] == "/v1/asn/prefix/8.8.8.0%2F24"


@probe("error-missing-title")
def _no_title(env: Env) -> None:
    assert "title" not in env.get("/v1/asn/4294967295").json()


@probe("error-type-colon-key")
def _colon_key(env: Env) -> None:
    assert set(env.get("/v1/asn/4294967295").json()) == {"title", "detail", "type:"}


@probe("error-slug-mismatch")
def _slug_mismatch(env: Env) -> None:
    body = env.get("/v1/token", key=UNKNOWN_KEY).json()
    assert body["type"] == ERROR_PAGE + "resource-not-found"


@probe("validation-detail-string")
def _detail_string(env: Env) -> None:
    assert isinstance(env.get("/v1/asn/abc").json()["detail"], str)


@probe("registry-date-dashed")
def _dashed(env: Env) -> None:
    assert env.get("/v1/asn/15169").json()["registry_date"] == "2000-03-30"


@probe("registry-all-wrapped")
def _wrapped(env: Env) -> None:
    assert isinstance(env.get("/v1/asn/registry/all").json(), dict)


@probe("assess-score-string")
def _score_string(env: Env) -> None:
    assert isinstance(env.get("/v1/assess/ip/8.8.8.8").json()["score"], str)


@probe("score-100")
def _score_100(env: Env) -> None:
    assert env.get("/v1/assess/ip/45.155.205.233").json()["score"] == 100


@probe("batch-private-included")
def _private_included(env: Env) -> None:
    assert len(env.post("/v1/assess/ip", ["8.8.8.8", "10.0.0.1"]).json()["results"]) == 2


@probe("reported-ip-not-high")
def _not_high(env: Env) -> None:
    assert env.get("/v1/assess/ip/45.155.205.233").json()["risk"] != "HIGH"


@probe("allowlist-ignored")
def _allowlist_ignored(env: Env) -> None:
    env.report("/v1/false/add/ip", {"addresses": ["185.220.101.47"], "ttl": 300})
    assert env.get("/v1/assess/ip/185.220.101.47").json()["risk"] != "LOW"


@probe("ua-self-not-encoded")
def _raw_ua(env: Env) -> None:
    assert env.post("/v1/ua", [CHROME]).json()["results"][0]["self"] == "/v1/ua/" + CHROME


@probe("list-id-unvalidated")
def _list_id(env: Env) -> None:
    _status(env.get("/v1/denylist/private/default"), 404)


@probe("report-times-in-seconds")
def _seconds(env: Env) -> None:
    assert env.get("/v1/denylist/reported/ip/45.155.205.233").json()["last_report"] < 10**12


@probe("csv-format-ignored")
def _csv_ignored(env: Env) -> None:
    listing = env.get("/v1/denylist/reported/ip", params={"output_format": "CSV"})
    assert listing.headers["content-type"].startswith("application/json")


@probe("delete-reported-ignored")
def _delete_ignored(env: Env) -> None:
    _status(env.call("DELETE", "/v1/denylist/reported/ip/45.155.205.233"), 200)
    _status(env.get("/v1/denylist/reported/ip/45.155.205.233"), 200)


@probe("page-size-default-10")
def _size_10(env: Env) -> None:
    assert len(env.get("/v1/token/activity").json()["activities"]) == 10


@probe("page-not-echoed")
def _not_echoed(env: Env) -> None:
    page = _page_two(env)
    assert (page["page"], page["page_size"]) == (1, 20)


@probe("page-zero-based")
def _zero_based(env: Env) -> None:
    assert _page_two(env)["activities"][0]["self"] == "/v1/token/activity/37"


@probe("report-quota-unenforced")
def _report_unlimited(env: Env) -> None:
    for _ in range(3):
        _status(env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="QUOTA_KEY"), 202)


@probe("report-consumes-user-quota")
def _report_costs(env: Env) -> None:
    env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]})
    assert env.get("/v1/token").json()["last_month_bucket_value"] == 2


@probe("report-blocked-by-user-quota")
def _report_blocked(env: Env) -> None:
    _month_spent(env)
    _status(env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="MONTH_KEY"), 429)


@probe("report-tags-dropped")
def _tags_dropped(env: Env) -> None:
    env.report("/v1/ip", _report_body("185.156.73.90"))
    assert env.get("/v1/denylist/reported/ip/185.156.73.90").json()["tags"] == []


@probe("unban-ignored")
def _unban_ignored(env: Env) -> None:
    env.report("/v1/unban/ip", {"addresses": ["45.155.205.233"]})
    _status(env.get("/v1/denylist/reported/ip/45.155.205.233"), 200)


@probe("quota-refresh-in-seconds")
def _refresh_seconds(env: Env) -> None:
    assert env.get("/v1/token").json()["last_month_bucket_refresh"] < 10**12


@probe("validation-not-counted")
def _not_counted(env: Env) -> None:
    env.get("/v1/asn/abc")
    assert env.get("/v1/token").json()["last_month_bucket_value"] == 1


@probe("429-without-retry-after")
def _no_retry_after(env: Env) -> None:
    refused = _minute_refused(env)
    _status(refused, 429)
    assert "retry-after" not in refused.headers


@probe("minute-retry-after-ms")
def _minute_ms(env: Env) -> None:
    refused = _minute_refused(env)
    _status(refused, 429)
    seconds = int(refused.json()["detail"].split("retry in ")[1].split()[0])
    assert refused.headers["Retry-After"] == str(seconds * 1000)


@probe("month-quota-unenforced")
def _month_unlimited(env: Env) -> None:
    _month_spent(env)
    _status(env.get("/v1/dataset/ip", kind="MONTH_KEY"), 200)


@probe("geo-coordinates-as-strings")
def _coordinates(env: Env) -> None:
    assert isinstance(env.get("/v1/geo/8.8.8.8").json()["latitude"], str)


@probe("batch-results-keyed-by-address")
def _keyed(env: Env) -> None:
    assert isinstance(env.post("/v1/geo", ["8.8.8.8"]).json()["results"], dict)


# --- faults that each trip one rule on its own (value-level where the rule allows) --------------


for _name, _status_code, _request in [
    ("cross-region-key-accepted-token", 200, lambda e: e.get("/v1/token", region="paris", key=e.key())),
    ("cross-region-key-accepted-geo", 200, lambda e: e.get("/v1/geo/8.8.8.8", region="paris", key=e.key())),
    ("unknown-key-accepted-token", 200, lambda e: e.get("/v1/token", key=UNKNOWN_KEY)),
    ("unknown-key-accepted-geo", 200, lambda e: e.get("/v1/geo/8.8.8.8", key=UNKNOWN_KEY)),
    ("bearer-prefix-optional-geo", 200, lambda e: e.get("/v1/geo/8.8.8.8", authorization=e.key())),
    ("single-item-batch-201", 201, lambda e: e.post("/v1/ua", ["curl/8.5.0"])),
    ("page-invalid-400", 400, lambda e: e.get("/v1/token/activity", params={"page": "first"})),
    ("private-asn-empty-200", 200, lambda e: e.get("/v1/asn/64512")),
    ("status-code-unvalidated", 404, lambda e: e.get("/v1/asn/status/retired")),
    ("private-10-assessed", 200, lambda e: e.get("/v1/assess/ip/10.20.30.40")),
    (
        "geo-batch-size-unchecked",
        200,
        lambda e: e.post("/v1/geo", [f"1.1.{n // 250}.{n % 250}" for n in range(501)]),
    ),
]:
    PROBES[_name] = _expect_status(_status_code, _request)


@probe("batch-result-self-rotated")
def _rotated(env: Env) -> None:
    results = env.post("/v1/assess/ip", ["8.8.8.8", "1.1.1.1"]).json()["results"]
    assert [r["self"] for r in results] == ["/v1/assess/ip/1.1.1.1", "/v1/assess/ip/8.8.8.8"]


@probe("absent-list-empty-string")
def _empty_string_list(env: Env) -> None:
    body = env.get("/v1/assess/ip/8.8.8.8").json()
    assert (body["datasets"], body["sources"]) == ([""], [""])


@probe("datacenter-prefix-uri-single-encoded")
def _dc_single(env: Env) -> None:
    assert env.get("/v1/datacenter/ip/20.36.12.1").json()["self"].endswith("%2F15")
    assert env.get("/v1/asn/ip/8.8.8.8").json()["self"].endswith("%252F24")


@probe("reported-not-found-detail-list")
def _detail_list(env: Env) -> None:
    response = env.get("/v1/denylist/reported/ip/9.9.9.9")
    _status(response, 404)
    assert isinstance(response.json()["detail"], list)


@probe("error-type-both-keys")
def _both_keys(env: Env) -> None:
    body = env.get("/v1/asn/4294967295").json()
    assert body.get("type:") == body["type"]


@probe("path-loc-dotted")
def _dotted_loc(env: Env) -> None:
    assert env.get("/v1/asn/not-a-number").json()["detail"][0]["loc"] == "path.number"


@probe("asn-name-with-suffix")
def _asn_suffix(env: Env) -> None:
    assert env.get("/v1/asn/15169").json()["name"] == "GOOGLE LLC"


@probe("registry-all-missing-last")
def _registry_short(env: Env) -> None:
    assert len(env.get("/v1/asn/registry/all").json()) == 5
    assert len(env.get("/v1/asn/status/all").json()) == 4


@probe("assess-datasets-hidden")
def _datasets_hidden(env: Env) -> None:
    assert env.get("/v1/assess/ip/185.220.101.34").json()["datasets"] == []


@probe("datacenter-miss-titled")
def _dc_titled(env: Env) -> None:
    response = env.get("/v1/datacenter/ip/8.8.8.8")
    _status(response, 404)
    assert response.json()["title"] == "Datacenter not found"


@probe("page-window-off-by-one")
def _window_early(env: Env) -> None:
    first = env.get("/v1/token/activity", params={"page": 1, "page_size": 5}).json()["activities"]
    assert _page_two(env)["activities"][0] == first[-1]


@probe("false-add-body")
def _false_add_body(env: Env) -> None:
    response = env.report("/v1/false/add/ip", _report_body())
    _status(response, 202)
    assert response.content


@probe("month-retry-after-ms")
def _month_ms(env: Env) -> None:
    _month_spent(env)
    response = env.get("/v1/dataset/ip", kind="MONTH_KEY")
    _status(response, 429)
    seconds = int(response.json()["detail"].split("retry in ")[1].split()[0])
    assert response.headers["Retry-After"] == str(seconds * 1000)


@probe("geo-one-coordinates-as-strings")
def _geo_one_strings(env: Env) -> None:
    assert isinstance(env.get("/v1/geo/8.8.8.8").json()["latitude"], str)
    assert isinstance(env.post("/v1/geo", ["8.8.8.8"]).json()["results"][0]["latitude"], float)


@probe("log-of-address-empty-null")
def _log_null(env: Env) -> None:
    assert env.get("/v1/log/ip/8.8.8.8").json()["logs"] is None


@probe("geo-batch-drops-last")
def _geo_short(env: Env) -> None:
    assert len(env.post("/v1/geo", ["8.8.8.8", "1.1.1.1"]).json()["results"]) == 1


def _reported_twice(env: Env) -> dict[str, Any]:
    for ttl in (600, 300):
        env.report("/v1/ip", {**_report_body("185.156.73.63"), "ttl": ttl})
    entry: dict[str, Any] = env.get("/v1/denylist/reported/ip/185.156.73.63").json()
    return entry


@probe("report-expiry-not-renewed")
def _not_renewed(env: Env) -> None:
    entry = _reported_twice(env)
    assert entry["expiry"] - entry["last_report"] == 600_000


@probe("report-counted-twice")
def _counted_twice(env: Env) -> None:
    assert _reported_twice(env)["total_reports"] == 3


@probe("reported-listing-times-in-seconds")
def _listing_seconds(env: Env) -> None:
    env.report("/v1/ip", _report_body("185.156.73.58"))
    entry = env.get("/v1/denylist/reported/ip/185.156.73.58").json()
    listed = env.get("/v1/denylist/reported/ip").json()["addresses"]
    assert entry["last_report"] // 1000 in [row["last_report"] for row in listed]


@probe("dataset-name-title-case")
def _dataset_title(env: Env) -> None:
    assert env.get("/v1/dataset/ip/TOR").json()["name"] == "Tor"


@probe("datacenter-prefix-post-score-string")
def _dc_post_score(env: Env) -> None:
    assert isinstance(env.post("/v1/datacenter/prefix", {"prefix": "20.36.0.0/16"}).json()["score"], str)


def _csv(env: Env, path: str, text: str, strict: bool = False) -> httpx.Response:
    query = "?strict_parse=true" if strict else ""
    return env.call("POST", path + query, files={"csv_file": ("ips.csv", text.encode(), "text/csv")})


@probe("csv-strict-parse-ignored")
def _csv_strict_ignored(env: Env) -> None:
    response = _csv(env, "/v1/assess/ip/csv", "8.8.8.8\nnot-an-ip\n", strict=True)
    assert response.status_code == 200, response.text


@probe("delete-all-keeps-reported")
def _delete_all_kept(env: Env) -> None:
    _status(env.call("DELETE", "/v1/denylist/reported/ip/all"), 200)
    assert env.get("/v1/denylist/reported/ip").json()["addresses"]


@probe("list-size-unenforced")
def _list_size(env: Env) -> None:
    list_id = _new_list(env, "denylist", "CIDR")
    cidrs = [f"10.{n // 256}.{n % 256}.0/24" for n in range(101)]
    _status(env.call("PUT", f"/v1/denylist/private/{list_id}/content", json={"append": cidrs}), 200)


# --- issue 14: a value-level fault for each rule that had none ------------------------------------


for _name, _status_code, _request in [
    (
        "report-cross-region-key-accepted-paris",
        202,
        lambda e: e.report("/v1/ip", _report_body(), region="paris", key=e.key()),
    ),
    ("missing-auth-400", 400, lambda e: e.get("/v1/asn/15169", key="")),
    ("test-endpoint-missing-paris", 404, lambda e: e.get("/test", region="paris")),
    ("allowlist-id-unvalidated", 404, lambda e: e.get("/v1/allowlist/public/12345")),
    ("report-unban-get-allowed", 422, lambda e: e.call("GET", "/v1/unban/ip", api="threatjammer-report")),
    (
        "report-token-unchecked-paris",
        202,
        lambda e: e.report("/v1/ip", _report_body(), region="paris", key=UNKNOWN_KEY),
    ),
    ("report-invalid-address-400", 400, lambda e: e.report("/v1/ip", {"addresses": ["not-an-address"]})),
    (
        "batch-size-off-by-one",
        200,
        lambda e: e.post("/v1/assess/ip", [f"1.1.{n // 250}.{n % 250}" for n in range(501)]),
    ),
]:
    PROBES[_name] = _expect_status(_status_code, _request)


@probe("token-self-masked-paris")
def _token_masked_paris(env: Env) -> None:
    assert "*" in env.get("/v1/token", region="paris").json()["self"]
    assert "*" not in env.get("/v1/token").json()["self"]


@probe("dataset-json-served-as-text")
def _dataset_as_text(env: Env) -> None:
    assert env.get("/v1/dataset/ip").headers["content-type"].startswith("text/plain")
    assert env.get("/v1/asn/15169").headers["content-type"].startswith("application/json")


@probe("activity-self-with-query")
def _activity_self(env: Env) -> None:
    assert env.get("/v1/token/activity").json()["self"] == "/v1/token/activity?page=1&page_size=20"


@probe("time-range-365d-lapse-180d")
def _lapse_365(env: Env) -> None:
    assert env.get("/v1/source/ip/TOR_LIST/range/365D").json()["lapse"] == "180D"
    assert env.get("/v1/source/ip/TOR_LIST/range/180D").json()["lapse"] == "180D"


@probe("crawler-classified-client")
def _crawler_client(env: Env) -> None:
    results = env.post("/v1/ua", ["Googlebot/2.1 (+http://www.google.com/bot.html)"]).json()["results"]
    assert results[0]["classification"] == "CLIENT"


@probe("csv-format-ignored-when-filtered")
def _csv_filtered(env: Env) -> None:
    filtered = env.get("/v1/denylist/reported/ip", params={"output_format": "CSV", "ip_protocol_version": "IPV4"})
    alone = env.get("/v1/denylist/reported/ip", params={"output_format": "CSV"})
    assert filtered.headers["content-type"].startswith("application/json")
    assert alone.headers["content-type"].startswith("text/csv")


@probe("report-quota-off-by-one")
def _report_off_by_one(env: Env) -> None:
    answers = [env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="QUOTA_KEY").status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]


@probe("report-retry-after-ms")
def _report_ms(env: Env) -> None:
    for _ in range(2):
        env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="QUOTA_KEY")
    refused = env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="QUOTA_KEY")
    _status(refused, 429)
    seconds = int(refused.json()["detail"].split("retry in ")[1].split()[0])
    assert refused.headers["Retry-After"] == str(seconds * 1000)


@probe("report-200-once-month-spent")
def _report_200(env: Env) -> None:
    _status(env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="MONTH_KEY"), 202)
    _month_spent(env)
    response = env.report("/v1/unban/ip", {"addresses": ["8.8.8.8"]}, kind="MONTH_KEY")
    _status(response, 200)
    assert response.content == b""


@probe("list-size-off-by-one")
def _list_size_101(env: Env) -> None:
    list_id = _new_list(env, "denylist", "CIDR")
    cidrs = [f"10.{n // 256}.{n % 256}.0/24" for n in range(101)]
    _status(env.call("PUT", f"/v1/denylist/private/{list_id}/content", json={"append": cidrs}), 200)
    _status(env.call("PUT", f"/v1/denylist/private/{list_id}/content", json={"append": ["10.9.9.0/24"]}), 413)


@probe("batch-score-off-by-one")
def _batch_score(env: Env) -> None:
    single = env.get("/v1/assess/ip/185.220.101.34").json()["score"]
    batch = env.post("/v1/assess/ip", ["185.220.101.34"]).json()["results"][0]["score"]
    assert abs(batch - single) == 1


@probe("geo-batch-coordinates-swapped")
def _geo_swapped(env: Env) -> None:
    single = env.get("/v1/geo/88.198.47.110").json()
    batch = env.post("/v1/geo", ["88.198.47.110"]).json()["results"][0]
    assert (batch["latitude"], batch["longitude"]) == (single["longitude"], single["latitude"])


@probe("post-lookups-not-counted")
def _post_free(env: Env) -> None:
    before = env.get("/v1/token").json()["last_month_bucket_value"]
    _status(env.post("/v1/assess/ip", ["8.8.8.8"]), 200)
    assert env.get("/v1/token").json()["last_month_bucket_value"] == before + 1


@probe("month-retry-after-minute")
def _month_minute(env: Env) -> None:
    _month_spent(env)
    refused = env.get("/v1/dataset/ip", kind="MONTH_KEY")
    _status(refused, 429)
    assert refused.headers["Retry-After"] == "60"


@probe("quota-minute-refresh-in-seconds")
def _minute_refresh_seconds(env: Env) -> None:
    token = env.get("/v1/token").json()
    assert token["last_minute_bucket_refresh"] < 10**12 <= token["last_month_bucket_refresh"]


@probe("datacenter-prefixes-score-string")
def _dc_prefix_scores(env: Env) -> None:
    listing = env.get("/v1/datacenter/MICROSOFT_CORPORATION/prefixes").json()
    scores = [p["score"] for p in listing["prefixes_v4"] + listing["prefixes_v6"]]
    assert scores
    assert all(isinstance(score, str) for score in scores)


@probe("datacenter-prefixes-dangling")
def _dc_dangling(env: Env) -> None:
    prefixes = env.get("/v1/datacenter/MICROSOFT_CORPORATION").json()["prefixes"]
    assert prefixes == "/v1/datacenter/MICROSOFT_CORPORATION/prefix"
    _status(env.get(prefixes), 404)


def _new_list(env: Env, family: str, resource_type: str) -> str:
    payload = {"name": "Scanners", "description": "Seen scanning", "resource_type": resource_type, "tags": ["SCAN"]}
    response = env.post(f"/v1/{family}/private", {"payload": payload})
    assert response.status_code == 200, response.text
    list_id: str = response.json()
    return list_id


def test_every_fault_has_a_probe_and_names_a_rule() -> None:
    assert set(PROBES) == set(ThreatJammerServer.faults)
    for name, fault in ThreatJammerServer.faults.items():
        assert fault.name == name
        assert fault.rule.startswith("TJ-")
        assert fault.description


@pytest.mark.parametrize("name", sorted(PROBES))
def test_fault_shows_its_deviation_and_switches_off(name: str) -> None:
    env = make_env()
    env.server.switch.set([name])
    PROBES[name](env)
    env.server.switch.set([])
    env.server.reset()
    with pytest.raises(AssertionError):
        PROBES[name](env)


def test_faults_switch_on_a_running_server_and_prefix_uris_survive_a_real_socket() -> None:
    server = ThreatJammerServer()
    headers = {"Authorization": f"Bearer {server.credentials['KEY_PARIS']}"}
    with serve_in_thread(server) as running, httpx.Client(headers=headers) as client:
        base = running.urls["threatjammer:paris"]
        uri = client.get(f"{base}/v1/datacenter/ip/20.36.12.1").json()["self"]
        assert uri == "/v1/datacenter/prefix/20.36.0.0%252F15"
        assert client.get(base + uri).status_code == 404  # no GET for prefixes in the published document
        agent = client.get(f"{base}/v1/ua/{quote(CHROME, safe='')}").json()
        assert client.get(base + agent["self"]).json()["string"] == CHROME
        assert (
            client.get(
                f"{base}/v1/token",
                headers={"Authorization": "Bearer " + server.credentials["KEY_DUBLIN"]},
            ).status_code
            == 401
        )
        server.switch.set(["cross-region-key-accepted"])
        assert (
            client.get(
                f"{base}/v1/token",
                headers={"Authorization": "Bearer " + server.credentials["KEY_DUBLIN"]},
            ).status_code
            == 200
        )
        server.switch.set([])
        report = running.urls["threatjammer-report:paris"]
        assert client.post(f"{report}/v1/ip", json=_report_body()).status_code == 202


# --- the vendor's published document ---------------------------------------------------------

# Known defects of the published document, worked around here (and noted in our own OpenAPI copy).
SPEC_DEFECTS = {"IPLogOutput": "debug", "IPLogCollectionOutput": "debug"}


@pytest.fixture(scope="module")
def vendor_spec() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(VENDOR_SPEC.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    for name, field in SPEC_DEFECTS.items():
        schemas[name]["required"] = [r for r in schemas[name]["required"] if r != field]
    return document


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    whole = {**copy.deepcopy(schema), "components": document["components"]}
    return jsonschema.Draft202012Validator(whole)


def _samples(env: Env) -> dict[tuple[str, str], Callable[[], httpx.Response]]:
    """One request per vendor operation the server implements (deletes last)."""
    log_id = env.get("/v1/assess/ip/185.220.101.34").json()["first_appearance"][0].rsplit("/", 1)[1]
    ids = {
        (family, scope): env.get(f"/v1/{family}/{scope}/all").json()["lists"][0]["self"].rsplit("/", 1)[1]
        for family in ("denylist", "allowlist")
        for scope in ("private", "public")
    }
    samples: dict[tuple[str, str], Callable[[], httpx.Response]] = {}

    def get(template: str, path: str) -> None:
        samples[("get", template)] = lambda: env.get(path)

    def post(template: str, body: Any) -> None:
        samples[("post", template)] = lambda: env.post(template, body)

    get("/v1/token", "/v1/token")
    get("/v1/token/activity", "/v1/token/activity?page=2&page_size=5")
    get("/v1/asn/registry/all", "/v1/asn/registry/all")
    get("/v1/asn/registry/{code}", "/v1/asn/registry/apnic")
    get("/v1/asn/status/all", "/v1/asn/status/all")
    get("/v1/asn/status/{code}", "/v1/asn/status/allocated")
    get("/v1/asn/ip/{ip_address}", "/v1/asn/ip/2a01:4f8:c17:3b2::1")
    post("/v1/asn/prefix", {"prefix": "88.198.0.0/17"})
    get("/v1/asn/{number}", "/v1/asn/4134")
    get("/v1/asn/{number}/prefixes", "/v1/asn/8075/prefixes")
    post(
        "/v1/assess/ip",
        ["8.8.8.8", "212.231.12.22", "45.155.205.233", "2604:a880:400:d0::2051:b001"],
    )
    get("/v1/assess/ip/{ip_address}", "/v1/assess/ip/61.177.172.140")
    post("/v1/geo", ["8.8.8.8", "2a01:4f8:c17:3b2::1", "196.200.42.17"])
    get("/v1/geo/{ip_address}", "/v1/geo/177.37.155.9")
    get("/v1/datacenter/ip/{ip_address}", "/v1/datacenter/ip/167.99.14.201")
    post("/v1/datacenter/prefix", {"prefix": "2600:1f00::/32"})
    get("/v1/datacenter/{datacenter_id}", "/v1/datacenter/OVH")
    get("/v1/datacenter/{datacenter_id}/prefixes", "/v1/datacenter/GOOGLE_CLOUD/prefixes")
    get("/v1/dataset/ip", "/v1/dataset/ip")
    get("/v1/dataset/ip/{name}", "/v1/dataset/ip/BOGONS")
    get("/v1/source/ip", "/v1/source/ip")
    get("/v1/source/ip/{source}", "/v1/source/ip/SPAMHAUS_DROP")
    get("/v1/source/ip/{source}/range/{time_range}", "/v1/source/ip/TOR_LIST/range/365D")
    get("/v1/log/ip/id/{logchange_id}", f"/v1/log/ip/id/{log_id}")
    get("/v1/log/ip/{ip_address}", "/v1/log/ip/185.220.101.34")
    post("/v1/ua", [CHROME, "Googlebot/2.1 (+http://www.google.com/bot.html)", "Lynx/2.8.9"])
    get(
        "/v1/ua/{user_agent_urlencoded}",
        "/v1/ua/" + quote("Mozilla/5.0 (iPhone) Safari/604.1", safe=""),
    )
    for table, code in (
        ("type", "CRAWLER"),
        ("family", "FIREFOX"),
        ("vendor", "APPLE"),
        ("os", "IOS"),
        ("device", "TABLET"),
    ):
        get(f"/v1/ua/{table}/{{code}}", f"/v1/ua/{table}/{code}")
    get("/v1/denylist/reported/ip", "/v1/denylist/reported/ip?ip_protocol_version=IPV4")
    get("/v1/denylist/reported/ip/{ip_address}", "/v1/denylist/reported/ip/2408:8207:2486:ca90::4")
    for family in ("denylist", "allowlist"):
        base = f"/v1/{family}"
        get(f"{base}/private/all", f"{base}/private/all")
        get(f"{base}/private/all/{{resource_type}}", f"{base}/private/all/cidr")
        get(f"{base}/private/ip/{{address}}", f"{base}/private/ip/81.2.69.20")
        get(f"{base}/private/{{{family}_id}}", f"{base}/private/{ids[(family, 'private')]}")
        get(
            f"{base}/private/{{{family}_id}}/content",
            f"{base}/private/{ids[(family, 'private')]}/content",
        )
        get(f"{base}/public/all", f"{base}/public/all")
        get(f"{base}/public/all/{{resource_type}}", f"{base}/public/all/cidr")
        get(f"{base}/public/ip/{{address}}", f"{base}/public/ip/185.220.101.34")
        get(f"{base}/public/owned", f"{base}/public/owned")
        get(f"{base}/public/owned/{{resource_type}}", f"{base}/public/owned/cidr")
        get(f"{base}/public/{{{family}_id}}", f"{base}/public/{ids[(family, 'public')]}")
    samples[("delete", "/v1/denylist/reported/ip/{ip_address}")] = lambda: env.call(
        "DELETE", "/v1/denylist/reported/ip/61.177.172.140"
    )
    samples[("delete", "/v1/denylist/reported/ip/all")] = lambda: env.call("DELETE", "/v1/denylist/reported/ip/all")
    _write_samples(env, samples)
    return samples


def _write_samples(env: Env, samples: dict[tuple[str, str], Callable[[], httpx.Response]]) -> None:
    """The list writes, CSV lookups, origins and origin tokens (a list is created first; deletes last)."""
    made: dict[str, str] = {}
    owned = {
        family: env.get(f"/v1/{family}/public/owned").json()["lists"][0]["self"].rsplit("/", 1)[1]
        for family in ("denylist", "allowlist")
    }
    site = "https://shop.example.com"
    token = env.get("/v1/origin_token/all").json()["tokens"][0]["self"].rsplit("/", 1)[1]
    log_id = env.get(f"/v1/origin/addresses?query={site}").json()["addresses"][0]["log_id"]
    csv_text = "8.8.8.8\n185.220.101.34\nnot-an-ip\n"
    samples[("post", "/v1/assess/ip/csv")] = lambda: _csv(env, "/v1/assess/ip/csv", csv_text)
    samples[("post", "/v1/geo/csv")] = lambda: _csv(env, "/v1/geo/csv", csv_text)
    samples[("post", "/v1/ua/csv")] = lambda: _csv(env, "/v1/ua/csv", f"{CHROME}\ncurl/8.5.0\n")
    for family in ("denylist", "allowlist"):
        base = f"/v1/{family}"

        def create(family: str = family) -> httpx.Response:
            payload = {"name": "Scanners", "description": "Seen", "resource_type": "CIDR", "tags": ["SCAN"]}
            response = env.post(f"/v1/{family}/private", {"payload": payload})
            made[family] = response.json()
            return response

        def on_made(method: str, suffix: str, family: str = family, **kwargs: Any) -> Callable[[], httpx.Response]:
            return lambda: env.call(method, f"/v1/{family}/private/{made[family]}{suffix}", **kwargs)

        samples[("post", f"{base}/private")] = create
        samples[("put", f"{base}/private/{{{family}_id}}")] = on_made("PUT", "", json={"ttl": 3600})
        samples[("put", f"{base}/private/{{{family}_id}}/content")] = on_made(
            "PUT", "/content", json={"append": ["45.155.205.0/24"]}
        )
        samples[("put", f"{base}/private/{{{family}_id}}/origin")] = on_made(
            "PUT", "/origin", json={"origin": site, "status": "ACTIVE"}
        )
        samples[("put", f"{base}/public/{{{family}_id}}")] = lambda base=base, family=family: env.call(
            "PUT", f"{base}/public/{owned[family]}", json={"status": "INACTIVE"}
        )
        samples[("put", f"{base}/public/{{{family}_id}}/origin")] = lambda base=base, family=family: env.call(
            "PUT", f"{base}/public/{owned[family]}/origin", json={"origin": site, "status": "ACTIVE"}
        )
    samples[("get", "/v1/origin")] = lambda: env.get(f"/v1/origin?query={site}")
    samples[("put", "/v1/origin")] = lambda: env.call("PUT", "/v1/origin", json={"origin": site, "config": {"a": 1}})
    samples[("get", "/v1/origin/all")] = lambda: env.get("/v1/origin/all")
    samples[("get", "/v1/origin/addresses")] = lambda: env.get(f"/v1/origin/addresses?query={site}&page_size=5")
    samples[("get", "/v1/origin/cookies")] = lambda: env.get(f"/v1/origin/cookies?query={site}")
    samples[("get", "/v1/origin/scripts")] = lambda: env.get(f"/v1/origin/scripts?query={site}")
    samples[("post", "/v1/origin/status")] = lambda: env.post(
        f"/v1/origin/status?query={site}", {"address": "185.220.101.34"}
    )
    samples[("put", "/v1/origin/status")] = lambda: env.call(
        "PUT", f"/v1/origin/status?query={site}", json={"log_id": log_id, "scope": "address", "status": "pass"}
    )
    samples[("get", "/v1/origin/status/details")] = lambda: env.get("/v1/origin/status/details")
    samples[("get", "/v1/origin/status/detail/{status_id}")] = lambda: env.get("/v1/origin/status/detail/block")
    window = f"query={site}&interval=HOURLY&from_timestamp={int(START * 1000) - 7_200_000}"
    samples[("get", "/v1/origin/traffic/analysis")] = lambda: env.get(f"/v1/origin/traffic/analysis?{window}")
    samples[("get", "/v1/origin/client/analysis")] = lambda: env.get(f"/v1/origin/client/analysis?{window}")
    samples[("get", "/v1/origin_token/all")] = lambda: env.get("/v1/origin_token/all")
    samples[("post", "/v1/origin_token")] = lambda: env.post("/v1/origin_token", {"origin_token_id": token})
    samples[("post", "/v1/origin_token/new")] = lambda: env.post(
        "/v1/origin_token/new", {"origin": "https://x.example"}
    )
    samples[("put", "/v1/origin_token/enable")] = lambda: env.call(
        "PUT", "/v1/origin_token/enable", json={"origin_token_id": token}
    )
    samples[("put", "/v1/origin_token/disable")] = lambda: env.call(
        "PUT", "/v1/origin_token/disable", json={"origin_token_id": token}
    )
    samples[("delete", "/v1/origin_token")] = lambda: env.call(
        "DELETE", "/v1/origin_token", json={"origin_token_id": token}
    )
    for family in ("denylist", "allowlist"):
        base = f"/v1/{family}"
        samples[("delete", f"{base}/private/{{{family}_id}}/content")] = lambda family=family: env.call(
            "DELETE", f"/v1/{family}/private/{made[family]}/content"
        )
        samples[("delete", f"{base}/private/{{{family}_id}}")] = lambda family=family: env.call(
            "DELETE", f"/v1/{family}/private/{made[family]}"
        )
        samples[("delete", f"{base}/public/{{{family}_id}}")] = lambda base=base, family=family: env.call(
            "DELETE", f"{base}/public/{owned[family]}"
        )


def test_answers_validate_against_the_vendors_published_document(env: Env, vendor_spec: dict[str, Any]) -> None:
    ours = _ours()
    implemented = {
        (method, path)
        for path, item in ours["paths"].items()
        if path in vendor_spec["paths"]
        for method in item
        if method in vendor_spec["paths"][path]
    }
    samples = _samples(env)
    assert set(samples) == implemented, "every operation taken from the vendor's document has a sample"
    for (method, path), send in samples.items():
        response = send()
        assert response.status_code == 200, (method, path, response.text[:300])
        schema = vendor_spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
        errors = sorted(_validator(vendor_spec, schema).iter_errors(response.json()), key=str)
        assert not errors, (method, path, [e.message for e in errors[:3]])


def test_validation_errors_validate_against_the_vendors_published_document(
    env: Env, vendor_spec: dict[str, Any]
) -> None:
    schema = {"$ref": "#/components/schemas/HTTPValidationError"}
    validator = _validator(vendor_spec, schema)
    for response in (
        env.get("/v1/asn/abc"),
        env.get("/v1/assess/ip/not-an-ip"),
        env.post("/v1/assess/ip", []),
        env.get("/v1/source/ip/TOR_LIST/range/2W"),
    ):
        assert response.status_code == 422
        validator.validate(response.json())


def test_our_openapi_copy_keeps_the_vendors_operations_and_schemas(
    vendor_spec: dict[str, Any],
) -> None:
    ours = _ours()
    added = 0
    for path, item in ours["paths"].items():
        theirs = vendor_spec["paths"].get(path, {})
        for method, operation in item.items():
            if method == "servers":
                continue  # the Report API's own base URLs
            if method in theirs:
                assert operation["operationId"] == theirs[method]["operationId"]
            else:
                added += 1
                marks = (
                    "x-contractgate-undocumented" in operation,
                    path == "/test",
                    "servers" in item,
                )
                assert any(marks), f"{method} {path} is neither the vendor's nor marked as added"
    assert added == 5  # /test, 4 Report API operations
    for name, schema in ours["components"]["schemas"].items():
        if name in vendor_spec["components"]["schemas"]:
            properties = vendor_spec["components"]["schemas"][name].get("properties", {})
            assert set(properties) <= set(schema.get("properties", {})), name
