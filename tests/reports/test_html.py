"""report.html: built from the package's templates, escaped, and showing what a reader needs to act."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

from contractgate._outcome import Exchange, Outcome, RunResult, Status
from contractgate.reports import HtmlReport, MatrixView, render_html, render_matrix_page

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "src" / "contractgate" / "reports" / "templates"
LONG_URL = "https://tc.example/api/v3/indicators?" + "&".join(f"tql=field{n}%20EQ%20value{n}" for n in range(40))
SIGNING = "signed request: re-sign before sending, the masked headers are computed per request (Authorization: ...)"


def _outcome(rule_id: str, status: Status, message: str = "", signing: str = "") -> Outcome:
    curl = f"curl -X GET '{LONG_URL}' -H 'Authorization: TC REDACTED' -H 'Timestamp: REDACTED'"
    return Outcome(
        rule_id,
        "threatconnect",
        f"title of {rule_id}",
        "ThreatConnect docs (TC-DOC), Authentication",
        "https://docs.threatconnect.com/en/latest/rest_api/quick_start.html#authentication",
        "must",
        "request",
        status,
        evidence="observed",
        message=message,
        exchanges=[Exchange("GET", LONG_URL, curl, 401, 12.0, signing=signing)],
    )


def _result() -> RunResult:
    outcomes = [
        _outcome("TC-AUTH-001", Status.FAILED, "got <script>alert('x')</script> & more", signing=SIGNING),
        _outcome("TC-AUTH-002", Status.PASSED),
    ]
    run = {"mode": "live", "vendors": ["threatconnect"], "targets": {"threatconnect": "https://tc.example/api"}}
    return RunResult(run, outcomes)


def test_untrusted_text_is_escaped() -> None:
    page = render_html(_result())
    assert "<script>" not in page
    assert "got &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in page


def test_the_page_shows_targets_evidence_source_link_curl_and_how_to_re_sign() -> None:
    page = render_html(_result())
    assert re.search(r"<td><code>threatconnect</code></td><td><code>https://tc.example/api</code></td>", page)
    assert "href='https://docs.threatconnect.com/en/latest/rest_api/quick_start.html#authentication'" in page
    assert page.count("(observed)</span>") == 2  # every rule's evidence, passed ones too
    assert '<pre class="curl">curl -X GET &#39;https://tc.example/api/v3/indicators?' in page
    assert f'<p class="sign">{SIGNING}</p>' in page
    assert page.count("re-sign before sending") == 1  # only the signed request carries the note


def test_long_lines_wrap_inside_their_box_and_the_matrix_scrolls_in_its_own() -> None:
    page = render_html(_result(), [MatrixView("threatconnect", ["TC-AUTH-001"], [("no-auth", "TC-AUTH-001")], {})])
    css = page[page.index("<style>") : page.index("</style>")]
    assert re.search(r"\npre\{[^}]*white-space:pre-wrap;overflow-wrap:anywhere", css)
    assert re.search(r"\.matrix-box\{overflow-x:auto", css)
    assert re.search(r"table\.rules\{table-layout:fixed\}", css)
    assert '<div class="matrix-box">' in page


def test_the_kill_matrix_marks_caught_missed_and_collateral_faults() -> None:
    view = MatrixView(
        "v",
        ["R-1", "R-2", "R-FUZZ"],
        [("f-one", "R-1"), ("f-two", "R-2")],
        {"f-one": ["R-1", "R-2"], "f-two": ["R-FUZZ"]},
        {"f-one": ["R-1"], "f-two": ["R-2", "R-FUZZ"]},
    )
    assert [[view.cell(rule, fault, aim) for fault, aim in view.faults] for rule in view.rules] == [
        ["kill", ""],
        ["also", "miss"],
        ["", "kill"],
    ]
    assert view.survivors() == ["f-two"]
    page = render_matrix_page([view])
    assert "1 fault(s) survived: f-two" in page
    assert page.count('<td class="kill"') == 2
    assert page.count('<td class="miss"') == 1


def test_the_kill_matrix_shows_each_rules_form_and_value_faults() -> None:
    view = MatrixView(
        "v",
        ["R-1", "R-2"],
        [("gone", "R-1"), ("off-by-one", "R-1"), ("ms", "R-2")],
        {"gone": ["R-1"], "off-by-one": ["R-1"], "ms": ["R-2", "R-1"]},
        levels={"off-by-one": "value", "ms": "value"},
    )
    assert [view.split("R-1"), view.split("R-2")] == [(1, 1, 1), (0, 1, 0)]
    page = render_matrix_page([view])
    assert '<td class="lv">1 / 1 (1)</td>' in page
    assert '<td class="lv miss">0 / 1 (0)</td>' in page  # R-2 has no value-level fault it alone catches
    assert page.count('class="f fv"') == 2


def test_a_rule_that_sampled_several_operations_names_them() -> None:
    result = _result()
    outcome = result.outcomes[0]
    outcome.exchanges = [
        Exchange("GET", "https://tc.example/api/v2/owners", "curl …", 200, 1.0),
        Exchange("GET", "https://tc.example/api/v3/security/owners", "curl …", 200, 1.0),
    ]
    assert "scope: GET /api/v2/owners, GET /api/v3/security/owners" in render_html(result, [])


def test_a_matrix_that_ran_after_the_verdict_is_added_to_the_written_page(tmp_path: Path) -> None:
    report = HtmlReport(tmp_path / "report.html")
    report.finished(_result())
    assert "Kill matrix" not in (tmp_path / "report.html").read_text()
    report.add_matrices([MatrixView("threatconnect", ["TC-AUTH-001"], [("no-auth", "TC-AUTH-001")], {})])
    assert "Kill matrix" in (tmp_path / "report.html").read_text()


def test_every_template_ships_in_the_wheel() -> None:
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = patterns["contractgate"]
    templates = sorted(TEMPLATES.iterdir())
    assert templates
    for template in templates:
        relative = template.relative_to(ROOT / "src" / "contractgate").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in shipped), relative


def test_a_rule_whose_requests_are_all_signed_says_how_to_re_sign_once() -> None:
    outcome = _outcome("TC-AUTH-003", Status.FAILED, signing=SIGNING)
    outcome.exchanges = outcome.exchanges * 3
    page = render_html(RunResult({"mode": "live"}, [outcome]))
    assert page.count('<pre class="curl">') == 3
    assert page.count("re-sign before sending") == 1
