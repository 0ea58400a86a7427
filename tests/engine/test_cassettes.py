"""Stable recordings: declared volatile values, origin marks and the client's multipart boundary."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx

from contractgate._cassettes import STORED_BOUNDARY, Cassette, Volatility, shape_of
from contractgate._redact import Redactor

BASE = "https://127.0.0.1:52179/api"
BASES = {"vendor": BASE}


def _cassette(volatile: Volatility, date: str, body: dict[str, object]) -> Cassette:
    cassette = Cassette("vendor", "V-1", volatile=volatile)
    request = httpx.Request("GET", BASE + "/items")
    response = httpx.Response(200, headers={"Date": date, "Content-Type": "application/json"}, json=body)
    cassette.record("vendor", "/items", request, response, Redactor(), BASES)
    return cassette


def test_a_recording_that_differs_only_in_declared_volatile_values_keeps_the_stored_bytes(tmp_path: Path) -> None:
    volatile = Volatility(headers=("Date",), json_paths=("data.*.added",))
    path = tmp_path / "V-1.json"
    assert _cassette(volatile, "Sat, 05 Dec 2026 08:07:26 GMT", {"data": [{"added": "2026-12-05T08:07:26Z"}]}).save(
        path
    )
    stored = path.read_bytes()
    again = _cassette(volatile, "Sun, 06 Dec 2026 09:00:01 GMT", {"data": [{"added": "2026-12-06T09:00:01Z"}]})
    assert again.save(path) is False
    assert path.read_bytes() == stored


def test_an_undeclared_difference_or_a_volatile_value_of_another_form_is_written(tmp_path: Path) -> None:
    volatile = Volatility(headers=("Date",), json_paths=("data.*.added",))
    path = tmp_path / "V-1.json"
    _cassette(volatile, "Sat, 05 Dec 2026 08:07:26 GMT", {"data": [{"added": "2026-12-05T08:07:26Z"}]}).save(path)
    renamed = _cassette(volatile, "Sat, 05 Dec 2026 08:07:26 GMT", {"data": [{"added": "x", "name": "new"}]})
    assert renamed.save(path) is True
    retyped = _cassette(volatile, "Sat, 05 Dec 2026 08:07:26 GMT", {"data": [{"added": 1796458352296}]})
    assert retyped.save(path) is True
    assert json.loads(json.loads(path.read_text())["interactions"][0]["response"]["body"]["string"]) == {
        "data": [{"added": 1796458352296}]
    }


def test_without_a_declaration_every_difference_is_written(tmp_path: Path) -> None:
    path = tmp_path / "V-1.json"
    _cassette(Volatility(), "Sat, 05 Dec 2026 08:07:26 GMT", {}).save(path)
    assert _cassette(Volatility(), "Sat, 05 Dec 2026 08:07:27 GMT", {}).save(path) is True


def test_double_star_paths_and_patterns_reach_any_depth_and_any_text() -> None:
    volatile = Volatility(json_paths=("**.expiry",), patterns=(r"\b1\d{12}\b",))
    a = volatile.body(json.dumps({"expiry": 1796458352296, "items": [{"expiry": 1, "keep": 2}]}))
    b = volatile.body(json.dumps({"expiry": 1796458386764, "items": [{"expiry": 5, "keep": 2}]}))
    assert a == b
    assert volatile.body("a,1796458352296\n") == volatile.body("a,1796458386764\n") == "a,9\n"
    assert volatile.body(json.dumps({"items": [{"keep": 2}]})) != volatile.body(json.dumps({"items": [{"keep": 3}]}))
    assert volatile.json_value(["items", "*", "expiry"])
    assert not volatile.json_value(["items", "*", "keep"])


def test_shape_keeps_the_form_of_a_value_not_its_digits() -> None:
    assert shape_of("Sat, 05 Dec 2026 08:07:26 GMT") == shape_of("Sun, 06 Jan 2027 10:00:00 GMT")
    assert shape_of("2026-12-05T08:07:26Z") != shape_of("1796458352296")


def test_origin_marks_keep_a_random_port_out_of_what_is_compared_and_replay_at_the_replay_origin() -> None:
    link = "https://127.0.0.1:52179/auth/host.xhtml?host=a"
    cassette = _cassette(Volatility(origins=True), "d", {"webLink": link, "next": BASE + "/items?page=2"})
    body = cassette.interactions[0].response_body
    assert "52179" not in body
    assert "{origin:vendor}/auth/host.xhtml" in body
    assert "{base_url:vendor}/items?page=2" in body
    replayed = cassette.interactions[0].response(
        httpx.Request("GET", "http://vendor.replay.invalid/items"), {"vendor": "http://vendor.replay.invalid"}
    )
    assert replayed.json()["webLink"] == "http://vendor.replay.invalid/auth/host.xhtml?host=a"
    assert replayed.json()["next"] == "http://vendor.replay.invalid/items?page=2"


def test_without_origin_marks_a_link_outside_the_base_is_kept_as_sent() -> None:
    link = "https://127.0.0.1:52179/auth/x"
    cassette = _cassette(Volatility(), "d", {"webLink": link})
    assert link in cassette.interactions[0].response_body


def test_the_client_multipart_boundary_is_stored_fixed() -> None:
    cassette = Cassette("vendor", "V-1")
    request = httpx.Request("POST", BASE + "/upload", files={"f": ("a.csv", b"1,2\n")})
    request.read()
    drawn = request.headers["content-type"].split("boundary=")[1]
    cassette.record("vendor", "/upload", request, httpx.Response(200), Redactor(), BASES)
    stored = cassette.interactions[0]
    assert drawn not in stored.request_body
    assert stored.request_headers["content-type"] == f"multipart/form-data; boundary={STORED_BOUNDARY}"
    assert f"--{STORED_BOUNDARY}" in stored.request_body


def _links(base: str, volatile: Volatility) -> Cassette:
    cassette = Cassette("vendor", "V-1", volatile=volatile)
    origin = base.rsplit("/api", 1)[0]
    body = {"webLink": origin + "/auth/host.xhtml?host=a", "next": base + "/items?page=2"}
    request = httpx.Request("GET", base + "/items?page=1", headers={"Accept": "application/json"})
    response = httpx.Response(200, headers={"Link": f'<{base}/items?page=2>; rel="next"'}, json=body)
    cassette.record("vendor", "/items?page=1", request, response, Redactor(), {"vendor": base})
    return cassette


def test_the_file_is_a_vcrpy_cassette_at_the_recorded_addresses_that_loads_back_into_marks(tmp_path: Path) -> None:
    path = tmp_path / "V-1.json"
    recorded = _links(BASE, Volatility(origins=True))
    recorded.save(path)
    document = json.loads(path.read_text())

    assert document["version"] == 1
    (item,) = document["interactions"]
    assert item["request"] == {
        "method": "GET",
        "uri": BASE + "/items?page=1",
        "body": "",
        "headers": {"accept": ["application/json"]},
    }
    assert item["response"]["status"] == {"code": 200, "message": "OK"}
    assert item["response"]["headers"]["link"] == [f'<{BASE}/items?page=2>; rel="next"']
    assert json.loads(item["response"]["body"]["string"]) == {
        "webLink": "https://127.0.0.1:52179/auth/host.xhtml?host=a",
        "next": BASE + "/items?page=2",
    }
    assert item["contractgate"] == {"target": "vendor", "path": "/items?page=1", "encoding": "utf-8"}
    assert document["contractgate"]["bases"] == BASES
    assert document["contractgate"]["origins"] is True

    loaded = Cassette.load(path, "vendor", "V-1")
    assert loaded.comparable() == recorded.comparable()
    replay = {"vendor": "http://vendor.replay.invalid/api"}
    answer = loaded.interactions[0].response(httpx.Request("GET", replay["vendor"] + "/items?page=1"), replay)
    assert answer.json() == {
        "webLink": "http://vendor.replay.invalid/auth/host.xhtml?host=a",
        "next": "http://vendor.replay.invalid/api/items?page=2",
    }
    assert answer.headers["link"] == '<http://vendor.replay.invalid/api/items?page=2>; rel="next"'


def test_a_recording_of_the_same_answers_on_another_port_keeps_the_stored_bytes(tmp_path: Path) -> None:
    path = tmp_path / "V-1.json"
    assert _links(BASE, Volatility(origins=True)).save(path)
    stored = path.read_bytes()
    assert _links("https://127.0.0.1:41003/api", Volatility(origins=True)).save(path) is False
    assert path.read_bytes() == stored


def test_a_body_that_is_not_text_stays_base64_of_the_masked_bytes(tmp_path: Path) -> None:
    path = tmp_path / "V-1.json"
    cassette = Cassette("vendor", "V-1")
    raw = b"\x89PNG\x00secret-key\xff"
    request = httpx.Request("GET", BASE + "/file")
    cassette.record("vendor", "/file", request, httpx.Response(200, content=raw), Redactor(["secret-key"]), BASES)
    cassette.save(path)
    item = json.loads(path.read_text())["interactions"][0]
    assert item["contractgate"]["encoding"] == "base64"
    assert b"secret-key" not in base64.b64decode(item["response"]["body"]["string"])
    replayed = Cassette.load(path).interactions[0].response(request, BASES)
    assert replayed.content.startswith(b"\x89PNG\x00")
