"""Progress of a long run: a live bar on a terminal, a few plain lines in a CI log (no control codes)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .._outcome import Exchange, Outcome, RunResult

__all__ = ["MatrixProgress", "ProgressReport"]

HEARTBEAT_S = 30.0  # in a log, a line at most this often while a vendor's rules run, so a long run shows life


@dataclass
class _Vendor:
    total: int
    started: float
    done: int = 0
    requests: int = 0
    rule: str = ""
    task: TaskID | None = None


class ProgressReport:
    """Shows which vendor and rule run and how many requests were sent.

    On a terminal: a rich progress bar per vendor. Otherwise (stdout captured, CI logs): one plain line per
    vendor when its rules are done, and a heartbeat line at most every HEARTBEAT_S seconds in between.
    """

    def __init__(
        self, console: Console, heartbeat_s: float = HEARTBEAT_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.console = console
        self.heartbeat_s = heartbeat_s
        self.clock = clock
        self.vendors: dict[str, _Vendor] = {}
        self._bar: Progress | None = None
        self._last_line = clock()

    def started(self, run: Mapping[str, Any]) -> None:
        """Start the live bar on a terminal."""
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("rules · {task.fields[requests]} requests · {task.fields[rule]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._bar.start()
        self._last_line = self.clock()

    def rule_started(self, vendor: str, rule_id: str, total: int) -> None:
        """A rule of `vendor` (one of `total` selected) is about to send its requests."""
        state = self.vendors.get(vendor)
        if state is None:
            state = self.vendors[vendor] = _Vendor(total, self.clock())
            if self._bar is not None:
                state.task = self._bar.add_task(vendor, total=total, requests=0, rule="")
        state.rule = rule_id
        self._update(vendor, state)

    def request_sent(self, vendor: str, exchange: Exchange) -> None:
        """One more request sent by the running rule."""
        state = self.vendors.get(vendor)
        if state is not None:
            state.requests += 1
            self._update(vendor, state)

    def outcome(self, outcome: Outcome) -> None:
        """Advance the vendor's count; in a log, close the vendor with one line."""
        state = self.vendors.get(outcome.vendor)
        if state is None:
            return
        state.done += 1
        if self._bar is not None and state.task is not None:
            self._bar.update(state.task, advance=1, requests=state.requests, rule=outcome.rule_id)
        elif state.done == state.total:
            self._line(
                f"{outcome.vendor}: {state.done}/{state.total} rules, {state.requests} requests, "
                f"{self.clock() - state.started:.1f}s"
            )

    def finished(self, result: RunResult) -> None:
        """Stop the bar, leaving its last state on screen."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def _update(self, vendor: str, state: _Vendor) -> None:
        if self._bar is not None and state.task is not None:
            self._bar.update(state.task, requests=state.requests, rule=state.rule)
        elif self.clock() - self._last_line >= self.heartbeat_s:
            self._line(
                f"{vendor}: {state.done}/{state.total} rules, {state.requests} requests, "
                f"{self.clock() - state.started:.0f}s; running {state.rule}"
            )

    def _line(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)
        self._last_line = self.clock()


class MatrixProgress:
    """Progress of a kill matrix, one engine run per fault: a bar on a terminal, silent otherwise.

    In a log the caller prints one line per vendor when its matrix is done.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._bar: Progress | None = None
        self._tasks: dict[str, tuple[TaskID, int]] = {}

    def __enter__(self) -> MatrixProgress:
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]kill matrix {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("runs · {task.fields[fault]}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def for_vendor(self, vendor: str) -> Callable[[str, int, int], None]:
        """The `on_run` callback of one vendor's matrix: the run named `fault` (index of total) starts."""

        def on_run(fault: str, index: int, total: int) -> None:
            if self._bar is None:
                return
            if vendor not in self._tasks:
                self._tasks[vendor] = (self._bar.add_task(vendor, total=total, fault=fault), total)
            self._bar.update(self._tasks[vendor][0], completed=index, fault=fault)

        return on_run

    def done(self, vendor: str) -> None:
        """Fill the vendor's bar once its last run ended."""
        if self._bar is not None and vendor in self._tasks:
            task, total = self._tasks[vendor]
            self._bar.update(task, completed=total, fault="done")
