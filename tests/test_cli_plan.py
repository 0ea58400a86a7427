"""`contractgate plan` and `run --budget/--profile`: cost known before sending, budgets never a silent pass."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path
from typing import Any

import pytest

from contractgate.cli import main

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS = str(ROOT / "contracts")


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to open a connection is recorded and refused."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("the plan must not open a socket")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_plan_prints_each_rule_and_the_total_without_a_target_or_a_socket(
    no_network: list[Any], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no contractgate.toml: no target configured at all
    for name in list(os.environ):
        if name.startswith("CONTRACTGATE_"):
            monkeypatch.delenv(name)
    code = main(["--contracts", CONTRACTS, "plan", "--vendor", "threatconnect", "--rule", "TC-AUTH-00[12]"])
    out = capsys.readouterr().out
    assert code == 0
    assert no_network == []
    assert "TC-AUTH-001" in out
    assert "TC-AUTH-002" in out
    assert "threatconnect total: 5 requests; 2/2 rules run" in out  # 2 + 3, as their cassettes replay
    assert "threatconnect with hmac:" in out


def test_plan_with_a_budget_names_the_rules_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["plan", "--vendor", "threatconnect", "--budget", "4", "--rule", "TC-AUTH-00*"]
    code = main(["--contracts", CONTRACTS, *argv])
    out = capsys.readouterr().out
    assert code == 0
    assert "not run: budget" in out
    spent = re.search(r"threatconnect total: (\d+) requests of budget 4", out)
    assert spent is not None, out[-600:]
    assert 0 < int(spent.group(1)) <= 4


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["plan", "--profile", "smok"], "no profile 'smok'"),
        (["plan", "--budget", "0"], "a budget is a positive number"),
        (["plan", "--budget", "ten"], "not a whole number"),
        (["run", "--mode", "replay", "--profile", "nightly"], "no profile 'nightly'"),
    ],
)
def test_a_wrong_profile_or_budget_is_exit_2_in_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--contracts", CONTRACTS, *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert "Traceback" not in err


def test_a_budget_in_the_config_file_is_strictly_typed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "contractgate.toml"
    config.write_text('budget = "60"\n', encoding="utf-8")
    code = main(["--contracts", CONTRACTS, "plan", "--vendor", "assemblyline", "--config", str(config)])
    assert code == 2
    assert "budget" in capsys.readouterr().err
    config.write_text("budget = 3\n", encoding="utf-8")
    code = main(["--contracts", CONTRACTS, "plan", "--vendor", "assemblyline", "--config", str(config)])
    assert code == 0
    assert "assemblyline total: 3 requests of budget 3" in capsys.readouterr().out


def _replay(tmp_path: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    code = main(
        [
            "--contracts",
            CONTRACTS,
            "run",
            "--mode",
            "replay",
            "--vendor",
            "threatconnect",
            "--rule",
            "TC-AUTH-00[1-4]",  # 2 + 3 + 4 + 4 requests, no drawn example
            "--cassettes",
            str(ROOT / "cassettes"),
            "--reports",
            str(reports),
            *extra,
        ]
    )
    (results,) = reports.glob("[0-9]*/results.json")  # the timestamped folder, not reports/latest/
    return code, json.loads(results.read_text(encoding="utf-8"))


def test_rules_left_out_for_budget_are_not_run_and_never_a_pass(tmp_path: Path) -> None:
    code, results = _replay(tmp_path, "--budget", "9")
    statuses = {rule["id"]: (rule["status"], rule["cause"]) for rule in results["rules"]}
    assert statuses["TC-AUTH-001"] == ("passed", "")
    assert statuses["TC-AUTH-002"] == ("passed", "")
    assert statuses["TC-AUTH-003"] == ("passed", "")  # 2 + 3 + 4 = 9: the budget is full
    assert statuses["TC-AUTH-004"] == ("skipped", "request-budget")
    assert next(r for r in results["rules"] if r["id"] == "TC-AUTH-004")["message"].startswith("not run: budget")
    assert code == 2
    cost = results["verdict"]["cost"]["threatconnect"]
    assert cost["sent"] == 9
    assert cost["budget"] == 9
    assert cost["run"] == 3
    assert cost["selected"] == 4
    assert "3/4 rules run, 9 requests sent / budget 9" in results["verdict"]["line"]


def test_a_partial_run_under_budget_is_accepted_like_skips(tmp_path: Path) -> None:
    code, results = _replay(tmp_path, "--budget", "9", "--allow-skips")
    assert code == 0
    assert results["verdict"]["not_checked"] == {"TC-AUTH-004": "request-budget"}


def test_every_run_states_its_cost(tmp_path: Path) -> None:
    code, results = _replay(tmp_path)
    assert code == 0
    cost = results["verdict"]["cost"]["threatconnect"]
    assert cost == {
        "profile": "full",
        "planned": 13,
        "planned_exact": True,
        "sent": 13,
        "budget": None,
        "run": 4,
        "selected": 4,
    }
    assert "4/4 rules run, 13 requests sent (planned 13) (full)" in results["verdict"]["line"]
