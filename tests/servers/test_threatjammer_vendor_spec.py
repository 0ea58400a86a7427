"""The Threat Jammer reference server against the VENDOR's published OpenAPI document (no overlay).

schemathesis builds a few positive requests (its coverage cases) for every operation of the document, signed with the
contract's Bearer auth and the server's own key, and runs four checks on each answer. Every failure
must be a known defect of the published document (`contracts/openapi/vendor/known-defects.toml`, each
with its reason), and every listed defect must still happen (a stale entry fails the test).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup

from contractgate._loader import load_contract
from contractgate.servers import RunningServer, serve_in_thread
from contractgate.servers.threatjammer import ThreatJammerServer

from ._schemathesis import Operation, default_auth, security_headers, signed_request

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "contracts" / "openapi" / "vendor"
DOCUMENT = VENDOR / "threatjammer-user-api-1.2.27.openapi.json"
KNOWN_DEFECTS = VENDOR / "known-defects.toml"
CASES = 6  # positive coverage cases per operation
CHECKS: dict[str, Callable[..., Any]] = {
    "not_a_server_error": schemathesis.checks.not_a_server_error,
    "status_code_conformance": schemathesis.checks.status_code_conformance,
    "content_type_conformance": schemathesis.checks.content_type_conformance,
    "response_schema_conformance": schemathesis.checks.response_schema_conformance,
}
_NEGATIVE_TTL = {"name": "n", "description": "d", "resource_type": "CIDR", "tags": ["T"], "ttl": -1}
# Valid requests the coverage cases do not reach, for answers the operations' texts describe.
EXTRA: dict[str, list[dict[str, Any]]] = {
    "GET /v1/denylist/reported/ip": [{"query": {"output_format": "CSV"}}],
    "POST /v1/denylist/private": [{"body": {"payload": _NEGATIVE_TTL}}],
    "POST /v1/allowlist/private": [{"body": {"payload": _NEGATIVE_TTL}}],
}
Found = dict[tuple[str, str], str]  # (operation label, check) -> the first failure's text

pytestmark = pytest.mark.xdist_group("threatjammer")


def known_defects() -> dict[tuple[str, str], str]:
    """(operation, check) -> reason, from the known-defects file (every entry needs all three)."""
    entries = tomllib.loads(KNOWN_DEFECTS.read_text(encoding="utf-8"))["defects"]
    defects = {}
    for entry in entries:
        assert set(entry) == {"operation", "check", "reason"}, entry
        assert entry["check"] in CHECKS, entry
        assert entry["reason"].strip(), entry
        defects[(entry["operation"], entry["check"])] = entry["reason"]
    return defects


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[RunningServer, httpx.Client]]:
    """The server on loopback, and a client signing with the contract's Bearer auth and the server's key."""
    contract = load_contract(ROOT / "contracts" / "threatjammer.yaml")
    with serve_in_thread(ThreatJammerServer()) as served:
        auth = default_auth(contract, served.server, "dublin")
        with httpx.Client(auth=auth, timeout=10, follow_redirects=False) as client:
            yield served, client


def _judge(response: httpx.Response, case: Case[Any], label: str, found: Found) -> None:
    for name, check in CHECKS.items():
        try:
            case.validate_response(response, checks=[check])
        except (Failure, FailureGroup) as failure:
            titles = [f.title for f in (failure.exceptions if isinstance(failure, FailureGroup) else [failure])]
            found.setdefault((label, name), f"{response.status_code}: {'; '.join(str(t) for t in titles)}")


def _cases(operation: Operation) -> list[Case[Any]]:
    """The operation's first positive coverage cases: deterministic, whatever other tests imported.

    Hypothesis draws, even derandomized, mix in constants of the modules loaded so far, so the same
    test drew different requests alone and in the full suite; the stale-defect check needs the same cases.
    """
    schema = operation.schema
    config = schema.config.generation_for(operation=operation)
    modes = [GenerationMode.POSITIVE]
    cases = list(islice(schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config), CASES))
    extra = [operation.Case(media_type="application/json", **kwargs) for kwargs in EXTRA.get(operation.label, [])]
    return cases + extra


def test_the_server_answers_every_vendor_operation_as_the_vendor_documents(
    running: tuple[RunningServer, httpx.Client],
) -> None:
    served, client = running
    schema = schemathesis.openapi.from_path(DOCUMENT)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 97, "the published document has 97 operations"
    dropped = security_headers(schema)
    base = served.urls["threatjammer:dublin"]

    def send(case: Case[Any]) -> httpx.Response:
        response = client.request(**signed_request(case, base, dropped))
        response.request.read()  # a multipart body is streamed; schemathesis reads the request back
        return response

    found: Found = {}
    for operation in sorted(operations, key=lambda op: (op.method.upper() == "DELETE", op.label)):
        for case in _cases(operation):
            _judge(send(case), case, operation.label, found)
    known = known_defects()
    unexpected = [f"{op} [{check}]: {text}" for (op, check), text in sorted(found.items()) if (op, check) not in known]
    stale = [f"{op} [{check}]: {known[(op, check)]}" for (op, check) in sorted(known) if (op, check) not in found]
    assert not unexpected, "failures that are no known defect of the document:\n" + "\n".join(unexpected)
    assert not stale, "known defects that no longer happen (remove them):\n" + "\n".join(stale)
