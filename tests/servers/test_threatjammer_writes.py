"""The Threat Jammer operations that change state or read a file: lists, CSV lookups, origins, origin tokens."""

from __future__ import annotations

import pytest

from .test_threatjammer import CHROME, Env, _csv, _new_list, handled, invalid, make_env


@pytest.fixture
def env() -> Env:
    return make_env(free_minute_quota=1000)


def test_a_created_list_is_listed_changed_filled_emptied_and_deleted(env: Env) -> None:
    list_id = _new_list(env, "denylist", "CIDR")
    uri = f"/v1/denylist/private/{list_id}"
    assert uri in [acl["self"] for acl in env.get("/v1/denylist/private/all").json()["lists"]]
    assert env.call("PUT", uri, json={"name": "Renamed", "ttl": 60}).status_code == 200
    assert env.get(uri).json()["name"] == "Renamed"
    assert env.get(uri).json()["ttl"] == 60
    body = {"append": ["45.155.205.0/24", "2a01:4f8::/32"], "remove": []}
    assert env.call("PUT", f"{uri}/content", json=body).status_code == 200
    assert env.get(f"{uri}/content").json()["cidrs"] == ["45.155.205.0/24", "2a01:4f8::/32"]
    assert env.call("PUT", f"{uri}/content", json={"remove": ["45.155.205.0/24"]}).status_code == 200
    assert env.get(f"{uri}/content").json()["cidrs"] == ["2a01:4f8::/32"]
    assert env.call("DELETE", f"{uri}/content").status_code == 200
    assert env.get(f"{uri}/content").json()["cidrs"] == []
    assert env.call("DELETE", uri).status_code == 200
    handled(env.get(uri), 404, "resource-not-found")


def test_a_list_holds_at_most_the_free_plans_100_elements(env: Env) -> None:
    uri = f"/v1/allowlist/private/{_new_list(env, 'allowlist', 'CIDR')}/content"
    hundred = [f"45.{155 + n // 256}.{n % 256}.0/24" for n in range(100)]
    assert env.call("PUT", uri, json={"append": hundred}).status_code == 200
    handled(env.call("PUT", uri, json={"append": ["45.200.0.0/24"]}), 413, "ip-address-list-too-large")
    assert len(env.get(f"{uri}?page_size=100").json()["cidrs"]) == 100


def test_default_and_foreign_lists_cannot_be_changed_and_list_ids_must_be_uuids(env: Env) -> None:
    default = env.get("/v1/denylist/private/all").json()["lists"][0]
    assert default["name"] == "Default denylist"
    handled(env.call("PUT", default["self"], json={"name": "x"}), 403, "forbidden")
    handled(env.call("DELETE", default["self"]), 403, "forbidden")
    assert env.call("DELETE", default["self"] + "/content").status_code == 200  # a default list can be emptied
    foreign = [
        acl for acl in env.get("/v1/denylist/public/all").json()["lists"] if acl["name"] == "COMMUNITY_REPORTED_LIST"
    ]
    handled(env.call("PUT", foreign[0]["self"], json={"status": "INACTIVE"}), 403, "forbidden")
    invalid(env.call("PUT", "/v1/denylist/private/default", json={"name": "x"}))
    invalid(env.post("/v1/denylist/private", {"payload": {"name": "x", "description": "y", "resource_type": "CIDR"}}))


def test_csv_lookups_need_csv_file_and_strict_parse_refuses_a_malformed_line(env: Env) -> None:
    text = "8.8.8.8\nnot-an-ip\n185.220.101.34\n10.0.0.1\n"
    lenient = _csv(env, "/v1/assess/ip/csv", text).json()
    assert [r["self"] for r in lenient["results"]] == ["/v1/assess/ip/8.8.8.8", "/v1/assess/ip/185.220.101.34"]
    handled(_csv(env, "/v1/assess/ip/csv", text, strict=True), 400, "invalid-ip-address")
    handled(_csv(env, "/v1/geo/csv", text, strict=True), 400, "invalid-ip-address")
    assert _csv(env, "/v1/geo/csv", "8.8.8.8\n", strict=True).json()["results"][0]["self"] == "/v1/geo/8.8.8.8"
    missing = env.call("POST", "/v1/ua/csv", files={"other": ("a.csv", b"curl/8.5.0\n", "text/csv")})
    assert invalid(missing)[0]["loc"] == ["body", "csv_file"]
    agents = _csv(env, "/v1/ua/csv", f"{CHROME}\ncurl/8.5.0\n").json()["results"]
    assert [a["string"] for a in agents] == [CHROME, "curl/8.5.0"]


def test_delete_all_empties_the_reported_set(env: Env) -> None:
    assert env.get("/v1/denylist/reported/ip").json()["addresses"]
    assert env.call("DELETE", "/v1/denylist/reported/ip/all").status_code == 200
    assert env.get("/v1/denylist/reported/ip").json()["addresses"] == []


def test_origins_and_origin_tokens_are_seeded_and_change(env: Env) -> None:
    site = "https://shop.example.com"
    origin = env.get(f"/v1/origin?query={site}").json()
    assert (origin["origin"], origin["status"]) == (site, "ENABLED")
    handled(env.get("/v1/origin?query=https://unknown.example"), 404, "resource-not-found")
    addresses = env.get(f"/v1/origin/addresses?query={site}&page_size=5").json()
    assert (addresses["page"], addresses["page_size"], len(addresses["addresses"])) == (1, 5, 3)
    first = addresses["addresses"][0]
    change = {"log_id": first["log_id"], "scope": "address", "status": "bypass"}
    assert env.call("PUT", f"/v1/origin/status?query={site}", json=change).status_code == 200
    status = env.post(f"/v1/origin/status?query={site}", {"address": first["address"]}).json()
    assert status["address"]["status"] == "bypass"
    assert env.get("/v1/origin/status/detail/bypass").json()["cardinality"] == 1
    token = env.get("/v1/origin_token/all").json()["tokens"][0]["self"].rsplit("/", 1)[1]
    assert env.call("PUT", "/v1/origin_token/disable", json={"origin_token_id": token}).status_code == 200
    assert env.post("/v1/origin_token", {"origin_token_id": token}).json()["status"] == "DISABLED"
    assert env.call("DELETE", "/v1/origin_token", json={"origin_token_id": token}).status_code == 200
    handled(env.post("/v1/origin_token", {"origin_token_id": token}), 404, "resource-not-found")
    new = env.post("/v1/origin_token/new", {"origin": "https://new.example"}).json()
    assert (new["origin"], new["region_id"], new["status"]) == ("https://new.example", "aws-eu-west-1", "ENABLED")


def test_a_list_created_after_a_deletion_gets_a_new_id(env: Env) -> None:
    first = _new_list(env, "denylist", "AS")
    assert env.call("DELETE", f"/v1/denylist/private/{first}").status_code == 200
    second = _new_list(env, "denylist", "AS")
    assert second != first
    assert env.get(f"/v1/denylist/private/{second}").status_code == 200
