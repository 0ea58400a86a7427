"""The context a check runs in: it turns request specs into sent requests and records every exchange."""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import os
import shlex
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, example, given, settings
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.strategies import SearchStrategy

from ._auth import Clock, Credentials, HmacAuth, build_auth
from ._contract import AuthOverride, Contract, Expect, RequestSpec, Rule, Step
from ._errors import SetupError, SkipRule, Violation
from ._expect import check_expect, json_body, resolve, substitute
from ._outcome import Exchange
from ._redact import Redactor
from ._transport import PACED, RETRY_429, SAFE, TARGET, safe_mark

__all__ = ["CheckContext", "Targets", "curl_line", "encode_query", "target_key"]

ClientFactory = Callable[[], httpx.Client]


def target_key(name: str, region: str | None) -> str:
    """The key of one base URL: `name` or `name:region`."""
    return f"{name}:{region}" if region else name


@dataclass
class Targets:
    """The base URL of every target (and region) a contract's rules may reach."""

    bases: dict[str, str] = field(default_factory=dict)

    def base(self, contract: Contract, name: str, region: str | None) -> tuple[str, str]:
        """(key, base URL) for a target and region; the first region when none is named."""
        decl = contract.target(name)
        if decl.regions:
            region = region or decl.regions[0]
            if region not in decl.regions:
                raise SetupError(f"target {name!r} has no region {region!r} (regions: {decl.regions})")
        else:
            region = None
        key = target_key(name, region)
        if key not in self.bases:
            option = f"--target {key}=URL"
            raise SkipRule(f"target {key} is not configured (pass {option})", cause="target", needs=[option])
        return key, self.bases[key]


def encode_query(query: Mapping[str, Any]) -> str:
    """A query string with spaces as %20 and list values repeated."""
    parts = []
    for key, value in query.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = str(item).lower() if isinstance(item, bool) else str(item)
            parts.append(f"{quote(str(key), safe='')}={quote(text, safe='')}")
    return "&".join(parts)


def curl_line(request: httpx.Request, redactor: Redactor) -> str:
    """The request as a curl command, secrets masked."""
    words = ["curl", "-X", request.method, shlex.quote(redactor.url(str(request.url)))]
    skip = {"host", "user-agent", "accept-encoding", "connection", "content-length"}
    for name, value in redactor.headers_of(request.headers.multi_items(), skip):
        words += ["-H", shlex.quote(f"{name}: {value}")]
    if request.content:
        words += ["--data-raw", shlex.quote(redactor.body(request.content)[:2000])]  # masked first, then cut
    return " ".join(words)


@functools.cache
def keep_hypothesis_files_out_of_cwd() -> None:
    """Point hypothesis's files at a private directory, removed at exit, unless the user chose one.

    Even with no example database hypothesis writes `.hypothesis/` into the working directory: its cache
    of the string constants of local modules holds whatever credential literals those modules carry.
    """
    if os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        return
    private = Path(tempfile.mkdtemp(prefix="contractgate-hypothesis-"))
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    shared = unicode_cache()
    _copy_tree(shared, private / UNICODE_DATA)
    atexit.register(_copy_tree, private / UNICODE_DATA, shared)  # runs before the removal (last in, first out)
    set_hypothesis_home_dir(str(private))


# Hypothesis's tables of Unicode (categories, the characters of a codec) are derived from the interpreter's
# `unicodedata` alone and take seconds to build (3 s for the utf-8 codec here), which every process paid again in
# its private directory: they, and only they, are kept between runs.
UNICODE_DATA = "unicode_data"


def unicode_cache() -> Path:
    """Where hypothesis's Unicode tables are kept between runs: the user's cache folder (XDG_CACHE_HOME)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "contractgate" / "hypothesis-unicode-data"


def _copy_tree(source: Path, destination: Path) -> None:
    """Copy the files missing at `destination` (each written beside and renamed: processes share the cache)."""
    try:
        for file in source.rglob("*.json.gz"):
            target = destination / file.relative_to(source)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = target.with_name(f".{target.name}.{os.getpid()}")
            shutil.copyfile(file, staging)
            staging.replace(target)
    except OSError:
        pass  # a cache: without it, hypothesis builds the tables again


class CheckContext:
    """Everything one rule's check needs: send requests, evaluate expectations, draw examples."""

    def __init__(
        self,
        contract: Contract,
        rule: Rule,
        *,
        mode: str,
        targets: Targets,
        credentials: Credentials,
        client_factory: ClientFactory,
        redactor: Redactor,
        variables: Mapping[str, Any] | None = None,
        clock: Clock = time.time,
        observer: Callable[[Exchange], None] | None = None,
    ) -> None:
        self.contract = contract
        self.rule = rule
        self.mode = mode
        self.targets = targets
        self.credentials = credentials
        self.redactor = redactor
        self.clock = clock
        self.variables: dict[str, Any] = dict(variables or {})
        self.exchanges: list[Exchange] = []
        self.drawn_examples: list[list[Any]] = []
        self.replay_examples: list[list[Any]] = []
        self._client_factory = client_factory
        self._observer = observer
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        """The HTTP client, created on first use."""
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def close(self) -> None:
        """Release the client."""
        if self._client is not None:
            self._client.close()

    # --- requests ---------------------------------------------------------------------------

    def build(self, spec: RequestSpec) -> tuple[httpx.Request, httpx.Auth | None]:
        """Turn a request spec into an httpx request and its auth (not sent yet)."""
        name = spec.target or self.contract.defaults.target
        assert name is not None
        region = spec.region
        key, base = self.targets.base(self.contract, name, region)
        region = key.partition(":")[2] or None
        path = substitute(spec.path, self.variables)
        url = base + path
        if spec.raw_query is not None:
            url += "?" + substitute(spec.raw_query, self.variables)
        elif spec.query:
            url += "?" + encode_query(substitute(spec.query, self.variables))
        return self._request(spec, url, key), self.auth_for(spec.auth, region)

    def request_variables(self, region: str | None) -> dict[str, Any]:
        """Placeholders for requests: every credential (secrets too; redaction masks them) and saved values."""
        values = {
            name: value
            for (name, value_region), value in self.credentials.values.items()
            if value_region in (None, region)
        }
        return {**values, **self.variables}

    def _request(self, spec: RequestSpec, url: str, key: str) -> httpx.Request:
        variables = self.request_variables(key.partition(":")[2] or None)
        headers: dict[str, str | None] = {**self.contract.defaults.headers, **spec.headers}
        kwargs: dict[str, Any] = {}
        if spec.json_body is not None:
            kwargs["json"] = substitute(spec.json_body, variables)
        if spec.content is not None:
            kwargs["content"] = substitute(spec.content, variables).encode()
        if spec.form is not None:
            kwargs["data"] = substitute(spec.form, variables)
        if spec.files is not None:
            kwargs["files"] = {
                part: (
                    file.filename,
                    substitute(file.content, variables).encode(),
                    file.content_type,
                )
                for part, file in spec.files.items()
            }
        request = self.client.build_request(
            spec.method,
            url,
            headers={k: substitute(v, variables) for k, v in headers.items() if v is not None},
            extensions={RETRY_429: spec.retry_on_429, PACED: spec.paced, TARGET: key},
            **kwargs,
        )
        request.read()  # multipart bodies stream; the recorder and the curl line need the bytes
        for name, value in headers.items():
            if value is None and name in request.headers:
                del request.headers[name]
        if spec.safe is not None:
            request.extensions[SAFE] = safe_mark(request)
        return request

    def send(self, spec: RequestSpec) -> httpx.Response:
        """Build, authenticate, send and record one request."""
        request, auth = self.build(spec)
        return self.dispatch(request, auth, follow_redirects=spec.follow_redirects)

    def send_url(
        self,
        url: str,
        *,
        method: str = "GET",
        auth: str | AuthOverride | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send to an absolute URL that must belong to a configured target (e.g. a `next` link)."""
        from ._transport import locate

        try:
            key, _ = locate(url, None, self.targets.bases)
        except SetupError:
            raise Violation(
                "a link points outside the target it came from",
                expected="an absolute URL under one of " + ", ".join(sorted(self.targets.bases.values())),
                got=url,
                where="link",
            ) from None
        region = key.partition(":")[2] or None
        request = self.raw_request(method, url, key, headers=headers)
        return self.dispatch(request, self.auth_for(auth, region))

    def raw_request(
        self, method: str, url: str, key: str, *, headers: Mapping[str, str] | None = None, **body: Any
    ) -> httpx.Request:
        """A request to an absolute URL of target `key`, with the contract's default headers (not sent yet)."""
        merged = {**self.contract.defaults.headers, **(headers or {})}
        request = self.client.build_request(
            method, url, headers=merged, extensions={RETRY_429: True, TARGET: key}, **body
        )
        request.read()
        return request

    def auth_for(self, reference: str | AuthOverride | None, region: str | None) -> httpx.Auth | None:
        """The auth a request names (None: the contract default), bound to a region's credentials."""
        return build_auth(self.contract, reference, self.credentials, region, self.clock)

    def dispatch(
        self, request: httpx.Request, auth: httpx.Auth | None, *, follow_redirects: bool = False
    ) -> httpx.Response:
        """Send a built request and record the exchange."""
        started = time.perf_counter()
        response = self.client.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT, follow_redirects=follow_redirects)
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if not hasattr(response, "_elapsed"):  # a body the recorder read already never sets it
            response.elapsed = dt.timedelta(milliseconds=elapsed)
        sent = response.request
        self.exchanges.append(
            Exchange(
                method=sent.method,
                url=self.redactor.url(str(sent.url)),
                curl=curl_line(sent, self.redactor),
                status=response.status_code,
                elapsed_ms=elapsed,
                response_headers=self.redactor.header_dict(response.headers.multi_items()),
                response_excerpt=self.redactor.body(response.content)[:600],  # masked first, then cut
                signing=auth.resign_note() if isinstance(auth, HmacAuth) else "",
            )
        )
        if self._observer is not None:
            self._observer(self.exchanges[-1])
        return response

    # --- expectations -----------------------------------------------------------------------

    def expect(self, response: httpx.Response, expect: Expect | None, context: str = "") -> None:
        """Raise a Violation (naming the request) when the response breaks `expect`."""
        if expect is None:
            return
        try:
            check_expect(response, expect, self.expectation_variables())
        except Violation as violation:
            if context:
                violation.message = f"{context}: {violation.message}"
            raise

    def expectation_variables(self) -> dict[str, Any]:
        """Saved variables plus non-secret credentials, for placeholders in expectations."""
        return {**self.credentials.public_values(), **self.variables}

    def run_step(self, step: Step, context: str = "") -> httpx.Response:
        """Send a step's request, check its expectations, save its variables."""
        response = self.send(step.request)
        self.expect(response, step.expect, context)
        self.save(response, step.save)
        self.save_from_headers(response, step.save_headers, step.save_cookies)
        return response

    def save(self, response: httpx.Response, saves: Mapping[str, str]) -> None:
        """Remember values from a JSON response under names for later steps."""
        if not saves:
            return
        document = json_body(response)
        for name, path in saves.items():
            found = resolve(document, path)
            if not found:
                raise Violation(
                    "a value the rule needs is missing",
                    expected=f"a value at {path}",
                    got=None,
                    where=f"json {path}",
                )
            self.variables[name] = found[0][1]

    def save_from_headers(
        self, response: httpx.Response, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> None:
        """Remember response header values and cookies the server set, under names for later steps."""
        found = [(name, response.headers.get(header), f"header {header}") for name, header in headers.items()]
        found += [(name, response.cookies.get(cookie), f"cookie {cookie}") for name, cookie in cookies.items()]
        for name, value, where in found:
            if not value:
                raise Violation("a value the rule needs is missing", expected=f"a {where}", got=None, where=where)
            self.variables[name] = value

    # --- property-based checks --------------------------------------------------------------

    def run_property(
        self, strategy: SearchStrategy[Any], boundaries: list[Any], body: Callable[[Any], None], examples: int
    ) -> None:
        """Run `body` on the boundaries plus drawn examples; replay re-runs exactly the recorded draws."""
        if examples <= 0 and self.mode != "replay":  # a budget's minimal form: the boundaries alone
            self.run_examples(list(boundaries), body)
            return
        if self.mode == "replay":
            if not self.replay_examples:
                raise SetupError("the cassette holds no drawn examples for this property; re-record it")
            for value in self.replay_examples.pop(0):
                body(tuple(value) if isinstance(value, list) else value)
            return
        drawn: list[Any] = []
        self.drawn_examples.append(drawn)

        def attempt(value: Any) -> None:
            drawn.append(value)
            body(value)

        keep_hypothesis_files_out_of_cwd()
        prop = given(strategy)(attempt)
        for value in reversed(boundaries):
            prop = example(value)(prop)
        configured = self.hypothesis_settings(examples)
        settings(configured, verbosity=Verbosity.quiet)(prop)()

    def run_examples(self, values: list[Any], body: Callable[[Any], None]) -> None:
        """Run `body` on a fixed list of cases; recorded and replayed like a property's draws."""
        if self.mode == "replay":
            if not self.replay_examples:
                raise SetupError("the cassette holds no examples for this list of cases; re-record it")
            values = self.replay_examples.pop(0)
        else:
            self.drawn_examples.append(list(values))
        for value in values:
            body(tuple(value) if isinstance(value, list) else value)

    def hypothesis_settings(self, examples: int) -> settings:
        """Settings for a rule's property: derandomized for CI, replay and record (cassettes must line up)."""
        deterministic = self.mode in {"replay", "record"} or os.environ.get("CI") == "true"
        phases = [Phase.explicit, Phase.generate]
        if self.mode == "live":
            phases.append(Phase.shrink)
        return settings(
            max_examples=examples,
            derandomize=deterministic,
            database=None,
            deadline=None,
            phases=phases,
            suppress_health_check=list(HealthCheck),
            print_blob=False,
            report_multiple_bugs=False,
        )
