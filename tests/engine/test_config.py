"""Run configuration: the per-target CA bundle read from contractgate.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from contractgate._config import read_config_file
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


@pytest.mark.parametrize(("value", "message"), [('"missing.pem"', "no such file"), ("3", "expected the path")])
def test_a_bad_ca_bundle_is_a_setup_error(tmp_path: Path, value: str, message: str) -> None:
    config = tmp_path / "contractgate.toml"
    config.write_text(f'[targets.threatconnect]\nurl = "https://tc.example/api"\nca_bundle = {value}\n')
    with pytest.raises(SetupError, match=f"targets.threatconnect.ca_bundle: {message}"):
        read_config_file(config)
