"""Kind `quota`: a quota is honoured up to its limit, then refused as documented."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from .._contract import Expect, RequestSpec, Step
from .._errors import SkipRule, Violation
from .._expect import MISSING, json_body, resolve, status_matches
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["QuotaParams"]


class QuotaParams(Params):
    """Spend a quota with one request until it is refused; the refusal must come in time and look right."""

    read: RequestSpec | None = None
    limit: int | str
    used: str | None = None
    request: RequestSpec
    accept: Expect = Expect(status="2xx")
    expect: Expect
    slack: int = 0
    max_requests: int = 100
    then: list[Step] = []

    @model_validator(mode="after")
    def _limit_source(self) -> QuotaParams:
        if isinstance(self.limit, str) and self.read is None:
            raise ValueError("a `limit` path needs a `read` request")
        if self.used is not None and self.read is None:
            raise ValueError("`used` needs a `read` request")
        if self.expect.status is None:
            raise ValueError("`expect` needs a status (how a refusal is recognised)")
        return self


def _value(document: Any, path: str, where: str) -> int:
    found = resolve(document, path)
    value = found[0][1] if found else MISSING
    if not isinstance(value, int) or isinstance(value, bool):
        raise Violation("the quota value is not an integer", expected=f"an integer at {path}", got=value, where=where)
    return value


def quota_cost(plan: CostContext, params: QuotaParams) -> Cost:
    """The read, the quota spent plus the refused request, then the steps after it.

    With a declared limit and no read the count is exact for an unspent quota; a limit or usage read from
    the target is known only then, so the figure is the most the rule may send (`max_requests` caps it).
    """
    cost = Cost(exact=params.read is None and isinstance(params.limit, int))
    if params.read is not None:
        plan.add(cost, params.read)
    spend = params.limit + 1 if isinstance(params.limit, int) and params.read is None else params.max_requests
    plan.add(cost, params.request, min(spend, params.max_requests) + params.slack)
    for step in params.then:
        plan.add(cost, step.request)
    return cost


@registry.register("quota", QuotaParams, quota_cost)
def check_quota(ctx: CheckContext, params: QuotaParams) -> None:
    """Requests are accepted until the quota is spent; the next one is refused as documented."""
    assert params.expect.status is not None
    refused_status = params.expect.status
    request = params.request.model_copy(update={"retry_on_429": False})
    if params.read is not None:
        response = ctx.send(params.read.model_copy(update={"retry_on_429": False}))
        if status_matches(response.status_code, refused_status):
            limit, used, remaining = "?", "all", 0
        else:
            ctx.expect(response, Expect(status="2xx"), context="reading the quota")
            document = json_body(response)
            where = f"{params.read.path} json"
            limit_value = params.limit if isinstance(params.limit, int) else _value(document, params.limit, where)
            used_value = _value(document, params.used, where) if params.used else 0
            limit, used, remaining = str(limit_value), str(used_value), max(0, limit_value - used_value)
    else:
        assert isinstance(params.limit, int)
        limit, used, remaining = str(params.limit), "0", params.limit
    if remaining + 1 > params.max_requests:
        raise SkipRule(
            f"spending the quota needs {remaining + 1} requests (max_requests is {params.max_requests})", cause="limit"
        )
    budget = remaining + 1 + params.slack
    for number in range(1, budget + 1):
        response = ctx.send(request)
        if params.accept.status is not None and status_matches(response.status_code, params.accept.status):
            ctx.expect(response, params.accept, context=f"request {number} (within the quota)")
            continue
        if number <= remaining - params.slack:
            raise Violation(
                "refused before the quota was spent",
                expected=f"{remaining} requests accepted (limit {limit}, used {used})",
                got=f"request {number} answered {response.status_code}",
                where=f"{request.method} {request.path}",
            )
        ctx.expect(response, params.expect, context=f"request {number} (limit {limit}, used {used})")
        break
    else:
        raise Violation(
            "the quota is not enforced",
            expected=f"a refusal ({refused_status}) within {budget} requests (limit {limit}, used {used})",
            got=f"{budget} requests accepted",
            where=f"{request.method} {request.path}",
        )
    for number, then in enumerate(params.then, start=1):
        # After the quota is spent the refusal is what these steps observe: it is judged, not an error.
        step = then.model_copy(update={"request": then.request.model_copy(update={"retry_on_429": False})})
        ctx.run_step(
            step, context=f"after the quota is spent, step {number} ({step.request.method} {step.request.path})"
        )
