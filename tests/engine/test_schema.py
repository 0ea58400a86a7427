"""The overlay mechanism: an RFC 7386 JSON merge patch applied to a published OpenAPI document on load."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from contractgate.checks._schema import _shared_description, described, merge_patch, openapi_response_schema

# RFC 7386 appendix A (a selection): target, patch, result.
RFC_EXAMPLES: list[tuple[Any, Any, Any]] = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_EXAMPLES)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_the_target_untouched() -> None:
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_a_description_is_read_with_its_overlay_and_each_reader_gets_its_own_copy(tmp_path: Path) -> None:
    published = tmp_path / "vendor.json"
    published.write_text(json.dumps({"openapi": "3.0.2", "paths": {"/a": {"get": {"x": 1}}}, "keep": True}))
    overlay = tmp_path / "ours.overlay.json"
    overlay.write_text(json.dumps({"paths": {"/a": {"get": {"y": 2}}}, "keep": None}))
    first = described(published, overlay)
    assert first == {"openapi": "3.0.2", "paths": {"/a": {"get": {"x": 1, "y": 2}}}}
    first["paths"]["/a"]["get"]["x"] = 99
    assert described(published, overlay)["paths"]["/a"]["get"]["x"] == 1
    assert described(published)["keep"] is True


def test_a_referenced_response_is_followed_to_its_schema() -> None:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/E"}}}
    document = {
        "paths": {"/a/{id}": {"get": {"responses": {"404": {"$ref": "#/components/responses/NotFound"}}}}},
        "components": {
            "responses": {"NotFound": {"content": error}},
            "schemas": {"E": {"type": "object", "required": ["title"]}},
        },
    }
    schema = openapi_response_schema(document, "GET", "/a/1", 404)
    assert schema["$ref"] == "#/components/schemas/E"
    assert schema["components"]["schemas"]["E"]["required"] == ["title"]


def test_a_rule_reads_the_description_parsed_once_and_a_copy_stays_its_own(tmp_path: Path) -> None:
    # The schema kind looks a response's schema up in the description for every request: parsing the whole
    # document each time was most of a Threat Jammer kill-matrix run. `described` still hands out a fresh copy.
    path = tmp_path / "api.json"
    path.write_text(json.dumps({"openapi": "3.1.0", "paths": {"/a": {}}}), encoding="utf-8")
    first, second = _shared_description(path, None), _shared_description(path, None)
    assert first is second
    assert first == {"openapi": "3.1.0", "paths": {"/a": {}}}
    copy = described(path)
    copy["paths"]["/b"] = {}
    assert "/b" not in described(path)["paths"]
    assert "/b" not in first["paths"]
