"""What every reference server shares: the TLS switch, the CA handed to clients, serving in process."""

from __future__ import annotations

import ssl
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

from contractgate.servers import App, ReferenceServer, RunningServer, serve_in_process, serve_in_thread


async def _scheme(request: Request) -> JSONResponse:
    return JSONResponse({"scheme": request.url.scheme})


class _Echo(ReferenceServer):
    """Answers the scheme it was reached over, on a default app and on one forced to plain HTTP."""

    vendor = "echo"

    def build_apps(self) -> list[App]:
        asgi = Starlette(routes=[Route("/scheme", _scheme)])
        return [App("echo", asgi), App("echo-http", asgi, tls=False)]


class _SecureEcho(_Echo):
    tls = True


def test_a_plain_server_has_no_ca_and_http_urls() -> None:
    with serve_in_thread(_Echo()) as running:
        assert running.ca_pem is None
        assert all(url.startswith("http://127.0.0.1:") for url in running.urls.values())
        assert httpx.get(running.urls["echo"] + "/scheme").json() == {"scheme": "http"}


def test_a_tls_server_is_https_verified_by_its_ca_only() -> None:
    with serve_in_thread(_SecureEcho()) as running:
        assert running.ca_pem is not None
        assert running.ca_pem.read_text().startswith("-----BEGIN CERTIFICATE")
        secure, plain = running.urls["echo"], running.urls["echo-http"]
        assert secure.startswith("https://127.0.0.1:")
        assert plain.startswith("http://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(running.ca_pem))
        assert httpx.get(secure + "/scheme", verify=trusting).json() == {"scheme": "https"}
        assert httpx.get(plain + "/scheme").json() == {"scheme": "http"}
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(secure + "/scheme")  # the system store does not know the run's CA
        ca_file = running.ca_pem
    assert not ca_file.exists()  # the CA lives as long as the server


def test_every_start_makes_a_new_ca() -> None:
    with serve_in_thread(_SecureEcho()) as first, serve_in_thread(_SecureEcho()) as second:
        assert first.ca_pem is not None
        assert second.ca_pem is not None
        assert first.ca_pem.read_text() != second.ca_pem.read_text()
        other = ssl.create_default_context(cafile=str(second.ca_pem))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(first.urls["echo"] + "/scheme", verify=other)


def test_a_tls_server_stops_although_a_client_keeps_its_connection_open() -> None:
    """A client's idle keep-alive TLS connection must not hold the server up until the join gives up (5 s each)."""
    before = {thread.name for thread in threading.enumerate()}
    with serve_in_thread(_SecureEcho()) as running:
        assert running.ca_pem is not None
        client = httpx.Client(verify=ssl.create_default_context(cafile=str(running.ca_pem)))
        assert client.get(running.urls["echo"] + "/scheme").json() == {"scheme": "https"}
        ours = {thread.name for thread in threading.enumerate()} - before
    try:
        assert [t.name for t in threading.enumerate() if t.name in ours and t.is_alive()] == []
    finally:
        client.close()


async def _echo(request: Request) -> Response:
    """What the app saw of the request, and an answer whose framing uvicorn completes (no content-length)."""
    seen = {
        "method": request.method,
        "path": request.url.path,
        "raw_path": request.scope["raw_path"].decode(),
        "query": request.url.query,
        "scheme": request.url.scheme,
        "client": request.client.host if request.client else None,
        "body": (await request.body()).decode(),
        "x": request.headers.get("x-test"),
    }
    if request.query_params.get("stream"):
        return StreamingResponse(iter([b"a", b"b"]), media_type="text/plain")
    return JSONResponse(seen, headers={"x-answer": "yes"})


async def _boom(request: Request) -> Response:
    raise RuntimeError("the app fails before answering")


class _Probe(ReferenceServer):
    vendor = "probe"
    tls = True

    def build_apps(self) -> list[App]:
        routes = [Route("/echo/{rest:path}", _echo, methods=["GET", "HEAD", "POST"]), Route("/boom", _boom)]
        asgi = Starlette(routes=[Mount("/api", routes=routes)])
        return [App("probe", asgi, base_path="/api"), App("probe-http", asgi, base_path="/api", tls=False)]


PROBES = [
    ("GET", "/echo/a%2Fb/c?q=1&q=%20x", None, {"x-test": "1"}),
    ("POST", "/echo/post", b'{"a": 1}', {"content-type": "application/json"}),
    ("HEAD", "/echo/head", None, {}),
    ("GET", "/echo/s?stream=1", None, {"connection": "close"}),
    ("GET", "/echo/fwd", None, {"x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "http"}),
    ("GET", "/nowhere", None, {}),
    # Last on its connection: after an app fails, uvicorn closes the connection, and a request sent next on the kept
    # connection fails on a socket (the in-process transport has no connection to lose).
    ("GET", "/boom", None, {}),
]


def _answers(running: RunningServer, client: httpx.Client) -> list[tuple[int, list[tuple[str, str]], bytes]]:
    answers = []
    for target in ("probe", "probe-http"):
        for method, path, body, headers in PROBES:
            response = client.request(method, running.urls[target] + path, content=body, headers=headers)
            kept = [(name, value) for name, value in response.headers.multi_items() if name != "date"]
            answers.append((response.status_code, kept, response.content))
    return answers


def test_an_in_process_server_answers_as_the_same_server_on_a_socket() -> None:
    """Status, headers (but the time in `date`) and bytes alike: the kill matrix may use either."""
    with serve_in_thread(_Probe()) as running:
        assert running.transport is None
        assert running.ca_pem is not None
        with httpx.Client(verify=ssl.create_default_context(cafile=str(running.ca_pem))) as client:
            on_socket = _answers(running, client)
    with serve_in_process(_Probe()) as running:
        assert running.transport is not None
        with httpx.Client(transport=running.transport) as client:
            in_process = _answers(running, client)
            assert client.get(running.urls["probe"] + "/echo/x").headers["date"].endswith(" GMT")
    assert in_process == on_socket
    statuses = [status for status, _, _ in on_socket]
    assert statuses.count(500) == 2  # the failing app was probed on both apps
    assert statuses.count(404) == 2  # and the unknown path
    assert b'"scheme":"https"' in on_socket[0][2]
    assert b'"scheme":"http"' in on_socket[len(PROBES)][2]


def test_an_in_process_server_is_reached_only_at_its_own_urls() -> None:
    with serve_in_process(_Probe()) as running, httpx.Client(transport=running.transport) as client:
        secure = httpx.URL(running.urls["probe"])
        with pytest.raises(httpx.ConnectError, match="nothing serves"):
            client.get(secure.copy_with(scheme="http").join("/api/echo/x"))  # the TLS app's port, in plain HTTP
        with pytest.raises(httpx.ConnectError, match="nothing serves"):
            client.get("http://127.0.0.1:1/api/echo/x")
