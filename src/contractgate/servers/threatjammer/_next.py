"""The simulated next Threat Jammer release (`version="next"`): what `contractgate drift` must report, and only it."""

from __future__ import annotations

from .._base import ReleaseChange

__all__ = ["NEXT_RELEASE"]

NEXT_RELEASE = (
    ReleaseChange(
        "remove-field",
        "GET",
        r"/v1/geo/[^/]+",
        field="postal_code",
        description="geolocation no longer gives the postal code",
    ),
    ReleaseChange(
        "retype-field",
        "GET",
        r"/v1/asn/\d+",
        field="score",
        description="an ASN's score is sent as a string",
    ),
    ReleaseChange(
        "add-field",
        "GET",
        r"/v1/asn/\d+",
        field="network_type",
        value="isp",
        description="an ASN carries its network type",
    ),
    ReleaseChange(
        "rename-header",
        "GET",
        "/v1/dataset/ip",
        header="retry-after",
        new_header="x-ratelimit-reset",
        description="a spent quota's wait is given in X-RateLimit-Reset",
    ),
    ReleaseChange(
        "add-status",
        "GET",
        r"/v1/asn/6451[2-9]|/v1/asn/645[2-9]\d|/v1/asn/64[6-9]\d\d|/v1/asn/65[0-4]\d\d|/v1/asn/655[0-2]\d|/v1/asn/6553[0-4]",
        status=400,
        replaces=404,
        description="a private-use ASN (64512-65534) is refused as a bad request",
    ),
)
