"""A cassette that is broken, hand-edited or another rule's is a SetupError naming file:line, never a KeyError."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contractgate._cassettes import Cassette
from contractgate._errors import SetupError

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "cassettes" / "threatjammer" / "TJ-AUTH-002.json"


def _copy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "threatjammer" / "TJ-AUTH-002.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_every_shipped_cassette_loads_for_its_own_rule() -> None:
    files = sorted((ROOT / "cassettes").rglob("*.json"))
    assert files
    for path in files:
        cassette = Cassette.load(path, path.parent.name, path.stem)
        assert cassette.rule_id == path.stem


def test_another_rules_cassette_is_refused_with_the_line(tmp_path: Path) -> None:
    other = (ROOT / "cassettes" / "threatjammer" / "TJ-AUTH-001.json").read_text()
    path = _copy(tmp_path, other)
    with pytest.raises(SetupError, match=rf"{path}:5: this cassette belongs to rule 'TJ-AUTH-001', not 'TJ-AUTH-002'"):
        Cassette.load(path, "threatjammer", "TJ-AUTH-002")


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text()
    path = _copy(tmp_path, text.replace('"code": 401,', '"code": 401,,'))
    line = text.splitlines().index('     "code": 401,') + 1
    with pytest.raises(SetupError, match=rf"{path}:{line}: not a cassette: not valid JSON"):
        Cassette.load(path)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d["interactions"][0]["response"].update(status="401"), "interactions.0.response.status"),
        (lambda d: d["interactions"][0]["request"].pop("uri"), "interactions.0.request.uri"),
        (lambda d: d["interactions"][0]["contractgate"].pop("path"), "interactions.0.contractgate.path"),
        (lambda d: d["interactions"][0]["request"].update(target="x"), "interactions.0.request.target"),
        (
            lambda d: d["interactions"][0]["response"]["headers"].update(server="uvicorn"),
            "interactions.0.response.headers.server",
        ),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.update(interactions={}), "interactions"),
        (lambda d: d["contractgate"].update(rule=7), "contractgate.rule"),
    ],
)
def test_a_wrong_shape_names_the_field(tmp_path: Path, change: object, where: str) -> None:
    document = json.loads(SHIPPED.read_text())
    change(document)  # type: ignore[operator]
    path = _copy(tmp_path, json.dumps(document, indent=1))
    with pytest.raises(SetupError, match=rf"{path}:\d+: not a cassette: {where}: "):
        Cassette.load(path)


def test_a_cassette_of_the_format_before_vcrpys_layout_asks_for_a_recording(tmp_path: Path) -> None:
    old = {"vendor": "threatjammer", "rule": "TJ-AUTH-002", "interactions": []}
    path = _copy(tmp_path, json.dumps(old))
    with pytest.raises(SetupError, match=rf"{path}:1: not a cassette: .* re-record it with `contractgate run"):
        Cassette.load(path, "threatjammer", "TJ-AUTH-002")
