"""The kill matrix: every fault of a reference server against every rule of its contract."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._config import UNLIMITED, RunConfig, TargetConfig
from ._contract import Contract
from ._outcome import Outcome, Status
from ._plan import DEFAULT_PROFILE, plan_contract
from ._runner import Engine, rule_selected
from .servers import Fault, ReferenceServer, RunningServer, serve_in_process, serve_in_thread, server_class

__all__ = [
    "MatrixResult",
    "bundled_config",
    "default_jobs",
    "kill_matrix",
    "matrix_rows",
    "parallel_kill_matrix",
    "rule_rows",
]


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


def _chosen(
    contract: Contract,
    server: ReferenceServer,
    rule_globs: Iterable[str],
    faults: Iterable[str] | None,
    sweep: bool,
    profile: str = DEFAULT_PROFILE,
) -> MatrixResult:
    """An empty result naming the selected rules the profile runs, the broad ones among them, and the faults."""
    globs = list(rule_globs)
    runs = {entry.rule.id for entry in plan_contract(contract, globs, profile).rules if entry.runs}
    rules = [rule.id for rule in contract.rules if rule_selected(rule, globs) and rule.id in runs]
    broad = {rule.id for rule in contract.rules if rule.kind in BROAD_KINDS and rule.id in rules}
    chosen = [server.faults[name] for name in faults] if faults is not None else list(server.faults.values())
    chosen = [f for f in chosen if sweep or not globs or {f.rule, *f.also} & set(rules)]
    return MatrixResult(contract.vendor, rules, chosen, broad)


def _run_once(
    contract: Contract, running: RunningServer, config: RunConfig, active: Iterable[str], rules: list[str]
) -> list[Outcome]:
    """One run of the selected rules against the server with exactly `active` faults on, from its seeded state.

    An in-process server (`serve_in_process`) is reached through its transport, below the engine's guards and bounds.
    """
    server = running.server
    config.rule_globs = rules
    server.switch.set(active)
    server.reset()
    try:
        # No quota pre-flight: the server is ours, and a fault in its quota answer is for the rules to catch.
        return Engine([contract], config, transport=running.transport, read_quotas=False).run().outcomes
    finally:
        server.switch.set(())
        server.reset()


def _rules_for(result: MatrixResult, fault: Fault, sweep: bool) -> list[str]:
    """The rules run against a fault: every narrow rule, and the broad rules it names (all of them with sweep)."""
    wanted = result.broad if sweep else result.broad & {fault.rule, *fault.also}
    return [rule for rule in result.rules if rule not in result.broad or rule in wanted]


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
    result = _chosen(contract, server, rule_globs, faults, sweep, profile)
    config = bundled_config(contract, running, cassettes=cassettes, profile=profile)
    if on_run is not None:
        on_run("clean", 0, len(result.faults) + 1)
    result.clean = _run_once(contract, running, config, (), result.rules)
    for index, fault in enumerate(result.faults, start=1):
        if on_run is not None:
            on_run(fault.name, index, len(result.faults) + 1)
        outcomes = _run_once(contract, running, config, [fault.name], _rules_for(result, fault, sweep))
        result.caught[fault.name], result.errors[fault.name] = _failed(outcomes)
    return result


@dataclass(frozen=True)
class _Chunk:
    """One worker's share of a kill matrix: the clean run (None: a fault chunk) or a few faults, and how to run."""

    contract: Contract
    rule_globs: tuple[str, ...]
    faults: tuple[str, ...] | None
    cassettes: Path
    sweep: bool
    profile: str
    in_process: bool


# One reference server per vendor (and way of serving) per worker process, started on its first chunk and kept for
# the next ones (daemon threads: they end with the worker).
# The stack is kept too: were it collected, its generator would close and stop the server.
_WORKER_SERVERS: dict[tuple[str, bool], tuple[ReferenceServer, RunningServer]] = {}
_WORKER_STACK = contextlib.ExitStack()


def _worker_server(vendor: str, in_process: bool) -> tuple[ReferenceServer, RunningServer]:
    if (vendor, in_process) not in _WORKER_SERVERS:
        server = server_class(vendor)()
        serving = serve_in_process(server) if in_process else serve_in_thread(server)
        _WORKER_SERVERS[(vendor, in_process)] = (server, _WORKER_STACK.enter_context(serving))
    return _WORKER_SERVERS[(vendor, in_process)]


def _run_chunk(chunk: _Chunk) -> tuple[list[Outcome], dict[str, list[str]], dict[str, list[str]]]:
    """In a worker: the clean run when the chunk names no fault, else each of its faults' runs."""
    server, running = _worker_server(chunk.contract.vendor, chunk.in_process)
    if chunk.faults is None:
        result = kill_matrix(
            chunk.contract,
            server,
            running,
            chunk.rule_globs,
            [],
            chunk.cassettes,
            sweep=chunk.sweep,
            profile=chunk.profile,
        )
        return result.clean, {}, {}
    # The parent chose the faults already (sweep=True keeps them all); the rules and broad ones are the same.
    result = _chosen(chunk.contract, server, chunk.rule_globs, chunk.faults, True, chunk.profile)
    config = bundled_config(chunk.contract, running, cassettes=chunk.cassettes, profile=chunk.profile)
    for fault in result.faults:
        outcomes = _run_once(chunk.contract, running, config, [fault.name], _rules_for(result, fault, chunk.sweep))
        result.caught[fault.name], result.errors[fault.name] = _failed(outcomes)
    return [], result.caught, result.errors


def default_jobs() -> int:
    """Worker processes for a kill matrix: one per CPU this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def parallel_kill_matrix(
    contract: Contract,
    rule_globs: Iterable[str] = (),
    faults: Iterable[str] | None = None,
    cassettes: Path = Path("cassettes"),
    *,
    jobs: int | None = None,
    sweep: bool = False,
    on_run: Callable[[str, int, int], None] | None = None,
    profile: str = "full",
    in_process: bool = True,
) -> MatrixResult:
    """The kill matrix of `kill_matrix`, its fault runs spread over `jobs` worker processes.

    Each worker runs its own reference server of the contract's vendor (started in the worker, reset before each
    run, as the sequential matrix does); faults go out in small chunks so a slow fault does not hold a whole share,
    and the results merge in the faults' order, so the result equals the sequential one. `jobs` 1 runs in this
    process. `on_run(name, done, total)` hears of each chunk as it ends. `in_process` serves the apps without sockets
    (`serve_in_process`: the same results, tests/test_kill_matrix.py proves it, at a lower cost per request);
    False serves them on loopback with uvicorn, as `contractgate serve` does.
    """
    jobs = default_jobs() if jobs is None else jobs
    result = _chosen(contract, server_class(contract.vendor)(), rule_globs, faults, sweep, profile)
    globs, names = tuple(rule_globs), [f.name for f in result.faults]
    if jobs <= 1:
        server = server_class(contract.vendor)()
        with (serve_in_process if in_process else serve_in_thread)(server) as running:
            return kill_matrix(
                contract, server, running, globs, names, cassettes, sweep=sweep, on_run=on_run, profile=profile
            )
    size = max(1, min(8, len(names) // (jobs * 4)))
    chunks = [_Chunk(contract, globs, None, cassettes, sweep, profile, in_process)]
    chunks += [
        _Chunk(contract, globs, tuple(names[i : i + size]), cassettes, sweep, profile, in_process)
        for i in range(0, len(names), size)
    ]
    total, done = len(names) + 1, 0
    context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads (servers, pytest)
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(_run_chunk, chunk): chunk for chunk in chunks}
        answers = {}
        for future in concurrent.futures.as_completed(futures):
            chunk = futures[future]
            answers[chunk.faults] = future.result()
            done += 1 if chunk.faults is None else len(chunk.faults)
            if on_run is not None:
                on_run("clean" if chunk.faults is None else chunk.faults[-1], done, total)
    result.clean = answers[None][0]
    for chunk in chunks[1:]:
        _, caught, errors = answers[chunk.faults]
        result.caught.update(caught)
        result.errors.update(errors)
    result.caught = {name: result.caught[name] for name in names}
    result.errors = {name: result.errors[name] for name in names}
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
