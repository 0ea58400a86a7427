"""How long `contractgate drift` takes over every shipped cassette, and how much memory it holds.

Run on demand: `python bench/bench_drift.py [BASELINE [CURRENT]]` (default: cassettes/ against itself, the
worst case, since every request is compared). Goal: under 5 s for the three packs, memory growing with
operations, not with bytes recorded.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from contractgate._drift import drift  # noqa: E402
from contractgate._loader import contract_files, load_contracts  # noqa: E402


def main() -> int:
    """Time one drift and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path, nargs="?", default=ROOT / "cassettes")
    parser.add_argument("current", type=Path, nargs="?", default=None)
    args = parser.parse_args()
    current = args.current or args.baseline
    contracts = load_contracts(list(contract_files(ROOT / "contracts")))
    size = sum(path.stat().st_size for path in args.baseline.rglob("*.json"))
    started, cpu = time.perf_counter(), time.process_time()
    result = drift(args.baseline, current, contracts, ROOT)
    wall, used = time.perf_counter() - started, time.process_time() - cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"drift over {result.baseline.interactions} + {result.current.interactions} interactions "
        f"({size / 1e6:.1f} MB a side, {result.compared} operations): {wall:.2f} s wall, {used:.2f} s CPU, "
        f"peak RSS {peak_mib:.0f} MiB, {len(result.findings)} findings"
    )
    return 0 if wall < 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
