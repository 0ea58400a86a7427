"""The command line: run, serve, faults, selftest, diff, schema, env. Exit 0 conformant, 1 violations, 2 the rest."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import difflib
import fnmatch
import json
import math
import os
import re
import socket
import string
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

from ._auth import env_name
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
from ._loader import contract_files, load_contracts
from ._outcome import SEVERITIES, Policy
from ._runner import RECORD_MODES, Engine, Listener
from ._selftest import MatrixResult, bundled_config, kill_matrix, matrix_rows
from ._waivers import Waiver, parse_waivers, read_waivers_file
from .reports import HtmlReport, JsonReport, JunitReport, TerminalReport, print_verdict, render_matrix
from .reports._diff import diff_results, render_diff
from .reports._drift import print_drift, render_drift_html, render_drift_json, render_drift_markdown, write_drift
from .reports._upgrade import render_upgrade_html, upgrade_rows
from .servers import VERSIONS, RunningServer, UnknownFault, UnknownServer, serve_in_thread, server_class, vendors

__all__ = ["main"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_SETUP = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contractgate", description="Contract tests for threat-intelligence vendor APIs."
    )
    parser.add_argument("--contracts", type=Path, default=Path("contracts"), help="folder of contract files")
    parser.add_argument("--debug", action="store_true", help="print the traceback of an error")
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
        "--no-matrix",
        action="store_true",
        help="against the bundled servers, skip the kill matrix (rules x faults) in the reports",
    )
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
    run.add_argument("--reports", type=Path, default=Path("reports"))
    run.add_argument(
        "--rate",
        type=_rate,
        default=None,
        help="requests per second to each target in live mode "
        f"(beats the file's `rate`; default {DEFAULT_LIVE_RATE:g})",
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

    serve = commands.add_parser("serve", help="run a vendor's reference server on loopback")
    serve.add_argument("vendor")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=None, help="first port (one port per app)")
    serve.add_argument("--fault", action="append", default=[], help="inject a fault (repeatable)")
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
    selftest.add_argument("--reports", type=Path, default=Path("reports"))
    selftest.add_argument(
        "--sweep",
        action="store_true",
        help="run the broad (fuzz) rules against every fault, not only the faults that name them",
    )

    diff = commands.add_parser("diff", help="what changed between two runs (results.json files or report folders)")
    diff.add_argument("before", type=Path)
    diff.add_argument("after", type=Path)

    _drift_parser(commands)
    _upgrade_parser(commands)

    schema = commands.add_parser("schema", help="print the contract JSON Schema (or write it with --write)")
    schema.add_argument("--write", type=Path, default=None)

    env = commands.add_parser("env", help="the credential environment variables a vendor's contract reads")
    env.add_argument("vendor")
    env.add_argument("--format", choices=["text", "dotenv"], default="text")
    for command in commands.choices.values():  # `--debug` also after the command, where people type it
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    return parser


def _rate(text: str) -> float:
    """argparse type of --rate: a positive, finite number of requests per second."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a positive, finite number of requests per second")
    return value


def _port(text: str) -> int:
    """argparse type of --port: 1-65535."""
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return int(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script: exit 0 conformant, 1 vendor violations, 2 anything else that went wrong."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # argparse has printed usage and the one-line reason
        return stop.code if isinstance(stop.code, int) else EXIT_SETUP
    console = Console(highlight=False)
    handler = {
        "run": _run,
        "serve": _serve,
        "faults": _faults,
        "selftest": _selftest,
        "diff": _diff,
        "drift": _drift,
        "upgrade-check": _upgrade_check,
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


def _contracts(folder: Path, vendors: Sequence[str]) -> list[Contract]:
    files = list(contract_files(folder))
    if not files:
        raise SetupError(f"no contract files in {folder}/ (run from the project root or pass --contracts)")
    if vendors:
        known = [f.stem for f in files]
        unknown = sorted(set(vendors) - set(known))
        if unknown:
            raise SetupError(f"no contract for {', '.join(unknown)} in {folder}/{known_hint(unknown[0], known)}")
        files = [f for f in files if f.stem in vendors]
    return load_contracts(files)


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
        selected = declared_targets(load_contracts(list(contract_files(args.contracts))))
    check_target_names(from_file, selected)
    declared = declared_targets(contracts)
    writable = {c.vendor for c in contracts} | set(declared)
    writable |= {f"{name}:{region}" for name, regions in declared.items() for region in regions}
    for name in args.allow_writes:
        if name not in writable:
            raise SetupError(f"--allow-writes {name!r}: not a selected vendor or target{known_hint(name, writable)}")
    return {**from_file, **given}


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
    contracts = _contracts(args.contracts, args.vendor)
    _check_rule_globs(contracts, args.rule)
    targets = _targets(args, contracts)
    if args.mode != "replay" and not targets:
        _require_servers(contracts)
    policy, waivers = _verdict_settings(args)
    config = RunConfig(
        mode=args.mode,
        targets=targets,
        allow_writes=set(args.allow_writes),
        rule_globs=list(args.rule),
        cassettes=args.cassettes,
        environ=dict(os.environ),
        rate=args.rate,
        record_mode=args.record_mode,
    )
    with contextlib.ExitStack() as stack:
        if args.mode != "replay" and not targets:
            running = stack.enter_context(_bundled(contracts))
            config.targets, environ = {}, dict(os.environ)
            for contract in contracts:
                bundled = bundled_config(contract, running[contract.vendor])
                config.targets.update(bundled.targets)
                environ.update(bundled.environ)
            config.environ = environ
            console.print(f"no --target given: running against the bundled reference servers ({', '.join(running)})")
        folder = _report_dir(args.reports)
        if args.keep_exchanges and args.mode in {"live", "record"}:
            config.exchanges = folder / "exchanges"
        matrix_html = ""
        if args.mode != "replay" and not targets and not args.no_matrix:
            matrix_html = _write_matrix(folder, _matrices(contracts, running, args.rule, console))
        engine = Engine(contracts, config, _listeners(folder, console, args.verbose, matrix_html))
        engine.policy, engine.waivers = policy, waivers
        engine.preflight()
        result = engine.run()
    if not result.coverage()["checked"]:
        blocked = [o for o in result.outcomes if o.status == "error"] or result.outcomes
        first = f"; {blocked[0].rule_id}: {(blocked[0].message.splitlines() or ['-'])[0]}" if blocked else ""
        raise SetupError(f"no rule could run{first} ({result.verdict_line()}; every reason: -v)")
    extra = ", kill-matrix.json, kill-matrix.html" if matrix_html else ""
    console.print(f"reports: {folder}/ (junit.xml, results.json, report.html{extra})")
    print_verdict(console, result)
    return result.exit_code


def _listeners(folder: Path, console: Console, verbose: bool, matrix_html: str = "") -> list[Listener]:
    return [
        TerminalReport(console, verbose, closing=False),
        JunitReport(folder / "junit.xml"),
        JsonReport(folder / "results.json"),
        HtmlReport(folder / "report.html", matrix_html),
    ]


def _matrices(
    contracts: list[Contract], running: dict[str, RunningServer], globs: Sequence[str], console: Console
) -> list[MatrixResult]:
    """The kill matrix of every contract against its (already running) bundled server."""
    results = []
    for contract in contracts:
        started = time.perf_counter()
        served = running[contract.vendor]
        result = kill_matrix(contract, served.server, served, globs)
        killed = len(result.faults) - len(result.survivors())
        console.print(
            f"kill matrix {contract.vendor}: {killed}/{len(result.faults)} faults caught by their rules "
            f"({time.perf_counter() - started:.1f}s)"
        )
        results.append(result)
    return results


def _write_matrix(folder: Path, results: list[MatrixResult]) -> str:
    """Write kill-matrix.json and .html into the report folder; return the table for report.html."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kill-matrix.json").write_text(
        json.dumps([_matrix_json(r) for r in results], indent=2) + "\n", encoding="utf-8"
    )
    page = "".join(
        f"<h3>{r.vendor}</h3>" + render_matrix(r.rules, [(f.name, f.rule) for f in r.faults], r.caught) for r in results
    )
    (folder / "kill-matrix.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>contractgate kill matrix</title>{page}\n",
        encoding="utf-8",
    )
    return page


def _serve(args: argparse.Namespace, console: Console) -> int:
    cls = server_class(args.vendor)
    for fault in args.fault:
        if fault not in cls.faults:
            raise SetupError(
                f"--fault {fault!r}: not a fault of the {args.vendor} server{known_hint(fault, cls.faults)}"
            )
    server = cls(faults=args.fault, version=args.version)
    _check_ports_free(args.host, args.port, len(server.apps()))
    with serve_in_thread(server, host=args.host, first_port=args.port) as running:
        console.print(
            f"{args.vendor} reference server"
            + (f" with faults {', '.join(args.fault)}" if args.fault else "")
            + (" playing its next release" if args.version == "next" else "")
        )
        for target, url in running.urls.items():
            console.print(f"  --target {target}={url}")
        if running.ca_pem is not None:
            console.print(f"its TLS certificate is signed by a CA made for this run: {running.ca_pem}", markup=False)
            console.print(
                '  trust it for these targets only: ca_bundle = "<that path>" under [targets.NAME] in '
                "contractgate.toml (other clients: REQUESTS_CA_BUNDLE / SSL_CERT_FILE / curl --cacert)",
                markup=False,
            )
        console.print("credentials it accepts (export them to run against it):")
        for name, value in server.credentials.items():
            console.print(f"  export CONTRACTGATE_{args.vendor.upper()}_{name}='{value}'", markup=False)
        console.print("writes are allowed (disposable data). Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return EXIT_OK


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
    contracts = _contracts(args.contracts, args.vendor)
    _check_rule_globs(contracts, args.rule)
    for contract in contracts:
        if contract.vendor not in vendors():
            raise SetupError(
                f"{contract.file}: selftest runs the bundled reference servers, and vendor {contract.vendor!r} has none"
                f" (bundled: {', '.join(vendors())}); select vendors with `contractgate selftest VENDOR`"
            )
    results: list[MatrixResult] = []
    for contract in contracts:
        server = server_class(contract.vendor)()
        with serve_in_thread(server) as running:
            started = time.perf_counter()
            result = kill_matrix(contract, server, running, args.rule, sweep=args.sweep)
            results.append(result)
        _print_matrix(console, result, time.perf_counter() - started)
    folder = _report_dir(args.reports)
    _write_matrix(folder, results)
    console.print(f"kill matrix written to {folder}/")
    return EXIT_OK if all(r.ok for r in results) else EXIT_VIOLATIONS


def _matrix_json(result: MatrixResult) -> dict[str, object]:
    return {
        "vendor": result.vendor,
        "rules": result.rules,
        "faults": matrix_rows(result),
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
    for column in ("fault", "intended rule", "caught", "also tripped", "fuzz rules", "errors"):
        table.add_column(column)
    for row in matrix_rows(result):
        caught = "[green]yes[/]" if not row["missed"] else f"[bold red]NO[/] ({', '.join(row['missed'])})"
        also, broad, errors = (", ".join(row[key]) or "-" for key in ("also", "broad", "errors"))
        table.add_row(str(row["fault"]), str(row["rule"]), caught, also, broad, errors)
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
    (contract,) = _contracts(args.contracts, [args.vendor])
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
    contracts = _contracts(args.contracts, args.vendor)
    current = _record_current(args, contracts, console) if args.live else args.current
    result = drift(args.baseline, current, contracts, args.contracts.resolve().parent, levels)
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
    contracts = _contracts(args.contracts, args.vendor)
    after = _record_current(args, contracts, console)
    changes = diff_results(args.before, after)
    shapes = drift(args.before, after, contracts, args.contracts.resolve().parent, levels)
    document = shapes.to_dict()
    page = after / "upgrade.html"
    page.write_text(render_upgrade_html(str(args.before), str(after), upgrade_rows(changes), document), "utf-8")
    console.print(render_diff(changes), markup=False)
    print_drift(console, document)
    console.print(f"upgrade report: {page}", markup=False)
    regressed = any(change.regression for change in changes)
    return EXIT_VIOLATIONS if regressed or shapes.fails(args.fail_on) else EXIT_OK
