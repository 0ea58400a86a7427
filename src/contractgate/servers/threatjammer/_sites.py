"""Origins (web sites protected by the JavaScript library) and their origin tokens: seeded per user."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ._catalogue import DAY_MS, SEED_EPOCH_MS, AclList

__all__ = ["STATUS_DETAILS", "Origin", "OriginToken", "Visitor", "owned_allowlist", "seeded_origins"]

# The five decisions the library takes on a visitor (the spec's status_id enum), and what they mean.
STATUS_DETAILS = {
    "pass": "The visitor is let through.",
    "block": "The visitor is blocked.",
    "challenge": "The visitor must solve a challenge first.",
    "bypass": "The visitor skips every check.",
    "ignore": "The visitor is not evaluated.",
}


@dataclass
class Visitor:
    """A decision about an address or a cookie id seen on an origin."""

    key: str
    status: str
    log_id: str
    created_at: int
    updated_at: int
    expiry: int


@dataclass
class Origin:
    """A site the user protects: its configuration and the visitors it has decided on."""

    origin: str
    token: str
    status: str
    created_at: int
    updated_at: int
    config: dict[str, Any] = field(default_factory=dict)
    addresses: list[Visitor] = field(default_factory=list)
    cookies: list[Visitor] = field(default_factory=list)


@dataclass
class OriginToken:
    """A token the library uses to talk to one region on behalf of an origin."""

    id: str
    origin: str
    region_id: str
    status: str
    created_at: int
    updated_at: int


def _uuid(*parts: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-a{digest[17:20]}-{digest[20:32]}"


def token_id(account: str, origin: str) -> str:
    """A stable origin-token id (`tjo_` + 36 hex characters, shaped like the API keys)."""
    return "tjo_" + hashlib.sha256(f"{account}|{origin}".encode()).hexdigest()[:36]


def seeded_origins(account: str) -> tuple[dict[str, Origin], dict[str, OriginToken]]:
    """Two protected sites per user, with decided visitors, and their tokens in the Paris region."""
    origins: dict[str, Origin] = {}
    tokens: dict[str, OriginToken] = {}
    created = SEED_EPOCH_MS - 40 * DAY_MS
    sites = [
        ("https://shop.example.com", ["185.220.101.34", "45.155.205.233", "8.8.8.8"]),
        ("https://blog.example.com", ["61.177.172.140"]),
    ]
    for index, (site, addresses) in enumerate(sites):
        ident = token_id(account, site)
        decisions = ["block", "challenge", "pass"]
        origin = Origin(site, ident, "ENABLED", created + index * DAY_MS, created + index * DAY_MS, {"mode": "monitor"})
        for n, address in enumerate(addresses):
            when = created + (n + 1) * DAY_MS
            origin.addresses.append(
                Visitor(address, decisions[n % 3], _uuid(site, address), when, when, when + 30 * DAY_MS)
            )
            cookie = _uuid(site, "cookie", address)
            origin.cookies.append(
                Visitor(cookie, decisions[n % 3], _uuid(site, cookie), when, when, when + 30 * DAY_MS)
            )
        origins[site] = origin
        tokens[ident] = OriginToken(ident, site, "aws-eu-west-3", "ENABLED", origin.created_at, origin.updated_at)
    return origins, tokens


def owned_allowlist(account: str) -> AclList:
    """A public allowlist the user publishes (owned): the one public list the user may change or delete."""
    created = SEED_EPOCH_MS // 1000 - 90 * 86_400
    return AclList(
        _uuid(account, "public-allowlist"),
        "Partner monitoring probes",
        "Uptime probes of the user's monitoring partner, shared with the community",
        "CIDR",
        "ALLOW",
        True,
        ("PARTNER", "MONITORING"),
        created,
        created,
        ("52.0.176.0/24", "2600:1f18:4000::/48"),
        owned=True,
    )
