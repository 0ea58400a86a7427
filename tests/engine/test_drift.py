"""contractgate drift: findings from two folders of recorded exchanges, classified, linked, stable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contractgate._cassettes import Cassette, Interaction
from contractgate._contract import Contract
from contractgate._drift import DEFAULT_SEVERITY, collapse, drift, read_severity_levels
from contractgate._errors import SetupError
from contractgate.cli import main
from contractgate.reports._drift import render_drift_html, render_drift_json, render_drift_markdown

FIXTURES = Path(__file__).parent.parent / "fixtures"
Exchange = tuple[str, str, int, Any, dict[str, str]]  # method, path, status, body, headers


def _write(folder: Path, rule: str, exchanges: list[Exchange], vendor: str = "mini") -> Path:
    cassette = Cassette(vendor, rule, bases={"mini": "http://mini.test"})
    for method, path, status, body, headers in exchanges:
        text = body if isinstance(body, str) else json.dumps(body)
        cassette.interactions.append(
            Interaction(
                target="mini",
                method=method,
                path=path,
                request_headers={},
                request_body="",
                status=status,
                response_headers=list({"content-type": "application/json", **headers}.items()),
                response_body=text,
            )
        )
    cassette.save(folder / vendor / f"{rule}.json")
    return folder


def _ids(before: list[Exchange], after: list[Exchange], tmp_path: Path, **kwargs: Any) -> list[tuple[str, str, str]]:
    result = drift(
        _write(tmp_path / "a", "MINI-PAGE-001", before), _write(tmp_path / "b", "MINI-PAGE-001", after), **kwargs
    )
    return [(f.id, f.severity, f.where) for f in result.findings]


ITEM = {"id": 1, "name": "a", "added": "2024-01-01T00:00:00Z", "kind": "x"}


def test_the_same_recording_has_no_finding(tmp_path: Path) -> None:
    exchanges: list[Exchange] = [("GET", "/items/1", 200, ITEM, {})]
    assert _ids(exchanges, exchanges, tmp_path) == []


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ({**ITEM, "extra": True}, [("response-field-added", "info", "extra")]),
        ({k: v for k, v in ITEM.items() if k != "name"}, [("response-field-removed", "breaking", "name")]),
        ({**ITEM, "id": "1"}, [("response-type-changed", "breaking", "id")]),
        ({**ITEM, "added": "1704067200"}, [("response-format-changed", "warning", "added")]),
    ],
)
def test_a_shape_change_is_one_classified_finding(tmp_path: Path, after: dict[str, Any], expected: Any) -> None:
    assert _ids([("GET", "/items/1", 200, ITEM, {})], [("GET", "/items/1", 200, after, {})], tmp_path) == expected


def test_nullability_optionality_and_array_items_are_compared(tmp_path: Path) -> None:
    before: list[Exchange] = [("GET", "/items", 200, {"items": [ITEM, ITEM]}, {})] * 2
    after: list[Exchange] = [
        ("GET", "/items", 200, {"items": [ITEM, {**ITEM, "name": None}]}, {}),
        ("GET", "/items", 200, {"items": [ITEM, {k: v for k, v in ITEM.items() if k != "kind"}]}, {}),
    ]
    assert _ids(before, after, tmp_path) == [
        ("response-became-nullable", "warning", "items.*.name"),
        ("response-field-became-optional", "warning", "items.*.kind"),
    ]


def test_statuses_headers_and_content_type(tmp_path: Path) -> None:
    before: list[Exchange] = [
        ("GET", "/items/1", 200, ITEM, {"x-quota": "9", "x-old": "gone"}),
        ("GET", "/items/2", 404, {"detail": "no"}, {}),
        ("GET", "/items/3", 200, "<item/>", {"content-type": "application/xml"}),
    ]
    after: list[Exchange] = [
        ("GET", "/items/1", 200, ITEM, {"x-ratelimit": "8", "x-new": "a b"}),
        ("GET", "/items/2", 410, {"detail": "no"}, {}),
        ("GET", "/items/3", 200, ITEM, {}),
    ]
    assert sorted(_ids(before, after, tmp_path)) == sorted(
        [
            ("status-added", "warning", "410"),
            ("status-removed", "warning", "404"),
            ("header-renamed", "warning", "x-quota"),
            ("header-removed", "warning", "x-old"),
            ("header-added", "info", "x-new"),
            ("xml-no-longer-served", "breaking", "content-type"),
        ]
    )


def test_enumerations_pages_and_next_links(tmp_path: Path) -> None:
    def page(kind: str, count: int, nxt: str) -> Exchange:
        return ("GET", "/items?limit=5", 200, {"items": [{**ITEM, "kind": kind}] * count, "next": nxt}, {})

    before = [page("x", 5, "{base_url:mini}/items?page=2"), page("y", 5, "{base_url:mini}/items?page=2")] * 2
    after = [page("x", 3, "opaque-cursor"), page("z", 3, "opaque-cursor")] * 2
    assert sorted(_ids(before, after, tmp_path)) == sorted(
        [
            ("response-enum-value-added", "warning", "items.*.kind"),
            ("response-enum-value-removed", "info", "items.*.kind"),
            ("pagination-page-size-changed", "warning", "limit=5"),
            ("pagination-next-form-changed", "breaking", "next"),
            ("response-format-changed", "warning", "next"),  # a link (uri) became a token
        ]
    )


def test_declared_volatile_values_never_make_noise(mini_contract: Contract, tmp_path: Path) -> None:
    contract = mini_contract.model_copy(
        update={"volatile": mini_contract.volatile.model_copy(update={"json_paths": ["kind"], "headers": ["Date"]})}
    )
    before: list[Exchange] = [
        ("GET", "/items/1", 200, {**ITEM, "id": n, "kind": k}, {"date": "Mon"}) for n, k in enumerate("xxyy")
    ]
    after: list[Exchange] = [
        ("GET", "/items/1", 200, {**ITEM, "id": n, "kind": k}, {"date": "Tue"}) for n, k in enumerate("zzww")
    ]
    assert _ids(before, after, tmp_path, contracts=[contract]) == []
    assert _ids(before, after, tmp_path / "undeclared") != []


def test_only_answers_to_the_same_requests_are_compared(tmp_path: Path) -> None:
    """A rule that stopped early on one side (its verdict changed) leaves no status-removed or shape noise."""
    before: list[Exchange] = [("GET", "/items/1", 200, ITEM, {}), ("GET", "/other", 500, {"e": 1}, {})]
    after: list[Exchange] = [("GET", "/items/1", 200, ITEM, {})]
    result = drift(_write(tmp_path / "a", "R-1", before), _write(tmp_path / "b", "R-1", after))
    assert result.findings == []
    assert result.to_dict()["baseline"]["not_compared"] == 1


def test_a_finding_names_the_rules_that_read_the_same_field(mini_contract: Contract, tmp_path: Path) -> None:
    # MINI-PAGE-001's parameters name `items` and `total`; removing `total` is linked to it with its source link.
    before: list[Exchange] = [("GET", "/items", 200, {"items": [ITEM], "total": 1}, {})]
    after: list[Exchange] = [("GET", "/items", 200, {"items": [ITEM]}, {})]
    result = drift(
        _write(tmp_path / "a", "MINI-PAGE-001", before),
        _write(tmp_path / "b", "MINI-PAGE-001", after),
        contracts=[mini_contract],
    )
    [finding] = result.findings
    assert finding.id == "response-field-removed"
    assert [link.id for link in finding.rules] == ["MINI-PAGE-001"]
    assert finding.rules[0].source == mini_contract.citation(mini_contract.rule("MINI-PAGE-001"))


def test_route_templates_collapse_values_and_keep_names() -> None:
    assert collapse("/v2/indicators/hosts/login.example.net") == "/v2/indicators/hosts/{host}"
    assert collapse("/v1/asn/15169/prefixes") == "/v1/asn/{n}/prefixes"
    assert collapse("/api/v4/submission/6dhUoKqaNAIoiEDvaRROjW/") == "/api/v4/submission/{id}/"
    assert collapse("/v1/geo/8.8.8.8") == "/v1/geo/{ip}"
    assert collapse("/v2/indicators/emailAddresses/a%40b.example") == "/v2/indicators/emailAddresses/{email}"
    assert collapse("/openapi.json") == "/openapi.json"


def test_severity_levels_override_and_a_bad_line_is_named(tmp_path: Path) -> None:
    levels = tmp_path / "levels.txt"
    levels.write_text("# ours\nresponse-field-added warning\n\nstatus-added  breaking  # we never see new codes\n")
    assert read_severity_levels(levels) == {"response-field-added": "warning", "status-added": "breaking"}
    levels.write_text("response-field-added warning\nresponse-field-addd info\n")
    with pytest.raises(SetupError, match=r"levels.txt:2: unknown finding id 'response-field-addd'.*did you mean"):
        read_severity_levels(levels)
    levels.write_text("status-added fatal\n")
    with pytest.raises(SetupError, match=r"levels.txt:1: severity 'fatal'"):
        read_severity_levels(levels)
    assert set(DEFAULT_SEVERITY.values()) <= {"breaking", "warning", "info"}


def test_every_finding_id_has_its_documented_default() -> None:
    table = (Path(__file__).resolve().parents[2] / "docs" / "drift.md").read_text(encoding="utf-8")
    for finding_id, severity in DEFAULT_SEVERITY.items():
        assert f"| `{finding_id}` | {severity} |" in table, finding_id


def _sides(tmp_path: Path) -> tuple[Path, Path]:
    before: list[Exchange] = [("GET", "/items/1", 200, ITEM, {"x-old": "1"}), ("GET", "/items/2", 404, {}, {})]
    after: list[Exchange] = [
        ("GET", "/items/1", 200, {**ITEM, "id": "1", "new": 1}, {}),
        ("GET", "/items/2", 418, {}, {}),
    ]
    return _write(tmp_path / "a", "R-1", before), _write(tmp_path / "b", "R-1", after)


def test_two_runs_over_the_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    a, b = _sides(tmp_path)
    first, second = drift(a, b).to_dict(), drift(a, b).to_dict()
    for render in (render_drift_json, render_drift_markdown, render_drift_html):
        assert render(first) == render(second)
    assert [f["id"] for f in first["findings"]] == [
        "response-type-changed",
        "header-removed",
        "status-removed",
        "status-added",
        "response-field-added",
    ]


def test_the_command_line_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _sides(tmp_path)
    assert main(["drift", str(a), str(b), "--format", "json"]) == 1  # a breaking change
    document = json.loads(capsys.readouterr().out)
    assert document["summary"] == {"breaking": 1, "warning": 3, "info": 1}
    levels = tmp_path / "levels.txt"
    levels.write_text("response-type-changed warning\n")
    assert main(["drift", str(a), str(b), "--severity-levels", str(levels), "--format", "markdown"]) == 0
    assert main(["drift", str(a), str(b), "--severity-levels", str(levels), "--fail-on", "warning"]) == 1
    assert main(["drift", str(a), str(a)]) == 0
    capsys.readouterr()
    assert main(["drift", str(a), str(tmp_path / "missing")]) == 2
    assert main(["drift", str(a), str(_write(tmp_path / "c", "R-2", [("GET", "/x", 200, {}, {})]))]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert "missing: no such folder" in errors[0]
    assert "no request in common" in errors[1]


def test_output_writes_the_three_files(tmp_path: Path) -> None:
    a, b = _sides(tmp_path)
    assert main(["drift", str(a), str(b), "--output", str(tmp_path / "out"), "--format", "json"]) == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["drift.html", "drift.json", "drift.md"]
    assert "<section id='drift'>" in (tmp_path / "out" / "drift.html").read_text()
