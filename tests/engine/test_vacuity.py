"""No rule kind passes vacuously: against a server whose listings are empty, a rule is an ERROR "nothing to check"."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from contractgate._cassettes import Cassette, cassette_path
from contractgate._config import RunConfig, TargetConfig
from contractgate._contract import Contract
from contractgate._errors import ContractError
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._runner import Engine
from contractgate.checks import registry
from tests.hostile._server import HostileServer, Seen, hostile_server, send_json

PAGING = "{start_param: start, limit_param: limit, default_limit: 10, items: items, item_key: id, total: total}"

OPENAPI = {
    "openapi": "3.0.3",
    "info": {"title": "empty", "version": "1"},
    "paths": {
        "/items": {
            "get": {
                "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}},
            }
        }
    },
}


def _rule(rule_id: str, kind: str, params: str, extra: str = "") -> str:
    return f"""
  - id: {rule_id}
    title: {rule_id}
    source: {{doc: DOC, section: s, anchor: x}}
    evidence: documented
    severity: must
    kind: {kind}
{extra}    params: {params}
"""


def _paging(rule_id: str, prop: str, more: str = "") -> str:
    return _rule(rule_id, "pagination", f"{{<<: *paging, property: {prop}{more}}}")


RULES = {
    "EMPTY-PAGE-DEFAULTS": _paging("EMPTY-PAGE-DEFAULTS", "defaults"),
    "EMPTY-PAGE-WINDOW": _paging("EMPTY-PAGE-WINDOW", "window", ", examples: 3"),
    "EMPTY-PAGE-TOTAL": _paging("EMPTY-PAGE-TOTAL", "total-presence", ", examples: 3"),
    "EMPTY-PAGE-NEXT": _paging("EMPTY-PAGE-NEXT", "next-link", ", next: next, examples: 3"),
    "EMPTY-PAGE-PREV": _paging("EMPTY-PAGE-PREV", "prev-link", ", prev: prev, examples: 3"),
    "EMPTY-PAGE-WALK": _paging("EMPTY-PAGE-WALK", "walk"),
    "EMPTY-PAGE-CURSOR": _paging(
        "EMPTY-PAGE-CURSOR", "cursor-walk", ", cursor: {param: cursor, first: '*', next: next_cursor}, examples: 2"
    ),
    "EMPTY-LINKS-001": _rule("EMPTY-LINKS-001", "links", "{requests: [{path: /items}]}"),
    "EMPTY-SLASH-001": _rule(
        "EMPTY-SLASH-001",
        "trailing-slash",
        "{paths: [], variants: [{transform: add-slash, expect: {status: 404}}],"
        " draw: {openapi: empty_openapi.json, include: ['^/nothing']}}",
    ),
    "EMPTY-SCHEMA-001": _rule("EMPTY-SCHEMA-001", "schema", "{requests: [], schema: {type: object}}"),
    "EMPTY-FUZZ-NONE": _rule("EMPTY-FUZZ-NONE", "fuzz", "{openapi: empty_openapi.json, include: ['^GET /nothing']}"),
    "EMPTY-FUZZ-ZERO": _rule("EMPTY-FUZZ-ZERO", "fuzz", "{openapi: empty_openapi.json, examples: 0, boundaries: 0}"),
}
# Kinds that cannot examine nothing by construction: they always send a request and judge its answer.
JUDGED = {
    "EMPTY-REQ-001": _rule(
        "EMPTY-REQ-001",
        "request",
        "{request: {path: /items}, expect: {status: 200, json: [{path: 'items.*.id', type: integer}]}}",
    ),
    "EMPTY-HMAC-001": _rule(
        "EMPTY-HMAC-001",
        "hmac-window",
        "{request: {path: /items}, scheme: hmac, accept: {status: 200}, reject: {status: 401}, examples: 1}",
    ),
}


def _contract_text(rules: list[str]) -> str:
    return f"""schema_version: 1
vendor: empty
title: A vendor whose listings are empty
sources:
  DOC: {{title: Empty docs, url: "https://example.invalid/docs"}}
targets:
  - name: empty
credentials:
  access_id: {{env: ACCESS_ID, secret: false}}
  secret_key: {{env: SECRET_KEY}}
auth:
  hmac:
    type: hmac
    key: secret_key
    message: "{{path_query}}:{{method}}:{{timestamp}}"
    headers: {{Authorization: "TC {{access_id}}:{{signature}}", Timestamp: "{{timestamp}}"}}
defaults:
  target: empty
  auth: none
parameters:
  paging: &paging {{request: {{path: /items}}, {PAGING[1:-1]}}}
rules:{"".join(rules)}"""


def _empty_page(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
    """A valid listing envelope with no item (and a total of 0), whatever was asked."""
    send_json(request, 200, json.dumps({"items": [], "total": 0}).encode())


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Contract:
    folder = tmp_path_factory.mktemp("empty")
    (folder / "empty_openapi.json").write_text(json.dumps(OPENAPI))
    path = folder / "empty.yaml"
    path.write_text(_contract_text([*RULES.values(), *JUDGED.values()]))
    return load_contract(path)


@pytest.fixture(scope="module")
def empty_server() -> Iterator[HostileServer]:
    with hostile_server(_empty_page) as server:
        yield server


def _outcomes(contract: Contract, server: HostileServer, *globs: str) -> dict[str, Outcome]:
    config = RunConfig(
        mode="live",
        targets={"empty": TargetConfig("empty", server.url)},
        rule_globs=list(globs),
        environ={"CONTRACTGATE_EMPTY_ACCESS_ID": "id", "CONTRACTGATE_EMPTY_SECRET_KEY": "secret"},
    )
    return {o.rule_id: o for o in Engine([contract], config).run().outcomes}


@pytest.mark.parametrize(
    ("rule_id", "what"),
    [
        ("EMPTY-PAGE-DEFAULTS", "the listing /items returned no items"),
        ("EMPTY-PAGE-WINDOW", "the listing /items returned no items"),
        ("EMPTY-PAGE-TOTAL", "the listing /items returned no items"),
        ("EMPTY-PAGE-NEXT", "the listing /items returned no items"),
        ("EMPTY-PAGE-PREV", "the listing /items returned no items"),
        ("EMPTY-PAGE-WALK", "the listing /items returned no items"),
        ("EMPTY-PAGE-CURSOR", "the listing /items returned no items"),
        ("EMPTY-LINKS-001", "no reference in the responses of /items"),
        ("EMPTY-SLASH-001", "no parameter-free GET path matching include=['^/nothing']"),
        ("EMPTY-SCHEMA-001", "the rule lists no request"),
        ("EMPTY-FUZZ-NONE", "no operation of empty_openapi.json matches include=['^GET /nothing']"),
        ("EMPTY-FUZZ-ZERO", "no request was drawn from empty_openapi.json"),
    ],
)
def test_a_rule_that_examined_nothing_is_an_error(
    contract: Contract, empty_server: HostileServer, rule_id: str, what: str
) -> None:
    outcome = _outcomes(contract, empty_server, rule_id)[rule_id]
    assert outcome.status == Status.ERROR, outcome.message
    assert outcome.cause == "nothing-to-check"
    assert outcome.message.startswith("nothing to check: ")
    assert what in outcome.message


def test_every_registered_kind_is_covered_here() -> None:
    """A new kind must come with its vacuity case (or a reason it cannot examine nothing)."""
    covered = {"pagination", "links", "trailing-slash", "schema", "fuzz", "request", "hmac-window"}
    by_construction = {
        "error-shape": "at least one probe (validated), each sent and judged",
        "envelope": "at least one probe (validated), each sent and judged",
        "counter": "two reads and at least one action (validated), always sent",
        "quota": "always spends at least one request and needs a refusal to pass",
        "credential-scope": "fewer than two regions is a skip, never a pass",
    }
    assert set(registry.names()) == covered | set(by_construction)


def test_probes_cannot_be_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text(_contract_text([_rule("EMPTY-ERR-001", "error-shape", "{probes: [], expect: {status: 404}}")]))
    with pytest.raises(ContractError, match="at least one probe"):
        load_contract(path)


def test_a_wildcard_over_an_empty_listing_does_not_pass(contract: Contract, empty_server: HostileServer) -> None:
    outcome = _outcomes(contract, empty_server, "EMPTY-REQ-001")["EMPTY-REQ-001"]
    assert outcome.status != Status.PASSED


def test_a_property_replayed_with_no_recorded_case_is_nothing_to_check(contract: Contract, tmp_path: Path) -> None:
    cassette = Cassette("empty", "EMPTY-HMAC-001")
    cassette.examples = [[]]
    cassette.save(cassette_path(tmp_path, "empty", "EMPTY-HMAC-001"))
    config = RunConfig(mode="replay", rule_globs=["EMPTY-HMAC-001"], cassettes=tmp_path)
    [outcome] = Engine([contract], config).run().outcomes
    assert outcome.status == Status.ERROR
    assert outcome.message == "nothing to check: no clock offset was tried"


def test_echo_and_max_limit_still_judge_an_empty_listing(tmp_path: Path, empty_server: HostileServer) -> None:
    """Echoing the asked window, and refusing a limit over the maximum, are checks even with no item."""
    path = tmp_path / "empty.yaml"
    rules = [
        _paging("EMPTY-PAGE-ECHO", "echo", ", echo: {start: start}, examples: 2"),
        _paging("EMPTY-PAGE-MAX", "max-limit", ", max_limit: 50, over_limit: {status: 400}"),
    ]
    path.write_text(_contract_text(rules))
    outcomes = _outcomes(load_contract(path), empty_server)
    assert outcomes["EMPTY-PAGE-ECHO"].status == Status.FAILED  # the empty server echoes nothing
    assert outcomes["EMPTY-PAGE-MAX"].status == Status.FAILED  # and refuses no limit


def _items_only_unpaged(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
    """Items without paging parameters, none on any asked page (e.g. zero-based pages behind a one-based doc)."""
    items = [] if "?" in seen.path else [{"id": 1}, {"id": 2}]
    send_json(request, 200, json.dumps({"items": items, "total": 2}).encode())


def test_an_empty_walk_over_a_listing_that_has_items_is_a_violation(contract: Contract) -> None:
    with hostile_server(_items_only_unpaged) as server:
        outcome = _outcomes(contract, server, "EMPTY-PAGE-WINDOW")["EMPTY-PAGE-WINDOW"]
    assert outcome.status == Status.FAILED
    assert outcome.message == "the listing has items, but paging from the documented first page returns none"
