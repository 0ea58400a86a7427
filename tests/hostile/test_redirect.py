"""A target that redirects elsewhere never makes contractgate send a credential to the other origin."""

from __future__ import annotations

import http.server
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractgate._config import UNLIMITED, RunConfig, TargetConfig
from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._runner import Engine
from contractgate.cli import main
from tests.hostile._server import HostileServer, Seen, hostile_server, send_json

SECRETS = {"USER": "redirect-user-0451", "KEY": "redirect-KEY-c0ffee9d1e2f", "SECRET": "redirect-SECRET-77aa13e5b0"}
CONTRACT = """\
schema_version: 1
vendor: hostile
title: A target that redirects (safety tests)
sources:
  DOC: {title: Hostile docs, url: "https://example.invalid/docs"}
targets:
  - name: hostile
credentials:
  user: {env: USER, secret: false}
  key: {env: KEY}
  secret: {env: SECRET}
auth:
  keys: {type: header, headers: {X-USER: "{user}", X-APIKEY: "{key}"}}
  bearer: {type: header, headers: {Authorization: "Bearer {key}"}}
  cookie: {type: header, headers: {Cookie: "session={key}"}}
  hmac:
    type: hmac
    key: secret
    message: "{path_query}:{method}:{timestamp}"
    headers: {Authorization: "TC {user}:{signature}", Timestamp: "{timestamp}"}
rules:
"""
# One rule per way the engine can carry a credential: header keys, HMAC, Bearer, cookie. (A request's query
# takes saved variables only, never a credential, so no key can travel in a URL.)
SCHEMES = {
    "HOSTILE-KEYS-001": "{path: /away, auth: keys, follow_redirects: true}",
    "HOSTILE-HMAC-001": "{path: /away, auth: hmac, follow_redirects: true}",
    "HOSTILE-BEARER-001": "{path: /away, auth: bearer, follow_redirects: true}",
    "HOSTILE-COOKIE-001": "{path: /away, auth: cookie, follow_redirects: true}",
    "HOSTILE-SAME-001": "{path: /here, auth: keys, follow_redirects: true}",
}


def _contract_text() -> str:
    rules = "".join(
        f"  - id: {rule}\n    title: {rule}\n    source: {{doc: DOC, section: Auth, anchor: auth}}\n"
        "    evidence: documented\n    severity: must\n"
        f"    kind: request\n    params:\n      request: {request}\n      expect: {{status: 200}}\n"
        for rule, request in SCHEMES.items()
    )
    return CONTRACT + rules


@pytest.fixture(scope="module")
def contract_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("contracts")
    (folder / "hostile.yaml").write_text(_contract_text(), encoding="utf-8")
    return folder / "hostile.yaml"


@pytest.fixture(scope="module")
def contract(contract_file: Path) -> Contract:
    return load_contract(contract_file)


def _landing(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
    send_json(request, 200, b'{"landed": true}')


@pytest.fixture
def servers() -> Iterator[tuple[HostileServer, HostileServer]]:
    """`first` (the configured target) redirects /away to `second` (another origin), /here to itself."""
    with hostile_server(_landing) as second:

        def redirect(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
            path, _, query = seen.path.partition("?")
            if path == "/away":  # a hostile target even echoes the query (and a key in it) into the Location
                send_json(request, 307, b"{}", Location=f"{second.url}/landing?{query}")
            elif path == "/here":
                send_json(request, 307, b"{}", Location="/landing")
            else:
                send_json(request, 200, b'{"landed": true}')

        with hostile_server(redirect) as first:
            yield first, second


def _config(first: HostileServer, **overrides: object) -> RunConfig:
    environ = {f"CONTRACTGATE_HOSTILE_{name}": value for name, value in SECRETS.items()}
    config = RunConfig(
        mode="live", targets={"hostile": TargetConfig("hostile", first.url, rate=UNLIMITED)}, environ=environ
    )
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def _outcome(contract: Contract, config: RunConfig, rule: str) -> Outcome:
    config.rule_globs = [rule]
    [outcome] = Engine([contract], config).run().outcomes
    return outcome


@pytest.mark.parametrize("rule", [rule for rule in SCHEMES if rule != "HOSTILE-SAME-001"])
def test_a_cross_origin_redirect_is_refused_and_the_rule_errors(
    contract: Contract, servers: tuple[HostileServer, HostileServer], rule: str
) -> None:
    first, second = servers
    outcome = _outcome(contract, _config(first), rule)
    assert second.seen == [], "the other origin received a request (and with it a credential)"
    assert [seen.path.partition("?")[0] for seen in first.seen] == ["/away"]
    assert outcome.status == Status.ERROR
    assert outcome.message.startswith(f"could not check: the target redirected to {second.origin}/landing")
    assert "credentials are never sent to another origin" in outcome.message
    assert not any(secret in outcome.message for secret in SECRETS.values() if secret != SECRETS["USER"])


def test_the_credential_reached_the_target_itself(
    contract: Contract, servers: tuple[HostileServer, HostileServer]
) -> None:
    """The refusal is about the other origin: the configured target did get the signed request."""
    first, _ = servers
    _outcome(contract, _config(first), "HOSTILE-KEYS-001")
    assert first.seen[0].headers["x-apikey"] == SECRETS["KEY"]


def test_a_same_origin_redirect_is_still_followed(
    contract: Contract, servers: tuple[HostileServer, HostileServer]
) -> None:
    first, second = servers
    outcome = _outcome(contract, _config(first), "HOSTILE-SAME-001")
    assert outcome.status == Status.PASSED, outcome.message
    assert [seen.path for seen in first.seen] == ["/here", "/landing"]
    assert second.seen == []


def test_record_mode_keeps_the_307_and_pretends_nothing(
    contract: Contract, servers: tuple[HostileServer, HostileServer], tmp_path: Path
) -> None:
    first, second = servers
    outcome = _outcome(contract, _config(first, mode="record", cassettes=tmp_path), "HOSTILE-KEYS-001")
    assert outcome.status == Status.ERROR
    assert second.seen == []
    cassette = json.loads((tmp_path / "hostile" / "HOSTILE-KEYS-001.json").read_text())
    text = json.dumps(cassette)
    assert text.count('"code": 307') == 1
    assert '"code": 200' not in text
    assert SECRETS["KEY"] not in text


def test_the_command_line_exits_2(
    contract_file: Path,
    servers: tuple[HostileServer, HostileServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = servers
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(contract_file, folder / "hostile.yaml")
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"CONTRACTGATE_HOSTILE_{name}", value)
    target = ["--target", f"hostile={first.url}", "--rate", "1000", "--rule", "HOSTILE-BEARER-001"]
    code = main(["--contracts", str(folder), "run", *target, "--reports", str(tmp_path / "reports"), "-v"])
    assert code == 2
    assert second.seen == []
    assert "redirected to" in capsys.readouterr().out
