"""Run configuration: targets from the command line, contractgate.toml or [tool.contractgate]."""

from __future__ import annotations

import math
import socket
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._errors import SetupError, TargetUnreachable

__all__ = [
    "DEFAULT_LIVE_RATE",
    "UNLIMITED",
    "RunConfig",
    "TargetConfig",
    "check_reachable",
    "parse_target_options",
    "read_config_file",
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
