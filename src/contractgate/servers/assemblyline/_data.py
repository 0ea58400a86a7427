"""The seeded state of the simulated deployment: users, keys, files, submissions, run-time data."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._roles import ALL_ROLES, key_roles

__all__ = [
    "CLASSIFICATION",
    "MAX_FILE_SIZE",
    "PROFILES",
    "SERVER_VERSION",
    "SESSION_DURATION",
    "ApiKey",
    "Document",
    "FileInfo",
    "Message",
    "Session",
    "State",
    "User",
    "base62_id",
    "iso",
    "seed_state",
    "submission_params",
]

Document = dict[str, Any]

SERVER_VERSION = "4.6.0.stable24"
CLASSIFICATION = "TLP:CLEAR"
MAX_FILE_SIZE = 104_857_600
SESSION_DURATION = 3600
DAILY_API_QUOTA = 25_000
PROFILES = ("static", "static_with_dynamic", "static_with_internet")
SEED = 0x4A55E3B1
SUBMISSION_COUNT = 137
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_START = dt.datetime(2026, 3, 2, 7, 30, tzinfo=dt.UTC)

# (name stem, extension, file type, smallest size, largest size)
_FILE_KINDS = [
    ("invoice_{n:04d}", "pdf", "document/pdf", 40_000, 900_000),
    ("PO-2026-{n:05d}", "docx", "document/office/word", 18_000, 400_000),
    ("payroll_update_{n}", "xlsm", "document/office/excel", 25_000, 600_000),
    ("setup_{n}", "exe", "executable/windows/pe32", 200_000, 9_000_000),
    ("helper{n}", "dll", "executable/windows/dll64", 60_000, 2_000_000),
    ("update_{n}", "js", "code/javascript", 1_200, 90_000),
    ("run_{n}", "ps1", "code/powershell", 800, 40_000),
    ("archive_{n}", "zip", "archive/zip", 30_000, 12_000_000),
    ("shipment_notice_{n}", "eml", "document/email", 6_000, 300_000),
    ("courier_label_{n}", "lnk", "meta/shortcut/windows", 1_500, 4_000),
]
_SUBMITTERS = ("jmorin", "pkhan", "svc_mailgw", "svc_edr")
_SOURCES = ("mail-gateway", "edr-quarantine", "analyst-upload", "proxy-extract")
_SERVICES = ("Characterize", "Extract", "PE", "YARA", "TagCheck", "URLCreator", "AntiVirus")


def iso(moment: dt.datetime) -> str:
    """A timestamp in the ISO form the datastore uses (microseconds, `Z`)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def base62_id(rng: random.Random) -> str:
    """A 22-character base62 identifier, the shape of submission and ingest ids."""
    number = rng.getrandbits(128)
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(22, "0")


@dataclass(frozen=True)
class ApiKey:
    """One API key of a user: its name, secret part, privilege letters and the roles it keeps."""

    name: str
    password: str
    acl: str
    roles: frozenset[str]


@dataclass
class User:
    """An account, with its quotas and API keys."""

    uname: str
    name: str
    email: str
    types: list[str]
    roles: frozenset[str]
    password: str
    groups: list[str] = field(default_factory=lambda: ["USERS"])
    is_active: bool = True
    api_quota: int = 10
    api_daily_quota: int = 0
    submission_quota: int = 5
    submission_daily_quota: int = 0
    keys: dict[str, ApiKey] = field(default_factory=dict)


@dataclass(frozen=True)
class FileInfo:
    """A file the datastore knows (its content is never needed by the simulator)."""

    sha256: str
    sha1: str
    md5: str
    size: int
    name: str
    type: str
    first_seen: str
    last_seen: str
    seen_count: int

    def document(self) -> Document:
        """The record the `file` index holds."""
        return {
            "archive_ts": None,
            "classification": CLASSIFICATION,
            "entropy": round(5.0 + (int(self.sha1[:4], 16) % 300) / 100, 2),
            "from_archive": False,
            "is_section_image": False,
            "md5": self.md5,
            "seen": {"count": self.seen_count, "first": self.first_seen, "last": self.last_seen},
            "sha1": self.sha1,
            "sha256": self.sha256,
            "size": self.size,
            "type": self.type,
        }


@dataclass
class Session:
    """A login session: who, its role limit (None for password logins), its XSRF token."""

    token: str
    uname: str
    roles_limit: frozenset[str] | None
    xsrf: str
    expires: float


@dataclass
class Message:
    """A notification waiting in an ingest queue until its submission is done."""

    due: float
    body: Document


@dataclass
class State:
    """Everything the simulator remembers; `seed_state` builds it and a reset replaces it."""

    rng: random.Random
    users: dict[str, User]
    files: dict[str, FileInfo]
    submissions: dict[str, Document]
    sessions: dict[str, Session] = field(default_factory=dict)
    pits: dict[str, tuple[list[str], float]] = field(default_factory=dict)
    queues: dict[str, list[Message]] = field(default_factory=dict)
    login_failures: dict[str, list[float]] = field(default_factory=dict)
    daily_calls: dict[str, tuple[str, int]] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)
    running: dict[str, float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def file_by_hash(self, method: str, value: str) -> FileInfo | None:
        """The stored file whose `method` hash (sha256, sha1 or md5) is `value`."""
        wanted = value.strip().lower()
        for info in self.files.values():
            if getattr(info, method, None) == wanted:
                return info
        return None

    def new_id(self) -> str:
        """A fresh identifier for a submission, an ingest or a session."""
        return base62_id(self.rng)


def _split_key(secret: str) -> tuple[str, str] | None:
    name, colon, password = secret.partition(":")
    return (name, password) if colon and name and password else None


def _owner(credentials: Mapping[str, str]) -> User:
    uname = credentials.get("USER", "admin")
    owner = User(
        uname=uname,
        name="Administrator" if uname == "admin" else uname.replace("_", " ").title(),
        email=f"{uname}@soc.example.org",
        types=["admin"],
        roles=ALL_ROLES,
        password=credentials.get("PASSWORD", ""),
        api_daily_quota=DAILY_API_QUOTA,
    )
    custom = frozenset({"submission_create", "submission_view"})
    letters = {"APIKEY": "RW", "APIKEY_READ": "R", "APIKEY_WRITE": "W", "APIKEY_SUBMIT": "C", "APIKEY_ADMIN": "RWE"}
    for env, acl in letters.items():
        parts = _split_key(credentials.get(env, ""))
        if parts is not None:
            name, password = parts
            owner.keys[name] = ApiKey(name, password, acl, key_roles(acl, owner.roles, custom))
    return owner


def _colleagues() -> list[User]:
    analyst = ALL_ROLES - {"administration", "file_purge", "replay_system", "signature_import"}
    submitter = frozenset({"submission_create", "submission_view", "apikey_access", "self_manage"})
    return [
        User("jmorin", "Julie Morin", "jmorin@soc.example.org", ["user"], analyst, "!disabled"),
        User("pkhan", "Priya Khan", "pkhan@soc.example.org", ["user"], analyst, "!disabled"),
        User("svc_mailgw", "Mail gateway", "mailgw@soc.example.org", ["submitter"], submitter, "!x"),
        User("svc_edr", "EDR quarantine", "edr@soc.example.org", ["submitter"], submitter, "!x"),
    ]


def _files(rng: random.Random) -> list[FileInfo]:
    files = []
    for number in range(160):
        stem, extension, kind, low, high = rng.choice(_FILE_KINDS)
        raw = rng.randbytes(48)
        first = _START - dt.timedelta(days=rng.randint(0, 40), seconds=rng.randint(0, 86_399))
        files.append(
            FileInfo(
                sha256=hashlib.sha256(raw).hexdigest(),
                sha1=hashlib.sha1(raw, usedforsecurity=False).hexdigest(),
                md5=hashlib.md5(raw, usedforsecurity=False).hexdigest(),
                size=rng.randint(low, high),
                name=f"{stem.format(n=rng.randint(1, 9999) + number)}.{extension}",
                type=kind,
                first_seen=iso(first),
                last_seen=iso(first + dt.timedelta(days=rng.randint(0, 30))),
                seen_count=rng.randint(1, 6),
            )
        )
    image = hashlib.sha256(b"hr-laptop-07 disk image").digest()
    files.append(
        FileInfo(
            sha256=image.hex(),
            sha1=hashlib.sha1(image, usedforsecurity=False).hexdigest(),
            md5=hashlib.md5(image, usedforsecurity=False).hexdigest(),
            size=268_435_456,
            name="hr-laptop-07_disk.vmdk",
            type="archive/vmdk",
            first_seen=iso(_START - dt.timedelta(days=3)),
            last_seen=iso(_START - dt.timedelta(days=3)),
            seen_count=1,
        )
    )
    return files


def submission_params(submitter: str, name: str, profile: str = "static") -> Document:
    """The parameters a submission records when the caller changed none of the defaults."""
    return {
        "auto_archive": False,
        "classification": CLASSIFICATION,
        "deep_scan": False,
        "delete_after_archive": False,
        "description": f"Inspection of file: {name}",
        "generate_alert": False,
        "groups": ["USERS"],
        "ignore_cache": False,
        "ignore_filtering": False,
        "ignore_recursion_prevention": False,
        "ignore_size": False,
        "initial_data": None,
        "max_extracted": 100,
        "max_supplementary": 100,
        "priority": 1000,
        "profile": profile,
        "psid": None,
        "quota_item": False,
        "services": {
            "excluded": [],
            "rescan": [],
            "resubmit": ["Dynamic Analysis"],
            "selected": ["Antivirus", "Extraction", "Filtering", "Networking", "Static Analysis"],
        },
        "service_spec": {},
        "submitter": submitter,
        "ttl": 30,
        "type": "USER",
        "use_archive_alternate_dtl": False,
    }


def _submission(rng: random.Random, when: dt.datetime, info: FileInfo, done: bool) -> Document:
    submitter = rng.choice(_SUBMITTERS)
    score = rng.choice([0, 0, 0, 0, 10, 100, 300, 500, 1000, 1500, 2000])
    services = rng.sample(_SERVICES, rng.randint(3, 6))
    failed = [name for name in services if rng.random() < 0.05]
    config = f"c{rng.getrandbits(32):08x}"
    return {
        "archive_ts": None,
        "archived": False,
        "classification": CLASSIFICATION,
        "error_count": len(failed),
        "errors": [f"{info.sha256}.{name}.v4_6_0_stable24.{config}.e21" for name in failed],
        "expiry_ts": iso(when + dt.timedelta(days=30)),
        "file_count": 1,
        "files": [{"name": info.name, "sha256": info.sha256, "size": info.size}],
        "from_archive": False,
        "max_score": score if done else 0,
        "metadata": {
            "source": rng.choice(_SOURCES),
            "ticket": f"SOC-{rng.randint(10_000, 99_999)}",
        },
        "params": submission_params(submitter, info.name),
        "results": [f"{info.sha256}.{name}.v4_6_0_stable24.{config}" for name in services] if done else [],
        "scan_key": hashlib.md5(f"{info.sha256}{submitter}".encode(), usedforsecurity=False).hexdigest(),
        "sid": base62_id(rng),
        "state": "completed" if done else "submitted",
        "times": {
            "completed": iso(when + dt.timedelta(seconds=rng.randint(25, 900))) if done else None,
            "submitted": iso(when),
        },
        "to_be_deleted": False,
        "verdict": {"malicious": [], "non_malicious": []},
    }


def seed_state(credentials: Mapping[str, str]) -> State:
    """The deployment as it is after a reset: the same users, files and submissions every time."""
    rng = random.Random(SEED)
    owner = _owner(credentials)
    users = {user.uname: user for user in _colleagues()}
    users[owner.uname] = owner
    files = _files(rng)
    submissions: dict[str, Document] = {}
    when = _START
    ordinary = files[:-1]
    for number in range(SUBMISSION_COUNT):
        when += dt.timedelta(seconds=rng.randint(600, 30_000), microseconds=rng.randint(0, 999_999))
        record = _submission(rng, when, rng.choice(ordinary), done=number < SUBMISSION_COUNT - 2)
        submissions[record["sid"]] = record
    return State(
        rng=random.Random(SEED + 1),
        users=users,
        files={info.sha256: info for info in files},
        submissions=submissions,
    )
