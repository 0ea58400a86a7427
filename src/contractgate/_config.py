"""Run configuration: targets from the command line, contractgate.toml or [tool.contractgate]."""

from __future__ import annotations

import datetime as dt
import math
import re
import socket
import tomllib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._errors import SetupError, TargetUnreachable, known_hint
from ._tomllines import Loc, key_lines

__all__ = [
    "DEFAULT_LIVE_RATE",
    "UNLIMITED",
    "ConfigFile",
    "RunConfig",
    "TargetConfig",
    "TargetEntry",
    "VerdictConfig",
    "Waiver",
    "check_reachable",
    "check_target_names",
    "check_url",
    "load_config_file",
    "mask_url",
    "parse_target_options",
    "read_config_file",
    "read_utf8",
    "read_verdict_config",
]


# Requests per second to one configured target when neither `--rate` nor the file's `rate` says otherwise:
# conservative enough for a production tenant's API quota, and a whole contract still runs in minutes.
DEFAULT_LIVE_RATE = 5.0
# An explicit "no throttle", for the bundled loopback reference servers only.
UNLIMITED = math.inf


@dataclass
class TargetConfig:
    """One base URL and its safety settings (writes opt-in and rate budget belong to this target only).

    `ca_bundle` is a PEM file of CA certificates trusted for this target only (a private instance's CA,
    the bundled servers' CA); without it the system's trust store applies.
    """

    key: str
    url: str
    allow_writes: bool = False
    rate: float | None = None  # None: DEFAULT_LIVE_RATE
    ca_bundle: Path | None = None
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
    rate: float | None = None  # --rate: beats every target's own `rate`
    quota_share: float = 1.0  # --quota-share: the most of a credential's remaining quota one run may plan to spend
    profile: str = "full"  # --profile: a named profile of each contract
    budget: int | None = None  # --budget or `budget = N`: requests per vendor the planner may spend
    # In record mode, as VCR.py names it: `all` re-records every rule, `once` only rules without a cassette
    # (the others replay), `new_episodes` replays what the cassette holds and records the rest. (`none` is replay.)
    record_mode: str = "all"
    # A live run keeps its raw exchanges (redacted, as cassettes) under this folder, for `contractgate drift`.
    exchanges: Path | None = None

    def rate_for(self, target_key: str) -> float:
        """Requests per second to one target: `--rate`, else the target's `rate`, else DEFAULT_LIVE_RATE."""
        if self.rate is not None:
            return self.rate
        target = self.targets.get(target_key)
        return target.rate if target is not None and target.rate is not None else DEFAULT_LIVE_RATE

    def writable_targets(self, vendor_targets: Mapping[str, Collection[str]]) -> set[str]:
        """The target keys that opted in to writes: `allow_writes` in the file, or `--allow-writes NAME`.

        NAME is a configured target key, or a vendor (of `vendor_targets`: vendor -> its configured keys) with
        exactly one configured target; anything else is a set-up error naming the keys to choose from.
        """
        chosen = {key for key, target in self.targets.items() if target.allow_writes}
        for name in sorted(self.allow_writes):
            chosen.add(self._write_target(name, vendor_targets))
        return chosen

    def _write_target(self, name: str, vendor_targets: Mapping[str, Collection[str]]) -> str:
        if name in self.targets:
            return name
        keys = sorted(vendor_targets.get(name, ()))
        if len(keys) == 1:
            return keys[0]
        if keys:
            raise SetupError(
                f"--allow-writes {name}: {name} has {len(keys)} configured targets; "
                f"name the one that may receive writes: {', '.join(keys)}"
            )
        known = ", ".join(sorted(self.targets)) or "none"
        raise SetupError(f"--allow-writes {name}: no such configured target (configured targets: {known})")


def parse_target_options(values: Iterable[str], option: str = "--target") -> dict[str, TargetConfig]:
    """Parse `--target NAME[:REGION]=URL` options (`option` names the flag in errors, e.g. `--cg-target`)."""
    targets: dict[str, TargetConfig] = {}
    for value in values:
        key, equals, url = value.partition("=")
        if not equals or not key or not url:
            raise SetupError(f"{option} {mask_url(value)!r}: expected NAME=URL or NAME:REGION=URL")
        if key in targets:
            raise SetupError(f"{option} {key}: given twice ({mask_url(targets[key].url)!r} and {mask_url(url)!r})")
        targets[key] = TargetConfig(key, check_url(url, f"{option} {key}"), origin=f"{option} {key}")
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
Share = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


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
    quota_share: Share | None = None
    budget: Annotated[int, Field(gt=0)] | None = None
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
        text = read_utf8(candidate)
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


@dataclass
class VerdictConfig:
    """The verdict settings of the config file: `allow_skips = true` and the `[[waivers]]` tables."""

    source: str = ""
    allow_skips: bool = False
    waivers: list[dict[str, Any]] = field(default_factory=list)
    quota_share: float | None = None
    budget: int | None = None


def read_verdict_config(path: Path | None = None) -> VerdictConfig:
    """`allow_skips` and `waivers` from the same file `read_config_file` reads (already strictly typed)."""
    config, source = load_config_file(path)
    if source is None:
        return VerdictConfig()
    waivers = [waiver.model_dump() for waiver in config.waivers]
    return VerdictConfig(str(source), config.allow_skips, waivers, config.quota_share, config.budget)


def _targets_from(config: ConfigFile, source: Path, lines: Mapping[Loc, int], prefix: Loc) -> dict[str, TargetConfig]:
    targets = {}
    for key, entry in config.targets.items():
        where = f"{source}:{_line_of((*prefix, 'targets', key, 'url'), lines)}: targets.{key}"
        ca_bundle = _ca_bundle(entry.ca_bundle, f"{where}.ca_bundle", source.parent)
        targets[key] = TargetConfig(
            key, check_url(entry.url, where), entry.allow_writes, entry.rate, ca_bundle=ca_bundle, origin=where
        )
    return targets


def _ca_bundle(value: object, where: str, folder: Path) -> Path | None:
    """The CA file a target trusts, relative to the config file; it must exist."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise SetupError(f"{where}: expected the path of a PEM file, got {value!r}")
    path = Path(value) if Path(value).is_absolute() else folder / value
    if not path.is_file():
        raise SetupError(f"{where}: no such file {path}")
    return path


def read_utf8(path: Path, error: type[SetupError] = SetupError) -> str:
    """A text file the user wrote (config, contract), or `error` naming the line of the first non-UTF-8 byte."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8") from None


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
