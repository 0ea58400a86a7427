"""The kill matrix: every fault of a reference server against every rule of its contract."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._config import UNLIMITED, RunConfig, TargetConfig
from ._contract import Contract
from ._outcome import Outcome, Status
from ._runner import Engine, rule_selected
from .servers import Fault, ReferenceServer, RunningServer

__all__ = ["MatrixResult", "bundled_config", "kill_matrix", "matrix_rows", "rule_rows"]


def bundled_config(contract: Contract, running: RunningServer, **overrides: object) -> RunConfig:
    """A live run configuration aimed at a running reference server (which allows writes).

    The server is ours, on loopback: its targets are explicitly unthrottled (a user's target never is by default).
    """
    prefix = f"CONTRACTGATE_{contract.vendor.upper()}_"
    environ = {prefix + name: value for name, value in running.server.credentials.items()}
    targets = {
        key: TargetConfig(key, url, allow_writes=running.server.allow_writes, rate=UNLIMITED, ca_bundle=running.ca_pem)
        for key, url in running.urls.items()
    }
    config = RunConfig(mode="live", targets=targets, environ=environ)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


# Kinds that sweep a whole API (every operation, many requests): they run against the faults that name them
# in `Fault.also`, not against every fault, and do not count as collateral.
BROAD_KINDS = frozenset({"fuzz"})


@dataclass
class MatrixResult:
    """Which rules each fault made fail, and how the clean server fared."""

    vendor: str
    rules: list[str]
    faults: list[Fault]
    broad: set[str] = field(default_factory=set)
    clean: list[Outcome] = field(default_factory=list)
    caught: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def clean_problems(self) -> list[Outcome]:
        """Rules that did not pass against the clean server (skips for credentials are problems too)."""
        return [o for o in self.clean if o.status != Status.PASSED]

    def expected(self, fault: Fault) -> list[str]:
        """The rules that must catch a fault: its own, and the broad rules it names (those selected)."""
        return [rule for rule in (fault.rule, *fault.also) if rule in self.rules]

    def missed(self, fault: Fault) -> list[str]:
        """Expected rules the fault got past."""
        return [rule for rule in self.expected(fault) if rule not in self.caught.get(fault.name, [])]

    def survivors(self) -> list[Fault]:
        """Faults that got past a rule that must catch them."""
        return [f for f in self.faults if self.missed(f)]

    def unproven_rules(self) -> list[str]:
        """Rules no fault is aimed at."""
        aimed = {rule for f in self.faults for rule in (f.rule, *f.also)}
        return [rule for rule in self.rules if rule not in aimed]

    @property
    def ok(self) -> bool:
        """Clean server passes everything, and every fault is caught by the rules that must catch it."""
        return not self.clean_problems() and not self.survivors()

    def collateral(self, fault: Fault) -> list[str]:
        """Narrow rules other than the intended one that the fault also tripped."""
        return [rule for rule in self.caught.get(fault.name, []) if rule != fault.rule and rule not in self.broad]

    def sole_catcher(self, fault: Fault) -> str | None:
        """The one rule a fault made fail, when exactly one did: the proof that rule can fail on its own."""
        caught = self.caught.get(fault.name, [])
        return caught[0] if len(caught) == 1 else None

    def rules_never_alone(self) -> list[str]:
        """Rules that no fault makes fail on their own (each trips only alongside other rules, or never)."""
        alone = {self.sole_catcher(fault) for fault in self.faults}
        return [rule for rule in self.rules if rule not in alone]

    def value_alone(self, rule: str) -> list[str]:
        """Value-level faults that `rule` alone catches: the proof it pins a value, not only a form."""
        return [f.name for f in self.faults if f.level == "value" and self.sole_catcher(f) == rule]

    def rules_without_value_fault(self) -> list[str]:
        """Rules that no value-level fault makes fail on their own (they may only check a form)."""
        return [rule for rule in self.rules if not self.value_alone(rule)]

    def level_split(self, rule: str) -> dict[str, int]:
        """How many of the faults aimed at `rule` break a form and how many only a value."""
        aimed = [f for f in self.faults if f.rule == rule]
        return {level: sum(1 for f in aimed if f.level == level) for level in ("form", "value")}

    def broad_catches(self, fault: Fault) -> list[str]:
        """Broad rules that caught the fault."""
        return [rule for rule in self.caught.get(fault.name, []) if rule in self.broad]


def _failed(outcomes: Iterable[Outcome]) -> tuple[list[str], list[str]]:
    outcomes = list(outcomes)
    return (
        [o.rule_id for o in outcomes if o.status == Status.FAILED],
        [o.rule_id for o in outcomes if o.status == Status.ERROR],
    )


def kill_matrix(
    contract: Contract,
    server: ReferenceServer,
    running: RunningServer,
    rule_globs: Iterable[str] = (),
    faults: Iterable[str] | None = None,
    cassettes: Path = Path("cassettes"),
    *,
    sweep: bool = False,
    on_run: Callable[[str, int, int], None] | None = None,
    profile: str = "full",
) -> MatrixResult:
    """Run the contract against the clean server, then once per fault (server reset between runs).

    Broad rules run against the faults that name them; with `sweep`, against every fault (their detection rate).
    `on_run(name, index, total)` hears of each run as it starts ("clean" first, then each fault), for progress.
    `profile` runs each rule as that contract profile says (e.g. smoke: its minimal form), to prove its power.
    """
    globs = list(rule_globs)
    rules = [rule.id for rule in contract.rules if rule_selected(rule, globs)]
    broad = {rule.id for rule in contract.rules if rule.kind in BROAD_KINDS and rule.id in rules}
    chosen = [server.faults[name] for name in faults] if faults is not None else list(server.faults.values())
    chosen = [f for f in chosen if sweep or not globs or {f.rule, *f.also} & set(rules)]
    result = MatrixResult(contract.vendor, rules, chosen, broad)
    config = bundled_config(contract, running, rule_globs=rules, cassettes=cassettes, profile=profile)
    server.switch.set(())
    server.reset()
    if on_run is not None:
        on_run("clean", 0, len(chosen) + 1)
    # No quota pre-flight: the server is ours, and a fault in its quota answer is for the rules to catch.
    result.clean = Engine([contract], config, read_quotas=False).run().outcomes
    for index, fault in enumerate(chosen, start=1):
        if on_run is not None:
            on_run(fault.name, index, len(chosen) + 1)
        wanted = broad if sweep else broad & {fault.rule, *fault.also}
        config.rule_globs = [rule for rule in rules if rule not in broad or rule in wanted]
        server.switch.set([fault.name])
        server.reset()
        outcomes = Engine([contract], config, read_quotas=False).run().outcomes
        result.caught[fault.name], result.errors[fault.name] = _failed(outcomes)
    server.switch.set(())
    server.reset()
    return result


def matrix_rows(result: MatrixResult) -> list[Mapping[str, Any]]:
    """One row per fault for printing: intended rule, caught or not, collateral rules."""
    return [
        {
            "fault": fault.name,
            "rule": fault.rule,
            "level": fault.level,
            "caught": fault.rule in result.caught.get(fault.name, []),
            "also": result.collateral(fault),
            "broad": result.broad_catches(fault),
            "missed": result.missed(fault),
            "errors": result.errors.get(fault.name, []),
        }
        for fault in result.faults
    ]


def rule_rows(result: MatrixResult) -> list[Mapping[str, Any]]:
    """One row per rule: its faults by level and the value-level faults it alone catches."""
    return [
        {"rule": rule, **result.level_split(rule), "value_alone": result.value_alone(rule)} for rule in result.rules
    ]
