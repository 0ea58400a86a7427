"""upgrade.html: after a vendor upgrade, one page with the rules that changed verdict and the API's shape changes."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from ._diff import RuleChange
from ._drift import drift_fragment

__all__ = ["render_upgrade_html", "upgrade_rows"]

# A verdict change's severity, on the drift's scale: a rule now failing breaks, one no longer proven warns.
_SEVERITY = {"BROKEN": "breaking", "UNPROVEN": "warning", "LOST": "warning"}


def upgrade_rows(changes: Sequence[RuleChange]) -> list[dict[str, str]]:
    """Each verdict change as a row with its severity (breaking, warning, or info for the rest)."""
    return [
        {
            "severity": _SEVERITY.get(change.label, "info"),
            "label": change.label,
            "vendor": change.vendor,
            "rule": change.rule,
            "before": change.before,
            "after": change.after,
            "message": (change.message.splitlines() or [""])[0],
        }
        for change in changes
    ]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_upgrade_html(before: str, after: str, rows: Sequence[Mapping[str, str]], drift: Mapping[str, Any]) -> str:
    """The standalone page: verdict changes first, then the drift section."""
    body = "".join(
        f"<tr class='d-{_e(r['severity'])}'><td>{_e(r['severity'])}</td><td>{_e(r['label'])}</td>"
        f"<td>{_e(r['vendor'])}</td><td>{_e(r['rule'])}</td><td>{_e(r['before'])} → {_e(r['after'])}</td>"
        f"<td>{_e(r['message'])}</td></tr>"
        for r in rows
    )
    verdicts = (
        "<table><tr><th>severity</th><th>change</th><th>vendor</th><th>rule</th><th>verdict</th><th>why</th></tr>"
        f"{body}</table>"
        if rows
        else "<p>No rule changed verdict.</p>"
    )
    title = f"contractgate upgrade check: {before} → {after}"
    style = (
        "body{font:14px/1.45 system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;width:100%}"
        "th,td{border-bottom:1px solid #e6e9ef;padding:.3rem .5rem;text-align:left}th{background:#f0f2f6}"
        ".d-breaking td:first-child{color:#c5221f;font-weight:600}.d-warning td:first-child{color:#a56400}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title><style>{style}</style></head>"
        f"<body><h1>{_e(title)}</h1><section id='verdicts'><h2>Rules that changed verdict</h2>{verdicts}</section>"
        f"{drift_fragment(drift)}</body></html>\n"
    )
