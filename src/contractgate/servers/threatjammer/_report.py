"""The Report API (`REGION.report.threatjammer.com`): POST-only, 202 with an empty body."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._runtime import Call, Handler, Runtime, endpoint, too_many
from ._state import AllowEntry, Reported, Token
from ._wire import NAME_PATTERN, Invalid, Problem, json_body, parse_address, parse_pattern

__all__ = ["report_routes"]

DEFAULT_TTL = 86_400
TAG_PATTERN = r"^[A-Z0-9]+(?:-[A-Z0-9]+)*$"


def spend_report_call(rt: Runtime, token: Token) -> None:
    """Count one Report API call against the token's per-minute allowance (never the User quota)."""
    with rt.state.lock:
        meter = rt.state.meters[token.key]
        now = rt.now()
        meter.roll(now)
        if rt.on("report-blocked-by-user-quota") and meter.month_spent():
            raise too_many(rt, meter.month_wait(now), "monthly", "report")
        allowed = meter.plan.report_minute + (1 if rt.on("report-quota-off-by-one") else 0)
        if len(meter.report_hits) >= allowed and not rt.on("report-quota-unenforced"):
            raise too_many(rt, meter.minute_wait(meter.report_hits, now), "Report API", "report")
        meter.report_hits.append(now)
        if rt.on("report-consumes-user-quota"):
            meter.month_used += 1


def _addresses(rt: Runtime, body: dict[str, Any]) -> list[str]:
    if "addresses" not in body:
        if rt.on("report-body-unvalidated"):
            return []
        raise Invalid(("body", "addresses"), "field required", "value_error.missing")
    value = body["addresses"]
    if not isinstance(value, list):
        raise Invalid(("body", "addresses"), "value is not a valid list", "type_error.list")
    if not value:
        raise Invalid(
            ("body", "addresses"),
            "ensure this value has at least 1 items",
            "value_error.list.min_items",
        )
    found = []
    for index, item in enumerate(value):
        address = parse_address(str(item), ("body", "addresses", index))
        if not address.is_global:
            raise Problem(
                "ip-address-must-be-public",
                f"'{address}' is not a public address; only public addresses can be reported.",
            )
        found.append(str(address))
    return found


def _ttl(body: dict[str, Any]) -> int:
    value = body.get("ttl", DEFAULT_TTL)
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(("body", "ttl"), "value is not a valid integer", "type_error.integer")
    if value <= 0:
        raise Invalid(("body", "ttl"), "ensure this value is greater than 0", "value_error.number.not_gt")
    return value


def _dataset(rt: Runtime, body: dict[str, Any]) -> str:
    value = body.get("type", "ABUSE")
    if not isinstance(value, str):
        raise Invalid(("body", "type"), "str type expected", "type_error.str")
    name = parse_pattern(value, NAME_PATTERN, ("body", "type"))
    if name not in rt.catalogue.datasets:
        raise Problem("dataset-not-found", f"The dataset '{name}' does not exist or is not available.")
    return name


def _tags(body: dict[str, Any]) -> list[str]:
    value = body.get("tags", [])
    if not isinstance(value, list):
        raise Invalid(("body", "tags"), "value is not a valid list", "type_error.list")
    for index, tag in enumerate(value):
        if not isinstance(tag, str):
            raise Invalid(("body", "tags", index), "str type expected", "type_error.str")
        parse_pattern(tag, TAG_PATTERN, ("body", "tags", index))
    return [str(tag) for tag in value]


async def _body(call: Call) -> dict[str, Any]:
    body = await json_body(call.request)
    if not isinstance(body, dict):
        raise Invalid(("body",), "value is not a valid dict", "type_error.dict")
    return body


def _accepted(call: Call) -> Response:
    if call.rt.on("report-200-once-month-spent") and call.rt.state.meters[call.token.key].month_spent():
        return Response(status_code=200)
    if call.request.url.path == "/v1/false/remove/ip" and call.rt.on("report-api-200"):
        return JSONResponse({"detail": "Accepted"}, 200)
    if call.request.url.path == "/v1/false/add/ip" and call.rt.on("false-add-body"):
        return JSONResponse({"detail": "Accepted"}, 202)
    return Response(status_code=202)


async def ban(call: Call) -> Response:
    """POST /v1/ip: ban addresses for `ttl` seconds; reporting again counts and renews the ban."""
    spend_report_call(call.rt, call.token)
    body = await _body(call)
    addresses = _addresses(call.rt, body)
    ttl, dataset, tags = _ttl(body), _dataset(call.rt, body), _tags(body)
    if call.rt.on("report-tags-dropped"):
        tags = []
    now = call.rt.now_ms()
    with call.rt.state.lock:
        for address in addresses:
            entry = call.account.report(now, address)
            if entry is None:
                call.account.reported[address] = Reported(address, now, now + ttl * 1000, 1, dataset, tags)
            else:
                renewed = entry.expiry if call.rt.on("report-expiry-not-renewed") else now + ttl * 1000
                entry.last_report, entry.expiry = now, renewed
                entry.total_reports += 2 if call.rt.on("report-counted-twice") else 1
                entry.dataset = dataset
                entry.tags = sorted(set(entry.tags) | set(tags))
    return _accepted(call)


async def unban(call: Call) -> Response:
    """POST /v1/unban/ip: end the ban of addresses now (their TTL drops to zero)."""
    spend_report_call(call.rt, call.token)
    addresses = _addresses(call.rt, await _body(call))
    now = call.rt.now_ms()
    if not call.rt.on("unban-ignored"):
        with call.rt.state.lock:
            for address in addresses:
                entry = call.account.reported.get(address)
                if entry is not None:
                    entry.expiry = min(entry.expiry, now)
    return _accepted(call)


async def false_add(call: Call) -> Response:
    """POST /v1/false/add/ip: declare addresses false positives for `ttl` seconds."""
    spend_report_call(call.rt, call.token)
    body = await _body(call)
    addresses = _addresses(call.rt, body)
    ttl = _ttl(body)
    _dataset(call.rt, body)
    _tags(body)
    now = call.rt.now_ms()
    with call.rt.state.lock:
        for address in addresses:
            call.account.allowed[address] = AllowEntry(address, now + ttl * 1000)
    return _accepted(call)


async def false_remove(call: Call) -> Response:
    """POST /v1/false/remove/ip: withdraw false-positive declarations now."""
    spend_report_call(call.rt, call.token)
    addresses = _addresses(call.rt, await _body(call))
    now = call.rt.now_ms()
    with call.rt.state.lock:
        for address in addresses:
            entry = call.account.allowed.get(address)
            if entry is not None:
                entry.expiry = min(entry.expiry, now)
    return _accepted(call)


def _post_only(
    rt: Runtime, inner: Callable[[Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def guarded(request: Request) -> Response:
        unban_get = request.url.path == "/v1/unban/ip" and rt.on("report-unban-get-allowed")
        if request.method != "POST" and not rt.on("report-api-get-allowed") and not unban_get:
            return JSONResponse({"detail": "Method Not Allowed"}, 405, headers={"Allow": "POST"})
        return await inner(request)

    return guarded


def report_routes(rt: Runtime, region: str) -> list[BaseRoute]:
    """The four Report API routes of one region."""
    table: list[tuple[str, Handler]] = [
        ("/v1/ip", ban),
        ("/v1/unban/ip", unban),
        ("/v1/false/add/ip", false_add),
        ("/v1/false/remove/ip", false_remove),
    ]
    return [
        Route(
            path,
            _post_only(rt, endpoint(rt, region, handler, api="report", metered=False)),
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        )
        for path, handler in table
    ]
