"""Authentication as documented: `TC-Token <token>`, or HMAC-SHA256 over the request as received."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from .._base import FaultSwitch

__all__ = [
    "ACCESS_DENIED",
    "INVALID_TIMESTAMP",
    "SIGNATURE_MISMATCH",
    "TIMESTAMP_RANGE",
    "UNAUTHORIZED",
    "WINDOW_SECONDS",
    "Denial",
    "Gate",
    "Received",
    "signature",
    "string_to_sign",
]

WINDOW_SECONDS = 300
SIGNATURE_MISMATCH = "Signature data did not match expected result"
TIMESTAMP_RANGE = "Timestamp out of acceptable time range"
INVALID_TIMESTAMP = "Invalid timestamp"
ACCESS_DENIED = "Access Denied"
UNAUTHORIZED = "Unauthorized"

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
_DIGITS = re.compile(r"[0-9]+")


def _same(left: str, right: str) -> bool:
    """Constant-time equality of two texts (any characters)."""
    return hmac.compare_digest(left.encode(), right.encode())


def string_to_sign(path: str, query: str, method: str, timestamp: str) -> str:
    """`<path>[?<query>]:<METHOD>:<Timestamp>`, with no '?' when the query is empty."""
    target = f"{path}?{query}" if query else path
    return f"{target}:{method}:{timestamp}"


def signature(secret: str, message: str) -> str:
    """Base64 (standard, padded) of HMAC-SHA256 keyed by the secret."""
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass(frozen=True)
class Denial:
    """Why a request is refused: the HTTP status and the message of the error body."""

    status: int
    message: str


@dataclass(frozen=True)
class Received:
    """The parts of a request that authentication looks at, exactly as they arrived."""

    method: str
    raw_path: str
    query: str
    authorization: str | None
    timestamp: str | None
    mount: str
    version: str


class Gate:
    """Decides whether a request is authenticated; faults are read on every call."""

    def __init__(
        self,
        credentials: Mapping[str, str],
        switch: FaultSwitch,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials
        self.switch = switch
        self.clock = clock

    def check(self, request: Received) -> Denial | None:
        """None when the request may proceed, else the documented refusal."""
        header = (request.authorization or "").strip()
        if not header:
            return Denial(401 if self.switch.on("no-credentials-401") else 403, ACCESS_DENIED)
        if header.startswith("TC-Token "):
            return self._token(header.removeprefix("TC-Token ").strip(), request)
        if header.startswith("TC "):
            return self._hmac(header.removeprefix("TC ").strip(), request)
        return Denial(401, ACCESS_DENIED)

    def _token(self, token: str, request: Received) -> Denial | None:
        if request.version == "v2" and self.switch.on("token-refused-on-v2"):
            return Denial(401, UNAUTHORIZED)
        valid = self.credentials.get("API_TOKEN")
        expired = self.credentials.get("EXPIRED_API_TOKEN")
        if valid and _same(token, valid):
            return None
        if expired and _same(token, expired):
            accepted = self.switch.on("expired-token-accepted") or (
                request.version == "v3" and self.switch.on("expired-token-accepted-on-v3")
            )
            return None if accepted else Denial(401, UNAUTHORIZED)
        return Denial(401, UNAUTHORIZED)

    def _hmac(self, credential: str, request: Received) -> Denial | None:
        if request.raw_path.startswith(f"{request.mount}/v3/indicators") and self.switch.on("hmac-refused-on-v3"):
            return Denial(401, UNAUTHORIZED)
        stamp = (request.timestamp or "").strip()
        v3 = request.version == "v3"
        if not _DIGITS.fullmatch(stamp):
            as_skew = self._on("unparseable-timestamp-as-skew", v3)
            return Denial(401, TIMESTAMP_RANGE if as_skew else INVALID_TIMESTAMP)
        if not self._in_window(int(stamp), request.version):
            return Denial(401, TIMESTAMP_RANGE)
        access_id, colon, sent = credential.partition(":")
        if not colon or access_id != self.credentials.get("ACCESS_ID"):
            wrong_message = self._on("unknown-access-id-wrong-message", v3)
            return Denial(401, SIGNATURE_MISMATCH if wrong_message else ACCESS_DENIED)
        if self.switch.on("signature-not-checked") or self._signed(request, stamp, sent):
            return None
        v3_403 = v3 and self.switch.on("v3-signature-error-403")
        return Denial(403 if self.switch.on("signature-error-403") or v3_403 else 401, SIGNATURE_MISMATCH)

    def _on(self, fault: str, v3: bool) -> bool:
        """Whether `fault` is active, or its v3-only twin (`<fault>-v3`) on a v3 request."""
        return self.switch.on(fault) or (v3 and self.switch.on(f"{fault}-v3"))

    def _in_window(self, stamp: int, version: str) -> bool:
        skew = int(self.clock()) - stamp
        ten_minutes = self.switch.on("hmac-window-10min") or (
            version == "v3" and self.switch.on("hmac-window-10min-v3")
        )
        window = 600 if ten_minutes else WINDOW_SECONDS
        if self.switch.on("hmac-window-past-only"):
            return skew <= window
        return abs(skew) <= window

    def _signed(self, request: Received, stamp: str, sent: str) -> bool:
        secret = self.credentials.get("SECRET_KEY", "")
        methods = _METHODS if self._on("method-not-signed", request.version == "v3") else (request.method,)
        for path, query in self._targets(request):
            for method in methods:
                expected = signature(secret, string_to_sign(path, query, method, stamp))
                if _same(expected, sent):
                    return True
        return False

    def _targets(self, request: Received) -> list[tuple[str, str]]:
        """The (path, query) pairs a signature may cover: the request-target as received."""
        path, query = request.raw_path, request.query
        v3 = request.version == "v3"
        if self.switch.on("plus-encoding-rejected"):
            query = "&".join(
                f"{quote(key, safe='')}={quote(value, safe='')}"
                for key, value in parse_qsl(query, keep_blank_values=True)
            )
        if v3 and self.switch.on("v3-query-not-signed"):
            query = ""
        targets = [(path, query)]
        if self._on("sign-normalised-path", v3) and path.startswith(request.mount + "/"):
            targets.append((path.removeprefix(request.mount), query))
        if self._on("empty-query-mark-accepted", v3) and not query:
            targets.append((path + "?", ""))
        if self.switch.on("query-encoding-normalised") and query:
            targets.append((path, query.replace("+", "%20")))
            targets.append((path, query.replace("%20", "+")))
        return targets
