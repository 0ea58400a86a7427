"""Every set-up mistake is exit 2 with one line (never a traceback, never exit 1); `env` matches the README."""

from __future__ import annotations

import re
import shutil
import socket
from pathlib import Path

import pytest

from contractgate import cli
from contractgate.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
VENDORS = ("threatconnect", "assemblyline", "threatjammer")


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("contractgate: error:")]


def test_an_unexpected_exception_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(cli, "_schema", broken)
    assert main(["schema"]) == 2
    err = capsys.readouterr().err
    assert _error_lines(err) == ["contractgate: error: RuntimeError: the disk is full"]
    assert "(run with --debug for the traceback)" in err
    assert "Traceback" not in err


def test_debug_prints_the_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(cli, "_schema", broken)
    for argv in (["--debug", "schema"], ["schema", "--debug"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback (most recent call last)" in err
        assert "RuntimeError: the disk is full" in err
    assert main(["schema"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_a_taken_port_for_serve_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "threatconnect", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert _error_lines(err) == [_error_lines(err)[0]]
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


def test_unknown_vendor_and_fault_for_serve_faults_and_selftest(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["faults", "threatjamer"]) == 2
    assert "did you mean 'threatjammer'" in capsys.readouterr().err
    assert main(["serve", "threatconnect", "--fault", "no-such-fault"]) == 2
    assert "not a fault of the threatconnect server" in capsys.readouterr().err
    assert main(["--contracts", str(ROOT / "contracts"), "selftest", "threatconect"]) == 2
    assert "did you mean 'threatconnect'" in capsys.readouterr().err
    argv = ["--contracts", str(ROOT / "contracts"), "selftest", "threatjammer", "--fault", "batch-210"]
    assert main(argv) == 2
    assert "--fault 'batch-210': no fault of the threatjammer server" in capsys.readouterr().err


def test_a_rule_glob_matching_nothing_is_named_not_blamed_on_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            *("--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatjammer", "--mode", "replay"),
            *("--rule", "tj-auth-*", "--reports", str(tmp_path)),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--rule 'tj-auth-*' matches no rule" in err
    assert "case-sensitive" in err
    assert "did you mean 'TJ-AUTH-*'" in err
    assert "missing targets or credentials" not in err


def test_a_password_in_a_target_url_is_refused_and_never_echoed(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            *("--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatconnect"),
            *("--target", "threatconnect=https://analyst:pa55w0rd-XYZ@tc.example/api"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "pa55w0rd-XYZ" not in captured.out + captured.err
    assert "https://***@tc.example/api" in captured.err


def test_misspelt_target_and_region_list_the_declared_ones(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatjammer"]
    assert main([*base, "--target", "threatjammer:mars=https://mars.example"]) == 2
    err = capsys.readouterr().err
    assert "'mars' is not a region of 'threatjammer' (known: dublin, paris" in err
    assert main([*base, "--target", "threatjamer:dublin=https://dublin.example"]) == 2
    assert "(known: threatjammer, threatjammer-report; did you mean 'threatjammer'?)" in capsys.readouterr().err


def test_config_string_boolean_does_not_turn_writes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contractgate.toml").write_text(
        '# production\n[targets.threatconnect]\nurl = "https://tc.example/api"\nallow_writes = "false"\n'
    )
    code = main(["--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatconnect"])
    err = capsys.readouterr().err
    assert code == 2
    assert "contractgate.toml:4: targets.threatconnect.allow_writes: Input should be a valid boolean" in err


def test_a_custom_vendor_without_a_server_says_what_to_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(FIXTURES / "mini.yaml", folder / "mini.yaml")
    assert main(["--contracts", str(folder), "run", "--no-matrix", "--reports", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"mini\.yaml:\d+: vendor 'mini' has no bundled reference server: pass --target mini=URL", err)


def test_diff_of_a_file_that_is_not_results_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "before.json"
    good.write_text('{"rules": []}\n')
    bad = tmp_path / "after.json"
    bad.write_text('{"rules": [\n  {"id": "X"},\n')
    assert main(["diff", str(good), str(bad)]) == 2
    assert f"{bad}:3: not a results.json (not valid JSON" in capsys.readouterr().err
    assert main(["diff", str(good), str(tmp_path / "nope.json")]) == 2
    assert "nope.json: no such file" in capsys.readouterr().err


# --- contractgate env ---------------------------------------------------------------------------------


def _env_rows(vendor: str, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, ...]]:
    assert main(["--contracts", str(ROOT / "contracts"), "env", vendor]) == 0
    rows = []
    for line in capsys.readouterr().out.splitlines():
        variable, kind, region, auth, meaning = re.split(r"\s{2,}", line.strip(), maxsplit=4)
        rows.append((vendor, variable, kind, region.removeprefix("region="), auth.removeprefix("auth="), meaning))
    return rows


def _readme_rows() -> list[tuple[str, ...]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("<!-- credentials:begin -->")[1].split("<!-- credentials:end -->")[0]
    rows = []
    for line in table.strip().splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        cells[1] = cells[1].strip("`")
        rows.append(tuple(cells))
    return rows


def test_readme_credential_table_is_exactly_what_env_prints(capsys: pytest.CaptureFixture[str]) -> None:
    printed = [row for vendor in VENDORS for row in _env_rows(vendor, capsys)]
    assert len(printed) == 18
    assert _readme_rows() == printed


def test_env_lists_every_region_of_a_per_region_credential(capsys: pytest.CaptureFixture[str]) -> None:
    rows = _env_rows("threatjammer", capsys)
    assert ("threatjammer", "CONTRACTGATE_THREATJAMMER_KEY_PARIS") in [row[:2] for row in rows]
    key_dublin = next(row for row in rows if row[1] == "CONTRACTGATE_THREATJAMMER_KEY_DUBLIN")
    assert key_dublin[2:5] == ("secret", "dublin", "bearer")


def test_env_dotenv_is_a_template_with_every_variable_empty(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--contracts", str(ROOT / "contracts"), "env", "threatconnect", "--format", "dotenv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assignments = [line for line in lines if not line.startswith("#")]
    assert assignments == [
        "CONTRACTGATE_THREATCONNECT_ACCESS_ID=",
        "CONTRACTGATE_THREATCONNECT_SECRET_KEY=",
        "CONTRACTGATE_THREATCONNECT_API_TOKEN=",
        "CONTRACTGATE_THREATCONNECT_EXPIRED_API_TOKEN=",
    ]
    assert "# the API user's Secret Key, which keys the HMAC (secret; region -; auth hmac)" in lines


def test_config_targets_of_other_vendors_in_the_folder_are_not_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contractgate.toml").write_text(
        '[targets."threatjammer:dublin"]\nurl = "https://dublin.api.threatjammer.com"\n\n'
        '[targets.threatconect]\nurl = "https://tc.example/api"\n'
    )
    base = ["--contracts", str(ROOT / "contracts"), "run", "--mode", "replay", "--cassettes", str(ROOT / "cassettes")]
    assert main([*base, "--vendor", "threatconnect", "--rule", "TC-AUTH-001"]) == 2
    err = capsys.readouterr().err
    assert "contractgate.toml:5: targets.threatconect: no selected contract declares a target 'threatconect'" in err
    (tmp_path / "contractgate.toml").write_text(
        '[targets."threatjammer:dublin"]\nurl = "https://dublin.api.threatjammer.com"\n'
    )
    assert main([*base, "--vendor", "threatconnect", "--rule", "TC-AUTH-001"]) == 0


def test_selftest_of_a_custom_vendor_says_it_needs_a_bundled_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "contracts"
    folder.mkdir()
    shutil.copy(FIXTURES / "mini.yaml", folder / "mini.yaml")
    assert main(["--contracts", str(folder), "selftest"]) == 2
    assert "vendor 'mini' has none" in capsys.readouterr().err


def test_allow_writes_takes_a_target_key_as_well_as_a_vendor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reports = ["--reports", str(tmp_path / "r"), "--cassettes", str(tmp_path / "c")]
    target = ["--target", "threatjammer:dublin=http://127.0.0.1:9"]
    args = ["--contracts", str(ROOT / "contracts"), "run", "--vendor", "threatjammer", *target, *reports]
    assert main([*args, "--allow-writes", "threatjammer:dublin"]) == 2
    accepted = capsys.readouterr().err
    assert "unreachable" in accepted  # the name passed; the closed port stopped the run
    assert "--allow-writes" not in accepted
    assert main([*args, "--allow-writes", "threatjammer:dubln"]) == 2
    assert "did you mean 'threatjammer:dublin'" in capsys.readouterr().err
