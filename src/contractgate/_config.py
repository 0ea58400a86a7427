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
    "check_reachable",
    "parse_target_options",
    "read_config_file",
]


@dataclass
class TargetConfig:
    """One base URL and its safety settings.

    `ca_bundle` is a PEM file of CA certificates trusted for this target only (a private instance's CA,
    the bundled servers' CA); without it the system's trust store applies.
    """

    key: str
    url: str
    allow_writes: bool = False
    rate: float | None = None
    ca_bundle: Path | None = None


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


def read_config_file(path: Path | None = None) -> dict[str, TargetConfig]:
    """Targets from contractgate.toml, or from [tool.contractgate] in pyproject.toml."""
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
        return _targets_from(document.get("targets", {}), candidate)
    return {}


def _targets_from(table: Mapping[str, Any], source: Path) -> dict[str, TargetConfig]:
    targets = {}
    for key, entry in table.items():
        if not isinstance(entry, dict) or "url" not in entry:
            raise SetupError(f"{source}: targets.{key} needs a `url`")
        unknown = set(entry) - {"url", "allow_writes", "rate", "ca_bundle"}
        if unknown:
            raise SetupError(f"{source}: targets.{key}: unknown keys {sorted(unknown)}")
        if {"api_key", "token", "secret", "password"} & {k.lower() for k in entry}:
            raise SetupError(f"{source}: credentials belong in environment variables, not the file")
        targets[key] = TargetConfig(
            key,
            str(entry["url"]).rstrip("/"),
            bool(entry.get("allow_writes", False)),
            entry.get("rate"),
            _ca_bundle(entry.get("ca_bundle"), f"{source}: targets.{key}.ca_bundle", source.parent),
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


def check_reachable(url: str, timeout: float = 3.0) -> None:
    """Open (and close) a TCP connection to the URL's host, or raise TargetUnreachable."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            pass
    except OSError as exc:
        raise TargetUnreachable(f"target {url} is unreachable: {exc.strerror or exc}") from None
