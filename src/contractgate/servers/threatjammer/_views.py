"""How each kind of object is shown: every object carries `self`, references are `/v1/` URIs."""

from __future__ import annotations

import ipaddress
import random
from typing import Any
from urllib.parse import quote

from ._catalogue import (
    AclList,
    Activity,
    Asn,
    Catalogue,
    Datacenter,
    DatacenterPrefix,
    Dataset,
    LogChange,
    Network,
    Prefix,
    Source,
    SourceRange,
    UaCode,
    risk_of,
)
from ._runtime import Runtime
from ._state import REGIONS, Account, Meter, Reported, Token
from ._wire import Address, not_found

__all__ = [
    "activity_view",
    "asn_prefix_view",
    "asn_view",
    "assess_view",
    "datacenter_prefix_view",
    "datacenter_view",
    "dataset_view",
    "geo_view",
    "list_content",
    "list_uri",
    "list_view",
    "log_view",
    "prefix_uri",
    "range_view",
    "reported_uri",
    "reported_view",
    "source_view",
    "token_view",
    "ua_code_view",
    "ua_uri",
    "ua_view",
]

Json = dict[str, Any]
HIGHEST = 99


def _absent(rt: Runtime) -> str | None:
    return None if rt.on("absent-reference-null") else ""


def prefix_uri(rt: Runtime, family: str, network: Network) -> str:
    """The canonical URI of a prefix: the CIDR's slash is encoded twice."""
    datacenter_only = family == "datacenter" and rt.on("datacenter-prefix-uri-single-encoded")
    once = rt.on("prefix-uri-single-encoded") or datacenter_only
    slash = "%2F" if once else "%252F"
    return f"/v1/{family}/prefix/{network.network_address}{slash}{network.prefixlen}"


def asn_view(rt: Runtime, asn: Asn) -> Json:
    """An autonomous system."""
    date = asn.registry_date
    if rt.on("registry-date-dashed"):
        date = f"{date[:4]}-{date[4:6]}-{date[6:]}"
    prefixes = "prefix" if rt.on("dangling-reference") else "prefixes"
    return {
        "self": f"/v1/asn/{asn.number}",
        "name": f"{asn.name} LLC" if rt.on("asn-name-with-suffix") else asn.name,
        "description": asn.description,
        "country_code": asn.country,
        "registry_date": date,
        "registry": f"/v1/asn/registry/{asn.registry}",
        "status": f"/v1/asn/status/{asn.status}",
        "prefixes": f"/v1/asn/{asn.number}/{prefixes}",
        "score": asn.score,
        "risk": risk_of(asn.score),
    }


def asn_prefix_view(rt: Runtime, prefix: Prefix) -> Json:
    """A prefix announced by an autonomous system (the vendor spells the key `mantainer`)."""
    return {
        "self": prefix_uri(rt, "asn", prefix.network),
        "asn": f"/v1/asn/{prefix.asn}",
        "object_type": f"ipv{prefix.network.version}",
        "mantainer": prefix.maintainer,
        "description": prefix.description,
        "registry_date": prefix.registry_date,
        "registry_status": f"/v1/asn/status/{prefix.status}",
        "score": prefix.score,
        "risk": risk_of(prefix.score),
    }


def datacenter_view(centre: Datacenter) -> Json:
    """A datacenter (its `source` is the owner's website, a value and not a reference)."""
    return {
        "self": f"/v1/datacenter/{centre.code}",
        "name": centre.name,
        "description": centre.description,
        "source": centre.website,
        "asn": f"/v1/asn/{centre.asn}",
        "status": "enabled" if centre.enabled else "disabled",
        "prefixes": f"/v1/datacenter/{centre.code}/prefixes",
        "score": centre.score,
        "risk": risk_of(centre.score),
    }


def datacenter_prefix_view(rt: Runtime, prefix: DatacenterPrefix) -> Json:
    """A datacenter prefix with its abuse statistics."""
    return {
        "self": prefix_uri(rt, "datacenter", prefix.network),
        "datacenter": f"/v1/datacenter/{prefix.datacenter}",
        "score": prefix.score,
        "risk": risk_of(prefix.score),
        "min_score": prefix.min_score,
        "max_score": prefix.max_score,
        "ip_abuse_total": prefix.abuse_total,
    }


def dataset_view(dataset: Dataset) -> Json:
    """A platform dataset."""
    return {
        "self": f"/v1/dataset/ip/{dataset.name}",
        "type": "ip",
        "name": dataset.name,
        "description": dataset.description,
        "status": "ENABLED" if dataset.enabled else "DISABLED",
        "items": dataset.items,
    }


def source_view(source: Source) -> Json:
    """A source list and the URIs of its time ranges."""
    scores = [entry.score for entry in source.ranges.values()]
    return {
        "self": f"/v1/source/ip/{source.name}",
        "dataset": f"/v1/dataset/ip/{source.dataset}",
        "name": source.name,
        "description": source.description,
        "source": source.origin,
        "url": source.url,
        "refresh": source.refresh,
        "minimum_score": min(scores),
        "maximum_score": max(scores),
        "minimum_risk": risk_of(min(scores)),
        "maximum_risk": risk_of(max(scores)),
        "time_ranges": [f"/v1/source/ip/{source.name}/range/{lapse}" for lapse in source.ranges],
        "updated_at": source.updated_at,
        "subscriptions": list(source.subscriptions),
    }


def range_view(source: Source, entry: SourceRange) -> Json:
    """One time range of a source list."""
    return {
        "self": f"/v1/source/ip/{source.name}/range/{entry.lapse}",
        "source": f"/v1/source/ip/{source.name}",
        "lapse": entry.lapse,
        "items": entry.items,
        "score": entry.score,
        "risk": risk_of(entry.score),
        "updated_at": entry.updated_at,
    }


def log_view(log: LogChange) -> Json:
    """One log change of a source list."""
    return {
        "self": f"/v1/log/ip/id/{log.id}",
        "cidr": log.cidr,
        "score": log.score,
        "risk": risk_of(log.score),
        "dataset": f"/v1/dataset/ip/{log.dataset}",
        "source": f"/v1/source/ip/{log.source}/range/{log.lapse}",
        "lapse": log.lapse,
        "action": log.action,
        "timestamp": log.timestamp,
    }


def geo_view(rt: Runtime, address: Address) -> Json:
    """Geolocation of an address, placed in a city of its autonomous system's country."""
    catalogue = rt.catalogue
    prefix = catalogue.prefix_of(address)
    if prefix is None:
        raise not_found(address)
    country = catalogue.asns[prefix.asn].country
    city = catalogue.cities[country]
    jitter = random.Random(int(address))
    latitude = round(city.latitude + jitter.uniform(-0.05, 0.05), 4)
    longitude = round(city.longitude + jitter.uniform(-0.05, 0.05), 4)
    coordinates: tuple[Any, Any] = (latitude, longitude)
    if rt.on("geo-coordinates-as-strings"):
        coordinates = (str(latitude), str(longitude))
    return {
        "self": f"/v1/geo/{address}",
        "accuracy_radius": jitter.choice([1, 5, 10, 20, 50, 100, 200, 500, 1000]),
        "asn_country_iso_code": country,
        "city_geoname_code": city.city_code,
        "city_name": city.city,
        "continent_code": city.continent,
        "country_iso_code": city.country,
        "hostnames": list(catalogue.hostnames.get(str(address), ())),
        "latitude": coordinates[0],
        "longitude": coordinates[1],
        "postal_code": city.postal_code,
        "region_geoname_code": city.region_code,
        "region_name": city.region,
        "time_zone": city.time_zone,
    }


def _os_code(text: str) -> str:
    for needle, code in (
        ("Windows NT 10", "WINDOWS10"),
        ("iPhone", "IOS"),
        ("iPad", "IOS"),
        ("Mac OS X", "MACOSX"),
        ("Android", "ANDROID"),
        ("Linux", "LINUX"),
    ):
        if needle in text:
            return code
    return "UNKNOWN"


def _device_code(text: str, kind: str) -> str:
    if kind == "CRAWLER":
        return "BOT"
    if kind == "LIBRARY" or kind == "UNKNOWN":
        return "UNKNOWN"
    if "iPad" in text or "Tablet" in text:
        return "TABLET"
    if "Mobile" in text or "iPhone" in text:
        return "SMARTPHONE"
    return "DESKTOP"


def ua_uri(rt: Runtime, text: str) -> str:
    """The URI of a user agent: the whole string percent-encoded into one path segment."""
    return "/v1/ua/" + (text if rt.on("ua-self-not-encoded") else quote(text, safe=""))


def ua_view(rt: Runtime, text: str) -> Json:
    """What a user-agent string reveals about the client."""
    profile = next((p for p in rt.catalogue.ua_profiles if p.token in text), None)
    if profile is None:
        codes = {"type": "UNKNOWN", "family": "UNKNOWN", "vendor": "UNKNOWN"}
        classification, agent, engine, version, latest, frequent = (
            "UNKNOWN",
            "",
            "",
            "",
            "",
            "UNKNOWN",
        )
    else:
        codes = {"type": profile.type, "family": profile.family, "vendor": profile.vendor}
        classification, agent, engine, latest, frequent = (
            profile.classification,
            profile.agent,
            profile.engine,
            profile.latest,
            profile.frequent,
        )
        after = text.split(profile.token, 1)[1].lstrip("/")
        version = after.split(" ", 1)[0].split(";", 1)[0].rstrip(")")
    if classification == "CRAWLER" and rt.on("crawler-classified-client"):
        classification = "CLIENT"
    return {
        "self": ua_uri(rt, text),
        "string": text,
        "classification": classification,
        "type": f"/v1/ua/type/{codes['type']}",
        "agent": agent,
        "engine": engine,
        "version": version,
        "latest": latest,
        "family": f"/v1/ua/family/{codes['family']}",
        "vendor": f"/v1/ua/vendor/{codes['vendor']}",
        "os": f"/v1/ua/os/{_os_code(text)}",
        "device": f"/v1/ua/device/{_device_code(text, codes['type'])}",
        "frequent": frequent,
    }


def ua_code_view(table: str, entry: UaCode) -> Json:
    """An entry of a user-agent lookup table."""
    return {
        "self": f"/v1/ua/{table}/{entry.code}",
        "code": entry.code,
        "description": entry.description,
        **entry.extra,
    }


def reported_uri(address: str) -> str:
    """The URI of a reported address."""
    return f"/v1/denylist/reported/ip/{address}"


def reported_view(rt: Runtime, entry: Reported) -> Json:
    """An address the user reported (times in Unix milliseconds)."""
    scale = 1000 if rt.on("report-times-in-seconds") else 1
    return {
        "self": reported_uri(entry.address),
        "last_report": entry.last_report // scale,
        "expiry": entry.expiry // scale,
        "total_reports": entry.total_reports,
        "protocol": "IPV6" if ":" in entry.address else "IPV4",
        "dataset": f"/v1/dataset/ip/{entry.dataset}",
        "tags": list(entry.tags),
    }


def list_uri(acl: AclList) -> str:
    """The URI of an allow or deny list."""
    family = "allowlist" if acl.list_type == "ALLOW" else "denylist"
    scope = "public" if acl.public else "private"
    return f"/v1/{family}/{scope}/{acl.id}"


def list_view(acl: AclList) -> Json:
    """An allow or deny list (public lists carry a status and no content reference)."""
    body: Json = {
        "self": list_uri(acl),
        "name": acl.name,
        "description": acl.description,
        "resource_type": acl.resource_type,
        "list_type": acl.list_type,
        "tags": list(acl.tags),
        "created_at": acl.created_at,
        "updated_at": acl.updated_at,
        "origins": {"self": list_uri(acl) + "/origin", "lists": []},
    }
    if acl.ttl is not None:
        body["ttl"] = acl.ttl
    if acl.public:
        body["status"] = "ACTIVE"
    else:
        body["content"] = list_uri(acl) + "/content"
    return body


def list_content(acl: AclList, account: Account, now_ms: int) -> list[str | int]:
    """A list's elements; the default allowlist also holds the user's live false positives."""
    content: list[str | int] = list(acl.content)
    if acl.default and acl.list_type == "ALLOW":
        for entry in account.allowed_now(now_ms):
            content.append(f"{entry.address}/{32 if ':' not in entry.address else 128}")
    return content


def _holds(acl: AclList, account: Account, address: Address, now_ms: int) -> bool:
    if acl.resource_type != "CIDR":
        return False
    for element in list_content(acl, account, now_ms):
        network = ipaddress.ip_network(str(element))
        if network.version == address.version and address in network:
            return True
    return False


def _private(catalogue: Catalogue, kind: str) -> list[AclList]:
    return [acl for acl in catalogue.lists.values() if not acl.public and acl.list_type == kind]


def assess_view(rt: Runtime, account: Account, address: Address) -> Json:
    """Score an address: the riskiest of its prefixes, datasets and the user's own lists."""
    catalogue, now_ms = rt.catalogue, rt.now_ms()
    text = str(address)
    empty = _absent(rt)
    body: Json = {
        "self": f"/v1/assess/ip/{text}",
        "score": 0,
        "risk": "UNKNOWN",
        "reason": "No information was found about this address.",
        "datasets": [],
        "sources": [],
        "first_appearance": [],
        "last_appearance": [],
        "asn": empty,
        "asn_prefix": empty,
        "datacenter": empty,
        "datacenter_prefix": empty,
        "denylisted": empty,
        "allowlisted": empty,
    }
    factors: list[tuple[int, str]] = []
    prefix = catalogue.prefix_of(address)
    if prefix is not None:
        body["asn"] = f"/v1/asn/{prefix.asn}"
        body["asn_prefix"] = prefix_uri(rt, "asn", prefix.network)
        factors.append((prefix.score, "Found in an ASN prefix with risky score."))
    centre = catalogue.datacenter_prefix_of(address)
    if centre is not None:
        body["datacenter"] = f"/v1/datacenter/{centre.datacenter}"
        body["datacenter_prefix"] = prefix_uri(rt, "datacenter", centre.network)
        factors.append((centre.score, "Found in an Datacenter network with risky score."))
    for sighting in catalogue.sightings.get(text, []):
        source = catalogue.sources[sighting.source]
        dataset = f"/v1/dataset/ip/{source.dataset}"
        if dataset not in body["datasets"]:
            body["datasets"].append(dataset)
        body["sources"].append(f"/v1/source/ip/{source.name}/range/{sighting.lapse}")
        body["first_appearance"].append(f"/v1/log/ip/id/{sighting.first_log}")
        body["last_appearance"].append(f"/v1/log/ip/id/{sighting.last_log}")
        factors.append((source.ranges[sighting.lapse].score, "Found in one or more denylist datasets."))
    top = 100 if rt.on("score-100") else HIGHEST
    for acl in _private(catalogue, "DENY"):
        if _holds(acl, account, address, now_ms):
            body["denylisted"] = list_uri(acl)
            factors.append((top, "Found in a private denylist of the user."))
    if account.report(now_ms, text) is not None:
        body["denylisted"] = reported_uri(text)
        if not rt.on("reported-ip-not-high"):
            factors.append((top, "Reported by the user through the Report API."))
    allowing = [acl for acl in _private(catalogue, "ALLOW") if _holds(acl, account, address, now_ms)]
    if allowing:
        body["allowlisted"] = list_uri(allowing[0])
        if not rt.on("allowlist-ignored"):
            factors = [(0, "Found in a private allowlist of the user: the assessment stops here.")]
            for key in ("datasets", "sources", "first_appearance", "last_appearance"):
                body[key] = []
    if factors:
        score, reason = max(factors, key=lambda factor: factor[0])
        if score < 35 and not allowing:
            reason = "No risky network, dataset or list holds this address."
        body["score"], body["risk"], body["reason"] = score, risk_of(min(score, HIGHEST)), reason
    if rt.on("assess-score-string"):
        body["score"] = str(body["score"])
    if rt.on("assess-datasets-hidden"):
        body["datasets"] = []
    if rt.on("absent-list-empty-string"):
        for key in ("datasets", "sources"):
            body[key] = body[key] or [""]
    return body


def token_view(rt: Runtime, token: Token, meter: Meter) -> Json:
    """A token and its quota counters (instants in Unix milliseconds)."""
    now = rt.now()
    scale = 1000 if rt.on("quota-refresh-in-seconds") else 1
    minute_scale = 1000 if rt.on("quota-minute-refresh-in-seconds") else scale
    key = token.key
    if rt.on("token-self-masked") or (token.region == "paris" and rt.on("token-self-masked-paris")):
        key = "tja_" + "*" * 32 + key[-4:]
    return {
        "self": f"/v1/token/{key}",
        "region_id": REGIONS.get(token.region, token.region),
        "last_month_bucket_init_value": meter.plan.month,
        "last_month_bucket_value": meter.month_used,
        "last_month_bucket_refresh": meter.month_refresh // scale,
        "last_minute_bucket_init_value": meter.plan.minute,
        "last_minute_bucket_refill_ratio": max(1, meter.plan.minute // 60),
        "last_minute_bucket_value": len(meter.minute_hits),
        "last_minute_bucket_refresh": meter.minute_refresh(now) // minute_scale,
        "status": "ENABLED",
        "created_at": token.created_at,
        "updated_at": token.created_at,
    }


def activity_view(activity: Activity) -> Json:
    """One event of the token's activity log."""
    return {
        "self": f"/v1/token/activity/{activity.id}",
        "event": activity.event,
        "description": activity.description,
        "data": {},
        "created_at": activity.created_at,
        "source": {
            "address": activity.address,
            "ua_string": activity.ua_string,
            "status_code": activity.status_code,
            "uri": activity.uri,
            "body": "",
            "method": activity.method,
        },
    }
