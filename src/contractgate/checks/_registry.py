"""The registry of check kinds: a kind is a params model and one function."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .._contract import AuthOverride, Contract, RequestSpec, Rule, safe_marks_in
from .._session import CheckContext, target_key

__all__ = ["Cost", "CostContext", "Kind", "Params", "Registry", "registry"]


class Params(BaseModel):
    """Base of every kind's parameters: unknown keys are errors and types are not coerced."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


P = TypeVar("P", bound=Params)
CheckFunction = Callable[[CheckContext, P], None]


@dataclass
class Cost:
    """The requests a rule sends in one configuration, per (target key, credential), known before sending.

    `exact` is False when the count depends on answers the rule cannot know beforehand (a quota's remaining
    points, the references a listing holds): the figure is then the most the rule can send.
    """

    requests: Counter[tuple[str, str]] = field(default_factory=Counter)
    exact: bool = True

    @property
    def total(self) -> int:
        """Every request of the rule."""
        return sum(self.requests.values())


class CostContext:
    """What a cost function may look at: the contract and the rule, never a transport."""

    def __init__(self, contract: Contract, rule: Rule) -> None:
        self.contract = contract
        self.rule = rule

    def key(self, spec: RequestSpec | None = None, *, target: str | None = None, region: str | None = None) -> str:
        """The target key a request goes to (the target's first region when it names none)."""
        name = target or (spec.target if spec is not None else None) or self.contract.defaults.target or ""
        regions = self.contract.target(name).regions
        wanted = region or (spec.region if spec is not None else None)
        return target_key(name, (wanted or regions[0]) if regions else None)

    def credential(self, auth: str | AuthOverride | None, key: str) -> str:
        """The credential a request is signed with: its auth scheme, and the region of that scheme's key."""
        scheme = auth.scheme if isinstance(auth, AuthOverride) else auth or self.contract.defaults.auth
        region = auth.region if isinstance(auth, AuthOverride) and auth.region else key.partition(":")[2]
        return f"{scheme}@{region}" if region else scheme

    def add(self, cost: Cost, spec: RequestSpec, count: int = 1) -> None:
        """Count `count` sends of a request spec."""
        key = self.key(spec)
        cost.requests[(key, self.credential(spec.auth, key))] += count


CostFunction = Callable[[CostContext, P], Cost]


@dataclass(frozen=True)
class Kind(Generic[P]):
    """A registered check kind."""

    name: str
    params: type[P]
    run: CheckFunction[P]
    doc: str
    cost: CostFunction[P]

    def parse(self, raw: dict[str, Any]) -> P:
        """Validate a rule's params (raises pydantic.ValidationError)."""
        return self.params.model_validate(raw)

    def cross_check(self, contract: Contract, rule: Rule) -> list[str]:
        """Problems with names the params use that the contract does not declare."""
        problems = []
        targets = {target.name: target for target in contract.targets}
        for spec in _requests_in(self.parse(rule.params)):
            if spec.target is not None and spec.target not in targets:
                problems.append(f"request target {spec.target!r} is not a declared target")
            scheme = spec.auth.scheme if isinstance(spec.auth, AuthOverride) else spec.auth
            if scheme not in (None, "none") and scheme not in contract.auth:
                problems.append(f"auth scheme {scheme!r} is not declared")
            target = targets.get(spec.target or contract.defaults.target or "")
            if spec.region is not None and target is not None and spec.region not in target.regions:
                problems.append(f"region {spec.region!r} is not a region of target {target.name!r}")
        for name in _scheme_names(self.parse(rule.params)):
            if name not in contract.auth:
                problems.append(f"auth scheme {name!r} is not declared")
        problems.extend(
            f"safe.doc {mark.doc!r} is not in sources"
            for mark in safe_marks_in(self.parse(rule.params))
            if mark.doc not in contract.sources
        )
        return problems


def _requests_in(node: Any) -> Iterator[RequestSpec]:
    if isinstance(node, RequestSpec):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _requests_in(getattr(node, name))
    elif isinstance(node, list | tuple):
        for item in node:
            yield from _requests_in(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _requests_in(item)


def _scheme_names(params: BaseModel) -> list[str]:
    value = getattr(params, "scheme", None)
    return [value] if isinstance(value, str) else []


class Registry:
    """Kinds by name."""

    def __init__(self) -> None:
        self._kinds: dict[str, Kind[Any]] = {}

    def register(
        self, name: str, params: type[P], cost: CostFunction[P]
    ) -> Callable[[CheckFunction[P]], CheckFunction[P]]:
        """Decorator: register `function` as the check of kind `name`, its parameters and its request count."""

        def decorate(function: CheckFunction[P]) -> CheckFunction[P]:
            if name in self._kinds:
                raise ValueError(f"check kind {name!r} is registered twice")
            doc = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
            self._kinds[name] = Kind(name, params, function, doc, cost)
            return function

        return decorate

    def get(self, name: str) -> Kind[Any] | None:
        """The kind called `name`, if registered."""
        return self._kinds.get(name)

    def names(self) -> list[str]:
        """Every registered kind name."""
        return sorted(self._kinds)

    def __iter__(self) -> Iterator[Kind[Any]]:
        return iter(self._kinds[name] for name in self.names())


registry = Registry()
