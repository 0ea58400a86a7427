"""The shipped cassettes in a team's own tests: VCR.py (and pytest-recording) replay them to a plain httpx client.

Nothing here imports contractgate: the files must stand on their own, as they do in another project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
UNAUTHORIZED = CASSETTES / "threatjammer" / "TJ-AUTH-002.json"
PAGES = CASSETTES / "threatconnect" / "TC-PAGE-019.json"  # a walk of three pages of three, after one read


def _interactions(path: Path) -> list[dict[str, Any]]:
    interactions: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["interactions"]
    return interactions


def _walk(client: httpx.Client, url: str) -> list[dict[str, Any]]:
    """A team's ThreatConnect client: every page of a collection, following the `next` links."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        page = client.get(next_url, headers={"Authorization": "TC-Token any"})
        page.raise_for_status()
        items += page.json()["data"]
        next_url = page.json().get("next")
    return items


def test_vcrpy_replays_the_recorded_status_and_body_to_httpx() -> None:
    first = _interactions(UNAUTHORIZED)[0]
    with (
        vcr.use_cassette(str(UNAUTHORIZED), serializer="json", record_mode="none"),
        httpx.Client() as client,
    ):
        response = client.request(first["request"]["method"], first["request"]["uri"])
    assert first["response"]["status"]["code"] == 401
    assert response.status_code == 401
    assert response.text == first["response"]["body"]["string"]
    assert response.json()["title"] == "Unauthorized"
    assert response.headers["content-type"] == "application/json"


def test_the_recorded_next_links_lead_a_client_through_every_page() -> None:
    recorded = _interactions(PAGES)[1:]
    pages = [json.loads(interaction["response"]["body"]["string"]) for interaction in recorded]
    assert [page.get("next") for page in pages] == [recorded[1]["request"]["uri"], recorded[2]["request"]["uri"], None]
    with vcr.use_cassette(str(PAGES), serializer="json", record_mode="none") as cassette, httpx.Client() as client:
        items = _walk(client, recorded[0]["request"]["uri"])
        assert cassette.play_count == 3
    assert items == [item for page in pages for item in page["data"]]
    assert len(items) == 9


def test_a_request_the_cassette_does_not_hold_is_refused() -> None:
    base = _interactions(UNAUTHORIZED)[0]["request"]["uri"].rsplit("/v1/", 1)[0]
    with (
        vcr.use_cassette(str(UNAUTHORIZED), serializer="json", record_mode="none"),
        httpx.Client() as client,
        pytest.raises(CannotOverwriteExistingCassetteException),
    ):
        client.get(base + "/v1/ip/geo/198.51.100.7")


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    """pytest-recording's settings for these files (docs/cassettes.md): VCR.py's json serializer (they are `.json`),
    and matching without scheme, host and port, so a client configured for its own instance replays them."""
    return {"serializer": "json", "record_mode": "none", "match_on": ["method", "path", "query"]}


@pytest.mark.vcr(str(UNAUTHORIZED))
def test_pytest_recording_replays_a_shipped_cassette_to_a_client_of_another_address() -> None:
    first = _interactions(UNAUTHORIZED)[0]
    path = first["contractgate"]["path"]
    with httpx.Client(base_url="https://threatjammer.example.invalid") as client:
        response = client.get(path)
        assert response.status_code == first["response"]["status"]["code"]
        assert response.text == first["response"]["body"]["string"]
        with pytest.raises(CannotOverwriteExistingCassetteException):
            client.get("/v1/asn/64496")
