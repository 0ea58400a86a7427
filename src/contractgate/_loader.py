"""Load a contract file: YAML with line numbers, validated by the model and each kind's parameters."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ._contract import Contract
from ._errors import ContractError
from .checks import registry

__all__ = ["contract_files", "load_contract", "load_contracts"]

Loc = tuple[str | int, ...]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that also remembers the line of every key and item."""


def _walk(node: yaml.Node, loc: Loc, lines: dict[Loc, int], seen: set[int]) -> None:
    lines.setdefault(loc, node.start_mark.line + 1)
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            if key == "<<":
                _walk(value_node, loc, lines, seen)
                continue
            lines.setdefault((*loc, key), key_node.start_mark.line + 1)
            _walk(value_node, (*loc, key), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, seen)


def _parse(path: Path) -> tuple[Any, dict[Loc, int]]:
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=_LineLoader)
        data = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise ContractError(f"{path}:{line}: not valid YAML: {exc}") from None
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines, set())
    return data, lines


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 0


def _field(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _data_loc(data: Any, loc: Iterable[str | int]) -> Loc:
    """Keep the parts of a pydantic location that exist in the data (drop union and validator tags)."""
    kept: list[str | int] = []
    parts = list(loc)
    for position, part in enumerate(parts):
        if isinstance(data, dict) and part in data:
            data = data[part]
            kept.append(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
            kept.append(part)
        elif isinstance(data, dict) and position == len(parts) - 1 and isinstance(part, str):
            kept.append(part)  # a missing key: name it, though it has no line of its own
    return tuple(kept)


def _report(path: Path, error: ValidationError, data: Any, lines: dict[Loc, int], prefix: Loc = ()) -> str:
    problems = []
    for item in error.errors():
        loc = (*prefix, *_data_loc(data, item["loc"]))
        got = item.get("input")
        hint = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        problems.append(f"{path}:{_line_of(loc, lines)}: {_field(loc)}: {item['msg']}{hint}")
    return "\n".join(problems)


def load_contract(path: Path | str) -> Contract:
    """Parse and validate one contract file; every problem names file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: no such contract file")
    data, lines = _parse(path)
    try:
        sources = data.get("sources") if isinstance(data, dict) else None
        contract = Contract.model_validate(data, context={"sources": sources})
    except ValidationError as exc:
        raise ContractError(_report(path, exc, data, lines)) from None
    contract._file = path
    problems = []
    for index, rule in enumerate(contract.rules):
        where: Loc = ("rules", index)
        kind = registry.get(rule.kind)
        if kind is None:
            known = ", ".join(sorted(registry.names()))
            problems.append(
                f"{path}:{_line_of((*where, 'kind'), lines)}: rules.{index}.kind: "
                f"unknown kind {rule.kind!r} (known: {known})"
            )
            continue
        try:
            kind.parse(rule.params)
        except ValidationError as exc:
            problems.append(_report(path, exc, rule.params, lines, (*where, "params")))
            continue
        problems.extend(
            f"{path}:{_line_of((*where, 'params'), lines)}: rules.{index}.params: {message}"
            for message in kind.cross_check(contract, rule)
        )
    if problems:
        raise ContractError("\n".join(problems))
    return contract


def contract_files(directory: Path) -> Iterator[Path]:
    """The vendor contract files in a directory, in name order."""
    yield from sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))


def load_contracts(paths: Iterable[Path]) -> list[Contract]:
    """Load several files, reporting the problems of all of them at once."""
    contracts, problems = [], []
    for path in paths:
        try:
            contracts.append(load_contract(path))
        except ContractError as exc:
            problems.append(str(exc))
    if problems:
        raise ContractError("\n".join(problems))
    return contracts
