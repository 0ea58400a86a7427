"""Live runs paced per credential: independent credentials' rules run at once, each at its declared rate."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import httpx
import pytest

from contractgate._config import RunConfig, TargetConfig
from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine

STEPS = "\n".join(f"        - request: {{path: /r{n}}}\n          expect: {{status: 200}}" for n in range(5))
CONTRACT = f"""\
schema_version: 1
vendor: paced
title: A regional vendor with a per-key rate (engine tests)
sources:
  DOC: {{title: Paced docs, url: "https://example.invalid/docs"}}
targets:
  - name: api
    regions: [east, west]
credentials:
  key: {{env: KEY, per_region: true}}
auth:
  bearer: {{type: header, headers: {{Authorization: "Bearer {{key}}"}}}}
defaults:
  auth: bearer
limits:
  - targets: [api]
    rate: {{requests: 5, seconds: 1}}
    source: {{doc: DOC, section: Rates, anchor: rates}}
rules:
  - id: PACED-EAST-001
    title: Five reads in the east
    source: {{doc: DOC, section: A, anchor: a}}
    evidence: documented
    severity: must
    kind: request
    params:
      steps:
{STEPS.replace("/r", "/east")}
  - id: PACED-WEST-001
    title: Five reads in the west
    source: {{doc: DOC, section: A, anchor: a}}
    evidence: documented
    severity: must
    kind: request
    params:
      steps:
{STEPS.replace("/r", "/west").replace("request: {", "request: {region: west, ")}
"""


@pytest.fixture
def contract(tmp_path: Path) -> Contract:
    path = tmp_path / "paced.yaml"
    path.write_text(CONTRACT)
    return load_contract(path)


class Clocked(httpx.BaseTransport):
    """Answers 200 at once and notes when each request reached it, by host."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.arrivals.setdefault(request.url.host, []).append(time.monotonic())
        return httpx.Response(200, json={})


def _config(rate: float | None) -> RunConfig:
    targets = {
        key: TargetConfig(key, f"http://{key.split(':')[1]}.example", rate=rate) for key in ("api:east", "api:west")
    }
    environ = {"CONTRACTGATE_PACED_KEY_EAST": "k-east", "CONTRACTGATE_PACED_KEY_WEST": "k-west"}
    return RunConfig(mode="live", targets=targets, environ=environ)


def test_two_regions_keys_run_at_once_each_at_its_declared_rate(contract: Contract) -> None:
    wire = Clocked()
    engine = Engine([contract], _config(rate=None), transport=wire)
    assert engine.paced(contract)
    result = engine.run()
    assert [(o.rule_id, o.status) for o in result.outcomes] == [
        ("PACED-EAST-001", Status.PASSED),
        ("PACED-WEST-001", Status.PASSED),
    ]
    east, west = wire.arrivals["east.example"], wire.arrivals["west.example"]
    for arrivals in (east, west):
        assert len(arrivals) == 5
        assert min(b - a for a, b in itertools.pairwise(arrivals)) >= 0.19  # 5 a second per key
    # the west key did not wait for the east key's rule: the lanes overlapped (a wall-time bound would be load-bound)
    assert west[0] < east[-1]


def test_a_configured_rate_runs_the_rules_one_after_the_other(contract: Contract) -> None:
    wire = Clocked()
    engine = Engine([contract], _config(rate=1000.0), transport=wire)
    assert not engine.paced(contract)
    result = engine.run()
    assert [o.status for o in result.outcomes] == [Status.PASSED, Status.PASSED]
    assert wire.arrivals["east.example"][-1] < wire.arrivals["west.example"][0]
