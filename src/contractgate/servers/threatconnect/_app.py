"""The ThreatConnect API as a Starlette app: routes, owner scoping, envelopes, paging, faults."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import Receive, Scope, Send

from .._base import FaultSwitch
from ._data import (
    GROUP_KINDS,
    INDICATOR_KINDS,
    SECURITY_LABELS,
    Attribute,
    DeletedIndicator,
    Group,
    GroupKind,
    Indicator,
    IndicatorKind,
    Owner,
    Store,
    ThreatAssess,
    User,
    indicator_kind,
)
from ._gate import Gate, Received
from ._query import (
    MAX_LIMIT,
    BadQuery,
    Field,
    Window,
    parse_date,
    parse_filters,
    parse_sorting,
    parse_tql,
    parse_window,
)
from ._render import (
    json_response,
    v2_group,
    v2_indicator,
    v2_indicator_row,
    v2_indicator_type,
    v2_label,
    v2_owner,
    v2_tag,
    v2_user,
    v2_xml,
    v2_xml_error,
    v3_deleted,
    v3_group,
    v3_indicator,
    v3_security_owner,
    v3_user,
    xml_response,
)
from ._v3meta import TQL_KEYWORDS, field_options, object_descriptor

__all__ = ["MOUNT", "NOT_FOUND", "NOT_LICENSED", "Backend", "build_app"]

MOUNT = "/api"
NOT_FOUND = "The requested resource was not found"
_LICENCE_HELP = "please contact sales@threatconnect.com if you wish to enable it"
NOT_LICENSED = f"API access has not been licensed for this system, {_LICENCE_HELP}"
# The docs say a request that is not HTTPS gets a 403 but give no text for it.
PLAIN_HTTP = "Requests to the API must use HTTPS"
_API_USER = User("", "Integration", "Account", "IntegrationAcct", "Api User")
_ACTIVE_IN_TQL = re.compile(r"\bactive\b", re.IGNORECASE)

FIELDS: dict[str, Field] = {
    "active": Field("Boolean", lambda i: i.active),
    "confidence": Field("Integer", lambda i: i.confidence),
    "dateAdded": Field("Date", lambda i: i.date_added),
    "description": Field("String", lambda i: i.description),
    "hostName": Field("StringLower", lambda i: i.values.get("hostName")),
    "id": Field("Integer", lambda i: i.id),
    "lastModified": Field("Date", lambda i: i.last_modified),
    "ownerName": Field("String", lambda i: i.owner.name),
    "rating": Field("BigDecimal", lambda i: i.rating),
    "summary": Field("String", lambda i: i.summary),
    "tag": Field("String", lambda i: i.tags),
    "typeName": Field("Enum", lambda i: i.kind.name),
}
V2_FILTER_FIELDS: dict[str, Field] = {
    "summary": FIELDS["summary"],
    "dateAdded": FIELDS["dateAdded"],
    "lastModified": FIELDS["lastModified"],
    "rating": FIELDS["rating"],
    "confidence": FIELDS["confidence"],
    "threatAssessRating": Field("BigDecimal", lambda i: i.threat_assess.rating),
    "threatAssessConfidence": Field("BigDecimal", lambda i: i.threat_assess.confidence),
    "ownerName": FIELDS["ownerName"],
    "tag": FIELDS["tag"],
}


class Backend(Protocol):
    """What the app needs from its server: state, credentials, faults and a lock for writes."""

    @property
    def store(self) -> Store:
        """The current data."""

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials the instance accepts."""

    @property
    def switch(self) -> FaultSwitch:
        """The active faults."""

    @property
    def lock(self) -> threading.Lock:
        """Serialises requests that read or change the store."""


class _Failure(Exception):
    """An error answer: HTTP status and message."""

    def __init__(self, status: int, message: str, *, missing: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.missing = missing


def _missing() -> _Failure:
    return _Failure(404, NOT_FOUND, missing=True)


@dataclass
class _Call:
    """One request, as the handlers see it."""

    request: Request
    version: str
    raw_path: str
    params: list[tuple[str, str]]
    origin: str
    wants_xml: bool
    body: Any

    def param(self, name: str) -> str | None:
        """The first value of a parameter."""
        return next((value for key, value in self.params if key == name), None)

    def values(self, name: str) -> list[str]:
        """Every value of a parameter (comma-separated values split)."""
        found = [value for key, value in self.params if key == name]
        return [part.strip() for value in found for part in value.split(",") if part.strip()]

    def flag(self, name: str) -> bool:
        """Whether a parameter is 'true'."""
        return (self.param(name) or "").lower() == "true"

    def segment(self, after: str) -> str:
        """The one raw (still percent-encoded) segment after `after`; 404 unless exactly one."""
        prefix = MOUNT + after
        rest = self.raw_path[len(prefix) :].rstrip("/") if self.raw_path.startswith(prefix) else ""
        if not rest or "/" in rest:
            raise _missing()
        return rest


Handler = Callable[[_Call], Response]


class _Api:
    """The endpoints; every decision that a fault can change reads the switch per request."""

    def __init__(self, backend: Backend, *, licensed: bool) -> None:
        self.backend = backend
        self.licensed = licensed
        self.gate = Gate(backend.credentials, backend.switch)

    @property
    def store(self) -> Store:
        return self.backend.store

    def on(self, fault: str) -> bool:
        return self.backend.switch.on(fault)

    # --- plumbing ---------------------------------------------------------------------------

    def endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Wrap a handler with licensing, authentication and error rendering."""

        async def run(request: Request) -> Response:
            call = await self._call(request)
            try:
                v3 = call.version == "v3"
                served_plain = self.on("plain-http-served") or (v3 and self.on("plain-http-v3-served"))
                if call.origin.startswith("http://") and not served_plain:
                    raise _Failure(403, PLAIN_HTTP)
                served_unlicensed = self.on("unlicensed-200") or (v3 and self.on("unlicensed-v3-served"))
                if not self.licensed and not served_unlicensed:
                    raise _Failure(503, NOT_LICENSED)
                denial = self.gate.check(self._received(call))
                if denial is not None:
                    raise _Failure(denial.status, denial.message)
                with self.backend.lock:
                    return handler(call)
            except _Failure as failure:
                return self.error(call, failure)
            except BadQuery as bad:
                return self.error(call, _Failure(400, str(bad)))

        return run

    async def _call(self, request: Request) -> _Call:
        scope = request.scope
        raw = scope.get("raw_path") or quote(scope["path"]).encode()
        raw_path = raw.decode("latin-1")
        relative = raw_path.removeprefix(MOUNT)
        version = relative.strip("/").split("/")[0] if relative.strip("/") else ""
        params = list(request.query_params.multi_items())
        body: Any = None
        payload = await request.body()
        if payload:
            try:
                body = json.loads(payload)
            except ValueError:
                body = None
        if (
            request.method == "GET"
            and version == "v3"
            and isinstance(body, dict)
            and isinstance(body.get("data"), dict)
            and not self.on("get-body-ignored")
        ):
            sent = list(_flatten(body["data"]))
            if self.on("get-body-start-ignored"):
                sent = [(key, value) for key, value in sent if key != "resultStart"]
            params += sent
        accept = request.headers.get("accept", "").lower()
        host = request.headers.get("host", "localhost")
        return _Call(
            request=request,
            version=version,
            raw_path=raw_path,
            params=params,
            origin=f"{scope.get('scheme', 'http')}://{host}",
            wants_xml="xml" in accept and "json" not in accept,
            body=body,
        )

    def _received(self, call: _Call) -> Received:
        headers = call.request.headers
        return Received(
            method=call.request.method,
            raw_path=call.raw_path,
            query=call.request.scope.get("query_string", b"").decode("latin-1"),
            authorization=headers.get("authorization"),
            timestamp=headers.get("timestamp"),
            mount=MOUNT,
            version=call.version,
        )

    def json(self, body: Any, status: int = 200) -> Response:
        return json_response(body, status, charset=self.on("json-charset"))

    def error(self, call: _Call, failure: _Failure) -> Response:
        """The documented error body for the request's API version."""
        if call.version == "v3":
            word = "Failure" if self.on("v3-error-status-failure") else "Error"
            charset = self.on("json-charset") or self.on("v3-error-json-charset")
            return json_response({"status": word, "message": failure.message}, failure.status, charset=charset)
        if failure.missing and self.on("missing-resource-500"):
            text = f"Could not find resource for relative : {call.raw_path.removeprefix(MOUNT)}"
            return PlainTextResponse(text, 500)
        # v2 error status word: "Error" as the current docs say (older docs and SDKs: "Failure").
        word = "Failed" if self.on("error-status-word-wrong") else "Error"
        if call.wants_xml and not self.on("xml-ignored"):
            return xml_response(v2_xml_error(word, failure.message), failure.status)
        return self.json({"status": word, "message": failure.message}, failure.status)

    # --- v2 envelopes, owners and paging ----------------------------------------------------

    def v2_success(self, call: _Call, data: dict[str, Any], entity: str, root: str) -> Response:
        if call.wants_xml and not self.on("xml-ignored"):
            if "resultCount" in data and self.on("xml-result-count-off-by-one"):
                data = {**data, "resultCount": data["resultCount"] + 1}
            document = v2_xml(root, entity, data)
            if self.on("xml-owner-type-lower-case"):
                for element in document.findall("Data/Owner/Type"):
                    element.text = (element.text or "").lower()
            if self.on("xml-item-fields-camel-case"):
                _camel_case_item_fields(document)
            return xml_response(document)
        word = "OK" if self.on("v2-status-word-ok") else "Success"
        if root == "tagsResponse" and self.on("tags-status-lower-case"):
            word = "success"
        return self.json({"status": word, "data": data})

    def v2_scope(self, call: _Call) -> list[Owner]:
        """The owners a v2 request reads: the Organization unless `owner` names another."""
        name = call.param("owner")
        if name is not None and not self.on("owner-ignored"):
            named = self.named_owner(name)
            if self.on("v2-owner-adds-org") and self.store.organization not in named:
                named = [*named, self.store.organization]
            return named
        if name is None and self.on("v2-default-all-owners"):
            return self.store.readable_owners()
        return [self.store.organization]

    def named_owner(self, name: str) -> list[Owner]:
        owner = self.store.owner_named(name)
        if owner is None or not owner.readable:
            if self.on("unknown-owner-empty-200"):
                return []
            raise _Failure(404 if self.on("unknown-owner-404") else 403, "Access Denied")
        return [owner]

    def v2_window(self, call: _Call) -> Window:
        clamp = self.on("over-limit-clamped")
        start_text = call.param("resultStart")
        if start_text is not None and self.on("decimal-start-truncated"):
            start_text = re.sub(r"^([0-9]+)\.[0-9]*$", r"\1", start_text)
        window = parse_window(
            start_text,
            call.param("resultLimit"),
            default_limit=50 if self.on("default-limit-50") else 100,
            max_limit=500 if self.on("limit-cap-500") else None if clamp else MAX_LIMIT,
            lenient=self.on("non-integer-limit-ignored"),
        )
        limit = min(window.limit, MAX_LIMIT) if clamp else window.limit
        if self.on("limit-below-10-raised"):
            limit = max(limit, 10)
        return Window(window.start, limit)

    def v2_list(
        self,
        call: _Call,
        items: Sequence[Any],
        entity: str,
        root: str,
        show: Callable[[Any], dict[str, Any]],
    ) -> Response:
        window = self.v2_window(call)
        sliced = window
        if self.on("start-rounded-to-page") and window.limit:
            sliced = Window(window.start // window.limit * window.limit, window.limit)
        if root == "groupsResponse" and window.start > 0 and self.on("v2-groups-start-one-late"):
            sliced = Window(sliced.start + 1, sliced.limit)
        page = sliced.page(items)
        data: dict[str, Any] = {}
        first = window.start == 0 or self.on("result-count-always")
        first = first or (entity == "host" and self.on("host-result-count-on-later-pages"))
        if call.param("resultStart") is not None and self.on("explicit-start-zero-no-result-count"):
            first = False
        if first and not (entity == "host" and self.on("no-result-count")):
            data["resultCount"] = len(page) if self.on("result-count-is-page-size") else len(items)
            if entity == "securityLabel" and self.on("labels-result-count-off-by-one"):
                data["resultCount"] += 1
        data[entity] = [show(item) for item in page]
        return self.v2_success(call, data, entity, root)

    def v2_single(self, call: _Call, entity: str, item: dict[str, Any]) -> Response:
        shown: Any = [item] if self.on("single-indicator-as-list") else item
        return self.v2_success(call, {entity: shown}, entity, f"{entity}Response")

    def includes(self, call: _Call) -> tuple[bool, bool]:
        tags = call.flag("includeTags") and not self.on("include-tags-ignored")
        attributes = call.flag("includeAttributes") or self.on("attributes-always-included")
        return tags, attributes

    def group_includes(self, call: _Call) -> tuple[bool, bool]:
        tags, attributes = self.includes(call)
        return tags and not self.on("group-include-tags-ignored"), attributes

    def listed(self, owners: set[int], *, inactive: bool = False) -> list[Indicator]:
        """The owners' indicators: active ones only, unless asked for or a fault lists all."""
        everything = inactive or self.on("inactive-listed")
        items = self.store.indicators
        return [i for i in items if i.owner.id in owners and (i.active or everything)]

    def v2_indicators_in(self, call: _Call, kind: str | None = None) -> list[Indicator]:
        inactive = self.on("v2-inactive-listed")
        found = self.listed({owner.id for owner in self.v2_scope(call)}, inactive=inactive)
        if kind is not None:
            found = [item for item in found if item.kind.name == kind]
        return self.v2_filtered(call, found)

    def v2_filtered(self, call: _Call, items: list[Indicator]) -> list[Indicator]:
        filters = call.param("filters")
        if filters and not self.on("filters-ignored"):
            inclusive = self.on("filter-bounds-inclusive")
            predicate = parse_filters(filters, V2_FILTER_FIELDS, any_of=call.flag("orParams"), inclusive=inclusive)
            items = [item for item in items if predicate(item)]
        since = call.param("modifiedSince")
        if since and not self.on("modified-since-ignored"):
            moment = parse_date(since)
            items = [item for item in items if item.last_modified >= moment]
        return items

    # --- v2 endpoints -----------------------------------------------------------------------

    def owners(self, call: _Call) -> Response:
        return self.v2_list(call, self.store.readable_owners(), "owner", "ownersResponse", v2_owner)

    def owner_single(self, call: _Call, owner: Owner, count: int = 1) -> Response:
        data: dict[str, Any] = {"owner": v2_owner(owner)}
        if not self.on("owner-single-no-result-count"):
            data = {"resultCount": count, **data}
        return self.v2_success(call, data, "owner", "ownerResponse")

    def owner_mine(self, call: _Call) -> Response:
        return self.owner_single(call, self.store.organization)

    def owner_by_id(self, call: _Call) -> Response:
        owner = self.store.owner_by_id(int(call.request.path_params["owner_id"]))
        if owner is None:
            raise _missing()
        if not owner.readable:
            raise _Failure(403, "Access Denied")
        return self.owner_single(call, owner, 0 if self.on("owner-by-id-result-count-zero") else 1)

    def members(self, call: _Call) -> Response:
        return self.v2_list(call, self.store.users, "user", "usersResponse", v2_user)

    def whoami(self, call: _Call) -> Response:
        user = v2_user(_API_USER, detail=True)
        user["userName"] = self.backend.credentials.get("ACCESS_ID", "")
        if self.on("whoami-user-name-is-pseudonym"):
            user["userName"] = user["pseudonym"]
        if self.on("whoami-no-role"):
            del user["role"]
        return self.v2_success(call, {"user": user}, "user", "userResponse")

    def indicators(self, call: _Call) -> Response:
        found = self.v2_indicators_in(call)
        if call.param("owner") is None and self.on("v2-indicators-all-owners"):
            readable = {owner.id for owner in self.store.readable_owners()}
            found = self.v2_filtered(call, self.listed(readable))
        return self.v2_list(
            call,
            found,
            "indicator",
            "indicatorsResponse",
            lambda item: v2_indicator_row(item, call.origin),
        )

    def indicators_typed(self, call: _Call) -> Response:
        kind = _kind_by_branch(call.request.path_params["branch"])
        tags, attributes = self.includes(call)
        return self.v2_list(
            call,
            self.v2_indicators_in(call, kind.name),
            kind.entity,
            f"{kind.branch}Response",
            lambda item: v2_indicator(item, call.origin, tags=tags, attributes=attributes),
        )

    def v2_indicator_lookup(self, call: _Call) -> Indicator:
        branch = call.request.path_params["branch"]
        kind = _kind_by_branch(branch)
        raw = call.segment(f"/v2/indicators/{branch}/")
        value = raw if self.on("encoded-indicator-404") else unquote(raw)
        for item in self.listed({owner.id for owner in self.v2_scope(call)}):
            if item.kind == kind and item.matches(value):
                return item
        raise _missing()

    def indicator_single(self, call: _Call) -> Response:
        item = self.v2_indicator_lookup(call)
        if call.request.method == "DELETE":
            self.store.indicators.remove(item)
            body: dict[str, Any] = {"status": "Success"}
            if self.on("delete-returns-data"):
                body["data"] = {}
            return self.json(body, 202 if self.on("v2-delete-202") else 200)
        tags, attributes = self.includes(call)
        shown = v2_indicator(item, call.origin, tags=tags, attributes=attributes)
        raw = call.segment(f"/v2/indicators/{call.request.path_params['branch']}/")
        if self.on("encoded-indicator-text-echoed") and "text" in shown and raw != unquote(raw):
            shown["text"] = raw
        return self.v2_single(call, item.kind.entity, shown)

    def v2_groups_in(self, call: _Call, kind: str | None = None) -> list[Group]:
        owners = {owner.id for owner in self.v2_scope(call)}
        return [
            group
            for group in self.store.groups
            if group.owner.id in owners and (kind is None or group.kind.name == kind)
        ]

    def groups(self, call: _Call) -> Response:
        tags, attributes = self.group_includes(call)
        return self.v2_list(
            call,
            self.v2_groups_in(call),
            "group",
            "groupsResponse",
            lambda g: v2_group(g, call.origin, with_type=True, tags=tags, attributes=attributes),
        )

    def groups_typed(self, call: _Call) -> Response:
        kind = _group_kind(call.request.path_params["branch"])
        tags, attributes = self.group_includes(call)
        return self.v2_list(
            call,
            self.v2_groups_in(call, kind.name),
            kind.entity,
            f"{kind.branch}Response",
            lambda g: v2_group(g, call.origin, tags=tags, attributes=attributes),
        )

    def group_single(self, call: _Call) -> Response:
        kind = _group_kind(call.request.path_params["branch"])
        wanted = int(call.request.path_params["group_id"])
        group = next((g for g in self.v2_groups_in(call, kind.name) if g.id == wanted), None)
        if group is None and self.on("missing-group-wrong-message"):
            raise _Failure(404, f"The requested {kind.entity} was not found", missing=True)
        if group is None:
            raise _missing()
        tags, attributes = self.includes(call)
        shown = v2_group(group, call.origin, tags=tags, attributes=attributes)
        return self.v2_success(call, {kind.entity: shown}, kind.entity, f"{kind.entity}Response")

    def tag_names(self, call: _Call) -> tuple[Owner, list[str]]:
        scope = self.v2_scope(call)
        owners = {owner.id for owner in scope}
        names: set[str] = set()
        for item in self.store.indicators:
            if item.owner.id in owners and item.active:
                names.update(item.tags)
        for group in self.store.groups:
            if group.owner.id in owners:
                names.update(group.tags)
        return (scope[0] if scope else self.store.organization), sorted(names)

    def tags(self, call: _Call) -> Response:
        owner, names = self.tag_names(call)

        def show(name: str) -> dict[str, Any]:
            return v2_tag(name, owner, call.origin)

        return self.v2_list(call, names, "tag", "tagsResponse", show)

    def tag_single(self, call: _Call) -> Response:
        owner, names = self.tag_names(call)
        name = call.request.path_params["name"]
        if name not in names:
            raise _missing()
        shown = v2_tag(name, owner, call.origin, detail=True)
        return self.v2_success(call, {"tag": shown}, "tag", "tagResponse")

    def labels(self, call: _Call) -> Response:
        labels = list(SECURITY_LABELS)
        return self.v2_list(call, labels, "securityLabel", "securityLabelsResponse", v2_label)

    def label_single(self, call: _Call) -> Response:
        name = call.request.path_params["name"]
        label = next((label for label in SECURITY_LABELS if label.name == name), None)
        if label is None and self.on("label-error-status-failed"):
            return self.json({"status": "Failed", "message": NOT_FOUND}, 404)
        if label is None:
            raise _missing()
        data = {"securityLabel": v2_label(label)}
        return self.v2_success(call, data, "securityLabel", "securityLabelResponse")

    def indicator_types(self, call: _Call) -> Response:
        entity = "indicatorTypes" if self.on("indicator-types-plural-key") else "indicatorType"
        kinds = list(INDICATOR_KINDS)
        return self.v2_list(call, kinds, entity, "indicatorTypesResponse", v2_indicator_type)

    def indicator_type_single(self, call: _Call) -> Response:
        wanted = call.request.path_params["name"].lower()
        kind = next(
            (
                kind
                for kind in INDICATOR_KINDS
                if wanted in {kind.name.lower(), kind.branch.lower(), kind.entity.lower()}
            ),
            None,
        )
        if kind is None:
            raise _missing()
        return self.v2_success(
            call,
            {"indicatorType": v2_indicator_type(kind)},
            "indicatorType",
            "indicatorTypeResponse",
        )

    # --- v3 ---------------------------------------------------------------------------------

    def v3_scope(self, call: _Call) -> list[Owner]:
        """The owners a v3 read covers: every readable owner unless `owner` narrows it."""
        name = call.param("owner")
        if name is not None and not self.on("v3-owner-ignored"):
            return self.named_owner(name)
        if self.on("v3-owner-defaults-to-org"):
            return [self.store.organization]
        return self.store.readable_owners()

    def v3_fields(self, call: _Call) -> set[str]:
        return set() if self.on("fields-ignored") else set(call.values("fields"))

    def v3_link(self, call: _Call, start: int, limit: int, *, keep: bool = True, next_link: bool = False) -> str:
        paging = {"resultStart", "resultLimit"}
        if next_link and self.on("next-drops-fields"):
            paging.add("fields")
        pairs = [(key, value) for key, value in (call.params if keep else []) if key not in paging]
        pairs += [("resultStart", str(start)), ("resultLimit", str(limit))]
        query = "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in pairs)
        return f"{call.origin}{call.raw_path}?{query}"

    def v3_list(
        self,
        call: _Call,
        items: Sequence[Any],
        show: Callable[[Any], Any],
        *,
        skip_fault: str = "next-skips-item",
    ) -> Response:
        window = parse_window(
            call.param("resultStart"),
            call.param("resultLimit"),
            default_limit=25 if self.on("v3-default-limit-25") else 100,
            max_limit=None if self.on("v3-over-limit-accepted") else MAX_LIMIT,
        )
        start, limit, total = window.start, window.limit, len(items)
        body: dict[str, Any] = {"data": [show(item) for item in window.page(items)]}
        asked = call.flag("count") and not self.on("count-ignored")
        if call.param("resultStart") is not None and self.on("v3-explicit-start-zero-no-count"):
            asked = False
        if (asked and start == 0) or self.on("count-always"):
            body["count"] = total
        body["status"] = "Success"
        if start + limit < total:
            step = limit + 1 if self.on(skip_fault) else limit
            keep = not self.on("next-drops-params")
            link = self.v3_link(call, start + step, limit, keep=keep, next_link=True)
            if self.on("next-plain-http"):
                link = link.replace("https://", "http://", 1)
            if self.on("next-doubled-mount") and call.raw_path.startswith(f"{MOUNT}/v3/indicators"):
                link = link.replace(call.origin + MOUNT, call.origin + MOUNT + MOUNT, 1)
            body["next"] = link.removeprefix(call.origin) if self.on("next-relative") else link
        if start > 0 or self.on("prev-on-first-page"):
            back = start - limit if self.on("prev-not-clamped") else max(0, start - limit)
            body["prev"] = self.v3_link(call, back, limit)
        return self.json(body)

    def v3_single(self, item: dict[str, Any]) -> Response:
        """A v3 GET of one object."""
        shown: Any = [item] if self.on("v3-single-wrapped-in-list") else item
        return self.json({"data": shown, "status": "OK" if self.on("v3-single-status-ok") else "Success"})

    def v3_written(self, item: dict[str, Any], status: int, message: str) -> Response:
        """The answer to a v3 write: the object, what happened to it, and the status word."""
        return self.json({"data": item, "message": message, "status": "Success"}, status)

    def v3_indicators(self, call: _Call) -> Response:
        if call.request.method == "POST":
            return self.v3_create(call)
        owners = {owner.id for owner in self.v3_scope(call)}
        tql = call.param("tql")
        use_tql = bool(tql) and not self.on("tql-ignored")
        asks_active = use_tql and _ACTIVE_IN_TQL.search(tql or "") is not None
        found = self.listed(owners, inactive=asks_active)
        if use_tql and tql:
            escapes = not self.on("tql-escapes-rejected")
            predicate = parse_tql(tql, FIELDS, allow_escapes=escapes)
            found = [item for item in found if predicate(item)]
        sorting = call.param("sorting")
        if sorting and not self.on("sorting-ignored"):
            if self.on("sorting-first-key-only"):
                sorting = " ".join(sorting.split()[:2])
            if self.on("sorting-desc-as-asc"):
                sorting = re.sub(r"\bdesc\b", "asc", sorting, flags=re.IGNORECASE)
            found = parse_sorting(sorting, FIELDS)(found)
        fields = self.v3_fields(call)
        groups = {group.id: group for group in self.store.groups}
        origin = call.origin
        return self.v3_list(call, found, lambda item: v3_indicator(item, origin, fields, groups))

    def v3_lookup(self, call: _Call) -> Indicator:
        key = unquote(call.segment("/v3/indicators/"))
        if key.isdigit():
            owners = {owner.id for owner in self.v3_scope(call)}
            found = next(
                (i for i in self.store.indicators if i.id == int(key) and i.owner.id in owners),
                None,
            )
        else:
            if call.param("owner") is not None:
                owners = {owner.id for owner in self.named_owner(call.param("owner") or "")}
            elif self.on("summary-lookup-any-owner"):
                owners = {owner.id for owner in self.store.readable_owners()}
            else:
                owners = {self.store.organization.id}
            found = next(
                (i for i in self.store.indicators if i.owner.id in owners and i.matches(key)),
                None,
            )
        if found is None:
            raise _missing()
        return found

    def v3_indicator(self, call: _Call) -> Response:
        item = self.v3_lookup(call)
        if call.request.method == "PUT":
            return self.v3_update(call, item)
        if call.request.method == "DELETE" and self.on("v3-delete-not-applied"):
            return self.json({"message": "Deleted", "status": "Success"})
        if call.request.method == "DELETE":
            self.store.indicators.remove(item)
            now = dt.datetime.now(dt.UTC).replace(microsecond=0)
            self.store.deleted.append(DeletedIndicator(item.owner, item.kind, item.summary, now))
            if self.on("v3-delete-no-message"):
                return self.json({"status": "Success"})
            return self.json({"message": "Deleted", "status": "Success"})
        groups = {group.id: group for group in self.store.groups}
        fields = set() if self.on("single-fields-ignored") else self.v3_fields(call)
        return self.v3_single(v3_indicator(item, call.origin, fields, groups))

    def v3_update(self, call: _Call, item: Indicator) -> Response:
        """A v3 PUT: the settable fields of the body applied, answered with the object and "Updated"."""
        body = call.body if isinstance(call.body, dict) else None
        if body is None:
            raise _Failure(400, "The request body must be a JSON object")
        if not self.on("update-not-applied"):
            _apply(item, body, dt.datetime.now(dt.UTC).replace(microsecond=0))
        return self.v3_written(v3_indicator(item, call.origin, self.v3_fields(call)), 200, "Updated")

    def v3_deleted(self, call: _Call) -> Response:
        """v3 /indicators/deleted: what was removed from the owners in scope."""
        scope = self.store.readable_owners() if self.on("deleted-owner-ignored") else self.v3_scope(call)
        owners = {owner.id for owner in scope}
        gone = [entry for entry in self.store.deleted if entry.owner.id in owners]

        def show(entry: DeletedIndicator) -> dict[str, Any]:
            shown = v3_deleted(entry)
            if self.on("deleted-without-summary"):
                del shown["summary"]
            return shown

        return self.v3_list(call, gone, show)

    def v3_groups(self, call: _Call) -> Response:
        """v3 /groups: the groups of the owners in scope, paged like indicators."""
        owners = {owner.id for owner in self.v3_scope(call)}
        found = [group for group in self.store.groups if group.owner.id in owners]
        creator, organization, origin = self.store.users[0], self.store.organization, call.origin
        return self.v3_list(
            call,
            found,
            lambda group: v3_group(group, origin, creator, organization),
            skip_fault="groups-next-skips-item",
        )

    def security_users(self, call: _Call) -> Response:
        """v3 /security/users: the Organization's users."""
        organization = self.store.organization

        if self.on("user-owner-not-organization"):
            organization = next(o for o in self.store.readable_owners() if o.type == "Community")

        def show(user: User) -> dict[str, Any]:
            shown = v3_user(user, organization)
            if self.on("user-id-string"):
                shown["id"] = str(user.id)
            return shown

        return self.v3_list(call, self.store.users, show)

    def v3_create(self, call: _Call) -> Response:
        body = call.body if isinstance(call.body, dict) else None
        if body is None:
            raise _Failure(400, "The request body must be a JSON object")
        kind = indicator_kind(str(body.get("type", "")))
        if kind is None or kind.custom:
            raise _Failure(400, f"'{body.get('type')}' is not a supported indicator type")
        values = {name: str(body[name]).strip() for name in kind.value_fields if body.get(name)}
        if not values and body.get("summary"):
            values = {kind.value_fields[0]: str(body["summary"]).strip()}
        if not values:
            fields = ", ".join(kind.value_fields)
            raise _Failure(400, f"A {kind.name} indicator needs a value in {fields}")
        owner_name = call.param("owner") or body.get("ownerName")
        owner = self.named_owner(str(owner_name))[0] if owner_name else self.store.organization
        existing = next(
            (
                item
                for item in self.store.indicators
                if item.owner.id == owner.id
                and item.kind == kind
                and any(item.matches(value) for value in values.values())
            ),
            None,
        )
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        if existing is not None and not self.on("duplicate-create"):
            _apply(existing, body, now)
            shown = v3_indicator(existing, call.origin, self.v3_fields(call))
            return self.v3_written(shown, 200, "Updated")
        created = Indicator(
            id=self.store.allocate_id(),
            owner=owner,
            kind=kind,
            values=values,
            date_added=now,
            last_modified=now,
            rating=None,
            confidence=None,
            description=None,
            source=None,
            active=True,
            threat_assess=ThreatAssess(0.0, 0.0, 0, 0, 0, 0, 0),
        )
        _apply(created, body, now)
        self.store.indicators.append(created)
        status = 200 if self.on("create-returns-200") else 201
        shown = v3_indicator(created, call.origin, self.v3_fields(call))
        return self.v3_written(shown, status, "Created")

    def options_object(self, call: _Call) -> Response:
        show = call.param("show") or ""
        spelled = show if self.on("show-readonly-case-sensitive") else show.lower()
        read_only = spelled == "readonly"
        return self.json(object_descriptor(read_only or self.on("readonly-fields-always-shown")))

    def options_fields(self, call: _Call) -> Response:
        data = field_options()
        body: dict[str, Any] = {"data": data}
        if not self.on("fields-options-no-count"):
            body["count"] = len(data) + (1 if self.on("fields-options-count-off-by-one") else 0)
        body["status"] = "Success"
        return self.json(body)

    def options_tql(self, call: _Call) -> Response:
        data: list[dict[str, Any]] = []
        for keyword, name, kind, text in TQL_KEYWORDS:
            entry: dict[str, Any] = {"keyword": keyword, "name": name, "type": kind}
            if self.on("tql-options-missing-type"):
                del entry["type"]
            entry |= {"description": text, "groupable": False, "targetable": True}
            data.append(entry)
        count = len(data) - (1 if self.on("tql-options-count-off-by-one") else 0)
        return self.json({"data": data, "count": count, "status": "Success"})

    def security_owners(self, call: _Call) -> Response:
        if self.on("security-owners-missing"):
            raise _missing()
        organization = self.store.organization

        def show(owner: Owner) -> dict[str, Any]:
            shown = v3_security_owner(owner, organization)
            if self.on("security-owner-type-lower-case"):
                shown["type"] = str(shown["type"]).lower()
            return shown

        return self.v3_list(call, self.store.readable_owners(), show)

    def security_owner(self, call: _Call) -> Response:
        owner = self.store.owner_by_id(int(call.request.path_params["owner_id"]))
        if owner is None or not owner.readable or self.on("security-owners-missing"):
            raise _missing()
        return self.v3_single(v3_security_owner(owner, self.store.organization))

    def unknown(self, call: _Call) -> Response:
        raise _missing()

    # --- routes -----------------------------------------------------------------------------

    def routes(self) -> list[BaseRoute]:
        read = ["GET"]
        table: list[tuple[str, Handler, list[str]]] = [
            ("/v2/owners", self.owners, read),
            ("/v2/owners/mine", self.owner_mine, read),
            ("/v2/owners/mine/members", self.members, read),
            ("/v2/owners/{owner_id:int}", self.owner_by_id, read),
            ("/v2/whoami", self.whoami, read),
            ("/v2/indicators", self.indicators, read),
            ("/v2/indicators/{branch}", self.indicators_typed, read),
            ("/v2/indicators/{branch}/{rest:path}", self.indicator_single, ["GET", "DELETE"]),
            ("/v2/groups", self.groups, read),
            ("/v2/groups/{branch}", self.groups_typed, read),
            ("/v2/groups/{branch}/{group_id:int}", self.group_single, read),
            ("/v2/tags", self.tags, read),
            ("/v2/tags/{name}", self.tag_single, read),
            ("/v2/securityLabels", self.labels, read),
            ("/v2/securityLabels/{name}", self.label_single, read),
            ("/v2/types/indicatorTypes", self.indicator_types, read),
            ("/v2/types/indicatorTypes/{name}", self.indicator_type_single, read),
            ("/v3/indicators", self.v3_indicators, ["GET", "POST"]),
            ("/v3/indicators", self.options_object, ["OPTIONS"]),
            ("/v3/indicators/fields", self.options_fields, ["OPTIONS"]),
            ("/v3/indicators/tql", self.options_tql, ["OPTIONS"]),
            ("/v3/indicators/deleted", self.v3_deleted, read),
            ("/v3/indicators/{rest:path}", self.v3_indicator, ["GET", "PUT", "DELETE"]),
            ("/v3/groups", self.v3_groups, read),
            ("/v3/security/owners", self.security_owners, read),
            ("/v3/security/users", self.security_users, read),
            ("/v3/security/owners/{owner_id:int}", self.security_owner, read),
        ]
        routes: list[BaseRoute] = [
            Route(path, self.endpoint(handler), methods=methods) for path, handler, methods in table
        ]
        every = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
        routes.append(Route("/{rest:path}", self.endpoint(self.unknown), methods=every))
        return routes


def _flatten(params: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """Parameters sent as a JSON object, as (name, text) pairs; lists repeat the name."""
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, bool):
                yield str(key), "true" if item else "false"
            elif item is not None:
                yield str(key), str(item)


def _kind_by_branch(branch: str) -> IndicatorKind:
    kind = next((kind for kind in INDICATOR_KINDS if kind.branch == branch), None)
    if kind is None:
        raise _missing()
    return kind


def _group_kind(branch: str) -> GroupKind:
    kind = next((kind for kind in GROUP_KINDS if kind.branch == branch), None)
    if kind is None:
        raise _missing()
    return kind


def _number(body: dict[str, Any], name: str, whole: bool) -> float | None:
    """A numeric field of a write body (a number or a numeric string; None when absent), else a 400 naming it."""
    value = body.get(name)
    if value is None:
        return None
    number = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        with contextlib.suppress(ValueError, OverflowError):
            number = float(value)
    if number is None or not math.isfinite(number) or (whole and not number.is_integer()):
        kind = "a whole number" if whole else "a number"
        raise _Failure(400, f"The {name} must be {kind}, not {json.dumps(value)[:100]}")
    return number


def _apply(item: Indicator, body: dict[str, Any], now: dt.datetime) -> None:
    """Copy the settable fields of a v3 write body onto an indicator (checked first: a refusal changes nothing)."""
    rating, confidence = _number(body, "rating", whole=False), _number(body, "confidence", whole=True)
    if rating is not None:
        item.rating = rating
    if confidence is not None:
        item.confidence = int(confidence)
    if body.get("description") is not None:
        item.description = str(body["description"])
    if isinstance(body.get("active"), bool):
        item.active = body["active"]
    tags = body.get("tags")
    if isinstance(tags, dict) and isinstance(tags.get("data"), list):
        item.tags = sorted({str(tag.get("name")) for tag in tags["data"] if isinstance(tag, dict)})
    attributes = body.get("attributes")
    if isinstance(attributes, dict) and isinstance(attributes.get("data"), list):
        for entry in attributes["data"]:
            if isinstance(entry, dict) and entry.get("type") and entry.get("value"):
                number = item.id * 10 + len(item.attributes)
                text = (str(entry["type"]), str(entry["value"]))
                item.attributes.append(Attribute(number, *text, now, now))
    item.last_modified = now


ASGI = Callable[[Scope, Receive, Send], Awaitable[None]]


class _SlashInsensitive:
    """Serves '/x/' like '/x': drops trailing slashes from the routing path, not raw_path."""

    def __init__(self, app: ASGI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


def build_app(backend: Backend, *, licensed: bool) -> ASGI:
    """The ASGI app of one target: the API mounted at /api."""
    api = _Api(backend, licensed=licensed)
    inner = Router(routes=api.routes(), redirect_slashes=False)
    return _SlashInsensitive(Starlette(routes=[Mount(MOUNT, app=inner)]))


def _camel_case_item_fields(document: ET.Element) -> None:
    """Rename the fields inside each listed item as the JSON spells them (<id>, not <Id>)."""
    for holder in document.findall("Data"):
        for item in holder:
            for field in item.iter():
                if field is not item:
                    field.tag = field.tag[:1].lower() + field.tag[1:]
