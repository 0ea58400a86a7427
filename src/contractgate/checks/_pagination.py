"""Kind `pagination`: paging properties checked over page windows that hypothesis draws."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

import httpx
from hypothesis import strategies as st
from pydantic import Field, model_validator

from .._contract import Expect, RequestSpec
from .._errors import BudgetExhausted, NothingToCheck, Violation
from .._expect import MISSING, json_body, resolve
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry
from ._vacuity import Tally

__all__ = ["Cursor", "PaginationParams"]

Property = Literal[
    "defaults",
    "window",
    "max-limit",
    "total-presence",
    "next-link",
    "prev-link",
    "walk",
    "echo",
    "cursor-walk",
]


class Cursor(Params):
    """Cursor (deep) paging: the parameter, its first value, and where the next value is."""

    param: str
    first: str
    next: str


class PaginationParams(Params):
    """Where the listing is, how it pages, and which property this rule checks."""

    property: Property
    request: RequestSpec
    style: Literal["offset", "page"] = "offset"
    start_param: str
    limit_param: str
    default_start: int = 0
    default_limit: int
    max_limit: int | None = None
    items: str
    item_key: str
    total: str | None = None
    total_presence: Literal["always", "first-page", "on-request", "never"] = "always"
    total_request: dict[str, str] = {}
    echo: dict[Literal["start", "limit"], str] = {}
    next: str | None = None
    prev: str | None = None
    over_limit: Expect | None = None
    cursor: Cursor | None = None
    ok: Expect = Expect(status="2xx")
    walk_limit: int = 100
    # The page budget of every walk (the reference walk, `walk`, `cursor-walk`): a walk that reaches it
    # before the last page is an error ("page budget exhausted"), never a claim about pages it did not see.
    max_pages: int = Field(default=200, ge=1)
    examples: int = 12
    # How many items the plan assumes the listing holds (e.g. the fixture the rule is recorded against):
    # the walks' request count depends on it. Unset, the plan counts the most the page budget allows.
    listing_size: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _needs(self) -> PaginationParams:
        needed = {
            "max-limit": ("max_limit", "over_limit"),
            "total-presence": ("total",),
            "next-link": ("next",),
            "prev-link": ("prev",),
            "echo": ("echo",),
            "cursor-walk": ("cursor",),
        }.get(self.property, ())
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"property {self.property!r} needs {', '.join(missing)}")
        return self


def _hashable(key: Any) -> Any:
    return key if isinstance(key, str | int | float | bool) or key is None else repr(key)


class _PageGuard:
    """One walk's page budget, and the detector that stops at once when the server does not advance."""

    def __init__(self, params: PaginationParams, what: str) -> None:
        self.budget = params.max_pages
        self.what = what
        self.pages = 0
        self._pages: dict[tuple[Any, ...], str] = {}
        self._keys: dict[Any, str] = {}

    def next_page(self) -> None:
        """Count a page about to be fetched; raise BudgetExhausted past the budget."""
        if self.pages >= self.budget:
            raise BudgetExhausted(
                f"page budget exhausted: {self.what} fetched {self.pages} pages (max_pages={self.budget}) "
                "without reaching the last one"
            )
        self.pages += 1

    def seen(self, keys: list[Any], label: str) -> None:
        """Raise a Violation when a page repeats an earlier page or an item already seen in this walk."""
        if not keys:
            return
        signature = tuple(_hashable(key) for key in keys)
        if signature in self._pages:
            raise Violation(
                "a page repeats an earlier page: the server did not advance to the requested page",
                expected=f"the items after those of {self._pages[signature]}",
                got=f"the same {len(keys)} items {list(keys[:3])}",
                where=label,
            )
        self._pages[signature] = label
        repeated = [key for key in signature if key in self._keys]
        if repeated:
            raise Violation(
                "paging returned an item twice",
                expected="each item once",
                got=f"{repeated[:5]} (first returned by {self._keys[repeated[0]]})",
                where=label,
            )
        self._keys.update(dict.fromkeys(signature, label))


class _Listing:
    """Requests for page windows of one listing, and the item keys they return."""

    def __init__(self, ctx: CheckContext, params: PaginationParams) -> None:
        self.ctx = ctx
        self.params = params

    def query(self, start: int | None, limit: int | None, extra: dict[str, str] | None = None) -> dict[str, Any]:
        query: dict[str, Any] = dict(self.params.request.query or {})
        if start is not None:
            query[self.params.start_param] = start
        if limit is not None:
            query[self.params.limit_param] = limit
        query.update(extra or {})
        return query

    def fetch(
        self,
        start: int | None,
        limit: int | None,
        extra: dict[str, str] | None = None,
        label: str = "",
    ) -> tuple[httpx.Response, Any]:
        spec = self.params.request.model_copy(update={"query": self.query(start, limit, extra), "raw_query": None})
        response = self.ctx.send(spec)
        self.ctx.expect(response, self.params.ok, context=label or self.label(start, limit))
        return response, json_body(response)

    def base(self) -> str:
        """The base URL of the target the listing lives on."""
        spec = self.params.request
        name = spec.target or self.ctx.contract.defaults.target
        assert name is not None
        return self.ctx.targets.base(self.ctx.contract, name, spec.region)[1]

    def label(self, start: int | None, limit: int | None) -> str:
        return f"page window {self.params.start_param}={start} {self.params.limit_param}={limit}"

    def keys(self, document: Any, label: str) -> list[Any]:
        found = resolve(document, self.params.items)
        if not found:
            if document is not MISSING and isinstance(document, dict):
                return []  # an empty page may leave the item list out
            raise Violation(
                "the page has no item list",
                expected=f"an array at {self.params.items}",
                got=document,
                where=label,
            )
        items = found[0][1]
        if not isinstance(items, list):
            raise Violation(
                "the item list is not an array",
                expected="array",
                got=items,
                where=f"{label}: json {self.params.items}",
            )
        keys = []
        for item in items:
            key = resolve(item, self.params.item_key)
            if not key:
                raise Violation("an item has no key", expected=self.params.item_key, got=item, where=label)
            keys.append(key[0][1])
        return keys

    def _really_empty(self, limit: int) -> None:
        """An empty walk proves nothing: NothingToCheck, or a Violation when the unpaged listing has items."""
        _, document = self.fetch(None, None, label="no paging parameters (the walk found no item)")
        unpaged = self.keys(document, "no paging parameters")
        if unpaged:
            raise Violation(
                "the listing has items, but paging from the documented first page returns none",
                expected=f"the items of the listing from {self.params.start_param}={self.params.default_start}",
                got=f"no item; without paging parameters: {len(unpaged)} items starting {unpaged[:3]}",
                where=self.label(self.params.default_start, limit),
            )
        raise NothingToCheck(f"the listing {self.params.request.path} returned no items ({self.params.items})")

    def index(self, page_start: int, limit: int) -> int:
        """The item index a page starts at."""
        if self.params.style == "page":
            return (page_start - self.params.default_start) * limit
        return page_start

    def reference(self, needed: bool = True) -> list[Any]:
        """Every item key of the listing, in order, by stepping pages of `walk_limit` items.

        `needed`: the property says nothing about an empty listing, so none is NothingToCheck.
        """
        limit = min(self.params.walk_limit, self.params.max_limit or self.params.walk_limit)
        start, keys = self.params.default_start, []
        announced: Any = MISSING
        guard = _PageGuard(self.params, f"the reference walk of {self.params.request.path}")
        while True:
            guard.next_page()
            _, document = self.fetch(start, limit, label=f"reference walk at {start}")
            if announced is MISSING and self.params.total:
                found = resolve(document, self.params.total)
                announced = found[0][1] if found else MISSING
            page = self.keys(document, self.label(start, limit))
            guard.seen(page, self.label(start, limit))
            keys.extend(page)
            if len(page) < limit:
                break
            start += 1 if self.params.style == "page" else limit
        where = f"listing {self.params.request.path}"
        if needed and not keys:
            self._really_empty(limit)
        duplicates = {key for key in keys if keys.count(key) > 1}
        if duplicates:
            raise Violation(
                "paging returned an item twice",
                expected="each item once",
                got=sorted(map(str, duplicates))[:10],
                where=where,
            )
        if isinstance(announced, int) and announced != len(keys):
            raise Violation(
                "stepping through every page does not yield the announced total",
                expected=f"{announced} items ({self.params.total})",
                got=f"{len(keys)} items",
                where=where,
            )
        return keys


def _run_property(
    ctx: CheckContext,
    params: PaginationParams,
    strategy: st.SearchStrategy[Any],
    boundaries: list[Any],
    body: Callable[[Any], None],
) -> None:
    tally = Tally()
    ctx.run_property(strategy, boundaries, tally.wrap(body), params.examples)
    tally.require(f"no page window of {params.request.path} was tried")


def _windows(listing: _Listing, total: int) -> tuple[st.SearchStrategy[tuple[int, int]], list[tuple[int, int]]]:
    p = listing.params
    top = max(1, min(p.max_limit or total + 2, total + 2))
    first = p.default_start
    if p.style == "page":
        pages = st.integers(first, first + max(1, total) + 1)
        sizes = st.integers(1, top)
        bounds = [
            (first, p.default_limit),
            (first, 1),
            (first + 1, 1),
            (first + total, 1),
            (first + 1, max(1, total - 1)),
        ]
        return st.tuples(pages, sizes), bounds
    starts = st.integers(0, total + 2)
    limits = st.integers(1, top)
    bounds = [
        (0, 1),
        (0, p.default_limit),
        (max(0, total - 1), 1),
        (total, 1),
        (total + 1, 5),
        (1, max(1, total - 1)),
    ]
    return st.tuples(starts, limits), bounds


def _total_of(listing: _Listing, document: Any, label: str) -> Any:
    found = resolve(document, listing.params.total or "")
    return found[0][1] if found else MISSING


def check_defaults(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    reference = listing.reference()
    _, document = listing.fetch(None, None, label="no paging parameters")
    got = listing.keys(document, "no paging parameters")
    expected = reference[: p.default_limit]
    if got != expected:
        raise Violation(
            "without paging parameters the page is not the documented default window "
            f"({p.start_param}={p.default_start}, {p.limit_param}={p.default_limit})",
            expected=f"{len(expected)} items starting {expected[:3]}",
            got=f"{len(got)} items starting {got[:3]}",
            where=f"listing {p.request.path}",
        )


def check_window(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    reference = listing.reference()
    strategy, bounds = _windows(listing, len(reference))

    def window(start_limit: tuple[int, int]) -> None:
        start, limit = start_limit
        _, document = listing.fetch(start, limit)
        got = listing.keys(document, listing.label(start, limit))
        index = listing.index(start, limit)
        expected = reference[index : index + limit]
        if got != expected:
            raise Violation(
                "the page holds the wrong items",
                expected=f"items {index}..{index + len(expected) - 1} ({len(expected)} items) {expected[:3]}",
                got=f"{len(got)} items {got[:3]}",
                where=listing.label(start, limit),
            )

    _run_property(ctx, p, strategy, bounds, window)


def check_max_limit(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    assert p.max_limit is not None
    assert p.over_limit is not None
    _, document = listing.fetch(
        p.default_start,
        p.max_limit,
        label=f"{p.limit_param}={p.max_limit} (the documented maximum)",
    )
    listing.keys(document, f"{p.limit_param}={p.max_limit}")
    spec = p.request.model_copy(update={"query": listing.query(p.default_start, p.max_limit + 1), "raw_query": None})
    response = ctx.send(spec)
    ctx.expect(response, p.over_limit, context=f"{p.limit_param}={p.max_limit + 1} (over the maximum)")


def check_total_presence(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    reference = listing.reference()
    total = len(reference)
    extra = p.total_request if p.total_presence == "on-request" else {}

    def presence(case: tuple[int, bool]) -> None:
        start, asked = case
        label = f"{listing.label(start, 5)}{' with ' + str(extra) if asked and extra else ''}"
        _, document = listing.fetch(start, 5, extra if asked else None, label=label)
        value = _total_of(listing, document, label)
        first = start == p.default_start
        wanted = {
            "always": True,
            "first-page": first,
            "on-request": first and asked,
            "never": False,
        }[p.total_presence]
        if wanted and value is MISSING:
            raise Violation(
                "the total count is missing",
                expected=f"{p.total} present ({p.total_presence})",
                got="absent",
                where=label,
            )
        if not wanted and value is not MISSING:
            raise Violation(
                "the total count must be left out here",
                expected=f"{p.total} absent ({p.total_presence})",
                got=value,
                where=label,
            )
        if wanted and value != total:
            raise Violation(
                "the total count is wrong",
                expected=total,
                got=value,
                where=f"{label}: json {p.total}",
            )

    starts = st.integers(p.default_start, p.default_start + total + 1)
    strategy = st.tuples(starts, st.booleans())
    first = p.default_start
    bounds = [
        (first, True),
        (first, False),
        (first + 1, True),
        (first + 1, False),
        (first + total, True),
    ]
    _run_property(ctx, p, strategy, bounds, presence)


def _link(document: Any, path: str | None) -> Any:
    found = resolve(document, path or "")
    return found[0][1] if found else MISSING


def _link_query(url: str, label: str, name: str) -> dict[str, list[str]]:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise Violation(
            f"the {name} link is not an absolute URL",
            expected="http(s)://host/...",
            got=url,
            where=label,
        )
    return parse_qs(parts.query, keep_blank_values=True)


def check_links(ctx: CheckContext, listing: _Listing, which: Literal["next", "prev"]) -> None:
    p = listing.params
    total = len(listing.reference())
    path = p.next if which == "next" else p.prev

    def link(start_limit: tuple[int, int]) -> None:
        start, limit = start_limit
        label = listing.label(start, limit)
        _, document = listing.fetch(start, limit, label=label)
        value = _link(document, path)
        wanted = start + limit < total if which == "next" else start > p.default_start
        if not wanted:
            if value is not MISSING and value not in (None, ""):
                raise Violation(
                    f"a {which} link where there is no {which} page",
                    expected="absent",
                    got=value,
                    where=f"{label}: json {path}",
                )
            return
        if value is MISSING or not isinstance(value, str):
            raise Violation(f"the {which} link is missing", expected=f"a URL at {path}", got=value, where=label)
        query = _link_query(value, label, which)
        base = listing.base()
        if not value.startswith(base + "/"):
            # A link off the target's base (another scheme such as plain http, another host) takes the
            # client, and the credentials it signs every request with, somewhere the target never was.
            raise Violation(
                f"the {which} link leaves the target's base URL",
                expected=f"{base}/...",
                got=value,
                where=f"{label}: json {path}",
            )
        expected_start = start + limit if which == "next" else max(p.default_start, start - limit)
        original = listing.query(start, limit)
        original[p.start_param] = expected_start
        for key, wanted_value in original.items():
            wanted_values = [
                str(v).lower() if isinstance(v, bool) else str(v)
                for v in (wanted_value if isinstance(wanted_value, list) else [wanted_value])
            ]
            if query.get(key) != wanted_values:
                raise Violation(
                    f"the {which} link does not continue the same query",
                    expected=f"{key}={wanted_values}",
                    got=f"{key}={query.get(key)} in {value}",
                    where=f"{label}: json {path}",
                )

    top = max(1, min(p.max_limit or total, total))
    strategy = st.tuples(st.integers(0, total + 1), st.integers(1, top))
    bounds = [(0, 1), (0, max(1, total - 1)), (0, total), (5, 10), (max(0, total - 1), 1), (1, 3)]
    _run_property(ctx, p, strategy, bounds, link)


def check_walk(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    reference = listing.reference()
    limit = max(1, min(7, len(reference) // 3 or 1))
    seen: list[Any] = []
    guard = _PageGuard(p, f"the walk of {p.request.path}")
    guard.next_page()
    if p.next:
        _, document = listing.fetch(p.default_start, limit, label="walk start")
        page = listing.keys(document, "walk start")
        guard.seen(page, "walk start")
        seen.extend(page)
        url = _link(document, p.next)
        followed: set[str] = set()
        while isinstance(url, str) and url:
            if url in followed:
                raise Violation(
                    f"the {p.next} link does not advance: it repeats a page already visited",
                    expected="a link to the following page",
                    got=url,
                    where=f"walk of {p.request.path}",
                )
            followed.add(url)
            guard.next_page()
            response = ctx.send_url(url, auth=p.request.auth)
            ctx.expect(response, p.ok, context=f"following {p.next} link {url}")
            document = json_body(response)
            page = listing.keys(document, url)
            guard.seen(page, url)
            seen.extend(page)
            url = _link(document, p.next)
    else:
        start = p.default_start
        _, document = listing.fetch(start, limit, label="walk start")
        total = _total_of(listing, document, "walk start") if p.total else MISSING
        page = listing.keys(document, "walk start")
        guard.seen(page, "walk start")
        seen.extend(page)
        remaining = (total - len(page)) if isinstance(total, int) else None
        while (remaining is None and len(page) == limit) or (remaining is not None and remaining > 0):
            start += 1 if p.style == "page" else limit
            guard.next_page()
            _, document = listing.fetch(start, limit)
            page = listing.keys(document, listing.label(start, limit))
            if not page:
                break
            guard.seen(page, listing.label(start, limit))
            seen.extend(page)
            if remaining is not None:
                remaining -= len(page)
    _same_items(seen, reference, f"walk of {p.request.path} with {p.limit_param}={limit}")


def _same_items(seen: list[Any], reference: list[Any], where: str) -> None:
    duplicates = sorted({str(key) for key in seen if seen.count(key) > 1})
    if duplicates:
        raise Violation(
            "the walk returned items twice",
            expected="each item exactly once",
            got=duplicates[:10],
            where=where,
        )
    missing = [key for key in reference if key not in set(seen)]
    if missing or len(seen) != len(reference):
        raise Violation(
            "the walk did not return every item",
            expected=f"{len(reference)} items",
            got=f"{len(seen)} items, missing {missing[:5]}",
            where=where,
        )


def check_echo(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    total = len(listing.reference(needed=False))  # an empty listing still echoes what was asked

    def echoed(start_limit: tuple[int, int]) -> None:
        start, limit = start_limit
        label = listing.label(start, limit)
        _, document = listing.fetch(start, limit, label=label)
        for which, value in (("start", start), ("limit", limit)):
            path = p.echo.get(which)  # type: ignore[call-overload]
            if path is None:
                continue
            got = _link(document, path)
            if got != value:
                raise Violation(
                    f"the response does not echo the requested {which}",
                    expected=value,
                    got=got,
                    where=f"{label}: json {path}",
                )

    first = p.default_start
    strategy = st.tuples(st.integers(first, first + total + 3), st.integers(1, max(1, min(p.max_limit or 50, 50))))
    bounds = [(first, 1), (first + 3, 5), (first + total + 2, 2)]
    _run_property(ctx, p, strategy, bounds, echoed)


def check_cursor_walk(ctx: CheckContext, listing: _Listing) -> None:
    p = listing.params
    assert p.cursor is not None
    reference = listing.reference()

    def walk(limit: int) -> None:
        cursor: Any = p.cursor.first if p.cursor else None
        seen: list[Any] = []
        guard = _PageGuard(p, f"the cursor walk of {p.request.path} with {p.limit_param}={limit}")
        cursors: set[str] = set()
        while True:
            guard.next_page()
            extra = {p.cursor.param: str(cursor)} if p.cursor else {}
            label = f"cursor walk {p.limit_param}={limit} {p.cursor.param if p.cursor else ''}={cursor}"
            _, document = listing.fetch(None, limit, extra, label=label)
            page = listing.keys(document, label)
            guard.seen(page, label)
            seen.extend(page)
            cursors.add(str(cursor))
            cursor = _link(document, p.cursor.next if p.cursor else None)
            if cursor in (MISSING, None, ""):
                break
            if str(cursor) in cursors:
                raise Violation(
                    "the next cursor does not advance: it repeats a cursor already used",
                    expected="a new cursor or none",
                    got=cursor,
                    where=label,
                )
            if len(page) < limit:
                raise Violation(
                    "a short page still carries a next cursor",
                    expected="no next cursor after a short page",
                    got=cursor,
                    where=label,
                )
        _same_items(seen, reference, f"cursor walk with {p.limit_param}={limit}")

    top = max(1, min(p.max_limit or len(reference), len(reference)))
    _run_property(ctx, p, st.integers(max(1, top // 8), top), [top, max(1, len(reference) // 3)], walk)


_WINDOW_BOUNDS = {"offset": 6, "page": 5}
_FIXED_BOUNDS = {"total-presence": 5, "next-link": 6, "prev-link": 6, "echo": 3}


def _reference_pages(params: PaginationParams, size: int) -> int:
    """Pages the reference walk fetches: full pages, then the short (or empty) one that ends it."""
    limit = min(params.walk_limit, params.max_limit or params.walk_limit)
    return size // limit + 1


def _walk_pages(params: PaginationParams, size: int) -> int:
    limit = max(1, min(7, size // 3 or 1))
    if params.next or params.total:  # the walk stops at the last page when told where it is
        return max(1, -(-size // limit))
    return size // limit + 1


def pagination_requests(params: PaginationParams, size: int) -> int:
    """The requests one property sends on a listing of `size` items (drawn windows: `examples` of them)."""
    if params.property == "max-limit":
        return 2
    reference = _reference_pages(params, size)
    draws = max(0, params.examples)
    if params.property == "defaults":
        return reference + 1
    if params.property == "window":
        return reference + _WINDOW_BOUNDS[params.style] + draws
    if params.property == "walk":
        return reference + _walk_pages(params, size)
    if params.property == "cursor-walk":
        top = max(1, min(params.max_limit or size, size))
        limits = [top, max(1, size // 3)] + [max(1, top // 8)] * draws  # drawn limits: the smallest one
        return reference + sum(size // limit + 1 for limit in limits)
    return reference + _FIXED_BOUNDS[params.property] + draws


def pagination_cost(plan: CostContext, params: PaginationParams) -> Cost:
    """The reference walk plus the property's pages, for a listing of `listing_size` items."""
    size = params.listing_size
    exact = params.property == "max-limit" or (
        size is not None and not (params.property == "cursor-walk" and params.examples > 0)
    )
    if size is None:
        size = (params.max_pages - 1) * min(params.walk_limit, params.max_limit or params.walk_limit)
    cost = Cost(exact=exact)
    plan.add(cost, params.request, pagination_requests(params, size))
    return cost


@registry.register("pagination", PaginationParams, pagination_cost)
def check_pagination(ctx: CheckContext, params: PaginationParams) -> None:
    """Check one documented paging property of a listing, over drawn page windows."""
    listing = _Listing(ctx, params)
    match params.property:
        case "defaults":
            check_defaults(ctx, listing)
        case "window":
            check_window(ctx, listing)
        case "max-limit":
            check_max_limit(ctx, listing)
        case "total-presence":
            check_total_presence(ctx, listing)
        case "next-link":
            check_links(ctx, listing, "next")
        case "prev-link":
            check_links(ctx, listing, "prev")
        case "walk":
            check_walk(ctx, listing)
        case "echo":
            check_echo(ctx, listing)
        case "cursor-walk":
            check_cursor_walk(ctx, listing)
