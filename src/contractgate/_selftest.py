"""The kill matrix: every fault of a reference server against every rule of its contract."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._config import RunConfig, TargetConfig
from ._contract import Contract
from ._outcome import Outcome, Status
from ._runner import Engine, rule_selected
from .servers import Fault, ReferenceServer, RunningServer

__all__ = ["MatrixResult", "bundled_config", "kill_matrix"]


def bundled_config(contract: Contract, running: RunningServer, **overrides: object) -> RunConfig:
    """A live run configuration aimed at a running reference server (which allows writes)."""
    prefix = f"CONTRACTGATE_{contract.vendor.upper()}_"
    environ = {prefix + name: value for name, value in running.server.credentials.items()}
    targets = {
        key: TargetConfig(key, url, allow_writes=running.server.allow_writes) for key, url in running.urls.items()
    }
    config = RunConfig(mode="live", targets=targets, environ=environ)
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


@dataclass
class MatrixResult:
    """Which rules each fault made fail, and how the clean server fared."""

    vendor: str
    rules: list[str]
    faults: list[Fault]
    clean: list[Outcome] = field(default_factory=list)
    caught: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def clean_problems(self) -> list[Outcome]:
        """Rules that did not pass against the clean server (skips for credentials are problems too)."""
        return [o for o in self.clean if o.status != Status.PASSED]

    def survivors(self) -> list[Fault]:
        """Faults their intended rule did not catch."""
        return [f for f in self.faults if f.rule not in self.caught.get(f.name, [])]

    def unproven_rules(self) -> list[str]:
        """Rules no fault is aimed at."""
        aimed = {f.rule for f in self.faults}
        return [rule for rule in self.rules if rule not in aimed]

    @property
    def ok(self) -> bool:
        """Clean server passes everything, and every fault is caught by its rule."""
        return not self.clean_problems() and not self.survivors()

    def collateral(self, fault: Fault) -> list[str]:
        """Rules other than the intended one that the fault also tripped."""
        return [rule for rule in self.caught.get(fault.name, []) if rule != fault.rule]


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
) -> MatrixResult:
    """Run the contract against the clean server, then once per fault (server reset between runs)."""
    globs = list(rule_globs)
    rules = [rule.id for rule in contract.rules if rule_selected(rule, globs)]
    chosen = [server.faults[name] for name in faults] if faults is not None else list(server.faults.values())
    chosen = [f for f in chosen if f.rule in rules or not globs]
    result = MatrixResult(contract.vendor, rules, chosen)
    config = bundled_config(contract, running, rule_globs=globs, cassettes=cassettes)
    server.switch.set(())
    server.reset()
    result.clean = Engine([contract], config).run().outcomes
    for fault in chosen:
        server.switch.set([fault.name])
        server.reset()
        outcomes = Engine([contract], config).run().outcomes
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
            "caught": fault.rule in result.caught.get(fault.name, []),
            "also": result.collateral(fault),
            "errors": result.errors.get(fault.name, []),
        }
        for fault in result.faults
    ]
