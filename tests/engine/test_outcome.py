"""What an outcome tells a report reader beyond its verdict."""

from __future__ import annotations

from contractgate._outcome import Exchange, Outcome, Status


def _exchange(method: str, url: str) -> Exchange:
    return Exchange(method=method, url=url, curl="curl …", status=200, elapsed_ms=1.0)


def test_an_outcome_names_each_operation_it_exercised_once() -> None:
    outcome = Outcome("R-1", "v", "t", "s", "u", "must", "hmac-window", Status.PASSED)
    outcome.exchanges = [
        _exchange("GET", "https://h/api/v3/indicators?resultLimit=1"),
        _exchange("GET", "https://h/api/v2/owners"),
        _exchange("GET", "https://h/api/v3/indicators?resultLimit=2"),
        _exchange("HEAD", "https://h"),
    ]
    assert outcome.covered == ["GET /api/v2/owners", "GET /api/v3/indicators", "HEAD /"]
    assert outcome.to_dict()["covered"] == outcome.covered
