"""A Lucene query-string subset, as the search API hands it to Elasticsearch.

Terms, fields, phrases, ranges, wildcards, AND/OR/NOT and parentheses, with the syntax errors
Elasticsearch reports.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Flat", "Predicate", "SearchError", "flatten", "parse_query"]

Flat = dict[str, list[Any]]
Predicate = Callable[[Flat], bool]
_OPERATORS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT", "!": "NOT"}
_WORD_END = set(" \t\r\n()")


class SearchError(ValueError):
    """What Elasticsearch refuses; the API answers it as `SearchException: <reason>`."""


@dataclass(frozen=True)
class _Token:
    kind: str  # word, field, phrase, range, open, close, op
    text: str
    field: str | None = None


def flatten(document: dict[str, Any], prefix: str = "") -> Flat:
    """Every leaf of a document under its dotted path; list members share their list's path."""
    flat: Flat = {}

    def visit(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                visit(child, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for child in value:
                visit(child, path)
        elif value is not None:
            flat.setdefault(path, []).append(value)

    visit(document, prefix)
    return flat


def _split_field(word: str) -> tuple[str | None, str]:
    index = 0
    while index < len(word):
        if word[index] == "\\":
            index += 2
            continue
        if word[index] == ":":
            return word[:index], word[index + 1 :]
        index += 1
    return None, word


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _closing(query: str, start: int, ends: str, what: str) -> int:
    index = start + 1
    while index < len(query) and query[index] not in ends:
        index += 2 if query[index] == "\\" else 1
    if index >= len(query):
        raise SearchError(f"Cannot parse '{query}': unterminated {what} starting at column {start + 1}")
    return index


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(query):
        char = query[index]
        if char.isspace():
            index += 1
        elif char in "()":
            tokens.append(_Token("open" if char == "(" else "close", char))
            index += 1
        elif char == '"':
            end = _closing(query, index, '"', "phrase")
            tokens.append(_Token("phrase", _unescape(query[index + 1 : end])))
            index = end + 1
        elif char in "[{":
            end = _closing(query, index, "]}", "range")
            tokens.append(_Token("range", query[index : end + 1]))
            index = end + 1
        else:
            end = index
            while end < len(query) and query[end] not in _WORD_END:
                if query[end] == ":" and query[end + 1 : end + 2] in ("(", "[", "{", '"'):
                    end += 1
                    break
                end += 2 if query[end] == "\\" else 1
            tokens.extend(_word_tokens(query[index:end]))
            index = end
    return tokens


def _word_tokens(word: str) -> list[_Token]:
    if word in _OPERATORS:
        return [_Token("op", _OPERATORS[word])]
    negated = word[0] in "-!" and len(word) > 1
    body = word[1:] if negated or word[0] == "+" else word
    field, value = _split_field(body)
    prefix = [_Token("op", "NOT")] if negated else []
    if field is not None and value == "":
        return [*prefix, _Token("field", "", _unescape(field))]
    return [
        *prefix,
        _Token("word", _unescape(value), _unescape(field) if field is not None else None),
    ]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _values(flat: Flat, field: str | None) -> list[Any]:
    if field is None or field == "__text__":
        return [value for values in flat.values() for value in values]
    return flat.get(field, [])


def _term(field: str | None, value: str) -> Predicate:
    if value == "*" and field in (None, "*"):
        return lambda flat: True
    wanted = value.lower()
    wildcard = any(char in value for char in "*?")

    def test(flat: Flat) -> bool:
        for candidate in _values(flat, field):
            text = _text(candidate).lower()
            if wildcard and fnmatch.fnmatchcase(text, wanted):
                return True
            if text == wanted or (field is None and wanted in re.split(r"[^0-9a-z]+", text)):
                return True
        return False

    return test


def _phrase(field: str | None, phrase: str) -> Predicate:
    wanted = phrase.lower()
    return lambda flat: any(wanted in _text(value).lower() for value in _values(flat, field))


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(value: Any, bound: str) -> int:
    left, right = _number(_text(value)), _number(bound)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    text = _text(value)
    return (text > bound) - (text < bound)


def _range(field: str | None, text: str, query: str) -> Predicate:
    inner = text[1:-1].strip()
    parts = re.split(r"\s+TO\s+", inner)
    if len(parts) != 2 or field is None:
        raise SearchError(f"Cannot parse '{query}': a range needs a field and the form [low TO high]")
    low, high = (part.strip().strip('"') for part in parts)
    low_inclusive, high_inclusive = text[0] == "[", text[-1] == "]"

    def within(value: Any) -> bool:
        if low != "*":
            order = _compare(value, low)
            if order < 0 or (order == 0 and not low_inclusive):
                return False
        if high != "*":
            order = _compare(value, high)
            if order > 0 or (order == 0 and not high_inclusive):
                return False
        return True

    return lambda flat: any(within(value) for value in _values(flat, field))


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise SearchError(f"Cannot parse '{self.query}': the query ends where a term was expected")
        self.index += 1
        return token

    def parse(self) -> Predicate:
        node = self.any_of(None)
        if self.peek() is not None:
            raise SearchError(f"Cannot parse '{self.query}': unexpected '{self.take().text}'")
        return node

    def any_of(self, field: str | None) -> Predicate:
        options = [self.all_of(field)]
        while (token := self.peek()) is not None and token.kind == "op" and token.text == "OR":
            self.take()
            options.append(self.all_of(field))
        return options[0] if len(options) == 1 else lambda flat: any(test(flat) for test in options)

    def all_of(self, field: str | None) -> Predicate:
        parts = [self.unary(field)]
        while (token := self.peek()) is not None and token.kind != "close" and token.text != "OR":
            if token.kind == "op" and token.text == "AND":
                self.take()
            parts.append(self.unary(field))
        return parts[0] if len(parts) == 1 else lambda flat: all(test(flat) for test in parts)

    def unary(self, field: str | None) -> Predicate:
        token = self.peek()
        if token is not None and token.kind == "op" and token.text == "NOT":
            self.take()
            inner = self.unary(field)
            return lambda flat: not inner(flat)
        return self.primary(field)

    def primary(self, field: str | None) -> Predicate:
        token = self.take()
        if token.kind == "open":
            node = self.any_of(field)
            closing = self.peek()
            if closing is None or closing.kind != "close":
                raise SearchError(f"Cannot parse '{self.query}': a '(' is never closed")
            self.take()
            return node
        if token.kind == "field":
            return self.primary(token.field)
        if token.kind == "word":
            return _term(token.field if token.field is not None else field, token.text)
        if token.kind == "phrase":
            return _phrase(field, token.text)
        if token.kind == "range":
            return _range(field, token.text, self.query)
        raise SearchError(f"Cannot parse '{self.query}': unexpected '{token.text}'")


def parse_query(query: str) -> Predicate:
    """A predicate over flattened documents, or SearchError for a query Lucene would reject."""
    return _Parser(query).parse()
