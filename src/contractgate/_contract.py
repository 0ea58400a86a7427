"""The contract model: what a vendor documents, as validated data (pydantic)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictInt,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ._errors import known_hint

__all__ = [
    "MODES",
    "SEVERITY_LEVELS",
    "AuthOverride",
    "AuthScheme",
    "BodyAssertion",
    "Contract",
    "CredentialDecl",
    "Defaults",
    "Evidence",
    "Expect",
    "FileSpec",
    "HeaderAssertion",
    "HeaderScheme",
    "HmacScheme",
    "JsonAssertion",
    "Limit",
    "LocatedError",
    "Profile",
    "QuotaLimit",
    "QuotaRead",
    "RateLimit",
    "Regex",
    "RequestSpec",
    "Rule",
    "RuleSource",
    "SafeMark",
    "SafeOperations",
    "Secrets",
    "SignOverride",
    "Source",
    "Step",
    "TargetDecl",
    "Volatile",
    "XmlAssertion",
    "declared_targets",
    "requests_in",
    "safe_marks_in",
]

MODES = ("live", "record", "replay")
Mode = Literal["live", "record", "replay"]
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
JsonType = Literal["string", "integer", "number", "boolean", "array", "object", "null"]
# Methods that read by definition (RFC 9110 safe methods the transport always lets out).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class _Strict(BaseModel):
    """Base for every contract model: unknown keys are errors and types are not coerced (`status: true` is no 1)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


class LocatedError(ValueError):
    """A cross-reference problem found by a model validator, with the data location it belongs to."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


def _compiles(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


Regex = Annotated[str, AfterValidator(_compiles)]
"""A string that must compile as a Python regular expression (checked on load, so a typo is a load error)."""


# --- requests -------------------------------------------------------------------------------


class SignOverride(_Strict):
    """Sign something other than what is sent (to prove the server checks what it received)."""

    path: str | None = None
    method: str | None = None
    query: str | None = None


class AuthOverride(_Strict):
    """A named auth scheme with deliberate deviations, for negative cases."""

    scheme: str
    clock_offset: int | None = None
    timestamp: str | None = None
    omit: list[str] = []
    credentials: dict[str, str] = {}
    sign: SignOverride | None = None
    header_case: Literal["lower", "upper"] | None = None
    region: str | None = None
    prefix: str | None = None


class FileSpec(_Strict):
    """One multipart part."""

    content: str
    filename: str | None = None
    content_type: str | None = None


class SafeMark(_Strict):
    """A cited statement of the vendor that a POST only reads (a lookup, a search): it may reach read-only targets."""

    doc: str
    section: str


class SafeOperations(SafeMark):
    """Operations (`POST /path` as the OpenAPI description labels them) a citation says change nothing."""

    operations: list[str] = Field(min_length=1)

    @field_validator("operations")
    @classmethod
    def _only_posts(cls, value: list[str]) -> list[str]:
        for label in value:
            if not re.fullmatch(r"POST /\S*", label):
                raise ValueError(f"{label!r}: a safe operation is `POST /path` (other methods read or never are safe)")
        return value


QueryValue = str | int | float | bool | list[str | int | float | bool]


class RequestSpec(_Strict):
    """One request a rule sends: relative to a target's base URL, auth by scheme name."""

    method: str = "GET"
    path: str
    query: dict[str, QueryValue] | None = None
    raw_query: str | None = None
    headers: dict[str, str | None] = {}
    auth: str | AuthOverride | None = None
    json_body: Any = Field(default=None, alias="json")
    form: dict[str, str] | None = None
    files: dict[str, FileSpec] | None = None
    content: str | None = None
    target: str | None = None
    region: str | None = None
    retry_on_429: bool = True
    # A request that observes a quota (`retry_on_429: false`) is not held back by its credential's declared
    # rate, unless `paced`: a rule spending a long quota (a month's) must not meet a short one (a minute's).
    paced: bool = False
    follow_redirects: bool = False
    safe: SafeMark | None = None

    @field_validator("method")
    @classmethod
    def _upper_method(cls, value: str) -> str:
        return value.upper()

    @property
    def writes(self) -> bool:
        """Whether the request may change something: not a reading method and no cited `safe` mark."""
        return self.method not in READ_METHODS and self.safe is None

    @model_validator(mode="after")
    def _one_query_form(self) -> RequestSpec:
        if self.query is not None and self.raw_query is not None:
            raise ValueError("give either `query` or `raw_query`, not both")
        bodies = [name for name in ("json_body", "form", "files", "content") if getattr(self, name) is not None]
        if len(bodies) > 1 and set(bodies) != {"form", "files"}:
            raise ValueError(f"give one body, not {', '.join(bodies)}")
        if self.safe is not None and self.method != "POST":
            raise ValueError(f"`safe` marks a POST that only reads; {self.method} needs no mark or is never safe")
        return self


# --- expectations ---------------------------------------------------------------------------


class HeaderAssertion(_Strict):
    """What a response header must look like."""

    equals: str | None = None
    contains: str | None = None
    startswith: str | None = None
    endswith: str | None = None
    matches: Regex | None = None
    absent: bool | None = None
    present: bool | None = None
    one_of: list[str] | None = Field(default=None, alias="in")
    lt: float | str | None = None


class JsonAssertion(_Strict):
    """One assertion on a value found at a dotted path of the JSON body."""

    path: str
    # Arithmetic the docs state (expiry = last_report + ttl x 1000): the value checked is the found
    # number minus this one, a saved `{name}` or a number at another (non-wildcard) path of the body.
    minus: str | None = None
    equals: Any = None
    not_equals: Any = None
    one_of: list[Any] | None = Field(default=None, alias="in")
    type: JsonType | list[JsonType] | None = None
    matches: Regex | None = None
    startswith: str | None = None
    endswith: str | None = None
    contains: Any = None
    absent: bool | None = None
    present: bool | None = None
    min_items: int | None = None
    max_items: int | None = None
    # The number of items, or a relation: a saved `{name}` or the single number at another path of the body
    # (a documented count beside its items: `{path: data, length: count}`).
    length: int | str | None = None
    gte: float | None = None
    lte: float | None = None
    equals_status: bool | None = None
    keys_exactly: list[str] | None = None
    keys_include: list[str] | None = None
    keys_exclude: list[str] | None = None


class XmlAssertion(_Strict):
    """One assertion on an element found at a slash path of an XML body."""

    path: str
    tag: str | None = None
    equals: str | None = None
    present: bool | None = None
    absent: bool | None = None
    min_count: int | None = None


class BodyAssertion(_Strict):
    """Assertions on the raw body."""

    empty: bool | None = None
    contains: str | None = None
    not_contains: str | None = None
    is_json: bool | None = Field(default=None, alias="json")
    not_json: bool | None = None


StatusSpec = StrictInt | list[StrictInt] | str


class Expect(_Strict):
    """Everything a response must satisfy."""

    status: StatusSpec | None = None
    headers: dict[str, str | int | HeaderAssertion] = {}
    body: BodyAssertion | None = None
    json_assertions: list[JsonAssertion] = Field(default=[], alias="json")
    xml: list[XmlAssertion] = []
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")

    @field_validator("status")
    @classmethod
    def _status_shape(cls, value: StatusSpec | None) -> StatusSpec | None:
        if isinstance(value, str) and not re.fullmatch(r"[1-5]xx", value):
            raise ValueError("a status string must be a class such as '4xx'")
        return value


class Step(_Strict):
    """A request, what its response must satisfy, and what to remember from it."""

    request: RequestSpec
    expect: Expect | None = None
    save: dict[str, str] = {}
    save_headers: dict[str, str] = {}
    save_cookies: dict[str, str] = {}


# --- the contract ---------------------------------------------------------------------------


_HTTPS_URL = re.compile(r"^https://[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:\d+)?/[^\s#]*$")
_PINNED = re.compile(r"/[0-9a-f]{40}/")
_THREAD = re.compile(r"^https://github\.com/[^/]+/[^/]+/(issues|pull|discussions)/\d+$")
_ANCHOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~%!$&'()*+,;=:@/-]*$")
_OPERATION = re.compile(r"^(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS) (/\S*)$")
_LINES = re.compile(r"^L\d+(-L\d+)?$")

SourceKind = Literal["doc", "file", "openapi", "issue"]
Evidence = Literal["documented", "observed", "inferred"]


class Source(_Strict):
    """A public vendor artefact rules cite, so every rule can be traced to what the vendor published.

    `doc`: a documentation page (rules give the section anchor); `file`: a vendor file (source code
    or a document's source) at a pinned commit, rules may give a line anchor; `openapi`: the vendor's
    published OpenAPI document (rules give an operation or a JSON pointer); `issue`: a public issue,
    pull request or discussion thread.
    """

    title: str
    kind: SourceKind = "doc"
    url: str

    @model_validator(mode="after")
    def _public_form(self) -> Source:
        if not _HTTPS_URL.match(self.url):
            raise ValueError(f"url {self.url!r} must be an https URL with a host and no fragment")
        if self.kind == "file" and not _PINNED.search(self.url):
            raise ValueError(f"a file source must pin a 40-hex commit in its url: {self.url!r}")
        if self.kind == "issue" and not _THREAD.match(self.url):
            raise ValueError(f"an issue source must be a GitHub issue, pull or discussion url: {self.url!r}")
        return self


class TargetDecl(_Strict):
    """A base URL the vendor needs; with regions, one URL per region."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    regions: list[str] = []
    optional: bool = False
    description: str = ""


class CredentialDecl(_Strict):
    """A credential and the environment variable it is read from."""

    env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    per_region: bool = False
    secret: bool = True
    description: str = ""


class HeaderScheme(_Strict):
    """Auth by static headers whose values are templates over credentials."""

    type: Literal["header"]
    headers: dict[str, str]


class HmacScheme(_Strict):
    """Auth by an HMAC over a message template, sent in templated headers."""

    type: Literal["hmac"]
    key: str
    message: str
    headers: dict[str, str]
    digest: str = "sha256"
    encoding: Literal["base64", "hex"] = "base64"


AuthScheme = Annotated[HeaderScheme | HmacScheme, Field(discriminator="type")]


class Defaults(_Strict):
    """Values merged under every request of the contract."""

    target: str | None = None
    auth: str = "none"
    headers: dict[str, str] = {}
    timeout: float = Field(default=10.0, gt=0, allow_inf_nan=False)
    deadline: float | None = Field(
        default=None,
        gt=0,
        description="seconds a whole request (connect, headers and body) may take; default: 3 x timeout",
    )
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024,
        gt=0,
        description="largest response body read, in bytes (default 16 MiB); a larger answer is a violation",
    )
    # Answers that mean "rate limited" or "quota exhausted" (vendor knowledge): after the transport's
    # retries, such an answer makes the rule an ERROR ("could not check"), not a violation, unless the
    # request observes the quota itself (`retry_on_429: false`, and every request of a `quota` rule).
    rate_limited: list[Expect] = [Expect(status=429)]


class Secrets(_Strict):
    """What the recorder and reports redact beyond the configured credential values."""

    headers: list[str] = ["Authorization", "Cookie", "Set-Cookie"]
    query: list[str] = []
    json_fields: list[str] = []


class Volatile(_Strict):
    """Values an unchanged server answers differently on every recording (its clock, a random port).

    Re-recording compares cassettes with these values reduced to their shape (digits and letters runs), so an
    unchanged server keeps the stored file byte for byte and the rules replay the real values they relate;
    `drift` never reports them. `url_parts: [origin]` stores each target's origin as a mark, as base URLs are.
    """

    headers: list[str] = []  # header names (any case), of responses or of our own requests (a timestamp)
    json_paths: list[str] = []  # dotted paths as in `json:` expectations; `*` one level, `**` any depth
    patterns: list[Regex] = []  # text in any body, e.g. instants inside CSV or a message
    url_parts: list[Literal["origin"]] = []


class RuleSource(_Strict):
    """Where a rule comes from: a source key, the section in words, and where in it (anchor or operation)."""

    doc: str
    section: str
    anchor: str | None = None
    operation: str | None = None

    @field_validator("anchor")
    @classmethod
    def _anchor_form(cls, value: str | None) -> str | None:
        if value is not None and not _ANCHOR.match(value.lstrip("/")):
            raise ValueError(f"anchor {value!r} is not a URL fragment (give it without '#')")
        return value

    @field_validator("operation")
    @classmethod
    def _operation_form(cls, value: str | None) -> str | None:
        if value is not None and not _OPERATION.match(value):
            raise ValueError(f"operation {value!r} must be 'METHOD /path' as the OpenAPI document names it")
        return value

    @model_validator(mode="after")
    def _fits_its_source(self, info: ValidationInfo) -> RuleSource:
        # The loader passes the raw `sources` so a misfit is reported at the rule's own line.
        sources = (info.context or {}).get("sources")
        raw = sources.get(self.doc) if isinstance(sources, dict) else None
        if isinstance(raw, dict):
            misfit = self.misfit(str(raw.get("kind", "doc")))
            if misfit:
                raise ValueError(misfit)
        return self

    def misfit(self, kind: str) -> str | None:
        """Why this citation does not fit a source of this kind, or None when it does."""
        if kind == "doc" and (self.anchor is None or self.operation is not None):
            return "a doc source needs `anchor` (the section's fragment) and no `operation`"
        if kind == "openapi" and (self.anchor is None) == (self.operation is None):
            return "an openapi source needs either `operation` ('METHOD /path') or `anchor` (a JSON pointer)"
        if kind == "openapi" and self.anchor is not None and not self.anchor.startswith("/"):
            return "an openapi anchor is a JSON pointer starting with '/'"
        if kind == "file" and (
            self.operation is not None or (self.anchor is not None and not _LINES.match(self.anchor))
        ):
            return "a file source takes only an optional line anchor such as 'L10-L20'"
        if kind == "issue" and self.operation is not None:
            return "an issue source takes no `operation`"
        return None

    def url(self, source: Source) -> str:
        """The public URL of the cited place: the page and its anchor, or the operation's JSON pointer."""
        if self.operation is not None:
            method, path = self.operation.split(" ", 1)
            escaped = path.replace("~", "~0").replace("/", "~1").replace("{", "%7B").replace("}", "%7D")
            return f"{source.url}#/paths/{escaped}/{method.lower()}"
        return f"{source.url}#{self.anchor}" if self.anchor else source.url


class RateLimit(_Strict):
    """At most `requests` in any `seconds` (a vendor's per-minute limit is `{requests: 10, seconds: 60}`)."""

    requests: int = Field(gt=0)
    seconds: float = Field(gt=0, allow_inf_nan=False)

    @property
    def per_second(self) -> float:
        """The steady rate this limit allows."""
        return self.requests / self.seconds


class QuotaRead(_Strict):
    """How the vendor tells a credential's quota: one reading request and the JSON fields of its answer.

    `limit` is the quota's size; `used` (spent so far) or `remaining` (what is left) gives the rest.
    """

    request: RequestSpec
    limit: str
    used: str | None = None
    remaining: str | None = None

    @model_validator(mode="after")
    def _one_count(self) -> QuotaRead:
        if (self.used is None) == (self.remaining is None):
            raise ValueError("give either `used` or `remaining` (the JSON path of the spent or the left count)")
        if self.request.writes:
            raise ValueError(f"the quota is read with a reading request, not {self.request.method}")
        return self


class QuotaLimit(_Strict):
    """A number of requests per period (a month, a day) a credential may send, and where it can be read."""

    requests: int = Field(gt=0)
    period: str = Field(min_length=1, description="the documented period in words, e.g. '30 days from creation'")
    read: QuotaRead | None = None


class Limit(_Strict):
    """A documented rate or quota of each credential on some targets, with its source.

    The live transport paces every credential to `rate` (unless the run sets a `rate`); a `quota` whose
    `read` the vendor offers is read before a run, which refuses to start when it would not fit.
    """

    targets: list[str] = Field(min_length=1)
    credentials: list[str] = Field(default=[], description="credential names it applies to; empty: every one")
    rate: RateLimit | None = None
    quota: QuotaLimit | None = None
    concurrent: int | None = Field(default=None, gt=0, description="requests in flight at once, per credential")
    source: RuleSource
    note: str = ""

    @model_validator(mode="after")
    def _says_something(self) -> Limit:
        if self.rate is None and self.quota is None and self.concurrent is None:
            raise ValueError("a limit declares a `rate`, a `quota` or `concurrent`")
        return self

    def covers(self, target: str, credential: str) -> bool:
        """Whether this limit binds `credential` on target name `target`."""
        return target in self.targets and (not self.credentials or credential in self.credentials)


Severity = Literal["must", "should", "may"]
SEVERITY_LEVELS: tuple[Severity, ...] = ("must", "should", "may")


class Profile(_Strict):
    """A named way to run the contract (`smoke` on every change, `full` nightly): which rules, how many draws."""

    description: str = ""
    rules: list[str] = Field(default=[], description="rule id globs the profile runs (all rules when empty)")
    exclude: list[str] = Field(default=[], description="rule id globs it leaves out")
    severities: list[Severity] = Field(default=list(SEVERITY_LEVELS), min_length=1)
    also: list[str] = Field(
        default=[],
        description="rule id globs it runs whatever `rules` and `severities` say (what its power needs besides them)",
    )
    examples: int | None = Field(
        default=None,
        ge=0,
        description="at most this many drawn examples per property or fuzz rule (documented boundaries always run)",
    )
    fuzz_examples: int | None = Field(
        default=None,
        ge=0,
        description="at most this many drawn cases per fuzzed operation (default: `examples`)",
    )
    fuzz_boundaries: int | None = Field(
        default=None,
        ge=1,
        description="at most this many coverage cases per fuzzed operation (the first, its default request, always)",
    )
    fuzz_regions: int | None = Field(
        default=None,
        ge=1,
        description="fuzz rules sweep at most this many of their regions, the first ones (default: every region)",
    )
    fuzz_families: bool = Field(
        default=False,
        description="fuzz rules that declare `families` send one representative operation per family "
        "(the one with the most parameters); a profile without it sends every operation",
    )


class Rule(_Strict):
    """One documented behaviour, checked by a registered kind with its parameters."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    title: str
    source: RuleSource
    evidence: Evidence
    severity: Severity
    kind: str
    writes: bool = False
    modes: list[Mode] = ["live", "record", "replay"]
    tags: list[str] = []
    rationale: str = ""
    params: dict[str, Any] = {}

    @field_validator("severity")
    @classmethod
    def _inferred_is_not_must(cls, value: str, info: ValidationInfo) -> str:
        if value == "must" and info.data.get("evidence") == "inferred":
            raise ValueError("an `inferred` rule cannot be `must`: cite a document or an observation, or use `should`")
        return value


class Contract(_Strict):
    """A vendor's whole contract file."""

    schema_version: Literal[1]
    vendor: str = Field(pattern=r"^[a-z][a-z0-9]*$")
    title: str
    api_version: str = ""
    sources: dict[str, Source]
    targets: list[TargetDecl]
    credentials: dict[str, CredentialDecl] = {}
    auth: dict[str, AuthScheme] = {}
    defaults: Defaults = Defaults()
    secrets: Secrets = Secrets()
    volatile: Volatile = Volatile()
    parameters: dict[str, Any] = {}
    limits: list[Limit] = []
    profiles: dict[str, Profile] = {}
    rules: list[Rule]

    @model_validator(mode="after")
    def _references_resolve(self) -> Contract:
        target_names = {target.name for target in self.targets}
        if self.defaults.target is None and self.targets:
            self.defaults.target = self.targets[0].name
        if self.defaults.target not in target_names:
            raise LocatedError(
                f"defaults.target {self.defaults.target!r} is not a declared target"
                + known_hint(str(self.defaults.target), target_names),
                ("defaults", "target"),
            )
        if self.defaults.auth != "none" and self.defaults.auth not in self.auth:
            raise LocatedError(
                f"defaults.auth {self.defaults.auth!r} is not a declared auth scheme"
                + known_hint(self.defaults.auth, self.auth),
                ("defaults", "auth"),
            )
        self._limits_resolve(target_names)
        seen: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.id in seen:
                raise LocatedError(
                    f"rule id {rule.id} appears twice (first as rules.{seen[rule.id]})", ("rules", index, "id")
                )
            seen[rule.id] = index
            if rule.source.doc not in self.sources:
                raise LocatedError(
                    f"rule {rule.id}: source.doc {rule.source.doc!r} is not in sources"
                    + known_hint(rule.source.doc, self.sources),
                    ("rules", index, "source", "doc"),
                )
            misfit = rule.source.misfit(self.sources[rule.source.doc].kind)
            if misfit:
                raise LocatedError(f"rule {rule.id}: source: {misfit}", ("rules", index, "source"))
        return self

    def _limits_resolve(self, target_names: set[str]) -> None:
        for index, limit in enumerate(self.limits):
            for position, name in enumerate(limit.targets):
                if name not in target_names:
                    raise LocatedError(
                        f"limits.{index}: target {name!r} is not declared" + known_hint(name, target_names),
                        ("limits", index, "targets", position),
                    )
            for position, name in enumerate(limit.credentials):
                if name not in self.credentials:
                    raise LocatedError(
                        f"limits.{index}: credential {name!r} is not declared" + known_hint(name, self.credentials),
                        ("limits", index, "credentials", position),
                    )
            if limit.source.doc not in self.sources:
                raise LocatedError(
                    f"limits.{index}: source.doc {limit.source.doc!r} is not in sources"
                    + known_hint(limit.source.doc, self.sources),
                    ("limits", index, "source", "doc"),
                )
            misfit = limit.source.misfit(self.sources[limit.source.doc].kind)
            if misfit:
                raise LocatedError(f"limits.{index}: source: {misfit}", ("limits", index, "source"))

    def limits_for(self, target: str, credential: str) -> list[Limit]:
        """The declared limits that bind one credential on one target name."""
        return [limit for limit in self.limits if limit.covers(target, credential)]

    def target(self, name: str) -> TargetDecl:
        """The declared target called `name`."""
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)

    def citation(self, rule: Rule) -> str:
        """The public URL a rule cites (its source's page plus the anchor or operation)."""
        return rule.source.url(self.sources[rule.source.doc])

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    _file: Path | None = PrivateAttr(default=None)

    @property
    def file(self) -> Path | None:
        """The file this contract was loaded from."""
        return self._file


_M = TypeVar("_M", bound=BaseModel)


def _models_in(node: Any, model: type[_M]) -> Iterator[_M]:
    if isinstance(node, model):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _models_in(getattr(node, name), model)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _models_in(item, model)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _models_in(item, model)


def requests_in(node: Any) -> Iterator[RequestSpec]:
    """Every request spec inside a (parsed) model, e.g. a kind's params."""
    return _models_in(node, RequestSpec)


def safe_marks_in(node: Any) -> Iterator[SafeMark]:
    """Every `safe` citation inside a (parsed) model, so the loader can check each names a contract source."""
    return _models_in(node, SafeMark)


def declared_targets(contracts: Iterable[Contract]) -> dict[str, list[str]]:
    """Every target name the contracts declare, with its regions: what a `--target` key may name."""
    return {target.name: list(target.regions) for contract in contracts for target in contract.targets}
