"""The run-wide cache of safe identical reads, end to end: sent once live, and every cassette still replays alone."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from contractgate._config import RunConfig
from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.servers import serve_in_thread
from tests.fixtures.mini_server import MiniServer

FIXTURES = Path(__file__).parent.parent / "fixtures"
TWIN = """
  - id: MINI-TWIN-001
    title: The same signed request as MINI-AUTH-001, inspected for another statement
    source: {doc: DOC, section: Auth, anchor: auth}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {path: /items, query: {limit: 2}}
      expect:
        status: 200
        json: [{path: items.0.id, present: true}]
"""
PAIR = ["MINI-AUTH-001", "MINI-TWIN-001"]


@pytest.fixture
def twin_contract(tmp_path: Path) -> Contract:
    path = tmp_path / "contracts" / "mini.yaml"
    path.parent.mkdir()
    path.write_text((FIXTURES / "mini.yaml").read_text() + TWIN)
    return load_contract(path)


class Wire(httpx.BaseTransport):
    """The wire to a plain-HTTP loopback server, remembering what it carried."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[str] = []

    def close(self) -> None:
        self.inner.close()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}?{request.url.query.decode()}")
        return self.inner.handle_request(request)


@pytest.mark.parametrize("share", [True, False])
def test_two_rules_asking_the_same_read_send_it_once(twin_contract: Contract, share: bool) -> None:
    with serve_in_thread(MiniServer()) as running:
        wire = Wire()
        config = bundled_config(twin_contract, running, rule_globs=PAIR)
        engine = Engine([twin_contract], config, transport=wire, share_reads=share)
        result = engine.run()
        wire.close()
    assert [outcome.status for outcome in result.outcomes] == [Status.PASSED, Status.PASSED]
    assert wire.sent == ["GET /api/items?limit=2"] * (1 if share else 2)
    assert engine.shared.saved == (1 if share else 0)
    assert result.run["requests_shared"] == engine.shared.saved
    assert [len(outcome.exchanges) for outcome in result.outcomes] == [1, 1]  # both rules judged the answer


def test_a_shared_answer_is_recorded_in_each_rules_cassette_which_replays_alone(
    twin_contract: Contract, tmp_path: Path
) -> None:
    cassettes = tmp_path / "cassettes"
    with serve_in_thread(MiniServer()) as running:
        wire = Wire()
        config = bundled_config(twin_contract, running, mode="record", cassettes=cassettes, rule_globs=PAIR)
        engine = Engine([twin_contract], config, transport=wire)
        assert engine.run().exit_code == 0
        wire.close()
    assert wire.sent == ["GET /api/items?limit=2"]
    for rule in PAIR:
        recorded = json.loads((cassettes / "mini" / f"{rule}.json").read_text())
        assert len(recorded["interactions"]) == 1, rule
    for rule in PAIR:  # the server is gone; each cassette on its own
        replayed = Engine([twin_contract], RunConfig(mode="replay", cassettes=cassettes, rule_globs=[rule])).run()
        assert [outcome.status for outcome in replayed.outcomes] == [Status.PASSED], rule
