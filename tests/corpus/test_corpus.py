"""Every malformed input in tests/corpus/cases/ is exit 2 with one clear line: no traceback, file:line named."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from contractgate.cli import main

CASES = Path(__file__).resolve().parent / "cases"
FOLDERS = sorted(path.parent for path in CASES.glob("*/case.json"))
FILE_LINE = re.compile(r"[\w.-]+\.\w+:\d+")


def test_the_corpus_is_large_enough() -> None:
    assert len(FOLDERS) >= 100


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda path: path.name)
def test_malformed_input_is_exit_2_with_one_clear_line(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    work = tmp_path / folder.name
    shutil.copytree(folder, work)
    monkeypatch.chdir(work)
    for name in [n for n in os.environ if n.startswith("CONTRACTGATE_")]:
        monkeypatch.delenv(name)

    code = main(case["args"])

    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert code == case["exit"] == 2, output
    assert "Traceback" not in output
    assert case["fragment"] in output, output
    if case["where"]:
        assert FILE_LINE.search(output), output
        assert case["where"] in output, output
    for password in ("hunter2", "Sup3rS3cret"):  # the passwords some cases put in URLs are never echoed
        assert password not in output
