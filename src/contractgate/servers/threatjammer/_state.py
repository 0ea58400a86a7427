"""What requests can change: accounts, their reported and allowlisted addresses, and quotas."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from ._catalogue import DAY_MS, SEED_EPOCH_MS, AclList, Catalogue
from ._sites import Origin, OriginToken, owned_allowlist, seeded_origins

__all__ = [
    "MONTH_MS",
    "REGIONS",
    "Account",
    "AllowEntry",
    "Meter",
    "Plan",
    "Reported",
    "State",
    "Token",
]

REGIONS = {"dublin": "aws-eu-west-1", "paris": "aws-eu-west-3"}
MONTH_MS = 30 * DAY_MS
MINUTE_S = 60.0
# Every seeded key was created on the same (fixed) day, 200 days before the seed epoch.
KEY_CREATED_MS = SEED_EPOCH_MS - 200 * DAY_MS


@dataclass(frozen=True)
class Plan:
    """The limits of a subscription: User API per month and per minute, Report API per minute.

    `minute_s` is how long "a minute" lasts: 60 s, or less when a test runs the free plan's rate at a faster
    time scale (a minute of 6 s keeps every ratio and makes a paced run take seconds).
    """

    name: str
    month: int
    minute: int
    report_minute: int
    minute_s: float = MINUTE_S


@dataclass(frozen=True)
class Token:
    """An issued API key: its region, its owner and its plan."""

    key: str
    region: str
    account: str
    plan: Plan
    created_at: int = KEY_CREATED_MS


@dataclass
class Reported:
    """An address the account banned through the Report API."""

    address: str
    last_report: int
    expiry: int
    total_reports: int
    dataset: str
    tags: list[str]


@dataclass
class AllowEntry:
    """An address the account declared a false positive (it lands in the default allowlist)."""

    address: str
    expiry: int


@dataclass
class Account:
    """A user: report data is global to the user, so every region's key sees the same entries."""

    name: str
    reported: dict[str, Reported] = field(default_factory=dict)
    allowed: dict[str, AllowEntry] = field(default_factory=dict)
    lists: dict[str, AclList] = field(default_factory=dict)  # lists the user created or changed, by id
    dropped: set[str] = field(default_factory=set)  # ids of lists the user deleted
    origins: dict[str, Origin] = field(default_factory=dict)
    origin_tokens: dict[str, OriginToken] = field(default_factory=dict)

    def active_reports(self, now_ms: int) -> list[Reported]:
        """Reported entries that have not expired, newest report first."""
        live = [entry for entry in self.reported.values() if entry.expiry > now_ms]
        return sorted(live, key=lambda entry: (-entry.last_report, entry.address))

    def report(self, now_ms: int, address: str) -> Reported | None:
        """The active entry for one address."""
        entry = self.reported.get(address)
        return entry if entry is not None and entry.expiry > now_ms else None

    def allowed_now(self, now_ms: int) -> list[AllowEntry]:
        """False positives that have not expired."""
        return [entry for entry in self.allowed.values() if entry.expiry > now_ms]


@dataclass
class Meter:
    """The quota counters of one token: a 30-day window and two sliding one-minute windows."""

    plan: Plan
    created_at: int
    month_used: int = 0
    month_start: int = 0
    minute_hits: deque[float] = field(default_factory=deque)
    report_hits: deque[float] = field(default_factory=deque)

    def roll(self, now: float) -> None:
        """Move the monthly window forward and forget hits older than a minute."""
        now_ms = int(now * 1000)
        start = self.created_at + (now_ms - self.created_at) // MONTH_MS * MONTH_MS
        if start != self.month_start:
            self.month_start, self.month_used = start, 0
        for hits in (self.minute_hits, self.report_hits):
            while hits and hits[0] <= now - self.plan.minute_s:
                hits.popleft()

    @property
    def month_refresh(self) -> int:
        """When the monthly window restarts (Unix ms)."""
        return self.month_start + MONTH_MS

    def month_spent(self) -> bool:
        """Whether the monthly quota is used up."""
        return self.month_used >= self.plan.month

    def month_wait(self, now: float) -> int:
        """Whole seconds until the monthly window restarts."""
        return max(1, math.ceil(self.month_refresh / 1000 - now))

    def minute_wait(self, hits: deque[float], now: float) -> int:
        """Whole seconds until the oldest hit of a minute window leaves it."""
        return max(1, math.ceil(hits[0] + self.plan.minute_s - now)) if hits else 1

    def minute_refresh(self, now: float) -> int:
        """When the next slot of the User API minute window frees up (Unix ms)."""
        oldest = self.minute_hits[0] if self.minute_hits else now
        return int((oldest + self.plan.minute_s) * 1000)


@dataclass
class State:
    """All mutable simulator state; `lock` guards it across the apps' server threads."""

    tokens: dict[str, Token]
    accounts: dict[str, Account]
    meters: dict[str, Meter]
    lock: threading.RLock = field(default_factory=threading.RLock)

    @classmethod
    def seeded(cls, catalogue: Catalogue, tokens: list[Token]) -> State:
        """Fresh state: every account starts with the seeded reports and no false positives."""
        accounts: dict[str, Account] = {}
        for token in tokens:
            if token.account not in accounts:
                origins, origin_tokens = seeded_origins(token.account)
                accounts[token.account] = Account(token.account, origins=origins, origin_tokens=origin_tokens)
                owned = owned_allowlist(token.account)
                accounts[token.account].lists[owned.id] = owned
            account = accounts[token.account]
            for seed in catalogue.reported:
                account.reported[seed.address] = Reported(
                    seed.address,
                    seed.last_report,
                    seed.last_report + seed.ttl * 1000,
                    seed.total_reports,
                    seed.dataset,
                    list(seed.tags),
                )
        meters = {token.key: Meter(token.plan, token.created_at) for token in tokens}
        return cls({token.key: token for token in tokens}, accounts, meters)
