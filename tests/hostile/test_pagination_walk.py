"""Pagination walks against servers that never let them end: bounded requests, bounded time, an honest verdict."""

from __future__ import annotations

import http.server
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from contractgate._config import UNLIMITED, RunConfig, TargetConfig
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._runner import Engine
from tests.hostile._server import HostileServer, Seen, hostile_server, send_json

CONTRACT = """schema_version: 1
vendor: pager
title: Paging against hostile servers
sources:
  DOC: {{title: Docs, url: "https://example.invalid/docs"}}
targets:
  - name: pager
defaults:
  target: pager
  auth: none
rules:
  - id: PAGER-WALK-001
    title: Walking the listing returns every item once
    source: {{doc: DOC, section: Paging, anchor: x}}
    evidence: documented
    severity: must
    kind: pagination
    params:
      property: {prop}
      request: {{path: /items}}
      start_param: start
      limit_param: limit
      default_limit: 10
      items: items
      item_key: id
{more}"""


def _query(seen: Seen) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(seen.path).query).items()}


def _ignores_offset(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
    """Always the first page, whatever offset is asked for: a walk would never end."""
    limit = int(_query(seen).get("limit", 10))
    send_json(request, 200, json.dumps({"items": [{"id": n} for n in range(limit)], "total": 5000}).encode())


def _endless(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
    """A new full page for every offset, forever."""
    query = _query(seen)
    start, limit = int(query.get("start", 0)), int(query.get("limit", 10))
    send_json(request, 200, json.dumps({"items": [{"id": start + n} for n in range(limit)]}).encode())


def _self_next(request: http.server.BaseHTTPRequestHandler, seen: Seen) -> None:
    """A next link that always points back at the first page."""
    host = request.headers.get("Host")
    items = [{"id": n} for n in range(int(_query(seen).get("limit", 10)))]
    body = {"items": items, "next": f"http://{host}/items?start=0&limit=3"}
    send_json(request, 200, json.dumps(body).encode())


def _walk(tmp_path: Path, server: HostileServer, prop: str = "walk", more: str = "") -> tuple[Outcome, float]:
    path = tmp_path / "pager.yaml"
    path.write_text(CONTRACT.format(prop=prop, more=more))
    config = RunConfig(mode="live", targets={"pager": TargetConfig("pager", server.url, rate=UNLIMITED)})
    started = time.monotonic()
    [outcome] = Engine([load_contract(path)], config).run().outcomes
    return outcome, time.monotonic() - started


@pytest.mark.parametrize("prop", ["walk", "window", "defaults"])
def test_a_server_that_ignores_the_offset_fails_at_the_second_page(tmp_path: Path, prop: str) -> None:
    with hostile_server(_ignores_offset) as server:
        outcome, seconds = _walk(tmp_path, server, prop)
    assert outcome.status == Status.FAILED
    assert outcome.message.startswith("a page repeats an earlier page")
    assert outcome.where == "page window start=100 limit=100"  # the offset that did not advance
    assert outcome.expected == "the items after those of page window start=0 limit=100"
    assert len(server.seen) == 2
    assert seconds < 5


def test_an_endless_listing_stops_at_the_page_budget_and_claims_nothing(tmp_path: Path) -> None:
    with hostile_server(_endless) as server:
        outcome, seconds = _walk(tmp_path, server, more="      max_pages: 7\n")
    assert (outcome.status, outcome.cause) == (Status.ERROR, "budget")
    assert outcome.message == (
        "could not check: page budget exhausted: the reference walk of /items fetched 7 pages (max_pages=7) "
        "without reaching the last one"
    )
    assert len(server.seen) == 7
    assert seconds < 5


def test_the_default_page_budget_bounds_an_endless_listing(tmp_path: Path) -> None:
    with hostile_server(_endless) as server:
        outcome, seconds = _walk(tmp_path, server, more="      walk_limit: 5\n")
    assert outcome.status == Status.ERROR
    assert "max_pages=200" in outcome.message
    assert len(server.seen) == 200
    assert seconds < 30


def test_a_next_link_that_does_not_advance_fails_at_once(tmp_path: Path) -> None:
    with hostile_server(_self_next) as server:
        outcome, _ = _walk(tmp_path, server, more="      next: next\n      walk_limit: 3\n")
    assert outcome.status == Status.FAILED
    assert len(server.seen) <= 3
