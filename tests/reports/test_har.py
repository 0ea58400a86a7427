"""contractgate export-har: a run's exchanges (results.json) or a cassette folder as HAR 1.2, checked against it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from contractgate.cli import main

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"

_RECORD = {"type": "object", "required": ["name", "value"], "properties": {"name": {"type": "string"}}}
_RECORDS = {"type": "array", "items": _RECORD}
_COOKIES = {"type": "array", "items": _RECORD}
# The required members of HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), with their types.
HAR_1_2: dict[str, Any] = {
    "type": "object",
    "required": ["log"],
    "properties": {
        "log": {
            "type": "object",
            "required": ["version", "creator", "entries"],
            "properties": {
                "version": {"const": "1.2"},
                "creator": {"type": "object", "required": ["name", "version"]},
                "entries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
                        "properties": {
                            "startedDateTime": {"type": "string", "format": "date-time"},
                            "time": {"type": "number", "minimum": 0},
                            "request": {
                                "type": "object",
                                "required": [
                                    "method",
                                    "url",
                                    "httpVersion",
                                    "cookies",
                                    "headers",
                                    "queryString",
                                    "headersSize",
                                    "bodySize",
                                ],
                                "properties": {
                                    "method": {"type": "string"},
                                    "url": {"type": "string", "pattern": "^https?://"},
                                    "httpVersion": {"type": "string"},
                                    "cookies": _COOKIES,
                                    "headers": _RECORDS,
                                    "queryString": _RECORDS,
                                    "postData": {"type": "object", "required": ["mimeType"]},
                                    "headersSize": {"type": "integer"},
                                    "bodySize": {"type": "integer"},
                                },
                            },
                            "response": {
                                "type": "object",
                                "required": [
                                    "status",
                                    "statusText",
                                    "httpVersion",
                                    "cookies",
                                    "headers",
                                    "content",
                                    "redirectURL",
                                    "headersSize",
                                    "bodySize",
                                ],
                                "properties": {
                                    "status": {"type": "integer"},
                                    "statusText": {"type": "string"},
                                    "cookies": _COOKIES,
                                    "headers": _RECORDS,
                                    "content": {
                                        "type": "object",
                                        "required": ["size", "mimeType"],
                                        "properties": {"size": {"type": "integer"}, "mimeType": {"type": "string"}},
                                    },
                                    "redirectURL": {"type": "string"},
                                    "headersSize": {"type": "integer"},
                                    "bodySize": {"type": "integer"},
                                },
                            },
                            "cache": {"type": "object"},
                            "timings": {
                                "type": "object",
                                "required": ["send", "wait", "receive"],
                                "properties": {k: {"type": "number"} for k in ("send", "wait", "receive")},
                            },
                        },
                    },
                },
            },
        }
    },
}


def _har(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(document, HAR_1_2, format_checker=jsonschema.FormatChecker())
    return document


def test_the_schema_refuses_an_entry_without_its_timings() -> None:
    entry = {"startedDateTime": "2026-12-05T11:00:00+00:00", "time": 0, "request": {}, "response": {}, "cache": {}}
    with pytest.raises(jsonschema.ValidationError, match="timings"):
        jsonschema.validate(
            {"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [entry]}}, HAR_1_2
        )


def test_a_cassette_folder_becomes_one_entry_per_interaction_at_the_recorded_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cassettes" / "threatconnect"
    folder.mkdir(parents=True)
    for rule in ("TC-PAGE-019", "TC-AUTH-001"):
        shutil.copy(CASSETTES / "threatconnect" / f"{rule}.json", folder)
    assert main(["export-har", str(tmp_path / "cassettes"), str(tmp_path / "out" / "pages.har")]) == 0
    printed = capsys.readouterr().out

    entries = _har(tmp_path / "out" / "pages.har")["log"]["entries"]
    recorded = [
        (json.loads((folder / f"{rule}.json").read_text())["interactions"], rule)
        for rule in ("TC-AUTH-001", "TC-PAGE-019")
    ]
    expected = [(item, rule) for items, rule in recorded for item in items]
    assert printed == f"wrote {len(expected)} exchanges to {tmp_path / 'out' / 'pages.har'}\n"
    assert [entry["comment"] for entry in entries] == [rule for _, rule in expected]
    for entry, (item, _) in zip(entries, expected, strict=True):
        assert entry["request"]["url"] == item["request"]["uri"]
        assert entry["response"]["status"] == item["response"]["status"]["code"]
        assert entry["response"]["content"]["text"] == item["response"]["body"]["string"]
    first_page = next(entry for entry in entries if entry["request"]["url"].endswith("resultStart=0&resultLimit=3"))
    assert {"name": "resultLimit", "value": "3"} in first_page["request"]["queryString"]
    assert json.loads(first_page["response"]["content"]["text"])["next"].startswith("https://127.0.0.1:")
    assert {"name": "authorization", "value": "TC-Token REDACTED"} in first_page["request"]["headers"]


def test_a_report_folder_gives_the_runs_exchanges_in_order_with_their_timings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--vendor", "threatjammer", "--mode", "replay", "--rule", "TJ-AUTH-00[12]", "--no-matrix"]
    main(["--contracts", str(ROOT / "contracts"), *argv, "--cassettes", str(CASSETTES), "--reports", str(tmp_path)])
    run = tmp_path / "latest"
    results = json.loads((run / "results.json").read_text())
    sent = [(rule["id"], request) for rule in results["rules"] for request in rule["requests"]]
    assert len(sent) >= 2
    capsys.readouterr()

    assert main(["export-har", str(run), str(tmp_path / "run.har")]) == 0
    document = _har(tmp_path / "run.har")
    assert document["log"]["creator"]["name"] == "contractgate"
    entries = document["log"]["entries"]
    assert [(entry["comment"], entry["request"]["method"], entry["request"]["url"]) for entry in entries] == [
        (rule, request["method"], request["url"]) for rule, request in sent
    ]
    assert [entry["response"]["status"] for entry in entries] == [request["status"] for _, request in sent]
    assert [entry["time"] for entry in entries] == [request["elapsed_ms"] for _, request in sent]
    assert entries[0]["startedDateTime"].startswith(results["run"]["started"][:16])
    assert entries[0]["startedDateTime"] <= entries[-1]["startedDateTime"]
    authorization = [h["value"] for e in entries for h in e["request"]["headers"] if h["name"] == "authorization"]
    assert authorization
    assert all("REDACTED" in value for value in authorization)


@pytest.mark.parametrize(
    ("source", "output", "message"),
    [
        ("missing", "out.har", "missing: no such folder"),
        ("empty", "out.har", "empty: holds no cassettes"),
        ("broken-results", "out.har", "results.json: not a contractgate results.json"),
        ("quiet-run", "out.har", "results.json: the run sent no request"),
        ("empty", "a-folder", "a-folder is a folder"),
    ],
)
def test_input_mistakes_exit_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, output: str, message: str
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "broken-results").mkdir()
    (tmp_path / "broken-results" / "results.json").write_text('{"rules": [{"requests": [{"url": 1}]}]}')
    (tmp_path / "quiet-run").mkdir()
    (tmp_path / "quiet-run" / "results.json").write_text('{"run": {}, "rules": [{"id": "X-1", "requests": []}]}')
    assert main(["export-har", str(tmp_path / source), str(tmp_path / output)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert message in err
    assert not (tmp_path / "out.har").exists()
