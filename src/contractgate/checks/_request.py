"""Kind `request`: one or more requests, each with documented expectations."""

from __future__ import annotations

from pydantic import model_validator

from .._contract import Expect, RequestSpec, Step
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["RequestParams"]


class RequestParams(Params):
    """Either `steps`, or a single `request` with `expect` (and `save`)."""

    steps: list[Step] = []
    request: RequestSpec | None = None
    expect: Expect | None = None
    save: dict[str, str] = {}

    @model_validator(mode="after")
    def _steps_or_request(self) -> RequestParams:
        if bool(self.steps) == (self.request is not None):
            raise ValueError("give either `steps` or a single `request`")
        if self.request is not None:
            if self.expect is None:
                raise ValueError("a `request` needs an `expect`")
            self.steps = [Step(request=self.request, expect=self.expect, save=self.save)]
        elif not any(step.expect for step in self.steps):
            raise ValueError("at least one step needs an `expect`, or the rule cannot fail")
        return self


def request_cost(plan: CostContext, params: RequestParams) -> Cost:
    """One request per step."""
    cost = Cost()
    for step in params.steps:
        plan.add(cost, step.request)
    return cost


@registry.register("request", RequestParams, request_cost)
def check_request(ctx: CheckContext, params: RequestParams) -> None:
    """Send each step's request in order and hold its response to the step's expectations."""
    many = len(params.steps) > 1
    for number, step in enumerate(params.steps, start=1):
        ctx.run_step(
            step,
            context=f"step {number} ({step.request.method} {step.request.path})" if many else "",
        )
