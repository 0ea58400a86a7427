"""The fuzz kind on a small catalogue API: auth, vendor-wide rules, write safety, record and replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode

from contractgate._contract import Contract, Profile
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._plan import _profiled as profiled
from contractgate._plan import rule_cost
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate._transport import READ_METHODS
from contractgate.checks._fuzz import (
    FuzzParams,
    _boundaries,
    drawing,
    family_of,
    load_openapi,
    representatives,
    select_operations,
    sent_operations,
)
from contractgate.servers import RunningServer, serve_in_thread
from tests.fixtures.fuzz_server import FuzzServer

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="module")
def contract() -> Contract:
    """The catalogue's contract: a negative-mode read fuzz, a write fuzz, a wrong-key fuzz."""
    return load_contract(FIXTURES / "fuzz.yaml")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FuzzServer, RunningServer]]:
    """The catalogue on loopback; tests reset it and switch faults back."""
    server = FuzzServer()
    with serve_in_thread(server) as running:
        yield server, running


def _run(
    contract: Contract, running: RunningServer, *rules: str, allow_writes: bool = False, **config: object
) -> dict[str, Outcome]:
    settings = bundled_config(contract, running, rule_globs=list(rules), **config)
    for target in settings.targets.values():
        target.allow_writes = allow_writes
    return {o.rule_id: o for o in Engine([contract], settings).run().outcomes}


def _relative(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_clean_server_passes_and_each_read_carries_the_contract_auth(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    server, running = served
    server.reset()
    outcomes = _run(contract, running, "FZ-READ-001", "FZ-AUTH-001")
    assert {k: o.status for k, o in outcomes.items()} == {"FZ-READ-001": Status.PASSED, "FZ-AUTH-001": Status.PASSED}
    read = outcomes["FZ-READ-001"]
    # Boundaries plus drawn cases for two read operations.
    assert len(read.exchanges) >= 12
    assert all("x-key: REDACTED" in x.curl for x in read.exchanges)
    assert any("limit=50" in x.url for x in read.exchanges), "the documented maximum is always a case"
    assert any(x.url.endswith("/items/1") for x in read.exchanges), "the documented minimum is always a case"


@pytest.mark.parametrize("fault", ["id-as-string", "error-no-title", "limit-unchecked"])
def test_each_fault_is_caught_with_a_masked_curl_line(
    contract: Contract, served: tuple[FuzzServer, RunningServer], fault: str
) -> None:
    server, running = served
    server.switch.set([fault])
    try:
        outcome = _run(contract, running, "FZ-READ-001")["FZ-READ-001"]
    finally:
        server.switch.set(())
    assert outcome.status == Status.FAILED, outcome.message
    assert outcome.where.startswith(("GET /items", "OPTIONS /items")), outcome.where
    last = outcome.exchanges[-1]
    assert last.curl.startswith("curl -X ")
    assert server.credentials["KEY"] not in last.curl
    assert "REDACTED" in last.curl


def test_vendor_wide_response_rule_catches_what_the_description_allows(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    server, running = served
    server.switch.set(["error-no-title"])
    try:
        outcome = _run(contract, running, "FZ-AUTH-001")["FZ-AUTH-001"]
    finally:
        server.switch.set(())
    assert outcome.status == Status.FAILED
    assert "refused" in outcome.message
    assert outcome.where == "json title"


def test_fuzzing_never_sends_a_write_to_a_target_that_did_not_opt_in(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    server, running = served
    server.reset()
    outcomes = _run(contract, running, "FZ-*")
    assert outcomes["FZ-WRITE-001"].status == Status.SKIPPED
    assert outcomes["FZ-READ-001"].status == Status.PASSED, outcomes["FZ-READ-001"].message
    methods = {method for method, _ in server.received}
    assert methods <= READ_METHODS, methods
    assert len(server.received) >= 20


def test_the_transport_refuses_fuzzed_writes_whatever_planned_them(
    contract: Contract, served: tuple[FuzzServer, RunningServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, running = served
    server.reset()
    # Pretend the engine's own skip were missing: the write rule now runs, unopted, and plans writes.
    monkeypatch.setattr(Engine, "_may_run", lambda self, contract, rule: None)
    outcome = _run(contract, running, "FZ-WRITE-001")["FZ-WRITE-001"]
    assert outcome.status == Status.ERROR
    assert "was not sent" in outcome.message
    assert server.received == []


def test_opted_in_target_receives_the_fuzzed_writes(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    server, running = served
    server.reset()
    outcome = _run(contract, running, "FZ-WRITE-001", allow_writes=True)["FZ-WRITE-001"]
    assert outcome.status == Status.PASSED, outcome.message
    assert {method for method, _ in server.received} == {"POST", "PUT", "DELETE"}


def test_replay_re_sends_exactly_the_recorded_cases(
    contract: Contract, served: tuple[FuzzServer, RunningServer], tmp_path: Path
) -> None:
    server, running = served
    server.reset()
    recorded = _run(contract, running, "FZ-*", allow_writes=True, mode="record", cassettes=tmp_path)
    assert all(o.status == Status.PASSED for o in recorded.values()), {k: o.message for k, o in recorded.items()}
    cassette = (tmp_path / "fuzzmini" / "FZ-READ-001.json").read_text()
    assert server.credentials["KEY"] not in cassette
    server.reset()
    for _ in range(2):
        replayed = _run(contract, running, "FZ-*", mode="replay", cassettes=tmp_path)
        for rule, outcome in replayed.items():
            assert outcome.status == Status.PASSED, (rule, outcome.message)
            assert [_relative(x.url) for x in outcome.exchanges] == [_relative(x.url) for x in recorded[rule].exchanges]
    assert server.received == [], "replay must not touch the network"


def test_path_variants_are_drawn_over_the_description_with_case_flips(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    _, running = served
    outcome = _run(contract, running, "FZ-SLASH-001")["FZ-SLASH-001"]
    assert outcome.status == Status.PASSED, outcome.message
    paths = [_relative(x.url) for x in outcome.exchanges]
    assert "/items/" in paths
    flipped = {p for p in paths if p.lower() == "/items" and p != "/items"}
    assert len(flipped) >= 2, paths


def _with_safe(contract: Contract, safe: list[str], include: list[str]) -> Contract:
    """A read-only fuzz rule whose `safe` entry cites the docs for the given POST operations."""
    rule = contract.rule("FZ-READ-001").model_copy(
        update={
            "id": "FZ-LOOKUP-001",
            "params": {
                "openapi": "fuzz_openapi.json",
                "include": include,
                "examples": 2,
                "checks": ["not_a_server_error"],
                "safe": [{"operations": safe, "doc": "DOC", "section": "Reference"}],
            },
        }
    )
    return contract.model_copy(update={"rules": [rule]})


def test_a_cited_safe_operation_is_fuzzed_on_a_read_only_target_and_no_other_write(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    server, running = served
    server.reset()
    lookup = _with_safe(contract, ["POST /items"], [])
    outcome = _run(lookup, running, "FZ-LOOKUP-001")["FZ-LOOKUP-001"]
    assert outcome.status == Status.PASSED, outcome.message
    posted = {path for method, path in server.received if method == "POST"}
    assert posted == {"/items"}
    assert {method for method, _ in server.received} == {"GET", "POST"}


def test_a_safe_operation_the_description_lacks_is_a_set_up_error(
    contract: Contract, served: tuple[FuzzServer, RunningServer]
) -> None:
    server, running = served
    server.reset()
    lookup = _with_safe(contract, ["POST /itemz"], ["^POST "])
    outcome = _run(lookup, running, "FZ-LOOKUP-001")["FZ-LOOKUP-001"]
    assert outcome.status == Status.ERROR
    assert "POST /itemz" in outcome.message
    assert server.received == []


# --- request cost: one operation per handler family, distinct boundary cases, operations spread over regions ---

PACKS = Path(__file__).resolve().parents[2] / "contracts"


def _description(vendor: str) -> schemathesis.BaseSchema:
    overlays = {"threatjammer": PACKS / "openapi" / "threatjammer.overlay.json"}
    files = {"threatjammer": PACKS / "openapi" / "vendor" / "threatjammer-user-api-1.2.27.openapi.json"}
    return load_openapi(files.get(vendor, PACKS / "openapi" / f"{vendor}.json"), overlays.get(vendor))


def test_one_operation_per_family_is_the_member_with_the_most_parameters() -> None:
    operations = select_operations(_description("threatjammer"), [], ["^(POST|PUT|PATCH|DELETE) "])
    chosen = representatives(operations, "/v1/[^/]+")
    families = {family_of(operation, "/v1/[^/]+") for operation in operations}
    assert len(chosen) == len(families) < len(operations)
    assert {family_of(operation, "/v1/[^/]+") for operation in chosen} == families
    labels = [operation.label for operation in chosen]
    # the log family: the address lookup (a path parameter and two filters) beats the lookup by id (one parameter)
    assert "GET /v1/log/ip/{ip_address}" in labels
    assert "GET /v1/log/ip/id/{logchange_id}" not in labels
    assert "GET /v1/geo/{ip_address}" in labels
    assert labels == [operation.label for operation in operations if operation in chosen]  # description order
    # without a pattern, or where it does not match, each operation is a family alone
    assert representatives(operations, None) == operations
    assert representatives(operations, "^NO MATCH") == operations


def test_boundary_cases_that_differ_only_in_headers_never_sent_are_one_request() -> None:
    (mine,) = select_operations(_description("threatconnect"), ["^GET /v2/owners/mine$"], [])
    records = _boundaries(mine, [GenerationMode.POSITIVE], 6, lambda method: method in READ_METHODS)
    # schemathesis gives three coverage cases here, which differ only in the Accept and auth headers dropped
    assert records == [{"method": "GET", "path_parameters": {}, "query": {}, "headers": {}}]
    (owners,) = select_operations(_description("threatconnect"), ["^GET /v2/owners$"], [])
    many = _boundaries(owners, [GenerationMode.POSITIVE], 6, lambda method: method in READ_METHODS)
    assert len(many) == 6
    assert len({json.dumps(r, sort_keys=True) for r in many}) == 6


def test_spread_regions_sends_each_operation_once_and_every_region_some() -> None:
    tj = load_contract(PACKS / "threatjammer.yaml")
    rule = next(rule for rule in tj.rules if rule.id == "TJ-FUZZ-001")
    spread = FuzzParams.model_validate({**rule.params, "spread_regions": True})
    everywhere = spread.model_copy(update={"spread_regions": False})
    one_region = everywhere.model_copy(update={"regions": ["dublin"]})
    spread_cost = rule_cost(tj, rule, spread)
    assert spread_cost.total == rule_cost(tj, rule, one_region).total
    assert 2 * spread_cost.total == rule_cost(tj, rule, everywhere).total
    per_region = {key: count for (key, _), count in spread_cost.requests.items()}
    assert set(per_region) == {"threatjammer:dublin", "threatjammer:paris"}
    assert min(per_region.values()) > 0


def test_a_profile_with_fuzz_families_sends_one_operation_per_family_only_where_the_rule_declares_families() -> None:
    tj = load_contract(PACKS / "threatjammer.yaml")
    rule = next(rule for rule in tj.rules if rule.id == "TJ-FUZZ-002")
    families = Profile(fuzz_families=True)
    params = profiled(tj, rule, families)
    assert params.one_per_family  # type: ignore[attr-defined]
    assert not profiled(tj, rule, Profile()).one_per_family  # type: ignore[attr-defined]
    assert rule_cost(tj, rule, params).total < rule_cost(tj, rule, profiled(tj, rule, Profile())).total
    bare = rule.model_copy(update={"params": {k: v for k, v in rule.params.items() if k != "families"}})
    assert not profiled(tj, bare, families).one_per_family  # type: ignore[attr-defined]


def test_draws_per_family_draws_only_on_each_familys_representative_and_keeps_every_boundary() -> None:
    tj = load_contract(PACKS / "threatjammer.yaml")
    rule = next(rule for rule in tj.rules if rule.id == "TJ-FUZZ-003")
    per_family = FuzzParams.model_validate({**rule.params, "draws_per_family": True, "examples": 2})
    per_operation = per_family.model_copy(update={"draws_per_family": False})
    no_draws = per_family.model_copy(update={"examples": 0})
    operations = sent_operations(_description("threatjammer"), per_family, writes=False)
    drawn = drawing(operations, per_family)
    assert 0 < sum(drawn) == len(representatives(operations, per_family.families)) < len(operations)
    assert drawing(operations, per_operation) == [True] * len(operations)
    boundaries = rule_cost(tj, rule, no_draws).total
    assert rule_cost(tj, rule, per_family).total == boundaries + 2 * sum(drawn)
    assert rule_cost(tj, rule, per_operation).total == boundaries + 2 * len(operations)
