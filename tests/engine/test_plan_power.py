"""Cheaper, same power: each pack's `smoke` profile, run alone through the kill matrix, still catches the faults."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from contractgate._loader import load_contract
from contractgate._plan import plan_contract
from contractgate._selftest import MatrixResult, default_jobs, parallel_kill_matrix
from contractgate.servers import vendors

ROOT = Path(__file__).resolve().parents[2]
VENDORS = [
    pytest.param(vendor, marks=pytest.mark.xdist_group(vendor))
    for vendor in vendors()
    if (ROOT / "contracts" / f"{vendor}.yaml").is_file()
]
# The share of the faults the full pack catches that smoke alone must still catch.
POWER = 0.9


@functools.cache
def smoke_matrix(vendor: str, tmp: Path) -> MatrixResult:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    # Over one worker process per CPU, as tests/test_kill_matrix.py's full matrix: the same result, sooner.
    return parallel_kill_matrix(contract, cassettes=tmp, profile="smoke", jobs=default_jobs())


@pytest.mark.parametrize("vendor", VENDORS)
def test_smoke_is_cheaper_than_full(vendor: str) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    smoke, full = plan_contract(contract, profile="smoke"), plan_contract(contract, profile="full")
    assert [e.rule.id for e in smoke.rules] == [e.rule.id for e in full.rules]
    assert smoke.planned < full.planned
    # the rules whose count is exact (not an upper bound read from the target) cost at most 60 % of full
    pairs = [(s, f) for s, f in zip(smoke.rules, full.rules, strict=True) if s.cost.exact and f.cost.exact]
    assert sum(s.cost.total for s, _ in pairs if s.runs) <= 0.6 * sum(f.cost.total for _, f in pairs)


@pytest.mark.parametrize("vendor", VENDORS)
def test_smoke_alone_catches_the_faults_of_the_full_pack(vendor: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    result = smoke_matrix(vendor, tmp_path_factory.getbasetemp() / f"smoke-{vendor}")
    # tests/test_kill_matrix.py holds the full pack to catching every fault with the rule it names
    full_catches = list(result.faults)
    # smoke catches a fault when any rule it runs fails on it (a should rule's fault may be caught by a must rule)
    caught = [fault for fault in full_catches if result.caught.get(fault.name)]
    severity = {rule.id: rule.severity for rule in contract.rules}
    must_missed = [f.name for f in full_catches if severity.get(f.rule) == "must" and result.missed(f)]
    # the matrix holds smoke to the rules it runs (no must rule is left out), each passing the clean server
    runs = [entry.rule.id for entry in plan_contract(contract, profile="smoke").rules if entry.runs]
    assert result.rules == runs
    assert all(severity[rule] != "must" for rule in severity if rule not in runs)
    assert not [(o.rule_id, str(o.status), o.message) for o in result.clean_problems()]
    assert must_missed == []
    assert len(caught) >= POWER * len(full_catches), [f.name for f in full_catches if result.missed(f)]
    sent = sum(len(outcome.exchanges) for outcome in result.clean)
    plan = plan_contract(contract, profile="smoke")
    assert sent == plan.planned if plan.exact else sent <= plan.planned


# Packs whose rules that write all run after the rules that only read (each write empties the run-wide read cache).
WRITES_LAST = ["assemblyline"]


@pytest.mark.parametrize("vendor", WRITES_LAST)
def test_every_rule_that_only_reads_runs_before_the_first_write(vendor: str) -> None:
    rules = load_contract(ROOT / "contracts" / f"{vendor}.yaml").rules
    first_write = next(index for index, rule in enumerate(rules) if rule.writes)
    assert [rule.id for rule in rules[first_write:] if not rule.writes] == []
