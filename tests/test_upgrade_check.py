"""`contractgate upgrade-check`: the after side recorded, verdict changes and shape changes on one page."""

from __future__ import annotations

from pathlib import Path

import pytest

from contractgate.cli import main

pytestmark = pytest.mark.xdist_group("assemblyline")


def test_an_upgrade_to_the_next_release_reports_broken_rules_and_shape_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record = ["run", "--mode", "record", "--keep-exchanges", "--vendor", "assemblyline", "--no-matrix"]
    assert main([*record, "--cassettes", str(tmp_path / "c"), "--reports", str(tmp_path / "before")]) == 0
    [before] = (tmp_path / "before").glob("[0-9]*")  # the timestamped folder, not latest/
    assert (before / "results.json").is_file()
    assert (before / "exchanges" / "assemblyline" / "AL-SEARCH-006.json").is_file()
    capsys.readouterr()
    check = ["upgrade-check", "--before", str(before), "--vendor", "assemblyline", "--server-version", "next"]
    assert main([*check, "--reports", str(tmp_path / "after")]) == 1
    out = capsys.readouterr().out
    assert "BROKEN" in out
    [after] = (tmp_path / "after").glob("[0-9]*")
    page = (after / "upgrade.html").read_text(encoding="utf-8")
    assert "<td>breaking</td><td>BROKEN</td><td>assemblyline</td><td>AL-SEARCH-006</td>" in page
    for finding in ("response-field-removed", "response-type-changed", "header-renamed", "status-added"):
        assert f"<code>{finding}</code>" in page


def test_a_before_run_without_exchanges_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "results.json").write_text('{"rules": []}')
    assert main(["upgrade-check", "--before", str(tmp_path), "--vendor", "assemblyline"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "holds no cassettes" in err[0]
