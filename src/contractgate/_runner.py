"""The engine: contract rules -> planned requests -> transport -> expectations -> outcomes -> listeners."""

from __future__ import annotations

import datetime as dt
import fnmatch
import platform
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from . import __name__ as _package
from ._auth import Credentials
from ._cassettes import Cassette, cassette_path
from ._config import RunConfig, check_reachable
from ._contract import Contract, Rule
from ._errors import CredentialsMissing, SetupError, SkipRule, Violation, WriteBlocked
from ._outcome import Outcome, RunResult, Status
from ._redact import Redactor
from ._session import CheckContext, Targets, target_key
from ._transport import LiveTransport, RateBudget, RecordingTransport, ReplayTransport
from .checks import registry

__all__ = ["Engine", "Listener", "rule_selected"]

REPLAY_HOST = "http://{}.replay.invalid"


class Listener(Protocol):
    """Receives the engine's events; report writers implement it."""

    def started(self, run: Mapping[str, Any]) -> None: ...

    def outcome(self, outcome: Outcome) -> None: ...

    def finished(self, result: RunResult) -> None: ...


def rule_selected(rule: Rule, globs: Iterable[str]) -> bool:
    """Whether a rule id matches any of the --rule globs (all rules when none)."""
    patterns = list(globs)
    return not patterns or any(fnmatch.fnmatchcase(rule.id, p) for p in patterns)


def _source_text(contract: Contract, rule: Rule) -> tuple[str, str]:
    source = contract.sources[rule.source.doc]
    return (
        f"{source.title} ({rule.source.doc}), {rule.source.section}",
        source.url or source.file or "",
    )


@dataclass
class Engine:
    """Runs the rules of some contracts against their targets in one mode."""

    contracts: list[Contract]
    config: RunConfig
    listeners: list[Listener] = field(default_factory=list)
    transport: httpx.BaseTransport | None = None
    _budgets: dict[str, RateBudget] = field(default_factory=dict)

    def run(self) -> RunResult:
        """Run every selected rule, tell the listeners, return the result."""
        run_info = self.describe()
        for listener in self.listeners:
            listener.started(run_info)
        result = RunResult(run_info)
        for outcome in self.outcomes():
            result.outcomes.append(outcome)
            for listener in self.listeners:
                listener.outcome(outcome)
        result.run["finished"] = _now()
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
            "python": platform.python_version(),
        }

    def preflight(self) -> None:
        """In live and record modes, fail fast (exit 2) when a configured target does not answer."""
        if self.config.mode == "replay":
            return
        for target in self.config.targets.values():
            check_reachable(target.url)

    def outcomes(self) -> Iterator[Outcome]:
        """Each selected rule's outcome, in contract order."""
        for contract in self.contracts:
            credentials = self.credentials(contract)
            for rule in contract.rules:
                if rule_selected(rule, self.config.rule_globs):
                    yield self.run_rule(contract, rule, credentials)

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

    def run_rule(self, contract: Contract, rule: Rule, credentials: Credentials) -> Outcome:
        """Run one rule and turn whatever happened into an Outcome."""
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
        try:
            self._may_run(contract, rule)
            bases = self.bases(contract)
            cassette = self._cassette(contract, rule)
            transport = self._transport(contract, rule, cassette, redactor, bases)
            variables = self._recorded_variables(cassette)
            ctx = CheckContext(
                contract,
                rule,
                mode=self.config.mode,
                targets=Targets(bases),
                credentials=credentials,
                client_factory=lambda: httpx.Client(
                    transport=transport, timeout=contract.defaults.timeout, follow_redirects=False
                ),
                redactor=redactor,
                variables=variables,
            )
            if cassette is not None and self.config.mode == "record":
                cassette.public = credentials.public_values()
            if cassette is not None and self.config.mode == "replay":
                ctx.replay_examples = [list(drawn) for drawn in cassette.examples]
            kind = registry.get(rule.kind)
            assert kind is not None, "the loader validated the kind"
            kind.run(ctx, kind.parse(rule.params))
        except Violation as violation:
            outcome.status = Status.FAILED
            outcome.message = redactor.text(violation.message)
            outcome.expected = redactor.text(_text(violation.expected))
            outcome.got = redactor.text(_text(violation.got))
            outcome.where = violation.where
        except (SkipRule, CredentialsMissing) as skip:
            outcome.status = Status.SKIPPED
            outcome.message = str(skip)
        except WriteBlocked as blocked:
            outcome.status = Status.ERROR
            outcome.message = f"{blocked} (mark the rule `writes: true` if it must write)"
        except SetupError as error:
            outcome.status = Status.ERROR
            outcome.message = redactor.text(str(error))
        except Exception as error:  # a crash in a check must not stop the run
            outcome.status = Status.ERROR
            last = traceback.extract_tb(error.__traceback__)[-1]
            outcome.message = redactor.text(f"{type(error).__name__}: {error} ({last.filename}:{last.lineno})")
        finally:
            if ctx is not None:
                outcome.exchanges = ctx.exchanges
                if cassette is not None and self.config.mode == "record":
                    cassette.examples = ctx.drawn_examples
                ctx.close()
            if cassette is not None and self.config.mode == "record" and outcome.status != Status.SKIPPED:
                cassette.save(cassette_path(self.config.cassettes, contract.vendor, rule.id))
        outcome.duration_s = time.perf_counter() - started
        return outcome

    def _may_run(self, contract: Contract, rule: Rule) -> None:
        if self.config.mode not in rule.modes:
            raise SkipRule(f"this rule cannot run in {self.config.mode} mode (it runs in {', '.join(rule.modes)})")
        if (
            rule.writes
            and self.config.mode != "replay"
            and not any(self.config.writes_allowed(contract.vendor, key) for key in self.bases(contract))
        ):
            vendor = contract.vendor
            raise SkipRule(f"the rule writes and the {vendor} target does not allow writes (--allow-writes {vendor})")
        if self.config.mode != "replay" and not self.bases(contract):
            raise SkipRule(f"no {contract.vendor} target configured (--target {contract.targets[0].name}=URL)")

    def _cassette(self, contract: Contract, rule: Rule) -> Cassette | None:
        path = cassette_path(self.config.cassettes, contract.vendor, rule.id)
        if self.config.mode == "replay":
            if not path.is_file():
                hint = f"contractgate run --mode record --vendor {contract.vendor}"
                raise SetupError(f"no cassette for {rule.id} at {path}; record one with `{hint}`")
            return Cassette.load(path, contract.vendor, rule.id)
        if self.config.mode == "record":
            return Cassette(contract.vendor, rule.id)
        return None

    def _recorded_variables(self, cassette: Cassette | None) -> dict[str, str]:
        return dict(cassette.public) if cassette is not None and self.config.mode == "replay" else {}

    def _transport(
        self,
        contract: Contract,
        rule: Rule,
        cassette: Cassette | None,
        redactor: Redactor,
        bases: dict[str, str],
    ) -> httpx.BaseTransport:
        if self.config.mode == "replay":
            assert cassette is not None
            return ReplayTransport(cassette, redactor, bases)
        writes = any(self.config.writes_allowed(contract.vendor, key) for key in bases) and rule.writes
        budget = self._budget(contract.vendor)
        if self.transport is None:
            # One connection pool (and one TLS context, costly to build) for the whole run.
            self.transport = httpx.HTTPTransport()
        live = LiveTransport(self.transport, allow_writes=writes, budget=budget)
        if self.config.mode == "record":
            assert cassette is not None
            return RecordingTransport(live, cassette, redactor, bases)
        return live

    def _budget(self, vendor: str) -> RateBudget:
        rates = [t.rate for t in self.config.targets.values() if t.rate]
        rate = min(rates) if rates else self.config.rate
        return self._budgets.setdefault(vendor, RateBudget(rate))


def _text(value: object) -> str:
    return "" if value is None else value if isinstance(value, str) else repr(value)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
