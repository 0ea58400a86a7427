"""Report writers: each listens to the engine's events and writes one artefact."""

from __future__ import annotations

from ._html import HtmlReport, render_html, render_matrix
from ._json import JsonReport, load_results
from ._junit import JunitReport, failure_text
from ._terminal import TerminalReport, print_verdict

__all__ = [
    "HtmlReport",
    "JsonReport",
    "JunitReport",
    "TerminalReport",
    "failure_text",
    "load_results",
    "print_verdict",
    "render_html",
    "render_matrix",
]
