"""Run configuration: write opt-in and rate per target (command line beats file beats default), the CA bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from contractgate._config import DEFAULT_LIVE_RATE, UNLIMITED, RunConfig, TargetConfig, read_config_file
from contractgate._errors import SetupError


def test_ca_bundle_is_read_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "ca.pem").write_text("pem")
    config = tmp_path / "contractgate.toml"
    config.write_text('[targets.threatconnect]\nurl = "https://tc.example/api"\nca_bundle = "certs/ca.pem"\n')
    targets = read_config_file(config)
    assert targets["threatconnect"].ca_bundle == tmp_path / "certs" / "ca.pem"


def test_no_ca_bundle_means_the_system_store(tmp_path: Path) -> None:
    config = tmp_path / "contractgate.toml"
    config.write_text('[targets.threatconnect]\nurl = "https://tc.example/api"\n')
    assert read_config_file(config)["threatconnect"].ca_bundle is None


@pytest.mark.parametrize(
    ("value", "message"), [('"missing.pem"', "no such file"), ("3", "Input should be a valid string")]
)
def test_a_bad_ca_bundle_is_a_setup_error(tmp_path: Path, value: str, message: str) -> None:
    config = tmp_path / "contractgate.toml"
    config.write_text(f'[targets.threatconnect]\nurl = "https://tc.example/api"\nca_bundle = {value}\n')
    with pytest.raises(SetupError, match=f"targets.threatconnect.ca_bundle: {message}"):
        read_config_file(config)


TARGETS = {
    "threatconnect": TargetConfig("threatconnect", "https://tc.example/api", rate=2.0),
    "threatjammer:dublin": TargetConfig("threatjammer:dublin", "https://dublin.example", allow_writes=True),
    "threatjammer:paris": TargetConfig("threatjammer:paris", "https://paris.example"),
}
VENDORS = {"threatconnect": ["threatconnect"], "threatjammer": ["threatjammer:dublin", "threatjammer:paris"]}


def test_a_live_target_without_a_rate_gets_the_conservative_default() -> None:
    config = RunConfig(targets=TARGETS)
    assert DEFAULT_LIVE_RATE == 5.0
    assert config.rate_for("threatjammer:paris") == DEFAULT_LIVE_RATE
    assert config.rate_for("threatconnect") == 2.0


def test_the_command_line_rate_beats_the_file() -> None:
    config = RunConfig(targets=TARGETS, rate=0.5)
    assert config.rate_for("threatconnect") == 0.5
    assert config.rate_for("threatjammer:paris") == 0.5


def test_unlimited_is_explicit() -> None:
    config = RunConfig(targets={"x": TargetConfig("x", "http://127.0.0.1:1", rate=UNLIMITED)})
    assert config.rate_for("x") == UNLIMITED


def test_file_opt_in_covers_only_that_target() -> None:
    assert RunConfig(targets=TARGETS).writable_targets(VENDORS) == {"threatjammer:dublin"}


def test_allow_writes_names_a_target_key_or_a_vendor_with_one_target() -> None:
    config = RunConfig(targets=TARGETS, allow_writes={"threatjammer:paris", "threatconnect"})
    assert config.writable_targets(VENDORS) == {"threatjammer:dublin", "threatjammer:paris", "threatconnect"}
    only_tc = RunConfig(targets={"threatconnect": TARGETS["threatconnect"]}, allow_writes={"threatconnect"})
    assert only_tc.writable_targets({"threatconnect": ["threatconnect"]}) == {"threatconnect"}


def test_allow_writes_of_a_vendor_with_several_targets_names_the_choices() -> None:
    config = RunConfig(targets=TARGETS, allow_writes={"threatjammer"})
    with pytest.raises(
        SetupError, match=r"threatjammer has 2 configured targets.*threatjammer:dublin, threatjammer:paris"
    ):
        config.writable_targets(VENDORS)


def test_allow_writes_of_an_unknown_name_is_a_setup_error() -> None:
    config = RunConfig(targets=TARGETS, allow_writes={"assemblyline"})
    with pytest.raises(SetupError, match="no such configured target"):
        config.writable_targets(VENDORS)
