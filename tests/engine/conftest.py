"""Fixtures for the engine's tests: the mini vendor, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from contractgate._contract import Contract
from contractgate._loader import load_contract
from contractgate.servers import RunningServer, serve_in_thread
from tests.fixtures.mini_server import MiniServer

FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture(scope="session")
def mini_contract() -> Contract:
    """The mini vendor's contract."""
    return load_contract(FIXTURES / "mini.yaml")


@pytest.fixture(scope="session")
def mini_running() -> Iterator[RunningServer]:
    """A mini server on loopback; tests that flip faults must switch them back."""
    with serve_in_thread(MiniServer()) as running:
        yield running
