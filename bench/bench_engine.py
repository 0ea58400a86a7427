"""Benchmark: replay time per pack, and the live suite's request rate beside a bare httpx loop."""

from __future__ import annotations

import argparse
import json
import ssl
import statistics
import sys
import time
from pathlib import Path

import httpx

from contractgate._config import RunConfig
from contractgate._loader import load_contract
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.servers import serve_in_thread, server_class, vendors

ROOT = Path(__file__).resolve().parents[1]


class Capture(httpx.BaseTransport):
    """Passes requests through and keeps a copy of each, so a bare loop can resend the same bytes."""

    def __init__(self, verify: ssl.SSLContext | bool = True) -> None:
        self.inner = httpx.HTTPTransport(verify=verify)
        self.sent: list[tuple[str, str, list[tuple[str, str]], bytes]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.sent.append((request.method, str(request.url), request.headers.multi_items(), request.content))
        return self.inner.handle_request(request)


def bench_replay(vendor: str, repeats: int) -> float:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = Engine([contract], RunConfig(mode="replay", cassettes=ROOT / "cassettes")).run()
        times.append(time.perf_counter() - started)
        assert result.summary()["failed"] == 0, "replay must pass before it is timed"
    return statistics.median(times)


def bench_live(vendor: str) -> dict[str, float]:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    server = server_class(vendor)()
    with serve_in_thread(server) as running:
        # The ThreatConnect server is HTTPS with a CA made at start: both clients trust it, as the run does.
        verify = ssl.create_default_context(cafile=str(running.ca_pem)) if running.ca_pem else True
        capture = Capture(verify)
        engine = Engine([contract], bundled_config(contract, running), transport=capture)
        started = time.perf_counter()
        engine.run()
        suite_seconds = time.perf_counter() - started
        requests = list(capture.sent)
        server.reset()
        with httpx.Client(verify=verify) as client:
            started = time.perf_counter()
            for method, url, headers, content in requests:
                client.send(httpx.Request(method, url, headers=headers, content=content)).read()
            bare_seconds = time.perf_counter() - started
    count = len(requests)
    return {
        "requests": count,
        "suite_rps": count / suite_seconds,
        "bare_rps": count / bare_seconds,
        "ratio": (count / suite_seconds) / (count / bare_seconds),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("vendor", nargs="*")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    chosen = args.vendor or [v for v in vendors() if (ROOT / "contracts" / f"{v}.yaml").is_file()]
    figures = {}
    print(f"{'vendor':15} {'replay s':>9} {'requests':>9} {'suite rps':>10} {'bare rps':>10} {'ratio':>6}")
    for vendor in chosen:
        replay = bench_replay(vendor, args.repeats)
        live = bench_live(vendor)
        figures[vendor] = {"replay_seconds": replay, **live}
        print(
            f"{vendor:15} {replay:9.2f} {live['requests']:9.0f} {live['suite_rps']:10.0f} "
            f"{live['bare_rps']:10.0f} {live['ratio']:6.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
