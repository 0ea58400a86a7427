"""Cassettes: the recorded interactions of one rule, redacted, in the order they happened."""

from __future__ import annotations

import base64
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import yaml
from pydantic import BaseModel, StrictInt, StrictStr, ValidationError

from ._errors import SetupError
from ._redact import Redactor

__all__ = ["Cassette", "Interaction", "cassette_path"]

_BASE_MARK = "{base_url:%s}"


def cassette_path(root: Path, vendor: str, rule_id: str) -> Path:
    """Where a rule's cassette lives."""
    return root / vendor / f"{rule_id}.json"


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
        """The JSON form in a cassette file."""
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interaction:
        """Read one interaction from a cassette file."""
        request, response = data["request"], data["response"]
        return cls(
            target=request["target"],
            method=request["method"],
            path=request["path"],
            request_headers=request.get("headers", {}),
            request_body=request.get("body", ""),
            status=response["status"],
            response_headers=[(k, v) for k, v in response["headers"]],
            response_body=response["body"],
            body_encoding=response.get("encoding", "utf-8"),
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


def _mark(text: str, bases: dict[str, str]) -> str:
    for target, base in sorted(bases.items(), key=lambda item: -len(item[1])):
        text = text.replace(base, _BASE_MARK % target)
    return text


def _unmark(text: str, bases: dict[str, str]) -> str:
    for target, base in bases.items():
        text = text.replace(_BASE_MARK % target, base)
    return text


@dataclass
class Cassette:
    """The interactions of one rule, consumed in order on replay."""

    vendor: str
    rule_id: str
    interactions: list[Interaction] = field(default_factory=list)
    public: dict[str, str] = field(default_factory=dict)
    examples: list[list[Any]] = field(default_factory=list)
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
        # Headers first: masking a cookie learns its value, which a body may echo.
        headers = redactor.header_dict(
            request.headers.multi_items(), skip={"host", "user-agent", "accept-encoding", "connection"}
        )
        response_headers = [(k, _mark(v, bases)) for k, v in redactor.headers_of(response.headers.multi_items())]
        content = response.content
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            # Bytes that are not text are stored as base64 of the MASKED bytes: base64 would hide a secret
            # from the masking of text, not from whoever decodes the cassette.
            body, encoding = base64.b64encode(redactor.raw(content)).decode(), "base64"
        else:
            body, encoding = _mark(redactor.body(content), bases), "utf-8"
        self.interactions.append(
            Interaction(
                target=target,
                method=request.method,
                path=redactor.url(relative),
                request_headers=headers,
                request_body=redactor.body(request.content),
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

    def closest(self, target: str, method: str, relative: str) -> str:
        """The recorded request most like this one, for an unmatched-request message."""
        wanted = f"{method} {target} {relative}"
        keys = [interaction.key() for interaction in self.interactions]
        if not keys:
            return "(the cassette is empty)"
        best = max(keys, key=lambda key: difflib.SequenceMatcher(None, wanted, key).ratio())
        used = sum(1 for i, k in enumerate(keys) if k == best and i in self._used)
        return best + (f" (already replayed {used}x)" if used else "")

    def save(self, path: Path) -> None:
        """Write the cassette as stable, readable JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "vendor": self.vendor,
            "rule": self.rule_id,
            "public": self.public,
            "examples": self.examples,
            "interactions": [interaction.to_dict() for interaction in self.interactions],
        }
        path.write_text(json.dumps(document, indent=1, sort_keys=False) + "\n", encoding="utf-8")

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
        try:
            shape = _CassetteFile.model_validate(document)
        except ValidationError as exc:
            item = exc.errors()[0]
            loc = tuple(item["loc"])
            where = ".".join(str(part) for part in loc) or "(top level)"
            line = _json_line(text, loc)
            raise SetupError(f"{path}:{line}: not a cassette: {where}: {item['msg']}") from None
        for field_name, wanted, got in (("vendor", vendor, shape.vendor), ("rule", rule_id, shape.rule)):
            if wanted is not None and got != wanted:
                raise SetupError(
                    f"{path}:{_json_line(text, (field_name,))}: this cassette belongs to {field_name} {got!r}, "
                    f"not {wanted!r}; re-record it with `contractgate run --mode record`"
                )
        return cls(
            vendor=shape.vendor,
            rule_id=shape.rule,
            public=shape.public,
            examples=shape.examples,
            interactions=[Interaction.from_dict(item) for item in document["interactions"]],
        )


class _Request(BaseModel):
    target: StrictStr
    method: StrictStr
    path: StrictStr
    headers: dict[StrictStr, StrictStr] = {}
    body: StrictStr = ""


class _Response(BaseModel):
    status: StrictInt
    headers: list[tuple[StrictStr, StrictStr]]
    body: StrictStr
    encoding: Literal["utf-8", "base64"] = "utf-8"


class _Interaction(BaseModel):
    request: _Request
    response: _Response


class _CassetteFile(BaseModel):
    """The shape of a cassette file, checked before any of it is used."""

    vendor: StrictStr
    rule: StrictStr
    public: dict[StrictStr, StrictStr] = {}
    examples: list[list[Any]] = []
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
