"""The Assemblyline reference server: documented behaviour, and what each fault changes."""

from __future__ import annotations

import base64
import hashlib
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from contractgate.servers.assemblyline import AssemblylineServer
from contractgate.servers.assemblyline._roles import READ_ROLES

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which this project does not use
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
BASE = "http://al.test"
CONTENT = b"contractgate unit probe\n"
ENVELOPE = {"api_response", "api_error_message", "api_server_version", "api_status_code"}
UNKNOWN_SID = "0000000000000000000000"


@pytest.fixture
def server() -> AssemblylineServer:
    return AssemblylineServer()


@pytest.fixture
def client(server: AssemblylineServer) -> Iterator[TestClient]:
    with TestClient(server.apps()[0].asgi, base_url=BASE, follow_redirects=False) as test_client:
        yield test_client


def keyed(server: AssemblylineServer, credential: str = "APIKEY") -> dict[str, str]:
    return {"X-USER": server.credentials["USER"], "X-APIKEY": server.credentials[credential]}


def body(response: httpx.Response) -> Any:
    return response.json()["api_response"]


def message(response: httpx.Response) -> str:
    text: str = response.json()["api_error_message"]
    return text


def submit_file(
    client: TestClient,
    headers: dict[str, str],
    content: bytes = CONTENT,
    filename: str = "probe.txt",
    meta: str | None = '{"name": "probe.txt"}',
    path: str = "/api/v4/submit/",
) -> httpx.Response:
    data = {"json": meta} if meta is not None else {}
    return client.post(path, data=data, files={"bin": (filename, content)}, headers=headers)


def sorted_sids(server: AssemblylineServer) -> list[str]:
    records = sorted(server.state.submissions.values(), key=lambda r: r["times"]["submitted"])
    return [record["sid"] for record in reversed(records)]


def big_file(server: AssemblylineServer) -> str:
    return next(sha for sha, info in server.state.files.items() if info.size > 104_857_600)


def small_file(server: AssemblylineServer) -> str:
    return next(sha for sha, info in server.state.files.items() if info.size < 1_000_000)


def search(client: TestClient, headers: dict[str, str], **query: Any) -> httpx.Response:
    return client.get("/api/v4/search/submission/", params=query, headers=headers)


# --- seed and set-up ---------------------------------------------------------------------------


def test_seed_is_large_deterministic_and_reset_discards_writes(server: AssemblylineServer, client: TestClient) -> None:
    assert len(server.state.submissions) >= 120
    assert sorted(AssemblylineServer().state.submissions) == sorted(server.state.submissions)
    created = submit_file(client, keyed(server))
    assert created.status_code == 200
    sid = body(created)["sid"]
    assert sid in server.state.submissions
    server.reset()
    assert sid not in server.state.submissions
    assert client.get(f"/api/v4/submission/{sid}/", headers=keyed(server)).status_code == 404


def test_credentials_can_be_overridden() -> None:
    custom = AssemblylineServer(credentials={"USER": "jdoe", "APIKEY": "ci_key:" + "k" * 48})
    with TestClient(custom.apps()[0].asgi, base_url=BASE) as client:
        ok = client.get("/api/v4/user/whoami/", headers={"X-USER": "jdoe", "X-APIKEY": "ci_key:" + "k" * 48})
        assert ok.status_code == 200
        assert body(ok)["username"] == "jdoe"
        old = AssemblylineServer.default_credentials["APIKEY"]
        assert client.get("/api/v4/user/whoami/", headers={"X-USER": "jdoe", "X-APIKEY": old}).status_code == 401


def test_every_fault_names_a_contract_rule_and_every_rule_has_a_fault() -> None:
    document = yaml.safe_load((ROOT / "contracts" / "assemblyline.yaml").read_text(encoding="utf-8"))
    rules = {rule["id"] for rule in document["rules"]}
    aimed = {rule for fault in AssemblylineServer.faults.values() for rule in (fault.rule, *fault.also)}
    assert aimed <= rules
    assert rules <= aimed
    assert len(rules) >= 30
    assert all(name == fault.name for name, fault in AssemblylineServer.faults.items())


# --- envelope and authentication ----------------------------------------------------------------


def test_whoami_with_key_headers(server: AssemblylineServer, client: TestClient) -> None:
    response = client.get("/api/v4/user/whoami/", headers=keyed(server))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert set(document) == ENVELOPE
    assert document["api_status_code"] == 200
    assert document["api_error_message"] == ""
    assert document["api_server_version"]
    me = document["api_response"]
    assert me["username"] == "admin"
    for field in (
        "roles",
        "type",
        "classification",
        "is_active",
        "is_admin",
        "groups",
        "email",
        "indexes",
    ):
        assert field in me
    assert me["is_admin"] is False  # an RW key never carries the administration role
    assert me["configuration"]["submission"]["max_file_size"] == 104_857_600
    assert int(response.headers["x-remaining-quota-api"]) > 0


def test_no_credentials_is_401_with_login_options_and_expired_xsrf(client: TestClient) -> None:
    response = client.get("/api/v4/user/whoami/")
    assert response.status_code == 401
    assert message(response) == "Session not found"
    assert set(body(response)) == {"allow_userpass_login", "allow_signup", "allow_saml_login"}
    assert "XSRF-TOKEN=;" in response.headers["set-cookie"]
    assert "Max-Age=0" in response.headers["set-cookie"]


@pytest.mark.parametrize(
    ("user", "key"),
    [
        ("nobody", "contractgate_rw:whatever"),
        ("admin", "contractgate_rw:wrong-password"),
        ("admin", "no_such_key:whatever"),
        ("admin", "no-colon-at-all"),
    ],
)
def test_every_key_failure_has_one_message(client: TestClient, user: str, key: str) -> None:
    response = client.get("/api/v4/user/whoami/", headers={"X-USER": user, "X-APIKEY": key})
    assert response.status_code == 401
    assert message(response) == "Invalid user or APIKey"


@pytest.mark.parametrize("keep", ["X-USER", "X-APIKEY"])
def test_one_header_alone_is_no_authentication(server: AssemblylineServer, client: TestClient, keep: str) -> None:
    headers = {name: value for name, value in keyed(server).items() if name == keep}
    response = client.get("/api/v4/user/whoami/", headers=headers)
    assert response.status_code == 401
    assert message(response) == "Session not found"


def test_read_key_is_read_only(server: AssemblylineServer, client: TestClient) -> None:
    read = keyed(server, "APIKEY_READ")
    denied = submit_file(client, read)
    assert denied.status_code == 403
    assert message(denied) == (
        "Access Denied (/api/v4/submit/) [API /api/v4/submit/ requires one of the following roles: submission_create]"
    )
    assert set(body(denied)) == {"auth", "ui"}
    roles = body(client.get("/api/v4/user/whoami/", headers=read))["roles"]
    assert roles
    assert set(roles) <= READ_ROLES
    assert search(client, read, query="*").status_code == 200


def test_write_key_submits_but_cannot_read(server: AssemblylineServer, client: TestClient) -> None:
    write = keyed(server, "APIKEY_WRITE")
    created = submit_file(client, write)
    assert created.status_code == 200
    denied = search(client, write, query="*")
    assert denied.status_code == 403
    assert "submission_view" in message(denied)
    sid = body(created)["sid"]
    assert client.get(f"/api/v4/submission/{sid}/", headers=write).status_code == 403


def test_authorization_header_is_an_obo_token(server: AssemblylineServer, client: TestClient) -> None:
    response = client.get("/api/v4/user/whoami/", headers={**keyed(server), "Authorization": "Bearer junk"})
    assert response.status_code == 403
    assert message(response) == "Access Denied (/api/v4/user/whoami/) [Invalid OBO token - Not enough segments]"


def test_apikey_login_opens_a_session_without_xsrf(server: AssemblylineServer, client: TestClient) -> None:
    login = client.post("/api/v4/auth/login/", json={"user": "admin", "apikey": server.credentials["APIKEY"]})
    assert login.status_code == 200
    assert set(body(login)) == {"username", "roles_limit", "session_duration"}
    assert body(login)["session_duration"] == 3600
    assert "submission_create" in body(login)["roles_limit"]
    assert "XSRF-TOKEN" in client.cookies
    me = client.get("/api/v4/user/whoami/")
    assert me.status_code == 200
    assert body(me)["username"] == "admin"
    logout = client.get("/api/v4/auth/logout/")
    assert body(logout) == {"success": True}
    assert client.get("/api/v4/user/whoami/").status_code == 401


def test_password_session_needs_the_xsrf_token(server: AssemblylineServer, client: TestClient) -> None:
    login = client.post("/api/v4/auth/login/", json={"user": "admin", "password": server.credentials["PASSWORD"]})
    assert login.status_code == 200
    assert body(login)["roles_limit"] is None
    token = client.cookies["XSRF-TOKEN"]
    refused = client.get("/api/v4/user/whoami/")
    assert refused.status_code == 403
    assert "Invalid XSRF token" in message(refused)
    assert client.get("/api/v4/user/whoami/", headers={"X-XSRF-TOKEN": token}).status_code == 200
    assert client.get("/api/v4/user/whoami/", params={"XSRF_TOKEN": token}).status_code == 200
    admin = client.get("/api/v4/search/no_such_index/", params={"query": "*"}, headers={"X-XSRF-TOKEN": token})
    assert admin.status_code == 400
    assert message(admin) == "Not a valid index to search in: no_such_index"


def test_login_without_credentials_and_the_lockout(server: AssemblylineServer, client: TestClient) -> None:
    bare = client.get("/api/v4/auth/login/")
    assert bare.status_code == 401
    assert message(bare) == "Not enough information to proceed with authentication"
    for _ in range(5):
        failed = client.post("/api/v4/auth/login/", data={"user": "admin", "password": "guess"})
        assert failed.status_code == 401
    locked = client.post("/api/v4/auth/login/", json={"user": "admin", "password": server.credentials["PASSWORD"]})
    assert locked.status_code == 401
    assert message(locked).startswith("Maximum password retry of 5 was reached")


# --- routing and the trailing slash -----------------------------------------------------------


def test_slashless_paths_redirect_with_308_before_auth(client: TestClient) -> None:
    response = client.get("/api/v4/search/submission", params={"query": "*", "rows": 1})
    assert response.status_code == 308
    assert response.headers["location"] == f"{BASE}/api/v4/search/submission/?query=%2A&rows=1"
    assert "json" not in response.headers["content-type"]
    doubled = client.get("/api/v4/user/whoami//")
    assert doubled.status_code == 308
    assert doubled.headers["location"] == f"{BASE}/api/v4/user/whoami/"
    posted = client.post("/api/v4/submit")
    assert posted.status_code == 308
    assert posted.headers["location"].endswith("/api/v4/submit/")


def test_following_the_redirect_with_credentials_answers(server: AssemblylineServer, client: TestClient) -> None:
    response = client.get("/api/v4/user/whoami", headers=keyed(server), follow_redirects=True)
    assert response.status_code == 200
    assert body(response)["username"] == "admin"


def test_wrong_verbs_unknown_paths_and_options(server: AssemblylineServer, client: TestClient) -> None:
    slashless = client.get("/api/v4/submit")
    assert slashless.status_code == 404
    assert message(slashless) == "Api does not exist (/api/v4/submit)"
    wrong_verb = client.get("/api/v4/submit/")
    assert wrong_verb.status_code == 405
    assert wrong_verb.headers["allow"] == "OPTIONS, POST"
    assert wrong_verb.headers["content-type"].startswith("text/html")
    for headers in ({}, keyed(server)):
        unknown = client.get("/api/v4/does_not_exist/", headers=headers)
        assert unknown.status_code == 404
        assert message(unknown) == "Api does not exist (/api/v4/does_not_exist/)"
    assert client.get("/API/V4/USER/WHOAMI/", headers=keyed(server)).status_code == 404
    options = client.options("/api/v4/search/submission/")
    assert options.status_code == 200
    assert options.headers["allow"] == "GET, HEAD, OPTIONS, POST"
    assert options.content == b""


def test_api_lists(server: AssemblylineServer, client: TestClient) -> None:
    assert body(client.get("/api/", headers=keyed(server))) == ["v4"]
    apis = body(client.get("/api/v4/", headers=keyed(server)))["apis"]
    paths = [api["path"] for api in apis]
    assert "/api/v4/search/<index>/" in paths
    assert all(path.endswith("/") for path in paths)


def test_health_probes(client: TestClient) -> None:
    live = client.get("/healthz/live")
    assert (live.status_code, live.text) == (200, "OK")
    assert client.get("/healthz/ready").text == "OK"
    assert client.get("/healthz/live/").status_code == 404
    sick = AssemblylineServer(ready=False)
    with TestClient(sick.apps()[0].asgi) as other:
        failing = other.get("/healthz/ready")
        assert (failing.status_code, failing.text) == (503, "FAIL")


# --- content type ------------------------------------------------------------------------------


def test_accept_is_ignored_and_non_json_search_bodies(server: AssemblylineServer, client: TestClient) -> None:
    html = client.get("/api/v4/user/whoami/", headers={**keyed(server), "Accept": "text/html"})
    assert html.headers["content-type"] == "application/json"
    form = client.post("/api/v4/search/submission/", data={"query": "*"}, headers=keyed(server))
    assert form.status_code == 200
    assert form.json()["api_status_code"] == 200
    assert message(form).startswith("415 Unsupported Media Type")
    broken = client.post(
        "/api/v4/search/submission/",
        content=b'{"query":',
        headers={**keyed(server), "Content-Type": "application/json"},
    )
    assert broken.status_code == 400
    assert message(broken) == "No data block provided or data block not in JSON format.'"


# --- submit and ingest ---------------------------------------------------------------------------


def test_multipart_submit(server: AssemblylineServer, client: TestClient) -> None:
    response = submit_file(client, keyed(server))
    assert response.status_code == 200
    record = body(response)
    assert isinstance(record["sid"], str)
    assert record["state"] == "submitted"
    assert record["files"] == [{"name": "probe.txt", "sha256": hashlib.sha256(CONTENT).hexdigest(), "size": 24}]
    assert record["params"]["submitter"] == "admin"


@pytest.mark.parametrize("filename", ["dir/sample.bin", "C:\\Users\\x\\sample.bin", "sample.bin"])
def test_nameless_submit_uses_the_basename(server: AssemblylineServer, client: TestClient, filename: str) -> None:
    response = submit_file(client, keyed(server), filename=filename, meta=None)
    assert body(response)["files"][0]["name"] == "sample.bin"


def test_submit_errors(server: AssemblylineServer, client: TestClient) -> None:
    headers = keyed(server)
    no_bin = client.post("/api/v4/submit/", files={"json": (None, b'{"name": "x"}')}, headers=headers)
    assert (no_bin.status_code, body(no_bin)) == (400, {})
    no_type = client.post("/api/v4/submit/", content=b"x", headers=headers)
    assert (no_type.status_code, message(no_type)) == (
        400,
        "argument of type 'NoneType' is not iterable",
    )
    plain = client.post("/api/v4/submit/", content=b"x", headers={**headers, "Content-Type": "text/plain"})
    assert (plain.status_code, message(plain)) == (400, "Invalid content type")
    unknown = client.post("/api/v4/submit/", json={"sha256": "ab" * 32}, headers=headers)
    assert unknown.status_code == 404
    assert "does not exist in Assemblyline" in message(unknown)
    nothing = client.post("/api/v4/submit/", json={"name": "n"}, headers=headers)
    assert message(nothing) == "Missing file to scan. No binary or fetching method provided."
    nameless = client.post("/api/v4/submit/", json={"plaintext": "hello"}, headers=headers)
    assert message(nameless) == "Filename missing"
    empty = submit_file(client, headers, content=b"")
    assert (empty.status_code, message(empty)) == (400, "File empty.")
    too_big = client.post("/api/v4/submit/", json={"sha256": big_file(server)}, headers=headers)
    assert too_big.status_code == 413
    assert message(too_big) == "File too big to be scanned (268435456 > 104857600)."


def test_submit_by_hash_url_and_inline_content(server: AssemblylineServer, client: TestClient) -> None:
    headers = keyed(server)
    known = small_file(server)
    by_hash = client.post("/api/v4/submit/", json={"sha256": known, "name": "again.bin"}, headers=headers)
    assert body(by_hash)["files"][0]["sha256"] == known
    big = big_file(server)
    ignored = client.post("/api/v4/submit/", json={"sha256": big, "params": {"ignore_size": True}}, headers=headers)
    assert ignored.status_code == 200
    url = client.post("/api/v4/submit/", json={"url": "hxxps://evil[.]example/a"}, headers=headers)
    assert body(url)["files"][0]["name"] == "https://evil.example/a"
    encoded = base64.b64encode(CONTENT).decode()
    inline = client.post("/api/v4/submit/", json={"base64": encoded, "name": "b.txt"}, headers=headers)
    assert body(inline)["files"][0]["sha256"] == hashlib.sha256(CONTENT).hexdigest()


def test_submission_profiles(server: AssemblylineServer, client: TestClient) -> None:
    custom = keyed(server, "APIKEY_SUBMIT")
    request = {"plaintext": "hello", "name": "p.txt"}
    refused = client.post("/api/v4/submit/", json=request, headers=custom)
    assert refused.status_code == 400
    assert message(refused).startswith("You must specify a submission profile. One of:")
    wrong = client.post("/api/v4/submit/", json={**request, "submission_profile": "nope"}, headers=custom)
    assert message(wrong) == "Submission profile 'nope' does not exist"
    chosen = client.post("/api/v4/submit/", json={**request, "submission_profile": "static"}, headers=custom)
    assert chosen.status_code == 200


def test_submission_readback_and_completion(client: TestClient, server: AssemblylineServer) -> None:
    instant = AssemblylineServer(analysis_seconds=0)
    with TestClient(instant.apps()[0].asgi) as fast:
        sid = body(submit_file(fast, keyed(instant)))["sid"]
        assert body(fast.get(f"/api/v4/submission/is_completed/{sid}/", headers=keyed(instant))) is True
        record = body(fast.get(f"/api/v4/submission/{sid}/", headers=keyed(instant)))
        assert record["state"] == "completed"
    sid = body(submit_file(client, keyed(server)))["sid"]
    assert body(client.get(f"/api/v4/submission/is_completed/{sid}/", headers=keyed(server))) is False
    assert body(client.get(f"/api/v4/submission/full/{sid}/", headers=keyed(server)))["sid"] == sid
    missing = client.get(f"/api/v4/submission/{UNKNOWN_SID}/", headers=keyed(server))
    assert (missing.status_code, message(missing)) == (
        404,
        f"Submission ID {UNKNOWN_SID} does not exists.",
    )
    assert client.get(f"/api/v4/submission/is_completed/{UNKNOWN_SID}/", headers=keyed(server)).status_code == 404


def test_concurrent_submission_quota(server: AssemblylineServer, client: TestClient) -> None:
    for _ in range(5):
        assert submit_file(client, keyed(server)).status_code == 200
    refused = submit_file(client, keyed(server))
    assert refused.status_code == 503
    assert message(refused) == "You've exceeded your maximum concurrent submission quota of 5"


def test_ingest_and_notifications() -> None:
    server = AssemblylineServer(analysis_seconds=0)
    headers = keyed(server)
    with TestClient(server.apps()[0].asgi) as client:
        empty = client.get("/api/v4/ingest/get_message/q1/", headers=headers)
        assert (empty.status_code, body(empty)) == (200, None)
        meta = '{"name": "i.txt", "notification_queue": "q1", "params": {"priority": 900}}'
        done = submit_file(client, headers, meta=meta, path="/api/v4/ingest/")
        assert set(body(done)) == {"ingest_id"}
        note = body(client.get("/api/v4/ingest/get_message/q1/", headers=headers))
        assert note["ingest_id"] == body(done)["ingest_id"]
        assert note["submission"]["params"]["priority"] == 250
        assert note["submission"]["params"]["description"] == "[INGEST] Inspection of file: i.txt"
        assert body(client.get("/api/v4/ingest/get_message_list/q1/", headers=headers)) == []
        bad = client.post(
            "/api/v4/ingest/",
            json={"plaintext": "x", "name": "x", "notification_threshold": "x"},
            headers=headers,
        )
        assert (bad.status_code, message(bad)) == (400, "notification_threshold should be and int")


# --- search ------------------------------------------------------------------------------------


def test_search_defaults_echo_and_windows(server: AssemblylineServer, client: TestClient) -> None:
    headers = keyed(server)
    everything = sorted_sids(server)
    first = body(search(client, headers, query="*"))
    assert (first["offset"], first["rows"], first["total"]) == (0, 25, len(everything))
    assert [item["sid"] for item in first["items"]] == everything[:25]
    assert first["items"][0]["id"] == first["items"][0]["sid"]
    window = body(search(client, headers, query="*", offset=7, rows=9, fl="sid"))
    assert [item["sid"] for item in window["items"]] == everything[7:16]
    beyond = body(search(client, headers, query="*", offset=len(everything) + 3, rows=5))
    assert (beyond["items"], beyond["offset"], beyond["rows"]) == ([], len(everything) + 3, 5)
    ids = body(search(client, headers, query="*", rows=3, fl="id"))["items"]
    assert all(set(item) == {"id"} for item in ids)
    posted = body(
        client.post(
            "/api/v4/search/submission/",
            json={"query": "*", "rows": "4", "offset": 1},
            headers=headers,
        )
    )
    assert (posted["rows"], posted["offset"], len(posted["items"])) == (4, 1, 4)


def test_search_queries_and_sorting(server: AssemblylineServer, client: TestClient) -> None:
    headers = keyed(server)
    records = list(server.state.submissions.values())
    sid = records[3]["sid"]
    assert body(search(client, headers, query=f"sid:{sid}"))["total"] == 1
    high = sum(1 for record in records if record["max_score"] >= 1000)
    assert body(search(client, headers, query="max_score:[1000 TO *]", rows=0))["total"] == high
    pending = sum(1 for record in records if record["state"] != "completed")
    assert body(search(client, headers, query="NOT state:completed", rows=0))["total"] == pending
    either = body(search(client, headers, query="state:(submitted OR completed)", rows=0))["total"]
    assert either == len(records)
    dll = sum(1 for record in records if record["files"][0]["name"].endswith(".dll"))
    assert body(search(client, headers, query="files.name:*.dll", rows=0))["total"] == dll
    filtered = body(search(client, headers, query="*", filters=["state:completed", "max_score:0"], rows=0))
    assert filtered["total"] == sum(1 for r in records if r["state"] == "completed" and r["max_score"] == 0)
    ascending = body(search(client, headers, query="*", sort="times.submitted asc", rows=3, fl="sid"))
    assert [item["sid"] for item in ascending["items"]] == list(reversed(sorted_sids(server)))[:3]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"rows": 1}, "There was no search query."),
        (
            {"query": "*", "sort": "nope desc"},
            "SearchException: No mapping found for [nope] in order to sort on",
        ),
        ({"query": "sid:("}, "SearchException: "),
        ({"query": '"unterminated'}, "SearchException: "),
        ({"query": "*", "offset": 9990, "rows": 20}, "SearchException: Result window is too large"),
    ],
)
def test_search_errors(server: AssemblylineServer, client: TestClient, query: dict[str, Any], expected: str) -> None:
    response = search(client, keyed(server), **query)
    assert response.status_code == 400
    assert message(response).startswith(expected)


def test_unknown_index_needs_administration(server: AssemblylineServer, client: TestClient) -> None:
    response = client.get("/api/v4/search/no_such_index/", params={"query": "*"}, headers=keyed(server))
    assert response.status_code == 403
    assert "'administration'" in message(response)


def test_deep_paging_walks_a_point_in_time(server: AssemblylineServer, client: TestClient) -> None:
    headers = keyed(server)
    seen: list[str] = []
    cursor = "*"
    pages = 0
    while True:
        page = body(search(client, headers, query="*", rows=40, fl="sid", deep_paging_id=cursor))
        assert page["total"] is None
        seen.extend(item["sid"] for item in page["items"])
        pages += 1
        if pages == 1:
            submit_file(client, headers)  # not part of the point in time already opened
        if "next_deep_paging_id" not in page:
            assert len(page["items"]) < 40
            break
        cursor = page["next_deep_paging_id"]
    assert seen == sorted_sids(server)[1:]
    stale = search(client, headers, query="*", rows=40, deep_paging_id=cursor)
    assert stale.status_code == 400
    assert message(stale).startswith("SearchException: No search context found")


# --- quotas ------------------------------------------------------------------------------------


def test_quota_app_refuses_with_503(server: AssemblylineServer) -> None:
    with TestClient(server.apps()[1].asgi) as quota:
        response = quota.get("/api/v4/user/whoami/", headers=keyed(server))
        assert response.status_code == 503
        assert body(response) == ""
        assert message(response) == "You've exceeded your maximum concurrent API calls quota of 10"
        assert quota.get("/healthz/live").status_code == 200


def test_daily_quota_counts_down_and_runs_out(server: AssemblylineServer, client: TestClient) -> None:
    server.state.users["admin"].api_daily_quota = 3
    headers = keyed(server)
    left = [client.get("/api/v4/user/whoami/", headers=headers).headers["x-remaining-quota-api"] for _ in range(2)]
    assert left == ["2", "1"]
    assert client.get("/api/v4/", headers=headers).headers["x-remaining-quota-api"] == "1"  # not counted
    assert client.get("/api/v4/user/whoami/", headers=headers).status_code == 200
    out = client.get("/api/v4/user/whoami/", headers=headers)
    assert out.status_code == 503
    assert message(out) == "You've exceeded your daily maximum API calls quota of 3"


# --- faults --------------------------------------------------------------------------------------

Probe = Callable[[AssemblylineServer, TestClient], bool]


def _get(
    path: str, credential: str | None = "APIKEY", **query: Any
) -> Callable[[AssemblylineServer, TestClient], httpx.Response]:
    def send(server: AssemblylineServer, client: TestClient) -> httpx.Response:
        headers = keyed(server, credential) if credential else {}
        return client.get(path, params=query, headers=headers)

    return send


def _whoami(server: AssemblylineServer, client: TestClient) -> httpx.Response:
    return client.get("/api/v4/user/whoami/", headers=keyed(server))


def _anonymous(server: AssemblylineServer, client: TestClient) -> httpx.Response:
    return client.get("/api/v4/user/whoami/")


def _login_whoami(server: AssemblylineServer, client: TestClient, field: str, credential: str) -> httpx.Response:
    client.post("/api/v4/auth/login/", json={"user": "admin", field: server.credentials[credential]})
    return client.get("/api/v4/user/whoami/")


def _xsrf_whoami(server: AssemblylineServer, client: TestClient) -> httpx.Response:
    """A password session that sends its XSRF-TOKEN cookie back as X-XSRF-TOKEN."""
    client.post("/api/v4/auth/login/", json={"user": "admin", "password": server.credentials["PASSWORD"]})
    return client.get("/api/v4/user/whoami/", headers={"X-XSRF-TOKEN": client.cookies["XSRF-TOKEN"]})


def test_password_session_with_its_xsrf_token_is_served(server: AssemblylineServer, client: TestClient) -> None:
    out = _xsrf_whoami(server, client)
    assert out.status_code == 200
    assert body(out)["username"] == "admin"


def test_admin_key_whoami_is_admin(server: AssemblylineServer, client: TestClient) -> None:
    me = body(client.get("/api/v4/user/whoami/", headers=keyed(server, "APIKEY_ADMIN")))
    assert "administration" in me["roles"]
    assert me["is_admin"] is True


def test_remaining_quota_header_counts_down(server: AssemblylineServer, client: TestClient) -> None:
    first = int(_whoami(server, client).headers["x-remaining-quota-api"])
    assert int(_whoami(server, client).headers["x-remaining-quota-api"]) == first - 1


def _post_json(
    path: str, document: Any, credential: str = "APIKEY"
) -> Callable[[AssemblylineServer, TestClient], httpx.Response]:
    def send(server: AssemblylineServer, client: TestClient) -> httpx.Response:
        return client.post(path, json=document, headers=keyed(server, credential))

    return send


def _deep_walk(server: AssemblylineServer, client: TestClient) -> list[str]:
    seen: list[str] = []
    cursor = "*"
    for _ in range(50):
        page = body(search(client, keyed(server), query="*", rows=30, fl="sid", deep_paging_id=cursor))
        seen.extend(item["sid"] for item in page["items"])
        if "next_deep_paging_id" not in page:
            break
        cursor = page["next_deep_paging_id"]
    return seen


def _status(send: Callable[[AssemblylineServer, TestClient], httpx.Response], status: int) -> Probe:
    return lambda server, client: send(server, client).status_code == status


FAULT_PROBES: dict[str, Probe] = {
    "envelope-missing-server-version": lambda s, c: "api_server_version" not in _whoami(s, c).json(),
    "status-code-mismatch": lambda s, c: _anonymous(s, c).json()["api_status_code"] != 401,
    "success-error-message-null": lambda s, c: _whoami(s, c).json()["api_error_message"] is None,
    "whoami-uname-field": lambda s, c: "username" not in body(_whoami(s, c)),
    "is-admin-from-user-type": lambda s, c: body(_whoami(s, c))["is_admin"] is True,
    "anonymous-401-empty-response": lambda s, c: body(_anonymous(s, c)) == "",
    "unknown-user-distinct-message": lambda s, c: (
        message(c.get("/api/v4/user/whoami/", headers={"X-USER": "nobody", "X-APIKEY": "k:p"}))
        != "Invalid user or APIKey"
    ),
    "one-header-auth": lambda s, c: c.get("/api/v4/user/whoami/", headers={"X-USER": "admin"}).status_code == 200,
    "401-keeps-xsrf-cookie": lambda s, c: "set-cookie" not in _anonymous(s, c).headers,
    "read-key-can-submit": lambda s, c: submit_file(c, keyed(s, "APIKEY_READ")).status_code != 403,
    "role-403-unwrapped": lambda s, c: not message(submit_file(c, keyed(s, "APIKEY_READ"))).startswith("Access Denied"),
    "read-key-full-roles": lambda s, c: (
        "administration" in body(c.get("/api/v4/user/whoami/", headers=keyed(s, "APIKEY_READ")))["roles"]
    ),
    "write-key-can-search": _status(_get("/api/v4/search/submission/", "APIKEY_WRITE", query="*"), 200),
    "authorization-header-ignored": lambda s, c: (
        c.get("/api/v4/user/whoami/", headers={**keyed(s), "Authorization": "Bearer junk"}).status_code == 200
    ),
    "login-session-ignored": lambda s, c: _login_whoami(s, c, "apikey", "APIKEY").status_code == 401,
    "login-returns-privileges": lambda s, c: (
        "privileges" in body(c.post("/api/v4/auth/login/", json={"user": "admin", "apikey": s.credentials["APIKEY"]}))
    ),
    "xsrf-not-enforced": lambda s, c: _login_whoami(s, c, "password", "PASSWORD").status_code == 200,
    "login-missing-fields-400": _status(_get("/api/v4/auth/login/", None), 400),
    "unknown-api-plain-404": lambda s, c: c.get("/api/v4/nope/").headers["content-type"].startswith("text/plain"),
    "options-needs-auth": lambda s, c: c.options("/api/v4/submit/").status_code == 401,
    "healthz-needs-auth": _status(_get("/healthz/live", None), 401),
    "slashless-200": _status(_get("/api/v4/user/whoami"), 200),
    "no-308-redirect": _status(_get("/api/v4/user/whoami"), 301),
    "double-slash-404": _status(_get("/api/v4/user/whoami//"), 404),
    "case-insensitive-paths": _status(_get("/API/V4/USER/WHOAMI/"), 200),
    "slash-redirect-needs-auth": _status(_get("/api/v4/user/whoami", None), 401),
    "redirect-drops-query": lambda s, c: (
        "?" not in _get("/api/v4/search/submission", query="*")(s, c).headers["location"]
    ),
    "slashless-wrong-verb-405": _status(_get("/api/v4/submit", None), 405),
    "405-as-json": lambda s, c: _get("/api/v4/submit/", None)(s, c).headers["content-type"] == "application/json",
    "api-list-slashless-path": lambda s, c: (
        not all(api["path"].endswith("/") for api in body(_get("/api/v4/")(s, c))["apis"])
    ),
    "accept-html-negotiated": lambda s, c: (
        c.get("/api/v4/user/whoami/", headers={**keyed(s), "Accept": "text/html"})
        .headers["content-type"]
        .startswith("text/html")
    ),
    "415-as-http-415": lambda s, c: (
        c.post("/api/v4/search/submission/", data={"query": "*"}, headers=keyed(s)).status_code == 415
    ),
    "malformed-json-500": lambda s, c: (
        c.post(
            "/api/v4/search/submission/",
            content=b"{",
            headers={**keyed(s), "Content-Type": "application/json"},
        ).status_code
        == 500
    ),
    "submit-sha256-of-name": lambda s, c: (
        body(submit_file(c, keyed(s)))["files"][0]["sha256"] != hashlib.sha256(CONTENT).hexdigest()
    ),
    "nameless-submit-named-by-sha256": lambda s, c: (
        body(submit_file(c, keyed(s), meta=None))["files"][0]["name"] != "probe.txt"
    ),
    "submit-without-bin-accepted": lambda s, c: (
        c.post("/api/v4/submit/", files={"json": (None, b"{}")}, headers=keyed(s)).status_code == 200
    ),
    "unknown-sha256-400": _status(_post_json("/api/v4/submit/", {"sha256": "ab" * 32}), 400),
    "empty-submit-500": _status(_post_json("/api/v4/submit/", {"name": "x"}), 500),
    "profile-not-required": _status(
        _post_json("/api/v4/submit/", {"plaintext": "x", "name": "x"}, "APIKEY_SUBMIT"), 200
    ),
    "text-plain-submit-415": lambda s, c: (
        c.post("/api/v4/submit/", content=b"x", headers={**keyed(s), "Content-Type": "text/plain"}).status_code == 415
    ),
    "size-limit-ignored": lambda s, c: _post_json("/api/v4/submit/", {"sha256": big_file(s)})(s, c).status_code == 200,
    "known-sha256-not-found": lambda s, c: (
        _post_json("/api/v4/submit/", {"sha256": small_file(s)})(s, c).status_code == 404
    ),
    "submitted-not-stored": lambda s, c: (
        _get(f"/api/v4/submission/{body(submit_file(c, keyed(s)))['sid']}/")(s, c).status_code == 404
    ),
    "ingest-returns-submission": lambda s, c: "sid" in body(submit_file(c, keyed(s), path="/api/v4/ingest/")),
    "threshold-not-validated": _status(
        _post_json("/api/v4/ingest/", {"plaintext": "x", "name": "x", "notification_threshold": "x"}),
        200,
    ),
    "empty-queue-404": _status(_get("/api/v4/ingest/get_message/empty/"), 404),
    "search-offset-string": lambda s, c: body(search(c, keyed(s), query="*"))["offset"] == "0",
    "default-rows-10": lambda s, c: body(search(c, keyed(s), query="*"))["rows"] == 10,
    "offset-rounded-to-page": lambda s, c: (
        [item["sid"] for item in body(search(c, keyed(s), query="*", offset=3, rows=5))["items"]] != sorted_sids(s)[3:8]
    ),
    "total-counts-from-offset": lambda s, c: (
        body(search(c, keyed(s), query="*", offset=10))["total"] != len(s.state.submissions)
    ),
    "rows-not-echoed": lambda s, c: body(search(c, keyed(s), query="*", offset=135, rows=5))["rows"] != 5,
    "fl-ignored": lambda s, c: set(body(search(c, keyed(s), query="*", fl="id"))["items"][0]) != {"id"},
    "missing-query-matches-all": _status(_get("/api/v4/search/submission/"), 200),
    "unknown-index-404": _status(_get("/api/v4/search/nope/", query="*"), 404),
    "deep-paging-repeats": lambda s, c: len(set(walk := _deep_walk(s, c))) != len(walk),
    "deep-paging-total": lambda s, c: body(search(c, keyed(s), query="*", deep_paging_id="*"))["total"] is not None,
    "search-error-500": _status(_get("/api/v4/search/submission/", query="*", sort="nope asc"), 500),
    "post-search-ignores-body": lambda s, c: (
        body(c.post("/api/v4/search/submission/", json={"query": "*", "rows": 7}, headers=keyed(s))) == ""
    ),
    "query-ignored": lambda s, c: body(search(c, keyed(s), query=f"sid:{sorted_sids(s)[0]}"))["total"] > 1,
    "is-completed-string": lambda s, c: isinstance(
        body(_get(f"/api/v4/submission/is_completed/{sorted_sids(s)[-1]}/")(s, c)), str
    ),
    "unknown-sid-400": _status(_get(f"/api/v4/submission/{UNKNOWN_SID}/"), 400),
    "concurrent-quota-ignored": lambda s, c: (
        TestClient(s.apps()[1].asgi).get("/api/v4/user/whoami/", headers=keyed(s)).status_code == 200
    ),
    "no-remaining-quota-header": lambda s, c: "x-remaining-quota-api" not in _whoami(s, c).headers,
    # value-level faults: the form stays, one value changes
    "not-found-status-code-400": lambda s, c: (
        _get(f"/api/v4/submission/{UNKNOWN_SID}/")(s, c).json()["api_status_code"] == 400
    ),
    "api-list-text-json": lambda s, c: _get("/api/v4/")(s, c).headers["content-type"] == "text/json",
    "whoami-username-is-key-name": lambda s, c: body(_whoami(s, c))["username"] == "contractgate_rw",
    "is-admin-always-false": lambda s, c: (
        body(c.get("/api/v4/user/whoami/", headers=keyed(s, "APIKEY_ADMIN")))["is_admin"] is False
    ),
    "xsrf-cookie-not-session-token": lambda s, c: _xsrf_whoami(s, c).status_code == 403,
    "not-found-path-unslashed": lambda s, c: message(c.get("/api/v4/nope/")) == "Api does not exist (/api/v4/nope)",
    "empty-queue-list": lambda s, c: body(_get("/api/v4/ingest/get_message/empty/")(s, c)) == [],
    "absent-offset-null": lambda s, c: body(search(c, keyed(s), query="*"))["offset"] is None,
    "default-rows-short": lambda s, c: len(body(search(c, keyed(s), query="*"))["items"]) == 24,
    "fl-id-adds-from-archive": lambda s, c: (
        set(body(search(c, keyed(s), query="*", fl="id"))["items"][0]) == {"id", "from_archive"}
    ),
    "post-search-drops-offset": lambda s, c: (
        body(c.post("/api/v4/search/submission/", json={"query": "*", "offset": 3, "rows": 7}, headers=keyed(s)))[
            "offset"
        ]
        == 0
    ),
    "submission-query-ignored": lambda s, c: body(search(c, keyed(s), query=f"sid:{sorted_sids(s)[0]}"))["total"] > 1,
    "is-completed-unknown-false": _status(_get(f"/api/v4/submission/is_completed/{UNKNOWN_SID}/"), 200),
    "quota-header-decimal": lambda s, c: _whoami(s, c).headers["x-remaining-quota-api"].endswith(".0"),
    "quota-header-not-counting": lambda s, c: (
        _whoami(s, c).headers["x-remaining-quota-api"] == _whoami(s, c).headers["x-remaining-quota-api"]
    ),
    # value-level faults of issue 14
    "401-json-charset": lambda s, c: _anonymous(s, c).headers["content-type"] == "application/json; charset=utf-8",
    "success-error-message-ok": lambda s, c: message(_whoami(s, c)) == "OK",
    "anonymous-session-expired": lambda s, c: message(_anonymous(s, c)) == "Session expired",
    "401-xsrf-cookie-not-expired": lambda s, c: "Max-Age=0" not in _anonymous(s, c).headers["set-cookie"],
    "submit-403-names-wrong-role": lambda s, c: (
        "submission_create" not in message(submit_file(c, keyed(s, "APIKEY_READ")))
    ),
    "index-403-path-unslashed": lambda s, c: message(
        _get("/api/v4/search/submission/", "APIKEY_WRITE", query="*")(s, c)
    ).startswith("Access Denied (/api/v4/search/submission) ["),
    "obo-401": lambda s, c: (
        c.get("/api/v4/user/whoami/", headers={**keyed(s), "Authorization": "Bearer junk"}).status_code == 401
    ),
    "session-duration-minutes": lambda s, c: (
        body(c.post("/api/v4/auth/login/", json={"user": "admin", "apikey": s.credentials["APIKEY"]}))[
            "session_duration"
        ]
        == 60
    ),
    "xsrf-failure-401": lambda s, c: _login_whoami(s, c, "password", "PASSWORD").status_code == 401,
    "options-204": lambda s, c: c.options("/api/v4/submit/").status_code == 204,
    "healthz-live-text": lambda s, c: _get("/healthz/live", None)(s, c).text == "ALIVE",
    "anonymous-redirect-302": _status(_get("/api/v4/user/whoami", None), 302),
    "405-allow-misses-verbs": lambda s, c: "POST" not in _get("/api/v4/submit/", None)(s, c).headers["allow"],
    "accept-html-json-charset": lambda s, c: (
        c.get("/api/v4/user/whoami/", headers={**keyed(s), "Accept": "text/html"}).headers["content-type"]
        == "application/json; charset=utf-8"
    ),
    "no-data-block-message-fixed": lambda s, c: (
        not message(
            c.post("/api/v4/search/submission/", content=b"{", headers={**keyed(s), "Content-Type": "application/json"})
        ).endswith("'")
    ),
    "missing-bin-payload-names-part": lambda s, c: (
        body(c.post("/api/v4/submit/", files={"json": (None, b"{}")}, headers=keyed(s))) == {"missing": "bin"}
    ),
    "missing-file-message-short": lambda s, c: (
        message(_post_json("/api/v4/submit/", {"name": "x"})(s, c)) == "Missing file to scan."
    ),
    "profile-required-403": _status(
        _post_json("/api/v4/submit/", {"plaintext": "x", "name": "x"}, "APIKEY_SUBMIT"), 403
    ),
    "too-big-message-kib": lambda s, c: (
        message(_post_json("/api/v4/submit/", {"sha256": big_file(s)})(s, c))
        == "File too big to be scanned (262144 > 102400)."
    ),
    "resubmit-size-kib": lambda s, c: (
        body(_post_json("/api/v4/submit/", {"sha256": small_file(s)})(s, c))["files"][0]["size"]
        != s.state.files[small_file(s)].size
    ),
    "readback-file-size-kib": lambda s, c: (
        body(_get(f"/api/v4/submission/{body(submit_file(c, keyed(s)))['sid']}/")(s, c))["files"][0]["size"]
        != len(CONTENT)
    ),
    "ingest-201": lambda s, c: submit_file(c, keyed(s), path="/api/v4/ingest/").status_code == 201,
    "threshold-message-grammar-fixed": lambda s, c: (
        message(_post_json("/api/v4/ingest/", {"plaintext": "x", "name": "x", "notification_threshold": "x"})(s, c))
        == "notification_threshold should be an int"
    ),
    "empty-message-list-null": lambda s, c: body(_get("/api/v4/ingest/get_message_list/empty/")(s, c)) is None,
    "post-default-rows-10": lambda s, c: (
        body(c.post("/api/v4/search/submission/", json={"query": "*"}, headers=keyed(s)))["rows"] == 10
    ),
    "file-index-fl-id-ignored": lambda s, c: (
        set(body(_get("/api/v4/search/file/", query="*", fl="id")(s, c))["items"][0]) != {"id"}
    ),
    "empty-query-matches-all": _status(_get("/api/v4/search/submission/", query=""), 200),
    "deep-paging-rows-echo-default": lambda s, c: (
        body(search(c, keyed(s), query="*", rows=10, deep_paging_id="*"))["rows"] == 25
    ),
    "query-error-unprefixed": lambda s, c: (
        not message(_get("/api/v4/search/submission/", query="sid:(")(s, c)).startswith("SearchException:")
    ),
    "concurrent-quota-reported-off-by-one": lambda s, c: message(
        TestClient(s.apps()[1].asgi).get("/api/v4/user/whoami/", headers=keyed(s))
    ).endswith("quota of 11"),
    "quota-header-from-wrong-quota": lambda s, c: (
        int(_whoami(s, c).headers["x-remaining-quota-api"]) >= body(_whoami(s, c))["api_daily_quota"]
    ),
    "quota-header-stuck-after-first-call": lambda s, c: (
        _whoami(s, c).headers["x-remaining-quota-api"] == _whoami(s, c).headers["x-remaining-quota-api"]
    ),
    "message-list-status-code-201": lambda s, c: (
        _get("/api/v4/ingest/get_message_list/empty/")(s, c).json()["api_status_code"] == 201
    ),
    # only the fuzz rules reach these
    "message-list-unversioned": lambda s, c: (
        "api_server_version" not in _get("/api/v4/ingest/get_message_list/empty/")(s, c).json()
    ),
    "wrong-key-403-on-search": lambda s, c: (
        c.get(
            "/api/v4/search/submission/",
            params={"query": "*"},
            headers={"X-USER": "admin", "X-APIKEY": "contractgate_rw:wrong"},
        ).status_code
        == 403
    ),
}


def test_every_fault_has_a_probe() -> None:
    assert set(FAULT_PROBES) == set(AssemblylineServer.faults)


@pytest.mark.parametrize("fault", sorted(FAULT_PROBES))
def test_fault_changes_the_documented_behaviour(server: AssemblylineServer, client: TestClient, fault: str) -> None:
    probe = FAULT_PROBES[fault]
    assert not probe(server, client), "the clean server already shows the deviation"
    server.reset()
    client.cookies.clear()
    server.switch.set([fault])  # switched on a running app: read per request, never at build time
    assert probe(server, client), f"{fault} did not change what the probe sees"
    server.switch.set([])
