"""Driving schemathesis 4 against a bundled reference server: the description the contract reads, and signing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import schemathesis
from schemathesis import APIOperation, Case

from contractgate._auth import Credentials, build_auth
from contractgate._contract import Contract
from contractgate.checks._fuzz import FuzzParams
from contractgate.checks._schema import described
from contractgate.servers import ReferenceServer

__all__ = ["Operation", "contract_description", "default_auth", "security_headers", "signed_request"]

ROOT = Path(__file__).resolve().parents[2]
Operation = APIOperation[Any, Any, Any, Any]


def _fuzz_params(contract: Contract) -> FuzzParams:
    """The contract's own fuzz rule (the one signing with the default auth)."""
    for rule in contract.rules:
        if rule.kind == "fuzz":
            params = FuzzParams.model_validate(rule.params)
            if params.auth is None:
                return params
    raise AssertionError(f"{contract.vendor} has no fuzz rule with the default auth")


def contract_description(contract: Contract) -> schemathesis.BaseSchema:
    """The OpenAPI description the contract's fuzz rule reads, its overlay applied."""
    params = _fuzz_params(contract)
    overlay = ROOT / params.overlay if params.overlay else None
    return schemathesis.openapi.from_dict(described(ROOT / params.openapi, overlay))


def default_auth(contract: Contract, server: ReferenceServer, region: str | None) -> httpx.Auth:
    """The contract's default auth, with the credentials the reference server accepts."""
    prefix = f"CONTRACTGATE_{contract.vendor.upper()}_"
    environ = {prefix + name: value for name, value in server.credentials.items()}
    auth = build_auth(contract, None, Credentials.from_env(contract, environ), region)
    assert auth is not None, "every contract's default auth signs requests"
    return auth


def security_headers(schema: schemathesis.BaseSchema) -> frozenset[str]:
    """Headers schemathesis fills from the security schemes; the contract's auth sets the real ones."""
    schemes = schema.raw_schema.get("components", {}).get("securitySchemes", {}).values()
    return frozenset({"authorization"} | {s["name"].lower() for s in schemes if s.get("in") == "header"})


def signed_request(case: Case[Any], base_url: str, dropped: frozenset[str]) -> dict[str, Any]:
    """httpx request arguments of a case, without the placeholder security headers (the client's auth signs)."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    kwargs["headers"] = {k: str(v) for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in dropped}
    kwargs.pop("cookies", None)
    return kwargs
