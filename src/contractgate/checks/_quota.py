"""Kind `quota`: a quota is honoured up to its limit, then refused as documented."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import Field, model_validator

from .._contract import Expect, RequestSpec, Step
from .._errors import SkipRule, Violation
from .._expect import MISSING, json_body, resolve, status_matches
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["QuotaParams", "WaitUntil", "check_wait"]


class WaitUntil(Params):
    """The refusal's wait (a header in seconds) is the time left until an instant the quota read gave."""

    until: str
    header: str = "Retry-After"
    per_second: int = Field(default=1000, gt=0)  # units of `until` in a second: 1000 for Unix milliseconds
    slack: float = Field(default=2.0, ge=0, allow_inf_nan=False)  # seconds either way: rounding, 1 s dates


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
    wait: WaitUntil | None = None
    # Spend at the credential's declared rate: for a long quota (a month's) behind a short one (a minute's).
    paced: bool = False

    @model_validator(mode="after")
    def _limit_source(self) -> QuotaParams:
        if isinstance(self.limit, str) and self.read is None:
            raise ValueError("a `limit` path needs a `read` request")
        if self.used is not None and self.read is None:
            raise ValueError("`used` needs a `read` request")
        if self.expect.status is None:
            raise ValueError("`expect` needs a status (how a refusal is recognised)")
        if self.wait is not None and self.read is None:
            raise ValueError("`wait` needs a `read` request (the instant comes from its answer)")
        return self


def _value(document: Any, path: str, where: str) -> int:
    found = resolve(document, path)
    value = found[0][1] if found else MISSING
    if not isinstance(value, int) or isinstance(value, bool):
        raise Violation("the quota value is not an integer", expected=f"an integer at {path}", got=value, where=where)
    return value


def check_wait(refusal: httpx.Response, read: Any, wait: WaitUntil) -> None:
    """The wait a refusal announces equals the time from its Date to the read's instant, within the slack."""
    where = f"header {wait.header}"
    instant = _value(read, wait.until, f"json {wait.until} (the quota read)")
    raw, date = refusal.headers.get(wait.header), refusal.headers.get("Date")
    if date is None:
        raise Violation("the refusal has no Date to measure the wait from", expected="a Date header", got=None)
    seconds = int(raw) if raw is not None and raw.isdigit() else None
    if seconds is None:
        raise Violation("the wait is not whole seconds", expected="an integer", got=raw, where=where)
    left = instant / wait.per_second - parsedate_to_datetime(date).timestamp()
    if abs(seconds - left) > wait.slack:
        raise Violation(
            f"the wait is not the time left until {wait.until}",
            expected=f"{left:.0f} s (+/- {wait.slack:g})",
            got=seconds,
            where=where,
        )


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
    request = params.request.model_copy(update={"retry_on_429": False, "paced": params.paced})
    document: Any = None
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
        if params.wait is not None:
            if document is None:
                raise SkipRule("the quota was already spent when read: no instant to measure the wait against")
            check_wait(response, document, params.wait)
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
