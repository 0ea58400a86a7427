"""Recordings of the bundled servers: stable when nothing changed (item 1 of issue 11), and a simulated next
vendor release reported by `contractgate drift` exactly, with nothing else (item 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from contractgate._drift import drift
from contractgate._loader import load_contract
from contractgate._outcome import Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.servers import serve_in_thread, server_class, vendors

ROOT = Path(__file__).resolve().parents[1]
VENDORS = [
    pytest.param(vendor, marks=pytest.mark.xdist_group(vendor))
    for vendor in vendors()
    if (ROOT / "contracts" / f"{vendor}.yaml").is_file()
]

# What each simulated next release must be reported as: (id, severity, target, operation, where, statuses).
NEXT_RELEASE = {
    "threatconnect": {
        ("response-type-changed", "breaking", "threatconnect", "GET /v2/securityLabels", "data.resultCount", (200,)),
        ("response-field-removed", "breaking", "threatconnect", "GET /v2/whoami", "data.user.pseudonym", (200,)),
        ("status-added", "warning", "threatconnect", "GET /v2/indicators/hosts", "422", (422,)),
        ("header-renamed", "warning", "threatconnect", "GET /v3/security/owners", "server", (200, 401)),
        ("response-field-added", "info", "threatconnect", "GET /v2/owners/mine/members", "data.user.*.role", (200,)),
    },
    "assemblyline": {
        (
            "response-type-changed",
            "breaking",
            "assemblyline",
            "GET /api/v4/",
            "api_response.apis.*.count_toward_quota",
            (200,),
        ),
        (
            "response-field-removed",
            "breaking",
            "assemblyline",
            "GET /api/v4/user/whoami/",
            "api_response.avatar",
            (200,),
        ),
        (
            "header-renamed",
            "warning",
            "assemblyline",
            "GET /api/v4/search/{index}/",
            "x-remaining-quota-api",
            (200, 400, 403),
        ),
        ("status-added", "warning", "assemblyline", "GET /api/v4/search/{index}/", "422", (422,)),
        ("response-field-added", "info", "assemblyline", "GET /api/v4/search/{index}/", "api_response.took", (200,)),
    },
    "threatjammer": {
        ("response-type-changed", "breaking", "threatjammer:dublin", "GET /v1/asn/{number}", "score", (200,)),
        (
            "response-field-removed",
            "breaking",
            "threatjammer:dublin",
            "GET /v1/geo/{ip_address}",
            "postal_code",
            (200,),
        ),
        ("status-added", "warning", "threatjammer:dublin", "GET /v1/asn/{number}", "400", (400,)),
        ("header-renamed", "warning", "threatjammer:dublin", "GET /v1/dataset/ip", "retry-after", (429,)),
        # the same rename seen in Paris too, where TJ-REPORT-007 spends its month key to a 429
        ("header-renamed", "warning", "threatjammer:paris", "GET /v1/dataset/ip", "retry-after", (429,)),
        ("response-field-added", "info", "threatjammer:dublin", "GET /v1/asn/{number}", "network_type", (200,)),
        # TJ-FUZZ-001 spreads its operations over the regions: it reads GET /v1/asn/{number} in Paris, so the
        # retyped and the added field are seen there too
        ("response-type-changed", "breaking", "threatjammer:paris", "GET /v1/asn/{number}", "score", (200,)),
        ("response-field-added", "info", "threatjammer:paris", "GET /v1/asn/{number}", "network_type", (200,)),
    },
}


def _record(vendor: str, cassettes: Path, version: str = "current") -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    server = server_class(vendor)(version=version)  # a fresh server each time, as a new `contractgate run`
    with serve_in_thread(server) as running:
        result = Engine([contract], bundled_config(contract, running, mode="record", cassettes=cassettes)).run()
    if version == "current":
        assert all(o.status == Status.PASSED for o in result.outcomes), [
            (o.rule_id, o.message) for o in result.outcomes if o.status != Status.PASSED
        ]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], Path]:
    """Each vendor's recording on each server version, made once per module."""
    made: dict[tuple[str, str], Path] = {}

    def get(vendor: str, version: str) -> Path:
        if (vendor, version) not in made:
            folder = tmp_path_factory.mktemp(f"{vendor}-{version}")
            _record(vendor, folder, version)
            made[(vendor, version)] = folder
        return made[(vendor, version)]

    return get


def _bytes(folder: Path) -> dict[Path, bytes]:
    return {path.relative_to(folder): path.read_bytes() for path in sorted(folder.rglob("*.json"))}


def _record_in_a_new_process(vendor: str, cassettes: Path) -> None:
    """`contractgate run --mode record`, as a user re-records: a process of its own.

    (Hypothesis draws from the literals of the modules loaded so far, so two recordings in one long-lived test
    process, with other tests' modules loaded in between, may draw other fuzz cases; a new process does not.)
    """
    command = [sys.executable, "-c", "from contractgate.cli import main; raise SystemExit(main())"]
    command += ["run", "--mode", "record", "--vendor", vendor, "--no-matrix", "--cassettes", str(cassettes)]
    command += ["--reports", str(cassettes.parent / f"{cassettes.name}-reports")]
    environ = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize("vendor", VENDORS)
def test_recording_twice_gives_identical_bytes(vendor: str, tmp_path: Path) -> None:
    folder = tmp_path / "cassettes"
    _record_in_a_new_process(vendor, folder)
    first = _bytes(folder)
    assert first
    _record_in_a_new_process(vendor, folder)
    second = _bytes(folder)
    changed = sorted(str(path) for path in first if first[path] != second.get(path))
    assert not changed, f"re-recording rewrote {len(changed)} cassette(s): {changed[:5]}"
    assert second.keys() == first.keys()


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_next_release_is_reported_exactly(vendor: str, recorded: Callable[[str, str], Path]) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    result = drift(recorded(vendor, "current"), recorded(vendor, "next"), [contract], ROOT)
    found = {(f.id, f.severity, f.target, f.operation, f.where, tuple(f.statuses)) for f in result.findings}
    assert found == NEXT_RELEASE[vendor]
    assert len(result.findings) == len(NEXT_RELEASE[vendor])
    assert len(server_class(vendor).next_release) == 5
    assert {c.kind for c in server_class(vendor).next_release} == {
        "remove-field",
        "retype-field",
        "add-field",
        "rename-header",
        "add-status",
    }
