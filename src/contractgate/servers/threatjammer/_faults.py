"""The deliberate deviations the Threat Jammer simulator can inject, each aimed at one rule."""

from __future__ import annotations

from .._base import Fault, with_levels

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
    # Each fault below trips one rule on its own: the proof that rule can fail alone.
    (
        "cross-region-key-accepted-token",
        "TJ-REGION-001",
        "GET /v1/token (only) accepts a key issued for another region",
    ),
    (
        "cross-region-key-accepted-geo",
        "TJ-FUZZ-002",
        "the geolocation reads (only) accept a key issued for another region",
    ),
    (
        "unknown-key-accepted-token",
        "TJ-AUTH-002",
        "GET /v1/token (only) accepts a well-formed key that was never issued",
    ),
    (
        "unknown-key-accepted-geo",
        "TJ-FUZZ-003",
        "the geolocation reads (only) accept a well-formed key that was never issued",
    ),
    (
        "bearer-prefix-optional-geo",
        "TJ-FUZZ-004",
        "the geolocation reads (only) accept a bare key without the Bearer prefix",
    ),
    (
        "single-item-batch-201",
        "TJ-RESP-001",
        "a batch POST holding exactly one item answers 201 instead of 200",
    ),
    (
        "batch-result-self-rotated",
        "TJ-RESP-003",
        "each batch assessment result carries the next result's URI as its self (the last the first's)",
    ),
    (
        "absent-list-empty-string",
        "TJ-LINK-002",
        'an assessment with no datasets or sources lists [""] instead of []',
    ),
    (
        "datacenter-prefix-uri-single-encoded",
        "TJ-LINK-003",
        "datacenter prefix URIs (only) encode the CIDR's slash once (%2F); AS prefix URIs stay %252F",
    ),
    (
        "reported-not-found-detail-list",
        "TJ-ERR-001",
        "the reported-address-not-found error gives its detail as a list holding the sentence",
    ),
    (
        "error-type-both-keys",
        "TJ-ERR-002",
        'handled errors carry their link under both "type" and "type:"',
    ),
    (
        "page-invalid-400",
        "TJ-ERR-004",
        "a non-numeric page parameter answers 400 instead of 422",
    ),
    (
        "path-loc-dotted",
        "TJ-ERR-005",
        'validation failures of path parameters give loc as one dotted string ("path.number")',
    ),
    ("asn-name-with-suffix", "TJ-ASN-001", "AS names carry a company suffix (GOOGLE LLC instead of GOOGLE)"),
    (
        "private-asn-empty-200",
        "TJ-ASN-002",
        "an AS number of the private-use ranges (64512-65534, 4200000000-4294967294) answers 200 {}",
    ),
    (
        "status-code-unvalidated",
        "TJ-ASN-003",
        "an unlisted AS status code (only; registries stay checked) answers 404 instead of 422",
    ),
    (
        "registry-all-missing-last",
        "TJ-ASN-004",
        "the registry catalogue leaves out its last registry (5 instead of 6)",
    ),
    (
        "assess-datasets-hidden",
        "TJ-ASSESS-001",
        "assessments list no datasets, even for addresses some dataset holds",
    ),
    (
        "private-10-assessed",
        "TJ-ASSESS-002",
        "addresses of 10.0.0.0/8 (only) are assessed with 200; other private ranges still answer 400",
    ),
    (
        "datacenter-miss-titled",
        "TJ-DC-001",
        'an address outside every datacenter answers 404 titled "Datacenter not found"',
    ),
    (
        "page-window-off-by-one",
        "TJ-PAGE-003",
        "pages after the first start one item early, overlapping the previous page",
    ),
    (
        "false-add-body",
        "TJ-REPORT-001",
        "POST /v1/false/add/ip answers 202 with a JSON body instead of an empty one",
    ),
    (
        "minute-retry-after-ms",
        "TJ-QUOTA-002",
        "the per-minute quota's 429 gives Retry-After in milliseconds instead of seconds",
    ),
    (
        "month-retry-after-ms",
        "TJ-QUOTA-003",
        "the monthly quota's 429 gives Retry-After in milliseconds instead of seconds",
    ),
    (
        "geo-one-coordinates-as-strings",
        "TJ-SCHEMA-001",
        "GET /v1/geo/{ip} (only; the batch keeps numbers) gives latitude and longitude as strings",
    ),
    (
        "log-of-address-empty-null",
        "TJ-FUZZ-001",
        "GET /v1/log/ip/{ip} answers logs: null instead of [] for an address without log changes",
    ),
    ("geo-batch-size-unchecked", "TJ-GEO-001", "geolocation batches above 500 addresses are accepted"),
    (
        "geo-batch-drops-last",
        "TJ-GEO-001",
        "the batch geolocation leaves out the last located address (one result short)",
    ),
    (
        "report-expiry-not-renewed",
        "TJ-REPORT-010",
        "reporting an address again keeps the first report's expiry instead of last_report + ttl x 1000",
    ),
    (
        "report-counted-twice",
        "TJ-REPORT-010",
        "reporting an address again adds 2 to total_reports instead of 1",
    ),
    (
        "reported-listing-times-in-seconds",
        "TJ-DENY-001",
        "the reported-address listing (only; one address's lookup keeps ms) gives times in seconds",
    ),
    (
        "dataset-name-title-case",
        "TJ-DATASET-001",
        'GET /v1/dataset/ip/{name} gives the name in title case ("Tor" for TOR)',
    ),
    (
        "datacenter-prefix-post-score-string",
        "TJ-SCHEMA-002",
        "POST /v1/datacenter/prefix (only) gives the prefix's score as a string",
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
    # Issue 14: a value-level fault for each rule that had none, each caught by that rule alone.
    (
        "report-cross-region-key-accepted-paris",
        "TJ-REGION-002",
        "the Paris Report API (only) accepts a key issued for Dublin",
    ),
    (
        "missing-auth-400",
        "TJ-AUTH-001",
        "a request without Authorization gets the handled unauthorized error with status 400 instead of 401",
    ),
    ("test-endpoint-missing-paris", "TJ-AUTH-005", "GET /test answers 404 in Paris (only)"),
    (
        "token-self-masked-paris",
        "TJ-AUTH-006",
        "the Paris token's self (only) shows a masked key",
    ),
    (
        "dataset-json-served-as-text",
        "TJ-REQ-001",
        "successful answers of the dataset family (only) are labelled text/plain",
    ),
    (
        "activity-self-with-query",
        "TJ-RESP-002",
        "the activity listing's self carries the default query (?page=1&page_size=20) that was not asked for",
    ),
    ("batch-size-off-by-one", "TJ-ASSESS-005", "the assessment batch accepts 501 addresses (limit one too high)"),
    (
        "time-range-365d-lapse-180d",
        "TJ-SOURCE-001",
        "the 365D range of a source (only) answers lapse 180D",
    ),
    (
        "crawler-classified-client",
        "TJ-UA-001",
        "user agents of crawlers are classified CLIENT",
    ),
    (
        "allowlist-id-unvalidated",
        "TJ-LIST-001",
        "an allowlist id (only; denylists stay checked) that is not a UUID answers 404 instead of 422",
    ),
    (
        "csv-format-ignored-when-filtered",
        "TJ-DENY-002",
        "output_format=CSV answers JSON when ip_protocol_version is given too",
    ),
    (
        "report-unban-get-allowed",
        "TJ-REPORT-002",
        "POST-only holds on every Report API path but /v1/unban/ip, which answers GET",
    ),
    (
        "report-token-unchecked-paris",
        "TJ-REPORT-003",
        "the Paris Report API (only) accepts keys it never issued",
    ),
    (
        "report-invalid-address-400",
        "TJ-REPORT-004",
        "a malformed address in a Report API body answers 400 invalid-ip-address instead of 422",
    ),
    (
        "report-quota-off-by-one",
        "TJ-REPORT-005",
        "the Report API refuses the 8th call of a minute instead of the 7th (7 allowed, not 6)",
    ),
    (
        "report-retry-after-ms",
        "TJ-REPORT-005",
        "the Report API's 429 gives Retry-After in milliseconds instead of seconds",
    ),
    (
        "report-200-once-month-spent",
        "TJ-REPORT-007",
        "once the User API monthly quota is spent, the Report API answers 200 instead of 202",
    ),
    (
        "datacenter-prefixes-dangling",
        "TJ-LINK-001",
        "a datacenter's prefixes reference points at /v1/datacenter/{code}/prefix, which does not exist",
    ),
    (
        "batch-score-off-by-one",
        "TJ-ASSESS-004",
        "batch assessments score one point off the single lookup of the same address",
    ),
    (
        "geo-batch-coordinates-swapped",
        "TJ-GEO-001",
        "the batch geolocation (only) swaps each result's latitude and longitude",
    ),
    (
        "post-lookups-not-counted",
        "TJ-QUOTA-001",
        "User API requests by POST (the batch and CIDR lookups) spend no quota point",
    ),
    (
        "month-retry-after-minute",
        "TJ-QUOTA-003",
        "the monthly quota's 429 gives Retry-After 60 (a minute) instead of the time left until its refresh",
    ),
    (
        "list-size-off-by-one",
        "TJ-LIST-SIZE-001",
        "a private list holds one element more than the plan allows (101 on Free)",
    ),
]

# Faults the broad fuzz rules must catch as well: they prove each fuzz rule can fail.
_ALSO: dict[str, tuple[str, ...]] = {
    "geo-coordinates-as-strings": ("TJ-FUZZ-001",),
    "assess-score-string": ("TJ-FUZZ-001",),
    "cross-region-key-accepted": ("TJ-FUZZ-002",),
    "unknown-key-accepted": ("TJ-FUZZ-003",),
    "bearer-prefix-optional": ("TJ-FUZZ-004",),
}

# Value-level faults: every documented form holds and only a value departs (a status, a unit, a count, a
# string, a relation), or the deviation is confined to one member of the statement's scope (one endpoint
# family, one parameter, one range, one representation). Every other fault breaks a form: a field, key,
# type, pattern or content type, or a whole check left out (a key, a size, a validation never enforced).
_VALUE = [
    # a status, a string or a state departs; the answer's form holds
    "malformed-key-400",
    "bearer-prefix-unnamed",
    "v2-alias-served",
    "query-filter-ignored",
    "post-params-from-query",
    "batch-201",
    "batch-result-self-collection",
    "dangling-reference",
    "prefix-uri-single-encoded",
    "error-slug-mismatch",
    "score-100",
    "batch-private-included",
    "reported-ip-not-high",
    "allowlist-ignored",
    "report-times-in-seconds",
    "delete-reported-ignored",
    "page-size-default-10",
    "page-not-echoed",
    "page-zero-based",
    "report-consumes-user-quota",
    "report-tags-dropped",
    "unban-ignored",
    "quota-refresh-in-seconds",
    "validation-not-counted",
    # confined to one endpoint, one range, one parameter or one representation, or one value off
    "cross-region-key-accepted-token",
    "cross-region-key-accepted-geo",
    "unknown-key-accepted-token",
    "unknown-key-accepted-geo",
    "bearer-prefix-optional-geo",
    "single-item-batch-201",
    "batch-result-self-rotated",
    "absent-list-empty-string",
    "datacenter-prefix-uri-single-encoded",
    "reported-not-found-detail-list",
    "error-type-both-keys",
    "page-invalid-400",
    "path-loc-dotted",
    "asn-name-with-suffix",
    "private-asn-empty-200",
    "status-code-unvalidated",
    "registry-all-missing-last",
    "assess-datasets-hidden",
    "private-10-assessed",
    "datacenter-miss-titled",
    "page-window-off-by-one",
    "false-add-body",
    "minute-retry-after-ms",
    "month-retry-after-ms",
    "geo-one-coordinates-as-strings",
    "log-of-address-empty-null",
    "geo-batch-drops-last",
    "report-expiry-not-renewed",
    "report-counted-twice",
    "reported-listing-times-in-seconds",
    "dataset-name-title-case",
    "datacenter-prefix-post-score-string",
    "csv-strict-parse-ignored",
    "delete-all-keeps-reported",
    # added for issue 14
    "report-cross-region-key-accepted-paris",
    "missing-auth-400",
    "test-endpoint-missing-paris",
    "token-self-masked-paris",
    "dataset-json-served-as-text",
    "activity-self-with-query",
    "batch-size-off-by-one",
    "time-range-365d-lapse-180d",
    "crawler-classified-client",
    "allowlist-id-unvalidated",
    "csv-format-ignored-when-filtered",
    "report-unban-get-allowed",
    "report-token-unchecked-paris",
    "report-invalid-address-400",
    "report-quota-off-by-one",
    "report-retry-after-ms",
    "report-200-once-month-spent",
    "list-size-off-by-one",
    "datacenter-prefixes-dangling",
    "batch-score-off-by-one",
    "geo-batch-coordinates-swapped",
    "post-lookups-not-counted",
    "month-retry-after-minute",
]

FAULTS: dict[str, Fault] = with_levels(
    {name: Fault(name, rule, text, _ALSO.get(name, ())) for name, rule, text in _TABLE}, _VALUE
)
