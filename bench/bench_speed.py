"""Benchmark: wall times of the main commands, this checkout beside an earlier revision, with the load average.

Run on demand: `python bench/bench_speed.py [--before REV] [--only run,engine,selftest,pytest] [--json FILE]`.
Each side runs in its own processes, from its own source tree (REV is exported with `git archive`), one after
the other, so both see about the same machine; the load average (1 min) is printed beside every figure, since
the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STEPS = ("run", "engine", "selftest", "pytest")


def export(rev: str, folder: Path) -> Path:
    """The source tree of `rev` (src, contracts, cassettes, tests, ...), as `git archive` gives it."""
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def timed(tree: Path, argv: list[str], reports: Path) -> dict[str, float | int]:
    """Wall seconds of one command run from `tree` with its own sources first on the path, and the load around it."""
    environ = {**os.environ, "PYTHONPATH": str(tree / "src"), "NO_COLOR": "1"}
    load = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=tree, env=environ, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (reports / f"{argv[2] if len(argv) > 2 else 'out'}.log").write_text(done.stdout + done.stderr)
    after = os.getloadavg()[0]
    return {"seconds": round(seconds, 1), "exit": done.returncode, "load_before": load, "load_after": after}


def engine(tree: Path, reports: Path) -> dict[str, object]:
    """bench_engine.py (this checkout's script) against the tree's contractgate: live rate beside a bare httpx loop."""
    out = reports / "engine.json"
    environ = {**os.environ, "PYTHONPATH": str(tree / "src")}
    load = os.getloadavg()[0]
    script = ROOT / "bench" / "bench_engine.py"
    subprocess.run([sys.executable, str(script), "--repeats", "1", "--json", str(out)], cwd=tree, env=environ)
    figures = json.loads(out.read_text()) if out.is_file() else {}
    return {"load_before": load, "load_after": os.getloadavg()[0], "packs": figures}


def measure(tree: Path, steps: list[str]) -> dict[str, object]:
    """Every chosen step on one side."""
    reports = Path(tempfile.mkdtemp(prefix="bench-speed-"))
    python = sys.executable
    figures: dict[str, object] = {}
    if "run" in steps:
        figures["run"] = timed(tree, [python, "-m", "contractgate", "run", "--reports", str(reports / "r")], reports)
    if "engine" in steps:
        figures["engine"] = engine(tree, reports)
    if "selftest" in steps:
        argv = [python, "-m", "contractgate", "selftest", "--reports", str(reports / "s")]
        figures["selftest"] = timed(tree, argv, reports)
    if "pytest" in steps:
        figures["pytest"] = timed(tree, [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], reports)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", default=None, metavar="REV", help="also measure this revision, first")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps among {', '.join(STEPS)}")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    steps = [step for step in args.only.split(",") if step in STEPS]
    sides: dict[str, Path] = {}
    if args.before:
        sides[f"before ({args.before})"] = export(args.before, Path(tempfile.mkdtemp(prefix="bench-before-")))
    sides["after (this checkout)"] = ROOT
    results = {name: measure(tree, steps) for name, tree in sides.items()}
    for name, figures in results.items():
        print(name)
        for step, value in figures.items():
            print(f"  {step}: {json.dumps(value)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
