"""Werkzeug-style routing: rules ending in `/`, strict-slash redirects, merged slashes, 404, 405."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

from starlette.responses import Response

from ._context import Call, Ctx

__all__ = ["Endpoint", "Routed", "Router", "View"]

View = Callable[[Ctx, Call], Response]
_VARIABLE = re.compile(r"<([a-z_]+)>")


@dataclass(frozen=True)
class Endpoint:
    """One route: its rule, verbs, view and the api_login settings that guard it."""

    rule: str
    methods: frozenset[str]
    view: View
    description: str
    roles: frozenset[str] = frozenset()
    protected: bool = True
    counts: bool = True

    @property
    def name(self) -> str:
        """The view's name, as the API list shows it."""
        return self.view.__name__.lstrip("_")

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        pieces = _VARIABLE.split(self.rule)
        regex = "".join(f"(?P<{piece}>[^/]+)" if index % 2 else re.escape(piece) for index, piece in enumerate(pieces))
        return re.compile(regex)

    def match(self, path: str, ignore_case: bool = False) -> dict[str, str] | None:
        """The route variables when `path` fits this rule exactly, else None."""
        flags = re.IGNORECASE if ignore_case else 0
        found = re.fullmatch(self._pattern.pattern, path, flags)
        return dict(found.groupdict()) if found else None

    @property
    def allowed(self) -> frozenset[str]:
        """Every verb the route answers: its own, HEAD with GET, and OPTIONS always."""
        extra = {"OPTIONS"} | ({"HEAD"} if "GET" in self.methods else set())
        return self.methods | extra


@dataclass(frozen=True)
class Routed:
    """What routing decided for one request."""

    outcome: Literal["view", "options", "redirect", "not-allowed", "not-found"]
    endpoint: Endpoint | None = None
    args: dict[str, str] = field(default_factory=dict)
    location: str = ""
    allow: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RoutingQuirks:
    """Deviations from Werkzeug's defaults (used only to inject faults)."""

    merge_slashes: bool = True
    ignore_case: bool = False
    serve_slashless: bool = False
    slashless_wrong_verb_405: bool = False


class Router:
    """Matches paths against the rules the way Werkzeug does with strict slashes."""

    def __init__(self, endpoints: Iterable[Endpoint]) -> None:
        self.endpoints = list(endpoints)

    def _exact(self, path: str, ignore_case: bool) -> list[tuple[Endpoint, dict[str, str]]]:
        found = []
        for endpoint in self.endpoints:
            args = endpoint.match(path, ignore_case)
            if args is not None:
                found.append((endpoint, args))
        return found

    def route(self, method: str, path: str, quirks: RoutingQuirks = RoutingQuirks()) -> Routed:
        """Decide how a request is answered: a view, OPTIONS, a redirect, 405 or 404."""
        if quirks.merge_slashes and "//" in path:
            merged = re.sub("/{2,}", "/", path)
            if any(method in e.allowed for e, _ in self._exact(merged, quirks.ignore_case)):
                return Routed("redirect", location=merged)
        exact = self._exact(path, quirks.ignore_case)
        if exact:
            allow = frozenset().union(*(endpoint.allowed for endpoint, _ in exact))
            if method == "OPTIONS":
                return Routed("options", allow=allow)
            for endpoint, args in exact:
                if method in endpoint.allowed:
                    return Routed("view", endpoint, args)
            return Routed("not-allowed", allow=allow)
        if not path.endswith("/"):
            slashed = self._exact(path + "/", quirks.ignore_case)
            fitting = [(e, args) for e, args in slashed if method in e.allowed]
            if fitting and quirks.serve_slashless:
                endpoint, args = fitting[0]
                return Routed("view", endpoint, args)
            if fitting:
                return Routed("redirect", location=path + "/")
            if slashed and quirks.slashless_wrong_verb_405:
                allow = frozenset().union(*(endpoint.allowed for endpoint, _ in slashed))
                return Routed("not-allowed", allow=allow)
        return Routed("not-found")
