"""Contract loading: valid files load; broken ones name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contractgate._errors import ContractError
from contractgate._loader import contract_files, load_contract
from contractgate._schema_export import contract_json_schema

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    text = (FIXTURES / "mini.yaml").read_text()
    assert old in text
    path = tmp_path / "mini.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_every_shipped_contract_loads() -> None:
    files = list(contract_files(ROOT / "contracts"))
    assert files, "no contract files found"
    for path in files:
        contract = load_contract(path)
        assert contract.rules, path


def test_wrong_status_type_names_line_and_field(tmp_path: Path) -> None:
    path = _broken(tmp_path, "expect:\n        status: 200", "expect:\n        status: two-hundred")
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    message = str(caught.value)
    assert f"{path}:" in message
    assert "rules.0.params.expect.status" in message
    line = int(message.split(f"{path}:")[1].split(":")[0])
    assert "status: two-hundred" in path.read_text().splitlines()[line - 1]


def test_unknown_kind_is_named(tmp_path: Path) -> None:
    path = _broken(tmp_path, "kind: hmac-window", "kind: hmac-windw")
    with pytest.raises(ContractError, match=r"rules\.1\.kind: unknown kind 'hmac-windw'"):
        load_contract(path)


def test_unknown_key_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = _broken(tmp_path, "severity: should", "severity: should\n    severty: must")
    with pytest.raises(ContractError, match=r"rules\.3\.severty: Extra inputs are not permitted"):
        load_contract(path)


def test_undeclared_auth_scheme_is_named(tmp_path: Path) -> None:
    path = _broken(tmp_path, "auth: {scheme: hmac, timestamp", "auth: {scheme: hmax, timestamp")
    with pytest.raises(ContractError, match=r"auth scheme 'hmax' is not declared"):
        load_contract(path)


def test_missing_source_document_is_named(tmp_path: Path) -> None:
    path = _broken(tmp_path, "source: {doc: DOC, section: Errors,", "source: {doc: NOPE, section: Errors,")
    with pytest.raises(ContractError, match=r"source.doc 'NOPE' is not in sources"):
        load_contract(path)


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("vendor: x\nrules: [\n  - a: b\n")
    with pytest.raises(ContractError, match=r"x\.yaml:\d+: not valid YAML"):
        load_contract(path)


def test_exported_schema_is_in_sync() -> None:
    shipped = json.loads((ROOT / "contracts" / "schema.json").read_text())
    assert shipped == contract_json_schema(), "run `contractgate schema --write contracts/schema.json`"
