"""The User API (`REGION.api.threatjammer.com`): read endpoints under /v1/, /test, /openapi.json."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._catalogue import LAPSES, REGISTRIES, STATUSES, AclList, Network
from ._origins import origin_routes
from ._runtime import Call, Framework, Handler, Runtime, endpoint, meter_of, render
from ._views import (
    activity_view,
    asn_prefix_view,
    asn_view,
    assess_view,
    datacenter_prefix_view,
    datacenter_view,
    dataset_view,
    geo_view,
    list_content,
    list_uri,
    list_view,
    log_view,
    range_view,
    reported_uri,
    reported_view,
    source_view,
    token_view,
    ua_code_view,
    ua_view,
)
from ._wire import (
    NAME_PATTERN,
    Address,
    Invalid,
    Problem,
    json_body,
    not_found,
    parse_address,
    parse_enum,
    parse_int,
    parse_network,
    parse_pattern,
    parse_positive,
    parse_uuid,
    unique_strings,
)
from ._writes import write_routes

__all__ = ["user_routes"]

Json = dict[str, Any]
RESOURCE_TYPES = {
    "cidr": "CIDR",
    "country": "COUNTRY",
    "continent": "CONTINENT",
    "as": "AS",
    "datacenter": "DATACENTER",
    "useragent": "USERAGENT",
}
CONTENT_KEYS = {
    "CIDR": "cidrs",
    "AS": "asns",
    "COUNTRY": "countries",
    "CONTINENT": "continents",
    "DATACENTER": "datacenters",
    "USERAGENT": "user_agents",
}
UA_TABLES = ("type", "family", "vendor", "os", "device")


def _public(address: Address, loc_value: str) -> Address:
    if not address.is_global:
        raise Problem(
            "ip-address-cannot-be-private",
            f"'{loc_value}' is not a public address; only public IPv4 and IPv6 addresses are accepted.",
        )
    return address


# --- token ------------------------------------------------------------------------------------


async def test(call: Call) -> Json | Response:
    """GET /test: 200 when the key is valid in this region (not part of the versioned API)."""
    if call.rt.on("test-endpoint-missing") or (call.region == "paris" and call.rt.on("test-endpoint-missing-paris")):
        return JSONResponse({"detail": "Not Found"}, 404)
    return {"self": "/test", "detail": f"The API key is valid in the {call.region} region."}


async def token(call: Call) -> Json:
    """GET /v1/token: the token and its quota counters."""
    return token_view(call.rt, call.token, meter_of(call.rt, call.token))


def _page_window(call: Call) -> tuple[int, int, int, int]:
    """(page, page_size, first item index, index after the last item) of a paged listing."""
    default_size = 10 if call.rt.on("page-size-default-10") else 20
    raw_page = call.query("page")
    if raw_page is not None and not raw_page.isdigit() and call.rt.on("page-invalid-400"):
        raise Framework(400, "page must be a number")
    page = parse_positive(raw_page, 1, ("query", "page"))
    size = parse_positive(call.query("page_size"), default_size, ("query", "page_size"))
    first = (page if call.rt.on("page-zero-based") else page - 1) * size
    if page > 1 and call.rt.on("page-window-off-by-one"):
        first -= 1
    return page, size, first, first + size


async def activities(call: Call) -> Json:
    """GET /v1/token/activity: the token's events, newest first, paged by page/page_size."""
    page, size, first, last = _page_window(call)
    if call.rt.on("page-not-echoed"):
        page, size = 1, 20
    events = call.rt.catalogue.activities[first:last]
    self_uri = "/v1/token/activity"
    if call.rt.on("activity-self-with-query"):
        self_uri += "?page=1&page_size=20"
    return {
        "self": self_uri,
        "page": page,
        "page_size": size,
        "activities": [activity_view(event) for event in events],
    }


# --- autonomous systems -----------------------------------------------------------------------


def _code(call: Call, table: dict[str, str], kind: str) -> str:
    code = call.param("code")
    if code not in table and call.rt.on("registry-code-unvalidated"):
        raise not_found(code)
    if code not in table and kind == "status" and call.rt.on("status-code-unvalidated"):
        raise not_found(code)
    return parse_enum(code, table, ("path", "code"))


def _catalogue_entry(kind: str, code: str, name: str) -> Json:
    return {"self": f"/v1/asn/{kind}/{code}", "name": name, "code": code}


def _catalogue_all(call: Call, kind: str, table: dict[str, str]) -> Json | list[Json]:
    entries = [_catalogue_entry(kind, code, name) for code, name in table.items()]
    if call.rt.on("registry-all-wrapped"):
        return {"self": f"/v1/asn/{kind}/all", "items": entries}
    if kind == "registry" and call.rt.on("registry-all-missing-last"):
        return entries[:-1]
    return entries


async def registry_all(call: Call) -> Json | list[Json]:
    """GET /v1/asn/registry/all: a bare array of the regional registries."""
    return _catalogue_all(call, "registry", REGISTRIES)


async def registry_one(call: Call) -> Json:
    """GET /v1/asn/registry/{code}."""
    code = _code(call, REGISTRIES, "registry")
    return _catalogue_entry("registry", code, REGISTRIES[code])


async def status_all(call: Call) -> Json | list[Json]:
    """GET /v1/asn/status/all: a bare array of the registration statuses."""
    return _catalogue_all(call, "status", STATUSES)


async def status_one(call: Call) -> Json:
    """GET /v1/asn/status/{code}."""
    code = _code(call, STATUSES, "status")
    return _catalogue_entry("status", code, STATUSES[code])


def _private_use_asn(number: int) -> bool:
    return 64512 <= number <= 65534 or 4200000000 <= number <= 4294967294


async def asn_one(call: Call) -> Json:
    """GET /v1/asn/{number}."""
    number = parse_int(call.param("number"), ("path", "number"))
    asn = call.rt.catalogue.asns.get(number)
    if asn is None:
        if call.rt.on("unknown-asn-empty-200") or (_private_use_asn(number) and call.rt.on("private-asn-empty-200")):
            return {}
        raise not_found(number)
    return asn_view(call.rt, asn)


async def asn_prefixes(call: Call) -> Json:
    """GET /v1/asn/{number}/prefixes: the IPv4 and IPv6 prefixes of an AS."""
    number = parse_int(call.param("number"), ("path", "number"))
    if number not in call.rt.catalogue.asns:
        raise not_found(number)
    mine = [p for p in call.rt.catalogue.prefixes if p.asn == number]
    return {
        "self": f"/v1/asn/{number}/prefixes",
        "asn": f"/v1/asn/{number}",
        "prefixes_v4": [asn_prefix_view(call.rt, p) for p in mine if p.network.version == 4],
        "prefixes_v6": [asn_prefix_view(call.rt, p) for p in mine if p.network.version == 6],
    }


async def asn_by_ip(call: Call) -> Json:
    """GET /v1/asn/ip/{ip}: the announced prefix holding an address (self is the prefix URI)."""
    address = parse_address(call.param("ip"), ("path", "ip_address"))
    prefix = call.rt.catalogue.prefix_of(address)
    if prefix is None:
        raise not_found(address)
    return asn_prefix_view(call.rt, prefix)


def _covering(prefixes: list[Any], network: Network) -> Any:
    holding = [p for p in prefixes if p.network.version == network.version and network.subnet_of(p.network)]
    return max(holding, key=lambda p: p.network.prefixlen, default=None)


async def _prefix_body(call: Call) -> Network:
    raw = await call.request.body()
    from_query = call.query("prefix")
    if not raw.strip() and from_query is not None and call.rt.on("post-params-from-query"):
        return parse_network(from_query, ("query", "prefix"))
    body = await json_body(call.request)
    if not isinstance(body, dict):
        raise Invalid(("body",), "value is not a valid dict", "type_error.dict")
    if "prefix" not in body:
        raise Invalid(("body", "prefix"), "field required", "value_error.missing")
    return parse_network(body["prefix"], ("body", "prefix"))


async def asn_prefix_post(call: Call) -> Json:
    """POST /v1/asn/prefix {"prefix": CIDR}: the announced prefix covering a network."""
    network = await _prefix_body(call)
    prefix = _covering(call.rt.catalogue.prefixes, network)
    if prefix is None:
        raise not_found(network)
    return asn_prefix_view(call.rt, prefix)


# --- assessment and geolocation ---------------------------------------------------------------


async def assess_one(call: Call) -> Json:
    """GET /v1/assess/ip/{ip}: the risk assessment of one public address."""
    text = call.param("ip")
    address = parse_address(text, ("path", "ip_address"))
    ten = address.version == 4 and address in ipaddress.ip_network("10.0.0.0/8")
    if not call.rt.on("private-ip-assessed") and not (ten and call.rt.on("private-10-assessed")):
        _public(address, text)
    return assess_view(call.rt, call.account, address)


async def _address_batch(call: Call, limit: int, fault: str | None = None) -> list[Address]:
    body = await json_body(call.request)
    top = None if fault is not None and call.rt.on(fault) else limit
    texts = unique_strings(body, 1, top, ("body",))
    return [parse_address(text, ("body", index)) for index, text in enumerate(texts)]


async def assess_batch(call: Call) -> Response:
    """POST /v1/assess/ip [addresses]: up to 500 assessments; private addresses are left out."""
    top = 501 if call.rt.on("batch-size-off-by-one") else 500
    addresses = await _address_batch(call, top, "batch-size-unchecked")
    keep_private = call.rt.on("batch-private-included")
    results = []
    for address in addresses:
        if address.is_global or keep_private:
            result = assess_view(call.rt, call.account, address)
            if call.rt.on("batch-result-self-collection"):
                result["self"] = "/v1/assess/ip"
            if call.rt.on("batch-score-off-by-one"):
                result["score"] = result["score"] - 1 if result["score"] > 0 else 1
            results.append(result)
    if call.rt.on("batch-result-self-rotated"):
        selves = [result["self"] for result in results]
        for result, self_uri in zip(results, selves[1:] + selves[:1], strict=True):
            result["self"] = self_uri
    status = 201 if call.rt.on("batch-201") or _single_201(call, addresses) else 200
    return render(call, {"self": "/v1/assess/ip", "results": results}, status)


def _single_201(call: Call, items: list[Any]) -> bool:
    return len(items) == 1 and call.rt.on("single-item-batch-201")


async def geo_one(call: Call) -> Json:
    """GET /v1/geo/{ip}: where a public address is."""
    text = call.param("ip")
    address = _public(parse_address(text, ("path", "ip_address")), text)
    body = geo_view(call.rt, address)
    if call.rt.on("self-missing"):
        del body["self"]
    if call.rt.on("geo-one-coordinates-as-strings"):
        body["latitude"], body["longitude"] = str(body["latitude"]), str(body["longitude"])
    return body


async def geo_batch(call: Call) -> Json:
    """POST /v1/geo [addresses]: up to 500 locations; private and unknown addresses are left out."""
    addresses = await _address_batch(call, 500, "geo-batch-size-unchecked")
    results = []
    for address in addresses:
        if address.is_global and call.rt.catalogue.prefix_of(address) is not None:
            result = geo_view(call.rt, address)
            if call.rt.on("geo-batch-coordinates-swapped"):
                result["latitude"], result["longitude"] = result["longitude"], result["latitude"]
            results.append(result)
    if len(results) > 1 and call.rt.on("geo-batch-drops-last"):
        results.pop()
    if call.rt.on("batch-results-keyed-by-address"):
        return {"self": "/v1/geo", "results": {r["self"].rsplit("/", 1)[1]: r for r in results}}
    return {"self": "/v1/geo", "results": results}


# --- datacenters, datasets, sources, logs -----------------------------------------------------


def _datacenter_code(call: Call) -> str:
    code = parse_pattern(call.param("code"), r"^[A-Z0-9_]+", ("path", "datacenter_id"))
    if code not in call.rt.catalogue.datacenters:
        raise not_found(code)
    return code


async def datacenter_one(call: Call) -> Json:
    """GET /v1/datacenter/{datacenter_id}."""
    body = datacenter_view(call.rt.catalogue.datacenters[_datacenter_code(call)])
    if call.rt.on("datacenter-prefixes-dangling"):
        body["prefixes"] = str(body["prefixes"]).removesuffix("es")
    return body


async def datacenter_prefixes(call: Call) -> Json:
    """GET /v1/datacenter/{datacenter_id}/prefixes."""
    code = _datacenter_code(call)
    mine = [p for p in call.rt.catalogue.datacenter_prefixes if p.datacenter == code]
    views = [datacenter_prefix_view(call.rt, p) for p in mine]
    if call.rt.on("datacenter-prefixes-score-string"):
        for view in views:
            view["score"] = str(view["score"])
    return {
        "self": f"/v1/datacenter/{code}/prefixes",
        "prefixes_v4": [view for view, p in zip(views, mine, strict=True) if p.network.version == 4],
        "prefixes_v6": [view for view, p in zip(views, mine, strict=True) if p.network.version == 6],
    }


async def datacenter_by_ip(call: Call) -> Json:
    """GET /v1/datacenter/ip/{ip}: the datacenter prefix holding an address, or 404."""
    address = parse_address(call.param("ip"), ("path", "ip_address"))
    prefix = call.rt.catalogue.datacenter_prefix_of(address)
    if prefix is None:
        if call.rt.on("datacenter-miss-empty-200"):
            return {
                "self": f"/v1/datacenter/ip/{address}",
                "datacenter": "",
                "score": 0,
                "risk": "UNKNOWN",
                "min_score": 0,
                "max_score": 0,
                "ip_abuse_total": 0,
            }
        problem = Problem(
            "resource-not-found",
            f"'{address}' not found. Check the value for a typo or incorrect value.",
        )
        if call.rt.on("datacenter-miss-titled"):
            problem.title = "Datacenter not found"
        raise problem
    return datacenter_prefix_view(call.rt, prefix)


async def datacenter_prefix_post(call: Call) -> Json:
    """POST /v1/datacenter/prefix {"prefix": CIDR}."""
    network = await _prefix_body(call)
    prefix = _covering(call.rt.catalogue.datacenter_prefixes, network)
    if prefix is None:
        raise not_found(network)
    body = datacenter_prefix_view(call.rt, prefix)
    if call.rt.on("datacenter-prefix-post-score-string"):
        body["score"] = str(body["score"])
    return body


def _dataset_name(call: Call, text: str, loc: tuple[str, str]) -> str:
    if call.rt.on("dataset-name-case-folded"):
        text = text.upper()
    name = parse_pattern(text, NAME_PATTERN, loc)
    if name not in call.rt.catalogue.datasets:
        raise Problem("dataset-not-found", f"The dataset '{name}' does not exist or is not available.")
    return name


async def datasets(call: Call) -> Json:
    """GET /v1/dataset/ip: every IP dataset."""
    every = call.rt.catalogue.datasets.values()
    return {"self": "/v1/dataset/ip", "types": [dataset_view(d) for d in every]}


async def dataset_one(call: Call) -> Json:
    """GET /v1/dataset/ip/{name}."""
    name = _dataset_name(call, call.param("name"), ("path", "name"))
    body = dataset_view(call.rt.catalogue.datasets[name])
    if call.rt.on("dataset-name-title-case"):
        body["name"] = str(body["name"]).title()
    return body


async def sources(call: Call) -> Json:
    """GET /v1/source/ip: every source list."""
    every = call.rt.catalogue.sources.values()
    return {"self": "/v1/source/ip", "sources": [source_view(s) for s in every]}


def _source(call: Call) -> str:
    name = parse_pattern(call.param("source"), NAME_PATTERN, ("path", "source"))
    if name not in call.rt.catalogue.sources:
        raise not_found(name)
    return name


async def source_one(call: Call) -> Json:
    """GET /v1/source/ip/{source}."""
    return source_view(call.rt.catalogue.sources[_source(call)])


async def source_range(call: Call) -> Json:
    """GET /v1/source/ip/{source}/range/{time_range}."""
    source = call.rt.catalogue.sources[_source(call)]
    lapse = call.param("time_range")
    if lapse not in LAPSES and call.rt.on("time-range-unvalidated"):
        raise not_found(lapse)
    lapse = parse_enum(lapse, LAPSES, ("path", "time_range"))
    body = range_view(source, source.ranges[lapse])
    if lapse == "365D" and call.rt.on("time-range-365d-lapse-180d"):
        body["lapse"] = "180D"
    return body


async def log_one(call: Call) -> Json:
    """GET /v1/log/ip/id/{logchange_id}."""
    number = parse_int(call.param("id"), ("path", "logchange_id"))
    log = call.rt.catalogue.logs.get(number)
    if log is None:
        raise Problem("logchange-id-not-found", f"The log change {number} does not exist.")
    return log_view(log)


async def log_of_address(call: Call) -> Json:
    """GET /v1/log/ip/{ip}: the log changes of one public address."""
    text = call.param("ip")
    address = _public(parse_address(text, ("path", "ip_address")), text)
    dataset = call.query("dataset")
    after = call.query("logged_after")
    since = parse_int(after, ("query", "logged_after")) if after is not None else 0
    wanted = _dataset_name(call, dataset, ("query", "dataset")) if dataset is not None else None
    logs = [
        log
        for log in call.rt.catalogue.logs.values()
        if log.cidr.split("/")[0] == str(address)
        and log.timestamp > since
        and (wanted is None or log.dataset == wanted)
    ]
    if not logs and call.rt.on("log-of-address-empty-null"):
        return {"self": f"/v1/log/ip/{address}", "logs": None}
    return {"self": f"/v1/log/ip/{address}", "logs": [log_view(log) for log in logs]}


# --- user agents ------------------------------------------------------------------------------


async def ua_one(call: Call) -> Json:
    """GET /v1/ua/{user_agent_urlencoded}."""
    return ua_view(call.rt, call.param("ua"))


async def ua_batch(call: Call) -> Response:
    """POST /v1/ua [strings]: up to 100 distinct user agents."""
    texts = unique_strings(await json_body(call.request), 1, 100, ("body",))
    body = {"self": "/v1/ua", "results": [ua_view(call.rt, text) for text in texts]}
    return render(call, body, 201 if _single_201(call, texts) else 200)


def _ua_lookup(table: str) -> Handler:
    async def lookup(call: Call) -> Json:
        code = parse_pattern(call.param("code"), r"^[A-Z0-9_]+", ("path", "code"))
        entries = {
            "type": call.rt.catalogue.ua_types,
            "family": call.rt.catalogue.ua_families,
            "vendor": call.rt.catalogue.ua_vendors,
            "os": call.rt.catalogue.ua_oses,
            "device": call.rt.catalogue.ua_devices,
        }[table]
        if code not in entries:
            raise not_found(code)
        return ua_code_view(table, entries[code])

    lookup.__doc__ = f"GET /v1/ua/{table}/{{code}}."
    return lookup


# --- reported addresses -----------------------------------------------------------------------


def _reported_filters(call: Call) -> dict[str, int | None]:
    values: dict[str, int | None] = {}
    for name in (
        "reported_before",
        "reported_after",
        "expires_before",
        "expires_after",
        "greater_than",
        "less_than",
    ):
        text = call.query(name)
        values[name] = parse_int(text, ("query", name)) if text is not None else None
    for name in ("greater_than", "less_than"):
        bound = values[name]
        if bound is not None and bound <= 0:
            raise Problem("value-should-be-greater-than-zero", f"'{name}' must be greater than zero.")
    return values


async def reported(call: Call) -> Json | Response:
    """GET /v1/denylist/reported/ip: the user's reported addresses, filtered and formatted."""
    version = parse_enum(
        call.query("ip_protocol_version") or "ALL",
        ("ALL", "IPV4", "IPV6"),
        ("query", "ip_protocol_version"),
    )
    output = parse_enum(
        call.query("output_format") or "JSON",
        ("JSON", "CSV", "AWS-WAF"),
        ("query", "output_format"),
    )
    dataset = call.query("dataset")
    wanted = _dataset_name(call, dataset, ("query", "dataset")) if dataset is not None else None
    limits = _reported_filters(call)
    if call.rt.on("query-filter-ignored"):
        version = "ALL"
    entries = []
    for entry in call.account.active_reports(call.rt.now_ms()):
        protocol = "IPV6" if ":" in entry.address else "IPV4"
        checks = [
            version in ("ALL", protocol),
            wanted is None or entry.dataset == wanted,
            limits["reported_before"] is None or entry.last_report < limits["reported_before"],
            limits["reported_after"] is None or entry.last_report > limits["reported_after"],
            limits["expires_before"] is None or entry.expiry < limits["expires_before"],
            limits["expires_after"] is None or entry.expiry > limits["expires_after"],
            limits["greater_than"] is None or entry.total_reports > limits["greater_than"],
            limits["less_than"] is None or entry.total_reports < limits["less_than"],
        ]
        if all(checks):
            entries.append(entry)
    filtered = call.query("ip_protocol_version") is not None and call.rt.on("csv-format-ignored-when-filtered")
    if output == "CSV" and not call.rt.on("csv-format-ignored") and not filtered:
        lines = ["address,last_report,expiry,total_reports,protocol,dataset,tags"]
        for entry in entries:
            view = reported_view(call.rt, entry)
            lines.append(
                ",".join(
                    [
                        entry.address,
                        str(view["last_report"]),
                        str(view["expiry"]),
                        str(entry.total_reports),
                        view["protocol"],
                        entry.dataset,
                        "|".join(entry.tags),
                    ]
                )
            )
        return PlainTextResponse("\n".join(lines) + "\n", media_type="text/csv")
    if output == "AWS-WAF":
        if version == "ALL":
            raise Problem(
                "combined-ip-protocol-not-supported",
                "AWS-WAF IP sets hold one IP version: set ip_protocol_version to IPV4 or IPV6.",
            )
        suffix = "/32" if version == "IPV4" else "/128"
        return JSONResponse(
            {
                "Name": "threatjammer-reported",
                "Scope": "REGIONAL",
                "IPAddressVersion": version,
                "Addresses": [entry.address + suffix for entry in entries],
            }
        )
    views = [reported_view(call.rt, entry) for entry in entries]
    if call.rt.on("reported-listing-times-in-seconds"):
        for view in views:
            view["last_report"], view["expiry"] = view["last_report"] // 1000, view["expiry"] // 1000
    return {"self": "/v1/denylist/reported/ip", "addresses": views}


def _reported_entry(call: Call) -> str:
    address = str(parse_address(call.param("ip"), ("path", "ip_address")))
    if call.account.report(call.rt.now_ms(), address) is None:
        raise Problem(
            "reported-ip-address-not-found",
            f"'{address}' is not among the addresses reported by this user.",
        )
    return address


async def reported_one(call: Call) -> Json:
    """GET /v1/denylist/reported/ip/{ip}."""
    address = _reported_entry(call)
    entry = call.account.reported[address]
    return reported_view(call.rt, entry)


async def reported_delete(call: Call) -> Json | Response:
    """DELETE /v1/denylist/reported/ip/{ip}: forget one reported address; 200 with what is left."""
    address = _reported_entry(call)
    if not call.rt.on("delete-reported-ignored"):
        with call.rt.state.lock:
            del call.account.reported[address]
    return await _listing_after_delete(call)


async def reported_delete_all(call: Call) -> Json | Response:
    """DELETE /v1/denylist/reported/ip/all: forget every reported address."""
    if not call.rt.on("delete-all-keeps-reported"):
        with call.rt.state.lock:
            call.account.reported.clear()
    return await _listing_after_delete(call)


async def _listing_after_delete(call: Call) -> Json:
    entries = call.account.active_reports(call.rt.now_ms())
    return {
        "self": "/v1/denylist/reported/ip",
        "addresses": [reported_view(call.rt, entry) for entry in entries],
    }


# --- allow and deny lists ---------------------------------------------------------------------


def _lists(call: Call, kind: str, public: bool) -> list[AclList]:
    every = {**call.rt.catalogue.lists, **call.account.lists}  # the user's own changes win
    chosen = [acl for acl in every.values() if acl.id not in call.account.dropped]
    return [acl for acl in chosen if acl.list_type == kind and acl.public == public]


def _one_list(call: Call, kind: str, public: bool, family: str) -> AclList:
    loc = ("path", f"{family}_id")
    text = call.param("list_id")
    if call.rt.on("list-id-unvalidated") or (family == "allowlist" and call.rt.on("allowlist-id-unvalidated")):
        try:
            parse_uuid(text, loc)
        except Invalid:
            raise not_found(text) from None
    wanted = parse_uuid(text, loc)
    for acl in _lists(call, kind, public):
        if acl.id == wanted:
            return acl
    raise not_found(wanted)


def _list_handlers(family: str) -> list[tuple[str, Handler]]:
    kind = "ALLOW" if family == "allowlist" else "DENY"

    def collection(public: bool, owned: bool = False, typed: bool = False) -> Handler:
        async def listing(call: Call) -> Json:
            scope = "public" if public else "private"
            where = "owned" if owned else "all"
            chosen = [acl for acl in _lists(call, kind, public) if acl.owned or not owned]
            path = f"/v1/{family}/{scope}/{where}"
            if typed:
                code = parse_enum(call.param("resource_type"), RESOURCE_TYPES, ("path", "resource_type"))
                chosen = [acl for acl in chosen if acl.resource_type == RESOURCE_TYPES[code]]
                path += f"/{code}"
            return {"self": path, "lists": [list_view(acl) for acl in chosen]}

        return listing

    def single(public: bool) -> Handler:
        async def one(call: Call) -> Json:
            return list_view(_one_list(call, kind, public, family))

        return one

    async def content(call: Call) -> Json:
        acl = _one_list(call, kind, False, family)
        _, _, first, last = _page_window(call)
        body: Json = {"self": list_uri(acl) + "/content"}
        body.update({key: [] for key in CONTENT_KEYS.values()})
        elements = list_content(acl, call.account, call.rt.now_ms())
        body[CONTENT_KEYS[acl.resource_type]] = elements[first:last]
        return body

    def by_address(public: bool) -> Handler:
        async def lookup(call: Call) -> Json:
            text = call.param("address")
            address = parse_address(text, ("path", "address"))
            return _address_lists(call, kind, public, family, address)

        return lookup

    base = f"/v1/{family}"
    return [
        (f"{base}/private/all", collection(False)),
        (f"{base}/private/all/{{resource_type}}", collection(False, typed=True)),
        (f"{base}/private/ip/{{address}}", by_address(False)),
        (f"{base}/private/{{list_id}}", single(False)),
        (f"{base}/private/{{list_id}}/content", content),
        (f"{base}/public/all", collection(True)),
        (f"{base}/public/all/{{resource_type}}", collection(True, typed=True)),
        (f"{base}/public/owned", collection(True, owned=True)),
        (f"{base}/public/owned/{{resource_type}}", collection(True, owned=True, typed=True)),
        (f"{base}/public/ip/{{address}}", by_address(True)),
        (f"{base}/public/{{list_id}}", single(True)),
    ]


def _holds(acl: AclList, elements: list[str | int], address: Address, facts: Json) -> bool:
    """Whether one list's elements match an address (through its network, country, AS...)."""
    if acl.resource_type == "CIDR":
        networks = [ipaddress.ip_network(str(element)) for element in elements]
        return any(n.version == address.version and address in n for n in networks)
    wanted = {"COUNTRY": "country", "CONTINENT": "continent", "AS": "asn", "DATACENTER": "dc"}
    fact = wanted.get(acl.resource_type)
    return fact is not None and facts[fact] is not None and facts[fact] in elements


def _address_lists(call: Call, kind: str, public: bool, family: str, address: Address) -> Json:
    catalogue, now_ms = call.rt.catalogue, call.rt.now_ms()
    prefix = catalogue.prefix_of(address)
    centre = catalogue.datacenter_prefix_of(address)
    country = catalogue.asns[prefix.asn].country if prefix else None
    city = catalogue.cities.get(country or "")
    facts: Json = {
        "country": country,
        "continent": city.continent if city else None,
        "asn": prefix.asn if prefix else None,
        "dc": centre.datacenter if centre else None,
    }
    scope = "public" if public else "private"
    body: Json = {"self": f"/v1/{family}/{scope}/ip/{address}"}
    body.update({key: [] for key in ("cidrs", "countries", "continents", "asns", "datacenters")})
    for acl in _lists(call, kind, public):
        key = CONTENT_KEYS[acl.resource_type]
        if key in body and _holds(acl, list_content(acl, call.account, now_ms), address, facts):
            body[key].append(list_uri(acl))
    if kind == "DENY" and not public:
        mine = call.account.report(now_ms, str(address))
        body["reported"] = [reported_uri(str(address))] if mine else []
    return body


# --- versions and the app ---------------------------------------------------------------------


class _VersionAlias:
    """`/v2/...`: not served (404), unless the fault makes it answer as `/v1/...`."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.target: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.target is None or not self.rt.on("v2-alias-served"):
            await JSONResponse({"detail": "Not Found"}, 404)(scope, receive, send)
            return
        rest = scope["path"].split("/", 2)[2]
        raw = b"/v1/" + scope.get("raw_path", b"").split(b"/", 2)[-1]
        await self.target({**scope, "path": "/v1/" + rest, "raw_path": raw}, receive, send)


def _openapi(rt: Runtime) -> Callable[[Request], Awaitable[Response]]:
    async def document(request: Request) -> Response:
        path = rt.openapi_path
        if path is None or not path.is_file():
            return JSONResponse({"detail": "Not Found"}, 404)
        return Response(path.read_bytes(), media_type="application/json")

    return document


def user_routes(rt: Runtime, region: str) -> tuple[list[BaseRoute], _VersionAlias]:
    """Every User API route of one region, and the /v2 alias (its target is set by the caller)."""

    def ep(handler: Handler, metered: bool = True) -> Callable[[Request], Awaitable[Response]]:
        return endpoint(rt, region, handler, metered=metered)

    alias = _VersionAlias(rt)
    routes: list[BaseRoute] = [
        Route("/test", ep(test, metered=False)),
        Route("/openapi.json", _openapi(rt)),
        Route("/v1/token", ep(token)),
        Route("/v1/token/activity", ep(activities)),
        Route("/v1/asn/registry/all", ep(registry_all)),
        Route("/v1/asn/registry/{code}", ep(registry_one)),
        Route("/v1/asn/status/all", ep(status_all)),
        Route("/v1/asn/status/{code}", ep(status_one)),
        Route("/v1/asn/ip/{ip}", ep(asn_by_ip)),
        Route("/v1/asn/prefix", ep(asn_prefix_post), methods=["POST"]),
        Route("/v1/asn/{number}", ep(asn_one)),
        Route("/v1/asn/{number}/prefixes", ep(asn_prefixes)),
        Route("/v1/assess/ip", ep(assess_batch), methods=["POST"]),
        Route("/v1/assess/ip/{ip}", ep(assess_one)),
        Route("/v1/geo", ep(geo_batch), methods=["POST"]),
        Route("/v1/geo/{ip}", ep(geo_one)),
        Route("/v1/datacenter/ip/{ip}", ep(datacenter_by_ip)),
        Route("/v1/datacenter/prefix", ep(datacenter_prefix_post), methods=["POST"]),
        Route("/v1/datacenter/{code}", ep(datacenter_one)),
        Route("/v1/datacenter/{code}/prefixes", ep(datacenter_prefixes)),
        Route("/v1/dataset/ip", ep(datasets)),
        Route("/v1/dataset/ip/{name}", ep(dataset_one)),
        Route("/v1/source/ip", ep(sources)),
        Route("/v1/source/ip/{source}", ep(source_one)),
        Route("/v1/source/ip/{source}/range/{time_range}", ep(source_range)),
        Route("/v1/log/ip/id/{id}", ep(log_one)),
        Route("/v1/log/ip/{ip}", ep(log_of_address)),
        Route("/v1/ua", ep(ua_batch), methods=["POST"]),
        *[Route(f"/v1/ua/{table}/{{code}}", ep(_ua_lookup(table))) for table in UA_TABLES],
        Route("/v1/ua/{ua:path}", ep(ua_one)),
        Route("/v1/denylist/reported/ip", ep(reported)),
        Route("/v1/denylist/reported/ip/all", ep(reported_delete_all), methods=["DELETE"]),
        Route("/v1/denylist/reported/ip/{ip}", ep(reported_one), methods=["GET"]),
        Route("/v1/denylist/reported/ip/{ip}", ep(reported_delete), methods=["DELETE"]),
        Route("/v2/{rest:path}", alias, methods=None),
    ]
    for family in ("denylist", "allowlist"):
        routes.extend(Route(path, ep(handler)) for path, handler in _list_handlers(family))
    routes.extend(Route(path, ep(handler), methods=[method]) for path, method, handler in write_routes())
    routes.extend(Route(path, ep(handler), methods=[method]) for path, method, handler in origin_routes())
    return routes, alias
