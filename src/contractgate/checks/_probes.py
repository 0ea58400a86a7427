"""Kinds `error-shape` and `envelope`: one expectation that every probe's response must meet."""

from __future__ import annotations

from pydantic import model_validator

from .._contract import Expect, RequestSpec, Step
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["ProbeParams"]


class ProbeParams(Params):
    """The probes, and the shared expectation applied to each (a probe's own `expect` applies too)."""

    probes: list[RequestSpec | Step]
    expect: Expect

    @model_validator(mode="after")
    def _some_probes(self) -> ProbeParams:
        if not self.probes:
            raise ValueError("give at least one probe")
        return self


def probes_cost(plan: CostContext, params: ProbeParams) -> Cost:
    """One request per probe."""
    cost = Cost()
    for probe in params.probes:
        plan.add(cost, probe.request if isinstance(probe, Step) else probe)
    return cost


def _check_probes(ctx: CheckContext, params: ProbeParams) -> None:
    for probe in params.probes:
        step = probe if isinstance(probe, Step) else Step(request=probe)
        label = f"probe {step.request.method} {step.request.path}"
        response = ctx.run_step(step, context=label)
        ctx.expect(response, params.expect, context=label)


@registry.register("error-shape", ProbeParams, probes_cost)
def check_error_shape(ctx: CheckContext, params: ProbeParams) -> None:
    """Every probe that provokes an error answers with the documented error body."""
    _check_probes(ctx, params)


@registry.register("envelope", ProbeParams, probes_cost)
def check_envelope(ctx: CheckContext, params: ProbeParams) -> None:
    """Every probe answers inside the documented response envelope."""
    _check_probes(ctx, params)
