"""Requests planned and sent per vendor and profile, beside the pack's recorded full count.

Run on demand: `python bench/bench_plan.py [VENDOR ...] [--profile smoke --profile full] [--budget N] [--json FILE]`.
Each pack runs live against its bundled reference server (in a thread, on loopback); the plan is computed first,
without a transport, and the server-side figure is what the engine's outcomes record as sent.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from contractgate._loader import load_contract  # noqa: E402
from contractgate._plan import plan_contract  # noqa: E402
from contractgate._runner import Engine  # noqa: E402
from contractgate._selftest import bundled_config  # noqa: E402
from contractgate.servers import serve_in_thread, server_class, vendors  # noqa: E402

# What issue 13 reported a live run of each pack sent before plans existed.
ISSUE_FIGURES = {"threatjammer": 1240, "threatconnect": 670, "assemblyline": 280}


def recorded_full(vendor: str) -> int:
    """Requests the shipped cassettes hold: the full pack as it was recorded."""
    folder = ROOT / "cassettes" / vendor
    return sum(len(json.loads(p.read_text(encoding="utf-8"))["interactions"]) for p in folder.glob("*.json"))


def measure(vendor: str, profile: str, budget: int | None) -> dict[str, Any]:
    """Plan, then run the pack live against the bundled server; figures per target key."""
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    plan = plan_contract(contract, profile=profile, budget=budget)
    planned: Counter[str] = Counter()
    for (key, _credential), count in plan.per_credential().items():
        planned[key] += count
    server = server_class(vendor)()
    with tempfile.TemporaryDirectory() as cassettes, serve_in_thread(server) as running:
        config = bundled_config(contract, running, cassettes=Path(cassettes), profile=profile, budget=budget)
        started = time.perf_counter()
        result = Engine([contract], config).run()
        seconds = time.perf_counter() - started
    sent: Counter[str] = Counter()
    bases = sorted(((target.url.rstrip("/"), key) for key, target in config.targets.items()), reverse=True)
    for outcome in result.outcomes:
        for exchange in outcome.exchanges:
            key = next((k for url, k in bases if exchange.url == url or exchange.url.startswith(url + "/")), "?")
            sent[key] += 1
    return {
        "vendor": vendor,
        "profile": profile,
        "budget": budget,
        "rules_run": sum(1 for entry in plan.rules if entry.runs),
        "rules": len(plan.rules),
        "planned": plan.planned,
        "planned_exact": plan.exact,
        "planned_per_target": dict(sorted(planned.items())),
        "sent": sum(sent.values()),
        "sent_per_target": dict(sorted(sent.items())),
        "checked": result.coverage()["checked"],
        "exit_code": result.exit_code,
        "seconds": round(seconds, 1),
        "recorded_full": recorded_full(vendor),
        "issue_figure": ISSUE_FIGURES.get(vendor),
    }


def main() -> int:
    """Measure every requested vendor and profile, print a table, optionally keep the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vendor", nargs="*", default=[])
    parser.add_argument("--profile", action="append", default=[])
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    chosen = args.vendor or [v for v in vendors() if (ROOT / "contracts" / f"{v}.yaml").is_file()]
    rows = [measure(v, p, args.budget) for v in chosen for p in (args.profile or ["smoke", "full"])]
    table = Table(title="requests per run: planned before sending, sent against the bundled server")
    for column in ("vendor", "profile", "rules run", "planned", "sent", "sent per target", "recorded full", "issue"):
        table.add_column(column)
    for row in rows:
        bound = "" if row["planned_exact"] else " (at most)"
        per_target = ", ".join(f"{k} {n}" for k, n in row["sent_per_target"].items())
        table.add_row(
            row["vendor"],
            row["profile"] + (f" / budget {row['budget']}" if row["budget"] else ""),
            f"{row['rules_run']}/{row['rules']}",
            f"{row['planned']}{bound}",
            str(row["sent"]),
            per_target,
            str(row["recorded_full"]),
            str(row["issue_figure"]),
        )
    Console(width=200).print(table)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
