"""The gate's verdict: skips, severities, waivers and diffs say exactly what was proven (exit 0 / 1 / 2)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from contractgate._config import RunConfig, TargetConfig
from contractgate._errors import RateLimited
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine, _RateLimitGuard
from contractgate.cli import main
from contractgate.servers import RunningServer, serve_in_thread
from tests.fixtures.mini_server import MiniServer
from tests.hostile._server import hostile_server, send_json

FIXTURES = Path(__file__).parent / "fixtures"

# A rule that needs a credential nobody set (its variable must be named in the closing line).
EXTRA_CREDENTIAL_RULE = """
  - id: MINI-EXTRA-001
    title: A rule that needs a second key
    source: {doc: DOC, section: Auth, anchor: x}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {path: /items, auth: extra}
      expect: {status: 200}
"""
LIVE_ONLY_IN_REPLAY_RULE = """
  - id: MINI-REPLAY-001
    title: A rule that runs only in replay
    source: {doc: DOC, section: Auth, anchor: x}
    evidence: documented
    severity: must
    kind: request
    modes: [replay]
    params:
      request: {path: /items}
      expect: {status: 200}
"""


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(FIXTURES / "mini.yaml", folder / "mini.yaml")
    return folder


def _add_rules(contracts: Path, text: str) -> None:
    path = contracts / "mini.yaml"
    source = path.read_text()
    source = source.replace(
        "credentials:\n",
        "credentials:\n  extra_key: {env: EXTRA_KEY}\n  other_key: {env: OTHER_KEY}\n",
        1,
    ).replace("auth:\n  hmac:\n", 'auth:\n  extra: {type: header, headers: {X-Key: "{extra_key}"}}\n  hmac:\n', 1)
    path.write_text(source.rstrip("\n") + "\n" + text)


@pytest.fixture
def mini(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    server = MiniServer()
    with serve_in_thread(server) as running:
        for name, value in server.credentials.items():
            monkeypatch.setenv(f"CONTRACTGATE_MINI_{name}", value)
        monkeypatch.delenv("CONTRACTGATE_MINI_EXTRA_KEY", raising=False)
        monkeypatch.delenv("CONTRACTGATE_MINI_OTHER_KEY", raising=False)
        yield running


def _run(contracts: Path, tmp_path: Path, mini: RunningServer, *extra: str) -> int:
    reports = tmp_path / "reports"
    shutil.rmtree(reports, ignore_errors=True)
    (tmp_path / "none.toml").touch()  # an empty config: nothing from the working directory leaks in
    return main(
        [
            "--contracts",
            str(contracts),
            "run",
            "--target",
            f"mini={mini.urls['mini']}",
            "--reports",
            str(reports),
            "--config",
            str(tmp_path / "none.toml"),
            "--rate",
            "1000",  # loopback: the default live rate would only slow the test
            *extra,
        ]
    )


def _results(tmp_path: Path) -> dict[str, Any]:
    [folder] = [folder for folder in (tmp_path / "reports").iterdir() if folder.name != "latest"]
    document: dict[str, Any] = json.loads((folder / "results.json").read_text())
    return document


def _last_line(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


# --- 1. skips ------------------------------------------------------------------------------


def test_a_rule_skipped_for_a_missing_credential_makes_the_run_exit_2(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_rules(contracts, EXTRA_CREDENTIAL_RULE)
    assert _run(contracts, tmp_path, mini) == 2
    line = _last_line(capsys)
    assert line.startswith("NOT VERIFIED: 6/7 rules checked")
    # every declared variable still unset, not only the first one a rule tripped on
    assert "set CONTRACTGATE_MINI_EXTRA_KEY CONTRACTGATE_MINI_OTHER_KEY" in line
    verdict = _results(tmp_path)["verdict"]
    assert verdict["coverage"] == {"checked": 6, "selected": 7}
    assert verdict["not_checked"] == {"MINI-EXTRA-001": "credentials"}
    rule = next(r for r in _results(tmp_path)["rules"] if r["id"] == "MINI-EXTRA-001")
    assert rule["needs"] == ["CONTRACTGATE_MINI_EXTRA_KEY"]
    assert verdict["exit_code"] == 2


def test_allow_skips_accepts_a_partial_run_and_still_counts_it(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_rules(contracts, EXTRA_CREDENTIAL_RULE)
    assert _run(contracts, tmp_path, mini, "--allow-skips") == 0
    line = _last_line(capsys)
    assert line.startswith("conformant (partial, skips allowed): 6/7 rules checked")
    assert "1 rule(s) not checked (1 skipped: credentials)" in line


def test_allow_skips_can_be_set_in_the_config_file(contracts: Path, mini: RunningServer, tmp_path: Path) -> None:
    _add_rules(contracts, EXTRA_CREDENTIAL_RULE)
    config = tmp_path / "contractgate.toml"
    config.write_text("allow_skips = true\n")
    assert _run(contracts, tmp_path, mini, "--config", str(config)) == 0
    config.write_text('allow_skips = "yes"\n')
    assert _run(contracts, tmp_path, mini, "--config", str(config)) == 2


def test_a_rule_that_cannot_run_in_this_mode_is_not_a_hole(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_rules(contracts, LIVE_ONLY_IN_REPLAY_RULE)
    assert _run(contracts, tmp_path, mini) == 0
    assert "6/7 rules checked" in _last_line(capsys)
    assert _results(tmp_path)["verdict"]["not_checked"] == {"MINI-REPLAY-001": "mode"}


def test_violations_are_the_headline_but_unchecked_rules_are_still_counted(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _add_rules(contracts, EXTRA_CREDENTIAL_RULE)
    mini.server.switch.set(["error-no-title"])
    assert _run(contracts, tmp_path, mini) == 1
    line = _last_line(capsys)
    assert line.startswith("NOT conformant: 6/7 rules checked")
    assert "1 violation(s) fail the gate" in line
    assert "1 rule(s) not checked" in line


# --- 5. --fail-on ----------------------------------------------------------------------------


def test_fail_on_sets_the_lowest_fatal_severity(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mini.server.switch.set(["no-total"])  # breaks MINI-PAGE-002, a `should` rule
    assert _run(contracts, tmp_path, mini) == 1
    assert _run(contracts, tmp_path, mini, "--fail-on", "must") == 0
    out = capsys.readouterr().out
    assert "FAILED (should: reported, below --fail-on must)" in out
    assert _results(tmp_path)["summary"]["failed"] == 1


def test_may_rules_are_reported_but_never_fatal_by_default(
    contracts: Path, mini: RunningServer, tmp_path: Path
) -> None:
    path = contracts / "mini.yaml"
    text = path.read_text()
    page2 = text.index("id: MINI-PAGE-002")
    path.write_text(text[:page2] + text[page2:].replace("severity: should", "severity: may", 1))
    mini.server.switch.set(["no-total"])
    assert _run(contracts, tmp_path, mini) == 0
    assert _run(contracts, tmp_path, mini, "--fail-on", "may") == 1


# --- 6. waivers ------------------------------------------------------------------------------


def _waivers(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "waivers.toml"
    path.write_text(body)
    return path


def test_a_waived_failure_does_not_fail_the_gate(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mini.server.switch.set(["error-no-title"])
    waivers = _waivers(
        tmp_path,
        '[[waivers]]\nrule = "MINI-ERR-*"\ntarget = "mini"\nreason = "vendor ticket 42"\nexpires = 2999-01-01\n',
    )
    assert _run(contracts, tmp_path, mini, "--waivers", str(waivers)) == 0
    rule = next(r for r in _results(tmp_path)["rules"] if r["id"] == "MINI-ERR-001")
    assert rule["status"] == "waived"
    assert "vendor ticket 42" in rule["message"]
    assert "1 failure(s) waived" in _last_line(capsys)


def test_an_expired_waiver_fails_and_says_when_it_expired(contracts: Path, mini: RunningServer, tmp_path: Path) -> None:
    mini.server.switch.set(["error-no-title"])
    waivers = _waivers(
        tmp_path, '[[waivers]]\nrule = "MINI-ERR-001"\ntarget = "mini"\nreason = "r"\nexpires = 2020-01-31\n'
    )
    assert _run(contracts, tmp_path, mini, "--waivers", str(waivers)) == 1
    rule = next(r for r in _results(tmp_path)["rules"] if r["id"] == "MINI-ERR-001")
    assert rule["status"] == "failed"
    assert "expired on 2020-01-31" in rule["message"]


def test_a_waiver_in_the_config_file_that_matches_nothing_is_reported_stale(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "contractgate.toml"
    config.write_text(
        '[[waivers]]\nrule = "MINI-ERR-001"\ntarget = "mini"\nreason = "fixed?"\nexpires = 2999-01-01\n'
        '[[waivers]]\nrule = "MINI-AUTH-*"\ntarget = "other"\nreason = "wrong target"\nexpires = 2999-01-01\n'
    )
    assert _run(contracts, tmp_path, mini, "--config", str(config)) == 0
    stale = _results(tmp_path)["verdict"]["stale_waivers"]
    assert [(w["rule"], w["target"]) for w in stale] == [("MINI-ERR-001", "mini"), ("MINI-AUTH-*", "other")]
    assert "stale waiver: MINI-ERR-001 on mini matched no failure" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('[[waivers]]\nrule = "X"\ntarget = "mini"\nreason = "r"\nexpires = "soon"\n', "waivers[0].expires"),
        ('[[waivers]]\nrule = "X"\ntarget = "mini"\nexpires = 2999-01-01\n', "waivers[0].reason"),
        ('[[waivers]]\nrule = "X"\ntarget = "m"\nreason = "r"\nexpires = 2999-01-01\nowner = "me"\n', "waivers[0]"),
        ("waivers = 3\n", "waivers"),
        ("[[waivers\n", "not valid TOML"),
    ],
)
def test_a_bad_waiver_is_exit_2_naming_file_and_key(
    contracts: Path,
    mini: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    body: str,
    named: str,
) -> None:
    waivers = _waivers(tmp_path, body)
    assert _run(contracts, tmp_path, mini, "--waivers", str(waivers)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert str(waivers) in err[0]
    assert named in err[0]


# --- 7. diff ---------------------------------------------------------------------------------


def _results_file(path: Path, statuses: dict[str, str]) -> Path:
    rules = [{"id": rule, "vendor": "mini", "status": status, "message": ""} for rule, status in statuses.items()]
    path.write_text(json.dumps({"run": {}, "rules": rules, "summary": {}}))
    return path


@pytest.mark.parametrize("after", ["skipped", "error", "waived", "absent"])
def test_diff_counts_passed_to_not_proven_as_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], after: str
) -> None:
    before = _results_file(tmp_path / "a.json", {"MINI-A-001": "passed", "MINI-B-001": "passed"})
    now = {"MINI-B-001": "passed"} | ({} if after == "absent" else {"MINI-A-001": after})
    assert main(["diff", str(before), str(_results_file(tmp_path / "b.json", now))]) == 1
    assert f"mini MINI-A-001: passed -> {after}" in capsys.readouterr().out


def test_diff_skipped_to_passed_is_not_a_regression(tmp_path: Path) -> None:
    before = _results_file(tmp_path / "a.json", {"MINI-A-001": "skipped"})
    after = _results_file(tmp_path / "b.json", {"MINI-A-001": "passed"})
    assert main(["diff", str(before), str(after)]) == 0


# --- 4. rate limited / quota exhausted -----------------------------------------------------------

QUOTA_CONTRACT = """schema_version: 1
vendor: quotaed
title: A vendor that signals its quota with 503
sources:
  DOC: {title: Docs, url: "https://example.invalid/docs"}
targets:
  - name: quotaed
defaults:
  target: quotaed
  auth: none
  rate_limited:
    - {status: 429}
    - {status: 503, json: [{path: message, matches: "^You've exceeded your .*quota"}]}
rules:
  - id: QUOTAED-READ-001
    title: A read answers 200
    source: {doc: DOC, section: s, anchor: x}
    evidence: documented
    severity: must
    kind: request
    params: {request: {path: /read}, expect: {status: 200}}
  - id: QUOTAED-QUOTA-001
    title: Past the quota, a read gets the documented 503
    source: {doc: DOC, section: s, anchor: x}
    evidence: documented
    severity: must
    kind: request
    params:
      request: {path: /read, retry_on_429: false}
      expect: {status: 503, json: [{path: message, startswith: "You've exceeded"}]}
  - id: QUOTAED-QUOTA-002
    title: Two reads are accepted, then the third is refused
    source: {doc: DOC, section: s, anchor: x}
    evidence: documented
    severity: must
    kind: quota
    params: {limit: 2, request: {path: /read}, expect: {status: 503}}
"""


def _quota_run(tmp_path: Path, status: int, message: str) -> tuple[dict[str, Any], int, int]:
    path = tmp_path / "quotaed.yaml"
    path.write_text(QUOTA_CONTRACT)

    def answer(request: Any, seen: Any) -> None:
        send_json(request, status, json.dumps({"message": message}).encode())

    with hostile_server(answer) as server:
        config = RunConfig(mode="live", targets={"quotaed": TargetConfig("quotaed", server.url)})
        result = Engine([load_contract(path)], config).run()
        sent = len(server.seen)
    return {o.rule_id: o for o in result.outcomes}, result.exit_code, sent


def test_a_declared_quota_answer_is_could_not_check_not_a_violation(tmp_path: Path) -> None:
    outcomes, code, _ = _quota_run(tmp_path, 503, "You've exceeded your maximum concurrent API calls quota of 10")
    read = outcomes["QUOTAED-READ-001"]
    assert (read.status, read.cause) == (Status.ERROR, "rate-limited")
    assert read.message == "could not check: rate-limited (GET /read answered 503)"
    # the rules whose purpose is the quota answer still judge it
    assert outcomes["QUOTAED-QUOTA-001"].status == Status.PASSED
    assert outcomes["QUOTAED-QUOTA-002"].status == Status.FAILED
    assert "refused before the quota was spent" in outcomes["QUOTAED-QUOTA-002"].message
    assert code == 1


def test_an_undeclared_503_is_still_a_violation(tmp_path: Path) -> None:
    outcomes, _, _ = _quota_run(tmp_path, 503, "Service down for maintenance")
    assert outcomes["QUOTAED-READ-001"].status == Status.FAILED


def test_a_429_after_the_retries_is_could_not_check(tmp_path: Path) -> None:
    outcomes, code, sent = _quota_run(tmp_path, 429, "slow down")
    assert outcomes["QUOTAED-READ-001"].status == Status.ERROR
    assert outcomes["QUOTAED-READ-001"].message.startswith("could not check: rate-limited")
    assert sent < 10
    assert code == 1  # QUOTAED-QUOTA-002 is a violation: refused before its quota was spent


def test_after_a_rate_limited_answer_the_rule_sends_nothing_more(tmp_path: Path) -> None:
    """Hypothesis would shrink after the error and send again: the guard refuses without sending."""
    path = tmp_path / "quotaed.yaml"
    path.write_text(QUOTA_CONTRACT)
    sent: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(429, json={})

    with httpx.Client(transport=_RateLimitGuard(httpx.MockTransport(answer), load_contract(path))) as client:
        for _ in range(3):
            with pytest.raises(RateLimited, match="could not check: rate-limited"):
                client.get("http://quotaed.invalid/read")
    assert sent == ["/read"]
