"""Kind `hmac-window`: signatures inside the clock window pass, outside it fail, at every offset drawn."""

from __future__ import annotations

from hypothesis import strategies as st
from pydantic import model_validator

from .._contract import AuthOverride, Expect, RequestSpec
from .._session import CheckContext
from ._registry import Params, registry
from ._vacuity import Tally

__all__ = ["HmacWindowParams", "clock_offsets"]


class HmacWindowParams(Params):
    """A signed request, the documented window (seconds) and what acceptance and rejection look like."""

    request: RequestSpec
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
        return self


def clock_offsets(window: int, margin: int, span: int) -> st.SearchStrategy[int]:
    """Offsets in seconds, outside the ambiguous band of width `margin` around ±window."""
    return st.integers(-span * window, span * window).filter(lambda offset: abs(abs(offset) - window) >= margin)


def boundary_offsets(window: int, margin: int) -> list[int]:
    """The offsets that are always tried: now, and just inside and outside both edges."""
    inside, outside = window - margin, window + margin
    return [0, inside, -inside, outside, -outside]


@registry.register("hmac-window", HmacWindowParams)
def check_hmac_window(ctx: CheckContext, params: HmacWindowParams) -> None:
    """Signed at now+offset: accepted iff |offset| <= window - margin, rejected iff >= window + margin."""
    base_auth = params.request.auth
    extra = (
        base_auth.model_dump(exclude_none=True, exclude={"scheme", "clock_offset"})
        if isinstance(base_auth, AuthOverride)
        else {}
    )

    def attempt(offset: int) -> None:
        auth = AuthOverride(scheme=params.scheme, clock_offset=offset, **extra)
        response = ctx.send(params.request.model_copy(update={"auth": auth}))
        accepted = abs(offset) <= params.window - params.margin
        expectation = params.accept if accepted else params.reject
        verdict = "accepted" if accepted else "rejected"
        ctx.expect(response, expectation, context=f"Timestamp off by {offset:+d} s must be {verdict}")

    strategy = clock_offsets(params.window, params.margin, params.span)
    tally = Tally()
    ctx.run_property(strategy, boundary_offsets(params.window, params.margin), tally.wrap(attempt), params.examples)
    tally.require("no clock offset was tried")
