"""Cassettes: the recorded interactions of one rule, redacted, in order, in VCR.py's cassette layout."""

from __future__ import annotations

import base64
import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, StrictStr, ValidationError

from ._errors import SetupError
from ._redact import Redactor

__all__ = ["VCR_FORMAT", "Cassette", "Interaction", "Volatility", "cassette_path", "shape_of"]

VCR_FORMAT = 1  # VCR.py's cassette format version (`vcr.serialize.CASSETTE_FORMAT_VERSION`)
_BASE_MARK = "{base_url:%s}"
_ORIGIN_MARK = "{origin:%s}"
# httpx draws a random multipart boundary per request: the client's choice, not the server's, so it is stored fixed.
_BOUNDARY = re.compile(r"boundary=([^;\s]+)")
STORED_BOUNDARY = "contractgate-boundary"


def cassette_path(root: Path, vendor: str, rule_id: str) -> Path:
    """Where a rule's cassette lives."""
    return root / vendor / f"{rule_id}.json"


def shape_of(text: str) -> str:
    """A volatile text reduced to its form: each run of letters is `a`, each run of digits `9`."""
    return re.sub(r"\d+", "9", re.sub(r"[A-Za-z]+", "a", text))


def _value_shape(value: Any) -> Any:
    if isinstance(value, str):
        return "<volatile " + shape_of(value) + ">"
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return f"<volatile {type(value).__name__}>"
    return value  # an object or array declared volatile keeps its structure: its own volatile parts are declared


@dataclass(frozen=True)
class Volatility:
    """A contract's `volatile:` declaration as the recorder applies it (the cassette layer knows no contract)."""

    headers: tuple[str, ...] = ()
    json_paths: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    origins: bool = False

    def header(self, name: str) -> bool:
        """Whether a header's value (of a request, our clock, or of a response) is volatile."""
        return name.lower() in {header.lower() for header in self.headers}

    def normalised(self, document: dict[str, Any]) -> dict[str, Any]:
        """A cassette document (its JSON form) with every volatile value reduced to its shape."""
        interactions = [self._interaction(item) for item in document.get("interactions", [])]
        return {**document, "interactions": interactions}

    def _interaction(self, item: dict[str, Any]) -> dict[str, Any]:
        request = dict(item["request"])
        request["headers"] = {
            name: shape_of(value) if self.header(name) else value for name, value in request.get("headers", {}).items()
        }
        response = dict(item["response"])
        response["headers"] = [
            [name, shape_of(value) if self.header(name) else value] for name, value in response["headers"]
        ]
        if response.get("encoding", "utf-8") == "utf-8":
            response["body"] = self.body(response["body"])
        return {**item, "request": request, "response": response}

    def body(self, text: str) -> str:
        """A response body with its volatile text and JSON values reduced to their shape."""
        for pattern in self.patterns:
            text = re.sub(pattern, lambda match: shape_of(match.group(0)), text)
        if not self.json_paths:
            return text
        try:
            document = json.loads(text)
        except ValueError:
            return text
        for path in self.json_paths:
            document = _replace(document, [part for part in path.split(".") if part], _value_shape)
        return json.dumps(document, sort_keys=True)

    def json_value(self, path: list[str]) -> bool:
        """Whether a concrete JSON path (keys; array indexes as `*`) is declared volatile."""
        return any(_path_matches([p for p in declared.split(".") if p], path) for declared in self.json_paths)


def _replace(node: Any, parts: list[str], change: Any) -> Any:
    """`node` with every value a dotted path (`*` one level, `**` any depth) reaches passed through `change`."""
    if not parts:
        return change(node)
    head, rest = parts[0], parts[1:]
    if head == "**":
        node = _replace(node, rest, change)  # zero levels
        return _children(node, lambda child: _replace(child, parts, change))
    if head == "*":
        return _children(node, lambda child: _replace(child, rest, change))
    if isinstance(node, dict) and head in node:
        return {**node, head: _replace(node[head], rest, change)}
    if isinstance(node, list) and head.isdigit() and int(head) < len(node):
        index = int(head)
        return [*node[:index], _replace(node[index], rest, change), *node[index + 1 :]]
    return node


def _children(node: Any, change: Any) -> Any:
    if isinstance(node, dict):
        return {key: change(value) for key, value in node.items()}
    if isinstance(node, list):
        return [change(item) for item in node]
    return node


def _path_matches(declared: list[str], path: list[str]) -> bool:
    if not declared:
        return not path
    head, rest = declared[0], declared[1:]
    if head == "**":
        return any(_path_matches(rest, path[start:]) for start in range(len(path) + 1))
    if not path:
        return False
    return (head in {"*", path[0]} or (path[0] == "*" and head.isdigit())) and _path_matches(rest, path[1:])


@dataclass
class Interaction:
    """One recorded request and response; the URL is relative to its target's base URL."""

    target: str
    method: str
    path: str
    request_headers: dict[str, str]
    request_body: str
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    body_encoding: str = "utf-8"

    def key(self) -> str:
        """What replay matches on: method, target and the relative URL."""
        return f"{self.method} {self.target} {self.path}"

    def to_dict(self) -> dict[str, Any]:
        """The form compared between recordings (relative URL, base-URL marks): no recording's address in it."""
        return {
            "request": {
                "target": self.target,
                "method": self.method,
                "path": self.path,
                "headers": self.request_headers,
                "body": self.request_body,
            },
            "response": {
                "status": self.status,
                "headers": [list(pair) for pair in self.response_headers],
                "body": self.response_body,
                "encoding": self.body_encoding,
            },
        }

    def to_vcr(self, bases: dict[str, str], origins: bool) -> dict[str, Any]:
        """VCR.py's form: absolute URI at the recorded base, headers as lists, marks resolved; ours aside."""
        grouped: dict[str, list[str]] = {}
        for name, value in self.response_headers:
            grouped.setdefault(name, []).append(_unmark(value, bases, origins))
        body = self.response_body if self.body_encoding != "utf-8" else _unmark(self.response_body, bases, origins)
        return {
            "request": {
                "method": self.method,
                "uri": bases.get(self.target, "") + self.path,
                "body": self.request_body,
                "headers": {name: [value] for name, value in self.request_headers.items()},
            },
            "response": {
                "status": {"code": self.status, "message": httpx.codes.get_reason_phrase(self.status)},
                "headers": grouped,
                "body": {"string": body},
            },
            "contractgate": {"target": self.target, "path": self.path, "encoding": self.body_encoding},
        }

    @classmethod
    def from_vcr(cls, data: _Interaction, bases: dict[str, str], origins: bool) -> Interaction:
        """Read one interaction of a cassette file, recorded addresses turned back into base-URL marks."""
        request, response, ours = data.request, data.response, data.contractgate
        body = response.body.string
        if ours.encoding == "utf-8":
            body = _mark(body, bases, origins)
        return cls(
            target=ours.target,
            method=request.method,
            path=ours.path,
            request_headers={name: ", ".join(values) for name, values in request.headers.items()},
            request_body=request.body,
            status=response.status.code,
            response_headers=[
                (name, _mark(value, bases, origins)) for name, values in response.headers.items() for value in values
            ],
            response_body=body,
            body_encoding=ours.encoding,
        )

    def response(self, request: httpx.Request, bases: dict[str, str]) -> httpx.Response:
        """Rebuild the httpx response, with recorded base-URL marks pointing at the replay bases."""
        if self.body_encoding == "base64":
            content = base64.b64decode(self.response_body)
        else:
            content = _unmark(self.response_body, bases).encode()
        headers = [(k, _unmark(v, bases)) for k, v in self.response_headers]
        headers = [(k, v) for k, v in headers if k.lower() not in {"content-length", "content-encoding"}]
        return httpx.Response(self.status, headers=headers, content=content, request=request)


def _mark(text: str, bases: dict[str, str], origins: bool = False) -> str:
    for target, base in sorted(bases.items(), key=lambda item: -len(item[1])):
        text = text.replace(base, _BASE_MARK % target)
    if origins:  # after the bases, which are longer: what is left of an origin is a link outside the API
        for target, origin in sorted(_origins(bases).items(), key=lambda item: (-len(item[1]), item[0])):
            text = text.replace(origin, _ORIGIN_MARK % target)
    return text


def _unmark(text: str, bases: dict[str, str], origins: bool = True) -> str:
    for target, base in bases.items():
        text = text.replace(_BASE_MARK % target, base)
    if origins:
        for target, origin in _origins(bases).items():
            text = text.replace(_ORIGIN_MARK % target, origin)
    return text


def _origins(bases: dict[str, str]) -> dict[str, str]:
    """Each target's scheme://host[:port]; of targets sharing one origin, the first by name keeps it."""
    found: dict[str, str] = {}
    for target in sorted(bases):
        url = httpx.URL(bases[target])
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}"
        if origin not in found.values():
            found[target] = origin
    return found


@dataclass
class Cassette:
    """The interactions of one rule, consumed in order on replay."""

    vendor: str
    rule_id: str
    interactions: list[Interaction] = field(default_factory=list)
    public: dict[str, str] = field(default_factory=dict)
    examples: list[list[Any]] = field(default_factory=list)
    volatile: Volatility = field(default_factory=Volatility)
    bases: dict[str, str] = field(default_factory=dict)
    _used: set[int] = field(default_factory=set)

    def record(
        self,
        target: str,
        relative: str,
        request: httpx.Request,
        response: httpx.Response,
        redactor: Redactor,
        bases: dict[str, str],
    ) -> None:
        """Append one exchange, redacted and with live base URLs replaced by marks."""
        self.bases.update(bases)
        # Headers first: masking a cookie learns its value, which a body may echo.
        headers = redactor.header_dict(
            request.headers.multi_items(), skip={"host", "user-agent", "accept-encoding", "connection"}
        )
        request_body = redactor.body(request.content)
        boundary = _BOUNDARY.search(request.headers.get("content-type", ""))
        if boundary is not None and request.headers.get("content-type", "").lower().startswith("multipart/"):
            headers = {k: v.replace(boundary.group(1), STORED_BOUNDARY) for k, v in headers.items()}
            request_body = request_body.replace(boundary.group(1), STORED_BOUNDARY)
        origins = self.volatile.origins
        # The stored body is the decoded one: a `content-encoding` header would make a VCR.py replay decode it again.
        response_headers = [
            (k, _mark(v, bases, origins))
            for k, v in redactor.headers_of(response.headers.multi_items())
            if k.lower() != "content-encoding"
        ]
        content = response.content
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            # Bytes that are not text are stored as base64 of the MASKED bytes: base64 would hide a secret
            # from the masking of text, not from whoever decodes the cassette.
            body, encoding = base64.b64encode(redactor.raw(content)).decode(), "base64"
        else:
            body, encoding = _mark(redactor.body(content), bases, origins), "utf-8"
        self.interactions.append(
            Interaction(
                target=target,
                method=request.method,
                path=redactor.url(relative),
                request_headers=headers,
                request_body=request_body,
                status=response.status_code,
                response_headers=response_headers,
                response_body=body,
                body_encoding=encoding,
            )
        )

    def take(self, target: str, method: str, relative: str) -> Interaction | None:
        """The first unused interaction with this method, target and relative URL."""
        wanted = f"{method} {target} {relative}"
        for index, interaction in enumerate(self.interactions):
            if index not in self._used and interaction.key() == wanted:
                self._used.add(index)
                return interaction
        return None

    def consumed(self, index: int) -> None:
        """Mark an interaction as replayed already (one just recorded in `new_episodes`)."""
        self._used.add(index)

    def closest(self, target: str, method: str, relative: str) -> str:
        """The recorded request most like this one, for an unmatched-request message."""
        wanted = f"{method} {target} {relative}"
        keys = [interaction.key() for interaction in self.interactions]
        if not keys:
            return "(the cassette is empty)"
        best = max(keys, key=lambda key: difflib.SequenceMatcher(None, wanted, key).ratio())
        used = sum(1 for i, k in enumerate(keys) if k == best and i in self._used)
        return best + (f" (already replayed {used}x)" if used else "")

    def comparable(self) -> dict[str, Any]:
        """The recording without the addresses it was made at: what two recordings of one server share."""
        return {
            "vendor": self.vendor,
            "rule": self.rule_id,
            "public": self.public,
            "examples": self.examples,
            "interactions": [interaction.to_dict() for interaction in self.interactions],
        }

    def document(self) -> dict[str, Any]:
        """The file: VCR.py's layout (`version`, `interactions`), contractgate's extras under `contractgate`."""
        origins = self.volatile.origins
        meta: dict[str, Any] = {
            "vendor": self.vendor,
            "rule": self.rule_id,
            "bases": self.bases,
            "origins": origins,
            "public": self.public,
            "examples": self.examples,
        }
        interactions = [interaction.to_vcr(self.bases, origins) for interaction in self.interactions]
        return {"version": VCR_FORMAT, "contractgate": meta, "interactions": interactions}

    def save(self, path: Path) -> bool:
        """Write the cassette as stable, readable JSON; False when the stored file already says the same.

        "The same" is equal once the addresses of the recordings are left out and the declared volatile values
        are reduced to their shape: the stored file is then kept byte for byte, so re-recording an unchanged server
        (on another port) changes nothing, and the values it holds are real answers of one recording (rules that
        relate them, an expiry minus a report time, replay).
        """
        document = json.loads(json.dumps(self.document()))
        if path.is_file() and self._same_as(path, document):
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")
        return True

    def _same_as(self, path: Path, document: dict[str, Any]) -> bool:
        try:
            stored = Cassette.load(path).comparable()
        except SetupError:  # a stored file of another shape is simply rewritten
            return False
        current = Cassette._of(_CassetteFile.model_validate(document)).comparable()
        return bool(self.volatile.normalised(stored) == self.volatile.normalised(current))

    @classmethod
    def load(cls, path: Path, vendor: str | None = None, rule_id: str | None = None) -> Cassette:
        """Read a cassette file; a file that is not one (or is another rule's) is a SetupError naming file:line."""
        try:
            text = path.read_text(encoding="utf-8")
            document = json.loads(text)
        except UnicodeDecodeError as exc:
            raise SetupError(f"{path}:1: not a cassette: not UTF-8 ({exc.reason})") from None
        except json.JSONDecodeError as exc:
            raise SetupError(f"{path}:{exc.lineno}: not a cassette: not valid JSON: {exc.msg}") from None
        if isinstance(document, dict) and "vendor" in document and "contractgate" not in document:
            raise SetupError(
                f"{path}:1: not a cassette: contractgate's format before VCR.py's layout; "
                "re-record it with `contractgate run --mode record`"
            )
        try:
            shape = _CassetteFile.model_validate(document)
        except ValidationError as exc:
            item = exc.errors()[0]
            loc = tuple(item["loc"])
            where = ".".join(str(part) for part in loc) or "(top level)"
            line = _json_line(text, loc)
            raise SetupError(f"{path}:{line}: not a cassette: {where}: {item['msg']}") from None
        meta = shape.contractgate
        for field_name, wanted, got in (("vendor", vendor, meta.vendor), ("rule", rule_id, meta.rule)):
            if wanted is not None and got != wanted:
                raise SetupError(
                    f"{path}:{_json_line(text, ('contractgate', field_name))}: this cassette belongs to "
                    f"{field_name} {got!r}, not {wanted!r}; re-record it with `contractgate run --mode record`"
                )
        return cls._of(shape)

    @classmethod
    def _of(cls, shape: _CassetteFile) -> Cassette:
        meta = shape.contractgate
        return cls(
            vendor=meta.vendor,
            rule_id=meta.rule,
            public=meta.public,
            examples=meta.examples,
            bases=dict(meta.bases),
            interactions=[Interaction.from_vcr(item, meta.bases, meta.origins) for item in shape.interactions],
        )


class _Request(BaseModel):
    """VCR.py's request: exactly these four keys (it builds its `Request` from them)."""

    model_config = ConfigDict(extra="forbid")

    method: StrictStr
    uri: StrictStr
    body: StrictStr = ""
    headers: dict[StrictStr, list[StrictStr]] = {}


class _Status(BaseModel):
    code: StrictInt
    message: StrictStr = ""


class _Body(BaseModel):
    string: StrictStr


class _Response(BaseModel):
    status: _Status
    headers: dict[StrictStr, list[StrictStr]]
    body: _Body


class _Extras(BaseModel):
    """Per interaction, what replay matches on beyond VCR.py's keys: the target and the URL relative to it."""

    target: StrictStr
    path: StrictStr
    encoding: Literal["utf-8", "base64"] = "utf-8"


class _Interaction(BaseModel):
    request: _Request
    response: _Response
    contractgate: _Extras


class _Meta(BaseModel):
    vendor: StrictStr
    rule: StrictStr
    bases: dict[StrictStr, StrictStr] = {}
    origins: StrictBool = False
    public: dict[StrictStr, StrictStr] = {}
    examples: list[list[Any]] = []


class _CassetteFile(BaseModel):
    """The shape of a cassette file, checked before any of it is used."""

    version: Literal[1]
    contractgate: _Meta
    interactions: list[_Interaction]


def _json_line(text: str, loc: tuple[Any, ...]) -> int:
    """The line of a location in a JSON document (JSON is YAML, whose parser keeps positions); 1 if unknown."""
    try:
        node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError:
        return 1
    line = 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = [(key, value) for key, value in node.value if key.value == part]
            if not found:
                break
            line, node = found[0][0].start_mark.line + 1, found[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
