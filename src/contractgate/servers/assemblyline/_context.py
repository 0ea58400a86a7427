"""What a view sees: the server's state and switches, and the request with its caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from starlette.datastructures import Headers, QueryParams

from .._base import FaultSwitch
from ._data import ApiKey, Session, State, User

__all__ = ["Call", "Ctx", "Identity"]


@dataclass(frozen=True)
class Identity:
    """The authenticated caller and the roles this request may use."""

    user: User
    roles: frozenset[str]
    via: Literal["apikey", "session"]
    key: ApiKey | None = None
    session: Session | None = None


@dataclass(frozen=True)
class Ctx:
    """The server side of a request: state, fault switches, options and which app answers."""

    state: State
    switch: FaultSwitch
    options: Mapping[str, object]
    quota_exhausted: bool = False

    def on(self, fault: str) -> bool:
        """Whether a fault is injected right now."""
        return self.switch.on(fault)


@dataclass
class Call:
    """One request, already read: method, path, headers, query, body, route variables, caller."""

    method: str
    path: str
    raw_query: str
    base_url: str
    headers: Headers
    query: QueryParams
    cookies: Mapping[str, str]
    body: bytes
    args: dict[str, str] = field(default_factory=dict)
    identity: Identity | None = None

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, or None when the request has none."""
        return self.headers.get("content-type")

    def caller(self) -> Identity:
        """The authenticated caller (views behind authentication only)."""
        if self.identity is None:
            raise RuntimeError("this view needs an authenticated caller")
        return self.identity
