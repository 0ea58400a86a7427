"""The ASGI side: the route table, Werkzeug-like dispatch around api_login, and the server class."""

from __future__ import annotations

import html
import json
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from .._base import App, ReferenceServer
from ._auth import authenticate, guard, login, logout, quota_headers, release
from ._context import Call, Ctx
from ._data import State, seed_state
from ._faults import FAULTS
from ._http import api_response, html_page, redirect_page
from ._next import NEXT_RELEASE
from ._roles import SEARCH_ROLES
from ._routing import Endpoint, Routed, Router, RoutingQuirks
from ._search import search
from ._submit import finish_due, get_message, get_message_list, ingest, submit
from ._views import (
    api_list,
    api_versions,
    healthz_live,
    healthz_ready,
    is_completed,
    submission,
    submission_full,
    whoami,
)

__all__ = ["AssemblylineServer"]

_GET = frozenset({"GET"})
_POST = frozenset({"POST"})
_VERBS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_SAFE_PATH = "/:@!$&'()*+,;=~"


def _role(*names: str) -> frozenset[str]:
    return frozenset(names)


class _Dispatcher:
    """Routes one app's requests and runs api_login around the views."""

    def __init__(self, server: AssemblylineServer, quota_exhausted: bool) -> None:
        self.server = server
        self.quota_exhausted = quota_exhausted
        self.endpoints = self._endpoints()
        self.router = Router(self.endpoints)

    def _endpoints(self) -> list[Endpoint]:
        submit_role = _role("submission_create")
        view_role = _role("submission_view")
        return [
            Endpoint("/api/", _GET, api_versions, "List the supported API versions", counts=False),
            Endpoint("/api/v4/", _GET, self.api_documentation, "List every API of v4", counts=False),
            Endpoint(
                "/api/v4/auth/login/",
                _GET | _POST,
                login,
                "Log in with a password or an API key",
                protected=False,
            ),
            Endpoint("/api/v4/auth/logout/", _GET, logout, "End the current session", counts=False),
            Endpoint("/api/v4/user/whoami/", _GET, whoami, "Describe the current user"),
            Endpoint("/api/v4/submit/", _POST, submit, "Submit a file", submit_role, counts=False),
            Endpoint("/api/v4/ingest/", _POST, ingest, "Ingest a file", submit_role, counts=False),
            Endpoint(
                "/api/v4/ingest/get_message/<nq>/",
                _GET,
                get_message,
                "Take one notification message",
                submit_role,
            ),
            Endpoint(
                "/api/v4/ingest/get_message_list/<nq>/",
                _GET,
                get_message_list,
                "Take notification messages",
                submit_role,
            ),
            Endpoint(
                "/api/v4/search/<index>/",
                _GET | _POST,
                search,
                "Search an index",
                SEARCH_ROLES,
            ),
            Endpoint(
                "/api/v4/submission/<sid>/",
                _GET,
                submission,
                "Get a submission",
                view_role,
            ),
            Endpoint(
                "/api/v4/submission/full/<sid>/",
                _GET,
                submission_full,
                "Get a submission with its results",
                view_role,
            ),
            Endpoint(
                "/api/v4/submission/is_completed/<sid>/",
                _GET,
                is_completed,
                "Tell whether a submission is done",
                view_role,
            ),
            Endpoint("/healthz/live", _GET, healthz_live, "Liveness probe", protected=False),
            Endpoint("/healthz/ready", _GET, healthz_ready, "Readiness probe", protected=False),
        ]

    def api_documentation(self, ctx: Ctx, call: Call) -> Response:
        """`/api/v4/`: the route table as documentation."""
        return api_list(ctx, call, self.endpoints)

    async def handle(self, request: Request) -> Response:
        """Read the request, answer it under the state lock."""
        body = await request.body()
        call = Call(
            method=request.method,
            path=request.scope["path"],
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            base_url=str(request.base_url).rstrip("/"),
            headers=request.headers,
            query=request.query_params,
            cookies=request.cookies,
            body=body,
        )
        state = self.server.state
        with state.lock:
            ctx = Ctx(state, self.server.switch, self.server.options, self.quota_exhausted)
            finish_due(ctx)
            response = self.answer(ctx, call)
        return self._negotiated(ctx, call, response)

    def _quirks(self, ctx: Ctx) -> RoutingQuirks:
        return RoutingQuirks(
            merge_slashes=not ctx.on("double-slash-404"),
            ignore_case=ctx.on("case-insensitive-paths"),
            serve_slashless=ctx.on("slashless-200"),
            slashless_wrong_verb_405=ctx.on("slashless-wrong-verb-405"),
        )

    def answer(self, ctx: Ctx, call: Call) -> Response:
        """The response to one request, from routing to the view."""
        routed = self.router.route(call.method, call.path, self._quirks(ctx))
        if routed.outcome == "view" and call.method == "OPTIONS":
            assert routed.endpoint is not None
            routed = Routed("options", allow=routed.endpoint.allowed)
        if routed.outcome == "options":
            return self._options(ctx, call, routed)
        if routed.outcome == "redirect":
            return self._redirect(ctx, call, routed.location)
        if routed.outcome == "not-allowed":
            return self._not_allowed(ctx, routed)
        if routed.outcome == "not-found":
            if ctx.on("unknown-api-plain-404"):
                return PlainTextResponse("Not Found", 404)
            shown = call.path.rstrip("/") if ctx.on("not-found-path-unslashed") else call.path
            return api_response(ctx, "", f"Api does not exist ({shown})", 404)
        assert routed.endpoint is not None
        call.args = routed.args
        return self._run(ctx, call, routed.endpoint)

    def _options(self, ctx: Ctx, call: Call, routed: Routed) -> Response:
        if ctx.on("options-needs-auth"):
            found = authenticate(ctx, call)
            if isinstance(found, Response):
                return found
        status = 204 if ctx.on("options-204") else 200
        return Response(b"", status, {"Allow": ", ".join(sorted(routed.allow))}, "text/html; charset=utf-8")

    def _redirect(self, ctx: Ctx, call: Call, path: str) -> Response:
        if ctx.on("slash-redirect-needs-auth"):
            found = authenticate(ctx, call)
            if isinstance(found, Response):
                return found
        location = call.base_url + quote(path, safe=_SAFE_PATH)
        if call.raw_query and not ctx.on("redirect-drops-query"):
            location += "?" + call.raw_query
        status = 301 if ctx.on("no-308-redirect") else 308
        anonymous = not (call.headers.get("x-user") or call.cookies.get("session"))
        if ctx.on("anonymous-redirect-302") and anonymous:
            status = 302
        title = {301: "Moved Permanently", 302: "Found"}.get(status, "Permanent Redirect")
        return html_page(status, title, redirect_page(location), {"Location": location})

    def _not_allowed(self, ctx: Ctx, routed: Routed) -> Response:
        verbs = routed.allow & {"HEAD", "OPTIONS"} if ctx.on("405-allow-misses-verbs") else routed.allow
        allow = {"Allow": ", ".join(sorted(verbs))}
        if ctx.on("405-as-json"):
            return api_response(ctx, "", "Method Not Allowed", 405, allow)
        text = "This URL does not accept the request method."
        return html_page(405, "Method Not Allowed", text, allow)

    def _run(self, ctx: Ctx, call: Call, endpoint: Endpoint) -> Response:
        guarded = endpoint.protected or (endpoint.rule.startswith("/healthz/") and ctx.on("healthz-needs-auth"))
        if not guarded:
            return self._view(ctx, call, endpoint)
        found = guard(ctx, call, endpoint)
        if isinstance(found, Response):
            return found
        call.identity = found
        try:
            response = self._view(ctx, call, endpoint)
        finally:
            release(ctx, found)
        response.headers.update(quota_headers(ctx, found))
        return response

    def _view(self, ctx: Ctx, call: Call, endpoint: Endpoint) -> Response:
        try:
            return endpoint.view(ctx, call)
        except Exception:  # the global handler: any uncaught error is a JSON 500
            return api_response(ctx, "", "Internal Server Error", 500)

    def _negotiated(self, ctx: Ctx, call: Call, response: Response) -> Response:
        wants_html = "text/html" in call.headers.get("accept", "")
        if ctx.on("accept-html-json-charset") and wants_html and response.media_type == "application/json":
            response.headers["content-type"] = "application/json; charset=utf-8"
        if not (ctx.on("accept-html-negotiated") and wants_html and response.media_type == "application/json"):
            return response
        pretty = json.dumps(json.loads(bytes(response.body)), indent=2)
        return html_page(response.status_code, "API response", f"<pre>{html.escape(pretty)}</pre>")


class AssemblylineServer(ReferenceServer):
    """A simulated Assemblyline 4 API server (the Flask app behind /api/v4/), with fault switches.

    Targets: ``assemblyline`` (the normal deployment) and ``assemblyline-quota`` (the same data,
    every authenticated call refused because the caller's concurrent API quota is used up).
    Options: ``version`` (api_server_version), ``analysis_seconds`` (how long a new submission
    stays in progress, default 2), ``ready`` (False makes /healthz/ready answer FAIL).
    """

    vendor = "assemblyline"
    faults = FAULTS
    next_release = NEXT_RELEASE
    default_credentials = {
        "USER": "admin",
        "APIKEY": "contractgate_rw:rST96lw04fJrOSnvCJZdNqr0RkGgUMwpChqob6dY16nLKkqk",
        "APIKEY_READ": "contractgate_r:SDaw5h4ZPvSVHfti6yQam1nDI0X0vkCexD2twKbalGAhilpS",
        "APIKEY_WRITE": "contractgate_w:2rxvs9E3GOtnXSZXsoV5P8EwP0quK9IQ1M3S67fLlcQVZryo",
        "APIKEY_SUBMIT": "contractgate_submit:kr42miiGCFHFA7DMCFHKjVihShd2gSBqdetyGCsa0YaYzbrG",
        "PASSWORD": "ErwTVs09Jrbh4SqWKOxx",
        "ADMIN_USER": "admin",
        "APIKEY_ADMIN": "contractgate_admin:Qm7vT2xLk9PzR4sWc8NbH1jYd6FgE3uA0oKiVnXe5tMwS2qZ",
    }
    state: State

    def reset(self) -> None:
        """Restore the seeded deployment: submissions, files, sessions, queues, quota counters."""
        self.state = seed_state(self.credentials)

    def build_apps(self) -> list[App]:
        """The normal app and the quota-exhausted app, sharing one state."""
        return [
            App("assemblyline", self._asgi(quota_exhausted=False)),
            App("assemblyline-quota", self._asgi(quota_exhausted=True)),
        ]

    def _asgi(self, quota_exhausted: bool) -> Starlette:
        dispatcher = _Dispatcher(self, quota_exhausted)
        return Starlette(routes=[Route("/{rest:path}", dispatcher.handle, methods=_VERBS)])
