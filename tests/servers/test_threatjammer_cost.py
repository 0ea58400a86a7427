"""What the Threat Jammer pack costs on the wire (issue 13): reads shared across rules, small quotas spent fast."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import FRESH_KINDS, Engine
from contractgate._selftest import bundled_config
from contractgate.servers import serve_in_thread
from contractgate.servers.threatjammer import ThreatJammerServer

ROOT = Path(__file__).resolve().parents[2]
# Every rule but the fuzz rules (TJ-FUZZ-*, whose cost another measure owns): no other rule id starts with F.
NOT_FUZZ = "TJ-[!F]*"
# What the smoke profile's non-fuzz rules sent against the bundled server when this file was written
# (bench/README.md has the figures before and after): a rule or an order that sends more fails here.
SMOKE_NOT_FUZZ_SENT = 189


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract(ROOT / "contracts" / "threatjammer.yaml")


class Wire(httpx.BaseTransport):
    """The wire, counting requests per credential value."""

    def __init__(self, names: dict[str, str]) -> None:
        self.inner = httpx.HTTPTransport()
        self.names = names
        self.sent: Counter[str] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        carried = request.headers.get("Authorization", "")
        self.sent[next((name for value, name in self.names.items() if value in carried), "none")] += 1
        return self.inner.handle_request(request)


# Reading rules that come after the writes on purpose: what they read is asked by no other rule.
READ_AFTER_WRITES = {
    "TJ-DENY-002": "reads the reported set as CSV, which TJ-DENY-001 has just filled",
    "TJ-REPORT-002": "asks the Report API with GET, which no other rule does",
    "TJ-CSV-001": "uploads CSV files, which no other rule does",
}


def test_every_rule_that_writes_comes_after_every_rule_whose_reads_are_shared(contract: Contract) -> None:
    """A write clears the run-wide cache of reads, so a write among the reading rules makes them ask again."""
    order = [rule.id for rule in contract.rules]
    first_write = min(order.index(rule.id) for rule in contract.rules if rule.writes)
    late = [
        rule.id
        for rule in contract.rules[first_write:]
        if not rule.writes and rule.kind not in FRESH_KINDS and rule.id not in READ_AFTER_WRITES
    ]
    assert late == [], f"read rules after the first write ({order[first_write]}): {late}"


def test_the_smoke_profile_without_fuzz_sends_at_most_its_measured_figure(contract: Contract) -> None:
    server = ThreatJammerServer()
    with serve_in_thread(server) as running:
        wire = Wire({value: name for name, value in running.server.credentials.items()})
        config = bundled_config(contract, running, rule_globs=[NOT_FUZZ], profile="smoke")
        outcomes = Engine([contract], config, transport=wire, read_quotas=False).run().outcomes
    ran = [o for o in outcomes if o.cause != "profile"]
    assert ran
    assert [(o.rule_id, o.message) for o in ran if o.status != Status.PASSED] == []
    assert sum(wire.sent.values()) <= SMOKE_NOT_FUZZ_SENT, wire.sent
    # The month keys' quota is small: TJ-QUOTA-003 and TJ-REPORT-007 each spend theirs in a handful of requests.
    assert wire.sent["MONTH_KEY_DUBLIN"] <= 5
    assert wire.sent["MONTH_KEY_PARIS"] <= 5
