"""The official assemblyline_client, unchanged, against the Assemblyline reference server."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from assemblyline_client import ClientError, get_client

from contractgate.servers import RunningServer, serve_in_thread
from contractgate.servers.assemblyline import AssemblylineServer

CONTENT = b"contractgate interop probe\n"


@pytest.fixture(scope="module")
def running() -> Iterator[RunningServer]:
    with serve_in_thread(AssemblylineServer(analysis_seconds=0.2)) as live:
        yield live


@pytest.fixture
def server(running: RunningServer) -> Iterator[AssemblylineServer]:
    server = running.server
    assert isinstance(server, AssemblylineServer)
    server.reset()
    server.switch.set([])
    yield server
    server.switch.set([])


def connect(running: RunningServer, key: str = "APIKEY", target: str = "assemblyline", **options: Any) -> Any:
    """A client logged in with an API key, the way the docs' Python examples do it."""
    credentials = running.server.credentials
    options.setdefault("retries", 2)
    return get_client(
        running.urls[target],
        apikey=(credentials["USER"], credentials[key]),
        verify=False,
        **options,
    )


def test_apikey_login_and_whoami(running: RunningServer, server: AssemblylineServer) -> None:
    paths: list[str] = []
    client = connect(running, debug=paths.append)
    assert client.current_user == "admin"
    me = client.user.whoami()
    assert me["username"] == "admin"
    assert "submission_create" in me["roles"]
    assert client.get_remaining_api_quota() > 0
    # the client logs in with a session (POST api/v4/auth/login/), not with X-USER / X-APIKEY
    assert "api/v4/auth/login/" in paths
    assert all(path.partition("?")[0].endswith("/") for path in paths)


def test_search_with_paging_and_the_stream(running: RunningServer, server: AssemblylineServer) -> None:
    client = connect(running)
    total = len(server.state.submissions)
    first = client.search.submission("*", rows=10, offset=5, fl="sid")
    assert (first["rows"], first["offset"], first["total"]) == (10, 5, total)
    assert len(first["items"]) == 10
    streamed = [item["sid"] for item in client.search.stream.submission("*", fl="sid")]
    assert len(streamed) == total
    assert set(streamed) == set(server.state.submissions)


def test_submit_a_file_then_read_the_submission(
    running: RunningServer, server: AssemblylineServer, tmp_path: Path
) -> None:
    client = connect(running)
    sample = tmp_path / "interop-sample.txt"
    sample.write_bytes(CONTENT)
    created = client.submit(path=str(sample), metadata={"ticket": "CG-1"})
    assert isinstance(created["sid"], str)
    assert created["files"][0] == {
        "name": "interop-sample.txt",
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "size": len(CONTENT),
    }
    assert created["metadata"] == {"ticket": "CG-1"}
    again = client.submission(created["sid"])
    assert again["sid"] == created["sid"]
    deadline = time.monotonic() + 5
    while not client.submission.is_completed(created["sid"]):
        assert time.monotonic() < deadline, "the submission never completed"
        time.sleep(0.05)
    assert client.submission(created["sid"])["state"] == "completed"
    inline = client.submit(content=b"inline bytes", fname="inline.bin")
    assert inline["files"][0]["name"] == "inline.bin"


def test_ingest_and_its_notification(running: RunningServer, server: AssemblylineServer) -> None:
    client = connect(running)
    answer = client.ingest(content=CONTENT, fname="ingested.txt", nq="contractgate-nq", nt=100)
    assert set(answer) == {"ingest_id"}
    deadline = time.monotonic() + 5
    message = None
    while message is None and time.monotonic() < deadline:
        message = client.ingest.get_message("contractgate-nq")
        time.sleep(0.05)
    assert message is not None
    assert message["ingest_id"] == answer["ingest_id"]
    assert message["submission"]["params"]["type"] == "AL_CLIENT"


def test_errors_become_client_errors(running: RunningServer, server: AssemblylineServer) -> None:
    client = connect(running)
    with pytest.raises(ClientError) as missing:
        client.submission("0000000000000000000000")
    assert missing.value.status_code == 404
    assert str(missing.value) == "Submission ID 0000000000000000000000 does not exists."
    reader = connect(running, "APIKEY_READ")
    with pytest.raises(ClientError) as denied:
        reader.submit(content=CONTENT, fname="denied.txt")
    assert denied.value.status_code == 403
    assert "submission_create" in str(denied.value)
    with pytest.raises(ClientError) as refused:
        get_client(running.urls["assemblyline"], apikey=("admin", "contractgate_rw:wrong"), retries=1)
    assert refused.value.status_code == 401
    assert str(refused.value) == "Invalid user or APIKey"


def test_the_client_retries_concurrent_quota_503s(running: RunningServer, server: AssemblylineServer) -> None:
    # A concurrent-quota 503 is retried until the retries run out, then reported as a 429.
    with pytest.raises(ClientError) as exhausted:
        connect(running, target="assemblyline-quota", retries=2)
    assert exhausted.value.status_code == 429
