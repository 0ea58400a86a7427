"""The terminal report in a log: a line stays one line, whatever rich's 80-column default."""

from __future__ import annotations

import io

from rich.console import Console

from contractgate.reports import TerminalReport


def test_the_opening_line_is_not_wrapped_in_a_narrow_log() -> None:
    log = io.StringIO()
    vendors = ["threatconnect", "assemblyline", "threatjammer", "a-fourth-vendor-with-a-long-name"]
    TerminalReport(Console(file=log, width=40)).started({"mode": "live", "vendors": vendors})
    assert log.getvalue() == f"contractgate: live run of {', '.join(vendors)}\n"
