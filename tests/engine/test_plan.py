"""The plan: each rule's request count known before sending, profiles, and request budgets."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest

from contractgate._config import RunConfig
from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._outcome import Outcome, Status
from contractgate._plan import (
    capped,
    plan_contract,
    planned_requests,
    requests_per_credential,
    rule_cost,
)
from contractgate._runner import Engine
from contractgate.checks import registry

ROOT = Path(__file__).resolve().parents[2]
VENDORS = ["threatconnect", "assemblyline", "threatjammer"]


@functools.cache
def contract(vendor: str) -> Contract:
    return load_contract(ROOT / "contracts" / f"{vendor}.yaml")


@functools.cache
def replayed(vendor: str) -> dict[str, Outcome]:
    """Every rule of the vendor replayed from its cassette: the requests each one sent (each served by replay)."""
    config = RunConfig(mode="replay", cassettes=ROOT / "cassettes")
    return {o.rule_id: o for o in Engine([contract(vendor)], config).run().outcomes}


def recorded(vendor: str, rule_id: str) -> int:
    path = ROOT / "cassettes" / vendor / f"{rule_id}.json"
    return len(json.loads(path.read_text(encoding="utf-8"))["interactions"])


@pytest.mark.parametrize("vendor", VENDORS)
def test_every_rule_plans_exactly_the_requests_its_cassette_replays(vendor: str) -> None:
    outcomes = replayed(vendor)
    plan = plan_contract(contract(vendor))
    wrong, bounds = {}, {}
    for entry in plan.rules:
        outcome = outcomes[entry.rule.id]
        if "replay" in entry.rule.modes:
            assert outcome.status == Status.PASSED, (entry.rule.id, outcome.message)
            sent = len(outcome.exchanges)
            assert sent == recorded(vendor, entry.rule.id), f"{entry.rule.id}: replay left interactions unused"
        else:  # a live-only rule: its recording is what it sent
            sent = recorded(vendor, entry.rule.id)
        if entry.cost.exact and entry.cost.total != sent:
            wrong[entry.rule.id] = (entry.cost.total, sent)
        if not entry.cost.exact:
            bounds[entry.rule.id] = (entry.cost.total, sent)
    assert wrong == {}
    # A count that depends on answers (a quota read from the target, references found) is an upper bound.
    assert {rule: pair for rule, pair in bounds.items() if pair[1] > pair[0]} == {}
    assert len(bounds) <= 4, bounds  # a few by nature; every other rule is exact


def test_the_plan_counts_per_target_and_credential() -> None:
    tj = contract("threatjammer")
    scope = rule_cost(tj, tj.rule("TJ-REGION-001"))
    # every region's key on every region's URL: the paris key is spent on the dublin URL too
    assert scope.requests == {
        ("threatjammer:dublin", "bearer@dublin"): 1,
        ("threatjammer:dublin", "bearer@paris"): 1,
        ("threatjammer:paris", "bearer@dublin"): 1,
        ("threatjammer:paris", "bearer@paris"): 1,
    }
    totals = requests_per_credential(tj, ["TJ-FUZZ-00[23]"], RunConfig())
    # TJ-FUZZ-002 sends the paris key to dublin (a foreign region's key is refused): it is the paris key's quota
    foreign, unknown = (rule_cost(tj, tj.rule(rule)).total for rule in ("TJ-FUZZ-002", "TJ-FUZZ-003"))
    assert totals == {("threatjammer:dublin", "bearer@paris"): foreign, ("threatjammer:paris", "bearer@paris"): unknown}
    assert sum(totals.values()) == sum(planned_requests(tj, ["TJ-FUZZ-00[23]"], RunConfig()).values())


def test_capping_examples_keeps_boundaries_and_lowers_the_count_by_the_draws() -> None:
    tc = contract("threatconnect")
    rule = tc.rule("TC-AUTH-008")  # hmac-window: 5 boundary offsets per request of the scope + draws
    params = registry.get("hmac-window").parse(rule.params)  # type: ignore[union-attr]
    full, none = rule_cost(tc, rule, params).total, rule_cost(tc, rule, capped(params, 0)).total
    assert full - none == params.examples
    assert none == 5 * len(params.scope)


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_budget_runs_must_rules_first_and_never_exceeds_it(vendor: str) -> None:
    whole = plan_contract(contract(vendor))
    budget = whole.planned // 4
    plan = plan_contract(contract(vendor), budget=budget)
    assert plan.planned <= budget
    kept = [entry for entry in plan.rules if entry.runs]
    left = plan.left_out()
    assert left
    assert kept
    assert all(entry.left_out.startswith("not run: budget") for entry in left)
    # a should rule runs only when no must rule was left out for lack of room it could have taken
    cheapest_left_must = min((e.cost.total for e in left if e.rule.severity == "must"), default=None)
    for entry in kept:
        if entry.rule.severity != "must" and cheapest_left_must is not None:
            assert entry.cost.total < cheapest_left_must


def test_a_budget_scales_drawn_examples_to_what_remains() -> None:
    tc = contract("threatconnect")
    rules = ["TC-AUTH-008", "TC-PAGE-002"]
    most = max(registry.get(r.kind).parse(r.params).examples for r in map(tc.rule, rules))  # type: ignore[union-attr]
    assert most >= 2
    minimal = plan_contract(tc, rules, budget=10_000)
    assert minimal.examples is not None
    assert minimal.examples >= most
    tight = plan_contract(tc, rules, budget=plan_contract(tc, rules).planned - 5)
    assert tight.examples is not None
    assert tight.examples < most
    assert not tight.left_out()
    floor = plan_contract(tc, rules, budget=1)
    assert [e.rule.id for e in floor.left_out()] == rules  # even the boundaries alone do not fit: nothing runs


def test_a_budget_of_the_minimum_keeps_every_boundary() -> None:
    tc = contract("threatconnect")
    minimal = sum(rule_cost(tc, r, capped(registry.get(r.kind).parse(r.params), 0)).total for r in tc.rules)  # type: ignore[union-attr]
    plan = plan_contract(tc, budget=minimal)
    assert not plan.left_out()
    assert plan.planned == minimal
    assert plan.examples == 0


def test_a_profile_caps_fuzz_draws_and_coverage_cases_apart_from_property_draws() -> None:
    tc = contract("threatconnect")
    smoke = plan_contract(tc, ["TC-FUZZ-001", "TC-AUTH-008"], profile="smoke")
    profile = tc.profiles["smoke"]
    window, fuzz = (entry.params for entry in smoke.rules)  # contract order
    assert window.examples == profile.examples  # type: ignore[attr-defined]
    assert fuzz.examples == profile.fuzz_examples  # type: ignore[attr-defined]
    assert fuzz.boundaries == profile.fuzz_boundaries  # type: ignore[attr-defined]
    full = plan_contract(tc, ["TC-FUZZ-001"], profile="full").rules[0].params
    assert fuzz.examples <= full.examples  # type: ignore[attr-defined]
    assert fuzz.boundaries < full.boundaries  # type: ignore[attr-defined]


@pytest.mark.parametrize("vendor", VENDORS)
def test_smoke_runs_every_must_rule_and_names_what_it_leaves_out(vendor: str) -> None:
    smoke = plan_contract(contract(vendor), profile="smoke")
    assert [e.rule.id for e in smoke.rules] == [r.id for r in contract(vendor).rules]  # nothing goes unmentioned
    assert [e.rule.id for e in smoke.rules if e.rule.severity == "must" and not e.runs] == []
    left = smoke.left_out()
    assert left  # smoke is the must rules; should and may rules wait for the nightly full run
    assert {e.cause for e in left} == {"profile"}
    assert all(e.left_out.startswith("not run: profile smoke") for e in left)
    assert smoke.planned == sum(e.cost.total for e in smoke.rules if e.runs)


def test_a_profile_sweeps_fuzz_rules_in_its_first_regions_only() -> None:
    tj = contract("threatjammer")
    smoke = plan_contract(tj, ["TJ-FUZZ-001"], profile="smoke").rules[0]
    full = plan_contract(tj, ["TJ-FUZZ-001"], profile="full").rules[0]
    assert smoke.params.regions == ["dublin"]  # type: ignore[attr-defined]
    assert {key for key, _ in smoke.cost.requests} == {"threatjammer:dublin"}
    assert {key for key, _ in full.cost.requests} == {"threatjammer:dublin", "threatjammer:paris"}
    pinned = plan_contract(tj, ["TJ-FUZZ-003"], profile="smoke").rules[0]  # a rule that names its region keeps it
    assert pinned.params.regions == ["paris"]  # type: ignore[attr-defined]


def test_rules_a_profile_leaves_out_are_reported_not_run_never_passed() -> None:
    config = RunConfig(mode="replay", cassettes=ROOT / "cassettes", profile="smoke", rule_globs=["AL-AUTH-01*"])
    result = Engine([contract("assemblyline")], config).run()
    outcomes = {o.rule_id: o for o in result.outcomes}
    assert outcomes["AL-AUTH-015"].status == Status.SKIPPED  # a should rule: the nightly full run checks it
    assert outcomes["AL-AUTH-015"].cause == "profile"
    assert outcomes["AL-AUTH-015"].exchanges == []
    assert outcomes["AL-AUTH-012"].status == Status.PASSED
    assert result.coverage()["checked"] == len(outcomes) - 1
    assert "1 rule(s) not checked (1 skipped: profile)" in result.verdict_line()
    assert result.costs["assemblyline"]["run"] == len(outcomes) - 1
    assert result.exit_code == 0  # the profile was the user's choice; the verdict still says what it left out


def test_a_profile_runs_the_rules_it_names_in_also_whatever_their_severity() -> None:
    al = contract("assemblyline")
    smoke = al.profiles["smoke"]
    narrowed = smoke.model_copy(update={"also": ["AL-AUTH-015"], "exclude": ["AL-AUTH-012"]})
    custom = al.model_copy(update={"profiles": {**al.profiles, "custom": narrowed}})
    plan = {e.rule.id: e for e in plan_contract(custom, ["AL-AUTH-01*"], profile="custom").rules}
    assert al.rule("AL-AUTH-015").severity == "should"
    assert plan["AL-AUTH-015"].runs  # named in also
    assert not plan["AL-AUTH-012"].runs  # a must rule, but exclude beats everything
    assert plan["AL-AUTH-012"].cause == "profile"
    assert plan["AL-AUTH-013"].runs
