"""The deviations the Assemblyline simulator can inject, each aimed at one contract rule."""

from __future__ import annotations

from .._base import Fault, fault_table

__all__ = ["FAULTS"]

_LIST = [
    # response envelope
    Fault(
        "envelope-missing-server-version",
        "AL-ENV-001",
        "JSON responses leave out api_server_version",
    ),
    Fault(
        "status-code-mismatch",
        "AL-ENV-002",
        "4xx responses report api_status_code 400 whatever the HTTP status",
    ),
    Fault(
        "not-found-status-code-400",
        "AL-ENV-002",
        "404 answers report api_status_code 400 (NotFoundException's code) while the HTTP status is 404",
    ),
    Fault(
        "api-list-text-json",
        "AL-ENV-001",
        "the API list (/api/v4/) is sent as Content-Type text/json instead of application/json",
    ),
    Fault(
        "success-error-message-null",
        "AL-ENV-003",
        'successful responses carry api_error_message null, not ""',
    ),
    # authentication and roles
    Fault(
        "whoami-uname-field",
        "AL-AUTH-001",
        "whoami names the user `uname` (as its docstring) instead of `username`",
    ),
    Fault(
        "whoami-username-is-key-name",
        "AL-AUTH-001",
        "whoami through an RW key names the key (key_name) as username, not the user",
    ),
    Fault(
        "is-admin-from-user-type",
        "AL-AUTH-002",
        "whoami.is_admin follows the user type, not the key-limited roles",
    ),
    Fault(
        "is-admin-always-false",
        "AL-AUTH-015",
        "whoami answers is_admin false even when the roles hold administration",
    ),
    Fault(
        "anonymous-401-empty-response",
        "AL-AUTH-003",
        'the no-credentials 401 has api_response "" instead of login options',
    ),
    Fault(
        "unknown-user-distinct-message",
        "AL-AUTH-004",
        "an unknown X-USER gets its own message, revealing which users exist",
    ),
    Fault(
        "one-header-auth",
        "AL-AUTH-005",
        "X-USER without X-APIKEY is trusted as the caller's identity",
    ),
    Fault(
        "401-keeps-xsrf-cookie",
        "AL-AUTH-006",
        "401 responses no longer expire the XSRF-TOKEN cookie",
    ),
    Fault(
        "read-key-can-submit",
        "AL-AUTH-007",
        "a read-only (R) key passes the submission_create role check",
    ),
    Fault(
        "role-403-unwrapped",
        "AL-AUTH-007",
        "role failures are sent as a bare message without the Access Denied wrapper",
    ),
    Fault("read-key-full-roles", "AL-AUTH-008", "whoami with an R key lists the owner's full roles"),
    Fault("write-key-can-search", "AL-AUTH-009", "a write-only (W) key may search"),
    Fault(
        "authorization-header-ignored",
        "AL-AUTH-010",
        "a stray Authorization header is ignored instead of read as an OBO token",
    ),
    Fault(
        "login-session-ignored",
        "AL-AUTH-011",
        "the session cookie from an API-key login does not authenticate",
    ),
    Fault(
        "login-returns-privileges",
        "AL-AUTH-011",
        "the login answer names roles_limit `privileges` (as its docstring)",
    ),
    Fault("xsrf-not-enforced", "AL-AUTH-012", "password sessions are served without an X-XSRF-TOKEN"),
    Fault(
        "xsrf-cookie-not-session-token",
        "AL-AUTH-014",
        "the XSRF-TOKEN cookie set at login is a fresh value, not the token the session checks",
    ),
    Fault(
        "login-missing-fields-400",
        "AL-AUTH-013",
        "a login without credentials gets 400 instead of 401",
    ),
    # routing
    Fault(
        "unknown-api-plain-404",
        "AL-ROUTE-001",
        "unmatched paths get a plain-text 404 instead of the JSON envelope",
    ),
    Fault(
        "not-found-path-unslashed",
        "AL-ROUTE-001",
        "the JSON 404 names the path without its trailing slash: Api does not exist (/api/v4/does_not_exist)",
    ),
    Fault("options-needs-auth", "AL-ROUTE-002", "OPTIONS requests need credentials"),
    Fault("healthz-needs-auth", "AL-ROUTE-003", "the health probes need credentials"),
    # trailing slash
    Fault(
        "slashless-200",
        "AL-SLASH-001",
        "a path without its trailing slash is served as if it had one",
    ),
    Fault(
        "no-308-redirect",
        "AL-SLASH-001",
        "slash redirects use 301 (pre-0.15 Werkzeug), which clients turn into GETs",
    ),
    Fault("double-slash-404", "AL-SLASH-001", "a doubled final slash is not merged and redirected"),
    Fault("case-insensitive-paths", "AL-SLASH-001", "paths match whatever their letter case"),
    Fault(
        "slash-redirect-needs-auth",
        "AL-SLASH-002",
        "the slash redirect is only given to authenticated callers",
    ),
    Fault("redirect-drops-query", "AL-SLASH-003", "the slash redirect loses the query string"),
    Fault(
        "slashless-wrong-verb-405",
        "AL-SLASH-004",
        "a slashless path with a verb the route lacks gets 405, not 404",
    ),
    Fault(
        "405-as-json",
        "AL-SLASH-005",
        "a wrong verb gets a JSON envelope instead of Werkzeug's HTML 405",
    ),
    Fault(
        "api-list-slashless-path",
        "AL-SLASH-006",
        "the API list shows one route without its trailing slash",
    ),
    # content type
    Fault("accept-html-negotiated", "AL-CT-001", "Accept: text/html gets an HTML page instead of JSON"),
    Fault(
        "415-as-http-415",
        "AL-CT-002",
        "a non-JSON search body gets HTTP 415 instead of 200 with the 415 text",
    ),
    Fault("malformed-json-500", "AL-CT-003", "malformed JSON in a search body is a 500"),
    # submit
    Fault(
        "submit-sha256-of-name",
        "AL-SUB-001",
        "files[0].sha256 is the hash of the file name, not of its content",
    ),
    Fault(
        "nameless-submit-named-by-sha256",
        "AL-SUB-002",
        "a submission without json.name is named by its sha256",
    ),
    Fault(
        "submit-without-bin-accepted",
        "AL-SUB-003",
        "a multipart submit without `bin` creates an empty-file submission",
    ),
    Fault("unknown-sha256-400", "AL-SUB-004", "an unknown sha256 is a 400 instead of a 404"),
    Fault("empty-submit-500", "AL-SUB-005", "a JSON submit without any file source is a 500"),
    Fault(
        "profile-not-required",
        "AL-SUB-006",
        "callers without submission_customize may omit submission_profile",
    ),
    Fault(
        "text-plain-submit-415",
        "AL-SUB-007",
        "a text/plain submit gets 415 instead of 400 Invalid content type",
    ),
    Fault("size-limit-ignored", "AL-SUB-008", "files over max_file_size are accepted"),
    Fault(
        "known-sha256-not-found",
        "AL-SUB-009",
        "a JSON submit by the sha256 of a stored file within the size limit is refused as unknown",
    ),
    Fault("submitted-not-stored", "AL-SUB-010", "a new submission cannot be read back"),
    # ingest
    Fault(
        "ingest-returns-submission",
        "AL-ING-001",
        "ingest answers with the submission record, not {ingest_id}",
    ),
    Fault("threshold-not-validated", "AL-ING-002", "a non-integer notification_threshold is accepted"),
    Fault("empty-queue-404", "AL-ING-003", "an empty notification queue is a 404 instead of null"),
    Fault("empty-queue-list", "AL-ING-003", "an empty notification queue answers [] instead of null"),
    # search
    Fault("search-offset-string", "AL-SEARCH-001", "the search answer echoes offset as a string"),
    Fault("default-rows-10", "AL-SEARCH-002", "searches without rows return 10 items"),
    Fault(
        "absent-offset-null",
        "AL-SEARCH-001",
        "a GET search without offset echoes offset null instead of the default 0",
    ),
    Fault(
        "default-rows-short",
        "AL-SEARCH-002",
        "a GET search without rows returns 24 items (one short) while rows still echoes 25",
    ),
    Fault("offset-rounded-to-page", "AL-SEARCH-003", "offsets are rounded down to a multiple of rows"),
    Fault("total-counts-from-offset", "AL-SEARCH-004", "total counts only the hits from the offset on"),
    Fault(
        "rows-not-echoed",
        "AL-SEARCH-005",
        "rows is the number of items returned, not the requested rows",
    ),
    Fault("fl-ignored", "AL-SEARCH-006", "the fl field list is ignored"),
    Fault(
        "fl-id-adds-from-archive",
        "AL-SEARCH-006",
        "fl=id items also carry from_archive, as on an archive-enabled index",
    ),
    Fault("missing-query-matches-all", "AL-SEARCH-007", "a search without query matches everything"),
    Fault("unknown-index-404", "AL-SEARCH-008", "an unknown index is a 404"),
    Fault(
        "deep-paging-repeats",
        "AL-SEARCH-009",
        "each deep page starts with the last item of the page before",
    ),
    Fault("deep-paging-total", "AL-SEARCH-010", "deep-paging answers count a total instead of null"),
    Fault(
        "search-error-500",
        "AL-SEARCH-011",
        "an invalid query or sort is a 500 instead of a SearchException 400",
    ),
    Fault(
        "post-search-ignores-body",
        "AL-SEARCH-012",
        "POST search reads its parameters from the query string",
    ),
    Fault(
        "post-search-drops-offset",
        "AL-SEARCH-012",
        "POST search reads its JSON body but drops offset (the page always starts at 0)",
    ),
    Fault("query-ignored", "AL-SEARCH-013", "the query is not applied; every document matches"),
    Fault(
        "submission-query-ignored",
        "AL-SEARCH-013",
        "the query is not applied on the submission index only (every submission matches)",
    ),
    # submissions
    Fault("is-completed-string", "AL-SUBM-001", 'is_completed answers "true"/"false" strings'),
    Fault(
        "is-completed-unknown-false",
        "AL-SUBM-001",
        "is_completed answers 200 false for an unknown sid instead of 404",
    ),
    Fault(
        "unknown-sid-400",
        "AL-SUBM-002",
        "an unknown sid is a 400 (NotFoundException) instead of 404",
    ),
    # quotas
    Fault(
        "concurrent-quota-ignored",
        "AL-QUOTA-001",
        "the exhausted concurrent API quota is not enforced",
    ),
    Fault(
        "no-remaining-quota-header",
        "AL-QUOTA-002",
        "x-remaining-quota-api is left out despite a daily quota",
    ),
    Fault(
        "quota-header-decimal",
        "AL-QUOTA-002",
        'x-remaining-quota-api is sent as a decimal ("998.0"), not an integer',
    ),
    Fault(
        "quota-header-not-counting",
        "AL-QUOTA-003",
        "x-remaining-quota-api stays at the full daily quota instead of counting calls down",
    ),
]

_LIST += [
    # only the broad fuzz rules reach these (operations or credentials no narrow rule sends)
    Fault(
        "message-list-unversioned",
        "AL-FUZZ-001",
        "get_message_list answers leave out api_server_version",
    ),
    Fault(
        "wrong-key-403-on-search",
        "AL-FUZZ-002",
        "a wrong API key on a search route gets 403 Access Denied instead of the 401",
    ),
]

_LIST += [
    # value-level faults (issue 14): the answer keeps its documented form and one value departs, or the
    # deviation is confined to one member of the rule's scope (one probe, one verb, one index, one endpoint)
    Fault(
        "401-json-charset",
        "AL-ENV-001",
        "401 answers are sent as Content-Type application/json; charset=utf-8, not jsonify's application/json",
    ),
    Fault(
        "success-error-message-ok",
        "AL-ENV-003",
        'successful answers carry api_error_message "OK" instead of ""',
    ),
    Fault(
        "anonymous-session-expired",
        "AL-AUTH-003",
        'a request without any credential gets 401 "Session expired" instead of "Session not found"',
    ),
    Fault(
        "401-xsrf-cookie-not-expired",
        "AL-AUTH-006",
        "the 401 empties the XSRF-TOKEN cookie but gives it an hour to live instead of expiring it",
    ),
    Fault(
        "submit-403-names-wrong-role",
        "AL-AUTH-007",
        "the role 403 on submit names submission_manage instead of the submission_create the route requires",
    ),
    Fault(
        "index-403-path-unslashed",
        "AL-AUTH-009",
        "search 403s name the path without its trailing slash in Access Denied (...)",
    ),
    Fault("obo-401", "AL-AUTH-010", "an invalid OBO token gets HTTP 401 instead of the 403"),
    Fault(
        "session-duration-minutes",
        "AL-AUTH-011",
        "the login answer gives session_duration in minutes (60), not seconds (3600)",
    ),
    Fault(
        "xsrf-failure-401",
        "AL-AUTH-012",
        "a password session without X-XSRF-TOKEN gets HTTP 401 instead of the 403",
    ),
    Fault("options-204", "AL-ROUTE-002", "OPTIONS answers 204 instead of Flask's 200"),
    Fault("healthz-live-text", "AL-ROUTE-003", "/healthz/live answers ALIVE instead of OK"),
    Fault(
        "anonymous-redirect-302",
        "AL-SLASH-002",
        "the slash redirect is a 302 (not 308) for callers without credentials",
    ),
    Fault(
        "405-allow-misses-verbs",
        "AL-SLASH-005",
        "the 405's Allow header lists only HEAD and OPTIONS, not the route's own verbs",
    ),
    Fault(
        "accept-html-json-charset",
        "AL-CT-001",
        "with Accept: text/html the JSON answer is labelled application/json; charset=utf-8",
    ),
    Fault(
        "no-data-block-message-fixed",
        "AL-CT-003",
        "the malformed-JSON 400 message loses the server's stray trailing quote",
    ),
    Fault(
        "missing-bin-payload-names-part",
        "AL-SUB-003",
        'the missing-bin 400 carries api_response {"missing": "bin"} instead of {}',
    ),
    Fault(
        "missing-file-message-short",
        "AL-SUB-005",
        'the nothing-to-scan 400 says only "Missing file to scan."',
    ),
    Fault(
        "profile-required-403",
        "AL-SUB-006",
        "a missing submission_profile is a 403 instead of a 400",
    ),
    Fault(
        "too-big-message-kib",
        "AL-SUB-008",
        "the 413 message gives the file size and the limit in KiB, not bytes",
    ),
    Fault(
        "resubmit-size-kib",
        "AL-SUB-009",
        "a submission by the sha256 of a stored file records files[0].size in KiB, not bytes",
    ),
    Fault(
        "readback-file-size-kib",
        "AL-SUB-010",
        "a submission read back shows files[].size in KiB, unlike the submit answer",
    ),
    Fault("ingest-201", "AL-ING-001", "a successful ingest answers HTTP 201 (api_status_code 201), not 200"),
    Fault(
        "threshold-message-grammar-fixed",
        "AL-ING-002",
        'the notification_threshold 400 says "should be an int", not the server\'s own "should be and int"',
    ),
    Fault(
        "empty-message-list-null",
        "AL-ING-003",
        "get_message_list on an empty queue answers null instead of []",
    ),
    Fault(
        "post-default-rows-10",
        "AL-SEARCH-001",
        "a POST search without rows returns and echoes 10 rows (GET keeps 25)",
    ),
    Fault(
        "file-index-fl-id-ignored",
        "AL-SEARCH-006",
        "fl=id is ignored on the file index only (whole documents come back)",
    ),
    Fault(
        "empty-query-matches-all",
        "AL-SEARCH-007",
        "an empty query (query=) matches everything instead of the 400",
    ),
    Fault(
        "deep-paging-rows-echo-default",
        "AL-SEARCH-010",
        "deep-paging answers echo rows 25 (the default) instead of the rows requested",
    ),
    Fault(
        "query-error-unprefixed",
        "AL-SEARCH-011",
        "a query that does not parse gets a 400 without the SearchException: prefix (a bad sort keeps it)",
    ),
    Fault(
        "concurrent-quota-reported-off-by-one",
        "AL-QUOTA-001",
        "the concurrent-quota 503 names a quota one above the user's (11 for 10)",
    ),
    Fault(
        "quota-header-from-wrong-quota",
        "AL-QUOTA-002",
        "x-remaining-quota-api counts down from twice the user's api_daily_quota",
    ),
    Fault(
        "quota-header-stuck-after-first-call",
        "AL-QUOTA-003",
        "x-remaining-quota-api counts the day's first call, then stays at the daily quota less one",
    ),
    Fault(
        "message-list-status-code-201",
        "AL-FUZZ-001",
        "get_message_list answers HTTP 200 reporting api_status_code 201",
    ),
]

# Faults the broad fuzz rules must catch as well: they prove each fuzz rule can fail.
_ALSO: dict[str, tuple[str, ...]] = {
    "is-completed-string": ("AL-FUZZ-001",),
    "search-offset-string": ("AL-FUZZ-001",),
    "status-code-mismatch": ("AL-FUZZ-002",),
}

# Value-level faults: every documented form holds and only a value departs (a status, a count, a relation between
# two answers, an echoed value), or the deviation is confined to one member of the rule's scope (one probe, one
# variant, one verb, one route). Every other fault is form-level: a field, header or type gone, or a request
# accepted or refused wholesale.
_VALUE = (
    "status-code-mismatch",
    "not-found-status-code-400",
    "whoami-username-is-key-name",
    "is-admin-from-user-type",
    "is-admin-always-false",
    "unknown-user-distinct-message",
    "one-header-auth",
    "read-key-full-roles",
    "xsrf-cookie-not-session-token",
    "login-missing-fields-400",
    "not-found-path-unslashed",
    "no-308-redirect",
    "double-slash-404",
    "case-insensitive-paths",
    "redirect-drops-query",
    "slashless-wrong-verb-405",
    "api-list-slashless-path",
    "415-as-http-415",
    "submit-sha256-of-name",
    "nameless-submit-named-by-sha256",
    "unknown-sha256-400",
    "text-plain-submit-415",
    "default-rows-10",
    "default-rows-short",
    "offset-rounded-to-page",
    "total-counts-from-offset",
    "rows-not-echoed",
    "unknown-index-404",
    "deep-paging-repeats",
    "post-search-ignores-body",
    "post-search-drops-offset",
    "query-ignored",
    "submission-query-ignored",
    "is-completed-unknown-false",
    "unknown-sid-400",
    "quota-header-not-counting",
    "wrong-key-403-on-search",
    "401-json-charset",
    "success-error-message-ok",
    "anonymous-session-expired",
    "401-xsrf-cookie-not-expired",
    "submit-403-names-wrong-role",
    "index-403-path-unslashed",
    "obo-401",
    "session-duration-minutes",
    "xsrf-failure-401",
    "options-204",
    "healthz-live-text",
    "anonymous-redirect-302",
    "405-allow-misses-verbs",
    "accept-html-json-charset",
    "no-data-block-message-fixed",
    "missing-bin-payload-names-part",
    "missing-file-message-short",
    "profile-required-403",
    "too-big-message-kib",
    "resubmit-size-kib",
    "readback-file-size-kib",
    "ingest-201",
    "threshold-message-grammar-fixed",
    "empty-message-list-null",
    "post-default-rows-10",
    "file-index-fl-id-ignored",
    "empty-query-matches-all",
    "deep-paging-rows-echo-default",
    "query-error-unprefixed",
    "concurrent-quota-reported-off-by-one",
    "quota-header-from-wrong-quota",
    "message-list-status-code-201",
    "quota-header-stuck-after-first-call",
)

FAULTS = fault_table(_LIST, _ALSO, _VALUE)
