"""Contract loading: valid files load; broken ones name file, line and field."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from contractgate._errors import ContractError
from contractgate._loader import contract_files, discover, load_contract
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


# --- mistakes that used to pass silently, crash with a traceback, or point at the wrong line ---------


def _error(path: Path) -> str:
    with pytest.raises(ContractError) as caught:
        load_contract(path)
    return str(caught.value)


def _line_named(message: str, path: Path) -> str:
    """The source line the (first) error names."""
    line = int(message.split(f"{path}:")[1].split(":")[0])
    return path.read_text().splitlines()[line - 1]


def test_status_true_is_not_read_as_status_1(tmp_path: Path) -> None:
    path = _broken(tmp_path, "expect:\n        status: 200", "expect:\n        status: true")
    message = _error(path)
    assert "rules.0.params.expect.status" in message
    assert "status: true" in _line_named(message, path)


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    path = _broken(tmp_path, "severity: should", "severity: should\n    severity: must")
    message = _error(path)
    assert "duplicate key 'severity'" in message
    assert "severity: must" in _line_named(message, path)
    first = int(re.search(r"first at line (\d+)", message).group(1))  # type: ignore[union-attr]
    assert "severity: should" in path.read_text().splitlines()[first - 1]


def test_a_duplicate_rule_id_names_the_line_of_the_second(tmp_path: Path) -> None:
    text = (FIXTURES / "mini.yaml").read_text()
    ids = re.findall(r"- id: (\S+)", text)
    path = _broken(tmp_path, f"- id: {ids[2]}", f"- id: {ids[0]}")
    message = _error(path)
    assert f"rule id {ids[0]} appears twice" in message
    assert f"- id: {ids[0]}" in _line_named(message, path)
    named = int(message.split(f"{path}:")[1].split(":")[0])
    first = text[: text.index(f"- id: {ids[0]}")].count("\n") + 1
    assert named > first


def test_an_unknown_source_doc_names_the_line_of_source_doc_and_suggests(tmp_path: Path) -> None:
    path = _broken(tmp_path, "source: {doc: DOC, section: Errors,", "source: {doc: DCO, section: Errors,")
    message = _error(path)
    assert "did you mean 'DOC'" in message
    assert "doc: DCO" in _line_named(message, path)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("json: [{path: items, type: array, length: 2}]", "json: [{path: items, matches: '[a-'}]"),
        ("headers: {Accept: application/json}\n", "headers: {Accept: application/json}\n"),
    ],
)
def test_a_bad_regex_is_a_load_error_with_its_line(tmp_path: Path, old: str, new: str) -> None:
    if old == new:  # a header assertion: add one to the first expectation
        old, new = "        status: 200\n", "        status: 200\n        headers: {Content-Type: {matches: '(json'}}\n"
    path = _broken(tmp_path, old, new)
    message = _error(path)
    assert "not a valid regular expression" in message
    assert "matches:" in _line_named(message, path)


def test_a_bad_regex_in_a_kind_parameter_is_a_load_error(tmp_path: Path) -> None:
    contract = ROOT / "contracts" / "threatjammer.yaml"
    text = contract.read_text()
    assert "      pattern: '^/v1/'\n" in text
    path = tmp_path / "threatjammer.yaml"
    path.write_text(text.replace("      pattern: '^/v1/'\n", "      pattern: '^/v1/(?<'\n", 1))
    message = _error(path)
    assert "params.pattern: not a valid regular expression" in message
    assert "pattern: '^/v1/(?<'" in _line_named(message, path)


BOMB = "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}' if i else 'x'] * 9)}]\n" for i in range(10))


def test_an_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    assert len(BOMB) < 1500
    started = time.perf_counter()
    message = _error(path)
    assert time.perf_counter() - started < 2
    assert "aliases expand past" in message


def test_merge_keys_and_modest_aliases_still_load(tmp_path: Path) -> None:
    text = (FIXTURES / "mini.yaml").read_text()
    path = _broken(
        tmp_path,
        "    source: {doc: DOC, section: Errors, anchor: errors}",
        "    <<: {source: {doc: DOC, section: Errors, anchor: errors}}",
    )
    contract = load_contract(path)
    assert len(contract.rules) == text.count("- id: ")


def test_deep_nesting_is_a_load_error_not_a_recursion_error(tmp_path: Path) -> None:
    path = _broken(tmp_path, "json: [{path: items, type: array, length: 2}]", "json: " + "[" * 400 + "]" * 400)
    message = _error(path)
    assert "nested" in message
    assert re.search(r"mini\.yaml:\d+:", message)


def test_a_non_utf8_contract_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    text = (FIXTURES / "mini.yaml").read_text().replace("title:", "title: caf\xe9", 1)
    path.write_bytes(text.encode("latin-1"))
    message = _error(path)
    assert "not UTF-8" in message
    named = int(message.split(f"{path}:")[1].split(":")[0])
    assert "title:" in text.splitlines()[named - 1]


BUNDLED = ["assemblyline", "threatconnect", "threatjammer"]


def test_without_user_files_every_bundled_pack_is_selected() -> None:
    found = discover()
    assert found.default_vendors() == BUNDLED
    assert found.select([]) == [ROOT / "contracts" / f"{vendor}.yaml" for vendor in BUNDLED]
    assert not found.notes


def test_user_files_extend_the_packs_and_are_the_default_selection(tmp_path: Path) -> None:
    (tmp_path / "mini.yml").write_text((FIXTURES / "mini.yaml").read_text())
    found = discover([tmp_path])
    assert sorted(found.files) == sorted([*BUNDLED, "mini"])
    assert found.default_vendors() == ["mini"]
    assert [c.vendor for c in found.load(["threatjammer", "mini"])] == ["threatjammer", "mini"]


def test_the_declared_vendor_not_the_file_name_decides_what_a_user_file_replaces(tmp_path: Path) -> None:
    mine = tmp_path / "our-tj.yaml"
    mine.write_text((ROOT / "contracts" / "threatjammer.yaml").read_text())
    found = discover([mine])
    assert found.files["threatjammer"] == mine
    assert found.notes == (f"{mine} replaces the bundled threatjammer contract",)
    assert discover([ROOT / "contracts"]).notes == ()  # the bundled files themselves replace nothing


def test_two_user_files_for_one_vendor_are_an_error_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text((FIXTURES / "mini.yaml").read_text())
    (tmp_path / "b.yml").write_text((FIXTURES / "mini.yaml").read_text())
    second = r"b\.yml:1: a second contract for vendor 'mini' \(the first is .*a\.yaml\)"
    with pytest.raises(ContractError, match=second):
        discover([tmp_path])


def test_a_folder_without_contracts_and_an_unknown_vendor_are_named(tmp_path: Path) -> None:
    with pytest.raises(ContractError, match=r"no contract files \(\*\.yaml, \*\.yml\) in this folder"):
        discover([tmp_path])
    with pytest.raises(ContractError, match=r"no contract for threatjamer .*did you mean 'threatjammer'"):
        discover().select(["threatjamer"])
