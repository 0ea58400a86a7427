"""api_login: API-key headers, login sessions with XSRF, OBO tokens, roles and quotas."""

from __future__ import annotations

import datetime as dt
import hmac
import time
from typing import Any

from starlette.responses import Response

from ._context import Call, Ctx, Identity
from ._data import SESSION_DURATION, Session, State, User
from ._http import BadBody, api_response, clear_cookie, parse_form, parse_json, set_cookie
from ._routing import Endpoint

__all__ = [
    "KEY_FAILURE",
    "authenticate",
    "config_block",
    "forbidden",
    "guard",
    "login",
    "login_options",
    "logout",
    "quota_headers",
    "release",
    "unauthorized",
    "validate_apikey",
]

KEY_FAILURE = "Invalid user or APIKey"
MAX_FAILURES = 5
FAILURE_TTL = 60
LOGOUT_PATH = "/api/v4/auth/logout/"


def login_options() -> dict[str, Any]:
    """The login choices a 401 offers."""
    return {"allow_saml_login": False, "allow_signup": False, "allow_userpass_login": True}


def config_block() -> dict[str, Any]:
    """The configuration summary a wrapped 403 carries."""
    return {
        "auth": {"allow_2fa": True, "allow_apikeys": True, "allow_security_tokens": True},
        "ui": {
            "allow_url_submissions": True,
            "read_only": False,
            "tos": False,
            "tos_lockout": False,
            "tos_lockout_notify": False,
        },
    }


def unauthorized(ctx: Ctx, call: Call, message: str) -> Response:
    """A 401 as the global handler renders it: login options, and the XSRF cookie expired."""
    payload: Any = "" if ctx.on("anonymous-401-empty-response") else login_options()
    response = api_response(ctx, payload, message, 401)
    if not ctx.on("401-keeps-xsrf-cookie"):
        clear_cookie(response, "XSRF-TOKEN", lifetime=SESSION_DURATION if ctx.on("401-xsrf-cookie-not-expired") else 0)
    if "session" in call.cookies:
        clear_cookie(response, "session")
    return response


def forbidden(ctx: Ctx, call: Call, reason: str, status: int = 403) -> Response:
    """A 403 as the global handler renders it: `Access Denied (path) [reason]`, config block (other status: a fault)."""
    path = call.path
    if ctx.on("index-403-path-unslashed") and path.startswith("/api/v4/search/"):
        path = path.rstrip("/")
    return api_response(ctx, config_block(), f"Access Denied ({path}) [{reason}]", status)


def validate_apikey(ctx: Ctx, uname: str, secret: str) -> Identity | str:
    """The caller an `X-USER`/`X-APIKEY` pair names, or why it is refused."""
    user = ctx.state.users.get(uname)
    if user is None:
        return f"User {uname} does not exist" if ctx.on("unknown-user-distinct-message") else KEY_FAILURE
    if "apikey_access" not in user.roles:
        return "This user is not allowed to use API Keys"
    if not user.is_active:
        return "This owner of this API Key is not active."
    name, colon, password = secret.partition(":")
    key = user.keys.get(name)
    if not colon or key is None or not hmac.compare_digest(key.password, password):
        return KEY_FAILURE
    return Identity(user, key.roles & user.roles, "apikey", key=key)


def _from_session(ctx: Ctx, call: Call) -> Identity | Response:
    token = call.cookies.get("session", "")
    session = ctx.state.sessions.get(token)
    if session is None:
        anonymous = not (token or call.headers.get("x-user") or call.headers.get("x-apikey"))
        expired = ctx.on("anonymous-session-expired") and anonymous
        return unauthorized(ctx, call, "Session expired" if expired else "Session not found")
    if session.expires < time.monotonic():
        del ctx.state.sessions[token]
        return unauthorized(ctx, call, "Session expired")
    user = ctx.state.users.get(session.uname)
    if user is None:
        return unauthorized(ctx, call, "Session not found")
    if session.roles_limit is not None and ctx.on("login-session-ignored"):
        return unauthorized(ctx, call, "Session not found")
    if session.roles_limit is None and call.path != LOGOUT_PATH and not ctx.on("xsrf-not-enforced"):
        sent = call.headers.get("x-xsrf-token") or call.query.get("XSRF_TOKEN") or ""
        if not hmac.compare_digest(sent, session.xsrf):
            return forbidden(ctx, call, "Invalid XSRF token", 401 if ctx.on("xsrf-failure-401") else 403)
    roles = user.roles if session.roles_limit is None else session.roles_limit & user.roles
    return Identity(user, roles, "session", session=session)


def authenticate(ctx: Ctx, call: Call) -> Identity | Response:
    """Who the caller is (API-key headers win, then the session), or the 401/403 that refuses it."""
    uname = call.headers.get("x-user", "")
    secret = call.headers.get("x-apikey", "")
    if uname and secret:
        found = validate_apikey(ctx, uname, secret)
        if isinstance(found, Identity):
            return found
        if ctx.on("wrong-key-403-on-search") and call.path.startswith("/api/v4/search/"):
            return forbidden(ctx, call, found)
        return unauthorized(ctx, call, found)
    if uname and ctx.on("one-header-auth") and uname in ctx.state.users:
        user = ctx.state.users[uname]
        return Identity(user, user.roles, "apikey")
    return _from_session(ctx, call)


def _obo_problem(header: str) -> str:
    token = header.split(" ")[-1]
    if token.count(".") != 2:
        return "Not enough segments"
    return "Signature verification failed"


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


def _daily_used(state: State, user: User) -> int:
    day, used = state.daily_calls.get(user.uname, ("", 0))
    return used if day == _today() else 0


def quota_headers(ctx: Ctx, identity: Identity | None) -> dict[str, str]:
    """The remaining-quota headers an answer carries when the caller has a daily API quota."""
    if identity is None or not identity.user.api_daily_quota or ctx.on("no-remaining-quota-header"):
        return {}
    user = identity.user
    used = 0 if ctx.on("quota-header-not-counting") else _daily_used(ctx.state, user)
    if ctx.on("quota-header-stuck-after-first-call"):
        used = min(used, 1)
    quota = user.api_daily_quota * (2 if ctx.on("quota-header-from-wrong-quota") else 1)
    left = max(0, quota - used)
    return {"X-Remaining-Quota-Api": f"{left}.0" if ctx.on("quota-header-decimal") else str(left)}


def _role_exempt(ctx: Ctx, identity: Identity, endpoint: Endpoint) -> bool:
    acl = identity.key.acl if identity.key is not None else ""
    if acl == "R" and endpoint.rule == "/api/v4/submit/" and ctx.on("read-key-can-submit"):
        return True
    return acl == "W" and endpoint.rule.startswith("/api/v4/search/") and ctx.on("write-key-can-search")


def _quota(ctx: Ctx, call: Call, identity: Identity, endpoint: Endpoint) -> Response | None:
    user = identity.user
    busy = ctx.state.in_flight.get(user.uname, 0) >= user.api_quota
    if (ctx.quota_exhausted or busy) and not ctx.on("concurrent-quota-ignored"):
        shown = user.api_quota + 1 if ctx.on("concurrent-quota-reported-off-by-one") else user.api_quota
        message = f"You've exceeded your maximum concurrent API calls quota of {shown}"
        return api_response(ctx, "", message, 503)
    if endpoint.counts and user.api_daily_quota:
        used = _daily_used(ctx.state, user)
        if used >= user.api_daily_quota:
            message = f"You've exceeded your daily maximum API calls quota of {user.api_daily_quota}"
            return api_response(ctx, "", message, 503)
        ctx.state.daily_calls[user.uname] = (_today(), used + 1)
    ctx.state.in_flight[user.uname] = ctx.state.in_flight.get(user.uname, 0) + 1
    return None


def release(ctx: Ctx, identity: Identity) -> None:
    """Give back the concurrent-call slot a guarded request took."""
    uname = identity.user.uname
    ctx.state.in_flight[uname] = max(0, ctx.state.in_flight.get(uname, 0) - 1)


def guard(ctx: Ctx, call: Call, endpoint: Endpoint) -> Identity | Response:
    """Run api_login's checks in order; the caller, or the answer that refuses the request."""
    found = authenticate(ctx, call)
    if isinstance(found, Response):
        return found
    if "authorization" in call.headers and not ctx.on("authorization-header-ignored"):
        problem = _obo_problem(call.headers["authorization"])
        return forbidden(ctx, call, f"Invalid OBO token - {problem}", 401 if ctx.on("obo-401") else 403)
    if not found.user.is_active:
        return forbidden(ctx, call, f"User {found.user.uname} is disabled")
    if endpoint.roles and not endpoint.roles & found.roles and not _role_exempt(ctx, found, endpoint):
        shown = endpoint.roles
        if ctx.on("submit-403-names-wrong-role") and endpoint.rule == "/api/v4/submit/":
            shown = frozenset({"submission_manage"})
        needed = ", ".join(sorted(shown))
        reason = f"API {call.path} requires one of the following roles: {needed}"
        if ctx.on("role-403-unwrapped"):
            return api_response(ctx, "", reason, 403)
        return forbidden(ctx, call, reason)
    refused = _quota(ctx, call, found, endpoint)
    return refused if refused is not None else found


def _login_fields(call: Call) -> dict[str, Any]:
    if "application/json" in (call.content_type or ""):
        try:
            document = parse_json(call.body)
        except BadBody:
            document = None
        if isinstance(document, dict):
            return document
    values: dict[str, Any] = dict(call.query)
    if "application/x-www-form-urlencoded" in (call.content_type or ""):
        values.update(parse_form(call.body))
    return values


def _locked(state: State, uname: str) -> bool:
    recent = [moment for moment in state.login_failures.get(uname, []) if moment > time.monotonic() - FAILURE_TTL]
    state.login_failures[uname] = recent
    return len(recent) >= MAX_FAILURES


def _check_password(state: State, uname: str, password: str) -> Identity | str:
    user = state.users.get(uname)
    if user is None or user.password.startswith("!") or not user.password:
        return "Wrong username or password"
    if not hmac.compare_digest(user.password, password):
        return "Wrong username or password"
    return Identity(user, user.roles, "session")


def login(ctx: Ctx, call: Call) -> Response:
    """`/api/v4/auth/login/`: open a session from a user name and a password or an API key."""
    fields = _login_fields(call)
    uname = str(fields.get("user") or "")
    password = str(fields.get("password") or "")
    secret = str(fields.get("apikey") or "")
    if not uname or not (password or secret):
        status = 400 if ctx.on("login-missing-fields-400") else 401
        return api_response(ctx, "", "Not enough information to proceed with authentication", status)
    if _locked(ctx.state, uname):
        message = (
            f"Maximum password retry of {MAX_FAILURES} was reached. "
            f"This account is locked for the next {FAILURE_TTL} seconds..."
        )
        return api_response(ctx, "", message, 401)
    found = validate_apikey(ctx, uname, secret) if secret else _check_password(ctx.state, uname, password)
    if isinstance(found, str):
        ctx.state.login_failures.setdefault(uname, []).append(time.monotonic())
        return api_response(ctx, "", found, 401)
    limit = found.roles if found.key is not None else None
    session = Session(
        token=ctx.state.new_id() + ctx.state.new_id(),
        uname=found.user.uname,
        roles_limit=limit,
        xsrf=ctx.state.new_id(),
        expires=time.monotonic() + SESSION_DURATION,
    )
    ctx.state.sessions[session.token] = session
    roles_key = "privileges" if ctx.on("login-returns-privileges") else "roles_limit"
    payload = {
        "username": found.user.uname,
        roles_key: sorted(limit) if limit is not None else None,
        "session_duration": SESSION_DURATION // 60 if ctx.on("session-duration-minutes") else SESSION_DURATION,
    }
    response = api_response(ctx, payload)
    set_cookie(response, "session", session.token, http_only=True)
    xsrf = ctx.state.new_id() if ctx.on("xsrf-cookie-not-session-token") else session.xsrf
    set_cookie(response, "XSRF-TOKEN", xsrf)
    return response


def logout(ctx: Ctx, call: Call) -> Response:
    """`/api/v4/auth/logout/`: end the session."""
    identity = call.caller()
    if identity.session is not None:
        ctx.state.sessions.pop(identity.session.token, None)
    response = api_response(ctx, {"success": True})
    clear_cookie(response, "XSRF-TOKEN")
    clear_cookie(response, "session")
    return response
