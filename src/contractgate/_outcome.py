"""Results of running rules: one exchange per request, one outcome per rule, one run summary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exchange", "Outcome", "RunResult", "Status"]


class Status(enum.StrEnum):
    """How a rule ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass
class Exchange:
    """One request and its response as the report shows them (secrets already masked)."""

    method: str
    url: str
    curl: str
    status: int | None
    elapsed_ms: float
    response_headers: dict[str, str] = field(default_factory=dict)
    response_excerpt: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in results.json."""
        return {
            "method": self.method,
            "url": self.url,
            "curl": self.curl,
            "status": self.status,
            "elapsed_ms": round(self.elapsed_ms, 2),
            "response_headers": self.response_headers,
            "response_excerpt": self.response_excerpt,
        }


@dataclass
class Outcome:
    """What one rule did against one target: status, why, and the requests it sent."""

    rule_id: str
    vendor: str
    title: str
    source: str
    source_url: str
    severity: str
    kind: str
    status: Status
    evidence: str = ""
    message: str = ""
    expected: str = ""
    got: str = ""
    where: str = ""
    duration_s: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used in results.json (DESIGN.md's `rules[]` entry)."""
        return {
            "id": self.rule_id,
            "vendor": self.vendor,
            "title": self.title,
            "source": self.source,
            "source_url": self.source_url,
            "evidence": self.evidence,
            "severity": self.severity,
            "kind": self.kind,
            "status": str(self.status),
            "message": self.message,
            "expected": self.expected,
            "got": self.got,
            "where": self.where,
            "duration_s": round(self.duration_s, 3),
            "requests": [exchange.to_dict() for exchange in self.exchanges],
        }


@dataclass
class RunResult:
    """Every outcome of one run plus what the run was."""

    run: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """Counts per status, every status present."""
        counts = {str(status): 0 for status in Status}
        for outcome in self.outcomes:
            counts[str(outcome.status)] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0 conformant, 1 violations, 2 nothing could run or an error stopped a rule."""
        summary = self.summary()
        if summary["failed"]:
            return 1
        if summary["error"] or not summary["passed"]:
            return 2
        return 0

    def to_dict(self) -> dict[str, Any]:
        """The results.json document."""
        return {
            "run": self.run,
            "rules": [outcome.to_dict() for outcome in self.outcomes],
            "summary": self.summary(),
        }
