"""Kind `fuzz`: schemathesis draws requests from an OpenAPI description and every answer is held to it."""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import httpx
import schemathesis
from hypothesis import strategies as st
from pydantic import Field
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err

from .._contract import AuthOverride, Expect, Regex, SafeOperations, StatusSpec
from .._errors import NothingToCheck, SetupError, Violation
from .._expect import status_matches
from .._session import CheckContext, keep_hypothesis_files_out_of_cwd
from .._transport import READ_METHODS, SAFE, safe_mark
from ._registry import Cost, CostContext, Params, registry
from ._schema import described, description_files
from ._vacuity import Tally

__all__ = ["FuzzParams", "ResponseRule", "case_record", "load_openapi", "select_operations"]

CheckName = Literal[
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
]
DEFAULT_CHECKS: list[CheckName] = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]
Operation = APIOperation[Any, Any, Any, Any]
GeneratedCase = Case[Any]
# Headers schemathesis adds for its own bookkeeping; they would only add noise to cassettes and curl lines.
_TOOL_HEADERS = frozenset({"accept", "user-agent", "x-schemathesis-testcaseid", "accept-encoding", "connection"})


class ResponseRule(Params):
    """A vendor-wide expectation for every fuzzed response whose status matches `when` (all when unset)."""

    when: StatusSpec | None = None
    expect: Expect
    name: str = ""


class FuzzParams(Params):
    """The OpenAPI description to fuzz, where and how to send, and what every answer must satisfy."""

    openapi: str
    overlay: str | None = None  # a JSON merge patch (RFC 7386) applied to `openapi` on load
    target: str | None = None
    regions: list[str] | None = None
    auth: str | AuthOverride | None = None
    include: list[Regex] = []
    exclude: list[Regex] = []
    examples: int = Field(default=5, ge=0)
    boundaries: int = Field(default=12, ge=0)
    negative: bool = False
    checks: list[CheckName] = DEFAULT_CHECKS
    responses: list[ResponseRule] = []
    safe: list[SafeOperations] = []  # POST operations the cited docs say only read: they run on read-only targets
    # A regex whose first match on an operation's label (`GET /v1/geo/{ip}`) names its handler family (e.g. method
    # and router, `^\S+ /v1/[^/]+`); an operation it does not match is a family alone. Unset: each one alone.
    families: Regex | None = None
    # Send one representative operation per family (a profile's `fuzz_families`); the outcome's `covered` names them.
    one_per_family: bool = False
    # Each operation in one of the regions, in turn (every operation and every region still checked), instead of
    # every operation in every region: for regions that run the same API, a per-region fault is the region rules'.
    spread_regions: bool = False
    # Drawn `examples` only on each family's representative (the boundaries still run on every operation): for a
    # statement one handler per family decides whatever the input (an auth dependency guarding a router).
    draws_per_family: bool = False

    def safe_labels(self) -> frozenset[str]:
        """Every operation label (`POST /path`) a `safe` entry names."""
        return frozenset(label for entry in self.safe for label in entry.operations)


@functools.cache
def load_openapi(path: Path, overlay: Path | None = None) -> schemathesis.BaseSchema:
    """The schemathesis schema of an OpenAPI file, its overlay applied (loaded once per process)."""
    return schemathesis.openapi.from_dict(described(path, overlay))


def select_operations(schema: schemathesis.BaseSchema, include: list[str], exclude: list[str]) -> list[Operation]:
    """Operations whose label (`GET /path`) matches an `include` pattern (all when none) and no `exclude` one."""
    chosen = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise SetupError(f"the OpenAPI description has an operation schemathesis cannot use: {result.err()}")
        operation = result.ok()
        label = operation.label
        if include and not any(re.search(pattern, label) for pattern in include):
            continue
        if any(re.search(pattern, label) for pattern in exclude):
            continue
        chosen.append(operation)
    return chosen


def family_of(operation: Operation, pattern: str | None) -> str:
    """The handler family an operation belongs to: the first match of `pattern` on its label, else the label."""
    found = re.search(pattern, operation.label) if pattern else None
    return found.group(0) if found else operation.label


def _weight(operation: Operation) -> tuple[int, int]:
    """How much of its family's input handling an operation exercises: path parameters, then every parameter."""
    path = len(operation.path_parameters)
    return path, path + len(operation.query) + (1 if len(operation.body) else 0)


def representatives(operations: list[Operation], pattern: str | None) -> list[Operation]:
    """One operation per family, the one with the most parameters (the first of a tie), in description order.

    It is the family member whose answers depend most on its input (a lookup that can miss, a filter that can
    be empty), so a family's handler faults show there first; the other members run where every operation does.
    """
    best: dict[str, Operation] = {}
    for operation in operations:
        family = family_of(operation, pattern)
        if family not in best or _weight(operation) > _weight(best[family]):
            best[family] = operation
    chosen = {id(operation) for operation in best.values()}
    return [operation for operation in operations if id(operation) in chosen]


def _security_headers(schema: schemathesis.BaseSchema) -> frozenset[str]:
    """Header names the description's security schemes put on requests; the contract's auth owns them."""
    schemes = schema.raw_schema.get("components", {}).get("securitySchemes", {})
    names = {"authorization"}
    names.update(s["name"].lower() for s in schemes.values() if s.get("type") == "apiKey" and s.get("in") == "header")
    return frozenset(names)


def case_record(case: GeneratedCase, dropped: frozenset[str]) -> dict[str, Any]:
    """A generated case as plain JSON (it goes into the cassette so replay re-sends exactly it)."""
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() not in dropped}
    record: dict[str, Any] = {
        "method": case.method.upper(),
        "path_parameters": dict(case.path_parameters or {}),
        "query": dict(case.query or {}),
        "headers": headers,
    }
    if case.body is not NOT_SET:
        body = case.body
        record["body"] = {"base64": base64.b64encode(body).decode()} if isinstance(body, bytes) else body
        record["media_type"] = case.media_type
    return record


def _case(operation: Operation, record: dict[str, Any]) -> GeneratedCase:
    body = record.get("body", NOT_SET)
    if isinstance(body, dict) and set(body) == {"base64"}:
        body = base64.b64decode(body["base64"])
    return operation.Case(
        method=record["method"],
        path_parameters=record["path_parameters"],
        query=record["query"],
        headers=record["headers"],
        body=body,
        media_type=record.get("media_type"),
    )


def _boundaries(
    operation: Operation, modes: list[GenerationMode], limit: int, allowed: Callable[[str], bool]
) -> list[dict[str, Any]]:
    """Schemathesis's coverage cases (each parameter's edges: minimum, maximum, lengths, enum members) as plain
    JSON, the first `limit` distinct ones: cases that differ only in headers the rule never sends are one request.
    """
    schema = operation.schema
    cases = schema.iter_coverage_cases(
        operation, generation_modes=modes, generation_config=schema.config.generation_for(operation=operation)
    )
    dropped = _security_headers(schema) | _TOOL_HEADERS
    records = (case_record(case, dropped) for case in cases if allowed(case.method))
    return list(islice(_distinct(records), limit))


def _distinct(records: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    seen: set[str] = set()
    for record in records:
        text = json.dumps(record, sort_keys=True, default=str)
        if text not in seen:
            seen.add(text)
            yield record


def _failure_violation(failures: list[Failure], label: str, status: int) -> Violation:
    first = failures[0]
    others = "".join(f"; also: {f.title}" for f in failures[1:])
    return Violation(
        f"schemathesis: {first.title}{others}",
        expected=f"an answer the OpenAPI description allows for {label}",
        got=f"{status}: {first.message.strip()}",
        where=label,
    )


def _judge(ctx: CheckContext, case: GeneratedCase, response: httpx.Response, params: FuzzParams) -> None:
    label = f"{case.method} {case.formatted_path}"
    if params.checks:
        checks = [getattr(schemathesis.checks, name) for name in params.checks]
        try:
            case.validate_response(response, checks=checks)
        except FailureGroup as group:
            raise _failure_violation(list(group.exceptions), label, response.status_code) from None
        except Failure as failure:
            raise _failure_violation([failure], label, response.status_code) from None
    for rule in params.responses:
        if rule.when is None or status_matches(response.status_code, rule.when):
            ctx.expect(response, rule.expect, context=f"{label}{f' ({rule.name})' if rule.name else ''}")


def _send(ctx: CheckContext, case: GeneratedCase, plan: _Plan, params: FuzzParams) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url=plan.base)
    headers = {
        k: str(v)
        for k, v in (kwargs.get("headers") or {}).items()
        if k.lower() not in plan.dropped and k.lower() not in _TOOL_HEADERS
    }
    body = {name: kwargs[name] for name in ("json", "data", "files", "content") if kwargs.get(name) is not None}
    request = ctx.raw_request(
        kwargs["method"], kwargs["url"], plan.key, headers=headers, params=kwargs.get("params"), **body
    )
    if plan.safe and request.method == plan.operation.method.upper():
        request.extensions[SAFE] = safe_mark(request)
    return ctx.dispatch(request, ctx.auth_for(params.auth, plan.region))


@dataclass
class _Plan:
    """One operation in one region: where to send it, and its boundary cases (plain JSON)."""

    operation: Operation
    key: str
    base: str
    region: str | None
    dropped: frozenset[str]
    boundaries: list[dict[str, Any]]
    safe: bool = False
    draws: int = 0


def _allowed(operation: Operation, safe: frozenset[str], writes: bool) -> Callable[[str], bool]:
    """Which methods the rule may send for `operation`: reads, its own cited-safe POST, anything if it writes."""
    own = operation.method.upper()
    cited = operation.label in safe

    def allowed(method: str) -> bool:
        return method.upper() in READ_METHODS or writes or (cited and method.upper() == own)

    return allowed


def sent_operations(schema: schemathesis.BaseSchema, params: FuzzParams, writes: bool) -> list[Operation]:
    """The operations the rule sends: chosen, allowed (reads unless it writes), one per family if asked."""
    safe = params.safe_labels()
    chosen = select_operations(schema, params.include, params.exclude)
    sendable = [op for op in chosen if _allowed(op, safe, writes)(op.method)]
    return representatives(sendable, params.families) if params.one_per_family else sendable


def drawing(operations: list[Operation], params: FuzzParams) -> list[bool]:
    """Which of the sent operations get drawn examples: all, or each family's representative (`draws_per_family`)."""
    if not params.draws_per_family:
        return [True] * len(operations)
    chosen = {id(operation) for operation in representatives(operations, params.families)}
    return [id(operation) in chosen for operation in operations]


def _plan(ctx: CheckContext, operation: Operation, where: tuple[str, str], params: FuzzParams, draws: bool) -> _Plan:
    key, base = where
    safe = params.safe_labels()
    allowed = _allowed(operation, safe, ctx.rule.writes)
    records = _boundaries(operation, _modes(params), params.boundaries, allowed)
    dropped = _security_headers(operation.schema)
    region = key.partition(":")[2] or None
    examples = params.examples if draws else 0
    return _Plan(operation, key, base, region, dropped, records, operation.label in safe, examples)


def _check_safe_labels(schema: schemathesis.BaseSchema, params: FuzzParams) -> None:
    """A `safe` entry that names no operation of the description is a typo, not a silent no-op."""
    labels = {result.ok().label for result in schema.get_all_operations() if not isinstance(result, Err)}
    unknown = sorted(params.safe_labels() - labels)
    if unknown:
        raise SetupError(f"safe operations {unknown} are not in {params.openapi} (it has {sorted(labels)})")


def _modes(params: FuzzParams) -> list[GenerationMode]:
    return [GenerationMode.POSITIVE] + ([GenerationMode.NEGATIVE] if params.negative else [])


def _attempt(ctx: CheckContext, plan: _Plan, params: FuzzParams, tally: Tally) -> Callable[[dict[str, Any]], None]:
    def attempt(record: dict[str, Any]) -> None:
        case = _case(plan.operation, record)
        _judge(ctx, case, _send(ctx, case, plan, params), params)

    return tally.wrap(attempt)


def _sweep_first_cases(ctx: CheckContext, plans: list[_Plan], params: FuzzParams, tally: Tally) -> None:
    """Breadth first: each operation's first boundary (its default valid request) before any depth."""
    firsts = [[index, plan.boundaries[0]] for index, plan in enumerate(plans) if plan.boundaries]

    def attempt(entry: tuple[int, dict[str, Any]]) -> None:
        index, record = entry
        _attempt(ctx, plans[index], params, tally)(record)

    ctx.run_examples(firsts, attempt)


def _fuzz_deeper(ctx: CheckContext, plan: _Plan, params: FuzzParams, tally: Tally) -> None:
    """The operation's remaining boundaries, then drawn cases."""
    strategy = st.one_of(*(plan.operation.as_strategy(generation_mode=mode) for mode in _modes(params)))
    drawn = strategy.map(functools.partial(case_record, dropped=plan.dropped))  # a lambda would be parsed for its repr
    if not plan.draws:  # hypothesis refuses max_examples=0: the boundaries alone, as a list of cases
        ctx.run_examples(plan.boundaries[1:], _attempt(ctx, plan, params, tally))
        return
    ctx.run_property(drawn, plan.boundaries[1:], _attempt(ctx, plan, params, tally), plan.draws)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector, and the finalizers it runs, out of hypothesis's source parses."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _on_shallow_stack(work: Callable[[], None]) -> None:
    """Run `work` in a fresh thread (the caller waits) and re-raise what it raised.

    Hypothesis parses whole schemathesis modules to describe their lambdas. On CPython 3.11 that parse
    can fail with "AST constructor recursion depth mismatch" when it starts deep in a test runner's stack
    or a garbage collection runs in its middle; a new thread with the collector paused avoids both.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with _collector_paused():
                work()
        except BaseException as error:  # handed to the caller's thread as is
            failure.append(error)

    thread = threading.Thread(target=run, name="contractgate-fuzz")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@functools.cache
def _boundary_counts(files: tuple[Path, Path | None], frozen: str, writes: bool) -> tuple[tuple[int, bool], ...]:
    """Each sent operation's boundary-case count and whether it draws (the description is read once per process)."""
    keep_hypothesis_files_out_of_cwd()  # schemathesis's coverage cases run hypothesis, even when only counted
    schema = load_openapi(*files)
    params = FuzzParams.model_validate_json(frozen)
    safe = params.safe_labels()
    sent = sent_operations(schema, params, writes)
    return tuple(
        (len(_boundaries(operation, _modes(params), params.boundaries, _allowed(operation, safe, writes))), draws)
        for operation, draws in zip(sent, drawing(sent, params), strict=True)
    )


def _frozen(params: FuzzParams) -> str:
    """`params` as a hashable key for the count cache: what decides the operations and their boundary cases."""
    return params.model_dump_json(
        include={
            "openapi",
            "include",
            "exclude",
            "boundaries",
            "negative",
            "safe",
            "families",
            "one_per_family",
            "draws_per_family",
        }
    )


def _in_region(items: tuple[Any, ...], region: int, regions: int, spread: bool) -> tuple[Any, ...]:
    """The items (one per sent operation, in order) the `region`-th region sends: all, or every `regions`-th."""
    return items[region::regions] if spread else items


def fuzz_cost(plan: CostContext, params: FuzzParams) -> Cost:
    """Each chosen operation in each region: its boundary cases (computed from the description), then `examples`."""
    cost = Cost()
    files = description_files(plan, params.openapi, params.overlay)
    counts = _boundary_counts(files, _frozen(params), plan.rule.writes)
    name = params.target or plan.contract.defaults.target or ""
    regions: list[str | None] = [*(params.regions or plan.contract.target(name).regions)] or [None]
    for index, region in enumerate(regions):
        mine = _in_region(counts, index, len(regions), params.spread_regions)
        key = plan.key(target=name, region=region)
        draws = sum(params.examples for _, drawn in mine if drawn)
        cost.requests[(key, plan.credential(params.auth, key))] += sum(count for count, _ in mine) + draws
    return cost


@registry.register("fuzz", FuzzParams, fuzz_cost)
def check_fuzz(ctx: CheckContext, params: FuzzParams) -> None:
    """Every chosen operation, on boundary and drawn requests in every region, answers as its description says."""
    schema = load_openapi(*description_files(ctx, params.openapi, params.overlay))
    _check_safe_labels(schema, params)
    operations = select_operations(schema, params.include, params.exclude)
    if not operations:
        raise NothingToCheck(
            f"no operation of {params.openapi} matches include={params.include} exclude={params.exclude}"
        )
    name = params.target or ctx.contract.defaults.target
    assert name is not None
    regions: list[str | None] = [*(params.regions or ctx.contract.target(name).regions)] or [None]
    bases = [ctx.targets.base(ctx.contract, name, region) for region in regions]

    sent = sent_operations(schema, params, ctx.rule.writes)
    if not sent:
        raise NothingToCheck(f"every operation of {params.openapi} chosen writes and the rule does not")
    draws = drawing(sent, params)
    tally = Tally()

    def sweep() -> None:
        indexes = tuple(range(len(sent)))
        plans = [
            _plan(ctx, sent[i], where, params, draws[i])
            for region, where in enumerate(bases)
            for i in _in_region(indexes, region, len(bases), params.spread_regions)
        ]
        _sweep_first_cases(ctx, plans, params, tally)
        for plan in plans:
            _fuzz_deeper(ctx, plan, params, tally)

    _on_shallow_stack(sweep)
    tally.require(f"no request was drawn from {params.openapi} (boundaries and examples gave no case)")
