"""`/api/v4/submit/` and `/api/v4/ingest/`: read a submission request, create the submission."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import ntpath
import posixpath
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from ._context import Call, Ctx, Identity
from ._data import MAX_FILE_SIZE, PROFILES, Document, FileInfo, Message, iso, submission_params
from ._http import BAD_REQUEST_TEXT, BadBody, api_response, parse_json, parse_multipart

__all__ = ["SubmitError", "finish_due", "get_message", "get_message_list", "ingest", "submit"]

HASH_METHODS = ("sha256", "sha1", "md5")
INGEST_MAX_PRIORITY = 250
_INTEGER = re.compile(r"[+-]?[0-9]+")


class SubmitError(Exception):
    """A refused submission: the HTTP status, the message and the api_response to send."""

    def __init__(self, status: int, message: str, payload: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.payload: Any = {} if payload is None else payload


@dataclass
class Draft:
    """What a request asks to scan, before it becomes a submission."""

    data: dict[str, Any]
    content: bytes | None = None
    known: FileInfo | None = None
    name: str = ""


def _read_request(ctx: Ctx, call: Call) -> Draft:
    kind = call.content_type
    if kind is None:
        raise SubmitError(400, "argument of type 'NoneType' is not iterable")
    if "multipart/form-data" in kind:
        try:
            fields, uploads = parse_multipart(kind, call.body)
            data = parse_json(fields["json"].encode()) if "json" in fields else {}
        except BadBody:
            raise SubmitError(400, BAD_REQUEST_TEXT) from None
        upload = uploads.get("bin")
        if upload is None and not ctx.on("submit-without-bin-accepted"):
            raise SubmitError(
                400, BAD_REQUEST_TEXT, {"missing": "bin"} if ctx.on("missing-bin-payload-names-part") else {}
            )
        if not isinstance(data, dict):
            raise SubmitError(400, BAD_REQUEST_TEXT)
        filename = upload.filename if upload is not None else "bin"
        basename = posixpath.basename(ntpath.basename(filename))
        return Draft(data, upload.content if upload is not None else b"\0", name=basename)
    if "application/json" in kind:
        try:
            data = parse_json(call.body)
        except BadBody:
            raise SubmitError(400, BAD_REQUEST_TEXT) from None
        if not isinstance(data, dict):
            raise SubmitError(400, BAD_REQUEST_TEXT)
        return Draft(data)
    if ctx.on("text-plain-submit-415"):
        raise SubmitError(415, "Unsupported Media Type")
    raise SubmitError(400, "Invalid content type")


def _check_profile(ctx: Ctx, identity: Identity, data: dict[str, Any]) -> str:
    profile = data.get("submission_profile")
    if profile is None:
        if "submission_customize" not in identity.roles and not ctx.on("profile-not-required"):
            status = 403 if ctx.on("profile-required-403") else 400
            raise SubmitError(status, f"You must specify a submission profile. One of: {list(PROFILES)}")
        return "static"
    if profile not in PROFILES:
        raise SubmitError(400, f"Submission profile '{profile}' does not exist")
    return str(profile)


def _refang(url: str) -> str:
    for defanged, plain in (("hxxps", "https"), ("hxxp", "http"), ("[.]", "."), ("[:]", ":")):
        url = url.replace(defanged, plain)
    return url


def _fetch(ctx: Ctx, draft: Draft) -> None:
    data = draft.data
    for method in HASH_METHODS:
        if data.get(method):
            found = ctx.state.file_by_hash(method, str(data[method]))
            refused = ctx.on("known-sha256-not-found") and found is not None and found.size <= MAX_FILE_SIZE
            if found is None or refused:
                if ctx.on("unknown-sha256-400"):
                    raise SubmitError(400, f"{method.upper()} does not exist in Assemblyline.")
                missing = "does not exist in Assemblyline and no external sources are available."
                raise SubmitError(404, f"{method.upper()} {missing}")
            draft.known = found
            draft.name = found.sha256
            return
    if data.get("url"):
        url = _refang(str(data["url"]))
        draft.content, draft.name = url.encode(), url
    elif data.get("plaintext") is not None:
        draft.content = str(data["plaintext"]).encode("utf-8")
    elif data.get("base64") is not None:
        try:
            draft.content = base64.b64decode(str(data["base64"]), validate=True)
        except (binascii.Error, ValueError):
            raise SubmitError(400, "Invalid base64 content") from None
    elif ctx.on("empty-submit-500"):
        raise SubmitError(500, "Internal Server Error", "")
    elif ctx.on("missing-file-message-short"):
        raise SubmitError(400, "Missing file to scan.")
    else:
        raise SubmitError(400, "Missing file to scan. No binary or fetching method provided.")


def _stored_file(ctx: Ctx, draft: Draft, name: str) -> FileInfo:
    if draft.known is not None:
        return draft.known
    content = draft.content or b""
    digest = hashlib.sha256(name.encode() if ctx.on("submit-sha256-of-name") else content).hexdigest()
    now = iso(dt.datetime.now(dt.UTC))
    info = FileInfo(
        sha256=digest,
        sha1=hashlib.sha1(content, usedforsecurity=False).hexdigest(),
        md5=hashlib.md5(content, usedforsecurity=False).hexdigest(),
        size=len(content),
        name=name,
        type="uri/http" if draft.data.get("url") else "unknown",
        first_seen=now,
        last_seen=now,
        seen_count=1,
    )
    ctx.state.files.setdefault(digest, info)
    return info


def _size(draft: Draft) -> int:
    return draft.known.size if draft.known is not None else len(draft.content or b"")


def _flatten_metadata(metadata: Any, prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    if isinstance(metadata, dict):
        for key, value in metadata.items():
            flat.update(_flatten_metadata(value, f"{prefix}{key}."))
    elif prefix:
        flat[prefix[:-1]] = str(metadata)
    return flat


def _checked_params(defaults: Document, given: dict[str, Any]) -> Document:
    """The caller's overrides of known parameters; a null keeps the default, a non-integer for an integer is a 400."""
    overrides: Document = {}
    for key, value in given.items():
        if key not in defaults or value is None:
            continue
        default = defaults[key]
        if isinstance(default, int) and not isinstance(default, bool):
            number = _integer(value)
            if number is None:
                raise SubmitError(400, f"Invalid value for params.{key}: {value!r} is not an integer")
            value = number
        overrides[key] = value
    return overrides


def _integer(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value)
    return None


def _create(ctx: Ctx, identity: Identity, draft: Draft, kind: str) -> Document:
    data = draft.data
    profile = _check_profile(ctx, identity, data)
    if draft.content is None:
        _fetch(ctx, draft)
    params_in = data.get("params") if isinstance(data.get("params"), dict) else {}
    assert isinstance(params_in, dict)
    size = _size(draft)
    if size > MAX_FILE_SIZE and not params_in.get("ignore_size") and not ctx.on("size-limit-ignored"):
        unit = 1024 if ctx.on("too-big-message-kib") else 1
        raise SubmitError(413, f"File too big to be scanned ({size // unit} > {MAX_FILE_SIZE // unit}).")
    if size == 0:
        raise SubmitError(400, "File empty.")
    name = str(data.get("name") or draft.name)
    if ctx.on("nameless-submit-named-by-sha256") and not data.get("name") and draft.content is not None:
        name = hashlib.sha256(draft.content).hexdigest()
    if not name:
        raise SubmitError(400, "Filename missing")
    info = _stored_file(ctx, draft, name)
    now = dt.datetime.now(dt.UTC)
    params = submission_params(identity.user.uname, name, profile)
    params.update(_checked_params(params, params_in))
    params["quota_item"] = kind == "submit"
    if kind != "submit":
        params["type"] = str(params_in.get("type") or data.get("type") or "INGEST").upper()
        params["description"] = f"[{params['type']}] Inspection of file: {name}"
        params["priority"] = min(int(params["priority"]), INGEST_MAX_PRIORITY)
    sid = ctx.state.new_id()
    record: Document = {
        "archive_ts": None,
        "archived": False,
        "classification": params["classification"],
        "error_count": 0,
        "errors": [],
        "expiry_ts": iso(now + dt.timedelta(days=int(params["ttl"]))) if params["ttl"] else None,
        "file_count": 1,
        "files": [{"name": name, "sha256": info.sha256, "size": _recorded_size(ctx, draft, size)}],
        "from_archive": False,
        "max_score": 0,
        "metadata": _flatten_metadata(data.get("metadata") or {}),
        "params": params,
        "results": [],
        "scan_key": hashlib.md5(f"{info.sha256}{sid}".encode(), usedforsecurity=False).hexdigest(),
        "sid": sid,
        "state": "submitted",
        "times": {"completed": None, "submitted": iso(now)},
        "to_be_deleted": False,
        "verdict": {"malicious": [], "non_malicious": []},
    }
    if not ctx.on("submitted-not-stored"):
        ctx.state.submissions[sid] = record
    ctx.state.running[sid] = time.monotonic() + float(str(ctx.options.get("analysis_seconds", 2.0)))
    return record


def _recorded_size(ctx: Ctx, draft: Draft, size: int) -> int:
    """The size the record shows: bytes, or KiB for a file found by hash (only to inject a fault)."""
    return size // 1024 if ctx.on("resubmit-size-kib") and draft.known is not None else size


def _holds_slot(ctx: Ctx, sid: str, uname: str, now: float) -> bool:
    record = ctx.state.submissions.get(sid)
    if record is None or ctx.state.running.get(sid, 0.0) <= now:
        return False
    return bool(record["params"]["submitter"] == uname and record["params"]["quota_item"])


def _submission_quota(ctx: Ctx, identity: Identity) -> Response | None:
    user, now = identity.user, time.monotonic()
    busy = sum(1 for sid in ctx.state.running if _holds_slot(ctx, sid, user.uname, now))
    if user.submission_quota and busy >= user.submission_quota:
        message = f"You've exceeded your maximum concurrent submission quota of {user.submission_quota}"
        return api_response(ctx, "", message, 503)
    return None


def submit(ctx: Ctx, call: Call) -> Response:
    """Create a submission from a multipart file or a JSON request (hash, URL, inline content)."""
    identity = call.caller()
    refused = _submission_quota(ctx, identity)
    if refused is not None:
        return refused
    try:
        record = _create(ctx, identity, _read_request(ctx, call), "submit")
    except SubmitError as error:
        return api_response(ctx, error.payload, error.message, error.status)
    return api_response(ctx, record)


def ingest(ctx: Ctx, call: Call) -> Response:
    """Queue a file for asynchronous analysis; answers only the ingest id."""
    identity = call.caller()
    try:
        draft = _read_request(ctx, call)
        threshold = draft.data.get("notification_threshold")
        if threshold is not None and not isinstance(threshold, int) and not ctx.on("threshold-not-validated"):
            fixed = ctx.on("threshold-message-grammar-fixed")
            raise SubmitError(400, f"notification_threshold should be {'an' if fixed else 'and'} int")
        record = _create(ctx, identity, draft, "ingest")
    except SubmitError as error:
        return api_response(ctx, error.payload, error.message, error.status)
    ingest_id = ctx.state.new_id()
    queue = draft.data.get("notification_queue")
    if isinstance(queue, str) and queue:
        message = {
            "failure": "",
            "ingest_id": ingest_id,
            "ingest_time": record["times"]["submitted"],
            "notification_queue": queue,
            "score": 0,
            "submission": {key: record[key] for key in ("sid", "files", "metadata", "params")},
        }
        due = ctx.state.running.get(record["sid"], time.monotonic())
        ctx.state.queues.setdefault(queue, []).append(Message(due, message))
    if ctx.on("ingest-returns-submission"):
        return api_response(ctx, record)
    return api_response(ctx, {"ingest_id": ingest_id}, status=201 if ctx.on("ingest-201") else 200)


def _due_messages(ctx: Ctx, queue: str, limit: int) -> list[Document]:
    waiting = ctx.state.queues.get(queue, [])
    now = time.monotonic()
    ready = [message for message in waiting if message.due <= now]
    taken = ready if limit < 0 else ready[:limit]
    ctx.state.queues[queue] = [message for message in waiting if message not in taken]
    return [message.body for message in taken]


def get_message(ctx: Ctx, call: Call) -> Response:
    """One notification from an ingest queue, or null when the queue is empty."""
    messages = _due_messages(ctx, call.args["nq"], 1)
    if not messages and ctx.on("empty-queue-404"):
        return api_response(ctx, "", f"Queue {call.args['nq']} does not exist", 404)
    if not messages and ctx.on("empty-queue-list"):
        return api_response(ctx, [])
    return api_response(ctx, messages[0] if messages else None)


def get_message_list(ctx: Ctx, call: Call) -> Response:
    """Notifications from an ingest queue (page_size of them; -1, the default, drains it)."""
    try:
        size = int(call.query.get("page_size", "-1"))
    except ValueError:
        size = -1
    messages = _due_messages(ctx, call.args["nq"], size)
    payload = None if not messages and ctx.on("empty-message-list-null") else messages
    reported = 201 if ctx.on("message-list-status-code-201") else None
    return api_response(ctx, payload, versioned=not ctx.on("message-list-unversioned"), reported=reported)


def finish_due(ctx: Ctx) -> None:
    """Mark submissions whose simulated analysis time has passed as completed."""
    now = time.monotonic()
    for sid, due in list(ctx.state.running.items()):
        if due > now:
            continue
        del ctx.state.running[sid]
        record = ctx.state.submissions.get(sid)
        if record is None:
            continue
        sha256 = record["files"][0]["sha256"]
        record["state"] = "completed"
        record["times"]["completed"] = iso(dt.datetime.now(dt.UTC))
        record["results"] = [f"{sha256}.{name}.v4_6_0_stable24.c0" for name in ("Characterize", "Extract")]
