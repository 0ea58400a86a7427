"""Run configuration: targets from the command line, contractgate.toml or [tool.contractgate]."""

from __future__ import annotations

import socket
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._errors import SetupError, TargetUnreachable

__all__ = [
    "RunConfig",
    "TargetConfig",
    "VerdictConfig",
    "check_reachable",
    "parse_target_options",
    "read_config_file",
    "read_verdict_config",
]


@dataclass
class TargetConfig:
    """One base URL and its safety settings."""

    key: str
    url: str
    allow_writes: bool = False
    rate: float | None = None


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
    targets = {}
    for value in values:
        key, equals, url = value.partition("=")
        if not equals or not key or not url:
            raise SetupError(f"--target {value!r}: expected NAME=URL or NAME:REGION=URL")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise SetupError(f"--target {value!r}: {url!r} is not an http(s) URL")
        targets[key] = TargetConfig(key, url.rstrip("/"))
    return targets


@dataclass
class VerdictConfig:
    """The verdict settings of the config file: `allow_skips = true` and the `[[waivers]]` array (unparsed)."""

    source: str = ""
    allow_skips: bool = False
    waivers: list[Any] = field(default_factory=list)


def _config_document(path: Path | None) -> tuple[Path, dict[str, Any]] | None:
    candidates = [path] if path else [Path("contractgate.toml"), Path("pyproject.toml")]
    for candidate in candidates:
        if candidate is None or not candidate.is_file():
            continue
        try:
            document: dict[str, Any] = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SetupError(f"{candidate}: not valid TOML: {exc}") from None
        if candidate.name == "pyproject.toml":
            document = document.get("tool", {}).get("contractgate", {})
        return candidate, document
    return None


def read_config_file(path: Path | None = None) -> dict[str, TargetConfig]:
    """Targets from contractgate.toml, or from [tool.contractgate] in pyproject.toml."""
    found = _config_document(path)
    return _targets_from(found[1].get("targets", {}), found[0]) if found else {}


def read_verdict_config(path: Path | None = None) -> VerdictConfig:
    """`allow_skips` (a boolean) and `waivers` from the same file `read_config_file` reads."""
    found = _config_document(path)
    if found is None:
        return VerdictConfig()
    source, document = found
    allow_skips = document.get("allow_skips", False)
    if not isinstance(allow_skips, bool):
        raise SetupError(f"{source}: allow_skips must be true or false, got {allow_skips!r}")
    waivers = document.get("waivers", [])
    if not isinstance(waivers, list):
        raise SetupError(f"{source}: waivers must be an array of tables ([[waivers]])")
    return VerdictConfig(str(source), allow_skips, waivers)


def _targets_from(table: Mapping[str, Any], source: Path) -> dict[str, TargetConfig]:
    targets = {}
    for key, entry in table.items():
        if not isinstance(entry, dict) or "url" not in entry:
            raise SetupError(f"{source}: targets.{key} needs a `url`")
        unknown = set(entry) - {"url", "allow_writes", "rate"}
        if unknown:
            raise SetupError(f"{source}: targets.{key}: unknown keys {sorted(unknown)}")
        if {"api_key", "token", "secret", "password"} & {k.lower() for k in entry}:
            raise SetupError(f"{source}: credentials belong in environment variables, not the file")
        targets[key] = TargetConfig(
            key,
            str(entry["url"]).rstrip("/"),
            bool(entry.get("allow_writes", False)),
            entry.get("rate"),
        )
    return targets


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Open (and close) a TCP connection to the URL's host, or raise TargetUnreachable."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        raise TargetUnreachable(f"target {url} is unreachable: {exc.strerror or exc}") from None
