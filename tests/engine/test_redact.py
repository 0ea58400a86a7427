"""The redactor, and every place the engine writes or reports what it sent and got back."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from contractgate._cassettes import Cassette, cassette_path
from contractgate._config import RunConfig, TargetConfig
from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._redact import MASK, Redactor
from contractgate._runner import Engine
from contractgate._session import curl_line

SECRET = "Tok3nCanary9Lq5Wv2Xz8Rm4"
BASE = "http://tiny.test"

TINY = """
schema_version: 1
vendor: tiny
title: Tiny vendor (redaction tests)
sources:
  DOC: {title: Tiny docs, url: "https://example.invalid/docs"}
targets:
  - name: api
credentials:
  user: {env: USER, secret: false}
  token: {env: TOKEN}
auth:
  key:
    type: header
    headers: {X-Key: "{token}"}
defaults:
  auth: key
secrets:
  headers: [X-Key, Cookie, Set-Cookie]
  query: [apikey]
rules:
  - id: TINY-GET-001
    title: The thing answers 200
    source: {doc: DOC, section: Things, anchor: things}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {path: /thing}
      expect: {status: 200}
  - id: TINY-POST-001
    title: A write sent by a rule that did not declare it
    source: {doc: DOC, section: Things, anchor: things}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {method: POST, path: /thing, query: {apikey: not-a-configured-value-77}, json: {t: "{token}"}}
      expect: {status: 200}
"""

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def tiny(tmp_path: Path) -> Contract:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return load_contract(path)


def _run(contract: Contract, handler: Handler, rule: str, tmp_path: Path, mode: str = "record") -> Outcome:
    config = RunConfig(
        mode=mode,
        targets={"api": TargetConfig("api", BASE)},
        environ={"CONTRACTGATE_TINY_TOKEN": SECRET, "CONTRACTGATE_TINY_USER": "alice"},
        rule_globs=[rule],
        cassettes=tmp_path / "cassettes",
    )
    result = Engine([contract], config, transport=httpx.MockTransport(handler)).run()
    (outcome,) = result.outcomes
    return outcome


def _dumped(outcome: Outcome, tmp_path: Path, rule: str) -> str:
    """Everything a record run keeps of a rule: its results.json entry and its cassette."""
    cassette = cassette_path(tmp_path / "cassettes", "tiny", rule)
    return json.dumps(outcome.to_dict()) + cassette.read_text(encoding="utf-8")


# --- cookies -------------------------------------------------------------------------------------


def test_every_set_cookie_is_masked_in_the_report_and_the_cassette(tiny: Contract, tmp_path: Path) -> None:
    cookies = [
        ("Set-Cookie", "session=Sess1onValue8Kq2; Path=/; HttpOnly"),
        ("Set-Cookie", "XSRF-TOKEN=XsrfTok3nValue5Wm7; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/"),
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers=cookies, json={"echo": "XsrfTok3nValue5Wm7"})

    outcome = _run(tiny, handler, "TINY-GET-001", tmp_path)
    assert outcome.status == Status.PASSED, outcome.message
    dumped = _dumped(outcome, tmp_path, "TINY-GET-001")
    assert "Sess1onValue8Kq2" not in dumped
    assert "XsrfTok3nValue5Wm7" not in dumped  # the header, and the body that echoes the learned value
    shown = outcome.exchanges[0].response_headers["set-cookie"]
    assert shown == (
        f"session={MASK}; Path=/; HttpOnly, XSRF-TOKEN={MASK}; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/"
    )


def test_set_cookie_values_joined_into_one_header_are_each_masked() -> None:
    joined = "a=Va1ueOne8Kq2x; Path=/, b=Va1ueTwo5Wm7y; Expires=Thu, 01 Jan 1970 00:00:00 GMT, c="
    masked = Redactor().header("Set-Cookie", joined)
    assert masked == f"a={MASK}; Path=/, b={MASK}; Expires=Thu, 01 Jan 1970 00:00:00 GMT, c="


def test_repeated_cookie_headers_are_each_masked_in_the_curl_line() -> None:
    request = httpx.Request("GET", BASE, headers=[("Cookie", "a=Va1ueOne8Kq2x"), ("Cookie", "b=Va1ueTwo5Wm7y; c=")])
    line = curl_line(request, Redactor())
    assert "Va1ue" not in line
    assert f"cookie: a={MASK}" in line
    assert f"cookie: b={MASK}; c=" in line


# --- bodies ---------------------------------------------------------------------------------------


def test_a_body_that_is_not_text_is_stored_masked(tiny: Contract, tmp_path: Path) -> None:
    binary = b"\xff\xfe\x00" + SECRET.encode() + b"\x00\x81" + SECRET.lower().encode() + b"\xff"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=binary, headers={"Content-Type": "application/octet-stream"})

    _run(tiny, handler, "TINY-GET-001", tmp_path)
    cassette = Cassette.load(cassette_path(tmp_path / "cassettes", "tiny", "TINY-GET-001"))
    (interaction,) = cassette.interactions
    assert interaction.body_encoding == "base64"
    stored = base64.b64decode(interaction.response_body)
    assert stored == b"\xff\xfe\x00" + MASK.encode() + b"\x00\x81" + MASK.encode() + b"\xff"


@pytest.mark.parametrize("cut", [200, 600])
def test_a_secret_spanning_an_excerpt_cut_is_masked_before_the_cut(tiny: Contract, tmp_path: Path, cut: int) -> None:
    body = ("x" * (cut - 10) + SECRET + "y" * 900).encode()  # the secret starts 10 bytes before the cut

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, content=body)

    outcome = _run(tiny, handler, "TINY-GET-001", tmp_path, mode="live")
    assert outcome.status == Status.FAILED
    excerpt = outcome.exchanges[0].response_excerpt
    assert SECRET[:10] not in outcome.got
    assert SECRET[:10] not in excerpt
    assert MASK in excerpt
    assert (MASK in outcome.got) == (cut == 200)  # `got` shows the first 300 characters


# --- messages -------------------------------------------------------------------------------------


def test_a_refused_write_names_its_url_masked(tiny: Contract, tmp_path: Path) -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200)

    outcome = _run(tiny, handler, "TINY-POST-001", tmp_path, mode="live")
    assert not sent
    assert outcome.status == Status.ERROR
    assert "was not sent" in outcome.message
    assert "not-a-configured-value-77" not in outcome.message  # a secret query key, masked by its name
    assert f"apikey={MASK}" in outcome.message


def test_secret_query_keys_are_masked_in_free_text() -> None:
    redactor = Redactor(query=["apikey", "password"])
    text = "GET https://h/x?a=1&apikey=abc123&b=2 refused; form:\npassword=hunter2&user=u"
    assert redactor.text(text) == f"GET https://h/x?a=1&apikey={MASK}&b=2 refused; form:\npassword={MASK}&user=u"


# --- secrets and their forms ------------------------------------------------------------------------


def test_a_short_configured_secret_is_masked() -> None:
    redactor = Redactor(["Qz7x"])
    assert redactor.text('{"password": "Qz7x", "hint": "qz7x"}') == f'{{"password": "{MASK}", "hint": "{MASK}"}}'


def test_a_one_to_three_character_secret_is_masked_as_a_whole_word_only() -> None:
    redactor = Redactor(["ab", "7"])
    text = "user ab logged in at 7; table cabbage 17 stays readable: ?k=ab&n=7"
    assert redactor.text(text) == (
        f"user {MASK} logged in at {MASK}; table cabbage 17 stays readable: ?k={MASK}&n={MASK}"
    )


def test_parts_of_a_compound_secret_and_learned_cookies_keep_a_length_floor() -> None:
    redactor = Redactor(["name:Pa55wordThatIsLong"])
    redactor.header("Cookie", "lang=en; theme=dark")
    text = "name lang en dark Pa55wordThatIsLong"
    assert redactor.text(text) == f"name lang en dark {MASK}"


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        SECRET.lower(),
        quote("prefix " + SECRET + "/=", safe=""),
        base64.b64encode(SECRET.encode()).decode(),
        base64.b64encode(SECRET.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(SECRET.encode()).decode(),
    ],
)
def test_every_encoded_form_of_a_secret_is_masked(form: str) -> None:
    redactor = Redactor([SECRET, "prefix " + SECRET + "/="])
    masked = redactor.text(f"before {form} after")
    assert form not in masked
    assert masked.startswith("before ")
    assert masked.endswith(" after")


@pytest.mark.parametrize("user", ["a", "ab", "alice", "admin-user"])
def test_the_secret_inside_base64_of_a_user_secret_compound_is_masked(user: str) -> None:
    compound = base64.b64encode(f"{user}:{SECRET}".encode()).decode()
    masked = Redactor([SECRET]).text(f"Authorization: Basic {compound}")
    before, mask, after = masked.split("Basic ", 1)[1].partition(MASK)
    assert mask
    assert compound.startswith(before)
    assert compound.endswith(after)
    # Left unmasked: the characters holding the user's bits (and a few of the secret's), and the last group.
    assert len(base64.b64decode(before[: len(before) // 4 * 4])) <= len(user) + 2
    assert len(after) <= 4
