"""The terminal summary: a table per run, failures explained underneath."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Console
from rich.table import Table

from .._outcome import Outcome, RunResult, Status
from ._junit import failure_text

__all__ = ["TerminalReport"]

_STYLE = {
    Status.PASSED: "green",
    Status.FAILED: "bold red",
    Status.SKIPPED: "yellow",
    Status.ERROR: "bold magenta",
}


class TerminalReport:
    """Prints progress and the summary table with rich."""

    def __init__(self, console: Console | None = None, verbose: bool = False) -> None:
        self.console = console or Console(highlight=False)
        self.verbose = verbose

    def started(self, run: Mapping[str, Any]) -> None:
        """Say what is about to run."""
        self.console.print(
            f"contractgate: {run.get('mode')} run of {', '.join(map(str, run.get('vendors', []) or []))}"
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
        for column in ("vendor", "rules", "passed", "failed", "skipped", "error"):
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
            )
        self.console.print(table)
        for outcome in result.outcomes:
            if outcome.status in (Status.FAILED, Status.ERROR):
                self.console.print(f"[{_STYLE[outcome.status]}]{outcome.status.upper()}[/]", end=" ")
                self.console.print(failure_text(outcome), markup=False, soft_wrap=True)
        skipped = [o for o in result.outcomes if o.status == Status.SKIPPED]
        if skipped and self.verbose:
            for outcome in skipped:
                self.console.print(f"[yellow]skipped[/] {outcome.rule_id}: {outcome.message}")


def _cell(count: int, status: Status) -> str:
    return f"[{_STYLE[status]}]{count}[/]" if count and status != Status.PASSED else str(count)
