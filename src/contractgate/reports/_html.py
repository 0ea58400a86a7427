"""report.html and kill-matrix.html: self-contained pages (no scripts, no external files) built from templates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .._outcome import Outcome, RunResult, Status

__all__ = ["HtmlReport", "MatrixView", "render_html", "render_matrix_page"]

_VERDICT = {0: "conformant", 1: "violations found", 2: "could not check everything"}
# What each evidence kind means (docs/contract-format.md, "Provenance"), as a tooltip on the page.
_EVIDENCE_HELP = {
    "documented": "the cited text states what the rule asserts",
    "observed": "not in the documentation; seen in the vendor's own behaviour (code, SDK, issue) cited",
    "inferred": "our reading where the vendor is silent (a contract parameter with a default)",
}
_ORDER = {Status.FAILED: 0, Status.ERROR: 1, Status.SKIPPED: 2, Status.WAIVED: 3, Status.PASSED: 4}


@dataclass(frozen=True)
class MatrixView:
    """One vendor's kill matrix as the page draws it: rules down, faults across."""

    vendor: str
    rules: Sequence[str]
    faults: Sequence[tuple[str, str]]  # (fault, the rule it is aimed at)
    caught: Mapping[str, Sequence[str]]  # fault -> rules that failed against it
    expected: Mapping[str, Sequence[str]] = field(default_factory=dict)  # fault -> rules that must catch it
    levels: Mapping[str, str] = field(default_factory=dict)  # fault -> "form" or "value"

    def split(self, rule: str) -> tuple[int, int, int]:
        """The faults aimed at a rule that break a form, those that change only a value, and those it alone catches."""
        aimed = [name for name, intended in self.faults if intended == rule]
        value = [name for name in aimed if self.levels.get(name) == "value"]
        alone = [name for name in value if list(self.caught.get(name, ())) == [rule]]
        return len(aimed) - len(value), len(value), len(alone)

    def cell(self, rule: str, fault: str, intended: str) -> str:
        """kill (a rule that must catch the fault did), miss (it did not), also (another rule tripped) or ''."""
        hit = rule in self.caught.get(fault, ())
        if rule in self.expected.get(fault, (intended,)):
            return "kill" if hit else "miss"
        return "also" if hit else ""

    def survivors(self) -> list[str]:
        """Faults that got past a rule that must catch them."""
        return [
            name
            for name, intended in self.faults
            if any(self.cell(rule, name, intended) == "miss" for rule in self.rules)
        ]


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("contractgate.reports", "templates"),
    # Vendors' answers, messages and URLs are untrusted text: every value is escaped unless marked safe.
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _vendors(result: RunResult) -> list[dict[str, Any]]:
    grouped: dict[str, list[Outcome]] = {}
    for outcome in result.outcomes:
        grouped.setdefault(outcome.vendor, []).append(outcome)
    return [
        {
            "name": vendor,
            "counts": {str(s): sum(1 for o in outcomes if o.status == s) for s in Status},
            "outcomes": sorted(outcomes, key=lambda o: (_ORDER[o.status], o.rule_id)),
        }
        for vendor, outcomes in grouped.items()
    ]


def _shown_exchanges(outcome: Outcome) -> list[Any]:
    """The requests worth reading: a failure's last three (the one that broke it last), else the first three."""
    return outcome.exchanges[-3:] if outcome.status == Status.FAILED else outcome.exchanges[:3]


def render_html(result: RunResult, matrices: Sequence[MatrixView] = ()) -> str:
    """The whole report page."""
    return _ENV.get_template("report.html.j2").render(
        result=result,
        run=result.run,
        verdict=_VERDICT[result.exit_code],
        summary=result.summary(),
        coverage=result.coverage(),
        statuses=[str(s) for s in Status],
        vendors=_vendors(result),
        targets=dict(result.run.get("targets") or {}),
        shown_exchanges=_shown_exchanges,
        fatal=result.policy.fatal,
        evidence_help=_EVIDENCE_HELP,
        matrices=list(matrices),
    )


def render_matrix_page(matrices: Sequence[MatrixView]) -> str:
    """kill-matrix.html: the matrices alone, styled as in the report."""
    return _ENV.get_template("matrix.html.j2").render(matrices=list(matrices))


class HtmlReport:
    """Writes report.html when the run finishes (and again when a kill matrix is added afterwards)."""

    def __init__(self, path: Path, matrices: Sequence[MatrixView] = ()) -> None:
        self.path = path
        self.matrices = list(matrices)
        self.result: RunResult | None = None

    def started(self, run: Mapping[str, Any]) -> None:
        """Nothing to do before the first outcome."""

    def outcome(self, outcome: Outcome) -> None:
        """Outcomes are written all at once at the end."""

    def finished(self, result: RunResult) -> None:
        """Write the page."""
        self.result = result
        self.write()

    def add_matrices(self, matrices: Sequence[MatrixView]) -> None:
        """Put a kill matrix that ran after the verdict into the page already written."""
        self.matrices.extend(matrices)
        self.write()

    def write(self) -> None:
        """Write the page of the finished run."""
        if self.result is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(render_html(self.result, self.matrices), encoding="utf-8")
