"""What every reference server shares: the TLS switch and the CA handed to clients."""

from __future__ import annotations

import ssl
import threading

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from contractgate.servers import App, ReferenceServer, serve_in_thread


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
