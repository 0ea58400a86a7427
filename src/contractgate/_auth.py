"""Credentials and auth schemes: templated headers and HMAC request signing as `httpx.Auth` hooks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import string
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field

import httpx

from ._contract import AuthOverride, Contract, HeaderScheme, HmacScheme, SignOverride
from ._errors import ContractError, CredentialsMissing

__all__ = [
    "AUTH_SHAPE",
    "CREDENTIAL",
    "AuthShape",
    "CredentialId",
    "Credentials",
    "HeaderAuth",
    "HmacAuth",
    "build_auth",
    "env_name",
    "sign_message",
]

Clock = Callable[[], float]
# The request extension under which an auth hook names the credential that signed the request.
CREDENTIAL = "contractgate.credential"
# The request extension under which an auth hook says what it added (for the run-wide cache of reads).
AUTH_SHAPE = "contractgate.auth_shape"
# Fingerprints are keyed by a secret of this process only: equal within a run, meaningless outside it.
_FINGERPRINT_KEY = os.urandom(32)


@dataclass(frozen=True)
class CredentialId:
    """Which credential a request spends: its contract names and a fingerprint of the values sent.

    Two requests with the same secret values share a fingerprint whatever names the contract gives them,
    so a rate or quota that the vendor counts per key is paced once per key, never once per name.
    """

    names: tuple[str, ...]
    fingerprint: str

    @classmethod
    def of(cls, values: Mapping[str, str]) -> CredentialId:
        """The identity of the credential values an auth hook sends (names kept, values fingerprinted)."""
        joined = "\0".join(sorted(values.values())).encode()
        digest = hmac.new(_FINGERPRINT_KEY, joined, hashlib.sha256).hexdigest()[:16]
        return cls(tuple(sorted(values)), digest)


@dataclass(frozen=True)
class AuthShape:
    """What an auth hook added to a request: the headers it set and a digest standing for their meaning.

    Two requests whose shapes share a digest are authenticated alike; `repeatable` is False when the hook
    deviates on purpose (a shifted clock, a fixed timestamp, a signature over something else), whose answer
    may depend on the moment and is never shared.
    """

    headers: frozenset[str]
    digest: str
    repeatable: bool


def _digest(parts: list[str]) -> str:
    return hmac.new(_FINGERPRINT_KEY, "\0".join(parts).encode(), hashlib.sha256).hexdigest()[:16]


def env_name(vendor: str, env: str, region: str | None = None) -> str:
    """The environment variable a credential is read from."""
    name = f"CONTRACTGATE_{vendor.upper()}_{env}"
    return f"{name}_{region.upper()}" if region else name


@dataclass
class Credentials:
    """A vendor's configured credential values, by contract name (and region when per-region)."""

    vendor: str
    values: dict[tuple[str, str | None], str] = field(default_factory=dict)
    secret_names: set[str] = field(default_factory=set)
    env_names: dict[tuple[str, str | None], str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, contract: Contract, environ: Mapping[str, str]) -> Credentials:
        """Read every declared credential from `environ` (missing ones stay missing)."""
        found = cls(contract.vendor)
        regions = sorted({region for target in contract.targets for region in target.regions})
        for name, decl in contract.credentials.items():
            if decl.secret:
                found.secret_names.add(name)
            for region in regions if decl.per_region else [None]:
                variable = env_name(contract.vendor, decl.env, region)
                found.env_names[(name, region)] = variable
                if environ.get(variable):
                    found.values[(name, region)] = environ[variable]
        return found

    def get(self, name: str, region: str | None = None) -> str:
        """One value; a missing one raises CredentialsMissing naming the variable to set."""
        for key in ((name, region), (name, None)):
            if key in self.values:
                return self.values[key]
        variable = self.env_names.get((name, region)) or self.env_names.get((name, None))
        hint = f"set {variable}" if variable else f"declare credential {name!r} in the contract"
        raise CredentialsMissing(f"credential {name!r} is not configured ({hint})", [variable] if variable else [])

    def template_values(self, names: list[str], region: str | None) -> dict[str, str]:
        """The values a template needs."""
        return {name: self.get(name, region) for name in names}

    def secret_values(self) -> list[str]:
        """Every configured value that must never reach disk."""
        return [value for (name, _), value in self.values.items() if name in self.secret_names]

    def public_values(self, region: str | None = None) -> dict[str, str]:
        """Non-secret values, usable as placeholders in expectations (e.g. a user name)."""
        return {
            name: value
            for (name, value_region), value in self.values.items()
            if name not in self.secret_names and value_region in (None, region)
        }


def _fields(template: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


def _cased(headers: dict[str, str], case: str | None) -> dict[str, str]:
    if case == "lower":
        return {name.lower(): value for name, value in headers.items()}
    if case == "upper":
        return {name.upper(): value for name, value in headers.items()}
    return headers


class HeaderAuth(httpx.Auth):
    """Adds fixed headers (a token, an API key) to every request."""

    def __init__(self, headers: Mapping[str, str], identity: CredentialId | None = None) -> None:
        self.headers = dict(headers)
        self.identity = identity

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Set the headers on the final request and name the credential they carry."""
        for name, value in self.headers.items():
            request.headers[name] = value
        if self.identity is not None:
            request.extensions[CREDENTIAL] = self.identity
        request.extensions[AUTH_SHAPE] = self.shape
        yield request

    @property
    def shape(self) -> AuthShape:
        """Fixed headers: the same values always authenticate the same way."""
        pairs = sorted(f"{name.lower()}:{value}" for name, value in self.headers.items())
        return AuthShape(frozenset(name.lower() for name in self.headers), _digest(pairs), repeatable=True)


def sign_message(secret: str, message: str, digest: str = "sha256", encoding: str = "base64") -> str:
    """HMAC of `message` keyed by `secret`, encoded as base64 (padded, standard alphabet) or hex."""
    raw = hmac.new(secret.encode(), message.encode(), getattr(hashlib, digest)).digest()
    return base64.b64encode(raw).decode() if encoding == "base64" else raw.hex()


class HmacAuth(httpx.Auth):
    """Signs the final request (path and query exactly as sent, method, timestamp) with an HMAC."""

    requires_request_body = True

    def __init__(
        self,
        scheme: HmacScheme,
        values: Mapping[str, str],
        *,
        secret_field: str,
        clock: Clock = time.time,
        clock_offset: int = 0,
        timestamp: str | None = None,
        sign: SignOverride | None = None,
        omit: tuple[str, ...] = (),
        header_case: str | None = None,
        align_clock: bool = False,
        identity: CredentialId | None = None,
    ) -> None:
        self.identity = identity
        self.scheme = scheme
        self.values = dict(values)
        self.secret_field = secret_field
        self.clock = clock
        self.clock_offset = clock_offset
        self.timestamp = timestamp
        self.sign = sign
        self.omit = {name.lower() for name in omit}
        self.header_case = header_case
        self.align_clock = align_clock

    def _now(self) -> str:
        if self.timestamp is not None:
            return self.timestamp
        now = self.clock()
        if self.align_clock and now % 1 > 0.7:
            # Keep the whole second from rolling over between signing and the server's reading,
            # so a boundary offset (e.g. 301 s) is not judged as 300 s.
            time.sleep(1.02 - now % 1)
            now = self.clock()
        return str(int(now) + self.clock_offset)

    def resign_note(self) -> str:
        """How to re-sign a request whose signed headers a report shows masked (they expire anyway)."""
        headers = "; ".join(f"{name}: {template}" for name, template in self.scheme.headers.items())
        return (
            f"signed request: re-sign before sending, the masked headers are computed per request ({headers}) "
            f"where signature = {self.scheme.encoding}(HMAC-{self.scheme.digest.upper()}(<{self.secret_field}>, "
            f'"{self.scheme.message}")) and timestamp is the current Unix time in seconds'
        )

    def message(self, request: httpx.Request, timestamp: str) -> str:
        """The string to sign for this request."""
        target = request.url.raw_path.decode("ascii")
        path, _, query = target.partition("?")
        method = request.method
        if self.sign is not None:
            path = self.sign.path if self.sign.path is not None else path
            query = self.sign.query if self.sign.query is not None else query
            method = self.sign.method if self.sign.method is not None else method
        path_query = f"{path}?{query}" if query else path
        body_sha256 = hashlib.sha256(request.content).hexdigest()
        return self.scheme.message.format(
            path=path,
            query=query,
            path_query=path_query,
            method=method,
            timestamp=timestamp,
            body_sha256=body_sha256,
            **self.values,
        )

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Compute the signature over the final request and set the scheme's headers."""
        timestamp = self._now()
        signature = sign_message(
            self.values[self.secret_field],
            self.message(request, timestamp),
            self.scheme.digest,
            self.scheme.encoding,
        )
        context = {**self.values, "timestamp": timestamp, "signature": signature}
        headers = {
            name: template.format(**context)
            for name, template in self.scheme.headers.items()
            if name.lower() not in self.omit
        }
        for name, value in _cased(headers, self.header_case).items():
            request.headers[name] = value
        if self.identity is not None:
            request.extensions[CREDENTIAL] = self.identity
        request.extensions[AUTH_SHAPE] = AuthShape(
            frozenset(name.lower() for name in headers), _digest(sorted(self.values.values())), self.plain
        )
        yield request

    @property
    def plain(self) -> bool:
        """Whether this hook signs as the scheme says, now, with nothing changed on purpose."""
        deviations = (self.timestamp, self.sign, self.header_case)
        return self.clock_offset == 0 and all(value is None for value in deviations) and not self.omit


def build_auth(
    contract: Contract,
    reference: str | AuthOverride | None,
    credentials: Credentials,
    region: str | None,
    clock: Clock = time.time,
) -> httpx.Auth | None:
    """The httpx auth for a request's `auth` field (None means the contract default)."""
    if reference is None:
        reference = contract.defaults.auth
    override = reference if isinstance(reference, AuthOverride) else AuthOverride(scheme=reference)
    if override.scheme == "none":
        return None
    scheme = contract.auth.get(override.scheme)
    if scheme is None:
        raise ContractError(f"{contract.vendor}: auth scheme {override.scheme!r} is not declared")
    cred_region = override.region or region
    if isinstance(scheme, HeaderScheme):
        return _header_auth(scheme, override, credentials, cred_region)
    return _hmac_auth(scheme, override, credentials, cred_region, clock)


def _values_for(
    templates: list[str], override: AuthOverride, credentials: Credentials, region: str | None
) -> dict[str, str]:
    reserved = {"timestamp", "signature", "path", "query", "path_query", "method", "body_sha256"}
    names = sorted({name for template in templates for name in _fields(template)} - reserved)
    values = {name: override.credentials[name] for name in names if name in override.credentials}
    values.update(credentials.template_values([n for n in names if n not in values], region))
    return values


def _header_auth(
    scheme: HeaderScheme, override: AuthOverride, credentials: Credentials, region: str | None
) -> HeaderAuth:
    templates = dict(scheme.headers)
    if override.prefix is not None:
        templates = {
            name: override.prefix + template[template.index("{") :] if "{" in template else template
            for name, template in templates.items()
        }
    values = _values_for(list(templates.values()), override, credentials, region)
    omit = {name.lower() for name in override.omit}
    headers = {name: template.format(**values) for name, template in templates.items() if name.lower() not in omit}
    return HeaderAuth(_cased(headers, override.header_case), CredentialId.of(values))


def _hmac_auth(
    scheme: HmacScheme,
    override: AuthOverride,
    credentials: Credentials,
    region: str | None,
    clock: Clock,
) -> HmacAuth:
    templates = [scheme.message, *scheme.headers.values()]
    values = _values_for(templates, override, credentials, region)
    values[scheme.key] = override.credentials.get(scheme.key) or credentials.get(scheme.key, region)
    return HmacAuth(
        scheme,
        values,
        secret_field=scheme.key,
        clock=clock,
        clock_offset=override.clock_offset or 0,
        timestamp=override.timestamp,
        sign=override.sign,
        omit=tuple(override.omit),
        header_case=override.header_case,
        align_clock=override.clock_offset is not None,
        identity=CredentialId.of(values),
    )
