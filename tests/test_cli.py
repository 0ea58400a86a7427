"""The command line's contract with scripts: exit codes, one-line reasons, reports written."""

from __future__ import annotations

import io
import json
import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from contractgate._config import TargetConfig
from contractgate.cli import _over_file, main
from contractgate.servers import RunningServer, serve_in_thread, server_class
from tests.fixtures.mini_server import MiniServer

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def contracts(tmp_path: Path) -> Path:
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(FIXTURES / "mini.yaml", folder / "mini.yaml")
    return folder


@pytest.fixture
def mini(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    server = MiniServer()
    with serve_in_thread(server) as running:
        for name, value in server.credentials.items():
            monkeypatch.setenv(f"CONTRACTGATE_MINI_{name}", value)
        yield running


def _run(contracts: Path, tmp_path: Path, *extra: str) -> int:
    return main(
        [
            "--contracts",
            str(contracts),
            "run",
            "--reports",
            str(tmp_path / "reports"),
            "--cassettes",
            str(tmp_path / "cassettes"),
            "--rate",  # a loopback reference server: no need of the production default rate
            "1000",
            *extra,
        ]
    )


def _stamped(reports: Path) -> list[Path]:
    """The timestamped report folders (latest/ is a copy of the last one)."""
    return sorted(folder for folder in reports.iterdir() if folder.name != "latest")


def test_conformant_target_exits_0_and_writes_reports(contracts: Path, mini: RunningServer, tmp_path: Path) -> None:
    assert _run(contracts, tmp_path, "--target", f"mini={mini.urls['mini']}") == 0
    [folder] = _stamped(tmp_path / "reports")
    results = json.loads((folder / "results.json").read_text())
    assert results["summary"] == {"passed": 6, "failed": 0, "skipped": 0, "error": 0, "waived": 0}
    assert {"id", "vendor", "title", "source", "severity", "status", "message", "requests"} <= set(results["rules"][0])
    junit = (folder / "junit.xml").read_text()
    assert '<property name="rule_id" value="MINI-AUTH-001"' in junit
    assert '<property name="severity" value="must"' in junit
    assert "<html" in (folder / "report.html").read_text()


def test_violation_exits_1(contracts: Path, mini: RunningServer, tmp_path: Path) -> None:
    mini.server.switch.set(["no-total"])
    assert _run(contracts, tmp_path, "--target", f"mini={mini.urls['mini']}") == 1


def test_unreachable_target_exits_2_with_one_line(
    contracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(contracts, tmp_path, "--target", "mini=http://127.0.0.1:9/api") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("contractgate: error: target http://127.0.0.1:9/api is unreachable")


def test_missing_credentials_everywhere_exits_2(
    contracts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve_in_thread(MiniServer()) as running:
        monkeypatch.delenv("CONTRACTGATE_MINI_SECRET_KEY", raising=False)
        assert _run(contracts, tmp_path, "--target", f"mini={running.urls['mini']}") == 2
    assert "no rule could run" in capsys.readouterr().err


def test_a_run_where_no_rule_could_run_still_leaves_junit_at_the_fixed_path(
    contracts: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve_in_thread(MiniServer()) as running:
        monkeypatch.delenv("CONTRACTGATE_MINI_SECRET_KEY", raising=False)
        target = ["--target", f"mini={running.urls['mini']}"]
        assert _run(contracts, tmp_path, *target, "--junit-xml", str(tmp_path / "junit.xml")) == 2
    skipped = [case.get("message", "") for case in ET.parse(tmp_path / "junit.xml").getroot().iter("skipped")]
    assert len(skipped) == 6
    assert all("is not configured (set CONTRACTGATE_MINI_" in message for message in skipped)
    assert (tmp_path / "reports" / "latest" / "results.json").is_file()


def test_bad_contract_exits_2_naming_file_line_field(
    contracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = contracts / "mini.yaml"
    path.write_text(path.read_text().replace("severity: must", "severity: maybe", 1))
    assert _run(contracts, tmp_path, "--target", "mini=http://127.0.0.1:9/api") == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err
    assert "rules.0.severity" in err
    assert "Traceback" not in err


def test_bad_target_option_exits_2(contracts: Path, tmp_path: Path) -> None:
    assert _run(contracts, tmp_path, "--target", "mini") == 2


def test_diff_names_what_broke(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"mini={mini.urls['mini']}"
    fast = ["--rate", "1000"]  # a loopback reference server
    assert main(["--contracts", str(contracts), "run", *fast, "--reports", str(tmp_path / "a"), "--target", url]) == 0
    mini.server.switch.set(["error-no-title"])
    assert main(["--contracts", str(contracts), "run", *fast, "--reports", str(tmp_path / "b"), "--target", url]) == 1
    capsys.readouterr()
    [before], [after] = _stamped(tmp_path / "a"), _stamped(tmp_path / "b")
    assert main(["diff", str(before), str(after)]) == 1
    assert "BROKEN   mini MINI-ERR-001: passed -> failed" in capsys.readouterr().out


def test_bundled_run_with_matrix_puts_the_kill_matrix_in_the_reports_after_the_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    argv = ["run", "--vendor", "assemblyline", "--rule", "AL-SLASH-00[12]", "--reports", str(tmp_path), "--matrix"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    verdicts = [n for n, line in enumerate(lines) if line.startswith("conformant: 2/2 rules checked")]
    matrix = next(n for n, line in enumerate(lines) if line.startswith("kill matrix assemblyline:"))
    assert verdicts[0] < matrix < verdicts[-1] == len(lines) - 1  # the answer first, and last again
    [folder] = _stamped(tmp_path)
    page = (folder / "report.html").read_text()
    assert "Kill matrix" in page
    assert "slashless-200" in page
    [matrix] = json.loads((folder / "kill-matrix.json").read_text())
    assert matrix["vendor"] == "assemblyline"
    assert matrix["survivors"] == []
    assert {row["fault"] for row in matrix["faults"]} >= {"slashless-200"}


def test_serve_prints_the_ca_of_a_tls_server(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class _Clock:
        """Stands in for `time` inside the CLI only: the first wait is a Ctrl-C."""

        @staticmethod
        def sleep(_seconds: float) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr("contractgate.cli.time", _Clock)
    assert main(["serve", "threatconnect"]) == 0
    out = capsys.readouterr().out
    assert "--target threatconnect=https://127.0.0.1:" in out
    assert "--target threatconnect-http=http://127.0.0.1:" in out
    assert "ca.pem" in out
    assert 'ca_bundle = "<that path>"' in out
    assert "REQUESTS_CA_BUNDLE" in out


def test_serve_prints_whole_lines_at_any_width_and_writes_an_env_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class _Clock:
        @staticmethod
        def sleep(_seconds: float) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr("contractgate.cli.time", _Clock)
    monkeypatch.setenv("COLUMNS", "30")  # a narrow terminal: nothing may be wrapped or cut
    env_file = tmp_path / "tj.env"
    assert main(["serve", "threatjammer", "--env-file", str(env_file)]) == 0
    out = capsys.readouterr().out
    exported = dict(
        line.removeprefix("  export ").split("=", 1) for line in out.splitlines() if line.startswith("  export ")
    )
    written = dict(
        line.split("=", 1) for line in env_file.read_text().splitlines() if line and not line.startswith("#")
    )
    from contractgate.servers.threatjammer import DEFAULT_CREDENTIALS

    expected = {f"CONTRACTGATE_THREATJAMMER_{name}": value for name, value in DEFAULT_CREDENTIALS.items()}
    assert {name: shlex.split(value)[0] for name, value in exported.items()} == expected
    assert {name: shlex.split(value)[0] for name, value in written.items()} == expected
    assert re.search(r"^  --target threatjammer-report:paris=http://127\.0\.0\.1:\d+$", out, re.MULTILINE)
    assert oct(env_file.stat().st_mode & 0o777) == oct(0o600)


def test_allow_writes_of_a_vendor_with_several_targets_exits_2_naming_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    targets = [
        "--target",
        "threatjammer:dublin=http://127.0.0.1:9",
        "--target",
        "threatjammer:paris=http://127.0.0.1:9",
    ]
    reports = ["--reports", str(tmp_path / "reports")]
    code = main(["run", "--vendor", "threatjammer", *targets, "--allow-writes", "threatjammer", *reports])
    assert code == 2
    error = capsys.readouterr().err
    assert "threatjammer:dublin, threatjammer:paris" in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.parametrize("rate", ["0", "-1", "inf", "fast"])
def test_a_rate_that_is_not_a_positive_number_exits_2(contracts: Path, tmp_path: Path, rate: str) -> None:
    assert _run(contracts, tmp_path, "--target", "mini=http://127.0.0.1:9", "--rate", rate) == 2


@pytest.mark.parametrize(
    ("share", "says"), [("0", "must be above 0 and at most 1"), ("1.5", "at most 1"), ("half", "is not a number")]
)
def test_a_quota_share_outside_0_to_1_exits_2_in_one_line(
    contracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], share: str, says: str
) -> None:
    assert _run(contracts, tmp_path, "--target", "mini=http://127.0.0.1:9", "--quota-share", share) == 2
    error = capsys.readouterr().err
    assert says in error
    assert "Traceback" not in error


def test_a_target_option_keeps_the_files_ca_and_rate_for_the_same_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = server_class("threatconnect")()
    with serve_in_thread(server) as running:
        for name, value in server.credentials.items():
            monkeypatch.setenv(f"CONTRACTGATE_THREATCONNECT_{name}", value)
        url = running.urls["threatconnect"]
        config = tmp_path / "contractgate.toml"
        config.write_text(f'[targets.threatconnect]\nurl = "{url}"\nrate = 1000\nca_bundle = "{running.ca_pem}"\n')
        argv = ["--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatconnect", "--rule", "TC-AUTH-001"]
        argv += ["--config", str(config), "--target", f"threatconnect={url}", "--no-matrix"]
        argv += ["--reports", str(tmp_path / "reports"), "--cassettes", str(tmp_path / "cassettes")]
        assert main(argv) == 0, "the private CA configured for this very URL was dropped by --target"


def test_a_target_option_to_another_host_takes_neither_the_write_opt_in_nor_the_ca() -> None:
    configured = TargetConfig("tc", "https://tc.example/api", allow_writes=True, rate=2, ca_bundle=Path("ca.pem"))
    elsewhere = _over_file(TargetConfig("tc", "https://tc-staging.example/api"), configured)
    assert (elsewhere.url, elsewhere.allow_writes, elsewhere.rate, elsewhere.ca_bundle) == (
        "https://tc-staging.example/api",
        False,
        2,
        None,
    )
    same = _over_file(TargetConfig("tc", "https://TC.example/api/"), configured)
    assert (same.allow_writes, same.rate, same.ca_bundle) == (True, 2, Path("ca.pem"))


def test_a_bundled_run_leaves_the_kill_matrix_to_selftest_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    argv = ["run", "--vendor", "assemblyline", "--rule", "AL-SLASH-001", "--reports", str(tmp_path)]
    assert main(argv) == 0
    assert main([*argv, "--no-matrix"]) == 0  # still accepted: scripts written when the matrix ran by default
    assert "kill matrix" not in capsys.readouterr().out
    for folder in tmp_path.iterdir():
        assert not (folder / "kill-matrix.json").exists()
        assert "Kill matrix" not in (folder / "report.html").read_text()


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--mode", "replay"], "--mode replay"),
        (["--target", "mini=http://127.0.0.1:9"], "--target"),
        (["--no-matrix"], "contradict"),
    ],
)
def test_matrix_without_the_bundled_servers_is_exit_2_in_one_line(
    contracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    assert _run(contracts, tmp_path, "--matrix", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert named in err[0]
    assert not (tmp_path / "reports").exists()


def test_reports_go_to_the_fixed_paths_asked_for_and_to_latest(
    contracts: Path, mini: RunningServer, tmp_path: Path
) -> None:
    out = tmp_path / "ci"
    fixed = ["--junit-xml", str(out / "junit.xml"), "--json", str(out / "r.json"), "--html", str(out / "r.html")]
    assert _run(contracts, tmp_path, "--target", f"mini={mini.urls['mini']}", *fixed) == 0
    [first] = _stamped(tmp_path / "reports")
    latest = tmp_path / "reports" / "latest"
    for name, copy in (("junit.xml", "junit.xml"), ("results.json", "r.json"), ("report.html", "r.html")):
        assert (out / copy).read_bytes() == (first / name).read_bytes()
        assert (latest / name).read_bytes() == (first / name).read_bytes()
    (latest / "left-over.txt").write_text("from an older run")
    mini.server.switch.set(["error-no-title"])
    try:
        assert _run(contracts, tmp_path, "--target", f"mini={mini.urls['mini']}", "--rule", "MINI-ERR-001") == 1
    finally:
        mini.server.switch.set(())
    [_, second] = _stamped(tmp_path / "reports")
    assert sorted(p.name for p in latest.iterdir()) == sorted(p.name for p in second.iterdir())  # swapped whole
    assert json.loads((latest / "results.json").read_text())["verdict"]["exit_code"] == 1
    assert [p.name for p in (tmp_path / "reports").iterdir() if p.name.startswith(".")] == []


def test_a_fixed_report_path_that_is_a_folder_is_exit_2(
    contracts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(contracts, tmp_path, "--json", str(tmp_path)) == 2
    assert "--json" in capsys.readouterr().err
    assert _run(contracts, tmp_path, "--json", str(tmp_path / "a"), "--html", str(tmp_path / "a")) == 2
    assert "the same file as --json" in capsys.readouterr().err


def test_captured_output_has_no_control_codes_and_a_terminal_shows_progress(
    contracts: Path, mini: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = ["--target", f"mini={mini.urls['mini']}"]
    assert _run(contracts, tmp_path, *target) == 0
    captured = capsys.readouterr()
    assert "\x1b" not in captured.out + captured.err
    assert "mini: 6/6 rules, " in captured.out  # one plain line for the vendor
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=150, highlight=False)
    argv = ["--contracts", str(contracts), "run", "--reports", str(tmp_path / "t"), "--rate", "1000", *target]
    assert main(argv, console=terminal) == 0
    shown = screen.getvalue()
    assert "\x1b[" in shown  # a live display
    assert re.search(r"mini .*6/6 rules · \d+ requests", _plain(shown))
    assert _plain(shown).rindex("6/6 rules · ") < _plain(shown).index("contractgate summary")  # bar done first
    assert "mini: 6/6 rules, " not in shown  # no log lines on a terminal


def _plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
