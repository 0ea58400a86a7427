"""The registry of check kinds: a kind is a params model and one function."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

from .._contract import AuthOverride, Contract, RequestSpec, Rule, safe_marks_in
from .._session import CheckContext

__all__ = ["Kind", "Params", "Registry", "registry"]


class Params(BaseModel):
    """Base of every kind's parameters: unknown keys are errors and types are not coerced."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, strict=True)


P = TypeVar("P", bound=Params)
CheckFunction = Callable[[CheckContext, P], None]


@dataclass(frozen=True)
class Kind(Generic[P]):
    """A registered check kind."""

    name: str
    params: type[P]
    run: CheckFunction[P]
    doc: str

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

    def register(self, name: str, params: type[P]) -> Callable[[CheckFunction[P]], CheckFunction[P]]:
        """Decorator: register `function` as the check of kind `name` with parameters `params`."""

        def decorate(function: CheckFunction[P]) -> CheckFunction[P]:
            if name in self._kinds:
                raise ValueError(f"check kind {name!r} is registered twice")
            doc = (function.__doc__ or "").strip().splitlines()[0] if function.__doc__ else ""
            self._kinds[name] = Kind(name, params, function, doc)
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
