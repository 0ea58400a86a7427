"""Roles, API-key privilege letters and the roles each letter grants."""

from __future__ import annotations

__all__ = [
    "ACL_ROLES",
    "ALL_ROLES",
    "EXTENDED_ROLES",
    "READ_ROLES",
    "SEARCH_ROLES",
    "WRITE_ROLES",
    "key_roles",
]

READ_ROLES = frozenset(
    {
        "alert_view",
        "archive_view",
        "archive_download",
        "badlist_view",
        "bundle_download",
        "external_query",
        "file_detail",
        "file_download",
        "heuristic_view",
        "safelist_view",
        "signature_download",
        "signature_view",
        "submission_view",
        "workflow_view",
        "retrohunt_view",
    }
)

WRITE_ROLES = frozenset(
    {
        "alert_manage",
        "archive_trigger",
        "archive_manage",
        "badlist_manage",
        "replay_trigger",
        "safelist_manage",
        "submission_create",
        "submission_delete",
        "submission_manage",
        "submission_customize",
        "retrohunt_run",
    }
)

EXTENDED_ROLES = frozenset(
    {
        "administration",
        "apikey_access",
        "file_purge",
        "obo_access",
        "replay_system",
        "self_manage",
        "signature_import",
        "signature_manage",
        "workflow_manage",
    }
)

ALL_ROLES = READ_ROLES | WRITE_ROLES | EXTENDED_ROLES

ACL_ROLES = {"R": READ_ROLES, "W": WRITE_ROLES, "E": EXTENDED_ROLES}

SEARCH_ROLES = frozenset(
    {
        "alert_view",
        "archive_view",
        "badlist_view",
        "heuristic_view",
        "retrohunt_view",
        "safelist_view",
        "signature_view",
        "submission_view",
        "workflow_view",
    }
)


def key_roles(acl: str, owner_roles: frozenset[str], custom: frozenset[str] = frozenset()) -> frozenset[str]:
    """The roles a key with these privilege letters keeps: what they grant, within the owner's."""
    granted: set[str] = set(custom) if "C" in acl else set()
    for letter in acl:
        granted |= ACL_ROLES.get(letter, frozenset())
    return frozenset(granted) & owner_roles
