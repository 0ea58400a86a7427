"""Origin management and origin tokens (`/v1/origin…`, `/v1/origin_token…`), as the published document describes."""

from __future__ import annotations

from typing import Any

from ._runtime import Call, Handler
from ._sites import STATUS_DETAILS, Origin, OriginToken, Visitor, token_id
from ._state import REGIONS
from ._wire import Invalid, json_body, not_found, parse_enum, parse_int, parse_positive, parse_uuid

__all__ = ["origin_routes"]

Json = dict[str, Any]
HOUR_MS = 3_600_000
MAX_BUCKETS = 168  # a week of hourly buckets per analysis answer
CLIENT_FIELDS = [
    "client_browser",
    "client_crawler",
    "client_email",
    "client_library",
    "client_mobile_browser",
    "client_multimedia_player",
    "client_offline_browser",
    "client_unrecognized",
    "client_ua_anonymizer",
    "client_validator",
    "client_wap_browser",
]
CRAWLER_FIELDS = [
    "crawler_feed_fetcher",
    "crawler_link_checker",
    "crawler_marketing",
    "crawler_screenshot_creator",
    "crawler_search_engine_bot",
    "crawler_site_monitor",
    "crawler_speed_tester",
    "crawler_tool",
    "crawler_uncategorised",
    "crawler_unrecognized",
    "crawler_virus_scanner",
    "crawler_vulnerability_scanner",
    "crawler_web_scraper",
]
TRAFFIC_FIELDS = [
    "score_high",
    "bots",
    "denylists",
    "datacenters",
    "webdrivers",
    "asn_risky",
    "network_country_mismatches",
]


def _required_query(call: Call, name: str) -> str:
    value = call.query(name)
    if value is None:
        raise Invalid(("query", name), "field required", "value_error.missing")
    return value


def _origin(call: Call) -> Origin:
    query = _required_query(call, "query")
    found = call.account.origins.get(query)
    if found is None:
        raise not_found(query)
    return found


def _origin_view(origin: Origin) -> Json:
    base = f"/v1/origin?query={origin.origin}"
    return {
        "self": base,
        "origin": origin.origin,
        "status": origin.status,
        "token": f"/v1/origin_token/{origin.token}",
        "config": origin.config,
        "logs": f"/v1/origin/status/details?query={origin.origin}",
        "addresses": f"/v1/origin/addresses?query={origin.origin}",
        "cookies": f"/v1/origin/cookies?query={origin.origin}",
        "actions": f"/v1/origin/status?query={origin.origin}",
        "scripts": f"/v1/origin/scripts?query={origin.origin}",
        "created_at": origin.created_at,
        "updated_at": origin.updated_at,
    }


def _visitor_view(visitor: Visitor, key: str) -> Json:
    return {
        key: visitor.key,
        "status": visitor.status,
        "log_id": visitor.log_id,
        "created_at": visitor.created_at,
        "updated_at": visitor.updated_at,
        "expiry": visitor.expiry,
    }


async def origin_one(call: Call) -> Json:
    """GET /v1/origin?query=<origin>."""
    return _origin_view(_origin(call))


async def origin_all(call: Call) -> Json:
    """GET /v1/origin/all."""
    return {"self": "/v1/origin/all", "origins": [_origin_view(o) for o in call.account.origins.values()]}


async def origin_update(call: Call) -> Json:
    """PUT /v1/origin {origin, config}: replace an origin's configuration."""
    body = await _object_body(call)
    name = _string(body, "origin", required=True)
    config = body.get("config", {})
    if not isinstance(config, dict):
        raise Invalid(("body", "config"), "value is not a valid dict", "type_error.dict")
    origin = call.account.origins.get(name)
    if origin is None:
        raise not_found(name)
    with call.rt.state.lock:
        origin.config, origin.updated_at = config, call.rt.now_ms()
    return {}


def _paged(call: Call, kind: str) -> Json:
    origin = _origin(call)
    page = parse_positive(call.query("page"), 1, ("query", "page"))
    size = parse_positive(call.query("page_size"), 20, ("query", "page_size"))
    visitors = origin.addresses if kind == "addresses" else origin.cookies
    key = "address" if kind == "addresses" else "cookie_id"
    chosen = visitors[(page - 1) * size : page * size]
    return {
        "self": f"/v1/origin/{kind}?query={origin.origin}",
        "page": page,
        "page_size": size,
        kind if kind == "addresses" else "cookie_ids": [_visitor_view(v, key) for v in chosen],
    }


async def origin_addresses(call: Call) -> Json:
    """GET /v1/origin/addresses?query&page&page_size."""
    return _paged(call, "addresses")


async def origin_cookies(call: Call) -> Json:
    """GET /v1/origin/cookies?query&page&page_size."""
    return _paged(call, "cookies")


async def origin_scripts(call: Call) -> Json:
    """GET /v1/origin/scripts?query: the snippet a site embeds to load the detection library."""
    origin = _origin(call)
    region = call.region
    detection = (
        f'<script src="https://{region}.api.threatjammer.com/v1/origin/script.js" '
        f'data-origin="{origin.origin}" data-token="{origin.token}" async></script>'
    )
    return {"self": f"/v1/origin/scripts?query={origin.origin}", "detection": detection}


async def origin_status_query(call: Call) -> Json:
    """POST /v1/origin/status?query {address?, cookie_id?}: the decisions on a visitor (a read by POST)."""
    origin = _origin(call)
    body = await _object_body(call)
    answer: Json = {"self": f"/v1/origin/status?query={origin.origin}"}
    if "address" in body:
        address = _string(body, "address")
        for visitor in origin.addresses:
            if visitor.key == address:
                answer["address"] = _visitor_view(visitor, "address")
    if "cookie_id" in body:
        cookie = parse_uuid(_string(body, "cookie_id"), ("body", "cookie_id"))
        for visitor in origin.cookies:
            if visitor.key == cookie:
                answer["cookie_id"] = _visitor_view(visitor, "cookie_id")
    return answer


async def origin_status_update(call: Call) -> Json:
    """PUT /v1/origin/status?query {log_id, scope, status}: override the decision a log entry recorded."""
    origin = _origin(call)
    body = await _object_body(call)
    log_id = parse_uuid(_string(body, "log_id", required=True), ("body", "log_id"))
    scope = parse_enum(_string(body, "scope", default="address_and_cookie"), SCOPES, ("body", "scope"))
    status = parse_enum(_string(body, "status", required=True), STATUS_DETAILS, ("body", "status"))
    groups = {"address": [origin.addresses], "cookie": [origin.cookies]}.get(scope, [origin.addresses, origin.cookies])
    hits = [v for group in groups for v in group if v.log_id == log_id]
    if not hits:
        raise not_found(log_id)
    with call.rt.state.lock:
        for visitor in hits:
            visitor.status, visitor.updated_at = status, call.rt.now_ms()
    return {}


SCOPES = ("address_and_cookie", "address", "cookie")


def _cardinality(call: Call, status: str) -> int:
    return sum(v.status == status for o in call.account.origins.values() for v in [*o.addresses, *o.cookies])


def _detail_view(call: Call, status: str) -> Json:
    return {
        "self": f"/v1/origin/status/detail/{status}",
        "status": status,
        "description": STATUS_DETAILS[status],
        "cardinality": _cardinality(call, status),
    }


async def status_details(call: Call) -> Json:
    """GET /v1/origin/status/details."""
    return {"self": "/v1/origin/status/details", "list": [_detail_view(call, s) for s in STATUS_DETAILS]}


async def status_detail(call: Call) -> Json:
    """GET /v1/origin/status/detail/{status_id}."""
    status = parse_enum(call.param("status_id"), STATUS_DETAILS, ("path", "status_id"))
    return _detail_view(call, status)


def _analysis(fields: list[str], kind: str) -> Handler:
    async def analysis(call: Call) -> Json:
        origin = _origin(call)
        interval = parse_enum(_required_query(call, "interval"), ("HOURLY",), ("query", "interval"))
        start = parse_int(_required_query(call, "from_timestamp"), ("query", "from_timestamp"))
        to = call.query("to_timestamp")
        end = parse_int(to, ("query", "to_timestamp")) if to is not None else call.rt.now_ms()
        first = max(start - start % HOUR_MS, end - end % HOUR_MS - (MAX_BUCKETS - 1) * HOUR_MS)
        data = []
        for hour in range(first, end + 1, HOUR_MS):
            seed = (hour // HOUR_MS + len(origin.origin)) % 97
            counts = {name: (seed * (n + 3)) % 17 for n, name in enumerate(fields)}
            row: Json = {"timestamp": hour, **counts}
            if kind == "client":
                row["client_total"] = sum(counts[f] for f in fields if f.startswith("client_"))
                row["crawler_total"] = sum(counts[f] for f in fields if f.startswith("crawler_"))
                row["total"] = row["client_total"] + row["crawler_total"]
            else:
                row["total"] = sum(counts.values()) + seed
            data.append(row)
        return {
            "self": f"/v1/origin/{kind}/analysis?query={origin.origin}",
            "interval": interval,
            "from_timestamp": start,
            "to_timestamp": end,
            "data": data,
        }

    return analysis


# --- origin tokens -------------------------------------------------------------------------------


def _token_view(token: OriginToken) -> Json:
    return {
        "self": f"/v1/origin_token/{token.id}",
        "region_id": token.region_id,
        "origin": token.origin,
        "status": token.status,
        "created_at": token.created_at,
        "updated_at": token.updated_at,
    }


async def _token_of_body(call: Call) -> OriginToken:
    body = await _object_body(call)
    ident = _string(body, "origin_token_id", required=True)
    token = call.account.origin_tokens.get(ident)
    if token is None:
        raise not_found(ident)
    return token


async def token_info(call: Call) -> Json:
    """POST /v1/origin_token {origin_token_id}: one token (a read by POST)."""
    return _token_view(await _token_of_body(call))


async def token_all(call: Call) -> Json:
    """GET /v1/origin_token/all."""
    return {"self": "/v1/origin_token/all", "tokens": [_token_view(t) for t in call.account.origin_tokens.values()]}


def _token_status(status: str) -> Handler:
    async def change(call: Call) -> Json:
        token = await _token_of_body(call)
        with call.rt.state.lock:
            token.status, token.updated_at = status, call.rt.now_ms()
        return {}

    return change


async def token_delete(call: Call) -> Json:
    """DELETE /v1/origin_token {origin_token_id}."""
    token = await _token_of_body(call)
    with call.rt.state.lock:
        del call.account.origin_tokens[token.id]
    return {}


async def token_new(call: Call) -> Json:
    """POST /v1/origin_token/new {origin}: a token for an origin in this region (the origin is created)."""
    body = await _object_body(call)
    site = _string(body, "origin", required=True)
    ident = token_id(call.account.name, f"{site}@{call.region}")
    now = call.rt.now_ms()
    with call.rt.state.lock:
        token = call.account.origin_tokens.setdefault(
            ident, OriginToken(ident, site, REGIONS[call.region], "ENABLED", now, now)
        )
        call.account.origins.setdefault(site, Origin(site, ident, "ENABLED", now, now))
    return _token_view(token)


# --- bodies --------------------------------------------------------------------------------------


async def _object_body(call: Call) -> Json:
    body = await json_body(call.request)
    if not isinstance(body, dict):
        raise Invalid(("body",), "value is not a valid dict", "type_error.dict")
    return body


def _string(body: Json, name: str, *, required: bool = False, default: str = "") -> str:
    if name not in body:
        if required:
            raise Invalid(("body", name), "field required", "value_error.missing")
        return default
    value = body[name]
    if not isinstance(value, str):
        raise Invalid(("body", name), "str type expected", "type_error.str")
    return value


def origin_routes() -> list[tuple[str, str, Handler]]:
    """(path, method, handler) of every origin and origin-token operation."""
    return [
        ("/v1/origin", "GET", origin_one),
        ("/v1/origin", "PUT", origin_update),
        ("/v1/origin/all", "GET", origin_all),
        ("/v1/origin/addresses", "GET", origin_addresses),
        ("/v1/origin/cookies", "GET", origin_cookies),
        ("/v1/origin/scripts", "GET", origin_scripts),
        ("/v1/origin/status", "POST", origin_status_query),
        ("/v1/origin/status", "PUT", origin_status_update),
        ("/v1/origin/status/details", "GET", status_details),
        ("/v1/origin/status/detail/{status_id}", "GET", status_detail),
        ("/v1/origin/client/analysis", "GET", _analysis([*CLIENT_FIELDS, *CRAWLER_FIELDS], "client")),
        ("/v1/origin/traffic/analysis", "GET", _analysis(TRAFFIC_FIELDS, "traffic")),
        ("/v1/origin_token", "POST", token_info),
        ("/v1/origin_token", "DELETE", token_delete),
        ("/v1/origin_token/all", "GET", token_all),
        ("/v1/origin_token/enable", "PUT", _token_status("ENABLED")),
        ("/v1/origin_token/disable", "PUT", _token_status("DISABLED")),
        ("/v1/origin_token/new", "POST", token_new),
    ]
