"""No reference server answers 5xx to hostile parameters: schemathesis draws, and repeated/empty/odd/huge values.

Each vendor's server runs on loopback and every operation of the project's OpenAPI description is sent
(signed with the contract's own auth) drawn requests in positive and negative mode, schemathesis's
coverage cases, and hand-written hostile values for every query and path parameter: repeated, empty,
non-numeric and huge. A clean server must never answer 5xx to any of them; a 4xx must carry the
vendor's documented error shape.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import Case, GenerationMode
from schemathesis.core.failures import Failure, FailureGroup

from contractgate._contract import Contract
from contractgate._errors import Violation
from contractgate._expect import check_expect, status_matches
from contractgate._loader import load_contract
from contractgate.checks._fuzz import FuzzParams, ResponseRule, _on_shallow_stack
from contractgate.servers import RunningServer, serve_in_thread, server_class
from contractgate.servers.assemblyline import AssemblylineServer
from contractgate.servers.threatconnect import ThreatConnectServer

from ._schemathesis import Operation, contract_description, default_auth, security_headers, signed_request

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette asks for httpx2, which this project does not use
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]
# Values no parameter of any vendor documents: empty, not a number, not a finite number, past 64 bits, long.
HOSTILE = [
    "",
    "null",
    "abc",
    "true",
    "-1",
    "1.5",
    "1e3",
    "NaN",
    "99999999999999999999999",
    "9" * 400,
    "\x00",
    "x" * 5000,
]
DRAWN = 3  # drawn requests per operation and generation mode
COVERAGE = 12  # schemathesis coverage cases per operation


@dataclass(frozen=True)
class Vendor:
    """How to reach one vendor's operations: its region, and which target serves an operation."""

    name: str
    region: str | None = None
    report_host: str | None = None  # operations whose own server URL has this go to the `-report` target

    def target(self, operation: Operation) -> str:
        """The running app (target key) that serves the operation."""
        servers = operation.definition.raw.get("servers") or operation.schema.raw_schema["paths"][operation.path].get(
            "servers", []
        )
        name = self.name
        if self.report_host and any(self.report_host in server["url"] for server in servers):
            name = f"{self.name}-report"
        return f"{name}:{self.region}" if self.region else name


VENDORS = [Vendor("assemblyline"), Vendor("threatconnect"), Vendor("threatjammer", "dublin", ".report.")]


@dataclass
class Served:
    """A running reference server with the contract's default auth and the OpenAPI operations to fuzz."""

    vendor: Vendor
    running: RunningServer
    client: httpx.Client
    operations: list[Operation]
    error_shapes: list[ResponseRule]
    security_headers: frozenset[str]

    def send(self, operation: Operation, case: Case[Any]) -> httpx.Response:
        """Send a case (its security headers replaced by the contract's auth) to the operation's app."""
        base_url = self.running.urls[self.vendor.target(operation)]
        response = self.client.request(**signed_request(case, base_url, self.security_headers))
        response.request.read()  # a multipart body is streamed; schemathesis reads the request back
        return response

    def send_raw(self, operation: Operation, path: str, query: list[tuple[str, str]]) -> httpx.Response:
        """Send a request built by hand: a formatted path and query pairs sent in order (repeats kept)."""
        url = self.running.urls[self.vendor.target(operation)] + path
        return self.client.request(operation.method.upper(), url, params=query)


def _error_shapes(contract: Contract) -> list[ResponseRule]:
    """The vendor-wide expectations of the contract's own fuzz rule (the one signing with the default auth)."""
    for rule in contract.rules:
        if rule.kind == "fuzz":
            params = FuzzParams.model_validate(rule.params)
            if params.auth is None:
                return params.responses
    raise AssertionError(f"{contract.vendor} has no fuzz rule with the default auth")


@pytest.fixture(
    scope="module", params=[pytest.param(v, id=v.name, marks=pytest.mark.xdist_group(v.name)) for v in VENDORS]
)
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """One vendor's reference server on loopback, and a client signing with the contract's default auth."""
    vendor: Vendor = request.param
    contract = load_contract(ROOT / "contracts" / f"{vendor.name}.yaml")
    schema = contract_description(contract)
    operations = [result.ok() for result in schema.get_all_operations()]
    with serve_in_thread(server_class(vendor.name)()) as running:
        auth = default_auth(contract, running.server, vendor.region)
        verify = str(running.ca_pem) if running.ca_pem is not None else True  # the TLS server's own CA
        with httpx.Client(auth=auth, timeout=10, follow_redirects=False, verify=verify) as client:
            yield Served(vendor, running, client, operations, _error_shapes(contract), security_headers(schema))


def _server_error(response: httpx.Response) -> str | None:
    if response.status_code < 500:
        return None
    return f"{response.request.method} {response.request.url} -> {response.status_code} {response.text[:200]}"


def _shape_error(served: Served, response: httpx.Response) -> str | None:
    """The first vendor-wide expectation (error shape, envelope) the answer breaks."""
    for rule in served.error_shapes:
        if rule.when is None or status_matches(response.status_code, rule.when):
            try:
                check_expect(response, rule.expect)
            except Violation as violation:
                request = response.request
                return f"{request.method} {request.url} -> {response.status_code}: {rule.name}: {violation}"
    return None


def _judge(served: Served, operation: Operation, case: Case[Any], found: list[str]) -> None:
    response = served.send(operation, case)
    try:
        case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])
    except (Failure, FailureGroup):
        found.append(_server_error(response) or f"{operation.label}: schemathesis flagged {response.status_code}")


def _draw(served: Served, operation: Operation, mode: GenerationMode, found: list[str]) -> Callable[[], None]:
    """A derandomized hypothesis run of a few drawn cases that records 5xx answers instead of shrinking them."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=DRAWN,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def draw(case: Case[Any]) -> None:
        _judge(served, operation, case, found)

    return draw  # type: ignore[no-any-return]


def test_schemathesis_finds_no_server_error(served: Served) -> None:
    """Coverage cases and drawn cases, positive and negative, of every operation: never a 5xx."""
    found: list[str] = []
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    for operation in served.operations:
        schema = operation.schema
        config = schema.config.generation_for(operation=operation)
        cases = schema.iter_coverage_cases(operation, generation_modes=modes, generation_config=config)

        def cover(cases: Iterator[Case[Any]] = cases, operation: Operation = operation) -> None:
            for case in islice(cases, COVERAGE):
                _judge(served, operation, case, found)

        # Coverage cases draw through hypothesis too: the same fresh, collector-paused thread as the draws
        # (CPython 3.11's lambda-source parse otherwise fails now and then deep inside a loaded test run).
        _on_shallow_stack(cover)
        # Negative mode needs a parameter or a body to break (security headers are the contract's own).
        breakable = bool(list(operation.path_parameters) or list(operation.query) or operation.body)
        for mode in modes if breakable else modes[:1]:
            _on_shallow_stack(_draw(served, operation, mode, found))
    assert not found, "\n".join(found)


def _baseline(operation: Operation) -> Case[Any]:
    """The operation's default valid request (schemathesis's first positive coverage case)."""
    schema = operation.schema
    config = schema.config.generation_for(operation=operation)
    return next(
        schema.iter_coverage_cases(operation, generation_modes=[GenerationMode.POSITIVE], generation_config=config)
    )


def _pairs(query: dict[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, str(item).lower() if isinstance(item, bool) else str(item)))
    return pairs


def _query_variants(operation: Operation, baseline: Case[Any]) -> Iterator[list[tuple[str, str]]]:
    """For each query parameter: hostile values, and repeats of a valid and a hostile value in both orders."""
    query = dict(baseline.query or {})
    required = {parameter.name for parameter in operation.query if parameter.is_required}
    for parameter in operation.query:
        name = parameter.name
        valid = _pairs({name: query[name]})[0][1] if name in query else "1"
        every = _pairs({k: v for k, v in query.items() if k != name})
        only_required = _pairs({k: v for k, v in query.items() if k != name and k in required})
        for others in [every, only_required] if only_required != every else [every]:
            for value in HOSTILE:
                yield [*others, (name, value)]
            for first, second in [("null", "null"), (valid, "null"), ("null", valid), (valid, valid), ("", "")]:
                yield [*others, (name, first), (name, second)]


def _path_variants(operation: Operation, baseline: Case[Any]) -> Iterator[str]:
    """For each path parameter: the path with a hostile value in its place (the others stay valid)."""
    values = {k: str(v) for k, v in (baseline.path_parameters or {}).items()}
    for name in values:
        for value in HOSTILE[1:]:  # an empty segment is another route (a redirect or a 404), not this operation
            path = operation.path
            for other, text in {**values, name: value}.items():
                path = path.replace("{" + other + "}", quote(text, safe=""))
            yield path


def _formatted_path(operation: Operation, baseline: Case[Any]) -> str:
    path = operation.path
    for name, value in (baseline.path_parameters or {}).items():
        path = path.replace("{" + name + "}", quote(str(value), safe=""))
    return path


def test_repeated_empty_non_numeric_and_huge_parameters_get_no_server_error(served: Served) -> None:
    """Hand-written hostile values for every query and path parameter of every operation: never a 5xx."""
    found: list[str] = []
    sent = 0
    for operation in served.operations:
        baseline = _baseline(operation)
        path = _formatted_path(operation, baseline)
        for pairs in _query_variants(operation, baseline):
            response = served.send_raw(operation, path, pairs)
            sent += 1
            if problem := _server_error(response) or _shape_error(served, response):
                found.append(problem)
        base_query = _pairs(dict(baseline.query or {}))
        for hostile_path in _path_variants(operation, baseline):
            response = served.send_raw(operation, hostile_path, base_query)
            sent += 1
            if problem := _server_error(response) or _shape_error(served, response):
                found.append(problem)
    assert sent >= len(served.operations), "every operation got hostile requests"
    assert not found, f"{len(found)} of {sent} hostile requests got a server error:\n" + "\n".join(found)


@pytest.fixture
def assemblyline() -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The Assemblyline app in process, and the headers of its read-write API key."""
    server = AssemblylineServer()
    headers = {"X-USER": server.credentials["USER"], "X-APIKEY": server.credentials["APIKEY"]}
    with TestClient(server.apps()[0].asgi, base_url="http://al.test", raise_server_exceptions=False) as client:
        yield client, headers


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("query=0&rows=null&rows=null", 400, "SearchException: failed to parse field [size]"),
        ("query=*&rows=", 400, "SearchException: failed to parse field [size]"),
        ("query=*&offset=abc", 400, "SearchException: failed to parse field [from]"),
        ("query=*&offset=1.5&deep_paging_id=*", 400, "SearchException: failed to parse field [from]"),
        ("query=*&rows=null&rows=5", 400, "SearchException: failed to parse field [size]"),
        ("query=*&rows=5&rows=null", 200, ""),  # Flask's request.args.get reads the first of repeated values
        ("rows=null", 400, "There was no search query."),  # the view checks the query before the search runs
    ],
)
def test_assemblyline_search_answers_a_bad_offset_or_rows_with_the_400_envelope(
    assemblyline: tuple[TestClient, dict[str, str]], query: str, status: int, message: str
) -> None:
    client, headers = assemblyline
    response = client.get(f"/api/v4/search/submission/?{query}", headers=headers)
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"api_response", "api_error_message", "api_server_version", "api_status_code"}
    assert document["api_status_code"] == status
    assert document["api_error_message"] == message
    if status == 200:
        assert document["api_response"]["rows"] == 5


@pytest.mark.parametrize(
    ("body", "status", "rows"),
    [
        ({"query": "*", "rows": None}, 200, 25),  # AL drops parameters that are null
        ({"query": "*", "rows": "3"}, 200, 3),
        ({"query": "*", "rows": "x"}, 400, None),
        ({"query": "*", "rows": True}, 400, None),
        ({"query": "*", "offset": 1.5}, 400, None),
        ({"query": "*", "offset": [1]}, 400, None),
    ],
)
def test_assemblyline_post_search_answers_odd_json_values_without_a_server_error(
    assemblyline: tuple[TestClient, dict[str, str]], body: dict[str, Any], status: int, rows: int | None
) -> None:
    client, headers = assemblyline
    response = client.post("/api/v4/search/submission/", json=body, headers=headers)
    assert response.status_code == status, response.text
    document = response.json()
    assert document["api_status_code"] == status
    if rows is None:
        assert document["api_error_message"].startswith("SearchException: failed to parse field [")
    else:
        assert document["api_response"]["rows"] == rows


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x.txt", "plaintext": "hello", "params": {"ttl": "abc"}}, 400),
        ({"name": "x.txt", "plaintext": "hello", "params": {"priority": [1]}}, 400),
        ({"name": "x.txt", "plaintext": "hello", "params": {"priority": True}}, 400),
        ({"name": "x.txt", "plaintext": "hello", "params": {"priority": None}}, 200),  # a null keeps the default
        ({"name": "x.txt", "plaintext": "hello", "params": {"priority": "300", "ttl": 2}}, 200),
    ],
)
@pytest.mark.parametrize("path", ["/api/v4/submit/", "/api/v4/ingest/"])
def test_assemblyline_submission_params_that_are_not_integers_are_a_400(
    assemblyline: tuple[TestClient, dict[str, str]], path: str, body: dict[str, Any], status: int
) -> None:
    client, headers = assemblyline
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == status, response.text
    document = response.json()
    assert document["api_status_code"] == status
    if status == 400:
        assert document["api_response"] == {}
        assert document["api_error_message"].startswith("Invalid value for params.")
    elif path == "/api/v4/submit/" and body["params"]["priority"] is not None:
        assert document["api_response"]["params"]["priority"] == 300


@pytest.fixture
def threatconnect() -> Iterator[tuple[TestClient, httpx.Auth]]:
    """The ThreatConnect app in process, and the contract's HMAC signing with the server's credentials."""
    server = ThreatConnectServer()
    auth = default_auth(load_contract(ROOT / "contracts" / "threatconnect.yaml"), server, None)
    with TestClient(
        server.apps()[0].asgi,
        base_url="https://tc.test",  # the server refuses plain HTTP, as documented
        raise_server_exceptions=False,
    ) as client:
        yield client, auth


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"rating": "abc"}, 400),
        ({"confidence": "abc"}, 400),
        ({"confidence": 2.5}, 400),
        ({"rating": [1]}, 400),
        ({"rating": True}, 400),
        ({"rating": 10**400}, 400),
        ({"rating": "NaN"}, 400),
        ({"rating": "3", "confidence": 50}, 201),
        ({"rating": None, "confidence": None}, 201),
    ],
)
def test_threatconnect_v3_create_refuses_non_numeric_rating_and_confidence_with_the_error_body(
    threatconnect: tuple[TestClient, httpx.Auth], fields: dict[str, Any], status: int
) -> None:
    client, auth = threatconnect
    body = {"type": "Host", "hostName": "fuzz.example.org", **fields}
    response = client.post("/api/v3/indicators", json=body, auth=auth)
    assert response.status_code == status, response.text
    document = response.json()
    assert document["status"] == ("Error" if status == 400 else "Success")
    if status == 400:
        assert next(iter(fields)) in document["message"]
    listed = client.get("/api/v3/indicators", params={"tql": 'summary EQ "fuzz.example.org"'}, auth=auth)
    assert len(listed.json()["data"]) == (0 if status == 400 else 1), "a refused create stores nothing"
