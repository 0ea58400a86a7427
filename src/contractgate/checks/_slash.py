"""Kind `trailing-slash`: the canonical path answers as documented, and so does each path variant."""

from __future__ import annotations

from typing import Literal

from .._contract import Expect, RequestSpec
from .._session import CheckContext
from ._registry import Params, registry

__all__ = ["SlashParams", "Variant", "transform_path"]

Transform = Literal["strip-slash", "add-slash", "double-slash", "upper-case"]


class Variant(Params):
    """A transformation of the canonical path, the method to send, and the documented answer."""

    transform: Transform
    method: str = "GET"
    expect: Expect


class SlashParams(Params):
    """Canonical paths, the request template they are sent with, and the variants to try."""

    paths: list[str]
    request: RequestSpec = RequestSpec(path="/")
    canonical: Expect | None = None
    variants: list[Variant] = []


def transform_path(path: str, transform: Transform) -> str:
    """Apply one path transformation (the query string, if any, is kept)."""
    route, question, query = path.partition("?")
    if transform == "strip-slash":
        route = route.rstrip("/") or "/"
    elif transform == "add-slash":
        route = route if route.endswith("/") else route + "/"
    elif transform == "double-slash":
        route = route.rstrip("/") + "//"
    else:
        route = route.upper()
    return route + question + query


@registry.register("trailing-slash", SlashParams)
def check_trailing_slash(ctx: CheckContext, params: SlashParams) -> None:
    """For every path: the canonical form, then every variant, each held to its expectation."""
    for path in params.paths:
        if params.canonical is not None:
            response = ctx.send(params.request.model_copy(update={"path": path}))
            ctx.expect(response, params.canonical, context=f"canonical {params.request.method} {path}")
        for variant in params.variants:
            changed = transform_path(path, variant.transform)
            spec = params.request.model_copy(update={"path": changed, "method": variant.method.upper()})
            response = ctx.send(spec)
            ctx.expect(
                response,
                variant.expect,
                context=f"{variant.transform} variant {variant.method} {changed}",
            )
