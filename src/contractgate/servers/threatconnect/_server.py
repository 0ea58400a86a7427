"""The ThreatConnect reference server: a licensed and an unlicensed target over one store."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .._base import App, Fault, ReferenceServer
from ._app import MOUNT, build_app
from ._data import Store, seed
from ._faults import FAULTS
from ._next import NEXT_RELEASE

__all__ = ["ThreatConnectServer"]

_TOKEN_TAIL = "3hZk9P0cR2vW8xL5nT1yB6uF4sJ7qM0eA9dG2iK5oC8="
_EXPIRED_TAIL = "Vb8nQ2xK5mT9rL3wP7zC1yF4hJ6sD0gA2eU5iO8pR1s="


class ThreatConnectServer(ReferenceServer):
    """ThreatConnect v2/v3 as documented: HTTPS at /api, an unlicensed twin that answers 503, and plain HTTP refused."""

    vendor = "threatconnect"
    tls = True
    _store: Store
    faults: Mapping[str, Fault] = FAULTS
    next_release = NEXT_RELEASE
    default_credentials: Mapping[str, str] = {
        "ACCESS_ID": "48210937561204938275",
        "SECRET_KEY": "kT9vQ2mXr7LwP4zH8nB1cF6yJ3sD5gA0eU2iO7pR9tV4xW1qZ6cM8bN3lK5jH2fD",
        "API_TOKEN": "APIV2:412:Qm7tVx:1767225600000:" + _TOKEN_TAIL,
        "EXPIRED_API_TOKEN": "APIV2:412:Lr4nEw:1704067200000:" + _EXPIRED_TAIL,
    }

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        faults: Iterable[str] = (),
        **options: Any,
    ) -> None:
        self._lock = threading.Lock()
        super().__init__(credentials, faults, **options)  # calls reset(), which seeds the store

    def reset(self) -> None:
        """Restore the seeded data (drops indicators created or deleted by write rules)."""
        fresh = seed()
        with self._lock:
            self._store = fresh

    @property
    def store(self) -> Store:
        """The current data."""
        return self._store

    @property
    def lock(self) -> threading.Lock:
        """Serialises requests that touch the store."""
        return self._lock

    def build_apps(self) -> list[App]:
        """The licensed instance (over HTTPS, and its plain-HTTP port) and an unlicensed one, the API under /api."""
        licensed = build_app(self, licensed=True)
        return [
            App("threatconnect", licensed, MOUNT),
            App("threatconnect-unlicensed", build_app(self, licensed=False), MOUNT),
            App("threatconnect-http", licensed, MOUNT, tls=False),
        ]
