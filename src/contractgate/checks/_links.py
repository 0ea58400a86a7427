"""Kind `links`: references in responses are relative, well-formed, and resolve to their object."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from .._contract import Expect, Regex, RequestSpec
from .._errors import NothingToCheck, Violation
from .._expect import json_body
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["LinksParams", "references"]

_URLISH = re.compile(r"^(/|[a-z][a-z0-9+.-]*://)", re.IGNORECASE)


class LinksParams(Params):
    """Where to start, what a reference must look like, and how far to follow."""

    requests: list[RequestSpec]
    pattern: Regex = "^/"
    fields: list[str] | None = None
    ignore_fields: list[str] = []
    self_field: str = "self"
    allow_empty: bool = True
    max_follow: int = 40
    follow: Expect = Expect(status=200)
    not_followed: Regex | None = None


def references(node: Any, params: LinksParams, trail: str = "") -> Iterator[tuple[str, str]]:
    """(where, value) for every string that is a reference: a listed field, or any URL-like string."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{trail}.{key}" if trail else key
            if key in params.ignore_fields:
                continue
            listed = params.fields is None or key in params.fields or key == params.self_field
            if (
                isinstance(value, str)
                and listed
                and (params.fields is not None or _URLISH.match(value) or key == params.self_field)
            ):
                yield where, value
            elif isinstance(value, list) and all(isinstance(v, str) for v in value) and value and listed:
                for index, item in enumerate(value):
                    if params.fields is not None or _URLISH.match(item):
                        yield f"{where}.{index}", item
            else:
                yield from references(value, params, where)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from references(item, params, f"{trail}.{index}" if trail else str(index))


def links_cost(plan: CostContext, params: LinksParams) -> Cost:
    """The start requests, then up to `max_follow` references (exact when the answers hold that many)."""
    cost = Cost(exact=False)
    for spec in params.requests:
        plan.add(cost, spec)
    if params.requests:
        plan.add(cost, params.requests[0].model_copy(update={"method": "GET"}), params.max_follow)
    return cost


@registry.register("links", LinksParams, links_cost)
def check_links(ctx: CheckContext, params: LinksParams) -> None:
    """Every reference matches the pattern (or is empty), and following it returns that object."""
    pending: list[tuple[str, str]] = []
    # A start answer is the object its own URI names when following that URI would send the same request:
    # its self is judged on the answer in hand instead of asking again.
    in_hand: dict[str, Any] = {}
    for spec in params.requests:
        response = ctx.send(spec)
        ctx.expect(response, params.follow, context=f"start {spec.path}")
        document = json_body(response)
        if spec == _follow_spec(params.requests[0], spec.path):
            in_hand[spec.path] = document
        for where, value in references(document, params):
            pending.append((f"{spec.path} json {where}", value))
    if not any(value for _, value in pending):
        starts = ", ".join(spec.path for spec in params.requests)
        raise NothingToCheck(f"no reference in the responses of {starts}")
    for where, value in pending:
        _well_formed(where, value, params)
    followed: set[str] = set()
    base_spec = params.requests[0]
    for where, value in pending:
        if not value or value in followed or len(followed) >= params.max_follow:
            continue
        if params.not_followed is not None and re.search(params.not_followed, value):
            continue  # the vendor documents no way to read this reference back
        followed.add(value)
        if value in in_hand:
            document = in_hand[value]
        else:
            response = ctx.send(_follow_spec(base_spec, value))
            ctx.expect(response, params.follow, context=f"following {value} (from {where})")
            document = json_body(response)
        if isinstance(document, dict) and params.self_field:
            own = document.get(params.self_field)
            if own != value:
                raise Violation(
                    "the referenced object names another URI as itself",
                    expected=value,
                    got=own,
                    where=f"{value} json {params.self_field}",
                )


def _follow_spec(base: RequestSpec, value: str) -> RequestSpec:
    """The GET that follows a reference: the first start request's target, auth and headers, at the reference."""
    path, _, query = value.partition("?")
    return base.model_copy(
        update={"path": path, "query": None, "raw_query": query or None, "method": "GET", "json_body": None}
    )


def _well_formed(where: str, value: str, params: LinksParams) -> None:
    if value == "":
        if not params.allow_empty:
            raise Violation(
                "an empty reference",
                expected=f"a URI matching {params.pattern}",
                got=value,
                where=where,
            )
        return
    if not re.search(params.pattern, value):
        raise Violation(
            "a reference is not a relative URI of the documented form",
            expected=params.pattern,
            got=value,
            where=where,
        )
