"""Kind `hmac-window` over a scope: every member is tried at every edge, so one lax member fails the rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.checks._hmac_window import HmacWindowParams, boundary_cases
from contractgate.servers import serve_in_thread
from tests.fixtures.mini_server import MiniServer

FIXTURES = Path(__file__).parent.parent / "fixtures"
ONE = "      request: {path: /items}\n      scheme: hmac"
SCOPE = "      requests: [{path: /items}, {path: /items, query: {limit: 1}}]\n      scheme: hmac"


class LaxWithQueryServer(MiniServer):
    """The mini vendor, but a request with a query string is held to a ten-minute window."""

    def _window(self, request: Request) -> int:
        return 600 if request.scope["query_string"] else 300


def _contract(tmp_path: Path, params: str) -> Contract:
    text = (FIXTURES / "mini.yaml").read_text(encoding="utf-8")
    assert ONE in text
    path = tmp_path / "mini.yaml"
    path.write_text(text.replace(ONE, params), encoding="utf-8")
    return load_contract(path)


def _window_outcome(contract: Contract) -> tuple[Status, list[str]]:
    with serve_in_thread(LaxWithQueryServer()) as running:
        config = bundled_config(contract, running, rule_globs=["MINI-AUTH-002"])
        outcome = Engine([contract], config).run().outcomes[0]
    return outcome.status, [exchange.curl for exchange in outcome.exchanges]


def test_boundary_cases_put_every_member_at_every_edge() -> None:
    cases = boundary_cases(3, 300, 1)
    assert {(member, offset) for member in range(3) for offset in (0, 299, -299, 301, -301)} == set(cases)
    assert len(cases) == 15


def test_a_lax_member_of_the_scope_fails_the_rule(tmp_path: Path) -> None:
    status, curls = _window_outcome(_contract(tmp_path, SCOPE))
    assert status == Status.FAILED
    assert any("limit=1" in curl for curl in curls)


def test_one_request_misses_the_lax_member(tmp_path: Path) -> None:
    status, curls = _window_outcome(_contract(tmp_path, ONE))
    assert status == Status.PASSED
    assert not any("limit=1" in curl for curl in curls)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"request": {"path": "/a"}, "requests": [{"path": "/b"}]},
        {"requests": []},
    ],
)
def test_exactly_one_of_request_or_requests(params: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="either `request` or a non-empty `requests`"):
        HmacWindowParams.model_validate({"scheme": "hmac", "accept": {}, "reject": {}, **params})


def test_scope_is_the_request_or_the_list() -> None:
    one = HmacWindowParams.model_validate({"request": {"path": "/a"}, "scheme": "hmac", "accept": {}, "reject": {}})
    many = HmacWindowParams.model_validate(
        {"requests": [{"path": "/a"}, {"path": "/b"}], "scheme": "hmac", "accept": {}, "reject": {}}
    )
    assert [r.path for r in one.scope] == ["/a"]
    assert [r.path for r in many.scope] == ["/a", "/b"]
