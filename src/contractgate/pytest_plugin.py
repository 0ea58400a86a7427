"""The pytest plugin: contract rules become test items, run in replay (default), live or record mode."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._config import RunConfig, TargetConfig, check_target_names, parse_target_options, read_config_file
from ._contract import Contract, declared_targets
from ._errors import SetupError
from ._loader import contract_files, load_contract, load_contracts
from ._outcome import Outcome, Status
from ._runner import RECORD_MODES, Engine
from ._selftest import bundled_config
from .reports import failure_text

__all__ = ["RuleRunner", "rule_params"]

_STATE: dict[str, Any] = {"contracts_dir": Path("contracts")}


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
        default=None,
        help="folder of contract files (default: <rootdir>/contracts)",
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
    _STATE["contracts_dir"] = Path(config.getoption("--cg-contracts") or root / "contracts")
    _STATE["cassettes_dir"] = Path(config.getoption("--cg-cassettes") or root / "cassettes")
    config.addinivalue_line("markers", "contractgate(vendor, rule): a contract rule run as a test")
    if config.getoption("--cg-target"):
        try:
            _STATE["targets"] = cg_targets(config.getoption("--cg-target"), Path(_STATE["contracts_dir"]))
        except SetupError as error:
            raise pytest.UsageError(str(error)) from None


def cg_targets(values: list[str], contracts_dir: Path) -> dict[str, TargetConfig]:
    """`--cg-target` values checked as `contractgate run` checks `--target`: a misspelt name or region is an error."""
    targets = parse_target_options(values, option="--cg-target")
    check_target_names(targets, declared_targets(load_contracts(list(contract_files(contracts_dir)))))
    return targets


def _contract(vendor: str) -> Contract:
    cache: dict[str, Contract] = _STATE.setdefault("contracts", {})
    if vendor not in cache:
        cache[vendor] = load_contract(Path(_STATE["contracts_dir"]) / f"{vendor}.yaml")
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
        pytest.fail(failure_text(outcome), pytrace=False)
    if outcome.status == Status.ERROR:
        pytest.fail("could not run: " + failure_text(outcome), pytrace=False)
    if outcome.status == Status.SKIPPED:
        if outcome.by_design or allow_skips:
            pytest.skip(outcome.message)
        pytest.fail(f"not checked ({outcome.cause}): {outcome.message} (accept with --cg-allow-skips)", pytrace=False)
    if outcome.status == Status.WAIVED:
        pytest.xfail(outcome.message)
    if outcome.status != Status.PASSED:
        pytest.fail(f"unknown outcome {outcome.status}: {outcome.message}", pytrace=False)


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
    targets = {**read_config_file(), **_STATE.get("targets", {})}
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
    contractgate_runner: RuleRunner,
    record_property: Callable[[str, object], None],
    request: pytest.FixtureRequest,
) -> Callable[[str, str], Outcome]:
    """Run a rule, attach its id, source and severity to the JUnit test case, and assert it conforms."""

    def check(vendor: str, rule_id: str) -> Outcome:
        outcome = contractgate_runner.outcome(vendor, rule_id)
        for name, value in (
            ("rule_id", outcome.rule_id),
            ("source", outcome.source),
            ("evidence", outcome.evidence),
            ("severity", outcome.severity),
            ("requests", len(outcome.exchanges)),
        ):
            record_property(name, value)
        assert_conformant(outcome, allow_skips=request.config.getoption("--cg-allow-skips"))
        return outcome

    return check


def pytest_exception_interact(node: Any, call: Any, report: Any) -> None:
    """Shorten set-up errors to their message."""
    if isinstance(getattr(call.excinfo, "value", None), SetupError):
        report.longrepr = str(call.excinfo.value)
