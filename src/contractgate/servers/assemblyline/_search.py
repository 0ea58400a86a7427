"""`/api/v4/search/<index>/`: Elasticsearch-backed search with offset paging and deep paging."""

from __future__ import annotations

import base64
import copy
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import QueryParams
from starlette.responses import Response

from ._auth import forbidden
from ._context import Call, Ctx
from ._data import Document, State
from ._http import BadBody, api_response, parse_json
from ._query import SearchError, flatten, parse_query

__all__ = ["INDEXES", "IndexDef", "search", "search_documents"]

DEFAULT_ROWS = 25
MAX_RESULT_WINDOW = 10_000
KEEP_ALIVE = 300.0
UNSUPPORTED_MEDIA = (
    "415 Unsupported Media Type: Did not attempt to load JSON data because the request "
    "Content-Type was not 'application/json'."
)
NO_DATA_BLOCK = "No data block provided or data block not in JSON format.'"


@dataclass(frozen=True)
class IndexDef:
    """A searchable index: the role it needs, its default order, its field types and documents."""

    name: str
    role: str
    default_sort: str
    fields: Mapping[str, str]
    documents: Callable[[State], list[tuple[str, Document]]]


def _submissions(state: State) -> list[tuple[str, Document]]:
    return [(sid, record) for sid, record in state.submissions.items()]


def _files(state: State) -> list[tuple[str, Document]]:
    return [(sha256, info.document()) for sha256, info in state.files.items()]


def _nothing(state: State) -> list[tuple[str, Document]]:
    return []


_SUBMISSION_FIELDS = {
    "archive_ts": "date",
    "archived": "boolean",
    "classification": "keyword",
    "error_count": "integer",
    "errors": "keyword",
    "expiry_ts": "date",
    "file_count": "integer",
    "files.name": "keyword",
    "files.sha256": "keyword",
    "files.size": "integer",
    "from_archive": "boolean",
    "max_score": "integer",
    "metadata": "flattenedobject",
    "params.deep_scan": "boolean",
    "params.description": "text",
    "params.priority": "integer",
    "params.profile": "keyword",
    "params.submitter": "keyword",
    "params.ttl": "integer",
    "params.type": "keyword",
    "results": "keyword",
    "scan_key": "keyword",
    "sid": "keyword",
    "state": "keyword",
    "times.completed": "date",
    "times.submitted": "date",
    "to_be_deleted": "boolean",
    "verdict.malicious": "keyword",
    "verdict.non_malicious": "keyword",
}
_FILE_FIELDS = {
    "archive_ts": "date",
    "classification": "keyword",
    "entropy": "float",
    "from_archive": "boolean",
    "is_section_image": "boolean",
    "md5": "keyword",
    "seen.count": "integer",
    "seen.first": "date",
    "seen.last": "date",
    "sha1": "keyword",
    "sha256": "keyword",
    "size": "integer",
    "type": "keyword",
}


def _empty(name: str, role: str, sort: str) -> IndexDef:
    field = sort.split()[0]
    return IndexDef(name, role, sort, {field: "date", "classification": "keyword"}, _nothing)


INDEXES = {
    "submission": IndexDef("submission", "submission_view", "times.submitted desc", _SUBMISSION_FIELDS, _submissions),
    "file": IndexDef("file", "submission_view", "seen.last desc", _FILE_FIELDS, _files),
    "alert": _empty("alert", "alert_view", "reporting_ts desc"),
    "badlist": _empty("badlist", "badlist_view", "added desc"),
    "heuristic": _empty("heuristic", "heuristic_view", "heur_id asc"),
    "result": _empty("result", "submission_view", "created desc"),
    "safelist": _empty("safelist", "safelist_view", "added desc"),
    "signature": _empty("signature", "signature_view", "last_modified desc"),
    "workflow": _empty("workflow", "workflow_view", "last_seen desc"),
    "retrohunt": _empty("retrohunt", "retrohunt_view", "created desc"),
    "apikey": _empty("apikey", "administration", "creation_date desc"),
    "emptyresult": _empty("emptyresult", "administration", "expiry_ts desc"),
    "error": _empty("error", "administration", "created desc"),
    "user": _empty("user", "administration", "uname asc"),
}


@dataclass
class Params:
    """The search parameters, from the query string (GET) or the JSON body (POST)."""

    query: str | None
    offset: int
    rows: int
    sort: str | None
    fl: str | None
    filters: list[str]
    deep_paging_id: str | None
    archive: bool
    unparsable: str | None = None  # the SearchException a bad offset or rows gets once the search runs


def _sort_keys(index: IndexDef, sort: str) -> list[tuple[str, bool]]:
    keys = []
    for clause in sort.split(","):
        words = clause.split()
        if not words:
            continue
        field, direction = words[0], (words[1].lower() if len(words) > 1 else "asc")
        if direction not in ("asc", "desc") or len(words) > 2:
            raise SearchError(f"Invalid sort clause [{clause.strip()}]")
        kind = index.fields.get(field)
        if kind is None and field != "id":
            raise SearchError(f"No mapping found for [{field}] in order to sort on")
        if kind == "text":
            raise SearchError(f"Text field [{field}] cannot be used for sorting")
        keys.append((field, direction == "desc"))
    return keys


def _first(flat: Mapping[str, list[Any]], field: str, ident: str) -> Any:
    if field == "id":
        return ident
    values = flat.get(field)
    return values[0] if values else None


def search_documents(index: IndexDef, state: State, params: Params, ignore_query: bool) -> list[tuple[str, Document]]:
    """The matching documents, in the requested order (the document id breaks ties)."""
    tests = [parse_query(text) for text in [params.query or "*", *params.filters]]
    keys = _sort_keys(index, params.sort or index.default_sort)
    found = []
    for ident, document in index.documents(state):
        flat = flatten(document)
        if ignore_query or all(test(flat) for test in tests):
            found.append((ident, document, flat))
    found.sort(key=lambda entry: entry[0])
    for field, descending in reversed(keys):
        found.sort(
            key=lambda entry: _order(_first(entry[2], field, entry[0]), descending),
            reverse=descending,
        )
    return [(ident, document) for ident, document, _ in found]


def _order(value: Any, descending: bool) -> tuple[int, Any]:
    missing_rank = 0 if descending else 1
    return (missing_rank, "") if value is None else (1 - missing_rank, value)


def _project(ident: str, document: Document, fl: str | None) -> Document:
    if fl is None:
        return {**copy.deepcopy(document), "id": ident}
    item: Document = {}
    for field in (part.strip() for part in fl.split(",")):
        if field == "id":
            item["id"] = ident
            continue
        value: Any = document
        for part in field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            continue
        target = item
        *parents, leaf = field.split(".")
        for part in parents:
            target = target.setdefault(part, {})
        target[leaf] = copy.deepcopy(value)
    return item


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("", "true"))


_INTEGER = re.compile(r"[+-]?[0-9]+")


def _window_value(source: Mapping[str, Any], name: str, default: int, es_name: str) -> int | str:
    """`offset` or `rows` as an int, or the reason Elasticsearch refuses it (`from`/`size` must be integers).

    AL hands both to Elasticsearch unchecked (a null in a JSON body counts as absent); Elasticsearch
    rejects a non-integer with a 400 that AL answers as a SearchException, never a crash.
    """
    value = source.get(name)
    if value is None:
        return default
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return f"failed to parse field [{es_name}]"


def _params_from(source: Mapping[str, Any], filters: list[str], default_rows: int) -> Params:
    query = source.get("query")
    deep = source.get("deep_paging_id")
    offset = _window_value(source, "offset", 0, "from")
    rows = _window_value(source, "rows", default_rows, "size")
    problems = [value for value in (offset, rows) if isinstance(value, str)]
    return Params(
        query=str(query) if query not in (None, "") else None,
        offset=offset if isinstance(offset, int) else 0,
        rows=rows if isinstance(rows, int) else default_rows,
        sort=str(source["sort"]) if source.get("sort") else None,
        fl=str(source["fl"]) if source.get("fl") else None,
        filters=filters,
        deep_paging_id=str(deep) if deep not in (None, "") else None,
        archive=any(_flag(source[name]) for name in ("use_archive", "archive_only") if name in source),
        unparsable=problems[0] if problems else None,
    )


def _first_values(query: QueryParams) -> dict[str, str]:
    """A query string as Flask's `request.args.get` reads it: the first of repeated values."""
    first: dict[str, str] = {}
    for name, value in query.multi_items():
        first.setdefault(name, value)
    return first


def _read_params(ctx: Ctx, call: Call) -> Params | Response:
    rows = 10 if ctx.on("default-rows-10") else DEFAULT_ROWS
    if call.method == "GET" or ctx.on("post-search-ignores-body"):
        return _params_from(_first_values(call.query), call.query.getlist("filters"), rows)
    if "application/json" not in (call.content_type or ""):
        return api_response(ctx, "", UNSUPPORTED_MEDIA, 415 if ctx.on("415-as-http-415") else 200)
    try:
        body = parse_json(call.body)
    except BadBody:
        if ctx.on("malformed-json-500"):
            return api_response(ctx, "", "Internal Server Error", 500)
        return api_response(
            ctx, "", NO_DATA_BLOCK.rstrip("'") if ctx.on("no-data-block-message-fixed") else NO_DATA_BLOCK, 400
        )
    if not isinstance(body, dict):
        return api_response(ctx, "", NO_DATA_BLOCK, 400)
    if ctx.on("post-search-drops-offset"):
        body.pop("offset", None)
    if ctx.on("post-default-rows-10"):
        rows = 10
    filters = body.get("filters") or []
    return _params_from(body, [str(item) for item in filters] if isinstance(filters, list) else [str(filters)], rows)


def _check_index(ctx: Ctx, call: Call, name: str) -> IndexDef | Response:
    index = INDEXES.get(name)
    roles = call.caller().roles
    if index is None and ctx.on("unknown-index-404"):
        return api_response(ctx, "", f"Api does not exist ({call.path})", 404)
    if index is None and "administration" in roles:
        return api_response(ctx, "", f"Not a valid index to search in: {name}", 400)
    role = index.role if index is not None else "administration"
    key = call.caller().key
    waived = ctx.on("write-key-can-search") and key is not None and key.acl == "W"
    if role not in roles and not waived:
        return forbidden(ctx, call, f"API {call.path} requires the role '{role}' for request on index '{name}'")
    assert index is not None
    return index


def _ignores_query(ctx: Ctx, index: IndexDef) -> bool:
    return ctx.on("query-ignored") or (ctx.on("submission-query-ignored") and index is INDEXES.get("submission"))


def _page(ctx: Ctx, index: IndexDef, params: Params) -> Document:
    if params.rows < 0 or params.offset < 0:
        which = "size" if params.rows < 0 else "from"
        value = params.rows if params.rows < 0 else params.offset
        raise SearchError(f"[{which}] parameter cannot be negative, found [{value}]")
    if params.offset + params.rows > MAX_RESULT_WINDOW:
        raise SearchError(
            f"Result window is too large, [from + size] must be less than or equal to: "
            f"[{MAX_RESULT_WINDOW}] but was [{params.offset + params.rows}]"
        )
    hits = search_documents(index, ctx.state, params, _ignores_query(ctx, index))
    start = params.offset
    if ctx.on("offset-rounded-to-page") and params.rows:
        start = params.offset // params.rows * params.rows
    page = hits[start : start + params.rows]
    total = len(hits) - params.offset if ctx.on("total-counts-from-offset") else len(hits)
    return {
        "items": [_project(ident, doc, _fields(ctx, index, params)) for ident, doc in page],
        "offset": params.offset,
        "rows": params.rows,
        "total": max(0, total),
    }


def _fields(ctx: Ctx, index: IndexDef, params: Params) -> str | None:
    """The `fl` the page honours: the request's, or none when a fault ignores it."""
    names = [part.strip() for part in (params.fl or "").split(",")]
    ignored = ctx.on("file-index-fl-id-ignored") and index is INDEXES.get("file") and "id" in names
    return None if ctx.on("fl-ignored") or ignored else params.fl


def _encode_after(values: list[Any]) -> str:
    return base64.b64encode(json.dumps(values).encode()).decode()


def _deep_page(ctx: Ctx, index: IndexDef, params: Params) -> Document:
    assert params.deep_paging_id is not None
    state = ctx.state
    now = time.monotonic()
    if params.deep_paging_id == "*":
        order = [ident for ident, _ in search_documents(index, state, params, _ignores_query(ctx, index))]
        pit, start = state.new_id(), 0
    else:
        pit, _, after = params.deep_paging_id.partition(",")
        snapshot = state.pits.get(pit)
        if snapshot is None or snapshot[1] < now:
            state.pits.pop(pit, None)
            raise SearchError(f"No search context found for id [{pit}]")
        order = snapshot[0]
        try:
            last = json.loads(base64.b64decode(after, validate=True))[-1]
            start = order.index(last) + (0 if ctx.on("deep-paging-repeats") else 1)
        except (ValueError, IndexError, TypeError):
            raise SearchError(f"Failed to parse search_after value [{after}]") from None
    state.pits[pit] = (order, now + KEEP_ALIVE)
    keys = _sort_keys(index, params.sort or index.default_sort)
    page_ids = order[start : start + params.rows]
    documents = dict(index.documents(state))
    page = [(ident, documents[ident]) for ident in page_ids if ident in documents]
    result: Document = {
        "items": [_project(ident, doc, _fields(ctx, index, params)) for ident, doc in page],
        "offset": params.offset,
        "rows": DEFAULT_ROWS if ctx.on("deep-paging-rows-echo-default") else params.rows,
        "total": len(order) if ctx.on("deep-paging-total") else None,
    }
    if page and len(page_ids) == params.rows:
        ident, document = page[-1]
        flat = flatten(document)
        values = [_first(flat, field, ident) for field, _ in keys]
        result["next_deep_paging_id"] = f"{pit},{_encode_after([*values, ident])}"
    else:
        state.pits.pop(pit, None)
    return result


def search(ctx: Ctx, call: Call) -> Response:
    """Search one index with a Lucene query; offset paging, or deep paging with a point in time."""
    index = _check_index(ctx, call, call.args["index"])
    if isinstance(index, Response):
        return index
    params = _read_params(ctx, call)
    if isinstance(params, Response):
        return params
    if params.query is None and ctx.on("empty-query-matches-all") and call.query.get("query") == "":
        params.query = "*"
    if params.query is None and not ctx.on("missing-query-matches-all"):
        return api_response(ctx, "", "There was no search query.", 400)
    if params.archive and "archive_view" not in call.caller().roles:
        return api_response(ctx, "", "User is not allowed to view the archive", 403)
    run = _deep_page if params.deep_paging_id is not None else _page
    try:
        if params.unparsable is not None:
            raise SearchError(params.unparsable)
        result = run(ctx, index, params)
    except SearchError as error:
        if ctx.on("search-error-500"):
            return api_response(ctx, "", "Internal Server Error", 500)
        if ctx.on("query-error-unprefixed") and str(error).startswith("Cannot parse"):
            return api_response(ctx, "", str(error), 400)
        return api_response(ctx, "", f"SearchException: {error}", 400)
    if ctx.on("rows-not-echoed"):
        result["rows"] = len(result["items"])
    if ctx.on("search-offset-string"):
        result["offset"] = str(result["offset"])
    _value_faults(ctx, call, params, result)
    return api_response(ctx, result)


def _value_faults(ctx: Ctx, call: Call, params: Params, result: Document) -> None:
    """Deviations that keep the answer's form and change one value (used only to inject faults)."""
    unpaged = call.method == "GET" and params.deep_paging_id is None
    if ctx.on("absent-offset-null") and unpaged and "offset" not in call.query:
        result["offset"] = None
    if ctx.on("default-rows-short") and unpaged and "rows" not in call.query:
        result["items"] = result["items"][: DEFAULT_ROWS - 1]
    if ctx.on("fl-id-adds-from-archive") and "id" in [part.strip() for part in (params.fl or "").split(",")]:
        for item in result["items"]:
            item["from_archive"] = False
