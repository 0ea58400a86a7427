"""junit.xml: one test case per rule, named by the rule id alone; everything else is a property."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._outcome import Outcome, RunResult, Status

__all__ = ["JunitReport", "failure_text", "junit_properties", "xml_text"]

# Characters XML 1.0 cannot carry, not even escaped: a vendor's answer may hold them (NUL, ESC, ...).
_NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text an XML 1.0 document can hold: each forbidden character shown as #xNN, as pytest's junitxml does."""
    return _NOT_XML.sub(lambda match: f"#x{ord(match.group()):02X}", str(value))


def junit_properties(outcome: Outcome, fatal: bool = True) -> list[tuple[str, str]]:
    """The properties of a rule's test case, the same for `contractgate run` and the pytest plugin.

    The test case is named by the rule id alone so CI history survives a title edit; the title is here.
    """
    return [
        ("rule_id", outcome.rule_id),
        ("vendor", outcome.vendor),
        ("title", outcome.title),
        ("severity", outcome.severity),
        ("kind", outcome.kind),
        ("evidence", outcome.evidence),
        ("source", outcome.source),
        ("source_url", outcome.source_url),
        ("requests", str(len(outcome.exchanges))),
        ("gate", "fatal" if fatal else "reported"),
    ]


def failure_text(outcome: Outcome) -> str:
    """The full explanation of a failed or errored rule, as printed everywhere."""
    lines = [
        f"{outcome.rule_id} {outcome.title}",
        f"source: {outcome.source} {outcome.source_url}".rstrip() + _evidence(outcome),
    ]
    if outcome.message:
        lines.append(outcome.message)
    for label, value in (
        ("where", outcome.where),
        ("expected", outcome.expected),
        ("got", outcome.got),
    ):
        if value:
            lines.append(f"  {label + ':':10}{value}")
    if outcome.exchanges:
        last = outcome.exchanges[-1]
        lines.append(f"request: {last.curl}")
        lines.append(f"response: {last.status}")
    return "\n".join(lines)


class JunitReport:
    """Writes junit.xml for CI systems."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def started(self, run: Mapping[str, Any]) -> None:
        """Nothing to do before the first outcome."""

    def outcome(self, outcome: Outcome) -> None:
        """Outcomes are written all at once at the end."""

    def finished(self, result: RunResult) -> None:
        """Write one <testsuite> per vendor."""
        root = ET.Element("testsuites", name="contractgate")
        vendors: dict[str, list[Outcome]] = {}
        for outcome in result.outcomes:
            vendors.setdefault(outcome.vendor, []).append(outcome)
        for vendor, outcomes in vendors.items():
            suite = ET.SubElement(root, "testsuite", name=f"contractgate.{vendor}", tests=str(len(outcomes)))
            counts = {s: sum(1 for o in outcomes if o.status == s) for s in Status}
            suite.set("failures", str(counts[Status.FAILED]))
            suite.set("errors", str(counts[Status.ERROR]))
            suite.set("skipped", str(counts[Status.SKIPPED] + counts[Status.WAIVED]))
            suite.set("time", f"{sum(o.duration_s for o in outcomes):.3f}")
            for outcome in outcomes:
                _case(suite, outcome, result.policy.fatal(outcome.severity))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ET.indent(root)
        ET.ElementTree(root).write(self.path, encoding="utf-8", xml_declaration=True)


def _evidence(outcome: Outcome) -> str:
    return f" ({outcome.evidence})" if outcome.evidence else ""


def _case(suite: ET.Element, outcome: Outcome, fatal: bool = True) -> None:
    # The class is the vendor only: a rule whose kind or title changes keeps its history in CI.
    case = ET.SubElement(
        suite,
        "testcase",
        classname=f"contractgate.{xml_text(outcome.vendor)}",
        name=xml_text(outcome.rule_id),
        time=f"{outcome.duration_s:.3f}",
    )
    properties = ET.SubElement(case, "properties")
    for name, value in junit_properties(outcome, fatal):
        ET.SubElement(properties, "property", name=name, value=xml_text(value))
    message, text = xml_text(outcome.message), xml_text(failure_text(outcome))
    if outcome.status == Status.FAILED:
        ET.SubElement(case, "failure", message=message).text = text
    elif outcome.status == Status.ERROR:
        ET.SubElement(case, "error", message=message).text = text
    elif outcome.status == Status.SKIPPED:
        ET.SubElement(case, "skipped", message=message)
    elif outcome.status == Status.WAIVED:
        # JUnit knows no waiver: a skipped case whose message starts "waived", the violation kept in full.
        ET.SubElement(case, "skipped", message=f"waived: {message}").text = text
