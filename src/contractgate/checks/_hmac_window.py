"""Kind `hmac-window`: signatures inside the clock window pass, outside it fail, on every request of the scope."""

from __future__ import annotations

from hypothesis import strategies as st
from pydantic import model_validator

from .._contract import AuthOverride, Expect, RequestSpec
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry
from ._vacuity import Tally

__all__ = ["HmacWindowParams", "boundary_cases", "clock_offsets", "scope_offsets"]


class HmacWindowParams(Params):
    """Signed requests (one, or a scope of them), the documented window (seconds), acceptance and rejection."""

    request: RequestSpec | None = None
    requests: list[RequestSpec] = []
    scheme: str
    window: int = 300
    margin: int = 1
    accept: Expect
    reject: Expect
    examples: int = 12
    span: int = 3

    @model_validator(mode="after")
    def _margin_inside(self) -> HmacWindowParams:
        if not 0 < self.margin < self.window:
            raise ValueError("margin must be between 0 and the window")
        if (self.request is None) == (not self.requests):
            raise ValueError("give either `request` or a non-empty `requests` list, not both")
        return self

    @property
    def scope(self) -> list[RequestSpec]:
        """Every request the window statement covers."""
        return [self.request] if self.request is not None else list(self.requests)


def clock_offsets(window: int, margin: int, span: int) -> st.SearchStrategy[int]:
    """Offsets in seconds, outside the ambiguous band of width `margin` around ±window."""
    return st.integers(-span * window, span * window).filter(lambda offset: abs(abs(offset) - window) >= margin)


def boundary_offsets(window: int, margin: int) -> list[int]:
    """The offsets that are always tried: now, and just inside and outside both edges."""
    inside, outside = window - margin, window + margin
    return [0, inside, -inside, outside, -outside]


def boundary_cases(members: int, window: int, margin: int) -> list[tuple[int, int]]:
    """(member, offset) pairs always tried: every member of the scope at every boundary offset."""
    return [(member, offset) for member in range(members) for offset in boundary_offsets(window, margin)]


def scope_offsets(members: int, window: int, margin: int, span: int) -> st.SearchStrategy[tuple[int, int]]:
    """Drawn (member, offset) pairs: any member of the scope at any offset outside the ambiguous bands."""
    return st.tuples(st.integers(0, members - 1), clock_offsets(window, margin, span))


def hmac_window_cost(plan: CostContext, params: HmacWindowParams) -> Cost:
    """Every member of the scope at the five boundary offsets, plus `examples` drawn (member, offset) pairs."""
    cost = Cost()
    scope = params.scope
    for spec in scope:
        plan.add(cost, spec, len(boundary_offsets(params.window, params.margin)))
    if scope and params.examples > 0:
        # A drawn pair may name any member: counted on the first one (members share target and credential).
        plan.add(cost, scope[0], params.examples)
    return cost


@registry.register("hmac-window", HmacWindowParams, hmac_window_cost)
def check_hmac_window(ctx: CheckContext, params: HmacWindowParams) -> None:
    """Signed at now+offset: accepted iff |offset| <= window - margin, rejected iff >= window + margin."""
    scope = params.scope

    def attempt(case: tuple[int, int]) -> None:
        member, offset = case
        request = scope[member]
        base_auth = request.auth
        extra = (
            base_auth.model_dump(exclude_none=True, exclude={"scheme", "clock_offset"})
            if isinstance(base_auth, AuthOverride)
            else {}
        )
        auth = AuthOverride(scheme=params.scheme, clock_offset=offset, **extra)
        response = ctx.send(request.model_copy(update={"auth": auth}))
        accepted = abs(offset) <= params.window - params.margin
        expectation = params.accept if accepted else params.reject
        verdict = "accepted" if accepted else "rejected"
        where = f"{request.method} {request.path}"
        ctx.expect(response, expectation, context=f"{where}: timestamp off by {offset:+d} s must be {verdict}")

    strategy = scope_offsets(len(scope), params.window, params.margin, params.span)
    boundaries = boundary_cases(len(scope), params.window, params.margin)
    tally = Tally()
    ctx.run_property(strategy, boundaries, tally.wrap(attempt), params.examples)
    tally.require("no clock offset was tried")
