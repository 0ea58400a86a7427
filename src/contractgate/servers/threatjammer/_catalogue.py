"""The seeded, read-only knowledge base the Threat Jammer simulator answers from."""

from __future__ import annotations

import ipaddress
import random
import uuid
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DAY_MS",
    "LAPSES",
    "REGISTRIES",
    "SEED",
    "SEED_EPOCH_MS",
    "STATUSES",
    "AclList",
    "Activity",
    "Asn",
    "Catalogue",
    "City",
    "Datacenter",
    "DatacenterPrefix",
    "Dataset",
    "LogChange",
    "Network",
    "Prefix",
    "ReportedSeed",
    "Sighting",
    "Source",
    "SourceRange",
    "UaCode",
    "UaProfile",
    "build_catalogue",
    "cidr_in_uri",
    "risk_of",
]

SEED = 20220701
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Risk = Literal["UNKNOWN", "LOW", "MEDIUM", "HIGH"]

LAPSES = ("1H", "6H", "12H", "1D", "7D", "30D", "90D", "180D", "365D")
REGISTRIES = {
    "iana": "Internet Assigned Numbers Authority",
    "arin": "American Registry for Internet Numbers",
    "ripencc": "Reseaux IP Europeens Network Coordination Centre",
    "afrinic": "African Network Information Centre",
    "apnic": "Asia-Pacific Network Information Centre",
    "lacnic": "Latin America and Caribbean Network Information Centre",
}
STATUSES = {
    "assigned": "Assigned",
    "reserved": "Reserved",
    "available": "Available",
    "allocated": "Allocated",
}
# A fixed instant (2024-06-01T00:00:00Z) that every seeded timestamp is measured from.
SEED_EPOCH_MS = 1_717_200_000_000
DAY_MS = 86_400_000


def risk_of(score: int) -> Risk:
    """The human-readable band of a 0-99 score."""
    if score < 35:
        return "LOW"
    if score < 69:
        return "MEDIUM"
    return "HIGH"


def cidr_in_uri(network: Network) -> str:
    """A CIDR as it appears inside a URI: the slash encoded twice (`%252F`)."""
    return f"{network.network_address}%252F{network.prefixlen}"


@dataclass(frozen=True)
class Asn:
    """An autonomous system."""

    number: int
    name: str
    description: str
    country: str
    registry: str
    registry_date: str
    status: str
    score: int


@dataclass(frozen=True)
class Prefix:
    """A routed prefix announced by an autonomous system."""

    network: Network
    asn: int
    maintainer: str
    description: str
    registry_date: str
    status: str
    score: int


@dataclass(frozen=True)
class Datacenter:
    """A hosting provider whose address space is tracked as datacenter space."""

    code: str
    name: str
    description: str
    website: str
    asn: int
    enabled: bool
    score: int


@dataclass(frozen=True)
class DatacenterPrefix:
    """A prefix of a datacenter, with its abuse statistics."""

    network: Network
    datacenter: str
    score: int
    min_score: int
    max_score: int
    abuse_total: int


@dataclass(frozen=True)
class Dataset:
    """A platform dataset of IP addresses."""

    name: str
    description: str
    items: int
    enabled: bool = True


@dataclass(frozen=True)
class SourceRange:
    """One time range of a source list: how many addresses and how risky."""

    lapse: str
    items: int
    score: int
    updated_at: int


@dataclass(frozen=True)
class Source:
    """A source list that feeds a dataset."""

    name: str
    dataset: str
    description: str
    origin: str
    url: str
    refresh: str
    subscriptions: tuple[str, ...]
    updated_at: int
    ranges: dict[str, SourceRange]


@dataclass(frozen=True)
class LogChange:
    """One addition to or removal from a source list."""

    id: int
    cidr: str
    source: str
    dataset: str
    lapse: str
    action: str
    timestamp: int
    score: int


@dataclass(frozen=True)
class Sighting:
    """An address found in a source list, with its first and last log changes."""

    address: str
    source: str
    lapse: str
    first_log: int
    last_log: int


@dataclass(frozen=True)
class City:
    """Geolocation facts shared by the addresses placed in one city."""

    country: str
    continent: str
    city: str
    city_code: int
    region: str
    region_code: int
    time_zone: str
    latitude: float
    longitude: float
    postal_code: str


@dataclass(frozen=True)
class UaCode:
    """An entry of a user-agent lookup table (type, family, vendor, OS or device)."""

    code: str
    description: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UaProfile:
    """How a recognisable user-agent token is classified."""

    token: str
    classification: str
    type: str
    agent: str
    engine: str
    latest: str
    family: str
    vendor: str
    frequent: str


@dataclass(frozen=True)
class Activity:
    """One event in a token's activity log."""

    id: int
    event: str
    description: str
    created_at: int
    address: str
    ua_string: str
    status_code: int
    uri: str
    method: str


@dataclass(frozen=True)
class AclList:
    """An allow or deny list (private to the user, or public) and its seeded content."""

    id: str
    name: str
    description: str
    resource_type: str
    list_type: str
    public: bool
    tags: tuple[str, ...]
    created_at: int
    updated_at: int
    content: tuple[str | int, ...]
    default: bool = False
    owned: bool = False
    ttl: int | None = None


@dataclass(frozen=True)
class ReportedSeed:
    """An address the seeded user reported through the Report API."""

    address: str
    last_report: int
    ttl: int
    total_reports: int
    dataset: str
    tags: tuple[str, ...]


@dataclass
class Catalogue:
    """Everything the simulator knows that no request can change."""

    asns: dict[int, Asn]
    prefixes: list[Prefix]
    datacenters: dict[str, Datacenter]
    datacenter_prefixes: list[DatacenterPrefix]
    datasets: dict[str, Dataset]
    sources: dict[str, Source]
    logs: dict[int, LogChange]
    sightings: dict[str, list[Sighting]]
    cities: dict[str, City]
    hostnames: dict[str, tuple[str, ...]]
    ua_types: dict[str, UaCode]
    ua_families: dict[str, UaCode]
    ua_vendors: dict[str, UaCode]
    ua_oses: dict[str, UaCode]
    ua_devices: dict[str, UaCode]
    ua_profiles: list[UaProfile]
    activities: list[Activity]
    lists: dict[str, AclList]
    reported: list[ReportedSeed]

    def prefix_of(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Prefix | None:
        """The most specific announced prefix holding an address."""
        found = [p for p in self.prefixes if p.network.version == address.version]
        holding = [p for p in found if address in p.network]
        return max(holding, key=lambda p: p.network.prefixlen, default=None)

    def datacenter_prefix_of(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> DatacenterPrefix | None:
        """The most specific datacenter prefix holding an address."""
        holding = [p for p in self.datacenter_prefixes if p.network.version == address.version and address in p.network]
        return max(holding, key=lambda p: p.network.prefixlen, default=None)


def _net(text: str) -> Network:
    return ipaddress.ip_network(text)


def _asns() -> dict[int, Asn]:
    rows = [
        (15169, "GOOGLE", "", "US", "arin", "20000330", "assigned", 0),
        (396982, "GOOGLE-CLOUD-PLATFORM", "Google LLC", "US", "arin", "20160509", "assigned", 12),
        (
            8075,
            "MICROSOFT-CORP-MSN-AS-BLOCK",
            "Microsoft Corporation",
            "US",
            "arin",
            "19970321",
            "assigned",
            8,
        ),
        (16509, "AMAZON-02", "Amazon.com, Inc.", "US", "arin", "20000504", "assigned", 10),
        (13335, "CLOUDFLARENET", "Cloudflare, Inc.", "US", "arin", "20100714", "assigned", 3),
        (14061, "DIGITALOCEAN-ASN", "DigitalOcean, LLC", "US", "arin", "20120910", "assigned", 41),
        (24940, "HETZNER-AS", "Hetzner Online GmbH", "DE", "ripencc", "20020603", "assigned", 38),
        (16276, "OVH", "OVH SAS", "FR", "ripencc", "20010220", "assigned", 36),
        (
            3352,
            "TELEFONICA_DE_ESPANA",
            "Telefonica de Espana S.A.U.",
            "ES",
            "ripencc",
            "19940921",
            "assigned",
            4,
        ),
        (15704, "AS15704", "XTRA TELECOM S.A.", "ES", "ripencc", "20000724", "assigned", 22),
        (
            4134,
            "CHINANET-BACKBONE",
            "No.31,Jin-rong Street",
            "CN",
            "apnic",
            "20020704",
            "allocated",
            63,
        ),
        (
            4837,
            "CHINA169-BACKBONE",
            "CHINA UNICOM China169 Backbone",
            "CN",
            "apnic",
            "20020705",
            "allocated",
            52,
        ),
        (9009, "M247", "M247 Europe SRL", "GB", "ripencc", "19990421", "assigned", 58),
        (60068, "CDN77", "Datacamp Limited", "GB", "ripencc", "20121212", "assigned", 47),
        (5089, "NTL", "Virgin Media Limited", "GB", "ripencc", "19950508", "assigned", 9),
        (6830, "LGI-UPC", "Liberty Global B.V.", "NL", "ripencc", "19960903", "assigned", 11),
        (
            28573,
            "CLARO S.A.",
            "Claro NXT Telecomunicacoes Ltda",
            "BR",
            "lacnic",
            "20020826",
            "allocated",
            27,
        ),
        (
            36903,
            "MT-MPLS",
            "Office National des Postes et Telecommunications ONPT",
            "MA",
            "afrinic",
            "20080415",
            "assigned",
            33,
        ),
    ]
    return {row[0]: Asn(*row) for row in rows}


def _prefixes() -> list[Prefix]:
    rows = [
        ("8.8.8.0/24", 15169, "GOGL", "Google LLC", "20140303", 0),
        ("8.8.4.0/24", 15169, "GOGL", "Google LLC", "20140303", 0),
        ("142.250.0.0/15", 15169, "GOGL", "Google LLC", "20120524", 2),
        ("2001:4860::/32", 15169, "GOGL", "Google LLC IPv6", "20050314", 0),
        ("34.64.0.0/10", 396982, "GOGL", "Google Cloud", "20170410", 18),
        ("35.184.0.0/13", 396982, "GOGL", "Google Cloud", "20161006", 21),
        ("20.36.0.0/15", 8075, "MSFT", "Microsoft Azure", "20170627", 14),
        ("13.64.0.0/11", 8075, "MSFT", "Microsoft Azure", "20150202", 12),
        ("2603:1000::/25", 8075, "MSFT", "Microsoft Azure IPv6", "20170606", 6),
        ("3.5.140.0/22", 16509, "AMAZO-4", "Amazon Data Services", "20181108", 9),
        ("52.94.0.0/22", 16509, "AMAZO-4", "Amazon Data Services", "20151215", 7),
        ("2600:1f00::/24", 16509, "AMAZO-4", "Amazon Data Services IPv6", "20150930", 5),
        (
            "1.1.1.0/24",
            13335,
            "CLOUD14",
            "APNIC and Cloudflare DNS Resolver project",
            "20110811",
            0,
        ),
        ("104.16.0.0/13", 13335, "CLOUD14", "Cloudflare, Inc.", "20140326", 4),
        ("2606:4700::/32", 13335, "CLOUD14", "Cloudflare, Inc. IPv6", "20110805", 2),
        ("167.99.0.0/16", 14061, "DO-13", "DigitalOcean, LLC", "20180115", 46),
        ("2604:a880::/32", 14061, "DO-13", "DigitalOcean, LLC IPv6", "20130123", 39),
        ("88.198.0.0/16", 24940, "HOS-GUN", "Hetzner Online GmbH", "20050629", 42),
        ("2a01:4f8::/32", 24940, "HOS-GUN", "Hetzner Online GmbH IPv6", "20060703", 37),
        ("51.75.0.0/16", 16276, "OVH-MNT", "OVH SAS", "20170217", 40),
        ("80.58.0.0/16", 3352, "MAINT-AS3352", "Telefonica de Espana Static", "19990512", 3),
        ("212.231.0.0/16", 15704, "MNT-XTRA", "XTRA TELECOM S.A. network", "19981109", 24),
        (
            "61.177.0.0/16",
            4134,
            "MAINT-CHINANET",
            "CHINANET jiangsu province network",
            "20010816",
            66,
        ),
        (
            "218.92.0.0/16",
            4134,
            "MAINT-CHINANET",
            "CHINANET jiangsu province network",
            "20030128",
            67,
        ),
        ("2408:8000::/20", 4837, "MAINT-CNCGROUP", "China Unicom IPv6", "20110623", 49),
        ("185.220.100.0/22", 9009, "GLOBALAXS-MNT", "Anonymous hosting network", "20170808", 64),
        ("45.155.205.0/24", 9009, "GLOBALAXS-MNT", "VPS hosting network", "20191021", 62),
        ("141.98.11.0/24", 60068, "MNT-CDN77", "Streaming and hosting network", "20180322", 55),
        ("193.32.162.0/24", 60068, "MNT-CDN77", "Hosting network", "20190603", 51),
        ("81.2.69.0/24", 5089, "AS5089-MNT", "Virgin Media business customers", "20020916", 5),
        ("84.24.0.0/13", 6830, "UPC-MNT", "Ziggo consumer broadband", "20041122", 7),
        ("177.37.0.0/16", 28573, "CLARO-MNT", "Claro broadband", "20090917", 29),
        ("196.200.0.0/16", 36903, "ONPT-MNT", "Maroc Telecom broadband", "20080415", 31),
    ]
    result = []
    for cidr, asn, maintainer, description, date, score in rows:
        network = _net(cidr)
        status = "allocated" if network.version == 4 else "assigned"
        result.append(Prefix(network, asn, maintainer, description, date, status, score))
    return result


def _datacenters() -> tuple[dict[str, Datacenter], list[DatacenterPrefix]]:
    centres = [
        Datacenter(
            "MICROSOFT_CORPORATION",
            "Microsoft Corporation",
            "Microsoft Azure cloud regions",
            "https://www.microsoft.com",
            8075,
            True,
            14,
        ),
        Datacenter(
            "AMAZON_WEB_SERVICES",
            "Amazon Web Services",
            "Amazon EC2 and related services",
            "https://aws.amazon.com",
            16509,
            True,
            11,
        ),
        Datacenter(
            "GOOGLE_CLOUD",
            "Google Cloud",
            "Google Compute Engine and App Engine",
            "https://cloud.google.com",
            396982,
            True,
            19,
        ),
        Datacenter(
            "DIGITALOCEAN",
            "DigitalOcean",
            "DigitalOcean droplets",
            "https://www.digitalocean.com",
            14061,
            True,
            46,
        ),
        Datacenter(
            "HETZNER_ONLINE",
            "Hetzner Online",
            "Hetzner dedicated and cloud servers",
            "https://www.hetzner.com",
            24940,
            True,
            42,
        ),
        Datacenter(
            "OVH",
            "OVHcloud",
            "OVH dedicated servers and public cloud",
            "https://www.ovhcloud.com",
            16276,
            False,
            40,
        ),
    ]
    rows = [
        ("20.36.0.0/15", "MICROSOFT_CORPORATION", 1, 30, 90, 869),
        ("13.64.0.0/11", "MICROSOFT_CORPORATION", 6, 12, 88, 2411),
        ("2603:1000::/25", "MICROSOFT_CORPORATION", 2, 0, 41, 37),
        ("3.5.140.0/22", "AMAZON_WEB_SERVICES", 4, 4, 72, 112),
        ("52.94.0.0/22", "AMAZON_WEB_SERVICES", 3, 0, 35, 18),
        ("2600:1f00::/24", "AMAZON_WEB_SERVICES", 2, 0, 30, 9),
        ("34.64.0.0/10", "GOOGLE_CLOUD", 18, 10, 91, 3304),
        ("35.184.0.0/13", "GOOGLE_CLOUD", 21, 14, 93, 2870),
        ("167.99.0.0/16", "DIGITALOCEAN", 46, 20, 97, 5120),
        ("2604:a880::/32", "DIGITALOCEAN", 39, 11, 95, 411),
        ("88.198.0.0/16", "HETZNER_ONLINE", 42, 18, 96, 2208),
        ("2a01:4f8::/32", "HETZNER_ONLINE", 37, 9, 90, 316),
        ("51.75.0.0/16", "OVH", 40, 15, 94, 1804),
    ]
    prefixes = [DatacenterPrefix(_net(c), dc, s, lo, hi, n) for c, dc, s, lo, hi, n in rows]
    return {dc.code: dc for dc in centres}, prefixes


def _datasets(rng: random.Random) -> dict[str, Dataset]:
    rows = [
        ("ABUSE", "Addresses reported for brute force, spam and other abusive traffic"),
        ("ANONYMOUS_PROXY", "Open and anonymising HTTP and SOCKS proxies"),
        ("ANONYMOUS_VPN", "Exit addresses of commercial VPN services"),
        ("BOGONS", "Address space that should never appear on the public internet"),
        ("FORUM_ACCOUNT_ABUSE", "Addresses that register or post spam on forums"),
        ("REPUTATION", "Addresses with a bad reputation in several community feeds"),
        ("TOR", "Exit nodes of the Tor anonymity network"),
    ]
    return {name: Dataset(name, text, rng.randint(1_500, 480_000)) for name, text in rows}


def _sources(rng: random.Random) -> dict[str, Source]:
    rows = [
        (
            "TOR_LIST",
            "TOR",
            "Tor exit node list",
            "The Tor Project",
            "https://check.torproject.org/torbulkexitlist",
            "1H",
            99,
        ),
        (
            "STOPFORUMSPAM_TOXIC",
            "FORUM_ACCOUNT_ABUSE",
            "Toxic forum spammers",
            "StopForumSpam",
            "https://www.stopforumspam.com/downloads",
            "1D",
            82,
        ),
        (
            "BLOCKLIST_DE_SSH",
            "ABUSE",
            "SSH brute force attackers",
            "blocklist.de",
            "https://lists.blocklist.de/lists/ssh.txt",
            "1H",
            90,
        ),
        (
            "FIREHOL_LEVEL1",
            "REPUTATION",
            "Aggregated attack sources",
            "FireHOL",
            "https://iplists.firehol.org/?ipset=firehol_level1",
            "1D",
            86,
        ),
        (
            "SPAMHAUS_DROP",
            "REPUTATION",
            "Hijacked or leased spam networks",
            "Spamhaus",
            "https://www.spamhaus.org/drop/drop.txt",
            "12H",
            95,
        ),
        (
            "TEAM_CYMRU_BOGONS",
            "BOGONS",
            "Full bogon prefixes",
            "Team Cymru",
            "https://www.team-cymru.org/Services/Bogons/fullbogons-ipv4.txt",
            "1D",
            70,
        ),
        (
            "X4BNET_VPN",
            "ANONYMOUS_VPN",
            "Known VPN exit ranges",
            "X4B.net",
            "https://github.com/X4BNet/lists_vpn",
            "7D",
            61,
        ),
        (
            "PROXYSCRAPE_HTTP",
            "ANONYMOUS_PROXY",
            "Public HTTP proxies",
            "ProxyScrape",
            "https://proxyscrape.com/free-proxy-list",
            "1H",
            74,
        ),
    ]
    sources = {}
    for name, dataset, description, origin, url, refresh, top in rows:
        updated = SEED_EPOCH_MS - rng.randint(1, 3_600) * 1_000
        ranges = {}
        items = rng.randint(40, 400)
        for step, lapse in enumerate(LAPSES):
            items += rng.randint(items // 3, items)
            score = max(1, top - step * rng.randint(6, 11))
            ranges[lapse] = SourceRange(lapse, items, score, updated)
        subscriptions = ("FREE", "BASIC", "PRO", "ENTERPRISE")
        sources[name] = Source(name, dataset, description, origin, url, refresh, subscriptions, updated, ranges)
    return sources


def _sightings(
    rng: random.Random, sources: dict[str, Source]
) -> tuple[dict[str, list[Sighting]], dict[int, LogChange]]:
    rows = [
        ("185.220.101.47", ["TOR_LIST"]),
        ("185.220.101.34", ["TOR_LIST", "FIREHOL_LEVEL1"]),
        ("185.220.100.252", ["TOR_LIST"]),
        ("212.231.12.22", ["STOPFORUMSPAM_TOXIC"]),
        ("61.177.172.140", ["BLOCKLIST_DE_SSH", "FIREHOL_LEVEL1"]),
        ("218.92.0.112", ["BLOCKLIST_DE_SSH"]),
        ("141.98.11.11", ["FIREHOL_LEVEL1", "SPAMHAUS_DROP"]),
        ("193.32.162.157", ["X4BNET_VPN"]),
        ("51.75.144.43", ["PROXYSCRAPE_HTTP"]),
        ("177.37.155.9", ["STOPFORUMSPAM_TOXIC"]),
        ("196.200.42.17", ["BLOCKLIST_DE_SSH"]),
        ("2a01:4f8:c17:3b2::1", ["BLOCKLIST_DE_SSH"]),
    ]
    logs: dict[int, LogChange] = {}
    sightings: dict[str, list[Sighting]] = {}
    next_id = 3_394_366
    for address, names in rows:
        suffix = "/32" if ":" not in address else "/128"
        for name in names:
            source = sources[name]
            lapse = rng.choice(LAPSES[2:6])
            pair = []
            for action, age in (("ADD", rng.randint(20, 90)), ("ADD", rng.randint(0, 19))):
                next_id += rng.randint(3, 90_000)
                logs[next_id] = LogChange(
                    next_id,
                    address + suffix,
                    name,
                    source.dataset,
                    lapse,
                    action,
                    SEED_EPOCH_MS - age * DAY_MS - rng.randint(0, DAY_MS),
                    source.ranges[lapse].score,
                )
                pair.append(next_id)
            sightings.setdefault(address, []).append(Sighting(address, name, lapse, pair[0], pair[1]))
    return sightings, logs


def _cities() -> dict[str, City]:
    rows = [
        City(
            "US",
            "NA",
            "Mountain View",
            5375480,
            "California",
            5332921,
            "America/Los_Angeles",
            37.4056,
            -122.0775,
            "94043",
        ),
        City(
            "DE",
            "EU",
            "Falkenstein",
            2926120,
            "Saxony",
            2842566,
            "Europe/Berlin",
            50.4777,
            12.3649,
            "08223",
        ),
        City(
            "FR",
            "EU",
            "Roubaix",
            2982652,
            "Hauts-de-France",
            11071624,
            "Europe/Paris",
            50.6942,
            3.1746,
            "59100",
        ),
        City(
            "ES",
            "EU",
            "Madrid",
            3117735,
            "Madrid",
            3117732,
            "Europe/Madrid",
            40.4165,
            -3.7026,
            "28001",
        ),
        City(
            "CN",
            "AS",
            "Nanjing",
            1799962,
            "Jiangsu",
            1806260,
            "Asia/Shanghai",
            32.0617,
            118.7778,
            "210000",
        ),
        City(
            "GB",
            "EU",
            "London",
            2643743,
            "England",
            6269131,
            "Europe/London",
            51.5085,
            -0.1257,
            "EC1A",
        ),
        City(
            "NL",
            "EU",
            "Amsterdam",
            2759794,
            "North Holland",
            2749879,
            "Europe/Amsterdam",
            52.3740,
            4.8897,
            "1012",
        ),
        City(
            "BR",
            "SA",
            "Fortaleza",
            3399415,
            "Ceara",
            3402362,
            "America/Fortaleza",
            -3.7172,
            -38.5431,
            "60000-000",
        ),
        City(
            "MA",
            "AF",
            "Casablanca",
            2553604,
            "Casablanca-Settat",
            11281875,
            "Africa/Casablanca",
            33.5883,
            -7.6114,
            "20000",
        ),
    ]
    return {city.country: city for city in rows}


def _ua_tables() -> tuple[dict[str, UaCode], ...]:
    types = [
        UaCode("BROWSER", "Web browser driven by a person", {"type": "INTERACTIVE"}),
        UaCode("MOBILE_BROWSER", "Browser on a phone or tablet", {"type": "INTERACTIVE"}),
        UaCode("CRAWLER", "Search engine or monitoring crawler", {"type": "CRAWLER"}),
        UaCode("LIBRARY", "HTTP library or command line tool", {"type": "UNKNOWN"}),
        UaCode("UNKNOWN", "Not recognised", {"type": "UNKNOWN"}),
    ]
    families = [
        UaCode("CHROME", "Google Chrome"),
        UaCode("FIREFOX", "Mozilla Firefox"),
        UaCode("SAFARI", "Apple Safari"),
        UaCode("EDGE", "Microsoft Edge"),
        UaCode("GOOGLEBOT", "Google web crawler"),
        UaCode("BINGBOT", "Microsoft Bing crawler"),
        UaCode("CURL", "curl command line tool"),
        UaCode("PYTHON_REQUESTS", "Python requests library"),
        UaCode("UNKNOWN", "Not recognised"),
    ]
    vendors = [
        UaCode("GOOGLEINC", "Google Inc."),
        UaCode("MOZILLA", "Mozilla Foundation"),
        UaCode("APPLE", "Apple Inc."),
        UaCode("MICROSOFT", "Microsoft Corporation"),
        UaCode("CURL_PROJECT", "The curl project"),
        UaCode("PSF", "Python Software Foundation"),
        UaCode("UNKNOWN", "Not recognised"),
    ]
    oses = [
        UaCode("WINDOWS10", "Windows 10", {"family": "WINDOWS", "vendor": "MICROSOFT"}),
        UaCode("MACOSX", "macOS", {"family": "MACOS", "vendor": "APPLE"}),
        UaCode("LINUX", "Linux", {"family": "LINUX", "vendor": "UNKNOWN"}),
        UaCode("ANDROID", "Android", {"family": "ANDROID", "vendor": "GOOGLEINC"}),
        UaCode("IOS", "iOS", {"family": "IOS", "vendor": "APPLE"}),
        UaCode("UNKNOWN", "Not recognised", {"family": "UNKNOWN", "vendor": "UNKNOWN"}),
    ]
    devices = [
        UaCode("DESKTOP", "Desktop or laptop computer"),
        UaCode("SMARTPHONE", "Smartphone"),
        UaCode("TABLET", "Tablet"),
        UaCode("BOT", "Automated agent"),
        UaCode("UNKNOWN", "Not recognised"),
    ]
    return tuple({entry.code: entry for entry in table} for table in (types, families, vendors, oses, devices))


def _ua_profiles() -> list[UaProfile]:
    return [
        UaProfile(
            "Googlebot",
            "CRAWLER",
            "CRAWLER",
            "Googlebot",
            "",
            "2.1",
            "GOOGLEBOT",
            "GOOGLEINC",
            "COMMON",
        ),
        UaProfile("bingbot", "CRAWLER", "CRAWLER", "bingbot", "", "2.0", "BINGBOT", "MICROSOFT", "COMMON"),
        UaProfile(
            "Edg/",
            "CLIENT",
            "BROWSER",
            "Edge",
            "Blink",
            "120.0.2210.61",
            "EDGE",
            "MICROSOFT",
            "COMMON",
        ),
        UaProfile(
            "Firefox/",
            "CLIENT",
            "BROWSER",
            "Firefox",
            "Gecko",
            "121.0",
            "FIREFOX",
            "MOZILLA",
            "COMMON",
        ),
        UaProfile(
            "Chrome/",
            "CLIENT",
            "BROWSER",
            "Chrome",
            "Blink",
            "120.0.6099.110",
            "CHROME",
            "GOOGLEINC",
            "COMMON",
        ),
        UaProfile("Safari/", "CLIENT", "BROWSER", "Safari", "WebKit", "17.2", "SAFARI", "APPLE", "COMMON"),
        UaProfile("curl/", "UNKNOWN", "LIBRARY", "curl", "", "8.5.0", "CURL", "CURL_PROJECT", "RARE"),
        UaProfile(
            "python-requests/",
            "UNKNOWN",
            "LIBRARY",
            "python-requests",
            "",
            "2.31.0",
            "PYTHON_REQUESTS",
            "PSF",
            "RARE",
        ),
    ]


def _activities(rng: random.Random) -> list[Activity]:
    kinds = [
        ("TOKEN_CREATED", "The API key was created at sign up", "/v1/token", "GET", 200),
        ("TOKEN_QUERIED", "The quota of the API key was read", "/v1/token", "GET", 200),
        (
            "QUOTA_EXCEEDED",
            "A request was refused: the minute quota was spent",
            "/v1/assess/ip",
            "POST",
            429,
        ),
        (
            "DENYLIST_UPDATED",
            "The content of a private denylist changed",
            "/v1/denylist/private",
            "PUT",
            200,
        ),
        (
            "REPORTED_DELETED",
            "A reported address was deleted",
            "/v1/denylist/reported/ip",
            "DELETE",
            200,
        ),
    ]
    addresses = ["81.2.69.142", "84.24.17.201", "80.58.61.250", "2a02:a46f:3c1::9"]
    agents = ["curl/8.5.0", "python-requests/2.31.0", "fail2ban-threatjammer/1.0"]
    activities = []
    stamp = SEED_EPOCH_MS
    for number in range(47, 0, -1):
        event, text, uri, method, status = kinds[0] if number == 1 else rng.choice(kinds[1:])
        stamp -= rng.randint(3_600_000, 2 * DAY_MS)
        activities.append(
            Activity(
                number,
                event,
                text,
                stamp,
                rng.choice(addresses),
                rng.choice(agents),
                status,
                uri,
                method,
            )
        )
    return activities


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _lists(rng: random.Random) -> dict[str, AclList]:
    created = SEED_EPOCH_MS // 1000 - 200 * 86_400
    rows: list[tuple[str, str, str, str, bool, tuple[str, ...], tuple[str | int, ...], bool, bool]]
    rows = [
        (
            "Default denylist",
            "Addresses the service denylisted on the user's behalf",
            "CIDR",
            "DENY",
            False,
            ("DEFAULT",),
            ("45.148.10.0/24", "92.118.39.0/24"),
            True,
            False,
        ),
        (
            "External sources reported CIDRs",
            "Addresses reported by honeypots and agents",
            "CIDR",
            "DENY",
            False,
            ("REPORTED",),
            ("80.94.95.0/24",),
            True,
            False,
        ),
        (
            "Blocked countries",
            "Countries the shop does not ship to",
            "COUNTRY",
            "DENY",
            False,
            ("SHOP", "GEO"),
            ("KP", "IR", "SY"),
            False,
            False,
        ),
        (
            "Hosting networks",
            "Autonomous systems of bullet-proof hosters",
            "AS",
            "DENY",
            False,
            ("HOSTING",),
            (9009, 60068),
            False,
            False,
        ),
        (
            "Scraper agents",
            "User agents of unwanted scrapers",
            "USERAGENT",
            "DENY",
            False,
            ("SCRAPERS",),
            ("python-requests", "Scrapy", "HeadlessChrome"),
            False,
            False,
        ),
        (
            "Default allowlist",
            "False positives reported through the Report API",
            "CIDR",
            "ALLOW",
            False,
            ("DEFAULT",),
            (),
            True,
            False,
        ),
        (
            "Office networks",
            "Static addresses of the company offices",
            "CIDR",
            "ALLOW",
            False,
            ("OFFICE",),
            tuple(f"81.2.69.{16 * n}/28" for n in range(1, 9)),
            False,
            False,
        ),
        (
            "Trusted clouds",
            "Datacenters the monitoring runs from",
            "DATACENTER",
            "ALLOW",
            False,
            ("MONITORING",),
            ("GOOGLE_CLOUD",),
            False,
            False,
        ),
        (
            "COMMUNITY_REPORTED_LIST",
            "Addresses reported by several users",
            "CIDR",
            "DENY",
            True,
            ("COMMUNITY",),
            ("45.155.205.233/32", "61.177.172.140/32"),
            False,
            False,
        ),
        (
            "Tor exit nodes",
            "Current Tor exit nodes",
            "CIDR",
            "DENY",
            True,
            ("TOR",),
            ("185.220.100.0/22",),
            False,
            True,
        ),
        (
            "Search engine crawlers",
            "Networks of the big search engine crawlers",
            "CIDR",
            "ALLOW",
            True,
            ("CRAWLERS",),
            ("66.249.64.0/19", "157.55.39.0/24"),
            False,
            False,
        ),
    ]
    lists = {}
    for name, text, resource, kind, public, tags, content, default, owned in rows:
        made = created + rng.randint(0, 90) * 86_400
        entry = AclList(
            _uuid(rng),
            name,
            text,
            resource,
            kind,
            public,
            tags,
            made,
            made + rng.randint(0, 60) * 86_400,
            content,
            default,
            owned,
        )
        lists[entry.id] = entry
    return lists


def _reported(rng: random.Random) -> list[ReportedSeed]:
    rows = [
        ("45.155.205.233", ("SSH", "FAIL2BAN")),
        ("61.177.172.140", ("SSH", "HONEYPOT")),
        ("218.92.0.112", ("SSH", "HONEYPOT")),
        ("141.98.11.11", ("WEB", "SCANNER")),
        ("193.32.162.157", ("SMTP",)),
        ("167.99.14.201", ("SSH", "COWRIE")),
        ("88.198.47.110", ("WEB",)),
        ("80.94.95.115", ("RDP",)),
        ("92.118.39.62", ("SSH",)),
        ("183.81.169.238", ("TELNET", "COWRIE")),
        ("2604:a880:400:d0::2051:b001", ("SSH", "COWRIE")),
        ("2a01:4f8:c17:3b2::1", ("WEB", "SCANNER")),
        ("2408:8207:2486:ca90::4", ("SSH",)),
    ]
    seeds = []
    for address, tags in rows:
        last = SEED_EPOCH_MS - rng.randint(1, 30) * DAY_MS - rng.randint(0, DAY_MS)
        # Long bans (years), so the seeded entries stay active whenever the simulator runs.
        ttl = rng.randint(8, 12) * 365 * 86_400
        seeds.append(ReportedSeed(address, last, ttl, rng.randint(1, 40), "ABUSE", tags))
    return seeds


def build_catalogue(seed: int = SEED) -> Catalogue:
    """Generate the whole knowledge base from one seed (same seed, same data)."""
    rng = random.Random(seed)
    datacenters, datacenter_prefixes = _datacenters()
    sources = _sources(rng)
    sightings, logs = _sightings(rng, sources)
    types, families, vendors, oses, devices = _ua_tables()
    return Catalogue(
        asns=_asns(),
        prefixes=_prefixes(),
        datacenters=datacenters,
        datacenter_prefixes=datacenter_prefixes,
        datasets=_datasets(rng),
        sources=sources,
        logs=logs,
        sightings=sightings,
        cities=_cities(),
        hostnames={
            "8.8.8.8": ("dns.google",),
            "8.8.4.4": ("dns.google",),
            "1.1.1.1": ("one.one.one.one",),
        },
        ua_types=types,
        ua_families=families,
        ua_vendors=vendors,
        ua_oses=oses,
        ua_devices=devices,
        ua_profiles=_ua_profiles(),
        activities=_activities(rng),
        lists=_lists(rng),
        reported=_reported(rng),
    )
