"""The deliberate deviations the Threat Jammer simulator can inject, each aimed at one rule."""

from __future__ import annotations

from .._base import Fault

__all__ = ["FAULTS"]

_TABLE = [
    (
        "cross-region-key-accepted",
        "TJ-REGION-001",
        "the User API accepts a key issued for another region",
    ),
    (
        "report-cross-region-key-accepted",
        "TJ-REGION-002",
        "the Report API accepts a key issued for another region",
    ),
    (
        "missing-auth-403",
        "TJ-AUTH-001",
        "a request without Authorization gets 403 {detail: Not authenticated}, as stock FastAPI",
    ),
    ("unknown-key-accepted", "TJ-AUTH-002", "a well-formed key that was never issued is accepted"),
    ("malformed-key-400", "TJ-AUTH-003", "a malformed key gets 400 instead of 401"),
    ("bearer-prefix-optional", "TJ-AUTH-004", "a bare key without the Bearer prefix is accepted"),
    (
        "bearer-prefix-unnamed",
        "TJ-AUTH-004",
        "a key without the Bearer prefix is refused, but the message does not name the prefix",
    ),
    ("test-endpoint-missing", "TJ-AUTH-005", "GET /test answers 404"),
    (
        "token-self-masked",
        "TJ-AUTH-006",
        "the token's self shows a masked key that is not of the tja_ + 36 base62 form",
    ),
    ("v2-alias-served", "TJ-VER-001", "paths under /v2/ are answered like /v1/"),
    ("json-served-as-text", "TJ-REQ-001", "successful JSON bodies are labelled text/plain"),
    (
        "query-filter-ignored",
        "TJ-REQ-002",
        "the reported-address listing ignores ip_protocol_version from the query string",
    ),
    (
        "post-params-from-query",
        "TJ-REQ-003",
        "POST /v1/asn/prefix reads the prefix from the query string when the body lacks it",
    ),
    ("batch-201", "TJ-RESP-001", "the batch assessment answers 201 Created"),
    ("self-missing", "TJ-RESP-002", "GET /v1/geo/{ip} leaves self out"),
    (
        "batch-result-self-collection",
        "TJ-RESP-003",
        "each batch assessment result names the collection as its self",
    ),
    (
        "absolute-reference-uris",
        "TJ-LINK-001",
        "datacenter answers give their references as absolute https:// URLs",
    ),
    (
        "dangling-reference",
        "TJ-LINK-001",
        "an AS points at /v1/asn/{n}/prefix, which does not exist",
    ),
    (
        "absent-reference-null",
        "TJ-LINK-002",
        "absent references are null instead of the empty string",
    ),
    (
        "prefix-uri-single-encoded",
        "TJ-LINK-003",
        "CIDRs in prefix URIs are encoded once (%2F) instead of twice (%252F)",
    ),
    ("error-missing-title", "TJ-ERR-001", "handled error bodies have no title"),
    (
        "error-type-colon-key",
        "TJ-ERR-002",
        'handled error bodies spell the key "type:", as the intro\'s example prints it',
    ),
    ("error-slug-mismatch", "TJ-ERR-003", "authentication errors link the resource-not-found page"),
    (
        "validation-not-422",
        "TJ-ERR-004",
        "malformed IP addresses answer 400 invalid-ip-address (as the error index has it), not 422",
    ),
    (
        "validation-detail-string",
        "TJ-ERR-005",
        "validation failures carry detail as one string instead of a list",
    ),
    ("registry-date-dashed", "TJ-ASN-001", "registry dates are written YYYY-MM-DD"),
    ("unknown-asn-empty-200", "TJ-ASN-002", "an unknown AS answers 200 with an empty object"),
    (
        "registry-code-unvalidated",
        "TJ-ASN-003",
        "an unlisted registry or status code answers 404 instead of 422",
    ),
    (
        "registry-all-wrapped",
        "TJ-ASN-004",
        "the registry and status catalogues are wrapped in an object instead of a bare array",
    ),
    ("assess-score-string", "TJ-ASSESS-001", "assessment scores are strings"),
    ("private-ip-assessed", "TJ-ASSESS-002", "private addresses are assessed with 200"),
    ("score-100", "TJ-ASSESS-003", "denylisted addresses score 100, beyond the 0-99 range"),
    (
        "batch-private-included",
        "TJ-ASSESS-004",
        "the batch assessment returns results for private addresses",
    ),
    ("batch-size-unchecked", "TJ-ASSESS-005", "batches above 500 addresses are accepted"),
    (
        "reported-ip-not-high",
        "TJ-ASSESS-006",
        "addresses the user reported do not raise the assessment to HIGH",
    ),
    (
        "allowlist-ignored",
        "TJ-ASSESS-007",
        "allowlisted addresses are still scored by the other risk factors",
    ),
    (
        "datacenter-miss-empty-200",
        "TJ-DC-001",
        "an address outside every datacenter answers 200 with empty references",
    ),
    (
        "dataset-name-case-folded",
        "TJ-DATASET-001",
        "lower-case dataset names are accepted instead of failing validation",
    ),
    (
        "time-range-unvalidated",
        "TJ-SOURCE-001",
        "an unlisted source time range answers 404 instead of 422",
    ),
    (
        "ua-self-not-encoded",
        "TJ-UA-001",
        "user-agent results carry the raw string in self instead of percent-encoding it",
    ),
    (
        "list-id-unvalidated",
        "TJ-LIST-001",
        "a list id that is not a UUID answers 404 instead of 422",
    ),
    (
        "report-times-in-seconds",
        "TJ-DENY-001",
        "reported entries give last_report and expiry in seconds instead of milliseconds",
    ),
    ("csv-format-ignored", "TJ-DENY-002", "output_format=CSV still answers JSON"),
    (
        "delete-reported-ignored",
        "TJ-DENY-003",
        "deleting a reported address answers 200 but keeps it",
    ),
    ("page-size-default-10", "TJ-PAGE-001", "the default page size is 10 instead of 20"),
    (
        "page-not-echoed",
        "TJ-PAGE-002",
        "the activity listing echoes the default page and page_size, not the requested ones",
    ),
    (
        "page-zero-based",
        "TJ-PAGE-003",
        "page numbers start at 0, so page=1 returns the second page",
    ),
    ("report-api-200", "TJ-REPORT-001", "POST /v1/false/remove/ip answers 200 with a JSON body"),
    ("report-api-get-allowed", "TJ-REPORT-002", "the Report API answers GET requests"),
    ("report-token-unchecked", "TJ-REPORT-003", "the Report API accepts keys it never issued"),
    ("report-body-unvalidated", "TJ-REPORT-004", "the Report API accepts bodies without addresses"),
    (
        "report-quota-unenforced",
        "TJ-REPORT-005",
        "the Report API never refuses a token for calling too often",
    ),
    (
        "report-consumes-user-quota",
        "TJ-REPORT-006",
        "Report API calls spend a point of the User API monthly quota",
    ),
    (
        "report-blocked-by-user-quota",
        "TJ-REPORT-007",
        "the Report API answers 429 once the User API monthly quota is spent",
    ),
    ("report-tags-dropped", "TJ-REPORT-008", "reported tags are not stored"),
    ("unban-ignored", "TJ-REPORT-009", "unbanning leaves the address reported"),
    (
        "quota-refresh-in-seconds",
        "TJ-TOKEN-001",
        "the quota refresh instants are Unix seconds instead of milliseconds",
    ),
    (
        "validation-not-counted",
        "TJ-QUOTA-001",
        "requests that fail validation do not spend a quota point",
    ),
    ("minute-quota-unenforced", "TJ-QUOTA-002", "the per-minute quota is never enforced"),
    ("429-without-retry-after", "TJ-QUOTA-002", "User API 429 answers have no Retry-After header"),
    ("month-quota-unenforced", "TJ-QUOTA-003", "the monthly quota is never enforced"),
    (
        "geo-coordinates-as-strings",
        "TJ-SCHEMA-001",
        "geolocation latitude and longitude are strings",
    ),
    (
        "batch-results-keyed-by-address",
        "TJ-SCHEMA-002",
        "the batch geolocation returns results as an object keyed by address",
    ),
    (
        "csv-strict-parse-ignored",
        "TJ-CSV-001",
        "the CSV lookups skip a malformed line even when strict_parse=true",
    ),
    (
        "delete-all-keeps-reported",
        "TJ-REPORTED-DELETE-ALL-001",
        "DELETE /v1/denylist/reported/ip/all answers 200 but keeps every reported address",
    ),
    ("list-size-unenforced", "TJ-LIST-SIZE-001", "a list content PUT above the plan's size (Free 100) is accepted"),
]

# Faults the broad fuzz rules must catch as well: they prove each fuzz rule can fail.
_ALSO: dict[str, tuple[str, ...]] = {
    "geo-coordinates-as-strings": ("TJ-FUZZ-001",),
    "assess-score-string": ("TJ-FUZZ-001",),
    "cross-region-key-accepted": ("TJ-FUZZ-002",),
    "unknown-key-accepted": ("TJ-FUZZ-003",),
    "bearer-prefix-optional": ("TJ-FUZZ-004",),
}

FAULTS: dict[str, Fault] = {name: Fault(name, rule, text, _ALSO.get(name, ())) for name, rule, text in _TABLE}
