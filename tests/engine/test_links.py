"""Kind `links` against the Threat Jammer reference server: every reference judged, no answer asked for twice."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.servers import serve_in_thread
from contractgate.servers.threatjammer import ThreatJammerServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract(ROOT / "contracts" / "threatjammer.yaml")


class Wire(httpx.BaseTransport):
    """The wire, counting each request by method and URL."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent[f"{request.method} {request.url}"] += 1
        return self.inner.handle_request(request)


def _run(contract: Contract, faults: tuple[str, ...] = ()) -> tuple[Outcome, Wire]:
    server = ThreatJammerServer()
    wire = Wire()
    with serve_in_thread(server) as running:
        server.switch.set(faults)
        config = bundled_config(contract, running, rule_globs=["TJ-LINK-001"])
        [outcome] = Engine([contract], config, transport=wire, read_quotas=False).run().outcomes
    return outcome, wire


def test_a_start_answers_for_its_own_self_and_no_uri_is_asked_twice(contract: Contract) -> None:
    outcome, wire = _run(contract)
    assert outcome.status == Status.PASSED, outcome.message
    assert [request for request, count in wire.sent.items() if count > 1] == []
    # The six starts and the 25 other references they hold: the starts' own selves were not asked again.
    assert len(outcome.exchanges) == sum(wire.sent.values()) == 31


@pytest.mark.parametrize("fault", ["dangling-reference", "absolute-reference-uris", "datacenter-prefixes-dangling"])
def test_the_rule_still_fails_on_each_of_its_faults(contract: Contract, fault: str) -> None:
    outcome, _wire = _run(contract, (fault,))
    assert outcome.status == Status.FAILED, outcome.message
