"""Requests the run-wide cache of safe identical reads saves, per pack, against the bundled reference servers.

Each pack runs live twice in one process, each time against a fresh reference server: once with every rule
sending its own requests, once with identical safe reads shared between rules. Requests are counted on the
wire (every request the live transport lets out, retries included), and every rule's verdict must be the
same both ways, or the figure is not worth having.

    python bench/bench_shared_reads.py [VENDOR ...] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from contractgate._loader import load_contract
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate._transport import LiveTransport
from contractgate.servers import serve_in_thread, server_class

ROOT = Path(__file__).resolve().parents[1]
VENDORS = ["threatjammer", "threatconnect", "assemblyline"]


class _Wire:
    """Counts every request the live transports let out (patched in for the bench only)."""

    def __init__(self) -> None:
        self.sent = 0
        self._handle = LiveTransport.handle_request

    def install(self) -> None:
        wire = self

        def counting(transport: LiveTransport, request: httpx.Request) -> httpx.Response:
            before = len(transport.methods_sent)
            try:
                return wire._handle(transport, request)
            finally:
                wire.sent += len(transport.methods_sent) - before

        LiveTransport.handle_request = counting  # type: ignore[method-assign]


def _run(vendor: str, share: bool, wire: _Wire) -> dict[str, Any]:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    with serve_in_thread(server_class(vendor)()) as running:
        engine = Engine([contract], bundled_config(contract, running), share_reads=share)
        before, started = wire.sent, time.perf_counter()
        result = engine.run()
        return {
            "requests": wire.sent - before,
            "shared": engine.shared.saved,
            "wall_s": round(time.perf_counter() - started, 1),
            "verdicts": {outcome.rule_id: str(outcome.status) for outcome in result.outcomes},
        }


def main(argv: list[str] | None = None) -> int:
    """Run each pack both ways and print requests sent, requests shared and whether every verdict held."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vendors", nargs="*", default=VENDORS)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    wire = _Wire()
    wire.install()
    rows = []
    for vendor in args.vendors:
        alone, shared = _run(vendor, False, wire), _run(vendor, True, wire)
        changed = sorted(r for r, s in alone["verdicts"].items() if shared["verdicts"].get(r) != s)
        saved = alone["requests"] - shared["requests"]
        rows.append(
            {
                "vendor": vendor,
                "requests_alone": alone["requests"],
                "requests_shared": shared["requests"],
                "saved": saved,
                "saved_pct": round(100 * saved / alone["requests"], 1) if alone["requests"] else 0.0,
                "answers_shared": shared["shared"],
                "verdicts_changed": changed,
            }
        )
        print(
            f"{vendor:14} alone {alone['requests']:5}  shared {shared['requests']:5}  saved {saved:4} "
            f"({rows[-1]['saved_pct']}%)  verdicts changed: {', '.join(changed) or 'none'}"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 1 if any(row["verdicts_changed"] for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
