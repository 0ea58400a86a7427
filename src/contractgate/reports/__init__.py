"""Report writers: each listens to the engine's events and writes one artefact."""

from __future__ import annotations

from ._html import HtmlReport, MatrixView, render_html, render_matrix_page
from ._json import JsonReport, load_results
from ._junit import JunitReport, failure_text, junit_properties
from ._progress import MatrixProgress, ProgressReport
from ._terminal import TerminalReport, print_verdict

__all__ = [
    "HtmlReport",
    "JsonReport",
    "JunitReport",
    "MatrixProgress",
    "MatrixView",
    "ProgressReport",
    "TerminalReport",
    "failure_text",
    "junit_properties",
    "load_results",
    "print_verdict",
    "render_html",
    "render_matrix_page",
]
