"""Requests planned and sent per vendor and profile, beside the pack's recorded full count.

Run on demand: `python bench/bench_plan.py [VENDOR ...] [--profile smoke --profile full] [--budget N] [--json FILE]`.
Each pack runs live against its bundled reference server (in a thread, on loopback); the plan is computed first,
without a transport, and the server-side figure is what the engine's outcomes record as sent.

`python bench/bench_plan.py --free-plan MINUTE_S [--profile smoke]` is issue 13's "done when" check instead: the
Threat Jammer pack runs paced (as against a user's target) on the bundled server with every key on the free plan's
10 User API and 6 Report API requests a minute, a minute lasting MINUTE_S seconds; it counts the wire's answers per
key and API and exits 1 on any 429 to a request that did not observe the quota on purpose (the quota rules' own
keys provoke theirs by design).
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from contractgate._limits import time_scaled  # noqa: E402
from contractgate._loader import load_contract  # noqa: E402
from contractgate._outcome import Status  # noqa: E402
from contractgate._plan import plan_contract  # noqa: E402
from contractgate._runner import Engine  # noqa: E402
from contractgate._selftest import bundled_config  # noqa: E402
from contractgate.servers import RunningServer, serve_in_thread, server_class, vendors  # noqa: E402
from contractgate.servers.threatjammer import ThreatJammerServer  # noqa: E402

# What issue 13 reported a live run of each pack sent before plans existed.
ISSUE_FIGURES = {"threatjammer": 1240, "threatconnect": 670, "assemblyline": 280}


def recorded_full(vendor: str) -> int:
    """Requests the shipped cassettes hold: the full pack as it was recorded."""
    folder = ROOT / "cassettes" / vendor
    return sum(len(json.loads(p.read_text(encoding="utf-8"))["interactions"]) for p in folder.glob("*.json"))


def measure(vendor: str, profile: str, budget: int | None) -> dict[str, Any]:
    """Plan, then run the pack live against the bundled server; what left on the wire, per target and key."""
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    plan = plan_contract(contract, profile=profile, budget=budget)
    planned: Counter[str] = Counter()
    for (key, _credential), count in plan.per_credential().items():
        planned[key] += count
    server = server_class(vendor)()
    with tempfile.TemporaryDirectory() as cassettes, serve_in_thread(server) as running:
        config = bundled_config(contract, running, cassettes=Path(cassettes), profile=profile, budget=budget)
        wire = Wire.around(running)
        engine = Engine([contract], config, transport=wire)
        started = time.perf_counter()
        result = engine.run()
        seconds = time.perf_counter() - started
    judged = sum(len(outcome.exchanges) for outcome in result.outcomes)
    per_target: Counter[str] = Counter()
    per_key: Counter[str] = Counter()
    for (target, key, _status), count in wire.answers.items():
        per_target[target] += count
        per_key[f"{target} {key}"] += count
    return {
        "vendor": vendor,
        "profile": profile,
        "budget": budget,
        "rules_run": sum(1 for entry in plan.rules if entry.runs),
        "rules": len(plan.rules),
        "planned": plan.planned,
        "planned_exact": plan.exact,
        "planned_per_target": dict(sorted(planned.items())),
        "planned_per_credential": {f"{k} {c}": n for (k, c), n in plan.per_credential().items()},
        "judged": judged,
        "sent": sum(per_target.values()),
        "shared": engine.shared.saved,
        "sent_per_target": dict(sorted(per_target.items())),
        "sent_per_key": dict(sorted(per_key.items())),
        "checked": result.coverage()["checked"],
        "exit_code": result.exit_code,
        "seconds": round(seconds, 1),
        "recorded_full": recorded_full(vendor),
        "issue_figure": ISSUE_FIGURES.get(vendor),
    }


PUBLIC_NAMES = ("USER", "ACCESS_ID")


class Wire(httpx.BaseTransport):
    """The wire under the engine: every answer's status per (target key, credential name), retries included."""

    def __init__(self, names: dict[str, str], ports: dict[int, str], verify: ssl.SSLContext | bool = True) -> None:
        self.inner = httpx.HTTPTransport(verify=verify)
        # credential value -> variable name; secrets before the public names that go with them (X-USER, Access ID)
        self.names = sorted(names.items(), key=lambda item: (item[1].endswith(PUBLIC_NAMES), -len(item[0])))
        self.ports = ports  # every app of a bundled server listens on loopback: the port names the target
        self.answers: Counter[tuple[str, str, int]] = Counter()

    @classmethod
    def around(cls, running: RunningServer) -> Wire:
        """A wire that knows a running bundled server's credentials and targets."""
        names: dict[str, str] = {}
        for name, value in sorted(running.server.credentials.items()):
            if len(value) >= 4:  # one value under two names (a user who is also the admin) shows both
                names[value] = f"{names[value]}/{name}" if value in names else name
        ports = {httpx.URL(url).port or 0: key for key, url in running.urls.items()}
        verify = ssl.create_default_context(cafile=str(running.ca_pem)) if running.ca_pem else True
        return cls(names, ports, verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send, and count the answer under the target it went to and the credential it carried."""
        response = self.inner.handle_request(request)
        headers = " ".join(request.headers.values())
        key = next((name for value, name in self.names if value in headers), "no credential")
        self.answers[(self.ports.get(request.url.port or 0, "?"), key, response.status_code)] += 1
        return response


# Keys the quota rules spend on purpose: their 429s are what those rules observe, not a failure of pacing.
QUOTA_KEYS = ("QUOTA_KEY", "MONTH_KEY")


def free_plan(profile: str, minute_s: float) -> int:
    """Run the Threat Jammer pack paced on a free-plan server; print the wire's answers; 1 on an unplanned 429."""
    contract = load_contract(ROOT / "contracts" / "threatjammer.yaml")
    server = ThreatJammerServer(free_plan_rate=True, minute_seconds=minute_s)
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, profile=profile)
        for target in config.targets.values():
            target.rate = None  # a user's target: paced as the contract declares, not unthrottled
        wire = Wire.around(running)
        engine = Engine([time_scaled(contract, minute_s)], config, transport=wire)
        started = time.monotonic()
        result = engine.run()
        seconds = time.monotonic() - started
    table = Table(title=f"threatjammer {profile} on the free plan (a minute = {minute_s} s): answers per key")
    for column in ("target", "key", "status", "answers"):
        table.add_column(column)
    for (target, key, status), count in sorted(wire.answers.items()):
        table.add_row(target, key, str(status), str(count))
    Console(width=200).print(table)
    answers = wire.answers.items()
    unplanned = sum(n for (_target, key, status), n in answers if status == 429 and not key.startswith(QUOTA_KEYS))
    sent = sum(wire.answers.values())
    for outcome in result.outcomes:
        if outcome.status not in (Status.PASSED, Status.SKIPPED):
            print(f"{outcome.rule_id}: {outcome.status}: {outcome.message}")
    print(
        f"{sent} requests in {seconds:.1f} s ({engine.shared.saved} shared); verdict: {result.verdict_line()}; "
        f"429 outside the quota rules' own keys: {unplanned}"
    )
    return 1 if unplanned else 0


def main() -> int:
    """Measure every requested vendor and profile, print a table, optionally keep the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("vendor", nargs="*", default=[])
    parser.add_argument("--profile", action="append", default=[])
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--free-plan", type=float, default=None, metavar="MINUTE_S")
    args = parser.parse_args()
    if args.free_plan is not None:
        return free_plan((args.profile or ["smoke"])[0], args.free_plan)
    chosen = args.vendor or [v for v in vendors() if (ROOT / "contracts" / f"{v}.yaml").is_file()]
    rows = [measure(v, p, args.budget) for v in chosen for p in (args.profile or ["smoke", "full"])]
    table = Table(title="requests per run: planned before sending, sent against the bundled server")
    columns = ("vendor", "profile", "rules run", "planned", "judged", "sent (wire)", "sent per target and key", "issue")
    for column in columns:
        table.add_column(column)
    for row in rows:
        bound = "" if row["planned_exact"] else " (at most)"
        per_key = ", ".join(f"{k} {n}" for k, n in row["sent_per_key"].items())
        table.add_row(
            row["vendor"],
            row["profile"] + (f" / budget {row['budget']}" if row["budget"] else ""),
            f"{row['rules_run']}/{row['rules']}",
            f"{row['planned']}{bound}",
            str(row["judged"]),
            f"{row['sent']} ({row['shared']} shared)",
            per_key,
            str(row["issue_figure"]),
        )
    Console(width=240).print(table)
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
