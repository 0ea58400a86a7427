"""What v3 OPTIONS describes for indicators: fields, TQL keywords, object properties."""

from __future__ import annotations

from typing import Any

__all__ = [
    "FIELD_OPTIONS",
    "OBJECT_PROPERTIES",
    "TQL_KEYWORDS",
    "field_options",
    "object_descriptor",
]

# (name, description): optional additions a GET makes only when `fields=<name>` is given.
FIELD_OPTIONS: tuple[tuple[str, str], ...] = (
    ("associatedGroups", "Groups associated with the indicator"),
    ("attributes", "Attributes of the indicator"),
    ("falsePositives", "How many times the indicator was reported as a false positive"),
    ("genericCustomIndicatorValues", "Value fields of custom indicator types, by position"),
    ("observations", "How many times the indicator was observed"),
    ("securityLabels", "Security labels applied to the indicator"),
    ("tags", "Tags applied to the indicator"),
    ("threatAssess", "ThreatAssess rating, confidence and scores, and the CAL score"),
)

# (keyword, name, type, description): what `tql=` understands for indicators.
TQL_KEYWORDS: tuple[tuple[str, str, str, str], ...] = (
    ("active", "Active", "Boolean", "Whether the indicator is active"),
    ("confidence", "Confidence Rating", "Integer", "The confidence rating, 0 to 100"),
    ("dateAdded", "Date Added", "Date", "When the indicator was created"),
    ("description", "Description", "String", "The indicator's description"),
    ("hostName", "Host Name", "StringLower", "The host name of a Host indicator"),
    ("id", "ID", "Integer", "The indicator's id"),
    ("lastModified", "Last Modified", "Date", "When the indicator last changed"),
    ("ownerName", "Owner Name", "String", "The name of the owner holding the indicator"),
    ("rating", "Threat Rating", "BigDecimal", "The threat rating, 0 to 5"),
    ("summary", "Summary", "String", "The indicator's summary"),
    ("tag", "Tag", "String", "The name of a tag applied to the indicator"),
    ("typeName", "Type Name", "Enum", "The indicator type, e.g. Host or Address"),
)

# name -> (descriptor, read_only): properties of an indicator object for OPTIONS /v3/indicators.
OBJECT_PROPERTIES: dict[str, tuple[dict[str, Any], bool]] = {
    "id": ({"type": "Integer", "description": "The indicator's id"}, True),
    "ownerId": ({"type": "Integer", "description": "The id of the owner"}, True),
    "ownerName": (
        {"type": "String", "description": "The owner to create the indicator in"},
        False,
    ),
    "dateAdded": ({"type": "Date", "description": "When the indicator was created"}, True),
    "lastModified": ({"type": "Date", "description": "When the indicator last changed"}, True),
    "webLink": ({"type": "String", "description": "A link to the indicator in the UI"}, True),
    "legacyLink": ({"type": "String", "description": "A link to the legacy UI page"}, True),
    "summary": ({"type": "String", "description": "The indicator's summary"}, True),
    "type": (
        {
            "type": "String",
            "description": "The indicator type",
            "required": True,
            "allowableValues": ["Address", "EmailAddress", "File", "Host", "URL"],
        },
        False,
    ),
    "rating": (
        {
            "type": "BigDecimal",
            "description": "The threat rating",
            "updatable": True,
            "minValue": 0,
            "maxValue": 5,
        },
        False,
    ),
    "confidence": (
        {
            "type": "Integer",
            "description": "The confidence rating",
            "updatable": True,
            "minValue": 0,
            "maxValue": 100,
        },
        False,
    ),
    "description": (
        {"type": "String", "description": "A description", "updatable": True, "common": True},
        False,
    ),
    "privateFlag": ({"type": "Boolean", "description": "Whether the indicator is private"}, False),
    "active": (
        {"type": "Boolean", "description": "Whether the indicator is active", "updatable": True},
        False,
    ),
    "activeLocked": (
        {"type": "Boolean", "description": "Whether the active flag is locked", "updatable": True},
        False,
    ),
    "ip": (
        {"type": "String", "description": "The address", "appliesTo": ["Address"]},
        False,
    ),
    "address": (
        {"type": "String", "description": "The email address", "appliesTo": ["EmailAddress"]},
        False,
    ),
    "md5": ({"type": "String", "description": "MD5 hash", "appliesTo": ["File"]}, False),
    "sha1": ({"type": "String", "description": "SHA-1 hash", "appliesTo": ["File"]}, False),
    "sha256": ({"type": "String", "description": "SHA-256 hash", "appliesTo": ["File"]}, False),
    "size": ({"type": "Integer", "description": "Size in bytes", "appliesTo": ["File"]}, False),
    "hostName": (
        {"type": "String", "description": "The host name", "appliesTo": ["Host"], "maxLength": 255},
        False,
    ),
    "dnsActive": ({"type": "Boolean", "description": "DNS lookups", "appliesTo": ["Host"]}, False),
    "whoisActive": (
        {"type": "Boolean", "description": "WHOIS queries", "appliesTo": ["Host"]},
        False,
    ),
    "text": ({"type": "String", "description": "The URL", "appliesTo": ["URL"]}, False),
    "tags": ({"data": [{"type": "Tag", "description": "Tags to apply"}]}, False),
    "attributes": (
        {"data": [{"type": "IndicatorAttribute", "description": "Attributes to add"}]},
        False,
    ),
    "securityLabels": (
        {"data": [{"type": "SecurityLabel", "description": "Security labels to apply"}]},
        False,
    ),
    "threatAssessScore": ({"type": "Integer", "description": "ThreatAssess score"}, True),
}


def object_descriptor(include_read_only: bool) -> dict[str, Any]:
    """The OPTIONS /v3/indicators body: field name -> descriptor, read-only fields when asked."""
    described: dict[str, Any] = {}
    for name, (descriptor, read_only) in OBJECT_PROPERTIES.items():
        if read_only and not include_read_only:
            continue
        described[name] = {**descriptor, "readOnly": True} if read_only else dict(descriptor)
    return described


def field_options() -> list[dict[str, Any]]:
    """The OPTIONS /v3/indicators/fields items: every optional field, none included by default."""
    return [{"name": n, "description": d, "includedByDefault": False} for n, d in FIELD_OPTIONS]
