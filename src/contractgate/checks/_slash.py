"""Kind `trailing-slash`: the canonical path answers as documented, and so does each path variant."""

from __future__ import annotations

import re
from typing import Literal

from hypothesis import strategies as st
from pydantic import Field

from .._contract import Expect, Regex, RequestSpec
from .._errors import NothingToCheck
from .._session import CheckContext
from ._registry import Cost, CostContext, Params, registry
from ._schema import load_description
from ._vacuity import Tally

__all__ = ["DrawnPaths", "SlashParams", "Variant", "transform_path"]

Transform = Literal["strip-slash", "add-slash", "double-slash", "upper-case", "mixed-case"]
# Which letters `mixed-case` flips: bit i of the mask flips the i-th letter (modulo the mask's width).
MASK_BITS = 16


class Variant(Params):
    """A transformation of the canonical path, the method to send, and the documented answer."""

    transform: Transform
    method: str = "GET"
    expect: Expect


class DrawnPaths(Params):
    """More canonical paths, drawn from the parameter-free operations of an OpenAPI description."""

    openapi: str
    overlay: str | None = None  # a JSON merge patch (RFC 7386) applied to `openapi` on load
    method: str = "GET"
    include: list[Regex] = []
    exclude: list[Regex] = []
    examples: int = Field(default=10, ge=1)


class SlashParams(Params):
    """Canonical paths, the request template they are sent with, and the variants to try."""

    paths: list[str]
    request: RequestSpec = RequestSpec(path="/")
    canonical: Expect | None = None
    variants: list[Variant] = []
    draw: DrawnPaths | None = None


def transform_path(path: str, transform: Transform, mask: int = 1) -> str:
    """Apply one path transformation (the query string, if any, is kept)."""
    route, question, query = path.partition("?")
    if transform == "strip-slash":
        route = route.rstrip("/") or "/"
    elif transform == "add-slash":
        route = route if route.endswith("/") else route + "/"
    elif transform == "double-slash":
        route = route.rstrip("/") + "//"
    elif transform == "upper-case":
        route = route.upper()
    else:
        route = _flip_case(route, mask)
    return route + question + query


def _flip_case(route: str, mask: int) -> str:
    """Swap the case of the letters the mask picks; at least one letter always changes."""
    letters = [i for i, char in enumerate(route) if char.isalpha()]
    picked = {index for n, index in enumerate(letters) if mask >> (n % MASK_BITS) & 1} or set(letters[:1])
    return "".join(char.swapcase() if i in picked else char for i, char in enumerate(route))


def drawn_paths(ctx: CheckContext | CostContext, draw: DrawnPaths) -> list[str]:
    """The description's paths without parameters that offer `draw.method`, filtered by include/exclude."""
    document = load_description(ctx, draw.openapi, draw.overlay)
    paths = [
        path
        for path, item in document.get("paths", {}).items()
        if "{" not in path
        and draw.method.lower() in item
        and (not draw.include or any(re.search(p, path) for p in draw.include))
        and not any(re.search(p, path) for p in draw.exclude)
    ]
    if not paths:
        raise NothingToCheck(
            f"{draw.openapi} has no parameter-free {draw.method} path matching include={draw.include} "
            f"exclude={draw.exclude}"
        )
    return sorted(paths)


def _check_variant(ctx: CheckContext, params: SlashParams, path: str, variant: Variant, mask: int = 1) -> None:
    changed = transform_path(path, variant.transform, mask)
    spec = params.request.model_copy(update={"path": changed, "method": variant.method.upper()})
    ctx.variables["canonical"] = path
    response = ctx.send(spec)
    ctx.expect(response, variant.expect, context=f"{variant.transform} variant {variant.method} {changed}")


def slash_cost(plan: CostContext, params: SlashParams) -> Cost:
    """Each listed path in canonical form and each variant, then two boundary pairs and `examples` drawn pairs."""
    cost = Cost()
    per_path = (params.canonical is not None) + len(params.variants)
    plan.add(cost, params.request, len(params.paths) * per_path)
    if params.draw is not None and params.variants and (params.canonical is not None or params.variants):
        try:
            drawn_paths(plan, params.draw)
        except NothingToCheck:
            return cost
        plan.add(cost, params.request, 2 + params.draw.examples)
    return cost


@registry.register("trailing-slash", SlashParams, slash_cost)
def check_trailing_slash(ctx: CheckContext, params: SlashParams) -> None:
    """Every listed path in canonical form and every variant, then drawn (path, variant) pairs as a property."""
    if params.canonical is None and not params.variants:
        raise NothingToCheck("neither a canonical expectation nor a variant to try")
    if not params.paths and (params.draw is None or not params.variants):
        raise NothingToCheck("no path to try (paths is empty and nothing is drawn)")
    for path in params.paths:
        if params.canonical is not None:
            ctx.variables["canonical"] = path
            response = ctx.send(params.request.model_copy(update={"path": path}))
            ctx.expect(response, params.canonical, context=f"canonical {params.request.method} {path}")
        for variant in params.variants:
            _check_variant(ctx, params, path, variant)
    if params.draw is None or not params.variants:
        return
    paths = drawn_paths(ctx, params.draw)
    last_variant = len(params.variants) - 1
    cases = st.tuples(st.sampled_from(paths), st.integers(0, last_variant), st.integers(1, 2**MASK_BITS - 1))
    boundaries = [(paths[0], 0, 1), (paths[-1], last_variant, 2**MASK_BITS - 1)]

    def attempt(case: tuple[str, int, int]) -> None:
        path, index, mask = case
        _check_variant(ctx, params, path, params.variants[index], mask)

    tally = Tally()
    ctx.run_property(cases, boundaries, tally.wrap(attempt), params.draw.examples)
    tally.require(f"no (path, variant) pair was drawn from {params.draw.openapi}")
