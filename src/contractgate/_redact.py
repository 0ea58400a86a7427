"""Redaction: no credential, token, cookie or signature leaves the process unmasked."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote

__all__ = ["MASK", "Redactor"]

MASK = "REDACTED"  # URL-safe, so a masked link still replays as the same path
_MIN_SECRET = 6


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
        self.headers = {name.lower() for name in headers}
        self.query = {name.lower() for name in query}
        self.json_fields = {name.lower() for name in json_fields}
        for secret in secrets:
            self.learn(secret)

    def learn(self, secret: str) -> None:
        """Treat `secret` (and its encoded forms and significant parts) as secret from now on."""
        candidates = {secret, quote(secret, safe=""), secret.replace(" ", "+")}
        candidates.update(part for part in re.split(r"[:=;, ]", secret) if len(part) >= 12)
        self._secrets.update(c for c in candidates if len(c) >= _MIN_SECRET)
        self._pattern: re.Pattern[str] | None = None

    def text(self, value: str) -> str:
        """Mask every known secret value inside free text."""
        if not self._secrets:
            return value
        if getattr(self, "_pattern", None) is None:
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        assert self._pattern is not None
        return self._pattern.sub(MASK, value)

    def header(self, name: str, value: str) -> str:
        """Mask a header value; keeps an auth scheme word (`TC-Token`, `Bearer`) and cookie names."""
        lowered = name.lower()
        if lowered in {"set-cookie", "cookie"}:
            return self._cookies(value, lowered == "set-cookie")
        if lowered in self.headers:
            scheme, space, _ = value.partition(" ")
            return f"{scheme} {MASK}" if space and re.fullmatch(r"[A-Za-z-]{2,16}", scheme) else MASK
        return self.text(value)

    def _cookies(self, value: str, is_set_cookie: bool) -> str:
        parts = value.split(";")
        pairs = parts[:1] if is_set_cookie else parts
        masked = []
        for pair in pairs:
            key, equals, cookie = pair.strip().partition("=")
            if equals and cookie:
                self.learn(cookie)
                masked.append(f"{key}={MASK}")
            else:
                masked.append(pair.strip())
        rest = [p.strip() for p in parts[1:]] if is_set_cookie else []
        return "; ".join(masked + rest)

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
