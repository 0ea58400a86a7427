"""The contract model: what a vendor documents, as validated data (pydantic)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

__all__ = [
    "MODES",
    "AuthOverride",
    "AuthScheme",
    "BodyAssertion",
    "Contract",
    "CredentialDecl",
    "Defaults",
    "Expect",
    "FileSpec",
    "HeaderAssertion",
    "HeaderScheme",
    "HmacScheme",
    "JsonAssertion",
    "RequestSpec",
    "Rule",
    "RuleSource",
    "Secrets",
    "SignOverride",
    "Source",
    "Step",
    "TargetDecl",
    "XmlAssertion",
]

MODES = ("live", "record", "replay")
Mode = Literal["live", "record", "replay"]
JSON_TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
JsonType = Literal["string", "integer", "number", "boolean", "array", "object", "null"]


class _Strict(BaseModel):
    """Base for every contract model: unknown keys are errors, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


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
    follow_redirects: bool = False

    @field_validator("method")
    @classmethod
    def _upper_method(cls, value: str) -> str:
        return value.upper()

    @model_validator(mode="after")
    def _one_query_form(self) -> RequestSpec:
        if self.query is not None and self.raw_query is not None:
            raise ValueError("give either `query` or `raw_query`, not both")
        bodies = [name for name in ("json_body", "form", "files", "content") if getattr(self, name) is not None]
        if len(bodies) > 1 and set(bodies) != {"form", "files"}:
            raise ValueError(f"give one body, not {', '.join(bodies)}")
        return self


# --- expectations ---------------------------------------------------------------------------


class HeaderAssertion(_Strict):
    """What a response header must look like."""

    equals: str | None = None
    contains: str | None = None
    startswith: str | None = None
    endswith: str | None = None
    matches: str | None = None
    absent: bool | None = None
    present: bool | None = None
    one_of: list[str] | None = Field(default=None, alias="in")


class JsonAssertion(_Strict):
    """One assertion on a value found at a dotted path of the JSON body."""

    path: str
    equals: Any = None
    not_equals: Any = None
    one_of: list[Any] | None = Field(default=None, alias="in")
    type: JsonType | list[JsonType] | None = None
    matches: str | None = None
    startswith: str | None = None
    endswith: str | None = None
    contains: Any = None
    absent: bool | None = None
    present: bool | None = None
    min_items: int | None = None
    max_items: int | None = None
    length: int | None = None
    gte: float | None = None
    lte: float | None = None
    equals_status: bool | None = None
    keys_exactly: list[str] | None = None
    keys_include: list[str] | None = None
    keys_exclude: list[str] | None = None

    @field_validator("matches")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            re.compile(value)
        return value


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


StatusSpec = int | list[int] | str


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


# --- the contract ---------------------------------------------------------------------------


class Source(_Strict):
    """A document rules cite."""

    title: str
    url: str | None = None
    file: str | None = None


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
    timeout: float = 10.0
    # Answers that mean "rate limited" or "quota exhausted" (vendor knowledge): after the transport's
    # retries, such an answer makes the rule an ERROR ("could not check"), not a violation, unless the
    # request observes the quota itself (`retry_on_429: false`, and every request of a `quota` rule).
    rate_limited: list[Expect] = [Expect(status=429)]


class Secrets(_Strict):
    """What the recorder and reports redact beyond the configured credential values."""

    headers: list[str] = ["Authorization", "Cookie", "Set-Cookie"]
    query: list[str] = []
    json_fields: list[str] = []


class RuleSource(_Strict):
    """Where a rule comes from: a document key and a section in it."""

    doc: str
    section: str


class Rule(_Strict):
    """One documented behaviour, checked by a registered kind with its parameters."""

    id: str = Field(pattern=r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$")
    title: str
    source: RuleSource
    severity: Literal["must", "should", "may"]
    kind: str
    writes: bool = False
    modes: list[Mode] = ["live", "record", "replay"]
    tags: list[str] = []
    rationale: str = ""
    params: dict[str, Any] = {}


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
    parameters: dict[str, Any] = {}
    rules: list[Rule]

    @model_validator(mode="after")
    def _references_resolve(self) -> Contract:
        target_names = {target.name for target in self.targets}
        if self.defaults.target is None and self.targets:
            self.defaults.target = self.targets[0].name
        if self.defaults.target not in target_names:
            raise ValueError(f"defaults.target {self.defaults.target!r} is not a declared target")
        if self.defaults.auth != "none" and self.defaults.auth not in self.auth:
            raise ValueError(f"defaults.auth {self.defaults.auth!r} is not a declared auth scheme")
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id} appears twice")
            seen.add(rule.id)
            if rule.source.doc not in self.sources:
                raise ValueError(f"rule {rule.id}: source.doc {rule.source.doc!r} is not in sources")
        return self

    def target(self, name: str) -> TargetDecl:
        """The declared target called `name`."""
        for target in self.targets:
            if target.name == name:
                return target
        raise KeyError(name)

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
