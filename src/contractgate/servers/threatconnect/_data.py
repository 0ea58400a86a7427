"""The reference instance's data: owners, users, indicators, groups, tags and labels, seeded."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "GROUP_KINDS",
    "INDICATOR_KINDS",
    "SECURITY_LABELS",
    "TAG_DESCRIPTIONS",
    "Attribute",
    "DeletedIndicator",
    "Group",
    "GroupKind",
    "Indicator",
    "IndicatorKind",
    "Owner",
    "SecurityLabel",
    "Store",
    "ThreatAssess",
    "User",
    "iso",
    "seed",
]

SEED = 20171031
EPOCH = dt.datetime(2023, 1, 2, 9, 0, 0, tzinfo=dt.UTC)


def iso(moment: dt.datetime) -> str:
    """A timestamp the way ThreatConnect prints it: UTC, seconds, trailing Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Owner:
    """An Organization, Community or Source that owns data."""

    id: int
    name: str
    type: str
    readable: bool = True


@dataclass(frozen=True)
class User:
    """A member of the Organization."""

    user_name: str
    first_name: str
    last_name: str
    pseudonym: str
    role: str
    id: int = 0


@dataclass(frozen=True)
class IndicatorKind:
    """An indicator type: its names in v2 (branch, entity) and v3 (type), and its value fields."""

    name: str
    branch: str
    entity: str
    value_fields: tuple[str, ...]
    value_labels: tuple[str, ...]
    parsable: bool = True
    custom: bool = False
    case_preference: str | None = None


@dataclass(frozen=True)
class GroupKind:
    """A group type: its v2 branch and entity names."""

    name: str
    branch: str
    entity: str


@dataclass
class Attribute:
    """An attribute of an indicator or group."""

    id: int
    type: str
    value: str
    date_added: dt.datetime
    last_modified: dt.datetime
    displayed: bool = True


@dataclass(frozen=True)
class ThreatAssess:
    """ThreatAssess scores computed for an indicator."""

    rating: float
    confidence: float
    score: int
    score_observed: int
    score_false_positive: int
    cal_score: int
    cal_status: int


@dataclass
class Indicator:
    """One indicator of compromise held by one owner."""

    id: int
    owner: Owner
    kind: IndicatorKind
    values: dict[str, str]
    date_added: dt.datetime
    last_modified: dt.datetime
    rating: float | None
    confidence: int | None
    description: str | None
    source: str | None
    active: bool
    threat_assess: ThreatAssess
    tags: list[str] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    group_ids: list[int] = field(default_factory=list)
    private: bool = False
    active_locked: bool = False
    dns_active: bool = False
    whois_active: bool = False
    size: int | None = None
    observations: int = 0
    false_positives: int = 0

    @property
    def summary(self) -> str:
        """The indicator's one-line summary (file hashes joined with ' : ')."""
        present = [self.values[name] for name in self.kind.value_fields if self.values.get(name)]
        return " : ".join(present)

    def matches(self, value: str) -> bool:
        """Whether `value` names this indicator (any file hash; only URLs are case-sensitive)."""
        wanted = value.strip()
        return any(
            known.lower() == wanted.lower() if self.kind.name != "URL" else known == wanted
            for known in self.values.values()
            if known
        )


@dataclass
class Group:
    """A group (incident, adversary, ...) held by one owner."""

    id: int
    owner: Owner
    kind: GroupKind
    name: str
    date_added: dt.datetime
    event_date: dt.datetime | None = None
    status: str | None = None
    tags: list[str] = field(default_factory=list)
    attributes: list[Attribute] = field(default_factory=list)


@dataclass(frozen=True)
class DeletedIndicator:
    """What v3 /indicators/deleted remembers of an indicator removed from an owner."""

    owner: Owner
    kind: IndicatorKind
    summary: str
    date_deleted: dt.datetime


@dataclass(frozen=True)
class SecurityLabel:
    """A security label (TLP) that can be applied to data."""

    name: str
    description: str
    color: str
    date_added: dt.datetime


INDICATOR_KINDS: tuple[IndicatorKind, ...] = (
    IndicatorKind("Address", "addresses", "address", ("ip",), ("IP",)),
    IndicatorKind(
        "EmailAddress",
        "emailAddresses",
        "emailAddress",
        ("address",),
        ("Email Address",),
        case_preference="lower",
    ),
    IndicatorKind(
        "File",
        "files",
        "file",
        ("md5", "sha1", "sha256"),
        ("MD5", "SHA1", "SHA256"),
        case_preference="upper",
    ),
    IndicatorKind("Host", "hosts", "host", ("hostName",), ("Host Name",), case_preference="lower"),
    IndicatorKind("URL", "urls", "url", ("text",), ("URL",)),
    IndicatorKind("ASN", "asns", "asn", ("AS Number",), ("AS Number",), custom=True),
    IndicatorKind("CIDR", "cidrBlocks", "cidrBlock", ("Block",), ("Block",), custom=True),
    IndicatorKind("Mutex", "mutexes", "mutex", ("Mutex",), ("Mutex",), custom=True),
    IndicatorKind(
        "User Agent",
        "userAgents",
        "userAgent",
        ("User Agent String",),
        ("User Agent String",),
        custom=True,
    ),
)

GROUP_KINDS: tuple[GroupKind, ...] = (
    GroupKind("Adversary", "adversaries", "adversary"),
    GroupKind("Campaign", "campaigns", "campaign"),
    GroupKind("Document", "documents", "document"),
    GroupKind("Email", "emails", "email"),
    GroupKind("Event", "events", "event"),
    GroupKind("Incident", "incidents", "incident"),
    GroupKind("Intrusion Set", "intrusionSets", "intrusionSet"),
    GroupKind("Report", "reports", "report"),
    GroupKind("Signature", "signatures", "signature"),
    GroupKind("Threat", "threats", "threat"),
)

TAG_DESCRIPTIONS: dict[str, str] = {
    "Nation State": "Activity likely backed or directly related to a nation state.",
    "Phishing": "Infrastructure used to lure users into giving up credentials or running files.",
    "Command and Control": "Endpoints that infected hosts call back to for instructions.",
    "Ransomware": "Tooling or infrastructure tied to extortion by encryption.",
    "Credential Harvesting": "Pages that collect user names and passwords.",
    "Botnet": "Members or controllers of a network of compromised machines.",
    "Scanner": "Sources of broad, automated probing of exposed services.",
    "Malware Distribution": "Locations that serve malicious payloads.",
    "Cryptomining": "Unauthorised use of compute for mining cryptocurrency.",
    "Spearphishing": "Targeted messages aimed at named people.",
}

SECURITY_LABELS: tuple[SecurityLabel, ...] = (
    SecurityLabel("TLP:WHITE", "Disclosure is not limited.", "FFFFFF", EPOCH),
    SecurityLabel("TLP:GREEN", "Limited disclosure, restricted to the community.", "33FF00", EPOCH),
    SecurityLabel(
        "TLP:AMBER",
        "Limited disclosure, restricted to participants' organizations.",
        "FFC000",
        EPOCH,
    ),
    SecurityLabel("TLP:RED", "Not for disclosure, restricted to participants.", "FF0033", EPOCH),
)

_HOST_WORDS = (
    "login", "secure", "update", "cdn", "mail", "portal", "account", "verify", "files", "docs",
    "api", "static", "support", "billing", "auth", "sync", "cloud", "drive", "invoice", "track",
)  # fmt: skip
_HOST_BRANDS = (
    "paygate", "shipnotice", "officecloud", "netstat", "webmail", "bankline", "crmhub",
    "docushare", "fastdeliv", "itsupport", "hrportal", "vpnaccess", "walletsync", "adservice",
    "mediafeed", "taxrefund", "parcelnow", "licensing", "drivebox", "teamchat",
)  # fmt: skip
_HOST_ZONES = (".example", ".test", ".example.com", ".example.net", ".example.org")
_ADDRESS_NETS = ("192.0.2.", "198.51.100.", "203.0.113.")
_PEOPLE = (
    ("olivia", "grant"), ("marcus", "lee"), ("priya", "raman"), ("tomas", "novak"),
    ("aisha", "bello"), ("kenji", "mori"), ("sofia", "ruiz"), ("liam", "walsh"),
)  # fmt: skip
_URL_PATHS = (
    "wp-admin/update.php", "invoice/{n}.zip", "login.html", "secure/verify", "dl/setup_{n}.exe",
    "account/reset", "docs/view.php", "gate.php", "payload/{n}.bin", "o365/signin",
)  # fmt: skip
_SOURCES = (
    "US-EAST-3 Network Logs",
    "Mail Gateway Quarantine",
    "Partner Feed",
    "Sandbox Detonation",
    "Honeypot Sensors",
)
_DESCRIPTIONS = (
    "Malicious domain.",
    "Observed beaconing from a workstation at regular intervals.",
    "Hosted a credential harvesting page imitating a webmail login.",
    "Delivered a macro-enabled document in a phishing campaign.",
    "Scanning exposed VPN gateways for known vulnerabilities.",
    "Staging server used before ransomware deployment.",
)
_ATTRIBUTE_TEXT = (
    ("Description", "Seen in outbound proxy logs during incident response."),
    ("Source", "Internal SOC triage"),
    ("Additional Analysis and Context", "Resolves to infrastructure shared with earlier activity."),
    ("Description", "Reported by a partner through the sharing community."),
)
_ADVERSARIES = (
    "Glass Heron", "Iron Orchard", "Quiet Meridian", "Paper Lantern", "Lichen Ferryman",
    "Copper Finch", "Dusk Cartographer", "Velvet Anchor",
)  # fmt: skip
_INCIDENT_TOPICS = (
    "Phishing wave against finance staff",
    "Credential stuffing on the VPN portal",
    "Ransomware staging detected on file server",
    "Suspicious OAuth consent grants",
    "Malvertising redirect chain",
    "Beaconing from build server",
    "Invoice fraud email thread",
    "Web shell on legacy intranet host",
)
_INCIDENT_STATUSES = ("New", "Open", "Stalled", "Containment Achieved", "Closed")
_CAMPAIGNS = ("Operation Slow Tide", "Tax Season Lures", "Parcel Notice Smishing", "Fake Updates")
_THREATS = ("Loader family A", "Info stealer B", "Remote access tool C", "Wiper D", "Botnet E")


@dataclass
class Store:
    """Everything the instance holds; the server's state."""

    owners: list[Owner]
    organization: Owner
    users: list[User]
    indicators: list[Indicator]
    groups: list[Group]
    next_id: int
    deleted: list[DeletedIndicator] = field(default_factory=list)

    def owner_named(self, name: str) -> Owner | None:
        """The owner with this exact name, if any (readable or not)."""
        return next((owner for owner in self.owners if owner.name == name), None)

    def owner_by_id(self, owner_id: int) -> Owner | None:
        """The owner with this id, if any."""
        return next((owner for owner in self.owners if owner.id == owner_id), None)

    def readable_owners(self) -> list[Owner]:
        """The owners the API user may read."""
        return [owner for owner in self.owners if owner.readable]

    def allocate_id(self) -> int:
        """A fresh object id."""
        self.next_id += 1
        return self.next_id


def indicator_kind(name: str) -> IndicatorKind | None:
    """The indicator kind called `name` in v3 (e.g. 'Host'), case-insensitively."""
    return next((kind for kind in INDICATOR_KINDS if kind.name.lower() == name.lower()), None)


class _Seeder:
    """Builds the seeded store; every choice comes from one fixed-seed generator."""

    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.next_id = 100_000
        self.used: set[str] = set()

    def new_id(self) -> int:
        self.next_id += self.rng.randint(1, 9)
        return self.next_id

    def moment(self, after: dt.datetime | None = None) -> dt.datetime:
        start = after or EPOCH
        return start + dt.timedelta(seconds=self.rng.randint(3_600, 300 * 86_400))

    def unique(self, make: Callable[[], str]) -> str:
        for _ in range(1_000):
            value = make()
            if value not in self.used:
                self.used.add(value)
                return value
        raise RuntimeError("the seed ran out of unique values")

    def host_name(self) -> str:
        rng = self.rng
        words, brands, zones = _HOST_WORDS, _HOST_BRANDS, _HOST_ZONES
        return self.unique(lambda: f"{rng.choice(words)}.{rng.choice(brands)}{rng.choice(zones)}")

    def values(self, kind: IndicatorKind) -> dict[str, str]:
        rng = self.rng
        if kind.name == "Host":
            return {"hostName": self.host_name()}
        if kind.name == "Address":
            return {"ip": self.unique(lambda: f"{rng.choice(_ADDRESS_NETS)}{rng.randint(1, 254)}")}
        if kind.name == "EmailAddress":
            first, last = rng.choice(_PEOPLE)
            domain = rng.choice(_HOST_BRANDS) + rng.choice(_HOST_ZONES)
            return {"address": self.unique(lambda: f"{first}.{last}{rng.randint(1, 99)}@{domain}")}
        if kind.name == "File":
            return {
                "md5": self.unique(lambda: f"{rng.getrandbits(128):032X}"),
                "sha1": self.unique(lambda: f"{rng.getrandbits(160):040X}"),
                "sha256": self.unique(lambda: f"{rng.getrandbits(256):064X}"),
            }
        host = self.host_name()
        path = rng.choice(_URL_PATHS).format(n=rng.randint(100, 999))
        return {"text": f"{rng.choice(('http', 'https'))}://{host}/{path}"}

    def attributes(self, added: dt.datetime) -> list[Attribute]:
        chosen = self.rng.sample(_ATTRIBUTE_TEXT, self.rng.randint(0, 2))
        return [Attribute(self.new_id(), *text, added, self.moment(added)) for text in chosen]

    def indicator(
        self,
        owner: Owner,
        kind: IndicatorKind,
        *,
        active: bool = True,
        values: dict[str, str] | None = None,
    ) -> Indicator:
        rng = self.rng
        added = self.moment()
        indicator = Indicator(
            id=self.new_id(),
            owner=owner,
            kind=kind,
            values=values or self.values(kind),
            date_added=added,
            last_modified=self.moment(added),
            rating=rng.choice((None, 1.0, 2.0, 3.0, 4.0, 5.0)),
            confidence=rng.choice((None, rng.randint(5, 100))),
            description=rng.choice((None, *_DESCRIPTIONS)),
            source=rng.choice((None, *_SOURCES)),
            active=active,
            threat_assess=ThreatAssess(
                rating=round(rng.uniform(0.5, 5.0), 2),
                confidence=round(rng.uniform(10.0, 99.0), 2),
                score=rng.randint(0, 1000),
                score_observed=rng.randint(0, 1000),
                score_false_positive=rng.randint(0, 200),
                cal_score=rng.randint(0, 1000),
                cal_status=rng.randint(0, 3),
            ),
            tags=sorted(rng.sample(sorted(TAG_DESCRIPTIONS), rng.randint(0, 3))),
            attributes=self.attributes(added),
            labels=rng.sample([label.name for label in SECURITY_LABELS], rng.randint(0, 1)),
            private=rng.random() < 0.1,
            dns_active=kind.name == "Host" and rng.random() < 0.6,
            whois_active=kind.name == "Host" and rng.random() < 0.5,
            size=rng.randint(1_024, 4_000_000) if kind.name == "File" else None,
            observations=rng.randint(0, 40),
            false_positives=rng.randint(0, 3),
        )
        return indicator

    def indicators_for(
        self, owner: Owner, counts: dict[str, int], inactive: int, first_hosts: list[str]
    ) -> list[Indicator]:
        made: list[Indicator] = []
        for name, count in counts.items():
            kind = indicator_kind(name)
            assert kind is not None
            for number in range(count):
                presets = first_hosts if name == "Host" else []
                values = {"hostName": presets[number]} if number < len(presets) else None
                made.append(self.indicator(owner, kind, values=values))
        kinds = [indicator_kind(name) for name in counts]
        for _ in range(inactive):
            kind = self.rng.choice(kinds)
            assert kind is not None
            made.append(self.indicator(owner, kind, active=False))
        made.sort(key=lambda item: item.id)
        return made

    def groups_for(self, owner: Owner, plan: dict[str, int]) -> list[Group]:
        rng = self.rng
        made: list[Group] = []
        for kind_name, count in plan.items():
            kind = next(kind for kind in GROUP_KINDS if kind.name == kind_name)
            for number in range(count):
                added = self.moment()
                group = Group(self.new_id(), owner, kind, "", added)
                if kind.name == "Incident":
                    group.event_date = added - dt.timedelta(days=rng.randint(0, 5))
                    group.name = f"{group.event_date:%Y%m%d}: {rng.choice(_INCIDENT_TOPICS)}"
                    group.status = rng.choice(_INCIDENT_STATUSES)
                elif kind.name == "Adversary":
                    group.name = _ADVERSARIES[number % len(_ADVERSARIES)]
                elif kind.name == "Campaign":
                    group.name = _CAMPAIGNS[number % len(_CAMPAIGNS)]
                else:
                    group.name = _THREATS[number % len(_THREATS)]
                group.tags = sorted(rng.sample(sorted(TAG_DESCRIPTIONS), rng.randint(0, 2)))
                group.attributes = self.attributes(added)
                made.append(group)
        return made


def seed() -> Store:
    """The seeded instance: the same objects, ids and dates on every call."""
    seeder = _Seeder()
    organization = Owner(1, "Example Organization", "Organization")
    community = Owner(2, "Common Community", "Community")
    source = Owner(3, "Demo Source", "Source")
    hidden = Owner(4, "Partner Exchange Community", "Community", readable=False)
    shared = seeder.indicators_for(
        community,
        {"Host": 25, "Address": 25, "URL": 10, "File": 10},
        inactive=5,
        first_hosts=[],
    )
    feed_plan = {"Address": 20, "Host": 10, "File": 10}
    feed = seeder.indicators_for(source, feed_plan, inactive=5, first_hosts=[])
    private = seeder.indicators_for(hidden, {"Host": 5, "Address": 5}, inactive=0, first_hosts=[])
    # The Organization's first host also lives in the Community under a lower id, so a lookup by
    # summary has to pick the Organization's copy on purpose.
    community_hosts = [item.values["hostName"] for item in shared if item.kind.name == "Host"]
    own = seeder.indicators_for(
        organization,
        {"Host": 60, "Address": 40, "EmailAddress": 15, "File": 20, "URL": 15},
        inactive=10,
        first_hosts=community_hosts[:1],
    )
    first_host = next(item for item in own if item.kind.name == "Host" and item.active)
    if not first_host.tags:
        first_host.tags = ["Command and Control", "Nation State"]
    groups = [
        *seeder.groups_for(
            organization,
            {"Incident": 20, "Adversary": 6, "Campaign": 4, "Threat": 5},
        ),
        *seeder.groups_for(community, {"Incident": 6, "Adversary": 3}),
    ]
    for indicator in own[:40]:
        linked = seeder.rng.sample(groups[:35], seeder.rng.randint(0, 2))
        indicator.group_ids = [group.id for group in linked]
    users = [
        User("olivia.grant@example.org", "Olivia", "Grant", "OGrant", "Organization Administrator", 11),
        User("marcus.lee@example.org", "Marcus", "Lee", "MLee", "Standard User", 12),
        User("priya.raman@example.org", "Priya", "Raman", "PRaman", "Standard User", 13),
        User("tomas.novak@example.org", "Tomas", "Novak", "TNovak", "Read Only User", 14),
    ]
    indicators = sorted([*shared, *feed, *private, *own], key=lambda item: item.id)
    # Indicators deleted before the seed (fixed values: the seeded random stream stays as it was).
    kinds = {kind.name: kind for kind in INDICATOR_KINDS}
    deleted = [
        DeletedIndicator(organization, kinds["Host"], "retired-c2.example.net", EPOCH + dt.timedelta(days=40)),
        DeletedIndicator(organization, kinds["Address"], "198.51.100.77", EPOCH + dt.timedelta(days=41)),
        DeletedIndicator(community, kinds["URL"], "http://phish.example.com/login", EPOCH + dt.timedelta(days=42)),
    ]
    return Store(
        owners=[organization, community, source, hidden],
        organization=organization,
        users=users,
        indicators=indicators,
        groups=sorted(groups, key=lambda item: item.id),
        next_id=seeder.next_id + 1_000,
        deleted=deleted,
    )
