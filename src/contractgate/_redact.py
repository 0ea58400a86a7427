"""Redaction: no credential, token, cookie or signature leaves the process unmasked."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

__all__ = ["MASK", "Redactor"]

MASK = "REDACTED"  # URL-safe, so a masked link still replays as the same path
# Parts split out of a compound secret (`name:password`), values learned from cookies and the stable core of
# a secret's base64 inside a longer base64 run are masked only from this length on: shorter ones are too
# likely to be ordinary text. A configured credential is masked whatever its length.
_MIN_DERIVED = 6
# A configured secret this short is masked only as a whole word (not inside a longer run of letters and
# digits), so a one-letter password does not turn every word holding that letter into noise.
_WHOLE_WORD_BELOW = 4
_WORD = "0-9A-Za-z"
# Several Set-Cookie headers joined into one value (as `httpx.Headers.items()` does) are split where a new
# `name=` starts after a comma; the comma inside `Expires=Wed, 21 Oct 2026 ...` is not followed by one.
_COOKIE_SPLIT = re.compile(r",\s*(?=[^;,=\s]+=)")


def _encoded(value: str) -> set[str]:
    """The forms a value takes on the wire and in documents: as is, lower case, URL-encoded, base64."""
    raw = value.encode()
    forms = {value, value.lower(), quote(value, safe=""), quote_plus(value), value.replace(" ", "+")}
    forms.add(quote(value.lower(), safe=""))
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(raw).decode()
        forms.update({text, text.rstrip("=")})
    return {form for form in forms if form}


def _base64_cores(value: str) -> set[str]:
    """The base64 characters fixed by `value` alone, at each alignment inside a longer encoded text.

    Base64 of `user:secret` (a Basic header, a token that bundles the key) holds the secret's encoding shifted
    by the length of what precedes it; the characters whose six bits all come from the secret are the same
    whatever the neighbours are.
    """
    raw = value.encode()
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw + b"\0\0").decode()
        first = (offset * 8 + 5) // 6  # the first character with no bit from the prefix
        last = ((offset + len(raw)) * 8) // 6  # the first character with a bit from the suffix
        for encode_alphabet in (encoded, encoded.replace("+", "-").replace("/", "_")):
            cores.add(encode_alphabet[first:last])
    return {core for core in cores if len(core) >= _MIN_DERIVED}


class Redactor:
    """Masks known secret values everywhere, and secret-bearing headers, query keys and JSON fields."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        headers: Iterable[str] = (),
        query: Iterable[str] = (),
        json_fields: Iterable[str] = (),
    ) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._bytes_pattern: re.Pattern[bytes] | None = None
        self.headers = {name.lower() for name in headers}
        self.query = {name.lower() for name in query}
        self.json_fields = {name.lower() for name in json_fields}
        keys = "|".join(re.escape(key) for key in sorted(self.query))
        # `key=value` of a secret query key anywhere in text: a URL in a message, a form body.
        self._query_pattern = re.compile(rf"(?im)((?:^|[?&])(?:{keys})=)[^&#\s\"'<>]*") if keys else None
        for secret in secrets:
            self.learn(secret)

    def learn(self, secret: str, *, derived: bool = False) -> None:
        """Treat `secret` (its encoded forms and significant parts) as secret from now on.

        A configured credential (`derived=False`) is masked whatever its length; a value learned on the way
        (a cookie) is masked only when long enough not to be ordinary text.
        """
        if not secret or (derived and len(secret) < _MIN_DERIVED):
            return
        candidates = _encoded(secret)
        parts = {part for part in re.split(r"[:=;, ]", secret) if len(part) >= 12 and part != secret}
        for part in parts:
            candidates |= _encoded(part)
        for value in {secret, *parts}:
            candidates |= _base64_cores(value)
        self._secrets |= candidates
        self._pattern = None
        self._bytes_pattern = None

    def _alternatives(self) -> list[str]:
        ordered = sorted(self._secrets, key=lambda s: (-len(s), s))
        return [
            f"(?<![{_WORD}]){re.escape(s)}(?![{_WORD}])" if len(s) < _WHOLE_WORD_BELOW else re.escape(s)
            for s in ordered
        ]

    def text(self, value: str) -> str:
        """Mask every known secret value inside free text, and secret query keys of any URL in it."""
        if self._query_pattern is not None:
            value = self._query_pattern.sub(lambda m: m.group(1) + MASK, value)
        if not self._secrets:
            return value
        if self._pattern is None:
            self._pattern = re.compile("|".join(self._alternatives()))
        return self._pattern.sub(MASK, value)

    def raw(self, content: bytes) -> bytes:
        """Mask every known secret value inside bytes that are not text (stored base64-encoded)."""
        if not self._secrets:
            return content
        if self._bytes_pattern is None:
            self._bytes_pattern = re.compile("|".join(self._alternatives()).encode())
        return self._bytes_pattern.sub(MASK.encode(), content)

    def header(self, name: str, value: str) -> str:
        """Mask a header value; keeps an auth scheme word (`TC-Token`, `Bearer`) and cookie names."""
        lowered = name.lower()
        if lowered == "set-cookie":
            return ", ".join(self._set_cookie(one) for one in _COOKIE_SPLIT.split(value))
        if lowered == "cookie":
            return "; ".join(self._cookie_pair(pair) for pair in value.split(";"))
        if lowered in self.headers:
            scheme, space, _ = value.partition(" ")
            return f"{scheme} {MASK}" if space and re.fullmatch(r"[A-Za-z-]{2,16}", scheme) else MASK
        return self.text(value)

    def headers_of(self, items: Iterable[tuple[str, str]], skip: Iterable[str] = ()) -> list[tuple[str, str]]:
        """Every header, repeated ones one by one (pass `httpx.Headers.multi_items()`), masked."""
        left_out = {name.lower() for name in skip}
        return [(name, self.header(name, value)) for name, value in items if name.lower() not in left_out]

    def header_dict(self, items: Iterable[tuple[str, str]], skip: Iterable[str] = ()) -> dict[str, str]:
        """Headers masked one by one, then repeated ones joined with `, ` (a report's or cassette's map)."""
        joined: dict[str, str] = {}
        for name, value in self.headers_of(items, skip):
            joined[name] = f"{joined[name]}, {value}" if name in joined else value
        return joined

    def _set_cookie(self, value: str) -> str:
        pair, semicolon, attributes = value.partition(";")
        return self._cookie_pair(pair) + semicolon + self.text(attributes)

    def _cookie_pair(self, pair: str) -> str:
        key, equals, cookie = pair.strip().partition("=")
        if not equals:
            return self.text(pair.strip())
        if cookie:
            self.learn(cookie, derived=True)
            return f"{key}={MASK}"
        return f"{key}="

    def url(self, url: str) -> str:
        """Mask secret query parameters by name, then known secret values."""
        base, question, query = url.partition("?")
        if question and self.query:
            kept = []
            for raw in query.split("&"):
                key = raw.split("=", 1)[0]
                if parse_qsl(raw) and parse_qsl(raw)[0][0].lower() in self.query:
                    kept.append(f"{key}={MASK}")
                else:
                    kept.append(raw)
            query = "&".join(kept)
        return self.text(base + question + query)

    def body(self, content: bytes) -> str:
        """A body as text with secret JSON fields and known secret values masked."""
        text = content.decode("utf-8", "replace")
        if self.json_fields:
            try:
                document = json.loads(text)
            except ValueError:
                pass
            else:
                text = json.dumps(self._json(document))
        return self.text(text)

    def _json(self, node: Any) -> Any:
        if isinstance(node, dict):
            return {key: MASK if key.lower() in self.json_fields else self._json(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self._json(item) for item in node]
        return node
