"""Drift reports: terminal, Markdown (a pull-request comment), JSON and a standalone drift.html.

Each writer reads the drift's JSON form (a plain mapping), never the engine: the same input gives the same bytes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = [
    "drift_fragment",
    "print_drift",
    "render_drift_html",
    "render_drift_json",
    "render_drift_markdown",
    "write_drift",
]

_ICON = {"breaking": "🔴", "warning": "🟠", "info": "🔵"}
_STYLE = {"breaking": "bold red", "warning": "yellow", "info": "cyan"}


def _findings(document: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    findings: Sequence[Mapping[str, Any]] = document.get("findings", [])
    return findings


def _headline(document: Mapping[str, Any]) -> str:
    summary = document.get("summary", {})
    counts = ", ".join(f"{summary.get(level, 0)} {level}" for level in ("breaking", "warning", "info"))
    return f"{len(_findings(document))} change(s) over {document.get('operations_compared', 0)} operations: {counts}"


def _where(finding: Mapping[str, Any]) -> str:
    statuses = finding.get("statuses") or ([finding["status"]] if finding.get("status") is not None else [])
    return f"{finding['operation']}" + (" → " + "/".join(str(s) for s in statuses) if statuses else "")


def _rules_text(finding: Mapping[str, Any]) -> str:
    return ", ".join(rule["id"] for rule in finding.get("rules", []))


def render_drift_json(document: Mapping[str, Any]) -> str:
    """The JSON output: stable key order as built, two-space indent, one trailing newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render_drift_markdown(document: Mapping[str, Any]) -> str:
    """Markdown ready to paste as a pull-request comment."""
    baseline, current = document["baseline"]["source"], document["current"]["source"]
    lines = [
        "### contractgate drift",
        "",
        f"`{baseline}` → `{current}`: {_headline(document)}.",
        "",
    ]
    findings = _findings(document)
    if not findings:
        lines.append("No change in the recorded API.")
        return "\n".join(lines) + "\n"
    lines += [
        "| severity | id | vendor / target | operation | where | baseline | current | rules |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for finding in findings:
        rules = ", ".join(f"[{rule['id']}]({rule['source']})" for rule in finding.get("rules", [])) or "-"
        cells = [
            f"{_ICON[finding['severity']]} {finding['severity']}",
            f"`{finding['id']}`",
            f"{finding['vendor']} / {finding['target']}",
            f"`{_where(finding)}`",
            f"`{finding['where']}`",
            finding["baseline"],
            finding["current"],
            rules,
        ]
        lines.append("| " + " | ".join(_md_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def print_drift(console: Console, document: Mapping[str, Any]) -> None:
    """The terminal table, most severe first."""
    findings = _findings(document)
    table = Table(title=f"drift: {document['baseline']['source']} → {document['current']['source']}")
    for column in ("severity", "id", "target", "operation", "where", "baseline → current", "rules"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        severity = finding["severity"]
        table.add_row(
            f"[{_STYLE[severity]}]{severity}[/]",
            finding["id"],
            finding["target"],
            _where(finding),
            finding["where"],
            f"{finding['baseline']} → {finding['current']}",
            _rules_text(finding) or "-",
        )
    if findings:
        console.print(table)
    console.print(_headline(document), markup=False)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def drift_fragment(document: Mapping[str, Any]) -> str:
    """The drift section as an HTML fragment (a heading and a table) for a page that embeds it."""
    rows = []
    for finding in _findings(document):
        rules = ", ".join(f"<a href='{_e(rule['source'])}'>{_e(rule['id'])}</a>" for rule in finding.get("rules", []))
        rows.append(
            f"<tr class='d-{_e(finding['severity'])}'><td>{_e(finding['severity'])}</td><td><code>{_e(finding['id'])}"
            f"</code></td><td>{_e(finding['target'])}</td><td><code>{_e(_where(finding))}</code></td>"
            f"<td><code>{_e(finding['where'])}</code></td><td>{_e(finding['baseline'])}</td>"
            f"<td>{_e(finding['current'])}</td><td>{rules or '-'}</td></tr>"
        )
    head = "<tr><th>severity</th><th>id</th><th>target</th><th>operation</th><th>where</th><th>baseline</th>"
    head += "<th>current</th><th>rules</th></tr>"
    table = f"<table class='drift'>{head}{''.join(rows)}</table>" if rows else "<p>No change in the recorded API.</p>"
    return f"<section id='drift'><h2>API drift</h2><p>{_e(_headline(document))}</p>{table}</section>"


_CSS = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330}"
    "table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e6e9ef;padding:.3rem .5rem;"
    "text-align:left;vertical-align:top}th{background:#f0f2f6}"
    ".d-breaking td:first-child{color:#c5221f;font-weight:600}.d-warning td:first-child{color:#a56400}"
    ".d-info td:first-child{color:#1a73e8}"
)


def render_drift_html(document: Mapping[str, Any]) -> str:
    """drift.html: a self-contained page (no scripts, no external files)."""
    title = f"contractgate drift: {document['baseline']['source']} → {document['current']['source']}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title><style>{_CSS}</style></head>"
        f"<body><h1>{_e(title)}</h1>{drift_fragment(document)}</body></html>\n"
    )


def write_drift(folder: Path, document: Mapping[str, Any]) -> list[Path]:
    """Write drift.json, drift.md and drift.html into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("drift.json", render_drift_json(document)),
        ("drift.md", render_drift_markdown(document)),
        ("drift.html", render_drift_html(document)),
    ):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
