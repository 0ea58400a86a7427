"""The simulated next ThreatConnect release (`version="next"`): what `contractgate drift` must report, and only it."""

from __future__ import annotations

from .._base import ReleaseChange

__all__ = ["NEXT_RELEASE"]

NEXT_RELEASE = (
    ReleaseChange(
        "remove-field",
        "GET",
        "/v2/whoami",
        field="data.user.pseudonym",
        description="whoami no longer carries the user's pseudonym",
    ),
    ReleaseChange(
        "retype-field",
        "GET",
        "/v2/securityLabels",
        field="data.resultCount",
        description="the security-label count is sent as a string",
    ),
    ReleaseChange(
        "add-field",
        "GET",
        "/v2/owners/mine/members",
        field="data.user.*.role",
        value="Read Only User",
        description="each member carries its role",
    ),
    ReleaseChange(
        "rename-header",
        "GET",
        "/v3/security/owners",
        header="server",
        new_header="x-served-by",
        target="threatconnect",
        description="v3 owners come through a gateway that names itself in X-Served-By, not Server",
    ),
    ReleaseChange(
        "add-status",
        "GET",
        "/v2/indicators/hosts",
        query=r"(^|&)modifiedSince=2[0-9]{3}-",
        status=422,
        description="a modifiedSince past the end of the century is refused as unprocessable",
    ),
)
