"""Threat Jammer's wire conventions: handled errors, validation failures, parameter parsing."""

from __future__ import annotations

import ipaddress
import json
import re
import uuid
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request

__all__ = [
    "ERROR_PAGE",
    "KEY_FORMAT",
    "NAME_PATTERN",
    "SLUGS",
    "Address",
    "Invalid",
    "Loc",
    "Problem",
    "json_body",
    "not_found",
    "parse_address",
    "parse_enum",
    "parse_int",
    "parse_network",
    "parse_pattern",
    "parse_positive",
    "parse_uuid",
    "unique_strings",
]

ERROR_PAGE = "https://threatjammer.com/docs/error-"
KEY_FORMAT = re.compile(r"tja_[0-9A-Za-z]{36}")
NAME_PATTERN = r"^([A-Z0-9\_]+)$"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Loc = tuple[str | int, ...]

# The handled-error catalogue: page slug -> (HTTP status, short title).
SLUGS: dict[str, tuple[int, str]] = {
    "combined-ip-protocol-not-supported": (400, "Combined IP protocol not supported"),
    "invalid-cidr": (400, "Invalid CIDR"),
    "invalid-ip-address": (400, "Invalid IP address"),
    "ip-address-cannot-be-private": (400, "IP address cannot be private"),
    "ip-address-must-be-public": (400, "IP address must be public"),
    "value-should-be-greater-than-zero": (400, "Value should be greater than zero"),
    "unauthorized": (401, "Unauthorized"),
    "dataset-not-found": (404, "Dataset not found"),
    "logchange-id-not-found": (404, "Log change not found"),
    "reported-ip-address-not-found": (404, "Reported IP address not found"),
    "resource-not-found": (404, "Resource not found"),
    "too-many-requests": (429, "Too many requests"),
    "ip-address-list-too-large": (413, "IP address list too large"),
    # 403 is documented (default lists cannot be changed; subscription too low) but has no error page.
    "forbidden": (403, "Forbidden"),
}


class Problem(Exception):
    """A handled error: a catalogue page, the detail sentence and any extra headers."""

    def __init__(self, slug: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.slug = slug
        self.status, self.title = SLUGS[slug]
        self.detail = detail
        self.headers = headers or {}


class Invalid(Exception):
    """A request that fails validation (FastAPI's 422 with a list of located errors)."""

    def __init__(self, loc: Loc, msg: str, kind: str) -> None:
        super().__init__(msg)
        self.msg = msg
        self.kind = kind
        self.errors: list[dict[str, object]] = [{"loc": list(loc), "msg": msg, "type": kind}]


def not_found(value: object) -> Problem:
    """The generic 404, worded as the documented example."""
    return Problem(
        "resource-not-found",
        f"'{value}' not found. Check the value for a typo or incorrect value.",
    )


def parse_int(text: str, loc: Loc) -> int:
    """An integer parameter."""
    if not re.fullmatch(r"[+-]?\d+", text.strip()):
        raise Invalid(loc, "value is not a valid integer", "type_error.integer")
    return int(text)


def parse_positive(text: str | None, default: int, loc: Loc) -> int:
    """An optional integer parameter that must be at least 1."""
    if text is None:
        return default
    value = parse_int(text, loc)
    if value < 1:
        raise Invalid(loc, "ensure this value is greater than or equal to 1", "value_error.number.not_ge")
    return value


def parse_enum(text: str, allowed: Iterable[str], loc: Loc) -> str:
    """A value from a closed list."""
    options = list(allowed)
    if text not in options:
        permitted = ", ".join(repr(option) for option in options)
        raise Invalid(
            loc,
            f"value is not a valid enumeration member; permitted: {permitted}",
            "type_error.enum",
        )
    return text


def parse_pattern(text: str, pattern: str, loc: Loc) -> str:
    """A string that must match a regular expression (searched from the start)."""
    if not re.match(pattern, text):
        raise Invalid(loc, f'string does not match regex "{pattern}"', "value_error.str.regex")
    return text


def parse_address(text: str, loc: Loc) -> Address:
    """An IPv4 or IPv6 address."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise Invalid(loc, "value is not a valid IPv4 or IPv6 address", "value_error.ipvanyaddress") from None


def parse_network(value: object, loc: Loc) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An IPv4 or IPv6 network in CIDR notation (host bits must be zero)."""
    if not isinstance(value, str):
        raise Invalid(loc, "str type expected", "type_error.str")
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError:
        raise Invalid(loc, "value is not a valid IPv4 or IPv6 network", "value_error.ipvanynetwork") from None


def parse_uuid(text: str, loc: Loc) -> str:
    """A UUID, in its canonical lower-case form."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise Invalid(loc, "value is not a valid uuid", "type_error.uuid") from None


async def json_body(request: Request) -> Any:
    """The parsed JSON body; a missing or broken body fails validation."""
    raw = await request.body()
    if not raw.strip():
        raise Invalid(("body",), "field required", "value_error.missing")
    try:
        return json.loads(raw)
    except ValueError as error:
        raise Invalid(("body", 0), f"Expecting value: {error}", "value_error.jsondecode") from None


def unique_strings(value: object, low: int, high: int | None, loc: Loc) -> list[str]:
    """A JSON array of distinct strings with a bounded length."""
    if not isinstance(value, list):
        raise Invalid(loc, "value is not a valid list", "type_error.list")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise Invalid((*loc, index), "str type expected", "type_error.str")
    if len(value) < low:
        raise Invalid(loc, f"ensure this value has at least {low} items", "value_error.list.min_items")
    if high is not None and len(value) > high:
        raise Invalid(loc, f"ensure this value has at most {high} items", "value_error.list.max_items")
    if len(set(value)) != len(value):
        raise Invalid(loc, "the list has duplicated items", "value_error.list.unique_items")
    return [str(item) for item in value]
