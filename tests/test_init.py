"""`contractgate init` in a user's repository: its files parse, and the workflows' shell steps pass the gate."""

from __future__ import annotations

import re
import subprocess
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from contractgate._loader import discover
from contractgate._scaffold import CONFIG, GITHUB, GITLAB, JUNIT_GLOB, WAIVERS
from contractgate._waivers import read_waivers_file
from contractgate.cli import credential_rows, main
from contractgate.servers import RunningServer, serve_in_thread, server_class
from tests._wheel import clean_env, make_venv, session_folder, shared_wheel

VENDOR = "assemblyline"  # plain HTTP and the quickest pack: the steps, not the vendor, are under test here
SECRET = re.compile(r"^\$\{\{ secrets\.([A-Z0-9_]+) \}\}$")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "repo"
    folder.mkdir()
    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    monkeypatch.chdir(folder)
    return folder


def test_init_writes_config_waivers_and_both_workflows_for_the_chosen_vendors(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--vendor", "threatjammer", "--vendor", VENDOR]) == 0
    out = capsys.readouterr().out
    for path in (CONFIG, WAIVERS, GITHUB, GITLAB):
        assert f"wrote {path}" in out
    config = (repo / CONFIG).read_text()
    assert tomllib.loads(config) == {}  # every target commented: nothing is configured until the user says so
    assert '# [targets."threatjammer:paris"]' in config
    assert "# [targets.assemblyline]" in config
    assert "threatconnect" not in config
    assert read_waivers_file(repo / WAIVERS) == []  # the stub parses and waives nothing
    workflow = yaml.safe_load((repo / GITHUB).read_text())
    (gate,) = [step for step in workflow["jobs"]["contractgate"]["steps"] if "--require-targets" in step.get("run", "")]
    secrets = {name: SECRET.fullmatch(value) for name, value in gate["env"].items()}
    assert {name: m.group(1) if m else None for name, m in secrets.items()} == {name: name for name in secrets}
    listed = {
        row.variable for contract in discover().load(["threatjammer", VENDOR]) for row in credential_rows(contract)
    }
    assert set(secrets) == listed  # every variable `contractgate env` lists, and nothing else
    assert "CONTRACTGATE_THREATJAMMER_QUOTA_KEY_PARIS" in secrets
    gitlab = (repo / GITLAB).read_text()
    assert "CONTRACTGATE_THREATJAMMER_KEY_DUBLIN" in gitlab
    assert yaml.safe_load(gitlab)["contractgate"]["artifacts"]["reports"]["junit"] == JUNIT_GLOB


def test_init_never_overwrites_a_file_unless_forced(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / CONFIG).write_text("# mine\n")
    assert main(["init"]) == 2
    err = capsys.readouterr().err
    assert f"contractgate: error: {CONFIG}: already there; nothing was written (overwrite with --force)" in err
    assert (repo / CONFIG).read_text() == "# mine\n"
    assert not (repo / GITHUB).exists()
    assert main(["init", "--force", "--ci", "github"]) == 0
    assert (repo / CONFIG).read_text() != "# mine\n"
    assert (repo / GITHUB).exists()
    assert not (repo / GITLAB).exists()


def test_init_of_an_unknown_vendor_is_exit_2_naming_the_known(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--vendor", "threatjamer"]) == 2
    assert "did you mean 'threatjammer'" in capsys.readouterr().err
    assert not (repo / CONFIG).exists()


# --- the workflows' shell steps, run as the CI job would run them -------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_wheel(session_folder(tmp_path_factory.getbasetemp()))  # built once per session


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_in_thread(server_class(VENDOR)()) as running:
        yield running


def _fill_in_targets(config: Path, urls: dict[str, str]) -> None:
    """What the user does after init: uncomment each target's table and give its URL (writes allowed, fast rate)."""
    text = config.read_text()
    for key, url in urls.items():
        block = re.search(rf"^# \[targets\.{re.escape(key)}\]\n(?:# .*\n)+", text, re.MULTILINE)
        assert block, key
        table = re.sub(r"^# ", "", block.group(0), flags=re.MULTILINE)
        table = table.replace('url = ""', f'url = "{url}"').replace("allow_writes = false", "allow_writes = true")
        table = re.sub(r"^rate = \S+", "rate = 1000", table, flags=re.MULTILINE)
        table = re.sub(r"^ca_bundle = .*\n", "", table, flags=re.MULTILINE)
        text = text.replace(block.group(0), table)
    config.write_text(text)


def _ci_env(wheel: Path, venv: Path, variables: dict[str, str]) -> dict[str, str]:
    """A CI job's shell: the venv's python first on PATH, pip pointed at the built wheel, the secrets as variables."""
    path = f"{venv / 'bin'}:{clean_env()['PATH']}"
    pip = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(wheel.parent), "PIP_NO_DEPS": "1", "PIP_FORCE_REINSTALL": "1"}
    return clean_env(PATH=path, VIRTUAL_ENV=str(venv), **pip, **variables)


def _github_steps(workflow: dict[str, Any], secrets: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """Each `run:` step's script and its `env:`, with `${{ secrets.NAME }}` resolved from the given secrets."""
    steps = []
    for step in workflow["jobs"]["contractgate"]["steps"]:
        if "run" not in step:
            continue
        env = {}
        for name, value in step.get("env", {}).items():
            match = SECRET.fullmatch(value)
            assert match, f"{name}: {value}"
            env[name] = secrets[match.group(1)]
        steps.append((step["run"], env))
    return steps


def _gitlab_steps(job: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    return [(line, {}) for line in [*job["before_script"], *job["script"]]]


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_workflow_steps_run_the_gate_and_leave_junit_where_the_upload_looks(
    ci: str, repo: Path, wheel: Path, server: RunningServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", "--vendor", VENDOR, "--ci", ci]) == 0
    capsys.readouterr()
    variables = {f"CONTRACTGATE_{VENDOR.upper()}_{k}": v for k, v in server.server.credentials.items()}
    if ci == "github":
        steps = _github_steps(yaml.safe_load((repo / GITHUB).read_text()), secrets=variables)
        job_env: dict[str, str] = {}  # GitHub hands secrets only to the steps that map them
    else:
        steps = _gitlab_steps(yaml.safe_load((repo / GITLAB).read_text())["contractgate"])
        job_env = variables  # GitLab hands CI/CD variables to the job under their own names
    venv = make_venv(repo.parent / "ci-venv")
    install, *gate = steps
    assert "pip install" in install[0]
    done = subprocess.run(["bash", "-e", "-c", install[0]], cwd=repo, env=_ci_env(wheel, venv, job_env), text=True)
    assert done.returncode == 0

    def run_gate() -> subprocess.CompletedProcess[str]:
        (script, env) = gate[-1]
        assert script.startswith("contractgate run ")
        shell = _ci_env(wheel, venv, {**job_env, **env})
        return subprocess.run(["bash", "-e", "-c", script], cwd=repo, env=shell, capture_output=True, text=True)

    unconfigured = run_gate()  # straight after init no target is set: the gate fails, never tests a stand-in
    assert unconfigured.returncode == 2, unconfigured.stdout + unconfigured.stderr
    assert "--require-targets: no target is configured" in unconfigured.stderr

    _fill_in_targets(repo / CONFIG, server.urls)
    ran = run_gate()
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr
    assert "conformant:" in ran.stdout
    assert "bundled reference servers" not in ran.stdout
    (junit,) = repo.glob(JUNIT_GLOB)
    assert '<property name="rule_id" value="AL-' in junit.read_text()
    assert (
        str(venv)
        in subprocess.run(  # the gate ran the wheel just installed, not this checkout
            ["bash", "-c", "command -v contractgate"], env=_ci_env(wheel, venv, {}), capture_output=True, text=True
        ).stdout
    )
