"""Every report shows the new statuses (waived, not checked), coverage, and the stale waivers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from rich.console import Console

from contractgate._outcome import Outcome, Policy, RunResult, Status
from contractgate.reports import HtmlReport, JsonReport, JunitReport, TerminalReport
from contractgate.reports._diff import RuleChange

STALE = {"rule": "V-OLD-001", "target": "v", "reason": "fixed upstream?", "expires": "2999-01-01", "source": "w.toml"}


def _outcome(rule_id: str, status: Status, severity: str = "must", cause: str = "", message: str = "") -> Outcome:
    title = f"title of {rule_id}"
    return Outcome(rule_id, "v", title, "Docs (D), s", "", severity, "request", status, message=message, cause=cause)


def _result() -> RunResult:
    outcomes = [
        _outcome("V-PASS-001", Status.PASSED),
        _outcome("V-FAIL-001", Status.FAILED, "should", message="wrong total"),
        _outcome("V-WAIVE-001", Status.WAIVED, cause="waiver", message="bad (waived until 2999-01-01: ticket 7)"),
        _outcome("V-EMPTY-001", Status.ERROR, cause="nothing-to-check", message="nothing to check: no items"),
        _outcome("V-SKIP-001", Status.SKIPPED, cause="credentials", message="set CONTRACTGATE_V_KEY"),
    ]
    result = RunResult({"mode": "live", "vendors": ["v"]}, outcomes, Policy(fail_on="must"), [STALE])
    result.missing_env = ["CONTRACTGATE_V_KEY", "CONTRACTGATE_V_OTHER"]
    return result


def test_the_verdict_is_2_when_only_a_below_threshold_violation_and_holes_remain() -> None:
    result = _result()
    assert result.fatal_failures() == []  # a `should` failure under --fail-on must
    assert result.exit_code == 2
    assert result.coverage() == {"checked": 3, "selected": 5}
    assert result.verdict_line() == (
        "NOT VERIFIED: 3/5 rules checked; 2 rule(s) not checked (1 error: nothing-to-check, 1 skipped: credentials); "
        "1 failure(s) waived; 1 stale waiver(s); set CONTRACTGATE_V_KEY CONTRACTGATE_V_OTHER"
    )


def test_terminal_shows_waived_coverage_stale_waivers_and_the_closing_line() -> None:
    console = Console(record=True, width=200)
    report = TerminalReport(console)
    report.finished(_result())
    text = console.export_text()
    assert "waived" in text.splitlines()[2]  # the summary table's header
    assert "3/5" in text
    assert "FAILED (should: reported, below --fail-on must)" in text
    assert "waived V-WAIVE-001: bad (waived until 2999-01-01: ticket 7)" in text
    assert "stale waiver: V-OLD-001 on v matched no failure" in text
    assert text.strip().splitlines()[-1].startswith("NOT VERIFIED: 3/5 rules checked")


def test_json_junit_and_html_carry_the_new_statuses(tmp_path: Path) -> None:
    result = _result()
    for report in (JsonReport(tmp_path / "r.json"), JunitReport(tmp_path / "j.xml"), HtmlReport(tmp_path / "r.html")):
        report.finished(result)
    document = json.loads((tmp_path / "r.json").read_text())
    assert document["summary"]["waived"] == 1
    assert document["verdict"]["coverage"] == {"checked": 3, "selected": 5}
    assert document["verdict"]["not_checked"] == {"V-EMPTY-001": "nothing-to-check", "V-SKIP-001": "credentials"}
    assert document["verdict"]["stale_waivers"] == [STALE]
    assert document["verdict"]["exit_code"] == 2
    suite = ET.parse(tmp_path / "j.xml").getroot()[0]
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "2")
    reported = next(case for case in suite if case.get("name", "").startswith("V-FAIL-001"))
    assert '<property name="gate" value="reported"' in ET.tostring(reported, encoding="unicode")
    waived = next(case for case in suite if case.get("name", "").startswith("V-WAIVE-001"))
    assert waived.find("skipped") is not None
    assert waived.find("skipped").get("message", "").startswith("waived: ")  # type: ignore[union-attr]
    page = (tmp_path / "r.html").read_text()
    assert "b-waived" in page
    assert "3/5</b>checked" in page
    assert "Stale waivers" in page
    assert "could not check everything" in page


def test_a_rule_that_passed_and_is_no_longer_proven_is_a_regression() -> None:
    for after in ("skipped", "error", "waived", "absent", "failed"):
        assert RuleChange("R", "v", "passed", after, "").regression, after
    assert RuleChange("R", "v", "passed", "skipped", "").label == "UNPROVEN"
    assert RuleChange("R", "v", "passed", "absent", "").label == "LOST"
    assert not RuleChange("R", "v", "skipped", "passed", "").regression
    assert not RuleChange("R", "v", "error", "skipped", "").regression
