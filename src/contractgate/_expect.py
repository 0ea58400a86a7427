"""Evaluate expectations against a response: status, headers, raw body, JSON paths, XML, schema."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
import jsonschema

from ._contract import BodyAssertion, Expect, HeaderAssertion, JsonAssertion, XmlAssertion
from ._errors import SetupError, Violation

__all__ = [
    "MISSING",
    "check_expect",
    "json_body",
    "resolve",
    "status_matches",
    "substitute",
    "type_name",
]


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()
Predicate = Callable[[Any, Any], bool]
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(value: Any, variables: Mapping[str, Any]) -> Any:
    """Replace `{name}` placeholders in strings (recursively); an unknown name is a set-up error."""
    if isinstance(value, str):

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in variables:
                raise SetupError(f"placeholder {{{name}}} has no value (known: {sorted(variables)})")
            return str(variables[name])

        whole = _PLACEHOLDER.fullmatch(value)
        if whole and whole.group(1) in variables:
            return variables[whole.group(1)]
        return _PLACEHOLDER.sub(one, value)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def type_name(value: Any) -> str:
    """The JSON type of a Python value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def resolve(document: Any, path: str) -> list[tuple[str, Any]]:
    """Every (concrete path, value) the dotted path reaches; `*` fans out; empty when nothing is there."""
    parts = [part for part in path.split(".") if part != ""] if path else []
    return list(_descend(document, parts, []))


def _descend(node: Any, parts: list[str], trail: list[str]) -> Iterator[tuple[str, Any]]:
    if not parts:
        yield ".".join(trail), node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        children: list[tuple[str, Any]] = []
        if isinstance(node, list):
            children = [(str(index), item) for index, item in enumerate(node)]
        elif isinstance(node, dict):
            children = list(node.items())
        for key, child in children:
            yield from _descend(child, rest, [*trail, key])
        return
    if isinstance(node, dict) and head in node:
        yield from _descend(node[head], rest, [*trail, head])
    elif isinstance(node, list) and re.fullmatch(r"-?\d+", head):
        index = int(head)
        if -len(node) <= index < len(node):
            yield from _descend(node[index], rest, [*trail, head])


def status_matches(status: int, spec: int | list[int] | str) -> bool:
    """Whether an HTTP status satisfies 200, [401, 403] or '4xx'."""
    if isinstance(spec, int):
        return status == spec
    if isinstance(spec, list):
        return status in spec
    return str(status)[0] == spec[0]


def json_body(response: httpx.Response) -> Any:
    """The parsed JSON body, or MISSING when the body is not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return MISSING


def check_expect(response: httpx.Response, expect: Expect, variables: Mapping[str, Any] | None = None) -> None:
    """Raise a Violation naming the first expectation the response breaks."""
    variables = variables or {}
    if expect.status is not None and not status_matches(response.status_code, expect.status):
        raise Violation(
            "unexpected HTTP status",
            expected=expect.status,
            got=f"{response.status_code} {_excerpt(response)}",
            where="status",
        )
    for name, header_spec in expect.headers.items():
        _check_header(response, name, header_spec, variables)
    if expect.body is not None:
        _check_body(response, expect.body, variables)
    if expect.json_assertions or expect.json_schema is not None:
        document = json_body(response)
        if document is MISSING:
            raise Violation(
                "the body is not JSON",
                expected="a JSON body",
                got=_excerpt(response),
                where="body",
            )
        for assertion in expect.json_assertions:
            check_json(document, assertion, response.status_code, variables)
        if expect.json_schema is not None:
            check_schema(document, expect.json_schema)
    if expect.xml:
        root = _xml_root(response)
        for xml_assertion in expect.xml:
            _check_xml(root, xml_assertion, variables)


def _excerpt(response: httpx.Response) -> str:
    # Whole: the engine masks secrets in it before cutting it short; a cut here could halve a secret.
    return response.content.decode("utf-8", "replace")


def _check_header(
    response: httpx.Response,
    name: str,
    spec: str | int | HeaderAssertion,
    variables: Mapping[str, Any],
) -> None:
    where = f"header {name}"
    if not isinstance(spec, HeaderAssertion):
        spec = HeaderAssertion(equals=str(spec))
    spec = HeaderAssertion.model_validate(
        substitute(spec.model_dump(exclude_none=True, by_alias=True, exclude={"matches"}), variables)
        | ({"matches": spec.matches} if spec.matches is not None else {})
    )
    value = response.headers.get(name)
    if spec.absent:
        if value is not None:
            raise Violation("header must be absent", expected="absent", got=value, where=where)
        return
    if value is None:
        raise Violation("header is missing", expected=_describe(spec), got=None, where=where)
    checks: list[tuple[Any, Predicate, str]] = [
        (spec.equals, lambda v, e: v == e, "equal to"),
        (spec.contains, lambda v, e: e in v, "containing"),
        (spec.startswith, lambda v, e: v.startswith(e), "starting with"),
        (spec.endswith, lambda v, e: v.endswith(e), "ending with"),
        (spec.matches, lambda v, e: re.search(e, v) is not None, "matching"),
        (spec.one_of, lambda v, e: v in e, "one of"),
    ]
    for expected, predicate, words in checks:
        if expected is not None and not predicate(value, expected):
            raise Violation(
                f"header not {words} the documented value",
                expected=expected,
                got=value,
                where=where,
            )
    if spec.lt is not None:
        _check_below(value, spec.lt, where)


def _number(text: str | float) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _check_below(value: str, bound: str | float, where: str) -> None:
    """A numeric header below a bound (a number, or a value an earlier step saved)."""
    got, limit = _number(value), _number(bound)
    if limit is None:
        raise SetupError(f"{where}: `lt` needs a number, got {bound!r}")
    if got is None or not got < limit:
        raise Violation("header not below the documented bound", expected=f"< {bound}", got=value, where=where)


def _describe(spec: HeaderAssertion) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in spec.model_dump(exclude_none=True).items()) or "present"


def _check_body(response: httpx.Response, spec: BodyAssertion, variables: Mapping[str, Any]) -> None:
    text = response.content.decode("utf-8", "replace")
    if spec.empty is not None and (len(response.content) == 0) != spec.empty:
        raise Violation(
            "body emptiness differs",
            expected="an empty body" if spec.empty else "a non-empty body",
            got=_excerpt(response),
            where="body",
        )
    if spec.contains is not None and substitute(spec.contains, variables) not in text:
        raise Violation(
            "body lacks the documented text",
            expected=spec.contains,
            got=_excerpt(response),
            where="body",
        )
    if spec.not_contains is not None and substitute(spec.not_contains, variables) in text:
        raise Violation(
            "body contains forbidden text",
            expected=f"not {spec.not_contains!r}",
            got=_excerpt(response),
            where="body",
        )
    is_json = json_body(response) is not MISSING
    if spec.is_json and not is_json:
        raise Violation("the body is not JSON", expected="JSON", got=_excerpt(response), where="body")
    if spec.not_json and is_json:
        raise Violation("the body is JSON", expected="not JSON", got=_excerpt(response), where="body")


def check_json(document: Any, assertion: JsonAssertion, status: int, variables: Mapping[str, Any]) -> None:
    """Apply one JSON assertion to every value its path reaches."""
    matches = resolve(document, assertion.path)
    where = f"json {assertion.path or '(body)'}"
    if assertion.absent:
        if matches:
            raise Violation(
                "value must be absent",
                expected="absent",
                got=matches[0][1],
                where=f"json {matches[0][0]}",
            )
        return
    if not matches:
        raise Violation("value is missing", expected=_assertion_text(assertion), got=MISSING, where=where)
    if isinstance(assertion.length, str):
        assertion = assertion.model_copy(update={"length": _length_of(document, assertion.length, variables, where)})
    for concrete, value in matches:
        where = f"json {concrete or '(body)'}"
        if assertion.minus is not None:
            value = _difference(document, value, assertion.minus, variables, where)
        _check_value(value, assertion, status, variables, where)


def _other(document: Any, reference: str, variables: Mapping[str, Any], where: str, what: str) -> Any:
    """A saved `{name}`, or the single value at another path of the same body."""
    if _PLACEHOLDER.fullmatch(reference):
        return substitute(reference, variables)
    found = resolve(document, reference)
    if len(found) != 1:
        raise Violation(what, expected=f"one number at {reference}", got=MISSING, where=where)
    return found[0][1]


def _difference(document: Any, value: Any, minus: str, variables: Mapping[str, Any], where: str) -> Any:
    """`value - minus`, where minus is a saved `{name}` or the single number at a path of the body."""
    other = _other(document, minus, variables, where, "nothing to subtract")
    if not (_numeric_pair(value, value) and _numeric_pair(other, other)):
        raise Violation("not numbers", expected=f"numbers ({minus})", got=[value, other], where=where)
    return value - other


def _length_of(document: Any, reference: str, variables: Mapping[str, Any], where: str) -> int:
    """The length a relation names: a whole number saved as `{name}` or found at another path of the body."""
    other = _other(document, reference, variables, where, "no count to compare the length with")
    if type_name(other) != "integer":
        raise Violation("not a count", expected=f"a whole number ({reference})", got=other, where=where)
    return int(other)


def _assertion_text(assertion: JsonAssertion) -> str:
    shown = assertion.model_dump(exclude_none=True, by_alias=True, exclude={"path"})
    return ", ".join(f"{key}={value!r}" for key, value in shown.items()) or "present"


def _check_value(value: Any, assertion: JsonAssertion, status: int, variables: Mapping[str, Any], where: str) -> None:
    fields = assertion.model_fields_set
    if "equals" in fields:
        expected = substitute(assertion.equals, variables)
        if value != expected or (type_name(value) != type_name(expected) and not _numeric_pair(value, expected)):
            raise Violation("value differs", expected=expected, got=value, where=where)
    if "not_equals" in fields and value == substitute(assertion.not_equals, variables):
        raise Violation("value must differ", expected=f"not {assertion.not_equals!r}", got=value, where=where)
    if assertion.one_of is not None and value not in substitute(assertion.one_of, variables):
        raise Violation("value not among the documented ones", expected=assertion.one_of, got=value, where=where)
    if assertion.type is not None:
        allowed = [assertion.type] if isinstance(assertion.type, str) else assertion.type
        actual = type_name(value)
        if actual not in allowed and not (actual == "integer" and "number" in allowed):
            raise Violation(
                "wrong JSON type",
                expected=" or ".join(allowed),
                got=f"{actual} {value!r}",
                where=where,
            )
    _check_text(value, assertion, variables, where)
    _check_size(value, assertion, where)
    if assertion.equals_status and value != status:
        raise Violation("value differs from the HTTP status", expected=status, got=value, where=where)
    _check_keys(value, assertion, where)


def _numeric_pair(a: Any, b: Any) -> bool:
    return type_name(a) in {"integer", "number"} and type_name(b) in {"integer", "number"}


def _check_text(value: Any, assertion: JsonAssertion, variables: Mapping[str, Any], where: str) -> None:
    if assertion.matches is not None and not (isinstance(value, str) and re.search(assertion.matches, value)):
        raise Violation("value does not match the pattern", expected=assertion.matches, got=value, where=where)
    affixes: list[tuple[str, Predicate]] = [
        ("startswith", lambda v, e: bool(v.startswith(e))),
        ("endswith", lambda v, e: bool(v.endswith(e))),
    ]
    for name, predicate in affixes:
        expected = getattr(assertion, name)
        if expected is not None:
            expected = substitute(expected, variables)
            if not (isinstance(value, str) and predicate(value, expected)):
                raise Violation(
                    f"value does not {name[:-4]} with the documented text",
                    expected=expected,
                    got=value,
                    where=where,
                )
    if "contains" in assertion.model_fields_set:
        expected = substitute(assertion.contains, variables)
        if not isinstance(value, str | list | dict) or expected not in value:
            raise Violation(
                "value does not contain the documented item",
                expected=expected,
                got=value,
                where=where,
            )


def _check_size(value: Any, assertion: JsonAssertion, where: str) -> None:
    if assertion.min_items is not None or assertion.max_items is not None or assertion.length is not None:
        if not isinstance(value, list | dict | str):
            raise Violation("value has no length", expected="an array", got=value, where=where)
        size = len(value)
        if assertion.min_items is not None and size < assertion.min_items:
            raise Violation("too few items", expected=f">= {assertion.min_items}", got=size, where=where)
        if assertion.max_items is not None and size > assertion.max_items:
            raise Violation("too many items", expected=f"<= {assertion.max_items}", got=size, where=where)
        if assertion.length is not None and size != assertion.length:
            raise Violation("wrong length", expected=assertion.length, got=size, where=where)
    bounds: list[tuple[float | None, Predicate, str]] = [
        (assertion.gte, lambda v, b: bool(v >= b), ">="),
        (assertion.lte, lambda v, b: bool(v <= b), "<="),
    ]
    for bound, ok, words in bounds:
        if bound is not None and (not _numeric_pair(value, 0) or not ok(value, bound)):
            raise Violation(
                "value out of the documented range",
                expected=f"{words} {bound}",
                got=value,
                where=where,
            )


def _check_keys(value: Any, assertion: JsonAssertion, where: str) -> None:
    if assertion.keys_exactly is None and assertion.keys_include is None and assertion.keys_exclude is None:
        return
    if not isinstance(value, dict):
        raise Violation("value is not an object", expected="an object", got=value, where=where)
    keys = set(value)
    wanted = set(assertion.keys_exactly or ())
    if assertion.keys_exactly is not None and keys != wanted:
        raise Violation(
            "object keys differ",
            expected=sorted(assertion.keys_exactly),
            got=f"{sorted(keys)} (missing {sorted(wanted - keys)}, extra {sorted(keys - wanted)})",
            where=where,
        )
    if assertion.keys_include is not None and not set(assertion.keys_include) <= keys:
        raise Violation(
            "object lacks keys",
            expected=sorted(assertion.keys_include),
            got=sorted(keys),
            where=where,
        )
    if assertion.keys_exclude is not None and keys & set(assertion.keys_exclude):
        raise Violation(
            "object has forbidden keys",
            expected=f"none of {sorted(assertion.keys_exclude)}",
            got=sorted(keys & set(assertion.keys_exclude)),
            where=where,
        )


def check_schema(document: Any, schema: Mapping[str, Any], where: str = "json (body)") -> None:
    """Validate a document against a JSON Schema; the first error is the violation."""
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(document))
    if error is not None:
        path = ".".join(str(part) for part in error.absolute_path) or "(body)"
        raise Violation(
            f"schema violation: {error.message}",
            expected=f"{error.validator}: {error.validator_value!r}",
            got=error.instance,
            where=f"{where} at {path}",
        )


def _xml_root(response: httpx.Response) -> ET.Element:
    try:
        return ET.fromstring(response.content)
    except ET.ParseError as exc:
        raise Violation(
            "the body is not XML",
            expected="an XML document",
            got=_excerpt(response),
            where=f"body ({exc})",
        ) from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_find(root: ET.Element, path: str) -> list[ET.Element]:
    nodes = [root]
    for part in (p for p in path.split("/") if p):
        nodes = [child for node in nodes for child in node if _local(child.tag) == part]
    return nodes


def _check_xml(root: ET.Element, assertion: XmlAssertion, variables: Mapping[str, Any]) -> None:
    where = f"xml /{_local(root.tag)}/{assertion.path}".rstrip("/")
    found = _xml_find(root, assertion.path)
    if assertion.absent:
        if found:
            raise Violation("element must be absent", expected="absent", got=_local(found[0].tag), where=where)
        return
    if not found:
        raise Violation("element is missing", expected=assertion.path, got=MISSING, where=where)
    if assertion.min_count is not None and len(found) < assertion.min_count:
        raise Violation("too few elements", expected=f">= {assertion.min_count}", got=len(found), where=where)
    for element in found:
        if assertion.tag is not None and _local(element.tag) != assertion.tag:
            raise Violation("wrong element", expected=assertion.tag, got=_local(element.tag), where=where)
        if assertion.equals is not None:
            # Element text is always a string: a saved number (a JSON count) compares as its text.
            expected = str(substitute(assertion.equals, variables))
            if (element.text or "").strip() != expected:
                raise Violation("element text differs", expected=expected, got=element.text, where=where)
