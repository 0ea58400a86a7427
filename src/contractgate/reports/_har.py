"""HAR 1.2 of a run's exchanges, for a browser's developer tools (written with harfile)."""

from __future__ import annotations

import itertools
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import harfile

__all__ = ["HarExchange", "exchanges_of_results", "started_from_date", "write_har"]

_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class HarExchange:
    """One request and its answer as a HAR entry shows them; every value is masked already."""

    rule: str
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_body: str
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    started: datetime
    time_ms: float = 0.0
    base64: bool = False
    note: str = ""


def started_from_date(headers: Iterable[tuple[str, str]], fallback: datetime = _EPOCH) -> datetime:
    """When an answer was given, from its `Date` header: a cassette keeps no clock of its own."""
    for name, value in headers:
        if name.lower() == "date":
            try:
                return parsedate_to_datetime(value)
            except (TypeError, ValueError):
                break
    return fallback


def exchanges_of_results(document: Mapping[str, Any]) -> list[HarExchange]:
    """The exchanges a results.json holds, in the order they were sent (the report's masked excerpts)."""
    clock = datetime.fromisoformat(str(document.get("run", {}).get("started") or _EPOCH.isoformat()))
    found: list[HarExchange] = []
    for rule in document.get("rules", []):
        for sent in rule.get("requests", []):
            headers, body = _curl_parts(str(sent.get("curl", "")))
            elapsed = float(sent.get("elapsed_ms") or 0.0)
            excerpt = str(sent.get("response_excerpt", ""))
            found.append(
                HarExchange(
                    rule=str(rule.get("id", "")),
                    method=str(sent["method"]),
                    url=str(sent["url"]),
                    request_headers=headers,
                    request_body=body,
                    status=int(sent.get("status") or 0),
                    response_headers=[(str(k), str(v)) for k, v in dict(sent.get("response_headers", {})).items()],
                    response_body=excerpt,
                    started=clock,
                    time_ms=elapsed,
                    note="the report's excerpt of the body (first 600 characters)",
                )
            )
            clock += timedelta(milliseconds=elapsed)
    return found


def _curl_parts(curl: str) -> tuple[list[tuple[str, str]], str]:
    """The headers and body of the report's curl line (the report keeps the request in no other form)."""
    try:
        words = shlex.split(curl)
    except ValueError:
        return [], ""
    headers: list[tuple[str, str]] = []
    body = ""
    for flag, value in itertools.pairwise(words):
        if flag == "-H":
            name, _, text = value.partition(":")
            headers.append((name.strip(), text.strip()))
        elif flag == "--data-raw":
            body = value
    return headers, body


def _records(pairs: Iterable[tuple[str, str]]) -> list[harfile.Record]:
    return [harfile.Record(name=name, value=value) for name, value in pairs]


def _header(pairs: Iterable[tuple[str, str]], wanted: str) -> str:
    return next((value for name, value in pairs if name.lower() == wanted), "")


def _entry(har: harfile.HarFile, exchange: HarExchange) -> None:
    query = parse_qsl(urlsplit(exchange.url).query, keep_blank_values=True)
    post = None
    if exchange.request_body:
        post = harfile.PostData(mimeType=_header(exchange.request_headers, "content-type"), text=exchange.request_body)
    request = harfile.Request(
        method=exchange.method,
        url=exchange.url,
        httpVersion="HTTP/1.1",
        headers=_records(exchange.request_headers),
        queryString=_records(query),
        postData=post,
        bodySize=len(exchange.request_body.encode()),
    )
    try:
        reason = HTTPStatus(exchange.status).phrase
    except ValueError:
        reason = ""
    content = harfile.Content(
        size=len(exchange.response_body.encode()),
        mimeType=_header(exchange.response_headers, "content-type") or "x-unknown",
        text=exchange.response_body,
        encoding="base64" if exchange.base64 else None,
        comment=exchange.note or None,
    )
    response = harfile.Response(
        status=exchange.status,
        statusText=reason,
        httpVersion="HTTP/1.1",
        headers=_records(exchange.response_headers),
        content=content,
        redirectURL=_header(exchange.response_headers, "location"),
    )
    har.add_entry(
        startedDateTime=exchange.started,
        time=round(exchange.time_ms, 3),
        request=request,
        response=response,
        timings=harfile.Timings(send=0, wait=round(exchange.time_ms, 3), receive=0),
        cache=harfile.Cache(),
        comment=exchange.rule,
    )


def write_har(exchanges: Iterable[HarExchange], path: Path, version: str) -> int:
    """Write the exchanges as one HAR 1.2 log (each entry's comment names its rule); how many were written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with harfile.open(path, creator=harfile.Creator(name="contractgate", version=version)) as har:
        for exchange in exchanges:
            _entry(har, exchange)
            count += 1
    return count
