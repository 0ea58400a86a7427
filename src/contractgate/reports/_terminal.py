"""The terminal summary: a table per run, failures explained underneath."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from .._outcome import Outcome, RunResult, Status
from ._junit import failure_text

__all__ = ["TerminalReport", "print_verdict"]

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.SKIPPED: "yellow",
    Status.ERROR: "bold magenta",
    Status.WAIVED: "dim",
}


class TerminalReport:
    """Prints progress and the summary table with rich."""

    def __init__(self, console: Console | None = None, verbose: bool = False, closing: bool = True) -> None:
        self.console = console or Console(highlight=False)
        self.verbose = verbose
        self.closing = closing

    def started(self, run: Mapping[str, Any]) -> None:
        """Say what is about to run."""
        self.console.print(
            f"contractgate: {run.get('mode')} run of {', '.join(map(str, run.get('vendors', []) or []))}",
            soft_wrap=True,
        )

    def outcome(self, outcome: Outcome) -> None:
        """One line per rule in verbose mode."""
        if self.verbose:
            style = _STYLE[outcome.status]
            self.console.print(f"  [{style}]{outcome.status:7}[/] {outcome.rule_id} {outcome.title}")
            cited = f"{outcome.source_url} ({outcome.evidence})" if outcome.evidence else outcome.source_url
            self.console.print(f"           source: {cited}", markup=False, soft_wrap=True)

    def finished(self, result: RunResult) -> None:
        """The table, then every failure and error in full."""
        table = Table(title="contractgate summary")
        for column in ("vendor", "rules", *(str(s) for s in Status), "checked"):
            table.add_column(column, justify="right" if column != "vendor" else "left")
        vendors: dict[str, list[Outcome]] = {}
        for outcome in result.outcomes:
            vendors.setdefault(outcome.vendor, []).append(outcome)
        for vendor, outcomes in vendors.items():
            counts = [sum(1 for o in outcomes if o.status == s) for s in Status]
            table.add_row(
                vendor,
                str(len(outcomes)),
                *(_cell(n, s) for n, s in zip(counts, Status, strict=True)),
                f"{sum(1 for o in outcomes if o.checked)}/{len(outcomes)}",
            )
        self.console.print(table)
        for outcome in result.outcomes:
            if outcome.status in (Status.FAILED, Status.ERROR):
                label = outcome.status.upper()
                if outcome.status == Status.FAILED and not result.policy.fatal(outcome.severity):
                    label += f" ({outcome.severity}: reported, below --fail-on {result.policy.fail_on})"
                self.console.print(f"[{_STYLE[outcome.status]}]{label}[/]", end=" ")
                self.console.print(failure_text(outcome), markup=False, soft_wrap=True)
        for outcome in result.outcomes:
            if outcome.status == Status.WAIVED or (outcome.status == Status.SKIPPED and self.verbose):
                self.console.print(f"[{_STYLE[outcome.status]}]{outcome.status}[/] {outcome.rule_id}: ", end="")
                self.console.print(outcome.message, markup=False, soft_wrap=True)
        for waiver in result.stale_waivers:
            self.console.print(
                f"stale waiver: {waiver['rule']} on {waiver['target']} matched no failure "
                f"({waiver['source']}; expires {waiver['expires']})",
                markup=False,
            )
        if self.closing:
            print_verdict(self.console, result)


def print_verdict(console: Console, result: RunResult) -> None:
    """The run's closing line: verdict, coverage, what was not checked, the variables to set."""
    style = {0: "bold green", 1: "bold red"}.get(result.exit_code, "bold magenta")
    console.print(result.verdict_line(), style=style, markup=False, soft_wrap=True)


def _cell(count: int, status: Status) -> str:
    return f"[{_STYLE[status]}]{count}[/]" if count and status != Status.PASSED else str(count)
