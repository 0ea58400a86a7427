"""results.json: the machine-readable result of one run."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._outcome import Outcome, RunResult

__all__ = ["JsonReport", "load_results"]


class JsonReport:
    """Writes results.json when the run finishes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def started(self, run: Mapping[str, Any]) -> None:
        """Nothing to do before the first outcome."""

    def outcome(self, outcome: Outcome) -> None:
        """Outcomes are written all at once at the end."""

    def finished(self, result: RunResult) -> None:
        """Write the document."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")


def load_results(path: Path) -> dict[str, Any]:
    """Read a results.json written by an earlier run."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document
