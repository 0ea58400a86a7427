"""Record modes as VCR.py names them: none (replay), once, new_episodes, all; stable re-recording."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contractgate._contract import Contract, Volatile
from contractgate._outcome import Status
from contractgate._runner import Engine
from contractgate._selftest import bundled_config
from contractgate.cli import main
from contractgate.pytest_plugin import session_mode
from contractgate.servers import serve_in_thread
from tests.fixtures.mini_server import MiniServer


def _record(contract: Contract, cassettes: Path, record_mode: str = "all", faults: tuple[str, ...] = ()) -> Engine:
    server = MiniServer(faults=list(faults))
    with serve_in_thread(server) as running:
        config = bundled_config(contract, running, mode="record", cassettes=cassettes, record_mode=record_mode)
        engine = Engine([contract], config)
        engine.result = engine.run()  # type: ignore[attr-defined]
    return engine


def test_re_recording_an_unchanged_server_leaves_every_byte(mini_contract: Contract, tmp_path: Path) -> None:
    # Date is the server's clock; Timestamp our own (the HMAC's, not a secret in the mini contract).
    contract = mini_contract.model_copy(update={"volatile": Volatile(headers=["Date", "Timestamp"])})
    _record(contract, tmp_path)
    first = {p.name: p.read_bytes() for p in sorted(tmp_path.rglob("*.json"))}
    _record(contract, tmp_path)
    assert {p.name: p.read_bytes() for p in sorted(tmp_path.rglob("*.json"))} == first
    assert len(first) == len(contract.rules)


def test_once_replays_a_rule_that_has_a_cassette_and_records_one_that_has_none(
    mini_contract: Contract, tmp_path: Path
) -> None:
    _record(mini_contract, tmp_path)
    (tmp_path / "mini" / "MINI-ERR-001.json").unlink()
    # The server now breaks MINI-PAGE-002: a rule replayed from its cassette does not see it, a recorded rule would.
    engine = _record(mini_contract, tmp_path, "once", faults=("no-total",))
    statuses = {o.rule_id: o.status for o in engine.result.outcomes}  # type: ignore[attr-defined]
    assert statuses["MINI-PAGE-002"] == Status.PASSED
    assert (tmp_path / "mini" / "MINI-ERR-001.json").is_file()
    assert engine.rule_mode(mini_contract, mini_contract.rule("MINI-PAGE-002")) == "replay"


def test_new_episodes_replays_what_the_cassette_holds_and_appends_the_rest(
    mini_contract: Contract, tmp_path: Path
) -> None:
    _record(mini_contract, tmp_path)
    path = tmp_path / "mini" / "MINI-PAGE-001.json"
    document = json.loads(path.read_text())
    complete = len(document["interactions"])
    assert complete > 1
    document["interactions"] = document["interactions"][:-1]
    path.write_text(json.dumps(document))
    engine = _record(mini_contract, tmp_path, "new_episodes")
    statuses = {o.rule_id: o.status for o in engine.result.outcomes}  # type: ignore[attr-defined]
    assert statuses["MINI-PAGE-001"] == Status.PASSED
    assert len(json.loads(path.read_text())["interactions"]) == complete


def test_the_pytest_default_is_record_mode_none_and_a_contradiction_is_a_usage_error() -> None:
    assert session_mode(None, None)[0] == "replay"
    assert session_mode(None, "none") == ("replay", "none")
    assert session_mode(None, "once") == ("record", "once")
    with pytest.raises(pytest.UsageError, match="contradicts"):
        session_mode("live", "all")


def test_the_command_line_refuses_a_mode_that_contradicts_the_record_mode(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--mode", "live", "--record-mode", "none"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "--mode live with --record-mode none" in err[0]
