"""Benchmark: CPU per kill-matrix fault run, reference server over sockets (uvicorn, TLS) beside in process.

Run on demand: `python bench/bench_matrix.py [VENDOR ...] [--every N] [--json FILE]`. In one process, for every
N-th fault of each vendor (all rules), the fault runs go once against `serve_in_thread` and once against
`serve_in_process`, alternately, after one clean run each to warm up; the figure is process CPU seconds per fault
run (client, server and event-loop threads together), which the machine's load changes less than wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from contractgate._loader import load_contract
from contractgate._selftest import kill_matrix
from contractgate.servers import serve_in_process, serve_in_thread, server_class, vendors

ROOT = Path(__file__).resolve().parents[1]
WAYS = {"socket": serve_in_thread, "in-process": serve_in_process}


def per_fault(vendor: str, every: int) -> dict[str, float]:
    """CPU and wall seconds per fault run for each way of serving, and whether the two matrices agree."""
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    names = list(server_class(vendor).faults)[::every]
    figures: dict[str, float] = {"faults": len(names)}
    caught = {}
    for way, serve in WAYS.items():
        server = server_class(vendor)()
        with serve(server) as running:
            kill_matrix(contract, server, running, (), [], ROOT / "cassettes")  # warm: imports, caches
            cpu, wall = time.process_time(), time.perf_counter()
            result = kill_matrix(contract, server, running, (), names, ROOT / "cassettes")
            figures[f"{way} cpu s"] = (time.process_time() - cpu) / len(names)
            figures[f"{way} wall s"] = (time.perf_counter() - wall) / len(names)
            caught[way] = (result.caught, result.errors)
    figures["same result"] = float(caught["socket"] == caught["in-process"])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendor", nargs="*")
    parser.add_argument("--every", type=int, default=10, help="time every N-th fault (default 10)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    chosen = args.vendor or [v for v in vendors() if (ROOT / "contracts" / f"{v}.yaml").is_file()]
    results = {}
    print(f"load (1 min) {os.getloadavg()[0]:.1f}")
    print(f"{'vendor':14} {'faults':>6} {'socket cpu':>11} {'in-proc cpu':>12} {'saved':>6} {'same':>5}")
    for vendor in chosen:
        figures = per_fault(vendor, args.every)
        results[vendor] = figures
        socket_cpu, inproc_cpu = figures["socket cpu s"], figures["in-process cpu s"]
        print(
            f"{vendor:14} {figures['faults']:6.0f} {socket_cpu:11.3f} {inproc_cpu:12.3f} "
            f"{1 - inproc_cpu / socket_cpu:6.0%} {'yes' if figures['same result'] else 'NO':>5}"
        )
    print(f"load (1 min) {os.getloadavg()[0]:.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
