"""The simulated next Assemblyline release (`version="next"`): what `contractgate drift` must report, and only it."""

from __future__ import annotations

from .._base import ReleaseChange

__all__ = ["NEXT_RELEASE"]

NEXT_RELEASE = (
    ReleaseChange(
        "remove-field",
        "GET",
        "/api/v4/user/whoami/",
        field="api_response.avatar",
        description="whoami no longer carries the avatar",
    ),
    ReleaseChange(
        "retype-field",
        "GET",
        "/api/v4/",
        field="api_response.apis.*.count_toward_quota",
        description="the API list's count_toward_quota flags are sent as strings",
    ),
    ReleaseChange(
        "add-field",
        "GET",
        "/api/v4/search/[a-z_]+/",
        field="api_response.took",
        value=3,
        description="a search answer says how many milliseconds it took",
    ),
    ReleaseChange(
        "rename-header",
        "GET",
        "/api/v4/search/[a-z_]+/",
        header="x-remaining-quota-api",
        new_header="x-ratelimit-remaining",
        description="search answers give the remaining quota in X-RateLimit-Remaining",
    ),
    ReleaseChange(
        "add-status",
        "GET",
        "/api/v4/search/submission/",
        query=r"(^|&)fl=id(&|$)",
        status=422,
        description="a field list naming an unknown field is a 422",
    ),
)
