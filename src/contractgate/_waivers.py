"""Waivers: a known vendor failure, accepted for a while with a reason, reported as WAIVED instead of failing."""

from __future__ import annotations

import datetime as dt
import fnmatch
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._errors import SetupError
from ._outcome import Outcome, Status

__all__ = ["Waiver", "apply_waivers", "parse_waivers", "read_waivers_file"]

_KEYS = {"rule", "target", "reason", "expires"}


@dataclass(frozen=True)
class Waiver:
    """Rule id glob, target key glob, why the failure is accepted, and the last day it is."""

    rule: str
    target: str
    reason: str
    expires: dt.date
    source: str = ""

    def matches(self, outcome: Outcome, targets: Iterable[str]) -> bool:
        """Whether this waiver names the outcome's rule and one of the targets the rule ran against."""
        return fnmatch.fnmatchcase(outcome.rule_id, self.rule) and any(
            fnmatch.fnmatchcase(key, self.target) for key in targets
        )

    def expired(self, today: dt.date) -> bool:
        """A waiver holds up to and including its `expires` day."""
        return today > self.expires

    def to_dict(self) -> dict[str, str]:
        """The JSON form used in results.json."""
        return {
            "rule": self.rule,
            "target": self.target,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
            "source": self.source,
        }


def parse_waivers(entries: object, source: str) -> list[Waiver]:
    """Validate a `[[waivers]]` array; a bad entry is a SetupError naming the file and the key."""
    if not isinstance(entries, list):
        raise SetupError(f"{source}: waivers must be an array of tables ([[waivers]])")
    return [_waiver(entry, f"{source}: waivers[{index}]") for index, entry in enumerate(entries)]


def _waiver(entry: object, where: str) -> Waiver:
    if not isinstance(entry, dict):
        raise SetupError(f"{where}: a waiver is a table with {', '.join(sorted(_KEYS))}")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise SetupError(f"{where}: unknown keys {unknown} (known: {sorted(_KEYS)})")
    for key in ("rule", "target", "reason"):
        value = entry.get(key)
        if not isinstance(value, str) or not value.strip():
            raise SetupError(f"{where}.{key}: a non-empty string is required")
    return Waiver(entry["rule"], entry["target"], entry["reason"], _date(entry.get("expires"), f"{where}.expires"))


def _date(value: Any, where: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise SetupError(f"{where}: a date (YYYY-MM-DD) is required, got {value!r}")


def read_waivers_file(path: Path) -> list[Waiver]:
    """Waivers from a TOML file holding a `[[waivers]]` array (`--waivers FILE`)."""
    try:
        document: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SetupError(f"{path}: cannot read the waivers file: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SetupError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"waivers"})
    if unknown:
        raise SetupError(f"{path}: unknown keys {unknown} (a waivers file holds only [[waivers]])")
    return parse_waivers(document.get("waivers", []), str(path))


def apply_waivers(
    outcome: Outcome, targets: Iterable[str], waivers: list[Waiver], used: set[Waiver], today: dt.date
) -> None:
    """Turn a failure a live waiver names into WAIVED; an expired waiver leaves it failed and says so."""
    if outcome.status != Status.FAILED:
        return
    keys = list(targets)
    for waiver in waivers:
        if not waiver.matches(outcome, keys):
            continue
        used.add(waiver)
        if waiver.expired(today):
            outcome.message += f" (a waiver expired on {waiver.expires.isoformat()}: {waiver.reason})"
            continue
        outcome.status = Status.WAIVED
        outcome.cause = "waiver"
        outcome.message += f" (waived until {waiver.expires.isoformat()}: {waiver.reason})"
        return
