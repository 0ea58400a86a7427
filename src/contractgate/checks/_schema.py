"""Kind `schema`: response bodies validate against a JSON Schema or an OpenAPI operation."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from .._contract import Expect, RequestSpec
from .._errors import NothingToCheck, SetupError
from .._expect import check_schema, json_body
from .._packs import bundled_file
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = [
    "SchemaParams",
    "described",
    "description_files",
    "load_description",
    "load_document",
    "merge_patch",
    "openapi_file",
    "openapi_response_schema",
]


class SchemaParams(Params):
    """The requests, and the schema their responses must satisfy (inline, or from an OpenAPI file)."""

    requests: list[RequestSpec]
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    openapi: str | None = None
    overlay: str | None = None  # a JSON merge patch (RFC 7386) applied to `openapi` on load
    expect: Expect = Expect(status=200)

    @model_validator(mode="after")
    def _one_schema(self) -> SchemaParams:
        if (self.json_schema is None) == (self.openapi is None):
            raise ValueError("give either `schema` or `openapi`")
        return self


@functools.cache
def load_document(path: Path) -> dict[str, Any]:
    """An OpenAPI (or JSON Schema) file, parsed once per process."""
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: the vendor's document stays as published, our additions live beside it."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


@functools.cache
def _described_text(path: Path, overlay: Path | None) -> str:
    document = load_document(path)
    if overlay is not None:
        document = merge_patch(document, load_document(overlay))
    return json.dumps(document)


def described(path: Path, overlay: Path | None = None) -> dict[str, Any]:
    """An OpenAPI file with its overlay applied (a fresh copy: callers may not share nested objects)."""
    document: dict[str, Any] = json.loads(_described_text(path, overlay))
    return document


def description_files(ctx: CheckContext | CostContext, openapi: str, overlay: str | None) -> tuple[Path, Path | None]:
    """The rule's OpenAPI file and overlay, resolved next to the contract."""
    return openapi_file(ctx, openapi), (openapi_file(ctx, overlay) if overlay is not None else None)


@functools.cache
def _shared_description(path: Path, overlay: Path | None) -> dict[str, Any]:
    return described(path, overlay)


def load_description(ctx: CheckContext | CostContext, openapi: str, overlay: str | None) -> dict[str, Any]:
    """An OpenAPI description as the rule reads it: the published file, with the contract's overlay applied.

    Parsed once per process and shared: callers only read it (`described` gives a copy to change).
    """
    return _shared_description(*description_files(ctx, openapi, overlay))


def _referenced(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """A response object, following a local `$ref` (`#/components/responses/...`)."""
    while isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = document
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


def openapi_response_schema(document: dict[str, Any], method: str, path: str, status: int) -> dict[str, Any]:
    """The JSON schema an OpenAPI document gives for a response, with its components attached."""
    route = path.split("?", 1)[0]
    candidates = [t for t in document.get("paths", {}) if _template_regex(t).match(route)]
    # The most literal template wins (`/v1/asn/registry/all` over `/v1/asn/registry/{code}`).
    candidates.sort(key=lambda t: (t.count("{"), -len(t)))
    for template in candidates:
        operation = document["paths"][template].get(method.lower())
        if operation is None:
            continue
        responses = operation.get("responses", {})
        response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
        if response is None:
            raise SetupError(f"OpenAPI: {method} {template} documents no {status} response")
        response = _referenced(document, response)
        content = response.get("content", {})
        media: dict[str, Any] = content.get("application/json") or next(iter(content.values()), {})
        schema = media.get("schema", {})
        return {**schema, "components": document.get("components", {})}
    raise SetupError(f"OpenAPI: no operation for {method} {route}")


def openapi_file(ctx: CheckContext | CostContext, name: str) -> Path:
    """An OpenAPI file a rule names, next to its contract (or one folder up)."""
    base = ctx.contract.file.parent if ctx.contract.file else Path.cwd()
    for folder in (base, base.parent):
        if (folder / name).is_file():
            return (folder / name).resolve()
    shipped = bundled_file(name)  # a user's contract may keep naming a description the packs ship
    if shipped is not None:
        return shipped.resolve()
    raise SetupError(f"OpenAPI file {name} not found next to {base}")


def schema_cost(plan: CostContext, params: SchemaParams) -> Cost:
    """One request per listed request."""
    cost = Cost()
    for spec in params.requests:
        plan.add(cost, spec)
    return cost


@registry.register("schema", SchemaParams, schema_cost)
def check_schema_kind(ctx: CheckContext, params: SchemaParams) -> None:
    """Each response validates against its documented schema."""
    if not params.requests:
        raise NothingToCheck("the rule lists no request")
    for spec in params.requests:
        response = ctx.send(spec)
        label = f"{spec.method} {spec.path}"
        ctx.expect(response, params.expect, context=label)
        if params.json_schema is not None:
            schema = params.json_schema
        else:
            assert params.openapi is not None
            document = load_description(ctx, params.openapi, params.overlay)
            schema = openapi_response_schema(document, spec.method, spec.path, response.status_code)
        check_schema(json_body(response), schema, where=label)
