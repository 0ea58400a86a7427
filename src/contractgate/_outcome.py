"""Results of running rules: one exchange per request, one outcome per rule, one run summary."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = ["SEVERITIES", "Exchange", "Outcome", "Policy", "RunResult", "Status"]

# Lowest first: `--fail-on should` makes must and should failures fatal, may failures only reported.
SEVERITIES = ("may", "should", "must")


class Status(enum.StrEnum):
    """How a rule ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"
    WAIVED = "waived"


# Skip causes that are legitimate by design: the rule cannot run in this mode (e.g. live-only in replay), or the
# profile the user chose does not run it (smoke leaves out what only the nightly full run checks). Both are still
# reported as not checked (coverage, verdict line), never as a pass.
BY_DESIGN = frozenset({"mode", "profile"})


@dataclass
class Policy:
    """What makes the gate fail: the lowest fatal severity, and whether a partial run is accepted."""

    fail_on: str = "should"
    allow_skips: bool = False

    def fatal(self, severity: str) -> bool:
        """Whether a violation of a rule of this severity fails the gate."""
        rank = {name: n for n, name in enumerate(SEVERITIES)}
        return rank.get(severity, len(SEVERITIES)) >= rank[self.fail_on]


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
    # For a signed request: which headers the auth scheme computes and how, since the curl line masks them.
    signing: str = ""

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
            "signing": self.signing,
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
    # Why a rule was skipped or errored: skips "mode", "credentials", "target", "writes", "request-budget"
    # (left out to fit --budget: "not run: budget"), "profile" (the chosen --profile does not run it), "other";
    # errors "setup", "nothing-to-check", "rate-limited", "crash"; waived rules "waiver".
    cause: str = ""
    # For a skip: what would let the rule run (environment variables, --target options).
    needs: list[str] = field(default_factory=list)

    @property
    def checked(self) -> bool:
        """Whether the rule ran to a verdict on the target (passed, failed, or failed and waived)."""
        return self.status in (Status.PASSED, Status.FAILED, Status.WAIVED)

    @property
    def by_design(self) -> bool:
        """A skip that is part of the design (mode), not a hole in the run's coverage."""
        return self.status == Status.SKIPPED and self.cause in BY_DESIGN

    @property
    def covered(self) -> list[str]:
        """The distinct operations (method and path) the rule exercised: the scope it sampled, for a report reader."""
        return sorted({f"{exchange.method} {urlsplit(exchange.url).path or '/'}" for exchange in self.exchanges})

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
            "cause": self.cause,
            "needs": list(self.needs),
            "covered": self.covered,
            "requests": [exchange.to_dict() for exchange in self.exchanges],
        }


@dataclass
class RunResult:
    """Every outcome of one run plus what the run was, judged by a policy."""

    run: dict[str, Any]
    outcomes: list[Outcome] = field(default_factory=list)
    policy: Policy = field(default_factory=Policy)
    # Waivers that matched no failure (they may be obsolete): one dict per waiver, for the reports.
    stale_waivers: list[dict[str, str]] = field(default_factory=list)
    # Environment variables that, once set, let the rules skipped for credentials run.
    missing_env: list[str] = field(default_factory=list)
    # Per vendor: requests planned and sent, the request budget, rules run and selected (the engine fills it).
    costs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        """Counts per status, every status present."""
        counts = {str(status): 0 for status in Status}
        for outcome in self.outcomes:
            counts[str(outcome.status)] += 1
        return counts

    def fatal_failures(self) -> list[Outcome]:
        """Vendor violations that fail the gate (not waived, severity at or above --fail-on)."""
        return [o for o in self.outcomes if o.status == Status.FAILED and self.policy.fatal(o.severity)]

    def not_checked(self) -> list[Outcome]:
        """Selected rules that reached no verdict (errors and skips), by-design skips included."""
        return [o for o in self.outcomes if not o.checked]

    def holes(self) -> list[Outcome]:
        """Rules whose lack of a verdict fails the gate: every error; every skip not by design unless allowed."""
        return [
            o
            for o in self.outcomes
            if o.status == Status.ERROR
            or (o.status == Status.SKIPPED and not o.by_design and not self.policy.allow_skips)
        ]

    def coverage(self) -> dict[str, int]:
        """How many selected rules reached a verdict."""
        return {"checked": sum(1 for o in self.outcomes if o.checked), "selected": len(self.outcomes)}

    @property
    def exit_code(self) -> int:
        """1 a fatal vendor violation; else 2 when a selected rule was not checked (or none was); else 0."""
        if self.fatal_failures():
            return 1
        if self.holes() or not self.coverage()["checked"]:
            return 2
        return 0

    def verdict_line(self) -> str:
        """The run's closing line: the verdict, coverage, what was not checked and what to set to check it."""
        coverage = self.coverage()
        checked = f"{coverage['checked']}/{coverage['selected']} rules checked"
        fatal, missing = len(self.fatal_failures()), self.not_checked()
        words = {0: "conformant", 1: "NOT conformant", 2: "NOT VERIFIED"}
        word = words[self.exit_code]
        if self.exit_code == 0 and any(not o.by_design for o in missing):
            word += " (partial, skips allowed)"
        parts = [f"{word}: {checked}"]
        if fatal:
            parts.append(f"{fatal} violation(s) fail the gate (--fail-on {self.policy.fail_on})")
        if missing:
            parts.append(f"{len(missing)} rule(s) not checked ({_causes(missing)})")
        waived = self.summary()[str(Status.WAIVED)]
        if waived:
            parts.append(f"{waived} failure(s) waived")
        if self.stale_waivers:
            parts.append(f"{len(self.stale_waivers)} stale waiver(s)")
        if self.missing_env:
            parts.append("set " + " ".join(self.missing_env))
        if self.costs:
            parts.append("cost: " + ", ".join(_cost_text(vendor, cost) for vendor, cost in self.costs.items()))
        targets = sorted({need for o in missing for need in o.needs if need.startswith("--target")})
        if targets:
            parts.append("pass " + " ".join(targets))
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The results.json document."""
        return {
            "run": self.run,
            "rules": [outcome.to_dict() for outcome in self.outcomes],
            "summary": self.summary(),
            "verdict": {
                "exit_code": self.exit_code,
                "line": self.verdict_line(),
                "fail_on": self.policy.fail_on,
                "allow_skips": self.policy.allow_skips,
                "coverage": self.coverage(),
                "not_checked": {o.rule_id: o.cause or str(o.status) for o in self.not_checked()},
                "missing_env": list(self.missing_env),
                "stale_waivers": list(self.stale_waivers),
                "cost": {vendor: dict(cost) for vendor, cost in self.costs.items()},
            },
        }


def _cost_text(vendor: str, cost: dict[str, Any]) -> str:
    """`vendor 12/15 rules run, 48 requests sent / budget 60 (smoke)`: coverage and cost of one vendor."""
    budget = f" / budget {cost['budget']}" if cost.get("budget") is not None else f" (planned {cost.get('planned')})"
    return (
        f"{vendor} {cost.get('run')}/{cost.get('selected')} rules run, {cost.get('sent')} requests sent{budget}"
        f" ({cost.get('profile')})"
    )


def _causes(outcomes: list[Outcome]) -> str:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        label = f"{outcome.status}: {outcome.cause}" if outcome.cause else str(outcome.status)
        counts[label] = counts.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in sorted(counts.items()))
