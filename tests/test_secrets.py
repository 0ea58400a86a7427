"""Secrets never touch disk: a record run with canary credentials leaves no trace in cassettes or reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.reports import HtmlReport, JsonReport, JunitReport
from contractgate.servers import serve_in_thread, server_class, vendors

ROOT = Path(__file__).resolve().parents[1]
VENDORS = [vendor for vendor in vendors() if (ROOT / "contracts" / f"{vendor}.yaml").is_file()]
CANARY = "Cnry7Q2xW9kL"  # twelve base62 characters, so canary keys keep every documented key shape
# The patterns the before-stop hook scans for: real-looking tokens that are not masked.
LEAK_PATTERNS = [
    re.compile(r"tja_[0-9A-Za-z]{36}"),
    re.compile(r"TC-Token +APIV[0-9]:[^*<\"\s]{6,}"),
    re.compile(r"Authorization: *TC [0-9A-Za-z]+:[A-Za-z0-9+/]{20,}="),
]


def _secret_names(contract: Contract) -> set[str]:
    return {decl.env for decl in contract.credentials.values() if decl.secret}


def _is_secret(contract: Contract, name: str) -> bool:
    return any(name == env or name.startswith(env + "_") for env in _secret_names(contract))


def _canary(value: str) -> str:
    return value[: max(0, len(value) - len(CANARY))] + CANARY


@pytest.mark.parametrize("vendor", VENDORS)
def test_record_run_with_canary_secrets_leaves_no_trace(vendor: str, tmp_path: Path) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    defaults = server_class(vendor).default_credentials
    canaries = {name: _canary(value) for name, value in defaults.items() if _is_secret(contract, name)}
    assert canaries, f"{vendor} declares no secret credential"
    server = server_class(vendor)(credentials=canaries)
    cassettes, reports = tmp_path / "cassettes", tmp_path / "reports"
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, mode="record", cassettes=cassettes)
        writers = [
            JunitReport(reports / "junit.xml"),
            JsonReport(reports / "results.json"),
            HtmlReport(reports / "report.html"),
        ]
        result = Engine([contract], config, writers).run()
    assert result.summary()["failed"] == 0, [o.rule_id for o in result.outcomes if o.status == "failed"]
    written = [p for p in [*cassettes.rglob("*"), *reports.rglob("*")] if p.is_file()]
    assert len(written) > len(contract.rules) // 2
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert CANARY not in text, f"a canary secret leaked into {path.relative_to(tmp_path)}"


@pytest.mark.parametrize("vendor", VENDORS)
def test_shipped_cassettes_hold_no_reference_secret(vendor: str) -> None:
    contract = load_contract(ROOT / "contracts" / f"{vendor}.yaml")
    secrets = [v for k, v in server_class(vendor).default_credentials.items() if _is_secret(contract, k)]
    files = list((ROOT / "cassettes" / vendor).glob("*.json"))
    assert files, f"no shipped cassettes for {vendor}"
    for path in files:
        text = path.read_text(encoding="utf-8")
        for secret in secrets:
            assert secret not in text, f"{path.name} holds a reference-server secret"
        for pattern in LEAK_PATTERNS:
            assert not pattern.search(text), f"{path.name} matches {pattern.pattern}"


def test_a_run_leaves_no_hypothesis_files_in_the_working_directory(tmp_path: Path) -> None:
    """Hypothesis caches string constants of local modules (credential literals too) under `.hypothesis/`."""
    environ = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), environ.get("PYTHONPATH", "")])
    # TC-AUTH-008 is a hypothesis property (hmac-window), TC-FUZZ-001 draws its requests with schemathesis.
    rules = ["--rule", "TC-AUTH-008", "--rule", "TC-FUZZ-001"]
    argv = ["--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatconnect", *rules]
    argv += ["--no-matrix", "--reports", "reports", "-v"]
    code = f"from contractgate.cli import main; raise SystemExit(main({argv!r}))"
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=environ, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "passed" in run.stdout
    assert "TC-AUTH-008" in run.stdout
    assert "TC-FUZZ-001" in run.stdout
    assert not (tmp_path / ".hypothesis").exists()
