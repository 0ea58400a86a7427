"""The Threat Jammer server's quota switch, and live runs that fit the documented limits it simulates."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from contractgate._contract import Contract
from contractgate._errors import SetupError
from contractgate._limits import QuotaShort, time_scaled
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config, kill_matrix
from contractgate.cli import main
from contractgate.servers import serve_in_thread
from contractgate.servers.threatjammer import ThreatJammerServer
from tests.servers.test_threatjammer import make_env

ROOT = Path(__file__).resolve().parents[2]
# Rules that send only the region key to the Dublin User API (21 requests, the quota read aside, some shared).
USER_API_RULES = ["TJ-ERR-004", "TJ-ERR-005", "TJ-ASN-003", "TJ-ASSESS-003", "TJ-GEO-001"]


@pytest.fixture(scope="module")
def contract() -> Contract:
    return load_contract(ROOT / "contracts" / "threatjammer.yaml")


class Wire(httpx.BaseTransport):
    """The wire, remembering the status of every answer (a 429 the transport waited out included)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        self.statuses.append(response.status_code)
        return response


def test_the_switch_puts_every_key_on_the_free_plans_rate_at_a_time_scale() -> None:
    env = make_env(free_plan_rate=True, minute_seconds=6.0, free_minute_quota=10, free_report_quota=6)
    for _ in range(10):
        assert env.get("/v1/dataset/ip").status_code == 200
    refused = env.get("/v1/dataset/ip")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 6  # a minute of 6 s
    for _ in range(6):
        assert env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]}).status_code == 202
    assert env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]}).status_code == 429
    env.clock.now += 6
    assert env.get("/v1/dataset/ip").status_code == 200
    assert env.report("/v1/unban/ip", {"addresses": ["185.156.73.99"]}).status_code == 202


def test_without_the_switch_the_region_keys_stay_generous() -> None:
    env = make_env()
    assert all(env.get("/v1/dataset/ip").status_code == 200 for _ in range(30))


def test_a_minute_must_last_some_time() -> None:
    with pytest.raises(ValueError, match="minute_seconds must be a positive number"):
        ThreatJammerServer(minute_seconds=0)


def test_a_run_paced_at_the_declared_rate_meets_no_429_and_takes_requests_over_rate(contract: Contract) -> None:
    minute_s = 4.0
    server = ThreatJammerServer(free_plan_rate=True, minute_seconds=minute_s)
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, rule_globs=USER_API_RULES)
        for target in config.targets.values():
            target.rate = None  # a user's target: paced as the contract declares, not unthrottled
        wire = Wire()
        engine = Engine([time_scaled(contract, minute_s)], config, transport=wire)
        started = time.monotonic()
        result = engine.run()
        wall = time.monotonic() - started
    assert [outcome.status for outcome in result.outcomes] == [Status.PASSED] * len(USER_API_RULES)
    assert 429 not in wire.statuses
    requests = len(wire.statuses)
    assert requests + engine.shared.saved == 24  # the rules' 23 and the quota read, less the reads they shared
    assert requests > 10  # more than a minute's worth
    expected = requests / (10 / minute_s)
    # Never faster than the declared rate; how close to it a run comes is a figure for bench/, not a test bound.
    assert wall >= 0.9 * expected, (wall, expected)


def test_a_run_whose_plan_exceeds_the_remaining_quota_sends_nothing_but_the_read(contract: Contract) -> None:
    server = ThreatJammerServer(month_quota=12)
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, rule_globs=["TJ-RESP-002", "TJ-ASSESS-003"])
        with pytest.raises(QuotaShort) as caught:
            Engine([contract], config).run()
    message = str(caught.value)
    assert isinstance(caught.value, SetupError)  # exit 2, one line
    assert "\n" not in message
    assert "credential key on threatjammer:dublin needs 15 requests, 11 of 12 remain, share 1 allows 11" in message
    meters = server.runtime.state.meters
    assert sum(meter.month_used for meter in meters.values()) == 1  # the GET /v1/token of the pre-flight
    assert all(not meter.report_hits and len(meter.minute_hits) <= 1 for meter in meters.values())


def test_a_share_of_the_remaining_quota_refuses_a_run_that_would_fit_the_whole(contract: Contract) -> None:
    server = ThreatJammerServer(month_quota=40)
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, rule_globs=["TJ-RESP-002", "TJ-ASSESS-003"], quota_share=0.25)
        with pytest.raises(QuotaShort, match=r"needs 15 requests, 39 of 40 remain, share 0\.25 allows 9"):
            Engine([contract], config).run()
        config.quota_share = 0.5
        result = Engine([contract], config).run()
    assert [outcome.status for outcome in result.outcomes] == [Status.PASSED, Status.PASSED]


def test_the_command_line_refuses_a_run_too_big_for_the_quota_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ThreatJammerServer(month_quota=40)
    with serve_in_thread(server) as running:
        for name, value in server.credentials.items():
            monkeypatch.setenv(f"CONTRACTGATE_THREATJAMMER_{name}", value)
        targets = [f"--target={key}={url}" for key, url in running.urls.items()]
        arguments = ["run", "--vendor", "threatjammer", *targets, "--rule", "TJ-RESP-002", "--rule", "TJ-ASSESS-003"]
        reports = ["--reports", str(tmp_path / "reports"), "--rate", "1000"]
        code = main([*arguments, *reports, "--quota-share", "0.25"])
        sent = sum(meter.month_used for meter in server.runtime.state.meters.values())
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert "needs 15 requests, 39 of 40 remain, share 0.25 allows 9" in error
    assert sent == 1


@pytest.mark.parametrize("share", ["0", "1.5", "half"])
def test_a_quota_share_outside_0_to_1_exits_2(share: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--vendor", "threatjammer", "--quota-share", share]) == 2
    assert "argument --quota-share: " in capsys.readouterr().err


def test_the_kill_matrix_reads_no_quota_so_a_fault_there_is_left_to_the_rules(contract: Contract) -> None:
    server = ThreatJammerServer(month_quota=15)  # the rules' 15 requests fit; with a quota read first they would not
    with serve_in_thread(server) as running:
        result = kill_matrix(contract, server, running, ["TJ-RESP-002", "TJ-ASSESS-003"], faults=[])
    assert [outcome.status for outcome in result.clean] == [Status.PASSED, Status.PASSED]


@pytest.mark.parametrize("rule", ["TJ-QUOTA-003", "TJ-REPORT-007"])
def test_a_month_key_spent_on_the_free_plan_is_paced_to_its_minute(contract: Contract, rule: str) -> None:
    minute_s = 3.0  # the target's default 5 requests/s alone would send 15 in a minute, past its 10
    server = ThreatJammerServer(free_plan_rate=True, minute_seconds=minute_s)
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, rule_globs=[rule])
        for target in config.targets.values():
            target.rate = None  # a user's target: paced as the contract declares
        wire = Wire()
        result = Engine([time_scaled(contract, minute_s)], config, transport=wire).run()
    [outcome] = result.outcomes
    # Unpaced, the month key meets the minute's 429 long before its month is spent: a false violation.
    assert outcome.status == Status.PASSED, outcome.message
    assert wire.statuses.count(429) == 1  # the month's refusal, and no minute one before it
