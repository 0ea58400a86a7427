"""Progress: a live bar on a terminal; in a log, one line per vendor and a heartbeat, never control codes."""

from __future__ import annotations

import io
import re

from rich.console import Console

from contractgate._outcome import Exchange, Outcome, RunResult, Status
from contractgate.reports import MatrixProgress, ProgressReport

EXCHANGE = Exchange("GET", "http://v.example/x", "curl -X GET http://v.example/x", 200, 1.0)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _outcome(rule_id: str) -> Outcome:
    return Outcome(rule_id, "v", "t", "s", "", "must", "request", Status.PASSED, exchanges=[EXCHANGE])


def _drive(report: ProgressReport, clock: _Clock, seconds_per_request: float) -> None:
    report.started({"mode": "live", "vendors": ["v"]})
    for rule_id in ("V-1", "V-2", "V-3"):
        report.rule_started("v", rule_id, 3)
        for _ in range(4):
            clock.now += seconds_per_request
            report.request_sent("v", EXCHANGE)
        report.outcome(_outcome(rule_id))
    report.finished(RunResult({"mode": "live"}, [_outcome("V-1")]))


def test_in_a_log_a_vendor_is_one_plain_line() -> None:
    log = io.StringIO()
    clock = _Clock()
    _drive(ProgressReport(Console(file=log, width=80), clock=clock), clock, 0.1)
    assert log.getvalue().splitlines() == ["v: 3/3 rules, 12 requests, 1.2s"]


def test_in_a_log_a_long_run_shows_a_heartbeat_line_at_most_every_interval() -> None:
    log = io.StringIO()
    clock = _Clock()
    _drive(ProgressReport(Console(file=log, width=80), heartbeat_s=30, clock=clock), clock, 4.0)  # 48 s in all
    lines = log.getvalue().splitlines()
    assert lines == ["v: 1/3 rules, 8 requests, 32s; running V-2", "v: 3/3 rules, 12 requests, 48.0s"]
    assert "\x1b" not in log.getvalue()


def test_on_a_terminal_a_live_bar_counts_rules_and_requests() -> None:
    screen = io.StringIO()
    clock = _Clock()
    _drive(ProgressReport(Console(file=screen, force_terminal=True, width=120), clock=clock), clock, 0.1)
    shown = screen.getvalue()
    assert "\x1b[" in shown
    assert "3/3 rules · 12 requests · V-3" in _plain(shown)
    assert "v: 3/3 rules, 12 requests" not in shown


def test_the_kill_matrix_bar_shows_only_on_a_terminal() -> None:
    for terminal in (False, True):
        out = io.StringIO()
        with MatrixProgress(Console(file=out, force_terminal=terminal, width=120)) as progress:
            on_run = progress.for_vendor("v")
            for index, fault in enumerate(["clean", "f-1", "f-2"]):
                on_run(fault, index, 3)
            progress.done("v")
        assert ("kill matrix v" in out.getvalue()) is terminal
        if terminal:
            assert "3/3 runs · done" in _plain(out.getvalue())


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
