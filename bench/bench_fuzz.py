"""Benchmark: contractgate's `fuzz` rules beside the schemathesis command line, on the same server and description.

For every vendor whose contract has a `fuzz` rule whose OpenAPI description exists, in one run:

- throughput: both tools fuzz the clean reference server (same checks, same GET operations, one worker);
  requests are counted at the server by an ASGI wrapper, so both tools are measured the same way;
- requests to first failure: a seeded fault is switched on and the server-side count is taken at the
  request whose answer the tool first judges failing.

Each figure is the median over seeds (contractgate: hypothesis's forced seed; CLI: `--seed`).
A measurement, not a gate: it exits 0 and prints whether the goals hold.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import hypothesis.core

from contractgate._contract import Contract, Rule
from contractgate._errors import Violation
from contractgate._loader import load_contract
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate._transport import READ_METHODS
from contractgate.checks import _fuzz
from contractgate.servers import ReferenceServer, serve_in_thread, server_class, vendors

ROOT = Path(__file__).resolve().parents[1]
CHECKS = list(_fuzz.DEFAULT_CHECKS)
CASE_HEADER = b"x-schemathesis-testcaseid"
ASGIApp = Callable[..., Any]

# How the CLI authenticates: static headers built from the reference server's credentials (key, region).
CLI_AUTH: dict[str, Callable[[Mapping[str, str], str | None], dict[str, str]]] = {
    "threatjammer": lambda creds, region: {"Authorization": "Bearer " + creds["KEY_" + (region or "").upper()]},
    "assemblyline": lambda creds, _region: {"X-USER": creds["USER"], "X-APIKEY": creds["APIKEY"]},
    "threatconnect": lambda creds, _region: {"Authorization": f"TC-Token {creds['API_TOKEN']}"},
}
# Faults seeded for the requests-to-first-failure race: a response-schema, a content-type and a status fault that
# both tools can see. Threat Jammer's are verified; the others are candidates until their descriptions land.
SEEDED: dict[str, list[str]] = {
    "threatjammer": ["geo-coordinates-as-strings", "json-served-as-text", "validation-not-422"],
    "assemblyline": ["search-offset-string", "is-completed-string"],
    "threatconnect": ["missing-resource-500", "v2-status-word-ok"],
}


@dataclass
class Hit:
    """One request as the server saw it: when it arrived and finished, and the CLI's test-case id if any."""

    method: str
    path: str
    started: float
    case_id: str | None
    status: int | None = None
    finished: float | None = None


class Counter:
    """Wraps a server's ASGI apps and logs every HTTP request they receive, in arrival order."""

    def __init__(self) -> None:
        self.log: list[Hit] = []
        self._lock = threading.Lock()

    def wrap(self, app: ASGIApp) -> ASGIApp:
        """An ASGI app that logs each HTTP request, then hands it to `app`."""

        async def counted(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            case_id = next((v.decode() for k, v in scope.get("headers", []) if k.lower() == CASE_HEADER), None)
            hit = Hit(scope["method"], scope["path"], time.perf_counter(), case_id)
            with self._lock:
                self.log.append(hit)

            async def sending(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    hit.status = message["status"]
                elif message["type"] == "http.response.body" and not message.get("more_body"):
                    hit.finished = time.perf_counter()
                await send(message)

            await app(scope, receive, sending)

        return counted

    def install(self, server: ReferenceServer) -> None:
        """Put the counting wrapper around every app of `server` (before it is served)."""
        server._apps = [replace(app, asgi=self.wrap(app.asgi)) for app in server.apps()]

    def since(self, mark: int) -> list[Hit]:
        """The requests logged after position `mark`."""
        with self._lock:
            return self.log[mark:]


@dataclass
class Run:
    """One tool run: requests the server saw, how long they took, and the first failure if any."""

    tool: str
    seed: int
    fault: str | None
    requests: int
    seconds: float
    wall_seconds: float
    passed: bool
    first_failure: int | None = None
    failure: str = ""
    masked: bool = False

    @property
    def rps(self) -> float:
        """Requests per second over the server-side window (first request in to last answer out)."""
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass
class Subject:
    """A vendor's fuzz rule, its description, the operations it sends and the base URL it aims at."""

    vendor: str
    contract: Contract
    rule: Rule
    description: Path
    labels: list[str]
    target_key: str
    region: str | None
    faults: list[str] = field(default_factory=list)


def fuzz_subjects(chosen: list[str], extra_faults: dict[str, list[str]], exclude: list[str]) -> Iterator[Subject]:
    """Vendors whose contract has a `fuzz` rule with an existing description, one subject per such rule."""
    for vendor in chosen:
        path = ROOT / "contracts" / f"{vendor}.yaml"
        if not path.is_file():
            continue
        contract = load_contract(path)
        for rule in contract.rules:
            if rule.kind != "fuzz":
                continue
            if exclude:  # both tools leave these operations out
                rule.params["exclude"] = [*rule.params.get("exclude", []), *exclude]
            params = _fuzz.FuzzParams.model_validate(rule.params)
            if not params.checks or params.auth is not None or params.negative:
                continue  # auth sweeps and negative runs have no like-for-like CLI counterpart
            description = (ROOT / params.openapi).resolve()
            if not description.is_file():
                print(f"{vendor}: {rule.id} skipped, {params.openapi} does not exist yet")
                continue
            schema = _fuzz.load_openapi(description)
            operations = _fuzz.select_operations(schema, params.include, params.exclude)
            labels = [op.label for op in operations if op.method.upper() in READ_METHODS or rule.writes]
            name = params.target or contract.defaults.target
            assert name is not None
            regions = params.regions or contract.target(name).regions
            region = regions[0] if regions else None
            key = f"{name}:{region}" if region else name
            if region:
                rule.params["regions"] = [region]  # the CLI has one base URL, so the rule gets the same one
            faults = extra_faults.get(vendor) or SEEDED.get(vendor, [])
            yield Subject(vendor, contract, rule, description, labels, key, region, faults)


@contextlib.contextmanager
def forced_seed(seed: int) -> Iterator[None]:
    """Make every hypothesis property in the block draw from `seed` (as pytest's --hypothesis-seed does)."""
    saved = hypothesis.core.global_force_seed
    hypothesis.core.global_force_seed = seed  # type: ignore[assignment]
    try:
        yield
    finally:
        hypothesis.core.global_force_seed = saved


@contextlib.contextmanager
def first_violation(counter: Counter, mark: int, seen: list[tuple[int, str]]) -> Iterator[None]:
    """Note the server-side request count when the fuzz rule first judges an answer failing."""
    original = _fuzz._judge

    def judged(ctx: Any, case: Any, response: Any, params: Any) -> None:
        try:
            original(ctx, case, response, params)
        except Violation as violation:
            if not seen:
                seen.append((len(counter.since(mark)), f"{violation.where}: {violation.message}"[:160]))
            raise

    _fuzz._judge = judged
    try:
        yield
    finally:
        _fuzz._judge = original


def window(hits: list[Hit]) -> float:
    """Seconds from the first request's arrival to the last answer's end."""
    if not hits:
        return 0.0
    return max(h.finished or h.started for h in hits) - hits[0].started


def run_contractgate(subject: Subject, running: Any, counter: Counter, seed: int, fault: str | None) -> Run:
    """Run the vendor's fuzz rule live, seeded, and measure it at the server."""
    server = running.server
    server.switch.set([fault] if fault else [])
    server.reset()
    config = bundled_config(subject.contract, running, rule_globs=[subject.rule.id])
    mark = len(counter.log)
    seen: list[tuple[int, str]] = []
    started = time.perf_counter()
    with forced_seed(seed), first_violation(counter, mark, seen):
        outcome = Engine([subject.contract], config).run().outcomes[0]
    wall = time.perf_counter() - started
    hits = counter.since(mark)
    passed = outcome.status.value == "passed"
    if not passed and not seen:
        seen.append((len(hits), f"{outcome.status.value}: {outcome.message[:100]}"))
    first, failure = seen[0] if seen else (None, "")
    return Run("contractgate", seed, fault, len(hits), window(hits), wall, passed, first, failure)


def cli_command(
    subject: Subject, base: str, headers: dict[str, str], seed: int, report: Path, fault: bool
) -> list[str]:
    """The schemathesis command line that mirrors the fuzz rule's operations, checks and budget."""
    params = _fuzz.FuzzParams.model_validate(subject.rule.params)
    command = [
        shutil.which("schemathesis") or "schemathesis",
        "run",
        str(subject.description),
        "--url",
        base,
        "--checks",
        ",".join(params.checks),
        "--workers",
        "1",
        "--phases",
        "coverage,fuzzing",
        "--mode",
        "all" if params.negative else "positive",
        "--max-examples",
        str(params.examples),
        "--seed",
        str(seed),
        "--generation-database",
        "none",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(report),
        "--warnings",
        "off",
        "--no-color",
    ]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    for label in subject.labels:
        command += ["--include-name", label]
    if fault:
        command += ["--max-failures", "1", "--no-shrink"]
    return command


def failing_cases(report: Path) -> tuple[set[str], str]:
    """Test-case ids with a failed check in a schemathesis NDJSON report, and the first failure's title."""
    ids: set[str] = set()
    title = ""
    if not report.is_file():
        return ids, title
    for line in report.read_text().splitlines():
        event = json.loads(line)
        finished = event.get("ScenarioFinished")
        if not finished:
            continue
        recorder = finished.get("recorder", {})
        for case_id, checks in recorder.get("checks", {}).items():
            failed = [c for c in checks if c.get("status") == "failure"]
            if failed:
                ids.add(case_id)
                title = title or f"{recorder.get('label', '')}: {failed[0].get('name', '')}"
    return ids, title


def run_cli(subject: Subject, running: Any, counter: Counter, seed: int, fault: str | None) -> Run:
    """Run the schemathesis command line against the same server, seeded, and measure it at the server."""
    server = running.server
    server.switch.set([fault] if fault else [])
    server.reset()
    headers = CLI_AUTH[subject.vendor](server.credentials, subject.region)
    mark = len(counter.log)
    with tempfile.TemporaryDirectory(prefix="bench-fuzz-") as scratch:
        report = Path(scratch) / "events.ndjson"
        command = cli_command(subject, running.urls[subject.target_key], headers, seed, report, fault is not None)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=scratch, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - started
        ids, title = failing_cases(report)
    hits = counter.since(mark)
    if done.returncode not in (0, 1):
        print(f"  schemathesis exited {done.returncode}: {done.stderr.strip()[-400:]}")
    first = next((index for index, hit in enumerate(hits, 1) if hit.case_id in ids), None)
    return Run("schemathesis", seed, fault, len(hits), window(hits), wall, done.returncode == 0, first, title)


def is_masked(run: Run, clean: Run) -> bool:
    """Whether a faulted run's first failure is one the clean run with the same seed had too (not the fault's)."""
    if run.fault is None or run.first_failure is None or clean.first_failure is None:
        return False
    return run.first_failure >= clean.first_failure and run.failure == clean.failure


def median(values: list[float | None]) -> float | None:
    """The median of the values present, None when there are none."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize(runs: list[Run]) -> dict[str, Any]:
    """Median figures of one tool's runs under one condition."""
    return {
        "requests": median([r.requests for r in runs]),
        "seconds": median([r.seconds for r in runs]),
        "wall_seconds": median([r.wall_seconds for r in runs]),
        "rps": median([r.rps for r in runs]),
        "passed": [r.passed for r in runs],
        "first_failure": median([None if r.masked else r.first_failure for r in runs]),
        "first_failures": [None if r.masked else r.first_failure for r in runs],
        "found": sum(r.first_failure is not None and not r.masked for r in runs),
        "masked": sum(r.masked for r in runs),
        "failure": next((r.failure for r in runs if r.failure and not r.masked), ""),
    }


def bench_subject(subject: Subject, seeds: list[int]) -> dict[str, Any]:
    """Every measurement of one vendor's fuzz rule, against one reference server."""
    server = server_class(subject.vendor)()
    known = [f for f in subject.faults if f in server.faults]
    for missing in sorted(set(subject.faults) - set(known)):
        print(f"{subject.vendor}: fault {missing!r} is not defined by the reference server; skipped")
    counter = Counter()
    counter.install(server)
    runs: list[Run] = []
    runners = {"contractgate": run_contractgate, "schemathesis": run_cli}
    with serve_in_thread(server) as running:
        for seed in seeds:
            for fault in [None, *known]:
                for runner in runners.values():
                    run = runner(subject, running, counter, seed, fault)
                    runs.append(run)
                    print(
                        f"  {subject.vendor} seed={seed} {fault or 'clean':28} {run.tool:13} requests={run.requests:5} "
                        f"{run.rps:7.0f} req/s first={run.first_failure} {run.failure[:70]}"
                    )
        server.switch.set([])
    for run in runs:
        clean = next(r for r in runs if r.tool == run.tool and r.seed == run.seed and r.fault is None)
        run.masked = is_masked(run, clean)
    figures: dict[str, Any] = {
        "rule": subject.rule.id,
        "description": str(subject.description.relative_to(ROOT)),
        "operations": len(subject.labels),
        "target": subject.target_key,
        "throughput": {},
        "first_failure": {},
        "runs": [asdict(r) | {"rps": r.rps} for r in runs],
    }
    for tool in runners:
        figures["throughput"][tool] = summarize([r for r in runs if r.tool == tool and r.fault is None])
        for fault in known:
            chosen = [r for r in runs if r.tool == tool and r.fault == fault]
            figures["first_failure"].setdefault(fault, {})[tool] = summarize(chosen)
    return figures


def fmt(value: float | None, spec: str) -> str:
    """A number formatted by `spec`, or a dash when missing."""
    return "-" if value is None else format(value, spec)


def report(figures: dict[str, dict[str, Any]]) -> bool:
    """Print the table and the verdict on the goals; whether both goals hold everywhere."""
    faults = sorted({f for vendor in figures.values() for f in vendor["first_failure"]})
    header = f"{'vendor':14} {'tool':13} {'requests':>8} {'seconds':>8} {'wall s':>7} {'req/s':>7}"
    print()
    print(header + "".join(f" {f[:24]:>24}" for f in faults))
    fast = found = True
    for vendor, data in figures.items():
        for tool, thr in data["throughput"].items():
            cells = ""
            for fault in faults:
                cell = data["first_failure"].get(fault, {}).get(tool)
                cells += f" {'' if cell is None else fmt(cell['first_failure'], '.0f'):>24}"
            print(
                f"{vendor:14} {tool:13} {fmt(thr['requests'], '.0f'):>8} {fmt(thr['seconds'], '.2f'):>8} "
                f"{fmt(thr['wall_seconds'], '.2f'):>7} {fmt(thr['rps'], '.0f'):>7}{cells}"
            )
        ours, theirs = data["throughput"]["contractgate"], data["throughput"]["schemathesis"]
        ok = (ours["rps"] or 0) >= (theirs["rps"] or 0)
        fast &= ok
        print(
            f"  goal: contractgate no slower than the CLI: {'yes' if ok else 'NO'} ({fmt(ours['rps'], '.0f')} vs "
            f"{fmt(theirs['rps'], '.0f')} req/s)"
        )
        if not all(ours["passed"]) or not all(theirs["passed"]):
            print(f"  note: not every clean run passed (contractgate {ours['passed']}, CLI {theirs['passed']})")
        for fault, cell in data["first_failure"].items():
            mine, other = cell["contractgate"]["first_failure"], cell["schemathesis"]["first_failure"]
            ok = mine is not None and (other is None or mine < other)
            found &= ok
            ours_cell, theirs_cell = cell["contractgate"], cell["schemathesis"]
            print(
                f"  goal: {fault} found in fewer requests: {'yes' if ok else 'NO'} ({fmt(mine, '.0f')} vs "
                f"{fmt(other, '.0f')}; found with {ours_cell['found']} and {theirs_cell['found']} of the seeds, "
                f"masked by a clean-run failure in {ours_cell['masked']} and {theirs_cell['masked']})"
            )
    print()
    print(
        f"goals: no slower {'HOLDS' if fast else 'DOES NOT HOLD'}; "
        f"seeded faults found sooner {'HOLDS' if found else 'DOES NOT HOLD'}"
    )
    return fast and found


def parse_faults(values: list[str]) -> dict[str, list[str]]:
    """`VENDOR:FAULT` options grouped by vendor."""
    chosen: dict[str, list[str]] = {}
    for value in values:
        vendor, _, fault = value.partition(":")
        if not fault:
            raise SystemExit(f"--fault wants VENDOR:FAULT, got {value!r}")
        chosen.setdefault(vendor, []).append(fault)
    return chosen


def main(argv: list[str] | None = None) -> int:
    """Benchmark every vendor with a fuzz rule and a description, print the table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vendor", nargs="*", help="vendors to measure (default: every one with a fuzz rule)")
    parser.add_argument("--seeds", default="1,2,3", help="comma-separated seeds, one run of each tool per seed")
    parser.add_argument("--fault", action="append", default=[], help="VENDOR:FAULT to seed instead of the defaults")
    parser.add_argument(
        "--exclude", action="append", default=[], help="a further operation pattern both tools leave out"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench-fuzz.json")
    args = parser.parse_args(argv)
    if os.environ.get("CI") == "true":
        # derandomize would override the forced seed: every seed would draw the same cases
        del os.environ["CI"]
    if not shutil.which("schemathesis"):
        print("the schemathesis command line is not installed")
        return 0
    # the CLI's probes (a NUL byte in a header) make uvicorn warn 'Invalid HTTP request received.'
    logging.getLogger("uvicorn.error").addFilter(lambda record: "Invalid HTTP request" not in record.getMessage())
    seeds = [int(s) for s in re.split(r"[,\s]+", args.seeds.strip()) if s]
    figures: dict[str, dict[str, Any]] = {}
    for subject in fuzz_subjects(args.vendor or vendors(), parse_faults(args.fault), args.exclude):
        if subject.vendor not in CLI_AUTH:
            print(f"{subject.vendor}: no CLI authentication known; skipped")
            continue
        print(f"{subject.vendor} {subject.rule.id}: {len(subject.labels)} operations on {subject.target_key}")
        name = subject.vendor if subject.vendor not in figures else f"{subject.vendor}/{subject.rule.id}"
        figures[name] = bench_subject(subject, seeds)
    if not figures:
        print("no vendor has both a fuzz rule and its OpenAPI description")
        return 0
    report(figures)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"seeds": seeds, "vendors": figures}, indent=2) + "\n")
    print(f"figures written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
