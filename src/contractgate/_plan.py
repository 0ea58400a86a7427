"""The plan of a run: each rule's request count before anything is sent, profiles, and request budgets."""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from ._config import RunConfig
from ._contract import Contract, Profile, Rule
from ._errors import SetupError, known_hint
from .checks import registry
from .checks._fuzz import FuzzParams
from .checks._registry import Cost, CostContext, Params

__all__ = [
    "DEFAULT_PROFILE",
    "NOT_PLANNED",
    "TIERS",
    "RulePlan",
    "VendorPlan",
    "capped",
    "plan_contract",
    "planned_requests",
    "requests_per_credential",
    "rule_cost",
]

DEFAULT_PROFILE = "full"
# Causes of a selected rule the plan leaves out: the profile does not run it, or the budget has no room for it.
NOT_PLANNED = frozenset({"profile", "request-budget"})
FUZZ_KIND = "fuzz"  # its coverage cases and draws have their own profile caps
# The order a budget fills in: every documented requirement before any recommendation.
TIERS = ("must", "should", "may")
_FULL = Profile(description="every rule, every example the contract gives (the default)")


def capped(params: Params, cap: int | None, fuzz_boundaries: int | None = None) -> Params:
    """The params with every drawn-example count (`examples`, at any depth) at most `cap`; boundaries stay.

    `fuzz_boundaries` caps a fuzz rule's coverage cases per operation (a profile's choice, never a budget's).
    """
    caps = {name: value for name, value in (("examples", cap), ("boundaries", fuzz_boundaries)) if value is not None}
    if not caps:
        return params
    scaled: Params = _capped(params, caps)
    return scaled


def _capped(node: Any, caps: dict[str, int]) -> Any:
    if not isinstance(node, BaseModel):
        return node
    updates: dict[str, Any] = {}
    for name in type(node).model_fields:
        value = getattr(node, name)
        if name in caps and isinstance(value, int) and not isinstance(value, bool) and value > caps[name]:
            updates[name] = caps[name]
        elif isinstance(value, BaseModel):
            nested = _capped(value, caps)
            if nested is not value:
                updates[name] = nested
    return node.model_copy(update=updates) if updates else node


def rule_cost(contract: Contract, rule: Rule, params: Params | None = None) -> Cost:
    """A rule's requests in its default live configuration (or with `params`), from the rule alone."""
    kind = registry.get(rule.kind)
    if kind is None:
        raise SetupError(f"rule {rule.id}: unknown kind {rule.kind!r}")
    return kind.cost(CostContext(contract, rule), params if params is not None else kind.parse(rule.params))


@dataclass
class RulePlan:
    """One selected rule: the params it runs with, what they cost, and why it is left out (empty: it runs)."""

    rule: Rule
    params: Params
    cost: Cost
    left_out: str = ""
    cause: str = ""  # why it is left out: "profile" (the profile does not run it) or "request-budget"

    @property
    def runs(self) -> bool:
        """Whether the rule is sent at all."""
        return not self.left_out


@dataclass
class VendorPlan:
    """What a run of one contract will send: per rule, per credential, and against which budget."""

    vendor: str
    profile: str
    budget: int | None
    rules: list[RulePlan] = field(default_factory=list)
    examples: int | None = None  # the drawn-example cap the budget (or profile) settled on

    @property
    def planned(self) -> int:
        """Requests of the rules that run."""
        return sum(entry.cost.total for entry in self.rules if entry.runs)

    @property
    def exact(self) -> bool:
        """Whether every running rule's count is exact (not an upper bound)."""
        return all(entry.cost.exact for entry in self.rules if entry.runs)

    def entry(self, rule_id: str) -> RulePlan | None:
        """The plan of one rule, if selected."""
        return next((entry for entry in self.rules if entry.rule.id == rule_id), None)

    def per_credential(self) -> dict[tuple[str, str], int]:
        """Requests per (target key, credential `scheme@region`) of the rules that run."""
        total: Counter[tuple[str, str]] = Counter()
        for entry in self.rules:
            if entry.runs:
                total.update(entry.cost.requests)
        return dict(sorted(total.items()))

    def left_out(self) -> list[RulePlan]:
        """Selected rules the profile or the budget leaves out."""
        return [entry for entry in self.rules if not entry.runs]


def profile_of(contract: Contract, name: str) -> Profile:
    """A contract's named profile; `full` exists even when the contract does not spell it out."""
    if name in contract.profiles:
        return contract.profiles[name]
    if name == DEFAULT_PROFILE:
        return _FULL
    known = sorted({DEFAULT_PROFILE, *contract.profiles})
    where = f"{contract.file}: " if contract.file else ""
    raise SetupError(f"{where}{contract.vendor} has no profile {name!r}{known_hint(name, known)}")


def _selected(rule: Rule, globs: list[str]) -> bool:
    return not globs or any(fnmatch.fnmatchcase(rule.id, p) for p in globs)


def _chosen(rule: Rule, profile: Profile) -> bool:
    if any(fnmatch.fnmatchcase(rule.id, p) for p in profile.exclude):
        return False
    if any(fnmatch.fnmatchcase(rule.id, p) for p in profile.also):
        return True
    if profile.rules and not any(fnmatch.fnmatchcase(rule.id, p) for p in profile.rules):
        return False
    return rule.severity in profile.severities


def plan_contract(
    contract: Contract, rule_globs: Iterable[str] = (), profile: str = DEFAULT_PROFILE, budget: int | None = None
) -> VendorPlan:
    """Choose what a run of this contract sends: the profile's rules and examples, fitted into `budget`.

    A selected rule the profile does not run stays in the plan, left out ("not run: profile"), so a run
    reports it as not checked instead of leaving it unmentioned. With a budget: every `must` rule at its
    minimal form (no drawn example, boundaries kept) first, then `should`, then `may`; a rule that does not
    fit is left out ("not run: budget"); then the drawn examples of the chosen rules grow together up to the
    profile's cap while the total stays within the budget.
    """
    chosen = profile_of(contract, profile)
    globs = list(rule_globs)
    selected = [rule for rule in contract.rules if _selected(rule, globs)]
    rules = [rule for rule in selected if _chosen(rule, chosen)]
    base = {rule.id: _profiled(contract, rule, chosen) for rule in rules}
    plan = VendorPlan(contract.vendor, profile, budget, examples=chosen.examples)
    costs: dict[tuple[str, int | None], Cost] = {}

    def cost(rule: Rule, cap: int | None) -> Cost:
        if (rule.id, cap) not in costs:
            costs[(rule.id, cap)] = rule_cost(contract, rule, capped(base[rule.id], cap))
        return costs[(rule.id, cap)]

    if budget is None:
        plan.rules = [RulePlan(r, base[r.id], cost(r, None)) for r in rules]
        return _with_profile_left_out(contract, plan, selected, profile)
    left = budget
    kept: set[str] = set()
    for tier in TIERS:
        for rule in (r for r in rules if r.severity == tier):
            need = cost(rule, 0).total
            if need <= left:
                kept.add(rule.id)
                left -= need
    running = [rule for rule in rules if rule.id in kept]
    cap = _largest_cap(running, None, base, budget, cost)
    plan.examples = cap
    for rule in rules:
        if rule.id in kept:
            plan.rules.append(RulePlan(rule, capped(base[rule.id], cap), cost(rule, cap)))
        else:
            need = cost(rule, 0).total
            plan.rules.append(
                RulePlan(
                    rule,
                    capped(base[rule.id], 0),
                    cost(rule, 0),
                    left_out=f"not run: budget ({need} request(s) at its minimum; {left} of {budget} left "
                    "after the rules of its tier and above)",
                    cause="request-budget",
                )
            )
    return _with_profile_left_out(contract, plan, selected, profile)


def _with_profile_left_out(contract: Contract, plan: VendorPlan, selected: list[Rule], profile: str) -> VendorPlan:
    """The plan with every selected rule the profile does not run, in contract order, as "not run: profile"."""
    planned = {entry.rule.id: entry for entry in plan.rules}
    entries = []
    for rule in selected:
        entry = planned.get(rule.id)
        if entry is None:
            params = _parsed(rule)
            why = f"not run: profile {profile} leaves it out (run --profile {DEFAULT_PROFILE} to check it)"
            entry = RulePlan(rule, params, rule_cost(contract, rule, params), left_out=why, cause="profile")
        entries.append(entry)
    plan.rules = entries
    return plan


def _profiled(contract: Contract, rule: Rule, profile: Profile) -> Params:
    """A rule's params as a profile runs them: its example cap (fuzz rules: their own caps and regions, if given)."""
    params = _parsed(rule)
    if rule.kind == FUZZ_KIND:
        examples = profile.examples if profile.fuzz_examples is None else profile.fuzz_examples
        scaled = _first_regions(contract, capped(params, examples, profile.fuzz_boundaries), profile.fuzz_regions)
        return _per_family(scaled) if profile.fuzz_families else scaled
    return capped(params, profile.examples)


def _first_regions(contract: Contract, params: Params, count: int | None) -> Params:
    """A fuzz rule's params sweeping at most the first `count` of its regions (all when `count` is None)."""
    if count is None or not isinstance(params, FuzzParams):
        return params
    name = params.target or contract.defaults.target or ""
    regions = params.regions or (contract.target(name).regions if name else [])
    if len(regions) <= count:
        return params
    scaled: Params = params.model_copy(update={"regions": list(regions[:count])})
    return scaled


def _per_family(params: Params) -> Params:
    """A fuzz rule's params sending one operation per declared family (unchanged when it declares none)."""
    if not isinstance(params, FuzzParams) or params.families is None:
        return params
    scaled: Params = params.model_copy(update={"one_per_family": True})
    return scaled


def _parsed(rule: Rule) -> Params:
    kind = registry.get(rule.kind)
    if kind is None:
        raise SetupError(f"rule {rule.id}: unknown kind {rule.kind!r}")
    params: Params = kind.parse(rule.params)
    return params


def _largest_cap(
    rules: list[Rule],
    ceiling: int | None,
    base: dict[str, Params],
    budget: int,
    cost: Any,
) -> int:
    """The largest example cap (at most the profile's) whose total fits the budget; 0 always fits."""
    top = max((_examples_in(base[rule.id]) for rule in rules), default=0)
    high = top if ceiling is None else min(ceiling, top)
    low = 0
    while low < high:
        middle = (low + high + 1) // 2
        if sum(cost(rule, middle).total for rule in rules) <= budget:
            low = middle
        else:
            high = middle - 1
    return low


def _examples_in(node: Any) -> int:
    if not isinstance(node, BaseModel):
        return 0
    found = [0]
    for name in type(node).model_fields:
        value = getattr(node, name)
        if name == "examples" and isinstance(value, int):
            found.append(value)
        elif isinstance(value, BaseModel):
            found.append(_examples_in(value))
    return max(found)


def planned_requests(contract: Contract, rules: Iterable[str], config: RunConfig) -> dict[str, int]:
    """Requests per selected rule id under the run's profile and budget (0 for a rule the budget leaves out)."""
    plan = plan_contract(contract, rules, config.profile, config.budget)
    return {entry.rule.id: entry.cost.total if entry.runs else 0 for entry in plan.rules}


def requests_per_credential(contract: Contract, rules: Iterable[str], config: RunConfig) -> dict[tuple[str, str], int]:
    """Requests per (target key, credential) of the rules that run: what each key's quota must allow."""
    return plan_contract(contract, rules, config.profile, config.budget).per_credential()
