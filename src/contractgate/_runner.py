"""The engine: contract rules -> planned requests -> transport -> expectations -> outcomes -> listeners."""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import os
import platform
import ssl
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import httpx

from . import __name__ as _package
from ._auth import Credentials
from ._bounds import BoundedTransport, Breakers, Limits, deadline_http_transport
from ._cassettes import Cassette, Volatility, cassette_path
from ._config import RunConfig, check_reachable
from ._contract import Contract, Rule, requests_in
from ._errors import (
    BudgetExhausted,
    CredentialsMissing,
    NothingToCheck,
    RateLimited,
    SetupError,
    SkipRule,
    Violation,
    WriteBlocked,
)
from ._expect import check_expect
from ._limits import (
    Lane,
    Remaining,
    Spender,
    check_quotas,
    declared_rates,
    lanes,
    quota_limits,
    read_remaining,
    spenders,
)
from ._outcome import Exchange, Outcome, Policy, RunResult, Status
from ._plan import NOT_PLANNED, RulePlan, VendorPlan, plan_contract
from ._redact import Redactor
from ._session import CheckContext, Targets, target_key
from ._transport import (
    RETRY_429,
    TARGET,
    CredentialPacing,
    EpisodesTransport,
    LiveTransport,
    RateBudget,
    RecordingTransport,
    ReplayTransport,
    SharedReads,
    SharingTransport,
    TargetGuard,
    locate,
)
from ._waivers import Waiver, apply_waivers
from .checks import registry

__all__ = ["RECORD_MODES", "Engine", "Listener", "ProgressListener", "rule_selected", "volatility"]

# The record modes of VCR.py / pytest-recording: `none` replays only; the others record (see RunConfig.record_mode).
RECORD_MODES = ("none", "once", "new_episodes", "all")

REPLAY_HOST = "http://{}.replay.invalid"
# The cause an outcome records for each way a rule can end without checking anything.
# Kinds whose verdict compares answers sent at different moments (a counter before and after, a quota
# spent, a signature's age, pages of one listing): each of their answers must be fresh, never another rule's.
FRESH_KINDS = frozenset({"counter", "quota", "hmac-window", "pagination"})
# Kinds whose examples hypothesis draws (with the garbage collector paused): one at a time per process, so
# such a rule runs with no other rule beside it.
DRAWING_KINDS = frozenset({"fuzz", "hmac-window", "pagination", "trailing-slash"})
MAX_LANES = 8  # credentials paced at once, at most
_UNCHECKED: dict[type[SetupError], str] = {
    NothingToCheck: "nothing-to-check",
    RateLimited: "rate-limited",
    BudgetExhausted: "budget",
}


class Listener(Protocol):
    """Receives the engine's events; report writers implement it."""

    def started(self, run: Mapping[str, Any]) -> None: ...

    def outcome(self, outcome: Outcome) -> None: ...

    def finished(self, result: RunResult) -> None: ...


@runtime_checkable
class ProgressListener(Protocol):
    """A listener that also follows the run as it goes: which rule starts, each request sent."""

    def rule_started(self, vendor: str, rule_id: str, total: int) -> None: ...

    def request_sent(self, vendor: str, exchange: Exchange) -> None: ...


def rule_selected(rule: Rule, globs: Iterable[str]) -> bool:
    """Whether a rule id matches any of the --rule globs (all rules when none)."""
    patterns = list(globs)
    return not patterns or any(fnmatch.fnmatchcase(rule.id, p) for p in patterns)


def volatility(contract: Contract) -> Volatility:
    """The contract's `volatile:` declaration in the form the recorder applies."""
    declared = contract.volatile
    return Volatility(
        headers=tuple(declared.headers),
        json_paths=tuple(declared.json_paths),
        patterns=tuple(declared.patterns),
        origins="origin" in declared.url_parts,
    )


def _source_text(contract: Contract, rule: Rule) -> tuple[str, str]:
    source = contract.sources[rule.source.doc]
    return f"{source.title} ({rule.source.doc}), {rule.source.section}", contract.citation(rule)


@dataclass
class Engine:
    """Runs the rules of some contracts against their targets in one mode."""

    contracts: list[Contract]
    config: RunConfig
    listeners: list[Listener] = field(default_factory=list)
    transport: httpx.BaseTransport | None = None
    policy: Policy = field(default_factory=Policy)
    waivers: list[Waiver] = field(default_factory=list)
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    _budgets: dict[str, RateBudget] = field(default_factory=dict)
    _pacing: CredentialPacing | None = None
    shared: SharedReads = field(default_factory=SharedReads)
    share_reads: bool = True  # False: every rule sends each of its requests itself (bench/ compares both)
    read_quotas: bool = (
        True  # False: no quota pre-flight (the kill matrix: a fault in the quota read is the rules' to catch)
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pools: dict[Path | None, httpx.BaseTransport] = field(default_factory=dict)
    _breakers: Breakers = field(default_factory=Breakers)
    _writable: set[str] | None = None
    _used_waivers: set[Waiver] = field(default_factory=set)
    _plans: dict[str, VendorPlan] = field(default_factory=dict)

    def plan(self, contract: Contract) -> VendorPlan:
        """What this run sends for a contract: its profile's rules and examples, fitted into the budget."""
        if contract.vendor not in self._plans:
            config = self.config
            self._plans[contract.vendor] = plan_contract(contract, config.rule_globs, config.profile, config.budget)
        return self._plans[contract.vendor]

    def run(self) -> RunResult:
        """Run every selected rule, tell the listeners, return the result."""
        self.writable_targets()  # a wrong --allow-writes stops the run before any request
        self.quota_preflight()
        run_info = self.describe()
        for listener in self.listeners:
            listener.started(run_info)
        result = RunResult(run_info, policy=self.policy)
        for outcome in self.outcomes():
            result.outcomes.append(outcome)
            for listener in self.listeners:
                listener.outcome(outcome)
        result.run["finished"] = _now()
        result.run["requests_shared"] = self.shared.saved
        result.stale_waivers = [w.to_dict() for w in self.waivers if w not in self._used_waivers]
        result.missing_env = self.missing_env(result.outcomes)
        result.costs = self.costs(result.outcomes)
        for listener in self.listeners:
            listener.finished(result)
        return result

    def describe(self) -> dict[str, object]:
        """What this run is, for reports."""
        return {
            "tool": _package,
            "started": _now(),
            "mode": self.config.mode,
            "vendors": [c.vendor for c in self.contracts],
            "targets": {k: t.url for k, t in self.config.targets.items()} if self.config.mode != "replay" else {},
            "rules": list(self.config.rule_globs),
            "profile": self.config.profile,
            "budget": self.config.budget,
            "python": platform.python_version(),
        }

    def costs(self, outcomes: list[Outcome]) -> dict[str, dict[str, Any]]:
        """Per vendor: requests planned and sent, the budget, rules run and selected (for the verdict)."""
        costs = {}
        for contract in self.contracts:
            mine = [o for o in outcomes if o.vendor == contract.vendor]
            plan = self.plan(contract)
            costs[contract.vendor] = {
                "profile": plan.profile,
                "planned": plan.planned,
                "planned_exact": plan.exact,
                "sent": sum(len(o.exchanges) for o in mine),
                "budget": plan.budget,
                "run": sum(1 for o in mine if o.cause not in NOT_PLANNED),
                "selected": len(mine),
            }
        return costs

    def preflight(self) -> None:
        """Fail fast (exit 2) on an ambiguous --allow-writes, and in live/record modes on a silent target."""
        self.writable_targets()
        if self.config.mode == "replay":
            return
        for target in self.config.targets.values():
            self._pool(target.ca_bundle)  # an unreadable CA file is a set-up mistake, found before any rule
            check_reachable(target.url)

    def planned_requests(self, contract: Contract) -> Mapping[Spender, int]:
        """Requests each credential of a contract will send to each target in this run, from the run's plan.

        Where a rule's count depends on answers (a quota read from the target), the plan's upper bound counts.
        """
        live = {entry.rule.id for entry in self.plan(contract).rules if self.config.mode in entry.rule.modes}
        per_scheme: Counter[tuple[str, str]] = Counter()
        for entry in self.plan(contract).rules:
            if entry.runs and entry.rule.id in live:
                per_scheme.update(entry.cost.requests)
        return spenders(contract, per_scheme)

    def quota_preflight(self) -> None:
        """Read each planned credential's remaining quota where the vendor tells it; refuse a run that would not fit.

        This is the first thing a live run sends; a QuotaShort (exit 2) names the numbers and sends nothing else.
        """
        if self.config.mode == "replay" or not self.read_quotas:
            return
        for contract in self.contracts:
            planned = self.planned_requests(contract)
            reads = quota_limits(contract, planned)
            if not reads:
                continue
            bases = self.bases(contract)
            credentials = self.credentials(contract)
            redactor = Redactor(credentials.secret_values(), contract.secrets.headers)
            remaining: dict[Spender, Remaining] = {}
            with httpx.Client(transport=self._live(contract, set(), redactor, bases)) as client:
                for spender, limit in reads.items():
                    assert limit.quota is not None
                    assert limit.quota.read is not None
                    found = read_remaining(
                        contract, spender, limit.quota.read, client=client, bases=bases, credentials=credentials
                    )
                    if found is not None:
                        remaining[spender] = found
            check_quotas(planned, remaining, self.config.quota_share)

    def outcomes(self) -> Iterator[Outcome]:
        """Each selected rule's outcome, in contract order, waivers applied."""
        watchers = [listener for listener in self.listeners if isinstance(listener, ProgressListener)]
        for contract in self.contracts:
            credentials = self.credentials(contract)
            entries = {entry.rule.id: entry for entry in self.plan(contract).rules}
            keys = [*self.bases(contract), contract.vendor]
            for outcome in self._outcomes_of(contract, entries, credentials, watchers):
                apply_waivers(outcome, keys, self.waivers, self._used_waivers, self.today)
                yield outcome

    def _outcomes_of(
        self,
        contract: Contract,
        entries: Mapping[str, RulePlan],
        credentials: Credentials,
        watchers: Sequence[ProgressListener],
    ) -> Iterator[Outcome]:
        """Outcomes in contract order; where credentials are paced, independent credentials' rules run at once."""
        sent = _sent_to(watchers, contract.vendor)
        rules = [entry.rule for entry in entries.values()]

        def run_one(rule: Rule) -> Outcome:
            for watcher in watchers:
                watcher.rule_started(contract.vendor, rule.id, len(rules))
            return self.run_rule(contract, rule, credentials, entries[rule.id], sent)

        if not self.paced(contract):
            for rule in rules:
                yield run_one(rule)
            return
        for phase in lanes(contract, rules, self._solo):
            if len(phase) == 1:
                for rule in phase[0]:
                    yield run_one(rule)
                continue

            def run_lane(lane: Lane) -> list[Outcome]:
                return [run_one(rule) for rule in lane]

            with ThreadPoolExecutor(max_workers=min(MAX_LANES, len(phase)), thread_name_prefix="lane") as pool:
                done = {outcome.rule_id: outcome for outcomes in pool.map(run_lane, phase) for outcome in outcomes}
            yield from (done[rule.id] for rule in rules if rule.id in done)

    def paced(self, contract: Contract) -> bool:
        """Whether a declared rate paces some credential of this contract on a configured target in this run."""
        if self.config.mode == "replay":
            return False
        declared = declared_rates([contract])
        return any(
            self._configured_rate(key) is None and (key.partition(":")[0], name) in declared
            for key in self.bases(contract)
            for name in contract.credentials
        )

    @staticmethod
    def _solo(rule: Rule) -> bool:
        """A rule that writes, or whose examples hypothesis draws, runs with nothing beside it."""
        return rule.writes or rule.kind in DRAWING_KINDS

    def missing_env(self, outcomes: list[Outcome]) -> list[str]:
        """Every declared, unset credential variable of the vendors that had a rule skipped for credentials."""
        vendors = {o.vendor for o in outcomes if o.status == Status.SKIPPED and o.cause == "credentials"}
        if self.config.mode == "replay":
            return []
        names: set[str] = set()
        for contract in self.contracts:
            if contract.vendor in vendors:
                found = Credentials.from_env(contract, self.config.environ)
                names.update(v for key, v in found.env_names.items() if key not in found.values)
        return sorted(names)

    def credentials(self, contract: Contract) -> Credentials:
        """Credentials from the environment (placeholders in replay, where nothing is sent)."""
        if self.config.mode != "replay":
            return Credentials.from_env(contract, self.config.environ)
        placeholders = Credentials.from_env(contract, {})
        for (name, region), _variable in placeholders.env_names.items():
            placeholders.values[(name, region)] = f"replay-{name}-{region or 'any'}"
        return placeholders

    def bases(self, contract: Contract) -> dict[str, str]:
        """The base URL of every target key of a contract that is configured (or replayed)."""
        regions: dict[str, list[str | None]] = {t.name: list(t.regions) or [None] for t in contract.targets}
        keys = [target_key(name, region) for name, values in regions.items() for region in values]
        if self.config.mode == "replay":
            return {key: REPLAY_HOST.format(key.replace(":", "-")) for key in keys}
        return {key: self.config.targets[key].url for key in keys if key in self.config.targets}

    def writable_targets(self) -> set[str]:
        """The configured target keys that opted in to writes (a SetupError for an ambiguous --allow-writes)."""
        if self.config.mode == "replay":
            return set()  # nothing leaves the process
        if self._writable is None:
            self._writable = self.config.writable_targets({c.vendor: list(self.bases(c)) for c in self.contracts})
        return self._writable

    def run_rule(
        self,
        contract: Contract,
        rule: Rule,
        credentials: Credentials,
        entry: RulePlan | None = None,
        observer: Callable[[Exchange], None] | None = None,
    ) -> Outcome:
        """Run one rule (with the params its plan gives, else its own) and turn whatever happened into an Outcome.

        `observer` sees each request as it is sent.
        """
        source, source_url = _source_text(contract, rule)
        outcome = Outcome(
            rule_id=rule.id,
            vendor=contract.vendor,
            title=rule.title,
            source=source,
            source_url=source_url,
            severity=rule.severity,
            kind=rule.kind,
            status=Status.PASSED,
            evidence=rule.evidence,
        )
        redactor = Redactor(
            credentials.secret_values(),
            contract.secrets.headers,
            contract.secrets.query,
            contract.secrets.json_fields,
        )
        started = time.perf_counter()
        ctx: CheckContext | None = None
        cassette: Cassette | None = None
        mode = self.rule_mode(contract, rule)
        try:
            if entry is not None and not entry.runs:
                raise SkipRule(entry.left_out, cause=entry.cause or "request-budget")
            self._may_run(contract, rule)
            bases = self.bases(contract)
            cassette = self._cassette(contract, rule, mode)
            transport = self._transport(contract, rule, cassette, redactor, bases, mode)
            variables = self._recorded_variables(cassette, mode)
            ctx = CheckContext(
                contract,
                rule,
                mode="record" if mode == "episodes" else mode,
                targets=Targets(bases),
                credentials=credentials,
                client_factory=lambda: httpx.Client(
                    transport=transport, timeout=contract.defaults.timeout, follow_redirects=False
                ),
                redactor=redactor,
                variables=variables,
                observer=observer,
            )
            if cassette is not None and mode in {"record", "episodes"}:
                cassette.public = credentials.public_values()
            if cassette is not None and mode == "replay":
                ctx.replay_examples = [list(drawn) for drawn in cassette.examples]
            kind = registry.get(rule.kind)
            assert kind is not None, "the loader validated the kind"
            kind.run(ctx, entry.params if entry is not None else kind.parse(rule.params))
            if not ctx.exchanges:  # every kind judges answers: a rule that asked nothing proved nothing
                raise NothingToCheck("the rule sent no request")
        except Violation as violation:
            outcome.status = Status.FAILED
            outcome.message = redactor.text(violation.message)
            outcome.expected = redactor.text(_text(violation.expected))
            outcome.got = _shown(redactor, violation.got)
            outcome.where = redactor.text(violation.where)
        except SkipRule as skip:
            outcome.status, outcome.cause, outcome.needs = Status.SKIPPED, skip.cause, skip.needs
            outcome.message = redactor.text(str(skip))
        except CredentialsMissing as missing:
            outcome.status, outcome.cause, outcome.needs = Status.SKIPPED, "credentials", missing.variables
            outcome.message = redactor.text(str(missing))
        except WriteBlocked as blocked:
            outcome.status, outcome.cause = Status.ERROR, "setup"
            outcome.message = redactor.text(
                f"{blocked} (mark the rule `writes: true` if it must write, or the request `safe` citing the "
                "vendor's docs if it only reads)"
            )
        except (NothingToCheck, RateLimited, BudgetExhausted) as unchecked:
            outcome.status, outcome.cause = Status.ERROR, _UNCHECKED[type(unchecked)]
            outcome.message = redactor.text(str(unchecked))
        except SetupError as error:
            outcome.status, outcome.cause = Status.ERROR, "setup"
            outcome.message = redactor.text(str(error))
        except Exception as error:  # a crash in a check must not stop the run
            outcome.status, outcome.cause = Status.ERROR, "crash"
            last = traceback.extract_tb(error.__traceback__)[-1]
            outcome.message = redactor.text(f"{type(error).__name__}: {error} ({last.filename}:{last.lineno})")
        finally:
            if ctx is not None:
                outcome.exchanges = ctx.exchanges
                if cassette is not None and mode in {"record", "episodes"}:
                    cassette.examples = ctx.drawn_examples
                ctx.close()
            if cassette is not None and mode in {"record", "episodes"} and outcome.status != Status.SKIPPED:
                cassette.save(cassette_path(self.config.cassettes, contract.vendor, rule.id))
            kept = (mode == "live" and ctx is not None) or (mode == "record" and outcome.status != Status.SKIPPED)
            if cassette is not None and self.config.exchanges is not None and kept:
                cassette.save(cassette_path(self.config.exchanges, contract.vendor, rule.id))
        outcome.duration_s = time.perf_counter() - started
        return outcome

    def rule_mode(self, contract: Contract, rule: Rule) -> str:
        """How this rule runs: the run's mode, except in record mode `once` (a rule with a cassette replays it)
        and `new_episodes` (`episodes`: what its cassette holds is replayed, the rest recorded)."""
        mode, record_mode = self.config.mode, self.config.record_mode
        if mode != "record" or record_mode == "all":
            return mode
        if not cassette_path(self.config.cassettes, contract.vendor, rule.id).is_file():
            return "record"
        if record_mode == "once":
            return "replay" if "replay" in rule.modes else "record"
        return "episodes"

    def _may_run(self, contract: Contract, rule: Rule) -> None:
        mode = self.rule_mode(contract, rule)
        shown = "record" if mode == "episodes" else mode
        if shown not in rule.modes:
            raise SkipRule(f"this rule cannot run in {shown} mode (it runs in {', '.join(rule.modes)})", cause="mode")
        if self.config.mode != "replay" and not self.bases(contract):
            option = f"--target {contract.targets[0].name}=URL"
            raise SkipRule(f"no {contract.vendor} target configured ({option})", cause="target", needs=[option])
        if rule.writes and self.config.mode != "replay":
            closed = [key for key in self._written_keys(contract, rule) if key not in self.writable_targets()]
            if closed:
                which = f"target {closed[0]} does not" if len(closed) == 1 else f"targets {', '.join(closed)} do not"
                raise SkipRule(
                    f"the rule writes and {which} allow writes "
                    f"(set allow_writes = true on the target, or pass --allow-writes {closed[0]})",
                    cause="writes",
                )

    def _written_keys(self, contract: Contract, rule: Rule) -> list[str]:
        """The configured targets a writing rule may write to: those its unmarked writing requests name."""
        kind = registry.get(rule.kind)
        assert kind is not None, "the loader validated the kind"
        params = kind.parse(rule.params)
        default = contract.defaults.target
        named = {(spec.target or default, spec.region) for spec in requests_in(params) if spec.writes}
        if not named:  # a kind that plans its own writes (fuzz): the target its params name
            named = {(getattr(params, "target", None) or default, None)}
        bases = self.bases(contract)
        return sorted(
            key
            for key in bases
            for name, region in named
            if key.partition(":")[0] == name and region in (None, key.partition(":")[2])
        )

    def _cassette(self, contract: Contract, rule: Rule, mode: str | None = None) -> Cassette | None:
        mode = mode or self.config.mode
        path = cassette_path(self.config.cassettes, contract.vendor, rule.id)
        if mode in {"replay", "episodes"}:
            if not path.is_file():
                hint = f"contractgate run --mode record --vendor {contract.vendor}"
                raise SetupError(f"no cassette for {rule.id} at {path}; record one with `{hint}`")
            cassette = Cassette.load(path, contract.vendor, rule.id)
            cassette.volatile = volatility(contract)
            return cassette
        if mode == "record" or (mode == "live" and self.config.exchanges is not None):
            return Cassette(contract.vendor, rule.id, volatile=volatility(contract))
        return None

    def _recorded_variables(self, cassette: Cassette | None, mode: str | None = None) -> dict[str, str]:
        return dict(cassette.public) if cassette is not None and (mode or self.config.mode) == "replay" else {}

    def _transport(
        self,
        contract: Contract,
        rule: Rule,
        cassette: Cassette | None,
        redactor: Redactor,
        bases: dict[str, str],
        mode: str | None = None,
    ) -> httpx.BaseTransport:
        mode = mode or self.config.mode
        if mode == "replay":
            assert cassette is not None
            return _RateLimitGuard(ReplayTransport(cassette, redactor, bases), contract)
        live = self._live(contract, self.writable_targets() if rule.writes else set(), redactor, bases)
        shares = self.share_reads and not rule.writes and rule.kind not in FRESH_KINDS
        # Below the recorder: an answer shared from another rule is still written into this rule's cassette.
        sharing = SharingTransport(live, self.shared, share=shares)
        if mode in {"record", "episodes"} or cassette is not None:
            assert cassette is not None
            recording = RecordingTransport(sharing, cassette, redactor, bases)
            if mode == "episodes":
                return _RateLimitGuard(EpisodesTransport(recording), contract)
            return _RateLimitGuard(recording, contract)
        return _RateLimitGuard(sharing, contract)

    def _live(self, contract: Contract, writable: set[str], redactor: Redactor, bases: dict[str, str]) -> LiveTransport:
        """The guarded, bounded, paced live transport to a contract's configured targets."""
        guards = [TargetGuard(key, base, key in writable, self._budget(key)) for key, base in bases.items()]
        inner = self.transport if self.transport is not None else self._trusting(bases)
        defaults = contract.defaults
        limits = Limits.of(defaults.timeout, defaults.deadline, defaults.max_body_bytes)
        # Directly on the wire, so the guards, the recorder and every reader see only bounded answers.
        bounded = BoundedTransport(inner, limits, self._breakers)
        return LiveTransport(bounded, targets=guards, redactor=redactor, pacing=self.pacing())

    def _trusting(self, bases: dict[str, str]) -> httpx.BaseTransport:
        """The pools of a rule's targets, each trusting only its target's CA (or the system store)."""
        targets = self.config.targets
        pools = {key: self._pool(targets[key].ca_bundle if key in targets else None) for key in bases}
        return _TrustPerTarget(pools, bases, self._pool(None))

    def _pool(self, ca_bundle: Path | None) -> httpx.BaseTransport:
        """One connection pool per distinct CA for the whole run (a TLS context is costly to build)."""
        with self._lock:
            return self._pool_locked(ca_bundle)

    def _pool_locked(self, ca_bundle: Path | None) -> httpx.BaseTransport:
        if ca_bundle not in self._pools:
            try:
                verify = trust_context(ca_bundle)
            except (OSError, ssl.SSLError) as error:
                raise SetupError(f"ca_bundle {ca_bundle}: not a readable PEM CA file ({error})") from None
            self._pools[ca_bundle] = deadline_http_transport(verify=verify)
        return self._pools[ca_bundle]

    def pacing(self) -> CredentialPacing:
        """One pacing of every credential for the whole run, at the rates the contracts declare for it."""
        with self._lock:
            if self._pacing is None:
                self._pacing = CredentialPacing(declared_rates(self.contracts), self._configured_rate)
            return self._pacing

    def _configured_rate(self, key: str) -> float | None:
        """The rate the run sets for a target (`--rate`, else the file's `rate`), or None to pace as declared."""
        if self.config.rate is not None:
            return self.config.rate
        target = self.config.targets.get(key)
        return target.rate if target is not None else None

    def _budget(self, key: str) -> RateBudget:
        """One budget per target key for the whole run, shared by every rule that reaches that target."""
        with self._lock:
            if key not in self._budgets:
                self._budgets[key] = RateBudget(self.config.rate_for(key))
            return self._budgets[key]


def trust_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The TLS context trusting a CA file (None: httpx's default store), built once per process per file version.

    Loading a trust store costs tens of milliseconds, and a process may run many engines (the kill matrix, tests).
    """
    if ca_bundle is None:
        return _trust(None, None, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    stat = ca_bundle.stat()
    return _trust(ca_bundle, (stat.st_mtime_ns, stat.st_size), None, None)


@functools.lru_cache(maxsize=16)
def _trust(
    ca_bundle: Path | None, version: tuple[int, int] | None, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    if ca_bundle is None:
        return httpx.create_ssl_context()  # certifi, or SSL_CERT_FILE / SSL_CERT_DIR as httpx reads them
    return ssl.create_default_context(cafile=str(ca_bundle))


class _TrustPerTarget(httpx.BaseTransport):
    """Sends each request through the pool of the target it belongs to, so a target's CA is trusted there only."""

    def __init__(
        self, pools: Mapping[str, httpx.BaseTransport], bases: dict[str, str], default: httpx.BaseTransport
    ) -> None:
        self.pools = pools
        self.bases = bases
        self.default = default

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward to the target's pool; a URL under no target gets the system trust store."""
        try:
            key, _ = locate(str(request.url), request.extensions.get(TARGET), self.bases)
        except SetupError:
            return self.default.handle_request(request)
        return self.pools.get(key, self.default).handle_request(request)


class _RateLimitGuard(httpx.BaseTransport):
    """Stops a rule at an answer its contract declares "rate limited" (after the retries below it).

    Such an answer says nothing about conformance: the rule is an ERROR ("could not check"), never a
    violation, and no more requests are spent. A request sent with `retry_on_429: false` observes the
    quota on purpose (the `quota` kind, a rule about the refusal itself) and gets the answer to judge.
    """

    def __init__(self, inner: httpx.BaseTransport, contract: Contract) -> None:
        self.inner = inner
        self.signals = contract.defaults.rate_limited
        self.tripped = ""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Pass the request on; raise RateLimited for a rate-limited answer the rule does not observe."""
        observes = request.extensions.get(RETRY_429) is False
        if self.tripped and not observes:  # e.g. hypothesis shrinking after the first one: send nothing more
            raise RateLimited(self.tripped)
        response = self.inner.handle_request(request)
        if not self.signals or observes:
            return response
        response.read()
        for signal in self.signals:
            try:
                check_expect(response, signal, {})
            except Violation:
                continue
            self.tripped = f"{request.method} {request.url.path} answered {response.status_code}"
            raise RateLimited(self.tripped)
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()


def _sent_to(watchers: Sequence[ProgressListener], vendor: str) -> Callable[[Exchange], None] | None:
    """The callback that tells the watchers of each request a vendor's rule sends (None: nobody watches)."""
    if not watchers:
        return None

    def sent(exchange: Exchange) -> None:
        for watcher in watchers:
            watcher.request_sent(vendor, exchange)

    return sent


def _text(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else repr(value)


_SHOWN_LIMIT = 300  # as `Violation.__str__` shows `got`


def _shown(redactor: Redactor, value: object) -> str:
    """A violation's `got` as reports show it (a body, say): masked first, then cut, never the reverse."""
    text = redactor.text(_text(value))
    return text if len(text) <= _SHOWN_LIMIT else text[:_SHOWN_LIMIT] + "…"


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
