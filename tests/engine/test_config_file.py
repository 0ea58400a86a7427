"""contractgate.toml is strictly typed and every mistake names file, line and key; target URLs and names checked."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from contractgate._config import (
    TargetConfig,
    check_target_names,
    check_url,
    load_config_file,
    mask_url,
    parse_target_options,
    read_config_file,
    read_verdict_config,
)
from contractgate._errors import SetupError
from contractgate._tomllines import key_lines

TARGET = '[targets.threatconnect]\nurl = "https://tc.example/api"\n'


def _write(tmp_path: Path, body: str, name: str = "contractgate.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ['"false"', '"no"', "0", '"off"'])
def test_a_non_boolean_allow_writes_is_refused_not_read_as_true(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, TARGET + f"allow_writes = {value}\n")
    with pytest.raises(SetupError, match=rf"{path}:3: targets\.threatconnect\.allow_writes: .*valid boolean"):
        read_config_file(path)


@pytest.mark.parametrize("value", ["-1", "0", "inf", "-inf", "nan", '"5"'])
def test_a_rate_must_be_a_positive_finite_number(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, TARGET + f"rate = {value}\n")
    with pytest.raises(SetupError, match=rf"{path}:3: targets\.threatconnect\.rate: "):
        read_config_file(path)


def test_an_unknown_table_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, '# gate\n\n[target.threatconnect]\nurl = "https://tc.example/api"\n')
    with pytest.raises(SetupError, match=rf"{path}:3: target: unknown key .*did you mean 'targets'"):
        read_config_file(path)


def test_an_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    path = _write(tmp_path, TARGET + "allow_write = true\n")
    with pytest.raises(
        SetupError, match=rf"{path}:3: targets\.threatconnect\.allow_write: .*did you mean 'allow_writes'"
    ):
        read_config_file(path)


def test_a_missing_config_file_is_an_error_not_ignored(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="no such file"):
        read_config_file(tmp_path / "contractgate.toml")


def test_the_typed_keys_others_use_are_accepted(tmp_path: Path) -> None:
    (tmp_path / "corp-ca.pem").write_text("pem", encoding="utf-8")
    path = _write(
        tmp_path,
        "allow_skips = true\n"
        + TARGET
        + 'allow_writes = true\nrate = 2.5\nca_bundle = "corp-ca.pem"\n\n'
        + '[[waivers]]\nrule = "TC-AUTH-001"\ntarget = "threatconnect"\nreason = "ticket 42"\nexpires = 2027-01-31\n',
    )
    config, source = load_config_file(path)
    assert source == path
    assert config.allow_skips is True
    assert config.targets["threatconnect"].ca_bundle == "corp-ca.pem"
    assert config.waivers[0].expires.isoformat() == "2027-01-31"
    targets = read_config_file(path)
    assert targets["threatconnect"] == TargetConfig(
        "threatconnect", "https://tc.example/api", True, 2.5, ca_bundle=tmp_path / "corp-ca.pem"
    )
    assert math.isclose(targets["threatconnect"].rate or 0, 2.5)


def test_a_waiver_without_an_end_date_names_its_table(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        TARGET + '\n[[waivers]]\nrule = "A-1"\ntarget = "t"\nreason = "r"\nexpires = 2027-01-01\n'
        '\n[[waivers]]\nrule = "A-2"\ntarget = "t"\nreason = "r"\n',
    )
    with pytest.raises(SetupError, match=rf"{path}:10: waivers\.1\.expires: Field required"):
        read_config_file(path)


def test_pyproject_keys_are_located_under_tool_contractgate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path, '[project]\nname = "x"\n\n[tool.contractgate.targets.threatconnect]\nurl = 5\n', "pyproject.toml")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SetupError, match=r"pyproject.toml:5: targets\.threatconnect\.url: .*valid string"):
        read_config_file()


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("https://tc.example:99999/api", "invalid port '99999'"),
        ("https://tc.example:abc/api", "invalid port 'abc'"),
        ("https://tc.example:0/api", "invalid port '0'"),
        ("tc.example/api", "not an http(s) URL"),
        ("https://analyst:s3cr3t@tc.example/api", "carries credentials"),
        ("https://analyst@tc.example/api", "carries credentials"),
        ("https://analyst:s3/cr3t@tc.example/api", "tc.example"),
    ],
)
def test_bad_target_urls_are_refused(url: str, fragment: str) -> None:
    with pytest.raises(SetupError, match=re.escape(fragment)) as caught:
        parse_target_options([f"threatconnect={url}"])
    assert "cr3t" not in str(caught.value)


def test_mask_url_hides_userinfo_wherever_it_appears() -> None:
    assert mask_url("see https://u:p%40ss@h.example/x and http://x@y") == "see https://***@h.example/x and http://***@y"
    assert check_url("https://h.example:8443/api/", "t") == "https://h.example:8443/api"


DECLARED = {"threatjammer": ["dublin", "paris"], "threatjammer-report": ["dublin", "paris"], "threatconnect": []}


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("threatjamer:dublin", "did you mean 'threatjammer'"),
        ("threatjammer:mars", "'mars' is not a region of 'threatjammer' (known: dublin, paris"),
        ("threatjammer", "pass threatjammer:REGION=URL"),
        ("threatconnect:us", "has no regions"),
    ],
)
def test_target_names_must_be_declared(key: str, fragment: str) -> None:
    with pytest.raises(SetupError, match=re.escape(fragment)):
        check_target_names({key: TargetConfig(key, "https://x.example", origin=f"--target {key}")}, DECLARED)


def test_declared_target_names_pass() -> None:
    check_target_names(
        parse_target_options(["threatjammer:paris=https://p.example", "threatconnect=https://t"]), DECLARED
    )


def test_key_lines_skips_strings_arrays_and_comments() -> None:
    text = (
        "# [targets.fake]\n"
        'title = """\n'
        "[not.a.table]\n"
        'url = "nope"\n'
        '"""\n'
        "list = [\n"
        '  "[x]",\n'
        "  { rate = 1 },\n"
        "]\n"
        '[targets."threatjammer:dublin"]\n'
        'url = "https://d"  # [comment]\n'
        "\n"
        "[[waivers]]\n"
        "rule = 'A-1'\n"
        "[[waivers]]\n"
        "a.b = 1\n"
    )
    lines = key_lines(text)
    assert lines[("title",)] == 2
    assert ("not", "a", "table") not in lines
    assert ("url",) not in lines
    assert lines[("list",)] == 6
    assert ("rate",) not in lines
    assert lines[("targets", "threatjammer:dublin")] == 10
    assert lines[("targets", "threatjammer:dublin", "url")] == 11
    assert lines[("waivers", 0, "rule")] == 14
    assert lines[("waivers", 1)] == 15
    assert lines[("waivers", 1, "a", "b")] == 16


def test_a_target_given_twice_is_an_error() -> None:
    with pytest.raises(SetupError, match="given twice"):
        parse_target_options(["threatconnect=https://a.example", "threatconnect=https://b.example"])


@pytest.mark.parametrize("value", ["0", "1.5", "-0.5", '"0.5"', "nan"])
def test_a_quota_share_is_above_0_and_at_most_1(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path, f"# gate\nquota_share = {value}\n")
    with pytest.raises(SetupError, match=rf"{path}:2: quota_share: "):
        load_config_file(path)


def test_a_quota_share_reaches_the_verdict_settings(tmp_path: Path) -> None:
    path = _write(tmp_path, "quota_share = 0.5\n" + TARGET)
    assert read_verdict_config(path).quota_share == 0.5
    assert read_verdict_config(_write(tmp_path, TARGET, "other.toml")).quota_share is None
