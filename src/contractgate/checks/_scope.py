"""Kind `credential-scope`: every region's credential against every region's URL."""

from __future__ import annotations

from .._contract import AuthOverride, Expect, RequestSpec
from .._errors import SkipRule
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry

__all__ = ["ScopeParams"]


class ScopeParams(Params):
    """The request, the per-region scheme, and what acceptance and rejection look like."""

    request: RequestSpec
    scheme: str
    accept: Expect
    reject: Expect


def scope_cost(plan: CostContext, params: ScopeParams) -> Cost:
    """Every region's credential on every region's URL (nothing when fewer than two regions: the rule skips)."""
    cost = Cost()
    name = params.request.target or plan.contract.defaults.target or ""
    regions = plan.contract.target(name).regions
    if len(regions) < 2:
        return cost
    for key_region in regions:
        for url_region in regions:
            key = plan.key(params.request, region=url_region)
            auth = AuthOverride(scheme=params.scheme, region=key_region)
            cost.requests[(key, plan.credential(auth, key))] += 1
    return cost


@registry.register("credential-scope", ScopeParams, scope_cost)
def check_credential_scope(ctx: CheckContext, params: ScopeParams) -> None:
    """A credential works in its own region and is refused in every other one."""
    name = params.request.target or ctx.contract.defaults.target or ""
    regions = ctx.contract.target(name).regions
    if len(regions) < 2:
        raise SkipRule(f"target {name} declares fewer than two regions", cause="contract")
    for key_region in regions:
        for url_region in regions:
            auth = AuthOverride(scheme=params.scheme, region=key_region)
            spec = params.request.model_copy(update={"region": url_region, "auth": auth})
            response = ctx.send(spec)
            own = key_region == url_region
            expectation = params.accept if own else params.reject
            verdict = "accepted" if own else "rejected"
            ctx.expect(response, expectation, context=f"{key_region} key on {url_region} must be {verdict}")
