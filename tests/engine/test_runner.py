"""The engine end to end on the mini vendor: live, record, replay, kill matrix, canary secret."""

from __future__ import annotations

import http.server
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractgate._cassettes import Cassette
from contractgate._config import DEFAULT_LIVE_RATE, UNLIMITED, RunConfig, TargetConfig
from contractgate._contract import Contract
from contractgate._errors import ContractError, SetupError
from contractgate._loader import load_contract
from contractgate._outcome import Exchange, Outcome, Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config, kill_matrix
from contractgate.reports import HtmlReport, JsonReport, JunitReport
from contractgate.servers import RunningServer, serve_in_thread
from tests.fixtures.mini_server import MiniServer
from tests.hostile._server import HostileServer, Seen, hostile_server, send_json

CANARY = "canary-SECRET-7f3a9c1e5b2d"


def test_live_run_passes_every_rule(mini_contract: Contract, mini_running: RunningServer) -> None:
    result = Engine([mini_contract], bundled_config(mini_contract, mini_running)).run()
    assert {o.rule_id: str(o.status) for o in result.outcomes} == {r.id: "passed" for r in mini_contract.rules}
    assert result.exit_code == 0


def test_window_rule_sends_the_boundaries(mini_contract: Contract, mini_running: RunningServer) -> None:
    config = bundled_config(mini_contract, mini_running, rule_globs=["MINI-AUTH-002"])
    outcome = Engine([mini_contract], config).run().outcomes[0]
    timestamps = [x.curl for x in outcome.exchanges]
    assert len(timestamps) >= 5
    assert outcome.status == Status.PASSED


def test_kill_matrix_kills_every_fault(mini_contract: Contract) -> None:
    server = MiniServer()
    with serve_in_thread(server) as running:
        result = kill_matrix(mini_contract, server, running)
    assert not result.clean_problems()
    assert not result.survivors(), [f.name for f in result.survivors()]
    assert result.caught["window-10min"] == ["MINI-AUTH-002"]


def test_violation_names_rule_source_request_and_difference(mini_contract: Contract) -> None:
    server = MiniServer(faults=["error-no-title"])
    with serve_in_thread(server) as running:
        outcome = (
            Engine([mini_contract], bundled_config(mini_contract, running, rule_globs=["MINI-ERR-001"]))
            .run()
            .outcomes[0]
        )
    assert outcome.status == Status.FAILED
    assert "Mini docs (DOC), Errors" in outcome.source
    assert outcome.where == "json title"
    assert "missing" in outcome.message
    assert outcome.exchanges[-1].curl.startswith("curl -X GET http://127.0.0.1:")
    assert "TC REDACTED" in outcome.exchanges[-1].curl


def test_record_then_replay_offline_with_no_secret_on_disk(mini_contract: Contract, tmp_path: Path) -> None:
    server = MiniServer(credentials={"SECRET_KEY": CANARY})
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    with serve_in_thread(server) as running:
        config = bundled_config(mini_contract, running, mode="record", cassettes=cassettes)
        listeners = [
            JunitReport(reports / "junit.xml"),
            JsonReport(reports / "results.json"),
            HtmlReport(reports / "report.html"),
        ]
        recorded = Engine([mini_contract], config, listeners).run()
    assert recorded.exit_code == 0
    assert (cassettes / "mini" / "MINI-SEC-001.json").is_file()
    for path in [*cassettes.rglob("*"), *reports.rglob("*")]:
        if path.is_file():
            assert CANARY not in path.read_text(), f"canary secret leaked into {path}"
    assert "REDACTED" in (cassettes / "mini" / "MINI-SEC-001.json").read_text()
    # The server is gone: replay must not need the network.
    replayed = Engine([mini_contract], RunConfig(mode="replay", cassettes=cassettes)).run()
    assert {str(o.status) for o in replayed.outcomes} == {"passed"}, [(o.rule_id, o.message) for o in replayed.outcomes]


def test_replay_unmatched_request_names_the_closest(mini_contract: Contract, tmp_path: Path) -> None:
    cassette = Cassette("mini", "MINI-AUTH-001")
    cassette.save(tmp_path / "mini" / "MINI-AUTH-001.json")
    config = RunConfig(mode="replay", cassettes=tmp_path, rule_globs=["MINI-AUTH-001"])
    outcome = Engine([mini_contract], config).run().outcomes[0]
    assert outcome.status == Status.ERROR
    assert "no recorded interaction for GET mini /items?limit=2" in outcome.message


def test_missing_credentials_skip_and_nothing_runs_means_exit_2(
    mini_contract: Contract, mini_running: RunningServer
) -> None:
    config = bundled_config(mini_contract, mini_running, environ={})
    result = Engine([mini_contract], config).run()
    assert {str(o.status) for o in result.outcomes} == {"skipped"}
    assert "set CONTRACTGATE_MINI_ACCESS_ID" in result.outcomes[0].message
    assert result.exit_code == 2


@pytest.mark.parametrize("mode", ["live", "record"])
def test_writes_are_skipped_without_opt_in(mini_contract: Contract, mode: str, tmp_path: Path) -> None:
    rule = mini_contract.rules[0].model_copy(update={"writes": True})
    contract = mini_contract.model_copy(update={"rules": [rule]})
    with serve_in_thread(MiniServer()) as running:
        config = bundled_config(contract, running, mode=mode, cassettes=tmp_path)
        for target in config.targets.values():
            target.allow_writes = False
        outcome = Engine([contract], config).run().outcomes[0]
    assert outcome.status == Status.SKIPPED
    assert "does not allow writes" in outcome.message


class _TlsMini(MiniServer):
    tls = True


def test_a_tls_target_is_trusted_through_its_own_ca_bundle(mini_contract: Contract) -> None:
    with serve_in_thread(_TlsMini()) as running:
        assert running.ca_pem is not None
        config = bundled_config(mini_contract, running)
        assert {t.ca_bundle for t in config.targets.values()} == {running.ca_pem}
        result = Engine([mini_contract], config).run()
        assert {str(o.status) for o in result.outcomes} == {"passed"}
        assert result.outcomes[0].exchanges[0].url.startswith("https://127.0.0.1:")


def test_a_tls_target_without_its_ca_never_passes(mini_contract: Contract, tmp_path: Path) -> None:
    import trustme

    stranger = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(stranger))
    with serve_in_thread(_TlsMini()) as running:
        for ca_bundle in (None, stranger):  # the system store, or another target's CA
            config = bundled_config(mini_contract, running, rule_globs=["MINI-ERR-001"])
            for target in config.targets.values():
                target.ca_bundle = ca_bundle
            outcome = Engine([mini_contract], config).run().outcomes[0]
            assert outcome.status == Status.ERROR
            assert "CERTIFICATE_VERIFY_FAILED" in outcome.message


def test_an_unreadable_ca_bundle_is_a_setup_error(mini_contract: Contract, tmp_path: Path) -> None:
    from contractgate._errors import SetupError

    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with serve_in_thread(_TlsMini()) as running:
        config = bundled_config(mini_contract, running)
        for target in config.targets.values():
            target.ca_bundle = bogus
        with pytest.raises(SetupError, match="not a readable PEM CA file"):
            Engine([mini_contract], config).preflight()


def test_a_trust_store_is_loaded_once_per_process_and_again_when_its_file_changes(tmp_path: Path) -> None:
    # Every engine built its TLS contexts anew (tens of milliseconds each): the kill matrix runs hundreds of engines.
    import trustme

    from contractgate._runner import trust_context

    assert trust_context(None) is trust_context(None)
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    first = trust_context(ca_file)
    assert trust_context(ca_file) is first
    assert first.cert_store_stats()["x509_ca"] == 1
    trustme.CA().cert_pem.write_to_path(str(ca_file), append=True)  # another CA: a new file version, a new context
    assert trust_context(ca_file) is not first
    assert trust_context(ca_file).cert_store_stats()["x509_ca"] == 2


# --- production safety: writes and rate per target --------------------------------------------------

TWO_TARGETS = """\
schema_version: 1
vendor: twin
title: One vendor, a staging and a production target
sources:
  DOC: {title: Twin docs, url: "https://example.invalid/docs"}
targets:
  - {name: twin, regions: [staging, production]}
rules:
  - id: TWIN-WRITE-001
    title: Writes to staging
    source: {doc: DOC, section: Writes, anchor: writes}
    evidence: documented
    severity: must
    kind: request
    writes: true
    params:
      request: {method: DELETE, path: /items/1, region: staging}
      expect: {status: 200}
  - id: TWIN-WRITE-002
    title: Writes to production
    source: {doc: DOC, section: Writes, anchor: writes}
    evidence: documented
    severity: must
    kind: request
    writes: true
    params:
      request: {method: DELETE, path: /items/1, region: production}
      expect: {status: 200}
  - id: TWIN-SAFE-001
    title: A documented lookup by POST
    source: {doc: DOC, section: Lookups, anchor: lookups}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {method: POST, path: /lookup, json: [a], region: production, safe: {doc: DOC, section: Lookups}}
      expect: {status: 200}
  - id: TWIN-UNSAFE-001
    title: An unmarked POST in a rule that does not say it writes
    source: {doc: DOC, section: Lookups, anchor: lookups}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {method: POST, path: /lookup, json: [a], region: production}
      expect: {status: 200}
"""


@pytest.fixture
def twin(tmp_path: Path) -> Iterator[tuple[Contract, HostileServer, HostileServer]]:
    (tmp_path / "twin.yaml").write_text(TWO_TARGETS, encoding="utf-8")
    contract = load_contract(tmp_path / "twin.yaml")

    def ok(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
        send_json(request, 200, b"{}")

    with hostile_server(ok) as staging, hostile_server(ok) as production:
        yield contract, staging, production


def _twin_config(staging: HostileServer, production: HostileServer, **overrides: object) -> RunConfig:
    targets = {
        "twin:staging": TargetConfig("twin:staging", staging.url, allow_writes=True, rate=UNLIMITED),
        "twin:production": TargetConfig("twin:production", production.url, rate=UNLIMITED),
    }
    config = RunConfig(mode="live", targets=targets)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def test_a_staging_opt_in_never_lets_writes_reach_production(
    twin: tuple[Contract, HostileServer, HostileServer],
) -> None:
    contract, staging, production = twin
    config = _twin_config(staging, production, rule_globs=["TWIN-WRITE-*"])
    outcomes = {o.rule_id: o for o in Engine([contract], config).run().outcomes}
    assert outcomes["TWIN-WRITE-001"].status == Status.PASSED, outcomes["TWIN-WRITE-001"].message
    assert outcomes["TWIN-WRITE-002"].status == Status.SKIPPED
    assert "target twin:production does not allow writes" in outcomes["TWIN-WRITE-002"].message
    assert [seen.method for seen in staging.seen] == ["DELETE"]
    assert production.seen == []


def test_the_transport_refuses_a_write_to_production_whatever_the_rule_says(
    twin: tuple[Contract, HostileServer, HostileServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    contract, staging, production = twin
    monkeypatch.setattr(Engine, "_may_run", lambda self, contract, rule: None)
    config = _twin_config(staging, production, rule_globs=["TWIN-WRITE-002"])
    [outcome] = Engine([contract], config).run().outcomes
    assert outcome.status == Status.ERROR
    assert "target twin:production does not allow writes" in outcome.message
    assert production.seen == []


def test_a_vendor_wide_allow_writes_is_refused_when_the_vendor_has_several_targets(
    twin: tuple[Contract, HostileServer, HostileServer],
) -> None:
    contract, staging, production = twin
    config = _twin_config(staging, production, allow_writes={"twin"})
    with pytest.raises(SetupError, match="twin:production, twin:staging"):
        Engine([contract], config).run()
    assert production.seen == []
    assert staging.seen == []


def test_a_cited_safe_post_reaches_a_read_only_target_and_an_unmarked_post_does_not(
    twin: tuple[Contract, HostileServer, HostileServer],
) -> None:
    contract, staging, production = twin
    config = _twin_config(staging, production, rule_globs=["TWIN-SAFE-001", "TWIN-UNSAFE-001"])
    outcomes = {o.rule_id: o for o in Engine([contract], config).run().outcomes}
    assert outcomes["TWIN-SAFE-001"].status == Status.PASSED, outcomes["TWIN-SAFE-001"].message
    assert outcomes["TWIN-UNSAFE-001"].status == Status.ERROR
    assert "does not allow writes" in outcomes["TWIN-UNSAFE-001"].message
    assert [(seen.method, seen.path) for seen in production.seen] == [("POST", "/lookup")]


def test_a_safe_mark_must_cite_a_contract_source(tmp_path: Path) -> None:
    (tmp_path / "twin.yaml").write_text(TWO_TARGETS.replace("safe: {doc: DOC", "safe: {doc: NOPE"), encoding="utf-8")
    with pytest.raises(ContractError, match=r"safe\.doc 'NOPE' is not in sources"):
        load_contract(tmp_path / "twin.yaml")


def test_a_safe_mark_on_a_delete_is_a_load_error(tmp_path: Path) -> None:
    text = TWO_TARGETS.replace(
        "{method: DELETE, path: /items/1, region: staging}", "{method: DELETE, path: /x, safe: {doc: DOC, section: S}}"
    )
    (tmp_path / "twin.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ContractError, match="`safe` marks a POST"):
        load_contract(tmp_path / "twin.yaml")


def test_each_target_key_has_one_budget_for_the_whole_run(mini_contract: Contract) -> None:
    targets = {
        "a": TargetConfig("a", "https://a.example"),
        "b": TargetConfig("b", "https://b.example", rate=1.0),
    }
    engine = Engine([mini_contract], RunConfig(targets=targets))
    assert engine._budget("a") is engine._budget("a")
    assert engine._budget("a") is not engine._budget("b")
    assert (engine._budget("a").rate, engine._budget("b").rate) == (DEFAULT_LIVE_RATE, 1.0)
    faster = Engine([mini_contract], RunConfig(targets=targets, rate=20.0))
    assert (faster._budget("a").rate, faster._budget("b").rate) == (20.0, 20.0)


def test_the_bundled_servers_run_unthrottled(mini_contract: Contract, mini_running: RunningServer) -> None:
    config = bundled_config(mini_contract, mini_running)
    assert {config.rate_for(key) for key in config.targets} == {UNLIMITED}


def test_replay_sends_nothing_so_allow_writes_resolves_to_no_target(mini_contract: Contract) -> None:
    engine = Engine([mini_contract], RunConfig(mode="replay", allow_writes={"not-a-target"}))
    assert engine.writable_targets() == set()


class _Watcher:
    """A listener that follows the run as it goes."""

    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def started(self, run: object) -> None:
        self.events.append(("started",))

    def rule_started(self, vendor: str, rule_id: str, total: int) -> None:
        self.events.append(("rule", vendor, rule_id, str(total)))

    def request_sent(self, vendor: str, exchange: Exchange) -> None:
        self.events.append(("request", vendor, exchange.method))

    def outcome(self, outcome: Outcome) -> None:
        self.events.append(("outcome", outcome.rule_id, str(len(outcome.exchanges))))

    def finished(self, result: object) -> None:
        self.events.append(("finished",))


def test_a_progress_listener_hears_each_rule_start_and_each_request_as_it_is_sent(
    mini_contract: Contract, mini_running: RunningServer
) -> None:
    watcher = _Watcher()
    config = bundled_config(mini_contract, mini_running, rule_globs=["MINI-AUTH-001", "MINI-ERR-001"])
    Engine([mini_contract], config, [watcher]).run()
    rules = [event for event in watcher.events if event[0] == "rule"]
    assert rules == [("rule", "mini", "MINI-AUTH-001", "2"), ("rule", "mini", "MINI-ERR-001", "2")]
    for rule_id in ("MINI-AUTH-001", "MINI-ERR-001"):
        start = watcher.events.index(next(e for e in rules if e[2] == rule_id))
        end = next(n for n, e in enumerate(watcher.events) if e[:2] == ("outcome", rule_id))
        sent = [e for e in watcher.events[start + 1 : end] if e[0] == "request"]
        assert sent
        assert str(len(sent)) == watcher.events[end][2]  # every request heard before the rule's outcome


def test_a_signed_request_says_how_to_re_sign_it(mini_contract: Contract, mini_running: RunningServer) -> None:
    config = bundled_config(mini_contract, mini_running, rule_globs=["MINI-AUTH-001"])
    [outcome] = Engine([mini_contract], config).run().outcomes
    signed = [x for x in outcome.exchanges if "REDACTED" in x.curl]
    assert signed
    for exchange in signed:
        assert exchange.signing.startswith("signed request: re-sign before sending")
        assert "HMAC-SHA256(<secret_key>" in exchange.signing
        assert exchange.to_dict()["signing"] == exchange.signing
