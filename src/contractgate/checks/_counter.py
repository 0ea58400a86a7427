"""Kind `counter`: a documented counter moves by exactly the documented amount across some requests."""

from __future__ import annotations

from pydantic import model_validator

from .._contract import Expect, RequestSpec, Step
from .._errors import Violation
from .._expect import MISSING, json_body, resolve
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["CounterParams"]


class CounterParams(Params):
    """Read a numeric counter, run some actions, read it again: it must move by `delta`."""

    read: RequestSpec
    path: str
    actions: list[RequestSpec | Step]
    delta: int

    @model_validator(mode="after")
    def _some_actions(self) -> CounterParams:
        if not self.actions:
            raise ValueError("give at least one action")
        return self


def _number(ctx: CheckContext, spec: RequestSpec, path: str, label: str) -> int:
    response = ctx.send(spec)
    ctx.expect(response, Expect(status="2xx"), context=label)
    found = resolve(json_body(response), path)
    value = found[0][1] if found else MISSING
    if not isinstance(value, int) or isinstance(value, bool):
        raise Violation("the counter is not an integer", expected=f"an integer at {path}", got=value, where=label)
    return value


def counter_cost(plan: CostContext, params: CounterParams) -> Cost:
    """Two reads of the counter and one request per action."""
    cost = Cost()
    plan.add(cost, params.read, 2)
    for action in params.actions:
        plan.add(cost, action.request if isinstance(action, Step) else action)
    return cost


@registry.register("counter", CounterParams, counter_cost)
def check_counter(ctx: CheckContext, params: CounterParams) -> None:
    """A counter changes by exactly the documented amount across some requests."""
    before = _number(ctx, params.read, params.path, "first read")
    for number, action in enumerate(params.actions, start=1):
        step = action if isinstance(action, Step) else Step(request=action)
        ctx.run_step(step, context=f"action {number} ({step.request.method} {step.request.path})")
    after = _number(ctx, params.read, params.path, "second read")
    if after - before != params.delta:
        raise Violation(
            "the counter moved by the wrong amount",
            expected=f"{params.path} + {params.delta}",
            got=f"{before} -> {after} (+{after - before})",
            where=f"{params.read.path} json {params.path}",
        )
