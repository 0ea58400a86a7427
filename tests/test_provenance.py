"""Provenance: every shipped rule cites a public vendor artefact, in the form its kind needs, with its evidence."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from rich.console import Console

from contractgate._contract import Contract, Rule
from contractgate._errors import ContractError
from contractgate._loader import contract_files, load_contract
from contractgate._outcome import Outcome, RunResult, Status
from contractgate.reports._html import render_html
from contractgate.reports._json import JsonReport
from contractgate.reports._junit import JunitReport, failure_text
from contractgate.reports._terminal import TerminalReport

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
VENDOR_SPEC = ROOT / "contracts" / "openapi" / "vendor" / "threatjammer-user-api-1.2.27.openapi.json"
CONTRACTS = sorted(contract_files(ROOT / "contracts"))
PINNED = re.compile(r"/[0-9a-f]{40}/")
# Places that are ours, not the vendor's: the repository, the shared research notes and drafts.
NOT_VENDOR = re.compile(r"shared/|vendor-facts|research|contractgate|^file:|localhost|example\.(invalid|org|com)", re.I)


def _rules() -> list[tuple[Contract, Rule]]:
    return [(contract, rule) for path in CONTRACTS for contract in [load_contract(path)] for rule in contract.rules]


RULES = _rules()
IDS = [rule.id for _, rule in RULES]


def test_every_vendor_contract_is_checked() -> None:
    assert {path.stem for path in CONTRACTS} >= {"assemblyline", "threatconnect", "threatjammer"}
    assert len(RULES) > 150


@pytest.mark.parametrize(("contract", "rule"), RULES, ids=IDS)
def test_citation_has_the_form_its_source_kind_needs(contract: Contract, rule: Rule) -> None:
    source = contract.sources[rule.source.doc]
    url = contract.citation(rule)
    parts = urlsplit(url)
    assert parts.scheme == "https", url
    assert "." in parts.netloc, url
    assert rule.source.section.strip(), rule.id
    if source.kind == "doc":
        assert parts.fragment, f"{rule.id}: a documentation page needs its section anchor: {url}"
    elif source.kind == "file":
        assert PINNED.search(parts.path), f"{rule.id}: a vendor file needs a pinned 40-hex commit: {url}"
        assert not parts.fragment or re.fullmatch(r"L\d+(-L\d+)?", parts.fragment), url
    elif source.kind == "openapi":
        assert parts.fragment.startswith("/"), f"{rule.id}: an OpenAPI citation is an operation or a JSON pointer"
    else:
        assert re.fullmatch(r"/[^/]+/[^/]+/(issues|pull|discussions)/\d+", parts.path), url


@pytest.mark.parametrize(("contract", "rule"), RULES, ids=IDS)
def test_no_rule_cites_this_repository_or_the_research_notes(contract: Contract, rule: Rule) -> None:
    source = contract.sources[rule.source.doc]
    for text in (source.url, contract.citation(rule), source.title, rule.source.section):
        assert not NOT_VENDOR.search(text), f"{rule.id} cites {text!r}"
    assert not re.search(r"shared/|vendor-facts|research notes|\bF-AL\b|\bFACTS\b", rule.rationale), rule.id
    assert "FACTS" not in rule.source.doc


@pytest.mark.parametrize(("contract", "rule"), RULES, ids=IDS)
def test_every_rule_states_its_evidence_and_inferred_is_never_must(contract: Contract, rule: Rule) -> None:
    assert rule.evidence in ("documented", "observed", "inferred")
    assert not (rule.evidence == "inferred" and rule.severity == "must")


def test_cited_openapi_operations_exist_in_the_vendors_document() -> None:
    document = json.loads(VENDOR_SPEC.read_text(encoding="utf-8"))
    cited = [
        (rule.id, rule.source.operation)
        for contract, rule in RULES
        if contract.sources[rule.source.doc].kind == "openapi" and rule.source.operation
    ]
    assert cited
    for rule_id, operation in cited:
        method, path = operation.split(" ", 1)
        item = document["paths"].get(path, {})
        assert method.lower() in item, f"{rule_id}: {operation} is not an operation of the published document"
        assert "x-contractgate-undocumented" not in item[method.lower()]


def test_an_operation_resolves_to_its_json_pointer() -> None:
    contract = load_contract(ROOT / "contracts" / "threatjammer.yaml")
    url = contract.citation(contract.rule("TJ-ASN-002"))
    pointer = unquote(urlsplit(url).fragment)
    assert pointer == "/paths/~1v1~1asn~1{number}/get"
    document = json.loads(VENDOR_SPEC.read_text(encoding="utf-8"))
    node = document
    for part in pointer.strip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert node["operationId"] == "query_asn_v1_asn__number__get"


# --- the loader refuses what the format forbids ------------------------------------------------


def _mini(tmp_path: Path, old: str, new: str) -> Path:
    text = (FIXTURES / "mini.yaml").read_text()
    assert old in text
    path = tmp_path / "mini.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_inferred_must_is_refused_naming_file_and_line(tmp_path: Path) -> None:
    path = _mini(tmp_path, "evidence: documented\n    severity: must", "evidence: inferred\n    severity: must")
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    message = str(caught.value)
    assert "rules.0.severity" in message
    assert "inferred" in message
    line = int(message.split(f"{path}:")[1].split(":")[0])
    assert path.read_text().splitlines()[line - 1].strip() == "severity: must"


def test_inferred_should_is_accepted(tmp_path: Path) -> None:
    path = _mini(tmp_path, "evidence: documented\n    severity: must", "evidence: inferred\n    severity: should")
    assert load_contract(path).rules[0].evidence == "inferred"


def test_a_rule_without_evidence_is_refused(tmp_path: Path) -> None:
    path = _mini(tmp_path, "    evidence: documented\n", "")
    with pytest.raises(ContractError, match=r"rules\.0\.evidence: Field required"):
        load_contract(path)


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('url: "https://example.invalid/docs"', 'url: "shared/docs/mini.md"', "must be an https URL"),
        ('url: "https://example.invalid/docs"', 'url: "http://example.invalid/docs"', "must be an https URL"),
        (
            'url: "https://example.invalid/docs"}',
            'url: "https://github.com/o/r/blob/main/x.py", kind: file}',
            "must pin a 40-hex commit",
        ),
        ('url: "https://example.invalid/docs"}', 'url: "https://example.invalid/x", kind: issue}', "issue source"),
        ("section: Auth, anchor: auth}", "section: Auth}", "needs `anchor`"),
        ("anchor: auth}", "anchor: '#auth'}", "not a URL fragment"),
        ('url: "https://example.invalid/docs"}', 'url: "https://example.invalid/o.json", kind: openapi}', "openapi"),
    ],
)
def test_a_citation_that_does_not_fit_is_refused(tmp_path: Path, old: str, new: str, error: str) -> None:
    path = _mini(tmp_path, old, new)
    with pytest.raises(ContractError, match=re.escape(error)):
        load_contract(path)


def test_the_old_file_field_is_gone(tmp_path: Path) -> None:
    path = _mini(tmp_path, 'url: "https://example.invalid/docs"}', 'url: "https://example.invalid/docs", file: x.md}')
    with pytest.raises(ContractError, match=r"sources\.DOC\.file: Extra inputs are not permitted"):
        load_contract(path)


# --- reports show the evidence beside the source -------------------------------------------------


def _outcome(status: Status = Status.FAILED) -> Outcome:
    return Outcome(
        rule_id="X-EV-001",
        vendor="x",
        title="t",
        source="Docs (D), Section",
        source_url="https://example.invalid/docs#section",
        severity="should",
        kind="request",
        status=status,
        evidence="inferred",
        message="m",
    )


def test_reports_carry_the_evidence(tmp_path: Path) -> None:
    result = RunResult(run={"mode": "replay"}, outcomes=[_outcome()])
    JsonReport(tmp_path / "results.json").finished(result)
    assert json.loads((tmp_path / "results.json").read_text())["rules"][0]["evidence"] == "inferred"
    JunitReport(tmp_path / "junit.xml").finished(result)
    properties = {p.get("name"): p.get("value") for p in ET.parse(tmp_path / "junit.xml").getroot().iter("property")}
    assert properties["evidence"] == "inferred"
    assert "#section (inferred)" in failure_text(_outcome())
    html = render_html(result)
    assert "href='https://example.invalid/docs#section'" in html
    assert "(inferred)" in html


def test_verbose_terminal_shows_the_source_link_and_evidence() -> None:
    console = Console(record=True, width=200)
    TerminalReport(console=console, verbose=True).outcome(_outcome(Status.PASSED))
    assert "source: https://example.invalid/docs#section (inferred)" in console.export_text()


def test_a_misfit_citation_names_the_rules_source_line(tmp_path: Path) -> None:
    path = _mini(tmp_path, "section: Auth, anchor: auth}", "section: Auth}")
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    message = str(caught.value)
    assert "rules.0.source" in message
    line = int(message.split(f"{path}:")[1].split(":")[0])
    assert path.read_text().splitlines()[line - 1].strip().startswith("source: {doc: DOC, section: Auth}")
