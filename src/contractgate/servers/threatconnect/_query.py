"""Query features of list endpoints: paging windows, TQL, sorting and v2 filters."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_LIMIT",
    "PAGING_MESSAGE",
    "BadQuery",
    "Field",
    "Window",
    "parse_date",
    "parse_filters",
    "parse_sorting",
    "parse_tql",
    "parse_window",
]

MAX_LIMIT = 10_000
PAGING_MESSAGE = (
    "The resultStart and resultLimit query parameters must be integers "
    f"and the maximum value for resultLimit is {MAX_LIMIT}"
)
_INTEGER = re.compile(r"[0-9]+")


class BadQuery(ValueError):
    """A query parameter the server cannot use; its text is the error message sent back."""


@dataclass(frozen=True)
class Field:
    """A queryable field: its TQL type and how to read it from an object."""

    type: str
    read: Callable[[Any], Any]


Predicate = Callable[[Any], bool]

# --- paging ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The slice of a result list one page holds."""

    start: int
    limit: int

    def page(self, items: Sequence[Any]) -> list[Any]:
        """The items of this page."""
        return list(items[self.start : self.start + self.limit])


def parse_window(
    start: str | None,
    limit: str | None,
    *,
    default_limit: int = 100,
    max_limit: int | None = MAX_LIMIT,
    lenient: bool = False,
) -> Window:
    """resultStart/resultLimit as a Window; bad values raise BadQuery unless `lenient`."""
    values: list[int] = []
    for text, default in ((start, 0), (limit, default_limit)):
        if text is None:
            values.append(default)
        elif _INTEGER.fullmatch(text):
            values.append(int(text))
        elif lenient:
            values.append(default)
        else:
            raise BadQuery(PAGING_MESSAGE)
    if max_limit is not None and values[1] > max_limit:
        raise BadQuery(PAGING_MESSAGE)
    return Window(values[0], values[1])


# --- dates ----------------------------------------------------------------------------------


def parse_date(text: str) -> dt.datetime:
    """An ISO-8601 date or date-time; naive values are UTC. Raises BadQuery."""
    cleaned = text.strip()
    if cleaned.endswith(("Z", "z")):
        cleaned = cleaned[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(cleaned)
    except ValueError:
        raise BadQuery(f"'{text}' is not an ISO-8601 date") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


# --- comparisons shared by TQL and v2 filters -----------------------------------------------


def _coerce(field: Field, literal: Any) -> Any:
    """The literal converted to the field's type, for comparing."""
    if field.type in {"Integer", "BigDecimal", "Long"}:
        try:
            return float(literal)
        except (TypeError, ValueError):
            raise BadQuery(f"'{literal}' is not a number") from None
    if field.type == "Boolean":
        if isinstance(literal, bool):
            return literal
        if str(literal).lower() in {"true", "false"}:
            return str(literal).lower() == "true"
        raise BadQuery(f"'{literal}' is not true or false")
    if field.type == "Date":
        return parse_date(str(literal))
    return str(literal).lower()


def _normalise(field: Field, value: Any) -> Any:
    if value is None:
        return None
    if field.type in {"Integer", "BigDecimal", "Long"}:
        return float(value)
    if field.type in {"Boolean", "Date"}:
        return value
    return str(value).lower()


def _like(value: str, pattern: str) -> bool:
    wildcards = {"%": ".*", "_": "."}
    regex = "".join(wildcards.get(char, re.escape(char)) for char in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda v, x: bool(v == x),
    "!=": lambda v, x: bool(v != x),
    "<": lambda v, x: bool(v < x),
    ">": lambda v, x: bool(v > x),
    "<=": lambda v, x: bool(v <= x),
    ">=": lambda v, x: bool(v >= x),
    "LIKE": lambda v, x: isinstance(v, str) and _like(v, x),
    "CONTAINS": lambda v, x: isinstance(v, str) and x in v,
    "STARTSWITH": lambda v, x: isinstance(v, str) and v.startswith(x),
    "ENDSWITH": lambda v, x: isinstance(v, str) and v.endswith(x),
    "IN": lambda v, x: v in x,
}
_WORD_OPERATORS = {"EQ": "=", "NE": "!=", "GT": ">", "LT": "<", "GEQ": ">=", "LEQ": "<="}


def _condition(field: Field, operator: str, literal: Any, negate: bool) -> Predicate:
    """A predicate for `field <operator> literal` (list fields match when any element does)."""
    if operator == "IS NULL":

        def is_null(item: Any) -> bool:
            value = field.read(item)
            empty = value is None or value == []
            return empty != negate

        return is_null
    if isinstance(literal, list):
        expected: Any = [_coerce(field, part) for part in literal]
    else:
        expected = _coerce(field, literal)
    compare = _COMPARE[operator]

    def holds(item: Any) -> bool:
        raw = field.read(item)
        values = raw if isinstance(raw, list) else [raw]
        seen = (_normalise(field, value) for value in values)
        hit = any(value is not None and compare(value, expected) for value in seen)
        return hit != negate

    return holds


# --- TQL ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|=|<|>)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)
_ESCAPABLE = {"'", '"', "`", "\\"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _unquote(text: str, allow_escapes: bool) -> str:
    body = text[1:-1]
    if "\\" in body and not allow_escapes:
        raise BadQuery("TQL strings may not contain backslash escapes")

    def one(match: re.Match[str]) -> str:
        char = match.group(1)
        return char if char in _ESCAPABLE else match.group(0)

    return _ESCAPED.sub(one, body)


def _tokens(text: str, allow_escapes: bool) -> list[_Token]:
    found: list[_Token] = []
    position = 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise BadQuery(f"TQL could not be read at position {position}: {text[position:]!r}")
        kind = match.lastgroup or ""
        raw = match.group(kind)
        value = _unquote(raw, allow_escapes) if kind == "string" else raw
        found.append(_Token(kind, value))
        position = match.end()
    return found


class _TqlParser:
    """Recursive descent over TQL tokens: or-joined and-joined conditions, parentheses."""

    def __init__(self, tokens: list[_Token], fields: Mapping[str, Field]) -> None:
        self.tokens = tokens
        self.index = 0
        self.fields = {name.lower(): field for name, field in fields.items()}

    def peek_punct(self, char: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        token = self.tokens[self.index]
        return token.kind == "punct" and token.text == char

    def peek_word(self, *words: str) -> bool:
        if self.index >= len(self.tokens):
            return False
        token = self.tokens[self.index]
        return token.kind == "word" and token.text.upper() in words

    def take(self) -> _Token:
        if self.index >= len(self.tokens):
            raise BadQuery("TQL ended too early")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect_punct(self, char: str) -> None:
        token = self.take()
        if token.kind != "punct" or token.text != char:
            raise BadQuery(f"TQL expected '{char}' but found '{token.text}'")

    def parse(self) -> Predicate:
        predicate = self.disjunction()
        if self.index != len(self.tokens):
            raise BadQuery(f"TQL has unexpected text at '{self.tokens[self.index].text}'")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek_word("OR"):
            self.take()
            parts.append(self.conjunction())
        return parts[0] if len(parts) == 1 else lambda item: any(p(item) for p in parts)

    def conjunction(self) -> Predicate:
        parts = [self.unary()]
        while self.peek_word("AND"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else lambda item: all(p(item) for p in parts)

    def unary(self) -> Predicate:
        if self.peek_punct("("):
            self.take()
            inner = self.disjunction()
            self.expect_punct(")")
            return inner
        return self.condition()

    def operator(self) -> tuple[str, bool]:
        token = self.take()
        if token.kind == "op":
            return token.text, False
        word = token.text.upper()
        if token.kind == "word" and word == "NOT":
            inner = self.take().text.upper()
            if inner in {"IN", "LIKE", "CONTAINS", "STARTSWITH", "ENDSWITH"}:
                return inner, True
            raise BadQuery(f"TQL does not know the operator 'NOT {inner}'")
        if token.kind == "word" and word == "IS":
            negate = self.peek_word("NOT")
            if negate:
                self.take()
            if self.take().text.upper() != "NULL":
                raise BadQuery("TQL expected NULL after IS")
            return "IS NULL", negate
        if token.kind == "word" and word in _WORD_OPERATORS:
            return _WORD_OPERATORS[word], False
        if token.kind == "word" and word in _COMPARE:
            return word, False
        raise BadQuery(f"TQL does not know the operator '{token.text}'")

    def literal(self) -> Any:
        token = self.take()
        if token.kind == "punct" and token.text == "(":
            values = [self.literal()]
            while not self.peek_punct(")"):
                self.expect_punct(",")
                values.append(self.literal())
            self.expect_punct(")")
            return values
        if token.kind in {"string", "number"}:
            return token.text
        if token.kind == "word" and token.text.lower() in {"true", "false"}:
            return token.text.lower() == "true"
        raise BadQuery(f"TQL expected a value but found '{token.text}'")

    def condition(self) -> Predicate:
        token = self.take()
        field = self.fields.get(token.text.lower()) if token.kind == "word" else None
        if field is None:
            raise BadQuery(f"TQL does not know the keyword '{token.text}'")
        operator, negate = self.operator()
        if operator == "IS NULL":
            return _condition(field, operator, None, negate)
        literal = self.literal()
        if (operator == "IN") != isinstance(literal, list):
            raise BadQuery("TQL needs a parenthesised list after IN, and only there")
        return _condition(field, operator, literal, negate)


def parse_tql(text: str, fields: Mapping[str, Field], *, allow_escapes: bool = True) -> Predicate:
    """A predicate for a TQL expression over `fields`; raises BadQuery with the reason."""
    tokens = _tokens(text, allow_escapes)
    if not tokens:
        return lambda item: True
    return _TqlParser(tokens, fields).parse()


# --- sorting --------------------------------------------------------------------------------

_DIRECTIONS = {"asc", "desc", "nullsfirst", "nullslast"}


def parse_sorting(text: str, fields: Mapping[str, Field]) -> Callable[[list[Any]], list[Any]]:
    """A function that orders items as `sorting=<field> <direction> ...` asks; raises BadQuery."""
    lowered = {name.lower(): (name, field) for name, field in fields.items()}
    keys: list[tuple[Field, bool, bool]] = []
    words = text.split()
    index = 0
    while index < len(words):
        found = lowered.get(words[index].lower())
        if found is None:
            raise BadQuery(f"'{words[index]}' cannot be used for sorting")
        index += 1
        descending, nulls_first = False, False
        while index < len(words) and words[index].lower() in _DIRECTIONS:
            modifier = words[index].lower()
            descending = descending or modifier == "desc"
            nulls_first = nulls_first or modifier == "nullsfirst"
            index += 1
        keys.append((found[1], descending, nulls_first))

    def compare(left: Any, right: Any) -> int:
        for field, descending, nulls_first in keys:
            a, b = _normalise(field, field.read(left)), _normalise(field, field.read(right))
            if a == b:
                continue
            if a is None:
                return -1 if nulls_first else 1
            if b is None:
                return 1 if nulls_first else -1
            order = -1 if a < b else 1
            return -order if descending else order
        return 0

    def order(items: list[Any]) -> list[Any]:
        return sorted(items, key=functools.cmp_to_key(compare))

    return order


# --- v2 filters -----------------------------------------------------------------------------

_FILTER = re.compile(r"^\s*([A-Za-z]+)\s*([=<>^])(.*)$", re.DOTALL)
_FILTER_OPERATORS = {"=": "=", "<": "<", ">": ">", "^": "STARTSWITH"}


def parse_filters(text: str, fields: Mapping[str, Field], *, any_of: bool, inclusive: bool = False) -> Predicate:
    """A predicate for v2 `filters=a=b,c<d` (AND, or OR with orParams=true); raises BadQuery.

    `inclusive` reads '<' and '>' as '<=' and '>=' (a deviation the reference server can inject).
    """
    operators = {**_FILTER_OPERATORS, "<": "<=", ">": ">="} if inclusive else _FILTER_OPERATORS
    lowered = {name.lower(): field for name, field in fields.items()}
    parts: list[Predicate] = []
    for clause in (part for part in text.split(",") if part.strip()):
        match = _FILTER.match(clause)
        if match is None:
            raise BadQuery(f"'{clause}' is not a valid filter")
        field = lowered.get(match.group(1).lower())
        if field is None:
            raise BadQuery(f"'{match.group(1)}' is not a filterable field")
        parts.append(_condition(field, operators[match.group(2)], match.group(3), False))
    if not parts:
        return lambda item: True
    if any_of:
        return lambda item: any(p(item) for p in parts)
    return lambda item: all(p(item) for p in parts)
