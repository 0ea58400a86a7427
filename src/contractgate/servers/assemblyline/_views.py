"""The read-only views: API lists, whoami, submissions and the health probes."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from ._context import Call, Ctx, Identity
from ._data import CLASSIFICATION, MAX_FILE_SIZE, PROFILES, SERVER_VERSION, Document
from ._http import api_response, text_response
from ._roles import ACL_ROLES, ALL_ROLES
from ._routing import Endpoint
from ._search import INDEXES

__all__ = [
    "api_list",
    "api_versions",
    "healthz_live",
    "healthz_ready",
    "is_completed",
    "submission",
    "submission_full",
    "whoami",
]


def api_versions(ctx: Ctx, call: Call) -> Response:
    """`/api/`: the API versions this server speaks."""
    return api_response(ctx, ["v4"])


def api_list(ctx: Ctx, call: Call, endpoints: list[Endpoint]) -> Response:
    """`/api/v4/`: every API route with its verbs, roles and description."""
    apis = []
    for endpoint in endpoints:
        if not endpoint.rule.startswith("/api/v4/"):
            continue
        path = endpoint.rule
        if ctx.on("api-list-slashless-path") and path == "/api/v4/submission/is_completed/<sid>/":
            path = path.rstrip("/")
        apis.append(
            {
                "complete": True,
                "count_toward_quota": endpoint.counts,
                "description": endpoint.description,
                "function": f"{_blueprint(endpoint.rule)}.{endpoint.name}",
                "id": endpoint.rule.strip("/").replace("/", "_").replace("<", "").replace(">", ""),
                "methods": sorted(endpoint.methods),
                "name": endpoint.name.replace("_", " ").title(),
                "path": path,
                "protected": endpoint.protected,
                "require_role": sorted(endpoint.roles),
            }
        )
    blueprints = {
        "auth": "Allow user to authenticate to the web server",
        "ingest": "Ingest files for large volume processing",
        "search": "Perform search queries",
        "submission": "Perform operations on system submissions",
        "submit": "Submit files to the system",
        "user": "Manage the different users of the system",
    }
    response = api_response(ctx, {"apis": apis, "blueprints": blueprints})
    if ctx.on("api-list-text-json"):
        response.headers["content-type"] = "text/json"
    return response


def _blueprint(rule: str) -> str:
    parts = rule.strip("/").split("/")
    return parts[2] if len(parts) > 2 else "api"


def _index_fields() -> dict[str, dict[str, dict[str, Any]]]:
    return {
        name: {
            field: {"default": False, "indexed": True, "list": False, "stored": True, "type": kind}
            for field, kind in index.fields.items()
        }
        for name, index in INDEXES.items()
    }


def _configuration(ctx: Ctx) -> Document:
    version = str(ctx.options.get("version", SERVER_VERSION))
    return {
        "auth": {
            "allow_2fa": True,
            "allow_apikeys": True,
            "allow_extended_apikeys": False,
            "allow_security_tokens": True,
        },
        "core": {"archiver": {"alternate_dtl": 0, "metadata": {}, "use_metadata": False}},
        "datastore": {"archive": {"enabled": False}},
        "retrohunt": {"enabled": False, "dtl": 30, "max_dtl": 0},
        "submission": {
            "dtl": 30,
            "file_sources": {},
            "max_dtl": 0,
            "max_file_size": MAX_FILE_SIZE,
            "metadata": {"archive": {}, "ingest": {}, "submit": {}},
            "profiles": {name: {"display_name": name.replace("_", " ").title()} for name in PROFILES},
            "verdicts": {"highly_suspicious": 700, "info": 0, "malicious": 1000, "suspicious": 300},
        },
        "system": {
            "organisation": "SOC",
            "support": {"email": "soc-support@soc.example.org"},
            "type": "production",
            "version": version.rsplit(".", 1)[0],
        },
        "ui": {
            "allow_malicious_hinting": False,
            "allow_raw_downloads": True,
            "allow_replay": False,
            "allow_url_submissions": True,
            "allow_zip_downloads": True,
            "apps": [],
            "banner": None,
            "read_only": False,
            "tos": False,
        },
        "user": {
            "api_priv_map": {"R": ["R"], "RW": ["R", "W"], "W": ["W"], "C": ["C"]},
            "priv_role_dependencies": {letter: sorted(roles) for letter, roles in ACL_ROLES.items()},
            "roles": sorted(ALL_ROLES),
            "types": [
                "admin",
                "user",
                "signature_manager",
                "signature_importer",
                "viewer",
                "submitter",
            ],
        },
    }


def _settings(identity: Identity) -> Document:
    return {
        "classification": CLASSIFICATION,
        "deep_scan": False,
        "default_zip_password": "zippy",
        "description": "",
        "download_encoding": "cart",
        "executive_summary": True,
        "expand_min_score": 500,
        "generate_alert": False,
        "ignore_cache": False,
        "ignore_filtering": False,
        "ignore_recursion_prevention": False,
        "preferred_submission_profile": PROFILES[0],
        "priority": 1000,
        "submission_view": "report",
        "ttl": 30,
        "uname": identity.user.uname,
    }


def whoami(ctx: Ctx, call: Call) -> Response:
    """`/api/v4/user/whoami/`: the caller, limited to the key's roles, and the configuration."""
    identity = call.caller()
    user = identity.user
    roles = identity.roles
    if ctx.on("read-key-full-roles") and identity.key is not None and identity.key.acl == "R":
        roles = user.roles
    is_admin = "admin" in user.types if ctx.on("is-admin-from-user-type") else "administration" in roles
    if ctx.on("is-admin-always-false"):
        is_admin = False
    payload: Document = {
        "agrees_with_tos": None,
        "api_daily_quota": user.api_daily_quota,
        "avatar": None,
        "c12nDef": {
            "enforce": False,
            "levels": [{"lvl": 100, "name": CLASSIFICATION, "short_name": "TLP:C"}],
            "restricted": CLASSIFICATION,
            "unrestricted": CLASSIFICATION,
        },
        "classification": CLASSIFICATION,
        "classification_aliases": {},
        "configuration": _configuration(ctx),
        "email": user.email,
        "groups": list(user.groups),
        "indexes": _index_fields(),
        "is_active": user.is_active,
        "is_admin": is_admin,
        "name": user.name,
        "roles": sorted(roles),
        "settings": _settings(identity),
        "submission_daily_quota": user.submission_daily_quota,
        "type": list(user.types),
    }
    username = user.uname
    if ctx.on("whoami-username-is-key-name") and identity.key is not None and identity.key.acl == "RW":
        username = identity.key.name
    payload["uname" if ctx.on("whoami-uname-field") else "username"] = username
    return api_response(ctx, payload)


def _unknown_sid(ctx: Ctx, sid: str) -> Response:
    if ctx.on("unknown-sid-400"):
        return api_response(ctx, "", f"Submission ID {sid} does not exists.", 400)
    return api_response(ctx, "", f"Submission ID {sid} does not exists.", 404)


def submission(ctx: Ctx, call: Call) -> Response:
    """`/api/v4/submission/<sid>/`: one submission record."""
    record = ctx.state.submissions.get(call.args["sid"])
    if record is None:
        return _unknown_sid(ctx, call.args["sid"])
    if ctx.on("readback-file-size-kib"):
        record = {**record, "files": [{**entry, "size": entry["size"] // 1024} for entry in record["files"]]}
    return api_response(ctx, record)


def submission_full(ctx: Ctx, call: Call) -> Response:
    """`/api/v4/submission/full/<sid>/`: the submission with its file tree and results."""
    record = ctx.state.submissions.get(call.args["sid"])
    if record is None:
        return _unknown_sid(ctx, call.args["sid"])
    infos = {entry["sha256"]: ctx.state.files.get(entry["sha256"]) for entry in record["files"]}
    full = {
        **record,
        "errors": {key: {"response": {"status": "FAIL_NONRECOVERABLE"}} for key in record["errors"]},
        "file_infos": {sha: info.document() for sha, info in infos.items() if info is not None},
        "file_tree": {sha: {"children": {}, "name": [record["files"][0]["name"]]} for sha in infos},
        "missing_error_keys": [],
        "missing_file_keys": [],
        "missing_result_keys": [],
        "results": {key: {"result": {"score": 0, "sections": []}} for key in record["results"]},
    }
    return api_response(ctx, full)


def is_completed(ctx: Ctx, call: Call) -> Response:
    """`/api/v4/submission/is_completed/<sid>/`: whether the analysis finished (a JSON boolean)."""
    record = ctx.state.submissions.get(call.args["sid"])
    if record is None:
        if ctx.on("is-completed-unknown-false"):
            return api_response(ctx, False)
        return api_response(ctx, "", f"Submission ID {call.args['sid']} does not exists.", 404)
    done = record["state"] == "completed"
    return api_response(ctx, str(done).lower() if ctx.on("is-completed-string") else done)


def healthz_live(ctx: Ctx, call: Call) -> Response:
    """`/healthz/live`: the process answers."""
    return text_response("ALIVE" if ctx.on("healthz-live-text") else "OK")


def healthz_ready(ctx: Ctx, call: Call) -> Response:
    """`/healthz/ready`: the server can take requests (`FAIL` with 503 when it cannot)."""
    if ctx.options.get("ready", True):
        return text_response("OK")
    return text_response("FAIL", 503)
