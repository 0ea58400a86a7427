"""A live run that fits the vendor's documented limits: declared rates per credential, the quota pre-flight."""

from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import httpx

from ._auth import Credentials, build_auth
from ._contract import AuthOverride, Contract, HeaderScheme, Limit, QuotaRead, RateLimit, Rule
from ._contract import requests_in as _requests_in
from ._errors import CredentialsMissing, SetupError
from ._expect import json_body, resolve
from ._transport import TARGET
from .checks import registry

__all__ = [
    "QuotaShort",
    "Remaining",
    "Spender",
    "check_quotas",
    "declared_rates",
    "lanes",
    "listed_requests",
    "quota_limits",
    "read_remaining",
    "spenders",
    "time_scaled",
]


@dataclass(frozen=True, order=True)
class Spender:
    """Who spends a quota: one credential (its contract name) on one target key (`name` or `name:region`)."""

    target: str
    credential: str

    @property
    def region(self) -> str | None:
        """The region of the target key, if any."""
        return self.target.partition(":")[2] or None

    def __str__(self) -> str:
        return f"credential {self.credential} on {self.target}"


@dataclass(frozen=True)
class Remaining:
    """What the vendor says is left of a credential's quota, and its size."""

    limit: int
    left: int


class QuotaShort(SetupError):
    """The run would spend more of a credential's quota than is left (or than the share the user allows)."""


def declared_rates(contracts: Iterable[Contract]) -> dict[tuple[str, str], tuple[int, float]]:
    """(target name, credential name) -> the strictest declared (requests, seconds), for the transport's pacing."""
    rates: dict[tuple[str, str], tuple[int, float]] = {}
    for contract in contracts:
        for limit in contract.limits:
            if limit.rate is None:
                continue
            declared = (limit.rate.requests, limit.rate.seconds)
            for target in limit.targets:
                for credential in limit.credentials or list(contract.credentials):
                    known = rates.get((target, credential))
                    if known is None or declared[0] / declared[1] < known[0] / known[1]:
                        rates[(target, credential)] = declared
    return rates


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _scheme_credentials(contract: Contract, scheme: str) -> set[str]:
    decl = contract.auth.get(scheme)
    if decl is None:
        return set()
    templates = list(decl.headers.values())
    if not isinstance(decl, HeaderScheme):
        templates += [decl.message, "{" + decl.key + "}"]
    names = {name for template in templates for name in _fields(template)}
    return names & set(contract.credentials)


def spenders(contract: Contract, per_scheme: Mapping[tuple[str, str], int]) -> Counter[Spender]:
    """The plan's requests per (target key, `scheme@region`) as requests per credential on each target key.

    Every credential a scheme signs with spends each of that scheme's requests (a request with a made-up
    literal key is counted too: the count errs on the side of refusing a run that might not fit).
    """
    counts: Counter[Spender] = Counter()
    for (key, label), requests in per_scheme.items():
        for credential in sorted(_scheme_credentials(contract, label.partition("@")[0])):
            counts[Spender(key, credential)] += requests
    return counts


def listed_requests(contract: Contract, rules: Iterable[Rule]) -> Counter[Spender]:
    """The credentials each rule's listed requests use on each target key (which rules share a credential).

    Not a cost: a kind that pages, draws examples or repeats a request until a quota refuses it sends more
    than it lists (the plan counts those). Requests with literal credentials (a made-up key) use none.
    """
    counts: Counter[Spender] = Counter()
    for rule in rules:
        kind = registry.get(rule.kind)
        if kind is None:
            continue
        seen: set[int] = set()
        for spec in _requests_in(kind.parse(rule.params)):
            if id(spec) in seen:  # a kind may hold one request twice (a lone `request` is also its step)
                continue
            seen.add(id(spec))
            reference = spec.auth if spec.auth is not None else contract.defaults.auth
            override = reference if isinstance(reference, AuthOverride) else AuthOverride(scheme=reference)
            name = spec.target or contract.defaults.target
            assert name is not None
            regions = contract.target(name).regions
            region = spec.region or (regions[0] if regions else None)
            key = f"{name}:{region}" if region else name
            for credential in sorted(_scheme_credentials(contract, override.scheme) - set(override.credentials)):
                counts[Spender(key, credential)] += 1
    return counts


def quota_limits(contract: Contract, planned: Mapping[Spender, int]) -> dict[Spender, Limit]:
    """The spenders with planned requests whose quota the vendor lets a client read, with that quota's limit."""
    found: dict[Spender, Limit] = {}
    for spender, count in sorted(planned.items()):
        if count <= 0:
            continue
        for limit in contract.limits_for(spender.target.partition(":")[0], spender.credential):
            if limit.quota is not None and limit.quota.read is not None:
                found[spender] = limit
                break
    return found


def _scheme_for(contract: Contract, credential: str) -> str:
    """The auth scheme that sends exactly this credential (the one a quota of that credential is read with)."""
    exact = [name for name in contract.auth if _scheme_credentials(contract, name) == {credential}]
    wider = [name for name in contract.auth if credential in _scheme_credentials(contract, name)]
    if not exact and not wider:
        raise SetupError(f"{contract.vendor}: no auth scheme sends credential {credential!r}; its quota cannot be read")
    return (exact or wider)[0]


def read_remaining(
    contract: Contract,
    spender: Spender,
    read: QuotaRead,
    *,
    client: httpx.Client,
    bases: Mapping[str, str],
    credentials: Credentials,
) -> Remaining | None:
    """Ask the vendor what is left of one credential's quota (None when that credential is not configured)."""
    spec = read.request
    name = spec.target or spender.target.partition(":")[0]
    region = spec.region or spender.region
    key = f"{name}:{region}" if region else name
    if key not in bases:
        return None
    reference = spec.auth if spec.auth is not None else _scheme_for(contract, spender.credential)
    try:
        auth = build_auth(contract, reference, credentials, region)
    except CredentialsMissing:
        return None
    url = bases[key] + spec.path
    headers = {**contract.defaults.headers, **{k: v for k, v in spec.headers.items() if v is not None}}
    request = client.build_request(spec.method, url, headers=headers, params=spec.query)
    request.extensions[TARGET] = key
    response = client.send(request, auth=auth or httpx.USE_CLIENT_DEFAULT)
    where = f"{spender}: could not read its quota ({spec.method} {spec.path} answered {response.status_code}"
    if not response.is_success:
        raise SetupError(where + "); nothing else was sent")
    document = json_body(response)
    limit = _integer(document, read.limit, where)
    if read.remaining is not None:
        return Remaining(limit, _integer(document, read.remaining, where))
    assert read.used is not None
    return Remaining(limit, limit - _integer(document, read.used, where))


def _integer(document: object, path: str, where: str) -> int:
    found = resolve(document, path)
    value = found[0][1] if found else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise SetupError(f"{where} without an integer at {path}, got {value!r}); nothing else was sent")
    return value


def check_quotas(planned: Mapping[Spender, int], remaining: Mapping[Spender, Remaining], share: float = 1.0) -> None:
    """Refuse the run (one line, the numbers) when a credential would spend more than is left, or than `share` of it."""
    short = []
    for spender, left in sorted(remaining.items()):
        needed = planned.get(spender, 0)
        allowed = math.floor(max(0, left.left) * share)
        if needed > allowed:
            numbers = f"{left.left} of {left.limit} remain, share {share:g} allows {allowed}"
            short.append(f"{spender} needs {needed} requests, {numbers}")
    if short:
        raise QuotaShort("quota: " + "; ".join(short) + "; the run was not started")


Lane = list[Rule]


def lanes(contract: Contract, rules: Iterable[Rule], solo: Callable[[Rule], bool]) -> list[list[Lane]]:
    """Rules in phases of independent lanes: within a phase, lanes share no credential on any target.

    A lane's rules run in contract order; lanes of one phase may run at once, each paced by its own
    credentials. A `solo` rule (one that writes, or one whose examples need the process to itself) is a
    phase of its own, so nothing else runs while it does and the rules after it see what it left.
    """
    phases: list[list[Lane]] = []
    pending: list[Rule] = []

    def close() -> None:
        if pending:
            phases.append(_independent(contract, pending))
            pending.clear()

    for rule in rules:
        if solo(rule):
            close()
            phases.append([[rule]])
        else:
            pending.append(rule)
    close()
    return phases


def _independent(contract: Contract, rules: list[Rule]) -> list[Lane]:
    """Group rules that spend a common credential on a common target key into one lane (union-find)."""
    parent = list(range(len(rules)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    owner: dict[Spender, int] = {}
    for index, rule in enumerate(rules):
        for spender in listed_requests(contract, [rule]):
            if spender in owner:
                parent[root(index)] = root(owner[spender])
            else:
                owner[spender] = index
    grouped: dict[int, Lane] = {}
    for index, rule in enumerate(rules):
        grouped.setdefault(root(index), []).append(rule)
    return list(grouped.values())


def time_scaled(contract: Contract, minute_s: float) -> Contract:
    """The contract with every declared rate's minute lasting `minute_s` seconds (a server's quota time scale)."""
    limits = [
        limit.model_copy(
            update={"rate": RateLimit(requests=limit.rate.requests, seconds=limit.rate.seconds * minute_s / 60)}
        )
        if limit.rate is not None
        else limit
        for limit in contract.limits
    ]
    return contract.model_copy(update={"limits": limits})
