"""The line of every key and table of a TOML document (tomllib keeps no positions), for file:line errors."""

from __future__ import annotations

import re

__all__ = ["Loc", "key_lines"]

Loc = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def key_lines(text: str) -> dict[Loc, int]:
    """Map each table header, array-of-tables entry and key to its 1-based line.

    Keys inside inline tables and values that span lines (arrays, multi-line strings) are not keys of their
    own line: the scanner tracks strings, brackets and comments so that their contents never look like keys.
    """
    lines: dict[Loc, int] = {}
    counts: dict[Loc, int] = {}
    table: Loc = ()
    state = _State()
    for number, line in enumerate(text.splitlines(), start=1):
        if state.depth == 0 and state.string is None:
            stripped = line.lstrip()
            if stripped.startswith("[["):
                name, rest = _dotted(stripped[2:])
                index = counts.get(name, 0)
                counts[name] = index + 1
                table = (*name, index)
                _prefixes(lines, name, number)
                lines[table] = number
                state.scan(rest.partition("]]")[2])
                continue
            if stripped.startswith("["):
                name, rest = _dotted(stripped[1:])
                table = name
                _prefixes(lines, name, number)
                state.scan(rest.partition("]")[2])
                continue
            if stripped and not stripped.startswith("#"):
                name, rest = _dotted(stripped)
                if name and rest.startswith("="):
                    _prefixes(lines, (*table, *name), number, keep=len(table))
                    state.scan(rest[1:])
                    continue
        state.scan(line)
    return lines


def _prefixes(lines: dict[Loc, int], name: Loc, number: int, keep: int = 0) -> None:
    """A table or dotted key also locates the tables it implies (their first mention)."""
    for end in range(max(keep, 0) + 1, len(name) + 1):
        lines.setdefault(name[:end], number)


def _dotted(text: str) -> tuple[Loc, str]:
    """A dotted key (bare or quoted parts) at the start of `text`, and what follows it (stripped)."""
    parts: list[str | int] = []
    rest = text.lstrip()
    while rest:
        if rest[0] in "\"'":
            quote = rest[0]
            end = 1
            while end < len(rest) and rest[end] != quote:
                end += 2 if quote == '"' and rest[end] == "\\" else 1
            parts.append(rest[1:end])
            rest = rest[end + 1 :].lstrip()
        else:
            match = _BARE.match(rest)
            if not match:
                break
            parts.append(match.group())
            rest = rest[match.end() :].lstrip()
        if not rest.startswith("."):
            break
        rest = rest[1:].lstrip()
    return tuple(parts), rest


class _State:
    """Whether the scanner is inside a multi-line string or an open array / inline table."""

    def __init__(self) -> None:
        self.string: str | None = None  # the open multi-line delimiter
        self.depth = 0

    def scan(self, text: str) -> None:
        """Advance over one line (or the rest of one)."""
        index = 0
        while index < len(text):
            if self.string is not None:
                end = text.find(self.string, index)
                if end < 0:
                    return
                index = end + 3
                self.string = None
                continue
            char = text[index]
            if char == "#":
                return
            if text.startswith(('"""', "'''"), index):
                self.string = text[index : index + 3]
                index += 3
            elif char in "\"'":
                index = _string_end(text, index)
            elif char in "[{":
                self.depth += 1
                index += 1
            elif char in "]}":
                self.depth = max(0, self.depth - 1)
                index += 1
            else:
                index += 1


def _string_end(text: str, start: int) -> int:
    quote, index = text[start], start + 1
    while index < len(text) and text[index] != quote:
        index += 2 if quote == '"' and text[index] == "\\" else 1
    return index + 1
