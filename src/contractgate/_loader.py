"""Load a contract file: YAML with line numbers, validated by the model and each kind's parameters."""

from __future__ import annotations

import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from ._config import read_utf8
from ._contract import Contract, LocatedError
from ._errors import ContractError, known_hint
from ._packs import CONTRACT_SUFFIXES, bundled_dir
from .checks import registry

__all__ = ["ContractSet", "contract_files", "discover", "load_contract", "load_contracts"]

Loc = tuple[str | int, ...]


# A contract expands to a few thousand nodes; aliases that multiply past this are an alias bomb, not a contract.
MAX_EXPANDED_NODES = 200_000
# Shipped contracts nest about 10 deep; far deeper is a mistake (or an attack on the recursive parsers below).
MAX_DEPTH = 64


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
            if not isinstance(key, str):
                continue
            lines.setdefault((*loc, key), key_node.start_mark.line + 1)
            _walk(value_node, (*loc, key), lines, seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*loc, index), lines, seen)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _shape_problem(root: yaml.Node) -> str | None:
    """Duplicate keys, too deep a nesting, or aliases that expand too far; `LINE: what` or None."""
    return _duplicates_or_depth(root) or _expansion(root)


def _duplicates_or_depth(root: yaml.Node) -> str | None:
    depth: dict[int, int] = {id(root): 0}
    stack = [root]
    while stack:
        node = stack.pop()
        if depth[id(node)] > MAX_DEPTH:
            return f"{_line(node)}: nested more than {MAX_DEPTH} levels deep"
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                    if key_node.value in first:
                        return (
                            f"{_line(key_node)}: duplicate key {key_node.value!r} "
                            f"(first at line {first[key_node.value]}; the last would silently win)"
                        )
                    first[key_node.value] = _line(key_node)
        for child in _children(node):
            if id(child) not in depth:
                depth[id(child)] = depth[id(node)] + 1
                stack.append(child)
    return None


def _expansion(root: yaml.Node) -> str | None:
    """Count the nodes the document has once every alias is expanded (post-order, iterative, memoized)."""
    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, closing = stack.pop()
        if id(node) in expanded:
            continue
        children = _children(node)
        if closing:
            open_nodes.discard(id(node))
            total = 1 + sum(expanded[id(child)] for child in children)
            if total > MAX_EXPANDED_NODES:
                return f"{_line(node)}: aliases expand past {MAX_EXPANDED_NODES} nodes (an alias bomb?)"
            expanded[id(node)] = total
            continue
        open_nodes.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_nodes:
                return f"{_line(child)}: an alias refers to a node that contains it (a recursive alias)"
            if id(child) not in expanded:
                stack.append((child, False))
    return None


def _parse(path: Path) -> tuple[Any, dict[Loc, int]]:
    text = read_utf8(path, ContractError)
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            problem = _shape_problem(node)
            if problem:
                raise ContractError(f"{path}:{problem}")
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = str(getattr(exc, "problem", None) or exc).strip()
        raise ContractError(f"{path}:{line}: not valid YAML: {problem}") from None
    except RecursionError:
        line = loader.get_mark().line + 1
        raise ContractError(f"{path}:{line}: nested too deeply to parse (more than {MAX_DEPTH} levels)") from None
    finally:
        loader.dispose()
    lines: dict[Loc, int] = {}
    if node is not None:
        _walk(node, (), lines, set())
    return data, lines


def _line_of(loc: Loc, lines: dict[Loc, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _field(loc: Loc) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def _data_loc(data: Any, loc: Iterable[str | int], missing: bool = True) -> Loc:
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
        elif missing and isinstance(data, dict) and position == len(parts) - 1 and isinstance(part, str):
            kept.append(part)  # a missing key: name it, though it has no line of its own
    return tuple(kept)


def _unwrap(annotation: Any) -> list[Any]:
    """The types an annotation may hold: Annotated, unions and Optional flattened."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [inner for arg in get_args(annotation) for inner in _unwrap(arg)]
    return [annotation]


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [tp for tp in _unwrap(annotation) if isinstance(tp, type) and issubclass(tp, BaseModel)]


def _known_keys(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys the model allows at a data location (to suggest one for a misspelt key)."""
    current = _unwrap(model)
    for part in loc:
        following: list[Any] = []
        for tp in current:
            if isinstance(part, str) and isinstance(tp, type) and issubclass(tp, BaseModel):
                fields = tp.model_fields.items()
                following += [
                    t for name, info in fields if part in (name, info.alias) for t in _unwrap(info.annotation)
                ]
            elif isinstance(part, str) and get_origin(tp) is dict:
                following += _unwrap(get_args(tp)[1])
            elif isinstance(part, int) and get_origin(tp) is list:
                following += _unwrap(get_args(tp)[0])
        current = following
    return sorted({info.alias or name for tp in current for m in _models(tp) for name, info in m.model_fields.items()})


def _report(
    path: Path,
    error: ValidationError,
    data: Any,
    lines: dict[Loc, int],
    prefix: Loc = (),
    model: type[BaseModel] = Contract,
) -> str:
    problems = []
    items = []
    for item in error.errors():
        located = item.get("ctx", {}).get("error")
        extra = located.loc if isinstance(located, LocatedError) else ()
        items.append((item, _data_loc(data, (*item["loc"], *extra), item["type"] == "missing")))
    for item, relative in items:
        if any(len(other) > len(relative) and other[: len(relative)] == relative for _, other in items):
            continue  # a union's other branches: the error deeper in the data says what is wrong
        loc = (*prefix, *relative)
        got = item.get("input")
        hint = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden" and relative:
            message += known_hint(str(relative[-1]), _known_keys(model, relative[:-1]))
            hint = ""
        problems.append(f"{path}:{_line_of(loc, lines)}: {_field(loc)}: {message}{hint}")
    return "\n".join(problems)


def load_contract(path: Path | str) -> Contract:
    """Parse and validate one contract file; every problem names file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise ContractError(f"{path}: no such contract file")
    contract, lines = _validated(path)
    problems = []
    for index, rule in enumerate(contract.rules):
        where: Loc = ("rules", index)
        kind = registry.get(rule.kind)
        if kind is None:
            problems.append(
                f"{path}:{_line_of((*where, 'kind'), lines)}: rules.{index}.kind: "
                f"unknown kind {rule.kind!r}{known_hint(rule.kind, registry.names(), limit=30)}"
            )
            continue
        try:
            kind.parse(rule.params)
        except ValidationError as exc:
            problems.append(_report(path, exc, rule.params, lines, (*where, "params"), kind.params))
            continue
        problems.extend(
            f"{path}:{_line_of((*where, 'params'), lines)}: rules.{index}.params: {message}"
            for message in kind.cross_check(contract, rule)
        )
    if problems:
        raise ContractError("\n".join(dict.fromkeys(problems)))
    return contract


def _validated(path: Path) -> tuple[Contract, dict[Loc, int]]:
    data, lines = _parse(path)
    try:
        sources = data.get("sources") if isinstance(data, dict) else None
        contract = Contract.model_validate(data, context={"sources": sources})
    except ValidationError as exc:
        raise ContractError(_report(path, exc, data, lines)) from None
    contract._file = path
    return contract, lines


def contract_files(directory: Path) -> Iterator[Path]:
    """The vendor contract files (`*.yaml`, `*.yml`) in a directory, in name order."""
    yield from sorted(
        p for p in directory.iterdir() if p.suffix in CONTRACT_SUFFIXES and not p.name.startswith("_") and p.is_file()
    )


@dataclass(frozen=True)
class ContractSet:
    """The contracts a command can select: the bundled packs, extended or overridden by the user's own files."""

    files: dict[str, Path]  # vendor -> its contract file (a user's file wins over the bundled pack)
    own: tuple[str, ...]  # the vendors of the user's files, in the order given
    notes: tuple[str, ...]  # one line per bundled pack a user's file replaces
    loaded: dict[Path, Contract] = field(default_factory=dict)  # the user's files, validated when found

    def default_vendors(self) -> list[str]:
        """Without --vendor: the user's contracts when any are given, else every bundled pack."""
        return list(self.own) if self.own else sorted(self.files)

    def select(self, vendors: Sequence[str]) -> list[Path]:
        """The files of the chosen vendors (all by default); an unknown vendor is a ContractError naming the known."""
        unknown = [v for v in vendors if v not in self.files]
        if unknown:
            raise ContractError(
                f"no contract for {', '.join(unknown)} (bundled packs or --contracts)"
                f"{known_hint(unknown[0], self.files)}"
            )
        return [self.files[v] for v in (list(dict.fromkeys(vendors)) or self.default_vendors())]

    def load(self, vendors: Sequence[str] = ()) -> list[Contract]:
        """The chosen vendors' contracts, validated (each problem with file:line)."""
        paths = self.select(vendors)
        fresh = load_contracts([path for path in paths if path not in self.loaded])
        by_path = {**self.loaded, **{contract.file: contract for contract in fresh if contract.file}}
        return [by_path[path] for path in paths]


def _user_files(paths: Sequence[Path]) -> list[Path]:
    """The user's contract files: each path a contract file or a folder of them."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            files = list(contract_files(path))
            if not files:
                raise ContractError(f"{path}/: no contract files (*.yaml, *.yml) in this folder")
        elif path.is_file():
            files = [path]
        else:
            raise ContractError(f"{path}: no such contract file or folder (--contracts)")
        found += [file for file in files if file not in found]
    return found


def discover(paths: Sequence[Path] = ()) -> ContractSet:
    """The bundled packs, extended by the user's files and folders; for the same vendor the user's file wins.

    The user's files are validated at once (a vendor is what a file declares, not its name); the bundled packs
    are loaded only when selected.
    """
    folder = bundled_dir()
    bundled = {file.stem: file for file in contract_files(folder)} if folder is not None else {}
    own: dict[str, Path] = {}
    loaded = {}
    for contract in load_contracts(_user_files(paths)):
        assert contract.file is not None
        if contract.vendor in own:
            raise ContractError(
                f"{contract.file}:1: a second contract for vendor {contract.vendor!r} (the first is "
                f"{own[contract.vendor]})"
            )
        own[contract.vendor], loaded[contract.file] = contract.file, contract
    if not bundled and not own:
        raise ContractError("no bundled contracts were found (a broken install?); pass --contracts PATH")
    notes = tuple(
        f"{file} replaces the bundled {vendor} contract"
        for vendor, file in own.items()
        if vendor in bundled and bundled[vendor].resolve() != file.resolve()
    )
    return ContractSet({**bundled, **own}, tuple(own), notes, loaded)


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
