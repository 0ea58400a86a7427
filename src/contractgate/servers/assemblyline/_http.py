"""Wire formats: the JSON envelope, Werkzeug-style HTML pages, cookies and request-body parsing."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from ._context import Ctx
from ._data import SERVER_VERSION

__all__ = [
    "BadBody",
    "Upload",
    "api_response",
    "clear_cookie",
    "html_page",
    "parse_form",
    "parse_json",
    "parse_multipart",
    "set_cookie",
    "text_response",
]

BAD_REQUEST_TEXT = "400 Bad Request: The browser (or proxy) sent a request that this server could not understand."
_EXPIRED = "Thu, 01 Jan 1970 00:00:00 GMT"


class BadBody(ValueError):
    """A request body that cannot be read as the format it claims."""


@dataclass(frozen=True)
class Upload:
    """A multipart part that carried a file name."""

    filename: str
    content: bytes


def api_response(
    ctx: Ctx,
    payload: Any,
    message: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
    *,
    versioned: bool = True,
    reported: int | None = None,
) -> Response:
    """The four-key JSON envelope every API answer is wrapped in (`versioned`, `reported` only to inject faults)."""
    version = str(ctx.options.get("version", SERVER_VERSION))
    reported = status if reported is None else reported
    if ctx.on("status-code-mismatch") and 400 < status < 500:
        reported = 400
    if ctx.on("not-found-status-code-400") and status == 404:
        reported = 400
    document: dict[str, Any] = {
        "api_response": payload,
        "api_error_message": message,
        "api_server_version": version,
        "api_status_code": reported,
    }
    if ctx.on("envelope-missing-server-version") or not versioned:
        del document["api_server_version"]
    if ctx.on("success-error-message-null") and status == 200 and not message:
        document["api_error_message"] = None
    if ctx.on("success-error-message-ok") and status == 200 and not message:
        document["api_error_message"] = "OK"
    body = json.dumps(document, sort_keys=True, separators=(",", ":"))
    charset = ctx.on("401-json-charset") and status == 401
    return Response(
        body, status, headers, media_type="application/json; charset=utf-8" if charset else "application/json"
    )


def html_page(status: int, title: str, text: str, headers: dict[str, str] | None = None) -> Response:
    """A small HTML page, the kind Werkzeug answers with outside the API handlers."""
    head = f"<!doctype html>\n<html lang=en>\n<title>{title}</title>\n"
    body = f"{head}<h1>{title}</h1>\n<p>{text}</p>\n"
    return Response(body, status, headers, media_type="text/html; charset=utf-8")


def redirect_page(location: str) -> str:
    """The paragraph of a redirect page: a link to where the resource is."""
    link = html.escape(location)
    return f'This resource lives at <a href="{link}">{link}</a>; follow that link.'


def text_response(text: str, status: int = 200) -> Response:
    """A bare text answer (health probes)."""
    return Response(text, status, media_type="text/html; charset=utf-8")


def set_cookie(response: Response, name: str, value: str, *, http_only: bool = False) -> None:
    """Add a session-lifetime cookie for the whole site."""
    flags = "; HttpOnly" if http_only else ""
    response.raw_headers.append((b"set-cookie", f"{name}={value}{flags}; Path=/".encode()))


def clear_cookie(response: Response, name: str, *, lifetime: int = 0) -> None:
    """Tell the browser to drop a cookie now (`lifetime` other than 0 only to inject a fault)."""
    expires = _EXPIRED if not lifetime else "Fri, 01 Jan 2100 00:00:00 GMT"
    value = f"{name}=; Expires={expires}; Max-Age={lifetime}; Path=/"
    response.raw_headers.append((b"set-cookie", value.encode()))


def parse_json(body: bytes) -> Any:
    """A JSON body, or BadBody."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadBody(str(exc)) from None


def parse_form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the first value of each name)."""
    values: dict[str, str] = {}
    for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True):
        values.setdefault(name, value)
    return values


def _header_param(header: str, value: str, param: str) -> str | None:
    message = Message()
    message[header] = value
    found = message.get_param(param, header=header)
    return found if isinstance(found, str) else None


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """Split a multipart/form-data body into plain fields and file parts (with a file name)."""
    boundary = _header_param("content-type", content_type, "boundary")
    if not boundary:
        raise BadBody("multipart body without a boundary")
    fields: dict[str, str] = {}
    uploads: dict[str, Upload] = {}
    sections = body.split(b"--" + boundary.encode("latin-1"))
    if len(sections) < 2:
        raise BadBody("multipart body without parts")
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        head, separator, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise BadBody("multipart part without headers")
        content = content.removesuffix(b"\r\n")
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value.strip()
        name = _header_param("content-disposition", disposition, "name")
        if name is None:
            continue
        filename = _header_param("content-disposition", disposition, "filename")
        if filename is not None:
            uploads.setdefault(name, Upload(filename, content))
        else:
            fields.setdefault(name, content.decode("utf-8", "replace"))
    return fields, uploads
