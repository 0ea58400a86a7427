"""The command line: run, plan, serve, faults, selftest, diff, schema, env. Exit 0 ok, 1 violations, 2 the rest."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import difflib
import fnmatch
import json
import math
import os
import re
import shlex
import shutil
import socket
import string
import sys
import time
import traceback
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from rich.console import Console
from rich.table import Table

from . import __version__
from ._auth import env_name
from ._cassettes import Cassette
from ._config import (
    DEFAULT_LIVE_RATE,
    RunConfig,
    TargetConfig,
    check_target_names,
    mask_url,
    parse_target_options,
    read_config_file,
    read_verdict_config,
)
from ._contract import Contract, HmacScheme, declared_targets
from ._drift import SEVERITIES as DRIFT_SEVERITIES
from ._drift import cassette_files, drift, read_severity_levels
from ._errors import SetupError, known_hint
from ._loader import ContractSet, discover
from ._outcome import SEVERITIES, Policy
from ._packs import bundled_dir
from ._plan import DEFAULT_PROFILE, VendorPlan, plan_contract
from ._runner import RECORD_MODES, Engine, Listener
from ._scaffold import CONFIG, GITLAB, Variable, VendorSetup, render
from ._selftest import MatrixResult, bundled_config, kill_matrix, matrix_rows, parallel_kill_matrix, rule_rows
from ._waivers import Waiver, parse_waivers, read_waivers_file
from .reports import (
    HtmlReport,
    JsonReport,
    JunitReport,
    MatrixProgress,
    MatrixView,
    ProgressReport,
    TerminalReport,
    print_verdict,
    render_matrix_page,
)
from .reports._diff import diff_results, render_diff
from .reports._drift import print_drift, render_drift_html, render_drift_json, render_drift_markdown, write_drift
from .reports._har import HarExchange, exchanges_of_results, started_from_date, write_har
from .reports._json import load_results
from .reports._upgrade import render_upgrade_html, upgrade_rows
from .servers import (
    VERSIONS,
    ReferenceServer,
    RunningServer,
    UnknownFault,
    UnknownServer,
    serve_in_thread,
    server_class,
    vendors,
)

__all__ = ["main"]

N = TypeVar("N", int, float)

EXIT_OK, EXIT_VIOLATIONS, EXIT_SETUP = 0, 1, 2
LATEST = "latest"  # <reports>/latest/: a copy of the last run's reports at a fixed path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contractgate", description="Contract tests for threat-intelligence vendor APIs."
    )
    parser.add_argument(
        "--contracts",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="a contract file or folder of your own (repeatable): it adds vendors to the bundled packs, and a file "
        "for a bundled vendor replaces that pack; without --vendor, a run covers these contracts",
    )
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="run the contracts against targets (the bundled reference servers by default)"
    )
    run.add_argument("--vendor", action="append", default=[], help="only this vendor (repeatable)")
    run.add_argument("--mode", choices=["live", "replay", "record"], default=None, help="default live")
    run.add_argument(
        "--record-mode",
        choices=RECORD_MODES,
        default=None,
        help="as in VCR.py: none (replay only, = --mode replay), once (record rules without a cassette, "
        "replay the others), new_episodes (replay what cassettes hold, record the rest), all (= --mode record)",
    )
    run.add_argument(
        "--target",
        action="append",
        default=[],
        metavar="NAME[:REGION]=URL",
        help="a target base URL (repeatable)",
    )
    run.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="GLOB",
        help="only rules whose id matches (repeatable)",
    )
    run.add_argument(
        "--matrix",
        action="store_true",
        help="after the verdict, also run the kill matrix (rules x faults) of the bundled servers into the reports "
        "(what `contractgate selftest` runs)",
    )
    # The kill matrix once ran by default; scripts that turned it off keep working.
    run.add_argument("--no-matrix", action="store_true", help=argparse.SUPPRESS)
    run.add_argument(
        "--allow-writes",
        action="append",
        default=[],
        metavar="TARGET",
        help="let rules that write run against this configured target key (e.g. VENDOR:REGION), "
        "or a vendor's only configured target (repeatable)",
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="contractgate.toml (default: ./contractgate.toml or [tool.contractgate] in pyproject.toml)",
    )
    run.add_argument("--cassettes", type=Path, default=Path("cassettes"))
    run.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="folder of the timestamped report folders; the last run is also copied to its latest/",
    )
    run.add_argument("--junit-xml", type=Path, default=None, metavar="PATH", help="also write junit.xml here")
    run.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write results.json here")
    run.add_argument("--html", type=Path, default=None, metavar="PATH", help="also write report.html here")
    run.add_argument(
        "--rate",
        type=_rate,
        default=None,
        help="requests per second to each target in live mode "
        f"(beats the file's `rate`; default {DEFAULT_LIVE_RATE:g})",
    )
    run.add_argument(
        "--quota-share",
        type=_share,
        default=None,
        help="the most of each credential's remaining quota a run may plan to spend, where the vendor tells it "
        "(0 < share <= 1, default 1; also `quota_share` in contractgate.toml)",
    )
    run.add_argument(
        "--require-targets",
        action="store_true",
        help="never fall back to the bundled reference servers: without a configured target, exit 2 (for CI)",
    )
    run.add_argument(
        "--keep-exchanges",
        action="store_true",
        help="in live or record mode, keep every exchange (redacted, as cassettes) under the report folder's "
        "exchanges/, for `contractgate drift` and `upgrade-check --before`",
    )
    run.add_argument("-v", "--verbose", action="store_true")
    run.add_argument(
        "--allow-skips",
        action="store_true",
        help="accept a partial run: rules skipped for a missing credential, target or write opt-in do not make "
        "the exit code 2 (the summary still counts them); also `allow_skips = true` in contractgate.toml",
    )
    run.add_argument(
        "--fail-on",
        choices=SEVERITIES,
        default="should",
        help="the lowest severity whose violations fail the gate (default should: `may` rules are only reported)",
    )
    run.add_argument(
        "--waivers",
        type=Path,
        default=None,
        metavar="FILE",
        help="a TOML file of [[waivers]] (rule, target, reason, expires), added to those in contractgate.toml",
    )

    init = commands.add_parser(
        "init", help="write contractgate.toml, a waivers file and CI workflows into the current repository"
    )
    init.add_argument("--vendor", action="append", default=[], help="a vendor to gate on (repeatable; default all)")
    init.add_argument(
        "--ci", action="append", choices=["github", "gitlab"], default=[], help="CI workflows to write (default both)"
    )
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    _plan_options(run)

    plan = commands.add_parser(
        "plan", help="the requests each rule would send, per vendor, profile and budget (sends nothing)"
    )
    plan.add_argument("--vendor", action="append", default=[], help="only this vendor (repeatable)")
    plan.add_argument("--rule", action="append", default=[], metavar="GLOB", help="only rules whose id matches")
    plan.add_argument("--config", type=Path, default=None, help="contractgate.toml (its `budget`)")
    _plan_options(plan)

    serve = commands.add_parser("serve", help="run a vendor's reference server on loopback")
    serve.add_argument("vendor")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=None, help="first port (one port per app)")
    serve.add_argument("--fault", action="append", default=[], help="inject a fault (repeatable)")
    serve.add_argument(
        "--env-file", type=Path, default=None, metavar="PATH", help="also write the credentials there as a dotenv file"
    )
    serve.add_argument(
        "--version",
        choices=VERSIONS,
        default="current",
        help="next: play a plausible next vendor release (what `contractgate drift` must find)",
    )

    faults = commands.add_parser("faults", help="list a reference server's faults and the rule each must trip")
    faults.add_argument("vendor")

    selftest = commands.add_parser("selftest", help="every fault against every rule: the kill matrix")
    selftest.add_argument("vendor", nargs="*")
    selftest.add_argument("--rule", action="append", default=[], metavar="GLOB")
    selftest.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="GLOB",
        help="only these faults (repeatable), each still run against every selected rule",
    )
    selftest.add_argument("--reports", type=Path, default=Path("reports"))
    selftest.add_argument(
        "--jobs",
        type=int,
        default=None,
        metavar="N",
        help="worker processes running faults in parallel, each with its own reference server (default: CPU count)",
    )
    selftest.add_argument(
        "--sweep",
        action="store_true",
        help="run the broad (fuzz) rules against every fault, not only the faults that name them",
    )
    selftest.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help="run every rule as this contract profile says (e.g. smoke): the faults that profile alone catches",
    )

    diff = commands.add_parser("diff", help="what changed between two runs (results.json files or report folders)")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)

    _drift_parser(commands)
    _upgrade_parser(commands)
    _export_har_parser(commands)

    schema = commands.add_parser("schema", help="print the contract JSON Schema (or write it with --write)")
    schema.add_argument("--write", type=Path, default=None)

    env = commands.add_parser("env", help="the credential environment variables a vendor's contract reads")
    env.add_argument("vendor")
    env.add_argument("--format", choices=["text", "dotenv"], default="text")
    for command in commands.choices.values():  # `--debug` and `--contracts` also after the command, as people type
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        command.add_argument(
            "--contracts", type=Path, action="append", dest="contracts_after", default=[], help=argparse.SUPPRESS
        )
    return parser


def _version() -> str:
    """`contractgate X.Y.Z (packs: FOLDER)`: which release runs, and which bundled contracts it reads."""
    folder = bundled_dir()
    return f"contractgate {__version__} (packs: {folder if folder is not None else 'none found'})"


def _plan_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        help=f"a profile the contracts name (e.g. smoke for every change; default {DEFAULT_PROFILE}: every rule)",
    )
    command.add_argument(
        "--budget",
        type=_budget,
        default=None,
        metavar="N",
        help="requests per vendor: must rules first, then should, then may, then drawn examples; "
        "rules that do not fit are 'not run: budget' (exit 2 unless --allow-skips); also `budget = N` in the file",
    )


def _argument(text: str, convert: Callable[[str], N], what: str, holds: Callable[[N], bool], why: str) -> N:
    """An argparse value: `text` converted (else "is not WHAT") and checked (else WHY), one line each."""
    try:
        value = convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
    if not holds(value):
        raise argparse.ArgumentTypeError(f"{text!r}{why}")
    return value


def _budget(text: str) -> int:
    """argparse type of --budget: a positive whole number of requests."""
    positive = ": a budget is a positive number of requests"
    return _argument(text, int, "a whole number of requests", lambda n: n > 0, positive)


def _rate(text: str) -> float:
    """argparse type of --rate: a positive, finite number of requests per second."""
    return _argument(
        text,
        float,
        "a number",
        lambda n: math.isfinite(n) and n > 0,
        " must be a positive, finite number of requests per second",
    )


def _share(text: str) -> float:
    """argparse type of --quota-share: a number above 0 and at most 1."""
    return _argument(
        text, float, "a number", lambda n: 0 < n <= 1, " must be above 0 and at most 1 (a share of the remaining quota)"
    )


def _port(text: str) -> int:
    """argparse type of --port: 1-65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return int(text)


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    """Entry point of the console script: exit 0 conformant, 1 vendor violations, 2 anything else that went wrong.

    `console` is where output goes (default: stdout; progress bars only when it is a terminal).
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed usage and the one-line reason
        return stop.code if isinstance(stop.code, int) else EXIT_SETUP
    console = console or Console(highlight=False)
    handler = {
        "run": _run,
        "plan": _plan,
        "serve": _serve,
        "init": _init,
        "faults": _faults,
        "selftest": _selftest,
        "diff": _diff,
        "drift": _drift,
        "upgrade-check": _upgrade_check,
        "export-har": _export_har,
        "schema": _schema,
        "env": _env,
    }[args.command]
    try:
        return handler(args, console)
    except (SetupError, UnknownServer, UnknownFault) as error:
        return _fail(str(error), args.debug)
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # a bug or an unforeseen set-up problem: still one line, never exit 1
        return _fail(f"{type(error).__name__}: {error}\n(run with --debug for the traceback)", args.debug)


def _fail(message: str, debug: bool) -> int:
    if debug:
        traceback.print_exc()
    lines = mask_url(message).splitlines() or ["unknown error"]
    print(f"contractgate: error: {lines[0]}", file=sys.stderr)
    for line in lines[1:]:
        print(f"  {line}", file=sys.stderr)
    return EXIT_SETUP


def _contract_set(args: argparse.Namespace) -> ContractSet:
    """The bundled packs and the user's --contracts (before or after the command); say which packs theirs replace."""
    found: ContractSet | None = getattr(args, "contract_set", None)
    if found is None:
        found = discover([*args.contracts, *getattr(args, "contracts_after", [])])
        for note in found.notes:
            print(f"contractgate: {note}", file=sys.stderr)
        args.contract_set = found
    return found


def _contracts(args: argparse.Namespace, vendors: Sequence[str]) -> list[Contract]:
    return _contract_set(args).load(vendors)


def _check_rule_globs(contracts: Sequence[Contract], globs: Sequence[str]) -> None:
    """A --rule glob that matches no rule is a typo, not an empty (green) run."""
    ids = [rule.id for contract in contracts for rule in contract.rules]
    for glob in globs:
        if any(fnmatch.fnmatchcase(rule_id, glob) for rule_id in ids):
            continue
        folded = [g for g in (glob.upper(), glob.lower()) if any(fnmatch.fnmatchcase(i, g) for i in ids)]
        close = folded or difflib.get_close_matches(glob, ids, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        scope = ", ".join(c.vendor for c in contracts)
        raise SetupError(
            f"--rule {glob!r} matches no rule of {scope} (globs are case-sensitive, as fnmatchcase; "
            f"rules are e.g. {', '.join(ids[:4])}){hint}"
        )


def _targets(args: argparse.Namespace, contracts: list[Contract]) -> dict[str, TargetConfig]:
    """--target and config-file targets, each naming a declared target (config: of any contract in the folder)."""
    given = parse_target_options(args.target)
    check_target_names(given, declared_targets(contracts))
    from_file = read_config_file(args.config)
    selected = declared_targets(contracts)
    if any(key.partition(":")[0] not in selected for key in from_file):
        selected = declared_targets(_contract_set(args).load(list(_contract_set(args).files)))
    check_target_names(from_file, selected)
    declared = declared_targets(contracts)
    writable = {c.vendor for c in contracts} | set(declared)
    writable |= {f"{name}:{region}" for name, regions in declared.items() for region in regions}
    for name in args.allow_writes:
        if name not in writable:
            raise SetupError(f"--allow-writes {name!r}: not a selected vendor or target{known_hint(name, writable)}")
    return {**from_file, **{key: _over_file(target, from_file.get(key)) for key, target in given.items()}}


def _over_file(given: TargetConfig, configured: TargetConfig | None) -> TargetConfig:
    """A --target over the file's entry of the same key: its rate holds, its write opt-in and CA only on its origin.

    The opt-in to writes and a private CA were given for one host: they never follow the key to another one.
    """
    if configured is None:
        return given
    same_origin = _origin(given.url) == _origin(configured.url)
    return dataclasses.replace(
        given,
        rate=configured.rate,
        allow_writes=configured.allow_writes if same_origin else False,
        ca_bundle=configured.ca_bundle if same_origin else None,
    )


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _require_servers(contracts: Sequence[Contract]) -> None:
    """Without --target, every contract needs a bundled reference server; say what to pass when it has none."""
    for contract in contracts:
        if contract.vendor in vendors():
            continue
        where = f"{contract.file}:{_line_of_key(contract.file, 'vendor')}: " if contract.file else ""
        names = [f"{target.name}:{target.regions[0]}" if target.regions else target.name for target in contract.targets]
        raise SetupError(
            f"{where}vendor {contract.vendor!r} has no bundled reference server: pass "
            + " ".join(f"--target {name}=URL" for name in names)
            + f" (bundled servers: {', '.join(vendors())})"
        )


def _line_of_key(path: Path, key: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if re.match(rf"{re.escape(key)}\s*:", line):
            return number
    return 1


def _report_dir(root: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = root / stamp
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"{stamp}-{suffix}"
    return folder


@contextlib.contextmanager
def _bundled(contracts: list[Contract], version: str = "current") -> Iterator[dict[str, RunningServer]]:
    with contextlib.ExitStack() as stack:
        running = {}
        for contract in contracts:
            server = server_class(contract.vendor)(version=version)
            running[contract.vendor] = stack.enter_context(serve_in_thread(server))
        yield running


def _verdict_settings(args: argparse.Namespace) -> tuple[Policy, list[Waiver]]:
    """The gate's policy and waivers from the flags and the config file (a bad entry is exit 2)."""
    settings = read_verdict_config(args.config)
    waivers = parse_waivers(settings.waivers, settings.source) if settings.waivers else []
    if args.waivers is not None:
        waivers += read_waivers_file(args.waivers)
    return Policy(fail_on=args.fail_on, allow_skips=args.allow_skips or settings.allow_skips), waivers


def _resolve_mode(args: argparse.Namespace) -> None:
    """`--record-mode` onto `--mode`: none is replay, the others record; a contradiction is exit 2."""
    if args.record_mode is None:
        args.mode, args.record_mode = args.mode or "live", "all"
        return
    wanted = "replay" if args.record_mode == "none" else "record"
    if args.mode not in {None, wanted}:
        raise SetupError(
            f"--mode {args.mode} with --record-mode {args.record_mode}: record mode {args.record_mode} "
            f"{'replays only' if wanted == 'replay' else 'records'}; drop --mode or pass --mode {wanted}"
        )
    args.mode = wanted


def _run(args: argparse.Namespace, console: Console) -> int:
    _resolve_mode(args)
    contracts = _contracts(args, args.vendor)
    _check_rule_globs(contracts, args.rule)
    targets = _targets(args, contracts)
    _check_matrix_flag(args, targets)
    _check_report_paths(args)
    if args.mode != "replay" and not targets:
        if args.require_targets:
            raise SetupError(
                "--require-targets: no target is configured; set [targets.NAME] url in contractgate.toml "
                "(or pass --target NAME=URL)"
            )
        _require_servers(contracts)
    policy, waivers = _verdict_settings(args)
    budget = args.budget if args.budget is not None else read_verdict_config(args.config).budget
    for contract in contracts:
        plan_contract(contract, args.rule, args.profile, budget)  # an unknown profile is exit 2 before any request
    config = RunConfig(
        mode=args.mode,
        targets=targets,
        allow_writes=set(args.allow_writes),
        rule_globs=list(args.rule),
        cassettes=args.cassettes,
        environ=dict(os.environ),
        rate=args.rate,
        quota_share=args.quota_share or read_verdict_config(args.config).quota_share or 1.0,
        profile=args.profile,
        budget=budget,
        record_mode=args.record_mode,
    )
    folder = _report_dir(args.reports)
    html = HtmlReport(folder / "report.html")
    with contextlib.ExitStack() as stack:
        running: dict[str, RunningServer] = {}
        if args.mode != "replay" and not targets:
            running = stack.enter_context(_bundled(contracts))
            config.targets, environ = {}, dict(os.environ)
            for contract in contracts:
                bundled = bundled_config(contract, running[contract.vendor])
                config.targets.update(bundled.targets)
                environ.update(bundled.environ)
            config.environ = environ
            console.print(
                f"no --target given: running against the bundled reference servers ({', '.join(running)})",
                soft_wrap=True,  # one line in a log (rich wraps at 80 columns when not on a terminal)
            )
        if args.keep_exchanges and args.mode in {"live", "record"}:
            config.exchanges = folder / "exchanges"
        engine = Engine(contracts, config, _listeners(folder, console, args.verbose, html))
        engine.policy, engine.waivers = policy, waivers
        engine.preflight()
        result = engine.run()
        if not result.coverage()["checked"]:
            _publish(folder, args)  # CI still finds a junit.xml naming every rule's error at its fixed path
            blocked = [o for o in result.outcomes if o.status == "error"] or result.outcomes
            first = f"; {blocked[0].rule_id}: {(blocked[0].message.splitlines() or ['-'])[0]}" if blocked else ""
            raise SetupError(f"no rule could run{first} ({result.verdict_line()}; every reason: -v)")
        files = ["junit.xml", "results.json", "report.html"]
        if args.matrix:  # the answer first: the kill matrix checks the tool, not the vendor, and takes long
            print_verdict(console, result)
            matrices = _matrices(contracts, running, args.rule, console)
            html.add_matrices(_write_matrix(folder, matrices))
            files += ["kill-matrix.json", "kill-matrix.html"]
    latest = _publish(folder, args)
    console.print(f"reports: {folder}/ ({', '.join(files)}); the same in {latest}/", markup=False, soft_wrap=True)
    print_verdict(console, result)  # the closing line is the verdict
    return result.exit_code


def _check_matrix_flag(args: argparse.Namespace, targets: dict[str, TargetConfig]) -> None:
    """--matrix runs faults on the bundled servers: with a real target or in replay there are none."""
    if args.matrix and args.no_matrix:
        raise SetupError("--matrix and --no-matrix contradict each other (the kill matrix is off unless --matrix)")
    if args.matrix and (targets or args.mode == "replay"):
        why = "--mode replay" if args.mode == "replay" else "--target (or targets in contractgate.toml)"
        raise SetupError(
            f"--matrix runs the kill matrix against the bundled reference servers, which {why} does not use; "
            "drop --matrix, or run `contractgate selftest`"
        )


def _check_report_paths(args: argparse.Namespace) -> None:
    """A fixed report path must be a file path (not a folder), and the three must differ."""
    flags = (("--junit-xml", args.junit_xml), ("--json", args.json), ("--html", args.html))
    given = {flag: path for flag, path in flags if path is not None}
    for flag, path in given.items():
        if path.is_dir():
            raise SetupError(f"{flag} {path}: is a folder; give a file path (e.g. {path / 'junit.xml'})")
    seen: dict[Path, str] = {}
    for flag, path in given.items():
        other = seen.setdefault(path.resolve(), flag)
        if other != flag:
            raise SetupError(f"{flag} {path}: the same file as {other}; give each report its own path")


def _publish(folder: Path, args: argparse.Namespace) -> Path:
    """Copy the run's reports to the fixed paths asked for and to <reports>/latest/; return that folder.

    latest/ is a copy, not a symlink: Windows runners need a privilege or developer mode for symlinks, and
    artifact uploaders do not all follow a linked folder. It is built beside and swapped in, so it never
    holds a mix of two runs.
    """
    for name, path in (("junit.xml", args.junit_xml), ("results.json", args.json), ("report.html", args.html)):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(folder / name, path)
    latest = folder.parent / LATEST
    staging = folder.parent / f".{LATEST}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(folder, staging)
    if latest.is_symlink() or latest.is_file():
        latest.unlink()
    elif latest.exists():
        shutil.rmtree(latest)
    staging.replace(latest)
    return latest


def _plan(args: argparse.Namespace, console: Console) -> int:
    """Print what a run would send, per rule and per vendor; nothing is sent, no target is needed."""
    contracts = _contracts(args, args.vendor)
    _check_rule_globs(contracts, args.rule)
    budget = args.budget if args.budget is not None else read_verdict_config(args.config).budget
    for contract in contracts:
        _print_plan(console, plan_contract(contract, args.rule, args.profile, budget))
    return EXIT_OK


def _print_plan(console: Console, plan: VendorPlan) -> None:
    table = Table(title=f"{plan.vendor}: profile {plan.profile}")
    for column in ("rule", "severity", "kind", "requests", "plan"):
        table.add_column(column, justify="right" if column == "requests" else "left")
    for entry in plan.rules:
        shown = f"{'' if entry.cost.exact else '<='}{entry.cost.total}"
        plan_word = entry.left_out.split(" (")[0] if entry.left_out else "run"
        table.add_row(entry.rule.id, entry.rule.severity, entry.rule.kind, shown, plan_word)
    console.print(table)
    per_target: dict[str, int] = {}
    for (key, _credential), count in plan.per_credential().items():
        per_target[key] = per_target.get(key, 0) + count
    running = sum(1 for entry in plan.rules if entry.runs)
    budget = f" of budget {plan.budget}" if plan.budget is not None else ""
    bound = "" if plan.exact else " (at most: some counts depend on the target's answers)"
    examples = f", drawn examples capped at {plan.examples}" if plan.examples is not None else ""
    console.print(
        f"{plan.vendor} total: {plan.planned} requests{budget}{bound}; {running}/{len(plan.rules)} rules run{examples}",
        markup=False,
    )
    for key, count in sorted(per_target.items()):
        console.print(f"  {key}: {count}", markup=False)
    for (key, credential), count in plan.per_credential().items():
        console.print(f"  {key} with {credential}: {count}", markup=False)


def _listeners(folder: Path, console: Console, verbose: bool, html: HtmlReport) -> list[Listener]:
    return [
        ProgressReport(console),  # first, so its bar stops before the summary table is printed below it
        TerminalReport(console, verbose, closing=False),
        JunitReport(folder / "junit.xml"),
        JsonReport(folder / "results.json"),
        html,
    ]


def _matrices(
    contracts: list[Contract], running: dict[str, RunningServer], globs: Sequence[str], console: Console
) -> list[MatrixResult]:
    """The kill matrix of every contract against its (already running) bundled server."""
    results = []
    with MatrixProgress(console) as progress:
        for contract in contracts:
            started = time.perf_counter()
            served = running[contract.vendor]
            result = kill_matrix(contract, served.server, served, globs, on_run=progress.for_vendor(contract.vendor))
            progress.done(contract.vendor)
            killed = len(result.faults) - len(result.survivors())
            console.print(
                f"kill matrix {contract.vendor}: {killed}/{len(result.faults)} faults caught by their rules "
                f"({time.perf_counter() - started:.1f}s)"
            )
            results.append(result)
    return results


def _write_matrix(folder: Path, results: list[MatrixResult]) -> list[MatrixView]:
    """Write kill-matrix.json and .html into the report folder; return the matrices for report.html."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kill-matrix.json").write_text(
        json.dumps([_matrix_json(r) for r in results], indent=2) + "\n", encoding="utf-8"
    )
    views = [_matrix_view(r) for r in results]
    (folder / "kill-matrix.html").write_text(render_matrix_page(views), encoding="utf-8")
    return views


def _matrix_view(result: MatrixResult) -> MatrixView:
    return MatrixView(
        result.vendor,
        result.rules,
        [(fault.name, fault.rule) for fault in result.faults],
        result.caught,
        {fault.name: result.expected(fault) for fault in result.faults},
        {fault.name: fault.level for fault in result.faults},
    )


def _serve(args: argparse.Namespace, console: Console) -> int:
    cls = server_class(args.vendor)
    for fault in args.fault:
        if fault not in cls.faults:
            raise SetupError(
                f"--fault {fault!r}: not a fault of the {args.vendor} server{known_hint(fault, cls.faults)}"
            )
    server = cls(faults=args.fault, version=args.version)
    _check_ports_free(args.host, args.port, len(server.apps()))
    variables = {f"CONTRACTGATE_{args.vendor.upper()}_{name}": value for name, value in server.credentials.items()}
    with serve_in_thread(server, host=args.host, first_port=args.port) as running:
        if args.env_file is not None:
            _write_env_file(args.env_file, variables, running.urls)
        # Plain lines, never wrapped or styled, so each can be copied whole at any terminal width.
        faults = f" with faults {', '.join(args.fault)}" if args.fault else ""
        release = " playing its next release" if args.version == "next" else ""
        lines = [f"{args.vendor} reference server{faults}{release}"]
        lines += [f"  --target {target}={url}" for target, url in running.urls.items()]
        if running.ca_pem is not None:
            lines += [
                f"its TLS certificate is signed by a CA made for this run: {running.ca_pem}",
                '  trust it for these targets only: ca_bundle = "<that path>" under [targets.NAME] in '
                "contractgate.toml (other clients: REQUESTS_CA_BUNDLE / SSL_CERT_FILE / curl --cacert)",
            ]
        lines.append("credentials it accepts (export them to run against it):")
        lines += [f"  export {name}={shlex.quote(value)}" for name, value in variables.items()]
        if args.env_file is not None:
            lines.append(f"  (also written to {args.env_file})")
        lines.append("writes are allowed (disposable data). Ctrl-C stops it.")
        print("\n".join(lines), flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return EXIT_OK


def _write_env_file(path: Path, variables: dict[str, str], urls: dict[str, str]) -> None:
    """The server's credentials as a dotenv file (owner-only: they are credentials, if disposable ones)."""
    lines = ["# a contractgate reference server's credentials (valid while it runs); targets:"]
    lines += [f"#   --target {target}={url}" for target, url in urls.items()]
    lines += [f"{name}={shlex.quote(value)}" for name, value in variables.items()]
    try:
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        raise SetupError(f"--env-file {path}: cannot write it ({exc.strerror or exc})") from None


def _init(args: argparse.Namespace, console: Console) -> int:
    """Write the config, waivers stub and CI workflows for the chosen vendors; never overwrite without --force."""
    found = _contract_set(args)
    setups = [_vendor_setup(contract) for contract in found.load(args.vendor)]
    files = render(setups, __version__, args.ci or ["github", "gitlab"])
    taken = [str(path) for path in files if path.exists()]
    if taken and not args.force:
        raise SetupError(f"{', '.join(taken)}: already there; nothing was written (overwrite with --force)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    vendors = " ".join(setup.vendor for setup in setups)
    print(
        f"next: give the targets' URLs in {CONFIG}; add the secrets the workflows map "
        f"(`contractgate env VENDOR` explains each: {vendors})"
    )
    if GITLAB in files:
        print(f"GitLab: add `include: [{{local: {GITLAB}}}]` to .gitlab-ci.yml")
    return EXIT_OK


def _vendor_setup(contract: Contract) -> VendorSetup:
    targets = tuple(
        (f"{target.name}:{region}" if region else target.name, " ".join(target.description.split()), target.optional)
        for target in contract.targets
        for region in (target.regions or [""])
    )
    variables = tuple(
        Variable(row.variable, row.kind == "secret", row.description) for row in credential_rows(contract)
    )
    return VendorSetup(contract.vendor, contract.title, targets, variables, contract.rules[0].id)


def _check_ports_free(host: str, first: int | None, count: int) -> None:
    """Bind each port the server will need first, so a taken port is one line, not a uvicorn log and a traceback."""
    if first is None:  # free ports are picked later; only the host can be wrong
        first, count = 0, 1
    elif first + count - 1 > 65535:
        raise SetupError(f"--port {first}: the server needs {count} ports from there, past 65535")
    for port in range(first, first + count):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as exc:
                what = f"--port {first}" if first else f"--host {host}"
                raise SetupError(
                    f"{what}: cannot listen on {host}:{port} ({exc.strerror or exc}); "
                    "pass another --port, or none for free ports"
                ) from None


def _faults(args: argparse.Namespace, console: Console) -> int:
    server = server_class(args.vendor)
    table = Table(title=f"{args.vendor} faults")
    for column in ("fault", "rule it must trip", "what it breaks"):
        table.add_column(column)
    for fault in server.faults.values():
        table.add_row(fault.name, fault.rule, fault.description)
    console.print(table)
    return EXIT_OK


def _selftest(args: argparse.Namespace, console: Console) -> int:
    contracts = _contracts(args, args.vendor)
    _check_rule_globs(contracts, args.rule)
    for contract in contracts:
        plan_contract(contract, args.rule, args.profile)  # an unknown profile is exit 2 before any server starts
        if contract.vendor not in vendors():
            raise SetupError(
                f"{contract.file}: selftest runs the bundled reference servers, and vendor {contract.vendor!r} has none"
                f" (bundled: {', '.join(vendors())}); select vendors with `contractgate selftest VENDOR`"
            )
    if args.jobs is not None and args.jobs < 1:
        raise SetupError(f"--jobs {args.jobs}: give at least 1 worker process")
    results: list[MatrixResult] = []
    with MatrixProgress(console) as progress:
        for contract in contracts:
            started = time.perf_counter()
            on_run = progress.for_vendor(contract.vendor)
            chosen = _chosen_faults(server_class(contract.vendor)(), args.fault)
            result = parallel_kill_matrix(
                contract, args.rule, chosen, jobs=args.jobs, sweep=args.sweep, on_run=on_run, profile=args.profile
            )
            results.append(result)
            progress.done(contract.vendor)
            _print_matrix(console, result, time.perf_counter() - started)
    folder = _report_dir(args.reports)
    _write_matrix(folder, results)
    console.print(f"kill matrix written to {folder}/")
    return EXIT_OK if all(r.ok for r in results) else EXIT_VIOLATIONS


def _chosen_faults(server: ReferenceServer, globs: list[str]) -> list[str] | None:
    """The faults `--fault` globs select (all when none), or a SetupError naming a glob that matches nothing."""
    if not globs:
        return None
    for glob in globs:
        if not fnmatch.filter(server.faults, glob):
            hint = known_hint(glob, server.faults)
            raise SetupError(f"--fault {glob!r}: no fault of the {server.vendor} server{hint}")
    return [name for name in server.faults if any(fnmatch.fnmatchcase(name, glob) for glob in globs)]


def _matrix_json(result: MatrixResult) -> dict[str, object]:
    return {
        "vendor": result.vendor,
        "rules": result.rules,
        "faults": matrix_rows(result),
        "rule_levels": rule_rows(result),
        "rules_without_value_fault": result.rules_without_value_fault(),
        "clean_problems": [
            {"rule": o.rule_id, "status": str(o.status), "message": o.message} for o in result.clean_problems()
        ],
        "survivors": [f.name for f in result.survivors()],
        "unproven_rules": result.unproven_rules(),
    }


def _print_matrix(console: Console, result: MatrixResult, seconds: float) -> None:
    table = Table(
        title=f"{result.vendor}: kill matrix ({len(result.faults)} faults x {len(result.rules)} rules, {seconds:.1f}s)"
    )
    for column in ("fault", "level", "intended rule", "caught", "also tripped", "fuzz rules", "errors"):
        table.add_column(column)
    for row in matrix_rows(result):
        caught = "[green]yes[/]" if not row["missed"] else f"[bold red]NO[/] ({', '.join(row['missed'])})"
        also, broad, errors = (", ".join(row[key]) or "-" for key in ("also", "broad", "errors"))
        table.add_row(str(row["fault"]), str(row["level"]), str(row["rule"]), caught, also, broad, errors)
    console.print(table)
    for outcome in result.clean_problems():
        console.print(
            f"[bold red]clean server: {outcome.rule_id} {outcome.status}[/]: {outcome.message}",
            markup=True,
        )
    unproven = result.unproven_rules()
    if unproven:
        console.print(f"[yellow]rules with no fault aimed at them:[/] {', '.join(unproven)}")
    never_alone = result.rules_never_alone()
    if never_alone:
        console.print(f"[yellow]rules no fault makes fail on their own:[/] {', '.join(never_alone)}")
    no_value = result.rules_without_value_fault()
    if no_value:
        console.print(f"[yellow]rules no value-level fault makes fail on their own:[/] {', '.join(no_value)}")
    value = sum(1 for fault in result.faults if fault.level == "value")
    console.print(f"{result.vendor}: faults by level: {len(result.faults) - value} form, {value} value")
    killed = len(result.faults) - len(result.survivors())
    passing = len(result.clean) - len(result.clean_problems())
    console.print(
        f"{result.vendor}: {killed}/{len(result.faults)} faults killed by the rules that must catch them; "
        f"clean server: {passing}/{len(result.clean)} rules pass"
    )
    if result.broad:
        seen = sum(1 for fault in result.faults if result.broad_catches(fault))
        console.print(f"{result.vendor}: fuzz rules alone catch {seen}/{len(result.faults)} faults")


def _diff(args: argparse.Namespace, console: Console) -> int:
    for path in (args.before, args.after):
        _check_results(path)
    changes = diff_results(args.before, args.after)
    console.print(render_diff(changes), markup=False)
    return EXIT_VIOLATIONS if any(c.regression for c in changes) else EXIT_OK


def _check_results(path: Path) -> None:
    """A results.json of an earlier run (or a report folder holding one), or a SetupError naming the file."""
    file = path / "results.json" if path.is_dir() else path
    if not file.is_file():
        what = f"{path}/ holds no results.json" if path.is_dir() else f"{path}: no such file"
        raise SetupError(f"{what} (give a results.json or a report folder)")
    try:
        document = json.loads(file.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise SetupError(f"{file}:1: not a results.json (not UTF-8 text)") from None
    except json.JSONDecodeError as exc:
        raise SetupError(f"{file}:{exc.lineno}: not a results.json (not valid JSON: {exc.msg})") from None
    rules = document.get("rules") if isinstance(document, dict) else None
    if not isinstance(rules, list) or not all(
        isinstance(r, dict) and {"vendor", "id", "status"} <= r.keys() for r in rules
    ):
        raise SetupError(
            f"{file}:1: not a results.json of contractgate (expected a `rules` list of vendor/id/status objects)"
        )


def _env(args: argparse.Namespace, console: Console) -> int:
    """Print the credential variables a vendor's contract reads: a list, or a dotenv template."""
    (contract,) = _contracts(args, [args.vendor])
    rows = credential_rows(contract)
    if args.format == "dotenv":
        print(f"# {contract.title}: credentials read by contractgate (fill in, then export or load)")
        for row in rows:
            print(f"# {row.description} ({row.kind}; region {row.region}; auth {row.auth})")
            print(f"{row.variable}=")
        return EXIT_OK
    width = max((len(row.variable) for row in rows), default=0)
    for row in rows:
        print(f"{row.variable.ljust(width)}  {row.kind:6}  region={row.region}  auth={row.auth}  {row.description}")
    return EXIT_OK


class CredentialRow(NamedTuple):
    """One environment variable a contract reads, and what it means."""

    variable: str
    kind: str  # secret or public
    region: str  # the region it belongs to, or "-"
    auth: str  # the auth schemes that use it, comma-separated, or "-"
    description: str


def credential_rows(contract: Contract) -> list[CredentialRow]:
    """Every credential variable of a contract, per region where the credential is per region."""
    regions = sorted({region for target in contract.targets for region in target.regions})
    users: dict[str, list[str]] = {}
    for scheme_name, scheme in contract.auth.items():
        names = [field for template in scheme.headers.values() for _, field, _, _ in string.Formatter().parse(template)]
        if isinstance(scheme, HmacScheme):
            names.append(scheme.key)  # the credential that keys the HMAC
        for name in names:
            if name and scheme_name not in users.setdefault(name, []):
                users[name].append(scheme_name)
    rows = []
    for name, decl in contract.credentials.items():
        for region in regions if decl.per_region else [None]:
            rows.append(
                CredentialRow(
                    env_name(contract.vendor, decl.env, region),
                    "secret" if decl.secret else "public",
                    region or "-",
                    ",".join(users.get(name, [])) or "-",
                    " ".join(decl.description.split()) or name,
                )
            )
    return rows


def _schema(args: argparse.Namespace, console: Console) -> int:
    from ._schema_export import contract_json_schema

    text = json.dumps(contract_json_schema(), indent=2) + "\n"
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        console.print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _drift_parser(commands: Any) -> None:
    drift = commands.add_parser(
        "drift",
        help="what changed in the vendor's API between two recordings (cassette folders or reports/<run>/)",
    )
    drift.add_argument("baseline", type=Path, help="a cassette folder, or a report folder with exchanges/")
    drift.add_argument("current", type=Path, nargs="?", help="the same; omitted with --live")
    drift.add_argument(
        "--live",
        action="store_true",
        help="record CURRENT first from --target (the bundled reference servers without one) into --reports",
    )
    drift.add_argument("--vendor", action="append", default=[], help="with --live: only this vendor (repeatable)")
    drift.add_argument("--target", action="append", default=[], metavar="NAME[:REGION]=URL")
    drift.add_argument("--rule", action="append", default=[], metavar="GLOB", help="with --live: only these rules")
    drift.add_argument("--config", type=Path, default=None, help="contractgate.toml (targets, with --live)")
    drift.add_argument(
        "--server-version",
        choices=VERSIONS,
        default="current",
        help="with --live and no --target: the bundled servers play this release",
    )
    drift.add_argument("--reports", type=Path, default=Path("reports"), help="where --live keeps its recording")
    drift.add_argument("--format", choices=["terminal", "markdown", "json", "html"], default="terminal")
    drift.add_argument("--output", type=Path, default=None, metavar="DIR", help="also write drift.json/.md/.html")
    drift.add_argument(
        "--fail-on",
        choices=DRIFT_SEVERITIES,
        default="breaking",
        help="exit 1 when a change at or above this severity is found (default breaking)",
    )
    drift.add_argument(
        "--severity-levels",
        type=Path,
        default=None,
        metavar="FILE",
        help="override default severities: one `finding-id severity` per line (see docs/drift.md)",
    )


def _drift(args: argparse.Namespace, console: Console) -> int:
    if args.live == (args.current is not None):
        raise SetupError("drift: give BASELINE and CURRENT, or BASELINE and --live (which records CURRENT)")
    levels = read_severity_levels(args.severity_levels) if args.severity_levels else {}
    contracts = _contracts(args, args.vendor)
    current = _record_current(args, contracts, console) if args.live else args.current
    result = drift(args.baseline, current, contracts, Path.cwd(), levels)
    document = result.to_dict()
    if args.output is not None:
        write_drift(args.output, document)
    if args.format == "terminal":
        print_drift(console, document)
    else:
        render = {"markdown": render_drift_markdown, "json": render_drift_json, "html": render_drift_html}
        sys.stdout.write(render[args.format](document))
    return EXIT_VIOLATIONS if result.fails(args.fail_on) else EXIT_OK


def _record_current(args: argparse.Namespace, contracts: list[Contract], console: Console) -> Path:
    """Record every selected rule's exchanges from the targets (or the bundled servers) into a report folder."""
    _check_rule_globs(contracts, args.rule)
    args.allow_writes = []
    targets = _targets(args, contracts)
    if not targets:
        _require_servers(contracts)
    folder = _report_dir(args.reports)
    config = RunConfig(
        mode="record",
        targets=targets,
        rule_globs=list(args.rule),
        cassettes=folder / "exchanges",
        environ=dict(os.environ),
    )
    with contextlib.ExitStack() as stack:
        if not targets:
            running = stack.enter_context(_bundled(contracts, args.server_version))
            environ = dict(os.environ)
            for contract in contracts:
                bundled = bundled_config(contract, running[contract.vendor])
                config.targets.update(bundled.targets)
                environ.update(bundled.environ)
            config.environ = environ
        engine = Engine(contracts, config, [JsonReport(folder / "results.json")])
        engine.preflight()
        result = engine.run()
    Console(stderr=True, highlight=False).print(  # stdout carries the drift alone (--format json, markdown)
        f"recorded {len(result.outcomes)} rules into {folder}/exchanges/ ({result.verdict_line()})", markup=False
    )
    return folder


def _export_har_parser(commands: Any) -> None:
    har = commands.add_parser(
        "export-har", help="a run's exchanges as HAR 1.2 for a browser's developer tools (secrets masked)"
    )
    har.add_argument(
        "source",
        type=Path,
        help="a report folder (reports/<run>/: its results.json) or a cassette folder (cassettes/, <run>/exchanges/)",
    )
    har.add_argument("output", type=Path, help="the .har file to write")


def _export_har(args: argparse.Namespace, console: Console) -> int:
    source, output = args.source, args.output
    if output.is_dir():
        raise SetupError(f"export-har: {output} is a folder; give the path of the .har file to write")
    results = source / "results.json"
    if results.is_file():
        try:
            exchanges = exchanges_of_results(load_results(results))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SetupError(f"export-har: {results}: not a contractgate results.json ({exc})") from None
        if not exchanges:
            raise SetupError(f"export-har: {results}: the run sent no request")
    else:
        exchanges = [item for path in cassette_files(source) for item in _cassette_exchanges(Cassette.load(path))]
    count = write_har(exchanges, output, __version__)
    console.print(f"wrote {count} exchanges to {output}", markup=False, highlight=False, soft_wrap=True)
    return EXIT_OK


def _cassette_exchanges(cassette: Cassette) -> list[HarExchange]:
    """A cassette's interactions at the addresses they were recorded at (a cassette keeps no timings)."""
    found = []
    for interaction in cassette.interactions:
        stored = interaction.to_vcr(cassette.bases, origins=True)
        request, response = stored["request"], stored["response"]
        headers = [(name, value) for name, values in response["headers"].items() for value in values]
        found.append(
            HarExchange(
                rule=cassette.rule_id,
                method=interaction.method,
                url=request["uri"],
                request_headers=list(interaction.request_headers.items()),
                request_body=interaction.request_body,
                status=interaction.status,
                response_headers=headers,
                response_body=response["body"]["string"],
                started=started_from_date(headers),
                base64=interaction.body_encoding == "base64",
            )
        )
    return found


def _upgrade_parser(commands: Any) -> None:
    check = commands.add_parser(
        "upgrade-check",
        help="after a vendor upgrade: record again, then one page of rules that changed verdict and shape changes",
    )
    check.add_argument(
        "--before",
        type=Path,
        required=True,
        metavar="DIR",
        help="the report folder of a run made before the upgrade with --keep-exchanges (results.json, exchanges/)",
    )
    check.add_argument("--vendor", action="append", default=[], help="only this vendor (repeatable)")
    check.add_argument("--target", action="append", default=[], metavar="NAME[:REGION]=URL")
    check.add_argument("--rule", action="append", default=[], metavar="GLOB")
    check.add_argument("--config", type=Path, default=None, help="contractgate.toml (targets)")
    check.add_argument("--server-version", choices=VERSIONS, default="current", help="without --target")
    check.add_argument("--reports", type=Path, default=Path("reports"))
    check.add_argument("--fail-on", choices=DRIFT_SEVERITIES, default="breaking", help="for shape changes")
    check.add_argument("--severity-levels", type=Path, default=None, metavar="FILE")


def _upgrade_check(args: argparse.Namespace, console: Console) -> int:
    """Record the after side, then one page: rules that changed verdict, and shape changes, each with severity."""
    _check_results(args.before)
    cassette_files(args.before)  # a before run without exchanges is one clear line, before anything is recorded
    levels = read_severity_levels(args.severity_levels) if args.severity_levels else {}
    contracts = _contracts(args, args.vendor)
    after = _record_current(args, contracts, console)
    changes = diff_results(args.before, after)
    shapes = drift(args.before, after, contracts, Path.cwd(), levels)
    document = shapes.to_dict()
    page = after / "upgrade.html"
    page.write_text(render_upgrade_html(str(args.before), str(after), upgrade_rows(changes), document), "utf-8")
    console.print(render_diff(changes), markup=False)
    print_drift(console, document)
    console.print(f"upgrade report: {page}", markup=False)
    regressed = any(change.regression for change in changes)
    return EXIT_VIOLATIONS if regressed or shapes.fails(args.fail_on) else EXIT_OK
