"""The session's hypothesis set-up: files kept out of the working directory, Unicode tables kept between runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Set up as a run does, then say whether hypothesis's charmap table is there before anything builds it, build it,
# and print the private folder (gone after exit).
PROBE = """
from hypothesis.internal import charmap
from contractgate._session import keep_hypothesis_files_out_of_cwd
keep_hypothesis_files_out_of_cwd()
print(charmap.charmap_file().exists())
charmap.charmap()
print(charmap.charmap_file())
"""


def _probe(cwd: Path, cache: Path) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_STORAGE_DIRECTORY"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), environ.get("PYTHONPATH", "")])
    environ["XDG_CACHE_HOME"] = str(cache)
    run = subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=environ, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_unicode_tables_are_kept_between_runs_and_nothing_else(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first_seeded, first_private = _probe(tmp_path, cache)
    assert first_seeded == "False"
    kept = sorted(p.relative_to(cache) for p in cache.rglob("*") if p.is_file())
    assert kept, "the charmap table was not kept"
    assert all(p.parts[:2] == ("contractgate", "hypothesis-unicode-data") and p.name.endswith(".json.gz") for p in kept)
    second_seeded, second_private = _probe(tmp_path, cache)
    assert second_seeded == "True"  # the next process starts with the table: no rebuild
    assert second_private != first_private
    assert not Path(first_private).exists()
    assert not Path(second_private).exists()  # the private folder still goes at exit
    assert not (tmp_path / ".hypothesis").exists()
