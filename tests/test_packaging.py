"""The packs ship in the wheel: built, installed in a fresh environment, every pack runs from an empty directory."""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import setuptools

from contractgate._loader import contract_files
from contractgate._packs import bundled_dir
from contractgate.cli import main
from contractgate.servers import RunningServer, serve_in_thread, server_class
from tests._wheel import clean_env, make_venv, session_folder, sh, shared_wheel, source_copy

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
PACKS = "contractgate.contracts"


def test_the_wheel_lists_every_package_of_src() -> None:
    listed = set(SETUPTOOLS["packages"]) - {PACKS}
    assert listed == set(setuptools.find_packages(str(ROOT / "src")))


def test_the_wheel_carries_every_file_of_the_contracts_folder() -> None:
    assert SETUPTOOLS["package-dir"][PACKS] == "contracts"
    globs = SETUPTOOLS["package-data"][PACKS]
    files = [path.relative_to(ROOT / "contracts").as_posix() for path in (ROOT / "contracts").rglob("*")]
    left_out = [name for name in files if "." in name and not any(fnmatch.fnmatch(name, g) for g in globs)]
    assert not left_out


def test_in_a_checkout_the_bundled_packs_are_the_contracts_folder() -> None:
    assert bundled_dir() == ROOT / "contracts"
    assert [p.stem for p in contract_files(ROOT / "contracts")] == ["assemblyline", "threatconnect", "threatjammer"]


def _own_threatjammer(folder: Path) -> Path:
    """A user's copy of the Threat Jammer contract with one credential description of their own."""
    text = (ROOT / "contracts" / "threatjammer.yaml").read_text(encoding="utf-8")
    assert "The API key of each region" in text
    folder.mkdir(exist_ok=True)
    path = folder / "threat-jammer-ours.yml"
    path.write_text(text.replace("The API key of each region", "OUR OWN KEY DESCRIPTION"), encoding="utf-8")
    return path


def test_a_users_contract_replaces_the_bundled_pack_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _own_threatjammer(tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    assert main(["env", "threatjammer", "--contracts", "mine"]) == 0  # after the command, and a .yml file
    captured = capsys.readouterr()
    assert "OUR OWN KEY DESCRIPTION" in captured.out
    assert "mine/threat-jammer-ours.yml replaces the bundled threatjammer contract" in captured.err
    assert main(["env", "threatconnect", "--contracts", "mine"]) == 0  # the other packs are still there
    captured = capsys.readouterr()
    assert "CONTRACTGATE_THREATCONNECT_ACCESS_ID" in captured.out
    assert main(["env", "threatjammer"]) == 0
    assert "OUR OWN KEY DESCRIPTION" not in capsys.readouterr().out


def test_a_users_copy_of_a_pack_keeps_the_openapi_descriptions_the_packs_ship(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _own_threatjammer(tmp_path / "mine")  # names contracts/openapi/... but copies none of it
    monkeypatch.chdir(tmp_path)
    replay = ["--mode", "replay", "--cassettes", str(ROOT / "cassettes"), "--reports", str(tmp_path / "r")]
    rules = ["--rule", "TJ-SCHEMA-001", "--rule", "TJ-FUZZ-001"]
    assert main(["run", "--contracts", "mine", "--vendor", "threatjammer", *replay, *rules]) == 0, capsys.readouterr()
    assert "conformant: 2/2 rules checked" in capsys.readouterr().out


def test_a_users_contract_for_a_new_vendor_extends_the_packs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(ROOT / "tests" / "fixtures" / "mini.yaml", tmp_path / "mini.yml")
    monkeypatch.chdir(tmp_path)
    assert main(["--contracts", "mini.yml", "env", "mini"]) == 0
    assert "CONTRACTGATE_MINI_SECRET_KEY" in capsys.readouterr().out
    assert main(["env", "assemblyline", "--contracts", "mini.yml"]) == 0
    captured = capsys.readouterr()
    assert "CONTRACTGATE_ASSEMBLYLINE_APIKEY" in captured.out
    assert "replaces" not in captured.err


def test_a_contracts_path_that_is_not_there_is_exit_2_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "threatjammer", "--contracts", str(tmp_path / "nope")]) == 2
    assert f"{tmp_path / 'nope'}: no such contract file or folder" in capsys.readouterr().err


# --- the built wheel, installed in a fresh virtual environment ---------------------------------------------------


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv (system site-packages for the dependencies) with the wheel built from this checkout installed."""
    work = tmp_path_factory.mktemp("wheel")
    wheel = shared_wheel(session_folder(tmp_path_factory.getbasetemp()))  # tests/test_init.py installs the same
    venv = make_venv(work / "venv")
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python)
    done = sh(*pip, "install", "-q", "--no-deps", "--force-reinstall", wheel, cwd=work)
    assert done.returncode == 0, done.stderr
    checked = sh(*pip, "check", cwd=work)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return venv


def test_the_installed_package_is_the_wheel_not_this_checkout(installed: Path, tmp_path: Path) -> None:
    python = installed / "bin" / "python"
    code = (
        "import contractgate, contractgate._packs as p; print(contractgate.__file__); print(p.bundled_dir());"
        "from contractgate.servers.threatjammer._server import OPENAPI; print(OPENAPI)"
    )
    found = sh(python, "-c", code, cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    module, packs, served = found.stdout.split()
    site = installed / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert Path(module) == site / "contractgate" / "__init__.py"
    assert Path(packs) == site / "contractgate" / "contracts"
    assert Path(served).is_file()  # the reference server's /openapi.json comes from the packs too
    assert Path(served).parent == Path(packs) / "openapi" / "vendor"
    shipped = {p.relative_to(Path(packs)).as_posix() for p in Path(packs).rglob("*") if p.is_file()}
    source = {p.relative_to(ROOT / "contracts").as_posix() for p in (ROOT / "contracts").rglob("*") if p.is_file()}
    assert shipped == source
    assert sh(installed / "bin" / "contractgate", "--version", cwd=tmp_path).stdout.startswith("contractgate ")


def test_every_pack_runs_against_the_bundled_servers_from_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    ran = sh(installed / "bin" / "contractgate", "run", "--no-matrix", cwd=empty)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr
    (results,) = empty.glob("reports/[0-9]*/results.json")  # the timestamped folder, not reports/latest/
    document = json.loads(results.read_text(encoding="utf-8"))
    assert {rule["vendor"] for rule in document["rules"]} == {"assemblyline", "threatconnect", "threatjammer"}
    assert document["summary"]["passed"] == len(document["rules"]) > 150
    assert re.search(r"conformant: (\d+)/\1 rules checked", ran.stdout)


@pytest.fixture
def threatjammer() -> Iterator[RunningServer]:
    with serve_in_thread(server_class("threatjammer")()) as running:
        yield running


def test_a_pack_runs_against_a_target_url_from_any_directory(
    installed: Path, tmp_path: Path, threatjammer: RunningServer
) -> None:
    credentials = {f"CONTRACTGATE_THREATJAMMER_{k}": v for k, v in threatjammer.server.credentials.items()}
    targets = [arg for key, url in threatjammer.urls.items() for arg in ("--target", f"{key}={url}")]
    rules = [arg for rule in ("TJ-SCHEMA-*", "TJ-FUZZ-00[12]", "TJ-AUTH-001") for arg in ("--rule", rule)]
    command = [installed / "bin" / "contractgate", "run", "--vendor", "threatjammer", *targets, *rules]
    ran = sh(*command, "--rate", "1000", cwd=tmp_path, env=clean_env(**credentials))
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr
    assert re.search(r"conformant: 5/5 rules checked", ran.stdout), ran.stdout[-2000:]


def test_version_names_the_release_and_the_packs_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    from contractgate import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"contractgate {__version__} (packs: {ROOT / 'contracts'})"
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


def test_an_editable_install_reads_the_same_contracts_folder(tmp_path: Path) -> None:
    source = source_copy(tmp_path)
    venv = make_venv(tmp_path / "venv", system_site_packages=False)  # the only contractgate it sees is this one
    python = venv / "bin" / "python"
    pip = (sys.executable, "-m", "pip", "--python", python)
    done = sh(*pip, "install", "-q", "--no-deps", "-e", source, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = sh(python, "-c", "import contractgate._packs as p; print(p.bundled_dir())", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == source / "contracts"
