"""The pytest plugin: contract rules become test items, run in replay (default), live or record mode."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._config import (
    RunConfig,
    TargetConfig,
    check_target_names,
    mask_url,
    parse_target_options,
    read_config_file,
)
from ._contract import Contract, declared_targets
from ._errors import SetupError
from ._loader import ContractSet, discover
from ._outcome import Outcome, Status
from ._packs import bundled_dir
from ._runner import RECORD_MODES, Engine
from ._selftest import bundled_config
from .reports import failure_text, junit_properties

__all__ = ["RuleRunner", "cli_hints_as_pytest_options", "rule_params"]

_STATE: dict[str, Any] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    """Every option in one group, all prefixed --cg-."""
    group = parser.getgroup("contractgate", "contract conformance (contractgate)")
    group.addoption(
        "--cg-mode",
        choices=["replay", "live", "record"],
        default=None,
        help="replay (default, offline), live or record",
    )
    group.addoption(
        "--cg-record-mode",
        choices=list(RECORD_MODES),
        default=None,
        help="as in pytest-recording: none (default: replay only), once, new_episodes, all (re-record)",
    )
    group.addoption(
        "--cg-target",
        action="append",
        default=[],
        metavar="NAME[:REGION]=URL",
        help="target base URL for live/record",
    )
    group.addoption(
        "--cg-allow-writes",
        action="append",
        default=[],
        metavar="TARGET",
        help="let writing rules write to this configured target key (or a vendor's only configured target)",
    )
    group.addoption(
        "--cg-contracts",
        action="append",
        default=[],
        metavar="PATH",
        help="a contract file or folder of your own (repeatable; default: the bundled packs); "
        "a file for a bundled vendor replaces that pack",
    )
    group.addoption("--cg-cassettes", default=None, help="folder of cassettes (default: <rootdir>/cassettes)")
    group.addoption(
        "--cg-allow-skips",
        action="store_true",
        help="accept a partial run: a rule skipped for a missing credential or target is a skip, not a failure",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Remember where contracts live so suites can parametrize at collection time."""
    root = Path(str(config.rootpath))
    _STATE.pop("contract_set", None)
    _STATE.pop("contracts", None)
    _STATE["contract_paths"] = [root / path for path in config.getoption("--cg-contracts")]
    _STATE["cassettes_dir"] = Path(config.getoption("--cg-cassettes") or root / "cassettes")
    config.addinivalue_line("markers", "contractgate(vendor, rule): a contract rule run as a test")
    try:
        if config.getoption("--cg-target"):
            _STATE["targets"] = cg_targets(config.getoption("--cg-target"), _contract_set())
    except SetupError as error:
        raise pytest.UsageError(str(error)) from None


def _contract_set() -> ContractSet:
    """The bundled packs and the --cg-contracts paths (theirs win for the same vendor), found once a session."""
    found: ContractSet | None = _STATE.get("contract_set")
    if found is None:
        found = _STATE["contract_set"] = discover(_STATE.get("contract_paths", []))
    return found


def cg_targets(values: list[str], contracts: ContractSet | Path) -> dict[str, TargetConfig]:
    """`--cg-target` values checked as `contractgate run` checks `--target`: a misspelt name or region is an error."""
    if isinstance(contracts, Path):
        contracts = discover([contracts])
    targets = parse_target_options(values, option="--cg-target")
    check_target_names(targets, declared_targets(contracts.load(list(contracts.files))))
    return targets


def _contract(vendor: str) -> Contract:
    cache: dict[str, Contract] = _STATE.setdefault("contracts", {})
    if vendor not in cache:
        (cache[vendor],) = _contract_set().load([vendor])
    return cache[vendor]


def rule_params(vendor: str) -> list[Any]:
    """One pytest param per rule of a vendor's contract, with the rule id as the test id."""
    contract = _contract(vendor)
    return [
        pytest.param(rule.id, id=rule.id, marks=pytest.mark.contractgate(vendor, rule.id)) for rule in contract.rules
    ]


class RuleRunner:
    """Runs single rules for test items, with one engine per vendor for the whole session."""

    def __init__(self, mode: str, config_for: Callable[[Contract], RunConfig]) -> None:
        self.mode = mode
        self._config_for = config_for
        self._engines: dict[str, Engine] = {}

    def outcome(self, vendor: str, rule_id: str) -> Outcome:
        """Run one rule and return its outcome."""
        contract = _contract(vendor)
        if vendor not in self._engines:
            self._engines[vendor] = Engine([contract], self._config_for(contract))
        engine = self._engines[vendor]
        return engine.run_rule(contract, contract.rule(rule_id), engine.credentials(contract))


def assert_conformant(outcome: Outcome, allow_skips: bool = False) -> None:
    """Turn an outcome into a pytest result: pass only a pass; an error (nothing to check too) fails.

    A skip by design (a live-only rule in replay) is a pytest skip; a rule left unchecked for a missing
    credential, target or write opt-in fails the item unless the partial run is accepted (--cg-allow-skips),
    as `contractgate run` exits 2 unless --allow-skips.
    """
    if outcome.status == Status.FAILED:
        pytest.fail(cli_hints_as_pytest_options(failure_text(outcome)), pytrace=False)
    if outcome.status == Status.ERROR:
        pytest.fail("could not run: " + cli_hints_as_pytest_options(failure_text(outcome)), pytrace=False)
    if outcome.status == Status.SKIPPED:
        message = cli_hints_as_pytest_options(outcome.message)
        if outcome.by_design or allow_skips:
            pytest.skip(message)
        pytest.fail(f"not checked ({outcome.cause}): {message} (accept with --cg-allow-skips)", pytrace=False)
    if outcome.status == Status.WAIVED:
        pytest.xfail(outcome.message)
    if outcome.status != Status.PASSED:
        pytest.fail(f"unknown outcome {outcome.status}: {outcome.message}", pytrace=False)


def _mode(config: pytest.Config) -> str:
    return session_mode(config.getoption("--cg-mode"), config.getoption("--cg-record-mode"))[0]


def _targets() -> dict[str, TargetConfig]:
    """contractgate.toml's targets, overridden by --cg-target."""
    return {**read_config_file(), **_STATE.get("targets", {})}


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say up front what the contract items will run against: mode, targets, cassettes and contracts."""
    mode = _mode(config)
    cassettes = Path(_STATE["cassettes_dir"])
    recorded = len(list(cassettes.glob("*/*.json"))) if cassettes.is_dir() else 0
    stored = f"{recorded} recorded" if recorded else "none yet: record them with --cg-mode record"
    try:
        targets = _targets()
        contracts = _contract_set()
    except SetupError as error:
        return [f"contractgate: mode {mode}; set-up error: {mask_url(str(error)).splitlines()[0]}"]
    if mode == "replay":
        aimed = "none (replay answers from the cassettes)"
    elif targets:
        aimed = ", ".join(f"{key}={mask_url(target.url)}" for key, target in sorted(targets.items()))
    else:
        aimed = "the bundled reference servers (no --cg-target or contractgate.toml target)"
    own = [str(contracts.files[vendor]) for vendor in contracts.own]
    packs = bundled_dir()
    return [
        f"contractgate: mode {mode} (--cg-mode); cassettes: {cassettes} ({stored})",
        f"contractgate: targets: {aimed}",
        f"contractgate: contracts: bundled packs ({packs if packs is not None else 'none found'})"
        + (f" + {', '.join(own)}" if own else ""),
    ]


# The command line's options, as the pytest options that do the same (hints in messages name what the user can type).
_PYTEST_WORDS = [
    (re.compile(r"`?contractgate run --mode record(?: --vendor [\w-]+)?`?"), "`pytest --cg-mode record`"),
    (re.compile(r"(?<![\w-])--(target|allow-writes|allow-skips|contracts)\b"), r"--cg-\1"),
]


def cli_hints_as_pytest_options(text: str) -> str:
    """An engine message with `contractgate run` options replaced by the pytest options (`--cg-target`, ...)."""
    for pattern, replacement in _PYTEST_WORDS:
        text = pattern.sub(replacement, text)
    return text


def session_mode(mode: str | None, record_mode: str | None) -> tuple[str, str]:
    """The run mode and record mode of a pytest session: replay (record mode `none`) unless told otherwise."""
    if record_mode is None:
        return mode or os.environ.get("CONTRACTGATE_MODE", "replay"), "all"
    wanted = "replay" if record_mode == "none" else "record"
    if mode not in {None, wanted}:
        raise pytest.UsageError(f"--cg-mode {mode} contradicts --cg-record-mode {record_mode} (which means {wanted})")
    return wanted, record_mode


@pytest.fixture(scope="session")
def contractgate_runner(request: pytest.FixtureRequest) -> Iterator[RuleRunner]:
    """The session's rule runner; in live/record mode without targets it starts the bundled servers."""
    options = request.config
    mode, record_mode = session_mode(options.getoption("--cg-mode"), options.getoption("--cg-record-mode"))
    targets = _targets()
    cassettes = Path(_STATE["cassettes_dir"])
    with contextlib.ExitStack() as stack:
        bundled: dict[str, RunConfig] = {}

        def config_for(contract: Contract) -> RunConfig:
            if mode != "replay" and not targets:
                if contract.vendor not in bundled:
                    from .servers import serve_in_thread, server_class

                    server = server_class(contract.vendor)()
                    running = stack.enter_context(serve_in_thread(server))
                    bundled[contract.vendor] = bundled_config(
                        contract, running, mode=mode, cassettes=cassettes, record_mode=record_mode
                    )
                return bundled[contract.vendor]
            return RunConfig(
                mode=mode,
                targets=targets,
                allow_writes=set(options.getoption("--cg-allow-writes")),
                cassettes=cassettes,
                environ=dict(os.environ),
                record_mode=record_mode,
            )

        yield RuleRunner(mode, config_for)


@pytest.fixture
def contractgate_check(
    contractgate_runner: RuleRunner, request: pytest.FixtureRequest
) -> Callable[[str, str], Outcome]:
    """Run a rule, attach the properties `contractgate run` gives its JUnit case, and assert it conforms."""

    def check(vendor: str, rule_id: str) -> Outcome:
        outcome = contractgate_runner.outcome(vendor, rule_id)
        # Straight into user_properties, as record_property does, without its warning under pytest's default
        # junit_family (xunit2), which a project's `filterwarnings = error` turns into an error of every item.
        # Every failure fails the item here (pytest has no --fail-on), so the gate is always fatal.
        request.node.user_properties.extend(junit_properties(outcome, fatal=True))
        assert_conformant(outcome, allow_skips=request.config.getoption("--cg-allow-skips"))
        return outcome

    return check


def pytest_exception_interact(node: Any, call: Any, report: Any) -> None:
    """Shorten set-up errors (a contract that does not load, too) to their message, naming the pytest options."""
    if isinstance(getattr(call.excinfo, "value", None), SetupError):
        report.longrepr = cli_hints_as_pytest_options(str(call.excinfo.value))
