"""Drift: what changed in a vendor's API between two sets of recorded exchanges, classified like a breaking-change
checker (each finding a stable id, a severity, and the contract rules that read the same thing).

Each side is a cassette folder or a run's report folder (its `exchanges/`). Interactions are read one cassette at
a time and folded into per-operation observations (an inferred JSON Schema per status with genson, header names,
media types, page sizes, `next` forms), so memory grows with operations, not with bytes recorded.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from genson import SchemaBuilder
from genson.schema.strategies import String

from ._cassettes import Cassette, Interaction, Volatility
from ._contract import Contract, Rule
from ._errors import SetupError, known_hint
from ._packs import bundled_file

__all__ = [
    "DEFAULT_SEVERITY",
    "SEVERITIES",
    "DriftResult",
    "Finding",
    "Side",
    "compare",
    "drift",
    "read_severity_levels",
    "read_side",
]

SEVERITIES = ("info", "warning", "breaking")
# Each finding id and its default severity (docs/drift.md explains each; `--severity-levels FILE` overrides).
DEFAULT_SEVERITY: dict[str, str] = {
    "status-added": "warning",
    "status-removed": "warning",
    "response-body-kind-changed": "breaking",
    "response-field-removed": "breaking",
    "response-field-added": "info",
    "response-field-became-optional": "warning",
    "response-field-became-required": "info",
    "response-type-changed": "breaking",
    "response-format-changed": "warning",
    "response-became-nullable": "warning",
    "response-no-longer-nullable": "info",
    "response-enum-value-added": "warning",
    "response-enum-value-removed": "info",
    "content-type-changed": "breaking",
    "xml-no-longer-served": "breaking",
    "header-removed": "warning",
    "header-added": "info",
    "header-renamed": "warning",
    "pagination-page-size-changed": "warning",
    "pagination-next-form-changed": "breaking",
}
_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
# Headers whose presence depends on the transfer, not on the API.
_TRANSFER_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"})
_LIMIT_PARAMS = ("limit", "resultlimit", "rows", "size", "page_size", "pagesize", "per_page", "max", "count")
_NEXT_KEYS = ("next", "nextPage", "next_page", "nextUrl", "next_url", "nextLink", "@odata.nextLink")
_ENUM_MAX = 8  # more distinct values than this at one path: not an enumeration
_ENUM_PATHS = 400  # sampled string paths per operation and status: keeps memory bounded by operations


# --- inference --------------------------------------------------------------------------------------


def string_format(value: str) -> str | None:
    """The JSON Schema format a recorded string has, as far as its text shows."""
    for name, pattern in _FORMATS:
        if pattern.fullmatch(value):
            return name
    return None


_FORMATS = (
    ("date-time", re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")),
    ("date", re.compile(r"\d{4}-\d{2}-\d{2}")),
    ("uuid", re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")),
    ("ipv4", re.compile(r"(\d{1,3}\.){3}\d{1,3}")),
    ("ipv6", re.compile(r"[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}")),
    ("email", re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")),
    ("uri", re.compile(r"(https?://|\{base_url:|\{origin:)\S*")),
)


class _FormattedString(String):  # type: ignore[misc]
    """genson's string strategy, also keeping the one format every example shares (none when they differ)."""

    def __init__(self, node_class: Any) -> None:
        super().__init__(node_class)
        self._formats: set[str | None] = set()

    def add_object(self, obj: Any) -> None:
        super().add_object(obj)
        self._formats.add(string_format(obj))

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = super().to_schema()
        if len(self._formats) == 1 and None not in self._formats:
            schema["format"] = next(iter(self._formats))
        return schema


class _Builder(SchemaBuilder):  # type: ignore[misc]
    EXTRA_STRATEGIES = (_FormattedString,)


# --- one side -----------------------------------------------------------------------------------------


@dataclass
class StatusShape:
    """What one status of one operation looked like over every recorded example."""

    count: int = 0
    json_count: int = 0
    other_count: int = 0
    builder: Any = field(default_factory=_Builder)
    media_types: set[str] = field(default_factory=set)
    headers: dict[str, set[str]] = field(default_factory=dict)  # name -> value forms (for pairing renames)
    strings: dict[str, Counter[str]] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)
    bodies: set[bytes] = field(default_factory=set)  # digests of the JSON bodies already folded in

    def schema(self) -> dict[str, Any]:
        """The inferred JSON Schema of the JSON bodies ({} when none was JSON)."""
        return dict(self.builder.to_schema()) if self.json_count else {}


@dataclass
class Operation:
    """One method and route template of one vendor's target, as recorded."""

    vendor: str
    target: str
    method: str
    template: str
    statuses: dict[int, StatusShape] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)
    page_sizes: dict[str, int] = field(default_factory=dict)  # requested limit -> most items answered
    next_forms: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Vendor, target, method, template."""
        return (self.vendor, self.target, self.method, self.template)

    @property
    def name(self) -> str:
        """How reports name it."""
        return f"{self.method} {self.template}"


@dataclass
class Side:
    """Every operation one side recorded."""

    source: Path
    operations: dict[tuple[str, str, str, str], Operation] = field(default_factory=dict)
    interactions: int = 0
    cassettes: int = 0
    uncompared: int = 0  # requests the other side did not send as often


class Templates:
    """Route templates of one vendor: its OpenAPI paths where a contract names a document, else a collapse."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        compiled = []
        for path in set(paths):
            literal = sum(1 for part in path.split("/") if part and "{" not in part)
            pattern = re.compile("".join(_template_part(part) for part in re.split(r"(\{[^}/]+\})", path)))
            compiled.append((-literal, -len(path), path, pattern))
        self._templates = [(path, pattern) for *_, path, pattern in sorted(compiled)]

    def template(self, relative: str) -> str:
        """The template a request path (query dropped) belongs to."""
        path = urlsplit(relative).path or "/"
        for template, pattern in self._templates:
            if pattern.fullmatch(path):
                return template
        return collapse(path)


def _template_part(part: str) -> str:
    return "[^/]+" if part.startswith("{") and part.endswith("}") else re.escape(part)


# Path segments that are values, not names: numbers, hashes, UUIDs, addresses, host names, encoded values, tokens.
_VALUE_SEGMENTS = (
    ("{n}", re.compile(r"-?\d+")),
    ("{id}", re.compile(r"[0-9a-fA-F]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}")),
    ("{ip}", re.compile(r"(\d{1,3}\.){3}\d{1,3}(%2F\d+|/\d+)?|[0-9a-fA-F]*:[0-9a-fA-F:.]+")),
    ("{email}", re.compile(r"[^/@]+(@|%40)[^/]+")),
    ("{value}", re.compile(r".*%[0-9A-Fa-f]{2}.*")),
    ("{host}", re.compile(r"(?![^/]*\.(json|xml|html|csv|txt|yaml)$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")),
    ("{id}", re.compile(r"(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{20,}")),
)


def collapse(path: str) -> str:
    """A route template by heuristics, for a vendor without a document naming its routes.

    Each segment that looks like a value (digits, a hex hash or UUID, an IP address or CIDR, an email address,
    a percent-encoded value, a dotted host name, a 20+ character token of letters and digits) becomes a
    parameter; names stay. Query values never matter: an operation is its method and path.
    """
    parts = []
    for segment in path.split("/"):
        for name, pattern in _VALUE_SEGMENTS:
            if segment and pattern.fullmatch(segment):
                segment = name
                break
        parts.append(segment)
    return "/".join(parts)


def openapi_paths(contract: Contract, root: Path) -> list[str]:
    """The route templates of every OpenAPI document a contract's rules name (relative to `root`)."""
    files = sorted({value for rule in contract.rules for value in _strings_under(rule.params, "openapi")})
    paths: list[str] = []
    for name in files:
        file = _description(contract, root, name)
        try:
            document = json.loads(file.read_text(encoding="utf-8")) if file is not None else None
        except (OSError, ValueError):
            continue  # the rules that use it report an unreadable document; drift then collapses by heuristics
        if isinstance(document, dict) and isinstance(document.get("paths"), dict):
            paths.extend(str(path) for path in document["paths"])
    return paths


def _description(contract: Contract, root: Path, name: str) -> Path | None:
    """An OpenAPI file a rule names: under `root`, next to its contract (or one folder up), else in the packs."""
    folders = [root]
    if contract.file is not None:
        folders += [contract.file.parent, contract.file.parent.parent]
    for folder in folders:
        if (folder / name).is_file():
            return folder / name
    return bundled_file(name)


def _strings_under(node: Any, key: str) -> Iterator[str]:
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                yield value
            else:
                yield from _strings_under(value, key)
    elif isinstance(node, list):
        for item in node:
            yield from _strings_under(item, key)


def cassette_files(folder: Path) -> list[Path]:
    """The cassette files of a side: a cassette folder, or a report folder holding `exchanges/`."""
    if not folder.is_dir():
        raise SetupError(f"{folder}: no such folder (give a cassette folder or a reports/<run>/ folder)")
    root = folder / "exchanges" if (folder / "exchanges").is_dir() else folder
    reports = {"results.json", "kill-matrix.json", "drift.json"}
    files = sorted(path for path in root.rglob("*.json") if path.name not in reports)
    if not files:
        raise SetupError(
            f"{folder}: holds no cassettes (a run keeps its exchanges with `contractgate run --keep-exchanges`)"
        )
    return files


RequestKey = tuple[str, str, str, str, str]  # vendor, rule, target, method, relative URL


def request_keys(folder: Path) -> Counter[RequestKey]:
    """How often each rule sent each request (method and relative URL): what the two sides can be compared on."""
    keys: Counter[RequestKey] = Counter()
    for path in cassette_files(folder):
        cassette = Cassette.load(path)
        for interaction in cassette.interactions:
            keys[_request_key(cassette, interaction)] += 1
    return keys


def _request_key(cassette: Cassette, interaction: Interaction) -> RequestKey:
    return (cassette.vendor, cassette.rule_id, interaction.target, interaction.method, interaction.path)


def read_side(
    folder: Path,
    contracts: Mapping[str, Contract],
    templates: Mapping[str, Templates],
    common: Counter[RequestKey] | None = None,
) -> Side:
    """Fold the interactions of a side into per-operation observations, one cassette file at a time.

    With `common`, only the first n times a rule sent one request (method and relative URL) are folded in, n
    being how often the other side sent it too: the two sides are compared on the answers to the same requests,
    so a rule that stopped early on one side (its verdict changed) or drew other cases leaves no trace but the
    count of requests not compared.
    """
    side = Side(folder)
    for path in cassette_files(folder):
        cassette = Cassette.load(path)
        contract = contracts.get(cassette.vendor)
        volatile = _volatility(contract)
        routes = templates.get(cassette.vendor) or Templates()
        side.cassettes += 1
        taken: Counter[RequestKey] = Counter()
        for interaction in cassette.interactions:
            side.interactions += 1
            key = _request_key(cassette, interaction)
            if common is not None and taken[key] >= common[key]:
                side.uncompared += 1
                continue
            taken[key] += 1
            _observe(side, cassette, interaction, routes.template(interaction.path), volatile)
    return side


def _volatility(contract: Contract | None) -> Volatility:
    if contract is None:
        return Volatility()
    declared = contract.volatile
    return Volatility(tuple(declared.headers), tuple(declared.json_paths), tuple(declared.patterns))


def _observe(side: Side, cassette: Cassette, interaction: Interaction, template: str, volatile: Volatility) -> None:
    key = (cassette.vendor, interaction.target, interaction.method, template)
    operation = side.operations.get(key)
    if operation is None:
        operation = side.operations[key] = Operation(*key)
    operation.rules.add(cassette.rule_id)
    shape = operation.statuses.setdefault(interaction.status, StatusShape())
    shape.count += 1
    shape.rules.add(cassette.rule_id)
    headers = [(name.lower(), value) for name, value in interaction.response_headers]
    for name, value in headers:
        if name not in _TRANSFER_HEADERS:
            shape.headers.setdefault(name, set()).add(_header_form(value))
        if name == "content-type":
            shape.media_types.add(value.split(";")[0].strip().lower())
    document = _json(interaction)
    if document is _NOT_JSON:
        shape.other_count += 1
        return
    shape.json_count += 1
    digest = hashlib.blake2b(interaction.response_body.encode(), digest_size=12).digest()
    if digest not in shape.bodies:  # the same answer again teaches neither the schema nor the enumerations more
        shape.bodies.add(digest)
        shape.builder.add_object(document)
        _sample_strings(shape, document, [], volatile)
    if 200 <= interaction.status < 300:
        _measure_page(operation, interaction, document, headers)


_NOT_JSON = object()


def _json(interaction: Interaction) -> Any:
    if interaction.body_encoding != "utf-8" or not interaction.response_body.strip():
        return _NOT_JSON
    text = interaction.response_body.lstrip()
    if not text.startswith(("{", "[")):
        return _NOT_JSON
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def _header_form(value: str) -> str:
    return re.sub(r"\d+", "9", value)[:80]


def _sample_strings(shape: StatusShape, node: Any, path: list[str], volatile: Volatility) -> None:
    """Count the string values at each path, to tell an enumeration (few values, each seen often) apart."""
    if isinstance(node, dict):
        for key, value in node.items():
            _sample_strings(shape, value, [*path, str(key)], volatile)
    elif isinstance(node, list):
        for item in node:
            _sample_strings(shape, item, [*path, "*"], volatile)
    elif isinstance(node, str) and path and not _volatile_path(volatile, tuple(path)):
        dotted = ".".join(path)
        counter = shape.strings.get(dotted)
        if counter is None:
            if len(shape.strings) >= _ENUM_PATHS:
                return
            counter = shape.strings[dotted] = Counter()
        if len(counter) <= _ENUM_MAX or node in counter:
            counter[node] += 1


@functools.lru_cache(maxsize=8192)
def _volatile_path(volatile: Volatility, path: tuple[str, ...]) -> bool:
    return volatile.json_value(list(path))


def _measure_page(
    operation: Operation, interaction: Interaction, document: Any, headers: list[tuple[str, str]]
) -> None:
    query = {name.lower(): value for name, value in parse_qsl(urlsplit(interaction.path).query)}
    limit = next((query[name] for name in _LIMIT_PARAMS if name in query), None)
    if limit is not None:
        items = _items(document)
        operation.page_sizes[limit] = max(operation.page_sizes.get(limit, 0), items)
    form = _next_form(document, headers)
    if form:
        operation.next_forms.add(form)


def _items(document: Any) -> int:
    """The length of the largest list at the top two levels of an answer (the page's items)."""
    if isinstance(document, list):
        return len(document)
    sizes = [0]
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, list):
                sizes.append(len(value))
            elif isinstance(value, dict):
                sizes += [len(inner) for inner in value.values() if isinstance(inner, list)]
    return max(sizes)


def _next_form(document: Any, headers: list[tuple[str, str]]) -> str | None:
    if any(name == "link" and 'rel="next"' in value for name, value in headers):
        return "Link header"
    holders = [document] if isinstance(document, dict) else []
    holders += [value for value in holders[0].values() if isinstance(value, dict)] if holders else []
    for holder in holders:
        for key in _NEXT_KEYS:
            value = holder.get(key)
            if isinstance(value, str) and value:
                return f"{key}: " + _link_form(value)
    return None


def _link_form(value: str) -> str:
    if value.startswith("{base_url:"):
        return "absolute URL under the base"
    if value.startswith(("http://", "https://")):
        return "absolute URL"
    if value.startswith("/"):
        return "path"
    return "token"


# --- comparison -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleLink:
    """A contract rule that reads what a finding is about."""

    id: str
    source: str


@dataclass
class Finding:
    """One difference between the two sides."""

    id: str
    severity: str
    vendor: str
    target: str
    operation: str
    status: int | None
    where: str
    baseline: str
    current: str
    message: str
    rules: list[RuleLink] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # every status the same change was seen in

    def sort_key(self) -> tuple[Any, ...]:
        """Most severe first, then by place: the same inputs always give the same order."""
        first = self.statuses[0] if self.statuses else 0
        return (-_RANK[self.severity], self.vendor, self.target, self.operation, first, self.id, self.where)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "id": self.id,
            "severity": self.severity,
            "vendor": self.vendor,
            "target": self.target,
            "operation": self.operation,
            "status": self.status,
            "statuses": self.statuses,
            "where": self.where,
            "baseline": self.baseline,
            "current": self.current,
            "message": self.message,
            "rules": [{"id": link.id, "source": link.source} for link in self.rules],
        }


@dataclass
class DriftResult:
    """Every finding, and what was compared."""

    baseline: Side
    current: Side
    findings: list[Finding]
    compared: int

    def worst(self) -> str | None:
        """The highest severity found, or None."""
        return max((f.severity for f in self.findings), key=lambda s: _RANK[s], default=None)

    def fails(self, fail_on: str) -> bool:
        """Whether a finding at or above `fail_on` exists."""
        return any(_RANK[f.severity] >= _RANK[fail_on] for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form every report writer reads (reports see data, not this module)."""
        counts = Counter(f.severity for f in self.findings)
        return {
            "baseline": _side_dict(self.baseline),
            "current": _side_dict(self.current),
            "operations_compared": self.compared,
            "summary": {name: counts.get(name, 0) for name in reversed(SEVERITIES)},
            "findings": [finding.to_dict() for finding in self.findings],
        }


def _side_dict(side: Side) -> dict[str, Any]:
    return {"source": str(side.source), "interactions": side.interactions, "not_compared": side.uncompared}


class _Links:
    """Which rules of a contract read a field, a header or a status, on the operations they touched."""

    def __init__(self, contracts: Mapping[str, Contract]) -> None:
        self.contracts = contracts
        self._reads: dict[tuple[str, str], set[str]] = {}

    def reads(self, vendor: str, rule_id: str) -> set[str]:
        """Every string a rule's parameters hold (paths, header names, media types), normalised."""
        key = (vendor, rule_id)
        if key not in self._reads:
            rule = self._rule(vendor, rule_id)
            found: set[str] = set()
            if rule is not None:
                _collect(rule.params, found)
            self._reads[key] = found
        return self._reads[key]

    def _rule(self, vendor: str, rule_id: str) -> Rule | None:
        contract = self.contracts.get(vendor)
        if contract is None:
            return None
        try:
            return contract.rule(rule_id)
        except KeyError:
            return None

    def link(self, vendor: str, rules: Iterable[str], wanted: set[str] | None) -> list[RuleLink]:
        """The rules among `rules` reading any of `wanted` (None: every rule given), with their sources."""
        contract = self.contracts.get(vendor)
        links = []
        for rule_id in sorted(set(rules)):
            rule = self._rule(vendor, rule_id)
            if rule is None or contract is None:
                continue
            if wanted is None or self.reads(vendor, rule_id) & wanted:
                links.append(RuleLink(rule_id, contract.citation(rule)))
        return links


def _collect(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            found.add(str(key).lower())
            _collect(value, found)
    elif isinstance(node, list):
        for item in node:
            _collect(item, found)
    elif isinstance(node, str):
        found.add(_normal_path(node))
        found.add(node.lower())
        for prefix in _prefixes(_normal_path(node)):
            found.add(prefix)
    elif isinstance(node, int) and not isinstance(node, bool):
        found.add(str(node))


def _normal_path(path: str) -> str:
    return ".".join("*" if part.isdigit() else part for part in path.split("."))


def _prefixes(path: str) -> list[str]:
    parts = path.split(".")
    return [".".join(parts[:end]) for end in range(1, len(parts))]


def _field_wanted(where: str) -> set[str]:
    """A finding's path and every longer path below it match a rule reading it (a rule reading a child of a
    removed object reads what was removed): the rule's paths and their prefixes are matched against this."""
    return {_normal_path(where)}


@dataclass
class _Findings:
    """Where a comparison's findings go, each with its severity and the rules it concerns."""

    links: _Links
    levels: Mapping[str, str]
    items: list[Finding] = field(default_factory=list)

    def on(self, op: Operation, status: int | None, rules: Iterable[str]) -> _Scope:
        """The findings of one operation's answers (of one status, or of all: None), read by `rules`."""
        return _Scope(self, op, status, frozenset(rules))


@dataclass(frozen=True)
class _Scope:
    """One operation's answers under comparison: each finding names them and links the rules reading its place."""

    findings: _Findings
    op: Operation
    status: int | None
    rules: frozenset[str]

    def report(self, finding_id: str, where: str, was: str, now: str, message: str, wanted: set[str] | None) -> None:
        """One finding, linked to the rules that read any of `wanted` (None: every rule; empty: none)."""
        linked = self.findings.links.link(self.op.vendor, self.rules, wanted)
        level = self.findings.levels[finding_id]
        op = self.op
        self.findings.items.append(
            Finding(finding_id, level, op.vendor, op.target, op.name, self.status, where, was, now, message, linked)
        )


def compare(
    baseline: Side,
    current: Side,
    contracts: Mapping[str, Contract] | None = None,
    severity: Mapping[str, str] | None = None,
) -> DriftResult:
    """Every difference between two sides, with severities and linked rules."""
    found = _Findings(_Links(contracts or {}), {**DEFAULT_SEVERITY, **(severity or {})})
    common = sorted(baseline.operations.keys() & current.operations.keys())
    if not common:
        raise SetupError(
            f"{baseline.source} and {current.source} have no request in common (the same rule to the same "
            "operation): nothing to compare"
        )
    for key in common:
        _compare_operation(baseline.operations[key], current.operations[key], found)
    findings = _merged(found.items)
    findings.sort(key=Finding.sort_key)
    return DriftResult(baseline, current, findings, len(common))


def _merged(findings: list[Finding]) -> list[Finding]:
    """One finding for one change seen in the answers of several statuses (a header renamed in all of them)."""
    groups: dict[tuple[str, ...], list[Finding]] = {}
    for finding in findings:
        key = (finding.id, finding.vendor, finding.target, finding.operation, finding.where, finding.baseline,
               finding.current)  # fmt: skip
        groups.setdefault(key, []).append(finding)
    merged = []
    for group in groups.values():
        first = group[0]
        statuses = sorted({f.status for f in group if f.status is not None})
        if len(group) > 1:
            shown = "/".join(str(status) for status in statuses)
            first.message = first.message.replace(
                f"{first.operation} {first.status}:", f"{first.operation} {shown}:", 1
            )
            first.status = None
            links = {link.id: link for f in group for link in f.rules}
            first.rules = [links[name] for name in sorted(links)]
        first.statuses = statuses
        merged.append(first)
    return merged


def _compare_operation(was: Operation, now: Operation, found: _Findings) -> None:
    for status in sorted(now.statuses.keys() - was.statuses.keys()):
        message = f"{now.name} now answers {status}"
        found.on(now, status, now.statuses[status].rules).report(
            "status-added", str(status), "never answered", "answered", message, None
        )
    for status in sorted(was.statuses.keys() - now.statuses.keys()):
        message = f"{was.name} no longer answers {status} to the same requests"
        found.on(was, status, was.statuses[status].rules).report(
            "status-removed", str(status), "answered", "never answered", message, None
        )
    for status in sorted(was.statuses.keys() & now.statuses.keys()):
        before, after = was.statuses[status], now.statuses[status]
        scope = found.on(was, status, before.rules | after.rules)
        _compare_media(scope, before, after)
        _compare_headers(scope, before, after)
        if before.json_count and after.json_count:
            _compare_schema(scope, before.schema(), after.schema(), "")
            _compare_enums(scope, before, after)
        elif before.json_count and not after.json_count:
            message = f"{was.name} {status} answers are no longer JSON"
            scope.report("response-body-kind-changed", "(body)", "JSON", "not JSON", message, None)
    _compare_pages(found.on(was, None, was.rules), was, now)


def _compare_media(scope: _Scope, before: StatusShape, after: StatusShape) -> None:
    if not before.media_types or not after.media_types or before.media_types == after.media_types:
        return
    xml_before = {m for m in before.media_types if m.endswith("xml")}
    xml_after = {m for m in after.media_types if m.endswith("xml")}
    wanted = {"content-type", "accept", "xml"}
    head = f"{scope.op.name} {scope.status}:"
    now = ", ".join(sorted(after.media_types))
    if xml_before and not xml_after:
        was = ", ".join(sorted(xml_before))
        scope.report("xml-no-longer-served", "content-type", was, now, f"{head} XML is no longer served", wanted)
        return
    was = ", ".join(sorted(before.media_types))
    scope.report("content-type-changed", "content-type", was, now, f"{head} the content type changed", wanted)


def _compare_headers(scope: _Scope, before: StatusShape, after: StatusShape) -> None:
    removed = sorted(before.headers.keys() - after.headers.keys())
    added = sorted(after.headers.keys() - before.headers.keys())
    renamed: list[tuple[str, str]] = []
    for old in list(removed):  # a rename: one header gone and one new, with values of the same form, unambiguously
        partners = [new for new in added if after.headers[new] == before.headers[old]]
        rivals = [other for other in removed if before.headers[other] == before.headers[old]]
        if len(partners) == 1 and rivals == [old]:
            renamed.append((old, partners[0]))
            removed.remove(old)
            added.remove(partners[0])
    head = f"{scope.op.name} {scope.status}:"
    for old, new in renamed:
        scope.report("header-renamed", old, old, new, f"{head} header {old} is now {new}", {old})
    for name in removed:
        scope.report("header-removed", name, "present", "absent", f"{head} header {name} is gone", {name})
    for name in added:
        scope.report("header-added", name, "absent", "present", f"{head} new header {name}", {name})


def _types(schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """A genson schema as {type name: the schema describing that type}."""
    if "anyOf" in schema:
        merged: dict[str, Mapping[str, Any]] = {}
        for option in schema["anyOf"]:
            merged.update(_types(option))
        return merged
    kind = schema.get("type")
    if kind is None:
        return {}
    return dict.fromkeys([kind] if isinstance(kind, str) else kind, schema)


def _compare_schema(scope: _Scope, before: Mapping[str, Any], after: Mapping[str, Any], path: str) -> None:
    was, now = _types(before), _types(after)
    where = path or "(body)"
    solid_was, solid_now = set(was) - {"null"}, set(now) - {"null"}
    if "number" in solid_was and "integer" in solid_now and "number" not in solid_now:
        solid_now = (solid_now - {"integer"}) | {"number"}  # only whole numbers seen this time: no change
    wanted = _field_wanted(path) if path else set()
    head = f"{scope.op.name} {scope.status}: {where}"
    if solid_was and solid_now and solid_was != solid_now:
        old_types, new_types = " | ".join(sorted(solid_was)), " | ".join(sorted(solid_now))
        scope.report("response-type-changed", where, old_types, new_types, f"{head} changed type", wanted)
    if solid_was and "null" not in was and "null" in now:
        scope.report("response-became-nullable", where, "never null", "null seen", f"{head} can now be null", wanted)
    if solid_now and "null" in was and "null" not in now:
        message = f"{head} was null in the baseline and is never null now"
        scope.report("response-no-longer-nullable", where, "null seen", "never null", message, wanted)
    if "string" in was and "string" in now:
        old_format, new_format = was["string"].get("format"), now["string"].get("format")
        if old_format and old_format != new_format:
            shown = new_format or "(no single format)"
            scope.report("response-format-changed", where, old_format, shown, f"{head} changed format", wanted)
    if "object" in was and "object" in now:
        _compare_object(scope, was["object"], now["object"], path)
    if "array" in was and "array" in now:
        items_was, items_now = was["array"].get("items"), now["array"].get("items")
        if isinstance(items_was, dict) and isinstance(items_now, dict):
            _compare_schema(scope, items_was, items_now, _join(path, "*"))


def _compare_object(scope: _Scope, before: Mapping[str, Any], after: Mapping[str, Any], path: str) -> None:
    old, new = before.get("properties", {}), after.get("properties", {})
    old_required, new_required = set(before.get("required", [])), set(after.get("required", []))
    head = f"{scope.op.name} {scope.status}:"
    for name in sorted(old.keys() - new.keys()):
        where = _join(path, name)
        message = f"{head} field {where} is gone"
        scope.report("response-field-removed", where, "present", "absent", message, _field_wanted(where))
    for name in sorted(new.keys() - old.keys()):
        where = _join(path, name)
        kind = " | ".join(sorted(_types(new[name]))) or "any"
        state = "always present" if name in new_required else "sometimes present"
        # a field no rule can have read: linked to none
        scope.report("response-field-added", where, "absent", f"{kind}, {state}", f"{head} new field {where}", set())
    for name in sorted(old.keys() & new.keys()):
        where = _join(path, name)
        wanted = _field_wanted(where)
        if name in old_required and name not in new_required:
            message = f"{head} {where} is sometimes missing now"
            scope.report("response-field-became-optional", where, "always present", "sometimes absent", message, wanted)
        elif name in new_required and name not in old_required:
            message = f"{head} {where} is always present now"
            scope.report("response-field-became-required", where, "sometimes absent", "always present", message, wanted)
        _compare_schema(scope, old[name], new[name], where)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _enum(counter: Counter[str] | None) -> set[str] | None:
    """The values of an enumeration: few distinct values, each seen at least twice on average."""
    if not counter or len(counter) > _ENUM_MAX or counter.total() < 2 * len(counter) or len(counter) < 2:
        return None
    return set(counter)


def _compare_enums(scope: _Scope, before: StatusShape, after: StatusShape) -> None:
    head = f"{scope.op.name} {scope.status}:"
    for path in sorted(before.strings.keys() & after.strings.keys()):
        old, new = _enum(before.strings[path]), _enum(after.strings[path])
        if old is None or new is None or old == new:
            continue
        wanted = _field_wanted(path)
        for value in sorted(new - old):
            message = f"{head} {path} has a new value {value!r}"
            scope.report("response-enum-value-added", path, ", ".join(sorted(old)), value, message, wanted)
        for value in sorted(old - new):
            message = f"{head} {path} no longer takes {value!r}"
            scope.report("response-enum-value-removed", path, value, ", ".join(sorted(new)), message, wanted)


def _compare_pages(scope: _Scope, was: Operation, now: Operation) -> None:
    pagination = {"pagination", "next", "limit"}
    for limit in sorted(was.page_sizes.keys() & now.page_sizes.keys()):
        before, after = was.page_sizes[limit], now.page_sizes[limit]
        if before != after:
            message = f"{was.name}: asked for {limit}, answered {before} then, {after} now"
            scope.report(
                "pagination-page-size-changed",
                f"limit={limit}",
                f"{before} items",
                f"{after} items",
                message,
                pagination,
            )
    if was.next_forms and now.next_forms and was.next_forms != now.next_forms:
        old_forms, new_forms = "; ".join(sorted(was.next_forms)), "; ".join(sorted(now.next_forms))
        message = f"{was.name}: the next page is given another way"
        scope.report("pagination-next-form-changed", "next", old_forms, new_forms, message, pagination)


# --- entry points -----------------------------------------------------------------------------------


def read_severity_levels(path: Path) -> dict[str, str]:
    """A severity-levels file: one `finding-id severity` per line, `#` comments (as oasdiff's)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SetupError(f"--severity-levels {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise SetupError(f"--severity-levels {path}: cannot read it ({error})") from None
    levels: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) != 2:
            raise SetupError(f"{path}:{number}: expected `finding-id severity`, got {line.strip()!r}")
        finding_id, level = words
        if finding_id not in DEFAULT_SEVERITY:
            raise SetupError(
                f"{path}:{number}: unknown finding id {finding_id!r}{known_hint(finding_id, DEFAULT_SEVERITY)}"
            )
        if level not in SEVERITIES:
            raise SetupError(f"{path}:{number}: severity {level!r} is not one of {', '.join(SEVERITIES)}")
        levels[finding_id] = level
    return levels


def drift(
    baseline: Path,
    current: Path,
    contracts: Iterable[Contract] = (),
    root: Path = Path(),
    severity: Mapping[str, str] | None = None,
) -> DriftResult:
    """Read both sides (templates from the contracts' OpenAPI documents under `root`) and compare them."""
    by_vendor = {contract.vendor: contract for contract in contracts}
    templates = {vendor: Templates(openapi_paths(contract, root)) for vendor, contract in by_vendor.items()}
    common = request_keys(baseline) & request_keys(current)
    before = read_side(baseline, by_vendor, templates, common)
    after = read_side(current, by_vendor, templates, common)
    return compare(before, after, by_vendor, severity)
