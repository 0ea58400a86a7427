"""Every OpenAPI file the project ships is valid for its declared version and uses only formats tools know."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from jsonschema.exceptions import ValidationError
from openapi_spec_validator import OpenAPIV2SpecValidator, OpenAPIV30SpecValidator, OpenAPIV31SpecValidator
from openapi_spec_validator.schemas import schema_v2, schema_v30, schema_v31
from schemathesis.specs.openapi.formats import STRING_FORMATS, get_default_format_strategies

from contractgate.checks._schema import described

ROOT = Path(__file__).resolve().parents[1]
OVERLAYS = sorted((ROOT / "contracts" / "openapi").glob("*.overlay.json"))
FILES = [
    *sorted(p for p in (ROOT / "contracts" / "openapi").glob("*.json") if p not in OVERLAYS),
    *sorted((ROOT / "tests" / "fixtures").glob("*openapi*")),
]
VENDOR_SHA256 = "143f23d7fe2b5dbd2dc6f0f11e291fcc01d7c081c04d2185e7beab894086832f"
VALIDATORS = {"2.0": OpenAPIV2SpecValidator, "3.0": OpenAPIV30SpecValidator, "3.1": OpenAPIV31SpecValidator}
META_SCHEMAS = {"2.0": schema_v2, "3.0": schema_v30, "3.1": schema_v31}
# The formats OpenAPI defines (3.0 data types) and JSON Schema defines (format vocabulary, 2020-12).
OPENAPI_FORMATS = {"int32", "int64", "float", "double", "byte", "binary", "date", "date-time", "password"}
JSON_SCHEMA_FORMATS = {
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
}
# Keys whose values are data or maps of names, not schemas: a "format" found there is no schema keyword.
NOT_SCHEMAS = {"example", "examples", "default", "enum", "const"}


def _schemathesis_formats() -> set[str]:
    return {name for name in {*get_default_format_strategies(), *STRING_FORMATS} if not name.startswith("_")}


KNOWN_FORMATS = OPENAPI_FORMATS | JSON_SCHEMA_FORMATS | _schemathesis_formats()


def _overlaid(overlay: Path) -> Path:
    """The published document an overlay patches: `vendor/<name>-*.openapi.json` for `<name>.overlay.json`."""
    name = overlay.name.removesuffix(".overlay.json")
    (vendor,) = (ROOT / "contracts" / "openapi" / "vendor").glob(f"{name}-*.openapi.json")
    return vendor


def _load(path: Path) -> dict[str, Any]:
    if path in OVERLAYS:
        return described(_overlaid(path), path)
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _declared_version(document: dict[str, Any]) -> str:
    version = str(document.get("openapi") or document.get("swagger") or "")
    return ".".join(version.split(".")[:2])


def _deepest(error: ValidationError) -> ValidationError:
    while error.context:
        error = max(error.context, key=lambda nested: len(nested.absolute_path))
    return error


def _explain(document: dict[str, Any], version: str) -> list[str]:
    """Where and why the version's meta-schema rejects the document (the spec validator's own text is terse)."""
    meta = META_SCHEMAS[version]
    validator = jsonschema.validators.validator_for(meta)(meta)
    explained = []
    for error in validator.iter_errors(document):
        deepest = _deepest(error)
        pointer = "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in deepest.absolute_path)
        explained.append(f"#/{pointer}: {deepest.message[:300]}")
    return explained


def _formats(node: Any, where: str = "#") -> Iterator[tuple[str, str]]:
    """(JSON pointer, format) of every `format` keyword in the document's schemas."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _formats(item, f"{where}/{index}")
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("format"), str):
        yield where, node["format"]
    for key, value in node.items():
        if key in NOT_SCHEMAS or key.startswith("x-"):
            continue
        if key == "properties" and isinstance(value, dict):
            for name, schema in value.items():
                yield from _formats(schema, f"{where}/properties/{name}")
            continue
        yield from _formats(value, f"{where}/{key}")


def test_the_shipped_descriptions_are_all_found() -> None:
    names = {path.name for path in FILES}
    assert {"assemblyline.json", "threatconnect.json", "fuzz_openapi.json"} <= names
    assert [path.name for path in OVERLAYS] == ["threatjammer.overlay.json"]
    assert [path.name for path in PUBLISHED] == ["threatjammer-user-api-1.2.27.openapi.json"]


def test_the_overlay_is_what_makes_the_vendor_formats_known() -> None:
    """The published document uses pydantic's own formats; the overlay replaces every one of them."""
    published = _load(_overlaid(OVERLAYS[0]))
    assert {name for _, name in _formats(published)} - KNOWN_FORMATS == {
        "ipvanyaddress",
        "ipvanynetwork",
        "ipv4network",
        "ipv6network",
    }
    assert not {name for _, name in _formats(_load(OVERLAYS[0]))} - KNOWN_FORMATS


def test_the_vendor_document_is_shipped_as_published() -> None:
    """The vendor's file is never edited: our additions live in the overlay (its hash pins the 1.2.27 capture)."""
    published = ROOT / "contracts" / "openapi" / "vendor" / "threatjammer-user-api-1.2.27.openapi.json"
    document = json.loads(published.read_text(encoding="utf-8"))
    assert document["info"]["version"] == "1.2.27"
    assert document["info"]["x-origin"][0]["url"] == "https://dublin.api.threatjammer.com/openapi.json"
    assert hashlib.sha256(published.read_bytes()).hexdigest() == VENDOR_SHA256


# What the engine reads: plain descriptions, and each vendor document with the project's overlay applied.
READ = [*FILES, *OVERLAYS]
# The vendors' documents as published: valid for their version, but their formats are theirs (pydantic's).
PUBLISHED = sorted((ROOT / "contracts" / "openapi" / "vendor").glob("*.json"))


@pytest.mark.parametrize("path", [*READ, *PUBLISHED], ids=lambda path: path.name)
def test_each_description_is_valid_for_its_declared_version(path: Path) -> None:
    document = _load(path)
    version = _declared_version(document)
    assert version in VALIDATORS, f"{path.name}: unknown OpenAPI version {version!r}"
    errors = list(VALIDATORS[version](document).iter_errors())
    problems = [f"{'/'.join(str(part) for part in error.absolute_path)}: {error.message[:200]}" for error in errors]
    if problems:
        problems += ["in detail:", *_explain(document, version)]
    assert not problems, f"{path.name} is not valid OpenAPI {version}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", READ, ids=lambda path: path.name)
def test_each_description_uses_only_formats_tools_know(path: Path) -> None:
    unknown = [f"{where}: {name}" for where, name in _formats(_load(path)) if name not in KNOWN_FORMATS]
    assert not unknown, f"{path.name} uses formats OpenAPI, JSON Schema and schemathesis do not define:\n" + "\n".join(
        unknown
    )


def test_the_format_walk_sees_nested_schemas_and_skips_data() -> None:
    document = {
        "paths": {"/a": {"get": {"parameters": [{"schema": {"anyOf": [{"type": "string", "format": "ipvany"}]}}]}}},
        "components": {
            "schemas": {
                "S": {"properties": {"format": {"type": "string", "format": "uuid"}}, "example": {"format": "x"}}
            }
        },
    }
    assert list(_formats(document)) == [
        ("#/paths//a/get/parameters/0/schema/anyOf/0", "ipvany"),
        ("#/components/schemas/S/properties/format", "uuid"),
    ]
