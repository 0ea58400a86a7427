"""Run configuration: targets from the command line, contractgate.toml or [tool.contractgate]."""

from __future__ import annotations

import datetime as dt
import re
import socket
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import SetupError, TargetUnreachable, known_hint
from ._tomllines import Loc, key_lines

__all__ = [
    "ConfigFile",
    "RunConfig",
    "TargetConfig",
    "TargetEntry",
    "Waiver",
    "check_reachable",
    "check_target_names",
    "check_url",
    "load_config_file",
    "mask_url",
    "parse_target_options",
    "read_config_file",
]


@dataclass
class TargetConfig:
    """One base URL and its safety settings."""

    key: str
    url: str
    allow_writes: bool = False
    rate: float | None = None
    origin: str = field(default="", compare=False)  # where it was configured, for error messages


@dataclass
class RunConfig:
    """Everything a run needs besides the contracts."""

    mode: str = "live"
    targets: dict[str, TargetConfig] = field(default_factory=dict)
    allow_writes: set[str] = field(default_factory=set)
    rule_globs: list[str] = field(default_factory=list)
    cassettes: Path = Path("cassettes")
    environ: Mapping[str, str] = field(default_factory=dict)
    rate: float | None = None

    def writes_allowed(self, vendor: str, target_key: str) -> bool:
        """Whether writes may go to this target (opted in per vendor or per target)."""
        target = self.targets.get(target_key)
        return vendor in self.allow_writes or bool(target and target.allow_writes)


def parse_target_options(values: Iterable[str]) -> dict[str, TargetConfig]:
    """Parse `--target NAME[:REGION]=URL` options."""
    targets: dict[str, TargetConfig] = {}
    for value in values:
        key, equals, url = value.partition("=")
        if not equals or not key or not url:
            raise SetupError(f"--target {mask_url(value)!r}: expected NAME=URL or NAME:REGION=URL")
        if key in targets:
            raise SetupError(f"--target {key}: given twice ({mask_url(targets[key].url)!r} and {mask_url(url)!r})")
        targets[key] = TargetConfig(key, check_url(url, f"--target {key}"), origin=f"--target {key}")
    return targets


def mask_url(text: str) -> str:
    """The text with any `user:password@` of a URL in it masked, so an error message never echoes a password."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}***@", text)


# Up to the first "@" even across "/": over-masking an error message is fine, echoing a password is not.
_USERINFO = re.compile(r"(https?://)[^@\s]*@", re.IGNORECASE)


def check_url(url: str, where: str) -> str:
    """An http(s) base URL with a valid port and no credentials, without its trailing slash."""
    shown = mask_url(url)
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SetupError(f"{where}: {shown!r} is not an http(s) URL (e.g. https://host/api)")
    if parts.username is not None or parts.password is not None:
        raise SetupError(
            f"{where}: {shown!r} carries credentials in the URL; remove them and export the vendor's "
            "credential variables instead (`contractgate env VENDOR` lists them)"
        )
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when it is read
    except ValueError:
        port = parts.netloc.rpartition(":")[2]
        raise SetupError(f"{where}: {shown!r} has an invalid port {port!r} (expected 1-65535)") from None
    if parts.port == 0:
        raise SetupError(f"{where}: {shown!r} has an invalid port '0' (expected 1-65535)")
    return url.rstrip("/")


def check_target_names(targets: Mapping[str, TargetConfig], declared: Mapping[str, Sequence[str]]) -> None:
    """Every target key names a declared target (and one of its regions): a typo is exit 2, not a silent skip."""
    for key, target in targets.items():
        where = target.origin or "target"
        name, colon, region = key.partition(":")
        if name not in declared:
            raise SetupError(f"{where}: no selected contract declares a target {name!r}{known_hint(name, declared)}")
        regions = declared[name]
        if regions and not colon:
            raise SetupError(
                f"{where}: target {name!r} has one URL per region: pass {name}:REGION=URL"
                f" (regions: {', '.join(regions)})"
            )
        if colon and region not in regions:
            if not regions:
                raise SetupError(f"{where}: target {name!r} has no regions; pass {name}=URL")
            raise SetupError(f"{where}: {region!r} is not a region of {name!r}{known_hint(region, regions)}")


class _File(BaseModel):
    """Base of the config file's tables: strict types, unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", strict=True)


Rate = Annotated[float, Field(gt=0, allow_inf_nan=False)]


class TargetEntry(_File):
    """`[targets.NAME]`: one base URL and its safety settings."""

    url: str
    allow_writes: bool = False
    rate: Rate | None = None
    ca_bundle: str | None = None


class Waiver(_File):
    """`[[waivers]]`: a known deviation accepted for a while, with the reason and an end date."""

    rule: str
    target: str
    reason: str
    expires: dt.date


class ConfigFile(_File):
    """The whole contractgate.toml (or [tool.contractgate]): one typed line per key."""

    targets: dict[str, TargetEntry] = {}
    allow_skips: bool = False
    waivers: list[Waiver] = []


def load_config_file(path: Path | None = None) -> tuple[ConfigFile, Path | None]:
    """The validated config file (contractgate.toml, else [tool.contractgate] of pyproject.toml) and its path."""
    found = _load(path)
    return (found[0], found[1]) if found else (ConfigFile(), None)


def read_config_file(path: Path | None = None) -> dict[str, TargetConfig]:
    """Targets from contractgate.toml, or from [tool.contractgate] in pyproject.toml."""
    found = _load(path)
    return found[2] if found else {}


def _load(path: Path | None) -> tuple[ConfigFile, Path, dict[str, TargetConfig]] | None:
    if path is not None and not path.is_file():
        raise SetupError(f"--config {path}: no such file")
    candidates = [path] if path else [Path("contractgate.toml"), Path("pyproject.toml")]
    for candidate in candidates:
        if candidate is None or not candidate.is_file():
            continue
        text = _read_text(candidate)
        try:
            document: dict[str, Any] = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SetupError(_toml_error(candidate, exc)) from None
        prefix: Loc = ()
        if candidate.name == "pyproject.toml":
            prefix = ("tool", "contractgate")
            tool = document.get("tool", {})
            document = tool.get("contractgate", {}) if isinstance(tool, dict) else {}
            if not document and path is None:
                continue
        lines = key_lines(text)
        config = _validate(document, candidate, lines, prefix)
        return config, candidate, _targets_from(config, candidate, lines, prefix)
    return None


def _targets_from(config: ConfigFile, source: Path, lines: Mapping[Loc, int], prefix: Loc) -> dict[str, TargetConfig]:
    targets = {}
    for key, entry in config.targets.items():
        where = f"{source}:{_line_of((*prefix, 'targets', key, 'url'), lines)}: targets.{key}"
        targets[key] = TargetConfig(key, check_url(entry.url, where), entry.allow_writes, entry.rate, origin=where)
    return targets


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SetupError(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x})") from None


def _toml_error(path: Path, exc: tomllib.TOMLDecodeError) -> str:
    message = str(exc)
    found = re.search(r"\(at line (\d+), column \d+\)", message)
    line = found.group(1) if found else "1"
    reason = re.sub(r"\s*\(at [^)]*\)", "", message)
    return f"{path}:{line}: not valid TOML: {reason}"


_SECRET_KEYS = {"api_key", "apikey", "token", "secret", "secret_key", "password", "key"}


def _validate(document: dict[str, Any], source: Path, lines: Mapping[Loc, int], prefix: Loc) -> ConfigFile:
    for name, entry in document.get("targets", {}).items() if isinstance(document.get("targets"), dict) else []:
        found = sorted(_SECRET_KEYS & {str(k).lower() for k in entry}) if isinstance(entry, dict) else []
        if found:
            line = _line_of((*prefix, "targets", name, found[0]), lines)
            raise SetupError(
                f"{source}:{line}: targets.{name}.{found[0]}: credentials belong in environment variables, "
                "not the file (`contractgate env VENDOR` lists them)"
            )
    try:
        return ConfigFile.model_validate(document)
    except ValidationError as exc:
        problems = [_problem(item, source, lines, prefix) for item in exc.errors()]
        raise SetupError("\n".join(problems)) from None


def _problem(item: Any, source: Path, lines: Mapping[Loc, int], prefix: Loc) -> str:
    loc: Loc = tuple(part for part in item["loc"] if isinstance(part, int) or not part.startswith("function-"))
    dotted = ".".join(str(part) for part in loc) or "(top level)"
    line = _line_of((*prefix, *loc), lines)
    if item["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = list(model.model_fields) if model is not None else []
        hint = known_hint(str(loc[-1]), known)
        return f"{source}:{line}: {dotted}: unknown key{hint}"
    got = item.get("input")
    shown = "" if isinstance(got, dict | list) else f" (got {type(got).__name__} {got!r})"
    return f"{source}:{line}: {dotted}: {item['msg']}{shown}"


def _model_at(loc: Loc) -> type[BaseModel] | None:
    """The model of the table at a location of the config file, to list its keys."""
    if loc == ():
        return ConfigFile
    if len(loc) == 2 and loc[0] == "targets":
        return TargetEntry
    if len(loc) == 2 and loc[0] == "waivers":
        return Waiver
    return None


def _line_of(loc: Loc, lines: Mapping[Loc, int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Open (and close) a TCP connection to the URL's host, or raise TargetUnreachable."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        raise TargetUnreachable(f"target {url} is unreachable: {exc.strerror or exc}") from None
