"""The request pipeline shared by both APIs: authentication, quotas, and rendering answers."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .._base import FaultSwitch
from ._catalogue import Catalogue
from ._state import Account, Meter, State, Token
from ._wire import ERROR_PAGE, KEY_FORMAT, Invalid, Problem

__all__ = [
    "Api",
    "Call",
    "Framework",
    "Handler",
    "Runtime",
    "authenticate",
    "endpoint",
    "meter_of",
    "refund_user_point",
    "render",
    "spend_user_point",
    "too_many",
]

Api = Literal["user", "report"]
Json = dict[str, Any]
Body = Json | list[Json] | Response


class Framework(Exception):
    """An answer of the web framework itself (a plain `{"detail": ...}`), not a handled error."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


@dataclass
class Runtime:
    """What every handler needs: the fault switch, the data, the state and the clock."""

    switch: FaultSwitch
    catalogue: Catalogue
    state: State
    clock: Callable[[], float] = time.time
    openapi_path: Path | None = None

    def on(self, fault: str) -> bool:
        """Whether a fault is injected right now."""
        return self.switch.on(fault)

    def now(self) -> float:
        """The current time in Unix seconds."""
        return self.clock()

    def now_ms(self) -> int:
        """The current time in Unix milliseconds."""
        return int(self.clock() * 1000)


@dataclass
class Call:
    """One authenticated request, as a handler sees it."""

    rt: Runtime
    region: str
    request: Request
    token: Token

    @property
    def account(self) -> Account:
        """The user the key belongs to."""
        return self.rt.state.accounts[self.token.account]

    def param(self, name: str) -> str:
        """A path parameter."""
        return str(self.request.path_params[name])

    def query(self, name: str) -> str | None:
        """A query-string parameter, if sent."""
        return self.request.query_params.get(name)


Handler = Callable[[Call], Awaitable[Body]]


def _problem_response(rt: Runtime, problem: Problem) -> Response:
    slug = problem.slug
    if problem.status == 401 and rt.on("error-slug-mismatch"):
        slug = "resource-not-found"
    body: Json = {"title": problem.title, "detail": problem.detail}
    body["type:" if rt.on("error-type-colon-key") else "type"] = ERROR_PAGE + slug
    if rt.on("error-type-both-keys"):
        body["type:"] = ERROR_PAGE + slug
    if rt.on("error-missing-title"):
        del body["title"]
    if problem.slug == "reported-ip-address-not-found" and rt.on("reported-not-found-detail-list"):
        body["detail"] = [problem.detail]
    return JSONResponse(body, problem.status, headers=problem.headers)


def _invalid_response(rt: Runtime, invalid: Invalid, api: Api) -> Response:
    malformed_ip = invalid.kind == "value_error.ipvanyaddress"
    as_400 = rt.on("validation-not-422") if api == "user" else rt.on("report-invalid-address-400")
    if malformed_ip and as_400:
        return _problem_response(rt, Problem("invalid-ip-address", invalid.msg))
    if rt.on("validation-detail-string"):
        return JSONResponse({"detail": invalid.msg}, 422)
    errors = invalid.errors
    if rt.on("path-loc-dotted"):
        errors = [_dotted(error) for error in errors]
    return JSONResponse({"detail": errors}, 422)


def _dotted(error: dict[str, object]) -> dict[str, object]:
    loc = error["loc"]
    if isinstance(loc, list) and loc and loc[0] == "path":
        return {**error, "loc": ".".join(str(part) for part in loc)}
    return error


def _absolute(value: Any, host: str) -> Any:
    if isinstance(value, dict):
        return {key: item if key == "self" else _absolute(item, host) for key, item in value.items()}
    if isinstance(value, list):
        return [_absolute(item, host) for item in value]
    if isinstance(value, str) and value.startswith("/v1/"):
        return host + value
    return value


def render(call: Call, body: Json | list[Json], status: int = 200) -> Response:
    """A successful JSON answer."""
    datacenter = isinstance(body, dict) and str(body.get("self", "")).startswith("/v1/datacenter/")
    if datacenter and call.rt.on("absolute-reference-uris"):
        body = _absolute(body, f"https://{call.region}.api.threatjammer.com")
    dataset = call.request.url.path.startswith("/v1/dataset/")
    as_text = call.rt.on("json-served-as-text") or (dataset and call.rt.on("dataset-json-served-as-text"))
    media = "text/plain; charset=utf-8" if as_text else None
    response = JSONResponse(body, status)
    if media is not None:
        response.headers["content-type"] = media
    return response


def _unknown_key(rt: Runtime, region: str) -> Token | None:
    """The token an unchecked server would mistake an unknown key for (its region's first key)."""
    for token in rt.state.tokens.values():
        if token.region == region:
            return token
    return None


def authenticate(rt: Runtime, region: str, request: Request, api: Api) -> Token:
    """The token of a request, or a Problem/Framework saying why it is refused."""
    header = request.headers.get("authorization")
    if header is None:
        if api == "user" and rt.on("missing-auth-403"):
            raise Framework(403, "Not authenticated")
        missing = Problem("unauthorized", "Not authenticated: send the header 'Authorization: Bearer <API key>'.")
        if api == "user" and rt.on("missing-auth-400"):
            missing.status = 400
        raise missing
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        bare = rt.state.tokens.get(header.strip())
        if bare is not None and api == "user" and rt.on("bearer-prefix-optional"):
            return _regional(rt, region, bare, api, request.url.path)
        if bare is not None and api == "user" and _geo(request) and rt.on("bearer-prefix-optional-geo"):
            return _regional(rt, region, bare, api, request.url.path)
        if api == "user" and rt.on("bearer-prefix-unnamed"):
            raise Problem("unauthorized", "The credentials are not valid.")
        raise Problem(
            "unauthorized",
            "The Authorization header lacks the 'Bearer' prefix: send 'Authorization: Bearer <API key>'.",
        )
    key = rest.strip()
    token = rt.state.tokens.get(key)
    if token is None:
        if not KEY_FORMAT.fullmatch(key):
            if api == "user" and rt.on("malformed-key-400"):
                raise Framework(400, "Malformed API key")
            raise Problem(
                "unauthorized",
                "The API key is malformed: expected 'tja_' and 36 letters or digits.",
            )
        stand_in = _unknown_key(rt, region) if _unknown_accepted(rt, region, request, api) else None
        if stand_in is None:
            raise Problem("unauthorized", "The API key does not exist.")
        return stand_in
    return _regional(rt, region, token, api, request.url.path)


def _geo(request: Request) -> bool:
    return request.url.path.startswith("/v1/geo/")


def _unknown_accepted(rt: Runtime, region: str, request: Request, api: Api) -> bool:
    if api == "report":
        return rt.on("report-token-unchecked") or (region == "paris" and rt.on("report-token-unchecked-paris"))
    path = request.url.path
    return (
        rt.on("unknown-key-accepted")
        or (path == "/v1/token" and rt.on("unknown-key-accepted-token"))
        or (_geo(request) and rt.on("unknown-key-accepted-geo"))
    )


def _foreign_accepted(rt: Runtime, region: str, api: Api, path: str) -> bool:
    if api == "report":
        paris_only = region == "paris" and rt.on("report-cross-region-key-accepted-paris")
        return rt.on("report-cross-region-key-accepted") or paris_only
    return (
        rt.on("cross-region-key-accepted")
        or (path == "/v1/token" and rt.on("cross-region-key-accepted-token"))
        or (path.startswith("/v1/geo/") and rt.on("cross-region-key-accepted-geo"))
    )


def _regional(rt: Runtime, region: str, token: Token, api: Api, path: str) -> Token:
    if token.region != region and not _foreign_accepted(rt, region, api, path):
        raise Problem(
            "unauthorized",
            f"The API key belongs to the {token.region} region, not to {region}.",
        )
    return token


def too_many(rt: Runtime, seconds: int, which: str, api: Api) -> Problem:
    """The 429 handled error, with Retry-After in whole seconds."""
    in_ms = (
        (which == "monthly" and rt.on("month-retry-after-ms"))
        or (which == "per-minute" and api == "user" and rt.on("minute-retry-after-ms"))
        or (api == "report" and rt.on("report-retry-after-ms"))
    )
    wait = seconds * 1000 if in_ms else seconds
    if which == "monthly" and rt.on("month-retry-after-minute"):
        wait = 60
    headers = {} if api == "user" and rt.on("429-without-retry-after") else {"Retry-After": str(wait)}
    return Problem(
        "too-many-requests",
        f"The {which} quota of this API key is spent; retry in {seconds} seconds.",
        headers,
    )


def spend_user_point(rt: Runtime, token: Token) -> None:
    """Charge one User API point to a token, or refuse with 429 when a quota is spent."""
    with rt.state.lock:
        meter = rt.state.meters[token.key]
        now = rt.now()
        meter.roll(now)
        if meter.month_spent() and not rt.on("month-quota-unenforced"):
            raise too_many(rt, meter.month_wait(now), "monthly", "user")
        full = len(meter.minute_hits) >= meter.plan.minute
        if full and not rt.on("minute-quota-unenforced"):
            raise too_many(rt, meter.minute_wait(meter.minute_hits, now), "per-minute", "user")
        meter.month_used += 1
        meter.minute_hits.append(now)


def refund_user_point(rt: Runtime, token: Token) -> None:
    """Give back the point of the request just charged."""
    with rt.state.lock:
        meter = rt.state.meters[token.key]
        meter.month_used = max(0, meter.month_used - 1)
        if meter.minute_hits:
            meter.minute_hits.pop()


def meter_of(rt: Runtime, token: Token) -> Meter:
    """A token's counters, rolled forward to now."""
    with rt.state.lock:
        meter = rt.state.meters[token.key]
        meter.roll(rt.now())
        return meter


def endpoint(
    rt: Runtime,
    region: str,
    handler: Handler,
    *,
    api: Api = "user",
    metered: bool = True,
) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint: authenticate, charge the quota, run the handler, render the answer."""

    async def run(request: Request) -> Response:
        try:
            token = authenticate(rt, region, request, api)
            if metered:
                spend_user_point(rt, token)
            call = Call(rt, region, request, token)
            try:
                result = await handler(call)
                if metered and request.method == "POST" and rt.on("post-lookups-not-counted"):
                    refund_user_point(rt, token)
            except Invalid:
                if metered and rt.on("validation-not-counted"):
                    refund_user_point(rt, token)
                raise
            return result if isinstance(result, Response) else render(call, result)
        except Problem as problem:
            return _problem_response(rt, problem)
        except Invalid as invalid:
            return _invalid_response(rt, invalid, api)
        except Framework as framework:
            return JSONResponse({"detail": framework.detail}, framework.status, framework.headers)

    return run
