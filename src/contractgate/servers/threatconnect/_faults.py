"""The deviations the ThreatConnect reference server can inject, each aimed at one rule."""

from __future__ import annotations

from .._base import Fault, with_levels

__all__ = ["FAULTS"]

_TABLE: tuple[tuple[str, str, str], ...] = (
    # authentication
    ("token-refused-on-v2", "TC-AUTH-001", "v2 endpoints answer a valid TC-Token with 401"),
    ("hmac-refused-on-v3", "TC-AUTH-002", "v3 endpoints answer a valid HMAC signature with 401"),
    (
        "v3-query-not-signed",
        "TC-AUTH-002",
        "v3 verifies HMAC signatures over the path alone, so a signed v3 GET with a query string is refused",
    ),
    (
        "sign-normalised-path",
        "TC-AUTH-003",
        "also accepts a signature over the path with the /api mount prefix removed",
    ),
    (
        "plus-encoding-rejected",
        "TC-AUTH-004",
        "re-encodes the query with %20 before verifying, so a signed '+' query fails",
    ),
    (
        "query-encoding-normalised",
        "TC-AUTH-004",
        "accepts a signature over the other space encoding ('+' for '%20' and back)",
    ),
    (
        "empty-query-mark-accepted",
        "TC-AUTH-005",
        "also accepts 'path?' signed for a request that has no query string",
    ),
    ("method-not-signed", "TC-AUTH-006", "accepts a signature made for any HTTP method"),
    ("signature-not-checked", "TC-AUTH-007", "accepts any signature from a known Access ID"),
    ("signature-error-403", "TC-AUTH-007", "answers a signature mismatch with 403 instead of 401"),
    ("hmac-window-10min", "TC-AUTH-008", "accepts timestamps up to ten minutes off"),
    (
        "hmac-window-10min-v3",
        "TC-AUTH-008",
        "v3 accepts timestamps up to ten minutes off (v2 keeps the five-minute window)",
    ),
    (
        "hmac-window-past-only",
        "TC-AUTH-008",
        "checks only timestamps in the past; any future timestamp is accepted",
    ),
    (
        "unparseable-timestamp-as-skew",
        "TC-AUTH-009",
        "answers a missing or non-numeric Timestamp with the time-range message",
    ),
    (
        "unknown-access-id-wrong-message",
        "TC-AUTH-010",
        "answers an unknown Access ID with the signature-mismatch message",
    ),
    ("expired-token-accepted", "TC-AUTH-011", "accepts an expired API token"),
    (
        "expired-token-accepted-on-v3",
        "TC-AUTH-011",
        "v3 accepts an expired API token (v2 keeps refusing it with 401)",
    ),
    ("no-credentials-401", "TC-AUTH-012", "answers a request without credentials with 401"),
    ("unlicensed-200", "TC-AUTH-013", "the unlicensed instance serves the API normally"),
    (
        "unlicensed-v3-served",
        "TC-AUTH-013",
        "the unlicensed instance serves v3 normally (v2 keeps the 503 licensing answer)",
    ),
    ("plain-http-served", "TC-AUTH-014", "serves signed requests over plain HTTP instead of refusing them"),
    (
        "plain-http-v3-served",
        "TC-AUTH-014",
        "plain HTTP serves signed v3 requests (v2 keeps the 403 refusal)",
    ),
    # envelopes
    ("v2-status-word-ok", "TC-ENV-001", "v2 JSON successes carry status 'OK' instead of 'Success'"),
    ("tags-status-lower-case", "TC-ENV-001", "v2 /tags lists alone say status 'success' (lower case)"),
    (
        "indicator-types-plural-key",
        "TC-ENV-002",
        "/v2/types/indicatorTypes lists its items under 'indicatorTypes'",
    ),
    (
        "labels-result-count-off-by-one",
        "TC-ENV-002",
        "/v2/securityLabels gives resultCount one more than the labels it lists (all on one page)",
    ),
    (
        "single-indicator-as-list",
        "TC-ENV-003",
        "a v2 single-indicator GET wraps the indicator in a one-item array",
    ),
    (
        "owner-single-no-result-count",
        "TC-ENV-003",
        "/v2/owners/{id} and /v2/owners/mine leave resultCount out",
    ),
    (
        "owner-by-id-result-count-zero",
        "TC-ENV-003",
        "/v2/owners/{id} says resultCount 0 beside the one owner it holds (/v2/owners/mine keeps 1)",
    ),
    ("delete-returns-data", "TC-ENV-004", "a v2 DELETE success also carries a data object"),
    ("v2-delete-202", "TC-ENV-004", "a v2 DELETE success answers 202 instead of 200 (same body)"),
    ("error-status-word-wrong", "TC-ENV-005", "v2 errors carry status 'Failed'"),
    (
        "missing-resource-500",
        "TC-ENV-006",
        "a missing v2 resource gives a text/plain 500 instead of the JSON 404",
    ),
    (
        "missing-group-wrong-message",
        "TC-ENV-006",
        "a missing v2 group answers 404 'The requested <entity> was not found', not the documented text",
    ),
    ("xml-ignored", "TC-ENV-007", "v2 answers JSON even when the client accepts only XML"),
    (
        "xml-item-fields-camel-case",
        "TC-ENV-007",
        "the XML twin spells item fields as the JSON does (<id>, <name>, <type>), not PascalCase",
    ),
    (
        "xml-owner-type-lower-case",
        "TC-ENV-007",
        "the XML twin gives an owner's <Type> in lower case ('organization'); the JSON keeps 'Organization'",
    ),
    (
        "xml-result-count-off-by-one",
        "TC-ENV-015",
        "the XML twin of a v2 list gives ResultCount one more than the JSON resultCount of the same request",
    ),
    ("v3-single-wrapped-in-list", "TC-ENV-008", "a v3 single-item GET puts the item in an array"),
    ("v3-single-status-ok", "TC-ENV-008", "a v3 single-item GET says status 'OK' (lists keep 'Success')"),
    ("v3-error-status-failure", "TC-ENV-009", "v3 errors carry status 'Failure', not 'Error'"),
    ("json-charset", "TC-ENV-010", "JSON responses say 'application/json; charset=utf-8'"),
    (
        "v3-error-json-charset",
        "TC-ENV-010",
        "v3 error answers alone say 'application/json; charset=utf-8' (successes and v2 stay exact)",
    ),
    ("create-returns-200", "TC-ENV-011", "a v3 POST that creates answers 200 instead of 201"),
    ("v3-delete-no-message", "TC-ENV-012", "a v3 DELETE success leaves out message 'Deleted'"),
    (
        "v3-delete-not-applied",
        "TC-ENV-012",
        "a v3 DELETE answers 'Deleted' but the indicator is still there",
    ),
    ("update-not-applied", "TC-ENV-013", "a v3 PUT answers 'Updated' but leaves the indicator unchanged"),
    ("deleted-without-summary", "TC-ENV-014", "v3 /indicators/deleted entries leave the summary out"),
    (
        "deleted-owner-ignored",
        "TC-ENV-014",
        "v3 /indicators/deleted ignores ?owner= and lists every readable owner's entries (other v3 lists honour it)",
    ),
    # pagination and queries
    ("default-limit-50", "TC-PAGE-001", "v2 lists default to 50 items instead of 100"),
    ("limit-below-10-raised", "TC-PAGE-002", "v2 raises any resultLimit below 10 to 10"),
    (
        "start-rounded-to-page",
        "TC-PAGE-002",
        "v2 rounds resultStart down to a multiple of resultLimit (an offset read as a page number)",
    ),
    ("limit-cap-500", "TC-PAGE-003", "v2 rejects resultLimit above 500 (the pre-2017 maximum)"),
    (
        "over-limit-clamped",
        "TC-PAGE-003",
        "v2 silently clamps resultLimit above 10000 instead of answering 400",
    ),
    (
        "non-integer-limit-ignored",
        "TC-PAGE-004",
        "v2 falls back to the defaults for non-integer paging parameters",
    ),
    ("decimal-start-truncated", "TC-PAGE-004", "v2 reads a decimal resultStart such as 2.5 as its integer part"),
    ("no-result-count", "TC-PAGE-005", "v2 host lists never carry resultCount"),
    ("result-count-always", "TC-PAGE-005", "v2 lists carry resultCount on every page"),
    (
        "explicit-start-zero-no-result-count",
        "TC-PAGE-005",
        "v2 gives resultCount only when resultStart is absent, not when resultStart=0 is sent",
    ),
    (
        "result-count-is-page-size",
        "TC-PAGE-006",
        "v2 resultCount counts the items on the page instead of all matching items",
    ),
    (
        "v2-groups-start-one-late",
        "TC-PAGE-006",
        "v2 /groups pages past the first start one item late (item resultStart+1 first), so a walk misses one per page",
    ),
    ("v3-default-limit-25", "TC-PAGE-007", "v3 lists default to 25 items instead of 100"),
    ("v3-over-limit-accepted", "TC-PAGE-008", "v3 accepts resultLimit above 10000"),
    ("next-drops-params", "TC-PAGE-009", "v3 next links keep only resultStart and resultLimit"),
    ("next-relative", "TC-PAGE-009", "v3 next links are relative, not absolute URLs"),
    ("next-plain-http", "TC-PAGE-009", "v3 next links send the client to plain http:// (HTTPS dropped)"),
    ("next-drops-fields", "TC-PAGE-009", "v3 next links leave out the fields parameter (the rest is kept)"),
    ("prev-not-clamped", "TC-PAGE-010", "v3 prev links may point at a negative resultStart"),
    ("prev-on-first-page", "TC-PAGE-010", "v3 lists carry a prev link on the first page too"),
    ("count-always", "TC-PAGE-011", "v3 lists carry count without count=true"),
    ("count-ignored", "TC-PAGE-011", "v3 lists ignore count=true"),
    (
        "v3-explicit-start-zero-no-count",
        "TC-PAGE-011",
        "v3 gives count only when resultStart is absent, not when resultStart=0 is sent with count=true",
    ),
    ("next-skips-item", "TC-PAGE-012", "v3 next links advance resultStart one item too far"),
    (
        "next-doubled-mount",
        "TC-PAGE-012",
        "v3 /indicators next links repeat the /api mount (https://host/api/api/v3/...): right query, dead path",
    ),
    ("sorting-ignored", "TC-PAGE-013", "v3 ignores the sorting parameter"),
    ("sorting-desc-as-asc", "TC-PAGE-013", "v3 sorts ascending when sorting says desc"),
    ("sorting-first-key-only", "TC-PAGE-020", "v3 sorts by the first key of a chained sorting only"),
    ("fields-ignored", "TC-PAGE-014", "v3 ignores the fields parameter"),
    (
        "single-fields-ignored",
        "TC-PAGE-014",
        "a v3 single-indicator GET ignores fields= (lists honour it)",
    ),
    ("tql-ignored", "TC-PAGE-015", "v3 ignores the tql parameter"),
    ("tql-escapes-rejected", "TC-PAGE-015", "TQL strings with backslash escapes are a 400"),
    ("filters-ignored", "TC-PAGE-016", "v2 ignores the filters parameter"),
    ("modified-since-ignored", "TC-PAGE-016", "v2 ignores the modifiedSince parameter"),
    ("filter-bounds-inclusive", "TC-PAGE-021", "v2 filters read '<' and '>' as '<=' and '>='"),
    ("inactive-listed", "TC-PAGE-017", "lists include inactive indicators by default"),
    ("v2-inactive-listed", "TC-PAGE-022", "v2 lists include inactive indicators (v3 keeps them out)"),
    ("get-body-ignored", "TC-PAGE-018", "v3 ignores parameters sent as a JSON body on GET"),
    (
        "get-body-start-ignored",
        "TC-PAGE-018",
        "v3 reads a GET's JSON body parameters but resultStart among them (the query string's is honoured)",
    ),
    ("groups-next-skips-item", "TC-PAGE-019", "v3 /groups next links advance resultStart one item too far"),
    # owners and includes
    ("v2-default-all-owners", "TC-OWN-001", "v2 without owner returns data of every owner"),
    (
        "v2-indicators-all-owners",
        "TC-OWN-001",
        "v2 /indicators (every type) without owner lists every readable owner; typed branches stay in the Organization",
    ),
    ("owner-ignored", "TC-OWN-002", "v2 ignores the owner parameter"),
    ("v2-owner-adds-org", "TC-OWN-002", "v2 ?owner=<name> reads that owner and the Organization too"),
    ("unknown-owner-empty-200", "TC-OWN-003", "an unknown owner gives an empty 200 instead of 403"),
    ("unknown-owner-404", "TC-OWN-003", "an unknown owner answers 404 instead of 403 (same body)"),
    (
        "v3-owner-defaults-to-org",
        "TC-OWN-004",
        "v3 without owner returns only the Organization's data",
    ),
    ("v3-owner-ignored", "TC-OWN-004", "v3 ignores the owner parameter"),
    (
        "summary-lookup-any-owner",
        "TC-OWN-005",
        "a v3 lookup by summary returns the first match of any owner",
    ),
    ("duplicate-create", "TC-OWN-006", "a v3 POST of an existing indicator creates a duplicate"),
    ("include-tags-ignored", "TC-OWN-007", "v2 ignores includeTags=true"),
    ("attributes-always-included", "TC-OWN-007", "v2 lists attributes without includeAttributes"),
    (
        "group-include-tags-ignored",
        "TC-OWN-007",
        "v2 group lists ignore includeTags=true (indicator lists honour it)",
    ),
    # OPTIONS
    ("fields-options-no-count", "TC-OPT-001", "OPTIONS /v3/indicators/fields leaves count out"),
    (
        "fields-options-count-off-by-one",
        "TC-OPT-001",
        "OPTIONS /v3/indicators/fields gives count one more than the fields it lists",
    ),
    ("tql-options-missing-type", "TC-OPT-002", "OPTIONS /v3/indicators/tql leaves type out"),
    (
        "tql-options-count-off-by-one",
        "TC-OPT-002",
        "OPTIONS /v3/indicators/tql gives count one less than the keywords it lists",
    ),
    (
        "show-readonly-case-sensitive",
        "TC-OPT-003",
        "OPTIONS /v3/indicators honours show=readonly but not show=readOnly",
    ),
    (
        "readonly-fields-always-shown",
        "TC-OPT-003",
        "OPTIONS /v3/indicators lists read-only fields without show=readonly",
    ),
    # miscellaneous
    ("security-owners-missing", "TC-MISC-001", "GET /v3/security/owners answers 404"),
    (
        "security-owner-type-lower-case",
        "TC-MISC-001",
        "GET /v3/security/owners gives each owner's type in lower case ('organization', as the v2 XML xsi:type)",
    ),
    ("whoami-no-role", "TC-MISC-002", "/v2/whoami leaves the user's role out"),
    (
        "whoami-user-name-is-pseudonym",
        "TC-MISC-002",
        "/v2/whoami gives the pseudonym as userName instead of the Access ID",
    ),
    (
        "encoded-indicator-404",
        "TC-MISC-003",
        "v2 looks a percent-encoded indicator up without decoding it",
    ),
    (
        "encoded-indicator-text-echoed",
        "TC-MISC-003",
        "v2 finds a percent-encoded indicator but answers its text still percent-encoded, as received",
    ),
    ("user-id-string", "TC-MISC-004", "v3 /security/users gives each user's id as a string"),
    (
        "user-owner-not-organization",
        "TC-MISC-004",
        "v3 /security/users names the first Community as each user's owner, not the Organization",
    ),
    # faults only the broad fuzz rules catch: they prove each fuzz rule fails on its own
    (
        "label-error-status-failed",
        "TC-FUZZ-001",
        "a missing v2 security label answers 404 with status 'Failed' (other v2 errors keep 'Error')",
    ),
    ("v3-signature-error-403", "TC-FUZZ-002", "v3 answers a signature mismatch with 403 (v2 keeps 401)"),
)

# Faults the broad fuzz rules must catch as well: they prove each fuzz rule can fail.
_ALSO: dict[str, tuple[str, ...]] = {
    "v2-status-word-ok": ("TC-FUZZ-001",),
    "missing-resource-500": ("TC-FUZZ-001",),
    "signature-not-checked": ("TC-FUZZ-002",),
    "xml-ignored": ("TC-ENV-015",),
    # TC-AUTH-008's scope holds v3 requests: refusing every v3 signature breaks the window on v3 too.
    "hmac-refused-on-v3": ("TC-AUTH-008",),
}

# Value-level faults: every documented form holds and only a value departs (a status, a word, a count, a window,
# an order), or the deviation is confined to one member of the statement's scope (one API version, one
# representation, one endpoint family, one spelling). The rest break a form: a field or element gone or renamed,
# a type changed, a feature or a refusal gone wholesale.
_VALUE = (
    # authentication
    "token-refused-on-v2",
    "hmac-refused-on-v3",
    "v3-query-not-signed",
    "sign-normalised-path",
    "plus-encoding-rejected",
    "query-encoding-normalised",
    "empty-query-mark-accepted",
    "method-not-signed",
    "signature-error-403",
    "hmac-window-10min",
    "hmac-window-10min-v3",
    "hmac-window-past-only",
    "unparseable-timestamp-as-skew",
    "unknown-access-id-wrong-message",
    "expired-token-accepted-on-v3",
    "no-credentials-401",
    "unlicensed-v3-served",
    "plain-http-v3-served",
    # envelopes
    "v2-status-word-ok",
    "tags-status-lower-case",
    "labels-result-count-off-by-one",
    "owner-by-id-result-count-zero",
    "v2-delete-202",
    "error-status-word-wrong",
    "missing-group-wrong-message",
    "xml-owner-type-lower-case",
    "xml-result-count-off-by-one",
    "v3-single-status-ok",
    "v3-error-status-failure",
    "v3-error-json-charset",
    "create-returns-200",
    "v3-delete-not-applied",
    "update-not-applied",
    "deleted-owner-ignored",
    # pagination and queries
    "default-limit-50",
    "limit-below-10-raised",
    "start-rounded-to-page",
    "limit-cap-500",
    "over-limit-clamped",
    "decimal-start-truncated",
    "explicit-start-zero-no-result-count",
    "result-count-is-page-size",
    "v2-groups-start-one-late",
    "v3-default-limit-25",
    "v3-over-limit-accepted",
    "next-plain-http",
    "next-drops-fields",
    "prev-not-clamped",
    "v3-explicit-start-zero-no-count",
    "next-skips-item",
    "next-doubled-mount",
    "sorting-desc-as-asc",
    "sorting-first-key-only",
    "single-fields-ignored",
    "tql-escapes-rejected",
    "modified-since-ignored",
    "filter-bounds-inclusive",
    "inactive-listed",
    "v2-inactive-listed",
    "get-body-start-ignored",
    "groups-next-skips-item",
    # owners and includes
    "v2-default-all-owners",
    "v2-indicators-all-owners",
    "v2-owner-adds-org",
    "unknown-owner-404",
    "v3-owner-defaults-to-org",
    "summary-lookup-any-owner",
    "duplicate-create",
    "group-include-tags-ignored",
    # OPTIONS
    "fields-options-count-off-by-one",
    "tql-options-count-off-by-one",
    "show-readonly-case-sensitive",
    # miscellaneous
    "security-owner-type-lower-case",
    "whoami-user-name-is-pseudonym",
    "encoded-indicator-text-echoed",
    "user-owner-not-organization",
    # fuzz
    "label-error-status-failed",
    "v3-signature-error-403",
)

FAULTS: dict[str, Fault] = with_levels(
    {name: Fault(name, rule, text, _ALSO.get(name, ())) for name, rule, text in _TABLE}, _VALUE
)
