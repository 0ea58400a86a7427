"""report.html: one self-contained page a person reads at a glance (no scripts, no external files)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .._outcome import Outcome, RunResult, Status

__all__ = ["HtmlReport", "render_html", "render_matrix"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .3rem} h2{font-size:1.1rem;margin:2rem 0 .5rem}
.meta{color:#5b6475;margin-bottom:1rem}
.cards{display:flex;gap:.8rem;margin:1rem 0}
.card{padding:.6rem 1rem;border-radius:8px;background:#fff;border:1px solid #dde1e8;min-width:6rem}
.card b{display:block;font-size:1.5rem}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e6e9ef;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f2f6;position:sticky;top:0}
.passed{color:#137333}.failed{color:#c5221f;font-weight:600}.skipped{color:#a56400}.error{color:#8e24aa;font-weight:600}
.badge{display:inline-block;padding:0 .45rem;border-radius:4px;font-size:.8rem;font-weight:600}
.b-passed{background:#e6f4ea;color:#137333}.b-failed{background:#fce8e6;color:#c5221f}
.b-skipped{background:#fef7e0;color:#a56400}.b-error{background:#f3e8fd;color:#8e24aa}
.waived{color:#5f6368}.b-waived{background:#eceff1;color:#5f6368}
details{margin:.2rem 0} summary{cursor:pointer;color:#3b4a63}
pre{background:#f5f6f8;padding:.5rem;border-radius:6px;white-space:pre-wrap;word-break:break-all;margin:.3rem 0}
.kill{background:#e6f4ea;text-align:center}.also{background:#fef7e0;text-align:center}.miss{background:#fce8e6;text-align:center}
.matrix td,.matrix th{font-size:.75rem;padding:.15rem .3rem}
.matrix th.f{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
"""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _rule_row(outcome: Outcome) -> str:
    status = str(outcome.status)
    detail = ""
    if outcome.status != Status.PASSED and outcome.message:
        detail += f"<div class='{status}'>{_e(outcome.message)}</div>"
    for label, value in (
        ("where", outcome.where),
        ("expected", outcome.expected),
        ("got", outcome.got),
    ):
        if value:
            detail += f"<div><b>{label}:</b> <code>{_e(value)}</code></div>"
    if outcome.exchanges:
        shown = outcome.exchanges[-3:] if outcome.status == Status.FAILED else outcome.exchanges[:3]
        curls = "\n".join(f"{x.curl}\n  -> {x.status} ({x.elapsed_ms:.0f} ms)" for x in shown)
        detail += f"<details><summary>{len(outcome.exchanges)} request(s)</summary><pre>{_e(curls)}</pre></details>"
    source = _e(outcome.source)
    if outcome.source_url.startswith("http"):
        source = f"<a href='{_e(outcome.source_url)}'>{source}</a>"
    if outcome.evidence:
        source += f" <span class='evidence ev-{_e(outcome.evidence)}'>({_e(outcome.evidence)})</span>"
    return (
        f"<tr><td><span class='badge b-{status}'>{status}</span></td>"
        f"<td><code>{_e(outcome.rule_id)}</code></td><td>{_e(outcome.title)}{detail}</td>"
        f"<td>{_e(outcome.severity)}</td><td>{_e(outcome.kind)}</td><td>{source}</td>"
        f"<td>{outcome.duration_s:.2f}s</td></tr>"
    )


def render_matrix(rules: Sequence[str], faults: Sequence[tuple[str, str]], caught: Mapping[str, Sequence[str]]) -> str:
    """The kill matrix as an HTML table: rules down, faults across; the intended rule in green."""
    head = "".join(f"<th class='f' title='{_e(rule)}'>{_e(name)}</th>" for name, rule in faults)
    rows = []
    for rule in rules:
        cells = []
        for name, intended in faults:
            hit = rule in caught.get(name, ())
            if rule == intended:
                cells.append("<td class='kill'>&#10003;</td>" if hit else "<td class='miss'>&#10007;</td>")
            else:
                cells.append("<td class='also'>&#183;</td>" if hit else "<td></td>")
        rows.append(f"<tr><th>{_e(rule)}</th>{''.join(cells)}</tr>")
    return f"<table class='matrix'><tr><th>rule \\ fault</th>{head}</tr>{''.join(rows)}</table>"


def render_html(result: RunResult, matrix_html: str = "") -> str:
    """The whole page."""
    summary = result.summary()
    run = result.run
    cards = "".join(f"<div class='card {s}'><b>{summary[str(s)]}</b>{s}</div>" for s in Status)
    sections = []
    vendors: dict[str, list[Outcome]] = {}
    for outcome in result.outcomes:
        vendors.setdefault(outcome.vendor, []).append(outcome)
    order = {Status.FAILED: 0, Status.ERROR: 1, Status.SKIPPED: 2, Status.WAIVED: 3, Status.PASSED: 4}
    for vendor, outcomes in vendors.items():
        counts = ", ".join(f"{sum(1 for o in outcomes if o.status == s)} {s}" for s in Status)
        rows = "".join(_rule_row(o) for o in sorted(outcomes, key=lambda o: (order[o.status], o.rule_id)))
        sections.append(
            f"<h2>{_e(vendor)} <small class='meta'>{_e(counts)}</small></h2>"
            "<table><tr><th>status</th><th>rule</th><th>title</th><th>severity</th><th>kind</th>"
            f"<th>source</th><th>time</th></tr>{rows}</table>"
        )
    verdict = {0: "conformant", 1: "violations found", 2: "could not check everything"}[result.exit_code]
    coverage = result.coverage()
    cards += f"<div class='card'><b>{coverage['checked']}/{coverage['selected']}</b>checked</div>"
    matrix = f"<h2>Kill matrix (rules &times; faults)</h2>{matrix_html}" if matrix_html else ""
    stale = "".join(
        f"<li><code>{_e(w['rule'])}</code> on <code>{_e(w['target'])}</code> (until {_e(w['expires'])}): "
        f"{_e(w['reason'])}</li>"
        for w in result.stale_waivers
    )
    if stale:
        matrix = f"<h2>Stale waivers (they matched no failure)</h2><ul>{stale}</ul>{matrix}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>contractgate report: {_e(verdict)}</title><style>{_CSS}</style></head><body>"
        f"<h1>contractgate: {_e(verdict)}</h1>"
        f"<div class='meta'>mode {_e(run.get('mode'))} &middot; started {_e(run.get('started'))} &middot; "
        f"vendors {_e(', '.join(map(str, run.get('vendors', []) or [])))}</div>"
        f"<p class='verdict'>{_e(result.verdict_line())}</p>"
        f"<div class='cards'>{cards}</div>{''.join(sections)}{matrix}</body></html>\n"
    )


class HtmlReport:
    """Writes report.html when the run finishes."""

    def __init__(self, path: Path, matrix_html: str = "") -> None:
        self.path = path
        self.matrix_html = matrix_html

    def started(self, run: Mapping[str, Any]) -> None:
        """Nothing to do before the first outcome."""

    def outcome(self, outcome: Outcome) -> None:
        """Outcomes are written all at once at the end."""

    def finished(self, result: RunResult) -> None:
        """Write the page."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(render_html(result, self.matrix_html), encoding="utf-8")
