"""How objects look on the wire: v2 and v3 JSON shapes, the v2 XML twin, and the responses."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Collection, Mapping
from typing import Any
from urllib.parse import quote_plus

from starlette.responses import Response

from ._data import (
    SECURITY_LABELS,
    TAG_DESCRIPTIONS,
    Attribute,
    DeletedIndicator,
    Group,
    Indicator,
    IndicatorKind,
    Owner,
    SecurityLabel,
    User,
    iso,
)

__all__ = [
    "JSON",
    "XML_INSTANCE",
    "json_response",
    "tag_id",
    "v2_attribute",
    "v2_group",
    "v2_indicator",
    "v2_indicator_row",
    "v2_indicator_type",
    "v2_label",
    "v2_owner",
    "v2_tag",
    "v2_user",
    "v2_xml",
    "v2_xml_error",
    "v3_deleted",
    "v3_group",
    "v3_indicator",
    "v3_security_owner",
    "v3_user",
    "xml_response",
]

JSON = "application/json"
XML_INSTANCE = "http://www.w3.org/2001/XMLSchema-instance"
_PERMISSIONS = (
    "permIndicator", "permGroup", "permPost", "permVictim", "permAttribute", "permApps",
    "permUsers", "permSecurityLabel", "permTag", "permAttributeType", "permSettings",
    "permMembers", "permCopyData", "permInvite", "permTask", "permCaseTag", "permArtifact",
    "permComment", "permTimeline", "permWorkflowTemplate", "permPublish",
    "permPlaybooksExecute", "permPlaybooks",
)  # fmt: skip


def json_response(body: Any, status: int = 200, *, charset: bool = False) -> Response:
    """A JSON response whose Content-Type is exactly application/json (unless `charset`)."""
    content = json.dumps(body, separators=(",", ":")).encode()
    media = f"{JSON}; charset=utf-8" if charset else JSON
    return Response(content, status_code=status, media_type=media)


def xml_response(root: ET.Element, status: int = 200) -> Response:
    """An XML response."""
    content = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(content, status_code=status, media_type="application/xml")


def tag_id(name: str) -> int:
    """A stable id for a tag name."""
    names = sorted(TAG_DESCRIPTIONS)
    return 7_000 + (names.index(name) if name in names else len(names) + len(name))


def _link(origin: str, entity: str, key: str, owner: Owner) -> str:
    query = f"{entity}={quote_plus(key)}&owner={quote_plus(owner.name)}"
    return f"{origin}/auth/indicators/details/{entity}.xhtml?{query}"


def _primary(indicator: Indicator) -> str:
    return next(value for value in indicator.values.values() if value)


# --- v2 ---------------------------------------------------------------------------------------


def v2_owner(owner: Owner) -> dict[str, Any]:
    """An owner in v2."""
    return {"id": owner.id, "name": owner.name, "type": owner.type}


def v2_user(user: User, *, detail: bool = False) -> dict[str, Any]:
    """A member in v2 (whoami adds pseudonym and role)."""
    shown: dict[str, Any] = {
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
    }
    if detail:
        shown |= {"pseudonym": user.pseudonym, "role": user.role}
    return shown


def v2_tag(name: str, owner: Owner, origin: str, *, detail: bool = False) -> dict[str, Any]:
    """A tag in v2."""
    shown: dict[str, Any] = {"name": name}
    if detail and name in TAG_DESCRIPTIONS:
        shown["description"] = TAG_DESCRIPTIONS[name]
    query = f"tag={quote_plus(name)}&owner={quote_plus(owner.name)}"
    shown["webLink"] = f"{origin}/auth/tags/tag.xhtml?{query}"
    return shown


def v2_attribute(attribute: Attribute) -> dict[str, Any]:
    """An attribute in v2."""
    return {
        "id": attribute.id,
        "type": attribute.type,
        "value": attribute.value,
        "dateAdded": iso(attribute.date_added),
        "lastModified": iso(attribute.last_modified),
        "displayed": attribute.displayed,
    }


def v2_label(label: SecurityLabel) -> dict[str, Any]:
    """A security label in v2."""
    return {
        "name": label.name,
        "description": label.description,
        "color": label.color,
        "dateAdded": iso(label.date_added),
    }


def v2_indicator_type(kind: IndicatorKind) -> dict[str, Any]:
    """An indicator type in v2 (booleans are strings there)."""
    shown: dict[str, Any] = {
        "name": kind.name,
        "custom": "true" if kind.custom else "false",
        "parsable": "true" if kind.parsable else "false",
        "apiBranch": kind.branch,
        "apiEntity": kind.entity,
    }
    if kind.case_preference:
        shown["casePreference"] = kind.case_preference
    for number, label in enumerate(kind.value_labels, start=1):
        shown[f"value{number}Label"] = label
        shown[f"value{number}Type"] = "text"
    return shown


def v2_indicator_row(indicator: Indicator, origin: str) -> dict[str, Any]:
    """An indicator as /v2/indicators lists it (every type in one list)."""
    assess = indicator.threat_assess
    shown: dict[str, Any] = {
        "id": indicator.id,
        "ownerName": indicator.owner.name,
        "type": indicator.kind.name,
        "dateAdded": iso(indicator.date_added),
        "lastModified": iso(indicator.last_modified),
    }
    if indicator.rating is not None:
        shown["rating"] = indicator.rating
    if indicator.confidence is not None:
        shown["confidence"] = indicator.confidence
    shown |= {
        "threatAssessRating": assess.rating,
        "threatAssessConfidence": assess.confidence,
        "threatAssessScore": assess.score,
        "calScore": assess.cal_score,
        "calIndicatorStatus": assess.cal_status,
        "webLink": _link(origin, indicator.kind.entity, _primary(indicator), indicator.owner),
        "summary": indicator.summary,
    }
    return shown


def v2_indicator(
    indicator: Indicator,
    origin: str,
    *,
    tags: bool = False,
    attributes: bool = False,
) -> dict[str, Any]:
    """An indicator of one type in v2 (typed lists and single GETs)."""
    assess = indicator.threat_assess
    shown: dict[str, Any] = {
        "id": indicator.id,
        "owner": v2_owner(indicator.owner),
        "dateAdded": iso(indicator.date_added),
        "lastModified": iso(indicator.last_modified),
    }
    if indicator.rating is not None:
        shown["rating"] = indicator.rating
    if indicator.confidence is not None:
        shown["confidence"] = indicator.confidence
    shown |= {
        "threatAssessRating": assess.rating,
        "threatAssessConfidence": assess.confidence,
        "webLink": _link(origin, indicator.kind.entity, _primary(indicator), indicator.owner),
    }
    if indicator.source:
        shown["source"] = indicator.source
    if indicator.description:
        shown["description"] = indicator.description
    if attributes:
        shown["attribute"] = [v2_attribute(item) for item in indicator.attributes]
    if tags:
        owner = indicator.owner
        shown["tag"] = [v2_tag(name, owner, origin, detail=True) for name in indicator.tags]
    shown |= {name: value for name, value in indicator.values.items() if value}
    if indicator.size is not None:
        shown["size"] = indicator.size
    if indicator.kind.name == "Host":
        shown["dnsActive"] = "true" if indicator.dns_active else "false"
        shown["whoisActive"] = "true" if indicator.whois_active else "false"
    return shown


def v2_group(
    group: Group,
    origin: str,
    *,
    with_type: bool = False,
    tags: bool = False,
    attributes: bool = False,
) -> dict[str, Any]:
    """A group in v2."""
    entity = group.kind.entity.lower()
    shown: dict[str, Any] = {"id": group.id, "name": group.name}
    if with_type:
        shown["type"] = group.kind.name
    shown |= {
        "ownerName": group.owner.name,
        "dateAdded": iso(group.date_added),
        "webLink": f"{origin}/auth/{entity}/{entity}.xhtml?{entity}={group.id}",
    }
    if group.event_date is not None:
        shown["eventDate"] = iso(group.event_date)
    if group.status is not None:
        shown["status"] = group.status
    if attributes:
        shown["attribute"] = [v2_attribute(item) for item in group.attributes]
    if tags:
        shown["tag"] = [v2_tag(name, group.owner, origin) for name in group.tags]
    return shown


# --- v2 XML -----------------------------------------------------------------------------------


def _pascal(name: str) -> str:
    return name[:1].upper() + name[1:]


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_fill(element: ET.Element, shown: Mapping[str, Any]) -> None:
    for key, value in shown.items():
        if value is None:
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            child = ET.SubElement(element, _pascal(key))
            if isinstance(item, Mapping):
                _xml_fill(child, item)
            else:
                child.text = _xml_text(item)


def v2_xml(root: str, entity: str, data: Mapping[str, Any]) -> ET.Element:
    """The XML twin of a v2 success: <root><Status/><Data xsi:type=...>items</Data></root>."""
    document = ET.Element(root)
    ET.SubElement(document, "Status").text = "Success"
    listing = isinstance(data.get(entity), list)
    data_type = f"{entity}ListResponseData" if listing else f"{entity}ResponseData"
    holder = ET.SubElement(document, "Data", {"xsi:type": data_type, "xmlns:xsi": XML_INSTANCE})
    if "resultCount" in data:
        ET.SubElement(holder, "ResultCount").text = str(data["resultCount"])
    items = data.get(entity)
    for item in items if isinstance(items, list) else [items] if items is not None else []:
        kind = str(item.get("type", entity)) if entity == "owner" else entity
        element = ET.SubElement(holder, _pascal(entity), {"xsi:type": kind.lower()})
        _xml_fill(element, item)
    return document


def v2_xml_error(status_word: str, message: str) -> ET.Element:
    """The XML twin of a v2 error."""
    document = ET.Element("errorResponse")
    ET.SubElement(document, "Status").text = status_word
    ET.SubElement(document, "Message").text = message
    return document


# --- v3 ---------------------------------------------------------------------------------------


def v3_indicator(
    indicator: Indicator,
    origin: str,
    fields: Collection[str] = (),
    groups: Mapping[int, Group] | None = None,
) -> dict[str, Any]:
    """An indicator in v3; `fields` adds the optional parts that were asked for."""
    shown: dict[str, Any] = {
        "id": indicator.id,
        "ownerId": indicator.owner.id,
        "ownerName": indicator.owner.name,
        "dateAdded": iso(indicator.date_added),
        "webLink": f"{origin}/#/details/indicators/{indicator.id}/overview",
        "type": indicator.kind.name,
        "lastModified": iso(indicator.last_modified),
    }
    if indicator.rating is not None:
        shown["rating"] = indicator.rating
    if indicator.confidence is not None:
        shown["confidence"] = indicator.confidence
    if indicator.description:
        shown["description"] = indicator.description
    shown |= {
        "summary": indicator.summary,
        "privateFlag": indicator.private,
        "active": indicator.active,
        "activeLocked": indicator.active_locked,
    }
    shown |= {name: value for name, value in indicator.values.items() if value}
    if indicator.size is not None:
        shown["size"] = indicator.size
    if indicator.kind.name == "Host":
        shown["dnsActive"] = indicator.dns_active
        shown["whoisActive"] = indicator.whois_active
    shown["legacyLink"] = _link(origin, indicator.kind.entity, _primary(indicator), indicator.owner)
    shown |= _v3_optional(indicator, fields, groups or {})
    return shown


def _v3_tag(name: str) -> dict[str, Any]:
    return {"id": tag_id(name), "name": name, "description": TAG_DESCRIPTIONS.get(name, "")}


def _v3_group_reference(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "type": group.kind.name,
        "name": group.name,
        "ownerName": group.owner.name,
    }


def _v3_optional(
    indicator: Indicator,
    fields: Collection[str],
    groups: Mapping[int, Group],
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    assess = indicator.threat_assess
    if "threatAssess" in fields:
        extra |= {
            "threatAssessRating": assess.rating,
            "threatAssessConfidence": assess.confidence,
            "threatAssessScore": assess.score,
            "threatAssessScoreObserved": assess.score_observed,
            "threatAssessScoreFalsePositive": assess.score_false_positive,
            "calScore": assess.cal_score,
        }
    if "tags" in fields:
        tags = [_v3_tag(name) for name in indicator.tags]
        extra["tags"] = {"data": tags, "count": len(tags)}
    if "attributes" in fields:
        attributes = [
            {
                "id": item.id,
                "type": item.type,
                "value": item.value,
                "dateAdded": iso(item.date_added),
                "lastModified": iso(item.last_modified),
                "default": False,
                "pinned": False,
            }
            for item in indicator.attributes
        ]
        extra["attributes"] = {"data": attributes, "count": len(attributes)}
    if "securityLabels" in fields:
        labels = [v2_label(label) for label in SECURITY_LABELS if label.name in indicator.labels]
        extra["securityLabels"] = {"data": labels, "count": len(labels)}
    if "associatedGroups" in fields:
        linked = [groups[gid] for gid in indicator.group_ids if gid in groups]
        extra["associatedGroups"] = {
            "data": [_v3_group_reference(group) for group in linked],
            "count": len(linked),
        }
    if "observations" in fields:
        extra["observations"] = indicator.observations
    if "falsePositives" in fields:
        extra["falsePositives"] = indicator.false_positives
    return extra


def v3_security_owner(owner: Owner, organization: Owner) -> dict[str, Any]:
    """An owner with the API user's role and permissions in it (v3 security/owners)."""
    own = owner.id == organization.id
    level = "FULL" if own else "READ"
    shown: dict[str, Any] = {
        "id": owner.id,
        "name": owner.name,
        "type": owner.type,
        "ownerRole": "Organization Administrator" if own else "Subscriber",
    }
    shown |= dict.fromkeys(_PERMISSIONS, level)
    if not own:
        shown |= {"permUsers": "NONE", "permSettings": "NONE", "permInvite": "NONE"}
    return shown


def v3_user(user: User, organization: Owner) -> dict[str, Any]:
    """A user of the Organization in v3 security/users."""
    return {
        "id": user.id,
        "userName": user.user_name,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "pseudonym": user.pseudonym,
        "owner": organization.name,
    }


def v3_group(group: Group, origin: str, creator: User, organization: Owner) -> dict[str, Any]:
    """A group in v3 (the default fields)."""
    entity = group.kind.entity.lower()
    return {
        "id": group.id,
        "dateAdded": iso(group.date_added),
        "ownerId": group.owner.id,
        "ownerName": group.owner.name,
        "webLink": f"{origin}/#/details/groups/{group.id}/overview",
        "type": group.kind.name,
        "name": group.name,
        "createdBy": v3_user(creator, organization),
        "upVoteCount": "0",
        "downVoteCount": "0",
        "lastModified": iso(group.date_added),
        "legacyLink": f"{origin}/auth/{entity}/{entity}.xhtml?{entity}={group.id}",
    }


def v3_deleted(item: DeletedIndicator) -> dict[str, Any]:
    """An entry of v3 /indicators/deleted: who held it, when it went, what it was."""
    return {
        "ownerName": item.owner.name,
        "dateAdded": iso(item.date_deleted),
        "type": item.kind.name,
        "summary": item.summary,
    }
