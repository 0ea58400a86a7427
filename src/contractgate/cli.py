"""The command line: run, serve, faults, selftest, diff, schema. Exit 0 conformant, 1 violations, 2 could not run."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ._config import RunConfig, parse_target_options, read_config_file, read_verdict_config
from ._contract import Contract
from ._errors import SetupError
from ._loader import contract_files, load_contracts
from ._outcome import SEVERITIES, Policy
from ._runner import Engine, Listener
from ._selftest import MatrixResult, bundled_config, kill_matrix, matrix_rows
from ._waivers import Waiver, parse_waivers, read_waivers_file
from .reports import HtmlReport, JsonReport, JunitReport, TerminalReport, print_verdict, render_matrix
from .reports._diff import diff_results, render_diff
from .servers import RunningServer, serve_in_thread, server_class

__all__ = ["main"]

EXIT_OK, EXIT_VIOLATIONS, EXIT_SETUP = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contractgate", description="Contract tests for threat-intelligence vendor APIs."
    )
    parser.add_argument("--contracts", type=Path, default=Path("contracts"), help="folder of contract files")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="run the contracts against targets (the bundled reference servers by default)"
    )
    run.add_argument("--vendor", action="append", default=[], help="only this vendor (repeatable)")
    run.add_argument("--mode", choices=["live", "replay", "record"], default="live")
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
        metavar="VENDOR",
        help="let rules that write run against VENDOR's targets",
    )
    run.add_argument(
        "--config",
        type=Path,
        default=None,
        help="contractgate.toml (default: ./contractgate.toml or [tool.contractgate] in pyproject.toml)",
    )
    run.add_argument("--cassettes", type=Path, default=Path("cassettes"))
    run.add_argument("--reports", type=Path, default=Path("reports"))
    run.add_argument("--rate", type=float, default=None, help="requests per second per vendor in live mode")
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
    serve.add_argument("--port", type=int, default=None, help="first port (one port per app)")
    serve.add_argument("--fault", action="append", default=[], help="inject a fault (repeatable)")

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

    schema = commands.add_parser("schema", help="print the contract JSON Schema (or write it with --write)")
    schema.add_argument("--write", type=Path, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    console = Console(highlight=False)
    try:
        handler = {
            "run": _run,
            "serve": _serve,
            "faults": _faults,
            "selftest": _selftest,
            "diff": _diff,
            "schema": _schema,
        }[args.command]
        return handler(args, console)
    except SetupError as error:
        first = str(error).splitlines()
        print(f"contractgate: error: {first[0]}", file=sys.stderr)
        for line in first[1:]:
            print(f"  {line}", file=sys.stderr)
        return EXIT_SETUP
    except KeyboardInterrupt:
        return 130


def _contracts(folder: Path, vendors: Sequence[str]) -> list[Contract]:
    files = list(contract_files(folder))
    if not files:
        raise SetupError(f"no contract files in {folder}/ (run from the project root or pass --contracts)")
    if vendors:
        wanted = {f"{v}.yaml" for v in vendors}
        unknown = wanted - {f.name for f in files}
        if unknown:
            raise SetupError(f"no contract for {', '.join(sorted(u[:-5] for u in unknown))} in {folder}/")
        files = [f for f in files if f.name in wanted]
    return load_contracts(files)


def _report_dir(root: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    folder = root / stamp
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = root / f"{stamp}-{suffix}"
    return folder


@contextlib.contextmanager
def _bundled(contracts: list[Contract]) -> Iterator[dict[str, RunningServer]]:
    with contextlib.ExitStack() as stack:
        running = {}
        for contract in contracts:
            server = server_class(contract.vendor)()
            running[contract.vendor] = stack.enter_context(serve_in_thread(server))
        yield running


def _verdict_settings(args: argparse.Namespace) -> tuple[Policy, list[Waiver]]:
    """The gate's policy and waivers from the flags and the config file (a bad entry is exit 2)."""
    settings = read_verdict_config(args.config)
    waivers = parse_waivers(settings.waivers, settings.source) if settings.waivers else []
    if args.waivers is not None:
        waivers += read_waivers_file(args.waivers)
    return Policy(fail_on=args.fail_on, allow_skips=args.allow_skips or settings.allow_skips), waivers


def _run(args: argparse.Namespace, console: Console) -> int:
    contracts = _contracts(args.contracts, args.vendor)
    targets = {**read_config_file(args.config), **parse_target_options(args.target)}
    policy, waivers = _verdict_settings(args)
    config = RunConfig(
        mode=args.mode,
        targets=targets,
        allow_writes=set(args.allow_writes),
        rule_globs=list(args.rule),
        cassettes=args.cassettes,
        environ=dict(os.environ),
        rate=args.rate,
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
        matrix_html = ""
        if args.mode != "replay" and not targets and not args.no_matrix:
            matrix_html = _write_matrix(folder, _matrices(contracts, running, args.rule, console))
        engine = Engine(contracts, config, _listeners(folder, console, args.verbose, matrix_html))
        engine.policy, engine.waivers = policy, waivers
        engine.preflight()
        result = engine.run()
    if not result.coverage()["checked"]:
        raise SetupError(f"no rule could run (missing targets or credentials): {result.verdict_line()}")
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
    server = server_class(args.vendor)(faults=args.fault)
    with serve_in_thread(server, host=args.host, first_port=args.port) as running:
        console.print(
            f"{args.vendor} reference server" + (f" with faults {', '.join(args.fault)}" if args.fault else "")
        )
        for target, url in running.urls.items():
            console.print(f"  --target {target}={url}")
        console.print("credentials it accepts (export them to run against it):")
        for name, value in server.credentials.items():
            console.print(f"  export CONTRACTGATE_{args.vendor.upper()}_{name}='{value}'", markup=False)
        console.print("writes are allowed (disposable data). Ctrl-C stops it.")
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return EXIT_OK


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
    changes = diff_results(args.before, args.after)
    console.print(render_diff(changes), markup=False)
    return EXIT_VIOLATIONS if any(c.regression for c in changes) else EXIT_OK


def _schema(args: argparse.Namespace, console: Console) -> int:
    from ._schema_export import contract_json_schema

    text = json.dumps(contract_json_schema(), indent=2) + "\n"
    if args.write:
        args.write.write_text(text, encoding="utf-8")
        console.print(f"wrote {args.write}")
    else:
        sys.stdout.write(text)
    return EXIT_OK
