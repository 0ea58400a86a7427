"""bench/screenshot_report.py without Chromium: exit 2 and how to install it (the suite never needs Chromium)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "screenshot_report.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("screenshot_report", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_without_chromium_it_exits_2_saying_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    page.write_text("<!doctype html><html><body>x</body></html>")
    monkeypatch.setenv("CHROMIUM", str(tmp_path / "no-such-browser"))
    assert _script().main([str(page)]) == 2
    err = capsys.readouterr().err
    assert "apt-get install -y chromium" in err
    assert "$CHROMIUM" in err
    assert not page.with_suffix(".png").exists()
