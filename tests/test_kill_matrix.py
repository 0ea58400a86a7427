"""Every rule can fail: each reference-server fault is caught by its rule, and the clean server passes."""

from __future__ import annotations

import functools
import json
import tomllib
from pathlib import Path

import pytest

from contractgate._loader import load_contract
from contractgate._plan import plan_contract
from contractgate._selftest import MatrixResult, default_jobs, kill_matrix, parallel_kill_matrix
from contractgate.cli import main
from contractgate.servers import (
    Fault,
    UnknownFault,
    fault_table,
    serve_in_process,
    serve_in_thread,
    server_class,
    vendors,
    with_levels,
)

ROOT = Path(__file__).resolve().parents[1]
VENDORS = [vendor for vendor in vendors() if (ROOT / "contracts" / f"{vendor}.yaml").is_file()]
FAULTS = [
    pytest.param(vendor, fault, id=f"{vendor}:{fault.name}", marks=pytest.mark.xdist_group(vendor))
    for vendor in VENDORS
    for fault in server_class(vendor).faults.values()
]
PER_VENDOR = [pytest.param(vendor, marks=pytest.mark.xdist_group(vendor)) for vendor in VENDORS]
# Vendors held to "every rule fails alone for some fault" (the lead adds the others as their faults land).
FAILS_ALONE = PER_VENDOR  # every vendor: each rule has a fault it alone catches, or a listed reason
# "Caught by that rule and by few others": a fault may trip a handful of related rules, no more.
MAX_COLLATERAL = 4


@functools.cache
def matrix(vendor: str) -> MatrixResult:
    """The whole kill matrix of one vendor, computed once per test session, over one worker process per CPU.

    Each vendor's matrix stays in one xdist group; its fault runs spread over every CPU so the largest matrix is
    not the session's critical path on one core (two groups at once oversubscribe for a while, which costs less).
    """
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    return parallel_kill_matrix(contract, cassettes=ROOT / "cassettes", jobs=default_jobs())


def test_there_is_something_to_prove() -> None:
    assert VENDORS, "no vendor has both a contract and a reference server"


@pytest.mark.parametrize("vendor", PER_VENDOR)
def test_clean_server_passes_every_rule(vendor: str) -> None:
    problems = [(o.rule_id, str(o.status), o.message) for o in matrix(vendor).clean_problems()]
    assert not problems


@pytest.mark.parametrize("vendor", PER_VENDOR)
def test_every_rule_has_a_fault_aimed_at_it(vendor: str) -> None:
    assert not matrix(vendor).unproven_rules()


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_fault_names_a_rule_of_the_contract(vendor: str) -> None:
    rules = {rule.id for rule in load_contract(ROOT / "contracts" / f"{vendor}.yaml").rules}
    assert {f.name: f.rule for f in server_class(vendor).faults.values() if f.rule not in rules} == {}


@pytest.mark.parametrize(("vendor", "fault"), FAULTS)
def test_fault_is_caught_by_its_rule(vendor: str, fault: Fault) -> None:
    result = matrix(vendor)
    caught = result.caught.get(fault.name, [])
    assert not result.missed(fault), (
        f"{fault.name} got past {result.missed(fault)}; rules that failed: {caught}, "
        f"errors: {result.errors.get(fault.name)}"
    )
    assert len(result.collateral(fault)) <= MAX_COLLATERAL, f"{fault.name} also trips {result.collateral(fault)}"


def allowed_never_alone(vendor: str) -> dict[str, str]:
    """The rules tests/fails_alone/<vendor>.toml excuses from failing alone, with the reason for each."""
    path = ROOT / "tests" / "fails_alone" / f"{vendor}.toml"
    if not path.is_file():
        return {}
    entries = tomllib.loads(path.read_text(encoding="utf-8"))
    reasons = {rule: entry.get("reason") if isinstance(entry, dict) else None for rule, entry in entries.items()}
    blank = sorted(rule for rule, reason in reasons.items() if not isinstance(reason, str) or not reason.strip())
    assert not blank, f"{path.name}: entries without a reason: {blank}"
    return {rule: str(reason) for rule, reason in reasons.items()}


@pytest.mark.parametrize("vendor", FAILS_ALONE)
def test_every_rule_fails_alone_for_some_fault(vendor: str) -> None:
    allowed = allowed_never_alone(vendor)
    never_alone = matrix(vendor).rules_never_alone()
    assert sorted(set(never_alone) - set(allowed)) == [], "rules no fault makes fail on their own"
    stale = sorted(set(allowed) - set(never_alone))
    assert stale == [], f"tests/fails_alone/{vendor}.toml lists rules that now fail alone: {stale}"


def test_a_rule_fails_alone_only_when_it_is_the_one_rule_a_fault_trips() -> None:
    faults = [Fault("solo", "R-1", "trips R-1 only"), Fault("pair", "R-2", "trips R-2 and R-3")]
    result = MatrixResult("v", ["R-1", "R-2", "R-3"], faults, caught={"solo": ["R-1"], "pair": ["R-2", "R-3"]})
    assert result.sole_catcher(faults[0]) == "R-1"
    assert result.sole_catcher(faults[1]) is None
    assert result.rules_never_alone() == ["R-2", "R-3"]


def test_a_rule_pins_a_value_only_when_a_value_level_fault_trips_it_alone() -> None:
    faults = [
        Fault("gone", "R-1", "drops a field R-1 reads"),
        Fault("off-by-one", "R-1", "a count one too high", level="value"),
        Fault("ms", "R-2", "seconds become milliseconds, also trips R-3", level="value"),
    ]
    result = MatrixResult(
        "v", ["R-1", "R-2", "R-3"], faults, caught={"gone": ["R-1"], "off-by-one": ["R-1"], "ms": ["R-2", "R-3"]}
    )
    assert result.value_alone("R-1") == ["off-by-one"]
    assert result.rules_without_value_fault() == ["R-2", "R-3"]
    assert result.level_split("R-1") == {"form": 1, "value": 1}
    assert result.level_split("R-3") == {"form": 0, "value": 0}


def test_levels_are_given_only_to_faults_the_server_defines() -> None:
    known = {"a": Fault("a", "R-1", "x"), "b": Fault("b", "R-1", "y")}
    marked = with_levels(known, ["b"])
    assert [marked["a"].level, marked["b"].level] == ["form", "value"]
    with pytest.raises(UnknownFault, match="nope"):
        with_levels(known, ["nope"])


def test_a_fault_table_gives_collateral_rules_and_levels_only_to_faults_it_defines() -> None:
    rows = [Fault("a", "R-1", "x"), Fault("b", "R-2", "y")]
    table = fault_table(rows, {"a": ("R-9",)}, ["b"])
    assert [(f.name, f.also, f.level) for f in table.values()] == [("a", ("R-9",), "form"), ("b", (), "value")]
    with pytest.raises(UnknownFault, match=r"not defined by this server: typo"):
        fault_table(rows, {"typo": ("R-9",)}, [])


@pytest.mark.parametrize("vendor", PER_VENDOR)
def test_every_rule_has_a_value_level_fault_it_alone_catches(vendor: str) -> None:
    assert matrix(vendor).rules_without_value_fault() == []


SLASH_FAULTS = ["slashless-200", "no-308-redirect", "double-slash-404", "case-insensitive-paths", "api-list-text-json"]
SLASH_RULES = ["AL-SLASH-*", "AL-ENV-001", "AL-ROUTE-*"]


def test_the_parallel_matrix_equals_the_sequential_one() -> None:
    contract = load_contract(ROOT / "contracts" / "assemblyline.yaml")
    server = server_class("assemblyline")()
    with serve_in_thread(server) as running:
        alone = kill_matrix(contract, server, running, SLASH_RULES, SLASH_FAULTS, ROOT / "cassettes")
    spread = parallel_kill_matrix(contract, SLASH_RULES, SLASH_FAULTS, ROOT / "cassettes", jobs=2)
    assert [f.name for f in spread.faults] == [f.name for f in alone.faults] == SLASH_FAULTS
    assert spread.rules == alone.rules
    assert len(spread.rules) > len(SLASH_FAULTS)
    assert [(o.rule_id, o.status) for o in spread.clean] == [(o.rule_id, o.status) for o in alone.clean]
    assert spread.caught == alone.caught
    assert spread.errors == alone.errors
    assert all(spread.caught[name] for name in SLASH_FAULTS)  # each fault tripped something: not a vacuous match


# A sample of faults per vendor whose runs go through what a socket could change: redirects and trailing slashes,
# plain HTTP beside HTTPS on one instance, an unlicensed twin, status codes and envelopes, regions and keys.
SOCKET_SAMPLE = {
    "assemblyline": (["AL-SLASH-001", "AL-ENV-*"], ["no-308-redirect", "envelope-missing-server-version"]),
    "threatconnect": (["TC-AUTH-014", "TC-AUTH-001"], ["plain-http-served", "token-refused-on-v2"]),
    "threatjammer": (["TJ-REGION-001", "TJ-AUTH-00[12]"], ["cross-region-key-accepted", "missing-auth-403"]),
}


@pytest.mark.parametrize("vendor", [pytest.param(v, marks=pytest.mark.xdist_group(v)) for v in SOCKET_SAMPLE])
def test_the_in_process_matrix_equals_the_matrix_over_sockets(vendor: str) -> None:
    """The matrices above run their servers in process; here the real sockets (uvicorn, TLS) give the same result."""
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    rules, faults = SOCKET_SAMPLE[vendor]
    results = []
    for serve in (serve_in_thread, serve_in_process):
        server = server_class(vendor)()
        with serve(server) as running:
            assert (running.transport is None) == (serve is serve_in_thread)
            results.append(kill_matrix(contract, server, running, rules, faults, ROOT / "cassettes"))
    on_socket, in_process = results
    assert [(o.rule_id, o.status) for o in in_process.clean] == [(o.rule_id, o.status) for o in on_socket.clean]
    assert in_process.caught == on_socket.caught
    assert in_process.errors == on_socket.errors
    assert all(on_socket.caught[name] for name in faults)  # each fault tripped something: not a vacuous match
    assert len(on_socket.clean) >= len(faults)


def test_selftest_runs_each_vendor_once_with_the_faults_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    argv = ["selftest", "assemblyline", "--rule", "AL-SLASH-001", "--fault", "no-308-redirect", "--jobs", "2"]
    assert main([*argv, "--reports", str(tmp_path)]) == 0
    [written] = tmp_path.glob("*/kill-matrix.json")
    [matrix_json] = json.loads(written.read_text())
    assert [row["fault"] for row in matrix_json["faults"]] == ["no-308-redirect"]
    assert matrix_json["survivors"] == []


def test_selftest_needs_at_least_one_job(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--contracts", str(ROOT / "contracts"), "selftest", "assemblyline", "--jobs", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["contractgate: error: --jobs 0: give at least 1 worker process"]


def test_a_profile_matrix_holds_only_the_rules_the_profile_runs(tmp_path: Path) -> None:
    contract = load_contract(ROOT / "contracts" / "assemblyline.yaml")
    server = server_class("assemblyline")()
    runs = {entry.rule.id for entry in plan_contract(contract, profile="smoke").rules if entry.runs}
    left_out = sorted({rule.id for rule in contract.rules} - runs)
    assert left_out, "smoke runs every rule: nothing to prove here"
    aimed = [fault.name for fault in server.faults.values() if fault.rule == left_out[0]][:1]
    with serve_in_thread(server) as running:
        result = kill_matrix(contract, server, running, faults=aimed, cassettes=tmp_path, profile="smoke")
    assert set(result.rules) == runs
    assert result.clean_problems() == []  # a rule the profile leaves out is not a clean-server problem
    assert result.survivors() == []  # nor is its fault a survivor: no rule the profile runs must catch it
