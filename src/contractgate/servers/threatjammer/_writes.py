"""The writing list operations and the CSV lookups of the User API, as the published document describes them."""

from __future__ import annotations

import csv
import dataclasses
import ipaddress
import re
import uuid
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, Response

from ._catalogue import AclList
from ._runtime import Call, Handler
from ._views import assess_view, geo_view, list_content, ua_view
from ._wire import Invalid, Problem, json_body, not_found, parse_enum, parse_uuid

__all__ = ["LIST_LIMITS", "write_routes"]

Json = dict[str, Any]
# Elements a private list may hold per plan (SPEC `…/content` PUT; error-ip-address-list-too-large).
LIST_LIMITS = {"free": 100, "basic": 1000, "pro": 10000}
FREE_LIMIT = LIST_LIMITS["free"]  # only the Free plan exists during the beta: every other key gets its size
# The schema's enum also has UNKNOWN (a placeholder of the model); a list of no type cannot hold anything.
RESOURCE_TYPES = ("CIDR", "COUNTRY", "CONTINENT", "AS", "DATACENTER", "USERAGENT")
TAG = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$")
CONTINENTS = ("AF", "AN", "AS", "EU", "NA", "OC", "SA")
CSV_LIMITS = {"assess": 500, "geo": 500, "ua": 100}


def _list_limit(call: Call) -> int:
    return LIST_LIMITS.get(call.token.plan.name, FREE_LIMIT)


# --- list bodies ---------------------------------------------------------------------------------


async def _object(call: Call, loc: tuple[str, ...] = ("body",)) -> Json:
    body = await json_body(call.request)
    if not isinstance(body, dict):
        raise Invalid(loc, "value is not a valid dict", "type_error.dict")
    return body


def _text(body: Json, name: str, loc: tuple[str, ...], required: bool) -> str | None:
    if name not in body:
        if required:
            raise Invalid((*loc, name), "field required", "value_error.missing")
        return None
    if not isinstance(body[name], str):
        raise Invalid((*loc, name), "str type expected", "type_error.str")
    return str(body[name])


def _tags(body: Json, loc: tuple[str, ...], required: bool) -> tuple[str, ...] | None:
    if "tags" not in body:
        if required:
            raise Invalid((*loc, "tags"), "field required", "value_error.missing")
        return None
    value = body["tags"]
    if not isinstance(value, list):
        raise Invalid((*loc, "tags"), "value is not a valid list", "type_error.list")
    for index, tag in enumerate(value):
        if not isinstance(tag, str) or not TAG.match(tag):
            raise Invalid(
                (*loc, "tags", index), f'string does not match regex "{TAG.pattern}"', "value_error.str.regex"
            )
    return tuple(value)


def _ttl(body: Json, loc: tuple[str, ...]) -> int | None:
    value = body.get("ttl")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid((*loc, "ttl"), "value is not a valid integer", "type_error.integer")
    if value < 0:  # "If the ttl is negative, it will return a 400 (Bad Request) error."
        raise Problem("value-should-be-greater-than-zero", f"ttl cannot be negative, got {value}.")
    return value


# --- list handlers -------------------------------------------------------------------------------


def _visible(call: Call, kind: str, public: bool) -> dict[str, AclList]:
    every = {**call.rt.catalogue.lists, **call.account.lists}
    return {
        key: acl
        for key, acl in every.items()
        if key not in call.account.dropped and acl.list_type == kind and acl.public == public
    }


def _target(call: Call, family: str, kind: str, public: bool) -> AclList:
    wanted = parse_uuid(call.param("list_id"), ("path", f"{family}_id"))
    acl = _visible(call, kind, public).get(wanted)
    if acl is None:
        raise not_found(wanted)
    return acl


def _changeable(acl: AclList) -> None:
    """Default private lists and public lists the user does not own cannot be changed (403)."""
    if acl.default or (acl.public and not acl.owned):
        raise Problem("forbidden", f"The list '{acl.name}' cannot be updated or deleted.")


def _save(call: Call, acl: AclList) -> None:
    with call.rt.state.lock:
        call.account.lists[acl.id] = acl


def _element(acl: AclList, value: str, loc: tuple[str | int, ...]) -> str | int:
    """One element checked against the list's resource type."""
    kind = acl.resource_type
    try:
        if kind == "CIDR":
            return str(ipaddress.ip_network(value.strip(), strict=False))
        if kind == "AS":
            return int(value.upper().removeprefix("AS"))
    except ValueError:
        raise Invalid(loc, f"'{value}' is not a valid {kind} element", "value_error") from None
    if kind == "COUNTRY" and not re.fullmatch(r"[A-Z]{2}", value):
        raise Invalid(loc, f"'{value}' is not an ISO 3166 country code", "value_error")
    if kind == "CONTINENT" and value not in CONTINENTS:
        raise Invalid(loc, f"'{value}' is not a continent code", "value_error")
    if kind == "DATACENTER" and not re.fullmatch(r"[A-Z0-9_]+", value):
        raise Invalid(loc, f"'{value}' is not a datacenter id", "value_error")
    return value


def _elements(acl: AclList, body: Json, name: str) -> list[str | int]:
    value = body.get(name, [])
    if not isinstance(value, list):
        raise Invalid(("body", name), "value is not a valid list", "type_error.list")
    out: list[str | int] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise Invalid(("body", name, index), "str type expected", "type_error.str")
        out.append(_element(acl, item, ("body", name, index)))
    return out


def _fresh_id(call: Call, family: str) -> str:
    """A deterministic UUID no list of the user has ever had (deleted ones included)."""
    taken = {*call.rt.catalogue.lists, *call.account.lists, *call.account.dropped}
    serial = len(taken)
    while (ident := str(uuid.uuid5(uuid.NAMESPACE_URL, f"{call.account.name}/{family}/{serial}"))) in taken:
        serial += 1
    return ident


def _list_writers(family: str) -> list[tuple[str, str, Handler]]:
    kind = "ALLOW" if family == "allowlist" else "DENY"
    base = f"/v1/{family}"

    async def create(call: Call) -> Response:
        body = await _object(call)
        if "payload" not in body:
            raise Invalid(("body", "payload"), "field required", "value_error.missing")
        payload = body["payload"]
        loc = ("body", "payload")
        if not isinstance(payload, dict):
            raise Invalid(loc, "value is not a valid dict", "type_error.dict")
        name = _text(payload, "name", loc, True) or ""
        description = _text(payload, "description", loc, True) or ""
        if "resource_type" not in payload:
            raise Invalid((*loc, "resource_type"), "field required", "value_error.missing")
        resource = parse_enum(str(payload["resource_type"]), RESOURCE_TYPES, (*loc, "resource_type"))
        tags = _tags(payload, loc, True) or ()
        ttl = _ttl(payload, loc)
        now = int(call.rt.now())
        with call.rt.state.lock:
            ident = _fresh_id(call, family)
            acl = AclList(ident, name, description, resource, kind, False, tags, now, now, (), ttl=ttl)
            _save(call, acl)
        return JSONResponse(ident)

    async def update(call: Call) -> Json:
        acl = _target(call, family, kind, False)
        body = await _object(call)
        loc = ("body",)
        _changeable(acl)
        changes: Json = {}
        for field in ("name", "description"):
            if (value := _text(body, field, loc, False)) is not None:
                changes[field] = value
        if (tags := _tags(body, loc, False)) is not None:
            changes["tags"] = tags
        if (ttl := _ttl(body, loc)) is not None:
            changes["ttl"] = ttl
        _save(call, dataclasses.replace(acl, **changes, updated_at=int(call.rt.now())))
        return {}

    def deleting(public: bool) -> Handler:
        """DELETE of one of the user's private or public lists (a default or foreign one is refused)."""

        async def delete(call: Call) -> Json:
            acl = _target(call, family, kind, public)
            _changeable(acl)
            with call.rt.state.lock:
                call.account.lists.pop(acl.id, None)
                call.account.dropped.add(acl.id)
            return {}

        return delete

    async def put_content(call: Call) -> Json:
        acl = _target(call, family, kind, False)
        body = await _object(call)
        append, remove = _elements(acl, body, "append"), _elements(acl, body, "remove")
        current = list_content(acl, call.account, call.rt.now_ms())
        kept = [element for element in current if element not in remove]
        merged = kept + [element for element in dict.fromkeys(append) if element not in kept]
        limit = _list_limit(call) + (1 if call.rt.on("list-size-off-by-one") else 0)
        if len(merged) > limit and not call.rt.on("list-size-unenforced"):
            raise Problem(
                "ip-address-list-too-large",
                f"The list would hold {len(merged)} elements; the plan allows {limit}.",
            )
        _save(call, dataclasses.replace(acl, content=tuple(merged), updated_at=int(call.rt.now())))
        return {}

    async def delete_content(call: Call) -> Json:
        acl = _target(call, family, kind, False)
        _save(call, dataclasses.replace(acl, content=(), updated_at=int(call.rt.now())))
        return {}

    def origin(public: bool) -> Handler:
        async def change(call: Call) -> Json:
            _target(call, family, kind, public)
            body = await _object(call)
            site = _text(body, "origin", ("body",), True) or ""
            if not 1 <= len(site) <= 2083:
                raise Invalid(("body", "origin"), "ensure this value has 1 to 2083 characters", "value_error.any_str")
            if "status" not in body:
                raise Invalid(("body", "status"), "field required", "value_error.missing")
            parse_enum(str(body["status"]), ("ACTIVE", "INACTIVE", "DELETED"), ("body", "status"))
            if site not in call.account.origins:
                raise not_found(site)
            return {}

        return change

    async def public_status(call: Call) -> Json:
        acl = _target(call, family, kind, True)
        body = await _object(call)
        if "status" not in body:
            raise Invalid(("body", "status"), "field required", "value_error.missing")
        parse_enum(str(body["status"]), ("ACTIVE", "INACTIVE"), ("body", "status"))
        _changeable(acl)
        _save(call, dataclasses.replace(acl, updated_at=int(call.rt.now())))
        return {}

    return [
        (f"{base}/private", "POST", create),
        (f"{base}/private/{{list_id}}", "PUT", update),
        (f"{base}/private/{{list_id}}", "DELETE", deleting(public=False)),
        (f"{base}/private/{{list_id}}/content", "PUT", put_content),
        (f"{base}/private/{{list_id}}/content", "DELETE", delete_content),
        (f"{base}/private/{{list_id}}/origin", "PUT", origin(False)),
        (f"{base}/public/{{list_id}}", "PUT", public_status),
        (f"{base}/public/{{list_id}}", "DELETE", deleting(public=True)),
        (f"{base}/public/{{list_id}}/origin", "PUT", origin(True)),
    ]


# --- CSV lookups ---------------------------------------------------------------------------------


def _strict(call: Call) -> bool:
    text = call.query("strict_parse")
    if text is None:
        return False
    lowered = text.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise Invalid(("query", "strict_parse"), "value could not be parsed to a boolean", "type_error.bool")


async def _csv_lines(call: Call, whole_lines: bool = False) -> list[str]:
    """The non-empty first cells (or whole lines: user agents hold commas) of the uploaded `csv_file`."""
    if not call.request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid(("body", "csv_file"), "field required", "value_error.missing")
    try:
        form = await call.request.form()
    except Exception:  # a broken multipart body is a validation error, as FastAPI answers
        raise Invalid(("body",), "There was an error parsing the body", "value_error.jsondecode") from None
    upload = form.get("csv_file")
    if upload is None:
        raise Invalid(("body", "csv_file"), "field required", "value_error.missing")
    raw = await upload.read() if isinstance(upload, UploadFile) else str(upload).encode()
    text = raw.decode("utf-8", errors="replace")
    if whole_lines:
        return [line.strip() for line in text.splitlines() if line.strip()]
    cells = [next(csv.reader([line]), [""]) for line in text.splitlines()]
    return [row[0].strip() for row in cells if row and row[0].strip()]


def _csv_addresses(
    lines: list[str], strict: bool, ignore_bad: bool
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for number, line in enumerate(lines, 1):
        try:
            address = ipaddress.ip_address(line)
        except ValueError:
            if strict and not ignore_bad:
                raise Problem(
                    "invalid-ip-address", f"Line {number} of csv_file is not an IP address: '{line[:80]}'."
                ) from None
            continue
        if address not in found:
            found.append(address)
    return found


def _check_size(lines: list[Any], limit: int) -> None:
    if len(lines) > limit:
        raise Invalid(("body", "csv_file"), f"ensure the file has at most {limit} items", "value_error.list.max_items")


async def assess_csv(call: Call) -> Json:
    """POST /v1/assess/ip/csv?strict_parse: the batch assessment of the addresses of a CSV file."""
    strict = _strict(call)
    addresses = _csv_addresses(await _csv_lines(call), strict, call.rt.on("csv-strict-parse-ignored"))
    _check_size(addresses, CSV_LIMITS["assess"])
    results = [assess_view(call.rt, call.account, a) for a in addresses if a.is_global]
    return {"self": "/v1/assess/ip/csv", "results": results}


async def geo_csv(call: Call) -> Json:
    """POST /v1/geo/csv?strict_parse: the batch geolocation of the addresses of a CSV file."""
    strict = _strict(call)
    addresses = _csv_addresses(await _csv_lines(call), strict, call.rt.on("csv-strict-parse-ignored"))
    _check_size(addresses, CSV_LIMITS["geo"])
    known = [a for a in addresses if a.is_global and call.rt.catalogue.prefix_of(a) is not None]
    return {"self": "/v1/geo/csv", "results": [geo_view(call.rt, a) for a in known]}


async def ua_csv(call: Call) -> Json:
    """POST /v1/ua/csv: the user agents of a CSV file, one per line."""
    texts = list(dict.fromkeys(await _csv_lines(call, whole_lines=True)))
    _check_size(texts, CSV_LIMITS["ua"])
    return {"self": "/v1/ua/csv", "results": [ua_view(call.rt, text) for text in texts]}


def write_routes() -> list[tuple[str, str, Handler]]:
    """(path, method, handler) of the list writes and the CSV lookups."""
    return [
        *_list_writers("denylist"),
        *_list_writers("allowlist"),
        ("/v1/assess/ip/csv", "POST", assess_csv),
        ("/v1/geo/csv", "POST", geo_csv),
        ("/v1/ua/csv", "POST", ua_csv),
    ]
