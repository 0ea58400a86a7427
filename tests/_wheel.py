"""Build this checkout's wheel and make fresh virtual environments, as a user's machine or CI job would have."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: no PYTHONPATH into this checkout, no contractgate variables."""
    keep = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("CONTRACTGATE_")}
    return {**keep, "NO_COLOR": "1", "COLUMNS": "200", **extra}


def sh(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command as the user would (clean environment), capturing its output."""
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=600
    )


def source_copy(work: Path) -> Path:
    """What the build reads, copied, so building leaves no build/ or egg-info in the checkout."""
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("src", "contracts"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return source


def build_wheel(work: Path) -> Path:
    """The wheel of this checkout, built by pip (build isolation, as a release would be), in work/dist."""
    built = sh(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source_copy(work), cwd=work
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (work / "dist").glob("contractgate-*.whl")
    return wheel


def make_venv(folder: Path, system_site_packages: bool = True) -> Path:
    """A fresh venv without pip of its own (the dependencies, and pip, come from this interpreter's site-packages)."""
    options = ["--system-site-packages"] if system_site_packages else []
    made = sh(sys.executable, "-m", "venv", *options, "--without-pip", folder, cwd=folder.parent)
    assert made.returncode == 0, made.stderr
    return folder


def shared_wheel(base: Path) -> Path:
    """The wheel built once for the whole test session, whichever worker asks first (the others wait on a lock).

    `base` is a folder every worker of the session sees (the parent of xdist's per-worker base temp).
    """
    folder = base / "contractgate-wheel"
    folder.mkdir(exist_ok=True)
    with (base / "contractgate-wheel.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = sorted((folder / "dist").glob("contractgate-*.whl"))
        return built[0] if built else build_wheel(folder)


def session_folder(getbasetemp: Path) -> Path:
    """A folder of this test session that every xdist worker sees (each worker's base temp is below it)."""
    return getbasetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else getbasetemp
