"""The contract file's JSON Schema, with each kind's parameters attached by `kind`."""

from __future__ import annotations

from typing import Any

from ._contract import Contract
from .checks import registry

__all__ = ["contract_json_schema"]


def contract_json_schema() -> dict[str, Any]:
    """JSON Schema for contracts/*.yaml (editors use it for completion; a test keeps it in sync)."""
    schema = Contract.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    definitions: dict[str, Any] = schema.setdefault("$defs", {})
    conditions = []
    for kind in registry:
        params = kind.params.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        definitions.update(params.pop("$defs", {}))
        name = f"params_{kind.name.replace('-', '_')}"
        definitions[name] = params
        conditions.append(
            {
                "if": {"properties": {"kind": {"const": kind.name}}, "required": ["kind"]},
                "then": {"properties": {"params": {"$ref": f"#/$defs/{name}"}}},
            }
        )
    rule = definitions["Rule"]
    rule["properties"]["kind"]["enum"] = registry.names()
    rule["allOf"] = conditions
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "contractgate contract"
    return schema
